//! Shared by the test files: the backends to run, and for the `deflate_*` files test data, a
//! bit writer for hand-built streams, and a decode helper that checks the
//! no-write-past-the-end contract.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "each test file uses a different part of this module, which is private to it"
)]

use offload_compress::{Auto, Backend, Error, deflate};
use offload_testkit::Rng;

/// Every backend this machine has, printed once per test binary.
pub fn backends() -> Vec<(&'static str, Auto)> {
    offload_testkit::select_backends(
        "offload-compress",
        Backend::ALL
            .into_iter()
            .map(|b| (b.name(), Auto::with_backend(b)))
            .collect(),
    )
}

/// Which container a stream is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Raw,
    Zlib,
    Gzip,
}

pub const FORMATS: [Format; 3] = [Format::Raw, Format::Zlib, Format::Gzip];

/// Decodes `input` as `format` into `output`.
pub fn decode_into(
    codec: Auto,
    format: Format,
    input: &[u8],
    output: &mut [u8],
) -> Result<(usize, usize), Error> {
    let mut inflater = deflate::Inflater::new();
    match format {
        Format::Raw => deflate::inflate_raw(codec, &mut inflater, input, output),
        Format::Zlib => deflate::zlib_decompress(codec, &mut inflater, input, output),
        Format::Gzip => deflate::gzip_decompress(codec, &mut inflater, input, output),
    }
}

/// Decodes `input` into a buffer of `capacity` bytes twice, pre-filled with 0x00 and with
/// 0xFF; asserts both runs agree and that nothing after the reported length was written.
/// Returns the result and the produced bytes.
pub fn decode_checked(
    codec: Auto,
    format: Format,
    input: &[u8],
    capacity: usize,
) -> Result<(usize, Vec<u8>), Error> {
    let mut zeros = vec![0x00u8; capacity];
    let mut ones = vec![0xFFu8; capacity];
    let a = decode_into(codec, format, input, &mut zeros);
    let b = decode_into(codec, format, input, &mut ones);
    assert_eq!(
        a, b,
        "{format:?}: result depends on the buffer's old contents"
    );
    match a {
        Ok((consumed, produced)) => {
            assert!(consumed <= input.len());
            assert!(produced <= capacity);
            assert_eq!(zeros[..produced], ones[..produced]);
            assert!(
                zeros[produced..].iter().all(|&x| x == 0x00),
                "{format:?}: wrote past the reported length"
            );
            assert!(
                ones[produced..].iter().all(|&x| x == 0xFF),
                "{format:?}: wrote past the reported length"
            );
            zeros.truncate(produced);
            Ok((consumed, zeros))
        }
        Err(e) => Err(e),
    }
}

/// Decodes on every backend and returns the (agreed) output; asserts the whole input was
/// consumed.
pub fn decode_all_backends(format: Format, input: &[u8], expected_len: usize) -> Vec<u8> {
    let mut first: Option<Vec<u8>> = None;
    for (name, codec) in backends() {
        let (consumed, out) = decode_checked(codec, format, input, expected_len + 64)
            .unwrap_or_else(|e| panic!("{name} {format:?}: {e}"));
        assert_eq!(consumed, input.len(), "{name} {format:?}: consumed");
        match &first {
            None => first = Some(out),
            Some(f) => assert_eq!(*f, out, "{name} differs from the first backend"),
        }
    }
    first.unwrap_or_default()
}

/// Small sizes under Miri.
pub const fn scale(n: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { n }
}

/// Named test inputs: the shapes the issue lists.
pub fn corpus() -> Vec<(&'static str, Vec<u8>)> {
    let mut rng = Rng::new(0x_DEF1_A7E5);
    let mut v: Vec<(&'static str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("one byte", vec![0x5A]),
        ("run", vec![b'z'; scale(100_000, 300)]),
        ("random", rng.bytes(scale(70_000, 200))),
        ("skewed", skewed(scale(200_000, 400))),
        ("text", text(&mut rng, scale(150_000, 300))),
        ("short periods", periods(scale(20_000, 200))),
    ];
    if !cfg!(miri) {
        v.push(("distance 32768", far_match(&mut rng)));
    }
    v
}

/// Fibonacci-skewed symbol counts: symbol i appears fib(i) times, shuffled. Forces
/// length-limited Huffman codes up to 15 bits (and so decode subtables).
pub fn skewed(len: usize) -> Vec<u8> {
    let mut counts = Vec::new();
    let (mut a, mut b) = (1usize, 1usize);
    while counts.len() < 26 {
        counts.push(a);
        (a, b) = (b, a + b);
    }
    let mut out = Vec::with_capacity(len);
    let mut rng = Rng::new(7);
    let total: usize = counts.iter().sum();
    while out.len() < len {
        let mut r = rng.below(total);
        for (sym, &c) in counts.iter().enumerate() {
            if r < c {
                out.push(b'A' + sym as u8);
                break;
            }
            r -= c;
        }
    }
    out
}

/// Words from a small vocabulary with punctuation: compresses like prose.
pub fn text(rng: &mut Rng, len: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "the",
        "of",
        "and",
        "a",
        "to",
        "in",
        "is",
        "you",
        "that",
        "it",
        "he",
        "was",
        "for",
        "on",
        "are",
        "as",
        "with",
        "his",
        "they",
        "I",
        "at",
        "be",
        "this",
        "have",
        "from",
        "or",
        "one",
        "had",
        "by",
        "word",
        "but",
        "not",
        "what",
        "all",
        "were",
        "we",
        "when",
        "your",
        "can",
        "said",
        "there",
        "use",
        "an",
        "each",
        "which",
        "she",
        "do",
        "how",
        "their",
        "if",
        "compression",
        "Huffman",
        "deflate",
        "window",
        "distance",
        "literal",
    ];
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        out.extend_from_slice(WORDS[rng.below(WORDS.len())].as_bytes());
        out.push(match rng.below(12) {
            0 => b',',
            1 => b'.',
            2 => b'\n',
            _ => b' ',
        });
    }
    out.truncate(len);
    out
}

/// Runs of short periods 1..=9 with varying lengths.
pub fn periods(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut p = 1;
    while out.len() < len {
        let start = out.len();
        for i in 0..p {
            out.push(b'a' + i as u8 + p as u8);
        }
        while out.len() < start + 40 * p + 3 {
            out.push(out[out.len() - p]);
        }
        p = p % 9 + 1;
    }
    out.truncate(len);
    out
}

/// Two identical random 300-byte chunks exactly 32768 bytes apart, inside random data: the
/// only match is at the largest distance DEFLATE allows.
pub fn far_match(rng: &mut Rng) -> Vec<u8> {
    let mut data = rng.bytes(32768 + 300 + 1000);
    let (head, tail) = data.split_at_mut(32768);
    tail[..300].copy_from_slice(&head[..300]);
    data
}

/// Real files every Debian + rustup machine has; each one missing is reported and skipped.
pub fn system_files() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    if cfg!(miri) {
        return out;
    }
    for path in [
        "/usr/share/common-licenses/GPL-3",
        "/usr/share/common-licenses/Apache-2.0",
        "/usr/bin/ls",
    ] {
        match std::fs::read(path) {
            Ok(mut data) => {
                data.truncate(4 << 20);
                out.push((path.to_string(), data));
            }
            Err(e) => eprintln!("skipping {path}: {e}"),
        }
    }
    out
}

/// LSB-first bit writer for hand-built DEFLATE streams.
#[derive(Default)]
pub struct BitWriter {
    pub bytes: Vec<u8>,
    bit: u32,
}

impl BitWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes the low `n` bits of `value`, least significant first (header fields, extra
    /// bits).
    pub fn bits(&mut self, value: u32, n: u32) -> &mut Self {
        for i in 0..n {
            if self.bit == 0 {
                self.bytes.push(0);
            }
            let last = self.bytes.len() - 1;
            self.bytes[last] |= (((value >> i) & 1) as u8) << self.bit;
            self.bit = (self.bit + 1) % 8;
        }
        self
    }

    /// Writes a Huffman code of `len` bits, most significant bit first.
    pub fn code(&mut self, code: u32, len: u32) -> &mut Self {
        for i in (0..len).rev() {
            self.bits((code >> i) & 1, 1);
        }
        self
    }

    /// Pads to a byte boundary with zeros.
    pub fn align(&mut self) -> &mut Self {
        self.bit = 0;
        self
    }

    pub fn raw(&mut self, data: &[u8]) -> &mut Self {
        self.align();
        self.bytes.extend_from_slice(data);
        self
    }

    pub fn finish(&self) -> Vec<u8> {
        self.bytes.clone()
    }
}

/// Canonical codes (MSB-first values) for the code lengths `lens` (RFC 1951 §3.2.2).
pub fn canonical(lens: &[u8]) -> Vec<u32> {
    let mut count = [0u32; 16];
    for &l in lens {
        count[l as usize] += 1;
    }
    count[0] = 0;
    let mut next = [0u32; 16];
    let mut code = 0;
    for len in 1..16 {
        code = (code + count[len - 1]) << 1;
        next[len] = code;
    }
    lens.iter()
        .map(|&l| {
            if l == 0 {
                0
            } else {
                let c = next[l as usize];
                next[l as usize] += 1;
                c
            }
        })
        .collect()
}

/// Fixed-code literal/length code of `sym` as (code, length).
pub fn fixed_litlen(sym: u32) -> (u32, u32) {
    match sym {
        0..=143 => (0x30 + sym, 8),
        144..=255 => (0x190 + sym - 144, 9),
        256..=279 => (sym - 256, 7),
        _ => (0xC0 + sym - 280, 8),
    }
}

/// A complete code-length code over all 19 symbols: 0..=12 get 4 bits, 13..=18 get 5.
pub const PRECODE_LENS: [u8; 19] = [4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5];

/// The order of the code-length code's lengths in the header.
pub const PRECODE_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// One code-length item: a length 0..=15, or a run (16, 17, 18) with its extra value.
#[derive(Clone, Copy, Debug)]
pub enum Len {
    L(u8),
    Repeat(u32),
    Zeros(u32),
    LongZeros(u32),
}

/// Writes a dynamic block header: HLIT, HDIST, the code-length code `precode` (all 19
/// lengths written), then `items` encoded with it. `hlit`/`hdist` are the declared counts.
pub fn dynamic_header(
    w: &mut BitWriter,
    last: bool,
    hlit: u32,
    hdist: u32,
    precode: &[u8; 19],
    items: &[Len],
) {
    w.bits(u32::from(last), 1).bits(2, 2);
    w.bits(hlit - 257, 5).bits(hdist - 1, 5).bits(19 - 4, 4);
    for &sym in &PRECODE_ORDER {
        w.bits(u32::from(precode[sym]), 3);
    }
    let codes = canonical(precode);
    let put = |w: &mut BitWriter, sym: usize| {
        w.code(codes[sym], u32::from(precode[sym]));
    };
    for item in items {
        match *item {
            Len::L(l) => put(w, l as usize),
            Len::Repeat(n) => {
                put(w, 16);
                w.bits(n - 3, 2);
            }
            Len::Zeros(n) => {
                put(w, 17);
                w.bits(n - 3, 3);
            }
            Len::LongZeros(n) => {
                put(w, 18);
                w.bits(n - 11, 7);
            }
        }
    }
}

/// The code-length items for explicit lengths (no runs).
pub fn plain(lens: &[u8]) -> Vec<Len> {
    lens.iter().map(|&l| Len::L(l)).collect()
}
