//! PSP: every `offload-psp` backend this CPU runs beside the AES-GCM peers.
//!
//! - `psp/seal_<size>` for 64, 576, 1500, 9000 and 65536 bytes, ids `<backend>`, `aes-gcm`
//!   (RustCrypto), `ring`, `aws-lc-rs`: AES-128-GCM seal in place of one message of that
//!   size (no AAD, a detached tag), the same buffer sealed again each iteration. Throughput
//!   in message bytes. Every peer's ciphertext and tag are checked equal to ours first.
//! - `psp/encap_1500`, ids `<backend>`: PSP transport-mode encapsulation (version 0, crypt
//!   offset 0) of a 1500-byte IPv4/UDP packet with 64 bytes of headroom in front of it (as
//!   a NIC driver leaves; `encapsulate_at`, so the payload does not move), checked to
//!   decapsulate back to the packet first. Each iteration puts the 20-byte IP header back
//!   where the packet started and encapsulates again: the payload, encrypted in place, is
//!   encrypted once more, the same work as on plaintext. (Copying the whole packet back
//!   each time, as before, counted about 7 % of memory copy that no transmit path does: the
//!   NIC's DMA, not the CPU, puts a packet in its buffer.) Throughput in packet bytes.

#![allow(
    missing_docs,
    clippy::std_instead_of_core,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    reason = "a std bench binary: criterion's macros generate undocumented items, and a failed \
              setup or a wrong answer should stop the run loudly"
)]

use std::hint::black_box;
use std::time::Duration;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use offload_psp::{
    Auto, Backend, Cipher, GcmKey, MasterKeys, Mode, RxSa, SaKey, TxSa, Version, decapsulate,
    encapsulate_at,
};

fn backends() -> Vec<(&'static str, Auto)> {
    offload_testkit::select_backends(
        "offload-benches/psp",
        Backend::ALL
            .iter()
            .map(|&b| (b.name(), Auto::with_backend(b)))
            .collect(),
    )
}

const SIZES: [usize; 5] = [64, 576, 1500, 9000, 65536];
const KEY: [u8; 16] = [
    0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c,
];
const NONCE: [u8; 12] = [0, 0, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 1];

fn message(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 131 + (i >> 8)) as u8).collect()
}

fn ring_key() -> ring::aead::LessSafeKey {
    let key = ring::aead::UnboundKey::new(&ring::aead::AES_128_GCM, &KEY).unwrap();
    ring::aead::LessSafeKey::new(key)
}

fn ring_seal(key: &ring::aead::LessSafeKey, buf: &mut [u8]) -> [u8; 16] {
    let nonce = ring::aead::Nonce::assume_unique_for_key(NONCE);
    let tag = key
        .seal_in_place_separate_tag(nonce, ring::aead::Aad::empty(), buf)
        .unwrap();
    tag.as_ref().try_into().unwrap()
}

fn aws_key() -> aws_lc_rs::aead::LessSafeKey {
    let key = aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_128_GCM, &KEY).unwrap();
    aws_lc_rs::aead::LessSafeKey::new(key)
}

fn aws_seal(key: &aws_lc_rs::aead::LessSafeKey, buf: &mut [u8]) -> [u8; 16] {
    let nonce = aws_lc_rs::aead::Nonce::assume_unique_for_key(NONCE);
    let tag = key
        .seal_in_place_separate_tag(nonce, aws_lc_rs::aead::Aad::empty(), buf)
        .unwrap();
    tag.as_ref().try_into().unwrap()
}

fn rustcrypto_seal(cipher: &Aes128Gcm, buf: &mut [u8]) -> [u8; 16] {
    let nonce = Nonce::from(NONCE);
    cipher
        .encrypt_inout_detached(&nonce, &[], buf.into())
        .unwrap()
        .into()
}

fn seal(c: &mut Criterion) {
    let ours = backends();
    let key = GcmKey::new(&SaKey::new_128(KEY));
    let rustcrypto = Aes128Gcm::new_from_slice(&KEY).unwrap();
    let ring = ring_key();
    let aws = aws_key();
    for size in SIZES {
        let msg = message(size);
        let mut expected = msg.clone();
        let tag = rustcrypto_seal(&rustcrypto, &mut expected);
        for &(name, cipher) in &ours {
            let mut buf = msg.clone();
            assert_eq!(
                cipher.seal_in_place(&key, &NONCE, &mut buf, 0),
                Ok(tag),
                "{name}"
            );
            assert_eq!(buf, expected, "{name}");
        }
        let mut buf = msg.clone();
        assert_eq!(ring_seal(&ring, &mut buf), tag, "ring");
        assert_eq!(buf, expected, "ring");
        let mut buf = msg.clone();
        assert_eq!(aws_seal(&aws, &mut buf), tag, "aws-lc-rs");
        assert_eq!(buf, expected, "aws-lc-rs");

        let mut g = c.benchmark_group(format!("psp/seal_{size}"));
        g.throughput(Throughput::Bytes(size as u64));
        let mut buf = msg.clone();
        for &(name, cipher) in &ours {
            g.bench_function(name, |b| {
                b.iter(|| cipher.seal_in_place(&key, &NONCE, black_box(&mut buf), 0));
            });
        }
        g.bench_function("aes-gcm", |b| {
            b.iter(|| rustcrypto_seal(&rustcrypto, black_box(&mut buf)));
        });
        g.bench_function("ring", |b| b.iter(|| ring_seal(&ring, black_box(&mut buf))));
        g.bench_function("aws-lc-rs", |b| {
            b.iter(|| aws_seal(&aws, black_box(&mut buf)));
        });
        g.finish();
    }
}

/// A 1500-byte IPv4/UDP packet, 10.0.0.1:5000 -> 10.0.0.2:53, with a valid header checksum.
fn ipv4_udp_packet() -> Vec<u8> {
    let mut p = message(1500);
    p[..20].copy_from_slice(&[
        0x45, 0, 0x05, 0xdc, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]);
    let mut sum: u32 = p[..20]
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    p[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    p[20..28].copy_from_slice(&[0x13, 0x88, 0, 53, 0x05, 0xc8, 0, 0]);
    p
}

fn encap(c: &mut Criterion) {
    let master = MasterKeys::new(&[0x11; 32], &[0x22; 32]);
    let packet = ipv4_udp_packet();
    const ROOM: usize = 64;
    let mut buf = vec![0u8; ROOM + packet.len() + 40];
    let mut g = c.benchmark_group("psp/encap_1500");
    g.throughput(Throughput::Bytes(packet.len() as u64));
    for (name, cipher) in backends() {
        let mut tx = TxSa::from_master(&master, 0x1234, Version::AesGcm128).unwrap();
        buf[ROOM..ROOM + packet.len()].copy_from_slice(&packet);
        let wire = encapsulate_at(
            &cipher,
            &mut tx,
            Mode::Transport,
            &mut buf,
            ROOM,
            packet.len(),
        )
        .unwrap();
        assert_eq!(wire, ROOM - 24..ROOM + packet.len() + 16, "{name}");
        let mut rx: RxSa = RxSa::new(master.clone());
        let d = decapsulate(&cipher, &mut rx, &mut buf[wire.clone()], wire.len()).unwrap();
        assert_eq!(&buf[wire.start..wire.start + d.len], &packet[..], "{name}");
        g.bench_function(name, |b| {
            buf[ROOM..ROOM + packet.len()].copy_from_slice(&packet);
            b.iter(|| {
                buf[ROOM..ROOM + 20].copy_from_slice(&packet[..20]);
                encapsulate_at(
                    &cipher,
                    &mut tx,
                    Mode::Transport,
                    black_box(&mut buf),
                    ROOM,
                    1500,
                )
            });
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20);
    targets = seal, encap
}
criterion_main!(benches);
