//! [`deflate::Strategy::Fixed`]: every level's stream holds only stored and fixed-Huffman
//! blocks, checked by a decoder of its own written from RFC 1951 §3.2.4–3.2.6 that knows no
//! other block type; zlib (flate2), libdeflate and miniz_oxide decode the same streams;
//! every backend writes the same bytes; the streaming encoder keeps the strategy.

#![cfg(not(miri))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a panic is a test failure"
)]

mod support;

use std::io::Read;

use offload_compress::{Auto, deflate};
use offload_testkit::corpus::{self, Kind};
use support::backends;

/// Reads bits least significant first, as DEFLATE packs them.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn bit(&mut self) -> u32 {
        let b = self.data.get(self.pos / 8).expect("stream ends early");
        let v = u32::from(b >> (self.pos % 8) & 1);
        self.pos += 1;
        v
    }

    /// `n` bits as a number, first bit lowest (header fields, extra bits).
    fn value(&mut self, n: u32) -> u32 {
        (0..n).fold(0, |v, i| v | self.bit() << i)
    }

    /// `n` more bits of a Huffman code, first bit highest.
    fn code(&mut self, mut code: u32, n: u32) -> u32 {
        for _ in 0..n {
            code = code << 1 | self.bit();
        }
        code
    }
}

/// A literal/length symbol of the fixed code (RFC 1951 §3.2.6): 7-bit codes 0..=23 are
/// symbols 256..=279; 8-bit codes 48..=191 are 0..=143 and 192..=199 are 280..=287; 9-bit
/// codes 400..=511 are 144..=255.
fn fixed_symbol(bits: &mut Bits<'_>) -> u32 {
    let c = bits.code(0, 7);
    if c <= 23 {
        return 256 + c;
    }
    let c = bits.code(c, 1);
    match c {
        48..=191 => c - 48,
        192..=199 => 280 + c - 192,
        _ => 144 + bits.code(c, 1) - 400,
    }
}

const LEN_BASE: [u32; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u32; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u32; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u32; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Decodes a raw stream that may hold only stored and fixed-Huffman blocks (a dynamic block
/// fails the test). Returns the data and the count of (stored, fixed) blocks.
fn decode_fixed_only(stream: &[u8]) -> (Vec<u8>, [usize; 2]) {
    let mut bits = Bits {
        data: stream,
        pos: 0,
    };
    let mut out = Vec::new();
    let mut blocks = [0; 2];
    loop {
        let last = bits.bit() == 1;
        match bits.value(2) {
            0 => {
                blocks[0] += 1;
                bits.pos = bits.pos.div_ceil(8) * 8;
                let len = bits.value(16);
                assert_eq!(bits.value(16), !len & 0xFFFF, "NLEN");
                let at = bits.pos / 8;
                out.extend_from_slice(&stream[at..at + len as usize]);
                bits.pos += 8 * len as usize;
            }
            1 => {
                blocks[1] += 1;
                loop {
                    let sym = fixed_symbol(&mut bits);
                    if let Ok(byte) = u8::try_from(sym) {
                        out.push(byte);
                        continue;
                    }
                    if sym == 256 {
                        break;
                    }
                    let i = (sym - 257) as usize;
                    assert!(i < 29, "length symbol {sym}");
                    let len = LEN_BASE[i] + bits.value(LEN_EXTRA[i]);
                    let d = bits.code(0, 5) as usize;
                    assert!(d < 30, "distance code {d}");
                    let dist = (DIST_BASE[d] + bits.value(DIST_EXTRA[d])) as usize;
                    assert!(dist <= out.len() && dist <= 32_768, "distance {dist}");
                    for _ in 0..len {
                        out.push(out[out.len() - dist]);
                    }
                }
            }
            t => panic!("block type {t} at bit {}", bits.pos - 3),
        }
        if last {
            assert_eq!(
                bits.pos.div_ceil(8),
                stream.len(),
                "bytes after the last block"
            );
            return (out, blocks);
        }
    }
}

fn compress(codec: Auto, strategy: deflate::Strategy, level: u32, data: &[u8]) -> Vec<u8> {
    let mut d = deflate::Deflater::with_strategy(strategy);
    let mut out = vec![0u8; deflate::deflate_bound(data.len())];
    let n = deflate::deflate_raw(codec, &mut d, level, data, &mut out).unwrap();
    out.truncate(n);
    out
}

fn peers_decode(stream: &[u8], len: usize) -> [Vec<u8>; 3] {
    let mut a = Vec::new();
    flate2::read::DeflateDecoder::new(stream)
        .read_to_end(&mut a)
        .unwrap();
    let mut b = vec![0u8; len];
    let n = libdeflater::Decompressor::new()
        .deflate_decompress(stream, &mut b)
        .unwrap();
    b.truncate(n);
    let c = miniz_oxide::inflate::decompress_to_vec(stream).unwrap();
    [a, b, c]
}

fn inputs() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), Vec::new()),
        ("one byte".into(), vec![0x42]),
        ("zeros".into(), vec![0; 100_000]),
        ("mixed".into(), corpus::mixed(400_000, 5)),
    ];
    for kind in Kind::ALL {
        v.push((kind.name().to_string(), corpus::generate(kind, 150_000, 2)));
    }
    v
}

/// Every level: only stored and fixed blocks, decoded by the fixed-only decoder and by the
/// three references; every backend the same bytes.
#[test]
fn fixed_streams_hold_only_stored_and_fixed_blocks() {
    let all = backends();
    for (name, data) in inputs() {
        for level in 0..=9 {
            let label = format!("{name} ({} bytes) level {level}", data.len());
            let stream = compress(all[0].1, deflate::Strategy::Fixed, level, &data);
            for &(bname, codec) in &all[1..] {
                let other = compress(codec, deflate::Strategy::Fixed, level, &data);
                assert!(other == stream, "{label}: {bname} writes other bytes");
            }
            let (back, blocks) = decode_fixed_only(&stream);
            assert!(
                back == data,
                "{label}: the fixed-only decoder reads other data"
            );
            if level > 0 && name != "random" && data.len() > 1000 {
                assert!(blocks[1] > 0, "{label}: no fixed block");
            }
            for (peer, out) in ["flate2", "libdeflate", "miniz_oxide"]
                .iter()
                .zip(peers_decode(&stream, data.len()))
            {
                assert!(out == data, "{label}: {peer} decodes other data");
            }
        }
    }
}

/// The fixed code costs ratio on skewed data and never more than the stored form; the
/// default strategy's bytes are those of a new deflater; random data is stored.
#[test]
fn fixed_sizes_are_bounded_by_default_and_stored() {
    let codec = Auto::detect();
    let text = corpus::generate(Kind::Text, 200_000, 8);
    for level in [1, 6] {
        let fixed = compress(codec, deflate::Strategy::Fixed, level, &text);
        let default = compress(codec, deflate::Strategy::Default, level, &text);
        assert!(fixed.len() > default.len(), "level {level}");
        let mut d = deflate::Deflater::new();
        let mut out = vec![0u8; deflate::deflate_bound(text.len())];
        let n = deflate::deflate_raw(codec, &mut d, level, &text, &mut out).unwrap();
        assert_eq!(out[..n], default[..], "level {level}");
    }
    let random = corpus::generate(Kind::Random, 100_000, 8);
    let stream = compress(codec, deflate::Strategy::Fixed, 1, &random);
    let (back, blocks) = decode_fixed_only(&stream);
    assert_eq!(back, random);
    assert_eq!(blocks[1], 0, "random data in fixed blocks");
    assert!(stream.len() <= deflate::deflate_bound(random.len()));
}

#[test]
fn strategy_is_set_reported_and_printed() {
    let mut d = deflate::Deflater::new();
    assert_eq!(d.strategy(), deflate::Strategy::Default);
    d.set_strategy(deflate::Strategy::Fixed);
    assert_eq!(d.strategy(), deflate::Strategy::Fixed);
    assert!(format!("{d:?}").contains("strategy: Fixed"));
    let d = deflate::Deflater::with_strategy(deflate::Strategy::Fixed);
    assert_eq!(d.strategy(), deflate::Strategy::Fixed);
    assert_eq!(deflate::Strategy::default(), deflate::Strategy::Default);
}

/// The streaming encoder uses the deflater's strategy: a gzip stream written in pieces
/// holds only fixed and stored blocks and decodes back.
#[test]
fn streaming_keeps_the_strategy() {
    let codec = Auto::detect();
    let data = corpus::mixed(300_000, 9);
    let mut d = deflate::Deflater::with_strategy(deflate::Strategy::Fixed);
    let mut storage = vec![0u8; deflate::DeflateStream::<Auto>::STORAGE_LEN];
    let mut enc =
        deflate::DeflateStream::new(codec, deflate::Format::Raw, 1, &mut d, &mut storage).unwrap();
    let mut stream = Vec::new();
    let mut buf = [0u8; 3000];
    for piece in data.chunks(7777) {
        let mut piece = piece;
        while !piece.is_empty() {
            let p = enc
                .compress(piece, &mut buf, offload_compress::lz4::Flush::None)
                .unwrap();
            stream.extend_from_slice(&buf[..p.produced]);
            piece = &piece[p.consumed..];
        }
    }
    while !enc.is_finished() {
        let p = enc
            .compress(&[], &mut buf, offload_compress::lz4::Flush::Finish)
            .unwrap();
        stream.extend_from_slice(&buf[..p.produced]);
    }
    let (back, blocks) = decode_fixed_only(&stream);
    assert!(back == data);
    assert!(blocks[1] > 0);
}
