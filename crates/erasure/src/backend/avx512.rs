//! The AVX-512 backend: AVX-512F, AVX-512BW and GFNI.
//!
//! Algorithm. Multiplication by a constant `c` in GF(2^8) is GF(2)-linear on the bits of a
//! byte, so it is an 8x8 bit matrix `M_c` ([`GFNI_MATRIX`]), and `vgf2p8affineqb v, M_c, 0`
//! multiplies 64 bytes by `c` in one instruction (its built-in polynomial 0x11B plays no part:
//! the matrix carries ours, 0x11D). For a group of up to [`GROUP`] outputs and each 64-byte
//! column of the shards:
//!
//! ```text
//! acc[c][r] = 0 (or the output's bytes, for mul_acc)       two columns c at a time
//! for each pair of sources (j, j+1):
//!     acc[c][r] ^= M[r][j]·src[j][c] ^ M[r][j+1]·src[j+1][c]  (two affines, one XOR)
//! (an odd last source: one affine, one XOR)
//! store acc
//! ```
//!
//! Each source vector is loaded once per group and feeds every output of the group; each
//! matrix is broadcast once per pair of columns. LLVM fuses the two XORs of a source pair into
//! one `vpternlogd`, so a pair costs three vector uops instead of four. Tails shorter than 64
//! bytes use byte-masked loads and stores, so no scalar tail loop exists and nothing outside
//! the shards is touched.
//!
//! Why this shape: `vgf2p8affineqb` on zmm issues once per cycle on the Sapphire Rapids class
//! Xeon this was measured on (ymm: twice), so the kernel is bound by the affine port only when
//! the loop around it is nearly free. One source and one column per iteration ran 10+4 at
//! 64 KiB at about 16–20 GB/s (about 1.1 products per ns); pairs of sources and of columns at
//! 35–37 GB/s (2.2–2.3 per ns, near the one-per-cycle bound). Four columns at once ran slower
//! (26–27 GB/s: too many live registers at six outputs).

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
///
/// The sources are taken two at a time: both products of a pair are XORed together before
/// one XOR into the accumulator, and the loop runs half as many times. Measured on a Sapphire
/// Rapids class Xeon (10+4, 64 KiB shards): one source per iteration ran at about 1.1 products
/// per ns, the pairwise loop at about 2.1, near the one `vgf2p8affineqb` zmm per cycle the
/// port allows. The whole 64-byte columns run with plain loads and stores; only the last,
/// partial column is masked.
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
    // The unchecked loads below rely on this; the callers checked it already, so it is one
    // predictable comparison per source per pass.
    assert!(srcs.iter().all(|s| s.len() >= len) && outs.iter().all(|o| o.len() >= len));
    let full = len - len % 64;
    let mut off = 0;
    while off + 128 <= full {
        columns::<R, 2>(mats, srcs, outs, off, accumulate);
        off += 128;
    }
    if off < full {
        columns::<R, 1>(mats, srcs, outs, off, accumulate);
        off += 64;
    }
    if off < len {
        let mut acc = [_mm512_setzero_si512(); R];
        if accumulate {
            for (a, out) in acc.iter_mut().zip(outs.iter()) {
                *a = load_partial(&out[off..len]);
            }
        }
        for (s, m) in srcs.iter().zip(mats) {
            let v = load_partial(&s[off..len]);
            for (x, &mat) in acc.iter_mut().zip(m) {
                *x = _mm512_xor_si512(*x, affine(v, splat(mat)));
            }
        }
        for (a, out) in acc.iter().zip(outs.iter_mut()) {
            store_partial(&mut out[off..len], *a);
        }
    }
}

/// `C` whole 64-byte columns at `off` of `R` outputs: every matrix, broadcast once, feeds the
/// `C` columns, and each source pair costs one XOR (a `vpternlogq`) per output and column.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,gfni")]
fn columns<const R: usize, const C: usize>(
    mats: &[[u64; R]],
    srcs: &[&[u8]],
    outs: &mut [&mut [u8]],
    off: usize,
    accumulate: bool,
) {
    let mut acc = [[_mm512_setzero_si512(); R]; C];
    if accumulate {
        for (c, col) in acc.iter_mut().enumerate() {
            for (a, out) in col.iter_mut().zip(outs.iter()) {
                *a = load_full(out, off + 64 * c);
            }
        }
    }
    let mut pairs = srcs.chunks_exact(2);
    let mut pair_mats = mats.chunks_exact(2);
    for (s, m) in (&mut pairs).zip(&mut pair_mats) {
        let mut v = [[_mm512_setzero_si512(); 2]; C];
        for (c, x) in v.iter_mut().enumerate() {
            *x = [load_full(s[0], off + 64 * c), load_full(s[1], off + 64 * c)];
        }
        for r in 0..R {
            let (m0, m1) = (splat(m[0][r]), splat(m[1][r]));
            for (col, x) in acc.iter_mut().zip(&v) {
                let p = _mm512_xor_si512(affine(x[0], m0), affine(x[1], m1));
                col[r] = _mm512_xor_si512(col[r], p);
            }
        }
    }
    if let ([s], [m]) = (pairs.remainder(), pair_mats.remainder()) {
        for (c, col) in acc.iter_mut().enumerate() {
            let v = load_full(s, off + 64 * c);
            for (x, &mat) in col.iter_mut().zip(m) {
                *x = _mm512_xor_si512(*x, affine(v, splat(mat)));
            }
        }
    }
    for (c, col) in acc.iter().enumerate() {
        for (a, out) in col.iter().zip(outs.iter_mut()) {
            store_full(out, off + 64 * c, *a);
        }
    }
}

/// The matrix `mat` in every 64-bit lane.
#[inline]
#[target_feature(enable = "avx512f")]
fn splat(mat: u64) -> __m512i {
    _mm512_set1_epi64(mat as i64)
}

/// `c * v` for the coefficient whose (broadcast) matrix is `mat`.
#[inline]
#[target_feature(enable = "avx512f,gfni")]
fn affine(v: __m512i, mat: __m512i) -> __m512i {
    _mm512_gf2p8affine_epi64_epi8::<0>(v, mat)
}

/// The 64 bytes at `s[off..off + 64]`.
#[inline]
#[target_feature(enable = "avx512f")]
fn load_full(s: &[u8], off: usize) -> __m512i {
    debug_assert!(off + 64 <= s.len());
    // SAFETY: `pass` asserted `s.len() >= len` and calls this only with
    // `off + 64 <= full <= len`, so the 64 bytes are in bounds; the load has no alignment
    // requirement.
    unsafe { _mm512_loadu_si512(s.as_ptr().add(off).cast()) }
}

/// Stores `v` to `s[off..off + 64]`.
#[inline]
#[target_feature(enable = "avx512f")]
fn store_full(s: &mut [u8], off: usize, v: __m512i) {
    debug_assert!(off + 64 <= s.len());
    // SAFETY: as in `load_full`, `off + 64 <= s.len()`; no alignment requirement.
    unsafe { _mm512_storeu_si512(s.as_mut_ptr().add(off).cast(), v) }
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
