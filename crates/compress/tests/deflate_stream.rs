//! The streaming Deflate decoder against the one-shot one: streams written by flate2,
//! miniz_oxide, libdeflate, GNU gzip and pigz, fed in every pair of small input and output
//! chunk sizes (and a few large ones), must give the one-shot result — the same bytes and
//! the same `consumed`, or the same error — for whole, truncated and corrupted streams, on
//! every backend.

// Reference encoders in C (libdeflate), external processes and large data: not for Miri.
#![cfg(not(miri))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is a test failure, and casts are of small lengths"
)]

mod support;

#[cfg(feature = "std")]
use std::io::Read;
use std::io::Write;

use offload_compress::{Auto, Error, deflate};
use support::{Format, backends, corpus};

fn to_stream_format(f: Format) -> deflate::Format {
    match f {
        Format::Raw => deflate::Format::Raw,
        Format::Zlib => deflate::Format::Zlib,
        Format::Gzip => deflate::Format::Gzip,
    }
}

type Outcome = Result<(usize, Vec<u8>), Error>;

/// Decodes `input` with the streaming decoder, `in_chunk` input bytes and `out_chunk`
/// output bytes per call; `finish` when the input is used up.
fn streamed(
    codec: Auto,
    format: Format,
    dict: Option<&[u8]>,
    input: &[u8],
    in_chunk: usize,
    out_chunk: usize,
) -> Outcome {
    let f = to_stream_format(format);
    let mut s = match dict {
        None => deflate::InflateStream::new(f),
        Some(d) => deflate::InflateStream::with_dictionary(codec, f, d).unwrap(),
    };
    let mut out = Vec::new();
    let mut buf = vec![0xC3u8; out_chunk];
    let mut pos = 0;
    let mut take = in_chunk;
    loop {
        let end = (pos + take).min(input.len());
        let p = s.decompress(codec, &input[pos..end], &mut buf)?;
        // Nothing past what a call reports is written: `buf` holds 0xC3 after the bytes
        // a call produced (the decoder's scratch would lie within 64 bytes of them).
        let checked = (p.produced + 64).min(out_chunk);
        assert!(
            buf[p.produced..checked].iter().all(|&b| b == 0xC3),
            "wrote past produced"
        );
        assert!(p.consumed <= end - pos && p.produced <= out_chunk);
        pos += p.consumed;
        out.extend_from_slice(&buf[..p.produced]);
        buf[..checked].fill(0xC3);
        if s.is_finished() {
            // Finished is final: nothing more is taken.
            let again = s.decompress(codec, &input[pos..], &mut buf).unwrap();
            assert_eq!((again.consumed, again.produced), (0, 0));
            return Ok((pos, out));
        }
        if p.consumed == 0 && p.produced == 0 {
            if end == input.len() {
                s.finish()?;
                return Ok((pos, out));
            }
            // Only a lone 1f after a gzip member waits for a second byte.
            assert_eq!(end - pos, 1, "no progress with input left");
            take += 1;
        } else {
            take = in_chunk;
        }
    }
}

/// The one-shot decoder's result, with room for `capacity` bytes.
fn one_shot(codec: Auto, format: Format, dict: Option<&[u8]>, input: &[u8], cap: usize) -> Outcome {
    let mut out = vec![0u8; cap];
    let mut inflater = deflate::Inflater::new();
    let r = match (format, dict) {
        (Format::Raw, Some(d)) => {
            deflate::inflate_raw_with_dict(codec, &mut inflater, input, &mut out, d)
        }
        (Format::Zlib, Some(d)) => {
            deflate::zlib_decompress_with_dict(codec, &mut inflater, input, &mut out, d)
        }
        _ => support::decode_into(codec, format, input, &mut out),
    };
    r.map(|(c, p)| {
        out.truncate(p);
        (c, out)
    })
}

/// Streams `input` with each chunk pair and compares with the one-shot result.
fn agree(
    label: &str,
    codec: Auto,
    format: Format,
    dict: Option<&[u8]>,
    input: &[u8],
    pairs: &[(usize, usize)],
) -> Outcome {
    // Stream once with large chunks to size the one-shot's buffer: it must not run out.
    let big = streamed(codec, format, dict, input, 1 << 20, 1 << 20);
    let cap = match &big {
        Ok((_, out)) => out.len() + 64,
        Err(_) => 4 << 20,
    };
    let expected = one_shot(codec, format, dict, input, cap);
    assert_eq!(
        big.as_ref().map(|(c, o)| (*c, o.len())),
        expected.as_ref().map(|(c, o)| (*c, o.len())),
        "{label}: big chunks"
    );
    assert!(big == expected, "{label}: big chunks, bytes differ");
    for &(i, o) in pairs {
        let got = streamed(codec, format, dict, input, i, o);
        if got != expected {
            panic!(
                "{label}: chunks in {i} out {o}: {:?} != {:?}",
                got.as_ref().map(|(c, o)| (*c, o.len())),
                expected.as_ref().map(|(c, o)| (*c, o.len()))
            );
        }
    }
    expected
}

fn all_small_pairs() -> Vec<(usize, usize)> {
    small_pairs(None)
}

/// Input x output chunk sizes 1..=17 (and a few big pairs): all 289 small pairs for
/// `None`, a quarter of them for `Some(k)`: those with `(i + 2 o + k) % 4 == 0`, so that
/// streams numbered `k = 0, 1, 2, 3, ...` cover every pair between them at a quarter of
/// the cost (this sweep dominates the suite, under qemu most of all).
fn small_pairs(k: Option<usize>) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    for i in 1..=17 {
        for o in 1..=17 {
            if k.is_none_or(|k| (i + 2 * o + k) % 4 == 0) {
                v.push((i, o));
            }
        }
    }
    v.extend([
        (1, 100_000),
        (100_000, 1),
        (4096, 4096),
        (2, 32768),
        (777, 3),
    ]);
    v
}

const FEW_PAIRS: [(usize, usize); 7] = [
    (1, 1),
    (1, 1 << 20),
    (1 << 20, 1),
    (3, 7),
    (64, 1000),
    (4096, 333),
    (65536, 65536),
];

fn flate2_all(data: &[u8], level: u32) -> Vec<(Format, Vec<u8>)> {
    let l = flate2::Compression::new(level);
    let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), l);
    raw.write_all(data).unwrap();
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), l);
    zlib.write_all(data).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), l);
    gz.write_all(data).unwrap();
    vec![
        (Format::Raw, raw.finish().unwrap()),
        (Format::Zlib, zlib.finish().unwrap()),
        (Format::Gzip, gz.finish().unwrap()),
    ]
}

fn libdeflate_all(data: &[u8], level: i32) -> Vec<(Format, Vec<u8>)> {
    let mut c = libdeflater::Compressor::new(libdeflater::CompressionLvl::new(level).unwrap());
    let mut raw = vec![0u8; c.deflate_compress_bound(data.len())];
    let n = c.deflate_compress(data, &mut raw).unwrap();
    raw.truncate(n);
    let mut zlib = vec![0u8; c.zlib_compress_bound(data.len())];
    let n = c.zlib_compress(data, &mut zlib).unwrap();
    zlib.truncate(n);
    let mut gz = vec![0u8; c.gzip_compress_bound(data.len())];
    let n = c.gzip_compress(data, &mut gz).unwrap();
    gz.truncate(n);
    vec![(Format::Raw, raw), (Format::Zlib, zlib), (Format::Gzip, gz)]
}

fn miniz_all(data: &[u8], level: u8) -> Vec<(Format, Vec<u8>)> {
    vec![
        (
            Format::Raw,
            miniz_oxide::deflate::compress_to_vec(data, level),
        ),
        (
            Format::Zlib,
            miniz_oxide::deflate::compress_to_vec_zlib(data, level),
        ),
    ]
}

/// Small inputs: every chunk pair is affordable.
fn small_inputs() -> Vec<(&'static str, Vec<u8>)> {
    let mut rng = offload_testkit::Rng::new(0x5EED);
    vec![
        ("empty", Vec::new()),
        ("one byte", vec![b'x']),
        ("text", support::text(&mut rng, 700)),
        ("periods", support::periods(400)),
        ("random", rng.bytes(300)),
    ]
}

/// A gzip member with every optional header field (FEXTRA, FNAME, FCOMMENT, FHCRC).
fn gzip_with_fields(data: &[u8], level: u32) -> Vec<u8> {
    let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
    raw.write_all(data).unwrap();
    let raw = raw.finish().unwrap();
    let mut m = vec![0x1F, 0x8B, 8, 0x1E, 1, 2, 3, 4, 0, 3];
    let extra = b"AB\x04\x00wxyzCD\x00\x00";
    m.extend_from_slice(&(extra.len() as u16).to_le_bytes());
    m.extend_from_slice(extra);
    m.extend_from_slice(b"a file name.txt\0a comment\0");
    let crc = crc32fast::hash(&m) as u16;
    m.extend_from_slice(&crc.to_le_bytes());
    m.extend_from_slice(&raw);
    m.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    m.extend_from_slice(&(data.len() as u32).to_le_bytes());
    m
}

/// Every small stream the tests take apart: (label, format, stream).
fn small_streams() -> Vec<(String, Format, Vec<u8>)> {
    let mut v = Vec::new();
    for (name, data) in small_inputs() {
        for level in [0, 1, 6, 9] {
            for (f, s) in flate2_all(&data, level) {
                v.push((format!("flate2 {level} {name} {f:?}"), f, s));
            }
            for (f, s) in miniz_all(&data, level as u8) {
                v.push((format!("miniz_oxide {level} {name} {f:?}"), f, s));
            }
        }
        for level in [0, 1, 6, 12] {
            for (f, s) in libdeflate_all(&data, level) {
                v.push((format!("libdeflate {level} {name} {f:?}"), f, s));
            }
        }
        v.push((
            format!("gzip with fields {name}"),
            Format::Gzip,
            gzip_with_fields(&data, 6),
        ));
    }
    // Two members, the second with every header field, and trailing bytes after them.
    let inputs = small_inputs();
    let mut two = flate2_all(&inputs[2].1, 6).pop().unwrap().1;
    two.extend_from_slice(&gzip_with_fields(&inputs[3].1, 1));
    v.push(("two members".into(), Format::Gzip, two.clone()));
    let mut garbage = two.clone();
    garbage.extend_from_slice(b"\x1f\x00garbage");
    v.push(("two members + garbage".into(), Format::Gzip, garbage));
    let mut lone = two;
    lone.push(0x1F);
    v.push(("two members + 1f".into(), Format::Gzip, lone));
    // Raw and zlib streams with bytes after them: `consumed` stops at the stream's end.
    for (f, mut s) in flate2_all(&inputs[2].1, 9).into_iter().take(2) {
        s.extend_from_slice(&[
            0x1F, 0x8B, 0, 0xFF, 0x55, 0xAA, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
        ]);
        v.push((format!("{f:?} + trailing bytes"), f, s));
    }
    v
}

/// Every small stream with a quarter of the chunk pairs 1..=17 x 1..=17 (all of them across
/// consecutive streams; see `small_pairs`) on the first backend, a few on the others.
#[test]
fn small_streams_decode_with_every_chunk_pair() {
    let all = backends();
    for (k, (label, format, stream)) in small_streams().into_iter().enumerate() {
        let (first_name, first) = all[0];
        let r = agree(&label, first, format, None, &stream, &small_pairs(Some(k)));
        let Ok((consumed, _)) = r else {
            panic!("{label} ({first_name}): {r:?}");
        };
        if label.contains("trailing") || label.contains("garbage") || label.contains("1f") {
            assert!(
                consumed < stream.len(),
                "{label}: consumed the trailing bytes"
            );
        } else {
            assert_eq!(consumed, stream.len(), "{label}");
        }
        for &(_, codec) in &all[1..] {
            assert!(agree(&label, codec, format, None, &stream, &FEW_PAIRS).is_ok());
        }
    }
}

#[test]
fn large_streams_decode_with_a_few_chunk_pairs() {
    let all = backends();
    for (name, data) in corpus() {
        let mut streams = flate2_all(&data, 6);
        streams.extend(flate2_all(&data, 1));
        streams.extend(libdeflate_all(&data, 9));
        streams.extend(miniz_all(&data, 9));
        for (f, s) in streams {
            for &(_, codec) in &all {
                let r = agree(&format!("{name} {f:?}"), codec, f, None, &s, &FEW_PAIRS);
                assert_eq!(r.unwrap().1, data, "{name} {f:?}");
            }
        }
    }
}

fn tool(cmd: &str, args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    use std::process::{Command, Stdio};
    let mut child = match Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("skipping {cmd}: {e}");
            return None;
        }
    };
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{cmd} {args:?} failed");
    Some(out.stdout)
}

#[test]
fn gzip_and_pigz_multi_member_files_decode() {
    let all = backends();
    let mut small_file = Vec::new();
    let mut small_expected = Vec::new();
    for (cmd, level) in [
        ("gzip", "-1"),
        ("gzip", "-9"),
        ("pigz", "-6"),
        ("pigz", "-11"),
    ] {
        let mut file = Vec::new();
        let mut expected = Vec::new();
        for (_, data) in corpus() {
            let Some(member) = tool(cmd, &["-c", level], &data) else {
                continue;
            };
            file.extend_from_slice(&member);
            expected.extend_from_slice(&data);
        }
        for &(_, codec) in &all {
            let r = agree(cmd, codec, Format::Gzip, None, &file, &FEW_PAIRS);
            assert_eq!(r.unwrap().1, expected, "{cmd} {level}");
        }
        for (_, data) in small_inputs() {
            if let Some(member) = tool(cmd, &["-c", "-n", level], &data) {
                small_file.extend_from_slice(&member);
                small_expected.extend_from_slice(&data);
            }
        }
    }
    let r = agree(
        "small members",
        all[0].1,
        Format::Gzip,
        None,
        &small_file,
        &all_small_pairs(),
    );
    assert_eq!(r.unwrap().1, small_expected);
}

/// Pairs for the truncation and corruption sweeps (each runs thousands of times).
/// (16, 258) and (40, 300) let the fast path run and stop at its margins.
const SWEEP_PAIRS: [(usize, usize); 6] = [(1, 1), (2, 3), (5, 17), (13, 1), (16, 258), (40, 300)];

#[test]
fn truncation_anywhere_gives_the_one_shot_result() {
    let (_, codec) = backends()[0];
    for (label, format, stream) in small_streams() {
        for cut in 0..stream.len() {
            let r = agree(
                &format!("{label} cut at {cut}"),
                codec,
                format,
                None,
                &stream[..cut],
                &SWEEP_PAIRS,
            );
            if format != Format::Gzip && !label.contains("trailing") {
                assert!(r.is_err(), "{label} cut at {cut} decoded");
            }
        }
    }
}

#[test]
fn corruption_anywhere_gives_the_one_shot_result() {
    let (_, codec) = backends()[0];
    let streams = small_streams();
    let mut errors = 0;
    let mut total = 0;
    // A few streams of each kind, every byte, three ways of breaking it.
    for (label, format, stream) in streams
        .iter()
        .filter(|(l, ..)| l.contains("text") || l.contains("members") || l.contains("one byte"))
    {
        for at in 0..stream.len() {
            for flip in [0x01u8, 0x80, 0xFF] {
                let mut bad = stream.clone();
                bad[at] ^= flip;
                let r = agree(
                    &format!("{label} byte {at} ^ {flip:#x}"),
                    codec,
                    *format,
                    None,
                    &bad,
                    &SWEEP_PAIRS,
                );
                total += 1;
                errors += usize::from(r.is_err());
            }
        }
    }
    assert!(
        errors > total / 2,
        "{errors} of {total} corrupted streams rejected"
    );
}

/// zlib and raw streams made with a preset dictionary by Python's zlib, when it is there.
fn python_dict_streams(dict: &[u8], data: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let script = "import sys, zlib\n\
        d = open(sys.argv[1], 'rb').read(); x = open(sys.argv[2], 'rb').read()\n\
        z = zlib.compressobj(6, zlib.DEFLATED, 15, zdict=d); a = z.compress(x) + z.flush()\n\
        r = zlib.compressobj(6, zlib.DEFLATED, -15, zdict=d); b = r.compress(x) + r.flush()\n\
        sys.stdout.buffer.write(len(a).to_bytes(4, 'little') + a + b)\n";
    let dir = std::env::temp_dir();
    let id = std::process::id();
    let dp = dir.join(format!("offload-stream-dict-{id}"));
    let xp = dir.join(format!("offload-stream-data-{id}"));
    std::fs::write(&dp, dict).unwrap();
    std::fs::write(&xp, data).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&dp)
        .arg(&xp)
        .output();
    let _ = std::fs::remove_file(&dp);
    let _ = std::fs::remove_file(&xp);
    let out = match out {
        Ok(o) if o.status.success() => o.stdout,
        _ => {
            eprintln!("skipping the Python dictionary streams");
            return None;
        }
    };
    let n = u32::from_le_bytes(out[..4].try_into().unwrap()) as usize;
    Some((out[4..4 + n].to_vec(), out[4 + n..].to_vec()))
}

#[test]
fn preset_dictionaries_work_as_in_the_one_shot_decoder() {
    let all = backends();
    // zlib 1.2 (Python), "hello dictionary! hello dictionary?" with dictionary "hello dictionary".
    let small: [u8; 20] = [
        0x78, 0xf9, 0x35, 0x29, 0x06, 0x6b, 0xcb, 0x40, 0xe3, 0x2b, 0x2a, 0xa0, 0x8b, 0xd8, 0x03,
        0x00, 0xef, 0x8f, 0x0d, 0x55,
    ];
    let dict: &[u8] = b"hello dictionary";
    for &(_, codec) in &all {
        let r = agree(
            "dict",
            codec,
            Format::Zlib,
            Some(dict),
            &small,
            &all_small_pairs(),
        );
        assert_eq!(r.unwrap().1, b"hello dictionary! hello dictionary?");
        // Without it, or with the wrong one: the one-shot errors.
        let r = agree(
            "no dict",
            codec,
            Format::Zlib,
            None,
            &small,
            &all_small_pairs(),
        );
        assert!(matches!(r, Err(Error::Unsupported(_))));
        let r = agree(
            "bad dict",
            codec,
            Format::Zlib,
            Some(b"hello dictionarY"),
            &small,
            &FEW_PAIRS,
        );
        assert!(matches!(r, Err(Error::Checksum { .. })));
        // A dictionary is ignored by a stream without FDICT.
        let (_, s) = flate2_all(b"no dictionary here", 6).swap_remove(1);
        assert!(
            agree(
                "unused dict",
                codec,
                Format::Zlib,
                Some(dict),
                &s,
                &FEW_PAIRS
            )
            .is_ok()
        );
    }
    let mut rng = offload_testkit::Rng::new(77);
    let big_dict = support::text(&mut rng, 40_000);
    let mut data = big_dict[30_000..31_000].to_vec();
    data.extend_from_slice(&big_dict[9_000..12_000]);
    data.extend(support::text(&mut rng, 5_000));
    if let Some((zlib, raw)) = python_dict_streams(&big_dict, &data) {
        for &(_, codec) in &all {
            let r = agree(
                "python zlib dict",
                codec,
                Format::Zlib,
                Some(&big_dict),
                &zlib,
                &FEW_PAIRS,
            );
            assert_eq!(r.unwrap().1, data);
            let r = agree(
                "python raw dict",
                codec,
                Format::Raw,
                Some(&big_dict),
                &raw,
                &FEW_PAIRS,
            );
            assert_eq!(r.unwrap().1, data);
            // Raw without the dictionary: a match reaches too far.
            assert!(agree("raw no dict", codec, Format::Raw, None, &raw, &FEW_PAIRS).is_err());
        }
    }
    assert!(matches!(
        deflate::InflateStream::with_dictionary(all[0].1, deflate::Format::Gzip, dict),
        Err(Error::InvalidParameter { .. })
    ));
}

#[test]
fn errors_are_sticky() {
    let (_, codec) = backends()[0];
    let mut s = deflate::InflateStream::new(deflate::Format::Raw);
    let mut out = [0u8; 16];
    let e = s.decompress(codec, &[0x07], &mut out).unwrap_err(); // BTYPE 3
    assert_eq!(s.decompress(codec, &[0x00], &mut out), Err(e));
    assert_eq!(s.finish(), Err(e));
    assert!(!s.is_finished());
}

#[test]
fn state_size_is_as_documented() {
    assert_eq!(
        deflate::InflateStream::SIZE,
        size_of::<deflate::InflateStream>()
    );
    if cfg!(target_pointer_width = "64") {
        assert_eq!(deflate::InflateStream::SIZE, 44_712);
    }
}

/// A reader that hands out at most `n` bytes per read.
#[cfg(feature = "std")]
struct Trickle<'a> {
    data: &'a [u8],
    n: usize,
}

#[cfg(feature = "std")]
impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.n.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
#[cfg(feature = "std")]
fn io_decoder_reads_multi_member_gzip() {
    let (_, codec) = backends()[0];
    let data = support::text(&mut offload_testkit::Rng::new(3), 100_000);
    let mut file = flate2_all(&data[..60_000], 6).pop().unwrap().1;
    file.extend_from_slice(&gzip_with_fields(&data[60_000..], 9));
    for n in [1, 7, 8192, 1 << 20] {
        let mut r = deflate::Decoder::new(codec, deflate::Format::Gzip, Trickle { data: &file, n });
        let mut back = Vec::new();
        r.read_to_end(&mut back).unwrap();
        assert!(back == data, "trickle {n}");
        // Truncated: UnexpectedEof.
        let mut r = deflate::Decoder::new(
            codec,
            deflate::Format::Gzip,
            Trickle {
                data: &file[..file.len() - 3],
                n,
            },
        );
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
    }
    // Corrupt: InvalidData.
    let mut bad = file.clone();
    let at = bad.len() - 6;
    bad[at] ^= 1;
    let mut r = deflate::Decoder::new(codec, deflate::Format::Gzip, &bad[..]);
    let e = r.read_to_end(&mut Vec::new()).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
}
