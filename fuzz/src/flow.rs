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
