//! The DEFLATE compressor (RFC 1951): match finding, block splitting and block coding.
//!
//! The whole input is in memory, so positions are plain indices into it and no window is
//! copied. Input is cut into blocks where the symbol statistics change ([`Split`], blocks of
//! at least [`MIN_SPLIT`] bytes), after [`BLOCK_SOFT_MAX`] bytes or after [`MAX_SEQS`]
//! matches. Level 1 keeps no such statistics and ends a block after [`FAST_BLOCK_MAX`]
//! bytes, as libdeflate's level 1 does: on the test corpus that is faster and no larger
//! (the split statistics cost a few instructions per literal). For each block the parser
//! records sequences (a run of literals, then a match) and counts symbol frequencies; the
//! block is then written as stored (in pieces of up to 65 535 bytes), fixed-Huffman or
//! dynamic-Huffman, whichever is smallest by exact bit count, and its symbols are written
//! by [`write_seqs`].
//!
//! Parsers (levels as libdeflate's, whose design this follows; see its
//! `deflate_compress.c`, `ht_matchfinder.h`, `hc_matchfinder.h`):
//!
//! - level 0: stored blocks only;
//! - level 1: a hash table of 2^15 two-entry buckets keyed by a hash of 4 bytes, greedy
//!   parsing, matches of 4..=258 bytes, the longer of the two candidates (or the first one
//!   reaching 32 bytes); every position inside a match is inserted too;
//! - levels 2..=9: hash chains keyed by a hash of 4 bytes (2^16 heads, 32 768 16-bit
//!   links), plus a one-entry table of 3-byte hashes for length-3 matches within 8 KiB
//!   (updated only while the minimum match length is 3);
//!   greedy for levels 2–4, lazy evaluation for 5–9 (one position ahead, two for 8–9, with
//!   libdeflate's length-against-distance score); chain depth and "nice" length grow with
//!   the level, and the minimum match length rises when the block uses few distinct
//!   literals ([`min_len_for`]).
//!
//! Levels 1..=6 step over incompressible data: after 64 positions without a match only
//! every second position is searched, after 128 every third, and so on (LZ4's
//! acceleration). On random data this is several times faster; on the test corpus the
//! sizes change by a few bytes per megabyte.
//!
//! Table latency: the tables (128 KiB for level 1, 256 KiB with the links for the chains)
//! live in L2, and a search cannot start before its bucket or head arrives. Level 1 reads
//! the next position's bucket one position early (a plain load whose value the next step
//! uses, corrected if both positions share the bucket), so the load starts before the
//! current position's compares and branches resolve (this does not change the output).
//! The chain parser does no such touch in safe code (a plain load measured slower there);
//! a backend may prefetch the next search's table entries through
//! [`FastParse::prefetch_heads`] (`Avx2` does) and walk the chains its own way through
//! [`FastParse::walk`], with [`walk_safe`]'s result.
//!
//! Hash tables shrink with the input (down to 2^10 entries) so that a small input only
//! clears a small table (and only as many chain links as it has bytes, up to 32 768): the
//! per-call setup is proportional to the input, and results never depend on an earlier
//! call. Table entries hold positions modulo 2^16; a candidate's bytes are always compared
//! before use. For the hash chains, a pass every 24 576 positions ([`age_tables`]) marks
//! the heads and links that have left the window, so no entry ever wraps around into a
//! false chain; level 1's wrapped entries cost only a wasted comparison.

#![forbid(unsafe_code)]

use super::bitwriter::{BitWriter, FastBits};
use super::huffman::{build_lengths, canonical_codes};
use crate::Error;

/// Most matches per block.
pub(crate) const MAX_SEQS: usize = 16_384;
/// No match starts once a block holds this many input bytes.
pub(crate) const BLOCK_SOFT_MAX: usize = 200_000;
/// Level 1 ends a block after this many bytes (libdeflate's `FAST_SOFT_MAX_BLOCK_LENGTH`).
pub(crate) const FAST_BLOCK_MAX: usize = 65_535;
/// Blocks shorter than this are not ended early by the statistics check ([`Split`]).
pub(crate) const MIN_SPLIT: usize = 16_384;
/// Symbols observed between two statistics checks.
const OBSERVATIONS_PER_CHECK: u32 = 512;
pub(crate) const WINDOW: usize = 32_768;
pub(crate) const MAX_MATCH: usize = 258;
/// log2 of the largest hash table (in buckets or heads).
pub(crate) const HASH_BITS_MAX: u32 = 15;
const HASH_BITS_MIN: u32 = 10;
/// Hash values are below `1 << bits`; masking with the largest table's mask as well lets
/// the compiler see that every index is in bounds.
pub(crate) const HASH_MASK: usize = (1 << HASH_BITS_MAX) - 1;
/// The chain heads use one hash bit more than the other tables (fewer collisions in the
/// chains); the 3-byte table follows them.
const HASH4_MASK: usize = (2 << HASH_BITS_MAX) - 1;
const HASH3_BASE: usize = 2 << HASH_BITS_MAX;
/// What a cleared table entry holds: positions are stored modulo 2^16, and this value is
/// never a valid candidate for positions below 32 769 (it would be further back than the
/// start of the data). For the chain parser, [`age_tables`] keeps every entry exact from
/// then on; level 1's buckets can later name a wrong position, which is harmless there: a
/// candidate's bytes are always compared before it is used, so a match is always real and
/// within the window; only which matches are found depends on it, and that depends on the
/// input alone.
const EMPTY: u16 = 32_769;
/// Positions the chain parser moves between two [`age_tables`] passes, plus one step (at
/// most [`MAX_SKIP`], or a match): 28 672 at most, below the 32 768 that would let an
/// entry's 16-bit age wrap before the next pass.
const AGE_STEP: usize = 24_576;
/// Longest step over incompressible data (see [`SKIP_SHIFT`]).
const MAX_SKIP: usize = 4_096;
const _: () = assert!(AGE_STEP + MAX_SKIP < WINDOW && MAX_MATCH + 2 < MAX_SKIP);

const NUM_LITLEN: usize = 286;
const NUM_DIST: usize = 30;
const NUM_PRECODE: usize = 19;

/// One parsed sequence: `litrun` literals, then a match of `len` bytes at `dist` (`len` 0:
/// literals only, the block's last sequence). `litrun` holds the run in its low 24 bits
/// (a block is shorter than 2^24 bytes) and the distance's slot in its high 8, found
/// once by the parser (which counts it) and not again by [`write_seqs`].
#[derive(Clone, Copy, Default)]
pub(crate) struct Seq {
    litrun: u32,
    len: u16,
    dist: u16,
}

impl Seq {
    const DEFAULT: Seq = Seq {
        litrun: 0,
        len: 0,
        dist: 0,
    };
}

const _: () = assert!(BLOCK_SOFT_MAX + MAX_MATCH < 1 << 24 && FAST_BLOCK_MAX < BLOCK_SOFT_MAX);

/// The compressor state: see [`Deflater`](super::Deflater).
#[derive(Clone)]
pub(crate) struct State {
    /// Level 1: 2^15 two-entry buckets. Levels 2..=9: 2^15 chain heads (4-byte hash), then
    /// 2^15 entries of the 3-byte table.
    table: [u16; 3 << HASH_BITS_MAX],
    /// The previous position (mod 2^16) with the same 4-byte hash, by position mod 32 768;
    /// one exactly 32 768 back when there is none within the window (see [`link`]).
    prev: [u16; WINDOW],
    seqs: [Seq; MAX_SEQS + 1],
    litlen_freq: [u32; NUM_LITLEN],
    dist_freq: [u32; NUM_DIST],
    /// The position from which the chain parser's next [`age_tables`] pass is due.
    age_next: usize,
    /// Whether blocks are limited to the fixed code and stored
    /// ([`Strategy::Fixed`](super::Strategy::Fixed)).
    pub(crate) fixed: bool,
}

impl State {
    pub(crate) const fn new() -> Self {
        State {
            age_next: 0,
            fixed: false,
            table: [EMPTY; 3 << HASH_BITS_MAX],
            prev: [0; WINDOW],
            seqs: [Seq {
                litrun: 0,
                len: 0,
                dist: 0,
            }; MAX_SEQS + 1],
            litlen_freq: [0; NUM_LITLEN],
            dist_freq: [0; NUM_DIST],
        }
    }
}

/// Where to end a block: libdeflate's heuristic. Literals are sorted into 8 kinds (top two
/// bits and the low bit) and matches into 2 (shorter than 9 or not); every 512 symbols the
/// new kinds' distribution is compared with the block's so far, and a large enough
/// difference (the sum of absolute differences of the two distributions above about 0.39,
/// a threshold that falls as the block grows) ends the block, so that each block's Huffman
/// codes fit its data.
#[derive(Clone, Copy)]
struct Split {
    seen: [u32; 10],
    new: [u32; 10],
    num_seen: u32,
    num_new: u32,
}

impl Split {
    const fn new() -> Self {
        Split {
            seen: [0; 10],
            new: [0; 10],
            num_seen: 0,
            num_new: 0,
        }
    }

    #[inline(always)]
    fn literal(&mut self, b: u8) {
        self.new[usize::from((b >> 5) & 6 | b & 1)] += 1;
        self.num_new += 1;
    }

    #[inline(always)]
    fn matched(&mut self, len: usize) {
        self.new[8 + usize::from(len >= 9)] += 1;
        self.num_new += 1;
    }

    /// Whether to end the block after `block_len` bytes with `left` input bytes after it.
    #[inline(always)]
    fn should_end(&mut self, block_len: usize, left: usize) -> bool {
        self.num_new >= OBSERVATIONS_PER_CHECK
            && block_len >= MIN_SPLIT
            && left >= MIN_SPLIT
            && self.check(block_len)
    }

    #[inline(never)]
    fn check(&mut self, block_len: usize) -> bool {
        if self.num_seen > 0 {
            let (n_seen, n_new) = (u64::from(self.num_seen), u64::from(self.num_new));
            let delta: u64 = self
                .seen
                .iter()
                .zip(&self.new)
                .map(|(&s, &n)| (u64::from(n) * n_seen).abs_diff(u64::from(s) * n_new))
                .sum();
            if delta + (block_len as u64 / 4096) * n_seen >= n_new * 200 / 512 * n_seen {
                return true;
            }
        }
        for (s, n) in self.seen.iter_mut().zip(&mut self.new) {
            *s += *n;
            *n = 0;
        }
        self.num_seen += self.num_new;
        self.num_new = 0;
        false
    }
}

/// Chain-parser settings per level: (chain depth, nice length, positions looked ahead).
const CHAIN_PARAMS: [(u32, usize, u8); 10] = [
    (0, 0, 0),
    (0, 0, 0),
    (6, 10, 0),
    (12, 14, 0),
    (16, 30, 0),
    (16, 30, 1),
    (35, 65, 1),
    (100, 128, 1),
    (300, 258, 2),
    (600, 258, 2),
];

/// Whether a match of `next_len` at `next_dist`, `ahead` positions later, beats the current
/// one (libdeflate's score: 4 per byte of length against about one per doubling of the
/// distance, with a margin for the literals it costs).
#[inline(always)]
fn better(cur_len: usize, cur_dist: usize, next_len: usize, next_dist: usize, ahead: u8) -> bool {
    let bsr = |d: usize| usize::BITS - 1 - (d | 1).leading_zeros();
    let margin = if ahead == 1 { 2 } else { 6 };
    next_len >= cur_len
        && 4 * (next_len - cur_len) as i64 + i64::from(bsr(cur_dist)) - i64::from(bsr(next_dist))
            > margin
}
/// Level 1: the search step grows by one every `1 << SKIP_SHIFT` positions without a match.
pub(crate) const SKIP_SHIFT: u32 = 6;
/// Level 1: stop looking at the second bucket entry once a match is this long.
pub(crate) const FAST_NICE: usize = 32;

// --- symbol tables -------------------------------------------------------------------

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Length slot (symbol - 257) by match length 0..=258.
#[expect(clippy::cast_possible_truncation, reason = "slots are below 29")]
const LEN_SLOT: [u8; MAX_MATCH + 1] = {
    let mut t = [0u8; MAX_MATCH + 1];
    let mut slot = 0;
    while slot < 29 {
        let base = LENGTH_BASE[slot] as usize;
        let end = if slot == 28 {
            MAX_MATCH + 1
        } else {
            base + (1 << LENGTH_EXTRA[slot])
        };
        let mut l = base;
        while l < end && l <= MAX_MATCH {
            t[l] = slot as u8;
            l += 1;
        }
        slot += 1;
    }
    t
};

/// Distance slot by `dist - 1` for distances 1..=256, then by `(dist - 1) >> 7` for
/// larger ones (entries 256.. of the table).
#[expect(clippy::cast_possible_truncation, reason = "slots are below 30")]
const DIST_SLOT: [u8; 512] = {
    let mut t = [0u8; 512];
    let mut slot = 0;
    while slot < 30 {
        let base = DIST_BASE[slot] as usize;
        let end = base + (1 << DIST_EXTRA[slot]);
        let mut d = base;
        while d < end {
            if d <= 256 {
                t[d - 1] = slot as u8;
            } else {
                t[256 + ((d - 1) >> 7)] = slot as u8;
            }
            d += if d <= 256 { 1 } else { 128 };
        }
        slot += 1;
    }
    t
};

#[inline(always)]
fn dist_slot(dist: usize) -> usize {
    let i = if dist <= 256 {
        dist - 1
    } else {
        256 + ((dist - 1) >> 7)
    };
    usize::from(DIST_SLOT[i & 511])
}

// --- helpers -------------------------------------------------------------------------

#[inline(always)]
fn read32(data: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&data[at..at + 4]);
    u32::from_le_bytes(w)
}

#[inline(always)]
fn read64(data: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&data[at..at + 8]);
    u64::from_le_bytes(w)
}

/// How many bytes at `a` and `b` agree (`a < b`), from `start`, up to `max`
/// (`b + max <= data.len()`).
#[inline(always)]
fn match_len(data: &[u8], a: usize, b: usize, start: usize, max: usize) -> usize {
    let mut len = start;
    while len + 8 <= max {
        let x = read64(data, a + len) ^ read64(data, b + len);
        if x != 0 {
            return len + (x.trailing_zeros() / 8) as usize;
        }
        len += 8;
    }
    while len < max && data[a + len] == data[b + len] {
        len += 1;
    }
    len
}

/// [`match_len`] for level 1: both ranges are taken as slices first, which leaves fewer
/// bounds checks in level 1's loop (in the chain parser's walk it measured slower).
#[inline(always)]
fn match_len_sliced(data: &[u8], a: usize, b: usize, start: usize, max: usize) -> usize {
    let (Some(x), Some(y)) = (data.get(a..a + max), data.get(b..b + max)) else {
        return start;
    };
    let mut len = start;
    while len + 8 <= y.len() {
        let d = read64(x, len) ^ read64(y, len);
        if d != 0 {
            return len + (d.trailing_zeros() / 8) as usize;
        }
        len += 8;
    }
    while len < y.len() && x[len] == y[len] {
        len += 1;
    }
    len
}

#[inline(always)]
pub(crate) fn hash4(x: u32, bits: u32) -> usize {
    (x.wrapping_mul(0x1E35_A7BD) >> (32 - bits)) as usize
}

#[inline(always)]
fn hash3(x: u32, bits: u32) -> usize {
    ((x << 8).wrapping_mul(0x9E37_79B1) >> (32 - bits)) as usize
}

fn hash_bits(len: usize) -> u32 {
    let mut bits = HASH_BITS_MIN;
    while bits < HASH_BITS_MAX && (1usize << bits) < len {
        bits += 1;
    }
    bits
}

#[expect(
    clippy::cast_possible_truncation,
    reason = "positions are kept modulo 2^16; candidates are verified"
)]
#[inline(always)]
pub(crate) fn pos16(pos: usize) -> u16 {
    pos as u16
}

impl State {
    /// The data moved down by `by` bytes (the streaming window's slide): positions held
    /// modulo 2^16 keep their meaning if `by` is a multiple of 2^16; the pass schedule
    /// moves along.
    pub(crate) fn slid(&mut self, by: usize) {
        self.age_next = self.age_next.saturating_sub(by);
    }
}

/// Re-marks every chain-parser entry (the heads, the 3-byte table and the chain links)
/// further than [`WINDOW`] behind `now` as exactly `WINDOW + 1` behind it.
///
/// Entries hold positions modulo 2^16, so an entry 2^16 or more positions old would look
/// recent again: its chain walk would follow links of other hashes for the whole search
/// depth, comparing bytes that almost never match (on logs such walks cost a fifth of
/// level 6's time). Passes come less than `S` = [`AGE_STEP`] + one step (28 672) apart,
/// so every age stays exact: after a pass every entry is at most `WINDOW + 1` old, and
/// until the next it ages by less than `S` (below 61 441, short of 2^16). A link is its
/// position's head when stored, no older than that; a walk reads it only while the
/// position is in the window, and by then its age is again below `WINDOW + 1 + S` (not
/// re-marked at the last pass: it was within the window then; re-marked: `WINDOW + 1`
/// then). So a link is valid exactly when within the window, with no clamp when it is
/// stored (which cost about 5 instructions per position: 4 % of level 6's on the mixed
/// corpus, callgrind). Which entries are valid depends on positions only, never on when
/// the passes ran, so the output does not depend on how a stream was chunked.
fn age_tables(
    table: &mut [u16; 3 << HASH_BITS_MAX],
    prev: &mut [u16; WINDOW],
    bits: u32,
    now: u16,
    parser: &impl FastParse,
) {
    parser.age(&mut table[..2 << bits], now);
    parser.age(&mut table[HASH3_BASE..HASH3_BASE + (1 << bits)], now);
    parser.age(prev, now);
}

/// One [`age_tables`] pass over `entries`: a compare and a select per entry, which
/// compilers vectorize (a backend may compile it for wider vectors: see
/// [`FastParse::age`]).
#[inline(always)]
pub(crate) fn age_safe(entries: &mut [u16], now: u16) {
    #[expect(clippy::cast_possible_truncation, reason = "WINDOW < 2^16")]
    let window = WINDOW as u16;
    let stale = now.wrapping_sub(window + 1);
    for e in entries {
        let v = *e;
        *e = if now.wrapping_sub(v) > window {
            stale
        } else {
            v
        };
    }
}

// --- entry point ---------------------------------------------------------------------

/// Compresses `input` as a raw DEFLATE stream into `output`; see
/// [`deflate_raw`](super::deflate_raw). Level 1 runs `parser`'s block parser.
pub(crate) fn deflate(
    state: &mut State,
    level: u32,
    input: &[u8],
    output: &mut [u8],
    parser: &impl FastParse,
) -> Result<usize, Error> {
    check_level(level)?;
    let available = output.len();
    let mut bw = BitWriter::new(output);
    compress_blocks(
        state,
        level,
        input,
        0,
        true,
        Some(hash_bits(input.len())),
        &mut bw,
        parser,
    );
    bw.finish().ok_or(Error::OutputTooSmall {
        needed: None,
        available,
    })
}

/// The error for a level above 9.
pub(crate) fn check_level(level: u32) -> Result<(), Error> {
    if level > 9 {
        return Err(Error::InvalidParameter {
            what: "DEFLATE compression level above 9",
        });
    }
    Ok(())
}

/// Writes `data[start..]` as DEFLATE blocks into `bw` (the last one final if `last`; at
/// least one block, empty if the range is). Matches may reach back into `data[..start]`:
/// the streaming encoder passes its window, whose earlier bytes the tables already index.
/// `fresh` (the hash bits to use) starts over: the tables are cleared for that many bits;
/// `None` continues with the tables as the previous call left them (at the full
/// [`HASH_BITS_MAX`]), which is only sound when the positions they hold still mean the same
/// bytes: the streaming encoder slides its window by multiples of 2^16 for that, since
/// positions are kept modulo 2^16.
#[expect(
    clippy::too_many_arguments,
    reason = "the stream position, the table state and the parser, each needed"
)]
pub(crate) fn compress_blocks(
    state: &mut State,
    level: u32,
    data: &[u8],
    start: usize,
    last: bool,
    fresh: Option<u32>,
    bw: &mut BitWriter<'_>,
    parser: &impl FastParse,
) {
    if level == 0 {
        write_stored(bw, &data[start..], last);
        return;
    }
    let bits = fresh.unwrap_or(HASH_BITS_MAX);
    if let Some(bits) = fresh {
        state.age_next = start + AGE_STEP;
        state.table[..2 << bits].fill(EMPTY);
        if level > 1 {
            state.table[HASH3_BASE..HASH3_BASE + (1 << bits)].fill(EMPTY);
            // A chain can step onto a position that was never inserted (a wrapped 16-bit
            // entry, or one skipped over); its link must then come from this stream. A
            // one-shot call (`last`) only ever looks at the first `data.len()` links.
            let links = if last { data.len().min(WINDOW) } else { WINDOW };
            state.prev[..links].fill(0);
        }
    }
    let mut pos = start;
    loop {
        state.litlen_freq.fill(0);
        state.dist_freq.fill(0);
        let block_start = pos;
        let nseqs;
        (pos, nseqs) = if level == 1 {
            parse_fast(state, data, block_start, bits, parser)
        } else {
            parse_chain(
                state,
                data,
                block_start,
                bits,
                CHAIN_PARAMS[level as usize],
                level <= 6,
                parser,
            )
        };
        let end = pos >= data.len();
        write_block(
            bw,
            &data[block_start..pos],
            &state.seqs[..nseqs],
            &mut state.litlen_freq,
            &state.dist_freq,
            last && end,
            state.fixed,
        );
        if bw.overflowed() || end {
            break;
        }
    }
}

// --- parsers -------------------------------------------------------------------------

/// The state a [`Recorder`] writes into, passed to the parsers apart from the match
/// finder's tables; each parser builds its recorder as a local.
pub(crate) type RecorderParts<'s> = (
    &'s mut [Seq; MAX_SEQS + 1],
    &'s mut [u32; NUM_LITLEN],
    &'s mut [u32; NUM_DIST],
);

/// What a parser records for the block it parses: the sequences, the symbol counts, and the
/// statistics that decide where the block ends. Kept apart from the match finder's tables
/// (and, for the statistics, in the parser's own locals) so the compiler can see that the
/// tables' stores never touch the counters and keep those in registers.
pub(crate) struct Recorder<'s> {
    seqs: &'s mut [Seq; MAX_SEQS + 1],
    litlen_freq: &'s mut [u32; NUM_LITLEN],
    dist_freq: &'s mut [u32; NUM_DIST],
    split: Split,
    nseqs: usize,
    litrun: u32,
}

impl<'s> Recorder<'s> {
    pub(crate) fn new(
        seqs: &'s mut [Seq; MAX_SEQS + 1],
        litlen_freq: &'s mut [u32; NUM_LITLEN],
        dist_freq: &'s mut [u32; NUM_DIST],
    ) -> Self {
        Recorder {
            seqs,
            litlen_freq,
            dist_freq,
            split: Split::new(),
            nseqs: 0,
            litrun: 0,
        }
    }

    /// Records a literal run ending in a match and counts its symbols.
    #[inline(always)]
    pub(crate) fn matched(&mut self, len: usize, dist: usize) {
        self.split.matched(len);
        self.matched_unsplit(len, dist);
    }

    #[inline(always)]
    pub(crate) fn literal(&mut self, b: u8) {
        self.split.literal(b);
        self.literal_unsplit(b);
    }

    /// Whether the block should end before `pos` (`start` its first byte, `len` the data).
    #[inline(always)]
    pub(crate) fn should_end(&mut self, pos: usize, start: usize, len: usize) -> bool {
        self.nseqs >= MAX_SEQS || self.split.should_end(pos - start, len - pos)
    }

    /// [`literal`](Self::literal) without the block-splitting statistics (level 1).
    #[inline(always)]
    pub(crate) fn literal_unsplit(&mut self, b: u8) {
        self.litlen_freq[usize::from(b)] += 1;
        self.litrun += 1;
    }
    /// [`matched`](Self::matched) without the block-splitting statistics (level 1).
    #[inline(always)]
    pub(crate) fn matched_unsplit(&mut self, len: usize, dist: usize) {
        let slot = dist_slot(dist);
        #[expect(clippy::cast_possible_truncation, reason = "len <= 258, dist <= 32768")]
        if let Some(s) = self.seqs.get_mut(self.nseqs) {
            *s = Seq {
                litrun: self.litrun | (slot as u32) << 24,
                len: len as u16,
                dist: dist as u16,
            };
        }
        self.nseqs += 1;
        self.litrun = 0;
        self.litlen_freq[257 + usize::from(LEN_SLOT[len.min(MAX_MATCH)])] += 1;
        self.dist_freq[slot] += 1;
    }
    /// Whether the block has as many matches as it can hold.
    #[inline(always)]
    pub(crate) fn full(&self) -> bool {
        self.nseqs >= MAX_SEQS
    }

    /// Ends the block: the trailing literals become the last sequence. Returns the count.
    pub(crate) fn finish(self) -> usize {
        if let Some(s) = self.seqs.get_mut(self.nseqs) {
            *s = Seq {
                litrun: self.litrun,
                len: 0,
                dist: 0,
            };
        }
        self.nseqs + 1
    }
}

/// Level 1: two-entry hash buckets, greedy. Returns (end of block, sequences).
fn parse_fast(
    state: &mut State,
    data: &[u8],
    start: usize,
    bits: u32,
    parser: &impl FastParse,
) -> (usize, usize) {
    let State {
        table,
        seqs,
        litlen_freq,
        dist_freq,
        ..
    } = state;
    parser.parse_fast(table, (seqs, litlen_freq, dist_freq), data, start, bits)
}

/// Level 1's block parser: [`parse_fast_with`] ([`SafeParse`]), or a backend's version of
/// the same algorithm step for step (`Avx2` runs it on raw pointers), which must record the
/// same sequences: the compressed bytes are the same on every backend.
///
/// The two hooks after it serve the hash-chain levels (2..=9), whose parser is shared
/// code: a backend may walk a chain its own way ([`walk`](Self::walk), which must give
/// [`walk_safe`]'s result) and may prefetch the table entries the next search reads
/// ([`prefetch_heads`](Self::prefetch_heads), a hint that changes no result).
pub(crate) trait FastParse {
    /// Parses a block from `start` as [`parse_fast_with`] does; returns the end of the
    /// block and the number of sequences recorded.
    fn parse_fast(
        &self,
        table: &mut [u16; 3 << HASH_BITS_MAX],
        parts: RecorderParts<'_>,
        data: &[u8],
        start: usize,
        bits: u32,
    ) -> (usize, usize);

    /// Walks one hash chain: [`walk_safe`]'s result, by any route.
    #[inline(always)]
    fn walk(&self, w: &Walk<'_>) -> (usize, usize) {
        walk_safe(w)
    }

    /// A hint that a search at `slots`' position comes soon, with the 3-byte table in
    /// use if `use3`. By default, nothing.
    #[inline(always)]
    fn prefetch_heads(&self, _table: &[u16; 3 << HASH_BITS_MAX], _slots: &Slots, _use3: bool) {}

    /// Ages `entries` as [`age_safe`] does, by any route.
    #[inline(always)]
    fn age(&self, entries: &mut [u16], now: u16) {
        age_safe(entries, now);
    }
}

/// The portable level 1 parser, [`parse_fast_with`].
pub(crate) struct SafeParse;

impl FastParse for SafeParse {
    #[inline]
    fn parse_fast(
        &self,
        table: &mut [u16; 3 << HASH_BITS_MAX],
        parts: RecorderParts<'_>,
        data: &[u8],
        start: usize,
        bits: u32,
    ) -> (usize, usize) {
        parse_fast_with(table, parts, data, start, bits)
    }
}

/// [`parse_fast`] over the match finder's table and the recorder, passed apart so the
/// compiler knows the table's stores leave the recorder's counters alone.
#[inline(never)]
fn parse_fast_with(
    table: &mut [u16; 3 << HASH_BITS_MAX],
    (seqs, litlen_freq, dist_freq): RecorderParts<'_>,
    data: &[u8],
    start: usize,
    bits: u32,
) -> (usize, usize) {
    let mut rec = Recorder::new(seqs, litlen_freq, dist_freq);
    let len = data.len();
    // Positions searched since the last match.
    let mut misses = 0usize;
    let block_limit = len.min(start + FAST_BLOCK_MAX);
    let hash_end = len.saturating_sub(3);
    let mut pos = start;
    // The bucket of position `ahead_pos`, read one position early: the load then starts
    // before the current position's compares and branches resolve instead of after them.
    let mut ahead_pos = usize::MAX;
    let mut ahead = (0u16, 0u16);
    while pos < block_limit && !rec.full() {
        if pos >= hash_end {
            rec.literal_unsplit(data[pos]);
            pos += 1;
            continue;
        }
        let cur = read32(data, pos);
        let h = hash4(cur, bits) & HASH_MASK;
        let (c0, c1) = if ahead_pos == pos {
            ahead
        } else {
            (table[2 * h], table[2 * h + 1])
        };
        let p = pos16(pos);
        if pos + 5 <= len {
            let hn = hash4(read32(data, pos + 1), bits) & HASH_MASK;
            ahead = if hn == h {
                (p, c0)
            } else {
                (table[2 * hn], table[2 * hn + 1])
            };
            ahead_pos = pos + 1;
        }
        table[2 * h + 1] = c0;
        table[2 * h] = p;
        let max = (len - pos).min(MAX_MATCH);
        let mut best_len = 0;
        let mut best_dist = 0;
        let d0 = p.wrapping_sub(c0) as usize;
        if d0.wrapping_sub(1) < WINDOW && d0 <= pos && read32(data, pos - d0) == cur {
            best_len = match_len_sliced(data, pos - d0, pos, 4, max);
            best_dist = d0;
        }
        // The second entry can only be longer if it agrees with the first one's match at
        // its last 4 bytes (and at its first 4), as in the chain walk (libdeflate checks
        // the same); best_len < max keeps that read in bounds.
        if best_len < FAST_NICE.min(max) {
            let d1 = p.wrapping_sub(c1) as usize;
            let c = pos.wrapping_sub(d1);
            if d1.wrapping_sub(1) < WINDOW
                && d1 <= pos
                && (best_len < 4
                    || read32(data, c + best_len - 3) == read32(data, pos + best_len - 3))
                && read32(data, c) == cur
            {
                let l = match_len_sliced(data, c, pos, 4, max);
                if l > best_len {
                    best_len = l;
                    best_dist = d1;
                }
            }
        }
        if best_len >= 4 {
            rec.matched_unsplit(best_len, best_dist);
            misses = 0;
            let end = pos + best_len;
            let stop = end.min(hash_end);
            // The words are read through `windows(4)`: no bounds checks in the loop.
            if let Some(bytes) = data.get(pos + 1..stop + 3).filter(|_| stop > pos + 1) {
                for (q, w) in (pos + 1..).zip(bytes.windows(4)) {
                    let h = hash4(u32::from_le_bytes([w[0], w[1], w[2], w[3]]), bits) & HASH_MASK;
                    table[2 * h + 1] = table[2 * h];
                    table[2 * h] = pos16(q);
                }
            }
            pos = end;
        } else {
            // After a long run without matches (incompressible data), look at fewer
            // positions: one in 2 after 64 misses, one in 3 after 128, and so on (LZ4's
            // acceleration). The bytes in between are literals, not inserted.
            if misses < 1 << SKIP_SHIFT {
                // The common case: a single literal (and no slice or loop for it).
                rec.literal_unsplit(cur.to_le_bytes()[0]);
                pos += 1;
            } else {
                let step = (1 + (misses >> SKIP_SHIFT)).min(len - pos);
                for &b in &data[pos..pos + step] {
                    rec.literal_unsplit(b);
                }
                pos += step;
            }
            misses += 1;
        }
    }
    (pos, rec.finish())
}

/// One chain walk of [`Chains::find`]: the search at `pos` from the chain's first
/// candidate `head`, for a match longer than `best`. The finder guarantees `4 <= max`,
/// `pos + max <= data.len()` and `best.0 < max`, which is what keeps a backend's
/// unchecked reads (see [`FastParse::walk`]) inside `data`: every candidate read is behind
/// `pos` and ends before `pos + max`.
pub(crate) struct Walk<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) prev: &'a [u16; WINDOW],
    pub(crate) pos: usize,
    /// `pos` modulo 2^16, as the chains hold positions.
    pub(crate) p: u16,
    /// The chain's first candidate, modulo 2^16.
    pub(crate) head: u16,
    /// Candidates to look at, at most.
    pub(crate) depth: u32,
    /// The match to beat: its length and distance (0: none).
    pub(crate) best: (usize, usize),
    /// The first 4 bytes at `pos`.
    pub(crate) x: u32,
    /// The longest match allowed here.
    pub(crate) max: usize,
    /// A match this long ends the walk.
    pub(crate) nice: usize,
}

/// The chain walk in safe code: follows the links as positions (`c16`, the next one a
/// load at the current one's slot, so the loop-carried chain is a load and a mask); each
/// candidate's distance `d` comes from it apart from that chain. The walk stops at a
/// candidate out of the window (every entry's age is exact modulo 2^16: see
/// [`age_tables`]), before the data, after `depth` candidates, or at a match of
/// `nice` bytes. Returns the longest match found `(len, dist)`, `best` if none is longer.
///
/// Against links held as distances (a load, an add, a subtraction and a mask per step),
/// this and the 3-byte early exit in [`Chains::find`] made level 6 6-12 % faster on 2 MiB
/// of each corpus kind (the early exit alone 0-3 %; AMD EPYC Zen 3 KVM guest, 2 cores,
/// shared; runs interleaved in one process, best of 20), with the same output and about
/// 2 % more instructions (callgrind). Counted on that corpus, the walk takes about as many
/// steps as libdeflate's level 6 (on binary records 6 % more, 16.4 M against 15.5 M in two
/// calls; part of that is the walk going round again, below).
#[inline(always)]
pub(crate) fn walk_safe(w: &Walk<'_>) -> (usize, usize) {
    let &Walk {
        data,
        prev,
        pos,
        p,
        head,
        depth,
        best: (mut best_len, mut best_dist),
        x,
        max,
        nice,
    } = w;
    let mut c16 = head;
    let mut depth = depth;
    loop {
        let d = p.wrapping_sub(c16) as usize;
        if d.wrapping_sub(1) >= WINDOW || d > pos || depth == 0 {
            break;
        }
        let c = pos - d;
        // Only a candidate that agrees with the current best at its last 4 bytes (and
        // at the first 4) can be longer. best_len < max <= data.len() - pos.
        let hit = if best_len < 4 {
            read32(data, c) == x
        } else {
            read32(data, c + best_len - 3) == read32(data, pos + best_len - 3)
                && read32(data, c) == x
        };
        if hit {
            let l = match_len(data, c, pos, 4, max);
            if l > best_len {
                best_len = l;
                best_dist = d;
                if l >= nice {
                    break;
                }
            }
        }
        // A candidate exactly WINDOW back shares its slot with `pos`, just linked
        // above: the walk then goes round again from the head. That only repeats
        // candidates already compared (a match must be strictly longer to count), so
        // the result is the one the walk had; it costs depth, not correctness. (Linking
        // `pos` after its walk ends such walks there, with fewer steps and the same
        // bytes, but measured slower: see `Avx2`'s walk.)
        c16 = prev[usize::from(c16) % WINDOW];
        depth -= 1;
    }
    (best_len, best_dist)
}

/// A position's first 4 bytes and the table entries a search there reads first (the
/// 4-byte hash's chain head, the 3-byte table's entry), computed once: by the search or
/// the insertions just before it, which hand them on and let the backend prefetch the
/// entries ([`FastParse::prefetch_heads`]), and read by the search at `pos` if it comes
/// next (libdeflate's `next_hashes`). Before, the position was hashed twice, once for the
/// prefetch and once for the search.
#[derive(Clone, Copy)]
pub(crate) struct Slots {
    /// The position, `usize::MAX` for none.
    pos: usize,
    x: u32,
    pub(crate) h4: usize,
    pub(crate) h3: usize,
}

impl Slots {
    const NONE: Slots = Slots {
        pos: usize::MAX,
        x: 0,
        h4: 0,
        h3: HASH3_BASE,
    };

    /// The slots of `pos`, whose first 4 bytes are `x` (hash width `bits`).
    #[inline(always)]
    fn of(pos: usize, x: u32, bits: u32) -> Slots {
        Slots {
            pos,
            x,
            h4: hash4(x, bits + 1) & HASH4_MASK,
            h3: HASH3_BASE + (hash3(x, bits) & HASH_MASK),
        }
    }

    /// The slots of `pos` (hash width `bits`); none when `pos` has fewer than 4 bytes.
    #[inline(always)]
    fn at(data: &[u8], pos: usize, bits: u32) -> Slots {
        match data.get(pos..pos + 4) {
            Some(w) => Slots::of(pos, u32::from_le_bytes([w[0], w[1], w[2], w[3]]), bits),
            None => Slots::NONE,
        }
    }
}

/// The hash-chain match finder (levels 2..=9).
struct Chains {
    bits: u32,
    nice: usize,
}

impl Chains {
    /// Inserts the positions `from..to` (each with 4 readable bytes) without searching.
    /// The positions' words are read through `windows(4)`, so the loop has no bounds
    /// checks, and `USE3` is a constant, so it has no test of it either.
    #[inline(always)]
    #[expect(
        clippy::too_many_arguments,
        reason = "the match finder's tables and the slots handed on, passed apart"
    )]
    fn insert_range<const USE3: bool>(
        &self,
        parser: &impl FastParse,
        table: &mut [u16; 3 << HASH_BITS_MAX],
        prev: &mut [u16; WINDOW],
        data: &[u8],
        from: usize,
        to: usize,
        slots: &mut Slots,
    ) {
        if from < to
            && let Some(bytes) = data.get(from..to + 3)
        {
            for (q, w) in (from..).zip(bytes.windows(4)) {
                let x = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                self.insert(table, prev, x, q, USE3);
            }
        }
        // The next search is at `to` (the match's end).
        *slots = Slots::at(data, to, self.bits);
        parser.prefetch_heads(table, slots, USE3);
    }

    /// Inserts `pos`, whose first 4 bytes are `x`, without searching.
    #[inline(always)]
    fn insert(
        &self,
        table: &mut [u16; 3 << HASH_BITS_MAX],
        prev: &mut [u16; WINDOW],
        x: u32,
        pos: usize,
        use3: bool,
    ) {
        let h4 = hash4(x, self.bits + 1) & HASH4_MASK;
        let p = pos16(pos);
        let head = table[h4];
        table[h4] = p;
        if use3 {
            table[HASH3_BASE + (hash3(x, self.bits) & HASH_MASK)] = p;
        }
        prev[pos % WINDOW] = head;
    }

    /// Inserts `pos` (4 readable bytes) and returns its longest match `(len, dist)` longer
    /// than `floor` bytes, searching `depth` chain entries; `(0, 0)` for none.
    #[inline(always)]
    #[expect(
        clippy::too_many_arguments,
        reason = "the match finder's tables, passed apart"
    )]
    fn find(
        &self,
        parser: &impl FastParse,
        table: &mut [u16; 3 << HASH_BITS_MAX],
        prev: &mut [u16; WINDOW],
        data: &[u8],
        pos: usize,
        depth: u32,
        floor: usize,
        use3: bool,
        exact3: bool,
        slots: &mut Slots,
    ) -> (usize, usize) {
        let Slots { x, h4, h3, .. } = if slots.pos == pos {
            *slots
        } else {
            Slots::of(pos, read32(data, pos), self.bits)
        };
        let p = pos16(pos);
        // The 3-byte table is kept only while length-3 matches are wanted (stale entries
        // left from other stretches are harmless: candidates are verified).
        let c3 = if use3 {
            let c = table[h3];
            table[h3] = p;
            c
        } else {
            EMPTY
        };
        let head = table[h4];
        table[h4] = p;
        prev[pos % WINDOW] = head;
        // The next search is usually at `pos + 1`: start its table reads now, where the
        // backend can (a prefetch that need not retire; a plain load kept by `black_box`
        // instead made level 6 1-5 % slower, measured in safe code).
        *slots = Slots::at(data, pos + 1, self.bits);
        parser.prefetch_heads(table, slots, use3);
        let max = (data.len() - pos).min(MAX_MATCH);
        if floor >= max {
            return (0, 0);
        }
        let nice = self.nice.min(max);
        let mut best_len = floor;
        let mut best_dist = 0;
        let d3 = p.wrapping_sub(c3) as usize;
        // With the 3-byte table holding every position of the window (`exact3`), a
        // 3-byte entry outside it means no position in the window starts with these 3
        // bytes, so none with these 4: the chain need not be walked (libdeflate's early
        // exit; the result is the same).
        if exact3 && floor < 4 && (d3.wrapping_sub(1) >= WINDOW || d3 > pos) {
            return (0, 0);
        }
        if use3
            && floor < 3
            && d3.wrapping_sub(1) < 8192
            && d3 <= pos
            && (read32(data, pos - d3) ^ x) & 0xFF_FFFF == 0
        {
            best_len = 3;
            best_dist = d3;
        }
        let (best_len, best_dist) = parser.walk(&Walk {
            data,
            prev,
            pos,
            p,
            head,
            depth,
            best: (best_len, best_dist),
            x,
            max,
            nice,
        });
        if best_dist == 0 {
            (0, 0)
        } else {
            (best_len, best_dist)
        }
    }
}

/// The shortest match worth taking given how many distinct literals the data uses: with
/// few, literals are cheap (a few bits each) and a short match at a distance costs more
/// than the literals it replaces (libdeflate's observation). The mapping was tuned on
/// `offload_testkit::corpus` (text, logs, binary): with it our output on text and logs is
/// 2–4 % smaller than libdeflate's at level 2 and 0.4–0.7 % at level 6 (binary: +0.1 %).
fn min_len_for(distinct: usize) -> usize {
    match distinct {
        0..8 => 8,
        8..16 => 7,
        16..32 => 6,
        32..48 => 6,
        48..64 => 5,
        64..96 => 4,
        _ => 3,
    }
}

/// [`min_len_for`] the distinct bytes of `sample` (the start of a block).
fn initial_min_len(sample: &[u8]) -> usize {
    let mut seen = [false; 256];
    for &b in sample {
        seen[usize::from(b)] = true;
    }
    min_len_for(seen.iter().filter(|&&x| x).count())
}

/// [`min_len_for`] the literals the block has used more than rarely so far.
fn recalc_min_len(litlen_freq: &[u32; NUM_LITLEN]) -> usize {
    let total: u32 = litlen_freq[..256].iter().sum();
    let cutoff = total >> 10;
    min_len_for(litlen_freq[..256].iter().filter(|&&f| f > cutoff).count())
}

/// Levels 2..=9: hash chains, greedy or lazy. Returns (end of block, sequences).
fn parse_chain(
    state: &mut State,
    data: &[u8],
    start: usize,
    bits: u32,
    params: (u32, usize, u8),
    accelerate: bool,
    parser: &impl FastParse,
) -> (usize, usize) {
    let State {
        table,
        prev,
        seqs,
        litlen_freq,
        dist_freq,
        age_next,
        fixed: _,
    } = state;
    let parts = (seqs, litlen_freq, dist_freq);
    if bits == HASH_BITS_MAX {
        parse_chain_with::<true>(
            table, prev, age_next, parts, data, start, bits, params, accelerate, parser,
        )
    } else {
        parse_chain_with::<false>(
            table, prev, age_next, parts, data, start, bits, params, accelerate, parser,
        )
    }
}

/// [`parse_chain`] over the match finder's tables and the recorder, passed apart (see
/// [`parse_fast_with`]). `FULL`: the tables are full size (`bits` is [`HASH_BITS_MAX`], as
/// for every input above 16 KiB), so the hash shifts are constants and the masks after
/// them vanish, which frees registers in the loop, as level 1's parser does (measured
/// with `Avx2`'s chain walk: see there).
#[inline(never)]
#[expect(
    clippy::too_many_arguments,
    reason = "the parts of the state, passed apart"
)]
fn parse_chain_with<const FULL: bool>(
    table: &mut [u16; 3 << HASH_BITS_MAX],
    prev: &mut [u16; WINDOW],
    age_next: &mut usize,
    (seqs, litlen_freq, dist_freq): RecorderParts<'_>,
    data: &[u8],
    start: usize,
    bits: u32,
    (depth, nice, lookahead): (u32, usize, u8),
    accelerate: bool,
    parser: &impl FastParse,
) -> (usize, usize) {
    let mut rec = Recorder::new(seqs, litlen_freq, dist_freq);
    let bits = if FULL { HASH_BITS_MAX } else { bits };
    let mf = Chains { bits, nice };
    let mut misses = 0usize;
    let mut slots = Slots::NONE;
    let len = data.len();
    let block_limit = len.min(start + BLOCK_SOFT_MAX);
    let hash_end = len.saturating_sub(3);
    let mut pos = start;
    let mut min_len = initial_min_len(&data[start..len.min(start + 4096)]);
    let mut next_recalc = start + 16_384;
    // The 3-byte table holds every position inserted since `since3` (conservatively the
    // block's start: the previous block may not have kept it).
    let mut since3 = if min_len == 3 {
        start
    } else {
        usize::MAX - WINDOW
    };
    while pos < block_limit && !rec.should_end(pos, start, len) {
        if pos >= hash_end {
            rec.literal(data[pos]);
            pos += 1;
            continue;
        }
        if pos >= next_recalc {
            let was3 = min_len == 3;
            min_len = recalc_min_len(rec.litlen_freq);
            if min_len != 3 {
                since3 = usize::MAX - WINDOW;
            } else if !was3 {
                since3 = pos;
            }
            next_recalc = pos + (pos - start).max(16_384);
        }
        if pos >= *age_next {
            age_tables(table, prev, bits, pos16(pos), parser);
            *age_next = pos + AGE_STEP;
        }
        let (mut cur_len, mut cur_dist) = mf.find(
            parser,
            table,
            prev,
            data,
            pos,
            depth,
            min_len - 1,
            min_len == 3,
            pos >= since3 + WINDOW,
            &mut slots,
        );
        if cur_len < min_len {
            // As level 1 does, levels up to 6 look at fewer positions in incompressible
            // data; 7 and above look at every one.
            if !accelerate || misses < 1 << SKIP_SHIFT {
                // The common case: a single literal (and no slice or loop for it).
                rec.literal(data[pos]);
                pos += 1;
            } else {
                let step = (1 + (misses >> SKIP_SHIFT)).min(MAX_SKIP).min(len - pos);
                for &b in &data[pos..pos + step] {
                    rec.literal(b);
                }
                pos += step;
            }
            misses += 1;
            continue;
        }
        misses = 0;
        // Positions below `inserted` are in the chains.
        let mut inserted = pos + 1;
        'lazy: while lookahead > 0 && cur_len < mf.nice {
            for ahead in 1..=lookahead {
                let p = pos + usize::from(ahead);
                if p >= hash_end || p >= block_limit {
                    break 'lazy;
                }
                let (next_len, next_dist) = mf.find(
                    parser,
                    table,
                    prev,
                    data,
                    p,
                    depth >> ahead,
                    cur_len - 1,
                    min_len == 3,
                    p >= since3 + WINDOW,
                    &mut slots,
                );
                inserted = p + 1;
                if better(cur_len, cur_dist, next_len, next_dist, ahead) {
                    for _ in 0..ahead {
                        rec.literal(data[pos]);
                        pos += 1;
                    }
                    cur_len = next_len;
                    cur_dist = next_dist;
                    continue 'lazy;
                }
            }
            break;
        }
        rec.matched(cur_len, cur_dist);
        let end = pos + cur_len;
        let stop = end.min(hash_end);
        if min_len == 3 {
            mf.insert_range::<true>(parser, table, prev, data, inserted, stop, &mut slots);
        } else {
            mf.insert_range::<false>(parser, table, prev, data, inserted, stop, &mut slots);
        }
        pos = end;
    }
    (pos, rec.finish())
}

// --- block writing -------------------------------------------------------------------

/// Writes `data` as stored blocks of at most 65 535 bytes (one empty block for empty
/// data), the last one final if `last`.
fn write_stored(bw: &mut BitWriter<'_>, data: &[u8], last: bool) {
    let mut chunks = data.chunks(0xFFFF).peekable();
    if data.is_empty() {
        put_stored(bw, &[], last);
    }
    while let Some(chunk) = chunks.next() {
        put_stored(bw, chunk, last && chunks.peek().is_none());
    }
}

fn put_stored(bw: &mut BitWriter<'_>, chunk: &[u8], last: bool) {
    bw.put(u64::from(last), 3);
    bw.align_flush();
    #[expect(clippy::cast_possible_truncation, reason = "chunks are <= 65535 bytes")]
    let n = chunk.len() as u16;
    bw.put_bytes(&n.to_le_bytes());
    bw.put_bytes(&(!n).to_le_bytes());
    bw.put_bytes(chunk);
}

/// Bits the stored form of `len` bytes takes when the writer is at bit phase `phase`.
fn stored_bits(len: usize, phase: u32) -> usize {
    let chunks = len.div_ceil(0xFFFF).max(1);
    // First header: 3 bits then padding to the byte; later ones start aligned (3 + 5).
    let first = 3 + ((8 - (phase as usize + 3) % 8) % 8);
    first + (chunks - 1) * 8 + chunks * 32 + len * 8
}

/// One item of the run-length coded code lengths: precode symbol and its extra bits.
#[derive(Clone, Copy, Default)]
struct Item {
    sym: u8,
    extra: u8,
}

const fn item_extra_bits(sym: u8) -> u32 {
    match sym {
        16 => 2,
        17 => 3,
        18 => 7,
        _ => 0,
    }
}

/// Run-length codes `lens` (RFC 1951 §3.2.7) into `items`, returning their count.
fn rle_lengths(lens: &[u8], items: &mut [Item; NUM_LITLEN + NUM_DIST]) -> usize {
    let mut n = 0;
    let mut push = |sym: u8, extra: usize| {
        #[expect(clippy::cast_possible_truncation, reason = "extra <= 127")]
        if let Some(it) = items.get_mut(n) {
            *it = Item {
                sym,
                extra: extra as u8,
            };
        }
        n += 1;
    };
    let mut i = 0;
    while i < lens.len() {
        let v = lens[i];
        let mut run = 1;
        while i + run < lens.len() && lens[i + run] == v {
            run += 1;
        }
        i += run;
        if v == 0 {
            while run >= 11 {
                let k = run.min(138);
                push(18, k - 11);
                run -= k;
            }
            if run >= 3 {
                push(17, run - 3);
                run = 0;
            }
        } else {
            push(v, 0);
            run -= 1;
            while run >= 3 {
                let k = run.min(6);
                push(16, k - 3);
                run -= k;
            }
        }
        for _ in 0..run {
            push(v, 0);
        }
    }
    n
}

fn fixed_litlen_len(sym: usize) -> u32 {
    match sym {
        0..=143 => 8,
        144..=255 => 9,
        256..=279 => 7,
        _ => 8,
    }
}

/// A block's dynamic Huffman code: the code lengths, their run-length coded form and the
/// code-length code, and the block's exact size in bits with it.
struct Dynamic {
    litlen_lens: [u8; NUM_LITLEN],
    dist_lens: [u8; NUM_DIST],
    hlit: usize,
    hdist: usize,
    items: [Item; NUM_LITLEN + NUM_DIST],
    nitems: usize,
    pre_lens: [u8; NUM_PRECODE],
    hclen: usize,
    bits: usize,
}

impl Dynamic {
    /// The code for these counts (`litlen_freq` with the end-of-block symbol); `extra` is
    /// the block's count of length and distance extra bits.
    fn build(litlen_freq: &[u32; NUM_LITLEN], dist_freq: &[u32; NUM_DIST], extra: usize) -> Self {
        let mut litlen_lens = [0u8; NUM_LITLEN];
        let mut dist_lens = [0u8; NUM_DIST];
        build_lengths(litlen_freq, 15, &mut litlen_lens);
        build_lengths(dist_freq, 15, &mut dist_lens);
        let hlit = 257
            + litlen_lens[257..]
                .iter()
                .rposition(|&l| l != 0)
                .map_or(0, |p| p + 1);
        let hdist = 1 + dist_lens.iter().rposition(|&l| l != 0).unwrap_or(0);
        let mut all_lens = [0u8; NUM_LITLEN + NUM_DIST];
        all_lens[..hlit].copy_from_slice(&litlen_lens[..hlit]);
        all_lens[hlit..hlit + hdist].copy_from_slice(&dist_lens[..hdist]);
        let mut items = [Item::default(); NUM_LITLEN + NUM_DIST];
        let nitems = rle_lengths(&all_lens[..hlit + hdist], &mut items).min(items.len());
        let mut pre_freq = [0u32; NUM_PRECODE];
        for it in &items[..nitems] {
            pre_freq[usize::from(it.sym) % NUM_PRECODE] += 1;
        }
        let mut pre_lens = [0u8; NUM_PRECODE];
        build_lengths(&pre_freq, 7, &mut pre_lens);
        let hclen = 4 + super::tables::PRECODE_ORDER[4..]
            .iter()
            .rposition(|&s| pre_lens[usize::from(s)] != 0)
            .map_or(0, |p| p + 1);
        let mut bits = 3 + 5 + 5 + 4 + 3 * hclen + extra;
        for (&f, &l) in litlen_freq.iter().zip(&litlen_lens) {
            bits += f as usize * usize::from(l);
        }
        for (&f, &l) in dist_freq.iter().zip(&dist_lens) {
            bits += f as usize * usize::from(l);
        }
        for it in &items[..nitems] {
            bits += usize::from(pre_lens[usize::from(it.sym) % NUM_PRECODE])
                + item_extra_bits(it.sym) as usize;
        }
        Dynamic {
            litlen_lens,
            dist_lens,
            hlit,
            hdist,
            items,
            nitems,
            pre_lens,
            hclen,
            bits,
        }
    }

    /// Writes the block header (final if `last`) and the code, and gives the code's
    /// lengths in `lcl` and `dcl`.
    fn write_header(&self, bw: &mut BitWriter<'_>, last: bool, lcl: &mut [u8], dcl: &mut [u8]) {
        bw.put(4 | u64::from(last), 3);
        bw.put((self.hlit - 257) as u64, 5);
        bw.put((self.hdist - 1) as u64, 5);
        bw.put((self.hclen - 4) as u64, 4);
        for &s in &super::tables::PRECODE_ORDER[..self.hclen] {
            bw.put(u64::from(self.pre_lens[usize::from(s)]), 3);
        }
        let mut pre_codes = [0u16; NUM_PRECODE];
        canonical_codes(&self.pre_lens, &mut pre_codes);
        for it in &self.items[..self.nitems] {
            let s = usize::from(it.sym) % NUM_PRECODE;
            let eb = item_extra_bits(it.sym);
            let l = u32::from(self.pre_lens[s]);
            bw.put(u64::from(pre_codes[s]) | u64::from(it.extra) << l, l + eb);
        }
        lcl[..NUM_LITLEN].copy_from_slice(&self.litlen_lens);
        dcl[..NUM_DIST].copy_from_slice(&self.dist_lens);
    }
}

/// Writes one block of `data` (whose parse is `seqs`, symbol counts `litlen_freq` without
/// the end-of-block symbol, `dist_freq`) in the cheapest of the three block types; with
/// `fixed` ([`Strategy::Fixed`](super::Strategy::Fixed)), the cheaper of stored and
/// fixed-Huffman, and no dynamic code is built.
#[inline(never)]
fn write_block(
    bw: &mut BitWriter<'_>,
    data: &[u8],
    seqs: &[Seq],
    litlen_freq: &mut [u32; NUM_LITLEN],
    dist_freq: &[u32; NUM_DIST],
    last: bool,
    fixed: bool,
) {
    litlen_freq[256] = 1;

    // Exact sizes.
    let mut extra = 0usize;
    for slot in 0..29 {
        extra += litlen_freq[257 + slot] as usize * usize::from(LENGTH_EXTRA[slot]);
    }
    for slot in 0..NUM_DIST {
        extra += dist_freq[slot] as usize * usize::from(DIST_EXTRA[slot]);
    }
    let mut fixed_bits = 3 + extra;
    for (sym, &f) in litlen_freq.iter().enumerate() {
        fixed_bits += f as usize * fixed_litlen_len(sym) as usize;
    }
    fixed_bits += dist_freq.iter().map(|&f| f as usize * 5).sum::<usize>();
    let dynamic = (!fixed).then(|| Dynamic::build(litlen_freq, dist_freq, extra));
    let dyn_bits = dynamic.as_ref().map_or(usize::MAX, |d| d.bits);
    let stored = stored_bits(data.len(), bw.bit_phase());

    // When even the smallest form cannot fit, stop here: the call fails anyway.
    let best = stored.min(dyn_bits).min(fixed_bits);
    // The byte at or before which this block ends (see `write_seqs`).
    let limit = ((bw.bits_written() + best as u64) / 8).min(bw.capacity_bits() / 8);
    if bw.bits_written() + best as u64 > bw.capacity_bits() {
        bw.set_overflow();
        return;
    }

    if stored <= dyn_bits && stored <= fixed_bits {
        write_stored(bw, data, last);
        return;
    }

    let mut litlen_codes = [0u16; 288];
    let mut dist_codes = [0u16; 32];
    let mut lcl = [0u8; 288];
    let mut dcl = [0u8; 32];
    match dynamic {
        Some(d) if d.bits < fixed_bits => d.write_header(bw, last, &mut lcl, &mut dcl),
        _ => {
            bw.put(2 | u64::from(last), 3);
            for (sym, l) in lcl.iter_mut().enumerate() {
                #[expect(clippy::cast_possible_truncation, reason = "lengths are <= 9")]
                {
                    *l = fixed_litlen_len(sym) as u8;
                }
            }
            dcl.fill(5);
        }
    }
    canonical_codes(&lcl, &mut litlen_codes);
    canonical_codes(&dcl, &mut dist_codes);
    write_seqs(
        bw,
        usize::try_from(limit).unwrap_or(usize::MAX),
        data,
        seqs,
        (&litlen_codes, &lcl),
        (&dist_codes, &dcl),
    );
}

/// Writes a run of literals: three codes (at most 45 bits) per flush.
#[inline(always)]
fn literals(
    bw: &mut FastBits<'_>,
    mut lits: &[u8],
    litlen_codes: &[u16; 288],
    litlen_lens: &[u8; 288],
) {
    while let [a, b, c, rest @ ..] = lits {
        let (a, b, c) = (usize::from(*a), usize::from(*b), usize::from(*c));
        bw.add(u64::from(litlen_codes[a]), u32::from(litlen_lens[a]));
        bw.add(u64::from(litlen_codes[b]), u32::from(litlen_lens[b]));
        bw.add(u64::from(litlen_codes[c]), u32::from(litlen_lens[c]));
        bw.flush();
        lits = rest;
    }
    if !lits.is_empty() {
        for &b in lits {
            let b = usize::from(b);
            bw.add(u64::from(litlen_codes[b]), u32::from(litlen_lens[b]));
        }
        bw.flush();
    }
}

/// Writes the block's symbols and its end-of-block code, through a [`FastBits`] cut at
/// `limit`, the byte where the block ends.
///
/// libdeflate's order of work: bits are added to the pending word without a test and
/// flushed with one unconditional 8-byte store after every three literals (at most 45
/// bits: codes are limited to 15) and after every match (at most 48 bits: a length code
/// and its extra bits, then a distance code and its extra bits), so the pending bits
/// never exceed 7 + 48. A match's length code and extra bits come from a table built per
/// block for every length, one lookup instead of a slot, a base and two code tables; the
/// distance's slot comes with the sequence.
#[inline(never)]
fn write_seqs(
    bw: &mut BitWriter<'_>,
    limit: usize,
    data: &[u8],
    seqs: &[Seq],
    (litlen_codes, litlen_lens): (&[u16; 288], &[u8; 288]),
    (dist_codes, dist_lens): (&[u16; 32], &[u8; 32]),
) {
    // A local writer: its state stays in registers (see `FastBits`).
    let mut bw = bw.fast(limit);
    // Length -> (code and extra bits, their count).
    let mut len_code = [(0u32, 0u32); MAX_MATCH + 1];
    for (len, e) in len_code.iter_mut().enumerate().skip(3) {
        let ls = usize::from(LEN_SLOT[len]);
        let sym = 257 + ls;
        let ll = u32::from(litlen_lens[sym]);
        #[expect(clippy::cast_possible_truncation, reason = "len <= 258")]
        let extra = (len - usize::from(LENGTH_BASE[ls])) as u32;
        *e = (
            u32::from(litlen_codes[sym]) | extra << ll,
            ll + u32::from(LENGTH_EXTRA[ls]),
        );
    }
    // Distance slot -> (code, its length, with the extra bits, the slot's first distance).
    let mut dist_code = [(0u32, 0u32, 0u32, 0usize); 32];
    for (ds, e) in dist_code.iter_mut().enumerate().take(NUM_DIST) {
        let dl = u32::from(dist_lens[ds]);
        *e = (
            u32::from(dist_codes[ds]),
            dl,
            dl + u32::from(DIST_EXTRA[ds]),
            usize::from(DIST_BASE[ds]),
        );
    }
    bw.flush();
    // Every sequence but the last ends in a match.
    let (last, body) = seqs.split_last().unwrap_or((&Seq::DEFAULT, &[]));
    // Where the next sequence's literals start in `data`: one slice per run, fewer
    // instructions than splitting off the rest of the data twice per sequence (callgrind,
    // 2 MiB of text at level 1: 26.1 M -> 25.3 M in this function).
    let mut at = 0;
    for s in body {
        let run = (s.litrun & 0xFF_FFFF) as usize;
        literals(
            &mut bw,
            data.get(at..at + run).unwrap_or(&[]),
            litlen_codes,
            litlen_lens,
        );
        let len = usize::from(s.len);
        let dist = usize::from(s.dist);
        let (lbits, ln) = len_code[len.min(MAX_MATCH)];
        let (dcode, dl, dn, base) = dist_code[(s.litrun >> 24) as usize & 31];
        let dbits = u64::from(dcode) | (dist.wrapping_sub(base) as u64) << dl;
        bw.add(u64::from(lbits) | dbits << ln, ln + dn);
        bw.flush();
        at += run + len;
    }
    literals(
        &mut bw,
        data.get(at..at + (last.litrun & 0xFF_FFFF) as usize)
            .unwrap_or(&[]),
        litlen_codes,
        litlen_lens,
    );
    bw.add(u64::from(litlen_codes[256]), u32::from(litlen_lens[256]));
    bw.flush();
    bw.finish();
}
