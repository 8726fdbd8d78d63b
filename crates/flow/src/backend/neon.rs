//! aarch64 with NEON, PMULL (`aes`) and CRC32 (`crc`).

use core::arch::aarch64::{
    __crc32cb, __crc32cd, poly64x2_t, uint8x16_t, vceqq_u16, vcombine_u8, vcombine_u64,
    vcreate_u64, vdupq_n_u8, vdupq_n_u16, veorq_u8, vget_lane_u64, vgetq_lane_p64, vgetq_lane_u32,
    vld1q_u8, vld1q_u16, vmovn_u16, vmull_high_p64, vmull_p64, vqtbl1q_u8, vreinterpret_u64_u8,
    vreinterpretq_p64_u8, vreinterpretq_p64_u64, vreinterpretq_u8_p128, vreinterpretq_u8_u64,
    vreinterpretq_u16_u8, vreinterpretq_u32_u8, vshrn_n_u16,
};

use crate::rss::{RssKey, check_bulk, check_input};
use crate::{Backend, Error, Lookup, LookupTask, RssHasher};

/// aarch64 with NEON, PMULL and CRC32. Construct with [`Neon::new`], which checks the CPU.
#[derive(Clone, Copy, Debug)]
pub struct Neon {
    _checked: (),
}

impl Neon {
    /// `Some` if this CPU has every feature in [`Backend::Neon`]'s
    /// [`features`](Backend::features).
    pub fn new() -> Option<Self> {
        crate::detect::neon().then_some(Self { _checked: () })
    }

    /// # Safety
    /// The CPU must support NEON, AES (PMULL) and CRC32.
    pub const unsafe fn new_unchecked() -> Self {
        Self { _checked: () }
    }
}

impl Lookup for Neon {
    fn backend(&self) -> Backend {
        Backend::Neon
    }

    #[inline]
    fn crc32c(&self, crc: u32, data: &[u8]) -> u32 {
        // SAFETY: a `Neon` exists only on a CPU with the CRC32 instructions.
        unsafe { crc32c(crc, data) }
    }

    #[inline]
    fn match_tags(&self, a: &[u16; 8], b: &[u16; 8], tag: u16) -> u16 {
        // SAFETY: a `Neon` exists only on a CPU with NEON.
        unsafe { match_tags(a, b, tag) }
    }

    #[inline(always)]
    fn prefetch<T>(&self, item: &T) {
        // SAFETY: `prfm` is a hint that never faults and changes no architectural state.
        unsafe {
            core::arch::asm!(
                "prfm pldl1keep, [{p}]",
                p = in(reg) core::ptr::from_ref(item),
                options(nostack, preserves_flags, readonly)
            );
        }
    }

    #[inline(always)]
    fn specialize<T: LookupTask>(&self, task: T) -> T::Output {
        /// The task, compiled with the backend's features so the kernels inline into it.
        #[target_feature(enable = "neon,aes,crc")]
        #[inline]
        fn run<T: LookupTask>(lookup: Neon, task: T) -> T::Output {
            task.run(lookup)
        }
        // SAFETY: a `Neon` exists only on a CPU with NEON, AES (PMULL) and CRC32.
        unsafe { run(*self, task) }
    }
}

/// CRC-32C with the ARMv8 `crc32cx` instruction, 8 bytes per step (flow keys are short: one
/// dependent chain is the whole cost).
#[target_feature(enable = "crc")]
#[inline]
fn crc32c(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        c = __crc32cd(c, u64::from_le_bytes(w));
    }
    for &b in chunks.remainder() {
        c = __crc32cb(c, b);
    }
    !c
}

/// `cmeq` of each bucket's eight tags, narrowed to bytes (0x00 / 0xFF), then `shrn #4` turns
/// the 16 bytes into 16 nibbles of one 64-bit word; one bit of each nibble is kept.
#[target_feature(enable = "neon")]
#[inline]
fn match_tags(a: &[u16; 8], b: &[u16; 8], tag: u16) -> u16 {
    // SAFETY: `a` and `b` are eight readable u16s each.
    let (va, vb) = unsafe { (vld1q_u16(a.as_ptr()), vld1q_u16(b.as_ptr())) };
    let t = vdupq_n_u16(tag);
    let bytes = vcombine_u8(vmovn_u16(vceqq_u16(va, t)), vmovn_u16(vceqq_u16(vb, t)));
    let nibbles = vget_lane_u64::<0>(vreinterpret_u64_u8(vshrn_n_u16::<4>(vreinterpretq_u16_u8(
        bytes,
    ))));
    // Nibble i is 0xF when lane i matched: keep bit 0 of each nibble and squeeze the 16
    // bits together in four shift-or steps.
    let mut x = nibbles & 0x1111_1111_1111_1111;
    x = (x | x >> 3) & 0x0303_0303_0303_0303;
    x = (x | x >> 6) & 0x000F_000F_000F_000F;
    x = (x | x >> 12) & 0x0000_00FF_0000_00FF;
    x = (x | x >> 24) & 0xFFFF;
    #[expect(clippy::cast_possible_truncation, reason = "masked to 16 bits")]
    let m = x as u16;
    m
}

impl RssHasher for Neon {
    fn backend(&self) -> Backend {
        Backend::Neon
    }

    #[inline]
    fn toeplitz(&self, key: &RssKey, input: &[u8]) -> Result<u32, Error> {
        check_input(key, input.len())?;
        // SAFETY: a `Neon` exists only on a CPU with NEON and PMULL (`aes`).
        Ok(unsafe { toeplitz(key.words(), input) })
    }

    #[inline]
    fn toeplitz_bulk<const N: usize>(
        &self,
        key: &RssKey,
        inputs: &[[u8; N]],
        out: &mut [u32],
    ) -> Result<(), Error> {
        check_bulk(key, N, inputs.len(), out.len())?;
        let out = &mut out[..inputs.len()];
        // SAFETY: a `Neon` exists only on a CPU with NEON and PMULL (`aes`).
        unsafe { toeplitz_bulk(key.words(), inputs, out) };
        Ok(())
    }
}

// Toeplitz by carry-less multiplication, the formulation of the `Avx2` backend (see the
// comment there): per 12-byte input segment s, A = bytes 0..8 and B = bytes 4..12 read
// big-endian (one `tbl`), multiplied by the key words `words[2s]` and `words[2s + 1]`
// (`pmull` on the low lanes, `pmull2` on the high ones), and
//
//     hash = rbit(bits 64..96 of Σ A-products ^ bits 32..64 of Σ B-products).
//
// `rbit` reverses the 32 output bits in one instruction. Bulk inputs go one at a time
// (independent, so they overlap in the pipeline), loaded straight from the slice with a
// `tbl` that also zeroes the bytes past `N`.

/// A segment's 12 bytes as two big-endian 64-bit words: bytes 0..8 and bytes 4..12.
const SEGMENT: [u8; 16] = [7, 6, 5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 6, 5, 4];

/// The hash of at most 48 bytes (checked by the caller).
#[target_feature(enable = "neon,aes")]
fn toeplitz(w: &[u64; 8], input: &[u8]) -> u32 {
    debug_assert!(input.len() <= 48);
    let segment = load16(&SEGMENT);
    let mut la = vdupq_n_u8(0);
    let mut lb = vdupq_n_u8(0);
    for s in 0..input.len().div_ceil(12).min(4) {
        let a = vreinterpretq_p64_u8(vqtbl1q_u8(load_segment(&input[12 * s..]), segment));
        let k = pair(w, 2 * s);
        la = veorq_u8(la, mul_low(a, k));
        lb = veorq_u8(lb, mul_high(a, k));
    }
    finish(la, lb)
}

/// The first 12 bytes of `s` (zero-padded when shorter) in the low 12 bytes of a vector,
/// without reading past `s`.
#[inline]
#[target_feature(enable = "neon")]
fn load_segment(s: &[u8]) -> uint8x16_t {
    if let Some(block) = s.first_chunk::<16>() {
        return load16(block);
    }
    let s = &s[..s.len().min(12)];
    let (low, high) = match s.split_first_chunk::<8>() {
        Some((head, tail)) => (u64::from_le_bytes(*head), le_partial(tail)),
        None => (le_partial(s), 0),
    };
    vreinterpretq_u8_u64(vcombine_u64(vcreate_u64(low), vcreate_u64(high)))
}

/// Up to 8 bytes as a little-endian `u64`, zero-extended: two overlapping reads instead of
/// a byte loop.
#[inline(always)]
fn le_partial(s: &[u8]) -> u64 {
    let n = s.len();
    match (s.first_chunk::<4>(), s.last_chunk::<4>()) {
        (Some(head), Some(tail)) => {
            u64::from(u32::from_le_bytes(*head))
                | u64::from(u32::from_le_bytes(*tail)) << (8 * (n - 4))
        }
        _ => match (s.first(), s.get(n / 2), s.last()) {
            (Some(&a), Some(&b), Some(&c)) => {
                u64::from(a) | u64::from(b) << (8 * (n / 2)) | u64::from(c) << (8 * (n - 1))
            }
            _ => 0,
        },
    }
}

/// `[w[i], w[i + 1]]` (`i <= 6`).
#[inline]
#[target_feature(enable = "neon")]
fn pair(w: &[u64; 8], i: usize) -> poly64x2_t {
    vreinterpretq_p64_u64(vcombine_u64(vcreate_u64(w[i]), vcreate_u64(w[i + 1])))
}

/// The low lanes' carry-less product.
#[inline]
#[target_feature(enable = "neon,aes")]
fn mul_low(a: poly64x2_t, b: poly64x2_t) -> uint8x16_t {
    vreinterpretq_u8_p128(vmull_p64(vgetq_lane_p64::<0>(a), vgetq_lane_p64::<0>(b)))
}

/// The high lanes' carry-less product.
#[inline]
#[target_feature(enable = "neon,aes")]
fn mul_high(a: poly64x2_t, b: poly64x2_t) -> uint8x16_t {
    vreinterpretq_u8_p128(vmull_high_p64(a, b))
}

/// The hash from the A and B product sums.
#[inline]
#[target_feature(enable = "neon")]
fn finish(la: uint8x16_t, lb: uint8x16_t) -> u32 {
    let f = vgetq_lane_u32::<2>(vreinterpretq_u32_u8(la))
        ^ vgetq_lane_u32::<1>(vreinterpretq_u32_u8(lb));
    f.reverse_bits()
}

/// Per 12-byte segment `s` of an `N`-byte input: the `tbl` indices that make [bytes 0..8,
/// bytes 4..12] big-endian and zero the bytes past `N` (index 0xFF), and the key words
/// `[words[2s], words[2s + 1]]`.
struct Consts {
    shuffle: [uint8x16_t; 4],
    keys: [poly64x2_t; 4],
}

impl Consts {
    #[target_feature(enable = "neon")]
    fn new<const N: usize>(w: &[u64; 8]) -> Self {
        let mut shuffle = [vdupq_n_u8(0); 4];
        for (s, v) in shuffle.iter_mut().enumerate() {
            let mut idx = SEGMENT;
            for i in &mut idx {
                if 12 * s + usize::from(*i) >= N {
                    *i = 0xFF;
                }
            }
            *v = load16(&idx);
        }
        Self {
            shuffle,
            keys: [pair(w, 0), pair(w, 2), pair(w, 4), pair(w, 6)],
        }
    }
}

/// The hashes of `inputs` (each at most 48 bytes, checked by the caller) into `out` (as
/// long as `inputs`).
#[target_feature(enable = "neon,aes")]
fn toeplitz_bulk<const N: usize>(w: &[u64; 8], inputs: &[[u8; N]], out: &mut [u32]) {
    debug_assert!(N <= 48 && out.len() == inputs.len());
    if N == 0 {
        out.fill(0);
        return;
    }
    let c = Consts::new::<N>(w);
    // The last segment's 16-byte load ends this far from the input's start.
    let span = 12 * (N.div_ceil(12) - 1) + 16;
    let flat = inputs.as_flattened();
    for (i, hash) in out.iter_mut().enumerate() {
        let start = i * N;
        *hash = match flat.get(start..start + span) {
            Some(s) => one::<N>(s, &c),
            // The last inputs, whose loads would read past the slice: a zero-padded copy.
            None => {
                let mut buf = [0u8; 52];
                buf[..N].copy_from_slice(&flat[start..start + N]);
                one::<N>(&buf, &c)
            }
        };
    }
}

/// The hash of the `N`-byte input at the start of `s` (at least `12 * (ceil(N / 12) - 1) +
/// 16` bytes).
#[inline]
#[target_feature(enable = "neon,aes")]
fn one<const N: usize>(s: &[u8], c: &Consts) -> u32 {
    let mut la = vdupq_n_u8(0);
    let mut lb = vdupq_n_u8(0);
    for seg in 0..N.div_ceil(12) {
        let v = load16(chunk16(s, 12 * seg));
        let a = vreinterpretq_p64_u8(vqtbl1q_u8(v, c.shuffle[seg]));
        la = veorq_u8(la, mul_low(a, c.keys[seg]));
        // A segment of at most 4 bytes has no B pairs (N is a constant: no branch remains).
        if N > 12 * seg + 4 {
            lb = veorq_u8(lb, mul_high(a, c.keys[seg]));
        }
    }
    finish(la, lb)
}

/// The 16 bytes of `s` at `off` (in range by the callers' construction; zeros otherwise).
#[inline(always)]
fn chunk16(s: &[u8], off: usize) -> &[u8; 16] {
    s.get(off..)
        .and_then(<[u8]>::first_chunk::<16>)
        .unwrap_or(&[0; 16])
}

#[inline]
#[target_feature(enable = "neon")]
fn load16(block: &[u8; 16]) -> uint8x16_t {
    // SAFETY: `block` is 16 readable bytes; `ld1` has no alignment requirement.
    unsafe { vld1q_u8(block.as_ptr()) }
}
