//! The `offload-sharp-reduce` harnesses: every backend against `Scalar` on arbitrary bytes.

use offload_sharp_reduce::{Auto, Backend, DType, Error, Fp8Mode, Job, Op, Reducer, Scalar};

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

/// Operations the protocol carries (everything but AVG and MINLOC/MAXLOC).
const WIRE_OPS: [Op; 10] = [
    Op::Sum,
    Op::Prod,
    Op::Min,
    Op::Max,
    Op::Band,
    Op::Bor,
    Op::Bxor,
    Op::Land,
    Op::Lor,
    Op::Lxor,
];

/// Arbitrary packet sequences to an aggregation node (root or inner, arrival-order or
/// reproducible, hosting all or only some of the job's slots): no panic, the node's
/// invariants hold after every packet, a refused packet changes nothing, every packet the
/// node emits parses as a valid packet of its job, and a `Scalar` node and an `Auto` node
/// given the same packets answer identically. Packets are either raw bytes or headers built
/// for the node's job (so the fuzzer gets past the checks to the slot state machine) with
/// arbitrary fields and payloads.
pub fn sharp_reduce_node_untrusted(data: &[u8]) {
    use offload_sharp_reduce::{Header, Kind, Node, NodeConfig, Packet, Slot};

    let mut input = Input::new(data);
    let op = WIRE_OPS[usize::from(input.byte()) % WIRE_OPS.len()];
    let mut dtype = DType::ALL[usize::from(input.byte()) % DType::ALL.len()];
    if !op.supports(dtype) {
        dtype = DType::I32;
    }
    let flags = input.byte();
    let mode = if flags & 1 != 0 && dtype.is_fp8() {
        Fp8Mode::Saturating
    } else {
        Fp8Mode::NonSaturating
    };
    let chunk = 1 + usize::from(input.byte() % 32);
    let pool = 1 + usize::from(input.byte() % 6);
    let fan_in = 1 + usize::from(input.byte() % 6);
    let hosted = 1 + usize::from(input.byte()) % pool;
    let mut job = Job::new(0x00C0_FFEE, op.with_fp8(mode), dtype, chunk, pool);
    if flags & 2 != 0 {
        job = job.reproducible();
    }
    let cfg = NodeConfig {
        job,
        fan_in,
        parent_rank: (flags & 4 != 0).then_some(flags >> 3 & 7),
    };
    if cfg.validate().is_err() {
        return;
    }
    let mut slots_a = vec![Slot::EMPTY; hosted];
    let mut slots_b = vec![Slot::EMPTY; hosted];
    let mut store_a = vec![0u8; cfg.storage_len(hosted)];
    let mut store_b = vec![0u8; cfg.storage_len(hosted)];
    let Ok(mut scalar) = Node::new(cfg, Scalar, &mut slots_a, &mut store_a) else {
        panic!("a valid config was refused");
    };
    let Ok(mut auto) = Node::new(cfg, Auto::detect(), &mut slots_b, &mut store_b) else {
        panic!("a valid config was refused (auto)");
    };
    let out_len = cfg.max_packet_len();
    let mut packet = Vec::new();
    for step in 0..64u64 {
        if input.rest().is_empty() {
            break;
        }
        let shape = input.byte();
        packet.clear();
        if shape & 3 == 0 {
            // Raw bytes.
            let n = usize::from(input.byte());
            packet.extend_from_slice(input.take(n));
        } else {
            let c = u64::from(input.byte() % 24);
            let (slot, version) = job.slot_of(c);
            let count = if shape & 0x80 != 0 {
                1 + usize::from(input.byte()) % chunk
            } else {
                chunk
            };
            let header = Header {
                kind: match shape >> 2 & 3 {
                    0 | 1 => Kind::Data,
                    2 => Kind::Result,
                    _ => Kind::NoSlot,
                },
                job: job.id,
                slot,
                version: if shape & 0x40 != 0 {
                    version ^ 1
                } else {
                    version
                },
                rank: input.byte() % (fan_in as u8 + 1),
                reduction: job.reduction,
                dtype,
                reproducible: job.reproducible,
                count: count as u16,
                offset: c * chunk as u64,
            };
            packet.resize(header.buffer_len(), 0);
            header.emit(&mut Packet::new_unchecked(&mut packet[..]));
            let payload_len = usize::from(input.byte());
            let payload_from = input.take(payload_len);
            fill(&mut packet[HEADER_LEN_FUZZ..], payload_from, step);
            if shape & 0x20 != 0 {
                // One corrupted byte.
                let at = usize::from(input.byte()) % packet.len();
                packet[at] ^= input.byte() | 1;
            }
        }
        let before = (scalar.stats(), auto.stats());
        let mut out_a = vec![0x5Au8; out_len];
        let mut out_b = vec![0xA5u8; out_len];
        let ra = scalar.handle(&packet, &mut out_a);
        let rb = auto.handle(&packet, &mut out_b);
        assert_eq!(ra, rb, "backends disagree on {packet:02x?}");
        scalar
            .check_invariants()
            .unwrap_or_else(|e| panic!("invariant: {e}"));
        auto.check_invariants()
            .unwrap_or_else(|e| panic!("invariant: {e}"));
        match ra {
            Err(_) => assert_eq!(
                (scalar.stats(), auto.stats()),
                before,
                "refusal changed state"
            ),
            Ok(action) => {
                let len = action.packet_len().unwrap_or(0);
                assert!(len <= out_len);
                assert_eq!(
                    out_a[..len],
                    out_b[..len],
                    "backends emitted different bytes"
                );
                if len > 0 {
                    let Ok(view) = Packet::new_checked(&out_a[..len]) else {
                        panic!("emitted a packet that does not parse");
                    };
                    let h = Header::parse(&view).unwrap_or_else(|e| panic!("emitted: {e}"));
                    assert_eq!((h.job, h.dtype), (job.id, dtype));
                }
            }
        }
    }
}

/// Header bytes before a packet's payload.
const HEADER_LEN_FUZZ: usize = offload_sharp_reduce::HEADER_LEN;
