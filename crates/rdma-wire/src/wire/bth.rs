//! The Base Transport Header (12 bytes).

use super::{Opcode, Psn, fixed_view, set_bits, set_u8, set_u16, set_u24, u8_at, u16_at, u32_at};
use crate::{Error, Layer};

mod field {
    pub(super) const OPCODE: usize = 0;
    pub(super) const FLAGS: usize = 1;
    pub(super) const P_KEY: usize = 2;
    pub(super) const BYTE4: usize = 4;
    pub(super) const DEST_QP: usize = 5;
    pub(super) const BYTE8: usize = 8;
    pub(super) const PSN: usize = 9;
}

fixed_view!(
    /// A view of a Base Transport Header (12 bytes).
    BthPacket,
    12,
    Layer::Bth
);

impl<T: AsRef<[u8]>> BthPacket<T> {
    #[inline]
    fn byte(&self, at: usize) -> u8 {
        u8_at(self.buffer.as_ref(), at)
    }
    /// OpCode.
    #[inline]
    pub fn opcode(&self) -> Opcode {
        Opcode(self.byte(field::OPCODE))
    }
    /// SE: solicited event.
    #[inline]
    pub fn solicited(&self) -> bool {
        self.byte(field::FLAGS) & 0x80 != 0
    }
    /// M: migration request.
    #[inline]
    pub fn migreq(&self) -> bool {
        self.byte(field::FLAGS) & 0x40 != 0
    }
    /// PadCnt: pad bytes after the payload (0..=3).
    #[inline]
    pub fn pad_count(&self) -> u8 {
        (self.byte(field::FLAGS) >> 4) & 3
    }
    /// TVer: transport header version (0).
    #[inline]
    pub fn tver(&self) -> u8 {
        self.byte(field::FLAGS) & 0x0F
    }
    /// Partition key.
    #[inline]
    pub fn p_key(&self) -> u16 {
        u16_at(self.buffer.as_ref(), field::P_KEY)
    }
    /// F: forward explicit congestion notification (masked by the ICRC).
    #[inline]
    pub fn fecn(&self) -> bool {
        self.byte(field::BYTE4) & 0x80 != 0
    }
    /// B: backward explicit congestion notification (masked by the ICRC).
    #[inline]
    pub fn becn(&self) -> bool {
        self.byte(field::BYTE4) & 0x40 != 0
    }
    /// Resv6a: the 6 reserved bits of byte 4 (masked by the ICRC).
    #[inline]
    pub fn resv6a(&self) -> u8 {
        self.byte(field::BYTE4) & 0x3F
    }
    /// Destination QP (24 bits).
    #[inline]
    pub fn dest_qp(&self) -> u32 {
        // The 32 bits from byte 4, masked: one load, where three bytes take three.
        u32_at(self.buffer.as_ref(), field::BYTE4) & 0x00FF_FFFF
    }
    /// A: acknowledge request.
    #[inline]
    pub fn ack_req(&self) -> bool {
        self.byte(field::BYTE8) & 0x80 != 0
    }
    /// Resv7: the 7 reserved bits of byte 8 (covered by the ICRC).
    #[inline]
    pub fn resv7(&self) -> u8 {
        self.byte(field::BYTE8) & 0x7F
    }
    /// Packet sequence number.
    #[inline]
    pub fn psn(&self) -> Psn {
        // As for `dest_qp`, from byte 8.
        Psn::new(u32_at(self.buffer.as_ref(), field::BYTE8) & 0x00FF_FFFF)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> BthPacket<T> {
    /// Sets the OpCode.
    pub fn set_opcode(&mut self, v: Opcode) {
        set_u8(self.buffer.as_mut(), field::OPCODE, v.0);
    }
    /// Sets SE.
    pub fn set_solicited(&mut self, v: bool) {
        set_bits(self.buffer.as_mut(), field::FLAGS, 0x80, v);
    }
    /// Sets M.
    pub fn set_migreq(&mut self, v: bool) {
        set_bits(self.buffer.as_mut(), field::FLAGS, 0x40, v);
    }
    /// Sets PadCnt (low 2 bits of `v`).
    pub fn set_pad_count(&mut self, v: u8) {
        let b = (u8_at(self.buffer.as_ref(), field::FLAGS) & !0x30) | ((v & 3) << 4);
        set_u8(self.buffer.as_mut(), field::FLAGS, b);
    }
    /// Sets TVer (low 4 bits of `v`).
    pub fn set_tver(&mut self, v: u8) {
        let b = (u8_at(self.buffer.as_ref(), field::FLAGS) & !0x0F) | (v & 0x0F);
        set_u8(self.buffer.as_mut(), field::FLAGS, b);
    }
    /// Sets the partition key.
    pub fn set_p_key(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::P_KEY, v);
    }
    /// Sets F.
    pub fn set_fecn(&mut self, v: bool) {
        set_bits(self.buffer.as_mut(), field::BYTE4, 0x80, v);
    }
    /// Sets B.
    pub fn set_becn(&mut self, v: bool) {
        set_bits(self.buffer.as_mut(), field::BYTE4, 0x40, v);
    }
    /// Sets Resv6a (low 6 bits of `v`).
    pub fn set_resv6a(&mut self, v: u8) {
        let b = (u8_at(self.buffer.as_ref(), field::BYTE4) & 0xC0) | (v & 0x3F);
        set_u8(self.buffer.as_mut(), field::BYTE4, b);
    }
    /// Sets the destination QP (low 24 bits of `v`).
    pub fn set_dest_qp(&mut self, v: u32) {
        set_u24(self.buffer.as_mut(), field::DEST_QP, v);
    }
    /// Sets A.
    pub fn set_ack_req(&mut self, v: bool) {
        set_bits(self.buffer.as_mut(), field::BYTE8, 0x80, v);
    }
    /// Sets Resv7 (low 7 bits of `v`).
    pub fn set_resv7(&mut self, v: u8) {
        let b = (u8_at(self.buffer.as_ref(), field::BYTE8) & 0x80) | (v & 0x7F);
        set_u8(self.buffer.as_mut(), field::BYTE8, b);
    }
    /// Sets the PSN.
    pub fn set_psn(&mut self, v: Psn) {
        set_u24(self.buffer.as_mut(), field::PSN, v.value());
    }
}

/// A parsed Base Transport Header. Reserved bits are kept so that emitting reproduces them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BthRepr {
    /// OpCode.
    pub opcode: Opcode,
    /// SE: solicited event.
    pub solicited: bool,
    /// M: migration request.
    pub migreq: bool,
    /// PadCnt (0..=3). [`FrameBuilder`](super::FrameBuilder) overwrites it from the payload
    /// length.
    pub pad_count: u8,
    /// TVer (0).
    pub tver: u8,
    /// Partition key (0xFFFF: default, full member).
    pub p_key: u16,
    /// FECN.
    pub fecn: bool,
    /// BECN.
    pub becn: bool,
    /// Reserved 6 bits of byte 4.
    pub resv6a: u8,
    /// Destination QP (24 bits).
    pub dest_qp: u32,
    /// AckReq.
    pub ack_req: bool,
    /// Reserved 7 bits of byte 8.
    pub resv7: u8,
    /// PSN.
    pub psn: Psn,
}

impl BthRepr {
    /// A BTH for `opcode` with everything else zero except P_Key 0xFFFF.
    pub const fn new(opcode: Opcode, dest_qp: u32, psn: Psn) -> Self {
        Self {
            opcode,
            solicited: false,
            migreq: false,
            pad_count: 0,
            tver: 0,
            p_key: 0xFFFF,
            fecn: false,
            becn: false,
            resv6a: 0,
            dest_qp: dest_qp & 0x00FF_FFFF,
            ack_req: false,
            resv7: 0,
            psn,
        }
    }

    /// Reads the header. Reserved bits are accepted whatever their value.
    ///
    /// # Errors
    /// [`Error::Truncated`]; [`Error::UnsupportedTver`] if TVer is not 0. The opcode is not
    /// checked here ([`parse`](super::parse) does).
    #[inline(always)]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &BthPacket<&T>) -> Result<Self, Error> {
        packet.check_len()?;
        if packet.tver() != 0 {
            return Err(Error::UnsupportedTver {
                tver: packet.tver(),
            });
        }
        Ok(Self::read(packet))
    }

    /// The repr of a header whose checks have passed (see
    /// [`Ipv4Repr::read`](super::Ipv4Repr)).
    #[inline(always)]
    pub(crate) fn read<T: AsRef<[u8]> + ?Sized>(packet: &BthPacket<&T>) -> Self {
        Self {
            opcode: packet.opcode(),
            solicited: packet.solicited(),
            migreq: packet.migreq(),
            pad_count: packet.pad_count(),
            tver: packet.tver(),
            p_key: packet.p_key(),
            fecn: packet.fecn(),
            becn: packet.becn(),
            resv6a: packet.resv6a(),
            dest_qp: packet.dest_qp(),
            ack_req: packet.ack_req(),
            resv7: packet.resv7(),
            psn: packet.psn(),
        }
    }

    /// 12.
    pub const fn buffer_len(&self) -> usize {
        12
    }

    /// Writes the header into the first 12 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut BthPacket<&mut T>) {
        packet.set_opcode(self.opcode);
        packet.set_solicited(self.solicited);
        packet.set_migreq(self.migreq);
        packet.set_pad_count(self.pad_count);
        packet.set_tver(self.tver);
        packet.set_p_key(self.p_key);
        packet.set_fecn(self.fecn);
        packet.set_becn(self.becn);
        packet.set_resv6a(self.resv6a);
        packet.set_dest_qp(self.dest_qp);
        packet.set_ack_req(self.ack_req);
        packet.set_resv7(self.resv7);
        packet.set_psn(self.psn);
    }
}
