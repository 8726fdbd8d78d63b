//! CPU feature detection without `std`, cached in an atomic (x86_64: CPUID and XGETBV;
//! aarch64 Linux: `getauxval`).
//!
//! The `Avx512` probe also requires the OS to save the opmask and ZMM state (XCR0 bits 5 to
//! 7), as `is_x86_feature_detected!` does.
//!
//! A hand-written probe rather than `cpufeatures`: `cpufeatures` 0.3 demands the AVX-512
//! (ZMM) register state for `vpclmulqdq`, so it answers "no" on CPUs that have 256-bit
//! VPCLMULQDQ without AVX-512 (AMD Zen 3), exactly the CPUs the `Avx2` backend is for. Under
//! Miri, and when the features are enabled at compile time, the answer comes from
//! `cfg!(target_feature)` alone.

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod x86 {
    use core::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};
    use core::sync::atomic::{AtomicU8, Ordering};

    const UNKNOWN: u8 = 2;
    static AVX2: AtomicU8 = AtomicU8::new(UNKNOWN);
    static AVX512: AtomicU8 = AtomicU8::new(UNKNOWN);

    /// AVX-512F, AVX-512BW, AVX-512VL, GFNI and SSE4.2, with the XMM, YMM, opmask and ZMM
    /// state enabled.
    pub(crate) fn avx512() -> bool {
        if cfg!(all(
            target_feature = "avx512f",
            target_feature = "avx512bw",
            target_feature = "avx512vl",
            target_feature = "gfni",
            target_feature = "sse4.2"
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
        let sse42 = leaf1.ecx & (1 << 20) != 0;
        let osxsave = leaf1.ecx & (1 << 27) != 0;
        if !(sse42 && osxsave) || __cpuid(0).eax < 7 {
            return false;
        }
        let leaf7 = __cpuid_count(7, 0);
        let avx512f = leaf7.ebx & (1 << 16) != 0;
        let avx512bw = leaf7.ebx & (1 << 30) != 0;
        let avx512vl = leaf7.ebx & (1 << 31) != 0;
        let gfni = leaf7.ecx & (1 << 8) != 0;
        // SAFETY: CPUID leaf 1 reported OSXSAVE, so XGETBV is available and XCR0 readable.
        let xcr0 = unsafe { xcr0() };
        // XCR0 bits 1 and 2 (XMM, YMM) and 5 to 7 (opmask, upper halves of ZMM0-15, ZMM16-31).
        let zmm_state = 0b1110_0110;
        avx512f && avx512bw && avx512vl && gfni && xcr0 & zmm_state == zmm_state
    }

    /// AVX2, SSE4.2, PCLMULQDQ and 256-bit VPCLMULQDQ, with the YMM state enabled.
    pub(crate) fn avx2() -> bool {
        if cfg!(all(
            target_feature = "avx2",
            target_feature = "sse4.2",
            target_feature = "pclmulqdq",
            target_feature = "vpclmulqdq"
        )) {
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
        let sse42 = leaf1.ecx & (1 << 20) != 0;
        let pclmulqdq = leaf1.ecx & (1 << 1) != 0;
        let osxsave = leaf1.ecx & (1 << 27) != 0;
        let avx = leaf1.ecx & (1 << 28) != 0;
        if !(sse42 && pclmulqdq && osxsave && avx) || __cpuid(0).eax < 7 {
            return false;
        }
        let leaf7 = __cpuid_count(7, 0);
        let avx2 = leaf7.ebx & (1 << 5) != 0;
        let vpclmulqdq = leaf7.ecx & (1 << 10) != 0;
        // SAFETY: CPUID leaf 1 reported OSXSAVE, so XGETBV is available and XCR0 readable.
        let xcr0 = unsafe { xcr0() };
        // XCR0 bits 1 and 2: the OS saves the XMM and YMM state.
        avx2 && vpclmulqdq && xcr0 & 0b110 == 0b110
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

/// aarch64: NEON with the `aes` (PMULL) and `crc` extensions, from the ELF auxiliary vector
/// on Linux (HWCAP_PMULL, HWCAP_CRC32) and from compile-time features elsewhere.
#[cfg(target_arch = "aarch64")]
pub(crate) fn neon() -> bool {
    if cfg!(all(
        target_feature = "neon",
        target_feature = "aes",
        target_feature = "crc"
    )) {
        return true;
    }
    if cfg!(miri) {
        return false;
    }
    #[cfg(target_os = "linux")]
    {
        use core::sync::atomic::{AtomicU8, Ordering};
        static NEON: AtomicU8 = AtomicU8::new(2);
        match NEON.load(Ordering::Relaxed) {
            2 => {
                // SAFETY: getauxval has no preconditions; AT_HWCAP is a valid type.
                let hwcap = unsafe { libc::getauxval(libc::AT_HWCAP) };
                let need = libc::HWCAP_ASIMD | libc::HWCAP_PMULL | libc::HWCAP_CRC32;
                let yes = hwcap & need == need;
                NEON.store(u8::from(yes), Ordering::Relaxed);
                yes
            }
            cached => cached == 1,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

#[cfg(all(test, not(miri), target_arch = "aarch64"))]
mod aarch64_tests {
    #[test]
    fn neon_probe_agrees_with_std() {
        let std_says = std::arch::is_aarch64_feature_detected!("neon")
            && std::arch::is_aarch64_feature_detected!("aes")
            && std::arch::is_aarch64_feature_detected!("crc");
        assert_eq!(super::neon(), std_says);
    }
}

#[cfg(all(test, not(miri), target_arch = "x86_64", target_feature = "sse2"))]
mod tests {
    #[test]
    fn avx2_probe_agrees_with_std() {
        let std_says = std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("sse4.2")
            && std::is_x86_feature_detected!("pclmulqdq")
            && std::is_x86_feature_detected!("vpclmulqdq");
        assert_eq!(super::avx2(), std_says);
        assert_eq!(super::avx2(), std_says);
    }

    #[test]
    fn avx512_probe_agrees_with_std() {
        let std_says = std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("gfni")
            && std::is_x86_feature_detected!("sse4.2");
        assert_eq!(super::avx512(), std_says);
        assert_eq!(super::avx512(), std_says);
    }
}
