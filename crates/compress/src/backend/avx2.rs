//! x86_64 with AVX2, BMI1 and BMI2 (Intel Haswell, AMD Zen and later).
//!
//! The LZ4 decoder's fast loop lives here, on raw pointers: it decodes sequences while more
//! than 64 bytes of input and of output room remain. Per sequence it reads the token, moves
//! 16 literal bytes and reads the offset (at the place the literal length code puts it, in
//! bounds even for the code 15) before testing anything; then one test sends the unusual
//! sequence (a literal or match length code of 15, an offset below 8) to `slow_sequence`,
//! which decodes all of it (`long_literals`, `rare_match`: one check per length, long
//! matches in 32-byte moves, offsets below 16 replicated across a vector with one shuffle)
//! and rejoins the loop. The common sequence (at most 14 literals, a match of at most 18
//! bytes at an offset of 8 or more: 98 % of text's, 99 % of binary's, 78 % of logs') runs
//! straight through: one more test (an offset reaching before the output), match moves of
//! 8, 8 and 2 bytes, and the loop test at the bottom, so one taken jump per sequence.
//! Length extensions are summed 16 bytes at a time once they run to 255s (a 64 KiB literal
//! run has 257 of them), and a literal run that ends the block is one loop of 128-byte
//! moves. It never reports an error: at the first thing it does not handle (a length that
//! runs into the margins, an offset of 0, an offset reaching into a dictionary or before
//! the output) it stops at the start of that sequence and the safe loop in `lz4::block`
//! takes over, which decodes the rest and reports any error exactly. Its vector stores run
//! up to 31 bytes past the sequence they copy; the margins make the safe loop overwrite all
//! of that on any valid block (see `LEAVE`), so on success nothing after the returned
//! length is written, as on the scalar backend.
//!
//! Measured against liblz4 1.10 (`LZ4_decompress_safe` through `offload-testkit`'s `lz4ref`,
//! same process and machine, 2 MiB of each testkit corpus kind in 64 KiB blocks compressed
//! by liblz4 at acceleration 1, best of 100 interleaved timings per block, several runs, AMD
//! Zen 3 guest at ~3 GHz shared with other work): text 1.05-1.07x, logs 0.92-1.02x, binary
//! 1.02-1.05x, random 1.05-1.10x, mixed 1.02-1.04x; the loop before this one, in the same
//! runs: 0.91-1.03x, 0.84-0.96x, 0.96-1.02x, 0.84-0.96x, 0.92-1.00x. Instructions
//! (callgrind, the 32 blocks of each kind): text 9.25M -> 8.96M (liblz4 9.68M), logs 6.15M
//! -> 5.82M (6.07M), binary 8.65M -> 8.41M (9.09M), mixed 6.09M -> 6.30M (6.72M). A sequence
//! takes ~10 cycles for ~30 instructions; times moved by up to 8 % with the placement of
//! code the common path never runs, so a few percent between versions is within what
//! placement alone does here. Tried and dropped: four 8-byte match moves so that matches
//! of 19-32 bytes (logs) stay on the straight path (the extra loads read recent stores the
//! store buffer cannot forward: binary 0.6x), the input position as a pointer (fewer
//! instructions, slower), taking the next token's position off the literal length's add
//! chain (no change).
//!
//! The block compressor (`compress_kernel`) is the shared safe one's algorithm
//! (`lz4::block::compress`, liblz4's fast mode, the same bytes) on raw pointers; linked
//! blocks use the shared one.
//!
//! Deflate level 1's block parser (`parse_fast_avx2`) is the shared safe one's algorithm
//! on raw pointers, the same bytes: 1.05-1.07x the shared parser's speed on text, logs and
//! binary data, 1.23x on random data (interleaved, best of 20, 2 MiB per kind).
//!
//! Adler-32 sums 32 bytes per step in vector lanes (see [`adler32_avx2`]). Deflate decoding
//! is the shared safe decoder compiled with BMI2 around this backend's own fast loop,
//! [`RawKernel`]: the safe loop's decoding on raw pointers, with the next symbol's table
//! entry loaded before each refill, lengths and distances extracted with `bzhi` counting
//! from the entry itself, and the output prefetched a stretch ahead of the stash's copy.
//! Against libdeflate 1.26 (one-shot, 4 MiB of each testkit kind compressed by libdeflate
//! at levels 1 and 6, one process alternating the decoders, best of 40, shared 2-core Zen 3
//! VM, about ±3%), levels 1 / 6: text 0.99/1.03x, logs 1.05/1.17x, binary 0.90/0.91x,
//! random 0.99/0.99x, mixed 0.91/0.93x (before the prefetch, `bzhi` and the table-builder
//! changes, same runs: text 0.95/1.00x, logs 0.99/1.11x, binary 0.84/0.88x, mixed
//! 0.89/0.90x); streaming in 64 KiB output chunks 0.71-1.01x of libdeflate's one-shot
//! speed. Callgrind (table building included): 46.9M instructions against libdeflate's
//! 44.6M for binary data at level 1 (54.4M before), 49.3M against 50.8M for text at level
//! 1, 38.7M against 42.9M for text at level 6; a similar count of mispredicted branches in
//! callgrind's simulation (up to 1.14x libdeflate's on binary data, where one literal
//! branch's simulated mispredictions moved with the code layout). The rest of the gap on
//! binary data is mostly the short-match moves: about 40 % of the loop's samples (`perf`,
//! timer-based) sit on them, as on libdeflate's word moves, most on the second load
//! (likely waiting for stores just made, which a VM without counters cannot confirm).
//! Tried and dropped: refilling before a distance only when fewer
//! than 39 bits remain (up to 11 % of those branches mispredicted on binary data), the
//! input position as a pointer (the same code), one 32-byte move for short matches from 32
//! or more back (no faster; a branch on the distance), building a short match's second half
//! by a shuffle of bytes before the match so that no load waits for the first half's store
//! (more instructions, no faster), four 8-byte moves for short matches (no faster), the
//! output pointer kept fixed across the stash's and the history's calls, both main tables
//! read through one pointer to the decoder's state, the short-match test as one
//! non-short-circuit condition (each the same instruction count in callgrind).

use core::hint::cold_path;

use core::arch::x86_64::{
    __m256i, _MM_HINT_T0, _bextr2_u64, _bzhi_u64, _mm_cmpeq_epi8, _mm_loadu_si128,
    _mm_movemask_epi8, _mm_prefetch, _mm_set1_epi8, _mm_shuffle_epi8, _mm_storeu_si128,
    _mm256_add_epi32, _mm256_loadu_si256, _mm256_madd_epi16, _mm256_maddubs_epi16, _mm256_sad_epu8,
    _mm256_set1_epi16, _mm256_setr_epi8, _mm256_setzero_si256, _mm256_storeu_si256,
};

use crate::deflate::inflate::{
    Bits, FAST_IN, FAST_OUT, FastKernel, History, Stash, bad_dist, bad_litlen, sub_entry,
};
use crate::deflate::tables::{
    DIST_TABLE_BITS, END_OF_BLOCK, EXCEPTIONAL, LITLEN_TABLE_BITS, SINGLE, SUBTABLE, is_literal,
};
use crate::engine::{Backend, Codec};
use crate::lz4::block;
use crate::{Error, deflate};

/// How far ahead of the output position [`RawKernel`] prefetches, and how much: the
/// stretch of the output that the stash's next `advance` copies aside (the stash keeps
/// 1 KiB at a time). A large output is written once, front to back, so those bytes are
/// usually not in cache yet and the copy waits for them; prefetched one stretch early,
/// they arrive while the stretch before is decoded. Against the same code without the
/// prefetch, in one process with libdeflate interleaved, best of 40 (shared 2-core Zen 3
/// VM, about ±3%), 4 MiB per testkit kind at levels 1 and 6: 1-9 % faster one-shot
/// decoding on text, logs, binary and mixed data, random unchanged; leaving the copy out
/// altogether (a wrong decoder, as an experiment) gained about as much.
const STASH_PREFETCH: usize = 1024;
const LITLEN_MASK: u64 = (1 << LITLEN_TABLE_BITS) - 1;
const DIST_MASK: u64 = (1 << DIST_TABLE_BITS) - 1;

/// x86_64 with AVX2, BMI1 and BMI2. Construct with [`Avx2::new`], which checks the CPU.
#[derive(Clone, Copy, Debug)]
pub struct Avx2 {
    _checked: (),
}

impl Avx2 {
    /// `Some` if this CPU has every feature in [`Backend::Avx2`]'s
    /// [`features`](Backend::features).
    pub fn new() -> Option<Self> {
        crate::detect::avx2().then_some(Self { _checked: () })
    }

    /// # Safety
    /// The CPU must support AVX2, BMI1 and BMI2.
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

/// Copies at least `n` bytes from `s` to `d` in 32-byte moves (up to 31 bytes more).
///
/// # Safety
/// `s..s + n + 31` readable, `d..d + n + 31` writable; `d >= s + 32` if the ranges overlap.
#[inline(always)]
unsafe fn wild_copy32(d: *mut u8, s: *const u8, n: usize) {
    let mut i = 0;
    // SAFETY: every move is inside the ranges the caller guarantees.
    unsafe {
        loop {
            _mm256_storeu_si256(d.add(i).cast(), _mm256_loadu_si256(s.add(i).cast()));
            i += 32;
            if i >= n {
                break;
            }
        }
    }
}

/// Writes at least `len` bytes at `d` (up to 31 more: 32-byte moves for offsets of 32 or
/// more, 16-byte ones below), each equal to the byte `offset` before it.
///
/// # Safety
/// `d - offset .. d` initialised and inside the same allocation as `d .. d + len + 31`,
/// which must be writable; `1 <= offset`.
#[inline(always)]
unsafe fn wild_match(d: *mut u8, offset: usize, len: usize) {
    // SAFETY: the caller guarantees the ranges; each move reads only bytes before the ones
    // it writes (offset >= 32, or >= 16 for 16-byte moves) or builds the vector from the
    // `offset` bytes before `d`.
    unsafe {
        let s = d.sub(offset);
        if offset >= 32 {
            let mut i = 0;
            loop {
                _mm256_storeu_si256(d.add(i).cast(), _mm256_loadu_si256(s.add(i).cast()));
                i += 32;
                if i >= len {
                    break;
                }
            }
        } else if offset >= 16 {
            let mut i = 0;
            loop {
                _mm_storeu_si128(d.add(i).cast(), _mm_loadu_si128(s.add(i).cast()));
                i += 16;
                if i >= len {
                    break;
                }
            }
        } else {
            // Replicate the period across a vector, then store it every `step` bytes, a
            // whole number of periods, so each store starts in phase.
            let v = _mm_loadu_si128(s.cast());
            let v = _mm_shuffle_epi8(v, _mm_loadu_si128(PATTERNS[offset].as_ptr().cast()));
            let step = 16 - 16 % offset;
            let mut i = 0;
            loop {
                _mm_storeu_si128(d.add(i).cast(), v);
                i += step;
                if i >= len {
                    break;
                }
            }
        }
    }
}

/// The fast loop's long literal run (length code 15; inlined: called out of line, it measured
/// 5-10 % slower on text and logs): reads the extension bytes at `ip` and copies the run to
/// `op`. Returns the input position of the run and its length, or where the fast loop stops:
/// `sequence` when the run comes within `LEAVE` bytes of the input's end or `MARGIN` of the
/// output's (the safe loop decides), the end of the block when the run is its last literals.
///
/// # Safety
/// As in [`decode_fast`]'s loop: `src..src + in_len` readable, `dst..dst + out_len`
/// writable, `in_len > MARGIN`, `ip <= in_len - MARGIN` and `op < out_len - MARGIN`.
#[inline(always)]
unsafe fn long_literals(
    src: *const u8,
    dst: *mut u8,
    in_len: usize,
    out_len: usize,
    mut ip: usize,
    op: usize,
    sequence: (usize, usize),
) -> Result<(usize, usize), (usize, usize)> {
    let in_leave = in_len - LEAVE;
    let out_end = out_len - MARGIN;
    let mut literals = 15;
    // SAFETY: every read is below `in_len` and every write below `out_len`, as commented at
    // each step.
    unsafe {
        // Extension bytes, then the literals, which must leave `LEAVE` bytes of input and
        // `MARGIN` of output.
        let Some((next, total)) = extend_length(src, ip, in_leave, literals) else {
            return Err(sequence);
        };
        ip = next;
        literals = total;
        if literals > in_leave - ip || literals > out_end - op {
            if ip + literals == in_len && literals <= out_len - op && literals >= 32 {
                // The block's last literals, long (an incompressible block is one run):
                // copied exactly (`ip + literals == in_len`, `op + literals <= out_len`).
                copy_run(dst.add(op), src.add(ip), literals);
                return Err((in_len, op + literals));
            }
            return Err(sequence);
        }
        // `ip + literals + 31 < in_len`, `op + literals + 31 < out_len`.
        wild_copy32(dst.add(op), src.add(ip), literals);
    }
    Ok((ip, literals))
}

/// Adds an LZ4 length's extension bytes (each added, the run ending at the first byte
/// below 255), read from `ip` on, to `len`. Returns the input position after them and the
/// length, or `None` when they would reach `in_leave`. After a first byte of 255 (a run
/// of at least 270), 16 bytes are tested at a time: a comparison with 255 and a count of
/// the trailing ones of its mask (a 64 KiB literal run has 257 extension bytes).
///
/// # Safety
/// `src..src + in_leave` readable.
#[inline(always)]
unsafe fn extend_length(
    src: *const u8,
    mut ip: usize,
    in_leave: usize,
    mut len: usize,
) -> Option<(usize, usize)> {
    loop {
        if ip >= in_leave {
            return None;
        }
        // SAFETY: `ip < in_leave`, which the caller guarantees readable.
        let byte = unsafe { *src.add(ip) };
        ip += 1;
        len += usize::from(byte);
        if byte != 255 {
            return Some((ip, len));
        }
        while ip + 16 <= in_leave {
            // SAFETY: `ip + 16 <= in_leave`; the byte read is one of those 16.
            unsafe {
                let ff = _mm_cmpeq_epi8(_mm_loadu_si128(src.add(ip).cast()), _mm_set1_epi8(-1));
                #[expect(clippy::cast_sign_loss, reason = "a 16-bit mask")]
                let mask = _mm_movemask_epi8(ff) as u32;
                // Bytes of 255 before the first other one (16 when all are).
                let n = (!mask).trailing_zeros() as usize;
                if n < 16 {
                    let last = usize::from(*src.add(ip + n));
                    return Some((ip + n + 1, len + 255 * n + last));
                }
            }
            len += 255 * 16;
            ip += 16;
        }
    }
}

/// The match of a sequence the fast loop's straight path does not take (inlined, as
/// [`long_literals`]): a short one (after a long literal run, or with an offset below 8),
/// or a long one (length code 15, whose extension bytes start at `ip`). Returns
/// the input and output positions after the match, or `None` when the fast loop must stop
/// at the sequence's start (the extension runs within `LEAVE` bytes of the input's end, or
/// the match within `MARGIN` of the output's).
///
/// # Safety
/// As in [`decode_fast`]'s loop: `src..src + in_len` readable, `dst..dst + out_len`
/// writable, `in_len > MARGIN`, `ip <= in_len - LEAVE + 2`, `op < out_len - MARGIN + 15`,
/// `1 <= offset <= op`, `code <= 15`.
#[inline(always)]
#[expect(
    clippy::too_many_arguments,
    reason = "the fast loop's state, passed to a helper that is inlined into it"
)]
unsafe fn rare_match(
    src: *const u8,
    dst: *mut u8,
    in_len: usize,
    out_len: usize,
    ip: usize,
    op: usize,
    offset: usize,
    code: usize,
) -> Option<(usize, usize)> {
    let in_leave = in_len - LEAVE;
    let out_end = out_len - MARGIN;
    // SAFETY: every read is below `in_len` and every write below `out_len`, as commented at
    // each step; the match reads `offset <= op` bytes back.
    unsafe {
        if code != 15 {
            // `op + 18 + 31 < out_len - MARGIN + 15 + 49 = out_len`.
            let len = code + 4;
            wild_match(dst.add(op), offset, len);
            return Some((ip, op + len));
        }
        let (ip, len) = extend_length(src, ip, in_leave, 19)?;
        if op + len > out_end {
            // Too close to the end of the output: the safe loop decides.
            return None;
        }
        // `op + len + 31 < out_len`.
        wild_match(dst.add(op), offset, len);
        Some((ip, op + len))
    }
}

/// One whole sequence that the fast loop's straight path does not take (a literal length
/// code of 15, a match length code of 15, or an offset below 8), decoded within the same
/// margins: the long literals through [`long_literals`], the match through [`rare_match`].
/// Returns the positions after it, or where the fast loop stops: the sequence's start
/// (the safe loop decides) or the end of the block (its last literals, copied).
///
/// # Safety
/// As in [`decode_fast`]'s loop: `src..src + in_len` readable, `dst..dst + out_len`
/// writable, `in_len > MARGIN`, `ip < in_len - MARGIN`, `op < out_len - MARGIN`, and the
/// token's 16 literal bytes already copied to `op`.
#[inline(always)]
unsafe fn slow_sequence(
    src: *const u8,
    dst: *mut u8,
    in_len: usize,
    out_len: usize,
    ip: usize,
    op: usize,
) -> Result<(usize, usize), (usize, usize)> {
    let sequence = (ip, op);
    // SAFETY: the reads and writes are the helpers' (whose conditions hold: see each step)
    // and the token and offset reads below `in_len`.
    unsafe {
        let token = *src.add(ip);
        let mut ip = ip + 1;
        let mut literals = usize::from(token >> 4);
        if literals == 15 {
            // `ip <= in_len - MARGIN`, `op < out_len - MARGIN`.
            (ip, literals) = long_literals(src, dst, in_len, out_len, ip, op, sequence)?;
        }
        // Short literals were copied by the caller's 16-byte move; long ones leave `LEAVE`
        // bytes of input and `MARGIN` of output.
        ip += literals;
        let op = op + literals;
        // `ip + 2 <= in_len - LEAVE + 2`.
        let offset = usize::from(u16::from_le(src.add(ip).cast::<u16>().read_unaligned()));
        ip += 2;
        // `offset == 0 || offset > op` in one compare: an error or a dictionary
        // reference, which the safe loop decides.
        if offset.wrapping_sub(1) >= op {
            return Err(sequence);
        }
        // `ip <= in_len - LEAVE + 2`, `op < out_len - MARGIN + 15`, `1 <= offset <= op`.
        rare_match(
            src,
            dst,
            in_len,
            out_len,
            ip,
            op,
            offset,
            usize::from(token & 15),
        )
        .ok_or(sequence)
    }
}

/// Decodes whole sequences while they are far from the buffers' ends; returns where it
/// stopped (a sequence boundary: input position, output position).
///
/// # Safety
/// The CPU must support AVX2, BMI1 and BMI2; `start <= output.len()`.
#[target_feature(enable = "avx2,bmi1,bmi2")]
unsafe fn decode_fast(input: &[u8], output: &mut [u8], start: usize) -> (usize, usize) {
    let (in_len, out_len) = (input.len(), output.len());
    if in_len <= MARGIN || out_len - start <= MARGIN {
        return (0, start);
    }
    let in_end = in_len - MARGIN;
    let out_end = out_len - MARGIN;
    let src = input.as_ptr();
    let dst = output.as_mut_ptr();
    // SAFETY: every read is below `in_len` and every write below `out_len`, as the checks
    // and margins commented at each step show; matches read `offset <= op` bytes back, inside
    // `output[..op]`, which is initialised (a `&mut [u8]`).
    unsafe {
        // At the top of the loop `ip < in_end` and `op < out_end`: a short sequence then
        // reads at most 17 + 2 bytes from `ip` and writes at most 14 + 18 bytes from `op`.
        // The test is at the bottom (with `&`, one branch), so that the straight path
        // takes one jump per sequence, back to the top.
        let (mut ip, mut op) = (0, start);
        if op >= out_end {
            return (ip, op);
        }
        loop {
            let token = *src.add(ip);
            // 16 bytes read and written before the lengths are tested, so that the common
            // sequence runs straight through (a long run is copied again by
            // `long_literals`): `ip + 17 <= in_end + 16 < in_len`, `op + 16 < out_len`. If
            // the loop then stops at this sequence, the rest of a valid block (at least 64
            // input bytes) writes at least 62 bytes from `op`, over these 16.
            _mm_storeu_si128(dst.add(op).cast(), _mm_loadu_si128(src.add(ip + 1).cast()));
            let literals = usize::from(token >> 4);
            let code = usize::from(token & 15);
            // The offset, were the literal length complete: `ip + 1 + 15 + 2 <= in_end + 17
            // < in_len` (read, and unused, also when the literal length code is 15).
            let offset = usize::from(u16::from_le(
                src.add(ip + 1 + literals).cast::<u16>().read_unaligned(),
            ));
            // Everything unusual in one place, out of the straight path: it decodes the
            // whole sequence and the loop goes on from there.
            if literals == 15 || code == 15 || offset < 8 {
                cold_path();
                match slow_sequence(src, dst, in_len, out_len, ip, op) {
                    Ok(next) => (ip, op) = next,
                    Err(stop) => return stop,
                }
                if ip >= in_end || op >= out_end {
                    return (ip, op);
                }
                continue;
            }
            let at = op + literals;
            // `offset >= 8`; an offset reaching before the output's start is an error or a
            // dictionary reference, which the safe loop decides.
            if offset > at {
                cold_path();
                return (ip, op);
            }
            ip += literals + 3;
            // The short match (at most 18 bytes): moves of 8, 8 and 2 bytes (`at + 18 <
            // out_len`), each reading bytes at least 8 behind. Small moves matter: a load
            // that spans two recent stores (or part of one) is not forwarded from the store
            // buffer and waits for the stores to retire. Measured on text: 16-byte moves, or
            // a third 8-byte move, spent most of the loop's time on those loads.
            let s = dst.add(at - offset);
            let d = dst.add(at);
            d.cast::<u64>()
                .write_unaligned(s.cast::<u64>().read_unaligned());
            d.add(8)
                .cast::<u64>()
                .write_unaligned(s.add(8).cast::<u64>().read_unaligned());
            d.add(16)
                .cast::<u16>()
                .write_unaligned(s.add(16).cast::<u16>().read_unaligned());
            op = at + code + 4;
            if (ip >= in_end) | (op >= out_end) {
                return (ip, op);
            }
        }
    }
}

/// The Adler-32 modulus.
pub(super) const ADLER_MOD: u64 = 65_521;
/// 32-byte chunks summed before the lanes are folded into the scalar sums: every lane
/// stays below 2^32 (the prefix-sum lanes, the largest, reach about
/// `1024^2 / 2 * 8 * 255 < 2^31`).
pub(super) const ADLER_CHUNKS: usize = 1024;

/// Adler-32 over 32-byte chunks in AVX2 lanes.
///
/// For a run of `n = 32 K` bytes `x_0 .. x_{n-1}` starting from sums `(a, b)`:
/// `a' = a + sum x_i` and `b' = b + n a + sum (n - i) x_i`. Split by chunk `k` with byte
/// `j`: `n - i = 32 (K - 1 - k) + (32 - j)`, so
/// `sum (n - i) x_i = 32 sum_k (K - 1 - k) S_k + sum_k sum_j (32 - j) x_{32k+j}`, where `S_k`
/// is chunk `k`'s byte sum. Per chunk: `vpsadbw` against zero gives `S_k` in four 64-bit
/// lanes; before adding it, the running total of the earlier chunks' sums is added to a
/// prefix accumulator (after `K` chunks that accumulator is `sum_k (K - 1 - k) S_k`);
/// `vpmaddubsw` with the weights 32..1 and `vpmaddwd` with ones give the weighted sum in
/// eight 32-bit lanes. Every [`ADLER_CHUNKS`] chunks the lanes are added up and reduced
/// modulo 65521 in 64-bit scalars; the last `< 32` bytes go through the portable kernel.
#[target_feature(enable = "avx2")]
pub(super) fn adler32_avx2(adler: u32, data: &[u8]) -> u32 {
    let mut a = u64::from(adler & 0xFFFF) % ADLER_MOD;
    let mut b = u64::from(adler >> 16) % ADLER_MOD;
    let (chunks, tail) = data.as_chunks::<32>();
    let weights = _mm256_setr_epi8(
        32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10,
        9, 8, 7, 6, 5, 4, 3, 2, 1,
    );
    let ones = _mm256_set1_epi16(1);
    let zero = _mm256_setzero_si256();
    for run in chunks.chunks(ADLER_CHUNKS) {
        let mut sums = zero;
        let mut prefix = zero;
        let mut weighted = zero;
        for chunk in run {
            // SAFETY: `chunk` is 32 readable bytes; the load has no alignment requirement.
            let v = unsafe { _mm256_loadu_si256(chunk.as_ptr().cast()) };
            prefix = _mm256_add_epi32(prefix, sums);
            sums = _mm256_add_epi32(sums, _mm256_sad_epu8(v, zero));
            weighted = _mm256_add_epi32(
                weighted,
                _mm256_madd_epi16(_mm256_maddubs_epi16(v, weights), ones),
            );
        }
        let n = 32 * run.len() as u64;
        let byte_sum = lanes_sum(sums);
        b += n * a + 32 * lanes_sum(prefix) + lanes_sum(weighted);
        a += byte_sum;
        a %= ADLER_MOD;
        b %= ADLER_MOD;
    }
    #[expect(clippy::cast_possible_truncation, reason = "both sums are below 65521")]
    let adler = ((b << 16) | a) as u32;
    deflate::adler32::adler32(adler, tail)
}

/// The sum of the eight unsigned 32-bit lanes of `v`, in 64 bits.
#[inline]
#[target_feature(enable = "avx2")]
fn lanes_sum(v: __m256i) -> u64 {
    let mut lanes = [0u8; 32];
    // SAFETY: `lanes` is 32 writable bytes; the store has no alignment requirement.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), v) };
    u32_sum(&lanes)
}

/// The sum of the little-endian `u32`s in `lanes` (a vector's lanes, stored), in 64 bits.
#[inline]
pub(super) fn u32_sum(lanes: &[u8]) -> u64 {
    let (words, _) = lanes.as_chunks::<4>();
    words
        .iter()
        .map(|w| u64::from(u32::from_le_bytes(*w)))
        .sum()
}

/// # Safety
/// The CPU must support AVX2, BMI1 and BMI2.
#[target_feature(enable = "avx2,bmi1,bmi2")]
unsafe fn inflate_avx2(
    inflater: &mut deflate::Inflater,
    input: &[u8],
    output: &mut [u8],
    dict: &[u8],
) -> Result<(usize, usize), Error> {
    // The shared decoder around this backend's fast loop ([`RawKernel`]), compiled here with
    // BMI2's flag-free shifts (`shlx`, `shrx`, `bzhi`) for the bit buffer.
    deflate::inflate::inflate::<RawKernel>(inflater, input, output, dict)
}

/// # Safety
/// The CPU must support AVX2, BMI1 and BMI2.
#[target_feature(enable = "avx2,bmi1,bmi2")]
unsafe fn inflate_stream_fast_avx2(
    stream: &mut deflate::InflateStream,
    input: &[u8],
    output: &mut [u8],
    ip: &mut usize,
    op: &mut usize,
) -> Result<bool, Error> {
    // The streaming decoder's fast loop, compiled here as `inflate_avx2` compiles the
    // one-shot decoder, with the same kernel.
    stream.fast::<RawKernel>(input, output, ip, op)
}

/// `STEPS[d]` is the largest multiple of `d` up to 16 (d = 1..15): how far a vector
/// holding a period of `d` bytes may be stored after itself and stay in phase.
const STEPS: [u8; 16] = {
    let mut t = [16u8; 16];
    let mut d = 1;
    while d < 16 {
        #[expect(clippy::cast_possible_truncation, reason = "d < 16")]
        {
            t[d] = (16 - 16 % d) as u8;
        }
        d += 1;
    }
    t
};

/// Deflate's fast loop on raw pointers, for [`inflate_avx2`] and
/// [`inflate_stream_fast_avx2`]: the iterations of the shared safe one
/// (`deflate::inflate`'s `fast_iterations`), the same symbols decoded in the same order with
/// the same checks, so the same output, the same errors and the same output position on an
/// error. Only how the bytes move and where the bit buffer is refilled differ; the input
/// position after a refill differs too, but not the bit position, which is all the callers
/// read.
///
/// Each iteration starts with at least 56 bits in the 64-bit buffer and the next symbol's
/// main-table entry loaded. Up to four literal entries (each one literal or a pair, stored
/// as one 2-byte write) are decoded per refill, as in the safe loop. A length is decoded from the bits left after
/// up to two literal entries (at most 22 + 20 of the 56 bits), and its distance's entry
/// loaded before the buffer is refilled; after the distance the next symbol's entry is
/// loaded, and only then the buffer refilled and the match copied. Each load takes its
/// index from bits already held (a refill leaves them in place), so neither refills nor
/// copies lie on the chain from one symbol's entry to the next (libdeflate's order; the
/// safe loop refills before those loads). The refill is one unaligned 8-byte load at the
/// input position, and the main tables are read at masked indices without bounds checks:
/// they are larger than their index masks reach.
///
/// Matches: one of at most 32 bytes from 16 or more back is two unconditional 16-byte
/// moves, scratch past its end (as in the safe loop); a longer one moves 32 (from 32 or
/// more back) or 16 bytes at a time, the last move ending exactly at its end; from fewer
/// than 16 back, a vector holding the period is stored in phase ([`copy_periodic`]).
///
/// Bounds: an iteration starts only at an input position `ip <= input.len() - FAST_IN`
/// and refills at most twice (before a distance and after it, or once after literals), so
/// its 8-byte loads end by `ip + 15`; it starts only at an output position
/// `op <= output.len() - FAST_OUT` and writes below `op + FAST_OUT`: the safe loop's
/// limits, so it stops where that loop would. A match reaching before `output[0]` goes to
/// the history's safe `copy_before`, as in the safe loop. Scratch lies where the safe
/// loop's does (at most `SLACK` bytes past the position after a match, and within `REACH`
/// of the iteration's start; longer matches write only their own bytes), so the stash
/// puts the caller's bytes back as it does for the safe loop.
///
/// Lengths and distances are extracted by [`value_bmi2`] (`bzhi` with the entry as its
/// count: one mask fewer per value than the shared `value_of`, two per match); when the
/// stash moves on, the output stretch after the new one is prefetched (see
/// [`STASH_PREFETCH`]).
///
/// Its moves are AVX2 and SSSE3 instructions, its prefetches SSE and `bzhi` BMI2, while
/// `iterations` is a safe trait method: the type is private to this module and used only
/// inside [`inflate_avx2`] and [`inflate_stream_fast_avx2`], which require those features
/// (and inline it). The loop itself is [`run`](Self::run), two functions of their own (with
/// and without literal pairs) that enable the features themselves.
struct RawKernel;

impl FastKernel for RawKernel {
    #[inline(always)]
    fn iterations<H: History + ?Sized>(
        state: &deflate::Inflater,
        bits: &mut Bits<'_>,
        output: &mut [u8],
        op_out: &mut usize,
        history: &H,
        in_last: usize,
        stash: &mut Stash,
    ) -> Result<bool, Error> {
        // SAFETY: AVX2, BMI1 and BMI2 are there: `RawKernel` runs only inside
        // `inflate_avx2` and `inflate_stream_fast_avx2`, which require them.
        unsafe {
            if state.litlen_pairs {
                Self::run::<true, H>(state, bits, output, op_out, history, in_last, stash)
            } else {
                Self::run::<false, H>(state, bits, output, op_out, history, in_last, stash)
            }
        }
    }
}

impl RawKernel {
    /// The loop, for a literal/length table with literal pairs (`PAIRS`) or without: then
    /// every literal entry is one literal, and the output position moves on by one per
    /// entry, without reading the entry's pair flag. A block whose literal codes are all
    /// longer than 5 bits has no pairs (binary-like data, and data near random coded with
    /// a Huffman code rather than stored); there the flag's three instructions per literal
    /// were 12 % of the loop's instructions (callgrind, 4 MiB of bytes drawn from 200
    /// values, libdeflate level 1: 150.0M instructions with them, 131.1M without, and
    /// libdeflate's loop 130.3M).
    ///
    /// Not inlined: inlined into the decoder, the two copies made the register allocator
    /// spill more, and text (which has pairs) took 3 % more instructions than with one
    /// loop. As functions of their own, every kind took fewer than before the split
    /// (callgrind, 4 MiB inputs at libdeflate levels 1 and 6, two decodes each: text
    /// 98.5M before, 97.1M after, libdeflate 101.5M; binary-like, level 6: 83.3M, 78.5M,
    /// 80.8M; the mixed corpus, level 1: 101.8M, 93.3M, 96.5M).
    #[inline(never)]
    #[target_feature(enable = "avx2,bmi1,bmi2")]
    #[expect(
        clippy::cast_possible_truncation,
        reason = "entry fields: a literal byte, two literal bytes"
    )]
    #[expect(
        clippy::too_many_lines,
        reason = "one loop, kept whole so that its state stays in registers"
    )]
    fn run<const PAIRS: bool, H: History + ?Sized>(
        state: &deflate::Inflater,
        bits: &mut Bits<'_>,
        output: &mut [u8],
        op_out: &mut usize,
        history: &H,
        _in_last: usize,
        stash: &mut Stash,
    ) -> Result<bool, Error> {
        // The limits again, from the slices themselves: the bounds below rest on them.
        let (Some(in_last), Some(out_last)) = (
            bits.input.len().checked_sub(FAST_IN),
            output.len().checked_sub(FAST_OUT),
        ) else {
            return Ok(false);
        };
        let mut op = *op_out;
        if bits.ip > in_last || op > out_last {
            return Ok(false);
        }
        // The input position as a pointer, its limit as another: one register fewer than a
        // base and an index (the loop's state fills the general registers; with the base
        // kept apart, the compiler spilled it and reloaded it before every refill).
        let src = bits.input.as_ptr();
        // SAFETY: `bits.ip <= in_last < input.len()`.
        let mut in_ptr = unsafe { src.add(bits.ip) };
        // SAFETY: `in_last < input.len()`.
        let in_limit = unsafe { src.add(in_last) };
        let mut buf = bits.buf;
        let mut left = bits.left;
        let mut dst = output.as_mut_ptr();

        // `Bits::refill_fast`: 56 to 63 valid bits, the ones held unchanged.
        macro_rules! refill {
            () => {
                // SAFETY: `in_ptr + 8 <= input's end`: an iteration starts at
                // `in_ptr <= in_limit` (`input.len() - FAST_IN`) and refills at most twice,
                // the first advancing `in_ptr` by at most 7.
                unsafe {
                    let word = in_ptr.cast::<u64>().read_unaligned();
                    buf |= u64::from_le(word).wrapping_shl(left);
                    in_ptr = in_ptr.add(((!left & 63) >> 3) as usize);
                }
                left |= 56;
            };
        }
        // The main literal/length entry for the next bits (at least 11 held).
        macro_rules! litlen_entry {
            () => {
                // SAFETY: the index is below `1 << LITLEN_TABLE_BITS` (2048), and the table
                // has `LITLEN_ENOUGH` (2342) entries.
                unsafe { *state.litlen.as_ptr().add((buf & LITLEN_MASK) as usize) }
            };
        }
        // `Bits::consume_entry`.
        macro_rules! consume {
            ($entry:expr) => {
                buf >>= $entry & 63;
                left = left.wrapping_sub($entry);
            };
        }
        // Consumes a literal entry and loads the next entry. The next index comes from the
        // bits before the shift, with the literal entry itself as `bextr`'s control word
        // (start: the bits the entry consumes, length: 11; see `deflate::tables`), so the
        // chain from one literal entry to the next is a `bextr` and a load, and the shift
        // runs beside it.
        macro_rules! next_after_literal {
            ($entry:expr) => {{
                debug_assert_eq!(($entry >> 8) & 0xFF, LITLEN_TABLE_BITS);
                // A safe call in this function, which enables BMI1.
                let index = _bextr2_u64(buf, u64::from($entry));
                consume!($entry);
                // SAFETY: the index has 11 bits, below `1 << LITLEN_TABLE_BITS` (2048), and
                // the table has `LITLEN_ENOUGH` (2342) entries.
                unsafe { *state.litlen.as_ptr().add(index as usize) }
            }};
        }
        // The safe loop's `put_literals` at `op + k`, `k <= 6` (four entries of at most two
        // literals each per refill).
        macro_rules! put_literals {
            ($k:expr, $entry:expr) => {{
                // SAFETY: `op + k + 2 <= op + 8 <= output.len()` (`op <= out_last`).
                unsafe {
                    dst.add(op + $k)
                        .cast::<u16>()
                        .write_unaligned((($entry >> 16) as u16).to_le());
                }
                if PAIRS {
                    $k + 2 - ($entry >> 31) as usize
                } else {
                    debug_assert!($entry & SINGLE != 0, "a literal pair in a table without");
                    $k + 1
                }
            }};
        }

        refill!();
        let mut entry = litlen_entry!();
        let result = 'stretches: loop {
            // As in the safe loop: the iterations within one stretch of the stash.
            let check_at = out_last.min(stash.last_start());
            loop {
                if op > check_at {
                    if op > out_last {
                        break 'stretches Ok(false);
                    }
                    stash.advance(output, op);
                    // A fresh pointer: the stash has read the output through the slice.
                    dst = output.as_mut_ptr();
                    // The stretch after this one, for the next `advance`.
                    let mut at = STASH_PREFETCH;
                    while at < 2 * STASH_PREFETCH {
                        // A prefetch only hints and never faults, whatever the address
                        // (computed without `add`'s in-bounds requirement); a safe call in
                        // this function, which enables SSE.
                        _mm_prefetch::<_MM_HINT_T0>(dst.wrapping_add(op + at).cast_const().cast());
                        at += 64;
                    }
                    continue 'stretches;
                }
                if in_ptr > in_limit {
                    break 'stretches Ok(false);
                }
                if is_literal(entry) {
                    let mut k = put_literals!(0, entry);
                    entry = next_after_literal!(entry);
                    if is_literal(entry) {
                        k = put_literals!(k, entry);
                        entry = next_after_literal!(entry);
                        if is_literal(entry) {
                            k = put_literals!(k, entry);
                            entry = next_after_literal!(entry);
                            if is_literal(entry) {
                                k = put_literals!(k, entry);
                                // At most 44 of the 56 bits consumed: 12 left for the
                                // next entry's index, looked up before the refill.
                                entry = next_after_literal!(entry);
                            }
                            op += k;
                            refill!();
                            continue;
                        }
                    }
                    // At most 22 bits consumed: enough remain for a length (20 bits) and
                    // the distance's index without a refill (see below).
                    op += k;
                }
                if entry & EXCEPTIONAL != 0 {
                    if entry & SUBTABLE != 0 {
                        entry = sub_entry(&state.litlen, entry, buf, LITLEN_TABLE_BITS);
                        if is_literal(entry) {
                            consume!(entry);
                            // SAFETY: `op < output.len()`.
                            unsafe { dst.add(op).write((entry >> 16) as u8) };
                            op += 1;
                            // At most 37 of the 56 bits consumed: the entry first.
                            entry = litlen_entry!();
                            refill!();
                            continue;
                        }
                    }
                    if entry & EXCEPTIONAL != 0 {
                        if entry & END_OF_BLOCK != 0 {
                            consume!(entry);
                            break 'stretches Ok(true);
                        }
                        break 'stretches Err(bad_litlen(entry));
                    }
                }
                let len = value_bmi2(entry, buf);
                consume!(entry);
                // At least 14 bits held (56, less two literal entries and a length): the
                // distance's main-table index.
                // SAFETY: the index is below `1 << DIST_TABLE_BITS` (256), and the table
                // has `DIST_ENOUGH` (402) entries.
                let mut dentry = unsafe { *state.dist.as_ptr().add((buf & DIST_MASK) as usize) };
                // Room for a longest distance (28 bits) and the next entry's index, loaded
                // while the distance's entry is on its way. (Refilling only when fewer than
                // 39 bits remain mispredicted on up to 11 % of matches.)
                refill!();
                if dentry & EXCEPTIONAL != 0 {
                    if dentry & SUBTABLE != 0 {
                        dentry = sub_entry(&state.dist, dentry, buf, DIST_TABLE_BITS);
                    }
                    if dentry & EXCEPTIONAL != 0 {
                        break 'stretches Err(bad_dist(dentry));
                    }
                }
                let d = value_bmi2(dentry, buf);
                consume!(dentry);
                entry = litlen_entry!();
                refill!();
                if d > op {
                    if let Err(e) = history.copy_before(output, op, d, len) {
                        break 'stretches Err(e);
                    }
                    // A fresh pointer: the history has written through the slice.
                    dst = output.as_mut_ptr();
                } else if d >= 16 && len <= 32 {
                    // SAFETY: `op - d .. op + 32` lies inside the output (`d <= op`,
                    // `op + 32 <= output.len()`); the second move reads bytes before the ones
                    // it writes, final once the first move has run.
                    unsafe {
                        let to = dst.add(op);
                        let from = to.sub(d);
                        _mm_storeu_si128(to.cast(), _mm_loadu_si128(from.cast()));
                        _mm_storeu_si128(to.add(16).cast(), _mm_loadu_si128(from.add(16).cast()));
                    }
                } else {
                    // SAFETY: `1 <= d <= op`, `len > 32` if `d >= 16`, and
                    // `op + len.max(32) <= output.len()`; AVX2 is there (see the type's
                    // comment).
                    unsafe { copy_exact(dst.add(op), d, len) };
                }
                op += len;
            }
        };
        // SAFETY: `in_ptr` is in the input, derived from `src` and not before it (at most
        // `in_limit + 14`).
        bits.ip = unsafe { in_ptr.offset_from_unsigned(src) };
        bits.buf = buf;
        bits.left = left;
        *op_out = op;
        result
    }
}

/// `deflate::inflate`'s `value_of` (the value of a length or distance entry) with BMI2's
/// `bzhi` counting the extra bits' end from the entry itself: it reads the count from the
/// entry's low 8 bits, the bit total (bits 5..=7 are zero), so no mask comes before it.
#[inline(always)]
#[expect(clippy::cast_possible_truncation, reason = "at most 28 bits")]
fn value_bmi2(entry: u32, buf: u64) -> usize {
    // SAFETY: BMI2 is there: only `RawKernel` calls this, inside functions that require it
    // (see its comment).
    let extra = unsafe { _bzhi_u64(buf, entry) };
    (entry >> 16) as usize + extra.wrapping_shr(entry >> 8) as usize
}

/// Copies `len >= 32` bytes from `from` to `to` exactly: 32 bytes a move, four moves per
/// iteration while more than 128 bytes remain, the last move ending at the end. For the
/// long literal runs that end a block (an incompressible block is one run of 64 KiB), in
/// both directions. Not `memcpy`: glibc's takes `rep movsb` for 64 KiB here, which measured
/// 55-97 µs for the 32 random blocks of the bench corpus (decoding) as the machine's state
/// changed, against 50-60 µs for this loop in the same runs (two moves per iteration:
/// 52-56 µs). Compressing the same blocks it measured the same as `memcpy` (232-242 µs a
/// pass, the copy about a quarter of it) while `memcpy` was fast; it is there for when not.
///
/// # Safety
/// The CPU must support AVX2; `from .. from + len` readable, `to .. to + len` writable, the
/// two disjoint; `len >= 32`.
#[inline(always)]
unsafe fn copy_run(to: *mut u8, from: *const u8, len: usize) {
    // SAFETY: every move reads `from + i .. from + i + 32` and writes the same range of `to`
    // with `i + 32 <= len`, as the loop conditions and `len >= 32` give.
    unsafe {
        let mut i = 0;
        while i + 128 < len {
            let (v0, v1, v2, v3) = (
                _mm256_loadu_si256(from.add(i).cast()),
                _mm256_loadu_si256(from.add(i + 32).cast()),
                _mm256_loadu_si256(from.add(i + 64).cast()),
                _mm256_loadu_si256(from.add(i + 96).cast()),
            );
            _mm256_storeu_si256(to.add(i).cast(), v0);
            _mm256_storeu_si256(to.add(i + 32).cast(), v1);
            _mm256_storeu_si256(to.add(i + 64).cast(), v2);
            _mm256_storeu_si256(to.add(i + 96).cast(), v3);
            i += 128;
        }
        while i + 32 < len {
            _mm256_storeu_si256(to.add(i).cast(), _mm256_loadu_si256(from.add(i).cast()));
            i += 32;
        }
        let last = len - 32;
        _mm256_storeu_si256(
            to.add(last).cast(),
            _mm256_loadu_si256(from.add(last).cast()),
        );
    }
}

/// Writes the `len` bytes of a match at `to`, each a copy of the byte `d` before it. From 16
/// or more back only the match's bytes are written; from fewer, up to 32 bytes from `to`
/// (see [`copy_periodic`]).
///
/// # Safety
/// The CPU must support AVX2. `to - d .. to` initialised and inside the same allocation as
/// `to .. to + len.max(32)`, which must be writable; `1 <= d`; `len > 32` if `d >= 16`.
#[inline(always)]
unsafe fn copy_exact(to: *mut u8, d: usize, len: usize) {
    // SAFETY: every move reads and writes inside the ranges the caller guarantees; each
    // reads bytes at least 32 (or 16) before the ones it writes, final when it runs.
    unsafe {
        let from = to.sub(d);
        if d >= 32 {
            let mut i = 0;
            while i + 32 < len {
                _mm256_storeu_si256(to.add(i).cast(), _mm256_loadu_si256(from.add(i).cast()));
                i += 32;
            }
            let i = len - 32;
            _mm256_storeu_si256(to.add(i).cast(), _mm256_loadu_si256(from.add(i).cast()));
        } else if d >= 16 {
            let mut i = 0;
            while i + 16 < len {
                _mm_storeu_si128(to.add(i).cast(), _mm_loadu_si128(from.add(i).cast()));
                i += 16;
            }
            let i = len - 16;
            _mm_storeu_si128(to.add(i).cast(), _mm_loadu_si128(from.add(i).cast()));
        } else {
            copy_periodic(to, d, len);
        }
    }
}

/// A match from `d < 16` back: its period replicated across a vector, stored every
/// `STEPS[d]` bytes (a whole number of periods, so each store starts in phase). A match of
/// up to 16 bytes is one store, one of up to 16 + `STEPS[d]` (at most 32) two; a longer
/// one ends with a move of the 16 bytes one step before its last 16, already written,
/// which writes nothing past it.
///
/// # Safety
/// The CPU must support SSSE3. `to - d .. to` initialised and inside the same allocation as
/// `to .. to + len.max(32)`, which must be writable; `1 <= d < 16`.
#[inline(always)]
unsafe fn copy_periodic(to: *mut u8, d: usize, len: usize) {
    // SAFETY: `to - d + 16 <= to + 32`; the stores end by `to + 32` or by `to + len`; the
    // last move's source `to + len - 16 - step .. to + len - step` lies in what the loop
    // wrote (it stops once `i + 16 >= len`, having written up to `i - step + 16`).
    unsafe {
        let v = _mm_loadu_si128(to.sub(d).cast());
        let v = _mm_shuffle_epi8(v, _mm_loadu_si128(PATTERNS[d].as_ptr().cast()));
        _mm_storeu_si128(to.cast(), v);
        if len <= 16 {
            return;
        }
        let step = usize::from(STEPS[d]);
        if len <= 16 + step {
            _mm_storeu_si128(to.add(step).cast(), v);
            return;
        }
        let mut i = step;
        while i + 16 < len {
            _mm_storeu_si128(to.add(i).cast(), v);
            i += step;
        }
        let i = len - 16;
        _mm_storeu_si128(to.add(i).cast(), _mm_loadu_si128(to.add(i - step).cast()));
    }
}

/// The LZ4 block compressor on raw pointers: the same algorithm as the shared safe one
/// (`lz4::block::compress`, liblz4's fast mode step for step, so the bytes are the same),
/// without its per-access bounds checks. A hash table of positions, one candidate per slot
/// checked on 4 bytes; the search hashes ahead of the current position with a skip that
/// grows every 64 misses (scaled by the acceleration); a found match is extended backwards
/// over the pending literals and forwards 8 bytes at a time (the first difference by
/// counting trailing zeros of the XOR); after a match the table is filled two bytes back
/// and the position right after it is tried at once.
///
/// The time goes mostly to one dependency chain per sequence, not to instructions: from a
/// match's candidate to its end (load, XOR, count), the word at the end, its hash, the
/// table slot, the next candidate's bytes and the compare that decides the next sequence.
/// The branches along it are mostly predicted, and a predicted branch takes its condition
/// off the chain, so here (unlike Deflate level 1's parser) branch-free checks lose. The
/// kernel shortens the chain instead: when a match ends within the first 8 bytes compared
/// (most do), the word at its end is shifted out of the 16 bytes read from the match start
/// plus 4 (one funnel shift, instead of an address computation and a load, before the
/// hash), and the search compares a candidate against the word it hashed rather than
/// loading it again. Against the previous kernel, same process, best of 40 interleaved, 2
/// MiB of each testkit kind in 64 KiB blocks at acceleration 1, shared 2-core Zen 3 VM,
/// three runs: text 1.02-1.04x, logs 0.99-1.01x, binary 1.00-1.03x, random 1.05-1.06x, mixed
/// 1.00-1.02x; against liblz4 1.10 (`LZ4_compress_fast` through `offload-testkit`'s
/// `lz4ref`) in the same runs 1.06-1.07x, 1.03-1.05x, 1.03-1.05x, 1.07-1.14x, 1.04-1.06x
/// (the previous kernel 1.02-1.05x, 1.04x, 1.02x, 1.02-1.07x, 1.03-1.05x). Callgrind, the
/// 32 blocks of each kind: text 25.0M -> 25.6M instructions (liblz4 26.8M), logs 16.0M ->
/// 16.7M (17.6M), binary 24.4M -> 25.4M (26.9M), mixed 17.4M -> 18.0M (19.0M). Tried and
/// dropped (each against the kernel before it, same runs): backward extension without
/// branches, 8 bytes at once by counting leading zeros of the XOR (binary 0.78x, logs
/// 0.91x, mixed 0.87x: `ip` joins the chain), the same behind a branch on the first byte
/// (no gain), forward extension over 16 bytes with the two words' counts joined by a
/// conditional move (0.80-0.90x, although callgrind simulated a third fewer mispredictions
/// on logs), the match's end taken from the XOR of the 8 bytes at the candidate (the split
/// at 4 bytes mispredicts on text), the word at the end from one of two loads chosen by the count
/// (compiled to a branch: 0.92x), one load for both the `ip - 2` and `ip` hashes (a shift
/// on the chain: 0.95x), hashing the search's next position and prefetching its candidate
/// before the after-match compare (0.95x), computing the forward extension before the
/// backward one (0.80-0.88x), a 16-byte literal move (no change), and hashing a failed
/// after-match position's successor from the register (binary 1.04x but random 0.94x: a
/// spill in the search loop).
///
/// Every read stays inside the input because of the end-of-block rules the algorithm
/// already obeys: hashed and searched positions are at most `len - 11` (8-byte reads end at
/// `len - 3`), every position in the table is one stored by this call (the table is cleared
/// first), and forward extension stops at `len - 5` (its first step reads 16 bytes from
/// the match start plus 4 only where those end by `len`). Writes: with `LIMITED` the room checks
/// of liblz4's limited-output mode come before each sequence's literals and each match's
/// length. Without it the output holds `max_compressed_len` (`len + len / 255 + 16`) bytes,
/// and no write can pass `len + len / 255`: a sequence of `L` literals and a match of
/// `4 + M` bytes takes `1 + e(L) + L + 2 + e(M)` output bytes for `L + 4 + M` input bytes,
/// where the length extensions have `e(L) <= L / 255 + 1` bytes (none below 15) and
/// `e(M) <= M - 14` (none below 15), so the output grows by at most `L / 255` bytes more
/// than the input consumed; by induction `op <= anchor + anchor / 255` at every sequence,
/// whose writes then end by `ip + ip / 255 + 4` (`ip <= len - 12` where the match starts)
/// and by `anchor + anchor / 255 + 3` after it (`anchor <= len - 5`). The 8-byte literal
/// moves, which write up to 7 bytes past the literals, run only with that much room and
/// are always overwritten by what follows (offset, later sequences, last literals: at
/// least 8 bytes), so nothing past the returned length is written.
///
/// # Safety
/// The CPU must support AVX2, BMI1 and BMI2 and `M`'s features; `input.len() <=
/// lz4::MAX_INPUT`, in the 16-bit layout (`P = Small`) `input.len() < LIMIT_64K`, and
/// without `LIMITED` `output.len() >= max_compressed_len(input.len())`.
///
/// `M` supplies the literal moves (this backend's or `Avx512`'s); everything else, and so
/// every output byte, is the same for both.
#[inline(always)]
pub(super) unsafe fn compress_body<P: block::Positions, const LIMITED: bool, M: Lz4Moves>(
    table: &mut block::Table,
    input: &[u8],
    output: &mut [u8],
    acceleration: u32,
) -> Result<usize, Error> {
    use block::{LAST_LITERALS, MAX_DISTANCE, MF_LIMIT, MIN_LENGTH, MIN_MATCH, SKIP_TRIGGER};
    *table = [0; 8192];
    let end = input.len();
    if end < MIN_LENGTH {
        return block::last_literals(input, 0, output, 0);
    }
    let out_len = output.len();
    let src = input.as_ptr();
    let dst = output.as_mut_ptr();
    let mf_limit_plus_one = end - MF_LIMIT + 1;
    let match_limit = end - LAST_LITERALS;
    let mut anchor = 0;
    let mut op = 0;
    // SAFETY: reads and writes are bounded as the kernel's comment explains; each step
    // notes the bound it relies on.
    unsafe {
        let word = |at: usize| src.add(at).cast::<u64>().read_unaligned();
        let word32 = |at: usize| src.add(at).cast::<u32>().read_unaligned();
        // `0 + 8 <= end`.
        P::put(table, P::hash_word(word(0)), 0);
        let mut ip = 1;
        let mut forward_w = word(ip);
        let mut forward_h = P::hash_word(forward_w);
        'sequences: loop {
            // The search: hash ahead of the current position, skipping faster after misses
            // (liblz4's `step = searches++ >> 6`).
            let mut forward = ip;
            let mut step = 1;
            let mut searches = acceleration << SKIP_TRIGGER;
            let mut candidate;
            loop {
                let h = forward_h;
                let w = forward_w;
                ip = forward;
                forward += step;
                step = (searches >> SKIP_TRIGGER) as usize;
                searches += 1;
                if forward > mf_limit_plus_one {
                    break 'sequences;
                }
                candidate = P::get(table, h);
                // `forward + 8 <= end - 3`.
                forward_w = word(forward);
                forward_h = P::hash_word(forward_w);
                P::put(table, h, ip);
                if P::CHECK_DISTANCE && candidate + MAX_DISTANCE < ip {
                    continue;
                }
                // `candidate` was stored by this call: `candidate + 4 <= end`, as `ip`
                // (whose 4 bytes are the low ones of the word hashed for it).
                #[expect(clippy::cast_possible_truncation, reason = "the low 4 bytes")]
                if word32(candidate) == w as u32 {
                    break;
                }
            }

            // Backwards over the pending literals. The search starts one byte after the
            // anchor, so `ip > anchor` holds at first; both bounds are tested together, and
            // the bytes only within them (`ip - 1 >= anchor`, `candidate - 1 >= 0`).
            if candidate > 0 && *src.add(ip - 1) == *src.add(candidate - 1) {
                loop {
                    ip -= 1;
                    candidate -= 1;
                    if !((ip > anchor) & (candidate > 0))
                        || *src.add(ip - 1) != *src.add(candidate - 1)
                    {
                        break;
                    }
                }
            }

            let literals = ip - anchor;
            if LIMITED && !block::literals_fit(op, literals, out_len) {
                return Err(block::too_small(output));
            }
            // Room (checked, or the bound): the token, the length bytes, the literals and
            // the offset.
            let mut token_at = op;
            op += 1;
            if literals >= 15 {
                *dst.add(token_at) = 15 << 4;
                op = put_length_raw(dst, op, literals - 15);
            } else {
                #[expect(clippy::cast_possible_truncation, reason = "literals < 15 here")]
                {
                    *dst.add(token_at) = (literals as u8) << 4;
                }
            }
            // With room, reads end by `ip + 7 < end` and writes by `op + literals + 7 < out_len`.
            M::literals(
                dst.add(op),
                src.add(anchor),
                literals,
                op + literals + 8 <= out_len,
            );
            op += literals;

            loop {
                // The room checked above (or after the previous match) holds the offset.
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "the distance check keeps offsets within 1..=65535"
                )]
                let offset = (ip - candidate) as u16;
                dst.add(op).cast::<u16>().write_unaligned(offset.to_le());
                op += 2;
                // Forward extension. When the match ends within the first 8 bytes compared
                // (most do), the 8 bytes at its end are shifted out of the 16 read from
                // `ip + 4` instead of loaded from the new position: the next table look-up,
                // which waits for them, starts a few cycles earlier.
                let b = ip + MIN_MATCH;
                let mut end_word = None;
                let len = if b + 16 <= end {
                    // Reads end by `b + 16 <= end` (and `candidate + 12 < b + 8`).
                    let lo = word(b);
                    let diff = word(candidate + MIN_MATCH) ^ lo;
                    if diff != 0 {
                        let bits = diff.trailing_zeros() & !7;
                        let hi = word(b + 8);
                        end_word = Some((lo >> bits) | (hi << 1 << (63 - bits)));
                        (bits / 8) as usize
                    } else {
                        8 + common_prefix_raw(src, candidate + MIN_MATCH + 8, b + 8, match_limit)
                    }
                } else {
                    common_prefix_raw(src, candidate + MIN_MATCH, b, match_limit)
                };
                ip += MIN_MATCH + len;
                if LIMITED && op + (1 + LAST_LITERALS) + (len + 240) / 255 > out_len {
                    return Err(block::too_small(output));
                }
                if len >= 15 {
                    *dst.add(token_at) += 15;
                    op = put_length_raw(dst, op, len - 15);
                } else {
                    #[expect(clippy::cast_possible_truncation, reason = "len < 15 here")]
                    {
                        *dst.add(token_at) += len as u8;
                    }
                }
                anchor = ip;
                if ip >= mf_limit_plus_one {
                    break 'sequences;
                }

                // `ip + 8 <= end - 4`.
                P::put(table, P::hash_word(word(ip - 2)), ip - 2);
                let w = match end_word {
                    Some(w) => w,
                    None => word(ip),
                };
                let h = P::hash_word(w);
                candidate = P::get(table, h);
                P::put(table, h, ip);
                #[expect(clippy::cast_possible_truncation, reason = "the low 4 bytes")]
                if (!P::CHECK_DISTANCE || candidate + MAX_DISTANCE >= ip)
                    && word32(candidate) == w as u32
                {
                    // Token and offset: 3 of the 6 bytes of room checked above.
                    token_at = op;
                    *dst.add(token_at) = 0;
                    op += 1;
                    continue;
                }
                ip += 1;
                forward_w = word(ip);
                forward_h = P::hash_word(forward_w);
                continue 'sequences;
            }
        }
    }
    // The final run: its token and length by the shared code, its bytes by `copy_run` when
    // long (an incompressible block's whole 64 KiB).
    let (at, run) = block::last_literals_head(input, anchor, output, op)?;
    match (input.get(anchor..), output.get_mut(at..at + run)) {
        (Some(from), Some(to)) if run >= 32 => {
            // SAFETY: `from` and `to` are `run` bytes each (`anchor + run == end`), in two
            // distinct slices; the function's caller guarantees AVX2.
            unsafe { copy_run(to.as_mut_ptr(), from.as_ptr(), run) };
        }
        (Some(from), Some(to)) => to.copy_from_slice(from),
        _ => {} // unreachable: `last_literals_head` checked the room
    }
    Ok(at + run)
}

/// Writes an LZ4 length extension (255 while the rest is at least 255, then the rest) at
/// `op`; returns the position after it.
///
/// # Safety
/// `dst + op .. dst + op + len / 255 + 1` writable.
#[inline(always)]
unsafe fn put_length_raw(dst: *mut u8, mut op: usize, mut len: usize) -> usize {
    // SAFETY: `len / 255 + 1` bytes from `op`, which the caller guarantees writable.
    unsafe {
        while len >= 255 {
            *dst.add(op) = 255;
            op += 1;
            len -= 255;
        }
        #[expect(clippy::cast_possible_truncation, reason = "len < 255 here")]
        {
            *dst.add(op) = len as u8;
        }
    }
    op + 1
}

/// The parts of the LZ4 compressor's kernel ([`compress_body`]) that differ between the
/// x86 backends, and the kernel compiled with each one's features.
pub(super) trait Lz4Moves {
    /// `compress_body::<P, LIMITED, Self>` inside a function enabling the backend's features.
    ///
    /// # Safety
    /// The CPU must support the backend's features; the rest as [`compress_body`].
    unsafe fn kernel<P: block::Positions, const LIMITED: bool>(
        table: &mut block::Table,
        input: &[u8],
        output: &mut [u8],
        acceleration: u32,
    ) -> Result<usize, Error>;

    /// Copies the `n` bytes at `s` to `d` (distinct ranges).
    ///
    /// # Safety
    /// `s .. s + n` readable and `d .. d + n` writable; with `room`, also 7 bytes more of
    /// each, and what is written past `d + n` is overwritten later.
    unsafe fn literals(d: *mut u8, s: *const u8, n: usize, room: bool);
}

impl Lz4Moves for Avx2 {
    #[inline(always)]
    unsafe fn kernel<P: block::Positions, const LIMITED: bool>(
        table: &mut block::Table,
        input: &[u8],
        output: &mut [u8],
        acceleration: u32,
    ) -> Result<usize, Error> {
        // SAFETY: the caller's promise.
        unsafe { compress_kernel::<P, LIMITED>(table, input, output, acceleration) }
    }

    /// 8-byte moves with room, `copy_nonoverlapping` without (a 16-byte move measured no
    /// faster).
    #[inline(always)]
    unsafe fn literals(d: *mut u8, s: *const u8, n: usize, room: bool) {
        // SAFETY: with `room`, every move ends by `n + 7` (the caller's bound); without,
        // exactly `n` bytes.
        unsafe {
            if room {
                let mut i = 0;
                loop {
                    d.add(i)
                        .cast::<u64>()
                        .write_unaligned(s.add(i).cast::<u64>().read_unaligned());
                    i += 8;
                    if i >= n {
                        break;
                    }
                }
            } else {
                core::ptr::copy_nonoverlapping(s, d, n);
            }
        }
    }
}

/// The LZ4 compressor for AVX2, BMI1 and BMI2 ([`compress_body`] with [`Avx2`]'s moves).
///
/// # Safety
/// As [`compress_body`].
#[target_feature(enable = "avx2,bmi1,bmi2")]
unsafe fn compress_kernel<P: block::Positions, const LIMITED: bool>(
    table: &mut block::Table,
    input: &[u8],
    output: &mut [u8],
    acceleration: u32,
) -> Result<usize, Error> {
    // SAFETY: the caller's promise.
    unsafe { compress_body::<P, LIMITED, Avx2>(table, input, output, acceleration) }
}

/// [`Codec::lz4_compress_block`] on `M`'s kernel: the layout (16-bit positions below
/// `LIMIT_64K`) and the room checks (only when the output is under `max_compressed_len`)
/// chosen once per block.
///
/// # Safety
/// The CPU must support `M`'s backend's features.
pub(super) unsafe fn lz4_compress<M: Lz4Moves>(
    workspace: &mut crate::lz4::Workspace,
    input: &[u8],
    output: &mut [u8],
    acceleration: u32,
) -> Result<usize, Error> {
    crate::lz4::check_input_len(input)?;
    let acceleration = acceleration.clamp(1, block::MAX_ACCELERATION);
    let table = &mut workspace.table;
    let roomy = output.len() >= crate::lz4::max_compressed_len(input.len());
    let small = input.len() < block::LIMIT_64K;
    // SAFETY: the caller guarantees the features; the input's length was checked, the
    // 16-bit layout is chosen only below `LIMIT_64K`, and `LIMITED` is false only when the
    // output holds `max_compressed_len` bytes.
    unsafe {
        match (small, roomy) {
            (true, true) => M::kernel::<block::Small, false>(table, input, output, acceleration),
            (true, false) => M::kernel::<block::Small, true>(table, input, output, acceleration),
            (false, true) => M::kernel::<block::Large, false>(table, input, output, acceleration),
            (false, false) => M::kernel::<block::Large, true>(table, input, output, acceleration),
        }
    }
}

/// How many bytes at `src + a` and `src + b` agree, stopping at `limit` (`a < b <= limit`):
/// 8 bytes at a time, the first difference by counting trailing zeros of the XOR.
///
/// # Safety
/// `src .. src + limit` readable.
#[inline(always)]
unsafe fn common_prefix_raw(src: *const u8, mut a: usize, mut b: usize, limit: usize) -> usize {
    let start = b;
    // SAFETY: every read ends at or before `limit`.
    unsafe {
        while b + 8 <= limit {
            let diff = src.add(a).cast::<u64>().read_unaligned()
                ^ src.add(b).cast::<u64>().read_unaligned();
            if diff != 0 {
                return b - start + (diff.trailing_zeros() / 8) as usize;
            }
            a += 8;
            b += 8;
        }
        while b < limit && *src.add(a) == *src.add(b) {
            a += 1;
            b += 1;
        }
    }
    b - start
}

impl Codec for Avx2 {
    fn backend(&self) -> Backend {
        Backend::Avx2
    }

    fn lz4_compress_block(
        &self,
        workspace: &mut crate::lz4::Workspace,
        input: &[u8],
        output: &mut [u8],
        acceleration: u32,
    ) -> Result<usize, Error> {
        // SAFETY: an `Avx2` exists only on a CPU with AVX2, BMI1 and BMI2.
        unsafe { lz4_compress::<Self>(workspace, input, output, acceleration) }
    }

    fn adler32(&self, adler: u32, data: &[u8]) -> u32 {
        // SAFETY: an `Avx2` exists only on a CPU with AVX2.
        unsafe { adler32_avx2(adler, data) }
    }

    fn inflate(
        &self,
        inflater: &mut deflate::Inflater,
        input: &[u8],
        output: &mut [u8],
        dict: &[u8],
    ) -> Result<(usize, usize), Error> {
        // SAFETY: an `Avx2` exists only on a CPU with AVX2, BMI1 and BMI2.
        unsafe { inflate_avx2(inflater, input, output, dict) }
    }

    fn inflate_stream_fast(
        &self,
        stream: &mut deflate::InflateStream,
        input: &[u8],
        output: &mut [u8],
        ip: &mut usize,
        op: &mut usize,
    ) -> Result<bool, Error> {
        // SAFETY: an `Avx2` exists only on a CPU with AVX2, BMI1 and BMI2.
        unsafe { inflate_stream_fast_avx2(stream, input, output, ip, op) }
    }

    fn deflate(
        &self,
        deflater: &mut deflate::Deflater,
        level: u32,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<usize, Error> {
        // Level 1's parser on raw pointers (the same bytes as the shared one).
        deflate::compress::deflate(&mut deflater.state, level, input, output, self)
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
        // SAFETY: an `Avx2` exists only on a CPU with AVX2, BMI1 and BMI2; `start <= output.len()`.
        let (ip, op) = unsafe { decode_fast(input, output, start) };
        if ip == input.len() && ip > 0 {
            // The fast loop decoded the last sequence (its literals end the block).
            return Ok(op - start);
        }
        block::decompress_from(input, output, start, dict, ip, op)
    }
}

// --- Deflate level 1 ---------------------------------------------------------------------

impl deflate::compress::FastParse for Avx2 {
    #[inline]
    fn parse_fast(
        &self,
        table: &mut [u16; 3 << deflate::compress::HASH_BITS_MAX],
        parts: deflate::compress::RecorderParts<'_>,
        data: &[u8],
        start: usize,
        bits: u32,
    ) -> (usize, usize) {
        // SAFETY: an `Avx2` exists only on a CPU with AVX2, BMI1 and BMI2.
        unsafe {
            if bits == deflate::compress::HASH_BITS_MAX {
                parse_fast_avx2::<true>(table, parts, data, start, bits)
            } else {
                parse_fast_avx2::<false>(table, parts, data, start, bits)
            }
        }
    }

    #[inline(always)]
    fn walk(&self, w: &deflate::compress::Walk<'_>) -> (usize, usize) {
        let bounded = w.max >= 4
            && w.best.0 < w.max
            && w.pos
                .checked_add(w.max)
                .is_some_and(|end| end <= w.data.len());
        if !bounded {
            // Never taken: the finder guarantees all three (see `Walk`).
            return deflate::compress::walk_safe(w);
        }
        // SAFETY: `bounded` holds, which is `walk_raw`'s whole contract.
        unsafe {
            if w.pos < deflate::compress::WINDOW {
                walk_raw::<true>(w)
            } else {
                walk_raw::<false>(w)
            }
        }
    }

    #[inline(always)]
    fn prefetch_heads(
        &self,
        table: &[u16; 3 << deflate::compress::HASH_BITS_MAX],
        slots: &deflate::compress::Slots,
        use3: bool,
    ) {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch reads nothing architecturally and cannot fault, whatever the
        // address (computed without `add`'s in-bounds requirement; both are in `table`
        // anyway); SSE is there, as on every x86-64 CPU.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(table.as_ptr().wrapping_add(slots.h4).cast());
            if use3 {
                _mm_prefetch::<_MM_HINT_T0>(table.as_ptr().wrapping_add(slots.h3).cast());
            }
        }
    }

    #[inline(always)]
    fn age(&self, entries: &mut [u16], now: u16) {
        // SAFETY: an `Avx2` exists only on a CPU with AVX2.
        unsafe { age_avx2(entries, now) }
    }
}

/// The chain parser's aging pass (`deflate::compress`'s `age_safe`, the same safe loop)
/// compiled for AVX2: 16 entries per compare and select instead of SSE2's 8, where the
/// unsigned compare also costs two sign flips. A pass covers up to 3 × 2^15 table entries
/// and 2^15 links every 24 576 positions.
#[target_feature(enable = "avx2")]
fn age_avx2(entries: &mut [u16], now: u16) {
    deflate::compress::age_safe(entries, now);
}

/// The hash-chain walk of Deflate levels 2..=9 on raw pointers: `walk_safe`'s result
/// (`deflate::compress`), candidate for candidate, in libdeflate's loop shape
/// (`hc_matchfinder_longest_match`). Each step: the candidate's distance from the chain's
/// 16-bit position (one subtraction; the window test is the sign of `d - 1` as a 16-bit
/// number, and the test of a candidate before the data exists only in the copy for
/// positions below 32 KiB, `EARLY`), the next link loaded before the candidate's bytes
/// are compared, and the compare itself. Until a 4-byte match is found a step compares the
/// first 4 bytes only; after, the 4 bytes that end the best match (held in a register,
/// read again only when the best grows) and then the first 4. Extension compares 8 bytes
/// at a time, then single bytes, up to `max`, as `match_len` does.
///
/// `walk_safe` as the compiler lays it out runs about 30 instructions a step (its data
/// and link pointers reloaded from the stack, both 4-byte reads bounds-checked, the tail
/// re-read every step) against libdeflate's 12; this loop about 20. Measured together
/// with the table prefetches below and the chain parser's constant hash width
/// (`parse_chain_with`'s `FULL`), level 6 on 2 MiB of the mixed corpus, AMD Zen 3 guest,
/// 2 cores, shared host, the bytes the same:
///
/// - criterion, this and the previous bench binary alternating, two batches of four runs:
///   27.2-27.6 ms against 27.4-29.7 ms, and 27.0-28.3 ms against 28.4-30.1 ms (libdeflate
///   in the same runs 27.5-29.5 ms);
/// - the crate before and after in one process, interleaved, best of 10: mixed 1.01-1.05x
///   as fast, text 1.02-1.03x, logs 1.01x, binary records 1.04-1.05x.
///
/// Variants measured slower or no faster. In criterion against the same previous binary:
/// linking each position after its walk, so that a walk reaching exactly 32 768 back
/// ends there instead of going round its chain again (the same result in fewer steps, 5 %
/// fewer instructions on binary records), with the window and before-the-data tests
/// folded into one: 28.0-28.6 ms against 27.5-27.9; the same in `walk_safe` without this
/// walk: 29.6-30.8 ms against 27.5-29.1. In one process: this walk as its own function,
/// 6-9 % slower; one copy instead of the two (`EARLY`), no faster.
///
/// # Safety
/// `w.max >= 4`, `w.best.0 < w.max` and `w.pos + w.max <= w.data.len()`. Then every read
/// is inside `w.data`: a candidate is `d` bytes back with `1 <= d <= pos`, its reads end
/// at most at `pos + best + 1 <= pos + max` (the tail) or at `pos + max` (extension), and
/// the current position's reads end at `pos + max` at most. Link reads index `prev` masked
/// to its length.
#[inline(always)]
unsafe fn walk_raw<const EARLY: bool>(w: &deflate::compress::Walk<'_>) -> (usize, usize) {
    let (mut best_len, mut best_dist) = w.best;
    let (p, x, max, nice, pos) = (w.p, w.x, w.max, w.nice, w.pos);
    let mut c16 = w.head;
    let mut depth = w.depth;
    // SAFETY: `pos + max <= data.len()`, so `pos` is inside `data` (or its end).
    let cur = unsafe { w.data.as_ptr().add(pos) };
    /// The 4 bytes at `q`.
    ///
    /// # Safety
    /// They are inside one allocation.
    #[inline(always)]
    unsafe fn rd32(q: *const u8) -> u32 {
        // SAFETY: the caller's.
        unsafe { q.cast::<u32>().read_unaligned() }
    }
    /// How far `m` agrees with `cur`, from 4 (both agree there) up to `max`.
    ///
    /// # Safety
    /// `m` and `cur` are in one allocation, with `max` bytes readable at each.
    #[inline(always)]
    unsafe fn extend(m: *const u8, cur: *const u8, max: usize) -> usize {
        let mut l = 4;
        while l + 8 <= max {
            // SAFETY: `l + 8 <= max`: both 8-byte reads are inside the `max` bytes.
            let v = unsafe {
                m.add(l).cast::<u64>().read_unaligned() ^ cur.add(l).cast::<u64>().read_unaligned()
            };
            if v != 0 {
                return l + (v.trailing_zeros() / 8) as usize;
            }
            l += 8;
        }
        // SAFETY: `l < max`: both bytes are inside the `max` bytes.
        while l < max && unsafe { *m.add(l) == *cur.add(l) } {
            l += 1;
        }
        l
    }
    let link = |c: u16| w.prev[usize::from(c) & (deflate::compress::WINDOW - 1)];
    if best_len < 4 {
        loop {
            let dm1 = p.wrapping_sub(c16).wrapping_sub(1);
            if dm1 >= 0x8000 || depth == 0 {
                return (best_len, best_dist);
            }
            let d = usize::from(dm1) + 1;
            if EARLY && d > pos {
                return (best_len, best_dist);
            }
            // SAFETY: `1 <= d <= pos`.
            let m = unsafe { cur.sub(d) };
            c16 = link(c16);
            depth -= 1;
            // SAFETY: `m + 4 <= cur + 3`, and `m + max < cur + max <= data`'s end.
            if unsafe { rd32(m) } == x {
                // SAFETY: as just above.
                best_len = unsafe { extend(m, cur, max) };
                best_dist = d;
                if best_len >= nice {
                    return (best_len, best_dist);
                }
                break;
            }
        }
    }
    // SAFETY: `4 <= best_len < max`: the read ends at `pos + best_len + 1 <= pos + max`.
    let mut tail = unsafe { rd32(cur.add(best_len - 3)) };
    loop {
        let dm1 = p.wrapping_sub(c16).wrapping_sub(1);
        if dm1 >= 0x8000 || depth == 0 {
            return (best_len, best_dist);
        }
        let d = usize::from(dm1) + 1;
        if EARLY && d > pos {
            return (best_len, best_dist);
        }
        // SAFETY: `1 <= d <= pos`.
        let m = unsafe { cur.sub(d) };
        let next = link(c16);
        depth -= 1;
        // SAFETY: the tail read ends at `pos - d + best_len + 1 <= pos + max`; the first
        // 4 bytes and the extension as in the loop above.
        if unsafe { rd32(m.add(best_len - 3)) == tail && rd32(m) == x } {
            // SAFETY: as just above.
            let l = unsafe { extend(m, cur, max) };
            if l > best_len {
                best_len = l;
                best_dist = d;
                if l >= nice {
                    return (best_len, best_dist);
                }
                // SAFETY: as `tail` above, with the new `best_len < nice <= max`.
                tail = unsafe { rd32(cur.add(best_len - 3)) };
            }
        }
        c16 = next;
    }
}

/// Deflate level 1's block parser on raw pointers: the shared safe one's algorithm
/// (`deflate::compress::parse_fast_with`) step for step, so the sequences, and the
/// compressed bytes, are the same; only its per-access bounds checks are gone. Greedy
/// parsing over a table of 2^15 two-entry buckets of 16-bit positions, hashed on 4 bytes:
/// at each position the current position goes to the front of its bucket, both entries
/// are checked on 4 bytes (the second only when it could be longer: it must also agree at
/// the first match's last 4 bytes), the longer match is taken and every position inside it
/// is inserted; after 64 positions without a match the step grows by one every 64
/// (incompressible data). The recorder (sequences and symbol counts) is the shared one.
///
/// Where it differs from the shared parser in the work, not the result (libdeflate's
/// `deflate_compress_fastest` does the same): the next position's hash is computed at each
/// step, carried to the next one and its bucket prefetched (the shared parser reads the
/// bucket one step early instead, in safe code); and positions at least 263 bytes from the
/// end run in a loop without the tests that only matter near the end (match length capped
/// by the input, the next word inside it, insertions below `hash_end`), checking the
/// sequence count only after a match. On 2 MiB of text at level 1 (callgrind) this loop
/// took the parser from 81.2 M to 56.7 M instructions.
///
/// Three more changes of the work, each for stalls rather than instructions (the parser's
/// time is mostly waits: bucket loads from L2, and mispredicted branches on candidate
/// bytes that arrive late):
///
/// - both candidates' first 4 bytes are compared before any branch (`search_raw`), so the
///   usual outcome, no match or a match at the first entry, is decided by one or two
///   unpredictable branches instead of a chain of up to four each waiting on a load;
/// - after a match, the bucket of the position after it is prefetched before its
///   positions are inserted (the insertions hide the latency; before, the next step
///   waited for that load right after them);
/// - the hash width of the full table (every input above 16 KiB) is a constant (`FULL`),
///   which frees a register in the loop and drops the mask after the hash's shift.
///
/// Measured together against the loop before them (same process, the 2 MiB testkit
/// corpora, best of 60 interleaved runs, Zen 3 guest shared with other work): mixed
/// 1.24-1.27x, text 1.11-1.13x, logs 1.30-1.32x, binary 1.29-1.30x as fast, with more
/// instructions on text (callgrind: 56.7 M -> 60.3 M) and fewer stalls. The early
/// prefetch alone gave 1.02-1.08x; a bucket read and written as one 32-bit word (one
/// store instead of two per insertion) and prefetching two positions ahead measured no
/// faster, and were left out.
///
/// Reads: every position searched is below `len - 3` (`hash_end`), so its 4-byte word and,
/// below `len - 4`, the next one's are inside `data`; a candidate is used only when it is
/// behind the position (`1 <= d <= pos`), and a match is extended at most `max = min(len -
/// pos, 258)` bytes, so both sides stay inside `data`. Table indices are masked to
/// `HASH_MASK` (`2 * h + 1 < 2^16`, inside the `3 << 15` entries).
///
/// # Safety
/// The CPU must support AVX2, BMI1 and BMI2.
#[target_feature(enable = "avx2,bmi1,bmi2")]
unsafe fn parse_fast_avx2<const FULL: bool>(
    table: &mut [u16; 3 << deflate::compress::HASH_BITS_MAX],
    (seqs, litlen_freq, dist_freq): deflate::compress::RecorderParts<'_>,
    data: &[u8],
    start: usize,
    bits: u32,
) -> (usize, usize) {
    use deflate::compress::{
        FAST_BLOCK_MAX, HASH_BITS_MAX, HASH_MASK, MAX_MATCH, Recorder, SKIP_SHIFT, hash4, pos16,
    };
    // The full table (every input above 16 KiB) as a constant: one register less in the
    // loop, and no mask after the hash's shift.
    let bits = if FULL { HASH_BITS_MAX } else { bits };
    let mut rec = Recorder::new(seqs, litlen_freq, dist_freq);
    let len = data.len();
    let mut misses = 0usize;
    let block_limit = len.min(start + FAST_BLOCK_MAX);
    let hash_end = len.saturating_sub(3);
    let src = data.as_ptr();
    let tab = table.as_mut_ptr();
    let mut pos = start;
    // SAFETY: the reads and table accesses are in bounds as the kernel's comment explains;
    // each step notes the bound it relies on.
    unsafe {
        let word = |at: usize| src.add(at).cast::<u32>().read_unaligned();
        // The hash of the word at `pos`, carried from the step before (libdeflate's
        // `next_hash`), valid while `pos < hash_end`.
        let mut h = if pos < hash_end {
            hash4(word(pos), bits) & HASH_MASK
        } else {
            0
        };
        // Positions below `zone_end` are at least 263 bytes from the end: a match there can
        // run the full 258 bytes, the next position's word is inside `data`, and every
        // position inside a match is below `hash_end`. The loop for them has none of those
        // tests, and checks the sequence count only after a match (nothing else changes it).
        let zone_end = block_limit.min(len.saturating_sub(MAX_MATCH + 5));
        while pos < zone_end {
            let cur = word(pos);
            let (c0, c1) = (*tab.add(2 * h), *tab.add(2 * h + 1));
            let p = pos16(pos);
            let hn = hash4(word(pos + 1), bits) & HASH_MASK;
            _mm_prefetch::<_MM_HINT_T0>(tab.add(2 * hn).cast::<i8>());
            *tab.add(2 * h + 1) = c0;
            *tab.add(2 * h) = p;
            let (best_len, best_dist) = search_raw(src, pos, p, cur, (c0, c1), MAX_MATCH);
            if best_len >= 4 {
                let end = pos + best_len;
                // The bucket after the match, fetched now: the insertions and the
                // recording below hide its latency.
                h = hash4(word(end), bits) & HASH_MASK;
                _mm_prefetch::<_MM_HINT_T0>(tab.add(2 * h).cast::<i8>());
                rec.matched_unsplit(best_len, best_dist);
                misses = 0;
                insert_raw(src, tab, bits, pos + 1, end);
                pos = end;
                if rec.full() {
                    break;
                }
            } else if misses < 1 << SKIP_SHIFT {
                rec.literal_unsplit(cur.to_le_bytes()[0]);
                pos += 1;
                misses += 1;
                h = hn;
            } else {
                let step = (1 + (misses >> SKIP_SHIFT)).min(len - pos);
                for i in pos..pos + step {
                    rec.literal_unsplit(*src.add(i));
                }
                pos += step;
                misses += 1;
                if pos < hash_end {
                    h = hash4(word(pos), bits) & HASH_MASK;
                }
            }
        }
        // The last positions of the block or the input, with every test.
        while pos < block_limit && !rec.full() {
            if pos >= hash_end {
                rec.literal_unsplit(*src.add(pos));
                pos += 1;
                continue;
            }
            // `pos + 4 <= len`.
            let cur = word(pos);
            let (c0, c1) = (*tab.add(2 * h), *tab.add(2 * h + 1));
            let p = pos16(pos);
            // The next position's bucket is fetched now, so it is in L1 by the next step;
            // its hash is the next step's `h` if no match moves `pos` on.
            let hn = if pos + 5 <= len {
                hash4(word(pos + 1), bits) & HASH_MASK
            } else {
                0
            };
            _mm_prefetch::<_MM_HINT_T0>(tab.add(2 * hn).cast::<i8>());
            *tab.add(2 * h + 1) = c0;
            *tab.add(2 * h) = p;
            let max = (len - pos).min(MAX_MATCH);
            let (best_len, best_dist) = search_raw(src, pos, p, cur, (c0, c1), max);
            if best_len >= 4 {
                rec.matched_unsplit(best_len, best_dist);
                misses = 0;
                let end = pos + best_len;
                // Positions `pos + 1 .. stop`, each below `hash_end`.
                insert_raw(src, tab, bits, pos + 1, end.min(hash_end));
                pos = end;
                if pos < hash_end {
                    h = hash4(word(pos), bits) & HASH_MASK;
                }
            } else if misses < 1 << SKIP_SHIFT {
                rec.literal_unsplit(cur.to_le_bytes()[0]);
                pos += 1;
                misses += 1;
                h = hn;
            } else {
                let step = (1 + (misses >> SKIP_SHIFT)).min(len - pos);
                for i in pos..pos + step {
                    rec.literal_unsplit(*src.add(i));
                }
                pos += step;
                misses += 1;
                if pos < hash_end {
                    h = hash4(word(pos), bits) & HASH_MASK;
                }
            }
        }
    }
    (pos, rec.finish())
}

/// Level 1's insertion of the positions `from..to` (each with 4 readable bytes) at the
/// front of their buckets, without searching.
///
/// # Safety
/// `src + to + 3` readable, `tab` the level-1 table (`2 << HASH_BITS_MAX` entries at least).
#[inline(always)]
unsafe fn insert_raw(src: *const u8, tab: *mut u16, bits: u32, from: usize, to: usize) {
    use deflate::compress::{HASH_MASK, hash4, pos16};
    // SAFETY: the words end by `to + 3`; indices are masked to `HASH_MASK`.
    unsafe {
        for q in from..to {
            let h = hash4(src.add(q).cast::<u32>().read_unaligned(), bits) & HASH_MASK;
            *tab.add(2 * h + 1) = *tab.add(2 * h);
            *tab.add(2 * h) = pos16(q);
        }
    }
}

/// Level 1's search at `pos` (below `hash_end`, its 16-bit form `p`, its word `cur`) over
/// the bucket's two entries, as the shared parser does it: returns the longest match
/// (length 0 if none reaches 4 bytes) and its distance, extended at most `max` bytes.
///
/// # Safety
/// `src .. src + pos + max` readable, `max >= 4`.
#[inline(always)]
unsafe fn search_raw(
    src: *const u8,
    pos: usize,
    p: u16,
    cur: u32,
    (c0, c1): (u16, u16),
    max: usize,
) -> (usize, usize) {
    use deflate::compress::{FAST_NICE, WINDOW};
    let mut best_len = 0;
    let mut best_dist = 0;
    // SAFETY: candidates are behind `pos` (`1 <= d <= pos`; an unusable one is replaced by
    // `pos` itself), compared words end by `pos + max`, and extensions stop at `max` bytes.
    unsafe {
        let word = |at: usize| src.add(at).cast::<u32>().read_unaligned();
        // A candidate at distance `d` is usable when `1 <= d <= min(pos, WINDOW)`: one
        // unsigned compare of `d - 1` (wrapping for `d = 0`) with this bound.
        let reach = pos.min(WINDOW);
        let (d0, d1) = (
            usize::from(p.wrapping_sub(c0)),
            usize::from(p.wrapping_sub(c1)),
        );
        let (v0, v1) = (d0.wrapping_sub(1) < reach, d1.wrapping_sub(1) < reach);
        // Both candidates' first 4 bytes are compared before any branch (an unusable
        // candidate reads the position's own word and is masked out), so that the common
        // outcome, no match at all, costs one unpredictable branch instead of up to three.
        let a0 = pos - (d0 & usize::from(v0).wrapping_neg());
        let a1 = pos - (d1 & usize::from(v1).wrapping_neg());
        let m0 = v0 & (word(a0) == cur);
        let m1 = v1 & (word(a1) == cur);
        if !(m0 | m1) {
            return (0, 0);
        }
        if m0 {
            best_len = match_len_raw(src, a0, pos, max);
            best_dist = d0;
        }
        // The second candidate only when the first is short of `FAST_NICE`, and (a filter
        // that changes nothing) when it also agrees at the first match's last 4 bytes;
        // with `best_len < max`, those words end by `pos + max`.
        if m1
            && best_len < FAST_NICE.min(max)
            && (best_len < 4 || word(a1 + best_len - 3) == word(pos + best_len - 3))
        {
            let l = match_len_raw(src, a1, pos, max);
            if l > best_len {
                best_len = l;
                best_dist = d1;
            }
        }
    }
    (best_len, best_dist)
}

/// How many bytes at `src + a` and `src + b` agree (`a < b`), at least 4 (the caller has
/// compared the first 4), up to `max`: 8 bytes at a time, the first difference by counting
/// trailing zeros of the XOR, then byte by byte.
///
/// # Safety
/// `src + b .. src + b + max` readable (and so the range from `a`, which is before it).
#[inline(always)]
unsafe fn match_len_raw(src: *const u8, a: usize, b: usize, max: usize) -> usize {
    let mut len = 4;
    // SAFETY: every read ends at or before `max` bytes from `a` and `b`.
    unsafe {
        while len + 8 <= max {
            let d = src.add(a + len).cast::<u64>().read_unaligned()
                ^ src.add(b + len).cast::<u64>().read_unaligned();
            if d != 0 {
                return len + (d.trailing_zeros() / 8) as usize;
            }
            len += 8;
        }
        while len < max && *src.add(a + len) == *src.add(b + len) {
            len += 1;
        }
    }
    len
}
