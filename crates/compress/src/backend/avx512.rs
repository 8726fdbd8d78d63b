//! x86_64 with AVX-512 F, BW and VL on top of `Avx2`'s AVX2, BMI1 and BMI2 (Intel
//! Skylake-SP, AMD Zen 4 and later).
//!
//! What AVX-512 changes, kernel by kernel:
//! - **LZ4 compression**: `Avx2`'s kernel (liblz4's fast mode on raw pointers, the same
//!   bytes), compiled with these features and given its own literal moves ([`Lz4Moves`]).
//!   A sequence's literals are copied with 64-byte masked loads and stores: exact, so one
//!   move without a loop for runs of up to 64 bytes (most are under 16) and no separate
//!   path near the end of the output; `Avx2` loops over 8-byte moves and takes
//!   `copy_nonoverlapping` where 7 bytes of room are missing. Matches are extended 8 bytes
//!   at a time as on `Avx2`: 64-byte compares (`vpcmpneqb` into a mask, the last one
//!   masked) measured slower, logs 0.93x and mixed 0.90-0.96x in one criterion run, also
//!   with the first 8 bytes compared as a word first. Most matches that get that far end
//!   within a few words, and the mask's longer latency delays the next hash look-up, which
//!   waits for the match's end.
//! - **Adler-32**: 64 bytes a step in ZMM lanes ([`adler32_avx512`], `Avx2`'s decomposition
//!   at twice the width).
//! - **Everything else** (the LZ4 decoder's fast loop, Deflate's parsers and decoder,
//!   CRC-32, xxHash32) is `Avx2`'s code, which every CPU with these features also runs:
//!   the value holds an `Avx2`, detected with it. The LZ4 decoder's loop compiled with
//!   these features measured the same as `Avx2`'s (0.96-1.03x per data kind, one criterion
//!   run); its sequences are 8- and 16-byte moves that wider registers do not shorten.
//!
//! Measured on a Sapphire Rapids class Xeon (2-core guest, criterion, one run): see the
//! crate README's speed section.

use core::arch::x86_64::{
    _bzhi_u64, _mm512_add_epi32, _mm512_loadu_si512, _mm512_madd_epi16, _mm512_maddubs_epi16,
    _mm512_mask_storeu_epi8, _mm512_maskz_loadu_epi8, _mm512_sad_epu8, _mm512_set_epi8,
    _mm512_set1_epi16, _mm512_setzero_si512, _mm512_storeu_si512,
};

use super::Avx2;
use super::avx2::{
    ADLER_CHUNKS, ADLER_MOD, Lz4Moves, adler32_avx2, compress_body, lz4_compress, u32_sum,
};
use crate::engine::{Backend, Codec};
use crate::lz4::block;
use crate::{Error, deflate};

/// x86_64 with AVX-512F, BW and VL, AVX2, BMI1 and BMI2. Construct with
/// [`Avx512::new`], which checks the CPU.
#[derive(Clone, Copy, Debug)]
pub struct Avx512 {
    /// The `Avx2` backend, detected with this one: it runs the kernels AVX-512 does not
    /// change.
    avx2: Avx2,
}

impl Avx512 {
    /// `Some` if this CPU (and OS) support every feature in [`Backend::Avx512`]'s
    /// [`features`](Backend::features).
    pub fn new() -> Option<Self> {
        if !crate::detect::avx512() {
            return None;
        }
        Some(Self { avx2: Avx2::new()? })
    }

    /// # Safety
    /// The CPU must support AVX-512F, AVX-512BW, AVX-512VL, AVX2, BMI1 and BMI2, and the OS
    /// must have enabled the ZMM state.
    pub const unsafe fn new_unchecked() -> Self {
        Self {
            // SAFETY: the caller's promise covers `Avx2`'s features.
            avx2: unsafe { Avx2::new_unchecked() },
        }
    }
}

impl Lz4Moves for Avx512 {
    #[inline(always)]
    unsafe fn kernel<P: block::Positions, const LIMITED: bool>(
        table: &mut block::Table,
        input: &[u8],
        output: &mut [u8],
        acceleration: u32,
    ) -> Result<usize, Error> {
        // SAFETY: the caller's promise.
        unsafe { compress_kernel::<P, LIMITED>(table, input, output, acceleration) }
    }

    /// 64-byte moves, the last (or only) one masked to the bytes left: exact, so `room` is
    /// not needed.
    #[inline(always)]
    unsafe fn literals(d: *mut u8, s: *const u8, n: usize, _room: bool) {
        // SAFETY: the whole moves cover bytes `i .. i + 64 <= n` (loop condition `n - i >
        // 64`), the masked one bytes `i .. n` (a masked load or store touches only the
        // bytes its mask selects); the caller guarantees `0 .. n` of both.
        unsafe {
            let mut i = 0;
            while n - i > 64 {
                _mm512_storeu_si512(d.add(i).cast(), _mm512_loadu_si512(s.add(i).cast()));
                i += 64;
            }
            #[expect(clippy::cast_possible_truncation, reason = "n - i <= 64")]
            let k = _bzhi_u64(u64::MAX, (n - i) as u32);
            _mm512_mask_storeu_epi8(
                d.add(i).cast(),
                k,
                _mm512_maskz_loadu_epi8(k, s.add(i).cast()),
            );
        }
    }
}

/// The LZ4 compressor compiled for this backend ([`compress_body`] with its moves).
///
/// # Safety
/// The CPU must support the backend's features; the rest as [`compress_body`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,bmi1,bmi2")]
unsafe fn compress_kernel<P: block::Positions, const LIMITED: bool>(
    table: &mut block::Table,
    input: &[u8],
    output: &mut [u8],
    acceleration: u32,
) -> Result<usize, Error> {
    // SAFETY: the caller's promise.
    unsafe { compress_body::<P, LIMITED, Avx512>(table, input, output, acceleration) }
}

/// Adler-32 over 64-byte chunks in ZMM lanes: `Avx2`'s decomposition (see `adler32_avx2`)
/// with 64-byte chunks. Per chunk, `vpsadbw` against zero gives its byte sum in eight
/// 64-bit lanes, added to a running total after that total is added to a prefix
/// accumulator; `vpmaddubsw` with the weights 64..1 (each pair at most `255 * 127 < 2^15`)
/// and `vpmaddwd` with ones give the weighted sum in sixteen 32-bit lanes. Every
/// [`ADLER_CHUNKS`] chunks (64 KiB) the lanes are added up in 64-bit scalars and reduced
/// modulo 65521: the prefix lanes, the largest, reach `1024^2 / 2 * 8 * 255 < 2^31`. The
/// last `< 64` bytes go to `Avx2`'s kernel.
#[target_feature(enable = "avx512f,avx512bw,avx2")]
fn adler32_avx512(adler: u32, data: &[u8]) -> u32 {
    let mut a = u64::from(adler & 0xFFFF) % ADLER_MOD;
    let mut b = u64::from(adler >> 16) % ADLER_MOD;
    let (chunks, tail) = data.as_chunks::<64>();
    // `_mm512_set_epi8` lists bytes 63 down to 0: byte `j` gets weight `64 - j`.
    let weights = _mm512_set_epi8(
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
        26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48,
        49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64,
    );
    let ones = _mm512_set1_epi16(1);
    let zero = _mm512_setzero_si512();
    for run in chunks.chunks(ADLER_CHUNKS) {
        let mut sums = zero;
        let mut prefix = zero;
        let mut weighted = zero;
        for chunk in run {
            // SAFETY: `chunk` is 64 readable bytes; the load has no alignment requirement.
            let v = unsafe { _mm512_loadu_si512(chunk.as_ptr().cast()) };
            prefix = _mm512_add_epi32(prefix, sums);
            sums = _mm512_add_epi32(sums, _mm512_sad_epu8(v, zero));
            weighted = _mm512_add_epi32(
                weighted,
                _mm512_madd_epi16(_mm512_maddubs_epi16(v, weights), ones),
            );
        }
        let n = 64 * run.len() as u64;
        let byte_sum = lanes_sum(sums);
        b += n * a + 64 * lanes_sum(prefix) + lanes_sum(weighted);
        a += byte_sum;
        a %= ADLER_MOD;
        b %= ADLER_MOD;
    }
    #[expect(clippy::cast_possible_truncation, reason = "both sums are below 65521")]
    let adler = ((b << 16) | a) as u32;
    adler32_avx2(adler, tail)
}

/// The sum of the sixteen unsigned 32-bit lanes of `v`, in 64 bits.
#[inline]
#[target_feature(enable = "avx512f")]
fn lanes_sum(v: core::arch::x86_64::__m512i) -> u64 {
    let mut lanes = [0u8; 64];
    // SAFETY: `lanes` is 64 writable bytes; the store has no alignment requirement.
    unsafe { _mm512_storeu_si512(lanes.as_mut_ptr().cast(), v) };
    u32_sum(&lanes)
}

impl Codec for Avx512 {
    fn backend(&self) -> Backend {
        Backend::Avx512
    }

    fn lz4_compress_block(
        &self,
        workspace: &mut crate::lz4::Workspace,
        input: &[u8],
        output: &mut [u8],
        acceleration: u32,
    ) -> Result<usize, Error> {
        // SAFETY: an `Avx512` exists only on a CPU with its features.
        unsafe { lz4_compress::<Self>(workspace, input, output, acceleration) }
    }

    fn lz4_decompress_block(
        &self,
        input: &[u8],
        output: &mut [u8],
        start: usize,
        dict: &[u8],
    ) -> Result<usize, Error> {
        self.avx2.lz4_decompress_block(input, output, start, dict)
    }

    fn adler32(&self, adler: u32, data: &[u8]) -> u32 {
        // SAFETY: an `Avx512` exists only on a CPU with AVX-512F, AVX-512BW and AVX2.
        unsafe { adler32_avx512(adler, data) }
    }

    fn inflate(
        &self,
        inflater: &mut deflate::Inflater,
        input: &[u8],
        output: &mut [u8],
        dict: &[u8],
    ) -> Result<(usize, usize), Error> {
        self.avx2.inflate(inflater, input, output, dict)
    }

    fn inflate_stream_fast(
        &self,
        stream: &mut deflate::InflateStream,
        input: &[u8],
        output: &mut [u8],
        ip: &mut usize,
        op: &mut usize,
    ) -> Result<bool, Error> {
        self.avx2.inflate_stream_fast(stream, input, output, ip, op)
    }

    fn deflate(
        &self,
        deflater: &mut deflate::Deflater,
        level: u32,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<usize, Error> {
        self.avx2.deflate(deflater, level, input, output)
    }
}
