//! The LZ4 block codec's specialised paths, on every backend against `Scalar`:
//!
//! - the compressor's two modes (an output of at least `max_compressed_len` skips the
//!   per-sequence room checks; a smaller one keeps them): the same block from both, the
//!   smaller output succeeding down to the block's exact size and failing below it, for
//!   single and linked blocks;
//! - the decoder's fast loop stopping at a long literal run (whose first 16 bytes it has
//!   already stored) or a rare match, at every distance from the buffers' ends: the same
//!   bytes as `Scalar`, and nothing written past the reported length.

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "tests: a panic is a failure"
)]

mod support;

use support::backends;

use offload_compress::{Codec, Error, Scalar, lz4};
use offload_testkit::Rng;
use offload_testkit::corpus::{self, Kind};

/// Text with random runs of `run` bytes spliced in every `every` bytes: blocks whose
/// sequences have literal runs of about `run` bytes between ordinary matches.
fn with_literal_runs(len: usize, run: usize, every: usize, seed: u64) -> Vec<u8> {
    let mut data = corpus::generate(Kind::Text, len, seed);
    let mut rng = Rng::new(seed);
    let mut at = every / 2;
    while at + run < len {
        rng.fill(&mut data[at..at + run]);
        at += every;
    }
    data
}

#[test]
fn roomy_and_tight_outputs_give_the_same_block() {
    let mut ws = lz4::Workspace::new();
    let sizes: &[usize] = if cfg!(miri) {
        &[40, 300]
    } else {
        &[13, 100, 3000, 65_546, 65_547, 100_000]
    };
    for (name, codec) in backends() {
        for &len in sizes {
            for (what, input) in [
                ("text", corpus::generate(Kind::Text, len, 3)),
                ("random", corpus::generate(Kind::Random, len, 4)),
                ("runs", with_literal_runs(len, 20, 90, 5)),
            ] {
                let mut roomy = vec![0u8; lz4::max_compressed_len(len)];
                let n = lz4::compress_block(codec, &mut ws, &input, &mut roomy, 1).unwrap();
                let mut tight = vec![0u8; n];
                assert_eq!(
                    lz4::compress_block(codec, &mut ws, &input, &mut tight, 1),
                    Ok(n),
                    "{name}: {what}[..{len}] into exactly {n} bytes"
                );
                assert_eq!(tight, roomy[..n], "{name}: {what}[..{len}]");
                let mut short = vec![0u8; n - 1];
                assert!(
                    matches!(
                        lz4::compress_block(codec, &mut ws, &input, &mut short, 1),
                        Err(Error::OutputTooSmall { .. })
                    ),
                    "{name}: {what}[..{len}] into {} bytes",
                    n - 1
                );
            }
        }
    }
}

#[test]
fn roomy_and_tight_outputs_give_the_same_linked_blocks() {
    let (len, block) = if cfg!(miri) {
        (600, 200)
    } else {
        (200_000, 65_536)
    };
    let data = with_literal_runs(len, 30, 200, 6);
    for (name, codec) in backends() {
        let mut roomy_ws = lz4::Workspace::new();
        let mut tight_ws = lz4::Workspace::new();
        let mut start = 0;
        while start < len {
            let end = (start + block).min(len);
            let mut roomy = vec![0u8; lz4::max_compressed_len(end - start)];
            let n = codec
                .lz4_compress_linked(&mut roomy_ws, &data[..end], start, &mut roomy, 1)
                .unwrap();
            let mut tight = vec![0u8; n];
            assert_eq!(
                codec.lz4_compress_linked(&mut tight_ws, &data[..end], start, &mut tight, 1),
                Ok(n),
                "{name}: linked block at {start}"
            );
            assert_eq!(tight, roomy[..n], "{name}: linked block at {start}");
            start = end;
        }
    }
}

#[test]
fn fast_loop_stops_anywhere_and_writes_nothing_past_the_end() {
    let mut ws = lz4::Workspace::new();
    let (len, runs, slacks): (usize, &[usize], usize) = if cfg!(miri) {
        (400, &[15, 33], 4)
    } else {
        (3000, &[14, 15, 16, 17, 30, 31, 32, 33, 64, 300], 80)
    };
    for &run in runs {
        for every in [run + 20, run + 57] {
            let input = with_literal_runs(len, run, every, run as u64);
            let mut block = vec![0u8; lz4::max_compressed_len(len)];
            let n = lz4::compress_block(Scalar, &mut ws, &input, &mut block, 1).unwrap();
            let block = &block[..n];
            // Every output room from the exact size up moves the fast loop's stopping
            // point across the block's last sequences.
            for slack in 0..slacks {
                let cap = len + slack;
                for (name, codec) in backends() {
                    for fill in [0x00, 0xFF] {
                        let mut out = vec![fill; cap];
                        let m = lz4::decompress_block(codec, block, &mut out).unwrap();
                        assert_eq!(m, len, "{name}: run {run}, every {every}, room {cap}");
                        assert_eq!(out[..m], input, "{name}: run {run}, every {every}");
                        assert!(
                            out[m..].iter().all(|&b| b == fill),
                            "{name}: run {run}, every {every}, room {cap}: wrote past the end"
                        );
                    }
                }
            }
            // Cut short at every length: the same error as `Scalar`.
            let step = if cfg!(miri) { 37 } else { 1 };
            for cut in (0..n).step_by(step) {
                let mut a = vec![0u8; len];
                let want = lz4::decompress_block(Scalar, &block[..cut], &mut a);
                for (name, codec) in backends() {
                    let mut b = vec![0u8; len];
                    assert_eq!(
                        lz4::decompress_block(codec, &block[..cut], &mut b),
                        want,
                        "{name}: run {run}, cut at {cut}"
                    );
                }
            }
        }
    }
}
