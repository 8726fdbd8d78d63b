//! x86_64 with AVX2 and F16C.
//!
//! One fused kernel, written once and instantiated per (format, operation) through const
//! generics: per step of 32 elements (f16, bf16, FP8) or 128 bytes (everything else), the
//! step of input 0 is loaded into four 256-bit accumulators, every further input's step is
//! loaded and combined into them in input order, and the result is stored (rounded once for
//! the narrow floats); two steps (eight accumulators) are taken per pass over the inputs.
//! The inner loop runs over inputs, the outer over elements, so each output element is the
//! left fold of the scalar definition; there is no FMA anywhere.
//! Tails shorter than a step go through a zero-padded stack buffer with the same code.
//! Outputs of 16 MiB and more are stored non-temporally (`vmovntdq`), which spares the
//! read of every output line before it is overwritten: with 4 inputs of 64 MiB each, f32
//! SUM went from 14.3 to 16.9 GiB/s of input in consecutive criterion runs on a Zen 3 guest.
//!
//! Conversions, all exact and equal to [`crate::convert`]:
//! - f16 ↔ f32: F16C `vcvtph2ps` / `vcvtps2ph` with round-to-nearest-even (0 mismatches
//!   over all inputs against `half`; the tests check all 2^16 and a dense 2^32 sample).
//!   Under Miri, which cannot run `vcvtps2ph` and whose `vcvtph2ps` drops NaN payloads and
//!   signs, both are done in integer arithmetic (the rounding as f32 → FP8 below); unit
//!   tests check them against the instructions on every f16 code and every f32 pattern.
//! - bf16 → f32: each 32-bit lane holds two codes; the high one masked is the odd element's
//!   f32, the low one shifted up the even element's, so the accumulators hold even and odd
//!   elements apart and no shuffle is needed either way (the store rounds each into the high
//!   half of its lane and joins them with a shift and an OR). f32 → bf16: the integer RNE
//!   `(x + 0x7FFF + lsb) >> 16` with NaN made quiet (for SUM, PROD and AVG, whose NaN is
//!   canonical, one compare gives 0x7FC0 straight away) — no `vcvtneps2bf16`, which flushes
//!   f32 subnormals. bf16 SUM of 4 inputs of 256 KiB, interleaved in one process (best of 60,
//!   Zen 3 guest): 1.06–1.09× the former layout (in-lane unpacks and a pack), which was
//!   1.13× the one before it (widening loads, a shift, a cross-lane permute at the store);
//!   1.5–1.6× the naive fused loop as it was then built (for the x86_64 baseline, not
//!   inlined into its AVX2 wrapper; against its AVX2 build, see `fused`).
//! - FP8 → f32: the byte is moved into an f16 bit pattern (E5M2 is the top byte of an f16;
//!   E4M3 shifted by 7 is an f16 scaled by 2^-8, then multiplied by 256, exact) and widened
//!   with `vcvtph2ps`; NaN lanes are replaced by the canonical decoded NaN.
//! - f32 → FP8: integer RNE for the normal range; the subnormal range adds a power of two
//!   whose ulp is the FP8 subnormal step (ryg's "magic add", exact under RNE) and subtracts
//!   its bits; then overflow, Inf and NaN are selected per the mode.
//!
//! MIN/MAX are compare + blend (never `vminps`/`vmaxps`, whose NaN and ±0 behaviour depends
//! on the operand order).

use core::arch::x86_64::{
    __m128i, __m256, __m256d, __m256i, _CMP_EQ_OQ, _CMP_GT_OQ, _CMP_LT_OQ, _CMP_UNORD_Q,
    _MM_FROUND_TO_NEAREST_INT, _mm_loadu_si128, _mm_packus_epi32, _mm_sfence, _mm_storeu_si128,
    _mm_stream_si128, _mm256_add_epi8, _mm256_add_epi16, _mm256_add_epi32, _mm256_add_epi64,
    _mm256_add_pd, _mm256_add_ps, _mm256_and_pd, _mm256_and_ps, _mm256_and_si256,
    _mm256_andnot_si256, _mm256_blendv_epi8, _mm256_blendv_pd, _mm256_blendv_ps,
    _mm256_castpd_si256, _mm256_castps_si256, _mm256_castsi256_pd, _mm256_castsi256_ps,
    _mm256_castsi256_si128, _mm256_cmp_pd, _mm256_cmp_ps, _mm256_cmpeq_epi8, _mm256_cmpeq_epi16,
    _mm256_cmpeq_epi32, _mm256_cmpeq_epi64, _mm256_cmpgt_epi32, _mm256_cmpgt_epi64,
    _mm256_cvtepu8_epi16, _mm256_cvtepu16_epi32, _mm256_cvtph_ps, _mm256_cvtps_ph,
    _mm256_extracti128_si256, _mm256_loadu_si256, _mm256_max_epi8, _mm256_max_epi16,
    _mm256_max_epi32, _mm256_max_epu8, _mm256_max_epu16, _mm256_max_epu32, _mm256_min_epi8,
    _mm256_min_epi16, _mm256_min_epi32, _mm256_min_epu8, _mm256_min_epu16, _mm256_min_epu32,
    _mm256_mul_epu32, _mm256_mul_pd, _mm256_mul_ps, _mm256_mullo_epi16, _mm256_mullo_epi32,
    _mm256_or_pd, _mm256_or_ps, _mm256_or_si256, _mm256_packus_epi16, _mm256_packus_epi32,
    _mm256_permute2x128_si256, _mm256_permute4x64_epi64, _mm256_permutevar8x32_epi32,
    _mm256_set1_epi8, _mm256_set1_epi16, _mm256_set1_epi32, _mm256_set1_epi64x, _mm256_set1_pd,
    _mm256_set1_ps, _mm256_setr_epi32, _mm256_setzero_si256, _mm256_shuffle_ps, _mm256_slli_epi16,
    _mm256_slli_epi32, _mm256_slli_epi64, _mm256_srli_epi16, _mm256_srli_epi32, _mm256_srli_epi64,
    _mm256_storeu_si256, _mm256_stream_si256, _mm256_sub_epi32, _mm256_testz_si256,
    _mm256_unpackhi_ps, _mm256_unpacklo_ps, _mm256_xor_si256,
};

use crate::backend::scalar;
use crate::engine::{Job, Phase};
use crate::types::Params;
use crate::{Backend, DType, Element, Op, Reducer};

/// x86_64 with AVX2 and F16C. Construct with [`Avx2::new`], which checks the CPU.
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
    /// The CPU must support AVX2 and F16C, and the OS must save the YMM state.
    pub const unsafe fn new_unchecked() -> Self {
        Self { _checked: () }
    }
}

impl Reducer for Avx2 {
    fn backend(&self) -> Backend {
        Backend::Avx2
    }

    fn fused<T: Element>(&self, job: &Job, inputs: &[&[T]], out: &mut [T], in_place: bool) {
        // SAFETY: an `Avx2` exists only on a CPU with AVX2 and F16C.
        let done = unsafe { fused_typed(job, inputs, out, in_place) };
        if !done {
            scalar::fused(job, inputs, out, in_place);
        }
    }

    fn fused_bytes(&self, job: &Job, inputs: &[&[u8]], out: &mut [u8], in_place: bool) {
        // SAFETY: an `Avx2` exists only on a CPU with AVX2 and F16C.
        let done = unsafe { fused_le(job, inputs, out, in_place) };
        if !done {
            crate::Scalar.fused_bytes(job, inputs, out, in_place);
        }
    }

    fn stream<T: Element>(&self, job: &Job, phase: Phase<'_, T>) {
        // SAFETY: an `Avx2` exists only on a CPU with AVX2 and F16C.
        let done = unsafe { stream_any(job, phase) };
        debug_assert!(done, "every validated streaming job has a kernel");
    }
}

/// The bytes of an element slice (little-endian: x86_64 is).
fn bytes_of<T: Element>(s: &[T]) -> &[u8] {
    // SAFETY: every `Element` (sealed) is an integer, a float or a `repr(transparent)`
    // newtype of one: no padding, every byte initialised; `u8` needs no alignment, and the
    // length is the slice's size in bytes, within the same allocation.
    unsafe { core::slice::from_raw_parts(s.as_ptr().cast::<u8>(), size_of_val(s)) }
}

/// The bytes of a mutable element slice.
fn bytes_of_mut<T: Element>(s: &mut [T]) -> &mut [u8] {
    let len = size_of_val(s);
    // SAFETY: as in `bytes_of`; in addition every byte pattern is a valid `T` (integers,
    // floats and newtypes of them), so writes through the byte view keep `s` valid.
    unsafe { core::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<u8>(), len) }
}

use super::driver::{
    AVG, BAND, BF16, BOR, BXOR, E4M3, E5M2, F16, F32, F64, I8, I16, I32, I64, LAND, LOR, LXOR, MAX,
    MIN, PROD, SUM, U8, U16, U32, U64,
};

/// Input bytes per step: 32 elements for the narrow floats, 128 bytes otherwise.
const fn step(f: u8) -> usize {
    match f {
        F16 | BF16 => 64,
        E4M3 | E5M2 => 32,
        _ => 128,
    }
}

/// Whether the format accumulates in f32 lanes (f32 itself and the narrow floats).
const fn lanes_f32(f: u8) -> bool {
    matches!(f, F16 | BF16 | F32 | E4M3 | E5M2)
}

/// Bytes per element.
const fn elem_size(f: u8) -> usize {
    match f {
        U8 | I8 | E4M3 | E5M2 => 1,
        U16 | I16 | F16 | BF16 => 2,
        U32 | I32 | F32 => 4,
        _ => 8,
    }
}

const fn narrow(f: u8) -> bool {
    matches!(f, F16 | BF16 | E4M3 | E5M2)
}

/// Accumulator bytes per step: 32 f32 for the narrow floats, else the input step.
const fn acc_step(f: u8) -> usize {
    if narrow(f) { 128 } else { step(f) }
}

/// Four 256-bit accumulators: one step.
type V4 = [__m256i; 4];

/// Per-call vector constants.
#[derive(Clone, Copy)]
struct K {
    s32: __m256,
    s64: __m256d,
    sat: bool,
}

#[inline]
#[target_feature(enable = "avx2,f16c")]
fn konst(p: &Params) -> K {
    K {
        s32: _mm256_set1_ps(p.scale32),
        s64: _mm256_set1_pd(p.scale64),
        sat: p.sat,
    }
}

#[inline]
#[target_feature(enable = "avx2,f16c")]
fn ld(b: &[u8]) -> __m256i {
    let b = &b[..32];
    // SAFETY: `b` is 32 readable bytes (bounds-checked above); the load is unaligned.
    unsafe { _mm256_loadu_si256(b.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx2,f16c")]
fn st(b: &mut [u8], v: __m256i) {
    let b = &mut b[..32];
    // SAFETY: `b` is 32 writable bytes (bounds-checked above); the store is unaligned.
    unsafe { _mm256_storeu_si256(b.as_mut_ptr().cast(), v) }
}

/// [`st`], non-temporal (around the caches) when `nt` and `b` is 32-byte aligned.
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn st_nt(b: &mut [u8], v: __m256i, nt: bool) {
    let b = &mut b[..32];
    if nt && b.as_ptr().addr().is_multiple_of(32) {
        // SAFETY: `b` is 32 writable bytes (bounds-checked above), 32-byte aligned (checked).
        unsafe { _mm256_stream_si256(b.as_mut_ptr().cast(), v) }
    } else {
        st(b, v);
    }
}

/// [`st128`], non-temporal when `nt` and `b` is 16-byte aligned.
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn st128_nt(b: &mut [u8], v: __m128i, nt: bool) {
    let b = &mut b[..16];
    if nt && b.as_ptr().addr().is_multiple_of(16) {
        // SAFETY: `b` is 16 writable bytes (bounds-checked above), 16-byte aligned (checked).
        unsafe { _mm_stream_si128(b.as_mut_ptr().cast(), v) }
    } else {
        st128(b, v);
    }
}

#[inline]
#[target_feature(enable = "avx2,f16c")]
fn ld128(b: &[u8]) -> __m128i {
    let b = &b[..16];
    // SAFETY: `b` is 16 readable bytes (bounds-checked above); the load is unaligned.
    unsafe { _mm_loadu_si128(b.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx2,f16c")]
fn st128(b: &mut [u8], v: __m128i) {
    let b = &mut b[..16];
    // SAFETY: `b` is 16 writable bytes (bounds-checked above); the store is unaligned.
    unsafe { _mm_storeu_si128(b.as_mut_ptr().cast(), v) }
}

#[inline]
#[target_feature(enable = "avx2,f16c")]
fn ps(v: __m256i) -> __m256 {
    _mm256_castsi256_ps(v)
}

#[inline]
#[target_feature(enable = "avx2,f16c")]
fn pd(v: __m256i) -> __m256d {
    _mm256_castsi256_pd(v)
}

#[inline]
#[target_feature(enable = "avx2,f16c")]
fn si(v: __m256) -> __m256i {
    _mm256_castps_si256(v)
}

#[inline]
#[target_feature(enable = "avx2,f16c")]
fn sid(v: __m256d) -> __m256i {
    _mm256_castpd_si256(v)
}

/// The canonical decoded FP8 NaN: `x`'s sign plus 0x7FC0_0000 where `nan`, else `x`.
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn fp8_nan(x: __m256, nan: __m256) -> __m256 {
    let sign = _mm256_and_ps(x, ps(_mm256_set1_epi32(i32::MIN)));
    let q = _mm256_or_ps(sign, ps(_mm256_set1_epi32(0x7FC0_0000)));
    _mm256_blendv_ps(x, q, nan)
}

/// One input step → accumulator lanes (f32 for the narrow floats).
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn load<const F: u8>(b: &[u8]) -> V4 {
    let mut v = [_mm256_setzero_si256(); 4];
    match F {
        F16 => {
            for (k, v) in v.iter_mut().enumerate() {
                *v = si(f16_widen(ld128(&b[16 * k..])));
            }
        }
        BF16 => {
            // Two codes per 32-bit lane: the high one, masked, is its own f32 (the odd
            // element), the low one shifted up is the even element's. So `v[2h]` holds the
            // even and `v[2h + 1]` the odd elements of each 16, in place: one load, one
            // shift and one AND per 16 elements, no shuffle (the store puts the halves back
            // with a shift and an OR; `load_acc`/`store_acc` convert for the caller's
            // accumulators, which are in element order).
            let high = _mm256_set1_epi32(BF16_HIGH);
            for h in 0..2 {
                let x = ld(&b[32 * h..]);
                v[2 * h] = _mm256_slli_epi32::<16>(x);
                v[2 * h + 1] = _mm256_and_si256(x, high);
            }
        }
        E4M3 | E5M2 => {
            for h in 0..2 {
                let w = _mm256_cvtepu8_epi16(ld128(&b[16 * h..]));
                let bits = if F == E5M2 {
                    _mm256_slli_epi16::<8>(w)
                } else {
                    _mm256_or_si256(
                        _mm256_slli_epi16::<7>(_mm256_and_si256(w, _mm256_set1_epi16(0x7F))),
                        _mm256_slli_epi16::<8>(_mm256_and_si256(w, _mm256_set1_epi16(0x80))),
                    )
                };
                for (i, half) in [
                    _mm256_castsi256_si128(bits),
                    _mm256_extracti128_si256::<1>(bits),
                ]
                .into_iter()
                .enumerate()
                {
                    let f = f16_widen(half);
                    let f = if F == E5M2 {
                        fp8_nan(f, _mm256_cmp_ps::<_CMP_UNORD_Q>(f, f))
                    } else {
                        // 0x7F as f16 bits << 7 is 1.875 × 2^-8: 480 after scaling, which no
                        // E4M3 value is; it marks NaN.
                        let f = _mm256_mul_ps(f, _mm256_set1_ps(256.0));
                        let abs = _mm256_and_ps(f, ps(_mm256_set1_epi32(i32::MAX)));
                        fp8_nan(f, _mm256_cmp_ps::<_CMP_EQ_OQ>(abs, _mm256_set1_ps(480.0)))
                    };
                    v[2 * h + i] = si(f);
                }
            }
        }
        _ => {
            for (k, v) in v.iter_mut().enumerate() {
                *v = ld(&b[32 * k..]);
            }
        }
    }
    v
}

/// The high 16 bits of a 32-bit lane.
const BF16_HIGH: i32 = 0xFFFF_0000_u32.cast_signed();

/// f32 bits → bf16 code in the high 16 bits of each 32-bit lane (the low 16 zero): integer
/// RNE, NaN made quiet.
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn bf16_rne_high(x: __m256i) -> __m256i {
    let lsb = _mm256_and_si256(_mm256_srli_epi32::<16>(x), _mm256_set1_epi32(1));
    let r = _mm256_add_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(0x7FFF)), lsb);
    let abs = _mm256_and_si256(x, _mm256_set1_epi32(i32::MAX));
    let nan = _mm256_cmpgt_epi32(abs, _mm256_set1_epi32(0x7F80_0000));
    let q = _mm256_or_si256(x, _mm256_set1_epi32(0x0040_0000));
    _mm256_and_si256(_mm256_blendv_epi8(r, q, nan), _mm256_set1_epi32(BF16_HIGH))
}

/// The 16 bf16 codes of the even (`even`) and odd (`odd`) lanes as `load` laid them out,
/// each rounded by `rne` into the high half of its lane, back in element order.
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn bf16_join(even: __m256i, odd: __m256i, rne: impl Fn(__m256i) -> __m256i) -> __m256i {
    _mm256_or_si256(_mm256_srli_epi32::<16>(rne(even)), rne(odd))
}

/// `store_nt(settle(v))`, with bf16 SUM, PROD and AVG in one pass: a NaN lane becomes the
/// canonical 0x7FC0 straight from the compare, where `settle` would write the canonical f32
/// NaN for `bf16_rne` to find and quiet again (7 operations per 8 lanes instead of 12; the
/// same codes, since the canonical f32 NaN rounds to 0x7FC0).
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn store_settled<const F: u8, const OP: u8>(v: V4, sat: bool, b: &mut [u8], nt: bool) {
    if F == BF16 && matches!(OP, SUM | PROD | AVG) {
        // RNE into the high half; a NaN lane becomes 0x7FC0 there.
        let rne = |x: __m256i| {
            let nan = si(_mm256_cmp_ps::<_CMP_UNORD_Q>(ps(x), ps(x)));
            let lsb = _mm256_and_si256(_mm256_srli_epi32::<16>(x), _mm256_set1_epi32(1));
            let r = _mm256_and_si256(
                _mm256_add_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(0x7FFF)), lsb),
                _mm256_set1_epi32(BF16_HIGH),
            );
            _mm256_blendv_epi8(r, _mm256_set1_epi32(0x7FC0_0000), nan)
        };
        for h in 0..2 {
            st_nt(&mut b[32 * h..], bf16_join(v[2 * h], v[2 * h + 1], rne), nt);
        }
    } else {
        store_nt::<F>(settle::<F, OP>(v), sat, b, nt);
    }
}

/// f32 bits → FP8 code in each 32-bit lane (see the module docs).
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn fp8_rne<const F: u8>(x: __m256i, sat: bool) -> __m256i {
    // (minimum normal, magic, rounding bias subtracted, max finite, overflow, NaN code)
    let (min_normal, magic, rebias, max_finite, overflow, nan_code) = if F == E4M3 {
        (0x3C80_0000, 0x4680_0000, 120 << 3, 0x7E, 0x7F, 0x7F)
    } else {
        (0x3880_0000, 0x4300_0000, 112 << 2, 0x7B, 0x7C, 0x7E)
    };
    let abs = _mm256_and_si256(x, _mm256_set1_epi32(i32::MAX));
    let sign = _mm256_and_si256(_mm256_srli_epi32::<24>(x), _mm256_set1_epi32(0x80));
    let normal = if F == E4M3 {
        let lsb = _mm256_and_si256(_mm256_srli_epi32::<20>(abs), _mm256_set1_epi32(1));
        let r = _mm256_add_epi32(_mm256_add_epi32(abs, _mm256_set1_epi32(0x7_FFFF)), lsb);
        _mm256_sub_epi32(_mm256_srli_epi32::<20>(r), _mm256_set1_epi32(rebias))
    } else {
        let lsb = _mm256_and_si256(_mm256_srli_epi32::<21>(abs), _mm256_set1_epi32(1));
        let r = _mm256_add_epi32(_mm256_add_epi32(abs, _mm256_set1_epi32(0xF_FFFF)), lsb);
        _mm256_sub_epi32(_mm256_srli_epi32::<21>(r), _mm256_set1_epi32(rebias))
    };
    let m = _mm256_set1_epi32(magic);
    let sub = _mm256_sub_epi32(si(_mm256_add_ps(ps(abs), ps(m))), m);
    let tiny = _mm256_cmpgt_epi32(_mm256_set1_epi32(min_normal), abs);
    let code = _mm256_blendv_epi8(normal, sub, tiny);
    let over = _mm256_cmpgt_epi32(code, _mm256_set1_epi32(max_finite));
    let big = _mm256_set1_epi32(if sat { max_finite } else { overflow });
    let code = _mm256_blendv_epi8(code, big, over);
    let nan = _mm256_cmpgt_epi32(abs, _mm256_set1_epi32(0x7F80_0000));
    let code = _mm256_blendv_epi8(code, _mm256_set1_epi32(nan_code), nan);
    _mm256_or_si256(code, sign)
}

/// 8 f16 codes → f32, exact; NaN made quiet with its payload kept (`vcvtph2ps`; under Miri
/// [`f16_widen_int`]).
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn f16_widen(h: __m128i) -> __m256 {
    if cfg!(miri) {
        ps(f16_widen_int(h))
    } else {
        _mm256_cvtph_ps(h)
    }
}

/// [`f16_widen`] without `vcvtph2ps`: the code's exponent and mantissa shifted to the f32
/// mantissa's top are an f32 2^112 times too small (a subnormal one for subnormal codes),
/// so one multiply by 2^112 rebiases exactly; exponent 31 becomes Inf, or a NaN with the
/// quiet bit set and the payload kept.
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn f16_widen_int(h: __m128i) -> __m256i {
    let x = _mm256_cvtepu16_epi32(h);
    let sign = _mm256_slli_epi32::<16>(_mm256_and_si256(x, _mm256_set1_epi32(0x8000)));
    let m = _mm256_slli_epi32::<13>(_mm256_and_si256(x, _mm256_set1_epi32(0x7FFF)));
    let f = si(_mm256_mul_ps(ps(m), ps(_mm256_set1_epi32(0x7780_0000))));
    let f = _mm256_or_si256(f, sign);
    // Exponent 31: 0x0F80_0000 | payload << 13 in `m`; OR-ing 0x7000_0000 makes it 0x7F8….
    let special = _mm256_or_si256(_mm256_or_si256(m, sign), _mm256_set1_epi32(0x7000_0000));
    let big = _mm256_cmpgt_epi32(m, _mm256_set1_epi32(0x0F7F_FFFF));
    let f = _mm256_blendv_epi8(f, special, big);
    let nan = _mm256_cmpgt_epi32(m, _mm256_set1_epi32(0x0F80_0000));
    _mm256_or_si256(f, _mm256_and_si256(nan, _mm256_set1_epi32(0x0040_0000)))
}

/// 8 f32 → f16 codes, round to nearest even, subnormals kept, overflow → ±Inf, NaN made
/// quiet with the top payload bits (`vcvtps2ph`; under Miri [`f16_narrow_int`]).
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn f16_narrow(x: __m256i) -> __m128i {
    if cfg!(miri) {
        f16_narrow_int(x)
    } else {
        _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(ps(x))
    }
}

/// [`f16_narrow`] without `vcvtps2ph`: integer RNE in the normal range, the "magic add"
/// of 0.5 (whose ulp is 2^-24, the f16 subnormal step) below 2^-14, then overflow and NaN.
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn f16_narrow_int(x: __m256i) -> __m128i {
    let abs = _mm256_and_si256(x, _mm256_set1_epi32(i32::MAX));
    let sign = _mm256_and_si256(_mm256_srli_epi32::<16>(x), _mm256_set1_epi32(0x8000));
    let lsb = _mm256_and_si256(_mm256_srli_epi32::<13>(abs), _mm256_set1_epi32(1));
    let r = _mm256_add_epi32(_mm256_add_epi32(abs, _mm256_set1_epi32(0xFFF)), lsb);
    let normal = _mm256_sub_epi32(_mm256_srli_epi32::<13>(r), _mm256_set1_epi32(112 << 10));
    let half = _mm256_set1_epi32(0x3F00_0000);
    let sub = _mm256_sub_epi32(si(_mm256_add_ps(ps(abs), ps(half))), half);
    let tiny = _mm256_cmpgt_epi32(_mm256_set1_epi32(0x3880_0000), abs);
    let code = _mm256_blendv_epi8(normal, sub, tiny);
    let over = _mm256_cmpgt_epi32(code, _mm256_set1_epi32(0x7BFF));
    let code = _mm256_blendv_epi8(code, _mm256_set1_epi32(0x7C00), over);
    let payload = _mm256_and_si256(_mm256_srli_epi32::<13>(abs), _mm256_set1_epi32(0x03FF));
    let nan = _mm256_cmpgt_epi32(abs, _mm256_set1_epi32(0x7F80_0000));
    let code = _mm256_blendv_epi8(
        code,
        _mm256_or_si256(payload, _mm256_set1_epi32(0x7E00)),
        nan,
    );
    let code = _mm256_or_si256(code, sign);
    _mm_packus_epi32(
        _mm256_castsi256_si128(code),
        _mm256_extracti128_si256::<1>(code),
    )
}

/// Accumulator lanes → one output step (rounded once for the narrow floats).
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn store<const F: u8>(v: V4, sat: bool, b: &mut [u8]) {
    store_nt::<F>(v, sat, b, false);
}

/// [`store`], with non-temporal stores where `nt` and the step is aligned.
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn store_nt<const F: u8>(v: V4, sat: bool, b: &mut [u8], nt: bool) {
    match F {
        F16 => {
            for (k, v) in v.into_iter().enumerate() {
                st128_nt(&mut b[16 * k..], f16_narrow(v), nt);
            }
        }
        BF16 => {
            // The lanes are in `load`'s order (even, odd).
            for h in 0..2 {
                let p = bf16_join(v[2 * h], v[2 * h + 1], |x| bf16_rne_high(x));
                st_nt(&mut b[32 * h..], p, nt);
            }
        }
        E4M3 | E5M2 => {
            let c = [
                fp8_rne::<F>(v[0], sat),
                fp8_rne::<F>(v[1], sat),
                fp8_rne::<F>(v[2], sat),
                fp8_rne::<F>(v[3], sat),
            ];
            let p = _mm256_packus_epi16(
                _mm256_packus_epi32(c[0], c[1]),
                _mm256_packus_epi32(c[2], c[3]),
            );
            let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
            st_nt(b, _mm256_permutevar8x32_epi32(p, order), nt);
        }
        _ => {
            for (k, v) in v.into_iter().enumerate() {
                st_nt(&mut b[32 * k..], v, nt);
            }
        }
    }
}

/// bf16 accumulator lanes from element order (f32 `0..8`, `8..16` of each 16) to `load`'s
/// (the even elements, then the odd).
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn bf16_split(v: V4) -> V4 {
    let mut out = v;
    for h in 0..2 {
        let (a, b) = (ps(v[2 * h]), ps(v[2 * h + 1]));
        // In-lane picks give 0 2 8 10 | 4 6 12 14 (and the odd ones); the 64-bit permute
        // puts the pairs in order.
        let even = _mm256_shuffle_ps::<0b10_00_10_00>(a, b);
        let odd = _mm256_shuffle_ps::<0b11_01_11_01>(a, b);
        out[2 * h] = _mm256_permute4x64_epi64::<0b11_01_10_00>(si(even));
        out[2 * h + 1] = _mm256_permute4x64_epi64::<0b11_01_10_00>(si(odd));
    }
    out
}

/// [`bf16_split`] undone: `load`'s order back to element order.
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn bf16_merge(v: V4) -> V4 {
    let mut out = v;
    for h in 0..2 {
        let (even, odd) = (ps(v[2 * h]), ps(v[2 * h + 1]));
        // 0 1 2 3 | 8 9 10 11 and 4 5 6 7 | 12 13 14 15.
        let lo = si(_mm256_unpacklo_ps(even, odd));
        let hi = si(_mm256_unpackhi_ps(even, odd));
        out[2 * h] = _mm256_permute2x128_si256::<0x20>(lo, hi);
        out[2 * h + 1] = _mm256_permute2x128_si256::<0x31>(lo, hi);
    }
    out
}

/// Accumulator step from an accumulator slice (f32 lanes for the narrow floats).
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn load_acc<const F: u8>(b: &[u8]) -> V4 {
    if F == BF16 {
        bf16_split([ld(b), ld(&b[32..]), ld(&b[64..]), ld(&b[96..])])
    } else if narrow(F) {
        [ld(b), ld(&b[32..]), ld(&b[64..]), ld(&b[96..])]
    } else {
        load::<F>(b)
    }
}

#[inline]
#[target_feature(enable = "avx2,f16c")]
fn store_acc<const F: u8>(v: V4, b: &mut [u8]) {
    let v = if F == BF16 { bf16_merge(v) } else { v };
    if narrow(F) {
        for (k, v) in v.into_iter().enumerate() {
            st(&mut b[32 * k..], v);
        }
    } else {
        store::<F>(v, false, b);
    }
}

#[inline]
#[target_feature(enable = "avx2,f16c")]
fn quiet_ps(x: __m256) -> __m256 {
    let nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x);
    _mm256_or_ps(x, _mm256_and_ps(nan, ps(_mm256_set1_epi32(0x0040_0000))))
}

#[inline]
#[target_feature(enable = "avx2,f16c")]
fn quiet_pd(x: __m256d) -> __m256d {
    let nan = _mm256_cmp_pd::<_CMP_UNORD_Q>(x, x);
    let q = pd(_mm256_set1_epi64x(0x0008_0000_0000_0000));
    _mm256_or_pd(x, _mm256_and_pd(nan, q))
}

/// Per-input preparation: AVG scaling, NaN quieting for MIN/MAX, logical 0/1.
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn prep<const F: u8, const OP: u8>(mut x: V4, k: &K) -> V4 {
    for v in &mut x {
        *v = if lanes_f32(F) {
            match OP {
                AVG => si(_mm256_mul_ps(ps(*v), k.s32)),
                MIN | MAX => si(quiet_ps(ps(*v))),
                _ => *v,
            }
        } else if F == F64 {
            match OP {
                AVG => sid(_mm256_mul_pd(pd(*v), k.s64)),
                MIN | MAX => sid(quiet_pd(pd(*v))),
                _ => *v,
            }
        } else {
            match OP {
                LAND | LOR | LXOR => nonzero::<F>(*v),
                _ => *v,
            }
        };
    }
    x
}

/// 1 in each lane that is non-zero, 0 elsewhere.
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn nonzero<const F: u8>(x: __m256i) -> __m256i {
    let z = _mm256_setzero_si256();
    let (eq, one) = match F {
        U8 | I8 => (_mm256_cmpeq_epi8(x, z), _mm256_set1_epi8(1)),
        U16 | I16 => (_mm256_cmpeq_epi16(x, z), _mm256_set1_epi16(1)),
        U32 | I32 => (_mm256_cmpeq_epi32(x, z), _mm256_set1_epi32(1)),
        _ => (_mm256_cmpeq_epi64(x, z), _mm256_set1_epi64x(1)),
    };
    _mm256_andnot_si256(eq, one)
}

/// `a op b` over one step.
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn comb<const F: u8, const OP: u8>(mut a: V4, b: V4) -> V4 {
    for (a, b) in a.iter_mut().zip(b) {
        *a = if lanes_f32(F) {
            si(comb_ps::<OP>(ps(*a), ps(b)))
        } else if F == F64 {
            sid(comb_pd::<OP>(pd(*a), pd(b)))
        } else {
            comb_int::<F, OP>(*a, b)
        };
    }
    a
}

#[inline]
#[target_feature(enable = "avx2,f16c")]
fn comb_ps<const OP: u8>(a: __m256, b: __m256) -> __m256 {
    match OP {
        SUM | AVG => _mm256_add_ps(a, b),
        PROD => _mm256_mul_ps(a, b),
        MIN | MAX => {
            // IEEE minimum/maximum: b wins if strictly better, equal values merge sign bits
            // (−0 < +0), then a NaN in b and finally a NaN in a (the earlier input) win.
            let (better, merged) = if OP == MIN {
                (_mm256_cmp_ps::<_CMP_LT_OQ>(b, a), _mm256_or_ps(a, b))
            } else {
                (_mm256_cmp_ps::<_CMP_GT_OQ>(b, a), _mm256_and_ps(a, b))
            };
            let r = _mm256_blendv_ps(a, b, better);
            let r = _mm256_blendv_ps(r, merged, _mm256_cmp_ps::<_CMP_EQ_OQ>(a, b));
            let r = _mm256_blendv_ps(r, b, _mm256_cmp_ps::<_CMP_UNORD_Q>(b, b));
            _mm256_blendv_ps(r, a, _mm256_cmp_ps::<_CMP_UNORD_Q>(a, a))
        }
        _ => a,
    }
}

#[inline]
#[target_feature(enable = "avx2,f16c")]
fn comb_pd<const OP: u8>(a: __m256d, b: __m256d) -> __m256d {
    match OP {
        SUM | AVG => _mm256_add_pd(a, b),
        PROD => _mm256_mul_pd(a, b),
        MIN | MAX => {
            let (better, merged) = if OP == MIN {
                (_mm256_cmp_pd::<_CMP_LT_OQ>(b, a), _mm256_or_pd(a, b))
            } else {
                (_mm256_cmp_pd::<_CMP_GT_OQ>(b, a), _mm256_and_pd(a, b))
            };
            let r = _mm256_blendv_pd(a, b, better);
            let r = _mm256_blendv_pd(r, merged, _mm256_cmp_pd::<_CMP_EQ_OQ>(a, b));
            let r = _mm256_blendv_pd(r, b, _mm256_cmp_pd::<_CMP_UNORD_Q>(b, b));
            _mm256_blendv_pd(r, a, _mm256_cmp_pd::<_CMP_UNORD_Q>(a, a))
        }
        _ => a,
    }
}

#[inline]
#[target_feature(enable = "avx2,f16c")]
fn comb_int<const F: u8, const OP: u8>(a: __m256i, b: __m256i) -> __m256i {
    match OP {
        SUM | AVG => match F {
            U8 | I8 => _mm256_add_epi8(a, b),
            U16 | I16 => _mm256_add_epi16(a, b),
            U32 | I32 => _mm256_add_epi32(a, b),
            _ => _mm256_add_epi64(a, b),
        },
        PROD => match F {
            U8 | I8 => {
                // Low bytes of the 16-bit products of the even and of the odd bytes.
                let even = _mm256_mullo_epi16(a, b);
                let odd = _mm256_mullo_epi16(_mm256_srli_epi16::<8>(a), _mm256_srli_epi16::<8>(b));
                _mm256_or_si256(
                    _mm256_and_si256(even, _mm256_set1_epi16(0xFF)),
                    _mm256_slli_epi16::<8>(odd),
                )
            }
            U16 | I16 => _mm256_mullo_epi16(a, b),
            U32 | I32 => _mm256_mullo_epi32(a, b),
            _ => {
                // lo·lo + ((hi·lo + lo·hi) << 32), mod 2^64.
                let lo = _mm256_mul_epu32(a, b);
                let cross = _mm256_add_epi64(
                    _mm256_mul_epu32(_mm256_srli_epi64::<32>(a), b),
                    _mm256_mul_epu32(a, _mm256_srli_epi64::<32>(b)),
                );
                _mm256_add_epi64(lo, _mm256_slli_epi64::<32>(cross))
            }
        },
        MIN => match F {
            U8 => _mm256_min_epu8(a, b),
            I8 => _mm256_min_epi8(a, b),
            U16 => _mm256_min_epu16(a, b),
            I16 => _mm256_min_epi16(a, b),
            U32 => _mm256_min_epu32(a, b),
            I32 => _mm256_min_epi32(a, b),
            _ => _mm256_blendv_epi8(a, b, gt64::<F>(a, b)),
        },
        MAX => match F {
            U8 => _mm256_max_epu8(a, b),
            I8 => _mm256_max_epi8(a, b),
            U16 => _mm256_max_epu16(a, b),
            I16 => _mm256_max_epi16(a, b),
            U32 => _mm256_max_epu32(a, b),
            I32 => _mm256_max_epi32(a, b),
            _ => _mm256_blendv_epi8(b, a, gt64::<F>(a, b)),
        },
        BAND | LAND => _mm256_and_si256(a, b),
        BOR | LOR => _mm256_or_si256(a, b),
        BXOR | LXOR => _mm256_xor_si256(a, b),
        _ => a,
    }
}

/// `a > b` per 64-bit lane, signed or (with the sign bits flipped) unsigned.
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn gt64<const F: u8>(a: __m256i, b: __m256i) -> __m256i {
    if F == U64 {
        let s = _mm256_set1_epi64x(i64::MIN);
        _mm256_cmpgt_epi64(_mm256_xor_si256(a, s), _mm256_xor_si256(b, s))
    } else {
        _mm256_cmpgt_epi64(a, b)
    }
}

/// NaN results of SUM, PROD and AVG become the canonical quiet NaN.
///
/// A step without a NaN (nearly every step of real data) is left as it is after one test:
/// two unordered compares of the accumulators in pairs (true where either is NaN), their
/// OR and a `vptest`, in place of four compares and four blends. f32 SUM of 4 inputs of
/// 256 KiB, criterion on a Zen 3 guest (the naive fused loop's time over ours, same run):
/// 0.91 with the blends on every step, 0.95 to 1.03 with the test.
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn settle<const F: u8, const OP: u8>(mut x: V4) -> V4 {
    if !matches!(OP, SUM | PROD | AVG) {
        return x;
    }
    let any = if lanes_f32(F) {
        let [a, b, c, d] = [ps(x[0]), ps(x[1]), ps(x[2]), ps(x[3])];
        si(_mm256_or_ps(
            _mm256_cmp_ps::<_CMP_UNORD_Q>(a, b),
            _mm256_cmp_ps::<_CMP_UNORD_Q>(c, d),
        ))
    } else if F == F64 {
        let [a, b, c, d] = [pd(x[0]), pd(x[1]), pd(x[2]), pd(x[3])];
        sid(_mm256_or_pd(
            _mm256_cmp_pd::<_CMP_UNORD_Q>(a, b),
            _mm256_cmp_pd::<_CMP_UNORD_Q>(c, d),
        ))
    } else {
        return x;
    };
    if _mm256_testz_si256(any, any) == 1 {
        return x;
    }
    for v in &mut x {
        if lanes_f32(F) {
            let f = ps(*v);
            let canon = ps(_mm256_set1_epi32(0x7FC0_0000));
            *v = si(_mm256_blendv_ps(
                f,
                canon,
                _mm256_cmp_ps::<_CMP_UNORD_Q>(f, f),
            ));
        } else if F == F64 {
            let f = pd(*v);
            let canon = pd(_mm256_set1_epi64x(0x7FF8_0000_0000_0000));
            *v = sid(_mm256_blendv_pd(
                f,
                canon,
                _mm256_cmp_pd::<_CMP_UNORD_Q>(f, f),
            ));
        }
    }
    x
}

/// Outputs of at least this many bytes are written with non-temporal stores: far larger
/// than the caches, the output's lines are then not read in before being overwritten (a
/// fifth of the memory traffic of a 4-input reduction), and the inputs are not evicted
/// for them. Below it, the result stays in cache for whoever reads it next.
const NT_MIN_BYTES: usize = 16 << 20;

/// The fused N-input kernel (see the module docs). `in_place`: `out` is input 0.
#[target_feature(enable = "avx2,f16c")]
fn fused<const F: u8, const OP: u8, T: Element>(
    p: &Params,
    inputs: &[&[T]],
    out: &mut [T],
    in_place: bool,
) {
    let k = konst(p);
    let out = bytes_of_mut(out);
    let s = step(F);
    let others = if in_place {
        inputs
    } else {
        inputs.get(1..).unwrap_or(&[])
    };
    let len = out.len();
    // The unchecked reads below rely on this; the engine checks it for every call
    // (`check_lens`).
    assert!(others.iter().all(|x| size_of_val(*x) == len));
    // A large output is written around the caches, from its first 32-byte aligned byte on
    // (the bytes before it, fewer than a step, go the tail's way). Every step is a
    // multiple of 32 bytes, so every store after that is aligned.
    // (A byte-level call may hand an output that is not aligned to its element size; then
    // no whole number of elements reaches an aligned byte, and the stores stay ordinary.)
    let head = out.as_ptr().align_offset(32).min(len);
    let nt = len >= NT_MIN_BYTES && head.is_multiple_of(elem_size(F));
    let head = if nt { head } else { 0 };
    if head > 0 {
        fused_part::<F, OP, T>(&k, inputs, others, out, in_place, 0, head);
    }
    let full = head + (len - head) / s * s;
    let mut off = head;
    // Two steps (eight accumulators) per pass over the inputs: the inner loop's per-input cost
    // (the input's pointer loaded, the loop branch, and before the reads were unchecked its
    // length and a bounds check) is then paid per two steps instead of one. SUM of 4 inputs of
    // 256 KiB, Zen 3 guest, the naive fused loop's time over ours (criterion, one step and two
    // alternating): f32 0.88 to 0.95 and 0.99 to 1.03 (8 inputs 0.88 to 0.96 and 0.92 to 0.97);
    // bf16 1.00 to 1.28 and 1.22 to 1.54 (8 inputs 0.93 to 1.03 and 1.06 to 1.38). Best of 20 ×
    // 200 calls, 4 inputs of 128 Ki elements: bf16 29.0–36.4 µs and 27.4–29.7 µs, f16 unchanged
    // (22.6–27.4 and 22.7–23.9 µs), E4M3 168–179 µs and 150–165 µs, although its widening
    // constants and temporaries then spill to the stack. (The naive loop has the input count as
    // a constant: every pointer stays in a register and it reads 64 bytes of each input per
    // pass.)
    while off + 2 * s <= full {
        let x0 = if in_place {
            &out[off..off + 2 * s]
        } else {
            &bytes_of(inputs[0])[off..off + 2 * s]
        };
        let mut a = prep::<F, OP>(load::<F>(&x0[..s]), &k);
        let mut b = prep::<F, OP>(load::<F>(&x0[s..]), &k);
        for x in others {
            // Unchecked: a bounds check here costs a load of the input's length, its scaling,
            // a compare and a branch per input per pass. SUM of 4 inputs of 128 Ki elements,
            // best of 20 × 200 calls, Zen 3 guest, four runs of each alternating: bf16
            // 27.5–35.5 µs with the check, 24.9–30.2 µs without; f32 (inputs of 512 KiB,
            // bound by L3) 34.4–35.8 and 34.3–35.5 µs.
            // SAFETY: `off + 2 * s <= full <= len`, and every input is `len` bytes (asserted
            // above).
            let v = unsafe { bytes_of(x).get_unchecked(off..off + 2 * s) };
            a = comb::<F, OP>(a, prep::<F, OP>(load::<F>(&v[..s]), &k));
            b = comb::<F, OP>(b, prep::<F, OP>(load::<F>(&v[s..]), &k));
        }
        store_settled::<F, OP>(a, k.sat, &mut out[off..off + s], nt);
        store_settled::<F, OP>(b, k.sat, &mut out[off + s..off + 2 * s], nt);
        off += 2 * s;
    }
    while off < full {
        let x0 = if in_place {
            load::<F>(&out[off..off + s])
        } else {
            load::<F>(&bytes_of(inputs[0])[off..off + s])
        };
        let mut acc = prep::<F, OP>(x0, &k);
        for x in others {
            let v = load::<F>(&bytes_of(x)[off..off + s]);
            acc = comb::<F, OP>(acc, prep::<F, OP>(v, &k));
        }
        store_settled::<F, OP>(acc, k.sat, &mut out[off..off + s], nt);
        off += s;
    }
    if off < len {
        fused_part::<F, OP, T>(&k, inputs, others, out, in_place, off, len);
    }
    if nt {
        // Non-temporal stores are weakly ordered: fence them before anything that follows
        // (another thread, a DMA engine) can look at the output.
        _mm_sfence();
    }
}

/// [`fused`] on `out[from..to]`, less than a step, through a zero-padded stack buffer.
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn fused_part<const F: u8, const OP: u8, T: Element>(
    k: &K,
    inputs: &[&[T]],
    others: &[&[T]],
    out: &mut [u8],
    in_place: bool,
    from: usize,
    to: usize,
) {
    let (s, t) = (step(F), to - from);
    let mut buf = [0u8; 128];
    if in_place {
        buf[..t].copy_from_slice(&out[from..to]);
    } else {
        buf[..t].copy_from_slice(&bytes_of(inputs[0])[from..to]);
    }
    let mut acc = prep::<F, OP>(load::<F>(&buf[..s]), k);
    for x in others {
        buf[..t].copy_from_slice(&bytes_of(x)[from..to]);
        acc = comb::<F, OP>(acc, prep::<F, OP>(load::<F>(&buf[..s]), k));
    }
    store_settled::<F, OP>(acc, k.sat, &mut buf[..s], false);
    out[from..to].copy_from_slice(&buf[..t]);
}

super::driver::drivers!("avx2,f16c", 128);

#[cfg(all(test, not(miri)))]
mod tests {
    use core::arch::x86_64::{
        _MM_FROUND_TO_NEAREST_INT, _mm_cmpeq_epi16, _mm_loadu_si128, _mm_movemask_epi8,
        _mm256_add_epi32, _mm256_cmpeq_epi32, _mm256_cvtph_ps, _mm256_cvtps_ph,
        _mm256_movemask_epi8, _mm256_set1_epi32, _mm256_setr_epi32,
    };

    /// The integer f16 → f32 conversion (Miri's) equals `vcvtph2ps` on every f16 code.
    #[test]
    fn integer_f16_widen_matches_vcvtph2ps() {
        #[target_feature(enable = "avx2,f16c")]
        fn check() {
            let mut codes = [0u8; 16];
            for base in (0..=u16::MAX).step_by(8) {
                for (c, i) in codes.chunks_exact_mut(2).zip(base..=base + 7) {
                    c.copy_from_slice(&i.to_le_bytes());
                }
                // SAFETY: `codes` is 16 readable bytes; the load is unaligned.
                let h = unsafe { _mm_loadu_si128(codes.as_ptr().cast()) };
                let (got, want) = (super::f16_widen_int(h), super::si(_mm256_cvtph_ps(h)));
                assert_eq!(
                    _mm256_movemask_epi8(_mm256_cmpeq_epi32(got, want)),
                    -1,
                    "codes from {base:#06x}"
                );
            }
        }
        if crate::detect::avx2() {
            // SAFETY: the CPU has AVX2 and F16C (checked).
            unsafe { check() }
        } else {
            std::eprintln!("f16 widen: skipped, no AVX2/F16C here");
        }
    }

    /// The integer f32 → f16 rounding (Miri's) equals `vcvtps2ph` on every f32 pattern.
    #[test]
    fn integer_f16_narrow_matches_vcvtps2ph() {
        #[target_feature(enable = "avx2,f16c")]
        fn check() {
            let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            for base in (0..=u32::MAX).step_by(8) {
                let x = _mm256_add_epi32(lanes, _mm256_set1_epi32(base.cast_signed()));
                let got = super::f16_narrow_int(x);
                let want = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(super::ps(x));
                assert_eq!(
                    _mm_movemask_epi8(_mm_cmpeq_epi16(got, want)),
                    0xFFFF,
                    "f32 patterns from {base:#010x}"
                );
            }
        }
        if crate::detect::avx2() {
            // SAFETY: the CPU has AVX2 and F16C (checked).
            unsafe { check() }
        } else {
            std::eprintln!("f16 narrow: skipped, no AVX2/F16C here");
        }
    }
}
