//! Known answers from scapy (`tests/gen/gen_vectors.py`, whose output is
//! `tests/vectors/scapy_frames.rs`): IPv4 and IPv6, with and without an 802.1Q tag, every
//! defined opcode of RC, UC, RD, UD and XRC plus the CNP, pad counts 0-3, PSN 0xFFFFFF,
//! reserved bits set. For each frame, on every backend: the parsed fields, the ICRC, and
//! that emitting the parsed frame reproduces it byte for byte. Then the masking properties:
//! flipping any covered bit breaks the ICRC, flipping any masked bit does not.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failure, and bytes are built from small indices"
)]

use offload_rdma_wire::wire::{Credits, ExtRepr, IpRepr, NakCode, Syndrome};
use offload_rdma_wire::{Error, Icrc, Layer, Scalar, parse};
mod common;
use common::{engines, masked_bits};

mod scapy {
    #![allow(unreachable_pub, reason = "generated test data")]
    include!("vectors/scapy_frames.rs");
}
use scapy::{VECTORS, Vector};

/// The frames a test walks: all of them natively. Under Miri, where one frame's parse and
/// ICRC cost tens of milliseconds, every 23rd (IPv4 and IPv6, tagged and not, pad counts 0-3)
/// and one CNP.
fn sampled() -> impl Iterator<Item = &'static Vector> {
    let step = if cfg!(miri) { 23 } else { 1 };
    let cnp = VECTORS.iter().filter(|v| cfg!(miri) && v.opcode == 0x81);
    VECTORS.iter().step_by(step).chain(cnp.take(1))
}

/// Fewer still for the tests that flip every bit of a frame: natively all, under Miri three
/// (an untagged IPv4 frame, a tagged IPv6 one with pad 2, a tagged IPv4 one with pad 1).
fn few() -> impl Iterator<Item = &'static Vector> {
    VECTORS.iter().step_by(if cfg!(miri) { 57 } else { 1 })
}

/// The values of one parsed header in the order the design's JSON uses.
fn ext_values(e: &ExtRepr) -> (&'static str, Vec<u64>) {
    match *e {
        ExtRepr::Reth(r) => ("RETH", vec![r.va, r.r_key.into(), r.dma_len.into()]),
        ExtRepr::Aeth(r) => ("AETH", vec![r.syndrome.into(), r.msn.value().into()]),
        ExtRepr::Deth(r) => ("DETH", vec![r.q_key.into(), r.src_qp.into()]),
        ExtRepr::ImmDt(r) => ("ImmDt", vec![r.imm.into()]),
        ExtRepr::Ieth(r) => ("IETH", vec![r.r_key.into()]),
        ExtRepr::AtomicEth(r) => (
            "AtomicETH",
            vec![r.va, r.r_key.into(), r.swap_add, r.compare],
        ),
        ExtRepr::AtomicAckEth(r) => ("AtomicAckETH", vec![r.orig_remote_data]),
        ExtRepr::XrcEth(r) => ("XRCETH", vec![r.xrc_srq.into()]),
        ExtRepr::RdEth(r) => ("RDETH", vec![r.ee_context.into()]),
        ExtRepr::CnpPadding => ("CNP", vec![]),
        _ => unreachable!("new header kind"),
    }
}

fn check_fields(v: &Vector) {
    let f = parse(v.frame).unwrap_or_else(|e| panic!("{}: {e}", v.name));
    assert_eq!(matches!(f.ip(), IpRepr::Ipv6(_)), v.ipv6, "{}", v.name);
    assert_eq!(f.ethernet().vlan.map(|t| t.vid), v.vlan, "{}", v.name);
    assert_eq!(f.bth().opcode.0, v.opcode, "{}", v.name);
    assert_eq!(f.bth().dest_qp, v.dest_qp, "{}", v.name);
    assert_eq!(f.bth().psn.value(), v.psn, "{}", v.name);
    assert_eq!(f.bth().pad_count, v.pad, "{}", v.name);
    assert_eq!(f.payload(), v.payload, "{}", v.name);
    assert_eq!(f.pad().len(), usize::from(v.pad), "{}", v.name);
    assert_eq!(f.icrc(), v.icrc, "{}", v.name);
    assert_eq!(f.offsets().end, v.frame.len(), "{}", v.name);
    assert!(f.trailer().is_empty(), "{}", v.name);
    let got: Vec<(&str, Vec<u64>)> = f
        .ext()
        .iter()
        .map(|e| ext_values(&e))
        .filter(|(n, _)| *n != "CNP")
        .collect();
    let want: Vec<(&str, Vec<u64>)> = v.ext.iter().map(|(n, f)| (*n, f.to_vec())).collect();
    assert_eq!(got, want, "{}", v.name);
    if v.opcode == 0x81 {
        assert!(f.ext().cnp_padding, "{}", v.name);
        assert!(f.bth().becn, "{}", v.name);
    }
}

#[test]
fn scapy_frames_parse_to_expected_fields() {
    assert!(VECTORS.len() >= 170);
    for v in sampled() {
        check_fields(v);
    }
}

#[test]
fn scapy_coverage_is_what_the_generator_claims() {
    let mut pads = [0usize; 4];
    let (mut v4, mut v6, mut vlan, mut cnp, mut wrap) = (0, 0, 0, 0, 0);
    for v in VECTORS {
        pads[usize::from(v.pad)] += 1;
        if v.ipv6 {
            v6 += 1;
        } else {
            v4 += 1;
        }
        vlan += usize::from(v.vlan.is_some());
        cnp += usize::from(v.opcode == 0x81);
        wrap += usize::from(v.psn == 0xFF_FFFF);
    }
    assert!(pads.iter().all(|&n| n > 0), "pads {pads:?}");
    assert!(v4 > 0 && v6 > 0 && vlan > 0 && cnp == 4 && wrap > 0);
    // Every opcode of the crate's table appears, and nothing else.
    let mut seen = [false; 256];
    for v in VECTORS {
        seen[usize::from(v.opcode)] = true;
    }
    for (op, info) in offload_rdma_wire::wire::OPCODES.iter().enumerate() {
        assert_eq!(info.is_some(), seen[op], "opcode {op:#04x}");
    }
}

#[test]
fn scapy_icrc_matches_on_every_backend() {
    for (name, e) in engines() {
        for v in sampled() {
            let f = parse(v.frame).unwrap();
            assert_eq!(e.compute(&f), v.icrc, "{name} {}", v.name);
            e.verify(&f).unwrap();
            e.parse_verified(v.frame).unwrap();
        }
    }
}

#[test]
fn emit_of_parse_reproduces_scapy_bytes() {
    for (name, e) in engines() {
        for v in sampled() {
            let f = parse(v.frame).unwrap();
            let builder = f.builder();
            assert_eq!(builder.buffer_len(v.payload.len()).unwrap(), v.frame.len());
            let mut out = vec![0xA5u8; v.frame.len() + 8];
            let n = builder.emit(&e, f.payload(), &mut out).unwrap();
            assert_eq!(n, v.frame.len(), "{name} {}", v.name);
            assert_eq!(&out[..n], v.frame, "{name} {}", v.name);
            assert!(out[n..].iter().all(|&b| b == 0xA5), "wrote past the end");
            let mut exact = vec![0u8; n];
            assert_eq!(builder.emit(&e, f.payload(), &mut exact).unwrap(), n);
            assert_eq!(
                builder.emit(&e, f.payload(), &mut exact[..n - 1]),
                Err(Error::OutputTooSmall {
                    needed: n,
                    available: n - 1
                })
            );
        }
    }
}

#[test]
fn udp_checksums_in_scapy_frames_are_checked_and_reproduced() {
    let mut checked = 0;
    for v in sampled() {
        let f = parse(v.frame).unwrap();
        match f.udp_checksum_ok() {
            Some(ok) => {
                assert!(ok, "{}", v.name);
                checked += 1;
            }
            None => assert!(!v.ipv6, "{}", v.name),
        }
    }
    assert!(checked > if cfg!(miri) { 3 } else { 80 });
}

#[test]
fn flipping_a_covered_bit_breaks_the_icrc() {
    let e = Scalar;
    // Every bit natively; under Miri every 7th bit position (7 and 8 are coprime, so every
    // bit number of a byte comes up).
    let step = if cfg!(miri) { 7 } else { 1 };
    for v in few() {
        let f = parse(v.frame).unwrap();
        let o = f.offsets();
        let masks = masked_bits(v.ipv6);
        let mut covered = f.icrc_covered().to_vec();
        for pos in (0..covered.len() * 8).step_by(step) {
            let (byte, bit) = (pos / 8, pos % 8);
            let mask = masks.iter().find(|(at, _)| *at == byte).map_or(0, |m| m.1);
            let b = 1u8 << bit;
            covered[byte] ^= b;
            let crc = e.compute_packet(&covered);
            if mask & b == 0 {
                // The version nibble makes compute_packet refuse; anything else must
                // change the CRC (CRC-32 detects every single-bit error).
                assert_ne!(crc.ok(), Some(v.icrc), "{} byte {byte} bit {bit}", v.name);
            } else {
                assert_eq!(crc, Ok(v.icrc), "{} byte {byte} bit {bit}", v.name);
            }
            covered[byte] ^= b;
        }
        // The stored ICRC itself.
        let mut frame = v.frame.to_vec();
        for bit in (0..32).step_by(step) {
            frame[o.icrc + bit / 8] ^= 1 << (bit % 8);
            let g = parse(&frame).unwrap();
            assert!(matches!(e.verify(&g), Err(Error::IcrcMismatch { .. })));
            frame[o.icrc + bit / 8] ^= 1 << (bit % 8);
        }
    }
}

#[test]
fn flipping_a_masked_bit_keeps_the_frame_valid() {
    // TTL/hop limit, DSCP/ECN, flow label, IPv4 and UDP checksums, FECN/BECN/Resv6a: a
    // router or switch may rewrite them, and the frame must still parse and verify.
    for (name, e) in engines() {
        for v in few() {
            let f = parse(v.frame).unwrap();
            let l3 = f.offsets().l3;
            for (at, mask) in masked_bits(v.ipv6) {
                for bit in 0..8 {
                    // Under Miri, only the lowest and highest masked bit of each byte.
                    let edge = mask.trailing_zeros() == bit || 7 - mask.leading_zeros() == bit;
                    if mask & (1 << bit) == 0 || (cfg!(miri) && !edge) {
                        continue;
                    }
                    let mut frame = v.frame.to_vec();
                    frame[l3 + at] ^= 1 << bit;
                    let g = e
                        .parse_verified(&frame)
                        .unwrap_or_else(|err| panic!("{name} {} +{at}.{bit}: {err}", v.name));
                    assert_eq!(g.payload(), v.payload);
                }
            }
        }
    }
}

#[test]
fn ethernet_padding_and_fcs_are_the_trailer() {
    // The shortest frames (an IPv4 ACK is 62 bytes) are padded to 60 + FCS on the wire;
    // a capture may keep 4 FCS bytes. The packet ends at the UDP length all the same.
    let frames = VECTORS.iter().filter(|v| !v.ipv6 && v.vlan.is_none());
    for v in frames.take(if cfg!(miri) { 2 } else { usize::MAX }) {
        let mut frame = v.frame.to_vec();
        let pad = 64usize.saturating_sub(frame.len());
        frame.extend(std::iter::repeat_n(0u8, pad));
        frame.extend([0xDE, 0xAD, 0xBE, 0xEF]);
        let f = Scalar.parse_verified(&frame).unwrap();
        assert_eq!(f.offsets().end, v.frame.len());
        assert_eq!(f.trailer().len(), pad + 4);
        assert_eq!(f.payload(), v.payload);
    }
}

#[test]
fn aeth_syndromes_of_the_scapy_frames_decode() {
    let mut kinds = [false; 4];
    // Under Miri only the frames the generator says carry an AETH are parsed.
    let has_aeth = |v: &&Vector| !cfg!(miri) || v.ext.iter().any(|(n, _)| *n == "AETH");
    for v in VECTORS.iter().filter(has_aeth) {
        let f = parse(v.frame).unwrap();
        let Some(aeth) = f.ext().aeth else { continue };
        match aeth.syndrome() {
            Syndrome::Ack(Credits::Count { code: 5, credits }) => {
                assert_eq!(credits, 6);
                kinds[0] = true;
            }
            Syndrome::Ack(Credits::Invalid) => kinds[1] = true,
            Syndrome::RnrNak(t) => {
                assert_eq!((t.code, t.micros), (0x0E, 1280));
                kinds[2] = true;
            }
            Syndrome::Nak(NakCode::InvalidRdRequest) => kinds[3] = true,
            _ => {}
        }
    }
    assert_eq!(kinds, [true; 4]);
}

#[test]
fn truncated_scapy_frames_fail_with_typed_errors() {
    for v in few() {
        for len in 0..v.frame.len() {
            match parse(&v.frame[..len]) {
                Err(Error::Truncated {
                    offset,
                    needed,
                    available,
                    ..
                }) => assert!(available < needed && offset <= len, "{}", v.name),
                other => panic!("{} cut at {len}: {other:?}", v.name),
            }
        }
    }
    assert!(matches!(
        parse(&VECTORS[0].frame[..10]),
        Err(Error::Truncated {
            layer: Layer::Ethernet,
            ..
        })
    ));
}
