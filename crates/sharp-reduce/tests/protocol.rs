//! The aggregation protocol: packet parse/emit and every rejection, node and worker state
//! machines step by step (shadow copy, stale copies, re-sends up, `NoSlot`), and a simulated
//! fabric (trees of one to three levels, loss, duplication, reordering) where every worker
//! must end with the tree's reduction, bit for bit in reproducible mode, each chunk
//! delivered exactly once.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failure, and values are built from small indices"
)]

use offload_sharp_reduce::{
    Action, Auto, Bf16, DType, E4M3, Error, Event, F16, FORMAT, Fp8Mode, HEADER_LEN, Header, Job,
    Kind, MAGIC, Node, NodeConfig, NodeStats, Op, Packet, Pending, RANK_ALL, Reducer, Scalar, Slot,
    Worker, WorkerConfig,
};
use offload_testkit::Rng;

// ---------------------------------------------------------------------------------------
// Packets

fn header(kind: Kind) -> Header {
    Header {
        kind,
        job: 0xDEAD_BEEF,
        slot: 3,
        version: 1,
        rank: 5,
        reduction: Op::Sum.into(),
        dtype: DType::F32,
        reproducible: true,
        count: 4,
        offset: 0x1234_5678_9ABC,
    }
}

/// Header + payload as bytes.
fn packet(h: &Header, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; HEADER_LEN + payload.len()];
    h.emit(&mut Packet::new_unchecked(&mut buf[..]));
    buf[HEADER_LEN..].copy_from_slice(payload);
    buf
}

fn parse(bytes: &[u8]) -> Result<Header, Error> {
    Header::parse(&Packet::new_checked(bytes)?)
}

#[test]
fn header_round_trips() {
    let sat = Op::Max.with_fp8(Fp8Mode::Saturating);
    let cases = [
        header(Kind::Data),
        header(Kind::Result),
        Header {
            kind: Kind::NoSlot,
            ..header(Kind::Data)
        },
        Header {
            version: 0,
            reproducible: false,
            rank: RANK_ALL,
            reduction: sat,
            dtype: DType::Fp8E4M3,
            count: u16::MAX,
            offset: u64::MAX,
            slot: u16::MAX,
            job: 0,
            ..header(Kind::Result)
        },
        Header {
            reduction: Op::Lxor.into(),
            dtype: DType::I64,
            ..header(Kind::Data)
        },
    ];
    for h in cases {
        let payload: Vec<u8> = (0..h.payload_len()).map(|i| i as u8).collect();
        let bytes = packet(&h, &payload);
        assert_eq!(bytes.len(), h.buffer_len());
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Header::parse(&p).unwrap(), h);
        assert_eq!(p.payload(), &payload[..]);
        assert_eq!(p.magic(), MAGIC);
        assert_eq!(p.format(), FORMAT);
        assert_eq!(p.kind_code(), h.kind as u8);
        assert_eq!(
            (p.job(), p.slot(), p.version(), p.rank()),
            (h.job, h.slot, h.version, h.rank)
        );
        assert_eq!((p.count(), p.offset()), (h.count, h.offset));
        // Emit again from the parsed header: the same bytes.
        assert_eq!(packet(&Header::parse(&p).unwrap(), &payload), bytes);
    }
    // The layout, byte by byte.
    let h = header(Kind::Data);
    let b = packet(&h, &[0xAA; 16]);
    assert_eq!(&b[..4], &[b'S', b'R', 1, 1]);
    assert_eq!(&b[4..8], &0xDEAD_BEEFu32.to_le_bytes());
    assert_eq!(&b[8..10], &3u16.to_le_bytes());
    assert_eq!(b[10], 0b011); // version 1, reproducible
    assert_eq!(&b[11..14], &[5, Op::Sum as u8, DType::F32 as u8]);
    assert_eq!(&b[14..16], &4u16.to_le_bytes());
    assert_eq!(&b[16..24], &0x1234_5678_9ABCu64.to_le_bytes());
    assert_eq!(HEADER_LEN, 24);
}

#[test]
fn parse_rejects_every_malformed_field() {
    let h = header(Kind::Data);
    let good = packet(&h, &[0; 16]);
    assert!(parse(&good).is_ok());
    let with = |at: usize, v: u8| {
        let mut b = good.clone();
        b[at] = v;
        b
    };
    // Lengths.
    for len in 0..HEADER_LEN {
        assert_eq!(
            parse(&good[..len]),
            Err(Error::Truncated {
                needed: 24,
                available: len
            })
        );
    }
    assert_eq!(
        parse(&good[..good.len() - 1]),
        Err(Error::PacketLength {
            expected: 40,
            found: 39
        })
    );
    let mut long = good.clone();
    long.push(0);
    assert_eq!(
        parse(&long),
        Err(Error::PacketLength {
            expected: 40,
            found: 41
        })
    );
    // A no-slot packet has no payload.
    let ns = packet(
        &Header {
            kind: Kind::NoSlot,
            ..h
        },
        &[],
    );
    assert!(parse(&ns).is_ok());
    let mut ns_long = ns.clone();
    ns_long.extend_from_slice(&[0; 16]);
    assert!(matches!(parse(&ns_long), Err(Error::PacketLength { .. })));
    // Fields.
    let malformed = |b: &[u8], field: &str| match parse(b) {
        Err(Error::Malformed { field: f, .. }) => assert_eq!(f, field),
        other => panic!("{field}: {other:?}"),
    };
    malformed(&with(0, b'X'), "magic");
    malformed(&with(1, b'X'), "magic");
    malformed(&with(2, 0), "format");
    malformed(&with(2, 2), "format");
    for k in [0u8, 4, 255] {
        // Unknown kinds announce no payload: give them none, so the field check runs.
        let mut b = with(3, k);
        b.truncate(HEADER_LEN);
        malformed(&b, "kind");
    }
    for f in [1u8 << 3, 1 << 7, 0xFF] {
        malformed(&with(10, f), "flags");
    }
    malformed(&with(12, 13), "op");
    malformed(&with(12, 200), "op");
    let mut bad_dtype = with(13, 14);
    bad_dtype.truncate(HEADER_LEN);
    malformed(&bad_dtype, "dtype");
    let zero = packet(&Header { count: 0, ..h }, &[]);
    malformed(&zero, "count");
    // Operations the protocol does not carry.
    for op in [Op::Avg, Op::MinLoc, Op::MaxLoc, Op::Band, Op::Lor] {
        let b = packet(
            &Header {
                reduction: op.into(),
                ..h
            },
            &[0; 16],
        );
        assert_eq!(
            parse(&b),
            Err(Error::Unsupported {
                op,
                dtype: DType::F32
            })
        );
    }
    let sat = packet(
        &Header {
            reduction: Op::Sum.with_fp8(Fp8Mode::Saturating),
            ..h
        },
        &[0; 16],
    );
    assert_eq!(parse(&sat), Err(Error::Fp8Mode { dtype: DType::F32 }));
}

#[test]
fn packet_view_never_panics_on_short_buffers() {
    for len in 0..=HEADER_LEN + 2 {
        let buf = vec![0xA5u8; len];
        let p = Packet::new_unchecked(&buf[..]);
        let _ = (
            p.magic(),
            p.format(),
            p.kind_code(),
            p.job(),
            p.slot(),
            p.flags(),
        );
        let _ = (p.rank(), p.op_code(), p.dtype_code(), p.count(), p.offset());
        let _ = (p.payload(), p.check_len());
        let mut w = vec![0u8; len];
        header(Kind::Result).emit(&mut Packet::new_unchecked(&mut w[..]));
        let full = packet(&header(Kind::Result), &[0; 16]);
        let n = len.min(HEADER_LEN);
        assert_eq!(w[..n], full[..n]);
    }
}

// ---------------------------------------------------------------------------------------
// Configuration

fn job_i32(pool: usize) -> Job {
    Job::new(7, Op::Sum.into(), DType::I32, 4, pool)
}

#[test]
fn configuration_is_validated() {
    let r = Auto::detect();
    let job = job_i32(2);
    let cfg = NodeConfig {
        job,
        fan_in: 2,
        parent_rank: None,
    };
    let mut slots = [Slot::EMPTY; 2];
    let mut st = vec![0u8; cfg.storage_len(2)];
    assert!(Node::new(cfg, r, &mut slots, &mut st).is_ok());
    let bad = |c: NodeConfig, field: &str| {
        let mut slots = [Slot::EMPTY; 2];
        let mut st = vec![0u8; 1 << 20];
        match Node::new(c, r, &mut slots, &mut st) {
            Err(Error::Config { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    };
    bad(NodeConfig { fan_in: 0, ..cfg }, "fan_in");
    bad(NodeConfig { fan_in: 65, ..cfg }, "fan_in");
    bad(
        NodeConfig {
            parent_rank: Some(64),
            ..cfg
        },
        "parent_rank",
    );
    bad(
        NodeConfig {
            job: Job { chunk: 0, ..job },
            ..cfg
        },
        "chunk",
    );
    bad(
        NodeConfig {
            job: Job {
                chunk: 65_536,
                ..job
            },
            ..cfg
        },
        "chunk",
    );
    bad(
        NodeConfig {
            job: Job { pool: 0, ..job },
            ..cfg
        },
        "pool",
    );
    bad(
        NodeConfig {
            job: Job {
                pool: 65_537,
                ..job
            },
            ..cfg
        },
        "pool",
    );
    let avg = NodeConfig {
        job: Job {
            reduction: Op::Avg.into(),
            ..job
        },
        ..cfg
    };
    assert_eq!(
        Node::new(avg, r, &mut slots, &mut st).err(),
        Some(Error::Unsupported {
            op: Op::Avg,
            dtype: DType::I32
        })
    );
    // Storage.
    let mut short = vec![0u8; cfg.storage_len(2) - 1];
    assert_eq!(
        Node::new(cfg, r, &mut slots, &mut short).err(),
        Some(Error::BufferSize {
            buffer: "slot storage",
            needed: cfg.storage_len(2),
            available: cfg.storage_len(2) - 1
        })
    );
    assert!(matches!(
        Node::new(cfg, r, &mut [], &mut st),
        Err(Error::BufferSize {
            buffer: "slots",
            ..
        })
    ));
    // Fewer slots than the pool need proportionally less storage.
    let mut one = [Slot::EMPTY; 1];
    let mut st1 = vec![0u8; cfg.storage_len(1)];
    assert_eq!(Node::new(cfg, r, &mut one, &mut st1).unwrap().slots(), 1);

    // Workers.
    let wcfg = WorkerConfig {
        job,
        rank: 0,
        timeout: 10,
    };
    let input = [0u8; 40];
    let mut out = [0u8; 40];
    let mut win = [Pending::EMPTY; 2];
    assert!(Worker::new(wcfg, &input, &mut out, &mut win).is_ok());
    let mut win3 = [Pending::EMPTY; 3];
    assert!(matches!(
        Worker::new(wcfg, &input, &mut out, &mut win3),
        Err(Error::Config {
            field: "window",
            ..
        })
    ));
    assert!(matches!(
        Worker::new(wcfg, &input, &mut out, &mut []),
        Err(Error::Config {
            field: "window",
            ..
        })
    ));
    assert!(matches!(
        Worker::new(
            WorkerConfig { rank: 64, ..wcfg },
            &input,
            &mut out,
            &mut win
        ),
        Err(Error::Config { field: "rank", .. })
    ));
    assert_eq!(
        Worker::new(wcfg, &input[..39], &mut out[..39], &mut win).err(),
        Some(Error::PartialElement { len: 39, size: 4 })
    );
    assert!(matches!(
        Worker::new(wcfg, &input, &mut out[..36], &mut win),
        Err(Error::BufferSize {
            buffer: "output",
            ..
        })
    ));
}

#[test]
fn storage_sizes_are_as_documented() {
    assert_eq!(size_of::<Slot>(), 48);
    assert_eq!(size_of::<Pending>(), 24);
    let cfg = |dtype, reproducible| NodeConfig {
        job: Job {
            reproducible,
            ..Job::new(1, Op::Sum.into(), dtype, 256, 8)
        },
        fan_in: 5,
        parent_rank: None,
    };
    // Arrival order: one accumulator per element (f32 for the narrow floats).
    assert_eq!(cfg(DType::F32, false).version_bytes(), 256 * 4);
    assert_eq!(cfg(DType::Bf16, false).version_bytes(), 256 * 4);
    assert_eq!(cfg(DType::Fp8E4M3, false).version_bytes(), 256 * 4);
    assert_eq!(cfg(DType::F64, false).version_bytes(), 256 * 8);
    assert_eq!(cfg(DType::U8, false).version_bytes(), 256);
    // Reproducible: every child's chunk.
    assert_eq!(cfg(DType::Bf16, true).version_bytes(), 256 * 5 * 2);
    assert_eq!(cfg(DType::F32, true).storage_len(8), 8 * 2 * 256 * 5 * 4);
    assert_eq!(cfg(DType::F32, true).max_packet_len(), 24 + 1024);
}

// ---------------------------------------------------------------------------------------
// Node and worker, step by step

fn i32s(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn data(job: &Job, chunk: u64, rank: u8, payload: &[u8]) -> Vec<u8> {
    let (slot, version) = job.slot_of(chunk);
    let count = (payload.len() / job.dtype.size()) as u16;
    packet(
        &Header {
            kind: Kind::Data,
            job: job.id,
            slot,
            version,
            rank,
            reduction: job.reduction,
            dtype: job.dtype,
            reproducible: job.reproducible,
            count,
            offset: chunk * job.chunk as u64,
        },
        payload,
    )
}

fn result(job: &Job, chunk: u64, rank: u8, payload: &[u8]) -> Vec<u8> {
    let mut b = data(job, chunk, rank, payload);
    b[3] = Kind::Result as u8;
    b
}

#[test]
fn root_answers_late_retransmissions_from_the_shadow_copy() {
    let job = job_i32(1); // one slot: chunks alternate its two versions
    let cfg = NodeConfig {
        job,
        fan_in: 2,
        parent_rank: None,
    };
    let mut slots = [Slot::EMPTY; 1];
    let mut st = vec![0u8; cfg.storage_len(1)];
    let mut node = Node::new(cfg, Scalar, &mut slots, &mut st).unwrap();
    let mut out = vec![0u8; cfg.max_packet_len()];
    let (a0, b0) = (i32s(&[1, 2, 3, 4]), i32s(&[10, 20, 30, 40]));
    let sum0 = i32s(&[11, 22, 33, 44]);

    assert_eq!(
        node.handle(&data(&job, 0, 0, &a0), &mut out),
        Ok(Action::Nothing)
    );
    // A duplicate while collecting is dropped.
    assert_eq!(
        node.handle(&data(&job, 0, 0, &a0), &mut out),
        Ok(Action::Nothing)
    );
    let act = node.handle(&data(&job, 0, 1, &b0), &mut out).unwrap();
    assert_eq!(act, Action::Multicast(24 + 16));
    let h = parse(&out[..40]).unwrap();
    assert_eq!((h.kind, h.rank, h.offset), (Kind::Result, RANK_ALL, 0));
    assert_eq!(&out[24..40], &sum0[..]);

    // Worker 0 got the result and moved on to chunk 1 (same slot, version 1) ...
    assert_eq!(
        node.handle(&data(&job, 1, 0, &i32s(&[5; 4])), &mut out),
        Ok(Action::Nothing)
    );
    // ... worker 1 lost it and retransmits chunk 0: answered from the shadow copy.
    let act = node.handle(&data(&job, 0, 1, &b0), &mut out).unwrap();
    assert_eq!(act, Action::Unicast { rank: 1, len: 40 });
    assert_eq!(parse(&out[..40]).unwrap().rank, 1);
    assert_eq!(&out[24..40], &sum0[..]);
    let s = node.stats();
    assert_eq!((s.answered, s.answered_shadow, s.duplicates), (1, 1, 2));

    // Chunk 1 completes; chunk 2 reuses version 0. A copy of chunk 0 delayed in the
    // network is now stale: dropped, not folded into chunk 2.
    assert!(matches!(
        node.handle(&data(&job, 1, 1, &i32s(&[6; 4])), &mut out),
        Ok(Action::Multicast(40))
    ));
    assert_eq!(&out[24..40], &i32s(&[11; 4])[..]);
    assert_eq!(
        node.handle(&data(&job, 2, 1, &i32s(&[100; 4])), &mut out),
        Ok(Action::Nothing)
    );
    assert_eq!(
        node.handle(&data(&job, 0, 0, &a0), &mut out),
        Ok(Action::Nothing)
    );
    assert_eq!(node.stats().stale, 1);
    assert!(matches!(
        node.handle(&data(&job, 2, 0, &i32s(&[1; 4])), &mut out),
        Ok(Action::Multicast(40))
    ));
    assert_eq!(&out[24..40], &i32s(&[101; 4])[..]);
    node.check_invariants().unwrap();
    let s = node.stats();
    assert_eq!((s.contributions, s.completed), (6, 3));
}

#[test]
fn inner_node_resends_up_then_serves_its_parents_result() {
    let job = job_i32(2).reproducible();
    let cfg = NodeConfig {
        job,
        fan_in: 2,
        parent_rank: Some(1),
    };
    let mut slots = [Slot::EMPTY; 2];
    let mut st = vec![0u8; cfg.storage_len(2)];
    let mut node = Node::new(cfg, Scalar, &mut slots, &mut st).unwrap();
    let mut out = vec![0u8; cfg.max_packet_len()];
    // A short last chunk (3 elements) works like any other.
    let (a, b) = (i32s(&[1, 2, 3]), i32s(&[4, 5, 6]));
    assert_eq!(
        node.handle(&data(&job, 5, 1, &b), &mut out),
        Ok(Action::Nothing)
    );
    let act = node.handle(&data(&job, 5, 0, &a), &mut out).unwrap();
    assert_eq!(act, Action::SendUp(24 + 12));
    let up = parse(&out[..36]).unwrap();
    assert_eq!(
        (up.kind, up.rank, up.offset, up.count),
        (Kind::Data, 1, 20, 3)
    );
    assert_eq!(&out[24..36], &i32s(&[5, 7, 9])[..]);
    // A child retransmits while the parent's result is missing: the partial goes up again.
    assert_eq!(
        node.handle(&data(&job, 5, 0, &a), &mut out),
        Ok(Action::SendUp(36))
    );
    assert_eq!(&out[24..36], &i32s(&[5, 7, 9])[..]);
    assert_eq!(node.stats().resent_up, 1);
    // The parent's result (addressed to rank 1) is kept and multicast.
    let fin = i32s(&[50, 70, 90]);
    assert_eq!(
        node.handle(&result(&job, 5, 1, &fin), &mut out),
        Ok(Action::Multicast(36))
    );
    assert_eq!(parse(&out[..36]).unwrap().rank, RANK_ALL);
    assert_eq!(&out[24..36], &fin[..]);
    // Later retransmissions are answered from it; a second copy of the result is absorbed.
    assert_eq!(
        node.handle(&data(&job, 5, 1, &b), &mut out),
        Ok(Action::Unicast { rank: 1, len: 36 })
    );
    assert_eq!(&out[24..36], &fin[..]);
    assert_eq!(
        node.handle(&result(&job, 5, RANK_ALL, &fin), &mut out),
        Ok(Action::Nothing)
    );
    // A result for a chunk this node never sent up is stale.
    assert_eq!(
        node.handle(&result(&job, 4, 1, &i32s(&[0; 4])), &mut out),
        Ok(Action::Nothing)
    );
    let s = node.stats();
    assert_eq!((s.results, s.duplicates, s.stale), (1, 3, 1));
    // A result addressed to another rank is an error.
    assert!(matches!(
        node.handle(&result(&job, 5, 0, &fin), &mut out),
        Err(Error::Mismatch { field: "rank", .. })
    ));
    node.check_invariants().unwrap();
}

#[test]
fn node_rejects_foreign_packets_and_changes_nothing() {
    let job = job_i32(2);
    let cfg = NodeConfig {
        job,
        fan_in: 3,
        parent_rank: None,
    };
    let mut slots = [Slot::EMPTY; 2];
    let mut st = vec![0u8; cfg.storage_len(2)];
    let mut node = Node::new(cfg, Scalar, &mut slots, &mut st).unwrap();
    let mut out = vec![0u8; cfg.max_packet_len()];
    let x = i32s(&[1; 4]);
    let good = data(&job, 1, 0, &x);
    let h = parse(&good).unwrap();
    let mismatch =
        |node: &mut Node<'_, Scalar>, b: &[u8], field: &str| match node.handle(b, &mut [0u8; 64]) {
            Err(Error::Mismatch { field: f, .. }) => assert!(f.starts_with(field), "{f}"),
            other => panic!("{field}: {other:?}"),
        };
    mismatch(&mut node, &packet(&Header { job: 8, ..h }, &x), "job");
    mismatch(
        &mut node,
        &packet(
            &Header {
                reduction: Op::Max.into(),
                ..h
            },
            &x,
        ),
        "op",
    );
    mismatch(
        &mut node,
        &packet(
            &Header {
                dtype: DType::U32,
                ..h
            },
            &x,
        ),
        "dtype",
    );
    mismatch(
        &mut node,
        &packet(
            &Header {
                reproducible: true,
                ..h
            },
            &x,
        ),
        "reproducible",
    );
    mismatch(&mut node, &packet(&Header { slot: 0, ..h }, &x), "slot");
    mismatch(
        &mut node,
        &packet(&Header { version: 1, ..h }, &x),
        "version",
    );
    mismatch(&mut node, &packet(&Header { offset: 5, ..h }, &x), "offset");
    mismatch(&mut node, &result(&job, 1, 0, &x), "kind");
    let out_of_range =
        |node: &mut Node<'_, Scalar>, b: &[u8], field: &str| match node.handle(b, &mut [0u8; 64]) {
            Err(Error::OutOfRange { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        };
    out_of_range(&mut node, &packet(&Header { rank: 3, ..h }, &x), "rank");
    out_of_range(&mut node, &packet(&Header { slot: 2, ..h }, &x), "slot");
    out_of_range(
        &mut node,
        &packet(&Header { count: 5, ..h }, &i32s(&[1; 5])),
        "count",
    );
    // The output buffer must hold the reply.
    assert_eq!(
        node.handle(&good, &mut out[..39]),
        Err(Error::BufferSize {
            buffer: "out",
            needed: 40,
            available: 39
        })
    );
    // None of that touched the node.
    assert_eq!(node.stats(), Default::default());
    assert_eq!(node.handle(&good, &mut out), Ok(Action::Nothing));
    // A different count for the same chunk is an error, and changes nothing either.
    assert!(matches!(
        node.handle(&data(&job, 1, 1, &i32s(&[1; 3])), &mut out),
        Err(Error::Mismatch { field: "count", .. })
    ));
    assert_eq!(
        node.handle(&data(&job, 1, 1, &x), &mut out),
        Ok(Action::Nothing)
    );
    assert_eq!(
        node.handle(&data(&job, 1, 2, &x), &mut out),
        Ok(Action::Multicast(40))
    );
    assert_eq!(&out[24..40], &i32s(&[3; 4])[..]);
    node.check_invariants().unwrap();
}

#[test]
fn node_without_the_slot_answers_no_slot_and_the_worker_reports_it() {
    let job = job_i32(4);
    let cfg = NodeConfig {
        job,
        fan_in: 1,
        parent_rank: None,
    };
    let mut slots = [Slot::EMPTY; 2]; // hosts slots 0 and 1 of 4
    let mut st = vec![0u8; cfg.storage_len(2)];
    let mut node = Node::new(cfg, Scalar, &mut slots, &mut st).unwrap();
    let input = i32s(&(0..16).collect::<Vec<_>>());
    let mut output = vec![0u8; input.len()];
    let mut win = [Pending::EMPTY; 4];
    let wcfg = WorkerConfig {
        job,
        rank: 0,
        timeout: 5,
    };
    let mut w = Worker::new(wcfg, &input, &mut output, &mut win).unwrap();
    let mut buf = vec![0u8; w.max_packet_len()];
    let mut out = vec![0u8; cfg.max_packet_len()];
    let mut events = Vec::new();
    while let Some(len) = w.poll(0, &mut buf).unwrap() {
        let act = node.handle(&buf[..len], &mut out).unwrap();
        let reply = act.packet_len().unwrap();
        events.push(w.handle(&out[..reply]).unwrap());
    }
    assert_eq!(
        events,
        [
            Event::Delivered {
                offset: 0,
                count: 4
            },
            Event::Delivered {
                offset: 4,
                count: 4
            },
            Event::NoSlot { offset: 8 },
            Event::NoSlot { offset: 12 },
        ]
    );
    assert_eq!(node.stats().no_slot, 2);
    assert!(!w.is_done());
    // A result from elsewhere (the fallback path) completes the chunks.
    for c in [2u64, 3] {
        let r = result(
            &job,
            c,
            0,
            &i32s(&[
                (c * 4) as i32,
                (c * 4 + 1) as i32,
                (c * 4 + 2) as i32,
                (c * 4 + 3) as i32,
            ]),
        );
        assert!(matches!(w.handle(&r).unwrap(), Event::Delivered { .. }));
    }
    assert!(w.is_done());
    assert_eq!(w.output(), &input[..]);
}

fn next_packet(w: &mut Worker<'_>, now: u64, buf: &mut [u8]) -> Header {
    let len = w.poll(now, buf).unwrap().unwrap();
    parse(&buf[..len]).unwrap()
}

#[test]
fn worker_windows_retransmits_and_delivers_once() {
    let job = job_i32(2);
    let wcfg = WorkerConfig {
        job,
        rank: 1,
        timeout: 10,
    };
    let input = i32s(&(0..18).collect::<Vec<_>>()); // 5 chunks, the last of 2 elements
    let mut output = vec![0u8; input.len()];
    let mut win = [Pending::EMPTY; 2];
    let mut w = Worker::new(wcfg, &input, &mut output, &mut win).unwrap();
    assert_eq!(w.chunks(), 5);
    let mut buf = vec![0u8; w.max_packet_len()];
    // Two chunks leave, then the window is full.
    let mut sent = Vec::new();
    while let Some(len) = w.poll(100, &mut buf).unwrap() {
        sent.push(parse(&buf[..len]).unwrap());
    }
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent.iter()
            .map(|h| (h.slot, h.version, h.offset, h.rank))
            .collect::<Vec<_>>(),
        [(0, 0, 0, 1), (1, 0, 4, 1)]
    );
    assert_eq!(w.next_deadline(), Some(110));
    assert_eq!(w.poll(109, &mut buf).unwrap(), None);
    // Both timers expire: both are retransmitted, each once.
    assert!(w.poll(110, &mut buf).unwrap().is_some());
    assert!(w.poll(110, &mut buf).unwrap().is_some());
    assert_eq!(w.poll(110, &mut buf).unwrap(), None);
    assert_eq!(w.stats().retransmitted, 2);
    // Results out of order: chunk 1 first does not open the window.
    let res = |c: u64, n: usize| result(&job, c, RANK_ALL, &i32s(&vec![c as i32; n]));
    assert_eq!(
        w.handle(&res(1, 4)),
        Ok(Event::Delivered {
            offset: 4,
            count: 4
        })
    );
    assert_eq!(w.handle(&res(1, 4)), Ok(Event::Duplicate));
    assert_eq!(w.poll(111, &mut buf).unwrap(), None);
    // Chunk 0 opens it by two: chunks 2 (slot 0, version 1) and 3 leave.
    assert!(matches!(w.handle(&res(0, 4)), Ok(Event::Delivered { .. })));
    let h2 = next_packet(&mut w, 112, &mut buf);
    assert_eq!((h2.slot, h2.version, h2.offset), (0, 1, 8));
    let h3 = next_packet(&mut w, 112, &mut buf);
    assert_eq!((h3.slot, h3.version, h3.offset), (1, 1, 12));
    // A result for a chunk not yet sent is ignored; late copies are duplicates.
    assert_eq!(w.handle(&res(4, 2)), Ok(Event::Ignored));
    assert_eq!(w.handle(&res(0, 4)), Ok(Event::Duplicate));
    // Rejections change nothing.
    assert!(matches!(
        w.handle(&res(4, 4)),
        Err(Error::Mismatch { field: "count", .. })
    ));
    assert!(matches!(
        w.handle(&result(&job, 5, RANK_ALL, &i32s(&[0; 4]))),
        Err(Error::OutOfRange {
            field: "offset",
            ..
        })
    ));
    assert!(matches!(
        w.handle(&data(&job, 2, 1, &i32s(&[0; 4]))),
        Err(Error::Mismatch { .. })
    ));
    assert!(matches!(
        w.handle(&result(&job, 2, 0, &i32s(&[0; 4]))),
        Err(Error::Mismatch { field: "rank", .. })
    ));
    assert!(matches!(
        w.poll(200, &mut buf[..20]),
        Err(Error::BufferSize { .. })
    ));
    w.check_invariants().unwrap();
    for (c, n) in [(3, 4), (2, 4)] {
        assert!(matches!(w.handle(&res(c, n)), Ok(Event::Delivered { .. })));
    }
    let h4 = next_packet(&mut w, 113, &mut buf);
    assert_eq!((h4.slot, h4.version, h4.offset, h4.count), (0, 0, 16, 2));
    assert!(!w.is_done());
    assert!(matches!(w.handle(&res(4, 2)), Ok(Event::Delivered { .. })));
    assert!(w.is_done());
    assert_eq!(w.next_deadline(), None);
    assert_eq!(w.poll(1000, &mut buf).unwrap(), None);
    let s = w.stats();
    assert_eq!((s.sent, s.delivered, s.duplicates), (5, 5, 2));
    w.check_invariants().unwrap();
    let want: Vec<i32> = [0, 1, 2, 3, 4].iter().flat_map(|&c| vec![c; 4]).collect();
    assert_eq!(w.output(), &i32s(&want[..18])[..]);
}

// ---------------------------------------------------------------------------------------
// The simulated fabric

/// A tree: a worker (leaf) or a node with its children in rank order.
#[derive(Clone, Debug)]
enum Shape {
    Worker,
    Node(Vec<Shape>),
}

/// A uniform tree: `fan[0]` children at the root, `fan[1]` below each, …, workers last.
fn uniform(fan: &[usize]) -> Shape {
    match fan.split_first() {
        None => Shape::Worker,
        Some((&n, rest)) => Shape::Node((0..n).map(|_| uniform(rest)).collect()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Addr {
    Node(usize),
    Worker(usize),
}

#[derive(Debug, Default)]
struct Topology {
    /// Per node: its parent (node index) and its children in rank order.
    nodes: Vec<(Option<usize>, Vec<Addr>)>,
    /// Per worker: its parent node.
    workers: Vec<usize>,
}

impl Topology {
    /// Adds `shape` below `parent`; returns its address. Node 0 is the root.
    fn add(&mut self, shape: &Shape, parent: Option<usize>) -> Addr {
        match shape {
            Shape::Worker => {
                self.workers.push(parent.unwrap());
                Addr::Worker(self.workers.len() - 1)
            }
            Shape::Node(children) => {
                let me = self.nodes.len();
                self.nodes.push((parent, Vec::new()));
                for c in children {
                    let a = self.add(c, Some(me));
                    self.nodes[me].1.push(a);
                }
                Addr::Node(me)
            }
        }
    }

    fn rank_in_parent(&self, a: Addr) -> Option<u8> {
        let parent = match a {
            Addr::Node(i) => self.nodes[i].0?,
            Addr::Worker(i) => self.workers[i],
        };
        Some(self.nodes[parent].1.iter().position(|&c| c == a).unwrap() as u8)
    }
}

/// The reduction the tree defines: each node reduces its children in rank order.
fn tree_reference(shape: &Shape, job: &Job, inputs: &mut std::slice::Iter<'_, Vec<u8>>) -> Vec<u8> {
    match shape {
        Shape::Worker => inputs.next().unwrap().clone(),
        Shape::Node(children) => {
            let parts: Vec<Vec<u8>> = children
                .iter()
                .map(|c| tree_reference(c, job, inputs))
                .collect();
            let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            let mut out = vec![0u8; parts[0].len()];
            Scalar
                .reduce_bytes(job.reduction, job.dtype, &refs, &mut out)
                .unwrap();
            out
        }
    }
}

/// Test data of `n` elements: for floats, finite values with random mantissas and
/// exponents spread over `2^-span..2^span` (so sums round, and the combination order shows
/// in the bits) and no NaN (so MIN/MAX are order-independent); any bits for integers.
fn gen_input(rng: &mut Rng, dtype: DType, n: usize) -> Vec<u8> {
    let mut f = |span: usize| {
        let m = 1.0 + rng.below(1 << 23) as f64 / f64::from(1 << 23);
        let e = rng.below(2 * span + 1) as i32 - span as i32;
        let s = if rng.below(2) == 0 { 1.0 } else { -1.0 };
        s * m * 2f64.powi(e)
    };
    match dtype {
        DType::F32 => (0..n).flat_map(|_| (f(20) as f32).to_le_bytes()).collect(),
        DType::F64 => (0..n).flat_map(|_| f(30).to_le_bytes()).collect(),
        DType::Bf16 => (0..n)
            .flat_map(|_| Bf16::from_f32(f(20) as f32).0.to_le_bytes())
            .collect(),
        DType::F16 => (0..n)
            .flat_map(|_| F16::from_f32(f(8) as f32).0.to_le_bytes())
            .collect(),
        DType::Fp8E4M3 => (0..n)
            .map(|_| E4M3::from_f32(f(6) as f32, Fp8Mode::Saturating).0)
            .collect(),
        _ => rng.bytes(n * dtype.size()),
    }
}

#[derive(Clone, Debug)]
struct Case {
    name: &'static str,
    shape: Shape,
    job: Job,
    elements: usize,
    /// Per mille.
    loss: usize,
    dup: usize,
    /// Each packet is delayed 1..=max_delay ticks: reordering.
    max_delay: u64,
    seed: u64,
    /// Worker window; 0 = the pool.
    window: usize,
}

struct Outcome {
    outputs: Vec<Vec<u8>>,
    inputs: Vec<Vec<u8>>,
    stats: NodeStats,
    retransmitted: u64,
    /// Whether the result is bit for bit the tree-ordered reference.
    tree_ordered: bool,
}

/// Runs the job over the simulated fabric; checks invariants after every step, exactly-once
/// delivery, and that every worker finishes.
fn simulate(case: &Case) -> Outcome {
    let mut rng = Rng::new(case.seed);
    let job = case.job;
    let mut topo = Topology::default();
    topo.add(&case.shape, None);
    let r = Auto::detect();

    // Nodes and their storage.
    let cfgs: Vec<NodeConfig> = (0..topo.nodes.len())
        .map(|i| NodeConfig {
            job,
            fan_in: topo.nodes[i].1.len(),
            parent_rank: topo.rank_in_parent(Addr::Node(i)),
        })
        .collect();
    let mut slot_mem: Vec<Vec<Slot>> = cfgs.iter().map(|_| vec![Slot::EMPTY; job.pool]).collect();
    let mut store: Vec<Vec<u8>> = cfgs
        .iter()
        .map(|c| vec![0u8; c.storage_len(job.pool)])
        .collect();
    let mut nodes: Vec<Node<'_>> = slot_mem
        .iter_mut()
        .zip(store.iter_mut())
        .zip(&cfgs)
        .map(|((s, b), c)| Node::new(*c, r, s, b).unwrap())
        .collect();

    // Workers.
    let nw = topo.workers.len();
    let inputs: Vec<Vec<u8>> = (0..nw)
        .map(|_| gen_input(&mut rng, job.dtype, case.elements))
        .collect();
    let mut outputs: Vec<Vec<u8>> = inputs.iter().map(|i| vec![0u8; i.len()]).collect();
    let mut windows: Vec<Vec<Pending>> = (0..nw)
        .map(|_| {
            vec![
                Pending::EMPTY;
                if case.window == 0 {
                    job.pool
                } else {
                    case.window
                }
            ]
        })
        .collect();
    let timeout = 3 * case.max_delay * (cfgs.len() as u64 + 1);
    let mut workers: Vec<Worker<'_>> = inputs
        .iter()
        .zip(outputs.iter_mut())
        .zip(windows.iter_mut())
        .enumerate()
        .map(|(i, ((inp, out), win))| {
            let rank = topo.rank_in_parent(Addr::Worker(i)).unwrap();
            Worker::new(WorkerConfig { job, rank, timeout }, inp, out, win).unwrap()
        })
        .collect();
    let chunks = workers[0].chunks() as usize;
    let mut deliveries = vec![vec![0u32; chunks]; nw];

    // The fabric: (due tick, destination, bytes).
    let mut queue: Vec<(u64, Addr, Vec<u8>)> = Vec::new();
    let send =
        |queue: &mut Vec<(u64, Addr, Vec<u8>)>, rng: &mut Rng, now: u64, to: Addr, b: &[u8]| {
            if rng.below(1000) < case.loss {
                return;
            }
            let copies = if rng.below(1000) < case.dup { 2 } else { 1 };
            for _ in 0..copies {
                let mut delay = 1 + rng.below(case.max_delay as usize) as u64;
                // In lossy runs, 2 % of the packets straggle far behind the retransmissions
                // (late copies the slots have moved past).
                if case.loss > 0 && rng.below(1000) < 20 {
                    delay += rng.below(20 * timeout as usize) as u64;
                }
                queue.push((now + delay, to, b.to_vec()));
            }
        };
    let mut buf = vec![0u8; cfgs[0].max_packet_len()];
    let mut out = vec![0u8; cfgs[0].max_packet_len()];
    let limit = 200_000u64;
    let mut now = 0u64;
    while !workers.iter().all(Worker::is_done) {
        now += 1;
        assert!(
            now < limit,
            "{}: no progress after {limit} ticks",
            case.name
        );
        for (i, w) in workers.iter_mut().enumerate() {
            while let Some(len) = w.poll(now, &mut buf).unwrap() {
                send(
                    &mut queue,
                    &mut rng,
                    now,
                    Addr::Node(topo.workers[i]),
                    &buf[..len],
                );
            }
        }
        // Deliver what is due, in random order.
        let mut due = Vec::new();
        let mut k = 0;
        while k < queue.len() {
            if queue[k].0 <= now {
                due.push(queue.swap_remove(k));
            } else {
                k += 1;
            }
        }
        while !due.is_empty() {
            let (_, to, bytes) = due.swap_remove(rng.below(due.len()));
            match to {
                Addr::Node(n) => {
                    let act = nodes[n].handle(&bytes, &mut out).unwrap();
                    nodes[n].check_invariants().unwrap();
                    let (parent, children) = &topo.nodes[n];
                    match act {
                        Action::Nothing => {}
                        Action::SendUp(len) => {
                            send(
                                &mut queue,
                                &mut rng,
                                now,
                                Addr::Node(parent.unwrap()),
                                &out[..len],
                            );
                        }
                        Action::Multicast(len) => {
                            for &c in children {
                                send(&mut queue, &mut rng, now, c, &out[..len]);
                            }
                        }
                        Action::Unicast { rank, len } => {
                            send(
                                &mut queue,
                                &mut rng,
                                now,
                                children[usize::from(rank)],
                                &out[..len],
                            );
                        }
                    }
                }
                Addr::Worker(i) => {
                    let ev = workers[i].handle(&bytes).unwrap();
                    workers[i].check_invariants().unwrap();
                    match ev {
                        Event::Delivered { offset, .. } => {
                            deliveries[i][offset as usize / job.chunk] += 1;
                        }
                        Event::Duplicate => {}
                        other => panic!("{}: unexpected {other:?}", case.name),
                    }
                }
            }
        }
    }
    for (i, d) in deliveries.iter().enumerate() {
        assert!(
            d.iter().all(|&n| n == 1),
            "{}: worker {i} deliveries {d:?}",
            case.name
        );
    }
    let mut stats = NodeStats::default();
    for n in &nodes {
        let s = n.stats();
        stats.duplicates += s.duplicates;
        stats.answered += s.answered;
        stats.answered_shadow += s.answered_shadow;
        stats.resent_up += s.resent_up;
        stats.stale += s.stale;
        stats.completed += s.completed;
    }
    let retransmitted = workers.iter().map(|w| w.stats().retransmitted).sum();
    Outcome {
        outputs,
        inputs,
        stats,
        retransmitted,
        tree_ordered: false,
    }
}

/// Runs `case` and checks every worker's output: equal to each other; bit for bit the
/// tree's reduction in reproducible mode or whenever the operation is order-independent on
/// the data (integers, MIN/MAX without NaN); for one level, exactly `reduce` over the
/// workers in rank order.
fn check(case: &Case) -> Outcome {
    let mut o = simulate(case);
    let job = case.job;
    for (i, out) in o.outputs.iter().enumerate() {
        assert_eq!(
            out, &o.outputs[0],
            "{}: worker {i} differs from worker 0",
            case.name
        );
    }
    let reference = tree_reference(&case.shape, &job, &mut o.inputs.iter());
    let exact =
        job.reproducible || !job.dtype.is_float() || matches!(job.reduction.op, Op::Min | Op::Max);
    o.tree_ordered = o.outputs[0] == reference;
    if exact {
        assert!(
            o.outputs[0] == reference,
            "{}: differs from the tree reference",
            case.name
        );
    }
    let one_level =
        matches!(&case.shape, Shape::Node(c) if c.iter().all(|s| matches!(s, Shape::Worker)));
    if exact && one_level || !job.dtype.is_float() {
        let refs: Vec<&[u8]> = o.inputs.iter().map(Vec::as_slice).collect();
        let mut flat = vec![0u8; refs[0].len()];
        Scalar
            .reduce_bytes(job.reduction, job.dtype, &refs, &mut flat)
            .unwrap();
        assert!(
            o.outputs[0] == flat,
            "{}: differs from the flat reduce",
            case.name
        );
    }
    o
}

fn job(op: Op, dtype: DType, chunk: usize, pool: usize, reproducible: bool) -> Job {
    Job {
        reproducible,
        ..Job::new(42, op.into(), dtype, chunk, pool)
    }
}

/// Element count, chunk and pool: small under Miri.
fn sizes() -> (usize, usize, usize) {
    if cfg!(miri) { (21, 4, 2) } else { (700, 32, 4) }
}

#[test]
fn one_level_trees_of_2_to_8_workers_f32_sum_reproducible() {
    let (n, chunk, pool) = sizes();
    let fans: &[usize] = if cfg!(miri) {
        &[3]
    } else {
        &[2, 3, 4, 5, 6, 7, 8]
    };
    let mut shadow = 0;
    for &fan in fans {
        for (loss, dup) in [(0, 0), (100, 50), (300, 100)] {
            if cfg!(miri) && loss != 300 {
                continue;
            }
            let o = check(&Case {
                name: "one level f32 sum",
                shape: uniform(&[fan]),
                job: job(Op::Sum, DType::F32, chunk, pool, true),
                elements: n,
                loss,
                dup,
                max_delay: 4,
                seed: fan as u64 * 1000 + loss as u64,
                window: 0,
            });
            if loss == 0 && dup == 0 {
                assert_eq!(o.retransmitted, 0);
                assert_eq!(o.stats.duplicates, 0);
            }
            shadow += o.stats.answered_shadow;
        }
    }
    if !cfg!(miri) {
        assert!(
            shadow > 0,
            "no retransmission was answered from a shadow copy"
        );
    }
}

#[test]
fn deeper_trees_give_the_tree_ordered_result() {
    let (n, chunk, pool) = sizes();
    let mixed = Shape::Node(vec![
        Shape::Worker,
        uniform(&[2]),
        Shape::Worker,
        uniform(&[3, 1]),
    ]);
    let shapes: Vec<(&str, Shape)> = if cfg!(miri) {
        vec![("2x2", uniform(&[2, 2]))]
    } else {
        vec![
            ("3x3", uniform(&[3, 3])),
            ("2x2x2", uniform(&[2, 2, 2])),
            ("4x2", uniform(&[4, 2])),
            ("mixed", mixed),
        ]
    };
    let combos: &[(Op, DType, bool)] = if cfg!(miri) {
        &[(Op::Sum, DType::F32, true), (Op::Sum, DType::I32, false)]
    } else {
        &[
            (Op::Sum, DType::F32, true),
            (Op::Sum, DType::F32, false),
            (Op::Sum, DType::I32, false),
            (Op::Sum, DType::I32, true),
            (Op::Sum, DType::Bf16, true),
            (Op::Sum, DType::Bf16, false),
            (Op::Max, DType::F32, false),
            (Op::Max, DType::F32, true),
            (Op::Min, DType::F16, false),
            (Op::Prod, DType::F64, true),
            (Op::Bxor, DType::U8, false),
            (Op::Land, DType::I16, true),
        ]
    };
    let mut resent = 0;
    let mut stale = 0;
    let mut arrival_order_differs = false;
    for (si, (shape_name, shape)) in shapes.iter().enumerate() {
        for (ci, &(op, dtype, repro)) in combos.iter().enumerate() {
            for (loss, dup) in [(0, 0), (200, 100)] {
                if cfg!(miri) && loss == 0 {
                    continue;
                }
                let o = check(&Case {
                    name: shape_name,
                    shape: shape.clone(),
                    job: job(op, dtype, chunk, pool, repro),
                    elements: n,
                    loss,
                    dup,
                    max_delay: 5,
                    seed: (si * 100 + ci) as u64 + loss as u64,
                    window: 0,
                });
                resent += o.stats.resent_up;
                stale += o.stats.stale;
                if !repro && dtype.is_float() && op == Op::Sum {
                    arrival_order_differs |= !o.tree_ordered;
                }
            }
        }
    }
    if !cfg!(miri) {
        assert!(resent > 0, "no partial was re-sent up for a retransmission");
        assert!(stale > 0, "no late copy reached a slot that had moved on");
        // The data is order-sensitive: without rank order, floats come out differently.
        assert!(
            arrival_order_differs,
            "arrival-order float sums all matched the tree order"
        );
    }
}

#[test]
fn saturating_fp8_and_integer_sums_agree_in_both_modes() {
    let (n, chunk, pool) = sizes();
    let shape = if cfg!(miri) {
        uniform(&[2])
    } else {
        uniform(&[3, 2])
    };
    // Integer SUM is associative: arrival order, reproducible mode and the flat reduce agree.
    let mut results = Vec::new();
    for repro in [false, true] {
        let o = check(&Case {
            name: "i64 sum",
            shape: shape.clone(),
            job: job(Op::Sum, DType::I64, chunk, pool, repro),
            elements: n,
            loss: 250,
            dup: 150,
            max_delay: 6,
            seed: 77,
            window: 0,
        });
        results.push(o.outputs[0].clone());
    }
    assert_eq!(results[0], results[1]);
    // FP8 with saturation, reproducible.
    let sat = Job {
        reduction: Op::Sum.with_fp8(Fp8Mode::Saturating),
        ..job(Op::Sum, DType::Fp8E4M3, chunk, pool, true)
    };
    check(&Case {
        name: "e4m3 sat sum",
        shape,
        job: sat,
        elements: n,
        loss: 150,
        dup: 50,
        max_delay: 3,
        seed: 5,
        window: 0,
    });
}

#[test]
fn a_window_smaller_than_the_pool_and_one_slot_pools_work() {
    let (n, chunk, _) = sizes();
    for (pool, window) in [(1usize, 1usize), (3, 2), (4, 1)] {
        check(&Case {
            name: "small pool",
            shape: uniform(&[2, 2]),
            job: job(Op::Sum, DType::Bf16, chunk, pool, true),
            elements: n / 2,
            loss: 200,
            dup: 100,
            max_delay: 3,
            seed: pool as u64,
            window,
        });
    }
}

/// Valid packets with random bytes changed, cut or appended, and pure noise, into nodes
/// (root and inner, both modes, wide and narrow types) and a worker: no panic, the
/// invariants hold after every packet, and an error changes nothing observable.
#[test]
fn arbitrary_packets_never_break_nodes_or_workers() {
    let iterations = if cfg!(miri) { 150 } else { 20_000 };
    let mut rng = Rng::new(0xF022);
    for (dtype, repro, parent_rank) in [
        (DType::I32, false, None),
        (DType::Bf16, true, Some(2)),
        (DType::Fp8E5M2, false, Some(0)),
        (DType::F64, true, None),
    ] {
        let job = Job {
            reproducible: repro,
            ..Job::new(9, Op::Max.into(), dtype, 3, 3)
        };
        let cfg = NodeConfig {
            job,
            fan_in: 3,
            parent_rank,
        };
        let mut slots = [Slot::EMPTY; 2]; // one slot short of the pool: no-slot replies too
        let mut st = vec![0u8; cfg.storage_len(2)];
        let mut node = Node::new(cfg, Auto::detect(), &mut slots, &mut st).unwrap();
        let input = gen_input(&mut rng, dtype, 20);
        let mut output = vec![0u8; input.len()];
        let mut win = [Pending::EMPTY; 3];
        let wcfg = WorkerConfig {
            job,
            rank: 1,
            timeout: 2,
        };
        let mut worker = Worker::new(wcfg, &input, &mut output, &mut win).unwrap();
        let mut out = vec![0u8; cfg.max_packet_len()];
        let mut wbuf = vec![0u8; cfg.max_packet_len()];
        for i in 0..iterations {
            // Data around a frontier that moves on, so slot versions keep being reused;
            // results for the worker's 7 chunks (and stale ones for the node). Counts are
            // right nine times in ten.
            let frontier = i / 40;
            let rank = rng.below(4) as u8;
            let mut b = match rng.below(3) {
                0 => {
                    let chunk = (frontier + rng.below(6) as u64).saturating_sub(3);
                    let count = if rng.below(10) == 0 {
                        rng.below(3) + 1
                    } else {
                        3
                    };
                    data(&job, chunk, rank, &gen_input(&mut rng, dtype, count))
                }
                1 => {
                    let chunk = rng.below(8) as u64;
                    let count = if chunk == 6 { 2 } else { 3 };
                    let to = [parent_rank.unwrap_or(0), RANK_ALL, 1][rng.below(3)];
                    result(&job, chunk, to, &gen_input(&mut rng, dtype, count))
                }
                _ => {
                    let n = rng.below(40);
                    rng.bytes(n)
                }
            };
            for _ in 0..rng.below(4) {
                match rng.below(4) {
                    0 if !b.is_empty() => b.truncate(rng.below(b.len())),
                    1 => b.push(rng.below(256) as u8),
                    _ if !b.is_empty() => {
                        let at = rng.below(b.len());
                        b[at] ^= 1 << rng.below(8);
                    }
                    _ => {}
                }
            }
            let before = node.stats();
            if node.handle(&b, &mut out).is_err() {
                assert_eq!(node.stats(), before);
            }
            node.check_invariants().unwrap();
            let wbefore = worker.stats();
            if worker.handle(&b).is_err() {
                assert_eq!(worker.stats(), wbefore);
            }
            worker.check_invariants().unwrap();
            let _ = worker.poll(i, &mut wbuf).unwrap();
            worker.check_invariants().unwrap();
        }
    }
}
