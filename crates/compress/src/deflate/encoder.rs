//! Streaming Deflate, zlib and gzip compression without a heap: input in chunks of any
//! size, output into buffers of any size, over caller storage and a caller [`Deflater`].
//!
//! The input collects in a 128 KiB window: two 64 KiB halves. A half is compressed as soon
//! as it is full, with the window's earlier bytes as the history its matches may reach
//! (at most 32 KiB back, as Deflate allows); when the second half has been compressed the
//! window slides down by 64 KiB. Sliding by 2^16 keeps every position the match finder
//! holds (they are kept modulo 2^16) pointing at the same bytes, so its tables carry over
//! from half to half and matches cross the boundaries. Compressed bytes go to a staging
//! area in the storage first and from there to the caller's buffers; the bits of a
//! partial last byte wait in the encoder for the next block.
//!
//! What comes out decodes to the input with any inflater. It is a function of the input
//! bytes, the level and where [`Flush::Block`] was asked for — not of how the input was
//! split across calls — but it is not the one-shot [`deflate_raw`](super::deflate_raw)
//! output: blocks also end at the 64 KiB boundaries, and the tables are sized for long
//! streams.

#![forbid(unsafe_code)]

use super::bitwriter::BitWriter;
use super::compress::{self, check_level};
use super::stream::Format;
use super::{ADLER32_INIT, CRC32_INIT, Deflater};
use crate::lz4::{Flush, Progress};
use crate::{Codec, Error};

/// One half of the window: what is compressed at a time, and how far the window slides.
const HALF: usize = 1 << 16;
/// The window: the half being filled and the one before it (the history).
const WINDOW: usize = 2 * HALF;
/// Room for what one half compresses to (stored blocks in the worst case: 5 bytes per
/// 16 KiB block, as [`deflate_bound`](super::deflate_bound) allows), plus a sync marker,
/// a header and a trailer.
const STAGE: usize = HALF + 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The header is still to be staged.
    Header,
    Body,
    /// The final block and the trailer are staged; done once the stage drains.
    Finished,
}

/// A streaming Deflate (raw), zlib or gzip compressor over caller storage.
///
/// ```
/// use offload_compress::{Auto, deflate, lz4::Flush};
///
/// let codec = Auto::detect();
/// let mut deflater = Box::new(deflate::Deflater::new());
/// let mut storage = vec![0u8; deflate::DeflateStream::<Auto>::STORAGE_LEN];
/// let mut enc =
///     deflate::DeflateStream::new(codec, deflate::Format::Gzip, 6, &mut deflater, &mut storage)?;
/// let data = b"streaming, streaming, streaming: the same bytes again and again".repeat(100);
/// let mut gz = Vec::new();
/// let mut buf = [0u8; 100];
/// // Feed the input 7 bytes at a time, then finish; drain output 100 bytes at a time.
/// for piece in data.chunks(7) {
///     let mut piece = piece;
///     while !piece.is_empty() {
///         let p = enc.compress(piece, &mut buf, Flush::None)?;
///         gz.extend_from_slice(&buf[..p.produced]);
///         piece = &piece[p.consumed..];
///     }
/// }
/// while !enc.is_finished() {
///     let p = enc.compress(&[], &mut buf, Flush::Finish)?;
///     gz.extend_from_slice(&buf[..p.produced]);
/// }
///
/// let mut back = vec![0u8; data.len()];
/// let mut inflater = deflate::Inflater::new();
/// let (_, n) = deflate::gzip_decompress(codec, &mut inflater, &gz, &mut back)?;
/// assert_eq!(&back[..n], &data[..]);
/// # Ok::<(), offload_compress::Error>(())
/// ```
pub struct DeflateStream<'a, C: Codec> {
    codec: C,
    format: Format,
    level: u32,
    deflater: &'a mut Deflater,
    /// `[window: WINDOW bytes][stage: STAGE bytes]`.
    storage: &'a mut [u8],
    /// Input bytes in the window.
    fill: usize,
    /// Window bytes already compressed.
    done: usize,
    /// Whether the match finder's tables hold nothing of this stream yet.
    fresh: bool,
    /// Bits of the last partial output byte (at most 7) and their count.
    bits: u64,
    nbits: u32,
    /// Staged output not yet handed out: `stage[out_start..out_end]`.
    out_start: usize,
    out_end: usize,
    /// Whether everything consumed has been flushed with [`Flush::Block`].
    synced: bool,
    /// Adler-32 (zlib) or CRC-32 (gzip) of the input so far, and its length.
    check: u32,
    total: u64,
    state: State,
}

impl<C: Codec> core::fmt::Debug for DeflateStream<'_, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeflateStream")
            .field("codec", &self.codec)
            .field("format", &self.format)
            .field("level", &self.level)
            .field("total_in", &self.total)
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

impl<'a, C: Codec> DeflateStream<'a, C> {
    /// Bytes of storage an encoder needs: the 128 KiB window and a 65 KiB staging area.
    pub const STORAGE_LEN: usize = WINDOW + STAGE;

    /// An encoder for `format` at `level` (0..=9, as [`deflate_raw`](super::deflate_raw)),
    /// using `deflater` for its match finder and `storage` (at least
    /// [`STORAGE_LEN`](Self::STORAGE_LEN) bytes) for its window and output.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a level above 9; [`Error::StorageTooSmall`].
    pub fn new(
        codec: C,
        format: Format,
        level: u32,
        deflater: &'a mut Deflater,
        storage: &'a mut [u8],
    ) -> Result<Self, Error> {
        check_level(level)?;
        if storage.len() < Self::STORAGE_LEN {
            return Err(Error::StorageTooSmall {
                needed: Self::STORAGE_LEN,
                available: storage.len(),
            });
        }
        let check = match format {
            Format::Zlib => ADLER32_INIT,
            _ => CRC32_INIT,
        };
        Ok(DeflateStream {
            codec,
            format,
            level,
            deflater,
            storage,
            fill: 0,
            done: 0,
            fresh: true,
            bits: 0,
            nbits: 0,
            out_start: 0,
            out_end: 0,
            synced: true,
            check,
            total: 0,
            state: State::Header,
        })
    }

    /// Whether the stream is complete and all of it has been handed out (after
    /// [`Flush::Finish`]).
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished && self.out_start == self.out_end
    }

    /// Takes input from `input` and writes compressed bytes to `output`, returning how
    /// much of each it used. Input is taken until the window is full and output written
    /// while there is some; call again with the rest (a call that consumes and produces
    /// nothing needs more output room or more input). `flush`:
    /// - [`Flush::None`]: compress only whole 64 KiB halves (the best ratio);
    /// - [`Flush::Block`]: once all of `input` is taken, also compress what is buffered
    ///   and end with an empty stored block (zlib's `Z_SYNC_FLUSH`), so everything consumed
    ///   so far can be decoded from what has been produced — call again with the same
    ///   flush until a call produces nothing;
    /// - [`Flush::Finish`]: once all of `input` is taken, write the final block and the
    ///   trailer; call again with `Finish` until [`is_finished`](Self::is_finished).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for input after the stream was finished.
    pub fn compress(
        &mut self,
        input: &[u8],
        output: &mut [u8],
        flush: Flush,
    ) -> Result<Progress, Error> {
        let mut progress = Progress::default();
        loop {
            // Hand out what is staged.
            let n = (self.out_end - self.out_start).min(output.len() - progress.produced);
            let stage = &self.storage[WINDOW..];
            output[progress.produced..progress.produced + n]
                .copy_from_slice(&stage[self.out_start..self.out_start + n]);
            self.out_start += n;
            progress.produced += n;
            if self.out_start < self.out_end {
                return Ok(progress);
            }
            self.out_start = 0;
            self.out_end = 0;
            match self.state {
                State::Finished => {
                    if progress.consumed < input.len() {
                        return Err(Error::InvalidParameter {
                            what: "input after the end of the Deflate stream",
                        });
                    }
                    return Ok(progress);
                }
                State::Header => {
                    self.stage_header();
                    self.state = State::Body;
                    continue;
                }
                State::Body => {}
            }
            // Take input into the window, at most a half beyond what is compressed.
            let rest = &input[progress.consumed..];
            let take = rest
                .len()
                .min(WINDOW - self.fill)
                .min(HALF - (self.fill - self.done));
            if take > 0 {
                let taken = &rest[..take];
                self.storage[self.fill..self.fill + take].copy_from_slice(taken);
                self.check = match self.format {
                    Format::Raw => self.check,
                    Format::Zlib => self.codec.adler32(self.check, taken),
                    Format::Gzip => self.codec.crc32(self.check, taken),
                };
                self.total += take as u64;
                self.fill += take;
                progress.consumed += take;
                self.synced = false;
            }
            // A whole half (or the rest of a full window) to compress?
            if self.fill > self.done && (self.fill - self.done == HALF || self.fill == WINDOW) {
                self.compress_window(false, false)?;
                if self.fill == WINDOW {
                    // Slide by 2^16: the positions in the tables keep their meaning.
                    self.storage.copy_within(HALF..WINDOW, 0);
                    self.fill -= HALF;
                    self.done -= HALF;
                    self.deflater.state.slid(HALF);
                }
                continue;
            }
            if progress.consumed < input.len() {
                continue;
            }
            // All input taken and less than a half buffered.
            match flush {
                Flush::None => return Ok(progress),
                Flush::Block => {
                    if self.synced {
                        return Ok(progress);
                    }
                    self.compress_window(false, true)?;
                    self.synced = true;
                }
                Flush::Finish => {
                    self.compress_window(true, false)?;
                    self.stage_trailer();
                    self.state = State::Finished;
                }
            }
        }
    }

    /// Compresses `window[done..fill]` (at most a half) into the (empty) stage, as blocks
    /// ending the stream if `last`, followed by an empty stored block if `sync`.
    fn compress_window(&mut self, last: bool, sync: bool) -> Result<(), Error> {
        let (window, stage) = self.storage.split_at_mut(WINDOW);
        let mut bw = BitWriter::with_pending(&mut stage[..STAGE], self.bits, self.nbits);
        if self.done < self.fill || last {
            compress::compress_blocks(
                &mut self.deflater.state,
                self.level,
                &window[..self.fill],
                self.done,
                last,
                self.fresh.then_some(compress::HASH_BITS_MAX),
                &mut bw,
                &compress::SafeParse,
            );
            self.fresh = false;
        }
        if sync {
            // An empty stored block: 3 header bits, padding, LEN 0, NLEN 0xFFFF.
            bw.put(0, 3);
            bw.align_flush();
            bw.put_bytes(&[0, 0, 0xFF, 0xFF]);
        }
        if last {
            bw.align_flush();
        }
        // The stage holds a whole half's worst case (blocks are never larger than their
        // stored form), so this does not fail; if it did, the stream would be lost.
        let (written, bits, nbits) = bw.into_pending().ok_or(Error::StorageTooSmall {
            needed: STAGE + 1,
            available: STAGE,
        })?;
        self.bits = bits;
        self.nbits = nbits;
        self.out_end = written;
        self.done = self.fill;
        Ok(())
    }

    fn stage_header(&mut self) {
        let stage = &mut self.storage[WINDOW..];
        let n = match self.format {
            Format::Raw => 0,
            Format::Zlib => {
                stage[..2].copy_from_slice(&super::zlib_header(self.level));
                2
            }
            Format::Gzip => {
                stage[..10].copy_from_slice(&super::gzip_header(self.level));
                10
            }
        };
        self.out_start = 0;
        self.out_end = n;
    }

    /// Appends the trailer to the stage (after the final block, byte-aligned).
    fn stage_trailer(&mut self) {
        let at = self.out_end;
        let stage = &mut self.storage[WINDOW..];
        let n = match self.format {
            Format::Raw => 0,
            Format::Zlib => {
                stage[at..at + 4].copy_from_slice(&self.check.to_be_bytes());
                4
            }
            Format::Gzip => {
                stage[at..at + 4].copy_from_slice(&self.check.to_le_bytes());
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "ISIZE is the size modulo 2^32 by definition"
                )]
                stage[at + 4..at + 8].copy_from_slice(&(self.total as u32).to_le_bytes());
                8
            }
        };
        self.out_end = at + n;
    }
}
