//! Ethernet II with an optional 802.1Q (or 802.1ad) tag.

use super::{need, rd, set_u16, u16_at, wr};
use crate::{Error, Layer};

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86DD;
/// TPID of an 802.1Q (C-)tag.
pub const TPID_8021Q: u16 = 0x8100;
/// TPID of an 802.1ad (S-)tag.
pub const TPID_8021AD: u16 = 0x88A8;

mod field {
    pub(super) const DST: usize = 0;
    pub(super) const SRC: usize = 6;
    pub(super) const TYPE: usize = 12;
    pub(super) const TCI: usize = 14;
    pub(super) const INNER_TYPE: usize = 16;
}

/// Untagged header length.
const UNTAGGED: usize = 14;
/// Header length with one tag.
const TAGGED: usize = 18;

const fn is_tpid(v: u16) -> bool {
    v == TPID_8021Q || v == TPID_8021AD
}

/// A view of an Ethernet II header: 14 bytes, or 18 when the EtherType field holds an
/// 802.1Q/802.1ad TPID. Only one tag is understood; a second one (QinQ) shows up as the
/// EtherType `0x8100`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetPacket<T> {
    /// Wraps `buffer` without checking its length (see the module's no-panic contract).
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps `buffer` after [`check_len`](Self::check_len).
    ///
    /// # Errors
    /// [`Error::Truncated`] if the header (with its tag) does not fit.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the buffer holds the whole header, tag included.
    ///
    /// # Errors
    /// [`Error::Truncated`] if it does not.
    pub fn check_len(&self) -> Result<(), Error> {
        let buf = self.buffer.as_ref();
        need(buf, UNTAGGED, Layer::Ethernet)?;
        need(buf, self.header_len(), Layer::Ethernet)
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// 14, or 18 with a tag.
    pub fn header_len(&self) -> usize {
        if self.vlan().is_some() {
            TAGGED
        } else {
            UNTAGGED
        }
    }

    /// Destination MAC address.
    pub fn dst_addr(&self) -> [u8; 6] {
        rd(self.buffer.as_ref(), field::DST)
    }

    /// Source MAC address.
    pub fn src_addr(&self) -> [u8; 6] {
        rd(self.buffer.as_ref(), field::SRC)
    }

    /// The 16 bits after the addresses: the EtherType, or a TPID.
    pub fn outer_type(&self) -> u16 {
        u16_at(self.buffer.as_ref(), field::TYPE)
    }

    /// The tag, if the outer type is a TPID.
    pub fn vlan(&self) -> Option<VlanTag> {
        let tpid = self.outer_type();
        is_tpid(tpid).then(|| VlanTag::from_tci(tpid, u16_at(self.buffer.as_ref(), field::TCI)))
    }

    /// The EtherType of the payload (after the tag, if any).
    pub fn ethertype(&self) -> u16 {
        if self.vlan().is_some() {
            u16_at(self.buffer.as_ref(), field::INNER_TYPE)
        } else {
            self.outer_type()
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> EthernetPacket<&'a T> {
    /// The bytes after the header (empty if the buffer is short).
    pub fn payload(&self) -> &'a [u8] {
        let len = self.header_len();
        self.buffer.as_ref().get(len..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetPacket<T> {
    /// Sets the destination MAC address.
    pub fn set_dst_addr(&mut self, v: [u8; 6]) {
        wr(self.buffer.as_mut(), field::DST, v);
    }

    /// Sets the source MAC address.
    pub fn set_src_addr(&mut self, v: [u8; 6]) {
        wr(self.buffer.as_mut(), field::SRC, v);
    }

    /// Sets the 16 bits after the addresses (EtherType or TPID). Changing whether this is a
    /// TPID changes the header length: call [`check_len`](Self::check_len) again.
    pub fn set_outer_type(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::TYPE, v);
    }

    /// Sets the tag's TCI (meaningful only when the outer type is a TPID).
    pub fn set_tci(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::TCI, v);
    }

    /// Sets the EtherType of the payload: after the tag if there is one.
    pub fn set_ethertype(&mut self, v: u16) {
        let at = if self.vlan().is_some() {
            field::INNER_TYPE
        } else {
            field::TYPE
        };
        set_u16(self.buffer.as_mut(), at, v);
    }
}

/// An 802.1Q/802.1ad tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanTag {
    /// [`TPID_8021Q`] or [`TPID_8021AD`].
    pub tpid: u16,
    /// Priority code point (3 bits).
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN identifier (12 bits).
    pub vid: u16,
}

impl VlanTag {
    /// A C-tag (TPID 0x8100) with `vid` (masked to 12 bits) and priority `pcp` (3 bits).
    pub const fn new(vid: u16, pcp: u8) -> Self {
        Self {
            tpid: TPID_8021Q,
            pcp: pcp & 7,
            dei: false,
            vid: vid & 0x0FFF,
        }
    }

    /// Splits a tag control information word.
    pub const fn from_tci(tpid: u16, tci: u16) -> Self {
        let [hi, _] = tci.to_be_bytes();
        Self {
            tpid,
            pcp: hi >> 5,
            dei: hi & 0x10 != 0,
            vid: tci & 0x0FFF,
        }
    }

    /// The tag control information word.
    pub const fn tci(&self) -> u16 {
        let hi = ((self.pcp & 7) << 5) | if self.dei { 0x10 } else { 0 };
        u16::from_be_bytes([hi, 0]) | (self.vid & 0x0FFF)
    }
}

/// A parsed Ethernet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthernetRepr {
    /// Destination MAC address.
    pub dst: [u8; 6],
    /// Source MAC address.
    pub src: [u8; 6],
    /// The tag, if any.
    pub vlan: Option<VlanTag>,
    /// EtherType of the payload.
    pub ethertype: u16,
}

impl EthernetRepr {
    /// Reads the header.
    ///
    /// # Errors
    /// [`Error::Truncated`] if it does not fit.
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &EthernetPacket<&T>) -> Result<Self, Error> {
        packet.check_len()?;
        Ok(Self::read(packet))
    }

    /// Reads the header, which the caller has checked is all there (missing bytes would read
    /// as zeros).
    #[inline]
    pub(crate) fn read<T: AsRef<[u8]> + ?Sized>(packet: &EthernetPacket<&T>) -> Self {
        Self {
            dst: packet.dst_addr(),
            src: packet.src_addr(),
            vlan: packet.vlan(),
            ethertype: packet.ethertype(),
        }
    }

    /// 14, or 18 with a tag.
    pub const fn buffer_len(&self) -> usize {
        if self.vlan.is_some() {
            TAGGED
        } else {
            UNTAGGED
        }
    }

    /// Writes the header into the first [`buffer_len`](Self::buffer_len) bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut EthernetPacket<&mut T>) {
        packet.set_dst_addr(self.dst);
        packet.set_src_addr(self.src);
        match self.vlan {
            Some(tag) => {
                packet.set_outer_type(tag.tpid);
                packet.set_tci(tag.tci());
            }
            None => packet.set_outer_type(self.ethertype),
        }
        packet.set_ethertype(self.ethertype);
    }
}
