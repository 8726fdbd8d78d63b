//! Compression: every `offload-compress` backend this CPU runs beside the peers, on the
//! built-in corpus (`offload_testkit::corpus`: text, logs, binary records, random, and the
//! 64 KiB interleave of all four) or, when `OFFLOAD_CORPUS` names a directory, on the
//! concatenation of its files as one more data set, `corpus`.
//!
//! - `compress/lz4_compress_<data>`, ids `<backend>/a<acceleration>`, `lz4_flex`,
//!   `liblz4/a<acceleration>`: LZ4 blocks of 64 KiB (the frame format's default block and a
//!   typical storage block) over 2 MiB per iteration. Throughput in uncompressed bytes. The
//!   compression ratio of each is printed once before timing (ours is byte-identical to
//!   liblz4's at the same acceleration, checked here too).
//! - `compress/lz4_decompress_<data>`, ids `<backend>`, `lz4_flex`, `liblz4`: the same
//!   blocks (liblz4's) decoded.
//! - `compress/xxh32`, ids `<backend>` and `twox-hash`: xxHash32 (the LZ4 frame checksum)
//!   of 64 KiB, checked equal first.
//! - `compress/adler32` (ids `<backend>`, `zlib-rs`, `simd-adler32`) and `compress/crc32`
//!   (ids `<backend>`, `zlib-rs`): the zlib and gzip checksums of 64 KiB, checked equal
//!   first.
//! - `compress/inflate_<data>_l<level>`, ids `<backend>`, `libdeflate`, `zlib-rs`, `zlib-ng`,
//!   `miniz_oxide`: one raw Deflate stream of the whole 2 MiB, written by libdeflate at
//!   levels 1 and 6, decoded into a caller buffer; every decoder's output checked equal
//!   first. The compressed ratio is printed.
//! - `compress/deflate_<data>_l<level>`, ids `<backend>`, `libdeflate`, `zlib-rs`, `zlib-ng`,
//!   `miniz_oxide`: the whole 2 MiB compressed as one raw Deflate stream at levels 1 and 6
//!   (`mixed` and `corpus` only: Deflate compression is slow enough that the other sets would
//!   dominate the run). Every result is decoded and checked first, and each compressor's ratio
//!   (compressed/original) is printed beside the group. `zlib-ng` is zlib-ng through
//!   `flate2`'s `zlib-ng` feature, `zlib-rs` the `zlib-rs` crate's one-shot functions.

#![allow(
    missing_docs,
    clippy::std_instead_of_core,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    reason = "a std bench binary: criterion's macros generate undocumented items, and a failed \
              setup or a wrong answer should stop the run loudly"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use offload_compress::{Auto, Backend, Codec, deflate, lz4};
use offload_testkit::corpus::{self, Kind};
use offload_testkit::lz4ref;

fn backends() -> Vec<(&'static str, Auto)> {
    offload_testkit::select_backends(
        "offload-benches/compress",
        Backend::ALL
            .iter()
            .map(|&b| (b.name(), Auto::with_backend(b)))
            .collect(),
    )
}

const BLOCK: usize = 64 * 1024;
const TOTAL: usize = 2 * 1024 * 1024;

fn data_sets() -> Vec<(String, Vec<u8>)> {
    let mut sets: Vec<(String, Vec<u8>)> = Kind::ALL
        .iter()
        .map(|&k| (k.name().to_string(), corpus::generate(k, TOTAL, 1)))
        .collect();
    sets.push(("mixed".into(), corpus::mixed(TOTAL, 1)));
    if let Some(dir) = std::env::var_os("OFFLOAD_CORPUS") {
        let mut all = Vec::new();
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .expect("OFFLOAD_CORPUS is a readable directory")
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        for p in paths {
            all.extend(std::fs::read(&p).expect("corpus file readable"));
        }
        sets.push(("corpus".into(), all));
    }
    sets
}

fn lz4(c: &mut Criterion) {
    let ours = backends();
    for (name, data) in data_sets() {
        let blocks: Vec<&[u8]> = data.chunks(BLOCK).collect();
        let reference: Vec<Vec<u8>> = blocks.iter().map(|b| lz4ref::compress_fast(b, 1)).collect();
        let packed: usize = reference.iter().map(Vec::len).sum();
        let flex: usize = blocks
            .iter()
            .map(|b| lz4_flex::block::compress(b).len())
            .sum();
        println!(
            "lz4 {name}: {} bytes; ratio (compressed/original) liblz4 a1 = ours a1 {:.4}, lz4_flex {:.4}",
            data.len(),
            packed as f64 / data.len() as f64,
            flex as f64 / data.len() as f64
        );
        let mut ws = lz4::Workspace::new();
        let mut out = vec![
            0u8;
            lz4_flex::block::get_maximum_output_size(BLOCK)
                .max(lz4::max_compressed_len(BLOCK))
        ];
        for &(_, codec) in &ours {
            for (block, expect) in blocks.iter().zip(&reference) {
                let n = lz4::compress_block(codec, &mut ws, block, &mut out, 1).unwrap();
                assert_eq!(&out[..n], expect.as_slice());
            }
        }

        let mut g = c.benchmark_group(format!("compress/lz4_compress_{name}"));
        g.throughput(Throughput::Bytes(data.len() as u64));
        for &(backend, codec) in &ours {
            for accel in [1, 8] {
                g.bench_function(BenchmarkId::new(backend, format!("a{accel}")), |b| {
                    b.iter(|| {
                        let mut total = 0;
                        for block in &blocks {
                            total += lz4::compress_block(codec, &mut ws, block, &mut out, accel)
                                .unwrap();
                        }
                        black_box(total)
                    });
                });
            }
        }
        g.bench_function("lz4_flex", |b| {
            b.iter(|| {
                let mut total = 0;
                for block in &blocks {
                    total += lz4_flex::block::compress_into(block, &mut out).unwrap();
                }
                black_box(total)
            });
        });
        for accel in [1, 8] {
            g.bench_function(BenchmarkId::new("liblz4", format!("a{accel}")), |b| {
                b.iter(|| {
                    let mut total = 0;
                    for block in &blocks {
                        total += lz4ref::compress_fast_into(block, &mut out, accel);
                    }
                    black_box(total)
                });
            });
        }
        g.finish();

        let mut g = c.benchmark_group(format!("compress/lz4_decompress_{name}"));
        g.throughput(Throughput::Bytes(data.len() as u64));
        let mut back = vec![0u8; BLOCK];
        for &(backend, codec) in &ours {
            g.bench_function(backend, |b| {
                b.iter(|| {
                    let mut total = 0;
                    for block in &reference {
                        total += lz4::decompress_block(codec, block, &mut back).unwrap();
                    }
                    black_box(total)
                });
            });
        }
        g.bench_function("lz4_flex", |b| {
            b.iter(|| {
                let mut total = 0;
                for block in &reference {
                    total += lz4_flex::block::decompress_into(block, &mut back).unwrap();
                }
                black_box(total)
            });
        });
        g.bench_function("liblz4", |b| {
            b.iter(|| {
                let mut total = 0;
                for block in &reference {
                    total += lz4ref::decompress_into(block, &mut back);
                }
                black_box(total)
            });
        });
        g.finish();
    }
}

fn inflate(c: &mut Criterion) {
    let ours = backends();
    for (name, data) in data_sets() {
        for level in [1, 6] {
            let mut compressor =
                libdeflater::Compressor::new(libdeflater::CompressionLvl::new(level).unwrap());
            let mut packed = vec![0u8; compressor.deflate_compress_bound(data.len())];
            let n = compressor.deflate_compress(&data, &mut packed).unwrap();
            packed.truncate(n);
            println!(
                "deflate {name} level {level}: ratio (compressed/original) {:.4}",
                n as f64 / data.len() as f64
            );
            let mut out = vec![0u8; data.len()];
            let mut inflater = deflate::Inflater::new();
            for &(_, codec) in &ours {
                out.fill(0);
                assert_eq!(
                    deflate::inflate_raw(codec, &mut inflater, &packed, &mut out),
                    Ok((packed.len(), data.len()))
                );
                assert!(out == data);
            }
            let mut g = c.benchmark_group(format!("compress/inflate_{name}_l{level}"));
            g.throughput(Throughput::Bytes(data.len() as u64));
            for &(backend, codec) in &ours {
                g.bench_function(backend, |b| {
                    b.iter(|| {
                        deflate::inflate_raw(codec, &mut inflater, black_box(&packed), &mut out)
                            .unwrap()
                    });
                });
            }
            let mut libdeflate = libdeflater::Decompressor::new();
            g.bench_function("libdeflate", |b| {
                b.iter(|| {
                    libdeflate
                        .deflate_decompress(black_box(&packed), &mut out)
                        .unwrap()
                });
            });
            g.bench_function("zlib-rs", |b| {
                b.iter(|| {
                    let (done, rc) = zlib_rs::decompress_slice(
                        &mut out,
                        black_box(&packed),
                        zlib_rs::InflateConfig { window_bits: -15 },
                    );
                    assert_eq!(rc, zlib_rs::ReturnCode::Ok);
                    done.len()
                });
            });
            g.bench_function("zlib-ng", |b| {
                let mut state = flate2::Decompress::new(false);
                b.iter(|| {
                    state.reset(false);
                    let status = state
                        .decompress(
                            black_box(&packed),
                            &mut out,
                            flate2::FlushDecompress::Finish,
                        )
                        .unwrap();
                    assert_eq!(status, flate2::Status::StreamEnd);
                    state.total_out()
                });
            });
            g.bench_function("miniz_oxide", |b| {
                b.iter(|| {
                    let mut state = miniz_oxide::inflate::core::DecompressorOxide::new();
                    let flags = miniz_oxide::inflate::core::inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
                    miniz_oxide::inflate::core::decompress(&mut state, black_box(&packed), &mut out, 0, flags)
                });
            });
            g.finish();
        }
    }
}

/// `data` as one raw Deflate stream by zlib-ng (through flate2) at `level`.
fn zlib_ng_compress(data: &[u8], level: u32, out: &mut [u8]) -> usize {
    let mut state = flate2::Compress::new(flate2::Compression::new(level), false);
    let status = state
        .compress(data, out, flate2::FlushCompress::Finish)
        .unwrap();
    assert_eq!(status, flate2::Status::StreamEnd);
    usize::try_from(state.total_out()).unwrap()
}

/// `data` as one raw Deflate stream by zlib-rs at `level`.
fn zlib_rs_compress(data: &[u8], level: u32, out: &mut [u8]) -> usize {
    zlib_rs_compress_with(data, level, zlib_rs::Strategy::Default, out)
}

/// [`zlib_rs_compress`] with a strategy (`Fixed`: fixed-Huffman blocks only).
fn zlib_rs_compress_with(
    data: &[u8],
    level: u32,
    strategy: zlib_rs::Strategy,
    out: &mut [u8],
) -> usize {
    let config = zlib_rs::DeflateConfig {
        window_bits: -15,
        strategy,
        ..zlib_rs::DeflateConfig::new(i32::try_from(level).unwrap())
    };
    let (done, rc) = zlib_rs::compress_slice(out, data, config);
    assert_eq!(rc, zlib_rs::ReturnCode::Ok);
    done.len()
}

fn deflate(c: &mut Criterion) {
    let ours = backends();
    for (name, data) in data_sets() {
        if name != "mixed" && name != "corpus" {
            continue;
        }
        let mut check = vec![0u8; data.len()];
        let mut inflater = deflate::Inflater::new();
        let mut verify = |who: &str, packed: &[u8]| {
            check.fill(0);
            assert_eq!(
                deflate::inflate_raw(Auto::detect(), &mut inflater, packed, &mut check),
                Ok((packed.len(), data.len())),
                "{who}"
            );
            assert!(check == data, "{who}");
            packed.len() as f64 / data.len() as f64
        };
        let mut out = vec![0u8; deflate::deflate_bound(data.len()) + 1024];
        let mut deflater = Box::new(deflate::Deflater::new());
        for level in [1u32, 6] {
            let mut ratios = Vec::new();
            for &(backend, codec) in &ours {
                let n = deflate::deflate_raw(codec, &mut deflater, level, &data, &mut out).unwrap();
                ratios.push((backend, verify(backend, &out[..n])));
            }
            let mut libdeflate = libdeflater::Compressor::new(
                libdeflater::CompressionLvl::new(level as i32).unwrap(),
            );
            let n = libdeflate.deflate_compress(&data, &mut out).unwrap();
            ratios.push(("libdeflate", verify("libdeflate", &out[..n])));
            let n = zlib_rs_compress(&data, level, &mut out);
            ratios.push(("zlib-rs", verify("zlib-rs", &out[..n])));
            let n = zlib_ng_compress(&data, level, &mut out);
            ratios.push(("zlib-ng", verify("zlib-ng", &out[..n])));
            let packed = miniz_oxide::deflate::compress_to_vec(&data, level as u8);
            ratios.push(("miniz_oxide", verify("miniz_oxide", &packed)));
            // Level 1's quick mode (fixed Huffman codes only), beside zlib's `Z_FIXED`.
            let mut fixed = Box::new(deflate::Deflater::with_strategy(deflate::Strategy::Fixed));
            let fixed_ours: Vec<(String, Auto)> = if level == 1 {
                ours.iter()
                    .map(|&(b, c)| (format!("{b}-fixed"), c))
                    .collect()
            } else {
                Vec::new()
            };
            let mut fixed_ratios = Vec::new();
            for (backend, codec) in &fixed_ours {
                let n = deflate::deflate_raw(*codec, &mut fixed, level, &data, &mut out).unwrap();
                fixed_ratios.push((backend.clone(), verify(backend, &out[..n])));
            }
            if level == 1 {
                let n = zlib_rs_compress_with(&data, level, zlib_rs::Strategy::Fixed, &mut out);
                fixed_ratios.push(("zlib-rs-fixed".into(), verify("zlib-rs-fixed", &out[..n])));
            }
            ratios.extend(fixed_ratios.iter().map(|(w, r)| (w.as_str(), *r)));
            let list: Vec<String> = ratios
                .iter()
                .map(|(who, r)| format!("{who} {r:.4}"))
                .collect();
            println!(
                "deflate {name} level {level}: ratio (compressed/original) {}",
                list.join(", ")
            );

            let mut g = c.benchmark_group(format!("compress/deflate_{name}_l{level}"));
            g.throughput(Throughput::Bytes(data.len() as u64));
            for &(backend, codec) in &ours {
                g.bench_function(backend, |b| {
                    b.iter(|| {
                        deflate::deflate_raw(
                            codec,
                            &mut deflater,
                            level,
                            black_box(&data),
                            &mut out,
                        )
                        .unwrap()
                    });
                });
            }
            g.bench_function("libdeflate", |b| {
                b.iter(|| {
                    libdeflate
                        .deflate_compress(black_box(&data), &mut out)
                        .unwrap()
                });
            });
            g.bench_function("zlib-rs", |b| {
                b.iter(|| zlib_rs_compress(black_box(&data), level, &mut out));
            });
            g.bench_function("zlib-ng", |b| {
                b.iter(|| zlib_ng_compress(black_box(&data), level, &mut out));
            });
            g.bench_function("miniz_oxide", |b| {
                b.iter(|| miniz_oxide::deflate::compress_to_vec(black_box(&data), level as u8));
            });
            for (backend, codec) in &fixed_ours {
                g.bench_function(backend.as_str(), |b| {
                    b.iter(|| {
                        deflate::deflate_raw(*codec, &mut fixed, level, black_box(&data), &mut out)
                            .unwrap()
                    });
                });
            }
            if level == 1 {
                g.bench_function("zlib-rs-fixed", |b| {
                    b.iter(|| {
                        zlib_rs_compress_with(
                            black_box(&data),
                            level,
                            zlib_rs::Strategy::Fixed,
                            &mut out,
                        )
                    });
                });
            }
            g.finish();
        }
    }
}

fn xxh32(c: &mut Criterion) {
    let data = corpus::mixed(64 * 1024, 3);
    let reference = twox_hash::XxHash32::oneshot(0, &data);
    let mut g = c.benchmark_group("compress/xxh32");
    g.throughput(Throughput::Bytes(data.len() as u64));
    for (backend, codec) in backends() {
        assert_eq!(codec.xxh32(0, &data), reference);
        g.bench_function(backend, |b| b.iter(|| codec.xxh32(0, black_box(&data))));
    }
    g.bench_function("twox-hash", |b| {
        b.iter(|| twox_hash::XxHash32::oneshot(0, black_box(&data)));
    });
    g.finish();
}

fn checksums(c: &mut Criterion) {
    let data = corpus::mixed(64 * 1024, 4);
    let adler = zlib_rs::adler32::adler32(1, &data);
    let mut g = c.benchmark_group("compress/adler32");
    g.throughput(Throughput::Bytes(data.len() as u64));
    for (backend, codec) in backends() {
        assert_eq!(codec.adler32(1, &data), adler);
        g.bench_function(backend, |b| b.iter(|| codec.adler32(1, black_box(&data))));
    }
    g.bench_function("zlib-rs", |b| {
        b.iter(|| zlib_rs::adler32::adler32(1, black_box(&data)));
    });
    g.bench_function("simd-adler32", |b| {
        b.iter(|| {
            let mut h = simd_adler32::Adler32::new();
            h.write(black_box(&data));
            h.finish()
        });
    });
    g.finish();

    let crc = zlib_rs::crc32::crc32(0, &data);
    let mut g = c.benchmark_group("compress/crc32");
    g.throughput(Throughput::Bytes(data.len() as u64));
    for (backend, codec) in backends() {
        assert_eq!(codec.crc32(0, &data), crc);
        g.bench_function(backend, |b| b.iter(|| codec.crc32(0, black_box(&data))));
    }
    g.bench_function("zlib-rs", |b| {
        b.iter(|| zlib_rs::crc32::crc32(0, black_box(&data)));
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20);
    targets = lz4, inflate, deflate, xxh32, checksums
}
criterion_main!(benches);
