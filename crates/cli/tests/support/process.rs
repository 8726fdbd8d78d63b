//! Running the `offload` binary from an integration test, and the checks every test shares.
//! Included by each test file with `#[path = "support/process.rs"] mod process;`.

#![allow(
    dead_code,
    reason = "each test file uses the helpers it needs; the rest are unused there"
)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The `offload` binary as a command. When the tests run through a cargo runner (qemu for a
/// cross target, `CARGO_TARGET_<TRIPLE>_RUNNER` in the environment), the binary goes through
/// the same runner.
pub(crate) fn offload(args: &[&str]) -> Output {
    command(args).output().unwrap()
}

/// `offload ARGS < stdin`, its output collected.
pub(crate) fn offload_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = command(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    // A thread feeds stdin while the output is collected, so neither pipe can fill up.
    let feeder = std::thread::spawn(move || pipe.write_all(&data));
    let out = child.wait_with_output().unwrap();
    // The command may stop reading early (on an error); a broken pipe is not a failure.
    let _ = feeder.join().unwrap();
    out
}

fn command(args: &[&str]) -> Command {
    let bin = env!("CARGO_BIN_EXE_offload");
    let arch = std::env::consts::ARCH.to_uppercase();
    let runner = std::env::vars()
        .find(|(key, _)| {
            key.starts_with(&format!("CARGO_TARGET_{arch}_")) && key.ends_with("_RUNNER")
        })
        .map(|(_, value)| value);
    let mut command = match runner.as_deref().map(str::split_whitespace) {
        Some(mut words) => {
            let mut c = Command::new(words.next().unwrap());
            c.args(words).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    command.args(args);
    command
}

/// A fresh directory under the system's temporary directory, unique to this process.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("offload-cli-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A failure: non-zero exit and exactly one line on stderr, starting `offload: `.
pub(crate) fn assert_one_line_error(out: &Output) {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "stderr: {err}");
    assert!(err.starts_with("offload: "), "stderr: {err}");
}
