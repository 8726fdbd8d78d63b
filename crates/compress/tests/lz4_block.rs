//! The LZ4 block codec against liblz4 (the reference C library) and lz4_flex, in both
//! directions, on every backend; and its behaviour on hostile blocks.

// Safe code only (the LZ4 block codec): under Miri, which is here for the `unsafe` of the
// SIMD backends and detection (tests/backends.rs), these would take minutes.
#![cfg(not(miri))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests: a panic is a failure"
)]

mod support;

use support::backends;

use offload_compress::{Auto, Corruption, Error, lz4};
use offload_testkit::corpus::{self, Kind};
use offload_testkit::{Rng, lz4ref};

/// Inputs that exercise the compressor's paths: tiny, the 13-byte minimum, the 64 KiB table
/// switch, runs, periods, far offsets, incompressible data and the corpus kinds.
fn inputs() -> Vec<(String, Vec<u8>)> {
    let big = if cfg!(miri) { 1_000 } else { 300_000 };
    let mut v: Vec<(String, Vec<u8>)> = Vec::new();
    let text = corpus::generate(Kind::Text, big, 1);
    for n in [0, 1, 2, 4, 5, 11, 12, 13, 14, 16, 17, 31, 32, 33, 100] {
        v.push((format!("text[..{n}]"), text[..n.min(text.len())].to_vec()));
    }
    if !cfg!(miri) {
        for n in [65_535, 65_536, 65_546, 65_547, 65_548, 70_000] {
            v.push((format!("text[..{n}]"), text[..n].to_vec()));
        }
    }
    for kind in Kind::ALL {
        v.push((kind.name().into(), corpus::generate(kind, big, 7)));
    }
    v.push(("mixed".into(), corpus::mixed(2 * big, 3)));
    v.push(("zeros".into(), vec![0; big]));
    let periods: &[usize] = if cfg!(miri) {
        &[1, 3, 17]
    } else {
        &[1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 100, 4096]
    };
    for &period in periods {
        let mut rng = Rng::new(period as u64);
        let pattern = rng.bytes(period);
        let data: Vec<u8> = (0..big.min(20_000)).map(|i| pattern[i % period]).collect();
        v.push((format!("period {period}"), data));
    }
    if !cfg!(miri) {
        // A chunk repeated exactly 65535 bytes later (the largest offset), and 65536 (just
        // out of reach).
        for gap in [65_535usize, 65_536] {
            let mut rng = Rng::new(gap as u64);
            let mut data = rng.bytes(gap + 300);
            let head = data[..300].to_vec();
            data[gap..gap + 300].copy_from_slice(&head);
            v.push((format!("repeat at {gap}"), data));
        }
    }
    v
}

#[test]
fn same_bytes_as_liblz4_and_round_trip() {
    if !cfg!(miri) {
        println!("liblz4 {}", lz4ref::version());
    }
    let mut ws = lz4::Workspace::new();
    for (name, codec) in backends() {
        for (what, input) in inputs() {
            // Under Miri (the portable paths only, and slow): one acceleration.
            let accels: &[u32] = if cfg!(miri) { &[1] } else { &[1, 2, 8, 100] };
            for &accel in accels {
                let mut block = vec![0u8; lz4::max_compressed_len(input.len())];
                let n = lz4::compress_block(codec, &mut ws, &input, &mut block, accel).unwrap();
                let block = &block[..n];
                if !cfg!(miri) {
                    let reference = lz4ref::compress_fast(&input, accel as i32);
                    assert!(
                        block == reference.as_slice(),
                        "{name}: {what}, acceleration {accel}: {n} bytes, liblz4 {}",
                        reference.len()
                    );
                    // liblz4 reads ours (it enforces the end-of-block rules).
                    assert_eq!(lz4ref::decompress(block, input.len()).unwrap(), input);
                }
                let mut back = vec![0u8; input.len()];
                let m = lz4::decompress_block(codec, block, &mut back).unwrap();
                assert_eq!(m, input.len());
                assert!(back == input, "{name}: {what}, acceleration {accel}");
            }
        }
    }
}

#[test]
fn decodes_liblz4_hc_and_lz4_flex() {
    if cfg!(miri) {
        return;
    }
    for (name, codec) in backends() {
        for (what, input) in inputs() {
            let mut blocks = vec![("lz4_flex", lz4_flex::block::compress(&input))];
            for level in [4, 9, 12] {
                blocks.push(("liblz4 HC", lz4ref::compress_hc(&input, level)));
            }
            for (by, block) in blocks {
                let mut back = vec![0u8; input.len()];
                let m = lz4::decompress_block(codec, &block, &mut back)
                    .unwrap_or_else(|e| panic!("{name}: {what} from {by}: {e}"));
                assert!(
                    m == input.len() && back == input,
                    "{name}: {what} from {by}"
                );
            }
            // And lz4_flex reads ours.
            let mut ws = lz4::Workspace::new();
            let mut block = vec![0u8; lz4::max_compressed_len(input.len())];
            let n = lz4::compress_block(codec, &mut ws, &input, &mut block, 1).unwrap();
            assert_eq!(
                lz4_flex::block::decompress(&block[..n], input.len()).unwrap(),
                input,
                "{name}: lz4_flex decoding our {what}"
            );
        }
    }
}

#[test]
fn dictionary_both_directions() {
    if cfg!(miri) {
        return;
    }
    let dict = corpus::generate(Kind::Logs, 64 * 1024, 11);
    let input = corpus::generate(Kind::Logs, 20_000, 12);
    let block = lz4ref::compress_with_dict(&dict, &input, 1);
    let alone = lz4ref::compress_fast(&input, 1);
    assert!(
        block.len() < alone.len(),
        "the dictionary helps: {} vs {}",
        block.len(),
        alone.len()
    );
    for (name, codec) in backends() {
        let mut back = vec![0u8; input.len()];
        let m = lz4::decompress_block_with_dict(codec, &block, &mut back, 0, &dict).unwrap();
        assert!(m == input.len() && back == input, "{name}");
        // Without the dictionary the block reaches before the start of the output.
        assert!(matches!(
            lz4::decompress_block(codec, &block, &mut back),
            Err(Error::Corrupt(Corruption::Lz4OffsetOutOfWindow { .. }))
        ));
        // The same block decoded with the dictionary as a prefix of the output buffer.
        let mut buf = dict.clone();
        buf.resize(dict.len() + input.len(), 0);
        let m = lz4::decompress_block_with_dict(codec, &block, &mut buf, dict.len(), &[]).unwrap();
        assert!(
            m == input.len() && buf[dict.len()..] == input[..],
            "{name} prefix"
        );
        // Split: half of the dictionary external, half as prefix.
        let half = dict.len() / 2;
        let mut buf = dict[half..].to_vec();
        buf.resize(dict.len() - half + input.len(), 0);
        let m = lz4::decompress_block_with_dict(
            codec,
            &block,
            &mut buf,
            dict.len() - half,
            &dict[..half],
        )
        .unwrap();
        assert!(
            m == input.len() && buf[dict.len() - half..] == input[..],
            "{name} split"
        );
    }
}

#[test]
fn empty_input_is_one_zero_byte() {
    let mut ws = lz4::Workspace::new();
    for (_, codec) in backends() {
        let mut block = [0xAAu8; 16];
        assert_eq!(
            lz4::compress_block(codec, &mut ws, &[], &mut block, 1),
            Ok(1)
        );
        assert_eq!(block[0], 0);
        assert_eq!(lz4::decompress_block(codec, &[0], &mut []), Ok(0));
        assert_eq!(
            lz4::decompress_block(codec, &[], &mut [0; 4]),
            Err(Error::Truncated)
        );
    }
}

#[test]
fn output_too_small_at_every_size() {
    let input = corpus::generate(Kind::Text, if cfg!(miri) { 80 } else { 3000 }, 5);
    let mut ws = lz4::Workspace::new();
    for (name, codec) in backends() {
        let mut block = vec![0u8; lz4::max_compressed_len(input.len())];
        let n = lz4::compress_block(codec, &mut ws, &input, &mut block, 1).unwrap();
        for cap in 0..n {
            let mut small = vec![0u8; cap];
            assert!(
                matches!(
                    lz4::compress_block(codec, &mut ws, &input, &mut small, 1),
                    Err(Error::OutputTooSmall { .. })
                ),
                "{name}: compress into {cap} of {n}"
            );
        }
        for cap in 0..input.len() {
            let mut small = vec![0u8; cap];
            assert_eq!(
                lz4::decompress_block(codec, &block[..n], &mut small),
                Err(Error::OutputTooSmall {
                    needed: None,
                    available: cap
                }),
                "{name}: decompress into {cap}"
            );
        }
    }
}

/// Decodes into a zero-filled and a 0xFF-filled buffer with room to spare: the same result,
/// and nothing written past the reported length.
fn decode_both_ways(codec: Auto, block: &[u8], cap: usize) -> Result<Vec<u8>, Error> {
    let mut zeros = vec![0u8; cap];
    let mut ones = vec![0xFFu8; cap];
    let a = lz4::decompress_block(codec, block, &mut zeros);
    let b = lz4::decompress_block(codec, block, &mut ones);
    assert_eq!(a, b);
    let n = a?;
    assert!(
        zeros[n..].iter().all(|&x| x == 0),
        "wrote past the reported length"
    );
    assert!(
        ones[n..].iter().all(|&x| x == 0xFF),
        "wrote past the reported length"
    );
    assert_eq!(zeros[..n], ones[..n]);
    Ok(zeros[..n].to_vec())
}

#[test]
fn truncation_and_corruption_at_every_position() {
    let input = corpus::generate(Kind::Logs, if cfg!(miri) { 200 } else { 2000 }, 9);
    let mut ws = lz4::Workspace::new();
    for (_, codec) in backends() {
        let mut block = vec![0u8; lz4::max_compressed_len(input.len())];
        let n = lz4::compress_block(codec, &mut ws, &input, &mut block, 1).unwrap();
        let block = &block[..n];
        assert_eq!(
            decode_both_ways(codec, block, input.len() + 100).unwrap(),
            input
        );
        for cut in 0..n {
            // A prefix of a block can be a valid shorter block; it must never decode to the
            // whole input, nor panic.
            if let Ok(out) = decode_both_ways(codec, &block[..cut], input.len() + 100) {
                assert!(out.len() < input.len() || out != input);
            }
        }
        let step = if cfg!(miri) { 7 } else { 1 };
        for at in (0..n).step_by(step) {
            for flip in [0x01u8, 0x80, 0xFF] {
                let mut bad = block.to_vec();
                bad[at] ^= flip;
                let _ = decode_both_ways(codec, &bad, input.len() + 300);
            }
        }
    }
}

#[test]
fn offsets_zero_and_out_of_window() {
    for (_, codec) in backends() {
        let mut out = [0u8; 64];
        // Token: 4 literals, match 4 + 0; offset 0.
        let block = [0x40, b'a', b'b', b'c', b'd', 0, 0, 0x00];
        assert_eq!(
            lz4::decompress_block(codec, &block, &mut out),
            Err(Error::Corrupt(Corruption::Lz4OffsetZero))
        );
        let block = [0x40, b'a', b'b', b'c', b'd', 5, 0, 0x00];
        assert_eq!(
            lz4::decompress_block(codec, &block, &mut out),
            Err(Error::Corrupt(Corruption::Lz4OffsetOutOfWindow {
                offset: 5,
                history: 4
            }))
        );
        // Offset 4 is fine, and so is a block that ends in a match (lenient).
        let block = [0x4F, b'a', b'b', b'c', b'd', 4, 0, 0x00, 0x10, b'!'];
        assert_eq!(lz4::decompress_block(codec, &block, &mut out), Ok(24));
        assert_eq!(&out[..24], b"abcdabcdabcdabcdabcdabc!");
        // Truncated inside the offset, inside a length extension, inside literals.
        assert_eq!(
            lz4::decompress_block(codec, &[0x40, b'a', b'b', b'c', b'd', 4], &mut out),
            Err(Error::Truncated)
        );
        assert_eq!(
            lz4::decompress_block(codec, &[0xF0, 255, 255], &mut out),
            Err(Error::Truncated)
        );
        assert_eq!(
            lz4::decompress_block(codec, &[0x50, b'a'], &mut out),
            Err(Error::Truncated)
        );
    }
}

#[test]
fn long_length_extensions_are_bounded_by_the_output() {
    // A match of 4 + 15 + 255 * 2000 bytes into a small buffer: an error, found without
    // copying anything that does not fit.
    let mut block = vec![0x1F, b'x', 1, 0];
    block.extend(core::iter::repeat_n(255u8, 2000));
    block.push(0);
    block.extend_from_slice(&[0x50, 1, 2, 3, 4, 5]);
    for (_, codec) in backends() {
        let mut out = vec![0u8; 1000];
        assert!(matches!(
            lz4::decompress_block(codec, &block, &mut out),
            Err(Error::OutputTooSmall { .. })
        ));
        let mut out = vec![0u8; 1 + 4 + 15 + 255 * 2000 + 5];
        assert_eq!(
            lz4::decompress_block(codec, &block, &mut out),
            Ok(out.len())
        );
        assert!(out[..out.len() - 5].iter().all(|&b| b == b'x'));
    }
}

/// Real text and binary files every Debian machine with a Rust toolchain has, when present:
/// liblz4 and we write the same blocks, and each decodes the other's.
#[test]
fn system_files_both_directions() {
    if cfg!(miri) {
        return;
    }
    let candidates = [
        "/usr/share/common-licenses/GPL-3",
        "/usr/share/common-licenses/Apache-2.0",
        "/bin/ls",
        "/usr/bin/lz4",
        "/etc/services",
    ];
    let mut ws = lz4::Workspace::new();
    let mut seen = 0;
    for path in candidates {
        let Ok(data) = std::fs::read(path) else {
            eprintln!("{path} is not on this machine: skipped");
            continue;
        };
        seen += 1;
        for (name, codec) in backends() {
            for chunk in data.chunks(1 << 20) {
                let mut block = vec![0u8; lz4::max_compressed_len(chunk.len())];
                let n = lz4::compress_block(codec, &mut ws, chunk, &mut block, 1).unwrap();
                assert!(
                    block[..n] == lz4ref::compress_fast(chunk, 1)[..],
                    "{name}: {path}"
                );
                let mut back = vec![0u8; chunk.len()];
                let hc = lz4ref::compress_hc(chunk, 9);
                assert_eq!(
                    lz4::decompress_block(codec, &hc, &mut back),
                    Ok(chunk.len())
                );
                assert!(back == chunk, "{name}: {path}");
            }
        }
    }
    eprintln!("{seen} system files compared");
}

proptest::proptest! {
    // No failure file: Miri's isolation has no working directory to put it in.
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Any bytes round-trip through a block and a frame (with random options) on every
    /// backend, and every backend writes the same bytes.
    #[test]
    fn round_trip_anything(
        data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..if cfg!(miri) { 200 } else { 3000 }),
        repeat in 0usize..4,
        accel in 1u32..20,
        flags in 0u8..16,
    ) {
        // Repeating the data makes matches likely.
        let input: Vec<u8> = data.iter().copied().cycle().take(data.len() * (1 + repeat)).collect();
        let options = lz4::FrameOptions {
            independent_blocks: flags & 1 != 0,
            block_checksum: flags & 2 != 0,
            content_checksum: flags & 4 != 0,
            content_size: flags & 8 != 0,
            acceleration: accel,
            ..Default::default()
        };
        let mut ws = lz4::Workspace::new();
        let mut reference: Option<(Vec<u8>, Vec<u8>)> = None;
        for (name, codec) in backends() {
            let mut block = vec![0u8; lz4::max_compressed_len(input.len())];
            let n = lz4::compress_block(codec, &mut ws, &input, &mut block, accel).unwrap();
            block.truncate(n);
            let mut frame = vec![0u8; lz4::max_frame_len(input.len(), &options)];
            let m = lz4::compress_frame(codec, &mut ws, &options, &input, &mut frame).unwrap();
            frame.truncate(m);
            let mut back = vec![0u8; input.len()];
            proptest::prop_assert_eq!(lz4::decompress_block(codec, &block, &mut back), Ok(input.len()));
            proptest::prop_assert!(back == input, "{}", name);
            back.fill(0);
            proptest::prop_assert_eq!(lz4::decompress_frames(codec, &frame, &mut back, &[]), Ok(input.len()));
            proptest::prop_assert!(back == input, "{}", name);
            match &reference {
                None => reference = Some((block, frame)),
                Some((b, f)) => {
                    proptest::prop_assert!(&block == b && &frame == f, "{} differs from scalar", name);
                }
            }
        }
    }
}
