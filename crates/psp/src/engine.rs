//! The backend selector ([`Backend`]), the AES-GCM engine trait ([`Cipher`]) and the
//! run-time dispatcher ([`Auto`]).

#![forbid(unsafe_code)]

#[cfg(target_arch = "aarch64")]
use crate::backend::Neon;
use crate::backend::Scalar;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
use crate::backend::{Avx2, Avx512};
use crate::{Error, GcmKey};

/// Which implementation runs. Tests, benches and the CLI iterate [`Backend::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Portable, constant-time AES-GCM on RustCrypto `aes` and `ghash`, always available:
    /// the oracle.
    Scalar,
    /// x86_64 with AES-NI, PCLMULQDQ, AVX2 and 256-bit VAES and VPCLMULQDQ (AMD Zen 3 and
    /// later, Intel Ice Lake and later): a fused AES-CTR + GHASH kernel on YMM registers.
    Avx2,
    /// x86_64 with AVX-512F/BW and 512-bit VAES and VPCLMULQDQ (Intel Ice Lake and later,
    /// AMD Zen 4 and later): the fused kernel on ZMM registers, 16 blocks per iteration.
    Avx512,
    /// aarch64 with the Cryptographic Extension (AESE/AESMC and PMULL): a fused AES-CTR +
    /// GHASH kernel on NEON registers.
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

    /// Lower-case name: `scalar`, `avx2`, `avx512`, `neon`.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            Backend::Avx2 => "avx2",
            Backend::Avx512 => "avx512",
            Backend::Neon => "neon",
        }
    }

    /// Whether this build contains the backend.
    pub const fn is_compiled(self) -> bool {
        match self {
            Backend::Scalar => true,
            Backend::Avx2 | Backend::Avx512 => {
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
            Backend::Avx2 => &["aes", "avx2", "vaes", "vpclmulqdq", "pclmulqdq"],
            Backend::Avx512 => &[
                "avx512f",
                "avx512bw",
                "vaes",
                "vpclmulqdq",
                "aes",
                "pclmulqdq",
                "avx2",
            ],
            Backend::Neon => &["neon", "aes"],
        }
    }
}

impl core::fmt::Display for Backend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Length of the GCM nonce: 96 bits (for PSP, SPI ‖ IV).
pub const NONCE_LEN: usize = 12;
/// Length of the GCM tag (the PSP ICV): 128 bits.
pub const TAG_LEN: usize = 16;
/// The longest GCM message a single nonce can protect: 2^36 - 32 bytes of plaintext
/// (SP 800-38D, section 5.2.1.1). Longer ones fail with [`Error::TooLong`].
pub const MAX_MESSAGE_LEN: u64 = (1 << 36) - 32;

/// AES-GCM with a 96-bit nonce and a 16-byte tag, in place over one contiguous buffer:
/// `buf[..aad_len]` is authenticated only, `buf[aad_len..]` is encrypted (or decrypted).
/// `aad_len == buf.len()` is GMAC (authentication only).
///
/// Every backend gives identical results.
pub trait Cipher: Copy + core::fmt::Debug {
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// Encrypts `buf[aad_len..]` in place and returns the tag over `buf[..aad_len]` (AAD)
    /// and the ciphertext.
    ///
    /// # Errors
    /// [`Error::AadLength`] if `aad_len > buf.len()`; [`Error::TooLong`] if the part to
    /// encrypt is longer than [`MAX_MESSAGE_LEN`]. On error `buf` is unchanged.
    fn seal_in_place(
        &self,
        key: &GcmKey,
        nonce: &[u8; NONCE_LEN],
        buf: &mut [u8],
        aad_len: usize,
    ) -> Result<[u8; TAG_LEN], Error>;

    /// Checks `tag` over `buf[..aad_len]` and the ciphertext `buf[aad_len..]` and, only if
    /// it matches, leaves `buf[aad_len..]` decrypted in place. The tag is compared in
    /// constant time.
    ///
    /// # Errors
    /// [`Error::Authentication`] if the tag does not match; [`Error::AadLength`] and
    /// [`Error::TooLong`] as for [`Cipher::seal_in_place`]. On any error `buf` is unchanged
    /// (it still holds the ciphertext): no plaintext is ever left behind by a failed open.
    fn open_in_place(
        &self,
        key: &GcmKey,
        nonce: &[u8; NONCE_LEN],
        buf: &mut [u8],
        aad_len: usize,
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Error>;
}

/// Checks the arguments shared by every backend's seal and open.
pub(crate) fn check_lengths(buf_len: usize, aad_len: usize) -> Result<(), Error> {
    if aad_len > buf_len {
        return Err(Error::AadLength {
            aad_len,
            len: buf_len,
        });
    }
    let text = buf_len - aad_len;
    if u64::try_from(text).map_or(true, |t| t > MAX_MESSAGE_LEN) {
        return Err(Error::TooLong {
            len: text,
            max: usize::try_from(MAX_MESSAGE_LEN).unwrap_or(usize::MAX),
        });
    }
    Ok(())
}

/// The fastest backend this CPU supports, chosen once; cheap to copy and to call. Dispatch
/// is a `match`: no atomics, no function pointers, no heap.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Auto {
    /// See [`Scalar`].
    Scalar(Scalar),
    /// See `Avx2`.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    Avx2(Avx2),
    /// See `Avx512`.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    Avx512(Avx512),
    /// See `Neon`.
    #[cfg(target_arch = "aarch64")]
    Neon(Neon),
}

impl Auto {
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
            Backend::Avx2 => Avx2::new().map(Auto::Avx2),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Backend::Avx512 => Avx512::new().map(Auto::Avx512),
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
            Auto::Avx2($e) => $call,
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx512($e) => $call,
            #[cfg(target_arch = "aarch64")]
            Auto::Neon($e) => $call,
        }
    };
}

impl Cipher for Auto {
    fn backend(&self) -> Backend {
        dispatch!(self, e => e.backend())
    }

    #[inline]
    fn seal_in_place(
        &self,
        key: &GcmKey,
        nonce: &[u8; NONCE_LEN],
        buf: &mut [u8],
        aad_len: usize,
    ) -> Result<[u8; TAG_LEN], Error> {
        dispatch!(self, e => e.seal_in_place(key, nonce, buf, aad_len))
    }

    #[inline]
    fn open_in_place(
        &self,
        key: &GcmKey,
        nonce: &[u8; NONCE_LEN],
        buf: &mut [u8],
        aad_len: usize,
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Error> {
        dispatch!(self, e => e.open_in_place(key, nonce, buf, aad_len, tag))
    }
}
