//! AArch64 with the Cryptographic Extension (`aes`: AESE/AESMC and the 64-bit PMULL): a
//! fused AES-CTR + GHASH kernel on 128-bit NEON registers.
//!
//! Algorithm: the same as the `Avx2` backend's (see `backend/avx2.rs` for the derivation),
//! in the POLYVAL domain of RFC 8452 appendix A:
//!
//! ```text
//! GHASH_H(X1..Xn) = rev(POLYVAL_K(rev(X1), .., rev(Xn)))      rev = byte reversal
//! K = mulX(rev(H));  POLYVAL: S = dot(S ^ X, K),  dot(a, b) = a * b * x^-128 mod Q
//! ```
//!
//! so a carry-less multiply (`PMULL`/`PMULL2`, 64x64 -> 128 bits) needs no bit reflection,
//! and `x^-128` is a Montgomery reduction by the constant `0xC200000000000000`.
//!
//! Main loop, 128 bytes (8 blocks) per iteration:
//! - 8 counter blocks: the nonce with the 32-bit big-endian counter in bytes 12..16
//!   (`inc32`, wrapping modulo 2^32 as the standard says);
//! - the AES rounds interleaved across the 8 blocks (`AESE` = AddRoundKey, SubBytes,
//!   ShiftRows; `AESMC` = MixColumns; cores fuse the pair), so each round's 8 independent
//!   instructions hide the latency of one; XOR with the data;
//! - GHASH of the 8 ciphertext blocks (the output when sealing, the input when opening)
//!   with the precomputed powers `K^8 .. K^1`: schoolbook products summed unreduced
//!   (lo, mid, hi), one reduction per 8 blocks (aggregated reduction).
//!
//! The tail (< 128 bytes) goes through a zero-padded 128-byte copy: the same AES step, and
//! GHASH block by block with the powers `K^n .. K^1` and one reduction. Associated data is
//! hashed by the same GHASH steps.
//!
//! Open decrypts while hashing (one pass) and compares the tag in constant time; on a
//! mismatch it runs the keystream over the buffer again, so the caller sees what `Scalar`
//! leaves: the ciphertext, unchanged.
//!
//! Key material (`KeyState`: round keys and the 8 powers of `K`) is computed once per key
//! by [`GcmKey::new`](crate::GcmKey::new) when this backend is available (detection is fixed
//! for the life of the process), and wiped on drop. A key without it is handed to `Scalar`,
//! which gives the same result. The key schedule uses `AESE` with a zero round key for
//! `SubWord` (constant time, no table).

use core::arch::aarch64::{
    uint8x16_t, uint64x2_t, vaeseq_u8, vaesmcq_u8, vdupq_laneq_u32, vdupq_n_u8, veorq_u8,
    veorq_u64, vextq_u8, vextq_u64, vgetq_lane_u64, vld1q_u8, vmull_high_p64, vmull_p64, vorrq_u32,
    vreinterpretq_p64_u64, vreinterpretq_u8_u32, vreinterpretq_u8_u64, vreinterpretq_u32_u8,
    vreinterpretq_u64_p128, vreinterpretq_u64_u8, vrev64q_u8, vsetq_lane_u32, vshlq_n_u32,
    vshrq_n_u32, vst1q_u8,
};

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::backend::Scalar;
use crate::engine::{NONCE_LEN, TAG_LEN, check_lengths};
use crate::{Backend, Cipher, Error, GcmKey};

/// AArch64 with NEON and the AES and PMULL instructions. Construct with [`Neon::new`],
/// which checks the CPU.
#[derive(Clone, Copy, Debug)]
pub struct Neon {
    _checked: (),
}

impl Neon {
    /// The CPU features this backend needs, as `is_aarch64_feature_detected!` spells them
    /// (`aes` covers AESE/AESMC and PMULL).
    pub const FEATURES: &'static [&'static str] = &["neon", "aes"];

    /// `Some` if this CPU has every feature in [`Neon::FEATURES`].
    pub fn new() -> Option<Self> {
        crate::detect::neon_aes().then_some(Self { _checked: () })
    }

    /// # Safety
    /// The CPU must support every feature in [`Neon::FEATURES`].
    pub const unsafe fn new_unchecked() -> Self {
        Self { _checked: () }
    }

    /// Round keys and GHASH powers for `key` (16 or 32 bytes).
    pub(crate) fn expand(self, key: &[u8]) -> KeyState {
        // SAFETY: a `Neon` exists only on a CPU with every feature `expand_key` enables.
        unsafe { expand_key(key) }
    }
}

/// This backend's form of a key: the AES round keys and `K^8 .. K^1` (POLYVAL domain,
/// little-endian), 376 bytes. Wiped on drop.
#[derive(Clone)]
pub(crate) struct KeyState {
    round_keys: [[u8; 16]; 15],
    rounds: usize,
    /// `powers[i] = K^(8 - i)`.
    powers: [[u8; 16]; 8],
}

impl Drop for KeyState {
    fn drop(&mut self) {
        self.round_keys.zeroize();
        self.powers.zeroize();
    }
}

impl Cipher for Neon {
    fn backend(&self) -> Backend {
        Backend::Neon
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
        // SAFETY: a `Neon` exists only on a CPU with every feature `seal` enables.
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
        // SAFETY: a `Neon` exists only on a CPU with every feature `open` enables.
        if unsafe { open(ks, nonce, aad, text, tag) } {
            Ok(())
        } else {
            Err(Error::Authentication)
        }
    }
}

#[inline]
#[target_feature(enable = "neon")]
fn load16(block: &[u8; 16]) -> uint8x16_t {
    // SAFETY: `block` is 16 readable bytes; the load has no alignment requirement.
    unsafe { vld1q_u8(block.as_ptr()) }
}

#[inline]
#[target_feature(enable = "neon")]
fn store16(block: &mut [u8; 16], v: uint8x16_t) {
    // SAFETY: `block` is 16 writable bytes; the store has no alignment requirement.
    unsafe { vst1q_u8(block.as_mut_ptr(), v) }
}

/// Byte reversal of the 128-bit register.
#[inline]
#[target_feature(enable = "neon")]
fn rev128(v: uint8x16_t) -> uint8x16_t {
    let r = vrev64q_u8(v);
    vextq_u8::<8>(r, r)
}

/// `prev` XOR its copies shifted up by 4, 8 and 12 bytes (the running XOR of the key
/// schedule's words).
#[inline]
#[target_feature(enable = "neon")]
fn spread(prev: uint8x16_t) -> uint8x16_t {
    let zero = vdupq_n_u8(0);
    let mut k = prev;
    k = veorq_u8(k, vextq_u8::<12>(zero, k));
    k = veorq_u8(k, vextq_u8::<12>(zero, k));
    veorq_u8(k, vextq_u8::<12>(zero, k))
}

/// `SubWord` of word 3 of `k`, in every word: `AESE` with a zero round key is `SubBytes`
/// then `ShiftRows`, and `ShiftRows` moves nothing when the four columns are equal.
#[inline]
#[target_feature(enable = "neon,aes")]
fn sub_word3(k: uint8x16_t) -> uint8x16_t {
    let w3 = vreinterpretq_u8_u32(vdupq_laneq_u32::<3>(vreinterpretq_u32_u8(k)));
    vaeseq_u8(w3, vdupq_n_u8(0))
}

/// The next AES-128 round key, or the next even AES-256 one (FIPS 197 key expansion):
/// `spread(prev) ^ (RotWord(SubWord(w3 of last)) ^ rcon)` in every word.
#[inline]
#[target_feature(enable = "neon,aes")]
fn next_key(prev: uint8x16_t, last: uint8x16_t, rcon: u8) -> uint8x16_t {
    // RotWord moves byte i + 1 to byte i: a right rotation by 8 of the little-endian word.
    let s = vreinterpretq_u32_u8(sub_word3(last));
    let rot = vreinterpretq_u8_u32(vorrq_u32(vshrq_n_u32::<8>(s), vshlq_n_u32::<24>(s)));
    let mut rc = [0u8; 16];
    for word in rc.chunks_exact_mut(4) {
        word[0] = rcon;
    }
    veorq_u8(spread(prev), veorq_u8(rot, load16(&rc)))
}

/// The next odd AES-256 round key: `spread(prev) ^ SubWord(w3 of last)` in every word.
#[inline]
#[target_feature(enable = "neon,aes")]
fn next_key_odd(prev: uint8x16_t, last: uint8x16_t) -> uint8x16_t {
    veorq_u8(spread(prev), sub_word3(last))
}

/// `a * x mod Q` (POLYVAL's mulX), on the little-endian integer form; branch-free.
fn mul_x(a: u128) -> u128 {
    let carry = a >> 127;
    (a << 1) ^ (0u128.wrapping_sub(carry) & 0xC200_0000_0000_0000_0000_0000_0000_0001)
}

#[target_feature(enable = "neon,aes")]
fn expand_key(key: &[u8]) -> KeyState {
    let mut rk = [vdupq_n_u8(0); 15];
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
        powers: [[0; 16]; 8],
    };
    for (out, r) in state.round_keys.iter_mut().zip(rk) {
        store16(out, r);
    }
    // H = AES_K(0); K = mulX(rev(H)); rev(H) read little-endian is H read big-endian.
    let mut h = [0u8; 16];
    store16(&mut h, aes_block(&state, vdupq_n_u8(0)));
    let k_int = mul_x(u128::from_be_bytes(h));
    h.zeroize();
    let mut kb = k_int.to_le_bytes();
    let kv = load16(&kb);
    kb.zeroize();
    let mut power = kv;
    for i in (0..8).rev() {
        store16(&mut state.powers[i], power);
        power = dot(power, kv);
    }
    state
}

/// One AES block with the key state (for `H` and `AES_K(J0)`).
#[inline]
#[target_feature(enable = "neon,aes")]
fn aes_block(ks: &KeyState, block: uint8x16_t) -> uint8x16_t {
    let mut s = block;
    for rk in &ks.round_keys[..ks.rounds - 1] {
        s = vaesmcq_u8(vaeseq_u8(s, load16(rk)));
    }
    s = vaeseq_u8(s, load16(&ks.round_keys[ks.rounds - 1]));
    veorq_u8(s, load16(&ks.round_keys[ks.rounds]))
}

/// Carry-less product of the low 64-bit halves.
#[inline]
#[target_feature(enable = "neon,aes")]
fn pmull_lo(a: uint64x2_t, b: uint64x2_t) -> uint64x2_t {
    vreinterpretq_u64_p128(vmull_p64(vgetq_lane_u64::<0>(a), vgetq_lane_u64::<0>(b)))
}

/// Carry-less product of the high 64-bit halves.
#[inline]
#[target_feature(enable = "neon,aes")]
fn pmull_hi(a: uint64x2_t, b: uint64x2_t) -> uint64x2_t {
    vreinterpretq_u64_p128(vmull_high_p64(
        vreinterpretq_p64_u64(a),
        vreinterpretq_p64_u64(b),
    ))
}

/// Montgomery reduction: `(hi * x^128 + lo) * x^-128 mod Q`.
#[inline]
#[target_feature(enable = "neon,aes")]
fn reduce(lo: uint64x2_t, hi: uint64x2_t) -> uint64x2_t {
    let poly = vreinterpretq_u64_u8(load16(&0xC200_0000_0000_0000_u128.to_le_bytes()));
    let t1 = pmull_lo(lo, poly);
    let y = veorq_u64(vextq_u64::<1>(lo, lo), t1);
    let t2 = pmull_lo(y, poly);
    veorq_u64(hi, veorq_u64(vextq_u64::<1>(y, y), t2))
}

/// Schoolbook 128x128 carry-less product as (lo, mid, hi) 128-bit parts.
#[inline]
#[target_feature(enable = "neon,aes")]
fn mul_parts(a: uint64x2_t, b: uint64x2_t) -> (uint64x2_t, uint64x2_t, uint64x2_t) {
    let swapped = vextq_u64::<1>(b, b);
    let lo = pmull_lo(a, b);
    let hi = pmull_hi(a, b);
    let mid = veorq_u64(pmull_lo(a, swapped), pmull_hi(a, swapped));
    (lo, mid, hi)
}

/// Combines summed (lo, mid, hi) parts and reduces.
#[inline]
#[target_feature(enable = "neon,aes")]
fn finish(lo: uint64x2_t, mid: uint64x2_t, hi: uint64x2_t) -> uint64x2_t {
    let zero = vreinterpretq_u64_u8(vdupq_n_u8(0));
    let lo = veorq_u64(lo, vextq_u64::<1>(zero, mid));
    let hi = veorq_u64(hi, vextq_u64::<1>(mid, zero));
    reduce(lo, hi)
}

/// POLYVAL's `dot(a, b) = a * b * x^-128 mod Q`.
#[inline]
#[target_feature(enable = "neon,aes")]
fn dot(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
    let (lo, mid, hi) = mul_parts(vreinterpretq_u64_u8(a), vreinterpretq_u64_u8(b));
    vreinterpretq_u8_u64(finish(lo, mid, hi))
}

/// GHASH state update over the first `n` (at most 8) blocks of `blocks` (wire order),
/// block `j` times `K^(n - j)`, one reduction.
#[inline]
#[target_feature(enable = "neon,aes")]
fn ghash_n(s: uint8x16_t, blocks: &[uint8x16_t], ks: &KeyState) -> uint8x16_t {
    let n = blocks.len().min(8);
    if n == 0 {
        return s;
    }
    let zero = vreinterpretq_u64_u8(vdupq_n_u8(0));
    let (mut lo, mut mid, mut hi) = (zero, zero, zero);
    for (j, (&block, power)) in blocks[..n].iter().zip(&ks.powers[8 - n..]).enumerate() {
        let mut v = rev128(block);
        if j == 0 {
            v = veorq_u8(v, s);
        }
        let (l, m, h) = mul_parts(vreinterpretq_u64_u8(v), vreinterpretq_u64_u8(load16(power)));
        lo = veorq_u64(lo, l);
        mid = veorq_u64(mid, m);
        hi = veorq_u64(hi, h);
    }
    vreinterpretq_u8_u64(finish(lo, mid, hi))
}

/// Loads the 8 blocks of a 128-byte chunk.
#[inline]
#[target_feature(enable = "neon")]
fn load8(chunk: &[u8; 128]) -> [uint8x16_t; 8] {
    let (blocks, _) = chunk.as_chunks::<16>();
    let mut out = [vdupq_n_u8(0); 8];
    for (o, b) in out.iter_mut().zip(blocks) {
        *o = load16(b);
    }
    out
}

/// Stores 8 blocks into a 128-byte chunk.
#[inline]
#[target_feature(enable = "neon")]
fn store8(chunk: &mut [u8; 128], v: [uint8x16_t; 8]) {
    let (blocks, _) = chunk.as_chunks_mut::<16>();
    for (b, x) in blocks.iter_mut().zip(v) {
        store16(b, x);
    }
}

/// GHASH over `data`, zero-padded to whole blocks.
#[target_feature(enable = "neon,aes")]
fn ghash_padded(mut s: uint8x16_t, data: &[u8], ks: &KeyState) -> uint8x16_t {
    let (chunks, tail) = data.as_chunks::<128>();
    for chunk in chunks {
        s = ghash_n(s, &load8(chunk), ks);
    }
    if !tail.is_empty() {
        let mut buf = [0u8; 128];
        buf[..tail.len()].copy_from_slice(tail);
        s = ghash_n(s, &load8(&buf)[..tail.len().div_ceil(16)], ks);
    }
    s
}

/// The keystream-XORed form of the 8 blocks `data`, counters `ctr .. ctr + 7` over the
/// nonce block `j` (bytes 12..16 replaced by the big-endian counter).
#[inline]
#[target_feature(enable = "neon,aes")]
fn ctr8(ks: &KeyState, j: uint8x16_t, ctr: u32, data: [uint8x16_t; 8]) -> [uint8x16_t; 8] {
    let mut b = [j; 8];
    for (i, bi) in (0u32..).zip(b.iter_mut()) {
        let be = u32::from_le_bytes(ctr.wrapping_add(i).to_be_bytes());
        *bi = vreinterpretq_u8_u32(vsetq_lane_u32::<3>(be, vreinterpretq_u32_u8(*bi)));
    }
    for rk in &ks.round_keys[..ks.rounds - 1] {
        let k = load16(rk);
        for bi in &mut b {
            *bi = vaesmcq_u8(vaeseq_u8(*bi, k));
        }
    }
    let penultimate = load16(&ks.round_keys[ks.rounds - 1]);
    let last = load16(&ks.round_keys[ks.rounds]);
    let mut out = b;
    for ((o, bi), d) in out.iter_mut().zip(b).zip(data) {
        *o = veorq_u8(veorq_u8(vaeseq_u8(bi, penultimate), last), d);
    }
    out
}

/// The fused pass: CTR over `text` from counter 2 and GHASH of the ciphertext (the output
/// if `decrypt` is false, the input if it is true), continuing from `s`.
#[target_feature(enable = "neon,aes")]
fn crypt(
    ks: &KeyState,
    nonce: &[u8; NONCE_LEN],
    text: &mut [u8],
    mut s: uint8x16_t,
    decrypt: bool,
) -> uint8x16_t {
    let mut jb = [0u8; 16];
    jb[..NONCE_LEN].copy_from_slice(nonce);
    let j = load16(&jb);
    let mut ctr = 2u32;
    let (chunks, tail) = text.as_chunks_mut::<128>();
    // Sealing hashes each chunk's ciphertext one iteration late (as `Avx2` does), so the
    // GHASH of chunk i - 1 and the AES rounds of chunk i are independent work.
    let mut pending: Option<[uint8x16_t; 8]> = None;
    for chunk in chunks {
        let input = load8(chunk);
        let output = ctr8(ks, j, ctr, input);
        ctr = ctr.wrapping_add(8);
        if decrypt {
            s = ghash_n(s, &input, ks);
        } else if let Some(previous) = pending.replace(output) {
            s = ghash_n(s, &previous, ks);
        }
        store8(chunk, output);
    }
    if let Some(previous) = pending {
        s = ghash_n(s, &previous, ks);
    }
    if !tail.is_empty() {
        let n = tail.len();
        let blocks = n.div_ceil(16);
        let mut buf = [0u8; 128];
        buf[..n].copy_from_slice(tail);
        let input = load8(&buf);
        if decrypt {
            s = ghash_n(s, &input[..blocks], ks);
        }
        store8(&mut buf, ctr8(ks, j, ctr, input));
        tail.copy_from_slice(&buf[..n]);
        if !decrypt {
            buf[n..].fill(0);
            s = ghash_n(s, &load8(&buf)[..blocks], ks);
        }
        // The slice form (`fill` and a barrier), not the array's byte-by-byte volatile
        // writes.
        buf.as_mut_slice().zeroize();
    }
    s
}

/// The tag from the GHASH state after AAD and ciphertext.
#[target_feature(enable = "neon,aes")]
fn tag(
    ks: &KeyState,
    nonce: &[u8; NONCE_LEN],
    s: uint8x16_t,
    aad_len: usize,
    text_len: usize,
) -> [u8; TAG_LEN] {
    let mut lengths = [0u8; 16];
    lengths[..8].copy_from_slice(&(aad_len as u64 * 8).to_be_bytes());
    lengths[8..].copy_from_slice(&(text_len as u64 * 8).to_be_bytes());
    let s = ghash_n(s, &[load16(&lengths)], ks);
    let mut j0 = [0u8; 16];
    j0[..NONCE_LEN].copy_from_slice(nonce);
    j0[15] = 1;
    let t = veorq_u8(rev128(s), aes_block(ks, load16(&j0)));
    let mut out = [0u8; TAG_LEN];
    store16(&mut out, t);
    out
}

#[target_feature(enable = "neon,aes")]
fn seal(ks: &KeyState, nonce: &[u8; NONCE_LEN], aad: &[u8], text: &mut [u8]) -> [u8; TAG_LEN] {
    let s = ghash_padded(vdupq_n_u8(0), aad, ks);
    let s = crypt(ks, nonce, text, s, false);
    tag(ks, nonce, s, aad.len(), text.len())
}

/// Decrypts while hashing; on a tag mismatch restores the ciphertext and returns `false`.
#[target_feature(enable = "neon,aes")]
fn open(
    ks: &KeyState,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    text: &mut [u8],
    want: &[u8; TAG_LEN],
) -> bool {
    let s = ghash_padded(vdupq_n_u8(0), aad, ks);
    let s = crypt(ks, nonce, text, s, true);
    let mut got = tag(ks, nonce, s, aad.len(), text.len());
    let ok = bool::from(got.ct_eq(want));
    got.as_mut_slice().zeroize();
    if !ok {
        crypt(ks, nonce, text, vdupq_n_u8(0), false);
    }
    ok
}

#[cfg(all(test, not(miri)))]
mod tests {
    use super::Neon;
    use crate::{Cipher, GcmKey, Scalar};

    #[test]
    fn features_are_stated_once() {
        assert_eq!(crate::Backend::Neon.features(), Neon::FEATURES);
    }

    /// Keys carry this backend's state whenever the backend exists, so the tests of the
    /// backend run its kernel; a key without it falls back to `Scalar` with equal results.
    #[test]
    fn keys_carry_the_state_and_the_fallback_agrees() {
        let Some(neon) = Neon::new() else {
            std::eprintln!("neon+aes not available: skipped");
            return;
        };
        for key in [GcmKey::new_256(&[3; 32]), GcmKey::new_128(&[9; 16])] {
            assert!(key.simd.is_some());
            let mut bare = key.clone();
            bare.simd = None;
            let mut a = [7u8; 300];
            let mut b = [7u8; 300];
            let ta = neon.seal_in_place(&key, &[1; 12], &mut a, 20).unwrap();
            let tb = neon.seal_in_place(&bare, &[1; 12], &mut b, 20).unwrap();
            assert_eq!((ta, a), (tb, b));
            let mut c = [7u8; 300];
            assert_eq!(
                Scalar.seal_in_place(&key, &[1; 12], &mut c, 20).unwrap(),
                ta
            );
            assert_eq!(c, a);
            neon.open_in_place(&key, &[1; 12], &mut a, 20, &ta).unwrap();
            assert_eq!(a, [7u8; 300]);
        }
    }
}
