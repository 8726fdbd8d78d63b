//! The wildcard (megaflow) classifier: tuple space search over one shared exact-match table,
//! in caller storage.
//!
//! # Design
//!
//! A rule is a key, a mask (a set bit of the mask is a bit the rule matches on), a priority
//! and a value; a packet key `k` matches it when `k & mask == key & mask`. Rules with the
//! same mask form a *subtable* (a "tuple" in the sense of Srinivasan et al., SIGCOMM 1999):
//! in it, a packet matches at most one rule, found by an exact lookup of `k & mask`. A
//! lookup therefore probes subtable after subtable, as Open vSwitch's userspace megaflow
//! classifier (`dpcls`) does, with two differences:
//!
//! - **One shared table.** Every rule of every subtable lives in one [`FlowTable`] (the
//!   crate's bucketized cuckoo table), keyed by `(subtable id, masked key)`: the memory is
//!   pooled across masks, so no subtable needs sizing. The subtable id is part of the stored
//!   key (so equal masked keys of two subtables never match each other's rules) and seeds
//!   the hash (so they do not crowd the same buckets).
//! - **Only the mask's words.** A subtable remembers which 8-byte words of its mask are not
//!   zero (playing the role of OVS's miniflow map) and hashes, packs and compares only
//!   those: an IPv6 rule on a /64 source prefix hashes 8 bytes, not 40.
//!
//! # Hash, filter and probe
//!
//! The hash of a key in a subtable is computed inline in portable code (so it is the same
//! on every backend and for storage filled through any of them): the masked words, in
//! pairs `(a, b)`, go through `h = fold(a ^ h, b ^ salt)`, `fold` being a 64 x 64 to
//! 128-bit multiply with its halves XORed (one multiply per 16 key bytes, the step of
//! `foldhash`), from a start value and salt derived from the seed given to
//! [`Classifier::new`] and the subtable id. The table gets the 64-bit result folded to 32
//! bits. It is a fast hash, not a keyed PRF: like the table's CRC-32C it spreads rules
//! well, and a rule set built to collide costs [`Error::Full`] on insert, never slow
//! lookups.
//!
//! Most probes are misses (with `S` subtables and hits spread evenly, a first-match walk
//! probes about `S / 2` subtables that do not hold the packet's rule). A miss in the table
//! costs a random 64-byte bucket line; so the classifier keeps, in an optional caller
//! slice, a **blocked Bloom filter** of all rules (Putze, Sanders and Singler, 2007): the
//! 64-bit hash picks one `u64` word and two bits in it, set on insert. A probe whose two
//! bits are not both set is a miss without touching the table. The filter takes 8 to 16
//! bits per rule ([`Classifier::filter_words_for`]; 32 KiB for 20 000 rules) where the
//! buckets take about 70 to 140, so it stays in the L1 or L2 cache, and few misses get
//! through to the bucket: 2.4 % with 13 bits per rule, 0.7 % with 26 (measured, 20 000
//! IPv4 rules in 20 masks; about 5 % at 8 bits per rule by the usual estimate
//! `(1 - e^(-2/b))^2`). Removing a rule cannot clear its bits (other rules may share
//! them), so they stay until the filter is rebuilt by [`Classifier::rebalance`] (when
//! rules were removed since the last rebuild) or [`Classifier::rebuild_filter`]: stale
//! bits only let more misses through to the table, never hide a rule.
//!
//! Past the filter, a probe tests the tag of the hash against the 8 tags of its primary
//! bucket with plain code that the compiler turns into one vector compare (SSE2 `pcmpeqw`
//! and `pmovmskb` on x86_64); a bucket whose flows overflowed to their other bucket also
//! counts as a possible match. Only such candidates (about one per packet: its hit, plus
//! rare tag collisions) take the exact path: one [`Lookup::match_tags`] call over both
//! buckets, then the compare of the packed key with each matching entry.
//!
//! Why not the [`Lookup`] kernels for the hash: a backend's kernels are `#[target_feature]`
//! functions, which cannot be inlined into portable code (the single lookup's walk), so
//! each use is a call, and a probe is only a few dozen instructions. Measured on the 2-vCPU test machine (20
//! subtables of 50 IPv4 rules, batches of 64, best of 60 runs, noisy): hashing the packed
//! key with [`Lookup::crc32c`] gave 5.9 to 9.3 M lookups/s, the inline hash 12.2 to 12.6.
//!
//! A batch lookup ([`Classifier::lookup_batch`], up to 64 keys) walks key by key in
//! [`Mode::Priority`]: each key goes through the subtables in rank order until its walk
//! ends. In [`Mode::FirstMatch`] it runs in passes over the batch, compiled once per
//! backend through [`Lookup::specialize`] (so the tag compare and the prefetches are
//! inlined):
//!
//! 1. **Filter, subtable by subtable**: every key still without a candidate is hashed for
//!    the subtable (two subtables at a time for short dense masks) and tested against the
//!    filter, with no branch per key (the keys that pass come out as a bit mask); the
//!    first subtable that lets a key through is its candidate, and that bucket is
//!    prefetched. Nothing here touches the table.
//! 2. **Tags**: per key with a candidate, the tag compare in its bucket (the backend's
//!    kernel) and a prefetch of the entry of the first matching slot. A bucket with no
//!    slot of the key's tag and no overflow cannot hold the rule (the usual filter false
//!    positive): the key looks for its next candidate right there, key by key, and its
//!    new bucket is prefetched while pass 3 runs for the others.
//! 3. **Key**: the entry of pass 2 compared with the packed key (nearly always the rule);
//!    otherwise the full probe of that subtable. A key still without a rule (a filter
//!    false positive: with 20 subtables about one key in five meets one) looks for its
//!    next candidate from the following subtable on, key by key, and passes 2 and 3 run
//!    again for those keys.
//!
//! The filter only skips probes that would miss, so every key gets the rule and subtable of
//! the key-by-key walk (the tests compare the two on every backend, also with a one-word
//! filter, where nearly every probe is a false positive). The first attempt at walking
//! subtable by subtable (OVS `dpcls` style, with the whole probe, branches and bucket reads
//! inline) was slower than by key here: 20 subtables of 1 000 IPv4 rules, without the
//! filter, 10.2 to 10.8 M lookups/s against 11.6 by key. What pays is keeping the table
//! out of the filter loop, so the cache misses of a batch's buckets and entries overlap,
//! and the loop itself short. Measured on the AMD EPYC (Zen 3) 2-vCPU KVM guest, the
//! `flow/classifier_20x1000` set (20 masks x 1 000 rules, 32 KiB filter, batches of 64)
//! against its hashbrown tuple-space peer, interleaved, best of 50 runs each, as the peer's
//! time over ours: key by key 1.85 to 1.94; the filter pass by subtable 1.97 to 2.0; with
//! the key compare straight on pass 2's entry 2.28 to 2.34; with false positives going
//! round the passes again instead of finishing key by key 2.45 to 2.5; with two subtables
//! per filter pass over the keys (dense masks of at most 16 bytes: a key's words loaded
//! once for both) 2.6 to 2.7; with pass 2's tag compare through the backend's kernel
//! (`pcmpeqw`, `pmovmskb`; the fold over the eight tags compiled to a mix of vector and
//! scalar compares) and its false positives sent on to their next candidate at once 2.85
//! to 2.95 (a throwaway harness with the same set, best of 60, the old and new walks
//! alternating: the old one 2.6 to 2.68 in the same series, 188 to 193 µs a round of
//! 4 096 keys against 171 to 178; the tag kernel about 5 % of that, the early next
//! candidate about 3 %; criterion's `flow/classifier_20x1000`, two runs: 175 and 183 µs
//! against the peer's 534 and 582, 3.05 and 3.18, the old walk 203 against 523, 2.58).
//! Tried and not kept: four subtables per pass (no better than two), a third filter bit per
//! rule (fewer false positives, more work per probe: no change); then, each no faster
//! within the noise or slower: BMI1/BMI2 enabled for the `Avx2` specialisation (`shrx` for
//! the filter test), prefetching both cache lines of a 40-byte entry (half of them cross a
//! line), `prefetchnta` for buckets and entries (to spare the filter in L1), a 64 KiB
//! filter (with the early next candidate; it was 8 % faster before it), and the filter pass
//! in two loops over the keys, hashes and filter prefetches first, tests second (205 to 230
//! µs against 183: the filter words' load latency, a quarter of the walk's samples, stays),
//! and passes 2 and 3 run one subtable group behind pass 1 and each other (their bucket and
//! entry loads overlapping pass 1's work: 174 to 182 µs against 171 to 176). A 16 KiB
//! filter is much slower (213 to 220 µs: the false positives).
//!
//! # Modes
//!
//! - [`Mode::FirstMatch`], for megaflows that never overlap (as OVS installs them): the
//!   first subtable, in the current rank order, holding a rule that matches the packet
//!   decides, and the packet leaves the walk. Priorities are stored but not consulted. With
//!   overlapping rules the answer is still well defined (that first subtable's rule) but
//!   depends on the rank order, which [`Classifier::rebalance`] changes: keeping rules
//!   disjoint is the caller's job, as in OVS.
//! - [`Mode::Priority`], for overlapping rules (an OpenFlow-style table): the matching rule
//!   with the **highest priority** wins, and among equal priorities the one with the
//!   **lowest [`RuleId`]** (so the answer never depends on the rank order and a linear scan
//!   reproduces it). Subtables are kept sorted by the highest priority they hold; once a
//!   packet has a match of priority `p`, every subtable whose highest priority is below `p`
//!   is skipped for it, and the packet leaves the walk at the first such subtable. A
//!   subtable whose highest priority equals `p` is still probed (it may hold a rule of
//!   lower id), so distinct priorities on overlapping rules let the walk stop sooner.
//!
//! # Ranking
//!
//! Each subtable counts the packets it resolved in [`Classifier::lookup_batch`] (the
//! `&self` lookups, [`Classifier::lookup`] and [`Classifier::lookup_batch_uncounted`], do
//! not count: counting needs `&mut self`, and there is no `Cell` or atomic inside). There
//! is no clock in a `no_std` crate, so re-ranking happens on an explicit
//! [`Classifier::rebalance`] call (OVS does it every second): subtables are re-sorted by
//! hits (FirstMatch), or by highest priority and then hits (Priority), and the counters are
//! reset. A new mask gets a new subtable at the end of the order (FirstMatch) or after the
//! subtables of equal or higher priority (Priority); removing the last rule of a subtable
//! frees its descriptor.
//!
//! Removing a rule never lowers a subtable's recorded highest priority (finding the next
//! highest would mean scanning the table); it stays an upper bound, which is safe (the walk
//! only skips less) and becomes exact again at the next [`Classifier::rebalance`], which
//! recomputes such bounds in one pass over the rules.
//!
//! # Storage and sizes
//!
//! Four caller slices, nothing on the heap; the classifier itself is a few words:
//!
//! - `subtables: &mut [Subtable<N>]`, one descriptor per distinct mask the classifier can
//!   hold (at most 65 536): `size_of::<Subtable<16>>()` is 72 bytes, `Subtable<40>` 96
//!   (the mask, its word map, hash constants, id, rule count, highest priority and hit
//!   counter).
//! - `filter: &mut [u64]`, the rule filter: a power of two of words, or none (an empty
//!   slice: every probe then reads its bucket); [`Classifier::filter_words_for`] gives at
//!   least 8 bits per rule.
//! - `buckets: &mut [Bucket]` and `entries: &mut [RuleEntry<N, V>]`, the shared
//!   [`FlowTable`]: a power of two of 64-byte buckets ([`FlowTable::buckets_for`] gives the
//!   count for a number of rules) and one entry per rule:
//!   `size_of::<RuleEntry<16, u32>>()` is 40 bytes, `RuleEntry<40, u32>` 64 (the packed
//!   masked key, the subtable id, the priority, the value and the table's own 12 bytes).
//!
//! So 20 000 IPv4 5-tuple rules in 20 masks take 800 KB of entries, 256 KiB of buckets,
//! 32 KiB of filter and 1.4 KiB of descriptors. Keys are at most 512 bytes (the word map
//! is a `u64`).
//!
//! # Complexity
//!
//! With `S` subtables: a lookup probes at most `S` subtables, fewer with early exits and
//! priority pruning; a probe is a hash and a filter word, and when the filter lets it
//! through, one bucket line (on a tag match also one entry line, rarely the second bucket).
//! Insert and remove: a scan of the subtable descriptors for the mask (`O(S)` mask
//! compares) plus one table insert or remove. [`Classifier::rebalance`]: `O(S log S)`,
//! plus one pass over the rule entries when rules were removed since the last one (to
//! rebuild the filter and recompute stale priority bounds).
//!
//! # Example
//!
//! ```
//! use offload_flow::{
//!     Auto, Bucket, Classifier, FlowTable, Ipv4Tuple, Key, Mode, Rule, RuleEntry, Subtable,
//! };
//!
//! // Storage for 8 masks and 1000 rules on IPv4 5-tuples (16-byte keys).
//! let mut subtables = [Subtable::<16>::EMPTY; 8];
//! let mut filter = vec![0u64; Classifier::<16>::filter_words_for(1000)];
//! let mut buckets = vec![Bucket::EMPTY; FlowTable::<Ipv4Tuple, u32>::buckets_for(1000)];
//! let mut entries = vec![RuleEntry::<16, u32>::default(); 1000];
//! let mut c = Classifier::new(
//!     Auto::detect(),
//!     0x5EED,
//!     Mode::Priority,
//!     &mut subtables,
//!     &mut filter,
//!     &mut buckets,
//!     &mut entries,
//! )?;
//!
//! let tuple = |src: [u8; 4], dst: [u8; 4], sp, dp, proto| {
//!     Key(*Ipv4Tuple::new(src, dst, sp, dp, proto).as_bytes())
//! };
//! // 10.0.0.0/8 to anywhere: priority 10, value 1.
//! let slash8 = tuple([255, 0, 0, 0], [0; 4], 0, 0, 0).0;
//! let wide = c.insert(Rule::new(tuple([10, 0, 0, 0], [0; 4], 0, 0, 0), slash8, 10, 1))?;
//! // 10.1.0.0/16 to port 443: priority 20, value 2.
//! let narrow_mask = tuple([255, 255, 0, 0], [0; 4], 0, 0xFFFF, 0).0;
//! let narrow = c.insert(Rule::new(tuple([10, 1, 0, 0], [0; 4], 0, 443, 0), narrow_mask, 20, 2))?;
//!
//! let https = tuple([10, 1, 2, 3], [192, 168, 0, 1], 40000, 443, 6);
//! let ssh = tuple([10, 1, 2, 3], [192, 168, 0, 1], 40000, 22, 6);
//! assert_eq!(c.lookup(&https).map(|m| (m.rule, m.value)), Some((narrow, 2)));
//! assert_eq!(c.lookup(&ssh).map(|m| (m.rule, m.value)), Some((wide, 1)));
//!
//! // A batch: bit i of the result is set when keys[i] matched; hits are counted.
//! let keys = [https, ssh, tuple([11, 0, 0, 1], [1, 1, 1, 1], 1, 2, 17)];
//! let mut out = [None; 3];
//! assert_eq!(c.lookup_batch(&keys, &mut out)?, 0b011);
//! assert_eq!(out.map(|m| m.map(|m| m.value)), [Some(2), Some(1), None]);
//!
//! c.rebalance(); // re-rank by (highest priority, hits), reset the counters
//! assert_eq!(c.subtables().count(), 2);
//! assert_eq!(c.remove(&https, &narrow_mask)?.rule, narrow);
//! assert_eq!(c.lookup(&https).map(|m| m.value), Some(1));
//! # Ok::<(), offload_flow::Error>(())
//! ```

#![forbid(unsafe_code)]

use crate::{Auto, Bucket, Entry, Error, FlowId, FlowKey, FlowTable, Key, Lookup, LookupTask};

/// The largest batch of [`Classifier::lookup_batch`] (the table's bulk limit).
const BULK: usize = 64;

/// Subtables the filter pass of a FirstMatch batch takes at once (see
/// `Classifier::filter_pass_group`).
const GROUP: usize = 2;

/// No entry: never an entry index (a table has at most 2^32 - 2 entries).
const NO_ENTRY: u32 = u32::MAX;

/// Most subtable descriptors: ids are `u16`.
const MAX_SUBTABLES: usize = 1 << 16;

/// Longest key: the word map is a `u64` of 8-byte words.
const MAX_KEY: usize = 64 * 8;

/// How a lookup chooses among matching rules. See the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Non-overlapping rules (megaflows): the first subtable in rank order that matches
    /// decides; priorities are not consulted.
    FirstMatch,
    /// Overlapping rules: highest priority wins, then lowest [`RuleId`].
    Priority,
}

/// A rule: `key` and `mask` (bits set in `mask` are matched; the key's other bits are
/// ignored and not stored), its priority (consulted in [`Mode::Priority`]) and its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rule<const N: usize, V = u32> {
    /// The bits to match (only those under `mask` count).
    pub key: Key<N>,
    /// Which bits of `key` the rule matches on.
    pub mask: [u8; N],
    /// Higher wins in [`Mode::Priority`].
    pub priority: u32,
    /// What a lookup returns for the rule (an action, an index into the caller's rules…).
    pub value: V,
}

impl<const N: usize, V> Rule<N, V> {
    /// A rule from its parts.
    pub const fn new(key: Key<N>, mask: [u8; N], priority: u32, value: V) -> Self {
        Self {
            key,
            mask,
            priority,
            value,
        }
    }
}

/// The id of a rule: the index of its entry in the shared table, stable while the rule is
/// in the classifier (then it may be given to a new rule; freed ids are reused first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(pub u32);

impl RuleId {
    /// The id as a number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl core::fmt::Display for RuleId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What a lookup found (or a removal removed): the rule's id, priority and value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Match<V> {
    /// The rule.
    pub rule: RuleId,
    /// Its priority.
    pub priority: u32,
    /// Its value.
    pub value: V,
}

/// The key the shared table stores for a rule: the rule's masked key with the non-zero
/// words of its mask packed to the front, and the id of its subtable. Part of
/// [`RuleEntry`]; build storage with [`Default`] or [`MaskedKey::ZERO`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MaskedKey<const N: usize> {
    bytes: [u8; N],
    subtable: u16,
}

impl<const N: usize> MaskedKey<N> {
    /// All zero: a placeholder for unused entries.
    pub const ZERO: Self = Self {
        bytes: [0; N],
        subtable: 0,
    };
}

impl<const N: usize> Default for MaskedKey<N> {
    fn default() -> Self {
        Self::ZERO
    }
}

impl<const N: usize> core::fmt::Debug for MaskedKey<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "MaskedKey({}: {:02x?})", self.subtable, self.bytes)
    }
}

impl<const N: usize> FlowKey for MaskedKey<N> {
    #[inline(always)]
    fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// The value the shared table stores for a rule: its priority and the caller's value. Part
/// of [`RuleEntry`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuleData<V> {
    priority: u32,
    value: V,
}

impl<V> RuleData<V> {
    /// A placeholder for unused entries (`const`, for static storage).
    pub const fn vacant(value: V) -> Self {
        Self { priority: 0, value }
    }
}

/// Caller storage for the classifier's rules: one entry of the shared [`FlowTable`] per
/// rule. Build with [`Default`] or `Entry::vacant(MaskedKey::ZERO, RuleData::vacant(v))`.
/// `size_of::<RuleEntry<16, u32>>()` is 40 bytes, `RuleEntry<40, u32>` 64.
pub type RuleEntry<const N: usize, V = u32> = Entry<MaskedKey<N>, RuleData<V>>;

/// A subtable descriptor: one distinct mask, the words of it that are not zero, its hash
/// constants and id, how many rules it holds, the highest priority among them and a hit
/// counter. Caller storage for [`Classifier`] (one per mask it can hold); build it from
/// [`Subtable::EMPTY`]. `size_of::<Subtable<16>>()` is 72 bytes, `Subtable<40>` 96.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Subtable<const N: usize> {
    hits: u64,
    /// Bit `w` set when bytes `8w..8w+8` of the mask are not all zero.
    words: u64,
    /// The hash state a key's hash starts from.
    start: u64,
    /// The constant the odd words of a key are XORed with before each multiply.
    salt: u64,
    mask: [u8; N],
    /// Upper bound of the rules' priorities (exact unless `stale`).
    max_priority: u32,
    /// Rules whose priority is `max_priority` (meaningless while `stale`).
    max_count: u32,
    rules: u32,
    /// Bytes of the packed masked key: the lengths of the non-zero words.
    len: u16,
    id: u16,
    /// Every word of the key is in the mask: packing is a plain AND.
    dense: bool,
    /// The last rule of `max_priority` was removed: the bound may be above the true highest.
    stale: bool,
}

impl<const N: usize> Subtable<N> {
    /// An unused descriptor, to fill caller storage with.
    pub const EMPTY: Self = Self {
        hits: 0,
        words: 0,
        start: 0,
        salt: 0,
        mask: [0; N],
        max_priority: 0,
        max_count: 0,
        rules: 0,
        len: 0,
        id: 0,
        dense: false,
        stale: false,
    };

    /// The mask all rules of this subtable share.
    pub fn mask(&self) -> &[u8; N] {
        &self.mask
    }

    /// The subtable's id (mixed into the hash and stored with each rule; reused after the
    /// subtable is freed).
    pub fn id(&self) -> u16 {
        self.id
    }

    /// Rules in the subtable.
    pub fn rules(&self) -> u32 {
        self.rules
    }

    /// Packets resolved here by [`Classifier::lookup_batch`] since the last
    /// [`Classifier::rebalance`].
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// The highest priority among the rules: exact after an insert and after
    /// [`Classifier::rebalance`]; after removals, an upper bound.
    pub fn max_priority(&self) -> u32 {
        self.max_priority
    }

    /// Bytes of the key that are hashed and compared for this mask: the non-zero 8-byte
    /// words of the mask.
    pub fn key_bytes(&self) -> usize {
        usize::from(self.len)
    }

    /// Packs the words of `key` under the mask to the front: bytes `0..len` of the result
    /// are what is hashed; the rest are zero.
    #[inline(always)]
    fn pack(&self, key: &[u8; N]) -> [u8; N] {
        let mut out = [0u8; N];
        if self.dense {
            for ((o, k), m) in out.iter_mut().zip(key).zip(&self.mask) {
                *o = k & m;
            }
            return out;
        }
        let mut at = 0;
        let mut words = self.words;
        while words != 0 {
            let start = words.trailing_zeros() as usize * 8;
            words &= words - 1;
            let end = (start + 8).min(N);
            let (Some(k), Some(m)) = (key.get(start..end), self.mask.get(start..end)) else {
                break;
            };
            let Some(o) = out.get_mut(at..at + k.len()) else {
                break;
            };
            for ((o, k), m) in o.iter_mut().zip(k).zip(m) {
                *o = k & m;
            }
            at += k.len();
        }
        out
    }

    /// The hash of `key` under the mask. The mask's non-zero 8-byte words, each ANDed
    /// with the key's, are taken in pairs `(a, b)` into `h = fold(a ^ h, b ^ salt)`, where
    /// `fold` is a 64 x 64 to 128-bit multiply with the halves XORed (one multiply per 16
    /// key bytes; a lone last word pairs with 0), from `h = start`; the result is folded
    /// to 32 bits. `start` and `salt` come from the classifier's seed and the subtable id.
    #[inline(always)]
    fn hash(&self, key: &[u8; N]) -> u64 {
        if self.dense {
            self.hash_dense(key)
        } else {
            self.hash_sparse(key)
        }
    }

    /// [`hash`](Self::hash) when every word of the mask is non-zero: a loop of constant
    /// length over all words.
    #[inline(always)]
    fn hash_dense(&self, key: &[u8; N]) -> u64 {
        let (mut h, salt) = (self.start, self.salt);
        let n = N.div_ceil(8);
        let mut w = 0;
        while w + 1 < n {
            let a = word(key, w) & word(&self.mask, w);
            let b = word(key, w + 1) & word(&self.mask, w + 1);
            h = fold_mul(a ^ h, b ^ salt);
            w += 2;
        }
        if w < n {
            h = fold_mul((word(key, w) & word(&self.mask, w)) ^ h, salt);
        }
        h
    }

    /// [`hash`](Self::hash) over the words in the mask's word map.
    #[inline(always)]
    fn hash_sparse(&self, key: &[u8; N]) -> u64 {
        let (mut h, salt) = (self.start, self.salt);
        let mut words = self.words;
        while words != 0 {
            let w = words.trailing_zeros() as usize;
            words &= words - 1;
            let a = word(key, w) & word(&self.mask, w);
            let b = if words == 0 {
                0
            } else {
                let w = words.trailing_zeros() as usize;
                words &= words - 1;
                word(key, w) & word(&self.mask, w)
            };
            h = fold_mul(a ^ h, b ^ salt);
        }
        h
    }

    /// [`hash`](Self::hash) from the packed masked key (as stored): the same value, as the
    /// packed words are the masked words in order.
    fn hash_packed(&self, packed: &[u8; N]) -> u64 {
        let (mut h, salt) = (self.start, self.salt);
        let n = usize::from(self.len).div_ceil(8);
        let mut w = 0;
        while w < n {
            let b = if w + 1 < n { word(packed, w + 1) } else { 0 };
            h = fold_mul(word(packed, w) ^ h, b ^ salt);
            w += 2;
        }
        h
    }

    /// The masked key `pack` packed: `pack`'s inverse on the words of the mask.
    fn unpack(&self, packed: &[u8; N]) -> [u8; N] {
        let mut out = [0u8; N];
        let mut at = 0;
        let mut words = self.words;
        while words != 0 {
            let start = words.trailing_zeros() as usize * 8;
            words &= words - 1;
            let end = (start + 8).min(N);
            let (Some(o), Some(p)) = (out.get_mut(start..end), packed.get(at..at + end - start))
            else {
                break;
            };
            o.copy_from_slice(p);
            at += end - start;
        }
        out
    }

    /// Whether `p` is above the recorded highest priority, as the order of
    /// [`Mode::Priority`] needs.
    fn note_insert(&mut self, p: u32) {
        if self.rules == 0 || p > self.max_priority {
            self.max_priority = p;
            self.max_count = 1;
            self.stale = false;
        } else if p == self.max_priority {
            // While stale no rule has the bound as priority: this one is now the highest.
            self.max_count = if self.stale { 1 } else { self.max_count + 1 };
            self.stale = false;
        }
        self.rules += 1;
    }

    fn note_remove(&mut self, p: u32) {
        self.rules -= 1;
        if !self.stale && p == self.max_priority {
            self.max_count -= 1;
            if self.max_count == 0 && self.rules != 0 {
                self.stale = true;
            }
        }
    }
}

impl<const N: usize> Default for Subtable<N> {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl<const N: usize> core::fmt::Debug for Subtable<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Subtable")
            .field("id", &self.id)
            .field("mask", &self.mask)
            .field("rules", &self.rules)
            .field("max_priority", &self.max_priority)
            .field("hits", &self.hits)
            .finish_non_exhaustive()
    }
}

/// SplitMix64's finalizer: a bijective mix of all 64 bits.
const fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The hash constants `(start, salt)` of subtable `id` under the classifier's `seed`.
const fn subtable_seeds(seed: u32, id: u16) -> (u64, u64) {
    let start = splitmix(((seed as u64) << 16 | id as u64) ^ 0x243F_6A88_85A3_08D3);
    (start, splitmix(start))
}

/// The wildcard classifier: tuple space search over one shared exact-match table, in
/// caller storage, generic over the key width `N` (16 for an [`Ipv4Tuple`], 40 for an
/// [`Ipv6Tuple`]; at most 512), the rule value `V` and the [`Lookup`] kernels `L`.
///
/// - **Storage:** `subtables`, one [`Subtable`] descriptor per distinct mask (72 bytes for
///   `N = 16`); `filter`, a blocked Bloom filter of the rules (optional: 8 to 16 bits per
///   rule); `buckets` and `entries`, the shared [`FlowTable`] (64-byte buckets, one
///   40-byte [`RuleEntry`] per rule for `N = 16` and `u32` values). No heap.
/// - **Modes:** [`Mode::FirstMatch`] for disjoint megaflows (the first subtable in rank
///   order decides), [`Mode::Priority`] for overlapping rules (highest priority, then
///   lowest [`RuleId`]).
/// - **Lookups:** [`lookup`](Self::lookup) for one key, [`lookup_batch`](Self::lookup_batch)
///   for up to 64, counting hits per subtable for [`rebalance`](Self::rebalance). A probe
///   that the filter rejects does not touch the table.
/// - **Single writer:** changes and the counting batch lookup take `&mut self`; no locks,
///   atomics or cells inside.
///
/// The design, the tie rules, sizes and complexity are in the documentation of the
/// `classifier` module in the source.
///
/// [`Ipv4Tuple`]: crate::Ipv4Tuple
/// [`Ipv6Tuple`]: crate::Ipv6Tuple
pub struct Classifier<'s, const N: usize, V = u32, L = Auto> {
    table: FlowTable<'s, MaskedKey<N>, RuleData<V>, L>,
    /// Descriptors `..active` are in use, in rank order; the ids of all descriptors are a
    /// permutation of `0..subtables.len()`.
    subtables: &'s mut [Subtable<N>],
    active: usize,
    /// The rule filter: one word per block, `filter.len() - 1` (a power of two minus one;
    /// no filter when `filter` is empty).
    filter: &'s mut [u64],
    filter_mask: usize,
    /// Rules removed since the filter was last rebuilt (their bits are still set).
    removed: usize,
    mode: Mode,
    seed: u32,
}

impl<const N: usize, V: Copy, L: Lookup> core::fmt::Debug for Classifier<'_, N, V, L> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Classifier")
            .field("mode", &self.mode)
            .field("rules", &self.table.len())
            .field("capacity", &self.table.capacity())
            .field("subtables", &self.active)
            .field("max_subtables", &self.subtables.len())
            .field("filter_words", &self.filter.len())
            .finish_non_exhaustive()
    }
}

impl<'s, const N: usize, V: Copy, L: Lookup> Classifier<'s, N, V, L> {
    /// The most keys [`lookup_batch`](Self::lookup_batch) takes per call.
    pub const BATCH_MAX: usize = BULK;

    /// A classifier over caller storage, emptied (every descriptor, filter word, bucket and
    /// entry is reset). `seed` (with each subtable's id) seeds the hash of every masked
    /// key. `filter` may be empty (no filter).
    ///
    /// # Errors
    /// [`Error::Storage`] when there are more than 65 536 descriptors, the key is longer
    /// than 512 bytes, the filter word count is not zero or a power of two, or the table
    /// storage is unusable (see [`FlowTable::new`]).
    pub fn new(
        lookup: L,
        seed: u32,
        mode: Mode,
        subtables: &'s mut [Subtable<N>],
        filter: &'s mut [u64],
        buckets: &'s mut [Bucket],
        entries: &'s mut [RuleEntry<N, V>],
    ) -> Result<Self, Error> {
        if subtables.len() > MAX_SUBTABLES {
            return Err(Error::Storage {
                what: "more than 65 536 subtable descriptors",
            });
        }
        if N > MAX_KEY {
            return Err(Error::Storage {
                what: "classifier keys are at most 512 bytes",
            });
        }
        if !filter.is_empty() && !filter.len().is_power_of_two() {
            return Err(Error::Storage {
                what: "the filter word count must be a power of two (or zero: no filter)",
            });
        }
        let table = FlowTable::new(lookup, seed, buckets, entries)?;
        let filter_mask = filter.len().saturating_sub(1);
        let mut c = Self {
            table,
            subtables,
            active: 0,
            filter,
            filter_mask,
            removed: 0,
            mode,
            seed,
        };
        c.reset_subtables();
        c.filter.fill(0);
        Ok(c)
    }

    /// Filter words for `capacity` rules: the smallest power of two giving at least 8 bits
    /// per rule (at least 1 word), with which about 95 % or more of the probes for absent
    /// rules skip the table.
    pub const fn filter_words_for(capacity: usize) -> usize {
        capacity.div_ceil(8).next_power_of_two()
    }

    /// The filter word and bits of a rule with 64-bit hash `h`: two of the 64 bits of one
    /// word (a blocked Bloom filter), the word from bits 32 and up of `h`, the bits from
    /// its lowest and highest 6 bits.
    #[inline(always)]
    fn filter_bits(&self, h: u64) -> (usize, u64) {
        let w = (h >> 32) as usize & self.filter_mask;
        (w, 1 << (h & 63) | 1 << (h >> 58))
    }

    /// Whether the filter lets a rule with hash `h` through (always, without a filter).
    #[inline(always)]
    fn filter_has(&self, h: u64) -> bool {
        let (w, bits) = self.filter_bits(h);
        self.filter.get(w).is_none_or(|x| x & bits == bits)
    }

    fn filter_add(&mut self, h: u64) {
        let (w, bits) = self.filter_bits(h);
        if let Some(x) = self.filter.get_mut(w) {
            *x |= bits;
        }
    }

    /// Rebuilds the filter from the rules (clears the bits removed rules left behind):
    /// one pass over the rule entries. [`rebalance`](Self::rebalance) calls it when rules
    /// were removed since the last rebuild.
    pub fn rebuild_filter(&mut self) {
        self.filter.fill(0);
        self.removed = 0;
        if self.filter.is_empty() {
            return;
        }
        let subs = self.subtables.get(..self.active).unwrap_or_default();
        for (_, mk, _) in self.table.iter() {
            let Some(s) = subs.iter().find(|s| s.id == mk.subtable) else {
                continue;
            };
            let h = s.hash_packed(&mk.bytes);
            let (w, bits) = (
                (h >> 32) as usize & self.filter_mask,
                1 << (h & 63) | 1 << (h >> 58),
            );
            if let Some(x) = self.filter.get_mut(w) {
                *x |= bits;
            }
        }
    }

    fn reset_subtables(&mut self) {
        for (s, id) in self.subtables.iter_mut().zip(0u16..) {
            *s = Subtable::EMPTY;
            s.id = id;
        }
        self.active = 0;
    }

    /// Removes every rule and frees every subtable (O(capacity)).
    pub fn clear(&mut self) {
        self.table.clear();
        self.reset_subtables();
        self.filter.fill(0);
        self.removed = 0;
    }

    /// The lookup mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Rules in the classifier.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether there is no rule.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The most rules the storage holds.
    pub fn capacity(&self) -> usize {
        self.table.capacity()
    }

    /// The most distinct masks the storage holds.
    pub fn max_subtables(&self) -> usize {
        self.subtables.len()
    }

    /// The subtables in use, in rank order (the order lookups probe them in).
    pub fn subtables(&self) -> impl ExactSizeIterator<Item = &Subtable<N>> {
        self.active_subtables().iter()
    }

    #[inline(always)]
    fn active_subtables(&self) -> &[Subtable<N>] {
        self.subtables.get(..self.active).unwrap_or_default()
    }

    /// The rank position of the subtable with `mask`.
    fn find_mask(&self, mask: &[u8; N]) -> Option<usize> {
        self.active_subtables().iter().position(|s| s.mask == *mask)
    }

    /// The rank position of the subtable with id `id`.
    fn find_id(&self, id: u16) -> Option<usize> {
        self.active_subtables().iter().position(|s| s.id == id)
    }

    /// The table key and hash of `key` in subtable `s`.
    #[inline(always)]
    fn probe_key(s: &Subtable<N>, key: &[u8; N]) -> (MaskedKey<N>, u64) {
        (
            MaskedKey {
                bytes: s.pack(key),
                subtable: s.id,
            },
            s.hash(key),
        )
    }

    /// The rule of subtable `s` that `key` (hash `h`, primary bucket `b`) matches: the
    /// exact search behind [`may_hold`]. One kernel call compares the tag with both
    /// buckets (the other one only matters when flows of `b` overflowed there); the
    /// entries of matching occupied slots are compared with the packed key.
    #[inline(always)]
    fn confirm<Lk: Lookup>(
        &self,
        lk: &Lk,
        s: &Subtable<N>,
        key: &[u8; N],
        h: u32,
        b: &Bucket,
    ) -> Option<FlowId> {
        let mk = MaskedKey {
            bytes: s.pack(key),
            subtable: s.id,
        };
        let tag = (h >> 16) as u16;
        let other = if b.overflowed() {
            self.table.alternate_bucket(h)
        } else {
            None
        };
        let o = other.unwrap_or(b);
        let m = lk.match_tags(b.tag_array(), o.tag_array(), tag);
        for (bucket, bits) in [(b, m & 0xFF), (o, if other.is_some() { m >> 8 } else { 0 })] {
            #[expect(clippy::cast_possible_truncation, reason = "8 bits")]
            let mut c = bits as u8 & bucket.occupancy();
            while c != 0 {
                let idx = bucket.slot_entry(c.trailing_zeros() as usize);
                c &= c - 1;
                if self.table.entry_at(idx).is_some_and(|(k, _)| *k == mk) {
                    return Some(FlowId(idx));
                }
            }
        }
        None
    }

    /// The rule of subtable `s` that `key` matches.
    #[inline(always)]
    fn probe_one<Lk: Lookup>(&self, lk: &Lk, s: &Subtable<N>, key: &[u8; N]) -> Option<FlowId> {
        let h = s.hash(key);
        if !self.filter_has(h) {
            return None;
        }
        let h = fold32(h);
        let b = self.table.primary_bucket(h)?;
        if !may_hold(b, h) {
            return None;
        }
        self.confirm(lk, s, key, h, b)
    }

    /// The match of rule `id` (which the table just returned).
    #[inline(always)]
    fn matched(&self, id: FlowId) -> Option<Match<V>> {
        self.table.get(id).map(|(_, d)| Match {
            rule: RuleId(id.0),
            priority: d.priority,
            value: d.value,
        })
    }

    /// Takes an unused descriptor for `mask` and puts it at rank `pos` (the caller checked
    /// there is one); returns `pos`.
    fn open_subtable(&mut self, mask: &[u8; N], pos: usize) -> Option<usize> {
        let active = self.active;
        let s = self.subtables.get_mut(active)?;
        let id = s.id;
        let mut words = 0u64;
        let mut len = 0usize;
        for (w, chunk) in mask.chunks(8).enumerate() {
            if chunk.iter().any(|&b| b != 0) {
                words |= 1 << w;
                len += chunk.len();
            }
        }
        *s = Subtable {
            mask: *mask,
            words,
            #[expect(clippy::cast_possible_truncation, reason = "N <= 512")]
            len: len as u16,
            dense: len == N,
            start: subtable_seeds(self.seed, id).0,
            salt: subtable_seeds(self.seed, id).1,
            id,
            ..Subtable::EMPTY
        };
        self.subtables.get_mut(pos..=active)?.rotate_right(1);
        self.active += 1;
        Some(pos)
    }

    /// Frees the descriptor at rank `pos` (its rules are gone), keeping the order of the
    /// others.
    fn close_subtable(&mut self, pos: usize) {
        if let Some(run) = self.subtables.get_mut(pos..self.active) {
            run.rotate_left(1);
            if let Some(s) = run.last_mut() {
                let id = s.id;
                *s = Subtable::EMPTY;
                s.id = id;
            }
            self.active -= 1;
        }
    }

    /// In [`Mode::Priority`], moves the subtable at `pos` up past those with a lower
    /// highest priority (keeps the order by highest priority); returns its new position.
    fn lift(&mut self, pos: usize) -> usize {
        if self.mode != Mode::Priority {
            return pos;
        }
        let Some(p) = self.subtables.get(pos).map(|s| s.max_priority) else {
            return pos;
        };
        let to = self
            .subtables
            .get(..pos)
            .and_then(|before| before.iter().position(|s| s.max_priority < p))
            .unwrap_or(pos);
        if let Some(run) = self.subtables.get_mut(to..=pos) {
            run.rotate_right(1);
        }
        to
    }

    /// Adds a rule. Its key is stored masked (bits outside the mask are dropped).
    ///
    /// # Errors
    /// [`Error::Exists`] (with the rule's id) when a rule with the same mask and masked key
    /// is present (whatever its priority or value); [`Error::TooManySubtables`] when the
    /// mask is new and every descriptor is in use; [`Error::Full`] when the shared table
    /// has no room. Nothing changes on error.
    pub fn insert(&mut self, rule: Rule<N, V>) -> Result<RuleId, Error> {
        let (pos, new) = match self.find_mask(&rule.mask) {
            Some(pos) => (pos, false),
            None => {
                if self.active >= self.subtables.len() {
                    return Err(Error::TooManySubtables {
                        max: self.subtables.len(),
                    });
                }
                // A new subtable goes last (FirstMatch) or, while empty, last too: `lift`
                // moves it into the priority order once its rule is in.
                let pos = self.active;
                let pos = self.open_subtable(&rule.mask, pos).ok_or(Error::Storage {
                    what: "subtable descriptors changed under the classifier",
                })?;
                (pos, true)
            }
        };
        let Some(s) = self.subtables.get(pos).copied() else {
            return Err(Error::NotFound);
        };
        let (mk, hash) = Self::probe_key(&s, &rule.key.0);
        let data = RuleData {
            priority: rule.priority,
            value: rule.value,
        };
        match self.table.insert_with_hash(mk, fold32(hash), data, 0) {
            Ok(id) => {
                self.filter_add(hash);
                if let Some(s) = self.subtables.get_mut(pos) {
                    s.note_insert(rule.priority);
                }
                self.lift(pos);
                Ok(RuleId(id.0))
            }
            Err(e) => {
                if new {
                    self.close_subtable(pos);
                }
                Err(e)
            }
        }
    }

    /// Removes the rule with this mask and key (bits of `key` outside `mask` are ignored):
    /// its id (free for reuse from now on), priority and value. Removing the last rule of a
    /// mask frees its subtable.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such rule.
    pub fn remove(&mut self, key: &Key<N>, mask: &[u8; N]) -> Result<Match<V>, Error> {
        let pos = self.find_mask(mask).ok_or(Error::NotFound)?;
        let s = *self.subtables.get(pos).ok_or(Error::NotFound)?;
        let (mk, hash) = Self::probe_key(&s, &key.0);
        let (id, data) = self
            .table
            .remove_with_hash(&mk, fold32(hash))
            .ok_or(Error::NotFound)?;
        self.forget(pos, data.priority);
        Ok(Match {
            rule: RuleId(id.0),
            priority: data.priority,
            value: data.value,
        })
    }

    /// Removes rule `id`: the rule as inserted (its key masked).
    ///
    /// # Errors
    /// [`Error::NotFound`] when no rule has this id.
    pub fn remove_id(&mut self, id: RuleId) -> Result<Rule<N, V>, Error> {
        let rule = self.rule(id).ok_or(Error::NotFound)?;
        let (mk, _) = self.table.remove_id(FlowId(id.0)).ok_or(Error::NotFound)?;
        let pos = self.find_id(mk.subtable).ok_or(Error::NotFound)?;
        self.forget(pos, rule.priority);
        Ok(rule)
    }

    /// Updates the subtable at `pos` after one of its rules (priority `p`) was removed.
    fn forget(&mut self, pos: usize, p: u32) {
        self.removed += 1;
        if let Some(s) = self.subtables.get_mut(pos) {
            s.note_remove(p);
            if s.rules == 0 {
                self.close_subtable(pos);
            }
        }
    }

    /// Rule `id` as inserted (its key masked), if it is in the classifier.
    pub fn rule(&self, id: RuleId) -> Option<Rule<N, V>> {
        let (mk, d) = self.table.get(FlowId(id.0))?;
        let s = self.subtables.get(self.find_id(mk.subtable)?)?;
        Some(Rule {
            key: Key(s.unpack(&mk.bytes)),
            mask: s.mask,
            priority: d.priority,
            value: d.value,
        })
    }

    /// Every rule, in id order.
    pub fn rules(&self) -> impl Iterator<Item = (RuleId, Rule<N, V>)> {
        self.table
            .iter()
            .filter_map(|(id, _, _)| Some((RuleId(id.0), self.rule(RuleId(id.0))?)))
    }

    /// The rule that matches `key` (see [`Mode`] for which one when several do). Does not
    /// count hits.
    pub fn lookup(&self, key: &Key<N>) -> Option<Match<V>> {
        self.classify(&key.0).map(|(m, _)| m)
    }

    /// Looks up `keys` (at most [`BATCH_MAX`](Self::BATCH_MAX)): `out[i]` is the match of
    /// `keys[i]` (as [`lookup`](Self::lookup) would give) or `None`, and bit `i` of the
    /// returned mask is set when there is one. Each subtable that resolved packets counts
    /// them in its [hits](Subtable::hits) (in [`Mode::Priority`], the subtable of the
    /// winning rule). `out` beyond `keys.len()` is left alone.
    ///
    /// # Errors
    /// [`Error::BatchTooLarge`] above 64 keys; [`Error::OutputTooSmall`] when `out` is
    /// shorter than `keys`.
    pub fn lookup_batch(
        &mut self,
        keys: &[Key<N>],
        out: &mut [Option<Match<V>>],
    ) -> Result<u64, Error> {
        let mut at = [0u16; BULK];
        let found = self.walk(keys, out, &mut at)?;
        let mut bits = found;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if let Some(s) = at
                .get(i)
                .and_then(|&p| self.subtables.get_mut(usize::from(p)))
            {
                s.hits = s.hits.wrapping_add(1);
            }
        }
        Ok(found)
    }

    /// [`lookup_batch`](Self::lookup_batch) through a shared reference: the same answers,
    /// no hit counting.
    ///
    /// # Errors
    /// As [`lookup_batch`](Self::lookup_batch).
    pub fn lookup_batch_uncounted(
        &self,
        keys: &[Key<N>],
        out: &mut [Option<Match<V>>],
    ) -> Result<u64, Error> {
        let mut at = [0u16; BULK];
        self.walk(keys, out, &mut at)
    }

    /// The batch walk, key by key (see the module documentation for why not subtable by
    /// subtable): `at[i]` gets the rank position of the subtable that resolved key `i`.
    fn walk(
        &self,
        keys: &[Key<N>],
        out: &mut [Option<Match<V>>],
        at: &mut [u16; BULK],
    ) -> Result<u64, Error> {
        let n = keys.len();
        if n > BULK {
            return Err(Error::BatchTooLarge { len: n, max: BULK });
        }
        if out.len() < n {
            return Err(Error::OutputTooSmall {
                needed: n,
                available: out.len(),
            });
        }
        let out = out.get_mut(..n).unwrap_or_default();
        out.fill(None);
        if self.mode == Mode::FirstMatch {
            return Ok(self.table.lookup_kernels().specialize(WalkFirstMatch {
                classifier: self,
                keys,
                out,
                at,
            }));
        }
        let mut found = 0u64;
        for (i, ((k, o), a)) in keys
            .iter()
            .zip(out.iter_mut())
            .zip(at.iter_mut())
            .enumerate()
        {
            if let Some((m, pos)) = self.classify(&k.0) {
                *o = Some(m);
                found |= 1 << i;
                #[expect(clippy::cast_possible_truncation, reason = "below 2^16 subtables")]
                let pos = pos as u16;
                *a = pos;
            }
        }
        Ok(found)
    }

    /// The batch walk of [`Mode::FirstMatch`] in passes over the batch, so that the cache
    /// misses of different keys overlap instead of being paid one after the other (the
    /// key-by-key walk waits for each key's bucket, then its entry, before the next key's
    /// probes can retire); see the module documentation:
    ///
    /// 1. subtable by subtable in rank order, every key without a candidate through the
    ///    filter only (hash, one filter word: no table access, no branch per key); the
    ///    first subtable that lets a key through is its candidate, its bucket prefetched;
    /// 2. per key with a candidate, the tag compare in that bucket, and a prefetch of the
    ///    entry of the first matching slot; a key whose bucket cannot hold it (no slot of
    ///    its tag, no overflow) gets its next candidate at once, as in pass 3;
    /// 3. per such key, that entry compared with the packed key, else the full probe of
    ///    the candidate ([`confirm`](Self::confirm) from the stored hash); a key without a
    ///    rule there (a filter false positive) gets its next candidate, key by key from the
    ///    following subtable, and those keys go through passes 2 and 3 again.
    ///
    /// The filter rejects exactly the probes [`probe_one`](Self::probe_one) would reject
    /// first, so every key gets the same subtable and rule as in the key-by-key walk.
    #[inline(always)]
    fn walk_first_match<Lk: Lookup>(
        &self,
        lk: &Lk,
        keys: &[Key<N>],
        out: &mut [Option<Match<V>>],
        at: &mut [u16; BULK],
    ) -> u64 {
        let subs = self.active_subtables();
        // Per key: the rank position of its first candidate subtable (`subs.len()`: none)
        // and that probe's 64-bit hash.
        #[expect(clippy::cast_possible_truncation, reason = "below 2^16 subtables")]
        let mut cand = [subs.len() as u16; BULK];
        let mut hashes = [0u64; BULK];
        let n = keys.len().min(BULK);
        let mut pending = u64::MAX >> (BULK - n.max(1));
        if n == 0 {
            pending = 0;
        }
        let mut p = 0;
        while pending != 0 {
            let Some(s) = subs.get(p) else { break };
            // Two subtables per pass over the keys when both are dense and of at most two
            // words (the key's words are loaded once, the loop runs half as often).
            let dense = |g: usize| {
                N <= 16
                    && subs
                        .get(p..p + g)
                        .is_some_and(|r| r.iter().all(|s| s.dense))
            };
            let mut passes = [0u64; GROUP];
            let step = if let Some(g) = subs.get(p..).and_then(<[_]>::first_chunk::<GROUP>)
                && dense(GROUP)
            {
                passes = self.filter_pass_group(g, keys, pending, &mut hashes);
                GROUP
            } else {
                passes[0] = self.filter_pass(s, keys, pending, &mut hashes);
                1
            };
            let mut earlier = 0u64;
            for pass in &mut passes {
                *pass &= !earlier;
                earlier |= *pass;
            }
            for (q, mut pass) in passes.into_iter().enumerate() {
                pending &= !pass;
                while pass != 0 {
                    let i = pass.trailing_zeros() as usize;
                    pass &= pass - 1;
                    #[expect(clippy::cast_possible_truncation, reason = "below 2^16 subtables")]
                    let pos = (p + q) as u16;
                    cand[i & (BULK - 1)] = pos;
                    if let Some(b) = self.table.primary_bucket(fold32(hashes[i & (BULK - 1)])) {
                        lk.prefetch(b);
                    }
                }
            }
            p += step;
        }
        // The keys with a candidate subtable (their walk goes on in passes 2 and 3).
        let mut live = 0u64;
        for (i, &c) in cand.iter().enumerate().take(n) {
            live |= u64::from(usize::from(c) < subs.len()) << i;
        }
        let mut found = 0u64;
        while live != 0 {
            // Pass 2. Per key: the entry of the first occupied slot of its candidate's
            // bucket with its tag (`NO_ENTRY` without one). A bucket that cannot hold the
            // key (no tag of it, no overflow: the usual filter false positive) is a miss
            // that `probe_one` would also decide from the bucket alone, so the key looks
            // for its next candidate right away and its bucket is prefetched while pass 3
            // runs for the others.
            let mut first = [NO_ENTRY; BULK];
            let mut next = 0u64;
            let mut bits = live;
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let h = fold32(hashes[i & (BULK - 1)]);
                let Some(b) = self.table.primary_bucket(h) else {
                    continue;
                };
                let tag = (h >> 16) as u16;
                // The backend's tag compare (one `pcmpeqw` and `pmovmskb` on x86_64), of
                // the bucket with itself: the low 8 bits are its slots.
                #[expect(clippy::cast_possible_truncation, reason = "the first bucket's 8 bits")]
                let t = lk.match_tags(b.tag_array(), b.tag_array(), tag) as u8;
                if t == 0 && !b.overflowed() {
                    live &= !(1 << i);
                    let from = usize::from(cand[i & (BULK - 1)]) + 1;
                    if let Some(k) = keys.get(i)
                        && self.next_candidate(lk, subs, &k.0, from, i, &mut cand, &mut hashes)
                    {
                        next |= 1 << i;
                    }
                    continue;
                }
                let m = t & b.occupancy();
                if m != 0 {
                    let f = b.slot_entry(m.trailing_zeros() as usize);
                    first[i & (BULK - 1)] = f;
                    self.table.prefetch_entry_at(lk, f);
                }
            }
            // Pass 3: the probe of the candidate subtable; a key it does not resolve (a
            // filter false positive) goes on to its next candidate.
            let mut retry = 0u64;
            let mut bits = live;
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let pos = usize::from(cand[i & (BULK - 1)]);
                let (Some(k), Some(o), Some(s)) = (keys.get(i), out.get_mut(i), subs.get(pos))
                else {
                    continue;
                };
                // The rule, nearly always: the entry of the first tag match holds the packed
                // key. A key is in the table at most once, so this is the entry `confirm`
                // would find.
                let mk = MaskedKey {
                    bytes: s.pack(&k.0),
                    subtable: s.id,
                };
                let f = first[i & (BULK - 1)];
                let m = match self.table.entry_at(f) {
                    Some((e, d)) if *e == mk => Some(Match {
                        rule: RuleId(f),
                        priority: d.priority,
                        value: d.value,
                    }),
                    _ => {
                        let h = fold32(hashes[i & (BULK - 1)]);
                        self.table
                            .primary_bucket(h)
                            .filter(|b| may_hold(b, h))
                            .and_then(|b| self.confirm(lk, s, &k.0, h, b))
                            .and_then(|id| self.matched(id))
                    }
                };
                if let Some(m) = m {
                    *o = Some(m);
                    found |= 1 << i;
                    #[expect(clippy::cast_possible_truncation, reason = "below 2^16 subtables")]
                    let pos = pos as u16;
                    at[i & (BULK - 1)] = pos;
                } else {
                    retry |= 1 << i;
                }
            }
            // Pass 1 again for those, key by key from the subtable after their candidate.
            live = next;
            while retry != 0 {
                let i = retry.trailing_zeros() as usize;
                retry &= retry - 1;
                let Some(k) = keys.get(i) else { continue };
                let from = usize::from(cand[i & (BULK - 1)]) + 1;
                if self.next_candidate(lk, subs, &k.0, from, i, &mut cand, &mut hashes) {
                    live |= 1 << i;
                }
            }
        }
        found
    }

    /// The next candidate of `key` (key `i` of the batch) in
    /// [`walk_first_match`](Self::walk_first_match), from rank position `from` on: the
    /// first subtable whose filter lets it through becomes `cand[i]`, its hash
    /// `hashes[i]`, and its bucket is prefetched; false when no subtable is left.
    #[inline(always)]
    #[expect(clippy::too_many_arguments, reason = "the walk's per-key state")]
    fn next_candidate<Lk: Lookup>(
        &self,
        lk: &Lk,
        subs: &[Subtable<N>],
        key: &[u8; N],
        from: usize,
        i: usize,
        cand: &mut [u16; BULK],
        hashes: &mut [u64; BULK],
    ) -> bool {
        let rest = subs.get(from..).unwrap_or_default();
        for (p, s) in rest.iter().enumerate() {
            let h = s.hash(key);
            if self.filter_has(h) {
                #[expect(clippy::cast_possible_truncation, reason = "below 2^16")]
                let pos = (from + p) as u16;
                cand[i & (BULK - 1)] = pos;
                hashes[i & (BULK - 1)] = h;
                if let Some(b) = self.table.primary_bucket(fold32(h)) {
                    lk.prefetch(b);
                }
                return true;
            }
        }
        false
    }

    /// Pass 1 of [`walk_first_match`](Self::walk_first_match) for subtable `s`: the hash
    /// of every key of `pending` (bit `i` for `keys[i]`) into `hashes`, and the keys the
    /// filter lets through, as bits. The same test as [`filter_has`](Self::filter_has),
    /// with the two bits shifted down instead of a mask built (fewer instructions per
    /// probe, which is what this loop is bound by), and for dense masks of at most two
    /// words the mask words and hash constants held in locals across the keys.
    #[inline(always)]
    fn filter_pass(
        &self,
        s: &Subtable<N>,
        keys: &[Key<N>],
        pending: u64,
        hashes: &mut [u64; BULK],
    ) -> u64 {
        let filter: &[u64] = self.filter;
        let fmask = self.filter_mask;
        let test = |h: u64| -> u64 {
            let x = filter
                .get((h >> 32) as usize & fmask)
                .copied()
                .unwrap_or(u64::MAX);
            (x >> (h & 63)) & (x >> (h >> 58)) & 1
        };
        let mut left = pending;
        let mut pass = 0u64;
        if s.dense && N <= 16 {
            // `hash_dense` unrolled: one multiply of the two masked words (the second is
            // 0 for keys of one word, as `hash_dense`'s lone last word pairs with 0).
            let (m0, m1, start, salt) = (word(&s.mask, 0), word(&s.mask, 1), s.start, s.salt);
            while left != 0 {
                let i = left.trailing_zeros() as usize;
                left &= left - 1;
                let h = keys.get(i).map_or(0, |k| {
                    fold_mul((word(&k.0, 0) & m0) ^ start, (word(&k.0, 1) & m1) ^ salt)
                });
                hashes[i & (BULK - 1)] = h;
                pass |= test(h) << i;
            }
        } else {
            while left != 0 {
                let i = left.trailing_zeros() as usize;
                left &= left - 1;
                let h = keys.get(i).map_or(0, |k| s.hash(&k.0));
                hashes[i & (BULK - 1)] = h;
                pass |= test(h) << i;
            }
        }
        pass
    }

    /// [`filter_pass`](Self::filter_pass) for `G` dense subtables `subs` of at most two
    /// words at once (each key's words loaded once for all of them): per subtable, the keys
    /// it lets through, as bits; `hashes` gets a key's hash for the first of them that lets
    /// it through (for the last when none does).
    #[inline(always)]
    fn filter_pass_group<const G: usize>(
        &self,
        subs: &[Subtable<N>; G],
        keys: &[Key<N>],
        pending: u64,
        hashes: &mut [u64; BULK],
    ) -> [u64; G] {
        let filter: &[u64] = self.filter;
        let fmask = self.filter_mask;
        let test = |h: u64| -> u64 {
            let x = filter
                .get((h >> 32) as usize & fmask)
                .copied()
                .unwrap_or(u64::MAX);
            (x >> (h & 63)) & (x >> (h >> 58)) & 1
        };
        let c: [(u64, u64, u64, u64); G] = core::array::from_fn(|j| {
            (
                word(&subs[j].mask, 0),
                word(&subs[j].mask, 1),
                subs[j].start,
                subs[j].salt,
            )
        });
        let mut left = pending;
        let mut passes = [0u64; G];
        while left != 0 {
            let i = left.trailing_zeros() as usize;
            left &= left - 1;
            let Some(k) = keys.get(i) else { continue };
            let (k0, k1) = (word(&k.0, 0), word(&k.0, 1));
            let mut chosen = 0;
            for j in (0..G).rev() {
                let (m0, m1, start, salt) = c[j];
                let h = fold_mul((k0 & m0) ^ start, (k1 & m1) ^ salt);
                let t = test(h);
                if t != 0 || j == G - 1 {
                    chosen = h;
                }
                passes[j] |= t << i;
            }
            hashes[i & (BULK - 1)] = chosen;
        }
        passes
    }

    /// The match of `key` and the rank position of its subtable.
    #[inline(always)]
    fn classify(&self, key: &[u8; N]) -> Option<(Match<V>, usize)> {
        let lk = &self.table.lookup_kernels();
        let subs = self.active_subtables();
        if self.mode == Mode::FirstMatch {
            return subs.iter().enumerate().find_map(|(pos, s)| {
                let id = self.probe_one(lk, s, key)?;
                Some((self.matched(id)?, pos))
            });
        }
        let mut best: Option<(Match<V>, usize)> = None;
        for (pos, s) in subs.iter().enumerate() {
            if let Some((b, _)) = best
                && s.max_priority < b.priority
            {
                break; // Sorted by highest priority: no later subtable can win.
            }
            let Some(m) = self.probe_one(lk, s, key).and_then(|id| self.matched(id)) else {
                continue;
            };
            if best.is_none_or(|(b, _)| beats(&m, &b)) {
                best = Some((m, pos));
            }
        }
        best
    }

    /// Re-ranks the subtables by the hits counted since the last call (most first; in
    /// [`Mode::Priority`] by highest priority first, then hits) and resets the counters.
    /// When rules were removed since the last call, first rebuilds the filter and
    /// recomputes the highest-priority bounds left stale, in passes over the rule entries.
    /// Ties keep a deterministic order (by id).
    pub fn rebalance(&mut self) {
        if self.removed != 0 {
            self.rebuild_filter();
        }
        let Some(subs) = self.subtables.get_mut(..self.active) else {
            return;
        };
        if subs.iter().any(|s| s.stale) {
            subs.sort_unstable_by_key(|s| s.id);
            for s in subs.iter_mut().filter(|s| s.stale) {
                s.max_priority = 0;
                s.max_count = 0;
            }
            for (_, mk, d) in self.table.iter() {
                let Ok(i) = subs.binary_search_by_key(&mk.subtable, |s| s.id) else {
                    continue;
                };
                let Some(s) = subs.get_mut(i) else { continue };
                if !s.stale {
                    continue;
                }
                if s.max_count == 0 || d.priority > s.max_priority {
                    s.max_priority = d.priority;
                    s.max_count = 1;
                } else if d.priority == s.max_priority {
                    s.max_count += 1;
                }
            }
            for s in subs.iter_mut() {
                s.stale = false;
            }
        }
        match self.mode {
            Mode::FirstMatch => {
                subs.sort_unstable_by(|a, b| b.hits.cmp(&a.hits).then(a.id.cmp(&b.id)));
            }
            Mode::Priority => subs.sort_unstable_by(|a, b| {
                b.max_priority
                    .cmp(&a.max_priority)
                    .then(b.hits.cmp(&a.hits))
                    .then(a.id.cmp(&b.id))
            }),
        }
        for s in subs.iter_mut() {
            s.hits = 0;
        }
    }
}

/// The [`Mode::FirstMatch`] batch walk as a [`LookupTask`], so that it runs on the
/// concrete backend with its kernels (the tag compare of a candidate, the prefetches)
/// inlined (see [`Lookup::specialize`]).
struct WalkFirstMatch<'a, 'c, 's, const N: usize, V, L> {
    classifier: &'c Classifier<'s, N, V, L>,
    keys: &'a [Key<N>],
    out: &'a mut [Option<Match<V>>],
    at: &'a mut [u16; BULK],
}

impl<const N: usize, V: Copy, L: Lookup> LookupTask for WalkFirstMatch<'_, '_, '_, N, V, L> {
    type Output = u64;

    #[inline(always)]
    fn run<Lk: Lookup>(self, lk: Lk) -> u64 {
        self.classifier
            .walk_first_match(&lk, self.keys, self.out, self.at)
    }
}

/// Whether bucket `b` may hold a key of hash `h`: some slot has its tag, or keys of this
/// bucket overflowed to their other bucket. Written as a non-short-circuit OR of the 8
/// compares, which compiles to one vector compare and mask extraction on x86_64 (SSE2:
/// `pcmpeqw`, `pmovmskb`) and aarch64 (NEON), inlined into the probe loop; occupancy is
/// not consulted (a stale tag in an unused slot at worst sends a key down the exact path,
/// which checks it).
#[inline(always)]
fn may_hold(b: &Bucket, h: u32) -> bool {
    let tag = (h >> 16) as u16;
    let any = b.tag_array().iter().fold(false, |a, &t| a | (t == tag));
    any | b.overflowed()
}

/// Whether match `a` wins over `b` in [`Mode::Priority`]: higher priority, then lower id.
#[inline(always)]
fn beats<V>(a: &Match<V>, b: &Match<V>) -> bool {
    a.priority > b.priority || (a.priority == b.priority && a.rule < b.rule)
}

/// The 128-bit product of `a` and `b`, its halves XORed.
#[inline(always)]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    #[expect(clippy::cast_possible_truncation, reason = "the two halves")]
    let r = (p as u64) ^ ((p >> 64) as u64);
    r
}

/// The 64-bit hash state folded to the 32 bits the table uses.
#[inline(always)]
fn fold32(h: u64) -> u32 {
    #[expect(clippy::cast_possible_truncation, reason = "fold to 32 bits")]
    let r = (h ^ (h >> 32)) as u32;
    r
}

/// Word `w` (bytes `8w..8w+8`, zero-padded past the end) of `bytes`, little-endian.
#[inline(always)]
fn word<const N: usize>(bytes: &[u8; N], w: usize) -> u64 {
    let (words, tail) = bytes.as_chunks::<8>();
    if let Some(c) = words.get(w) {
        return u64::from_le_bytes(*c);
    }
    let mut a = [0u8; 8];
    if !N.is_multiple_of(8)
        && w == words.len()
        && let Some(d) = a.get_mut(..tail.len())
    {
        d.copy_from_slice(tail);
    }
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use offload_testkit::Rng;

    /// The filter rebuild hashes the packed key as stored; lookups hash the key under the
    /// mask: both must give the same value, for dense and sparse masks, full and partial
    /// words.
    fn packed_hash_is_the_key_hash<const N: usize>(rng: &mut Rng) {
        for _ in 0..if cfg!(miri) { 20 } else { 2000 } {
            let mut mask = [0u8; N];
            rng.fill(&mut mask);
            for (w, chunk) in mask.chunks_mut(8).enumerate() {
                if rng.below(3) == 0 || (w == 0 && rng.below(4) == 0) {
                    chunk.fill(0);
                }
            }
            let mut key = [0u8; N];
            rng.fill(&mut key);
            let mut words = 0u64;
            let mut len = 0;
            for (w, chunk) in mask.chunks(8).enumerate() {
                if chunk.iter().any(|&b| b != 0) {
                    words |= 1 << w;
                    len += chunk.len();
                }
            }
            let (start, salt) = subtable_seeds(rng.next_u64() as u32, 3);
            let s = Subtable {
                mask,
                words,
                len: u16::try_from(len).unwrap_or(0),
                dense: len == N,
                start,
                salt,
                ..Subtable::EMPTY
            };
            let packed = s.pack(&key);
            assert_eq!(s.hash_packed(&packed), s.hash(&key), "{mask:02x?}");
            assert_eq!(s.hash_sparse(&key), s.hash(&key), "{mask:02x?}");
            let unpacked = s.unpack(&packed);
            for i in 0..N {
                assert_eq!(unpacked[i], key[i] & mask[i]);
            }
        }
    }

    #[test]
    fn packed_hash_matches_for_every_mask_shape() {
        let mut rng = Rng::new(0x9A5);
        packed_hash_is_the_key_hash::<4>(&mut rng);
        packed_hash_is_the_key_hash::<8>(&mut rng);
        packed_hash_is_the_key_hash::<13>(&mut rng);
        packed_hash_is_the_key_hash::<16>(&mut rng);
        packed_hash_is_the_key_hash::<40>(&mut rng);
    }
}
