//! Raw DEFLATE decoding (RFC 1951) into one caller buffer, shared safe code that every
//! backend runs.
//!
//! The output buffer is the history: a match copies from bytes already decoded into it
//! (or, before its start, from a caller dictionary), so no 32 KiB window is kept or copied.
//!
//! How it goes (libdeflate's design, in safe Rust):
//!
//! - **Bit buffer.** 64 bits, LSB-first. A refill ORs an unaligned 8-byte load in at the
//!   current fill level and advances the input by the whole bytes that fitted, leaving 56
//!   to 63 valid bits without a branch. The bits above the fill level are the next input
//!   bits, so OR-ing them in again later is harmless. Near the end of the input a
//!   byte-at-a-time refill takes over and appends zero bytes past the end (at most 8); the
//!   result is only accepted if no appended bit was consumed, otherwise the error is
//!   [`Error::Truncated`].
//! - **Tables.** Packed `u32` entries with subtables (see [`tables`](super::tables)); one
//!   entry gives the symbol and the number of bits for the code *and* its extra bits, so a
//!   length or distance is decoded with one mask and one shift.
//! - **Fast loop.** While at least [`FAST_IN`] input bytes and [`FAST_OUT`] output bytes
//!   remain, nothing needs a bounds decision: 56 bits cover a length code with its extra
//!   bits and a distance code with its extra bits (20 + 28 bits), and a literal pair plus a
//!   258-byte match fit in the output. Up to four literal entries (each a literal or a
//!   pair) are decoded per refill when they come in a row, and the next symbol's table
//!   entry is loaded before a match is copied, so the load's latency hides behind the copy.
//!   A block whose literal/length table holds no literal pairs runs a copy of the loop
//!   without the pair handling (see [`fast_iterations`]).
//!   A backend may run its own version of this loop: [`fast_loop`] takes a
//!   [`FastKernel`] (the AVX2 backend's is on raw pointers, see `backend::avx2`).
//! - **Tail loop.** The same decoding with a checked refill and checked output room, one
//!   symbol at a time, until the block ends.
//! - **Scratch, then put back.** In the fast loop a literal entry stores two bytes and a
//!   match of up to 32 bytes from 16 or more back is two 16-byte moves, whatever the
//!   length: up to 32 bytes past the current position are scratch. The loop keeps the
//!   caller's bytes there aside first (a 1 KiB stash it moves along) and puts them back
//!   when it stops, so `output[produced..]` keeps its contents. Longer and closer matches
//!   are copied exactly: 16 or 8 bytes at a time, the last move ending exactly at the end
//!   of the match, short periods doubling their pattern, distance 1 a fill.
//!
//! Work is bounded by the output size: every symbol either writes at least one byte or ends
//! a block, and every block header consumes input.
//!
//! **Where it stands** (this safe loop, which `Scalar` and `Neon` run; `Avx2` runs its own
//! raw-pointer version of the fast loop, about 10 % faster: see `backend/avx2.rs`). Against
//! libdeflate 1.26 (one-shot, same 4 MiB inputs compressed by
//! libdeflate at levels 1 and 6, one process alternating the decoders, best of 60 runs on
//! a shared 2-core Zen 3 VM, so about ±3%): text 0.87-0.95x, logs 0.92x (L1) and 1.09x
//! (L6), binary-like 0.77-0.82x, the mixed corpus 0.83x; the streaming decoder in 64 KiB
//! chunks 0.73-0.97x of libdeflate's one-shot speed. Callgrind counts the decoder at
//! 1.08-1.34x libdeflate's instructions (mixed, level 6: 50.7M against 39.6M) with about
//! 1.03x its mispredicted branches in callgrind's simulation; the difference per symbol is
//! largely slice bounds checks the optimizer keeps and table pointers it spills. Writing a
//! literal pair as one 2-byte store, giving the short-match window as start and length,
//! fixing the stash limit per stretch and the builder changes (see
//! [`tables`]) took 8-12% of the instructions and 4-17% of the simulated
//! mispredictions away, which measured 0-8% faster in time (streaming gained
//! most; one-shot changes were inside the noise).

#![forbid(unsafe_code)]

use super::Inflater;
use super::tables::{
    self, DIST_TABLE_BITS, END_OF_BLOCK, EXCEPTIONAL, Kind, LITLEN_TABLE_BITS, MAX_DIST_CODES,
    MAX_LITLEN_CODES, PRECODE_ORDER, PRECODE_TABLE_BITS, SINGLE, SUBTABLE, UNASSIGNED, is_literal,
    literal_code_len,
};
use crate::Error;
use crate::error::Corruption;

/// Input bytes the fast loop needs ahead of it: two refills of 8 bytes, the first advancing
/// at most 7.
pub(crate) const FAST_IN: usize = 16;
/// Output bytes the fast loop needs ahead of it: two literal pairs and a longest match
/// (a match comes after at most two literal entries; four entries, eight bytes, end an
/// iteration), rounded up.
pub(crate) const FAST_OUT: usize = 264;
/// Zero bytes the reader may append after the input before the data is truncated for sure.
const MAX_OVERRUN: usize = 8;

const LITLEN_MASK: u64 = (1 << LITLEN_TABLE_BITS) - 1;
const DIST_MASK: u64 = (1 << DIST_TABLE_BITS) - 1;
const PRECODE_MASK: u64 = (1 << PRECODE_TABLE_BITS) - 1;

/// The LSB-first bit reader. `Copy` so the fast loop can work on a local copy that the
/// compiler keeps in registers.
#[derive(Clone, Copy)]
pub(crate) struct Bits<'a> {
    pub(crate) input: &'a [u8],
    /// Next input byte to load; may pass `input.len()` by the zero bytes appended.
    pub(crate) ip: usize,
    /// Valid bits in the low `left` bits; above them, zeros or the next input bits.
    pub(crate) buf: u64,
    /// Valid bits in `buf` (at most 63) in the low 8 bits; the bits above are garbage (see
    /// [`consume_entry`](Self::consume_entry)). Read it through [`held`](Self::held).
    pub(crate) left: u32,
}

impl Bits<'_> {
    /// Valid bits in `buf`.
    #[inline(always)]
    pub(crate) fn held(&self) -> u32 {
        self.left & 0xFF
    }

    /// Fills to 56..=63 valid bits. The caller checked that `ip + 8 <= input.len()`.
    #[inline(always)]
    fn refill_fast(&mut self) {
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.input[self.ip..self.ip + 8]);
        // Shift counts are taken modulo 64, as x86 and AArch64 shifts do: the low 6 bits of
        // `left` are the count. `!left & 63` is `63 - held` for `held <= 63`.
        self.buf |= u64::from_le_bytes(word).wrapping_shl(self.left);
        self.ip += ((!self.left & 63) >> 3) as usize;
        self.left |= 56;
    }

    /// Fills to at least 56 valid bits, appending zero bytes after the end of the input.
    #[inline(always)]
    fn refill(&mut self) -> Result<(), Error> {
        if self.ip + 8 <= self.input.len() {
            self.refill_fast();
            Ok(())
        } else {
            self.refill_slow()
        }
    }

    #[inline(never)]
    fn refill_slow(&mut self) -> Result<(), Error> {
        while self.held() < 56 {
            let byte = match self.input.get(self.ip) {
                Some(&b) => b,
                None if self.ip - self.input.len() < MAX_OVERRUN => 0,
                // More zero bytes than the buffer holds: appended bits were consumed.
                None => return Err(Error::Truncated),
            };
            self.buf |= u64::from(byte) << self.held();
            self.ip += 1;
            self.left += 8;
        }
        Ok(())
    }

    /// The next `n` bits (`n < 64`, `n <= left`).
    #[inline(always)]
    fn peek(&self, n: u32) -> u64 {
        self.buf & ((1u64 << n) - 1)
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.buf >>= n;
        self.left = self.left.wrapping_sub(n);
    }

    /// Consumes the bits of a table entry. Bits 5..=7 of an entry are zero, so the shift
    /// count can be masked with 63, which x86 and AArch64 shifts do for free: the mask
    /// leaves the decoder's critical path (load entry, shift, load next entry). For the
    /// same reason the whole entry is subtracted from `left` (libdeflate's trick): the low
    /// 8 bits come out right, as the entry's low 8 bits are its bit count, and only the
    /// garbage above them takes the rest, which saves a mask per symbol.
    #[inline(always)]
    fn consume_entry(&mut self, entry: u32) {
        self.buf >>= entry & 63;
        self.left = self.left.wrapping_sub(entry);
    }

    /// Reads `n <= 16` bits.
    #[inline(always)]
    #[expect(clippy::cast_possible_truncation, reason = "n <= 16 bits")]
    fn take(&mut self, n: u32) -> u32 {
        let v = self.peek(n) as u32;
        self.consume(n);
        v
    }

    /// Bytes consumed so far, a partly consumed byte included (appended zero bytes count).
    fn consumed_bytes(&self) -> usize {
        self.ip - (self.held() / 8) as usize
    }

    /// Whether any bit past the end of the input was consumed.
    fn past_end(&self) -> bool {
        // In bits: 8 ip - left > 8 len. (u64: no overflow on 32-bit targets.)
        self.ip as u64 * 8 - u64::from(self.held()) > self.input.len() as u64 * 8
    }
}

/// Decodes the raw DEFLATE stream at the start of `input` into `output`; `dict` is the
/// history before `output[0]`. Returns (input bytes consumed up to the end of the last
/// block, output bytes written).
///
/// Always inlined, with everything hot below it, so that a SIMD backend calling it from
/// its own `#[target_feature]` function gets the whole decoder compiled for its features
/// (BMI2 shifts, for one) without a second copy of the source. The fast loop is the
/// exception: it is the kernel's (`K`), and [`SafeKernel`]'s is a function of its own,
/// compiled for the baseline features, which is what the backends that use it want
/// (`Avx2` brings its own, which enables its features itself).
#[inline(always)]
pub(crate) fn inflate<K: FastKernel>(
    state: &mut Inflater,
    input: &[u8],
    output: &mut [u8],
    dict: &[u8],
) -> Result<(usize, usize), Error> {
    let mut bits = Bits {
        input,
        ip: 0,
        buf: 0,
        left: 0,
    };
    let mut op = 0;
    let result = blocks::<K>(state, &mut bits, output, &mut op, dict);
    // An error met after consuming appended zero bits is the input's end, whatever rule
    // the zeros broke.
    if bits.past_end() {
        return Err(Error::Truncated);
    }
    result?;
    Ok((bits.consumed_bytes(), op))
}

#[inline(always)]
fn blocks<K: FastKernel>(
    state: &mut Inflater,
    bits: &mut Bits<'_>,
    output: &mut [u8],
    op: &mut usize,
    dict: &[u8],
) -> Result<(), Error> {
    loop {
        bits.refill()?;
        let header = bits.take(3);
        match header >> 1 {
            0 => stored(bits, output, op)?,
            1 => state.load_fixed()?,
            2 => read_dynamic_header(state, bits)?,
            _ => return Err(Corruption::DeflateBlockType.into()),
        }
        if header >> 1 != 0 {
            // One call site, so the hot loop is inlined once.
            huffman::<K>(state, bits, output, op, dict)?;
        }
        if header & 1 != 0 {
            return Ok(());
        }
    }
}

/// A stored block: byte-aligned LEN, NLEN, LEN raw bytes. Leaves the bit buffer empty.
fn stored(bits: &mut Bits<'_>, output: &mut [u8], op: &mut usize) -> Result<(), Error> {
    bits.consume(bits.held() & 7);
    // The bytes still in the buffer were loaded but not consumed: step back over them.
    let pos = bits.ip - (bits.held() / 8) as usize;
    let input = bits.input;
    let header = input.get(pos..pos + 4).ok_or(Error::Truncated)?;
    let len = u16::from_le_bytes([header[0], header[1]]);
    let nlen = u16::from_le_bytes([header[2], header[3]]);
    if len != !nlen {
        return Err(Corruption::DeflateStoredLength { len, nlen }.into());
    }
    let len = usize::from(len);
    let data = input.get(pos + 4..pos + 4 + len).ok_or(Error::Truncated)?;
    if len > output.len() - *op {
        return Err(full(output));
    }
    output[*op..*op + len].copy_from_slice(data);
    *op += len;
    bits.ip = pos + 4 + len;
    bits.buf = 0;
    bits.left = 0;
    Ok(())
}

/// Reads a dynamic block's code descriptions and builds its tables.
fn read_dynamic_header(state: &mut Inflater, bits: &mut Bits<'_>) -> Result<(), Error> {
    state.fixed_loaded = false;
    bits.refill()?;
    let hlit = bits.take(5) as usize + 257;
    let hdist = bits.take(5) as usize + 1;
    let hclen = bits.take(4) as usize + 4;
    if hlit > MAX_LITLEN_CODES || hdist > MAX_DIST_CODES {
        return Err(Corruption::DeflateTooManyCodes {
            litlen: hlit,
            distance: hdist,
        }
        .into());
    }

    let mut precode_lens = [0u8; 19];
    for &sym in &PRECODE_ORDER[..hclen] {
        bits.refill()?;
        precode_lens[usize::from(sym)] = low_byte(bits.take(3));
    }
    tables::build(
        &mut state.precode,
        PRECODE_TABLE_BITS,
        &precode_lens,
        Kind::Precode,
    )?;

    // One run-length coded sequence for both codes' lengths; runs may cross from one into
    // the other, never past the end.
    let total = hlit + hdist;
    let lens = &mut state.lens;
    let mut i = 0;
    while i < total {
        bits.refill()?;
        // The code-length code is complete, so every entry is a symbol.
        let entry = state.precode[(bits.buf & PRECODE_MASK) as usize];
        bits.consume_entry(entry);
        let sym = entry >> 16;
        if sym < 16 {
            // Most symbols are single lengths: one store, no fill.
            lens[i] = low_byte(sym);
            i += 1;
            continue;
        }
        let (value, run) = match sym {
            16 => {
                let Some(&prev) = i.checked_sub(1).map(|p| &lens[p]) else {
                    return Err(Corruption::DeflateRepeatWithoutPrevious.into());
                };
                (prev, 3 + bits.take(2) as usize)
            }
            17 => (0, 3 + bits.take(3) as usize),
            _ => (0, 11 + bits.take(7) as usize),
        };
        if run > total - i {
            return Err(Corruption::DeflateCodeLengthsOverrun.into());
        }
        lens[i..i + run].fill(value);
        i += run;
    }
    if lens[256] == 0 {
        return Err(Corruption::DeflateMissingEndOfBlock.into());
    }
    state.litlen_pairs = tables::build(
        &mut state.litlen,
        LITLEN_TABLE_BITS,
        &lens[..hlit],
        Kind::LitLen,
    )?;
    tables::build(
        &mut state.dist,
        DIST_TABLE_BITS,
        &lens[hlit..total],
        Kind::Dist,
    )?;
    Ok(())
}

#[inline(always)]
#[expect(
    clippy::cast_possible_truncation,
    reason = "callers pass values below 256"
)]
fn low_byte(v: u32) -> u8 {
    v as u8
}

#[inline(always)]
#[expect(
    clippy::cast_possible_truncation,
    reason = "callers pass 16-bit values"
)]
fn low_u16(v: u32) -> u16 {
    v as u16
}

#[cold]
fn full(output: &[u8]) -> Error {
    Error::OutputTooSmall {
        needed: None,
        available: output.len(),
    }
}

/// The error for an invalid literal/length entry.
#[cold]
pub(crate) fn bad_litlen(entry: u32) -> Error {
    match entry >> 16 {
        UNASSIGNED => Corruption::DeflateInvalidCode {
            code: "literal/length",
        }
        .into(),
        sym => Corruption::DeflateLitLenSymbol {
            symbol: sym_u16(sym),
        }
        .into(),
    }
}

/// The error for an invalid distance entry.
#[cold]
pub(crate) fn bad_dist(entry: u32) -> Error {
    match entry >> 16 {
        UNASSIGNED => Corruption::DeflateInvalidCode { code: "distance" }.into(),
        sym => Corruption::DeflateDistanceSymbol {
            symbol: sym_u16(sym),
        }
        .into(),
    }
}

#[expect(clippy::cast_possible_truncation, reason = "entry values are 16 bits")]
fn sym_u16(v: u32) -> u16 {
    v as u16
}

/// The subtable entry a pointer entry leads to for the bits in `buf`.
#[inline(always)]
#[expect(clippy::cast_possible_truncation, reason = "masked to at most 15 bits")]
pub(crate) fn sub_entry(table: &[u32], pointer: u32, buf: u64, table_bits: u32) -> u32 {
    let start = (pointer >> 16) as usize;
    let index_bits = (pointer >> 8) & 0xF;
    table[start + ((buf >> table_bits) & ((1 << index_bits) - 1)) as usize]
}

/// The value of a length or distance entry: base plus extra bits, which follow the code.
///
/// Both shift counts are taken from the entry modulo 64 (`wrapping_shl`, `wrapping_shr`),
/// as x86 and AArch64 shifts take them: bits 5..=7 of the entry are zero, so `entry`
/// counts the bit total, and a length or distance entry has none of the flags in bits
/// 12..=13, so `entry >> 8` counts the code length (bit 14 and up fall outside the
/// count). The second shift needs no mask of its own; the first keeps one (the AVX2
/// backend's loop uses `bzhi`, which needs none either).
#[inline(always)]
#[expect(clippy::cast_possible_truncation, reason = "masked to at most 28 bits")]
pub(crate) fn value_of(entry: u32, buf: u64) -> usize {
    debug_assert_eq!(entry & (EXCEPTIONAL | SUBTABLE | END_OF_BLOCK), 0);
    let extra = buf & 1u64.wrapping_shl(entry).wrapping_sub(1);
    (entry >> 16) as usize + extra.wrapping_shr(entry >> 8) as usize
}

/// Decodes a distance (the buffer holds enough bits).
#[inline(always)]
fn distance(table: &[u32], bits: &mut Bits<'_>) -> Result<usize, Error> {
    let mut entry = table[(bits.buf & DIST_MASK) as usize];
    if entry & EXCEPTIONAL != 0 {
        if entry & SUBTABLE != 0 {
            entry = sub_entry(table, entry, bits.buf, DIST_TABLE_BITS);
        }
        if entry & EXCEPTIONAL != 0 {
            return Err(bad_dist(entry));
        }
    }
    let d = value_of(entry, bits.buf);
    bits.consume_entry(entry);
    Ok(d)
}

/// Decodes one Huffman-coded block's symbols up to its end-of-block code.
#[inline(always)]
fn huffman<K: FastKernel>(
    state: &Inflater,
    bits: &mut Bits<'_>,
    output: &mut [u8],
    op_out: &mut usize,
    dict: &[u8],
) -> Result<(), Error> {
    let litlen = &state.litlen;
    let dist = &state.dist;
    let mut op = *op_out;

    // The fast loop works on a copy of the reader that never escapes, so it stays in
    // registers; the copy goes back before anything else looks at the reader.
    let mut local = *bits;
    let fast = fast_loop::<K, _>(state, &mut local, output, &mut op, dict);
    *bits = local;
    if fast? {
        *op_out = op;
        return Ok(());
    }

    // Tail loop: one symbol per refill, every write checked.
    loop {
        bits.refill()?;
        let mut entry = litlen[(bits.buf & LITLEN_MASK) as usize];
        if entry & SUBTABLE != 0 {
            entry = sub_entry(litlen, entry, bits.buf, LITLEN_TABLE_BITS);
        }
        if is_literal(entry) {
            if op == output.len() {
                return Err(full(output));
            }
            // One literal at a time: a pair's second literal is looked up again.
            bits.consume(literal_code_len(entry, &state.lens));
            output[op] = low_byte(entry >> 16);
            op += 1;
            continue;
        }
        if entry & EXCEPTIONAL != 0 {
            if entry & END_OF_BLOCK != 0 {
                bits.consume_entry(entry);
                *op_out = op;
                return Ok(());
            }
            return Err(bad_litlen(entry));
        }
        let len = value_of(entry, bits.buf);
        bits.consume_entry(entry);
        let d = distance(dist, bits)?;
        if len > output.len() - op {
            return Err(full(output));
        }
        if d > op {
            copy_from_dict(output, op, d, len, dict)?;
        } else {
            copy_match(output, op, d, len);
        }
        op += len;
    }
}

/// Bytes past the current output position that the fast loop may overwrite with
/// scratch before it writes them for real: a short match is two 16-byte moves whatever its
/// length, and a literal entry stores two bytes whether it holds one literal or two.
pub(crate) const SLACK: usize = 32;
/// The most scratch an iteration of the fast loop writes past its starting output
/// position, with room to spare: two literal pairs, then a short match's moves
/// ([`SLACK`]) after them, or four literal pairs. (Longer matches are copied exactly.)
const REACH: usize = 6 + SLACK;
/// Original output bytes the fast loop keeps aside (see [`Stash`]).
const STASH: usize = 1024;

/// The caller's bytes of `output[base..base + len]` as they were before the fast loop
/// wrote over them.
///
/// The fast loop writes scratch up to [`SLACK`] bytes past its position; that is what lets
/// it copy a short match or a literal without a branch on its length. The bytes past the
/// position are the caller's, and the decoder promises to leave them as they were (its
/// result says how far it wrote), so the loop first copies them aside here, a
/// [`STASH`]-sized stretch at a time, and puts the scratch region back on exit. The copy
/// costs about one `memcpy` of the output, a small fraction of decoding it; a masked move
/// per match (the alternative) reads the bytes a previous move has just written, which
/// stalls store-to-load forwarding on every match.
pub(crate) struct Stash {
    base: usize,
    len: usize,
    bytes: [u8; STASH],
}

impl Stash {
    /// Keeps `output[op..]` aside, as much of it as fits.
    #[inline(always)]
    fn new(output: &[u8], op: usize) -> Self {
        let mut stash = Stash {
            base: op,
            len: 0,
            bytes: [0; STASH],
        };
        stash.len = STASH.min(output.len() - op);
        stash.bytes[..stash.len].copy_from_slice(&output[op..op + stash.len]);
        stash
    }

    /// Moves the stretch on to start at `op` (`output.len() - op >= FAST_OUT`). Scratch
    /// lies only inside the old stretch (an iteration starts no later than
    /// [`last_start`](Self::last_start)), so the originals of the bytes from `op` to the
    /// old stretch's end come from it and the bytes after that were never written.
    #[cold]
    pub(crate) fn advance(&mut self, output: &[u8], op: usize) {
        let old_end = self.base + self.len;
        let keep = old_end.saturating_sub(op).min(SLACK);
        if keep > 0 {
            let from = op - self.base;
            self.bytes.copy_within(from..from + keep, 0);
        }
        self.base = op;
        self.len = STASH.min(output.len() - op);
        self.bytes[keep..self.len].copy_from_slice(&output[op + keep..op + self.len]);
    }

    /// The last output position from which an iteration's writes stay inside the stretch.
    #[inline(always)]
    pub(crate) fn last_start(&self) -> usize {
        self.base + self.len - REACH
    }

    /// Puts back the caller's bytes past `op` that the loop may have overwritten.
    #[inline(always)]
    fn restore(&self, output: &mut [u8], op: usize) {
        let end = self.base + self.len;
        if op < end {
            let n = SLACK.min(end - op);
            let from = op - self.base;
            output[op..op + n].copy_from_slice(&self.bytes[from..from + n]);
        }
    }
}

/// The fast loop: runs while [`FAST_IN`] input and [`FAST_OUT`] output bytes remain, with
/// no bounds decisions inside. Returns whether the block ended. Matches reaching before
/// `output[0]` are `history`'s to copy: the one-shot decoder's dictionary, or the
/// streaming decoder's window. On return, with or without an error, `output[*op_out..]`
/// holds what it held on entry.
#[inline(always)]
pub(crate) fn fast_loop<K: FastKernel, H: History + ?Sized>(
    state: &Inflater,
    bits: &mut Bits<'_>,
    output: &mut [u8],
    op_out: &mut usize,
    history: &H,
) -> Result<bool, Error> {
    let mut op = *op_out;
    // The last input position from which a fast iteration may start.
    let Some(in_last) = bits.input.len().checked_sub(FAST_IN) else {
        return Ok(false);
    };
    if bits.ip > in_last || output.len() - op < FAST_OUT {
        return Ok(false);
    }
    let mut stash = Stash::new(output, op);
    let result = K::iterations(state, bits, output, &mut op, history, in_last, &mut stash);
    stash.restore(output, op);
    *op_out = op;
    result
}

/// The body of [`fast_loop`], chosen by the caller of [`inflate`] (and of the streaming
/// decoder's `fast`): [`SafeKernel`], this module's [`fast_iterations`], or a backend's own
/// (the x86 AVX2 backend's runs on raw pointers), which is how a backend replaces the hot
/// loop while this file stays free of `unsafe`.
pub(crate) trait FastKernel {
    /// Decodes symbols from `bits` into `output` at `*op` (advanced) while the input
    /// position is at most `in_last` (`input.len() - FAST_IN`) and the output position at
    /// most `output.len() - FAST_OUT`, moving `stash` along; returns at the end of the
    /// block (`true`) or an error. [`fast_loop`] calls it with `bits.ip <= in_last` and
    /// `output.len() - *op >= FAST_OUT`, and a kernel must not rely on more for memory
    /// safety.
    ///
    /// A kernel must give [`SafeKernel`]'s results for every input: the same bytes, the
    /// same error, the same `*op` and bit position on return (`bits.ip` may differ where
    /// the bit buffer holds more), or stop sooner and leave the rest to the tail loop. Its
    /// scratch (see [`Stash`]) must stay where [`SafeKernel`]'s does: iterations start no
    /// later than [`Stash::last_start`], write scratch at most [`REACH`] bytes past their
    /// start and at most [`SLACK`] bytes past the position they end at, and write nothing
    /// else past that position.
    fn iterations<H: History + ?Sized>(
        state: &Inflater,
        bits: &mut Bits<'_>,
        output: &mut [u8],
        op: &mut usize,
        history: &H,
        in_last: usize,
        stash: &mut Stash,
    ) -> Result<bool, Error>;
}

/// This module's fast loop ([`fast_iterations`]), safe code for every backend.
pub(crate) struct SafeKernel;

impl FastKernel for SafeKernel {
    #[inline(always)]
    fn iterations<H: History + ?Sized>(
        state: &Inflater,
        bits: &mut Bits<'_>,
        output: &mut [u8],
        op: &mut usize,
        history: &H,
        in_last: usize,
        stash: &mut Stash,
    ) -> Result<bool, Error> {
        if state.litlen_pairs {
            fast_iterations::<true, H>(state, bits, output, op, history, in_last, stash)
        } else {
            fast_iterations::<false, H>(state, bits, output, op, history, in_last, stash)
        }
    }
}

/// The body of [`fast_loop`], which has checked that it may start, for a literal/length
/// table with literal pairs (`PAIRS`) or without: then every literal entry is one literal,
/// and the output position moves on by one per entry without a look at the pair flag (see
/// [`put_literals`]).
///
/// Not inlined: each of the two loops is a function of its own, so that the register
/// allocator sees only the loop (inlined into the whole decoder, the two copies together
/// spilled more: see `backend::avx2`'s `RawKernel`, which is built the same way).
#[inline(never)]
fn fast_iterations<const PAIRS: bool, H: History + ?Sized>(
    state: &Inflater,
    bits: &mut Bits<'_>,
    output: &mut [u8],
    op_out: &mut usize,
    history: &H,
    in_last: usize,
    stash: &mut Stash,
) -> Result<bool, Error> {
    let litlen = &state.litlen;
    let dist = &state.dist;
    let mut op = *op_out;
    // The last output position from which a fast iteration may start. (The caller checked
    // the room; checked again here so the optimizer knows the subtraction does not wrap.)
    let Some(out_last) = output.len().checked_sub(FAST_OUT) else {
        return Ok(false);
    };
    // Each iteration starts with at least 56 bits in the buffer and the entry of the next
    // symbol already loaded: the load for the next symbol is issued before the current
    // match is copied, so its latency hides behind the copy. An iteration refills at most
    // twice (so it reads at most 15 bytes past `ip`) and writes at most 262 bytes (two
    // literal pairs and a longest match), scratch within the first `REACH` of them.
    bits.refill_fast();
    let mut entry = litlen[(bits.buf & LITLEN_MASK) as usize];
    'stretches: loop {
        // The iterations within one stretch of the stash, with their limit fixed for the
        // inner loop rather than carried from one iteration to the next (callgrind: 2.5%
        // fewer instructions on the mixed corpus).
        let check_at = out_last.min(stash.last_start());
        loop {
            if op > check_at {
                if op > out_last {
                    break 'stretches;
                }
                stash.advance(output, op);
                continue 'stretches;
            }
            if bits.ip > in_last {
                break 'stretches;
            }
            if is_literal(entry) {
                // Up to four literal entries per refill, each one literal or a pair: a main
                // table literal entry consumes at most `LITLEN_TABLE_BITS` (11) bits, so 12 of
                // the 56 remain after four. The output room as a slice of known length: the
                // literal stores index it with small offsets, so they need no bounds checks.
                let window = &mut output[op..op + 8];
                let mut k = put_literals::<PAIRS>(window, 0, entry);
                bits.consume_entry(entry);
                entry = litlen[(bits.buf & LITLEN_MASK) as usize];
                if is_literal(entry) {
                    k = put_literals::<PAIRS>(window, k, entry);
                    bits.consume_entry(entry);
                    entry = litlen[(bits.buf & LITLEN_MASK) as usize];
                    if is_literal(entry) {
                        k = put_literals::<PAIRS>(window, k, entry);
                        bits.consume_entry(entry);
                        entry = litlen[(bits.buf & LITLEN_MASK) as usize];
                        if is_literal(entry) {
                            k = put_literals::<PAIRS>(window, k, entry);
                            bits.consume_entry(entry);
                        }
                        op += k;
                        bits.refill_fast();
                        entry = litlen[(bits.buf & LITLEN_MASK) as usize];
                        continue;
                    }
                }
                op += k;
                // The entry was looked up from bits the refill keeps in place.
                bits.refill_fast();
            }
            if entry & EXCEPTIONAL != 0 {
                if entry & SUBTABLE != 0 {
                    entry = sub_entry(litlen, entry, bits.buf, LITLEN_TABLE_BITS);
                    if is_literal(entry) {
                        bits.consume_entry(entry);
                        output[op] = low_byte(entry >> 16);
                        op += 1;
                        bits.refill_fast();
                        entry = litlen[(bits.buf & LITLEN_MASK) as usize];
                        continue;
                    }
                }
                if entry & EXCEPTIONAL != 0 {
                    *op_out = op;
                    if entry & END_OF_BLOCK != 0 {
                        bits.consume_entry(entry);
                        return Ok(true);
                    }
                    return Err(bad_litlen(entry));
                }
            }
            let len = value_of(entry, bits.buf);
            bits.consume_entry(entry);
            let d = match distance(dist, bits) {
                Ok(d) => d,
                Err(e) => {
                    *op_out = op;
                    return Err(e);
                }
            };
            bits.refill_fast();
            entry = litlen[(bits.buf & LITLEN_MASK) as usize];
            if d > op {
                if let Err(e) = history.copy_before(output, op, d, len) {
                    *op_out = op;
                    return Err(e);
                }
            } else if d >= 16 && len <= SLACK {
                copy_short(output, op, d);
            } else {
                copy_match(output, op, d, len);
            }
            op += len;
        }
    }
    *op_out = op;
    Ok(false)
}

/// A match of at most [`SLACK`] bytes from at least 16 bytes back: two 16-byte moves,
/// whatever the length (the bytes past the match are scratch, see [`Stash`]). No branch on
/// the length, which in compressed text differs from one match to the next. The second
/// move may read bytes the first one wrote: it runs after it, and they are the match's.
/// (Copying longer matches in whole 16-byte moves too, libdeflate's way, measured no
/// faster: a longer stash reach and a bounds-checked loop.)
#[inline(always)]
fn copy_short(output: &mut [u8], op: usize, d: usize) {
    // The window as a start and a length (not a start and an end), so that the optimizer
    // knows its length and needs no checks for the moves inside it.
    let window = &mut output[op - d..][..d + SLACK];
    window.copy_within(0..16, d);
    window.copy_within(16..32, d + 16);
}

/// Stores the literal or literal pair of a main-table literal entry at `window[k]` and
/// returns the position after it. Both bytes are stored either way (a single literal's
/// entry holds its [`SINGLE`] flag above its symbol, a scratch byte), so the only
/// dependence on the entry's kind is the arithmetic of the returned position: one more
/// for a pair, whose flag bit (31) is clear.
#[inline(always)]
fn put_literals<const PAIRS: bool>(window: &mut [u8], k: usize, entry: u32) -> usize {
    // One 2-byte store: bits 16..=31 of the entry are the two bytes in order.
    window[k..k + 2].copy_from_slice(&low_u16(entry >> 16).to_le_bytes());
    if PAIRS {
        k + 2 - (entry >> 31) as usize
    } else {
        debug_assert!(
            entry & SINGLE != 0,
            "a literal pair in a table without pairs"
        );
        k + 1
    }
}

/// The history before a decoder's output buffer.
pub(crate) trait History {
    /// Writes the match of `len` bytes at distance `d` at `output[op..]`, where `d > op`:
    /// its first bytes come from before `output[0]`. The error if `d` reaches past the
    /// history. Called from the fast loop only, so up to [`SLACK`] bytes from `op` may be
    /// written, the ones past the match with scratch (see [`Stash`]).
    fn copy_before(&self, output: &mut [u8], op: usize, d: usize, len: usize) -> Result<(), Error>;
}

/// The one-shot decoder's history: the caller's dictionary, whose last byte comes right
/// before `output[0]`.
impl History for [u8] {
    #[cold]
    fn copy_before(&self, output: &mut [u8], op: usize, d: usize, len: usize) -> Result<(), Error> {
        copy_from_dict(output, op, d, len, self)
    }
}

/// A match that starts before the output: its first bytes come from the dictionary.
#[cold]
fn copy_from_dict(
    output: &mut [u8],
    op: usize,
    d: usize,
    len: usize,
    dict: &[u8],
) -> Result<(), Error> {
    let back = d - op;
    if back > dict.len() {
        return Err(Corruption::DeflateDistanceTooFar {
            distance: d,
            history: op + dict.len(),
        }
        .into());
    }
    let from_dict = back.min(len);
    let at = dict.len() - back;
    output[op..op + from_dict].copy_from_slice(&dict[at..at + from_dict]);
    if from_dict < len {
        // The rest starts at output[0]: a plain match of the same distance.
        copy_match(output, op + from_dict, d, len - from_dict);
    }
    Ok(())
}

/// Writes `len` bytes at `op`, each a copy of the byte `d` before it (`1 <= d <= op`,
/// `op + len <= output.len()`). Only `output[op..op + len]` is written.
///
/// The match and its source are taken as one window `output[op - d..op + len]`, so there
/// is one bounds check for the whole copy and the chunk moves below index a slice whose
/// length the compiler knows.
#[inline(always)]
pub(crate) fn copy_match(output: &mut [u8], op: usize, d: usize, len: usize) {
    let window = &mut output[op - d..op + len];
    if d >= len {
        // Source and destination are disjoint.
        let (src, dst) = window.split_at_mut(d);
        copy_disjoint(&src[..len], dst);
    } else if d >= 16 {
        copy_overlapping::<16>(window, d, len);
    } else if d >= 8 {
        copy_overlapping::<8>(window, d, len);
    } else if d == 1 {
        let byte = window[0];
        window[1..].fill(byte);
    } else {
        // A short period: copy the pattern, then twice as much, and so on. After each step
        // the bytes written are a whole number of periods, so copying from the start
        // again continues the pattern; source and destination never overlap.
        let mut done = 0;
        while done < len {
            let n = (d + done).min(len - done);
            window.copy_within(..n, d + done);
            done += n;
        }
    }
}

/// The match of [`copy_match`] in `window` (its source at 0, its destination at `d`) when
/// `len > d >= N`: every `N`-byte source chunk ends at least `N` bytes before its
/// destination, so it is final when read; the last chunk ends exactly at the end of the
/// match.
#[inline(always)]
fn copy_overlapping<const N: usize>(window: &mut [u8], d: usize, len: usize) {
    let mut i = 0;
    while i + N < len {
        window.copy_within(i..i + N, d + i);
        i += N;
    }
    window.copy_within(len - N..len, d + len - N);
}

/// Copies `src` to `dst` (equal lengths) with at most two overlapping moves per size class
/// below 32 bytes: the first chunk from the start, the second ending exactly at the end.
#[inline(always)]
fn copy_disjoint(src: &[u8], dst: &mut [u8]) {
    let n = dst.len();
    if n >= 16 {
        let mut i = 0;
        while i + 16 < n {
            dst[i..i + 16].copy_from_slice(&src[i..i + 16]);
            i += 16;
        }
        dst[n - 16..].copy_from_slice(&src[n - 16..]);
    } else if n >= 8 {
        dst[..8].copy_from_slice(&src[..8]);
        dst[n - 8..].copy_from_slice(&src[n - 8..]);
    } else if n >= 4 {
        dst[..4].copy_from_slice(&src[..4]);
        dst[n - 4..].copy_from_slice(&src[n - 4..]);
    } else if n >= 2 {
        dst[..2].copy_from_slice(&src[..2]);
        dst[n - 2..].copy_from_slice(&src[n - 2..]);
    } else if n == 1 {
        dst[0] = src[0];
    }
}

impl Inflater {
    /// Builds the fixed code's tables unless they are already loaded.
    pub(crate) fn load_fixed(&mut self) -> Result<(), Error> {
        if !self.fixed_loaded {
            self.litlen_pairs = tables::build(
                &mut self.litlen,
                LITLEN_TABLE_BITS,
                &tables::fixed_litlen_lens(),
                Kind::LitLen,
            )?;
            tables::build(
                &mut self.dist,
                DIST_TABLE_BITS,
                &tables::FIXED_DIST_LENS,
                Kind::Dist,
            )?;
            self.fixed_loaded = true;
        }
        Ok(())
    }
}
