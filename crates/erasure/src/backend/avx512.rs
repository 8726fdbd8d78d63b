//! The AVX-512 backend: AVX-512F, AVX-512BW and GFNI.
//!
//! Algorithm. Multiplication by a constant `c` in GF(2^8) is GF(2)-linear on the bits of a
//! byte, so it is an 8x8 bit matrix `M_c` ([`GFNI_MATRIX`]), and `vgf2p8affineqb v, M_c, 0`
//! multiplies 64 bytes by `c` in one instruction (its built-in polynomial 0x11B plays no part:
//! the matrix carries ours, 0x11D). For a group of up to [`GROUP`] outputs and each 64-byte
//! column of the shards:
//!
//! ```text
//! acc[r] = 0 (or the output's bytes, for mul_acc)
//! for each source j:      acc[r] ^= M[r][j]·src[j]          (one affine, one XOR)
//! store acc[r]
//! ```
//!
//! Each source vector is loaded once per group and feeds every output of the group; the
//! matrices are broadcast from a small per-call table (an embedded `{1to8}` memory operand).
//! Tails shorter than 64 bytes use byte-masked loads and stores, so no scalar tail loop exists
//! and nothing outside the shards is touched.
//!
//! Not done, on purpose: folding two products into the accumulator with one `vpternlogq`
//! (three uops per two products instead of four). Miri cannot interpret `vpternlogq`, and Miri
//! is how this kernel is executed on CI machines without AVX-512 (see `.ci/run`); the change
//! should come with a measurement on an AVX-512 + GFNI machine, which this project's current
//! machines (AMD Zen 3) are not.

use core::arch::x86_64::{
    __m512i, _mm512_gf2p8affine_epi64_epi8, _mm512_loadu_si512, _mm512_mask_storeu_epi8,
    _mm512_maskz_loadu_epi8, _mm512_set1_epi64, _mm512_setzero_si512, _mm512_storeu_si512,
    _mm512_xor_si512,
};

use crate::engine::{Backend, ErasureCoder, check_dot_prod, check_mul_acc};
use crate::gf::GFNI_MATRIX;
use crate::{Error, MAX_SHARDS};

/// The AVX-512 + GFNI backend. A value exists only on CPUs with every feature in
/// [`Avx512::FEATURES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Avx512 {
    _detected: (),
}

impl Avx512 {
    /// The CPU features this backend needs.
    pub const FEATURES: &'static [&'static str] = &["avx512f", "avx512bw", "gfni"];

    /// The backend, if this CPU (and OS) support it.
    pub fn new() -> Option<Self> {
        crate::detect::avx512().then_some(Self { _detected: () })
    }

    /// The backend without detection.
    ///
    /// # Safety
    /// The running CPU must support every feature in [`Self::FEATURES`] and the OS must
    /// have enabled the AVX-512 register state.
    pub const unsafe fn new_unchecked() -> Self {
        Self { _detected: () }
    }
}

impl ErasureCoder for Avx512 {
    fn backend(&self) -> Backend {
        Backend::Avx512
    }

    fn dot_prod(&self, coeffs: &[u8], srcs: &[&[u8]], outs: &mut [&mut [u8]]) -> Result<(), Error> {
        let len = check_dot_prod(coeffs, srcs, outs)?;
        // SAFETY: an `Avx512` value exists only after detection (`new`) or the caller's
        // promise (`new_unchecked`), so avx512f, avx512bw and gfni are present.
        unsafe { kernel(coeffs, srcs, outs, len, false) };
        Ok(())
    }

    fn mul_acc(&self, coeffs: &[u8], src: &[u8], outs: &mut [&mut [u8]]) -> Result<(), Error> {
        let len = check_mul_acc(coeffs, src, outs)?;
        // SAFETY: as in `dot_prod`, the value proves the features are present.
        unsafe { kernel(coeffs, &[src], outs, len, true) };
        Ok(())
    }
}

/// Outputs per pass over the sources (ISA-L uses six as well).
const GROUP: usize = 6;

/// `outs[r] (^)= XOR_j coeffs[r * k + j] * srcs[j]`; shapes checked by the caller.
#[target_feature(enable = "avx512f,avx512bw,gfni")]
fn kernel(coeffs: &[u8], srcs: &[&[u8]], outs: &mut [&mut [u8]], len: usize, accumulate: bool) {
    for_each_group!(pass, GROUP [1 2 3 4 5]; coeffs, srcs, outs, len, accumulate);
}

/// One pass over every source for `R` outputs.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,gfni")]
fn pass<const R: usize>(
    rows: &[u8],
    srcs: &[&[u8]],
    outs: &mut [&mut [u8]],
    len: usize,
    accumulate: bool,
) {
    debug_assert!(outs.len() == R && rows.len() == R * srcs.len());
    let k = srcs.len();
    // The matrices of this group, source-major, so the inner loop reads them in order.
    let mut mats = [[0u64; R]; MAX_SHARDS];
    for (j, m) in mats.iter_mut().enumerate().take(k) {
        for (r, e) in m.iter_mut().enumerate() {
            *e = GFNI_MATRIX[usize::from(rows[r * k + j])];
        }
    }
    let mats = &mats[..k];
    let mut off = 0;
    while off < len {
        let mut acc = [_mm512_setzero_si512(); R];
        if accumulate {
            for (a, out) in acc.iter_mut().zip(outs.iter()) {
                *a = load_at(out, off);
            }
        }
        for (s, m) in srcs.iter().zip(mats) {
            let v = load_at(s, off);
            for (x, &mat) in acc.iter_mut().zip(m) {
                *x = _mm512_xor_si512(*x, affine(v, mat));
            }
        }
        for (a, out) in acc.iter().zip(outs.iter_mut()) {
            store_at(out, off, *a);
        }
        off += 64;
    }
}

/// `c * v` for the coefficient whose matrix is `mat`.
#[inline]
#[target_feature(enable = "avx512f,gfni")]
fn affine(v: __m512i, mat: u64) -> __m512i {
    _mm512_gf2p8affine_epi64_epi8::<0>(v, _mm512_set1_epi64(mat as i64))
}

/// The 64 bytes at `off`, or the bytes from `off` to the end zero-extended when fewer remain.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn load_at(s: &[u8], off: usize) -> __m512i {
    match s.get(off..).and_then(|rest| rest.first_chunk::<64>()) {
        Some(block) => load(block),
        None => load_partial(s.get(off..).unwrap_or_default()),
    }
}

/// Stores `v` at `off`, only as many bytes as remain when fewer than 64 do.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn store_at(s: &mut [u8], off: usize, v: __m512i) {
    let rest = s.get_mut(off..).unwrap_or_default();
    match rest.first_chunk_mut::<64>() {
        Some(block) => store(block, v),
        None => store_partial(rest, v),
    }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn load(block: &[u8; 64]) -> __m512i {
    // SAFETY: `block` is 64 readable bytes; the load has no alignment requirement.
    unsafe { _mm512_loadu_si512(block.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn store(block: &mut [u8; 64], v: __m512i) {
    // SAFETY: `block` is 64 writable bytes; the store has no alignment requirement.
    unsafe { _mm512_storeu_si512(block.as_mut_ptr().cast(), v) }
}

/// Byte mask with the low `n` bits set, `n <= 64`.
#[inline]
fn mask(n: usize) -> u64 {
    debug_assert!(n <= 64);
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn load_partial(bytes: &[u8]) -> __m512i {
    let n = bytes.len().min(64);
    // SAFETY: the mask enables exactly the first `n <= bytes.len()` lanes; masked-off lanes
    // are not accessed (no fault, no read), so only `bytes[..n]` is read.
    unsafe { _mm512_maskz_loadu_epi8(mask(n), bytes.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn store_partial(bytes: &mut [u8], v: __m512i) {
    let n = bytes.len().min(64);
    // SAFETY: the mask enables exactly the first `n <= bytes.len()` lanes; masked-off lanes
    // are not written, so only `bytes[..n]` is written.
    unsafe { _mm512_mask_storeu_epi8(bytes.as_mut_ptr().cast(), mask(n), v) }
}
