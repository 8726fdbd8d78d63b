//! The PSP engine's rows of the line-rate report: AES-128-GCM seal and open of one packet
//! per call, and PSP transport-mode encapsulation and decapsulation of an IPv4/UDP packet.

use std::hint::black_box;

use offload_psp::{
    Auto, Backend, Cipher, GcmKey, MasterKeys, Mode, RxSa, SaKey, TxSa, Version, decapsulate,
    encapsulate, encapsulate_at,
};

use crate::bench::{Case, Runner, pseudo_random};

/// Payload sizes of the GCM rows: a minimum frame, the IPv4 minimum MTU, a standard and a
/// jumbo MTU, and 64 KiB.
const GCM_SIZES: [usize; 5] = [64, 576, 1500, 9000, 64 << 10];

/// The IP packet the encap/decap rows carry.
const PACKET: usize = 1500;

/// Room PSP adds in transport mode: UDP 8, PSP header 16, ICV 16.
const OVERHEAD: usize = 40;

/// Headroom in front of the packet for encapsulation (a NIC driver leaves some: XDP 256
/// bytes, DPDK 128), so the payload stays in place.
const ROOM: usize = 64;

/// The PSP rows, per backend: `gcm seal` and `gcm open` (AES-128-GCM, no AAD, one packet
/// per call, the payload's bytes counted), and `psp encap` / `psp decap` of a 1500-byte
/// IPv4/UDP packet (transport mode, version 0, crypt offset 0; the packet's bytes counted;
/// each call first copies the packet into its buffer, as a NIC queue would hand it over;
/// encapsulation with 64 bytes of headroom in front of the packet, `encapsulate_at`).
pub(crate) fn bench_cases(cases: &mut Vec<Case>) {
    for backend in Backend::ALL {
        if Auto::with_backend(backend).is_none() {
            continue;
        }
        for size in GCM_SIZES {
            for open in [false, true] {
                cases.push(Case {
                    engine: "psp",
                    op: if open { "gcm open" } else { "gcm seal" }.into(),
                    size,
                    bytes: size,
                    items: 1,
                    backend: backend.name(),
                    make: Box::new(move || gcm_runner(backend, size, open)),
                });
            }
        }
        for decap in [false, true] {
            cases.push(Case {
                engine: "psp",
                op: if decap { "psp decap" } else { "psp encap" }.into(),
                size: PACKET,
                bytes: PACKET,
                items: 1,
                backend: backend.name(),
                make: Box::new(move || packet_runner(backend, decap)),
            });
        }
    }
}

fn gcm_runner(backend: Backend, size: usize, open: bool) -> Runner {
    let cipher = Auto::with_backend(backend).unwrap_or_default();
    let key = GcmKey::new(&SaKey::new_128([0x42; 16]));
    let nonce = [7u8; 12];
    let mut buf = pseudo_random(size, 0x9e37);
    if !open {
        return Box::new(move || {
            let tag = cipher.seal_in_place(&key, &nonce, black_box(&mut buf), 0);
            black_box(tag).ok();
        });
    }
    let tag = cipher
        .seal_in_place(&key, &nonce, &mut buf, 0)
        .unwrap_or_default();
    let sealed = buf.clone();
    Box::new(move || {
        // Open decrypts in place: start each call from the ciphertext.
        buf.copy_from_slice(&sealed);
        let r = cipher.open_in_place(&key, &nonce, black_box(&mut buf), 0, &tag);
        black_box(r).ok();
    })
}

/// A 1500-byte IPv4/UDP packet, 10.0.0.1:5000 -> 10.0.0.2:53, with a valid header checksum.
fn ipv4_udp_packet() -> Vec<u8> {
    let mut p = pseudo_random(PACKET, 0x05f5);
    let total = u16::try_from(PACKET).unwrap_or(u16::MAX);
    p[..20].copy_from_slice(&[
        0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]);
    p[2..4].copy_from_slice(&total.to_be_bytes());
    let mut sum: u32 = p[..20]
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    let sum = !u16::try_from(sum).unwrap_or(0);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p[20..28].copy_from_slice(&[0x13, 0x88, 0, 53, 0, 0, 0, 0]);
    p[24..26].copy_from_slice(&(total - 20).to_be_bytes());
    p
}

fn packet_runner(backend: Backend, decap: bool) -> Runner {
    let cipher = Auto::with_backend(backend).unwrap_or_default();
    let master = MasterKeys::new(&[0x11; 32], &[0x22; 32]);
    let packet = ipv4_udp_packet();
    let mut buf = vec![0u8; ROOM + PACKET + OVERHEAD];
    let Ok(mut tx) = TxSa::from_master(&master, 0x1234, Version::AesGcm128) else {
        return Box::new(|| {});
    };
    if !decap {
        return Box::new(move || {
            buf[ROOM..ROOM + PACKET].copy_from_slice(&packet);
            let r = encapsulate_at(
                &cipher,
                &mut tx,
                Mode::Transport,
                black_box(&mut buf),
                ROOM,
                PACKET,
            );
            black_box(r).ok();
        });
    }
    buf[..PACKET].copy_from_slice(&packet);
    let wire_len =
        encapsulate(&cipher, &mut tx, Mode::Transport, &mut buf, PACKET).unwrap_or_default();
    let wire = buf[..wire_len].to_vec();
    let mut rx: RxSa = RxSa::new(master);
    Box::new(move || {
        buf[..wire_len].copy_from_slice(&wire);
        let r = decapsulate(&cipher, &mut rx, black_box(&mut buf), wire_len);
        black_box(r).ok();
    })
}
