//! `offload psp derive|encrypt|decrypt`: the PSP key derivation, and PSP encapsulation and
//! decapsulation of every frame of a pcap.
//!
//! Captures are classic pcap (either byte order, micro- or nanoseconds) with link type
//! Ethernet (1; up to two VLAN tags, kept) or raw IP (101). The output file gets the input's
//! global header (its snap length raised if a frame outgrows it) and each frame keeps its
//! timestamp; its length on the wire changes by what PSP adds or removes. Bytes after the IP
//! packet in a frame (Ethernet padding, a trailer) are kept after the processed packet, so
//! `decrypt` after `encrypt` gives back the input capture byte for byte (with the same keys).
//!
//! `encrypt` seals every IPv4 or IPv6 frame whose IP protocol (next header, no extension
//! headers) is TCP or UDP, under one SA; every other frame — ARP, ICMP, IPv6 with extension
//! headers, a frame the capture cut short, an IPv4 fragment in transport mode — is refused:
//! counted, reported and not written, never sent in clear. `decrypt` opens every PSP frame
//! (IPv4 or IPv6, UDP to port 1000), the key derived from the master key that the SPI's top
//! bit selects and the version in the PSP header; a frame is written only after its ICV
//! authenticated it. A PSP frame that fails validation or authentication is refused (not
//! written at all); frames that are not PSP are copied unchanged. Both print the counts on
//! stderr (and one line for each of the first 20 refused frames, with the reason) and exit 1
//! if any frame was refused, 0 otherwise. A fatal error (unreadable capture, I/O) removes the
//! half-written output.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use offload_psp::{
    Auto, Backend, ICV_LEN, MasterKeys, Mode, PSP_UDP_PORT, RxSa, TxSa, UDP_HEADER_LEN, Version,
    decapsulate, encapsulate,
};

use crate::CmdResult;
use crate::flow::parse_hex;
use crate::pcap::{LINKTYPE_ETHERNET, PcapReader, PcapWriter, Record};

/// `LINKTYPE_RAW`: frames start with the IPv4 or IPv6 header.
const LINKTYPE_RAW: u16 = 101;

/// The most PSP adds to a packet: an outer IPv6 header (tunnel mode), UDP, a PSP header
/// with a virtualization cookie, the ICV.
const MAX_OVERHEAD: usize = 40 + UDP_HEADER_LEN + 24 + ICV_LEN;

/// Refused frames listed one per line on stderr before the rest are only counted.
const MAX_LISTED: u64 = 20;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;

/// PSP (the PSP Security Protocol): key derivation and pcap encryption and decryption.
#[derive(Debug, Subcommand)]
pub(crate) enum PspCommand {
    /// Print the key of an SA (SPI and version), derived from the master key the SPI's top
    /// bit selects (SP 800-108 counter mode, AES-256-CMAC), in hex.
    Derive(DeriveArgs),
    /// Encrypt every IPv4/IPv6 TCP/UDP frame of a pcap under one SA (IVs from --iv-start,
    /// one per frame). Other frames are counted on stderr and not written; exit 1 if any.
    Encrypt(EncryptArgs),
    /// Decrypt every PSP frame (UDP port 1000) of a pcap, keys derived per SPI and version.
    /// Frames that fail are counted on stderr and not written (exit 1 if any); frames that
    /// are not PSP are copied unchanged.
    Decrypt(DecryptArgs),
}

/// The two master keys.
#[derive(Debug, Args)]
pub(crate) struct MasterArgs {
    /// Master key 0 (SPIs with bit 31 clear): 32 bytes, 64 hex digits.
    #[arg(long = "master-key0", value_name = "HEX")]
    master_key0: String,
    /// Master key 1 (SPIs with bit 31 set): 32 bytes, 64 hex digits.
    #[arg(long = "master-key1", value_name = "HEX")]
    master_key1: String,
}

/// `offload psp derive`.
#[derive(Debug, Args)]
pub(crate) struct DeriveArgs {
    #[command(flatten)]
    master: MasterArgs,
    /// Security Parameters Index, hex (up to 8 digits, optional 0x); bit 31 picks the
    /// master key, the low 31 bits must not all be zero.
    #[arg(long, value_name = "HEX", value_parser = parse_spi)]
    spi: u32,
    /// PSP version: 0 AES-GCM-128, 1 AES-GCM-256, 2 AES-GMAC-128, 3 AES-GMAC-256.
    #[arg(long, value_name = "V", value_parser = clap::value_parser!(u8).range(0..=3))]
    version: u8,
}

/// Transport or tunnel mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ModeArg {
    /// The L4 segment is protected; the IP header stays in front.
    Transport,
    /// The whole IP packet is protected behind a copy of its header.
    Tunnel,
}

/// `offload psp encrypt`.
#[derive(Debug, Args)]
pub(crate) struct EncryptArgs {
    #[command(flatten)]
    master: MasterArgs,
    /// Security Parameters Index, hex (up to 8 digits, optional 0x).
    #[arg(long, value_name = "HEX", value_parser = parse_spi)]
    spi: u32,
    /// PSP version: 0 AES-GCM-128, 1 AES-GCM-256, 2 AES-GMAC-128, 3 AES-GMAC-256.
    #[arg(long, value_name = "V", value_parser = clap::value_parser!(u8).range(0..=3))]
    version: u8,
    /// Transport or tunnel mode.
    #[arg(long, value_enum)]
    mode: ModeArg,
    /// Bytes after the IV left in clear (authenticated only), in 4-byte units (0..=63; 0 for
    /// the GMAC versions).
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u8).range(0..=63))]
    crypt_offset: u8,
    /// Add an 8-byte virtualization cookie (zero).
    #[arg(long)]
    vc: bool,
    /// IV of the first encrypted frame (decimal or 0x hex); each next frame takes the next.
    #[arg(long, value_name = "N", default_value = "1", value_parser = parse_u64)]
    iv_start: u64,
    /// AES-GCM backend: auto (the fastest this CPU has) or one by name.
    #[arg(long, default_value = "auto", value_name = "B")]
    backend: String,
    /// The capture to encrypt (classic pcap, Ethernet or raw IP).
    input: PathBuf,
    /// Where to write the encrypted capture.
    output: PathBuf,
}

/// `offload psp decrypt`.
#[derive(Debug, Args)]
pub(crate) struct DecryptArgs {
    #[command(flatten)]
    master: MasterArgs,
    /// AES-GCM backend: auto (the fastest this CPU has) or one by name.
    #[arg(long, default_value = "auto", value_name = "B")]
    backend: String,
    /// The capture to decrypt (classic pcap, Ethernet or raw IP).
    input: PathBuf,
    /// Where to write the decrypted capture.
    output: PathBuf,
}

pub(crate) fn run(cmd: PspCommand) -> CmdResult {
    match cmd {
        PspCommand::Derive(args) => derive(&args),
        PspCommand::Encrypt(args) => encrypt(&args),
        PspCommand::Decrypt(args) => decrypt(&args),
    }
}

/// An SPI in hex: 1 to 8 digits, optional `0x`.
fn parse_spi(text: &str) -> Result<u32, String> {
    let t = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if t.is_empty() || t.len() > 8 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("expected 1 to 8 hex digits".into());
    }
    u32::from_str_radix(t, 16).map_err(|e| e.to_string())
}

/// A 64-bit number, decimal or `0x` hex.
fn parse_u64(text: &str) -> Result<u64, String> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    }
    .map_err(|e| format!("expected a number from 0 to 2^64-1, decimal or 0x hex ({e})"))
}

fn master_key(flag: &str, text: &str) -> Result<[u8; 32], String> {
    let mut bytes = parse_hex(text).map_err(|e| format!("{flag}: {e}"))?;
    let key: Result<[u8; 32], _> = bytes.as_slice().try_into();
    let len = bytes.len();
    bytes.fill(0);
    key.map_err(|_| format!("{flag}: {len} bytes, a master key has 32 (64 hex digits)"))
}

impl MasterArgs {
    fn keys(&self) -> Result<MasterKeys, String> {
        let mut k0 = master_key("--master-key0", &self.master_key0)?;
        let mut k1 = master_key("--master-key1", &self.master_key1)?;
        let keys = MasterKeys::new(&k0, &k1);
        k0.fill(0);
        k1.fill(0);
        Ok(keys)
    }
}

fn version(v: u8) -> Result<Version, String> {
    Version::from_u8(v).map_err(|e| format!("--version: {e}"))
}

fn cipher(name: &str) -> Result<Auto, String> {
    crate::engines::pick_backend(
        name,
        &Backend::ALL,
        Backend::name,
        Auto::with_backend,
        Auto::detect,
    )
}

fn derive(a: &DeriveArgs) -> CmdResult {
    let keys = a.master.keys()?;
    let key = keys
        .derive(a.spi, version(a.version)?)
        .map_err(|e| format!("--spi: {e}"))?;
    let hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    println!("{hex}");
    Ok(ExitCode::SUCCESS)
}

/// Where the IP packet of a frame starts, and where its Ethernet type field is (the last
/// one, after the VLAN tags).
#[derive(Clone, Copy, Debug)]
struct L3 {
    start: usize,
    ethertype_at: Option<usize>,
}

/// The IP packet of a frame of this link type: `None` if the frame carries no IPv4 or IPv6
/// (or too little of one to tell).
fn locate_ip(link_type: u16, frame: &[u8]) -> Option<L3> {
    let be16 = |at: usize| Some(u16::from_be_bytes(*frame.get(at..)?.first_chunk::<2>()?));
    let (start, ethertype_at, family) = if link_type == LINKTYPE_ETHERNET {
        let mut at = 12;
        for _ in 0..2 {
            if matches!(be16(at)?, 0x8100 | 0x88A8 | 0x9100) {
                at += 4;
            }
        }
        let family = match be16(at)? {
            ETHERTYPE_IPV4 => 4,
            ETHERTYPE_IPV6 => 6,
            _ => return None,
        };
        (at + 2, Some(at), Some(family))
    } else {
        (0, None, None)
    };
    let version = frame.get(start)? >> 4;
    if !matches!(version, 4 | 6) || family.is_some_and(|f| f != version) {
        return None;
    }
    Some(L3 {
        start,
        ethertype_at,
    })
}

/// The fields of an IP header that decide what happens to a packet.
#[derive(Clone, Copy, Debug)]
struct IpInfo {
    v6: bool,
    header_len: usize,
    /// The IP packet's length by its header (may exceed what the frame holds).
    total_len: usize,
    protocol: u8,
    /// IPv4 fragment offset non-zero: no L4 header in this packet.
    later_fragment: bool,
}

/// Reads the IP header at the start of `pkt`; `None` if it is cut short or inconsistent.
fn ip_info(pkt: &[u8]) -> Option<IpInfo> {
    let be16 = |at: usize| Some(u16::from_be_bytes(*pkt.get(at..)?.first_chunk::<2>()?));
    match pkt.first()? >> 4 {
        4 => {
            let header_len = usize::from(pkt.first()? & 0x0F) * 4;
            let total_len = usize::from(be16(2)?);
            if header_len < 20 || pkt.len() < 20 || total_len < header_len {
                return None;
            }
            Some(IpInfo {
                v6: false,
                header_len,
                total_len,
                protocol: *pkt.get(9)?,
                later_fragment: be16(6)? & 0x1FFF != 0,
            })
        }
        6 => {
            if pkt.len() < 40 {
                return None;
            }
            Some(IpInfo {
                v6: true,
                header_len: 40,
                total_len: 40 + usize::from(be16(4)?),
                protocol: *pkt.get(6)?,
                later_fragment: false,
            })
        }
        _ => None,
    }
}

/// Whether the IP packet at the start of `pkt` is UDP to the PSP port; for IPv6 after up to
/// eight extension headers (which [`decapsulate`] does not take: such a frame is refused).
/// Returns `Some(has_extension_headers)` for PSP.
fn psp_udp(pkt: &[u8], ip: &IpInfo) -> Option<bool> {
    let byte = |at: usize| pkt.get(at).copied();
    let be16 = |at: usize| Some(u16::from_be_bytes(*pkt.get(at..)?.first_chunk::<2>()?));
    let mut next = ip.protocol;
    let mut at = ip.header_len;
    let mut extensions = false;
    if ip.later_fragment {
        return None;
    }
    if ip.v6 {
        for _ in 0..8 {
            match next {
                // Hop-by-hop, routing, destination options: length in 8-byte units.
                0 | 43 | 60 => {
                    next = byte(at)?;
                    at += (usize::from(byte(at + 1)?) + 1) * 8;
                }
                // Fragment: only the first one holds the UDP header.
                44 => {
                    next = byte(at)?;
                    if be16(at + 2)? & 0xFFF8 != 0 {
                        return None;
                    }
                    at += 8;
                }
                _ => break,
            }
            extensions = true;
        }
    }
    (next == PROTO_UDP && be16(at + 2)? == PSP_UDP_PORT).then_some(extensions)
}

/// The input capture's reader and the output capture's writer.
type Reader = PcapReader<BufReader<File>>;
type Writer = PcapWriter<BufWriter<File>>;

/// Opens the input capture, checks its link type, and creates the output with the same
/// global header.
fn open_files(input: &Path, output: &Path) -> Result<(Reader, Writer), String> {
    let name = input.display();
    let file = File::open(input).map_err(|e| format!("reading {name}: {e}"))?;
    let reader =
        PcapReader::new(BufReader::new(file)).map_err(|e| format!("reading {name}: {e}"))?;
    let link = reader.link_type();
    if link != LINKTYPE_ETHERNET && link != LINKTYPE_RAW {
        return Err(format!(
            "reading {name}: link type {link} is not supported (only Ethernet, \
             {LINKTYPE_ETHERNET}, and raw IP, {LINKTYPE_RAW})"
        ));
    }
    if let (Ok(a), Ok(b)) = (input.canonicalize(), output.canonicalize())
        && a == b
    {
        return Err(format!(
            "{} is both the input and the output",
            output.display()
        ));
    }
    let out = output.display();
    let file = File::create(output).map_err(|e| format!("writing {out}: {e}"))?;
    let writer = PcapWriter::new(
        BufWriter::new(file),
        reader.global_header(),
        reader.big_endian(),
    )
    .map_err(|e| format!("writing {out}: {e}"))?;
    Ok((reader, writer))
}

/// The counts of one run, and the refusals listed so far.
#[derive(Debug, Default)]
struct Tally {
    frames: u64,
    done: u64,
    passed: u64,
    refused: u64,
}

impl Tally {
    /// Counts a refused frame and says why (the first [`MAX_LISTED`] only).
    fn refuse(&mut self, frame: u64, what: &str, why: &dyn std::fmt::Display) {
        self.refused += 1;
        if self.refused <= MAX_LISTED {
            eprintln!("offload: frame {frame}: {what}: {why}");
        } else if self.refused == MAX_LISTED + 1 {
            eprintln!("offload: more frames refused; only the first {MAX_LISTED} are listed");
        }
    }

    fn exit_code(&self) -> ExitCode {
        if self.refused > 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    }
}

/// The length on the wire of a frame whose captured bytes went from `old` to `new`.
/// Why a record cannot be processed when the capture kept fewer bytes than the frame had.
fn cut_short(r: &Record<'_>) -> Option<String> {
    usize::try_from(r.orig_len)
        .is_ok_and(|n| n > r.data.len())
        .then(|| {
            format!(
                "the capture kept {} of the frame's {} bytes",
                r.data.len(),
                r.orig_len
            )
        })
}

fn new_orig_len(orig_len: u32, old: usize, new: usize) -> u32 {
    let delta = i64::try_from(new).unwrap_or(i64::MAX) - i64::try_from(old).unwrap_or(0);
    u32::try_from((i64::from(orig_len) + delta).max(0)).unwrap_or(u32::MAX)
}

/// Runs `body` over the files; on an error the half-written output is removed.
fn with_files(
    input: &Path,
    output: &Path,
    body: impl FnOnce(&mut Reader, &mut Writer) -> Result<Tally, String>,
) -> Result<Tally, String> {
    let (mut reader, mut writer) = open_files(input, output)?;
    let result = body(&mut reader, &mut writer).and_then(|tally| {
        writer
            .finish()
            .map_err(|e| format!("writing {}: {e}", output.display()))?;
        Ok(tally)
    });
    if result.is_err() {
        // The error is what the user needs to see; a failed removal adds nothing to it.
        std::fs::remove_file(output).ok();
    }
    result
}

fn encrypt(a: &EncryptArgs) -> CmdResult {
    let keys = a.master.keys()?;
    let version = version(a.version)?;
    let cipher = cipher(&a.backend)?;
    let mut sa = TxSa::from_master(&keys, a.spi, version)
        .map_err(|e| format!("--spi: {e}"))?
        .with_crypt_offset(a.crypt_offset)
        .map_err(|_| {
            format!(
                "--crypt-offset {}: the GMAC versions (2 and 3) encrypt nothing and need 0",
                a.crypt_offset
            )
        })?
        .with_vc(a.vc.then_some(0))
        .with_iv_start(a.iv_start);
    let mode = match a.mode {
        ModeArg::Transport => Mode::Transport,
        ModeArg::Tunnel => Mode::Tunnel,
    };
    let name = a.input.display();
    let out = a.output.display();
    let tally = with_files(&a.input, &a.output, |reader, writer| {
        let link = reader.link_type();
        let mut tally = Tally::default();
        let mut buf = Vec::new();
        while let Some(r) = reader
            .next_record()
            .map_err(|e| format!("reading {name}: {e}"))?
        {
            tally.frames += 1;
            let data = r.data;
            let refuse = "not encrypted, not written";
            let Some(l3) = locate_ip(link, data) else {
                tally.refuse(r.number, refuse, &"not an IPv4 or IPv6 packet");
                continue;
            };
            let pkt = &data[l3.start..];
            let Some(ip) = ip_info(pkt) else {
                tally.refuse(r.number, refuse, &"malformed or truncated IP header");
                continue;
            };
            if !matches!(ip.protocol, PROTO_TCP | PROTO_UDP) {
                let what = format!(
                    "IP protocol {}: only TCP and UDP are encrypted{}",
                    ip.protocol,
                    if ip.v6 {
                        " (IPv6 extension headers are not parsed)"
                    } else {
                        ""
                    }
                );
                tally.refuse(r.number, refuse, &what);
                continue;
            }
            if let Some(what) = cut_short(&r) {
                tally.refuse(r.number, refuse, &what);
                continue;
            }
            let end = l3.start + ip.total_len;
            if end > data.len() {
                let what = format!(
                    "the IP packet of {} bytes is longer than the frame",
                    ip.total_len
                );
                tally.refuse(r.number, refuse, &what);
                continue;
            }
            buf.clear();
            buf.extend_from_slice(&data[..end]);
            buf.resize(end + MAX_OVERHEAD, 0);
            match encapsulate(&cipher, &mut sa, mode, &mut buf[l3.start..], ip.total_len) {
                Ok(n) => {
                    buf.truncate(l3.start + n);
                    buf.extend_from_slice(&data[end..]);
                    let orig = new_orig_len(r.orig_len, data.len(), buf.len());
                    writer
                        .write_record(r.ts_sec, r.ts_frac, &buf, orig)
                        .map_err(|e| format!("writing {out}: {e}"))?;
                    tally.done += 1;
                }
                Err(e) => tally.refuse(r.number, refuse, &e),
            }
        }
        Ok(tally)
    })?;
    eprintln!(
        "offload: psp encrypt: {} frames: {} encrypted, {} refused (not written)",
        tally.frames, tally.done, tally.refused
    );
    Ok(tally.exit_code())
}

fn decrypt(a: &DecryptArgs) -> CmdResult {
    let keys = a.master.keys()?;
    let cipher = cipher(&a.backend)?;
    let mut rx: RxSa = RxSa::new(keys);
    let name = a.input.display();
    let out = a.output.display();
    let tally = with_files(&a.input, &a.output, |reader, writer| {
        let link = reader.link_type();
        let mut tally = Tally::default();
        let mut buf = Vec::new();
        while let Some(r) = reader
            .next_record()
            .map_err(|e| format!("reading {name}: {e}"))?
        {
            tally.frames += 1;
            let data = r.data;
            let psp = locate_ip(link, data).and_then(|l3| {
                let pkt = &data[l3.start..];
                let ip = ip_info(pkt)?;
                Some((l3, ip, psp_udp(pkt, &ip)?))
            });
            let Some((l3, ip, extensions)) = psp else {
                writer
                    .write_record(r.ts_sec, r.ts_frac, data, r.orig_len)
                    .map_err(|e| format!("writing {out}: {e}"))?;
                tally.passed += 1;
                continue;
            };
            let refuse = "PSP frame not written";
            if extensions {
                let what = "IPv6 extension headers before the PSP UDP header are not supported";
                tally.refuse(r.number, refuse, &what);
                continue;
            }
            if let Some(what) = cut_short(&r) {
                tally.refuse(r.number, refuse, &what);
                continue;
            }
            buf.clear();
            buf.extend_from_slice(data);
            match decapsulate(
                &cipher,
                &mut rx,
                &mut buf[l3.start..],
                data.len() - l3.start,
            ) {
                Ok(opened) => {
                    // The packet authenticated, so its IP length fits in the frame.
                    let trailer = &data[(l3.start + ip.total_len).min(data.len())..];
                    buf.truncate(l3.start + opened.len);
                    buf.extend_from_slice(trailer);
                    if let Some(at) = l3.ethertype_at {
                        // Tunnel mode may carry the other IP family than the outer header.
                        let ethertype = if buf.get(l3.start).is_some_and(|b| b >> 4 == 6) {
                            ETHERTYPE_IPV6
                        } else {
                            ETHERTYPE_IPV4
                        };
                        buf[at..at + 2].copy_from_slice(&ethertype.to_be_bytes());
                    }
                    let orig = new_orig_len(r.orig_len, data.len(), buf.len());
                    writer
                        .write_record(r.ts_sec, r.ts_frac, &buf, orig)
                        .map_err(|e| format!("writing {out}: {e}"))?;
                    tally.done += 1;
                }
                Err(e) => tally.refuse(r.number, refuse, &e),
            }
        }
        Ok(tally)
    })?;
    eprintln!(
        "offload: psp decrypt: {} frames: {} decrypted, {} not PSP (copied unchanged), {} \
         refused (failed validation or authentication; not written)",
        tally.frames, tally.done, tally.passed, tally.refused
    );
    Ok(tally.exit_code())
}
