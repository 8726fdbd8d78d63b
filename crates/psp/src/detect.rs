//! CPU feature detection without `std`, cached in an atomic (x86_64: CPUID and XGETBV;
//! aarch64: the kernel's `AT_HWCAP`, through `cpufeatures`).
//!
//! A hand-written probe rather than `cpufeatures`: `cpufeatures` 0.3 demands the AVX-512
//! (ZMM) register state for `vaes` and `vpclmulqdq`, so it answers "no" on CPUs that have
//! the 256-bit forms without AVX-512 (AMD Zen 3), exactly the CPUs the `Avx2` backend is
//! for. Under Miri, and when the features are enabled at compile time, the answer comes
//! from `cfg!(target_feature)` alone.

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod x86 {
    use core::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};
    use core::sync::atomic::{AtomicU8, Ordering};

    const UNKNOWN: u8 = 2;
    static AVX2: AtomicU8 = AtomicU8::new(UNKNOWN);
    static AVX512: AtomicU8 = AtomicU8::new(UNKNOWN);

    /// Everything [`avx2`] needs plus AVX-512F and AVX-512BW, with the ZMM state enabled
    /// (XCR0 bits 5-7: opmask, upper halves of ZMM0-15, ZMM16-31).
    pub(crate) fn avx512() -> bool {
        if cfg!(all(
            target_feature = "aes",
            target_feature = "avx2",
            target_feature = "vaes",
            target_feature = "vpclmulqdq",
            target_feature = "pclmulqdq",
            target_feature = "avx512f",
            target_feature = "avx512bw"
        )) {
            return true;
        }
        if cfg!(miri) {
            return false;
        }
        match AVX512.load(Ordering::Relaxed) {
            UNKNOWN => {
                let yes = avx2() && probe_avx512();
                AVX512.store(u8::from(yes), Ordering::Relaxed);
                yes
            }
            cached => cached == 1,
        }
    }

    #[cold]
    fn probe_avx512() -> bool {
        let leaf7 = __cpuid_count(7, 0);
        let avx512f = leaf7.ebx & (1 << 16) != 0;
        let avx512bw = leaf7.ebx & (1 << 30) != 0;
        // SAFETY: `avx2()` answered yes first, which needs CPUID.1:ECX.OSXSAVE, so XGETBV is
        // available and XCR0 readable.
        let xcr0 = unsafe { xcr0() };
        avx512f && avx512bw && xcr0 & 0b1110_0110 == 0b1110_0110
    }

    /// AES-NI, PCLMULQDQ, AVX2, VAES and VPCLMULQDQ, with the YMM state enabled.
    pub(crate) fn avx2() -> bool {
        if cfg!(all(
            target_feature = "aes",
            target_feature = "avx2",
            target_feature = "vaes",
            target_feature = "vpclmulqdq",
            target_feature = "pclmulqdq"
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
        let pclmulqdq = leaf1.ecx & (1 << 1) != 0;
        let aes = leaf1.ecx & (1 << 25) != 0;
        let osxsave = leaf1.ecx & (1 << 27) != 0;
        let avx = leaf1.ecx & (1 << 28) != 0;
        if !(pclmulqdq && aes && osxsave && avx) || __cpuid(0).eax < 7 {
            return false;
        }
        let leaf7 = __cpuid_count(7, 0);
        let avx2 = leaf7.ebx & (1 << 5) != 0;
        let vaes = leaf7.ecx & (1 << 9) != 0;
        let vpclmulqdq = leaf7.ecx & (1 << 10) != 0;
        // SAFETY: CPUID leaf 1 reported OSXSAVE, so XGETBV is available and XCR0 readable.
        let xcr0 = unsafe { xcr0() };
        // XCR0 bits 1 and 2: the OS saves the XMM and YMM state.
        avx2 && vaes && vpclmulqdq && xcr0 & 0b110 == 0b110
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

/// aarch64: NEON (part of the target) and the Cryptographic Extension's AES and PMULL
/// instructions, from `AT_HWCAP` on Linux and Android through `cpufeatures` (no `std`
/// needed; on other systems it answers from the compile-time features alone).
#[cfg(target_arch = "aarch64")]
pub(crate) fn neon_aes() -> bool {
    if cfg!(all(target_feature = "neon", target_feature = "aes")) {
        return true;
    }
    if cfg!(miri) || !cfg!(target_feature = "neon") {
        return false;
    }
    aes_token::get()
}

#[cfg(target_arch = "aarch64")]
cpufeatures::new!(aes_token, "aes");

#[cfg(all(test, not(miri), target_arch = "aarch64"))]
mod aarch64_tests {
    #[test]
    fn aes_probe_agrees_with_std() {
        let std_says = std::arch::is_aarch64_feature_detected!("neon")
            && std::arch::is_aarch64_feature_detected!("aes")
            && std::arch::is_aarch64_feature_detected!("pmull");
        assert_eq!(super::neon_aes(), std_says);
    }
}

#[cfg(all(test, not(miri), target_arch = "x86_64", target_feature = "sse2"))]
mod tests {
    #[test]
    fn avx2_probe_agrees_with_std() {
        let std_says = std::is_x86_feature_detected!("aes")
            && std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("vaes")
            && std::is_x86_feature_detected!("vpclmulqdq")
            && std::is_x86_feature_detected!("pclmulqdq");
        assert_eq!(super::avx2(), std_says);
        assert_eq!(super::avx2(), std_says);
        let std_says_512 = std_says
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw");
        assert_eq!(super::avx512(), std_says_512);
    }
}
