//! The whole RoCE v2 frame: [`parse`] (Ethernet → ICRC, zero-copy) and [`FrameBuilder`].

use super::{
    BthPacket, BthRepr, ETHERTYPE_IPV4, ETHERTYPE_IPV6, EthernetPacket, EthernetRepr, Ext,
    IPPROTO_UDP, IpRepr, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, OpcodeInfo, ROCE_V2_PORT,
    TPID_8021AD, TPID_8021Q, UdpPacket, UdpRepr, is_ipv6_extension_header, need,
};
use crate::wire::ip::{finish, ones_sum};
use crate::{Error, Icrc, Layer};

/// BTH length.
const BTH_LEN: usize = 12;
/// UDP header length.
const UDP_LEN: usize = 8;
/// ICRC length.
const ICRC_LEN: usize = 4;

/// Where each part of a parsed frame starts, in bytes from the start of the Ethernet
/// header. The parts are contiguous: `l3 <= l4 <= bth <= ext <= payload <= pad <= icrc <
/// end <= frame length`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Offsets {
    /// IP header.
    pub l3: usize,
    /// UDP header.
    pub l4: usize,
    /// BTH.
    pub bth: usize,
    /// First extended header (= `payload` when there is none).
    pub ext: usize,
    /// Payload.
    pub payload: usize,
    /// Pad bytes.
    pub pad: usize,
    /// The 4-byte ICRC.
    pub icrc: usize,
    /// One past the ICRC: the end of the UDP datagram. Anything after it (Ethernet padding,
    /// an FCS) is [`Frame::trailer`].
    pub end: usize,
}

/// A parsed RoCE v2 frame: the offsets of every part and the opcode's table entry, borrowing
/// the frame's bytes (nothing is copied). Made by [`parse`].
///
/// The headers were all checked by [`parse`]; their reprs are decoded from the bytes when
/// asked for ([`ethernet`](Self::ethernet), [`ip`](Self::ip), …), not during the parse. A
/// `Frame` is 64 bytes on 64-bit targets (the slice, five offsets and the opcode entry), so a
/// data path that reads two fields of a packet pays for those two, not for decoding and
/// moving every header (an eager frame with all reprs was 344 bytes, and `parse` of a
/// 64-byte-payload frame took 1.7 times as long).
///
/// Two frames are equal when their bytes, offsets and opcodes are: the reprs follow from
/// those.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    bytes: &'a [u8],
    // Five of the `Offsets`; `bth`, `ext` and `end` follow from `l4` and `icrc`.
    l3: usize,
    l4: usize,
    payload: usize,
    pad: usize,
    icrc: usize,
    info: OpcodeInfo,
}

// `#[inline]` on the accessors: each decodes one header from its fixed place, and a caller in
// another crate that reads a few fields of one can then drop the decoding of the rest.
impl<'a> Frame<'a> {
    /// The offsets of every part.
    #[inline]
    pub const fn offsets(&self) -> Offsets {
        Offsets {
            l3: self.l3,
            l4: self.l4,
            bth: self.l4.saturating_add(UDP_LEN),
            ext: self.l4.saturating_add(UDP_LEN + BTH_LEN),
            payload: self.payload,
            pad: self.pad,
            icrc: self.icrc,
            end: self.icrc.saturating_add(ICRC_LEN),
        }
    }
    /// The bytes from `at` on (a header's place; `parse` checked that it is there).
    #[inline]
    fn starting_at(&self, at: usize) -> &'a [u8] {
        self.bytes.get(at..).unwrap_or(&[])
    }
    /// The Ethernet header.
    #[inline]
    pub fn ethernet(&self) -> EthernetRepr {
        EthernetRepr::read(&EthernetPacket::new_unchecked(self.bytes))
    }
    /// The IP header.
    #[inline]
    pub fn ip(&self) -> IpRepr {
        let at = self.starting_at(self.l3);
        if self.l4.wrapping_sub(self.l3) == 40 {
            let p = Ipv6Packet::new_unchecked(at);
            IpRepr::Ipv6(Ipv6Repr::read(&p, usize::from(p.payload_len())))
        } else {
            let p = Ipv4Packet::new_unchecked(at);
            IpRepr::Ipv4(Ipv4Repr::read(&p, usize::from(p.total_len())))
        }
    }
    /// The UDP header.
    #[inline]
    pub fn udp(&self) -> UdpRepr {
        let p = UdpPacket::new_unchecked(self.starting_at(self.l4));
        UdpRepr::read(&p, usize::from(p.len()))
    }
    /// The BTH.
    #[inline]
    pub fn bth(&self) -> BthRepr {
        BthRepr::read(&BthPacket::new_unchecked(
            self.starting_at(self.offsets().bth),
        ))
    }
    /// The extended headers.
    #[inline]
    pub fn ext(&self) -> Ext {
        Ext::read(self.info.headers, self.starting_at(self.offsets().ext))
    }
    /// The opcode's table entry.
    #[inline]
    pub const fn info(&self) -> &OpcodeInfo {
        &self.info
    }
    /// The whole input, trailer included.
    #[inline]
    pub const fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
    #[inline]
    fn range(&self, start: usize, end: usize) -> &'a [u8] {
        self.bytes.get(start..end).unwrap_or(&[])
    }
    /// The payload (pad excluded).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.range(self.payload, self.pad)
    }
    /// The pad bytes (0 to 3).
    #[inline]
    pub fn pad(&self) -> &'a [u8] {
        self.range(self.pad, self.icrc)
    }
    /// The ICRC as stored (read little-endian, as [`Icrc::compute`] returns it).
    #[inline]
    pub fn icrc(&self) -> u32 {
        u32::from_le_bytes(super::rd(self.bytes, self.icrc))
    }
    /// The bytes the ICRC covers, before masking: from the IP header to the ICRC.
    #[inline]
    pub fn icrc_covered(&self) -> &'a [u8] {
        self.range(self.l3, self.icrc)
    }
    /// Bytes after the UDP datagram: Ethernet padding (short frames), an FCS if the capture
    /// kept it, or surplus IP payload beyond the UDP length.
    #[inline]
    pub fn trailer(&self) -> &'a [u8] {
        self.starting_at(self.offsets().end)
    }
    /// Whether the UDP checksum is right; `None` when it is 0 (not sent). Not checked by
    /// [`parse`].
    pub fn udp_checksum_ok(&self) -> Option<bool> {
        if self.udp().checksum == 0 {
            return None;
        }
        let datagram = self.range(self.l4, self.offsets().end);
        let sum = ones_sum(self.ip().pseudo_header_sum(datagram.len()), datagram);
        Some(finish(sum) == 0)
    }
    /// A builder that, given this frame's payload, emits this frame again (zero pad and
    /// reserved ETH bytes, fresh IPv4/UDP checksums and ICRC).
    pub fn builder(&self) -> FrameBuilder {
        FrameBuilder {
            ethernet: self.ethernet(),
            ip: self.ip(),
            udp: self.udp(),
            bth: self.bth(),
            ext: self.ext(),
        }
    }
}

impl core::fmt::Debug for Frame<'_> {
    /// The offsets and every header, decoded (not the bytes).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Frame")
            .field("offsets", &self.offsets())
            .field("ethernet", &self.ethernet())
            .field("ip", &self.ip())
            .field("udp", &self.udp())
            .field("bth", &self.bth())
            .field("ext", &self.ext())
            .field("info", &self.info)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Parses a RoCE v2 frame, from the Ethernet header to the ICRC, without copying.
///
/// The packet is bounded by the UDP length (itself within the IP length), never by the
/// slice: bytes after it are the [`Frame::trailer`]. The payload excludes the BTH pad
/// count. Reserved bits are accepted whatever their value. The ICRC is not checked here
/// (see [`Icrc::verify`]), nor are the IPv4 and UDP checksums (both are masked out of the
/// ICRC; see [`Ipv4Packet::verify_checksum`] and [`Frame::udp_checksum_ok`]).
///
/// # Errors
/// [`Error::Truncated`] (with the layer, its offset and the sizes) when a header or a
/// declared length runs past the data; [`Error::UnsupportedEtherType`],
/// [`Error::IpVersion`], [`Error::Ipv4HeaderLen`], [`Error::Ipv4Options`],
/// [`Error::Ipv4Fragment`], [`Error::Ipv6ExtensionHeader`], [`Error::NotUdp`],
/// [`Error::NotRoceV2Port`] for what is not (supported) RoCE v2; [`Error::BadLength`] for an
/// inconsistent length field; [`Error::UnsupportedTver`], [`Error::UnknownOpcode`],
/// [`Error::PadExceedsPayload`], [`Error::PayloadNotAllowed`] for a bad BTH.
#[inline]
pub fn parse(bytes: &[u8]) -> Result<Frame<'_>, Error> {
    parse_checked(bytes, check_nothing)
}

/// [`parse`], then `check` on the bytes the ICRC covers, whether the IP header is IPv6 (else
/// IPv4; the version nibble was checked) and the ICRC as stored (what
/// [`Icrc::parse_verified`] does) before the frame is built.
///
/// Two paths find the frame's offsets: [`common_shape`] for the usual frame (Ethernet with
/// at most one tag, IPv4 without options or IPv6), and [`general_shape`] for every other
/// frame and every error. The first accepts only frames that the second accepts, with the
/// same offsets (the tests compare them on every opcode and shape, and on mutations), so
/// which one answers changes nothing but the time.
///
/// # Errors
/// Those of [`parse`], then that of `check`.
#[inline]
pub(crate) fn parse_checked<'a>(
    bytes: &'a [u8],
    check: impl FnOnce(&'a [u8], bool, u32) -> Result<(), Error>,
) -> Result<Frame<'a>, Error> {
    match common_shape(bytes) {
        Some(shape) => shape.finish(bytes, check),
        None => parse_general(bytes, check),
    }
}

/// [`parse_checked`] of a frame that [`common_shape`] does not take (and of every error).
/// Out of line, so that the usual frame's path stays small; it builds the frame (or the
/// error) in place, as the whole parse did before the split (a [`Shape`] returned through
/// memory and read back with wider loads stalled a tagged frame's parse by a store-to-load
/// forward).
#[inline(never)]
fn parse_general<'a>(
    bytes: &'a [u8],
    check: impl FnOnce(&'a [u8], bool, u32) -> Result<(), Error>,
) -> Result<Frame<'a>, Error> {
    general_shape(bytes)?.finish(bytes, check)
}

impl<'a> Shape<'a> {
    /// `check`, then the frame.
    #[inline]
    fn finish(
        self,
        bytes: &'a [u8],
        check: impl FnOnce(&'a [u8], bool, u32) -> Result<(), Error>,
    ) -> Result<Frame<'a>, Error> {
        check(self.covered, self.ipv6, self.stored)?;
        Ok(Frame {
            bytes,
            l3: self.l3,
            l4: self.l4,
            payload: self.payload,
            pad: self.icrc.saturating_sub(self.pad_len),
            icrc: self.icrc,
            info: self.info,
        })
    }
}

/// An 802.1Q or 802.1ad TPID (the EtherTypes `EthernetPacket` reads a tag after).
const fn is_tpid(v: u16) -> bool {
    v == TPID_8021Q || v == TPID_8021AD
}

/// What [`parse_checked`] learns of a frame before its `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shape<'a> {
    l3: usize,
    l4: usize,
    payload: usize,
    icrc: usize,
    pad_len: usize,
    info: OpcodeInfo,
    ipv6: bool,
    /// `bytes[l3..icrc]`.
    covered: &'a [u8],
    /// The ICRC as stored (`bytes[icrc..icrc + 4]`, little-endian).
    stored: u32,
}

/// The shape of a frame of the usual kind — Ethernet with at most one 802.1Q/802.1ad tag,
/// then IPv4 without options or IPv6, RoCE v2 — that [`general_shape`] accepts, found with
/// fixed offsets: the headers from the IP header to the BTH are one fixed-size array (40
/// bytes for IPv4, 60 for IPv6) taken with one bounds check, each field is read from a
/// constant place in it, and the checks are those of [`general_shape`] for this layout.
/// `None` for every other frame (another EtherType) and for every error, which
/// [`general_shape`] then finds: so this never decides an error, and a frame it accepts gets
/// the offsets [`general_shape`] would give. Always inlined: a [`Shape`] returned through
/// memory costs a failed store-to-load forward when it is read back.
#[inline(always)]
fn common_shape(bytes: &[u8]) -> Option<Shape<'_>> {
    let eth = bytes.first_chunk::<14>()?;
    let outer = u16::from_be_bytes(super::rd(eth, 12));
    let (l3, ethertype): (usize, u16) = if is_tpid(outer) {
        (18, u16::from_be_bytes(super::rd(bytes, 16)))
    } else {
        (14, outer)
    };
    let at_l3 = bytes.get(l3..)?;
    let ip_room = at_l3.len();
    let (ip_len, ip_payload, udp, bth, ipv6): (usize, usize, [u8; UDP_LEN], [u8; BTH_LEN], bool) =
        match ethertype {
            ETHERTYPE_IPV4 => {
                const IP: usize = 20;
                let h = at_l3.first_chunk::<{ IP + UDP_LEN + BTH_LEN }>()?;
                let total = usize::from(u16::from_be_bytes(super::rd(h, 2)));
                let frag = u16::from_be_bytes(super::rd(h, 6));
                let [ver_ihl] = super::rd(h, 0);
                let [protocol] = super::rd(h, 9);
                // Version 4 with IHL 5, the total length within the data, not a fragment (MF
                // and the offset clear), UDP.
                if ver_ihl != 0x45
                    || total < IP
                    || total > ip_room
                    || frag & 0x3FFF != 0
                    || protocol != IPPROTO_UDP
                {
                    return None;
                }
                (
                    IP,
                    total.wrapping_sub(IP),
                    super::rd(h, IP),
                    super::rd(h, IP + UDP_LEN),
                    false,
                )
            }
            ETHERTYPE_IPV6 => {
                const IP: usize = 40;
                let h = at_l3.first_chunk::<{ IP + UDP_LEN + BTH_LEN }>()?;
                let payload_len = usize::from(u16::from_be_bytes(super::rd(h, 4)));
                let [version] = super::rd(h, 0);
                let [next_header] = super::rd(h, 6);
                if version >> 4 != 6
                    || payload_len > ip_room.wrapping_sub(IP)
                    || next_header != IPPROTO_UDP
                {
                    return None;
                }
                (
                    IP,
                    payload_len,
                    super::rd(h, IP),
                    super::rd(h, IP + UDP_LEN),
                    true,
                )
            }
            _ => return None,
        };
    let udp_len = usize::from(u16::from_be_bytes(super::rd(&udp, 4)));
    let dst_port = u16::from_be_bytes(super::rd(&udp, 2));
    // Room for the BTH and the ICRC, within the IP payload, to port 4791.
    if udp_len < UDP_LEN + BTH_LEN + ICRC_LEN || udp_len > ip_payload || dst_port != ROCE_V2_PORT {
        return None;
    }
    let [opcode, flags] = super::rd(&bth, 0);
    let info = super::Opcode(opcode).info()?;
    let ext_len = info.headers.size();
    // Payload and pad: what follows the extended headers, less the ICRC.
    let body = udp_len
        .checked_sub(UDP_LEN + BTH_LEN + ICRC_LEN)?
        .checked_sub(ext_len)?;
    let pad_len = usize::from((flags >> 4) & 3);
    if flags & 0x0F != 0 || pad_len > body || (!info.payload && body != 0) {
        return None;
    }
    // From the IP header: `icrc + 4 = ip_len + udp_len`, within the IP payload, so within
    // `at_l3`: these two checks never fail.
    let payload = ip_len.wrapping_add(UDP_LEN + BTH_LEN).wrapping_add(ext_len);
    let icrc = payload.wrapping_add(body);
    let (covered, stored) = at_l3
        .get(..icrc.wrapping_add(ICRC_LEN))?
        .split_last_chunk()?;
    Some(Shape {
        l3,
        l4: l3.wrapping_add(ip_len),
        payload: l3.wrapping_add(payload),
        icrc: l3.wrapping_add(icrc),
        pad_len,
        info,
        ipv6,
        covered,
        stored: u32::from_le_bytes(*stored),
    })
}

/// The shape of any frame, or its error: the checks of [`parse`] for every layout. Inlined
/// into [`parse_general`], its only caller, so that the shape stays in registers.
///
/// The headers are read from fixed-size arrays taken with one bounds check each (the
/// getters' reads then need none), and every check is a plain comparison. What it does not
/// accept is an error, which [`parse_error`] finds header by header.
#[inline(always)]
fn general_shape(bytes: &[u8]) -> Result<Shape<'_>, Error> {
    // The checks read the headers' bytes through views of fixed-size arrays; only offsets
    // and the opcode entry are kept (the reprs are decoded when asked for), so few values are
    // live across the checks and `check`.
    //
    // A valid frame has at least 58 bytes (14 + 20 + 8 + 12 + 4), so the longest Ethernet
    // header (18 bytes, tagged) is always there.
    let Some(eth) = bytes.first_chunk::<18>() else {
        return Err(parse_error(bytes));
    };
    let eth_packet = EthernetPacket::new_unchecked(eth);
    let l3 = eth_packet.header_len();
    let at_l3 = bytes.get(l3..).unwrap_or(&[]);
    // `l4` and `ip_end` are at most `bytes.len()` (checked against `at_l3`), so the
    // saturating adds below never saturate.
    let (l4, ip_end, ipv6) = match eth_packet.ethertype() {
        ETHERTYPE_IPV4 => {
            let Some(h) = at_l3.first_chunk::<20>() else {
                return Err(parse_error(bytes));
            };
            let p = Ipv4Packet::new_unchecked(h);
            let total = usize::from(p.total_len());
            // Version 4 with IHL 5 (no options), the total length within the data, not a
            // fragment (MF clear, offset 0), UDP.
            if p.version() != 4
                || p.header_len() != 20
                || total < 20
                || total > at_l3.len()
                || p.flags() & 1 != 0
                || p.fragment_offset() != 0
                || p.protocol() != IPPROTO_UDP
            {
                return Err(parse_error(bytes));
            }
            (l3.saturating_add(20), l3.saturating_add(total), false)
        }
        ETHERTYPE_IPV6 => {
            let Some(h) = at_l3.first_chunk::<40>() else {
                return Err(parse_error(bytes));
            };
            let p = Ipv6Packet::new_unchecked(h);
            let payload_len = usize::from(p.payload_len());
            if p.version() != 6
                || payload_len > at_l3.len().saturating_sub(40)
                || p.next_header() != IPPROTO_UDP
            {
                return Err(parse_error(bytes));
            }
            let l4 = l3.saturating_add(40);
            (l4, l4.saturating_add(payload_len), true)
        }
        _ => return Err(parse_error(bytes)),
    };
    let datagram = bytes.get(l4..ip_end).unwrap_or(&[]);
    let Some((udp_header, after_udp)) = datagram.split_first_chunk::<UDP_LEN>() else {
        return Err(parse_error(bytes));
    };
    let udp_packet = UdpPacket::new_unchecked(udp_header);
    let udp_len = usize::from(udp_packet.len());
    // Room for the BTH and the ICRC, within the IP payload, to port 4791.
    if udp_len < UDP_LEN + BTH_LEN + ICRC_LEN
        || udp_len > datagram.len()
        || udp_packet.dst_port() != ROCE_V2_PORT
    {
        return Err(parse_error(bytes));
    }
    let roce = after_udp
        .get(..udp_len.saturating_sub(UDP_LEN))
        .unwrap_or(&[]);
    let Some((bth_header, after_bth)) = roce.split_first_chunk::<BTH_LEN>() else {
        return Err(parse_error(bytes));
    };
    let bth_packet = BthPacket::new_unchecked(bth_header);
    let Some(info) = bth_packet.opcode().info() else {
        return Err(parse_error(bytes));
    };
    let ext_len = info.headers.size();
    // Payload and pad: what follows the extended headers, less the ICRC.
    let Some(body) = after_bth
        .len()
        .checked_sub(ext_len)
        .and_then(|n| n.checked_sub(ICRC_LEN))
    else {
        return Err(parse_error(bytes));
    };
    let pad_len = usize::from(bth_packet.pad_count());
    if bth_packet.tver() != 0 || pad_len > body || (!info.payload && body != 0) {
        return Err(parse_error(bytes));
    }
    let payload = l4.saturating_add(UDP_LEN + BTH_LEN).saturating_add(ext_len);
    let icrc = payload.saturating_add(body);
    Ok(Shape {
        l3,
        l4,
        payload,
        icrc,
        pad_len,
        info,
        ipv6,
        covered: bytes.get(l3..icrc).unwrap_or(&[]),
        stored: u32::from_le_bytes(super::rd(bytes, icrc)),
    })
}

/// The `check` of [`parse`].
#[expect(
    clippy::unnecessary_wraps,
    reason = "the signature of a `parse_checked` check"
)]
const fn check_nothing(_: &[u8], _: bool, _: u32) -> Result<(), Error> {
    Ok(())
}

/// The error of a frame that the fast path of [`parse_checked`] refused: the checks one
/// header at a time, in the order that decides which error a bad frame gets. Out of line,
/// so that the fast path stays small and its `Result` is built in place (an error is a few
/// scalars, where a `Result<Frame>` returned by a call would be copied out).
///
/// Every test of the fast path is one of the errors found here, so the fast path refuses
/// only frames that are errors and this returns theirs; the tests check that `parse` agrees
/// with the straightforward parser (`parse_reference`) on every scapy frame, every
/// truncation and thousands of mutations.
#[cold]
#[inline(never)]
fn parse_error(bytes: &[u8]) -> Error {
    match first_error(bytes) {
        Err(e) => e,
        // Not reached (see above); a frame this short of its headers is the nearest error.
        Ok(()) => Error::Truncated {
            layer: Layer::Ethernet,
            offset: 0,
            needed: 58,
            available: bytes.len(),
        },
    }
}

/// The first error of the frame in `bytes`, if it has one.
fn first_error(bytes: &[u8]) -> Result<(), Error> {
    let ethernet = EthernetRepr::parse(&EthernetPacket::new_unchecked(bytes))?;
    // Every offset below is at most `bytes.len()` (each step is checked against the data
    // first), so the saturating adds never saturate.
    let l3 = ethernet.buffer_len();
    let at_l3 = bytes.get(l3..).unwrap_or(&[]);
    let ip = match ethernet.ethertype {
        ETHERTYPE_IPV4 => IpRepr::Ipv4(
            Ipv4Repr::parse(&Ipv4Packet::new_unchecked(at_l3)).map_err(|e| e.shifted(l3))?,
        ),
        ETHERTYPE_IPV6 => IpRepr::Ipv6(
            Ipv6Repr::parse(&Ipv6Packet::new_unchecked(at_l3)).map_err(|e| e.shifted(l3))?,
        ),
        ethertype => return Err(Error::UnsupportedEtherType { ethertype }),
    };
    let protocol = ip.protocol();
    if protocol != IPPROTO_UDP {
        return Err(match ip {
            IpRepr::Ipv6(_) if is_ipv6_extension_header(protocol) => Error::Ipv6ExtensionHeader {
                next_header: protocol,
            },
            _ => Error::NotUdp { protocol },
        });
    }
    let l4 = l3.saturating_add(ip.header_len());
    let ip_end = l4.saturating_add(ip.payload_len());
    let datagram = bytes.get(l4..ip_end).unwrap_or(&[]);
    let udp_packet = UdpPacket::new_unchecked(datagram);
    udp_packet.check_len().map_err(|e| e.shifted(l4))?;
    let declared = usize::from(udp_packet.len());
    if declared > datagram.len() {
        return Err(Error::BadLength {
            layer: Layer::Udp,
            declared,
            min: UDP_LEN,
            max: datagram.len(),
        });
    }
    let udp = UdpRepr::parse(&udp_packet).map_err(|e| e.shifted(l4))?;
    if udp.dst_port != ROCE_V2_PORT {
        return Err(Error::NotRoceV2Port { port: udp.dst_port });
    }
    let end = l4.saturating_add(udp.buffer_len());
    let bth_at = l4.saturating_add(UDP_LEN);
    let roce = bytes.get(bth_at..end).unwrap_or(&[]);
    let bth = BthRepr::parse(&BthPacket::new_unchecked(roce)).map_err(|e| e.shifted(bth_at))?;
    let info = bth.opcode.info().ok_or(Error::UnknownOpcode {
        opcode: bth.opcode.0,
    })?;
    let ext_at = bth_at.saturating_add(BTH_LEN);
    let after_bth = bytes.get(ext_at..end).unwrap_or(&[]);
    let ext_len = info.headers.size();
    if after_bth.len() < ext_len {
        return Err(Ext::truncation(info.headers, after_bth).shifted(ext_at));
    }
    let payload = ext_at.saturating_add(ext_len);
    let rest = bytes.get(payload..end).unwrap_or(&[]);
    need(rest, ICRC_LEN, Layer::Icrc).map_err(|e| e.shifted(payload))?;
    let icrc = end.saturating_sub(ICRC_LEN);
    let body = icrc.saturating_sub(payload);
    let pad_len = usize::from(bth.pad_count);
    if pad_len > body {
        return Err(Error::PadExceedsPayload {
            pad: pad_len,
            available: body,
        });
    }
    if !info.payload && body != 0 {
        return Err(Error::PayloadNotAllowed {
            opcode: bth.opcode.0,
            len: body,
        });
    }
    Ok(())
}

/// Every header of a frame, decoded.
#[cfg(test)]
pub(crate) type Decoded = (EthernetRepr, IpRepr, UdpRepr, BthRepr, Ext);

/// The parser as first written (every header decoded while it is checked, the whole `Ext`
/// returned by value), the reference for the tests of [`parse`] and of the lazy decoding
/// of [`Frame`]'s accessors: the frame and its headers as this parser decoded them.
#[cfg(test)]
pub(crate) fn parse_reference(bytes: &[u8]) -> Result<(Frame<'_>, Decoded), Error> {
    let ethernet = EthernetRepr::parse(&EthernetPacket::new_unchecked(bytes))?;
    // Every offset below is at most `bytes.len()` (each step is checked against the data
    // first), so the saturating adds never saturate.
    let l3 = ethernet.buffer_len();
    let at_l3 = bytes.get(l3..).unwrap_or(&[]);
    let ip = match ethernet.ethertype {
        ETHERTYPE_IPV4 => IpRepr::Ipv4(
            Ipv4Repr::parse(&Ipv4Packet::new_unchecked(at_l3)).map_err(|e| e.shifted(l3))?,
        ),
        ETHERTYPE_IPV6 => IpRepr::Ipv6(
            Ipv6Repr::parse(&Ipv6Packet::new_unchecked(at_l3)).map_err(|e| e.shifted(l3))?,
        ),
        ethertype => return Err(Error::UnsupportedEtherType { ethertype }),
    };
    let protocol = ip.protocol();
    if protocol != IPPROTO_UDP {
        return Err(match ip {
            IpRepr::Ipv6(_) if is_ipv6_extension_header(protocol) => Error::Ipv6ExtensionHeader {
                next_header: protocol,
            },
            _ => Error::NotUdp { protocol },
        });
    }
    let l4 = l3.saturating_add(ip.header_len());
    let ip_end = l4.saturating_add(ip.payload_len());
    let datagram = bytes.get(l4..ip_end).unwrap_or(&[]);
    let udp_packet = UdpPacket::new_unchecked(datagram);
    udp_packet.check_len().map_err(|e| e.shifted(l4))?;
    let declared = usize::from(udp_packet.len());
    if declared > datagram.len() {
        return Err(Error::BadLength {
            layer: Layer::Udp,
            declared,
            min: UDP_LEN,
            max: datagram.len(),
        });
    }
    let udp = UdpRepr::parse(&udp_packet).map_err(|e| e.shifted(l4))?;
    if udp.dst_port != ROCE_V2_PORT {
        return Err(Error::NotRoceV2Port { port: udp.dst_port });
    }
    let end = l4.saturating_add(udp.buffer_len());
    let bth_at = l4.saturating_add(UDP_LEN);
    let roce = bytes.get(bth_at..end).unwrap_or(&[]);
    let bth = BthRepr::parse(&BthPacket::new_unchecked(roce)).map_err(|e| e.shifted(bth_at))?;
    let info = bth.opcode.info().ok_or(Error::UnknownOpcode {
        opcode: bth.opcode.0,
    })?;
    let ext_at = bth_at.saturating_add(BTH_LEN);
    let after_bth = bytes.get(ext_at..end).unwrap_or(&[]);
    let (ext, ext_len) =
        Ext::parse_reference(info.headers, after_bth).map_err(|e| e.shifted(ext_at))?;
    let payload = ext_at.saturating_add(ext_len);
    let rest = bytes.get(payload..end).unwrap_or(&[]);
    need(rest, ICRC_LEN, Layer::Icrc).map_err(|e| e.shifted(payload))?;
    let icrc = end.saturating_sub(ICRC_LEN);
    let body = icrc.saturating_sub(payload);
    let pad_len = usize::from(bth.pad_count);
    if pad_len > body {
        return Err(Error::PadExceedsPayload {
            pad: pad_len,
            available: body,
        });
    }
    if !info.payload && body != 0 {
        return Err(Error::PayloadNotAllowed {
            opcode: bth.opcode.0,
            len: body,
        });
    }
    let frame = Frame {
        bytes,
        l3,
        l4,
        payload,
        pad: icrc.saturating_sub(pad_len),
        icrc,
        info,
    };
    assert_eq!(
        frame.offsets(),
        Offsets {
            l3,
            l4,
            bth: bth_at,
            ext: ext_at,
            payload,
            pad: icrc.saturating_sub(pad_len),
            icrc,
            end,
        }
    );
    Ok((frame, (ethernet, ip, udp, bth, ext)))
}

/// Builds a complete RoCE v2 frame for any opcode: headers, payload, pad, ICRC and the
/// IPv4 header checksum, into a caller buffer.
///
/// The builder fills in what follows from the payload: the EtherType (from the IP
/// version), IP protocol / next header (UDP), IP and UDP lengths, UDP destination port
/// (4791), BTH pad count. The extended headers given in [`ext`](Self::ext) must be exactly
/// those the opcode carries. The UDP checksum is 0 when `udp.checksum` is 0 and computed
/// (over the whole datagram, ICRC included) otherwise. Pad bytes and the reserved bytes of
/// DETH, XRCETH, RDETH and the CNP are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameBuilder {
    /// Ethernet header (its `ethertype` is replaced).
    pub ethernet: EthernetRepr,
    /// IP header (protocol and payload length are replaced).
    pub ip: IpRepr,
    /// UDP header (destination port and length are replaced; `checksum` non-zero asks for
    /// a computed checksum).
    pub udp: UdpRepr,
    /// BTH (`pad_count` is replaced).
    pub bth: BthRepr,
    /// The extended headers.
    pub ext: Ext,
}

impl FrameBuilder {
    /// Bytes of the frame for a payload of `payload_len` bytes.
    ///
    /// # Errors
    /// [`Error::UnknownOpcode`] for an opcode outside the table.
    pub fn buffer_len(&self, payload_len: usize) -> Result<usize, Error> {
        let info = self.bth.opcode.info().ok_or(Error::UnknownOpcode {
            opcode: self.bth.opcode.0,
        })?;
        Ok(self
            .ethernet
            .buffer_len()
            .saturating_add(self.ip.header_len())
            .saturating_add(udp_len(&info, payload_len)))
    }

    /// Writes the frame at the start of `buf` and returns its length. Nothing is written
    /// past that length; on error nothing is written at all.
    ///
    /// # Errors
    /// [`Error::UnknownOpcode`]; [`Error::PayloadNotAllowed`] for a non-empty payload on an
    /// opcode without one; [`Error::MissingHeader`] / [`Error::UnexpectedHeader`] when
    /// `ext` does not match the opcode; [`Error::TooLong`] when the lengths overflow 16
    /// bits; [`Error::OutputTooSmall`] when `buf` is short. Fields that [`parse`] would
    /// refuse are refused here too, so every frame the builder writes parses:
    /// [`Error::UnsupportedTver`] for a BTH TVer other than 0, [`Error::Ipv4Fragment`] for
    /// the IPv4 More Fragments flag, [`Error::UnsupportedEtherType`] for a VLAN TPID other
    /// than 0x8100 or 0x88A8.
    pub fn emit(&self, icrc: &impl Icrc, payload: &[u8], buf: &mut [u8]) -> Result<usize, Error> {
        if self.bth.tver != 0 {
            return Err(Error::UnsupportedTver {
                tver: self.bth.tver,
            });
        }
        if let IpRepr::Ipv4(r) = self.ip
            && r.flags & 1 != 0
        {
            return Err(Error::Ipv4Fragment {
                fragment_offset: 0,
                more_fragments: true,
            });
        }
        if let Some(tag) = self.ethernet.vlan
            && tag.tpid != TPID_8021Q
            && tag.tpid != TPID_8021AD
        {
            return Err(Error::UnsupportedEtherType {
                ethertype: tag.tpid,
            });
        }
        let opcode = self.bth.opcode.0;
        let info = self
            .bth
            .opcode
            .info()
            .ok_or(Error::UnknownOpcode { opcode })?;
        if !info.payload && !payload.is_empty() {
            return Err(Error::PayloadNotAllowed {
                opcode,
                len: payload.len(),
            });
        }
        if let Some(header) = super::ExtKind::ALL
            .into_iter()
            .find(|k| info.headers.contains(*k) != self.ext.get(*k).is_some())
        {
            return Err(if info.headers.contains(header) {
                Error::MissingHeader { header }
            } else {
                Error::UnexpectedHeader { header }
            });
        }
        let udp_len = udp_len(&info, payload.len());
        let ip_total = udp_len.saturating_add(self.ip.header_len());
        if ip_total > usize::from(u16::MAX) && matches!(self.ip, IpRepr::Ipv4(_))
            || udp_len > usize::from(u16::MAX)
        {
            return Err(Error::TooLong { udp_len });
        }
        let l3 = self.ethernet.buffer_len();
        let l4 = l3.saturating_add(self.ip.header_len());
        let total = l4.saturating_add(udp_len);
        let available = buf.len();
        let Some(out) = buf.get_mut(..total) else {
            return Err(Error::OutputTooSmall {
                needed: total,
                available,
            });
        };

        let mut ethernet = self.ethernet;
        ethernet.ethertype = self.ip.ethertype();
        ethernet.emit(&mut EthernetPacket::new_unchecked(&mut *out));

        let at_l3 = out.get_mut(l3..).unwrap_or(&mut []);
        match self.ip {
            IpRepr::Ipv4(mut r) => {
                r.protocol = IPPROTO_UDP;
                r.payload_len = udp_len;
                r.emit(&mut Ipv4Packet::new_unchecked(at_l3))?;
            }
            IpRepr::Ipv6(mut r) => {
                r.next_header = IPPROTO_UDP;
                r.payload_len = udp_len;
                r.emit(&mut Ipv6Packet::new_unchecked(at_l3))?;
            }
        }

        let mut udp = self.udp;
        udp.dst_port = ROCE_V2_PORT;
        udp.payload_len = udp_len.saturating_sub(UDP_LEN);
        udp.checksum = 0;
        let at_l4 = out.get_mut(l4..).unwrap_or(&mut []);
        udp.emit(&mut UdpPacket::new_unchecked(at_l4))?;

        let pad = payload.len().wrapping_neg() & 3;
        let mut bth = self.bth;
        bth.pad_count = u8::try_from(pad).unwrap_or(0);
        let bth_at = l4.saturating_add(UDP_LEN);
        bth.emit(&mut BthPacket::new_unchecked(
            out.get_mut(bth_at..).unwrap_or(&mut []),
        ));

        let ext_at = bth_at.saturating_add(BTH_LEN);
        let ext_len = self
            .ext
            .emit(info.headers, out.get_mut(ext_at..).unwrap_or(&mut []))?;
        let payload_at = ext_at.saturating_add(ext_len);
        let icrc_at = total.saturating_sub(ICRC_LEN);
        if let Some(body) = out.get_mut(payload_at..icrc_at) {
            let (data, pad_bytes) = body.split_at_mut(payload.len().min(body.len()));
            data.copy_from_slice(payload.get(..data.len()).unwrap_or(&[]));
            pad_bytes.fill(0);
        }

        let covered = out.get(l3..icrc_at).unwrap_or(&[]);
        let crc = icrc.compute_packet(covered)?;
        super::wr(out, icrc_at, crc.to_le_bytes());

        if self.udp.checksum != 0 {
            let datagram = out.get(l4..total).unwrap_or(&[]);
            let sum = ones_sum(self.ip.pseudo_header_sum(udp_len), datagram);
            let checksum = match finish(sum) {
                0 => 0xFFFF,
                c => c,
            };
            UdpPacket::new_unchecked(out.get_mut(l4..).unwrap_or(&mut [])).set_checksum(checksum);
        }
        Ok(total)
    }
}

/// UDP length for `payload_len` bytes of payload under `info`: header, BTH, ETHs, payload,
/// pad, ICRC.
fn udp_len(info: &OpcodeInfo, payload_len: usize) -> usize {
    let pad = payload_len.wrapping_neg() & 3;
    UDP_LEN
        .saturating_add(BTH_LEN)
        .saturating_add(info.headers.size())
        .saturating_add(payload_len)
        .saturating_add(pad)
        .saturating_add(ICRC_LEN)
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "test code: a panic is a failure"
)]
mod tests {
    use super::*;
    use crate::wire::{ExtHeaders, OPCODES};

    mod vectors {
        #![allow(
            dead_code,
            unreachable_pub,
            reason = "the tests here use only the frames"
        )]
        include!("../../tests/vectors/scapy_frames.rs");
    }

    /// The frame with its headers as its accessors decode them.
    fn with_headers(f: Frame<'_>) -> (Frame<'_>, Decoded) {
        (f, (f.ethernet(), f.ip(), f.udp(), f.bth(), f.ext()))
    }

    fn same_as_reference(bytes: &[u8]) {
        // The fixed-offset path accepts only what the general one accepts, as it does.
        if let Some(shape) = common_shape(bytes) {
            assert_eq!(general_shape(bytes), Ok(shape), "{bytes:02x?}");
        }
        let reference = parse_reference(bytes);
        assert_eq!(parse(bytes).map(with_headers), reference, "{bytes:02x?}");
        // `parse_verified` checks before it builds the frame: the same as `parse` then
        // `verify`, on the oracle and on the fastest backend here.
        for engine in [crate::Auto::Scalar(crate::Scalar), crate::Auto::detect()] {
            assert_eq!(
                engine.parse_verified(bytes),
                reference.and_then(|(f, _)| engine.verify(&f).map(|()| f)),
                "{bytes:02x?}"
            );
        }
    }

    /// The parser against the straightforward one it replaced, on every scapy frame, every
    /// truncation of it, and frames with random bytes of the headers rewritten: the same
    /// frame or the same error.
    #[test]
    fn parse_matches_reference_on_mutated_frames() {
        let mut rng = offload_testkit::Rng::new(0x5EED);
        let (step, rounds) = if cfg!(miri) { (24, 3) } else { (1, 300) };
        for v in vectors::VECTORS.iter().step_by(step) {
            same_as_reference(v.frame);
            for len in (0..v.frame.len()).step_by(step) {
                same_as_reference(&v.frame[..len]);
            }
            for _ in 0..rounds {
                let mut f = v.frame.to_vec();
                // Mostly header bytes (the first 96), where the checks are.
                for _ in 0..=rng.below(3) {
                    let at = rng.below(f.len().min(96));
                    f[at] = match rng.below(4) {
                        0 => 0,
                        1 => 0xFF,
                        2 => f[at] ^ (1 << rng.below(8)),
                        _ => rng.next_u64() as u8,
                    };
                }
                let len = if rng.below(4) == 0 {
                    rng.below(f.len() + 1)
                } else {
                    f.len()
                };
                same_as_reference(&f[..len]);
            }
        }
    }

    /// A frame of `info`'s opcode built with random fields: IPv4 or IPv6, untagged or with
    /// either tag, a random payload.
    fn random_frame(rng: &mut offload_testkit::Rng, info: &OpcodeInfo) -> std::vec::Vec<u8> {
        use crate::wire::{Psn, VlanTag};
        let ip = if rng.below(2) == 0 {
            IpRepr::Ipv4(Ipv4Repr {
                tos: rng.next_u64() as u8,
                ident: rng.next_u64() as u16,
                flags: 2 * rng.below(2) as u8,
                ttl: rng.next_u64() as u8,
                protocol: 0,
                src: [10, 0, 0, 1],
                dst: [10, 0, 0, 2],
                payload_len: 0,
            })
        } else {
            IpRepr::Ipv6(Ipv6Repr {
                traffic_class: rng.next_u64() as u8,
                flow_label: rng.next_u64() as u32 & 0xF_FFFF,
                next_header: 0,
                hop_limit: rng.next_u64() as u8,
                src: [0xFD; 16],
                dst: [0xFE; 16],
                payload_len: 0,
            })
        };
        let vlan = match rng.below(3) {
            0 => None,
            1 => Some(VlanTag::new(rng.below(4096) as u16, 3)),
            _ => Some(VlanTag {
                tpid: TPID_8021AD,
                ..VlanTag::new(7, 1)
            }),
        };
        let r = rng.next_u64();
        let b = FrameBuilder {
            ethernet: EthernetRepr {
                dst: [2, 0, 0, 0, 0, 2],
                src: [2, 0, 0, 0, 0, 1],
                vlan,
                ethertype: 0,
            },
            ip,
            udp: UdpRepr {
                src_port: 0xC000 | r as u16,
                dst_port: 0,
                checksum: rng.below(2) as u16,
                payload_len: 0,
            },
            bth: BthRepr::new(info.opcode, (r >> 16) as u32, Psn::new((r >> 32) as u32)),
            ext: Ext::read(info.headers, &rng.bytes(64)),
        };
        let len = if info.payload { rng.below(300) } else { 0 };
        let payload = rng.bytes(len);
        let mut buf = std::vec![0u8; b.buffer_len(payload.len()).unwrap()];
        let n = b.emit(&crate::Scalar, &payload, &mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    /// The fixed-offset path against the general one on random frames of every opcode (both
    /// IP versions, untagged and tagged, with a trailer or not) and on mutations of their
    /// header bytes and length fields and truncations: wherever `common_shape` accepts,
    /// `general_shape` gives the same shape. Each mutation is also checked against
    /// `parse_reference` through `same_as_reference`.
    #[test]
    fn common_shape_matches_general_shape() {
        let mut rng = offload_testkit::Rng::new(0xC0DE);
        let (reps, mutations) = if cfg!(miri) { (1, 2) } else { (6, 40) };
        let (mut fast, mut total) = (0usize, 0usize);
        for info in OPCODES.iter().flatten() {
            for _ in 0..reps {
                let mut frame = random_frame(&mut rng, info);
                if rng.below(3) == 0 {
                    let extra = 1 + rng.below(8);
                    frame.extend(rng.bytes(extra));
                }
                // Unmutated, the fixed-offset path takes every one of these frames.
                assert!(common_shape(&frame).is_some(), "{frame:02x?}");
                for m in 0..mutations {
                    let mut f = frame.clone();
                    if m > 0 {
                        let l3 = if f[12] == 0x81 || f[12] == 0x88 {
                            18
                        } else {
                            14
                        };
                        match rng.below(4) {
                            0 | 1 => {
                                let at = rng.below(f.len().min(l3 + 76));
                                f[at] = match rng.below(4) {
                                    0 => 0,
                                    1 => 0xFF,
                                    2 => f[at] ^ (1 << rng.below(8)),
                                    _ => rng.next_u64() as u8,
                                };
                            }
                            2 => {
                                // IPv4 total or IPv6 payload length, or the UDP length.
                                let v6 = f[l3] >> 4 == 6;
                                let at = match (v6, rng.below(2)) {
                                    (false, 0) => l3 + 2,
                                    (true, 0) => l3 + 4,
                                    (false, _) => l3 + 24,
                                    (true, _) => l3 + 44,
                                };
                                let v = u16::from_be_bytes([f[at], f[at + 1]]);
                                let d = rng.below(17) as u16;
                                let v = if rng.below(2) == 0 {
                                    v.wrapping_add(d)
                                } else {
                                    v.wrapping_sub(d)
                                };
                                f[at..at + 2].copy_from_slice(&v.to_be_bytes());
                            }
                            _ => {
                                let len = rng.below(f.len());
                                f.truncate(len);
                            }
                        }
                    }
                    total += 1;
                    if let Some(shape) = common_shape(&f) {
                        fast += 1;
                        assert_eq!(general_shape(&f), Ok(shape), "{f:02x?}");
                    }
                    if m < 4 {
                        same_as_reference(&f);
                    }
                }
            }
        }
        // Both outcomes were exercised.
        assert!(fast > total / 10 && fast < total, "{fast} of {total}");
    }

    /// `Ext::parse` against the header-at-a-time loop, for every opcode's set of headers and
    /// every buffer length up to all of them and a few bytes more.
    #[test]
    fn ext_parse_matches_reference() {
        let data = offload_testkit::Rng::new(3).bytes(64);
        let mut sets: std::vec::Vec<ExtHeaders> =
            OPCODES.iter().flatten().map(|i| i.headers).collect();
        sets.dedup();
        for set in sets {
            for len in 0..=set.size() + 4 {
                let buf = &data[..len];
                assert_eq!(
                    Ext::parse(set, buf),
                    Ext::parse_reference(set, buf),
                    "{set:?} {len}"
                );
            }
        }
    }
}
