//! The portable backend: safe Rust, always available, the oracle every other backend must
//! match bit for bit. It is the definition written out: per element, a left fold over the
//! inputs in input order with the per-element semantics of [`Element`].

#![forbid(unsafe_code)]

use crate::engine::{Job, Phase};
use crate::types::Params;
use crate::{Backend, DType, E4M3, E5M2, Element, Op, Reducer};
use crate::{Bf16, F16};

/// Portable safe Rust, always available.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scalar;

impl Reducer for Scalar {
    fn backend(&self) -> Backend {
        Backend::Scalar
    }

    fn fused<T: Element>(&self, job: &Job, inputs: &[&[T]], out: &mut [T], in_place: bool) {
        fused(job, inputs, out, in_place);
    }

    fn fused_bytes(&self, job: &Job, inputs: &[&[u8]], out: &mut [u8], in_place: bool) {
        by_dtype!(job.dtype, fused_le, job, inputs, out, in_place);
    }

    fn stream<T: Element>(&self, job: &Job, phase: Phase<'_, T>) {
        stream(job, phase);
    }
}

/// Calls `$f::<E>(args)` with `E` the element type of `$dtype`.
macro_rules! by_dtype {
    ($dtype:expr, $f:ident, $($arg:expr),*) => {
        match $dtype {
            DType::U8 => $f::<u8>($($arg),*),
            DType::I8 => $f::<i8>($($arg),*),
            DType::U16 => $f::<u16>($($arg),*),
            DType::I16 => $f::<i16>($($arg),*),
            DType::U32 => $f::<u32>($($arg),*),
            DType::I32 => $f::<i32>($($arg),*),
            DType::U64 => $f::<u64>($($arg),*),
            DType::I64 => $f::<i64>($($arg),*),
            DType::F16 => $f::<F16>($($arg),*),
            DType::Bf16 => $f::<Bf16>($($arg),*),
            DType::F32 => $f::<f32>($($arg),*),
            DType::F64 => $f::<f64>($($arg),*),
            DType::Fp8E4M3 => $f::<E4M3>($($arg),*),
            DType::Fp8E5M2 => $f::<E5M2>($($arg),*),
        }
    };
}
use by_dtype;

/// The inputs after the first (all of them when the output is input 0).
fn rest<'a, T>(inputs: &'a [&'a [T]], in_place: bool) -> &'a [&'a [T]] {
    if in_place {
        inputs
    } else {
        inputs.get(1..).unwrap_or(&[])
    }
}

/// Per element: `acc = prep(x0)`, `acc = acc op prep(xi)` for i = 1, 2, …, then
/// `out = narrow(fin(acc))`.
pub(crate) fn fused<T: Element>(job: &Job, inputs: &[&[T]], out: &mut [T], in_place: bool) {
    let (op, p) = (job.op, &job.p);
    let others = rest(inputs, in_place);
    for j in 0..out.len() {
        let x0 = if in_place { out[j] } else { inputs[0][j] };
        let mut acc = x0.widen().prep(op, p);
        for x in others {
            acc = acc.comb(x[j].widen().prep(op, p), op);
        }
        out[j] = T::narrow(acc.fin(op, p), p.sat);
    }
}

/// [`fused`] over little-endian bytes: the same per-element steps, 64 elements at a time
/// through a stack accumulator (the per-element order is unchanged, so the bits are too).
fn fused_le<E: Element>(job: &Job, inputs: &[&[u8]], out: &mut [u8], in_place: bool) {
    const CHUNK: usize = 64;
    let (op, p) = (job.op, &job.p);
    let size = E::DTYPE.size();
    let others = rest(inputs, in_place);
    let mut acc = [E::Acc::default(); CHUNK];
    let mut lo = 0;
    while lo < out.len() {
        let hi = out.len().min(lo + CHUNK * size);
        let first: &[u8] = if in_place {
            &out[lo..hi]
        } else {
            &inputs[0][lo..hi]
        };
        for (a, b) in acc.iter_mut().zip(first.chunks_exact(size)) {
            *a = E::read_le(b).widen().prep(op, p);
        }
        for x in others {
            for (a, b) in acc.iter_mut().zip(x[lo..hi].chunks_exact(size)) {
                *a = a.comb(E::read_le(b).widen().prep(op, p), op);
            }
        }
        for (a, b) in acc.iter().zip(out[lo..hi].chunks_exact_mut(size)) {
            E::narrow(a.fin(op, p), p.sat).write_le(b);
        }
        lo = hi;
    }
}

/// The streaming steps; `settle` keeps float NaN accumulators canonical so the
/// accumulator's bits are backend-independent after every step.
pub(crate) fn stream<T: Element>(job: &Job, phase: Phase<'_, T>) {
    let (op, p) = (job.op, &job.p);
    match phase {
        Phase::Begin(x, acc) => {
            for (a, &v) in acc.iter_mut().zip(x) {
                *a = v.widen().prep(op, p).settle(op);
            }
        }
        Phase::Accumulate(x, acc) => {
            for (a, &v) in acc.iter_mut().zip(x) {
                *a = a.comb(v.widen().prep(op, p), op).settle(op);
            }
        }
        Phase::Finish(acc, out) => {
            for (o, a) in out.iter_mut().zip(acc) {
                *o = T::narrow(a.fin(op, p), p.sat);
            }
        }
    }
}

/// The integer AVG division over little-endian bytes already holding the wrapped sums (the
/// SIMD backends vectorise the sum and finish with this).
#[cfg_attr(
    not(any(
        all(target_arch = "x86_64", target_feature = "sse2"),
        all(target_arch = "aarch64", target_endian = "little")
    )),
    expect(dead_code, reason = "only the SIMD backends use it")
)]
pub(crate) fn int_avg_bytes(dtype: DType, p: &Params, out: &mut [u8]) {
    fn div<E: Element>(p: &Params, out: &mut [u8]) {
        let size = E::DTYPE.size();
        for b in out.chunks_exact_mut(size) {
            E::read_le(b).fin(Op::Avg, p).write_le(b);
        }
    }
    by_dtype!(dtype, div, p, out);
}

/// MINLOC/MAXLOC: per element, a left fold keeping the pair with the better key, the lower
/// index on equal keys.
pub(crate) fn loc<T: Element>(
    op: Op,
    values: &[&[T]],
    indices: &[&[u32]],
    out: &mut [T],
    out_indices: &mut [u32],
) {
    let max = op == Op::MaxLoc;
    for j in 0..out.len() {
        let mut wv = values[0][j];
        let mut wi = indices[0][j];
        let mut wk = wv.loc_key(op);
        for (v, ix) in values.iter().zip(indices).skip(1) {
            let (cv, ci) = (v[j], ix[j]);
            let ck = cv.loc_key(op);
            let better = if max { ck > wk } else { ck < wk };
            if better || (ck == wk && ci < wi) {
                (wv, wi, wk) = (cv, ci, ck);
            }
        }
        out[j] = wv;
        out_indices[j] = wi;
    }
}
