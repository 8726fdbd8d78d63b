//! x86_64 with AVX-512 (F, BW) and the 512-bit VAES and VPCLMULQDQ forms (Intel Ice Lake
//! and later, AMD Zen 4 and later): the fused AES-CTR + GHASH kernel of `Avx2` on ZMM
//! registers, 16 blocks (256 bytes) per iteration.
//!
//! Algorithm (see `backend/avx2.rs` for the POLYVAL formulation of GHASH it shares):
//! - 16 counter blocks in 4 ZMM registers of 4 lanes, kept byte-reversed so `inc32` is a
//!   `vpaddd` on dword 0 of each lane (wrapping modulo 2^32), shuffled back per use;
//! - 10 or 14 `vaesenc` rounds on the 4 registers with broadcast round keys, unrolled (the
//!   pass is compiled once per key size and direction); XOR with the data;
//! - GHASH of the 16 ciphertext blocks with `K^16 .. K^1` (four powers per register, from
//!   the key's precomputed 16): each 128 x 128 product as Karatsuba's three 64 x 64 ones,
//!   the powers' halves XORed once per call, summed unreduced (lo, mid, hi), the four lanes
//!   folded, one reduction per 256 bytes. Sealing hashes each chunk one iteration late, so
//!   AES of chunk i and GHASH of chunk i - 1 are independent work; the first chunk is
//!   peeled, so the loop body is one straight block.
//!
//! These are the shapes measured on the `Avx2` twin (see there: Karatsuba +2-5 %, the
//! unrolled, peeled 256-byte steps 1.1-1.16x at 9000 bytes and 64 KiB); the first version
//! of this kernel had four products per block and a loop over the round count.
//!
//! The rest after the last whole 256 bytes, and every message shorter than 256 bytes, take
//! one pass of the same AES rounds on 1 to 4 registers (compiled per count) with AVX-512
//! masked loads and stores: nothing is read or written past the buffer, and no copy of the
//! data is made on the stack (`Avx2` pads a stack copy and wipes it). Its GHASH multiplies
//! block `j` of `n` by `K^(n - j)` (the powers read from the key's table with masked loads
//! too), one reduction. The associated data and the tag go through the `Avx2` code, which
//! this CPU also runs, continuing the GHASH state. Open
//! decrypts while hashing, compares the tag in constant time and, on a mismatch, runs the
//! keystream over the buffer again: the buffer ends as it started, as with `Scalar`.
//!
//! The key material is the `Avx2` form (`GcmKey` computes it whenever `Avx2` is available,
//! which every AVX-512 CPU with VAES is); a key without it is handed to `Scalar`.
//!
//! Measured on a Sapphire Rapids class Xeon (README, Speed; criterion, one run): seal 64 B
//! 2.65 GiB/s (2.9x aws-lc-rs, the best peer there), 1500 B 10.65 (1.29x), 9000 B 12.27
//! (0.88x), 64 KiB 13.11 (0.82x). The tests run it natively there; CI also runs it under
//! Miri's emulation against `Scalar` (`.ci/run`, miri stage).

use core::arch::x86_64::{
    __m128i, __m512i, _mm_setzero_si128, _mm_xor_si128, _mm256_castsi256_si128,
    _mm256_extracti128_si256, _mm256_xor_si256, _mm512_add_epi32, _mm512_aesenc_epi128,
    _mm512_aesenclast_epi128, _mm512_broadcast_i32x4, _mm512_castsi512_si256,
    _mm512_clmulepi64_epi128, _mm512_extracti64x4_epi64, _mm512_inserti32x4, _mm512_loadu_si512,
    _mm512_mask_storeu_epi8, _mm512_maskz_loadu_epi8, _mm512_maskz_mov_epi8, _mm512_set_epi32,
    _mm512_setzero_si512, _mm512_shuffle_epi8, _mm512_shuffle_epi32, _mm512_storeu_si512,
    _mm512_xor_si512,
};

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use super::avx2::{self, KeyState};
use crate::backend::Scalar;
use crate::engine::{NONCE_LEN, TAG_LEN, check_lengths};
use crate::{Backend, Cipher, Error, GcmKey};

/// x86_64 with AVX-512F, AVX-512BW, VAES, VPCLMULQDQ (512-bit), AES-NI, PCLMULQDQ and AVX2.
/// Construct with [`Avx512::new`], which checks the CPU.
#[derive(Clone, Copy, Debug)]
pub struct Avx512 {
    _checked: (),
}

impl Avx512 {
    /// The CPU features this backend needs, as `is_x86_feature_detected!` spells them.
    pub const FEATURES: &'static [&'static str] = &[
        "avx512f",
        "avx512bw",
        "vaes",
        "vpclmulqdq",
        "aes",
        "pclmulqdq",
        "avx2",
    ];

    /// `Some` if this CPU (and OS: the ZMM state) has every feature in
    /// [`Avx512::FEATURES`].
    pub fn new() -> Option<Self> {
        crate::detect::avx512().then_some(Self { _checked: () })
    }

    /// # Safety
    /// The CPU must support every feature in [`Avx512::FEATURES`] and the OS must save the
    /// ZMM state.
    pub const unsafe fn new_unchecked() -> Self {
        Self { _checked: () }
    }
}

impl Cipher for Avx512 {
    fn backend(&self) -> Backend {
        Backend::Avx512
    }

    fn seal_in_place(
        &self,
        key: &GcmKey,
        nonce: &[u8; NONCE_LEN],
        buf: &mut [u8],
        aad_len: usize,
    ) -> Result<[u8; TAG_LEN], Error> {
        check_lengths(buf.len(), aad_len)?;
        let Some(ks) = &key.simd else {
            return Scalar.seal_in_place(key, nonce, buf, aad_len);
        };
        let (aad, text) = buf.split_at_mut(aad_len);
        // SAFETY: an `Avx512` exists only on a CPU with every feature `seal` enables.
        Ok(unsafe { seal(ks, nonce, aad, text) })
    }

    fn open_in_place(
        &self,
        key: &GcmKey,
        nonce: &[u8; NONCE_LEN],
        buf: &mut [u8],
        aad_len: usize,
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Error> {
        check_lengths(buf.len(), aad_len)?;
        let Some(ks) = &key.simd else {
            return Scalar.open_in_place(key, nonce, buf, aad_len, tag);
        };
        let (aad, text) = buf.split_at_mut(aad_len);
        // SAFETY: an `Avx512` exists only on a CPU with every feature `open` enables.
        if unsafe { open(ks, nonce, aad, text, tag) } {
            Ok(())
        } else {
            Err(Error::Authentication)
        }
    }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn load64(block: &[u8; 64]) -> __m512i {
    // SAFETY: `block` is 64 readable bytes; the load has no alignment requirement.
    unsafe { _mm512_loadu_si512(block.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn store64(block: &mut [u8; 64], v: __m512i) {
    // SAFETY: `block` is 64 writable bytes; the store has no alignment requirement.
    unsafe { _mm512_storeu_si512(block.as_mut_ptr().cast(), v) }
}

/// Byte reversal of each 128-bit lane.
#[inline]
#[target_feature(enable = "avx512f")]
fn rev512() -> __m512i {
    _mm512_broadcast_i32x4(avx2::rev_mask())
}

/// XOR of the four 128-bit lanes: the two 256-bit halves, then the two 128-bit ones.
#[inline]
#[target_feature(enable = "avx512f,avx2")]
fn fold4(v: __m512i) -> __m128i {
    let a = _mm256_xor_si256(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64::<1>(v));
    _mm_xor_si128(_mm256_castsi256_si128(a), _mm256_extracti128_si256::<1>(a))
}

/// The powers [`ghash16`] multiplies by: `k`, the 4 registers of lanes `[K^16, K^15, K^14,
/// K^13]`, then `[K^12 .. K^9]`, and so on (block `j` of 16 is multiplied by `K^(16 - j)`),
/// and `halves`, each power's two 64-bit halves XORed (Karatsuba's third factor), built
/// once per call.
struct Powers {
    k: [__m512i; 4],
    halves: [__m512i; 4],
}

#[inline]
#[target_feature(enable = "avx512f")]
fn power_regs(ks: &KeyState) -> Powers {
    // Loaded straight from the key state (16 adjacent powers, 256 bytes): no copy on the
    // stack to wipe afterwards.
    let (regs, _) = ks.powers.as_flattened().as_chunks::<64>();
    let mut k = [_mm512_setzero_si512(); 4];
    for (o, r) in k.iter_mut().zip(regs) {
        *o = load64(r);
    }
    let halves = k.map(|p| _mm512_xor_si512(p, _mm512_shuffle_epi32::<0x4E>(p)));
    Powers { k, halves }
}

/// GHASH state update over 16 blocks given as 4 registers of raw (wire-order) bytes:
/// `S' = (S ^ X1) K^16 + X2 K^15 + ... + X16 K^1`, one reduction (see [`ghash_regs`]).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,avx2")]
fn ghash16(s: __m128i, x: [__m512i; 4], powers: &Powers) -> __m128i {
    ghash_regs(s, x, &powers.k, &powers.halves)
}

/// GHASH state update over the `4R` blocks of `x` (raw, wire-order bytes), block `j`
/// multiplied by the power in lane `j % 4` of `k[j / 4]`, the state added to block 0, one
/// reduction. Each 128 x 128 product is Karatsuba's three 64 x 64 ones, as in `Avx2`'s
/// `ghash_regs`: `lo = a0 b0`, `hi = a1 b1` and `(a0 ^ a1)(b0 ^ b1)` (`halves` holds each
/// power's two halves XORed), whose sum, plus the sums of `lo` and `hi`, is the middle term
/// (12 `vpclmulqdq` per 256 bytes where the schoolbook form takes 16).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,avx2")]
fn ghash_regs<const R: usize>(
    s: __m128i,
    x: [__m512i; R],
    k: &[__m512i; R],
    halves: &[__m512i; R],
) -> __m128i {
    let rev = rev512();
    let mut lo = _mm512_setzero_si512();
    let mut mid = _mm512_setzero_si512();
    let mut hi = _mm512_setzero_si512();
    for (i, ((&xi, &p), &h)) in x.iter().zip(k).zip(halves).enumerate() {
        let mut v = _mm512_shuffle_epi8(xi, rev);
        if i == 0 {
            v = _mm512_xor_si512(v, _mm512_inserti32x4::<0>(_mm512_setzero_si512(), s));
        }
        let vh = _mm512_xor_si512(v, _mm512_shuffle_epi32::<0x4E>(v));
        lo = _mm512_xor_si512(lo, _mm512_clmulepi64_epi128::<0x00>(v, p));
        hi = _mm512_xor_si512(hi, _mm512_clmulepi64_epi128::<0x11>(v, p));
        mid = _mm512_xor_si512(mid, _mm512_clmulepi64_epi128::<0x00>(vh, h));
    }
    let (lo, hi) = (fold4(lo), fold4(hi));
    avx2::finish(lo, _mm_xor_si128(fold4(mid), _mm_xor_si128(lo, hi)), hi)
}

/// Encrypts (XORs the keystream into) the `4R` blocks of `data`, counters in `ctr`
/// (byte-reversed form). `ROUNDS` is a constant, so the rounds unroll.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,avx2")]
fn ctr_regs<const R: usize, const ROUNDS: usize>(
    ks: &KeyState,
    ctr: [__m512i; R],
    data: [__m512i; R],
) -> [__m512i; R] {
    let rev = rev512();
    let rk0 = _mm512_broadcast_i32x4(avx2::load16(&ks.round_keys[0]));
    let mut b = ctr.map(|c| _mm512_xor_si512(_mm512_shuffle_epi8(c, rev), rk0));
    for rk in &ks.round_keys[1..ROUNDS] {
        let k = _mm512_broadcast_i32x4(avx2::load16(rk));
        for bi in &mut b {
            *bi = _mm512_aesenc_epi128(*bi, k);
        }
    }
    let last = _mm512_broadcast_i32x4(avx2::load16(&ks.round_keys[ROUNDS]));
    let mut out = b;
    for ((o, bi), d) in out.iter_mut().zip(b).zip(data) {
        *o = _mm512_xor_si512(_mm512_aesenclast_epi128(bi, last), d);
    }
    out
}

/// One step of the chunk loop: [`ctr_regs`] on 4 registers with [`ghash16`] of `hashed`
/// (the previous chunk's output when sealing, this chunk's input when opening) written
/// between its rounds: the products of register `i` after round `i + 1`, the fold and the
/// reduction after round 5 (Biggers' interleave). LLVM reorders it anyway (the emitted
/// loop still starts with the GHASH; why it is faster is not plain from the assembly): this
/// shape sealed 9000 bytes at 12.1 GiB/s and 64 KiB at 12.6, against 11.4 and 11.6 for
/// `ctr_regs` then `ghash16` (criterion, back-to-back runs, Sapphire Rapids class Xeon).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,avx2")]
fn step<const ROUNDS: usize>(
    ks: &KeyState,
    ctr: [__m512i; 4],
    data: [__m512i; 4],
    s: __m128i,
    hashed: [__m512i; 4],
    powers: &Powers,
) -> ([__m512i; 4], __m128i) {
    let rev = rev512();
    let rk0 = _mm512_broadcast_i32x4(avx2::load16(&ks.round_keys[0]));
    let mut b = ctr.map(|c| _mm512_xor_si512(_mm512_shuffle_epi8(c, rev), rk0));
    let mut lo = _mm512_setzero_si512();
    let mut mid = _mm512_setzero_si512();
    let mut hi = _mm512_setzero_si512();
    let mut s_out = s;
    for (r, rk) in ks.round_keys[..ROUNDS].iter().enumerate().skip(1) {
        let k = _mm512_broadcast_i32x4(avx2::load16(rk));
        for bi in &mut b {
            *bi = _mm512_aesenc_epi128(*bi, k);
        }
        if let Some(&x) = hashed.get(r - 1) {
            let i = r - 1;
            let mut v = _mm512_shuffle_epi8(x, rev);
            if i == 0 {
                v = _mm512_xor_si512(v, _mm512_inserti32x4::<0>(_mm512_setzero_si512(), s));
            }
            let (p, h) = (powers.k[i], powers.halves[i]);
            let vh = _mm512_xor_si512(v, _mm512_shuffle_epi32::<0x4E>(v));
            lo = _mm512_xor_si512(lo, _mm512_clmulepi64_epi128::<0x00>(v, p));
            hi = _mm512_xor_si512(hi, _mm512_clmulepi64_epi128::<0x11>(v, p));
            mid = _mm512_xor_si512(mid, _mm512_clmulepi64_epi128::<0x00>(vh, h));
        }
        if r == 5 {
            let (l, h) = (fold4(lo), fold4(hi));
            s_out = avx2::finish(l, _mm_xor_si128(fold4(mid), _mm_xor_si128(l, h)), h);
        }
    }
    let last = _mm512_broadcast_i32x4(avx2::load16(&ks.round_keys[ROUNDS]));
    let mut out = b;
    for ((o, bi), d) in out.iter_mut().zip(b).zip(data) {
        *o = _mm512_xor_si512(_mm512_aesenclast_epi128(bi, last), d);
    }
    (out, s_out)
}

/// The mask of the first `min(len, 64)` bytes of a register.
#[inline]
const fn prefix_mask(len: usize) -> u64 {
    if len >= 64 { u64::MAX } else { (1 << len) - 1 }
}

/// The first `min(bytes.len(), 64)` bytes of `bytes` in a register, zeros after them;
/// nothing past them is read.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn load_prefix(bytes: &[u8]) -> __m512i {
    // SAFETY: the mask selects only the first `min(len, 64)` bytes, which are readable; a
    // masked load neither reads nor faults on the bytes it leaves out.
    unsafe { _mm512_maskz_loadu_epi8(prefix_mask(bytes.len()), bytes.as_ptr().cast()) }
}

/// Writes the first `min(bytes.len(), 64)` bytes of `v` to `bytes`; nothing past them.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn store_prefix(bytes: &mut [u8], v: __m512i) {
    // SAFETY: the mask selects only the first `min(len, 64)` bytes, which are writable; a
    // masked store neither writes nor faults on the bytes it leaves out.
    unsafe { _mm512_mask_storeu_epi8(bytes.as_mut_ptr().cast(), prefix_mask(bytes.len()), v) }
}

/// CTR and GHASH over `rest`, shorter than 256 bytes (what follows the whole chunks, or a
/// whole short message), with the counters in `ctr` (block `j` of `rest` in lane `j % 4`
/// of register `j / 4`): compiled for the number of 64-byte registers it covers.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,avx2")]
fn crypt_rest<const ROUNDS: usize, const DECRYPT: bool>(
    ks: &KeyState,
    ctr: [__m512i; 4],
    rest: &mut [u8],
    s: __m128i,
) -> __m128i {
    match rest.len().div_ceil(64) {
        0 => s,
        1 => rest_regs::<1, ROUNDS, DECRYPT>(ks, [ctr[0]], rest, s),
        2 => rest_regs::<2, ROUNDS, DECRYPT>(ks, [ctr[0], ctr[1]], rest, s),
        3 => rest_regs::<3, ROUNDS, DECRYPT>(ks, [ctr[0], ctr[1], ctr[2]], rest, s),
        _ => rest_regs::<4, ROUNDS, DECRYPT>(ks, ctr, rest, s),
    }
}

/// [`crypt_rest`] on `R` registers (`64 (R - 1) < rest.len() <= 64 R`): masked loads (zeros
/// past the end, nothing read past it), the same AES rounds as a whole chunk, masked
/// stores (nothing written past the end), and GHASH of the ciphertext zero-padded to
/// whole blocks: for `n` blocks, block `j` times `K^(n - j)`, the powers loaded from the
/// key's table at `K^n` with masked loads (no power past `K^1` is read), one reduction.
/// Sealing zeroes the keystream bytes past the end before hashing.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,avx2")]
fn rest_regs<const R: usize, const ROUNDS: usize, const DECRYPT: bool>(
    ks: &KeyState,
    ctr: [__m512i; R],
    rest: &mut [u8],
    s: __m128i,
) -> __m128i {
    let len = rest.len();
    debug_assert!(len > 64 * (R - 1) && len <= 64 * R);
    let input: [__m512i; R] = core::array::from_fn(|r| load_prefix(&rest[64 * r..]));
    let output = ctr_regs::<R, ROUNDS>(ks, ctr, input);
    for (r, &o) in output.iter().enumerate() {
        store_prefix(&mut rest[64 * r..], o);
    }
    let hashed = if DECRYPT {
        input
    } else {
        core::array::from_fn(|r| _mm512_maskz_mov_epi8(prefix_mask(len - 64 * r), output[r]))
    };
    // `powers[i]` is `K^(16 - i)`: the `n` blocks take `powers[16 - n..]`, 64 bytes per
    // register, the last register's load cut at the table's end.
    let table = &ks.powers.as_flattened()[ks.powers.len() * 16 - len.div_ceil(16) * 16..];
    let k: [__m512i; R] = core::array::from_fn(|r| load_prefix(&table[64 * r..]));
    let halves = k.map(|p| _mm512_xor_si512(p, _mm512_shuffle_epi32::<0x4E>(p)));
    ghash_regs(s, hashed, &k, &halves)
}

#[inline]
#[target_feature(enable = "avx512f")]
fn load4(chunk: &[u8; 256]) -> [__m512i; 4] {
    let (regs, _) = chunk.as_chunks::<64>();
    let mut out = [_mm512_setzero_si512(); 4];
    for (o, r) in out.iter_mut().zip(regs) {
        *o = load64(r);
    }
    out
}

#[inline]
#[target_feature(enable = "avx512f")]
fn store4(chunk: &mut [u8; 256], v: [__m512i; 4]) {
    let (regs, _) = chunk.as_chunks_mut::<64>();
    for (r, o) in regs.iter_mut().zip(v) {
        store64(r, o);
    }
}

/// CTR from counter 2 and GHASH (of the output when sealing, of the input when opening)
/// over `text`: its whole 256-byte chunks, then the rest with masked loads and stores
/// ([`crypt_rest`]). A message shorter than 256 bytes is only a rest: the chunk loop's power
/// registers are not built for it.
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,avx2")]
fn crypt(
    ks: &KeyState,
    nonce: &[u8; NONCE_LEN],
    text: &mut [u8],
    s: __m128i,
    decrypt: bool,
) -> __m128i {
    match (ks.rounds, decrypt) {
        (10, false) => crypt_rounds::<10, false>(ks, nonce, text, s),
        (10, true) => crypt_rounds::<10, true>(ks, nonce, text, s),
        (_, false) => crypt_rounds::<14, false>(ks, nonce, text, s),
        (_, true) => crypt_rounds::<14, true>(ks, nonce, text, s),
    }
}

/// [`crypt`] for a key of `ROUNDS` rounds and one direction (compiled once per pair, as in
/// `Avx2`): the whole 256-byte chunks, then the rest from the next counters.
/// Sealing hashes each chunk one chunk late, so the GHASH of chunk i - 1 and the AES rounds
/// of chunk i are independent work; the first chunk is peeled, so the loop body is one
/// straight block.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,avx2")]
fn crypt_rounds<const ROUNDS: usize, const DECRYPT: bool>(
    ks: &KeyState,
    nonce: &[u8; NONCE_LEN],
    text: &mut [u8],
    mut s: __m128i,
) -> __m128i {
    let mut j = [0u8; 16];
    j[..NONCE_LEN].copy_from_slice(nonce);
    j[15] = 2;
    // Counter 2 byte-reversed (the counter is then dword 0) in every lane, plus the lane's
    // offset: register r, lane i holds counter 2 + 4r + i.
    let base = _mm512_broadcast_i32x4(avx2_reverse(&j));
    let mut ctr = [0i32, 4, 8, 12].map(|r| {
        _mm512_add_epi32(
            base,
            _mm512_set_epi32(0, 0, 0, r + 3, 0, 0, 0, r + 2, 0, 0, 0, r + 1, 0, 0, 0, r),
        )
    });
    let sixteen = _mm512_set_epi32(0, 0, 0, 16, 0, 0, 0, 16, 0, 0, 0, 16, 0, 0, 0, 16);
    let (chunks, rest) = text.as_chunks_mut::<256>();
    let mut steps = chunks.iter_mut();
    if let Some(first) = steps.next() {
        let powers = power_regs(ks);
        let input = load4(first);
        let mut previous = ctr_regs::<4, ROUNDS>(ks, ctr, input);
        ctr = ctr.map(|c| _mm512_add_epi32(c, sixteen));
        if DECRYPT {
            s = ghash16(s, input, &powers);
        }
        store4(first, previous);
        for chunk in steps {
            let input = load4(chunk);
            let hashed = if DECRYPT { input } else { previous };
            let (output, s2) = step::<ROUNDS>(ks, ctr, input, s, hashed, &powers);
            ctr = ctr.map(|c| _mm512_add_epi32(c, sixteen));
            s = s2;
            store4(chunk, output);
            previous = output;
        }
        if !DECRYPT {
            s = ghash16(s, previous, &powers);
        }
    }
    // `ctr` holds the next 16 counters (each `vpaddd` above wrapped modulo 2^32).
    crypt_rest::<ROUNDS, DECRYPT>(ks, ctr, rest, s)
}

/// `block` byte-reversed, as a register.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,avx2")]
fn avx2_reverse(block: &[u8; 16]) -> __m128i {
    core::arch::x86_64::_mm_shuffle_epi8(avx2::load16(block), avx2::rev_mask())
}

#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,avx2")]
fn seal(ks: &KeyState, nonce: &[u8; NONCE_LEN], aad: &[u8], text: &mut [u8]) -> [u8; TAG_LEN] {
    let s = avx2::ghash_padded(_mm_setzero_si128(), aad, ks);
    let s = crypt(ks, nonce, text, s, false);
    avx2::tag(ks, nonce, s, aad.len(), text.len())
}

/// Decrypts while hashing; on a tag mismatch restores the ciphertext and returns `false`.
#[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq,avx2")]
fn open(
    ks: &KeyState,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    text: &mut [u8],
    want: &[u8; TAG_LEN],
) -> bool {
    let s = avx2::ghash_padded(_mm_setzero_si128(), aad, ks);
    let s = crypt(ks, nonce, text, s, true);
    let mut got = avx2::tag(ks, nonce, s, aad.len(), text.len());
    let ok = bool::from(got.ct_eq(want));
    got.as_mut_slice().zeroize();
    if !ok {
        crypt(ks, nonce, text, _mm_setzero_si128(), false);
    }
    ok
}

#[cfg(all(test, not(miri)))]
mod tests {
    use super::Avx512;

    #[test]
    fn features_are_stated_once() {
        assert_eq!(crate::Backend::Avx512.features(), Avx512::FEATURES);
    }
}
