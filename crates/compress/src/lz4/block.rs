//! The LZ4 block format: the compressor and the decompressor, safe code shared by every
//! backend (the SIMD backends run their own fast loop for the decompressor's bulk and hand
//! the rest to the safe loop here; `Avx2` runs this compressor's algorithm on raw pointers
//! for single blocks, with the same output, and uses this one for linked blocks).
//!
//! The compressor is liblz4's fast mode (`LZ4_compress_fast`), step for step, so that for the
//! same input and acceleration it emits the same bytes as liblz4 1.9–1.10 (the tests check
//! this against liblz4 itself): a 16 KiB hash table of 8192 16-bit positions for inputs
//! under 64 KiB + 11 bytes (hash of 4 bytes) or 4096 32-bit positions above (hash of 5
//! bytes), one candidate per slot checked on 4 bytes, forward extension 8 bytes at a time,
//! backward extension over pending literals, a skip that grows by one byte every 64 misses
//! (scaled by the acceleration), and the end-of-block rules: no match starts in the last 12
//! bytes and the last 5 bytes are literals.
//!
//! The decompressor checks every length and offset before it copies (no reads past the
//! input, no writes past the output, offset 0 and offsets reaching before the history are
//! errors) and writes exactly the bytes it reports: copies are exact, built from fixed-size
//! moves that overlap inside the sequence (never past it), so a buffer's bytes after the
//! returned length are never touched. It is lenient about the end-of-block rules (blocks
//! from other encoders that end in a match, or match into the last 12 bytes, decode), as the
//! format specification allows; liblz4 1.10 rejects some of those blocks.

#![forbid(unsafe_code)]

use crate::Error;
use crate::error::Corruption;

/// Shortest match the format can express.
pub(crate) const MIN_MATCH: usize = 4;
/// The last match must start at least this many bytes before the end of the block.
pub(crate) const MF_LIMIT: usize = 12;
/// The last this many bytes of a block are literals.
pub(crate) const LAST_LITERALS: usize = 5;
/// Inputs shorter than this are emitted as literals only.
pub(crate) const MIN_LENGTH: usize = MF_LIMIT + 1;
/// Largest match offset.
pub(crate) const MAX_DISTANCE: usize = 65_535;
/// Below this input length, positions fit in 16 bits and the table holds 8192 of them.
pub(crate) const LIMIT_64K: usize = 65_536 + MF_LIMIT - 1;
/// log2 of the table's entry count in 32-bit mode (liblz4's `LZ4_HASHLOG` at its default
/// `LZ4_MEMORY_USAGE` of 14).
const HASH_LOG: u32 = 12;
/// Misses before the skip grows, log2 (liblz4's `LZ4_skipTrigger`).
pub(crate) const SKIP_TRIGGER: u32 = 6;
/// Largest acceleration liblz4 honours.
pub(crate) const MAX_ACCELERATION: u32 = 65_537;

/// How many bytes `data[a..]` and `data[b..]` have in common, counted from the start and
/// stopping at `limit` (`a < b <= limit <= data.len()`): 8 bytes at a time, the first
/// difference found by counting trailing zeros of the XOR. (A 32-byte AVX2 version measured
/// 5-10 % slower on the corpus: LZ4 matches are mostly short.)
#[inline(always)]
fn common_prefix(data: &[u8], a: usize, b: usize, limit: usize) -> usize {
    let start = b;
    let (mut a, mut b) = (a, b);
    while b + 8 <= limit {
        let diff = read64(data, a) ^ read64(data, b);
        if diff != 0 {
            return b - start + (diff.trailing_zeros() / 8) as usize;
        }
        a += 8;
        b += 8;
    }
    while b < limit && data[a] == data[b] {
        a += 1;
        b += 1;
    }
    b - start
}

#[inline(always)]
pub(crate) fn read32(data: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&data[at..at + 4]);
    u32::from_le_bytes(w)
}

#[inline(always)]
pub(crate) fn read64(data: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&data[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The compressor's hash table: 8192 16-bit positions, or 4096 32-bit positions stored as
/// little-endian pairs of halves.
pub(crate) type Table = [u16; 8192];

/// Which of the two table layouts a block uses (decided by its length, as liblz4 does).
pub(crate) trait Positions {
    fn hash(data: &[u8], at: usize) -> usize;
    /// [`Positions::hash`] of the position whose next 8 bytes, read little-endian, are
    /// `word` (the 16-bit layout hashes only the low 4 of them).
    fn hash_word(word: u64) -> usize;
    fn get(table: &Table, h: usize) -> usize;
    fn put(table: &mut Table, h: usize, pos: usize);
    /// Whether a candidate can be too far back (never in 16-bit mode: the input is shorter
    /// than the window).
    const CHECK_DISTANCE: bool;
}

pub(crate) struct Small;
pub(crate) struct Large;

impl Positions for Small {
    #[inline(always)]
    fn hash(data: &[u8], at: usize) -> usize {
        Self::hash_word(u64::from(read32(data, at)))
    }
    #[inline(always)]
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the low 4 bytes are hashed"
    )]
    fn hash_word(word: u64) -> usize {
        ((word as u32).wrapping_mul(2_654_435_761) >> (32 - (HASH_LOG + 1))) as usize
    }
    #[inline(always)]
    fn get(table: &Table, h: usize) -> usize {
        usize::from(table[h])
    }
    #[inline(always)]
    #[expect(
        clippy::cast_possible_truncation,
        reason = "16-bit mode only runs on inputs shorter than 65547 bytes, whose hashed positions are below 65536"
    )]
    fn put(table: &mut Table, h: usize, pos: usize) {
        table[h] = pos as u16;
    }
    const CHECK_DISTANCE: bool = false;
}

impl Positions for Large {
    #[inline(always)]
    fn hash(data: &[u8], at: usize) -> usize {
        Self::hash_word(read64(data, at))
    }
    #[inline(always)]
    fn hash_word(word: u64) -> usize {
        ((word << 24).wrapping_mul(889_523_592_379) >> (64 - HASH_LOG)) as usize
    }
    #[inline(always)]
    fn get(table: &Table, h: usize) -> usize {
        usize::from(table[2 * h]) | usize::from(table[2 * h + 1]) << 16
    }
    #[inline(always)]
    #[expect(
        clippy::cast_possible_truncation,
        reason = "inputs are at most MAX_INPUT (< 2^31) bytes; the halves are split on purpose"
    )]
    fn put(table: &mut Table, h: usize, pos: usize) {
        table[2 * h] = pos as u16;
        table[2 * h + 1] = (pos >> 16) as u16;
    }
    const CHECK_DISTANCE: bool = true;
}

/// Compresses `input` into `output` as one block (the caller checked `input.len() <=
/// MAX_INPUT`); the table is cleared first, so results never depend on earlier calls.
#[inline(always)]
pub(crate) fn compress(
    table: &mut Table,
    input: &[u8],
    output: &mut [u8],
    acceleration: u32,
) -> Result<usize, Error> {
    let acceleration = acceleration.clamp(1, MAX_ACCELERATION);
    *table = [0; 8192];
    let roomy = output.len() >= crate::lz4::max_compressed_len(input.len());
    match (input.len() < LIMIT_64K, roomy) {
        (true, true) => compress_with::<Small, false>(table, input, 0, output, acceleration),
        (true, false) => compress_with::<Small, true>(table, input, 0, output, acceleration),
        (false, true) => compress_with::<Large, false>(table, input, 0, output, acceleration),
        (false, false) => compress_with::<Large, true>(table, input, 0, output, acceleration),
    }
}

/// Compresses `data[start..]` as one block whose matches may also reach back into
/// `data[..start]` (up to 64 KiB): the blocks of a linked LZ4 frame. The table keeps the
/// positions of earlier blocks of the same `data` (it is cleared for the first block,
/// `start == 0`), so a block finds matches in its predecessors without rehashing them;
/// positions further back than the window fail the distance check. Always the 32-bit table
/// layout; the caller checked `data.len() <= MAX_INPUT`.
#[inline(always)]
pub(crate) fn compress_linked(
    table: &mut Table,
    data: &[u8],
    start: usize,
    output: &mut [u8],
    acceleration: u32,
) -> Result<usize, Error> {
    let acceleration = acceleration.clamp(1, MAX_ACCELERATION);
    if start == 0 {
        *table = [0; 8192];
    }
    if output.len() >= crate::lz4::max_compressed_len(data.len() - start) {
        compress_with::<Large, false>(table, data, start, output, acceleration)
    } else {
        compress_with::<Large, true>(table, data, start, output, acceleration)
    }
}

/// Room the output must have for one more sequence's literals and the fixed part of the
/// sequence (liblz4's check: token, offset, the last literals' margin).
#[inline(always)]
pub(crate) fn literals_fit(op: usize, literals: usize, output_len: usize) -> bool {
    op + literals + (2 + 1 + LAST_LITERALS) + literals / 255 <= output_len
}

#[inline(always)]
pub(crate) fn too_small(output: &[u8]) -> Error {
    Error::OutputTooSmall {
        needed: None,
        available: output.len(),
    }
}

/// Writes a length extension: 255 while the rest is at least 255, then the rest.
#[inline(always)]
fn put_length(output: &mut [u8], op: &mut usize, mut len: usize) {
    while len >= 255 {
        output[*op] = 255;
        *op += 1;
        len -= 255;
    }
    #[expect(clippy::cast_possible_truncation, reason = "len < 255 here")]
    {
        output[*op] = len as u8;
    }
    *op += 1;
}

/// Writes the final run of literals.
pub(crate) fn last_literals(
    input: &[u8],
    anchor: usize,
    output: &mut [u8],
    op: usize,
) -> Result<usize, Error> {
    let (op, run) = last_literals_head(input, anchor, output, op)?;
    output[op..op + run].copy_from_slice(&input[anchor..]);
    Ok(op + run)
}

/// Writes the token and length of the final run of literals (`input[anchor..]`) once the
/// room for all of it is checked; returns where its bytes go and how many there are.
pub(crate) fn last_literals_head(
    input: &[u8],
    anchor: usize,
    output: &mut [u8],
    mut op: usize,
) -> Result<(usize, usize), Error> {
    let run = input.len() - anchor;
    if op + run + 1 + (run + 255 - 15) / 255 > output.len() {
        return Err(too_small(output));
    }
    if run >= 15 {
        output[op] = 15 << 4;
        op += 1;
        put_length(output, &mut op, run - 15);
    } else {
        #[expect(clippy::cast_possible_truncation, reason = "run < 15 here")]
        {
            output[op] = (run as u8) << 4;
        }
        op += 1;
    }
    Ok((op, run))
}

/// The compressor proper, for the block `input[start..]` (`start > 0` only for linked
/// blocks, whose matches may reach back before `start`). `LIMITED` is false when the output
/// has room for [`max_compressed_len`](crate::lz4::max_compressed_len) of the block, where
/// the per-sequence room checks cannot fail (liblz4's bound is the worst case; liblz4 skips
/// them there too) and are left out.
#[inline(always)]
fn compress_with<P: Positions, const LIMITED: bool>(
    table: &mut Table,
    input: &[u8],
    start: usize,
    output: &mut [u8],
    acceleration: u32,
) -> Result<usize, Error> {
    let end = input.len();
    let mut anchor = start;
    let mut op = 0;
    if end - start < MIN_LENGTH {
        return last_literals(input, anchor, output, op);
    }
    // A match may start at most here (exclusive bound plus one, as liblz4 counts it) and
    // extend up to `match_limit`.
    let mf_limit_plus_one = end - MF_LIMIT + 1;
    let match_limit = end - LAST_LITERALS;

    let mut ip = start;
    P::put(table, P::hash(input, ip), ip);
    ip += 1;
    let mut forward_h = P::hash(input, ip);

    'sequences: loop {
        // Find a match: hash ahead of the current position, skipping faster after misses.
        let mut forward = ip;
        let mut step = 1;
        let mut searches = acceleration << SKIP_TRIGGER;
        let mut candidate;
        loop {
            let h = forward_h;
            ip = forward;
            forward += step;
            step = (searches >> SKIP_TRIGGER) as usize;
            searches += 1;
            if forward > mf_limit_plus_one {
                break 'sequences;
            }
            candidate = P::get(table, h);
            forward_h = P::hash(input, forward);
            P::put(table, h, ip);
            if P::CHECK_DISTANCE && candidate + MAX_DISTANCE < ip {
                continue;
            }
            if read32(input, candidate) == read32(input, ip) {
                break;
            }
        }

        // Extend backwards over the pending literals.
        while ip > anchor && candidate > 0 && input[ip - 1] == input[candidate - 1] {
            ip -= 1;
            candidate -= 1;
        }

        // The literals.
        let literals = ip - anchor;
        if LIMITED && !literals_fit(op, literals, output.len()) {
            return Err(too_small(output));
        }
        let mut token_at = op;
        op += 1;
        if literals >= 15 {
            output[token_at] = 15 << 4;
            put_length(output, &mut op, literals - 15);
        } else {
            #[expect(clippy::cast_possible_truncation, reason = "literals < 15 here")]
            {
                output[token_at] = (literals as u8) << 4;
            }
        }
        // In 8-byte moves when the output has the room: up to 7 bytes past the literals
        // are written, and always overwritten (the offset, more sequences and the last
        // literals, at least 8 bytes, follow), so nothing past the returned length changes;
        // `ip + 7 < input.len()` (a match never starts in the last 12 bytes). Saves a
        // `memcpy` call per sequence.
        if op + literals + 8 <= output.len() {
            let mut i = 0;
            while i < literals {
                output[op + i..op + i + 8].copy_from_slice(&input[anchor + i..anchor + i + 8]);
                i += 8;
            }
        } else {
            output[op..op + literals].copy_from_slice(&input[anchor..ip]);
        }
        op += literals;

        loop {
            // The offset and the match length.
            #[expect(
                clippy::cast_possible_truncation,
                reason = "the distance check keeps offsets within 1..=65535"
            )]
            let offset = (ip - candidate) as u16;
            output[op..op + 2].copy_from_slice(&offset.to_le_bytes());
            op += 2;
            let len = common_prefix(input, candidate + MIN_MATCH, ip + MIN_MATCH, match_limit);
            ip += MIN_MATCH + len;
            if LIMITED && op + (1 + LAST_LITERALS) + (len + 240) / 255 > output.len() {
                return Err(too_small(output));
            }
            if len >= 15 {
                output[token_at] += 15;
                put_length(output, &mut op, len - 15);
            } else {
                #[expect(clippy::cast_possible_truncation, reason = "len < 15 here")]
                {
                    output[token_at] += len as u8;
                }
            }
            anchor = ip;
            if ip >= mf_limit_plus_one {
                break 'sequences;
            }

            // Fill the table two bytes back, then try for an immediate next match.
            P::put(table, P::hash(input, ip - 2), ip - 2);
            let h = P::hash(input, ip);
            candidate = P::get(table, h);
            P::put(table, h, ip);
            if (!P::CHECK_DISTANCE || candidate + MAX_DISTANCE >= ip)
                && read32(input, candidate) == read32(input, ip)
            {
                token_at = op;
                output[token_at] = 0;
                op += 1;
                continue;
            }
            ip += 1;
            forward_h = P::hash(input, ip);
            continue 'sequences;
        }
    }
    last_literals(input, anchor, output, op)
}

/// Reads a length extension starting at `*ip`.
#[inline(always)]
fn read_length(input: &[u8], ip: &mut usize) -> Result<usize, Error> {
    let mut len = 0usize;
    loop {
        let byte = *input.get(*ip).ok_or(Error::Truncated)?;
        *ip += 1;
        len = len
            .checked_add(usize::from(byte))
            .ok_or(Error::Corrupt(Corruption::Lz4LengthOverflow))?;
        if byte != 255 {
            return Ok(len);
        }
    }
}

/// Decodes `input` into `output[start..]`; `dict ++ output[..start]` is the history.
/// Returns the bytes written after `start`.
#[inline(always)]
pub(crate) fn decompress(
    input: &[u8],
    output: &mut [u8],
    start: usize,
    dict: &[u8],
) -> Result<usize, Error> {
    if start > output.len() {
        return Err(Error::InvalidParameter {
            what: "decode start is past the end of the output buffer",
        });
    }
    decompress_from(input, output, start, dict, 0, start)
}

/// [`decompress`] resumed at a sequence boundary: `ip` is where a sequence starts in
/// `input` and `op` where its output goes (a backend's fast loop decodes a prefix of the
/// block and hands the rest, and anything unusual, to this careful loop). Requires
/// `start <= op <= output.len()` and `ip <= input.len()`.
#[inline(always)]
pub(crate) fn decompress_from(
    input: &[u8],
    output: &mut [u8],
    start: usize,
    dict: &[u8],
    mut ip: usize,
    mut op: usize,
) -> Result<usize, Error> {
    let full = |output: &[u8]| Error::OutputTooSmall {
        needed: None,
        available: output.len() - start,
    };
    loop {
        let token = *input.get(ip).ok_or(Error::Truncated)?;
        ip += 1;

        // Literals.
        let mut literals = usize::from(token >> 4);
        if literals == 15 {
            literals += read_length(input, &mut ip)?;
        }
        let literals_end = ip.checked_add(literals).ok_or(Error::Truncated)?;
        if literals_end > input.len() {
            return Err(Error::Truncated);
        }
        if literals > output.len() - op {
            return Err(full(output));
        }
        copy_literals(&mut output[op..op + literals], &input[ip..literals_end]);
        ip = literals_end;
        op += literals;
        if ip == input.len() {
            return Ok(op - start);
        }

        // Match.
        if input.len() - ip < 2 {
            return Err(Error::Truncated);
        }
        let offset = usize::from(u16::from_le_bytes([input[ip], input[ip + 1]]));
        ip += 2;
        let mut len = usize::from(token & 15);
        if len == 15 {
            len += read_length(input, &mut ip)?;
        }
        len += MIN_MATCH;
        if offset == 0 {
            return Err(Corruption::Lz4OffsetZero.into());
        }
        if offset > op + dict.len() {
            return Err(Corruption::Lz4OffsetOutOfWindow {
                offset,
                history: op + dict.len(),
            }
            .into());
        }
        if len > output.len() - op {
            return Err(full(output));
        }
        if offset > op {
            // Starts in the dictionary.
            let from_dict = (offset - op).min(len);
            let at = dict.len() - (offset - op);
            output[op..op + from_dict].copy_from_slice(&dict[at..at + from_dict]);
            if from_dict < len {
                copy_match(output, op + from_dict, offset, len - from_dict);
            }
        } else {
            copy_match(output, op, offset, len);
        }
        op += len;
    }
}

/// Copies `src` into `dst` (same length) with fixed-size moves where the length allows, so
/// the common short runs do not pay for a call to `memcpy`.
#[inline(always)]
fn copy_literals(dst: &mut [u8], src: &[u8]) {
    let n = dst.len();
    if n <= 16 {
        if n >= 8 {
            dst[..8].copy_from_slice(&src[..8]);
            dst[n - 8..].copy_from_slice(&src[n - 8..]);
        } else if n >= 4 {
            dst[..4].copy_from_slice(&src[..4]);
            dst[n - 4..].copy_from_slice(&src[n - 4..]);
        } else {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = *s;
            }
        }
    } else {
        dst.copy_from_slice(src);
    }
}

/// Writes `len` bytes at `op`, each a copy of the byte `offset` before it (`1 <= offset <=
/// op`, `op + len <= output.len()`); only `output[op..op + len]` is written.
#[inline(always)]
fn copy_match(output: &mut [u8], op: usize, offset: usize, len: usize) {
    let src = op - offset;
    if offset >= len {
        // No overlap.
        let (history, rest) = output.split_at_mut(op);
        copy_literals(&mut rest[..len], &history[src..src + len]);
    } else if offset >= 8 {
        // Overlapping, but every 8-byte chunk reads bytes already written; the last chunk
        // ends exactly at the end of the match (re-writing a few bytes with their own
        // values).
        let mut done = 0;
        while done + 8 <= len {
            output.copy_within(src + done..src + done + 8, op + done);
            done += 8;
        }
        if done < len {
            output.copy_within(src + len - 8..src + len, op + len - 8);
        }
    } else {
        // A short period: copy the pattern, then twice as much, and so on. After each step
        // the bytes written are a whole number of periods, so copying from `src` again
        // continues the pattern; source and destination never overlap.
        let mut done = 0;
        while done < len {
            let n = (offset + done).min(len - done);
            output.copy_within(src..src + n, op + done);
            done += n;
        }
    }
}
