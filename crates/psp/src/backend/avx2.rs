//! x86_64 with AES-NI, PCLMULQDQ, AVX2 and the 256-bit VAES and VPCLMULQDQ forms (AMD Zen 3
//! and later, Intel Ice Lake and later): a fused AES-CTR + GHASH kernel on YMM registers.
//!
//! Algorithm (NIST SP 800-38D, computed as in RFC 8452 appendix A):
//!
//! ```text
//! GHASH_H(X1..Xn) = rev(POLYVAL_K(rev(X1), .., rev(Xn)))      rev = byte reversal
//! K = mulX(rev(H));  POLYVAL: S = dot(S ^ X, K),  dot(a, b) = a * b * x^-128 mod Q
//! Q = x^128 + x^127 + x^126 + x^121 + 1
//! ```
//!
//! In POLYVAL's bit order a carry-less multiply needs no bit reflection and no shift, and
//! `x^-128` is a Montgomery reduction: two 64x64 carry-less multiplies by the constant
//! `x^63 + x^62 + x^57` (`0xC200000000000000`), each cancelling 64 low bits.
//!
//! Main loop, 256 bytes (16 blocks, 8 YMM registers of 2 blocks) per step, then at most one
//! step of 128 bytes (4 registers), compiled once per key size and direction:
//! - counter blocks kept byte-reversed, so `inc32` is a `vpaddd` on dword 0 of each lane
//!   (wrapping modulo 2^32 as the standard says), then shuffled back;
//! - 10 or 14 `vaesenc` rounds on the registers with broadcast round keys, unrolled (the
//!   number of rounds is a constant of the compiled step); XOR with the data;
//! - GHASH of the step's ciphertext blocks (the output when sealing, the input when
//!   opening) with the precomputed powers `K^16 .. K^1` (`K^8 .. K^1` for a step of 128):
//!   each 128 x 128 product as Karatsuba's three 64 x 64 ones (`a0 b0`, `a1 b1` and
//!   `(a0 ^ a1)(b0 ^ b1)`, the powers' halves XORed once per call), summed unreduced, one
//!   reduction per step (aggregated reduction). Sealing hashes a step one step late, so each
//!   step holds two independent chains (AES of step i, GHASH of step i - 1) for the
//!   out-of-order core to overlap; the first step is peeled, so the loop body is one
//!   straight block.
//!
//! Against ring 0.17 (BoringSSL's VAES/AVX2 AES-GCM, 128 bytes a step), AES-128 seal, a
//! throwaway harness with both crates and the previous kernel (128 bytes a step, four
//! 64 x 64 products per block) in one process, interleaved, best of 30-40 rounds, on the
//! shared 2-core Zen 3 VM: the previous kernel 0.82-0.86x ring at 9000 bytes and 64 KiB;
//! Karatsuba alone +2-5 %; with the 256-byte steps 0.93-0.99x ring at 9000 bytes,
//! 0.92-0.93x at 64 KiB (1.1-1.16x the previous kernel) and 1.03-1.21x at 1500. Tried and
//! dropped: 128-byte steps only, peeled and unrolled like the 256-byte ones (3-10 % slower
//! at 1500 bytes and up); the data XORed into the last round key (`aesenclast` with
//! `last ^ data`, as ring does: no faster); reading step i - 1's ciphertext back from the
//! buffer for its GHASH instead of carrying it in registers (no faster; 11 % slower at
//! 1500 bytes); `AES_K(J0)` computed before the pass (5 % slower at 64 bytes); two
//! registers instead of four for tails of 64 bytes or less (no change: the short path is
//! bound by latency, not by AES throughput); prefetching the input 512 bytes ahead, as
//! ring does (no change within the noise).
//!
//! The tail (< 128 bytes) goes through a zero-padded 128-byte copy: the same AES step, and
//! GHASH block by block with the powers `K^n .. K^1` and one reduction. Associated data is
//! hashed by the same GHASH steps. The copy is wiped through `zeroize`'s slice form (`fill`
//! and an optimisation barrier): the array form writes byte by byte, volatile, and took
//! about a third of a 64-byte seal (76 ns -> 52 ns with the slice form; ring 84 ns).
//!
//! Open decrypts while hashing (one pass) and compares the tag in constant time; on a
//! mismatch it runs the keystream over the buffer again, so what the caller sees is the same
//! as with `Scalar`: the ciphertext, unchanged.
//!
//! Key material (`KeyState`: round keys and the 16 powers of `K`) is computed once per key
//! by [`GcmKey::new`](crate::GcmKey::new) whenever this backend is available (detection is
//! fixed for the life of the process, so every key a live `Avx2` sees has it), and wiped
//! on drop. A key without it is handed to `Scalar`, which gives the same result.

use core::arch::x86_64::{
    __m128i, __m256i, _mm_aesenc_si128, _mm_aesenclast_si128, _mm_clmulepi64_si128,
    _mm_loadu_si128, _mm_set_epi8, _mm_set_epi64x, _mm_set1_epi32, _mm_setzero_si128,
    _mm_shuffle_epi8, _mm_shuffle_epi32, _mm_slli_si128, _mm_srli_si128, _mm_storeu_si128,
    _mm_xor_si128, _mm256_add_epi32, _mm256_aesenc_epi128, _mm256_aesenclast_epi128,
    _mm256_broadcastsi128_si256, _mm256_castsi256_si128, _mm256_clmulepi64_epi128,
    _mm256_extracti128_si256, _mm256_loadu_si256, _mm256_set_epi32, _mm256_set_m128i,
    _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_shuffle_epi32, _mm256_storeu_si256,
    _mm256_xor_si256,
};

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::backend::Scalar;
use crate::engine::{NONCE_LEN, TAG_LEN, check_lengths};
use crate::{Backend, Cipher, Error, GcmKey};

/// x86_64 with AES-NI, PCLMULQDQ, AVX2, VAES and VPCLMULQDQ. Construct with
/// [`Avx2::new`], which checks the CPU.
#[derive(Clone, Copy, Debug)]
pub struct Avx2 {
    _checked: (),
}

impl Avx2 {
    /// The CPU features this backend needs, as `is_x86_feature_detected!` spells them.
    pub const FEATURES: &'static [&'static str] =
        &["aes", "avx2", "vaes", "vpclmulqdq", "pclmulqdq"];

    /// `Some` if this CPU has every feature in [`Avx2::FEATURES`].
    pub fn new() -> Option<Self> {
        crate::detect::avx2().then_some(Self { _checked: () })
    }

    /// # Safety
    /// The CPU must support every feature in [`Avx2::FEATURES`].
    pub const unsafe fn new_unchecked() -> Self {
        Self { _checked: () }
    }

    /// Round keys and GHASH powers for `key` (16 or 32 bytes).
    pub(crate) fn expand(self, key: &[u8]) -> KeyState {
        // SAFETY: an `Avx2` exists only on a CPU with every feature `expand_key` enables.
        unsafe { expand_key(key) }
    }
}

/// The x86 SIMD backends' form of a key: the AES round keys and `K^16 .. K^1` (POLYVAL
/// domain, little-endian), 504 bytes. Wiped on drop.
#[derive(Clone)]
pub(crate) struct KeyState {
    pub(super) round_keys: [[u8; 16]; 15],
    pub(super) rounds: usize,
    /// `powers[i] = K^(16 - i)`: adjacent entries load as one register of 2 (`Avx2`: all 16
    /// for a 256-byte step, the last 8 for a 128-byte one) or 4 (`Avx512`) blocks.
    pub(super) powers: [[u8; 16]; POWERS],
}

/// Powers of `K` kept per key.
const POWERS: usize = 16;

impl Drop for KeyState {
    fn drop(&mut self) {
        self.round_keys.zeroize();
        self.powers.zeroize();
    }
}

impl Cipher for Avx2 {
    fn backend(&self) -> Backend {
        Backend::Avx2
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
        // SAFETY: an `Avx2` exists only on a CPU with every feature `seal` enables.
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
        // SAFETY: an `Avx2` exists only on a CPU with every feature `open` enables.
        if unsafe { open(ks, nonce, aad, text, tag) } {
            Ok(())
        } else {
            Err(Error::Authentication)
        }
    }
}

/// Byte reversal of each 128-bit lane.
#[inline]
#[target_feature(enable = "sse2")]
pub(super) fn rev_mask() -> __m128i {
    _mm_set_epi64x(0x0001_0203_0405_0607, 0x0809_0A0B_0C0D_0E0F)
}

#[inline]
#[target_feature(enable = "sse2")]
pub(super) fn load16(block: &[u8; 16]) -> __m128i {
    // SAFETY: `block` is 16 readable bytes; the load has no alignment requirement.
    unsafe { _mm_loadu_si128(block.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "sse2")]
pub(super) fn store16(block: &mut [u8; 16], v: __m128i) {
    // SAFETY: `block` is 16 writable bytes; the store has no alignment requirement.
    unsafe { _mm_storeu_si128(block.as_mut_ptr().cast(), v) }
}

#[inline]
#[target_feature(enable = "avx")]
fn load32(block: &[u8; 32]) -> __m256i {
    // SAFETY: `block` is 32 readable bytes; the load has no alignment requirement.
    unsafe { _mm256_loadu_si256(block.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx")]
fn store32(block: &mut [u8; 32], v: __m256i) {
    // SAFETY: `block` is 32 writable bytes; the store has no alignment requirement.
    unsafe { _mm256_storeu_si256(block.as_mut_ptr().cast(), v) }
}

/// `prev` XOR its copies shifted by 4, 8 and 12 bytes (the running XOR of the key
/// schedule's words).
#[inline]
#[target_feature(enable = "sse2")]
fn spread(prev: __m128i) -> __m128i {
    let mut k = prev;
    k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
    k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
    _mm_xor_si128(k, _mm_slli_si128::<4>(k))
}

/// `SubWord` of word 3 of `k`, in every word: `AESENCLAST` with a zero round key is
/// `SubBytes` after `ShiftRows`, and `ShiftRows` moves nothing when the four columns are
/// equal. (Used instead of `AESKEYGENASSIST`, which Miri cannot interpret.)
#[inline]
#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
fn sub_word3(k: __m128i) -> __m128i {
    _mm_aesenclast_si128(_mm_shuffle_epi32::<0xFF>(k), _mm_setzero_si128())
}

/// The next AES-128 round key, or the next even AES-256 one (FIPS 197 key expansion):
/// `spread(prev) ^ (RotWord(SubWord(w3 of last)) ^ rcon)` in every word.
#[inline]
#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
fn next_key(prev: __m128i, last: __m128i, rcon: i32) -> __m128i {
    // RotWord: byte i of each word from byte i + 1 (mod 4).
    let rot = _mm_set_epi8(12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1);
    let t = _mm_shuffle_epi8(sub_word3(last), rot);
    _mm_xor_si128(spread(prev), _mm_xor_si128(t, _mm_set1_epi32(rcon)))
}

/// The next odd AES-256 round key: `spread(prev) ^ SubWord(w3 of last)` in every word.
#[inline]
#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
fn next_key_odd(prev: __m128i, last: __m128i) -> __m128i {
    _mm_xor_si128(spread(prev), sub_word3(last))
}

/// `a * x mod Q` (POLYVAL's mulX), on the little-endian integer form; branch-free.
fn mul_x(a: u128) -> u128 {
    let carry = a >> 127;
    (a << 1) ^ (0u128.wrapping_sub(carry) & 0xC200_0000_0000_0000_0000_0000_0000_0001)
}

#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
fn expand_key(key: &[u8]) -> KeyState {
    let mut rk = [_mm_setzero_si128(); 15];
    let mut k = [0u8; 32];
    k[..key.len().min(32)].copy_from_slice(&key[..key.len().min(32)]);
    let (lo, hi) = k.split_at(16);
    let k0 = load16(lo.try_into().unwrap_or(&[0; 16]));
    let k1 = load16(hi.try_into().unwrap_or(&[0; 16]));
    k.zeroize();
    let rounds = if key.len() == 16 {
        rk[0] = k0;
        for (i, rcon) in [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1B, 0x36]
            .into_iter()
            .enumerate()
        {
            rk[i + 1] = next_key(rk[i], rk[i], rcon);
        }
        10
    } else {
        rk[0] = k0;
        rk[1] = k1;
        for (i, rcon) in [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40]
            .into_iter()
            .enumerate()
        {
            let j = 2 * i + 2;
            rk[j] = next_key(rk[j - 2], rk[j - 1], rcon);
            // The last step needs only the even key.
            if j + 1 < 15 {
                rk[j + 1] = next_key_odd(rk[j - 1], rk[j]);
            }
        }
        14
    };
    let mut state = KeyState {
        round_keys: [[0; 16]; 15],
        rounds,
        powers: [[0; 16]; POWERS],
    };
    for (out, r) in state.round_keys.iter_mut().zip(rk) {
        store16(out, r);
    }
    // H = AES_K(0); K = mulX(rev(H)); rev(H) read little-endian is H read big-endian.
    let mut h = [0u8; 16];
    store16(&mut h, aes_block(&state, _mm_setzero_si128()));
    let k_int = mul_x(u128::from_be_bytes(h));
    h.zeroize();
    let mut kb = k_int.to_le_bytes();
    let kv = load16(&kb);
    kb.zeroize();
    let mut power = kv;
    for i in (0..POWERS).rev() {
        store16(&mut state.powers[i], power);
        power = dot(power, kv);
    }
    state
}

/// One AES block with the key state (for `H` and `AES_K(J0)`).
#[inline]
#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
pub(super) fn aes_block(ks: &KeyState, block: __m128i) -> __m128i {
    let mut s = _mm_xor_si128(block, load16(&ks.round_keys[0]));
    for rk in &ks.round_keys[1..ks.rounds] {
        s = _mm_aesenc_si128(s, load16(rk));
    }
    _mm_aesenclast_si128(s, load16(&ks.round_keys[ks.rounds]))
}

/// Montgomery reduction: `(hi * x^128 + lo) * x^-128 mod Q`.
#[inline]
#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
fn reduce(lo: __m128i, hi: __m128i) -> __m128i {
    let poly = _mm_set_epi64x(
        0,
        i64::from_ne_bytes(0xC200_0000_0000_0000_u64.to_ne_bytes()),
    );
    let t1 = _mm_clmulepi64_si128::<0x00>(lo, poly);
    let y = _mm_xor_si128(_mm_shuffle_epi32::<0x4E>(lo), t1);
    let t2 = _mm_clmulepi64_si128::<0x00>(y, poly);
    _mm_xor_si128(hi, _mm_xor_si128(_mm_shuffle_epi32::<0x4E>(y), t2))
}

/// POLYVAL's `dot(a, b) = a * b * x^-128 mod Q`.
#[inline]
#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
fn dot(a: __m128i, b: __m128i) -> __m128i {
    let (lo, mid, hi) = mul_parts(a, b);
    finish(lo, mid, hi)
}

/// Schoolbook 128x128 carry-less product as (lo, mid, hi) 128-bit parts.
#[inline]
#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
fn mul_parts(a: __m128i, b: __m128i) -> (__m128i, __m128i, __m128i) {
    let lo = _mm_clmulepi64_si128::<0x00>(a, b);
    let hi = _mm_clmulepi64_si128::<0x11>(a, b);
    let mid = _mm_xor_si128(
        _mm_clmulepi64_si128::<0x01>(a, b),
        _mm_clmulepi64_si128::<0x10>(a, b),
    );
    (lo, mid, hi)
}

/// Combines summed (lo, mid, hi) parts and reduces.
#[inline]
#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
pub(super) fn finish(lo: __m128i, mid: __m128i, hi: __m128i) -> __m128i {
    let lo = _mm_xor_si128(lo, _mm_slli_si128::<8>(mid));
    let hi = _mm_xor_si128(hi, _mm_srli_si128::<8>(mid));
    reduce(lo, hi)
}

/// GHASH state update over `2R` blocks given as `R` registers of raw (wire-order) bytes:
/// `S' = (S ^ X1) K^2R + X2 K^(2R-1) + ... + X2R K^1`, one reduction. Each 128 x 128
/// product is Karatsuba's three 64 x 64 ones: `lo = a0 b0`, `hi = a1 b1` and
/// `(a0 ^ a1)(b0 ^ b1)`, whose sum over the blocks, plus the sums of `lo` and `hi`, is the
/// middle term (see [`Powers`]).
#[inline]
#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
fn ghash_regs<const R: usize>(s: __m128i, x: [__m256i; R], powers: &Powers<R>) -> __m128i {
    let rev = _mm256_broadcastsi128_si256(rev_mask());
    let mut lo = _mm256_setzero_si256();
    let mut mid = _mm256_setzero_si256();
    let mut hi = _mm256_setzero_si256();
    for (i, ((&xi, &p), &k)) in x.iter().zip(&powers.k).zip(&powers.halves).enumerate() {
        let mut v = _mm256_shuffle_epi8(xi, rev);
        if i == 0 {
            v = _mm256_xor_si256(v, _mm256_set_m128i(_mm_setzero_si128(), s));
        }
        let halves = _mm256_xor_si256(v, _mm256_shuffle_epi32::<0x4E>(v));
        lo = _mm256_xor_si256(lo, _mm256_clmulepi64_epi128::<0x00>(v, p));
        hi = _mm256_xor_si256(hi, _mm256_clmulepi64_epi128::<0x11>(v, p));
        mid = _mm256_xor_si256(mid, _mm256_clmulepi64_epi128::<0x00>(halves, k));
    }
    let (lo, hi) = (fold(lo), fold(hi));
    finish(lo, _mm_xor_si128(fold(mid), _mm_xor_si128(lo, hi)), hi)
}

/// XOR of the two 128-bit lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn fold(v: __m256i) -> __m128i {
    _mm_xor_si128(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v))
}

/// GHASH state update over the first `n` (at most 8) blocks of `blocks`, block `j` times
/// `K^(n - j)`, one reduction.
#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
fn ghash_n(s: __m128i, blocks: &[[u8; 16]], n: usize, ks: &KeyState) -> __m128i {
    debug_assert!(n <= 8 && n <= blocks.len());
    if n == 0 {
        return s;
    }
    let rev = rev_mask();
    let mut lo = _mm_setzero_si128();
    let mut mid = _mm_setzero_si128();
    let mut hi = _mm_setzero_si128();
    for (j, (block, power)) in blocks[..n].iter().zip(&ks.powers[POWERS - n..]).enumerate() {
        let mut v = _mm_shuffle_epi8(load16(block), rev);
        if j == 0 {
            v = _mm_xor_si128(v, s);
        }
        let (l, m, h) = mul_parts(v, load16(power));
        lo = _mm_xor_si128(lo, l);
        mid = _mm_xor_si128(mid, m);
        hi = _mm_xor_si128(hi, h);
    }
    finish(lo, mid, hi)
}

/// The powers [`ghash_regs`] multiplies by: `k`, the `R` registers `[K^2R, K^(2R-1)] ..
/// [K^2, K^1]`, and `halves`, each power's two 64-bit halves XORed (Karatsuba's third
/// factor).
struct Powers<const R: usize> {
    k: [__m256i; R],
    halves: [__m256i; R],
}

#[inline]
#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
fn power_regs<const R: usize>(ks: &KeyState) -> Powers<R> {
    let flat: &[[u8; 16]] = &ks.powers[POWERS - 2 * R..];
    let mut k = [_mm256_setzero_si256(); R];
    for (o, pair) in k.iter_mut().zip(flat.chunks_exact(2)) {
        *o = _mm256_set_m128i(load16(&pair[1]), load16(&pair[0]));
    }
    let halves = k.map(|p| _mm256_xor_si256(p, _mm256_shuffle_epi32::<0x4E>(p)));
    Powers { k, halves }
}

/// GHASH over `data`, zero-padded to whole blocks.
#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
pub(super) fn ghash_padded(mut s: __m128i, data: &[u8], ks: &KeyState) -> __m128i {
    let (chunks, tail) = data.as_chunks::<128>();
    // The powers only when a whole chunk needs them (PSP's associated data is shorter).
    if !chunks.is_empty() {
        let powers = power_regs::<4>(ks);
        for chunk in chunks {
            s = ghash_regs(s, load_regs::<4>(chunk), &powers);
        }
    }
    let (whole, part) = tail.as_chunks::<16>();
    if part.is_empty() {
        // Whole blocks (PSP's 16 bytes) are read where they are: copied into a padded
        // array first, they were read back with wide loads from narrower stores, which
        // cannot forward and wait for the copy to retire (about 5 % of a 1500-byte encap).
        s = ghash_n(s, whole, whole.len(), ks);
    } else {
        let mut blocks = [[0u8; 16]; 8];
        for (b, src) in blocks.iter_mut().zip(tail.chunks(16)) {
            b[..src.len()].copy_from_slice(src);
        }
        s = ghash_n(s, &blocks, tail.len().div_ceil(16), ks);
    }
    s
}

/// The first `R` 32-byte registers of `bytes` (zeros past its end).
#[inline]
#[target_feature(enable = "avx")]
fn load_regs<const R: usize>(bytes: &[u8]) -> [__m256i; R] {
    let mut v = [_mm256_setzero_si256(); R];
    for (v, r) in v.iter_mut().zip(bytes.as_chunks::<32>().0) {
        *v = load32(r);
    }
    v
}

/// Stores `regs` over the first `32 R` bytes of `bytes` (those that are there).
#[inline]
#[target_feature(enable = "avx")]
fn store_regs<const R: usize>(bytes: &mut [u8], regs: [__m256i; R]) {
    for (r, v) in bytes.as_chunks_mut::<32>().0.iter_mut().zip(regs) {
        store32(r, v);
    }
}

/// Encrypts (XORs the keystream into) the `2R` blocks of `data`, counters `ctr + 0 ..
/// ctr + 2R - 1` (byte-reversed form), returning the result. The number of rounds is a
/// constant, so the rounds unroll and the scheduler can interleave them with the GHASH
/// work of the same step.
#[inline]
#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
fn ctr_regs<const R: usize, const ROUNDS: usize>(
    ks: &KeyState,
    ctr: __m256i,
    data: [__m256i; R],
) -> [__m256i; R] {
    let rev = _mm256_broadcastsi128_si256(rev_mask());
    let two = _mm256_set_epi32(0, 0, 0, 2, 0, 0, 0, 2);
    let mut c = ctr;
    let mut b = [_mm256_setzero_si256(); R];
    let rk0 = _mm256_broadcastsi128_si256(load16(&ks.round_keys[0]));
    for bi in &mut b {
        *bi = _mm256_xor_si256(_mm256_shuffle_epi8(c, rev), rk0);
        c = _mm256_add_epi32(c, two);
    }
    for rk in &ks.round_keys[1..ROUNDS] {
        let k = _mm256_broadcastsi128_si256(load16(rk));
        for bi in &mut b {
            *bi = _mm256_aesenc_epi128(*bi, k);
        }
    }
    let last = _mm256_broadcastsi128_si256(load16(&ks.round_keys[ROUNDS]));
    let mut out = [_mm256_setzero_si256(); R];
    for ((o, bi), d) in out.iter_mut().zip(b).zip(data) {
        *o = _mm256_xor_si256(_mm256_aesenclast_epi128(bi, last), d);
    }
    out
}

/// Whole steps of the fused pass (`R` registers, `32 R` bytes; `text.len()` a multiple of
/// that): CTR from counter `ctr` (byte-reversed form, two lanes) and GHASH of the ciphertext
/// from `s`, compiled per key size and direction. Sealing hashes each step's ciphertext one
/// step late, so the GHASH of step i - 1 and the AES rounds of step i are independent work
/// for the scheduler to interleave (opening hashes the input, known up front); the first
/// step is peeled, so the loop body is one straight block. Returns the next counter and the
/// GHASH state.
#[inline]
#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
fn crypt_steps<const R: usize, const ROUNDS: usize, const DECRYPT: bool>(
    ks: &KeyState,
    mut ctr: __m256i,
    text: &mut [u8],
    mut s: __m128i,
) -> (__m256i, __m128i) {
    let mut steps = text.chunks_exact_mut(32 * R);
    let Some(first) = steps.next() else {
        return (ctr, s);
    };
    let powers = power_regs::<R>(ks);
    #[expect(clippy::cast_possible_truncation, reason = "2R blocks, R <= 8")]
    let n = 2 * R as i32;
    let step = _mm256_set_epi32(0, 0, 0, n, 0, 0, 0, n);
    let input = load_regs::<R>(first);
    let mut previous = ctr_regs::<R, ROUNDS>(ks, ctr, input);
    ctr = _mm256_add_epi32(ctr, step);
    if DECRYPT {
        s = ghash_regs(s, input, &powers);
    }
    store_regs(first, previous);
    for chunk in steps {
        let input = load_regs::<R>(chunk);
        let output = ctr_regs::<R, ROUNDS>(ks, ctr, input);
        ctr = _mm256_add_epi32(ctr, step);
        s = ghash_regs(s, if DECRYPT { input } else { previous }, &powers);
        store_regs(chunk, output);
        previous = output;
    }
    if !DECRYPT {
        s = ghash_regs(s, previous, &powers);
    }
    (ctr, s)
}

/// The fused pass: CTR over `text` from counter 2 and GHASH of the ciphertext (the output
/// if `decrypt` is false, the input if it is true), continuing from `s`.
#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
fn crypt(
    ks: &KeyState,
    nonce: &[u8; NONCE_LEN],
    text: &mut [u8],
    s: __m128i,
    decrypt: bool,
) -> __m128i {
    let mut j = [0u8; 16];
    j[..NONCE_LEN].copy_from_slice(nonce);
    j[15] = 2;
    // Lanes: counters 2 and 3, byte-reversed (the counter is then dword 0 of each lane).
    let rev = rev_mask();
    let c2 = _mm_shuffle_epi8(load16(&j), rev);
    j[15] = 3;
    let c3 = _mm_shuffle_epi8(load16(&j), rev);
    let ctr = _mm256_set_m128i(c3, c2);
    match (ks.rounds, decrypt) {
        (10, false) => crypt_rounds::<10, false>(ks, ctr, text, s),
        (10, true) => crypt_rounds::<10, true>(ks, ctr, text, s),
        (_, false) => crypt_rounds::<14, false>(ks, ctr, text, s),
        (_, true) => crypt_rounds::<14, true>(ks, ctr, text, s),
    }
}

/// [`crypt`] for a key of `ROUNDS` rounds and one direction: steps of 256 bytes
/// while they last, then at most one of 128, then the tail (< 128 bytes) through a
/// zero-padded copy.
#[inline]
#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
fn crypt_rounds<const ROUNDS: usize, const DECRYPT: bool>(
    ks: &KeyState,
    ctr: __m256i,
    text: &mut [u8],
    s: __m128i,
) -> __m128i {
    let (wide, rest) = text.split_at_mut(text.len() / 256 * 256);
    let (ctr, s) = crypt_steps::<8, ROUNDS, DECRYPT>(ks, ctr, wide, s);
    let (chunks, tail) = rest.as_chunks_mut::<128>();
    let (ctr, mut s) = crypt_steps::<4, ROUNDS, DECRYPT>(ks, ctr, chunks.as_flattened_mut(), s);
    if !tail.is_empty() {
        let n = tail.len();
        let mut buf = [0u8; 128];
        buf[..n].copy_from_slice(tail);
        let blocks = n.div_ceil(16);
        if DECRYPT {
            s = ghash_n(s, buf.as_chunks::<16>().0, blocks, ks);
        }
        let output = ctr_regs::<4, ROUNDS>(ks, ctr, load_regs::<4>(&buf));
        store_regs(&mut buf, output);
        tail.copy_from_slice(&buf[..n]);
        if !DECRYPT {
            buf[n..].fill(0);
            s = ghash_n(s, buf.as_chunks::<16>().0, blocks, ks);
        }
        // The slice form (see the module comment), not the array's byte-by-byte one.
        buf.as_mut_slice().zeroize();
    }
    s
}

/// The tag from the GHASH state after AAD and ciphertext.
#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
pub(super) fn tag(
    ks: &KeyState,
    nonce: &[u8; NONCE_LEN],
    s: __m128i,
    aad_len: usize,
    text_len: usize,
) -> [u8; TAG_LEN] {
    let mut lengths = [[0u8; 16]];
    lengths[0][..8].copy_from_slice(&(aad_len as u64 * 8).to_be_bytes());
    lengths[0][8..].copy_from_slice(&(text_len as u64 * 8).to_be_bytes());
    let s = ghash_n(s, &lengths, 1, ks);
    let mut j0 = [0u8; 16];
    j0[..NONCE_LEN].copy_from_slice(nonce);
    j0[15] = 1;
    let t = _mm_xor_si128(_mm_shuffle_epi8(s, rev_mask()), aes_block(ks, load16(&j0)));
    let mut out = [0u8; TAG_LEN];
    store16(&mut out, t);
    out
}

#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
fn seal(ks: &KeyState, nonce: &[u8; NONCE_LEN], aad: &[u8], text: &mut [u8]) -> [u8; TAG_LEN] {
    let s = ghash_padded(_mm_setzero_si128(), aad, ks);
    let s = crypt(ks, nonce, text, s, false);
    tag(ks, nonce, s, aad.len(), text.len())
}

/// Decrypts while hashing; on a tag mismatch restores the ciphertext and returns `false`.
#[target_feature(enable = "aes,avx2,vaes,vpclmulqdq,pclmulqdq")]
fn open(
    ks: &KeyState,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    text: &mut [u8],
    want: &[u8; TAG_LEN],
) -> bool {
    let s = ghash_padded(_mm_setzero_si128(), aad, ks);
    let s = crypt(ks, nonce, text, s, true);
    let mut got = tag(ks, nonce, s, aad.len(), text.len());
    let ok = bool::from(got.ct_eq(want));
    got.as_mut_slice().zeroize();
    if !ok {
        crypt(ks, nonce, text, _mm_setzero_si128(), false);
    }
    ok
}

#[cfg(all(test, not(miri)))]
mod tests {
    use super::Avx2;
    use crate::{Cipher, GcmKey, Scalar};

    /// Keys carry this backend's state whenever the backend exists, so the tests of the
    /// backend run its kernel; a key without it falls back to `Scalar` with equal results.
    #[test]
    fn features_are_stated_once() {
        assert_eq!(crate::Backend::Avx2.features(), Avx2::FEATURES);
    }

    #[test]
    fn keys_carry_the_state_and_the_fallback_agrees() {
        let Some(avx2) = Avx2::new() else {
            std::eprintln!("avx2 not available: skipped");
            return;
        };
        let key = GcmKey::new_256(&[3; 32]);
        assert!(key.simd.is_some());
        let mut bare = key.clone();
        bare.simd = None;
        let mut a = [7u8; 300];
        let mut b = [7u8; 300];
        let ta = avx2.seal_in_place(&key, &[1; 12], &mut a, 20).unwrap();
        let tb = avx2.seal_in_place(&bare, &[1; 12], &mut b, 20).unwrap();
        assert_eq!((ta, a), (tb, b));
        let mut c = [7u8; 300];
        assert_eq!(
            Scalar.seal_in_place(&key, &[1; 12], &mut c, 20).unwrap(),
            ta
        );
        avx2.open_in_place(&bare, &[1; 12], &mut b, 20, &tb)
            .unwrap();
        assert_eq!(b, [7u8; 300]);
    }
}
