//! `offload reduce` on files written here: sums, MIN/MAX, integer AVG, bf16 and FP8 against
//! values computed by hand, every backend of `offload backends`, and one-line errors.

#![allow(
    clippy::unwrap_used,
    clippy::std_instead_of_core,
    clippy::cast_precision_loss,
    reason = "test code: a panic is a failure"
)]

#[path = "support/process.rs"]
mod process;

use std::path::{Path, PathBuf};

use process::{assert_one_line_error, offload, scratch};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn reduce(args: &[&str]) {
    let out = offload(&[&["reduce"], args].concat());
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
}

fn backends() -> Vec<String> {
    let out = offload(&["backends", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names = vec!["auto".to_string()];
    for row in rows.as_array().unwrap() {
        if row["engine"] == "sharp-reduce" && row["available"] == true {
            names.push(row["backend"].as_str().unwrap().to_string());
        }
    }
    assert!(names.iter().any(|n| n == "scalar"), "{names:?}");
    names
}

#[test]
fn sums_min_max_avg_on_every_backend() {
    let dir = scratch("reduce-ops");
    let a = write(&dir, "a", &f32s(&[1.0, 2.0, -0.0, 1e30]));
    let b = write(&dir, "b", &f32s(&[0.5, f32::NAN, 0.0, 1e30]));
    let c = write(&dir, "c", &f32s(&[0.25, 4.0, 0.0, -1e30]));
    let out = dir.join("out");
    let (a, b, c, o) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        c.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    for backend in backends() {
        let common = [
            "--backend",
            backend.as_str(),
            "--dtype",
            "f32",
            "--output",
            o,
        ];
        reduce(&[&common[..], &["--op", "sum", a, b, c]].concat());
        let got = std::fs::read(&out).unwrap();
        let want = [1.75f32, f32::NAN, 0.0, 1e30];
        for (g, w) in got.chunks(4).zip(want) {
            let g = f32::from_le_bytes(g.try_into().unwrap());
            assert!(
                g == w || (g.is_nan() && w.is_nan()),
                "{backend}: {g} vs {w}"
            );
        }
        reduce(&[&common[..], &["--op", "min", a, c]].concat());
        let got = std::fs::read(&out).unwrap();
        // IEEE minimum: -0 < +0.
        assert_eq!(got, f32s(&[0.25, 2.0, -0.0, -1e30]), "{backend}");
    }
    // Integers: AVG sums then divides toward zero; BXOR.
    let i = |v: &[i32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let x = write(&dir, "x", &i(&[-7, 5, i32::MAX]));
    let y = write(&dir, "y", &i(&[2, 6, 1]));
    let (x, y) = (x.to_str().unwrap(), y.to_str().unwrap());
    reduce(&["--op", "avg", "--dtype", "i32", "--output", o, x, y]);
    assert_eq!(std::fs::read(&out).unwrap(), i(&[-2, 5, i32::MIN / 2]));
    reduce(&["--op", "bxor", "--dtype", "i32", "--output", o, x, y]);
    assert_eq!(
        std::fs::read(&out).unwrap(),
        i(&[-7 ^ 2, 5 ^ 6, i32::MAX ^ 1])
    );
}

#[test]
fn narrow_types() {
    let dir = scratch("reduce-narrow");
    let out = dir.join("out");
    let o = out.to_str().unwrap();
    // bf16 1.0 + 2^-7 is exact; 256 + 1 rounds to even (256).
    let bf = |v: &[u16]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let a = write(&dir, "a", &bf(&[0x3F80, 0x4380]));
    let b = write(&dir, "b", &bf(&[0x3C00, 0x3F80]));
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    reduce(&["--op", "sum", "--dtype", "bf16", "--output", o, a, b]);
    assert_eq!(std::fs::read(&out).unwrap(), bf(&[0x3F81, 0x4380]));
    // E4M3 448 + 448: NaN (0x7F) unless saturating (448 = 0x7E).
    let e = write(&dir, "e", &[0x7E, 0x7E]);
    let e = e.to_str().unwrap();
    reduce(&["--op", "sum", "--dtype", "e4m3", "--output", o, e, e]);
    assert_eq!(std::fs::read(&out).unwrap(), [0x7F, 0x7F]);
    reduce(&[
        "--op",
        "sum",
        "--dtype",
        "e4m3",
        "--fp8",
        "saturating",
        "--output",
        o,
        e,
        e,
    ]);
    assert_eq!(std::fs::read(&out).unwrap(), [0x7E, 0x7E]);
}

#[test]
fn bad_input_is_one_line() {
    let dir = scratch("reduce-errors");
    let four = write(&dir, "four", &[0; 4]);
    let six = write(&dir, "six", &[0; 6]);
    let three = write(&dir, "three", &[0; 3]);
    let out = dir.join("out");
    let (four, six, three, o) = (
        four.to_str().unwrap(),
        six.to_str().unwrap(),
        three.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let missing = dir.join("missing");
    for args in [
        vec![
            "reduce", "--op", "bogus", "--dtype", "f32", "--output", o, four,
        ],
        vec![
            "reduce", "--op", "sum", "--dtype", "f128", "--output", o, four,
        ],
        vec![
            "reduce", "--op", "sum", "--dtype", "f32", "--output", o, four, six,
        ],
        vec![
            "reduce", "--op", "sum", "--dtype", "f32", "--output", o, three,
        ],
        vec![
            "reduce", "--op", "band", "--dtype", "f32", "--output", o, four,
        ],
        vec![
            "reduce", "--op", "minloc", "--dtype", "f32", "--output", o, four,
        ],
        vec![
            "reduce", "--op", "sum", "--dtype", "f32", "--fp8", "clamp", "--output", o, four,
        ],
        vec![
            "reduce",
            "--op",
            "sum",
            "--dtype",
            "f32",
            "--backend",
            "bogus",
            "--output",
            o,
            four,
        ],
        vec!["reduce", "--op", "sum", "--dtype", "f32", "--output", o],
        vec![
            "reduce",
            "--op",
            "sum",
            "--dtype",
            "f32",
            "--output",
            o,
            missing.to_str().unwrap(),
        ],
    ] {
        assert_one_line_error(&offload(&args));
    }
    assert!(!out.exists(), "nothing written on error");
}
