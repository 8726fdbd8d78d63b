//! `offload bench`: the line-rate report.
//!
//! Every engine contributes [`Case`]s to one registry ([`registry`]). A case names its engine,
//! operation, payload size and backend, and carries a factory that builds a fresh runner (its
//! own buffers, generated deterministically in code) on whichever thread measures it, so
//! `--threads N` never shares a buffer between cores.
//!
//! Timing: each row is warmed up, then the number of calls per batch is calibrated so that a
//! batch lasts about 1/[`BATCHES`] of the row's budget, then [`BATCHES`] batches are timed.
//! The figure is the median batch; the spread is the lowest and highest batch. Nothing here is
//! asserted in a test: performance lives in this report and in `benches/`.

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// A runner processes `Case::bytes` bytes per call.
pub(crate) type Runner = Box<dyn FnMut() + Send>;

/// One row of the report.
pub(crate) struct Case {
    /// Engine name as given to `--engine` (`ceiling`, `erasure`, …).
    pub(crate) engine: &'static str,
    /// What is measured, e.g. `memcpy` or `encode 10+4`.
    pub(crate) op: String,
    /// The size that labels the row (a buffer, a packet or a shard).
    pub(crate) size: usize,
    /// Bytes that one call counts as processed (the throughput numerator).
    pub(crate) bytes: usize,
    /// Operations (packets, lookups, hashes) one call performs; 0 for byte-stream rows. When
    /// non-zero the report adds millions of operations per second.
    pub(crate) items: usize,
    /// Backend name (`scalar`, `avx512`, `neon`) or `-` for the machine ceilings.
    pub(crate) backend: &'static str,
    /// Builds a runner with its own buffers; called once per measuring thread.
    pub(crate) make: Box<dyn Fn() -> Runner + Send + Sync>,
}

/// Number of timed batches per row and per thread.
pub(crate) const BATCHES: usize = 11;

/// The figures of one row.
#[derive(Debug, Clone)]
pub(crate) struct Measured {
    /// Median GB/s (10^9 bytes per second) of one core.
    pub(crate) per_core: f64,
    /// Sum over threads of each thread's median GB/s.
    pub(crate) total: f64,
    /// Lowest and highest batch GB/s seen on any thread.
    pub(crate) low: f64,
    pub(crate) high: f64,
    /// Calls measured in all (every thread, every batch).
    pub(crate) calls: u64,
}

/// Per-thread result: median, low, high GB/s and calls.
struct ThreadResult {
    median: f64,
    low: f64,
    high: f64,
    calls: u64,
}

fn measure_one(run: &mut Runner, bytes: usize, budget: Duration) -> ThreadResult {
    // Warm-up: about a tenth of the budget, at least one call; it also calibrates.
    let warm = budget / 10;
    let start = Instant::now();
    let mut calls = 0u64;
    while calls == 0 || start.elapsed() < warm {
        run();
        calls += 1;
    }
    let per_call = start.elapsed().as_secs_f64() / calls as f64;
    let batch_time = (budget.as_secs_f64() * 0.9) / BATCHES as f64;
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a positive, finite call count; `as` saturates"
    )]
    let per_batch = ((batch_time / per_call.max(1e-9)) as u64).max(1);

    let mut rates = Vec::with_capacity(BATCHES);
    for _ in 0..BATCHES {
        let t = Instant::now();
        for _ in 0..per_batch {
            run();
        }
        let secs = t.elapsed().as_secs_f64().max(1e-9);
        rates.push(bytes as f64 * per_batch as f64 / secs / 1e9);
    }
    rates.sort_by(f64::total_cmp);
    ThreadResult {
        median: rates[BATCHES / 2],
        low: rates[0],
        high: rates[BATCHES - 1],
        calls: per_batch * BATCHES as u64,
    }
}

/// Measures `case` on `threads` threads at once, each with its own runner.
pub(crate) fn measure(case: &Case, threads: usize, budget: Duration) -> Measured {
    let threads = threads.max(1);
    let barrier = Arc::new(Barrier::new(threads));
    let results: Vec<ThreadResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                scope.spawn(move || {
                    let mut run = (case.make)();
                    barrier.wait();
                    measure_one(&mut run, case.bytes, budget)
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let total: f64 = results.iter().map(|r| r.median).sum();
    Measured {
        per_core: total / results.len().max(1) as f64,
        total,
        low: results.iter().map(|r| r.low).fold(f64::INFINITY, f64::min),
        high: results.iter().map(|r| r.high).fold(0.0, f64::max),
        calls: results.iter().map(|r| r.calls).sum(),
    }
}

/// Cores of this machine's kind needed to sustain `gbits` Gb/s at `per_core_gbytes` GB/s.
pub(crate) fn cores_for(gbits: f64, per_core_gbytes: f64) -> f64 {
    if per_core_gbytes > 0.0 {
        gbits / (per_core_gbytes * 8.0)
    } else {
        f64::INFINITY
    }
}

/// Bytes a minimum-size (64-byte) Ethernet frame occupies on the wire: the frame, the 8-byte
/// preamble and the 12-byte inter-frame gap. Per-packet rows (lookups, hashes) count this many
/// bytes per packet, so their Gb/s column is the line rate of 64-byte packets one core keeps up
/// with (400 Gb/s of 64-byte frames is 595 Mpps).
pub(crate) const WIRE_BYTES_64B: usize = 84;

/// Millions of operations per second at `gbytes` GB/s for a case of `bytes` and `items` per
/// call.
pub(crate) fn mops(gbytes: f64, bytes: usize, items: usize) -> f64 {
    if bytes == 0 {
        return 0.0;
    }
    gbytes * 1e3 * items as f64 / bytes as f64
}

/// `1500 B`, `64 KiB`, `64 MiB`.
pub(crate) fn human_size(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} B")
    }
}

/// Deterministic test data: a xorshift64* stream, so every run measures the same bytes.
pub(crate) fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The machine's own ceilings: copy bandwidth and read bandwidth. Every engine is judged
/// against these rows, so they stay in the report.
fn ceilings(cases: &mut Vec<Case>) {
    for size in [1500, 64 << 10, 64 << 20] {
        cases.push(Case {
            engine: "ceiling",
            op: "memcpy (libc)".into(),
            size,
            bytes: size,
            items: 0,
            backend: "-",
            make: Box::new(move || {
                let src = pseudo_random(size, 1);
                let mut dst = vec![0u8; size];
                Box::new(move || {
                    dst.copy_from_slice(black_box(&src));
                    black_box(&mut dst);
                })
            }),
        });
        cases.push(Case {
            engine: "ceiling",
            op: "copy (64 B loop)".into(),
            size,
            bytes: size,
            items: 0,
            backend: "-",
            make: Box::new(move || {
                let src = pseudo_random(size, 3);
                let mut dst = vec![0u8; size];
                Box::new(move || {
                    copy_blocks(black_box(&src), &mut dst);
                    black_box(&mut dst);
                })
            }),
        });
        cases.push(Case {
            engine: "ceiling",
            op: "read (sum u64)".into(),
            size,
            bytes: size,
            items: 0,
            backend: "-",
            make: Box::new(move || {
                let src = pseudo_random(size, 2);
                Box::new(move || {
                    black_box(sum_u64(black_box(&src)));
                })
            }),
        });
    }
}

/// Copies in 64-byte blocks through registers. The libc `memcpy` row above measures what
/// `copy_from_slice` costs, which is not always the machine's copy bandwidth: glibc switches to
/// `rep movsb` between about 2 KiB and 512 KiB, and on some virtual machines (this project's
/// among them) that path runs an order of magnitude below the vector loop. Both rows stay so
/// the report shows the gap. Each block goes through `black_box` so that LLVM does not turn
/// the loop back into a `memcpy` call.
fn copy_blocks(src: &[u8], dst: &mut [u8]) {
    let (dst_blocks, dst_tail) = dst.as_chunks_mut::<64>();
    let (src_blocks, src_tail) = src.as_chunks::<64>();
    for (d, s) in dst_blocks.iter_mut().zip(src_blocks) {
        *d = *black_box(s);
    }
    dst_tail.copy_from_slice(src_tail);
}

/// Sums the buffer as little-endian u64 words in eight independent lanes, so the loop is
/// bound by loads rather than by one add chain; the compiler vectorises it.
fn sum_u64(data: &[u8]) -> u64 {
    let mut acc = [0u64; 8];
    let (blocks, tail) = data.as_chunks::<64>();
    for block in blocks {
        for (lane, word) in acc.iter_mut().zip(block.as_chunks::<8>().0) {
            *lane = lane.wrapping_add(u64::from_le_bytes(*word));
        }
    }
    let mut sum = acc.iter().fold(0u64, |a, &b| a.wrapping_add(b));
    let (words, tail) = tail.as_chunks::<8>();
    for word in words {
        sum = sum.wrapping_add(u64::from_le_bytes(*word));
    }
    for &b in tail {
        sum = sum.wrapping_add(u64::from(b));
    }
    sum
}

/// Every case of every engine in this build, in report order.
pub(crate) fn registry() -> Vec<Case> {
    let mut cases = Vec::new();
    ceilings(&mut cases);
    crate::engines::bench_cases(&mut cases);
    cases
}

/// Engine names that `--engine` accepts.
pub(crate) fn engine_names(cases: &[Case]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for case in cases {
        if !names.contains(&case.engine) {
            names.push(case.engine);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_matches_naive() {
        let data = pseudo_random(1000, 7);
        let mut naive = 0u64;
        let (words, tail) = data.as_chunks::<8>();
        for w in words {
            naive = naive.wrapping_add(u64::from_le_bytes(*w));
        }
        for &b in tail {
            naive = naive.wrapping_add(u64::from(b));
        }
        assert_eq!(sum_u64(&data), naive);
    }

    #[test]
    fn copy_blocks_copies() {
        let src = pseudo_random(1000, 9);
        let mut dst = vec![0u8; 1000];
        copy_blocks(&src, &mut dst);
        assert_eq!(src, dst);
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(1500), "1500 B");
        assert_eq!(human_size(65536), "64 KiB");
        assert_eq!(human_size(64 << 20), "64 MiB");
    }

    #[test]
    fn every_case_runs_once() {
        // Each runner must work on a fresh thread's buffers; run each once (no timing).
        for case in registry().into_iter().filter(|c| c.size <= 1 << 20) {
            let mut run = (case.make)();
            run();
        }
    }

    #[test]
    fn cores_arithmetic() {
        // 12.5 GB/s is 100 Gb/s: 4 cores for 400 Gb/s.
        assert!((cores_for(400.0, 12.5) - 4.0).abs() < 1e-12);
        assert!(cores_for(400.0, 0.0).is_infinite());
    }
}
