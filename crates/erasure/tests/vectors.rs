//! Known answers and compatibility, on every backend: the published Backblaze vector, parity
//! identical to ISA-L (Cauchy matrix generator and `ec_encode_data`) and to the
//! `reed-solomon-erasure` crate (systematic Vandermonde), every erasure pattern of small
//! codes, `update`, `verify`, and the typed errors.

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::std_instead_of_core,
    reason = "test code: a panic is a failure, and bytes are built from small indices"
)]

use offload_erasure::{
    Auto, Backend, Code, ErasureCoder, Error, Matrix, MatrixKind, Scalar, Workspace,
};
use offload_testkit::isal::Isal;
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

fn encode(e: &impl ErasureCoder, code: &Code, data: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let len = data.first().map_or(0, Vec::len);
    let refs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
    let mut parity = vec![vec![0u8; len]; code.parity_shards()];
    let mut outs: Vec<&mut [u8]> = parity.iter_mut().map(Vec::as_mut_slice).collect();
    e.encode(code, &refs, &mut outs).unwrap();
    parity
}

#[test]
fn backblaze_5_plus_5_vector() {
    // JavaReedSolomon / klauspost TestOneEncode.
    let data = vec![vec![0, 1], vec![4, 5], vec![2, 3], vec![6, 7], vec![8, 9]];
    let code = Code::vandermonde(5, 5).unwrap();
    for (name, e) in engines() {
        assert_eq!(
            encode(&e, &code, &data),
            vec![
                vec![12, 13],
                vec![10, 11],
                vec![14, 15],
                vec![90, 91],
                vec![94, 95]
            ],
            "{name}"
        );
    }
}

#[test]
fn cauchy_matrix_equals_isal_generator() {
    let Some(isal) = Isal::load() else { return };
    for (k, m) in [
        (1, 1),
        (4, 2),
        (10, 4),
        (17, 3),
        (128, 128),
        (255, 1),
        (1, 255),
    ] {
        let full = isal.cauchy1_matrix(k, m);
        let code = Code::cauchy(k, m).unwrap();
        assert_eq!(&full[k * k..], code.parity_matrix(), "{k}+{m}");
        // The top must be the identity for ISA-L too.
        for (i, row) in full[..k * k].chunks(k).enumerate() {
            assert!(row.iter().enumerate().all(|(j, &x)| x == u8::from(i == j)));
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "calls into a C library")]
fn parity_equals_isal_encode_both_matrices() {
    let Some(isal) = Isal::load() else { return };
    let mut rng = Rng::new(10);
    for (name, e) in engines() {
        for (k, m) in [
            (1, 1),
            (4, 2),
            (10, 4),
            (8, 3),
            (17, 3),
            (6, 6),
            (128, 128),
            (255, 1),
        ] {
            for code in [
                Code::cauchy(k, m).unwrap(),
                Code::vandermonde(k, m).unwrap(),
            ] {
                let mut tables = isal.tables(k, m, code.parity_matrix());
                for len in [
                    1,
                    15,
                    16,
                    31,
                    32,
                    63,
                    64,
                    65,
                    100,
                    255,
                    1000,
                    4096,
                    65536 + 7,
                ] {
                    let data: Vec<Vec<u8>> = (0..k).map(|_| rng.bytes(len)).collect();
                    let refs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
                    let mut theirs = vec![vec![0u8; len]; m];
                    let mut outs: Vec<&mut [u8]> =
                        theirs.iter_mut().map(Vec::as_mut_slice).collect();
                    isal.encode(&mut tables, &refs, &mut outs);
                    assert_eq!(
                        encode(&e, &code, &data),
                        theirs,
                        "{name}: {k}+{m} {:?} len={len}",
                        code.matrix_kind()
                    );
                }
            }
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "calls into a C library")]
fn reconstruct_equals_isal_decode() {
    // ISA-L's decode recipe: invert the first k survivors' rows, decode rows from the inverse
    // (and the parity rows times it), ec_encode_data over the survivors.
    let Some(isal) = Isal::load() else { return };
    let mut rng = Rng::new(11);
    let mut ws = Box::new(Workspace::new());
    for (k, m) in [(4, 2), (10, 4), (6, 3)] {
        let code = Code::cauchy(k, m).unwrap();
        let full = isal.cauchy1_matrix(k, m);
        for _ in 0..20 {
            let len = 1 + rng.below(3000);
            let data: Vec<Vec<u8>> = (0..k).map(|_| rng.bytes(len)).collect();
            let parity = encode(&Scalar, &code, &data);
            let all: Vec<Vec<u8>> = data.iter().chain(&parity).cloned().collect();
            let mut present = vec![true; k + m];
            let mut lost_count = 0;
            while lost_count < m {
                let i = rng.below(k + m);
                if present[i] {
                    present[i] = false;
                    lost_count += 1;
                }
            }
            let survivors: Vec<usize> = (0..k + m).filter(|&i| present[i]).take(k).collect();
            let lost: Vec<usize> = (0..k + m).filter(|&i| !present[i]).collect();
            let b: Vec<u8> = survivors
                .iter()
                .flat_map(|&i| full[i * k..(i + 1) * k].to_vec())
                .collect();
            let d = isal.invert(&b, k).unwrap();
            let mut rows = Vec::new();
            for &l in &lost {
                if l < k {
                    rows.extend_from_slice(&d[l * k..(l + 1) * k]);
                } else {
                    for j in 0..k {
                        let mut acc = 0u8;
                        for t in 0..k {
                            acc ^= offload_erasure::gf::mul(full[l * k + t], d[t * k + j]);
                        }
                        rows.push(acc);
                    }
                }
            }
            let mut tables = isal.tables(k, lost.len(), &rows);
            let srcs: Vec<&[u8]> = survivors.iter().map(|&i| all[i].as_slice()).collect();
            let mut theirs = vec![vec![0u8; len]; lost.len()];
            let mut outs: Vec<&mut [u8]> = theirs.iter_mut().map(Vec::as_mut_slice).collect();
            isal.encode(&mut tables, &srcs, &mut outs);

            for (name, e) in engines() {
                let mut shards = all.clone();
                for &l in &lost {
                    shards[l].fill(0);
                }
                let mut refs: Vec<&mut [u8]> = shards.iter_mut().map(Vec::as_mut_slice).collect();
                e.reconstruct(&code, &mut refs, &present, &mut ws).unwrap();
                for (t, &l) in lost.iter().enumerate() {
                    assert_eq!(shards[l], theirs[t], "{name}: {k}+{m} shard {l}");
                    assert_eq!(shards[l], all[l]);
                }
            }
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "slow under Miri")]
fn vandermonde_parity_equals_reed_solomon_erasure() {
    let mut rng = Rng::new(12);
    for (name, e) in engines() {
        for (k, m) in [
            (1, 1),
            (4, 2),
            (5, 5),
            (10, 4),
            (17, 3),
            (128, 128),
            (200, 56),
        ] {
            let rse = reed_solomon_erasure::galois_8::ReedSolomon::new(k, m).unwrap();
            let code = Code::vandermonde(k, m).unwrap();
            // Wide codes cost O(k m) per byte on the scalar path: fewer lengths for them.
            let lens: &[usize] = if k + m > 64 {
                &[1, 65]
            } else {
                &[1, 2, 63, 64, 65, 1000, 4099]
            };
            for &len in lens {
                let data: Vec<Vec<u8>> = (0..k).map(|_| rng.bytes(len)).collect();
                let mut shards: Vec<Vec<u8>> = data.clone();
                shards.extend(std::iter::repeat_n(vec![0u8; len], m));
                rse.encode(&mut shards).unwrap();
                assert_eq!(
                    encode(&e, &code, &data),
                    shards[k..],
                    "{name}: {k}+{m} len={len}"
                );

                // And their reconstruction of our parity (the other direction).
                let ours = encode(&e, &code, &data);
                let mut opt: Vec<Option<Vec<u8>>> =
                    data.iter().chain(&ours).cloned().map(Some).collect();
                for i in 0..m.min(3) {
                    opt[(i * 7) % (k + m)] = None;
                }
                rse.reconstruct(&mut opt).unwrap();
                let back: Vec<Vec<u8>> = opt.into_iter().map(Option::unwrap).collect();
                assert_eq!(back[..k], data[..], "{name}: rse decodes ours {k}+{m}");
            }
        }
    }
}

/// Every subset of at most `m` lost shards of a (k, m) code, for both matrices.
#[test]
fn every_erasure_pattern_recovers_exactly() {
    let mut rng = Rng::new(13);
    let mut ws = Box::new(Workspace::new());
    let shapes: &[(usize, usize)] = if cfg!(miri) {
        &[(2, 2)]
    } else {
        &[(1, 1), (2, 2), (3, 3), (4, 2), (5, 3), (6, 4), (10, 4)]
    };
    for (name, e) in engines() {
        for &(k, m) in shapes {
            let n = k + m;
            for code in [
                Code::cauchy(k, m).unwrap(),
                Code::vandermonde(k, m).unwrap(),
            ] {
                let len = 67;
                let data: Vec<Vec<u8>> = (0..k).map(|_| rng.bytes(len)).collect();
                let parity = encode(&e, &code, &data);
                let all: Vec<Vec<u8>> = data.iter().chain(&parity).cloned().collect();
                for mask in 0u32..(1 << n) {
                    let lost = mask.count_ones() as usize;
                    let present: Vec<bool> = (0..n).map(|i| mask & (1 << i) == 0).collect();
                    let mut shards = all.clone();
                    for (s, &p) in shards.iter_mut().zip(&present) {
                        if !p {
                            s.fill(0xA5);
                        }
                    }
                    let mut refs: Vec<&mut [u8]> =
                        shards.iter_mut().map(Vec::as_mut_slice).collect();
                    let r = e.reconstruct(&code, &mut refs, &present, &mut ws);
                    if lost <= m {
                        r.unwrap();
                        assert_eq!(shards, all, "{name}: {k}+{m} mask={mask:b}");
                    } else {
                        assert_eq!(
                            r,
                            Err(Error::TooManyMissing {
                                missing: lost,
                                max: m
                            })
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn reconstruct_data_leaves_parity_alone() {
    let mut ws = Box::new(Workspace::new());
    let code = Code::cauchy(4, 2).unwrap();
    let data: Vec<Vec<u8>> = (0..4).map(|i| vec![i as u8 * 3 + 1; 100]).collect();
    let parity = encode(&Scalar, &code, &data);
    for (name, e) in engines() {
        let mut shards: Vec<Vec<u8>> = data.iter().chain(&parity).cloned().collect();
        shards[1].fill(0);
        shards[5].fill(0xEE);
        let present = [true, false, true, true, true, false];
        let mut refs: Vec<&mut [u8]> = shards.iter_mut().map(Vec::as_mut_slice).collect();
        e.reconstruct_data(&code, &mut refs, &present, &mut ws)
            .unwrap();
        assert_eq!(shards[1], data[1], "{name}");
        assert!(
            shards[5].iter().all(|&b| b == 0xEE),
            "{name}: parity untouched"
        );
    }
}

#[test]
fn update_equals_reencode_and_verify_detects_damage() {
    let mut rng = Rng::new(14);
    let mut ws = Box::new(Workspace::new());
    for (name, e) in engines() {
        let shapes: &[(usize, usize)] = if cfg!(miri) {
            &[(3, 2)]
        } else {
            &[(4, 2), (10, 4), (3, 9)]
        };
        for &(k, m) in shapes {
            let code = Code::cauchy(k, m).unwrap();
            let lens: &[usize] = if cfg!(miri) {
                &[0, 1, 65, 1025]
            } else {
                &[0, 1, 64, 1023, 1024, 1025, 5000]
            };
            for &len in lens {
                let mut data: Vec<Vec<u8>> = (0..k).map(|_| rng.bytes(len)).collect();
                let mut parity = encode(&e, &code, &data);
                let index = rng.below(k);
                let new = rng.bytes(len);
                {
                    let mut outs: Vec<&mut [u8]> =
                        parity.iter_mut().map(Vec::as_mut_slice).collect();
                    e.update(&code, index, &data[index], &new, &mut outs)
                        .unwrap();
                }
                data[index] = new;
                assert_eq!(
                    parity,
                    encode(&Scalar, &code, &data),
                    "{name}: update len={len}"
                );

                let all: Vec<&[u8]> = data.iter().chain(&parity).map(Vec::as_slice).collect();
                assert!(e.verify(&code, &all, &mut ws).unwrap(), "{name}");
                if len > 0 {
                    let mut damaged = parity.clone();
                    damaged[m - 1][len - 1] ^= 1;
                    let all: Vec<&[u8]> = data.iter().chain(&damaged).map(Vec::as_slice).collect();
                    assert!(!e.verify(&code, &all, &mut ws).unwrap(), "{name}");
                }
            }
        }
    }
}

#[test]
fn typed_errors() {
    let mut ws = Box::new(Workspace::new());
    let code = Code::cauchy(3, 2).unwrap();
    let e = Auto::detect();
    let a = [1u8; 10];
    let short = [1u8; 9];
    let mut p0 = [0u8; 10];
    let mut p1 = [0u8; 10];
    assert_eq!(
        e.encode(&code, &[&a, &a], &mut [&mut p0, &mut p1]),
        Err(Error::ShardCount {
            expected: 3,
            found: 2
        })
    );
    assert_eq!(
        e.encode(&code, &[&a, &short, &a], &mut [&mut p0, &mut p1]),
        Err(Error::ShardLength {
            index: 1,
            expected: 10,
            found: 9
        })
    );
    let mut p_short = [0u8; 9];
    assert_eq!(
        e.encode(&code, &[&a, &a, &a], &mut [&mut p0, &mut p_short]),
        Err(Error::ShardLength {
            index: 4,
            expected: 10,
            found: 9
        })
    );
    assert_eq!(
        e.dot_prod(&[1, 2, 3], &[&a, &a], &mut [&mut p0]),
        Err(Error::CoefficientCount {
            expected: 2,
            found: 3
        })
    );
    assert_eq!(
        e.update(&code, 3, &a, &a, &mut [&mut p0, &mut p1]),
        Err(Error::ShardIndex { index: 3, count: 3 })
    );
    let mut s: Vec<Vec<u8>> = vec![vec![0; 10]; 5];
    let mut refs: Vec<&mut [u8]> = s.iter_mut().map(Vec::as_mut_slice).collect();
    assert_eq!(
        e.reconstruct(
            &code,
            &mut refs,
            &[true, false, false, false, true],
            &mut ws
        ),
        Err(Error::TooManyMissing { missing: 3, max: 2 })
    );
    assert_eq!(
        e.reconstruct(&code, &mut refs, &[true; 4], &mut ws),
        Err(Error::ShardCount {
            expected: 5,
            found: 4
        })
    );
    // Errors write nothing.
    assert!(p0.iter().all(|&b| b == 0));
    // Messages are lower-case, say what to do, and carry the numbers.
    assert_eq!(
        Error::TooManyMissing { missing: 3, max: 2 }.to_string(),
        "3 shards missing, at most 2 can be recovered"
    );
}

#[test]
fn singular_custom_matrix_is_an_error_not_garbage() {
    let mut ws = Box::new(Workspace::new());
    // Two identical parity rows: losing two data shards is unrecoverable.
    let code = Code::new(3, 2, Matrix::Custom(&[1, 2, 3, 1, 2, 3])).unwrap();
    assert_eq!(code.matrix_kind(), MatrixKind::Custom);
    let data: Vec<Vec<u8>> = (0..3).map(|i| vec![i as u8 + 1; 50]).collect();
    let parity = encode(&Scalar, &code, &data);
    let mut shards: Vec<Vec<u8>> = data.iter().chain(&parity).cloned().collect();
    let before = shards.clone();
    let mut refs: Vec<&mut [u8]> = shards.iter_mut().map(Vec::as_mut_slice).collect();
    assert_eq!(
        Auto::detect().reconstruct(&code, &mut refs, &[false, false, true, true, true], &mut ws),
        Err(Error::SingularMatrix)
    );
    assert_eq!(shards, before, "nothing written on error");
    // One lost shard is still fine.
    let mut refs: Vec<&mut [u8]> = shards.iter_mut().map(Vec::as_mut_slice).collect();
    refs[0].fill(0);
    Auto::detect()
        .reconstruct(&code, &mut refs, &[false, true, true, true, true], &mut ws)
        .unwrap();
    assert_eq!(shards, before);
}

#[test]
fn zero_length_shards_work() {
    let mut ws = Box::new(Workspace::new());
    let code = Code::cauchy(4, 2).unwrap();
    for (name, e) in engines() {
        let data = vec![Vec::<u8>::new(); 4];
        assert_eq!(
            encode(&e, &code, &data),
            vec![Vec::<u8>::new(); 2],
            "{name}"
        );
        let mut shards = vec![Vec::<u8>::new(); 6];
        let mut refs: Vec<&mut [u8]> = shards.iter_mut().map(Vec::as_mut_slice).collect();
        e.reconstruct(
            &code,
            &mut refs,
            &[false, true, true, true, true, false],
            &mut ws,
        )
        .unwrap();
    }
}
