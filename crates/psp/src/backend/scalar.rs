//! The portable backend: safe Rust on RustCrypto `aes` (fixsliced, constant-time AES in
//! software; AES-NI/ARMv8 AES when the CPU has them) and `ghash` (constant-time carry-less
//! multiplication; PCLMULQDQ/PMULL when present). This crate adds no table of its own, so
//! nothing here indexes memory by a secret. It is the oracle every other backend must match
//! bit for bit.
//!
//! GCM as in NIST SP 800-38D with a 96-bit IV: `J0 = IV ‖ 0^31 ‖ 1`; the text is XORed with
//! `AES_K(inc32^i(J0))` for `i = 1, 2, …`; `S = GHASH_H(A ‖ pad ‖ C ‖ pad ‖ [len(A)]_64 ‖
//! [len(C)]_64)`; tag = `AES_K(J0) ⊕ S`. Open computes the tag over the ciphertext first,
//! compares it in constant time and decrypts only if it matches.

#![forbid(unsafe_code)]

use ghash::universal_hash::UniversalHash;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::engine::{NONCE_LEN, TAG_LEN, check_lengths};
use crate::key::Schedule;
use crate::{Backend, Cipher, Error, GcmKey};

/// Portable safe Rust, always available.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scalar;

/// Counter blocks encrypted per call into the AES crate (lets AES-NI pipeline them).
const BATCH: usize = 8;

/// XORs `data` with the keystream `AES_K(nonce ‖ ctr)`, `AES_K(nonce ‖ ctr + 1)`, …
/// (counter incremented modulo 2^32, SP 800-38D `inc32`).
fn ctr_xor(schedule: &Schedule, nonce: &[u8; NONCE_LEN], mut ctr: u32, data: &mut [u8]) {
    let mut ks = [aes::Block::default(); BATCH];
    for chunk in data.chunks_mut(16 * BATCH) {
        let blocks = chunk.len().div_ceil(16);
        for block in &mut ks[..blocks] {
            block[..NONCE_LEN].copy_from_slice(nonce);
            block[NONCE_LEN..].copy_from_slice(&ctr.to_be_bytes());
            ctr = ctr.wrapping_add(1);
        }
        schedule.encrypt_blocks(&mut ks[..blocks]);
        for (d, k) in chunk.iter_mut().zip(ks.iter().flat_map(|b| b.iter())) {
            *d ^= *k;
        }
    }
    // Wiped as one byte slice (`fill` and an optimisation barrier): the array form
    // zeroizes block by block and byte by byte, each a volatile write.
    aes::Block::slice_as_flattened_mut(&mut ks).zeroize();
}

/// The GCM tag of (`aad`, `ct`) under `key` and `nonce`.
fn tag(key: &GcmKey, nonce: &[u8; NONCE_LEN], aad: &[u8], ct: &[u8]) -> [u8; TAG_LEN] {
    let mut ghash = key.ghash.clone();
    ghash.update_padded(aad);
    ghash.update_padded(ct);
    let mut lengths = ghash::Block::default();
    lengths[..8].copy_from_slice(&(aad.len() as u64 * 8).to_be_bytes());
    lengths[8..].copy_from_slice(&(ct.len() as u64 * 8).to_be_bytes());
    ghash.update(&[lengths]);
    let s = ghash.finalize();
    let mut j0 = [aes::Block::default()];
    j0[0][..NONCE_LEN].copy_from_slice(nonce);
    j0[0][NONCE_LEN..].copy_from_slice(&1u32.to_be_bytes());
    key.schedule.encrypt_blocks(&mut j0);
    let mut out = [0u8; TAG_LEN];
    for ((o, a), b) in out.iter_mut().zip(j0[0].iter()).zip(s.iter()) {
        *o = a ^ b;
    }
    j0[0].as_mut_slice().zeroize();
    out
}

impl Cipher for Scalar {
    fn backend(&self) -> Backend {
        Backend::Scalar
    }

    fn seal_in_place(
        &self,
        key: &GcmKey,
        nonce: &[u8; NONCE_LEN],
        buf: &mut [u8],
        aad_len: usize,
    ) -> Result<[u8; TAG_LEN], Error> {
        check_lengths(buf.len(), aad_len)?;
        let (aad, text) = buf.split_at_mut(aad_len);
        ctr_xor(&key.schedule, nonce, 2, text);
        Ok(tag(key, nonce, aad, text))
    }

    fn open_in_place(
        &self,
        key: &GcmKey,
        nonce: &[u8; NONCE_LEN],
        buf: &mut [u8],
        aad_len: usize,
        tag_in: &[u8; TAG_LEN],
    ) -> Result<(), Error> {
        check_lengths(buf.len(), aad_len)?;
        let (aad, text) = buf.split_at_mut(aad_len);
        let mut expected = tag(key, nonce, aad, text);
        let ok = expected.ct_eq(tag_in);
        expected.as_mut_slice().zeroize();
        if !bool::from(ok) {
            return Err(Error::Authentication);
        }
        ctr_xor(&key.schedule, nonce, 2, text);
        Ok(())
    }
}
