//! The LZ4 frame format against the `lz4` command (liblz4's CLI, both directions, every
//! frame option it has) and lz4_flex's frame codec, on every backend; hostile frames.

// Safe code only (frames): under Miri, which is here for the `unsafe` of the
// SIMD backends and detection (tests/backends.rs), these would take many minutes.
#![cfg(not(miri))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests: a panic is a failure"
)]

mod support;

use support::backends;

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use offload_compress::{Auto, Backend, ChecksumKind, Codec, Corruption, Error, Unsupported, lz4};
use offload_testkit::corpus::{self, Kind};

fn all_options() -> Vec<lz4::FrameOptions> {
    let mut v = Vec::new();
    for block_size in [
        lz4::BlockSize::Max64KiB,
        lz4::BlockSize::Max256KiB,
        lz4::BlockSize::Max1MiB,
        lz4::BlockSize::Max4MiB,
    ] {
        for flags in 0..16u8 {
            v.push(lz4::FrameOptions {
                block_size,
                independent_blocks: flags & 1 != 0,
                block_checksum: flags & 2 != 0,
                content_checksum: flags & 4 != 0,
                content_size: flags & 8 != 0,
                dict_id: None,
                acceleration: 1,
            });
        }
    }
    v
}

fn sizes() -> Vec<usize> {
    if cfg!(miri) {
        vec![0, 1, 700]
    } else {
        vec![0, 1, 13, 65_535, 65_536, 65_537, 300_000, (1 << 20) + 7]
    }
}

fn compress(codec: Auto, options: &lz4::FrameOptions, input: &[u8]) -> Vec<u8> {
    let mut ws = lz4::Workspace::new();
    let mut out = vec![0u8; lz4::max_frame_len(input.len(), options)];
    let n = lz4::compress_frame(codec, &mut ws, options, input, &mut out).unwrap();
    out.truncate(n);
    out
}

fn decompress(codec: Auto, frame: &[u8], cap: usize) -> Result<Vec<u8>, Error> {
    let mut out = vec![0u8; cap];
    let n = lz4::decompress_frames(codec, frame, &mut out, &[])?;
    out.truncate(n);
    Ok(out)
}

/// Frames are written once (every backend writes the same bytes, which
/// `every_backend_writes_the_same_frame` checks) and read back by every backend.
#[test]
fn round_trip_every_option() {
    let data = corpus::mixed(*sizes().last().unwrap(), 4);
    let writer = Auto::with_backend(Backend::Scalar).unwrap();
    for options in all_options() {
        // Under Miri: 64 KiB blocks, and every other flag combination.
        if cfg!(miri)
            && (options.block_size != lz4::BlockSize::Max64KiB
                || (options.block_checksum != options.content_size))
        {
            continue;
        }
        for &n in &sizes() {
            let input = &data[..n];
            let frame = compress(writer, &options, input);
            let info = lz4::read_frame_header(&frame).unwrap();
            assert_eq!(info.block_size, options.block_size);
            assert_eq!(info.content_size, options.content_size.then_some(n as u64));
            let mut out = vec![0u8; n];
            for (name, codec) in backends() {
                out.fill(0);
                let (consumed, produced) = lz4::decompress_frame(codec, &frame, &mut out, &[])
                    .unwrap_or_else(|e| panic!("{name} {options:?} {n}: {e}"));
                assert_eq!((consumed, produced), (frame.len(), n));
                assert!(out == input, "{name} {options:?} {n}");
            }
        }
    }
}

#[test]
fn every_backend_writes_the_same_frame() {
    if cfg!(miri) {
        // Miri runs the portable backend only: nothing to compare.
        return;
    }
    let input = corpus::mixed(if cfg!(miri) { 5000 } else { 600_000 }, 8);
    let all = backends();
    // The checksum and content-size flags change only the framing around the same blocks:
    // every block size and linking, with those flags all off and all on.
    let options = all_options()
        .into_iter()
        .filter(|o| o.block_checksum == o.content_checksum && o.content_checksum == o.content_size);
    for options in options {
        let reference = compress(
            Auto::with_backend(Backend::Scalar).unwrap(),
            &options,
            &input,
        );
        for &(name, codec) in &all {
            assert!(
                compress(codec, &options, &input) == reference,
                "{name} {options:?}"
            );
        }
    }
}

fn lz4_cli() -> Option<&'static str> {
    let ok = Command::new("lz4")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("the lz4 command is not installed: skipping the comparison with it");
    }
    ok.then_some("lz4")
}

fn run(cmd: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    writer.join().unwrap().unwrap();
    assert!(child.wait().unwrap().success(), "{cmd} {args:?} failed");
    out
}

/// The frames of every backend are the same bytes (`every_backend_writes_the_same_frame`),
/// so the command reads one backend's.
#[test]
fn the_lz4_command_reads_ours() {
    if cfg!(miri) {
        return;
    }
    let Some(lz4) = lz4_cli() else { return };
    let data = corpus::mixed(1_500_000, 5);
    let codec = Auto::with_backend(Backend::Scalar).unwrap();
    for options in all_options() {
        for n in [0, 1, 65_536, 1_500_000] {
            let frame = compress(codec, &options, &data[..n]);
            let back = run(lz4, &["-d", "-c", "-q"], &frame);
            assert!(back == data[..n], "{options:?} {n}");
        }
    }
}

#[test]
fn we_read_the_lz4_command() {
    if cfg!(miri) {
        return;
    }
    let Some(lz4) = lz4_cli() else { return };
    let data = corpus::mixed(1_200_000, 6);
    let cases: &[&[&str]] = &[
        &[],
        &["-BD"],
        &["-B4"],
        &["-B5", "-BD"],
        &["-B6", "-BX"],
        &["-B7", "--content-size"],
        &["-BD", "-BX", "--content-size", "--no-frame-crc"],
        &["-9"],
        &["-9", "-BD", "-B4"],
        &["--fast=8"],
        &["-l"],
        &["-l", "-9"],
    ];
    for (name, codec) in backends() {
        for args in cases {
            for n in [0, 1, 100_000, 1_200_000] {
                let mut cli_args = vec!["-c", "-q"];
                cli_args.extend_from_slice(args);
                let frame = run(lz4, &cli_args, &data[..n]);
                let back = decompress(codec, &frame, n)
                    .unwrap_or_else(|e| panic!("{name}: lz4 {args:?} of {n} bytes: {e}"));
                assert!(back == data[..n], "{name}: lz4 {args:?} of {n} bytes");
            }
        }
        // Concatenated frames of different kinds, with a skippable frame between them.
        let mut stream = run(lz4, &["-c", "-q"], &data[..5000]);
        stream.extend_from_slice(&0x184D_2A5Bu32.to_le_bytes());
        stream.extend_from_slice(&3u32.to_le_bytes());
        stream.extend_from_slice(b"xyz");
        stream.extend(run(lz4, &["-c", "-q", "-BD", "-BX"], &data[5000..90_000]));
        stream.extend(run(lz4, &["-c", "-q", "-l"], &data[90_000..100_000]));
        stream.extend(compress(
            codec,
            &lz4::FrameOptions::default(),
            &data[100_000..120_000],
        ));
        assert_eq!(
            decompress(codec, &stream, 120_000).unwrap(),
            data[..120_000],
            "{name}"
        );
        assert_eq!(run(lz4, &["-d", "-c", "-q"], &stream), data[..120_000]);
    }
}

#[test]
fn lz4_flex_both_directions() {
    if cfg!(miri) {
        return;
    }
    let data = corpus::mixed(700_000, 9);
    // Every backend writes the same frames (`every_backend_writes_the_same_frame`).
    let writer = Auto::with_backend(Backend::Scalar).unwrap();
    for options in all_options() {
        let frame = compress(writer, &options, &data);
        let mut back = Vec::new();
        lz4_flex::frame::FrameDecoder::new(&frame[..])
            .read_to_end(&mut back)
            .unwrap_or_else(|e| panic!("lz4_flex reading our {options:?}: {e}"));
        assert!(back == data, "{options:?}");
    }
    for (name, codec) in backends() {
        for linked in [false, true] {
            for checksums in [false, true] {
                let info = lz4_flex::frame::FrameInfo::new()
                    .block_mode(if linked {
                        lz4_flex::frame::BlockMode::Linked
                    } else {
                        lz4_flex::frame::BlockMode::Independent
                    })
                    .block_checksums(checksums)
                    .content_checksum(checksums);
                let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
                enc.write_all(&data).unwrap();
                let frame = enc.finish().unwrap();
                assert_eq!(
                    decompress(codec, &frame, data.len()).unwrap(),
                    data,
                    "{name}"
                );
            }
        }
    }
}

/// A small frame with every checksum, for the hostile-input tests.
fn small_frame(codec: Auto) -> (Vec<u8>, Vec<u8>) {
    let input = corpus::generate(Kind::Logs, if cfg!(miri) { 120 } else { 3000 }, 2);
    let options = lz4::FrameOptions {
        block_checksum: true,
        content_checksum: true,
        content_size: true,
        ..Default::default()
    };
    (compress(codec, &options, &input), input)
}

#[test]
fn truncation_at_every_position_is_an_error() {
    for (name, codec) in backends() {
        let (frame, input) = small_frame(codec);
        for cut in 0..frame.len() {
            let mut out = vec![0u8; input.len()];
            assert!(
                lz4::decompress_frame(codec, &frame[..cut], &mut out, &[]).is_err(),
                "{name}: cut at {cut}"
            );
        }
    }
}

#[test]
fn corruption_at_every_position_is_detected() {
    for (name, codec) in backends() {
        let (frame, input) = small_frame(codec);
        for at in 0..frame.len() {
            for flip in [0x01u8, 0x10, 0x80] {
                let mut bad = frame.clone();
                bad[at] ^= flip;
                let mut out = vec![0u8; input.len() + 100];
                match lz4::decompress_frame(codec, &bad, &mut out, &[]) {
                    Err(_) => {}
                    // A flipped flag can survive the 8-bit header checksum by chance; the
                    // result must then still be the input.
                    Ok((_, n)) => {
                        assert!(at < 7 && out[..n] == input[..], "{name}: {at} ^ {flip:#x}");
                    }
                }
            }
        }
    }
}

/// An edit of a frame.
type Mutation = Box<dyn Fn(&mut Vec<u8>)>;

#[test]
fn header_rules() {
    let codec = Auto::detect();
    let mut out = [0u8; 64];
    let frame = compress(codec, &lz4::FrameOptions::default(), b"hello");
    let fix = |f: &mut Vec<u8>| {
        let hc = (offload_compress::Scalar.xxh32(0, &f[4..6]) >> 8) as u8;
        f[6] = hc;
    };
    let cases: Vec<(Mutation, Error)> = vec![
        (
            Box::new(|f| f[0] ^= 1),
            Error::Corrupt(Corruption::Lz4BadMagic { found: 0x184D_2205 }),
        ),
        (
            Box::new(|f| f[4] = (f[4] & 0x3F) | 0x80),
            Error::Unsupported(Unsupported::Lz4Version { version: 2 }),
        ),
        (
            Box::new(|f| f[4] |= 0b10),
            Error::Corrupt(Corruption::Lz4ReservedBit),
        ),
        (
            Box::new(|f| f[5] |= 0x80),
            Error::Corrupt(Corruption::Lz4ReservedBit),
        ),
        (
            Box::new(|f| f[5] |= 0x01),
            Error::Corrupt(Corruption::Lz4ReservedBit),
        ),
        (
            Box::new(|f| f[5] = 0x30),
            Error::Corrupt(Corruption::Lz4BlockSizeId { id: 3 }),
        ),
    ];
    for (i, (mutate, want)) in cases.into_iter().enumerate() {
        let mut f = frame.clone();
        mutate(&mut f);
        if i > 0 {
            fix(&mut f);
        }
        assert_eq!(
            lz4::decompress_frame(codec, &f, &mut out, &[]),
            Err(want),
            "case {i}"
        );
    }
    // A wrong header checksum.
    let mut f = frame.clone();
    f[6] ^= 1;
    assert!(matches!(
        lz4::decompress_frame(codec, &f, &mut out, &[]),
        Err(Error::Checksum {
            kind: ChecksumKind::Lz4Header,
            ..
        })
    ));
    // Empty input, and trailing bytes that are not a frame.
    assert_eq!(
        lz4::decompress_frames(codec, &[], &mut out, &[]),
        Err(Error::Truncated)
    );
    let mut f = frame.clone();
    f.extend_from_slice(b"junk");
    assert_eq!(
        lz4::decompress_frames(codec, &f, &mut out, &[]),
        Err(Error::Corrupt(Corruption::Lz4TrailingData {
            at: frame.len()
        }))
    );
}

#[test]
fn content_size_and_dictionary_rules() {
    let codec = Auto::detect();
    let input = corpus::generate(Kind::Text, 2000, 3);
    let options = lz4::FrameOptions {
        content_size: true,
        dict_id: Some(0xABCD),
        ..Default::default()
    };
    let frame = compress(codec, &options, &input);
    let mut out = vec![0u8; 3000];
    assert_eq!(
        lz4::decompress_frame(codec, &frame, &mut out, &[]),
        Err(Error::Unsupported(Unsupported::Dictionary { id: 0xABCD }))
    );
    let dict = b"any dictionary".to_vec();
    assert_eq!(
        lz4::decompress_frame(codec, &frame, &mut out, &dict),
        Ok((frame.len(), input.len()))
    );
    // Too small for the declared size: the size needed is reported before decoding.
    let mut small = vec![0u8; 1000];
    assert_eq!(
        lz4::decompress_frame(codec, &frame, &mut small, &dict),
        Err(Error::OutputTooSmall {
            needed: Some(2000),
            available: 1000
        })
    );
}
