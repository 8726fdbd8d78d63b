//! Deflate: raw DEFLATE (RFC 1951), zlib (RFC 1950) and gzip (RFC 1952), compression and
//! decompression, one-shot between caller buffers or streamed in chunks of any size
//! ([`DeflateStream`] and [`InflateStream`], with the `std::io` adapters `Encoder` and
//! `Decoder` behind the `std` feature).
//!
//! Every function takes a [`Codec`] (a backend or [`Auto`](crate::Auto)) and caller-owned
//! state: an [`Inflater`] to decode (its Huffman tables, 11 808 bytes) or a [`Deflater`] to
//! encode (hash tables and the block being built, [`Deflater::SIZE`] bytes); nothing is
//! allocated and the stack use per call is small.
//!
//! **Compression** ([`deflate_raw`], [`zlib_compress`], [`gzip_compress`]) takes a level
//! from 0 (stored) through 1 (fastest: libdeflate's level-1 design) to 9 (smallest) and
//! writes the same bytes on every backend; [`deflate_bound`], [`zlib_bound`] and
//! [`gzip_bound`] give output sizes that always suffice. Nothing past the returned length
//! is written.
//!
//! **Decompression**: the whole compressed stream is in `input` and the whole result goes
//! to `output`, which is also the history matches copy from. Results are `(consumed,
//! produced)`: the input bytes the stream occupied (bytes after it are not an error; they
//! are left for the caller) and the bytes written to `output[..produced]`. Nothing after
//! `output[produced]` is written, on success or error.
//!
//! ```
//! use offload_compress::{Auto, deflate};
//!
//! let codec = Auto::detect();
//! let data = b"hello, hello, hello! hello, hello, hello!";
//!
//! let mut deflater = deflate::Deflater::new(); // 385 KiB: keep it off small stacks
//! let mut stream = [0u8; deflate::zlib_bound(64)];
//! let n = deflate::zlib_compress(codec, &mut deflater, 6, data, &mut stream)?;
//! assert!(n < data.len());
//!
//! let mut inflater = deflate::Inflater::new();
//! let mut out = [0u8; 64];
//! let (consumed, produced) =
//!     deflate::zlib_decompress(codec, &mut inflater, &stream[..n], &mut out)?;
//! assert_eq!((consumed, &out[..produced]), (n, &data[..]));
//! # Ok::<(), offload_compress::Error>(())
//! ```
//!
//! Decoding a stream written elsewhere:
//!
//! ```
//! use offload_compress::{Auto, deflate};
//!
//! // "hello, hello, hello!" as zlib (written by zlib at level 9).
//! let stream = [
//!     0x78, 0xda, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xd7, 0x51, 0xc8, 0x40, 0xa2, 0x14, 0x01,
//!     0x4b, 0x1e, 0x06, 0xf6,
//! ];
//! let mut inflater = deflate::Inflater::new();
//! let mut out = [0u8; 64];
//! let (consumed, produced) =
//!     deflate::zlib_decompress(Auto::detect(), &mut inflater, &stream, &mut out)?;
//! assert_eq!(consumed, stream.len());
//! assert_eq!(&out[..produced], b"hello, hello, hello!");
//! # Ok::<(), offload_compress::Error>(())
//! ```

#![forbid(unsafe_code)]

use crate::error::{ChecksumKind, Corruption, Unsupported};
use crate::{Codec, Error};

pub(crate) mod adler32;
mod bitwriter;
pub(crate) mod compress;
mod encoder;
mod huffman;
pub(crate) mod inflate;
#[cfg(feature = "std")]
mod io;
mod stream;
pub(crate) mod tables;

pub use encoder::DeflateStream;
#[cfg(feature = "std")]
pub use io::{Decoder, Encoder};
pub use stream::{Format, InflateStream, Progress};
use tables::{DIST_ENOUGH, LITLEN_ENOUGH, PRECODE_ENOUGH};

/// The decoder's state: the decode tables of the current block (literal/length 2342
/// entries, distance 402, code-length 128, all `u32`) and the code lengths being read.
/// [`Inflater::SIZE`] bytes (11 808 on every target); reuse one across calls. No result
/// depends on what an earlier call left in it.
#[derive(Clone)]
pub struct Inflater {
    pub(crate) litlen: [u32; LITLEN_ENOUGH],
    pub(crate) dist: [u32; DIST_ENOUGH],
    pub(crate) precode: [u32; PRECODE_ENOUGH],
    /// Code lengths of a dynamic block: literal/length then distance. Kept while the block's
    /// tables are in use: a decoder taking one literal at a time looks up a literal pair's
    /// first code length here (`tables::literal_code_len`).
    pub(crate) lens: [u8; tables::MAX_LITLEN_CODES + tables::MAX_DIST_CODES],
    /// Whether `litlen` holds literal pairs (see `tables`): set with every build of it, so
    /// that a fast loop without the pair handling can run where there are none.
    pub(crate) litlen_pairs: bool,
    /// Whether `litlen` and `dist` hold the fixed code (built once, kept until a dynamic
    /// block replaces them).
    pub(crate) fixed_loaded: bool,
}

impl Inflater {
    /// Size of an inflater in bytes.
    pub const SIZE: usize = size_of::<Inflater>();

    /// A new inflater.
    pub const fn new() -> Self {
        Inflater {
            litlen: [0; LITLEN_ENOUGH],
            dist: [0; DIST_ENOUGH],
            precode: [0; PRECODE_ENOUGH],
            lens: [0; tables::MAX_LITLEN_CODES + tables::MAX_DIST_CODES],
            litlen_pairs: false,
            fixed_loaded: false,
        }
    }
}

impl Default for Inflater {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Inflater")
            .field("bytes", &Self::SIZE)
            .finish_non_exhaustive()
    }
}

/// The compressor's state: the match finder's hash tables (98 304 `u16` positions: level 1's
/// 2^15 two-entry buckets, or the hash-chain levels' 2^16 chain heads and 2^15 entries of
/// the 3-byte table), the 32 768 16-bit chain links, and the current block's sequence store
/// (16 385 entries of 8 bytes) and symbol counts. [`Deflater::SIZE`] bytes (385 KiB on
/// every target); reuse one across calls. It also holds the [`Strategy`] (how blocks are
/// coded), the one setting that outlives a call. No result depends on what an earlier call
/// left in it: each call clears the part of the tables it uses (a part that shrinks with
/// the input, down to 2^10 entries, so small inputs stay cheap).
#[derive(Clone)]
pub struct Deflater {
    pub(crate) state: compress::State,
}

impl Deflater {
    /// Size of a deflater in bytes.
    pub const SIZE: usize = size_of::<Deflater>();

    /// A new deflater, with [`Strategy::Default`].
    pub const fn new() -> Self {
        Deflater {
            state: compress::State::new(),
        }
    }

    /// A new deflater with `strategy`.
    pub const fn with_strategy(strategy: Strategy) -> Self {
        let mut state = compress::State::new();
        state.fixed = matches!(strategy, Strategy::Fixed);
        Deflater { state }
    }

    /// Sets the block coding of the calls and streams that use this deflater from now on.
    pub fn set_strategy(&mut self, strategy: Strategy) {
        self.state.fixed = matches!(strategy, Strategy::Fixed);
    }

    /// The block coding this deflater uses.
    pub const fn strategy(&self) -> Strategy {
        if self.state.fixed {
            Strategy::Fixed
        } else {
            Strategy::Default
        }
    }
}

/// How a [`Deflater`] codes its blocks. The matching (the level) is the same either way.
///
/// ```
/// use offload_compress::{Auto, deflate};
///
/// // Level 1 with the fixed code: the quick mode, for decoders that cannot take a
/// // dynamic Huffman code or encoders that must not wait for a block's statistics.
/// let mut deflater = deflate::Deflater::with_strategy(deflate::Strategy::Fixed);
/// let data = b"a fixed code, a fixed code, a fixed code".repeat(10);
/// let mut stream = vec![0u8; deflate::deflate_bound(data.len())];
/// let n = deflate::deflate_raw(Auto::detect(), &mut deflater, 1, &data, &mut stream)?;
/// assert!(n < data.len());
/// assert_eq!(stream[0] & 0b110, 0b010); // BTYPE 01: fixed Huffman codes
/// # Ok::<(), offload_compress::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// Each block is stored, fixed-Huffman or dynamic-Huffman, whichever is smallest by
    /// exact bit count.
    #[default]
    Default,
    /// Each block is stored or fixed-Huffman (RFC 1951's predefined code), whichever is
    /// smaller; no dynamic code is built (zlib's `Z_FIXED`). At level 1 this is the quick
    /// mode: the same matches, no per-block code construction, and a stream any DEFLATE
    /// decoder reads without building tables, at a worse ratio on data whose byte
    /// frequencies are skewed (text).
    Fixed,
}

impl Default for Deflater {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Deflater")
            .field("strategy", &self.strategy())
            .field("bytes", &Self::SIZE)
            .finish_non_exhaustive()
    }
}

/// The most bytes [`deflate_raw`] produces for `len` input bytes at any level: an output
/// this large never gives [`Error::OutputTooSmall`]. Every block is at most as large as its
/// stored form (5 bytes of header per 65 535 bytes, and per block), and a block that is not
/// the last holds at least 16 384 input bytes, so `len + 5 * (len / 65535 + len / 16384 +
/// 1) + 8` is enough (0.04 % above `len` for large inputs).
pub const fn deflate_bound(len: usize) -> usize {
    len + 5 * (len / 65535 + len / 16384 + 1) + 8
}

/// [`deflate_bound`] plus the zlib header and trailer (6 bytes).
pub const fn zlib_bound(len: usize) -> usize {
    deflate_bound(len) + 6
}

/// [`deflate_bound`] plus the gzip header and trailer (18 bytes) that [`gzip_compress`]
/// writes.
pub const fn gzip_bound(len: usize) -> usize {
    deflate_bound(len) + 18
}

/// Compresses `input` into `output` as one raw DEFLATE stream (RFC 1951) at `level`
/// (0 to 9) and returns its length. The bytes are the same on every backend and for every
/// earlier use of `deflater`.
///
/// Levels: 0 stores (no compression); 1 is the fastest (libdeflate's level-1 design: a
/// hash table of two-entry buckets, greedy matching); 2–4 greedy and 5–9 lazy matching
/// over hash chains searched deeper as the level grows (6 is the usual default, 9 the
/// smallest output). Every block is written as stored, fixed-Huffman or dynamic-Huffman,
/// whichever is smallest by exact bit count (stored or fixed-Huffman only with the
/// deflater's [`Strategy::Fixed`]: level 1 with it is the quick mode). Blocks end where
/// the data's statistics change (libdeflate's heuristic), after 200 000 input bytes, or
/// after 16 384 matches.
///
/// Nothing after `output[n]` (`n` the returned length) is written; on error the contents
/// of `output` are unspecified.
///
/// # Errors
/// [`Error::OutputTooSmall`] (with `needed: None`) when the stream does not fit in
/// `output`; an output of [`deflate_bound`]`(input.len())` bytes always suffices.
/// [`Error::InvalidParameter`] for a level above 9.
pub fn deflate_raw<C: Codec>(
    codec: C,
    deflater: &mut Deflater,
    level: u32,
    input: &[u8],
    output: &mut [u8],
) -> Result<usize, Error> {
    codec.deflate(deflater, level, input, output)
}

/// FLEVEL of the zlib header for a level (zlib's mapping).
const fn zlib_flevel(level: u32) -> u8 {
    match level {
        0 | 1 => 0,
        2..=5 => 1,
        6 => 2,
        _ => 3,
    }
}

/// Compresses `input` into `output` as a zlib stream (RFC 1950): the 2-byte header (32 KiB
/// window, no dictionary, FLEVEL 0 for levels 0–1, 1 for 2–5, 2 for 6, 3 for 7–9, as zlib
/// writes), the raw DEFLATE stream of [`deflate_raw`], and the Adler-32 of `input`
/// (big-endian). Returns the length.
///
/// # Errors
/// As [`deflate_raw`]; [`zlib_bound`] bytes always suffice.
pub fn zlib_compress<C: Codec>(
    codec: C,
    deflater: &mut Deflater,
    level: u32,
    input: &[u8],
    output: &mut [u8],
) -> Result<usize, Error> {
    compress::check_level(level)?;
    let too_small = Error::OutputTooSmall {
        needed: None,
        available: output.len(),
    };
    let header = zlib_header(level);
    if output.len() < 6 {
        return Err(too_small);
    }
    let n = codec
        .deflate(deflater, level, input, &mut output[2..])
        .map_err(|_| too_small)?;
    let end = 2 + n;
    let trailer = codec.adler32(ADLER32_INIT, input).to_be_bytes();
    output
        .get_mut(end..end + 4)
        .ok_or(too_small)?
        .copy_from_slice(&trailer);
    output[..2].copy_from_slice(&header);
    Ok(end + 4)
}

/// Compresses `input` into `output` as one gzip member (RFC 1952) and returns its length.
/// The header is the minimal one: no flags, MTIME 0, XFL 4 for levels 0–1 (fastest), 2 for
/// level 9 (slowest), 0 otherwise (as zlib writes), and OS 255 ("unknown", so the bytes
/// do not depend on the machine); then the raw DEFLATE stream of [`deflate_raw`], the
/// CRC-32 of `input` and its length modulo 2^32.
///
/// # Errors
/// As [`deflate_raw`]; [`gzip_bound`] bytes always suffice.
pub fn gzip_compress<C: Codec>(
    codec: C,
    deflater: &mut Deflater,
    level: u32,
    input: &[u8],
    output: &mut [u8],
) -> Result<usize, Error> {
    compress::check_level(level)?;
    let too_small = Error::OutputTooSmall {
        needed: None,
        available: output.len(),
    };
    let header = gzip_header(level);
    if output.len() < 18 {
        return Err(too_small);
    }
    let n = codec
        .deflate(deflater, level, input, &mut output[10..])
        .map_err(|_| too_small)?;
    let end = 10 + n;
    let crc = codec.crc32(CRC32_INIT, input);
    #[expect(
        clippy::cast_possible_truncation,
        reason = "ISIZE is the size modulo 2^32 by definition"
    )]
    let isize = input.len() as u32;
    let trailer = output.get_mut(end..end + 8).ok_or(too_small)?;
    trailer[..4].copy_from_slice(&crc.to_le_bytes());
    trailer[4..].copy_from_slice(&isize.to_le_bytes());
    output[..10].copy_from_slice(&header);
    Ok(end + 8)
}

/// The Adler-32 of no data: start a running [`Codec::adler32`] from this.
pub const ADLER32_INIT: u32 = 1;
/// The CRC-32 of no data: start a running [`Codec::crc32`] from this.
pub const CRC32_INIT: u32 = 0;

/// Decodes the raw DEFLATE stream (RFC 1951) at the start of `input` into `output`.
/// Returns `(consumed, produced)`: the stream's length in bytes (its last block ends in
/// the last consumed byte; any bytes after it are not looked at) and the bytes written.
///
/// # Errors
/// [`Error::Truncated`] when the input ends before the last block does;
/// [`Error::OutputTooSmall`] (with `needed: None`) when the data decodes to more than
/// `output.len()` bytes; [`Error::Corrupt`] for a broken rule (see the crate docs'
/// strictness list).
pub fn inflate_raw<C: Codec>(
    codec: C,
    inflater: &mut Inflater,
    input: &[u8],
    output: &mut [u8],
) -> Result<(usize, usize), Error> {
    codec.inflate(inflater, input, output, &[])
}

/// As [`inflate_raw`], with `dict` as the history before the output (a preset dictionary:
/// matches may reach back into its last 32 KiB).
///
/// # Errors
/// As [`inflate_raw`].
pub fn inflate_raw_with_dict<C: Codec>(
    codec: C,
    inflater: &mut Inflater,
    input: &[u8],
    output: &mut [u8],
    dict: &[u8],
) -> Result<(usize, usize), Error> {
    codec.inflate(inflater, input, output, dict)
}

/// Decodes the zlib stream (RFC 1950) at the start of `input` into `output` and checks its
/// Adler-32. Returns `(consumed, produced)` as [`inflate_raw`] does, `consumed` including
/// the header and the trailer.
///
/// # Errors
/// As [`inflate_raw`], and [`Error::Corrupt`] for a bad header (compression method other
/// than 8, window above 32 KiB, header check), [`Error::Unsupported`] with
/// [`Unsupported::Dictionary`] when the stream needs a preset dictionary (use
/// [`zlib_decompress_with_dict`]), [`Error::Checksum`] when the Adler-32 does not match.
pub fn zlib_decompress<C: Codec>(
    codec: C,
    inflater: &mut Inflater,
    input: &[u8],
    output: &mut [u8],
) -> Result<(usize, usize), Error> {
    zlib(codec, inflater, input, output, None)
}

/// As [`zlib_decompress`], with the preset dictionary `dict` for a stream that declares one
/// (FDICT). The dictionary must be the one the stream names (its Adler-32); a stream without
/// FDICT decodes without it, as zlib does.
///
/// # Errors
/// As [`zlib_decompress`]; [`Error::Checksum`] with [`ChecksumKind::ZlibDictionary`] when
/// `dict` is not the dictionary the stream names.
pub fn zlib_decompress_with_dict<C: Codec>(
    codec: C,
    inflater: &mut Inflater,
    input: &[u8],
    output: &mut [u8],
    dict: &[u8],
) -> Result<(usize, usize), Error> {
    zlib(codec, inflater, input, output, Some(dict))
}

fn zlib<C: Codec>(
    codec: C,
    inflater: &mut Inflater,
    input: &[u8],
    output: &mut [u8],
    dict: Option<&[u8]>,
) -> Result<(usize, usize), Error> {
    let [cmf, flg, ..] = *input else {
        return Err(Error::Truncated);
    };
    if (u16::from(cmf) << 8 | u16::from(flg)) % 31 != 0 {
        return Err(Corruption::ZlibHeaderCheck { cmf, flg }.into());
    }
    if cmf & 0x0F != 8 {
        return Err(Corruption::ZlibCompressionMethod { method: cmf & 0x0F }.into());
    }
    if cmf >> 4 > 7 {
        return Err(Corruption::ZlibWindowSize { cinfo: cmf >> 4 }.into());
    }
    let mut pos = 2;
    let mut history: &[u8] = &[];
    if flg & 0x20 != 0 {
        let id = read_be32(input, pos)?;
        pos += 4;
        let Some(dict) = dict else {
            return Err(Error::Unsupported(Unsupported::Dictionary { id }));
        };
        let computed = codec.adler32(ADLER32_INIT, dict);
        if computed != id {
            return Err(Error::Checksum {
                kind: ChecksumKind::ZlibDictionary,
                stored: id,
                computed,
            });
        }
        history = dict;
    }
    let (consumed, produced) = codec.inflate(inflater, &input[pos..], output, history)?;
    pos += consumed;
    let stored = read_be32(input, pos)?;
    let computed = codec.adler32(ADLER32_INIT, &output[..produced]);
    if stored != computed {
        return Err(Error::Checksum {
            kind: ChecksumKind::ZlibAdler32,
            stored,
            computed,
        });
    }
    Ok((pos + 4, produced))
}

/// gzip header flag bits (RFC 1952 §2.3.1).
const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;
const FRESERVED: u8 = 0xE0;

/// Decodes the gzip data (RFC 1952) at the start of `input` into `output`: one member, or
/// several in a row, whose results are concatenated (as `gzip -d` does). Each member's
/// CRC-32 and size are checked, and the header CRC when the member has one. Returns
/// `(consumed, produced)` as [`inflate_raw`] does.
///
/// After a member, the next one starts if the following two bytes are the gzip magic
/// (`1f 8b`); otherwise decoding stops and `consumed` tells where the unused bytes begin.
/// The header's optional fields (extra field, name, comment) are checked for length and
/// skipped.
///
/// # Errors
/// As [`inflate_raw`], and [`Error::Corrupt`] for a bad header (magic, method, reserved
/// flags), [`Error::Checksum`] for a CRC-32, size or header CRC mismatch.
pub fn gzip_decompress<C: Codec>(
    codec: C,
    inflater: &mut Inflater,
    input: &[u8],
    output: &mut [u8],
) -> Result<(usize, usize), Error> {
    let mut pos = 0;
    let mut produced = 0;
    loop {
        let (consumed, n) = gzip_member(codec, inflater, &input[pos..], &mut output[produced..])
            .map_err(|e| match e {
                Error::OutputTooSmall { needed: None, .. } => Error::OutputTooSmall {
                    needed: None,
                    available: output.len(),
                },
                e => e,
            })?;
        pos += consumed;
        produced += n;
        if !input[pos..].starts_with(&[0x1F, 0x8B]) {
            return Ok((pos, produced));
        }
    }
}

fn gzip_member<C: Codec>(
    codec: C,
    inflater: &mut Inflater,
    input: &[u8],
    output: &mut [u8],
) -> Result<(usize, usize), Error> {
    let header = input.get(..10).ok_or(Error::Truncated)?;
    if header[..2] != [0x1F, 0x8B] {
        return Err(Corruption::GzipBadMagic {
            found: u16::from_le_bytes([header[0], header[1]]),
        }
        .into());
    }
    if header[2] != 8 {
        return Err(Corruption::GzipCompressionMethod { method: header[2] }.into());
    }
    let flags = header[3];
    if flags & FRESERVED != 0 {
        return Err(Corruption::GzipReservedFlags { flags }.into());
    }
    let mut pos = 10;
    if flags & FEXTRA != 0 {
        let xlen = input.get(pos..pos + 2).ok_or(Error::Truncated)?;
        let xlen = usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
        pos += 2 + xlen;
        if pos > input.len() {
            return Err(Error::Truncated);
        }
    }
    for field in [FNAME, FCOMMENT] {
        if flags & field != 0 {
            let end = input[pos..]
                .iter()
                .position(|&b| b == 0)
                .ok_or(Error::Truncated)?;
            pos += end + 1;
        }
    }
    if flags & FHCRC != 0 {
        let stored = input.get(pos..pos + 2).ok_or(Error::Truncated)?;
        let stored = u32::from(u16::from_le_bytes([stored[0], stored[1]]));
        let computed = codec.crc32(CRC32_INIT, &input[..pos]) & 0xFFFF;
        if stored != computed {
            return Err(Error::Checksum {
                kind: ChecksumKind::GzipHeaderCrc,
                stored,
                computed,
            });
        }
        pos += 2;
    }
    let (consumed, produced) = codec.inflate(inflater, &input[pos..], output, &[])?;
    pos += consumed;
    let stored = read_le32(input, pos)?;
    let computed = codec.crc32(CRC32_INIT, &output[..produced]);
    if stored != computed {
        return Err(Error::Checksum {
            kind: ChecksumKind::GzipCrc32,
            stored,
            computed,
        });
    }
    let stored = read_le32(input, pos + 4)?;
    #[expect(
        clippy::cast_possible_truncation,
        reason = "ISIZE is the size modulo 2^32 by definition"
    )]
    let computed = produced as u32;
    if stored != computed {
        return Err(Error::Checksum {
            kind: ChecksumKind::GzipSize,
            stored,
            computed,
        });
    }
    Ok((pos + 8, produced))
}

fn read_be32(input: &[u8], pos: usize) -> Result<u32, Error> {
    let b = input.get(pos..pos + 4).ok_or(Error::Truncated)?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn read_le32(input: &[u8], pos: usize) -> Result<u32, Error> {
    let b = input.get(pos..pos + 4).ok_or(Error::Truncated)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The zlib header written for `level`: CMF 0x78 (Deflate, 32 KiB window), FLEVEL as zlib
/// maps levels, no dictionary, FCHECK.
pub(crate) fn zlib_header(level: u32) -> [u8; 2] {
    let cmf = 0x78u16;
    let flg = u16::from(zlib_flevel(level)) << 6;
    let fcheck = 31 - (cmf << 8 | flg) % 31;
    #[expect(clippy::cast_possible_truncation, reason = "fcheck <= 31, flg < 256")]
    [0x78, (flg | fcheck) as u8]
}

/// The gzip member header written for `level` (see [`gzip_compress`]).
pub(crate) fn gzip_header(level: u32) -> [u8; 10] {
    let xfl = match level {
        0 | 1 => 4,
        9 => 2,
        _ => 0,
    };
    [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, xfl, 255]
}
