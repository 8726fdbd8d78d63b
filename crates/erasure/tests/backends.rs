//! Every backend available on this machine against `Scalar`, and `Scalar` against a naive
//! byte-at-a-time reference: edge lengths, misaligned slices, all 256 coefficients, many
//! (k, m) shapes. `OFFLOAD_REQUIRE_BACKENDS=avx512,scalar` makes a missing backend a failure.

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::std_instead_of_core,
    reason = "test code: a panic is a failure, and bytes are built from small indices"
)]

use offload_erasure::{Auto, Backend, Code, ErasureCoder, Scalar, Workspace, gf};
use offload_testkit::{Rng, select_backends};

fn engines() -> Vec<(&'static str, Auto)> {
    select_backends(
        "offload-erasure",
        Backend::ALL
            .into_iter()
            .map(|b| (b.name(), Auto::with_backend(b)))
            .collect(),
    )
}

/// Lengths around the 16- and 64-byte vector widths and the 128-byte scalar strip.
fn lengths() -> Vec<usize> {
    let mut v: Vec<usize> = if cfg!(miri) {
        vec![0, 1, 17, 64, 65]
    } else {
        (0..=200).collect()
    };
    if !cfg!(miri) {
        for base in [255, 256, 511, 512, 1024, 4096, 65536] {
            v.extend([base - 1, base, base + 1]);
        }
        v.push(4 * 64 + 3);
    }
    v
}

/// The definition: `outs[r] = XOR_j c[r][j] * srcs[j]`, one byte at a time.
fn naive(coeffs: &[u8], srcs: &[&[u8]], len: usize) -> Vec<Vec<u8>> {
    let k = srcs.len();
    coeffs
        .chunks(k.max(1))
        .take(coeffs.len().checked_div(k).unwrap_or(0))
        .map(|row| {
            (0..len)
                .map(|i| {
                    row.iter()
                        .zip(srcs)
                        .fold(0u8, |acc, (&c, s)| acc ^ gf::mul(c, s[i]))
                })
                .collect()
        })
        .collect()
}

/// Runs `dot_prod` with the sources and outputs placed at `offset` into larger buffers, so the
/// kernels see misaligned slices and any write outside the slices shows up.
fn dot_prod_at(
    e: &impl ErasureCoder,
    coeffs: &[u8],
    srcs: &[Vec<u8>],
    nout: usize,
    offset: usize,
) -> Vec<Vec<u8>> {
    let len = srcs.first().map_or(0, Vec::len);
    let padded: Vec<Vec<u8>> = srcs
        .iter()
        .map(|s| {
            let mut p = vec![0x5Au8; offset + len + 64];
            p[offset..offset + len].copy_from_slice(s);
            p
        })
        .collect();
    let src_refs: Vec<&[u8]> = padded.iter().map(|p| &p[offset..offset + len]).collect();
    let mut out_bufs = vec![vec![0xC3u8; offset + len + 64]; nout];
    {
        let mut outs: Vec<&mut [u8]> = out_bufs
            .iter_mut()
            .map(|o| &mut o[offset..offset + len])
            .collect();
        e.dot_prod(coeffs, &src_refs, &mut outs).unwrap();
    }
    for o in &out_bufs {
        assert!(
            o[..offset].iter().all(|&b| b == 0xC3),
            "write before the output"
        );
        assert!(
            o[offset + len..].iter().all(|&b| b == 0xC3),
            "write past the output"
        );
    }
    out_bufs
        .into_iter()
        .map(|o| o[offset..offset + len].to_vec())
        .collect()
}

#[test]
fn scalar_matches_naive() {
    let mut rng = Rng::new(1);
    let shapes: &[(usize, usize)] = if cfg!(miri) {
        &[(3, 2)]
    } else {
        &[(1, 1), (3, 2), (5, 7), (10, 4)]
    };
    for &(k, m) in shapes {
        for len in lengths() {
            let srcs: Vec<Vec<u8>> = (0..k).map(|_| rng.bytes(len)).collect();
            let coeffs = rng.bytes(k * m);
            let refs: Vec<&[u8]> = srcs.iter().map(Vec::as_slice).collect();
            let got = dot_prod_at(&Scalar, &coeffs, &srcs, m, 0);
            assert_eq!(got, naive(&coeffs, &refs, len), "k={k} m={m} len={len}");
        }
    }
}

#[test]
fn dot_prod_all_backends_match_scalar_on_lengths_and_offsets() {
    let mut rng = Rng::new(2);
    for (name, e) in engines() {
        // (2, 13): two whole groups of `Avx512`'s six outputs and a last one of one, each
        // over more than one source.
        let shapes: &[(usize, usize)] = if cfg!(miri) {
            &[(1, 1), (3, 2), (7, 5), (2, 13)]
        } else {
            &[(1, 1), (2, 1), (4, 2), (7, 5), (10, 4), (3, 6), (2, 13)]
        };
        for &(k, m) in shapes {
            for len in lengths() {
                let srcs: Vec<Vec<u8>> = (0..k).map(|_| rng.bytes(len)).collect();
                let coeffs = rng.bytes(k * m);
                let want = dot_prod_at(&Scalar, &coeffs, &srcs, m, 0);
                let offsets: &[usize] = if cfg!(miri) {
                    &[0, 3]
                } else if len <= 200 {
                    &[0, 1, 3, 63]
                } else {
                    &[0, 5]
                };
                for &offset in offsets {
                    let got = dot_prod_at(&e, &coeffs, &srcs, m, offset);
                    assert_eq!(got, want, "{name}: k={k} m={m} len={len} offset={offset}");
                }
            }
        }
    }
}

#[test]
fn every_coefficient_on_every_backend() {
    let mut rng = Rng::new(3);
    let lens: &[usize] = if cfg!(miri) {
        &[17]
    } else {
        &[1, 15, 64, 100, 257]
    };
    for (name, e) in engines() {
        for &len in lens {
            let src = rng.bytes(len);
            // Every coefficient natively; a spread of them under Miri's slow interpreter.
            let step = if cfg!(miri) { 37 } else { 1 };
            for c in (0..=255u8).step_by(step) {
                let got = dot_prod_at(&e, &[c], std::slice::from_ref(&src), 1, 1);
                let want: Vec<u8> = src.iter().map(|&x| gf::mul(c, x)).collect();
                assert_eq!(got[0], want, "{name}: c={c} len={len}");
            }
        }
    }
}

#[test]
fn mul_acc_all_backends_match_scalar() {
    let mut rng = Rng::new(4);
    for (name, e) in engines() {
        let counts: &[usize] = if cfg!(miri) {
            &[1, 7]
        } else {
            &[1, 2, 5, 6, 7, 13]
        };
        for &m in counts {
            for len in lengths() {
                let src = rng.bytes(len);
                let coeffs = rng.bytes(m);
                let start: Vec<Vec<u8>> = (0..m).map(|_| rng.bytes(len)).collect();
                let mut want = start.clone();
                let mut got = start.clone();
                {
                    let mut w: Vec<&mut [u8]> = want.iter_mut().map(Vec::as_mut_slice).collect();
                    Scalar.mul_acc(&coeffs, &src, &mut w).unwrap();
                    let mut g: Vec<&mut [u8]> = got.iter_mut().map(Vec::as_mut_slice).collect();
                    e.mul_acc(&coeffs, &src, &mut g).unwrap();
                }
                for (r, w) in want.iter().enumerate() {
                    let expect: Vec<u8> = start[r]
                        .iter()
                        .zip(&src)
                        .map(|(&a, &x)| a ^ gf::mul(coeffs[r], x))
                        .collect();
                    assert_eq!(*w, expect, "scalar mul_acc m={m} len={len}");
                }
                assert_eq!(got, want, "{name}: m={m} len={len}");
            }
        }
    }
}

#[test]
fn zero_sources_zero_the_outputs() {
    for (name, e) in engines() {
        let mut out = [7u8; 100];
        e.dot_prod(&[], &[], &mut [&mut out[..]]).unwrap();
        assert!(out.iter().all(|&b| b == 0), "{name}");
    }
}

#[test]
fn encode_and_reconstruct_all_shapes_match_scalar() {
    let mut rng = Rng::new(5);
    let mut ws = Box::new(Workspace::new());
    let shapes: &[(usize, usize)] = if cfg!(miri) {
        &[(1, 1), (3, 2)]
    } else {
        &[
            (1, 1),
            (10, 4),
            (17, 3),
            (128, 128),
            (255, 1),
            (1, 255),
            (8, 3),
            (4, 2),
        ]
    };
    for (name, e) in engines() {
        for &(k, m) in shapes {
            for code in [
                Code::cauchy(k, m).unwrap(),
                Code::vandermonde(k, m).unwrap(),
            ] {
                let len = if cfg!(miri) { 33 } else { 1 + rng.below(300) };
                let data: Vec<Vec<u8>> = (0..k).map(|_| rng.bytes(len)).collect();
                let refs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
                let mut want = vec![vec![0u8; len]; m];
                let mut got = vec![vec![0u8; len]; m];
                {
                    let mut w: Vec<&mut [u8]> = want.iter_mut().map(Vec::as_mut_slice).collect();
                    Scalar.encode(&code, &refs, &mut w).unwrap();
                    let mut g: Vec<&mut [u8]> = got.iter_mut().map(Vec::as_mut_slice).collect();
                    e.encode(&code, &refs, &mut g).unwrap();
                }
                assert_eq!(got, want, "{name}: encode {k}+{m} {:?}", code.matrix_kind());

                // Lose min(m, 4) random shards, rebuild, compare with the originals.
                let mut shards: Vec<Vec<u8>> = data.iter().chain(&want).cloned().collect();
                let mut present = vec![true; k + m];
                for _ in 0..m.min(4) {
                    let i = rng.below(k + m);
                    present[i] = false;
                    shards[i].fill(0xEE);
                }
                let mut refs: Vec<&mut [u8]> = shards.iter_mut().map(Vec::as_mut_slice).collect();
                e.reconstruct(&code, &mut refs, &present, &mut ws).unwrap();
                let original: Vec<Vec<u8>> = data.iter().chain(&want).cloned().collect();
                assert_eq!(shards, original, "{name}: reconstruct {k}+{m}");
            }
        }
    }
}
