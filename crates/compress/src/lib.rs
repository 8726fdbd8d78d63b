#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(
    test,
    allow(
        clippy::cast_possible_truncation,
        reason = "tests build bytes from small indices"
    )
)]

#[cfg(any(test, feature = "std"))]
extern crate std;

mod backend;
pub mod deflate;
mod detect;
mod engine;
mod error;
pub mod lz4;

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub use backend::Avx2;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub use backend::Avx512;
#[cfg(target_arch = "aarch64")]
pub use backend::Neon;
pub use backend::Scalar;
pub use engine::{Auto, Backend, Codec};
pub use error::{ChecksumKind, Corruption, Error, Unsupported};
