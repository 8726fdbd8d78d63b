//! Support shared by the offload crates' tests, benches and fuzz replays, and the source of
//! the CLI's built-in bench data. No engine crate depends on it at run time, and it never
//! changes what an engine computes.
//!
//! - [`select_backends`]: the backends a test runs, printed, with `OFFLOAD_REQUIRE_BACKENDS`
//!   turning a missing one into a failure.
//! - [`Rng`]: a fixed-seed xorshift so failures reproduce without a `rand` dependency.
//! - [`isal`]: Intel ISA-L (`libisal.so.2`, Debian `libisal-dev`) loaded at run time, so a
//!   machine without it skips those comparisons with a printed notice instead of failing to
//!   link.
//! - [`corpus`]: deterministic text, logs, binary records and random bytes for compression.
//! - `lz4ref` (feature `lz4ref`): liblz4 built from source, for LZ4 differential tests.

#![allow(
    clippy::std_instead_of_core,
    clippy::panic,
    clippy::missing_panics_doc,
    clippy::cast_possible_truncation,
    clippy::expect_used,
    clippy::cast_sign_loss,
    reason = "std-only test support: a panic is a test failure, and ISA-L's int arguments \
              are shard counts and lengths far below i32::MAX"
)]

pub mod corpus;
pub mod isal;
#[cfg(feature = "lz4ref")]
pub mod lz4ref;

/// Environment variable listing backends that must be available, e.g. `avx512,scalar`.
pub const REQUIRE_ENV: &str = "OFFLOAD_REQUIRE_BACKENDS";

/// Keeps the candidates that exist on this machine, prints which ran and which were skipped
/// (`crate_name` labels the line), and panics if `OFFLOAD_REQUIRE_BACKENDS` names one of the
/// candidates that is not available here.
///
/// # Panics
/// When a required backend is missing: that is the point.
pub fn select_backends<T>(
    crate_name: &str,
    candidates: Vec<(&'static str, Option<T>)>,
) -> Vec<(&'static str, T)> {
    let names: Vec<&'static str> = candidates.iter().map(|(n, _)| *n).collect();
    let mut ran = Vec::new();
    let mut skipped = Vec::new();
    let mut chosen = Vec::new();
    for (name, backend) in candidates {
        match backend {
            Some(b) => {
                ran.push(name);
                chosen.push((name, b));
            }
            None => skipped.push(name),
        }
    }
    // Once per test binary: every test calls this, one line says it all.
    static PRINTED: std::sync::Once = std::sync::Once::new();
    PRINTED.call_once(|| {
        eprintln!(
            "{crate_name}: backends exercised: [{}]; not available here: [{}]",
            ran.join(", "),
            skipped.join(", ")
        );
    });
    if let Ok(required) = std::env::var(REQUIRE_ENV) {
        // A crate that has no backend of that name is not bound by it (the list is shared by
        // every crate of the workspace); one that has it must have run it.
        for want in required.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            assert!(
                !names.contains(&want) || ran.contains(&want),
                "{REQUIRE_ENV} requires backend '{want}', but it is not available on this \
                 machine or build ({crate_name})"
            );
        }
    }
    chosen
}

/// xorshift64*: deterministic, fast, good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator; any seed works (0 is mapped to a fixed nonzero state).
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (`n > 0`; slightly biased, fine for tests).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let w = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        self.fill(&mut v);
        v
    }
}
