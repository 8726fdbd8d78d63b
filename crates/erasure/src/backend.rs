//! The backends: `cfg` gating, and the one macro the SIMD kernels share.

/// The outer loop of a SIMD backend's `kernel`: with no sources the outputs are zeroed (or,
/// accumulating, left alone); otherwise the outputs go in groups of at most `$max`, each
/// through `$pass::<R>` with `R` the group's size as a constant, so the accumulators of a
/// group live in registers. Invoked inside the backend's `#[target_feature]` function, so
/// `$pass` is inlined with the same features.
#[cfg(any(
    target_arch = "aarch64",
    all(target_arch = "x86_64", target_feature = "sse2")
))]
macro_rules! for_each_group {
    ($pass:ident, $max:ident [$($r:literal)*]; $coeffs:ident, $srcs:ident, $outs:ident,
     $len:ident, $accumulate:ident) => {{
        let k = $srcs.len();
        if k == 0 {
            if !$accumulate {
                $outs.iter_mut().for_each(|o| o.fill(0));
            }
            return;
        }
        for (rows, group) in $coeffs.chunks($max * k).zip($outs.chunks_mut($max)) {
            match group.len() {
                $($r => $pass::<$r>(rows, $srcs, group, $len, $accumulate),)*
                _ => $pass::<$max>(rows, $srcs, group, $len, $accumulate),
            }
        }
    }};
}

mod scalar;
pub use scalar::Scalar;

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod avx512;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub use avx512::Avx512;

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod avx2;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub use avx2::Avx2;

#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "aarch64")]
pub use neon::Neon;
