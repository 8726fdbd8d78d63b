//! The `offload` command as a user runs it: exit codes, one-line errors, JSON shapes, and the
//! erasure-coding file round trip.

#![allow(
    clippy::unwrap_used,
    clippy::std_instead_of_core,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is a failure"
)]

#[path = "support/process.rs"]
mod process;

use process::{assert_one_line_error, offload, scratch};

#[test]
fn backends_json_lists_every_erasure_backend() {
    let out = offload(&["backends", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    let erasure: Vec<_> = rows.iter().filter(|r| r["engine"] == "erasure").collect();
    assert!(
        erasure
            .iter()
            .any(|r| r["backend"] == "scalar" && r["available"] == true)
    );
    assert_eq!(erasure.iter().filter(|r| r["chosen"] == true).count(), 1);
    let table = offload(&["backends"]);
    assert!(table.status.success());
    assert!(String::from_utf8_lossy(&table.stdout).contains("erasure"));
}

#[test]
fn bench_json_has_the_ceiling_rows() {
    let out = offload(&[
        "bench",
        "--engine",
        "ceiling",
        "--seconds",
        "0.01",
        "--json",
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert!(rows.len() >= 6);
    for r in rows {
        assert_eq!(r["engine"], "ceiling");
        assert!(r["gbytes_per_s_per_core"].as_f64().unwrap() > 0.0);
        let c400 = r["cores_for_400g"].as_f64().unwrap();
        let c800 = r["cores_for_800g"].as_f64().unwrap();
        assert!((c800 - 2.0 * c400).abs() < 1e-9 * c800.max(1.0));
    }
}

#[test]
fn bench_threads_reports_totals() {
    let out = offload(&[
        "bench",
        "--engine",
        "ceiling",
        "--seconds",
        "0.01",
        "--threads",
        "2",
        "--json",
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for r in v.as_array().unwrap() {
        assert_eq!(r["threads"], 2);
        let per_core = r["gbytes_per_s_per_core"].as_f64().unwrap();
        let total = r["gbytes_per_s_total"].as_f64().unwrap();
        assert!((total - 2.0 * per_core).abs() < 1e-9 * total);
    }
}

#[test]
fn bench_rejects_bad_options_in_one_line() {
    assert_one_line_error(&offload(&["bench", "--engine", "nope"]));
    assert_one_line_error(&offload(&["bench", "--seconds", "0"]));
    assert_one_line_error(&offload(&["bench", "--threads", "0"]));
    // Usage errors from the argument parser are one line too.
    assert_one_line_error(&offload(&["bench", "--seconds", "abc"]));
    assert_one_line_error(&offload(&["ec", "encode", "--data-shards", "4", "x"]));
    assert_one_line_error(&offload(&["no-such-command"]));
    // Help is not an error.
    let help = offload(&["ec", "decode", "--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--size"));
}

#[test]
fn ec_encode_lose_m_decode_roundtrip() {
    let dir = scratch("ec");
    let file = dir.join("blob");
    let data: Vec<u8> = (0..100_003u32).map(|i| (i * 7 + i / 256) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let f = file.to_str().unwrap();
    for matrix in ["cauchy", "vandermonde"] {
        let out = offload(&[
            "ec",
            "encode",
            "--data-shards",
            "6",
            "--parity-shards",
            "3",
            "--matrix",
            matrix,
            f,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for i in 0..9 {
            let len = std::fs::metadata(format!("{f}.{i}")).unwrap().len();
            assert_eq!(len, 100_003u64.div_ceil(6));
        }
        for i in [0, 4, 7] {
            std::fs::remove_file(format!("{f}.{i}")).unwrap();
        }
        let rebuilt = dir.join(format!("rebuilt-{matrix}"));
        let out = offload(&[
            "ec",
            "decode",
            "--data-shards",
            "6",
            "--parity-shards",
            "3",
            "--matrix",
            matrix,
            "--size",
            "100003",
            "--output",
            rebuilt.to_str().unwrap(),
            f,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(std::fs::read(&rebuilt).unwrap(), data);
        // A fourth loss is too many: one line, non-zero.
        std::fs::remove_file(format!("{f}.1")).unwrap();
        assert_one_line_error(&offload(&[
            "ec",
            "decode",
            "--data-shards",
            "6",
            "--parity-shards",
            "3",
            "--size",
            "100003",
            "--output",
            rebuilt.to_str().unwrap(),
            f,
        ]));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ec_shards_match_scalar_backend_and_reject_bad_shapes() {
    let dir = scratch("ec-backends");
    let file = dir.join("blob");
    std::fs::write(
        &file,
        b"offload erasure coding: the same shards on every backend",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let mut first: Option<Vec<Vec<u8>>> = None;
    for backend in ["scalar", "auto"] {
        let out = offload(&[
            "ec",
            "encode",
            "--data-shards",
            "4",
            "--parity-shards",
            "2",
            "--backend",
            backend,
            f,
        ]);
        assert!(out.status.success());
        let shards: Vec<Vec<u8>> = (0..6)
            .map(|i| std::fs::read(format!("{f}.{i}")).unwrap())
            .collect();
        match &first {
            None => first = Some(shards),
            Some(s) => assert_eq!(s, &shards, "{backend}"),
        }
    }
    assert_one_line_error(&offload(&[
        "ec",
        "encode",
        "--data-shards",
        "200",
        "--parity-shards",
        "57",
        f,
    ]));
    assert_one_line_error(&offload(&[
        "ec",
        "encode",
        "--data-shards",
        "2",
        "--parity-shards",
        "2",
        "--backend",
        "sse9",
        f,
    ]));
    std::fs::remove_dir_all(&dir).unwrap();
}
