//! The backends. Only `cfg` gating lives here; `Avx512` and `Neon` are not written yet.

mod scalar;
pub use scalar::Scalar;
