//! CPU feature detection without `std`, cached. With `cpufeatures`, the x86 probe is CPUID
//! plus XGETBV (the OS must have enabled the ZMM state); it answers `false` under Miri.

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
cpufeatures::new!(avx512_gfni, "avx512f", "avx512bw", "gfni");

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
cpufeatures::new!(avx2_probe, "avx2");

/// Whether the CPU (and OS) support the `Avx2` backend.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub(crate) fn avx2() -> bool {
    avx2_probe::get()
}

/// Whether the CPU has every feature of the `Avx512` backend.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub(crate) fn avx512() -> bool {
    avx512_gfni::get()
}

/// NEON is part of the aarch64 baseline (`target_feature = "neon"` is on for every
/// aarch64 target Rust ships with it enabled); a target built without it gets no backend.
#[cfg(target_arch = "aarch64")]
pub(crate) fn neon() -> bool {
    cfg!(target_feature = "neon")
}

#[cfg(all(test, not(miri)))]
mod tests {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    #[test]
    fn avx512_probe_agrees_with_std() {
        let std_says = std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("gfni");
        assert_eq!(super::avx512(), std_says);
        assert_eq!(super::avx2(), std::is_x86_feature_detected!("avx2"));
    }

    #[cfg(target_arch = "aarch64")]
    #[test]
    fn neon_probe_agrees_with_std() {
        assert_eq!(
            super::neon(),
            std::arch::is_aarch64_feature_detected!("neon")
        );
    }
}
