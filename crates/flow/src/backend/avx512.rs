//! x86_64 with AVX-512F, AVX-512BW, AVX-512VL, GFNI and SSE4.2, and the `Avx2` backend's
//! features (AVX2, PCLMULQDQ, VPCLMULQDQ), detected together.
//!
//! - Toeplitz, one input: GF(2) affine transforms (`vgf2p8affineqb`), see the comment above
//!   [`toeplitz`].
//! - Toeplitz, bulk: `Avx2`'s carry-less kernel (eight inputs per step). Measured on a
//!   Sapphire Rapids class Xeon in one criterion run (`cargo bench -p offload-benches --bench
//!   flow -- toeplitz`): this file's GFNI bulk kernel (pairs of inputs, eight per step) ran
//!   IPv4 tuples at 379 M/s and IPv6 at 231 M/s, `Avx2`'s at 792 M/s and 384 M/s. The GFNI
//!   kernel spends two permutes and a shuffle (all on port 5) per eight lanes of a pair, and
//!   folds eight lanes per pair afterwards; the carry-less one multiplies 12-byte segments
//!   directly. So the GFNI bulk kernel was removed (it is in the history before this
//!   change). The one-input GFNI kernel stays: it is the faster one alone (112 M/s against
//!   103 M/s for IPv4, 105 against 67 for IPv6, same run).
//! - Tag compare: `vpcmpeqw` into mask registers, no pack or `pmovmskb`.
//! - CRC-32C: the SSE4.2 `crc32` kernel shared with `Avx2`.
//!
//! Neither `vpternlogq` nor VBMI's `vpermb` is used: Miri, which runs these kernels in CI on
//! top of the native test stage, cannot interpret `vpternlogq`, and VBMI is not among the
//! backend's features.

use core::arch::x86_64::{
    __m128i, __m512i, _MM_HINT_T0, _mm_cmpeq_epi16_mask, _mm_cvtsi128_si32, _mm_loadu_si128,
    _mm_prefetch, _mm_set1_epi16, _mm_unpackhi_epi64, _mm_xor_si128, _mm256_castsi256_si128,
    _mm256_extracti128_si256, _mm256_xor_si256, _mm512_castsi512_si256, _mm512_extracti64x4_epi64,
    _mm512_gf2p8affine_epi64_epi8, _mm512_loadu_si512, _mm512_maskz_loadu_epi8,
    _mm512_permutexvar_epi32, _mm512_setzero_si512, _mm512_shuffle_epi8, _mm512_xor_si512,
};

use super::Avx2;
use super::avx2::crc32c;
use crate::rss::{MATRICES, RssKey, check_input};
use crate::{Backend, Error, Lookup, LookupTask, RssHasher};

/// x86_64 with AVX-512F, AVX-512BW, AVX-512VL, GFNI and SSE4.2. Construct with
/// [`Avx512::new`], which checks the CPU (and that the OS saves the AVX-512 state).
#[derive(Clone, Copy, Debug)]
pub struct Avx512 {
    /// The `Avx2` backend, detected with this one: its carry-less kernel hashes in bulk.
    avx2: Avx2,
}

impl Avx512 {
    /// `Some` if this CPU has every feature in [`Backend::Avx512`]'s
    /// [`features`](Backend::features) and the OS has enabled the AVX-512 register state.
    pub fn new() -> Option<Self> {
        if !crate::detect::avx512() {
            return None;
        }
        Some(Self { avx2: Avx2::new()? })
    }

    /// # Safety
    /// The CPU must support AVX-512F, AVX-512BW, AVX-512VL, GFNI, SSE4.2, AVX2, PCLMULQDQ and
    /// VPCLMULQDQ, and the OS must have enabled the AVX-512 (opmask and ZMM) register state.
    pub const unsafe fn new_unchecked() -> Self {
        Self {
            // SAFETY: the caller's promise covers `Avx2`'s features.
            avx2: unsafe { Avx2::new_unchecked() },
        }
    }
}

impl Lookup for Avx512 {
    fn backend(&self) -> Backend {
        Backend::Avx512
    }

    #[inline]
    fn crc32c(&self, crc: u32, data: &[u8]) -> u32 {
        // SAFETY: an `Avx512` exists only on a CPU with SSE4.2.
        unsafe { crc32c(crc, data) }
    }

    #[inline]
    fn match_tags(&self, a: &[u16; 8], b: &[u16; 8], tag: u16) -> u16 {
        // SAFETY: an `Avx512` exists only on a CPU with AVX-512F, AVX-512BW and AVX-512VL.
        unsafe { match_tags(a, b, tag) }
    }

    #[inline(always)]
    fn prefetch<T>(&self, item: &T) {
        // SAFETY: a prefetch is a hint that never faults and reads no data; `item` is a
        // valid reference in any case.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(core::ptr::from_ref(item).cast::<i8>()) }
    }

    #[inline(always)]
    fn specialize<T: LookupTask>(&self, task: T) -> T::Output {
        /// The task, compiled with the backend's features so the kernels inline into it.
        #[target_feature(enable = "avx512f,avx512bw,avx512vl,gfni,sse4.2")]
        #[inline]
        fn run<T: LookupTask>(lookup: Avx512, task: T) -> T::Output {
            task.run(lookup)
        }
        // SAFETY: an `Avx512` exists only on a CPU with all of these features.
        unsafe { run(*self, task) }
    }
}

/// Each bucket's eight 16-bit tags compared with one `vpcmpeqw` into a mask register, which
/// is already the 8-bit result; the two masks are joined.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
#[inline]
fn match_tags(a: &[u16; 8], b: &[u16; 8], tag: u16) -> u16 {
    // SAFETY: `a` and `b` are 16 readable bytes each; unaligned loads.
    let (va, vb): (__m128i, __m128i) = unsafe {
        (
            _mm_loadu_si128(a.as_ptr().cast()),
            _mm_loadu_si128(b.as_ptr().cast()),
        )
    };
    #[expect(clippy::cast_possible_wrap, reason = "the tag's bits, reinterpreted")]
    let t = _mm_set1_epi16(tag as i16);
    u16::from(_mm_cmpeq_epi16_mask(va, t)) | u16::from(_mm_cmpeq_epi16_mask(vb, t)) << 8
}

impl RssHasher for Avx512 {
    fn backend(&self) -> Backend {
        Backend::Avx512
    }

    #[inline]
    fn toeplitz(&self, key: &RssKey, input: &[u8]) -> Result<u32, Error> {
        check_input(key, input.len())?;
        // SAFETY: an `Avx512` exists only on a CPU with AVX-512F, AVX-512BW and GFNI (`new`
        // checked, or the caller of `new_unchecked` promised).
        Ok(unsafe { toeplitz(key.matrices(), input) })
    }

    #[inline]
    fn toeplitz_bulk<const N: usize>(
        &self,
        key: &RssKey,
        inputs: &[[u8; N]],
        out: &mut [u32],
    ) -> Result<(), Error> {
        // `Avx2`'s carry-less kernel: twice as fast in bulk as a GFNI one (see the top).
        self.avx2.toeplitz_bulk(key, inputs, out)
    }
}

// Toeplitz by GF(2) affine transforms (the idea of DPDK's `rte_thash_gfni`, Intel's "Method
// for Calculating Toeplitz Hash Using GFNI", 2022).
//
// Hash bit j (j = 0 the most significant) is Σ D[t]·K[t + j] over input bits t (most
// significant bit of byte 0 first) and key bits K. Split t = 8p + s (input byte p, bit s
// from the top) and j = 8q + r (hash byte q, q = 0 the most significant, bit r from the
// top): byte q of the hash receives from input byte p
//
//     Σ_s D[8p + s]·K[8(p + q) + r + s]    for r = 0..8,
//
// an 8x8 bit matrix, depending only on m = p + q, applied to the byte D[p]. With
// `vgf2p8affineqb`'s convention (result bit 7 - r = parity(matrix byte r & x)), byte r of
// matrix M_m is the 8 key bits starting at key bit 8m + r (`RssKey::matrices`, built once
// per key). So
//
//     hash byte q = XOR over p of  M_{p+q} · D[p].
//
// `vgf2p8affineqb` applies the matrix in each 64-bit lane to all eight bytes of that lane.
// Give lane m the matrix M_m and the four bytes D[m-3], D[m-2], D[m-1], D[m] (zero outside
// the input): byte c of the lane computes M_m·D[m - 3 + c], the contribution of input byte
// m - 3 + c to hash byte q = 3 - c. XOR all lanes together and byte c holds hash byte 3 - c:
// the 32-bit little-endian word of bytes 0..4 is the hash. Lanes m = 0 ..= n + 2 cover an
// n-byte input (p <= n - 1, q <= 3): one 512-bit affine per eight of them, 2 for 12-byte
// inputs, 5 for 36-byte ones. (Bytes 4..8 of each lane could hash a second input the same
// way; the bulk kernel that did, two inputs per pass, lost to `Avx2`'s: see the top.)
//
// Building the lanes without VBMI's `vpermb`: the input is loaded (byte-masked, so zero
// past its end) into a zmm register A. For the eight lanes m = 8z .. 8z + 8, 128-bit lane L
// (64-bit lanes 2L and 2L + 1) needs the bytes 8z + 2L - 3 ..= 8z + 2L + 1, which lie in
// the two dwords starting at dword d = 2z - 1 + L / 2. A `vpermd` of A puts [A[d], A[d+1],
// A[d], A[d+1]] in each 128-bit lane (d = -1 wraps to dword 15, which is zero for inputs of
// at most 48 bytes), and one `vpshufb` with a fixed control spreads those 16 bytes into the
// two 64-bit lanes. Per eight lanes: one permute, one shuffle, one affine, one XOR.

/// `vpermd` indices for the lanes `8z .. 8z + 8` (row `z`): 128-bit lane `L` gets dwords
/// `d`, `d + 1`, `d`, `d + 1`, `d = 2z - 1 + L / 2` modulo 16.
const GATHER: [[u32; 16]; MATRICES / 8] = {
    let mut g = [[0u32; 16]; MATRICES / 8];
    let mut z = 0;
    while z < MATRICES / 8 {
        let mut lane = 0;
        while lane < 4 {
            let d = (2 * z + lane / 2 + 15) % 16; // 2z - 1 + L/2, modulo 16
            let d1 = (d + 1) % 16;
            #[expect(clippy::cast_possible_truncation, reason = "dword indices < 16")]
            let row = [d as u32, d1 as u32, d as u32, d1 as u32];
            let mut i = 0;
            while i < 4 {
                g[z][4 * lane + i] = row[i];
                i += 1;
            }
            lane += 1;
        }
        z += 1;
    }
    g
};

/// The `vpshufb` control after [`GATHER`]: 64-bit lane `h` of a 128-bit lane `L` takes at
/// byte `c < 4` input byte `8z + 2L + h - 3 + c` of A (byte `1 + h + c` of an even lane's 16,
/// `3 + h + c` of an odd one's, relative to its dword `d`), at byte `4 + c` the same of B.
const SPREAD: [u8; 64] = {
    let mut s = [0u8; 64];
    let mut lane = 0;
    while lane < 4 {
        let first = 1 + 2 * (lane % 2); // 1 for even 128-bit lanes, 3 for odd ones
        let mut h = 0;
        while h < 2 {
            let mut c = 0;
            while c < 4 {
                #[expect(clippy::cast_possible_truncation, reason = "byte indices < 16")]
                let from = (first + h + c) as u8;
                s[16 * lane + 8 * h + c] = from;
                s[16 * lane + 8 * h + 4 + c] = 8 + from;
                c += 1;
            }
            h += 1;
        }
        lane += 1;
    }
    s
};

/// The hash of at most 48 bytes (checked by the caller).
#[target_feature(enable = "avx512f,avx512bw,gfni")]
fn toeplitz(matrices: &[u64; MATRICES], input: &[u8]) -> u32 {
    debug_assert!(input.len() <= 48);
    let lanes = lanes(matrices, load_input(input), input.len());
    // Fold the eight 64-bit lanes; the hash is the low dword.
    let h = _mm256_xor_si256(
        _mm512_castsi512_si256(lanes),
        _mm512_extracti64x4_epi64::<1>(lanes),
    );
    let h = _mm_xor_si128(_mm256_castsi256_si128(h), _mm256_extracti128_si256::<1>(h));
    let h = _mm_xor_si128(h, _mm_unpackhi_epi64(h, h));
    _mm_cvtsi128_si32(h).cast_unsigned()
}

/// The 64-bit lanes of the kernel for the input `a` (zero-padded to 64 bytes, `len <= 48`
/// bytes long) before their final XOR: bytes 0..4 of their XOR are the hash (bytes 4..8 are
/// meaningless).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,gfni")]
fn lanes(matrices: &[u64; MATRICES], a: __m512i, len: usize) -> __m512i {
    let spread = load64(&SPREAD);
    let mut acc = _mm512_setzero_si512();
    // Lanes m = 0 ..= len + 2, eight per step.
    for (gather, m) in GATHER
        .iter()
        .zip(matrices.chunks_exact(8))
        .take((len + 3).div_ceil(8))
    {
        let x = _mm512_permutexvar_epi32(load_u32(gather), a);
        let x = _mm512_shuffle_epi8(x, spread);
        acc = _mm512_xor_si512(acc, _mm512_gf2p8affine_epi64_epi8::<0>(x, load_u64(m)));
    }
    acc
}

/// `input` (at most 64 bytes) zero-extended to 64 bytes, with one byte-masked load: only the
/// input's own bytes are read.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn load_input(input: &[u8]) -> __m512i {
    let n = input.len().min(64);
    let mask = if n == 0 { 0 } else { u64::MAX >> (64 - n) };
    // SAFETY: the mask enables exactly the first `n <= input.len()` bytes; masked-off bytes
    // are not accessed (no read, no fault).
    unsafe { _mm512_maskz_loadu_epi8(mask, input.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn load64(bytes: &[u8; 64]) -> __m512i {
    // SAFETY: `bytes` is 64 readable bytes; the load has no alignment requirement.
    unsafe { _mm512_loadu_si512(bytes.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn load_u32(words: &[u32; 16]) -> __m512i {
    // SAFETY: `words` is 64 readable bytes; the load has no alignment requirement.
    unsafe { _mm512_loadu_si512(words.as_ptr().cast()) }
}

/// Eight matrices (`m` is a chunk of exactly eight from `chunks_exact(8)`).
#[inline]
#[target_feature(enable = "avx512f")]
fn load_u64(m: &[u64]) -> __m512i {
    let eight = m.first_chunk::<8>().unwrap_or(&[0; 8]);
    // SAFETY: `eight` is 64 readable bytes; the load has no alignment requirement.
    unsafe { _mm512_loadu_si512(eight.as_ptr().cast()) }
}
