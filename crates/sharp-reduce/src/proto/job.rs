//! What every participant of an aggregation job agrees on, and the chunk → slot mapping.

use super::wire::{Header, check_reduction};
use crate::{DType, Error, Fp8Mode, Reduction};

/// The most children a node has (its seen-children bitmap is a `u64`).
pub const MAX_FAN_IN: usize = 64;

/// The most elements in a chunk (the count field is 16 bits).
pub const MAX_CHUNK: usize = u16::MAX as usize;

/// The most slots in a pool (the slot field is 16 bits).
pub const MAX_POOL: usize = 1 << 16;

/// The parameters every worker and node of a job must share; packets that disagree are
/// rejected with [`Error::Mismatch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Job {
    /// Job (aggregation group) id, carried in every packet.
    pub id: u32,
    /// Operation and FP8 mode: every operation of the kernels except AVG (sum in the
    /// network, scale at the hosts, as NCCL does over SHARP) and MINLOC/MAXLOC.
    pub reduction: Reduction,
    /// Element type.
    pub dtype: DType,
    /// Elements per chunk (one packet's payload; the last chunk may be shorter),
    /// 1..=[`MAX_CHUNK`]. SwitchML used 64 × i32 (256 B) or 256 × i32 (1 KiB).
    pub chunk: usize,
    /// Slots per node `S`, 1..=[`MAX_POOL`]: chunk `c` uses slot `c mod S` with version
    /// bit `(c / S) mod 2`, and a worker keeps at most `S` chunks in flight.
    pub pool: usize,
    /// Reproducible mode: every node combines its children in rank order, whatever the
    /// arrival order (costs fan-in × chunk bytes per slot version at a node).
    pub reproducible: bool,
}

impl Job {
    /// A job in arrival-order mode with non-saturating FP8.
    pub const fn new(
        id: u32,
        reduction: Reduction,
        dtype: DType,
        chunk: usize,
        pool: usize,
    ) -> Self {
        Job {
            id,
            reduction,
            dtype,
            chunk,
            pool,
            reproducible: false,
        }
    }

    /// The same job in reproducible mode.
    #[must_use]
    pub const fn reproducible(mut self) -> Self {
        self.reproducible = true;
        self
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::Unsupported`] / [`Error::Fp8Mode`] for an operation the protocol does not
    /// carry on `dtype`; [`Error::Config`] for `chunk` or `pool` out of range.
    pub fn validate(&self) -> Result<(), Error> {
        check_reduction(self.reduction, self.dtype)?;
        in_range("chunk", self.chunk, 1, MAX_CHUNK)?;
        in_range("pool", self.pool, 1, MAX_POOL)?;
        Ok(())
    }

    /// Chunks of a vector of `elements` elements.
    pub const fn chunks(&self, elements: u64) -> u64 {
        match elements.checked_add((self.chunk as u64).saturating_sub(1)) {
            Some(e) => match e.checked_div(self.chunk as u64) {
                Some(c) => c,
                None => 0,
            },
            None => u64::MAX,
        }
    }

    /// The slot index and version bit of chunk `c`.
    pub const fn slot_of(&self, c: u64) -> (u16, u8) {
        let pool = self.pool as u64;
        let slot = match c.checked_rem(pool) {
            Some(s) => s,
            None => 0,
        };
        let round = match c.checked_div(pool) {
            Some(r) => r,
            None => 0,
        };
        #[expect(
            clippy::cast_possible_truncation,
            reason = "slot < pool <= 2^16, and the version is one bit"
        )]
        let r = (slot as u16, (round & 1) as u8);
        r
    }

    /// Checks that `h` belongs to this job (id, operation, FP8 mode, type, mode) and that its
    /// slot and version bit are the ones its offset maps to; returns the chunk index.
    pub(crate) fn check(&self, h: &Header) -> Result<u64, Error> {
        let fields = [
            ("job", u64::from(self.id), u64::from(h.job)),
            ("op", self.reduction.op as u64, h.reduction.op as u64),
            (
                "fp8 saturating flag",
                u64::from(self.reduction.fp8 == Fp8Mode::Saturating),
                u64::from(h.reduction.fp8 == Fp8Mode::Saturating),
            ),
            ("dtype", self.dtype as u64, h.dtype as u64),
            (
                "reproducible flag",
                u64::from(self.reproducible),
                u64::from(h.reproducible),
            ),
        ];
        for (field, expected, found) in fields {
            if expected != found {
                return Err(Error::Mismatch {
                    field,
                    expected,
                    found,
                });
            }
        }
        let chunk = self.chunk as u64;
        if usize::from(h.count) > self.chunk {
            return Err(Error::OutOfRange {
                field: "count",
                value: u64::from(h.count),
                limit: chunk.saturating_add(1),
            });
        }
        if usize::from(h.slot) >= self.pool {
            return Err(Error::OutOfRange {
                field: "slot",
                value: u64::from(h.slot),
                limit: self.pool as u64,
            });
        }
        let misalign = h.offset.checked_rem(chunk).unwrap_or(0);
        if misalign != 0 {
            return Err(Error::Mismatch {
                field: "offset (a multiple of the chunk size)",
                expected: h.offset.saturating_sub(misalign),
                found: h.offset,
            });
        }
        let c = h.offset.checked_div(chunk).unwrap_or(0);
        let (slot, version) = self.slot_of(c);
        if slot != h.slot {
            return Err(Error::Mismatch {
                field: "slot (chunk mod pool)",
                expected: u64::from(slot),
                found: u64::from(h.slot),
            });
        }
        if version != h.version {
            return Err(Error::Mismatch {
                field: "version bit",
                expected: u64::from(version),
                found: u64::from(h.version),
            });
        }
        Ok(c)
    }
}

pub(crate) fn in_range(
    field: &'static str,
    value: usize,
    min: usize,
    max: usize,
) -> Result<(), Error> {
    if value < min || value > max {
        return Err(Error::Config {
            field,
            value,
            min,
            max,
        });
    }
    Ok(())
}
