//! The DEFLATE compressor: every level (0–9) and format (raw, zlib, gzip) round-trips
//! through our inflater and through zlib (flate2), libdeflate, miniz_oxide and GNU `gzip`;
//! every backend writes the same bytes; too-small outputs fail cleanly; the bounds hold.

// FFI peers, a subprocess and megabytes of data: far too slow under Miri, which is here for
// the `unsafe` of the SIMD backends (tests/backends.rs).
#![cfg(not(miri))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is a test failure, and casts are of small lengths"
)]

mod support;

use std::io::{Read, Write};

use offload_compress::{Auto, Error, deflate};
use offload_testkit::Rng;
use offload_testkit::corpus::{self, Kind};
use support::{FORMATS, Format, backends, decode_all_backends, system_files};

fn compress(codec: Auto, format: Format, level: u32, data: &[u8]) -> Vec<u8> {
    let mut d = deflate::Deflater::new();
    compress_with(codec, &mut d, format, level, data)
}

fn compress_with(
    codec: Auto,
    d: &mut deflate::Deflater,
    format: Format,
    level: u32,
    data: &[u8],
) -> Vec<u8> {
    let bound = match format {
        Format::Raw => deflate::deflate_bound(data.len()),
        Format::Zlib => deflate::zlib_bound(data.len()),
        Format::Gzip => deflate::gzip_bound(data.len()),
    };
    let mut out = vec![0xA5u8; bound + 16];
    let n = match format {
        Format::Raw => deflate::deflate_raw(codec, d, level, data, &mut out[..bound]),
        Format::Zlib => deflate::zlib_compress(codec, d, level, data, &mut out[..bound]),
        Format::Gzip => deflate::gzip_compress(codec, d, level, data, &mut out[..bound]),
    }
    .unwrap_or_else(|e| panic!("{format:?} level {level}: {e}"));
    assert!(n <= bound);
    assert!(
        out[n..].iter().all(|&b| b == 0xA5),
        "{format:?} level {level}: wrote past the returned length"
    );
    out.truncate(n);
    out
}

fn inputs() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = support::corpus()
        .into_iter()
        .map(|(n, d)| (n.to_string(), d))
        .collect();
    v.extend(system_files());
    for kind in Kind::ALL {
        v.push((kind.name().to_string(), corpus::generate(kind, 200_000, 7)));
    }
    v.push(("mixed".into(), corpus::mixed(300_000, 11)));
    // Sizes around the block limits (65 535 input bytes per block, hash-table sizes).
    let text = corpus::generate(Kind::Text, 140_000, 3);
    for n in [
        2, 3, 4, 5, 1023, 1024, 1025, 65_277, 65_278, 65_535, 65_536, 131_071,
    ] {
        v.push((format!("text[..{n}]"), text[..n].to_vec()));
    }
    v.push(("zeros 300k".into(), vec![0; 300_000]));
    v
}

fn peer_decode(format: Format, stream: &[u8], len: usize) -> [Vec<u8>; 3] {
    let mut a = Vec::new();
    match format {
        Format::Raw => flate2::read::DeflateDecoder::new(stream).read_to_end(&mut a),
        Format::Zlib => flate2::read::ZlibDecoder::new(stream).read_to_end(&mut a),
        Format::Gzip => flate2::read::GzDecoder::new(stream).read_to_end(&mut a),
    }
    .unwrap_or_else(|e| panic!("flate2 {format:?}: {e}"));
    let mut dec = libdeflater::Decompressor::new();
    let mut b = vec![0u8; len];
    let n = match format {
        Format::Raw => dec.deflate_decompress(stream, &mut b),
        Format::Zlib => dec.zlib_decompress(stream, &mut b),
        Format::Gzip => dec.gzip_decompress(stream, &mut b),
    }
    .unwrap_or_else(|e| panic!("libdeflate {format:?}: {e:?}"));
    b.truncate(n);
    let c = match format {
        Format::Raw => miniz_oxide::inflate::decompress_to_vec(stream),
        Format::Zlib => miniz_oxide::inflate::decompress_to_vec_zlib(stream),
        // miniz_oxide has no gzip: strip the 10-byte header and 8-byte trailer we write.
        Format::Gzip => miniz_oxide::inflate::decompress_to_vec(&stream[10..stream.len() - 8]),
    }
    .unwrap_or_else(|e| panic!("miniz_oxide {format:?}: {e:?}"));
    [a, b, c]
}

/// Raw streams at every level (levels 0, 1, 6 and 9 on every input, the others on every
/// other input); the zlib and gzip wrappers (shared code around the same raw stream) at
/// levels 0, 1, 6 and 9. Every backend at levels 1, 6 and 9 (the bytes must be the same: the
/// compressor is shared code, so that is a guard, not a second test of each level), the
/// first backend otherwise.
#[test]
fn every_level_round_trips_through_ours_and_the_references() {
    let all = backends();
    for (i, (name, data)) in inputs().into_iter().enumerate() {
        for level in 0..=9 {
            if i % 2 == 1 && ![0, 1, 6, 9].contains(&level) {
                continue;
            }
            for format in FORMATS {
                let wrapped = format != Format::Raw;
                if wrapped && ![0, 1, 6, 9].contains(&level) {
                    continue;
                }
                let every = !wrapped && [1, 6, 9].contains(&level);
                let backends = if every { &all[..] } else { &all[..1] };
                let label = format!("{name} ({} bytes) {format:?} level {level}", data.len());
                let mut first: Option<Vec<u8>> = None;
                for &(bname, codec) in backends {
                    let s = compress(codec, format, level, &data);
                    match &first {
                        None => first = Some(s),
                        Some(f) => assert!(*f == s, "{label}: {bname} writes other bytes"),
                    }
                }
                let stream = first.unwrap();
                assert!(
                    decode_all_backends(format, &stream, data.len()) == data,
                    "{label}: our inflater decodes other data"
                );
                for (peer, out) in ["flate2", "libdeflate", "miniz_oxide"]
                    .iter()
                    .zip(peer_decode(format, &stream, data.len()))
                {
                    assert!(out == data, "{label}: {peer} decodes other data");
                }
            }
        }
    }
}

#[test]
fn gnu_gzip_decodes_every_level() {
    let codec = Auto::detect();
    for (name, data) in inputs().into_iter().step_by(3) {
        for level in 0..=9 {
            let stream = compress(codec, Format::Gzip, level, &data);
            let child = std::process::Command::new("gzip")
                .args(["-d", "-c"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn();
            let mut child = match child {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("skipping the GNU gzip check: cannot run gzip: {e}");
                    return;
                }
            };
            let mut stdin = child.stdin.take().unwrap();
            let writer = std::thread::spawn(move || stdin.write_all(&stream));
            let out = child.wait_with_output().unwrap();
            writer.join().unwrap().unwrap();
            assert!(
                out.status.success(),
                "gzip -d failed on {name} level {level}"
            );
            assert!(out.stdout == data, "gzip -d: {name} level {level} differs");
        }
    }
}

#[test]
fn the_largest_distance_is_used() {
    let data = support::far_match(&mut Rng::new(99));
    // The same bytes with the repeated chunk replaced: no match anywhere.
    let mut fresh = data.clone();
    Rng::new(100).fill(&mut fresh[32768..32768 + 300]);
    for level in 1..=9 {
        let with = compress(Auto::detect(), Format::Raw, level, &data).len();
        let without = compress(Auto::detect(), Format::Raw, level, &fresh).len();
        // The 300 repeated bytes cost a few bytes as a match; as literals about 300.
        assert!(
            with + 200 < without,
            "level {level}: {with} bytes against {without} (the match at 32768 was missed)"
        );
    }
}

#[test]
fn levels_order_sizes_on_text() {
    let data = corpus::generate(Kind::Text, 500_000, 5);
    let sizes: Vec<usize> = (0..=9)
        .map(|l| compress(Auto::detect(), Format::Raw, l, &data).len())
        .collect();
    eprintln!("text 500000 bytes, sizes by level: {sizes:?}");
    assert!(sizes[1] < sizes[0] * 2 / 3);
    assert!(sizes[9] <= sizes[6] && sizes[6] <= sizes[2]);
}

#[test]
fn too_small_outputs_fail_without_writing_past_the_end() {
    let mut rng = Rng::new(5);
    let small: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![7],
        b"hello, hello, hello, hello!".to_vec(),
        rng.bytes(300),
        corpus::generate(Kind::Text, 2000, 1),
        corpus::generate(Kind::Logs, 5000, 1),
    ];
    let codec = Auto::detect();
    let mut d = deflate::Deflater::new();
    for data in &small {
        for level in 0..=9 {
            for format in FORMATS {
                let full = compress(codec, format, level, data);
                // Every shortfall for raw streams at levels 1 and 6; a spread of them (the
                // ends, the middle, every 13th) for the other levels and formats.
                let every = format == Format::Raw && (level == 1 || level == 6);
                let caps: Vec<usize> = (0..full.len())
                    .filter(|&c| every || c < 3 || c + 3 > full.len() || c % 13 == 0)
                    .collect();
                for cap in caps {
                    let mut out = vec![0xA5u8; cap + 32];
                    let r = match format {
                        Format::Raw => {
                            deflate::deflate_raw(codec, &mut d, level, data, &mut out[..cap])
                        }
                        Format::Zlib => {
                            deflate::zlib_compress(codec, &mut d, level, data, &mut out[..cap])
                        }
                        Format::Gzip => {
                            deflate::gzip_compress(codec, &mut d, level, data, &mut out[..cap])
                        }
                    };
                    assert_eq!(
                        r,
                        Err(Error::OutputTooSmall {
                            needed: None,
                            available: cap
                        }),
                        "{format:?} level {level}, {} bytes into {cap}",
                        data.len()
                    );
                    assert!(out[cap..].iter().all(|&b| b == 0xA5));
                }
                let mut out = vec![0u8; full.len()];
                let n = match format {
                    Format::Raw => deflate::deflate_raw(codec, &mut d, level, data, &mut out),
                    Format::Zlib => deflate::zlib_compress(codec, &mut d, level, data, &mut out),
                    Format::Gzip => deflate::gzip_compress(codec, &mut d, level, data, &mut out),
                }
                .unwrap();
                assert_eq!(out[..n], full[..]);
            }
        }
    }
}

#[test]
fn bounds_hold_for_random_data_at_every_level() {
    let mut rng = Rng::new(77);
    let codec = Auto::detect();
    let mut d = deflate::Deflater::new();
    for len in [0, 1, 2, 100, 4095, 65_535, 65_536, 200_000, 1 << 20] {
        let data = rng.bytes(len);
        for level in 0..=9 {
            let mut out = vec![0u8; deflate::deflate_bound(len)];
            let n = deflate::deflate_raw(codec, &mut d, level, &data, &mut out).unwrap();
            assert!(n <= deflate::deflate_bound(len));
            let mut out = vec![0u8; deflate::zlib_bound(len)];
            deflate::zlib_compress(codec, &mut d, level, &data, &mut out).unwrap();
            let mut out = vec![0u8; deflate::gzip_bound(len)];
            deflate::gzip_compress(codec, &mut d, level, &data, &mut out).unwrap();
        }
    }
}

#[test]
fn results_do_not_depend_on_earlier_calls() {
    let codec = Auto::detect();
    let big = corpus::mixed(400_000, 3);
    let small = corpus::generate(Kind::Logs, 3000, 9);
    // Random data first (skipped over, not inserted), then text that matches into it.
    let mut skipping = corpus::generate(Kind::Random, 20_000, 4);
    skipping.extend(corpus::generate(Kind::Text, 30_000, 4));
    skipping.extend_from_within(..20_000);
    let mut used = deflate::Deflater::new();
    for level in 0..=9 {
        compress_with(codec, &mut used, Format::Raw, level, &big);
        let a = compress_with(codec, &mut used, Format::Raw, level, &small);
        let b = compress(codec, Format::Raw, level, &small);
        assert_eq!(a, b, "level {level}");
        compress_with(codec, &mut used, Format::Raw, level, &big);
        let a = compress_with(codec, &mut used, Format::Raw, level, &skipping);
        let b = compress(codec, Format::Raw, level, &skipping);
        assert_eq!(a, b, "level {level}");
        // And the same input again after a different one.
        let c = compress_with(codec, &mut used, Format::Raw, level, &big);
        assert_eq!(
            c,
            compress(codec, Format::Raw, level, &big),
            "level {level}"
        );
    }
}

#[test]
fn level_above_nine_is_rejected() {
    let codec = Auto::detect();
    let mut d = deflate::Deflater::new();
    let mut out = [0u8; 64];
    for f in [
        deflate::deflate_raw::<Auto>,
        deflate::zlib_compress::<Auto>,
        deflate::gzip_compress::<Auto>,
    ] {
        assert!(matches!(
            f(codec, &mut d, 10, b"abc", &mut out),
            Err(Error::InvalidParameter { .. })
        ));
    }
}

#[test]
fn headers_are_as_documented() {
    let codec = Auto::detect();
    for level in 0..=9 {
        let z = compress(codec, Format::Zlib, level, b"abc");
        assert_eq!(z[0], 0x78);
        assert_eq!((u16::from(z[0]) << 8 | u16::from(z[1])) % 31, 0);
        let flevel = [0, 0, 1, 1, 1, 1, 2, 3, 3, 3][level as usize];
        assert_eq!(z[1] >> 6, flevel);
        let g = compress(codec, Format::Gzip, level, b"abc");
        let xfl = [4, 4, 0, 0, 0, 0, 0, 0, 0, 2][level as usize];
        assert_eq!(g[..10], [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, xfl, 255]);
    }
    // The empty input: one empty final block.
    assert_eq!(compress(codec, Format::Raw, 0, b""), [1, 0, 0, 0xFF, 0xFF]);
    assert_eq!(compress(codec, Format::Raw, 6, b""), [3, 0]);
}

#[test]
fn deflater_size_is_stated() {
    assert_eq!(deflate::Deflater::SIZE, 394_504);
    assert_eq!(
        format!("{:?}", deflate::Deflater::new()),
        "Deflater { strategy: Default, bytes: 394504, .. }"
    );
}

/// Not a check: prints our sizes next to libdeflate's and zlib's (flate2) for the lead.
#[test]
fn print_ratios_on_mixed_data() {
    let data = corpus::mixed(4 << 20, 1);
    for level in [1u32, 6] {
        let ours = compress(Auto::detect(), Format::Raw, level, &data).len();
        let mut c =
            libdeflater::Compressor::new(libdeflater::CompressionLvl::new(level as i32).unwrap());
        let mut buf = vec![0u8; c.deflate_compress_bound(data.len())];
        let ld = c.deflate_compress(&data, &mut buf).unwrap();
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(&data).unwrap();
        let fl = e.finish().unwrap().len();
        let r = |n: usize| n as f64 / data.len() as f64;
        eprintln!(
            "mixed {} bytes, level {level}: ours {ours} ({:.4}), libdeflate {ld} ({:.4}), flate2 {fl} ({:.4})",
            data.len(),
            r(ours),
            r(ld),
            r(fl)
        );
    }
}

/// The chain walk at the window's edge: an 8-byte token repeated every `period` bytes in
/// random filler, twice per period (so each occurrence's chain has links, not only a
/// head). With a period of at most 32 768 the repeats are matches; with 32 769 the older
/// occurrence is out of the window. Every level 2..=9 round-trips, every backend writes
/// the same bytes, and the output does not depend on an earlier call.
#[test]
fn chain_walks_stop_at_the_window_edge() {
    let token = *b"\x01\x02\x03\x04\x05\x06\x07\x08";
    for period in [32_767usize, 32_768, 32_769] {
        let mut data = Rng::new(period as u64).bytes(4 * period + 100);
        for start in (0..data.len() - 8).step_by(period) {
            data[start..start + 8].copy_from_slice(&token);
            data[start + 50..start + 58].copy_from_slice(&token);
        }
        let mut warm = deflate::Deflater::new();
        for level in 2..=9 {
            let mut first: Option<Vec<u8>> = None;
            for (name, codec) in backends() {
                let out = compress(codec, Format::Raw, level, &data);
                match &first {
                    None => first = Some(out),
                    Some(f) => assert!(*f == out, "{name} period {period} level {level}"),
                }
            }
            let out = first.unwrap();
            let again = compress_with(Auto::detect(), &mut warm, Format::Raw, level, &data);
            assert!(
                again == out,
                "period {period} level {level}: depends on an earlier call"
            );
            let back = decode_all_backends(Format::Raw, &out, data.len());
            assert!(back == data, "period {period} level {level}: round trip");
        }
    }
}
