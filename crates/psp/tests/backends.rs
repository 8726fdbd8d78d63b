//! Every backend available on this machine against a naive AES-GCM written from NIST
//! SP 800-38D (bitwise GF(2^128) multiply, one counter block at a time, on the `aes` block
//! cipher) and against `Scalar`: every length 0..=600 with several `aad_len` (every one up to
//! 64 bytes), misaligned buffer starts, random lengths up to 9216, both key sizes.
//! `OFFLOAD_REQUIRE_BACKENDS=scalar` (or a list) makes a missing backend a failure.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core,
    reason = "test code: a panic is a failure, and values are built from small indices"
)]

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use offload_psp::{Auto, Backend, Cipher, Error, GcmKey, SaKey, Scalar};
use offload_testkit::{Rng, select_backends};

fn engines() -> Vec<(&'static str, Auto)> {
    select_backends(
        "offload-psp",
        Backend::ALL
            .into_iter()
            .map(|b| (b.name(), Auto::with_backend(b)))
            .collect(),
    )
}

fn aes_block(key: &[u8], block: [u8; 16]) -> [u8; 16] {
    let mut b = aes::Block::from(block);
    match key.len() {
        16 => aes::Aes128::new_from_slice(key)
            .unwrap()
            .encrypt_block(&mut b),
        _ => aes::Aes256::new_from_slice(key)
            .unwrap()
            .encrypt_block(&mut b),
    }
    b.into()
}

/// SP 800-38D algorithm 1: X · Y in GF(2^128), bit 0 = the most significant bit of byte 0.
fn gf_mul(x: u128, y: u128) -> u128 {
    let r: u128 = 0xE1 << 120;
    let mut z = 0u128;
    let mut v = y;
    for i in 0..128 {
        if (x >> (127 - i)) & 1 == 1 {
            z ^= v;
        }
        v = if v & 1 == 1 { (v >> 1) ^ r } else { v >> 1 };
    }
    z
}

fn naive_ghash(h: u128, data: &[u8]) -> u128 {
    let mut y = 0u128;
    for chunk in data.chunks(16) {
        let mut b = [0u8; 16];
        b[..chunk.len()].copy_from_slice(chunk);
        y = gf_mul(y ^ u128::from_be_bytes(b), h);
    }
    y
}

/// Naive GCM seal of `buf` (AAD = `buf[..aad_len]`): returns ciphertext-in-place and tag.
fn naive_seal(key: &[u8], nonce: &[u8; 12], buf: &mut [u8], aad_len: usize) -> [u8; 16] {
    let h = u128::from_be_bytes(aes_block(key, [0; 16]));
    let mut j0 = [0u8; 16];
    j0[..12].copy_from_slice(nonce);
    j0[15] = 1;
    let (aad, text) = buf.split_at_mut(aad_len);
    for (i, chunk) in text.chunks_mut(16).enumerate() {
        let mut cb = j0;
        cb[12..].copy_from_slice(&(2 + i as u32).to_be_bytes());
        let ks = aes_block(key, cb);
        for (d, k) in chunk.iter_mut().zip(ks) {
            *d ^= k;
        }
    }
    let mut pad_a = aad.to_vec();
    pad_a.resize(aad.len().div_ceil(16) * 16, 0);
    let mut all = pad_a;
    all.extend_from_slice(text);
    all.resize(all.len().div_ceil(16) * 16, 0);
    all.extend_from_slice(&((aad.len() as u64) * 8).to_be_bytes());
    all.extend_from_slice(&((text.len() as u64) * 8).to_be_bytes());
    let s = naive_ghash(h, &all);
    (s ^ u128::from_be_bytes(aes_block(key, j0))).to_be_bytes()
}

/// One case on every engine: a random nonce and message, sealed by the naive GCM once, then
/// by each engine (`Scalar` among them) in a misaligned buffer (`offset` bytes into a larger
/// one, whose other bytes must stay untouched), compared with the naive result, and opened
/// again.
fn check(
    engines: &[(&'static str, Auto)],
    raw_key: &[u8],
    rng: &mut Rng,
    len: usize,
    aad_len: usize,
    offset: usize,
) {
    let key = GcmKey::new(&SaKey::from_slice(raw_key).unwrap());
    let nonce: [u8; 12] = core::array::from_fn(|_| rng.next_u64() as u8);
    let data = rng.bytes(len);
    let mut want = data.clone();
    let want_tag = naive_seal(raw_key, &nonce, &mut want, aad_len);
    for (name, e) in engines {
        let mut storage = vec![0xEEu8; len + offset + 1];
        let buf = &mut storage[offset..offset + len];
        buf.copy_from_slice(&data);
        let tag = e.seal_in_place(&key, &nonce, buf, aad_len).unwrap();
        let what = format!(
            "{name} key {} len {len} aad {aad_len} off {offset}",
            raw_key.len()
        );
        assert_eq!(buf, &want[..], "{what}: ciphertext");
        assert_eq!(tag, want_tag, "{what}: tag");
        e.open_in_place(&key, &nonce, buf, aad_len, &tag).unwrap();
        assert_eq!(buf, &data[..], "{what}: open");
        assert!(
            storage[..offset].iter().all(|&b| b == 0xEE),
            "{what}: wrote before"
        );
        assert_eq!(storage[offset + len], 0xEE, "{what}: wrote after");
    }
}

#[test]
fn every_backend_matches_naive_gcm_on_every_length() {
    let mut rng = Rng::new(0x6C6D);
    let k128 = rng.bytes(16);
    let k256 = rng.bytes(32);
    let lens: Vec<usize> = if cfg!(miri) {
        vec![0, 1, 15, 16, 17, 33]
    } else {
        (0..=600).collect()
    };
    let engines = engines();
    for key in [&k128, &k256] {
        for &len in &lens {
            let aads: Vec<usize> = if cfg!(miri) {
                vec![0, len / 2, len]
            } else if len <= 64 {
                (0..=len).collect()
            } else {
                vec![0, 1, 15, 16, 17, 24, 40, len / 2, len - 1, len]
            };
            for aad_len in aads {
                let offset = (len + aad_len) % 7;
                check(&engines, key, &mut rng, len, aad_len, offset);
            }
        }
    }
}

#[test]
fn every_backend_matches_naive_gcm_on_random_lengths() {
    let mut rng = Rng::new(0x9216);
    let rounds = if cfg!(miri) { 4 } else { 120 };
    let engines = engines();
    for round in 0..rounds {
        let key = rng.bytes(if round % 2 == 0 { 16 } else { 32 });
        let len = rng.below(if cfg!(miri) { 100 } else { 9217 });
        let aad_len = match round % 3 {
            0 => rng.below(64),
            1 => len,
            _ => rng.below(len + 1),
        }
        .min(len);
        let offset = rng.below(16);
        check(&engines, &key, &mut rng, len, aad_len, offset);
    }
}

/// Every backend equals `Scalar` (seal: ciphertext and tag; open: plaintext) for every
/// length 0..=600 and every `aad_len` from 0 to the length, at shifting misalignments.
#[test]
fn every_backend_matches_scalar_for_every_aad_len() {
    let mut rng = Rng::new(0xAAD);
    let max = if cfg!(miri) { 8 } else { 600 };
    let data = rng.bytes(max + 8);
    for (name, e) in engines() {
        if e.backend() == Backend::Scalar {
            continue; // Scalar against itself proves nothing; the naive tests cover it.
        }
        for raw in [rng.bytes(16), rng.bytes(32)] {
            let key = GcmKey::new(&SaKey::from_slice(&raw).unwrap());
            let nonce: [u8; 12] = core::array::from_fn(|i| i as u8 ^ raw[0]);
            let mut want = vec![0u8; max];
            let mut got = vec![0u8; max + 8];
            for len in 0..=max {
                for aad_len in 0..=len {
                    let off = aad_len % 5;
                    want[..len].copy_from_slice(&data[..len]);
                    let want_tag = Scalar
                        .seal_in_place(&key, &nonce, &mut want[..len], aad_len)
                        .unwrap();
                    let buf = &mut got[off..off + len];
                    buf.copy_from_slice(&data[..len]);
                    let tag = e.seal_in_place(&key, &nonce, buf, aad_len).unwrap();
                    assert_eq!(tag, want_tag, "{name} len {len} aad {aad_len}");
                    assert_eq!(buf, &want[..len], "{name} len {len} aad {aad_len}");
                    e.open_in_place(&key, &nonce, buf, aad_len, &tag).unwrap();
                    assert_eq!(buf, &data[..len], "{name} open len {len} aad {aad_len}");
                }
            }
        }
    }
}

/// Long messages against `Scalar` only (the naive GCM is too slow for them under Miri):
/// lengths around the 128-byte chunks of `Avx2` / `Neon` and the 256-byte chunks of
/// `Avx512`, with and without associated data, both key sizes; the ciphertext, the tag, the
/// open, and a failed open leaving the ciphertext in place. Under Miri this is the test that
/// runs the SIMD kernels' main loops.
#[test]
fn long_messages_match_scalar() {
    let mut rng = Rng::new(0x1234);
    let lens: &[usize] = if cfg!(miri) {
        &[255, 300, 513]
    } else {
        &[
            128, 255, 256, 257, 511, 512, 513, 767, 1024, 1500, 4096, 9000,
        ]
    };
    for (name, e) in engines() {
        if e.backend() == Backend::Scalar {
            continue;
        }
        for raw in [rng.bytes(16), rng.bytes(32)] {
            let key = GcmKey::new(&SaKey::from_slice(&raw).unwrap());
            let nonce: [u8; 12] = core::array::from_fn(|i| i as u8 ^ raw[1]);
            for &len in lens {
                for aad_len in [0, 20.min(len)] {
                    let data = rng.bytes(len);
                    let mut want = data.clone();
                    let want_tag = Scalar
                        .seal_in_place(&key, &nonce, &mut want, aad_len)
                        .unwrap();
                    let mut got = data.clone();
                    let tag = e.seal_in_place(&key, &nonce, &mut got, aad_len).unwrap();
                    let what = format!("{name} key {} len {len} aad {aad_len}", raw.len());
                    assert!(got == want, "{what}: ciphertext");
                    assert_eq!(tag, want_tag, "{what}: tag");
                    let mut bad = tag;
                    bad[0] ^= 1;
                    assert_eq!(
                        e.open_in_place(&key, &nonce, &mut got, aad_len, &bad),
                        Err(Error::Authentication),
                        "{what}"
                    );
                    assert!(got == want, "{what}: failed open changed the buffer");
                    e.open_in_place(&key, &nonce, &mut got, aad_len, &tag)
                        .unwrap();
                    assert!(got == data, "{what}: open");
                }
            }
        }
    }
}
