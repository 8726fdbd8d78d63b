#!/usr/bin/env python3
"""Generates tests/vectors/scapy_frames.rs: RoCE v2 frames built by scapy, whose
scapy.contrib.roce computes the ICRC independently of this crate.

Run from the crate directory (needs `pip install scapy`; tested with scapy 2.8.0):

    python3 tests/gen/gen_vectors.py > tests/vectors/scapy_frames.rs

The extended transport headers are packed here with `struct` from the layouts in the IBA
tables (scapy has no classes for most of them); scapy builds Ethernet, 802.1Q, IP/IPv6,
UDP and the BTH, and computes the IPv4 checksum, the UDP checksum (when asked) and the
ICRC. The opcode table below is restated from the IBA opcode tables on purpose, so that
the crate's own table is checked against a second, independent statement of it.
"""

import struct
import sys

from scapy.all import IP, UDP, Dot1Q, Ether, IPv6, Raw
from scapy.contrib.roce import BTH
import scapy

# Header kinds and their packing (fields in wire order; "r8" = a reserved byte).
LAYOUT = {
    "RDETH": [("r8", 1), ("ee_context", 3)],
    "DETH": [("q_key", 4), ("r8", 1), ("src_qp", 3)],
    "XRCETH": [("r8", 1), ("xrc_srq", 3)],
    "RETH": [("va", 8), ("r_key", 4), ("dma_len", 4)],
    "AtomicETH": [("va", 8), ("r_key", 4), ("swap_add", 8), ("compare", 8)],
    "AETH": [("syndrome", 1), ("msn", 3)],
    "AtomicAckETH": [("orig_remote_data", 8)],
    "ImmDt": [("imm", 4)],
    "IETH": [("r_key", 4)],
}

# Operation code -> (name, RC headers, payload allowed, position).
OPS = {
    0x00: ("SEND_FIRST", [], True, "F"),
    0x01: ("SEND_MIDDLE", [], True, "M"),
    0x02: ("SEND_LAST", [], True, "L"),
    0x03: ("SEND_LAST_IMM", ["ImmDt"], True, "L"),
    0x04: ("SEND_ONLY", [], True, "O"),
    0x05: ("SEND_ONLY_IMM", ["ImmDt"], True, "O"),
    0x06: ("WRITE_FIRST", ["RETH"], True, "F"),
    0x07: ("WRITE_MIDDLE", [], True, "M"),
    0x08: ("WRITE_LAST", [], True, "L"),
    0x09: ("WRITE_LAST_IMM", ["ImmDt"], True, "L"),
    0x0A: ("WRITE_ONLY", ["RETH"], True, "O"),
    0x0B: ("WRITE_ONLY_IMM", ["RETH", "ImmDt"], True, "O"),
    0x0C: ("READ_REQUEST", ["RETH"], False, "O"),
    0x0D: ("READ_RESPONSE_FIRST", ["AETH"], True, "F"),
    0x0E: ("READ_RESPONSE_MIDDLE", [], True, "M"),
    0x0F: ("READ_RESPONSE_LAST", ["AETH"], True, "L"),
    0x10: ("READ_RESPONSE_ONLY", ["AETH"], True, "O"),
    0x11: ("ACKNOWLEDGE", ["AETH"], False, "O"),
    0x12: ("ATOMIC_ACKNOWLEDGE", ["AETH", "AtomicAckETH"], False, "O"),
    0x13: ("COMPARE_SWAP", ["AtomicETH"], False, "O"),
    0x14: ("FETCH_ADD", ["AtomicETH"], False, "O"),
    0x15: ("RESYNC", [], False, "O"),
    0x16: ("SEND_LAST_INVALIDATE", ["IETH"], True, "L"),
    0x17: ("SEND_ONLY_INVALIDATE", ["IETH"], True, "O"),
}
RESPONSES = range(0x0D, 0x13)


def opcodes():
    """Every defined RoCE v2 opcode: (byte, transport, op name, headers, payload, pos)."""
    out = []
    for op, (name, hdrs, pay, pos) in OPS.items():
        if op <= 0x14 or op in (0x16, 0x17):
            out.append((op, "RC", name, hdrs, pay, pos))
        if op <= 0x0B:
            out.append((0x20 | op, "UC", name, hdrs, pay, pos))
        if op <= 0x15:
            pre = ["RDETH"] if op in RESPONSES else ["RDETH", "DETH"]
            out.append((0x40 | op, "RD", name, pre + hdrs, pay, pos))
        if op in (0x04, 0x05):
            out.append((0x60 | op, "UD", name, ["DETH"] + hdrs, pay, pos))
        if op <= 0x14 or op in (0x16, 0x17):
            pre = [] if op in RESPONSES else ["XRCETH"]
            out.append((0xA0 | op, "XRC", name, pre + hdrs, pay, pos))
    return sorted(out)


def field_values(kind, seed):
    """Deterministic, non-trivial field values for one header."""
    vals = {}
    for i, (name, size) in enumerate(LAYOUT[kind]):
        if name == "r8":
            continue
        v = (seed * 0x9E3779B97F4A7C15 + i * 0x1F123BB5) & ((1 << (8 * size)) - 1)
        vals[name] = v
    if kind == "AETH":
        # Cycle through ACK with credits, ACK "invalid", RNR NAK and NAK codes.
        vals["syndrome"] = [0x00, 0x05, 0x1F, 0x2E, 0x60, 0x61, 0x62, 0x63, 0x64][seed % 9]
    return vals


def pack(kind, vals):
    out = b""
    for name, size in LAYOUT[kind]:
        v = 0 if name == "r8" else vals[name]
        out += v.to_bytes(size, "big")
    return out


def frame(opcode, headers, payload, psn, ipv6, vlan, seed, udp_csum=False, **bth_extra):
    ext_vals = [(k, field_values(k, seed + i)) for i, k in enumerate(headers)]
    ext = b"".join(pack(k, v) for k, v in ext_vals)
    pad = (-len(payload)) % 4
    l2 = Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
    if vlan is not None:
        l2 = l2 / Dot1Q(vlan=vlan, prio=3)
    if ipv6:
        l3 = IPv6(src="fd00::1", dst="fd00::2", tc=0x68, fl=0x12345 ^ seed, hlim=64)
    else:
        l3 = IP(src="192.168.1.1", dst="192.168.1.2", tos=0x6A, ttl=64, id=seed & 0xFFFF,
                flags="DF")
    udp = UDP(sport=0xC000 | (seed * 37 & 0x3FFF), dport=4791)
    if not udp_csum:
        udp.chksum = 0
    bth = BTH(opcode=opcode, padcount=pad, pkey=0xFFFF, dqpn=(0x10203 * seed) & 0xFFFFFF,
              psn=psn, ackreq=seed & 1, solicited=(seed >> 1) & 1, **bth_extra)
    pkt = l2 / l3 / udp / bth / Raw(ext + payload + bytes(pad))
    return bytes(pkt), ext_vals


def rust_bytes(b):
    lines = []
    for i in range(0, len(b), 16):
        lines.append("        " + " ".join(f"0x{x:02x}," for x in b[i:i + 16]))
    return "\n".join(lines)


def emit(vectors):
    w = sys.stdout.write
    w("// @generated by tests/gen/gen_vectors.py with scapy " + scapy.__version__ + ".\n")
    w("// Do not edit: regenerate instead.\n\n")
    w("/// One scapy-built frame and what it holds.\n")
    w("pub struct Vector {\n")
    w("    pub name: &'static str,\n    pub frame: &'static [u8],\n")
    w("    pub ipv6: bool,\n    pub vlan: Option<u16>,\n    pub opcode: u8,\n")
    w("    pub dest_qp: u32,\n    pub psn: u32,\n    pub pad: u8,\n")
    w("    pub payload: &'static [u8],\n")
    w("    /// (header name, field values in the order of the design's JSON keys)\n")
    w("    pub ext: &'static [(&'static str, &'static [u64])],\n")
    w("    /// The ICRC scapy computed (the last 4 bytes, read little-endian).\n")
    w("    pub icrc: u32,\n}\n\n")
    w("pub const VECTORS: &[Vector] = &[\n")
    for v in vectors:
        w("    Vector {\n")
        w(f"        name: \"{v['name']}\",\n")
        w("        frame: &[\n" + rust_bytes(v["frame"]) + "\n        ],\n")
        w(f"        ipv6: {str(v['ipv6']).lower()},\n")
        w(f"        vlan: {'None' if v['vlan'] is None else 'Some(' + str(v['vlan']) + ')'},\n")
        w(f"        opcode: 0x{v['opcode']:02x},\n")
        w(f"        dest_qp: 0x{v['dest_qp']:06x},\n")
        w(f"        psn: 0x{v['psn']:06x},\n")
        w(f"        pad: {v['pad']},\n")
        w("        payload: &[" + ", ".join(f"0x{x:02x}" for x in v["payload"]) + "],\n")
        ext = []
        for kind, vals in v["ext"]:
            nums = ", ".join(f"0x{vals[n]:x}" for n, _ in LAYOUT[kind] if n != "r8")
            ext.append(f"(\"{kind}\", &[{nums}])")
        w("        ext: &[" + ", ".join(ext) + "],\n")
        w(f"        icrc: 0x{v['icrc']:08x},\n")
        w("    },\n")
    w("];\n")


def main():
    vectors = []
    seed = 1
    psns = [0, 1, 0xFFFFFF, 0x7FFFFF, 0x800000, 0x123456]
    for i, (op, transport, name, headers, pay, pos) in enumerate(opcodes()):
        # Two shapes per opcode: IPv4 and IPv6, alternating VLAN, pad 0..3 where allowed.
        for ipv6 in (False, True):
            vlan = None if (i + ipv6) % 2 == 0 else 100 + i
            if not pay:
                plen = 0
            elif pos in "FM":
                plen = 16 * (1 + i % 3)  # a multiple of 4: pad 0
            else:
                plen = 4 * (1 + i % 4) + (seed % 4)  # pads 0..3
            payload = bytes((seed * 7 + k) & 0xFF for k in range(plen))
            psn = psns[seed % len(psns)]
            data, ext_vals = frame(op, headers, payload, psn, ipv6, vlan, seed,
                                   udp_csum=ipv6)
            vectors.append(dict(
                name=f"{transport}_{name}_{'v6' if ipv6 else 'v4'}"
                     f"{'_vlan' if vlan is not None else ''}",
                frame=data, ipv6=ipv6, vlan=vlan, opcode=op,
                dest_qp=(0x10203 * seed) & 0xFFFFFF, psn=psn, pad=(-plen) % 4,
                payload=payload, ext=ext_vals, icrc=int.from_bytes(data[-4:], "little")))
            seed += 1
    # CNP (opcode 0x81): BTH with BECN, 16 reserved bytes, no payload.
    for ipv6 in (False, True):
        for vlan in (None, 7):
            l2 = Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
            if vlan is not None:
                l2 = l2 / Dot1Q(vlan=vlan)
            l3 = (IPv6(src="fd00::1", dst="fd00::2", tc=0xC0) if ipv6
                  else IP(src="192.168.1.1", dst="192.168.1.2", tos=0xC0, flags="DF", id=0))
            udp = UDP(sport=0xC123, dport=4791)
            if not ipv6:
                udp.chksum = 0
            pkt = l2 / l3 / udp / BTH(opcode=0x81, becn=1, dqpn=0xD2 + seed, psn=0) / Raw(bytes(16))
            data = bytes(pkt)
            vectors.append(dict(
                name=f"CNP_{'v6' if ipv6 else 'v4'}{'_vlan' if vlan is not None else ''}",
                frame=data, ipv6=ipv6, vlan=vlan, opcode=0x81, dest_qp=0xD2 + seed, psn=0,
                pad=0, payload=b"", ext=[], icrc=int.from_bytes(data[-4:], "little")))
            seed += 1
    # Reserved and masked bits set: MigReq, Resv6a, Resv7, FECN, ECN, IPv4 UDP checksum.
    for ipv6 in (False, True):
        payload = b"reserved bits!"  # 14 bytes: pad 2
        data, ext_vals = frame(0x0A, ["RETH"], payload, 0xFFFFFE, ipv6, None, seed,
                               udp_csum=True, migreq=1, resv6=0x10, resv7=0x55, fecn=1)
        vectors.append(dict(
            name=f"RC_WRITE_ONLY_reserved_bits_{'v6' if ipv6 else 'v4'}", frame=data,
            ipv6=ipv6, vlan=None, opcode=0x0A, dest_qp=(0x10203 * seed) & 0xFFFFFF,
            psn=0xFFFFFE, pad=2, payload=payload, ext=ext_vals,
            icrc=int.from_bytes(data[-4:], "little")))
        seed += 1
    emit(vectors)


main()
