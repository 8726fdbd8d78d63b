//! The flow table: stated sizes, storage checks, every operation on every backend, identical
//! tables from every backend, the advertised load factor, bulk lookups at the batch edges,
//! expiry with a wrapping cursor, tag collisions, and proptest sequences of operations
//! against a `HashMap` model (with the table's own hash and with forced colliding hashes).

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::std_instead_of_core,
    reason = "test code: a panic is a failure, and keys are built from small indices"
)]

use std::collections::HashMap;

use offload_flow::{
    Auto, Backend, Bucket, Entry, Error, FlowId, FlowKey, FlowTable, Ipv4Tuple, Ipv6Tuple, Lookup,
};
use offload_testkit::{Rng, select_backends};
use proptest::prelude::*;

type Table<'s> = FlowTable<'s, Ipv4Tuple, u32>;

fn engines() -> Vec<(&'static str, Auto)> {
    select_backends(
        "offload-flow",
        Backend::ALL
            .into_iter()
            .map(|b| (b.name(), Auto::with_backend(b)))
            .collect(),
    )
}

/// A distinct key for every `i` below 2^24.
fn key(i: u32) -> Ipv4Tuple {
    Ipv4Tuple::new(
        [10, (i >> 16) as u8, (i >> 8) as u8, i as u8],
        [192, 168, 7, 1],
        (i as u16) ^ 0x5A5A,
        443,
        6,
    )
}

fn random_key(rng: &mut Rng) -> Ipv4Tuple {
    let w = rng.next_u64();
    let b = w.to_le_bytes();
    Ipv4Tuple::new(
        [b[0], b[1], b[2], b[3]],
        [b[4], b[5], 1, 2],
        u16::from_le_bytes([b[6], b[7]]),
        80,
        17,
    )
}

fn storage(capacity: usize, buckets: usize) -> (Vec<Bucket>, Vec<Entry<Ipv4Tuple, u32>>) {
    (
        vec![Bucket::EMPTY; buckets],
        vec![Entry::default(); capacity],
    )
}

/// Every flow as `(id, key, value)`, in id order.
fn snapshot(t: &Table<'_>) -> Vec<(FlowId, Ipv4Tuple, u32)> {
    t.iter().map(|(id, k, v)| (id, *k, *v)).collect()
}

/// Every flow can be found by key and by id, and `len` agrees.
fn assert_consistent(t: &Table<'_>) {
    let flows = snapshot(t);
    assert_eq!(flows.len(), t.len());
    for (id, k, v) in flows {
        assert_eq!(t.lookup(&k), Some(id), "{k:?}");
        assert_eq!(t.get(id), Some((&k, &v)));
    }
}

#[test]
fn storage_sizes_are_stated() {
    use core::mem::{align_of, size_of};
    assert_eq!(size_of::<Bucket>(), 64);
    assert_eq!(align_of::<Bucket>(), 64);
    assert_eq!(size_of::<Entry<Ipv4Tuple, u32>>(), 32);
    assert_eq!(size_of::<Entry<Ipv6Tuple, u32>>(), 56);
    assert_eq!(size_of::<FlowId>(), 4);
}

#[test]
fn buckets_for_rounds_up_to_95_percent() {
    assert_eq!(Table::buckets_for(0), 1);
    assert_eq!(Table::buckets_for(1), 1);
    assert_eq!(Table::buckets_for(7), 1); // 7 of 8 slots: 87.5 %
    assert_eq!(Table::buckets_for(8), 2); // 8 of 8 would be 100 %
    assert_eq!(Table::buckets_for(1024), 256);
    assert_eq!(Table::buckets_for(1 << 20), 1 << 18);
    for n in (0..5000).chain([usize::MAX / 64, usize::MAX / 8, usize::MAX]) {
        let b = Table::buckets_for(n);
        assert!(b.is_power_of_two());
        let slots = b as u128 * 8;
        assert!(slots * 95 >= n as u128 * 100, "{n}: {b}");
        if b > 1 {
            assert!(
                slots / 2 * 95 < n as u128 * 100,
                "{n}: {b} is not the smallest"
            );
        }
    }
}

#[test]
fn new_rejects_unusable_storage() {
    let (_, mut entries) = storage(8, 0);
    for n in [0, 3, 6] {
        let mut buckets = vec![Bucket::EMPTY; n];
        let r = Table::new(Auto::detect(), 0, &mut buckets, &mut entries);
        assert!(matches!(r, Err(Error::Storage { .. })), "{n} buckets");
    }
    // No entries is usable: every insert is Full.
    let mut buckets = vec![Bucket::EMPTY; 1];
    let mut none: Vec<Entry<Ipv4Tuple, u32>> = Vec::new();
    let mut t = Table::new(Auto::detect(), 0, &mut buckets, &mut none).unwrap();
    assert_eq!(t.insert(key(1), 1, 0), Err(Error::Full { capacity: 0 }));
    let mut cursor = 5;
    assert_eq!(t.expire(0, 0, &mut cursor, 10, |_, _, _| {}), 0);
    assert_eq!(cursor, 0);
}

#[test]
fn new_clears_used_storage() {
    let (mut buckets, mut entries) = storage(16, 4);
    {
        let mut t = Table::new(Auto::detect(), 1, &mut buckets, &mut entries).unwrap();
        for i in 0..10 {
            t.insert(key(i), i, 0).unwrap();
        }
    }
    let t = Table::new(Auto::detect(), 1, &mut buckets, &mut entries).unwrap();
    assert!(t.is_empty());
    assert_eq!(t.iter().count(), 0);
    assert_eq!(t.lookup(&key(3)), None);
    assert_eq!(t.get(FlowId(3)), None);
}

#[test]
fn every_operation_on_every_backend() {
    for (name, lookup) in engines() {
        let (mut buckets, mut entries) = storage(64, Table::buckets_for(64));
        let mut t = Table::new(lookup, 0xC0FF_EE00, &mut buckets, &mut entries).unwrap();
        assert_eq!(t.capacity(), 64);
        assert!(t.is_empty());
        assert_eq!(t.hash(&key(0)), lookup.crc32c(0xC0FF_EE00, key(0).bytes()));

        // Ids are handed out in order in a fresh table.
        for i in 0..10 {
            assert_eq!(
                t.insert(key(i), 100 + i, u64::from(i)),
                Ok(FlowId(i)),
                "{name}"
            );
        }
        assert_eq!(t.len(), 10);
        assert_eq!(t.insert(key(3), 0, 0), Err(Error::Exists { id: 3 }));
        assert_eq!(t.lookup(&key(3)), Some(FlowId(3)));
        assert_eq!(t.lookup(&key(99)), None);
        assert_eq!(t.get(FlowId(3)), Some((&key(3), &103)));
        assert_eq!(t.last_seen(FlowId(3)), Some(3));
        assert_eq!(t.get(FlowId(10)), None);
        assert_eq!(t.get(FlowId(1000)), None);

        *t.value_mut(FlowId(4)).unwrap() = 7;
        assert_eq!(t.get(FlowId(4)), Some((&key(4), &7)));
        assert_eq!(t.value_mut(FlowId(40)), None);
        assert_eq!(t.update(&key(5), 55), Ok(FlowId(5)));
        assert_eq!(t.get(FlowId(5)).map(|(_, v)| *v), Some(55));
        assert_eq!(t.last_seen(FlowId(5)), Some(5), "update keeps last_seen");
        assert_eq!(t.update(&key(50), 1), Err(Error::NotFound));
        assert_eq!(t.touch(FlowId(5), 500), Ok(()));
        assert_eq!(t.last_seen(FlowId(5)), Some(500));
        assert_eq!(t.touch(FlowId(20), 500), Err(Error::NotFound));

        assert_eq!(t.remove(&key(2)), Some((FlowId(2), 102)));
        assert_eq!(t.remove(&key(2)), None);
        assert_eq!(t.remove_id(FlowId(6)), Some((key(6), 106)));
        assert_eq!(t.remove_id(FlowId(6)), None);
        assert_eq!(t.remove_id(FlowId(63)), None);
        assert_eq!(t.remove_id(FlowId(64)), None);
        assert_eq!(t.touch(FlowId(6), 1), Err(Error::NotFound));
        assert_eq!(t.len(), 8);
        // Freed ids are reused, last freed first.
        assert_eq!(t.insert(key(20), 20, 0), Ok(FlowId(6)));
        assert_eq!(t.insert(key(21), 21, 0), Ok(FlowId(2)));
        assert_eq!(t.insert(key(22), 22, 0), Ok(FlowId(10)));
        assert_consistent(&t);

        // With a caller hash.
        let h = 0xDEAD_BEEF;
        let id = t.insert_with_hash(key(30), h, 30, 0).unwrap();
        assert_eq!(t.lookup_with_hash(&key(30), h), Some(id));
        assert_eq!(
            t.insert_with_hash(key(30), h, 0, 0),
            Err(Error::Exists { id: id.get() })
        );
        assert_eq!(t.remove_with_hash(&key(30), h), Some((id, 30)));
        assert_eq!(t.lookup_with_hash(&key(30), h), None);

        let ids: Vec<u32> = t.iter().map(|(id, _, _)| id.get()).collect();
        assert_eq!(ids, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

        t.clear();
        assert!(t.is_empty());
        assert_eq!(t.lookup(&key(1)), None);
        assert_eq!(t.insert(key(1), 1, 0), Ok(FlowId(0)));
    }
}

/// One random sequence of operations, logged as text; the final table too.
fn run_sequence(
    lookup: Auto,
    seed: u64,
    ops: usize,
) -> (Vec<String>, Vec<(FlowId, Ipv4Tuple, u32)>) {
    let mut rng = Rng::new(seed);
    let cap = 200;
    let (mut buckets, mut entries) = storage(cap, 16); // 128 slots: displacement and Full
    let mut t = Table::new(lookup, 77, &mut buckets, &mut entries).unwrap();
    let mut log = Vec::new();
    let mut cursor = 0;
    let space = 300;
    for now in 0..ops as u64 {
        let k = key(rng.below(space) as u32);
        let line = match rng.below(12) {
            0..=5 => format!("insert {:?}", t.insert(k, now as u32, now)),
            6 => format!("remove {:?}", t.remove(&k)),
            7 => format!("remove_id {:?}", t.remove_id(FlowId(rng.below(cap) as u32))),
            8 => format!("touch {:?}", t.touch(FlowId(rng.below(cap) as u32), now)),
            9 | 10 => {
                let keys: Vec<Ipv4Tuple> = (0..rng.below(65))
                    .map(|_| key(rng.below(space) as u32))
                    .collect();
                let mut out = vec![None; keys.len()];
                let mask = t.lookup_bulk(&keys, &mut out);
                format!("bulk {mask:?} {out:?}")
            }
            _ => {
                let mut gone = Vec::new();
                let n = t.expire(now, 300, &mut cursor, 50, |id, _, _| gone.push(id));
                format!("expire {n} {gone:?} {cursor}")
            }
        };
        log.push(line);
    }
    assert_consistent(&t);
    (log, snapshot(&t))
}

#[test]
fn backends_build_identical_tables() {
    let ops = if cfg!(miri) { 200 } else { 5000 };
    let engines = engines();
    for seed in 0..if cfg!(miri) { 1 } else { 4 } {
        let runs: Vec<_> = engines
            .iter()
            .map(|&(name, e)| (name, run_sequence(e, seed, ops)))
            .collect();
        let (first, reference) = &runs[0];
        if !cfg!(miri) {
            // The sequence reaches the interesting states.
            assert!(reference.0.iter().any(|l| l.contains("Full")));
            assert!(
                reference
                    .0
                    .iter()
                    .any(|l| l.starts_with("expire") && !l.starts_with("expire 0"))
            );
        }
        for (name, run) in &runs[1..] {
            assert_eq!(run, reference, "{name} differs from {first}");
        }
    }
}

/// Inserts random keys until `Full`; returns how many went in.
fn fill(t: &mut Table<'_>, rng: &mut Rng) -> usize {
    loop {
        let k = random_key(rng);
        match t.insert(k, 0, 0) {
            Ok(_) | Err(Error::Exists { .. }) => {}
            Err(Error::Full { capacity }) => {
                assert_eq!(capacity, t.capacity());
                assert_eq!(t.lookup(&k), None);
                return t.len();
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn fill_reaches_advertised_load() {
    let caps: &[usize] = if cfg!(miri) {
        &[1, 7, 8, 100]
    } else {
        &[1, 7, 8, 9, 100, 1000, 4096, 10_000, 100_000]
    };
    let lookup = Auto::detect();
    for &cap in caps {
        for seed in 0..if cfg!(miri) || cap > 10_000 { 1 } else { 8 } {
            let (mut buckets, mut entries) = storage(cap, Table::buckets_for(cap));
            let mut t = Table::new(lookup, seed as u32, &mut buckets, &mut entries).unwrap();
            let mut rng = Rng::new(seed);
            let n = fill(&mut t, &mut rng);
            assert!(n * 100 >= cap * 95, "{n} of {cap}");
            assert_consistent(&t);
        }
    }
}

/// More entries than slots: the buckets themselves fill up before the search gives up.
#[test]
fn buckets_fill_to_high_load() {
    let sizes: &[usize] = if cfg!(miri) {
        &[4]
    } else {
        &[1, 4, 64, 1024, 16384]
    };
    let lookup = Auto::detect();
    for &buckets_n in sizes {
        let slots = buckets_n * 8;
        let (mut buckets, mut entries) = storage(slots, buckets_n);
        let mut t = Table::new(lookup, 9, &mut buckets, &mut entries).unwrap();
        let mut rng = Rng::new(buckets_n as u64);
        let n = fill(&mut t, &mut rng);
        eprintln!(
            "{buckets_n} buckets: {n} of {slots} slots ({:.1} %)",
            n as f64 * 100.0 / slots as f64
        );
        // One or two buckets: every key maps to them all; otherwise at least 95 %.
        assert!(n * 100 >= slots * 95, "{n} of {slots}");
        assert_consistent(&t);
    }
}

#[test]
fn bulk_lookup_at_batch_edges() {
    for (name, lookup) in engines() {
        let cap = 256;
        let (mut buckets, mut entries) = storage(cap, Table::buckets_for(cap));
        let mut t = Table::new(lookup, 3, &mut buckets, &mut entries).unwrap();
        for i in 0..200 {
            t.insert(key(i), i, 0).unwrap();
        }
        let mut rng = Rng::new(5);
        // Around the edges of the pipeline stages (16 and 32 keys apart) too.
        for n in [0, 1, 2, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64] {
            // About half present (ids < 200), half absent.
            let keys: Vec<Ipv4Tuple> = (0..n).map(|_| key(rng.below(400) as u32)).collect();
            let hashes: Vec<u32> = keys.iter().map(|k| t.hash(k)).collect();
            let sentinel = Some(FlowId(u32::MAX));
            let mut out = vec![sentinel; n + 3];
            let mut out2 = vec![sentinel; n + 3];
            let mask = t.lookup_bulk(&keys, &mut out).unwrap();
            let mask2 = t.lookup_bulk_with_hash(&keys, &hashes, &mut out2).unwrap();
            assert_eq!((mask, &out), (mask2, &out2), "{name} {n}");
            for (i, k) in keys.iter().enumerate() {
                let want = t.lookup(k);
                assert_eq!(out[i], want, "{name} {n} {i}");
                assert_eq!(mask >> i & 1 == 1, want.is_some());
            }
            if n < 64 {
                assert_eq!(mask >> n, 0);
            }
            assert!(
                out[n..].iter().all(|o| *o == sentinel),
                "written past the batch"
            );
        }
        let keys = vec![key(1); 65];
        let mut out = vec![None; 65];
        assert_eq!(
            t.lookup_bulk(&keys, &mut out),
            Err(Error::BatchTooLarge { len: 65, max: 64 })
        );
        assert_eq!(Table::BULK_MAX, 64);
        assert_eq!(
            t.lookup_bulk(&keys[..10], &mut out[..9]),
            Err(Error::OutputTooSmall {
                needed: 10,
                available: 9
            })
        );
        assert_eq!(
            t.lookup_bulk_with_hash(&keys[..10], &[0; 9], &mut out),
            Err(Error::LengthMismatch {
                expected: 10,
                found: 9
            })
        );
        // Every key present, full batch.
        let keys: Vec<Ipv4Tuple> = (100..164).map(key).collect();
        assert_eq!(t.lookup_bulk(&keys, &mut out), Ok(u64::MAX));
        assert_eq!(out[63], Some(FlowId(163)));
    }
}

#[test]
fn expire_wraps_the_cursor_within_its_budget() {
    for (_, lookup) in engines() {
        let cap = 16;
        let (mut buckets, mut entries) = storage(cap, Table::buckets_for(cap));
        let mut t = Table::new(lookup, 0, &mut buckets, &mut entries).unwrap();
        for i in 0..16 {
            // Flow i last seen at time i; flows 0..8 are idle at now = 20 with max_idle 12.
            t.insert(key(i), i, u64::from(i)).unwrap();
        }
        let mut cursor = 10;
        let mut gone = Vec::new();
        // Scans 10..16 and 0..4: removes 0..4.
        let n = t.expire(20, 12, &mut cursor, 10, |id, k, v| gone.push((id, *k, *v)));
        assert_eq!(n, 4);
        assert_eq!(cursor, 4);
        assert_eq!(
            gone,
            (0..4).map(|i| (FlowId(i), key(i), i)).collect::<Vec<_>>()
        );
        // A touched flow is not idle.
        t.touch(FlowId(5), 20).unwrap();
        let mut gone = Vec::new();
        // Budget above the capacity scans each entry once; the cursor ends where it began.
        let n = t.expire(20, 12, &mut cursor, 1000, |id, _, _| gone.push(id));
        assert_eq!(n, 3);
        assert_eq!(gone, [FlowId(4), FlowId(6), FlowId(7)]);
        assert_eq!(cursor, 4);
        // A cursor past the end starts over inside; a clock behind last_seen expires nothing.
        let mut cursor = 1000;
        assert_eq!(t.expire(0, 0, &mut cursor, 16, |_, _, _| {}), 0);
        assert_eq!(cursor, 1000 % 16);
        // Zero budget does nothing.
        assert_eq!(t.expire(u64::MAX, 0, &mut cursor, 0, |_, _, _| {}), 0);
        assert_eq!(t.len(), 9);
        // max_idle is a strict bound: idle == max_idle stays.
        // Left: flow 5 (seen at 20) and 8..16 (seen at 8..16).
        assert_eq!(t.expire(28, 20, &mut cursor, 16, |_, _, _| {}), 0);
        assert_eq!(t.expire(29, 20, &mut cursor, 16, |_, _, _| {}), 1); // flow 8
        assert_eq!(t.expire(u64::MAX, 0, &mut cursor, 16, |_, _, _| {}), 8);
        assert!(t.is_empty());
        assert_consistent(&t);
    }
}

#[test]
fn bulk_finds_flows_beyond_a_primary_bucket_without_their_tag() {
    // The bulk lookup's three kinds of key not found by a first candidate: no tag match in
    // the primary bucket and no overflow (a miss, decided at once), no tag match but an
    // overflow (look in the other bucket), and a tag match that is another flow.
    for (name, lookup) in engines() {
        let (mut buckets, mut entries) = storage(64, 64);
        let mut t = Table::new(lookup, 0, &mut buckets, &mut entries).unwrap();
        // Bucket 3 full of single-bucket flows (tag 0x40 & 63 == 0), none of tag 5.
        for i in 0..8 {
            t.insert_with_hash(key(i), 0x0040_0003, i, 0).unwrap();
        }
        // Tag 5, buckets 3/6: it goes to 6 and bucket 3 records the overflow.
        let x = t.insert_with_hash(key(100), 0x0005_0003, 100, 0).unwrap();
        // Tag 9, buckets 20/29, and another flow of the same tag and buckets after it.
        let y = t.insert_with_hash(key(200), 0x0009_0014, 200, 0).unwrap();
        let z = t.insert_with_hash(key(201), 0x0009_0014, 201, 0).unwrap();
        let keys = [
            key(100),
            key(101),
            key(102),
            key(201),
            key(202),
            key(200),
            key(3),
        ];
        let hashes = [
            0x0005_0003, // found in its other bucket
            0x0006_0003, // no tag 6 in bucket 3, overflow: looked for in 5, absent
            0x0007_0011, // empty bucket 17: absent at once
            0x0009_0014, // the second of two tag matches
            0x0009_0014, // two tag matches, neither it
            0x0009_0014, // the first tag match
            0x0040_0003, // in its only bucket
        ];
        let mut out = [Some(FlowId(u32::MAX)); 7];
        let mask = t.lookup_bulk_with_hash(&keys, &hashes, &mut out).unwrap();
        assert_eq!(mask, 0b110_1001, "{name}");
        let want = [Some(x), None, None, Some(z), None, Some(y), Some(FlowId(3))];
        assert_eq!(out, want, "{name}");
        for (i, (k, h)) in keys.iter().zip(hashes).enumerate() {
            assert_eq!(t.lookup_with_hash(k, h), want[i], "{name} {i}");
        }
    }
}

#[test]
fn tag_collisions_share_two_buckets() {
    for (name, lookup) in engines() {
        let (mut buckets, mut entries) = storage(64, 64);
        let mut t = Table::new(lookup, 0, &mut buckets, &mut entries).unwrap();
        // Same tag 0x0005, buckets 9 and 9 ^ 5 = 12: sixteen slots for all of them, and
        // hash 0x0005_000C (b1 = 12) names the same pair.
        let hashes = [0x0005_0009, 0x0005_000C];
        for i in 0..16 {
            let h = hashes[i as usize % 2];
            assert_eq!(t.insert_with_hash(key(i), h, i, 0), Ok(FlowId(i)), "{name}");
        }
        assert_eq!(
            t.insert_with_hash(key(16), hashes[0], 16, 0),
            Err(Error::Full { capacity: 64 })
        );
        for i in 0..16 {
            let h = hashes[i as usize % 2];
            assert_eq!(t.lookup_with_hash(&key(i), h), Some(FlowId(i)));
        }
        let keys: Vec<Ipv4Tuple> = (0..17).map(key).collect();
        let hs: Vec<u32> = (0..17).map(|i| hashes[i % 2]).collect();
        let mut out = vec![None; 17];
        assert_eq!(t.lookup_bulk_with_hash(&keys, &hs, &mut out), Ok(0xFFFF));
        assert_eq!(out[15], Some(FlowId(15)));
        assert_eq!(out[16], None);
        assert_eq!(t.remove_with_hash(&key(7), hashes[1]), Some((FlowId(7), 7)));
        assert_eq!(t.insert_with_hash(key(16), hashes[0], 16, 0), Ok(FlowId(7)));

        // Tag & mask == 0: both buckets are one, eight slots.
        t.clear();
        for i in 0..8 {
            t.insert_with_hash(key(i), 0x0040_0003, i, 0).unwrap();
        }
        assert!(matches!(
            t.insert_with_hash(key(8), 0x0040_0003, 8, 0),
            Err(Error::Full { .. })
        ));

        // Displacement: flow B (buckets 8/10) sits in 8, flow A (9/8) in 9, the rest of 8 and
        // 9 and all of 12 hold flows with a single bucket (tag 0x40 & 63 == 0). A new flow for
        // buckets 9/12 gets in by moving B to 10 and A to 8.
        t.clear();
        let b = t.insert_with_hash(key(200), 0x0002_0008, 0, 0).unwrap();
        let a = t.insert_with_hash(key(201), 0x0001_0009, 0, 0).unwrap();
        for i in 0..7 {
            t.insert_with_hash(key(300 + i), 0x0040_0008, 0, 0).unwrap();
            t.insert_with_hash(key(400 + i), 0x0040_0009, 0, 0).unwrap();
        }
        for i in 0..8 {
            t.insert_with_hash(key(500 + i), 0x0040_000C, 0, 0).unwrap();
        }
        // 0x45 & 63 == 5: buckets 9 and 12, both full, only A can move (then only B).
        let n = t.insert_with_hash(key(202), 0x0045_0009, 0, 0).unwrap();
        assert_eq!(t.lookup_with_hash(&key(200), 0x0002_0008), Some(b));
        assert_eq!(t.lookup_with_hash(&key(201), 0x0001_0009), Some(a));
        assert_eq!(t.lookup_with_hash(&key(202), 0x0045_0009), Some(n));
        // Now 8, 9 and 12 are full of flows that cannot move: the next one is Full, and
        // removing by id still finds every moved flow's slot.
        assert!(matches!(
            t.insert_with_hash(key(203), 0x0045_0009, 0, 0),
            Err(Error::Full { .. })
        ));
        assert_eq!(t.remove_id(b), Some((key(200), 0)));
        assert_eq!(t.remove_id(a), Some((key(201), 0)));
        assert_eq!(t.lookup_with_hash(&key(202), 0x0045_0009), Some(n));
        assert_eq!(t.len(), 7 + 7 + 8 + 1);
    }
}

/// Bucket-level cuckoo moves keep ids stable: fill past the point where the first bucket
/// choice is usually taken and check every id is still the one insert returned.
#[test]
fn ids_survive_displacement() {
    for (_, lookup) in engines() {
        let cap: usize = if cfg!(miri) { 60 } else { 2000 };
        let nb = (cap / 8).next_power_of_two();
        let (mut buckets, mut entries) = storage(cap, nb);
        let mut t = Table::new(lookup, 11, &mut buckets, &mut entries).unwrap();
        let mut rng = Rng::new(1);
        let mut ids = HashMap::new();
        while t.len() < cap * 9 / 10 {
            let k = random_key(&mut rng);
            if let Ok(id) = t.insert(k, 0, 0) {
                ids.insert(k, id);
            }
        }
        for (k, id) in &ids {
            assert_eq!(t.lookup(k), Some(*id));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Model test
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Insert(u8, u32),
    Lookup(u8),
    Update(u8, u32),
    Remove(u8),
    RemoveId(u8),
    Touch(u8),
    Expire { max_idle: u8, budget: u8 },
    Bulk(Vec<u8>),
    Tick(u8),
    Clear,
}

const KEYS: u8 = 48;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..KEYS, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
        2 => (0..KEYS).prop_map(Op::Lookup),
        1 => (0..KEYS, any::<u32>()).prop_map(|(k, v)| Op::Update(k, v)),
        2 => (0..KEYS).prop_map(Op::Remove),
        1 => any::<u8>().prop_map(Op::RemoveId),
        1 => any::<u8>().prop_map(Op::Touch),
        1 => (0u8..20, 0u8..50).prop_map(|(max_idle, budget)| Op::Expire { max_idle, budget }),
        2 => proptest::collection::vec(0..KEYS + 4, 0..=66).prop_map(Op::Bulk),
        2 => (0u8..8).prop_map(Op::Tick),
        1 => Just(Op::Clear),
    ]
}

/// How keys are hashed in a model run.
#[derive(Debug, Clone, Copy)]
enum Hashing {
    /// The table's own CRC-32C.
    Own,
    /// `*_with_hash` with one of four hashes that share buckets and tags.
    Forced,
}

fn forced_hash(k: u8) -> u32 {
    // Tag 1 on buckets 0/1 (twice, from either side), tag 0 (one bucket), tag 2 on 3/1.
    [0x0001_0000, 0x0001_0001, 0x0000_0000, 0x0002_0003][usize::from(k % 4)]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Flow {
    id: FlowId,
    value: u32,
    last_seen: u64,
}

fn run_model(lookup: Auto, cap: usize, nbuckets: usize, hashing: Hashing, ops: &[Op]) {
    let (mut buckets, mut entries) = storage(cap, nbuckets);
    let mut t = Table::new(lookup, 0x1234, &mut buckets, &mut entries).unwrap();
    let mut model: HashMap<Ipv4Tuple, Flow> = HashMap::new();
    let mut now = 0u64;
    let mut cursor = 0usize;
    let mut model_cursor = 0usize;
    let hash = |t: &Table<'_>, i: u8| match hashing {
        Hashing::Own => t.hash(&key(u32::from(i))),
        Hashing::Forced => forced_hash(i),
    };
    let by_id = |model: &HashMap<Ipv4Tuple, Flow>, id: FlowId| {
        model
            .iter()
            .find(|(_, f)| f.id == id)
            .map(|(k, f)| (*k, *f))
    };
    for op in ops {
        match *op {
            Op::Insert(i, v) => {
                let k = key(u32::from(i));
                let h = hash(&t, i);
                let r = match hashing {
                    Hashing::Own => t.insert(k, v, now),
                    Hashing::Forced => t.insert_with_hash(k, h, v, now),
                };
                match (r, model.get(&k)) {
                    (Err(Error::Exists { id }), Some(f)) => assert_eq!(id, f.id.get()),
                    (Ok(id), None) => {
                        assert!(id.index() < cap);
                        assert!(model.values().all(|f| f.id != id), "{id:?} reused");
                        model.insert(
                            k,
                            Flow {
                                id,
                                value: v,
                                last_seen: now,
                            },
                        );
                    }
                    (Err(Error::Full { capacity }), None) => {
                        assert_eq!(capacity, cap);
                        assert_eq!(t.lookup_with_hash(&k, h), None);
                    }
                    (r, m) => panic!("insert {i}: {r:?} with model {m:?}"),
                }
                if model.len() == cap {
                    // Nothing more fits.
                    let extra = key(1000);
                    assert!(matches!(t.insert(extra, 0, 0), Err(Error::Full { .. })));
                }
            }
            Op::Lookup(i) => {
                let k = key(u32::from(i));
                let got = t.lookup_with_hash(&k, hash(&t, i));
                assert_eq!(got, model.get(&k).map(|f| f.id));
            }
            Op::Update(i, v) => {
                let k = key(u32::from(i));
                let r = match hashing {
                    Hashing::Own => t.update(&k, v),
                    // `update` hashes itself: go through the id instead.
                    Hashing::Forced => t
                        .lookup_with_hash(&k, hash(&t, i))
                        .and_then(|id| t.value_mut(id).map(|x| (id, x)))
                        .map(|(id, x)| {
                            *x = v;
                            id
                        })
                        .ok_or(Error::NotFound),
                };
                match model.get_mut(&k) {
                    Some(f) => {
                        assert_eq!(r, Ok(f.id));
                        f.value = v;
                    }
                    None => assert_eq!(r, Err(Error::NotFound)),
                }
            }
            Op::Remove(i) => {
                let k = key(u32::from(i));
                let r = match hashing {
                    Hashing::Own => t.remove(&k),
                    Hashing::Forced => t.remove_with_hash(&k, hash(&t, i)),
                };
                assert_eq!(r, model.remove(&k).map(|f| (f.id, f.value)));
            }
            Op::RemoveId(i) => {
                let id = FlowId(u32::from(i) % (cap as u32 + 2));
                let want = by_id(&model, id);
                assert_eq!(t.remove_id(id), want.map(|(k, f)| (k, f.value)));
                if let Some((k, _)) = want {
                    model.remove(&k);
                }
            }
            Op::Touch(i) => {
                let id = FlowId(u32::from(i) % (cap as u32 + 2));
                match by_id(&model, id) {
                    Some((k, _)) => {
                        assert_eq!(t.touch(id, now), Ok(()));
                        model.get_mut(&k).unwrap().last_seen = now;
                    }
                    None => assert_eq!(t.touch(id, now), Err(Error::NotFound)),
                }
            }
            Op::Expire { max_idle, budget } => {
                let (max_idle, budget) = (u64::from(max_idle), usize::from(budget));
                let mut want = Vec::new();
                let mut i = model_cursor % cap;
                for _ in 0..budget.min(cap) {
                    if let Some((k, f)) = by_id(&model, FlowId(i as u32))
                        && now.saturating_sub(f.last_seen) > max_idle
                    {
                        want.push((f.id, k, f.value));
                        model.remove(&k);
                    }
                    i = (i + 1) % cap;
                }
                model_cursor = i;
                let mut got = Vec::new();
                let n = t.expire(now, max_idle, &mut cursor, budget, |id, k, v| {
                    got.push((id, *k, *v));
                });
                assert_eq!(got, want);
                assert_eq!(n, want.len());
                assert_eq!(cursor, model_cursor);
            }
            Op::Bulk(ref idx) => {
                let keys: Vec<Ipv4Tuple> = idx.iter().map(|&i| key(u32::from(i))).collect();
                let hashes: Vec<u32> = idx.iter().map(|&i| hash(&t, i)).collect();
                let mut out = vec![None; keys.len()];
                let r = match hashing {
                    Hashing::Own => t.lookup_bulk(&keys, &mut out),
                    Hashing::Forced => t.lookup_bulk_with_hash(&keys, &hashes, &mut out),
                };
                if keys.len() > 64 {
                    assert_eq!(
                        r,
                        Err(Error::BatchTooLarge {
                            len: keys.len(),
                            max: 64
                        })
                    );
                    continue;
                }
                let mut want_mask = 0u64;
                for (i, k) in keys.iter().enumerate() {
                    let want = model.get(k).map(|f| f.id);
                    assert_eq!(out[i], want);
                    want_mask |= u64::from(want.is_some()) << i;
                }
                assert_eq!(r, Ok(want_mask));
            }
            Op::Tick(dt) => now += u64::from(dt),
            Op::Clear => {
                t.clear();
                model.clear();
            }
        }
        assert_eq!(t.len(), model.len());
    }
    let mut want: Vec<(FlowId, Ipv4Tuple, u32)> =
        model.iter().map(|(k, f)| (f.id, *k, f.value)).collect();
    want.sort_unstable();
    assert_eq!(snapshot(&t), want);
    for (k, f) in &model {
        assert_eq!(t.last_seen(f.id), Some(f.last_seen), "{k:?}");
    }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: if cfg!(miri) { 2 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn ops_len() -> core::ops::Range<usize> {
    if cfg!(miri) { 1..40 } else { 1..300 }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn matches_hashmap_model(
        cap in 1usize..40,
        nbuckets_log in 0u32..4,
        ops in proptest::collection::vec(op(), ops_len()),
    ) {
        for (_, lookup) in engines() {
            run_model(lookup, cap, 1 << nbuckets_log, Hashing::Own, &ops);
        }
    }

    #[test]
    fn matches_hashmap_model_with_colliding_hashes(
        cap in 1usize..40,
        nbuckets_log in 1u32..4,
        ops in proptest::collection::vec(op(), ops_len()),
    ) {
        for (_, lookup) in engines() {
            run_model(lookup, cap, 1 << nbuckets_log, Hashing::Forced, &ops);
        }
    }
}
