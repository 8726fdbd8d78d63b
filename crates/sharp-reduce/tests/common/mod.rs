//! Shared test helpers: backends, data with special values mixed in, typed views.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "test support: a panic is a failure, values are built from random bits"
)]

use offload_sharp_reduce::{Auto, Backend, DType, E4M3, E5M2, Element, F16};
use offload_sharp_reduce::{Bf16, Reducer};
use offload_testkit::{Rng, select_backends};

/// Every backend available here (printed; `OFFLOAD_REQUIRE_BACKENDS` enforced).
pub(crate) fn engines() -> Vec<(&'static str, Auto)> {
    select_backends(
        "offload-sharp-reduce",
        Backend::ALL
            .into_iter()
            .map(|b| (b.name(), Auto::with_backend(b)))
            .collect(),
    )
}

/// Special bit patterns per type (as little-endian u64 of the element's width).
fn specials(dtype: DType) -> &'static [u64] {
    match dtype {
        DType::F32 => &[
            0x0000_0000,
            0x8000_0000,
            0x7F80_0000,
            0xFF80_0000,
            0x7FC0_0000,
            0xFFC0_0001,
            0x7F80_0001,
            0xFFA0_0000,
            0x0000_0001,
            0x807F_FFFF,
            0x0080_0000,
            0x7F7F_FFFF,
            0xFF7F_FFFF,
            0x3F80_0000,
            0xBF80_0000,
        ],
        DType::F64 => &[
            0,
            0x8000_0000_0000_0000,
            0x7FF0_0000_0000_0000,
            0xFFF0_0000_0000_0000,
            0x7FF8_0000_0000_0000,
            0xFFF8_0000_0000_0001,
            0x7FF0_0000_0000_0001,
            0x0000_0000_0000_0001,
            0x800F_FFFF_FFFF_FFFF,
            0x7FEF_FFFF_FFFF_FFFF,
            0x3FF0_0000_0000_0000,
        ],
        DType::F16 => &[
            0, 0x8000, 0x7C00, 0xFC00, 0x7E00, 0xFE01, 0x7C01, 0x0001, 0x83FF, 0x0400, 0x7BFF,
            0xFBFF, 0x3C00, 0xBC00,
        ],
        DType::Bf16 => &[
            0, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0xFFC1, 0x7F81, 0x0001, 0x807F, 0x0080, 0x7F7F,
            0xFF7F, 0x3F80, 0xBF80,
        ],
        DType::Fp8E4M3 => &[
            0, 0x80, 0x7F, 0xFF, 0x01, 0x81, 0x08, 0x7E, 0xFE, 0x38, 0xB8,
        ],
        DType::Fp8E5M2 => &[
            0, 0x80, 0x7C, 0xFC, 0x7D, 0x7E, 0xFF, 0x01, 0x81, 0x04, 0x7B, 0xFB, 0x3C, 0xBC,
        ],
        _ => &[
            0,
            1,
            u64::MAX,
            0x80,
            0x7F,
            0x8000,
            0x7FFF,
            0x8000_0000,
            0x7FFF_FFFF,
        ],
    }
}

/// `n` elements of `dtype` as little-endian bytes: random bits, small values (so sums mean
/// something), zeros and the type's special values, mixed.
pub(crate) fn data(rng: &mut Rng, dtype: DType, n: usize) -> Vec<u8> {
    let size = dtype.size();
    let mut out = vec![0u8; n * size];
    let sp = specials(dtype);
    for chunk in out.chunks_exact_mut(size) {
        let v: u64 = match rng.below(8) {
            0 => sp[rng.below(sp.len())],
            1 => 0,
            2 | 3 => rng.next_u64(),
            _ => small(rng, dtype),
        };
        chunk.copy_from_slice(&v.to_le_bytes()[..size]);
    }
    out
}

/// A value of moderate magnitude with few significant bits. (f16 through the crate's own
/// conversion, which `tests/conversions.rs` checks against `half`: `half` built with F16C,
/// as every AVX-512 build is, converts with `vcvtps2ph`, which Miri cannot run.)
fn small(rng: &mut Rng, dtype: DType) -> u64 {
    let k = rng.below(64) as i32 - 32;
    let neg = rng.below(2) == 1;
    let x = k as f32 * 0.25;
    let x = if neg { -x } else { x };
    match dtype {
        DType::F32 => u64::from(x.to_bits()),
        DType::F64 => f64::from(x).to_bits(),
        DType::F16 => u64::from(offload_sharp_reduce::f32_to_f16(x)),
        DType::Bf16 => u64::from(offload_sharp_reduce::f32_to_bf16(x)),
        DType::Fp8E4M3 => u64::from(offload_sharp_reduce::f32_to_e4m3(x, Default::default())),
        DType::Fp8E5M2 => u64::from(offload_sharp_reduce::f32_to_e5m2(x, Default::default())),
        _ => (k as i64) as u64,
    }
}

/// Typed copies of little-endian bytes.
pub(crate) trait FromLe: Element {
    fn from_le(b: &[u8]) -> Self;
    fn to_le(self, out: &mut Vec<u8>);
}

macro_rules! from_le {
    ($($t:ty),*) => {$(
        impl FromLe for $t {
            fn from_le(b: &[u8]) -> Self {
                <$t>::from_le_bytes(b.try_into().unwrap())
            }
            fn to_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
from_le!(u8, i8, u16, i16, u32, i32, u64, i64, f32, f64);

macro_rules! from_le_newtype {
    ($($t:ident: $b:ty),*) => {$(
        impl FromLe for $t {
            fn from_le(b: &[u8]) -> Self {
                $t(<$b>::from_le_bytes(b.try_into().unwrap()))
            }
            fn to_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.0.to_le_bytes());
            }
        }
    )*};
}
from_le_newtype!(F16: u16, Bf16: u16, E4M3: u8, E5M2: u8);

pub(crate) fn typed<T: FromLe>(b: &[u8]) -> Vec<T> {
    b.chunks_exact(size_of::<T>()).map(T::from_le).collect()
}

pub(crate) fn bytes<T: FromLe>(v: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    for &x in v {
        x.to_le(&mut out);
    }
    out
}

/// Calls `$f::<T>(args)` with `T` the element type of `$dtype`.
#[macro_export]
macro_rules! with_type {
    ($dtype:expr, $f:ident ( $($arg:expr),* )) => {
        match $dtype {
            DType::U8 => $f::<u8>($($arg),*),
            DType::I8 => $f::<i8>($($arg),*),
            DType::U16 => $f::<u16>($($arg),*),
            DType::I16 => $f::<i16>($($arg),*),
            DType::U32 => $f::<u32>($($arg),*),
            DType::I32 => $f::<i32>($($arg),*),
            DType::U64 => $f::<u64>($($arg),*),
            DType::I64 => $f::<i64>($($arg),*),
            DType::F16 => $f::<F16>($($arg),*),
            DType::Bf16 => $f::<Bf16>($($arg),*),
            DType::F32 => $f::<f32>($($arg),*),
            DType::F64 => $f::<f64>($($arg),*),
            DType::Fp8E4M3 => $f::<E4M3>($($arg),*),
            DType::Fp8E5M2 => $f::<E5M2>($($arg),*),
            _ => unreachable!(),
        }
    };
}

/// Whether `r` is usable with `dtype`.
pub(crate) fn modes(dtype: DType) -> Vec<offload_sharp_reduce::Fp8Mode> {
    use offload_sharp_reduce::Fp8Mode;
    if dtype.is_fp8() {
        vec![Fp8Mode::NonSaturating, Fp8Mode::Saturating]
    } else {
        vec![Fp8Mode::NonSaturating]
    }
}

/// Reduces with `e` and returns the output bytes.
pub(crate) fn run_bytes(
    e: &impl Reducer,
    r: offload_sharp_reduce::Reduction,
    dtype: DType,
    inputs: &[&[u8]],
    len: usize,
) -> Vec<u8> {
    let mut out = vec![0xA5u8; len];
    e.reduce_bytes(r, dtype, inputs, &mut out).unwrap();
    out
}
