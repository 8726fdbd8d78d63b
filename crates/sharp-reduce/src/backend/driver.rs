//! What every SIMD backend's kernels share: the format and operation constants their const
//! generics take, the dispatch from a job to a monomorphised kernel ([`by_job!`]), and the
//! drivers around the kernels ([`drivers!`]: streaming in and out, the typed and byte-level
//! entry points).
//!
//! The drivers are safe code, the same for every backend, but each must be compiled under
//! its backend's `#[target_feature]` so that the lane functions it calls inline into it; a
//! macro expanded in the backend's module gives one source with one compiled copy per
//! backend. It names the backend's own lane functions (`load`, `prep`, `comb`, `settle`,
//! `store`, `load_acc`, `store_acc`, `konst`, `step`, `acc_step`, `fused`) and byte views
//! (`bytes_of`, `bytes_of_mut`), which each backend module defines.

#![forbid(unsafe_code)]

use crate::{DType, Op};

// Formats are `DType` discriminants, operations `Op` discriminants.
pub(crate) const U8: u8 = DType::U8 as u8;
pub(crate) const I8: u8 = DType::I8 as u8;
pub(crate) const U16: u8 = DType::U16 as u8;
pub(crate) const I16: u8 = DType::I16 as u8;
pub(crate) const U32: u8 = DType::U32 as u8;
pub(crate) const I32: u8 = DType::I32 as u8;
pub(crate) const U64: u8 = DType::U64 as u8;
pub(crate) const I64: u8 = DType::I64 as u8;
pub(crate) const F16: u8 = DType::F16 as u8;
pub(crate) const BF16: u8 = DType::Bf16 as u8;
pub(crate) const F32: u8 = DType::F32 as u8;
pub(crate) const F64: u8 = DType::F64 as u8;
pub(crate) const E4M3: u8 = DType::Fp8E4M3 as u8;
pub(crate) const E5M2: u8 = DType::Fp8E5M2 as u8;

pub(crate) const SUM: u8 = Op::Sum as u8;
pub(crate) const PROD: u8 = Op::Prod as u8;
pub(crate) const MIN: u8 = Op::Min as u8;
pub(crate) const MAX: u8 = Op::Max as u8;
pub(crate) const AVG: u8 = Op::Avg as u8;
pub(crate) const BAND: u8 = Op::Band as u8;
pub(crate) const BOR: u8 = Op::Bor as u8;
pub(crate) const BXOR: u8 = Op::Bxor as u8;
pub(crate) const LAND: u8 = Op::Land as u8;
pub(crate) const LOR: u8 = Op::Lor as u8;
pub(crate) const LXOR: u8 = Op::Lxor as u8;

/// Calls `$f::<F, OP, _>($args)` for the format `$dtype` and operation `$op`; integer AVG
/// runs as SUM (the caller divides afterwards). With `T::DTYPE` as `$dtype` the match is on
/// a constant, and only the matching arm is instantiated.
macro_rules! by_job {
    ($f:ident, $dtype:expr, $op:expr, $($arg:expr),*) => {
        match $dtype {
            DType::U8 => $crate::backend::driver::by_job!(@int $f, U8, $op, $($arg),*),
            DType::I8 => $crate::backend::driver::by_job!(@int $f, I8, $op, $($arg),*),
            DType::U16 => $crate::backend::driver::by_job!(@int $f, U16, $op, $($arg),*),
            DType::I16 => $crate::backend::driver::by_job!(@int $f, I16, $op, $($arg),*),
            DType::U32 => $crate::backend::driver::by_job!(@int $f, U32, $op, $($arg),*),
            DType::I32 => $crate::backend::driver::by_job!(@int $f, I32, $op, $($arg),*),
            DType::U64 => $crate::backend::driver::by_job!(@int $f, U64, $op, $($arg),*),
            DType::I64 => $crate::backend::driver::by_job!(@int $f, I64, $op, $($arg),*),
            DType::F16 => $crate::backend::driver::by_job!(@float $f, F16, $op, $($arg),*),
            DType::Bf16 => $crate::backend::driver::by_job!(@float $f, BF16, $op, $($arg),*),
            DType::F32 => $crate::backend::driver::by_job!(@float $f, F32, $op, $($arg),*),
            DType::F64 => $crate::backend::driver::by_job!(@float $f, F64, $op, $($arg),*),
            DType::Fp8E4M3 => $crate::backend::driver::by_job!(@float $f, E4M3, $op, $($arg),*),
            DType::Fp8E5M2 => $crate::backend::driver::by_job!(@float $f, E5M2, $op, $($arg),*),
        }
    };
    (@int $f:ident, $F:ident, $op:expr, $($arg:expr),*) => {
        match $op {
            Op::Sum | Op::Avg => $f::<$F, SUM, _>($($arg),*),
            Op::Prod => $f::<$F, PROD, _>($($arg),*),
            Op::Min => $f::<$F, MIN, _>($($arg),*),
            Op::Max => $f::<$F, MAX, _>($($arg),*),
            Op::Band => $f::<$F, BAND, _>($($arg),*),
            Op::Bor => $f::<$F, BOR, _>($($arg),*),
            Op::Bxor => $f::<$F, BXOR, _>($($arg),*),
            Op::Land => $f::<$F, LAND, _>($($arg),*),
            Op::Lor => $f::<$F, LOR, _>($($arg),*),
            Op::Lxor => $f::<$F, LXOR, _>($($arg),*),
            Op::MinLoc | Op::MaxLoc => return false,
        }
    };
    (@float $f:ident, $F:ident, $op:expr, $($arg:expr),*) => {
        match $op {
            Op::Sum => $f::<$F, SUM, _>($($arg),*),
            Op::Prod => $f::<$F, PROD, _>($($arg),*),
            Op::Min => $f::<$F, MIN, _>($($arg),*),
            Op::Max => $f::<$F, MAX, _>($($arg),*),
            Op::Avg => $f::<$F, AVG, _>($($arg),*),
            _ => return false,
        }
    };
}

pub(crate) use by_job;

/// Expands, in a SIMD backend's module, to its drivers (`stream_in`, `stream_out`,
/// `fused_typed`, `fused_le`, `stream_any`), each under `#[target_feature(enable =
/// $features)]`; `$tail` is the byte size of the stack buffers that take a tail shorter than
/// a step (at least one step of input and of accumulator).
macro_rules! drivers {
    ($features:literal, $tail:literal) => {
        /// Streaming begin (`add == false`: `acc = prep(x)`) or accumulate (`acc = acc op prep(x)`).
        #[target_feature(enable = $features)]
        fn stream_in<const F: u8, const OP: u8, T: Element>(
            p: &Params,
            add: bool,
            x: &[T],
            acc: &mut [T::Acc],
        ) {
            let k = konst(p);
            let (x, acc) = (bytes_of(x), bytes_of_mut(acc));
            let (s, a) = (step(F), acc_step(F));
            let steps = x.len() / s;
            for i in 0..steps {
                let v = prep::<F, OP>(load::<F>(&x[i * s..(i + 1) * s]), &k);
                let slot = &mut acc[i * a..(i + 1) * a];
                let v = if add {
                    comb::<F, OP>(load_acc::<F>(slot), v)
                } else {
                    v
                };
                store_acc::<F>(settle::<F, OP>(v), slot);
            }
            let (xt, at) = (x.len() - steps * s, acc.len() - steps * a);
            if xt > 0 {
                let (mut xb, mut ab) = ([0u8; $tail], [0u8; $tail]);
                xb[..xt].copy_from_slice(&x[steps * s..]);
                ab[..at].copy_from_slice(&acc[steps * a..]);
                let v = prep::<F, OP>(load::<F>(&xb[..s]), &k);
                let v = if add {
                    comb::<F, OP>(load_acc::<F>(&ab[..a]), v)
                } else {
                    v
                };
                store_acc::<F>(settle::<F, OP>(v), &mut ab[..a]);
                acc[steps * a..].copy_from_slice(&ab[..at]);
            }
        }

        /// Streaming finish: `out = round(settle(acc))` (the integer AVG division follows).
        #[target_feature(enable = $features)]
        fn stream_out<const F: u8, const OP: u8, T: Element>(
            p: &Params,
            acc: &[T::Acc],
            out: &mut [T],
        ) {
            let (acc, out) = (bytes_of(acc), bytes_of_mut(out));
            let (s, a) = (step(F), acc_step(F));
            let steps = out.len() / s;
            for i in 0..steps {
                let v = settle::<F, OP>(load_acc::<F>(&acc[i * a..(i + 1) * a]));
                store::<F>(v, p.sat, &mut out[i * s..(i + 1) * s]);
            }
            let (ot, at) = (out.len() - steps * s, acc.len() - steps * a);
            if ot > 0 {
                let (mut ob, mut ab) = ([0u8; $tail], [0u8; $tail]);
                ab[..at].copy_from_slice(&acc[steps * a..]);
                let v = settle::<F, OP>(load_acc::<F>(&ab[..a]));
                store::<F>(v, p.sat, &mut ob[..s]);
                out[steps * s..].copy_from_slice(&ob[..ot]);
            }
        }

        /// The fused kernel for a typed call (`T` is the element type); `false` if the combination
        /// has no kernel here (the caller falls back to scalar).
        #[target_feature(enable = $features)]
        fn fused_typed<T: Element>(
            job: &Job,
            inputs: &[&[T]],
            out: &mut [T],
            in_place: bool,
        ) -> bool {
            $crate::backend::driver::by_job!(
                fused,
                T::DTYPE,
                job.op,
                &job.p,
                inputs,
                out,
                in_place
            );
            if job.op == Op::Avg && !T::DTYPE.is_float() {
                scalar::int_avg_bytes(job.dtype, &job.p, bytes_of_mut(out));
            }
            true
        }

        /// The fused kernel for a byte-level call (format from the job).
        #[target_feature(enable = $features)]
        fn fused_le(job: &Job, inputs: &[&[u8]], out: &mut [u8], in_place: bool) -> bool {
            $crate::backend::driver::by_job!(
                fused, job.dtype, job.op, &job.p, inputs, out, in_place
            );
            if job.op == Op::Avg && !job.dtype.is_float() {
                scalar::int_avg_bytes(job.dtype, &job.p, out);
            }
            true
        }

        #[target_feature(enable = $features)]
        fn stream_any<T: Element>(job: &Job, phase: Phase<'_, T>) -> bool {
            match phase {
                Phase::Begin(x, acc) => $crate::backend::driver::by_job!(
                    stream_in,
                    T::DTYPE,
                    job.op,
                    &job.p,
                    false,
                    x,
                    acc
                ),
                Phase::Accumulate(x, acc) => {
                    $crate::backend::driver::by_job!(
                        stream_in,
                        T::DTYPE,
                        job.op,
                        &job.p,
                        true,
                        x,
                        acc
                    );
                }
                Phase::Finish(acc, out) => {
                    $crate::backend::driver::by_job!(
                        stream_out,
                        T::DTYPE,
                        job.op,
                        &job.p,
                        acc,
                        out
                    );
                    if job.op == Op::Avg && !T::DTYPE.is_float() {
                        scalar::int_avg_bytes(job.dtype, &job.p, bytes_of_mut(out));
                    }
                }
            }
            true
        }
    };
}
pub(crate) use drivers;
