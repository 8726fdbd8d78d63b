//! The public conversions against the `half` crate (all 2^16 narrow → f32; f32 → narrow on
//! every 257th pattern of 2^32 plus boundaries) and against ml_dtypes (a generated table for
//! FP8, see `tests/gen/fp8_table.py`), a hand-checked golden table of boundary cases, and
//! every backend's vector conversions (reached through the streaming API) against the
//! scalar functions on the same inputs.

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core,
    reason = "test code: a panic is a failure"
)]

mod common;

#[path = "gen/fp8_table.rs"]
mod fp8_table;

use common::engines;
use offload_sharp_reduce::{
    Bf16, E4M3, E5M2, F16, Fp8Mode, Op, Reducer, bf16_to_f32, e4m3_to_f32, e5m2_to_f32, f16_to_f32,
    f32_to_bf16, f32_to_e4m3, f32_to_e5m2, f32_to_f16,
};

const NS: Fp8Mode = Fp8Mode::NonSaturating;
const SAT: Fp8Mode = Fp8Mode::Saturating;

/// Step through the 2^32 f32 patterns: every 257th (all exponents, all low-bit residues)
/// natively, far fewer under Miri.
const STEP: u64 = if cfg!(miri) { 0x0100_0003 } else { 257 };

/// f32 patterns every conversion must get right besides the sample.
fn boundaries() -> Vec<u32> {
    let mut v = Vec::new();
    for base in [
        0u32,
        0x0000_0001,
        0x0000_8000,
        0x007F_FFFF,
        0x0080_0000,
        0x3300_0000,
        0x3380_0000,
        0x3880_0000,
        0x3A80_0000,
        0x3B00_0000,
        0x3C80_0000,
        0x3F80_0000,
        0x43E0_0000,
        0x43E8_0000,
        0x4760_0000,
        0x4770_0000,
        0x477F_E000,
        0x477F_F000,
        0x7F7F_FFFF,
        0x7F80_0000,
        0x7F80_0001,
        0x7FC0_0000,
        0x7FFF_FFFF,
    ] {
        for d in [0u32, 1, 2, 0x7FFF, 0x8000, 0x8001, 0xFFFF] {
            for x in [base.wrapping_add(d), base.wrapping_sub(d)] {
                v.push(x & 0x7FFF_FFFF);
                v.push(x | 0x8000_0000);
            }
        }
    }
    v
}

fn sample() -> impl Iterator<Item = u32> {
    (0..(1u64 << 32))
        .step_by(STEP as usize)
        .map(|x| x as u32)
        .chain(boundaries())
}

#[test]
fn f16_to_f32_matches_half_exhaustively() {
    let step = if cfg!(miri) { 97 } else { 1 };
    for h in (0..=u16::MAX).step_by(step) {
        let want = half::f16::from_bits(h).to_f32().to_bits();
        assert_eq!(f16_to_f32(h).to_bits(), want, "{h:#06x}");
        assert_eq!(F16(h).to_f32().to_bits(), want);
    }
}

#[test]
fn bf16_to_f32_matches_half_exhaustively() {
    let step = if cfg!(miri) { 97 } else { 1 };
    for h in (0..=u16::MAX).step_by(step) {
        let want = half::bf16::from_bits(h).to_f32().to_bits();
        assert_eq!(bf16_to_f32(h).to_bits(), want, "{h:#06x}");
        assert_eq!(Bf16(h).to_f32().to_bits(), want);
    }
}

#[test]
fn f32_to_f16_and_bf16_match_half_on_a_dense_sample() {
    for x in sample() {
        let f = f32::from_bits(x);
        assert_eq!(
            f32_to_f16(f),
            half::f16::from_f32(f).to_bits(),
            "f16 {x:#010x}"
        );
        assert_eq!(
            f32_to_bf16(f),
            half::bf16::from_f32(f).to_bits(),
            "bf16 {x:#010x}"
        );
    }
}

#[test]
fn fp8_matches_ml_dtypes() {
    for &(x, e4, e5) in fp8_table::ENCODE {
        let f = f32::from_bits(x);
        assert_eq!(f32_to_e4m3(f, NS), e4, "e4m3 {x:#010x}");
        assert_eq!(f32_to_e5m2(f, NS), e5, "e5m2 {x:#010x}");
        assert_eq!(E4M3::from_f32(f, NS).0, e4);
        assert_eq!(E5M2::from_f32(f, NS).0, e5);
    }
    for b in 0..=255u8 {
        let i = usize::from(b);
        assert_eq!(
            e4m3_to_f32(b).to_bits(),
            fp8_table::E4M3_DECODE[i],
            "{b:#04x}"
        );
        assert_eq!(
            e5m2_to_f32(b).to_bits(),
            fp8_table::E5M2_DECODE[i],
            "{b:#04x}"
        );
    }
}

#[test]
fn fp8_round_trips_every_finite_code() {
    for b in 0..=255u8 {
        if !E4M3(b).is_nan() {
            assert_eq!(f32_to_e4m3(e4m3_to_f32(b), NS), b);
            assert_eq!(f32_to_e4m3(e4m3_to_f32(b), SAT), b);
        }
        if !E5M2(b).is_nan() {
            assert_eq!(f32_to_e5m2(e5m2_to_f32(b), NS), b);
            if b & 0x7F != 0x7C {
                assert_eq!(f32_to_e5m2(e5m2_to_f32(b), SAT), b);
            }
        }
    }
}

/// Hand-checked from the formats' definitions (notes on OCP FP8 and `half`): (f32 bits,
/// f16, bf16, E4M3 non-sat, E4M3 sat, E5M2 non-sat, E5M2 sat).
#[rustfmt::skip]
const GOLDEN: &[(u32, u16, u16, u8, u8, u8, u8)] = &[
    (0x3F80_0000, 0x3C00, 0x3F80, 0x38, 0x38, 0x3C, 0x3C), // 1.0
    (0x8000_0000, 0x8000, 0x8000, 0x80, 0x80, 0x80, 0x80), // -0
    (0x43E0_0000, 0x5F00, 0x43E0, 0x7E, 0x7E, 0x5F, 0x5F), // 448 = E4M3 max
    (0x43E8_0000, 0x5F40, 0x43E8, 0x7E, 0x7E, 0x5F, 0x5F), // 464: tie, to even 448
    (0x43E8_0001, 0x5F40, 0x43E8, 0x7F, 0x7E, 0x5F, 0x5F), // just above 464: overflow
    (0x43F0_0000, 0x5F80, 0x43F0, 0x7F, 0x7E, 0x60, 0x60), // 480
    (0x4760_0000, 0x7B00, 0x4760, 0x7F, 0x7E, 0x7B, 0x7B), // 57344 = E5M2 max
    (0x476F_FFFF, 0x7B80, 0x4770, 0x7F, 0x7E, 0x7B, 0x7B), // below 61440: 57344
    (0x4770_0000, 0x7B80, 0x4770, 0x7F, 0x7E, 0x7C, 0x7B), // 61440: tie, to even = Inf
    (0x477F_EFFF, 0x7BFF, 0x4780, 0x7F, 0x7E, 0x7C, 0x7B), // 65519.99: f16 max
    (0x477F_F000, 0x7C00, 0x4780, 0x7F, 0x7E, 0x7C, 0x7B), // 65520: f16 Inf
    (0x7F7F_FFFF, 0x7C00, 0x7F80, 0x7F, 0x7E, 0x7C, 0x7B), // f32 max: bf16 carry to Inf
    (0x7F80_0000, 0x7C00, 0x7F80, 0x7F, 0x7E, 0x7C, 0x7B), // +Inf
    (0xFF80_0000, 0xFC00, 0xFF80, 0xFF, 0xFE, 0xFC, 0xFB), // -Inf
    (0x7FC0_0000, 0x7E00, 0x7FC0, 0x7F, 0x7F, 0x7E, 0x7E), // NaN
    (0xFFC0_0000, 0xFE00, 0xFFC0, 0xFF, 0xFF, 0xFE, 0xFE), // -NaN
    (0x7F80_0001, 0x7E00, 0x7FC0, 0x7F, 0x7F, 0x7E, 0x7E), // sNaN: quiet, payload top bits
    (0x3B00_0000, 0x1800, 0x3B00, 0x01, 0x01, 0x18, 0x18), // 2^-9: E4M3 min subnormal
    (0x3A80_0000, 0x1400, 0x3A80, 0x00, 0x00, 0x14, 0x14), // 2^-10: tie, to even 0
    (0x3A80_0001, 0x1400, 0x3A80, 0x01, 0x01, 0x14, 0x14), // just above: 2^-9
    (0x3B40_0000, 0x1A00, 0x3B40, 0x02, 0x02, 0x1A, 0x1A), // 1.5 × 2^-9: tie, to even 2
    (0x3C7F_FFFF, 0x2400, 0x3C80, 0x08, 0x08, 0x24, 0x24), // rounds up to E4M3 min normal
    (0x3780_0000, 0x0100, 0x3780, 0x00, 0x00, 0x01, 0x01), // 2^-16: E5M2 min subnormal
    (0x3700_0000, 0x0080, 0x3700, 0x00, 0x00, 0x00, 0x00), // 2^-17: tie, to even 0
    (0x3700_0001, 0x0080, 0x3700, 0x00, 0x00, 0x01, 0x01), // just above: 2^-16
    (0x3300_0000, 0x0000, 0x3300, 0x00, 0x00, 0x00, 0x00), // 2^-25: f16 tie, to even 0
    (0x3300_0001, 0x0001, 0x3300, 0x00, 0x00, 0x00, 0x00), // just above: f16 min subnormal
    (0x0000_8001, 0x0000, 0x0001, 0x00, 0x00, 0x00, 0x00), // f32 subnormal: bf16 keeps it
    (0x007F_FFFF, 0x0000, 0x0080, 0x00, 0x00, 0x00, 0x00), // rounds up to bf16 min normal
];

#[test]
fn golden_boundaries() {
    for &(x, h, b, e4, e4s, e5, e5s) in GOLDEN {
        let f = f32::from_bits(x);
        assert_eq!(f32_to_f16(f), h, "f16 {x:#010x}");
        assert_eq!(f32_to_bf16(f), b, "bf16 {x:#010x}");
        assert_eq!(f32_to_e4m3(f, NS), e4, "e4m3 {x:#010x}");
        assert_eq!(f32_to_e4m3(f, SAT), e4s, "e4m3 sat {x:#010x}");
        assert_eq!(f32_to_e5m2(f, NS), e5, "e5m2 {x:#010x}");
        assert_eq!(f32_to_e5m2(f, SAT), e5s, "e5m2 sat {x:#010x}");
    }
}

/// Every backend widens every narrow code exactly as the scalar functions do
/// (`begin` with MAX: no arithmetic, NaN only made quiet, which these already are).
#[test]
fn backends_widen_like_the_functions() {
    let step = if cfg!(miri) { 97 } else { 1 };
    let h: Vec<u16> = (0..=u16::MAX).step_by(step).collect();
    let b: Vec<u8> = (0..=255).step_by(step.min(7)).collect();
    for (name, e) in engines() {
        let mut acc = vec![0f32; h.len()];
        let f16s: Vec<F16> = h.iter().map(|&x| F16(x)).collect();
        e.begin(Op::Max, 1, &f16s, &mut acc).unwrap();
        for (&x, a) in h.iter().zip(&acc) {
            assert_eq!(a.to_bits(), f16_to_f32(x).to_bits(), "{name} f16 {x:#06x}");
        }
        let bf16s: Vec<Bf16> = h.iter().map(|&x| Bf16(x)).collect();
        e.begin(Op::Max, 1, &bf16s, &mut acc).unwrap();
        for (&x, a) in h.iter().zip(&acc) {
            assert_eq!(
                a.to_bits(),
                bf16_to_f32(x).to_bits(),
                "{name} bf16 {x:#06x}"
            );
        }
        let mut acc = vec![0f32; b.len()];
        let e4: Vec<E4M3> = b.iter().map(|&x| E4M3(x)).collect();
        e.begin(Op::Max, 1, &e4, &mut acc).unwrap();
        for (&x, a) in b.iter().zip(&acc) {
            assert_eq!(
                a.to_bits(),
                e4m3_to_f32(x).to_bits(),
                "{name} e4m3 {x:#04x}"
            );
        }
        let e5: Vec<E5M2> = b.iter().map(|&x| E5M2(x)).collect();
        e.begin(Op::Max, 1, &e5, &mut acc).unwrap();
        for (&x, a) in b.iter().zip(&acc) {
            assert_eq!(
                a.to_bits(),
                e5m2_to_f32(x).to_bits(),
                "{name} e5m2 {x:#04x}"
            );
        }
    }
}

/// Every backend rounds f32 to every narrow type exactly as the scalar functions do, on
/// the dense sample (`finish` with MAX and one input: a pure conversion).
#[test]
fn backends_round_like_the_functions() {
    let xs: Vec<u32> = sample().collect();
    for (name, e) in engines() {
        for chunk in xs.chunks(1 << 16) {
            let acc: Vec<f32> = chunk.iter().map(|&x| f32::from_bits(x)).collect();
            let mut h = vec![F16(0); acc.len()];
            e.finish(Op::Max, 1, &acc, &mut h).unwrap();
            let mut b = vec![Bf16(0); acc.len()];
            e.finish(Op::Max, 1, &acc, &mut b).unwrap();
            let mut e4 = vec![E4M3(0); acc.len()];
            let mut e4s = vec![E4M3(0); acc.len()];
            e.finish(Op::Max, 1, &acc, &mut e4).unwrap();
            e.finish(Op::Max.with_fp8(SAT), 1, &acc, &mut e4s).unwrap();
            let mut e5 = vec![E5M2(0); acc.len()];
            let mut e5s = vec![E5M2(0); acc.len()];
            e.finish(Op::Max, 1, &acc, &mut e5).unwrap();
            e.finish(Op::Max.with_fp8(SAT), 1, &acc, &mut e5s).unwrap();
            for (i, &f) in acc.iter().enumerate() {
                let x = f.to_bits();
                assert_eq!(h[i].0, f32_to_f16(f), "{name} f16 {x:#010x}");
                assert_eq!(b[i].0, f32_to_bf16(f), "{name} bf16 {x:#010x}");
                assert_eq!(e4[i].0, f32_to_e4m3(f, NS), "{name} e4m3 {x:#010x}");
                assert_eq!(e4s[i].0, f32_to_e4m3(f, SAT), "{name} e4m3 sat {x:#010x}");
                assert_eq!(e5[i].0, f32_to_e5m2(f, NS), "{name} e5m2 {x:#010x}");
                assert_eq!(e5s[i].0, f32_to_e5m2(f, SAT), "{name} e5m2 sat {x:#010x}");
            }
        }
    }
}
