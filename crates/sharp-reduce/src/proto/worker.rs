//! The worker: sends its vector chunk by chunk through a window, retransmits on a
//! caller-supplied clock, and writes each final chunk exactly once.

use super::job::{Job, MAX_FAN_IN, in_range};
use super::wire::{HEADER_LEN, Header, Kind, Packet, RANK_ALL};
use crate::Error;

/// A worker's place in the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WorkerConfig {
    /// The job.
    pub job: Job,
    /// This worker's rank at its parent node, `0..fan_in` there.
    pub rank: u8,
    /// Retransmission timeout, in the units of the clock given to [`Worker::poll`]: a chunk
    /// whose result has not arrived `timeout` after it was last sent is sent again.
    pub timeout: u64,
}

/// What [`Worker::handle`] did with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// A final chunk arrived for the first time and was written to the output.
    Delivered {
        /// The chunk's first element.
        offset: u64,
        /// Its elements.
        count: usize,
    },
    /// A result this worker already has (a duplicate or a late copy); nothing written.
    Duplicate,
    /// A node has no slot for this chunk (it hosts fewer than the job's pool): reduce the
    /// chunk another way. The chunk stays outstanding and keeps being retransmitted until a
    /// result packet for it arrives (from any source).
    NoSlot {
        /// The chunk's first element.
        offset: u64,
    },
    /// A result for a chunk this worker has not sent yet (impossible from a correct tree);
    /// nothing written.
    Ignored,
}

/// Counters of what a worker has done (wrapping).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct WorkerStats {
    /// First transmissions.
    pub sent: u64,
    /// Retransmissions (timer expired).
    pub retransmitted: u64,
    /// Final chunks written.
    pub delivered: u64,
    /// Results that were duplicates or late.
    pub duplicates: u64,
    /// `NoSlot` replies received.
    pub no_slot: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
enum State {
    #[default]
    Free,
    Outstanding,
    Delivered,
}

/// One window entry: a chunk in flight (or delivered above the window's base). 24 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Pending {
    chunk: u64,
    sent_at: u64,
    state: State,
}

impl Pending {
    /// An unused entry.
    pub const EMPTY: Pending = Pending {
        chunk: 0,
        sent_at: 0,
        state: State::Free,
    };
}

/// A worker of an aggregation job: its input vector, its output vector (written as results
/// arrive), and a window of `window.len()` chunks in flight (at most the job's pool).
///
/// Self-clocking as SwitchML: chunk `c` is sent only while `c < base + window`, where `base`
/// is the first chunk without its result, so the result of chunk `c − pool` is always in
/// before chunk `c` (same slot, other version bit) leaves.
#[derive(Debug)]
pub struct Worker<'a> {
    cfg: WorkerConfig,
    input: &'a [u8],
    output: &'a mut [u8],
    window: &'a mut [Pending],
    elements: u64,
    total: u64,
    base: u64,
    next: u64,
    delivered: u64,
    stats: WorkerStats,
}

impl<'a> Worker<'a> {
    /// A worker that will reduce `input` (little-endian elements of the job's type) into
    /// `output` (as long as `input`).
    ///
    /// # Errors
    /// As [`Job::validate`]; [`Error::Config`] for a rank or window out of range
    /// (`window.len()` in 1..=pool); [`Error::PartialElement`] if `input` is not whole
    /// elements; [`Error::BufferSize`] if `output` is not as long as `input`.
    pub fn new(
        cfg: WorkerConfig,
        input: &'a [u8],
        output: &'a mut [u8],
        window: &'a mut [Pending],
    ) -> Result<Self, Error> {
        let job = cfg.job;
        job.validate()?;
        in_range(
            "rank",
            usize::from(cfg.rank),
            0,
            MAX_FAN_IN.saturating_sub(1),
        )?;
        in_range("window", window.len(), 1, job.pool)?;
        let size = job.dtype.size();
        if !input.len().is_multiple_of(size) {
            return Err(Error::PartialElement {
                len: input.len(),
                size,
            });
        }
        if output.len() != input.len() {
            return Err(Error::BufferSize {
                buffer: "output",
                needed: input.len(),
                available: output.len(),
            });
        }
        let elements = input.len().checked_div(size).unwrap_or(0) as u64;
        window.fill(Pending::EMPTY);
        Ok(Worker {
            cfg,
            input,
            output,
            window,
            elements,
            total: job.chunks(elements),
            base: 0,
            next: 0,
            delivered: 0,
            stats: WorkerStats::default(),
        })
    }

    /// The configuration.
    pub const fn config(&self) -> &WorkerConfig {
        &self.cfg
    }

    /// Chunks in the vector.
    pub const fn chunks(&self) -> u64 {
        self.total
    }

    /// Whether every chunk's result has been written.
    pub const fn is_done(&self) -> bool {
        self.base >= self.total
    }

    /// The output vector (complete once [`is_done`](Self::is_done)).
    pub fn output(&self) -> &[u8] {
        self.output
    }

    /// The counters.
    pub const fn stats(&self) -> WorkerStats {
        self.stats
    }

    /// The longest packet the worker sends: header plus a full chunk.
    pub const fn max_packet_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.cfg.job.chunk.saturating_mul(self.cfg.job.dtype.size()))
    }

    /// The earliest clock value at which [`poll`](Self::poll) has something to send: 0 if
    /// a new chunk may leave now, the first retransmission deadline otherwise, `None` when
    /// nothing is outstanding.
    pub fn next_deadline(&self) -> Option<u64> {
        if self.can_send_new() {
            return Some(0);
        }
        let mut best: Option<u64> = None;
        for c in self.base..self.next {
            if let Some(e) = self.entry(c)
                && e.state == State::Outstanding
            {
                let due = e.sent_at.saturating_add(self.cfg.timeout);
                best = Some(best.map_or(due, |b| b.min(due)));
            }
        }
        best
    }

    fn can_send_new(&self) -> bool {
        let limit = self.base.saturating_add(self.window.len() as u64);
        self.next < self.total && self.next < limit
    }

    fn index(&self, c: u64) -> usize {
        let w = self.window.len() as u64;
        usize::try_from(c.checked_rem(w).unwrap_or(0)).unwrap_or(0)
    }

    fn entry(&self, c: u64) -> Option<&Pending> {
        self.window.get(self.index(c))
    }

    fn entry_mut(&mut self, c: u64) -> Option<&mut Pending> {
        let i = self.index(c);
        self.window.get_mut(i)
    }

    /// The next packet to send at clock `now`, written into `out`: first a new chunk if the
    /// window allows, else the oldest chunk whose retransmission timer has expired; `None`
    /// when there is nothing to send now (see [`next_deadline`](Self::next_deadline)).
    /// Call it until it returns `None`.
    ///
    /// # Errors
    /// [`Error::BufferSize`] if `out` is shorter than the packet.
    pub fn poll(&mut self, now: u64, out: &mut [u8]) -> Result<Option<usize>, Error> {
        if self.can_send_new() {
            let c = self.next;
            let len = self.emit(c, out)?;
            if let Some(e) = self.entry_mut(c) {
                *e = Pending {
                    chunk: c,
                    sent_at: now,
                    state: State::Outstanding,
                };
            }
            self.next = c.saturating_add(1);
            self.stats.sent = self.stats.sent.wrapping_add(1);
            return Ok(Some(len));
        }
        let timeout = self.cfg.timeout;
        for c in self.base..self.next {
            let due = match self.entry(c) {
                Some(e) if e.state == State::Outstanding => e.sent_at.saturating_add(timeout),
                _ => continue,
            };
            if now >= due {
                let len = self.emit(c, out)?;
                if let Some(e) = self.entry_mut(c) {
                    e.sent_at = now;
                }
                self.stats.retransmitted = self.stats.retransmitted.wrapping_add(1);
                return Ok(Some(len));
            }
        }
        Ok(None)
    }

    /// Elements in chunk `c`.
    fn count_of(&self, c: u64) -> u64 {
        let chunk = self.cfg.job.chunk as u64;
        let start = c.saturating_mul(chunk);
        self.elements.saturating_sub(start).min(chunk)
    }

    /// Byte range of `count` elements from element `offset`.
    fn bytes(&self, offset: u64, count: u64) -> Option<core::ops::Range<usize>> {
        let size = self.cfg.job.dtype.size() as u64;
        let start = usize::try_from(offset.checked_mul(size)?).ok()?;
        let len = usize::try_from(count.checked_mul(size)?).ok()?;
        Some(start..start.checked_add(len)?)
    }

    /// Writes the data packet of chunk `c`.
    fn emit(&self, c: u64, out: &mut [u8]) -> Result<usize, Error> {
        let job = self.cfg.job;
        let offset = c.saturating_mul(job.chunk as u64);
        let count = self.count_of(c);
        let (slot, version) = job.slot_of(c);
        let h = Header {
            kind: Kind::Data,
            job: job.id,
            slot,
            version,
            rank: self.cfg.rank,
            reduction: job.reduction,
            dtype: job.dtype,
            reproducible: job.reproducible,
            count: u16::try_from(count).unwrap_or(0),
            offset,
        };
        let len = h.buffer_len();
        let available = out.len();
        let buf = out.get_mut(..len).ok_or(Error::BufferSize {
            buffer: "out",
            needed: len,
            available,
        })?;
        let src = self
            .bytes(offset, count)
            .and_then(|r| self.input.get(r))
            .ok_or(Error::BufferSize {
                buffer: "input (internal)",
                needed: 0,
                available: self.input.len(),
            })?;
        let mut p = Packet::new_unchecked(&mut *buf);
        h.emit(&mut p);
        p.payload_mut().copy_from_slice(src);
        Ok(len)
    }

    /// Takes a packet from the parent node. A result for an outstanding chunk is written
    /// to the output (exactly once per chunk) and frees its window entry. `packet` is
    /// untrusted; an error changes nothing.
    ///
    /// # Errors
    /// From [`Header::parse`]; [`Error::Mismatch`] for another job, operation, type or
    /// mode, a data packet, a slot or version bit inconsistent with the offset, a count
    /// other than the chunk's, or a packet addressed to another rank;
    /// [`Error::OutOfRange`] for an offset past the end of the vector.
    pub fn handle(&mut self, packet: &[u8]) -> Result<Event, Error> {
        let p = Packet::new_checked(packet)?;
        let h = Header::parse(&p)?;
        let c = self.cfg.job.check(&h)?;
        if h.kind == Kind::Data {
            return Err(Error::Mismatch {
                field: "kind (workers receive results)",
                expected: Kind::Result as u64,
                found: Kind::Data as u64,
            });
        }
        if h.rank != self.cfg.rank && h.rank != RANK_ALL {
            return Err(Error::Mismatch {
                field: "rank",
                expected: u64::from(self.cfg.rank),
                found: u64::from(h.rank),
            });
        }
        if c >= self.total {
            return Err(Error::OutOfRange {
                field: "offset",
                value: h.offset,
                limit: self.elements,
            });
        }
        let count = self.count_of(c);
        if u64::from(h.count) != count {
            return Err(Error::Mismatch {
                field: "count",
                expected: count,
                found: u64::from(h.count),
            });
        }
        if h.kind == Kind::NoSlot {
            self.stats.no_slot = self.stats.no_slot.wrapping_add(1);
            return Ok(Event::NoSlot { offset: h.offset });
        }
        if c < self.base {
            self.stats.duplicates = self.stats.duplicates.wrapping_add(1);
            return Ok(Event::Duplicate);
        }
        if c >= self.next {
            return Ok(Event::Ignored);
        }
        match self.entry(c) {
            Some(e) if e.chunk == c && e.state == State::Outstanding => {}
            Some(e) if e.chunk == c && e.state == State::Delivered => {
                self.stats.duplicates = self.stats.duplicates.wrapping_add(1);
                return Ok(Event::Duplicate);
            }
            _ => return Ok(Event::Ignored),
        }
        let range = self.bytes(h.offset, count).ok_or(Error::OutOfRange {
            field: "offset",
            value: h.offset,
            limit: self.elements,
        })?;
        let dst = self.output.get_mut(range).ok_or(Error::OutOfRange {
            field: "offset",
            value: h.offset,
            limit: self.elements,
        })?;
        dst.copy_from_slice(p.payload());
        if let Some(e) = self.entry_mut(c) {
            e.state = State::Delivered;
        }
        self.delivered = self.delivered.saturating_add(1);
        self.stats.delivered = self.stats.delivered.wrapping_add(1);
        while self.base < self.next
            && self.entry(self.base).map(|e| e.state) == Some(State::Delivered)
        {
            self.base = self.base.saturating_add(1);
        }
        Ok(Event::Delivered {
            offset: h.offset,
            count: usize::from(h.count),
        })
    }

    /// Checks the window's bookkeeping (for fuzzers and tests; O(window)): `base ≤ next ≤
    /// chunks`, at most a window in flight, every entry in `base..next` holds its chunk and
    /// is outstanding or delivered, the one at `base` outstanding, and the delivered count
    /// is `base` plus the delivered entries.
    ///
    /// # Errors
    /// A description of the first broken invariant.
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        if self.base > self.next || self.next > self.total {
            return Err("window bounds out of order");
        }
        if self.next.saturating_sub(self.base) > self.window.len() as u64 {
            return Err("more chunks in flight than the window");
        }
        if self.window.len() > self.cfg.job.pool {
            return Err("window larger than the pool");
        }
        let mut delivered = self.base;
        for c in self.base..self.next {
            let Some(e) = self.entry(c) else {
                return Err("window entry missing");
            };
            if e.chunk != c {
                return Err("window entry holds another chunk");
            }
            match e.state {
                State::Free => return Err("chunk in flight without an entry"),
                State::Delivered if c == self.base => {
                    return Err("delivered chunk at the window's base");
                }
                State::Delivered => delivered = delivered.saturating_add(1),
                State::Outstanding => {}
            }
        }
        if delivered != self.delivered {
            return Err("delivered count differs from the window");
        }
        Ok(())
    }
}
