//! The crate's one error type.

#![forbid(unsafe_code)]

use crate::{DType, Op};

/// Everything a call can reject, with the numbers needed to fix it. Every check runs before
/// the first byte is written: on error, no output is touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A reduction needs at least one input.
    NoInputs,
    /// More inputs than [`MAX_INPUTS`](crate::MAX_INPUTS).
    TooManyInputs {
        /// Inputs given.
        count: usize,
        /// The most accepted.
        max: usize,
    },
    /// An input (or index array) is not as long as the output.
    LengthMismatch {
        /// Position of the offending input in the input list.
        input: usize,
        /// Elements (or bytes, in the byte-level API) the output has.
        expected: usize,
        /// Elements (or bytes) the input has.
        found: usize,
    },
    /// The operation is not defined on this type (bitwise and logical operations on
    /// floats), or needs the other entry point (MINLOC/MAXLOC go through `reduce_loc`, the
    /// other operations not).
    Unsupported {
        /// The operation asked for.
        op: Op,
        /// The element type asked for.
        dtype: DType,
    },
    /// A byte buffer's length is not a multiple of the element size.
    PartialElement {
        /// Bytes given.
        len: usize,
        /// Bytes per element.
        size: usize,
    },
    /// [`Fp8Mode::Saturating`](crate::Fp8Mode::Saturating) was asked for a type that is not
    /// FP8.
    Fp8Mode {
        /// The element type asked for.
        dtype: DType,
    },
    /// MINLOC/MAXLOC got a different number of index arrays than value arrays.
    IndexCount {
        /// Value arrays given.
        values: usize,
        /// Index arrays given.
        indices: usize,
    },
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Error::NoInputs => f.write_str("no inputs: a reduction needs at least one"),
            Error::TooManyInputs { count, max } => {
                write!(f, "{count} inputs: at most {max} per call")
            }
            Error::LengthMismatch {
                input,
                expected,
                found,
            } => write!(
                f,
                "input {input} has {found} elements, the output {expected}: all must be equal"
            ),
            Error::Unsupported { op, dtype } => {
                if op.is_loc() {
                    write!(f, "{op} on {dtype}: use reduce_loc with index arrays")
                } else {
                    write!(f, "{op} is not defined on {dtype}")
                }
            }
            Error::PartialElement { len, size } => write!(
                f,
                "buffer of {len} bytes is not a whole number of {size}-byte elements"
            ),
            Error::Fp8Mode { dtype } => {
                write!(
                    f,
                    "saturating fp8 mode given for {dtype}: only e4m3 and e5m2 have it"
                )
            }
            Error::IndexCount { values, indices } => write!(
                f,
                "{values} value arrays but {indices} index arrays: give one index array per input"
            ),
        }
    }
}

impl core::error::Error for Error {}
