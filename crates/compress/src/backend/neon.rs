//! aarch64 with NEON (every AArch64 Linux CPU).
//!
//! The LZ4 decoder's fast loop, the same algorithm as the AVX2 backend's (see
//! `backend/avx2.rs` for the reasoning behind its margins): it decodes sequences while more
//! than 64 bytes of input and of output room remain, with 16-byte literal moves, 8+8+2-byte
//! short match moves, period replication by table lookup (`TBL`) for offsets under 16, and
//! hands anything unusual to the safe loop in `lz4::block`, which reports errors exactly. On
//! success nothing after the returned length is written. The compressor is the shared safe
//! one, as on `Scalar`. Adler-32 sums 32 bytes per step in vector lanes (see
//! [`adler32_neon`]).

use core::arch::aarch64::{
    uint32x4_t, vaddlvq_u32, vaddq_u16, vaddq_u32, vdupq_n_u32, vget_low_u8, vld1q_u8,
    vmlal_high_u8, vmlal_u8, vmull_u8, vpadalq_u16, vpaddlq_u8, vqtbl1q_u8, vst1q_u8,
};

use crate::engine::{Backend, Codec};
use crate::lz4::block;
use crate::{Error, deflate};

/// aarch64 with NEON. Construct with [`Neon::new`], which checks the CPU.
#[derive(Clone, Copy, Debug)]
pub struct Neon {
    _checked: (),
}

impl Neon {
    /// `Some` if this CPU has NEON (every AArch64 Linux CPU does).
    pub fn new() -> Option<Self> {
        crate::detect::neon().then_some(Self { _checked: () })
    }

    /// # Safety
    /// The CPU must support NEON.
    pub const unsafe fn new_unchecked() -> Self {
        Self { _checked: () }
    }
}

/// The fast loop runs while more than this many input bytes and output bytes remain
/// (it needs 64 bytes of output room for its widest stores).
const MARGIN: usize = 64;

/// Input bytes a long sequence decoded by the fast loop must leave unread (a short one
/// leaves at least 47). A valid block's sequences decode to at least as many bytes as they
/// occupy, less 2 (token and length byte of the final, literals-only sequence), so the rest
/// of the block (decoded by the safe loop) writes at least 45 bytes from where the fast
/// loop stopped: more than the 31 bytes any of its stores runs past the end of a sequence. That is why the fast loop may
/// store whole vectors and still leave nothing written past the reported length once the
/// block has decoded (on an error the buffer's contents are unspecified, as documented).
const LEAVE: usize = 48;

/// `PATTERNS[k]` repeats bytes `0..k` of a vector over 16 bytes (k = 1..15), for matches
/// whose offset is shorter than a vector.
const PATTERNS: [[u8; 16]; 16] = {
    let mut t = [[0u8; 16]; 16];
    let mut k = 1;
    while k < 16 {
        let mut i = 0;
        while i < 16 {
            #[expect(clippy::cast_possible_truncation, reason = "i % k < 16")]
            {
                t[k][i] = (i % k) as u8;
            }
            i += 1;
        }
        k += 1;
    }
    t
};

/// Copies at least `n` bytes from `s` to `d` in pairs of 16-byte moves (up to 31 bytes
/// more).
///
/// # Safety
/// `s..s + n + 31` readable, `d..d + n + 31` writable; `d >= s + 32` if the ranges overlap.
#[inline(always)]
unsafe fn wild_copy32(d: *mut u8, s: *const u8, n: usize) {
    let mut i = 0;
    // SAFETY: every move is inside the ranges the caller guarantees.
    unsafe {
        loop {
            vst1q_u8(d.add(i), vld1q_u8(s.add(i)));
            vst1q_u8(d.add(i + 16), vld1q_u8(s.add(i + 16)));
            i += 32;
            if i >= n {
                break;
            }
        }
    }
}

/// Writes at least `len` bytes at `d` (up to 15 more), each equal to the byte `offset`
/// before it.
///
/// # Safety
/// `d - offset .. d` initialised and inside the same allocation as `d .. d + len + 15`,
/// which must be writable; `1 <= offset`.
#[inline(always)]
unsafe fn wild_match(d: *mut u8, offset: usize, len: usize) {
    // SAFETY: the caller guarantees the ranges; each move reads only bytes before the ones
    // it writes (offset >= 16) or builds the vector from the `offset` bytes before `d`.
    unsafe {
        let s = d.sub(offset);
        if offset >= 16 {
            let mut i = 0;
            loop {
                vst1q_u8(d.add(i), vld1q_u8(s.add(i)));
                i += 16;
                if i >= len {
                    break;
                }
            }
        } else {
            // Replicate the period across a vector, then store it every `step` bytes, a
            // whole number of periods, so each store starts in phase.
            let v = vqtbl1q_u8(vld1q_u8(s), vld1q_u8(PATTERNS[offset].as_ptr()));
            let step = 16 - 16 % offset;
            let mut i = 0;
            loop {
                vst1q_u8(d.add(i), v);
                i += step;
                if i >= len {
                    break;
                }
            }
        }
    }
}

/// Decodes whole sequences while they are far from the buffers' ends; returns where it
/// stopped (a sequence boundary: input position, output position).
///
/// # Safety
/// The CPU must support NEON; `start <= output.len()`.
#[target_feature(enable = "neon")]
unsafe fn decode_fast(input: &[u8], output: &mut [u8], start: usize) -> (usize, usize) {
    let (in_len, out_len) = (input.len(), output.len());
    let mut ip = 0;
    let mut op = start;
    if in_len <= MARGIN || out_len - start <= MARGIN {
        return (ip, op);
    }
    let in_end = in_len - MARGIN;
    let out_end = out_len - MARGIN;
    let in_leave = in_len - LEAVE;
    let src = input.as_ptr();
    let dst = output.as_mut_ptr();
    // SAFETY: every read is below `in_len` and every write below `out_len`, as the checks
    // and margins commented at each step show; matches read `offset <= op` bytes back, inside
    // `output[..op]`, which is initialised (a `&mut [u8]`).
    unsafe {
        // At the top of the loop `op < out_end`: a short sequence then writes at most
        // 14 + 24 bytes from `op`, below `out_len - 26`.
        while ip < in_end && op < out_end {
            let sequence = (ip, op);
            let token = *src.add(ip);
            ip += 1;
            let mut literals = usize::from(token >> 4);
            if literals != 15 {
                // 16 bytes read and written: `ip + 16 <= in_end + 16 < in_len`, `op + 16 <
                // out_len`.
                vst1q_u8(dst.add(op), vld1q_u8(src.add(ip)));
            } else {
                // Extension bytes, then the literals, which must leave `LEAVE` bytes of
                // input and `MARGIN` of output.
                loop {
                    if ip >= in_leave {
                        return sequence;
                    }
                    let byte = *src.add(ip);
                    ip += 1;
                    literals += usize::from(byte);
                    if byte != 255 {
                        break;
                    }
                }
                if literals > in_leave - ip || literals > out_end - op {
                    if ip + literals == in_len && literals <= out_len - op && literals >= 32 {
                        // The block's last literals, long (an incompressible block is one
                        // run): copied exactly, 16 bytes at a time, the last move ending at
                        // the end (`ip + literals == in_len`, `op + literals <= out_len`).
                        let (s, d) = (src.add(ip), dst.add(op));
                        let mut i = 0;
                        while i + 16 < literals {
                            vst1q_u8(d.add(i), vld1q_u8(s.add(i)));
                            i += 16;
                        }
                        let last = literals - 16;
                        vst1q_u8(d.add(last), vld1q_u8(s.add(last)));
                        return (in_len, op + literals);
                    }
                    return sequence;
                }
                // `ip + literals + 31 < in_len`, `op + literals + 31 < out_len`.
                wild_copy32(dst.add(op), src.add(ip), literals);
            }
            ip += literals;
            op += literals;
            // `ip + 2 <= in_leave + 2` (both paths above).
            let offset = usize::from(u16::from_le(src.add(ip).cast::<u16>().read_unaligned()));
            ip += 2;
            // `offset == 0 || offset > op` in one compare: an error or a dictionary
            // reference, which the safe loop decides.
            if offset.wrapping_sub(1) >= op {
                return sequence;
            }
            let code = usize::from(token & 15);
            if code != 15 {
                let len = code + 4;
                if offset >= 8 {
                    // The common short match (at most 18 bytes): moves of 8, 8 and 2 bytes
                    // (`op + 18 < out_len`), each reading bytes at least 8 behind. Small
                    // moves matter: a load that spans two recent stores (or part of one) is
                    // not forwarded from the store buffer and waits for the stores to
                    // retire. Measured on text: 16-byte moves, or a third 8-byte move,
                    // spent most of the loop's time on those loads.
                    let s = dst.add(op - offset);
                    let d = dst.add(op);
                    d.cast::<u64>()
                        .write_unaligned(s.cast::<u64>().read_unaligned());
                    d.add(8)
                        .cast::<u64>()
                        .write_unaligned(s.add(8).cast::<u64>().read_unaligned());
                    d.add(16)
                        .cast::<u16>()
                        .write_unaligned(s.add(16).cast::<u16>().read_unaligned());
                } else {
                    // `op + 18 + 15 < out_len`.
                    wild_match(dst.add(op), offset, len);
                }
                op += len;
                continue;
            }
            let mut len = 19;
            loop {
                if ip >= in_leave {
                    return sequence;
                }
                let byte = *src.add(ip);
                ip += 1;
                len += usize::from(byte);
                if byte != 255 {
                    break;
                }
            }
            if op + len > out_end {
                // Too close to the end of the output: the safe loop decides.
                return sequence;
            }
            // `op + len + 15 < out_len`.
            wild_match(dst.add(op), offset, len);
            op += len;
        }
    }
    (ip, op)
}

/// The Adler-32 modulus.
const ADLER_MOD: u64 = 65_521;
/// 32-byte chunks summed before the lanes are folded into the scalar sums: every lane
/// stays below 2^32 (the prefix-sum lanes, the largest, reach about
/// `1024^2 / 2 * 8 * 255 < 2^31`).
const ADLER_CHUNKS: usize = 1024;

/// Weights 32..1 of the bytes of a 32-byte chunk in `b`'s sum.
const ADLER_WEIGHTS: [u8; 32] = [
    32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9,
    8, 7, 6, 5, 4, 3, 2, 1,
];

/// Adler-32 over 32-byte chunks in NEON lanes: the decomposition of the Avx2 kernel (see
/// `adler32_avx2` in `backend/avx2.rs`): for `n = 32 K` bytes from sums `(a, b)`,
/// `b' = b + n a + 32 sum_k (K - 1 - k) S_k + sum_k sum_j (32 - j) x_{32k+j}`. Per chunk:
/// the running total of earlier chunk sums goes into a prefix accumulator, `UADDLP`/`UADALP`
/// add the chunk's bytes into four 32-bit lanes, and `UMULL`/`UMLAL` with the weights
/// 32..1 (four products per 16-bit lane, at most 32640) then `UADALP` give the weighted
/// sum. Every [`ADLER_CHUNKS`] chunks the lanes are added up (`ADDV`) and reduced modulo
/// 65521 in 64-bit scalars; the last `< 32` bytes go through the portable kernel.
#[target_feature(enable = "neon")]
fn adler32_neon(adler: u32, data: &[u8]) -> u32 {
    let mut a = u64::from(adler & 0xFFFF) % ADLER_MOD;
    let mut b = u64::from(adler >> 16) % ADLER_MOD;
    let (chunks, tail) = data.as_chunks::<32>();
    let (w, _) = ADLER_WEIGHTS.as_chunks::<16>();
    // SAFETY: each `w[i]` is 16 readable bytes; the loads have no alignment requirement.
    let (wa, wb) = unsafe { (vld1q_u8(w[0].as_ptr()), vld1q_u8(w[1].as_ptr())) };
    for run in chunks.chunks(ADLER_CHUNKS) {
        let mut sums: uint32x4_t = vdupq_n_u32(0);
        let mut prefix = sums;
        let mut weighted = sums;
        for chunk in run {
            let (halves, _) = chunk.as_chunks::<16>();
            // SAFETY: each half is 16 readable bytes; the loads have no alignment requirement.
            let (v0, v1) = unsafe { (vld1q_u8(halves[0].as_ptr()), vld1q_u8(halves[1].as_ptr())) };
            prefix = vaddq_u32(prefix, sums);
            sums = vpadalq_u16(sums, vaddq_u16(vpaddlq_u8(v0), vpaddlq_u8(v1)));
            let mut products = vmull_u8(vget_low_u8(v0), vget_low_u8(wa));
            products = vmlal_high_u8(products, v0, wa);
            products = vmlal_u8(products, vget_low_u8(v1), vget_low_u8(wb));
            products = vmlal_high_u8(products, v1, wb);
            weighted = vpadalq_u16(weighted, products);
        }
        let n = 32 * run.len() as u64;
        // Widening horizontal sums: four prefix lanes together can pass 2^32.
        b += n * a + 32 * vaddlvq_u32(prefix) + vaddlvq_u32(weighted);
        a += vaddlvq_u32(sums);
        a %= ADLER_MOD;
        b %= ADLER_MOD;
    }
    #[expect(clippy::cast_possible_truncation, reason = "both sums are below 65521")]
    let adler = ((b << 16) | a) as u32;
    deflate::adler32::adler32(adler, tail)
}

impl Codec for Neon {
    fn backend(&self) -> Backend {
        Backend::Neon
    }

    fn adler32(&self, adler: u32, data: &[u8]) -> u32 {
        // SAFETY: a `Neon` exists only on a CPU with NEON.
        unsafe { adler32_neon(adler, data) }
    }

    fn lz4_decompress_block(
        &self,
        input: &[u8],
        output: &mut [u8],
        start: usize,
        dict: &[u8],
    ) -> Result<usize, Error> {
        if start > output.len() {
            return block::decompress(input, output, start, dict);
        }
        // SAFETY: a `Neon` exists only on a CPU with NEON; `start <= output.len()`.
        let (ip, op) = unsafe { decode_fast(input, output, start) };
        if ip == input.len() && ip > 0 {
            // The fast loop decoded the last sequence (its literals end the block).
            return Ok(op - start);
        }
        block::decompress_from(input, output, start, dict, ip, op)
    }
}
