//! The crate's one error type.

#![forbid(unsafe_code)]

use core::fmt;

/// Everything that can go wrong, with the numbers needed to act on it. Decoders return the
/// first problem they meet; what they wrote before it is not part of any result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The input ended in the middle of a block, header or trailer.
    Truncated,
    /// The output buffer cannot hold the result.
    OutputTooSmall {
        /// Bytes the result needs, when the format says so up front (a frame's content size,
        /// a compression bound); `None` when the decoder only knows the buffer ran out.
        needed: Option<usize>,
        /// Bytes the buffer has.
        available: usize,
    },
    /// The compressed data breaks a rule of its format (see [`Corruption`] for which).
    Corrupt(Corruption),
    /// A checksum in the data does not match the data.
    Checksum {
        /// Which checksum.
        kind: ChecksumKind,
        /// The value stored in the data.
        stored: u32,
        /// The value computed over what was decoded.
        computed: u32,
    },
    /// A frame declares its content size and decodes to a different one.
    ContentSize {
        /// The size the header declares.
        declared: u64,
        /// The size the blocks decoded to.
        decoded: u64,
    },
    /// Valid data that uses a feature this crate does not implement, or that the caller must
    /// supply (for example a dictionary).
    Unsupported(Unsupported),
    /// Caller storage for a streaming codec is smaller than the data needs (for example a
    /// frame with 4 MiB blocks given storage sized for 64 KiB blocks).
    StorageTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        available: usize,
    },
    /// A parameter of the call is out of range (see the message).
    InvalidParameter {
        /// What is wrong, in words.
        what: &'static str,
    },
}

/// The format rule compressed data broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Corruption {
    /// An LZ4 match offset of 0.
    Lz4OffsetZero,
    /// An LZ4 match reaches further back than the history (output so far plus dictionary).
    Lz4OffsetOutOfWindow {
        /// The offset in the data.
        offset: usize,
        /// Bytes of history available at that point.
        history: usize,
    },
    /// A length extension that would overflow the decoder's counters.
    Lz4LengthOverflow,
    /// An LZ4 frame or skippable-frame magic number was expected and not found.
    Lz4BadMagic {
        /// The four bytes read, little-endian.
        found: u32,
    },
    /// A reserved bit of an LZ4 frame descriptor is set.
    Lz4ReservedBit,
    /// An LZ4 frame block-maximum-size id outside 4..=7.
    Lz4BlockSizeId {
        /// The id read.
        id: u8,
    },
    /// An LZ4 frame block larger than the frame's block maximum.
    Lz4BlockTooLarge {
        /// The block size read.
        size: usize,
        /// The frame's block maximum.
        max: usize,
    },
    /// An LZ4 frame block that decodes to more than the frame's block maximum.
    Lz4BlockOverflow {
        /// The frame's block maximum.
        max: usize,
    },
    /// Bytes after an LZ4 frame that are not the start of another frame.
    Lz4TrailingData {
        /// Where they start in the input.
        at: usize,
    },
    /// A DEFLATE block header with BTYPE 3 (reserved).
    DeflateBlockType,
    /// A stored block whose NLEN is not the one's complement of its LEN.
    DeflateStoredLength {
        /// LEN as read.
        len: u16,
        /// NLEN as read.
        nlen: u16,
    },
    /// A dynamic block declaring more than 286 literal/length or 30 distance codes.
    DeflateTooManyCodes {
        /// Literal/length codes declared (HLIT + 257).
        litlen: usize,
        /// Distance codes declared (HDIST + 1).
        distance: usize,
    },
    /// Code lengths that describe more codes than the code space holds.
    DeflateOversubscribedCode {
        /// Which code: `code-length`, `literal/length` or `distance`.
        code: &'static str,
    },
    /// Code lengths that leave part of the code space unused (allowed only for a single
    /// one-bit code, or an empty distance code).
    DeflateIncompleteCode {
        /// Which code: `code-length`, `literal/length` or `distance`.
        code: &'static str,
    },
    /// Code-length repeat code 16 as the first length of a dynamic block.
    DeflateRepeatWithoutPrevious,
    /// A code-length run that goes past the number of codes the block declared.
    DeflateCodeLengthsOverrun,
    /// A dynamic block whose end-of-block symbol (256) has no code.
    DeflateMissingEndOfBlock,
    /// Literal/length symbol 286 or 287 (they have codes in the fixed code but no meaning).
    DeflateLitLenSymbol {
        /// The symbol.
        symbol: u16,
    },
    /// Distance symbol 30 or 31 (they have codes in the fixed code but no meaning).
    DeflateDistanceSymbol {
        /// The symbol.
        symbol: u16,
    },
    /// A bit pattern that no code of an incomplete (single-code or empty) code uses.
    DeflateInvalidCode {
        /// Which code: `literal/length` or `distance`.
        code: &'static str,
    },
    /// A DEFLATE match reaching further back than the history (output so far plus
    /// dictionary).
    DeflateDistanceTooFar {
        /// The distance in the data.
        distance: usize,
        /// Bytes of history available at that point.
        history: usize,
    },
    /// A zlib header whose 16-bit value is not a multiple of 31 (FCHECK).
    ZlibHeaderCheck {
        /// The CMF byte.
        cmf: u8,
        /// The FLG byte.
        flg: u8,
    },
    /// A zlib compression method other than 8 (deflate).
    ZlibCompressionMethod {
        /// The CM field.
        method: u8,
    },
    /// A zlib window size field (CINFO) above 7, i.e. a window above 32 KiB.
    ZlibWindowSize {
        /// The CINFO field.
        cinfo: u8,
    },
    /// Not a gzip member: the first two bytes are not `1f 8b`.
    GzipBadMagic {
        /// The two bytes read, little-endian.
        found: u16,
    },
    /// A gzip compression method other than 8 (deflate).
    GzipCompressionMethod {
        /// The CM byte.
        method: u8,
    },
    /// A gzip header with a reserved flag bit (5, 6 or 7) set.
    GzipReservedFlags {
        /// The FLG byte.
        flags: u8,
    },
}

/// Which checksum failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChecksumKind {
    /// The LZ4 frame descriptor's header checksum byte.
    Lz4Header,
    /// An LZ4 frame block checksum.
    Lz4Block,
    /// An LZ4 frame content checksum.
    Lz4Content,
    /// A zlib stream's Adler-32 trailer.
    ZlibAdler32,
    /// The Adler-32 of the dictionary the caller gave, against the DICTID the zlib stream
    /// names: the wrong dictionary.
    ZlibDictionary,
    /// A gzip member's CRC-32 trailer.
    GzipCrc32,
    /// A gzip member's ISIZE trailer (decoded size modulo 2^32).
    GzipSize,
    /// A gzip header's CRC-16 (FHCRC).
    GzipHeaderCrc,
}

/// A valid feature the decoder cannot apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unsupported {
    /// An LZ4 frame version other than `01`.
    Lz4Version {
        /// The two version bits.
        version: u8,
    },
    /// Data compressed against a dictionary the caller did not supply.
    Dictionary {
        /// The dictionary's id as the data gives it.
        id: u32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => f.write_str("compressed data is truncated"),
            Error::OutputTooSmall {
                needed: Some(needed),
                available,
            } => write!(
                f,
                "output buffer too small: {needed} bytes needed, {available} available"
            ),
            Error::OutputTooSmall {
                needed: None,
                available,
            } => write!(
                f,
                "output buffer too small: the data decodes to more than {available} bytes"
            ),
            Error::Corrupt(c) => write!(f, "corrupt data: {c}"),
            Error::Checksum {
                kind,
                stored,
                computed,
            } => write!(
                f,
                "{kind} mismatch: stored {stored:#010x}, computed {computed:#010x}"
            ),
            Error::ContentSize { declared, decoded } => write!(
                f,
                "content size mismatch: header declares {declared} bytes, data decodes to {decoded}"
            ),
            Error::Unsupported(u) => write!(f, "unsupported: {u}"),
            Error::StorageTooSmall { needed, available } => write!(
                f,
                "streaming storage too small: {needed} bytes needed, {available} given"
            ),
            Error::InvalidParameter { what } => write!(f, "invalid parameter: {what}"),
        }
    }
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Corruption::Lz4OffsetZero => f.write_str("LZ4 match offset 0"),
            Corruption::Lz4OffsetOutOfWindow { offset, history } => write!(
                f,
                "LZ4 match offset {offset} reaches before the start of the data ({history} bytes of history)"
            ),
            Corruption::Lz4LengthOverflow => f.write_str("LZ4 length extension overflows"),
            Corruption::Lz4BadMagic { found } => {
                write!(f, "not an LZ4 frame (magic number {found:#010x})")
            }
            Corruption::Lz4ReservedBit => {
                f.write_str("LZ4 frame descriptor has a reserved bit set")
            }
            Corruption::Lz4BlockSizeId { id } => {
                write!(f, "LZ4 frame block maximum size id {id} (valid: 4 to 7)")
            }
            Corruption::Lz4BlockOverflow { max } => write!(
                f,
                "LZ4 frame block decodes to more than the frame's block maximum of {max} bytes"
            ),
            Corruption::Lz4TrailingData { at } => write!(
                f,
                "bytes at offset {at} after an LZ4 frame are not another frame"
            ),
            Corruption::Lz4BlockTooLarge { size, max } => write!(
                f,
                "LZ4 frame block of {size} bytes exceeds the frame's block maximum of {max}"
            ),
            Corruption::DeflateBlockType => f.write_str("DEFLATE block type 3 (reserved)"),
            Corruption::DeflateStoredLength { len, nlen } => write!(
                f,
                "DEFLATE stored block length {len:#06x} does not match its complement {nlen:#06x}"
            ),
            Corruption::DeflateTooManyCodes { litlen, distance } => write!(
                f,
                "DEFLATE block declares {litlen} literal/length and {distance} distance codes (at most 286 and 30)"
            ),
            Corruption::DeflateOversubscribedCode { code } => {
                write!(f, "DEFLATE {code} code is over-subscribed")
            }
            Corruption::DeflateIncompleteCode { code } => {
                write!(f, "DEFLATE {code} code is incomplete")
            }
            Corruption::DeflateRepeatWithoutPrevious => {
                f.write_str("DEFLATE code lengths start with a repeat of the previous length")
            }
            Corruption::DeflateCodeLengthsOverrun => {
                f.write_str("DEFLATE code-length run goes past the declared codes")
            }
            Corruption::DeflateMissingEndOfBlock => {
                f.write_str("DEFLATE block has no code for end-of-block")
            }
            Corruption::DeflateLitLenSymbol { symbol } => {
                write!(
                    f,
                    "DEFLATE literal/length symbol {symbol} (valid: 0 to 285)"
                )
            }
            Corruption::DeflateDistanceSymbol { symbol } => {
                write!(f, "DEFLATE distance symbol {symbol} (valid: 0 to 29)")
            }
            Corruption::DeflateInvalidCode { code } => {
                write!(f, "DEFLATE bit pattern matches no {code} code")
            }
            Corruption::DeflateDistanceTooFar { distance, history } => write!(
                f,
                "DEFLATE match distance {distance} reaches before the start of the data ({history} bytes of history)"
            ),
            Corruption::ZlibHeaderCheck { cmf, flg } => write!(
                f,
                "zlib header check failed (CMF {cmf:#04x}, FLG {flg:#04x}: not a multiple of 31)"
            ),
            Corruption::ZlibCompressionMethod { method } => {
                write!(
                    f,
                    "zlib compression method {method} (only 8, deflate, exists)"
                )
            }
            Corruption::ZlibWindowSize { cinfo } => {
                write!(f, "zlib window size field {cinfo} (at most 7, 32 KiB)")
            }
            Corruption::GzipBadMagic { found } => {
                write!(f, "not a gzip member (magic number {found:#06x})")
            }
            Corruption::GzipCompressionMethod { method } => {
                write!(
                    f,
                    "gzip compression method {method} (only 8, deflate, exists)"
                )
            }
            Corruption::GzipReservedFlags { flags } => {
                write!(f, "gzip header flags {flags:#04x} set a reserved bit")
            }
        }
    }
}

impl fmt::Display for ChecksumKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChecksumKind::Lz4Header => "LZ4 frame header checksum",
            ChecksumKind::Lz4Block => "LZ4 block checksum",
            ChecksumKind::Lz4Content => "LZ4 content checksum",
            ChecksumKind::ZlibAdler32 => "zlib Adler-32",
            ChecksumKind::ZlibDictionary => "zlib dictionary id (Adler-32 of the dictionary)",
            ChecksumKind::GzipCrc32 => "gzip CRC-32",
            ChecksumKind::GzipSize => "gzip size (ISIZE)",
            ChecksumKind::GzipHeaderCrc => "gzip header CRC",
        })
    }
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsupported::Lz4Version { version } => {
                write!(f, "LZ4 frame version {version} (only version 1 exists)")
            }
            Unsupported::Dictionary { id } => {
                write!(f, "data needs dictionary {id:#010x}, none was supplied")
            }
        }
    }
}

impl core::error::Error for Error {}

/// For the `std::io` adapters (and `?` in `std::io` code): `InvalidInput` for a bad
/// parameter or too little storage, `UnexpectedEof` for truncated data, `InvalidData` for
/// everything else (corrupt or unsupported data, a checksum mismatch, too small an output).
#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        let kind = match e {
            Error::InvalidParameter { .. } | Error::StorageTooSmall { .. } => {
                std::io::ErrorKind::InvalidInput
            }
            Error::Truncated => std::io::ErrorKind::UnexpectedEof,
            _ => std::io::ErrorKind::InvalidData,
        };
        std::io::Error::new(kind, e)
    }
}

impl From<Corruption> for Error {
    fn from(c: Corruption) -> Self {
        Error::Corrupt(c)
    }
}
