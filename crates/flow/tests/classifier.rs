//! The wildcard classifier: stated sizes, storage and argument checks, both modes on
//! hand-built rule sets (IPv4 and IPv6 keys, overlapping priorities, stale priority bounds,
//! ranking by hits), every backend giving the same answers, and proptest sequences of
//! insert / remove / lookup / batch lookup / rebalance checked against a linear scan over a
//! `Vec` of rules (small keys and few mask patterns, so that masked keys collide, subtables
//! come and go, and the `TooManySubtables` and `Full` paths are taken).

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core,
    reason = "test code: a panic is a failure, and keys are built from small indices"
)]

use std::collections::HashMap;

use offload_flow::{
    Auto, Backend, Bucket, Classifier, Entry, Error, FlowTable, Ipv4Tuple, Ipv6Tuple, Key,
    MaskedKey, Match, Mode, Rule, RuleData, RuleEntry, RuleId, Subtable,
};
use offload_testkit::{Rng, select_backends};
use proptest::prelude::*;

fn engines() -> Vec<(&'static str, Auto)> {
    select_backends(
        "offload-flow",
        Backend::ALL
            .into_iter()
            .map(|b| (b.name(), Auto::with_backend(b)))
            .collect(),
    )
}

/// Storage for `subs` masks and `cap` rules with `buckets` buckets and `filter` filter
/// words.
struct Storage<const N: usize> {
    subs: Vec<Subtable<N>>,
    filter: Vec<u64>,
    buckets: Vec<Bucket>,
    entries: Vec<RuleEntry<N, u32>>,
}

impl<const N: usize> Storage<N> {
    fn new(subs: usize, cap: usize, buckets: usize, filter: usize) -> Self {
        Self {
            subs: vec![Subtable::EMPTY; subs],
            filter: vec![0; filter],
            buckets: vec![Bucket::EMPTY; buckets],
            entries: vec![RuleEntry::default(); cap],
        }
    }

    /// The sizes the documentation recommends.
    fn sized(subs: usize, cap: usize) -> Self {
        Self::new(
            subs,
            cap,
            FlowTable::<Key<N>, u32>::buckets_for(cap),
            Classifier::<N>::filter_words_for(cap),
        )
    }

    fn classifier(&mut self, lookup: Auto, mode: Mode) -> Classifier<'_, N, u32> {
        Classifier::new(
            lookup,
            0x00C1_A551,
            mode,
            &mut self.subs,
            &mut self.filter,
            &mut self.buckets,
            &mut self.entries,
        )
        .unwrap()
    }
}

fn v4(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, proto: u8) -> Key<16> {
    Key(*Ipv4Tuple::new(src, dst, sp, dp, proto).as_bytes())
}

fn prefix(bits: u32) -> [u8; 4] {
    (if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    })
    .to_be_bytes()
}

/// The IPv4 mask of a source and destination prefix, ports or not, protocol or not.
fn v4_mask(src: u32, dst: u32, ports: bool, proto: bool) -> [u8; 16] {
    let p = if ports { 0xFFFF } else { 0 };
    *Ipv4Tuple::new(prefix(src), prefix(dst), p, p, if proto { 0xFF } else { 0 }).as_bytes()
}

fn masked<const N: usize>(k: &[u8; N], m: &[u8; N]) -> [u8; N] {
    core::array::from_fn(|i| k[i] & m[i])
}

// ---------------------------------------------------------------------------------------
// The model: a linear scan.
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ModelRule<const N: usize> {
    id: RuleId,
    key: [u8; N],
    mask: [u8; N],
    priority: u32,
    value: u32,
}

impl<const N: usize> ModelRule<N> {
    fn matches(&self, k: &[u8; N]) -> bool {
        masked(k, &self.mask) == self.key
    }

    fn as_match(&self) -> Match<u32> {
        Match {
            rule: self.id,
            priority: self.priority,
            value: self.value,
        }
    }
}

#[derive(Default)]
struct Model<const N: usize> {
    rules: Vec<ModelRule<N>>,
    /// Hits per mask since the last rebalance (masks with rules only).
    hits: HashMap<[u8; N], u64>,
}

impl<const N: usize> Model<N> {
    fn masks(&self) -> Vec<[u8; N]> {
        let mut m: Vec<[u8; N]> = self.rules.iter().map(|r| r.mask).collect();
        m.sort_unstable();
        m.dedup();
        m
    }

    fn count(&self, mask: &[u8; N]) -> usize {
        self.rules.iter().filter(|r| r.mask == *mask).count()
    }

    fn max_priority(&self, mask: &[u8; N]) -> Option<u32> {
        self.rules
            .iter()
            .filter(|r| r.mask == *mask)
            .map(|r| r.priority)
            .max()
    }

    /// The rule a lookup of `k` must find: highest priority then lowest id (Priority), or
    /// the rule of the first mask in `order` that matches (FirstMatch).
    fn expect(&self, mode: Mode, order: &[[u8; N]], k: &[u8; N]) -> Option<ModelRule<N>> {
        match mode {
            Mode::Priority => self
                .rules
                .iter()
                .filter(|r| r.matches(k))
                .max_by(|a, b| a.priority.cmp(&b.priority).then(b.id.cmp(&a.id)))
                .copied(),
            Mode::FirstMatch => order.iter().find_map(|m| {
                let mut hits = self.rules.iter().filter(|r| r.mask == *m && r.matches(k));
                let first = hits.next().copied();
                assert!(hits.next().is_none(), "two rules of one mask match");
                first
            }),
        }
    }

    fn remove_at(&mut self, i: usize) -> ModelRule<N> {
        let r = self.rules.swap_remove(i);
        if self.count(&r.mask) == 0 {
            self.hits.remove(&r.mask);
        }
        r
    }
}

fn order<const N: usize>(c: &Classifier<'_, N, u32>) -> Vec<[u8; N]> {
    c.subtables().map(|s| *s.mask()).collect()
}

/// Every observable part of the classifier agrees with the model. `rebalanced` holds the
/// hits per mask the last [`Classifier::rebalance`] ranked by, when it was the last change.
fn check<const N: usize>(
    c: &Classifier<'_, N, u32>,
    model: &Model<N>,
    rebalanced: Option<&HashMap<[u8; N], u64>>,
) {
    assert_eq!(c.len(), model.rules.len());
    assert_eq!(c.is_empty(), model.rules.is_empty());
    let mut masks = order(c);
    masks.sort_unstable();
    assert_eq!(masks, model.masks(), "one subtable per mask in use");
    let subs: Vec<&Subtable<N>> = c.subtables().collect();
    for s in &subs {
        let m = s.mask();
        assert_eq!(s.rules() as usize, model.count(m), "rules of {m:02x?}");
        assert_eq!(
            s.hits(),
            model.hits.get(m).copied().unwrap_or(0),
            "hits of {m:02x?}"
        );
        let max = model.max_priority(m).unwrap();
        if rebalanced.is_some() {
            assert_eq!(s.max_priority(), max, "exact after rebalance");
        } else {
            assert!(s.max_priority() >= max, "an upper bound");
        }
        let words = m.chunks(8).filter(|w| w.iter().any(|&b| b != 0));
        assert_eq!(s.key_bytes(), words.map(<[u8]>::len).sum::<usize>());
    }
    let mut ids: Vec<u16> = subs.iter().map(|s| s.id()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), subs.len(), "distinct ids");
    assert!(ids.iter().all(|&id| usize::from(id) < c.max_subtables()));
    if c.mode() == Mode::Priority {
        for w in subs.windows(2) {
            assert!(w[0].max_priority() >= w[1].max_priority(), "priority order");
        }
    }
    if let Some(hits) = rebalanced {
        // Sorted by the rank key: ties by id.
        for w in subs.windows(2) {
            let key = |s: &Subtable<N>| {
                let h = u64::MAX - hits.get(s.mask()).copied().unwrap_or(0);
                match c.mode() {
                    Mode::FirstMatch => (0, h, s.id()),
                    Mode::Priority => (u32::MAX - s.max_priority(), h, s.id()),
                }
            };
            assert!(key(w[0]) < key(w[1]), "rank order after rebalance");
        }
    }
    // Rules by id and all together.
    let mut want: Vec<(RuleId, Rule<N, u32>)> = model
        .rules
        .iter()
        .map(|r| (r.id, Rule::new(Key(r.key), r.mask, r.priority, r.value)))
        .collect();
    want.sort_unstable_by_key(|(id, _)| *id);
    let got: Vec<(RuleId, Rule<N, u32>)> = c.rules().collect();
    assert_eq!(got, want);
    for (id, rule) in &want {
        assert_eq!(c.rule(*id), Some(*rule));
    }
}

// ---------------------------------------------------------------------------------------
// Operation sequences.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Insert {
        key: u8,
        mask: u8,
        priority: u8,
        value: u32,
    },
    Remove {
        key: u8,
        mask: u8,
    },
    /// Remove the rule at this index of the model (modulo), or a free id.
    RemoveId(u8),
    Lookup(u8),
    Batch(Vec<u8>),
    BatchUncounted(Vec<u8>),
    BatchShortOutput(u8),
    Rebalance,
    RebuildFilter,
    Clear,
}

const KEYS: u8 = 24;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..KEYS, any::<u8>(), 0u8..4, any::<u32>())
            .prop_map(|(key, mask, priority, value)| Op::Insert { key, mask, priority, value }),
        2 => (0..KEYS, any::<u8>()).prop_map(|(key, mask)| Op::Remove { key, mask }),
        1 => any::<u8>().prop_map(Op::RemoveId),
        3 => (0..KEYS).prop_map(Op::Lookup),
        3 => proptest::collection::vec(0..KEYS, 0..=66).prop_map(Op::Batch),
        1 => proptest::collection::vec(0..KEYS, 0..=8).prop_map(Op::BatchUncounted),
        1 => (1u8..8).prop_map(Op::BatchShortOutput),
        1 => Just(Op::Rebalance),
        1 => Just(Op::RebuildFilter),
        1 => Just(Op::Clear),
    ]
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Key number `i`: bytes from a four-letter alphabet, so masked keys collide often.
fn key_bytes<const N: usize>(i: u8, salt: u64) -> [u8; N] {
    const ALPHABET: [u8; 4] = [0x00, 0xFF, 0x0F, 0xA5];
    let x = splitmix(u64::from(i) ^ salt.rotate_left(17));
    core::array::from_fn(|b| ALPHABET[(x >> (2 * (b % 32))) as usize & 3])
}

/// Mask number `seed`: whole 8-byte words left out at random (so sparse word maps occur),
/// the others bytes of 0x00, 0xFF or 0xF0; the all-zero mask (match anything) can occur.
fn mask_bytes<const N: usize>(seed: u16) -> [u8; N] {
    const ALPHABET: [u8; 4] = [0x00, 0xFF, 0xF0, 0xFF];
    let x = splitmix(u64::from(seed) ^ 0xA5A5);
    let words = splitmix(x) as u32;
    core::array::from_fn(|b| {
        if words >> (b / 8) & 1 == 0 {
            0
        } else {
            ALPHABET[(x >> (2 * (b % 32))) as usize & 3]
        }
    })
}

/// The setup of one model run.
#[derive(Debug, Clone)]
struct Setup {
    mode: Mode,
    /// Descriptors.
    subs: usize,
    cap: usize,
    buckets: usize,
    /// Filter words (0: no filter; 1: nearly every probe gets through).
    filter: usize,
    /// The mask patterns the run draws from.
    masks: Vec<u16>,
    /// FirstMatch without overlaps: every mask matches byte 0 and a rule's byte 0 is its
    /// mask's index, so rules of different masks are disjoint.
    disjoint: bool,
    salt: u64,
}

/// Runs `ops` on a classifier and the model side by side; returns the trace of every
/// answer (for comparing backends).
fn run<const N: usize>(lookup: Auto, setup: &Setup, ops: &[Op]) -> Vec<String> {
    let mut st = Storage::<N>::new(setup.subs, setup.cap, setup.buckets, setup.filter);
    let mut c = st.classifier(lookup, setup.mode);
    let mut model = Model::<N>::default();
    let mut trace = Vec::new();
    let masks: Vec<[u8; N]> = setup
        .masks
        .iter()
        .map(|&m| {
            let mut m = mask_bytes::<N>(m);
            if setup.disjoint {
                m[0] = 0xFF;
            }
            m
        })
        .collect();
    let key = |i: u8, mask_index: Option<usize>| {
        let mut k = key_bytes::<N>(i, setup.salt);
        if setup.disjoint {
            // Rules carry their mask's index; packets one of the indices.
            k[0] = mask_index.unwrap_or(usize::from(i) % masks.len()) as u8;
        }
        k
    };
    for op in ops {
        match op {
            &Op::Insert {
                key: ki,
                mask,
                priority,
                value,
            } => {
                let mi = usize::from(mask) % masks.len();
                let m = masks[mi];
                let k = key(ki, Some(mi));
                let priority = u32::from(priority);
                let r = c.insert(Rule::new(Key(k), m, priority, value));
                trace.push(format!("{r:?}"));
                let existing = model
                    .rules
                    .iter()
                    .find(|x| x.mask == m && x.key == masked(&k, &m));
                let new_mask = model.count(&m) == 0;
                match (r, existing) {
                    (Err(Error::Exists { id }), Some(x)) => assert_eq!(RuleId(id), x.id),
                    (Err(Error::TooManySubtables { max }), None) => {
                        assert!(new_mask);
                        assert_eq!(max, setup.subs);
                        assert_eq!(model.masks().len(), setup.subs);
                    }
                    (Err(Error::Full { capacity }), None) => {
                        assert_eq!(capacity, setup.cap);
                        assert!(!new_mask || model.masks().len() < setup.subs);
                    }
                    (Ok(id), None) => {
                        assert!(!new_mask || model.masks().len() < setup.subs);
                        assert!((id.get() as usize) < setup.cap);
                        assert!(model.rules.iter().all(|x| x.id != id), "{id:?} reused");
                        model.rules.push(ModelRule {
                            id,
                            key: masked(&k, &m),
                            mask: m,
                            priority,
                            value,
                        });
                    }
                    (r, e) => panic!("insert: {r:?} with model {e:?}"),
                }
                if model.rules.len() == setup.cap && !model.rules.is_empty() {
                    // Nothing more fits (the mask of an existing rule, a fresh key).
                    let r = model.rules[0];
                    let mut k = r.key;
                    let fresh = (0..=255u8).find_map(|b| {
                        k[N - 1] = b;
                        let mk = masked(&k, &r.mask);
                        model
                            .rules
                            .iter()
                            .all(|x| x.mask != r.mask || x.key != mk)
                            .then_some(k)
                    });
                    if let Some(k) = fresh {
                        let got = c.insert(Rule::new(Key(k), r.mask, 0, 0));
                        assert_eq!(
                            got,
                            Err(Error::Full {
                                capacity: setup.cap
                            })
                        );
                    }
                }
            }
            &Op::Remove { key: ki, mask } => {
                let mi = usize::from(mask) % masks.len();
                let m = masks[mi];
                let k = key(ki, Some(mi));
                let r = c.remove(&Key(k), &m);
                trace.push(format!("{r:?}"));
                let at = model
                    .rules
                    .iter()
                    .position(|x| x.mask == m && x.key == masked(&k, &m));
                match at {
                    Some(i) => assert_eq!(r, Ok(model.remove_at(i).as_match())),
                    None => assert_eq!(r, Err(Error::NotFound)),
                }
            }
            &Op::RemoveId(i) => {
                if model.rules.is_empty() || i % 4 == 0 {
                    // An id no rule has.
                    let free = (0..=setup.cap as u32 + 1)
                        .map(RuleId)
                        .find(|id| model.rules.iter().all(|x| x.id != *id))
                        .unwrap();
                    assert_eq!(c.remove_id(free), Err(Error::NotFound));
                    assert_eq!(c.rule(free), None);
                    trace.push("none".into());
                } else {
                    let at = usize::from(i) % model.rules.len();
                    let want = model.remove_at(at);
                    let r = c.remove_id(want.id);
                    trace.push(format!("{r:?}"));
                    assert_eq!(
                        r,
                        Ok(Rule::new(
                            Key(want.key),
                            want.mask,
                            want.priority,
                            want.value
                        ))
                    );
                }
            }
            &Op::Lookup(ki) => {
                let k = key(ki, None);
                let got = c.lookup(&Key(k));
                trace.push(format!("{got:?}"));
                let want = model.expect(setup.mode, &order(&c), &k);
                assert_eq!(got, want.map(|r| r.as_match()), "lookup {k:02x?}");
            }
            Op::Batch(idx) | Op::BatchUncounted(idx) => {
                let keys: Vec<Key<N>> = idx.iter().map(|&i| Key(key(i, None))).collect();
                // A sentinel past the keys must survive.
                let sentinel = Some(Match {
                    rule: RuleId(u32::MAX),
                    priority: 7,
                    value: 7,
                });
                let mut out = vec![sentinel; keys.len() + 1];
                let counted = matches!(op, Op::Batch(_));
                let before = order(&c);
                let r = if counted {
                    c.lookup_batch(&keys, &mut out)
                } else {
                    c.lookup_batch_uncounted(&keys, &mut out)
                };
                trace.push(format!("{r:?} {out:?}"));
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
                    let want = model.expect(setup.mode, &before, &k.0);
                    assert_eq!(out[i], want.map(|r| r.as_match()), "batch key {i}");
                    assert_eq!(out[i], c.lookup(k), "batch and single agree");
                    if let Some(w) = want {
                        want_mask |= 1 << i;
                        if counted {
                            *model.hits.entry(w.mask).or_default() += 1;
                        }
                    }
                }
                assert_eq!(r, Ok(want_mask));
                assert_eq!(out[keys.len()], sentinel, "nothing written past the keys");
            }
            &Op::BatchShortOutput(n) => {
                let keys = vec![Key(key(0, None)); usize::from(n)];
                let mut out = vec![None; usize::from(n) - 1];
                assert_eq!(
                    c.lookup_batch(&keys, &mut out),
                    Err(Error::OutputTooSmall {
                        needed: usize::from(n),
                        available: usize::from(n) - 1
                    })
                );
                trace.push("short".into());
            }
            Op::Rebalance => {
                c.rebalance();
                let hits = core::mem::take(&mut model.hits);
                check(&c, &model, Some(&hits));
                trace.push(format!("{:?}", order(&c)));
                continue;
            }
            Op::RebuildFilter => {
                c.rebuild_filter();
                trace.push("rebuilt".into());
            }
            Op::Clear => {
                c.clear();
                model = Model::default();
                trace.push("clear".into());
            }
        }
        check(&c, &model, None);
    }
    // Every key against the model once more, after a final rebalance.
    c.rebalance();
    let hits = core::mem::take(&mut model.hits);
    check(&c, &model, Some(&hits));
    for i in 0..KEYS {
        let k = key(i, None);
        let want = model.expect(setup.mode, &order(&c), &k);
        assert_eq!(c.lookup(&Key(k)), want.map(|r| r.as_match()));
    }
    trace
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: if cfg!(miri) { 2 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn ops_len() -> core::ops::Range<usize> {
    if cfg!(miri) { 1..30 } else { 1..200 }
}

fn setup(mode: Mode, disjoint: bool) -> impl Strategy<Value = Setup> {
    (
        1usize..7,
        1usize..40,
        0u32..4,
        prop_oneof![Just(0usize), Just(1), Just(2), Just(64)],
        proptest::collection::vec(any::<u16>(), 1..8),
        any::<u64>(),
    )
        .prop_map(move |(subs, cap, nb, filter, masks, salt)| Setup {
            mode,
            subs,
            cap,
            buckets: 1 << nb,
            filter,
            masks,
            disjoint,
            salt,
        })
}

/// Runs on every backend; all give the same trace.
fn run_all<const N: usize>(setup: &Setup, ops: &[Op]) {
    let mut first: Option<(&str, Vec<String>)> = None;
    for (name, lookup) in engines() {
        let trace = run::<N>(lookup, setup, ops);
        match &first {
            None => first = Some((name, trace)),
            Some((n0, t0)) => assert_eq!(&trace, t0, "{name} differs from {n0}"),
        }
    }
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op(), ops_len())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn priority_mode_matches_linear_scan(s in setup(Mode::Priority, false), ops in ops()) {
        run_all::<8>(&s, &ops);
    }

    #[test]
    fn priority_mode_matches_linear_scan_sparse_words(
        s in setup(Mode::Priority, false),
        ops in ops(),
    ) {
        run_all::<20>(&s, &ops);
    }

    #[test]
    fn first_match_disjoint_matches_linear_scan(s in setup(Mode::FirstMatch, true), ops in ops()) {
        run_all::<8>(&s, &ops);
        run_all::<20>(&s, &ops);
    }

    #[test]
    fn first_match_overlapping_follows_rank_order(
        s in setup(Mode::FirstMatch, false),
        ops in ops(),
    ) {
        run_all::<8>(&s, &ops);
        run_all::<20>(&s, &ops);
    }
}

// ---------------------------------------------------------------------------------------
// Hand-built cases.
// ---------------------------------------------------------------------------------------

#[test]
fn storage_sizes_are_as_documented() {
    assert_eq!(size_of::<Subtable<16>>(), 72);
    assert_eq!(size_of::<Subtable<40>>(), 96);
    assert_eq!(size_of::<RuleEntry<16, u32>>(), 40);
    assert_eq!(size_of::<RuleEntry<40, u32>>(), 64);
    assert_eq!(size_of::<Bucket>(), 64);
    // A const way to build entry storage.
    const VACANT: RuleEntry<16, u32> = Entry::vacant(MaskedKey::ZERO, RuleData::vacant(0));
    let mut entries = [VACANT; 4];
    let mut subs = [Subtable::<16>::EMPTY; 2];
    let mut buckets = [Bucket::EMPTY; 1];
    let mut c = Classifier::new(
        Auto::detect(),
        1,
        Mode::FirstMatch,
        &mut subs,
        &mut [],
        &mut buckets,
        &mut entries,
    )
    .unwrap();
    let id = c.insert(Rule::new(Key([1; 16]), [0xFF; 16], 0, 5)).unwrap();
    assert_eq!(c.lookup(&Key([1; 16])).map(|m| m.rule), Some(id));
    assert_eq!(c.capacity(), 4);
    assert_eq!(c.max_subtables(), 2);
    // 8 bits per rule at least, a power of two of words.
    assert_eq!(Classifier::<16>::filter_words_for(0), 1);
    assert_eq!(Classifier::<16>::filter_words_for(8), 1);
    assert_eq!(Classifier::<16>::filter_words_for(9), 2);
    assert_eq!(Classifier::<16>::filter_words_for(20_000), 4096);
    assert!(format!("{c:?}").contains("Classifier"));
}

#[test]
fn new_rejects_unusable_storage() {
    let mut entries = vec![RuleEntry::<8, u32>::default(); 4];
    let mut subs = vec![Subtable::<8>::EMPTY; 2];
    let mut filter = vec![0u64; 4];
    // Buckets not a power of two.
    let mut buckets = vec![Bucket::EMPTY; 3];
    let r = Classifier::new(
        Auto::detect(),
        0,
        Mode::Priority,
        &mut subs,
        &mut filter,
        &mut buckets,
        &mut entries,
    );
    assert!(matches!(r, Err(Error::Storage { .. })));
    // Filter words not a power of two.
    let mut buckets = vec![Bucket::EMPTY; 4];
    let mut odd = vec![0u64; 3];
    let r = Classifier::new(
        Auto::detect(),
        0,
        Mode::Priority,
        &mut subs,
        &mut odd,
        &mut buckets,
        &mut entries,
    );
    assert!(matches!(r, Err(Error::Storage { .. })));
    if !cfg!(miri) {
        // More descriptors than 16-bit ids can name (slow to build under Miri).
        let mut subs = vec![Subtable::<8>::EMPTY; (1 << 16) + 1];
        let r = Classifier::new(
            Auto::detect(),
            0,
            Mode::Priority,
            &mut subs,
            &mut filter,
            &mut buckets,
            &mut entries,
        );
        assert!(matches!(r, Err(Error::Storage { .. })));
    }
    // Keys longer than 512 bytes.
    let mut big_subs = vec![Subtable::<520>::EMPTY; 1];
    let mut big_entries = vec![RuleEntry::<520, u32>::default(); 1];
    let r = Classifier::new(
        Auto::detect(),
        0,
        Mode::Priority,
        &mut big_subs,
        &mut filter,
        &mut buckets,
        &mut big_entries,
    );
    assert!(matches!(r, Err(Error::Storage { .. })));
}

#[test]
fn batch_arguments_are_checked() {
    let mut st = Storage::<16>::sized(2, 8);
    let mut c = st.classifier(Auto::detect(), Mode::FirstMatch);
    let keys = vec![Key([0; 16]); 65];
    let mut out = vec![None; 65];
    assert_eq!(
        c.lookup_batch(&keys, &mut out),
        Err(Error::BatchTooLarge { len: 65, max: 64 })
    );
    assert_eq!(
        c.lookup_batch_uncounted(&keys[..3], &mut out[..2]),
        Err(Error::OutputTooSmall {
            needed: 3,
            available: 2
        })
    );
    assert_eq!(c.lookup_batch(&[], &mut []), Ok(0));
    assert_eq!(Classifier::<16>::BATCH_MAX, 64);
}

#[test]
fn priority_mode_picks_highest_priority_then_lowest_id() {
    for (name, lookup) in engines() {
        let mut st = Storage::<16>::sized(8, 64);
        let mut c = st.classifier(lookup, Mode::Priority);
        let any = v4_mask(0, 0, false, false);
        let slash8 = v4_mask(8, 0, false, false);
        let slash16_https = v4_mask(16, 0, true, true);
        let host = v4_mask(32, 32, true, true);
        let default = c.insert(Rule::new(Key([0; 16]), any, 1, 100)).unwrap();
        let net = c
            .insert(Rule::new(
                v4([10, 0, 0, 0], [0; 4], 0, 0, 0),
                slash8,
                10,
                101,
            ))
            .unwrap();
        let https = c
            .insert(Rule::new(
                v4([10, 1, 0, 0], [0; 4], 443, 443, 6),
                slash16_https,
                20,
                102,
            ))
            .unwrap();
        let pkt = v4([10, 1, 2, 3], [192, 168, 1, 1], 443, 443, 6);
        assert_eq!(c.lookup(&pkt).map(|m| m.rule), Some(https), "{name}");
        // A host rule of equal priority inserted later has a higher id: the older wins.
        let tie = c.insert(Rule::new(pkt, host, 20, 103)).unwrap();
        assert!(tie > https);
        assert_eq!(c.lookup(&pkt).map(|m| m.rule), Some(https), "{name}");
        // Removing the winner lets the tie through, then the /8, then the default.
        c.remove(&pkt, &slash16_https).unwrap();
        assert_eq!(c.lookup(&pkt).map(|m| m.rule), Some(tie), "{name}");
        c.remove_id(tie).unwrap();
        assert_eq!(c.lookup(&pkt).map(|m| m.rule), Some(net), "{name}");
        c.remove(&pkt, &slash8).unwrap();
        assert_eq!(c.lookup(&pkt).map(|m| m.rule), Some(default), "{name}");
        // Every key matches the all-zero mask.
        assert_eq!(
            c.lookup(&Key([0xEE; 16])).map(|m| m.value),
            Some(100),
            "{name}"
        );
        assert_eq!(c.subtables().count(), 1);
    }
}

#[test]
fn stale_priority_bound_is_safe_and_recomputed_by_rebalance() {
    let mut st = Storage::<8>::sized(4, 16);
    let mut c = st.classifier(Auto::detect(), Mode::Priority);
    let a = [0xFF, 0, 0, 0, 0, 0, 0, 0];
    let b = [0, 0xFF, 0, 0, 0, 0, 0, 0];
    let hi = c
        .insert(Rule::new(Key([1, 0, 0, 0, 0, 0, 0, 0]), a, 10, 1))
        .unwrap();
    c.insert(Rule::new(Key([2, 0, 0, 0, 0, 0, 0, 0]), a, 5, 2))
        .unwrap();
    c.insert(Rule::new(Key([0, 3, 0, 0, 0, 0, 0, 0]), b, 7, 3))
        .unwrap();
    let masks = |c: &Classifier<'_, 8, u32>| -> Vec<([u8; 8], u32)> {
        c.subtables()
            .map(|s| (*s.mask(), s.max_priority()))
            .collect()
    };
    assert_eq!(masks(&c), [(a, 10), (b, 7)]);
    c.remove_id(hi).unwrap();
    // The bound stays (an upper bound); answers are still right.
    assert_eq!(masks(&c), [(a, 10), (b, 7)]);
    let pkt = Key([2, 3, 0, 0, 0, 0, 0, 0]);
    assert_eq!(c.lookup(&pkt).map(|m| m.value), Some(3));
    let mut out = [None; 1];
    c.lookup_batch(&[pkt], &mut out).unwrap();
    assert_eq!(out[0].map(|m| m.value), Some(3));
    c.rebalance();
    assert_eq!(masks(&c), [(b, 7), (a, 5)]);
    assert_eq!(c.lookup(&pkt).map(|m| m.value), Some(3));
    // A rule at the old bound makes it exact again without a rebalance.
    c.insert(Rule::new(Key([9, 0, 0, 0, 0, 0, 0, 0]), a, 9, 4))
        .unwrap();
    assert_eq!(masks(&c), [(a, 9), (b, 7)]);
}

#[test]
fn rebalance_ranks_first_match_subtables_by_hits() {
    let mut st = Storage::<16>::sized(8, 64);
    let mut c = st.classifier(Auto::detect(), Mode::FirstMatch);
    let masks = [
        v4_mask(8, 0, false, true),
        v4_mask(16, 0, false, true),
        v4_mask(24, 0, false, true),
    ];
    // Disjoint: the protocol differs per mask (17, 18, 19).
    for (i, m) in masks.iter().enumerate() {
        for j in 0..4u8 {
            let k = v4([j, j, j, 0], [0; 4], 0, 0, 17 + i as u8);
            c.insert(Rule::new(k, *m, 0, u32::from(j))).unwrap();
        }
    }
    assert_eq!(order(&c), masks);
    let hot = v4([1, 1, 1, 9], [1, 2, 3, 4], 5, 6, 19);
    let warm = v4([3, 3, 9, 9], [1, 2, 3, 4], 5, 6, 18);
    let keys = [hot, hot, hot, warm, warm, v4([7; 4], [0; 4], 0, 0, 99)];
    let mut out = [None; 6];
    assert_eq!(c.lookup_batch(&keys, &mut out).unwrap(), 0b01_1111);
    let hits: Vec<u64> = c.subtables().map(Subtable::hits).collect();
    assert_eq!(hits, [0, 2, 3]);
    // The shared-reference batch counts nothing.
    c.lookup_batch_uncounted(&keys, &mut out).unwrap();
    assert_eq!(c.subtables().map(Subtable::hits).sum::<u64>(), 5);
    c.rebalance();
    assert_eq!(order(&c), [masks[2], masks[1], masks[0]]);
    assert!(c.subtables().all(|s| s.hits() == 0));
    // Same answers in the new order.
    let mut again = [None; 6];
    c.lookup_batch(&keys, &mut again).unwrap();
    assert_eq!(again, out);
    // Removing every rule of a mask frees its descriptor; the mask can come back.
    for j in 0..4u8 {
        c.remove(&v4([j, j, j, 0], [0; 4], 0, 0, 18), &masks[1])
            .unwrap();
    }
    assert_eq!(order(&c), [masks[2], masks[0]]);
    c.insert(Rule::new(warm, masks[1], 0, 42)).unwrap();
    assert_eq!(order(&c), [masks[2], masks[0], masks[1]]);
    assert_eq!(c.lookup(&warm).map(|m| m.value), Some(42));
}

#[test]
fn first_match_with_overlaps_returns_first_subtable_in_rank_order() {
    let mut st = Storage::<16>::sized(4, 16);
    let mut c = st.classifier(Auto::detect(), Mode::FirstMatch);
    let wide = v4_mask(8, 0, false, false);
    let narrow = v4_mask(16, 0, false, false);
    c.insert(Rule::new(v4([10, 0, 0, 0], [0; 4], 0, 0, 0), wide, 0, 1))
        .unwrap();
    c.insert(Rule::new(v4([10, 1, 0, 0], [0; 4], 0, 0, 0), narrow, 9, 2))
        .unwrap();
    let pkt = v4([10, 1, 2, 3], [4, 5, 6, 7], 8, 9, 6);
    assert_eq!(
        c.lookup(&pkt).map(|m| m.value),
        Some(1),
        "first in rank order"
    );
    let mut out = [None; 2];
    c.lookup_batch(&[pkt, pkt], &mut out).unwrap();
    c.lookup_batch(&[v4([10, 1, 0, 0], [0; 4], 0, 0, 0)], &mut out[..1])
        .unwrap();
    // Every hit went to the wide rule (it is first and matches all these packets), so
    // the order stays.
    c.rebalance();
    assert_eq!(order(&c), [wide, narrow]);
    assert_eq!(c.remove(&pkt, &wide).unwrap().value, 1);
    assert_eq!(c.lookup(&pkt).map(|m| m.value), Some(2));
}

#[test]
fn errors_leave_the_classifier_unchanged() {
    let mut st = Storage::<8>::new(2, 3, 1, 1);
    let mut c = st.classifier(Auto::detect(), Mode::Priority);
    let m1 = [0xFF, 0, 0, 0, 0, 0, 0, 0];
    let m2 = [0, 0xFF, 0, 0, 0, 0, 0, 0];
    let m3 = [0, 0, 0xFF, 0, 0, 0, 0, 0];
    let k = |b: u8| Key([b; 8]);
    let id = c.insert(Rule::new(k(1), m1, 3, 1)).unwrap();
    assert_eq!(
        c.insert(Rule::new(k(1), m1, 9, 9)),
        Err(Error::Exists { id: id.get() }),
        "same mask and masked key, whatever the priority"
    );
    c.insert(Rule::new(k(2), m2, 3, 2)).unwrap();
    assert_eq!(
        c.insert(Rule::new(k(3), m3, 3, 3)),
        Err(Error::TooManySubtables { max: 2 })
    );
    c.insert(Rule::new(k(3), m2, 3, 3)).unwrap();
    assert_eq!(
        c.insert(Rule::new(k(4), m1, 3, 4)),
        Err(Error::Full { capacity: 3 })
    );
    assert_eq!(c.len(), 3);
    assert_eq!(c.subtables().count(), 2);
    assert_eq!(c.remove(&k(9), &m1), Err(Error::NotFound));
    assert_eq!(c.remove(&k(1), &m3), Err(Error::NotFound));
    assert_eq!(c.remove_id(RuleId(77)), Err(Error::NotFound));
    // A new mask whose rule does not fit leaves no empty subtable behind.
    c.remove(&k(1), &m1).unwrap();
    c.insert(Rule::new(k(5), m2, 3, 5)).unwrap();
    assert_eq!(c.subtables().count(), 1);
    assert_eq!(
        c.insert(Rule::new(k(6), m3, 3, 6)),
        Err(Error::Full { capacity: 3 })
    );
    assert_eq!(c.subtables().count(), 1);
    c.clear();
    assert!(c.is_empty());
    assert_eq!(c.subtables().count(), 0);
    assert_eq!(c.insert(Rule::new(k(1), m1, 3, 1)), Ok(RuleId(0)));
}

/// Rules on IPv4 5-tuples in many masks, looked up one by one and in batches of every
/// size up to 64 on every backend, against the linear scan.
#[test]
fn ipv4_batches_match_single_lookups_and_the_scan() {
    let (nmasks, per): (u32, usize) = if cfg!(miri) { (4, 4) } else { (20, 40) };
    let mut rng = Rng::new(0x1F4);
    let mut rules = Vec::new();
    let mut masks = Vec::new();
    for s in 0..nmasks {
        let m = v4_mask(16 + s % 17, 8 + s % 25, s % 3 != 1, s % 4 != 3);
        masks.push(m);
        for _ in 0..per {
            let mut k = [0u8; 16];
            rng.fill(&mut k);
            k[0] = s as u8; // disjoint across masks
            rules.push((masked(&k, &m), m));
        }
    }
    rules.sort_unstable();
    rules.dedup();
    let packets: Vec<Key<16>> = (0..if cfg!(miri) { 70 } else { 2000 })
        .map(|_| {
            let mut p = [0u8; 16];
            rng.fill(&mut p);
            if rng.below(8) != 0 {
                let (k, m) = rules[rng.below(rules.len())];
                for i in 0..16 {
                    p[i] = k[i] | (p[i] & !m[i]);
                }
            }
            Key(p)
        })
        .collect();
    // Filter words: as recommended, none, and one word (nearly every probe gets through:
    // the FirstMatch batch walk then goes on past its first candidate subtable most times).
    for (mode, filter) in [
        (Mode::FirstMatch, None),
        (Mode::Priority, None),
        (Mode::FirstMatch, Some(0)),
        (Mode::FirstMatch, Some(1)),
        (Mode::Priority, Some(1)),
    ] {
        for (name, lookup) in engines() {
            let mut st = Storage::<16>::sized(32, rules.len());
            if let Some(words) = filter {
                st.filter = vec![0; words];
            }
            let mut c = st.classifier(lookup, mode);
            let mut model = Model::<16>::default();
            for (i, (k, m)) in rules.iter().enumerate() {
                let priority = (i % 5) as u32;
                let id = c
                    .insert(Rule::new(Key(*k), *m, priority, i as u32))
                    .unwrap();
                model.rules.push(ModelRule {
                    id,
                    key: *k,
                    mask: *m,
                    priority,
                    value: i as u32,
                });
            }
            let ord = order(&c);
            let want: Vec<Option<Match<u32>>> = packets
                .iter()
                .map(|p| model.expect(mode, &ord, &p.0).map(|r| r.as_match()))
                .collect();
            for (p, w) in packets.iter().zip(&want) {
                assert_eq!(c.lookup(p), *w, "{name} {mode:?}");
            }
            let sizes: &[usize] = if cfg!(miri) {
                &[1, 7, 64]
            } else {
                &[1, 2, 7, 31, 32, 33, 63, 64]
            };
            for &bs in sizes {
                let mut out = vec![None; bs];
                for (chunk, w) in packets.chunks(bs).zip(want.chunks(bs)) {
                    let mask = c.lookup_batch(chunk, &mut out).unwrap();
                    assert_eq!(&out[..chunk.len()], w, "{name} {mode:?} batch {bs}");
                    let want_mask = w
                        .iter()
                        .enumerate()
                        .fold(0u64, |m, (i, x)| m | u64::from(x.is_some()) << i);
                    assert_eq!(mask, want_mask);
                }
            }
            let counted = hits_of(&c);
            check(
                &c,
                &Model {
                    rules: model.rules.clone(),
                    hits: counted.clone(),
                },
                None,
            );
            c.rebalance();
            check(
                &c,
                &Model {
                    rules: model.rules.clone(),
                    hits: HashMap::new(),
                },
                Some(&counted),
            );
        }
    }
}

/// The classifier's own hit counters, as a model map (for `check` when counts are not
/// modelled).
fn hits_of<const N: usize>(c: &Classifier<'_, N, u32>) -> HashMap<[u8; N], u64> {
    c.subtables()
        .filter(|s| s.hits() != 0)
        .map(|s| (*s.mask(), s.hits()))
        .collect()
}

/// IPv6 prefixes touch few of the five key words: packing must keep them apart.
#[test]
fn ipv6_prefix_rules() {
    let addr = |a: u16, b: u16| {
        let mut x = [0u8; 16];
        x[..2].copy_from_slice(&a.to_be_bytes());
        x[14..].copy_from_slice(&b.to_be_bytes());
        x
    };
    let key = |src, dst, dp: u16| Key(*Ipv6Tuple::new(src, dst, 1000, dp, 6).as_bytes());
    let mask = |src64: bool, dst64: bool, port: bool| {
        let half = |on| {
            let mut x = [0u8; 16];
            if on {
                x[..8].fill(0xFF);
            }
            x
        };
        *Ipv6Tuple::new(
            half(src64),
            half(dst64),
            0,
            if port { 0xFFFF } else { 0 },
            0,
        )
        .as_bytes()
    };
    for (name, lookup) in engines() {
        let mut st = Storage::<40>::sized(8, 32);
        let mut c = st.classifier(lookup, Mode::Priority);
        let src = mask(true, false, false);
        let dst_port = mask(false, true, true);
        let both = mask(true, true, false);
        c.insert(Rule::new(key(addr(0x2001, 0), [0; 16], 0), src, 1, 1))
            .unwrap();
        c.insert(Rule::new(
            key([0; 16], addr(0x2002, 0), 443),
            dst_port,
            2,
            2,
        ))
        .unwrap();
        c.insert(Rule::new(
            key(addr(0x2001, 0), addr(0x2002, 0), 0),
            both,
            3,
            3,
        ))
        .unwrap();
        let bytes: Vec<usize> = c.subtables().map(Subtable::key_bytes).collect();
        assert_eq!(bytes, [16, 16, 8], "{name}: only the words in the mask");
        let v = |c: &Classifier<'_, 40, u32>, k| c.lookup(&k).map(|m| m.value);
        assert_eq!(v(&c, key(addr(0x2001, 5), addr(0x2002, 6), 443)), Some(3));
        assert_eq!(v(&c, key(addr(0x2001, 5), addr(0x2003, 6), 443)), Some(1));
        assert_eq!(v(&c, key(addr(0x2000, 5), addr(0x2002, 6), 443)), Some(2));
        assert_eq!(v(&c, key(addr(0x2000, 5), addr(0x2002, 6), 80)), None);
        let rules: Vec<u32> = c.rules().map(|(_, r)| r.value).collect();
        assert_eq!(rules, [1, 2, 3]);
        let r = c.rules().nth(1).unwrap().1;
        assert_eq!(
            r.key,
            Key(*Ipv6Tuple::new([0; 16], addr(0x2002, 0), 0, 443, 0).as_bytes())
        );
        assert_eq!(r.mask, dst_port);
    }
}

/// Rule keys are stored masked: bits outside the mask neither matter nor come back.
#[test]
fn keys_are_stored_masked() {
    let mut st = Storage::<13>::sized(2, 4);
    let mut c = st.classifier(Auto::detect(), Mode::FirstMatch);
    let mut mask = [0u8; 13];
    mask[12] = 0xF0; // only the partial last word: a sparse word map
    mask[9] = 0xFF;
    let id = c.insert(Rule::new(Key([0xAB; 13]), mask, 0, 1)).unwrap();
    assert_eq!(c.subtables().next().map(Subtable::key_bytes), Some(5));
    let mut want = [0u8; 13];
    want[9] = 0xAB;
    want[12] = 0xA0;
    assert_eq!(c.rule(id).unwrap().key, Key(want));
    let mut other = [0x11u8; 13];
    other[9] = 0xAB;
    other[12] = 0xA7;
    assert_eq!(c.lookup(&Key(other)).map(|m| m.rule), Some(id));
    assert_eq!(
        c.insert(Rule::new(Key(other), mask, 5, 2)),
        Err(Error::Exists { id: id.get() })
    );
    assert_eq!(c.remove(&Key(other), &mask).map(|m| m.rule), Ok(id));
}

/// Removed rules leave their filter bits until a rebuild; answers are right throughout,
/// with a filter of any size or none.
#[test]
fn filter_rebuild_after_removals() {
    let (sizes, n): (&[usize], u32) = if cfg!(miri) {
        (&[0, 8], 40)
    } else {
        (&[0, 1, 8, 256], 200)
    };
    for &words in sizes {
        let mut st = Storage::<16>::new(4, 256, 64, words);
        let mut c = st.classifier(Auto::detect(), Mode::FirstMatch);
        let mask = v4_mask(24, 0, true, true);
        let key = |i: u32| v4([10, (i >> 8) as u8, i as u8, 0], [0; 4], 80, 80, 6);
        for i in 0..n {
            c.insert(Rule::new(key(i), mask, 0, i)).unwrap();
        }
        for i in (0..n).step_by(2) {
            c.remove(&key(i), &mask).unwrap();
        }
        let check = |c: &Classifier<'_, 16, u32>| {
            for i in 0..n {
                let want = (i % 2 == 1).then_some(i);
                assert_eq!(
                    c.lookup(&key(i)).map(|m| m.value),
                    want,
                    "{words} words, {i}"
                );
            }
        };
        check(&c);
        c.rebuild_filter();
        check(&c);
        for i in (0..n).step_by(2) {
            c.insert(Rule::new(key(i), mask, 0, i)).unwrap();
        }
        c.remove(&key(1), &mask).unwrap();
        c.rebalance(); // rebuilds: a rule was removed
        for i in 0..n {
            let want = (i != 1).then_some(i);
            assert_eq!(
                c.lookup(&key(i)).map(|m| m.value),
                want,
                "{words} words, {i}"
            );
        }
    }
}
