//! Length-limited Huffman codes for the compressor.
//!
//! [`build_lengths`] turns symbol frequencies into code lengths no longer than a limit:
//!
//! 1. sort the used symbols by frequency (ties by symbol, so the result is deterministic);
//! 2. build the Huffman tree with the two-queue method (the leaves are sorted, and the
//!    internal nodes are created in non-decreasing weight order, so the two lightest
//!    nodes are always at the heads of the two queues) and read every leaf's depth;
//! 3. clamp depths above the limit to the limit and repair the Kraft sum as miniz and
//!    zlib do: while the code is over-subscribed, drop one leaf from the deepest level and
//!    split a leaf from the deepest level above it into two (each step lowers the Kraft
//!    sum by exactly one unit of 2^-limit);
//! 4. hand the lengths out again, longest to the least frequent symbols.
//!
//! Fewer than two used symbols get a complete two-symbol one-bit code (the used symbol and
//! the lowest other one), which every decoder accepts (zlib and this crate's inflater
//! reject most incomplete codes).
//!
//! [`canonical_codes`] assigns the canonical codes of RFC 1951 §3.2.2, bit-reversed for
//! the LSB-first bit writer.

#![forbid(unsafe_code)]

/// Most symbols an alphabet of the compressor has (literal/length: 288 with the fixed
/// code's placeholders).
pub(crate) const MAX_SYMS: usize = 288;

/// Writes the code length of every symbol of `freqs` into `lens` (0 for unused symbols),
/// no length above `max_len` (at most 15). `lens` and `freqs` have the same length, at
/// most [`MAX_SYMS`], at least 2, and at most `2^max_len` symbols are used.
pub(crate) fn build_lengths(freqs: &[u32], max_len: u32, lens: &mut [u8]) {
    let n = freqs.len().min(lens.len()).min(MAX_SYMS);
    let max_len = max_len.clamp(1, 15) as usize;
    lens.fill(0);
    // Sorted leaves: frequency << 9 | symbol (symbols < 512; frequencies < 2^23 because a
    // block holds fewer than 2^17 symbols).
    let mut leaves = [0u32; MAX_SYMS];
    let mut used = 0;
    for (sym, &f) in freqs[..n].iter().enumerate() {
        if f != 0 {
            #[expect(
                clippy::cast_possible_truncation,
                reason = "sym < 288, frequencies below 2^23"
            )]
            {
                leaves[used] = f.min((1 << 23) - 1) << 9 | sym as u32;
            }
            used += 1;
        }
    }
    if used < 2 {
        let first = if used == 1 {
            (leaves[0] & 511) as usize
        } else {
            0
        };
        let second = usize::from(first == 0);
        if let Some(l) = lens.get_mut(first) {
            *l = 1;
        }
        if let Some(l) = lens.get_mut(second) {
            *l = 1;
        }
        return;
    }
    let leaves = &mut leaves[..used];
    leaves.sort_unstable();

    // Two-queue Huffman construction. Internal node i has weight `node_w[i]`; `parent`
    // records, for every leaf (index < used) and every internal node (index used + i),
    // the internal node it hangs from.
    let mut node_w = [0u32; MAX_SYMS];
    let mut parent = [0u16; 2 * MAX_SYMS];
    let (mut li, mut ni, mut nodes) = (0usize, 0usize, 0usize);
    while nodes < used - 1 {
        let mut w = 0u32;
        for _ in 0..2 {
            let take_leaf = li < used && (ni >= nodes || leaves[li] >> 9 <= node_w[ni]);
            #[expect(clippy::cast_possible_truncation, reason = "nodes < 288")]
            if take_leaf {
                w += leaves[li] >> 9;
                parent[li] = nodes as u16;
                li += 1;
            } else {
                w += node_w[ni];
                parent[used + ni] = nodes as u16;
                ni += 1;
            }
        }
        node_w[nodes] = w;
        nodes += 1;
    }
    // Depths: the root is the last node (depth 0); a node's parent comes after it.
    let mut depth = [0u8; MAX_SYMS];
    for i in (0..nodes.saturating_sub(1)).rev() {
        depth[i] = depth[usize::from(parent[used + i])] + 1;
    }
    let mut count = [0u32; 16];
    let mut overflow = false;
    for &p in &parent[..used] {
        let d = usize::from(depth[usize::from(p)]) + 1;
        if d > max_len {
            overflow = true;
        }
        count[d.min(max_len)] += 1;
    }
    if overflow {
        let mut total: u32 = (1..=max_len).map(|l| count[l] << (max_len - l)).sum();
        while total > 1 << max_len && count[max_len] > 0 {
            count[max_len] -= 1;
            for l in (1..max_len).rev() {
                if count[l] != 0 {
                    count[l] -= 1;
                    count[l + 1] += 2;
                    break;
                }
            }
            total -= 1;
        }
    }
    // Longest codes to the least frequent symbols.
    let mut k = 0;
    for l in (1..=max_len).rev() {
        for _ in 0..count[l] {
            if let Some(&leaf) = leaves.get(k) {
                #[expect(clippy::cast_possible_truncation, reason = "l <= 15")]
                if let Some(slot) = lens.get_mut((leaf & 511) as usize) {
                    *slot = l as u8;
                }
            }
            k += 1;
        }
    }
}

/// Canonical codes (RFC 1951 §3.2.2) for `lens`, bit-reversed into `codes` so that they can
/// be written LSB-first.
pub(crate) fn canonical_codes(lens: &[u8], codes: &mut [u16]) {
    let mut count = [0u16; 16];
    for &l in lens {
        count[usize::from(l & 15)] += 1;
    }
    count[0] = 0;
    let mut next = [0u16; 16];
    let mut code = 0u16;
    for l in 1..16 {
        code = (code.wrapping_add(count[l - 1])) << 1;
        next[l] = code;
    }
    for (&l, c) in lens.iter().zip(codes.iter_mut()) {
        let l = usize::from(l & 15);
        if l == 0 {
            *c = 0;
            continue;
        }
        let v = next[l];
        next[l] = v.wrapping_add(1);
        *c = v.reverse_bits() >> (16 - l);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kraft(lens: &[u8]) -> u64 {
        lens.iter()
            .filter(|&&l| l != 0)
            .map(|&l| 1u64 << (15 - l))
            .sum()
    }

    #[test]
    fn fibonacci_frequencies_are_length_limited() {
        for (n, max) in [(288usize, 15u32), (30, 15), (19, 7), (40, 15), (25, 7)] {
            let mut freqs = std::vec![0u32; n];
            let (mut a, mut b) = (1u32, 1u32);
            for f in freqs.iter_mut() {
                *f = a;
                let c = a.saturating_add(b).min(1 << 22);
                a = b;
                b = c;
            }
            let mut lens = std::vec![0u8; n];
            build_lengths(&freqs, max, &mut lens);
            assert!(
                lens.iter().all(|&l| l >= 1 && u32::from(l) <= max),
                "{lens:?}"
            );
            assert_eq!(kraft(&lens), 1 << 15, "complete code for n={n} max={max}");
            // The limit was needed: unlimited, the least frequent symbols would be n - 1
            // deep.
            assert!(n - 1 > max as usize);
            assert_eq!(lens.iter().map(|&l| u32::from(l)).max(), Some(max));
        }
    }

    #[test]
    fn codes_are_complete_and_prefix_free() {
        let mut rng = 0x1234_5678_9abc_def0u64;
        // Under Miri a few rounds: the pairwise prefix check is quadratic in the alphabet.
        let rounds = if cfg!(miri) { 12 } else { 500 };
        for round in 0..rounds {
            let max = if round % 2 == 0 { 15 } else { 7 };
            // The precode (limit 7) has 19 symbols; the others up to 288.
            let n = if max == 7 {
                2 + round % 18
            } else {
                2 + round % 287
            };
            let mut freqs = std::vec![0u32; n];
            for f in freqs.iter_mut() {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                *f = if rng.is_multiple_of(3) {
                    0
                } else {
                    (rng >> 20) as u32 % (1 + (round as u32 * 37) % 70_000)
                };
            }
            let mut lens = std::vec![0u8; n];
            build_lengths(&freqs, max, &mut lens);
            let used = lens.iter().filter(|&&l| l != 0).count();
            assert!(used >= 2);
            assert_eq!(kraft(&lens), 1 << 15, "round {round}");
            assert!(lens.iter().all(|&l| u32::from(l) <= max));
            for (s, &f) in freqs.iter().enumerate() {
                if f != 0 {
                    assert_ne!(lens[s], 0);
                }
            }
            let mut codes = std::vec![0u16; n];
            canonical_codes(&lens, &mut codes);
            for i in 0..n {
                for j in 0..n {
                    if i != j && lens[i] != 0 && lens[j] != 0 && lens[i] <= lens[j] {
                        let m = (1u16 << lens[i]) - 1;
                        assert_ne!(codes[i], codes[j] & m, "prefix clash {i} {j}");
                    }
                }
            }
        }
    }

    #[test]
    fn fewer_than_two_symbols_get_a_complete_code() {
        let mut lens = [9u8; 30];
        build_lengths(&[0; 30], 15, &mut lens);
        assert_eq!(&lens[..3], &[1, 1, 0]);
        let mut freqs = [0u32; 30];
        freqs[0] = 5;
        build_lengths(&freqs, 15, &mut lens);
        assert_eq!(&lens[..3], &[1, 1, 0]);
        freqs[0] = 0;
        freqs[7] = 5;
        build_lengths(&freqs, 15, &mut lens);
        assert_eq!((lens[0], lens[7], kraft(&lens)), (1, 1, 1 << 15));
    }
}
