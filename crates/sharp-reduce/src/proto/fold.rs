//! Byte-level plumbing between a slot's storage and the crate's kernels.
//!
//! Arrival-order mode keeps one accumulator per element: the element type itself for
//! integers, f32 and f64 (folded with `reduce_bytes` / `reduce_into_bytes`, which for the
//! operations the protocol carries is exactly the streaming `begin` / `accumulate`), and
//! f32 for f16, bf16 and FP8 (the typed streaming API over 64-element blocks copied through
//! the stack), rounded once by `finish`.

use crate::{Bf16, DType, E4M3, E5M2, Element, Error, F16, Reducer, Reduction};

/// Elements per stack block on the narrow-type path.
const BLOCK: usize = 64;

/// Bytes per accumulator element: 4 (f32) for the narrow floats, the element size otherwise.
pub(crate) const fn acc_size(dtype: DType) -> usize {
    if dtype.is_narrow_float() {
        4
    } else {
        dtype.size()
    }
}

/// `acc = x` (`first`) or `acc = acc op x`, with `inputs` the node's fan-in.
pub(crate) fn absorb<R: Reducer>(
    r: &R,
    red: Reduction,
    dtype: DType,
    inputs: usize,
    first: bool,
    x: &[u8],
    acc: &mut [u8],
) -> Result<(), Error> {
    match dtype {
        DType::F16 => absorb_narrow::<F16, R>(r, red, inputs, first, x, acc),
        DType::Bf16 => absorb_narrow::<Bf16, R>(r, red, inputs, first, x, acc),
        DType::Fp8E4M3 => absorb_narrow::<E4M3, R>(r, red, inputs, first, x, acc),
        DType::Fp8E5M2 => absorb_narrow::<E5M2, R>(r, red, inputs, first, x, acc),
        _ if first => r.reduce_bytes(red, dtype, &[x], acc),
        _ => r.reduce_into_bytes(red, dtype, acc, &[x]),
    }
}

/// `out = finish(acc)`: rounds the f32 accumulators of a narrow type once, copies the
/// others.
pub(crate) fn finish<R: Reducer>(
    r: &R,
    red: Reduction,
    dtype: DType,
    inputs: usize,
    acc: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    match dtype {
        DType::F16 => finish_narrow::<F16, R>(r, red, inputs, acc, out),
        DType::Bf16 => finish_narrow::<Bf16, R>(r, red, inputs, acc, out),
        DType::Fp8E4M3 => finish_narrow::<E4M3, R>(r, red, inputs, acc, out),
        DType::Fp8E5M2 => finish_narrow::<E5M2, R>(r, red, inputs, acc, out),
        _ => {
            if acc.len() != out.len() {
                return Err(Error::LengthMismatch {
                    input: 0,
                    expected: out.len(),
                    found: acc.len(),
                });
            }
            out.copy_from_slice(acc);
            Ok(())
        }
    }
}

fn absorb_narrow<T: Element<Acc = f32>, R: Reducer>(
    r: &R,
    red: Reduction,
    inputs: usize,
    first: bool,
    x: &[u8],
    acc: &mut [u8],
) -> Result<(), Error> {
    let size = T::DTYPE.size();
    let n = x.len().checked_div(size).unwrap_or(0);
    if acc.len() != n.saturating_mul(4) || x.len() != n.saturating_mul(size) {
        return Err(Error::LengthMismatch {
            input: 0,
            expected: n.saturating_mul(4),
            found: acc.len(),
        });
    }
    for (xb, ab) in x
        .chunks(BLOCK.saturating_mul(size))
        .zip(acc.chunks_mut(BLOCK.saturating_mul(4)))
    {
        let mut xs = [T::default(); BLOCK];
        let mut accs = [0f32; BLOCK];
        let mut k = 0usize;
        for (d, s) in xs.iter_mut().zip(xb.chunks_exact(size)) {
            *d = T::read_le(s);
            k = k.saturating_add(1);
        }
        if !first {
            for (d, s) in accs.iter_mut().zip(ab.chunks_exact(4)) {
                *d = f32::from_le_bytes(rd4(s));
            }
        }
        let (Some(xs), Some(accs)) = (xs.get(..k), accs.get_mut(..k)) else {
            continue;
        };
        if first {
            r.begin(red, inputs, xs, accs)?;
        } else {
            r.accumulate(red, inputs, xs, accs)?;
        }
        for (d, s) in ab.chunks_exact_mut(4).zip(accs.iter()) {
            d.copy_from_slice(&s.to_le_bytes());
        }
    }
    Ok(())
}

fn finish_narrow<T: Element<Acc = f32>, R: Reducer>(
    r: &R,
    red: Reduction,
    inputs: usize,
    acc: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    let size = T::DTYPE.size();
    let n = out.len().checked_div(size).unwrap_or(0);
    if acc.len() != n.saturating_mul(4) || out.len() != n.saturating_mul(size) {
        return Err(Error::LengthMismatch {
            input: 0,
            expected: n.saturating_mul(4),
            found: acc.len(),
        });
    }
    for (ab, ob) in acc
        .chunks(BLOCK.saturating_mul(4))
        .zip(out.chunks_mut(BLOCK.saturating_mul(size)))
    {
        let mut accs = [0f32; BLOCK];
        let mut ys = [T::default(); BLOCK];
        let mut k = 0usize;
        for (d, s) in accs.iter_mut().zip(ab.chunks_exact(4)) {
            *d = f32::from_le_bytes(rd4(s));
            k = k.saturating_add(1);
        }
        let (Some(accs), Some(ys)) = (accs.get(..k), ys.get_mut(..k)) else {
            continue;
        };
        r.finish(red, inputs, accs, ys)?;
        for (d, y) in ob.chunks_exact_mut(size).zip(ys.iter()) {
            y.write_le(d);
        }
    }
    Ok(())
}

/// The first four bytes of `s` (zeros where short).
fn rd4(s: &[u8]) -> [u8; 4] {
    let mut a = [0u8; 4];
    for (d, b) in a.iter_mut().zip(s) {
        *d = *b;
    }
    a
}
