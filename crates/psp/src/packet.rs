//! Transport- and tunnel-mode encapsulation of IPv4 and IPv6 packets (PSP Architecture
//! Specification, "Wire Formats"), in the caller's buffer:
//!
//! ```text
//! transport: IP hdr | UDP | PSP hdr (16 or 24) | L4 segment ...........| ICV (16)
//! tunnel:    outer IP hdr | UDP | PSP hdr | inner IP packet ............| ICV (16)
//!                               |<- clear: 16 + 4*crypt offset ->|<- encrypted ->|
//! ```
//!
//! Conventions (those of the google/psp reference tool): UDP destination port 1000; UDP
//! source port = inner source port XOR inner destination port when the inner packet is TCP
//! or UDP (and not a non-first IPv4 fragment), 1000 otherwise; UDP checksum 0; the tunnel
//! outer IP header is a copy of the inner one (IPv4: the first 20 bytes, IHL 5, options
//! dropped) with protocol / next header 17 and new lengths; every IPv4 header checksum that
//! changes is recomputed.
//!
//! IPv6 extension headers are not interpreted: in transport mode the PSP payload is
//! everything after the 40-byte fixed header, and decapsulation needs UDP as the outer
//! fixed header's next header.

#![forbid(unsafe_code)]

use crate::engine::TAG_LEN;
use crate::header::{BASE_HEADER_LEN, Header, HeaderRepr, VC_LEN, check_fixed};
use crate::{Cipher, Error, RxSa, TxSa, Version};

/// The PSP UDP destination port.
pub const PSP_UDP_PORT: u16 = 1000;
/// Length of the UDP header.
pub const UDP_HEADER_LEN: usize = 8;
/// Length of the ICV (the GCM tag) after the payload.
pub const ICV_LEN: usize = TAG_LEN;

const PROTO_IPV4: u8 = 4;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_IPV6: u8 = 41;

/// Transport or tunnel mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The L4 segment is protected; the IP header stays in front of the UDP header.
    Transport,
    /// The whole IP packet is protected behind a copy of its header.
    Tunnel,
}

/// What [`decapsulate`] found. The original packet is `buf[..len]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decapsulated {
    /// Length of the restored packet at the start of the buffer.
    pub len: usize,
    /// Tunnel if the PSP Next Header is 4 (IPv4) or 41 (IPv6), transport otherwise.
    pub mode: Mode,
    /// The header, with the VC as decrypted.
    pub header: HeaderRepr,
}

/// What the receiver learns from an IP header.
#[derive(Clone, Copy, Debug)]
struct Ip {
    v6: bool,
    header_len: usize,
    total_len: usize,
    protocol: u8,
    /// IPv4 MF flag or non-zero fragment offset.
    fragment: bool,
    /// IPv4 fragment offset non-zero (no L4 header in this packet).
    later_fragment: bool,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// Parses the IP header at the start of `pkt`: the IP packet is `pkt[..total_len]`, bytes
/// after it (link padding) are ignored.
fn parse_ip(pkt: &[u8]) -> Result<Ip, Error> {
    let available = pkt.len();
    let Some(&first) = pkt.first() else {
        return Err(Error::Truncated {
            needed: 20,
            available,
        });
    };
    match first >> 4 {
        4 => {
            if available < 20 {
                return Err(Error::Truncated {
                    needed: 20,
                    available,
                });
            }
            let header_len = usize::from(first & 0x0F) * 4;
            if header_len < 20 {
                return Err(Error::Malformed {
                    what: "IPv4 IHL below 5",
                });
            }
            let total_len = usize::from(be16(pkt, 2));
            if total_len < header_len {
                return Err(Error::Malformed {
                    what: "IPv4 total length shorter than its header",
                });
            }
            if available < total_len {
                return Err(Error::Truncated {
                    needed: total_len,
                    available,
                });
            }
            let frag = be16(pkt, 6);
            Ok(Ip {
                v6: false,
                header_len,
                total_len,
                protocol: pkt[9],
                fragment: frag & 0x3FFF != 0,
                later_fragment: frag & 0x1FFF != 0,
            })
        }
        6 => {
            if available < 40 {
                return Err(Error::Truncated {
                    needed: 40,
                    available,
                });
            }
            let total_len = 40 + usize::from(be16(pkt, 4));
            if available < total_len {
                return Err(Error::Truncated {
                    needed: total_len,
                    available,
                });
            }
            Ok(Ip {
                v6: true,
                header_len: 40,
                total_len,
                protocol: pkt[6],
                fragment: false,
                later_fragment: false,
            })
        }
        _ => Err(Error::Malformed {
            what: "IP version is neither 4 nor 6",
        }),
    }
}

/// The Internet checksum of an IPv4 header whose checksum field is taken as zero.
fn ipv4_checksum(header: &[u8]) -> u16 {
    fold_checksum(word_sum(header) - word(header, 5))
}

/// [`ipv4_checksum`] of `header` with Total Length `total_len` and Protocol `protocol`,
/// whatever those fields hold now.
fn ipv4_checksum_with(header: &[u8], total_len: u16, protocol: u8) -> u16 {
    // Words 1 (Total Length), 4 (TTL, Protocol) and 5 (the checksum) taken back out (each
    // was summed in, so nothing underflows), and the new words 1 and 4 added.
    let ttl = header.get(8).copied().unwrap_or(0);
    fold_checksum(
        word_sum(header) - word(header, 1) - word(header, 4) - word(header, 5)
            + u32::from(total_len)
            + u32::from(u16::from_be_bytes([ttl, protocol])),
    )
}

/// The 16-bit big-endian words of `header` summed as plain integers. (IPv4 headers have
/// an even length; an odd last byte would be padded with zero.)
fn word_sum(header: &[u8]) -> u32 {
    let (words, rest) = header.as_chunks::<2>();
    let sum: u32 = words
        .iter()
        .map(|w| u32::from(u16::from_be_bytes(*w)))
        .sum();
    sum + rest.first().map_or(0, |&last| u32::from(last) << 8)
}

/// Word `i` of `header`, 0 past its end.
fn word(header: &[u8], i: usize) -> u32 {
    header
        .as_chunks::<2>()
        .0
        .get(i)
        .map_or(0, |w| u32::from(u16::from_be_bytes(*w)))
}

/// The one's-complement of the one's-complement sum whose plain-integer sum is `sum`.
fn fold_checksum(mut sum: u32) -> u16 {
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    #[expect(clippy::cast_possible_truncation, reason = "folded to 16 bits above")]
    let folded = sum as u16;
    !folded
}

/// Sets the protocol and length fields of the IP header at the start of `buf` (of
/// `header_len` bytes) for a packet of `total_len` bytes, and the IPv4 checksum.
fn rewrite_ip(buf: &mut [u8], v6: bool, header_len: usize, total_len: usize, protocol: u8) {
    // Callers have checked that the lengths fit in 16 bits.
    if v6 {
        buf[6] = protocol;
        put16(buf, 4, u16::try_from(total_len - 40).unwrap_or(u16::MAX));
    } else {
        let len = u16::try_from(total_len).unwrap_or(u16::MAX);
        // The checksum of the header as it will be, summed before the two fields are
        // written: read after those narrow writes, the sum's wide loads would wait for
        // them to retire (the store buffer cannot forward them).
        let sum = ipv4_checksum_with(&buf[..header_len], len, protocol);
        buf[9] = protocol;
        put16(buf, 2, len);
        put16(buf, 10, sum);
    }
}

/// Encapsulates the IPv4 or IPv6 packet `buf[..len]` in place under `sa` and returns the
/// length of the PSP packet now at the start of `buf`: the IP packet's length plus 8 (UDP),
/// the PSP header (16 or 24) and 16 (ICV), plus in tunnel mode the outer IP header (20 for
/// IPv4, 40 for IPv6). Bytes of `buf[..len]` past the IP packet's total length are ignored.
///
/// The payload moves up to make room for the headers; [`encapsulate_at`] with headroom in
/// front of the packet avoids that move.
///
/// # Errors
/// [`Error::BufferTooSmall`] if `buf` cannot hold the result (or `len > buf.len()`);
/// [`Error::Truncated`] / [`Error::Malformed`] for an unreadable IP header, or an IPv4
/// fragment in transport mode; [`Error::CryptOffset`] if the SA's crypt offset is past the
/// end of this packet's payload; [`Error::TooLong`] if the result exceeds the IP length
/// fields; [`Error::IvExhausted`]. On error the buffer is unchanged and no IV is consumed.
pub fn encapsulate<C: Cipher>(
    cipher: &C,
    sa: &mut TxSa,
    mode: Mode,
    buf: &mut [u8],
    len: usize,
) -> Result<usize, Error> {
    encapsulate_at(cipher, sa, mode, buf, 0, len).map(|range| range.end)
}

/// Bytes PSP adds in front of the payload: UDP, the PSP header (16, or 24 with a VC) and,
/// in tunnel mode, the outer IP header (20 for IPv4, 40 for IPv6). [`encapsulate_at`] moves
/// no payload byte when the packet starts at least this far into the buffer.
pub const fn headroom(mode: Mode, ipv6: bool, vc: bool) -> usize {
    let psp = UDP_HEADER_LEN + BASE_HEADER_LEN + if vc { 8 } else { 0 };
    match (mode, ipv6) {
        (Mode::Transport, _) => psp,
        (Mode::Tunnel, false) => 20 + psp,
        (Mode::Tunnel, true) => 40 + psp,
    }
}

/// Encapsulates the IPv4 or IPv6 packet `buf[start..start + len]` under `sa` and returns
/// where the PSP packet now is in `buf`. With at least [`headroom`] bytes in front of the
/// packet (as NIC drivers leave, e.g. XDP's 256 and DPDK's 128), the result starts
/// `headroom` bytes before the packet and the payload does not move: in transport mode only
/// the IP header moves down, in tunnel mode nothing moves and the outer headers are written
/// in front. With less, the result starts at 0 and the payload moves up by the difference.
/// The result ends 16 bytes (the ICV) after the payload; see [`encapsulate`] for its
/// layout.
///
/// ```
/// use offload_psp::{Auto, MasterKeys, Mode, TxSa, Version, encapsulate_at, headroom};
///
/// let master = MasterKeys::new(&[1; 32], &[2; 32]);
/// let mut tx = TxSa::from_master(&master, 0x10, Version::AesGcm128)?;
/// // A 28-byte IPv4/UDP packet (checksum not checked here) 64 bytes into the buffer.
/// let mut buf = [0u8; 128];
/// buf[64..92].copy_from_slice(&[
///     0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
///     0x13, 0x88, 0, 53, 0, 8, 0, 0,
/// ]);
/// let room = headroom(Mode::Transport, false, false);
/// let wire = encapsulate_at(&Auto::detect(), &mut tx, Mode::Transport, &mut buf, 64, 28)?;
/// assert_eq!(wire, 64 - room..64 + 28 + 16);
/// # Ok::<(), offload_psp::Error>(())
/// ```
///
/// # Errors
/// As [`encapsulate`] (`start + len` past the buffer is [`Error::BufferTooSmall`]). On
/// error the buffer is unchanged and no IV is consumed.
pub fn encapsulate_at<C: Cipher>(
    cipher: &C,
    sa: &mut TxSa,
    mode: Mode,
    buf: &mut [u8],
    start: usize,
    len: usize,
) -> Result<core::ops::Range<usize>, Error> {
    let end = start.checked_add(len).filter(|&e| e <= buf.len());
    let Some(end) = end else {
        return Err(Error::BufferTooSmall {
            needed: start.saturating_add(len),
            available: buf.len(),
        });
    };
    let ip = parse_ip(&buf[start..end])?;
    if mode == Mode::Transport && ip.fragment {
        return Err(Error::Malformed {
            what: "IPv4 fragment in transport mode",
        });
    }
    let l4 = &buf[start + ip.header_len..start + ip.total_len];
    let sport =
        if matches!(ip.protocol, PROTO_TCP | PROTO_UDP) && !ip.later_fragment && l4.len() >= 4 {
            be16(l4, 0) ^ be16(l4, 2)
        } else {
            PSP_UDP_PORT
        };
    let (out_ip_len, payload_start, next_header) = match mode {
        Mode::Transport => (ip.header_len, ip.header_len, ip.protocol),
        Mode::Tunnel if ip.v6 => (40, 0, PROTO_IPV6),
        Mode::Tunnel => (20, 0, PROTO_IPV4),
    };
    let payload_len = ip.total_len - payload_start;
    let repr = HeaderRepr {
        next_header,
        crypt_offset: sa.crypt_offset(),
        sample: false,
        drop_after_sample: false,
        version: sa.version(),
        spi: sa.spi(),
        iv: 0,
        vc: sa.vc(),
    };
    let hlen = repr.header_len();
    let after_iv = hlen - BASE_HEADER_LEN + payload_len;
    let offset_bytes = 4 * usize::from(repr.crypt_offset);
    if offset_bytes > after_iv {
        return Err(Error::CryptOffset {
            offset_bytes,
            available: after_iv,
        });
    }
    let psp_len = hlen + payload_len + ICV_LEN;
    let udp_len = UDP_HEADER_LEN + psp_len;
    let out_len = out_ip_len + udp_len;
    let ip_len_field = if ip.v6 { udp_len } else { out_len };
    if ip_len_field > usize::from(u16::MAX) {
        return Err(Error::TooLong {
            len: out_len,
            max: usize::from(u16::MAX) + (out_len - ip_len_field),
        });
    }
    // The payload keeps its place when the headroom allows; otherwise the result starts at
    // 0 and the payload moves up.
    let added = out_ip_len + UDP_HEADER_LEN + hlen - payload_start;
    let out_start = start.saturating_sub(added);
    if out_start + out_len > buf.len() {
        return Err(Error::BufferTooSmall {
            needed: out_start + out_len,
            available: buf.len(),
        });
    }
    let iv = sa.take_iv()?;
    let repr = HeaderRepr { iv, ..repr };

    // The (outer) IP header is the first `out_ip_len` bytes (at most 60) of the original
    // one; it is kept aside while the payload moves, which may run over its old place.
    let mut ip_header = [0u8; 60];
    ip_header[..out_ip_len].copy_from_slice(&buf[start..start + out_ip_len]);
    let payload_to = out_start + out_ip_len + UDP_HEADER_LEN + hlen;
    let payload_from = start + payload_start;
    if payload_to != payload_from {
        buf.copy_within(payload_from..start + ip.total_len, payload_to);
    }
    buf[out_start..out_start + out_ip_len].copy_from_slice(&ip_header[..out_ip_len]);
    let out = &mut buf[out_start..];
    if mode == Mode::Tunnel && !ip.v6 {
        out[0] = 0x45;
        // The outer packet is a whole datagram even when the inner one is a fragment: keep
        // only DF, or every receiver (this crate's too) drops it as a fragment.
        let df = be16(out, 6) & 0x4000;
        put16(out, 6, df);
    }
    rewrite_ip(out, ip.v6, out_ip_len, out_len, PROTO_UDP);
    let psp_at = out_ip_len + UDP_HEADER_LEN;
    let udp = &mut out[out_ip_len..psp_at];
    put16(udp, 0, sport);
    put16(udp, 2, PSP_UDP_PORT);
    put16(udp, 4, u16::try_from(udp_len).unwrap_or(u16::MAX));
    put16(udp, 6, 0);

    let (psp, rest) = out[psp_at..].split_at_mut(psp_len - ICV_LEN);
    // The header and the nonce from the values, not read back from the packet (see
    // `HeaderRepr::to_bytes`); constant-length copies, so each is a few wide stores.
    let head = repr.to_bytes();
    match psp.get_mut(..BASE_HEADER_LEN + VC_LEN) {
        Some(h) if repr.vc.is_some() => h.copy_from_slice(&head),
        _ => psp[..BASE_HEADER_LEN].copy_from_slice(&head[..BASE_HEADER_LEN]),
    }
    let nonce = Header::new_unchecked(&head).nonce();
    let aad_len = if repr.version.is_gmac() {
        psp.len()
    } else {
        BASE_HEADER_LEN + offset_bytes
    };
    let tag = cipher.seal_in_place(sa.key(), &nonce, psp, aad_len)?;
    rest[..ICV_LEN].copy_from_slice(&tag);
    Ok(out_start..out_start + out_len)
}

/// Checks, authenticates and decapsulates the PSP packet `buf[..len]` (outer IPv4 or IPv6,
/// UDP to port 1000, PSP) in place, leaving the original packet at the start of `buf`:
/// in transport mode the outer IP header with the PSP Next Header as its protocol and the
/// lengths (and IPv4 checksum) restored, in tunnel mode the inner packet as it was.
///
/// The key comes from `sa` (derived from the master key the SPI selects, cached). For GCM
/// versions the crypt offset must not point past the payload; for GMAC versions it is
/// reserved and ignored (the whole PSP header and payload are authenticated). The reserved
/// R bits are ignored but, being authenticated, cannot be changed in transit.
///
/// # Errors
/// [`Error::Truncated`], [`Error::Malformed`] (IP/UDP lengths, IPv4 header checksum,
/// fragments), [`Error::Protocol`] (outer protocol not UDP), [`Error::UdpPort`],
/// [`Error::FixedBitClear`], [`Error::UnsupportedVersion`], [`Error::InvalidSpi`],
/// [`Error::HeaderLength`], [`Error::CryptOffset`], [`Error::Authentication`],
/// [`Error::BufferTooSmall`] if `len > buf.len()`. On any error the buffer is unchanged:
/// nothing is decrypted unless the tag matched, and nothing can fail after that.
pub fn decapsulate<C: Cipher, const N: usize>(
    cipher: &C,
    sa: &mut RxSa<N>,
    buf: &mut [u8],
    len: usize,
) -> Result<Decapsulated, Error> {
    if len > buf.len() {
        return Err(Error::BufferTooSmall {
            needed: len,
            available: buf.len(),
        });
    }
    let ip = parse_ip(&buf[..len])?;
    if ip.protocol != PROTO_UDP {
        return Err(Error::Protocol {
            protocol: ip.protocol,
        });
    }
    if !ip.v6 {
        if ip.fragment {
            return Err(Error::Malformed {
                what: "fragmented outer IPv4 packet",
            });
        }
        if ipv4_checksum(&buf[..ip.header_len]) != be16(buf, 10) {
            return Err(Error::Malformed {
                what: "IPv4 header checksum",
            });
        }
    }
    let udp_start = ip.header_len;
    let psp_start = udp_start + UDP_HEADER_LEN;
    if ip.total_len < psp_start {
        return Err(Error::Truncated {
            needed: psp_start,
            available: ip.total_len,
        });
    }
    let port = be16(buf, udp_start + 2);
    if port != PSP_UDP_PORT {
        return Err(Error::UdpPort { port });
    }
    if usize::from(be16(buf, udp_start + 4)) != ip.total_len - udp_start {
        return Err(Error::Malformed {
            what: "UDP length does not match the IP length",
        });
    }
    let psp_len = ip.total_len - psp_start;
    if psp_len < BASE_HEADER_LEN + ICV_LEN {
        return Err(Error::Truncated {
            needed: psp_start + BASE_HEADER_LEN + ICV_LEN,
            available: ip.total_len,
        });
    }
    let payload_end = psp_len - ICV_LEN;
    let psp = &mut buf[psp_start..ip.total_len];
    let header = Header::new_unchecked(&*psp);
    let version = check_fixed(&header)?;
    let hlen = header.header_len();
    if hlen > payload_end {
        return Err(Error::Truncated {
            needed: psp_start + hlen + ICV_LEN,
            available: ip.total_len,
        });
    }
    let aad_len = if version.is_gmac() {
        payload_end
    } else {
        let offset_bytes = 4 * usize::from(header.crypt_offset());
        let available = payload_end - BASE_HEADER_LEN;
        if offset_bytes > available {
            return Err(Error::CryptOffset {
                offset_bytes,
                available,
            });
        }
        BASE_HEADER_LEN + offset_bytes
    };
    let spi = header.spi();
    let nonce = header.nonce();
    let (body, icv) = psp.split_at_mut(payload_end);
    let mut tag = [0u8; ICV_LEN];
    tag.copy_from_slice(icv);
    sa.with_key(spi, version, |key| {
        cipher.open_in_place(key, &nonce, body, aad_len, &tag)
    })??;

    // Authenticated and decrypted: from here on nothing fails.
    let repr = read_repr(&Header::new_unchecked(&*body), version);
    let inner_len = payload_end - hlen;
    let payload = psp_start + hlen..psp_start + payload_end;
    let (mode, len) = if matches!(repr.next_header, PROTO_IPV4 | PROTO_IPV6) {
        buf.copy_within(payload, 0);
        (Mode::Tunnel, inner_len)
    } else {
        buf.copy_within(payload, ip.header_len);
        let total = ip.header_len + inner_len;
        rewrite_ip(buf, ip.v6, ip.header_len, total, repr.next_header);
        (Mode::Transport, total)
    };
    Ok(Decapsulated {
        len,
        mode,
        header: repr,
    })
}

/// The header of an opened packet (fixed fields already validated).
fn read_repr(header: &Header<&[u8]>, version: Version) -> HeaderRepr {
    HeaderRepr {
        next_header: header.next_header(),
        crypt_offset: header.crypt_offset(),
        sample: header.sample(),
        drop_after_sample: header.drop_after_sample(),
        version,
        spi: header.spi(),
        iv: header.iv(),
        vc: header.vc(),
    }
}
