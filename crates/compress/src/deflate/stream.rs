//! Streaming Deflate decoding: raw DEFLATE, zlib and gzip taken in input chunks of any size
//! (down to one byte) and written into output chunks of any size (down to one byte), with
//! no heap and no caller storage. [`InflateStream`] holds everything carried from one call
//! to the next — the 32 KiB window of history, the decode tables, the bit buffer, a header
//! or trailer being collected, a match cut by the end of the output — in
//! [`InflateStream::SIZE`] bytes (44 712 on 64-bit targets).
//!
//! It decodes exactly what the one-shot functions decode ([`inflate_raw`](super::inflate_raw),
//! [`zlib_decompress`](super::zlib_decompress), [`gzip_decompress`](super::gzip_decompress),
//! multi-member included) and rejects what they reject with the same [`Error`] variant:
//! same tables (the same builder), same rules, same order of checks. A stream that ends
//! early is reported by [`InflateStream::finish`], called when the input has run out.
//!
//! How it goes: a state machine that reads input a byte at a time into a bit buffer, only
//! when the bits it holds do not decide the next step, so the buffer never holds a whole
//! unread byte between steps (which is what makes `consumed` exact). Inside a Huffman
//! block, while at least 16 input and 258 output bytes remain, a fast path takes over:
//! 8-byte refills, a whole symbol (literal, or length, distance and copy) per step, matches
//! copied from the output or, for the part before this run's first byte, from the window;
//! when it stops it gives the whole bytes left in the bit buffer back to the input and
//! appends its output to the window. The slow path copies each byte through the window.
//!
//! See [`InflateStream`] for an example.

#![forbid(unsafe_code)]

use super::inflate::{
    self, Bits, FAST_IN, FAST_OUT, FastKernel, History, SLACK, bad_dist, bad_litlen, copy_match,
    sub_entry, value_of,
};
use super::tables::{
    self, DIST_TABLE_BITS, END_OF_BLOCK, EXCEPTIONAL, Kind, LITLEN_TABLE_BITS, MAX_DIST_CODES,
    MAX_LITLEN_CODES, PRECODE_ORDER, PRECODE_TABLE_BITS, SUBTABLE, TOTAL_MASK, is_literal,
    literal_code_len,
};
use super::{ADLER32_INIT, CRC32_INIT, FCOMMENT, FEXTRA, FHCRC, FNAME, FRESERVED, Inflater};
use crate::error::{ChecksumKind, Corruption, Unsupported};
use crate::{Codec, Error};

pub use crate::lz4::Progress;

/// History a DEFLATE match may reach back into.
const WINDOW: usize = 32 * 1024;
const WINDOW_MASK: usize = WINDOW - 1;

/// The container around the DEFLATE data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Raw DEFLATE (RFC 1951), as [`inflate_raw`](super::inflate_raw).
    Raw,
    /// zlib (RFC 1950), as [`zlib_decompress`](super::zlib_decompress).
    Zlib,
    /// gzip (RFC 1952), one member or several in a row, as
    /// [`gzip_decompress`](super::gzip_decompress).
    Gzip,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Collecting CMF and FLG.
    ZlibHeader,
    /// Collecting the dictionary id.
    ZlibDictId,
    /// Collecting the 10 fixed bytes of a member header.
    GzHeader,
    /// Collecting XLEN.
    GzExtraLen,
    /// Skipping the extra field: bytes left.
    GzExtra(u16),
    /// Skipping the file name up to its zero byte.
    GzName,
    /// Skipping the comment up to its zero byte.
    GzComment,
    /// Collecting the header CRC.
    GzHeaderCrc,
    /// Reading the 3 header bits of a block.
    BlockHeader,
    /// Collecting a stored block's LEN and NLEN.
    StoredLen,
    /// Copying a stored block: bytes left.
    Stored(u16),
    /// Reading HLIT, HDIST and HCLEN.
    DynCounts,
    /// Reading the code-length code's lengths: the next one's index.
    Precode(u8),
    /// Reading the literal/length and distance code lengths: the next one's index.
    CodeLens(u16),
    /// Decoding literal/length symbols.
    Symbols,
    /// Decoding the distance of a match of this length.
    Dist(u16),
    /// Copying a match: bytes left and distance.
    Copy { len: u16, dist: u16 },
    /// After an end-of-block code: the next block, or the trailer after the last.
    BlockEnd,
    /// Collecting zlib's Adler-32.
    ZlibTrailer,
    /// Collecting a gzip member's CRC-32.
    GzCrc,
    /// Collecting a gzip member's ISIZE.
    GzSize,
    /// After a gzip member: another one if the next bytes are the gzip magic.
    MemberEnd,
    /// The stream has ended; nothing more is consumed.
    Done,
    /// An error was returned; it is returned again.
    Failed(Error),
}

/// A streaming Deflate decoder (raw, zlib or gzip) that keeps its 32 KiB window inside
/// itself: [`InflateStream::SIZE`] bytes, no heap, no caller storage.
///
/// Feed it with [`decompress`](InflateStream::decompress) until the input runs out, then
/// call [`finish`](InflateStream::finish) to learn whether the stream was complete.
///
/// ```
/// use offload_compress::{Auto, deflate};
/// use deflate::{Format, InflateStream};
///
/// // "hello, hello, hello!" as zlib (written by zlib at level 9).
/// let stream = [
///     0x78, 0xda, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xd7, 0x51, 0xc8, 0x40, 0xa2, 0x14, 0x01,
///     0x4b, 0x1e, 0x06, 0xf6,
/// ];
/// let codec = Auto::detect();
/// let mut decoder = InflateStream::new(Format::Zlib);
/// let mut text = Vec::new();
/// let mut out = [0u8; 3];
/// for chunk in stream.chunks(5) {
///     let mut rest = chunk;
///     loop {
///         let p = decoder.decompress(codec, rest, &mut out)?;
///         rest = &rest[p.consumed..];
///         text.extend_from_slice(&out[..p.produced]);
///         if p.produced < out.len() && rest.is_empty() {
///             break;
///         }
///     }
/// }
/// decoder.finish()?; // the input has ended: was the stream complete?
/// assert!(decoder.is_finished());
/// assert_eq!(text, b"hello, hello, hello!");
/// # Ok::<(), offload_compress::Error>(())
/// ```
#[derive(Clone)]
pub struct InflateStream {
    inflater: Inflater,
    window: [u8; WINDOW],
    /// Where the next output byte goes in `window` (total written, modulo the window).
    wpos: usize,
    format: Format,
    state: State,
    /// LSB-first bit buffer; the bits above `bitcnt` are zero.
    bitbuf: u64,
    bitcnt: u32,
    /// Whether the current block is the last.
    last: bool,
    /// Code counts of the dynamic header being read.
    hlit: u16,
    hdist: u16,
    hclen: u8,
    precode_lens: [u8; 19],
    /// Output of the current raw stream (a gzip member's, a zlib stream's) so far.
    out_total: u64,
    /// History before the current raw stream's output (the dictionary's length).
    hist: usize,
    /// Length and Adler-32 of the dictionary given at creation.
    dict_len: usize,
    dict_id: Option<u32>,
    /// Running Adler-32 (zlib) or CRC-32 (gzip) of the output.
    check: u32,
    /// Header and trailer bytes being collected.
    small: [u8; 10],
    small_len: u8,
    /// gzip: the optional header fields still to read, and the header's running CRC-32.
    gz_fields: u8,
    header_crc: u32,
}

impl InflateStream {
    /// Size of a decoder in bytes: the window (32 KiB), the decode tables
    /// ([`Inflater::SIZE`]) and a few words.
    pub const SIZE: usize = size_of::<InflateStream>();

    /// A decoder for one stream of `format` (for gzip, one member or several).
    pub const fn new(format: Format) -> Self {
        InflateStream {
            inflater: Inflater::new(),
            window: [0; WINDOW],
            wpos: 0,
            format,
            state: match format {
                Format::Raw => State::BlockHeader,
                Format::Zlib => State::ZlibHeader,
                Format::Gzip => State::GzHeader,
            },
            bitbuf: 0,
            bitcnt: 0,
            last: false,
            hlit: 0,
            hdist: 0,
            hclen: 0,
            precode_lens: [0; 19],
            out_total: 0,
            hist: 0,
            dict_len: 0,
            dict_id: None,
            check: match format {
                Format::Gzip => CRC32_INIT,
                _ => ADLER32_INIT,
            },
            small: [0; 10],
            small_len: 0,
            gz_fields: 0,
            header_crc: CRC32_INIT,
        }
    }

    /// A decoder with a preset dictionary: for [`Format::Raw`] the history before the
    /// output (as [`inflate_raw_with_dict`](super::inflate_raw_with_dict)); for
    /// [`Format::Zlib`] the dictionary a stream with FDICT names (as
    /// [`zlib_decompress_with_dict`](super::zlib_decompress_with_dict); a stream without
    /// FDICT decodes without it). Only its last 32 KiB are kept.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for [`Format::Gzip`], which has no dictionaries.
    pub fn with_dictionary<C: Codec>(codec: C, format: Format, dict: &[u8]) -> Result<Self, Error> {
        if format == Format::Gzip {
            return Err(Error::InvalidParameter {
                what: "gzip streams have no preset dictionary",
            });
        }
        let mut s = Self::new(format);
        let tail = &dict[dict.len().saturating_sub(WINDOW)..];
        s.window[..tail.len()].copy_from_slice(tail);
        s.wpos = tail.len() & WINDOW_MASK;
        s.dict_len = dict.len();
        s.dict_id = Some(codec.adler32(ADLER32_INIT, dict));
        if format == Format::Raw {
            s.hist = dict.len();
        }
        Ok(s)
    }

    /// Whether the stream has ended for sure, so nothing more will be consumed: a raw or
    /// zlib stream after its last block or trailer, gzip data after a member followed by
    /// bytes that are not the gzip magic. (After a gzip member at the end of the input,
    /// another could still follow: [`finish`](InflateStream::finish) tells.)
    pub fn is_finished(&self) -> bool {
        self.state == State::Done
    }

    /// Checks that the stream was complete: call it when there is no more input. A gzip
    /// stream may end after any whole member.
    ///
    /// # Errors
    /// [`Error::Truncated`] when the input stopped inside the stream (or, as the one-shot
    /// decoder does, the [`Error::Corrupt`] that zero bits after the end would have given
    /// when they decide an invalid code without being consumed); the error already
    /// returned by [`decompress`](InflateStream::decompress) if there was one.
    pub fn finish(&self) -> Result<(), Error> {
        match self.state {
            State::Done | State::MemberEnd => Ok(()),
            State::Failed(e) => Err(e),
            // The one-shot decoder appends zero bits after the input and only reports
            // truncation if it consumed one; an invalid code looked up with them is not
            // consumed, so it is reported as such.
            State::Symbols => {
                let entry = padded_entry(&self.inflater.litlen, LITLEN_TABLE_BITS, self.bitbuf);
                if entry & EXCEPTIONAL != 0 && entry & END_OF_BLOCK == 0 {
                    Err(bad_litlen(entry))
                } else {
                    Err(Error::Truncated)
                }
            }
            State::Dist(_) => {
                let entry = padded_entry(&self.inflater.dist, DIST_TABLE_BITS, self.bitbuf);
                if entry & EXCEPTIONAL != 0 {
                    Err(bad_dist(entry))
                } else {
                    Err(Error::Truncated)
                }
            }
            _ => Err(Error::Truncated),
        }
    }

    /// Takes compressed bytes from `input`, writes decoded bytes to `output`. Returns when
    /// the input is used up, the output is full, or the stream has ended; `consumed` stops
    /// at the stream's end (as the one-shot functions' `consumed` does), so bytes after it
    /// are left for the caller. The work is bounded by the sizes of `input` and `output`.
    /// Checksums are checked as soon as they are read.
    ///
    /// A gzip member's end with one byte `1f` after it is a special case: that byte is not
    /// consumed until the next byte shows whether another member starts, so pass it again
    /// with more input (or call [`finish`](InflateStream::finish) if there is none).
    ///
    /// # Errors
    /// The one-shot functions' errors, except [`Error::Truncated`] and
    /// [`Error::OutputTooSmall`]: the input's end is only known to
    /// [`finish`](InflateStream::finish), and the output is taken as it comes. After an
    /// error the decoder stays failed: every later call returns the same error. What it
    /// wrote before the error is not part of any result.
    pub fn decompress<C: Codec>(
        &mut self,
        codec: C,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<Progress, Error> {
        if let State::Failed(e) = self.state {
            return Err(e);
        }
        let mut io = Cursor {
            ip: 0,
            op: 0,
            seg: 0,
        };
        match self.run(codec, input, output, &mut io) {
            Ok(()) => {
                self.sum(codec, &output[io.seg..io.op]);
                Ok(Progress {
                    consumed: io.ip,
                    produced: io.op,
                })
            }
            Err(e) => {
                self.state = State::Failed(e);
                Err(e)
            }
        }
    }

    fn sum<C: Codec>(&mut self, codec: C, data: &[u8]) {
        match self.format {
            Format::Raw => {}
            Format::Zlib => self.check = codec.adler32(self.check, data),
            Format::Gzip => self.check = codec.crc32(self.check, data),
        }
    }

    /// Adds the next input byte to the bit buffer; false when the input is used up.
    #[inline]
    fn pull(&mut self, input: &[u8], ip: &mut usize) -> bool {
        match input.get(*ip) {
            Some(&b) => {
                self.bitbuf |= u64::from(b) << self.bitcnt;
                self.bitcnt += 8;
                *ip += 1;
                true
            }
            None => false,
        }
    }

    /// Makes the bit buffer hold at least `n` bits; false when the input runs out first.
    #[inline]
    fn need(&mut self, n: u32, input: &[u8], ip: &mut usize) -> bool {
        while self.bitcnt < n {
            if !self.pull(input, ip) {
                return false;
            }
        }
        true
    }

    #[inline]
    fn consume(&mut self, n: u32) {
        self.bitbuf >>= n;
        self.bitcnt -= n;
    }

    /// Reads `n <= 16` bits the buffer holds.
    #[inline]
    #[expect(clippy::cast_possible_truncation, reason = "n <= 16 bits")]
    fn take(&mut self, n: u32) -> u32 {
        let v = (self.bitbuf & ((1u64 << n) - 1)) as u32;
        self.consume(n);
        v
    }

    /// The table entry of the next symbol (not consumed), pulling input bytes until the
    /// bits held decide it; `None` when the input runs out first.
    #[inline]
    fn symbol(&mut self, which: Table, input: &[u8], ip: &mut usize) -> Option<u32> {
        loop {
            let inf = &self.inflater;
            let (table, table_bits, lens): (&[u32], u32, Option<&[u8]>) = match which {
                Table::LitLen => (&inf.litlen, LITLEN_TABLE_BITS, Some(&inf.lens)),
                Table::Dist => (&inf.dist, DIST_TABLE_BITS, None),
                Table::Precode => (&inf.precode, PRECODE_TABLE_BITS, None),
            };
            if let Some(entry) = decided_entry(table, table_bits, lens, self.bitbuf, self.bitcnt) {
                return Some(entry);
            }
            if !self.pull(input, ip) {
                return None;
            }
        }
    }

    /// Copies up to `want - small_len` input bytes into `small`; true once it holds `want`.
    fn collect(&mut self, input: &[u8], ip: &mut usize, want: usize) -> bool {
        let have = usize::from(self.small_len);
        if have >= want {
            return true;
        }
        let take = (want - have).min(input.len() - *ip);
        self.small[have..have + take].copy_from_slice(&input[*ip..*ip + take]);
        *ip += take;
        self.small_len = u8_of(have + take);
        have + take == want
    }

    /// Appends decoded bytes to the window (only the last 32 KiB of `data` matter).
    fn remember_output(&mut self, data: &[u8]) {
        self.remember(&data[data.len().saturating_sub(WINDOW)..]);
    }

    /// Appends decoded bytes to the window.
    fn remember(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let n = (WINDOW - self.wpos).min(data.len());
            self.window[self.wpos..self.wpos + n].copy_from_slice(&data[..n]);
            self.wpos = (self.wpos + n) & WINDOW_MASK;
            data = &data[n..];
        }
    }

    /// The fast path of a Huffman block: the one-shot decoder's fast loop
    /// ([`inflate::fast_loop`]) over the rest of the output buffer, with the window as the
    /// history before it. Entered with fewer than 8 bits held; on exit the whole bytes the
    /// bit buffer holds are given back to the input (they were loaded in this run), so
    /// fewer than 8 are held again, and the run's output goes to the window. Returns
    /// whether the block ended.
    ///
    /// Always inlined into [`Codec::inflate_stream_fast`], which each backend compiles for
    /// its CPU features (BMI2 shifts for the bit buffer, on x86), as it does the one-shot
    /// decoder. Inlining it into [`run`](Self::run) instead, with the whole state machine
    /// around it, measured 36 % more instructions (callgrind, 4 MiB of text in 64 KiB
    /// chunks): the fast loop then shares its registers with the state machine.
    #[inline(always)]
    pub(crate) fn fast<K: FastKernel>(
        &mut self,
        input: &[u8],
        output: &mut [u8],
        ip: &mut usize,
        op_out: &mut usize,
    ) -> Result<bool, Error> {
        let start = *op_out;
        let ring = Ring {
            window: &self.window,
            wpos: self.wpos,
            history: self.out_total.saturating_add(self.hist as u64),
        };
        let mut bits = Bits {
            input,
            ip: *ip,
            buf: self.bitbuf,
            left: self.bitcnt,
        };
        let mut op = 0;
        let ended = inflate::fast_loop::<K, _>(
            &self.inflater,
            &mut bits,
            &mut output[start..],
            &mut op,
            &ring,
        )?;
        let whole = bits.held() / 8;
        let left = bits.held() - whole * 8;
        *ip = bits.ip - whole as usize;
        self.bitbuf = bits.buf & ((1u64 << left) - 1);
        self.bitcnt = left;
        *op_out = start + op;
        self.out_total += op as u64;
        self.remember_output(&output[start..start + op]);
        Ok(ended)
    }

    /// Starts a raw stream (after a zlib or gzip header).
    fn start_deflate(&mut self) {
        self.state = State::BlockHeader;
        self.bitbuf = 0;
        self.bitcnt = 0;
        self.last = false;
        self.out_total = 0;
        self.check = match self.format {
            Format::Gzip => CRC32_INIT,
            _ => ADLER32_INIT,
        };
    }

    /// The next gzip header field, or the DEFLATE data.
    fn next_gz_field(&mut self) {
        self.small_len = 0;
        let f = self.gz_fields;
        if f & FEXTRA != 0 {
            self.state = State::GzExtraLen;
        } else if f & FNAME != 0 {
            self.state = State::GzName;
        } else if f & FCOMMENT != 0 {
            self.state = State::GzComment;
        } else if f & FHCRC != 0 {
            self.state = State::GzHeaderCrc;
        } else {
            self.hist = 0;
            self.start_deflate();
        }
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one match over the states reads best in one place"
    )]
    fn run<C: Codec>(
        &mut self,
        codec: C,
        input: &[u8],
        output: &mut [u8],
        io: &mut Cursor,
    ) -> Result<(), Error> {
        loop {
            match self.state {
                State::Failed(e) => return Err(e),
                State::Done => return Ok(()),
                State::ZlibHeader => {
                    if !self.collect(input, &mut io.ip, 2) {
                        return Ok(());
                    }
                    let [cmf, flg, ..] = self.small;
                    if (u16::from(cmf) << 8 | u16::from(flg)) % 31 != 0 {
                        return Err(Corruption::ZlibHeaderCheck { cmf, flg }.into());
                    }
                    if cmf & 0x0F != 8 {
                        return Err(Corruption::ZlibCompressionMethod { method: cmf & 0x0F }.into());
                    }
                    if cmf >> 4 > 7 {
                        return Err(Corruption::ZlibWindowSize { cinfo: cmf >> 4 }.into());
                    }
                    self.small_len = 0;
                    if flg & 0x20 != 0 {
                        self.state = State::ZlibDictId;
                    } else {
                        self.hist = 0;
                        self.start_deflate();
                    }
                }
                State::ZlibDictId => {
                    if !self.collect(input, &mut io.ip, 4) {
                        return Ok(());
                    }
                    let id = u32::from_be_bytes([
                        self.small[0],
                        self.small[1],
                        self.small[2],
                        self.small[3],
                    ]);
                    let Some(computed) = self.dict_id else {
                        return Err(Error::Unsupported(Unsupported::Dictionary { id }));
                    };
                    if computed != id {
                        return Err(Error::Checksum {
                            kind: ChecksumKind::ZlibDictionary,
                            stored: id,
                            computed,
                        });
                    }
                    self.small_len = 0;
                    self.hist = self.dict_len;
                    self.start_deflate();
                }
                State::GzHeader => {
                    if !self.collect(input, &mut io.ip, 10) {
                        return Ok(());
                    }
                    let header = self.small;
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
                    self.header_crc = codec.crc32(CRC32_INIT, &header);
                    self.gz_fields = flags & (FEXTRA | FNAME | FCOMMENT | FHCRC);
                    self.next_gz_field();
                }
                State::GzExtraLen => {
                    if !self.collect(input, &mut io.ip, 2) {
                        return Ok(());
                    }
                    self.header_crc = codec.crc32(self.header_crc, &self.small[..2]);
                    let xlen = u16::from_le_bytes([self.small[0], self.small[1]]);
                    self.small_len = 0;
                    self.state = State::GzExtra(xlen);
                }
                State::GzExtra(left) => {
                    let n = usize::from(left).min(input.len() - io.ip);
                    self.header_crc = codec.crc32(self.header_crc, &input[io.ip..io.ip + n]);
                    io.ip += n;
                    let left = left - u16_of(n);
                    if left > 0 {
                        self.state = State::GzExtra(left);
                        return Ok(());
                    }
                    self.gz_fields &= !FEXTRA;
                    self.next_gz_field();
                }
                State::GzName | State::GzComment => {
                    let rest = &input[io.ip..];
                    let (n, ended) = match rest.iter().position(|&b| b == 0) {
                        Some(at) => (at + 1, true),
                        None => (rest.len(), false),
                    };
                    self.header_crc = codec.crc32(self.header_crc, &rest[..n]);
                    io.ip += n;
                    if !ended {
                        return Ok(());
                    }
                    self.gz_fields &= if self.state == State::GzName {
                        !FNAME
                    } else {
                        !FCOMMENT
                    };
                    self.next_gz_field();
                }
                State::GzHeaderCrc => {
                    if !self.collect(input, &mut io.ip, 2) {
                        return Ok(());
                    }
                    let stored = u32::from(u16::from_le_bytes([self.small[0], self.small[1]]));
                    let computed = self.header_crc & 0xFFFF;
                    if stored != computed {
                        return Err(Error::Checksum {
                            kind: ChecksumKind::GzipHeaderCrc,
                            stored,
                            computed,
                        });
                    }
                    self.gz_fields &= !FHCRC;
                    self.next_gz_field();
                }
                State::BlockHeader => {
                    if !self.need(3, input, &mut io.ip) {
                        return Ok(());
                    }
                    let header = self.take(3);
                    self.last = header & 1 != 0;
                    match header >> 1 {
                        0 => {
                            // Fewer than 8 bits are held: the rest of the current byte.
                            self.bitbuf = 0;
                            self.bitcnt = 0;
                            self.small_len = 0;
                            self.state = State::StoredLen;
                        }
                        1 => {
                            self.inflater.load_fixed()?;
                            self.state = State::Symbols;
                        }
                        2 => {
                            self.inflater.fixed_loaded = false;
                            self.state = State::DynCounts;
                        }
                        _ => return Err(Corruption::DeflateBlockType.into()),
                    }
                }
                State::StoredLen => {
                    if !self.collect(input, &mut io.ip, 4) {
                        return Ok(());
                    }
                    let len = u16::from_le_bytes([self.small[0], self.small[1]]);
                    let nlen = u16::from_le_bytes([self.small[2], self.small[3]]);
                    if len != !nlen {
                        return Err(Corruption::DeflateStoredLength { len, nlen }.into());
                    }
                    self.small_len = 0;
                    self.state = if len == 0 {
                        State::BlockEnd
                    } else {
                        State::Stored(len)
                    };
                }
                State::Stored(left) => {
                    let n = usize::from(left)
                        .min(input.len() - io.ip)
                        .min(output.len() - io.op);
                    let data = &input[io.ip..io.ip + n];
                    output[io.op..io.op + n].copy_from_slice(data);
                    self.remember(data);
                    io.ip += n;
                    io.op += n;
                    self.out_total += n as u64;
                    let left = left - u16_of(n);
                    if left > 0 {
                        self.state = State::Stored(left);
                        return Ok(());
                    }
                    self.state = State::BlockEnd;
                }
                State::DynCounts => {
                    if !self.need(14, input, &mut io.ip) {
                        return Ok(());
                    }
                    let hlit = self.take(5) as usize + 257;
                    let hdist = self.take(5) as usize + 1;
                    let hclen = self.take(4) as usize + 4;
                    if hlit > MAX_LITLEN_CODES || hdist > MAX_DIST_CODES {
                        return Err(Corruption::DeflateTooManyCodes {
                            litlen: hlit,
                            distance: hdist,
                        }
                        .into());
                    }
                    self.hlit = u16_of(hlit);
                    self.hdist = u16_of(hdist);
                    self.hclen = u8_of(hclen);
                    self.precode_lens = [0; 19];
                    self.state = State::Precode(0);
                }
                State::Precode(mut i) => {
                    while i < self.hclen {
                        if !self.need(3, input, &mut io.ip) {
                            self.state = State::Precode(i);
                            return Ok(());
                        }
                        let len = u8_of(self.take(3) as usize);
                        self.precode_lens[usize::from(PRECODE_ORDER[usize::from(i)])] = len;
                        i += 1;
                    }
                    tables::build(
                        &mut self.inflater.precode,
                        PRECODE_TABLE_BITS,
                        &self.precode_lens,
                        Kind::Precode,
                    )?;
                    self.state = State::CodeLens(0);
                }
                State::CodeLens(i) => {
                    let mut i = usize::from(i);
                    let total = usize::from(self.hlit) + usize::from(self.hdist);
                    while i < total {
                        self.state = State::CodeLens(u16_of(i));
                        let Some(entry) = self.symbol(Table::Precode, input, &mut io.ip) else {
                            return Ok(());
                        };
                        let code_len = entry & TOTAL_MASK;
                        let sym = entry >> 16;
                        let lens = &self.inflater.lens;
                        let (extra, base, value) = match sym {
                            0..=15 => (0, 1, u8_of(sym as usize)),
                            16 => {
                                let Some(&prev) = i.checked_sub(1).map(|p| &lens[p]) else {
                                    return Err(Corruption::DeflateRepeatWithoutPrevious.into());
                                };
                                (2, 3, prev)
                            }
                            17 => (3, 3, 0),
                            _ => (7, 11, 0),
                        };
                        if !self.need(code_len + extra, input, &mut io.ip) {
                            return Ok(());
                        }
                        self.consume(code_len);
                        let run = base + self.take(extra) as usize;
                        if run > total - i {
                            return Err(Corruption::DeflateCodeLengthsOverrun.into());
                        }
                        self.inflater.lens[i..i + run].fill(value);
                        i += run;
                    }
                    let hlit = usize::from(self.hlit);
                    let inf = &mut self.inflater;
                    if inf.lens[256] == 0 {
                        return Err(Corruption::DeflateMissingEndOfBlock.into());
                    }
                    inf.litlen_pairs = tables::build(
                        &mut inf.litlen,
                        LITLEN_TABLE_BITS,
                        &inf.lens[..hlit],
                        Kind::LitLen,
                    )?;
                    tables::build(
                        &mut inf.dist,
                        DIST_TABLE_BITS,
                        &inf.lens[hlit..total],
                        Kind::Dist,
                    )?;
                    self.state = State::Symbols;
                }
                State::Symbols => loop {
                    if self.bitcnt < 8
                        && input.len() - io.ip >= FAST_IN
                        && output.len() - io.op >= FAST_OUT
                        && codec.inflate_stream_fast(self, input, output, &mut io.ip, &mut io.op)?
                    {
                        self.state = State::BlockEnd;
                        break;
                    }
                    let Some(entry) = self.symbol(Table::LitLen, input, &mut io.ip) else {
                        return Ok(());
                    };
                    if is_literal(entry) {
                        if io.op == output.len() {
                            return Ok(());
                        }
                        // The code alone: a pair's second literal is looked up again.
                        self.consume(literal_code_len(entry, &self.inflater.lens));
                        let byte = u8_of((entry >> 16) as usize);
                        output[io.op] = byte;
                        io.op += 1;
                        self.window[self.wpos] = byte;
                        self.wpos = (self.wpos + 1) & WINDOW_MASK;
                        self.out_total += 1;
                        continue;
                    }
                    if entry & EXCEPTIONAL != 0 {
                        if entry & END_OF_BLOCK != 0 {
                            self.consume(entry & TOTAL_MASK);
                            self.state = State::BlockEnd;
                            break;
                        }
                        return Err(bad_litlen(entry));
                    }
                    let total = entry & TOTAL_MASK;
                    if !self.need(total, input, &mut io.ip) {
                        return Ok(());
                    }
                    let len = value_of(entry, self.bitbuf);
                    self.consume(total);
                    self.state = State::Dist(u16_of(len));
                    break;
                },
                State::Dist(len) => {
                    let Some(entry) = self.symbol(Table::Dist, input, &mut io.ip) else {
                        return Ok(());
                    };
                    if entry & EXCEPTIONAL != 0 {
                        return Err(bad_dist(entry));
                    }
                    let total = entry & TOTAL_MASK;
                    if !self.need(total, input, &mut io.ip) {
                        return Ok(());
                    }
                    let dist = value_of(entry, self.bitbuf);
                    self.consume(total);
                    let history = self.out_total.saturating_add(self.hist as u64);
                    if dist as u64 > history {
                        return Err(Corruption::DeflateDistanceTooFar {
                            distance: dist,
                            history: usize::try_from(history).unwrap_or(usize::MAX),
                        }
                        .into());
                    }
                    self.state = State::Copy {
                        len,
                        dist: u16_of(dist),
                    };
                }
                State::Copy { len, dist } => {
                    let n = usize::from(len).min(output.len() - io.op);
                    let mut src = self.wpos.wrapping_sub(usize::from(dist)) & WINDOW_MASK;
                    let mut w = self.wpos;
                    for o in &mut output[io.op..io.op + n] {
                        let b = self.window[src];
                        self.window[w] = b;
                        *o = b;
                        src = (src + 1) & WINDOW_MASK;
                        w = (w + 1) & WINDOW_MASK;
                    }
                    self.wpos = w;
                    io.op += n;
                    self.out_total += n as u64;
                    let len = len - u16_of(n);
                    if len > 0 {
                        self.state = State::Copy { len, dist };
                        return Ok(());
                    }
                    self.state = State::Symbols;
                }
                State::BlockEnd => {
                    if !self.last {
                        self.state = State::BlockHeader;
                        continue;
                    }
                    // Fewer than 8 bits are held: the rest of the last byte.
                    self.bitbuf = 0;
                    self.bitcnt = 0;
                    self.small_len = 0;
                    self.sum(codec, &output[io.seg..io.op]);
                    io.seg = io.op;
                    self.state = match self.format {
                        Format::Raw => State::Done,
                        Format::Zlib => State::ZlibTrailer,
                        Format::Gzip => State::GzCrc,
                    };
                }
                State::ZlibTrailer => {
                    if !self.collect(input, &mut io.ip, 4) {
                        return Ok(());
                    }
                    let stored = u32::from_be_bytes([
                        self.small[0],
                        self.small[1],
                        self.small[2],
                        self.small[3],
                    ]);
                    if stored != self.check {
                        return Err(Error::Checksum {
                            kind: ChecksumKind::ZlibAdler32,
                            stored,
                            computed: self.check,
                        });
                    }
                    self.state = State::Done;
                }
                State::GzCrc | State::GzSize => {
                    if !self.collect(input, &mut io.ip, 4) {
                        return Ok(());
                    }
                    let stored = u32::from_le_bytes([
                        self.small[0],
                        self.small[1],
                        self.small[2],
                        self.small[3],
                    ]);
                    self.small_len = 0;
                    if self.state == State::GzCrc {
                        if stored != self.check {
                            return Err(Error::Checksum {
                                kind: ChecksumKind::GzipCrc32,
                                stored,
                                computed: self.check,
                            });
                        }
                        self.state = State::GzSize;
                    } else {
                        #[expect(
                            clippy::cast_possible_truncation,
                            reason = "ISIZE is the size modulo 2^32 by definition"
                        )]
                        let computed = self.out_total as u32;
                        if stored != computed {
                            return Err(Error::Checksum {
                                kind: ChecksumKind::GzipSize,
                                stored,
                                computed,
                            });
                        }
                        self.state = State::MemberEnd;
                    }
                }
                State::MemberEnd => {
                    let rest = &input[io.ip..];
                    match rest {
                        [] | [0x1F] => return Ok(()),
                        [0x1F, 0x8B, ..] => {
                            self.small[..2].copy_from_slice(&[0x1F, 0x8B]);
                            self.small_len = 2;
                            io.ip += 2;
                            self.state = State::GzHeader;
                        }
                        _ => self.state = State::Done,
                    }
                }
            }
        }
    }
}

impl core::fmt::Debug for InflateStream {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InflateStream")
            .field("format", &self.format)
            .field("state", &self.state)
            .field("bytes", &Self::SIZE)
            .finish_non_exhaustive()
    }
}

/// Input and output positions of one call, and where the output not yet checksummed
/// starts.
/// The streaming decoder's history: the 32 KiB window ring (its newest byte just before
/// `wpos`), `history` bytes of which are valid.
struct Ring<'a> {
    window: &'a [u8; WINDOW],
    wpos: usize,
    history: u64,
}

impl History for Ring<'_> {
    /// Not `#[cold]`, unlike the one-shot decoder's dictionary copy: with output taken in
    /// chunks, every match of a chunk's first 32 KiB may reach back into the window.
    fn copy_before(&self, output: &mut [u8], op: usize, d: usize, len: usize) -> Result<(), Error> {
        let back = d - op;
        if back as u64 > self.history {
            return Err(Corruption::DeflateDistanceTooFar {
                distance: d,
                history: usize::try_from(self.history + op as u64).unwrap_or(usize::MAX),
            }
            .into());
        }
        // The first bytes come from the window, the rest (if any) from the output, which
        // continues where the window ends.
        let from_window = back.min(len);
        let src = self.wpos.wrapping_sub(back) & WINDOW_MASK;
        if from_window == len
            && len <= SLACK
            && let (Some(from), Some(to)) = (
                self.window.get(src..src + SLACK),
                output.get_mut(op..op + SLACK),
            )
        {
            // A short match wholly in one stretch of the window: one fixed-size move, as
            // the fast loop copies short matches (scratch past the match).
            to.copy_from_slice(from);
            return Ok(());
        }
        let first = from_window.min(WINDOW - src);
        output[op..op + first].copy_from_slice(&self.window[src..src + first]);
        output[op + first..op + from_window].copy_from_slice(&self.window[..from_window - first]);
        if from_window < len {
            copy_match(output, op + from_window, d, len - from_window);
        }
        Ok(())
    }
}

struct Cursor {
    ip: usize,
    op: usize,
    seg: usize,
}

#[derive(Clone, Copy)]
enum Table {
    LitLen,
    Dist,
    Precode,
}

/// The entry of the next symbol if the `bitcnt` bits held decide it (the bits above are
/// zero): its code, and a subtable's index bits, are all among them. An invalid entry of
/// an incomplete code is decided by the bits that lead to it. `lens` are the code lengths
/// of a literal/length table (`None` for the others), where a literal entry holds no code
/// length of its own and a pair is decided by its first code (see `tables`).
#[inline]
fn decided_entry(
    table: &[u32],
    table_bits: u32,
    lens: Option<&[u8]>,
    bitbuf: u64,
    bitcnt: u32,
) -> Option<u32> {
    let mask = (1u64 << table_bits) - 1;
    let mut entry = table[usize_of(bitbuf & mask)];
    if entry & SUBTABLE != 0 {
        if bitcnt < table_bits {
            return None;
        }
        entry = sub_entry(table, entry, bitbuf, table_bits);
    }
    let code_len = match lens {
        Some(lens) if is_literal(entry) => literal_code_len(entry, lens),
        _ => (entry >> 8) & 0xF,
    };
    (code_len <= bitcnt).then_some(entry)
}

/// The entry the one-shot decoder would look up with zero bits after the input.
fn padded_entry(table: &[u32], table_bits: u32, bitbuf: u64) -> u32 {
    let mask = (1u64 << table_bits) - 1;
    let entry = table[usize_of(bitbuf & mask)];
    if entry & SUBTABLE != 0 {
        sub_entry(table, entry, bitbuf, table_bits)
    } else {
        entry
    }
}

#[inline]
#[expect(clippy::cast_possible_truncation, reason = "masked to at most 11 bits")]
fn usize_of(v: u64) -> usize {
    v as usize
}

#[inline]
#[expect(
    clippy::cast_possible_truncation,
    reason = "callers pass values below 256"
)]
fn u8_of(v: usize) -> u8 {
    v as u8
}

#[inline]
#[expect(
    clippy::cast_possible_truncation,
    reason = "callers pass values below 65536"
)]
fn u16_of(v: usize) -> u16 {
    v as u16
}
