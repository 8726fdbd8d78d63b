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
    /// A packet is shorter than the protocol header.
    Truncated {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes given.
        available: usize,
    },
    /// A packet's length is not the header plus the payload its header announces.
    PacketLength {
        /// Bytes the header announces (header and payload).
        expected: usize,
        /// Bytes given.
        found: usize,
    },
    /// A packet field holds a value the protocol does not define (bad magic, unknown format,
    /// kind, operation or type, reserved flag bits set, zero element count).
    Malformed {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
    },
    /// A well-formed packet disagrees with this endpoint's job: another job, operation,
    /// type or mode, a slot or version bit that does not match its chunk offset, an element
    /// count that differs from the chunk's, or a kind this endpoint never receives.
    Mismatch {
        /// The field.
        field: &'static str,
        /// What this endpoint expects.
        expected: u64,
        /// What the packet holds.
        found: u64,
    },
    /// A packet field is beyond what this endpoint has: a child rank at or above the
    /// fan-in, a slot at or above the pool size, more elements than a chunk, an offset past
    /// the end of the vector.
    OutOfRange {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The first value not accepted.
        limit: u64,
    },
    /// A configuration value is outside its range.
    Config {
        /// The setting.
        field: &'static str,
        /// Its value.
        value: usize,
        /// The least accepted.
        min: usize,
        /// The greatest accepted.
        max: usize,
    },
    /// A caller-provided buffer (slot pool, slot storage, window, output vector, packet
    /// buffer) is too small, or a vector is not as long as it must be.
    BufferSize {
        /// Which buffer.
        buffer: &'static str,
        /// Elements or bytes it needs.
        needed: usize,
        /// Elements or bytes given.
        available: usize,
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
            Error::Truncated { needed, available } => write!(
                f,
                "packet of {available} bytes is shorter than the {needed}-byte header"
            ),
            Error::PacketLength { expected, found } => write!(
                f,
                "packet of {found} bytes: its header announces {expected}"
            ),
            Error::Malformed { field, value } => {
                write!(f, "packet field {field} has the undefined value {value}")
            }
            Error::Mismatch {
                field,
                expected,
                found,
            } => write!(
                f,
                "packet {field} is {found}, this endpoint expects {expected}"
            ),
            Error::OutOfRange {
                field,
                value,
                limit,
            } => write!(
                f,
                "packet {field} {value} is out of range: it must be below {limit}"
            ),
            Error::Config {
                field,
                value,
                min,
                max,
            } => write!(f, "{field} = {value}: it must be in {min}..={max}"),
            Error::BufferSize {
                buffer,
                needed,
                available,
            } => write!(
                f,
                "{buffer} holds {available}, needs {needed}: give a buffer of the stated size"
            ),
        }
    }
}

impl core::error::Error for Error {}
