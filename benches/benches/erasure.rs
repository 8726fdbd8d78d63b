//! Reed-Solomon erasure coding: every `offload-erasure` backend this CPU runs, beside ISA-L
//! (`ec_encode_data`, loaded at run time), `reed-solomon-erasure` and `reed-solomon-simd`.
//!
//! Groups `erasure/encode/<k>+<m>` and `erasure/reconstruct/<k>+<m>`, one id per backend and
//! per peer, throughput = the k data shards' bytes. Every buffer is allocated before the timed
//! loop; before any timing the outputs are checked against ISA-L and `reed-solomon-erasure`,
//! so a bench never races a different computation without noticing.

#![allow(
    missing_docs,
    clippy::std_instead_of_core,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a std bench binary: criterion's macros generate undocumented items, and a failed \
              setup or a wrong answer should stop the run loudly"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use offload_erasure::{Auto, Backend, Code, ErasureCoder, Workspace};
use offload_testkit::Rng;
use offload_testkit::isal::{Isal, Kernels};
use reed_solomon_erasure::galois_8::ReedSolomon;
use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};

/// (k, m): a wide storage stripe, a small one and one in between.
const SHAPES: [(usize, usize); 3] = [(10, 4), (4, 2), (8, 3)];

/// Shard sizes and their labels in the benchmark ids.
const SIZES: [(usize, &str); 3] = [(4 << 10, "4KiB"), (64 << 10, "64KiB"), (1 << 20, "1MiB")];

/// The shards lost in the reconstruct group: data shards 0 and 1, the worst case (both must be
/// rebuilt through an inverted matrix, from parity). The code below relies on the lost shards
/// being the first ones, so the survivors are shards `2..k + 2`.
const LOST: usize = 2;

/// Our backends that run on this CPU (printed; `OFFLOAD_REQUIRE_BACKENDS` makes a missing one
/// fatal). Iterates `Backend::ALL`, so a new backend is benched as soon as it exists.
fn backends() -> Vec<(&'static str, Auto)> {
    offload_testkit::select_backends(
        "offload-benches/erasure",
        Backend::ALL
            .iter()
            .map(|&b| (b.name(), Auto::with_backend(b)))
            .collect(),
    )
}

fn seed(k: usize, m: usize, size: usize) -> u64 {
    ((k as u64) << 48) ^ ((m as u64) << 40) ^ size as u64
}

/// k data shards of `size` random bytes.
fn data_shards(k: usize, m: usize, size: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed(k, m, size));
    (0..k).map(|_| rng.bytes(size)).collect()
}

fn refs(shards: &[Vec<u8>]) -> Vec<&[u8]> {
    shards.iter().map(Vec::as_slice).collect()
}

fn muts(shards: &mut [Vec<u8>]) -> Vec<&mut [u8]> {
    shards.iter_mut().map(Vec::as_mut_slice).collect()
}

/// The k data shards followed by m parity shards that `encode` computes.
fn stripe(
    data: &[Vec<u8>],
    m: usize,
    encode: impl FnOnce(&[&[u8]], &mut [&mut [u8]]),
) -> Vec<Vec<u8>> {
    let (k, size) = (data.len(), data.first().map_or(0, Vec::len));
    let mut shards = data.to_vec();
    shards.extend((0..m).map(|_| vec![0u8; size]));
    let (d, p) = shards.split_at_mut(k);
    encode(&refs(d), &mut muts(p));
    shards
}

/// Once, untimed: our encode equals ISA-L's for the Cauchy matrix and
/// `reed-solomon-erasure`'s for the Vandermonde one, on every shape and every backend.
/// (`reed-solomon-simd` computes a different code, a GF(2^16) Leopard-style FFT code, so its
/// output cannot be compared; its decode is checked to round-trip instead, in `reconstruct`.)
fn check_agreement(isal: Option<&Isal>) {
    let size = 4096 + 64 + 7; // not a multiple of any vector width: tails are exercised too
    for (k, m) in SHAPES {
        let data = data_shards(k, m, size);
        let data = refs(&data);
        let cauchy = Code::cauchy(k, m).unwrap();
        let vandermonde = Code::vandermonde(k, m).unwrap();

        let mut expected_v = vec![vec![0u8; size]; m];
        ReedSolomon::new(k, m)
            .unwrap()
            .encode_sep(&data, &mut expected_v)
            .unwrap();
        let expected_c = isal.map(|isal| {
            let matrix = isal.cauchy1_matrix(k, m);
            assert_eq!(
                &matrix[k * k..],
                cauchy.parity_matrix(),
                "Cauchy matrix differs from ISA-L's gf_gen_cauchy1_matrix ({k}+{m})"
            );
            let kernels = isal.kernels();
            let mut tables = vec![0u8; 32 * k * m];
            kernels.init_tables_into(k, m, &matrix[k * k..], &mut tables);
            let mut parity = vec![vec![0u8; size]; m];
            kernels.encode_into(&tables, &data, &mut muts(&mut parity));
            parity
        });

        for (name, coder) in backends() {
            let mut parity = vec![vec![0u8; size]; m];
            coder
                .encode(&vandermonde, &data, &mut muts(&mut parity))
                .unwrap();
            assert!(
                parity == expected_v,
                "{name}: Vandermonde encode differs from reed-solomon-erasure ({k}+{m})"
            );
            if let Some(expected_c) = &expected_c {
                coder
                    .encode(&cauchy, &data, &mut muts(&mut parity))
                    .unwrap();
                assert!(
                    parity == *expected_c,
                    "{name}: Cauchy encode differs from ISA-L ({k}+{m})"
                );
            }
        }
    }
    eprintln!(
        "offload-benches/erasure: encode output checked against {}reed-solomon-erasure",
        if isal.is_some() { "ISA-L and " } else { "" }
    );
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
}

fn encode(c: &mut Criterion) {
    let isal = Isal::load();
    check_agreement(isal.as_ref());
    let kernels = isal.as_ref().map(Isal::kernels);
    let backends = backends();

    for (k, m) in SHAPES {
        let mut group = c.benchmark_group(format!("erasure/encode/{k}+{m}"));
        let code = Code::cauchy(k, m).unwrap();
        let rse = ReedSolomon::new(k, m).unwrap();
        // ISA-L: tables prepared once, outside the timed loop, as a real encoder does.
        let isal_tables = isal.as_ref().map(|isal| {
            let matrix = isal.cauchy1_matrix(k, m);
            let mut tables = vec![0u8; 32 * k * m];
            isal.kernels()
                .init_tables_into(k, m, &matrix[k * k..], &mut tables);
            tables
        });

        for (size, label) in SIZES {
            group.throughput(Throughput::BytesDecimal((k * size) as u64));
            let data = data_shards(k, m, size);
            let data = refs(&data);
            let mut parity = vec![vec![0u8; size]; m];

            for &(name, coder) in &backends {
                group.bench_function(BenchmarkId::new(name, label), |b| {
                    let mut outs = muts(&mut parity);
                    b.iter(|| coder.encode(&code, black_box(&data), &mut outs).unwrap());
                });
            }

            if let (Some(kernels), Some(tables)) = (&kernels, &isal_tables) {
                group.bench_function(BenchmarkId::new("isal", label), |b| {
                    let mut outs = muts(&mut parity);
                    b.iter(|| kernels.encode_into(tables, black_box(&data), &mut outs));
                });
            }

            // The ceiling: copying the same k data shards (the bytes an encode reads) into k
            // other buffers. At 1 MiB shards the stripe is far larger than L2, and an encode
            // can at best run at this speed.
            group.bench_function(BenchmarkId::new("copy", label), |b| {
                let mut copies = vec![vec![0u8; size]; k];
                b.iter(|| {
                    for (dst, src) in copies.iter_mut().zip(black_box(&data)) {
                        dst.copy_from_slice(src);
                    }
                });
            });

            // Its systematic Vandermonde code (table-driven pure Rust: the crate's C
            // `simd-accel` feature is off in this workspace).
            group.bench_function(BenchmarkId::new("reed-solomon-erasure", label), |b| {
                let mut outs = muts(&mut parity);
                b.iter(|| rse.encode_sep(black_box(&data), &mut outs).unwrap());
            });

            // A different code (GF(2^16), Leopard-style FFT), the same job: k shards in, m
            // parity shards out. Its shard size must be even. One encoder is reused: dropping
            // the `EncoderResult` resets it (what `reset` does, keeping its buffers), and the
            // per-call work includes its own copies of the data into its working buffer; the
            // parity is read in place from that buffer.
            group.bench_function(BenchmarkId::new("reed-solomon-simd", label), |b| {
                let mut encoder = ReedSolomonEncoder::new(k, m, size).unwrap();
                b.iter(|| {
                    for shard in black_box(&data) {
                        encoder.add_original_shard(shard).unwrap();
                    }
                    let result = encoder.encode().unwrap();
                    black_box(result.recovery(m - 1));
                });
            });
        }
        group.finish();
    }
}

/// The full ISA-L decode recipe, as its `erasure_code_perf` times it: the encode rows of the
/// first k survivors, `gf_invert_matrix`, the decode rows of the lost data shards,
/// `ec_init_tables`, `ec_encode_data`. All buffers are the caller's.
struct IsalDecode<'a> {
    kernels: Kernels<'a>,
    k: usize,
    /// The (k + m) x k encode matrix.
    matrix: Vec<u8>,
    survivors_rows: Vec<u8>,
    inverse: Vec<u8>,
    decode_rows: Vec<u8>,
    tables: Vec<u8>,
}

impl<'a> IsalDecode<'a> {
    fn new(isal: &'a Isal, k: usize, m: usize) -> Self {
        Self {
            kernels: isal.kernels(),
            k,
            matrix: isal.cauchy1_matrix(k, m),
            survivors_rows: vec![0; k * k],
            inverse: vec![0; k * k],
            decode_rows: vec![0; LOST * k],
            tables: vec![0; 32 * k * LOST],
        }
    }

    /// Rebuilds data shards `0..LOST` into `lost` from the survivors `LOST..LOST + k`.
    fn run(&mut self, survivors: &[&[u8]], lost: &mut [&mut [u8]]) {
        let k = self.k;
        for (r, row) in self.survivors_rows.chunks_exact_mut(k).enumerate() {
            let s = LOST + r;
            row.copy_from_slice(&self.matrix[s * k..(s + 1) * k]);
        }
        assert!(
            self.kernels
                .invert_into(&mut self.survivors_rows, &mut self.inverse, k)
        );
        // A lost data shard's decode row is its row of the inverse (a lost parity shard would
        // need a product with its encode row; none is lost here).
        self.decode_rows.copy_from_slice(&self.inverse[..LOST * k]);
        self.kernels
            .init_tables_into(k, LOST, &self.decode_rows, &mut self.tables);
        self.kernels.encode_into(&self.tables, survivors, lost);
    }
}

fn reconstruct(c: &mut Criterion) {
    let isal = Isal::load();
    let backends = backends();
    let mut ws = Box::new(Workspace::new());

    for (k, m) in SHAPES {
        let mut group = c.benchmark_group(format!("erasure/reconstruct/{k}+{m}"));
        let code = Code::cauchy(k, m).unwrap();
        let rse = ReedSolomon::new(k, m).unwrap();
        let present: Vec<bool> = (0..k + m).map(|i| i >= LOST).collect();

        for (size, label) in SIZES {
            group.throughput(Throughput::BytesDecimal((k * size) as u64));
            let data = data_shards(k, m, size);

            // A Cauchy stripe for ours and ISA-L, a Vandermonde one for reed-solomon-erasure.
            let cauchy = stripe(&data, m, |d, p| {
                backends[0].1.encode(&code, d, p).unwrap();
            });
            let vandermonde = stripe(&data, m, |d, p| rse.encode_sep(d, p).unwrap());
            // Each bench starts from the stripe with its lost shards zeroed, checks one
            // untimed call, then times the same call (it rewrites the same lost buffers).
            let lose = |stripe: &[Vec<u8>]| {
                let mut shards = stripe.to_vec();
                for s in &mut shards[..LOST] {
                    s.fill(0);
                }
                shards
            };
            let check = |name: &str, shards: &[Vec<u8>]| {
                assert!(
                    shards[..LOST] == data[..LOST],
                    "{name}: reconstruct {k}+{m} {label} gave wrong data"
                );
            };

            // The timed work includes the decode-row computation, as a real decode does.
            for &(name, coder) in &backends {
                let mut shards = lose(&cauchy);
                let mut shard_refs = muts(&mut shards);
                coder
                    .reconstruct(&code, &mut shard_refs, &present, &mut ws)
                    .unwrap();
                drop(shard_refs);
                check(name, &shards);
                group.bench_function(BenchmarkId::new(name, label), |b| {
                    let mut shard_refs = muts(&mut shards);
                    b.iter(|| {
                        coder
                            .reconstruct(&code, black_box(&mut shard_refs), &present, &mut ws)
                            .unwrap();
                    });
                });
            }

            if let Some(isal) = &isal {
                let mut decode = IsalDecode::new(isal, k, m);
                let mut shards = lose(&cauchy);
                let (lost, rest) = shards.split_at_mut(LOST);
                decode.run(&refs(&rest[..k]), &mut muts(lost));
                check("isal", &shards);
                group.bench_function(BenchmarkId::new("isal", label), |b| {
                    let (lost, rest) = shards.split_at_mut(LOST);
                    let survivors = refs(&rest[..k]);
                    let mut lost = muts(lost);
                    b.iter(|| decode.run(black_box(&survivors), &mut lost));
                });
            }

            // Its `(buffer, present)` shard form rebuilds into the caller's buffers, so no
            // shard is allocated (the `Vec<Option<Vec<u8>>>` form would allocate the missing
            // shards on every call). Note: it caches inverted decode matrices by loss
            // pattern (an LRU), so after the first call its timed work skips the inversion
            // that ours and ISA-L's pay on every call; at these sizes that is a few hundred
            // nanoseconds at most.
            {
                let mut shards = lose(&vandermonde);
                let mut tagged: Vec<(&mut [u8], bool)> = shards
                    .iter_mut()
                    .zip(&present)
                    .map(|(s, &p)| (s.as_mut_slice(), p))
                    .collect();
                rse.reconstruct_data(&mut tagged).unwrap();
                drop(tagged);
                check("reed-solomon-erasure", &shards);
                group.bench_function(BenchmarkId::new("reed-solomon-erasure", label), |b| {
                    let mut tagged: Vec<(&mut [u8], bool)> = shards
                        .iter_mut()
                        .zip(&present)
                        .map(|(s, &p)| (s.as_mut_slice(), p))
                        .collect();
                    b.iter(|| rse.reconstruct_data(black_box(&mut tagged)).unwrap());
                });
            }

            // Its own code (see encode): originals 0 and 1 missing, rebuilt from originals
            // 2..k and recovery shards 0 and 1 (k shards in, as for the others). One decoder is
            // reused: dropping the `DecoderResult` resets it; its per-call work includes
            // copying the k input shards into its working buffer, and the restored shards are
            // read in place from it.
            {
                let mut encoder = ReedSolomonEncoder::new(k, m, size).unwrap();
                for shard in &data {
                    encoder.add_original_shard(shard).unwrap();
                }
                let recovery: Vec<Vec<u8>> = encoder
                    .encode()
                    .unwrap()
                    .recovery_iter()
                    .take(LOST)
                    .map(<[u8]>::to_vec)
                    .collect();
                let mut decoder = ReedSolomonDecoder::new(k, m, size).unwrap();
                let feed = |decoder: &mut ReedSolomonDecoder| {
                    for (i, shard) in data.iter().enumerate().skip(LOST) {
                        decoder.add_original_shard(i, black_box(shard)).unwrap();
                    }
                    for (i, shard) in recovery.iter().enumerate() {
                        decoder.add_recovery_shard(i, black_box(shard)).unwrap();
                    }
                };
                feed(&mut decoder);
                {
                    let result = decoder.decode().unwrap();
                    for (i, shard) in data.iter().enumerate().take(LOST) {
                        assert!(
                            result.restored_original(i) == Some(shard.as_slice()),
                            "reed-solomon-simd: decode {k}+{m} {label} gave wrong data"
                        );
                    }
                }
                group.bench_function(BenchmarkId::new("reed-solomon-simd", label), |b| {
                    b.iter(|| {
                        feed(&mut decoder);
                        let result = decoder.decode().unwrap();
                        black_box(result.restored_original(0));
                    });
                });
            }
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = config();
    targets = encode, reconstruct
}
criterion_main!(benches);
