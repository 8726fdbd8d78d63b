//! The aggregation node: a caller-provided pool of slots, two versions each.

use super::fold::{absorb, acc_size, finish};
use super::job::{Job, MAX_FAN_IN, in_range};
use super::wire::{HEADER_LEN, Header, Kind, Packet, RANK_ALL};
use crate::{Auto, Error, Reducer};

/// Where a node sits in the tree and how many children it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeConfig {
    /// The job.
    pub job: Job,
    /// Children (workers or nodes), ranks `0..fan_in`, 1..=[`MAX_FAN_IN`].
    pub fan_in: usize,
    /// This node's rank at its parent, or `None` at the root.
    pub parent_rank: Option<u8>,
}

impl NodeConfig {
    /// Bytes of storage one version of one slot needs: `chunk × fan_in × dtype.size()` in
    /// reproducible mode (every child's chunk is kept until all have arrived), else
    /// `chunk × acc` with `acc` = 4 (an f32 accumulator) for f16, bf16 and FP8 and the
    /// element size otherwise. (The final result a non-root node receives from its parent
    /// reuses the same bytes.)
    pub const fn version_bytes(&self) -> usize {
        let per = if self.job.reproducible {
            self.fan_in.saturating_mul(self.job.dtype.size())
        } else {
            acc_size(self.job.dtype)
        };
        self.job.chunk.saturating_mul(per)
    }

    /// Bytes of storage for `slots` slots: `slots × 2 × version_bytes()` (saturating).
    pub const fn storage_len(&self, slots: usize) -> usize {
        slots.saturating_mul(2).saturating_mul(self.version_bytes())
    }

    /// The longest packet the node emits: header plus a full chunk. A smaller `out` buffer
    /// is enough when the job's chunks are shorter.
    pub const fn max_packet_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.job.chunk.saturating_mul(self.job.dtype.size()))
    }

    /// Checks every field.
    ///
    /// # Errors
    /// As [`Job::validate`]; [`Error::Config`] for `fan_in` or `parent_rank` out of range.
    pub fn validate(&self) -> Result<(), Error> {
        self.job.validate()?;
        in_range("fan_in", self.fan_in, 1, MAX_FAN_IN)?;
        if let Some(r) = self.parent_rank {
            in_range(
                "parent_rank",
                usize::from(r),
                0,
                MAX_FAN_IN.saturating_sub(1),
            )?;
        }
        Ok(())
    }
}

/// What to send after [`Node::handle`]: the packet is `out[..len]`. The caller does the I/O.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Nothing to send (a contribution absorbed into an incomplete slot, a duplicate, a
    /// stale packet).
    Nothing,
    /// Send to the parent: this node's partial result (first time or again, for a
    /// retransmission from below).
    SendUp(usize),
    /// Send to every child: a final result (at the root when a chunk completes; at an inner
    /// node when the parent's result arrives) or a forwarded `NoSlot`.
    Multicast(usize),
    /// Send to child `rank`: a final result from the slot's cache (possibly the shadow
    /// copy), or `NoSlot`.
    Unicast {
        /// The child's rank.
        rank: u8,
        /// Packet length.
        len: usize,
    },
}

impl Action {
    /// The packet length, if there is a packet.
    pub const fn packet_len(&self) -> Option<usize> {
        match *self {
            Action::Nothing => None,
            Action::SendUp(len) | Action::Multicast(len) | Action::Unicast { len, .. } => Some(len),
        }
    }
}

/// Counters of what a node has seen (wrapping).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NodeStats {
    /// First arrivals of a child's chunk, folded in.
    pub contributions: u64,
    /// Chunks completed here (all children in).
    pub completed: u64,
    /// Retransmitted chunks from a child already counted (absorbed: dropped, answered or
    /// forwarded up), and repeated results from the parent.
    pub duplicates: u64,
    /// Retransmissions answered from a completed slot (unicast).
    pub answered: u64,
    /// Of those, answered from the shadow copy (the slot's other version already holds a
    /// later chunk).
    pub answered_shadow: u64,
    /// Partial results sent up again because a child retransmitted while this node waited
    /// for the parent.
    pub resent_up: u64,
    /// Final results received from the parent (first copies).
    pub results: u64,
    /// Packets for a chunk the slot has moved past (late retransmissions nobody needs), or
    /// results for a chunk this node is not waiting for.
    pub stale: u64,
    /// `NoSlot` replies sent or forwarded.
    pub no_slot: u64,
}

/// A slot version's phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Phase {
    /// Never used.
    Empty,
    /// Some children in.
    Collecting,
    /// Every child in. Root: final. Inner node: partial sent up, waiting for the result.
    Complete,
    /// Inner node: the parent's result is stored (the children's data is gone).
    Final,
}

/// One version of a slot: which chunk it holds and who has contributed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Version {
    /// The chunk's offset (elements).
    offset: u64,
    /// Children seen (bit = rank).
    seen: u64,
    /// Elements in the chunk.
    count: u16,
    /// `seen.count_ones()`.
    arrived: u8,
    phase: Phase,
}

impl Version {
    const EMPTY: Version = Version {
        offset: 0,
        seen: 0,
        count: 0,
        arrived: 0,
        phase: Phase::Empty,
    };
}

/// One aggregator slot's bookkeeping: the current and the shadow version (SwitchML). The
/// element data lives in the node's byte storage. 48 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Slot {
    versions: [Version; 2],
}

impl Slot {
    /// An unused slot.
    pub const EMPTY: Slot = Slot {
        versions: [Version::EMPTY; 2],
    };
}

impl Default for Slot {
    fn default() -> Self {
        Slot::EMPTY
    }
}

/// An aggregation node (switch ASIC, DPU or host thread): folds the chunks of its children
/// slot by slot and returns what to send; no heap, no clock, no I/O.
///
/// Storage is the caller's: `slots` (one [`Slot`] per hosted slot) and `storage`
/// (at least [`NodeConfig::storage_len`]`(slots.len())` bytes). A node may host fewer slots
/// than the job's pool: chunks mapped to the others are refused with [`Kind::NoSlot`].
#[derive(Debug)]
pub struct Node<'a, R: Reducer = Auto> {
    cfg: NodeConfig,
    reducer: R,
    slots: &'a mut [Slot],
    storage: &'a mut [u8],
    stats: NodeStats,
}

impl<'a, R: Reducer> Node<'a, R> {
    /// A node with every slot empty. It hosts `min(slots.len(), pool)` slots.
    ///
    /// # Errors
    /// As [`NodeConfig::validate`]; [`Error::BufferSize`] if `slots` is empty or `storage`
    /// is shorter than [`NodeConfig::storage_len`].
    pub fn new(
        cfg: NodeConfig,
        reducer: R,
        slots: &'a mut [Slot],
        storage: &'a mut [u8],
    ) -> Result<Self, Error> {
        cfg.validate()?;
        let hosted = slots.len().min(cfg.job.pool);
        if hosted == 0 {
            return Err(Error::BufferSize {
                buffer: "slots",
                needed: 1,
                available: 0,
            });
        }
        let needed = cfg.storage_len(hosted);
        if storage.len() < needed {
            return Err(Error::BufferSize {
                buffer: "slot storage",
                needed,
                available: storage.len(),
            });
        }
        let (slots, _) = slots.split_at_mut(hosted);
        let (storage, _) = storage.split_at_mut(needed);
        slots.fill(Slot::EMPTY);
        Ok(Node {
            cfg,
            reducer,
            slots,
            storage,
            stats: NodeStats::default(),
        })
    }

    /// The configuration.
    pub const fn config(&self) -> &NodeConfig {
        &self.cfg
    }

    /// Slots hosted.
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// The counters.
    pub const fn stats(&self) -> NodeStats {
        self.stats
    }

    /// Handles one packet from a child (data) or from the parent (result, `NoSlot`) and
    /// writes the packet to send, if any, into `out`. `packet` is untrusted: anything
    /// malformed or foreign to the job is an error, and an error changes nothing.
    ///
    /// # Errors
    /// From [`Header::parse`] (length, malformed fields, unsupported operation);
    /// [`Error::Mismatch`] for a packet of another job, operation, type or mode, a slot or
    /// version bit inconsistent with the offset, a count different from the chunk's, a
    /// result at the root, a result or `NoSlot` addressed to another rank;
    /// [`Error::OutOfRange`] for a rank at or above the fan-in, a slot at or above the
    /// pool, a count above the chunk size; [`Error::BufferSize`] if `out` cannot hold the
    /// packet to send (`max_packet_len()` always can).
    pub fn handle(&mut self, packet: &[u8], out: &mut [u8]) -> Result<Action, Error> {
        let p = Packet::new_checked(packet)?;
        let h = Header::parse(&p)?;
        self.cfg.job.check(&h)?;
        match h.kind {
            Kind::Data => self.on_data(&h, p.payload(), out),
            Kind::Result | Kind::NoSlot => self.on_down(&h, p.payload(), out),
        }
    }

    /// A child's chunk.
    fn on_data(&mut self, h: &Header, payload: &[u8], out: &mut [u8]) -> Result<Action, Error> {
        let fan_in = self.cfg.fan_in;
        if usize::from(h.rank) >= fan_in {
            return Err(Error::OutOfRange {
                field: "rank",
                value: u64::from(h.rank),
                limit: fan_in as u64,
            });
        }
        let s = usize::from(h.slot);
        if s >= self.slots.len() {
            // ATP-style spill: this node does not host the slot.
            let reply = Header {
                kind: Kind::NoSlot,
                ..*h
            };
            let len = emit_header(&reply, out)?;
            self.stats.no_slot = self.stats.no_slot.wrapping_add(1);
            return Ok(Action::Unicast { rank: h.rank, len });
        }
        let needed = h.buffer_len();
        if out.len() < needed {
            return Err(Error::BufferSize {
                buffer: "out",
                needed,
                available: out.len(),
            });
        }
        let v = usize::from(h.version);
        let mut e = self.version(s, v);
        if e.phase != Phase::Empty && e.offset > h.offset {
            // The slot moved past this chunk: every worker has its result (see the
            // module docs), so this is a late copy nobody needs.
            self.stats.stale = self.stats.stale.wrapping_add(1);
            return Ok(Action::Nothing);
        }
        if e.phase == Phase::Empty || e.offset < h.offset {
            // A newer chunk for this version: whoever sends it has the result of the
            // chunk one pool earlier, so everyone has finished with the old contents.
            e = Version {
                offset: h.offset,
                seen: 0,
                count: h.count,
                arrived: 0,
                phase: Phase::Collecting,
            };
        } else if e.count != h.count {
            return Err(Error::Mismatch {
                field: "count",
                expected: u64::from(e.count),
                found: u64::from(h.count),
            });
        }
        let bit = 1u64.checked_shl(u32::from(h.rank)).unwrap_or(0);
        if e.seen & bit != 0 {
            self.stats.duplicates = self.stats.duplicates.wrapping_add(1);
            return match e.phase {
                Phase::Empty | Phase::Collecting => Ok(Action::Nothing),
                Phase::Complete if self.cfg.parent_rank.is_some() => {
                    self.stats.resent_up = self.stats.resent_up.wrapping_add(1);
                    self.send_up(h, s, v, &e, out)
                }
                Phase::Complete | Phase::Final => {
                    self.stats.answered = self.stats.answered.wrapping_add(1);
                    let other = self.version(s, v ^ 1);
                    if other.phase != Phase::Empty && other.offset > e.offset {
                        self.stats.answered_shadow = self.stats.answered_shadow.wrapping_add(1);
                    }
                    let len = self.emit_result(h, h.rank, s, v, &e, out)?;
                    Ok(Action::Unicast { rank: h.rank, len })
                }
            };
        }
        // First arrival of this child's chunk: fold it in.
        let cfg = self.cfg;
        let job = cfg.job;
        let size = job.dtype.size();
        let reducer = self.reducer;
        let region = self.region_mut(s, v)?;
        if job.reproducible {
            let at = job
                .chunk
                .saturating_mul(size)
                .saturating_mul(usize::from(h.rank));
            let dst = region
                .get_mut(at..)
                .and_then(|r| r.get_mut(..payload.len()))
                .ok_or(INTERNAL)?;
            dst.copy_from_slice(payload);
        } else {
            let bytes = usize::from(h.count).saturating_mul(acc_size(job.dtype));
            let acc = region.get_mut(..bytes).ok_or(INTERNAL)?;
            absorb(
                &reducer,
                job.reduction,
                job.dtype,
                cfg.fan_in,
                e.arrived == 0,
                payload,
                acc,
            )?;
        }
        e.seen |= bit;
        e.arrived = e.arrived.saturating_add(1);
        self.stats.contributions = self.stats.contributions.wrapping_add(1);
        if usize::from(e.arrived) < fan_in {
            self.set_version(s, v, e);
            return Ok(Action::Nothing);
        }
        e.phase = Phase::Complete;
        self.set_version(s, v, e);
        self.stats.completed = self.stats.completed.wrapping_add(1);
        if self.cfg.parent_rank.is_some() {
            self.send_up(h, s, v, &e, out)
        } else {
            let len = self.emit_result(h, RANK_ALL, s, v, &e, out)?;
            Ok(Action::Multicast(len))
        }
    }

    /// A result or `NoSlot` from the parent.
    fn on_down(&mut self, h: &Header, payload: &[u8], out: &mut [u8]) -> Result<Action, Error> {
        let Some(me) = self.cfg.parent_rank else {
            return Err(Error::Mismatch {
                field: "kind (the root has no parent)",
                expected: Kind::Data as u64,
                found: h.kind as u64,
            });
        };
        if h.rank != me && h.rank != RANK_ALL {
            return Err(Error::Mismatch {
                field: "rank",
                expected: u64::from(me),
                found: u64::from(h.rank),
            });
        }
        if h.kind == Kind::NoSlot {
            let fwd = Header {
                rank: RANK_ALL,
                ..*h
            };
            let len = emit_header(&fwd, out)?;
            self.stats.no_slot = self.stats.no_slot.wrapping_add(1);
            return Ok(Action::Multicast(len));
        }
        let s = usize::from(h.slot);
        if s >= self.slots.len() {
            return Err(Error::OutOfRange {
                field: "slot",
                value: u64::from(h.slot),
                limit: self.slots.len() as u64,
            });
        }
        let needed = h.buffer_len();
        if out.len() < needed {
            return Err(Error::BufferSize {
                buffer: "out",
                needed,
                available: out.len(),
            });
        }
        let v = usize::from(h.version);
        let mut e = self.version(s, v);
        if e.offset != h.offset || e.phase == Phase::Empty || e.phase == Phase::Collecting {
            // Not a chunk this node has sent up: a late or foreign copy.
            self.stats.stale = self.stats.stale.wrapping_add(1);
            return Ok(Action::Nothing);
        }
        if e.count != h.count {
            return Err(Error::Mismatch {
                field: "count",
                expected: u64::from(e.count),
                found: u64::from(h.count),
            });
        }
        if e.phase == Phase::Final {
            self.stats.duplicates = self.stats.duplicates.wrapping_add(1);
            return Ok(Action::Nothing);
        }
        // Keep the final result (for children's retransmissions) and pass it down.
        let region = self.region_mut(s, v)?;
        region
            .get_mut(..payload.len())
            .ok_or(INTERNAL)?
            .copy_from_slice(payload);
        e.phase = Phase::Final;
        self.set_version(s, v, e);
        self.stats.results = self.stats.results.wrapping_add(1);
        let len = self.emit_result(h, RANK_ALL, s, v, &e, out)?;
        Ok(Action::Multicast(len))
    }

    /// Writes this node's partial result for `(s, v)` as a data packet to the parent.
    fn send_up(
        &self,
        h: &Header,
        s: usize,
        v: usize,
        e: &Version,
        out: &mut [u8],
    ) -> Result<Action, Error> {
        let up = Header {
            kind: Kind::Data,
            rank: self.cfg.parent_rank.unwrap_or(0),
            ..*h
        };
        let len = self.emit_with(&up, s, v, e, out)?;
        Ok(Action::SendUp(len))
    }

    /// Writes the result of `(s, v)` as a result packet addressed to `rank`.
    fn emit_result(
        &self,
        h: &Header,
        rank: u8,
        s: usize,
        v: usize,
        e: &Version,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let down = Header {
            kind: Kind::Result,
            rank,
            ..*h
        };
        self.emit_with(&down, s, v, e, out)
    }

    /// Writes `hdr` and the slot version's result (stored, or combined now) into `out`.
    fn emit_with(
        &self,
        hdr: &Header,
        s: usize,
        v: usize,
        e: &Version,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let len = hdr.buffer_len();
        let available = out.len();
        let buf = out.get_mut(..len).ok_or(Error::BufferSize {
            buffer: "out",
            needed: len,
            available,
        })?;
        hdr.emit(&mut Packet::new_unchecked(&mut *buf));
        let payload = buf.get_mut(HEADER_LEN..).ok_or(INTERNAL)?;
        self.result_into(s, v, e, payload)?;
        Ok(len)
    }

    /// The result of a complete slot version: stored (final), or the children combined in
    /// rank order (reproducible), or the accumulator finished.
    fn result_into(&self, s: usize, v: usize, e: &Version, out: &mut [u8]) -> Result<(), Error> {
        let job = self.cfg.job;
        let region = self.region(s, v)?;
        if e.phase == Phase::Final {
            out.copy_from_slice(region.get(..out.len()).ok_or(INTERNAL)?);
            return Ok(());
        }
        let fan_in = self.cfg.fan_in;
        if job.reproducible {
            let stride = job.chunk.saturating_mul(job.dtype.size());
            let mut inputs: [&[u8]; MAX_FAN_IN] = [&[]; MAX_FAN_IN];
            for (i, (slot, child)) in inputs.iter_mut().zip(region.chunks(stride)).enumerate() {
                if i < fan_in {
                    *slot = child.get(..out.len()).ok_or(INTERNAL)?;
                }
            }
            let inputs = inputs.get(..fan_in).ok_or(INTERNAL)?;
            self.reducer
                .reduce_bytes(job.reduction, job.dtype, inputs, out)
        } else {
            let bytes = usize::from(e.count).saturating_mul(acc_size(job.dtype));
            let acc = region.get(..bytes).ok_or(INTERNAL)?;
            finish(&self.reducer, job.reduction, job.dtype, fan_in, acc, out)
        }
    }

    fn version(&self, s: usize, v: usize) -> Version {
        self.slots
            .get(s)
            .and_then(|slot| slot.versions.get(v))
            .copied()
            .unwrap_or(Version::EMPTY)
    }

    fn set_version(&mut self, s: usize, v: usize, e: Version) {
        if let Some(x) = self
            .slots
            .get_mut(s)
            .and_then(|slot| slot.versions.get_mut(v))
        {
            *x = e;
        }
    }

    fn region_range(&self, s: usize, v: usize) -> core::ops::Range<usize> {
        let vb = self.cfg.version_bytes();
        let start = s.saturating_mul(2).saturating_add(v).saturating_mul(vb);
        start..start.saturating_add(vb)
    }

    fn region(&self, s: usize, v: usize) -> Result<&[u8], Error> {
        self.storage.get(self.region_range(s, v)).ok_or(INTERNAL)
    }

    fn region_mut(&mut self, s: usize, v: usize) -> Result<&mut [u8], Error> {
        let r = self.region_range(s, v);
        self.storage.get_mut(r).ok_or(INTERNAL)
    }

    /// Checks the node's bookkeeping (for fuzzers and tests; O(slots)): every used slot
    /// version holds a chunk whose slot and version bit are its own, a count within the
    /// chunk size, a seen bitmap within the fan-in whose population is the arrival count,
    /// all children in exactly when complete, a final result only below the root; an empty
    /// one has no arrivals.
    ///
    /// # Errors
    /// A description of the first broken invariant.
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        let job = self.cfg.job;
        let fan_in = self.cfg.fan_in;
        let full = u32::try_from(fan_in)
            .ok()
            .and_then(|f| 1u64.checked_shl(f))
            .map_or(u64::MAX, |b| b.wrapping_sub(1));
        if self.slots.is_empty() || self.slots.len() > job.pool {
            return Err("hosted slots outside 1..=pool");
        }
        if self.storage.len() < self.cfg.storage_len(self.slots.len()) {
            return Err("storage shorter than storage_len");
        }
        for (s, slot) in self.slots.iter().enumerate() {
            for (v, e) in slot.versions.iter().enumerate() {
                if e.phase == Phase::Empty {
                    if e.seen != 0 || e.arrived != 0 {
                        return Err("empty slot version with arrivals");
                    }
                    continue;
                }
                if e.count == 0 || usize::from(e.count) > job.chunk {
                    return Err("slot version count outside 1..=chunk");
                }
                let chunk = job.chunk as u64;
                if e.offset.checked_rem(chunk) != Some(0) {
                    return Err("slot version offset not on a chunk boundary");
                }
                let (slot_of, version_of) = job.slot_of(e.offset.checked_div(chunk).unwrap_or(0));
                if usize::from(slot_of) != s || usize::from(version_of) != v {
                    return Err("slot version holds a chunk of another slot or version");
                }
                if e.seen & !full != 0 {
                    return Err("seen bitmap has a bit at or above the fan-in");
                }
                if e.seen.count_ones() != u32::from(e.arrived) {
                    return Err("arrival count differs from the seen bitmap");
                }
                let complete = e.seen == full;
                match e.phase {
                    Phase::Collecting if complete => return Err("collecting with every child in"),
                    Phase::Complete | Phase::Final if !complete => {
                        return Err("complete without every child");
                    }
                    Phase::Final if self.cfg.parent_rank.is_none() => {
                        return Err("final result stored at the root");
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// A bookkeeping range that validation should have made impossible.
const INTERNAL: Error = Error::BufferSize {
    buffer: "slot storage (internal)",
    needed: 0,
    available: 0,
};

/// Writes a header-only packet (`NoSlot`).
fn emit_header(h: &Header, out: &mut [u8]) -> Result<usize, Error> {
    let len = h.buffer_len();
    let available = out.len();
    let buf = out.get_mut(..len).ok_or(Error::BufferSize {
        buffer: "out",
        needed: len,
        available,
    })?;
    h.emit(&mut Packet::new_unchecked(buf));
    Ok(len)
}
