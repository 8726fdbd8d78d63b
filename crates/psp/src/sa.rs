//! Security associations: [`TxSa`] (one key, SPI, version, crypt offset, optional VC and a
//! strictly increasing IV) and [`RxSa`] (the two master keys and a small fixed-size cache of
//! derived keys, by SPI and version).

#![forbid(unsafe_code)]

use crate::header::check_spi;
use crate::{Error, GcmKey, MasterKeys, SaKey, Version};

/// The transmit side of a security association.
///
/// IVs come from a counter that starts at 1 (as the google/psp reference tool does; see
/// [`TxSa::with_iv_start`]) and increases by one per packet sealed; after IV `2^64 - 1` the
/// SA refuses to seal ([`Error::IvExhausted`]), so an IV is never used twice under one key.
/// An IV is consumed only by a packet that is actually sealed.
#[derive(Clone)]
pub struct TxSa {
    key: GcmKey,
    spi: u32,
    version: Version,
    crypt_offset: u8,
    vc: Option<u64>,
    next_iv: u64,
    exhausted: bool,
}

impl TxSa {
    /// An SA with crypt offset 0, no VC, IVs from 1.
    ///
    /// # Errors
    /// [`Error::KeyLength`] if the key size does not fit the version;
    /// [`Error::InvalidSpi`] if the SPI's low 31 bits are zero.
    pub fn new(key: &SaKey, spi: u32, version: Version) -> Result<Self, Error> {
        if key.len() != version.key_len() {
            return Err(Error::KeyLength {
                expected: version.key_len(),
                found: key.len(),
            });
        }
        check_spi(spi)?;
        Ok(Self {
            key: GcmKey::new(key),
            spi,
            version,
            crypt_offset: 0,
            vc: None,
            next_iv: 1,
            exhausted: false,
        })
    }

    /// An SA whose key is derived from `master` for `spi` and `version`.
    ///
    /// # Errors
    /// [`Error::InvalidSpi`] if the SPI's low 31 bits are zero.
    pub fn from_master(master: &MasterKeys, spi: u32, version: Version) -> Result<Self, Error> {
        Self::new(&master.derive(spi, version)?, spi, version)
    }

    /// Sets the crypt offset in 4-byte units after the IV (0..=63; 0 for GMAC versions,
    /// where the field is reserved).
    ///
    /// # Errors
    /// [`Error::CryptOffset`] above 63, or non-zero for a GMAC version.
    pub fn with_crypt_offset(mut self, units: u8) -> Result<Self, Error> {
        if units > 63 || (self.version.is_gmac() && units != 0) {
            return Err(Error::CryptOffset {
                offset_bytes: 4 * usize::from(units),
                available: if self.version.is_gmac() { 0 } else { 252 },
            });
        }
        self.crypt_offset = units;
        Ok(self)
    }

    /// Sets the virtualization cookie (`None`: no VC, a 16-byte header).
    #[must_use]
    pub fn with_vc(mut self, vc: Option<u64>) -> Self {
        self.vc = vc;
        self
    }

    /// Sets the next IV to use (it must never go back for one key: the caller's duty).
    #[must_use]
    pub fn with_iv_start(mut self, iv: u64) -> Self {
        self.next_iv = iv;
        self.exhausted = false;
        self
    }

    /// The SPI.
    pub const fn spi(&self) -> u32 {
        self.spi
    }

    /// The version.
    pub const fn version(&self) -> Version {
        self.version
    }

    /// The crypt offset, 4-byte units.
    pub const fn crypt_offset(&self) -> u8 {
        self.crypt_offset
    }

    /// The virtualization cookie.
    pub const fn vc(&self) -> Option<u64> {
        self.vc
    }

    /// The expanded key.
    pub const fn key(&self) -> &GcmKey {
        &self.key
    }

    /// The IV the next packet will carry, `None` once exhausted.
    pub const fn next_iv(&self) -> Option<u64> {
        if self.exhausted {
            None
        } else {
            Some(self.next_iv)
        }
    }

    /// Takes the next IV.
    pub(crate) fn take_iv(&mut self) -> Result<u64, Error> {
        if self.exhausted {
            return Err(Error::IvExhausted);
        }
        let iv = self.next_iv;
        match iv.checked_add(1) {
            Some(next) => self.next_iv = next,
            None => self.exhausted = true,
        }
        Ok(iv)
    }
}

impl core::fmt::Debug for TxSa {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TxSa")
            .field("spi", &self.spi)
            .field("version", &self.version)
            .field("crypt_offset", &self.crypt_offset)
            .field("vc", &self.vc)
            .field("next_iv", &self.next_iv())
            .finish_non_exhaustive()
    }
}

/// One cached receive key.
#[derive(Clone)]
struct CacheEntry {
    spi: u32,
    version: Version,
    key: GcmKey,
}

/// The receive side: the two master keys and a cache of the last `N` derived, expanded keys
/// (default 4), looked up by SPI and version and replaced round-robin. No heap: the cache is
/// an array inside the value (`N = 0` derives the key for every packet).
#[derive(Clone)]
pub struct RxSa<const N: usize = 4> {
    master: MasterKeys,
    cache: [Option<CacheEntry>; N],
    next_slot: usize,
}

impl<const N: usize> RxSa<N> {
    /// A receiver with an empty cache.
    pub fn new(master: MasterKeys) -> Self {
        Self {
            master,
            cache: [const { None }; N],
            next_slot: 0,
        }
    }

    /// The master keys.
    pub const fn master_keys(&self) -> &MasterKeys {
        &self.master
    }

    /// Forgets every cached key (call after a master-key rotation).
    pub fn clear_cache(&mut self) {
        self.cache = [const { None }; N];
        self.next_slot = 0;
    }

    /// How many keys are cached.
    pub fn cached(&self) -> usize {
        self.cache.iter().flatten().count()
    }

    /// Runs `f` with the expanded key of (`spi`, `version`), from the cache or derived and
    /// then cached.
    ///
    /// # Errors
    /// [`Error::InvalidSpi`] if the SPI's low 31 bits are zero.
    pub fn with_key<R>(
        &mut self,
        spi: u32,
        version: Version,
        f: impl FnOnce(&GcmKey) -> R,
    ) -> Result<R, Error> {
        if let Some(e) = self
            .cache
            .iter()
            .flatten()
            .find(|e| e.spi == spi && e.version == version)
        {
            return Ok(f(&e.key));
        }
        let key = GcmKey::new(&self.master.derive(spi, version)?);
        if N == 0 {
            return Ok(f(&key));
        }
        let slot = self.next_slot % N;
        self.next_slot = (slot + 1) % N;
        let entry = self.cache[slot].insert(CacheEntry { spi, version, key });
        Ok(f(&entry.key))
    }
}

impl<const N: usize> core::fmt::Debug for RxSa<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RxSa")
            .field("capacity", &N)
            .field("cached", &self.cached())
            .finish_non_exhaustive()
    }
}
