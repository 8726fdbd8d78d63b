//! Streaming LZ4 frames: every chunking gives the one-shot bytes (encoder) and the one-shot
//! output (decoder), on every backend.

// Safe code only (streaming): under Miri, which is here for the `unsafe` of the
// SIMD backends and detection (tests/backends.rs), these would take many minutes.
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

use offload_compress::{Auto, Error, lz4};
use offload_testkit::Rng;
use offload_testkit::corpus;

use lz4::{BlockSize, Flush, FrameDecoder, FrameEncoder, FrameOptions};

fn one_shot(codec: Auto, options: &FrameOptions, input: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; lz4::max_frame_len(input.len(), options)];
    let n =
        lz4::compress_frame(codec, &mut lz4::Workspace::new(), options, input, &mut out).unwrap();
    out.truncate(n);
    out
}

/// Streams `input` through an encoder in input chunks of `in_step` (0: random sizes) and
/// output chunks of `out_step`.
fn stream_encode(
    codec: Auto,
    options: FrameOptions,
    input: &[u8],
    in_step: usize,
    out_step: usize,
    rng: &mut Rng,
) -> Vec<u8> {
    let mut storage = vec![0u8; FrameEncoder::<Auto>::storage_len(&options)];
    let size = options.content_size.then_some(input.len() as u64);
    let mut enc = FrameEncoder::new(codec, options, size, &mut storage).unwrap();
    let mut frame = Vec::new();
    let mut out = vec![0u8; out_step];
    let mut pos = 0;
    while pos < input.len() {
        let step = if in_step == 0 {
            1 + rng.below(5000)
        } else {
            in_step
        };
        let end = (pos + step).min(input.len());
        let p = enc
            .compress(&input[pos..end], &mut out, Flush::None)
            .unwrap();
        pos += p.consumed;
        frame.extend_from_slice(&out[..p.produced]);
    }
    while !enc.is_finished() {
        let p = enc.compress(&[], &mut out, Flush::Finish).unwrap();
        frame.extend_from_slice(&out[..p.produced]);
    }
    frame
}

fn stream_decode(
    codec: Auto,
    frame: &[u8],
    max: BlockSize,
    in_step: usize,
    out_step: usize,
    rng: &mut Rng,
) -> Result<Vec<u8>, Error> {
    let mut storage = vec![0u8; FrameDecoder::<Auto>::storage_len(max)];
    let mut dec = FrameDecoder::new(codec, &mut storage, &[]);
    let mut back = Vec::new();
    let mut out = vec![0u8; out_step];
    let mut pos = 0;
    loop {
        let step = if in_step == 0 {
            1 + rng.below(5000)
        } else {
            in_step
        };
        let end = (pos + step).min(frame.len());
        let p = dec.decompress(&frame[pos..end], &mut out)?;
        pos += p.consumed;
        back.extend_from_slice(&out[..p.produced]);
        if pos == frame.len() && p.produced == 0 {
            break;
        }
    }
    dec.finish()?;
    Ok(back)
}

#[test]
fn chunked_equals_one_shot() {
    let n = if cfg!(miri) { 700 } else { 400_000 };
    let input = corpus::mixed(n, 21);
    let mut rng = Rng::new(5);
    let steps: &[(usize, usize)] = if cfg!(miri) {
        &[(1, 1), (0, 7)]
    } else {
        &[
            (1, 1),
            (7, 3),
            (0, 1000),
            (65_536, 65_536),
            (1 << 20, 1 << 20),
            (0, 13),
        ]
    };
    for (name, codec) in backends() {
        for independent in [true, false] {
            for (checksums, content_size) in [(false, false), (true, true)] {
                let options = FrameOptions {
                    independent_blocks: independent,
                    block_checksum: checksums,
                    content_checksum: checksums,
                    content_size,
                    ..Default::default()
                };
                let reference = one_shot(codec, &options, &input);
                for &(in_step, out_step) in steps {
                    if in_step == 1 && out_step == 1 && !cfg!(miri) && n > 100_000 {
                        // Byte at a time over the first 70 KB only (it is slow).
                        let small = &input[..70_000];
                        let r = one_shot(codec, &options, small);
                        assert!(stream_encode(codec, options, small, 1, 1, &mut rng) == r);
                        let back =
                            stream_decode(codec, &r, BlockSize::Max64KiB, 1, 1, &mut rng).unwrap();
                        assert!(back == small);
                        continue;
                    }
                    let frame = stream_encode(codec, options, &input, in_step, out_step, &mut rng);
                    assert!(
                        frame == reference,
                        "{name} {options:?} steps {in_step}/{out_step}"
                    );
                    let back = stream_decode(
                        codec,
                        &reference,
                        BlockSize::Max64KiB,
                        in_step,
                        out_step,
                        &mut rng,
                    )
                    .unwrap();
                    assert!(
                        back == input,
                        "{name} {options:?} steps {in_step}/{out_step}"
                    );
                }
            }
        }
    }
}

#[test]
fn flushes_make_shorter_blocks_that_still_decode() {
    let input = corpus::mixed(if cfg!(miri) { 600 } else { 200_000 }, 22);
    for (_, codec) in backends() {
        for independent in [true, false] {
            let options = FrameOptions {
                independent_blocks: independent,
                ..Default::default()
            };
            let mut storage = vec![0u8; FrameEncoder::<Auto>::storage_len(&options)];
            let mut enc = FrameEncoder::new(codec, options, None, &mut storage).unwrap();
            let mut frame = Vec::new();
            let mut out = vec![0u8; 300_000];
            for chunk in input.chunks(777) {
                let p = enc.compress(chunk, &mut out, Flush::Block).unwrap();
                assert_eq!(p.consumed, chunk.len());
                frame.extend_from_slice(&out[..p.produced]);
                // Everything consumed so far decodes from what was produced (plus an end mark).
                let mut partial = frame.clone();
                partial.extend_from_slice(&[0; 4]);
                let mut back = vec![0u8; input.len()];
                let mut info = partial.clone();
                info[4] &= !0b100; // no content checksum in this truncated copy
                let hc = (offload_compress::Codec::xxh32(&codec, 0, &info[4..6]) >> 8) as u8;
                info[6] = hc;
                let n = lz4::decompress_frames(codec, &info, &mut back, &[]).unwrap();
                assert_eq!(back[..n], input[..n]);
            }
            while !enc.is_finished() {
                let p = enc.compress(&[], &mut out, Flush::Finish).unwrap();
                frame.extend_from_slice(&out[..p.produced]);
            }
            let mut back = vec![0u8; input.len()];
            assert_eq!(
                lz4::decompress_frames(codec, &frame, &mut back, &[]),
                Ok(input.len())
            );
            assert!(back == input);
        }
    }
}

#[test]
fn decoder_handles_concatenations_and_reports_truncation() {
    let mut rng = Rng::new(9);
    let a = corpus::mixed(if cfg!(miri) { 400 } else { 100_000 }, 1);
    let b = corpus::mixed(if cfg!(miri) { 300 } else { 70_000 }, 2);
    for (_, codec) in backends() {
        let mut stream = one_shot(codec, &FrameOptions::default(), &a);
        stream.extend_from_slice(&0x184D_2A50u32.to_le_bytes());
        stream.extend_from_slice(&5u32.to_le_bytes());
        stream.extend_from_slice(b"12345");
        stream.extend(one_shot(
            codec,
            &FrameOptions {
                independent_blocks: false,
                block_size: BlockSize::Max256KiB,
                ..Default::default()
            },
            &b,
        ));
        let mut both = a.clone();
        both.extend_from_slice(&b);
        for step in [0, 3, 4096] {
            let back =
                stream_decode(codec, &stream, BlockSize::Max256KiB, step, 999, &mut rng).unwrap();
            assert!(back == both);
        }
        // Storage for 64 KiB blocks is too small for the 256 KiB frame.
        assert!(matches!(
            stream_decode(codec, &stream, BlockSize::Max64KiB, 4096, 999, &mut rng),
            Err(Error::StorageTooSmall { .. })
        ));
        // Cut anywhere inside a frame: `finish` says so.
        let step = if cfg!(miri) { 97 } else { 1 };
        let first = one_shot(codec, &FrameOptions::default(), &a[..300]);
        for cut in (0..first.len()).step_by(step) {
            assert!(
                stream_decode(codec, &first[..cut], BlockSize::Max64KiB, 0, 64, &mut rng).is_err()
            );
        }
    }
}

#[test]
fn encoder_rules() {
    let codec = Auto::detect();
    let options = FrameOptions {
        content_size: true,
        ..Default::default()
    };
    let mut small = vec![0u8; 1000];
    assert!(matches!(
        FrameEncoder::new(codec, options, Some(3), &mut small),
        Err(Error::StorageTooSmall { .. })
    ));
    let mut storage = vec![0u8; FrameEncoder::<Auto>::storage_len(&options)];
    assert!(matches!(
        FrameEncoder::new(codec, options, None, &mut storage),
        Err(Error::InvalidParameter { .. })
    ));
    let mut enc = FrameEncoder::new(codec, options, Some(3), &mut storage).unwrap();
    let mut out = [0u8; 100];
    let p = enc.compress(b"abcd", &mut out, Flush::Finish);
    assert!(matches!(p, Err(Error::InvalidParameter { .. })));
}
