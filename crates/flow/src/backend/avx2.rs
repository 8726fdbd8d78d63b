//! x86_64 with AVX2, SSE4.2, PCLMULQDQ and 256-bit VPCLMULQDQ.

use core::arch::x86_64::{
    __m128i, _MM_HINT_T0, _mm_cmpeq_epi16, _mm_crc32_u8, _mm_crc32_u64, _mm_loadu_si128,
    _mm_movemask_epi8, _mm_packs_epi16, _mm_prefetch, _mm_set1_epi16,
};

use crate::{Backend, Lookup};

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
}

/// CRC-32C with the SSE4.2 `crc32` instruction, 8 bytes per step. Flow keys are 13 to 64
/// bytes, so one dependent chain of `crc32 r64` (3-cycle latency) is the whole cost; the
/// three-way interleave used for long buffers would not pay here.
#[target_feature(enable = "sse4.2")]
fn crc32c(crc: u32, data: &[u8]) -> u32 {
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
