//! GF(2^8) with the reduction polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D) and generator 2:
//! the field of ISA-L, Backblaze JavaReedSolomon, klauspost/reedsolomon and the
//! `reed-solomon-erasure` crate. Every table is built at compile time by `const fn`.
//!
//! Besides log/exp, two per-coefficient expansions serve the kernels:
//! - [`GFNI_MATRIX`]: multiplication by `c` is GF(2)-linear on the 8 bits of a byte, so it is an
//!   8x8 bit matrix; `vgf2p8affineqb` applies it to 64 bytes at once. Layout (Intel's, as a
//!   little-endian u64): byte `7 - i` holds the input bits that feed output bit `i`, that is
//!   bit `j` of byte `7 - i` is bit `i` of `c * 2^j`.
//! - [`NIBBLE_TABLE`]: `c * x = c * (x & 15) ^ c * (x & 0xF0)`, two 16-entry tables for a
//!   byte shuffle (`vqtbl1q_u8` on NEON).

#![forbid(unsafe_code)]
#![expect(
    clippy::cast_possible_truncation,
    reason = "the table builders count 0..=255 and keep the low byte on purpose"
)]

/// The reduction polynomial, without the x^8 term as the tables use it (0x11D).
pub const POLYNOMIAL: u16 = 0x11D;

/// `a * 2` in the field.
#[inline(always)]
pub(crate) const fn xtime(a: u8) -> u8 {
    let shifted = (a as u16) << 1;
    if shifted & 0x100 != 0 {
        (shifted ^ POLYNOMIAL) as u8
    } else {
        shifted as u8
    }
}

/// `EXP[i] = 2^i` for i in 0..510 (doubled so `EXP[log a + log b]` needs no modulo).
const EXP: [u8; 510] = {
    let mut t = [0u8; 510];
    let mut x = 1u8;
    let mut i = 0;
    while i < 510 {
        t[i] = x;
        x = xtime(x);
        i += 1;
    }
    t
};

/// `LOG[a]` for a != 0; `LOG[0]` is unused (0).
const LOG: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 255 {
        t[EXP[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// Product in GF(2^8).
#[inline]
pub const fn mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        0
    } else {
        EXP[LOG[a as usize] as usize + LOG[b as usize] as usize]
    }
}

/// Multiplicative inverse; `inv(0)` is defined as 0 (it has none), as in ISA-L's `gf_inv`.
#[inline]
pub const fn inv(a: u8) -> u8 {
    if a == 0 {
        0
    } else {
        EXP[255 - LOG[a as usize] as usize]
    }
}

/// `a^n` with `0^0 = 1`, as Backblaze's and `reed-solomon-erasure`'s Vandermonde use it.
#[inline]
pub const fn pow(a: u8, n: usize) -> u8 {
    if n == 0 {
        1
    } else if a == 0 {
        0
    } else {
        EXP[(LOG[a as usize] as usize * n) % 255]
    }
}

/// The 8x8 bit matrix of multiplication by each coefficient, in `vgf2p8affineqb` layout.
#[cfg_attr(
    not(any(all(target_arch = "x86_64", target_feature = "sse2"), test)),
    expect(dead_code, reason = "only the AVX-512 backend uses GFNI matrices")
)]
pub(crate) const GFNI_MATRIX: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut c = 0;
    while c < 256 {
        let mut m = 0u64;
        let mut j = 0;
        while j < 8 {
            let column = mul(c as u8, 1 << j);
            let mut i = 0;
            while i < 8 {
                if column & (1 << i) != 0 {
                    m |= 1u64 << ((7 - i) * 8 + j);
                }
                i += 1;
            }
            j += 1;
        }
        t[c] = m;
        c += 1;
    }
    t
};

/// `NIBBLE_TABLE[c] = [c * 0x00, c * 0x01, …, c * 0x0F, c * 0x00, c * 0x10, …, c * 0xF0]`:
/// low-nibble products, then high-nibble products (ISA-L's `ec_init_tables` layout).
#[cfg_attr(
    not(any(
        target_arch = "aarch64",
        all(target_arch = "x86_64", target_feature = "sse2"),
        test
    )),
    expect(dead_code, reason = "only the AVX2 and NEON backends shuffle nibbles")
)]
pub(crate) const NIBBLE_TABLE: [[u8; 32]; 256] = {
    let mut t = [[0u8; 32]; 256];
    let mut c = 0;
    while c < 256 {
        let mut x = 0;
        while x < 16 {
            t[c][x] = mul(c as u8, x as u8);
            t[c][16 + x] = mul(c as u8, (x << 4) as u8);
            x += 1;
        }
        c += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Carry-less multiply and reduce, bit by bit: the definition, independent of the tables.
    fn naive_mul(mut a: u8, mut b: u8) -> u8 {
        let mut p = 0u8;
        while b != 0 {
            if b & 1 != 0 {
                p ^= a;
            }
            a = xtime(a);
            b >>= 1;
        }
        p
    }

    #[test]
    #[cfg_attr(miri, ignore = "exhaustive: natively 0.1 s, under Miri minutes")]
    fn mul_matches_definition_exhaustively() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(mul(a, b), naive_mul(a, b), "{a} * {b}");
            }
        }
    }

    #[test]
    fn inverse_is_inverse() {
        assert_eq!(inv(0), 0);
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a)), 1, "{a}");
        }
    }

    #[test]
    fn generator_has_order_255() {
        let mut seen = [false; 256];
        for i in 0..255 {
            let x = pow(2, i);
            assert!(!seen[x as usize]);
            seen[x as usize] = true;
        }
        assert_eq!(pow(0, 0), 1);
        assert_eq!(pow(0, 3), 0);
    }

    #[test]
    fn gfni_matrices_known_values() {
        // Published values (ISA-L gf_table_gfni, erasure notes): c = 1 and c = 2.
        assert_eq!(GFNI_MATRIX[1], 0x0102_0408_1020_4080);
        assert_eq!(GFNI_MATRIX[2], 0x8001_8284_8810_2040);
        assert_eq!(GFNI_MATRIX[0], 0);
    }

    #[test]
    #[cfg_attr(miri, ignore = "exhaustive: natively 0.1 s, under Miri minutes")]
    fn gfni_matrix_applies_as_affine() {
        // A software model of vgf2p8affineqb with imm8 = 0: output bit i is the parity of
        // (matrix byte 7 - i) AND x.
        for c in 0..=255u8 {
            let m = GFNI_MATRIX[c as usize].to_le_bytes();
            for x in 0..=255u8 {
                let mut y = 0u8;
                for i in 0..8 {
                    if (m[7 - i] & x).count_ones() & 1 == 1 {
                        y |= 1 << i;
                    }
                }
                assert_eq!(y, mul(c, x), "c={c} x={x}");
            }
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "exhaustive: natively 0.1 s, under Miri minutes")]
    fn nibble_tables_split_products() {
        for c in 0..=255u8 {
            let t = NIBBLE_TABLE[c as usize];
            for x in 0..=255u8 {
                assert_eq!(t[(x & 15) as usize] ^ t[16 + (x >> 4) as usize], mul(c, x));
            }
        }
    }
}
