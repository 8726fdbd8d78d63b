//! Streaming LZ4 frames without a heap: an encoder and a decoder that take input in chunks
//! of any size, write into caller buffers of any size, and report what they consumed and
//! produced (the shape of miniz_oxide's streaming API). Their buffers are one slice of
//! caller storage, sized by [`FrameEncoder::storage_len`] and
//! [`FrameDecoder::storage_len`].
//!
//! The encoder produces exactly the bytes of [`compress_frame`](super::compress_frame) over
//! the concatenated input, however it is chunked (as long as no block is flushed early), on
//! every backend: full blocks are the same blocks, and for linked blocks the compressor's
//! table is rebased when the buffer slides, so it proposes the same matches.

#![forbid(unsafe_code)]

use super::frame::{
    self, BlockSize, FrameInfo, FrameOptions, LEGACY_BLOCK, LEGACY_MAGIC, MAGIC, MAX_HEADER_LEN,
};
use super::xxh32::Xxh32;
use crate::error::{ChecksumKind, Corruption, Unsupported};
use crate::{Codec, Error, lz4};

/// The history a linked block may refer to.
const WINDOW: usize = 64 * 1024;

/// What a streaming call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Input bytes taken (the caller passes the rest again next time).
    pub consumed: usize,
    /// Output bytes written.
    pub produced: usize,
}

/// When the encoder emits what it holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Flush {
    /// Only full blocks: the best ratio, and the same bytes as the one-shot encoder.
    #[default]
    None,
    /// Also the partial block buffered so far (a shorter block), so everything consumed so
    /// far can be decoded from what has been produced.
    Block,
    /// End the frame: the partial block, the end mark and the content checksum. Call again
    /// with `Finish` until [`FrameEncoder::is_finished`].
    Finish,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EncoderState {
    Header,
    Body,
    Finished,
}

/// A streaming LZ4 frame encoder over caller storage.
///
/// ```
/// use offload_compress::{Auto, lz4};
/// use lz4::{Flush, FrameEncoder, FrameOptions};
///
/// let options = FrameOptions::default();
/// let mut storage = vec![0u8; FrameEncoder::<Auto>::storage_len(&options)];
/// let mut encoder = FrameEncoder::new(Auto::detect(), options, None, &mut storage)?;
/// let input = b"streamed in small pieces, ".repeat(1000);
/// let mut frame = Vec::new();
/// let mut out = [0u8; 512];
/// for chunk in input.chunks(100) {
///     let mut rest = chunk;
///     while !rest.is_empty() {
///         let p = encoder.compress(rest, &mut out, Flush::None)?;
///         rest = &rest[p.consumed..];
///         frame.extend_from_slice(&out[..p.produced]);
///     }
/// }
/// while !encoder.is_finished() {
///     let p = encoder.compress(&[], &mut out, Flush::Finish)?;
///     frame.extend_from_slice(&out[..p.produced]);
/// }
/// let mut back = vec![0u8; input.len()];
/// let n = lz4::decompress_frames(Auto::detect(), &frame, &mut back, &[])?;
/// assert_eq!(&back[..n], &input[..]);
/// # Ok::<(), offload_compress::Error>(())
/// ```
#[derive(Debug)]
pub struct FrameEncoder<'a, C: Codec> {
    codec: C,
    options: FrameOptions,
    content_size: Option<u64>,
    workspace: lz4::Workspace,
    storage: &'a mut [u8],
    /// Where the output staging area starts in `storage` (after history and block).
    stage_at: usize,
    /// Bytes of history before the block (linked blocks only).
    hist: usize,
    /// Bytes of the current block buffered after the history.
    fill: usize,
    /// Pending output in the staging area.
    out_start: usize,
    out_end: usize,
    content: Xxh32,
    total: u64,
    state: EncoderState,
}

impl<'a, C: Codec> FrameEncoder<'a, C> {
    /// Bytes of storage an encoder with `options` needs: the history window (linked blocks
    /// only), one block of input, and one block of output with its size word and checksum.
    /// 128 KiB + 8 bytes for the default options; 8 MiB + 8 bytes (plus 64 KiB linked) for
    /// 4 MiB blocks.
    pub const fn storage_len(options: &FrameOptions) -> usize {
        let block = options.block_size.bytes();
        let window = if options.independent_blocks {
            0
        } else {
            WINDOW
        };
        window + block + 4 + block + 4
    }

    /// An encoder writing one frame with `options`. `content_size` is the total input the
    /// caller will give, required when `options.content_size` is set (the header comes
    /// first) and checked at the end.
    ///
    /// # Errors
    /// [`Error::StorageTooSmall`]; [`Error::InvalidParameter`] when `options.content_size`
    /// is set and `content_size` is `None`.
    pub fn new(
        codec: C,
        options: FrameOptions,
        content_size: Option<u64>,
        storage: &'a mut [u8],
    ) -> Result<Self, Error> {
        let needed = Self::storage_len(&options);
        if storage.len() < needed {
            return Err(Error::StorageTooSmall {
                needed,
                available: storage.len(),
            });
        }
        if options.content_size && content_size.is_none() {
            return Err(Error::InvalidParameter {
                what: "a frame that stores its content size needs the size up front",
            });
        }
        let window = if options.independent_blocks {
            0
        } else {
            WINDOW
        };
        Ok(FrameEncoder {
            codec,
            options,
            content_size,
            workspace: lz4::Workspace::new(),
            stage_at: window + options.block_size.bytes(),
            storage,
            hist: 0,
            fill: 0,
            out_start: 0,
            out_end: 0,
            content: Xxh32::new(0),
            total: 0,
            state: EncoderState::Header,
        })
    }

    /// Whether the frame is complete and all of it has been returned.
    pub fn is_finished(&self) -> bool {
        self.state == EncoderState::Finished && self.out_start == self.out_end
    }

    /// Takes input, writes frame bytes. Returns when the input is consumed (and, for a
    /// flush, everything it asked for has been written) or the output is full.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for input after the frame was finished, or a total input
    /// that differs from the content size given to [`FrameEncoder::new`].
    pub fn compress(
        &mut self,
        input: &[u8],
        output: &mut [u8],
        flush: Flush,
    ) -> Result<Progress, Error> {
        let mut p = Progress::default();
        let block = self.options.block_size.bytes();
        loop {
            // Pending output first.
            if self.out_start < self.out_end {
                let n = (self.out_end - self.out_start).min(output.len() - p.produced);
                let from = self.stage_at + self.out_start;
                output[p.produced..p.produced + n].copy_from_slice(&self.storage[from..from + n]);
                p.produced += n;
                self.out_start += n;
                if self.out_start < self.out_end {
                    return Ok(p);
                }
            }
            match self.state {
                EncoderState::Finished => {
                    if p.consumed < input.len() {
                        return Err(Error::InvalidParameter {
                            what: "input after the end of the frame",
                        });
                    }
                    return Ok(p);
                }
                EncoderState::Header => {
                    let size = self.content_size.unwrap_or(0);
                    let stage = &mut self.storage[self.stage_at..];
                    self.out_end = frame::write_header(&self.options, size, stage)?;
                    self.out_start = 0;
                    self.state = EncoderState::Body;
                }
                EncoderState::Body => {
                    let at = self.hist + self.fill;
                    let take = (block - self.fill).min(input.len() - p.consumed);
                    self.storage[at..at + take]
                        .copy_from_slice(&input[p.consumed..p.consumed + take]);
                    self.fill += take;
                    p.consumed += take;
                    let all_in = p.consumed == input.len();
                    if self.fill == block || (self.fill > 0 && all_in && flush != Flush::None) {
                        self.emit_block()?;
                    } else if all_in && flush == Flush::Finish {
                        self.emit_trailer()?;
                    } else {
                        return Ok(p);
                    }
                }
            }
        }
    }

    /// Compresses the buffered block into the staging area and slides the history.
    fn emit_block(&mut self) -> Result<(), Error> {
        let (data, stage) = self.storage.split_at_mut(self.stage_at);
        let end = self.hist + self.fill;
        self.out_end = frame::write_block(
            self.codec,
            &mut self.workspace,
            &self.options,
            &data[..end],
            self.hist,
            end,
            stage,
        )?;
        self.out_start = 0;
        if self.options.content_checksum {
            self.content.update(&data[self.hist..end]);
        }
        self.total += self.fill as u64;
        if self.options.independent_blocks {
            self.fill = 0;
        } else {
            let keep = end.min(WINDOW);
            let delta = end - keep;
            data.copy_within(delta..end, 0);
            self.workspace.rebase(delta);
            self.hist = keep;
            self.fill = 0;
        }
        Ok(())
    }

    /// Stages the end mark and the content checksum.
    fn emit_trailer(&mut self) -> Result<(), Error> {
        if let Some(size) = self.content_size
            && size != self.total
        {
            return Err(Error::InvalidParameter {
                what: "the input's length differs from the content size given up front",
            });
        }
        let stage = &mut self.storage[self.stage_at..];
        stage[..4].copy_from_slice(&[0; 4]);
        self.out_end = 4;
        if self.options.content_checksum {
            stage[4..8].copy_from_slice(&self.content.finish().to_le_bytes());
            self.out_end = 8;
        }
        self.out_start = 0;
        self.state = EncoderState::Finished;
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DecoderState {
    /// Collecting a magic number (and, for frames, the header).
    Magic,
    /// Collecting a block's size word.
    BlockSize,
    /// Collecting a block's bytes (and checksum) in the staging area.
    BlockData,
    /// Handing decoded bytes out.
    Drain,
    /// Collecting the content checksum.
    ContentChecksum,
    /// Skipping a skippable frame's payload.
    Skip,
}

/// A streaming LZ4 frame decoder over caller storage: concatenated frames, skippable
/// frames and legacy frames, as [`decompress_frames`](super::decompress_frames) reads them.
/// Call [`FrameDecoder::finish`] when the input has ended to learn whether it ended at a
/// frame boundary.
///
/// ```
/// use offload_compress::{Auto, lz4};
/// use lz4::{FrameDecoder, FrameOptions};
///
/// let codec = Auto::detect();
/// let input = b"a frame to take apart again, ".repeat(2000);
/// let options = FrameOptions::default();
/// let mut frame = vec![0u8; lz4::max_frame_len(input.len(), &options)];
/// let n = lz4::compress_frame(codec, &mut lz4::Workspace::new(), &options, &input, &mut frame)?;
///
/// let mut storage = vec![0u8; FrameDecoder::<Auto>::storage_len(lz4::BlockSize::Max64KiB)];
/// let mut decoder = FrameDecoder::new(codec, &mut storage, &[]);
/// let mut back = Vec::new();
/// let mut out = [0u8; 1000];
/// let mut rest = &frame[..n];
/// loop {
///     let p = decoder.decompress(rest, &mut out)?;
///     rest = &rest[p.consumed..];
///     back.extend_from_slice(&out[..p.produced]);
///     if rest.is_empty() && p.produced == 0 {
///         break;
///     }
/// }
/// decoder.finish()?;
/// assert_eq!(back, input);
/// # Ok::<(), offload_compress::Error>(())
/// ```
#[derive(Debug)]
pub struct FrameDecoder<'a, C: Codec> {
    codec: C,
    storage: &'a mut [u8],
    dict: &'a [u8],
    state: DecoderState,
    /// Magic number, header, size words and checksums being collected.
    small: [u8; MAX_HEADER_LEN],
    small_fill: usize,
    info: Option<FrameInfo>,
    legacy: bool,
    /// Block maximum of the current frame and where its staging area starts in `storage`.
    max: usize,
    stage_at: usize,
    /// Bytes of history at the front of `storage` (linked blocks).
    hist: usize,
    /// The current block: its stored size, whether it is stored raw, bytes staged.
    block_len: usize,
    block_raw: bool,
    staged: usize,
    /// Decoded bytes waiting to be handed out: `storage[out_start..out_end]`.
    out_start: usize,
    out_end: usize,
    content: Xxh32,
    total: u64,
    skip: usize,
    frames: usize,
}

impl<'a, C: Codec> FrameDecoder<'a, C> {
    /// Bytes of storage a decoder needs for frames of up to `block_size` blocks: the
    /// history window, a decoded block and a compressed block with its checksum (256 KiB + 4
    /// bytes for 64 KiB blocks). Legacy frames need [`FrameDecoder::LEGACY_STORAGE_LEN`].
    pub const fn storage_len(block_size: BlockSize) -> usize {
        WINDOW + 2 * block_size.bytes() + 4
    }

    /// Bytes of storage a decoder needs for legacy frames (8 MiB blocks).
    pub const LEGACY_STORAGE_LEN: usize = LEGACY_BLOCK + lz4::max_compressed_len(LEGACY_BLOCK);

    /// A decoder over `storage`; `dict` is the dictionary for frames that declare one (pass
    /// `&[]` otherwise).
    pub fn new(codec: C, storage: &'a mut [u8], dict: &'a [u8]) -> Self {
        FrameDecoder {
            codec,
            storage,
            dict,
            state: DecoderState::Magic,
            small: [0; MAX_HEADER_LEN],
            small_fill: 0,
            info: None,
            legacy: false,
            max: 0,
            stage_at: 0,
            hist: 0,
            block_len: 0,
            block_raw: false,
            staged: 0,
            out_start: 0,
            out_end: 0,
            content: Xxh32::new(0),
            total: 0,
            skip: 0,
            frames: 0,
        }
    }

    /// Checks that the input ended at a frame boundary (after at least one frame): call it
    /// when there is no more input.
    ///
    /// # Errors
    /// [`Error::Truncated`] when the input stopped inside a frame or held no frame.
    pub fn finish(&self) -> Result<(), Error> {
        let between_frames = self.state == DecoderState::Magic && self.small_fill == 0;
        let between_legacy_blocks =
            self.legacy && self.state == DecoderState::BlockSize && self.small_fill == 0;
        if (between_frames && self.frames > 0) || between_legacy_blocks {
            Ok(())
        } else {
            Err(Error::Truncated)
        }
    }

    /// Copies up to `want - small_fill` bytes of `input[*consumed..]` into the small
    /// buffer; true once it holds `want` bytes.
    fn collect(&mut self, input: &[u8], consumed: &mut usize, want: usize) -> bool {
        if self.small_fill >= want {
            return true;
        }
        let take = (want - self.small_fill).min(input.len() - *consumed);
        self.small[self.small_fill..self.small_fill + take]
            .copy_from_slice(&input[*consumed..*consumed + take]);
        self.small_fill += take;
        *consumed += take;
        self.small_fill == want
    }

    fn small_u32(&self, at: usize) -> u32 {
        u32::from_le_bytes([
            self.small[at],
            self.small[at + 1],
            self.small[at + 2],
            self.small[at + 3],
        ])
    }

    /// Takes frame bytes, writes decoded bytes. Returns when the input is consumed and
    /// nothing decoded is pending, or the output is full.
    ///
    /// # Errors
    /// As [`decompress_frame`](super::decompress_frame), plus
    /// [`Error::StorageTooSmall`] when a frame's blocks are larger than the storage allows.
    /// After an error the decoder is unusable.
    pub fn decompress(&mut self, input: &[u8], output: &mut [u8]) -> Result<Progress, Error> {
        let mut p = Progress::default();
        loop {
            match self.state {
                DecoderState::Drain => {
                    let n = (self.out_end - self.out_start).min(output.len() - p.produced);
                    output[p.produced..p.produced + n]
                        .copy_from_slice(&self.storage[self.out_start..self.out_start + n]);
                    p.produced += n;
                    self.out_start += n;
                    if self.out_start < self.out_end {
                        return Ok(p);
                    }
                    self.slide();
                    self.state = DecoderState::BlockSize;
                }
                DecoderState::Magic => {
                    if !self.collect(input, &mut p.consumed, 4) {
                        return Ok(p);
                    }
                    self.start_frame(input, &mut p.consumed)?;
                    if self.state == DecoderState::Magic && self.small_fill > 0 {
                        return Ok(p);
                    }
                }
                DecoderState::Skip => {
                    let n = self.skip.min(input.len() - p.consumed);
                    p.consumed += n;
                    self.skip -= n;
                    if self.skip > 0 {
                        return Ok(p);
                    }
                    self.end_frame();
                }
                DecoderState::BlockSize => {
                    if !self.collect(input, &mut p.consumed, 4) {
                        return Ok(p);
                    }
                    self.small_fill = 0;
                    let word = self.small_u32(0);
                    if self.legacy {
                        if frame::is_magic(word) {
                            // The next frame starts: its magic is already collected.
                            self.legacy = false;
                            self.small_fill = 4;
                            self.state = DecoderState::Magic;
                            self.start_frame(input, &mut p.consumed)?;
                            continue;
                        }
                        let size = word as usize;
                        if size > lz4::max_compressed_len(LEGACY_BLOCK) {
                            return Err(Corruption::Lz4BlockTooLarge {
                                size,
                                max: lz4::max_compressed_len(LEGACY_BLOCK),
                            }
                            .into());
                        }
                        self.block_len = size;
                        self.block_raw = false;
                    } else if word == 0 {
                        let checksum = self.info.is_some_and(|i| i.content_checksum);
                        if checksum {
                            self.state = DecoderState::ContentChecksum;
                        } else {
                            self.check_size()?;
                            self.end_frame();
                        }
                        continue;
                    } else {
                        let size = (word & !(1 << 31)) as usize;
                        if size > self.max {
                            return Err(Corruption::Lz4BlockTooLarge {
                                size,
                                max: self.max,
                            }
                            .into());
                        }
                        self.block_len = size;
                        self.block_raw = word & 1 << 31 != 0;
                    }
                    self.staged = 0;
                    self.state = DecoderState::BlockData;
                }
                DecoderState::BlockData => {
                    let checksum = self.info.is_some_and(|i| i.block_checksum);
                    let want = self.block_len + if checksum { 4 } else { 0 };
                    if self.staged == 0 && input.len() - p.consumed >= want {
                        // The whole block is in the input: decode it from there.
                        let block = &input[p.consumed..p.consumed + want];
                        p.consumed += want;
                        self.decode(block, checksum)?;
                    } else {
                        let take = (want - self.staged).min(input.len() - p.consumed);
                        let at = self.stage_at + self.staged;
                        self.storage[at..at + take]
                            .copy_from_slice(&input[p.consumed..p.consumed + take]);
                        self.staged += take;
                        p.consumed += take;
                        if self.staged < want {
                            return Ok(p);
                        }
                        let (front, stage) = self.storage.split_at_mut(self.stage_at);
                        let block = &stage[..want];
                        let out_end = decode_into(
                            self.codec,
                            block,
                            checksum,
                            front,
                            self.hist,
                            self.max,
                            self.block_raw,
                            self.info.as_ref(),
                            self.dict,
                        )?;
                        self.decoded(out_end);
                    }
                }
                DecoderState::ContentChecksum => {
                    if !self.collect(input, &mut p.consumed, 4) {
                        return Ok(p);
                    }
                    let stored = self.small_u32(0);
                    self.small_fill = 0;
                    let computed = self.content.finish();
                    if stored != computed {
                        return Err(Error::Checksum {
                            kind: ChecksumKind::Lz4Content,
                            stored,
                            computed,
                        });
                    }
                    self.check_size()?;
                    self.end_frame();
                }
            }
        }
    }

    /// A magic number has been collected in `small`: set up the frame it starts.
    fn start_frame(&mut self, input: &[u8], consumed: &mut usize) -> Result<(), Error> {
        let magic = self.small_u32(0);
        if frame::is_skippable(magic) {
            if !self.collect(input, consumed, 8) {
                return Ok(());
            }
            self.skip = self.small_u32(4) as usize;
            self.small_fill = 0;
            self.state = DecoderState::Skip;
            return Ok(());
        }
        if magic == LEGACY_MAGIC {
            self.reserve(LEGACY_BLOCK, lz4::max_compressed_len(LEGACY_BLOCK), false)?;
            self.legacy = true;
            self.info = None;
            self.small_fill = 0;
            self.state = DecoderState::BlockSize;
            return Ok(());
        }
        if magic != MAGIC {
            return Err(Corruption::Lz4BadMagic { found: magic }.into());
        }
        // The header's length depends on its FLG byte.
        if !self.collect(input, consumed, 5) {
            return Ok(());
        }
        let flg = self.small[4];
        let len = 7 + if flg & 0b1000 != 0 { 8 } else { 0 } + if flg & 1 != 0 { 4 } else { 0 };
        if !self.collect(input, consumed, len) {
            return Ok(());
        }
        let info = frame::read_frame_header(&self.small[..len])?;
        if let (Some(id), true) = (info.dict_id, self.dict.is_empty()) {
            return Err(Error::Unsupported(Unsupported::Dictionary { id }));
        }
        let max = info.block_size.bytes();
        self.reserve(max, max + 4, !info.independent_blocks)?;
        self.hist = 0;
        if !info.independent_blocks && !self.dict.is_empty() {
            // The dictionary is the history of the first linked block.
            let d = &self.dict[self.dict.len().saturating_sub(WINDOW)..];
            self.storage[..d.len()].copy_from_slice(d);
            self.hist = d.len();
        }
        self.info = Some(info);
        self.content = Xxh32::new(0);
        self.total = 0;
        self.small_fill = 0;
        self.state = DecoderState::BlockSize;
        Ok(())
    }

    /// Lays out storage for blocks decoding to `max` bytes and staged in `stage` bytes.
    fn reserve(&mut self, max: usize, stage: usize, linked: bool) -> Result<(), Error> {
        let window = if linked { WINDOW } else { 0 };
        let needed = window + max + stage;
        if self.storage.len() < needed {
            return Err(Error::StorageTooSmall {
                needed,
                available: self.storage.len(),
            });
        }
        self.max = max;
        self.stage_at = window + max;
        self.hist = 0;
        Ok(())
    }

    fn decode(&mut self, block: &[u8], checksum: bool) -> Result<(), Error> {
        let (front, _) = self.storage.split_at_mut(self.stage_at);
        let out_end = decode_into(
            self.codec,
            block,
            checksum,
            front,
            self.hist,
            self.max,
            self.block_raw,
            self.info.as_ref(),
            self.dict,
        )?;
        self.decoded(out_end);
        Ok(())
    }

    /// A block has been decoded into `storage[hist..out_end]`.
    fn decoded(&mut self, out_end: usize) {
        let block = &self.storage[self.hist..out_end];
        if self.info.is_some_and(|i| i.content_checksum) {
            self.content.update(block);
        }
        self.total += block.len() as u64;
        self.out_start = self.hist;
        self.out_end = out_end;
        self.state = DecoderState::Drain;
    }

    /// After a block has been handed out: keep the last 64 KiB as history for linked
    /// blocks.
    fn slide(&mut self) {
        let linked = self.info.is_some_and(|i| !i.independent_blocks);
        if linked {
            let end = self.out_end;
            let keep = end.min(WINDOW);
            self.storage.copy_within(end - keep..end, 0);
            self.hist = keep;
        } else {
            self.hist = 0;
        }
    }

    fn check_size(&self) -> Result<(), Error> {
        if let Some(declared) = self.info.and_then(|i| i.content_size)
            && declared != self.total
        {
            return Err(Error::ContentSize {
                declared,
                decoded: self.total,
            });
        }
        Ok(())
    }

    fn end_frame(&mut self) {
        self.frames += 1;
        self.info = None;
        self.hist = 0;
        self.small_fill = 0;
        self.state = DecoderState::Magic;
    }
}

/// Checks and decodes one block into `front[hist..]`; returns the end of the decoded bytes.
#[expect(
    clippy::too_many_arguments,
    reason = "the decoder's state, split to satisfy the borrow checker"
)]
fn decode_into<C: Codec>(
    codec: C,
    block: &[u8],
    checksum: bool,
    front: &mut [u8],
    hist: usize,
    max: usize,
    raw: bool,
    info: Option<&FrameInfo>,
    dict: &[u8],
) -> Result<usize, Error> {
    let (data, sum) = if checksum {
        let (d, s) = block.split_at(block.len() - 4);
        (d, Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]])))
    } else {
        (block, None)
    };
    if let Some(stored) = sum {
        frame::check_block_sum(codec, data, stored)?;
    }
    if raw {
        front[hist..hist + data.len()].copy_from_slice(data);
        return Ok(hist + data.len());
    }
    let limit = hist + max;
    let linked = info.is_some_and(|i| !i.independent_blocks);
    let result = if linked {
        // The dictionary, if any, was copied in as history.
        codec.lz4_decompress_block(data, &mut front[..limit], hist, &[])
    } else {
        codec.lz4_decompress_block(data, &mut front[hist..limit], 0, dict)
    };
    match result {
        Ok(n) => Ok(hist + n),
        Err(Error::OutputTooSmall { .. }) => Err(Corruption::Lz4BlockOverflow { max }.into()),
        Err(e) => Err(e),
    }
}
