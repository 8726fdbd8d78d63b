//! The portable backend: safe Rust, the oracle the others are tested against.

#![forbid(unsafe_code)]

use crate::engine::{Backend, Codec};
use crate::lz4::block::{self, Portable};
use crate::{Error, deflate, lz4};

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

    fn xxh32(&self, seed: u32, data: &[u8]) -> u32 {
        lz4::xxh32::xxh32(seed, data)
    }

    fn lz4_compress_block(
        &self,
        workspace: &mut lz4::Workspace,
        input: &[u8],
        output: &mut [u8],
        acceleration: u32,
    ) -> Result<usize, Error> {
        lz4::check_input_len(input)?;
        block::compress(Portable, &mut workspace.table, input, output, acceleration)
    }

    fn lz4_compress_linked(
        &self,
        workspace: &mut lz4::Workspace,
        data: &[u8],
        start: usize,
        output: &mut [u8],
        acceleration: u32,
    ) -> Result<usize, Error> {
        lz4::check_input_len(data)?;
        block::compress_linked(
            Portable,
            &mut workspace.table,
            data,
            start,
            output,
            acceleration,
        )
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

    fn crc32(&self, crc: u32, data: &[u8]) -> u32 {
        let mut hasher = crc32fast::Hasher::new_with_initial(crc);
        hasher.update(data);
        hasher.finalize()
    }

    fn adler32(&self, adler: u32, data: &[u8]) -> u32 {
        deflate::adler32::adler32(adler, data)
    }

    fn inflate(
        &self,
        inflater: &mut deflate::Inflater,
        input: &[u8],
        output: &mut [u8],
        dict: &[u8],
    ) -> Result<(usize, usize), Error> {
        deflate::inflate::inflate(inflater, input, output, dict)
    }
}
