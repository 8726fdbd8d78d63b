#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(
    test,
    allow(
        clippy::cast_possible_truncation,
        reason = "tests build bytes from small indices"
    )
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(test, feature = "std"))]
extern crate std;

mod backend;
mod detect;
mod engine;
mod error;
pub mod gf;
mod matrix;

#[cfg(target_arch = "aarch64")]
pub use backend::Neon;
pub use backend::Scalar;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub use backend::{Avx2, Avx512};
pub use engine::{Auto, Backend, ErasureCoder, Workspace};
pub use error::Error;
pub use matrix::{Code, MAX_PARITY_COEFFICIENTS, MAX_SHARDS, Matrix, MatrixKind};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stated_sizes() {
        assert_eq!(size_of::<Code>(), 16_390);
        assert_eq!(size_of::<Workspace>(), 65_280);
        assert!(size_of::<Auto>() <= 1);
    }
}
