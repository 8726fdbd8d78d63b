//! The `offload-compress` harnesses: hostile LZ4 blocks and frames, round trips, the
//! lz4_flex reference in both directions, and the no-stale-output property.

use offload_compress::{Auto, Backend, Codec, Error, lz4};

use crate::Input;

fn backends() -> Vec<Auto> {
    Backend::ALL
        .iter()
        .filter_map(|&b| Auto::with_backend(b))
        .collect()
}

/// Longest output a harness lets a decoder produce.
const MAX_OUT: usize = 1 << 17;

/// Decodes `block` into a 0x00-filled and a 0xFF-filled buffer of `cap` bytes: the same
/// result, the same bytes, and nothing written past the reported length.
fn block_both_ways(codec: Auto, block: &[u8], cap: usize, dict: &[u8]) -> Result<Vec<u8>, Error> {
    let mut zeros = vec![0u8; cap];
    let mut ones = vec![0xFFu8; cap];
    let a = codec.lz4_decompress_block(block, &mut zeros, 0, dict);
    let b = codec.lz4_decompress_block(block, &mut ones, 0, dict);
    assert_eq!(a, b, "{:?}", codec.backend());
    let n = a?;
    assert!(n <= cap);
    assert!(
        zeros[n..].iter().all(|&x| x == 0),
        "wrote past the reported length"
    );
    assert!(
        ones[n..].iter().all(|&x| x == 0xFF),
        "wrote past the reported length"
    );
    assert_eq!(zeros[..n], ones[..n]);
    zeros.truncate(n);
    Ok(zeros)
}

/// An arbitrary block (with an arbitrary dictionary and output size) into every backend:
/// no panic, a result equal to `Scalar`'s, nothing written past the reported length.
pub fn compress_lz4_block_decode_untrusted(data: &[u8]) {
    let mut input = Input::new(data);
    let cap = usize::from(input.u16()) * 2;
    let dict_len = usize::from(input.byte()) * 4;
    let dict = input.take(dict_len).to_vec();
    let block = input.rest();
    let mut expected = None;
    for codec in backends() {
        let got = block_both_ways(codec, block, cap, &dict);
        match &expected {
            None => expected = Some(got),
            Some(e) => assert_eq!(&got, e, "{:?} differs from Scalar", codec.backend()),
        }
    }
}

/// Arbitrary bytes as LZ4 frames, one-shot into a bounded buffer and streamed in chunks of
/// an arbitrary size: no panic; backends agree; when the one-shot decode succeeds the
/// stream gives the same bytes.
pub fn compress_lz4_frame_decode_untrusted(data: &[u8]) {
    let mut input = Input::new(data);
    let cap = usize::from(input.u16()) * 2;
    let step = 1 + usize::from(input.byte());
    let frames = input.rest();
    let mut expected = None;
    for codec in backends() {
        let mut out = vec![0u8; cap];
        let got = lz4::decompress_frames(codec, frames, &mut out, &[]).map(|n| out[..n].to_vec());
        match &expected {
            None => expected = Some(got.clone()),
            Some(e) => assert_eq!(&got, e, "{:?} differs from Scalar", codec.backend()),
        }
        let Ok(one_shot) = got else { continue };
        let mut storage =
            vec![0u8; lz4::FrameDecoder::<Auto>::storage_len(lz4::BlockSize::Max4MiB)];
        let mut dec = lz4::FrameDecoder::new(codec, &mut storage, &[]);
        let mut streamed = Vec::new();
        let mut chunk = vec![0u8; step];
        let mut pos = 0;
        loop {
            let end = (pos + step).min(frames.len());
            match dec.decompress(&frames[pos..end], &mut chunk) {
                Ok(p) => {
                    pos += p.consumed;
                    streamed.extend_from_slice(&chunk[..p.produced]);
                    if pos == frames.len() && p.produced == 0 {
                        break;
                    }
                }
                // Legacy frames need more storage than this harness gives.
                Err(Error::StorageTooSmall { .. }) => return,
                Err(e) => panic!("the stream refuses what one-shot decoding accepts: {e}"),
            }
        }
        if dec.finish().is_ok() {
            assert_eq!(streamed, one_shot);
        }
    }
}

fn options_from(flags: u8, acceleration: u32) -> lz4::FrameOptions {
    lz4::FrameOptions {
        block_size: lz4::BlockSize::Max64KiB,
        independent_blocks: flags & 1 != 0,
        block_checksum: flags & 2 != 0,
        content_checksum: flags & 4 != 0,
        content_size: flags & 8 != 0,
        dict_id: None,
        acceleration,
    }
}

/// Arbitrary data through the block and frame compressors of every backend: the same bytes
/// as `Scalar`, within the stated bounds, and decoded back to the data.
pub fn compress_lz4_roundtrip(data: &[u8]) {
    let mut input = Input::new(data);
    let acceleration = 1 + u32::from(input.byte() % 16);
    let flags = input.byte();
    let payload = input.rest();
    let options = options_from(flags, acceleration);
    let mut ws = lz4::Workspace::new();
    let mut reference: Option<(Vec<u8>, Vec<u8>)> = None;
    for codec in backends() {
        let mut block = vec![0u8; lz4::max_compressed_len(payload.len())];
        let n = lz4::compress_block(codec, &mut ws, payload, &mut block, acceleration)
            .expect("the bound always suffices");
        block.truncate(n);
        let mut frame = vec![0u8; lz4::max_frame_len(payload.len(), &options)];
        let m = lz4::compress_frame(codec, &mut ws, &options, payload, &mut frame)
            .expect("the bound always suffices");
        frame.truncate(m);
        let mut back = vec![0u8; payload.len()];
        assert_eq!(
            lz4::decompress_block(codec, &block, &mut back),
            Ok(payload.len())
        );
        assert_eq!(back, payload);
        back.fill(0);
        assert_eq!(
            lz4::decompress_frames(codec, &frame, &mut back, &[]),
            Ok(payload.len())
        );
        assert_eq!(back, payload);
        match &reference {
            None => reference = Some((block, frame)),
            Some((b, f)) => {
                assert_eq!(
                    &block,
                    b,
                    "{:?}: block differs from Scalar",
                    codec.backend()
                );
                assert_eq!(
                    &frame,
                    f,
                    "{:?}: frame differs from Scalar",
                    codec.backend()
                );
            }
        }
    }
}

/// lz4_flex both ways: it decodes our blocks, we decode its blocks, and on arbitrary bytes,
/// when both decoders accept a block, they agree.
pub fn compress_lz4_vs_lz4_flex(data: &[u8]) {
    let mut input = Input::new(data);
    let acceleration = 1 + u32::from(input.byte() % 8);
    let payload = input.rest();
    let mut ws = lz4::Workspace::new();
    for codec in backends() {
        let mut block = vec![0u8; lz4::max_compressed_len(payload.len())];
        let n = lz4::compress_block(codec, &mut ws, payload, &mut block, acceleration)
            .expect("the bound always suffices");
        let theirs = lz4_flex::block::decompress(&block[..n], payload.len())
            .expect("lz4_flex decodes our block");
        assert_eq!(theirs, payload);
        let flex = lz4_flex::block::compress(payload);
        let mut back = vec![0u8; payload.len()];
        assert_eq!(
            lz4::decompress_block(codec, &flex, &mut back),
            Ok(payload.len())
        );
        assert_eq!(back, payload);
        // The payload itself as an untrusted block.
        let cap = MAX_OUT.min(payload.len() * 8 + 16);
        let ours = lz4::decompress_block(codec, payload, &mut vec![0u8; cap]).is_ok();
        let mut out = vec![0u8; cap];
        let mine = lz4::decompress_block(codec, payload, &mut out).map(|k| out[..k].to_vec());
        if let (Ok(mine), Ok(flex)) = (mine, lz4_flex::block::decompress(payload, cap)) {
            assert!(ours);
            assert_eq!(mine, flex, "both accept the block and disagree");
        }
    }
}

/// Decoding into a zeroed buffer and into a 0xFF-filled one gives the same result and the
/// same length, blocks and frames, and nothing past the reported length changes.
pub fn compress_lz4_no_stale_output(data: &[u8]) {
    let mut input = Input::new(data);
    let cap = usize::from(input.u16());
    let rest = input.rest();
    for codec in backends() {
        let _ = block_both_ways(codec, rest, cap, &[]);
        let mut zeros = vec![0u8; cap];
        let mut ones = vec![0xFFu8; cap];
        let a = lz4::decompress_frames(codec, rest, &mut zeros, &[]);
        let b = lz4::decompress_frames(codec, rest, &mut ones, &[]);
        assert_eq!(a, b);
        if let Ok(n) = a {
            assert_eq!(zeros[..n], ones[..n]);
            assert!(zeros[n..].iter().all(|&x| x == 0));
            assert!(ones[n..].iter().all(|&x| x == 0xFF));
        }
    }
}
