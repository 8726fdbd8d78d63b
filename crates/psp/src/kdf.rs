//! PSP key derivation (PSP Architecture Specification, "Key Derivation"): NIST SP 800-108
//! section 5.1 (KDF in counter mode) with AES-256-CMAC (SP 800-38B) as the PRF, keyed by
//! one of two 256-bit master keys chosen by the SPI's most significant bit.
//!
//! Every PRF input is one 16-byte block of four big-endian 32-bit words:
//!
//! ```text
//! counter (1, then 2) ‖ label ‖ context = SPI ‖ L (key length in bits: 128 or 256)
//! ```
//!
//! A 128-bit key is the first CMAC output; a 256-bit key is the first ‖ the second.
//!
//! Labels: the spec defines `"Pv0\0"` (`50 76 30 00`) for version 0 and `"Pv1\0"`
//! (`50 76 31 00`) for version 1, and says the label may be built by OR-ing the version
//! into byte 3 of `50 76 30 00`. It defines none for the GMAC versions 2 and 3. **This crate
//! extends the OR rule**: version 2 uses `"Pv2\0"` with L = 128, version 3 `"Pv3\0"` with
//! L = 256. No public implementation confirms this; [`MasterKeys::derive_with_label`]
//! takes any label for peers that chose differently.

#![forbid(unsafe_code)]

use aes::Aes256;
use cmac::{Cmac, KeyInit, Mac};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::header::{Version, check_spi};
use crate::{Error, SaKey};

/// One AES-256-CMAC key, with the AES-256 schedule and the CMAC subkeys computed once.
/// Wiped on drop; `Debug` shows no key bytes.
#[derive(Clone)]
pub struct CmacKey(Cmac<Aes256>);

impl CmacKey {
    /// Expands a 256-bit key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self(<Cmac<Aes256> as KeyInit>::new(key.into()))
    }

    /// AES-256-CMAC of `msg` (SP 800-38B, full 128-bit tag).
    pub fn mac(&self, msg: &[u8]) -> [u8; 16] {
        let mut mac = self.0.clone();
        mac.update(msg);
        mac.finalize().into_bytes().into()
    }
}

impl ZeroizeOnDrop for CmacKey {}

impl core::fmt::Debug for CmacKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CmacKey").finish_non_exhaustive()
    }
}

/// The two 256-bit PSP master keys ("device keys"): SPI bit 31 = 0 selects key 0, 1 selects
/// key 1. Both are expanded once (AES-256 schedule + CMAC subkeys), so deriving a 128-bit
/// key costs one AES-256 block and a 256-bit key two.
#[derive(Clone)]
pub struct MasterKeys {
    keys: [CmacKey; 2],
}

impl MasterKeys {
    /// Expands both master keys.
    pub fn new(key0: &[u8; 32], key1: &[u8; 32]) -> Self {
        Self {
            keys: [CmacKey::new(key0), CmacKey::new(key1)],
        }
    }

    /// The key of the SA with this SPI and version (labels as in the module docs).
    ///
    /// # Errors
    /// [`Error::InvalidSpi`] if the SPI's low 31 bits are zero.
    pub fn derive(&self, spi: u32, version: Version) -> Result<SaKey, Error> {
        self.derive_with_label(spi, version.kdf_label(), version.key_len() * 8)
    }

    /// SP 800-108 counter-mode derivation with an explicit 4-byte `label` and key length
    /// `bits` (128 or 256; anything else is taken as 256): for peers that chose another
    /// label for the GMAC versions.
    ///
    /// # Errors
    /// [`Error::InvalidSpi`] if the SPI's low 31 bits are zero.
    pub fn derive_with_label(&self, spi: u32, label: [u8; 4], bits: usize) -> Result<SaKey, Error> {
        check_spi(spi)?;
        let key = &self.keys[usize::from(spi >> 31 == 1)];
        let l: u32 = if bits == 128 { 128 } else { 256 };
        let mut block = [0u8; 16];
        block[4..8].copy_from_slice(&label);
        block[8..12].copy_from_slice(&spi.to_be_bytes());
        block[12..16].copy_from_slice(&l.to_be_bytes());
        let mut out = [0u8; 32];
        let blocks = if l == 128 { 1u32 } else { 2 };
        for i in 1..=blocks {
            block[0..4].copy_from_slice(&i.to_be_bytes());
            let mut k = key.mac(&block);
            let start = (i as usize - 1) * 16;
            out[start..start + 16].copy_from_slice(&k);
            k.zeroize();
        }
        let result = if l == 128 {
            let mut k = [0u8; 16];
            k.copy_from_slice(&out[..16]);
            let key = SaKey::new_128(k);
            k.zeroize();
            key
        } else {
            SaKey::new_256(out)
        };
        out.zeroize();
        Ok(result)
    }
}

impl ZeroizeOnDrop for MasterKeys {}

impl core::fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MasterKeys").finish_non_exhaustive()
    }
}
