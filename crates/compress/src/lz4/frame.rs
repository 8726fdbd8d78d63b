//! The LZ4 frame format (v1.6.4 of the specification, `lz4_Frame_format.md`), one-shot:
//! the whole input and the whole output in caller buffers.
//!
//! Strictness: the decoder refuses what liblz4 refuses (a version other than 01, reserved
//! bits, block-size ids 0–3, a wrong header checksum, blocks larger than the declared
//! maximum, checksum and content-size mismatches), and one thing liblz4 accepts: a block
//! that reaches back into earlier blocks in a frame that declares independent blocks (we
//! decode each independent block with only the dictionary as history, so such a reference
//! is an out-of-window offset). Skippable frames are skipped; legacy frames (magic
//! 0x184C2102, written by `lz4 -l`) are decoded, which liblz4's frame API cannot do.

#![forbid(unsafe_code)]

use super::xxh32::{Xxh32, xxh32};
use crate::error::{ChecksumKind, Corruption, Unsupported};
use crate::{Codec, Error, lz4};

/// The frame format's magic number.
pub const MAGIC: u32 = 0x184D_2204;
/// The legacy frame format's magic number (`lz4 -l`).
pub const LEGACY_MAGIC: u32 = 0x184C_2102;
/// Skippable frames use the 16 magic numbers from this one up.
pub const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;
/// Uncompressed size of a legacy frame's blocks (the last may be shorter).
pub(crate) const LEGACY_BLOCK: usize = 8 << 20;
/// The longest frame header: magic, FLG, BD, content size, dictionary id, header checksum.
pub const MAX_HEADER_LEN: usize = 4 + 2 + 8 + 4 + 1;

/// The largest uncompressed size of a frame's blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BlockSize {
    /// 64 KiB (id 4), the default: the most independent blocks and the smallest buffers.
    #[default]
    Max64KiB,
    /// 256 KiB (id 5).
    Max256KiB,
    /// 1 MiB (id 6).
    Max1MiB,
    /// 4 MiB (id 7).
    Max4MiB,
}

impl BlockSize {
    /// The size in bytes.
    pub const fn bytes(self) -> usize {
        match self {
            BlockSize::Max64KiB => 64 << 10,
            BlockSize::Max256KiB => 256 << 10,
            BlockSize::Max1MiB => 1 << 20,
            BlockSize::Max4MiB => 4 << 20,
        }
    }

    const fn id(self) -> u8 {
        match self {
            BlockSize::Max64KiB => 4,
            BlockSize::Max256KiB => 5,
            BlockSize::Max1MiB => 6,
            BlockSize::Max4MiB => 7,
        }
    }

    fn from_id(id: u8) -> Result<Self, Error> {
        match id {
            4 => Ok(BlockSize::Max64KiB),
            5 => Ok(BlockSize::Max256KiB),
            6 => Ok(BlockSize::Max1MiB),
            7 => Ok(BlockSize::Max4MiB),
            _ => Err(Corruption::Lz4BlockSizeId { id }.into()),
        }
    }
}

/// How a frame is written. The default is 64 KiB independent blocks with a content
/// checksum and no block checksums: the `lz4` command's settings except its 4 MiB blocks
/// (a DPU works in small blocks, and they keep streaming buffers small).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameOptions {
    /// Largest uncompressed size of a block.
    pub block_size: BlockSize,
    /// Blocks are independent (each decodable alone) rather than linked (each may refer to
    /// the 64 KiB before it: better ratio, sequential decoding only).
    pub independent_blocks: bool,
    /// An xxHash32 after every block, over its stored bytes.
    pub block_checksum: bool,
    /// An xxHash32 of the whole content after the end mark.
    pub content_checksum: bool,
    /// Store the content size in the header.
    pub content_size: bool,
    /// A dictionary id to record in the header (the frame is still compressed without a
    /// dictionary; the id tells decoders which one the application associates with it).
    pub dict_id: Option<u32>,
    /// The block compressor's acceleration (see [`lz4::compress_block`]).
    pub acceleration: u32,
}

impl Default for FrameOptions {
    fn default() -> Self {
        FrameOptions {
            block_size: BlockSize::Max64KiB,
            independent_blocks: true,
            block_checksum: false,
            content_checksum: true,
            content_size: false,
            dict_id: None,
            acceleration: lz4::DEFAULT_ACCELERATION,
        }
    }
}

/// What a frame header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameInfo {
    /// Largest uncompressed size of a block.
    pub block_size: BlockSize,
    /// Whether blocks are independent.
    pub independent_blocks: bool,
    /// Whether each block carries a checksum.
    pub block_checksum: bool,
    /// Whether the frame ends with a content checksum.
    pub content_checksum: bool,
    /// The declared content size.
    pub content_size: Option<u64>,
    /// The declared dictionary id.
    pub dict_id: Option<u32>,
    /// Length of the header in bytes (magic included).
    pub header_len: usize,
}

fn u32_at(input: &[u8], at: usize) -> Result<u32, Error> {
    let bytes = input.get(at..at + 4).ok_or(Error::Truncated)?;
    Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// Reads a frame header at the start of `input`.
///
/// # Errors
/// [`Error::Truncated`] when `input` ends inside the header; [`Error::Corrupt`] for a wrong
/// magic number, reserved bits or a bad block-size id; [`Error::Unsupported`] for a version
/// other than 01; [`Error::Checksum`] for a wrong header checksum.
pub fn read_frame_header(input: &[u8]) -> Result<FrameInfo, Error> {
    let magic = u32_at(input, 0)?;
    if magic != MAGIC {
        return Err(Corruption::Lz4BadMagic { found: magic }.into());
    }
    let (&flg, &bd) = match input.get(4..6) {
        Some([flg, bd]) => (flg, bd),
        _ => return Err(Error::Truncated),
    };
    let version = flg >> 6;
    if version != 1 {
        return Err(Error::Unsupported(Unsupported::Lz4Version { version }));
    }
    if flg & 0b10 != 0 || bd & 0x8F != 0 {
        return Err(Corruption::Lz4ReservedBit.into());
    }
    let block_size = BlockSize::from_id((bd >> 4) & 7)?;
    let has_size = flg & 0b1000 != 0;
    let has_dict = flg & 0b1 != 0;
    let mut at = 6;
    let mut content_size = None;
    if has_size {
        let bytes = input.get(at..at + 8).ok_or(Error::Truncated)?;
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes);
        content_size = Some(u64::from_le_bytes(word));
        at += 8;
    }
    let mut dict_id = None;
    if has_dict {
        dict_id = Some(u32_at(input, at)?);
        at += 4;
    }
    let stored = *input.get(at).ok_or(Error::Truncated)?;
    let computed = header_checksum(&input[4..at]);
    if stored != computed {
        return Err(Error::Checksum {
            kind: ChecksumKind::Lz4Header,
            stored: u32::from(stored),
            computed: u32::from(computed),
        });
    }
    Ok(FrameInfo {
        block_size,
        independent_blocks: flg & 0b10_0000 != 0,
        block_checksum: flg & 0b1_0000 != 0,
        content_checksum: flg & 0b100 != 0,
        content_size,
        dict_id,
        header_len: at + 1,
    })
}

fn header_checksum(descriptor: &[u8]) -> u8 {
    (xxh32(0, descriptor) >> 8).to_le_bytes()[0]
}

/// Writes a frame header for `options` (and `content_size` when the options ask for it)
/// into `output`; returns its length.
pub(crate) fn write_header(
    options: &FrameOptions,
    content_size: u64,
    output: &mut [u8],
) -> Result<usize, Error> {
    let mut header = [0u8; MAX_HEADER_LEN];
    header[..4].copy_from_slice(&MAGIC.to_le_bytes());
    let flg = 0b0100_0000
        | u8::from(options.independent_blocks) << 5
        | u8::from(options.block_checksum) << 4
        | u8::from(options.content_size) << 3
        | u8::from(options.content_checksum) << 2
        | u8::from(options.dict_id.is_some());
    header[4] = flg;
    header[5] = options.block_size.id() << 4;
    let mut at = 6;
    if options.content_size {
        header[at..at + 8].copy_from_slice(&content_size.to_le_bytes());
        at += 8;
    }
    if let Some(id) = options.dict_id {
        header[at..at + 4].copy_from_slice(&id.to_le_bytes());
        at += 4;
    }
    header[at] = header_checksum(&header[4..at]);
    at += 1;
    let available = output.len();
    let out = output.get_mut(..at).ok_or(Error::OutputTooSmall {
        needed: None,
        available,
    })?;
    out.copy_from_slice(&header[..at]);
    Ok(at)
}

/// The most bytes [`compress_frame`] can produce for `len` input bytes with `options`: an
/// output this large never gives [`Error::OutputTooSmall`]. (Blocks that do not compress
/// are stored, so a block never costs more than its size plus 8 bytes.)
pub const fn max_frame_len(len: usize, options: &FrameOptions) -> usize {
    let block = options.block_size.bytes();
    let blocks = len.div_ceil(block);
    let per_block = if options.block_checksum { 8 } else { 4 };
    MAX_HEADER_LEN + len + blocks * per_block + 4 + 4
}

/// Compresses `input` as one LZ4 frame into `output`; returns the frame's length.
///
/// ```
/// use offload_compress::{Auto, lz4};
///
/// let codec = Auto::detect();
/// let mut workspace = lz4::Workspace::new();
/// let options = lz4::FrameOptions { content_size: true, ..Default::default() };
/// let input = b"a frame holds blocks, a block holds sequences, sequences hold bytes".repeat(50);
/// let mut frame = vec![0u8; lz4::max_frame_len(input.len(), &options)];
/// let n = lz4::compress_frame(codec, &mut workspace, &options, &input, &mut frame)?;
///
/// let mut back = vec![0u8; input.len()];
/// let (consumed, produced) = lz4::decompress_frame(codec, &frame[..n], &mut back, &[])?;
/// assert_eq!((consumed, &back[..produced]), (n, &input[..]));
/// # Ok::<(), offload_compress::Error>(())
/// ```
///
/// # Errors
/// [`Error::OutputTooSmall`] when the frame does not fit (an output of [`max_frame_len`]
/// bytes always suffices); [`Error::InvalidParameter`] for linked blocks over more than
/// [`lz4::MAX_INPUT`] bytes.
pub fn compress_frame<C: Codec>(
    codec: C,
    workspace: &mut lz4::Workspace,
    options: &FrameOptions,
    input: &[u8],
    output: &mut [u8],
) -> Result<usize, Error> {
    let too_small = Error::OutputTooSmall {
        needed: Some(max_frame_len(input.len(), options)),
        available: output.len(),
    };
    let mut op = write_header(options, input.len() as u64, output).map_err(|_| too_small)?;
    let block = options.block_size.bytes();
    let mut content = Xxh32::new(0);
    let mut start = 0;
    while start < input.len() {
        let end = (start + block).min(input.len());
        let n = write_block(
            codec,
            workspace,
            options,
            input,
            start,
            end,
            &mut output[op..],
        )
        .map_err(|_| too_small)?;
        if options.content_checksum {
            content.update(&input[start..end]);
        }
        op += n;
        start = end;
    }
    let trailer_len = if options.content_checksum { 8 } else { 4 };
    let trailer = output.get_mut(op..op + trailer_len).ok_or(too_small)?;
    trailer[..4].copy_from_slice(&[0; 4]);
    if options.content_checksum {
        trailer[4..].copy_from_slice(&content.finish().to_le_bytes());
    }
    Ok(op + trailer_len)
}

/// Writes the block `data[start..end]` (size word, data, checksum) into `output`; linked
/// blocks may refer to `data[..start]`. Returns the bytes written.
pub(crate) fn write_block<C: Codec>(
    codec: C,
    workspace: &mut lz4::Workspace,
    options: &FrameOptions,
    data: &[u8],
    start: usize,
    end: usize,
    output: &mut [u8],
) -> Result<usize, Error> {
    let raw = &data[start..end];
    let full = Error::OutputTooSmall {
        needed: None,
        available: output.len(),
    };
    if output.len() < 4 {
        return Err(full);
    }
    // Compressed only if that saves at least a byte: the output for the attempt is capped
    // at one byte less than the raw size (liblz4's rule, so the two store the same blocks).
    let room = (output.len() - 4).min(raw.len().saturating_sub(1));
    let body = &mut output[4..4 + room];
    let compressed = if options.independent_blocks {
        codec.lz4_compress_block(workspace, raw, body, options.acceleration)
    } else {
        codec.lz4_compress_linked(workspace, &data[..end], start, body, options.acceleration)
    };
    let (len, word) = match compressed {
        Ok(n) => (n, n),
        Err(Error::OutputTooSmall { .. }) => {
            let body = output.get_mut(4..4 + raw.len()).ok_or(full)?;
            body.copy_from_slice(raw);
            (raw.len(), raw.len() | 1 << 31)
        }
        Err(e) => return Err(e),
    };
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a block is at most 4 MiB, plus the stored flag in bit 31"
    )]
    output[..4].copy_from_slice(&(word as u32).to_le_bytes());
    let mut at = 4 + len;
    if options.block_checksum {
        let sum = codec.xxh32(0, &output[4..at]);
        output
            .get_mut(at..at + 4)
            .ok_or(full)?
            .copy_from_slice(&sum.to_le_bytes());
        at += 4;
    }
    Ok(at)
}

/// Decodes one frame at the start of `input` into `output`; returns `(consumed,
/// produced)`: the frame's length in `input` and the bytes written to `output`. A
/// skippable frame gives `(its length, 0)`; a legacy frame runs to the end of `input` or to
/// the next magic number. `dict` is the dictionary for frames compressed with one (each
/// independent block, or the first linked block, may refer to its last 64 KiB); pass `&[]`
/// otherwise. Bytes after the frame are left alone: see [`decompress_frames`] to decode a
/// concatenation.
///
/// # Errors
/// [`Error::Truncated`], [`Error::Corrupt`], [`Error::Checksum`], [`Error::ContentSize`],
/// [`Error::OutputTooSmall`] (with the size needed when the header declares it), and
/// [`Error::Unsupported`] for a frame that declares a dictionary when `dict` is empty.
pub fn decompress_frame<C: Codec>(
    codec: C,
    input: &[u8],
    output: &mut [u8],
    dict: &[u8],
) -> Result<(usize, usize), Error> {
    let magic = u32_at(input, 0)?;
    if is_skippable(magic) {
        let len = u32_at(input, 4)? as usize;
        let end = 8usize.checked_add(len).ok_or(Error::Truncated)?;
        if end > input.len() {
            return Err(Error::Truncated);
        }
        return Ok((end, 0));
    }
    if magic == LEGACY_MAGIC {
        return decompress_legacy(codec, input, output);
    }
    let info = read_frame_header(input)?;
    if let (Some(id), true) = (info.dict_id, dict.is_empty()) {
        return Err(Error::Unsupported(Unsupported::Dictionary { id }));
    }
    if let Some(size) = info.content_size
        && size > output.len() as u64
    {
        return Err(Error::OutputTooSmall {
            needed: usize::try_from(size).ok(),
            available: output.len(),
        });
    }
    let max = info.block_size.bytes();
    let mut ip = info.header_len;
    let mut op = 0;
    let mut content = Xxh32::new(0);
    loop {
        let word = u32_at(input, ip)?;
        ip += 4;
        if word == 0 {
            break;
        }
        let stored = word & 1 << 31 != 0;
        let size = (word & !(1 << 31)) as usize;
        if size > max {
            return Err(Corruption::Lz4BlockTooLarge { size, max }.into());
        }
        let data = input.get(ip..ip + size).ok_or(Error::Truncated)?;
        ip += size;
        if info.block_checksum {
            check_block_sum(codec, data, u32_at(input, ip)?)?;
            ip += 4;
        }
        let produced = if stored {
            let available = output.len();
            let out = output.get_mut(op..op + size).ok_or(Error::OutputTooSmall {
                needed: info.content_size.and_then(|s| usize::try_from(s).ok()),
                available,
            })?;
            out.copy_from_slice(data);
            size
        } else {
            decode_block(codec, data, output, op, max, &info, dict)?
        };
        if info.content_checksum {
            content.update(&output[op..op + produced]);
        }
        op += produced;
    }
    if info.content_checksum {
        let stored = u32_at(input, ip)?;
        ip += 4;
        let computed = content.finish();
        if stored != computed {
            return Err(Error::Checksum {
                kind: ChecksumKind::Lz4Content,
                stored,
                computed,
            });
        }
    }
    if let Some(declared) = info.content_size
        && declared != op as u64
    {
        return Err(Error::ContentSize {
            declared,
            decoded: op as u64,
        });
    }
    Ok((ip, op))
}

/// Decodes one compressed block of a frame at `output[op..]`, at most `max` bytes.
fn decode_block<C: Codec>(
    codec: C,
    data: &[u8],
    output: &mut [u8],
    op: usize,
    max: usize,
    info: &FrameInfo,
    dict: &[u8],
) -> Result<usize, Error> {
    let limit = output.len().min(op + max);
    let result = if info.independent_blocks {
        codec.lz4_decompress_block(data, &mut output[op..limit], 0, dict)
    } else {
        // History: the dictionary, then everything decoded so far (offsets reach at most
        // 64 KiB back, so only the last 64 KiB of it is ever read).
        let dict = if op >= 65_535 { &[][..] } else { dict };
        codec.lz4_decompress_block(data, &mut output[..limit], op, dict)
    };
    match result {
        Err(Error::OutputTooSmall { .. }) if limit < output.len() => {
            Err(Corruption::Lz4BlockOverflow { max }.into())
        }
        Err(Error::OutputTooSmall { .. }) => Err(Error::OutputTooSmall {
            needed: info.content_size.and_then(|s| usize::try_from(s).ok()),
            available: output.len(),
        }),
        other => other,
    }
}

/// Whether `word` starts a frame of any kind.
pub(crate) fn is_magic(word: u32) -> bool {
    word == MAGIC || word == LEGACY_MAGIC || is_skippable(word)
}

/// Whether `word` is one of the 16 skippable-frame magic numbers.
pub(crate) fn is_skippable(word: u32) -> bool {
    word & 0xFFFF_FFF0 == SKIPPABLE_MAGIC
}

/// Checks a block's stored checksum against its data.
pub(crate) fn check_block_sum<C: Codec>(codec: C, data: &[u8], stored: u32) -> Result<(), Error> {
    let computed = codec.xxh32(0, data);
    if stored != computed {
        return Err(Error::Checksum {
            kind: ChecksumKind::Lz4Block,
            stored,
            computed,
        });
    }
    Ok(())
}

/// A legacy frame: the magic, then blocks of (u32 size, compressed data), each decoding
/// to 8 MiB except possibly the last, until the input ends or another magic number
/// follows.
fn decompress_legacy<C: Codec>(
    codec: C,
    input: &[u8],
    output: &mut [u8],
) -> Result<(usize, usize), Error> {
    let mut ip = 4;
    let mut op = 0;
    while ip < input.len() {
        let size = u32_at(input, ip)?;
        if is_magic(size) {
            break;
        }
        let size = size as usize;
        if size > lz4::max_compressed_len(LEGACY_BLOCK) {
            return Err(Corruption::Lz4BlockTooLarge {
                size,
                max: lz4::max_compressed_len(LEGACY_BLOCK),
            }
            .into());
        }
        let data = input.get(ip + 4..ip + 4 + size).ok_or(Error::Truncated)?;
        ip += 4 + size;
        let limit = output.len().min(op + LEGACY_BLOCK);
        let n = match codec.lz4_decompress_block(data, &mut output[op..limit], 0, &[]) {
            Err(Error::OutputTooSmall { .. }) if limit < output.len() => {
                return Err(Corruption::Lz4BlockOverflow { max: LEGACY_BLOCK }.into());
            }
            Err(Error::OutputTooSmall { .. }) => {
                return Err(Error::OutputTooSmall {
                    needed: None,
                    available: output.len(),
                });
            }
            other => other?,
        };
        op += n;
    }
    Ok((ip, op))
}

/// Decodes every frame in `input` (concatenated frames, skippable frames skipped, legacy
/// frames included), as the `lz4` command does; returns the bytes written to `output`.
///
/// # Errors
/// As [`decompress_frame`]; [`Corruption::Lz4TrailingData`] when bytes after a frame do not
/// start another one, [`Error::Truncated`] when `input` is empty or ends inside a frame.
pub fn decompress_frames<C: Codec>(
    codec: C,
    input: &[u8],
    output: &mut [u8],
    dict: &[u8],
) -> Result<usize, Error> {
    if input.is_empty() {
        return Err(Error::Truncated);
    }
    let mut ip = 0;
    let mut op = 0;
    while ip < input.len() {
        match decompress_frame(codec, &input[ip..], &mut output[op..], dict) {
            Ok((consumed, produced)) => {
                ip += consumed;
                op += produced;
            }
            Err(Error::Corrupt(Corruption::Lz4BadMagic { .. })) if ip > 0 => {
                return Err(Corruption::Lz4TrailingData { at: ip }.into());
            }
            Err(Error::OutputTooSmall { needed, .. }) => {
                return Err(Error::OutputTooSmall {
                    needed: needed.map(|n| n + op),
                    available: output.len(),
                });
            }
            Err(e) => return Err(e),
        }
    }
    Ok(op)
}
