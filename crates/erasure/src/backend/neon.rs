//! The NEON backend (aarch64 Advanced SIMD).
//!
//! Algorithm (split-nibble table lookup, ISA-L's pshufb method on `tbl`). `c * x` equals
//! `c * (x & 0x0F) ^ c * (x & 0xF0)`, and each half takes one of 16 values, so two 16-byte
//! tables per coefficient ([`NIBBLE_TABLE`]) and two `vqtbl1q_u8` lookups multiply 16 bytes.
//! For a group of up to [`GROUP`] outputs and each 64-byte column of the shards, every source
//! column is loaded once, split into nibbles once, and looked up in each output's tables:
//!
//! ```text
//! for each source j:  lo, hi = v & 0x0F, v >> 4              (4 vectors of 16 bytes)
//!   for each output r: acc[r] ^= tbl(T_lo[r][j], lo) ^ tbl(T_hi[r][j], hi)
//! ```
//!
//! The tables are loaded once per (source, output) per 64 bytes and serve four vectors. Tails
//! shorter than 64 bytes go through a zero-padded 64-byte copy on the stack (safe, and the
//! shard outside its length is never touched).

use core::arch::aarch64::{
    uint8x16_t, vandq_u8, vdupq_n_u8, veorq_u8, vld1q_u8, vqtbl1q_u8, vshrq_n_u8, vst1q_u8,
};

use crate::Error;
use crate::engine::{Backend, ErasureCoder, check_dot_prod, check_mul_acc};
use crate::gf::NIBBLE_TABLE;

/// The NEON backend. A value exists only on CPUs with NEON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Neon {
    _detected: (),
}

impl Neon {
    /// The CPU features this backend needs.
    pub const FEATURES: &'static [&'static str] = &["neon"];

    /// The backend, if this CPU supports it.
    pub fn new() -> Option<Self> {
        crate::detect::neon().then_some(Self { _detected: () })
    }

    /// The backend without detection.
    ///
    /// # Safety
    /// The running CPU must support NEON.
    pub const unsafe fn new_unchecked() -> Self {
        Self { _detected: () }
    }
}

impl ErasureCoder for Neon {
    fn backend(&self) -> Backend {
        Backend::Neon
    }

    fn dot_prod(&self, coeffs: &[u8], srcs: &[&[u8]], outs: &mut [&mut [u8]]) -> Result<(), Error> {
        let len = check_dot_prod(coeffs, srcs, outs)?;
        // SAFETY: a `Neon` value exists only after detection or the caller's promise, so the
        // CPU has NEON.
        unsafe { kernel(coeffs, srcs, outs, len, false) };
        Ok(())
    }

    fn mul_acc(&self, coeffs: &[u8], src: &[u8], outs: &mut [&mut [u8]]) -> Result<(), Error> {
        let len = check_mul_acc(coeffs, src, outs)?;
        // SAFETY: as in `dot_prod`.
        unsafe { kernel(coeffs, &[src], outs, len, true) };
        Ok(())
    }
}

/// Outputs per pass over the sources.
const GROUP: usize = 4;

type Block = [uint8x16_t; 4];

#[target_feature(enable = "neon")]
fn kernel(coeffs: &[u8], srcs: &[&[u8]], outs: &mut [&mut [u8]], len: usize, accumulate: bool) {
    for_each_group!(pass, GROUP [1 2 3]; coeffs, srcs, outs, len, accumulate);
}

#[inline]
#[target_feature(enable = "neon")]
fn pass<const R: usize>(
    rows: &[u8],
    srcs: &[&[u8]],
    outs: &mut [&mut [u8]],
    len: usize,
    accumulate: bool,
) {
    debug_assert!(outs.len() == R && rows.len() == R * srcs.len());
    let k = srcs.len();
    let low_mask = vdupq_n_u8(0x0F);
    let mut off = 0;
    while off < len {
        let zero = vdupq_n_u8(0);
        let mut acc: [Block; R] = [[zero; 4]; R];
        if accumulate {
            for (a, out) in acc.iter_mut().zip(outs.iter()) {
                *a = load_at(out, off);
            }
        }
        for (j, src) in srcs.iter().enumerate() {
            let v = load_at(src, off);
            let lo = v.map(|x| vandq_u8(x, low_mask));
            let hi = v.map(|x| vshrq_n_u8::<4>(x));
            for (r, a) in acc.iter_mut().enumerate() {
                let table = &NIBBLE_TABLE[usize::from(rows[r * k + j])];
                let (t_lo, t_hi) = table.split_at(16);
                let t_lo = load16(t_lo);
                let t_hi = load16(t_hi);
                for ((x, l), h) in a.iter_mut().zip(lo).zip(hi) {
                    *x = veorq_u8(*x, veorq_u8(vqtbl1q_u8(t_lo, l), vqtbl1q_u8(t_hi, h)));
                }
            }
        }
        for (a, out) in acc.iter().zip(outs.iter_mut()) {
            store_at(out, off, a);
        }
        off += 64;
    }
}

/// The 64 bytes at `off` (zero-padded past the end of `s`).
#[inline]
#[target_feature(enable = "neon")]
fn load_at(s: &[u8], off: usize) -> Block {
    let rest = s.get(off..).unwrap_or_default();
    match rest.first_chunk::<64>() {
        Some(block) => load_block(block),
        None => load_tail(rest),
    }
}

#[inline]
#[target_feature(enable = "neon")]
fn load_block(block: &[u8; 64]) -> Block {
    let (chunks, _) = block.as_chunks::<16>();
    core::array::from_fn(|i| load(&chunks[i]))
}

/// Fewer than 64 bytes, through a zero-padded copy (kept out of the hot loop).
#[cold]
#[target_feature(enable = "neon")]
fn load_tail(rest: &[u8]) -> Block {
    let mut padded = [0u8; 64];
    let n = rest.len().min(64);
    padded[..n].copy_from_slice(&rest[..n]);
    load_block(&padded)
}

/// Stores the block at `off`, only as many bytes as remain in `s`.
#[inline]
#[target_feature(enable = "neon")]
fn store_at(s: &mut [u8], off: usize, v: &Block) {
    let rest = s.get_mut(off..).unwrap_or_default();
    if let Some(block) = rest.first_chunk_mut::<64>() {
        for (c, x) in block.as_chunks_mut::<16>().0.iter_mut().zip(v) {
            store(c, *x);
        }
        return;
    }
    let mut padded = [0u8; 64];
    for (c, x) in padded.as_chunks_mut::<16>().0.iter_mut().zip(v) {
        store(c, *x);
    }
    let n = rest.len();
    rest.copy_from_slice(&padded[..n]);
}

/// A 16-byte table from a slice that is known to hold 16 bytes.
#[inline]
#[target_feature(enable = "neon")]
fn load16(t: &[u8]) -> uint8x16_t {
    match t.first_chunk::<16>() {
        Some(t) => load(t),
        None => vdupq_n_u8(0),
    }
}

#[inline]
#[target_feature(enable = "neon")]
fn load(block: &[u8; 16]) -> uint8x16_t {
    // SAFETY: `block` is 16 readable bytes; the load has no alignment requirement.
    unsafe { vld1q_u8(block.as_ptr()) }
}

#[inline]
#[target_feature(enable = "neon")]
fn store(block: &mut [u8; 16], v: uint8x16_t) {
    // SAFETY: `block` is 16 writable bytes; the store has no alignment requirement.
    unsafe { vst1q_u8(block.as_mut_ptr(), v) }
}
