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
//! then the 16 lanes and the r = 0..15 whole 16-byte blocks left are one message of 16 + r
//! blocks: each block times the pair of constants for its own distance to the end, all
//! products independent, XORed with the last block; the last 0..15 bytes appended with two
//! shuffles and one more fold (`Avx2`'s `fold_tail`); 128 -> 96 -> 64 -> 32 bits and a
//! Barrett reduction.
//! ```
//!
//! The ending is `Avx2`'s (`fold_wide` and `fold_short` there) widened: no chain of
//! dependent 16-byte folds after the loop, where the first version of this kernel folded the
//! 16 lanes into one and then each block left, one after the other (up to 31 multiplications
//! in a row).
//!
//! Messages under 512 bytes (where the wide loop would not run twice) and packets of up to
//! 256 bytes go to the `Avx2` backend's kernels, which this CPU has too (detection checks
//! both): the short-packet ICRC that hashes the packet in place with the mask in registers,
//! and `parse_verified` as one function with it (see `avx2.rs`). So on a CPU with AVX-512,
//! `Auto` (which picks this backend) is never slower than `Avx2` on a small packet.
//!
//! Measured on a Sapphire Rapids class Xeon (one process, interleaved, best of 30): CRC-32 of
//! 4 KiB to 4 KiB + 80 bytes at 0.91–0.98× libdeflate's AVX-512 kernel, whatever the length
//! modulo 16; before the tail was folded in registers, lengths with a 1..15-byte tail paid
//! about 20 ns for it in `Scalar` (0.54–0.74×).

use core::arch::x86_64::{
    __m512i, _mm_set_epi64x, _mm_xor_si128, _mm512_castsi512_si128, _mm512_clmulepi64_epi128,
    _mm512_extracti32x4_epi32, _mm512_loadu_si512, _mm512_set_epi64, _mm512_setzero_si512,
    _mm512_xor_si512,
};

use super::Avx2;
use super::avx2::{K128, fold_pair, fold_tail, fold128, load16, reduce, table16};
use crate::backend::Scalar;
use crate::engine::{Backend, Icrc};
use crate::error::Error;
use crate::wire::Frame;

/// The AVX-512 + VPCLMULQDQ backend. A value exists only on CPUs (and OSes) with every
/// feature in [`Avx512::FEATURES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Avx512 {
    /// The `Avx2` backend, detected with this one: it hashes short messages and packets.
    avx2: Avx2,
}

impl Avx512 {
    /// The CPU features this backend needs (`avx2` for the short-packet kernels it shares
    /// with `Avx2`).
    pub const FEATURES: &'static [&'static str] =
        &["avx512f", "avx2", "vpclmulqdq", "pclmulqdq", "sse4.1"];

    /// The backend, if this CPU (and OS) support it.
    pub fn new() -> Option<Self> {
        if !crate::detect::avx512_clmul() {
            return None;
        }
        Some(Self { avx2: Avx2::new()? })
    }

    /// The backend without detection.
    ///
    /// # Safety
    /// The running CPU must support every feature in [`Self::FEATURES`] and the OS must have
    /// enabled the ZMM state.
    pub const unsafe fn new_unchecked() -> Self {
        Self {
            // SAFETY: the caller's promise covers `Avx2::FEATURES` and the YMM state.
            avx2: unsafe { Avx2::new_unchecked() },
        }
    }
}

/// Below this many bytes the wide loop would not run twice: `Avx2`'s fold is as fast.
const MIN_WIDE: usize = 512;

impl Icrc for Avx512 {
    fn backend(&self) -> Backend {
        Backend::Avx512
    }

    fn crc32(&self, crc: u32, data: &[u8]) -> u32 {
        if data.len() < MIN_WIDE {
            return self.avx2.crc32(crc, data);
        }
        // SAFETY: an `Avx512` value exists only after detection (`new`) or the caller's
        // promise (`new_unchecked`), so every feature of `fold` is present.
        !unsafe { fold(!crc, data) }
    }

    fn crc32_parts(&self, crc: u32, first: &[u8], rest: &[u8]) -> u32 {
        // While `rest` is too short for the wide loop to run twice, `Avx2`'s parts: one fold
        // through both parts without a reduction between them (or, for a small packet's
        // ICRC in whole 32-byte units, its one-step fold). Otherwise a pass per part: `first`
        // (the masked headers, 128 or 256 bytes) through `Avx2`'s fold, `rest` through the
        // wide loop.
        if rest.len() < MIN_WIDE {
            return self.avx2.crc32_parts(crc, first, rest);
        }
        self.crc32(self.crc32(crc, first), rest)
    }

    fn compute_packet(&self, packet: &[u8]) -> Result<u32, Error> {
        self.avx2.compute_packet_with(self, packet)
    }

    #[inline]
    fn parse_verified<'a>(&self, frame: &'a [u8]) -> Result<Frame<'a>, Error> {
        self.avx2.parse_verified_with(*self, frame)
    }
}

// `(x^n mod P)` bit-reflected and shifted left by one, n = distance + 32 and distance - 32;
// the 128-bit constants and the final reduction are the `Avx2` backend's.
/// 2048 bits (sixteen 128-bit lanes ahead).
const K2048: (i64, i64) = (0x1_1542_778a, 0x1_322d_1430);

/// The most 16-byte blocks the ending folds: 16 lanes and up to 15 blocks left.
const END_BLOCKS: usize = 32;

/// For every distance `d` from 31 blocks down to 0 (index `31 - d`), the pair that folds a
/// 128-bit block `d` blocks ahead (`Avx2`'s `fold_pair`; zero for `d = 0`), 16 bytes each, so
/// that four blocks in a row find theirs in one 64-byte load.
const END_K: [u8; 16 * END_BLOCKS] = {
    let mut t = [0u8; 16 * END_BLOCKS];
    let mut d: u32 = 0;
    while (d as usize) < END_BLOCKS {
        let (a, b) = fold_pair(d);
        let (a, b) = (a.to_le_bytes(), b.to_le_bytes());
        let e = END_BLOCKS - 1 - d as usize;
        let mut i = 0;
        while i < 8 {
            t[16 * e + i] = a[i];
            t[16 * e + 8 + i] = b[i];
            i += 1;
        }
        d += 1;
    }
    t
};

/// Folds `data` (at least [`MIN_WIDE`] bytes) into the raw register.
///
/// After the wide loop, the 16 lanes (in stream order) and the `r` whole blocks left make
/// one message of `16 + r` blocks; block `i` is `16 + r - 1 - i` blocks from the end and is
/// multiplied by that distance's pair from [`END_K`] (the last block's pair is zero, so it
/// is XORed in as it is), as in `Avx2`'s `fold_short`. The last 0..15 bytes are appended
/// by `Avx2`'s `fold_tail`.
#[target_feature(enable = "avx512f,vpclmulqdq,pclmulqdq,sse4.1")]
fn fold(register: u32, data: &[u8]) -> u32 {
    let (Some((first, rest)), Some(end)) = (data.split_first_chunk::<256>(), data.last_chunk())
    else {
        // Not reached: `data` has at least 512 bytes.
        return !Scalar.crc32(!register, data);
    };
    let (z, rest) = fold_wide(register, first, rest);
    let (blocks, tail) = rest.as_chunks::<16>();
    // `blocks.len() < 16`: the wide loop leaves less than 256 bytes.
    let r = blocks.len().min(END_BLOCKS - 16);
    let mut acc = _mm512_setzero_si512();
    for (i, zi) in z.iter().enumerate() {
        // Lanes 4i..4i+3, at distances 15 - 4i + r down to 12 - 4i + r, whose pairs start at
        // index 31 - (15 - 4i + r) = 16 + 4i - r (from 1 to 28: the 64 bytes are there).
        let k = table64(&END_K, 16 * (16 + 4 * i - r));
        let lo = _mm512_clmulepi64_epi128::<0x00>(*zi, k);
        let hi = _mm512_clmulepi64_epi128::<0x11>(*zi, k);
        acc = _mm512_xor_si512(acc, _mm512_xor_si512(lo, hi));
    }
    let mut x = _mm_xor_si128(
        _mm_xor_si128(
            _mm512_castsi512_si128(acc),
            _mm512_extracti32x4_epi32::<1>(acc),
        ),
        _mm_xor_si128(
            _mm512_extracti32x4_epi32::<2>(acc),
            _mm512_extracti32x4_epi32::<3>(acc),
        ),
    );
    // The blocks left: block j at distance r - 1 - j, its pair at index 32 - r + j.
    let mut last = _mm512_extracti32x4_epi32::<3>(z[3]);
    for (j, block) in blocks.iter().take(r).enumerate() {
        let b = load16(block);
        let k = table16(&END_K, 16 * (END_BLOCKS - r + j));
        x = _mm_xor_si128(x, fold128(b, k));
        last = b;
    }
    // The last block's pair is zero: it enters as it is.
    x = _mm_xor_si128(x, last);
    if !tail.is_empty() {
        x = fold_tail(x, end, tail.len());
    }
    reduce(x, _mm_set_epi64x(K128.1, K128.0))
}

/// The 256-byte-a-step main loop over four zmm accumulators; returns them and what is left
/// (under 256 bytes).
#[inline]
#[target_feature(enable = "avx512f,vpclmulqdq")]
fn fold_wide<'a>(register: u32, first: &[u8; 256], mut rest: &'a [u8]) -> ([__m512i; 4], &'a [u8]) {
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
    (z, rest)
}

/// The 64 bytes of a table at `at`, or zeros past its end (not reached: the offsets
/// `fold` asks for are in range).
#[inline]
#[target_feature(enable = "avx512f")]
fn table64(table: &[u8], at: usize) -> __m512i {
    match table.get(at..).and_then(<[u8]>::first_chunk::<64>) {
        Some(t) => load64(t),
        None => _mm512_setzero_si512(),
    }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn load64(block: &[u8; 64]) -> __m512i {
    // SAFETY: `block` is 64 readable bytes; the load has no alignment requirement.
    unsafe { _mm512_loadu_si512(block.as_ptr().cast()) }
}
