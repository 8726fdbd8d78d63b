//! The wire layer without reference data: PSN arithmetic, AETH syndrome tables, opcode
//! table spot checks, the builder for every opcode (round trip through `parse`), typed
//! errors, and no panic on mutated or random input.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failure, and bytes are built from small indices"
)]

use core::cmp::Ordering;

use offload_rdma_wire::wire::{
    Credits, ExtHeaders, ExtKind, ImmDtRepr, IpRepr, Ipv4Packet, Ipv4Repr, NakCode, OPCODES,
    Operation, Position, Syndrome, Transport, VlanTag,
};
use offload_rdma_wire::{Error, Icrc, Layer, Opcode, Psn, Scalar, parse};
mod common;
use common::{emit_vec, random_builder};
use offload_testkit::Rng;

#[test]
fn psn_wraps_and_compares_serially() {
    assert_eq!(Psn::MAX.next(), Psn::new(0));
    assert_eq!(Psn::new(0x1_000_005).value(), 5);
    assert_eq!(Psn::new(0).sub(1), Psn::MAX);
    assert_eq!(Psn::new(0).distance(Psn::MAX), 1);
    assert_eq!(Psn::MAX.distance(Psn::new(0)), -1);
    assert!(Psn::new(2).is_after(Psn::new(0xFF_FFF0)));
    assert_eq!(Psn::new(5).serial_cmp(Psn::new(5)), Ordering::Equal);
    assert_eq!(
        Psn::new(0x7F_FFFF).serial_cmp(Psn::new(0)),
        Ordering::Greater
    );
    // Exactly half the space apart: "before", as the kernel's psn_compare says.
    assert_eq!(Psn::new(0x80_0000).serial_cmp(Psn::new(0)), Ordering::Less);
    let mut rng = Rng::new(9);
    for _ in 0..if cfg!(miri) { 300 } else { 10_000 } {
        let a = Psn::new(rng.next_u64() as u32);
        let d = (rng.next_u64() as u32 % 0x80_0000) as i32 - 0x40_0000;
        let b = a.add(d.cast_unsigned());
        assert_eq!(b.distance(a), d);
        assert_eq!(a.add(d.cast_unsigned()).sub(d.cast_unsigned()), a);
    }
}

#[test]
fn aeth_syndrome_tables() {
    let credits: Vec<u16> = (0..31)
        .map(|c| match Syndrome::decode(c) {
            Syndrome::Ack(Credits::Count { credits, .. }) => credits,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(&credits[..8], &[0, 1, 2, 3, 4, 6, 8, 12]);
    assert_eq!(credits[30], 32768);
    assert_eq!(Syndrome::decode(0x1F), Syndrome::Ack(Credits::Invalid));
    // Bit 7 is reserved and ignored.
    assert_eq!(Syndrome::decode(0x9F), Syndrome::Ack(Credits::Invalid));
    let Syndrome::RnrNak(t) = Syndrome::decode(0x20) else {
        panic!()
    };
    assert_eq!(t.micros, 655_360);
    let Syndrome::RnrNak(t) = Syndrome::decode(0x3F) else {
        panic!()
    };
    assert_eq!(t.micros, 491_520);
    assert_eq!(
        Syndrome::decode(0x60),
        Syndrome::Nak(NakCode::PsnSequenceError)
    );
    assert_eq!(
        Syndrome::decode(0x63),
        Syndrome::Nak(NakCode::RemoteOperationalError)
    );
    assert_eq!(Syndrome::decode(0x65), Syndrome::Nak(NakCode::Reserved(5)));
    assert_eq!(Syndrome::decode(0x41), Syndrome::Reserved(1));
    for b in 0..=0x7Fu8 {
        assert_eq!(Syndrome::decode(b).encode(), b, "{b:#x}");
    }
}

#[test]
fn opcode_table_spot_checks() {
    let hdrs = |op: u8| -> Vec<ExtKind> { Opcode(op).info().unwrap().headers.iter().collect() };
    use ExtKind as K;
    assert_eq!(hdrs(0x0B), [K::Reth, K::ImmDt]);
    assert_eq!(hdrs(0x4B), [K::RdEth, K::Deth, K::Reth, K::ImmDt]);
    assert_eq!(hdrs(0x4D), [K::RdEth, K::Aeth]);
    assert_eq!(hdrs(0x52), [K::RdEth, K::Aeth, K::AtomicAckEth]);
    assert_eq!(hdrs(0x55), [K::RdEth, K::Deth]);
    assert_eq!(hdrs(0x65), [K::Deth, K::ImmDt]);
    assert_eq!(hdrs(0xA5), [K::XrcEth, K::ImmDt]);
    assert_eq!(hdrs(0xB3), [K::XrcEth, K::AtomicEth]);
    assert_eq!(hdrs(0xB1), [K::Aeth]);
    assert_eq!(hdrs(0xB7), [K::XrcEth, K::Ieth]);
    assert_eq!(hdrs(0x81), [K::CnpPadding]);
    for undefined in [
        0x15, 0x18, 0x1C, 0x2C, 0x56, 0x60, 0x66, 0x80, 0xB5, 0xC0, 0xFF,
    ] {
        assert!(Opcode(undefined).info().is_none(), "{undefined:#x}");
    }
    let count = |t: Transport| {
        OPCODES
            .iter()
            .flatten()
            .filter(|i| i.transport == t)
            .count()
    };
    assert_eq!(count(Transport::Rc), 23);
    assert_eq!(count(Transport::Uc), 12);
    assert_eq!(count(Transport::Rd), 22);
    assert_eq!(count(Transport::Ud), 2);
    assert_eq!(count(Transport::Xrc), 23);
    assert_eq!(count(Transport::Cnp), 1);
    let info = Opcode(0x2A).info().unwrap();
    assert_eq!(
        (info.operation, info.position, info.payload),
        (Operation::WriteOnly, Position::Only, true)
    );
    assert!(!Opcode(0x0C).info().unwrap().payload);
    assert_eq!(Opcode(0x0D).info().unwrap().position, Position::First);
    assert_eq!(
        Opcode::of(Transport::Ud, Operation::SendOnly),
        Some(Opcode(0x64))
    );
    assert_eq!(Opcode::of(Transport::Uc, Operation::ReadRequest), None);
    assert_eq!(
        Opcode::of(Transport::Cnp, Operation::Cnp),
        Some(Opcode::CNP)
    );
    assert_eq!(format!("{}", Opcode(0x0A)), "RC RDMA WRITE Only");
    assert_eq!(ExtHeaders::NONE.with(K::AtomicEth).with(K::Deth).size(), 36);
}

#[test]
fn builder_round_trips_every_opcode() {
    let mut rng = Rng::new(5);
    let e = Scalar;
    // Natively 20 frames of every opcode; under Miri one of every 5th opcode, with a short
    // payload.
    let (step, reps, max_payload) = if cfg!(miri) { (5, 1, 40) } else { (1, 20, 300) };
    for info in OPCODES.iter().flatten().step_by(step) {
        for _ in 0..reps {
            let b = random_builder(&mut rng, info.opcode);
            let len = if info.payload {
                rng.below(max_payload)
            } else {
                0
            };
            let payload = rng.bytes(len);
            let mut buf = vec![0u8; 2048];
            let n = b.emit(&e, &payload, &mut buf).unwrap();
            assert_eq!(n, b.buffer_len(len).unwrap());
            let f = e.parse_verified(&buf[..n]).unwrap();
            assert_eq!(f.payload(), &payload[..]);
            assert_eq!(usize::from(f.bth().pad_count), len.wrapping_neg() & 3);
            assert!(f.pad().iter().all(|&p| p == 0));
            assert_eq!(f.ext(), b.ext);
            let mut want = b.bth;
            want.pad_count = f.bth().pad_count;
            assert_eq!(f.bth(), want);
            assert_eq!(f.ethernet().vlan, b.ethernet.vlan);
            assert_eq!(f.udp_checksum_ok(), (b.udp.checksum != 0).then_some(true));
            if let IpRepr::Ipv4(_) = f.ip() {
                let l3 = f.offsets().l3;
                assert!(
                    Ipv4Packet::new_checked(&buf[l3..n])
                        .unwrap()
                        .verify_checksum()
                );
            }
            // And parse -> build reproduces the bytes.
            let mut again = vec![0u8; n];
            f.builder().emit(&e, f.payload(), &mut again).unwrap();
            assert_eq!(again, &buf[..n]);
        }
    }
}

#[test]
fn builder_rejects_wrong_headers_and_payloads() {
    let mut rng = Rng::new(6);
    let e = Scalar;
    let mut buf = [0u8; 256];
    let mut b = random_builder(&mut rng, Opcode(0x0A));
    b.ext.reth = None;
    assert_eq!(
        b.emit(&e, b"x", &mut buf),
        Err(Error::MissingHeader {
            header: ExtKind::Reth
        })
    );
    let mut b = random_builder(&mut rng, Opcode(0x04));
    b.ext.immdt = Some(ImmDtRepr { imm: 1 });
    assert_eq!(
        b.emit(&e, b"x", &mut buf),
        Err(Error::UnexpectedHeader {
            header: ExtKind::ImmDt
        })
    );
    let b = random_builder(&mut rng, Opcode::RC_ACK);
    assert_eq!(
        b.emit(&e, b"x", &mut buf),
        Err(Error::PayloadNotAllowed {
            opcode: 0x11,
            len: 1
        })
    );
    let mut b = random_builder(&mut rng, Opcode(0x04));
    b.bth.opcode = Opcode(0x1C);
    assert_eq!(
        b.emit(&e, b"", &mut buf),
        Err(Error::UnknownOpcode { opcode: 0x1C })
    );
    let b = random_builder(&mut rng, Opcode(0x04));
    let big = vec![0u8; 70_000];
    let mut out = vec![0u8; 80_000];
    assert!(matches!(
        b.emit(&e, &big, &mut out),
        Err(Error::TooLong { .. })
    ));
    // A slice comparison (memcmp, which Miri runs as one step) rather than a byte loop.
    assert!(out == vec![0u8; out.len()], "nothing written on error");
}

/// A valid RC SEND Only frame (IPv4 or IPv6) with 5 bytes of payload, no tag.
fn sample(ipv6: bool) -> Vec<u8> {
    let mut rng = Rng::new(7);
    let mut b = loop {
        let b = random_builder(&mut rng, Opcode::RC_SEND_ONLY);
        if matches!(b.ip, IpRepr::Ipv6(_)) == ipv6 {
            break b;
        }
    };
    b.ethernet.vlan = None;
    emit_vec(&b, b"hello")
}

#[test]
fn parse_errors_are_typed() {
    let v4 = sample(false);
    let v6 = sample(true);
    parse(&v4).unwrap();
    parse(&v6).unwrap();
    let with = |base: &[u8], at: usize, val: u8| {
        let mut f = base.to_vec();
        f[at] = val;
        f
    };
    assert_eq!(
        parse(&with(&v4, 12, 0x88)).err(),
        Some(Error::UnsupportedEtherType { ethertype: 0x8800 })
    );
    assert_eq!(
        parse(&with(&v4, 14, 0x46)).err(),
        Some(Error::Ipv4Options { header_len: 24 })
    );
    assert_eq!(
        parse(&with(&v4, 14, 0x44)).err(),
        Some(Error::Ipv4HeaderLen { header_len: 16 })
    );
    assert_eq!(
        parse(&with(&v4, 14, 0x65)).err(),
        Some(Error::IpVersion { version: 6 })
    );
    assert!(matches!(
        parse(&with(&v4, 20, 0x20)),
        Err(Error::Ipv4Fragment {
            more_fragments: true,
            ..
        })
    ));
    assert_eq!(
        parse(&with(&v4, 23, 6)).err(),
        Some(Error::NotUdp { protocol: 6 })
    );
    assert_eq!(
        parse(&with(&v6, 20, 44)).err(),
        Some(Error::Ipv6ExtensionHeader { next_header: 44 })
    );
    assert_eq!(
        parse(&with(&v6, 20, 58)).err(),
        Some(Error::NotUdp { protocol: 58 })
    );
    assert_eq!(
        parse(&with(&v4, 37, 0xB8)).err(),
        Some(Error::NotRoceV2Port { port: 0x12B8 })
    );
    // UDP length above the IP payload, and below its own header.
    let ulen = u16::from_be_bytes([v4[38], v4[39]]);
    assert!(matches!(
        parse(&with(&v4, 39, (ulen + 1) as u8)),
        Err(Error::BadLength {
            layer: Layer::Udp,
            ..
        })
    ));
    assert!(matches!(
        parse(&with(&with(&v4, 38, 0), 39, 4)),
        Err(Error::BadLength {
            layer: Layer::Udp,
            declared: 4,
            ..
        })
    ));
    // BTH at 42: opcode, TVer, pad count.
    assert_eq!(
        parse(&with(&v4, 42, 0x1C)).err(),
        Some(Error::UnknownOpcode { opcode: 0x1C })
    );
    assert_eq!(
        parse(&with(&v4, 43, v4[43] | 1)).err(),
        Some(Error::UnsupportedTver { tver: 1 })
    );
    // An ACK (no payload) with bytes after its AETH.
    let ack = with(&v4, 42, 0x11);
    assert_eq!(
        parse(&ack).err(),
        Some(Error::PayloadNotAllowed {
            opcode: 0x11,
            len: 4
        })
    );
    // A READ request whose RETH runs into the ICRC: truncated RETH at offset 54.
    assert!(matches!(
        parse(&with(&v4, 42, 0x0C)),
        Err(Error::Truncated {
            layer: Layer::Ext(ExtKind::Reth),
            offset: 54,
            ..
        })
    ));
    // Pad count larger than what sits before the ICRC: an RC SEND Only with 0 payload bytes.
    let mut rng = Rng::new(8);
    let mut b = random_builder(&mut rng, Opcode::RC_SEND_ONLY);
    b.ethernet.vlan = None;
    b.ip = IpRepr::Ipv4(Ipv4Repr {
        tos: 0,
        ident: 0,
        flags: 2,
        ttl: 64,
        protocol: 0,
        src: [1; 4],
        dst: [2; 4],
        payload_len: 0,
    });
    let mut empty = emit_vec(&b, b"");
    assert_eq!(empty.len(), 58, "the shortest RoCE v2 frame");
    empty[43] |= 0x30;
    assert_eq!(
        parse(&empty).err(),
        Some(Error::PadExceedsPayload {
            pad: 3,
            available: 0
        })
    );
    // The ICRC check itself.
    let mut bad = v4.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert!(matches!(
        Scalar.parse_verified(&bad),
        Err(Error::IcrcMismatch { .. })
    ));
    assert!(Scalar.refill(&mut bad).is_ok());
    assert_eq!(bad, v4);
}

#[test]
fn reserved_bits_never_cause_rejection() {
    let v4 = sample(false);
    let mut f = v4.clone();
    f[14 + 6] |= 0x80; // IPv4 reserved flag
    f[42 + 4] |= 0x3F; // BTH Resv6a (masked)
    f[42 + 8] |= 0x7F; // BTH Resv7 (covered: refill the ICRC)
    Scalar.refill(&mut f).unwrap();
    let p = Scalar.parse_verified(&f).unwrap();
    assert_eq!((p.bth().resv6a, p.bth().resv7), (0x3F, 0x7F));
    let mut again = vec![0u8; f.len()];
    let payload = p.payload();
    p.builder().emit(&Scalar, payload, &mut again).unwrap();
    // The builder writes fresh IPv4 and UDP checksums (the flip above left them stale).
    assert!(
        Ipv4Packet::new_checked(&again[14..])
            .unwrap()
            .verify_checksum()
    );
    for at in [24, 25, 40, 41] {
        f[at] = again[at];
    }
    assert_eq!(again, f);
    assert_eq!(Scalar.parse_verified(&again).unwrap().bth().resv7, 0x7F);
}

#[test]
fn no_panic_on_mutated_or_random_input() {
    let mut rng = Rng::new(10);
    let seeds = [sample(false), sample(true)];
    for i in 0..if cfg!(miri) { 200 } else { 200_000 } {
        let mut f = seeds[i % 2].clone();
        match i % 4 {
            0 => {
                let len = rng.below(f.len() + 1);
                f.truncate(len);
            }
            1 => {
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(f.len());
                    f[at] = rng.next_u64() as u8;
                }
            }
            2 => {
                let len = rng.below(200);
                f = rng.bytes(len);
            }
            _ => {
                let at = rng.below(f.len());
                f[at] ^= 1 << rng.below(8);
                let len = rng.below(8);
                f.extend(rng.bytes(len));
            }
        }
        if let Ok(p) = parse(&f) {
            let _ = Scalar.verify(&p);
            assert!(p.offsets().end <= f.len());
            let o = p.offsets();
            assert!(o.l3 <= o.l4 && o.l4 <= o.bth && o.bth <= o.ext && o.ext <= o.payload);
            assert!(o.payload <= o.pad && o.pad <= o.icrc && o.icrc + 4 == o.end);
        }
        let _ = Scalar.compute_packet(&f);
        let _ = Scalar.refill(&mut f);
    }
}

#[test]
fn error_messages_name_the_numbers() {
    let e = Error::Truncated {
        layer: Layer::Ext(ExtKind::Reth),
        offset: 54,
        needed: 16,
        available: 4,
    };
    assert_eq!(
        e.to_string(),
        "truncated RETH at offset 54: needs 16 bytes, 4 available"
    );
    let e = Error::IcrcMismatch {
        computed: 0x1234_5678,
        stored: 0x9ABC_DEF0,
    };
    assert_eq!(
        e.to_string(),
        "ICRC mismatch: computed 0x12345678, stored 0x9abcdef0"
    );
}

/// What `parse` refuses, the builder refuses too, before writing anything: every frame the
/// builder writes parses.
#[test]
fn builder_refuses_what_parse_would_reject() {
    let mut rng = Rng::new(9);
    let e = Scalar;
    let mut buf = [0xA5u8; 256];

    let mut b = random_builder(&mut rng, Opcode(0x04));
    b.bth.tver = 1;
    assert_eq!(
        b.emit(&e, b"x", &mut buf),
        Err(Error::UnsupportedTver { tver: 1 })
    );

    let mut b = random_builder(&mut rng, Opcode(0x04));
    b.ip = IpRepr::Ipv4(Ipv4Repr {
        tos: 0,
        ident: 0,
        flags: 1,
        ttl: 64,
        protocol: 17,
        src: [10, 0, 0, 1],
        dst: [10, 0, 0, 2],
        payload_len: 0,
    });
    assert_eq!(
        b.emit(&e, b"x", &mut buf),
        Err(Error::Ipv4Fragment {
            fragment_offset: 0,
            more_fragments: true
        })
    );

    let mut b = random_builder(&mut rng, Opcode(0x04));
    let mut tag = VlanTag::new(7, 0);
    tag.tpid = 0x9100;
    b.ethernet.vlan = Some(tag);
    assert_eq!(
        b.emit(&e, b"x", &mut buf),
        Err(Error::UnsupportedEtherType { ethertype: 0x9100 })
    );
    assert!(buf.iter().all(|&x| x == 0xA5), "nothing written on error");
}
