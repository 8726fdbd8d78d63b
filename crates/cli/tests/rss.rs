//! `offload rss` against the Microsoft RSS verification table (IPv4 and IPv6, with and without
//! ports) on every backend, explicit keys, and one-line errors for bad input.

#![allow(
    clippy::unwrap_used,
    clippy::std_instead_of_core,
    reason = "test code: a panic is a failure"
)]

#[path = "support/process.rs"]
mod process;

use process::{assert_one_line_error, offload};

const MICROSOFT: &str =
    "6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa";

fn rss(args: &[&str]) -> String {
    let out = offload(&[&["rss"], args].concat());
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// (src, dst, sport, dport, hash of addresses, hash with ports): the Microsoft table.
const VECTORS: [(&str, &str, &str, &str, &str, &str); 8] = [
    (
        "66.9.149.187",
        "161.142.100.80",
        "2794",
        "1766",
        "323e8fc2",
        "51ccc178",
    ),
    (
        "199.92.111.2",
        "65.69.140.83",
        "14230",
        "4739",
        "d718262a",
        "c626b0ea",
    ),
    (
        "24.19.198.95",
        "12.22.207.184",
        "12898",
        "38024",
        "d2d0a5de",
        "5c2b394a",
    ),
    (
        "38.27.205.30",
        "209.142.163.6",
        "48228",
        "2217",
        "82989176",
        "afc7327f",
    ),
    (
        "153.39.163.191",
        "202.188.127.2",
        "44251",
        "1303",
        "5d1809c5",
        "10e828a2",
    ),
    (
        "3ffe:2501:200:1fff::7",
        "3ffe:2501:200:3::1",
        "2794",
        "1766",
        "2cc18cd5",
        "40207d3d",
    ),
    (
        "3ffe:501:8::260:97ff:fe40:efab",
        "ff02::1",
        "14230",
        "4739",
        "0f0c461c",
        "dde51bbf",
    ),
    (
        "3ffe:1900:4545:3:200:f8ff:fe21:67cf",
        "fe80::200:f8ff:fe21:67cf",
        "44251",
        "38024",
        "4b61e985",
        "02d1feef",
    ),
];

#[test]
fn microsoft_vectors_on_every_backend() {
    let backends = offload(&["backends", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&backends.stdout).unwrap();
    let mut names = vec!["auto".to_string()];
    for row in rows.as_array().unwrap() {
        if row["engine"] == "flow" && row["available"] == true {
            names.push(row["backend"].as_str().unwrap().to_string());
        }
    }
    assert!(names.iter().any(|n| n == "scalar"), "{names:?}");
    for backend in &names {
        for (src, dst, sp, dp, addrs, ports) in VECTORS {
            assert_eq!(rss(&["--backend", backend, src, dst]), format!("{addrs}\n"));
            assert_eq!(
                rss(&["--backend", backend, src, dst, sp, dp]),
                format!("{ports}\n")
            );
            assert_eq!(
                rss(&["--backend", backend, "--key", MICROSOFT, src, dst, sp, dp]),
                format!("{ports}\n")
            );
        }
    }
}

#[test]
fn other_keys() {
    // A key of all zeros hashes everything to 0; a symmetric key gives the same hash both ways.
    assert_eq!(
        rss(&["--key", &"00".repeat(40), "1.2.3.4", "5.6.7.8", "1", "2"]),
        "00000000\n"
    );
    let sym = "6d5a".repeat(20);
    assert_eq!(
        rss(&["--key", &sym, "10.0.0.1", "10.0.0.2", "1000", "80"]),
        rss(&["--key", &sym, "10.0.0.2", "10.0.0.1", "80", "1000"])
    );
}

#[test]
fn bad_input_is_one_line() {
    for args in [
        &["rss", "1.2.3.4", "::1"][..],
        &["rss", "1.2.3.4", "5.6.7.8", "1"],
        &["rss", "1.2.3.4", "5.6.7.8", "1", "70000"],
        &["rss", "--key", "6d5", "1.2.3.4", "5.6.7.8"],
        &["rss", "--key", "6d5a56da", "1.2.3.4", "5.6.7.8"],
        &["rss", "--key", "zz", "1.2.3.4", "5.6.7.8"],
        &["rss", "--key", &"6d".repeat(53), "1.2.3.4", "5.6.7.8"],
        &["rss", "--backend", "bogus", "1.2.3.4", "5.6.7.8"],
        &["rss", "300.2.3.4", "5.6.7.8"],
    ] {
        assert_one_line_error(&offload(args));
    }
}
