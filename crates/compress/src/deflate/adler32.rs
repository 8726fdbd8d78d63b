//! Adler-32 (RFC 1950 §8.2), the zlib format's checksum: the portable kernel.

#![forbid(unsafe_code)]

/// The Adler-32 modulus: the largest prime below 2^16.
const MOD: u32 = 65_521;
/// Bytes that can be summed before the 32-bit sums must be reduced: the largest `n` with
/// `255 n (n + 1) / 2 + (n + 1) (MOD - 1) < 2^32` (zlib's `NMAX`).
const NMAX: usize = 5552;

/// Continues the Adler-32 `adler` over `data` (start from 1).
///
/// Sums without reducing for up to [`NMAX`] bytes at a time, four bytes per step so the
/// dependency chain of `b` is short.
pub(crate) fn adler32(adler: u32, data: &[u8]) -> u32 {
    let mut a = (adler & 0xFFFF) % MOD;
    let mut b = (adler >> 16) % MOD;
    for chunk in data.chunks(NMAX) {
        let (quads, rest) = chunk.as_chunks::<4>();
        for q in quads {
            // b gains 4a + 4q0 + 3q1 + 2q2 + q3; a gains the four bytes.
            let [q0, q1, q2, q3] = q.map(u32::from);
            b += 4 * a + 4 * q0 + 3 * q1 + 2 * q2 + q3;
            a += q0 + q1 + q2 + q3;
        }
        for &x in rest {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}
