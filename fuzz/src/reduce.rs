//! The `offload-sharp-reduce` harnesses: every backend against `Scalar` on arbitrary bytes.

use offload_sharp_reduce::{Auto, Backend, DType, Error, Fp8Mode, Op, Reducer, Scalar};

use crate::{Input, fill};

/// Arbitrary operation, type, FP8 mode, input count (1..=16), length and misalignment; the
/// element bytes come from the input, so every bit pattern (NaNs with payloads, subnormals,
/// ±0, ±Inf) is reached. Every backend's `reduce_bytes` and `reduce_into_bytes` must equal
/// `Scalar`'s bit for bit, refuse exactly what `Scalar` refuses, and leave the output
/// untouched when refusing. The typed entry points are covered by the crate's tests; this
/// target explores the values.
pub fn sharp_reduce_backends_agree(data: &[u8]) {
    let mut input = Input::new(data);
    let op = Op::ALL[usize::from(input.byte()) % Op::ALL.len()];
    let dtype = DType::ALL[usize::from(input.byte()) % DType::ALL.len()];
    let flags = input.byte();
    let mode = if flags & 1 != 0 {
        Fp8Mode::Saturating
    } else {
        Fp8Mode::NonSaturating
    };
    let n = 1 + usize::from(input.byte() % 16);
    let elems = usize::from(input.u16() % 600);
    let misalign = usize::from(flags >> 1 & 7);
    // A length that is not a whole number of elements, sometimes.
    let len = elems * dtype.size() + usize::from(flags >> 4 & 1);
    let raw = input.rest();
    let bufs: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let mut b = vec![0u8; misalign + len];
            fill(
                &mut b[misalign..],
                raw.get(i * 7..).unwrap_or_default(),
                i as u64,
            );
            b
        })
        .collect();
    let ins: Vec<&[u8]> = bufs.iter().map(|b| &b[misalign..]).collect();
    let r = op.with_fp8(mode);

    let mut want = vec![0xA5u8; len];
    let want_result = Scalar.reduce_bytes(r, dtype, &ins, &mut want);
    if want_result.is_err() {
        assert!(
            want.iter().all(|&b| b == 0xA5),
            "scalar wrote on {want_result:?}"
        );
    }
    if !op.supports(dtype) || op.is_loc() {
        assert!(
            matches!(want_result, Err(Error::Unsupported { .. })),
            "{want_result:?}"
        );
    }
    let mut acc_want = ins.first().map(|s| s.to_vec()).unwrap_or_default();
    let acc_result = Scalar.reduce_into_bytes(r, dtype, &mut acc_want, &ins[1..]);
    if want_result.is_ok() && n > 1 {
        assert_eq!(acc_result, Ok(()));
        assert_eq!(
            acc_want, want,
            "reduce_into differs from reduce ({op} {dtype})"
        );
    }
    for b in Backend::ALL.into_iter().filter_map(Auto::with_backend) {
        for fill_byte in [0x00u8, 0xFF] {
            let mut got = vec![fill_byte; len];
            let result = b.reduce_bytes(r, dtype, &ins, &mut got);
            assert_eq!(result, want_result, "{} {op} {dtype} n {n}", b.backend());
            if result.is_ok() {
                assert_eq!(got, want, "{} {op} {dtype} n {n} len {len}", b.backend());
            } else {
                assert!(
                    got.iter().all(|&x| x == fill_byte),
                    "{} wrote on error",
                    b.backend()
                );
            }
        }
        if n > 1 {
            let mut acc = ins[0].to_vec();
            assert_eq!(
                b.reduce_into_bytes(r, dtype, &mut acc, &ins[1..]),
                acc_result
            );
            if acc_result.is_ok() {
                assert_eq!(acc, acc_want, "{} reduce_into {op} {dtype}", b.backend());
            }
        }
    }
}
