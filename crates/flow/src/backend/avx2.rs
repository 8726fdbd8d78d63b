//! x86_64 with AVX2, SSE4.2, PCLMULQDQ and 256-bit VPCLMULQDQ.

use core::arch::x86_64::{
    __m128i, __m256i, _MM_HINT_T0, _mm_alignr_epi8, _mm_and_si128, _mm_clmulepi64_si128,
    _mm_cmpeq_epi16, _mm_cmpgt_epi32, _mm_crc32_u8, _mm_crc32_u64, _mm_extract_epi32,
    _mm_loadu_si128, _mm_maskload_epi32, _mm_movemask_epi8, _mm_or_si128, _mm_packs_epi16,
    _mm_prefetch, _mm_set_epi64x, _mm_set1_epi8, _mm_set1_epi16, _mm_set1_epi32, _mm_setr_epi32,
    _mm_setzero_si128, _mm_shuffle_epi8, _mm_srli_epi16, _mm_srli_si128, _mm_xor_si128,
    _mm256_and_si256, _mm256_broadcastsi128_si256, _mm256_castsi128_si256, _mm256_castsi256_si128,
    _mm256_clmulepi64_epi128, _mm256_extracti128_si256, _mm256_inserti128_si256,
    _mm256_loadu_si256, _mm256_or_si256, _mm256_set1_epi8, _mm256_setzero_si256,
    _mm256_shuffle_epi8, _mm256_srli_epi16, _mm256_storeu_si256, _mm256_unpackhi_epi32,
    _mm256_unpackhi_epi64, _mm256_unpacklo_epi32, _mm256_unpacklo_epi64, _mm256_xor_si256,
};

use crate::rss::{RssKey, check_bulk, check_input};
use crate::{Backend, Error, Lookup, LookupTask, RssHasher};

/// x86_64 with AVX2, SSE4.2, PCLMULQDQ and 256-bit VPCLMULQDQ. Construct with
/// [`Avx2::new`], which checks the CPU.
#[derive(Clone, Copy, Debug)]
pub struct Avx2 {
    _checked: (),
}

impl Avx2 {
    /// `Some` if this CPU has every feature in [`Backend::Avx2`]'s
    /// [`features`](Backend::features).
    pub fn new() -> Option<Self> {
        crate::detect::avx2().then_some(Self { _checked: () })
    }

    /// # Safety
    /// The CPU must support AVX2, SSE4.2, PCLMULQDQ and VPCLMULQDQ.
    pub const unsafe fn new_unchecked() -> Self {
        Self { _checked: () }
    }
}

impl Lookup for Avx2 {
    fn backend(&self) -> Backend {
        Backend::Avx2
    }

    #[inline]
    fn crc32c(&self, crc: u32, data: &[u8]) -> u32 {
        // SAFETY: an `Avx2` exists only on a CPU with SSE4.2.
        unsafe { crc32c(crc, data) }
    }

    #[inline]
    fn match_tags(&self, a: &[u16; 8], b: &[u16; 8], tag: u16) -> u16 {
        // SAFETY: an `Avx2` exists only on a CPU with AVX2 (so SSE2).
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
        #[target_feature(enable = "avx2,sse4.2,pclmulqdq")]
        #[inline]
        fn run<T: LookupTask>(lookup: Avx2, task: T) -> T::Output {
            task.run(lookup)
        }
        // SAFETY: an `Avx2` exists only on a CPU with AVX2, SSE4.2 and PCLMULQDQ.
        unsafe { run(*self, task) }
    }
}

/// CRC-32C with the SSE4.2 `crc32` instruction, 8 bytes per step. Flow keys are 13 to 64
/// bytes, so one dependent chain of `crc32 r64` (3-cycle latency) is the whole cost; the
/// three-way interleave used for long buffers would not pay here. Shared with `Avx512`.
#[target_feature(enable = "sse4.2")]
#[inline]
pub(super) fn crc32c(crc: u32, data: &[u8]) -> u32 {
    let mut c = u64::from(!crc);
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        c = _mm_crc32_u64(c, u64::from_le_bytes(w));
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "crc32 results fit in 32 bits"
    )]
    let mut c = c as u32;
    for &b in chunks.remainder() {
        c = _mm_crc32_u8(c, b);
    }
    !c
}

/// Both buckets' eight 16-bit tags compared in one `pcmpeqw` each, then packed to bytes
/// (`packsswb` keeps 0 / -1) so one `pmovmskb` yields the 16-bit mask.
#[target_feature(enable = "avx2")]
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
    let packed = _mm_packs_epi16(_mm_cmpeq_epi16(va, t), _mm_cmpeq_epi16(vb, t));
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "16 mask bits"
    )]
    let m = _mm_movemask_epi8(packed) as u16;
    m
}

impl RssHasher for Avx2 {
    fn backend(&self) -> Backend {
        Backend::Avx2
    }

    #[inline]
    fn toeplitz(&self, key: &RssKey, input: &[u8]) -> Result<u32, Error> {
        check_input(key, input.len())?;
        // SAFETY: an `Avx2` exists only on a CPU with AVX2, PCLMULQDQ and VPCLMULQDQ (`new`
        // checked, or the caller of `new_unchecked` promised).
        Ok(unsafe { toeplitz(key.words(), input) })
    }

    #[inline]
    fn toeplitz_bulk<const N: usize>(
        &self,
        key: &RssKey,
        inputs: &[[u8; N]],
        out: &mut [u32],
    ) -> Result<(), Error> {
        check_bulk(key, N, inputs.len(), out.len())?;
        let out = &mut out[..inputs.len()];
        // SAFETY: an `Avx2` exists only on a CPU with AVX2, PCLMULQDQ and VPCLMULQDQ.
        unsafe { toeplitz_bulk(key.words(), inputs, out) };
        Ok(())
    }
}

// Toeplitz by carry-less multiplication, two 64x64 products per 12 input bytes.
//
// Hash bit j (j = 0 the most significant) is Σ D[t]·K[t + j] over input bits D[t] (most
// significant bit of byte 0 first), j = 0..32, key bits K. Picture the pairs (t, κ = t + j)
// that must be summed: a band of width 32 above the diagonal.
//
// One carry-less product of a 64-bit data word holding input bits t0..t0+64, read
// big-endian (input bit t at bit 63 - (t - t0), a byte shuffle, no bit reversal), and a
// 64-bit key word holding key bits k0..k0+64 read least-significant-bit first (key bit κ at
// bit κ - k0, precomputed in `RssKey::words`) puts every pair (t, κ) of those ranges at
// coefficient 63 + t0 - k0 + (κ - t): all the terms of hash bit j land on one coefficient,
// and the 32 hash bits on 32 consecutive ones. A product therefore sums one rectangle of
// (t, κ) pairs, and the work is to cover the band with few rectangles of 64 x 64. Split
// the input into 12-byte segments starting at bit a = 96s; per segment:
//
//     A: data bits a .. a+64   (bytes 0..8)  x key bits a-1 .. a+63    κ <= a+62
//     B: data bits a+32 .. a+96 (bytes 4..12) x key bits a+63 .. a+127  κ >= a+63
//
// Every pair of the segment is in exactly one of them: κ <= a+62 forces t <= a+62 (in A's
// data), and κ >= a+63 forces t >= κ-31 >= a+32 (in B's); t <= a+95 gives κ <= a+126. A's
// sums land at coefficients 64 + j, B's at 32 + j. So, over all segments,
//
//     F = bits 64..96 of Σ A-products  ^  bits 32..64 of Σ B-products,
//
// holds hash bit j at bit j, and the hash is F with its 32 bits reversed (cheaper than
// reversing the bits of every input byte, which a most-significant-bit-first polynomial
// would need). A segment of at most 4 bytes has no pairs in B. IPv4 inputs (8 or 12
// bytes) take 2 products, IPv6 ones (32 or 36) take 6, against 3 and 9 for the plain split
// into 64-bit chunks (each needing the key words on both sides of it); the products are
// what limits this kernel (one 256-bit vpclmulqdq per 2 cycles on AMD Zen 3).
//
// Per segment, one 128-bit lane holds [bytes 0..8, bytes 4..12] big-endian (one pshufb),
// and vpclmulqdq 0x00 against [A's key word, B's key word] gives the A-product, 0x11 the
// B-product. Single input: segments 0 and 1 in one ymm, 2 and 3 in another. Bulk: two
// inputs per ymm (inputs t and t + 4 of a group of eight in the two lanes), then the eight
// F values gathered with unpacks and bit-reversed together with nibble-table shuffles.

/// A segment's 12 bytes as two big-endian 64-bit words: bytes 0..8 and bytes 4..12.
const SEGMENT: [u8; 16] = [7, 6, 5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 6, 5, 4];
/// Byte order reversal of each 32-bit lane.
const BSWAP32: [u8; 16] = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12];
/// The four bits of a nibble reversed.
const REV4: [u8; 16] = [
    0x0, 0x8, 0x4, 0xC, 0x2, 0xA, 0x6, 0xE, 0x1, 0x9, 0x5, 0xD, 0x3, 0xB, 0x7, 0xF,
];
/// [`REV4`] moved to the high nibble.
const REV4_HIGH: [u8; 16] = {
    let mut t = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        t[i] = REV4[i] << 4;
        i += 1;
    }
    t
};

/// The hash of at most 48 bytes (checked by the caller).
///
/// The input is read with 8-byte loads (a 4-byte or shorter one at the end), not with wide
/// or masked vector loads: inputs are usually built just before the call (an array filled
/// from a packet or a tuple), and a load that spans several of those still pending stores
/// cannot take its data from the store buffer and waits for them to reach the cache.
#[target_feature(enable = "avx2,pclmulqdq,vpclmulqdq")]
fn toeplitz(w: &[u64; 8], input: &[u8]) -> u32 {
    debug_assert!(input.len() <= 48);
    let n = input.len();
    // Bytes 16b .. 16b + 16, zero-padded.
    let block = |b: usize| _mm_set_epi64x(read_le(input, 16 * b + 8), read_le(input, 16 * b));
    let x0 = block(0);
    if n <= 12 {
        // One segment (the IPv4 inputs): one xmm, two pclmulqdq.
        let a = _mm_shuffle_epi8(x0, load16(&SEGMENT));
        let k = pair(w, 0);
        let la = _mm_clmulepi64_si128::<0x00>(a, k);
        let lb = _mm_clmulepi64_si128::<0x11>(a, k);
        return finish(la, lb);
    }
    let x1 = if n > 16 {
        block(1)
    } else {
        _mm_setzero_si128()
    };
    // Segments 0 (bytes 0..12) and 1 (bytes 12..24) at the start of the two lanes.
    let segment = _mm256_broadcastsi128_si256(load16(&SEGMENT));
    let a = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(x0), _mm_alignr_epi8::<12>(x1, x0));
    let a = _mm256_shuffle_epi8(a, segment);
    let k = quad(w, 0);
    let mut la = _mm256_clmulepi64_epi128::<0x00>(a, k);
    let mut lb = _mm256_clmulepi64_epi128::<0x11>(a, k);
    if n > 24 {
        // Segments 2 (bytes 24..36) and 3 (bytes 36..48).
        let x2 = block(2);
        let a = _mm256_inserti128_si256::<1>(
            _mm256_castsi128_si256(_mm_alignr_epi8::<8>(x2, x1)),
            _mm_srli_si128::<4>(x2),
        );
        let a = _mm256_shuffle_epi8(a, segment);
        let k = quad(w, 4);
        la = _mm256_xor_si256(la, _mm256_clmulepi64_epi128::<0x00>(a, k));
        lb = _mm256_xor_si256(lb, _mm256_clmulepi64_epi128::<0x11>(a, k));
    }
    let la = _mm_xor_si128(
        _mm256_castsi256_si128(la),
        _mm256_extracti128_si256::<1>(la),
    );
    let lb = _mm_xor_si128(
        _mm256_castsi256_si128(lb),
        _mm256_extracti128_si256::<1>(lb),
    );
    finish(la, lb)
}

/// The hash from the A and B product sums: bits 64..96 of `la` ^ bits 32..64 of `lb`, bit
/// reversed (each byte by nibble tables, then the bytes).
#[inline]
#[target_feature(enable = "avx2")]
fn finish(la: __m128i, lb: __m128i) -> u32 {
    let f = _mm_xor_si128(_mm_srli_si128::<4>(la), lb);
    let nibble = _mm_set1_epi8(0x0F);
    let low = _mm_and_si128(f, nibble);
    let high = _mm_and_si128(_mm_srli_epi16::<4>(f), nibble);
    let bytes = _mm_or_si128(
        _mm_shuffle_epi8(load16(&REV4_HIGH), low),
        _mm_shuffle_epi8(load16(&REV4), high),
    );
    _mm_extract_epi32::<1>(bytes).cast_unsigned().swap_bytes()
}

/// Bytes `off .. off + 8` of `s` as a little-endian number, zero past the end of `s`.
#[inline(always)]
fn read_le(s: &[u8], off: usize) -> i64 {
    let bytes = s.get(off..).unwrap_or_default();
    let v = match bytes.first_chunk::<8>() {
        Some(q) => u64::from_le_bytes(*q),
        None => le_partial(bytes),
    };
    v.cast_signed()
}

/// Up to 7 bytes as a little-endian `u64`, zero-extended: at most two overlapping reads.
#[inline(always)]
fn le_partial(s: &[u8]) -> u64 {
    let n = s.len();
    match (s.first_chunk::<4>(), s.last_chunk::<4>()) {
        (Some(head), Some(tail)) => {
            u64::from(u32::from_le_bytes(*head))
                | u64::from(u32::from_le_bytes(*tail)) << (8 * (n - 4))
        }
        _ => match (s.first(), s.get(n / 2), s.last()) {
            (Some(&a), Some(&b), Some(&c)) => {
                u64::from(a) | u64::from(b) << (8 * (n / 2)) | u64::from(c) << (8 * (n - 1))
            }
            _ => 0,
        },
    }
}

/// `[w[i], w[i + 1], w[i + 2], w[i + 3]]` (`i` is 0 or 4).
#[inline]
#[target_feature(enable = "avx")]
fn quad(w: &[u64; 8], i: usize) -> __m256i {
    let four = w[i..].first_chunk::<4>().unwrap_or(&[0; 4]);
    // SAFETY: `four` is 32 readable bytes; the load has no alignment requirement.
    unsafe { _mm256_loadu_si256(four.as_ptr().cast()) }
}

/// `[w[i], w[i + 1]]` (`i <= 6`).
#[inline]
#[target_feature(enable = "sse2")]
fn pair(w: &[u64; 8], i: usize) -> __m128i {
    let two = w[i..].first_chunk::<2>().unwrap_or(&[0; 2]);
    // SAFETY: `two` is 16 readable bytes; the load has no alignment requirement.
    unsafe { _mm_loadu_si128(two.as_ptr().cast()) }
}

/// Bytes a group of eight `n`-byte inputs reads from the start of its first input: the
/// last input's last segment load ends up to 15 bytes past it (those bytes are zeroed by
/// the shuffle; at the end of the slice the loads are masked or go to a padded copy).
const fn group_span(n: usize) -> usize {
    7 * n + 12 * (n.div_ceil(12) - 1) + 16
}

/// The largest [`group_span`] (48-byte inputs).
const MAX_SPAN: usize = group_span(48);

/// The hashes of `inputs` (each at most 48 bytes, checked by the caller) into `out` (as
/// long as `inputs`), eight per step.
#[target_feature(enable = "avx2,pclmulqdq,vpclmulqdq")]
fn toeplitz_bulk<const N: usize>(w: &[u64; 8], inputs: &[[u8; N]], out: &mut [u32]) {
    debug_assert!(N <= 48 && out.len() == inputs.len());
    if N == 0 {
        out.fill(0);
        return;
    }
    let consts = Consts::new::<N>(w);
    let span = group_span(N);
    let flat = inputs.as_flattened();
    let mut i = 0;
    // Whole groups straight from the slice while their reads stay inside it (a group that
    // fits also has its eight inputs: span >= 8 * N).
    while let (Some(group), Some(hashes)) = (
        flat.get(i * N..i * N + span),
        out.get_mut(i..).and_then(<[u32]>::first_chunk_mut::<8>),
    ) {
        store8(hashes, group8::<N, false>(group, 0, &consts));
        i += 8;
    }
    // The rest, eight at a time: straight from the slice with masked loads when the inputs
    // are whole dwords (all the IPv4 and IPv6 ones), through a zero-padded copy otherwise;
    // inputs past the end read as zeros and their hashes are dropped.
    while i < inputs.len() {
        let m = (inputs.len() - i).min(8);
        let mut hashes = [0u32; 8];
        if N.is_multiple_of(4) {
            store8(&mut hashes, group8::<N, true>(flat, i * N, &consts));
        } else {
            let mut buf = [0u8; MAX_SPAN];
            buf[..m * N].copy_from_slice(&flat[i * N..(i + m) * N]);
            store8(&mut hashes, group8::<N, false>(&buf, 0, &consts));
        }
        out[i..i + m].copy_from_slice(&hashes[..m]);
        i += m;
    }
}

/// Per 12-byte segment `s` of an `N`-byte input: the shuffle that makes [bytes 0..8,
/// bytes 4..12] big-endian and zeroes the bytes past `N`, and the key words
/// `[words[2s], words[2s + 1]]`, in both lanes.
struct Consts {
    shuffle: [__m256i; 4],
    keys: [__m256i; 4],
}

impl Consts {
    #[target_feature(enable = "avx2")]
    fn new<const N: usize>(w: &[u64; 8]) -> Self {
        let controls = const { segment_controls(N) };
        let mut c = Self {
            shuffle: [_mm256_setzero_si256(); 4],
            keys: [_mm256_setzero_si256(); 4],
        };
        for (s, control) in controls.iter().enumerate() {
            c.shuffle[s] = _mm256_broadcastsi128_si256(load16(control));
            c.keys[s] = _mm256_broadcastsi128_si256(pair(w, 2 * s));
        }
        c
    }
}

/// [`SEGMENT`] for each segment of an `n`-byte input, with the bytes past `n` zeroed
/// (index 0x80).
const fn segment_controls(n: usize) -> [[u8; 16]; 4] {
    let mut c = [SEGMENT; 4];
    let mut s = 0;
    while s < 4 {
        let mut i = 0;
        while i < 16 {
            if 12 * s + c[s][i] as usize >= n {
                c[s][i] = 0x80;
            }
            i += 1;
        }
        s += 1;
    }
    c
}

/// The hashes of the eight `N`-byte inputs starting at byte `base` of `g`, in order. With
/// `MASKED`, the loads are masked to whole dwords inside `g` (`g.len()` a multiple of 4);
/// without, `g` holds at least `base + group_span(N)` bytes.
#[inline]
#[target_feature(enable = "avx2,pclmulqdq,vpclmulqdq")]
fn group8<const N: usize, const MASKED: bool>(g: &[u8], base: usize, c: &Consts) -> __m256i {
    // A known length lets the unmasked loads go unchecked.
    let g = if MASKED {
        g
    } else {
        g.get(..base + group_span(N)).unwrap_or(g)
    };
    let (a0, b0) = lanes::<N, MASKED>(g, base, c);
    let (a1, b1) = lanes::<N, MASKED>(g, base + N, c);
    let (a2, b2) = lanes::<N, MASKED>(g, base + 2 * N, c);
    let (a3, b3) = lanes::<N, MASKED>(g, base + 3 * N, c);
    // Input t's A sum in dword 2, B sum in dword 1 of lane t / 4 of the pair t % 4.
    let a = _mm256_unpacklo_epi64(
        _mm256_unpackhi_epi32(a0, a1), // A0 A1 . . | A4 A5 . .
        _mm256_unpackhi_epi32(a2, a3), // A2 A3 . . | A6 A7 . .
    );
    let b = _mm256_unpackhi_epi64(
        _mm256_unpacklo_epi32(b0, b1), // . . B0 B1 | . . B4 B5
        _mm256_unpacklo_epi32(b2, b3), // . . B2 B3 | . . B6 B7
    );
    reverse_bits32(_mm256_xor_si256(a, b))
}

/// The A and B product sums (see the kernel comment) of the inputs at byte `at` of `g` and
/// four inputs later, in lanes 0 and 1.
#[inline]
#[target_feature(enable = "avx2,pclmulqdq,vpclmulqdq")]
fn lanes<const N: usize, const MASKED: bool>(
    g: &[u8],
    at: usize,
    c: &Consts,
) -> (__m256i, __m256i) {
    let mut la = _mm256_setzero_si256();
    let mut lb = _mm256_setzero_si256();
    for s in 0..N.div_ceil(12) {
        let (low, high) = if MASKED {
            (
                load16_masked(g, at + 12 * s),
                load16_masked(g, at + 4 * N + 12 * s),
            )
        } else {
            (
                load16(chunk16(g, at + 12 * s)),
                load16(chunk16(g, at + 4 * N + 12 * s)),
            )
        };
        let v = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(low), high);
        let a = _mm256_shuffle_epi8(v, c.shuffle[s]);
        la = _mm256_xor_si256(la, _mm256_clmulepi64_epi128::<0x00>(a, c.keys[s]));
        // A segment of at most 4 bytes has no B pairs (N is a constant: no branch remains).
        if N > 12 * s + 4 {
            lb = _mm256_xor_si256(lb, _mm256_clmulepi64_epi128::<0x11>(a, c.keys[s]));
        }
    }
    (la, lb)
}

/// The bits of each 32-bit lane reversed: each byte's bits by two nibble table shuffles,
/// then the bytes.
#[inline]
#[target_feature(enable = "avx2")]
fn reverse_bits32(x: __m256i) -> __m256i {
    let nibble = _mm256_set1_epi8(0x0F);
    let low = _mm256_and_si256(x, nibble);
    let high = _mm256_and_si256(_mm256_srli_epi16::<4>(x), nibble);
    let bytes = _mm256_or_si256(
        _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(load16(&REV4_HIGH)), low),
        _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(load16(&REV4)), high),
    );
    _mm256_shuffle_epi8(bytes, _mm256_broadcastsi128_si256(load16(&BSWAP32)))
}

/// The 16 bytes of `g` at `off` (in range by the callers' construction; zeros otherwise).
#[inline(always)]
fn chunk16(g: &[u8], off: usize) -> &[u8; 16] {
    g.get(off..)
        .and_then(<[u8]>::first_chunk::<16>)
        .unwrap_or(&[0; 16])
}

#[inline]
#[target_feature(enable = "sse2")]
fn load16(block: &[u8; 16]) -> __m128i {
    // SAFETY: `block` is 16 readable bytes; the load has no alignment requirement.
    unsafe { _mm_loadu_si128(block.as_ptr().cast()) }
}

/// The 16 bytes of `s` at `off` (`s.len()` a multiple of 4); whole dwords past its end are
/// zero and not read.
#[inline]
#[target_feature(enable = "avx2")]
fn load16_masked(s: &[u8], off: usize) -> __m128i {
    debug_assert!(s.len().is_multiple_of(4));
    let have = (s.len().saturating_sub(off) / 4).min(4);
    if have == 0 {
        return _mm_setzero_si128();
    }
    #[expect(clippy::cast_possible_truncation, reason = "at most 4")]
    let mask = _mm_cmpgt_epi32(_mm_set1_epi32(have as i32), _mm_setr_epi32(0, 1, 2, 3));
    let from = &s[off..];
    // SAFETY: the mask enables dwords 0..have, whose 4 * have bytes lie in `from` (have <=
    // from.len() / 4); disabled dwords are not accessed. No alignment is required.
    unsafe { _mm_maskload_epi32(from.as_ptr().cast(), mask) }
}

#[inline]
#[target_feature(enable = "avx")]
fn store8(out: &mut [u32; 8], v: __m256i) {
    // SAFETY: `out` is 32 writable bytes; the store has no alignment requirement.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) }
}
