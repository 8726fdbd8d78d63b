//! The crate's one error type.

#![forbid(unsafe_code)]

/// Everything that can go wrong, with the numbers needed to fix the call.
///
/// Authentication failure is one detail-free variant, [`Error::Authentication`]: a receiver
/// learns nothing about *why* a tag did not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The tag did not match: the packet (or AEAD message) was forged, damaged or sealed
    /// under another key. The buffer holds exactly what it held before the call.
    Authentication,
    /// The caller's buffer cannot hold the result.
    BufferTooSmall {
        /// Bytes the result needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// The packet ends before a header or field it announces.
    Truncated {
        /// Bytes the packet would need.
        needed: usize,
        /// Bytes it has.
        available: usize,
    },
    /// `aad_len` is larger than the buffer it describes.
    AadLength {
        /// The `aad_len` given.
        aad_len: usize,
        /// Length of the buffer.
        len: usize,
    },
    /// A GCM message (or a packet) is longer than the algorithm or the header fields allow.
    TooLong {
        /// Bytes given (or that the result would have).
        len: usize,
        /// The most allowed.
        max: usize,
    },
    /// A derived key of the wrong size for the PSP version (16 bytes for versions 0 and 2,
    /// 32 for versions 1 and 3).
    KeyLength {
        /// Bytes the version needs.
        expected: usize,
        /// Bytes given.
        found: usize,
    },
    /// PSP header byte 3, bit 0 (the always-1 bit) is 0.
    FixedBitClear,
    /// PSP version above 3 (reserved).
    UnsupportedVersion {
        /// The 4-bit version field.
        version: u8,
    },
    /// An SPI whose low 31 bits are all zero (reserved by the spec).
    InvalidSpi {
        /// The SPI.
        spi: u32,
    },
    /// Hdr Ext Len does not describe a valid header: it must be at least 1, and at least 2
    /// when the V bit announces a virtualization cookie.
    HeaderLength {
        /// The Hdr Ext Len field (header length = 8 + 8 * this).
        hdr_ext_len: u8,
    },
    /// The crypt offset points past the end of the payload (or is above 63 units, or non-zero
    /// for a GMAC version on transmit).
    CryptOffset {
        /// Clear bytes after the IV the offset asks for (4 * crypt offset).
        offset_bytes: usize,
        /// Bytes after the IV up to the end of the payload.
        available: usize,
    },
    /// The outer UDP destination port is not the PSP port 1000.
    UdpPort {
        /// The destination port found.
        port: u16,
    },
    /// An IP protocol (or IPv6 next header) this operation cannot carry or expects
    /// otherwise: decapsulation needs UDP (17) in the outer header.
    Protocol {
        /// The protocol number found.
        protocol: u8,
    },
    /// An IP or UDP header is inconsistent (see the message for which field).
    Malformed {
        /// What is wrong, in words.
        what: &'static str,
    },
    /// The transmit SA has used its last IV (2^64 - 1): rekey with a new SPI.
    IvExhausted,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Error::Authentication => f.write_str("authentication failed"),
            Error::BufferTooSmall { needed, available } => write!(
                f,
                "buffer of {available} bytes is too small: {needed} needed"
            ),
            Error::Truncated { needed, available } => write!(
                f,
                "truncated packet: {available} bytes where its headers need {needed}"
            ),
            Error::AadLength { aad_len, len } => write!(
                f,
                "aad_len {aad_len} is larger than the buffer of {len} bytes"
            ),
            Error::TooLong { len, max } => {
                write!(f, "{len} bytes is too long: at most {max}")
            }
            Error::KeyLength { expected, found } => write!(
                f,
                "derived key of {found} bytes: this PSP version needs {expected}"
            ),
            Error::FixedBitClear => f.write_str("PSP header byte 3 bit 0 must be 1"),
            Error::UnsupportedVersion { version } => write!(
                f,
                "unsupported PSP version {version}: only 0 to 3 are defined"
            ),
            Error::InvalidSpi { spi } => write!(
                f,
                "SPI {spi:#010x} is reserved: its low 31 bits must not all be zero"
            ),
            Error::HeaderLength { hdr_ext_len } => write!(
                f,
                "PSP Hdr Ext Len {hdr_ext_len} is invalid: at least 1, and 2 with a \
                 virtualization cookie"
            ),
            Error::CryptOffset {
                offset_bytes,
                available,
            } => write!(
                f,
                "crypt offset of {offset_bytes} bytes is past the payload ({available} bytes \
                 after the IV), above 252, or non-zero for GMAC"
            ),
            Error::UdpPort { port } => {
                write!(f, "UDP destination port {port} is not the PSP port 1000")
            }
            Error::Protocol { protocol } => {
                write!(f, "IP protocol {protocol} is not supported here")
            }
            Error::Malformed { what } => write!(f, "malformed packet: {what}"),
            Error::IvExhausted => {
                f.write_str("IV space of this SA is exhausted: rekey with a new SPI")
            }
        }
    }
}

impl core::error::Error for Error {}
