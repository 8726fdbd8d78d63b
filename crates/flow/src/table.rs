//! The exact-match flow table: a fixed-capacity bucketized cuckoo hash table in caller
//! storage, with a stable id per flow, a bulk lookup built for memory-level parallelism and
//! idle-flow expiry against the caller's clock.
//!
//! # Design
//!
//! Two caller slices hold everything; the table itself is a few words and never allocates:
//!
//! - `buckets: &mut [Bucket]`, a power of two of them. A [`Bucket`] is one 64-byte cache
//!   line: 8 slots, each a 16-bit tag and the 32-bit index of an entry; an occupancy byte
//!   (bit `i` set when slot `i` is in use; the tag of an unused slot means nothing); a byte
//!   marking the slots whose flow is in its alternate bucket; and an overflow count (below).
//! - `entries: &mut [Entry<K, V>]`, one per flow the table can hold: the key, the value, the
//!   time the flow was last seen and where its slot is. An entry's index is the flow's
//!   [`FlowId`]: it stays the same while the flow is in the table, however its slot moves.
//!   Unused entries form a free list threaded through their `last_seen` words (LIFO, so ids
//!   are handed out 0, 1, 2, … in a fresh table and a freed id is the next one reused).
//!
//! A key's 32-bit hash `h` picks two buckets and a tag, with DPDK `rte_hash`'s index math:
//! `b1 = h & mask`, `tag = h >> 16`, `b2 = (b1 ^ tag) & mask`. Because `b1 == (b2 ^ tag) &
//! mask` as well, the other bucket of a stored flow follows from where it sits and its tag,
//! so a flow can be moved without reading or rehashing its key.
//!
//! `b1` is the flow's primary bucket. An insert uses it if it has a free slot, else `b2`;
//! when both are full it searches breadth-first for a chain of flows to move, each to its
//! other bucket, ending at a free slot: at most 64 buckets are expanded (at most 512 bucket
//! reads, 512 bytes of stack). The path is found first and only then applied from its free
//! end, so a failed insert ([`Error::Full`]) has moved nothing.
//!
//! Each bucket counts the flows whose primary bucket it is that live in their alternate
//! bucket (the overflow count of Cuckoo++, Le Scouarnec, ANCS 2018). A lookup reads `b1`,
//! compares the tag with its 8 tags ([`Lookup::match_tags`]: one SIMD compare) and the key
//! with the entry of a matching tag; only when that fails and the count of `b1` is not zero
//! does it read `b2`. Measured with random keys: at half the slots in use (what
//! [`FlowTable::buckets_for`] gives for a power-of-two flow count, e.g. 1 M flows) 0.9 % of
//! the flows are in their alternate bucket and 2 % of the buckets have a non-zero count, so
//! a hit nearly always reads one bucket line and one entry line, and a miss one bucket line;
//! at 95 % of the slots, 16 % of the flows and 52 % of the buckets.
//!
//! [`FlowTable::lookup_bulk`] takes up to 64 keys through a software pipeline (the stages
//! of DPDK's bulk lookup, run as a rolling pipeline rather than one stage for all keys at a
//! time): in each turn one key is hashed and its primary bucket prefetched, the key 16
//! places behind it has its tags compared and its candidate entry prefetched (or, without
//! a candidate in a bucket that has overflowed, its other bucket), and the key 32 places
//! behind has its key compared. The cache misses of the batch overlap instead of being paid
//! one after the other, which is where the speed comes from once the table outgrows the
//! caches; the rare keys left (a tag collision, a flow in its alternate bucket) are then
//! looked up one by one.
//!
//! # Sizes and load factor
//!
//! `size_of::<Bucket>()` is 64 (aligned to 64). `size_of::<Entry<Ipv4Tuple, u32>>()` is 32,
//! `size_of::<Entry<Ipv6Tuple, u32>>()` is 56; in general the key, the value, 8 bytes of
//! `last_seen` and 4 of slot position, rounded up to the alignment. A table of `n` flows
//! with [`FlowTable::buckets_for`]`(n)` buckets (at most 95 % of the bucket slots for the
//! entries) takes, for IPv4 5-tuples and `u32` values, `32 n` bytes of entries and between
//! `8.4 n` and `16.8 n` bytes of buckets (1 M flows: 32 MiB + 16 MiB).
//!
//! **Advertised load factor: 95 %.** With `buckets_for(entries.len())` buckets, inserts of
//! distinct keys with well-spread hashes succeed at least until 95 % of the entries are in
//! use, in practice until every entry is (the tests fill random keys until `Full` and check
//! this). Given more entries than that, the buckets themselves fill to about 99 % of their
//! slots before the bounded search gives up (99.0 % measured at 16 K buckets).
//!
//! # Hash
//!
//! [`FlowTable::hash`] is CRC-32C of the key bytes, started from the table's seed: one or two
//! `crc32` instructions on x86_64 and aarch64, and every backend computes the same value, so
//! a table filled through one backend reads correctly through any other. A NIC that already
//! computed a hash of the flow (an RSS/Toeplitz value in the receive descriptor) can hand it
//! to the `*_with_hash` entry points instead; a key must then be given the same hash in every
//! call, or it will be looked for in the wrong buckets.
//!
//! CRC-32C (like Toeplitz) is linear, so it is not a keyed hash in the cryptographic sense:
//! a secret seed makes collisions harder to aim but does not prevent a sender who can probe
//! the table from crafting many keys that share two buckets. Such keys then fail to insert
//! with [`Error::Full`] (bounded work, no degradation of other lookups); they cannot make the
//! table slow.
//!
//! # Concurrency
//!
//! Single writer. Changes take `&mut self`, lookups `&self`, so Rust's borrows already forbid
//! a lookup running during a change; there are no locks or atomics inside. Share flows
//! between cores by giving each core its own table (RSS already steers a flow to one core).
//!
//! # Example
//!
//! ```
//! use offload_flow::{Auto, Bucket, Entry, FlowTable, Ipv4Tuple};
//!
//! let flows = 1000;
//! let mut buckets = vec![Bucket::EMPTY; FlowTable::<Ipv4Tuple, u32>::buckets_for(flows)];
//! let mut entries = vec![Entry::<Ipv4Tuple, u32>::default(); flows];
//! let mut table = FlowTable::new(Auto::detect(), 0x5EED, &mut buckets, &mut entries)?;
//!
//! let k = Ipv4Tuple::new([10, 0, 0, 1], [10, 0, 0, 2], 40000, 443, 6);
//! let id = table.insert(k, 7, 100)?; // value 7, seen at time 100
//! assert_eq!(table.lookup(&k), Some(id));
//! *table.value_mut(id).ok_or(offload_flow::Error::NotFound)? += 1;
//! assert_eq!(table.get(id), Some((&k, &8)));
//!
//! // A batch: bit i of the mask is set when keys[i] was found.
//! let keys = [k, k.reversed()];
//! let mut out = [None; 2];
//! assert_eq!(table.lookup_bulk(&keys, &mut out)?, 0b01);
//! assert_eq!(out, [Some(id), None]);
//!
//! // Age out flows idle for more than 50 time units, scanning at most 256 entries a call.
//! let mut cursor = 0;
//! let expired = table.expire(200, 50, &mut cursor, 256, |id, key, value| {
//!     assert_eq!((key, *value), (&k, 8));
//!     let _ = id;
//! });
//! assert_eq!(expired, 1);
//! assert!(table.is_empty());
//! # Ok::<(), offload_flow::Error>(())
//! ```

#![forbid(unsafe_code)]

use crate::{Auto, Error, FlowKey, Lookup, LookupTask};

/// Slots per bucket.
const SLOTS: usize = 8;

/// How many keys apart the stages of the bulk lookup's pipeline run (see
/// `FlowTable::bulk_with`): up to `2 * AHEAD` prefetches are outstanding at a time. Tuned on
/// an AMD Zen 3 (about two dozen L1 misses in flight; a prefetch beyond that waits for a
/// free one, harmlessly) with 4096 hits, best of interleaved runs, ns per lookup at 1M
/// flows: 8 → 19.5, 12 → 16.3, 16 → 16.1, 20 → 16.4, 24 → 16.8 (the former 16-key stages
/// without overlap between groups: 16.7); at 64K flows 8 to 20 all gave 6.0 (formerly 6.6).
const AHEAD: usize = 16;

/// `Entry::slot` of an entry on the free list.
const FREE: u32 = u32::MAX;

/// End of the free list (in `Entry::last_seen`, and `FlowTable::free` when empty).
const NIL: u64 = u64::MAX;

/// Most buckets: keeps `bucket * 8 + slot` below 2^31, so never equal to [`FREE`].
const MAX_BUCKETS: usize = 1 << 28;

/// Most entries: ids are `u32` and stay below `u32::MAX - 1`.
const MAX_ENTRIES: u32 = u32::MAX - 1;

/// Buckets the displacement search expands at most (each read of 8 other buckets): 64
/// expansions, at most 512 bucket reads, reach every path of two moves and part of those of
/// three, which is what the load factor needs.
const SEARCH_NODES: usize = 64;

/// The largest batch of [`FlowTable::lookup_bulk`].
const BULK: usize = 64;

/// The stable id of a flow: the index of its entry, valid until the flow is removed (then
/// the id may be given to a new flow).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowId(pub u32);

impl FlowId {
    /// The id as a number.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The id as an index into the entry slice.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl core::fmt::Display for FlowId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A bucket: one 64-byte cache line holding 8 slots (16-bit tag, 32-bit entry index), the
/// occupancy bitmap, which slots hold a flow away from its primary bucket, and how many
/// flows whose primary bucket this is live in their other bucket. Caller storage for
/// [`FlowTable`]; build it from [`Bucket::EMPTY`].
#[repr(C, align(64))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// The tag (`hash >> 16`) of the flow in each slot.
    tags: [u16; SLOTS],
    /// The entry index of the flow in each slot.
    entry: [u32; SLOTS],
    /// Bit `i` set when slot `i` holds a flow.
    occupied: u8,
    /// Bit `i` set when the flow in slot `i` is in its alternate bucket (this is not its
    /// `b1`).
    alternate: u8,
    _pad0: [u8; 2],
    /// Flows with this bucket as `b1` that live in their alternate bucket: while it is 0, a
    /// key whose `b1` this is can only be here, and its other bucket is never read.
    overflow: u32,
    _pad1: [u8; 8],
}

impl Bucket {
    /// A bucket with no flows, to fill caller storage with (the table clears its buckets
    /// again in [`FlowTable::new`]).
    pub const EMPTY: Bucket = Bucket {
        tags: [0; SLOTS],
        entry: [0; SLOTS],
        occupied: 0,
        alternate: 0,
        _pad0: [0; 2],
        overflow: 0,
        _pad1: [0; 8],
    };

    /// The first unused slot.
    #[inline]
    fn free_slot(&self) -> Option<usize> {
        let free = !self.occupied;
        (free != 0).then_some(free.trailing_zeros() as usize)
    }

    /// The slots in use whose tag is `tag`, as bits 0..8.
    #[inline(always)]
    fn matches<L: Lookup>(&self, lookup: &L, tag: u16) -> u16 {
        lookup.match_tags(&self.tags, &self.tags, tag) & u16::from(self.occupied)
    }
}

impl Bucket {
    /// The tags of the 8 slots (crate-internal: the classifier's probe pipeline).
    #[inline(always)]
    pub(crate) fn tag_array(&self) -> &[u16; SLOTS] {
        &self.tags
    }

    /// Bit `i` set when slot `i` holds a flow.
    #[inline(always)]
    pub(crate) fn occupancy(&self) -> u8 {
        self.occupied
    }

    /// Whether flows with this bucket as primary live in their other bucket.
    #[inline(always)]
    pub(crate) fn overflowed(&self) -> bool {
        self.overflow != 0
    }

    /// The entry index in slot `slot % 8`.
    #[inline(always)]
    pub(crate) fn slot_entry(&self, slot: usize) -> u32 {
        self.entry[slot % SLOTS]
    }
}

impl Default for Bucket {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl core::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut list = f.debug_list();
        for s in 0..SLOTS {
            if self.occupied & (1 << s) != 0 {
                let alternate = self.alternate & (1 << s) != 0;
                list.entry(&(s, self.tags[s], self.entry[s], alternate));
            }
        }
        list.entry(&("overflow", self.overflow));
        list.finish()
    }
}

/// One flow's storage: key, value, when it was last seen, and the position of its bucket
/// slot. Caller storage for [`FlowTable`], built with [`Default`] or [`Entry::vacant`]
/// (the table overwrites every field that matters in [`FlowTable::new`]).
///
/// `size_of::<Entry<Ipv4Tuple, u32>>()` is 32 bytes, `size_of::<Entry<Ipv6Tuple, u32>>()`
/// is 56.
///
/// [`Ipv4Tuple`]: crate::Ipv4Tuple
/// [`Ipv6Tuple`]: crate::Ipv6Tuple
#[derive(Clone, Copy, Debug)]
pub struct Entry<K, V> {
    key: K,
    value: V,
    /// In use: the caller's clock when the flow was inserted or last touched. Free: the
    /// index of the next free entry, or [`NIL`].
    last_seen: u64,
    /// In use: `bucket * 8 + slot` of the slot pointing here. Free: [`FREE`].
    slot: u32,
}

impl<K, V> Entry<K, V> {
    /// An unused entry holding placeholder `key` and `value` (never read while unused): a
    /// `const` way to build storage, e.g. a `static` array.
    pub const fn vacant(key: K, value: V) -> Self {
        Self {
            key,
            value,
            last_seen: NIL,
            slot: FREE,
        }
    }

    #[inline]
    fn in_use(&self) -> bool {
        self.slot != FREE
    }
}

impl<K: Default, V: Default> Default for Entry<K, V> {
    fn default() -> Self {
        Self::vacant(K::default(), V::default())
    }
}

/// A node of the displacement search: a full bucket, reached by moving the flow in `slot`
/// of the node `parent` (the two roots have no parent).
#[derive(Clone, Copy)]
struct Node {
    bucket: u32,
    parent: u8,
    slot: u8,
}

const ROOT: u8 = u8::MAX;

/// The exact-match flow table: a fixed-capacity, 2-choice bucketized cuckoo hash table
/// (64-byte buckets of 8 slots, 16-bit tags, DPDK `rte_hash`'s index math) in caller
/// storage, generic over the [`Lookup`] kernels `L` ([`Auto`] unless a bench or a test picks
/// a backend).
///
/// - **Storage:** `buckets`, a power of two of [`Bucket`]s (64 bytes each; see
///   [`buckets_for`](Self::buckets_for)), and `entries`, one [`Entry`] per flow (32 bytes
///   for an `Ipv4Tuple` key and a `u32` value, 56 for `Ipv6Tuple`). No heap, no other state.
/// - **Load factor: 95 %.** With `buckets_for(entries.len())` buckets, inserts of distinct
///   keys succeed until at least 95 % of the entries are in use (in practice all of them);
///   the buckets themselves fill to about 99 % of their slots.
/// - **Ids:** a flow's [`FlowId`] is its entry index, stable while the flow is in the
///   table (cuckoo moves relocate bucket slots, never entries).
/// - **Hash:** CRC-32C of the key from a seed, the same on every backend, or the caller's
///   (a NIC's RSS hash) through the `*_with_hash` calls. CRC-32C is linear: the seed makes
///   flooding harder but does not prevent it; a flood ends in [`Error::Full`] for the
///   flooding keys after bounded work, not in slow lookups.
/// - **Single writer:** changes take `&mut self`; there are no locks or atomics inside.
/// - **Lookups** read the primary bucket and, only where flows overflowed from it, the
///   other one. [`lookup_bulk`](Self::lookup_bulk) hashes a batch of up to 64 keys and
///   prefetches all their buckets, then all their candidate entries, then compares keys.
///
/// The design notes and a worked example are the documentation of the `table` module in
/// the source.
pub struct FlowTable<'s, K, V, L = Auto> {
    lookup: L,
    seed: u32,
    /// `buckets.len() - 1`.
    mask: usize,
    buckets: &'s mut [Bucket],
    entries: &'s mut [Entry<K, V>],
    /// Head of the free list, or [`NIL`].
    free: u64,
    len: usize,
}

impl<K, V, L: Lookup> core::fmt::Debug for FlowTable<'_, K, V, L> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FlowTable")
            .field("backend", &self.lookup.backend())
            .field("len", &self.len)
            .field("capacity", &self.entries.len())
            .field("buckets", &self.buckets.len())
            .finish_non_exhaustive()
    }
}

/// The two buckets and the tag of a hash.
#[derive(Clone, Copy)]
struct Place {
    b1: usize,
    b2: usize,
    tag: u16,
}

impl<'s, K: FlowKey, V: Copy, L: Lookup> FlowTable<'s, K, V, L> {
    /// The most keys [`lookup_bulk`](Self::lookup_bulk) takes per call.
    pub const BULK_MAX: usize = BULK;

    /// Buckets for a table of `capacity` entries: the smallest power of two with at least
    /// `capacity / 0.95` slots (at least 1), so the entries fill at most 95 % of the slots.
    pub const fn buckets_for(capacity: usize) -> usize {
        // ceil(capacity / 8 / 0.95) = ceil(5 capacity / 38), without overflow.
        let b = capacity / 38 * 5 + (capacity % 38 * 5).div_ceil(38);
        b.next_power_of_two()
    }

    /// A table over caller storage, emptied: every bucket and entry is reset. The storage
    /// stays borrowed for the table's lifetime. `seed` starts the CRC-32C of every key (see
    /// the module docs on flooding).
    ///
    /// # Errors
    /// [`Error::Storage`] when the bucket count is zero, not a power of two or above 2^28,
    /// or there are more than `u32::MAX - 1` entries.
    pub fn new(
        lookup: L,
        seed: u32,
        buckets: &'s mut [Bucket],
        entries: &'s mut [Entry<K, V>],
    ) -> Result<Self, Error> {
        if !buckets.len().is_power_of_two() {
            return Err(Error::Storage {
                what: "the bucket count must be a power of two (and not zero)",
            });
        }
        if buckets.len() > MAX_BUCKETS {
            return Err(Error::Storage {
                what: "more than 2^28 buckets",
            });
        }
        if u32::try_from(entries.len()).map_or(true, |n| n > MAX_ENTRIES) {
            return Err(Error::Storage {
                what: "more than 2^32 - 2 entries",
            });
        }
        let mut table = Self {
            lookup,
            seed,
            mask: buckets.len() - 1,
            buckets,
            entries,
            free: NIL,
            len: 0,
        };
        table.clear();
        Ok(table)
    }

    /// Entries the storage holds: the most flows the table can hold.
    pub fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// Flows in the table.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table holds no flow.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The kernels the table runs on.
    pub fn lookup_kernels(&self) -> L {
        self.lookup
    }

    /// Runs the table on other kernels from now on, e.g. another backend through
    /// [`Auto::with_backend`]. Every backend computes the same hashes and tag matches, so the
    /// stored flows stay valid.
    pub fn set_lookup(&mut self, lookup: L) {
        self.lookup = lookup;
    }

    /// The hash the table gives `key`: CRC-32C of its bytes, started from the seed.
    #[inline]
    pub fn hash(&self, key: &K) -> u32 {
        self.hash_with(&self.lookup, key)
    }

    #[inline(always)]
    fn hash_with<Lk: Lookup>(&self, lk: &Lk, key: &K) -> u32 {
        lk.crc32c(self.seed, key.bytes())
    }

    /// Both buckets and the tag of `hash`.
    #[inline(always)]
    fn place(&self, hash: u32) -> Place {
        let tag = (hash >> 16) as u16;
        let b1 = hash as usize & self.mask;
        let b2 = (b1 ^ usize::from(tag)) & self.mask;
        Place { b1, b2, tag }
    }

    /// The slot of `bucket` among `cands` holding `key`: `(slot, entry index)`.
    #[inline(always)]
    fn pick(&self, b: &Bucket, mut cands: u16, key: &K) -> Option<(usize, u32)> {
        while cands != 0 {
            let slot = cands.trailing_zeros() as usize % SLOTS;
            cands &= cands - 1;
            let idx = b.entry[slot];
            if self
                .entries
                .get(idx as usize)
                .is_some_and(|e| e.key == *key)
            {
                return Some((slot, idx));
            }
        }
        None
    }

    /// Where `key` is: `(bucket, slot, entry index)`. Reads `b2` only when flows of `b1`
    /// have overflowed.
    #[inline]
    fn find(&self, key: &K, hash: u32) -> Option<(usize, usize, u32)> {
        self.find_with(&self.lookup, key, hash)
    }

    /// [`find`](Self::find) on the kernels `lk`.
    #[inline(always)]
    fn find_with<Lk: Lookup>(&self, lk: &Lk, key: &K, hash: u32) -> Option<(usize, usize, u32)> {
        let p = self.place(hash);
        let x = self.buckets.get(p.b1)?;
        if let Some((slot, idx)) = self.pick(x, x.matches(lk, p.tag), key) {
            return Some((p.b1, slot, idx));
        }
        if x.overflow == 0 || p.b1 == p.b2 {
            return None;
        }
        let y = self.buckets.get(p.b2)?;
        let (slot, idx) = self.pick(y, y.matches(lk, p.tag), key)?;
        Some((p.b2, slot, idx))
    }

    /// Inserts a new flow with [`hash`](Self::hash)`(&key)`, last seen at `now`.
    ///
    /// # Errors
    /// [`Error::Exists`] (with its id) when `key` is already in the table;
    /// [`Error::Full`] when every entry is in use or no chain of at most a few moves leads
    /// to a free slot in the key's buckets. Either way nothing changed.
    pub fn insert(&mut self, key: K, value: V, now: u64) -> Result<FlowId, Error> {
        let hash = self.hash(&key);
        self.insert_with_hash(key, hash, value, now)
    }

    /// [`insert`](Self::insert) with a hash the caller computed (e.g. the NIC's RSS hash).
    /// Every call for this key must use the same hash.
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    pub fn insert_with_hash(
        &mut self,
        key: K,
        hash: u32,
        value: V,
        now: u64,
    ) -> Result<FlowId, Error> {
        if let Some((_, _, id)) = self.find(&key, hash) {
            return Err(Error::Exists { id });
        }
        let full = Error::Full {
            capacity: self.entries.len(),
        };
        let Some(idx) = usize::try_from(self.free).ok() else {
            return Err(full);
        };
        let Some(next) = self.entries.get(idx).map(|e| e.last_seen) else {
            return Err(full);
        };
        let p = self.place(hash);
        let (bucket, slot) = self.make_room(p).ok_or(full)?;
        #[expect(clippy::cast_possible_truncation, reason = "ids are below 2^32 - 2")]
        let id = idx as u32;
        let (Some(b), Some(e)) = (self.buckets.get_mut(bucket), self.entries.get_mut(idx)) else {
            return Err(full);
        };
        b.tags[slot] = p.tag;
        b.entry[slot] = id;
        b.occupied |= 1 << slot;
        if bucket == p.b1 {
            b.alternate &= !(1 << slot);
        } else {
            b.alternate |= 1 << slot;
        }
        *e = Entry {
            key,
            value,
            last_seen: now,
            slot: position(bucket, slot),
        };
        if bucket != p.b1 {
            self.add_overflow(p.b1, 1);
        }
        self.free = next;
        self.len += 1;
        Ok(FlowId(id))
    }

    /// Adds `delta` (±1) to the overflow count of `bucket`.
    fn add_overflow(&mut self, bucket: usize, delta: i32) {
        if let Some(b) = self.buckets.get_mut(bucket) {
            b.overflow = b.overflow.wrapping_add_signed(delta);
        }
    }

    /// A free slot for a flow of place `p`: in `b1` if it has one (so lookups of the flow
    /// read one bucket), else in `b2`, else after moving other flows to their other
    /// buckets: `(bucket, slot)`, or `None` with nothing moved.
    fn make_room(&mut self, p: Place) -> Option<(usize, usize)> {
        for bucket in [p.b1, p.b2] {
            if let Some(slot) = self.buckets.get(bucket)?.free_slot() {
                return Some((bucket, slot));
            }
        }
        self.displace(p)
    }

    /// Breadth-first search for a chain of moves from `p.b1` or `p.b2` to a free slot
    /// (both buckets full). The chain is applied only once found.
    fn displace(&mut self, p: Place) -> Option<(usize, usize)> {
        let root = |bucket: usize| Node {
            #[expect(clippy::cast_possible_truncation, reason = "below 2^28 buckets")]
            bucket: bucket as u32,
            parent: ROOT,
            slot: 0,
        };
        let mut queue = [root(p.b1); SEARCH_NODES];
        let mut tail = 1;
        if p.b2 != p.b1 {
            queue[1] = root(p.b2);
            tail = 2;
        }
        let mut head = 0;
        while head < tail {
            let node = *queue.get(head)?;
            let from = node.bucket as usize;
            let b = *self.buckets.get(from)?;
            for (slot, &tag) in b.tags.iter().enumerate() {
                let alt = (from ^ usize::from(tag)) & self.mask;
                if alt == from || on_path(&queue, head, alt) {
                    continue;
                }
                if let Some(free) = self.buckets.get(alt)?.free_slot() {
                    return self.apply_moves(&queue, head, slot, alt, free);
                }
                if let Some(q) = queue.get_mut(tail) {
                    *q = Node {
                        #[expect(clippy::cast_possible_truncation, reason = "below 2^28")]
                        bucket: alt as u32,
                        #[expect(clippy::cast_possible_truncation, reason = "head < 64")]
                        parent: head as u8,
                        #[expect(clippy::cast_possible_truncation, reason = "slot < 8")]
                        slot: slot as u8,
                    };
                    tail += 1;
                }
            }
            head += 1;
        }
        None
    }

    /// Moves the flow in `slot` of node `at` to `free` of bucket `alt`, then each flow
    /// of the chain back to the root into the slot just vacated; returns the root slot
    /// freed.
    fn apply_moves(
        &mut self,
        queue: &[Node; SEARCH_NODES],
        mut at: usize,
        mut slot: usize,
        mut to_bucket: usize,
        mut to_slot: usize,
    ) -> Option<(usize, usize)> {
        loop {
            let node = *queue.get(at)?;
            let from = node.bucket as usize;
            self.move_slot(from, slot, to_bucket, to_slot)?;
            if node.parent == ROOT {
                return Some((from, slot));
            }
            (to_bucket, to_slot) = (from, slot);
            slot = usize::from(node.slot);
            at = usize::from(node.parent);
        }
    }

    /// Moves the flow in `(from, slot)` to the unused `(to, to_slot)`, its other bucket.
    fn move_slot(&mut self, from: usize, slot: usize, to: usize, to_slot: usize) -> Option<()> {
        let src = self.buckets.get_mut(from)?;
        let (tag, idx) = (src.tags[slot], src.entry[slot]);
        let was_alternate = src.alternate & (1 << slot) != 0;
        src.occupied &= !(1 << slot);
        src.alternate &= !(1 << slot);
        let dst = self.buckets.get_mut(to)?;
        dst.tags[to_slot] = tag;
        dst.entry[to_slot] = idx;
        dst.occupied |= 1 << to_slot;
        if was_alternate {
            // Back home: `to` is its b1.
            debug_assert!(dst.overflow > 0);
            dst.overflow = dst.overflow.wrapping_sub(1);
        } else {
            // Leaving home: `from` is its b1.
            dst.alternate |= 1 << to_slot;
            self.add_overflow(from, 1);
        }
        self.entries.get_mut(idx as usize)?.slot = position(to, to_slot);
        Some(())
    }

    /// The id of `key`'s flow.
    #[inline]
    pub fn lookup(&self, key: &K) -> Option<FlowId> {
        self.lookup.specialize(Find {
            table: self,
            key,
            hash: None,
        })
    }

    /// [`lookup`](Self::lookup) with the hash the flow was inserted with.
    #[inline]
    pub fn lookup_with_hash(&self, key: &K, hash: u32) -> Option<FlowId> {
        self.lookup.specialize(Find {
            table: self,
            key,
            hash: Some(hash),
        })
    }

    /// The key and value of flow `id`, if it is in the table.
    pub fn get(&self, id: FlowId) -> Option<(&K, &V)> {
        self.entry(id).map(|e| (&e.key, &e.value))
    }

    /// When flow `id` was inserted or last [touched](Self::touch).
    pub fn last_seen(&self, id: FlowId) -> Option<u64> {
        self.entry(id).map(|e| e.last_seen)
    }

    /// The value of flow `id`, to change in place.
    pub fn value_mut(&mut self, id: FlowId) -> Option<&mut V> {
        self.entry_mut(id).map(|e| &mut e.value)
    }

    fn entry(&self, id: FlowId) -> Option<&Entry<K, V>> {
        self.entries.get(id.index()).filter(|e| e.in_use())
    }

    fn entry_mut(&mut self, id: FlowId) -> Option<&mut Entry<K, V>> {
        self.entries.get_mut(id.index()).filter(|e| e.in_use())
    }

    /// The primary bucket of `hash` (crate-internal: the classifier's probe pipeline).
    #[inline(always)]
    pub(crate) fn primary_bucket(&self, hash: u32) -> Option<&Bucket> {
        self.buckets.get(hash as usize & self.mask)
    }

    /// The other bucket of `hash` (crate-internal: the classifier's probe pipeline).
    #[inline(always)]
    pub(crate) fn alternate_bucket(&self, hash: u32) -> Option<&Bucket> {
        self.buckets.get(self.place(hash).b2)
    }

    /// A prefetch of entry `idx`'s key (crate-internal: the classifier's probe pipeline).
    #[inline(always)]
    pub(crate) fn prefetch_entry_at<Lk: Lookup>(&self, lk: &Lk, idx: u32) {
        self.prefetch_entry(lk, idx);
    }

    /// Key and value of entry `idx` if it is in use.
    #[inline(always)]
    pub(crate) fn entry_at(&self, idx: u32) -> Option<(&K, &V)> {
        self.entries
            .get(idx as usize)
            .filter(|e| e.in_use())
            .map(|e| (&e.key, &e.value))
    }

    /// Replaces the value of `key`'s flow (its `last_seen` stays).
    ///
    /// # Errors
    /// [`Error::NotFound`] when `key` is not in the table.
    pub fn update(&mut self, key: &K, value: V) -> Result<FlowId, Error> {
        let id = self.lookup(key).ok_or(Error::NotFound)?;
        let e = self.entry_mut(id).ok_or(Error::NotFound)?;
        e.value = value;
        Ok(id)
    }

    /// Records that flow `id` was seen at `now` (the clock [`expire`](Self::expire)
    /// compares against).
    ///
    /// # Errors
    /// [`Error::NotFound`] when no flow has this id.
    pub fn touch(&mut self, id: FlowId, now: u64) -> Result<(), Error> {
        self.entry_mut(id).ok_or(Error::NotFound)?.last_seen = now;
        Ok(())
    }

    /// Removes `key`'s flow: its id (free for reuse from now on) and value.
    pub fn remove(&mut self, key: &K) -> Option<(FlowId, V)> {
        self.remove_with_hash(key, self.hash(key))
    }

    /// [`remove`](Self::remove) with the hash the flow was inserted with.
    pub fn remove_with_hash(&mut self, key: &K, hash: u32) -> Option<(FlowId, V)> {
        let (bucket, slot, id) = self.find(key, hash)?;
        let (_, value) = self.release(bucket, slot, id)?;
        Some((FlowId(id), value))
    }

    /// Removes flow `id`: its key and value.
    pub fn remove_id(&mut self, id: FlowId) -> Option<(K, V)> {
        let pos = self.entry(id)?.slot as usize;
        let (bucket, slot) = (pos / SLOTS, pos % SLOTS);
        let b = self.buckets.get(bucket)?;
        let consistent = b.occupied & (1 << slot) != 0 && b.entry[slot] == id.0;
        debug_assert!(consistent, "entry {id} does not point back at its slot");
        if !consistent {
            return None;
        }
        self.release(bucket, slot, id.0)
    }

    /// Frees slot `(bucket, slot)` and entry `id` (which it points to).
    fn release(&mut self, bucket: usize, slot: usize, id: u32) -> Option<(K, V)> {
        let b = self.buckets.get_mut(bucket)?;
        let e = self.entries.get_mut(id as usize)?;
        let home = (b.alternate & (1 << slot) != 0).then_some(usize::from(b.tags[slot]));
        b.occupied &= !(1 << slot);
        b.alternate &= !(1 << slot);
        e.slot = FREE;
        e.last_seen = self.free;
        let (key, value) = (e.key, e.value);
        self.free = u64::from(id);
        self.len -= 1;
        if let Some(tag) = home {
            self.add_overflow((bucket ^ tag) & self.mask, -1);
        }
        Some((key, value))
    }

    /// Looks up `keys` (at most [`BULK_MAX`](Self::BULK_MAX)): `out[i]` is the id of
    /// `keys[i]` or `None`, and bit `i` of the returned mask is set when it was found.
    /// `out` beyond `keys.len()` is left alone.
    ///
    /// A pipeline overlaps the cache misses of the batch (see the module docs): per key,
    /// hash and prefetch its primary bucket; 16 keys later compare tags there and prefetch
    /// the candidate entry (or, for a key with no candidate in a bucket whose flows have
    /// overflowed, its other bucket); 16 keys later again compare the key. The few keys
    /// left (tag collisions, flows in their alternate bucket) are finished one by one.
    ///
    /// # Errors
    /// [`Error::BatchTooLarge`] above 64 keys; [`Error::OutputTooSmall`] when `out` is
    /// shorter than `keys`.
    #[inline]
    pub fn lookup_bulk(&self, keys: &[K], out: &mut [Option<FlowId>]) -> Result<u64, Error> {
        check_batch(keys.len(), keys.len(), out.len())?;
        Ok(self.lookup.specialize(Bulk {
            table: self,
            keys,
            hashes: None,
            out,
        }))
    }

    /// [`lookup_bulk`](Self::lookup_bulk) with the hash of every key given (`hashes[i]`
    /// for `keys[i]`, as each flow was inserted with).
    ///
    /// # Errors
    /// As [`lookup_bulk`](Self::lookup_bulk), and [`Error::LengthMismatch`] when `hashes`
    /// and `keys` differ in length.
    #[inline]
    pub fn lookup_bulk_with_hash(
        &self,
        keys: &[K],
        hashes: &[u32],
        out: &mut [Option<FlowId>],
    ) -> Result<u64, Error> {
        check_batch(keys.len(), hashes.len(), out.len())?;
        Ok(self.lookup.specialize(Bulk {
            table: self,
            keys,
            hashes: Some(hashes),
            out,
        }))
    }

    /// The whole bulk lookup on the kernels `lk`, batch already checked (at most [`BULK`]
    /// keys, `given` as long as `keys` when there, `out` at least as long).
    ///
    /// A software pipeline over the batch, one key per turn: key `i + 2 * AHEAD` is hashed
    /// and its primary bucket prefetched, key `i + AHEAD` has its tags compared and its
    /// candidate entry prefetched, key `i` has its key compared. Every turn thus starts two
    /// cache misses and consumes two started `AHEAD` turns earlier, so about `2 * AHEAD`
    /// misses are in flight all along (instead of a burst per stage followed by a wait),
    /// and each hit touches two cache lines: its bucket and its entry's key.
    #[inline(always)]
    fn bulk_with<Lk: Lookup>(
        &self,
        lk: &Lk,
        keys: &[K],
        given: Option<&[u32]>,
        out: &mut [Option<FlowId>],
    ) -> u64 {
        // One pipeline per hash source, so the choice is not made again for every key.
        match given {
            Some(g) => self.bulk_pipeline(lk, keys, |i| g.get(i).copied().unwrap_or(0), out),
            None => self.bulk_pipeline(
                lk,
                keys,
                // (The seed read once, not once per key.)
                {
                    let seed = self.seed;
                    move |i| keys.get(i).map_or(0, |k| lk.crc32c(seed, k.bytes()))
                },
                out,
            ),
        }
    }

    /// [`bulk_with`](Self::bulk_with) with `hash_of(i)` the hash of `keys[i]`.
    #[inline(always)]
    fn bulk_pipeline<Lk: Lookup>(
        &self,
        lk: &Lk,
        keys: &[K],
        hash_of: impl Fn(usize) -> u32,
        out: &mut [Option<FlowId>],
    ) -> u64 {
        // Never entry indices (there are at most 2^32 - 2 entries).
        const NONE: u32 = u32::MAX;
        const ELSEWHERE: u32 = u32::MAX - 1;
        let n = keys.len().min(BULK);
        let empty = Bucket::EMPTY;
        // The mask as `len - 1` (the same value: `new` checks for a power of two and at
        // least one bucket), so that the compiler sees that `h & mask` is in bounds and
        // keeps no check in the loops; `keys` and `out` cut to the batch for the same
        // reason.
        let buckets = &*self.buckets;
        let (true, Some(keys), Some(out)) = (!buckets.is_empty(), keys.get(..n), out.get_mut(..n))
        else {
            return 0; // unreachable: `new` and `check_batch` rule these out
        };
        let mask = buckets.len() - 1;
        let primary = |h: u32| buckets.get(h as usize & mask).unwrap_or(&empty);
        // Per key: its hash, and the entry of its first tag match (`NONE` without one: an
        // unused slot's stale index may name a free entry still holding the key;
        // `ELSEWHERE` without one in a bucket whose flows overflowed). Indexed with
        // `& (BULK - 1)` so that no bounds check is left in the loops.
        let mut hashes = [0u32; BULK];
        let mut first = [NONE; BULK];
        // Keys not found by their first candidate that may be elsewhere.
        let mut more = 0u64;
        let mut hits = 0u64;
        // Stage 1: the hash and a prefetch of the primary bucket.
        let hash = |i: usize, hashes: &mut [u32; BULK]| {
            let h = hash_of(i);
            hashes[i & (BULK - 1)] = h;
            if let Some(b) = buckets.get(h as usize & mask) {
                lk.prefetch(b);
            }
        };
        // Stage 2: the tag compare, then a prefetch of the first candidate's key, or of the
        // other bucket when there is none and flows of this bucket live elsewhere (marked
        // `ELSEWHERE` for the compare).
        let tags = |i: usize, hashes: &[u32; BULK], first: &mut [u32; BULK]| {
            let h = hashes[i & (BULK - 1)];
            let x = primary(h);
            let m = x.matches(lk, (h >> 16) as u16);
            if m != 0 {
                let f = x.entry[m.trailing_zeros() as usize % SLOTS];
                first[i & (BULK - 1)] = f;
                self.prefetch_entry(lk, f);
            } else if x.overflow != 0 {
                first[i & (BULK - 1)] = ELSEWHERE;
                self.prefetch_bucket(lk, self.place(h).b2);
            }
        };
        // Stage 3: the key compare; the first candidate is the flow nearly always.
        let compare = |i: usize,
                       hashes: &[u32; BULK],
                       first: &[u32; BULK],
                       out: &mut [Option<FlowId>],
                       more: &mut u64|
         -> u64 {
            let f = first[i & (BULK - 1)];
            let hit = keys
                .get(i)
                .is_some_and(|k| self.entries.get(f as usize).is_some_and(|e| e.key == *k));
            if let Some(o) = out.get_mut(i) {
                *o = hit.then_some(FlowId(f));
            }
            if !hit {
                // May it be elsewhere (a second tag match, or a primary bucket whose flows
                // have overflowed)? Asked only here, of the keys not found, so that a hit
                // does not pay for the question: 1K-flow hits ~14 % faster than when the
                // tag stage asked it of every key. `NONE`: no tag match and no overflow, a
                // miss. `ELSEWHERE`: no tag match but an overflow. Else a first candidate
                // that was not the key (rare): look at its bucket again, still cached.
                let maybe = f == ELSEWHERE
                    || f != NONE && {
                        let h = hashes[i & (BULK - 1)];
                        let x = primary(h);
                        let m = x.matches(lk, (h >> 16) as u16);
                        x.overflow != 0 || m & m.wrapping_sub(1) != 0
                    };
                *more |= u64::from(maybe) << (i & (BULK - 1));
            }
            u64::from(hit) << (i & (BULK - 1))
        };
        // Fill, steady state, drain; at the end `AHEAD` keys wait for their compare.
        for i in 0..n.min(AHEAD) {
            hash(i, &mut hashes);
        }
        for i in AHEAD..n.min(2 * AHEAD) {
            hash(i, &mut hashes);
            tags(i - AHEAD, &hashes, &mut first);
        }
        for i in 2 * AHEAD..n {
            hash(i, &mut hashes);
            tags(i - AHEAD, &hashes, &mut first);
            hits |= compare(i - 2 * AHEAD, &hashes, &first, out, &mut more);
        }
        for i in n.saturating_sub(AHEAD)..n {
            tags(i, &hashes, &mut first);
            if i >= AHEAD {
                hits |= compare(i - AHEAD, &hashes, &first, out, &mut more);
            }
        }
        for i in n.saturating_sub(AHEAD)..n {
            hits |= compare(i, &hashes, &first, out, &mut more);
        }
        // The rest, one by one: a tag collision, or a flow in its other bucket (that bucket
        // was prefetched above when the primary had no match at all).
        let mut rest = more;
        while rest != 0 {
            let i = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            let (Some(k), Some(o)) = (keys.get(i), out.get_mut(i)) else {
                break;
            };
            *o = self
                .find_with(lk, k, hashes[i & (BULK - 1)])
                .map(|(_, _, id)| FlowId(id));
            hits |= u64::from(o.is_some()) << i;
        }
        hits
    }

    #[inline(always)]
    fn prefetch_bucket<Lk: Lookup>(&self, lk: &Lk, bucket: usize) {
        if let Some(b) = self.buckets.get(bucket) {
            lk.prefetch(b);
        }
    }

    #[inline(always)]
    fn prefetch_entry<Lk: Lookup>(&self, lk: &Lk, idx: u32) {
        if let Some(e) = self.entries.get(idx as usize) {
            lk.prefetch(&e.key);
        }
    }

    /// Removes flows idle for more than `max_idle` (`now - last_seen`, saturating, so a
    /// clock that went backwards expires nothing), scanning at most `budget` entries from
    /// `*cursor` on (wrapping at the end; never more than the capacity in one call) and
    /// leaving `*cursor` after the last entry scanned, for the next call to continue.
    /// `on_expire` sees each removed flow (its id is already free for reuse). Returns how
    /// many flows were removed. No clock inside: `now` and `max_idle` are in whatever unit
    /// the caller's `now` values at insert and [`touch`](Self::touch) were.
    pub fn expire(
        &mut self,
        now: u64,
        max_idle: u64,
        cursor: &mut usize,
        budget: usize,
        mut on_expire: impl FnMut(FlowId, &K, &V),
    ) -> usize {
        let n = self.entries.len();
        if n == 0 {
            *cursor = 0;
            return 0;
        }
        let mut i = *cursor % n;
        let mut removed = 0;
        for _ in 0..budget.min(n) {
            if let Some(e) = self.entries.get(i)
                && e.in_use()
                && now.saturating_sub(e.last_seen) > max_idle
            {
                #[expect(clippy::cast_possible_truncation, reason = "ids are below 2^32 - 2")]
                let id = FlowId(i as u32);
                if let Some((key, value)) = self.remove_id(id) {
                    on_expire(id, &key, &value);
                    removed += 1;
                }
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
        *cursor = i;
        removed
    }

    /// Every flow, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (FlowId, &K, &V)> {
        self.entries
            .iter()
            .zip(0u32..)
            .filter(|(e, _)| e.in_use())
            .map(|(e, id)| (FlowId(id), &e.key, &e.value))
    }

    /// Removes every flow (O(capacity)); ids are then handed out from 0 again.
    pub fn clear(&mut self) {
        self.buckets.fill(Bucket::EMPTY);
        let n = self.entries.len();
        for (e, next) in self.entries.iter_mut().zip(1u64..) {
            e.slot = FREE;
            e.last_seen = next;
        }
        if let Some(last) = self.entries.last_mut() {
            last.last_seen = NIL;
        }
        self.free = if n == 0 { NIL } else { 0 };
        self.len = 0;
    }
}

/// The position stored in an entry: `bucket * 8 + slot` (below 2^31).
#[inline]
fn position(bucket: usize, slot: usize) -> u32 {
    #[expect(clippy::cast_possible_truncation, reason = "below 2^28 buckets")]
    let pos = (bucket * SLOTS + slot) as u32;
    pos
}

/// Whether `bucket` is node `at` or one of its ancestors (a chain must not pass a bucket
/// twice).
fn on_path(queue: &[Node; SEARCH_NODES], mut at: usize, bucket: usize) -> bool {
    while let Some(node) = queue.get(at) {
        if node.bucket as usize == bucket {
            return true;
        }
        if node.parent == ROOT {
            return false;
        }
        at = usize::from(node.parent);
    }
    false
}

/// One lookup as a [`LookupTask`], so it runs on the concrete backend with its kernels
/// inlined (see [`Lookup::specialize`]).
struct Find<'a, 's, K, V, L> {
    table: &'a FlowTable<'s, K, V, L>,
    key: &'a K,
    /// The caller's hash, or `None` for the table's own.
    hash: Option<u32>,
}

impl<K: FlowKey, V: Copy, L: Lookup> LookupTask for Find<'_, '_, K, V, L> {
    type Output = Option<FlowId>;

    #[inline(always)]
    fn run<Lk: Lookup>(self, lk: Lk) -> Option<FlowId> {
        let hash = match self.hash {
            Some(h) => h,
            None => self.table.hash_with(&lk, self.key),
        };
        self.table
            .find_with(&lk, self.key, hash)
            .map(|(_, _, id)| FlowId(id))
    }
}

/// A bulk lookup (batch checked) as a [`LookupTask`].
struct Bulk<'a, 's, K, V, L> {
    table: &'a FlowTable<'s, K, V, L>,
    keys: &'a [K],
    /// The caller's hashes, or `None` for the table's own.
    hashes: Option<&'a [u32]>,
    out: &'a mut [Option<FlowId>],
}

impl<K: FlowKey, V: Copy, L: Lookup> LookupTask for Bulk<'_, '_, K, V, L> {
    type Output = u64;

    #[inline(always)]
    fn run<Lk: Lookup>(self, lk: Lk) -> u64 {
        self.table.bulk_with(&lk, self.keys, self.hashes, self.out)
    }
}

/// The argument checks of the bulk lookups.
fn check_batch(keys: usize, hashes: usize, out: usize) -> Result<(), Error> {
    if keys > BULK {
        return Err(Error::BatchTooLarge {
            len: keys,
            max: BULK,
        });
    }
    if hashes != keys {
        return Err(Error::LengthMismatch {
            expected: keys,
            found: hashes,
        });
    }
    if out < keys {
        return Err(Error::OutputTooSmall {
            needed: keys,
            available: out,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Ipv4Tuple, Scalar};
    use offload_testkit::Rng;

    /// Checks every structural invariant: slots and entries point at each other, `len`,
    /// the free list, the alternate bits (when `own_hash`) and the overflow counts.
    fn check<L: Lookup>(t: &FlowTable<'_, Ipv4Tuple, u32, L>, own_hash: bool) {
        let mut overflow = std::vec![0u32; t.buckets.len()];
        let mut slots = 0;
        for (bi, b) in t.buckets.iter().enumerate() {
            for s in 0..SLOTS {
                if b.occupied & (1 << s) == 0 {
                    assert_eq!(b.alternate & (1 << s), 0, "bucket {bi} slot {s}");
                    continue;
                }
                slots += 1;
                let e = &t.entries[b.entry[s] as usize];
                assert_eq!(e.slot, position(bi, s), "bucket {bi} slot {s}");
                let other = (bi ^ usize::from(b.tags[s])) & t.mask;
                let alternate = b.alternate & (1 << s) != 0;
                if alternate {
                    assert_ne!(other, bi);
                    overflow[other] += 1;
                }
                if own_hash {
                    let p = t.place(t.hash(&e.key));
                    assert_eq!(p.tag, b.tags[s]);
                    assert_eq!(bi == p.b1, !alternate, "bucket {bi} slot {s}");
                }
            }
        }
        for (bi, b) in t.buckets.iter().enumerate() {
            assert_eq!(b.overflow, overflow[bi], "overflow of bucket {bi}");
        }
        let used = t.entries.iter().filter(|e| e.in_use()).count();
        assert_eq!((slots, used), (t.len, t.len));
        let (mut free, mut at) = (0, t.free);
        while at != NIL {
            let e = &t.entries[at as usize];
            assert!(!e.in_use());
            free += 1;
            assert!(free <= t.entries.len(), "free list loops");
            at = e.last_seen;
        }
        assert_eq!(free + t.len, t.entries.len());
    }

    fn key(i: u64) -> Ipv4Tuple {
        let b = i.to_le_bytes();
        Ipv4Tuple::new([b[0], b[1], b[2], 1], [2, 3, 4, 5], 80, 443, 6)
    }

    fn churn<L: Lookup>(lookup: L, forced: bool, seed: u64) {
        let (cap, nb) = if cfg!(miri) { (40, 4) } else { (600, 64) };
        let mut buckets = std::vec![Bucket::EMPTY; nb];
        let mut entries = std::vec![Entry::<Ipv4Tuple, u32>::default(); cap];
        let mut t = FlowTable::new(lookup, 5, &mut buckets, &mut entries).unwrap();
        let mut rng = Rng::new(seed);
        let space = cap as u64 * 2;
        let hash = |t: &FlowTable<'_, Ipv4Tuple, u32, L>, i: u64| {
            if forced {
                // Eight hashes: heavy sharing of buckets and tags.
                [
                    0x0001_0000,
                    0x0001_0001,
                    0,
                    0x0002_0003,
                    0x0007_0005,
                    0x0003_0001,
                    0x0010_0002,
                    0x0005_0006,
                ][(i % 8) as usize]
            } else {
                t.hash(&key(i))
            }
        };
        let steps = if cfg!(miri) { 300 } else { 20_000 };
        let mut cursor = 0;
        for now in 0..steps {
            let i = rng.next_u64() % space;
            let h = hash(&t, i);
            match rng.below(10) {
                0..=5 => {
                    let _ = t.insert_with_hash(key(i), h, 0, now);
                }
                6 | 7 => {
                    let _ = t.remove_with_hash(&key(i), h);
                }
                8 => {
                    let _ = t.remove_id(FlowId(rng.below(cap) as u32));
                }
                _ => {
                    t.expire(now, 200, &mut cursor, 20, |_, _, _| {});
                }
            }
            if now % 97 == 0 {
                check(&t, !forced);
            }
        }
        check(&t, !forced);
    }

    #[test]
    fn invariants_hold_under_churn() {
        for seed in 0..if cfg!(miri) { 1 } else { 4 } {
            churn(Scalar, false, seed);
            churn(Scalar, true, seed);
            churn(Auto::detect(), false, seed);
        }
    }
}
