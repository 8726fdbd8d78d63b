//! The `offload-flow` harnesses: Toeplitz backends against `Scalar` and the definition, and
//! flow-table operation sequences against a `HashMap` model on every backend.

use std::collections::HashMap;

use offload_flow::{
    Auto, Backend, Bucket, Entry, Error, FlowId, FlowTable, Key, RssHasher, RssKey, Scalar,
};

use crate::{Input, fill};

/// Every backend this build and CPU have (Scalar first).
fn backends() -> Vec<Auto> {
    let mut all: Vec<Auto> = Backend::ALL
        .into_iter()
        .filter_map(Auto::with_backend)
        .collect();
    all.sort_by_key(|a| a.backend() != Backend::Scalar);
    all
}

/// Toeplitz from the definition: for every set input bit `i` (MSB of byte 0 first), XOR
/// the 32 key bits starting at key bit `i`.
fn toeplitz_naive(key: &[u8], input: &[u8]) -> u32 {
    let bit = |i: usize| u32::from((key.get(i / 8).copied().unwrap_or(0) >> (7 - i % 8)) & 1);
    let mut h = 0;
    for i in 0..input.len() * 8 {
        if input[i / 8] & (0x80 >> (i % 8)) != 0 {
            h ^= (0..32).fold(0u32, |w, j| w << 1 | bit(i + j));
        }
    }
    h
}

/// `toeplitz_bulk` of `inputs` (width `N`) on every backend equals the single hashes.
fn bulk_agrees<const N: usize>(
    key: &RssKey,
    raw: &[u8],
    count: usize,
    want_each: &dyn Fn(&[u8]) -> u32,
) {
    let mut inputs = vec![[0u8; N]; count];
    for (i, input) in inputs.iter_mut().enumerate() {
        fill(input, raw, i as u64);
    }
    let want: Vec<u32> = inputs.iter().map(|i| want_each(i)).collect();
    for b in backends() {
        let mut out = vec![0u32; count + 1];
        let result = b.toeplitz_bulk(key, &inputs, &mut out);
        if N > key.max_input() {
            assert_eq!(
                result,
                Err(Error::InputTooLong {
                    len: N,
                    max: key.max_input()
                })
            );
            assert!(
                out.iter().all(|&h| h == 0),
                "{}: wrote on error",
                b.backend()
            );
        } else {
            assert_eq!(result, Ok(()), "{}", b.backend());
            assert_eq!(&out[..count], &want[..], "{} bulk N={N}", b.backend());
            assert_eq!(out[count], 0, "{}: wrote past the inputs", b.backend());
        }
        if count > 0 {
            let short = b.toeplitz_bulk(key, &inputs, &mut out[..count - 1]);
            if N > key.max_input() {
                assert!(
                    matches!(short, Err(Error::InputTooLong { .. })),
                    "{short:?}"
                );
            } else {
                let too_small = Error::OutputTooSmall {
                    needed: count,
                    available: count - 1,
                };
                assert_eq!(short, Err(too_small), "{}", b.backend());
            }
        }
    }
}

/// Every backend's Toeplitz hash of arbitrary keys and inputs equals `Scalar`'s and the
/// definition's, single and bulk, and over-long inputs are refused alike.
pub fn flow_rss_backends_agree(data: &[u8]) {
    let mut input = Input::new(data);
    let key_len = 8 + usize::from(input.byte() % 45); // 8..=52
    let key_bytes: Vec<u8> = input.take(key_len).to_vec();
    let mut key_full = vec![0u8; key_len];
    fill(&mut key_full, &key_bytes, 0x6d5a);
    let Ok(key) = RssKey::new(&key_full) else {
        panic!("key of {key_len} bytes refused");
    };
    assert!(RssKey::new(&key_full[..7]).is_err());
    let len = usize::from(input.byte() % 53);
    let count = usize::from(input.byte() % 70);
    let raw = input.rest();
    let mut msg = vec![0u8; len];
    fill(&mut msg, raw, 7);
    let want = (len <= key.max_input()).then(|| toeplitz_naive(&key_full, &msg));
    for b in backends() {
        let got = b.toeplitz(&key, &msg);
        match want {
            Some(w) => assert_eq!(got, Ok(w), "{} key {key_len} len {len}", b.backend()),
            None => assert_eq!(
                got,
                Err(Error::InputTooLong {
                    len,
                    max: key.max_input()
                }),
                "{}",
                b.backend()
            ),
        }
    }
    let each = |i: &[u8]| Scalar.toeplitz(&key, i).unwrap_or(0);
    bulk_agrees::<8>(&key, raw, count, &each);
    bulk_agrees::<12>(&key, raw, count, &each);
    bulk_agrees::<32>(&key, raw, count, &each);
    bulk_agrees::<36>(&key, raw, count, &each);
    bulk_agrees::<48>(&key, raw, count, &each);
}

/// A 4-byte key: a small key space, so the fuzzer reaches every path quickly.
type K = Key<4>;

/// What the model holds per flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Flow {
    id: FlowId,
    value: u32,
    last_seen: u64,
}

/// One table under test and the storage it lives in.
struct Subject {
    lookup: Auto,
    buckets: Vec<Bucket>,
    entries: Vec<Entry<K, u32>>,
}

/// Operation sequences on a small table, the same on every backend, checked against a
/// `HashMap` model after every step: results, ids, values, `len`, `iter`, bulk masks, expiry.
/// With the "degenerate hash" flag every call goes through the `*_with_hash` entry points
/// with a hash of only a few distinct values, so buckets overflow, displacement chains run
/// and inserts fail with `Full` (which must leave the table unchanged).
pub fn flow_table_ops(data: &[u8]) {
    let mut input = Input::new(data);
    let capacity = 1 + usize::from(input.byte() % 96);
    let flags = input.byte();
    let degenerate = flags & 1 != 0;
    let buckets = if flags & 2 != 0 {
        1 << (flags >> 2 & 3)
    } else {
        FlowTable::<K, u32>::buckets_for(capacity)
    };
    let seed = input.u32();
    let ops = input.rest();

    let mut subjects: Vec<Subject> = backends()
        .into_iter()
        .map(|lookup| Subject {
            lookup,
            buckets: vec![Bucket::EMPTY; buckets],
            entries: vec![Entry::default(); capacity],
        })
        .collect();
    let mut tables: Vec<FlowTable<'_, K, u32>> = subjects
        .iter_mut()
        .map(|s| {
            FlowTable::new(s.lookup, seed, &mut s.buckets, &mut s.entries)
                .unwrap_or_else(|e| panic!("new: {e}"))
        })
        .collect();
    let mut model: HashMap<K, Flow> = HashMap::new();
    let hash_of = |t: &FlowTable<'_, K, u32>, k: &K| {
        if degenerate {
            // Three distinct hashes: at most 2 x 3 buckets ever used.
            [0x0001_0000u32, 0x0003_0001, 0x8000_0002][usize::from(k.0[0] % 3)]
        } else {
            t.hash(k)
        }
    };

    let mut cursor = vec![0usize; tables.len()];
    let mut model_cursor = 0usize;
    let mut step = Input::new(ops);
    let mut now = 0u64;
    while !step.rest().is_empty() {
        let op = step.byte();
        let key = K::from_byte(step.byte());
        now += u64::from(op >> 4);
        match op % 8 {
            0 => {
                let value = u32::from(step.byte());
                let mut first: Option<Result<FlowId, Error>> = None;
                for t in &mut tables {
                    let h = hash_of(t, &key);
                    let r = if degenerate {
                        t.insert_with_hash(key, h, value, now)
                    } else {
                        t.insert(key, value, now)
                    };
                    match first {
                        None => first = Some(r),
                        Some(f) => assert_eq!(r, f, "backends disagree on insert"),
                    }
                }
                match (first, model.get(&key)) {
                    (Some(Err(Error::Exists { id })), Some(f)) => assert_eq!(FlowId(id), f.id),
                    (Some(Ok(id)), None) => {
                        assert!(
                            model.values().all(|f| f.id != id),
                            "id {id:?} reused while live"
                        );
                        assert!(id.index() < capacity);
                        model.insert(
                            key,
                            Flow {
                                id,
                                value,
                                last_seen: now,
                            },
                        );
                    }
                    (Some(Err(Error::Full { capacity: c })), None) => assert_eq!(c, capacity),
                    (r, m) => panic!("insert {key:?}: table {r:?}, model {m:?}"),
                }
            }
            1 => {
                let value = u32::from(step.byte());
                for t in &mut tables {
                    // `update` hashes the key itself; with given hashes the same change is
                    // `lookup_with_hash` then `value_mut`.
                    let r = if degenerate {
                        let h = hash_of(t, &key);
                        match t.lookup_with_hash(&key, h) {
                            Some(id) => t
                                .value_mut(id)
                                .map(|v| *v = value)
                                .map(|()| id)
                                .ok_or(Error::NotFound),
                            None => Err(Error::NotFound),
                        }
                    } else {
                        t.update(&key, value)
                    };
                    match model.get(&key) {
                        Some(f) => assert_eq!(r, Ok(f.id)),
                        None => assert_eq!(r, Err(Error::NotFound)),
                    }
                }
                if let Some(f) = model.get_mut(&key) {
                    f.value = value;
                }
            }
            2 => {
                let want = model.remove(&key).map(|f| (f.id, f.value));
                for t in &mut tables {
                    let h = hash_of(t, &key);
                    let r = if degenerate {
                        t.remove_with_hash(&key, h)
                    } else {
                        t.remove(&key)
                    };
                    assert_eq!(r, want, "remove {key:?}");
                }
            }
            3 => {
                let id = FlowId(u32::from(step.byte()) % (capacity as u32 + 2));
                let want = model
                    .iter()
                    .find(|(_, f)| f.id == id)
                    .map(|(k, f)| (*k, f.value));
                if let Some((k, _)) = want {
                    model.remove(&k);
                }
                for t in &mut tables {
                    assert_eq!(t.remove_id(id), want, "remove_id {id:?}");
                }
            }
            4 => {
                let id = FlowId(u32::from(step.byte()) % (capacity as u32 + 2));
                let live = model.values_mut().find(|f| f.id == id);
                let ok = live.is_some();
                if let Some(f) = live {
                    f.last_seen = now;
                }
                for t in &mut tables {
                    assert_eq!(t.touch(id, now).is_ok(), ok, "touch {id:?}");
                }
            }
            5 => {
                let max_idle = u64::from(step.byte());
                let budget = usize::from(step.byte() % 128);
                // The model scans the same ids in the same order.
                let mut want = Vec::new();
                let mut i = model_cursor % capacity;
                for _ in 0..budget.min(capacity) {
                    if let Some((k, f)) = model.iter().find(|(_, f)| f.id.index() == i)
                        && now.saturating_sub(f.last_seen) > max_idle
                    {
                        want.push((f.id, *k, f.value));
                    }
                    i = (i + 1) % capacity;
                }
                model_cursor = i;
                for (_, k, _) in &want {
                    model.remove(k);
                }
                for (t, c) in tables.iter_mut().zip(&mut cursor) {
                    let mut got = Vec::new();
                    let n = t.expire(now, max_idle, c, budget, |id, k, v| got.push((id, *k, *v)));
                    assert_eq!(n, got.len());
                    assert_eq!(got, want, "expire");
                    assert_eq!(*c, model_cursor);
                }
            }
            _ => {
                // A batch of keys: this one and the next bytes' keys.
                let n = usize::from(step.byte() % 66);
                let keys: Vec<K> = (0..n)
                    .map(|i| {
                        if i == 0 {
                            key
                        } else {
                            K::from_byte(step.byte())
                        }
                    })
                    .collect();
                for t in &tables {
                    let mut out = vec![Some(FlowId(u32::MAX)); n];
                    let hashes: Vec<u32> = keys.iter().map(|k| hash_of(t, k)).collect();
                    let r = if degenerate {
                        t.lookup_bulk_with_hash(&keys, &hashes, &mut out)
                    } else {
                        t.lookup_bulk(&keys, &mut out)
                    };
                    if n > FlowTable::<K, u32>::BULK_MAX {
                        assert_eq!(r, Err(Error::BatchTooLarge { len: n, max: 64 }));
                        continue;
                    }
                    let mut mask = 0u64;
                    for (i, (k, o)) in keys.iter().zip(&out).enumerate() {
                        let want = model.get(k).map(|f| f.id);
                        assert_eq!(*o, want, "bulk {k:?}");
                        let single = if degenerate {
                            t.lookup_with_hash(k, hash_of(t, k))
                        } else {
                            t.lookup(k)
                        };
                        assert_eq!(single, want, "lookup {k:?}");
                        mask |= u64::from(want.is_some()) << i;
                    }
                    assert_eq!(r, Ok(mask));
                }
            }
        }
        for t in &tables {
            assert_eq!(t.len(), model.len());
            for (id, k, v) in t.iter() {
                let f = model
                    .get(k)
                    .unwrap_or_else(|| panic!("{k:?} in table, not in model"));
                assert_eq!((id, *v), (f.id, f.value));
                assert_eq!(t.get(id), Some((k, v)));
            }
        }
    }
}

/// Builds a [`K`] from one byte: keys share structure so CRC-32C collisions of tags occur.
trait FromByte {
    fn from_byte(b: u8) -> Self;
}

impl FromByte for K {
    fn from_byte(b: u8) -> Self {
        Key([b, b & 0xF0, 0, b.rotate_left(3) & 0x81])
    }
}

/// Masks the classifier harness draws from: few distinct masks, so subtables fill and
/// overlap, over an 8-byte key (two words, the second partly masked).
const MASKS: [[u8; 8]; 6] = [
    [0xFF; 8],
    [0xFF, 0xFF, 0, 0, 0, 0, 0, 0],
    [0xF0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0xFF, 0xFF, 0, 0],
    [0xFF, 0, 0, 0, 0, 0, 0, 0x0F],
    [0; 8],
];

/// A rule as the model keeps it.
#[derive(Clone, Copy, Debug)]
struct ModelRule {
    key: [u8; 8],
    mask: [u8; 8],
    priority: u32,
    value: u32,
}

impl ModelRule {
    fn matches(&self, key: &[u8; 8]) -> bool {
        key.iter()
            .zip(&self.key)
            .zip(&self.mask)
            .all(|((k, r), m)| k & m == r & m)
    }
}

/// Rule insert/remove/lookup sequences on a small classifier (few subtable descriptors and
/// entries, so `TooManySubtables` and `Full` happen), on every backend, checked against a
/// linear scan after every step: in priority mode the exact winner (highest priority, then
/// lowest id); in first-match mode a rule that matches, or none exactly when none does; batch
/// lookups equal single ones; the rule list equals the model's.
pub fn flow_classifier_ops(data: &[u8]) {
    use offload_flow::{Classifier, Mode, Rule, RuleEntry, RuleId, Subtable};

    let mut input = Input::new(data);
    let flags = input.byte();
    let mode = if flags & 1 != 0 {
        Mode::Priority
    } else {
        Mode::FirstMatch
    };
    let max_sub = 1 + usize::from(flags >> 1 & 3);
    let capacity = 1 + usize::from(input.byte() % 48);
    let with_filter = flags & 8 != 0;
    let seed = input.u32();

    struct Storage {
        lookup: Auto,
        subtables: Vec<Subtable<8>>,
        filter: Vec<u64>,
        buckets: Vec<Bucket>,
        entries: Vec<RuleEntry<8, u32>>,
    }
    let mut storage: Vec<Storage> = backends()
        .into_iter()
        .map(|lookup| Storage {
            lookup,
            subtables: vec![Subtable::EMPTY; max_sub],
            filter: vec![
                0;
                if with_filter {
                    Classifier::<8>::filter_words_for(capacity)
                } else {
                    0
                }
            ],
            buckets: vec![Bucket::EMPTY; FlowTable::<K, u32>::buckets_for(capacity)],
            entries: vec![RuleEntry::default(); capacity],
        })
        .collect();
    let mut cls: Vec<Classifier<'_, 8>> = storage
        .iter_mut()
        .map(|s| {
            Classifier::new(
                s.lookup,
                seed,
                mode,
                &mut s.subtables,
                &mut s.filter,
                &mut s.buckets,
                &mut s.entries,
            )
            .unwrap_or_else(|e| panic!("new: {e}"))
        })
        .collect();
    let mut model: Vec<(RuleId, ModelRule)> = Vec::new();
    let key_of = |input: &mut Input<'_>| -> [u8; 8] {
        let b = input.byte();
        [
            b & 0xF3,
            b >> 4,
            0,
            0,
            b & 0x3,
            0,
            0,
            b.rotate_left(2) & 0x8F,
        ]
    };

    let mut step = Input::new(input.rest());
    while !step.rest().is_empty() {
        let op = step.byte();
        match op % 6 {
            0 | 1 => {
                let mask = MASKS[usize::from(step.byte()) % MASKS.len()];
                let key = key_of(&mut step);
                let priority = u32::from(step.byte() % 4);
                let value = u32::from(op);
                let rule = ModelRule {
                    key,
                    mask,
                    priority,
                    value,
                };
                let existing = model.iter().find(|(_, r)| {
                    r.mask == mask
                        && r.key
                            .iter()
                            .zip(&key)
                            .zip(&mask)
                            .all(|((a, b), m)| a & m == b & m)
                });
                let new_mask = !model.iter().any(|(_, r)| r.mask == mask);
                let used_masks = {
                    let mut m: Vec<[u8; 8]> = model.iter().map(|(_, r)| r.mask).collect();
                    m.sort_unstable();
                    m.dedup();
                    m.len()
                };
                let mut first = None;
                for c in &mut cls {
                    let r = c.insert(Rule::new(Key(key), mask, priority, value));
                    match first {
                        None => first = Some(r),
                        Some(f) => assert_eq!(r, f, "backends disagree on insert"),
                    }
                }
                match first {
                    Some(Ok(id)) => {
                        assert!(existing.is_none(), "inserted a duplicate");
                        assert!(
                            model.iter().all(|(i, _)| *i != id),
                            "id {id:?} reused while live"
                        );
                        model.push((id, rule));
                    }
                    Some(Err(Error::Exists { id })) => {
                        assert_eq!(existing.map(|(i, _)| i.get()), Some(id));
                    }
                    Some(Err(Error::TooManySubtables { max })) => {
                        assert!(new_mask && used_masks == max_sub && max == max_sub);
                    }
                    Some(Err(Error::Full { .. })) => assert!(existing.is_none()),
                    other => panic!("insert: {other:?}"),
                }
            }
            2 => {
                let mask = MASKS[usize::from(step.byte()) % MASKS.len()];
                let key = key_of(&mut step);
                let at = model.iter().position(|(_, r)| {
                    r.mask == mask
                        && r.key
                            .iter()
                            .zip(&key)
                            .zip(&mask)
                            .all(|((a, b), m)| a & m == b & m)
                });
                let want = at.map(|i| model.remove(i));
                for c in &mut cls {
                    let r = c.remove(&Key(key), &mask);
                    match want {
                        Some((id, rule)) => {
                            let m = r.unwrap_or_else(|e| panic!("remove: {e}"));
                            assert_eq!(
                                (m.rule, m.priority, m.value),
                                (id, rule.priority, rule.value)
                            );
                        }
                        None => assert_eq!(r, Err(Error::NotFound)),
                    }
                }
            }
            3 => {
                let id = RuleId(u32::from(step.byte()) % (capacity as u32 + 1));
                let at = model.iter().position(|(i, _)| *i == id);
                let want = at.map(|i| model.remove(i));
                for c in &mut cls {
                    match (c.remove_id(id), want) {
                        (Ok(r), Some((_, m))) => {
                            assert_eq!((r.mask, r.priority, r.value), (m.mask, m.priority, m.value))
                        }
                        (Err(Error::NotFound), None) => {}
                        (r, w) => panic!("remove_id {id:?}: {r:?} vs model {w:?}"),
                    }
                }
            }
            4 => {
                for c in &mut cls {
                    if op & 0x10 != 0 {
                        c.rebuild_filter();
                    } else {
                        c.rebalance();
                    }
                }
            }
            _ => {
                let n = usize::from(step.byte() % 66);
                let keys: Vec<Key<8>> = (0..n).map(|_| Key(key_of(&mut step))).collect();
                for c in &mut cls {
                    let mut out = vec![None; n];
                    let r = c.lookup_batch(&keys, &mut out);
                    if n > 64 {
                        assert_eq!(r, Err(Error::BatchTooLarge { len: n, max: 64 }));
                        continue;
                    }
                    let mut mask = 0u64;
                    for (i, (k, o)) in keys.iter().zip(&out).enumerate() {
                        assert_eq!(c.lookup(k), *o, "single != batch");
                        let matching: Vec<&(RuleId, ModelRule)> =
                            model.iter().filter(|(_, r)| r.matches(&k.0)).collect();
                        match (mode, o) {
                            (_, None) => assert!(matching.is_empty(), "missed {k:?}"),
                            (Mode::Priority, Some(m)) => {
                                let best = matching
                                    .iter()
                                    .max_by(|a, b| {
                                        a.1.priority.cmp(&b.1.priority).then(b.0.cmp(&a.0))
                                    })
                                    .map(|(id, _)| *id);
                                assert_eq!(Some(m.rule), best, "priority winner for {k:?}");
                            }
                            (_, Some(m)) => {
                                assert!(
                                    matching.iter().any(|(id, _)| *id == m.rule),
                                    "{k:?} matched a rule that does not match"
                                );
                            }
                        }
                        mask |= u64::from(o.is_some()) << i;
                    }
                    assert_eq!(r, Ok(mask));
                }
            }
        }
        for c in &cls {
            assert_eq!(c.len(), model.len());
            for (id, rule) in c.rules() {
                let Some((_, m)) = model.iter().find(|(i, _)| *i == id) else {
                    panic!("rule {id:?} not in the model");
                };
                assert_eq!(
                    (rule.mask, rule.priority, rule.value),
                    (m.mask, m.priority, m.value)
                );
            }
        }
    }
}
