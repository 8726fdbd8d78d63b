//! 24-bit packet sequence numbers (also used for the AETH MSN).

use core::cmp::Ordering;

const MASK: u32 = 0x00FF_FFFF;

/// A 24-bit packet sequence number with modular (serial-number) arithmetic.
///
/// Comparison follows the kernel's `psn_compare`: `a` is after `b` when
/// `(a - b) mod 2^24` is in `1..2^23`, so the window is ±2^23. Because that order is not
/// transitive, `Psn` deliberately implements neither `PartialOrd` nor `Ord`; use
/// [`serial_cmp`](Self::serial_cmp) or [`distance`](Self::distance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Psn(u32);

impl Psn {
    /// The largest PSN, 0xFFFFFF (its successor is 0).
    pub const MAX: Psn = Psn(MASK);

    /// `value` masked to 24 bits.
    pub const fn new(value: u32) -> Self {
        Self(value & MASK)
    }

    /// The 24-bit value.
    pub const fn value(self) -> u32 {
        self.0
    }

    /// The next PSN (0xFFFFFF wraps to 0).
    pub const fn next(self) -> Self {
        self.add(1)
    }

    /// `self + n` modulo 2^24.
    pub const fn add(self, n: u32) -> Self {
        Self(self.0.wrapping_add(n) & MASK)
    }

    /// `self - n` modulo 2^24.
    pub const fn sub(self, n: u32) -> Self {
        Self(self.0.wrapping_sub(n) & MASK)
    }

    /// Signed distance from `other` to `self` in `-2^23..2^23`: positive when `self` is
    /// after `other`. `other.add(d as u32) == self` for the returned `d`.
    pub const fn distance(self, other: Psn) -> i32 {
        // Shift the 24-bit difference into the top of an i32 and back: sign-extends bit 23.
        (self.0.wrapping_sub(other.0) << 8).cast_signed() >> 8
    }

    /// Serial comparison: `Greater` when `self` is after `other` (within 2^23), `Less`
    /// when before, `Equal` when the same. Exactly 2^23 apart counts as before.
    pub const fn serial_cmp(self, other: Psn) -> Ordering {
        let d = self.distance(other);
        if d > 0 {
            Ordering::Greater
        } else if d < 0 {
            Ordering::Less
        } else {
            Ordering::Equal
        }
    }

    /// Whether `self` is strictly after `other` in serial order.
    pub const fn is_after(self, other: Psn) -> bool {
        self.distance(other) > 0
    }
}

impl From<Psn> for u32 {
    fn from(p: Psn) -> u32 {
        p.0
    }
}

impl core::fmt::Display for Psn {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}
