//! Every backend available on this machine against `Scalar`, bit for bit: every operation ×
//! every type × both FP8 modes, lengths 0..=200 and a few large ones, misaligned slices,
//! N = 1..=16 inputs, NaN/±0/±Inf/subnormals mixed in; the typed, byte-level, in-place and
//! streaming entry points against each other; errors leave the output untouched.
//! `OFFLOAD_REQUIRE_BACKENDS=avx512,avx2,scalar` makes a missing backend a failure.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failure, and values are built from small indices"
)]

mod common;

use common::{FromLe, bytes, data, engines, modes, run_bytes, typed};
use offload_sharp_reduce::{
    Bf16, DType, E4M3, E5M2, Error, F16, Fp8Mode, MAX_INPUTS, Op, Reducer, Scalar,
};
use offload_testkit::Rng;

/// Every (operation, type) pair the plain entry points accept (under Miri, a spread-out
/// quarter of them plus every SUM).
fn combos() -> Vec<(Op, DType)> {
    let mut v = Vec::new();
    for dtype in DType::ALL {
        for op in Op::ALL {
            let keep =
                !cfg!(miri) || op == Op::Sum || (op as usize + dtype as usize).is_multiple_of(4);
            if keep && !op.is_loc() && op.supports(dtype) {
                v.push((op, dtype));
            }
        }
    }
    v
}

/// Builds `n` inputs of `len` elements, each at its own misalignment inside a larger buffer.
fn inputs(rng: &mut Rng, dtype: DType, n: usize, len: usize) -> Vec<(Vec<u8>, usize)> {
    (0..n)
        .map(|i| {
            let off = (i * 3 + len) % 4;
            let mut b = vec![0u8; off];
            b.extend(data(rng, dtype, len));
            (b, off)
        })
        .collect()
}

fn views(bufs: &[(Vec<u8>, usize)]) -> Vec<&[u8]> {
    bufs.iter().map(|(b, off)| &b[*off..]).collect()
}

fn check_case(rng: &mut Rng, op: Op, dtype: DType, n: usize, len: usize) {
    for mode in modes(dtype) {
        let r = op.with_fp8(mode);
        let bufs = inputs(rng, dtype, n, len);
        let ins = views(&bufs);
        let want = run_bytes(&Scalar, r, dtype, &ins, len * dtype.size());
        for (name, e) in engines() {
            // A misaligned output too.
            let mut out = vec![0x5Au8; len * dtype.size() + 1];
            e.reduce_bytes(r, dtype, &ins, &mut out[1..]).unwrap();
            assert!(
                out[1..] == want[..],
                "{name} {op} {dtype} {mode:?} n={n} len={len}\n got {:02x?}\nwant {:02x?}",
                &out[1..],
                want
            );
        }
    }
}

#[test]
fn all_backends_match_scalar_on_every_length() {
    let mut rng = Rng::new(0x5EED);
    let (lens, max_n): (Vec<usize>, usize) = if cfg!(miri) {
        (vec![0, 9, 33], 3)
    } else {
        ((0..=200).collect(), 16)
    };
    for (op, dtype) in combos() {
        for &len in &lens {
            let n = 1 + (len * 7 + op as usize) % max_n;
            check_case(&mut rng, op, dtype, n, len);
        }
    }
}

#[test]
fn all_backends_match_scalar_for_every_input_count() {
    let mut rng = Rng::new(0xC0DE);
    let (lens, ns): (&[usize], usize) = if cfg!(miri) {
        (&[5], 3)
    } else {
        (&[37, 129], 16)
    };
    for (op, dtype) in combos() {
        for &len in lens {
            for n in 1..=ns {
                check_case(&mut rng, op, dtype, n, len);
            }
        }
    }
}

#[test]
fn all_backends_match_scalar_on_large_inputs() {
    if cfg!(miri) {
        return;
    }
    let mut rng = Rng::new(0xB16);
    for (op, dtype) in combos() {
        check_case(&mut rng, op, dtype, 3, 4099);
    }
    for dtype in [
        DType::F32,
        DType::Bf16,
        DType::F16,
        DType::Fp8E4M3,
        DType::I32,
    ] {
        check_case(&mut rng, Op::Sum, dtype, 4, 65536 + 5);
    }
}

/// Outputs of 16 MiB and more are written around the caches (Avx512, Avx2), from the first
/// aligned element on: every start within a 64-byte aligned block (0 bytes, a whole element,
/// a few elements past it, and one byte off, where no element is aligned and the ordinary
/// stores are kept), for the four store shapes (whole-vector steps, bf16, f16, FP8).
#[test]
fn all_backends_match_scalar_on_outputs_past_the_non_temporal_threshold() {
    if cfg!(miri) {
        return;
    }
    let mut rng = Rng::new(0x0717);
    for dtype in [DType::F32, DType::Bf16, DType::F16, DType::Fp8E4M3] {
        let size = dtype.size();
        let len = (16 << 20) / size + 37;
        let bufs = inputs(&mut rng, dtype, 2, len);
        let ins = views(&bufs);
        let r = Op::Sum.with_fp8(modes(dtype)[0]);
        let want = run_bytes(&Scalar, r, dtype, &ins, len * size);
        let mut out = vec![0u8; len * size + 128];
        let base = out.as_ptr().align_offset(64);
        for extra in [0, size, 3 * size, 1] {
            let at = base + extra;
            for (name, e) in engines() {
                out.fill(0x5A);
                e.reduce_bytes(r, dtype, &ins, &mut out[at..at + len * size])
                    .unwrap();
                assert!(
                    out[at..at + len * size] == want[..],
                    "{name} {dtype} output at +{extra}"
                );
                assert!(
                    out[..at]
                        .iter()
                        .chain(&out[at + len * size..])
                        .all(|&b| b == 0x5A)
                );
            }
        }
    }
}

/// The typed API, `reduce_into`, `reduce_into_bytes` and the streaming API give the bytes
/// of `reduce_bytes`, on every backend.
fn entry_points_agree<T: FromLe>(rng: &mut Rng, op: Op, n: usize, len: usize) {
    let dtype = T::DTYPE;
    for mode in modes(dtype) {
        let r = op.with_fp8(mode);
        let raw: Vec<Vec<u8>> = (0..n).map(|_| data(rng, dtype, len)).collect();
        let ins: Vec<&[u8]> = raw.iter().map(|b| &b[..]).collect();
        let want = run_bytes(&Scalar, r, dtype, &ins, len * dtype.size());
        let tv: Vec<Vec<T>> = raw.iter().map(|b| typed::<T>(b)).collect();
        let tins: Vec<&[T]> = tv.iter().map(|v| &v[..]).collect();
        for (name, e) in engines() {
            let ctx = format!("{name} {op} {dtype} {mode:?} n={n} len={len}");
            let mut out = vec![T::default(); len];
            e.reduce(r, &tins, &mut out).unwrap();
            assert_eq!(bytes(&out), want, "typed {ctx}");

            let mut acc = tv[0].clone();
            e.reduce_into(r, &mut acc, &tins[1..]).unwrap();
            assert_eq!(bytes(&acc), want, "reduce_into {ctx}");

            let mut accb = raw[0].clone();
            e.reduce_into_bytes(r, dtype, &mut accb, &ins[1..]).unwrap();
            assert_eq!(accb, want, "reduce_into_bytes {ctx}");

            let mut wide = vec![<T::Acc>::default(); len];
            e.begin(r, n, tins[0], &mut wide).unwrap();
            for x in &tins[1..] {
                e.accumulate(r, n, x, &mut wide).unwrap();
            }
            let mut out = vec![T::default(); len];
            e.finish(r, n, &wide, &mut out).unwrap();
            assert_eq!(bytes(&out), want, "streaming {ctx}");
        }
    }
}

fn entry_points_for_type<T: FromLe>(rng: &mut Rng) {
    let lens: &[usize] = if cfg!(miri) {
        &[3]
    } else {
        &[0, 1, 31, 32, 33, 100, 257]
    };
    for op in Op::ALL {
        let skip = cfg!(miri) && !(op as usize + T::DTYPE as usize).is_multiple_of(4);
        if skip || op.is_loc() || !op.supports(T::DTYPE) {
            continue;
        }
        for (i, &len) in lens.iter().enumerate() {
            entry_points_agree::<T>(rng, op, 1 + (i * 5) % 9, len);
        }
    }
}

#[test]
fn typed_in_place_streaming_and_bytes_agree() {
    let mut rng = Rng::new(0xACC);
    for dtype in DType::ALL {
        with_type!(dtype, entry_points_for_type(&mut rng));
    }
}

/// The f32 accumulator bits after begin + accumulate over three inputs.
fn acc_bits<T: FromLe<Acc = f32>>(e: &impl Reducer, op: Op, raw: &[Vec<u8>]) -> Vec<u32> {
    let tv: Vec<Vec<T>> = raw.iter().map(|b| typed::<T>(b)).collect();
    let mut acc = vec![0f32; tv[0].len()];
    e.begin(op, tv.len(), &tv[0], &mut acc).unwrap();
    for x in &tv[1..] {
        e.accumulate(op, tv.len(), x, &mut acc).unwrap();
    }
    acc.iter().map(|x| x.to_bits()).collect()
}

/// The narrow types' f32 accumulators match exactly, NaN payloads included.
#[test]
fn streaming_accumulators_are_bit_identical() {
    let mut rng = Rng::new(0xF00D);
    let len = if cfg!(miri) { 9 } else { 300 };
    for dtype in [DType::F16, DType::Bf16, DType::Fp8E4M3, DType::Fp8E5M2] {
        for op in [Op::Sum, Op::Prod, Op::Min, Op::Max, Op::Avg] {
            let raw: Vec<Vec<u8>> = (0..3).map(|_| data(&mut rng, dtype, len)).collect();
            let bits = |e: &offload_sharp_reduce::Auto| match dtype {
                DType::F16 => acc_bits::<F16>(e, op, &raw),
                DType::Bf16 => acc_bits::<Bf16>(e, op, &raw),
                DType::Fp8E4M3 => acc_bits::<E4M3>(e, op, &raw),
                _ => acc_bits::<E5M2>(e, op, &raw),
            };
            let want = bits(&offload_sharp_reduce::Auto::Scalar(Scalar));
            for (name, e) in engines() {
                assert_eq!(bits(&e), want, "{name} {op} {dtype}");
            }
        }
    }
}

fn loc_case<T: FromLe>(rng: &mut Rng, n: usize, len: usize) {
    let raw: Vec<Vec<u8>> = (0..n).map(|_| data(rng, T::DTYPE, len)).collect();
    let vals: Vec<Vec<T>> = raw.iter().map(|b| typed::<T>(b)).collect();
    // Few distinct indices so ties happen.
    let idx: Vec<Vec<u32>> = (0..n)
        .map(|_| (0..len).map(|_| rng.below(4) as u32).collect())
        .collect();
    let vv: Vec<&[T]> = vals.iter().map(|v| &v[..]).collect();
    let iv: Vec<&[u32]> = idx.iter().map(|v| &v[..]).collect();
    for op in [Op::MinLoc, Op::MaxLoc] {
        let mut want = (vec![T::default(); len], vec![0u32; len]);
        Scalar
            .reduce_loc(op, &vv, &iv, &mut want.0, &mut want.1)
            .unwrap();
        for (name, e) in engines() {
            let mut got = (vec![T::default(); len], vec![0u32; len]);
            e.reduce_loc(op, &vv, &iv, &mut got.0, &mut got.1).unwrap();
            assert_eq!(bytes(&got.0), bytes(&want.0), "{name} {op} {}", T::DTYPE);
            assert_eq!(got.1, want.1, "{name} {op} {}", T::DTYPE);
        }
    }
}

#[test]
fn reduce_loc_matches_scalar() {
    let mut rng = Rng::new(0x10C);
    let len = if cfg!(miri) { 5 } else { 150 };
    for dtype in DType::ALL {
        for n in [1, 2, 5] {
            with_type!(dtype, loc_case(&mut rng, n, len));
        }
    }
}

#[test]
fn errors_are_reported_before_anything_is_written() {
    let a = [1.0f32, 2.0];
    let b = [3.0f32];
    for (name, e) in engines() {
        let mut out = [7.0f32; 2];
        let empty: [&[f32]; 0] = [];
        assert_eq!(e.reduce(Op::Sum, &empty, &mut out), Err(Error::NoInputs));
        assert_eq!(
            e.reduce(Op::Sum, &[&a, &b], &mut out),
            Err(Error::LengthMismatch {
                input: 1,
                expected: 2,
                found: 1
            }),
            "{name}"
        );
        assert_eq!(
            e.reduce(Op::Band, &[&a], &mut out),
            Err(Error::Unsupported {
                op: Op::Band,
                dtype: DType::F32
            })
        );
        assert_eq!(
            e.reduce(Op::MinLoc, &[&a], &mut out),
            Err(Error::Unsupported {
                op: Op::MinLoc,
                dtype: DType::F32
            })
        );
        assert_eq!(
            e.reduce(Op::Sum.with_fp8(Fp8Mode::Saturating), &[&a], &mut out),
            Err(Error::Fp8Mode { dtype: DType::F32 })
        );
        assert_eq!(out, [7.0; 2], "{name}: output touched on error");

        let mut ob = [9u8; 6];
        assert_eq!(
            e.reduce_bytes(Op::Sum, DType::F32, &[&[0u8; 6]], &mut ob),
            Err(Error::PartialElement { len: 6, size: 4 })
        );
        assert_eq!(ob, [9; 6]);

        if !cfg!(miri) {
            let one = [0u8; 4];
            let many = vec![&one[..]; MAX_INPUTS + 1];
            let mut o = [0u8; 4];
            assert_eq!(
                e.reduce_bytes(Op::Sum, DType::U32, &many, &mut o),
                Err(Error::TooManyInputs {
                    count: MAX_INPUTS + 1,
                    max: MAX_INPUTS
                })
            );
        }

        let mut oi = [0u32; 2];
        assert_eq!(
            e.reduce_loc(
                Op::MinLoc,
                &[&a[..], &a[..]],
                &[&[0u32, 1][..]],
                &mut out,
                &mut oi
            ),
            Err(Error::IndexCount {
                values: 2,
                indices: 1
            })
        );
        assert_eq!(
            e.reduce_loc(Op::Sum, &[&a[..]], &[&[0u32, 1][..]], &mut out, &mut oi),
            Err(Error::Unsupported {
                op: Op::Sum,
                dtype: DType::F32
            })
        );
        let mut acc = [0f32; 1];
        assert_eq!(
            e.begin(Op::Sum, 1, &a[..], &mut acc),
            Err(Error::LengthMismatch {
                input: 0,
                expected: 1,
                found: 2
            })
        );
    }
}

#[test]
fn errors_display_one_line() {
    let all = [
        Error::NoInputs,
        Error::TooManyInputs { count: 9, max: 8 },
        Error::LengthMismatch {
            input: 1,
            expected: 2,
            found: 3,
        },
        Error::Unsupported {
            op: Op::Bxor,
            dtype: DType::F16,
        },
        Error::Unsupported {
            op: Op::MaxLoc,
            dtype: DType::F16,
        },
        Error::PartialElement { len: 3, size: 2 },
        Error::Fp8Mode { dtype: DType::F32 },
        Error::IndexCount {
            values: 1,
            indices: 2,
        },
    ];
    for e in all {
        let s = e.to_string();
        assert!(
            !s.is_empty() && !s.contains('\n') && !s.ends_with('.'),
            "{s}"
        );
    }
}

#[test]
fn names_round_trip() {
    for d in DType::ALL {
        assert_eq!(DType::from_name(d.name()), Some(d));
    }
    for o in Op::ALL {
        assert_eq!(Op::from_name(o.name()), Some(o));
    }
    assert_eq!(DType::from_name("float8_e4m3fn"), Some(DType::Fp8E4M3));
    assert_eq!(DType::from_name("BF16"), Some(DType::Bf16));
    assert_eq!(DType::from_name("f8"), None);
}
