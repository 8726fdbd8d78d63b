//! x86_64 with AVX-512F, AVX-512BW and AVX-512DQ.
//!
//! The `Avx2` kernel on 512-bit vectors: written once and instantiated per (format,
//! operation) through const generics; per step of 64 elements (f16, bf16, FP8) or 256 bytes
//! (everything else), the step of input 0 is loaded into four 512-bit accumulators, every
//! further input's step is loaded and combined into them in input order, and the result is
//! stored (rounded once for the narrow floats). The inner loop runs over inputs, the outer
//! over elements, so each output element is the left fold of the scalar definition; there
//! is no FMA anywhere. Two steps are taken per pass over the inputs, and each input is
//! prefetched into L1 about 8 KiB / N ahead (up to 8 inputs). A tail shorter than a step is
//! read with masked loads (the lanes past the end are zero) and written with masked
//! stores, by the same code as a whole step. Outputs of 16 MiB and more are stored
//! non-temporally from their first 64-byte aligned element on, as on `Avx2`.
//!
//! Measured on a shared 2-core Sapphire Rapids class guest, 4 inputs of 256 KiB, in one
//! criterion run (`cargo bench --bench reduce -- x4` in `benches/`): f32 SUM 79.5 GiB/s of
//! input against 77.6 for the naive fused loop built for AVX2 (1.02x) and 63.8 for `Avx2`
//! (the inputs come from L2, and the loop is bound by it: a plain read of 1 MiB takes about
//! as long); bf16 SUM 46.5 against 23.6 (1.97x) and 27.6 for `Avx2` (bound by the two
//! 512-bit ports: per 32 elements, 2 operations per input to widen, 1 to add, 11 to round
//! and store). At 64 MiB: f32 11.4, bf16 11.5 GiB/s (memory bound). An earlier
//! interleaved best-of-200 harness gave f16 SUM 1.6-1.7x and f32 MAX 2.5x `Avx2`.
//!
//! Everything that decides a result is integer arithmetic on the lanes' bits, an IEEE add
//! or multiply, or a conversion instruction; there is no floating-point compare (`vcmpps`
//! into a mask register has no Miri shim, and the integer forms cost about the same):
//! - NaN tests are `|x| > +Inf` on the bits.
//! - MIN/MAX compare order keys: the bits with the magnitude flipped for negative numbers
//!   (as signed integers they order numbers as IEEE totalOrder does, −0 < +0), shifted so
//!   that every NaN, quiet or signalling, lands on one key past all numbers (below for MIN,
//!   above for MAX). `b` replaces the accumulator only when its key is strictly better, so
//!   a NaN wins over every number and the first NaN in input order stays; it is made quiet
//!   when the result is settled.
//! - The canonical NaN of f16 and bf16 SUM, PROD and AVG is set on the 16-bit codes after
//!   rounding, 32 lanes at a time (see [`store_settled`] for why that is exact).
//!
//! Conversions, all exact and equal to [`crate::convert`]:
//! - f16 ↔ f32: `vcvtph2ps` / `vcvtps2ph` on 16 lanes (AVX-512F's forms of the F16C
//!   instructions), round to nearest even. Under Miri, which can run neither, the two
//!   helpers compute the same in integer arithmetic (the f32 → f16 one as FP8's below); a
//!   unit test checks them against the instructions on every f16 code and every f32
//!   pattern.
//! - bf16 → f32: as on `Avx2`, each 32-bit lane holds two codes: the high one, masked, is
//!   the odd element's f32, the low one shifted up the even element's, so the accumulators
//!   hold even and odd elements apart and nothing is shuffled. f32 → bf16: the integer RNE
//!   `(x + 0x7FFF + lsb) >> 16` (the lsb as a test into a mask register and a masked add),
//!   NaN made quiet or canonical; a 16-bit blend joins the even and odd codes. No
//!   `vcvtneps2bf16` (AVX512_BF16), which flushes f32 subnormals.
//! - FP8 → f32: as on `Avx2`, through f16: 32 bytes are widened to 16-bit lanes and moved
//!   into f16 bit patterns (E5M2 is the top byte of an f16; E4M3 shifted by 7 is an f16
//!   scaled by 2^-8, multiplied back by 256, exact), then `vcvtph2ps`; NaN lanes become the
//!   canonical decoded NaN. (Building the f32 bits and rebiasing with one multiply by
//!   2^120 costs fewer operations, but FP8 subnormals are f32 denormals there, and a
//!   multiply with a denormal operand takes a microcode assist: 3 times slower than `Avx2`
//!   on random codes.)
//! - f32 → FP8 (and f16 under Miri): integer RNE for the normal range; the subnormal range
//!   adds a power of two whose ulp is the target's subnormal step and subtracts its bits
//!   (exact under RNE); then overflow, Inf and NaN are selected per the mode, and four
//!   vectors of codes are packed to bytes with two `vpackus` and one `vpermd`.
//!
//! MINLOC/MAXLOC run the scalar code (as on every backend), and integer AVG divides in a
//! scalar pass after the vector sum (as on `Avx2`).

use core::arch::x86_64::{
    __m256i, __m512, __m512d, __m512i, _MM_FROUND_NO_EXC, _MM_FROUND_TO_NEAREST_INT, _MM_HINT_T0,
    _mm_prefetch, _mm_sfence, _mm256_loadu_si256, _mm512_add_epi8, _mm512_add_epi16,
    _mm512_add_epi32, _mm512_add_epi64, _mm512_add_pd, _mm512_add_ps, _mm512_and_si512,
    _mm512_castpd_si512, _mm512_castps_si512, _mm512_castsi256_si512, _mm512_castsi512_pd,
    _mm512_castsi512_ps, _mm512_castsi512_si256, _mm512_cmpeq_epi32_mask, _mm512_cmpge_epu32_mask,
    _mm512_cmpgt_epi32_mask, _mm512_cmpgt_epi64_mask, _mm512_cmpgt_epu16_mask,
    _mm512_cmpgt_epu32_mask, _mm512_cmpgt_epu64_mask, _mm512_cmplt_epi32_mask,
    _mm512_cmplt_epi64_mask, _mm512_cmplt_epu32_mask, _mm512_cvtepi32_epi16, _mm512_cvtepu8_epi16,
    _mm512_cvtepu16_epi32, _mm512_cvtph_ps, _mm512_cvtps_ph, _mm512_extracti64x4_epi64,
    _mm512_inserti64x4, _mm512_loadu_si512, _mm512_mask_add_epi32, _mm512_mask_and_epi32,
    _mm512_mask_blend_epi8, _mm512_mask_blend_epi16, _mm512_mask_blend_epi32,
    _mm512_mask_mov_epi16, _mm512_mask_mov_epi32, _mm512_mask_mov_epi64, _mm512_mask_or_epi32,
    _mm512_mask_or_epi64, _mm512_mask_storeu_epi8, _mm512_maskz_loadu_epi8, _mm512_maskz_mov_epi8,
    _mm512_maskz_mov_epi16, _mm512_maskz_mov_epi32, _mm512_maskz_mov_epi64, _mm512_max_epi8,
    _mm512_max_epi16, _mm512_max_epi32, _mm512_max_epi64, _mm512_max_epu8, _mm512_max_epu16,
    _mm512_max_epu32, _mm512_max_epu64, _mm512_min_epi8, _mm512_min_epi16, _mm512_min_epi32,
    _mm512_min_epi64, _mm512_min_epu8, _mm512_min_epu16, _mm512_min_epu32, _mm512_min_epu64,
    _mm512_mul_pd, _mm512_mul_ps, _mm512_mullo_epi16, _mm512_mullo_epi32, _mm512_mullo_epi64,
    _mm512_or_si512, _mm512_packus_epi16, _mm512_packus_epi32, _mm512_permutexvar_epi32,
    _mm512_set1_epi8, _mm512_set1_epi16, _mm512_set1_epi32, _mm512_set1_epi64, _mm512_set1_pd,
    _mm512_set1_ps, _mm512_setr_epi32, _mm512_setzero_si512, _mm512_shuffle_i64x2,
    _mm512_slli_epi16, _mm512_slli_epi32, _mm512_srai_epi32, _mm512_srai_epi64, _mm512_srli_epi16,
    _mm512_srli_epi32, _mm512_storeu_si512, _mm512_stream_si512, _mm512_sub_epi32,
    _mm512_sub_epi64, _mm512_test_epi8_mask, _mm512_test_epi16_mask, _mm512_test_epi32_mask,
    _mm512_test_epi64_mask, _mm512_xor_si512,
};

use crate::backend::scalar;
use crate::engine::{Job, Phase};
use crate::types::Params;
use crate::{Backend, DType, Element, Op, Reducer};

/// x86_64 with AVX-512F, AVX-512BW and AVX-512DQ. Construct with [`Avx512::new`], which
/// checks the CPU and the OS.
#[derive(Clone, Copy, Debug)]
pub struct Avx512 {
    _checked: (),
}

impl Avx512 {
    /// `Some` if this CPU has every feature in [`Backend::Avx512`]'s
    /// [`features`](Backend::features) and the OS saves the opmask and ZMM state.
    pub fn new() -> Option<Self> {
        crate::detect::avx512().then_some(Self { _checked: () })
    }

    /// # Safety
    /// The CPU must support AVX-512F, AVX-512BW and AVX-512DQ, and the OS must save the
    /// opmask and ZMM state.
    pub const unsafe fn new_unchecked() -> Self {
        Self { _checked: () }
    }
}

impl Reducer for Avx512 {
    fn backend(&self) -> Backend {
        Backend::Avx512
    }

    fn fused<T: Element>(&self, job: &Job, inputs: &[&[T]], out: &mut [T], in_place: bool) {
        // SAFETY: an `Avx512` exists only on a CPU with AVX-512F, BW and DQ and the ZMM state.
        let done = unsafe { fused_typed(job, inputs, out, in_place) };
        if !done {
            scalar::fused(job, inputs, out, in_place);
        }
    }

    fn fused_bytes(&self, job: &Job, inputs: &[&[u8]], out: &mut [u8], in_place: bool) {
        // SAFETY: an `Avx512` exists only on a CPU with AVX-512F, BW and DQ and the ZMM state.
        let done = unsafe { fused_le(job, inputs, out, in_place) };
        if !done {
            crate::Scalar.fused_bytes(job, inputs, out, in_place);
        }
    }

    fn stream<T: Element>(&self, job: &Job, phase: Phase<'_, T>) {
        // SAFETY: an `Avx512` exists only on a CPU with AVX-512F, BW and DQ and the ZMM state.
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

/// Input bytes per step: 64 elements for the narrow floats, 256 bytes otherwise.
const fn step(f: u8) -> usize {
    match f {
        F16 | BF16 => 128,
        E4M3 | E5M2 => 64,
        _ => 256,
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

/// Accumulator bytes per step: 64 f32 for the narrow floats, else the input step.
const fn acc_step(f: u8) -> usize {
    if narrow(f) { 256 } else { step(f) }
}

/// Four 512-bit accumulators: one step.
type V4 = [__m512i; 4];

/// Per-call vector constants.
#[derive(Clone, Copy)]
struct K {
    s32: __m512,
    s64: __m512d,
    sat: bool,
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn konst(p: &Params) -> K {
    K {
        s32: _mm512_set1_ps(p.scale32),
        s64: _mm512_set1_pd(p.scale64),
        sat: p.sat,
    }
}

/// The low `n` bits set (all 64 from `n` = 64 on).
const fn low(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1 << n) - 1 }
}

/// The bytes of `c` (at most 64; more are ignored), zero-padded to a vector: a masked load.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn ld_part(c: &[u8]) -> __m512i {
    let c = &c[..c.len().min(64)];
    if c.is_empty() {
        return _mm512_setzero_si512();
    }
    // SAFETY: the mask enables the first `c.len()` bytes, all inside `c`; the masked-off
    // bytes are not accessed (AVX-512 masked loads suppress their faults).
    unsafe { _mm512_maskz_loadu_epi8(low(c.len()), c.as_ptr().cast()) }
}

/// The 64 bytes of `b` from `at`, zero-padded past the end of `b` (a masked load there).
/// With `b` a whole step, the length test folds away.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn ld(b: &[u8], at: usize) -> __m512i {
    if let Some(c) = b.get(at..at + 64) {
        // SAFETY: `c` is 64 readable bytes; the load is unaligned.
        unsafe { _mm512_loadu_si512(c.as_ptr().cast()) }
    } else {
        ld_part(b.get(at..).unwrap_or_default())
    }
}

/// [`ld`] for 32 bytes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn ld256(b: &[u8], at: usize) -> __m256i {
    if let Some(c) = b.get(at..at + 32) {
        // SAFETY: `c` is 32 readable bytes; the load is unaligned.
        unsafe { _mm256_loadu_si256(c.as_ptr().cast()) }
    } else {
        _mm512_castsi512_si256(ld_part(b.get(at..).unwrap_or_default()))
    }
}

/// Stores `v` to the 64 bytes of `b` from `at`, or to the bytes of `b` left there (a masked
/// store).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn st(b: &mut [u8], at: usize, v: __m512i) {
    if let Some(c) = b.get_mut(at..at + 64) {
        // SAFETY: `c` is 64 writable bytes; the store is unaligned.
        unsafe { _mm512_storeu_si512(c.as_mut_ptr().cast(), v) }
    } else if let Some(c) = b.get_mut(at..).filter(|c| !c.is_empty()) {
        // SAFETY: `c` is fewer than 64 writable bytes and the mask enables exactly those;
        // the masked-off bytes are not accessed.
        unsafe { _mm512_mask_storeu_epi8(c.as_mut_ptr().cast(), low(c.len()), v) }
    }
}

/// [`st`], non-temporal (around the caches) when `nt` and the 64 bytes are whole and
/// 64-byte aligned.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn st_nt(b: &mut [u8], at: usize, v: __m512i, nt: bool) {
    if nt
        && let Some(c) = b.get_mut(at..at + 64)
        && c.as_ptr().addr().is_multiple_of(64)
    {
        // SAFETY: `c` is 64 writable bytes, 64-byte aligned (checked).
        unsafe { _mm512_stream_si512(c.as_mut_ptr().cast(), v) }
        return;
    }
    st(b, at, v);
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn ps(v: __m512i) -> __m512 {
    _mm512_castsi512_ps(v)
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn pd(v: __m512i) -> __m512d {
    _mm512_castsi512_pd(v)
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn si(v: __m512) -> __m512i {
    _mm512_castps_si512(v)
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn sid(v: __m512d) -> __m512i {
    _mm512_castpd_si512(v)
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn c32(x: u32) -> __m512i {
    _mm512_set1_epi32(x.cast_signed())
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn c64(x: u64) -> __m512i {
    _mm512_set1_epi64(x.cast_signed())
}

/// The f32 lanes holding a NaN (quiet or signalling): `|x| > +Inf` on the bits.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn nan32(x: __m512i) -> u16 {
    _mm512_cmpgt_epu32_mask(_mm512_and_si512(x, c32(0x7FFF_FFFF)), c32(0x7F80_0000))
}

/// The f64 lanes holding a NaN.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn nan64(x: __m512i) -> u8 {
    let abs = _mm512_and_si512(x, c64(0x7FFF_FFFF_FFFF_FFFF));
    _mm512_cmpgt_epu64_mask(abs, c64(0x7FF0_0000_0000_0000))
}

/// 16 f16 codes → f32, exact; NaN made quiet with its payload kept (`vcvtph2ps`; under
/// Miri the same in integer arithmetic, see [`f16_widen_int`]).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn f16_widen(h: __m256i) -> __m512i {
    if cfg!(miri) {
        f16_widen_int(h)
    } else {
        si(_mm512_cvtph_ps(h))
    }
}

/// [`f16_widen`] without `vcvtph2ps`: the code's exponent and mantissa shifted to the
/// f32 mantissa's top are an f32 2^112 times too small (a subnormal one for subnormal
/// codes), so one multiply by 2^112 rebiases exactly; exponent 31 becomes Inf, or a NaN
/// with the quiet bit set and the payload kept.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn f16_widen_int(h: __m256i) -> __m512i {
    let x = _mm512_cvtepu16_epi32(h);
    let sign = _mm512_slli_epi32::<16>(_mm512_and_si512(x, c32(0x8000)));
    let m = _mm512_slli_epi32::<13>(_mm512_and_si512(x, c32(0x7FFF)));
    let f = si(_mm512_mul_ps(ps(m), ps(c32(0x7780_0000))));
    let f = _mm512_or_si512(f, sign);
    // Exponent 31: 0x0F80_0000 | payload << 13 in `m`; OR-ing 0x7000_0000 makes it 0x7F8….
    let special = _mm512_or_si512(_mm512_or_si512(m, sign), c32(0x7000_0000));
    let f = _mm512_mask_mov_epi32(f, _mm512_cmpge_epu32_mask(m, c32(0x0F80_0000)), special);
    let nan = _mm512_cmpgt_epu32_mask(m, c32(0x0F80_0000));
    _mm512_mask_or_epi32(f, nan, f, c32(0x0040_0000))
}

/// 16 f32 → f16 codes, round to nearest even, subnormals kept, overflow → ±Inf, NaN made
/// quiet with the top payload bits (`vcvtps2ph`; under Miri [`f16_narrow_int`]).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn f16_narrow(x: __m512i) -> __m256i {
    if cfg!(miri) {
        f16_narrow_int(x)
    } else {
        _mm512_cvtps_ph::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(ps(x))
    }
}

/// [`f16_narrow`] without `vcvtps2ph`: integer RNE in the normal range, the "magic add"
/// of 0.5 (whose ulp is 2^-24, the f16 subnormal step) below 2^-14, then overflow and NaN.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn f16_narrow_int(x: __m512i) -> __m256i {
    let abs = _mm512_and_si512(x, c32(0x7FFF_FFFF));
    let sign = _mm512_and_si512(_mm512_srli_epi32::<16>(x), c32(0x8000));
    let lsb = _mm512_and_si512(_mm512_srli_epi32::<13>(abs), c32(1));
    let r = _mm512_add_epi32(_mm512_add_epi32(abs, c32(0xFFF)), lsb);
    let normal = _mm512_sub_epi32(_mm512_srli_epi32::<13>(r), c32(112 << 10));
    let half = c32(0x3F00_0000);
    let sub = _mm512_sub_epi32(si(_mm512_add_ps(ps(abs), ps(half))), half);
    let code = _mm512_mask_blend_epi32(_mm512_cmplt_epu32_mask(abs, c32(0x3880_0000)), normal, sub);
    let over = _mm512_cmpgt_epi32_mask(code, c32(0x7BFF));
    let code = _mm512_mask_mov_epi32(code, over, c32(0x7C00));
    let payload = _mm512_and_si512(_mm512_srli_epi32::<13>(abs), c32(0x03FF));
    let code = _mm512_mask_mov_epi32(code, nan32(x), _mm512_or_si512(payload, c32(0x7E00)));
    _mm512_cvtepi32_epi16(_mm512_or_si512(code, sign))
}

/// 32 FP8 codes → the f16 codes of the same values (E5M2), or of the values × 2^-8
/// (E4M3: exponent and mantissa moved down to the f16 mantissa's top, the sign to bit 15
/// by adding bit 14 to itself), in 16-bit lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn fp8_as_f16<const F: u8>(b: __m256i) -> __m512i {
    let w = _mm512_cvtepu8_epi16(b);
    if F == E5M2 {
        _mm512_slli_epi16::<8>(w)
    } else {
        let t = _mm512_slli_epi16::<7>(w);
        _mm512_add_epi16(t, _mm512_and_si512(t, _mm512_set1_epi16(0x4000)))
    }
}

/// 16 codes from [`fp8_as_f16`] → f32: widened as f16 (exact, subnormals included, no
/// denormal f32 operand anywhere), E4M3 scaled by 256 (exact), and NaN codes replaced by
/// the sign plus 0x7FC0_0000. E4M3's NaN code 0x7F is ±480 by then, which no E4M3 value
/// is; E5M2's NaN codes are f16 NaNs, whose payload the AND clears.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn fp8_widen<const F: u8>(h: __m256i) -> __m512i {
    let f = f16_widen(h);
    let (f, nan) = if F == E4M3 {
        let f = si(_mm512_mul_ps(ps(f), _mm512_set1_ps(256.0)));
        let abs = _mm512_and_si512(f, c32(0x7FFF_FFFF));
        (f, _mm512_cmpeq_epi32_mask(abs, c32(0x43F0_0000)))
    } else {
        (f, nan32(f))
    };
    let f = _mm512_mask_or_epi32(f, nan, f, c32(0x7FC0_0000));
    _mm512_mask_and_epi32(f, nan, f, c32(0xFFC0_0000))
}

/// One input step → accumulator lanes (f32 for the narrow floats). `b` is a whole step, or
/// shorter for a tail (then the missing lanes are zero).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn load<const F: u8>(b: &[u8]) -> V4 {
    let mut v = [_mm512_setzero_si512(); 4];
    match F {
        F16 => {
            for (k, v) in v.iter_mut().enumerate() {
                *v = f16_widen(ld256(b, 32 * k));
            }
        }
        BF16 => {
            // Two codes per 32-bit lane: `v[2h]` holds the even and `v[2h + 1]` the odd
            // elements of each 32, in place (one shift or AND per 16 elements).
            for h in 0..2 {
                let x = ld(b, 64 * h);
                v[2 * h] = _mm512_slli_epi32::<16>(x);
                v[2 * h + 1] = _mm512_and_si512(x, c32(0xFFFF_0000));
            }
        }
        E4M3 | E5M2 => {
            for h in 0..2 {
                let c = fp8_as_f16::<F>(ld256(b, 32 * h));
                v[2 * h] = fp8_widen::<F>(_mm512_castsi512_si256(c));
                v[2 * h + 1] = fp8_widen::<F>(_mm512_extracti64x4_epi64::<1>(c));
            }
        }
        _ => {
            for (k, v) in v.iter_mut().enumerate() {
                *v = ld(b, 64 * k);
            }
        }
    }
    v
}

/// f32 bits → bf16 code in the high 16 bits of each 32-bit lane (the low 16 are not
/// cleared): the integer RNE `x + 0x7FFF + lsb`, the lsb by a test into a mask register
/// and a masked add. NaN is not looked at: a NaN whose low 16 bits are zero keeps its high
/// half (the additions cannot carry), any other may round to Inf.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn bf16_rne(x: __m512i) -> __m512i {
    let odd = _mm512_test_epi32_mask(x, c32(0x1_0000));
    let r = _mm512_add_epi32(x, c32(0x7FFF));
    _mm512_mask_add_epi32(r, odd, r, c32(1))
}

/// [`bf16_rne`] with NaN made quiet (sign and top payload bits kept), for any f32.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn bf16_rne_quiet(x: __m512i) -> __m512i {
    _mm512_mask_or_epi32(bf16_rne(x), nan32(x), x, c32(0x0040_0000))
}

/// The codes in the high halves of `even` and `odd` (laid out as `load` does), back in
/// element order: the even codes shifted down into the low halves, the odd ones kept in
/// the high halves by a 16-bit blend.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn join16(even: __m512i, odd: __m512i) -> __m512i {
    _mm512_mask_blend_epi16(0xAAAA_AAAA, _mm512_srli_epi32::<16>(even), odd)
}

/// 32 f16 codes: two vectors rounded by [`f16_narrow`], in order.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn f16_pack(lo: __m512i, hi: __m512i) -> __m512i {
    _mm512_inserti64x4::<1>(_mm512_castsi256_si512(f16_narrow(lo)), f16_narrow(hi))
}

/// 16-bit float codes whose magnitude is above `inf` (NaN) become `nan`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn canon16(c: __m512i, inf: i16, nan: i16) -> __m512i {
    let abs = _mm512_and_si512(c, _mm512_set1_epi16(0x7FFF));
    let is_nan = _mm512_cmpgt_epu16_mask(abs, _mm512_set1_epi16(inf));
    _mm512_mask_mov_epi16(c, is_nan, _mm512_set1_epi16(nan))
}

/// f32 bits → FP8 code in each 32-bit lane (see the module docs).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn fp8_rne<const F: u8>(x: __m512i, sat: bool) -> __m512i {
    // (minimum normal, magic, rounding bias subtracted, max finite, overflow, NaN code)
    let (min_normal, magic, rebias, max_finite, overflow, nan_code) = if F == E4M3 {
        (0x3C80_0000, 0x4680_0000, 120 << 3, 0x7E, 0x7F, 0x7F)
    } else {
        (0x3880_0000, 0x4300_0000, 112 << 2, 0x7B, 0x7C, 0x7E)
    };
    let abs = _mm512_and_si512(x, c32(0x7FFF_FFFF));
    let sign = _mm512_and_si512(_mm512_srli_epi32::<24>(x), c32(0x80));
    let normal = if F == E4M3 {
        let lsb = _mm512_and_si512(_mm512_srli_epi32::<20>(abs), c32(1));
        let r = _mm512_add_epi32(_mm512_add_epi32(abs, c32(0x7_FFFF)), lsb);
        _mm512_sub_epi32(_mm512_srli_epi32::<20>(r), c32(rebias))
    } else {
        let lsb = _mm512_and_si512(_mm512_srli_epi32::<21>(abs), c32(1));
        let r = _mm512_add_epi32(_mm512_add_epi32(abs, c32(0xF_FFFF)), lsb);
        _mm512_sub_epi32(_mm512_srli_epi32::<21>(r), c32(rebias))
    };
    let m = c32(magic);
    let sub = _mm512_sub_epi32(si(_mm512_add_ps(ps(abs), ps(m))), m);
    let code = _mm512_mask_blend_epi32(_mm512_cmplt_epu32_mask(abs, c32(min_normal)), normal, sub);
    let over = _mm512_cmpgt_epi32_mask(code, c32(max_finite));
    let code = _mm512_mask_mov_epi32(code, over, c32(if sat { max_finite } else { overflow }));
    let code = _mm512_mask_mov_epi32(code, nan32(x), c32(nan_code));
    _mm512_or_si512(code, sign)
}

/// Accumulator lanes → one output step (rounded once for the narrow floats).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn store<const F: u8>(v: V4, sat: bool, b: &mut [u8]) {
    store_nt::<F>(v, sat, b, false);
}

/// [`store`], with non-temporal stores where `nt` and the vector is aligned. `b` is a whole
/// step, or shorter for a tail (then only its bytes are written).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn store_nt<const F: u8>(v: V4, sat: bool, b: &mut [u8], nt: bool) {
    match F {
        F16 => {
            for h in 0..2 {
                st_nt(b, 64 * h, f16_pack(v[2 * h], v[2 * h + 1]), nt);
            }
        }
        BF16 => {
            // The lanes are in `load`'s order (even, odd).
            for h in 0..2 {
                let (even, odd) = (v[2 * h], v[2 * h + 1]);
                st_nt(
                    b,
                    64 * h,
                    join16(bf16_rne_quiet(even), bf16_rne_quiet(odd)),
                    nt,
                );
            }
        }
        E4M3 | E5M2 => {
            let c = [
                fp8_rne::<F>(v[0], sat),
                fp8_rne::<F>(v[1], sat),
                fp8_rne::<F>(v[2], sat),
                fp8_rne::<F>(v[3], sat),
            ];
            // Per 128-bit lane `l`: codes 4l..4l+4 of c[0], then of c[1], c[2], c[3]; the
            // permute puts each vector's 16 codes together.
            let p = _mm512_packus_epi16(
                _mm512_packus_epi32(c[0], c[1]),
                _mm512_packus_epi32(c[2], c[3]),
            );
            let order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
            st_nt(b, 0, _mm512_permutexvar_epi32(order, p), nt);
        }
        _ => {
            for (k, v) in v.into_iter().enumerate() {
                st_nt(b, 64 * k, v, nt);
            }
        }
    }
}

/// `store_nt(settle(v))` for the fused kernel, with the NaN of the 16-bit floats settled
/// on the codes: 3 operations per 32 elements instead of per 16.
/// - f16 SUM, PROD and AVG: `vcvtps2ph` turns every NaN into a NaN code (the quiet bit is
///   set), which then becomes the canonical 0x7E00.
/// - bf16 SUM, PROD and AVG: every NaN lane has its low 16 bits zero. The inputs widen to
///   f32 with zero low halves, and an IEEE addition or multiplication returns one of its
///   NaN operands (made quiet) or the default NaN, whose low halves are zero too; x86 does
///   that, and Rust's NaN rules (which Miri follows) allow nothing else. So the plain RNE
///   keeps a NaN a NaN code, which then becomes the canonical 0x7FC0.
/// - f16, bf16 and FP8 MIN and MAX: left to the store, whose conversions make a NaN quiet.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn store_settled<const F: u8, const OP: u8>(v: V4, sat: bool, b: &mut [u8], nt: bool) {
    if F == BF16 && matches!(OP, SUM | PROD | AVG) {
        for h in 0..2 {
            let c = join16(bf16_rne(v[2 * h]), bf16_rne(v[2 * h + 1]));
            st_nt(b, 64 * h, canon16(c, 0x7F80, 0x7FC0), nt);
        }
    } else if F == F16 && matches!(OP, SUM | PROD | AVG) {
        for h in 0..2 {
            let c = f16_pack(v[2 * h], v[2 * h + 1]);
            st_nt(b, 64 * h, canon16(c, 0x7C00, 0x7E00), nt);
        }
    } else if narrow(F) && matches!(OP, MIN | MAX) {
        store_nt::<F>(v, sat, b, nt);
    } else {
        store_nt::<F>(settle::<F, OP>(v), sat, b, nt);
    }
}

/// Indices that gather the even 32-bit lanes, then the odd ones.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn evens_then_odds() -> __m512i {
    _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15)
}

/// bf16 accumulator lanes from element order (f32 `0..16`, `16..32` of each 32) to
/// `load`'s (the even elements, then the odd): each vector's evens and odds gathered into
/// its halves, then the halves paired across the two vectors.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn bf16_split(v: V4) -> V4 {
    let mut out = v;
    for h in 0..2 {
        let a = _mm512_permutexvar_epi32(evens_then_odds(), v[2 * h]);
        let b = _mm512_permutexvar_epi32(evens_then_odds(), v[2 * h + 1]);
        out[2 * h] = _mm512_shuffle_i64x2::<0b01_00_01_00>(a, b);
        out[2 * h + 1] = _mm512_shuffle_i64x2::<0b11_10_11_10>(a, b);
    }
    out
}

/// [`bf16_split`] undone: `load`'s order back to element order.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn bf16_merge(v: V4) -> V4 {
    let mut out = v;
    let interleave = _mm512_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
    for h in 0..2 {
        let (even, odd) = (v[2 * h], v[2 * h + 1]);
        let a = _mm512_shuffle_i64x2::<0b01_00_01_00>(even, odd);
        let b = _mm512_shuffle_i64x2::<0b11_10_11_10>(even, odd);
        out[2 * h] = _mm512_permutexvar_epi32(interleave, a);
        out[2 * h + 1] = _mm512_permutexvar_epi32(interleave, b);
    }
    out
}

/// Accumulator step from an accumulator slice (f32 lanes for the narrow floats).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn load_acc<const F: u8>(b: &[u8]) -> V4 {
    if !narrow(F) {
        return load::<F>(b);
    }
    let raw = [ld(b, 0), ld(b, 64), ld(b, 128), ld(b, 192)];
    if F == BF16 { bf16_split(raw) } else { raw }
}

/// Accumulator step to an accumulator slice (element order for bf16).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn store_acc<const F: u8>(v: V4, b: &mut [u8]) {
    let v = if F == BF16 { bf16_merge(v) } else { v };
    if narrow(F) {
        for (k, v) in v.into_iter().enumerate() {
            st(b, 64 * k, v);
        }
    } else {
        store::<F>(v, false, b);
    }
}

/// Per-input preparation: AVG scaling, logical 0/1. (MIN and MAX need none: their NaN
/// is made quiet when the result is settled.)
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn prep<const F: u8, const OP: u8>(mut x: V4, k: &K) -> V4 {
    for v in &mut x {
        *v = if lanes_f32(F) {
            match OP {
                AVG => si(_mm512_mul_ps(ps(*v), k.s32)),
                _ => *v,
            }
        } else if F == F64 {
            match OP {
                AVG => sid(_mm512_mul_pd(pd(*v), k.s64)),
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
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn nonzero<const F: u8>(x: __m512i) -> __m512i {
    match F {
        U8 | I8 => _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(x, x), _mm512_set1_epi8(1)),
        U16 | I16 => _mm512_maskz_mov_epi16(_mm512_test_epi16_mask(x, x), _mm512_set1_epi16(1)),
        U32 | I32 => _mm512_maskz_mov_epi32(_mm512_test_epi32_mask(x, x), c32(1)),
        _ => _mm512_maskz_mov_epi64(_mm512_test_epi64_mask(x, x), c64(1)),
    }
}

/// `a op b` over one step.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn comb<const F: u8, const OP: u8>(mut a: V4, b: V4) -> V4 {
    for (a, b) in a.iter_mut().zip(b) {
        *a = if lanes_f32(F) {
            comb_ps::<OP>(*a, b)
        } else if F == F64 {
            comb_pd::<OP>(*a, b)
        } else {
            comb_int::<F, OP>(*a, b)
        };
    }
    a
}

/// The MIN (`MAX == false`) or MAX order key of f32 lanes (see the module docs): the
/// totalOrder key `x ^ (sign ? 0x7FFF_FFFF : 0)`, moved by the mantissa mask so that the
/// NaN keys wrap around to the far end, and clamped there to one value.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn key32<const MAX: bool>(x: __m512i) -> __m512i {
    let flip = _mm512_and_si512(_mm512_srai_epi32::<31>(x), c32(0x7FFF_FFFF));
    let k = _mm512_xor_si512(x, flip);
    if MAX {
        // NaN keys from 0x7F00_0002 up; +Inf is 0x7F00_0001.
        _mm512_min_epi32(_mm512_sub_epi32(k, c32(0x7F_FFFF)), c32(0x7F00_0002))
    } else {
        // NaN keys up to 0x80FF_FFFD; −Inf is 0x80FF_FFFE.
        _mm512_max_epi32(_mm512_add_epi32(k, c32(0x7F_FFFF)), c32(0x80FF_FFFD))
    }
}

/// [`key32`] for f64 lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn key64<const MAX: bool>(x: __m512i) -> __m512i {
    let flip = _mm512_and_si512(_mm512_srai_epi64::<63>(x), c64(0x7FFF_FFFF_FFFF_FFFF));
    let k = _mm512_xor_si512(x, flip);
    let m = c64(0x000F_FFFF_FFFF_FFFF);
    if MAX {
        _mm512_min_epi64(_mm512_sub_epi64(k, m), c64(0x7FE0_0000_0000_0002))
    } else {
        _mm512_max_epi64(_mm512_add_epi64(k, m), c64(0x801F_FFFF_FFFF_FFFD))
    }
}

/// `a op b` on f32 lanes: IEEE add or multiply (no FMA), or the MIN/MAX key compare and a
/// masked move.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn comb_ps<const OP: u8>(a: __m512i, b: __m512i) -> __m512i {
    match OP {
        SUM | AVG => si(_mm512_add_ps(ps(a), ps(b))),
        PROD => si(_mm512_mul_ps(ps(a), ps(b))),
        // IEEE minimum/maximum: `b` replaces `a` only where its key is strictly better.
        MIN => _mm512_mask_mov_epi32(
            a,
            _mm512_cmplt_epi32_mask(key32::<false>(b), key32::<false>(a)),
            b,
        ),
        MAX => _mm512_mask_mov_epi32(
            a,
            _mm512_cmpgt_epi32_mask(key32::<true>(b), key32::<true>(a)),
            b,
        ),
        _ => a,
    }
}

/// [`comb_ps`] on f64 lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn comb_pd<const OP: u8>(a: __m512i, b: __m512i) -> __m512i {
    match OP {
        SUM | AVG => sid(_mm512_add_pd(pd(a), pd(b))),
        PROD => sid(_mm512_mul_pd(pd(a), pd(b))),
        MIN => _mm512_mask_mov_epi64(
            a,
            _mm512_cmplt_epi64_mask(key64::<false>(b), key64::<false>(a)),
            b,
        ),
        MAX => _mm512_mask_mov_epi64(
            a,
            _mm512_cmpgt_epi64_mask(key64::<true>(b), key64::<true>(a)),
            b,
        ),
        _ => a,
    }
}

/// `a op b` on integer lanes, wrapping; every operation is one instruction of AVX-512F, BW
/// or DQ (`vpmullq` for 64-bit PROD, 64-bit MIN/MAX native), but 8-bit PROD: two 16-bit
/// multiplies, of the even and of the odd bytes, joined by a byte blend.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn comb_int<const F: u8, const OP: u8>(a: __m512i, b: __m512i) -> __m512i {
    match OP {
        SUM | AVG => match F {
            U8 | I8 => _mm512_add_epi8(a, b),
            U16 | I16 => _mm512_add_epi16(a, b),
            U32 | I32 => _mm512_add_epi32(a, b),
            _ => _mm512_add_epi64(a, b),
        },
        PROD => match F {
            U8 | I8 => {
                // Low bytes of the 16-bit products of the even and of the odd bytes.
                let even = _mm512_mullo_epi16(a, b);
                let odd = _mm512_mullo_epi16(_mm512_srli_epi16::<8>(a), _mm512_srli_epi16::<8>(b));
                _mm512_mask_blend_epi8(0xAAAA_AAAA_AAAA_AAAA, even, _mm512_slli_epi16::<8>(odd))
            }
            U16 | I16 => _mm512_mullo_epi16(a, b),
            U32 | I32 => _mm512_mullo_epi32(a, b),
            _ => _mm512_mullo_epi64(a, b),
        },
        MIN => match F {
            U8 => _mm512_min_epu8(a, b),
            I8 => _mm512_min_epi8(a, b),
            U16 => _mm512_min_epu16(a, b),
            I16 => _mm512_min_epi16(a, b),
            U32 => _mm512_min_epu32(a, b),
            I32 => _mm512_min_epi32(a, b),
            U64 => _mm512_min_epu64(a, b),
            _ => _mm512_min_epi64(a, b),
        },
        MAX => match F {
            U8 => _mm512_max_epu8(a, b),
            I8 => _mm512_max_epi8(a, b),
            U16 => _mm512_max_epu16(a, b),
            I16 => _mm512_max_epi16(a, b),
            U32 => _mm512_max_epu32(a, b),
            I32 => _mm512_max_epi32(a, b),
            U64 => _mm512_max_epu64(a, b),
            _ => _mm512_max_epi64(a, b),
        },
        BAND | LAND => _mm512_and_si512(a, b),
        BOR | LOR => _mm512_or_si512(a, b),
        BXOR | LXOR => _mm512_xor_si512(a, b),
        _ => a,
    }
}

/// The result of SUM, PROD and AVG: a NaN lane becomes the canonical quiet NaN. MIN and
/// MAX: a NaN lane is made quiet (sign and payload kept).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn settle<const F: u8, const OP: u8>(mut x: V4) -> V4 {
    if !matches!(OP, SUM | PROD | AVG | MIN | MAX) {
        return x;
    }
    let canon = matches!(OP, SUM | PROD | AVG);
    for v in &mut x {
        if lanes_f32(F) {
            let nan = nan32(*v);
            *v = if canon {
                _mm512_mask_mov_epi32(*v, nan, c32(0x7FC0_0000))
            } else {
                _mm512_mask_or_epi32(*v, nan, *v, c32(0x0040_0000))
            };
        } else if F == F64 {
            let nan = nan64(*v);
            *v = if canon {
                _mm512_mask_mov_epi64(*v, nan, c64(0x7FF8_0000_0000_0000))
            } else {
                _mm512_mask_or_epi64(*v, nan, *v, c64(0x0008_0000_0000_0000))
            };
        }
    }
    x
}

/// Outputs of at least this many bytes are written with non-temporal stores (see `Avx2`).
const NT_MIN_BYTES: usize = 16 << 20;

/// How far ahead of the step being combined the fused kernel prefetches each input into
/// L1 (bytes), for `inputs` inputs; 0: no prefetch. About 8 KiB in flight in all. In a
/// stand-alone model of the loop with 4 inputs of 256 KiB (in L2), f32 SUM went from about
/// 1.05 to 1.2 times the naive fused loop's speed and bf16 SUM from 2.2 to 2.5 times (best
/// of 200 interleaved runs); with 8 inputs 1 KiB ahead beat 2 KiB; with 16 inputs (beyond
/// L2) every distance cost about 10 %, so there are none from 9 inputs on.
const fn prefetch_distance(inputs: usize) -> usize {
    if inputs > 8 { 0 } else { (8192 / inputs) & !63 }
}

/// Prefetches into L1 the lines of `b[at..at + len]` (which may be past its end: a
/// prefetch is only a hint and never faults), when `ahead` is not 0.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn prefetch(b: &[u8], at: usize, len: usize, ahead: usize) {
    if ahead > 0 {
        for line in (0..len).step_by(64) {
            _mm_prefetch::<_MM_HINT_T0>(b.as_ptr().wrapping_add(at + line).cast());
        }
    }
}

/// The fused N-input kernel (see the module docs): per step, input 0 into four 512-bit
/// accumulators, every further input combined into them in input order, the result settled
/// and stored once. `in_place`: `out` is input 0.
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
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
    // A large output is written around the caches, from its first 64-byte aligned byte on
    // (the bytes before it, fewer than a step, go the tail's way); every step is a multiple
    // of 64 bytes, so every whole store after that is aligned. (A byte-level output that
    // is not aligned to its element size never reaches an aligned element: ordinary stores.)
    let head = out.as_ptr().align_offset(64).min(len);
    let nt = len >= NT_MIN_BYTES && head.is_multiple_of(elem_size(F));
    let head = if nt { head } else { 0 };
    if head > 0 {
        fused_part::<F, OP, T>(&k, inputs, others, out, in_place, 0, head);
    }
    let full = head + (len - head) / s * s;
    let ahead = prefetch_distance(others.len() + 1);
    let mut off = head;
    while off + 2 * s <= full {
        fused_steps::<F, OP, 2, T>(&k, inputs, others, out, in_place, off, ahead, nt);
        off += 2 * s;
    }
    if off < full {
        fused_steps::<F, OP, 1, T>(&k, inputs, others, out, in_place, off, ahead, nt);
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

/// `W` consecutive whole steps of [`fused`] from `off`, each input's `W` steps loaded one
/// after the other: the loop's own work per input (its slice and bounds check, the
/// prefetch) is shared by `W` steps: with `W` = 2, bf16 SUM of 4 inputs took about a fifth
/// less time than with 1 (4 was no better than 2).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
#[expect(
    clippy::too_many_arguments,
    reason = "the kernel's state, passed down once"
)]
fn fused_steps<const F: u8, const OP: u8, const W: usize, T: Element>(
    k: &K,
    inputs: &[&[T]],
    others: &[&[T]],
    out: &mut [u8],
    in_place: bool,
    off: usize,
    ahead: usize,
    nt: bool,
) {
    let s = step(F);
    let span = W * s;
    let mut acc = [[_mm512_setzero_si512(); 4]; W];
    {
        let x0 = if in_place { &*out } else { bytes_of(inputs[0]) };
        prefetch(x0, off + ahead, span, ahead);
        let x0 = &x0[off..off + span];
        for (w, a) in acc.iter_mut().enumerate() {
            *a = prep::<F, OP>(load::<F>(&x0[w * s..(w + 1) * s]), k);
        }
    }
    for x in others {
        let x = bytes_of(x);
        prefetch(x, off + ahead, span, ahead);
        let x = &x[off..off + span];
        for (w, a) in acc.iter_mut().enumerate() {
            *a = comb::<F, OP>(*a, prep::<F, OP>(load::<F>(&x[w * s..(w + 1) * s]), k));
        }
    }
    let out = &mut out[off..off + span];
    for (w, a) in acc.into_iter().enumerate() {
        store_settled::<F, OP>(a, k.sat, &mut out[w * s..(w + 1) * s], nt);
    }
}

/// [`fused`] on `out[from..to]`, less than a step: the same code on slices shorter than a
/// step, so the loads past `to` are masked off (zero lanes) and only `to - from` bytes are
/// stored.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn fused_part<const F: u8, const OP: u8, T: Element>(
    k: &K,
    inputs: &[&[T]],
    others: &[&[T]],
    out: &mut [u8],
    in_place: bool,
    from: usize,
    to: usize,
) {
    let x0 = if in_place {
        load::<F>(&out[from..to])
    } else {
        load::<F>(&bytes_of(inputs[0])[from..to])
    };
    let mut acc = prep::<F, OP>(x0, k);
    for x in others {
        acc = comb::<F, OP>(acc, prep::<F, OP>(load::<F>(&bytes_of(x)[from..to]), k));
    }
    store_settled::<F, OP>(acc, k.sat, &mut out[from..to], false);
}

super::driver::drivers!("avx512f,avx512bw,avx512dq", 256);

#[cfg(all(test, not(miri)))]
mod tests {
    use core::arch::x86_64::{
        _MM_FROUND_NO_EXC, _MM_FROUND_TO_NEAREST_INT, _mm512_add_epi32, _mm512_cmpeq_epi32_mask,
        _mm512_cvtepu16_epi32, _mm512_cvtph_ps, _mm512_cvtps_ph, _mm512_set1_epi32,
        _mm512_setr_epi32,
    };

    /// Runs `f` where the CPU has the backend's features; says so where it has not.
    fn on_avx512(name: &str, f: impl FnOnce()) {
        if crate::detect::avx512() {
            f();
        } else {
            std::eprintln!("{name}: skipped, no AVX-512F/BW/DQ here");
        }
    }

    /// The integer f16 → f32 conversion (Miri's) equals `vcvtph2ps` on every f16 code.
    #[test]
    fn integer_f16_widen_matches_vcvtph2ps() {
        #[target_feature(enable = "avx512f,avx512bw,avx512dq")]
        fn check() {
            let mut codes = [0u8; 32];
            for base in (0..=u16::MAX).step_by(16) {
                for (c, i) in codes.chunks_exact_mut(2).zip(base..=base + 15) {
                    c.copy_from_slice(&i.to_le_bytes());
                }
                let h = super::ld256(&codes, 0);
                let (got, want) = (super::f16_widen_int(h), super::si(_mm512_cvtph_ps(h)));
                assert_eq!(
                    _mm512_cmpeq_epi32_mask(got, want),
                    u16::MAX,
                    "codes from {base:#06x}"
                );
            }
        }
        // SAFETY: `on_avx512` runs it only where the CPU has the features.
        on_avx512("f16 widen", || unsafe { check() });
    }

    /// The integer f32 → f16 rounding (Miri's) equals `vcvtps2ph` on every f32 pattern.
    #[test]
    fn integer_f16_narrow_matches_vcvtps2ph() {
        #[target_feature(enable = "avx512f,avx512bw,avx512dq")]
        fn check() {
            let lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            for base in (0..=u32::MAX).step_by(16) {
                let x = _mm512_add_epi32(lanes, _mm512_set1_epi32(base.cast_signed()));
                let got = super::f16_narrow_int(x);
                let want = _mm512_cvtps_ph::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
                    super::ps(x),
                );
                assert_eq!(
                    _mm512_cmpeq_epi32_mask(
                        _mm512_cvtepu16_epi32(got),
                        _mm512_cvtepu16_epi32(want)
                    ),
                    u16::MAX,
                    "f32 patterns from {base:#010x}"
                );
            }
        }
        // SAFETY: `on_avx512` runs it only where the CPU has the features.
        on_avx512("f16 narrow", || unsafe { check() });
    }
}
