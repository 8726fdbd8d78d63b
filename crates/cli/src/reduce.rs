//! `offload reduce` and the reduction engine's rows of the line-rate report.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use offload_sharp_reduce::{Auto, Backend, DType, Fp8Mode, Op, Reducer};

use crate::CmdResult;
use crate::bench::{Case, Runner, pseudo_random};
use crate::engines::pick_backend;

/// `offload reduce --op OP --dtype T --output OUT IN...`.
#[derive(Debug, Args)]
pub(crate) struct ReduceArgs {
    /// sum, prod, min, max, avg (NCCL: floats scaled by 1/N then summed, integers summed
    /// then divided), band, bor, bxor, land, lor, lxor.
    #[arg(long, value_name = "OP")]
    op: String,
    /// u8, i8, u16, i16, u32, i32, u64, i64, f16, bf16, f32, f64, e4m3, e5m2.
    #[arg(long, value_name = "T")]
    dtype: String,
    /// FP8 results beyond the largest finite value: NaN/Inf as ml_dtypes
    /// (`non-saturating`, the default) or clamped (`saturating`).
    #[arg(long, default_value = "non-saturating", value_name = "MODE")]
    fp8: String,
    /// Reduction backend: auto (the fastest this CPU has) or one by name.
    #[arg(long, default_value = "auto", value_name = "B")]
    backend: String,
    /// Where the result goes (same length as each input).
    #[arg(long, value_name = "OUT")]
    output: PathBuf,
    /// Input arrays: raw little-endian elements, all the same length, combined in the order
    /// given (element-wise left to right).
    #[arg(value_name = "IN", required = true)]
    inputs: Vec<PathBuf>,
}

pub(crate) fn run_reduce(a: &ReduceArgs) -> CmdResult {
    let op = Op::from_name(&a.op).ok_or_else(|| {
        let names: Vec<&str> = Op::ALL.iter().map(|o| o.name()).collect();
        format!("--op: unknown operation '{}' ({})", a.op, names.join(", "))
    })?;
    if op.is_loc() {
        return Err(format!(
            "--op {}: MINLOC/MAXLOC reduce (value, index) pairs, which plain arrays do not \
             carry; use the library's Reducer::reduce_loc",
            op.name()
        ));
    }
    let dtype = DType::from_name(&a.dtype).ok_or_else(|| {
        let names: Vec<&str> = DType::ALL.iter().map(|d| d.name()).collect();
        format!("--dtype: unknown type '{}' ({})", a.dtype, names.join(", "))
    })?;
    let mode = match a.fp8.as_str() {
        "non-saturating" => Fp8Mode::NonSaturating,
        "saturating" => Fp8Mode::Saturating,
        other => {
            return Err(format!(
                "--fp8: '{other}' is not saturating or non-saturating"
            ));
        }
    };
    let reducer = pick_backend(
        &a.backend,
        &Backend::ALL,
        Backend::name,
        Auto::with_backend,
        Auto::detect,
    )?;
    let mut data = Vec::with_capacity(a.inputs.len());
    for path in &a.inputs {
        let bytes = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        data.push(bytes);
    }
    let len = data.first().map_or(0, Vec::len);
    if let Some((path, d)) = a.inputs.iter().zip(&data).find(|(_, d)| d.len() != len) {
        return Err(format!(
            "{} is {} bytes, the first input {len}: inputs must have the same length",
            path.display(),
            d.len()
        ));
    }
    let inputs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
    let mut out = vec![0u8; len];
    reducer
        .reduce_bytes(op.with_fp8(mode), dtype, &inputs, &mut out)
        .map_err(|e| e.to_string())?;
    std::fs::write(&a.output, &out).map_err(|e| format!("writing {}: {e}", a.output.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// The reduction rows: SUM of f32 and bf16 with 2, 4 and 8 inputs and MAX of f32 with 4,
/// at 256 KiB and 64 MiB per input, per backend. Throughput is the input bytes read (N
/// inputs of the size), the figure to hold against the report's read-bandwidth ceiling.
pub(crate) fn bench_cases(cases: &mut Vec<Case>) {
    for backend in Backend::ALL {
        if Auto::with_backend(backend).is_none() {
            continue;
        }
        for size in [256 << 10, 64 << 20] {
            for (op, dtype, n) in [
                (Op::Sum, DType::F32, 2),
                (Op::Sum, DType::F32, 4),
                (Op::Sum, DType::F32, 8),
                (Op::Sum, DType::Bf16, 2),
                (Op::Sum, DType::Bf16, 4),
                (Op::Sum, DType::Bf16, 8),
                (Op::Max, DType::F32, 4),
            ] {
                cases.push(Case {
                    engine: "sharp-reduce",
                    op: format!("{} {} x{n}", op.name(), dtype.name()),
                    size,
                    bytes: size * n,
                    items: 0,
                    backend: backend.name(),
                    make: Box::new(move || reduce_runner(backend, op, dtype, n, size)),
                });
            }
        }
    }
}

fn reduce_runner(backend: Backend, op: Op, dtype: DType, n: usize, size: usize) -> Runner {
    let reducer = Auto::with_backend(backend).unwrap_or_default();
    // Finite values of the type: random bytes with the exponent's top bit cleared (no NaN or
    // Inf, which would measure nothing different but read oddly).
    let inputs: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let mut v = pseudo_random(size, 0x5EED + i as u64);
            let step = dtype.size();
            for chunk in v.chunks_exact_mut(step) {
                if let Some(top) = chunk.last_mut() {
                    *top &= 0xBF;
                }
            }
            v
        })
        .collect();
    let mut out = vec![0u8; size];
    Box::new(move || {
        let refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
        reducer
            .reduce_bytes(op, dtype, black_box(&refs), &mut out)
            .ok();
        black_box(&mut out);
    })
}
