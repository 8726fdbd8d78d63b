//! Key material: [`SaKey`] (the raw 16- or 32-byte AES key of one security association) and
//! [`GcmKey`] (that key expanded for AES-GCM: the AES key schedule and the GHASH key
//! `H = AES_K(0^128)`, computed once per key).
//!
//! Both wipe themselves when dropped (`zeroize`), and their `Debug` output never shows key
//! bytes.

#![forbid(unsafe_code)]

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes::{Aes128, Aes256};
use ghash::GHash;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Error;

/// A raw AES-GCM key: 16 bytes (AES-128) or 32 bytes (AES-256). Wiped on drop.
#[derive(Clone)]
pub struct SaKey {
    bytes: [u8; 32],
    len: usize,
}

impl SaKey {
    /// An AES-128 key.
    pub const fn new_128(key: [u8; 16]) -> Self {
        let mut bytes = [0u8; 32];
        let mut i = 0;
        while i < 16 {
            bytes[i] = key[i];
            i += 1;
        }
        Self { bytes, len: 16 }
    }

    /// An AES-256 key.
    pub const fn new_256(key: [u8; 32]) -> Self {
        Self {
            bytes: key,
            len: 32,
        }
    }

    /// A key from a slice of 16 or 32 bytes.
    ///
    /// # Errors
    /// [`Error::KeyLength`] for any other length (`expected` is 16 if the slice is shorter
    /// than 16 bytes, 32 otherwise).
    pub fn from_slice(key: &[u8]) -> Result<Self, Error> {
        let mut bytes = [0u8; 32];
        match key.len() {
            16 | 32 => {
                bytes[..key.len()].copy_from_slice(key);
                Ok(Self {
                    bytes,
                    len: key.len(),
                })
            }
            n => Err(Error::KeyLength {
                expected: if n < 16 { 16 } else { 32 },
                found: n,
            }),
        }
    }

    /// The key bytes (16 or 32). Handle with care: this is the secret.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Key length in bytes: 16 or 32.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Always `false`: a key is never empty. (Present because `len` is.)
    pub const fn is_empty(&self) -> bool {
        false
    }
}

impl Drop for SaKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl ZeroizeOnDrop for SaKey {}

impl core::fmt::Debug for SaKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SaKey")
            .field("bits", &(self.len * 8))
            .finish_non_exhaustive()
    }
}

/// The AES key schedule of a [`GcmKey`].
#[derive(Clone)]
pub(crate) enum Schedule {
    Aes128(Aes128),
    Aes256(Aes256),
}

impl Schedule {
    /// Encrypts blocks in place (a batch lets AES-NI/VAES pipeline them).
    #[inline]
    pub(crate) fn encrypt_blocks(&self, blocks: &mut [aes::Block]) {
        match self {
            Schedule::Aes128(c) => c.encrypt_blocks(blocks),
            Schedule::Aes256(c) => c.encrypt_blocks(blocks),
        }
    }
}

/// An AES-GCM key, expanded once: the AES-128 or AES-256 key schedule and the GHASH key
/// `H = AES_K(0^128)` (held by GHASH in its multiplication-ready form), and on CPUs with
/// the `Avx2` (x86_64) or `Neon` (aarch64) backend also that backend's round keys and 8
/// powers of `H`.
///
/// Built from an [`SaKey`] with [`GcmKey::new`] and used by every [`Cipher`](crate::Cipher)
/// backend. Wiped on drop (the `aes` and `ghash` crates zeroize their state, built with their
/// `zeroize` features); `Debug` prints only the key size. The size of this value is
/// `core::mem::size_of::<GcmKey>()`; the crate's README states it for x86_64.
#[derive(Clone)]
pub struct GcmKey {
    pub(crate) schedule: Schedule,
    pub(crate) ghash: GHash,
    /// The `Avx2` backend's form of the key, when the CPU has that backend.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    pub(crate) simd: Option<crate::backend::avx2::KeyState>,
    /// The `Neon` backend's form of the key, when the CPU has that backend.
    #[cfg(target_arch = "aarch64")]
    pub(crate) simd: Option<crate::backend::neon::KeyState>,
}

impl GcmKey {
    /// Expands `key`.
    pub fn new(key: &SaKey) -> Self {
        let schedule = match key.len {
            16 => {
                let mut k = [0u8; 16];
                k.copy_from_slice(&key.bytes[..16]);
                let cipher = Aes128::new((&k).into());
                k.zeroize();
                Schedule::Aes128(cipher)
            }
            _ => Schedule::Aes256(Aes256::new((&key.bytes).into())),
        };
        let mut h = [aes::Block::default()];
        schedule.encrypt_blocks(&mut h);
        let ghash = GHash::new(&h[0]);
        h[0].zeroize();
        Self {
            schedule,
            ghash,
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            simd: crate::backend::Avx2::new().map(|a| a.expand(key.as_bytes())),
            #[cfg(target_arch = "aarch64")]
            simd: crate::backend::Neon::new().map(|n| n.expand(key.as_bytes())),
        }
    }

    /// An AES-128-GCM key.
    pub fn new_128(key: &[u8; 16]) -> Self {
        Self::new(&SaKey::new_128(*key))
    }

    /// An AES-256-GCM key.
    pub fn new_256(key: &[u8; 32]) -> Self {
        Self::new(&SaKey::new_256(*key))
    }

    /// Key length in bits: 128 or 256.
    pub const fn bits(&self) -> usize {
        match self.schedule {
            Schedule::Aes128(_) => 128,
            Schedule::Aes256(_) => 256,
        }
    }
}

impl ZeroizeOnDrop for GcmKey {}

impl core::fmt::Debug for GcmKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GcmKey")
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}
