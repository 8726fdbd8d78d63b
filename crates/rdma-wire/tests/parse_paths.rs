//! `parse` reads the usual frame (Ethernet with at most one tag, IPv4 without options or
//! IPv6) at fixed offsets, and every other frame and every error on a general path; the unit
//! tests in `src/wire/frame.rs` compare the two paths directly. Here, from outside, on random
//! frames of every opcode: the offsets against those the builder laid out; the same frame
//! without and with an 802.1Q tag, which must parse alike (offsets 4 apart, everything else
//! equal) or both fail, also after mutations of the headers and the length fields and
//! truncations; and `parse_verified` on every backend (`Avx2` and `Avx512` have their own,
//! the parse and `Avx2`'s ICRC kernel as one function) against `parse` then `Scalar`'s
//! `verify`.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failure, and bytes are built from small indices"
)]

use offload_rdma_wire::wire::OPCODES;
use offload_rdma_wire::{Auto, Frame, Icrc, Offsets, Opcode, Scalar, parse};
mod common;
use common::{emit_vec, engines, random_builder};
use offload_testkit::Rng;

/// An untagged frame of `opcode` with random headers and payload.
fn random_frame(rng: &mut Rng, opcode: Opcode) -> Vec<u8> {
    let mut b = random_builder(rng, opcode);
    b.ethernet.vlan = None;
    let len = if opcode.info().unwrap().payload {
        rng.below(300)
    } else {
        0
    };
    emit_vec(&b, &rng.bytes(len))
}

/// `frame` with an 802.1Q tag after the MAC addresses.
fn tagged(frame: &[u8]) -> Vec<u8> {
    let cut = frame.len().min(12);
    let mut t = frame[..cut].to_vec();
    t.extend_from_slice(&[0x81, 0x00, 0x20, 0x05]);
    t.extend_from_slice(&frame[cut..]);
    t
}

fn shifted(o: Offsets, by: usize) -> Offsets {
    Offsets {
        l3: o.l3 + by,
        l4: o.l4 + by,
        bth: o.bth + by,
        ext: o.ext + by,
        payload: o.payload + by,
        pad: o.pad + by,
        icrc: o.icrc + by,
        end: o.end + by,
    }
}

/// Everything a frame tells, but the VLAN tag and the offsets.
fn same_frame(a: &Frame<'_>, b: &Frame<'_>) -> bool {
    let (mut ea, mut eb) = (a.ethernet(), b.ethernet());
    ea.vlan = None;
    eb.vlan = None;
    ea == eb
        && a.ip() == b.ip()
        && a.udp() == b.udp()
        && a.bth() == b.bth()
        && a.ext() == b.ext()
        && a.info() == b.info()
        && a.payload() == b.payload()
        && a.pad() == b.pad()
        && a.icrc() == b.icrc()
        && a.icrc_covered() == b.icrc_covered()
        && a.trailer() == b.trailer()
        && a.udp_checksum_ok() == b.udp_checksum_ok()
}

/// The untagged frame against its tagged twin, and `parse_verified` against `parse` then
/// `verify`, on every backend.
fn check(frame: &[u8], engines: &[(&'static str, Auto)]) {
    // A frame whose own EtherType is a TPID is tagged already.
    if frame.len() >= 14 && matches!([frame[12], frame[13]], [0x81, 0x00] | [0x88, 0xA8]) {
        return;
    }
    let t = tagged(frame);
    match (parse(frame), parse(&t)) {
        (Ok(a), Ok(b)) => {
            assert_eq!(shifted(a.offsets(), 4), b.offsets(), "{frame:02x?}");
            assert!(same_frame(&a, &b), "{frame:02x?}");
        }
        (Err(_), Err(_)) => {}
        (a, b) => panic!("untagged {a:?}, tagged {b:?}: {frame:02x?}"),
    }
    for (name, e) in engines {
        for f in [frame, &t[..]] {
            assert_eq!(
                e.parse_verified(f),
                parse(f).and_then(|p| Scalar.verify(&p).map(|()| p)),
                "{name} {f:02x?}"
            );
        }
    }
}

#[test]
fn every_shape_parses_alike_with_and_without_a_tag() {
    let engines = engines();
    let mut rng = Rng::new(0x9A7E);
    let (step, reps, mutations) = if cfg!(miri) { (7, 1, 4) } else { (1, 12, 60) };
    for info in OPCODES.iter().flatten().step_by(step) {
        for _ in 0..reps {
            let frame = random_frame(&mut rng, info.opcode);
            // The layout the builder wrote.
            let l4 = if frame[12] == 0x86 { 14 + 40 } else { 14 + 20 };
            let pad = usize::from((frame[l4 + 9] >> 4) & 3);
            let icrc = frame.len() - 4;
            assert_eq!(
                parse(&frame).unwrap().offsets(),
                Offsets {
                    l3: 14,
                    l4,
                    bth: l4 + 8,
                    ext: l4 + 20,
                    payload: l4 + 20 + info.headers.size(),
                    pad: icrc - pad,
                    icrc,
                    end: frame.len(),
                },
                "{frame:02x?}"
            );
            check(&frame, &engines);
            // A trailer (Ethernet padding, an FCS).
            let mut long = frame.clone();
            let extra = 1 + rng.below(8);
            long.extend(rng.bytes(extra));
            check(&long, &engines);
            for _ in 0..mutations {
                let mut f = frame.clone();
                match rng.below(4) {
                    // A header byte (the first 90 bytes hold every field that is checked).
                    0 | 1 => {
                        for _ in 0..=rng.below(2) {
                            let at = rng.below(f.len().min(90));
                            f[at] = match rng.below(4) {
                                0 => 0,
                                1 => 0xFF,
                                2 => f[at] ^ (1 << rng.below(8)),
                                _ => rng.next_u64() as u8,
                            };
                        }
                    }
                    // A length field (IPv4 total, IPv6 payload, UDP) nudged by a little.
                    2 => {
                        let v6 = f[12] == 0x86;
                        let fields: &[usize] = if v6 { &[18, 58] } else { &[16, 38] };
                        let at = fields[rng.below(fields.len())];
                        let v = u16::from_be_bytes([f[at], f[at + 1]]);
                        let d = rng.below(17) as u16;
                        let v = if rng.below(2) == 0 {
                            v.wrapping_add(d)
                        } else {
                            v.wrapping_sub(d)
                        };
                        f[at..at + 2].copy_from_slice(&v.to_be_bytes());
                    }
                    // Truncated.
                    _ => {
                        let len = rng.below(f.len());
                        f.truncate(len);
                    }
                }
                check(&f, &engines);
            }
        }
    }
}
