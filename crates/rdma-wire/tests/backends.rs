//! Every backend available on this machine against `Scalar`, and `Scalar` against a
//! bit-at-a-time CRC-32: edge lengths around the 16- and 64-byte widths, every offset into
//! a larger buffer, split points (continuation), and whole-frame ICRCs.
//! `OFFLOAD_REQUIRE_BACKENDS=avx512,scalar` makes a missing backend a failure.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failure, and bytes are built from small indices"
)]

use offload_rdma_wire::{Auto, Backend, ICRC_SEED, Icrc, Scalar};
mod common;
use common::{engines, masked_bits};
use offload_testkit::Rng;

/// CRC-32/ISO-HDLC from the definition, one bit at a time.
fn naive(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn lengths() -> Vec<usize> {
    if cfg!(miri) {
        // Every path of the folding kernels (table only, 16-byte folds, the 128- and
        // 256-byte loops once and twice, 0, 5, 15 and 1 whole blocks after the 256-byte
        // loop) at a cost Miri can afford.
        return vec![
            0, 1, 15, 16, 17, 63, 64, 65, 129, 255, 256, 257, 513, 520, 595, 767, 1027, 1300,
        ];
    }
    let mut v: Vec<usize> = (0..=200).collect();
    for base in [255, 256, 511, 512, 1024, 1500, 4096, 9000] {
        v.extend([base - 1, base, base + 1]);
    }
    v.push(4 * 64 + 3);
    v
}

#[test]
fn scalar_matches_naive_crc32() {
    let mut rng = Rng::new(1);
    let data = rng.bytes(9100);
    for len in lengths() {
        assert_eq!(
            Scalar.crc32(0, &data[..len]),
            naive(0, &data[..len]),
            "{len}"
        );
        assert_eq!(
            Scalar.crc32(ICRC_SEED, &data[..len]),
            naive(ICRC_SEED, &data[..len])
        );
    }
}

#[test]
fn all_backends_match_scalar_on_lengths_and_offsets() {
    let mut rng = Rng::new(2);
    let data = rng.bytes(9100 + 64);
    for (name, e) in engines() {
        assert_eq!(e.backend().name(), name);
        for len in lengths() {
            let offsets: &[usize] = if cfg!(miri) {
                &[0, 3]
            } else {
                &[0, 1, 3, 7, 15, 31, 63]
            };
            for &offset in offsets {
                let d = &data[offset..offset + len];
                let seed = rng.next_u64() as u32;
                assert_eq!(
                    e.crc32(seed, d),
                    Scalar.crc32(seed, d),
                    "{name} {len} +{offset}"
                );
            }
        }
    }
}

#[test]
fn crc32_parts_equals_one_pass() {
    let mut rng = Rng::new(5);
    let data = rng.bytes(3000);
    for (name, e) in engines() {
        let firsts: &[usize] = if cfg!(miri) {
            &[0, 128, 256]
        } else {
            &[0, 16, 100, 128, 256, 384, 1024]
        };
        let rests: &[usize] = if cfg!(miri) {
            &[0, 5, 130, 300]
        } else {
            &[0, 1, 15, 16, 127, 128, 129, 300, 1500]
        };
        for &a in firsts {
            for &b in rests {
                let seed = rng.next_u64() as u32;
                let (first, rest) = data[..a + b].split_at(a);
                assert_eq!(
                    e.crc32_parts(seed, first, rest),
                    Scalar.crc32(seed, &data[..a + b]),
                    "{name} {a}+{b}"
                );
            }
        }
    }
}

/// Both parts whole 32-byte units, 0 to 9 of each (the `Avx2` short path takes up to 8 in
/// all), from a random register.
#[test]
fn crc32_parts_on_whole_32_byte_units() {
    let mut rng = Rng::new(6);
    let data = rng.bytes(18 * 32);
    let units: Vec<usize> = if cfg!(miri) {
        vec![0, 1, 3, 8]
    } else {
        (0..=9).collect()
    };
    for (name, e) in engines() {
        for &a in &units {
            for &b in &units {
                let seed = rng.next_u64() as u32;
                let (first, rest) = data[..32 * (a + b)].split_at(32 * a);
                assert_eq!(
                    e.crc32_parts(seed, first, rest),
                    naive(seed, &data[..32 * (a + b)]),
                    "{name} {a}+{b} units"
                );
            }
        }
    }
}

/// The ICRC from its definition: CRC-32 over 8 bytes of 0xFF, the masked IP, UDP and BTH
/// headers and the rest, bit at a time.
fn naive_icrc(packet: &[u8]) -> u32 {
    let mut m = vec![0xFF; 8];
    m.extend_from_slice(packet);
    for (at, mask) in masked_bits(packet[0] >> 4 == 6) {
        m[8 + at] |= mask;
    }
    naive(0, &m)
}

/// Every packet length from the bare headers to past the short layout's limit, IPv4 and
/// IPv6, against the definition.
#[test]
fn all_backends_match_naive_icrc_on_every_length() {
    let mut rng = Rng::new(7);
    let lens: Vec<usize> = if cfg!(miri) {
        vec![40, 55, 60, 61, 95, 96, 191, 192, 193, 250, 256, 257, 330]
    } else {
        (40..=400).collect()
    };
    for (name, e) in engines() {
        for &len in &lens {
            // IPv6 headers (with UDP and BTH) take 60 bytes.
            for v6 in [false, true].into_iter().filter(|&v6| !v6 || len >= 60) {
                let mut p = rng.bytes(len);
                p[0] = if v6 { 0x60 | (p[0] & 0x0F) } else { 0x45 };
                assert_eq!(
                    e.compute_packet(&p).unwrap(),
                    naive_icrc(&p),
                    "{name} {len} v6 {v6}"
                );
            }
        }
    }
}

#[test]
fn all_backends_continue_like_one_pass() {
    let mut rng = Rng::new(3);
    for (name, e) in engines() {
        for _ in 0..if cfg!(miri) { 6 } else { 500 } {
            let len = rng.below(if cfg!(miri) { 1100 } else { 3000 });
            let d = rng.bytes(len);
            let cut = rng.below(len + 1);
            let (a, b) = d.split_at(cut);
            assert_eq!(
                e.crc32(e.crc32(0, a), b),
                Scalar.crc32(0, &d),
                "{name} {len}/{cut}"
            );
        }
    }
}

#[test]
fn all_backends_match_scalar_on_random_packets() {
    let mut rng = Rng::new(4);
    for (name, e) in engines() {
        for i in 0..if cfg!(miri) { 4 } else { 2000 } {
            // From an IP header onwards: version 4 or 6, random everything else.
            let len = 60 + rng.below(if cfg!(miri) { 600 } else { 1500 });
            let mut p = rng.bytes(len);
            p[0] = if i % 2 == 0 {
                0x45
            } else {
                0x60 | (p[0] & 0x0F)
            };
            assert_eq!(
                e.compute_packet(&p),
                Scalar.compute_packet(&p),
                "{name} {len}"
            );
        }
    }
}

#[test]
fn backend_vocabulary() {
    assert_eq!(
        Backend::ALL.map(Backend::name),
        ["avx512", "avx2", "neon", "scalar"]
    );
    assert!(Backend::Scalar.is_compiled());
    assert_eq!(
        Backend::Avx512.is_compiled(),
        cfg!(all(target_arch = "x86_64", target_feature = "sse2"))
    );
    assert_eq!(Backend::Neon.is_compiled(), cfg!(target_arch = "aarch64"));
    assert_eq!(
        Backend::Avx2.is_compiled(),
        cfg!(all(target_arch = "x86_64", target_feature = "sse2"))
    );
    // Auto picks the first available of ALL.
    let first = Backend::ALL
        .into_iter()
        .find(|&b| Auto::with_backend(b).is_some())
        .unwrap();
    assert_eq!(Auto::detect().backend(), first);
    assert_eq!(
        Backend::Avx512.features(),
        ["avx512f", "avx2", "vpclmulqdq", "pclmulqdq", "sse4.1"]
    );
}
