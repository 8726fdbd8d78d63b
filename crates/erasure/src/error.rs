//! The crate's one error type.

#![forbid(unsafe_code)]

/// Everything that can go wrong, with the numbers needed to fix the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// `k` and `m` must satisfy `k >= 1`, `m >= 1`, `k + m <= 256`.
    InvalidShardCounts {
        /// Data shards asked for.
        data: usize,
        /// Parity shards asked for.
        parity: usize,
    },
    /// A custom parity matrix must have `m * k` entries.
    MatrixSize {
        /// `m * k`.
        expected: usize,
        /// Entries given.
        found: usize,
    },
    /// A slice of shards has the wrong number of entries.
    ShardCount {
        /// Entries the code needs.
        expected: usize,
        /// Entries given.
        found: usize,
    },
    /// Shards must all have the same length.
    ShardLength {
        /// Position of the offending shard in the call (see each method).
        index: usize,
        /// The common length (of the first shard).
        expected: usize,
        /// This shard's length.
        found: usize,
    },
    /// A shard index is out of range.
    ShardIndex {
        /// The index given.
        index: usize,
        /// The number of shards it must be below.
        count: usize,
    },
    /// A kernel's coefficient slice does not match its sources and outputs.
    CoefficientCount {
        /// `outputs * sources`.
        expected: usize,
        /// Coefficients given.
        found: usize,
    },
    /// More shards are missing than the code can recover.
    TooManyMissing {
        /// Shards missing.
        missing: usize,
        /// At most this many (m) may be missing.
        max: usize,
    },
    /// The surviving shards' rows of the encode matrix are linearly dependent, so this
    /// pattern of losses cannot be recovered (only possible with a custom matrix).
    SingularMatrix,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Error::InvalidShardCounts { data, parity } => write!(
                f,
                "invalid shard counts {data}+{parity}: need at least 1 data and 1 parity shard \
                 and at most 256 in all"
            ),
            Error::MatrixSize { expected, found } => write!(
                f,
                "custom parity matrix has {found} entries, expected parity x data = {expected}"
            ),
            Error::ShardCount { expected, found } => {
                write!(f, "expected {expected} shards, got {found}")
            }
            Error::ShardLength {
                index,
                expected,
                found,
            } => write!(
                f,
                "shard {index} is {found} bytes, expected {expected} like the others"
            ),
            Error::ShardIndex { index, count } => {
                write!(
                    f,
                    "shard index {index} out of range (must be below {count})"
                )
            }
            Error::CoefficientCount { expected, found } => write!(
                f,
                "{found} coefficients given, expected outputs x sources = {expected}"
            ),
            Error::TooManyMissing { missing, max } => write!(
                f,
                "{missing} shards missing, at most {max} can be recovered"
            ),
            Error::SingularMatrix => f.write_str(
                "the surviving shards cannot recover this loss pattern (singular matrix)",
            ),
        }
    }
}

impl core::error::Error for Error {}
