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

/// Arbitrary bytes as raw Deflate, zlib and gzip into every backend, into zero- and
/// 0xFF-filled buffers: no panic, the same result everywhere, nothing written past the
/// reported length.
pub fn compress_inflate_untrusted(data: &[u8]) {
    use offload_compress::deflate;
    let mut input = Input::new(data);
    let cap = usize::from(input.u16()) * 2;
    let format = input.byte() % 3;
    let stream = input.rest();
    let mut expected = None;
    for codec in backends() {
        let mut inflater = deflate::Inflater::new();
        let mut run = |out: &mut [u8]| match format {
            0 => deflate::inflate_raw(codec, &mut inflater, stream, out),
            1 => deflate::zlib_decompress(codec, &mut inflater, stream, out),
            _ => deflate::gzip_decompress(codec, &mut inflater, stream, out),
        };
        let mut zeros = vec![0u8; cap];
        let mut ones = vec![0xFFu8; cap];
        let a = run(&mut zeros);
        let b = run(&mut ones);
        assert_eq!(a, b);
        let got = a.map(|(consumed, n)| {
            assert!(consumed <= stream.len() && n <= cap);
            assert!(
                zeros[n..].iter().all(|&x| x == 0),
                "wrote past the reported length"
            );
            assert!(
                ones[n..].iter().all(|&x| x == 0xFF),
                "wrote past the reported length"
            );
            assert_eq!(zeros[..n], ones[..n]);
            (consumed, zeros[..n].to_vec())
        });
        match &expected {
            None => expected = Some(got),
            Some(e) => assert_eq!(&got, e, "{:?} differs from Scalar", codec.backend()),
        }
    }
}

/// miniz_oxide both ways: we decode what it compresses (at a level from the input), and on
/// arbitrary bytes as a raw Deflate stream, when both decoders accept it they agree.
pub fn compress_inflate_vs_miniz_oxide(data: &[u8]) {
    use offload_compress::deflate;
    let mut input = Input::new(data);
    let level = input.byte() % 11;
    let payload = input.rest();
    let packed = miniz_oxide::deflate::compress_to_vec(payload, level);
    for codec in backends() {
        let mut inflater = deflate::Inflater::new();
        let mut out = vec![0u8; payload.len()];
        assert_eq!(
            deflate::inflate_raw(codec, &mut inflater, &packed, &mut out),
            Ok((packed.len(), payload.len()))
        );
        assert_eq!(out, payload);
        let cap = MAX_OUT.min(payload.len() * 16 + 64);
        let mut mine = vec![0u8; cap];
        let ours = deflate::inflate_raw(codec, &mut inflater, payload, &mut mine);
        let theirs = miniz_oxide::inflate::decompress_to_vec_with_limit(payload, cap);
        if let (Ok((_, n)), Ok(theirs)) = (ours, theirs) {
            assert_eq!(mine[..n], theirs[..], "both accept the stream and disagree");
        }
    }
}

/// The streaming Deflate decoder against the one-shot one: arbitrary bytes as raw Deflate,
/// zlib or gzip, fed in input and output chunks whose sizes come from the input (cycling
/// through two of each), give the one-shot result — both Ok with the same `consumed` and
/// bytes, or both the same error — on every backend. No panic, and every call's progress
/// stays within the chunks it was given.
pub fn compress_inflate_chunked(data: &[u8]) {
    use offload_compress::deflate;
    let mut input = Input::new(data);
    let format = input.byte() % 3;
    let size = |b: u8| {
        if b == 0xFF {
            4096
        } else {
            usize::from(b % 32) + 1
        }
    };
    let ins = [size(input.byte()), size(input.byte())];
    let outs = [size(input.byte()), size(input.byte())];
    let stream = input.rest();
    let f = match format {
        0 => deflate::Format::Raw,
        1 => deflate::Format::Zlib,
        _ => deflate::Format::Gzip,
    };
    for codec in backends() {
        let mut inflater = deflate::Inflater::new();
        let mut out = vec![0u8; MAX_OUT];
        let one_shot = match format {
            0 => deflate::inflate_raw(codec, &mut inflater, stream, &mut out),
            1 => deflate::zlib_decompress(codec, &mut inflater, stream, &mut out),
            _ => deflate::gzip_decompress(codec, &mut inflater, stream, &mut out),
        }
        .map(|(consumed, n)| (consumed, out[..n].to_vec()));

        // None: the streamed output passed MAX_OUT.
        let streamed = (|| -> Option<Result<(usize, Vec<u8>), Error>> {
            let mut s = deflate::InflateStream::new(f);
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            let (mut pos, mut calls, mut extra) = (0, 0usize, 0);
            loop {
                let end = (pos + ins[calls % 2] + extra).min(stream.len());
                let o = outs[calls % 2];
                calls += 1;
                let p = match s.decompress(codec, &stream[pos..end], &mut buf[..o]) {
                    Ok(p) => p,
                    Err(e) => return Some(Err(e)),
                };
                assert!(p.consumed <= end - pos && p.produced <= o);
                pos += p.consumed;
                got.extend_from_slice(&buf[..p.produced]);
                if got.len() > MAX_OUT {
                    return None;
                }
                if s.is_finished() {
                    return Some(Ok((pos, got)));
                }
                if p.consumed == 0 && p.produced == 0 {
                    if end == stream.len() {
                        return Some(s.finish().map(|()| (pos, got)));
                    }
                    // A lone 1f after a gzip member waits for the next byte.
                    assert_eq!(end - pos, 1, "no progress with input left");
                    extra += 1;
                } else {
                    extra = 0;
                }
            }
        })();
        match streamed {
            Some(r) => assert_eq!(r, one_shot, "chunks {ins:?} {outs:?}"),
            // More output than the one-shot buffer holds: the one-shot decoder must have
            // failed too (out of room, or a truncated stored block it checks first).
            None => assert!(
                matches!(
                    one_shot,
                    Err(Error::OutputTooSmall { .. } | Error::Truncated)
                ),
                "streamed past {MAX_OUT} bytes, one-shot {one_shot:?}"
            ),
        }
    }
}

/// Deflate compression round trip: a level (0..=9) and strategy (default or fixed Huffman
/// codes only), a format (raw, zlib, gzip) and an output-room shortfall from the first
/// bytes, the rest as data. Every backend writes the same bytes; the stream decodes back
/// to the data with our one-shot decoder and with miniz_oxide; its length is within the
/// documented bound; the streaming compressor fed in small chunks writes a stream that
/// decodes to the data too; and an output buffer shorter than the stream is refused with
/// `OutputTooSmall`, writing nothing past it.
pub fn compress_deflate_roundtrip(data: &[u8]) {
    use offload_compress::deflate;
    let mut input = Input::new(data);
    let first = input.byte();
    let level = u32::from(first % 10);
    // The byte's tens pick the strategy: odd, fixed Huffman codes only.
    let strategy = if (first / 10) % 2 == 1 {
        deflate::Strategy::Fixed
    } else {
        deflate::Strategy::Default
    };
    let format = input.byte() % 3;
    let short = usize::from(input.byte());
    let payload = input.rest();
    let (bound, compress): (usize, DeflateFn) = match format {
        0 => (deflate::deflate_bound(payload.len()), deflate::deflate_raw),
        1 => (deflate::zlib_bound(payload.len()), deflate::zlib_compress),
        _ => (deflate::gzip_bound(payload.len()), deflate::gzip_compress),
    };
    let mut deflater = Box::new(deflate::Deflater::with_strategy(strategy));
    let mut reference: Option<Vec<u8>> = None;
    for codec in backends() {
        let mut out = vec![0u8; bound];
        let n = compress(codec, &mut deflater, level, payload, &mut out)
            .unwrap_or_else(|e| panic!("level {level} format {format}: {e}"));
        out.truncate(n);
        match &reference {
            None => reference = Some(out),
            Some(r) => assert_eq!(&out, r, "{:?} level {level}", codec.backend()),
        }
    }
    let Some(packed) = reference else { return };
    let mut inflater = deflate::Inflater::new();
    let mut back = vec![0u8; payload.len()];
    let decoded = match format {
        0 => deflate::inflate_raw(Auto::detect(), &mut inflater, &packed, &mut back),
        1 => deflate::zlib_decompress(Auto::detect(), &mut inflater, &packed, &mut back),
        _ => deflate::gzip_decompress(Auto::detect(), &mut inflater, &packed, &mut back),
    };
    assert_eq!(decoded, Ok((packed.len(), payload.len())), "level {level}");
    assert_eq!(back, payload);
    let theirs = match format {
        0 => miniz_oxide::inflate::decompress_to_vec(&packed),
        1 => miniz_oxide::inflate::decompress_to_vec_zlib(&packed),
        _ => Ok(back.clone()), // miniz_oxide has no gzip reader; ours checked it above
    };
    let theirs = theirs.unwrap_or_else(|e| panic!("miniz_oxide refused level {level}: {e:?}"));
    assert_eq!(theirs, payload, "miniz_oxide, level {level}");
    // The streaming compressor, fed in chunks whose sizes come from the input: its stream
    // decodes to the data too.
    let (ins, outs) = (1 + short % 61, 1 + short * 7 % 300);
    let mut storage = vec![0u8; deflate::DeflateStream::<Auto>::STORAGE_LEN];
    let f = [
        deflate::Format::Raw,
        deflate::Format::Zlib,
        deflate::Format::Gzip,
    ][usize::from(format)];
    let mut enc =
        deflate::DeflateStream::new(Auto::detect(), f, level, &mut deflater, &mut storage)
            .unwrap_or_else(|e| panic!("{e}"));
    let mut streamed = Vec::new();
    let mut buf = vec![0u8; outs];
    for piece in payload.chunks(ins) {
        let mut piece = piece;
        while !piece.is_empty() {
            let p = enc.compress(piece, &mut buf, offload_compress::lz4::Flush::None);
            let p = p.unwrap_or_else(|e| panic!("{e}"));
            streamed.extend_from_slice(&buf[..p.produced]);
            piece = &piece[p.consumed..];
        }
    }
    while !enc.is_finished() {
        let p = enc.compress(&[], &mut buf, offload_compress::lz4::Flush::Finish);
        streamed.extend_from_slice(&buf[..p.unwrap_or_else(|e| panic!("{e}")).produced]);
    }
    back.fill(0);
    let decoded = match format {
        0 => deflate::inflate_raw(Auto::detect(), &mut inflater, &streamed, &mut back),
        1 => deflate::zlib_decompress(Auto::detect(), &mut inflater, &streamed, &mut back),
        _ => deflate::gzip_decompress(Auto::detect(), &mut inflater, &streamed, &mut back),
    };
    assert_eq!(
        decoded,
        Ok((streamed.len(), payload.len())),
        "streamed, level {level}"
    );
    assert_eq!(back, payload);
    // Too little room: refused, and nothing written past the buffer given.
    if let Some(room) = packed.len().checked_sub(1 + short % packed.len().max(1)) {
        let mut small = vec![0xA5u8; room + 16];
        let r = compress(
            Auto::detect(),
            &mut deflater,
            level,
            payload,
            &mut small[..room],
        );
        assert!(matches!(r, Err(Error::OutputTooSmall { .. })), "{r:?}");
        assert!(small[room..].iter().all(|&b| b == 0xA5));
    }
}

/// The one-shot Deflate, zlib and gzip compressors' shared signature.
type DeflateFn = fn(
    Auto,
    &mut offload_compress::deflate::Deflater,
    u32,
    &[u8],
    &mut [u8],
) -> Result<usize, Error>;
