//! Known-answer vectors, on every backend: Wycheproof AES-GCM and AES-GMAC (96-bit IV,
//! 128-bit tag, 128- and 256-bit keys), the GCM specification's test cases (McGrew and
//! Viega, "The Galois/Counter Mode of Operation", test cases 1-4 and 13-16), Wycheproof and
//! NIST SP 800-38B AES-256-CMAC, and the PSP specification's key-derivation examples.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::std_instead_of_core,
    clippy::cast_possible_truncation,
    clippy::too_many_arguments,
    clippy::type_complexity,
    reason = "test code: a panic is a failure, values come from small indices, and vector \
              tables are spelled out"
)]

use offload_psp::{
    Auto, Backend, Cipher, CmacKey, Error, GcmKey, MasterKeys, SaKey, Scalar, Version,
};
use offload_testkit::select_backends;

fn engines() -> Vec<(&'static str, Auto)> {
    select_backends(
        "offload-psp",
        Backend::ALL
            .into_iter()
            .map(|b| (b.name(), Auto::with_backend(b)))
            .collect(),
    )
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn gcm_key(key: &[u8]) -> GcmKey {
    GcmKey::new(&SaKey::from_slice(key).unwrap())
}

/// Seals `pt` after `aad` and checks ciphertext and tag; opens it back; checks that a wrong
/// tag fails and leaves the ciphertext in place.
fn check_gcm(
    e: &impl Cipher,
    key: &GcmKey,
    nonce: &[u8; 12],
    aad: &[u8],
    pt: &[u8],
    ct: &[u8],
    tag: &[u8],
    what: &str,
) {
    let mut buf = [aad, pt].concat();
    let got = e.seal_in_place(key, nonce, &mut buf, aad.len()).unwrap();
    assert_eq!(&buf[..aad.len()], aad, "{what}: aad changed");
    assert_eq!(&buf[aad.len()..], ct, "{what}: ciphertext");
    assert_eq!(&got[..], tag, "{what}: tag");
    let sealed = buf.clone();
    let mut bad = got;
    bad[15] ^= 1;
    assert_eq!(
        e.open_in_place(key, nonce, &mut buf, aad.len(), &bad),
        Err(Error::Authentication),
        "{what}"
    );
    assert_eq!(buf, sealed, "{what}: failed open changed the buffer");
    e.open_in_place(key, nonce, &mut buf, aad.len(), &got)
        .unwrap();
    assert_eq!(&buf[aad.len()..], pt, "{what}: plaintext");
}

#[test]
#[cfg_attr(
    miri,
    ignore = "parsing the Wycheproof JSON under Miri takes many minutes"
)]
fn wycheproof_aes_gcm_on_every_backend() {
    use wycheproof::aead::{TestName, TestSet};
    let set = TestSet::load(TestName::AesGcm).unwrap();
    for (name, e) in engines() {
        let (mut valid, mut invalid) = (0, 0);
        for group in &set.test_groups {
            if group.nonce_size != 96 || group.tag_size != 128 || group.key_size == 192 {
                continue;
            }
            for t in &group.tests {
                let key = gcm_key(&t.key);
                let nonce: [u8; 12] = t.nonce.as_ref().try_into().unwrap();
                let tag: [u8; 16] = t.tag.as_ref().try_into().unwrap();
                let what = format!("{name} tc {} {}", t.tc_id, t.comment);
                if t.result.must_fail() {
                    let mut buf = [t.aad.as_ref(), t.ct.as_ref()].concat();
                    let before = buf.clone();
                    assert_eq!(
                        e.open_in_place(&key, &nonce, &mut buf, t.aad.len(), &tag),
                        Err(Error::Authentication),
                        "{what}"
                    );
                    assert_eq!(buf, before, "{what}: failed open changed the buffer");
                    invalid += 1;
                } else {
                    check_gcm(&e, &key, &nonce, &t.aad, &t.pt, &t.ct, &tag, &what);
                    valid += 1;
                }
            }
        }
        eprintln!("{name}: wycheproof aes_gcm {valid} valid, {invalid} invalid");
        assert!(valid > 50 && invalid > 20, "too few vectors ran");
    }
}

/// AES-GMAC (the algorithm of PSP versions 2 and 3): GCM with everything as AAD.
#[test]
#[cfg_attr(
    miri,
    ignore = "parsing the Wycheproof JSON under Miri takes many minutes"
)]
fn wycheproof_aes_gmac_on_every_backend() {
    use wycheproof::mac_with_nonce::{TestName, TestSet};
    let set = TestSet::load(TestName::Gmac).unwrap();
    for (name, e) in engines() {
        let mut ran = 0;
        for group in &set.test_groups {
            if group.nonce_size != 96 || group.tag_size != 128 || group.key_size == 192 {
                continue;
            }
            for t in &group.tests {
                let key = gcm_key(&t.key);
                let nonce: [u8; 12] = t.nonce.as_ref().try_into().unwrap();
                let tag: [u8; 16] = t.tag.as_ref().try_into().unwrap();
                let mut buf = t.msg.to_vec();
                let what = format!("{name} tc {} {}", t.tc_id, t.comment);
                let got = e
                    .seal_in_place(&key, &nonce, &mut buf, t.msg.len())
                    .unwrap();
                assert_eq!(buf, &t.msg[..], "{what}: GMAC changed the message");
                assert_eq!(got == tag, !t.result.must_fail(), "{what}");
                let opened = e.open_in_place(&key, &nonce, &mut buf, t.msg.len(), &tag);
                assert_eq!(opened.is_ok(), !t.result.must_fail(), "{what}");
                assert_eq!(buf, &t.msg[..], "{what}");
                ran += 1;
            }
        }
        assert!(ran > 20, "{name}: only {ran} GMAC vectors ran");
    }
}

/// McGrew and Viega, "The Galois/Counter Mode of Operation (GCM)", appendix B.
#[test]
fn gcm_spec_test_cases_on_every_backend() {
    let p = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
    let a = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
    let k = "feffe9928665731c6d6a8f9467308308";
    let iv = "cafebabefacedbaddecaf888";
    let c3 = "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e\
              21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985";
    let c15 = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
               8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad";
    let z16 = "00000000000000000000000000000000";
    let z32 = "0000000000000000000000000000000000000000000000000000000000000000";
    let z12 = "000000000000000000000000";
    let k256 = format!("{k}{k}");
    // (case, key, iv, aad, plaintext, ciphertext, tag); cases 4 and 16 use 60 bytes.
    let cases: Vec<(u32, String, &str, &str, Vec<u8>, Vec<u8>, &str)> = vec![
        (
            1,
            z16.into(),
            z12,
            "",
            vec![],
            vec![],
            "58e2fccefa7e3061367f1d57a4e7455a",
        ),
        (
            2,
            z16.into(),
            z12,
            "",
            hex(z16),
            hex("0388dace60b6a392f328c2b971b2fe78"),
            "ab6e47d42cec13bdf53a67b21257bddf",
        ),
        (
            3,
            k.into(),
            iv,
            "",
            hex(p),
            hex(c3),
            "4d5c2af327cd64a62cf35abd2ba6fab4",
        ),
        (
            4,
            k.into(),
            iv,
            a,
            hex(p)[..60].to_vec(),
            hex(c3)[..60].to_vec(),
            "5bc94fbc3221a5db94fae95ae7121a47",
        ),
        (
            13,
            z32.into(),
            z12,
            "",
            vec![],
            vec![],
            "530f8afbc74536b9a963b4f1c4cb738b",
        ),
        (
            14,
            z32.into(),
            z12,
            "",
            hex(z16),
            hex("cea7403d4d606b6e074ec5d3baf39d18"),
            "d0d1c8a799996bf0265b98b5d48ab919",
        ),
        (
            15,
            k256.clone(),
            iv,
            "",
            hex(p),
            hex(c15),
            "b094dac5d93471bdec1a502270e3cc6c",
        ),
        (
            16,
            k256,
            iv,
            a,
            hex(p)[..60].to_vec(),
            hex(c15)[..60].to_vec(),
            "76fc6ece0f4e1768cddf8853bb2d551b",
        ),
    ];
    for (name, e) in engines() {
        for (case, key, iv, aad, pt, ct, tag) in &cases {
            let key = gcm_key(&hex(key));
            let nonce: [u8; 12] = hex(iv).try_into().unwrap();
            check_gcm(
                &e,
                &key,
                &nonce,
                &hex(aad),
                pt,
                ct,
                &hex(tag),
                &format!("{name} case {case}"),
            );
        }
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "parsing the Wycheproof JSON under Miri takes many minutes"
)]
fn wycheproof_aes256_cmac() {
    use wycheproof::mac::{TestName, TestSet};
    let set = TestSet::load(TestName::AesCmac).unwrap();
    let mut ran = 0;
    for group in &set.test_groups {
        if group.key_size != 256 || group.tag_size != 128 {
            continue;
        }
        for t in &group.tests {
            let key = CmacKey::new(t.key.as_ref().try_into().unwrap());
            let ok = key.mac(&t.msg)[..] == t.tag[..];
            assert_eq!(ok, !t.result.must_fail(), "tc {} {}", t.tc_id, t.comment);
            ran += 1;
        }
    }
    assert!(ran > 20, "only {ran} CMAC vectors ran");
}

/// NIST SP 800-38B, appendix D.3 (AES-256), examples 9 to 12.
#[test]
fn sp800_38b_aes256_cmac_examples() {
    let key = CmacKey::new(
        &hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
            .try_into()
            .unwrap(),
    );
    let m = hex(
        "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51\
         30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
    );
    for (len, tag) in [
        (0, "028962f61b7bf89efc6b551f4667d983"),
        (16, "28a7023f452e8f82bd4bf28d8c37c35c"),
        (40, "aaf3d8f1de5640c232f5b169b9c911e6"),
        (64, "e1992190549f6ed5696a2c056c315410"),
    ] {
        assert_eq!(key.mac(&m[..len])[..], hex(tag)[..], "len {len}");
    }
}

fn spec_master_keys() -> MasterKeys {
    MasterKeys::new(
        &hex("34448a064292601b11a0978f56a2d34cf3fc35ede1a6bc04f8db3e5243a2b0ca")
            .try_into()
            .unwrap(),
        &hex("563952565d3a78ae773ec1b779f2f2d99f4a7f53a6fbb9b07d5b71f39364d739")
            .try_into()
            .unwrap(),
    )
}

/// PSP Architecture Specification, "Examples of key derivation".
#[test]
fn psp_spec_kdf_examples() {
    let mk = spec_master_keys();
    let k = mk.derive(0x1234_5678, Version::AesGcm128).unwrap();
    assert_eq!(k.as_bytes(), &hex("96c22dc799198090b74b70ae468e4e30")[..]);
    let k = mk.derive(0x9A34_5678, Version::AesGcm128).unwrap();
    assert_eq!(k.as_bytes(), &hex("3946da2554eae46ad1ef77a64372edc4")[..]);
    let k = mk.derive(0x1234_5678, Version::AesGcm256).unwrap();
    assert_eq!(
        k.as_bytes(),
        &hex("2b7d72074e42ca334487f2990e3f8c4037e436f38283449b76463e9b7fb2e3de")[..]
    );
}

/// The derivation is exactly CMAC over the documented input blocks, including the chosen
/// labels for the GMAC versions ("Pv2\0", "Pv3\0").
#[test]
fn kdf_input_blocks_are_as_documented() {
    let k0: [u8; 32] = core::array::from_fn(|i| i as u8);
    let k1: [u8; 32] = core::array::from_fn(|i| 0xA0 ^ i as u8);
    let mk = MasterKeys::new(&k0, &k1);
    for spi in [
        0x0000_0001u32,
        0x7FFF_FFFF,
        0x8000_0001,
        0xFFFF_FFFF,
        0x1234_5678,
    ] {
        let cmac = CmacKey::new(if spi >> 31 == 0 { &k0 } else { &k1 });
        for version in Version::ALL {
            let v = version.as_u8();
            let l: u32 = if version.key_len() == 16 { 128 } else { 256 };
            let mut want = Vec::new();
            for i in 1..=(version.key_len() / 16) as u32 {
                let mut block = Vec::new();
                block.extend_from_slice(&i.to_be_bytes());
                block.extend_from_slice(&[0x50, 0x76, 0x30 + v, 0x00]);
                block.extend_from_slice(&spi.to_be_bytes());
                block.extend_from_slice(&l.to_be_bytes());
                want.extend_from_slice(&cmac.mac(&block));
            }
            let got = mk.derive(spi, version).unwrap();
            assert_eq!(got.as_bytes(), &want[..], "spi {spi:#x} {version:?}");
            let custom = mk
                .derive_with_label(spi, [0x50, 0x76, 0x30 + v, 0], version.key_len() * 8)
                .unwrap();
            assert_eq!(custom.as_bytes(), &want[..]);
        }
    }
    assert_eq!(
        mk.derive(0x8000_0000, Version::AesGcm128).map(|_| ()),
        Err(Error::InvalidSpi { spi: 0x8000_0000 })
    );
    assert_eq!(
        mk.derive(0, Version::AesGcm256).map(|_| ()),
        Err(Error::InvalidSpi { spi: 0 })
    );
}

#[test]
fn scalar_is_a_backend() {
    assert_eq!(Scalar.backend(), Backend::Scalar);
    assert_eq!(
        Auto::with_backend(Backend::Scalar).unwrap().backend(),
        Backend::Scalar
    );
    assert!(
        Backend::ALL
            .iter()
            .all(|b| b.is_compiled() || Auto::with_backend(*b).is_none())
    );
    assert_eq!(Backend::Scalar.to_string(), "scalar");
}
