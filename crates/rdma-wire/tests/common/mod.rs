//! Helpers shared by the integration tests: the backends to run, random frames, and the bits
//! the ICRC ignores.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "each test file uses the helpers it needs (the rest are unused there); a panic is \
              a failure, and random values are cut to the fields' widths"
)]

use offload_rdma_wire::wire::{
    AethRepr, AtomicAckEthRepr, AtomicEthRepr, BthRepr, DethRepr, EthernetRepr, Ext, ExtHeaders,
    ExtKind, ExtRepr, IethRepr, ImmDtRepr, IpRepr, Ipv4Repr, Ipv6Repr, RdEthRepr, RethRepr,
    UdpRepr, VlanTag, XrcEthRepr,
};
use offload_rdma_wire::{Auto, Backend, FrameBuilder, Opcode, Psn, Scalar};
use offload_testkit::{Rng, select_backends};

/// Every backend available here (printed; `OFFLOAD_REQUIRE_BACKENDS` enforced).
pub(crate) fn engines() -> Vec<(&'static str, Auto)> {
    select_backends(
        "offload-rdma-wire",
        Backend::ALL
            .into_iter()
            .map(|b| (b.name(), Auto::with_backend(b)))
            .collect(),
    )
}

/// A builder for `opcode` with random headers: IPv4 (with or without DF) or IPv6 to a random
/// address, every BTH field but the opcode and the pad count random (reserved bits too), an
/// 802.1Q tag half the time, a UDP checksum or none, and random ETHs for the opcode.
pub(crate) fn random_builder(rng: &mut Rng, opcode: Opcode) -> FrameBuilder {
    let info = opcode.info().unwrap();
    let mut addr = [0u8; 16];
    rng.fill(&mut addr);
    let ip = if rng.below(2) == 0 {
        IpRepr::Ipv4(Ipv4Repr {
            tos: rng.next_u64() as u8,
            ident: rng.next_u64() as u16,
            flags: rng.below(2) as u8 * 2,
            ttl: rng.next_u64() as u8,
            protocol: 0,
            src: [10, 0, 0, 1],
            dst: [addr[0], addr[1], addr[2], addr[3]],
            payload_len: 0,
        })
    } else {
        IpRepr::Ipv6(Ipv6Repr {
            traffic_class: rng.next_u64() as u8,
            flow_label: rng.next_u64() as u32 & 0xF_FFFF,
            next_header: 0,
            hop_limit: rng.next_u64() as u8,
            src: [0xFD; 16],
            dst: addr,
            payload_len: 0,
        })
    };
    let r = rng.next_u64();
    let mut bth = BthRepr::new(opcode, r as u32, Psn::new((r >> 32) as u32));
    bth.solicited = r & 1 != 0;
    bth.migreq = r & 2 != 0;
    bth.ack_req = r & 4 != 0;
    bth.fecn = r & 8 != 0;
    bth.becn = r & 16 != 0;
    bth.resv6a = (r >> 5) as u8 & 0x3F;
    bth.resv7 = (r >> 11) as u8 & 0x7F;
    bth.p_key = (r >> 18) as u16;
    FrameBuilder {
        ethernet: EthernetRepr {
            dst: [2, 0, 0, 0, 0, 2],
            src: [2, 0, 0, 0, 0, 1],
            vlan: (rng.below(2) == 0).then(|| VlanTag::new(rng.below(4096) as u16, 5)),
            ethertype: 0,
        },
        ip,
        udp: UdpRepr {
            src_port: 0xC000 | rng.next_u64() as u16,
            dst_port: 0,
            checksum: rng.below(2) as u16,
            payload_len: 0,
        },
        bth,
        ext: random_ext(rng, info.headers),
    }
}

/// The frame `b` builds around `payload` (by `Scalar`), exactly as long as it is.
pub(crate) fn emit_vec(b: &FrameBuilder, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8; b.buffer_len(payload.len()).unwrap()];
    let n = b.emit(&Scalar, payload, &mut frame).unwrap();
    assert_eq!(n, frame.len());
    frame
}

/// Byte offsets (from the IP header) and masks of the bits the ICRC ignores.
pub(crate) fn masked_bits(ipv6: bool) -> Vec<(usize, u8)> {
    if ipv6 {
        vec![
            (0, 0x0F),
            (1, 0xFF),
            (2, 0xFF),
            (3, 0xFF),
            (7, 0xFF),
            (46, 0xFF),
            (47, 0xFF),
            (52, 0xFF),
        ]
    } else {
        vec![
            (1, 0xFF),
            (8, 0xFF),
            (10, 0xFF),
            (11, 0xFF),
            (26, 0xFF),
            (27, 0xFF),
            (32, 0xFF),
        ]
    }
}

/// A full set of ETHs with random values for `headers`.
fn random_ext(rng: &mut Rng, headers: ExtHeaders) -> Ext {
    let mut ext = Ext::default();
    for kind in headers.iter() {
        let (a, b, c, d) = (
            rng.next_u64(),
            rng.next_u64(),
            rng.next_u64(),
            rng.next_u64(),
        );
        ext.set(match kind {
            ExtKind::RdEth => ExtRepr::RdEth(RdEthRepr {
                ee_context: a as u32 & 0xFF_FFFF,
            }),
            ExtKind::Deth => ExtRepr::Deth(DethRepr {
                q_key: a as u32,
                src_qp: b as u32 & 0xFF_FFFF,
            }),
            ExtKind::XrcEth => ExtRepr::XrcEth(XrcEthRepr {
                xrc_srq: a as u32 & 0xFF_FFFF,
            }),
            ExtKind::Reth => ExtRepr::Reth(RethRepr {
                va: a,
                r_key: b as u32,
                dma_len: c as u32,
            }),
            ExtKind::AtomicEth => ExtRepr::AtomicEth(AtomicEthRepr {
                va: a,
                r_key: b as u32,
                swap_add: c,
                compare: d,
            }),
            ExtKind::Aeth => ExtRepr::Aeth(AethRepr {
                syndrome: a as u8,
                msn: Psn::new(b as u32),
            }),
            ExtKind::AtomicAckEth => ExtRepr::AtomicAckEth(AtomicAckEthRepr {
                orig_remote_data: a,
            }),
            ExtKind::ImmDt => ExtRepr::ImmDt(ImmDtRepr { imm: a as u32 }),
            ExtKind::Ieth => ExtRepr::Ieth(IethRepr { r_key: a as u32 }),
            _ => ExtRepr::CnpPadding,
        });
    }
    ext
}
