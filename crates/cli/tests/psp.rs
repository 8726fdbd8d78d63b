//! `offload psp derive|encrypt|decrypt` on captures built here: the specification's key
//! derivation examples; encrypt then decrypt gives back the capture byte for byte (transport
//! and tunnel, IPv4 and IPv6, TCP and UDP, every version, VC, crypt offsets, VLAN tags, link
//! padding, raw-IP and big-endian nanosecond pcaps) with every wire field of the encrypted
//! frames checked; refused frames (tampered PSP, ARP, ICMP) are never written; Python's
//! `cryptography` AES-GCM opens our frames and seals frames that we open; argument errors.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::std_instead_of_core,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is a failure, and values are built from small indices"
)]

#[path = "support/process.rs"]
mod process;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use offload_psp::{CmacKey, Version};
use process::{assert_one_line_error, offload, scratch};

/// The PSP specification's master keys ("Examples of key derivation").
const K0: &str = "34448a064292601b11a0978f56a2d34cf3fc35ede1a6bc04f8db3e5243a2b0ca";
const K1: &str = "563952565d3a78ae773ec1b779f2f2d99f4a7f53a6fbb9b07d5b71f39364d739";

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ---------------------------------------------------------------------------------------
// Packets and captures.

fn ip_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

fn ipv4(protocol: u8, l4: &[u8]) -> Vec<u8> {
    let mut p = vec![
        0x45, 0x28, 0, 0, 0x12, 0x34, 0x40, 0, 61, protocol, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    p[2..4].copy_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    let sum = ip_checksum(&p);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p.extend_from_slice(l4);
    p
}

fn ipv6(next_header: u8, l4: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0x01, 0x23, 0x45, 0, 0, next_header, 63];
    p[4..6].copy_from_slice(&(l4.len() as u16).to_be_bytes());
    p.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    p.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    p.extend_from_slice(l4);
    p
}

fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn tcp(sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(&sport.to_be_bytes());
    s.extend_from_slice(&dport.to_be_bytes());
    s.extend_from_slice(&[
        0, 0, 0, 7, 0, 0, 0, 9, 0x50, 0x18, 0xFF, 0xFF, 0xBE, 0xEF, 0, 0,
    ]);
    s.extend_from_slice(data);
    s
}

fn udp(sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(&sport.to_be_bytes());
    s.extend_from_slice(&dport.to_be_bytes());
    s.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    s.extend_from_slice(&[0x12, 0x34]);
    s.extend_from_slice(data);
    s
}

fn ethernet(ethertype: u16, vlan: Option<u16>, packet: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    if let Some(tci) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&tci.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(packet);
    f
}

fn arp() -> Vec<u8> {
    let mut body = vec![0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1];
    body.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
    body.resize(46, 0);
    ethernet(0x0806, None, &body)
}

fn icmp() -> Vec<u8> {
    ethernet(0x0800, None, &ipv4(1, &[8, 0, 0xF7, 0xFF, 0, 0, 0, 0]))
}

/// One record of a capture.
#[derive(Clone, Debug, PartialEq)]
struct Rec {
    ts_sec: u32,
    ts_frac: u32,
    data: Vec<u8>,
    orig_len: u32,
}

fn rec(i: usize, data: Vec<u8>) -> Rec {
    Rec {
        ts_sec: 1_700_000_000 + i as u32,
        ts_frac: 1000 * i as u32 + 17,
        orig_len: data.len() as u32,
        data,
    }
}

/// A classic pcap file; `link` 1 (Ethernet) or 101 (raw IP).
fn pcap(link: u32, big_endian: bool, nanos: bool, records: &[Rec]) -> Vec<u8> {
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
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&w32(65535));
    out.extend_from_slice(&w32(link));
    for r in records {
        out.extend_from_slice(&w32(r.ts_sec));
        out.extend_from_slice(&w32(r.ts_frac));
        out.extend_from_slice(&w32(r.data.len() as u32));
        out.extend_from_slice(&w32(r.orig_len));
        out.extend_from_slice(&r.data);
    }
    out
}

/// The records of a pcap written by `offload`.
fn records(bytes: &[u8]) -> Vec<Rec> {
    let big_endian = bytes[0] == 0xA1;
    let r32 = |at: usize| {
        let b = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let mut at = 24;
    let mut out = Vec::new();
    while at < bytes.len() {
        let len = r32(at + 8) as usize;
        out.push(Rec {
            ts_sec: r32(at),
            ts_frac: r32(at + 4),
            orig_len: r32(at + 12),
            data: bytes[at + 16..at + 16 + len].to_vec(),
        });
        at += 16 + len;
    }
    assert_eq!(at, bytes.len(), "records end with the file");
    out
}

/// The frames every round trip carries (Ethernet): IPv4 and IPv6, TCP and UDP, a VLAN tag,
/// an empty UDP payload, and a short TCP segment padded to 60 bytes by the link.
fn ethernet_frames() -> Vec<Rec> {
    let mut padded = ethernet(0x0800, None, &ipv4(6, &tcp(40001, 22, &[])));
    padded.extend_from_slice(&[0; 6]);
    assert_eq!(padded.len(), 60);
    [
        ethernet(0x0800, None, &ipv4(6, &tcp(40000, 443, &payload(100, 1)))),
        ethernet(0x0800, None, &ipv4(17, &udp(5000, 53, &[]))),
        ethernet(
            0x86DD,
            Some(0x0123),
            &ipv6(17, &udp(4791, 9999, &payload(300, 2))),
        ),
        ethernet(0x86DD, None, &ipv6(6, &tcp(1234, 80, &payload(1200, 3)))),
        padded,
    ]
    .into_iter()
    .enumerate()
    .map(|(i, f)| rec(i, f))
    .collect()
}

// ---------------------------------------------------------------------------------------
// Running the command.

struct Sa {
    spi: u32,
    version: u8,
    tunnel: bool,
    vc: bool,
    crypt_offset: u8,
    iv_start: u64,
}

impl Sa {
    fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = [
            "psp",
            "encrypt",
            "--master-key0",
            K0,
            "--master-key1",
            K1,
            "--spi",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.push(format!("{:x}", self.spi));
        a.push("--version".into());
        a.push(self.version.to_string());
        a.push("--mode".into());
        a.push(if self.tunnel { "tunnel" } else { "transport" }.into());
        a.push("--crypt-offset".into());
        a.push(self.crypt_offset.to_string());
        a.push("--iv-start".into());
        a.push(self.iv_start.to_string());
        if self.vc {
            a.push("--vc".into());
        }
        a
    }
}

fn run(args: &[String], input: &Path, output: &Path) -> Output {
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.push(input.to_str().unwrap());
    all.push(output.to_str().unwrap());
    offload(&all)
}

fn decrypt_args(backend: &str) -> Vec<String> {
    [
        "psp",
        "decrypt",
        "--master-key0",
        K0,
        "--master-key1",
        K1,
        "--backend",
        backend,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Writes `bytes` to `dir/name` and returns the path.
fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The link header length of an Ethernet frame (with its VLAN tags) or 0 for raw IP.
fn l2_len(link: u32, frame: &[u8]) -> usize {
    if link == 101 {
        return 0;
    }
    let mut at = 12;
    while be16(frame, at) == 0x8100 {
        at += 4;
    }
    at + 2
}

/// Checks every field of an encrypted frame against its cleartext original.
fn check_encrypted(link: u32, plain: &[u8], sealed: &[u8], sa: &Sa, iv: u64, what: &str) {
    let l2 = l2_len(link, plain);
    assert_eq!(sealed[..l2], plain[..l2], "{what}: link header kept");
    let inner = &plain[l2..];
    let v6 = inner[0] >> 4 == 6;
    let (ihl, inner_len, proto) = if v6 {
        (40, 40 + be16(inner, 4) as usize, inner[6])
    } else {
        (20, be16(inner, 2) as usize, inner[9])
    };
    let trailer = &plain[l2 + inner_len..];
    let out = &sealed[l2..sealed.len() - trailer.len()];
    assert_eq!(
        &sealed[sealed.len() - trailer.len()..],
        trailer,
        "{what}: trailer kept"
    );
    let hlen = if sa.vc { 24 } else { 16 };
    let protected = if sa.tunnel {
        &inner[..inner_len]
    } else {
        &inner[ihl..inner_len]
    };
    assert_eq!(
        out.len(),
        ihl + 8 + hlen + protected.len() + 16,
        "{what}: length"
    );
    // Outer IP: a copy of the inner header with protocol UDP and new lengths.
    if v6 {
        assert_eq!(out[..4], inner[..4], "{what}: IPv6 version, class, flow");
        assert_eq!(
            be16(out, 4) as usize,
            out.len() - 40,
            "{what}: IPv6 payload length"
        );
        assert_eq!(out[6], 17, "{what}: next header UDP");
        assert_eq!(out[7..40], inner[7..40], "{what}: hop limit and addresses");
    } else {
        assert_eq!(out[..2], inner[..2], "{what}: IPv4 version, IHL, TOS");
        assert_eq!(
            be16(out, 2) as usize,
            out.len(),
            "{what}: IPv4 total length"
        );
        assert_eq!(out[4..9], inner[4..9], "{what}: id, flags, TTL");
        assert_eq!(out[9], 17, "{what}: protocol UDP");
        assert_eq!(ip_checksum(&out[..20]), 0, "{what}: IPv4 header checksum");
        assert_eq!(out[12..20], inner[12..20], "{what}: addresses");
    }
    // UDP.
    let udp = &out[ihl..ihl + 8];
    let l4 = &inner[ihl..];
    assert_eq!(
        be16(udp, 0),
        be16(l4, 0) ^ be16(l4, 2),
        "{what}: UDP source port = inner sport ^ dport"
    );
    assert_eq!(be16(udp, 2), 1000, "{what}: UDP destination port");
    assert_eq!(be16(udp, 4) as usize, out.len() - ihl, "{what}: UDP length");
    assert_eq!(be16(udp, 6), 0, "{what}: UDP checksum 0");
    // PSP header.
    let psp = &out[ihl + 8..];
    let next = match (sa.tunnel, v6) {
        (true, false) => 4,
        (true, true) => 41,
        (false, _) => proto,
    };
    assert_eq!(psp[0], next, "{what}: next header");
    assert_eq!(psp[1], if sa.vc { 2 } else { 1 }, "{what}: hdr ext len");
    assert_eq!(psp[2], sa.crypt_offset, "{what}: crypt offset");
    assert_eq!(
        psp[3],
        (sa.version << 2) | (u8::from(sa.vc) << 1) | 1,
        "{what}: version and flags"
    );
    assert_eq!(psp[4..8], sa.spi.to_be_bytes(), "{what}: SPI");
    assert_eq!(psp[8..16], iv.to_be_bytes(), "{what}: IV");
    // The clear part after the IV: (zero VC ‖) the protected bytes up to the crypt offset;
    // for GMAC everything.
    let mut after_iv = vec![0u8; hlen - 16];
    after_iv.extend_from_slice(protected);
    let clear = if sa.version >= 2 {
        after_iv.len()
    } else {
        4 * usize::from(sa.crypt_offset)
    };
    assert_eq!(
        psp[16..16 + clear],
        after_iv[..clear],
        "{what}: clear bytes"
    );
    if sa.version < 2 && after_iv.len() > clear + 8 {
        assert_ne!(
            psp[16 + clear..16 + after_iv.len()],
            after_iv[clear..],
            "{what}: encrypted"
        );
    }
}

/// Encrypts `records` under `sa`, checks the frames, decrypts, and checks the capture came
/// back byte for byte. Returns the encrypted capture.
fn round_trip(
    dir: &Path,
    link: u32,
    big_endian: bool,
    nanos: bool,
    recs: &[Rec],
    sa: &Sa,
) -> Vec<u8> {
    let what = format!(
        "link {link} v{} {} vc {} co {}",
        sa.version,
        if sa.tunnel { "tunnel" } else { "transport" },
        sa.vc,
        sa.crypt_offset
    );
    let input = pcap(link, big_endian, nanos, recs);
    let plain = file(dir, "plain.pcap", &input);
    let sealed = dir.join("sealed.pcap");
    let out = run(&sa.args(), &plain, &sealed);
    assert!(out.status.success(), "{what}: encrypt: {}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "{} frames: {} encrypted, 0 refused",
            recs.len(),
            recs.len()
        )),
        "{what}: {}",
        stderr(&out)
    );
    let sealed_bytes = std::fs::read(&sealed).unwrap();
    assert_eq!(
        sealed_bytes[..24],
        input[..24],
        "{what}: global header kept"
    );
    let got = records(&sealed_bytes);
    assert_eq!(got.len(), recs.len());
    for (i, (p, s)) in recs.iter().zip(&got).enumerate() {
        assert_eq!(
            (s.ts_sec, s.ts_frac),
            (p.ts_sec, p.ts_frac),
            "{what}: timestamp"
        );
        assert_eq!(s.orig_len as usize, s.data.len(), "{what}: orig len");
        let iv = sa.iv_start + i as u64;
        check_encrypted(
            link,
            &p.data,
            &s.data,
            sa,
            iv,
            &format!("{what} frame {}", i + 1),
        );
    }
    let opened = dir.join("opened.pcap");
    let out = run(&decrypt_args("auto"), &sealed, &opened);
    assert!(out.status.success(), "{what}: decrypt: {}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{} decrypted, 0 not PSP", recs.len())),
        "{what}: {}",
        stderr(&out)
    );
    assert!(
        std::fs::read(&opened).unwrap() == input,
        "{what}: round trip"
    );
    sealed_bytes
}

// ---------------------------------------------------------------------------------------
// Tests.

fn derive(spi: &str, version: u8) -> Output {
    offload(&[
        "psp",
        "derive",
        "--master-key0",
        K0,
        "--master-key1",
        K1,
        "--spi",
        spi,
        "--version",
        &version.to_string(),
    ])
}

#[test]
fn derive_gives_the_specification_examples() {
    for (spi, version, key) in [
        ("12345678", 0, "96c22dc799198090b74b70ae468e4e30"),
        ("0x9A345678", 0, "3946da2554eae46ad1ef77a64372edc4"),
        (
            "12345678",
            1,
            "2b7d72074e42ca334487f2990e3f8c4037e436f38283449b76463e9b7fb2e3de",
        ),
    ] {
        let out = derive(spi, version);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{key}\n"));
    }
}

/// Every version with both master keys: the SP 800-108 blocks (counter ‖ "Pv<v>\0" ‖ SPI ‖
/// L) under the AES-256-CMAC of the master key that SPI bit 31 picks.
#[test]
fn derive_uses_the_master_key_the_spi_picks_for_every_version() {
    let keys = [unhex(K0), unhex(K1)];
    for spi in [
        0x0000_0001u32,
        0x1234_5678,
        0x8000_0001,
        0x9A34_5678,
        0xFFFF_FFFF,
    ] {
        let cmac = CmacKey::new(&keys[(spi >> 31) as usize].clone().try_into().unwrap());
        for version in Version::ALL {
            let v = version.as_u8();
            let blocks = version.key_len() / 16;
            let l = (version.key_len() * 8) as u32;
            let mut want = Vec::new();
            for i in 1..=blocks as u32 {
                let mut block = i.to_be_bytes().to_vec();
                block.extend_from_slice(&[0x50, 0x76, 0x30 + v, 0]);
                block.extend_from_slice(&spi.to_be_bytes());
                block.extend_from_slice(&l.to_be_bytes());
                want.extend_from_slice(&cmac.mac(&block));
            }
            let out = derive(&format!("{spi:x}"), v);
            assert!(out.status.success(), "{}", stderr(&out));
            assert_eq!(
                String::from_utf8(out.stdout).unwrap().trim_end(),
                hex(&want),
                "spi {spi:#x} version {v}"
            );
        }
    }
}

#[test]
fn encrypt_decrypt_round_trips_every_mode_and_version() {
    let dir = scratch("psp-round-trip");
    let recs = ethernet_frames();
    for version in 0..4u8 {
        let options: &[(bool, u8)] = if version < 2 {
            &[(false, 0), (true, 0), (false, 2), (true, 3), (true, 1)]
        } else {
            &[(false, 0), (true, 0)]
        };
        for &(vc, crypt_offset) in options {
            for tunnel in [false, true] {
                let sa = Sa {
                    spi: if version % 2 == 0 {
                        0x9A34_5678
                    } else {
                        0x1234_5678
                    },
                    version,
                    tunnel,
                    vc,
                    crypt_offset,
                    iv_start: 1 + u64::from(version) * 1000 + u64::from(crypt_offset),
                };
                round_trip(&dir, 1, false, false, &recs, &sa);
            }
        }
    }
}

#[test]
fn raw_ip_and_big_endian_nanosecond_captures_round_trip() {
    let dir = scratch("psp-raw");
    let raw: Vec<Rec> = [
        ipv4(17, &udp(1111, 2222, &payload(64, 9))),
        ipv6(6, &tcp(3333, 4444, &payload(17, 8))),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, p)| rec(i, p))
    .collect();
    for tunnel in [false, true] {
        let sa = Sa {
            spi: 0x8000_0042,
            version: 1,
            tunnel,
            vc: true,
            crypt_offset: 1,
            iv_start: u64::MAX - 1,
        };
        round_trip(&dir, 101, true, true, &raw, &sa);
        round_trip(&dir, 1, true, false, &ethernet_frames()[..2], &sa);
    }
}

#[test]
fn the_iv_counter_starts_at_iv_start_and_is_not_used_by_refused_frames() {
    let dir = scratch("psp-iv");
    let f = ethernet_frames();
    let recs = vec![
        f[0].clone(),
        rec(1, arp()),
        f[1].clone(),
        rec(3, icmp()),
        f[2].clone(),
    ];
    let input = file(&dir, "in.pcap", &pcap(1, false, false, &recs));
    let sealed = dir.join("sealed.pcap");
    let sa = Sa {
        spi: 0x10,
        version: 0,
        tunnel: false,
        vc: false,
        crypt_offset: 0,
        iv_start: 0x0102_0304_0506_0700,
    };
    let out = run(&sa.args(), &input, &sealed);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("frame 2: not encrypted"), "{err}");
    assert!(err.contains("frame 4: not encrypted"), "{err}");
    assert!(err.contains("IP protocol 1"), "{err}");
    assert!(err.contains("5 frames: 3 encrypted, 2 refused"), "{err}");
    let got = records(&std::fs::read(&sealed).unwrap());
    assert_eq!(got.len(), 3, "ARP and ICMP are not written");
    for (i, (r, p)) in got.iter().zip([&f[0], &f[1], &f[2]]).enumerate() {
        check_encrypted(1, &p.data, &r.data, &sa, sa.iv_start + i as u64, "iv");
    }
    // Nothing went out in clear: no written frame equals an input frame.
    for r in &got {
        assert!(recs.iter().all(|p| p.data != r.data));
    }
}

#[test]
fn decrypt_refuses_tampered_frames_and_copies_other_frames() {
    let dir = scratch("psp-tamper");
    let f = ethernet_frames();
    let recs: Vec<Rec> = f[..4].to_vec();
    let input = file(&dir, "in.pcap", &pcap(1, false, false, &recs));
    let sealed_path = dir.join("sealed.pcap");
    let sa = Sa {
        spi: 0x8765_4321,
        version: 1,
        tunnel: true,
        vc: false,
        crypt_offset: 0,
        iv_start: 1,
    };
    let out = run(&sa.args(), &input, &sealed_path);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut sealed = records(&std::fs::read(&sealed_path).unwrap());
    // Frame 2: a flipped ciphertext bit; frame 3: a flipped ICV bit; frame 4: the always-1
    // bit of the PSP header cleared (validation, not authentication).
    let n = sealed[1].data.len();
    sealed[1].data[n - 20] ^= 0x01;
    let n = sealed[2].data.len();
    sealed[2].data[n - 1] ^= 0x80;
    let psp = 14 + 40 + 8;
    sealed[3].data[psp + 3] &= !1;
    let mut mixed = vec![sealed[0].clone(), rec(9, arp())];
    mixed.extend(sealed[1..].iter().cloned());
    mixed.push(rec(10, icmp()));
    mixed.push(f[0].clone());
    let tampered = file(&dir, "tampered.pcap", &pcap(1, false, false, &mixed));
    let opened = dir.join("opened.pcap");
    let out = run(&decrypt_args("scalar"), &tampered, &opened);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("frame 3: PSP frame not written: authentication failed"),
        "{err}"
    );
    assert!(
        err.contains("frame 4: PSP frame not written: authentication failed"),
        "{err}"
    );
    assert!(err.contains("frame 5: PSP frame not written"), "{err}");
    assert!(
        err.contains("7 frames: 1 decrypted, 3 not PSP (copied unchanged), 3 refused"),
        "{err}"
    );
    let got = records(&std::fs::read(&opened).unwrap());
    let want = vec![f[0].clone(), rec(9, arp()), rec(10, icmp()), f[0].clone()];
    assert_eq!(got, want);
}

#[test]
fn every_backend_decrypts_the_same() {
    let dir = scratch("psp-backends");
    let sa = Sa {
        spi: 0x55,
        version: 0,
        tunnel: false,
        vc: true,
        crypt_offset: 2,
        iv_start: 7,
    };
    let input = pcap(1, false, false, &ethernet_frames());
    let plain = file(&dir, "in.pcap", &input);
    let sealed = dir.join("sealed.pcap");
    let mut ran = Vec::new();
    for backend in offload_psp::Backend::ALL {
        if offload_psp::Auto::with_backend(backend).is_none() {
            continue;
        }
        let mut args = sa.args();
        args.extend(["--backend".into(), backend.name().into()]);
        let out = run(&args, &plain, &sealed);
        assert!(out.status.success(), "{backend}: {}", stderr(&out));
        let opened = dir.join("opened.pcap");
        let out = run(&decrypt_args(backend.name()), &sealed, &opened);
        assert!(out.status.success(), "{backend}: {}", stderr(&out));
        assert!(std::fs::read(&opened).unwrap() == input, "{backend}");
        ran.push((backend.name(), std::fs::read(&sealed).unwrap()));
    }
    for (name, bytes) in &ran {
        assert!(*bytes == ran[0].1, "{name} encrypts like {}", ran[0].0);
    }
    eprintln!(
        "psp CLI backends: {}",
        ran.iter().map(|r| r.0).collect::<Vec<_>>().join(", ")
    );
}

// ---------------------------------------------------------------------------------------
// Interoperability with Python's `cryptography` AES-GCM.

const PY_SCRIPT: &str = r#"
import sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
for line in sys.stdin:
    op, key, nonce, aad, body = line.split()
    key, nonce, aad = bytes.fromhex(key), bytes.fromhex(nonce), bytes.fromhex(aad)
    body = bytes.fromhex(body) if body != "-" else b""
    g = AESGCM(key)
    if op == "open":
        print(g.decrypt(nonce, body, aad).hex() or "-")
    else:
        print(g.encrypt(nonce, body, aad).hex())
"#;

fn python_available() -> bool {
    Command::new("python3")
        .args([
            "-c",
            "from cryptography.hazmat.primitives.ciphers.aead import AESGCM",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn python(input: &str) -> Vec<String> {
    let mut child = Command::new("python3")
        .args(["-c", PY_SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python: {}", stderr(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn or_dash(s: String) -> String {
    if s.is_empty() { "-".into() } else { s }
}

/// Python opens every frame we sealed (AES-GCM with the key `derive` prints, nonce = SPI ‖ IV,
/// AAD = PSP header and the crypt-offset bytes; GMAC: everything is AAD), and seals the same
/// plaintext under a new IV into frames that our `decrypt` opens back to the input.
#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
fn python_cryptography_opens_our_frames_and_we_open_its_frames() {
    if !python_available() {
        eprintln!("SKIPPED psp CLI interop: python3 with the cryptography package not found");
        return;
    }
    let dir = scratch("psp-python");
    let recs = ethernet_frames();
    let mut checked = 0;
    for version in 0..4u8 {
        for (tunnel, vc, crypt_offset) in [(false, false, 0), (true, true, 1), (false, true, 3)] {
            let crypt_offset = if version >= 2 { 0 } else { crypt_offset };
            let sa = Sa {
                spi: 0x8000_1000 + u32::from(version),
                version,
                tunnel,
                vc,
                crypt_offset,
                iv_start: 100,
            };
            let key = derive(&format!("{:x}", sa.spi), version);
            let key = String::from_utf8(key.stdout).unwrap().trim().to_string();
            let sealed = round_trip(&dir, 1, false, false, &recs, &sa);
            let sealed = records(&sealed);
            // Open ours in Python; seal the plaintext again there under IV + 1000.
            let mut input = String::new();
            let mut spans = Vec::new();
            for r in &sealed {
                let l2 = l2_len(1, &r.data);
                let ip = &r.data[l2..];
                let (ihl, ip_len) = if ip[0] >> 4 == 6 {
                    (40, 40 + usize::from(be16(ip, 4)))
                } else {
                    (20, usize::from(be16(ip, 2)))
                };
                let psp_at = l2 + ihl + 8;
                // The PSP packet ends with the IP packet (link padding may follow).
                let psp = &r.data[psp_at..l2 + ip_len];
                let hlen = 8 + 8 * usize::from(psp[1]);
                let aad_len = if version >= 2 {
                    psp.len() - 16
                } else {
                    16 + 4 * usize::from(crypt_offset)
                };
                assert!(aad_len >= 16 && hlen <= psp.len() - 16);
                let nonce = hex(&psp[4..16]);
                input.push_str(&format!(
                    "open {key} {nonce} {} {}\n",
                    hex(&psp[..aad_len]),
                    or_dash(hex(&psp[aad_len..]))
                ));
                spans.push((psp_at, aad_len));
            }
            let opened = python(&input);
            assert_eq!(opened.len(), sealed.len());
            let mut input = String::new();
            let mut resealed_headers = Vec::new();
            for ((r, &(psp_at, aad_len)), plain) in sealed.iter().zip(&spans).zip(&opened) {
                let header = &r.data[psp_at..psp_at + aad_len];
                let plain = if plain == "-" {
                    Vec::new()
                } else {
                    unhex(plain)
                };
                // Python's plaintext, sealed again by Python under another IV, must open in
                // `offload psp decrypt` to the input frame: that checks the plaintext too.
                let mut aad = header.to_vec();
                let iv = u64::from_be_bytes(header[8..16].try_into().unwrap()) + 1000;
                aad[8..16].copy_from_slice(&iv.to_be_bytes());
                let nonce = hex(&aad[4..16]);
                input.push_str(&format!(
                    "seal {key} {nonce} {} {}\n",
                    hex(&aad),
                    or_dash(hex(&plain))
                ));
                resealed_headers.push(aad);
                checked += 1;
            }
            let resealed = python(&input);
            let mut frames = Vec::new();
            for (((r, &(psp_at, _)), aad), body) in sealed
                .iter()
                .zip(&spans)
                .zip(&resealed_headers)
                .zip(&resealed)
            {
                let mut frame = r.data[..psp_at].to_vec();
                frame.extend_from_slice(aad);
                frame.extend_from_slice(&unhex(body));
                let trailer = r.data.len() - frame.len();
                frame.extend_from_slice(&r.data[r.data.len() - trailer..]);
                frames.push(Rec {
                    data: frame,
                    ..r.clone()
                });
            }
            let theirs = file(&dir, "theirs.pcap", &pcap(1, false, false, &frames));
            let mine = dir.join("mine.pcap");
            let out = run(&decrypt_args("auto"), &theirs, &mine);
            assert!(out.status.success(), "{}", stderr(&out));
            assert!(
                records(&std::fs::read(&mine).unwrap()) == recs,
                "v{version} tunnel {tunnel} vc {vc}: Python's frames open to the input"
            );
        }
    }
    eprintln!("psp CLI interop: Python opened and sealed {checked} frames");
}

// ---------------------------------------------------------------------------------------
// Errors.

#[test]
fn bad_arguments_are_one_line_errors() {
    let dir = scratch("psp-args");
    let input = file(&dir, "in.pcap", &pcap(1, false, false, &ethernet_frames()));
    let out_path = dir.join("out.pcap");
    let i = input.to_str().unwrap();
    let o = out_path.to_str().unwrap();
    let short = &K0[..62];
    let long = format!("{K0}00");
    let derive = format!("psp derive --master-key0 {K0} --master-key1 {K1}");
    let keys = format!("psp encrypt --master-key0 {K0} --master-key1 {K1}");
    let enc = format!("{keys} --spi 1 --version 0 --mode tunnel");
    let decrypt = format!("psp decrypt --master-key0 {K0} --master-key1 {K1}");
    // Each case is one command line (no argument contains a space).
    let cases = [
        format!("psp derive --master-key0 zz --master-key1 {K1} --spi 1 --version 0"),
        format!("psp derive --master-key0 {short} --master-key1 {K1} --spi 1 --version 0"),
        format!("psp derive --master-key0 {K0} --master-key1 {long} --spi 1 --version 0"),
        format!("{derive} --spi 1 --version 4"),
        format!("{derive} --spi g1 --version 0"),
        format!("{derive} --spi 123456789 --version 0"),
        format!("{derive} --spi 80000000 --version 0"),
        format!("{derive} --spi 0 --version 0"),
        format!("{derive} --version 0"),
        format!("{keys} --spi 1 --version 0 --mode bogus {i} {o}"),
        format!("{keys} --spi 1 --version 2 --mode tunnel --crypt-offset 1 {i} {o}"),
        format!("{enc} --crypt-offset 64 {i} {o}"),
        format!("{enc} --iv-start -1 {i} {o}"),
        format!("{enc} --backend bogus {i} {o}"),
        format!("{enc} /nonexistent/in.pcap {o}"),
        format!("{enc} {i} /nonexistent/dir/out.pcap"),
        format!("{enc} {i} {i}"),
        format!("{enc} {i}"),
        format!("psp decrypt --master-key0 {K0} --master-key1 00 {i} {o}"),
        format!("{decrypt} /nonexistent/in.pcap {o}"),
        format!("{decrypt} --backend bogus {i} {o}"),
    ];
    for case in &cases {
        let args: Vec<&str> = case.split_whitespace().collect();
        let out = offload(&args);
        assert_one_line_error(&out);
        assert!(!out_path.exists(), "{args:?} left an output file");
    }
    // The input is untouched by the IN = OUT refusal.
    assert_eq!(
        std::fs::read(&input).unwrap(),
        pcap(1, false, false, &ethernet_frames())
    );
}

#[test]
fn unreadable_captures_are_one_line_errors_and_leave_no_output() {
    let dir = scratch("psp-bad-pcap");
    let good = pcap(1, false, false, &ethernet_frames());
    let truncated = &good[..good.len() - 5];
    let sll = pcap(113, false, false, &ethernet_frames());
    let out_path = dir.join("out.pcap");
    for (name, bytes) in [
        ("truncated", truncated),
        ("not-pcap", &b"hello, this is not a capture file"[..]),
        ("sll", &sll[..]),
    ] {
        let input = file(&dir, name, bytes);
        for args in [
            Sa {
                spi: 1,
                version: 0,
                tunnel: false,
                vc: false,
                crypt_offset: 0,
                iv_start: 1,
            }
            .args(),
            decrypt_args("auto"),
        ] {
            let out = run(&args, &input, &out_path);
            assert_one_line_error(&out);
            assert!(
                stderr(&out).contains(&*input.to_string_lossy()),
                "{}",
                stderr(&out)
            );
            assert!(
                !out_path.exists(),
                "{name}: a half-written output is removed"
            );
        }
    }
}

const SCAPY_SCRIPT: &str = r#"
import sys
from scapy.all import rdpcap, UDP
from scapy.contrib.psp import PSP
path, key = sys.argv[1], bytes.fromhex(sys.argv[2])
for pkt in rdpcap(path):
    udp = pkt[UDP]
    assert udp.dport == 1000 and udp.chksum == 0, (udp.dport, udp.chksum)
    p = PSP(bytes(udp.payload)[: udp.len - 8])
    p.decrypt(key)
    print(udp.sport, bytes(p).hex())
"#;

/// scapy reads our encrypted captures (`rdpcap`) and its PSP layer (`scapy.contrib.psp`,
/// versions 0 and 1, no VC: scapy never encrypts a VC) decrypts every frame to the PSP
/// header followed by the protected bytes of the input.
#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
fn scapy_reads_and_decrypts_our_captures() {
    let available = Command::new("python3")
        .args(["-c", "import scapy.all, scapy.contrib.psp, cryptography"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        eprintln!("SKIPPED psp CLI scapy interop: python3 with scapy and cryptography not found");
        return;
    }
    let dir = scratch("psp-scapy");
    let recs = ethernet_frames();
    let input = file(&dir, "in.pcap", &pcap(1, false, true, &recs));
    let sealed = dir.join("sealed.pcap");
    let mut checked = 0;
    for version in [0u8, 1] {
        for (tunnel, crypt_offset) in [(false, 0u8), (true, 0), (false, 1), (true, 2)] {
            let sa = Sa {
                spi: 0x0000_ABCD + u32::from(version) * 0x8000_0000,
                version,
                tunnel,
                vc: false,
                crypt_offset,
                iv_start: 5,
            };
            let out = run(&sa.args(), &input, &sealed);
            assert!(out.status.success(), "{}", stderr(&out));
            let key = derive(&format!("{:x}", sa.spi), version);
            let key = String::from_utf8(key.stdout).unwrap().trim().to_string();
            let out = Command::new("python3")
                .args(["-c", SCAPY_SCRIPT, sealed.to_str().unwrap(), &key])
                .output()
                .unwrap();
            assert!(out.status.success(), "scapy: {}", stderr(&out));
            let text = String::from_utf8(out.stdout).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), recs.len());
            let sealed_recs = records(&std::fs::read(&sealed).unwrap());
            for ((line, r), s) in lines.iter().zip(&recs).zip(&sealed_recs) {
                let (sport, plain) = line.split_once(' ').unwrap();
                let l2 = l2_len(1, &r.data);
                let ip = &r.data[l2..];
                let (ihl, ip_len) = if ip[0] >> 4 == 6 {
                    (40, 40 + usize::from(be16(ip, 4)))
                } else {
                    (20, usize::from(be16(ip, 2)))
                };
                assert_eq!(
                    sport.parse::<u16>().unwrap(),
                    be16(ip, ihl) ^ be16(ip, ihl + 2)
                );
                let psp_at = l2 + ihl + 8;
                let mut want = s.data[psp_at..psp_at + 16].to_vec();
                want.extend_from_slice(if tunnel {
                    &ip[..ip_len]
                } else {
                    &ip[ihl..ip_len]
                });
                assert_eq!(
                    plain,
                    hex(&want),
                    "v{version} tunnel {tunnel} co {crypt_offset}"
                );
                checked += 1;
            }
        }
    }
    eprintln!("psp CLI scapy interop: scapy decrypted {checked} frames");
}
