//! The portable backend: safe Rust, the oracle the others are tested against.

#![forbid(unsafe_code)]

use crate::Error;
use crate::engine::{Backend, Codec};
use crate::lz4::block;

/// Portable safe Rust, always available: the oracle every other backend must match byte
/// for byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scalar;

impl Scalar {
    /// The scalar backend (always available).
    pub const fn new() -> Self {
        Scalar
    }
}

impl Codec for Scalar {
    fn backend(&self) -> Backend {
        Backend::Scalar
    }

    fn lz4_decompress_block(
        &self,
        input: &[u8],
        output: &mut [u8],
        start: usize,
        dict: &[u8],
    ) -> Result<usize, Error> {
        block::decompress(input, output, start, dict)
    }
}
