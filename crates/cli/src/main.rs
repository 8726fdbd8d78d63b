//! `offload`: the command-line face of the offload engines.
//!
//! Subcommands print errors as one line on stderr and exit non-zero; binary data goes through
//! files or stdin/stdout. See the workspace README for the contract.

#![forbid(unsafe_code)]
#![allow(clippy::std_instead_of_core, reason = "a std binary")]

mod bench;
mod compress;
mod ec;
mod engines;
mod flow;
mod pcap;
mod psp;
mod psp_cmd;
mod reduce;
mod roce;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// offload: DPU engines (PSP, compression, erasure coding, flow lookup, RoCE framing,
/// reductions) in software, with the line-rate report that says what each costs in cores.
#[derive(Debug, Parser)]
#[command(name = "offload", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Engines x backends: compiled for this target, available on this CPU, chosen by `auto`.
    Backends {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Line-rate report on built-in deterministic data: GB/s per core, Gb/s, and cores needed
    /// for 400 and 800 Gb/s.
    Bench(BenchArgs),
    /// Compress stdin to stdout (LZ4 frame or block).
    Compress(compress::CompressArgs),
    /// Decompress stdin to stdout (LZ4 frames, concatenated, skippable and legacy, or a
    /// block; raw Deflate, zlib, gzip).
    Decompress(compress::DecompressArgs),
    /// Reed-Solomon erasure coding of files (GF(2^8), ISA-L compatible).
    Ec {
        #[command(subcommand)]
        command: ec::EcCommand,
    },
    /// Toeplitz (RSS) hash of an IPv4 or IPv6 tuple, printed as 8 hex digits.
    Rss(flow::RssArgs),
    /// Element-wise reduction of raw little-endian arrays (SHARP's and NCCL's operations).
    Reduce(reduce::ReduceArgs),
    /// PSP Security Protocol: key derivation, and encryption and decryption of pcaps.
    Psp {
        #[command(subcommand)]
        command: psp_cmd::PspCommand,
    },
    /// RoCE v2 captures: BTH, extended headers and ICRC of every frame of a pcap.
    Roce {
        #[command(subcommand)]
        command: roce::RoceCommand,
    },
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Only these engines (repeatable); `ceiling` is the machine's copy and read bandwidth.
    #[arg(long = "engine", value_name = "E")]
    engines: Vec<String>,
    /// Measuring time per row and thread, in seconds (warm-up included).
    #[arg(long, default_value_t = 0.25, value_name = "S")]
    seconds: f64,
    /// Threads measuring each row at once, each with its own buffers.
    #[arg(long, default_value_t = 1, value_name = "N")]
    threads: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let result = match cli.command {
        Command::Backends { json } => backends(json),
        Command::Bench(args) => run_bench(&args),
        Command::Compress(args) => compress::run_compress(&args),
        Command::Decompress(args) => compress::run_decompress(&args),
        Command::Ec { command } => ec::run(command),
        Command::Psp { command } => psp_cmd::run(command),
        Command::Roce { command } => roce::run(command),
        Command::Rss(args) => flow::run_rss(&args),
        Command::Reduce(args) => reduce::run_reduce(&args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("offload: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Help and version go out as clap renders them; a usage error becomes one line on stderr
/// (clap's message without its usage block) and exit code 2.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        // Printing help can only fail if stdout/stderr are gone; nothing else to do then.
        e.print().ok();
        return if e.use_stderr() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let text = e.to_string();
    let message: Vec<&str> = text
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect();
    let message = message.join(" ");
    eprintln!(
        "offload: {} (see --help)",
        message.strip_prefix("error: ").unwrap_or(&message)
    );
    ExitCode::from(2)
}

/// What a subcommand returns: an exit code, or a one-line error message.
pub(crate) type CmdResult = Result<ExitCode, String>;

fn backends(json: bool) -> CmdResult {
    let rows = engines::backend_rows();
    let mut out = std::io::stdout().lock();
    let io = |e: std::io::Error| format!("writing to stdout: {e}");
    if json {
        let value: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "engine": r.engine, "backend": r.backend, "compiled": r.compiled,
                    "available": r.available, "chosen": r.chosen,
                    "features": r.features,
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::Value::Array(value)).map_err(io)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        writeln!(out, "no engine crates in this build").map_err(io)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{:<14} {:<8} {:<9} {:<10} {:<7} features",
        "engine", "backend", "compiled", "available", "chosen"
    )
    .map_err(io)?;
    let yn = |b: bool| if b { "yes" } else { "no" };
    for r in &rows {
        writeln!(
            out,
            "{:<14} {:<8} {:<9} {:<10} {:<7} {}",
            r.engine,
            r.backend,
            yn(r.compiled),
            yn(r.available),
            if r.chosen { "*" } else { "" },
            r.features.join(",")
        )
        .map_err(io)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn run_bench(args: &BenchArgs) -> CmdResult {
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 3600.0) {
        return Err(format!(
            "--seconds must be a number in (0, 3600], got {}",
            args.seconds
        ));
    }
    if args.threads == 0 || args.threads > 1024 {
        return Err(format!(
            "--threads must be in 1..=1024, got {}",
            args.threads
        ));
    }
    let all = bench::registry();
    let names = bench::engine_names(&all);
    for wanted in &args.engines {
        if !names.iter().any(|n| n == wanted) {
            return Err(format!(
                "unknown engine '{wanted}' (this build has: {})",
                names.join(", ")
            ));
        }
    }
    let cases: Vec<_> = all
        .into_iter()
        .filter(|c| args.engines.is_empty() || args.engines.iter().any(|e| e == c.engine))
        .collect();
    let budget = Duration::from_secs_f64(args.seconds);
    let mut out = std::io::stdout().lock();
    let io = |e: std::io::Error| format!("writing to stdout: {e}");
    let threads = args.threads;

    if !args.json {
        writeln!(
            out,
            "offload line-rate report: {threads} thread(s), {:.2} s per row, median of {} batches; \
             GB/s = 10^9 bytes/s per core, Gb/s = GB/s x 8; Mop/s = millions of packets, \
             lookups or hashes per second; lookup and hash rows count {} bytes (a 64-byte \
             frame on the wire) per operation",
            args.seconds,
            bench::BATCHES,
            bench::WIRE_BYTES_64B
        )
        .map_err(io)?;
        write!(
            out,
            "{:<12} {:<26} {:>8} {:<7} {:>9} {:>9} {:>17} {:>8} {:>8}",
            "engine",
            "operation",
            "size",
            "backend",
            "GB/s",
            "Gb/s",
            "spread GB/s",
            "@400G",
            "@800G"
        )
        .map_err(io)?;
        write!(out, " {:>9}", "Mop/s").map_err(io)?;
        if threads > 1 {
            write!(out, " {:>11}", "total GB/s").map_err(io)?;
        }
        writeln!(out).map_err(io)?;
    }
    let mut json_rows = Vec::new();
    for case in &cases {
        let m = bench::measure(case, threads, budget);
        let gbits = m.per_core * 8.0;
        let c400 = bench::cores_for(400.0, m.per_core);
        let c800 = bench::cores_for(800.0, m.per_core);
        let mops = (case.items > 0).then(|| bench::mops(m.per_core, case.bytes, case.items));
        if args.json {
            json_rows.push(serde_json::json!({
                "engine": case.engine, "operation": case.op, "size": case.size,
                "bytes_per_call": case.bytes, "backend": case.backend, "threads": threads,
                "gbytes_per_s_per_core": m.per_core, "gbits_per_s_per_core": gbits,
                "gbytes_per_s_total": m.total,
                "gbytes_per_s_low": m.low, "gbytes_per_s_high": m.high,
                "cores_for_400g": c400, "cores_for_800g": c800, "calls": m.calls,
                "items_per_call": case.items, "mops_per_s_per_core": mops,
            }));
        } else {
            write!(
                out,
                "{:<12} {:<26} {:>8} {:<7} {:>9.2} {:>9.1} {:>8.2}..{:<7.2} {:>8.2} {:>8.2}",
                case.engine,
                case.op,
                bench::human_size(case.size),
                case.backend,
                m.per_core,
                gbits,
                m.low,
                m.high,
                c400,
                c800
            )
            .map_err(io)?;
            match mops {
                Some(v) => write!(out, " {v:>9.1}").map_err(io)?,
                None => write!(out, " {:>9}", "").map_err(io)?,
            }
            if threads > 1 {
                write!(out, " {:>11.2}", m.total).map_err(io)?;
            }
            writeln!(out).map_err(io)?;
            out.flush().map_err(io)?;
        }
    }
    if args.json {
        writeln!(out, "{}", serde_json::Value::Array(json_rows)).map_err(io)?;
    }
    Ok(ExitCode::SUCCESS)
}
