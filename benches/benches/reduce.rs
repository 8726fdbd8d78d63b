//! SHARP reductions: every `offload-sharp-reduce` backend this CPU runs beside a naive fused
//! loop and naive pairwise passes, both compiled for this CPU's AVX-512 or AVX2/F16C/FMA (the
//! stand-in for `-C target-cpu=native`, enabled per function so the rest of the workspace builds for
//! the baseline target).
//!
//! - `sharp_reduce/sum_f32_x<N>_<size>` and `sharp_reduce/sum_bf16_x<N>_<size>`, ids
//!   `<backend>`, `naive-fused`, `naive-pairwise`: N inputs of `size` bytes each summed into
//!   one output. The naive fused loop walks the elements once and adds the N inputs left to
//!   right per element (bf16: widened to f32, rounded once to nearest even at the end, as the
//!   crate does); the pairwise passes are the MPI/Gloo shape `out = a + b; out += c; …`
//!   (bf16: rounded to bf16 after every pass, as those libraries do). Throughput is the input
//!   bytes read, to compare with the read-bandwidth ceiling (`benches/ceilings.rs`).
//!
//! Before timing, each backend's output is checked equal to the naive fused loop's (bit for
//! bit: both add in the same order and round once).

#![allow(
    missing_docs,
    clippy::std_instead_of_core,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    reason = "a std bench binary: criterion's macros generate undocumented items, and a failed \
              setup or a wrong answer should stop the run loudly"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use offload_sharp_reduce::{Auto, Backend, Bf16, Op, Reducer};
use offload_testkit::Rng;

fn backends() -> Vec<(&'static str, Auto)> {
    offload_testkit::select_backends(
        "offload-benches/reduce",
        Backend::ALL
            .iter()
            .map(|&b| (b.name(), Auto::with_backend(b)))
            .collect(),
    )
}

/// The fused loop: one pass over the elements, the `N` inputs added left to right per
/// element (`N` a constant, so the inner loop unrolls and the outer one vectorises).
#[inline(always)]
fn fused_f32_n<const N: usize>(ins: &[&[f32]], out: &mut [f32]) {
    let len = out.len();
    let ins: [&[f32]; N] = std::array::from_fn(|k| &ins[k][..len]);
    for (i, o) in out.iter_mut().enumerate() {
        let mut acc = ins[0][i];
        for s in &ins[1..] {
            acc += s[i];
        }
        *o = acc;
    }
}

#[inline(always)]
fn fused_f32(ins: &[&[f32]], out: &mut [f32]) {
    match ins.len() {
        2 => fused_f32_n::<2>(ins, out),
        4 => fused_f32_n::<4>(ins, out),
        8 => fused_f32_n::<8>(ins, out),
        n => unreachable!("the benches use 2, 4 or 8 inputs, not {n}"),
    }
}

/// Pairwise passes: `out = a + b`, then `out += c`, … (N - 1 passes over the output).
#[inline(always)]
fn pairwise_f32(ins: &[&[f32]], out: &mut [f32]) {
    out.copy_from_slice(ins[0]);
    for s in &ins[1..] {
        for (x, y) in out.iter_mut().zip(*s) {
            *x += *y;
        }
    }
}

/// f32 to bf16, round to nearest even, NaN kept quiet.
#[inline(always)]
fn to_bf16(x: f32) -> u16 {
    let b = x.to_bits();
    if x.is_nan() {
        return ((b >> 16) | 0x40) as u16;
    }
    ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) as u16
}

#[inline(always)]
fn fused_bf16_n<const N: usize>(ins: &[&[u16]], out: &mut [u16]) {
    let len = out.len();
    let ins: [&[u16]; N] = std::array::from_fn(|k| &ins[k][..len]);
    let widen = |x: u16| f32::from_bits(u32::from(x) << 16);
    for (i, o) in out.iter_mut().enumerate() {
        let mut acc = widen(ins[0][i]);
        for s in &ins[1..] {
            acc += widen(s[i]);
        }
        *o = to_bf16(acc);
    }
}

#[inline(always)]
fn fused_bf16(ins: &[&[u16]], out: &mut [u16]) {
    match ins.len() {
        2 => fused_bf16_n::<2>(ins, out),
        4 => fused_bf16_n::<4>(ins, out),
        8 => fused_bf16_n::<8>(ins, out),
        n => unreachable!("the benches use 2, 4 or 8 inputs, not {n}"),
    }
}

#[inline(always)]
fn pairwise_bf16(ins: &[&[u16]], out: &mut [u16]) {
    out.copy_from_slice(ins[0]);
    for s in &ins[1..] {
        for (x, y) in out.iter_mut().zip(*s) {
            *x = to_bf16(f32::from_bits(u32::from(*x) << 16) + f32::from_bits(u32::from(*y) << 16));
        }
    }
}

/// The naive loops compiled for this CPU: on x86_64 with AVX-512 (F, BW, VL, DQ) where the
/// CPU has it, else with AVX2, F16C and FMA, elsewhere as they are (NEON is the aarch64
/// baseline): the stand-in for `-C target-cpu=native`. The generic loops above are
/// `#[inline(always)]` so that they are compiled inside these wrappers: without it the
/// wrappers were a jump to a copy built for the x86_64 baseline (SSE2), which made the
/// fused bf16 loop about half as fast as its AVX2 build and our ratios over it too flattering.
mod native {
    #[cfg(target_arch = "x86_64")]
    mod x86 {
        macro_rules! tier {
            ($tier:ident, $features:literal) => {
                pub(super) mod $tier {
                    #[target_feature(enable = $features)]
                    pub(crate) fn fused_f32(ins: &[&[f32]], out: &mut [f32]) {
                        super::super::super::fused_f32(ins, out);
                    }
                    #[target_feature(enable = $features)]
                    pub(crate) fn pairwise_f32(ins: &[&[f32]], out: &mut [f32]) {
                        super::super::super::pairwise_f32(ins, out);
                    }
                    #[target_feature(enable = $features)]
                    pub(crate) fn fused_bf16(ins: &[&[u16]], out: &mut [u16]) {
                        super::super::super::fused_bf16(ins, out);
                    }
                    #[target_feature(enable = $features)]
                    pub(crate) fn pairwise_bf16(ins: &[&[u16]], out: &mut [u16]) {
                        super::super::super::pairwise_bf16(ins, out);
                    }
                }
            };
        }
        tier!(avx512, "avx512f,avx512bw,avx512vl,avx512dq,avx2,f16c,fma");
        tier!(avx2, "avx2,f16c,fma");

        pub(super) fn avx2() -> bool {
            std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("f16c")
                && std::is_x86_feature_detected!("fma")
        }

        pub(super) fn avx512() -> bool {
            avx2()
                && std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx512dq")
        }
    }

    macro_rules! native {
        ($name:ident, $t:ty) => {
            pub(crate) fn $name(ins: &[&[$t]], out: &mut [$t]) {
                #[cfg(target_arch = "x86_64")]
                {
                    if x86::avx512() {
                        // SAFETY: `avx512()` checked every feature this tier enables.
                        return unsafe { x86::avx512::$name(ins, out) };
                    }
                    if x86::avx2() {
                        // SAFETY: `avx2()` checked that this CPU has AVX2, F16C and FMA.
                        return unsafe { x86::avx2::$name(ins, out) };
                    }
                }
                super::$name(ins, out);
            }
        };
    }
    native!(fused_f32, f32);
    native!(pairwise_f32, f32);
    native!(fused_bf16, u16);
    native!(pairwise_bf16, u16);
}

fn finite_f32(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| (rng.next_u64() as u32 as f32 / u32::MAX as f32 - 0.5) * 1000.0)
        .collect()
}

fn sums(c: &mut Criterion) {
    let mut rng = Rng::new(0x5AA5);
    for (size, label) in [(256usize << 10, "256KiB"), (64 << 20, "64MiB")] {
        for n in [2usize, 4, 8] {
            if size > 1 << 20 && n != 4 {
                continue;
            }
            // f32
            let data: Vec<Vec<f32>> = (0..n).map(|_| finite_f32(&mut rng, size / 4)).collect();
            let ins: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
            let mut want = vec![0f32; size / 4];
            fused_f32(&ins, &mut want);
            let mut out = vec![0f32; size / 4];
            let mut group = c.benchmark_group(format!("sharp_reduce/sum_f32_x{n}_{label}"));
            group.throughput(Throughput::Bytes((n * size) as u64));
            if size > 1 << 20 {
                group.sample_size(10);
                group.measurement_time(Duration::from_secs(4));
            }
            for (name, r) in backends() {
                r.reduce(Op::Sum, &ins, &mut out).unwrap();
                assert!(
                    out.iter()
                        .zip(&want)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{name}"
                );
                group.bench_function(BenchmarkId::from_parameter(name), |b| {
                    b.iter(|| r.reduce(Op::Sum, black_box(&ins), &mut out).unwrap());
                });
            }
            group.bench_function("naive-fused", |b| {
                b.iter(|| native::fused_f32(black_box(&ins), &mut out));
            });
            group.bench_function("naive-pairwise", |b| {
                b.iter(|| native::pairwise_f32(black_box(&ins), &mut out));
            });
            group.finish();
            drop(data);

            // bf16
            let data: Vec<Vec<u16>> = (0..n)
                .map(|_| {
                    finite_f32(&mut rng, size / 2)
                        .into_iter()
                        .map(to_bf16)
                        .collect()
                })
                .collect();
            let ins: Vec<&[u16]> = data.iter().map(Vec::as_slice).collect();
            let typed: Vec<Vec<Bf16>> = data
                .iter()
                .map(|v| v.iter().map(|&x| Bf16(x)).collect())
                .collect();
            let typed_ins: Vec<&[Bf16]> = typed.iter().map(Vec::as_slice).collect();
            let mut want = vec![0u16; size / 2];
            fused_bf16(&ins, &mut want);
            let mut out = vec![Bf16(0); size / 2];
            let mut raw = vec![0u16; size / 2];
            let mut group = c.benchmark_group(format!("sharp_reduce/sum_bf16_x{n}_{label}"));
            group.throughput(Throughput::Bytes((n * size) as u64));
            if size > 1 << 20 {
                group.sample_size(10);
                group.measurement_time(Duration::from_secs(4));
            }
            for (name, r) in backends() {
                r.reduce(Op::Sum, &typed_ins, &mut out).unwrap();
                assert!(out.iter().zip(&want).all(|(a, b)| a.0 == *b), "{name}");
                group.bench_function(BenchmarkId::from_parameter(name), |b| {
                    b.iter(|| r.reduce(Op::Sum, black_box(&typed_ins), &mut out).unwrap());
                });
            }
            group.bench_function("naive-fused", |b| {
                b.iter(|| native::fused_bf16(black_box(&ins), &mut raw));
            });
            group.bench_function("naive-pairwise", |b| {
                b.iter(|| native::pairwise_bf16(black_box(&ins), &mut raw));
            });
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500));
    targets = sums
}
criterion_main!(benches);
