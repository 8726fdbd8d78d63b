//! The backends. Only `cfg` gating lives here.

mod scalar;
pub use scalar::Scalar;
