//! The backend selector ([`Backend`]), the engine trait ([`Reducer`]) and the run-time
//! dispatcher ([`Auto`]).
//!
//! Every public method of [`Reducer`] is written once here: it validates the call (before
//! anything is written) and hands the backend a checked job through one of two hidden
//! kernel methods. A backend only supplies kernels.

#![forbid(unsafe_code)]

#[cfg(all(target_arch = "aarch64", target_endian = "little"))]
use crate::backend::Neon;
use crate::backend::Scalar;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
use crate::backend::{Avx2, Avx512};
use crate::types::Params;
use crate::{DType, Element, Error, Fp8Mode, MAX_INPUTS, Op, Reduction};

/// Which implementation runs. Tests, benches and the CLI iterate [`Backend::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Portable safe Rust, always available: the oracle.
    Scalar,
    /// x86_64 with AVX-512F, AVX-512BW and AVX-512DQ (Intel Skylake-SP and later, AMD Zen 4
    /// and later), the OS saving the ZMM state: 512-bit kernels with masked tails.
    Avx512,
    /// x86_64 with AVX2 and F16C (Intel Haswell and later, AMD Zen and later).
    Avx2,
    /// aarch64 (little-endian) with NEON (every AArch64 CPU).
    Neon,
}

impl Backend {
    /// Every backend, fastest first.
    pub const ALL: [Backend; 4] = [
        Backend::Avx512,
        Backend::Avx2,
        Backend::Neon,
        Backend::Scalar,
    ];

    /// Lower-case name: `scalar`, `avx512`, `avx2`, `neon`.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            Backend::Avx512 => "avx512",
            Backend::Avx2 => "avx2",
            Backend::Neon => "neon",
        }
    }

    /// Whether this build contains the backend.
    pub const fn is_compiled(self) -> bool {
        match self {
            Backend::Scalar => true,
            Backend::Avx512 | Backend::Avx2 => {
                cfg!(all(target_arch = "x86_64", target_feature = "sse2"))
            }
            Backend::Neon => cfg!(all(target_arch = "aarch64", target_endian = "little")),
        }
    }

    /// CPU features the backend needs (names as `is_x86_feature_detected!` and
    /// `is_aarch64_feature_detected!` spell them).
    pub const fn features(self) -> &'static [&'static str] {
        match self {
            Backend::Scalar => &[],
            Backend::Avx512 => &["avx512f", "avx512bw", "avx512dq"],
            Backend::Avx2 => &["avx2", "f16c"],
            Backend::Neon => &["neon"],
        }
    }
}

impl core::fmt::Display for Backend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// A validated call, handed to a backend's kernels. Internal.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Job {
    pub(crate) op: Op,
    pub(crate) dtype: DType,
    pub(crate) p: Params,
}

/// One step of the streaming API, handed to a backend's kernels. Internal.
#[doc(hidden)]
#[derive(Debug)]
pub enum Phase<'a, T: Element> {
    /// `acc = prep(x)`.
    Begin(&'a [T], &'a mut [T::Acc]),
    /// `acc = acc op prep(x)`.
    Accumulate(&'a [T], &'a mut [T::Acc]),
    /// `out = round(fin(acc))`.
    Finish(&'a [T::Acc], &'a mut [T]),
}

/// The reduction engine. Implemented by [`Scalar`], `Avx512`, `Avx2`, `Neon` and [`Auto`]; every
/// method gives identical bits on every backend.
///
/// **Canonical order.** Per element, inputs are combined left to right in input order,
/// `((x0 op x1) op x2) op …`; backends vectorise across elements only, never across inputs,
/// and never contract to FMA. f32 and f64 accumulate in their own type; f16, bf16 and FP8
/// widen exactly to f32, fold in f32 and round once (nearest even). See the crate docs for
/// NaN, ±0, AVG and overflow rules.
///
/// Every method validates the whole call before writing anything: on error, no output is
/// touched.
pub trait Reducer: Copy + core::fmt::Debug {
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// `out[j] = inputs[0][j] op inputs[1][j] op …` in one fused pass.
    ///
    /// # Errors
    /// [`Error::NoInputs`], [`Error::TooManyInputs`], [`Error::LengthMismatch`] (every input
    /// must be as long as `out`), [`Error::Unsupported`] (bitwise/logical on a float type;
    /// MINLOC/MAXLOC), [`Error::Fp8Mode`].
    fn reduce<T: Element>(
        &self,
        op: impl Into<Reduction>,
        inputs: &[&[T]],
        out: &mut [T],
    ) -> Result<(), Error> {
        let job = check(op.into(), T::DTYPE, inputs.len())?;
        check_lens(inputs.iter().map(|x| x.len()), out.len())?;
        self.fused(&job, inputs, out, false);
        Ok(())
    }

    /// In-place accumulate: `acc[j] = acc[j] op inputs[0][j] op …`, exactly
    /// [`reduce`](Reducer::reduce) with `acc` as input 0 and as the output (so AVG divides
    /// by `inputs.len() + 1`, and narrow floats are rounded once per call).
    ///
    /// # Errors
    /// As [`reduce`](Reducer::reduce); `inputs` may be empty.
    fn reduce_into<T: Element>(
        &self,
        op: impl Into<Reduction>,
        acc: &mut [T],
        inputs: &[&[T]],
    ) -> Result<(), Error> {
        let job = check(op.into(), T::DTYPE, inputs.len().saturating_add(1))?;
        check_lens(inputs.iter().map(|x| x.len()), acc.len())?;
        self.fused(&job, inputs, acc, true);
        Ok(())
    }

    /// [`reduce`](Reducer::reduce) over raw little-endian arrays of `dtype` (what the CLI
    /// and the wire protocol carry). Lengths are in bytes.
    ///
    /// # Errors
    /// As [`reduce`](Reducer::reduce), plus [`Error::PartialElement`] when `out` is not a
    /// whole number of elements.
    fn reduce_bytes(
        &self,
        op: impl Into<Reduction>,
        dtype: DType,
        inputs: &[&[u8]],
        out: &mut [u8],
    ) -> Result<(), Error> {
        let job = check(op.into(), dtype, inputs.len())?;
        check_bytes(dtype, out.len())?;
        check_lens(inputs.iter().map(|x| x.len()), out.len())?;
        self.fused_bytes(&job, inputs, out, false);
        Ok(())
    }

    /// [`reduce_into`](Reducer::reduce_into) over raw little-endian arrays of `dtype`.
    ///
    /// # Errors
    /// As [`reduce_bytes`](Reducer::reduce_bytes).
    fn reduce_into_bytes(
        &self,
        op: impl Into<Reduction>,
        dtype: DType,
        acc: &mut [u8],
        inputs: &[&[u8]],
    ) -> Result<(), Error> {
        let job = check(op.into(), dtype, inputs.len().saturating_add(1))?;
        check_bytes(dtype, acc.len())?;
        check_lens(inputs.iter().map(|x| x.len()), acc.len())?;
        self.fused_bytes(&job, inputs, acc, true);
        Ok(())
    }

    /// Streaming, step 1 of 3 (for an aggregation node that receives inputs one at a time):
    /// `acc[j] = prep(first[j])` in the accumulator type (`f32` for f16, bf16 and FP8), where
    /// `inputs` is the total number of inputs `N` that will be folded (AVG needs it).
    /// [`begin`](Reducer::begin), then [`accumulate`](Reducer::accumulate) for inputs 1 to
    /// N−1 in order, then [`finish`](Reducer::finish) gives the same bits as
    /// [`reduce`](Reducer::reduce) over the N inputs. For SUM, PROD and AVG on floats, NaN
    /// accumulators are kept canonical (positive quiet NaN) after every step.
    ///
    /// # Errors
    /// As [`reduce`](Reducer::reduce) for `N` inputs; `first` and `acc` must be equally long.
    fn begin<T: Element>(
        &self,
        op: impl Into<Reduction>,
        inputs: usize,
        first: &[T],
        acc: &mut [T::Acc],
    ) -> Result<(), Error> {
        let job = check(op.into(), T::DTYPE, inputs)?;
        check_lens([first.len()], acc.len())?;
        self.stream(&job, Phase::Begin(first, acc));
        Ok(())
    }

    /// Streaming, step 2: `acc[j] = acc[j] op prep(input[j])`.
    ///
    /// # Errors
    /// As [`begin`](Reducer::begin).
    fn accumulate<T: Element>(
        &self,
        op: impl Into<Reduction>,
        inputs: usize,
        input: &[T],
        acc: &mut [T::Acc],
    ) -> Result<(), Error> {
        let job = check(op.into(), T::DTYPE, inputs)?;
        check_lens([input.len()], acc.len())?;
        self.stream(&job, Phase::Accumulate(input, acc));
        Ok(())
    }

    /// Streaming, step 3: `out[j]` = the accumulator finished (integer AVG divided by
    /// `inputs`, NaN made canonical) and rounded once to `T`. With `Op::Sum` and
    /// `inputs == 1` this is a batch conversion from the accumulator type.
    ///
    /// # Errors
    /// As [`begin`](Reducer::begin).
    fn finish<T: Element>(
        &self,
        op: impl Into<Reduction>,
        inputs: usize,
        acc: &[T::Acc],
        out: &mut [T],
    ) -> Result<(), Error> {
        let job = check(op.into(), T::DTYPE, inputs)?;
        check_lens([acc.len()], out.len())?;
        self.stream(&job, Phase::Finish(acc, out));
        Ok(())
    }

    /// MPI_MINLOC / MPI_MAXLOC over (value, index) pairs given as separate arrays (SoA):
    /// per element, the winning value and its index. Ties (equal values) go to the lowest
    /// index; for floats −0 < +0 and NaN never wins unless every value is NaN (then the
    /// lowest index wins). The winner's value is copied bit for bit.
    ///
    /// # Errors
    /// [`Error::Unsupported`] unless `op` is MINLOC or MAXLOC; [`Error::NoInputs`],
    /// [`Error::TooManyInputs`], [`Error::IndexCount`], [`Error::LengthMismatch`] (every
    /// value and index array, and `out_indices`, as long as `out`).
    fn reduce_loc<T: Element>(
        &self,
        op: Op,
        values: &[&[T]],
        indices: &[&[u32]],
        out: &mut [T],
        out_indices: &mut [u32],
    ) -> Result<(), Error> {
        if !op.is_loc() {
            return Err(Error::Unsupported {
                op,
                dtype: T::DTYPE,
            });
        }
        check_count(values.len())?;
        if indices.len() != values.len() {
            return Err(Error::IndexCount {
                values: values.len(),
                indices: indices.len(),
            });
        }
        check_lens(values.iter().map(|x| x.len()), out.len())?;
        check_lens(indices.iter().map(|x| x.len()), out.len())?;
        check_lens([out_indices.len()], out.len())?;
        crate::backend::scalar::loc(op, values, indices, out, out_indices);
        Ok(())
    }

    /// Kernel: `out = fold(inputs)` (or `fold(out, inputs)` when `in_place`), validated.
    #[doc(hidden)]
    fn fused<T: Element>(&self, job: &Job, inputs: &[&[T]], out: &mut [T], in_place: bool);

    /// Kernel: the byte-level twin of `fused`, validated.
    #[doc(hidden)]
    fn fused_bytes(&self, job: &Job, inputs: &[&[u8]], out: &mut [u8], in_place: bool);

    /// Kernel: one streaming step, validated.
    #[doc(hidden)]
    fn stream<T: Element>(&self, job: &Job, phase: Phase<'_, T>);
}

fn check_count(n: usize) -> Result<(), Error> {
    if n == 0 {
        return Err(Error::NoInputs);
    }
    if n > MAX_INPUTS {
        return Err(Error::TooManyInputs {
            count: n,
            max: MAX_INPUTS,
        });
    }
    Ok(())
}

/// Checks the operation, type, mode and input count; returns the job.
fn check(r: Reduction, dtype: DType, n: usize) -> Result<Job, Error> {
    if r.op.is_loc() || !r.op.supports(dtype) {
        return Err(Error::Unsupported { op: r.op, dtype });
    }
    if r.fp8 == Fp8Mode::Saturating && !dtype.is_fp8() {
        return Err(Error::Fp8Mode { dtype });
    }
    check_count(n)?;
    Ok(Job {
        op: r.op,
        dtype,
        p: Params::new(n, r.fp8),
    })
}

fn check_lens(lens: impl IntoIterator<Item = usize>, expected: usize) -> Result<(), Error> {
    for (input, found) in lens.into_iter().enumerate() {
        if found != expected {
            return Err(Error::LengthMismatch {
                input,
                expected,
                found,
            });
        }
    }
    Ok(())
}

fn check_bytes(dtype: DType, len: usize) -> Result<(), Error> {
    if !len.is_multiple_of(dtype.size()) {
        return Err(Error::PartialElement {
            len,
            size: dtype.size(),
        });
    }
    Ok(())
}

/// The fastest backend this CPU supports, chosen once; cheap to copy and to call. Dispatch
/// is a `match`: no atomics, no function pointers, no heap.
#[derive(Clone, Copy, Debug)]
pub enum Auto {
    /// See [`Scalar`].
    Scalar(Scalar),
    /// See `Avx512`.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    Avx512(Avx512),
    /// See `Avx2`.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    Avx2(Avx2),
    /// See `Neon`.
    #[cfg(all(target_arch = "aarch64", target_endian = "little"))]
    Neon(Neon),
}

impl Auto {
    /// The first of [`Backend::ALL`] that this build and CPU support.
    pub fn detect() -> Self {
        Backend::ALL
            .into_iter()
            .find_map(Self::with_backend)
            .unwrap_or(Auto::Scalar(Scalar))
    }

    /// `backend` if this build and this CPU support it: how tests, benches and the CLI
    /// force one.
    pub fn with_backend(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Scalar => Some(Auto::Scalar(Scalar)),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Backend::Avx512 => Avx512::new().map(Auto::Avx512),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Backend::Avx2 => Avx2::new().map(Auto::Avx2),
            #[cfg(all(target_arch = "aarch64", target_endian = "little"))]
            Backend::Neon => Neon::new().map(Auto::Neon),
            #[allow(
                unreachable_patterns,
                reason = "which arms exist depends on the target"
            )]
            _ => None,
        }
    }
}

impl Default for Auto {
    fn default() -> Self {
        Self::detect()
    }
}

/// Forwards a call to the backend inside an [`Auto`].
macro_rules! dispatch {
    ($self:expr, $e:ident => $call:expr) => {
        match $self {
            Auto::Scalar($e) => $call,
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx512($e) => $call,
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx2($e) => $call,
            #[cfg(all(target_arch = "aarch64", target_endian = "little"))]
            Auto::Neon($e) => $call,
        }
    };
}

impl Reducer for Auto {
    fn backend(&self) -> Backend {
        dispatch!(self, e => e.backend())
    }

    #[inline]
    fn fused<T: Element>(&self, job: &Job, inputs: &[&[T]], out: &mut [T], in_place: bool) {
        dispatch!(self, e => e.fused(job, inputs, out, in_place));
    }

    #[inline]
    fn fused_bytes(&self, job: &Job, inputs: &[&[u8]], out: &mut [u8], in_place: bool) {
        dispatch!(self, e => e.fused_bytes(job, inputs, out, in_place));
    }

    #[inline]
    fn stream<T: Element>(&self, job: &Job, phase: Phase<'_, T>) {
        dispatch!(self, e => e.stream(job, phase));
    }
}
