//! The AVX2 backend, for x86_64 CPUs without AVX-512 + GFNI (AMD Zen 2/3, Intel before Ice
//! Lake, and the many virtual machines that hide AVX-512).
//!
//! Algorithm (split-nibble table lookup, ISA-L's `gf_vect_dot_prod_avx2` method). `c * x`
//! equals `c * (x & 0x0F) ^ c * (x & 0xF0)`, and each half takes one of 16 values, so two
//! 16-byte tables per coefficient ([`NIBBLE_TABLE`]), broadcast to both 128-bit lanes, and two
//! `vpshufb` multiply 32 bytes. For a group of up to [`GROUP`] outputs and each 64-byte
//! column of the shards:
//!
//! ```text
//! for each source j:  v = 64 bytes; lo = v & 0x0F; hi = (v >> 4) & 0x0F      (2 ymm each)
//!   for each output r: acc[r] ^= pshufb(T_lo[r][j], lo) ^ pshufb(T_hi[r][j], hi)
//! store acc[r]
//! ```
//!
//! A source column is loaded and split once per group and feeds every output of the group;
//! each table is one `vbroadcasti128` load that serves two vectors. Four outputs x two vectors
//! of accumulators, the split source and the two tables fit the 16 ymm registers. Tails
//! shorter than 64 bytes go through a zero-padded copy on the stack (AVX2 has no byte-masked
//! load), so nothing outside the shards is read or written.

use core::arch::x86_64::{
    __m128i, __m256i, _mm_loadu_si128, _mm256_and_si256, _mm256_broadcastsi128_si256,
    _mm256_loadu_si256, _mm256_set1_epi8, _mm256_setzero_si256, _mm256_shuffle_epi8,
    _mm256_srli_epi16, _mm256_storeu_si256, _mm256_xor_si256,
};

use crate::Error;
use crate::engine::{Backend, ErasureCoder, check_dot_prod, check_mul_acc};
use crate::gf::NIBBLE_TABLE;

/// The AVX2 backend. A value exists only on CPUs (and OSes) with AVX2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Avx2 {
    _detected: (),
}

impl Avx2 {
    /// The CPU features this backend needs.
    pub const FEATURES: &'static [&'static str] = &["avx2"];

    /// The backend, if this CPU (and OS) support it.
    pub fn new() -> Option<Self> {
        crate::detect::avx2().then_some(Self { _detected: () })
    }

    /// The backend without detection.
    ///
    /// # Safety
    /// The running CPU must support AVX2 and the OS must have enabled the YMM state.
    pub const unsafe fn new_unchecked() -> Self {
        Self { _detected: () }
    }
}

impl ErasureCoder for Avx2 {
    fn backend(&self) -> Backend {
        Backend::Avx2
    }

    fn dot_prod(&self, coeffs: &[u8], srcs: &[&[u8]], outs: &mut [&mut [u8]]) -> Result<(), Error> {
        let len = check_dot_prod(coeffs, srcs, outs)?;
        // SAFETY: an `Avx2` value exists only after detection (`new`) or the caller's promise
        // (`new_unchecked`), so AVX2 is present.
        unsafe { kernel(coeffs, srcs, outs, len, false) };
        Ok(())
    }

    fn mul_acc(&self, coeffs: &[u8], src: &[u8], outs: &mut [&mut [u8]]) -> Result<(), Error> {
        let len = check_mul_acc(coeffs, src, outs)?;
        // SAFETY: as in `dot_prod`, the value proves AVX2 is present.
        unsafe { kernel(coeffs, &[src], outs, len, true) };
        Ok(())
    }
}

/// Outputs per pass over the sources.
const GROUP: usize = 4;

/// 64 bytes as two ymm registers.
type Block = [__m256i; 2];

#[target_feature(enable = "avx2")]
fn kernel(coeffs: &[u8], srcs: &[&[u8]], outs: &mut [&mut [u8]], len: usize, accumulate: bool) {
    for_each_group!(pass, GROUP [1 2 3]; coeffs, srcs, outs, len, accumulate);
}

#[inline]
#[target_feature(enable = "avx2")]
fn pass<const R: usize>(
    rows: &[u8],
    srcs: &[&[u8]],
    outs: &mut [&mut [u8]],
    len: usize,
    accumulate: bool,
) {
    debug_assert!(outs.len() == R && rows.len() == R * srcs.len());
    let k = srcs.len();
    // This group's coefficients, source-major.
    let mut coef = [[0u8; R]; crate::MAX_SHARDS];
    for (j, c) in coef.iter_mut().enumerate().take(k) {
        for (r, e) in c.iter_mut().enumerate() {
            *e = rows[r * k + j];
        }
    }
    let coef = &coef[..k];
    let low_mask = _mm256_set1_epi8(0x0F);
    let mut off = 0;
    while off < len {
        let mut acc: [Block; R] = [[_mm256_setzero_si256(); 2]; R];
        if accumulate {
            for (a, out) in acc.iter_mut().zip(outs.iter()) {
                *a = load_at(out, off);
            }
        }
        for (src, c) in srcs.iter().zip(coef) {
            let v = load_at(src, off);
            let lo = v.map(|x| _mm256_and_si256(x, low_mask));
            let hi = v.map(|x| _mm256_and_si256(_mm256_srli_epi16::<4>(x), low_mask));
            for (a, &c) in acc.iter_mut().zip(c) {
                let (t_lo, t_hi) = tables(&NIBBLE_TABLE[usize::from(c)]);
                for ((x, l), h) in a.iter_mut().zip(lo).zip(hi) {
                    let p = _mm256_xor_si256(
                        _mm256_shuffle_epi8(t_lo, l),
                        _mm256_shuffle_epi8(t_hi, h),
                    );
                    *x = _mm256_xor_si256(*x, p);
                }
            }
        }
        for (a, out) in acc.iter().zip(outs.iter_mut()) {
            store_at(out, off, a);
        }
        off += 64;
    }
}

/// The low- and high-nibble tables of one coefficient, each in both 128-bit lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn tables(table: &[u8; 32]) -> (__m256i, __m256i) {
    let (lo, hi) = table.split_at(16);
    (broadcast(lo), broadcast(hi))
}

/// The 64 bytes at `off` (zero-padded past the end of `s`).
#[inline]
#[target_feature(enable = "avx2")]
fn load_at(s: &[u8], off: usize) -> Block {
    let rest = s.get(off..).unwrap_or_default();
    match rest.first_chunk::<64>() {
        Some(block) => load_block(block),
        None => load_tail(rest),
    }
}

#[inline]
#[target_feature(enable = "avx2")]
fn load_block(block: &[u8; 64]) -> Block {
    let (halves, _) = block.as_chunks::<32>();
    [load(&halves[0]), load(&halves[1])]
}

/// Fewer than 64 bytes, through a zero-padded copy (kept out of the hot loop).
#[cold]
#[target_feature(enable = "avx2")]
fn load_tail(rest: &[u8]) -> Block {
    let mut padded = [0u8; 64];
    let n = rest.len().min(64);
    padded[..n].copy_from_slice(&rest[..n]);
    load_block(&padded)
}

/// Stores the block at `off`, only as many bytes as remain in `s`.
#[inline]
#[target_feature(enable = "avx2")]
fn store_at(s: &mut [u8], off: usize, v: &Block) {
    let rest = s.get_mut(off..).unwrap_or_default();
    if let Some(block) = rest.first_chunk_mut::<64>() {
        for (half, x) in block.as_chunks_mut::<32>().0.iter_mut().zip(v) {
            store(half, *x);
        }
        return;
    }
    let mut padded = [0u8; 64];
    for (half, x) in padded.as_chunks_mut::<32>().0.iter_mut().zip(v) {
        store(half, *x);
    }
    let n = rest.len();
    rest.copy_from_slice(&padded[..n]);
}

/// Broadcasts a 16-byte table to both lanes; `t` holds 16 bytes (a half of a 32-byte table).
#[inline]
#[target_feature(enable = "avx2")]
fn broadcast(t: &[u8]) -> __m256i {
    let t: &[u8; 16] = match t.first_chunk::<16>() {
        Some(t) => t,
        None => &[0; 16],
    };
    // SAFETY: `t` is 16 readable bytes; the load has no alignment requirement.
    let x: __m128i = unsafe { _mm_loadu_si128(t.as_ptr().cast()) };
    _mm256_broadcastsi128_si256(x)
}

#[inline]
#[target_feature(enable = "avx2")]
fn load(block: &[u8; 32]) -> __m256i {
    // SAFETY: `block` is 32 readable bytes; the load has no alignment requirement.
    unsafe { _mm256_loadu_si256(block.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx2")]
fn store(block: &mut [u8; 32], v: __m256i) {
    // SAFETY: `block` is 32 writable bytes; the store has no alignment requirement.
    unsafe { _mm256_storeu_si256(block.as_mut_ptr().cast(), v) }
}
