//! Streams written by reference encoders (flate2 with miniz_oxide, libdeflate, miniz_oxide,
//! GNU gzip) at every level they have, decoded by ours on every backend and compared byte
//! for byte with the input; checksums against libdeflate's and naive ones.

// Safe code only (the reference comparisons): under Miri, which is here for the `unsafe` of the
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

use offload_compress::{Codec, deflate};
use support::{Format, backends, corpus, decode_all_backends, system_files};

fn flate2_raw(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn flate2_zlib(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(level));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn flate2_gzip(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn check(label: &str, format: Format, stream: &[u8], data: &[u8]) {
    let out = decode_all_backends(format, stream, data.len());
    assert!(out == data, "{label}: decoded data differs");
}

fn inputs() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = corpus()
        .into_iter()
        .map(|(n, d)| (n.to_string(), d))
        .collect();
    v.extend(system_files());
    v
}

#[test]
fn flate2_streams_decode_at_every_level() {
    let levels = if cfg!(miri) {
        vec![0, 1, 9]
    } else {
        (0..=9).collect()
    };
    for (name, data) in inputs() {
        for &level in &levels {
            let label = format!("flate2 level {level} {name}");
            check(&label, Format::Raw, &flate2_raw(&data, level), &data);
            check(&label, Format::Zlib, &flate2_zlib(&data, level), &data);
            check(&label, Format::Gzip, &flate2_gzip(&data, level), &data);
        }
    }
}

#[test]
fn miniz_oxide_streams_decode_at_every_level() {
    let levels: Vec<u8> = if cfg!(miri) {
        vec![1, 10]
    } else {
        (0..=10).collect()
    };
    for (name, data) in inputs() {
        for &level in &levels {
            let label = format!("miniz_oxide level {level} {name}");
            check(
                &label,
                Format::Raw,
                &miniz_oxide::deflate::compress_to_vec(&data, level),
                &data,
            );
            check(
                &label,
                Format::Zlib,
                &miniz_oxide::deflate::compress_to_vec_zlib(&data, level),
                &data,
            );
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "libdeflate is C")]
fn libdeflate_streams_decode_at_every_level() {
    for (name, data) in inputs() {
        for level in 0..=12 {
            let lvl = libdeflater::CompressionLvl::new(level).unwrap();
            let mut c = libdeflater::Compressor::new(lvl);
            let label = format!("libdeflate level {level} {name}");

            let mut buf = vec![0u8; c.deflate_compress_bound(data.len())];
            let n = c.deflate_compress(&data, &mut buf).unwrap();
            check(&label, Format::Raw, &buf[..n], &data);

            let mut buf = vec![0u8; c.zlib_compress_bound(data.len())];
            let n = c.zlib_compress(&data, &mut buf).unwrap();
            check(&label, Format::Zlib, &buf[..n], &data);

            let mut buf = vec![0u8; c.gzip_compress_bound(data.len())];
            let n = c.gzip_compress(&data, &mut buf).unwrap();
            check(&label, Format::Gzip, &buf[..n], &data);
        }
    }
}

/// Runs `gzip` with `args`, feeding `input`; `None` (with a notice) when it is not
/// installed.
fn gzip_tool(args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    use std::process::{Command, Stdio};
    let child = Command::new("gzip")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            eprintln!("skipping the GNU gzip comparison: cannot run gzip: {e}");
            return None;
        }
    };
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "gzip {args:?} failed");
    Some(out.stdout)
}

#[test]
#[cfg_attr(miri, ignore = "runs a process")]
fn gnu_gzip_multi_member_files_decode() {
    let inputs = inputs();
    for level in ["-1", "-6", "-9"] {
        // gzip -c a > f; gzip -c b >> f; ...: the members of every input in a row.
        let mut file = Vec::new();
        let mut expected = Vec::new();
        for (_, data) in &inputs {
            let Some(member) = gzip_tool(&["-c", "-n", level], data) else {
                return;
            };
            file.extend_from_slice(&member);
            expected.extend_from_slice(data);
        }
        check(&format!("gzip {level}"), Format::Gzip, &file, &expected);
    }
    // A member compressed from a named file carries FNAME (gzip without -n).
    let data = support::text(&mut offload_testkit::Rng::new(6), 5000);
    let path = std::env::temp_dir().join(format!("offload-deflate-{}.txt", std::process::id()));
    std::fs::write(&path, &data).unwrap();
    let out = std::process::Command::new("gzip")
        .arg("-c")
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(out.status.success());
    assert_ne!(out.stdout[3] & 0x08, 0, "gzip wrote no FNAME");
    check("gzip named file", Format::Gzip, &out.stdout, &data);
}

#[test]
fn flate2_multi_member_gzip_decodes_to_the_concatenation() {
    let parts: Vec<Vec<u8>> = corpus().into_iter().map(|(_, d)| d).collect();
    let mut file = Vec::new();
    let mut expected = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        file.extend_from_slice(&flate2_gzip(part, (i % 10) as u32));
        expected.extend_from_slice(part);
    }
    check("flate2 members", Format::Gzip, &file, &expected);
}

/// Adler-32 the slow, obvious way.
fn naive_adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    b << 16 | a
}

/// CRC-32 bit by bit.
fn naive_crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &x in data {
        crc ^= u32::from(x);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                crc >> 1 ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn checksums_match_known_values_and_naive_versions() {
    let mut rng = offload_testkit::Rng::new(3);
    for (name, codec) in backends() {
        assert_eq!(
            codec.adler32(deflate::ADLER32_INIT, b"Wikipedia"),
            0x11E6_0398
        );
        assert_eq!(codec.crc32(deflate::CRC32_INIT, b"123456789"), 0xCBF4_3926);
        assert_eq!(codec.adler32(deflate::ADLER32_INIT, b""), 1);
        assert_eq!(codec.crc32(deflate::CRC32_INIT, b""), 0);
        // Every length around the 4-byte steps and the 5552-byte reduction blocks, all
        // 0xFF (the largest sums), random, and split at every point.
        let lens = if cfg!(miri) {
            vec![0, 1, 3, 4, 5, 63, 64]
        } else {
            vec![
                0, 1, 3, 4, 5, 7, 8, 63, 5551, 5552, 5553, 11104, 11105, 100_000,
            ]
        };
        for len in lens {
            for data in [vec![0xFF; len], rng.bytes(len)] {
                assert_eq!(
                    codec.adler32(1, &data),
                    naive_adler32(&data),
                    "{name} adler32 {len}"
                );
                assert_eq!(
                    codec.crc32(0, &data),
                    naive_crc32(&data),
                    "{name} crc32 {len}"
                );
                let cut = len / 3;
                assert_eq!(
                    codec.adler32(codec.adler32(1, &data[..cut]), &data[cut..]),
                    naive_adler32(&data)
                );
                assert_eq!(
                    codec.crc32(codec.crc32(0, &data[..cut]), &data[cut..]),
                    naive_crc32(&data)
                );
            }
        }
        // A running value whose halves are not reduced yet (65521..=65535) still works.
        let data = vec![0xFFu8; 5552];
        assert_eq!(
            codec.adler32(0xFFFF_FFFF, &data),
            {
                let (mut a, mut b) = (0xFFFFu32 % 65521, 0xFFFFu32 % 65521);
                for &x in &data {
                    a = (a + u32::from(x)) % 65521;
                    b = (b + a) % 65521;
                }
                b << 16 | a
            },
            "{name} adler32 from an unreduced start"
        );
    }
}

#[test]
#[cfg_attr(miri, ignore = "libdeflate is C")]
fn checksums_match_libdeflate() {
    let mut rng = offload_testkit::Rng::new(4);
    for (name, codec) in backends() {
        for len in [0, 1, 17, 4096, 5552 * 3 + 1, 1 << 20] {
            let data = rng.bytes(len);
            assert_eq!(
                codec.adler32(1, &data),
                libdeflater::adler32(&data),
                "{name} {len}"
            );
            assert_eq!(
                codec.crc32(0, &data),
                libdeflater::crc32(&data),
                "{name} {len}"
            );
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "libdeflate is C")]
fn corrupt_streams_agree_with_libdeflate() {
    // Cross-check strictness on corruptions of one stream: where libdeflate (which is more
    // lenient than we are, see the README) refuses a stream, we refuse it as well, and
    // where we accept one, libdeflate decodes it to the same bytes.
    let mut rng = offload_testkit::Rng::new(5);
    let text = support::text(&mut rng, 3000);
    let skewed = support::skewed(2000);
    let periods = support::periods(1000);
    let streams = [
        (flate2_raw(&text, 6), &text),
        (flate2_raw(&text, 1), &text),
        (flate2_raw(&skewed, 9), &skewed),
        (flate2_raw(&periods, 9), &periods),
        (
            miniz_oxide::deflate::compress_to_vec(&text[..200], 1),
            &text,
        ),
    ];
    let mut d = libdeflater::Decompressor::new();
    let codec = backends()[0].1;
    let mut both_ok = 0;
    for (stream, data) in &streams {
        for pos in 0..stream.len() {
            for flip in [0x01u8, 0x10, 0x80] {
                let mut s = stream.clone();
                s[pos] ^= flip;
                let mut theirs = vec![0u8; data.len()];
                let ours = support::decode_checked(codec, Format::Raw, &s, data.len());
                match d.deflate_decompress(&s, &mut theirs) {
                    Err(_) => assert!(
                        ours.is_err(),
                        "libdeflate rejects byte {pos} ^ {flip:#x}, we do not"
                    ),
                    // Whatever we accept, libdeflate (more lenient) decodes the same way.
                    Ok(n) => {
                        if let Ok((_, out)) = ours {
                            assert_eq!(out, theirs[..n], "byte {pos} ^ {flip:#x}: outputs differ");
                            both_ok += 1;
                        }
                    }
                }
            }
        }
    }
    // The comparison of accepted outputs did happen (flipped literal bits keep a stream
    // valid).
    assert!(both_ok > 100, "only {both_ok} corrupted streams decoded");
}
