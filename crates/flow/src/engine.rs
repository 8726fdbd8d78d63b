//! The backend selector ([`Backend`]), the run-time dispatcher ([`Auto`]) and the kernels of
//! the lookup structures ([`Lookup`]). The Toeplitz kernels are the [`RssHasher`] trait in
//! [`crate::rss`].
//!
//! The flow table and the classifier are safe code written once; what differs per backend
//! is small and hot: the key hash (CRC-32C), the compare of a lookup tag against the 16 tags
//! of a key's two buckets, and the prefetch of a bucket ahead of its use.
//!
//! [`RssHasher`]: crate::RssHasher

#![forbid(unsafe_code)]

#[cfg(target_arch = "aarch64")]
use crate::backend::Neon;
use crate::backend::Scalar;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
use crate::backend::{Avx2, Avx512};

/// Which implementation runs. Tests, benches and the CLI iterate [`Backend::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Portable safe Rust, always available: the oracle.
    Scalar,
    /// x86_64 with AVX-512F, AVX-512BW, AVX-512VL, GFNI and SSE4.2 (CRC-32C), plus `Avx2`'s
    /// features: the Toeplitz hash of one input by GF(2) affine transforms
    /// (`vgf2p8affineqb`), bulk hashing by `Avx2`'s kernel, tag compares into mask registers
    /// (Intel Ice Lake and later, AMD Zen 4 and later).
    Avx512,
    /// x86_64 with AVX2, SSE4.2 (CRC-32C), PCLMULQDQ and 256-bit VPCLMULQDQ (AMD Zen 3 and
    /// later, Intel Ice Lake and later).
    Avx2,
    /// aarch64 with NEON, PMULL (`aes`) and the CRC32 instructions (`crc`).
    Neon,
}

impl Backend {
    /// Every backend, fastest first.
    pub const ALL: [Backend; 4] = [
        Backend::Avx512,
        Backend::Avx2,
        Backend::Neon,
        Backend::Scalar,
    ];

    /// Lower-case name: `scalar`, `avx512`, `avx2`, `neon`.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            Backend::Avx512 => "avx512",
            Backend::Avx2 => "avx2",
            Backend::Neon => "neon",
        }
    }

    /// Whether this build contains the backend.
    pub const fn is_compiled(self) -> bool {
        match self {
            Backend::Scalar => true,
            Backend::Avx512 | Backend::Avx2 => {
                cfg!(all(target_arch = "x86_64", target_feature = "sse2"))
            }
            Backend::Neon => cfg!(target_arch = "aarch64"),
        }
    }

    /// CPU features the backend needs (names as `is_x86_feature_detected!` and
    /// `is_aarch64_feature_detected!` spell them).
    pub const fn features(self) -> &'static [&'static str] {
        match self {
            Backend::Scalar => &[],
            Backend::Avx512 => &[
                "avx512f",
                "avx512bw",
                "avx512vl",
                "gfni",
                "sse4.2",
                "avx2",
                "pclmulqdq",
                "vpclmulqdq",
            ],
            Backend::Avx2 => &["avx2", "sse4.2", "pclmulqdq", "vpclmulqdq"],
            Backend::Neon => &["neon", "aes", "crc"],
        }
    }
}

impl core::fmt::Display for Backend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// The kernels of the flow table and the classifier. Implemented by [`Scalar`], `Avx512`,
/// `Avx2`, `Neon` and [`Auto`]; every method gives identical results on every backend, so a table
/// filled through one backend is valid for all others.
pub trait Lookup: Copy + core::fmt::Debug {
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, init and final XOR
    /// 0xFFFFFFFF) continued from `crc`: `crc32c(0, b"123456789") == 0xE306_9283` and
    /// `crc32c(crc32c(0, a), b) == crc32c(0, a ++ b)`.
    fn crc32c(&self, crc: u32, data: &[u8]) -> u32;

    /// Bit `i` (0..8) is set when `a[i] == tag`, bit `8 + i` when `b[i] == tag`.
    fn match_tags(&self, a: &[u16; 8], b: &[u16; 8], tag: u16) -> u16;

    /// A hint to bring `item`'s first cache line closer (a no-op on [`Scalar`]: safe Rust
    /// has no prefetch). Never changes results.
    fn prefetch<T>(&self, item: &T);

    /// Runs `task` with the concrete backend (an [`Auto`] dispatches once, here, not per
    /// kernel call) inside a function compiled with that backend's CPU features. The kernels
    /// are `#[target_feature]` functions, which cannot be inlined into code compiled without
    /// those features, such as the flow table's generic lookup loops; run through this, the
    /// loops are compiled once per backend with the kernels inlined into them. On a 64K-flow
    /// table that took the bulk lookup from about 40 % below hashbrown to above it. Never
    /// changes results.
    #[inline(always)]
    fn specialize<T: LookupTask>(&self, task: T) -> T::Output {
        task.run(*self)
    }
}

/// A computation generic over the [`Lookup`] kernels, for [`Lookup::specialize`]: a closure
/// that can be instantiated once per backend.
pub trait LookupTask {
    /// What the task returns.
    type Output;

    /// Runs the task on `lookup`.
    fn run<L: Lookup>(self, lookup: L) -> Self::Output;
}

/// The fastest backend this CPU supports, chosen once; cheap to copy and to call. Dispatch
/// is a `match`: no atomics, no function pointers, no heap.
#[derive(Clone, Copy, Debug)]
pub enum Auto {
    /// See [`Scalar`].
    Scalar(Scalar),
    /// See `Avx512`.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    Avx512(Avx512),
    /// See `Avx2`.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    Avx2(Avx2),
    /// See `Neon`.
    #[cfg(target_arch = "aarch64")]
    Neon(Neon),
}

impl Auto {
    /// Which backend this is. (An inherent method, so that code importing both [`Lookup`]
    /// and [`RssHasher`](crate::RssHasher), whose `backend` methods say the same, can still
    /// write `auto.backend()`.)
    pub fn backend(&self) -> Backend {
        match self {
            Auto::Scalar(_) => Backend::Scalar,
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx512(_) => Backend::Avx512,
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx2(_) => Backend::Avx2,
            #[cfg(target_arch = "aarch64")]
            Auto::Neon(_) => Backend::Neon,
        }
    }

    /// The first of [`Backend::ALL`] that this build and CPU support.
    pub fn detect() -> Self {
        Backend::ALL
            .into_iter()
            .find_map(Self::with_backend)
            .unwrap_or(Auto::Scalar(Scalar))
    }

    /// `backend` if this build and this CPU support it: how tests, benches and the CLI
    /// force one.
    pub fn with_backend(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Scalar => Some(Auto::Scalar(Scalar)),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Backend::Avx512 => Avx512::new().map(Auto::Avx512),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Backend::Avx2 => Avx2::new().map(Auto::Avx2),
            #[cfg(target_arch = "aarch64")]
            Backend::Neon => Neon::new().map(Auto::Neon),
            #[allow(
                unreachable_patterns,
                reason = "which arms exist depends on the target"
            )]
            _ => None,
        }
    }
}

impl Default for Auto {
    fn default() -> Self {
        Self::detect()
    }
}

/// Forwards a call to the backend inside an [`Auto`].
macro_rules! dispatch {
    ($self:expr, $e:ident => $call:expr) => {
        match $self {
            Auto::Scalar($e) => $call,
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx512($e) => $call,
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx2($e) => $call,
            #[cfg(target_arch = "aarch64")]
            Auto::Neon($e) => $call,
        }
    };
}
#[allow(unused_imports, reason = "used by the rss module")]
pub(crate) use dispatch;

impl Lookup for Auto {
    fn backend(&self) -> Backend {
        dispatch!(self, e => e.backend())
    }

    #[inline]
    fn crc32c(&self, crc: u32, data: &[u8]) -> u32 {
        dispatch!(self, e => e.crc32c(crc, data))
    }

    #[inline]
    fn match_tags(&self, a: &[u16; 8], b: &[u16; 8], tag: u16) -> u16 {
        dispatch!(self, e => e.match_tags(a, b, tag))
    }

    #[inline]
    fn prefetch<T>(&self, item: &T) {
        dispatch!(self, e => e.prefetch(item));
    }

    #[inline(always)]
    fn specialize<T: LookupTask>(&self, task: T) -> T::Output {
        dispatch!(self, e => e.specialize(task))
    }
}
