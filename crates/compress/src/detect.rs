//! CPU feature detection without `std`, cached in an atomic (x86_64: CPUID and XGETBV;
//! aarch64: NEON is part of the target).
//! Under Miri, and when the features are enabled at compile time, the answer comes from
//! `cfg!(target_feature)` alone.

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod x86 {
    use core::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};
    use core::sync::atomic::{AtomicU8, Ordering};

    const UNKNOWN: u8 = 2;
    static AVX2: AtomicU8 = AtomicU8::new(UNKNOWN);
    static AVX512: AtomicU8 = AtomicU8::new(UNKNOWN);

    /// AVX-512F, BW and VL on top of [`avx2`]'s features, with the ZMM and opmask state
    /// enabled by the OS.
    pub(crate) fn avx512() -> bool {
        if cfg!(all(
            target_feature = "avx512f",
            target_feature = "avx512bw",
            target_feature = "avx512vl",
            target_feature = "avx2",
            target_feature = "bmi1",
            target_feature = "bmi2"
        )) {
            return true;
        }
        if cfg!(miri) || !avx2() {
            return false;
        }
        cached(&AVX512, probe_avx512)
    }

    /// `probe`'s answer, asked once and kept in `cell`.
    fn cached(cell: &AtomicU8, probe: fn() -> bool) -> bool {
        match cell.load(Ordering::Relaxed) {
            UNKNOWN => {
                let yes = probe();
                cell.store(u8::from(yes), Ordering::Relaxed);
                yes
            }
            cached => cached == 1,
        }
    }

    /// Called only once [`avx2`] said yes (so CPUID leaf 7 exists and XGETBV is available).
    #[cold]
    fn probe_avx512() -> bool {
        let leaf7 = __cpuid_count(7, 0).ebx;
        let f = leaf7 & (1 << 16) != 0;
        let bw = leaf7 & (1 << 30) != 0;
        let vl = leaf7 & (1 << 31) != 0;
        // SAFETY: `avx2` saw CPUID leaf 1 report OSXSAVE, so XGETBV is available.
        let xcr0 = unsafe { xcr0() };
        // XCR0 bits 1-2 (XMM, YMM) and 5-7 (opmask, ZMM upper halves, ZMM16-31).
        f && bw && vl && xcr0 & 0b1110_0110 == 0b1110_0110
    }

    /// AVX2, BMI1 and BMI2, with the YMM state enabled by the OS.
    pub(crate) fn avx2() -> bool {
        if cfg!(all(
            target_feature = "avx2",
            target_feature = "bmi1",
            target_feature = "bmi2"
        )) {
            return true;
        }
        if cfg!(miri) {
            return false;
        }
        cached(&AVX2, probe)
    }

    #[cold]
    fn probe() -> bool {
        let leaf1 = __cpuid(1);
        let osxsave = leaf1.ecx & (1 << 27) != 0;
        let avx = leaf1.ecx & (1 << 28) != 0;
        if !(osxsave && avx) || __cpuid(0).eax < 7 {
            return false;
        }
        let leaf7 = __cpuid_count(7, 0).ebx;
        let bmi1 = leaf7 & (1 << 3) != 0;
        let avx2 = leaf7 & (1 << 5) != 0;
        let bmi2 = leaf7 & (1 << 8) != 0;
        // SAFETY: CPUID leaf 1 reported OSXSAVE, so XGETBV is available and XCR0 readable.
        let xcr0 = unsafe { xcr0() };
        // XCR0 bits 1 and 2: the OS saves the XMM and YMM state.
        avx2 && bmi1 && bmi2 && xcr0 & 0b110 == 0b110
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

/// aarch64: NEON, which the AArch64 Linux ABI guarantees (the target enables it at compile
/// time); false only on targets built without it.
#[cfg(target_arch = "aarch64")]
pub(crate) fn neon() -> bool {
    cfg!(target_feature = "neon")
}

#[cfg(all(test, not(miri), target_arch = "aarch64"))]
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
        let std_says = std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("bmi1")
            && std::is_x86_feature_detected!("bmi2");
        assert_eq!(super::avx2(), std_says);
        assert_eq!(super::avx2(), std_says);
    }

    #[test]
    fn avx512_probe_agrees_with_std() {
        let std_says = super::avx2()
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl");
        assert_eq!(super::avx512(), std_says);
        assert_eq!(super::avx512(), std_says);
    }
}
