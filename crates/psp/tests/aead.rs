//! AES-GCM seal/open behaviour beyond the vectors: tampering, GMAC, argument errors, what a
//! failed open leaves in the buffer, key hygiene (`Debug`), and the stated state sizes.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core,
    reason = "test code: a panic is a failure, and values are built from small indices"
)]

use offload_psp::{
    Auto, Backend, Cipher, CmacKey, Error, GcmKey, MasterKeys, RxSa, SaKey, TxSa, Version,
};
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

#[test]
fn any_flipped_bit_fails_and_leaves_no_plaintext() {
    let mut rng = Rng::new(11);
    for (name, e) in engines() {
        for key in [GcmKey::new_128(&[7; 16]), GcmKey::new_256(&[9; 32])] {
            let nonce = [3u8; 12];
            let plain = rng.bytes(61);
            let aad_len = 20;
            let mut sealed = plain.clone();
            let tag = e.seal_in_place(&key, &nonce, &mut sealed, aad_len).unwrap();
            let total_bits = (plain.len() + 16) * 8;
            let step = if cfg!(miri) { 61 } else { 1 };
            for bit in (0..total_bits).step_by(step) {
                let mut buf = sealed.clone();
                let mut t = tag;
                let byte = bit / 8;
                if byte < buf.len() {
                    buf[byte] ^= 1 << (bit % 8);
                } else {
                    t[byte - buf.len()] ^= 1 << (bit % 8);
                }
                let tampered = buf.clone();
                assert_eq!(
                    e.open_in_place(&key, &nonce, &mut buf, aad_len, &t),
                    Err(Error::Authentication),
                    "{name} bit {bit}"
                );
                assert_eq!(buf, tampered, "{name} bit {bit}: buffer changed");
                assert_ne!(buf[aad_len..], plain[aad_len..], "{name}: plaintext left");
            }
            // Wrong nonce, wrong key, wrong aad_len.
            let mut buf = sealed.clone();
            assert_eq!(
                e.open_in_place(&key, &[4; 12], &mut buf, aad_len, &tag),
                Err(Error::Authentication)
            );
            let other = GcmKey::new_128(&[8; 16]);
            assert_eq!(
                e.open_in_place(&other, &nonce, &mut buf, aad_len, &tag),
                Err(Error::Authentication)
            );
            assert_eq!(
                e.open_in_place(&key, &nonce, &mut buf, aad_len + 1, &tag),
                Err(Error::Authentication)
            );
            assert_eq!(buf, sealed);
            e.open_in_place(&key, &nonce, &mut buf, aad_len, &tag)
                .unwrap();
            assert_eq!(buf, plain);
        }
    }
}

#[test]
fn gmac_authenticates_without_encrypting() {
    for (name, e) in engines() {
        let key = GcmKey::new_128(&[1; 16]);
        let msg: Vec<u8> = (0..100u8).collect();
        let mut buf = msg.clone();
        let tag = e
            .seal_in_place(&key, &[0; 12], &mut buf, msg.len())
            .unwrap();
        assert_eq!(buf, msg, "{name}: GMAC changed the message");
        e.open_in_place(&key, &[0; 12], &mut buf, msg.len(), &tag)
            .unwrap();
        buf[99] ^= 0x80;
        assert_eq!(
            e.open_in_place(&key, &[0; 12], &mut buf, msg.len(), &tag),
            Err(Error::Authentication)
        );
        // Empty message: the tag is AES_K(J0) alone, still checked.
        let mut empty = [];
        let t = e.seal_in_place(&key, &[0; 12], &mut empty, 0).unwrap();
        let mut bad = t;
        bad[0] ^= 1;
        assert_eq!(
            e.open_in_place(&key, &[0; 12], &mut empty, 0, &bad),
            Err(Error::Authentication)
        );
        e.open_in_place(&key, &[0; 12], &mut empty, 0, &t).unwrap();
    }
}

#[test]
fn aad_longer_than_buffer_is_rejected_untouched() {
    for (_, e) in engines() {
        let key = GcmKey::new_256(&[5; 32]);
        let mut buf = [1u8; 10];
        assert_eq!(
            e.seal_in_place(&key, &[0; 12], &mut buf, 11),
            Err(Error::AadLength {
                aad_len: 11,
                len: 10
            })
        );
        assert_eq!(
            e.open_in_place(&key, &[0; 12], &mut buf, 11, &[0; 16]),
            Err(Error::AadLength {
                aad_len: 11,
                len: 10
            })
        );
        assert_eq!(buf, [1u8; 10]);
    }
}

#[test]
fn debug_never_prints_key_bytes() {
    let raw = [0xABu8; 32];
    let sa_key = SaKey::new_256(raw);
    let texts = [
        format!("{sa_key:?}"),
        format!("{:?}", GcmKey::new(&sa_key)),
        format!("{:?}", CmacKey::new(&raw)),
        format!("{:?}", MasterKeys::new(&raw, &raw)),
        format!("{:?}", TxSa::new(&sa_key, 1, Version::AesGcm256).unwrap()),
        format!("{:?}", RxSa::<2>::new(MasterKeys::new(&raw, &raw))),
    ];
    for t in &texts {
        assert!(
            !t.contains("171") && !t.to_lowercase().contains("ab"),
            "key bytes in {t}"
        );
    }
    assert_eq!(texts[0], "SaKey { bits: 256, .. }");
    assert_eq!(texts[1], "GcmKey { bits: 256, .. }");
}

#[test]
fn sa_key_lengths() {
    assert_eq!(SaKey::from_slice(&[0; 16]).unwrap().len(), 16);
    assert_eq!(SaKey::from_slice(&[0; 32]).unwrap().len(), 32);
    assert_eq!(
        SaKey::from_slice(&[0; 24]).map(|_| ()),
        Err(Error::KeyLength {
            expected: 32,
            found: 24
        })
    );
    assert_eq!(
        SaKey::from_slice(&[0; 15]).map(|_| ()),
        Err(Error::KeyLength {
            expected: 16,
            found: 15
        })
    );
    assert_eq!(GcmKey::new_128(&[0; 16]).bits(), 128);
    assert_eq!(GcmKey::new_256(&[0; 32]).bits(), 256);
}

/// The README states these sizes (x86_64); a change must update it.
#[test]
fn state_sizes_are_as_documented() {
    if cfg!(target_arch = "x86_64") {
        eprintln!(
            "GcmKey {} MasterKeys {} TxSa {} RxSa<4> {}",
            size_of::<GcmKey>(),
            size_of::<MasterKeys>(),
            size_of::<TxSa>(),
            size_of::<RxSa>()
        );
        assert_eq!(size_of::<GcmKey>(), GCM_KEY_SIZE);
        assert_eq!(size_of::<MasterKeys>(), MASTER_KEYS_SIZE);
        assert_eq!(size_of::<TxSa>(), TX_SA_SIZE);
        assert_eq!(size_of::<RxSa>(), RX_SA_SIZE);
    }
}

const GCM_KEY_SIZE: usize = 1152;
const MASTER_KEYS_SIZE: usize = 1056;
const TX_SA_SIZE: usize = 1184;
const RX_SA_SIZE: usize = 5744;
