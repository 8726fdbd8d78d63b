//! LZ4: the block format and the frame format.
//!
//! Blocks are what the DPU engines work on (a block plus its sizes, carried out of band);
//! frames are the self-describing container the `lz4` command and most storage formats
//! use. Every function takes a [`Codec`] (a backend or [`Auto`](crate::Auto)); all of them
//! give the same bytes.

#![forbid(unsafe_code)]

use crate::{Codec, Error};

pub(crate) mod block;
mod frame;
#[cfg(feature = "std")]
mod io;
mod stream;
pub(crate) mod xxh32;

pub use frame::{
    BlockSize, FrameInfo, FrameOptions, LEGACY_MAGIC, MAGIC, MAX_HEADER_LEN, SKIPPABLE_MAGIC,
    compress_frame, decompress_frame, decompress_frames, max_frame_len, read_frame_header,
};
#[cfg(feature = "std")]
pub use io::{Reader, Writer};
pub use stream::{Flush, FrameDecoder, FrameEncoder, Progress};
pub use xxh32::Xxh32;

/// Largest input one block may hold (liblz4's `LZ4_MAX_INPUT_SIZE`).
pub const MAX_INPUT: usize = 0x7E00_0000;

/// The default acceleration: liblz4's default compression.
pub const DEFAULT_ACCELERATION: u32 = 1;

/// The most bytes compressing `len` bytes can produce (liblz4's `LZ4_compressBound` for
/// `len <= MAX_INPUT`): an output this large never gives [`Error::OutputTooSmall`].
pub const fn max_compressed_len(len: usize) -> usize {
    len + len / 255 + 16
}

/// The block compressor's scratch: a 16 KiB hash table (8192 16-bit or 4096 32-bit
/// positions). Reuse one across calls; each call starts from a cleared table, so results
/// never depend on earlier calls.
#[derive(Clone)]
pub struct Workspace {
    pub(crate) table: block::Table,
}

impl Workspace {
    /// Size of a workspace in bytes.
    pub const SIZE: usize = size_of::<Workspace>();

    /// A new workspace.
    pub const fn new() -> Self {
        Workspace { table: [0; 8192] }
    }
}

impl Workspace {
    /// Moves every stored position `delta` bytes down (positions below `delta` become 0,
    /// which is always out of the window of the next block): what a streaming linked-block
    /// encoder does after sliding its buffer down by `delta`. 32-bit layout only.
    pub(crate) fn rebase(&mut self, delta: usize) {
        for pair in self.table.chunks_exact_mut(2) {
            let pos = usize::from(pair[0]) | usize::from(pair[1]) << 16;
            let pos = pos.saturating_sub(delta);
            #[expect(
                clippy::cast_possible_truncation,
                reason = "positions are below 2^31; the halves are split on purpose"
            )]
            {
                pair[0] = pos as u16;
                pair[1] = (pos >> 16) as u16;
            }
        }
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Workspace")
            .field("bytes", &Self::SIZE)
            .finish_non_exhaustive()
    }
}

pub(crate) fn check_input_len(input: &[u8]) -> Result<(), Error> {
    if input.len() > MAX_INPUT {
        return Err(Error::InvalidParameter {
            what: "LZ4 block input longer than 0x7E000000 bytes",
        });
    }
    Ok(())
}

/// Compresses `input` into `output` as one LZ4 block and returns the block's length.
///
/// `acceleration` trades ratio for speed exactly as liblz4's does (1 is the default, values
/// are clamped to 1..=65537); for the same input and acceleration the block is the one
/// liblz4's `LZ4_compress_fast` produces, on every backend.
///
/// ```
/// use offload_compress::{Auto, lz4};
///
/// let codec = Auto::detect();
/// let mut workspace = lz4::Workspace::new();
/// let input = b"the quick brown fox jumps over the quick brown dog, quickly";
/// let mut block = [0u8; lz4::max_compressed_len(64)];
/// let n = lz4::compress_block(codec, &mut workspace, input, &mut block, lz4::DEFAULT_ACCELERATION)?;
///
/// let mut back = [0u8; 64];
/// let m = lz4::decompress_block(codec, &block[..n], &mut back)?;
/// assert_eq!(&back[..m], input);
/// # Ok::<(), offload_compress::Error>(())
/// ```
///
/// # Errors
/// [`Error::OutputTooSmall`] when the block does not fit (an output of
/// [`max_compressed_len`] bytes always suffices); [`Error::InvalidParameter`] for inputs
/// longer than [`MAX_INPUT`].
pub fn compress_block<C: Codec>(
    codec: C,
    workspace: &mut Workspace,
    input: &[u8],
    output: &mut [u8],
    acceleration: u32,
) -> Result<usize, Error> {
    codec.lz4_compress_block(workspace, input, output, acceleration)
}

/// Decodes the LZ4 block `input` into `output` and returns the bytes written. The block must
/// be the whole of `input`; `output` bounds the result (the format does not store the
/// decoded size). Only `output[..returned]` is written.
///
/// # Errors
/// [`Error::Truncated`] when the block ends inside a sequence, [`Error::Corrupt`] for an
/// offset of 0 or one reaching before the start of the output, [`Error::OutputTooSmall`]
/// when the block decodes to more than `output.len()` bytes.
pub fn decompress_block<C: Codec>(
    codec: C,
    input: &[u8],
    output: &mut [u8],
) -> Result<usize, Error> {
    codec.lz4_decompress_block(input, output, 0, &[])
}

/// Decodes the LZ4 block `input` into `output[start..]`, where matches may reach back into
/// `dict` followed by `output[..start]` (a dictionary, or earlier blocks of a linked frame
/// decoded into the same buffer; the format's window is the last 64 KiB). Returns the bytes
/// written after `start`; only `output[start..start + returned]` is written.
///
/// # Errors
/// As [`decompress_block`]; [`Error::InvalidParameter`] when `start > output.len()`.
pub fn decompress_block_with_dict<C: Codec>(
    codec: C,
    input: &[u8],
    output: &mut [u8],
    start: usize,
    dict: &[u8],
) -> Result<usize, Error> {
    codec.lz4_decompress_block(input, output, start, dict)
}
