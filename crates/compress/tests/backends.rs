//! Every backend this machine runs against `Scalar`: the same compressed bytes, the same
//! decoded bytes and errors, and the same buffer contents around them, over edge lengths,
//! misaligned buffers, every output capacity near the result's size, prefixes and
//! dictionaries, and random (hostile) blocks.

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "tests: a panic is a failure"
)]

use offload_compress::{Auto, Backend, Codec, Error, Scalar, deflate, lz4};
use offload_testkit::corpus::{self, Kind};
use offload_testkit::{Rng, select_backends};

fn others() -> Vec<(&'static str, Auto)> {
    select_backends(
        "offload-compress",
        Backend::ALL
            .iter()
            .map(|&b| (b.name(), Auto::with_backend(b)))
            .collect(),
    )
    .into_iter()
    .filter(|(name, _)| *name != "scalar")
    .collect()
}

/// [`others`] for a test of kernels `Avx512` takes from `Avx2` (the LZ4 decoder, Deflate
/// and inflate): under Miri, whose emulation is slow, without `Avx512`, whose calls there
/// reach the same `Avx2` functions that Miri runs under `Avx2`'s name. Natively every
/// backend runs every test.
fn others_shared() -> Vec<(&'static str, Auto)> {
    others()
        .into_iter()
        .filter(|(name, _)| !(cfg!(miri) && *name == "avx512"))
        .collect()
}

fn data() -> Vec<u8> {
    let n = if cfg!(miri) { 3000 } else { 200_000 };
    let mut d = corpus::generate(Kind::Logs, n / 2, 1);
    d.extend(corpus::generate(Kind::Text, n / 4, 2));
    d.extend(corpus::generate(Kind::Random, n / 8, 3));
    d.extend(core::iter::repeat_n(b'z', n / 8));
    d
}

fn lengths(max: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..=if cfg!(miri) { 40 } else { 300 }).collect();
    for n in [1000, 4095, 4096, 65_535, 65_536, 65_547, 100_000, 200_000] {
        if n <= max {
            v.push(n);
        }
    }
    v
}

#[test]
fn compress_identical() {
    let d = data();
    let mut ws = lz4::Workspace::new();
    for (name, codec) in others() {
        for len in lengths(d.len() - 8) {
            for misalign in [0, 1, 7] {
                let input = &d[misalign..misalign + len];
                for accel in [1, 5] {
                    let mut a = vec![0u8; lz4::max_compressed_len(len)];
                    let mut b = a.clone();
                    let ra = Scalar.lz4_compress_block(&mut ws, input, &mut a, accel);
                    let rb = codec.lz4_compress_block(&mut ws, input, &mut b, accel);
                    assert_eq!(ra, rb, "{name} len {len}");
                    assert!(a == b, "{name} len {len} misalign {misalign}");
                    // Into exactly the room the block needs: the limited-output path, the
                    // same bytes.
                    let n = ra.unwrap();
                    let mut exact = vec![0u8; n];
                    let rc = codec.lz4_compress_block(&mut ws, input, &mut exact, accel);
                    assert_eq!(rc, Ok(n), "{name} len {len} exact");
                    assert!(
                        exact == a[..n],
                        "{name} len {len} misalign {misalign} exact"
                    );
                }
            }
        }
    }
}

/// Deflate level 1 (whose parser `Avx2` runs on raw pointers) and level 6 (whose chain
/// walk it runs so; see also `deflate_chain_walk_identical`): the same bytes, or the same error, on every backend, over edge lengths, misaligned
/// inputs, a whole run of 0xFF to the end (the last positions' reads) and outputs one byte
/// too small.
#[test]
fn deflate_identical() {
    let mut d = data();
    d.extend(core::iter::repeat_n(0xFF, 300));
    let mut da = Box::new(deflate::Deflater::new());
    let mut db = Box::new(deflate::Deflater::new());
    // Under Miri (slow: a call builds Huffman codes in the interpreter) a sample of the
    // lengths, level 1 only (`deflate_chain_walk_identical` runs the chain walk there).
    let mut ls = if cfg!(miri) {
        vec![0, 1, 4, 5, 9, 17, 40, 300]
    } else {
        lengths(d.len() - 8)
    };
    ls.push(d.len() - 7);
    let levels: &[u32] = if cfg!(miri) { &[1] } else { &[1, 6] };
    for (name, codec) in others_shared() {
        for &len in &ls {
            for misalign in [0, 1, 7] {
                if misalign + len > d.len() || (cfg!(miri) && misalign == 1) {
                    continue;
                }
                let input = &d[d.len() - len - misalign..d.len() - misalign];
                for &level in levels {
                    let label = format!("{name} len {len} misalign {misalign} level {level}");
                    let n = same_deflate(codec, (&mut da, &mut db), input, level, &label).unwrap();
                    if n > 0 {
                        let mut short = vec![0u8; n - 1];
                        let rc = codec.deflate(&mut db, level, input, &mut short);
                        assert_eq!(
                            rc,
                            Scalar.deflate(&mut da, level, input, &mut short),
                            "{name} len {len} level {level} short"
                        );
                    }
                }
            }
        }
    }
}

/// The hash-chain levels (`Avx2` walks the chains on raw pointers): records of a few
/// shapes repeated with small edits through more than 32 KiB, so chains are deep,
/// candidates agree for a while and then differ, matches reach 258 bytes and positions
/// cross 32 768; the data ends inside a repeat, so the last searches are cut short by the
/// end. Every backend writes `Scalar`'s bytes at a greedy, a lazy and a two-ahead level
/// (under Miri, the lazy level on one length).
#[test]
fn deflate_chain_walk_identical() {
    let mut rng = Rng::new(61);
    let shapes: Vec<Vec<u8>> = (0..6).map(|i| rng.bytes(40 + 50 * i)).collect();
    let mut d = Vec::new();
    while d.len() < 34_000 {
        let mut rec = shapes[rng.below(shapes.len())].clone();
        for _ in 0..rng.below(4) {
            let at = rng.below(rec.len());
            rec[at] = rng.bytes(1)[0];
        }
        d.extend_from_slice(&rec);
    }
    d.extend_from_within(..300);
    let (levels, lens): (&[u32], &[usize]) = if cfg!(miri) {
        (&[6], &[33_100])
    } else {
        (&[2, 6, 9], &[1000, 32_768, 33_100, d.len()])
    };
    let mut da = Box::new(deflate::Deflater::new());
    let mut db = Box::new(deflate::Deflater::new());
    for (name, codec) in others_shared() {
        for &len in lens {
            let input = &d[d.len() - len..];
            for &level in levels {
                let label = format!("{name} len {len} level {level}");
                same_deflate(codec, (&mut da, &mut db), input, level, &label).unwrap();
            }
        }
    }
}

/// Deflates `input` at `level` with `Scalar` (deflater `da`) and `codec` (`db`) into
/// outputs of `deflate_bound` bytes; asserts the same result and the same bytes, and
/// returns the result.
fn same_deflate(
    codec: Auto,
    (da, db): (&mut deflate::Deflater, &mut deflate::Deflater),
    input: &[u8],
    level: u32,
    label: &str,
) -> Result<usize, Error> {
    let mut a = vec![0u8; deflate::deflate_bound(input.len())];
    let mut b = a.clone();
    let ra = Scalar.deflate(da, level, input, &mut a);
    let rb = codec.deflate(db, level, input, &mut b);
    assert_eq!(ra, rb, "{label}");
    assert!(a == b, "{label}");
    ra
}

/// Decodes `block` with both codecs into buffers of `cap` bytes (filled with 0xA5) at
/// `start`, with `dict`; compares results and whole buffers.
fn same_decode(codec: Auto, name: &str, block: &[u8], prefix: &[u8], cap: usize, dict: &[u8]) {
    let mut a = vec![0xA5u8; prefix.len() + cap];
    a[..prefix.len()].copy_from_slice(prefix);
    let mut b = a.clone();
    let ra = Scalar.lz4_decompress_block(block, &mut a, prefix.len(), dict);
    let rb = codec.lz4_decompress_block(block, &mut b, prefix.len(), dict);
    assert_eq!(ra, rb, "{name}: cap {cap}, prefix {}", prefix.len());
    if ra.is_ok() {
        assert!(a == b, "{name}: cap {cap}, prefix {}", prefix.len());
    }
}

#[test]
fn decompress_identical_at_every_capacity() {
    let d = data();
    let mut ws = lz4::Workspace::new();
    let step = if cfg!(miri) { 13 } else { 1 };
    for (name, codec) in others_shared() {
        for len in lengths(d.len() - 8).into_iter().step_by(step) {
            let input = &d[..len];
            let mut block = vec![0u8; lz4::max_compressed_len(len)];
            let n = Scalar
                .lz4_compress_block(&mut ws, input, &mut block, 1)
                .unwrap();
            let block = &block[..n];
            for cap in [
                len.saturating_sub(1),
                len,
                len + 1,
                len + 31,
                len + 64,
                len + 65,
                len + 200,
            ] {
                same_decode(codec, name, block, &[], cap, &[]);
            }
        }
        // Misaligned input and output slices.
        let input = &d[..d.len().min(50_000)];
        let mut block = vec![0u8; lz4::max_compressed_len(input.len()) + 8];
        let n = Scalar
            .lz4_compress_block(&mut ws, input, &mut block[3..], 1)
            .unwrap();
        for shift in [0, 1, 5] {
            let mut a = vec![0u8; input.len() + 100];
            let mut b = a.clone();
            let ra = Scalar.lz4_decompress_block(&block[3..3 + n], &mut a[shift..], 0, &[]);
            let rb = codec.lz4_decompress_block(&block[3..3 + n], &mut b[shift..], 0, &[]);
            assert_eq!(ra, rb);
            assert!(a == b);
        }
    }
}

#[test]
fn prefix_and_dictionary_identical() {
    let d = data();
    let (history, input) = d.split_at(d.len() / 2);
    let input = &input[..input.len().min(20_000)];
    // Blocks that reach into the history: compressed as linked blocks of `history ++ input`.
    let mut ws = lz4::Workspace::new();
    let mut joined = history.to_vec();
    joined.extend_from_slice(input);
    let mut block = vec![0u8; lz4::max_compressed_len(joined.len())];
    Scalar
        .lz4_compress_linked(&mut ws, &joined[..history.len()], 0, &mut block, 1)
        .unwrap();
    let n = Scalar
        .lz4_compress_linked(&mut ws, &joined, history.len(), &mut block, 1)
        .unwrap();
    let block = &block[..n];
    for (name, codec) in others_shared() {
        for split in [0, 1, history.len() / 2, history.len() - 1, history.len()] {
            let (dict, prefix) = history.split_at(split);
            for cap in [input.len(), input.len() + 70] {
                same_decode(codec, name, block, prefix, cap, dict);
            }
        }
        // Without enough history: both refuse the same way.
        same_decode(
            codec,
            name,
            block,
            &history[history.len() - 100..],
            input.len(),
            &[],
        );
    }
}

#[test]
fn random_blocks_identical() {
    let mut rng = Rng::new(77);
    let rounds = if cfg!(miri) { 30 } else { 20_000 };
    let d = data();
    for (name, codec) in others_shared() {
        for _ in 0..rounds {
            let len = rng.below(200);
            let mut block = rng.bytes(len);
            // Mostly-valid blocks: a real block with a few bytes changed.
            if rng.below(2) == 0 && len > 0 {
                let start = rng.below(d.len() - 300);
                let mut ws = lz4::Workspace::new();
                let mut real = vec![0u8; 600];
                let n = Scalar
                    .lz4_compress_block(&mut ws, &d[start..start + 300], &mut real, 1)
                    .unwrap();
                real.truncate(n);
                for _ in 0..1 + rng.below(3) {
                    let at = rng.below(real.len());
                    real[at] ^= 1 << rng.below(8);
                }
                block = real;
            }
            let prefix_len = rng.below(100);
            let prefix = &d[..prefix_len];
            same_decode(codec, name, &block, prefix, rng.below(400), &[]);
        }
    }
}

/// Adler-32 and CRC-32 on every backend equal `Scalar`'s, for every length up to a few
/// vectors, at every misalignment, from several starting values (sums near the modulus
/// among them), on all-0xFF data (the largest lane sums) and across the vector kernels'
/// reduction points (32 KiB for Adler-32 on Avx2, 64 KiB on Avx512).
#[test]
fn checksums_identical() {
    let mut rng = Rng::new(11);
    let max = if cfg!(miri) { 200 } else { 100_000 };
    let mut inputs: Vec<Vec<u8>> = vec![data()[..max.min(200_000)].to_vec(), vec![0xFF; max]];
    inputs.push((0..max).map(|_| rng.next_u64() as u8).collect());
    let starts = [1u32, 0, 0xFFF0_FFF0, 0xFFF0_0000 | 65_520, 0x1234_5678];
    let mut lens: Vec<usize> = (0..=if cfg!(miri) { 70 } else { 600 }).collect();
    if !cfg!(miri) {
        lens.extend([
            4095,
            32_767,
            32_768,
            32_769,
            65_535,
            65_536,
            65_536 + 31,
            65_536 + 63,
            65_536 + 64,
            99_999,
        ]);
    }
    for (name, codec) in others() {
        for &len in &lens {
            for (i, input) in inputs.iter().enumerate() {
                for (m, misalign) in [0, 1, 7].into_iter().enumerate() {
                    // Under Miri, which emulates every vector instruction, each length runs
                    // once, on one input at one misalignment, the pairs taking turns
                    // (every pair meets about 8 lengths); natively, every pair.
                    if cfg!(miri) && (i, m) != (len % 3, (len / 3) % 3) {
                        continue;
                    }
                    let Some(data) = input.get(misalign..misalign + len) else {
                        continue;
                    };
                    for start in starts {
                        assert_eq!(
                            codec.adler32(start, data),
                            Scalar.adler32(start, data),
                            "{name} adler32 len {len} start {start:#x}"
                        );
                    }
                    assert_eq!(
                        codec.crc32(0, data),
                        Scalar.crc32(0, data),
                        "{name} crc32 len {len}"
                    );
                }
            }
        }
    }
}

/// Where each sequence of a valid block lies: the token's position in the block, the
/// offset's position (`None` for the last, literals-only sequence), and the output position
/// where its match starts.
fn sequences(block: &[u8]) -> Vec<(usize, Option<usize>, usize)> {
    let length = |ip: &mut usize, mut len: usize| {
        loop {
            let byte = block[*ip];
            *ip += 1;
            len += usize::from(byte);
            if byte != 255 {
                return len;
            }
        }
    };
    let (mut ip, mut op, mut out) = (0, 0, Vec::new());
    loop {
        let token = block[ip];
        let at = ip;
        ip += 1;
        let mut literals = usize::from(token >> 4);
        if literals == 15 {
            literals = length(&mut ip, 15);
        }
        ip += literals;
        op += literals;
        if ip == block.len() {
            out.push((at, None, op));
            return out;
        }
        out.push((at, Some(ip), op));
        ip += 2;
        let mut len = usize::from(token & 15);
        if len == 15 {
            len = length(&mut ip, 15);
        }
        op += len + 4;
    }
}

/// Valid blocks with one sequence's offset replaced by a hostile or boundary value (0, 1,
/// 7, 8, 15, 16, 31, 32, exactly the output written so far, one more, 65535) — in the
/// backends' fast loops' straight path (short literals and match), and behind long literal
/// runs (up to thousands of bytes, so the length extensions have runs of 255), long
/// matches, short offsets and dictionary references — and the same blocks cut short at
/// every sequence's token, offset and following byte: the same result and bytes as
/// `Scalar`, with and without a prefix, at the exact output size and with room to spare.
#[test]
fn hostile_offsets_and_cuts_identical() {
    let n = if cfg!(miri) { 600 } else { 6000 };
    let mut inputs = vec![
        corpus::generate(Kind::Text, n, 9),
        corpus::generate(Kind::Logs, n, 10),
        corpus::generate(Kind::Binary, n, 11),
    ];
    // Long literal runs between matches, and long matches.
    let mut runs = corpus::generate(Kind::Text, n, 12);
    let mut rng = Rng::new(13);
    for (at, run) in [(n / 8, 40), (n / 4, 300), (n / 2, n / 5)] {
        rng.fill(&mut runs[at..at + run]);
    }
    let copy = runs[..n / 10].to_vec();
    runs[n - n / 8 - n / 10..n - n / 8].copy_from_slice(&copy);
    inputs.push(runs);
    let mut ws = lz4::Workspace::new();
    let prefix = corpus::generate(Kind::Text, 100, 14);
    let seq_step = if cfg!(miri) { 5 } else { 1 };
    for input in &inputs {
        let mut block = vec![0u8; lz4::max_compressed_len(input.len())];
        let len = Scalar
            .lz4_compress_block(&mut ws, input, &mut block, 1)
            .unwrap();
        block.truncate(len);
        let seqs = sequences(&block);
        for (name, codec) in others_shared() {
            for (k, &(token_at, offset_at, op)) in seqs.iter().step_by(seq_step).enumerate() {
                if let Some(offset_at) = offset_at {
                    let offsets = [0, 1, 7, 8, 15, 16, 31, 32, op, op + 1, 65_535];
                    // Under Miri, a third of the offsets per sequence, taking turns.
                    let every = if cfg!(miri) { 3 } else { 1 };
                    for &offset in offsets.iter().skip(k % every).step_by(every) {
                        let Ok(offset) = u16::try_from(offset) else {
                            continue;
                        };
                        let mut bad = block.clone();
                        bad[offset_at..offset_at + 2].copy_from_slice(&offset.to_le_bytes());
                        for p in [&[][..], &prefix[..]] {
                            for cap in [input.len(), input.len() + 100] {
                                same_decode(codec, name, &bad, p, cap, &[]);
                            }
                        }
                        same_decode(codec, name, &bad, &[], input.len(), &prefix);
                    }
                }
                let ends = [Some(token_at), offset_at, offset_at.map(|at| at + 1)];
                for cut in ends.into_iter().flatten() {
                    same_decode(codec, name, &block[..cut], &[], input.len(), &[]);
                    same_decode(codec, name, &block[..cut + 1], &[], input.len(), &[]);
                }
            }
        }
    }
}

/// Deflate streams for the decoder tests: the corpus, short periods (matches from fewer
/// than 16 bytes back), records 16 to 31 bytes long (matches from 16 to 31 back) and long
/// repeats (matches longer than 32 bytes), at a fast and a thorough level.
fn deflate_streams() -> Vec<(Vec<u8>, Vec<u8>)> {
    let d = data();
    let n = if cfg!(miri) { 1500 } else { 60_000 };
    let mut mixed = d[..n.min(d.len())].to_vec();
    for period in [1, 2, 3, 5, 8, 9, 13, 15, 16, 17, 24, 31, 32, 33, 100] {
        for _ in 0..if cfg!(miri) { 2 } else { 40 } {
            let rep = 3 + mixed.len() % 90;
            let start = mixed.len() - period;
            for i in 0..rep {
                mixed.push(mixed[start + i % period]);
            }
            mixed.extend_from_slice(&d[mixed.len() % 1000..][..7]);
        }
    }
    let mut out = Vec::new();
    for input in [d, mixed] {
        for level in [1, 6] {
            let mut deflater = deflate::Deflater::new();
            let mut stream = vec![0u8; deflate::deflate_bound(input.len())];
            let n =
                deflate::deflate_raw(Scalar, &mut deflater, level, &input, &mut stream).unwrap();
            stream.truncate(n);
            out.push((input.clone(), stream));
        }
    }
    out
}

/// One-shot Deflate decoding on every backend equals `Scalar`'s: results, errors and the
/// whole output buffer (bytes after the reported length untouched), for capacities around
/// the decoded size, with a dictionary, and for streams with a bit flipped.
#[test]
fn inflate_identical() {
    fn same(codec: Auto, name: &str, stream: &[u8], cap: usize, dict: &[u8]) {
        let mut a = vec![0xA5u8; cap];
        let mut b = a.clone();
        let mut ia = deflate::Inflater::new();
        let mut ib = deflate::Inflater::new();
        let ra = deflate::inflate_raw_with_dict(Scalar, &mut ia, stream, &mut a, dict);
        let rb = deflate::inflate_raw_with_dict(codec, &mut ib, stream, &mut b, dict);
        assert_eq!(ra, rb, "{name}: cap {cap}");
        assert!(a == b, "{name}: cap {cap}");
    }
    // Miri interprets every table build: fewer flips there.
    let step = if cfg!(miri) { 601 } else { 13 };
    for (name, codec) in others_shared() {
        for (input, stream) in deflate_streams() {
            let len = input.len();
            for cap in [
                0,
                1,
                263,
                264,
                300,
                len - 300,
                len - 1,
                len,
                len + 1,
                len + 40,
            ] {
                same(codec, name, &stream, cap, &[]);
            }
            // Matches reaching before the output come from the dictionary, or fail.
            same(codec, name, &stream, len, &input[..200]);
            for at in (0..stream.len()).step_by(step) {
                let mut bad = stream.clone();
                bad[at] ^= 1 << (at % 8);
                same(codec, name, &bad, len + 40, &[]);
                same(codec, name, &bad, len + 40, &input[..100]);
            }
        }
    }
}

/// Streaming Deflate decoding on every backend equals `Scalar`'s, with the output taken in
/// chunks (matches then reach into the window), for intact and corrupted streams.
#[test]
fn inflate_stream_identical() {
    fn run<C: Codec>(
        codec: C,
        stream: &[u8],
        chunk: usize,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let mut s = deflate::InflateStream::new(deflate::Format::Raw);
        let (mut ip, mut op) = (0, 0);
        while !s.is_finished() {
            let end = (op + chunk).min(out.len());
            let p = s.decompress(codec, &stream[ip..], &mut out[op..end])?;
            ip += p.consumed;
            op += p.produced;
            if p.consumed == 0 && p.produced == 0 {
                s.finish()?;
                break;
            }
        }
        Ok(op)
    }
    let step = if cfg!(miri) { 907 } else { 61 };
    let chunks: &[usize] = if cfg!(miri) {
        &[300]
    } else {
        &[300, 1000, 4096]
    };
    for (name, codec) in others_shared() {
        for (input, stream) in deflate_streams() {
            for &chunk in chunks {
                let mut bad = stream.clone();
                for at in (0..stream.len()).step_by(step) {
                    bad.clone_from(&stream);
                    if at > 0 {
                        bad[at] ^= 1 << (at % 8);
                    }
                    let mut a = vec![0xA5u8; input.len() + 40];
                    let mut b = a.clone();
                    let ra = run(Scalar, &bad, chunk, &mut a);
                    let rb = run(codec, &bad, chunk, &mut b);
                    assert_eq!(ra, rb, "{name}: chunk {chunk}, flip at {at}");
                    assert!(a == b, "{name}: chunk {chunk}, flip at {at}");
                    if at == 0 {
                        assert_eq!(ra, Ok(input.len()));
                    }
                }
            }
        }
    }
}
