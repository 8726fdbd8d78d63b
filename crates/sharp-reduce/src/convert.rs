//! Exact conversions between f32 and the narrow formats, in integer arithmetic (no
//! floating-point operation, so the results do not depend on the FPU mode, the compiler or
//! Miri's NaN choices).
//!
//! - f16 and bf16: bit-exact with the `half` crate (`from_f32`, `to_f32`), including NaN
//!   payloads (quieted) and subnormals.
//! - FP8 (OCP E4M3 / E5M2): bit-exact with ml_dtypes 0.6 in [`Fp8Mode::NonSaturating`];
//!   [`Fp8Mode::Saturating`] clamps overflow and ±Inf to ±max finite. NaN becomes the sign
//!   plus `0x7F` (E4M3) or `0x7E` (E5M2); FP8 NaN decodes to the sign plus `0x7FC0_0000`.
//!
//! Every f32 → narrow rounding goes through one routine, [`round`]: round to nearest, ties
//! to even, on the magnitude's bits, with gradual underflow (subnormals are produced and
//! never flushed).

#![forbid(unsafe_code)]

use crate::Fp8Mode;

/// Rounds the finite magnitude `a` (f32 bits without the sign) to a binary format with
/// `man` mantissa bits and exponent bias `bias`, round-to-nearest-even, subnormals kept.
/// Returns the format's magnitude code (exponent field << `man` | mantissa); a code at or
/// above the format's infinity code means overflow.
const fn round(a: u32, man: u32, bias: u32) -> u32 {
    let e32 = a >> 23;
    if e32 >= 128 - bias {
        // Normal in the target: add half an ulp minus one plus the kept lsb (ties to even),
        // truncate, and rebias. A carry out of the mantissa bumps the exponent, as it should.
        let sh = 23 - man;
        let r = a + (1 << (sh - 1)) - 1 + ((a >> sh) & 1);
        (r >> sh) - ((127 - bias) << man)
    } else {
        // Subnormal in the target: the significand shifted right by `s`, rounded to even.
        let (m, e) = if e32 == 0 {
            (a & 0x7F_FFFF, 1)
        } else {
            ((a & 0x7F_FFFF) | 0x80_0000, e32)
        };
        let s = 151 - bias - man - e;
        if s >= 32 {
            return 0;
        }
        let q = m >> s;
        let rem = m & ((1 << s) - 1);
        let half = 1 << (s - 1);
        if rem > half || (rem == half && q & 1 == 1) {
            q + 1
        } else {
            q
        }
    }
}

/// f32 → IEEE binary16 bits: round to nearest even, subnormals kept, overflow → ±Inf,
/// NaN → quiet NaN with the top ten payload bits (as `half::f16::from_f32`).
#[expect(clippy::cast_possible_truncation, reason = "16-bit codes")]
pub const fn f32_to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = (bits >> 16) as u16 & 0x8000;
    let a = bits & 0x7FFF_FFFF;
    if a > 0x7F80_0000 {
        return sign | 0x7E00 | ((a >> 13) as u16 & 0x03FF);
    }
    if a == 0x7F80_0000 {
        return sign | 0x7C00;
    }
    let code = round(a, 10, 15);
    if code >= 0x7C00 {
        sign | 0x7C00
    } else {
        sign | code as u16
    }
}

/// IEEE binary16 bits → f32, exact; NaN made quiet with its payload kept (as
/// `half::f16::to_f32`).
pub const fn f16_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let exp = (h >> 10) & 0x1F;
    let man = h & 0x3FF;
    let bits = if exp == 0x1F {
        if man == 0 {
            sign | 0x7F80_0000
        } else {
            sign | 0x7FC0_0000 | (man << 13)
        }
    } else if exp == 0 {
        if man == 0 {
            sign
        } else {
            // man × 2^-24 with the top bit of `man` at position p: exponent p - 24.
            let p = 31 - man.leading_zeros();
            sign | ((p + 103) << 23) | ((man << (23 - p)) & 0x7F_FFFF)
        }
    } else {
        sign | ((exp + 112) << 23) | (man << 13)
    };
    f32::from_bits(bits)
}

/// f32 → bfloat16 bits: round to nearest even on the upper half, subnormals kept (never
/// flushed), overflow → ±Inf, NaN → quiet NaN keeping the sign and top payload bits (as
/// `half::bf16::from_f32`).
pub const fn f32_to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    if bits & 0x7FFF_FFFF > 0x7F80_0000 {
        return (bits >> 16) as u16 | 0x0040;
    }
    ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) as u16
}

/// bfloat16 bits → f32, exact; a signalling NaN is made quiet (as `half::bf16::to_f32`).
pub const fn bf16_to_f32(b: u16) -> f32 {
    let b = if b & 0x7FFF > 0x7F80 { b | 0x0040 } else { b };
    f32::from_bits((b as u32) << 16)
}

/// f32 → OCP FP8 E4M3 (E4M3FN) bits, round to nearest even, subnormals kept.
/// Non-saturating: magnitudes above 464 and ±Inf → NaN (`0x7F`, sign kept); saturating:
/// → ±448 (`0x7E`). NaN → `0x7F` with the sign.
#[expect(clippy::cast_possible_truncation, reason = "8-bit codes")]
pub const fn f32_to_e4m3(x: f32, mode: Fp8Mode) -> u8 {
    let bits = x.to_bits();
    let sign = (bits >> 24) as u8 & 0x80;
    let a = bits & 0x7FFF_FFFF;
    if a > 0x7F80_0000 {
        return sign | 0x7F;
    }
    // ±Inf rounds to a huge code, so it takes the overflow branch.
    let code = round(a, 3, 7);
    if code > 0x7E {
        return match mode {
            Fp8Mode::Saturating => sign | 0x7E,
            Fp8Mode::NonSaturating => sign | 0x7F,
        };
    }
    sign | code as u8
}

/// f32 → OCP FP8 E5M2 bits, round to nearest even, subnormals kept. Non-saturating:
/// magnitudes from 61440 and ±Inf → ±Inf (`0x7C`); saturating: → ±57344 (`0x7B`).
/// NaN → `0x7E` with the sign.
#[expect(clippy::cast_possible_truncation, reason = "8-bit codes")]
pub const fn f32_to_e5m2(x: f32, mode: Fp8Mode) -> u8 {
    let bits = x.to_bits();
    let sign = (bits >> 24) as u8 & 0x80;
    let a = bits & 0x7FFF_FFFF;
    if a > 0x7F80_0000 {
        return sign | 0x7E;
    }
    let code = round(a, 2, 15);
    if code > 0x7B {
        return match mode {
            Fp8Mode::Saturating => sign | 0x7B,
            Fp8Mode::NonSaturating => sign | 0x7C,
        };
    }
    sign | code as u8
}

/// The f32 bits of an FP8 code with `man` mantissa bits and bias `bias` (finite codes
/// only; the callers handle NaN and Inf).
const fn fp8_bits(b: u8, man: u32, bias: u32) -> u32 {
    let b = b as u32;
    let sign = (b & 0x80) << 24;
    let exp = (b & 0x7F) >> man;
    let m = b & ((1 << man) - 1);
    if exp == 0 {
        if m == 0 {
            return sign;
        }
        // m × 2^(1 - bias - man), normalised.
        let p = 31 - m.leading_zeros();
        let e = 127 + 1 + p - bias - man;
        sign | (e << 23) | ((m << (23 - p)) & 0x7F_FFFF)
    } else {
        sign | ((exp + 127 - bias) << 23) | (m << (23 - man))
    }
}

const fn build_e4m3() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        #[expect(clippy::cast_possible_truncation, reason = "i < 256")]
        let b = i as u8;
        t[i] = if b & 0x7F == 0x7F {
            ((b as u32 & 0x80) << 24) | 0x7FC0_0000
        } else {
            fp8_bits(b, 3, 7)
        };
        i += 1;
    }
    t
}

const fn build_e5m2() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        #[expect(clippy::cast_possible_truncation, reason = "i < 256")]
        let b = i as u8;
        let sign = (b as u32 & 0x80) << 24;
        t[i] = if b & 0x7F > 0x7C {
            sign | 0x7FC0_0000
        } else if b & 0x7F == 0x7C {
            sign | 0x7F80_0000
        } else {
            fp8_bits(b, 2, 15)
        };
        i += 1;
    }
    t
}

/// f32 bits of every E4M3 code.
pub(crate) static E4M3_TO_F32: [u32; 256] = build_e4m3();
/// f32 bits of every E5M2 code.
pub(crate) static E5M2_TO_F32: [u32; 256] = build_e5m2();

/// OCP FP8 E4M3 bits → f32, exact; NaN (`0x7F`/`0xFF`) → the sign plus `0x7FC0_0000`.
pub fn e4m3_to_f32(b: u8) -> f32 {
    f32::from_bits(E4M3_TO_F32[usize::from(b)])
}

/// OCP FP8 E5M2 bits → f32, exact; NaN → the sign plus `0x7FC0_0000`.
pub fn e5m2_to_f32(b: u8) -> f32 {
    f32::from_bits(E5M2_TO_F32[usize::from(b)])
}
