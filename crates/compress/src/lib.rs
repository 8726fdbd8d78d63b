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
mod engine;
mod error;
pub mod lz4;

pub use backend::Scalar;
pub use engine::{Auto, Backend, Codec};
pub use error::{ChecksumKind, Corruption, Error, Unsupported};
