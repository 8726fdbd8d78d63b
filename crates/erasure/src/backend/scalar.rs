//! The portable backend: safe Rust, always available, the oracle for the others.
//!
//! Algorithm (bit-sliced doubling in 64-bit words). `c * x` is the XOR of `x * 2^b` over the
//! set bits `b` of `c`. For one source strip of 128 bytes (16 u64 words, eight bytes a word),
//! the planes `x, 2x, 4x, …` come from repeated SWAR doubling,
//! `2x = ((x & 0x7F..) << 1) ^ (0x1D in each byte whose top bit was set)`, and each output
//! of the group XORs in the planes its coefficient selects. The planes are shared by up to
//! [`GROUP`] outputs, so a source strip is loaded and doubled once per group. The branches
//! depend on the (public) coefficients only. The word loops are plain array code that the compiler
//! vectorises for whatever the target has.

#![forbid(unsafe_code)]

use crate::Error;
use crate::engine::{Backend, ErasureCoder, check_dot_prod, check_mul_acc};

/// The portable backend. Always available.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scalar;

impl ErasureCoder for Scalar {
    fn backend(&self) -> Backend {
        Backend::Scalar
    }

    fn dot_prod(&self, coeffs: &[u8], srcs: &[&[u8]], outs: &mut [&mut [u8]]) -> Result<(), Error> {
        let len = check_dot_prod(coeffs, srcs, outs)?;
        kernel(coeffs, srcs, outs, len, false);
        Ok(())
    }

    fn mul_acc(&self, coeffs: &[u8], src: &[u8], outs: &mut [&mut [u8]]) -> Result<(), Error> {
        let len = check_mul_acc(coeffs, src, outs)?;
        kernel(coeffs, &[src], outs, len, true);
        Ok(())
    }
}

/// u64 words per strip. 16 (128 bytes) measured about 10 % faster than 32 on this machine
/// (best of four runs; the four accumulators of a group then take 512 bytes of stack).
const WORDS: usize = 16;
/// Bytes per strip.
const STRIP: usize = WORDS * 8;
/// Outputs per pass over the sources.
const GROUP: usize = 4;

type Words = [u64; WORDS];

/// `outs[r] (^)= XOR_j coeffs[r * k + j] * srcs[j]`; with `accumulate` the outputs are XORed
/// into, otherwise overwritten. Shapes were checked by the caller.
fn kernel(coeffs: &[u8], srcs: &[&[u8]], outs: &mut [&mut [u8]], len: usize, accumulate: bool) {
    let k = srcs.len();
    if k == 0 {
        if !accumulate {
            outs.iter_mut().for_each(|o| o.fill(0));
        }
        return;
    }
    for (rows, group) in coeffs.chunks(GROUP * k).zip(outs.chunks_mut(GROUP)) {
        let mut start = 0;
        while start < len {
            let end = len.min(start + STRIP);
            let mut acc = [[0u64; WORDS]; GROUP];
            if accumulate {
                for (a, out) in acc.iter_mut().zip(group.iter()) {
                    *a = load(&out[start..end]);
                }
            }
            for (j, src) in srcs.iter().enumerate() {
                // Union of the coefficients' bits: which planes anyone needs.
                let mut bits = 0u32;
                for r in 0..group.len() {
                    bits |= u32::from(rows[r * k + j]);
                }
                let mut plane = load(&src[start..end]);
                let mut b = 0;
                while bits >> b != 0 {
                    for (r, a) in acc.iter_mut().enumerate().take(group.len()) {
                        if (rows[r * k + j] >> b) & 1 == 1 {
                            xor_into(a, &plane);
                        }
                    }
                    b += 1;
                    if bits >> b != 0 {
                        double(&mut plane);
                    }
                }
            }
            for (a, out) in acc.iter().zip(group.iter_mut()) {
                store(a, &mut out[start..end]);
            }
            start = end;
        }
    }
}

/// Loads up to a strip of bytes as little-endian words, zero-padded.
#[inline(always)]
fn load(bytes: &[u8]) -> Words {
    let mut padded = [0u8; STRIP];
    let src = if let Ok(full) = <&[u8; STRIP]>::try_from(bytes) {
        full
    } else {
        padded[..bytes.len()].copy_from_slice(bytes);
        &padded
    };
    let mut w = [0u64; WORDS];
    for (word, chunk) in w.iter_mut().zip(src.as_chunks::<8>().0) {
        *word = u64::from_le_bytes(*chunk);
    }
    w
}

/// Stores the first `bytes.len()` bytes of the words.
#[inline(always)]
fn store(w: &Words, bytes: &mut [u8]) {
    let (chunks, tail) = bytes.as_chunks_mut::<8>();
    for (chunk, word) in chunks.iter_mut().zip(w) {
        *chunk = word.to_le_bytes();
    }
    if let Some(word) = w.get(chunks.len()) {
        let n = tail.len();
        tail.copy_from_slice(&word.to_le_bytes()[..n]);
    }
}

#[inline(always)]
fn xor_into(a: &mut Words, b: &Words) {
    for (x, y) in a.iter_mut().zip(b) {
        *x ^= y;
    }
}

/// Multiplies every byte by 2 in GF(2^8) (0x11D): shift left within each byte, then XOR 0x1D
/// into the bytes whose top bit fell out. The per-byte mask is `(t << 1) - (t >> 7)` with
/// `t` the top bits, which is 0xFF exactly in those bytes (no borrow crosses a byte; the top
/// byte's `2^64` wraps to the same result). Spelled this way rather than `(t >> 7) * 0x1D`
/// because a 64-bit multiply has no SSE2/NEON form: LLVM emulated it with three `pmuludq`
/// per vector.
#[inline(always)]
fn double(w: &mut Words) {
    for x in w.iter_mut() {
        let top = *x & 0x8080_8080_8080_8080;
        let mask = (top << 1).wrapping_sub(top >> 7);
        *x = ((*x & 0x7F7F_7F7F_7F7F_7F7F) << 1) ^ (mask & 0x1D1D_1D1D_1D1D_1D1D);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gf;

    #[test]
    fn double_matches_field() {
        let bytes: [u8; STRIP] = core::array::from_fn(|i| i as u8);
        let mut w = load(&bytes);
        double(&mut w);
        let mut out = [0u8; STRIP];
        store(&w, &mut out);
        for (i, &b) in out.iter().enumerate() {
            assert_eq!(b, gf::mul(2, i as u8));
        }
    }

    #[test]
    fn short_strips_roundtrip() {
        for n in 0..20 {
            let bytes: [u8; 20] = core::array::from_fn(|i| i as u8 + 1);
            let w = load(&bytes[..n]);
            let mut out = [0xAAu8; 20];
            store(&w, &mut out[..n]);
            assert_eq!(out[..n], bytes[..n]);
            assert!(out[n..].iter().all(|&b| b == 0xAA));
        }
    }
}
