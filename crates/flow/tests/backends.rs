//! Every backend available on this machine against `Scalar` for the lookup kernels (CRC-32C
//! of every length and offset, the two-bucket tag compare on random and adversarial tags).
//! `OFFLOAD_REQUIRE_BACKENDS=avx2,scalar` makes a missing backend a failure.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failure, and values are built from small indices"
)]

use offload_flow::{Auto, Backend, Lookup, Scalar};
use offload_testkit::{Rng, select_backends};

fn engines() -> Vec<(&'static str, Auto)> {
    select_backends(
        "offload-flow",
        Backend::ALL
            .into_iter()
            .map(|b| (b.name(), Auto::with_backend(b)))
            .collect(),
    )
}

/// CRC-32C from the definition, one bit at a time.
fn naive_crc32c(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82F6_3B78
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[test]
fn crc32c_matches_scalar_and_the_definition() {
    let mut rng = Rng::new(0xC3C3);
    let buf = rng.bytes(if cfg!(miri) { 40 } else { 300 });
    let max_len = if cfg!(miri) { 24 } else { 130 };
    for (name, e) in engines() {
        assert_eq!(e.crc32c(0, b"123456789"), 0xE306_9283, "{name}");
        for len in 0..=max_len {
            for off in [0, 1, 3, 7] {
                let data = &buf[off..off + len];
                let seed = rng.next_u64() as u32;
                let want = naive_crc32c(seed, data);
                assert_eq!(Scalar.crc32c(seed, data), want, "scalar len {len}");
                assert_eq!(e.crc32c(seed, data), want, "{name} len {len} off {off}");
            }
        }
    }
}

#[test]
fn match_tags_matches_scalar() {
    let mut rng = Rng::new(7);
    let rounds = if cfg!(miri) { 50 } else { 20_000 };
    for (name, e) in engines() {
        for _ in 0..rounds {
            // Few distinct values so matches are common; sometimes extremes.
            let pick = |rng: &mut Rng| match rng.below(6) {
                0 => 0,
                1 => 0xFFFF,
                2 => 0x8000,
                3 => 0x7FFF,
                _ => rng.below(4) as u16,
            };
            let a: [u16; 8] = core::array::from_fn(|_| pick(&mut rng));
            let b: [u16; 8] = core::array::from_fn(|_| pick(&mut rng));
            let tag = pick(&mut rng);
            let mut want = 0u16;
            for i in 0..8 {
                want |= u16::from(a[i] == tag) << i | u16::from(b[i] == tag) << (8 + i);
            }
            assert_eq!(
                Scalar.match_tags(&a, &b, tag),
                want,
                "scalar {a:?} {b:?} {tag}"
            );
            assert_eq!(e.match_tags(&a, &b, tag), want, "{name} {a:?} {b:?} {tag}");
            e.prefetch(&a);
        }
    }
}

#[test]
fn auto_reports_its_backend() {
    for (name, e) in engines() {
        assert_eq!(e.backend().name(), name);
    }
    assert!(Backend::ALL.iter().any(|b| *b == Auto::detect().backend()));
}
