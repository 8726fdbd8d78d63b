//! The PSP header (PSP Architecture Specification, "PSP Header Version 0"), smoltcp style: a
//! zero-copy view [`Header`] with checked construction and accessors, and a plain
//! [`HeaderRepr`] with [`HeaderRepr::parse`] and [`HeaderRepr::emit`].
//!
//! ```text
//!  0               1               2               3
//! +---------------+---------------+---+-----------+-+-+-------+-+-+
//! |  Next Header  |  Hdr Ext Len  | R |Crypt Off  |S|D|Version|V|1|
//! +---------------+---------------+---+-----------+-+-+-------+-+-+
//! |              Security Parameters Index (SPI)                  |
//! +---------------------------------------------------------------+
//! |              Initialization Vector (IV), 64 bits              |
//! +---------------------------------------------------------------+
//! |        Virtualization Cookie (VC), 64 bits, iff V = 1         |
//! +---------------------------------------------------------------+
//! ```
//!
//! No-panic contract: a [`Header`] made by [`Header::new_checked`] (or one on which
//! [`Header::check_len`] returned `Ok`) never panics in any accessor. One made by
//! [`Header::new_unchecked`] over fewer than 16 bytes panics in the accessors that read past
//! its end. The setters need the same length. [`Header::vc`] returns `None` rather than read
//! past the buffer.

#![forbid(unsafe_code)]

use crate::Error;

/// Byte positions of the fields.
mod field {
    use core::ops::Range;
    pub(crate) const NEXT_HEADER: usize = 0;
    pub(crate) const HDR_EXT_LEN: usize = 1;
    pub(crate) const CRYPT_OFFSET: usize = 2;
    pub(crate) const FLAGS: usize = 3;
    pub(crate) const SPI: Range<usize> = 4..8;
    pub(crate) const IV: Range<usize> = 8..16;
    pub(crate) const VC: Range<usize> = 16..24;
}

/// Length of the fixed header (through the IV); the crypt offset counts from here.
pub const BASE_HEADER_LEN: usize = 16;
/// Length of the virtualization cookie.
pub const VC_LEN: usize = 8;

/// The PSP version: which AEAD algorithm protects the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Version {
    /// 0: AES-GCM with a 128-bit key.
    AesGcm128 = 0,
    /// 1: AES-GCM with a 256-bit key.
    AesGcm256 = 1,
    /// 2: AES-GMAC (authentication only) with a 128-bit key.
    AesGmac128 = 2,
    /// 3: AES-GMAC (authentication only) with a 256-bit key.
    AesGmac256 = 3,
}

impl Version {
    /// All four versions, in code-point order.
    pub const ALL: [Version; 4] = [
        Version::AesGcm128,
        Version::AesGcm256,
        Version::AesGmac128,
        Version::AesGmac256,
    ];

    /// The version with this 4-bit code point.
    ///
    /// # Errors
    /// [`Error::UnsupportedVersion`] above 3.
    pub const fn from_u8(version: u8) -> Result<Self, Error> {
        match version {
            0 => Ok(Version::AesGcm128),
            1 => Ok(Version::AesGcm256),
            2 => Ok(Version::AesGmac128),
            3 => Ok(Version::AesGmac256),
            _ => Err(Error::UnsupportedVersion { version }),
        }
    }

    /// The code point.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// Key length in bytes: 16 or 32.
    pub const fn key_len(self) -> usize {
        match self {
            Version::AesGcm128 | Version::AesGmac128 => 16,
            Version::AesGcm256 | Version::AesGmac256 => 32,
        }
    }

    /// Whether the version only authenticates (GMAC, 2 and 3).
    pub const fn is_gmac(self) -> bool {
        matches!(self, Version::AesGmac128 | Version::AesGmac256)
    }

    /// The SP 800-108 label: `"Pv"`, the ASCII digit of the version, `0x00` (the spec's
    /// OR rule; for 2 and 3 an extrapolation, see [`MasterKeys`](crate::MasterKeys)).
    pub const fn kdf_label(self) -> [u8; 4] {
        [0x50, 0x76, 0x30 | self.as_u8(), 0x00]
    }
}

/// `Ok` if the SPI's low 31 bits are not all zero.
pub(crate) const fn check_spi(spi: u32) -> Result<(), Error> {
    if spi & 0x7FFF_FFFF == 0 {
        Err(Error::InvalidSpi { spi })
    } else {
        Ok(())
    }
}

/// A read/write view of a PSP header at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    /// Wraps `buffer` without checking its length (see the module's no-panic contract).
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps `buffer` after [`Header::check_len`].
    ///
    /// # Errors
    /// [`Error::Truncated`] as for [`Header::check_len`].
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let header = Self::new_unchecked(buffer);
        header.check_len()?;
        Ok(header)
    }

    /// Checks that the buffer holds the 16-byte fixed header and the whole header that
    /// Hdr Ext Len announces. After `Ok`, no accessor panics.
    ///
    /// # Errors
    /// [`Error::Truncated`] when the buffer is shorter.
    pub fn check_len(&self) -> Result<(), Error> {
        let available = self.buffer.as_ref().len();
        if available < BASE_HEADER_LEN {
            return Err(Error::Truncated {
                needed: BASE_HEADER_LEN,
                available,
            });
        }
        let needed = self.header_len().max(BASE_HEADER_LEN);
        if available < needed {
            return Err(Error::Truncated { needed, available });
        }
        Ok(())
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Next Header: the IP protocol number of the payload.
    pub fn next_header(&self) -> u8 {
        self.bytes()[field::NEXT_HEADER]
    }

    /// Hdr Ext Len: header length in 8-octet units after the first 8 octets.
    pub fn hdr_ext_len(&self) -> u8 {
        self.bytes()[field::HDR_EXT_LEN]
    }

    /// Header length in bytes, `8 + 8 * hdr_ext_len` (16 without VC, 24 with).
    pub fn header_len(&self) -> usize {
        8 + 8 * usize::from(self.hdr_ext_len())
    }

    /// The two reserved bits R (byte 2, bits 7..6).
    pub fn reserved(&self) -> u8 {
        self.bytes()[field::CRYPT_OFFSET] >> 6
    }

    /// Crypt Offset in 4-octet units after the IV (0..=63).
    pub fn crypt_offset(&self) -> u8 {
        self.bytes()[field::CRYPT_OFFSET] & 0x3F
    }

    /// S: sample at the receiver.
    pub fn sample(&self) -> bool {
        self.bytes()[field::FLAGS] & 0x80 != 0
    }

    /// D: drop after sampling.
    pub fn drop_after_sample(&self) -> bool {
        self.bytes()[field::FLAGS] & 0x40 != 0
    }

    /// The 4-bit Version field, raw (see [`Version::from_u8`]).
    pub fn version(&self) -> u8 {
        (self.bytes()[field::FLAGS] >> 2) & 0x0F
    }

    /// V: a virtualization cookie follows the IV.
    pub fn vc_present(&self) -> bool {
        self.bytes()[field::FLAGS] & 0x02 != 0
    }

    /// The bit that must always be 1 (byte 3, bit 0).
    pub fn fixed_bit(&self) -> bool {
        self.bytes()[field::FLAGS] & 0x01 != 0
    }

    /// Security Parameters Index.
    pub fn spi(&self) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.bytes()[field::SPI]);
        u32::from_be_bytes(b)
    }

    /// Initialization vector.
    pub fn iv(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.bytes()[field::IV]);
        u64::from_be_bytes(b)
    }

    /// The GCM nonce of this packet: SPI ‖ IV (header bytes 4..16).
    pub fn nonce(&self) -> [u8; 12] {
        let mut n = [0u8; 12];
        n.copy_from_slice(&self.bytes()[field::SPI.start..field::IV.end]);
        n
    }

    /// The virtualization cookie, if V is set and the buffer holds it. Note that with a
    /// crypt offset below 2 the cookie is (partly) encrypted on the wire: read it after
    /// opening the packet.
    pub fn vc(&self) -> Option<u64> {
        if !self.vc_present() {
            return None;
        }
        let bytes = self.bytes().get(field::VC)?;
        let mut b = [0u8; 8];
        b.copy_from_slice(bytes);
        Some(u64::from_be_bytes(b))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    fn set_flag(&mut self, mask: u8, on: bool) {
        let b = &mut self.bytes_mut()[field::FLAGS];
        *b = if on { *b | mask } else { *b & !mask };
    }

    /// Sets Next Header.
    pub fn set_next_header(&mut self, value: u8) {
        self.bytes_mut()[field::NEXT_HEADER] = value;
    }

    /// Sets Hdr Ext Len.
    pub fn set_hdr_ext_len(&mut self, value: u8) {
        self.bytes_mut()[field::HDR_EXT_LEN] = value;
    }

    /// Sets the two reserved bits (only the low 2 bits of `value` are used).
    pub fn set_reserved(&mut self, value: u8) {
        let b = &mut self.bytes_mut()[field::CRYPT_OFFSET];
        *b = (*b & 0x3F) | ((value & 0x03) << 6);
    }

    /// Sets Crypt Offset (only the low 6 bits of `value` are used).
    pub fn set_crypt_offset(&mut self, value: u8) {
        let b = &mut self.bytes_mut()[field::CRYPT_OFFSET];
        *b = (*b & 0xC0) | (value & 0x3F);
    }

    /// Sets S.
    pub fn set_sample(&mut self, on: bool) {
        self.set_flag(0x80, on);
    }

    /// Sets D.
    pub fn set_drop_after_sample(&mut self, on: bool) {
        self.set_flag(0x40, on);
    }

    /// Sets the 4-bit Version field (only the low 4 bits of `value` are used).
    pub fn set_version(&mut self, value: u8) {
        let b = &mut self.bytes_mut()[field::FLAGS];
        *b = (*b & 0xC3) | ((value & 0x0F) << 2);
    }

    /// Sets V.
    pub fn set_vc_present(&mut self, on: bool) {
        self.set_flag(0x02, on);
    }

    /// Sets the always-1 bit (to anything: tests use this to build invalid headers).
    pub fn set_fixed_bit(&mut self, on: bool) {
        self.set_flag(0x01, on);
    }

    /// Sets the SPI.
    pub fn set_spi(&mut self, spi: u32) {
        self.bytes_mut()[field::SPI].copy_from_slice(&spi.to_be_bytes());
    }

    /// Sets the IV.
    pub fn set_iv(&mut self, iv: u64) {
        self.bytes_mut()[field::IV].copy_from_slice(&iv.to_be_bytes());
    }

    /// Writes the VC bytes (16..24); the buffer must hold 24 bytes. Does not touch V.
    pub fn set_vc(&mut self, vc: u64) {
        self.bytes_mut()[field::VC].copy_from_slice(&vc.to_be_bytes());
    }
}

/// A PSP header as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HeaderRepr {
    /// IP protocol of the payload (6 TCP, 17 UDP in transport mode; 4 IPv4, 41 IPv6 in
    /// tunnel mode).
    pub next_header: u8,
    /// Crypt Offset, 4-octet units after the IV (0..=63).
    pub crypt_offset: u8,
    /// S: sample at the receiver.
    pub sample: bool,
    /// D: drop after sampling.
    pub drop_after_sample: bool,
    /// Version.
    pub version: Version,
    /// SPI (low 31 bits non-zero).
    pub spi: u32,
    /// IV.
    pub iv: u64,
    /// Virtualization cookie; `Some` sets V and makes the header 24 bytes.
    pub vc: Option<u64>,
}

impl HeaderRepr {
    /// Parses and validates a header: the fixed bit, the version, the SPI and Hdr Ext Len
    /// (at least 1, at least 2 with V). The reserved bits are ignored, and so are extension
    /// bytes past the VC (Hdr Ext Len above 2). The VC is read as it stands in the buffer:
    /// parse after decryption when the crypt offset is below 2.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::FixedBitClear`], [`Error::UnsupportedVersion`],
    /// [`Error::InvalidSpi`], [`Error::HeaderLength`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(header: &Header<&T>) -> Result<Self, Error> {
        header.check_len()?;
        check_fixed(header)?;
        Ok(Self {
            next_header: header.next_header(),
            crypt_offset: header.crypt_offset(),
            sample: header.sample(),
            drop_after_sample: header.drop_after_sample(),
            version: Version::from_u8(header.version())?,
            spi: header.spi(),
            iv: header.iv(),
            vc: header.vc(),
        })
    }

    /// Header length in bytes: 16, or 24 with a VC.
    pub const fn header_len(&self) -> usize {
        if self.vc.is_some() {
            BASE_HEADER_LEN + VC_LEN
        } else {
            BASE_HEADER_LEN
        }
    }

    /// Writes the header (Hdr Ext Len 1 or 2, R = 0, the fixed bit set).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if the buffer is shorter than [`HeaderRepr::header_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(
        &self,
        header: &mut Header<&mut T>,
    ) -> Result<(), Error> {
        let available = header.buffer.as_ref().len();
        let needed = self.header_len();
        if available < needed {
            return Err(Error::BufferTooSmall { needed, available });
        }
        header.bytes_mut()[..needed].copy_from_slice(&self.to_bytes()[..needed]);
        Ok(())
    }

    /// The header's bytes (the first [`header_len`](Self::header_len) of them; zeros after
    /// a header without VC), as [`emit`](Self::emit) writes them.
    ///
    /// Built in a local array of constant size, which the compiler keeps in registers and
    /// stores with a few wide moves. Encapsulation reads the header back at once (nonce,
    /// associated data), and wide loads of bytes just written one field at a time cannot
    /// take them from the store buffer: they wait for the stores to retire instead.
    #[inline(always)]
    pub(crate) fn to_bytes(self) -> [u8; BASE_HEADER_LEN + VC_LEN] {
        let mut b = [0u8; BASE_HEADER_LEN + VC_LEN];
        let mut header = Header::new_unchecked(&mut b);
        header.set_next_header(self.next_header);
        header.set_hdr_ext_len(if self.vc.is_some() { 2 } else { 1 });
        header.set_crypt_offset(self.crypt_offset);
        header.set_fixed_bit(true);
        header.set_sample(self.sample);
        header.set_drop_after_sample(self.drop_after_sample);
        header.set_version(self.version.as_u8());
        header.set_vc_present(self.vc.is_some());
        header.set_spi(self.spi);
        header.set_iv(self.iv);
        header.set_vc(self.vc.unwrap_or(0));
        b
    }
}

/// The checks on the clear part of a header that need no key: fixed bit, version, SPI,
/// Hdr Ext Len. The caller has checked the length.
pub(crate) fn check_fixed<T: AsRef<[u8]>>(header: &Header<T>) -> Result<Version, Error> {
    if !header.fixed_bit() {
        return Err(Error::FixedBitClear);
    }
    let version = Version::from_u8(header.version())?;
    check_spi(header.spi())?;
    let hdr_ext_len = header.hdr_ext_len();
    if hdr_ext_len < 1 || (header.vc_present() && hdr_ext_len < 2) {
        return Err(Error::HeaderLength { hdr_ext_len });
    }
    Ok(version)
}
