//! CPU feature detection without `std`, cached in an atomic (x86_64: CPUID and XGETBV;
//! aarch64 Linux: `getauxval`).
//!
//! A hand-written probe rather than `cpufeatures`: `cpufeatures` 0.3 demands the AVX-512
//! (ZMM) register state for `vpclmulqdq`, so it answers "no" on CPUs that have 256-bit
//! VPCLMULQDQ without AVX-512 (AMD Zen 3) — exactly the CPUs the `Avx2` backend is for. The
//! probe reads CPUID leaves 1 and 7 and checks with XGETBV that the OS saves the XMM and YMM
//! state. Under Miri, and when the features are enabled at compile time, the answer comes
//! from `cfg!(target_feature)` alone.

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod x86 {
    use core::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};
    use core::sync::atomic::{AtomicU8, Ordering};

    const UNKNOWN: u8 = 2;
    static AVX2_CLMUL: AtomicU8 = AtomicU8::new(UNKNOWN);
    static AVX512_CLMUL: AtomicU8 = AtomicU8::new(UNKNOWN);

    /// AVX-512F and 512-bit VPCLMULQDQ (with PCLMULQDQ and SSE4.1), with the ZMM state enabled.
    pub(crate) fn avx512_clmul() -> bool {
        if cfg!(all(
            target_feature = "avx512f",
            target_feature = "pclmulqdq",
            target_feature = "vpclmulqdq",
            target_feature = "sse4.1"
        )) {
            return true;
        }
        if cfg!(miri) {
            return false;
        }
        cached(&AVX512_CLMUL, || {
            // XCR0 bits 1-2 (XMM, YMM) and 5-7 (opmask, ZMM hi256, hi16 ZMM).
            probe(0b1110_0110) && __cpuid_count(7, 0).ebx & (1 << 16) != 0
        })
    }

    fn cached(cell: &AtomicU8, probe: impl FnOnce() -> bool) -> bool {
        match cell.load(Ordering::Relaxed) {
            UNKNOWN => {
                let yes = probe();
                cell.store(u8::from(yes), Ordering::Relaxed);
                yes
            }
            cached => cached == 1,
        }
    }

    /// AVX2, PCLMULQDQ, 256-bit VPCLMULQDQ and SSE4.1, with the YMM state enabled.
    pub(crate) fn avx2_clmul() -> bool {
        if cfg!(all(
            target_feature = "avx2",
            target_feature = "pclmulqdq",
            target_feature = "vpclmulqdq",
            target_feature = "sse4.1"
        )) {
            return true;
        }
        if cfg!(miri) {
            return false;
        }
        cached(&AVX2_CLMUL, || {
            probe(0b110) && __cpuid_count(7, 0).ebx & (1 << 5) != 0
        })
    }

    /// SSE4.1, PCLMULQDQ, AVX and VPCLMULQDQ in CPUID, and every XCR0 bit of `state`.
    #[cold]
    fn probe(state: u64) -> bool {
        let leaf1 = __cpuid(1);
        let sse41 = leaf1.ecx & (1 << 19) != 0;
        let pclmulqdq = leaf1.ecx & (1 << 1) != 0;
        let osxsave = leaf1.ecx & (1 << 27) != 0;
        let avx = leaf1.ecx & (1 << 28) != 0;
        if !(sse41 && pclmulqdq && osxsave && avx) || __cpuid(0).eax < 7 {
            return false;
        }
        let vpclmulqdq = __cpuid_count(7, 0).ecx & (1 << 10) != 0;
        // SAFETY: CPUID leaf 1 reported OSXSAVE, so XGETBV is available and XCR0 readable.
        let xcr0 = unsafe { xcr0() };
        vpclmulqdq && xcr0 & state == state
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
pub(crate) use x86::{avx2_clmul, avx512_clmul};

/// aarch64: the `crc` extension, from the ELF auxiliary vector on Linux (HWCAP_CRC32) and
/// from compile-time features elsewhere.
#[cfg(target_arch = "aarch64")]
pub(crate) fn crc() -> bool {
    if cfg!(target_feature = "crc") {
        return true;
    }
    if cfg!(miri) {
        return false;
    }
    #[cfg(target_os = "linux")]
    {
        use core::sync::atomic::{AtomicU8, Ordering};
        static CRC: AtomicU8 = AtomicU8::new(2);
        match CRC.load(Ordering::Relaxed) {
            2 => {
                // SAFETY: getauxval has no preconditions; AT_HWCAP is a valid type.
                let hwcap = unsafe { libc::getauxval(libc::AT_HWCAP) };
                let yes = hwcap & libc::HWCAP_CRC32 != 0;
                CRC.store(u8::from(yes), Ordering::Relaxed);
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
    fn crc_probe_agrees_with_std() {
        assert_eq!(super::crc(), std::arch::is_aarch64_feature_detected!("crc"));
    }
}

#[cfg(all(test, not(miri), target_arch = "x86_64", target_feature = "sse2"))]
mod tests {
    #[test]
    fn avx2_clmul_probe_agrees_with_std() {
        let std_says = std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("pclmulqdq")
            && std::is_x86_feature_detected!("vpclmulqdq")
            && std::is_x86_feature_detected!("sse4.1");
        assert_eq!(super::avx2_clmul(), std_says);
        // Cached: the second answer is the same.
        assert_eq!(super::avx2_clmul(), std_says);
    }

    #[test]
    fn avx512_clmul_probe_agrees_with_std() {
        let std_says = std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("pclmulqdq")
            && std::is_x86_feature_detected!("vpclmulqdq")
            && std::is_x86_feature_detected!("sse4.1");
        assert_eq!(super::avx512_clmul(), std_says);
    }
}
