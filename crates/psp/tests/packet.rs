//! PSP packets: header view and repr, encapsulation and decapsulation in transport and
//! tunnel mode over IPv4 and IPv6 for every version, crypt offset and VC setting, every
//! rejection path of decapsulation, IV exhaustion, the receive key cache, and a property
//! test that random or mutated packets never make decapsulation panic or leak plaintext.

// Safe code only (packet processing): under Miri, which is here for the `unsafe` of the
// SIMD backends and detection (tests/backends.rs), these would take many minutes.
#![cfg(not(miri))]
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core,
    reason = "test code: a panic is a failure, and values are built from small indices"
)]

use offload_psp::{
    Auto, Backend, Cipher, Error, GcmKey, Header, HeaderRepr, MasterKeys, Mode, RxSa, Scalar, TxSa,
    Version, decapsulate, encapsulate, encapsulate_at, headroom,
};
use offload_testkit::select_backends;
use proptest::prelude::*;

fn engines() -> Vec<(&'static str, Auto)> {
    select_backends(
        "offload-psp",
        Backend::ALL
            .into_iter()
            .map(|b| (b.name(), Auto::with_backend(b)))
            .collect(),
    )
}

const K0: [u8; 32] = [
    0x34, 0x44, 0x8a, 0x06, 0x42, 0x92, 0x60, 0x1b, 0x11, 0xa0, 0x97, 0x8f, 0x56, 0xa2, 0xd3, 0x4c,
    0xf3, 0xfc, 0x35, 0xed, 0xe1, 0xa6, 0xbc, 0x04, 0xf8, 0xdb, 0x3e, 0x52, 0x43, 0xa2, 0xb0, 0xca,
];
const K1: [u8; 32] = [
    0x56, 0x39, 0x52, 0x56, 0x5d, 0x3a, 0x78, 0xae, 0x77, 0x3e, 0xc1, 0xb7, 0x79, 0xf2, 0xf2, 0xd9,
    0x9f, 0x4a, 0x7f, 0x53, 0xa6, 0xfb, 0xb9, 0xb0, 0x7d, 0x5b, 0x71, 0xf3, 0x93, 0x64, 0xd7, 0x39,
];

fn master() -> MasterKeys {
    MasterKeys::new(&K0, &K1)
}

fn checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .enumerate()
        .filter(|(i, _)| *i != 5)
        .map(|(_, p)| u32::from(p[0]) << 8 | u32::from(*p.get(1).unwrap_or(&0)))
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

fn l4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut seg = Vec::new();
    seg.extend_from_slice(&12345u16.to_be_bytes());
    seg.extend_from_slice(&443u16.to_be_bytes());
    if proto == 17 {
        seg.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        seg.extend_from_slice(&[0xAB, 0xCD]);
    } else {
        seg.extend_from_slice(&[
            0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xFF, 0xFF, 0x12, 0x34, 0, 0,
        ]);
    }
    seg.extend_from_slice(payload);
    seg
}

/// An IPv4 packet (IHL 5, or 6 with a 4-byte option) carrying `seg` as `proto`.
fn ipv4(proto: u8, seg: &[u8], options: bool) -> Vec<u8> {
    let hl = if options { 24 } else { 20 };
    let mut p = vec![0u8; hl];
    p[0] = 0x40 | (hl / 4) as u8;
    p[1] = 0x10;
    p[2..4].copy_from_slice(&((hl + seg.len()) as u16).to_be_bytes());
    p[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
    p[6] = 0x40; // DF
    p[8] = 64;
    p[9] = proto;
    p[12..16].copy_from_slice(&[10, 0, 0, 1]);
    p[16..20].copy_from_slice(&[10, 0, 0, 2]);
    if options {
        p[20..24].copy_from_slice(&[0x01, 0x01, 0x01, 0x00]); // NOPs, EOL
    }
    let c = checksum(&p);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(seg);
    p
}

fn ipv6(nh: u8, seg: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 40];
    p[0] = 0x60;
    p[1] = 0x01;
    p[4..6].copy_from_slice(&(seg.len() as u16).to_be_bytes());
    p[6] = nh;
    p[7] = 64;
    p[8] = 0x20;
    p[9] = 0x01;
    p[23] = 1;
    p[24] = 0x20;
    p[25] = 0x01;
    p[39] = 2;
    p.extend_from_slice(seg);
    p
}

fn inner(v6: bool, proto: u8, payload: &[u8], options: bool) -> Vec<u8> {
    let seg = l4(proto, payload);
    if v6 {
        ipv6(proto, &seg)
    } else {
        ipv4(proto, &seg, options)
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Encapsulates `pkt` and returns the wire bytes.
fn encap(e: &impl Cipher, sa: &mut TxSa, mode: Mode, pkt: &[u8]) -> Vec<u8> {
    let mut buf = pkt.to_vec();
    buf.resize(pkt.len() + 100, 0);
    let n = encapsulate(e, sa, mode, &mut buf, pkt.len()).unwrap();
    buf.truncate(n);
    buf
}

/// A valid transport-mode IPv4 PSP packet (v0, crypt offset 1, no VC) and its inner packet.
fn sample_packet() -> (Vec<u8>, Vec<u8>) {
    let pkt = inner(false, 6, b"hello, psp world: some payload bytes", false);
    let mut sa = TxSa::from_master(&master(), 0x1234_5678, Version::AesGcm128)
        .unwrap()
        .with_crypt_offset(1)
        .unwrap();
    (encap(&Scalar, &mut sa, Mode::Transport, &pkt), pkt)
}

#[test]
fn roundtrip_every_mode_ip_version_psp_version_offset_and_vc() {
    let mk = master();
    let mut rx: RxSa = RxSa::new(mk.clone());
    let mut count = 0;
    for (name, e) in engines() {
        for mode in [Mode::Transport, Mode::Tunnel] {
            for v6 in [false, true] {
                for version in Version::ALL {
                    for vc in [None, Some(0x0102_0304_0506_0708u64)] {
                        for proto in [6u8, 17] {
                            let lens: &[usize] = if cfg!(miri) { &[37] } else { &[0, 1, 37, 200] };
                            for &payload_len in lens {
                                let offsets: &[u8] = if version.is_gmac() || cfg!(miri) {
                                    &[0]
                                } else {
                                    &[0, 1, 2, 3, 6, 11, 63]
                                };
                                for &co in offsets {
                                    // Under Miri, a deterministic quarter of the matrix.
                                    let pick = usize::from(v6)
                                        + 2 * usize::from(vc.is_some())
                                        + usize::from(proto == 17)
                                        + version.as_u8() as usize;
                                    if cfg!(miri) && !pick.is_multiple_of(4) {
                                        continue;
                                    }
                                    let payload: Vec<u8> =
                                        (0..payload_len).map(|i| (i * 7 + 3) as u8).collect();
                                    let options = !v6 && payload_len == 37;
                                    let pkt = inner(v6, proto, &payload, options);
                                    let spi = if co % 2 == 0 {
                                        0x1234_5678
                                    } else {
                                        0x9A34_5678
                                    };
                                    let mut sa = TxSa::from_master(&mk, spi, version)
                                        .unwrap()
                                        .with_vc(vc)
                                        .with_iv_start(1000 + u64::from(co))
                                        .with_crypt_offset(co)
                                        .unwrap();
                                    let what = format!(
                                        "{name} {mode:?} v6 {v6} {version:?} vc {} proto {proto} len {payload_len} co {co}",
                                        vc.is_some()
                                    );
                                    let mut buf = pkt.clone();
                                    buf.resize(pkt.len() + 100, 0);
                                    let hlen = if vc.is_some() { 24 } else { 16 };
                                    let psp_payload = match mode {
                                        Mode::Transport => {
                                            pkt.len()
                                                - if v6 {
                                                    40
                                                } else if options {
                                                    24
                                                } else {
                                                    20
                                                }
                                        }
                                        Mode::Tunnel => pkt.len(),
                                    };
                                    let res = encapsulate(&e, &mut sa, mode, &mut buf, pkt.len());
                                    if 4 * usize::from(co) > hlen - 16 + psp_payload {
                                        assert!(
                                            matches!(res, Err(Error::CryptOffset { .. })),
                                            "{what}: {res:?}"
                                        );
                                        assert_eq!(&buf[..pkt.len()], &pkt[..], "{what}");
                                        assert_eq!(
                                            sa.next_iv(),
                                            Some(1000 + u64::from(co)),
                                            "{what}"
                                        );
                                        continue;
                                    }
                                    let n = res.unwrap();
                                    buf.truncate(n);
                                    check_wire(
                                        &buf, &pkt, mode, v6, options, version, co, vc, spi, &what,
                                    );
                                    assert_eq!(sa.next_iv(), Some(1001 + u64::from(co)));
                                    let mut out = buf.clone();
                                    let d = decapsulate(&e, &mut rx, &mut out, n).unwrap();
                                    assert_eq!(&out[..d.len], &pkt[..], "{what}: decap");
                                    assert_eq!(d.mode, mode, "{what}");
                                    assert_eq!(d.header.vc, vc, "{what}");
                                    assert_eq!(d.header.spi, spi);
                                    assert_eq!(d.header.iv, 1000 + u64::from(co));
                                    assert_eq!(d.header.version, version);
                                    assert_eq!(d.header.crypt_offset, co);
                                    count += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(count > if cfg!(miri) { 10 } else { 500 }, "{count}");
}

/// Checks the wire image against an independent construction: the outer headers field by
/// field, and the PSP part byte for byte against a header built here and sealed with the
/// derived key through the AEAD directly.
#[allow(clippy::too_many_arguments, reason = "test helper")]
fn check_wire(
    wire: &[u8],
    pkt: &[u8],
    mode: Mode,
    v6: bool,
    options: bool,
    version: Version,
    co: u8,
    vc: Option<u64>,
    spi: u32,
    what: &str,
) {
    let inner_hl = if v6 {
        40
    } else if options {
        24
    } else {
        20
    };
    let outer_hl = match mode {
        Mode::Transport => inner_hl,
        Mode::Tunnel => {
            if v6 {
                40
            } else {
                20
            }
        }
    };
    if v6 {
        assert_eq!(wire[0] >> 4, 6);
        assert_eq!(wire[6], 17, "{what}: next header");
        assert_eq!(
            usize::from(be16(wire, 4)),
            wire.len() - 40,
            "{what}: payload length"
        );
        assert_eq!(&wire[8..40], &pkt[8..40], "{what}: addresses");
    } else {
        assert_eq!(usize::from(wire[0] & 15) * 4, outer_hl, "{what}: IHL");
        assert_eq!(wire[9], 17, "{what}: protocol");
        assert_eq!(
            usize::from(be16(wire, 2)),
            wire.len(),
            "{what}: total length"
        );
        assert_eq!(
            be16(wire, 10),
            checksum(&wire[..outer_hl]),
            "{what}: checksum"
        );
        assert_eq!(&wire[12..20], &pkt[12..20], "{what}: addresses");
    }
    let udp = &wire[outer_hl..];
    assert_eq!(be16(udp, 0), 12345 ^ 443, "{what}: UDP source port");
    assert_eq!(be16(udp, 2), 1000, "{what}: UDP destination port");
    assert_eq!(usize::from(be16(udp, 4)), udp.len(), "{what}: UDP length");
    assert_eq!(be16(udp, 6), 0, "{what}: UDP checksum");
    let psp = &udp[8..];
    let protected = match mode {
        Mode::Transport => &pkt[inner_hl..],
        Mode::Tunnel => pkt,
    };
    let next_header = match mode {
        Mode::Transport => pkt[if v6 { 6 } else { 9 }],
        Mode::Tunnel => {
            if v6 {
                41
            } else {
                4
            }
        }
    };
    let mut want = vec![
        next_header,
        if vc.is_some() { 2 } else { 1 },
        co,
        version.as_u8() << 2 | u8::from(vc.is_some()) << 1 | 1,
    ];
    want.extend_from_slice(&spi.to_be_bytes());
    want.extend_from_slice(&psp[8..16]); // the IV, checked by the caller via the SA
    if let Some(vc) = vc {
        want.extend_from_slice(&vc.to_be_bytes());
    }
    want.extend_from_slice(protected);
    let key = GcmKey::new(&master().derive(spi, version).unwrap());
    let nonce: [u8; 12] = want[4..16].try_into().unwrap();
    let aad_len = if version.is_gmac() {
        want.len()
    } else {
        16 + 4 * usize::from(co)
    };
    let tag = Scalar
        .seal_in_place(&key, &nonce, &mut want, aad_len)
        .unwrap();
    want.extend_from_slice(&tag);
    assert_eq!(psp, &want[..], "{what}: PSP bytes");
}

#[test]
fn gmac_leaves_payload_in_clear_and_gcm_encrypts_after_offset() {
    let pkt = inner(false, 17, &[0x5A; 64], false);
    for version in Version::ALL {
        let mut sa = TxSa::from_master(&master(), 7, version).unwrap();
        if !version.is_gmac() {
            sa = sa.with_crypt_offset(1).unwrap();
        }
        let wire = encap(&Scalar, &mut sa, Mode::Transport, &pkt);
        let payload = &wire[20 + 8 + 16..wire.len() - 16];
        if version.is_gmac() {
            assert_eq!(payload, &pkt[20..], "{version:?}");
        } else {
            assert_eq!(&payload[..4], &pkt[20..24], "{version:?}: ports in clear");
            assert_ne!(&payload[4..], &pkt[24..], "{version:?}: encrypted");
        }
    }
    let sa = TxSa::from_master(&master(), 7, Version::AesGmac128).unwrap();
    assert!(matches!(
        sa.with_crypt_offset(1),
        Err(Error::CryptOffset { .. })
    ));
    let sa = TxSa::from_master(&master(), 7, Version::AesGcm128).unwrap();
    assert!(matches!(
        sa.with_crypt_offset(64),
        Err(Error::CryptOffset { .. })
    ));
}

#[test]
fn tunnel_ipv4_outer_header_drops_options() {
    let pkt = inner(false, 6, b"abc", true);
    let mut sa = TxSa::from_master(&master(), 9, Version::AesGcm256).unwrap();
    let wire = encap(&Scalar, &mut sa, Mode::Tunnel, &pkt);
    assert_eq!(wire[0], 0x45);
    assert_eq!(wire.len(), 20 + 8 + 16 + pkt.len() + 16);
    let mut rx: RxSa = RxSa::new(master());
    let mut out = wire.clone();
    let d = decapsulate(&Scalar, &mut rx, &mut out, wire.len()).unwrap();
    assert_eq!(&out[..d.len], &pkt[..]);
}

#[test]
fn tunnel_ipv4_fragment_gets_a_whole_outer_datagram() {
    for (frag, outer) in [(0x2000u16, 0u16), (0x6001, 0x4000), (0x0003, 0)] {
        let mut pkt = inner(false, 17, b"fragment", false);
        pkt[6..8].copy_from_slice(&frag.to_be_bytes());
        let c = checksum(&pkt[..20]);
        pkt[10..12].copy_from_slice(&c.to_be_bytes());
        let mut sa = TxSa::from_master(&master(), 9, Version::AesGcm128).unwrap();
        let wire = encap(&Scalar, &mut sa, Mode::Tunnel, &pkt);
        assert_eq!(be16(&wire, 6), outer, "inner flags/offset {frag:#06x}");
        assert_eq!(be16(&wire, 10), checksum(&wire[..20]));
        let mut rx: RxSa = RxSa::new(master());
        let mut out = wire.clone();
        let d = decapsulate(&Scalar, &mut rx, &mut out, wire.len()).unwrap();
        assert_eq!(&out[..d.len], &pkt[..]);
    }
}

#[test]
fn non_tcp_udp_inner_uses_source_port_1000() {
    let pkt = ipv4(1, &[8, 0, 0xF7, 0xFF, 0, 0, 0, 0], false); // ICMP echo
    let mut sa = TxSa::from_master(&master(), 9, Version::AesGcm128).unwrap();
    let wire = encap(&Scalar, &mut sa, Mode::Tunnel, &pkt);
    assert_eq!(be16(&wire, 20), 1000);
}

#[test]
fn encap_rejects_bad_input_and_keeps_buffer_and_iv() {
    let pkt = inner(false, 6, b"x", false);
    let mut sa = TxSa::from_master(&master(), 9, Version::AesGcm128).unwrap();
    // No room for the result.
    let mut buf = pkt.clone();
    buf.resize(pkt.len() + 39, 0);
    let before = buf.clone();
    assert_eq!(
        encapsulate(&Scalar, &mut sa, Mode::Transport, &mut buf, pkt.len()),
        Err(Error::BufferTooSmall {
            needed: pkt.len() + 40,
            available: pkt.len() + 39
        })
    );
    assert_eq!(buf, before);
    assert_eq!(sa.next_iv(), Some(1));
    // len past the buffer; not IP; truncated IP; fragment in transport mode.
    let mut buf = pkt.clone();
    assert!(matches!(
        encapsulate(&Scalar, &mut sa, Mode::Transport, &mut buf, pkt.len() + 1),
        Err(Error::BufferTooSmall { .. })
    ));
    let mut junk = vec![0x75u8; 100];
    assert!(matches!(
        encapsulate(&Scalar, &mut sa, Mode::Tunnel, &mut junk, 60),
        Err(Error::Malformed { .. })
    ));
    let mut buf = pkt.clone();
    buf.resize(200, 0);
    assert!(matches!(
        encapsulate(&Scalar, &mut sa, Mode::Transport, &mut buf, pkt.len() - 1),
        Err(Error::Truncated { .. })
    ));
    let mut frag = pkt.clone();
    frag[6] = 0x20; // MF
    frag.resize(200, 0);
    assert!(matches!(
        encapsulate(&Scalar, &mut sa, Mode::Transport, &mut frag, pkt.len()),
        Err(Error::Malformed { .. })
    ));
    assert_eq!(sa.next_iv(), Some(1));
    // Too long for the IPv4 total length.
    let big = inner(false, 17, &vec![0; 65535 - 28 - 20], false);
    let mut buf = big.clone();
    buf.resize(big.len() + 100, 0);
    assert!(matches!(
        encapsulate(&Scalar, &mut sa, Mode::Transport, &mut buf, big.len()),
        Err(Error::TooLong { .. })
    ));
}

#[test]
fn iv_exhaustion_is_an_error() {
    let pkt = inner(true, 17, b"last", false);
    let mut sa = TxSa::from_master(&master(), 9, Version::AesGcm128)
        .unwrap()
        .with_iv_start(u64::MAX - 1);
    encap(&Scalar, &mut sa, Mode::Transport, &pkt);
    let wire = encap(&Scalar, &mut sa, Mode::Transport, &pkt);
    assert_eq!(Header::new_checked(&wire[48..]).unwrap().iv(), u64::MAX);
    assert_eq!(sa.next_iv(), None);
    let mut buf = pkt.clone();
    buf.resize(200, 0);
    let before = buf.clone();
    assert_eq!(
        encapsulate(&Scalar, &mut sa, Mode::Transport, &mut buf, pkt.len()),
        Err(Error::IvExhausted)
    );
    assert_eq!(buf, before);
}

#[test]
fn ivs_strictly_increase() {
    let pkt = inner(false, 17, b"x", false);
    let mut sa = TxSa::from_master(&master(), 9, Version::AesGcm128).unwrap();
    for want in 1..=5u64 {
        let wire = encap(&Scalar, &mut sa, Mode::Transport, &pkt);
        assert_eq!(Header::new_checked(&wire[28..]).unwrap().iv(), want);
    }
}

/// Decapsulation of `wire` fails with `err` and leaves the buffer as it was.
fn rejects(wire: &[u8], err: Error) {
    let mut rx: RxSa = RxSa::new(master());
    let mut buf = wire.to_vec();
    assert_eq!(
        decapsulate(&Scalar, &mut rx, &mut buf, wire.len()).map(|d| d.len),
        Err(err)
    );
    assert_eq!(buf, wire, "buffer changed on {err:?}");
}

/// Rewrites the IPv4 header checksum after a test changed the header.
fn fix_ipv4(wire: &mut [u8]) {
    let c = checksum(&wire[..20]);
    wire[10..12].copy_from_slice(&c.to_be_bytes());
}

#[test]
fn decap_rejects_truncated_packets() {
    let (wire, _) = sample_packet();
    let mut rx: RxSa = RxSa::new(master());
    for cut in 0..wire.len() {
        let mut buf = wire.clone();
        let r = decapsulate(&Scalar, &mut rx, &mut buf, cut);
        assert!(
            matches!(r, Err(Error::Truncated { .. })),
            "cut {cut}: {r:?}"
        );
        assert_eq!(buf, wire);
    }
    // Consistent lengths, but the PSP part shorter than header + ICV.
    for psp_len in [0usize, 15, 16, 31] {
        let mut short = wire[..28 + psp_len].to_vec();
        short[2..4].copy_from_slice(&((28 + psp_len) as u16).to_be_bytes());
        short[24..26].copy_from_slice(&((8 + psp_len) as u16).to_be_bytes());
        fix_ipv4(&mut short);
        rejects(
            &short,
            Error::Truncated {
                needed: 28 + 32,
                available: 28 + psp_len,
            },
        );
    }
    // Hdr Ext Len announcing more header than the packet has.
    let mut long_hdr = wire.clone();
    long_hdr[29] = 20;
    rejects(
        &long_hdr,
        Error::Truncated {
            needed: 28 + 168 + 16,
            available: wire.len(),
        },
    );
}

#[test]
fn decap_rejects_fixed_bit_clear() {
    let (mut wire, _) = sample_packet();
    wire[31] &= !1;
    rejects(&wire, Error::FixedBitClear);
}

#[test]
fn decap_rejects_reserved_versions() {
    let (wire, _) = sample_packet();
    for version in 4..16u8 {
        let mut w = wire.clone();
        w[31] = (w[31] & 0xC3) | version << 2;
        rejects(&w, Error::UnsupportedVersion { version });
    }
}

#[test]
fn decap_rejects_crypt_offset_past_payload() {
    let (wire, _) = sample_packet();
    let after_iv = wire.len() - 28 - 16 - 16;
    let mut w = wire.clone();
    w[30] = 63;
    rejects(
        &w,
        Error::CryptOffset {
            offset_bytes: 252,
            available: after_iv,
        },
    );
    // Exactly at the end of the payload is valid (nothing encrypted), so it only fails
    // authentication here, because the field changed.
    let mut w = wire.clone();
    assert_eq!(after_iv % 4, 0, "sample payload length");
    w[30] = (after_iv / 4) as u8;
    rejects(&w, Error::Authentication);
}

#[test]
fn decap_rejects_zero_spi() {
    let (wire, _) = sample_packet();
    for spi in [0u32, 0x8000_0000] {
        let mut w = wire.clone();
        w[32..36].copy_from_slice(&spi.to_be_bytes());
        rejects(&w, Error::InvalidSpi { spi });
    }
}

#[test]
fn decap_rejects_bad_hdr_ext_len() {
    let (wire, _) = sample_packet();
    let mut w = wire.clone();
    w[29] = 0;
    rejects(&w, Error::HeaderLength { hdr_ext_len: 0 });
    let mut w = wire.clone();
    w[31] |= 0x02; // V without room for the VC
    rejects(&w, Error::HeaderLength { hdr_ext_len: 1 });
}

#[test]
fn decap_rejects_wrong_udp_port_and_protocol() {
    let (wire, _) = sample_packet();
    let mut w = wire.clone();
    w[22..24].copy_from_slice(&1001u16.to_be_bytes());
    rejects(&w, Error::UdpPort { port: 1001 });
    let mut w = wire.clone();
    w[9] = 6;
    fix_ipv4(&mut w);
    rejects(&w, Error::Protocol { protocol: 6 });
}

#[test]
fn decap_rejects_malformed_ip_and_udp() {
    let (wire, _) = sample_packet();
    let mut w = wire.clone();
    w[10] ^= 1;
    rejects(
        &w,
        Error::Malformed {
            what: "IPv4 header checksum",
        },
    );
    let mut w = wire.clone();
    w[24..26].copy_from_slice(&((wire.len() - 20 - 1) as u16).to_be_bytes());
    rejects(
        &w,
        Error::Malformed {
            what: "UDP length does not match the IP length",
        },
    );
    let mut w = wire.clone();
    w[6] = 0x20;
    fix_ipv4(&mut w);
    rejects(
        &w,
        Error::Malformed {
            what: "fragmented outer IPv4 packet",
        },
    );
    let mut w = wire.clone();
    w[0] = 0x44;
    rejects(
        &w,
        Error::Malformed {
            what: "IPv4 IHL below 5",
        },
    );
    let mut w = wire.clone();
    w[0] = 0x55;
    rejects(
        &w,
        Error::Malformed {
            what: "IP version is neither 4 nor 6",
        },
    );
}

#[test]
fn decap_rejects_every_flipped_bit_of_the_psp_part() {
    for (name, e) in engines() {
        for version in Version::ALL {
            for vc in [None, Some(42u64)] {
                let pkt = inner(true, 6, b"some transport payload", false);
                let mut sa = TxSa::from_master(&master(), 0x9A34_5678, version)
                    .unwrap()
                    .with_vc(vc);
                let wire = encap(&e, &mut sa, Mode::Transport, &pkt);
                let mut rx: RxSa = RxSa::new(master());
                let step = if cfg!(miri) { 53 } else { 1 };
                for bit in ((40 + 8) * 8..wire.len() * 8).step_by(step) {
                    let mut w = wire.clone();
                    w[bit / 8] ^= 1 << (bit % 8);
                    let tampered = w.clone();
                    let r = decapsulate(&e, &mut rx, &mut w, wire.len());
                    assert!(r.is_err(), "{name} {version:?} bit {bit} accepted");
                    assert_eq!(w, tampered, "{name} {version:?} bit {bit}: buffer changed");
                    // Bits the receiver cannot check before the tag (R, S, D, next header,
                    // IV, VC, payload, ICV, and key-changing SPI bits) end in Authentication.
                    let byte = bit / 8 - 48;
                    let structural = byte == 1 || byte == 3 || (byte == 2 && bit % 8 < 6);
                    if !structural && !(4..8).contains(&byte) {
                        assert_eq!(
                            r,
                            Err(Error::Authentication),
                            "{name} {version:?} bit {bit}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn decap_accepts_extension_bytes_and_empty_encrypted_region() {
    // Hdr Ext Len 3: VC plus 8 opaque extension bytes, crypt offset 4 (VC and extension in
    // clear). Built by hand, sealed through the AEAD directly.
    let mk = master();
    let spi = 0x0000_0777u32;
    let payload = b"0123456789abcdef";
    let mut psp = vec![6u8, 3, 4, (1 << 2) | 0b11];
    psp.extend_from_slice(&spi.to_be_bytes());
    psp.extend_from_slice(&5u64.to_be_bytes());
    psp.extend_from_slice(&77u64.to_be_bytes());
    psp.extend_from_slice(&[0xEE; 8]);
    psp.extend_from_slice(payload);
    let key = GcmKey::new(&mk.derive(spi, Version::AesGcm256).unwrap());
    let nonce: [u8; 12] = psp[4..16].try_into().unwrap();
    let tag = Scalar.seal_in_place(&key, &nonce, &mut psp, 32).unwrap();
    psp.extend_from_slice(&tag);
    let mut udp = vec![0, 1, 0x03, 0xE8];
    udp.extend_from_slice(&((8 + psp.len()) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(&psp);
    let wire = ipv6(17, &udp);
    let mut rx: RxSa = RxSa::new(mk.clone());
    let mut buf = wire.clone();
    let d = decapsulate(&Scalar, &mut rx, &mut buf, wire.len()).unwrap();
    assert_eq!(d.header.vc, Some(77));
    assert_eq!(d.mode, Mode::Transport);
    assert_eq!(&buf[40..d.len], payload);
    assert_eq!(buf[6], 6);
    assert_eq!(usize::from(be16(&buf, 4)), payload.len());
    // Crypt offset = whole payload: nothing encrypted, the tag still checked.
    let pkt = inner(false, 6, &[1, 2, 3, 4], false);
    let seg_len = pkt.len() - 20;
    let mut sa = TxSa::from_master(&mk, 5, Version::AesGcm128)
        .unwrap()
        .with_crypt_offset((seg_len / 4) as u8)
        .unwrap();
    let wire = encap(&Scalar, &mut sa, Mode::Transport, &pkt);
    assert_eq!(&wire[44..wire.len() - 16], &pkt[20..]);
    let mut buf = wire.clone();
    let d = decapsulate(&Scalar, &mut rx, &mut buf, wire.len()).unwrap();
    assert_eq!(&buf[..d.len], &pkt[..]);
    let mut w = wire.clone();
    w[50] ^= 1;
    rejects(&w, Error::Authentication);
}

#[test]
fn decap_ignores_link_padding_and_reports_header() {
    let (wire, pkt) = sample_packet();
    let mut buf = wire.clone();
    buf.extend_from_slice(&[0; 10]);
    let mut rx: RxSa<0> = RxSa::new(master());
    let d = decapsulate(&Scalar, &mut rx, &mut buf, wire.len() + 10).unwrap();
    assert_eq!(&buf[..d.len], &pkt[..]);
    assert_eq!(
        d.header,
        HeaderRepr {
            next_header: 6,
            crypt_offset: 1,
            sample: false,
            drop_after_sample: false,
            version: Version::AesGcm128,
            spi: 0x1234_5678,
            iv: 1,
            vc: None,
        }
    );
}

#[test]
fn rx_cache_is_bounded_and_reused() {
    let mk = master();
    let pkt = inner(false, 17, b"cache", false);
    let mut rx: RxSa<3> = RxSa::new(mk.clone());
    for round in 0..if cfg!(miri) { 1 } else { 3 } {
        for spi in 1..=5u32 {
            for version in [Version::AesGcm128, Version::AesGcm256] {
                let mut sa = TxSa::from_master(&mk, spi | (spi & 1) << 31, version).unwrap();
                let wire = encap(&Scalar, &mut sa, Mode::Tunnel, &pkt);
                let mut buf = wire.clone();
                let d = decapsulate(&Scalar, &mut rx, &mut buf, wire.len()).unwrap();
                assert_eq!(&buf[..d.len], &pkt[..], "round {round} spi {spi}");
                assert!(rx.cached() <= 3);
            }
        }
    }
    assert_eq!(rx.cached(), 3);
    rx.clear_cache();
    assert_eq!(rx.cached(), 0);
    // A hit returns the same key as a fresh derivation.
    let mut hits = 0;
    for _ in 0..2 {
        rx.with_key(0x42, Version::AesGcm128, |k| {
            assert_eq!(k.bits(), 128);
            hits += 1;
        })
        .unwrap();
    }
    assert_eq!((hits, rx.cached()), (2, 1));
    assert_eq!(
        rx.with_key(0x8000_0000, Version::AesGcm128, |_| ()),
        Err(Error::InvalidSpi { spi: 0x8000_0000 })
    );
}

#[test]
fn tx_sa_checks_key_size_and_spi() {
    let k16 = offload_psp::SaKey::new_128([1; 16]);
    assert_eq!(
        TxSa::new(&k16, 5, Version::AesGcm256).map(|_| ()),
        Err(Error::KeyLength {
            expected: 32,
            found: 16
        })
    );
    assert_eq!(
        TxSa::new(&k16, 0x8000_0000, Version::AesGcm128).map(|_| ()),
        Err(Error::InvalidSpi { spi: 0x8000_0000 })
    );
    let sa = TxSa::new(&k16, 5, Version::AesGmac128).unwrap();
    assert_eq!(
        (sa.spi(), sa.version(), sa.crypt_offset(), sa.vc()),
        (5, Version::AesGmac128, 0, None)
    );
}

#[test]
fn header_view_and_repr() {
    let repr = HeaderRepr {
        next_header: 17,
        crypt_offset: 5,
        sample: true,
        drop_after_sample: true,
        version: Version::AesGmac256,
        spi: 0x8765_4321,
        iv: 0x0102_0304_0506_0708,
        vc: Some(0x1112_1314_1516_1718),
    };
    let mut buf = [0u8; 24];
    repr.emit(&mut Header::new_unchecked(&mut buf[..])).unwrap();
    assert_eq!(
        buf,
        [
            17,
            2,
            5,
            0b1100_1111,
            0x87,
            0x65,
            0x43,
            0x21,
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            8,
            0x11,
            0x12,
            0x13,
            0x14,
            0x15,
            0x16,
            0x17,
            0x18
        ]
    );
    let h = Header::new_checked(&buf[..]).unwrap();
    assert_eq!(HeaderRepr::parse(&h).unwrap(), repr);
    assert_eq!((h.header_len(), h.reserved(), h.version()), (24, 0, 3));
    assert_eq!(h.nonce()[..4], 0x8765_4321u32.to_be_bytes());
    let mut small = [0u8; 23];
    assert_eq!(
        repr.emit(&mut Header::new_unchecked(&mut small[..])),
        Err(Error::BufferTooSmall {
            needed: 24,
            available: 23
        })
    );
    assert_eq!(
        Header::new_checked(&buf[..23]).map(|_| ()),
        Err(Error::Truncated {
            needed: 24,
            available: 23
        })
    );
    assert_eq!(
        Header::new_checked(&buf[..15]).map(|_| ()),
        Err(Error::Truncated {
            needed: 16,
            available: 15
        })
    );
    // Setters touch only their bits.
    let mut h = Header::new_unchecked(&mut buf[..]);
    h.set_reserved(3);
    assert_eq!((h.reserved(), h.crypt_offset()), (3, 5));
    h.set_crypt_offset(63);
    assert_eq!((h.reserved(), h.crypt_offset()), (3, 63));
    h.set_version(9);
    assert_eq!(
        (h.version(), h.sample(), h.vc_present(), h.fixed_bit()),
        (9, true, true, true)
    );
    h.set_fixed_bit(false);
    h.set_sample(false);
    h.set_drop_after_sample(false);
    h.set_vc_present(false);
    assert_eq!(h.vc(), None);
    assert_eq!(h.bytes_flags(), 0b0010_0100);
    let ro = Header::new_unchecked(&buf[..]);
    assert_eq!(HeaderRepr::parse(&ro), Err(Error::FixedBitClear));
    // Version above 3, SPI 0, Hdr Ext Len 0.
    let mut b = [0u8; 16];
    let mut h = Header::new_unchecked(&mut b[..]);
    h.set_hdr_ext_len(1);
    h.set_fixed_bit(true);
    h.set_version(4);
    h.set_spi(1);
    assert_eq!(
        HeaderRepr::parse(&Header::new_unchecked(&b[..])),
        Err(Error::UnsupportedVersion { version: 4 })
    );
    let mut h = Header::new_unchecked(&mut b[..]);
    h.set_version(0);
    h.set_spi(0);
    assert_eq!(
        HeaderRepr::parse(&Header::new_unchecked(&b[..])),
        Err(Error::InvalidSpi { spi: 0 })
    );
    let mut h = Header::new_unchecked(&mut b[..]);
    h.set_spi(1);
    h.set_hdr_ext_len(0);
    assert_eq!(
        HeaderRepr::parse(&Header::new_unchecked(&b[..])),
        Err(Error::HeaderLength { hdr_ext_len: 0 })
    );
    assert_eq!(
        Version::from_u8(4),
        Err(Error::UnsupportedVersion { version: 4 })
    );
    assert_eq!(Version::AesGmac256.kdf_label(), *b"Pv3\0");
}

trait FlagsByte {
    fn bytes_flags(&self) -> u8;
}
impl<T: AsRef<[u8]>> FlagsByte for Header<T> {
    fn bytes_flags(&self) -> u8 {
        (self.version() << 2)
            | u8::from(self.sample()) << 7
            | u8::from(self.drop_after_sample()) << 6
            | u8::from(self.vc_present()) << 1
            | u8::from(self.fixed_bit())
    }
}

proptest! {
    // No failure file: Miri's isolation has no file system, and the seeds reproduce anyway.
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 8 } else { 2000 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Arbitrary bytes, with a plausible IP version nibble most of the time: never a panic,
    /// and on error the buffer is unchanged.
    #[test]
    fn decap_of_random_bytes_never_panics(mut data in proptest::collection::vec(any::<u8>(), 0..300), v in 0u8..3, extra in 0usize..4) {
        if let Some(b) = data.first_mut() {
            *b = match v { 0 => 0x45, 1 => 0x60, _ => *b };
        }
        let len = data.len();
        data.resize(len + extra, 0);
        let before = data.clone();
        let mut rx: RxSa<1> = RxSa::new(master());
        let give = len.saturating_sub(extra);
        if decapsulate(&Scalar, &mut rx, &mut data, give).is_err() {
            prop_assert_eq!(data, before);
        }
    }

    /// A valid packet with random bytes overwritten: never a panic, never accepted unless
    /// only unauthenticated outer fields changed, never a changed buffer on error.
    #[test]
    fn decap_of_mutated_packets_never_panics(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4), cut in 0usize..8) {
        let (wire, pkt) = sample_packet();
        let mut w = wire.clone();
        for (at, val) in edits {
            let i = at % w.len();
            w[i] = val;
        }
        let len = w.len() - cut;
        let before = w.clone();
        let mut rx: RxSa = RxSa::new(master());
        match decapsulate(&Scalar, &mut rx, &mut w, len) {
            Ok(d) => {
                // Only the outer IP addresses/TTL/ID, UDP source port or checksum could
                // have changed; the protected part must be the original.
                prop_assert_eq!(&w[20..d.len], &pkt[20..]);
                prop_assert_eq!(&before[28..], &wire[28..]);
            }
            Err(_) => prop_assert_eq!(w, before),
        }
    }
}

/// `encapsulate_at` at every start from 0 to past the headroom writes the same PSP packet
/// as `encapsulate` (transport and tunnel, IPv4 with and without options, IPv6, with and
/// without a VC and a crypt offset), starting `headroom` before the packet when the room is
/// there and at 0 otherwise; with the room, nothing outside the result is written.
#[test]
fn encapsulate_at_matches_encapsulate_at_every_start() {
    let payload = b"a payload long enough to cross a few AES blocks: 0123456789abcdef";
    for (name, e) in engines() {
        for (v6, options) in [(false, false), (false, true), (true, false)] {
            let pkt = inner(v6, 17, payload, options);
            for mode in [Mode::Transport, Mode::Tunnel] {
                for (vc, offset) in [(false, 0), (true, 1), (false, 3)] {
                    let sa = || {
                        let sa = TxSa::from_master(&master(), 0x4242, Version::AesGcm256)
                            .unwrap()
                            .with_crypt_offset(offset)
                            .unwrap();
                        if vc { sa.with_vc(Some(0)) } else { sa }
                    };
                    let expect = encap(&e, &mut sa(), mode, &pkt);
                    let room = headroom(mode, v6, vc);
                    for start in 0..=room + 3 {
                        let mut buf = vec![0xEE; start + pkt.len() + room + 40];
                        buf[start..start + pkt.len()].copy_from_slice(&pkt);
                        let got = encapsulate_at(&e, &mut sa(), mode, &mut buf, start, pkt.len())
                            .unwrap();
                        let at = start.saturating_sub(room);
                        assert_eq!(got, at..at + expect.len(), "{name} {mode:?} start {start}");
                        assert_eq!(&buf[got.clone()], &expect[..], "{name} {mode:?} {start}");
                        if start >= room {
                            assert!(buf[..got.start].iter().all(|&b| b == 0xEE));
                        }
                        assert!(buf[got.end..].iter().all(|&b| b == 0xEE));
                    }
                    // No room for the result after the packet: an error, buffer unchanged.
                    let mut buf = vec![0xEE; room + pkt.len()];
                    buf[room..].copy_from_slice(&pkt);
                    let before = buf.clone();
                    assert!(matches!(
                        encapsulate_at(&e, &mut sa(), mode, &mut buf, room, pkt.len()),
                        Err(Error::BufferTooSmall { .. })
                    ));
                    assert_eq!(buf, before);
                    assert!(matches!(
                        encapsulate_at(&e, &mut sa(), mode, &mut buf, usize::MAX, 2),
                        Err(Error::BufferTooSmall { .. })
                    ));
                }
            }
        }
    }
}
