//! `offload compress` and `offload decompress` (stdin to stdout), and the compression
//! engine's rows of the line-rate report.

use std::hint::black_box;
use std::io::{Read, Write};
use std::process::ExitCode;

use clap::Args;
use offload_compress::{Auto, Backend, Codec, Error, deflate, lz4};

use crate::CmdResult;
use crate::bench::{Case, Runner};
use crate::engines::pick_backend;

/// `offload compress --format F [--level N] < in > out`.
#[derive(Debug, Args)]
pub(crate) struct CompressArgs {
    /// lz4-frame, lz4-block, deflate (raw), zlib, gzip.
    #[arg(long, value_name = "F")]
    format: String,
    /// Compression level. Deflate, zlib, gzip: 0 (stored) to 9 (smallest), default 6, as
    /// gzip. LZ4: 1, the fast compressor (the default; liblz4's levels 3 to 12 are its
    /// high-compression mode, not implemented here: see --acceleration).
    #[arg(long, value_name = "N")]
    level: Option<i32>,
    /// LZ4 acceleration (1 = liblz4's default; higher is faster with a lower ratio, as
    /// `lz4 --fast=N`).
    #[arg(long, default_value_t = 1, value_name = "N")]
    acceleration: u32,
    /// Compression backend: auto (the fastest this CPU has) or one by name.
    #[arg(long, default_value = "auto", value_name = "B")]
    backend: String,
}

/// `offload decompress --format F [--max-size N] < in > out`.
#[derive(Debug, Args)]
pub(crate) struct DecompressArgs {
    /// lz4-frame (concatenated, skippable and legacy frames too), lz4-block, deflate (raw),
    /// zlib, gzip (multi-member files too).
    #[arg(long, value_name = "F")]
    format: String,
    /// Largest output accepted, in bytes; required for lz4-block, whose size is not stored
    /// (default for the others: 4 GiB).
    #[arg(long, value_name = "N")]
    max_size: Option<u64>,
    /// Compression backend: auto (the fastest this CPU has) or one by name.
    #[arg(long, default_value = "auto", value_name = "B")]
    backend: String,
}

const FORMATS: &str = "lz4-frame, lz4-block, deflate, zlib, gzip";

fn codec(name: &str) -> Result<Auto, String> {
    pick_backend(
        name,
        &Backend::ALL,
        Backend::name,
        Auto::with_backend,
        Auto::detect,
    )
}

fn read_stdin() -> Result<Vec<u8>, String> {
    let mut data = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut data)
        .map_err(|e| format!("reading stdin: {e}"))?;
    Ok(data)
}

fn write_stdout(data: &[u8]) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    out.write_all(data)
        .and_then(|()| out.flush())
        .map_err(|e| format!("writing stdout: {e}"))
}

pub(crate) fn run_compress(a: &CompressArgs) -> CmdResult {
    let codec = codec(&a.backend)?;
    match a.format.as_str() {
        "lz4-frame" | "lz4-block" => {
            if let Some(level) = a.level
                && level != 1
            {
                return Err(format!(
                    "--level {level}: LZ4 has level 1 here (liblz4's high-compression levels \
                     are not implemented); use --acceleration for faster, lighter compression"
                ));
            }
            if a.acceleration == 0 {
                return Err("--acceleration must be at least 1".into());
            }
        }
        "deflate" | "zlib" | "gzip" => return compress_deflate(codec, a),
        other => return Err(format!("--format: unknown format '{other}' ({FORMATS})")),
    }
    if a.format == "lz4-block" {
        let input = read_stdin()?;
        let mut out = vec![0u8; lz4::max_compressed_len(input.len())];
        let n = lz4::compress_block(
            codec,
            &mut lz4::Workspace::new(),
            &input,
            &mut out,
            a.acceleration,
        )
        .map_err(|e| e.to_string())?;
        write_stdout(&out[..n])?;
        return Ok(ExitCode::SUCCESS);
    }
    // A frame, streamed: 64 KiB independent blocks, content checksum (the lz4 command reads
    // it; its own default is 4 MiB blocks).
    let options = lz4::FrameOptions {
        acceleration: a.acceleration,
        ..Default::default()
    };
    let mut storage = vec![0u8; lz4::FrameEncoder::<Auto>::storage_len(&options)];
    let mut writer = lz4::Writer::new(codec, options, &mut storage, std::io::stdout().lock())
        .map_err(|e| e.to_string())?;
    let mut stdin = std::io::stdin().lock();
    std::io::copy(&mut stdin, &mut writer).map_err(|e| format!("compressing stdin: {e}"))?;
    drop(
        writer
            .finish()
            .map_err(|e| format!("writing stdout: {e}"))?,
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run_decompress(a: &DecompressArgs) -> CmdResult {
    let codec = codec(&a.backend)?;
    let max = a.max_size.map(|m| usize::try_from(m).unwrap_or(usize::MAX));
    match a.format.as_str() {
        "lz4-block" => {
            let max = max.ok_or(
                "--format lz4-block needs --max-size: a block does not record its decoded size",
            )?;
            let input = read_stdin()?;
            // Never more than 255 bytes out per byte in: no need for a buffer larger than that.
            let cap = max.min(input.len().saturating_mul(255));
            let mut out = vec![0u8; cap];
            let n = lz4::decompress_block(codec, &input, &mut out).map_err(|e| match e {
                Error::OutputTooSmall { .. } => {
                    format!("the block decodes to more than --max-size {max} bytes")
                }
                e => e.to_string(),
            })?;
            write_stdout(&out[..n])?;
            Ok(ExitCode::SUCCESS)
        }
        "lz4-frame" => {
            let block = lz4::FrameDecoder::<Auto>::storage_len(lz4::BlockSize::Max4MiB);
            let mut storage = vec![0u8; block.max(lz4::FrameDecoder::<Auto>::LEGACY_STORAGE_LEN)];
            let mut reader = lz4::Reader::new(codec, &mut storage, std::io::stdin().lock());
            let mut out = std::io::stdout().lock();
            let mut buf = vec![0u8; 1 << 16];
            let mut total = 0usize;
            loop {
                let n = reader.read(&mut buf).map_err(|e| e.to_string())?;
                if n == 0 {
                    break;
                }
                total += n;
                if max.is_some_and(|m| total > m) {
                    return Err(format!(
                        "the data decodes to more than --max-size {} bytes",
                        max.unwrap_or(0)
                    ));
                }
                out.write_all(&buf[..n])
                    .map_err(|e| format!("writing stdout: {e}"))?;
            }
            out.flush().map_err(|e| format!("writing stdout: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        "deflate" | "zlib" | "gzip" => {
            let input = read_stdin()?;
            let out = inflate_all(codec, &a.format, &input, max.unwrap_or(4 << 30))?;
            write_stdout(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("--format: unknown format '{other}' ({FORMATS})")),
    }
}

/// Compresses stdin whole as one raw Deflate, zlib or gzip stream (one gzip member).
fn compress_deflate(codec: Auto, a: &CompressArgs) -> CmdResult {
    if a.acceleration != 1 {
        return Err("--acceleration applies to LZ4 only".into());
    }
    let level = match a.level {
        None => 6,
        Some(n @ 0..=9) => n.unsigned_abs(),
        Some(n) => return Err(format!("--level {n}: Deflate levels are 0 to 9")),
    };
    let input = read_stdin()?;
    // The compressor's workspace is a few hundred KiB: on the heap, not the stack.
    let mut deflater = Box::new(deflate::Deflater::new());
    let (bound, compress): (usize, DeflateFn) = match a.format.as_str() {
        "deflate" => (deflate::deflate_bound(input.len()), deflate::deflate_raw),
        "zlib" => (deflate::zlib_bound(input.len()), deflate::zlib_compress),
        _ => (deflate::gzip_bound(input.len()), deflate::gzip_compress),
    };
    let mut out = vec![0u8; bound];
    let n = compress(codec, &mut deflater, level, &input, &mut out).map_err(|e| e.to_string())?;
    write_stdout(&out[..n])?;
    Ok(ExitCode::SUCCESS)
}

/// The signature shared by the one-shot Deflate, zlib and gzip compressors.
type DeflateFn = fn(Auto, &mut deflate::Deflater, u32, &[u8], &mut [u8]) -> Result<usize, Error>;

/// Decodes a whole Deflate, zlib or gzip stream. The one-shot decoder needs the output
/// buffer up front: start at four times the input and double on `OutputTooSmall`, up to
/// `max`. Bytes after the stream are an error here (a file is one stream).
fn inflate_all(codec: Auto, format: &str, input: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let mut inflater = deflate::Inflater::new();
    let mut cap = input.len().saturating_mul(4).max(64 << 10).min(max);
    loop {
        let mut out = vec![0u8; cap];
        let result = match format {
            "deflate" => deflate::inflate_raw(codec, &mut inflater, input, &mut out),
            "zlib" => deflate::zlib_decompress(codec, &mut inflater, input, &mut out),
            _ => deflate::gzip_decompress(codec, &mut inflater, input, &mut out),
        };
        match result {
            Ok((consumed, produced)) => {
                if consumed < input.len() {
                    return Err(format!(
                        "{} bytes after the end of the {format} stream",
                        input.len() - consumed
                    ));
                }
                out.truncate(produced);
                return Ok(out);
            }
            Err(Error::OutputTooSmall { .. }) if cap < max => cap = cap.saturating_mul(2).min(max),
            Err(Error::OutputTooSmall { .. }) => {
                return Err(format!(
                    "the data decodes to more than --max-size {max} bytes"
                ));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Size of the built-in mixed data the rows compress (in 64 KiB blocks, a storage block).
const DATA: usize = 4 << 20;
const BLOCK: usize = 64 << 10;

/// The compression rows: Deflate decompression of the built-in mixed data (text, logs,
/// binary records and random bytes in 64 KiB pieces, the benches' corpus; 4 MiB compressed
/// at level 6 by miniz_oxide, one stream), Deflate compression of it at levels 1 and 6 and
/// at level 1 with fixed Huffman codes only (the quick mode; one raw stream each), and LZ4
/// block compress (acceleration 1) and decompress of it in 64 KiB blocks, per backend.
/// Throughput counts uncompressed bytes.
pub(crate) fn bench_cases(cases: &mut Vec<Case>) {
    for backend in Backend::ALL {
        if Auto::with_backend(backend).is_none() {
            continue;
        }
        cases.push(Case {
            engine: "compress",
            op: "inflate (deflate -6)".into(),
            size: DATA,
            bytes: DATA,
            items: 0,
            backend: backend.name(),
            make: Box::new(move || inflate_runner(backend)),
        });
        for (level, strategy, suffix) in [
            (1, deflate::Strategy::Default, ""),
            (1, deflate::Strategy::Fixed, " fixed"),
            (6, deflate::Strategy::Default, ""),
        ] {
            cases.push(Case {
                engine: "compress",
                op: format!("deflate -{level}{suffix}"),
                size: DATA,
                bytes: DATA,
                items: 0,
                backend: backend.name(),
                make: Box::new(move || deflate_runner(backend, level, strategy)),
            });
        }
        for decompress in [false, true] {
            cases.push(Case {
                engine: "compress",
                op: if decompress {
                    "lz4 block decompress"
                } else {
                    "lz4 block compress"
                }
                .into(),
                size: BLOCK,
                bytes: DATA,
                items: 0,
                backend: backend.name(),
                make: Box::new(move || lz4_runner(backend, decompress)),
            });
        }
    }
}

fn inflate_runner(backend: Backend) -> Runner {
    let codec = Auto::with_backend(backend).unwrap_or_default();
    let data = offload_testkit::corpus::mixed(DATA, 1);
    let packed = offload_testkit::corpus::deflate(&data, 6);
    let mut inflater = deflate::Inflater::new();
    let mut out = vec![0u8; DATA];
    Box::new(move || {
        deflate::inflate_raw(codec, &mut inflater, black_box(&packed), &mut out).ok();
        black_box(&mut out);
    })
}

fn deflate_runner(backend: Backend, level: u32, strategy: deflate::Strategy) -> Runner {
    let codec = Auto::with_backend(backend).unwrap_or_default();
    let data = offload_testkit::corpus::mixed(DATA, 1);
    let mut deflater = Box::new(deflate::Deflater::with_strategy(strategy));
    let mut out = vec![0u8; deflate::deflate_bound(DATA)];
    Box::new(move || {
        deflate::deflate_raw(codec, &mut deflater, level, black_box(&data), &mut out).ok();
        black_box(&mut out);
    })
}

fn lz4_runner(backend: Backend, decompress: bool) -> Runner {
    let codec = Auto::with_backend(backend).unwrap_or_default();
    let data = offload_testkit::corpus::mixed(DATA, 1);
    let mut ws = lz4::Workspace::new();
    let mut out = vec![0u8; lz4::max_compressed_len(BLOCK)];
    if !decompress {
        return Box::new(move || {
            for block in data.chunks(BLOCK) {
                codec
                    .lz4_compress_block(&mut ws, black_box(block), &mut out, 1)
                    .ok();
            }
            black_box(&mut out);
        });
    }
    let blocks: Vec<Vec<u8>> = data
        .chunks(BLOCK)
        .map(|block| {
            let n = codec
                .lz4_compress_block(&mut ws, block, &mut out, 1)
                .unwrap_or(0);
            out[..n].to_vec()
        })
        .collect();
    let mut back = vec![0u8; BLOCK];
    Box::new(move || {
        for block in &blocks {
            codec
                .lz4_decompress_block(black_box(block), &mut back, 0, &[])
                .ok();
        }
        black_box(&mut back);
    })
}
