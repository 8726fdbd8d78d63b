//! The `offload-psp` harnesses: hostile received packets (with tags the harness computes
//! itself, so the fuzzer reaches the code behind the tag check), encapsulate/decapsulate
//! round trips with one bit flipped, the backends against `Scalar`, and our AES-GCM
//! against RustCrypto's `aes-gcm` in both directions.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce, Tag};
use offload_psp::{
    Auto, BASE_HEADER_LEN, Backend, Cipher, Decapsulated, Error, GcmKey, Header, ICV_LEN,
    MasterKeys, Mode, PSP_UDP_PORT, RxSa, SaKey, Scalar, TAG_LEN, TxSa, UDP_HEADER_LEN, Version,
    decapsulate, encapsulate,
};

use crate::{Input, fill};

/// Every backend this build and CPU have (Scalar first).
fn backends() -> Vec<Auto> {
    let mut all: Vec<Auto> = Backend::ALL
        .into_iter()
        .filter_map(Auto::with_backend)
        .collect();
    all.sort_by_key(|a| a.backend() != Backend::Scalar);
    all
}

/// Longest payload a harness builds.
const MAX_PAYLOAD: usize = 4096;

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// The Internet checksum of the IPv4 header `header`, its checksum field taken as zero:
/// the definition (RFC 791, RFC 1071), written here independently of the crate.
fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum = 0u32;
    for (i, pair) in header.chunks(2).enumerate() {
        if i != 5 {
            sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
        }
    }
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

/// The IP header length and total length of the IPv4 or IPv6 packet at the start of `pkt`,
/// if its version is 4 or 6 and its headers are there.
fn ip_lengths(pkt: &[u8]) -> Option<(usize, usize)> {
    match pkt.first()? >> 4 {
        4 if pkt.len() >= 20 => Some((usize::from(pkt[0] & 0x0F) * 4, usize::from(be16(pkt, 2)))),
        6 if pkt.len() >= 40 => Some((40, 40 + usize::from(be16(pkt, 4)))),
        _ => None,
    }
}

/// Decapsulates a copy of `buf` (the packet is `buf[..len]`) with a fresh receiver holding
/// `master` and a cache of `N` keys, twice when `twice` (the second time from the cache on a
/// fresh copy): the same result both times, and the buffer unchanged on error.
fn decap_one<const N: usize>(
    cipher: Auto,
    master: &MasterKeys,
    buf: &[u8],
    len: usize,
    twice: bool,
) -> (Result<Decapsulated, Error>, Vec<u8>) {
    let mut rx: RxSa<N> = RxSa::new(master.clone());
    let mut out = buf.to_vec();
    let r = decapsulate(&cipher, &mut rx, &mut out, len);
    if r.is_err() {
        assert!(out == buf, "{}: buffer changed on {r:?}", cipher.backend());
    }
    if twice {
        let mut again = buf.to_vec();
        let r2 = decapsulate(&cipher, &mut rx, &mut again, len);
        assert_eq!(r2, r, "{}: second decapsulation", cipher.backend());
        assert!(again == out, "{}: second decapsulation", cipher.backend());
    }
    (r, out)
}

/// The plaintext the harness sealed into a packet, and what it sealed it under.
struct Sealed {
    plaintext: Vec<u8>,
    spi: u32,
    version: Version,
}

/// Makes `pkt` (an outer IP header, UDP, PSP header, payload, ICV) consistent where the
/// input asks it to: IP total length and protocol, UDP port and length, the fixed bit, and
/// last the IPv4 header checksum.
fn fix_up(pkt: &mut [u8], flags: u8) {
    let Some((hl, _)) = ip_lengths(pkt) else {
        return;
    };
    let v6 = pkt[0] >> 4 == 6;
    let total = pkt.len();
    if v6 {
        put16(pkt, 4, u16::try_from(total - 40).unwrap_or(u16::MAX));
        pkt[6] = PROTO_UDP;
    } else if hl >= 20 {
        put16(pkt, 2, u16::try_from(total).unwrap_or(u16::MAX));
        pkt[9] = PROTO_UDP;
        if flags & 0x40 != 0 {
            pkt[6] &= 0x40; // no fragment
            pkt[7] = 0;
        }
    }
    if total >= hl + UDP_HEADER_LEN + BASE_HEADER_LEN {
        put16(pkt, hl + 2, PSP_UDP_PORT);
        put16(pkt, hl + 4, u16::try_from(total - hl).unwrap_or(u16::MAX));
        let psp = hl + UDP_HEADER_LEN;
        pkt[psp + 3] |= 1; // the always-1 bit
        if flags & 0x80 != 0 {
            // A version the crate knows, and a header length that fits the V bit.
            let v = (pkt[psp + 3] >> 2) & 3;
            pkt[psp + 3] = (pkt[psp + 3] & 0xC3) | (v << 2);
            let min = 1 + u8::from(pkt[psp + 3] & 2 != 0);
            pkt[psp + 1] = pkt[psp + 1].clamp(min, 3);
        }
    }
    if !v6 && hl >= 20 && hl <= total {
        let sum = ipv4_checksum(&pkt[..hl]);
        put16(pkt, 10, sum);
    }
}

/// Seals the PSP payload of `pkt` in place with the key `master` derives for the SPI and
/// version in its header, and writes the ICV, as a sender would; `None` (nothing changed)
/// when the packet does not get as far as a readable PSP header and a derivable key.
fn seal_packet(pkt: &mut [u8], master: &MasterKeys) -> Option<Sealed> {
    let (hl, total) = ip_lengths(pkt)?;
    let psp_start = hl + UDP_HEADER_LEN;
    if total > pkt.len() || total < psp_start + BASE_HEADER_LEN + ICV_LEN {
        return None;
    }
    let psp = &mut pkt[psp_start..total];
    let payload_end = psp.len() - ICV_LEN;
    let header = Header::new_unchecked(&*psp);
    let version = Version::from_u8(header.version()).ok()?;
    let header_len = header.header_len();
    if header_len > payload_end {
        return None;
    }
    let aad_len = if version.is_gmac() {
        payload_end
    } else {
        (BASE_HEADER_LEN + 4 * usize::from(header.crypt_offset())).min(payload_end)
    };
    let spi = header.spi();
    let nonce = header.nonce();
    let key = GcmKey::new(&master.derive(spi, version).ok()?);
    let plaintext = psp[header_len..payload_end].to_vec();
    let (body, icv) = psp.split_at_mut(payload_end);
    let tag = Scalar.seal_in_place(&key, &nonce, body, aad_len);
    let Ok(tag) = tag else {
        panic!("seal of a {payload_end}-byte body refused: {tag:?}");
    };
    icv.copy_from_slice(&tag);
    Some(Sealed {
        plaintext,
        spi,
        version,
    })
}

/// Arbitrary bytes as a received packet into `decapsulate` on every backend.
///
/// Input: `flags` (bit 0: the harness seals the payload and writes a valid ICV under the
/// derived key; bit 1: it fixes the IP and UDP lengths, protocol, port, the fixed bit and the
/// IPv4 checksum first; bit 2: the SPI is replaced by the next u32; bit 3: a receiver with
/// no key cache; bit 4: decapsulate twice, the second time from the cache; bit 5: `len` one
/// past the buffer; bit 6: with bit 1, no IPv4 fragment; bit 7: with bit 1, a version below 4
/// and a Hdr Ext Len that fits), the number of spare bytes after the packet, the two 32-byte
/// master keys, the SPI (with bit 2); the rest is the packet.
///
/// Checks: no panic; every backend gives the same result and the same bytes; on error the
/// buffer is unchanged; success only for a packet the harness sealed, and then the restored
/// packet holds the plaintext the harness sealed (transport: after the IP header, whose
/// length fields match; tunnel: the whole packet) and the header's SPI and version; a
/// packet the harness fixed and sealed never fails authentication.
pub fn psp_open_untrusted(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let spare = usize::from(input.byte() % 64);
    let master = MasterKeys::new(&input.array(), &input.array());
    let spi = (flags & 4 != 0).then(|| input.u32());
    let packet = input.rest();

    let mut buf = vec![0xA5u8; packet.len() + spare];
    buf[..packet.len()].copy_from_slice(packet);
    let pkt = &mut buf[..packet.len()];
    if let (Some(spi), Some((hl, _))) = (spi, ip_lengths(pkt))
        && pkt.len() >= hl + UDP_HEADER_LEN + BASE_HEADER_LEN
    {
        let at = hl + UDP_HEADER_LEN + 4;
        pkt[at..at + 4].copy_from_slice(&spi.to_be_bytes());
    }
    if flags & 2 != 0 {
        fix_up(pkt, flags);
    }
    let sealed = if flags & 1 != 0 {
        seal_packet(pkt, &master)
    } else {
        None
    };
    let len = if flags & 0x20 != 0 {
        buf.len() + 1
    } else {
        packet.len()
    };
    let twice = flags & 0x10 != 0;

    let mut expected: Option<(Result<Decapsulated, Error>, Vec<u8>)> = None;
    for cipher in backends() {
        let got = if flags & 8 != 0 {
            decap_one::<0>(cipher, &master, &buf, len, twice)
        } else {
            decap_one::<4>(cipher, &master, &buf, len, twice)
        };
        match &expected {
            None => expected = Some(got),
            Some(e) => {
                assert_eq!(
                    got.0,
                    e.0,
                    "{}: result differs from scalar",
                    cipher.backend()
                );
                assert!(
                    got.1 == e.1,
                    "{}: bytes differ from scalar",
                    cipher.backend()
                );
            }
        }
    }
    let Some((result, out)) = expected else {
        panic!("no backend");
    };
    if len > buf.len() {
        assert!(
            matches!(result, Err(Error::BufferTooSmall { .. })),
            "len past the buffer: {result:?}"
        );
    }
    if flags & 2 != 0 && sealed.is_some() {
        assert_ne!(
            result,
            Err(Error::Authentication),
            "a valid tag was refused"
        );
    }
    let Ok(d) = result else { return };
    let Some(s) = sealed else {
        panic!("an unsealed packet opened: {d:?}");
    };
    assert_eq!((d.header.spi, d.header.version), (s.spi, s.version));
    let restored = &out[..d.len];
    match d.mode {
        Mode::Tunnel => {
            assert!(matches!(d.header.next_header, 4 | 41));
            assert!(
                restored == &s.plaintext[..],
                "tunnel: not the sealed plaintext"
            );
        }
        Mode::Transport => {
            let Some((hl, total)) = ip_lengths(restored) else {
                panic!("transport: no IP header in the restored packet");
            };
            assert_eq!(total, d.len, "transport: IP length");
            assert_eq!(hl + s.plaintext.len(), d.len, "transport: length");
            assert!(
                restored[hl..] == s.plaintext[..],
                "transport: not the sealed plaintext"
            );
            if restored[0] >> 4 == 4 {
                assert_eq!(restored[9], d.header.next_header, "transport: protocol");
                assert_eq!(be16(restored, 10), ipv4_checksum(&restored[..hl]));
            } else {
                assert_eq!(restored[6], d.header.next_header, "transport: next header");
            }
        }
    }
    assert!(
        out[packet.len()..] == buf[packet.len()..],
        "wrote past the packet"
    );
}

/// An inner IPv4 or IPv6 TCP or UDP packet built from the input, with a valid IPv4 header
/// checksum: `(packet, v6)`.
fn inner_packet(input: &mut Input<'_>, flags: u8) -> (Vec<u8>, bool) {
    let v6 = flags & 1 != 0;
    let proto = if flags & 2 != 0 { PROTO_TCP } else { PROTO_UDP };
    let options = if v6 {
        0
    } else {
        usize::from(input.byte() % 11) * 4
    };
    let frag = input.u16();
    let payload_len = usize::from(input.u16()) % (MAX_PAYLOAD + 1);
    let ports = input.array::<4>();
    let addrs = input.array::<32>();
    let (tos, ttl, ident) = (input.byte(), input.byte(), input.u16());
    let l4_len = if proto == PROTO_TCP { 20 } else { 8 } + payload_len;
    let hl = if v6 { 40 } else { 20 + options };
    let total = hl + l4_len;
    let mut p = vec![0u8; total];
    fill(&mut p[hl..], input.rest(), u64::from(frag));
    p[hl..hl + 4].copy_from_slice(&ports);
    if proto == PROTO_UDP {
        put16(&mut p, hl + 4, u16::try_from(l4_len).unwrap_or(u16::MAX));
    }
    if v6 {
        p[0] = 0x60 | (tos >> 4);
        p[1] = tos << 4 | (ttl & 0x0F);
        put16(&mut p, 2, ident);
        put16(&mut p, 4, u16::try_from(l4_len).unwrap_or(u16::MAX));
        p[6] = proto;
        p[7] = ttl;
        p[8..40].copy_from_slice(&addrs);
    } else {
        p[0] = 0x40 | u8::try_from(hl / 4).unwrap_or(0x0F);
        p[1] = tos;
        put16(&mut p, 2, u16::try_from(total).unwrap_or(u16::MAX));
        put16(&mut p, 4, ident);
        // Flags and fragment offset: DF only unless the input's top bit asks for any.
        put16(
            &mut p,
            6,
            if frag & 0x8000 != 0 {
                frag & 0x7FFF
            } else {
                frag & 0x4000
            },
        );
        p[8] = ttl;
        p[9] = proto;
        p[12..20].copy_from_slice(&addrs[..8]);
        for (i, b) in p[20..hl].iter_mut().enumerate() {
            *b = addrs[8 + i % 24];
        }
        let sum = ipv4_checksum(&p[..hl]);
        put16(&mut p, 10, sum);
    }
    (p, v6)
}

/// Whether flipping byte `at` of an encapsulated packet with an outer header of `hl` bytes
/// leaves it acceptable: bytes that are neither authenticated nor checked (the IPv6 traffic
/// class, flow label, hop limit and addresses; the UDP source port and checksum).
fn unprotected(at: usize, bit: u8, v6: bool, hl: usize) -> bool {
    let ip = v6 && ((at == 0 && bit < 4) || (1..4).contains(&at) || (7..40).contains(&at));
    let udp = at >= hl && matches!(at - hl, 0 | 1 | 6 | 7);
    ip || udp
}

/// Encapsulate then decapsulate an arbitrary inner packet under arbitrary SA parameters.
///
/// Input: `flags` (bit 0 IPv6, bit 1 TCP, bit 2 tunnel, bit 3 a VC, bit 4 a receiver with no
/// key cache), the version byte (`% 4`), the crypt offset byte (`% 64`), the SPI (u32), the
/// first IV (u64, `0` read as 1), the VC (u64), the two 32-byte master keys, the spare bytes
/// after the result (byte), the bit to flip (u32: bit index modulo the packet's bits), then
/// the inner packet: IPv4 options (`% 11` words), fragment field (u16: DF only unless its top
/// bit is set), payload length (u16, at most 4096), ports, 32 address bytes, TOS/traffic
/// class, TTL/hop limit, identification; the rest fills the payload.
///
/// Checks: an SPI with zero low 31 bits is refused, a crypt offset past the payload and an
/// IPv4 fragment in transport mode are refused, each with its error and with the buffer and
/// the SA's next IV unchanged; otherwise the wire length is as documented, every backend
/// gives the same wire bytes, `encapsulate_at` behind the spare byte's count of headroom
/// writes the same bytes where it says and nothing outside them when the headroom
/// suffices, and decapsulation on every backend gives back the original
/// packet, its mode and header. Then one flipped bit: an error with the buffer unchanged,
/// unless the bit is in a field neither authenticated nor checked, where decapsulation gives
/// the original packet (transport IPv6: with the same bit flipped).
pub fn psp_roundtrip(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let version = Version::ALL[usize::from(input.byte() % 4)];
    let offset = input.byte() % 64;
    let spi = input.u32();
    let iv = input.u64().max(1);
    let vc = (flags & 8 != 0).then(|| input.u64());
    let master = MasterKeys::new(&input.array(), &input.array());
    let spare = usize::from(input.byte());
    let flip = input.u32();
    let (inner, v6) = inner_packet(&mut input, flags);
    let mode = if flags & 4 != 0 {
        Mode::Tunnel
    } else {
        Mode::Transport
    };
    let ctx = format!(
        "{version:?} {mode:?} v6={v6} offset={offset} spi={spi:#x} vc={vc:?} len={}",
        inner.len()
    );

    let sa = TxSa::from_master(&master, spi, version);
    if spi & 0x7FFF_FFFF == 0 {
        assert_eq!(sa.err(), Some(Error::InvalidSpi { spi }), "{ctx}");
        return;
    }
    let sa = match sa {
        Ok(sa) => sa.with_vc(vc).with_iv_start(iv),
        Err(e) => panic!("{ctx}: TxSa: {e:?}"),
    };
    let sa = match (sa.with_crypt_offset(offset), version.is_gmac(), offset) {
        (Ok(sa), false, _) | (Ok(sa), true, 0) => sa,
        (Err(Error::CryptOffset { .. }), true, 1..) => return,
        (r, ..) => panic!("{ctx}: with_crypt_offset: {r:?}"),
    };

    let hl = if v6 {
        40
    } else {
        usize::from(inner[0] & 0x0F) * 4
    };
    let hlen = BASE_HEADER_LEN + if vc.is_some() { 8 } else { 0 };
    let (out_ip, payload_len) = match mode {
        Mode::Transport => (hl, inner.len() - hl),
        Mode::Tunnel => (if v6 { 40 } else { 20 }, inner.len()),
    };
    let wire_len = out_ip + UDP_HEADER_LEN + hlen + payload_len + ICV_LEN;
    let fragment = !v6 && be16(&inner, 6) & 0x3FFF != 0;
    let after_iv = hlen - BASE_HEADER_LEN + payload_len;
    let offset_bytes = 4 * usize::from(offset);

    let mut wire: Option<Vec<u8>> = None;
    for cipher in backends() {
        let mut tx = sa.clone();
        let mut buf = vec![0x5Au8; wire_len + spare];
        buf[..inner.len()].copy_from_slice(&inner);
        let before = buf.clone();
        let r = encapsulate(&cipher, &mut tx, mode, &mut buf, inner.len());
        let name = cipher.backend();
        let expected_err = if mode == Mode::Transport && fragment {
            Some(Error::Malformed {
                what: "IPv4 fragment in transport mode",
            })
        } else if offset_bytes > after_iv {
            Some(Error::CryptOffset {
                offset_bytes,
                available: after_iv,
            })
        } else {
            None
        };
        if let Some(e) = expected_err {
            assert_eq!(r, Err(e), "{ctx}: {name}");
            assert!(buf == before, "{ctx}: {name}: buffer changed on error");
            assert_eq!(
                tx.next_iv(),
                Some(iv),
                "{ctx}: {name}: IV consumed on error"
            );
            return;
        }
        assert_eq!(r, Ok(wire_len), "{ctx}: {name}: encapsulate");
        assert_eq!(tx.next_iv(), iv.checked_add(1), "{ctx}: {name}: next IV");
        assert!(
            buf[wire_len..].iter().all(|&b| b == 0x5A),
            "{ctx}: {name}: wrote past"
        );
        match &wire {
            None => wire = Some(buf),
            Some(w) => assert!(*w == buf, "{ctx}: {name}: wire differs from scalar"),
        }
    }
    let Some(wire) = wire else {
        panic!("no backend");
    };
    // A one-byte-short buffer is refused without a change.
    {
        let mut tx = sa.clone();
        let mut short = wire[..wire_len - 1].to_vec();
        short[..inner.len()].copy_from_slice(&inner);
        let before = short.clone();
        let r = encapsulate(&Scalar, &mut tx, mode, &mut short, inner.len());
        let too_small = Error::BufferTooSmall {
            needed: wire_len,
            available: wire_len - 1,
        };
        assert_eq!(r, Err(too_small), "{ctx}: short buffer");
        assert!(short == before, "{ctx}: short buffer changed");
    }

    // The same packet behind `spare` bytes of headroom: the same wire bytes, where
    // `encapsulate_at` says, and nothing outside them written when the headroom suffices.
    {
        let mut tx = sa.clone();
        let room = offload_psp::headroom(mode, v6, vc.is_some());
        let mut buf = vec![0xA5u8; spare + wire_len];
        buf[spare..spare + inner.len()].copy_from_slice(&inner);
        let r = offload_psp::encapsulate_at(&Scalar, &mut tx, mode, &mut buf, spare, inner.len());
        let at = spare.saturating_sub(room);
        assert_eq!(r, Ok(at..at + wire_len), "{ctx}: encapsulate_at {spare}");
        assert!(
            buf[at..at + wire_len] == wire[..wire_len],
            "{ctx}: headroom {spare}"
        );
        if spare >= room {
            assert!(buf[..at].iter().all(|&b| b == 0xA5), "{ctx}: wrote before");
        }
        assert!(
            buf[at + wire_len..].iter().all(|&b| b == 0xA5),
            "{ctx}: wrote after"
        );
    }

    let expected_header = offload_psp::HeaderRepr {
        next_header: match mode {
            Mode::Tunnel if v6 => 41,
            Mode::Tunnel => 4,
            Mode::Transport => inner[if v6 { 6 } else { 9 }],
        },
        crypt_offset: offset,
        sample: false,
        drop_after_sample: false,
        version,
        spi,
        iv,
        vc,
    };
    let decap = |cipher: Auto, buf: &mut Vec<u8>| {
        if flags & 16 != 0 {
            decapsulate(&cipher, &mut RxSa::<0>::new(master.clone()), buf, wire_len)
        } else {
            decapsulate(&cipher, &mut RxSa::<4>::new(master.clone()), buf, wire_len)
        }
    };
    for cipher in backends() {
        let name = cipher.backend();
        let mut buf = wire.clone();
        let r = decap(cipher, &mut buf);
        let want = Decapsulated {
            len: inner.len(),
            mode,
            header: expected_header,
        };
        assert_eq!(r, Ok(want), "{ctx}: {name}: decapsulate");
        assert!(
            buf[..inner.len()] == inner[..],
            "{ctx}: {name}: not the original"
        );
    }

    // One flipped bit.
    let at = usize::try_from(flip / 8).unwrap_or(0) % wire_len;
    let bit = (flip % 8) as u8;
    let outer_hl = out_ip;
    let mut flipped = wire.clone();
    flipped[at] ^= 1 << bit;
    let ok_anyway = unprotected(at, bit, v6, outer_hl);
    for cipher in backends() {
        let name = cipher.backend();
        let mut buf = flipped.clone();
        let r = decap(cipher, &mut buf);
        if ok_anyway {
            assert!(
                r.is_ok(),
                "{ctx}: {name}: flip of byte {at} bit {bit}: {r:?}"
            );
            let mut want = inner.clone();
            if mode == Mode::Transport && at < outer_hl {
                want[at] ^= 1 << bit;
            }
            assert!(
                buf[..inner.len()] == want[..],
                "{ctx}: {name}: flip of byte {at}"
            );
        } else {
            assert!(
                r.is_err(),
                "{ctx}: {name}: flip of byte {at} bit {bit} accepted"
            );
            assert!(buf == flipped, "{ctx}: {name}: buffer changed on {r:?}");
        }
    }
}

/// The key, nonce, AAD length and data of an AEAD harness: `(key, nonce, aad_len, data)`.
fn aead_case(input: &mut Input<'_>) -> (Vec<u8>, [u8; 12], usize, Vec<u8>) {
    let flags = input.byte();
    let key = input.take(if flags & 1 != 0 { 32 } else { 16 }).to_vec();
    let mut key_full = vec![0u8; if flags & 1 != 0 { 32 } else { 16 }];
    fill(&mut key_full, &key, 0x6b);
    let nonce = input.array::<12>();
    let len = usize::from(input.u16()) % (MAX_PAYLOAD + 1);
    let aad_len = usize::from(input.u16()) % (len + 1);
    let mut data = vec![0u8; len];
    fill(&mut data, input.rest(), u64::from(flags));
    (key_full, nonce, aad_len, data)
}

/// Every backend's seal and open of arbitrary messages against `Scalar`.
///
/// Input: `flags` (bit 0: AES-256), the key (16 or 32 bytes), the nonce (12 bytes), the
/// length (u16, at most 4096), the AAD length (u16, `% (len + 1)`), the offset of the buffer
/// in its allocation (`% 32`) and the byte of the tag to damage; the rest fills the data.
///
/// Checks: every backend's ciphertext and tag equal `Scalar`'s (the AAD untouched), opening
/// the sealed buffer gives the data back on every backend, a wrong tag or a flipped
/// ciphertext/AAD byte fails with `Authentication` and leaves the buffer unchanged, and an
/// AAD longer than the buffer is refused without a change.
pub fn psp_backends_agree(data: &[u8]) {
    let mut input = Input::new(data);
    let (key_bytes, nonce, aad_len, msg) = aead_case(&mut input);
    let misalign = usize::from(input.byte() % 32);
    let damage = input.byte();
    let Ok(sa_key) = SaKey::from_slice(&key_bytes) else {
        panic!("a {}-byte key refused", key_bytes.len());
    };
    let key = GcmKey::new(&sa_key);
    let len = msg.len();
    let ctx = format!("key {} len {len} aad {aad_len}", key_bytes.len());

    let mut reference = msg.clone();
    let tag = Scalar.seal_in_place(&key, &nonce, &mut reference, aad_len);
    let Ok(tag) = tag else {
        panic!("{ctx}: scalar seal: {tag:?}");
    };
    assert!(reference[..aad_len] == msg[..aad_len], "{ctx}: AAD changed");
    for cipher in backends() {
        let name = cipher.backend();
        let mut store = vec![0u8; misalign + len];
        let buf = &mut store[misalign..];
        buf.copy_from_slice(&msg);
        let t = cipher.seal_in_place(&key, &nonce, buf, aad_len);
        assert_eq!(t, Ok(tag), "{ctx}: {name}: tag");
        assert!(*buf == reference[..], "{ctx}: {name}: ciphertext");

        let r = cipher.open_in_place(&key, &nonce, buf, aad_len, &tag);
        assert_eq!(r, Ok(()), "{ctx}: {name}: open");
        assert!(*buf == msg[..], "{ctx}: {name}: open gave other bytes");

        let mut bad_tag = tag;
        bad_tag[usize::from(damage) % TAG_LEN] ^= 1 << (damage % 8);
        buf.copy_from_slice(&reference);
        let r = cipher.open_in_place(&key, &nonce, buf, aad_len, &bad_tag);
        assert_eq!(r, Err(Error::Authentication), "{ctx}: {name}: wrong tag");
        assert!(
            *buf == reference[..],
            "{ctx}: {name}: changed by a failed open"
        );

        if len > 0 {
            let at = usize::from(damage) % len;
            buf[at] ^= 0x80;
            let damaged = buf.to_vec();
            let r = cipher.open_in_place(&key, &nonce, buf, aad_len, &tag);
            assert_eq!(
                r,
                Err(Error::Authentication),
                "{ctx}: {name}: byte {at} flipped"
            );
            assert!(
                *buf == damaged[..],
                "{ctx}: {name}: changed by a failed open"
            );
            buf[at] ^= 0x80;
        }

        let r = cipher.seal_in_place(&key, &nonce, buf, len + 1);
        assert_eq!(
            r,
            Err(Error::AadLength {
                aad_len: len + 1,
                len
            }),
            "{ctx}: {name}"
        );
        let r = cipher.open_in_place(&key, &nonce, buf, len + 1, &tag);
        assert_eq!(
            r,
            Err(Error::AadLength {
                aad_len: len + 1,
                len
            }),
            "{ctx}: {name}"
        );
        assert!(
            *buf == reference[..],
            "{ctx}: {name}: changed by a refused call"
        );
    }
}

/// RustCrypto's detached AES-GCM seal of `buf[aad_len..]` with AAD `buf[..aad_len]`.
fn reference_seal(key: &[u8], nonce: &[u8; 12], buf: &mut [u8], aad_len: usize) -> [u8; 16] {
    let nonce = Nonce::from(*nonce);
    let (aad, text) = buf.split_at_mut(aad_len);
    let tag = match key.len() {
        16 => Aes128Gcm::new_from_slice(key)
            .map(|c| c.encrypt_inout_detached(&nonce, aad, text.into())),
        _ => Aes256Gcm::new_from_slice(key)
            .map(|c| c.encrypt_inout_detached(&nonce, aad, text.into())),
    };
    match tag {
        Ok(Ok(tag)) => tag.into(),
        e => panic!("aes-gcm seal: {e:?}"),
    }
}

/// RustCrypto's detached AES-GCM open; `true` if the tag matched.
fn reference_open(
    key: &[u8],
    nonce: &[u8; 12],
    buf: &mut [u8],
    aad_len: usize,
    tag: &[u8; 16],
) -> bool {
    let nonce = Nonce::from(*nonce);
    let tag = Tag::from(*tag);
    let (aad, text) = buf.split_at_mut(aad_len);
    let r = match key.len() {
        16 => Aes128Gcm::new_from_slice(key)
            .map(|c| c.decrypt_inout_detached(&nonce, aad, text.into(), &tag)),
        _ => Aes256Gcm::new_from_slice(key)
            .map(|c| c.decrypt_inout_detached(&nonce, aad, text.into(), &tag)),
    };
    match r {
        Ok(r) => r.is_ok(),
        Err(e) => panic!("aes-gcm key: {e:?}"),
    }
}

/// Our AES-GCM against RustCrypto's `aes-gcm`, both directions.
///
/// Input: as [`psp_backends_agree`] (flags, key, nonce, length, AAD length), then the byte of
/// the tag to damage; the rest fills the data.
///
/// Checks: `aes-gcm` and every backend give the same ciphertext and tag; every backend
/// opens what `aes-gcm` sealed and `aes-gcm` opens what `Scalar` sealed; with one tag bit
/// flipped both refuse.
pub fn psp_gcm_vs_aes_gcm(data: &[u8]) {
    let mut input = Input::new(data);
    let (key_bytes, nonce, aad_len, msg) = aead_case(&mut input);
    let damage = input.byte();
    let Ok(sa_key) = SaKey::from_slice(&key_bytes) else {
        panic!("a {}-byte key refused", key_bytes.len());
    };
    let key = GcmKey::new(&sa_key);
    let ctx = format!("key {} len {} aad {aad_len}", key_bytes.len(), msg.len());

    let mut theirs = msg.clone();
    let their_tag = reference_seal(&key_bytes, &nonce, &mut theirs, aad_len);
    let mut bad_tag = their_tag;
    bad_tag[usize::from(damage) % TAG_LEN] ^= 1 << (damage % 8);
    for cipher in backends() {
        let name = cipher.backend();
        let mut ours = msg.clone();
        let tag = cipher.seal_in_place(&key, &nonce, &mut ours, aad_len);
        assert_eq!(
            tag,
            Ok(their_tag),
            "{ctx}: {name}: tag differs from aes-gcm"
        );
        assert!(
            ours == theirs,
            "{ctx}: {name}: ciphertext differs from aes-gcm"
        );

        let mut buf = theirs.clone();
        let r = cipher.open_in_place(&key, &nonce, &mut buf, aad_len, &their_tag);
        assert_eq!(r, Ok(()), "{ctx}: {name}: cannot open aes-gcm's output");
        assert!(
            buf == msg,
            "{ctx}: {name}: opened aes-gcm's output to other bytes"
        );

        let mut buf = theirs.clone();
        let r = cipher.open_in_place(&key, &nonce, &mut buf, aad_len, &bad_tag);
        assert_eq!(r, Err(Error::Authentication), "{ctx}: {name}: bad tag");
        assert!(buf == theirs, "{ctx}: {name}: changed by a failed open");
    }
    let mut ours = msg.clone();
    let tag = Scalar.seal_in_place(&key, &nonce, &mut ours, aad_len);
    let Ok(tag) = tag else {
        panic!("{ctx}: scalar seal: {tag:?}");
    };
    assert!(
        reference_open(&key_bytes, &nonce, &mut ours, aad_len, &tag),
        "{ctx}: aes-gcm cannot open ours"
    );
    assert!(ours == msg, "{ctx}: aes-gcm opened ours to other bytes");
    let mut sealed = theirs.clone();
    assert!(
        !reference_open(&key_bytes, &nonce, &mut sealed, aad_len, &bad_tag),
        "{ctx}: aes-gcm accepted a bad tag"
    );
}
