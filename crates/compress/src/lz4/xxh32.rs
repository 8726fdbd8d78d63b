//! xxHash32, the checksum of the LZ4 frame format (Yann Collet's XXH32; the reference is
//! `xxhash.c`; the test values below were checked against it through python-xxhash).
//!
//! The function runs four independent lanes over 16-byte stripes (one multiply-rotate-
//! multiply per 4-byte word), then merges them and folds the tail; with four lanes in
//! flight the scalar code is limited by multiplier throughput, about 4 bytes per cycle,
//! which is why no backend vectorises it: a 16-byte stripe needs four 32-bit multiplies,
//! as many as one `vpmulld` costs in latency on current x86.

#![forbid(unsafe_code)]

const P1: u32 = 0x9E37_79B1;
const P2: u32 = 0x85EB_CA77;
const P3: u32 = 0xC2B2_AE3D;
const P4: u32 = 0x27D4_EB2F;
const P5: u32 = 0x1656_67B1;

#[inline(always)]
fn round(acc: u32, word: u32) -> u32 {
    acc.wrapping_add(word.wrapping_mul(P2))
        .rotate_left(13)
        .wrapping_mul(P1)
}

#[inline(always)]
fn word(bytes: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(w)
}

/// xxHash32 of `data` with `seed`, in one call.
pub(crate) fn xxh32(seed: u32, data: &[u8]) -> u32 {
    let mut state = Xxh32::new(seed);
    state.update(data);
    state.finish()
}

/// Incremental xxHash32: feed bytes in any chunks, get the hash of their concatenation.
/// 48 bytes, no heap; used by the LZ4 frame codec for the content checksum.
#[derive(Clone, Debug)]
pub struct Xxh32 {
    acc: [u32; 4],
    seed: u32,
    total: u64,
    buf: [u8; 16],
    buffered: usize,
}

impl Xxh32 {
    /// A fresh hash with `seed` (the LZ4 frame format uses 0).
    pub const fn new(seed: u32) -> Self {
        Xxh32 {
            acc: [
                seed.wrapping_add(P1).wrapping_add(P2),
                seed.wrapping_add(P2),
                seed,
                seed.wrapping_sub(P1),
            ],
            seed,
            total: 0,
            buf: [0; 16],
            buffered: 0,
        }
    }

    /// Adds `data`.
    pub fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        if self.buffered > 0 {
            let take = (16 - self.buffered).min(data.len());
            self.buf[self.buffered..self.buffered + take].copy_from_slice(&data[..take]);
            self.buffered += take;
            data = &data[take..];
            if self.buffered < 16 {
                return;
            }
            let stripe = self.buf;
            self.stripes(&stripe);
            self.buffered = 0;
        }
        let whole = data.len() & !15;
        self.stripes(&data[..whole]);
        let rest = &data[whole..];
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buffered = rest.len();
    }

    #[inline(always)]
    fn stripes(&mut self, data: &[u8]) {
        let [mut a, mut b, mut c, mut d] = self.acc;
        for s in data.chunks_exact(16) {
            a = round(a, word(&s[0..]));
            b = round(b, word(&s[4..]));
            c = round(c, word(&s[8..]));
            d = round(d, word(&s[12..]));
        }
        self.acc = [a, b, c, d];
    }

    /// The hash of everything added so far (the state is not consumed).
    pub fn finish(&self) -> u32 {
        let [a, b, c, d] = self.acc;
        let mut h = if self.total >= 16 {
            a.rotate_left(1)
                .wrapping_add(b.rotate_left(7))
                .wrapping_add(c.rotate_left(12))
                .wrapping_add(d.rotate_left(18))
        } else {
            self.seed.wrapping_add(P5)
        };
        // The length is added modulo 2^32, as the reference does.
        #[expect(
            clippy::cast_possible_truncation,
            reason = "xxHash32 adds the length modulo 2^32"
        )]
        let total = self.total as u32;
        h = h.wrapping_add(total);
        let tail = &self.buf[..self.buffered];
        let mut words = tail.chunks_exact(4);
        for w in &mut words {
            h = h
                .wrapping_add(word(w).wrapping_mul(P3))
                .rotate_left(17)
                .wrapping_mul(P4);
        }
        for &byte in words.remainder() {
            h = h
                .wrapping_add(u32::from(byte).wrapping_mul(P5))
                .rotate_left(11)
                .wrapping_mul(P1);
        }
        h ^= h >> 15;
        h = h.wrapping_mul(P2);
        h ^= h >> 13;
        h = h.wrapping_mul(P3);
        h ^ (h >> 16)
    }
}

impl Default for Xxh32 {
    fn default() -> Self {
        Self::new(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(xxh32(0, b""), 0x02CC_5D05);
        assert_eq!(xxh32(1, b""), 0x0B2C_B792);
        assert_eq!(xxh32(0, b"a"), 0x550D_7456);
        assert_eq!(xxh32(0, b"abc"), 0x32D1_53FF);
        assert_eq!(
            xxh32(0, b"Nobody inspects the spammish repetition"),
            0xE229_3B2F
        );
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: [u8; 200] = core::array::from_fn(|i| (i * 7 + 3) as u8);
        let step = if cfg!(miri) { 7 } else { 1 };
        for len in (0..data.len()).step_by(step) {
            let whole = xxh32(0x1234, &data[..len]);
            for split in [0, 1, 3, 15, 16, 17, 33] {
                let split = split.min(len);
                let mut h = Xxh32::new(0x1234);
                h.update(&data[..split]);
                let mut pos = split;
                while pos < len {
                    let end = (pos + 5).min(len);
                    h.update(&data[pos..end]);
                    pos = end;
                }
                assert_eq!(h.finish(), whole, "len {len} split {split}");
            }
        }
    }
}
