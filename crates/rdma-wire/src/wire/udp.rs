//! UDP.

use super::{fixed_view, need, set_u16, u16_at};
use crate::{Error, Layer};

/// The IANA port of RoCE v2 ("roce").
pub const ROCE_V2_PORT: u16 = 4791;

mod field {
    pub(super) const SRC_PORT: usize = 0;
    pub(super) const DST_PORT: usize = 2;
    pub(super) const LEN: usize = 4;
    pub(super) const CHECKSUM: usize = 6;
}

const HEADER: usize = 8;

fixed_view!(
    /// A view of a UDP header (8 bytes).
    UdpPacket,
    HEADER,
    Layer::Udp
);

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Source port (flow entropy for RoCE v2; covered by the ICRC).
    pub fn src_port(&self) -> u16 {
        u16_at(self.buffer.as_ref(), field::SRC_PORT)
    }
    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        u16_at(self.buffer.as_ref(), field::DST_PORT)
    }
    /// Length (header and payload).
    pub fn len(&self) -> u16 {
        u16_at(self.buffer.as_ref(), field::LEN)
    }
    /// Whether the length field is zero (never for a valid datagram).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Checksum (0 = none); masked by the ICRC.
    pub fn checksum(&self) -> u16 {
        u16_at(self.buffer.as_ref(), field::CHECKSUM)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::SRC_PORT, v);
    }
    /// Sets the destination port.
    pub fn set_dst_port(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::DST_PORT, v);
    }
    /// Sets the length.
    pub fn set_len(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::LEN, v);
    }
    /// Sets the checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), field::CHECKSUM, v);
    }
}

/// A parsed UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// The checksum field as found (0 = none). [`FrameBuilder`](super::FrameBuilder)
    /// computes a real checksum when this is non-zero.
    pub checksum: u16,
    /// Bytes after the header (length − 8).
    pub payload_len: usize,
}

impl UdpRepr {
    /// Reads and checks the header. The packet's bytes must hold the whole UDP length.
    ///
    /// # Errors
    /// [`Error::Truncated`]; [`Error::BadLength`] if the length field is below 8.
    #[inline(always)]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &UdpPacket<&T>) -> Result<Self, Error> {
        packet.check_len()?;
        let len = usize::from(packet.len());
        let available = packet.buffer.as_ref().len();
        if len < HEADER {
            return Err(Error::BadLength {
                layer: Layer::Udp,
                declared: len,
                min: HEADER,
                max: available,
            });
        }
        need(packet.buffer.as_ref(), len, Layer::Udp)?;
        Ok(Self::read(packet, len))
    }

    /// The repr of a header whose checks have passed, `len` being its length field (see
    /// [`Ipv4Repr::read`](super::Ipv4Repr)).
    #[inline(always)]
    pub(crate) fn read<T: AsRef<[u8]> + ?Sized>(packet: &UdpPacket<&T>, len: usize) -> Self {
        Self {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            checksum: packet.checksum(),
            payload_len: len.saturating_sub(HEADER),
        }
    }

    /// 8.
    pub const fn header_len(&self) -> usize {
        HEADER
    }

    /// Header plus payload.
    pub const fn buffer_len(&self) -> usize {
        HEADER.saturating_add(self.payload_len)
    }

    /// Writes the header, with the checksum field as in the repr, into the first 8 bytes.
    ///
    /// # Errors
    /// [`Error::TooLong`] if the length does not fit 16 bits.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(
        &self,
        packet: &mut UdpPacket<&mut T>,
    ) -> Result<(), Error> {
        let len = u16::try_from(self.buffer_len()).map_err(|_| Error::TooLong {
            udp_len: self.buffer_len(),
        })?;
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(len);
        packet.set_checksum(self.checksum);
        Ok(())
    }
}
