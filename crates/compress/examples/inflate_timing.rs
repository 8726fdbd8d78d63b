//! Ad-hoc timing of the one-shot inflate against libdeflate on about 8 MiB of mixed data
//! (generated text, random bytes, skewed symbols, runs, and system files when present),
//! compressed by libdeflate at level 6. Not a benchmark (no statistics, no warm-up
//! control); the criterion benches are the reference. Run with
//! `cargo run -p offload-compress --release --example inflate_timing` (or with the
//! arguments `ours N` / `libdeflate N` / `none N` under `perf stat`).

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::std_instead_of_core,
    reason = "a throwaway measurement: a panic ends it, and the casts are of small sizes"
)]

use std::time::{Duration, Instant};

use offload_compress::{Auto, deflate};
use offload_testkit::Rng;

fn mixed_data() -> Vec<u8> {
    let mut rng = Rng::new(1);
    let mut data = Vec::new();
    let words = [
        "the ",
        "of ",
        "and ",
        "compression ",
        "window ",
        "literal ",
        "match ",
        "Huffman ",
        "stream\n",
        "block, ",
        "distance. ",
        "a ",
        "to ",
        "in ",
        "is ",
    ];
    while data.len() < 3 << 20 {
        data.extend_from_slice(words[rng.below(words.len())].as_bytes());
    }
    data.extend_from_slice(&rng.bytes(1 << 20));
    let (mut a, mut b) = (1usize, 1usize);
    let mut fib = Vec::new();
    for _ in 0..20 {
        fib.push(a);
        (a, b) = (b, a + b);
    }
    let total: usize = fib.iter().sum();
    for _ in 0..(1 << 20) {
        let mut r = rng.below(total);
        let sym = fib.iter().position(|&c| {
            let hit = r < c;
            r = r.saturating_sub(c);
            hit
        });
        data.push(b'a' + sym.unwrap_or(0) as u8);
    }
    data.extend(std::iter::repeat_n(0u8, 512 << 10));
    for path in [
        "/usr/share/common-licenses/GPL-3",
        "/usr/bin/ls",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
    ] {
        if let Ok(mut file) = std::fs::read(path) {
            file.truncate(2 << 20);
            data.extend_from_slice(&file);
        }
    }
    data.truncate(8 << 20);
    data
}

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn main() {
    let data = mixed_data();
    let mut c = libdeflater::Compressor::new(libdeflater::CompressionLvl::new(6).unwrap());
    let mut stream = vec![0u8; c.deflate_compress_bound(data.len())];
    let n = c.deflate_compress(&data, &mut stream).unwrap();
    stream.truncate(n);

    let codec = Auto::detect();
    let mut inflater = deflate::Inflater::new();
    let mut out = vec![0u8; data.len()];
    let mut d = libdeflater::Decompressor::new();
    let mut theirs = vec![0u8; data.len()];

    // `inflate_timing ours|libdeflate|none N`: run one decoder N times and print nothing,
    // for `perf stat` (cycles are steadier than wall time on a shared machine).
    let args: Vec<String> = std::env::args().collect();
    if let [_, which, n] = args.as_slice() {
        for _ in 0..n.parse::<usize>().unwrap() {
            match which.as_str() {
                "ours" => {
                    deflate::inflate_raw(codec, &mut inflater, &stream, &mut out).unwrap();
                }
                "libdeflate" => {
                    d.deflate_decompress(&stream, &mut theirs).unwrap();
                }
                _ => {}
            }
        }
        return;
    }
    // Interleaved, best of many: the machine is shared, so both see the same noise.
    let mut ours = Duration::MAX;
    let mut libdeflate = Duration::MAX;
    for _ in 0..25 {
        ours = ours.min(best_of(1, || {
            let r = deflate::inflate_raw(codec, &mut inflater, &stream, &mut out).unwrap();
            assert_eq!(r.1, data.len());
        }));
        libdeflate = libdeflate.min(best_of(1, || {
            let r = d.deflate_decompress(&stream, &mut theirs).unwrap();
            assert_eq!(r, data.len());
        }));
    }
    assert!(out == data && theirs == data);
    let mbs = |t: Duration| data.len() as f64 / t.as_secs_f64() / 1e6;
    println!(
        "{} bytes -> {} compressed (libdeflate level 6)",
        data.len(),
        stream.len()
    );
    println!("ours ({}): {:.0} MB/s", codec.backend_name(), mbs(ours));
    println!("libdeflate: {:.0} MB/s", mbs(libdeflate));
    println!(
        "ratio ours / libdeflate: {:.2}",
        libdeflate.as_secs_f64() / ours.as_secs_f64()
    );
}

trait Name {
    fn backend_name(&self) -> &'static str;
}

impl Name for Auto {
    fn backend_name(&self) -> &'static str {
        use offload_compress::Codec;
        self.backend().name()
    }
}
