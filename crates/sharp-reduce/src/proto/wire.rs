//! The packet format: a [`Packet`] view over bytes (getters, and setters when the buffer is
//! mutable) and a validated, `Copy` [`Header`] with [`parse`](Header::parse) and
//! [`emit`](Header::emit), in the smoltcp manner.

use crate::{DType, Error, Fp8Mode, Op, Reduction};

/// Header length in bytes; the payload follows.
pub const HEADER_LEN: usize = 24;

/// The first two bytes of every packet: `b"SR"`.
pub const MAGIC: [u8; 2] = *b"SR";

/// The format version this crate reads and writes (byte 2).
pub const FORMAT: u8 = 1;

/// The rank byte of a result multicast to every child.
pub const RANK_ALL: u8 = 0xFF;

/// Byte offsets of the fields (all multi-byte fields little-endian).
mod field {
    pub(super) const MAGIC: usize = 0;
    pub(super) const FORMAT: usize = 2;
    pub(super) const KIND: usize = 3;
    pub(super) const JOB: usize = 4;
    pub(super) const SLOT: usize = 8;
    pub(super) const FLAGS: usize = 10;
    pub(super) const RANK: usize = 11;
    pub(super) const OP: usize = 12;
    pub(super) const DTYPE: usize = 13;
    pub(super) const COUNT: usize = 14;
    pub(super) const OFFSET: usize = 16;
}

/// Flag bits (byte 10).
mod flag {
    /// The slot's version bit (SwitchML's shadow-copy selector).
    pub(super) const VERSION: u8 = 1 << 0;
    /// Reproducible mode: every node combines its children in rank order.
    pub(super) const REPRODUCIBLE: u8 = 1 << 1;
    /// FP8 results saturate ([`Fp8Mode::Saturating`](crate::Fp8Mode::Saturating)).
    pub(super) const SATURATING: u8 = 1 << 2;
    /// Every defined bit; the others must be zero.
    pub(super) const DEFINED: u8 = VERSION | REPRODUCIBLE | SATURATING;
}

/// `N` bytes at `at`, zeros where the buffer is short.
fn rd<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = buf.get(at..) {
        for (o, s) in out.iter_mut().zip(src) {
            *o = *s;
        }
    }
    out
}

/// Writes `v` at `at`, as much of it as fits.
fn wr<const N: usize>(buf: &mut [u8], at: usize, v: [u8; N]) {
    if let Some(dst) = buf.get_mut(at..) {
        for (d, s) in dst.iter_mut().zip(v) {
            *d = s;
        }
    }
}

fn u8_at(buf: &[u8], at: usize) -> u8 {
    let [b] = rd::<1>(buf, at);
    b
}

/// What a packet carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// Upward: a worker's chunk, or a node's partial result, to the parent.
    Data = 1,
    /// Downward: the final result of a chunk, multicast (rank [`RANK_ALL`]) or unicast to
    /// one child (a retransmission answered from a slot's cache).
    Result = 2,
    /// Downward: the node has no slot with this index (it hosts fewer slots than the job's
    /// pool). As ATP spills a fragment it cannot place, the sender should reduce the chunk
    /// elsewhere; the packet has no payload.
    NoSlot = 3,
}

impl Kind {
    /// The kind with this code, if defined.
    pub const fn from_u8(code: u8) -> Option<Kind> {
        match code {
            1 => Some(Kind::Data),
            2 => Some(Kind::Result),
            3 => Some(Kind::NoSlot),
            _ => None,
        }
    }
}

/// A view of a protocol packet: header getters on any byte buffer, setters when it is
/// mutable.
///
/// `new_checked` is the constructor for untrusted bytes; after it, every getter reads the
/// header and [`payload`](Packet::payload) is exactly the announced payload. On a buffer
/// shorter than the header (only through `new_unchecked`), getters read missing bytes as
/// zeros and setters leave them unwritten: nothing panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it (use it to emit into a buffer of at least
    /// [`Header::buffer_len`] bytes).
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps `buffer` after [`check_len`](Self::check_len).
    ///
    /// # Errors
    /// As [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the header and exactly the payload it announces (the
    /// element count times the element size; nothing for [`Kind::NoSlot`]). An unknown
    /// type or kind is left to [`Header::parse`]; its payload length is taken as zero here.
    ///
    /// # Errors
    /// [`Error::Truncated`] if the buffer is shorter than [`HEADER_LEN`];
    /// [`Error::PacketLength`] if the payload is shorter or longer than announced.
    pub fn check_len(&self) -> Result<(), Error> {
        let available = self.buffer.as_ref().len();
        if available < HEADER_LEN {
            return Err(Error::Truncated {
                needed: HEADER_LEN,
                available,
            });
        }
        let expected = HEADER_LEN.saturating_add(self.announced_payload());
        if available != expected {
            return Err(Error::PacketLength {
                expected,
                found: available,
            });
        }
        Ok(())
    }

    /// Payload bytes the header announces (zero when the kind or type is unknown).
    fn announced_payload(&self) -> usize {
        let size = DType::ALL
            .get(usize::from(self.dtype_code()))
            .map_or(0, |d| d.size());
        match Kind::from_u8(self.kind_code()) {
            Some(Kind::Data | Kind::Result) => usize::from(self.count()).saturating_mul(size),
            Some(Kind::NoSlot) | None => 0,
        }
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Bytes 0–1: [`MAGIC`].
    pub fn magic(&self) -> [u8; 2] {
        rd(self.buffer.as_ref(), field::MAGIC)
    }
    /// Byte 2: the format version ([`FORMAT`]).
    pub fn format(&self) -> u8 {
        u8_at(self.buffer.as_ref(), field::FORMAT)
    }
    /// Byte 3: the kind code ([`Kind`]).
    pub fn kind_code(&self) -> u8 {
        u8_at(self.buffer.as_ref(), field::KIND)
    }
    /// Bytes 4–7: the job id.
    pub fn job(&self) -> u32 {
        u32::from_le_bytes(rd(self.buffer.as_ref(), field::JOB))
    }
    /// Bytes 8–9: the slot index in the node's pool.
    pub fn slot(&self) -> u16 {
        u16::from_le_bytes(rd(self.buffer.as_ref(), field::SLOT))
    }
    /// Byte 10: the flag bits (bit 0 slot version, bit 1 reproducible, bit 2 FP8
    /// saturating; the others reserved, zero).
    pub fn flags(&self) -> u8 {
        u8_at(self.buffer.as_ref(), field::FLAGS)
    }
    /// Bit 0 of the flags: the slot's version bit, 0 or 1.
    pub fn version(&self) -> u8 {
        self.flags() & flag::VERSION
    }
    /// Byte 11: the sender's child rank (data) or the destination's, [`RANK_ALL`] for a
    /// multicast (results).
    pub fn rank(&self) -> u8 {
        u8_at(self.buffer.as_ref(), field::RANK)
    }
    /// Byte 12: the operation code (`Op as u8`).
    pub fn op_code(&self) -> u8 {
        u8_at(self.buffer.as_ref(), field::OP)
    }
    /// Byte 13: the element type code (`DType as u8`).
    pub fn dtype_code(&self) -> u8 {
        u8_at(self.buffer.as_ref(), field::DTYPE)
    }
    /// Bytes 14–15: elements in the payload.
    pub fn count(&self) -> u16 {
        u16::from_le_bytes(rd(self.buffer.as_ref(), field::COUNT))
    }
    /// Bytes 16–23: the chunk's offset in the job's vector, in elements.
    pub fn offset(&self) -> u64 {
        u64::from_le_bytes(rd(self.buffer.as_ref(), field::OFFSET))
    }
    /// The bytes after the header (empty if there are none).
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(HEADER_LEN..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the magic bytes.
    pub fn set_magic(&mut self, v: [u8; 2]) {
        wr(self.buffer.as_mut(), field::MAGIC, v);
    }
    /// Sets the format version.
    pub fn set_format(&mut self, v: u8) {
        wr(self.buffer.as_mut(), field::FORMAT, [v]);
    }
    /// Sets the kind code.
    pub fn set_kind_code(&mut self, v: u8) {
        wr(self.buffer.as_mut(), field::KIND, [v]);
    }
    /// Sets the job id.
    pub fn set_job(&mut self, v: u32) {
        wr(self.buffer.as_mut(), field::JOB, v.to_le_bytes());
    }
    /// Sets the slot index.
    pub fn set_slot(&mut self, v: u16) {
        wr(self.buffer.as_mut(), field::SLOT, v.to_le_bytes());
    }
    /// Sets the flag byte.
    pub fn set_flags(&mut self, v: u8) {
        wr(self.buffer.as_mut(), field::FLAGS, [v]);
    }
    /// Sets the rank.
    pub fn set_rank(&mut self, v: u8) {
        wr(self.buffer.as_mut(), field::RANK, [v]);
    }
    /// Sets the operation code.
    pub fn set_op_code(&mut self, v: u8) {
        wr(self.buffer.as_mut(), field::OP, [v]);
    }
    /// Sets the element type code.
    pub fn set_dtype_code(&mut self, v: u8) {
        wr(self.buffer.as_mut(), field::DTYPE, [v]);
    }
    /// Sets the element count.
    pub fn set_count(&mut self, v: u16) {
        wr(self.buffer.as_mut(), field::COUNT, v.to_le_bytes());
    }
    /// Sets the chunk offset.
    pub fn set_offset(&mut self, v: u64) {
        wr(self.buffer.as_mut(), field::OFFSET, v.to_le_bytes());
    }
    /// The bytes after the header, writable (empty if there are none).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(HEADER_LEN..)
            .unwrap_or(&mut [])
    }
}

/// A validated packet header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// What the packet carries.
    pub kind: Kind,
    /// The job (aggregation group) id.
    pub job: u32,
    /// The slot index in the node's pool (chunk index mod pool size).
    pub slot: u16,
    /// The slot's version bit, 0 or 1 (chunk index / pool size, mod 2).
    pub version: u8,
    /// Data: the sender's child rank at the receiving node. Results and `NoSlot`: the
    /// destination's rank, or [`RANK_ALL`].
    pub rank: u8,
    /// Operation and FP8 mode.
    pub reduction: Reduction,
    /// Element type.
    pub dtype: DType,
    /// Reproducible mode (rank-order combination at every node).
    pub reproducible: bool,
    /// Elements in the chunk (≥ 1).
    pub count: u16,
    /// The chunk's first element, as an index into the job's vector.
    pub offset: u64,
}

impl Header {
    /// Reads and validates the header (the packet's length must have been checked, as
    /// [`Packet::new_checked`] does).
    ///
    /// # Errors
    /// [`Error::Truncated`] / [`Error::PacketLength`] (from [`Packet::check_len`]);
    /// [`Error::Malformed`] for a wrong magic or format, an unknown kind, operation or
    /// type, reserved flag bits, or a zero count; [`Error::Unsupported`] for an operation
    /// the protocol does not carry on that type (AVG, MINLOC/MAXLOC, bitwise and logical
    /// operations on floats); [`Error::Fp8Mode`] for the saturating flag on a non-FP8 type.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Header, Error> {
        packet.check_len()?;
        let magic = packet.magic();
        if magic != MAGIC {
            return Err(Error::Malformed {
                field: "magic",
                value: u64::from(u16::from_le_bytes(magic)),
            });
        }
        if packet.format() != FORMAT {
            return Err(Error::Malformed {
                field: "format",
                value: u64::from(packet.format()),
            });
        }
        let kind = Kind::from_u8(packet.kind_code()).ok_or(Error::Malformed {
            field: "kind",
            value: u64::from(packet.kind_code()),
        })?;
        let flags = packet.flags();
        if flags & !flag::DEFINED != 0 {
            return Err(Error::Malformed {
                field: "flags",
                value: u64::from(flags),
            });
        }
        let op = *Op::ALL
            .get(usize::from(packet.op_code()))
            .ok_or(Error::Malformed {
                field: "op",
                value: u64::from(packet.op_code()),
            })?;
        let dtype = *DType::ALL
            .get(usize::from(packet.dtype_code()))
            .ok_or(Error::Malformed {
                field: "dtype",
                value: u64::from(packet.dtype_code()),
            })?;
        let fp8 = if flags & flag::SATURATING != 0 {
            Fp8Mode::Saturating
        } else {
            Fp8Mode::NonSaturating
        };
        let reduction = op.with_fp8(fp8);
        check_reduction(reduction, dtype)?;
        if packet.count() == 0 {
            return Err(Error::Malformed {
                field: "count",
                value: 0,
            });
        }
        Ok(Header {
            kind,
            job: packet.job(),
            slot: packet.slot(),
            version: flags & flag::VERSION,
            rank: packet.rank(),
            reduction,
            dtype,
            reproducible: flags & flag::REPRODUCIBLE != 0,
            count: packet.count(),
            offset: packet.offset(),
        })
    }

    /// Payload bytes: `count × dtype.size()` for data and results, 0 for `NoSlot`.
    pub const fn payload_len(&self) -> usize {
        match self.kind {
            Kind::Data | Kind::Result => (self.count as usize).saturating_mul(self.dtype.size()),
            Kind::NoSlot => 0,
        }
    }

    /// Header plus payload.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.payload_len())
    }

    /// Writes the header into the first [`HEADER_LEN`] bytes (the payload is the caller's).
    /// Writes nothing past the header; on a shorter buffer it writes what fits.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut Packet<&mut T>) {
        let mut flags = self.version & flag::VERSION;
        if self.reproducible {
            flags |= flag::REPRODUCIBLE;
        }
        if self.reduction.fp8 == Fp8Mode::Saturating {
            flags |= flag::SATURATING;
        }
        packet.set_magic(MAGIC);
        packet.set_format(FORMAT);
        packet.set_kind_code(self.kind as u8);
        packet.set_job(self.job);
        packet.set_slot(self.slot);
        packet.set_flags(flags);
        packet.set_rank(self.rank);
        packet.set_op_code(self.reduction.op as u8);
        packet.set_dtype_code(self.dtype as u8);
        packet.set_count(self.count);
        packet.set_offset(self.offset);
    }
}

/// Whether the protocol carries `r` on `dtype`: every operation the element-wise kernels
/// accept except AVG (scale at the hosts, as NCCL does over SHARP) and MINLOC/MAXLOC.
///
/// # Errors
/// [`Error::Unsupported`] or [`Error::Fp8Mode`].
pub(crate) fn check_reduction(r: Reduction, dtype: DType) -> Result<(), Error> {
    if r.op == Op::Avg || r.op.is_loc() || !r.op.supports(dtype) {
        return Err(Error::Unsupported { op: r.op, dtype });
    }
    if r.fp8 == Fp8Mode::Saturating && !dtype.is_fp8() {
        return Err(Error::Fp8Mode { dtype });
    }
    Ok(())
}
