//! Hand-built DEFLATE, zlib and gzip streams: one test per strictness rule, and the legal
//! corner cases (fixed blocks, empty and full stored blocks, single and empty codes, the
//! largest distance, dictionaries, every zlib window size, every gzip header field).

// Safe code only (the Deflate format rules): under Miri, which is here for the `unsafe` of the
// SIMD backends and detection (tests/backends.rs), these would take minutes.
#![cfg(not(miri))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is a test failure, and casts are of small lengths and symbols"
)]

mod support;

use offload_compress::{ChecksumKind, Codec, Corruption, Error, Unsupported, deflate};
use support::{
    BitWriter, Format, Len, PRECODE_LENS, backends, canonical, decode_checked, dynamic_header,
    fixed_litlen, plain,
};

/// Decodes on every backend (checking the no-write-past contract) and returns the agreed
/// result.
fn decode(format: Format, input: &[u8], capacity: usize) -> Result<(usize, Vec<u8>), Error> {
    let mut first = None;
    for (name, codec) in backends() {
        let r = decode_checked(codec, format, input, capacity);
        match &first {
            None => first = Some(r),
            Some(f) => assert_eq!(*f, r, "{name} differs from the first backend"),
        }
    }
    first.unwrap()
}

fn raw(input: &[u8]) -> Result<(usize, Vec<u8>), Error> {
    decode(Format::Raw, input, support::scale(70_000, 1000))
}

fn corrupt(c: Corruption) -> Result<(usize, Vec<u8>), Error> {
    Err(Error::Corrupt(c))
}

/// A fixed block header.
fn fixed(w: &mut BitWriter, last: bool) {
    w.bits(u32::from(last), 1).bits(1, 2);
}

fn fixed_sym(w: &mut BitWriter, sym: u32) {
    let (code, len) = fixed_litlen(sym);
    w.code(code, len);
}

/// A match in a fixed block: `sym`/`extra` for the length, 5-bit `dsym` with `dextra`.
fn fixed_match(w: &mut BitWriter, sym: u32, extra: (u32, u32), dsym: u32, dextra: (u32, u32)) {
    fixed_sym(w, sym);
    w.bits(extra.0, extra.1);
    w.code(dsym, 5);
    w.bits(dextra.0, dextra.1);
}

#[test]
fn fixed_block_literals_and_matches_decode() {
    let mut w = BitWriter::new();
    fixed(&mut w, true);
    for &b in b"abc" {
        fixed_sym(&mut w, u32::from(b));
    }
    fixed_sym(&mut w, 200); // a 9-bit literal
    // Length 10 (symbol 264), distance 4 (symbol 3): "abc\xc8" repeated.
    fixed_match(&mut w, 264, (0, 0), 3, (0, 0));
    // Length 258 (symbol 285), distance 1.
    fixed_match(&mut w, 285, (0, 0), 0, (0, 0));
    // Length 227 + 31 = 258 via symbol 284 with 5 extra bits, distance 13 + 3 = 16
    // (symbol 7, 2 extra bits... symbol 7 is base 13 with 2 extra bits: 13 + 3 = 16).
    fixed_match(&mut w, 284, (30, 5), 7, (3, 2));
    fixed_sym(&mut w, 256);
    let stream = w.finish();

    let mut expected = b"abc\xc8".to_vec();
    for _ in 0..10 {
        expected.push(expected[expected.len() - 4]);
    }
    for _ in 0..258 {
        expected.push(expected[expected.len() - 1]);
    }
    for _ in 0..257 {
        expected.push(expected[expected.len() - 16]);
    }
    assert_eq!(raw(&stream), Ok((stream.len(), expected)));
}

#[test]
fn empty_inputs_decode_to_nothing() {
    // Final empty fixed block: 1, 01, then end-of-block (7 zero bits).
    assert_eq!(raw(&[0x03, 0x00]), Ok((2, vec![])));
    // Final empty stored block.
    assert_eq!(raw(&[0x01, 0x00, 0x00, 0xFF, 0xFF]), Ok((5, vec![])));
}

#[test]
fn sync_flush_empty_stored_blocks_decode() {
    // Literal block, then the `00 00 FF FF` of a sync flush twice, then the final block.
    let mut w = BitWriter::new();
    fixed(&mut w, false);
    fixed_sym(&mut w, u32::from(b'x'));
    fixed_sym(&mut w, 256);
    w.bits(0, 3).raw(&[0x00, 0x00, 0xFF, 0xFF]);
    w.bits(0, 3).raw(&[0x00, 0x00, 0xFF, 0xFF]);
    fixed(&mut w, true);
    fixed_sym(&mut w, u32::from(b'y'));
    fixed_sym(&mut w, 256);
    let stream = w.finish();
    assert_eq!(raw(&stream), Ok((stream.len(), b"xy".to_vec())));
}

#[test]
#[cfg_attr(miri, ignore = "128 KiB of output is slow under Miri")]
fn stored_blocks_of_65535_bytes_decode() {
    let mut rng = offload_testkit::Rng::new(11);
    let a = rng.bytes(65535);
    let b = rng.bytes(65535);
    let mut stream = vec![0x00, 0xFF, 0xFF, 0x00, 0x00];
    stream.extend_from_slice(&a);
    stream.extend_from_slice(&[0x01, 0xFF, 0xFF, 0x00, 0x00]);
    stream.extend_from_slice(&b);
    let mut expected = a.clone();
    expected.extend_from_slice(&b);
    let r = decode(Format::Raw, &stream, expected.len());
    assert_eq!(r, Ok((stream.len(), expected)));
}

#[test]
fn stored_block_with_bad_nlen_is_rejected() {
    let stream = [0x01, 0x05, 0x00, 0xFA, 0xFE, 1, 2, 3, 4, 5];
    assert_eq!(
        raw(&stream),
        corrupt(Corruption::DeflateStoredLength {
            len: 5,
            nlen: 0xFEFA
        })
    );
}

#[test]
fn block_type_3_is_rejected() {
    assert_eq!(raw(&[0x07, 0x00]), corrupt(Corruption::DeflateBlockType));
    assert_eq!(raw(&[0x06, 0x00]), corrupt(Corruption::DeflateBlockType));
}

#[test]
fn fixed_litlen_symbols_286_and_287_are_rejected() {
    for sym in [286, 287] {
        let mut w = BitWriter::new();
        fixed(&mut w, true);
        fixed_sym(&mut w, u32::from(b'a'));
        fixed_sym(&mut w, sym);
        w.bits(0, 16);
        assert_eq!(
            raw(&w.finish()),
            corrupt(Corruption::DeflateLitLenSymbol { symbol: sym as u16 })
        );
    }
}

#[test]
fn fixed_distance_symbols_30_and_31_are_rejected() {
    for dsym in [30, 31] {
        let mut w = BitWriter::new();
        fixed(&mut w, true);
        fixed_sym(&mut w, u32::from(b'a'));
        fixed_match(&mut w, 257, (0, 0), dsym, (0, 0));
        fixed_sym(&mut w, 256);
        assert_eq!(
            raw(&w.finish()),
            corrupt(Corruption::DeflateDistanceSymbol {
                symbol: dsym as u16
            })
        );
    }
}

#[test]
fn distance_beyond_the_output_is_rejected() {
    let mut w = BitWriter::new();
    fixed(&mut w, true);
    fixed_sym(&mut w, u32::from(b'a'));
    fixed_match(&mut w, 257, (0, 0), 1, (0, 0)); // distance 2 after one byte
    fixed_sym(&mut w, 256);
    assert_eq!(
        raw(&w.finish()),
        corrupt(Corruption::DeflateDistanceTooFar {
            distance: 2,
            history: 1
        })
    );
    // A match first thing in the stream.
    let mut w = BitWriter::new();
    fixed(&mut w, true);
    fixed_match(&mut w, 257, (0, 0), 0, (0, 0));
    fixed_sym(&mut w, 256);
    assert_eq!(
        raw(&w.finish()),
        corrupt(Corruption::DeflateDistanceTooFar {
            distance: 1,
            history: 0
        })
    );
}

/// A stored block of `prefix`, then a fixed block with one 258-byte match at distance
/// 32768 (symbol 29, 13 extra bits all ones: 24577 + 8191).
fn max_distance_stream(prefix: &[u8]) -> Vec<u8> {
    let mut w = BitWriter::new();
    w.bits(0, 3);
    let len = prefix.len() as u16;
    w.raw(&len.to_le_bytes())
        .raw(&(!len).to_le_bytes())
        .raw(prefix);
    fixed(&mut w, true);
    fixed_match(&mut w, 285, (0, 0), 29, (8191, 13));
    fixed_sym(&mut w, 256);
    w.finish()
}

#[test]
fn distance_32768_reaches_the_first_byte() {
    let prefix = offload_testkit::Rng::new(12).bytes(if cfg!(miri) { 40 } else { 32768 });
    let stream = max_distance_stream(&prefix);
    let r = raw(&stream);
    if cfg!(miri) {
        // 40 bytes of history: too far.
        assert_eq!(
            r,
            corrupt(Corruption::DeflateDistanceTooFar {
                distance: 32768,
                history: 40
            })
        );
    } else {
        let mut expected = prefix.clone();
        expected.extend_from_slice(&prefix[..258]);
        assert_eq!(r, Ok((stream.len(), expected)));
    }
}

#[test]
fn matches_reach_into_a_dictionary() {
    let dict = offload_testkit::Rng::new(13).bytes(if cfg!(miri) { 300 } else { 32767 });
    // Match at distance dict.len() + 1 (at most 32768) after one literal: starts at
    // dict[0], 258 bytes.
    let mut w = BitWriter::new();
    fixed(&mut w, true);
    fixed_sym(&mut w, u32::from(b'q'));
    let d = dict.len() as u32 + 1;
    // Distance symbol for d: find the base.
    let bases = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
        2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ];
    let dsym = bases.iter().rposition(|&b| b <= d).unwrap() as u32;
    let extra_bits = if dsym < 4 { 0 } else { dsym / 2 - 1 };
    fixed_match(
        &mut w,
        285,
        (0, 0),
        dsym,
        (d - bases[dsym as usize], extra_bits),
    );
    // And one that straddles: distance 3 after this (all in the output), then one at
    // distance (output so far + 2) of length 5: 2 bytes from the dictionary's end, 3 from
    // the output's start.
    fixed_match(&mut w, 257, (0, 0), 2, (0, 0));
    let d2 = 1 + 258 + 3 + 2;
    let dsym2 = bases.iter().rposition(|&b| b <= d2).unwrap() as u32;
    let extra2 = if dsym2 < 4 { 0 } else { dsym2 / 2 - 1 };
    fixed_match(
        &mut w,
        259,
        (0, 0),
        dsym2,
        (d2 - bases[dsym2 as usize], extra2),
    );
    fixed_sym(&mut w, 256);
    let stream = w.finish();

    let mut expected = vec![b'q'];
    expected.extend_from_slice(&dict[..258]);
    for _ in 0..3 {
        expected.push(expected[expected.len() - 3]);
    }
    let mut history = dict.clone();
    history.extend_from_slice(&expected);
    let start = history.len() - d2 as usize;
    expected.extend_from_slice(&history[start..start + 5]);

    for (_, codec) in backends() {
        let mut inflater = deflate::Inflater::new();
        let mut out = vec![0u8; 1000];
        let r = deflate::inflate_raw_with_dict(codec, &mut inflater, &stream, &mut out, &dict);
        assert_eq!(r, Ok((stream.len(), expected.len())));
        assert_eq!(out[..expected.len()], expected);
        // Without the dictionary the first match is too far.
        let r = deflate::inflate_raw(codec, &mut inflater, &stream, &mut out);
        assert_eq!(
            r,
            Err(Error::Corrupt(Corruption::DeflateDistanceTooFar {
                distance: d as usize,
                history: 1
            }))
        );
    }
}

/// A dynamic block with the given code lengths, then `body` written with those codes.
fn dynamic_stream(litlen: &[u8], dist: &[u8], body: &[(bool, u32)]) -> Vec<u8> {
    let mut w = BitWriter::new();
    let mut items = plain(litlen);
    items.extend(plain(dist));
    dynamic_header(
        &mut w,
        true,
        litlen.len() as u32,
        dist.len() as u32,
        &PRECODE_LENS,
        &items,
    );
    let lc = canonical(litlen);
    let dc = canonical(dist);
    for &(is_dist, sym) in body {
        let s = sym as usize;
        if is_dist {
            w.code(dc[s], u32::from(dist[s]));
        } else {
            w.code(lc[s], u32::from(litlen[s]));
        }
    }
    w.bits(0, 16);
    w.finish()
}

fn lens_with(n: usize, set: &[(usize, u8)]) -> Vec<u8> {
    let mut v = vec![0u8; n];
    for &(i, l) in set {
        v[i] = l;
    }
    v
}

#[test]
fn dynamic_block_with_few_codes_decodes() {
    // 'a':1, 256:2, 257:2 (complete); one distance code of one bit (incomplete, allowed).
    let litlen = lens_with(258, &[(97, 1), (256, 2), (257, 2)]);
    let dist = [1u8];
    let stream = dynamic_stream(
        &litlen,
        &dist,
        &[(false, 97), (false, 257), (true, 0), (false, 256)],
    );
    let r = raw(&stream);
    assert_eq!(r.map(|(_, v)| v), Ok(b"aaaa".to_vec()));
}

#[test]
fn single_code_litlen_with_only_end_of_block_decodes() {
    let litlen = lens_with(257, &[(256, 1)]);
    let stream = dynamic_stream(&litlen, &[0], &[(false, 256)]);
    assert_eq!(raw(&stream).map(|(_, v)| v), Ok(vec![]));
}

#[test]
fn unused_half_of_a_single_code_is_rejected() {
    // The single distance code is "0"; the bit pattern "1" has no code.
    let litlen = lens_with(258, &[(97, 1), (256, 2), (257, 2)]);
    let mut w = BitWriter::new();
    let mut items = plain(&litlen);
    items.push(Len::L(1));
    dynamic_header(&mut w, true, 258, 1, &PRECODE_LENS, &items);
    let lc = canonical(&litlen);
    w.code(lc[97], 1).code(lc[257], 2).bits(1, 1).bits(0, 16);
    assert_eq!(
        raw(&w.finish()),
        corrupt(Corruption::DeflateInvalidCode { code: "distance" })
    );
}

#[test]
fn empty_distance_code_is_allowed_until_a_match_uses_it() {
    let litlen = lens_with(258, &[(97, 1), (256, 2), (257, 2)]);
    let ok = dynamic_stream(&litlen, &[0], &[(false, 97), (false, 97), (false, 256)]);
    assert_eq!(raw(&ok).map(|(_, v)| v), Ok(b"aa".to_vec()));
    let bad = dynamic_stream(&litlen, &[0], &[(false, 97), (false, 257)]);
    assert_eq!(
        raw(&bad),
        corrupt(Corruption::DeflateInvalidCode { code: "distance" })
    );
}

#[test]
fn oversubscribed_codes_are_rejected() {
    let litlen = lens_with(258, &[(97, 1), (256, 1), (257, 1)]);
    assert_eq!(
        raw(&dynamic_stream(&litlen, &[1], &[])),
        corrupt(Corruption::DeflateOversubscribedCode {
            code: "literal/length"
        })
    );
    let litlen = lens_with(258, &[(97, 1), (256, 2), (257, 2)]);
    assert_eq!(
        raw(&dynamic_stream(&litlen, &[1, 1, 1], &[])),
        corrupt(Corruption::DeflateOversubscribedCode { code: "distance" })
    );
    // Code-length code: 19 codes of 4 bits need 19/16 of the space.
    let mut w = BitWriter::new();
    dynamic_header(&mut w, true, 257, 1, &[4; 19], &[]);
    w.bits(0, 32);
    assert_eq!(
        raw(&w.finish()),
        corrupt(Corruption::DeflateOversubscribedCode {
            code: "code-length"
        })
    );
}

#[test]
fn incomplete_codes_are_rejected() {
    let litlen = lens_with(258, &[(97, 2), (256, 2), (257, 2)]);
    assert_eq!(
        raw(&dynamic_stream(&litlen, &[1], &[])),
        corrupt(Corruption::DeflateIncompleteCode {
            code: "literal/length"
        })
    );
    // A single litlen code of 2 bits is incomplete and not the one-bit exception.
    let litlen = lens_with(257, &[(256, 2)]);
    assert_eq!(
        raw(&dynamic_stream(&litlen, &[1], &[])),
        corrupt(Corruption::DeflateIncompleteCode {
            code: "literal/length"
        })
    );
    let litlen = lens_with(258, &[(97, 1), (256, 2), (257, 2)]);
    assert_eq!(
        raw(&dynamic_stream(&litlen, &[2, 2], &[])),
        corrupt(Corruption::DeflateIncompleteCode { code: "distance" })
    );
    // Code-length code with one code of one bit: incomplete, and no exception applies.
    let mut pre = [0u8; 19];
    pre[0] = 1;
    let mut w = BitWriter::new();
    dynamic_header(&mut w, true, 257, 1, &pre, &[]);
    w.bits(0, 32);
    assert_eq!(
        raw(&w.finish()),
        corrupt(Corruption::DeflateIncompleteCode {
            code: "code-length"
        })
    );
}

#[test]
fn too_many_declared_codes_are_rejected() {
    for (hlit, hdist) in [(287, 1), (288, 1), (257, 31), (257, 32)] {
        let mut w = BitWriter::new();
        dynamic_header(&mut w, true, hlit, hdist, &PRECODE_LENS, &[]);
        w.bits(0, 32);
        assert_eq!(
            raw(&w.finish()),
            corrupt(Corruption::DeflateTooManyCodes {
                litlen: hlit as usize,
                distance: hdist as usize
            })
        );
    }
}

#[test]
fn repeat_without_previous_length_is_rejected() {
    let mut w = BitWriter::new();
    dynamic_header(&mut w, true, 257, 1, &PRECODE_LENS, &[Len::Repeat(3)]);
    w.bits(0, 32);
    assert_eq!(
        raw(&w.finish()),
        corrupt(Corruption::DeflateRepeatWithoutPrevious)
    );
}

#[test]
fn code_length_runs_past_the_declared_codes_are_rejected() {
    // 257 + 1 = 258 lengths; 256 zeros then a run of 3 crosses the end.
    let items = [
        Len::LongZeros(138),
        Len::LongZeros(118),
        Len::L(1),
        Len::Repeat(3),
    ];
    let mut w = BitWriter::new();
    dynamic_header(&mut w, true, 257, 1, &PRECODE_LENS, &items);
    w.bits(0, 32);
    assert_eq!(
        raw(&w.finish()),
        corrupt(Corruption::DeflateCodeLengthsOverrun)
    );
    // Runs may cross from the literal/length lengths into the distance lengths.
    let items = [
        Len::LongZeros(138),
        Len::LongZeros(118),
        Len::L(1),
        Len::L(1),
        Len::Repeat(3), // 257 (length 3) and the 3 distance codes... of 4 declared
        Len::L(0),
    ];
    let mut w = BitWriter::new();
    dynamic_header(&mut w, true, 258, 4, &PRECODE_LENS, &items);
    // Lengths: 256:1, 257:1, then distances 0..=2 get 1 (over-subscribed distance code).
    w.bits(0, 32);
    assert_eq!(
        raw(&w.finish()),
        corrupt(Corruption::DeflateOversubscribedCode { code: "distance" })
    );
}

#[test]
fn missing_end_of_block_code_is_rejected() {
    let litlen = lens_with(258, &[(97, 1), (257, 1)]);
    assert_eq!(
        raw(&dynamic_stream(&litlen, &[1], &[])),
        corrupt(Corruption::DeflateMissingEndOfBlock)
    );
}

#[test]
fn dynamic_block_symbols_286_287_cannot_be_declared() {
    // HLIT 287 is refused up front (zlib's rule), so 286/287 never get dynamic codes.
    let mut w = BitWriter::new();
    dynamic_header(&mut w, true, 287, 1, &PRECODE_LENS, &[]);
    w.bits(0, 32);
    assert!(matches!(
        raw(&w.finish()),
        Err(Error::Corrupt(Corruption::DeflateTooManyCodes { .. }))
    ));
}

#[test]
fn trailing_bytes_are_left_to_the_caller() {
    let stream = [0x03, 0x00, 0xAB, 0xCD];
    assert_eq!(raw(&stream), Ok((2, vec![])));
    let zlib = [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01, 0xEE];
    assert_eq!(decode(Format::Zlib, &zlib, 10), Ok((8, vec![])));
    let mut gz = gzip_header(0, &[]);
    gz.extend_from_slice(&[0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
    let n = gz.len();
    gz.extend_from_slice(&[0x00, 0x00, 0x1F]);
    assert_eq!(decode(Format::Gzip, &gz, 10), Ok((n, vec![])));
}

// ---- zlib ----

/// Rewrites a zlib stream's header to `cmf`, with FCHECK fixed up (FDICT and FLEVEL kept).
fn with_cmf(stream: &[u8], cmf: u8) -> Vec<u8> {
    let mut s = stream.to_vec();
    s[0] = cmf;
    let flg = s[1] & 0xE0;
    let check = (31 - ((u16::from(cmf) << 8 | u16::from(flg)) % 31)) % 31;
    s[1] = flg | check as u8;
    s
}

fn zlib_hello() -> (Vec<u8>, Vec<u8>) {
    let data = b"hello, hello, hello! zlib".repeat(3);
    (miniz_oxide::deflate::compress_to_vec_zlib(&data, 6), data)
}

#[test]
fn zlib_every_window_size_decodes() {
    let (stream, data) = zlib_hello();
    for cinfo in 0..=7u8 {
        let s = with_cmf(&stream, cinfo << 4 | 8);
        assert_eq!(
            decode(Format::Zlib, &s, 100),
            Ok((s.len(), data.clone())),
            "CINFO {cinfo}"
        );
    }
}

#[test]
fn zlib_bad_headers_are_rejected() {
    let (stream, _) = zlib_hello();
    for cinfo in 8..=15u8 {
        let s = with_cmf(&stream, cinfo << 4 | 8);
        assert_eq!(
            decode(Format::Zlib, &s, 100),
            corrupt(Corruption::ZlibWindowSize { cinfo })
        );
    }
    for cm in [0u8, 7, 9, 15] {
        let s = with_cmf(&stream, 0x70 | cm);
        assert_eq!(
            decode(Format::Zlib, &s, 100),
            corrupt(Corruption::ZlibCompressionMethod { method: cm })
        );
    }
    let mut s = stream.clone();
    s[1] ^= 1;
    assert_eq!(
        decode(Format::Zlib, &s, 100),
        corrupt(Corruption::ZlibHeaderCheck {
            cmf: s[0],
            flg: s[1]
        })
    );
    assert_eq!(decode(Format::Zlib, &[0x78], 100), Err(Error::Truncated));
    assert_eq!(decode(Format::Zlib, &[], 100), Err(Error::Truncated));
}

#[test]
fn zlib_checksum_mismatch_and_missing_trailer_are_rejected() {
    let (stream, data) = zlib_hello();
    let n = stream.len();
    let mut s = stream.clone();
    s[n - 1] ^= 0x40;
    let good = u32::from_be_bytes(stream[n - 4..].try_into().unwrap());
    assert_eq!(
        decode(Format::Zlib, &s, 100),
        Err(Error::Checksum {
            kind: ChecksumKind::ZlibAdler32,
            stored: good ^ 0x40,
            computed: good
        })
    );
    assert_eq!(
        decode(Format::Zlib, &stream[..n - 1], 100),
        Err(Error::Truncated)
    );
    assert_eq!(
        decode(Format::Zlib, &stream[..n - 4], 100),
        Err(Error::Truncated)
    );
    assert_eq!(decode(Format::Zlib, &stream, 100), Ok((n, data)));
}

/// "hello dictionary! hello dictionary?" compressed by zlib 1.2 (Python's `zlib`,
/// `compressobj(9, DEFLATED, 15, zdict=b"hello dictionary")`).
const ZLIB_WITH_DICT: [u8; 20] = [
    0x78, 0xf9, 0x35, 0x29, 0x06, 0x6b, 0xcb, 0x40, 0xe3, 0x2b, 0x2a, 0xa0, 0x8b, 0xd8, 0x03, 0x00,
    0xef, 0x8f, 0x0d, 0x55,
];

#[test]
fn zlib_preset_dictionary_needs_the_right_dictionary() {
    let dict = b"hello dictionary";
    for (_, codec) in backends() {
        let mut inflater = deflate::Inflater::new();
        let mut out = [0u8; 64];
        assert_eq!(
            deflate::zlib_decompress(codec, &mut inflater, &ZLIB_WITH_DICT, &mut out),
            Err(Error::Unsupported(Unsupported::Dictionary {
                id: 0x3529_066b
            }))
        );
        let r = deflate::zlib_decompress_with_dict(
            codec,
            &mut inflater,
            &ZLIB_WITH_DICT,
            &mut out,
            dict,
        );
        assert_eq!(r, Ok((20, 35)));
        assert_eq!(&out[..35], b"hello dictionary! hello dictionary?");
        assert_eq!(
            deflate::zlib_decompress_with_dict(
                codec,
                &mut inflater,
                &ZLIB_WITH_DICT,
                &mut out,
                b"hello dictionarY"
            ),
            Err(Error::Checksum {
                kind: ChecksumKind::ZlibDictionary,
                stored: 0x3529_066b,
                computed: codec.adler32(1, b"hello dictionarY"),
            })
        );
        // Truncated inside the DICTID.
        assert_eq!(
            deflate::zlib_decompress_with_dict(
                codec,
                &mut inflater,
                &ZLIB_WITH_DICT[..5],
                &mut out,
                dict
            ),
            Err(Error::Truncated)
        );
        // A stream without FDICT ignores a dictionary it is given.
        let (stream, data) = zlib_hello();
        let mut big = [0u8; 100];
        assert_eq!(
            deflate::zlib_decompress_with_dict(codec, &mut inflater, &stream, &mut big, dict),
            Ok((stream.len(), data.len()))
        );
    }
}

// ---- gzip ----

/// A gzip header with `flags` and the matching optional fields (FEXTRA gets `extra`).
fn gzip_header(flags: u8, extra: &[u8]) -> Vec<u8> {
    let mut h = vec![0x1F, 0x8B, 8, flags, 0x78, 0x56, 0x34, 0x12, 0, 3];
    if flags & 4 != 0 {
        h.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        h.extend_from_slice(extra);
    }
    if flags & 8 != 0 {
        h.extend_from_slice(b"file name.txt\0");
    }
    if flags & 16 != 0 {
        h.extend_from_slice(b"a comment \xe9\0");
    }
    if flags & 2 != 0 {
        let crc = crc32fast::hash(&h) as u16;
        h.extend_from_slice(&crc.to_le_bytes());
    }
    h
}

/// A whole member: header, a fixed block of `data` as literals, trailer.
fn gzip_member(flags: u8, data: &[u8]) -> Vec<u8> {
    let mut m = gzip_header(flags, b"AB\x04\x00wxyzCD\x00\x00");
    let mut w = BitWriter::new();
    fixed(&mut w, true);
    for &b in data {
        fixed_sym(&mut w, u32::from(b));
    }
    fixed_sym(&mut w, 256);
    m.extend_from_slice(&w.finish());
    m.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    m.extend_from_slice(&(data.len() as u32).to_le_bytes());
    m
}

#[test]
fn gzip_every_combination_of_header_fields_decodes() {
    let all: Vec<u8> = if cfg!(miri) {
        vec![0, 2, 4, 8, 16, 31]
    } else {
        (0..32).collect()
    };
    for flags in all {
        let m = gzip_member(flags, b"gzip fields");
        assert_eq!(
            decode(Format::Gzip, &m, 64),
            Ok((m.len(), b"gzip fields".to_vec())),
            "FLG {flags:#x}"
        );
        // And truncated anywhere in the header: Truncated.
        let header_len = gzip_header(flags, b"AB\x04\x00wxyzCD\x00\x00").len();
        for cut in 0..header_len {
            assert_eq!(decode(Format::Gzip, &m[..cut], 64), Err(Error::Truncated));
        }
    }
}

#[test]
fn gzip_reserved_flags_are_rejected() {
    for bit in 5..8 {
        let mut m = gzip_member(0, b"x");
        m[3] |= 1 << bit;
        assert_eq!(
            decode(Format::Gzip, &m, 64),
            corrupt(Corruption::GzipReservedFlags { flags: 1 << bit })
        );
    }
}

#[test]
fn gzip_bad_header_crc_is_rejected() {
    let mut m = gzip_member(2 | 8, b"x");
    let at = gzip_header(2 | 8, &[]).len() - 2;
    let good = u16::from_le_bytes([m[at], m[at + 1]]);
    m[at] ^= 1;
    assert_eq!(
        decode(Format::Gzip, &m, 64),
        Err(Error::Checksum {
            kind: ChecksumKind::GzipHeaderCrc,
            stored: u32::from(good ^ 1),
            computed: u32::from(good)
        })
    );
}

#[test]
fn gzip_bad_magic_and_method_are_rejected() {
    let mut m = gzip_member(0, b"x");
    m[1] = 0x8C;
    assert_eq!(
        decode(Format::Gzip, &m, 64),
        corrupt(Corruption::GzipBadMagic { found: 0x8C1F })
    );
    let mut m = gzip_member(0, b"x");
    m[2] = 7;
    assert_eq!(
        decode(Format::Gzip, &m, 64),
        corrupt(Corruption::GzipCompressionMethod { method: 7 })
    );
}

#[test]
fn gzip_trailer_mismatches_are_rejected() {
    let data = b"trailer check";
    let m = gzip_member(0, data);
    let n = m.len();
    let crc = crc32fast::hash(data);

    let mut bad = m.clone();
    bad[n - 8] ^= 0x10;
    assert_eq!(
        decode(Format::Gzip, &bad, 64),
        Err(Error::Checksum {
            kind: ChecksumKind::GzipCrc32,
            stored: crc ^ 0x10,
            computed: crc
        })
    );
    let mut bad = m.clone();
    bad[n - 4] += 1;
    assert_eq!(
        decode(Format::Gzip, &bad, 64),
        Err(Error::Checksum {
            kind: ChecksumKind::GzipSize,
            stored: data.len() as u32 + 1,
            computed: data.len() as u32
        })
    );
    for cut in n - 8..n {
        assert_eq!(decode(Format::Gzip, &m[..cut], 64), Err(Error::Truncated));
    }
}

#[test]
fn gzip_members_concatenate_and_errors_in_later_members_count() {
    let mut file = gzip_member(8, b"first ");
    file.extend_from_slice(&gzip_member(0, b""));
    file.extend_from_slice(&gzip_member(2 | 4 | 16, b"third"));
    assert_eq!(
        decode(Format::Gzip, &file, 64),
        Ok((file.len(), b"first third".to_vec()))
    );
    // Output full in the third member: the whole buffer is reported.
    assert_eq!(
        decode(Format::Gzip, &file, 8),
        Err(Error::OutputTooSmall {
            needed: None,
            available: 8
        })
    );
    // A bad CRC in the last member fails the whole file.
    let n = file.len();
    file[n - 8] ^= 1;
    assert!(matches!(
        decode(Format::Gzip, &file, 64),
        Err(Error::Checksum {
            kind: ChecksumKind::GzipCrc32,
            ..
        })
    ));
}

#[test]
fn inflater_size_is_as_documented() {
    assert_eq!(deflate::Inflater::SIZE, 11_808);
    assert_eq!(size_of::<deflate::Inflater>(), deflate::Inflater::SIZE);
}
