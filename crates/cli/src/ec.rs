//! `offload ec encode|decode`: Reed-Solomon shard files, and the erasure rows of the report.

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use offload_erasure::{Auto, Backend, Code, ErasureCoder, Matrix, Workspace};

use crate::CmdResult;
use crate::bench::{Case, pseudo_random};

/// Reed-Solomon erasure coding of a file into shard files `FILE.0 .. FILE.<K+M-1>`.
#[derive(Debug, Subcommand)]
pub(crate) enum EcCommand {
    /// Splits FILE into K data shards of ceil(len/K) bytes (the last zero-padded) and writes
    /// them with M parity shards as FILE.0 .. FILE.<K+M-1>.
    Encode {
        #[command(flatten)]
        code: CodeArgs,
        /// The file to encode.
        file: PathBuf,
    },
    /// Reads whichever FILE.<i> exist (at least K of them), rebuilds the data and writes its
    /// first LEN bytes to OUT.
    Decode {
        #[command(flatten)]
        code: CodeArgs,
        /// Length of the original file in bytes.
        #[arg(long, value_name = "LEN")]
        size: u64,
        /// Where to write the rebuilt file.
        #[arg(long, value_name = "OUT")]
        output: PathBuf,
        /// The original file name; shards are FILE.0, FILE.1, …
        file: PathBuf,
    },
}

/// The code's shape and implementation.
#[derive(Debug, Args)]
pub(crate) struct CodeArgs {
    /// Data shards (K >= 1, K + M <= 256).
    #[arg(long, value_name = "K")]
    data_shards: usize,
    /// Parity shards (M >= 1, K + M <= 256).
    #[arg(long, value_name = "M")]
    parity_shards: usize,
    /// Encode matrix: ISA-L's Cauchy matrix or the systematic Vandermonde matrix of
    /// Backblaze / klauspost / reed-solomon-erasure.
    #[arg(long, value_enum, default_value_t = MatrixArg::Cauchy)]
    matrix: MatrixArg,
    /// Backend: auto (the fastest this CPU has) or one by name.
    #[arg(long, default_value = "auto")]
    backend: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum MatrixArg {
    Cauchy,
    Vandermonde,
}

impl CodeArgs {
    fn build(&self) -> Result<(Code, Auto), String> {
        let matrix = match self.matrix {
            MatrixArg::Cauchy => Matrix::Cauchy,
            MatrixArg::Vandermonde => Matrix::Vandermonde,
        };
        let code =
            Code::new(self.data_shards, self.parity_shards, matrix).map_err(|e| e.to_string())?;
        Ok((code, engine(&self.backend)?))
    }
}

/// The erasure engine named by `--backend`.
fn engine(name: &str) -> Result<Auto, String> {
    crate::engines::pick_backend(
        name,
        &Backend::ALL,
        Backend::name,
        Auto::with_backend,
        Auto::detect,
    )
}

fn shard_path(file: &Path, i: usize) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(format!(".{i}"));
    PathBuf::from(name)
}

pub(crate) fn run(cmd: EcCommand) -> CmdResult {
    match cmd {
        EcCommand::Encode { code, file } => encode(&code, &file),
        EcCommand::Decode {
            code,
            size,
            output,
            file,
        } => decode(&code, size, &output, &file),
    }
}

fn encode(args: &CodeArgs, file: &Path) -> CmdResult {
    let (code, engine) = args.build()?;
    let (k, m) = (code.data_shards(), code.parity_shards());
    let input = fs::read(file).map_err(|e| format!("reading {}: {e}", file.display()))?;
    let shard = input.len().div_ceil(k);
    let mut data = vec![vec![0u8; shard]; k];
    for (d, chunk) in data.iter_mut().zip(input.chunks(shard.max(1))) {
        d[..chunk.len()].copy_from_slice(chunk);
    }
    let mut parity = vec![vec![0u8; shard]; m];
    {
        let srcs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
        let mut outs: Vec<&mut [u8]> = parity.iter_mut().map(Vec::as_mut_slice).collect();
        engine
            .encode(&code, &srcs, &mut outs)
            .map_err(|e| e.to_string())?;
    }
    for (i, s) in data.iter().chain(&parity).enumerate() {
        let path = shard_path(file, i);
        fs::write(&path, s).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn decode(args: &CodeArgs, size: u64, output: &Path, file: &Path) -> CmdResult {
    let (code, engine) = args.build()?;
    let (k, n) = (code.data_shards(), code.total_shards());
    let size = usize::try_from(size).map_err(|_| format!("--size {size} is too large"))?;
    let shard = size.div_ceil(k);
    let mut shards = Vec::with_capacity(n);
    let mut present = Vec::with_capacity(n);
    for i in 0..n {
        let path = shard_path(file, i);
        match fs::read(&path) {
            Ok(bytes) => {
                if bytes.len() != shard {
                    return Err(format!(
                        "{} is {} bytes, but --size {size} with {k} data shards means \
                         shards of {shard} bytes",
                        path.display(),
                        bytes.len()
                    ));
                }
                shards.push(bytes);
                present.push(true);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                shards.push(vec![0u8; shard]);
                present.push(false);
            }
            Err(e) => return Err(format!("reading {}: {e}", path.display())),
        }
    }
    let found = present.iter().filter(|&&p| p).count();
    if found < k {
        return Err(format!(
            "only {found} of the {n} shard files {}.0 .. {}.{} exist; at least {k} are needed",
            file.display(),
            file.display(),
            n - 1
        ));
    }
    {
        let mut refs: Vec<&mut [u8]> = shards.iter_mut().map(Vec::as_mut_slice).collect();
        let mut ws = Box::new(Workspace::new());
        engine
            .reconstruct_data(&code, &mut refs, &present, &mut ws)
            .map_err(|e| e.to_string())?;
    }
    let mut out: Vec<u8> = shards[..k].concat();
    out.truncate(size);
    fs::write(output, &out).map_err(|e| format!("writing {}: {e}", output.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// Report rows: encode 10+4 and 4+2 at 4 KiB and 64 KiB shards, reconstruct 10+4 with two
/// data shards lost (the case that needs a matrix inversion), per backend. Throughput counts
/// the data bytes (k x shard).
pub(crate) fn bench_cases(cases: &mut Vec<Case>) {
    for backend in Backend::ALL {
        if Auto::with_backend(backend).is_none() {
            continue;
        }
        for (k, m) in [(10, 4), (4, 2)] {
            for shard in [4 << 10, 64 << 10] {
                cases.push(Case {
                    engine: "erasure",
                    op: format!("encode {k}+{m}"),
                    size: shard,
                    bytes: k * shard,
                    items: 0,
                    backend: backend.name(),
                    make: Box::new(move || encode_runner(backend, k, m, shard)),
                });
            }
        }
        for shard in [4 << 10, 64 << 10] {
            cases.push(Case {
                engine: "erasure",
                op: "reconstruct 10+4, 2 lost".into(),
                size: shard,
                bytes: 10 * shard,
                items: 0,
                backend: backend.name(),
                make: Box::new(move || reconstruct_runner(backend, 10, 4, shard)),
            });
        }
    }
}

fn setup(backend: Backend, k: usize, m: usize, shard: usize) -> (Auto, Code, Vec<Vec<u8>>) {
    let engine = Auto::with_backend(backend).unwrap_or_default();
    let code = Code::cauchy(k, m).unwrap_or_else(|_| unreachable!("valid shape"));
    let shards: Vec<Vec<u8>> = (0..k + m)
        .map(|i| pseudo_random(shard, 100 + i as u64))
        .collect();
    (engine, code, shards)
}

fn encode_runner(backend: Backend, k: usize, m: usize, shard: usize) -> crate::bench::Runner {
    let (engine, code, mut shards) = setup(backend, k, m, shard);
    Box::new(move || {
        let (data, parity) = shards.split_at_mut(k);
        let srcs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
        let mut outs: Vec<&mut [u8]> = parity.iter_mut().map(Vec::as_mut_slice).collect();
        let r = engine.encode(&code, black_box(&srcs), &mut outs);
        black_box(r).ok();
    })
}

fn reconstruct_runner(backend: Backend, k: usize, m: usize, shard: usize) -> crate::bench::Runner {
    let (engine, code, mut shards) = setup(backend, k, m, shard);
    let mut present = vec![true; k + m];
    present[0] = false;
    present[1] = false;
    let mut ws = Box::new(Workspace::new());
    Box::new(move || {
        let mut refs: Vec<&mut [u8]> = shards.iter_mut().map(Vec::as_mut_slice).collect();
        let r = engine.reconstruct(&code, &mut refs, black_box(&present), &mut ws);
        black_box(r).ok();
    })
}
