//! aarch64 (little-endian) with NEON.
//!
//! The same kernel as the `Avx2` backend on 128-bit vectors: per step of 16 elements (f16,
//! bf16, FP8) or 64 bytes (everything else), input 0 is loaded into four accumulators, each
//! further input is combined into them in input order, and the result is stored (rounded
//! once for the narrow floats). No FMA; MIN/MAX by compare and bit-select (never `fmin` /
//! `fminnm`, whose NaN rules differ from each other and from x86).
//!
//! Conversions, exact and equal to [`crate::convert`]: f16 ↔ f32 with `fcvtl` / `fcvtn`
//! (round to nearest even under the default FPCR; NaN quieted with its payload kept, as
//! `half` does); bf16 by shifts and the integer RNE; FP8 through f16 bit patterns on the way
//! in and the integer RNE plus the subnormal "magic add" on the way out (see `avx2.rs`).

use core::arch::aarch64::{
    float32x4_t, uint8x16_t, uint16x8_t, uint32x4_t, uint64x2_t, vabsq_f32, vaddq_f32, vaddq_f64,
    vaddq_u8, vaddq_u16, vaddq_u32, vaddq_u64, vandq_u16, vandq_u32, vbslq_u32, vbslq_u64,
    vceqq_f32, vceqq_f64, vcgtq_f32, vcgtq_f64, vcgtq_s64, vcgtq_u32, vcgtq_u64, vcltq_f32,
    vcltq_f64, vcombine_u8, vcombine_u16, vcvt_f16_f32, vcvt_f32_f16, vdupq_n_f32, vdupq_n_f64,
    vdupq_n_u8, vdupq_n_u16, vdupq_n_u32, vdupq_n_u64, veorq_u32, vget_high_u8, vget_high_u16,
    vget_low_u8, vget_low_u16, vld1q_u8, vmaxq_s8, vmaxq_s16, vmaxq_s32, vmaxq_u8, vmaxq_u16,
    vmaxq_u32, vminq_s8, vminq_s16, vminq_s32, vminq_u8, vminq_u16, vminq_u32, vmovl_u8, vmovn_u16,
    vmovn_u32, vmovn_u64, vmull_u32, vmulq_f32, vmulq_f64, vmulq_u8, vmulq_u16, vmulq_u32,
    vmvnq_u32, vorrq_u16, vorrq_u32, vreinterpret_f16_u16, vreinterpret_u16_f16,
    vreinterpretq_f32_u32, vreinterpretq_f64_u32, vreinterpretq_s8_u32, vreinterpretq_s16_u32,
    vreinterpretq_s32_u32, vreinterpretq_s64_u32, vreinterpretq_u8_u32, vreinterpretq_u16_u32,
    vreinterpretq_u32_f32, vreinterpretq_u32_f64, vreinterpretq_u32_s8, vreinterpretq_u32_s16,
    vreinterpretq_u32_s32, vreinterpretq_u32_u8, vreinterpretq_u32_u16, vreinterpretq_u32_u64,
    vreinterpretq_u64_u32, vshll_n_u16, vshlq_n_u16, vshlq_n_u64, vshrn_n_u64, vshrq_n_u32,
    vst1q_u8, vsubq_u32, vtstq_u8, vtstq_u16, vtstq_u32, vtstq_u64,
};

use crate::backend::scalar;
use crate::engine::{Job, Phase};
use crate::types::Params;
use crate::{Backend, DType, Element, Op, Reducer};

/// aarch64 with NEON. Construct with [`Neon::new`], which checks the CPU.
#[derive(Clone, Copy, Debug)]
pub struct Neon {
    _checked: (),
}

impl Neon {
    /// `Some` if this CPU has every feature in [`Backend::Neon`]'s
    /// [`features`](Backend::features).
    pub fn new() -> Option<Self> {
        crate::detect::neon().then_some(Self { _checked: () })
    }

    /// # Safety
    /// The CPU must support NEON (every AArch64 CPU does; Miri does not).
    pub const unsafe fn new_unchecked() -> Self {
        Self { _checked: () }
    }
}

impl Reducer for Neon {
    fn backend(&self) -> Backend {
        Backend::Neon
    }

    fn fused<T: Element>(&self, job: &Job, inputs: &[&[T]], out: &mut [T], in_place: bool) {
        // SAFETY: a `Neon` exists only on a CPU with NEON.
        let done = unsafe { fused_typed(job, inputs, out, in_place) };
        if !done {
            scalar::fused(job, inputs, out, in_place);
        }
    }

    fn fused_bytes(&self, job: &Job, inputs: &[&[u8]], out: &mut [u8], in_place: bool) {
        // SAFETY: a `Neon` exists only on a CPU with NEON.
        let done = unsafe { fused_le(job, inputs, out, in_place) };
        if !done {
            crate::Scalar.fused_bytes(job, inputs, out, in_place);
        }
    }

    fn stream<T: Element>(&self, job: &Job, phase: Phase<'_, T>) {
        // SAFETY: a `Neon` exists only on a CPU with NEON.
        let done = unsafe { stream_any(job, phase) };
        debug_assert!(done, "every validated streaming job has a kernel");
    }
}

/// The bytes of an element slice (little-endian: this backend is compiled only there).
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

/// Input bytes per step: 16 elements for the narrow floats, 64 bytes otherwise.
const fn step(f: u8) -> usize {
    match f {
        F16 | BF16 => 32,
        E4M3 | E5M2 => 16,
        _ => 64,
    }
}

/// Whether the format accumulates in f32 lanes (f32 itself and the narrow floats).
const fn lanes_f32(f: u8) -> bool {
    matches!(f, F16 | BF16 | F32 | E4M3 | E5M2)
}

const fn narrow(f: u8) -> bool {
    matches!(f, F16 | BF16 | E4M3 | E5M2)
}

/// Accumulator bytes per step: 16 f32 for the narrow floats, else the input step.
const fn acc_step(f: u8) -> usize {
    if narrow(f) { 64 } else { step(f) }
}

/// Four 128-bit accumulators: one step (lane width per format, carried as `u32x4`).
type V4 = [uint32x4_t; 4];

/// Per-call constants.
#[derive(Clone, Copy)]
struct K {
    s32: float32x4_t,
    s64: f64,
    sat: bool,
}

#[inline]
#[target_feature(enable = "neon")]
fn konst(p: &Params) -> K {
    K {
        s32: vdupq_n_f32(p.scale32),
        s64: p.scale64,
        sat: p.sat,
    }
}

#[inline]
#[target_feature(enable = "neon")]
fn ld(b: &[u8]) -> uint8x16_t {
    let b = &b[..16];
    // SAFETY: `b` is 16 readable bytes (bounds-checked above); `ld1` has no alignment
    // requirement for byte elements.
    unsafe { vld1q_u8(b.as_ptr()) }
}

#[inline]
#[target_feature(enable = "neon")]
fn st(b: &mut [u8], v: uint8x16_t) {
    let b = &mut b[..16];
    // SAFETY: `b` is 16 writable bytes (bounds-checked above).
    unsafe { vst1q_u8(b.as_mut_ptr(), v) }
}

#[inline]
#[target_feature(enable = "neon")]
fn f(v: uint32x4_t) -> float32x4_t {
    vreinterpretq_f32_u32(v)
}

#[inline]
#[target_feature(enable = "neon")]
fn u(v: float32x4_t) -> uint32x4_t {
    vreinterpretq_u32_f32(v)
}

/// NaN mask of f32 lanes.
#[inline]
#[target_feature(enable = "neon")]
fn nan32(x: float32x4_t) -> uint32x4_t {
    vmvnq_u32(vceqq_f32(x, x))
}

/// The canonical decoded FP8 NaN: `x`'s sign plus 0x7FC0_0000 where `nan`, else `x`.
#[inline]
#[target_feature(enable = "neon")]
fn fp8_nan(x: uint32x4_t, nan: uint32x4_t) -> uint32x4_t {
    let q = vorrq_u32(
        vandq_u32(x, vdupq_n_u32(0x8000_0000)),
        vdupq_n_u32(0x7FC0_0000),
    );
    vbslq_u32(nan, q, x)
}

/// f16 bit patterns (eight lanes) → two f32x4.
#[inline]
#[target_feature(enable = "neon")]
fn widen_f16(h: uint16x8_t) -> [uint32x4_t; 2] {
    [
        u(vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(h)))),
        u(vcvt_f32_f16(vreinterpret_f16_u16(vget_high_u16(h)))),
    ]
}

/// One input step → accumulator lanes (f32 for the narrow floats).
#[inline]
#[target_feature(enable = "neon")]
fn load<const F: u8>(b: &[u8]) -> V4 {
    let z = vdupq_n_u32(0);
    let mut v = [z; 4];
    match F {
        F16 => {
            for h in 0..2 {
                let [lo, hi] = widen_f16(vreinterpretq_u16_u32(vreinterpretq_u32_u8(ld(
                    &b[16 * h..]
                ))));
                v[2 * h] = lo;
                v[2 * h + 1] = hi;
            }
        }
        BF16 => {
            for h in 0..2 {
                let x = vreinterpretq_u16_u32(vreinterpretq_u32_u8(ld(&b[16 * h..])));
                v[2 * h] = vshll_n_u16::<16>(vget_low_u16(x));
                v[2 * h + 1] = vshll_n_u16::<16>(vget_high_u16(x));
            }
        }
        E4M3 | E5M2 => {
            let x = ld(b);
            for (h, bytes) in [vget_low_u8(x), vget_high_u8(x)].into_iter().enumerate() {
                let w = vmovl_u8(bytes);
                let bits = if F == E5M2 {
                    vshlq_n_u16::<8>(w)
                } else {
                    vorrq_u16(
                        vshlq_n_u16::<7>(vandq_u16(w, vdupq_n_u16(0x7F))),
                        vshlq_n_u16::<8>(vandq_u16(w, vdupq_n_u16(0x80))),
                    )
                };
                for (i, x) in widen_f16(bits).into_iter().enumerate() {
                    v[2 * h + i] = if F == E5M2 {
                        fp8_nan(x, nan32(f(x)))
                    } else {
                        // 0x7F as f16 bits << 7 is 1.875 × 2^-8: 480 after scaling, which no
                        // E4M3 value is; it marks NaN.
                        let s = vmulq_f32(f(x), vdupq_n_f32(256.0));
                        fp8_nan(u(s), vceqq_f32(vabsq_f32(s), vdupq_n_f32(480.0)))
                    };
                }
            }
        }
        _ => {
            for (k, v) in v.iter_mut().enumerate() {
                *v = vreinterpretq_u32_u8(ld(&b[16 * k..]));
            }
        }
    }
    v
}

/// f32 bits → bf16 code in each 32-bit lane: integer RNE, NaN made quiet.
#[inline]
#[target_feature(enable = "neon")]
fn bf16_rne(x: uint32x4_t) -> uint32x4_t {
    let lsb = vandq_u32(vshrq_n_u32::<16>(x), vdupq_n_u32(1));
    let r = vshrq_n_u32::<16>(vaddq_u32(vaddq_u32(x, vdupq_n_u32(0x7FFF)), lsb));
    let abs = vandq_u32(x, vdupq_n_u32(0x7FFF_FFFF));
    let nan = vcgtq_u32(abs, vdupq_n_u32(0x7F80_0000));
    let q = vorrq_u32(vshrq_n_u32::<16>(x), vdupq_n_u32(0x40));
    vbslq_u32(nan, q, r)
}

/// f32 bits → FP8 code in each 32-bit lane (see `avx2.rs`).
#[inline]
#[target_feature(enable = "neon")]
fn fp8_rne<const F: u8>(x: uint32x4_t, sat: bool) -> uint32x4_t {
    let (min_normal, magic, rebias, max_finite, overflow, nan_code) = if F == E4M3 {
        (0x3C80_0000, 0x4680_0000, 120 << 3, 0x7E, 0x7F, 0x7F)
    } else {
        (0x3880_0000, 0x4300_0000, 112 << 2, 0x7B, 0x7C, 0x7E)
    };
    let abs = vandq_u32(x, vdupq_n_u32(0x7FFF_FFFF));
    let sign = vandq_u32(vshrq_n_u32::<24>(x), vdupq_n_u32(0x80));
    let normal = if F == E4M3 {
        let lsb = vandq_u32(vshrq_n_u32::<20>(abs), vdupq_n_u32(1));
        let r = vaddq_u32(vaddq_u32(abs, vdupq_n_u32(0x7_FFFF)), lsb);
        vsubq_u32(vshrq_n_u32::<20>(r), vdupq_n_u32(rebias))
    } else {
        let lsb = vandq_u32(vshrq_n_u32::<21>(abs), vdupq_n_u32(1));
        let r = vaddq_u32(vaddq_u32(abs, vdupq_n_u32(0xF_FFFF)), lsb);
        vsubq_u32(vshrq_n_u32::<21>(r), vdupq_n_u32(rebias))
    };
    let m = vdupq_n_u32(magic);
    let sub = vsubq_u32(u(vaddq_f32(f(abs), f(m))), m);
    let tiny = vcgtq_u32(vdupq_n_u32(min_normal), abs);
    let code = vbslq_u32(tiny, sub, normal);
    let over = vcgtq_u32(code, vdupq_n_u32(max_finite));
    let big = vdupq_n_u32(if sat { max_finite } else { overflow });
    let code = vbslq_u32(over, big, code);
    let nan = vcgtq_u32(abs, vdupq_n_u32(0x7F80_0000));
    let code = vbslq_u32(nan, vdupq_n_u32(nan_code), code);
    vorrq_u32(code, sign)
}

/// Accumulator lanes → one output step (rounded once for the narrow floats).
#[inline]
#[target_feature(enable = "neon")]
fn store<const F: u8>(v: V4, sat: bool, b: &mut [u8]) {
    match F {
        F16 => {
            for h in 0..2 {
                let lo = vreinterpret_u16_f16(vcvt_f16_f32(f(v[2 * h])));
                let hi = vreinterpret_u16_f16(vcvt_f16_f32(f(v[2 * h + 1])));
                let x = vreinterpretq_u32_u16(vcombine_u16(lo, hi));
                st(&mut b[16 * h..], vreinterpretq_u8_u32(x));
            }
        }
        BF16 => {
            for h in 0..2 {
                let x = vcombine_u16(
                    vmovn_u32(bf16_rne(v[2 * h])),
                    vmovn_u32(bf16_rne(v[2 * h + 1])),
                );
                st(
                    &mut b[16 * h..],
                    vreinterpretq_u8_u32(vreinterpretq_u32_u16(x)),
                );
            }
        }
        E4M3 | E5M2 => {
            let c = [
                vmovn_u32(fp8_rne::<F>(v[0], sat)),
                vmovn_u32(fp8_rne::<F>(v[1], sat)),
                vmovn_u32(fp8_rne::<F>(v[2], sat)),
                vmovn_u32(fp8_rne::<F>(v[3], sat)),
            ];
            let x = vcombine_u8(
                vmovn_u16(vcombine_u16(c[0], c[1])),
                vmovn_u16(vcombine_u16(c[2], c[3])),
            );
            st(b, x);
        }
        _ => {
            for (k, v) in v.into_iter().enumerate() {
                st(&mut b[16 * k..], vreinterpretq_u8_u32(v));
            }
        }
    }
}

/// Accumulator step from an accumulator slice (f32 lanes for the narrow floats).
#[inline]
#[target_feature(enable = "neon")]
fn load_acc<const F: u8>(b: &[u8]) -> V4 {
    if narrow(F) {
        [
            vreinterpretq_u32_u8(ld(b)),
            vreinterpretq_u32_u8(ld(&b[16..])),
            vreinterpretq_u32_u8(ld(&b[32..])),
            vreinterpretq_u32_u8(ld(&b[48..])),
        ]
    } else {
        load::<F>(b)
    }
}

#[inline]
#[target_feature(enable = "neon")]
fn store_acc<const F: u8>(v: V4, b: &mut [u8]) {
    if narrow(F) {
        for (k, v) in v.into_iter().enumerate() {
            st(&mut b[16 * k..], vreinterpretq_u8_u32(v));
        }
    } else {
        store::<F>(v, false, b);
    }
}

/// Per-input preparation: AVG scaling, NaN quieting for MIN/MAX, logical 0/1.
#[inline]
#[target_feature(enable = "neon")]
fn prep<const F: u8, const OP: u8>(mut x: V4, k: &K) -> V4 {
    for v in &mut x {
        *v = if lanes_f32(F) {
            match OP {
                AVG => u(vmulq_f32(f(*v), k.s32)),
                MIN | MAX => {
                    let q = vandq_u32(nan32(f(*v)), vdupq_n_u32(0x0040_0000));
                    vorrq_u32(*v, q)
                }
                _ => *v,
            }
        } else if F == F64 {
            let d = vreinterpretq_f64_u32(*v);
            match OP {
                AVG => vreinterpretq_u32_f64(vmulq_f64(d, vdupq_n_f64(k.s64))),
                MIN | MAX => {
                    let nan = vreinterpretq_u32_u64(vceqq_f64(d, d));
                    let q = vandq_u32(vmvnq_u32(nan), q64(0x0008_0000_0000_0000));
                    vorrq_u32(*v, q)
                }
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

#[inline]
#[target_feature(enable = "neon")]
fn q64(x: u64) -> uint32x4_t {
    vreinterpretq_u32_u64(vdupq_n_u64(x))
}

/// 1 in each lane that is non-zero, 0 elsewhere.
#[inline]
#[target_feature(enable = "neon")]
fn nonzero<const F: u8>(x: uint32x4_t) -> uint32x4_t {
    match F {
        U8 | I8 => {
            let b = vreinterpretq_u8_u32(x);
            vreinterpretq_u32_u8(vandq_u8_(vtstq_u8(b, b), vdupq_n_u8(1)))
        }
        U16 | I16 => {
            let h = vreinterpretq_u16_u32(x);
            vreinterpretq_u32_u16(vandq_u16(vtstq_u16(h, h), vdupq_n_u16(1)))
        }
        U32 | I32 => vandq_u32(vtstq_u32(x, x), vdupq_n_u32(1)),
        _ => {
            let d = vreinterpretq_u64_u32(x);
            vandq_u32(vreinterpretq_u32_u64(vtstq_u64(d, d)), q64(1))
        }
    }
}

#[inline]
#[target_feature(enable = "neon")]
fn vandq_u8_(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
    vreinterpretq_u8_u32(vandq_u32(vreinterpretq_u32_u8(a), vreinterpretq_u32_u8(b)))
}

/// `a op b` over one step.
#[inline]
#[target_feature(enable = "neon")]
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

#[inline]
#[target_feature(enable = "neon")]
fn comb_ps<const OP: u8>(a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
    let (fa, fb) = (f(a), f(b));
    match OP {
        SUM | AVG => u(vaddq_f32(fa, fb)),
        PROD => u(vmulq_f32(fa, fb)),
        MIN | MAX => {
            let (better, merged) = if OP == MIN {
                (vcltq_f32(fb, fa), vorrq_u32(a, b))
            } else {
                (vcgtq_f32(fb, fa), vandq_u32(a, b))
            };
            let r = vbslq_u32(better, b, a);
            let r = vbslq_u32(vceqq_f32(fa, fb), merged, r);
            let r = vbslq_u32(nan32(fb), b, r);
            vbslq_u32(nan32(fa), a, r)
        }
        _ => a,
    }
}

#[inline]
#[target_feature(enable = "neon")]
fn comb_pd<const OP: u8>(a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
    let (da, db) = (vreinterpretq_f64_u32(a), vreinterpretq_f64_u32(b));
    let (ua, ub) = (vreinterpretq_u64_u32(a), vreinterpretq_u64_u32(b));
    match OP {
        SUM | AVG => vreinterpretq_u32_f64(vaddq_f64(da, db)),
        PROD => vreinterpretq_u32_f64(vmulq_f64(da, db)),
        MIN | MAX => {
            let (better, merged) = if OP == MIN {
                (vcltq_f64(db, da), vorrq_u32(a, b))
            } else {
                (vcgtq_f64(db, da), vandq_u32(a, b))
            };
            let merged = vreinterpretq_u64_u32(merged);
            let not_nan_a = vceqq_f64(da, da);
            let not_nan_b = vceqq_f64(db, db);
            let r = vbslq_u64(better, ub, ua);
            let r = vbslq_u64(vceqq_f64(da, db), merged, r);
            let r = vbslq_u64(not_nan_b, r, ub);
            vreinterpretq_u32_u64(vbslq_u64(not_nan_a, r, ua))
        }
        _ => a,
    }
}

#[inline]
#[target_feature(enable = "neon")]
fn comb_int<const F: u8, const OP: u8>(a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
    let (a8, b8) = (vreinterpretq_u8_u32(a), vreinterpretq_u8_u32(b));
    let (a16, b16) = (vreinterpretq_u16_u32(a), vreinterpretq_u16_u32(b));
    let (a64, b64) = (vreinterpretq_u64_u32(a), vreinterpretq_u64_u32(b));
    let (s8a, s8b) = (vreinterpretq_s8_u32(a), vreinterpretq_s8_u32(b));
    let (s16a, s16b) = (vreinterpretq_s16_u32(a), vreinterpretq_s16_u32(b));
    let (s32a, s32b) = (vreinterpretq_s32_u32(a), vreinterpretq_s32_u32(b));
    match OP {
        SUM | AVG => match F {
            U8 | I8 => vreinterpretq_u32_u8(vaddq_u8(a8, b8)),
            U16 | I16 => vreinterpretq_u32_u16(vaddq_u16(a16, b16)),
            U32 | I32 => vaddq_u32(a, b),
            _ => vreinterpretq_u32_u64(vaddq_u64(a64, b64)),
        },
        PROD => match F {
            U8 | I8 => vreinterpretq_u32_u8(vmulq_u8(a8, b8)),
            U16 | I16 => vreinterpretq_u32_u16(vmulq_u16(a16, b16)),
            U32 | I32 => vmulq_u32(a, b),
            _ => {
                // lo·lo + ((hi·lo + lo·hi) << 32), mod 2^64.
                let (al, bl) = (vmovn_u64(a64), vmovn_u64(b64));
                let (ah, bh) = (vshrn_n_u64::<32>(a64), vshrn_n_u64::<32>(b64));
                let cross = vaddq_u64(vmull_u32(ah, bl), vmull_u32(al, bh));
                let r = vaddq_u64(vmull_u32(al, bl), vshlq_n_u64::<32>(cross));
                vreinterpretq_u32_u64(r)
            }
        },
        MIN => match F {
            U8 => vreinterpretq_u32_u8(vminq_u8(a8, b8)),
            I8 => vreinterpretq_u32_s8(vminq_s8(s8a, s8b)),
            U16 => vreinterpretq_u32_u16(vminq_u16(a16, b16)),
            I16 => vreinterpretq_u32_s16(vminq_s16(s16a, s16b)),
            U32 => vminq_u32(a, b),
            I32 => vreinterpretq_u32_s32(vminq_s32(s32a, s32b)),
            _ => vreinterpretq_u32_u64(vbslq_u64(gt64::<F>(a, b), b64, a64)),
        },
        MAX => match F {
            U8 => vreinterpretq_u32_u8(vmaxq_u8(a8, b8)),
            I8 => vreinterpretq_u32_s8(vmaxq_s8(s8a, s8b)),
            U16 => vreinterpretq_u32_u16(vmaxq_u16(a16, b16)),
            I16 => vreinterpretq_u32_s16(vmaxq_s16(s16a, s16b)),
            U32 => vmaxq_u32(a, b),
            I32 => vreinterpretq_u32_s32(vmaxq_s32(s32a, s32b)),
            _ => vreinterpretq_u32_u64(vbslq_u64(gt64::<F>(a, b), a64, b64)),
        },
        BAND | LAND => vandq_u32(a, b),
        BOR | LOR => vorrq_u32(a, b),
        BXOR | LXOR => veorq_u32(a, b),
        _ => a,
    }
}

/// `a > b` per 64-bit lane, signed or unsigned.
#[inline]
#[target_feature(enable = "neon")]
fn gt64<const F: u8>(a: uint32x4_t, b: uint32x4_t) -> uint64x2_t {
    if F == U64 {
        vcgtq_u64(vreinterpretq_u64_u32(a), vreinterpretq_u64_u32(b))
    } else {
        vcgtq_s64(vreinterpretq_s64_u32(a), vreinterpretq_s64_u32(b))
    }
}

/// NaN results of SUM, PROD and AVG become the canonical quiet NaN.
#[inline]
#[target_feature(enable = "neon")]
fn settle<const F: u8, const OP: u8>(mut x: V4) -> V4 {
    if !matches!(OP, SUM | PROD | AVG) {
        return x;
    }
    for v in &mut x {
        if lanes_f32(F) {
            *v = vbslq_u32(nan32(f(*v)), vdupq_n_u32(0x7FC0_0000), *v);
        } else if F == F64 {
            let d = vreinterpretq_f64_u32(*v);
            let ok = vceqq_f64(d, d);
            let canon = vdupq_n_u64(0x7FF8_0000_0000_0000);
            *v = vreinterpretq_u32_u64(vbslq_u64(ok, vreinterpretq_u64_u32(*v), canon));
        }
    }
    x
}

/// The fused N-input kernel (see the module docs). `in_place`: `out` is input 0.
#[target_feature(enable = "neon")]
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
    let full = len - len % s;
    let mut off = 0;
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
        store::<F>(settle::<F, OP>(acc), k.sat, &mut out[off..off + s]);
        off += s;
    }
    if off < len {
        let t = len - off;
        let mut buf = [0u8; 64];
        if in_place {
            buf[..t].copy_from_slice(&out[off..]);
        } else {
            buf[..t].copy_from_slice(&bytes_of(inputs[0])[off..]);
        }
        let mut acc = prep::<F, OP>(load::<F>(&buf[..s]), &k);
        for x in others {
            buf[..t].copy_from_slice(&bytes_of(x)[off..]);
            acc = comb::<F, OP>(acc, prep::<F, OP>(load::<F>(&buf[..s]), &k));
        }
        store::<F>(settle::<F, OP>(acc), k.sat, &mut buf[..s]);
        out[off..].copy_from_slice(&buf[..t]);
    }
}

super::driver::drivers!("neon", 64);
