//! The portable backend: safe Rust, always available, the oracle every other backend must
//! match bit for bit.

#![forbid(unsafe_code)]

use crate::rss::{ROW, RssKey, check_bulk, check_input};
use crate::{Backend, Error, Lookup, RssHasher};

/// Portable safe Rust, always available.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scalar;

/// CRC-32C slice-by-8 tables: `CRC32C[k][b]` is the CRC of byte `b` followed by `k` zero
/// bytes (8 KiB, built at compile time).
#[expect(clippy::cast_possible_truncation, reason = "b < 256")]
static CRC32C: [[u32; 256]; 8] = {
    let mut t = [[0u32; 256]; 8];
    let mut b = 0;
    while b < 256 {
        let mut c = b as u32;
        let mut i = 0;
        while i < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82F6_3B78
            } else {
                c >> 1
            };
            i += 1;
        }
        t[0][b] = c;
        b += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut b = 0;
        while b < 256 {
            let prev = t[k - 1][b];
            t[k][b] = (prev >> 8) ^ t[0][(prev & 0xFF) as usize];
            b += 1;
        }
        k += 1;
    }
    t
};

/// Table entry `k`, `b`: both indices are in range by construction (`k < 8`, `b < 256`).
#[inline(always)]
fn t(k: usize, b: u32) -> u32 {
    CRC32C[k][(b & 0xFF) as usize]
}

impl Lookup for Scalar {
    fn backend(&self) -> Backend {
        Backend::Scalar
    }

    /// Slice-by-8: eight table lookups per 8 input bytes.
    fn crc32c(&self, crc: u32, data: &[u8]) -> u32 {
        let mut c = !crc;
        let mut chunks = data.chunks_exact(8);
        for chunk in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            let v = u64::from_le_bytes(w) ^ u64::from(c);
            #[expect(clippy::cast_possible_truncation, reason = "the two halves of v")]
            let (lo, hi) = (v as u32, (v >> 32) as u32);
            c = t(7, lo)
                ^ t(6, lo >> 8)
                ^ t(5, lo >> 16)
                ^ t(4, lo >> 24)
                ^ t(3, hi)
                ^ t(2, hi >> 8)
                ^ t(1, hi >> 16)
                ^ t(0, hi >> 24);
        }
        for &b in chunks.remainder() {
            c = (c >> 8) ^ t(0, c ^ u32::from(b));
        }
        !c
    }

    /// SWAR: four 16-bit tags per `u64`; a lane equal to `tag` becomes zero after the XOR,
    /// and "zero lane" is detected exactly (no false positives, unlike the borrow trick) by
    /// `((x & 0x7FFF) + 0x7FFF | x) & 0x8000 == 0` per lane.
    fn match_tags(&self, a: &[u16; 8], b: &[u16; 8], tag: u16) -> u16 {
        const LOW15: u64 = 0x7FFF_7FFF_7FFF_7FFF;
        const HIGH: u64 = 0x8000_8000_8000_8000;
        let splat = u64::from(tag) * 0x0001_0001_0001_0001;
        let lanes = |tags: &[u16; 8], half: usize| -> u16 {
            let mut w = 0u64;
            for (i, &t) in tags[half * 4..half * 4 + 4].iter().enumerate() {
                w |= u64::from(t) << (16 * i);
            }
            let x = w ^ splat;
            // High bit of each lane set iff the lane is non-zero.
            let nonzero = (((x & LOW15) + LOW15) | x) & HIGH;
            let zero = !nonzero & HIGH;
            // Gather the four lane flags (bits 15, 31, 47, 63) into bits 0..4.
            let bits = (zero >> 15) | (zero >> 30) | (zero >> 45) | (zero >> 60);
            (bits & 0xF) as u16
        };
        lanes(a, 0) | lanes(a, 1) << 4 | lanes(b, 0) << 8 | lanes(b, 1) << 12
    }

    #[inline(always)]
    fn prefetch<T>(&self, _item: &T) {}
}

impl RssHasher for Scalar {
    fn backend(&self) -> Backend {
        Backend::Scalar
    }

    fn toeplitz(&self, key: &RssKey, input: &[u8]) -> Result<u32, Error> {
        check_input(key, input.len())?;
        Ok(toeplitz(key.rows(), input))
    }

    fn toeplitz_bulk<const N: usize>(
        &self,
        key: &RssKey,
        inputs: &[[u8; N]],
        out: &mut [u32],
    ) -> Result<(), Error> {
        check_bulk(key, N, inputs.len(), out.len())?;
        for (h, input) in out.iter_mut().zip(inputs) {
            *h = toeplitz(key.rows(), input);
        }
        Ok(())
    }
}

/// Toeplitz with the key's nibble table, two table reads per input byte.
///
/// From the definition, input bit `i` (most significant bit of `input[0]` first) adds the
/// 32 key bits starting at key bit `i`. Grouping the four bits of a nibble `v` at bit offset
/// `i`, their sum is the 32 bits starting at bit `i` of `rows[v]`, the XOR of the key
/// shifted by 0..4 bits as `v` selects (built once per key, see [`RssKey`]). For input byte
/// `p` both nibbles start within byte `p` of their row: one big-endian 64-bit read at byte
/// `p` of `rows[high]` has the high nibble's 32 bits on top, and the same read of
/// `rows[low]` shifted left by 4 has the low nibble's. XOR everything into 64 bits, keep the
/// top 32. Shifting the whole low-nibble sum once at the end gives the same bits as
/// shifting each read. The rows are stored back to front, so the big-endian read is a plain
/// little-endian load (no byte swap).
///
/// No data-dependent branches; 1 KiB of table instead of the 256-entry table per input byte
/// (up to 48 KiB) of the classic byte-table method, at about a third of its speed.
fn toeplitz(rows: &[[u8; ROW]; 16], input: &[u8]) -> u32 {
    // The caller checked `input.len() <= max_input() <= 48`, so `p + 8 <= 55 <= ROW` below.
    let mut high = 0u64;
    let mut low = 0u64;
    for (p, &b) in input.iter().enumerate() {
        high ^= window(&rows[usize::from(b >> 4)], p);
        low ^= window(&rows[usize::from(b & 0x0F)], p);
    }
    ((high ^ (low << 4)) >> 32) as u32
}

/// Bytes `p..p + 8` of the row as a big-endian `u64`: the row is stored back to front, so
/// that is a little-endian read of the stored bytes ending `p` bytes from the end.
#[inline(always)]
fn window(row: &[u8; ROW], p: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&row[ROW - 8 - p..ROW - p]);
    u64::from_le_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        assert_eq!(Scalar.crc32c(0, b"123456789"), 0xE306_9283);
        assert_eq!(Scalar.crc32c(0, b""), 0);
        let data: [u8; 37] = core::array::from_fn(|i| (i * 7 + 3) as u8);
        for split in 0..=data.len() {
            let (a, b) = data.split_at(split);
            assert_eq!(
                Scalar.crc32c(Scalar.crc32c(0, a), b),
                Scalar.crc32c(0, &data)
            );
        }
    }

    #[test]
    fn match_tags_is_exact() {
        let a = [0, 1, 0x8000, 0xFFFF, 5, 5, 0x7FFF, 1];
        let b = [5, 0, 0, 0, 0, 0, 0, 5];
        assert_eq!(Scalar.match_tags(&a, &b, 5), 0b1000_0001_0011_0000);
        assert_eq!(Scalar.match_tags(&a, &b, 0), 0b0111_1110_0000_0001);
        assert_eq!(Scalar.match_tags(&a, &b, 0xFFFF), 0b1000);
        assert_eq!(Scalar.match_tags(&a, &b, 0x8000), 0b100);
        assert_eq!(Scalar.match_tags(&a, &b, 0x7FFF), 0b100_0000);
        assert_eq!(Scalar.match_tags(&a, &b, 2), 0);
    }
}
