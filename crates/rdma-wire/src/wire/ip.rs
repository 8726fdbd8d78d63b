//! IPv4 (no options) and IPv6 (no extension headers).

use super::{fixed_view, need, rd, set_u8, set_u16, u8_at, u16_at, wr};
use crate::{Error, Layer};

/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;

mod v4 {
    pub(super) const VER_IHL: usize = 0;
    pub(super) const TOS: usize = 1;
    pub(super) const TOTAL_LEN: usize = 2;
    pub(super) const IDENT: usize = 4;
    pub(super) const FLAGS_FRAG: usize = 6;
    pub(super) const TTL: usize = 8;
    pub(super) const PROTOCOL: usize = 9;
    pub(super) const CHECKSUM: usize = 10;
    pub(super) const SRC: usize = 12;
    pub(super) const DST: usize = 16;
}

/// Bytes of an IPv4 header without options.
const V4_LEN: usize = 20;
/// Bytes of an IPv6 header.
const V6_LEN: usize = 40;

/// The one's-complement sum of `data` as big-endian 16-bit words (an odd last byte is padded
/// with zero), folded to 16 bits, added to `sum`.
pub(crate) fn ones_sum(mut sum: u32, data: &[u8]) -> u32 {
    let (words, tail) = data.as_chunks::<2>();
    for w in words {
        sum = fold(sum.wrapping_add(u32::from(u16::from_be_bytes(*w))));
    }
    if let [b] = tail {
        sum = fold(sum.wrapping_add(u32::from(u16::from_be_bytes([*b, 0]))));
    }
    sum
}

/// Folds carries into the low 16 bits (the result stays below 0x1_0000 + 1 for the next add).
const fn fold(sum: u32) -> u32 {
    (sum & 0xFFFF).wrapping_add(sum >> 16)
}

/// The checksum field value for a one's-complement `sum`.
pub(crate) fn finish(sum: u32) -> u16 {
    let folded = fold(fold(sum)) & 0xFFFF;
    !u16::try_from(folded).unwrap_or(0xFFFF)
}

fixed_view!(
    /// A view of an IPv4 header (20 bytes checked; options are reported by
    /// [`header_len`](Self::header_len) and rejected by [`Ipv4Repr::parse`]).
    Ipv4Packet,
    V4_LEN,
    Layer::Ipv4
);

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Version nibble (4 for IPv4).
    pub fn version(&self) -> u8 {
        u8_at(self.buffer.as_ref(), v4::VER_IHL) >> 4
    }
    /// Header length in bytes (IHL × 4).
    pub fn header_len(&self) -> usize {
        usize::from(u8_at(self.buffer.as_ref(), v4::VER_IHL) & 0x0F).wrapping_mul(4)
    }
    /// The TOS byte (DSCP << 2 | ECN); masked by the ICRC.
    pub fn tos(&self) -> u8 {
        u8_at(self.buffer.as_ref(), v4::TOS)
    }
    /// Differentiated services code point.
    pub fn dscp(&self) -> u8 {
        self.tos() >> 2
    }
    /// Explicit congestion notification bits.
    pub fn ecn(&self) -> u8 {
        self.tos() & 3
    }
    /// Total length (header and payload).
    pub fn total_len(&self) -> u16 {
        u16_at(self.buffer.as_ref(), v4::TOTAL_LEN)
    }
    /// Identification.
    pub fn ident(&self) -> u16 {
        u16_at(self.buffer.as_ref(), v4::IDENT)
    }
    /// The three flag bits: reserved (4), don't fragment (2), more fragments (1).
    pub fn flags(&self) -> u8 {
        u8_at(self.buffer.as_ref(), v4::FLAGS_FRAG) >> 5
    }
    /// Fragment offset in 8-byte units.
    pub fn fragment_offset(&self) -> u16 {
        u16_at(self.buffer.as_ref(), v4::FLAGS_FRAG) & 0x1FFF
    }
    /// Time to live; masked by the ICRC.
    pub fn ttl(&self) -> u8 {
        u8_at(self.buffer.as_ref(), v4::TTL)
    }
    /// Protocol of the payload.
    pub fn protocol(&self) -> u8 {
        u8_at(self.buffer.as_ref(), v4::PROTOCOL)
    }
    /// Header checksum; masked by the ICRC.
    pub fn checksum(&self) -> u16 {
        u16_at(self.buffer.as_ref(), v4::CHECKSUM)
    }
    /// Source address.
    pub fn src_addr(&self) -> [u8; 4] {
        rd(self.buffer.as_ref(), v4::SRC)
    }
    /// Destination address.
    pub fn dst_addr(&self) -> [u8; 4] {
        rd(self.buffer.as_ref(), v4::DST)
    }
    /// Whether the header checksum is right (over [`header_len`](Self::header_len) bytes,
    /// or what the buffer has of them).
    pub fn verify_checksum(&self) -> bool {
        let buf = self.buffer.as_ref();
        let header = buf.get(..self.header_len()).unwrap_or(buf);
        finish(ones_sum(0, header)) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Sets version 4 and IHL 5.
    pub fn set_version_ihl(&mut self) {
        set_u8(self.buffer.as_mut(), v4::VER_IHL, 0x45);
    }
    /// Sets the TOS byte.
    pub fn set_tos(&mut self, v: u8) {
        set_u8(self.buffer.as_mut(), v4::TOS, v);
    }
    /// Sets the total length.
    pub fn set_total_len(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), v4::TOTAL_LEN, v);
    }
    /// Sets the identification.
    pub fn set_ident(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), v4::IDENT, v);
    }
    /// Sets the flag bits (low 3 bits of `flags`) and the fragment offset (13 bits).
    pub fn set_flags_fragment(&mut self, flags: u8, fragment_offset: u16) {
        let v = (u16::from(flags & 7) << 13) | (fragment_offset & 0x1FFF);
        set_u16(self.buffer.as_mut(), v4::FLAGS_FRAG, v);
    }
    /// Sets the TTL.
    pub fn set_ttl(&mut self, v: u8) {
        set_u8(self.buffer.as_mut(), v4::TTL, v);
    }
    /// Sets the protocol.
    pub fn set_protocol(&mut self, v: u8) {
        set_u8(self.buffer.as_mut(), v4::PROTOCOL, v);
    }
    /// Sets the checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), v4::CHECKSUM, v);
    }
    /// Sets the source address.
    pub fn set_src_addr(&mut self, v: [u8; 4]) {
        wr(self.buffer.as_mut(), v4::SRC, v);
    }
    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, v: [u8; 4]) {
        wr(self.buffer.as_mut(), v4::DST, v);
    }
    /// Computes and writes the header checksum.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let len = self.header_len();
        let buf = self.buffer.as_ref();
        let sum = ones_sum(0, buf.get(..len).unwrap_or(buf));
        self.set_checksum(finish(sum));
    }
}

/// A parsed IPv4 header (no options, not a fragment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Repr {
    /// TOS byte: DSCP << 2 | ECN.
    pub tos: u8,
    /// Identification.
    pub ident: u16,
    /// The three flag bits (reserved 4, DF 2, MF 1); MF is never set in a parsed repr.
    pub flags: u8,
    /// Time to live.
    pub ttl: u8,
    /// Protocol of the payload.
    pub protocol: u8,
    /// Source address.
    pub src: [u8; 4],
    /// Destination address.
    pub dst: [u8; 4],
    /// Bytes after the header (total length − 20).
    pub payload_len: usize,
}

impl Ipv4Repr {
    /// Reads and checks the header. The packet's bytes must hold the whole total length.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::IpVersion`], [`Error::Ipv4HeaderLen`],
    /// [`Error::Ipv4Options`], [`Error::BadLength`] (total length below 20),
    /// [`Error::Ipv4Fragment`]. The checksum is not checked (see
    /// [`Ipv4Packet::verify_checksum`]).
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Ipv4Packet<&T>) -> Result<Self, Error> {
        packet.check_len()?;
        if packet.version() != 4 {
            return Err(Error::IpVersion {
                version: packet.version(),
            });
        }
        let header_len = packet.header_len();
        if header_len < V4_LEN {
            return Err(Error::Ipv4HeaderLen { header_len });
        }
        if header_len > V4_LEN {
            return Err(Error::Ipv4Options { header_len });
        }
        let total = usize::from(packet.total_len());
        let available = packet.buffer.as_ref().len();
        if total < V4_LEN {
            return Err(Error::BadLength {
                layer: Layer::Ipv4,
                declared: total,
                min: V4_LEN,
                max: available,
            });
        }
        need(packet.buffer.as_ref(), total, Layer::Ipv4)?;
        let more_fragments = packet.flags() & 1 != 0;
        if more_fragments || packet.fragment_offset() != 0 {
            return Err(Error::Ipv4Fragment {
                fragment_offset: packet.fragment_offset(),
                more_fragments,
            });
        }
        Ok(Self::read(packet, total))
    }

    /// The repr of a header whose checks have passed, `total` being its total length: the
    /// one place the fields are read, shared by [`parse`](Self::parse) and the fast path of
    /// [`parse`](super::parse) (which checks first, then reads from a fixed-size array).
    #[inline(always)]
    pub(crate) fn read<T: AsRef<[u8]> + ?Sized>(packet: &Ipv4Packet<&T>, total: usize) -> Self {
        Self {
            tos: packet.tos(),
            ident: packet.ident(),
            flags: packet.flags(),
            ttl: packet.ttl(),
            protocol: packet.protocol(),
            src: packet.src_addr(),
            dst: packet.dst_addr(),
            payload_len: total.saturating_sub(V4_LEN),
        }
    }

    /// 20.
    pub const fn header_len(&self) -> usize {
        V4_LEN
    }

    /// Header plus payload.
    pub const fn buffer_len(&self) -> usize {
        V4_LEN.saturating_add(self.payload_len)
    }

    /// Writes the header (checksum included) into the first 20 bytes.
    ///
    /// # Errors
    /// [`Error::TooLong`] if the total length does not fit 16 bits.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(
        &self,
        packet: &mut Ipv4Packet<&mut T>,
    ) -> Result<(), Error> {
        let total = u16::try_from(self.buffer_len()).map_err(|_| Error::TooLong {
            udp_len: self.payload_len,
        })?;
        packet.set_version_ihl();
        packet.set_tos(self.tos);
        packet.set_total_len(total);
        packet.set_ident(self.ident);
        packet.set_flags_fragment(self.flags, 0);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src);
        packet.set_dst_addr(self.dst);
        packet.fill_checksum();
        Ok(())
    }
}

mod v6 {
    pub(super) const VER_TC_FLOW: usize = 0;
    pub(super) const PAYLOAD_LEN: usize = 4;
    pub(super) const NEXT_HEADER: usize = 6;
    pub(super) const HOP_LIMIT: usize = 7;
    pub(super) const SRC: usize = 8;
    pub(super) const DST: usize = 24;
}

/// Whether an IPv6 next-header value names an extension header (RFC 8200 and the IANA
/// list): hop-by-hop 0, routing 43, fragment 44, ESP 50, AH 51, destination options 60,
/// mobility 135, HIP 139, shim6 140, experiments 253 and 254.
pub const fn is_ipv6_extension_header(next_header: u8) -> bool {
    matches!(
        next_header,
        0 | 43 | 44 | 50 | 51 | 60 | 135 | 139 | 140 | 253 | 254
    )
}

fixed_view!(
    /// A view of an IPv6 header (40 bytes).
    Ipv6Packet,
    V6_LEN,
    Layer::Ipv6
);

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    fn word0(&self) -> u32 {
        super::u32_at(self.buffer.as_ref(), v6::VER_TC_FLOW)
    }
    /// Version nibble (6 for IPv6).
    pub fn version(&self) -> u8 {
        u8_at(self.buffer.as_ref(), v6::VER_TC_FLOW) >> 4
    }
    /// Traffic class (DSCP << 2 | ECN); masked by the ICRC.
    pub fn traffic_class(&self) -> u8 {
        let [_, tc, _, _] = (self.word0() >> 4).to_be_bytes();
        tc
    }
    /// Flow label (20 bits); masked by the ICRC.
    pub fn flow_label(&self) -> u32 {
        self.word0() & 0x000F_FFFF
    }
    /// Payload length.
    pub fn payload_len(&self) -> u16 {
        u16_at(self.buffer.as_ref(), v6::PAYLOAD_LEN)
    }
    /// Next header.
    pub fn next_header(&self) -> u8 {
        u8_at(self.buffer.as_ref(), v6::NEXT_HEADER)
    }
    /// Hop limit; masked by the ICRC.
    pub fn hop_limit(&self) -> u8 {
        u8_at(self.buffer.as_ref(), v6::HOP_LIMIT)
    }
    /// Source address.
    pub fn src_addr(&self) -> [u8; 16] {
        rd(self.buffer.as_ref(), v6::SRC)
    }
    /// Destination address.
    pub fn dst_addr(&self) -> [u8; 16] {
        rd(self.buffer.as_ref(), v6::DST)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    /// Sets version 6, the traffic class and the flow label (20 bits).
    pub fn set_version_tc_flow(&mut self, traffic_class: u8, flow_label: u32) {
        let w = (6u32 << 28) | (u32::from(traffic_class) << 20) | (flow_label & 0x000F_FFFF);
        super::set_u32(self.buffer.as_mut(), v6::VER_TC_FLOW, w);
    }
    /// Sets the payload length.
    pub fn set_payload_len(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), v6::PAYLOAD_LEN, v);
    }
    /// Sets the next header.
    pub fn set_next_header(&mut self, v: u8) {
        set_u8(self.buffer.as_mut(), v6::NEXT_HEADER, v);
    }
    /// Sets the hop limit.
    pub fn set_hop_limit(&mut self, v: u8) {
        set_u8(self.buffer.as_mut(), v6::HOP_LIMIT, v);
    }
    /// Sets the source address.
    pub fn set_src_addr(&mut self, v: [u8; 16]) {
        wr(self.buffer.as_mut(), v6::SRC, v);
    }
    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, v: [u8; 16]) {
        wr(self.buffer.as_mut(), v6::DST, v);
    }
}

/// A parsed IPv6 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Repr {
    /// Traffic class (DSCP << 2 | ECN).
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
    /// Next header.
    pub next_header: u8,
    /// Hop limit.
    pub hop_limit: u8,
    /// Source address.
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// Bytes after the header (the payload length field).
    pub payload_len: usize,
}

impl Ipv6Repr {
    /// Reads and checks the header. The packet's bytes must hold the whole payload length.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::IpVersion`].
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Ipv6Packet<&T>) -> Result<Self, Error> {
        packet.check_len()?;
        if packet.version() != 6 {
            return Err(Error::IpVersion {
                version: packet.version(),
            });
        }
        let payload_len = usize::from(packet.payload_len());
        need(
            packet.buffer.as_ref(),
            V6_LEN.saturating_add(payload_len),
            Layer::Ipv6,
        )?;
        Ok(Self::read(packet, payload_len))
    }

    /// The repr of a header whose checks have passed (see [`Ipv4Repr::read`]).
    #[inline(always)]
    pub(crate) fn read<T: AsRef<[u8]> + ?Sized>(
        packet: &Ipv6Packet<&T>,
        payload_len: usize,
    ) -> Self {
        Self {
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
            next_header: packet.next_header(),
            hop_limit: packet.hop_limit(),
            src: packet.src_addr(),
            dst: packet.dst_addr(),
            payload_len,
        }
    }

    /// 40.
    pub const fn header_len(&self) -> usize {
        V6_LEN
    }

    /// Header plus payload.
    pub const fn buffer_len(&self) -> usize {
        V6_LEN.saturating_add(self.payload_len)
    }

    /// Writes the header into the first 40 bytes.
    ///
    /// # Errors
    /// [`Error::TooLong`] if the payload length does not fit 16 bits.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(
        &self,
        packet: &mut Ipv6Packet<&mut T>,
    ) -> Result<(), Error> {
        let len = u16::try_from(self.payload_len).map_err(|_| Error::TooLong {
            udp_len: self.payload_len,
        })?;
        packet.set_version_tc_flow(self.traffic_class, self.flow_label);
        packet.set_payload_len(len);
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src);
        packet.set_dst_addr(self.dst);
        Ok(())
    }
}

/// An IPv4 or IPv6 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpRepr {
    /// IPv4.
    Ipv4(Ipv4Repr),
    /// IPv6.
    Ipv6(Ipv6Repr),
}

impl IpRepr {
    /// 20 or 40.
    pub const fn header_len(&self) -> usize {
        match self {
            IpRepr::Ipv4(r) => r.header_len(),
            IpRepr::Ipv6(r) => r.header_len(),
        }
    }

    /// Bytes after the header.
    pub const fn payload_len(&self) -> usize {
        match self {
            IpRepr::Ipv4(r) => r.payload_len,
            IpRepr::Ipv6(r) => r.payload_len,
        }
    }

    /// IPv4 protocol or IPv6 next header.
    pub const fn protocol(&self) -> u8 {
        match self {
            IpRepr::Ipv4(r) => r.protocol,
            IpRepr::Ipv6(r) => r.next_header,
        }
    }

    /// The EtherType that carries this version.
    pub const fn ethertype(&self) -> u16 {
        match self {
            IpRepr::Ipv4(_) => super::ETHERTYPE_IPV4,
            IpRepr::Ipv6(_) => super::ETHERTYPE_IPV6,
        }
    }

    /// The one's-complement sum of the UDP pseudo-header for `udp_len` bytes of UDP.
    pub(crate) fn pseudo_header_sum(&self, udp_len: usize) -> u32 {
        match self {
            IpRepr::Ipv4(r) => {
                let sum = ones_sum(ones_sum(0, &r.src), &r.dst);
                let len = u16::try_from(udp_len).unwrap_or(0);
                ones_sum(
                    sum,
                    &[0, IPPROTO_UDP, len.to_be_bytes()[0], len.to_be_bytes()[1]],
                )
            }
            IpRepr::Ipv6(r) => {
                let sum = ones_sum(ones_sum(0, &r.src), &r.dst);
                let len = u32::try_from(udp_len).unwrap_or(0).to_be_bytes();
                ones_sum(sum, &[len[0], len[1], len[2], len[3], 0, 0, 0, IPPROTO_UDP])
            }
        }
    }
}
