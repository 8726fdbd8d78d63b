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
mod detect;
mod engine;
mod error;
pub mod wire;

#[cfg(target_arch = "aarch64")]
pub use backend::Neon;
pub use backend::Scalar;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub use backend::{Avx2, Avx512};
pub use engine::{Auto, Backend, ICRC_SCRATCH, ICRC_SEED, Icrc, MASKED_HEADERS_MAX};
pub use error::{Error, Layer};
pub use wire::{Frame, FrameBuilder, Offsets, Opcode, Psn, parse};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stated_sizes() {
        assert_eq!(MASKED_HEADERS_MAX, 64);
        assert_eq!(ICRC_SCRATCH, 256);
        assert!(size_of::<Auto>() <= 1);
        assert_eq!(wire::OPCODES.len(), 256);
        // As the `Frame` docs state: the slice, five offsets and the opcode entry.
        #[cfg(target_pointer_width = "64")]
        assert_eq!(size_of::<Frame<'_>>(), 64);
    }
}
