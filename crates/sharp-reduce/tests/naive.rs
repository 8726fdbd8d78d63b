//! `Scalar` (hence every backend) against small naive definitions written differently:
//! integers in i128 then wrapped, MIN/MAX as set properties rather than a fold, narrow
//! floats through the `half` crate, MINLOC/MAXLOC by sorting candidates.

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss,
    clippy::float_cmp,
    reason = "test code: a panic is a failure; the casts are the wrapping being tested"
)]

mod common;

use offload_sharp_reduce::{Bf16, F16, Op, Reducer, Scalar};
use offload_testkit::Rng;

const N_MAX: usize = if cfg!(miri) { 4 } else { 9 };
const LEN: usize = if cfg!(miri) { 5 } else { 200 };

fn ints(rng: &mut Rng) -> Vec<i32> {
    (0..LEN)
        .map(|_| match rng.below(4) {
            0 => 0,
            1 => rng.next_u64() as i32,
            _ => rng.below(9) as i32 - 4,
        })
        .collect()
}

#[test]
fn integers_match_i128_arithmetic() {
    let mut rng = Rng::new(1);
    for n in 1..=N_MAX {
        let xs: Vec<Vec<i32>> = (0..n).map(|_| ints(&mut rng)).collect();
        let ins: Vec<&[i32]> = xs.iter().map(|v| &v[..]).collect();
        for op in [
            Op::Sum,
            Op::Prod,
            Op::Min,
            Op::Max,
            Op::Avg,
            Op::Band,
            Op::Bor,
            Op::Bxor,
            Op::Land,
            Op::Lor,
            Op::Lxor,
        ] {
            let mut out = vec![0i32; LEN];
            Scalar.reduce(op, &ins, &mut out).unwrap();
            for j in 0..LEN {
                let col: Vec<i128> = xs.iter().map(|v| i128::from(v[j])).collect();
                let wrap = |v: i128| v as i32;
                let nz = col.iter().filter(|&&v| v != 0).count();
                let want = match op {
                    Op::Sum => wrap(col.iter().sum()),
                    Op::Prod => col.iter().fold(1i32, |a, &v| a.wrapping_mul(v as i32)),
                    Op::Min => wrap(*col.iter().min().unwrap()),
                    Op::Max => wrap(*col.iter().max().unwrap()),
                    // The wrapped sum, divided with truncation toward zero.
                    Op::Avg => wrap(i128::from(wrap(col.iter().sum())) / n as i128),
                    Op::Band => xs.iter().fold(-1, |a, v| a & v[j]),
                    Op::Bor => xs.iter().fold(0, |a, v| a | v[j]),
                    Op::Bxor => xs.iter().fold(0, |a, v| a ^ v[j]),
                    Op::Land => i32::from(nz == n),
                    Op::Lor => i32::from(nz > 0),
                    Op::Lxor => i32::from(nz % 2 == 1),
                    _ => unreachable!(),
                };
                assert_eq!(out[j], want, "{op} n={n} col={col:?}");
            }
        }
    }
}

fn floats(rng: &mut Rng) -> Vec<f32> {
    let sp = [
        0.0f32,
        -0.0,
        f32::INFINITY,
        -f32::INFINITY,
        f32::NAN,
        1e-40,
        -3.5,
    ];
    (0..LEN)
        .map(|_| match rng.below(6) {
            0 => sp[rng.below(sp.len())],
            1 => f32::from_bits(0xFFA0_0000 | rng.below(1000) as u32), // negative sNaN
            _ => (rng.below(2001) as f32 - 1000.0) / 64.0,
        })
        .collect()
}

/// IEEE 754-2019 minimum/maximum over a set: NaN if any (the first NaN, made quiet); else
/// the extreme value, −0 below +0.
fn set_extreme(col: &[f32], min: bool) -> u32 {
    if let Some(nan) = col.iter().find(|x| x.is_nan()) {
        return nan.to_bits() | 0x0040_0000;
    }
    let mut best = col[0];
    for &x in col {
        let key = |v: f32| (v, v.is_sign_negative());
        let (a, b) = (key(x), key(best));
        let better = if min {
            a.0 < b.0 || (a.0 == b.0 && a.1 && !b.1)
        } else {
            a.0 > b.0 || (a.0 == b.0 && !a.1 && b.1)
        };
        if better {
            best = x;
        }
    }
    best.to_bits()
}

#[test]
fn f32_matches_naive_definitions() {
    let mut rng = Rng::new(2);
    for n in 1..=N_MAX {
        let xs: Vec<Vec<f32>> = (0..n).map(|_| floats(&mut rng)).collect();
        let ins: Vec<&[f32]> = xs.iter().map(|v| &v[..]).collect();
        for op in [Op::Sum, Op::Prod, Op::Min, Op::Max, Op::Avg] {
            let mut out = vec![0f32; LEN];
            Scalar.reduce(op, &ins, &mut out).unwrap();
            for j in 0..LEN {
                let col: Vec<f32> = xs.iter().map(|v| v[j]).collect();
                let canon = |v: f32| if v.is_nan() { 0x7FC0_0000 } else { v.to_bits() };
                let s = 1.0 / n as f32;
                let want = match op {
                    Op::Sum => canon(col[1..].iter().fold(col[0], |a, &b| a + b)),
                    Op::Prod => canon(col[1..].iter().fold(col[0], |a, &b| a * b)),
                    Op::Avg => canon(col[1..].iter().fold(col[0] * s, |a, &b| a + b * s)),
                    Op::Min => set_extreme(&col, true),
                    _ => set_extreme(&col, false),
                };
                assert_eq!(out[j].to_bits(), want, "{op} n={n} col={col:?}");
            }
        }
    }
}

#[test]
fn narrow_floats_accumulate_in_f32_and_round_once_like_half() {
    let mut rng = Rng::new(3);
    for n in 1..=N_MAX {
        let xs: Vec<Vec<f32>> = (0..n).map(|_| floats(&mut rng)).collect();
        let bf: Vec<Vec<Bf16>> = xs
            .iter()
            .map(|v| v.iter().map(|&x| Bf16::from_f32(x)).collect())
            .collect();
        let hf: Vec<Vec<F16>> = xs
            .iter()
            .map(|v| v.iter().map(|&x| F16::from_f32(x)).collect())
            .collect();
        let bins: Vec<&[Bf16]> = bf.iter().map(|v| &v[..]).collect();
        let hins: Vec<&[F16]> = hf.iter().map(|v| &v[..]).collect();
        let mut bout = vec![Bf16(0); LEN];
        let mut hout = vec![F16(0); LEN];
        Scalar.reduce(Op::Sum, &bins, &mut bout).unwrap();
        Scalar.reduce(Op::Sum, &hins, &mut hout).unwrap();
        for j in 0..LEN {
            let sum = |f: &dyn Fn(usize) -> f32| {
                let s = (1..n).fold(f(0), |a, i| a + f(i));
                if s.is_nan() { f32::NAN } else { s }
            };
            let b = sum(&|i| half::bf16::from_bits(bf[i][j].0).to_f32());
            let h = sum(&|i| half::f16::from_bits(hf[i][j].0).to_f32());
            assert_eq!(
                bout[j].0,
                half::bf16::from_f32(b).to_bits(),
                "bf16 n={n} j={j}"
            );
            assert_eq!(
                hout[j].0,
                half::f16::from_f32(h).to_bits(),
                "f16 n={n} j={j}"
            );
        }
    }
}

#[test]
fn minloc_maxloc_match_sorting() {
    let mut rng = Rng::new(4);
    for n in 1..=N_MAX {
        let xs: Vec<Vec<f32>> = (0..n).map(|_| floats(&mut rng)).collect();
        let ix: Vec<Vec<u32>> = (0..n)
            .map(|_| (0..LEN).map(|_| rng.below(3) as u32).collect())
            .collect();
        let vs: Vec<&[f32]> = xs.iter().map(|v| &v[..]).collect();
        let is: Vec<&[u32]> = ix.iter().map(|v| &v[..]).collect();
        for op in [Op::MinLoc, Op::MaxLoc] {
            let (mut ov, mut oi) = (vec![0f32; LEN], vec![0u32; LEN]);
            Scalar.reduce_loc(op, &vs, &is, &mut ov, &mut oi).unwrap();
            for j in 0..LEN {
                let mut pairs: Vec<(f32, u32)> = (0..n).map(|i| (xs[i][j], ix[i][j])).collect();
                // NaN never wins unless all are NaN; ties: lowest index; −0 < +0.
                let non_nan: Vec<(f32, u32)> =
                    pairs.iter().copied().filter(|p| !p.0.is_nan()).collect();
                if !non_nan.is_empty() {
                    pairs = non_nan;
                }
                pairs.sort_by(|a, b| {
                    let by_value = if a.0.is_nan() {
                        core::cmp::Ordering::Equal
                    } else if op == Op::MinLoc {
                        a.0.total_cmp(&b.0)
                    } else {
                        b.0.total_cmp(&a.0)
                    };
                    by_value.then(a.1.cmp(&b.1))
                });
                let (wv, wi) = pairs[0];
                assert_eq!(oi[j], wi, "{op} j={j}");
                // Equal keys may come from different inputs with equal bits; NaN: lowest
                // index among the NaNs (any of them has that index's bits).
                if !wv.is_nan() {
                    assert_eq!(ov[j].to_bits(), wv.to_bits(), "{op} j={j}");
                } else {
                    assert!(ov[j].is_nan());
                }
            }
        }
    }
}
