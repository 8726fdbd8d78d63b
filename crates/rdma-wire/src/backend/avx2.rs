//! The x86_64 carry-less-multiply backend: AVX2 with PCLMULQDQ and VPCLMULQDQ (256-bit).
//! For CPUs without AVX-512 — AMD Zen 3, the machines this project runs on today — and the
//! 256-bit half of Intel's.
//!
//! Algorithm: CRC folding (Gopal et al., "Fast CRC Computation for Generic Polynomials Using
//! PCLMULQDQ Instruction", Intel, 2009), for the reflected CRC-32 (0xEDB88320). A 128-bit
//! chunk `x = hi·x^64 + lo` followed by `d` more bits is congruent, modulo P, to
//! `lo·K_a + hi·K_b` with `K_a = x^(d+32)`, `K_b = x^(d-32)` mod P (bit-reflected, shifted
//! left by one: the reflected domain). So:
//!
//! ```text
//! 4 ymm accumulators (8 lanes of 128 bits, 128 bytes) = the first 128 bytes, CRC XORed in;
//! for each further 128 bytes:  y_i = clmul(y_i.lo, K1024a) ^ clmul(y_i.hi, K1024b) ^ next_i
//! fold the 8 lanes into one: lane j times the constants for 7 - j lanes ahead, all XORed;
//! fold each further 16 bytes with K128a, K128b;
//! 128 -> 64 -> 32 bits, then a Barrett reduction (P, u = x^64 / P) gives the register;
//! the last 0..15 bytes go through the table-driven `Scalar`.
//! ```
//!
//! The four accumulators are independent, so four multiply chains overlap their latency; each
//! `vpclmulqdq` does two 64x64 products. The constants are computed from the polynomial (the
//! 128-bit ones equal those published with the paper and used by zlib, crc32fast and Linux);
//! `tests/backends.rs` checks every length and split against `Scalar`.
//!
//! Short messages of whole 32-byte units (up to 256 bytes: the ICRC of a small packet, laid
//! out that way by the engine) skip the chain: see `fold_short`, where every 128-bit block is
//! multiplied by the constant for its own distance to the end and the products are summed.
//! On the ICRC of a 64-byte-payload packet (124 bytes hashed) this took the engine's
//! `compute_packet` from about 51 ns to about 27 ns (Zen 3 guest, best of 15 interleaved
//! runs on a shared host); libdeflate's CRC-32 of the same bytes took about 41 ns.
//!
//! `compute_packet` goes further for packets of up to 256 bytes (`icrc_short`): the same
//! sum of independent products, but over 16-byte blocks loaded from the packet in place, the
//! mask applied in registers, so the masked copy into a stack buffer (and the failed
//! store-to-load forwarding of reading it back with wide loads) is gone. On the same packet
//! it took `compute_packet` from about 33 ns to about 22 ns (libdeflate about 43 ns; Zen 3
//! guest, shared host, interleaved runs).
//!
//! Then three changes to `icrc_short`: the last block is multiplied too (by `x^96`, `x^32`),
//! so the products sum to a 96-bit remainder and the reduction after them is three dependent
//! multiplications, not four (`reduce96`); the masked bits are cleared with one AND per
//! block and the constant part of the message (the ones, the prefix's register) enters as
//! a precomputed register per packet length; the loop reads the packet and the constants
//! through pointers whose bounds follow from the loop's invariants. With `parse_verified`
//! compiled as one function with the kernel (below), `compute_packet` of the same packet went
//! from about 17.5 ns to about 12.2 ns (AMD EPYC Zen 3 KVM guest, 2.9 GHz, shared host;
//! the old and new crates in one process, interleaved, best of 40 runs of 10^6 calls).
//!
//! `parse_verified` is compiled with this backend's features, so the parse and `icrc_short`
//! are one function: the parse knows the IP version and that the headers are there, and
//! hands the covered bytes straight to the kernel (`compute_parsed`), without
//! `compute_packet`'s checks, its `Result` or a call. With the parse's own fast path for the
//! usual frame, `parse_verified` of an IPv4 RC WRITE Only frame with a 64-byte payload went
//! from about 34-35 ns (29 Mpps) to about 19-20 ns (50-52 Mpps), same machine and method.
//!
//! Measured on AMD Zen 3 (best of 5, one core): 24 GB/s at 4 KiB and 23-25 GB/s at 64 KiB,
//! the same as `crc32fast`'s 128-bit PCLMULQDQ loop. Eight accumulators (256 bytes a step)
//! measured no faster: the carry-less multiplier is the limit there, not latency.

use core::arch::x86_64::{
    __m128i, __m256i, _mm_and_si128, _mm_blendv_epi8, _mm_clmulepi64_si128, _mm_cvtsi32_si128,
    _mm_extract_epi32, _mm_loadu_si128, _mm_set_epi64x, _mm_setzero_si128, _mm_shuffle_epi8,
    _mm_srli_si128, _mm_xor_si128, _mm256_and_si256, _mm256_castsi128_si256,
    _mm256_castsi256_si128, _mm256_clmulepi64_epi128, _mm256_extracti128_si256,
    _mm256_inserti128_si256, _mm256_loadu_si256, _mm256_set_epi64x, _mm256_setzero_si256,
    _mm256_xor_si256,
};

use crate::backend::Scalar;
use crate::engine::{
    Backend, ICRC_SEED, Icrc, MASK_V4, MASK_V6, check_icrc, compute_packet_generic,
};
use crate::error::Error;
use crate::wire::Frame;

/// The AVX2 + VPCLMULQDQ backend. A value exists only on CPUs (and OSes) with every feature
/// in [`Avx2::FEATURES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Avx2 {
    _detected: (),
}

impl Avx2 {
    /// The CPU features this backend needs.
    pub const FEATURES: &'static [&'static str] = &["avx2", "pclmulqdq", "vpclmulqdq", "sse4.1"];

    /// The backend, if this CPU (and OS) support it.
    pub fn new() -> Option<Self> {
        crate::detect::avx2_clmul().then_some(Self { _detected: () })
    }

    /// The ICRC of the bytes a frame's ICRC covers, as [`crate::wire::parse_checked`] found
    /// them (IPv6 or IPv4 headers, so at least 60 or 40 bytes): what `compute_packet` gives
    /// for them, without its checks of the version and length. Packets longer than
    /// `icrc_short` takes go to `long`'s fold (this backend's, or `Avx512`'s).
    #[inline]
    fn compute_parsed<L: Icrc>(self, long: L, covered: &[u8], ipv6: bool) -> u32 {
        if covered.len() > SHORT_PACKET_MAX {
            return compute_long(long, covered);
        }
        let masks = if ipv6 {
            &SHORT_MASKS_V6
        } else {
            &SHORT_MASKS_V4
        };
        // SAFETY: as in `crc32`, the value proves the features are present.
        !unsafe { icrc_short(covered, masks) }
    }

    /// [`Icrc::compute_packet`] with this backend's short-packet kernel, and `long`'s fold
    /// for every other packet. `Avx512` uses it too: the same kernel, its own wide fold.
    ///
    /// # Errors
    /// Those of [`Icrc::compute_packet`].
    #[inline]
    pub(super) fn compute_packet_with<L: Icrc>(
        self,
        long: &L,
        packet: &[u8],
    ) -> Result<u32, Error> {
        // Short packets (the ICRC of a 64-byte payload covers 120 bytes) are hashed in place
        // by `icrc_short`, the mask applied in registers; the rest, and every packet that
        // would be an error, take the engine's general path.
        let masks = match packet.first().map(|b| b >> 4) {
            Some(4) if packet.len() >= MASK_V4.len() => &SHORT_MASKS_V4,
            Some(6) if packet.len() >= MASK_V6.len() => &SHORT_MASKS_V6,
            _ => return compute_packet_generic(long, packet),
        };
        if packet.len() > SHORT_PACKET_MAX {
            return compute_packet_generic(long, packet);
        }
        // SAFETY: as in `crc32`, the value proves the features are present.
        Ok(!unsafe { icrc_short(packet, masks) })
    }

    /// [`Icrc::parse_verified`] as one function with this backend's short-packet kernel,
    /// and `long`'s fold for longer packets. `Avx512` uses it too.
    ///
    /// # Errors
    /// Those of [`Icrc::parse_verified`].
    #[inline]
    pub(super) fn parse_verified_with<'a, L: Icrc>(
        self,
        long: L,
        frame: &'a [u8],
    ) -> Result<Frame<'a>, Error> {
        // SAFETY: as in `crc32`, the value proves the features are present.
        unsafe { parse_verified(self, long, frame) }
    }

    /// The backend without detection.
    ///
    /// # Safety
    /// The running CPU must support every feature in [`Self::FEATURES`] and the OS must have
    /// enabled the YMM state.
    pub const unsafe fn new_unchecked() -> Self {
        Self { _detected: () }
    }
}

/// `compute_packet` of a packet longer than `icrc_short` takes, out of line so that the
/// short path inlined into `parse_verified` stays small.
#[inline(never)]
fn compute_long<L: Icrc>(long: L, covered: &[u8]) -> u32 {
    compute_packet_generic(&long, covered).unwrap_or_default()
}

/// [`Icrc::parse_verified`] compiled with the kernel's features, so that the parse and the
/// ICRC kernel are one function: the parse knows the IP version and that the headers are
/// there, so the ICRC goes straight to `icrc_short`.
#[target_feature(enable = "avx2,pclmulqdq,vpclmulqdq,sse4.1")]
fn parse_verified<L: Icrc>(engine: Avx2, long: L, frame: &[u8]) -> Result<Frame<'_>, Error> {
    crate::wire::parse_checked(
        frame,
        #[inline(always)]
        |covered, ipv6, stored| check_icrc(engine.compute_parsed(long, covered, ipv6), stored),
    )
}

/// Below this many bytes the table is as fast as setting up the fold.
const MIN_FOLD: usize = 64;

impl Icrc for Avx2 {
    fn backend(&self) -> Backend {
        Backend::Avx2
    }

    fn crc32(&self, crc: u32, data: &[u8]) -> u32 {
        if data.len() < MIN_FOLD {
            return Scalar.crc32(crc, data);
        }
        // SAFETY: an `Avx2` value exists only after detection (`new`) or the caller's promise
        // (`new_unchecked`), so avx2, pclmulqdq and vpclmulqdq are present.
        let (register, rest) = unsafe { fold(!crc, &[], data) };
        Scalar.crc32(!register, rest)
    }

    fn compute_packet(&self, packet: &[u8]) -> Result<u32, Error> {
        self.compute_packet_with(self, packet)
    }

    #[inline]
    fn parse_verified<'a>(&self, frame: &'a [u8]) -> Result<Frame<'a>, Error> {
        self.parse_verified_with(*self, frame)
    }

    fn crc32_parts(&self, crc: u32, first: &[u8], rest: &[u8]) -> u32 {
        // Short messages in whole 32-byte units (the ICRC of a small packet): every unit is
        // folded straight to the end with its own constant, no dependency chain.
        if let ((a, []), (b, [])) = (first.as_chunks::<32>(), rest.as_chunks::<32>())
            && !(a.is_empty() && b.is_empty())
            && a.len().saturating_add(b.len()) <= SHORT_UNITS
        {
            // SAFETY: as in `crc32`, the value proves the features are present.
            return !unsafe { fold_short(!crc, a, b) };
        }
        // One fold through both when `first` is whole 128-byte blocks: no reduction between
        // the parts (the ICRC's header block is 128 or 256 bytes whenever the packet is long).
        match first.as_chunks::<128>() {
            (head, []) if !head.is_empty() => {
                // SAFETY: as in `crc32`, the value proves the features are present.
                let (register, tail) = unsafe { fold(!crc, head, rest) };
                Scalar.crc32(!register, tail)
            }
            _ => self.crc32(self.crc32(crc, first), rest),
        }
    }
}

// Folding constants, `(x^n mod P)` bit-reflected and shifted left by one, for the distances
// the kernel folds across (n = distance + 32 and distance - 32).
/// 1024 bits (eight 128-bit lanes ahead).
const K1024: (i64, i64) = (0x1_e88e_f372, 0x1_4a7f_e880);
/// 128 bits (the next lane).
pub(super) const K128: (i64, i64) = (0x1_7519_97d0, 0x0_ccaa_009e);
/// 64 bits, for the 64 -> 32 step.
const K64: i64 = 0x1_63cd_6124;
/// P(x) and u = floor(x^64 / P(x)), reflected, for the Barrett reduction.
const P_X: i64 = 0x1_db71_0641;
const U_PRIME: i64 = 0x1_f701_1641;

/// The most 32-byte units [`fold_short`] takes (256 bytes).
const SHORT_UNITS: usize = 8;

/// `x^n mod P` in the reflected domain, shifted left by one (the form the folds multiply by).
const fn xpow_reflected(n: u32) -> i64 {
    // Non-reflected arithmetic modulo P = x^32 + 0x04C11DB7, then bit-reversed.
    let mut r: u32 = 1;
    let mut i = 0;
    while i < n {
        let carry = r & 0x8000_0000 != 0;
        r <<= 1;
        if carry {
            r ^= 0x04C1_1DB7;
        }
        i += 1;
    }
    ((r.reverse_bits() as u64) << 1).cast_signed()
}

/// The pair that folds a 128-bit block across `blocks` further 128-bit blocks:
/// `(x^(128·blocks + 32), x^(128·blocks - 32))`; zero for `blocks == 0`.
pub(super) const fn fold_pair(blocks: u32) -> (i64, i64) {
    if blocks == 0 {
        (0, 0)
    } else {
        (
            xpow_reflected(128 * blocks + 32),
            xpow_reflected(128 * blocks - 32),
        )
    }
}

/// For the unit `m` units before the last one of a short message: the constants of its low
/// lane (`2m + 1` blocks from the last block) and of its high lane (`2m` blocks), as the
/// 32 bytes of a ymm register.
const SHORT_K: [[u8; 32]; SHORT_UNITS] = {
    let mut t = [[0u8; 32]; SHORT_UNITS];
    let mut m: u32 = 0;
    while (m as usize) < SHORT_UNITS {
        let (lo_a, lo_b) = fold_pair(2 * m + 1);
        let (hi_a, hi_b) = fold_pair(2 * m);
        let words = [lo_a, lo_b, hi_a, hi_b];
        let mut w = 0;
        while w < 4 {
            let bytes = words[w].to_le_bytes();
            let mut b = 0;
            while b < 8 {
                t[m as usize][w * 8 + b] = bytes[b];
                b += 1;
            }
            w += 1;
        }
        m += 1;
    }
    t
};

/// The raw register after `first` then `rest`, whole 32-byte units, at most [`SHORT_UNITS`]
/// of them in all, at least one.
///
/// Algorithm: a message of 128-bit blocks `b_0 … b_{n-1}` is congruent, modulo P, to
/// `b_{n-1} ^ XOR_i fold(b_i, n-1-i)`, where `fold(b, d) = b.lo·x^(128d+32) ^
/// b.hi·x^(128d-32)` is the 96-bit product that moves a block `d` blocks ahead. Every
/// product is independent of the others (unlike the chain of the long path, where each
/// 16-byte step waits for the one before): unit `m` units from the end multiplies its two
/// lanes by `SHORT_K[m]` in one `vpclmulqdq` pair, the products are XORed together, the last
/// block (the high lane of the last unit, whose constant is zero) is XORed in, and the
/// 128 bits are reduced as in the long path. The register is XORed into the first 4 bytes.
#[target_feature(enable = "avx2,pclmulqdq,vpclmulqdq,sse4.1")]
fn fold_short(register: u32, first: &[[u8; 32]], rest: &[[u8; 32]]) -> u32 {
    debug_assert!((1..=SHORT_UNITS).contains(&(first.len() + rest.len())));
    let mut m = (first.len() + rest.len()).min(SHORT_UNITS);
    let mut acc = widen(0);
    let mut reg = widen(register);
    let mut last = _mm256_castsi256_si128(acc);
    for unit in first.iter().chain(rest) {
        m = m.saturating_sub(1);
        let u = _mm256_xor_si256(load32(unit), reg);
        reg = widen(0);
        let k = load32(&SHORT_K[m.min(SHORT_UNITS - 1)]);
        let lo = _mm256_clmulepi64_epi128::<0x00>(u, k);
        let hi = _mm256_clmulepi64_epi128::<0x11>(u, k);
        acc = _mm256_xor_si256(acc, _mm256_xor_si256(lo, hi));
        last = _mm256_extracti128_si256::<1>(u);
    }
    let x = _mm_xor_si128(
        _mm_xor_si128(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256::<1>(acc),
        ),
        last,
    );
    reduce(x, _mm_set_epi64x(K128.1, K128.0))
}

/// The longest packet (IP header to pad) that [`icrc_short`] takes: 16 blocks of 16 bytes.
const SHORT_PACKET_MAX: usize = 256;

/// How [`icrc_short`] masks a packet. The ICRC message is the packet with its masked bits
/// set to ones and the register the 8-byte 0xFF prefix leaves (`!ICRC_SEED`) XORed into its
/// first 4 bytes, hashed from a zero register. A CRC from a zero register is linear, so that
/// is the CRC of the packet with the masked bits cleared (`keep`, one AND per block) XORed
/// with the CRC of the constant part — the ones and the register, followed by zeros to the
/// packet's length — which depends on the length only (`fixed`).
struct ShortMasks {
    /// At packet offsets -16 to 111 (index = offset + 16): 0 at the masked bits (and before
    /// the packet), 1 elsewhere.
    keep: [u8; 128],
    /// The raw register of the constant part for every packet length up to
    /// [`SHORT_PACKET_MAX`] (0 below the mask's length: not used).
    fixed: [u32; SHORT_PACKET_MAX + 1],
}

/// [`ShortMasks`] for a mask of `N` header bytes.
const fn short_masks<const N: usize>(mask: &[u8; N]) -> ShortMasks {
    let mut keep = [0xFFu8; 128];
    let mut i = 0;
    while i < 16 {
        keep[i] = 0;
        i += 1;
    }
    // The constant part: the mask's ones, the register XORed into the first 4 bytes.
    let mut constant = *mask;
    let register = (!ICRC_SEED).to_le_bytes();
    let mut i = 0;
    while i < N {
        keep[16 + i] = !mask[i];
        if i < 4 {
            constant[i] ^= register[i];
        }
        i += 1;
    }
    // Its raw register (reflected CRC-32 from zero, a bit at a time), then one zero byte
    // more for each further length.
    const fn byte(mut crc: u32, b: u8) -> u32 {
        crc ^= b as u32;
        let mut k = 0;
        while k < 8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
            k += 1;
        }
        crc
    }
    let mut fixed = [0u32; SHORT_PACKET_MAX + 1];
    let mut crc = 0;
    let mut len = 0;
    while len <= SHORT_PACKET_MAX {
        if len >= N {
            fixed[len] = crc;
        }
        crc = byte(crc, if len < N { constant[len] } else { 0 });
        len += 1;
    }
    ShortMasks { keep, fixed }
}

static SHORT_MASKS_V4: ShortMasks = short_masks(&MASK_V4);
static SHORT_MASKS_V6: ShortMasks = short_masks(&MASK_V6);

/// Pairs of blocks at packet offsets below this may hold masked or XORed bytes (the masks
/// end at 60); from it on a pair is hashed as it is.
const MASKED_END: usize = 64;

/// PSHUFB controls: 16 × `0x80` (bit 7 set gives a zero byte), then 0 to 15, then 16 ×
/// `0x80`. At `[h..h + 16]` (`h` in 1..=16) they move the first `h` bytes of a block to its
/// end, zeros before them (byte `i` takes byte `i + h - 16`); at `[h + 16..h + 32]` (`h` in
/// 1..=15, [`fold_tail`]) byte `i` takes byte `i + h` and the top `h` bytes are marked (bit
/// 7 set) for a blend.
const SHIFT_IN: [u8; 48] = {
    let mut t = [0x80u8; 48];
    let mut i: u8 = 0;
    while i < 16 {
        t[16 + i as usize] = i;
        i += 1;
    }
    t
};

/// The constants that fold a 16-byte block ending `d` blocks before the end of a message
/// (d = 15, 14, …, 0, most distant first, 16 bytes each, so that two neighbouring blocks
/// find theirs in one 32-byte load) straight into the 96-bit remainder that
/// [`reduce96`] takes: `[x^(128d+96), x^(128d+32)]` for its low and high 64 bits (the 64-bit
/// piece `e` bits before the end is congruent to its product with `x^(e+32)`, 96 bits).
const BLOCK_K: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut j: u32 = 0;
    while j < 16 {
        let d = 15 - j;
        let a = xpow_reflected(128 * d + 96).to_le_bytes();
        let b = xpow_reflected(128 * d + 32).to_le_bytes();
        let mut i = 0;
        while i < 8 {
            t[16 * j as usize + i] = a[i];
            t[16 * j as usize + 8 + i] = b[i];
            i += 1;
        }
        j += 1;
    }
    t
};

/// The raw CRC register (to be inverted) of the ICRC message of `packet`, 16 to
/// [`SHORT_PACKET_MAX`] bytes from the IP header to the pad, hashed in place; 0 for any
/// other length (not called with one).
///
/// Algorithm: the message is the packet itself, masked, its first 4 bytes XORed with the
/// register the 8-byte 0xFF prefix leaves, hashed from a zero register — so leading zero
/// bytes change nothing, and the packet is cut into 16-byte blocks from its end: a head of
/// `h` = 1 to 16 bytes, shifted to the end of a block of zeros by one PSHUFB (its controls
/// loaded at offset `h` of `SHIFT_IN`), then whole blocks loaded in place. The masked bits
/// of the blocks in the first 64 bytes are cleared with an AND by `masks.keep` loaded at the
/// block's offset, so no masked copy is written to memory and read back (a store-to-load
/// forward that fails when a wide load spans narrower stores); the constant part of the
/// message (see [`ShortMasks`]) is XORed into the register at the end, from
/// `masks.fixed[len]`. Every block, the last one included, is multiplied with the pair for
/// its own distance to the end (`BLOCK_K`) straight into a 96-bit value congruent to the
/// message: one `vpclmulqdq` pair per two blocks (a lone head takes a 128-bit pair), all
/// independent. Their XOR is reduced by [`reduce96`]: three dependent multiplications after
/// the independent ones, where folding the last block in unmultiplied left four. For the 120
/// bytes of a 64-byte-payload packet: 8 blocks, 8 `vpclmulqdq` (16 products), then 3.
#[inline]
#[target_feature(enable = "avx2,pclmulqdq,vpclmulqdq,sse4.1")]
fn icrc_short(packet: &[u8], masks: &ShortMasks) -> u32 {
    let len = packet.len();
    let Some(first) = packet.first_chunk::<16>() else {
        return 0;
    };
    if len > SHORT_PACKET_MAX {
        return 0;
    }
    let keep = &masks.keep;
    let head_len = (len - 1) % 16 + 1;
    // Blocks with the head: 1 to 16. The head's constants are those of distance
    // `blocks - 1`, at `BLOCK_K[256 - 16 * blocks..]`; a pair of blocks starting at packet
    // offset `at` has its constants at `BLOCK_K[256 - (len - at)..]`.
    let blocks = (len - head_len) / 16 + 1;
    let head = _mm_and_si128(
        _mm_shuffle_epi8(load16(first), table16(&SHIFT_IN, head_len)),
        table16(keep, head_len),
    );
    let k_head = 256 - 16 * blocks;
    // The head alone when the blocks are odd in number, else paired with the next block;
    // `at` is the offset of the first block after it.
    let (mut acc, mut at) = if blocks % 2 == 1 {
        let x = fold128(head, table16(&BLOCK_K, k_head));
        (_mm256_castsi128_si256(x), head_len)
    } else {
        let next = table16(packet, head_len); // always there: blocks >= 2
        let next = _mm_and_si128(next, table16(keep, head_len + 16));
        let v = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(head), next);
        (fold256(v, table32(&BLOCK_K, k_head)), head_len + 16)
    };
    // Then whole pairs up to the end: `len - at` is a multiple of 32. Those that start in the
    // first 64 bytes are masked.
    let base = packet.as_ptr();
    while at < len {
        // SAFETY: `len - at` is a positive multiple of 32, so `at + 32 <= len`: the 32 bytes
        // at `at` are in `packet`. The load has no alignment requirement.
        let mut v = unsafe { _mm256_loadu_si256(base.add(at).cast()) };
        if at < MASKED_END {
            // `at + 16 + 32 <= 64 + 16 + 32 <= 128`: in the mask tables.
            v = _mm256_and_si256(v, table32(keep, at + 16));
        }
        let k = BLOCK_K.as_ptr();
        // SAFETY: `len - at` is a multiple of 32 from 32 (above) to 255 (`at >= head_len >= 1`
        // and `len <= 256`), so the 32 bytes at `256 - (len - at)` are in `BLOCK_K`. The load
        // has no alignment requirement.
        let kk = unsafe { _mm256_loadu_si256(k.add(256 - (len - at)).cast()) };
        acc = _mm256_xor_si256(acc, fold256(v, kk));
        at += 32;
    }
    let x = _mm_xor_si128(
        _mm256_castsi256_si128(acc),
        _mm256_extracti128_si256::<1>(acc),
    );
    let fixed = masks.fixed.get(len).copied().unwrap_or_default();
    reduce96(x) ^ fixed
}

/// Both 128-bit lanes of `v` times their pairs of constants in `k`, XORed: each lane
/// `v.lo·k.lo ^ v.hi·k.hi`.
#[inline]
#[target_feature(enable = "avx2,vpclmulqdq")]
fn fold256(v: __m256i, k: __m256i) -> __m256i {
    _mm256_xor_si256(
        _mm256_clmulepi64_epi128::<0x00>(v, k),
        _mm256_clmulepi64_epi128::<0x11>(v, k),
    )
}

/// The 16 (32) bytes of a table at `at`, or zeros past its end. `table16` is shared with
/// the `Avx512` backend.
#[inline]
#[target_feature(enable = "sse2")]
pub(super) fn table16(table: &[u8], at: usize) -> __m128i {
    match table.get(at..).and_then(<[u8]>::first_chunk::<16>) {
        Some(t) => load16(t),
        None => _mm_setzero_si128(),
    }
}
#[inline]
#[target_feature(enable = "avx")]
fn table32(table: &[u8], at: usize) -> __m256i {
    match table.get(at..).and_then(<[u8]>::first_chunk::<32>) {
        Some(t) => load32(t),
        None => _mm256_setzero_si256(),
    }
}

/// Folds `head` (whole 128-byte chunks, possibly none) then `data` into the raw CRC register
/// `register` (not inverted), as one message; returns the register after the longest prefix
/// that is a multiple of 16 bytes, and the remaining 0..15 bytes of `data`.
#[target_feature(enable = "avx2,pclmulqdq,vpclmulqdq,sse4.1")]
fn fold<'a>(register: u32, head: &[[u8; 128]], data: &'a [u8]) -> (u32, &'a [u8]) {
    let k128 = _mm_set_epi64x(K128.1, K128.0);
    let (mut x, mut rest) = match head.split_first() {
        Some((first, middle)) => fold_wide(register, first, middle, data),
        None => match data.split_first_chunk::<128>() {
            Some((first, rest)) if rest.len() >= 128 => fold_wide(register, first, &[], rest),
            _ => match data.split_first_chunk::<16>() {
                Some((first, rest)) => (
                    _mm_xor_si128(load16(first), _mm_cvtsi32_si128(register.cast_signed())),
                    rest,
                ),
                None => return (register, data),
            },
        },
    };
    while let Some((next, tail)) = rest.split_first_chunk::<16>() {
        x = _mm_xor_si128(fold128(x, k128), load16(next));
        rest = tail;
    }
    // The last 1..15 bytes, when `data`'s last 16 bytes hold them and the bytes before them
    // (`rest` is a suffix of `data`); else the caller hashes them.
    if let (1.., Some(end)) = (rest.len(), data.last_chunk::<16>()) {
        x = fold_tail(x, end, rest.len());
        rest = &rest[rest.len()..];
    }
    (reduce(x, k128), rest)
}

/// The 128-byte-a-step main loop over four ymm accumulators; returns the folded 128 bits and
/// what is left (under 128 bytes).
#[inline]
#[target_feature(enable = "avx2,pclmulqdq,vpclmulqdq,sse4.1")]
fn fold_wide<'a>(
    register: u32,
    first: &[u8; 128],
    middle: &[[u8; 128]],
    mut rest: &'a [u8],
) -> (__m128i, &'a [u8]) {
    let k1024 = _mm256_set_epi64x(K1024.1, K1024.0, K1024.1, K1024.0);
    let (quarters, _) = first.as_chunks::<32>();
    let mut y = [
        load32(&quarters[0]),
        load32(&quarters[1]),
        load32(&quarters[2]),
        load32(&quarters[3]),
    ];
    y[0] = _mm256_xor_si256(y[0], widen(register));
    for next in middle {
        step(&mut y, next, k1024);
    }
    while let Some((next, tail)) = rest.split_first_chunk::<128>() {
        step(&mut y, next, k1024);
        rest = tail;
    }
    // Eight lanes, in stream order, folded into one: each straight to the last lane with its
    // own constant (as in `fold_short`), so the seven products are independent.
    let mut acc = widen(0);
    for (m, y) in SHORT_K[..4].iter().rev().zip(&y) {
        let k = load32(m);
        let lo = _mm256_clmulepi64_epi128::<0x00>(*y, k);
        let hi = _mm256_clmulepi64_epi128::<0x11>(*y, k);
        acc = _mm256_xor_si256(acc, _mm256_xor_si256(lo, hi));
    }
    let x = _mm_xor_si128(
        _mm_xor_si128(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256::<1>(acc),
        ),
        _mm256_extracti128_si256::<1>(y[3]),
    );
    (x, rest)
}

/// Folds the four accumulators across 1024 bits onto the next 128 bytes.
#[inline]
#[target_feature(enable = "avx2,vpclmulqdq")]
fn step(y: &mut [__m256i; 4], next: &[u8; 128], k1024: __m256i) {
    let (n, _) = next.as_chunks::<32>();
    for (acc, chunk) in y.iter_mut().zip(n) {
        let lo = _mm256_clmulepi64_epi128::<0x00>(*acc, k1024);
        let hi = _mm256_clmulepi64_epi128::<0x11>(*acc, k1024);
        *acc = _mm256_xor_si256(_mm256_xor_si256(lo, hi), load32(chunk));
    }
}

/// The register in the low 32 bits of an otherwise zero ymm.
#[inline]
#[target_feature(enable = "avx2")]
fn widen(register: u32) -> __m256i {
    _mm256_set_epi64x(0, 0, 0, i64::from(register))
}

/// Appends the last `n` bytes of a message (`1 <= n <= 15`) to `x`, the folded state of
/// everything before them (a 128-bit value congruent to the message up to there, standing
/// in its last 16-byte block). `end` is the message's last 16 bytes: the `16 - n` bytes
/// before the tail (already in `x`) and the tail.
///
/// The `16 + n` bytes `x ‖ tail` are two blocks: `x`'s first `n` bytes, ending 16 bytes
/// before the new end (shifted to the top of a block, zeros below: leading zeros change
/// nothing), folded across one block; and the last 16 bytes, `x`'s other `16 - n` bytes
/// followed by the tail, which enter as they are. Two shuffles, a blend and one fold replace
/// a bytewise loop over the tail. Shared with the `Avx512` backend.
#[inline]
#[target_feature(enable = "pclmulqdq,sse4.1")]
pub(super) fn fold_tail(x: __m128i, end: &[u8; 16], n: usize) -> __m128i {
    debug_assert!((1..16).contains(&n));
    let up = table16(&SHIFT_IN, n);
    let down = table16(&SHIFT_IN, n + 16);
    let head = _mm_shuffle_epi8(x, up);
    let last = _mm_blendv_epi8(_mm_shuffle_epi8(x, down), load16(end), down);
    _mm_xor_si128(fold128(head, _mm_set_epi64x(K128.1, K128.0)), last)
}

/// `x` advanced by 128 bits: `x.lo·K_a ^ x.hi·K_b`. Shared with the `Avx512` backend.
#[inline]
#[target_feature(enable = "pclmulqdq")]
pub(super) fn fold128(x: __m128i, k: __m128i) -> __m128i {
    _mm_xor_si128(
        _mm_clmulepi64_si128::<0x00>(x, k),
        _mm_clmulepi64_si128::<0x11>(x, k),
    )
}

/// 128 bits of folded state to the 32-bit CRC register. Shared with the `Avx512` backend.
#[inline]
#[target_feature(enable = "pclmulqdq,sse4.1")]
pub(super) fn reduce(x: __m128i, k128: __m128i) -> u32 {
    // 128 -> 96: the low half times K128.1, plus the high half moved down.
    reduce96(_mm_xor_si128(
        _mm_clmulepi64_si128::<0x10>(x, k128),
        _mm_srli_si128::<8>(x),
    ))
}

/// A remainder of at most 96 bits (the product of a 64-bit piece and a 33-bit constant, or
/// a XOR of such) to the 32-bit CRC register.
#[inline]
#[target_feature(enable = "pclmulqdq,sse4.1")]
fn reduce96(x: __m128i) -> u32 {
    let low32 = _mm_set_epi64x(0, 0xFFFF_FFFF);
    // 96 -> 64: the low 32 bits times K64, plus the rest moved down.
    let x = _mm_xor_si128(
        _mm_clmulepi64_si128::<0x00>(_mm_and_si128(x, low32), _mm_set_epi64x(0, K64)),
        _mm_srli_si128::<4>(x),
    );
    // Barrett: t1 = low32(x)·u, t2 = low32(t1)·P, register = bits 32..63 of x ^ t2.
    let pu = _mm_set_epi64x(U_PRIME, P_X);
    let t1 = _mm_clmulepi64_si128::<0x10>(_mm_and_si128(x, low32), pu);
    let t2 = _mm_clmulepi64_si128::<0x00>(_mm_and_si128(t1, low32), pu);
    _mm_extract_epi32::<1>(_mm_xor_si128(x, t2)).cast_unsigned()
}

#[inline]
#[target_feature(enable = "sse2")]
pub(super) fn load16(block: &[u8; 16]) -> __m128i {
    // SAFETY: `block` is 16 readable bytes; the load has no alignment requirement.
    unsafe { _mm_loadu_si128(block.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx")]
fn load32(block: &[u8; 32]) -> __m256i {
    // SAFETY: `block` is 32 readable bytes; the load has no alignment requirement.
    unsafe { _mm256_loadu_si256(block.as_ptr().cast()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_constants_match_published() {
        assert_eq!(fold_pair(1), K128);
        assert_eq!(fold_pair(8), K1024);
        assert_eq!(xpow_reflected(64), K64);
    }
}
