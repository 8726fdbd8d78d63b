//! CPU feature detection without `std`, cached in atomics (x86_64: CPUID and XGETBV).
//!
//! Small hand-written probes: AVX2 and F16C with the OS saving the YMM state; AVX-512F,
//! BW and DQ with the OS saving the YMM, opmask and ZMM state. When the features are
//! enabled at compile time the answer is "yes" without a probe; otherwise, under Miri, it
//! is "no". NEON is part of the AArch64 baseline, so `neon` is a compile-time answer.

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod x86 {
    use core::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};
    use core::sync::atomic::{AtomicU8, Ordering};

    const UNKNOWN: u8 = 2;
    static AVX2: AtomicU8 = AtomicU8::new(UNKNOWN);
    static AVX512: AtomicU8 = AtomicU8::new(UNKNOWN);

    /// AVX-512F, AVX-512BW and AVX-512DQ, with the XMM, YMM, opmask and ZMM state enabled
    /// by the OS.
    pub(crate) fn avx512() -> bool {
        if cfg!(all(
            target_feature = "avx512f",
            target_feature = "avx512bw",
            target_feature = "avx512dq"
        )) {
            return true;
        }
        if cfg!(miri) {
            return false;
        }
        match AVX512.load(Ordering::Relaxed) {
            UNKNOWN => {
                let yes = probe_avx512();
                AVX512.store(u8::from(yes), Ordering::Relaxed);
                yes
            }
            cached => cached == 1,
        }
    }

    #[cold]
    fn probe_avx512() -> bool {
        let leaf1 = __cpuid(1);
        // rustc's `avx512f` feature implies `avx2`, `fma` and `f16c` (the compiler may use
        // them in code built with it), so those are required too; every AVX-512 CPU has them.
        let fma = leaf1.ecx & (1 << 12) != 0;
        let osxsave = leaf1.ecx & (1 << 27) != 0;
        let avx = leaf1.ecx & (1 << 28) != 0;
        let f16c = leaf1.ecx & (1 << 29) != 0;
        if !(fma && osxsave && avx && f16c) || __cpuid(0).eax < 7 {
            return false;
        }
        let ebx = __cpuid_count(7, 0).ebx;
        let avx2 = ebx & (1 << 5) != 0;
        let avx512f = ebx & (1 << 16) != 0;
        let avx512dq = ebx & (1 << 17) != 0;
        let avx512bw = ebx & (1 << 30) != 0;
        // SAFETY: CPUID leaf 1 reported OSXSAVE, so XGETBV is available and XCR0 readable.
        let xcr0 = unsafe { xcr0() };
        // XCR0 bits 1 and 2 (XMM, YMM) and 5 to 7 (opmask, upper halves of ZMM0-15, ZMM16-31).
        let zmm_state = 0b1110_0110;
        avx2 && avx512f && avx512dq && avx512bw && xcr0 & zmm_state == zmm_state
    }

    /// AVX2 and F16C, with the YMM state enabled by the OS.
    pub(crate) fn avx2() -> bool {
        if cfg!(all(target_feature = "avx2", target_feature = "f16c")) {
            return true;
        }
        if cfg!(miri) {
            return false;
        }
        match AVX2.load(Ordering::Relaxed) {
            UNKNOWN => {
                let yes = probe();
                AVX2.store(u8::from(yes), Ordering::Relaxed);
                yes
            }
            cached => cached == 1,
        }
    }

    #[cold]
    fn probe() -> bool {
        let leaf1 = __cpuid(1);
        let osxsave = leaf1.ecx & (1 << 27) != 0;
        let avx = leaf1.ecx & (1 << 28) != 0;
        let f16c = leaf1.ecx & (1 << 29) != 0;
        if !(osxsave && avx && f16c) || __cpuid(0).eax < 7 {
            return false;
        }
        let avx2 = __cpuid_count(7, 0).ebx & (1 << 5) != 0;
        // SAFETY: CPUID leaf 1 reported OSXSAVE, so XGETBV is available and XCR0 readable.
        let xcr0 = unsafe { xcr0() };
        // XCR0 bits 1 and 2: the OS saves the XMM and YMM state.
        avx2 && xcr0 & 0b110 == 0b110
    }

    /// # Safety
    /// The CPU must support XGETBV (CPUID.1:ECX.OSXSAVE).
    #[target_feature(enable = "xsave")]
    unsafe fn xcr0() -> u64 {
        // SAFETY: the caller guarantees OSXSAVE, so `xgetbv` with ECX = 0 is defined.
        unsafe { _xgetbv(0) }
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub(crate) use x86::{avx2, avx512};

/// aarch64: NEON is in the baseline of every AArch64 target Rust supports; the answer is
/// the compile-time one (and "no" under Miri, which runs the portable path).
#[cfg(all(target_arch = "aarch64", target_endian = "little"))]
pub(crate) fn neon() -> bool {
    cfg!(target_feature = "neon") && !cfg!(miri)
}

#[cfg(all(test, not(miri), target_arch = "aarch64", target_endian = "little"))]
mod aarch64_tests {
    #[test]
    fn neon_probe_agrees_with_std() {
        assert_eq!(
            super::neon(),
            std::arch::is_aarch64_feature_detected!("neon")
        );
    }
}

#[cfg(all(test, not(miri), target_arch = "x86_64", target_feature = "sse2"))]
mod tests {
    #[test]
    fn avx2_probe_agrees_with_std() {
        let std_says =
            std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("f16c");
        assert_eq!(super::avx2(), std_says);
        assert_eq!(super::avx2(), std_says);
    }

    #[test]
    fn avx512_probe_agrees_with_std() {
        let std_says = std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512dq");
        // Twice: the probe, then the cached answer.
        assert_eq!(super::avx512(), std_says);
        assert_eq!(super::avx512(), std_says);
    }
}
