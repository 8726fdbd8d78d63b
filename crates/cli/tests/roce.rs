//! `offload roce inspect` on captures built here with the rdma-wire `FrameBuilder`: every JSON
//! field against the builder's inputs, every pcap flavour, the table, `--strict`, and broken
//! captures; and the rdma-wire rows of `offload backends` and `offload bench`.

#![allow(
    clippy::unwrap_used,
    clippy::std_instead_of_core,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is a failure"
)]

#[path = "support/process.rs"]
mod process;

use std::path::Path;

use offload_rdma_wire::wire::{
    AethRepr, AtomicAckEthRepr, AtomicEthRepr, BthRepr, DethRepr, EthernetRepr, Ext, IethRepr,
    ImmDtRepr, IpRepr, Ipv4Repr, Ipv6Repr, Operation, RdEthRepr, RethRepr, Transport, UdpRepr,
    VlanTag, XrcEthRepr,
};
use offload_rdma_wire::{FrameBuilder, Opcode, Psn, Scalar};
use process::{assert_one_line_error, offload, scratch};
use serde_json::{Value, json};

/// What inspect must say about one frame of the capture.
enum Expect {
    /// A RoCE frame made by this builder with a payload of this length; whether its ICRC
    /// is intact.
    Roce {
        builder: Box<FrameBuilder>,
        payload_len: usize,
        icrc_ok: bool,
    },
    /// Not RoCE: counted and skipped.
    NotRoce,
    /// To UDP port 4791 but does not parse; the error contains this text.
    Malformed(&'static str),
}

/// One record of the capture.
struct Captured {
    bytes: Vec<u8>,
    /// The length on the wire (more than `bytes.len()` when the capture cut the frame).
    orig_len: usize,
    expect: Expect,
}

fn ethernet(vlan: Option<VlanTag>) -> EthernetRepr {
    EthernetRepr {
        dst: [0x02, 0, 0, 0, 0, 0x02],
        src: [0x02, 0, 0, 0, 0, 0x01],
        vlan,
        ethertype: 0,
    }
}

fn ipv4() -> IpRepr {
    IpRepr::Ipv4(Ipv4Repr {
        tos: 0x02,
        ident: 0x1234,
        flags: 2,
        ttl: 64,
        protocol: 0,
        src: [192, 168, 1, 1],
        dst: [192, 168, 1, 2],
        payload_len: 0,
    })
}

fn ipv6() -> IpRepr {
    let mut src = [0u8; 16];
    src[0] = 0xfd;
    src[15] = 1;
    let mut dst = src;
    dst[15] = 2;
    IpRepr::Ipv6(Ipv6Repr {
        traffic_class: 0x68,
        flow_label: 0x12345,
        next_header: 0,
        hop_limit: 64,
        src,
        dst,
        payload_len: 0,
    })
}

fn op(transport: Transport, operation: Operation) -> Opcode {
    Opcode::of(transport, operation).unwrap()
}

/// A builder with a default BTH for `opcode` (P_Key 0xFFFF, no flags), then `bth` applied.
fn builder(
    ethernet: EthernetRepr,
    ip: IpRepr,
    udp_checksum: bool,
    bth: BthRepr,
    ext: Ext,
) -> FrameBuilder {
    FrameBuilder {
        ethernet,
        ip,
        udp: UdpRepr {
            src_port: 0xC001,
            dst_port: 0,
            checksum: u16::from(udp_checksum),
            payload_len: 0,
        },
        bth,
        ext,
    }
}

fn emit(b: &FrameBuilder, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; b.buffer_len(payload.len()).unwrap()];
    let n = b.emit(&Scalar, payload, &mut buf).unwrap();
    assert_eq!(n, buf.len());
    buf
}

fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A RoCE frame with an intact ICRC.
fn good(b: FrameBuilder, data: &[u8]) -> Captured {
    let bytes = emit(&b, data);
    Captured {
        orig_len: bytes.len(),
        bytes,
        expect: Expect::Roce {
            builder: Box::new(b),
            payload_len: data.len(),
            icrc_ok: true,
        },
    }
}

/// The test capture: RoCE over IPv4 and IPv6, with and without a VLAN tag, every extended
/// header, a CNP, a corrupted payload byte, Ethernet padding, non-RoCE frames and malformed
/// RoCE frames.
fn capture() -> Vec<Captured> {
    let mut frames = Vec::new();

    // 1: IPv4 RC SEND Only, 16 bytes, SE and AckReq (the contract's example BTH).
    let mut bth = BthRepr::new(Opcode::RC_SEND_ONLY, 0x123, Psn::new(1));
    bth.solicited = true;
    bth.ack_req = true;
    frames.push(good(
        builder(ethernet(None), ipv4(), false, bth, Ext::default()),
        &payload(16, 1),
    ));

    // 2: IPv6 with a VLAN tag, RC RDMA WRITE Only with RETH, 5 bytes (pad 3), PSN 0xFFFFFF,
    // MigReq, FECN, BECN, a non-default P_Key, a UDP checksum.
    let mut bth = BthRepr::new(Opcode::RC_WRITE_ONLY, 0x00AB_CDEF, Psn::MAX);
    bth.migreq = true;
    bth.fecn = true;
    bth.becn = true;
    bth.p_key = 0x8001;
    let ext = Ext {
        reth: Some(RethRepr {
            va: 0x1122_3344_5566_7788,
            r_key: 0xABCD_EF01,
            dma_len: 5,
        }),
        ..Ext::default()
    };
    let write_v6 = builder(ethernet(Some(VlanTag::new(100, 3))), ipv6(), true, bth, ext);
    frames.push(good(write_v6, b"hello"));

    // 3: not RoCE: the same kind of frame to UDP port 53.
    let mut dns = emit(
        &builder(
            ethernet(None),
            ipv4(),
            false,
            BthRepr::new(Opcode::RC_SEND_ONLY, 1, Psn::new(0)),
            Ext::default(),
        ),
        b"query",
    );
    dns[36..38].copy_from_slice(&53u16.to_be_bytes());
    frames.push(Captured {
        orig_len: dns.len(),
        bytes: dns,
        expect: Expect::NotRoce,
    });

    // 4: IPv4 RC Acknowledge with AETH (ACK, credit code 5), MSN 7.
    let ext = Ext {
        aeth: Some(AethRepr {
            syndrome: 0x05,
            msn: Psn::new(7),
        }),
        ..Ext::default()
    };
    frames.push(good(
        builder(
            ethernet(None),
            ipv4(),
            false,
            BthRepr::new(Opcode::RC_ACK, 0x456, Psn::new(41)),
            ext,
        ),
        b"",
    ));

    // 5: IPv4 RC SEND Last with no payload: 58 bytes, so the wire pads it to 60 (with
    // non-zero bytes here, which must not count as payload).
    let b = builder(
        ethernet(None),
        ipv4(),
        false,
        BthRepr::new(op(Transport::Rc, Operation::SendLast), 0x789, Psn::new(9)),
        Ext::default(),
    );
    let mut padded = emit(&b, b"");
    assert_eq!(padded.len(), 58);
    padded.extend_from_slice(&[0xEE, 0xEE]);
    frames.push(Captured {
        orig_len: padded.len(),
        bytes: padded,
        expect: Expect::Roce {
            builder: Box::new(b),
            payload_len: 0,
            icrc_ok: true,
        },
    });

    // 6: IPv6 UD SEND Only with Immediate: DETH and ImmDt, 100 bytes.
    let ext = Ext {
        deth: Some(DethRepr {
            q_key: 0x1111_2222,
            src_qp: 0x00_0ABC,
        }),
        immdt: Some(ImmDtRepr { imm: 0xDEAD_BEEF }),
        ..Ext::default()
    };
    frames.push(good(
        builder(
            ethernet(None),
            ipv6(),
            false,
            BthRepr::new(op(Transport::Ud, Operation::SendOnlyImm), 1, Psn::new(100)),
            ext,
        ),
        &payload(100, 6),
    ));

    // 7: a CNP over IPv4 with a VLAN tag (BECN set, its 16 reserved bytes).
    let mut bth = BthRepr::new(Opcode::CNP, 0x42, Psn::new(0));
    bth.becn = true;
    let ext = Ext {
        cnp_padding: true,
        ..Ext::default()
    };
    frames.push(good(
        builder(ethernet(Some(VlanTag::new(5, 6))), ipv4(), false, bth, ext),
        b"",
    ));

    // 8: RC SEND Only with one payload byte flipped after the ICRC was computed.
    let b = builder(
        ethernet(None),
        ipv4(),
        false,
        BthRepr::new(Opcode::RC_SEND_ONLY, 0x123, Psn::new(2)),
        Ext::default(),
    );
    let mut corrupt = emit(&b, &payload(32, 8));
    corrupt[14 + 20 + 8 + 12 + 10] ^= 0x01;
    frames.push(Captured {
        orig_len: corrupt.len(),
        bytes: corrupt,
        expect: Expect::Roce {
            builder: Box::new(b),
            payload_len: 32,
            icrc_ok: false,
        },
    });

    // 9: RC CmpSwap with AtomicETH.
    let ext = Ext {
        atomiceth: Some(AtomicEthRepr {
            va: 0xFFFF_0000_1234_5678,
            r_key: 0x77,
            swap_add: 0x0102_0304_0506_0708,
            compare: 0x8070_6050_4030_2010,
        }),
        ..Ext::default()
    };
    frames.push(good(
        builder(
            ethernet(None),
            ipv4(),
            false,
            BthRepr::new(op(Transport::Rc, Operation::CompareSwap), 9, Psn::new(3)),
            ext,
        ),
        b"",
    ));

    // 10: RC ATOMIC Acknowledge: AETH and AtomicAckETH (over IPv6).
    let ext = Ext {
        aeth: Some(AethRepr {
            syndrome: 0x1F,
            msn: Psn::new(0x00FF_FFFF),
        }),
        atomicacketh: Some(AtomicAckEthRepr {
            orig_remote_data: 0xCAFE_F00D_0000_0001,
        }),
        ..Ext::default()
    };
    frames.push(good(
        builder(
            ethernet(None),
            ipv6(),
            false,
            BthRepr::new(
                op(Transport::Rc, Operation::AtomicAcknowledge),
                10,
                Psn::new(3),
            ),
            ext,
        ),
        b"",
    ));

    // 11: RC SEND Only with Invalidate: IETH, 7 bytes (pad 1).
    let ext = Ext {
        ieth: Some(IethRepr { r_key: 0x5555_AAAA }),
        ..Ext::default()
    };
    frames.push(good(
        builder(
            ethernet(None),
            ipv4(),
            false,
            BthRepr::new(
                op(Transport::Rc, Operation::SendOnlyInvalidate),
                11,
                Psn::new(4),
            ),
            ext,
        ),
        &payload(7, 11),
    ));

    // 12: XRC SEND Only: XRCETH, 2 bytes (pad 2).
    let ext = Ext {
        xrceth: Some(XrcEthRepr { xrc_srq: 0x00_1234 }),
        ..Ext::default()
    };
    frames.push(good(
        builder(
            ethernet(None),
            ipv4(),
            false,
            BthRepr::new(op(Transport::Xrc, Operation::SendOnly), 12, Psn::new(5)),
            ext,
        ),
        &payload(2, 12),
    ));

    // 13: RD SEND Only: RDETH and DETH.
    let ext = Ext {
        rdeth: Some(RdEthRepr {
            ee_context: 0x00_4321,
        }),
        deth: Some(DethRepr {
            q_key: 0x8000_0000,
            src_qp: 0x00_0001,
        }),
        ..Ext::default()
    };
    frames.push(good(
        builder(
            ethernet(None),
            ipv4(),
            false,
            BthRepr::new(op(Transport::Rd, Operation::SendOnly), 13, Psn::new(6)),
            ext,
        ),
        &payload(64, 13),
    ));

    // 14: malformed: a vendor opcode (0xC0) to port 4791.
    let mut vendor = emit(
        &builder(
            ethernet(None),
            ipv4(),
            false,
            BthRepr::new(Opcode::RC_SEND_ONLY, 14, Psn::new(7)),
            Ext::default(),
        ),
        b"abcd",
    );
    vendor[14 + 20 + 8] = 0xC0;
    frames.push(Captured {
        orig_len: vendor.len(),
        bytes: vendor,
        expect: Expect::Malformed("opcode 0xc0"),
    });

    // 15: malformed: the capture kept only the first 60 bytes of a write.
    let cut = emit(&write_v6, &payload(200, 15));
    frames.push(Captured {
        orig_len: cut.len(),
        bytes: cut[..80].to_vec(),
        expect: Expect::Malformed("the capture kept 80 of the frame's 298 bytes"),
    });

    // 16: not RoCE: an ARP request.
    let mut arp = vec![0xFF; 6];
    arp.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06]);
    arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    arp.resize(60, 0);
    frames.push(Captured {
        orig_len: arp.len(),
        bytes: arp,
        expect: Expect::NotRoce,
    });

    frames
}

/// A classic pcap of `frames` (LINKTYPE_ETHERNET), in either byte order and time unit.
fn pcap(frames: &[Captured], big_endian: bool, nanos: bool) -> Vec<u8> {
    let w32 = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let w16 = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    out.extend_from_slice(&w32(if nanos { 0xA1B2_3C4D } else { 0xA1B2_C3D4 }));
    out.extend_from_slice(&w16(2));
    out.extend_from_slice(&w16(4));
    out.extend_from_slice(&w32(0)); // thiszone
    out.extend_from_slice(&w32(0)); // sigfigs
    out.extend_from_slice(&w32(262_144)); // snaplen
    out.extend_from_slice(&w32(1)); // Ethernet
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&w32(1_700_000_000 + i as u32));
        out.extend_from_slice(&w32(if nanos { 123_456_789 } else { 123_456 }));
        out.extend_from_slice(&w32(f.bytes.len() as u32));
        out.extend_from_slice(&w32(f.orig_len as u32));
        out.extend_from_slice(&f.bytes);
    }
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_owned()
}

/// The contract's object for a RoCE frame, from the builder's inputs alone (the extended
/// headers in wire order; the CNP's reserved bytes are not an extended header).
fn expected_object(frame: usize, b: &FrameBuilder, payload_len: usize, icrc_ok: bool) -> Value {
    let bth = &b.bth;
    let bit = |on: bool| u8::from(on);
    let e = &b.ext;
    let mut ext = Vec::new();
    if let Some(r) = e.rdeth {
        ext.push(json!({"hdr": "RDETH", "ee_context": r.ee_context}));
    }
    if let Some(r) = e.deth {
        ext.push(json!({"hdr": "DETH", "q_key": r.q_key, "src_qp": r.src_qp}));
    }
    if let Some(r) = e.xrceth {
        ext.push(json!({"hdr": "XRCETH", "xrc_srq": r.xrc_srq}));
    }
    if let Some(r) = e.reth {
        ext.push(json!({"hdr": "RETH", "va": r.va, "r_key": r.r_key, "dma_len": r.dma_len}));
    }
    if let Some(r) = e.atomiceth {
        ext.push(json!({
            "hdr": "AtomicETH", "va": r.va, "r_key": r.r_key, "swap_add": r.swap_add,
            "compare": r.compare,
        }));
    }
    if let Some(r) = e.aeth {
        ext.push(json!({"hdr": "AETH", "syndrome": r.syndrome, "msn": r.msn.value()}));
    }
    if let Some(r) = e.atomicacketh {
        ext.push(json!({"hdr": "AtomicAckETH", "orig_remote_data": r.orig_remote_data}));
    }
    if let Some(r) = e.immdt {
        ext.push(json!({"hdr": "ImmDt", "imm": r.imm}));
    }
    if let Some(r) = e.ieth {
        ext.push(json!({"hdr": "IETH", "r_key": r.r_key}));
    }
    json!({
        "frame": frame,
        "bth": {
            "opcode": bth.opcode.0, "se": bit(bth.solicited), "migreq": bit(bth.migreq),
            "pad_count": payload_len.wrapping_neg() & 3, "tver": 0, "p_key": bth.p_key,
            "fecn": bit(bth.fecn), "becn": bit(bth.becn), "dest_qp": bth.dest_qp,
            "ack_req": bit(bth.ack_req), "psn": bth.psn.value(),
        },
        "ext": ext,
        "payload_len": payload_len,
        "icrc_ok": icrc_ok,
    })
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

#[test]
fn json_matches_the_builder_inputs() {
    let dir = scratch("roce-json");
    let frames = capture();
    let file = write(&dir, "capture.pcap", &pcap(&frames, false, false));
    let out = offload(&["roce", "inspect", "--json", &file]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let got = got.as_array().unwrap();

    let want: Vec<Value> = frames
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match &f.expect {
            Expect::Roce {
                builder,
                payload_len,
                icrc_ok,
            } => Some(expected_object(i + 1, builder, *payload_len, *icrc_ok)),
            _ => None,
        })
        .collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
        // The keys come in the contract's order.
        let keys: Vec<&str> = g.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["frame", "bth", "ext", "payload_len", "icrc_ok"]);
        let bth: Vec<&str> = g["bth"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            bth,
            [
                "opcode",
                "se",
                "migreq",
                "pad_count",
                "tver",
                "p_key",
                "fecn",
                "becn",
                "dest_qp",
                "ack_req",
                "psn"
            ]
        );
    }
    // Spot checks in plain numbers, independent of the expectation builder.
    assert_eq!(got[0]["frame"], 1);
    assert_eq!(got[0]["bth"]["opcode"], 4);
    assert_eq!(got[0]["bth"]["dest_qp"], 291);
    assert_eq!(got[1]["bth"]["psn"], 0x00FF_FFFF);
    assert_eq!(got[1]["bth"]["pad_count"], 3);
    assert_eq!(got[1]["payload_len"], 5);
    assert_eq!(got[1]["ext"][0]["va"], 0x1122_3344_5566_7788u64);
    assert_eq!(
        got[2]["frame"], 4,
        "frame numbers count the non-RoCE frame 3"
    );
    assert_eq!(got[3]["payload_len"], 0, "Ethernet padding is not payload");
    let cnp = got.iter().find(|o| o["bth"]["opcode"] == 0x81).unwrap();
    assert_eq!(cnp["ext"], json!([]));
    assert_eq!(cnp["icrc_ok"], true);
    assert_eq!(
        got.iter().filter(|o| o["icrc_ok"] == false).count(),
        1,
        "only the corrupted frame fails"
    );

    // The malformed frames are left out of the array and named on stderr, one line each.
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    let malformed: Vec<(usize, &str)> = frames
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f.expect {
            Expect::Malformed(text) => Some((i + 1, text)),
            _ => None,
        })
        .collect();
    assert_eq!(lines.len(), malformed.len(), "stderr: {err}");
    for (line, (frame, text)) in lines.iter().zip(&malformed) {
        assert!(
            line.starts_with(&format!("offload: frame {frame}: malformed RoCE v2: ")),
            "{line}"
        );
        assert!(line.contains(text), "{line} should mention {text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_pcap_flavour_reads_the_same() {
    let dir = scratch("roce-flavours");
    let frames = capture();
    let mut outputs = Vec::new();
    for (big_endian, nanos) in [(false, false), (true, false), (false, true), (true, true)] {
        let file = write(
            &dir,
            &format!("c-{big_endian}-{nanos}.pcap"),
            &pcap(&frames, big_endian, nanos),
        );
        for args in [&["--json"][..], &[][..], &["--backend", "scalar"][..]] {
            let mut argv = vec!["roce", "inspect"];
            argv.extend_from_slice(args);
            argv.push(&file);
            let out = offload(&argv);
            assert!(out.status.success(), "{}", stderr(&out));
            outputs.push((args.len(), stdout(&out)));
        }
    }
    for (n, text) in &outputs[3..] {
        let first = outputs.iter().find(|(m, _)| m == n).unwrap();
        assert_eq!(&first.1, text);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn table_lists_each_roce_frame_and_a_summary() {
    let dir = scratch("roce-table");
    let frames = capture();
    let file = write(&dir, "capture.pcap", &pcap(&frames, false, false));
    let out = offload(&["roce", "inspect", &file]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stderr.is_empty());
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    // Header, one line per RoCE or malformed frame, summary.
    let shown = frames
        .iter()
        .filter(|f| !matches!(f.expect, Expect::NotRoce))
        .count();
    assert_eq!(lines.len(), 1 + shown + 1, "{text}");
    assert!(lines[0].trim_start().starts_with("frame"));
    let line = |frame: usize| {
        lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(&frame.to_string()))
            .copied()
            .unwrap_or_else(|| panic!("no line for frame {frame}:\n{text}"))
    };
    let first = line(1);
    for want in ["0x04 RC SEND Only", "0x123", "SE,A", " 16 ", " ok "] {
        assert!(first.contains(want), "{first} lacks {want}");
    }
    let write_line = line(2);
    for want in [
        "RC RDMA WRITE Only",
        "0xabcdef",
        "16777215",
        " M,FECN,BECN ",
        "RETH va=0x1122334455667788 r_key=0xabcdef01 dma_len=5",
    ] {
        assert!(write_line.contains(want), "{write_line} lacks {want}");
    }
    assert!(line(4).contains("AETH ACK credits=6 msn=7"), "{}", line(4));
    assert!(line(6).contains("DETH q_key=0x11112222 src_qp=0xabc; ImmDt imm=0xdeadbeef"));
    assert!(line(7).contains("0x81 CNP"), "{}", line(7));
    let bad = line(8);
    assert!(
        bad.contains(" BAD ") && bad.contains("[ICRC stored 0x"),
        "{bad}"
    );
    assert!(line(14).contains("malformed RoCE v2 (UDP port 4791)"));
    assert!(line(14).contains("opcode 0xc0"));
    assert!(line(15).contains("the capture kept 80 of the frame's 298 bytes"));
    assert_eq!(
        lines.last().copied(),
        Some("16 frames: 12 RoCE v2, 2 not RoCE (skipped), 2 malformed RoCE, 1 bad ICRC")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn strict_fails_on_a_bad_icrc_and_only_then() {
    let dir = scratch("roce-strict");
    let frames = capture();
    let all = write(&dir, "all.pcap", &pcap(&frames, false, false));

    // Without --strict: exit 0 whatever the verdicts.
    assert!(
        offload(&["roce", "inspect", "--json", &all])
            .status
            .success()
    );
    assert!(offload(&["roce", "inspect", &all]).status.success());

    // With --strict: exit 1, the whole report still printed, one line about it on stderr.
    for mode in [&["--json"][..], &[][..]] {
        let mut argv = vec!["roce", "inspect", "--strict"];
        argv.extend_from_slice(mode);
        argv.push(&all);
        let out = offload(&argv);
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        let last = err.lines().last().unwrap();
        assert!(
            last.starts_with("offload: --strict: 3 of 14 RoCE frames"),
            "{err}"
        );
        assert!(!out.stdout.is_empty());
    }

    // Only the frame with the flipped byte: --strict fails.
    let corrupt: Vec<Captured> = capture()
        .into_iter()
        .filter(|f| matches!(f.expect, Expect::Roce { icrc_ok: false, .. }))
        .collect();
    assert_eq!(corrupt.len(), 1);
    let one_bad = write(&dir, "bad.pcap", &pcap(&corrupt, false, false));
    let out = offload(&["roce", "inspect", "--strict", "--json", &one_bad]);
    assert_eq!(out.status.code(), Some(1));
    assert_one_line_error(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["icrc_ok"], false);

    // Only good frames (and non-RoCE ones): --strict passes, nothing on stderr.
    let good: Vec<Captured> = capture()
        .into_iter()
        .filter(|f| {
            matches!(
                f.expect,
                Expect::NotRoce | Expect::Roce { icrc_ok: true, .. }
            )
        })
        .collect();
    let good = write(&dir, "good.pcap", &pcap(&good, true, true));
    let out = offload(&["roce", "inspect", "--strict", "--json", &good]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stderr.is_empty());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 11);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_empty_capture_is_an_empty_report() {
    let dir = scratch("roce-empty");
    let file = write(&dir, "empty.pcap", &pcap(&[], false, false));
    let out = offload(&["roce", "inspect", "--json", "--strict", &file]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "[]\n");
    let out = offload(&["roce", "inspect", &file]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).lines().last(),
        Some("0 frames: 0 RoCE v2, 0 not RoCE (skipped), 0 malformed RoCE, 0 bad ICRC")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn broken_captures_are_one_line_errors() {
    let dir = scratch("roce-broken");
    let whole = pcap(&capture(), false, false);
    let two = pcap(&capture()[..2], false, false);
    let first_end = 24 + 16 + capture()[0].bytes.len();
    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
        // The last record's data cut short.
        (
            "cut-data.pcap",
            whole[..whole.len() - 10].to_vec(),
            "truncated pcap: frame 16 has 50 of its 60 captured bytes",
        ),
        // A record header cut short.
        (
            "cut-header.pcap",
            two[..first_end + 5].to_vec(),
            "truncated pcap: the header of frame 2 has 5 of 16 bytes",
        ),
        ("short.pcap", whole[..10].to_vec(), "not a pcap file"),
        ("garbage.pcap", vec![0x42; 100], "not a pcap file"),
        (
            "ng.pcap",
            [&[0x0A, 0x0D, 0x0D, 0x0A][..], &[0; 60]].concat(),
            "pcapng",
        ),
    ];
    let mut raw = whole.clone();
    raw[20..24].copy_from_slice(&101u32.to_le_bytes());
    cases.push(("raw.pcap", raw, "link type 101"));
    let mut huge = whole.clone();
    huge[24 + 8..24 + 12].copy_from_slice(&0x4000_0000u32.to_le_bytes());
    cases.push(("huge.pcap", huge, "corrupt pcap: frame 1"));

    for (name, bytes, message) in &cases {
        let file = write(&dir, name, bytes);
        for mode in ["--json", "--strict"] {
            let out = offload(&["roce", "inspect", mode, &file]);
            assert_one_line_error(&out);
            assert!(out.stdout.is_empty(), "{name}: nothing on stdout");
            assert!(stderr(&out).contains(message), "{name}: {}", stderr(&out));
        }
    }
    let missing = dir.join("missing.pcap");
    assert_one_line_error(&offload(&["roce", "inspect", missing.to_str().unwrap()]));
    let good = write(&dir, "good.pcap", &whole);
    assert_one_line_error(&offload(&["roce", "inspect", "--backend", "sse9", &good]));
    assert_one_line_error(&offload(&["roce", "inspect"]));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn backends_and_bench_have_rdma_wire_rows() {
    let out = offload(&["backends", "--json"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<&Value> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["engine"] == "rdma-wire")
        .collect();
    assert!(
        rows.iter()
            .any(|r| r["backend"] == "scalar" && r["available"] == true)
    );
    assert_eq!(rows.iter().filter(|r| r["chosen"] == true).count(), 1);

    let out = offload(&[
        "bench",
        "--engine",
        "rdma-wire",
        "--seconds",
        "0.01",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    let available = rows
        .iter()
        .filter(|r| r["operation"] == "icrc")
        .map(|r| r["backend"].as_str().unwrap())
        .collect::<Vec<_>>();
    assert!(available.contains(&"scalar"));
    for backend in available {
        let of = |op: &str| -> Vec<(u64, u64)> {
            rows.iter()
                .filter(|r| r["backend"] == backend && r["operation"] == op)
                .map(|r| {
                    (
                        r["size"].as_u64().unwrap(),
                        r["bytes_per_call"].as_u64().unwrap(),
                    )
                })
                .collect()
        };
        // Payload sizes label the rows; the throughput counts the whole frame
        // (Ethernet 14 + IPv4 20 + UDP 8 + BTH 12 + RETH 16 + ICRC 4 = 74 bytes more).
        assert_eq!(
            of("parse+icrc verify"),
            [(64, 138), (1024, 1098), (4096, 4170)]
        );
        assert_eq!(of("icrc"), [(4096, 4170)]);
    }
    for r in rows {
        assert!(r["gbytes_per_s_per_core"].as_f64().unwrap() > 0.0);
    }
}
