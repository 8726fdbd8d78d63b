//! Deterministic data for compression tests and benches: the same bytes on every machine
//! (no files, no system state), in four kinds that behave like real data to an LZ77 coder.
//!
//! - [`Kind::Text`]: English-like prose: 8000 words of English letter frequencies drawn
//!   with Zipf-like frequencies, with punctuation and line breaks (LZ4 keeps about 60 %).
//! - [`Kind::Logs`]: server log lines (timestamps, levels, ids, paths, numbers) with heavy
//!   repetition of field names (LZ4 keeps about 40 %).
//! - [`Kind::Binary`]: fixed-size little-endian records (counters, small floats, flags,
//!   zero padding), like tables in executables and databases (LZ4 keeps about 55 %).
//! - [`Kind::Random`]: uniformly random bytes (incompressible).
//!
//! [`mixed`] interleaves them in 64 KiB pieces: the "built-in mixed data" of the benches.

use crate::Rng;

/// What a piece of generated data looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// English-like prose.
    Text,
    /// Server log lines.
    Logs,
    /// Fixed-size binary records.
    Binary,
    /// Uniformly random bytes.
    Random,
}

impl Kind {
    /// Every kind, in the order [`mixed`] rotates through them.
    pub const ALL: [Kind; 4] = [Kind::Text, Kind::Logs, Kind::Binary, Kind::Random];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Logs => "logs",
            Kind::Binary => "binary",
            Kind::Random => "random",
        }
    }
}

/// Letters weighted by their frequency in English text (per mille, roughly).
const LETTERS: &[(u8, usize)] = &[
    (b'e', 127),
    (b't', 91),
    (b'a', 82),
    (b'o', 75),
    (b'i', 70),
    (b'n', 67),
    (b's', 63),
    (b'h', 61),
    (b'r', 60),
    (b'd', 43),
    (b'l', 40),
    (b'c', 28),
    (b'u', 28),
    (b'm', 24),
    (b'w', 24),
    (b'f', 22),
    (b'g', 20),
    (b'y', 20),
    (b'p', 19),
    (b'b', 15),
    (b'v', 10),
    (b'k', 8),
    (b'j', 2),
    (b'x', 2),
    (b'q', 1),
    (b'z', 1),
];

fn letter(rng: &mut Rng) -> char {
    let mut pick = rng.below(1000);
    for &(c, weight) in LETTERS {
        if pick < weight {
            return char::from(c);
        }
        pick -= weight;
    }
    'e'
}

/// 8000 distinct-ish words of 1 to 11 letters, shorter ones more often (300 under Miri,
/// where building 8000 takes most of a test's time budget).
fn vocabulary(rng: &mut Rng) -> Vec<String> {
    (0..if cfg!(miri) { 300 } else { 8000 })
        .map(|_| {
            let len = 1 + rng.below(4) + rng.below(4) + rng.below(4);
            (0..len).map(|_| letter(rng)).collect()
        })
        .collect()
}

/// A Zipf-like pick (probability of rank r about 1/r): a log-uniform draw over 1..=n.
fn zipf(rng: &mut Rng, n: usize) -> usize {
    let u = rng.below(1 << 20) as f64 / f64::from(1 << 20);
    let r = ((n as f64).ln() * u).exp() as usize;
    r.clamp(1, n) - 1
}

/// A skewed pick over a few choices: small indices more often.
fn skewed(rng: &mut Rng, n: usize) -> usize {
    let a = rng.below(n) + 1;
    rng.below(a)
}

fn text(rng: &mut Rng, len: usize) -> Vec<u8> {
    let words = vocabulary(rng);
    let mut out = String::with_capacity(len + 64);
    let mut sentence = 0;
    while out.len() < len {
        let w = &words[zipf(rng, words.len())];
        if sentence == 0 {
            let mut c = w.chars();
            if let Some(first) = c.next() {
                out.extend(first.to_uppercase());
                out.push_str(c.as_str());
            }
        } else {
            out.push_str(w);
        }
        sentence += 1;
        if sentence > 4 && rng.below(8) == 0 {
            out.push_str(if rng.below(4) == 0 { ".\n" } else { ". " });
            sentence = 0;
        } else if rng.below(12) == 0 {
            out.push_str(", ");
        } else {
            out.push(' ');
        }
    }
    out.truncate(len);
    out.into_bytes()
}

fn logs(rng: &mut Rng, len: usize) -> Vec<u8> {
    const LEVELS: [&str; 4] = ["INFO ", "INFO ", "WARN ", "DEBUG"];
    const PATHS: [&str; 6] = [
        "/api/v1/items",
        "/api/v1/users",
        "/healthz",
        "/api/v2/orders",
        "/static/app.js",
        "/api/v1/items/search",
    ];
    let mut out = String::with_capacity(len + 256);
    let mut t: u64 = 1_700_000_000_000;
    while out.len() < len {
        t += rng.below(50) as u64;
        let (secs, ms) = (t / 1000, t % 1000);
        let status = [200, 200, 200, 201, 304, 404, 500][rng.below(7)];
        out.push_str(&format!(
            "2026-11-{:02}T{:02}:{:02}:{:02}.{ms:03}Z {} [worker-{}] request id={:016x} path={}/{} status={status} bytes={} dur_ms={}\n",
            1 + secs / 86_400 % 28,
            secs / 3600 % 24,
            secs / 60 % 60,
            secs % 60,
            LEVELS[rng.below(4)],
            rng.below(8),
            rng.next_u64(),
            PATHS[skewed(rng, PATHS.len())],
            rng.below(2000),
            rng.below(60_000),
            rng.below(300),
        ));
    }
    out.truncate(len);
    out.into_bytes()
}

fn binary(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut id: u32 = rng.below(1 << 20) as u32;
    while out.len() < len {
        id += 1 + rng.below(3) as u32;
        out.extend_from_slice(&id.to_le_bytes());
        let value = (rng.below(10_000) as f32) * 0.25;
        out.extend_from_slice(&value.to_le_bytes());
        out.extend_from_slice(&(rng.below(16) as u16).to_le_bytes());
        out.extend_from_slice(&[0x00, 0x00]);
        out.extend_from_slice(&(0x4000_0000u32 + 64 * (id % 512)).to_le_bytes());
        out.extend_from_slice(&[0u8; 4]);
        if rng.below(4) == 0 {
            out.extend_from_slice(&rng.next_u64().to_le_bytes());
        } else {
            out.extend_from_slice(&[0xFF; 8]);
        }
    }
    out.truncate(len);
    out
}

/// `len` bytes of `kind`, determined by `seed`.
pub fn generate(kind: Kind, len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed ^ (kind as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    match kind {
        Kind::Text => text(&mut rng, len),
        Kind::Logs => logs(&mut rng, len),
        Kind::Binary => binary(&mut rng, len),
        Kind::Random => rng.bytes(len),
    }
}

/// `len` bytes cycling through the kinds in 64 KiB pieces (text, logs, binary, random,
/// text, ...): the benches' built-in mixed data. Random makes up a quarter of it.
pub fn mixed(len: usize, seed: u64) -> Vec<u8> {
    const PIECE: usize = 64 * 1024;
    let mut out = Vec::with_capacity(len);
    let mut i = 0u64;
    while out.len() < len {
        let kind = Kind::ALL[(i % 4) as usize];
        let n = PIECE.min(len - out.len());
        out.extend_from_slice(&generate(kind, n, seed.wrapping_add(i)));
        i += 1;
    }
    out
}

/// `data` compressed as raw Deflate at `level` (0 to 10) by miniz_oxide: input for the
/// inflate rows and benches.
pub fn deflate(data: &[u8], level: u8) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(data, level)
}
