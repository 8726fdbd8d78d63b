//! The machine's ceilings: copy and read bandwidth at packet, L2 and memory sizes. Every engine
//! is judged against these, and `offload bench` prints the same rows.

#![allow(
    missing_docs,
    clippy::std_instead_of_core,
    reason = "a std bench binary; criterion's macros generate undocumented items"
)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const SIZES: [usize; 3] = [1500, 64 << 10, 64 << 20];

fn data(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

fn memcpy(c: &mut Criterion) {
    let mut group = c.benchmark_group("ceiling/memcpy");
    for size in SIZES {
        let src = data(size);
        let mut dst = vec![0u8; size];
        group.throughput(Throughput::BytesDecimal(size as u64));
        group.bench_with_input(BenchmarkId::new("copy_from_slice", size), &src, |b, src| {
            b.iter(|| dst.copy_from_slice(black_box(src)));
        });
    }
    group.finish();
}

fn read(c: &mut Criterion) {
    let mut group = c.benchmark_group("ceiling/read");
    for size in SIZES {
        let src = data(size);
        group.throughput(Throughput::BytesDecimal(size as u64));
        group.bench_with_input(BenchmarkId::new("sum_u64", size), &src, |b, src| {
            b.iter(|| {
                let mut acc = [0u64; 8];
                for block in black_box(src).as_chunks::<64>().0 {
                    for (lane, word) in acc.iter_mut().zip(block.as_chunks::<8>().0) {
                        *lane = lane.wrapping_add(u64::from_le_bytes(*word));
                    }
                }
                acc
            });
        });
    }
    group.finish();
}

criterion_group!(benches, memcpy, read);
criterion_main!(benches);
