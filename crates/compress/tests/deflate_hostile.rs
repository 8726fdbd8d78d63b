//! Hostile input: streams truncated at every position, corrupted at every position, decoded
//! into every too-small buffer, and random bytes. Never a panic; every result is the same
//! into a 0x00-filled and a 0xFF-filled buffer, and nothing after the reported length is
//! written (checked by `decode_checked`).

// Safe code only (the hostile-input sweeps): under Miri, which is here for the `unsafe` of the
// SIMD backends and detection (tests/backends.rs), these would take many minutes.
#![cfg(not(miri))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is a test failure, and casts are of small lengths and symbols"
)]

mod support;

use std::io::Write;

use offload_compress::Error;
use proptest::prelude::*;
use support::{FORMATS, Format, backends, decode_checked, scale};

/// Small streams of every format and block type: stored, fixed, dynamic, multi-block.
fn small_streams() -> Vec<(Format, Vec<u8>, Vec<u8>)> {
    let mut rng = offload_testkit::Rng::new(21);
    let inputs = if cfg!(miri) {
        vec![support::text(&mut rng, 120), rng.bytes(40), Vec::new()]
    } else {
        vec![
            support::text(&mut rng, 1500),
            support::periods(900),
            rng.bytes(300),
            b"a".to_vec(),
            Vec::new(),
        ]
    };
    let levels: &[u32] = if cfg!(miri) { &[9] } else { &[0, 1, 9] };
    let mut out = Vec::new();
    for data in inputs {
        for &level in levels {
            let c = flate2::Compression::new(level);
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), c);
            e.write_all(&data).unwrap();
            out.push((Format::Raw, e.finish().unwrap(), data.clone()));
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), c);
            e.write_all(&data).unwrap();
            out.push((Format::Zlib, e.finish().unwrap(), data.clone()));
            let mut e = flate2::write::GzEncoder::new(Vec::new(), c);
            e.write_all(&data).unwrap();
            out.push((Format::Gzip, e.finish().unwrap(), data.clone()));
        }
        // Fixed-Huffman blocks (miniz_oxide level 1 on short inputs often picks them; the
        // raw stream at level 1 of a tiny input is fixed).
        out.push((
            Format::Raw,
            miniz_oxide::deflate::compress_to_vec(&data, 1),
            data.clone(),
        ));
    }
    out
}

#[test]
fn every_truncation_is_reported_as_truncated() {
    for (_, codec) in backends() {
        for (format, stream, data) in small_streams() {
            let step = if cfg!(miri) { 13 } else { 1 };
            for cut in (0..stream.len()).step_by(step) {
                let r = decode_checked(codec, format, &stream[..cut], data.len() + 16);
                assert_eq!(
                    r,
                    Err(Error::Truncated),
                    "{format:?} cut at {cut} of {}",
                    stream.len()
                );
            }
            let r = decode_checked(codec, format, &stream, data.len() + 16);
            assert_eq!(r, Ok((stream.len(), data)));
        }
    }
}

#[test]
fn every_single_byte_corruption_is_handled() {
    for (_, codec) in backends() {
        for (format, stream, data) in small_streams() {
            let step = if cfg!(miri) { 5 } else { 1 };
            for pos in (0..stream.len()).step_by(step) {
                let flips: &[u8] = if cfg!(miri) {
                    &[0x01, 0x80]
                } else {
                    &[0x01, 0x08, 0x80, 0xFF]
                };
                for &flip in flips {
                    let mut s = stream.clone();
                    s[pos] ^= flip;
                    // Err, or some Ok: the checks inside decode_checked are what matter.
                    let r = decode_checked(codec, format, &s, data.len() + 300);
                    if format != Format::Raw
                        && let Ok((_, out)) = &r
                    {
                        // A checksummed format can only pass with the right data... unless
                        // the flip hit a part no check covers (header fields, the FLEVEL
                        // bits, trailing-byte positions).
                        if *out != data {
                            assert!(
                                pos < 12,
                                "{format:?}: corrupt byte {pos} ^ {flip:#x} gave wrong data \
                                 that passed the checksum"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn every_too_small_output_is_reported() {
    for (_, codec) in backends() {
        for (format, stream, data) in small_streams() {
            let step = if cfg!(miri) { 37 } else { 1 };
            for size in (0..data.len()).step_by(step) {
                let r = decode_checked(codec, format, &stream, size);
                assert_eq!(
                    r,
                    Err(Error::OutputTooSmall {
                        needed: None,
                        available: size
                    }),
                    "{format:?} output of {size} for {} bytes",
                    data.len()
                );
            }
            // Exactly the right size works.
            assert_eq!(
                decode_checked(codec, format, &stream, data.len()),
                Ok((stream.len(), data))
            );
        }
    }
}

#[test]
fn big_stream_into_too_small_outputs() {
    // The fast loop's exit near the end of the output, for a long stream.
    let data = support::text(&mut offload_testkit::Rng::new(22), scale(200_000, 3000));
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(&data).unwrap();
    let stream = e.finish().unwrap();
    for (_, codec) in backends() {
        for short in [1, 2, 7, 63, 64, 200, 259, 264, 277, 278, 279, 300, 1000] {
            let size = data.len() - short;
            assert_eq!(
                decode_checked(codec, Format::Raw, &stream, size),
                Err(Error::OutputTooSmall {
                    needed: None,
                    available: size
                })
            );
        }
        assert_eq!(
            decode_checked(codec, Format::Raw, &stream, data.len()),
            Ok((stream.len(), data.clone()))
        );
    }
}

#[test]
fn roomy_outputs_keep_their_tail() {
    // The fast loop writes scratch past its position and puts the caller's bytes back
    // (see `Stash` in src/deflate/inflate.rs): wherever decoding stops, at the end of a
    // buffer somewhat or much larger than the data, nothing after the end is changed.
    // `decode_checked` compares the tail with its 0x00 and 0xFF fills.
    for (name, data) in support::corpus() {
        let mut streams = Vec::new();
        for level in [1, 6, 12] {
            let mut c =
                libdeflater::Compressor::new(libdeflater::CompressionLvl::new(level).unwrap());
            let mut out = vec![0u8; c.deflate_compress_bound(data.len())];
            let n = c.deflate_compress(&data, &mut out).unwrap();
            out.truncate(n);
            streams.push(out);
        }
        for stream in &streams {
            for extra in [1, 13, 31, 32, 33, 264, 1023, 1024, 1025, 5000] {
                for (backend, codec) in backends() {
                    assert_eq!(
                        decode_checked(codec, Format::Raw, stream, data.len() + extra),
                        Ok((stream.len(), data.clone())),
                        "{name}, {backend}, {extra} bytes more room"
                    );
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 8 } else { 2000 },
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..600),
                                capacity in 0usize..3000) {
        for (_, codec) in backends() {
            for format in FORMATS {
                let _ = decode_checked(codec, format, &input, capacity);
            }
        }
    }

    #[test]
    fn random_bytes_after_a_block_header_never_panic(
        btype in 0u8..4,
        input in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        // Force a dynamic (or other) block header so the fuzzing reaches the table builder.
        let mut s = input;
        if let Some(first) = s.first_mut() {
            *first = (*first & !0b110) | (btype << 1);
        }
        for (_, codec) in backends() {
            let _ = decode_checked(codec, Format::Raw, &s, 4096);
        }
    }
}

#[test]
fn a_reused_inflater_gives_the_same_results_as_a_fresh_one() {
    // Fixed and dynamic blocks, errors in the middle of table building, in any order: the
    // cached fixed tables and stale dynamic tables must never leak into a later result.
    let streams = small_streams();
    let mut rng = offload_testkit::Rng::new(23);
    for (_, codec) in backends() {
        let mut reused = offload_compress::deflate::Inflater::new();
        for _ in 0..scale(600, 20) {
            let (format, stream, data) = &streams[rng.below(streams.len())];
            let mut s = stream.clone();
            if !s.is_empty() && rng.below(2) == 0 {
                let at = rng.below(s.len());
                s[at] ^= 1 << rng.below(8);
            }
            let mut a = vec![0u8; data.len() + 8];
            let mut b = vec![0u8; data.len() + 8];
            let with_reused = match format {
                Format::Raw => {
                    offload_compress::deflate::inflate_raw(codec, &mut reused, &s, &mut a)
                }
                Format::Zlib => {
                    offload_compress::deflate::zlib_decompress(codec, &mut reused, &s, &mut a)
                }
                Format::Gzip => {
                    offload_compress::deflate::gzip_decompress(codec, &mut reused, &s, &mut a)
                }
            };
            let fresh = support::decode_into(codec, *format, &s, &mut b);
            assert_eq!(with_reused, fresh);
            assert_eq!(a, b);
        }
    }
}
