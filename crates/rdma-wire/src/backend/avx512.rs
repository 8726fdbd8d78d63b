//! The AVX-512 backend: AVX-512F with 512-bit VPCLMULQDQ (Intel Ice Lake and later, AMD Zen 4
//! and later).
//!
//! Algorithm: the same CRC folding as the `Avx2` backend (see there, and Gopal et al.,
//! "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ Instruction", Intel, 2009),
//! four lanes of 128 bits per zmm register:
//!
//! ```text
//! 4 zmm accumulators (16 lanes, 256 bytes) = the first 256 bytes, CRC XORed in;
//! for each further 256 bytes:  z_i = clmul(z_i.lo, K2048a) ^ clmul(z_i.hi, K2048b) ^ next_i
//! fold the 16 lanes into one, 128 bits at a time; fold each further 16 bytes;
//! 128 -> 64 -> 32 bits and a Barrett reduction; the last 0..15 bytes through `Scalar`.
//! ```
//!
//! Inputs under 512 bytes take the `Avx2`-style 128-bit path (the wide loop would not run
//! twice). This project's machines have no AVX-512, so this kernel is executed by Miri's
//! emulation in CI (`.ci/run`, miri stage) against `Scalar`, and its speed is unmeasured.

use core::arch::x86_64::{
    __m128i, __m512i, _mm_cvtsi32_si128, _mm_set_epi64x, _mm_xor_si128, _mm512_castsi512_si128,
    _mm512_clmulepi64_epi128, _mm512_extracti32x4_epi32, _mm512_loadu_si512, _mm512_set_epi64,
    _mm512_xor_si512,
};

use super::avx2::{K128, fold128, load16, reduce};
use crate::backend::Scalar;
use crate::engine::{Backend, Icrc};

/// The AVX-512 + VPCLMULQDQ backend. A value exists only on CPUs (and OSes) with every
/// feature in [`Avx512::FEATURES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Avx512 {
    _detected: (),
}

impl Avx512 {
    /// The CPU features this backend needs.
    pub const FEATURES: &'static [&'static str] = &["avx512f", "vpclmulqdq", "pclmulqdq", "sse4.1"];

    /// The backend, if this CPU (and OS) support it.
    pub fn new() -> Option<Self> {
        crate::detect::avx512_clmul().then_some(Self { _detected: () })
    }

    /// The backend without detection.
    ///
    /// # Safety
    /// The running CPU must support every feature in [`Self::FEATURES`] and the OS must have
    /// enabled the ZMM state.
    pub const unsafe fn new_unchecked() -> Self {
        Self { _detected: () }
    }
}

/// Below this many bytes the table is as fast as setting up the fold.
const MIN_FOLD: usize = 64;

impl Icrc for Avx512 {
    fn backend(&self) -> Backend {
        Backend::Avx512
    }

    fn crc32(&self, crc: u32, data: &[u8]) -> u32 {
        if data.len() < MIN_FOLD {
            return Scalar.crc32(crc, data);
        }
        // SAFETY: an `Avx512` value exists only after detection (`new`) or the caller's
        // promise (`new_unchecked`), so every feature of `fold` is present.
        let (register, rest) = unsafe { fold(!crc, data) };
        Scalar.crc32(!register, rest)
    }
}

// `(x^n mod P)` bit-reflected and shifted left by one, n = distance + 32 and distance - 32;
// the 128-bit constants and the final reduction are the `Avx2` backend's.
/// 2048 bits (sixteen 128-bit lanes ahead).
const K2048: (i64, i64) = (0x1_1542_778a, 0x1_322d_1430);

/// Folds `data` (at least 16 bytes) into the raw register; returns the register after the
/// longest multiple of 16 bytes, and the remaining 0..15 bytes.
#[target_feature(enable = "avx512f,vpclmulqdq,pclmulqdq,sse4.1")]
fn fold(register: u32, data: &[u8]) -> (u32, &[u8]) {
    let k128 = _mm_set_epi64x(K128.1, K128.0);
    let (mut x, mut rest) = match data.split_first_chunk::<256>() {
        Some((first, rest)) if rest.len() >= 256 => fold_wide(register, first, rest, k128),
        _ => match data.split_first_chunk::<16>() {
            Some((first, rest)) => (
                _mm_xor_si128(load16(first), _mm_cvtsi32_si128(register.cast_signed())),
                rest,
            ),
            None => return (register, data),
        },
    };
    while let Some((next, tail)) = rest.split_first_chunk::<16>() {
        x = _mm_xor_si128(fold128(x, k128), load16(next));
        rest = tail;
    }
    (reduce(x, k128), rest)
}

/// The 256-byte-a-step main loop over four zmm accumulators.
#[inline]
#[target_feature(enable = "avx512f,vpclmulqdq,pclmulqdq,sse4.1")]
fn fold_wide<'a>(
    register: u32,
    first: &[u8; 256],
    mut rest: &'a [u8],
    k128: __m128i,
) -> (__m128i, &'a [u8]) {
    let kk = _mm512_set_epi64(
        K2048.1, K2048.0, K2048.1, K2048.0, K2048.1, K2048.0, K2048.1, K2048.0,
    );
    let (quarters, _) = first.as_chunks::<64>();
    let mut z = [
        load64(&quarters[0]),
        load64(&quarters[1]),
        load64(&quarters[2]),
        load64(&quarters[3]),
    ];
    z[0] = _mm512_xor_si512(
        z[0],
        _mm512_set_epi64(0, 0, 0, 0, 0, 0, 0, i64::from(register)),
    );
    while let Some((next, tail)) = rest.split_first_chunk::<256>() {
        let (n, _) = next.as_chunks::<64>();
        for (acc, chunk) in z.iter_mut().zip(n) {
            let lo = _mm512_clmulepi64_epi128::<0x00>(*acc, kk);
            let hi = _mm512_clmulepi64_epi128::<0x11>(*acc, kk);
            *acc = _mm512_xor_si512(_mm512_xor_si512(lo, hi), load64(chunk));
        }
        rest = tail;
    }
    // Sixteen lanes, in stream order, folded into one.
    let mut x = _mm512_castsi512_si128(z[0]);
    for (i, acc) in z.iter().enumerate() {
        if i > 0 {
            x = _mm_xor_si128(fold128(x, k128), _mm512_castsi512_si128(*acc));
        }
        x = _mm_xor_si128(fold128(x, k128), _mm512_extracti32x4_epi32::<1>(*acc));
        x = _mm_xor_si128(fold128(x, k128), _mm512_extracti32x4_epi32::<2>(*acc));
        x = _mm_xor_si128(fold128(x, k128), _mm512_extracti32x4_epi32::<3>(*acc));
    }
    (x, rest)
}

#[inline]
#[target_feature(enable = "avx512f")]
fn load64(block: &[u8; 64]) -> __m512i {
    // SAFETY: `block` is 64 readable bytes; the load has no alignment requirement.
    unsafe { _mm512_loadu_si512(block.as_ptr().cast()) }
}
