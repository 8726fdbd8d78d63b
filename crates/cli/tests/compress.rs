//! `offload compress` and `offload decompress`: round trips on every backend, interop with
//! the `lz4` command in both directions (when installed), and one-line errors.

#![allow(
    clippy::unwrap_used,
    clippy::std_instead_of_core,
    reason = "test code: a panic is a failure"
)]

#[path = "support/process.rs"]
mod process;

use std::process::{Command, Stdio};

use process::{assert_one_line_error, offload_with_stdin};

fn sample() -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..20_000u32 {
        v.extend_from_slice(format!("line {i}: value={} status=ok\n", i % 97).as_bytes());
    }
    v.extend((0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    v
}

fn backends() -> Vec<String> {
    let out = process::offload(&["backends", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["engine"] == "compress" && r["available"] == true)
        .map(|r| r["backend"].as_str().unwrap().to_string())
        .collect()
}

fn ok(args: &[&str], input: &[u8]) -> Vec<u8> {
    let out = offload_with_stdin(args, input);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn round_trips_on_every_backend() {
    let data = sample();
    let names = backends();
    assert!(names.iter().any(|b| b == "scalar"));
    for backend in &names {
        for input in [&data[..], &[][..], &data[..5]] {
            let frame = ok(
                &["compress", "--format", "lz4-frame", "--backend", backend],
                input,
            );
            assert_eq!(ok(&["decompress", "--format", "lz4-frame"], &frame), input);
            let block = ok(
                &[
                    "compress",
                    "--format",
                    "lz4-block",
                    "--acceleration",
                    "4",
                    "--backend",
                    backend,
                ],
                input,
            );
            let size = input.len().to_string();
            assert_eq!(
                ok(
                    &[
                        "decompress",
                        "--format",
                        "lz4-block",
                        "--max-size",
                        &size,
                        "--backend",
                        backend
                    ],
                    &block
                ),
                input
            );
        }
    }
}

fn lz4_command(args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    let child = Command::new("lz4")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("the lz4 command is not installed: skipping the interop check");
        return None;
    };
    let mut pipe = child.stdin.take().unwrap();
    let data = input.to_vec();
    let feeder = std::thread::spawn(move || std::io::Write::write_all(&mut pipe, &data));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success());
    Some(out.stdout)
}

#[test]
fn interoperates_with_the_lz4_command() {
    let data = sample();
    let ours = ok(&["compress", "--format", "lz4-frame"], &data);
    let Some(back) = lz4_command(&["-d", "-c", "-q"], &ours) else {
        return;
    };
    assert_eq!(back, data);
    for flags in [
        &["-c", "-q"][..],
        &["-c", "-q", "-BD", "-BX", "-B4"],
        &["-c", "-q", "-l"],
    ] {
        let theirs = lz4_command(flags, &data).unwrap();
        assert_eq!(
            ok(&["decompress", "--format", "lz4-frame"], &theirs),
            data,
            "{flags:?}"
        );
    }
}

#[test]
fn errors_are_one_line() {
    let data = sample();
    let frame = ok(&["compress", "--format", "lz4-frame"], &data);
    let block = ok(&["compress", "--format", "lz4-block"], &data);
    let cases: Vec<(Vec<&str>, &[u8])> = vec![
        (vec!["compress", "--format", "zip"], &data),
        (
            vec!["compress", "--format", "lz4-frame", "--level", "9"],
            &data,
        ),
        (
            vec!["compress", "--format", "lz4-frame", "--acceleration", "0"],
            &data,
        ),
        (
            vec!["compress", "--format", "lz4-frame", "--backend", "nope"],
            &data,
        ),
        (vec!["decompress", "--format", "lz4-block"], &block),
        (
            vec!["decompress", "--format", "lz4-block", "--max-size", "100"],
            &block,
        ),
        (
            vec!["decompress", "--format", "lz4-frame", "--max-size", "100"],
            &frame,
        ),
        (
            vec!["decompress", "--format", "lz4-frame"],
            &frame[..frame.len() - 3],
        ),
        (
            vec!["decompress", "--format", "lz4-frame"],
            b"not lz4 at all",
        ),
        (vec!["decompress", "--format", "lz4-frame"], &[]),
    ];
    for (args, input) in cases {
        let out = offload_with_stdin(&args, input);
        assert_one_line_error(&out);
    }
}

fn gzip_command(input: &[u8]) -> Option<Vec<u8>> {
    gzip_with(&["-c", "-n"], input)
}

/// Runs `gzip` with `args` over `input`; `None` (with a note) when gzip is not installed.
fn gzip_with(args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    let child = Command::new("gzip")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("the gzip command is not installed: skipping the gzip check");
        return None;
    };
    let mut pipe = child.stdin.take().unwrap();
    let data = input.to_vec();
    let feeder = std::thread::spawn(move || std::io::Write::write_all(&mut pipe, &data));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success());
    Some(out.stdout)
}

/// Every level and format on the first backend (100 KB of the sample, the whole of it at
/// level 6); the other backends at levels 1 and 6, which must write the same bytes.
#[test]
fn deflate_formats_round_trip_at_every_level() {
    let whole = sample();
    let names = backends();
    for level in 0..=9 {
        let data = if level == 6 {
            &whole[..]
        } else {
            &whole[..100_000]
        };
        let level = level.to_string();
        let mut outputs = Vec::new();
        let some = if level == "1" || level == "6" {
            &names[..]
        } else {
            &names[..1]
        };
        for backend in some {
            for format in ["deflate", "zlib", "gzip"] {
                let packed = ok(
                    &[
                        "compress",
                        "--format",
                        format,
                        "--level",
                        &level,
                        "--backend",
                        backend,
                    ],
                    data,
                );
                assert_eq!(ok(&["decompress", "--format", format], &packed), data);
                if format == "gzip"
                    && let Some(back) = gzip_with(&["-d", "-c"], &packed)
                {
                    assert_eq!(back, data, "gzip -d of level {level}");
                }
                outputs.push(packed);
            }
        }
        // Every backend writes the same bytes.
        for (i, o) in outputs.iter().enumerate() {
            assert_eq!(o, &outputs[i % 3], "level {level}");
        }
    }
    // Empty input, and the default level (6).
    let data = &whole[..100_000];
    for format in ["deflate", "zlib", "gzip"] {
        let packed = ok(&["compress", "--format", format], &[]);
        assert!(ok(&["decompress", "--format", format], &packed).is_empty());
        let default = ok(&["compress", "--format", format], data);
        assert_eq!(
            default,
            ok(&["compress", "--format", format, "--level", "6"], data)
        );
    }
    for args in [
        &["compress", "--format", "gzip", "--level", "10"][..],
        &["compress", "--format", "zlib", "--level", "-1"][..],
        &["compress", "--format", "deflate", "--acceleration", "2"][..],
    ] {
        assert_one_line_error(&offload_with_stdin(args, data));
    }
}

#[test]
fn decompresses_gzip_files_and_members() {
    let data = sample();
    let Some(mut two) = gzip_command(&data) else {
        return;
    };
    two.extend(gzip_command(b"second member").unwrap());
    let mut both = data.clone();
    both.extend_from_slice(b"second member");
    for backend in backends() {
        assert_eq!(
            ok(
                &["decompress", "--format", "gzip", "--backend", &backend],
                &two
            ),
            both
        );
    }
    // Too small a --max-size, trailing garbage, a truncated member: one-line errors.
    let mut trailing = two.clone();
    trailing.extend_from_slice(b"junk");
    for (args, input) in [
        (
            &["decompress", "--format", "gzip", "--max-size", "1000"][..],
            &two[..],
        ),
        (&["decompress", "--format", "gzip"][..], &trailing[..]),
        (
            &["decompress", "--format", "gzip"][..],
            &two[..two.len() - 30],
        ),
        (&["decompress", "--format", "zlib"][..], &two[..]),
    ] {
        assert_one_line_error(&offload_with_stdin(args, input));
    }
}
