//! Interoperability with scapy's PSP layer (`scapy.contrib.psp`, scapy 2.8; AES-GCM through
//! the Python `cryptography` package): packets sealed here open in scapy and give the same
//! plaintext, and scapy, sealing that plaintext with the same key and IV, produces the
//! same bytes. Versions 0 and 1 (scapy has no GMAC), with and without a VC (with a VC only
//! for crypt offsets of 2 or more, because scapy never encrypts the VC, which the spec
//! says is encrypted below offset 2).
//!
//! Skipped, with a printed notice, when `python3`, scapy or `cryptography` is missing.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core,
    reason = "test code: a panic is a failure, and values are built from small indices"
)]

use std::io::Write;
use std::process::{Command, Stdio};

use offload_psp::{MasterKeys, Mode, Scalar, TxSa, Version, encapsulate};

const SCRIPT: &str = r#"
import sys
from scapy.contrib.psp import PSP
for line in sys.stdin:
    key_hex, psp_hex = line.split()
    key = bytes.fromhex(key_hex)
    p = PSP(bytes.fromhex(psp_hex))
    p.decrypt(key)
    plain = bytes(p)
    q = PSP(plain)
    q.encrypt(key)
    print(plain.hex(), bytes(q).hex())
"#;

fn scapy_available() -> bool {
    Command::new("python3")
        .args(["-c", "import scapy.contrib.psp, cryptography"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// IPv4/TCP (transport) or IPv6/UDP (tunnel) inner packets.
fn inner(v6: bool, payload: &[u8]) -> Vec<u8> {
    let mut seg = vec![0x30, 0x39, 0x01, 0xBB];
    if v6 {
        seg.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        seg.extend_from_slice(&[0, 0]);
    } else {
        seg.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xFF, 0xFF, 0, 0, 0, 0]);
    }
    seg.extend_from_slice(payload);
    let mut p;
    if v6 {
        p = vec![0u8; 40];
        p[0] = 0x60;
        p[4..6].copy_from_slice(&(seg.len() as u16).to_be_bytes());
        p[6] = 17;
        p[7] = 64;
    } else {
        p = vec![0u8; 20];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&((20 + seg.len()) as u16).to_be_bytes());
        p[8] = 64;
        p[9] = 6;
    }
    p.extend_from_slice(&seg);
    p
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
fn scapy_opens_our_packets_and_seals_the_same_bytes() {
    if !scapy_available() {
        eprintln!("SKIPPED scapy interop: python3 with scapy and cryptography not found");
        return;
    }
    let mk = MasterKeys::new(&[0x5A; 32], &[0xA5; 32]);
    let mut input = String::new();
    let mut expected = Vec::new();
    for version in [Version::AesGcm128, Version::AesGcm256] {
        for (vc, co) in [
            (None, 0),
            (None, 1),
            (None, 3),
            (Some(0x0102_0304_0506_0708), 2),
            (Some(7), 5),
        ] {
            for (v6, mode) in [(false, Mode::Transport), (true, Mode::Tunnel)] {
                for len in [0usize, 33, 300] {
                    let payload: Vec<u8> = (0..len).map(|i| (i * 13) as u8).collect();
                    let pkt = inner(v6, &payload);
                    let spi = 0x8000_0100 | len as u32;
                    let mut sa = TxSa::from_master(&mk, spi, version)
                        .unwrap()
                        .with_vc(vc)
                        .with_crypt_offset(co)
                        .unwrap()
                        .with_iv_start(0x1122_3344_5566_7788);
                    let mut buf = pkt.clone();
                    buf.resize(pkt.len() + 120, 0);
                    let n = encapsulate(&Scalar, &mut sa, mode, &mut buf, pkt.len()).unwrap();
                    let outer = if v6 { 40 } else { 20 };
                    let psp = &buf[outer + 8..n];
                    let hlen = if vc.is_some() { 24 } else { 16 };
                    let protected = if mode == Mode::Tunnel {
                        &pkt[..]
                    } else {
                        &pkt[20..]
                    };
                    let mut plain = psp[..hlen].to_vec();
                    plain.extend_from_slice(protected);
                    let key = mk.derive(spi, version).unwrap();
                    input.push_str(&format!("{} {}\n", hex(key.as_bytes()), hex(psp)));
                    expected.push((
                        hex(&plain),
                        hex(psp),
                        format!("{version:?} vc {vc:?} co {co} v6 {v6} len {len}"),
                    ));
                }
            }
        }
    }
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
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
    assert!(
        out.status.success(),
        "scapy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), expected.len());
    for (line, (plain, sealed, what)) in lines.iter().zip(&expected) {
        let (got_plain, got_sealed) = line.split_once(' ').unwrap();
        assert_eq!(got_plain, plain, "{what}: scapy's plaintext");
        assert_eq!(got_sealed, sealed, "{what}: scapy's sealed bytes");
    }
    eprintln!("scapy interop: {} packets agree both ways", lines.len());
}
