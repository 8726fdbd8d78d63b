//! The portable backend: safe Rust, always available, the oracle for the others.
//!
//! Algorithm: table-driven CRC-32/ISO-HDLC (reflected polynomial 0xEDB88320), slice-by-16.
//! `T[0][b]` is the CRC register after shifting byte `b` through eight bit steps;
//! `T[k][b] = (T[k-1][b] >> 8) ^ T[0][T[k-1][b] & 0xFF]` is the same byte followed by `k`
//! zero bytes. For 16 input bytes `x0..x15` (the register XORed into `x0..x3`), the new
//! register is `XOR_j T[15 - j][x_j]`: sixteen independent lookups instead of a chain of
//! sixteen dependent ones. The tail (under 16 bytes) goes a byte at a time through `T[0]`.
//! The 16 KiB of tables are built by `const fn` at compile time.

#![forbid(unsafe_code)]

use crate::engine::{Backend, Icrc};

/// The portable backend. Always available.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scalar;

impl Icrc for Scalar {
    fn backend(&self) -> Backend {
        Backend::Scalar
    }

    fn crc32(&self, crc: u32, data: &[u8]) -> u32 {
        !update(!crc, data)
    }

    fn crc32_parts(&self, crc: u32, first: &[u8], rest: &[u8]) -> u32 {
        // From a zero register (`crc == !0`) leading zero bytes leave it at zero, so whole
        // 16-byte blocks of them are skipped: the engine pads the ICRC's scratch block at
        // the front with up to 127 zeros.
        let mut first = first;
        if crc == !0 {
            while let Some((block, tail)) = first.split_first_chunk::<16>()
                && u128::from_ne_bytes(*block) == 0
            {
                first = tail;
            }
        }
        !update(update(!crc, first), rest)
    }
}

/// Reflected CRC-32 polynomial (0x04C11DB7 bit-reversed).
const POLY: u32 = 0xEDB8_8320;
/// Bytes per step of the main loop.
const SLICE: usize = 16;

#[expect(
    clippy::cast_possible_truncation,
    reason = "the table index is below 256"
)]
const fn tables() -> [[u32; 256]; SLICE] {
    let mut t = [[0u32; 256]; SLICE];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32; // below 256
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            bit += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut k = 1;
    while k < SLICE {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xFF) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

static TABLES: [[u32; 256]; SLICE] = tables();

/// Runs the raw (uninverted) register over `data`.
fn update(mut crc: u32, data: &[u8]) -> u32 {
    let (blocks, tail) = data.as_chunks::<SLICE>();
    for block in blocks {
        let mut x = *block;
        for (b, c) in x.iter_mut().zip(crc.to_le_bytes()) {
            *b ^= c;
        }
        let mut next = 0;
        for (table, &b) in TABLES.iter().rev().zip(&x) {
            next ^= table[usize::from(b)];
        }
        crc = next;
    }
    for &b in tail {
        crc = (crc >> 8) ^ TABLES[0][usize::from(b ^ crc.to_le_bytes()[0])];
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit at a time, straight from the definition.
    fn naive(data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            }
        }
        !c
    }

    #[test]
    fn check_value_and_seed() {
        // The CRC-32/ISO-HDLC check value.
        assert_eq!(Scalar.crc32(0, b"123456789"), 0xCBF4_3926);
        assert_eq!(Scalar.crc32(0, &[0xFF; 8]), crate::engine::ICRC_SEED);
        assert_eq!(Scalar.crc32(0, &[]), 0);
    }

    #[test]
    fn crc32_parts_with_leading_zeros_match_one_pass() {
        for lead in [0usize, 1, 15, 16, 17, 32, 130] {
            let mut first = std::vec![0u8; lead];
            first.extend((0..20u32).map(|i| (i * 11 + 1) as u8));
            let rest = b"rest of the message";
            let mut whole = first.clone();
            whole.extend_from_slice(rest);
            // From a zero register (zeros skipped) and from the usual one (not skipped).
            for crc in [!0, 0, 0x1234_5678] {
                assert_eq!(
                    Scalar.crc32_parts(crc, &first, rest),
                    Scalar.crc32(crc, &whole),
                    "lead {lead} crc {crc:#x}"
                );
            }
            assert_eq!(Scalar.crc32_parts(0, &first, rest), naive(&whole));
        }
    }

    #[test]
    fn slices_match_naive_and_continue() {
        let data: std::vec::Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        // Every length natively; under Miri (three minutes for all 300) the lengths around
        // one and two 16-byte blocks, where the block loop and the byte tail meet.
        let lens: std::vec::Vec<usize> = if cfg!(miri) {
            std::vec![0, 1, 15, 16, 17, 31, 32, 33, 47]
        } else {
            (0..data.len()).collect()
        };
        for len in lens {
            let d = &data[..len];
            assert_eq!(Scalar.crc32(0, d), naive(d), "len {len}");
            let (a, b) = d.split_at(len / 3);
            assert_eq!(Scalar.crc32(Scalar.crc32(0, a), b), naive(d));
        }
    }
}
