//! Canonical Huffman decode tables for DEFLATE (RFC 1951 §3.2.2), packed for a decoder that
//! reads bits LSB-first from a 64-bit buffer.
//!
//! A table is indexed by the next `table_bits` input bits (the code's bits reversed, since
//! DEFLATE stores Huffman codes MSB-first in an LSB-first stream). A code no longer than
//! `table_bits` fills every slot whose low bits match it; a longer code lives in a subtable
//! that the main slot for its first `table_bits` bits points to, indexed by the bits after
//! those. Subtables are sized as zlib's `inflate_table` sizes them, so the largest tables any
//! valid code can need are 2342 entries (288 symbols, 11 main bits) and 402 (32 symbols, 8
//! bits) — the bounds zlib's `enough` program computes and libdeflate uses.
//!
//! An entry is one `u32`:
//!
//! ```text
//! bits  0..=7   bits to consume for this symbol: code length + extra bits of a length or
//!               distance, or the codes of a literal pair (a subtable pointer: the main
//!               table's bits); bits 5..=7 are zero (the decoder shifts by `entry & 63`)
//! bits  8..=15  in a literal entry: 11, the main literal/length table's index bits.
//!               In any other entry: bits 8..=11 the code length alone, the shift that
//!               exposes the extra bits (a subtable pointer: the subtable's index bits);
//!               bit 12 end of block; bit 13 subtable pointer; bit 14 exceptional
//!               (subtable pointer, end of block, or an invalid code); bit 15 set in
//!               every literal/length entry that is not a literal
//! bits 16..=31  literal byte (and in bit 31 the flag of a single literal, see below),
//!               length base, distance base, precode symbol or subtable start; for an
//!               invalid entry the forbidden symbol (286, 287, 30, 31) or 0xFFFF for a
//!               bit pattern no code of an incomplete code uses
//! ```
//!
//! A length or distance entry has no flag of its own (a length only bit 15, as every
//! literal/length entry that is not a literal), so the hot path tests one bit for
//! "literal" and one for "anything unusual", and consumes the code and its extra bits
//! with one shift.
//!
//! **The literal entry as a bit-field control word.** Bits 0..=15 of a literal entry are
//! the control operand of BMI1's `bextr` (start in bits 0..=7, length in bits 8..=15)
//! that extracts the next symbol's main-table index from the bit buffer *before* the
//! literal is consumed: `bextr(buf, entry) == (buf >> total) & 0x7FF`. The AVX2 backend's
//! loop computes the next index with that one instruction, so a run of literals is a chain
//! of `bextr` and a load per entry instead of a shift, a mask and a load: 5 cycles per
//! literal instead of 6 on Zen 3 (a microbenchmark of the two chains: 1.89 ns against
//! 2.22 ns per lookup), which is most of the time of a block coded mostly as literals.
//! Keeping the length field at 11 is why a literal entry carries no code length of its
//! own (a single literal's total is its code length; the decoders that take one literal
//! at a time look a pair's first code length up in the block's code lengths) and why the
//! literal flag is the other entries' bit 15 rather than one of its own.
//!
//! **Literal pairs.** Where the main literal/length table's `table_bits` hold a literal's
//! code followed by a second literal's whole code, the slot decodes both: the first
//! literal in bits 16..=23, the second in bits 24..=30, bit 31 clear ([`SINGLE`] set marks
//! a single literal, whose bits 24..=31 a decoder may store as a scratch byte) and both
//! codes' lengths together in bits 0..=4. Only second literals below 128 pair, so that
//! the flag fits: text, where pairs matter, is almost all below 128, and binary data has
//! literal codes too long to pair. A decoder that wants one literal at a time consumes
//! the first code alone ([`literal_code_len`]); the fast loop takes both. On text, where
//! most literal codes are 5 to 7 bits, this halves the table lookups on the decoder's
//! critical path for runs of literals (an idea from multi-symbol decoders such as Intel's
//! igzip; libdeflate decodes one symbol per lookup).
//!
//! **Building.** A block with a dynamic code builds its tables before its first symbol, so
//! the builder is a visible part of decoding: 8% of the decoder's time on the mixed corpus
//! at level 6 (`perf` sampling) when it stored every main-table slot of a code one at a
//! time and paired literals with a branch per slot. The main table is filled by doubling
//! (each code stored once, then block copies), going through the codes by length groups
//! with the next code kept bit-reversed (an increment in reversed order instead of a
//! reversal per code) and each entry made from a per-symbol template (no branch on the
//! symbol). Literal pairs are made per pair of codes that fit together, not per slot (see
//! [`pair_literals`]). On 4 MiB of testkit binary data compressed by libdeflate at level
//! 1 (64 dynamic blocks), callgrind counts 2.0M instructions for header reading and
//! table building together, against 6.1M with a pass over every slot for the pairs and a
//! reversal and a symbol match per code.

#![forbid(unsafe_code)]

use crate::error::Corruption;

/// Bits consumed by the entry (code plus extra bits).
pub(crate) const TOTAL_MASK: u32 = 0x1F;
/// In a literal/length table: set in every entry that is not a literal (a length, end of
/// block, subtable pointer or invalid code). Literal entries have the main table's index
/// bits (11) in bits 8..=15 instead, and so bit 15 clear.
pub(crate) const NOT_LITERAL: u32 = 1 << 15;
/// Subtable pointer, end of block or invalid code.
pub(crate) const EXCEPTIONAL: u32 = 1 << 14;
/// Subtable pointer.
pub(crate) const SUBTABLE: u32 = 1 << 13;
/// End of block.
pub(crate) const END_OF_BLOCK: u32 = 1 << 12;
/// In a literal entry: a single literal (clear: a pair, the second literal in bits
/// 24..=30).
pub(crate) const SINGLE: u32 = 1 << 31;
/// Value of an invalid entry that no symbol owns.
pub(crate) const UNASSIGNED: u32 = 0xFFFF;

/// Main-table index bits of the literal/length code.
pub(crate) const LITLEN_TABLE_BITS: u32 = 11;
/// Main-table index bits of the distance code.
pub(crate) const DIST_TABLE_BITS: u32 = 8;
/// Index bits of the code-length code (its codes are at most 7 bits: no subtables).
pub(crate) const PRECODE_TABLE_BITS: u32 = 7;
/// Entries the literal/length table can need (zlib's `enough 288 11 15`).
pub(crate) const LITLEN_ENOUGH: usize = 2342;
/// Entries the distance table can need (zlib's `enough 32 8 15`).
pub(crate) const DIST_ENOUGH: usize = 402;
/// Entries of the code-length code's table.
pub(crate) const PRECODE_ENOUGH: usize = 1 << PRECODE_TABLE_BITS;

/// Literal/length symbols a block may declare (HLIT at most 29 + 257).
pub(crate) const MAX_LITLEN_CODES: usize = 286;
/// Distance symbols a block may declare (HDIST at most 29 + 1).
pub(crate) const MAX_DIST_CODES: usize = 30;
/// Symbols of the fixed literal/length code, 286 and 287 included as unusable placeholders.
pub(crate) const FIXED_LITLEN_CODES: usize = 288;
/// Symbols of the fixed distance code, 30 and 31 included as unusable placeholders.
pub(crate) const FIXED_DIST_CODES: usize = 32;
/// Longest literal/length or distance code.
const MAX_CODE_LEN: usize = 15;

/// Length base for symbols 257..=285.
const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
/// Extra bits for symbols 257..=285.
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Distance base for symbols 0..=29.
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
/// Extra bits for distance symbols 0..=29.
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Whether a literal/length entry is a literal (a single one or a pair).
#[inline(always)]
pub(crate) fn is_literal(entry: u32) -> bool {
    entry & NOT_LITERAL == 0
}

/// The code length of a literal entry's literal, or a pair's first literal: what a decoder
/// that writes one literal at a time consumes. A single literal's total is its code
/// length; a pair's first is looked up in `lens`, the code lengths the table was built
/// from (only a dynamic block's code has pairs, and its lengths stay with the decoder
/// while the table is in use).
#[inline]
pub(crate) fn literal_code_len(entry: u32, lens: &[u8]) -> u32 {
    if entry & SINGLE != 0 {
        entry & TOTAL_MASK
    } else {
        u32::from(lens[((entry >> 16) & 0xFF) as usize])
    }
}

/// Which code a table is for: decides the entries and the error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The code-length code (must be complete).
    Precode,
    /// Literal/length.
    LitLen,
    /// Distance.
    Dist,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Precode => "code-length",
            Kind::LitLen => "literal/length",
            Kind::Dist => "distance",
        }
    }
}

/// An entry without its code length (bits 8..=11, and added to bits 0..=4): the symbol's
/// value and flags, and in bits 0..=4 its extra bits. `template + (len << 8) + len` is
/// the entry of the symbol with a code of `len` bits, `template + len` for a literal (see
/// [`length_fields`]).
#[expect(
    clippy::cast_possible_truncation,
    reason = "symbols are below 288 (`From` is not const)"
)]
const fn template(kind: Kind, sym: usize) -> u32 {
    let value = (sym as u32) << 16;
    match kind {
        Kind::Precode => value,
        Kind::LitLen => match sym {
            0..=255 => SINGLE | (LITLEN_TABLE_BITS << 8) | value,
            256 => NOT_LITERAL | EXCEPTIONAL | END_OF_BLOCK,
            257..=285 => {
                NOT_LITERAL
                    | ((LENGTH_BASE[sym - 257] as u32) << 16)
                    | LENGTH_EXTRA[sym - 257] as u32
            }
            _ => NOT_LITERAL | EXCEPTIONAL | value,
        },
        Kind::Dist => match sym {
            0..=29 => ((DIST_BASE[sym] as u32) << 16) | DIST_EXTRA[sym] as u32,
            _ => EXCEPTIONAL | value,
        },
    }
}

/// What [`build`] adds to a symbol's [`template`] for a code of `len` bits: the code
/// length in bits 0..=4, and in bits 8..=11 too unless the symbol is a literal
/// (`sym < lit_end`, `lit_end` 256 for a literal/length code and 0 for the others), whose
/// bits 8..=15 hold the main table's index bits. A select, not a branch on the symbol.
#[inline(always)]
fn length_fields(sym: usize, lit_end: usize, len: u32) -> u32 {
    let shifted = if sym < lit_end { 0 } else { len << 8 };
    shifted | len
}

/// [`template`] for every symbol of a code.
const fn templates<const N: usize>(kind: Kind) -> [u32; N] {
    let mut t = [0; N];
    let mut sym = 0;
    while sym < N {
        t[sym] = template(kind, sym);
        sym += 1;
    }
    t
}

const PRECODE_TEMPLATES: [u32; 19] = templates(Kind::Precode);
const LITLEN_TEMPLATES: [u32; FIXED_LITLEN_CODES] = templates(Kind::LitLen);
const DIST_TEMPLATES: [u32; FIXED_DIST_CODES] = templates(Kind::Dist);

/// The bit-reversed code after the bit-reversed `len`-bit code `rev`. Adding one to a code
/// turns its trailing ones to zeros and the zero above them to a one; reversed, that is
/// the highest zero bit below `len` and the ones above it. (After the all-ones code, the
/// last of a complete code, the result is meaningless and unused.)
#[inline(always)]
fn next_reversed(rev: u32, len: u32) -> u32 {
    let zeros = (!rev & ((1 << len) - 1)) | 1;
    let bit = 1 << (31 - zeros.leading_zeros());
    (rev & (bit - 1)) | bit
}

/// A main-table index as a `u16`.
#[inline(always)]
#[expect(
    clippy::cast_possible_truncation,
    reason = "main-table indices are below 2048"
)]
fn u16_of(index: u32) -> u16 {
    index as u16
}

/// A symbol number as an entry value (symbols are below 288).
#[inline]
#[expect(
    clippy::cast_possible_truncation,
    reason = "symbols are below 288 and table offsets below 2342"
)]
fn index_value(i: usize) -> u32 {
    i as u32
}

/// Builds the decode table of the canonical code whose code lengths are `lens` (symbol `i`
/// has a code of `lens[i]` bits, 0 = unused; every length is at most 15).
///
/// Rejects over-subscribed codes, and incomplete codes except the two zlib accepts for
/// literal/length and distance codes: no code at all (a block without matches may have an
/// empty distance code) and a single code of one bit. The code-length code must be
/// complete. Bit patterns an accepted incomplete code leaves unused decode to an invalid
/// entry.
///
/// Returns whether the table holds literal pairs (entries without [`SINGLE`]): always
/// `false` for a distance or code-length code. A decoder may run a loop without the pair
/// handling for a table without pairs (see `backend::avx2`'s `RawKernel`).
pub(crate) fn build(
    table: &mut [u32],
    table_bits: u32,
    lens: &[u8],
    kind: Kind,
) -> Result<bool, Corruption> {
    let mut count = [0u16; MAX_CODE_LEN + 1];
    for &len in lens {
        count[usize::from(len)] += 1;
    }
    count[0] = 0;

    // Kraft sum: `left` is the number of unused codes of the current length.
    let mut left: i32 = 1;
    for &c in &count[1..] {
        left = (left << 1) - i32::from(c);
        if left < 0 {
            return Err(Corruption::DeflateOversubscribedCode { code: kind.name() });
        }
    }
    let codes: usize = count.iter().map(|&c| usize::from(c)).sum();
    let main_len = 1usize << table_bits;
    if left > 0 {
        let allowed = kind != Kind::Precode && (codes == 0 || (codes == 1 && count[1] == 1));
        if !allowed {
            return Err(Corruption::DeflateIncompleteCode { code: kind.name() });
        }
        table[..main_len].fill(NOT_LITERAL | EXCEPTIONAL | (UNASSIGNED << 16));
        if codes == 0 {
            return Ok(false);
        }
    }

    // Symbols sorted by code length, then by symbol: canonical order.
    let mut offsets = [0u16; MAX_CODE_LEN + 2];
    for len in 1..=MAX_CODE_LEN {
        offsets[len + 1] = offsets[len] + count[len];
    }
    let mut sorted = [0u16; FIXED_LITLEN_CODES];
    for (sym, &len) in lens.iter().enumerate() {
        if len != 0 {
            let slot = &mut offsets[usize::from(len)];
            sorted[usize::from(*slot)] = sym_u16(sym);
            *slot += 1;
        }
    }

    let (templates, lit_end): (&[u32], usize) = match kind {
        Kind::Precode => (&PRECODE_TEMPLATES, 0),
        Kind::LitLen => (&LITLEN_TEMPLATES, 256),
        Kind::Dist => (&DIST_TEMPLATES, 0),
    };
    // The next code, bit-reversed: its main-table index. A longer code's first code is the
    // last one's successor with zeros appended, which reversed is the same number, so only
    // the increment within a length (`next_reversed`) changes it.
    let mut rev: u32 = 0;
    let mut done = 0; // symbols of `sorted` placed
    // The main table is filled by doubling (libdeflate's way): while the codes of `filled`
    // bits are placed, only `table[..1 << filled]` is written, each code at its one slot;
    // before the first longer code that region is final and is copied above itself, as the
    // slots whose low `filled` bits match hold the same entry. One store per code and a
    // few block copies instead of a strided store per slot. The codes go by length groups
    // (the sorted symbols of each length in turn), so nothing per symbol depends on its
    // length but the entry's length fields.
    let mut filled: u32 = 1;
    // The literals whose codes are shorter than `table_bits` (the only ones a second code
    // can follow in a main-table slot), in canonical order, so by code length: their
    // entries and their codes as table indices. Written for every symbol and kept by
    // advancing `lits` only for such literals (no branch on the symbol).
    let mut lit_entries = [0u32; FIXED_LITLEN_CODES];
    let mut lit_codes = [0u16; FIXED_LITLEN_CODES];
    let mut lits = 0;
    for len in 1..=table_bits {
        let n = usize::from(count[len as usize]);
        if n == 0 {
            continue;
        }
        double_up(table, &mut filled, len);
        let pairable = len < table_bits;
        for &sym in &sorted[done..done + n] {
            let sym = usize::from(sym);
            let entry = templates[sym] + length_fields(sym, lit_end, len);
            // The decoder shifts by `entry & 63`: bits 5..=7 must stay clear.
            debug_assert_eq!(entry & 0xE0, 0);
            table[rev as usize] = entry;
            lit_entries[lits] = entry;
            lit_codes[lits] = u16_of(rev);
            lits += usize::from((sym < 256) & pairable);
            rev = next_reversed(rev, len);
        }
        done += n;
    }
    double_up(table, &mut filled, table_bits);

    // Codes longer than `table_bits` (up to `MAX_CODE_LEN`, 15), in subtables.
    let mask = main_len - 1;
    let mut remaining = count;
    let mut next_sub = main_len;
    let mut sub_prefix = usize::MAX;
    let mut sub_start = 0;
    let mut sub_bits: u32 = 0;
    for len in table_bits + 1..=15 {
        let n = usize::from(count[len as usize]);
        for &sym in &sorted[done..done + n] {
            let sym = usize::from(sym);
            let entry = templates[sym] + length_fields(sym, lit_end, len);
            debug_assert_eq!(entry & 0xE0, 0);
            let reversed = rev as usize;
            let prefix = reversed & mask;
            if prefix != sub_prefix {
                // A new subtable: as many index bits as it takes for the remaining codes
                // that share this prefix to fill it.
                sub_prefix = prefix;
                sub_bits = len - table_bits;
                let mut room: i32 = 1 << sub_bits;
                loop {
                    room -= i32::from(remaining[(table_bits + sub_bits) as usize]);
                    if room <= 0 || (table_bits + sub_bits) as usize >= MAX_CODE_LEN {
                        break;
                    }
                    sub_bits += 1;
                    room <<= 1;
                }
                sub_start = next_sub;
                next_sub += 1 << sub_bits;
                if next_sub > table.len() {
                    // Cannot happen for a code that passed the Kraft check; kept so a
                    // mistake here is an error, not a panic.
                    return Err(Corruption::DeflateOversubscribedCode { code: kind.name() });
                }
                table[prefix] = NOT_LITERAL
                    | EXCEPTIONAL
                    | SUBTABLE
                    | (index_value(sub_start) << 16)
                    | (sub_bits << 8)
                    | table_bits;
            }
            let mut i = reversed >> table_bits;
            while i < 1 << sub_bits {
                table[sub_start + i] = entry;
                i += 1 << (len - table_bits);
            }
            remaining[len as usize] -= 1;
            rev = next_reversed(rev, len);
        }
        done += n;
    }
    if kind == Kind::LitLen {
        return Ok(pair_literals(
            &mut table[..main_len],
            table_bits,
            &lit_entries[..lits],
            &lit_codes[..lits],
        ));
    }
    Ok(false)
}

/// Turns every main-table literal entry whose slot also holds the whole code of a second
/// literal below 128 into a pair entry (see the module's comment). `entries` and `codes`
/// are the literals with codes shorter than `table_bits`, sorted by code length, and their
/// codes as table indices.
///
/// By pairs of codes rather than by slots: the slots where a first code of `l1` bits is
/// followed by a second of `l2` bits (`l1 + l2 <= table_bits`) are the first code's index
/// plus the second's shifted by `l1`, with any bits above both, one slot every
/// `1 << (l1 + l2)`. Each such slot is stored once (the codes are prefix-free) and the
/// others keep their single entries, so the work is the number of paired slots: little when
/// literal codes are long, as in binary data. (The pass over every slot this replaces,
/// reading each slot's second entry and selecting, cost about 2.9M of the 54M instructions
/// callgrind counted for 4 MiB of testkit binary data at libdeflate level 1.)
///
/// Returns whether it made any pair.
fn pair_literals(table: &mut [u32], table_bits: u32, entries: &[u32], codes: &[u16]) -> bool {
    let Some(&shortest) = entries.first() else {
        return false;
    };
    let shortest = shortest & TOTAL_MASK;
    let mut made = false;
    for (&first, &first_code) in entries.iter().zip(codes) {
        let l1 = first & TOTAL_MASK;
        if l1 + shortest > table_bits {
            // The later first codes are no shorter.
            break;
        }
        for (&second, &second_code) in entries.iter().zip(codes) {
            let l2 = second & TOTAL_MASK;
            if l1 + l2 > table_bits {
                break;
            }
            let byte = (second >> 16) & 0xFF;
            if byte >= 0x80 {
                continue;
            }
            made = true;
            // `first`'s bits 24..=30 are zero and its total is `l1`.
            let paired = ((first & !SINGLE) | (byte << 24)) + l2;
            let step = 1usize << (l1 + l2);
            let mut i = usize::from(first_code) | (usize::from(second_code) << l1);
            while i < table.len() {
                table[i] = paired;
                i += step;
            }
        }
    }
    made
}

/// Doubles the filled part of a main table (see [`build`]) until it is `1 << bits` slots.
#[inline]
fn double_up(table: &mut [u32], filled: &mut u32, bits: u32) {
    while *filled < bits {
        let n = 1 << *filled;
        table.copy_within(..n, n);
        *filled += 1;
    }
}

#[inline]
#[expect(
    clippy::cast_possible_truncation,
    reason = "symbols are below 288, main-table indices below 2048"
)]
fn sym_u16(sym: usize) -> u16 {
    sym as u16
}

/// Code lengths of the fixed literal/length code (RFC 1951 §3.2.6).
pub(crate) fn fixed_litlen_lens() -> [u8; FIXED_LITLEN_CODES] {
    let mut lens = [8u8; FIXED_LITLEN_CODES];
    lens[144..256].fill(9);
    lens[256..280].fill(7);
    lens
}

/// Code lengths of the fixed distance code: 32 codes of 5 bits.
pub(crate) const FIXED_DIST_LENS: [u8; FIXED_DIST_CODES] = [5; FIXED_DIST_CODES];

/// The order in which a dynamic block header lists the code-length code's lengths.
pub(crate) const PRECODE_ORDER: [u8; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The symbol and code length the canonical code of `lens` assigns to the LSB-first
    /// bits `bits`, found by trying every code (the test's independent decoder).
    fn decode(lens: &[u8], bits: usize) -> Option<(usize, u32)> {
        let mut code = 0u32;
        for len in 1..=MAX_CODE_LEN as u32 {
            for (sym, &l) in lens.iter().enumerate() {
                if u32::from(l) == len {
                    let reversed = (code.reverse_bits() >> (32 - len)) as usize;
                    if bits & ((1 << len) - 1) == reversed {
                        return Some((sym, len));
                    }
                    code += 1;
                }
            }
            code <<= 1;
        }
        None
    }

    /// A small xorshift generator for the random codes below.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// Code lengths of a random complete code of `n >= 2` codes, none longer than
    /// `max_len`, on `n` random symbols of `syms`: leaves of a random binary tree.
    fn random_code(rng: &mut Rng, syms: usize, n: usize, max_len: u8) -> [u8; 288] {
        let mut leaves = [0u8; 288];
        leaves[0] = 1;
        leaves[1] = 1;
        let mut count = 2;
        while count < n {
            let i = rng.below(count);
            if leaves[i] < max_len {
                leaves[i] += 1;
                leaves[count] = leaves[i];
                count += 1;
            }
        }
        let mut order: [usize; 288] = core::array::from_fn(|i| i);
        for i in (1..syms).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let mut lens = [0u8; 288];
        for (k, &sym) in order[..n].iter().enumerate() {
            lens[sym] = leaves[k];
        }
        lens
    }

    /// Builds tables for random complete codes of every kind and checks every 15-bit input
    /// against the codes themselves: the entry found (through a subtable if need be) is the
    /// symbol's, with its code length, and a main-table literal entry holds a second
    /// literal exactly when that literal's whole code follows within the main table's
    /// bits, and `build` says whether there are such pairs. Under Miri, three codes of at
    /// most 9 bits and every 9-bit input.
    #[test]
    fn tables_decode_random_codes() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let (rounds, width) = if cfg!(miri) { (3, 9) } else { (300, 15) };
        for round in 0..rounds {
            let (kind, syms, table_bits, max_len) = match round % 3 {
                0 => (Kind::LitLen, 288, LITLEN_TABLE_BITS, width),
                1 => (Kind::Dist, 32, DIST_TABLE_BITS, width),
                _ => (Kind::Precode, 19, PRECODE_TABLE_BITS, 7),
            };
            let n = 2 + rng.below(syms - 1);
            let max_len = if rng.below(2) == 0 {
                max_len
            } else {
                max_len.min(9)
            };
            // A complete code of `n` codes needs lengths up to at least log2(n).
            let max_len = max_len.max(usize::BITS - (n - 1).leading_zeros()) as u8;
            let lens = random_code(&mut rng, syms, n, max_len);
            let lens = &lens[..syms];
            // The symbol and length of every `width`-bit input, from the canonical codes.
            let mut expected = [(0u16, 0u8); 1 << 15];
            let expected = &mut expected[..1 << width];
            let mut code = 0u32;
            for len in 1..=15u8 {
                for (sym, &l) in lens.iter().enumerate() {
                    if l == len {
                        let rev = (code.reverse_bits() >> (32 - u32::from(len))) as usize;
                        for slot in (rev..1 << width).step_by(1 << len) {
                            expected[slot] = (sym as u16, len);
                        }
                        code += 1;
                    }
                }
                code <<= 1;
            }
            let mut table = [0u32; LITLEN_ENOUGH];
            let pairs = build(&mut table, table_bits, lens, kind).unwrap();
            // The flag a decoder trusts to leave the pair handling out: exactly whether a
            // main-table entry holds a pair.
            let any_pair = kind == Kind::LitLen
                && table[..1 << table_bits]
                    .iter()
                    .any(|&e| is_literal(e) && e & SINGLE == 0);
            assert_eq!(pairs, any_pair, "round {round}");
            let mask = (1 << table_bits) - 1;
            for bits in 0..1 << width {
                let (sym, len) = expected[bits];
                let (sym, len) = (usize::from(sym), u32::from(len));
                let mut entry = table[bits & mask];
                if entry & SUBTABLE != 0 {
                    let start = (entry >> 16) as usize;
                    let index_bits = (entry >> 8) & 0xF;
                    entry = table[start + ((bits >> table_bits) & ((1 << index_bits) - 1))];
                }
                let literal = kind == Kind::LitLen && sym < 256;
                // A literal's entry: the flag of a single literal, the main table's index
                // bits where other entries have their code length, the symbol, the code
                // length (see the module's comment).
                let single = if literal {
                    SINGLE | (LITLEN_TABLE_BITS << 8) | ((sym as u32) << 16) | len
                } else {
                    template(kind, sym) + (len << 8) + len
                };
                let pair = (literal && len <= table_bits)
                    .then(|| expected[bits >> len])
                    .filter(|&(s, l)| s < 128 && len + u32::from(l) <= table_bits);
                match pair {
                    Some((s, l)) => assert_eq!(
                        entry,
                        ((single & !SINGLE) | (u32::from(s) << 24)) + u32::from(l),
                        "round {round}, bits {bits:#x}"
                    ),
                    None => assert_eq!(entry, single, "round {round}, bits {bits:#x}"),
                }
            }
        }
    }

    #[test]
    fn literal_pairs_decode_as_two_single_literals() {
        // Short literal codes (1, 2, 4 bits) pair up; 'd' (9 bits) pairs only with the
        // shortest; end-of-block and a length code never pair, nor does 0xE9 (2 bits) as a
        // second literal (above 127), though it does as a first.
        let mut lens = [0u8; 286];
        lens[usize::from(b'a')] = 1;
        lens[usize::from(b'b')] = 2;
        lens[usize::from(b'c')] = 4;
        lens[0xE9] = 4;
        lens[256] = 5;
        lens[257] = 5;
        lens[258] = 5;
        lens[usize::from(b'd')] = 9;
        lens[259] = 9;
        lens[260] = 8;
        lens[261] = 7;
        lens[262] = 6;
        let mut table = [0u32; LITLEN_ENOUGH];
        build(&mut table, LITLEN_TABLE_BITS, &lens, Kind::LitLen).unwrap();
        let mut pairs = 0;
        // Every slot natively; every 13th under Miri, where the reference decoder is slow.
        let stride = if cfg!(miri) { 13 } else { 1 };
        for (i, &entry) in table[..1 << LITLEN_TABLE_BITS]
            .iter()
            .enumerate()
            .step_by(stride)
        {
            let (sym1, l1) = decode(&lens, i).unwrap();
            let second = decode(&lens, i >> l1).filter(|&(s, l2)| s < 128 && l1 + l2 <= 11);
            if sym1 >= 256 {
                assert!(!is_literal(entry), "slot {i}");
                continue;
            }
            assert!(is_literal(entry), "slot {i}");
            assert_eq!((entry >> 16) & 0xFF, sym1 as u32, "slot {i}");
            // `bextr`'s length: the next index is the 11 bits after what the entry takes.
            assert_eq!((entry >> 8) & 0xFF, LITLEN_TABLE_BITS, "slot {i}");
            assert_eq!(literal_code_len(entry, &lens), l1, "slot {i}");
            match second {
                Some((sym2, l2)) => {
                    pairs += 1;
                    assert_eq!(entry & SINGLE, 0, "slot {i}");
                    assert_eq!(entry >> 24, sym2 as u32, "slot {i}");
                    assert_eq!(entry & TOTAL_MASK, l1 + l2, "slot {i}");
                }
                None => {
                    assert_eq!(entry >> 24, SINGLE >> 24, "slot {i}");
                    assert_eq!(entry & TOTAL_MASK, l1, "slot {i}");
                }
            }
        }
        assert!(pairs > 1000 / stride, "{pairs}");
    }
}
