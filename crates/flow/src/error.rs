//! The crate's one error type.

#![forbid(unsafe_code)]

/// Everything that can go wrong, with the numbers needed to fix the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An RSS key must be 8 to 52 bytes long.
    KeyLength {
        /// Bytes given.
        len: usize,
    },
    /// A Toeplitz input must be at most the key length minus 4 bytes.
    InputTooLong {
        /// Bytes given.
        len: usize,
        /// The most this key can hash.
        max: usize,
    },
    /// An output slice is shorter than its input.
    OutputTooSmall {
        /// Entries needed.
        needed: usize,
        /// Entries available.
        available: usize,
    },
    /// Two slices that must be the same length are not (e.g. keys and their hashes).
    LengthMismatch {
        /// The length required (that of the first slice).
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A batch holds more entries than the call accepts.
    BatchTooLarge {
        /// Entries given.
        len: usize,
        /// The most accepted.
        max: usize,
    },
    /// A redirection table must have a power of two of entries, 1 to 512.
    RetaSize {
        /// Entries asked for.
        entries: usize,
    },
    /// A redirection table index past its end.
    RetaIndex {
        /// Index given.
        index: usize,
        /// Entries in the table.
        entries: usize,
    },
    /// A redirection table needs at least one queue.
    NoQueues,
    /// Caller storage does not have a usable shape (see the message for which part).
    Storage {
        /// What is wrong, in words.
        what: &'static str,
    },
    /// The table (or the classifier's rule store) is full: no free entry, or no cuckoo path
    /// to a free slot within the displacement bound.
    Full {
        /// Entries the storage holds.
        capacity: usize,
    },
    /// The key (or rule) is already present.
    Exists {
        /// The id it has.
        id: u32,
    },
    /// No entry with this key, id or rule.
    NotFound,
    /// Packet bytes a key constructor cannot read.
    Packet {
        /// What is wrong, in words.
        what: &'static str,
    },
    /// The classifier already has as many distinct masks as it has subtable descriptors.
    TooManySubtables {
        /// Descriptors available.
        max: usize,
    },
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Error::KeyLength { len } => {
                write!(f, "RSS key of {len} bytes: must be 8 to 52 bytes")
            }
            Error::InputTooLong { len, max } => write!(
                f,
                "Toeplitz input of {len} bytes is longer than this key can hash ({max} bytes: \
                 key length - 4)"
            ),
            Error::OutputTooSmall { needed, available } => {
                write!(f, "output holds {available} entries, {needed} needed")
            }
            Error::LengthMismatch { expected, found } => {
                write!(
                    f,
                    "{found} entries given where {expected} are needed (one per key)"
                )
            }
            Error::BatchTooLarge { len, max } => {
                write!(f, "batch of {len} entries: at most {max} per call")
            }
            Error::RetaSize { entries } => write!(
                f,
                "redirection table of {entries} entries: must be a power of two from 1 to 512"
            ),
            Error::RetaIndex { index, entries } => write!(
                f,
                "redirection table index {index} out of range: the table has {entries} entries"
            ),
            Error::NoQueues => f.write_str("a redirection table needs at least one queue"),
            Error::Storage { what } => write!(f, "unusable storage: {what}"),
            Error::Full { capacity } => write!(
                f,
                "table full: no free slot reachable among {capacity} entries"
            ),
            Error::Exists { id } => write!(f, "already present (id {id})"),
            Error::NotFound => f.write_str("not found"),
            Error::Packet { what } => write!(f, "cannot read packet: {what}"),
            Error::TooManySubtables { max } => {
                write!(f, "too many distinct masks: at most {max} subtables")
            }
        }
    }
}

impl core::error::Error for Error {}
