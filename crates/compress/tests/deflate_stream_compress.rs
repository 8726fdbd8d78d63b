//! Streaming compression (`deflate::DeflateStream` and the `std::io` `Encoder`): every
//! format and level, input and output in chunks of many sizes, read back by our one-shot
//! decoder, flate2 and `gzip -d`; the output does not depend on the input chunking; sync
//! flushes make everything consumed decodable; the window slides (streams of several
//! 128 KiB windows, matches across the slide); the error cases.

// Safe code, large data and external tools: under Miri, which is here for the `unsafe`
// of the SIMD backends (tests/backends.rs), this would take far too long.
#![cfg(not(miri))]
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core,
    reason = "test code: a panic is a failure"
)]

mod support;

use support::backends;

use std::io::{Read, Write};

use offload_compress::lz4::Flush;
use offload_compress::{Auto, Error, deflate};
use offload_testkit::corpus::{self, Kind};

const FORMATS: [deflate::Format; 3] = [
    deflate::Format::Raw,
    deflate::Format::Zlib,
    deflate::Format::Gzip,
];

/// Compresses `data` in input chunks of `ins` bytes and output chunks of `outs` bytes.
fn stream(
    codec: Auto,
    format: deflate::Format,
    level: u32,
    data: &[u8],
    ins: usize,
    outs: usize,
) -> Vec<u8> {
    let mut deflater = Box::new(deflate::Deflater::new());
    let mut storage = vec![0u8; deflate::DeflateStream::<Auto>::STORAGE_LEN];
    let mut enc =
        deflate::DeflateStream::new(codec, format, level, &mut deflater, &mut storage).unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; outs];
    for piece in data.chunks(ins.max(1)) {
        let mut piece = piece;
        while !piece.is_empty() {
            let p = enc.compress(piece, &mut buf, Flush::None).unwrap();
            out.extend_from_slice(&buf[..p.produced]);
            piece = &piece[p.consumed..];
            assert!(p.consumed > 0 || p.produced > 0, "no progress");
        }
    }
    while !enc.is_finished() {
        let p = enc.compress(&[], &mut buf, Flush::Finish).unwrap();
        out.extend_from_slice(&buf[..p.produced]);
    }
    out
}

/// Decodes with our one-shot decoder (checking `consumed`) and with flate2.
fn decode_everywhere(format: deflate::Format, packed: &[u8], want: &[u8], label: &str) {
    let mut inflater = deflate::Inflater::new();
    let mut back = vec![0u8; want.len()];
    let r = match format {
        deflate::Format::Raw => {
            deflate::inflate_raw(Auto::detect(), &mut inflater, packed, &mut back)
        }
        deflate::Format::Zlib => {
            deflate::zlib_decompress(Auto::detect(), &mut inflater, packed, &mut back)
        }
        deflate::Format::Gzip => {
            deflate::gzip_decompress(Auto::detect(), &mut inflater, packed, &mut back)
        }
    };
    assert_eq!(r, Ok((packed.len(), want.len())), "{label}");
    assert!(back == want, "{label}");
    let mut theirs = Vec::new();
    match format {
        deflate::Format::Raw => flate2::read::DeflateDecoder::new(packed).read_to_end(&mut theirs),
        deflate::Format::Zlib => flate2::read::ZlibDecoder::new(packed).read_to_end(&mut theirs),
        deflate::Format::Gzip => flate2::read::GzDecoder::new(packed).read_to_end(&mut theirs),
    }
    .unwrap_or_else(|e| panic!("{label}: flate2: {e}"));
    assert!(theirs == want, "{label}: flate2");
}

fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let mut far = corpus::generate(Kind::Random, 40_000, 3);
    // A block of the window's first half repeated right after the slide point, and one
    // exactly 32 768 bytes back across it.
    far.extend(corpus::generate(Kind::Text, 100_000, 4));
    let echo = far[131_000 - 32_768..131_000 - 32_768 + 3000].to_vec();
    far.truncate(131_000);
    far.extend_from_slice(&echo);
    far.extend(corpus::generate(Kind::Logs, 200_000, 5));
    vec![
        ("empty", Vec::new()),
        ("one byte", vec![7]),
        ("mixed 600 KB", corpus::mixed(600_000, 1)),
        ("random 150 KB", corpus::generate(Kind::Random, 150_000, 2)),
        ("runs 300 KB", vec![b'a'; 300_000]),
        ("across the slide", far),
    ]
}

#[test]
fn every_format_and_level_round_trips_in_any_chunking() {
    let all = backends();
    for (name, data) in inputs() {
        for format in FORMATS {
            for level in [0, 1, 2, 4, 6, 9] {
                let reference = stream(all[0].1, format, level, &data, data.len(), 1 << 20);
                decode_everywhere(
                    format,
                    &reference,
                    &data,
                    &format!("{name} {format:?} {level}"),
                );
                // The bytes depend on the data only: not on the chunking or the backend.
                for &(backend, codec) in &all {
                    for (ins, outs) in [(1, 1 << 20), (7, 100), (4096, 1), (65_537, 65_536)] {
                        if data.len() > 200_000 && (ins < 4096 || outs < 100) {
                            continue;
                        }
                        let got = stream(codec, format, level, &data, ins, outs);
                        assert!(
                            got == reference,
                            "{name} {format:?} {level} {backend} chunks {ins}/{outs}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn gzip_reads_the_streams() {
    let data = corpus::mixed(400_000, 9);
    for level in [1, 6, 9] {
        let gz = stream(
            Auto::detect(),
            deflate::Format::Gzip,
            level,
            &data,
            10_000,
            3000,
        );
        let Some(mut child) = std::process::Command::new("gzip")
            .args(["-d", "-c"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .ok()
        else {
            eprintln!("the gzip command is not installed: skipping");
            return;
        };
        let mut stdin = child.stdin.take().unwrap();
        let feeder = std::thread::spawn(move || stdin.write_all(&gz));
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap().unwrap();
        assert!(out.status.success());
        assert!(out.stdout == data, "level {level}");
    }
}

/// After `Flush::Block` the output so far is a sync point: it ends with `00 00 FF FF` and
/// the streaming decoder, fed all of it, produces every byte consumed so far.
#[test]
fn sync_flush_makes_everything_consumed_decodable() {
    let data = corpus::mixed(300_000, 7);
    for format in FORMATS {
        for level in [0, 1, 6] {
            let mut deflater = Box::new(deflate::Deflater::new());
            let mut storage = vec![0u8; deflate::DeflateStream::<Auto>::STORAGE_LEN];
            let codec = Auto::detect();
            let mut enc =
                deflate::DeflateStream::new(codec, format, level, &mut deflater, &mut storage)
                    .unwrap();
            let mut dec = deflate::InflateStream::new(format);
            let mut out = Vec::new();
            let mut decoded = Vec::new();
            let mut buf = vec![0u8; 5000];
            let mut fed = 0;
            let mut taken = 0;
            for piece in data.chunks(33_333) {
                taken += piece.len();
                let mut piece = piece;
                loop {
                    let p = enc.compress(piece, &mut buf, Flush::Block).unwrap();
                    out.extend_from_slice(&buf[..p.produced]);
                    piece = &piece[p.consumed..];
                    if piece.is_empty() && p.produced == 0 {
                        break;
                    }
                }
                assert_eq!(
                    &out[out.len() - 4..],
                    &[0, 0, 0xFF, 0xFF],
                    "{format:?} {level}"
                );
                // Decode what is new; it must give back all input so far.
                let mut input = &out[fed..];
                let mut obuf = vec![0u8; 70_000];
                while !input.is_empty() {
                    let p = dec.decompress(codec, input, &mut obuf).unwrap();
                    decoded.extend_from_slice(&obuf[..p.produced]);
                    input = &input[p.consumed..];
                    if p.consumed == 0 && p.produced == 0 {
                        break;
                    }
                }
                fed = out.len() - input.len();
                assert_eq!(decoded.len(), taken, "{format:?} {level}");
                assert!(decoded == data[..taken], "{format:?} {level}");
            }
            while !enc.is_finished() {
                let p = enc.compress(&[], &mut buf, Flush::Finish).unwrap();
                out.extend_from_slice(&buf[..p.produced]);
            }
            decode_everywhere(format, &out, &data, &format!("sync {format:?} {level}"));
        }
    }
}

#[cfg(feature = "std")]
#[test]
fn io_encoder_round_trips_with_flushes() {
    let data = corpus::mixed(250_000, 11);
    for format in FORMATS {
        let mut deflater = Box::new(deflate::Deflater::new());
        let mut storage = vec![0u8; deflate::DeflateStream::<Auto>::STORAGE_LEN];
        let mut w = deflate::Encoder::new(
            Auto::detect(),
            format,
            6,
            &mut deflater,
            &mut storage,
            Vec::new(),
        )
        .unwrap();
        for (i, piece) in data.chunks(12_345).enumerate() {
            w.write_all(piece).unwrap();
            if i % 5 == 0 {
                w.flush().unwrap();
            }
        }
        let packed = w.finish().unwrap();
        decode_everywhere(format, &packed, &data, &format!("io {format:?}"));
        let mut back = Vec::new();
        deflate::Decoder::new(Auto::detect(), format, &packed[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back == data);
    }
}

#[test]
fn errors() {
    let mut deflater = Box::new(deflate::Deflater::new());
    let mut small = vec![0u8; deflate::DeflateStream::<Auto>::STORAGE_LEN - 1];
    assert!(matches!(
        deflate::DeflateStream::new(
            Auto::detect(),
            deflate::Format::Raw,
            6,
            &mut deflater,
            &mut small
        ),
        Err(Error::StorageTooSmall { .. })
    ));
    let mut storage = vec![0u8; deflate::DeflateStream::<Auto>::STORAGE_LEN];
    assert!(matches!(
        deflate::DeflateStream::new(
            Auto::detect(),
            deflate::Format::Raw,
            10,
            &mut deflater,
            &mut storage
        ),
        Err(Error::InvalidParameter { .. })
    ));
    let mut enc = deflate::DeflateStream::new(
        Auto::detect(),
        deflate::Format::Gzip,
        1,
        &mut deflater,
        &mut storage,
    )
    .unwrap();
    let mut buf = [0u8; 64];
    while !enc.is_finished() {
        enc.compress(&[], &mut buf, Flush::Finish).unwrap();
    }
    assert!(matches!(
        enc.compress(b"more", &mut buf, Flush::None),
        Err(Error::InvalidParameter { .. })
    ));
    // An empty output buffer: no progress, no error.
    let mut storage = vec![0u8; deflate::DeflateStream::<Auto>::STORAGE_LEN];
    let mut deflater = Box::new(deflate::Deflater::new());
    let mut enc = deflate::DeflateStream::new(
        Auto::detect(),
        deflate::Format::Zlib,
        6,
        &mut deflater,
        &mut storage,
    )
    .unwrap();
    let p = enc.compress(b"abc", &mut [], Flush::Finish).unwrap();
    assert_eq!(p.produced, 0);
    assert!(!enc.is_finished());
    assert!(format!("{enc:?}").len() < 200, "Debug prints no buffers");
}
