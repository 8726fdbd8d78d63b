//! The Toeplitz RSS hash: Microsoft's verification vectors on every backend, `Scalar`
//! against a bit-at-a-time reference, every backend against `Scalar` (random keys of every
//! length, every input length, bulk counts 0..=70 at every input width), the symmetric
//! modes, the redirection table and the error cases.
//! `OFFLOAD_REQUIRE_BACKENDS=avx2,scalar` makes a missing backend a failure.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core,
    reason = "test code: a panic is a failure, and bytes are built from small indices"
)]

use offload_flow::{
    Auto, Backend, Error, Fields, Ipv4Tuple, Ipv6Tuple, Reta, RssHasher, RssKey, Scalar, Symmetric,
};
use offload_testkit::{Rng, select_backends};

fn hashers() -> Vec<(&'static str, Auto)> {
    select_backends(
        "offload-flow",
        Backend::ALL
            .into_iter()
            .map(|b| (b.name(), Auto::with_backend(b)))
            .collect(),
    )
}

/// The definition: for every set input bit i (most significant bit of `input[0]` first),
/// XOR the 32 key bits starting at key bit i.
fn reference(key: &[u8], input: &[u8]) -> u32 {
    let key_bit = |i: usize| {
        key.get(i / 8)
            .map_or(0, |b| u32::from(b >> (7 - i % 8)) & 1)
    };
    let mut h = 0;
    for i in 0..input.len() * 8 {
        if (input[i / 8] >> (7 - i % 8)) & 1 == 1 {
            h ^= (0..32).fold(0u32, |w, j| (w << 1) | key_bit(i + j));
        }
    }
    h
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// One line of Microsoft's "Verifying the RSS Hash Calculation" table (also the Intel 82599
/// datasheet §7.1.2.8.3 and DPDK's test_thash.c), with the exact input bytes: source
/// address, destination address, source port, destination port, network byte order.
struct Vector {
    input: &'static str,
    hash: u32,
}

/// The 16 published hashes: 5 IPv4 and 3 IPv6 flows, without and with ports.
const VECTORS: [Vector; 16] = [
    // 66.9.149.187:2794 -> 161.142.100.80:1766
    Vector {
        input: "420995bba18e6450",
        hash: 0x323e_8fc2,
    },
    Vector {
        input: "420995bba18e64500aea06e6",
        hash: 0x51cc_c178,
    },
    // 199.92.111.2:14230 -> 65.69.140.83:4739
    Vector {
        input: "c75c6f0241458c53",
        hash: 0xd718_262a,
    },
    Vector {
        input: "c75c6f0241458c5337961283",
        hash: 0xc626_b0ea,
    },
    // 24.19.198.95:12898 -> 12.22.207.184:38024
    Vector {
        input: "1813c65f0c16cfb8",
        hash: 0xd2d0_a5de,
    },
    Vector {
        input: "1813c65f0c16cfb832629488",
        hash: 0x5c2b_394a,
    },
    // 38.27.205.30:48228 -> 209.142.163.6:2217
    Vector {
        input: "261bcd1ed18ea306",
        hash: 0x8298_9176,
    },
    Vector {
        input: "261bcd1ed18ea306bc6408a9",
        hash: 0xafc7_327f,
    },
    // 153.39.163.191:44251 -> 202.188.127.2:1303
    Vector {
        input: "9927a3bfcabc7f02",
        hash: 0x5d18_09c5,
    },
    Vector {
        input: "9927a3bfcabc7f02acdb0517",
        hash: 0x10e8_28a2,
    },
    // [3ffe:2501:200:1fff::7]:2794 -> [3ffe:2501:200:3::1]:1766
    Vector {
        input: "3ffe250102001fff00000000000000073ffe2501020000030000000000000001",
        hash: 0x2cc1_8cd5,
    },
    Vector {
        input: "3ffe250102001fff00000000000000073ffe25010200000300000000000000010aea06e6",
        hash: 0x4020_7d3d,
    },
    // [3ffe:501:8::260:97ff:fe40:efab]:14230 -> [ff02::1]:4739
    Vector {
        input: "3ffe050100080000026097fffe40efabff020000000000000000000000000001",
        hash: 0x0f0c_461c,
    },
    Vector {
        input: "3ffe050100080000026097fffe40efabff02000000000000000000000000000137961283",
        hash: 0xdde5_1bbf,
    },
    // [3ffe:1900:4545:3:200:f8ff:fe21:67cf]:44251 -> [fe80::200:f8ff:fe21:67cf]:38024
    Vector {
        input: "3ffe1900454500030200f8fffe2167cffe800000000000000200f8fffe2167cf",
        hash: 0x4b61_e985,
    },
    Vector {
        input: "3ffe1900454500030200f8fffe2167cffe800000000000000200f8fffe2167cfacdb9488",
        hash: 0x02d1_feef,
    },
];

fn vector_input(v: &Vector) -> Vec<u8> {
    hex(v.input)
}

/// The same flows as tuples (the protocol is not hashed), from the inputs with ports.
fn vector_tuples() -> (Vec<Ipv4Tuple>, Vec<Ipv6Tuple>) {
    let v4 = VECTORS[..10]
        .iter()
        .skip(1)
        .step_by(2)
        .map(|v| {
            let b = vector_input(v);
            Ipv4Tuple::new(
                [b[0], b[1], b[2], b[3]],
                [b[4], b[5], b[6], b[7]],
                u16::from_be_bytes([b[8], b[9]]),
                u16::from_be_bytes([b[10], b[11]]),
                6,
            )
        })
        .collect();
    let v6 = VECTORS[10..]
        .iter()
        .skip(1)
        .step_by(2)
        .map(|v| {
            let b = vector_input(v);
            Ipv6Tuple::new(
                b[..16].try_into().unwrap(),
                b[16..32].try_into().unwrap(),
                u16::from_be_bytes([b[32], b[33]]),
                u16::from_be_bytes([b[34], b[35]]),
                6,
            )
        })
        .collect();
    (v4, v6)
}

#[test]
fn microsoft_key_bytes() {
    assert_eq!(
        RssKey::MICROSOFT.as_bytes(),
        hex("6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa")
    );
    assert_eq!(RssKey::MICROSOFT.max_input(), 36);
    assert_eq!(RssKey::SYMMETRIC.as_bytes(), [0x6d, 0x5a].repeat(20));
    assert_eq!(
        RssKey::new(RssKey::MICROSOFT.as_bytes()).unwrap(),
        RssKey::MICROSOFT
    );
}

#[test]
fn microsoft_vectors_reference() {
    for v in &VECTORS {
        assert_eq!(
            reference(RssKey::MICROSOFT.as_bytes(), &vector_input(v)),
            v.hash
        );
    }
}

#[test]
fn microsoft_vectors_every_backend() {
    let key = RssKey::MICROSOFT;
    for (name, h) in hashers() {
        for v in &VECTORS {
            let input = vector_input(v);
            assert_eq!(
                h.toeplitz(&key, &input).unwrap(),
                v.hash,
                "{name} {}",
                v.input
            );
        }
        // The same through the bulk entry point (one call per width).
        let mut out = [0u32; 5];
        let v4: Vec<[u8; 8]> = VECTORS[..10]
            .iter()
            .step_by(2)
            .map(|v| vector_input(v).try_into().unwrap())
            .collect();
        h.toeplitz_bulk(&key, &v4, &mut out).unwrap();
        let want: Vec<u32> = VECTORS[..10].iter().step_by(2).map(|v| v.hash).collect();
        assert_eq!(out[..], want[..], "{name}");
        let v6: Vec<[u8; 36]> = VECTORS[10..]
            .iter()
            .skip(1)
            .step_by(2)
            .map(|v| vector_input(v).try_into().unwrap())
            .collect();
        h.toeplitz_bulk(&key, &v6, &mut out).unwrap();
        let want: Vec<u32> = VECTORS[10..]
            .iter()
            .skip(1)
            .step_by(2)
            .map(|v| v.hash)
            .collect();
        assert_eq!(out[..3], want[..], "{name}");
    }
}

#[test]
fn microsoft_vectors_from_tuples() {
    let key = RssKey::MICROSOFT;
    let (v4, v6) = vector_tuples();
    for (name, h) in hashers() {
        for (i, t) in v4.iter().enumerate() {
            let addrs = h.hash_ipv4(&key, t, Fields::Addresses, Symmetric::Off);
            let ports = h.hash_ipv4(&key, t, Fields::AddressesPorts, Symmetric::Off);
            assert_eq!(addrs.unwrap(), VECTORS[2 * i].hash, "{name}");
            assert_eq!(ports.unwrap(), VECTORS[2 * i + 1].hash, "{name}");
        }
        for (i, t) in v6.iter().enumerate() {
            let addrs = h.hash_ipv6(&key, t, Fields::Addresses, Symmetric::Off);
            let ports = h.hash_ipv6(&key, t, Fields::AddressesPorts, Symmetric::Off);
            assert_eq!(addrs.unwrap(), VECTORS[10 + 2 * i].hash, "{name}");
            assert_eq!(ports.unwrap(), VECTORS[11 + 2 * i].hash, "{name}");
        }
        let mut out = [0u32; 5];
        h.hash_ipv4_bulk(&key, &v4, Fields::AddressesPorts, Symmetric::Off, &mut out)
            .unwrap();
        assert_eq!(
            out,
            [
                0x51cc_c178,
                0xc626_b0ea,
                0x5c2b_394a,
                0xafc7_327f,
                0x10e8_28a2
            ]
        );
        h.hash_ipv6_bulk(&key, &v6, Fields::Addresses, Symmetric::Off, &mut out)
            .unwrap();
        assert_eq!(out[..3], [0x2cc1_8cd5, 0x0f0c_461c, 0x4b61_e985]);
    }
}

/// A random key of `len` bytes.
fn random_key(rng: &mut Rng, len: usize) -> RssKey {
    RssKey::new(&rng.bytes(len)).unwrap()
}

#[test]
fn scalar_matches_reference() {
    let mut rng = Rng::new(1);
    let lens: Vec<usize> = if cfg!(miri) {
        vec![8, 13, 40, 52]
    } else {
        (8..=52).collect()
    };
    for len in lens {
        let key = random_key(&mut rng, len);
        let inputs: Vec<usize> = if cfg!(miri) {
            let max = key.max_input();
            vec![0, 1, 4.min(max), 12.min(max), max]
        } else {
            (0..=key.max_input()).collect()
        };
        for n in inputs {
            let input = rng.bytes(n);
            assert_eq!(
                Scalar.toeplitz(&key, &input).unwrap(),
                reference(key.as_bytes(), &input),
                "key {key:?} input {input:02x?}"
            );
        }
    }
    // Single bits: each input bit alone selects one 32-bit key window.
    if !cfg!(miri) {
        let key = random_key(&mut rng, 52);
        for bit in 0..48 * 8 {
            let mut input = [0u8; 48];
            input[bit / 8] = 0x80 >> (bit % 8);
            assert_eq!(
                Scalar.toeplitz(&key, &input).unwrap(),
                reference(key.as_bytes(), &input)
            );
        }
    }
}

#[test]
fn all_backends_match_scalar() {
    let mut rng = Rng::new(2);
    let rounds = if cfg!(miri) { 1 } else { 4 };
    let lens: Vec<usize> = if cfg!(miri) {
        vec![8, 40, 52]
    } else {
        (8..=52).collect()
    };
    for (name, h) in hashers() {
        for &len in &lens {
            for _ in 0..rounds {
                let key = random_key(&mut rng, len);
                let mut buf = [0u8; 64];
                for n in 0..=key.max_input() {
                    // At every alignment of a larger buffer.
                    let off = rng.below(16);
                    rng.fill(&mut buf);
                    let input = &buf[off..off + n];
                    assert_eq!(
                        h.toeplitz(&key, input).unwrap(),
                        Scalar.toeplitz(&key, input).unwrap(),
                        "{name}: key {key:?} input {input:02x?}"
                    );
                }
            }
        }
    }
}

#[test]
fn all_ones_and_zeros() {
    for (name, h) in hashers() {
        for len in [8, 16, 40, 52] {
            let ones = RssKey::new(&vec![0xFF; len]).unwrap();
            let max = ones.max_input();
            let lens: Vec<usize> = if cfg!(miri) {
                vec![0, 1, max]
            } else {
                (0..=max).collect()
            };
            for n in lens {
                let input = vec![0xFF; n];
                let want = reference(ones.as_bytes(), &input);
                assert_eq!(h.toeplitz(&ones, &input).unwrap(), want, "{name}");
                assert_eq!(h.toeplitz(&ones, &vec![0; n]).unwrap(), 0, "{name}");
            }
        }
    }
}

/// Bulk of `N`-byte inputs against single calls on `Scalar`, for counts 0..=70 (all the
/// SIMD group and tail shapes), with output slots past the count left alone.
fn bulk_matches_single<const N: usize>(h: &Auto, name: &str, rng: &mut Rng) {
    let counts: Vec<usize> = if cfg!(miri) {
        vec![0, 1, 9, 17]
    } else {
        (0..=70).collect()
    };
    let shortest = (N + 4).max(8);
    let len = shortest + rng.below(52 - shortest + 1);
    let key = random_key(rng, len);
    for count in counts {
        let inputs: Vec<[u8; N]> = (0..count)
            .map(|_| {
                let mut a = [0u8; N];
                rng.fill(&mut a);
                a
            })
            .collect();
        let mut out = vec![0xDEAD_BEEF; count + 3];
        h.toeplitz_bulk(&key, &inputs, &mut out).unwrap();
        for (i, input) in inputs.iter().enumerate() {
            assert_eq!(
                out[i],
                Scalar.toeplitz(&key, input).unwrap(),
                "{name}: N {N}, count {count}, index {i}, key {key:?}"
            );
        }
        assert_eq!(
            out[count..],
            [0xDEAD_BEEF; 3],
            "{name}: N {N}, count {count}"
        );
    }
}

macro_rules! every_width {
    ($h:expr, $name:expr, $rng:expr; $($n:literal)*) => {
        $(
            if !cfg!(miri) || [0, 1, 8, 12, 13, 32, 36, 48].contains(&$n) {
                bulk_matches_single::<$n>($h, $name, $rng);
            }
        )*
    };
}

#[test]
fn bulk_matches_single_every_width() {
    let mut rng = Rng::new(3);
    for (name, h) in hashers() {
        every_width!(&h, name, &mut rng;
            0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24
            25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48);
    }
}

fn random_v4(rng: &mut Rng) -> Ipv4Tuple {
    let b = rng.bytes(12);
    Ipv4Tuple::new(
        [b[0], b[1], b[2], b[3]],
        [b[4], b[5], b[6], b[7]],
        u16::from_be_bytes([b[8], b[9]]),
        u16::from_be_bytes([b[10], b[11]]),
        17,
    )
}

fn random_v6(rng: &mut Rng) -> Ipv6Tuple {
    let b = rng.bytes(36);
    Ipv6Tuple::new(
        b[..16].try_into().unwrap(),
        b[16..32].try_into().unwrap(),
        u16::from_be_bytes([b[32], b[33]]),
        u16::from_be_bytes([b[34], b[35]]),
        6,
    )
}

const ALL_FIELDS: [Fields; 2] = [Fields::Addresses, Fields::AddressesPorts];
const ALL_SYMMETRIC: [Symmetric; 3] = [Symmetric::Off, Symmetric::XorPair, Symmetric::SortedPair];

#[test]
fn tuple_bulk_matches_single() {
    let mut rng = Rng::new(4);
    let count = if cfg!(miri) { 5 } else { 70 };
    let v4: Vec<Ipv4Tuple> = (0..count).map(|_| random_v4(&mut rng)).collect();
    let v6: Vec<Ipv6Tuple> = (0..count).map(|_| random_v6(&mut rng)).collect();
    let key = random_key(&mut rng, 40);
    for (name, h) in hashers() {
        for fields in ALL_FIELDS {
            for sym in ALL_SYMMETRIC {
                let mut out = vec![0; count];
                h.hash_ipv4_bulk(&key, &v4, fields, sym, &mut out).unwrap();
                for (t, &got) in v4.iter().zip(&out) {
                    let want = Scalar.hash_ipv4(&key, t, fields, sym).unwrap();
                    assert_eq!(got, want, "{name} {fields:?} {sym:?}");
                }
                h.hash_ipv6_bulk(&key, &v6, fields, sym, &mut out).unwrap();
                for (t, &got) in v6.iter().zip(&out) {
                    let want = Scalar.hash_ipv6(&key, t, fields, sym).unwrap();
                    assert_eq!(got, want, "{name} {fields:?} {sym:?}");
                }
            }
        }
    }
}

#[test]
fn symmetric_modes_are_symmetric() {
    let mut rng = Rng::new(5);
    let key = RssKey::MICROSOFT;
    let n = if cfg!(miri) { 4 } else { 200 };
    for (name, h) in hashers() {
        for _ in 0..n {
            let (t4, t6) = (random_v4(&mut rng), random_v6(&mut rng));
            for fields in ALL_FIELDS {
                for sym in [Symmetric::XorPair, Symmetric::SortedPair] {
                    assert_eq!(
                        h.hash_ipv4(&key, &t4, fields, sym).unwrap(),
                        h.hash_ipv4(&key, &t4.reversed(), fields, sym).unwrap(),
                        "{name} {sym:?}"
                    );
                    assert_eq!(
                        h.hash_ipv6(&key, &t6, fields, sym).unwrap(),
                        h.hash_ipv6(&key, &t6.reversed(), fields, sym).unwrap(),
                        "{name} {sym:?}"
                    );
                }
                // The repeated-0x6d5a key makes the plain hash symmetric.
                let s = RssKey::SYMMETRIC;
                assert_eq!(
                    h.hash_ipv4(&s, &t4, fields, Symmetric::Off).unwrap(),
                    h.hash_ipv4(&s, &t4.reversed(), fields, Symmetric::Off)
                        .unwrap(),
                    "{name}"
                );
                assert_eq!(
                    h.hash_ipv6(&s, &t6, fields, Symmetric::Off).unwrap(),
                    h.hash_ipv6(&s, &t6.reversed(), fields, Symmetric::Off)
                        .unwrap(),
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn symmetric_transforms_as_dpdk_defines_them() {
    let t = Ipv4Tuple::new([10, 0, 0, 9], [10, 0, 0, 1], 80, 40000, 6);
    let x = Symmetric::XorPair.apply_ipv4(&t);
    assert_eq!(
        x.rss_input(),
        [0, 0, 0, 8, 0, 0, 0, 8, 0x9c, 0x10, 0x9c, 0x10] // 80 ^ 40000 = 0x9c10
    );
    assert_eq!(x.proto(), 6);
    let s = Symmetric::SortedPair.apply_ipv4(&t);
    assert_eq!(
        (s.src(), s.dst(), s.src_port(), s.dst_port()),
        ([10, 0, 0, 1], [10, 0, 0, 9], 80, 40000)
    );
    assert_eq!(Symmetric::Off.apply_ipv4(&t), t);
    // Addresses compare as network-order numbers.
    let t6 = Ipv6Tuple::new([0xfe; 16], [0x20; 16], 5, 4, 17);
    let s6 = Symmetric::SortedPair.apply_ipv6(&t6);
    assert_eq!(
        (s6.src(), s6.dst(), s6.src_port(), s6.dst_port()),
        ([0x20; 16], [0xfe; 16], 4, 5)
    );
    let x6 = Symmetric::XorPair.apply_ipv6(&t6);
    assert_eq!(
        (x6.src(), x6.dst(), x6.src_port(), x6.dst_port()),
        ([0xde; 16], [0xde; 16], 1, 1)
    );
    // And the hash is the plain hash of the transformed input.
    let key = RssKey::MICROSOFT;
    for (name, h) in hashers() {
        assert_eq!(
            h.hash_ipv4(&key, &t, Fields::AddressesPorts, Symmetric::XorPair)
                .unwrap(),
            reference(key.as_bytes(), &x.rss_input()),
            "{name}"
        );
        assert_eq!(
            h.hash_ipv6(&key, &t6, Fields::Addresses, Symmetric::SortedPair)
                .unwrap(),
            reference(key.as_bytes(), &s6.rss_input_addrs()),
            "{name}"
        );
    }
}

/// The documented price of the repeated-0x6d5a key: the hash depends only on the XOR of the
/// input's 16-bit words.
#[test]
fn symmetric_key_collides_on_the_xor_fold() {
    let key = RssKey::SYMMETRIC;
    let mut rng = Rng::new(6);
    let n = if cfg!(miri) { 4 } else { 100 };
    for _ in 0..n {
        let input = rng.bytes(36);
        let fold = input
            .chunks(2)
            .fold(0u16, |f, w| f ^ u16::from_be_bytes([w[0], w[1]]));
        // Any other input with the same fold: here the fold alone, then zeros.
        let mut other = [0u8; 36];
        other[..2].copy_from_slice(&fold.to_be_bytes());
        assert_eq!(
            Scalar.toeplitz(&key, &input).unwrap(),
            Scalar.toeplitz(&key, &other).unwrap()
        );
    }
}

#[test]
fn errors_are_typed_and_write_nothing() {
    assert_eq!(RssKey::new(&[0; 7]), Err(Error::KeyLength { len: 7 }));
    assert_eq!(RssKey::new(&[0; 53]), Err(Error::KeyLength { len: 53 }));
    assert!(RssKey::new(&[0; 8]).is_ok() && RssKey::new(&[0; 52]).is_ok());
    let short = RssKey::new(&[1; 16]).unwrap();
    assert_eq!(short.max_input(), 12);
    for (name, h) in hashers() {
        assert_eq!(
            h.toeplitz(&short, &[0; 13]),
            Err(Error::InputTooLong { len: 13, max: 12 }),
            "{name}"
        );
        assert!(h.toeplitz(&short, &[0; 12]).is_ok());
        let mut out = [7u32; 4];
        assert_eq!(
            h.toeplitz_bulk(&short, &[[0u8; 13]; 2], &mut out),
            Err(Error::InputTooLong { len: 13, max: 12 })
        );
        assert_eq!(
            h.toeplitz_bulk(&short, &[[0u8; 4]; 5], &mut out),
            Err(Error::OutputTooSmall {
                needed: 5,
                available: 4
            })
        );
        assert_eq!(out, [7; 4], "{name}: nothing written on error");
        let t6 = Ipv6Tuple::default();
        assert_eq!(
            h.hash_ipv6(&short, &t6, Fields::Addresses, Symmetric::Off),
            Err(Error::InputTooLong { len: 32, max: 12 })
        );
        assert_eq!(
            h.hash_ipv4_bulk(
                &short,
                &[Ipv4Tuple::default(); 5],
                Fields::Addresses,
                Symmetric::Off,
                &mut out
            ),
            Err(Error::OutputTooSmall {
                needed: 5,
                available: 4
            })
        );
        assert_eq!(out, [7; 4], "{name}: nothing written on error");
        assert_eq!(h.toeplitz(&short, &[]), Ok(0));
    }
}

#[test]
fn reta_maps_low_bits() {
    let reta = Reta::round_robin(128, 4).unwrap();
    assert_eq!(reta.entries(), 128);
    for h in [0u32, 1, 5, 127, 128, 0x51cc_c178, u32::MAX] {
        assert_eq!(reta.queue(h), ((h & 127) % 4) as u16);
    }
    let mut reta = Reta::round_robin(512, 3).unwrap();
    assert_eq!(reta.as_slice()[..7], [0, 1, 2, 0, 1, 2, 0]);
    reta.set(5, 9).unwrap();
    assert_eq!(reta.get(5), Some(9));
    assert_eq!(reta.queue(5 + 512 * 7), 9);
    assert_eq!(reta.get(512), None);
    assert_eq!(
        reta.set(512, 1),
        Err(Error::RetaIndex {
            index: 512,
            entries: 512
        })
    );
    let one = Reta::round_robin(1, 8).unwrap();
    assert_eq!(one.queue(u32::MAX), 0);
    for bad in [0, 3, 100, 1024] {
        assert_eq!(
            Reta::round_robin(bad, 4),
            Err(Error::RetaSize { entries: bad })
        );
    }
    assert_eq!(Reta::round_robin(8, 0), Err(Error::NoQueues));
    let r = Reta::from_queues(&[3, 1, 4, 1]).unwrap();
    assert_eq!(r.queue(6), 4);
    assert_eq!(
        Reta::from_queues(&[0; 6]),
        Err(Error::RetaSize { entries: 6 })
    );
    assert!(format!("{r:?}").contains("[3, 1, 4, 1]"));
}

#[test]
fn key_size_and_debug() {
    assert_eq!(size_of::<RssKey>(), 1592);
    let d = format!("{:?}", RssKey::MICROSOFT);
    assert!(d.contains("40 bytes") && d.contains("6d5a56da"), "{d}");
}
