//! The engine trait ([`Icrc`]), the backend selector ([`Backend`]) and the run-time
//! dispatcher ([`Auto`]).
//!
//! A backend implements one kernel, [`Icrc::crc32`] (CRC-32/ISO-HDLC, zlib's `crc32`
//! continuation); the RoCE v2 rule — the 8-byte 0xFF prefix, the masked copy of the IP, UDP
//! and BTH headers, the in-place pass over the rest, the little-endian placement — is
//! written once in provided methods, so every backend shares it.
//!
//! The masked headers (at most 60 bytes: IPv6 40 + UDP 8 + BTH 12), with leading zeros and
//! the first bytes after them, are copied into a stack buffer of at most [`ICRC_SCRATCH`]
//! bytes so that both it and the rest, hashed in place, are whole 32-byte units (128-byte
//! blocks for large packets); see `masked_icrc`. Nothing is allocated.
//!
//! The exceptions: `Avx2` overrides [`Icrc::compute_packet`] for packets of up to 256 bytes
//! (IPv4 from 40 bytes, IPv6 from 60), which it hashes in place with the mask applied in
//! registers from the same `MASK_V4` / `MASK_V6` (its `icrc_short`); every other packet,
//! and every error, goes through `compute_packet_generic`, the provided method's body. It
//! also overrides [`Icrc::parse_verified`] (and [`Auto`] dispatches that method whole), so
//! that the parse hands what it learned — the IP version, headers known to be there — to
//! the same kernel without `compute_packet`'s checks: the same result and the same errors.
//! `Avx512` overrides both methods the same way, with `Avx2`'s kernel for short packets and
//! its own wide fold for the rest.

#![forbid(unsafe_code)]

#[cfg(target_arch = "aarch64")]
use crate::backend::Neon;
use crate::backend::Scalar;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
use crate::backend::{Avx2, Avx512};
use crate::wire::{Frame, parse};
use crate::{Error, Layer};

/// Which implementation runs. Tests, benches and the CLI iterate [`Backend::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Portable safe Rust (table-driven, slice-by-16), always available: the oracle.
    Scalar,
    /// x86_64 with AVX-512F and 512-bit VPCLMULQDQ.
    Avx512,
    /// x86_64 with AVX2, PCLMULQDQ and 256-bit VPCLMULQDQ (AMD Zen 3 and later, Intel Ice
    /// Lake and later).
    Avx2,
    /// aarch64 with the ARMv8 CRC32 instructions (`crc`).
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

    /// Lower-case name: `scalar`, `avx512`, `neon`.
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

    /// CPU features the backend needs (names as `is_x86_feature_detected!` spells them).
    pub const fn features(self) -> &'static [&'static str] {
        match self {
            Backend::Scalar => &[],
            Backend::Avx512 => &["avx512f", "avx2", "vpclmulqdq", "pclmulqdq", "sse4.1"],
            Backend::Avx2 => &["avx2", "pclmulqdq", "vpclmulqdq", "sse4.1"],
            Backend::Neon => &["neon", "crc"],
        }
    }
}

impl core::fmt::Display for Backend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Room for the masked IP, UDP and BTH headers (at most 60 bytes are used: IPv6 40 + UDP 8 +
/// BTH 12).
pub const MASKED_HEADERS_MAX: usize = 64;

/// The largest stack buffer of [`Icrc::compute_packet`]: leading zeros, the masked headers
/// and the first bytes after them (256 bytes; 128 for packets of up to about 250 bytes).
pub const ICRC_SCRATCH: usize = 256;

/// zlib `crc32` of the 8 bytes of 0xFF that stand for the masked InfiniBand LRH: the state
/// every ICRC starts from.
pub const ICRC_SEED: u32 = 0x2144_DF1C;

/// IP(v4) + UDP + BTH, with 0xFF where the ICRC masks: IPv4 TOS (1), TTL (8), header
/// checksum (10-11); UDP checksum (26-27); BTH byte 4 (FECN, BECN, Resv6a) (32).
pub(crate) const MASK_V4: [u8; 40] = {
    let mut m = [0u8; 40];
    m[1] = 0xFF;
    m[8] = 0xFF;
    m[10] = 0xFF;
    m[11] = 0xFF;
    m[26] = 0xFF;
    m[27] = 0xFF;
    m[32] = 0xFF;
    m
};

/// IPv6 + UDP + BTH, with 1s where the ICRC masks: traffic class and flow label (the low
/// nibble of byte 0, bytes 1-3), hop limit (7); UDP checksum (46-47); BTH byte 4 (52).
pub(crate) const MASK_V6: [u8; 60] = {
    let mut m = [0u8; 60];
    m[0] = 0x0F;
    m[1] = 0xFF;
    m[2] = 0xFF;
    m[3] = 0xFF;
    m[7] = 0xFF;
    m[46] = 0xFF;
    m[47] = 0xFF;
    m[52] = 0xFF;
    m
};

/// Granule of the scratch layout for small packets (one `Avx2` ymm unit).
const SHORT_GRANULE: usize = 32;
/// Granule for large packets (one step of the `Avx2` main loop).
const LONG_GRANULE: usize = 128;
/// The largest message (prefix, masked headers and the rest) laid out with
/// [`SHORT_GRANULE`].
const SHORT_MAX: usize = 256;

/// The ICRC of a packet split into its `H` header bytes (IP, UDP, BTH) and the `rest`.
///
/// With the register at zero, leading zero bytes do not change a CRC. So the message is
/// written as zeros, then the 4 bytes of 0xFF that remain of the 8-byte prefix once the
/// initial register is XORed in (`crc32(!0, ..)` means a zero register), then the masked
/// headers, then the first `r` bytes of `rest`, with as many leading zeros as make this
/// scratch block a whole number of granules; `r` is `rest.len()` modulo the granule, so the
/// rest of `rest` is whole granules too and is hashed in place. The backend sees two parts
/// that are both whole 32-byte units (whole 128-byte blocks for large packets), so its
/// kernel needs no tail handling.
#[inline]
fn masked_icrc<E: Icrc, const H: usize>(
    engine: &E,
    headers: &[u8; H],
    mask: &[u8; H],
    rest: &[u8],
) -> u32 {
    // Eight bytes at a time (a byte loop against a mostly-zero constant mask is compiled
    // into one instruction per byte).
    let mut masked = *headers;
    let (words, tail) = masked.as_chunks_mut::<8>();
    let (mask_words, mask_tail) = mask.as_chunks::<8>();
    for (w, m) in words.iter_mut().zip(mask_words) {
        *w = (u64::from_ne_bytes(*w) | u64::from_ne_bytes(*m)).to_ne_bytes();
    }
    for (b, m) in tail.iter_mut().zip(mask_tail) {
        *b |= m;
    }
    let prefixed = H.saturating_add(4);
    if prefixed.saturating_add(rest.len()) <= SHORT_MAX {
        let r = rest.len() % SHORT_GRANULE;
        let mut scratch = [0u8; 4 * SHORT_GRANULE];
        let len = lay_out(&mut scratch, &masked, rest, r, SHORT_GRANULE);
        let first = scratch.get(..len).unwrap_or(&[]);
        engine.crc32_parts(!0, first, rest.get(r..).unwrap_or(&[]))
    } else {
        let r = rest.len() % LONG_GRANULE;
        let mut scratch = [0u8; ICRC_SCRATCH];
        let len = lay_out(&mut scratch, &masked, rest, r, LONG_GRANULE);
        let first = scratch.get(..len).unwrap_or(&[]);
        engine.crc32_parts(!0, first, rest.get(r..).unwrap_or(&[]))
    }
}

/// Writes zeros, 0xFF × 4, `masked` and `rest[..r]` into the zeroed `scratch`, the zeros
/// making the whole a multiple of `granule`; returns its length. `r < granule`.
#[inline]
fn lay_out<const S: usize, const H: usize>(
    scratch: &mut [u8; S],
    masked: &[u8; H],
    rest: &[u8],
    r: usize,
    granule: usize,
) -> usize {
    let used = H.saturating_add(4).saturating_add(r);
    let len = used.next_multiple_of(granule);
    let at = len.saturating_sub(used);
    if let Some((ff, tail)) = scratch
        .get_mut(at..)
        .and_then(<[u8]>::split_first_chunk_mut::<4>)
        && let Some((h, tail)) = tail.split_first_chunk_mut::<H>()
    {
        *ff = [0xFF; 4];
        *h = *masked;
        // A whole granule when there is one (a fixed-size copy; the bytes past `r` are not
        // hashed), else all of `rest` (then `r == rest.len()`).
        match (rest.get(..granule), tail.get_mut(..granule)) {
            (Some(src), Some(d)) => d.copy_from_slice(src),
            _ => {
                if let (Some(src), Some(d)) = (rest.get(..r), tail.get_mut(..r)) {
                    d.copy_from_slice(src);
                }
            }
        }
    }
    len
}

/// The RoCE v2 invariant CRC. Implemented by [`Scalar`], `Avx2`, `Avx512`, `Neon` and [`Auto`];
/// all give identical results on every input.
///
/// The rule (IBTA Annex A17, as implemented by Linux rxe and scapy): CRC-32 (the Ethernet /
/// zlib CRC, reflected polynomial 0xEDB88320, init and final XOR 0xFFFFFFFF) over 8 bytes
/// of 0xFF, then the IP header with IPv4 TOS, TTL and checksum (IPv6 traffic class, flow
/// label and hop limit) set to ones, the UDP header with its checksum set to ones, the BTH
/// with byte 4 set to ones, then the ETHs, payload and pad as they are. The 4-byte ICRC
/// follows the pad, least significant byte first.
pub trait Icrc: Copy + core::fmt::Debug {
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// zlib-style CRC-32 continuation: `crc32(crc32(0, a), b) == crc32(0, a ++ b)`.
    fn crc32(&self, crc: u32, data: &[u8]) -> u32;

    /// `crc32(crc, first ++ rest)` without concatenating. A backend may override it to carry
    /// its folding state across the two parts instead of reducing in between.
    fn crc32_parts(&self, crc: u32, first: &[u8], rest: &[u8]) -> u32 {
        self.crc32(self.crc32(crc, first), rest)
    }

    /// The ICRC of a packet given from its IP header to the byte before the ICRC (so
    /// [`Frame::icrc_covered`]). The IP version comes from the first nibble.
    ///
    /// # Errors
    /// [`Error::IpVersion`] unless the version is 4 or 6; [`Error::Truncated`] if the
    /// IP, UDP and BTH headers do not fit.
    fn compute_packet(&self, packet: &[u8]) -> Result<u32, Error> {
        compute_packet_generic(self, packet)
    }

    /// The ICRC of a parsed frame (what its last 4 bytes should hold, read little-endian).
    fn compute(&self, frame: &Frame<'_>) -> u32 {
        // A parsed frame always holds its IP, UDP and BTH headers, so this cannot fail.
        self.compute_packet(frame.icrc_covered())
            .unwrap_or_default()
    }

    /// Checks a parsed frame's ICRC.
    ///
    /// # Errors
    /// [`Error::IcrcMismatch`] with both values when it is wrong.
    fn verify(&self, frame: &Frame<'_>) -> Result<(), Error> {
        verify_covered(self, frame.icrc_covered(), frame.icrc())
    }

    /// [`parse`] then [`verify`](Self::verify).
    ///
    /// # Errors
    /// Those of [`parse`], then [`Error::IcrcMismatch`].
    fn parse_verified<'a>(&self, frame: &'a [u8]) -> Result<Frame<'a>, Error> {
        crate::wire::parse_checked(frame, |covered, _, stored| {
            verify_covered(self, covered, stored)
        })
    }

    /// Recomputes and rewrites the ICRC of the frame in `frame` (after a header rewrite that
    /// the ICRC covers: addresses, ports, P_Key, QP, PSN, …). Returns the new ICRC.
    ///
    /// # Errors
    /// Those of [`parse`]; on error nothing is written.
    fn refill(&self, frame: &mut [u8]) -> Result<u32, Error> {
        let (crc, at) = {
            let parsed = parse(frame)?;
            (self.compute(&parsed), parsed.offsets().icrc)
        };
        if let Some(dst) = frame.get_mut(at..).and_then(|s| s.first_chunk_mut::<4>()) {
            *dst = crc.to_le_bytes();
        }
        Ok(crc)
    }
}

/// [`Icrc::compute_packet`] as every backend computes it unless it overrides the method (`Avx2`
/// and `Avx512` do for short packets and come back here for the rest).
///
/// # Errors
/// Those of [`Icrc::compute_packet`].
#[inline]
pub(crate) fn compute_packet_generic<E: Icrc>(engine: &E, packet: &[u8]) -> Result<u32, Error> {
    let version = packet.first().map_or(0, |b| b >> 4);
    let (mask, layer): (&[u8], Layer) = match version {
        4 => (&MASK_V4, Layer::Ipv4),
        6 => (&MASK_V6, Layer::Ipv6),
        _ => return Err(Error::IpVersion { version }),
    };
    let Some((headers, rest)) = packet.split_at_checked(mask.len()) else {
        return Err(Error::Truncated {
            layer,
            offset: 0,
            needed: mask.len(),
            available: packet.len(),
        });
    };
    Ok(
        match (headers.first_chunk::<40>(), headers.first_chunk::<60>()) {
            (_, Some(v6)) if version == 6 => masked_icrc(engine, v6, &MASK_V6, rest),
            (Some(v4), _) => masked_icrc(engine, v4, &MASK_V4, rest),
            _ => 0, // unreachable: `headers` is one of the two lengths
        },
    )
}

/// The provided [`Icrc::verify`], given the bytes the ICRC covers and the ICRC as stored
/// (what [`Frame::icrc_covered`] and [`Frame::icrc`] give), so that `parse_verified` can
/// check before it builds the frame.
#[inline]
fn verify_covered<E: Icrc>(engine: &E, covered: &[u8], stored: u32) -> Result<(), Error> {
    // The covered bytes of a parsed frame always hold the IP, UDP and BTH headers, so
    // `compute_packet` cannot fail (as in `compute`).
    check_icrc(engine.compute_packet(covered).unwrap_or_default(), stored)
}

/// `Ok` when the computed ICRC is the stored one, else [`Error::IcrcMismatch`].
#[inline]
pub(crate) fn check_icrc(computed: u32, stored: u32) -> Result<(), Error> {
    if computed == stored {
        Ok(())
    } else {
        Err(Error::IcrcMismatch { computed, stored })
    }
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

impl Icrc for Auto {
    fn backend(&self) -> Backend {
        match self {
            Auto::Scalar(e) => e.backend(),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx512(e) => e.backend(),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx2(e) => e.backend(),
            #[cfg(target_arch = "aarch64")]
            Auto::Neon(e) => e.backend(),
        }
    }

    fn crc32(&self, crc: u32, data: &[u8]) -> u32 {
        match self {
            Auto::Scalar(e) => e.crc32(crc, data),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx512(e) => e.crc32(crc, data),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx2(e) => e.crc32(crc, data),
            #[cfg(target_arch = "aarch64")]
            Auto::Neon(e) => e.crc32(crc, data),
        }
    }

    #[inline]
    fn compute_packet(&self, packet: &[u8]) -> Result<u32, Error> {
        // Dispatched whole, so that a backend's own `compute_packet` (Avx2's, Avx512's) is
        // used.
        match self {
            Auto::Scalar(e) => e.compute_packet(packet),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx512(e) => e.compute_packet(packet),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx2(e) => e.compute_packet(packet),
            #[cfg(target_arch = "aarch64")]
            Auto::Neon(e) => e.compute_packet(packet),
        }
    }

    #[inline]
    fn parse_verified<'a>(&self, frame: &'a [u8]) -> Result<Frame<'a>, Error> {
        // `Avx2` and `Avx512` have their own (the parse and `Avx2`'s ICRC kernel as one
        // function).
        match self {
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx2(e) => e.parse_verified(frame),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx512(e) => e.parse_verified(frame),
            _ => crate::wire::parse_checked(frame, |covered, _, stored| {
                verify_covered(self, covered, stored)
            }),
        }
    }

    fn crc32_parts(&self, crc: u32, first: &[u8], rest: &[u8]) -> u32 {
        match self {
            Auto::Scalar(e) => e.crc32_parts(crc, first, rest),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx512(e) => e.crc32_parts(crc, first, rest),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx2(e) => e.crc32_parts(crc, first, rest),
            #[cfg(target_arch = "aarch64")]
            Auto::Neon(e) => e.crc32_parts(crc, first, rest),
        }
    }
}
