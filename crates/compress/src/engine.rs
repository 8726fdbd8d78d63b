//! The backend selector ([`Backend`]), the run-time dispatcher ([`Auto`]) and the engine
//! trait ([`Codec`]).
//!
//! Format logic (frame headers, checksums' placement, block splitting, streaming state) is
//! safe code written once. A backend supplies the hot loops: block compression and
//! decompression and the checksums. Every backend produces the same bytes as [`Scalar`] for
//! the same input and settings, so compressed output is reproducible across machines.

#![forbid(unsafe_code)]

use crate::Error;
#[cfg(target_arch = "aarch64")]
use crate::backend::Neon;
use crate::backend::Scalar;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
use crate::backend::{Avx2, Avx512};
use crate::deflate::inflate::SafeKernel;
use crate::{deflate, lz4};

/// Which implementation runs. Tests, benches and the CLI iterate [`Backend::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Portable safe Rust, always available: the oracle.
    Scalar,
    /// x86_64 with AVX-512F, BW and VL on top of `Avx2`'s features (Intel Skylake-SP,
    /// AMD Zen 4 and later).
    Avx512,
    /// x86_64 with AVX2, BMI1 and BMI2 (Intel Haswell, AMD Zen and later).
    Avx2,
    /// aarch64 with NEON.
    Neon,
}

impl Backend {
    /// Every backend, fastest first.
    pub const ALL: [Backend; 4] = [
        Backend::Avx512,
        Backend::Avx2,
        Backend::Neon,
        Backend::Scalar,
    ];

    /// Lower-case name: `scalar`, `avx512`, `avx2`, `neon`.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            Backend::Avx512 => "avx512",
            Backend::Avx2 => "avx2",
            Backend::Neon => "neon",
        }
    }

    /// Whether this build contains the backend.
    pub const fn is_compiled(self) -> bool {
        match self {
            Backend::Scalar => true,
            Backend::Avx512 | Backend::Avx2 => {
                cfg!(all(target_arch = "x86_64", target_feature = "sse2"))
            }
            Backend::Neon => cfg!(target_arch = "aarch64"),
        }
    }

    /// CPU features the backend needs (names as `is_x86_feature_detected!` and
    /// `is_aarch64_feature_detected!` spell them).
    pub const fn features(self) -> &'static [&'static str] {
        match self {
            Backend::Scalar => &[],
            Backend::Avx512 => &["avx512f", "avx512bw", "avx512vl", "avx2", "bmi1", "bmi2"],
            Backend::Avx2 => &["avx2", "bmi1", "bmi2"],
            Backend::Neon => &["neon"],
        }
    }
}

impl core::fmt::Display for Backend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// The compression engine's kernels. Implemented by [`Scalar`], the SIMD backends and
/// [`Auto`]. The provided methods are the portable code (what [`Scalar`] runs); a backend
/// overrides those it has a faster kernel for, with identical results. Most callers use the format functions in [`lz4`] instead, which take any
/// `Codec`.
pub trait Codec: Copy + core::fmt::Debug {
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// xxHash32 of `data` with `seed` (the checksum of the LZ4 frame format):
    /// `xxh32(0, b"") == 0x02CC_5D05`.
    fn xxh32(&self, seed: u32, data: &[u8]) -> u32 {
        lz4::xxh32::xxh32(seed, data)
    }

    /// Compresses `input` as one LZ4 block into `output`, returning the block's length.
    /// See [`lz4::compress_block`].
    ///
    /// # Errors
    /// [`Error::OutputTooSmall`] when the block does not fit; [`Error::InvalidParameter`]
    /// for an input longer than [`lz4::MAX_INPUT`].
    fn lz4_compress_block(
        &self,
        workspace: &mut lz4::Workspace,
        input: &[u8],
        output: &mut [u8],
        acceleration: u32,
    ) -> Result<usize, Error> {
        lz4::check_input_len(input)?;
        lz4::block::compress(&mut workspace.table, input, output, acceleration)
    }

    /// Compresses `data[start..]` as one LZ4 block whose matches may reach back into the
    /// last 64 KiB of `data[..start]` (the blocks of a linked frame, compressed in order:
    /// `start` is 0 for the first block of `data`, and the workspace is not used for
    /// anything else in between). Returns the block's length.
    ///
    /// # Errors
    /// As [`Codec::lz4_compress_block`].
    fn lz4_compress_linked(
        &self,
        workspace: &mut lz4::Workspace,
        data: &[u8],
        start: usize,
        output: &mut [u8],
        acceleration: u32,
    ) -> Result<usize, Error> {
        lz4::check_input_len(data)?;
        lz4::block::compress_linked(&mut workspace.table, data, start, output, acceleration)
    }

    /// Decodes the LZ4 block `input` into `output[start..]`, with `dict ++ output[..start]`
    /// as the history matches may reach into; returns the number of bytes written after
    /// `start`. See [`lz4::decompress_block_with_dict`].
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::Corrupt`], [`Error::OutputTooSmall`].
    fn lz4_decompress_block(
        &self,
        input: &[u8],
        output: &mut [u8],
        start: usize,
        dict: &[u8],
    ) -> Result<usize, Error>;

    /// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320; gzip's checksum) continued over
    /// `data`: start from [`deflate::CRC32_INIT`]; `crc32(0, b"123456789") == 0xCBF4_3926`.
    fn crc32(&self, crc: u32, data: &[u8]) -> u32 {
        let mut hasher = crc32fast::Hasher::new_with_initial(crc);
        hasher.update(data);
        hasher.finalize()
    }

    /// Adler-32 (RFC 1950; zlib's checksum) continued over `data`: start from
    /// [`deflate::ADLER32_INIT`]; `adler32(1, b"Wikipedia") == 0x11E6_0398`.
    fn adler32(&self, adler: u32, data: &[u8]) -> u32 {
        deflate::adler32::adler32(adler, data)
    }

    /// Decodes the raw DEFLATE stream at the start of `input` into `output`, with `dict` as
    /// the history before `output[0]` (empty for none); returns `(consumed, produced)`.
    /// See [`deflate::inflate_raw`].
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::Corrupt`], [`Error::OutputTooSmall`].
    fn inflate(
        &self,
        inflater: &mut deflate::Inflater,
        input: &[u8],
        output: &mut [u8],
        dict: &[u8],
    ) -> Result<(usize, usize), Error> {
        deflate::inflate::inflate::<SafeKernel>(inflater, input, output, dict)
    }

    /// The fast path of [`deflate::InflateStream::decompress`] inside a Huffman block, from
    /// input position `*ip` and output position `*op` (both advanced); returns whether the
    /// block ended. A trait method only so that a backend can compile the decoder's fast
    /// loop for its CPU features: not for callers, and not worth overriding elsewhere.
    ///
    /// # Errors
    /// Those of [`deflate::InflateStream::decompress`].
    #[doc(hidden)]
    fn inflate_stream_fast(
        &self,
        stream: &mut deflate::InflateStream,
        input: &[u8],
        output: &mut [u8],
        ip: &mut usize,
        op: &mut usize,
    ) -> Result<bool, Error> {
        stream.fast::<SafeKernel>(input, output, ip, op)
    }

    /// Compresses `input` as a raw DEFLATE stream into `output` at `level` (0..=9) and
    /// returns its length. See [`deflate::deflate_raw`].
    ///
    /// # Errors
    /// [`Error::OutputTooSmall`], [`Error::InvalidParameter`] for a level above 9.
    fn deflate(
        &self,
        deflater: &mut deflate::Deflater,
        level: u32,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<usize, Error> {
        deflate::compress::deflate(
            &mut deflater.state,
            level,
            input,
            output,
            &deflate::compress::SafeParse,
        )
    }
}

/// The fastest backend this CPU supports, chosen once; cheap to copy and to call. Dispatch
/// is a `match`: no atomics, no function pointers, no heap.
#[derive(Clone, Copy, Debug)]
pub enum Auto {
    /// See [`Scalar`].
    Scalar(Scalar),
    /// See `Avx512`.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    Avx512(Avx512),
    /// See `Avx2`.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    Avx2(Avx2),
    /// See `Neon`.
    #[cfg(target_arch = "aarch64")]
    Neon(Neon),
}

impl Auto {
    /// The first of [`Backend::ALL`] that this build and CPU support.
    pub fn detect() -> Self {
        Backend::ALL
            .into_iter()
            .find_map(Self::with_backend)
            .unwrap_or(Auto::Scalar(Scalar))
    }

    /// `backend` if this build and this CPU support it: how tests, benches and the CLI
    /// force one.
    pub fn with_backend(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Scalar => Some(Auto::Scalar(Scalar)),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Backend::Avx512 => Avx512::new().map(Auto::Avx512),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Backend::Avx2 => Avx2::new().map(Auto::Avx2),
            #[cfg(target_arch = "aarch64")]
            Backend::Neon => Neon::new().map(Auto::Neon),
            #[allow(
                unreachable_patterns,
                reason = "which arms exist depends on the target"
            )]
            _ => None,
        }
    }
}

impl Default for Auto {
    fn default() -> Self {
        Self::detect()
    }
}

/// Forwards a call to the backend inside an [`Auto`].
macro_rules! dispatch {
    ($self:expr, $e:ident => $call:expr) => {
        match $self {
            Auto::Scalar($e) => $call,
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx512($e) => $call,
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx2($e) => $call,
            #[cfg(target_arch = "aarch64")]
            Auto::Neon($e) => $call,
        }
    };
}

impl Codec for Auto {
    fn backend(&self) -> Backend {
        dispatch!(self, e => e.backend())
    }

    #[inline]
    fn xxh32(&self, seed: u32, data: &[u8]) -> u32 {
        dispatch!(self, e => e.xxh32(seed, data))
    }

    #[inline]
    fn lz4_compress_block(
        &self,
        workspace: &mut lz4::Workspace,
        input: &[u8],
        output: &mut [u8],
        acceleration: u32,
    ) -> Result<usize, Error> {
        dispatch!(self, e => e.lz4_compress_block(workspace, input, output, acceleration))
    }

    #[inline]
    fn lz4_compress_linked(
        &self,
        workspace: &mut lz4::Workspace,
        data: &[u8],
        start: usize,
        output: &mut [u8],
        acceleration: u32,
    ) -> Result<usize, Error> {
        dispatch!(self, e => e.lz4_compress_linked(workspace, data, start, output, acceleration))
    }

    #[inline]
    fn lz4_decompress_block(
        &self,
        input: &[u8],
        output: &mut [u8],
        start: usize,
        dict: &[u8],
    ) -> Result<usize, Error> {
        dispatch!(self, e => e.lz4_decompress_block(input, output, start, dict))
    }

    #[inline]
    fn crc32(&self, crc: u32, data: &[u8]) -> u32 {
        dispatch!(self, e => e.crc32(crc, data))
    }

    #[inline]
    fn adler32(&self, adler: u32, data: &[u8]) -> u32 {
        dispatch!(self, e => e.adler32(adler, data))
    }

    #[inline]
    fn inflate(
        &self,
        inflater: &mut deflate::Inflater,
        input: &[u8],
        output: &mut [u8],
        dict: &[u8],
    ) -> Result<(usize, usize), Error> {
        dispatch!(self, e => e.inflate(inflater, input, output, dict))
    }

    #[inline]
    fn inflate_stream_fast(
        &self,
        stream: &mut deflate::InflateStream,
        input: &[u8],
        output: &mut [u8],
        ip: &mut usize,
        op: &mut usize,
    ) -> Result<bool, Error> {
        dispatch!(self, e => e.inflate_stream_fast(stream, input, output, ip, op))
    }

    #[inline]
    fn deflate(
        &self,
        deflater: &mut deflate::Deflater,
        level: u32,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<usize, Error> {
        dispatch!(self, e => e.deflate(deflater, level, input, output))
    }
}
