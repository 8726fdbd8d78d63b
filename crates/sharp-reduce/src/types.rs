//! The vocabulary: [`DType`], [`Op`], [`Fp8Mode`], [`Reduction`], the [`Element`] trait and
//! the bit-pattern newtypes [`F16`], [`Bf16`], [`E4M3`], [`E5M2`].
//!
//! [`Element`] also carries the per-element semantics that the [`Scalar`](crate::Scalar)
//! backend folds with (hidden methods): they are the definition every other backend matches.

#![forbid(unsafe_code)]

use core::fmt;

use crate::convert;

/// The most inputs one call accepts (2^16). It keeps `1/N` and `N` exact in every
/// accumulator type (f32 represents integers exactly up to 2^24).
pub const MAX_INPUTS: usize = 1 << 16;

/// Element types. Values are little-endian in the byte-level API; f16, bf16 and the FP8
/// formats are carried as their bit patterns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum DType {
    /// Unsigned 8-bit integer.
    U8 = 0,
    /// Signed 8-bit integer (two's complement).
    I8 = 1,
    /// Unsigned 16-bit integer.
    U16 = 2,
    /// Signed 16-bit integer.
    I16 = 3,
    /// Unsigned 32-bit integer.
    U32 = 4,
    /// Signed 32-bit integer.
    I32 = 5,
    /// Unsigned 64-bit integer.
    U64 = 6,
    /// Signed 64-bit integer.
    I64 = 7,
    /// IEEE 754 binary16 (`half::f16`), accumulated in f32.
    F16 = 8,
    /// bfloat16 (the upper half of an f32), accumulated in f32.
    Bf16 = 9,
    /// IEEE 754 binary32.
    F32 = 10,
    /// IEEE 754 binary64.
    F64 = 11,
    /// OCP FP8 E4M3 ("E4M3FN": bias 7, no infinities, NaN = S.1111.111, max 448),
    /// accumulated in f32.
    Fp8E4M3 = 12,
    /// OCP FP8 E5M2 (bias 15, IEEE-like with infinities, max 57344), accumulated in f32.
    Fp8E5M2 = 13,
}

impl DType {
    /// Every element type.
    pub const ALL: [DType; 14] = [
        DType::U8,
        DType::I8,
        DType::U16,
        DType::I16,
        DType::U32,
        DType::I32,
        DType::U64,
        DType::I64,
        DType::F16,
        DType::Bf16,
        DType::F32,
        DType::F64,
        DType::Fp8E4M3,
        DType::Fp8E5M2,
    ];

    /// Bytes per element.
    pub const fn size(self) -> usize {
        match self {
            DType::U8 | DType::I8 | DType::Fp8E4M3 | DType::Fp8E5M2 => 1,
            DType::U16 | DType::I16 | DType::F16 | DType::Bf16 => 2,
            DType::U32 | DType::I32 | DType::F32 => 4,
            DType::U64 | DType::I64 | DType::F64 => 8,
        }
    }

    /// Whether this is a floating-point type (including f16, bf16 and FP8).
    pub const fn is_float(self) -> bool {
        matches!(
            self,
            DType::F16 | DType::Bf16 | DType::F32 | DType::F64 | DType::Fp8E4M3 | DType::Fp8E5M2
        )
    }

    /// Whether this is a floating-point type narrower than f32 (accumulated in f32 and
    /// rounded once, round-to-nearest-even).
    pub const fn is_narrow_float(self) -> bool {
        matches!(
            self,
            DType::F16 | DType::Bf16 | DType::Fp8E4M3 | DType::Fp8E5M2
        )
    }

    /// Whether this is an FP8 type (the only ones [`Fp8Mode`] applies to).
    pub const fn is_fp8(self) -> bool {
        matches!(self, DType::Fp8E4M3 | DType::Fp8E5M2)
    }

    /// Lower-case name: `u8` … `i64`, `f16`, `bf16`, `f32`, `f64`, `e4m3`, `e5m2`.
    pub const fn name(self) -> &'static str {
        match self {
            DType::U8 => "u8",
            DType::I8 => "i8",
            DType::U16 => "u16",
            DType::I16 => "i16",
            DType::U32 => "u32",
            DType::I32 => "i32",
            DType::U64 => "u64",
            DType::I64 => "i64",
            DType::F16 => "f16",
            DType::Bf16 => "bf16",
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::Fp8E4M3 => "e4m3",
            DType::Fp8E5M2 => "e5m2",
        }
    }

    /// The type named `name` ([`DType::name`], case-insensitive; `fp8e4m3`, `fp8_e4m3`,
    /// `float8_e4m3fn`, `fp8e5m2`, `fp8_e5m2` and `float8_e5m2` are accepted too).
    pub fn from_name(name: &str) -> Option<DType> {
        let alias = |a: &str, names: &[&str]| names.iter().any(|n| a.eq_ignore_ascii_case(n));
        if alias(name, &["fp8e4m3", "fp8_e4m3", "float8_e4m3fn", "e4m3fn"]) {
            return Some(DType::Fp8E4M3);
        }
        if alias(name, &["fp8e5m2", "fp8_e5m2", "float8_e5m2"]) {
            return Some(DType::Fp8E5M2);
        }
        DType::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Reduction operations (MPI's and SHARP's set plus NCCL's AVG).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum Op {
    /// Sum: wrapping for integers; in the accumulator type for floats.
    Sum = 0,
    /// Product: wrapping for integers; in the accumulator type for floats.
    Prod = 1,
    /// Minimum: IEEE 754-2019 `minimum` for floats (NaN-propagating, −0 < +0).
    Min = 2,
    /// Maximum: IEEE 754-2019 `maximum` for floats (NaN-propagating, −0 < +0).
    Max = 3,
    /// Average as NCCL: floats multiply each input by `1/N` and sum; integers sum
    /// (wrapping) and divide by `N`, truncating toward zero.
    Avg = 4,
    /// Bitwise AND (integers).
    Band = 5,
    /// Bitwise OR (integers).
    Bor = 6,
    /// Bitwise XOR (integers).
    Bxor = 7,
    /// Logical AND (integers; non-zero is true; the result is 1 or 0).
    Land = 8,
    /// Logical OR (integers; result 1 or 0).
    Lor = 9,
    /// Logical XOR (integers; result 1 or 0: odd number of non-zero inputs).
    Lxor = 10,
    /// MPI_MINLOC over (value, index) pairs: the least value, lowest index on ties
    /// ([`Reducer::reduce_loc`](crate::Reducer::reduce_loc) only).
    MinLoc = 11,
    /// MPI_MAXLOC over (value, index) pairs: the greatest value, lowest index on ties
    /// ([`Reducer::reduce_loc`](crate::Reducer::reduce_loc) only).
    MaxLoc = 12,
}

impl Op {
    /// Every operation.
    pub const ALL: [Op; 13] = [
        Op::Sum,
        Op::Prod,
        Op::Min,
        Op::Max,
        Op::Avg,
        Op::Band,
        Op::Bor,
        Op::Bxor,
        Op::Land,
        Op::Lor,
        Op::Lxor,
        Op::MinLoc,
        Op::MaxLoc,
    ];

    /// Lower-case name: `sum`, `prod`, `min`, `max`, `avg`, `band`, `bor`, `bxor`, `land`,
    /// `lor`, `lxor`, `minloc`, `maxloc`.
    pub const fn name(self) -> &'static str {
        match self {
            Op::Sum => "sum",
            Op::Prod => "prod",
            Op::Min => "min",
            Op::Max => "max",
            Op::Avg => "avg",
            Op::Band => "band",
            Op::Bor => "bor",
            Op::Bxor => "bxor",
            Op::Land => "land",
            Op::Lor => "lor",
            Op::Lxor => "lxor",
            Op::MinLoc => "minloc",
            Op::MaxLoc => "maxloc",
        }
    }

    /// The operation named `name` ([`Op::name`], case-insensitive).
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL
            .into_iter()
            .find(|o| o.name().eq_ignore_ascii_case(name))
    }

    /// Whether `self` is defined on `dtype`: bitwise and logical operations need an
    /// integer type; everything else is defined on every type.
    pub const fn supports(self, dtype: DType) -> bool {
        match self {
            Op::Band | Op::Bor | Op::Bxor | Op::Land | Op::Lor | Op::Lxor => !dtype.is_float(),
            _ => true,
        }
    }

    /// Whether this is MINLOC or MAXLOC (the pair operations).
    pub const fn is_loc(self) -> bool {
        matches!(self, Op::MinLoc | Op::MaxLoc)
    }

    /// This operation with FP8 results rounded in `mode`.
    pub const fn with_fp8(self, mode: Fp8Mode) -> Reduction {
        Reduction {
            op: self,
            fp8: mode,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an f32 → FP8 rounding does with values beyond the largest finite FP8 value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Fp8Mode {
    /// OCP "non-saturated" and ml_dtypes: E4M3 overflow and ±Inf become NaN (above 464);
    /// E5M2 overflow becomes ±Inf (from 61440).
    #[default]
    NonSaturating,
    /// NVIDIA "satfinite" (CUDA's `__NV_SATFINITE`, what NCCL's fp8 kernels use): overflow
    /// and ±Inf become ±max finite (448 / 57344); NaN stays NaN.
    Saturating,
}

/// An operation plus the FP8 rounding mode; every [`Reducer`](crate::Reducer) method takes
/// `impl Into<Reduction>`, so a bare [`Op`] works (non-saturating).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reduction {
    /// The operation.
    pub op: Op,
    /// FP8 overflow handling. [`Fp8Mode::Saturating`] with a non-FP8 type is an error.
    pub fp8: Fp8Mode,
}

impl From<Op> for Reduction {
    fn from(op: Op) -> Self {
        Reduction {
            op,
            fp8: Fp8Mode::NonSaturating,
        }
    }
}

/// Per-call constants the element semantics need (`N`, `1/N`, the FP8 mode). Internal.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub(crate) n: usize,
    pub(crate) scale32: f32,
    pub(crate) scale64: f64,
    pub(crate) sat: bool,
}

impl Params {
    #[expect(
        clippy::cast_precision_loss,
        reason = "n <= MAX_INPUTS = 2^16, exact in f32 and f64"
    )]
    pub(crate) fn new(n: usize, fp8: Fp8Mode) -> Self {
        Params {
            n,
            scale32: 1.0 / n as f32,
            scale64: 1.0 / n as f64,
            sat: fp8 == Fp8Mode::Saturating,
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// An element type of the typed API: the Rust integers and floats, and the bit-pattern
/// newtypes [`F16`], [`Bf16`], [`E4M3`], [`E5M2`]. Sealed.
///
/// The hidden methods define the per-element semantics (the oracle); they are not part of
/// the stable API.
pub trait Element:
    Copy + Default + PartialEq + fmt::Debug + Send + Sync + 'static + sealed::Sealed
{
    /// The matching [`DType`].
    const DTYPE: DType;
    /// The accumulator type of the streaming API: `f32` for f16, bf16 and FP8, the type
    /// itself otherwise.
    type Acc: Element<Acc = Self::Acc>;

    #[doc(hidden)]
    fn widen(self) -> Self::Acc;
    #[doc(hidden)]
    fn narrow(acc: Self::Acc, sat: bool) -> Self;
    #[doc(hidden)]
    fn read_le(b: &[u8]) -> Self;
    #[doc(hidden)]
    fn write_le(self, b: &mut [u8]);
    /// Per-input preparation (AVG scaling, logical normalisation, NaN quieting for MIN/MAX).
    #[doc(hidden)]
    fn prep(self, op: Op, p: &Params) -> Self;
    /// `self op other` (both prepared).
    #[doc(hidden)]
    fn comb(self, other: Self, op: Op) -> Self;
    /// NaN canonicalisation after arithmetic (floats, SUM/PROD/AVG).
    #[doc(hidden)]
    fn settle(self, op: Op) -> Self;
    /// `settle` plus the integer AVG division.
    #[doc(hidden)]
    fn fin(self, op: Op, p: &Params) -> Self;
    /// Ordering key for MINLOC/MAXLOC (NaN never wins unless all are NaN; −0 < +0).
    #[doc(hidden)]
    fn loc_key(self, op: Op) -> i128;
}

macro_rules! int_element {
    ($t:ty, $d:ident) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            type Acc = $t;
            #[inline(always)]
            fn widen(self) -> $t {
                self
            }
            #[inline(always)]
            fn narrow(acc: $t, _sat: bool) -> $t {
                acc
            }
            #[inline(always)]
            fn read_le(b: &[u8]) -> $t {
                let mut a = [0u8; size_of::<$t>()];
                a.copy_from_slice(&b[..size_of::<$t>()]);
                <$t>::from_le_bytes(a)
            }
            #[inline(always)]
            fn write_le(self, b: &mut [u8]) {
                b[..size_of::<$t>()].copy_from_slice(&self.to_le_bytes());
            }
            #[inline(always)]
            fn prep(self, op: Op, _p: &Params) -> $t {
                match op {
                    Op::Land | Op::Lor | Op::Lxor => <$t>::from(self != 0),
                    _ => self,
                }
            }
            #[inline(always)]
            fn comb(self, b: $t, op: Op) -> $t {
                match op {
                    Op::Sum | Op::Avg => self.wrapping_add(b),
                    Op::Prod => self.wrapping_mul(b),
                    Op::Min => self.min(b),
                    Op::Max => self.max(b),
                    Op::Band | Op::Land => self & b,
                    Op::Bor | Op::Lor => self | b,
                    Op::Bxor | Op::Lxor => self ^ b,
                    Op::MinLoc | Op::MaxLoc => self,
                }
            }
            #[inline(always)]
            fn settle(self, _op: Op) -> $t {
                self
            }
            #[inline(always)]
            fn fin(self, op: Op, p: &Params) -> $t {
                if op == Op::Avg {
                    // Truncation toward zero, as C; |sum / n| <= |sum|, so it fits.
                    #[allow(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        clippy::cast_possible_wrap,
                        clippy::cast_lossless,
                        reason = "the quotient lies between 0 and the sum, so it fits"
                    )]
                    let q = (self as i128 / p.n as i128) as $t;
                    q
                } else {
                    self
                }
            }
            #[inline(always)]
            fn loc_key(self, _op: Op) -> i128 {
                i128::from(self)
            }
        }
    };
}

int_element!(u8, U8);
int_element!(i8, I8);
int_element!(u16, U16);
int_element!(i16, I16);
int_element!(u32, U32);
int_element!(i32, I32);
int_element!(u64, U64);
int_element!(i64, I64);

macro_rules! float_element {
    ($t:ty, $bits:ty, $d:ident, $quiet:expr, $canon:expr, $scale:ident) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            type Acc = $t;
            #[inline(always)]
            fn widen(self) -> $t {
                self
            }
            #[inline(always)]
            fn narrow(acc: $t, _sat: bool) -> $t {
                acc
            }
            #[inline(always)]
            fn read_le(b: &[u8]) -> $t {
                <$t>::from_bits(<$bits>::read_le(b))
            }
            #[inline(always)]
            fn write_le(self, b: &mut [u8]) {
                self.to_bits().write_le(b);
            }
            #[inline(always)]
            fn prep(self, op: Op, p: &Params) -> $t {
                match op {
                    Op::Avg => self * p.$scale,
                    Op::Min | Op::Max if self.is_nan() => <$t>::from_bits(self.to_bits() | $quiet),
                    _ => self,
                }
            }
            #[inline(always)]
            fn comb(self, b: $t, op: Op) -> $t {
                let a = self;
                match op {
                    Op::Sum | Op::Avg => a + b,
                    Op::Prod => a * b,
                    // IEEE 754-2019 minimum/maximum by comparison and selection only: the
                    // first NaN (already quiet) wins; equal values (±0) merge their sign bits.
                    Op::Min => {
                        if a.is_nan() {
                            a
                        } else if b.is_nan() {
                            b
                        } else if b < a {
                            b
                        } else if a < b {
                            a
                        } else {
                            <$t>::from_bits(a.to_bits() | b.to_bits())
                        }
                    }
                    Op::Max => {
                        if a.is_nan() {
                            a
                        } else if b.is_nan() {
                            b
                        } else if b > a {
                            b
                        } else if a > b {
                            a
                        } else {
                            <$t>::from_bits(a.to_bits() & b.to_bits())
                        }
                    }
                    _ => a,
                }
            }
            #[inline(always)]
            fn settle(self, op: Op) -> $t {
                match op {
                    Op::Sum | Op::Prod | Op::Avg if self.is_nan() => <$t>::from_bits($canon),
                    _ => self,
                }
            }
            #[inline(always)]
            fn fin(self, op: Op, _p: &Params) -> $t {
                self.settle(op)
            }
            #[inline(always)]
            fn loc_key(self, op: Op) -> i128 {
                float_key(self.is_nan(), self.to_bits().into(), <$bits>::BITS, op)
            }
        }
    };
}

float_element!(f32, u32, F32, 0x0040_0000, 0x7FC0_0000, scale32);
float_element!(
    f64,
    u64,
    F64,
    0x0008_0000_0000_0000,
    0x7FF8_0000_0000_0000,
    scale64
);

/// MINLOC/MAXLOC key of a float given as its `width`-bit pattern: IEEE totalOrder on the
/// non-NaN values (−0 < +0), with every NaN equal and worse than any number.
#[inline(always)]
fn float_key(nan: bool, bits: u64, width: u32, op: Op) -> i128 {
    if nan {
        return if op == Op::MaxLoc {
            i128::MIN
        } else {
            i128::MAX
        };
    }
    let sign = 1u64 << (width - 1);
    let mag = i128::from(bits & (sign - 1));
    if bits & sign != 0 { -1 - mag } else { mag }
}

macro_rules! narrow_element {
    ($(#[$m:meta])* $name:ident, $bits:ty, $d:ident, $to:expr, $from:expr, $nan:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
        #[repr(transparent)]
        pub struct $name(pub $bits);

        impl $name {
            /// The value with these bits.
            pub const fn from_bits(bits: $bits) -> Self {
                Self(bits)
            }
            /// The bit pattern.
            pub const fn to_bits(self) -> $bits {
                self.0
            }
            /// The exact f32 value (NaN stays NaN, made quiet).
            pub fn to_f32(self) -> f32 {
                let f: fn($bits) -> f32 = $to;
                f(self.0)
            }
            /// Whether this is a NaN.
            pub fn is_nan(self) -> bool {
                let f: fn($bits) -> bool = $nan;
                f(self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:#x} = {:?})", stringify!($name), self.0, self.to_f32())
            }
        }

        impl sealed::Sealed for $name {}
        impl Element for $name {
            const DTYPE: DType = DType::$d;
            type Acc = f32;
            #[inline(always)]
            fn widen(self) -> f32 {
                self.to_f32()
            }
            #[inline(always)]
            fn narrow(acc: f32, sat: bool) -> Self {
                let f: fn(f32, bool) -> $bits = $from;
                Self(f(acc, sat))
            }
            #[inline(always)]
            fn read_le(b: &[u8]) -> Self {
                Self(<$bits>::read_le(b))
            }
            #[inline(always)]
            fn write_le(self, b: &mut [u8]) {
                self.0.write_le(b);
            }
            #[inline(always)]
            fn prep(self, op: Op, p: &Params) -> Self {
                Self::narrow(self.widen().prep(op, p), p.sat)
            }
            #[inline(always)]
            fn comb(self, b: Self, op: Op) -> Self {
                Self::narrow(self.widen().comb(b.widen(), op), false)
            }
            #[inline(always)]
            fn settle(self, op: Op) -> Self {
                Self::narrow(self.widen().settle(op), false)
            }
            #[inline(always)]
            fn fin(self, op: Op, p: &Params) -> Self {
                Self::narrow(self.widen().fin(op, p), p.sat)
            }
            #[inline(always)]
            fn loc_key(self, op: Op) -> i128 {
                float_key(self.is_nan(), self.0.into(), <$bits>::BITS, op)
            }
        }
    };
}

narrow_element!(
    /// IEEE binary16 as its bit pattern.
    F16,
    u16,
    F16,
    convert::f16_to_f32,
    |x, _| convert::f32_to_f16(x),
    |b| b & 0x7FFF > 0x7C00
);
narrow_element!(
    /// bfloat16 as its bit pattern.
    Bf16,
    u16,
    Bf16,
    convert::bf16_to_f32,
    |x, _| convert::f32_to_bf16(x),
    |b| b & 0x7FFF > 0x7F80
);
narrow_element!(
    /// OCP FP8 E4M3 (E4M3FN) as its bit pattern.
    E4M3,
    u8,
    Fp8E4M3,
    convert::e4m3_to_f32,
    |x, sat| convert::f32_to_e4m3(x, mode(sat)),
    |b| b & 0x7F == 0x7F
);
narrow_element!(
    /// OCP FP8 E5M2 as its bit pattern.
    E5M2,
    u8,
    Fp8E5M2,
    convert::e5m2_to_f32,
    |x, sat| convert::f32_to_e5m2(x, mode(sat)),
    |b| b & 0x7F > 0x7C
);

fn mode(sat: bool) -> Fp8Mode {
    if sat {
        Fp8Mode::Saturating
    } else {
        Fp8Mode::NonSaturating
    }
}

impl F16 {
    /// `x` rounded to nearest even (overflow → ±Inf; NaN → quiet NaN keeping the top payload
    /// bits), as `half::f16::from_f32`.
    pub fn from_f32(x: f32) -> Self {
        Self(convert::f32_to_f16(x))
    }
}

impl Bf16 {
    /// `x` rounded to nearest even, subnormals kept (NaN → quiet NaN), as
    /// `half::bf16::from_f32`.
    pub fn from_f32(x: f32) -> Self {
        Self(convert::f32_to_bf16(x))
    }
}

impl E4M3 {
    /// `x` rounded to nearest even with the given overflow `mode`.
    pub fn from_f32(x: f32, mode: Fp8Mode) -> Self {
        Self(convert::f32_to_e4m3(x, mode))
    }
}

impl E5M2 {
    /// `x` rounded to nearest even with the given overflow `mode`.
    pub fn from_f32(x: f32, mode: Fp8Mode) -> Self {
        Self(convert::f32_to_e5m2(x, mode))
    }
}
