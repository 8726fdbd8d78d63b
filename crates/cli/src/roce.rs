//! `offload roce inspect`: every RoCE v2 frame of a pcap, its headers and its ICRC verdict;
//! and the rdma-wire rows of the report.
//!
//! A frame is RoCE when it is a UDP datagram to port 4791 (found by a small bounded walk of
//! Ethernet, up to two VLAN tags, IPv4 or IPv6 and its extension headers). Those are parsed
//! with `offload_rdma_wire::parse` and their ICRC checked; the others are counted and
//! skipped. A frame to port 4791 that does not parse (a capture that cut it short, an
//! unknown opcode, IPv4 options, …) is *malformed*: the table shows it with the error; the
//! JSON array, whose objects are defined only for parsed frames, leaves it out, and one line
//! per such frame goes to stderr (`offload: frame N: malformed RoCE v2: …`).
//!
//! The capture is read completely before anything is printed, so a truncated or corrupt file
//! prints nothing on stdout and one line on stderr. Exit status: 0 whenever the capture was
//! read; with `--strict`, 1 if any RoCE frame failed its ICRC or was malformed (its ICRC
//! cannot pass).

use std::fs::File;
use std::hint::black_box;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use offload_rdma_wire::wire::{
    BthRepr, Credits, EthernetRepr, Ext, ExtRepr, IpRepr, Ipv4Repr, NakCode, ROCE_V2_PORT,
    RethRepr, Syndrome, UdpRepr,
};
use offload_rdma_wire::{Auto, Backend, Error, FrameBuilder, Icrc, Opcode, Psn, Scalar, parse};

use crate::CmdResult;
use crate::bench::{Case, Runner, pseudo_random};
use crate::pcap::{LINKTYPE_ETHERNET, PcapReader};

/// RoCE v2 (InfiniBand over UDP 4791) captures.
#[derive(Debug, Subcommand)]
pub(crate) enum RoceCommand {
    /// Per RoCE v2 frame of a pcap: BTH, extended headers, payload length and ICRC verdict,
    /// then a summary. Exits 0 whenever the capture was read, whatever the verdicts.
    ///
    /// Table flags: SE (solicited event), M (MigReq), A (AckReq), FECN, BECN. The payload
    /// length excludes the pad. Frames to UDP port 4791 that do not parse are listed with the
    /// error (in JSON mode: left out of the array and reported on stderr).
    Inspect(InspectArgs),
}

/// Arguments of `roce inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// Print a JSON array, one object per RoCE frame, instead of a table. Malformed RoCE
    /// frames are left out of it and reported on stderr.
    #[arg(long)]
    json: bool,
    /// Exit 1 if any RoCE frame fails its ICRC (or is malformed).
    #[arg(long)]
    strict: bool,
    /// ICRC backend: auto (the fastest this CPU has) or one by name.
    #[arg(long, default_value = "auto")]
    backend: String,
    /// A classic pcap file (Ethernet link type; either byte order; micro- or nanoseconds).
    file: PathBuf,
}

pub(crate) fn run(cmd: RoceCommand) -> CmdResult {
    match cmd {
        RoceCommand::Inspect(args) => inspect(&args),
    }
}

/// The rdma-wire engine named by `--backend`.
fn engine(name: &str) -> Result<Auto, String> {
    crate::engines::pick_backend(
        name,
        &Backend::ALL,
        Backend::name,
        Auto::with_backend,
        Auto::detect,
    )
}

/// What one parsed RoCE frame shows.
#[derive(Debug)]
struct RoceFrame {
    frame: u64,
    bth: BthRepr,
    ext: Ext,
    payload_len: usize,
    /// `None` when the ICRC is right; the computed and stored values when not.
    icrc_bad: Option<(u32, u32)>,
}

/// One line of the report: a parsed RoCE frame, or a frame to port 4791 that failed to parse.
#[derive(Debug)]
enum Row {
    Roce(RoceFrame),
    Malformed { frame: u64, error: String },
}

/// Counts for the summary line.
#[derive(Debug, Default)]
struct Counts {
    frames: u64,
    roce: u64,
    skipped: u64,
    malformed: u64,
    bad_icrc: u64,
}

fn inspect(args: &InspectArgs) -> CmdResult {
    let icrc = engine(&args.backend)?;
    let (rows, counts) = read_capture(&args.file, icrc)?;
    let mut out = std::io::stdout().lock();
    let io = |e: std::io::Error| format!("writing to stdout: {e}");
    if args.json {
        write_json(&mut out, &rows).map_err(io)?;
        for row in &rows {
            if let Row::Malformed { frame, error } = row {
                eprintln!("offload: frame {frame}: malformed RoCE v2: {error}");
            }
        }
    } else {
        write_table(&mut out, &rows, &counts).map_err(io)?;
    }
    out.flush().map_err(io)?;
    let failed = counts.bad_icrc + counts.malformed;
    if args.strict && failed > 0 {
        eprintln!(
            "offload: --strict: {} of {} RoCE frames failed the ICRC check ({} bad ICRC, {} \
             malformed)",
            failed,
            counts.roce + counts.malformed,
            counts.bad_icrc,
            counts.malformed
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads the whole capture: the report rows and the counts.
fn read_capture(path: &Path, icrc: Auto) -> Result<(Vec<Row>, Counts), String> {
    let name = path.display();
    let file = File::open(path).map_err(|e| format!("reading {name}: {e}"))?;
    let mut reader =
        PcapReader::new(BufReader::new(file)).map_err(|e| format!("reading {name}: {e}"))?;
    if reader.link_type() != LINKTYPE_ETHERNET {
        return Err(format!(
            "reading {name}: link type {} is not supported (only Ethernet, {LINKTYPE_ETHERNET})",
            reader.link_type()
        ));
    }
    let mut rows = Vec::new();
    let mut counts = Counts::default();
    while let Some(record) = reader
        .next_record()
        .map_err(|e| format!("reading {name}: {e}"))?
    {
        counts.frames += 1;
        let frame = record.number;
        if udp_dst_port(record.data) != Some(ROCE_V2_PORT) {
            counts.skipped += 1;
            continue;
        }
        match parse(record.data) {
            Ok(parsed) => {
                let icrc_bad = match icrc.verify(&parsed) {
                    Ok(()) => None,
                    Err(Error::IcrcMismatch { computed, stored }) => Some((computed, stored)),
                    Err(_) => Some((icrc.compute(&parsed), parsed.icrc())),
                };
                counts.roce += 1;
                counts.bad_icrc += u64::from(icrc_bad.is_some());
                rows.push(Row::Roce(RoceFrame {
                    frame,
                    bth: parsed.bth(),
                    ext: parsed.ext(),
                    payload_len: parsed.payload().len(),
                    icrc_bad,
                }));
            }
            Err(e) => {
                counts.malformed += 1;
                let captured = record.data.len();
                let error = if usize::try_from(record.orig_len).is_ok_and(|n| n > captured) {
                    format!(
                        "{e} (the capture kept {captured} of the frame's {} bytes)",
                        record.orig_len
                    )
                } else {
                    e.to_string()
                };
                rows.push(Row::Malformed { frame, error });
            }
        }
    }
    Ok((rows, counts))
}

/// The UDP destination port of an Ethernet frame that carries UDP over IPv4 or IPv6 (after up
/// to two VLAN tags and, for IPv6, up to eight extension headers); `None` for anything else,
/// including non-first IPv4 and IPv6 fragments. Every read is bounds-checked.
fn udp_dst_port(frame: &[u8]) -> Option<u16> {
    const UDP: u8 = 17;
    let byte = |at: usize| frame.get(at).copied();
    let be16 = |at: usize| Some(u16::from_be_bytes(*frame.get(at..)?.first_chunk::<2>()?));
    let mut at = 12;
    let mut ethertype = be16(at)?;
    for _ in 0..2 {
        if matches!(ethertype, 0x8100 | 0x88A8 | 0x9100) {
            at += 4;
            ethertype = be16(at)?;
        }
    }
    let l3 = at + 2;
    let l4 = match ethertype {
        0x0800 => {
            let version_ihl = byte(l3)?;
            let header_len = usize::from(version_ihl & 0x0F) * 4;
            let fragment_offset = be16(l3 + 6)? & 0x1FFF;
            if version_ihl >> 4 != 4 || header_len < 20 || fragment_offset != 0 {
                return None;
            }
            if byte(l3 + 9)? != UDP {
                return None;
            }
            l3 + header_len
        }
        0x86DD => {
            if byte(l3)? >> 4 != 6 {
                return None;
            }
            let mut next = byte(l3 + 6)?;
            let mut at = l3 + 40;
            for _ in 0..8 {
                match next {
                    UDP => break,
                    // Hop-by-hop, routing, destination options: length in 8-byte units.
                    0 | 43 | 60 => {
                        next = byte(at)?;
                        at += (usize::from(byte(at + 1)?) + 1) * 8;
                    }
                    // Fragment: only the first fragment holds the UDP header.
                    44 => {
                        next = byte(at)?;
                        if be16(at + 2)? & 0xFFF8 != 0 {
                            return None;
                        }
                        at += 8;
                    }
                    _ => return None,
                }
            }
            if next != UDP {
                return None;
            }
            at
        }
        _ => return None,
    };
    be16(l4 + 2)
}

/// `"RC SEND Only"`, `"CNP"`, or `"opcode 0xc0"`.
fn opcode_name(opcode: Opcode) -> String {
    match opcode.info() {
        Some(i) if i.transport.name() == i.operation.name() => i.operation.name().to_owned(),
        _ => opcode.to_string(),
    }
}

fn flags(bth: &BthRepr) -> String {
    let set: Vec<&str> = [
        (bth.solicited, "SE"),
        (bth.migreq, "M"),
        (bth.ack_req, "A"),
        (bth.fecn, "FECN"),
        (bth.becn, "BECN"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    if set.is_empty() {
        "-".to_owned()
    } else {
        set.join(",")
    }
}

fn syndrome_text(byte: u8) -> String {
    match Syndrome::decode(byte) {
        Syndrome::Ack(Credits::Count { credits, .. }) => format!("ACK credits={credits}"),
        Syndrome::Ack(Credits::Invalid) => "ACK credits=n/a".to_owned(),
        Syndrome::RnrNak(t) => format!("RNR-NAK timer={}us", t.micros),
        Syndrome::Nak(code) => format!(
            "NAK {}",
            match code {
                NakCode::PsnSequenceError => "psn-sequence-error".to_owned(),
                NakCode::InvalidRequest => "invalid-request".to_owned(),
                NakCode::RemoteAccessError => "remote-access-error".to_owned(),
                NakCode::RemoteOperationalError => "remote-operational-error".to_owned(),
                NakCode::InvalidRdRequest => "invalid-rd-request".to_owned(),
                NakCode::Reserved(v) => format!("reserved-{v}"),
            }
        ),
        Syndrome::Reserved(v) => format!("reserved-type value={v}"),
    }
}

/// One extended header for the table.
fn ext_text(header: &ExtRepr) -> String {
    let name = header.kind().name();
    match header {
        ExtRepr::RdEth(r) => format!("{name} ee_context={:#x}", r.ee_context),
        ExtRepr::Deth(r) => format!("{name} q_key={:#x} src_qp={:#x}", r.q_key, r.src_qp),
        ExtRepr::XrcEth(r) => format!("{name} xrc_srq={:#x}", r.xrc_srq),
        ExtRepr::Reth(r) => format!(
            "{name} va={:#x} r_key={:#x} dma_len={}",
            r.va, r.r_key, r.dma_len
        ),
        ExtRepr::AtomicEth(r) => format!(
            "{name} va={:#x} r_key={:#x} swap_add={:#x} compare={:#x}",
            r.va, r.r_key, r.swap_add, r.compare
        ),
        ExtRepr::Aeth(r) => format!("{name} {} msn={}", syndrome_text(r.syndrome), r.msn),
        ExtRepr::AtomicAckEth(r) => format!("{name} orig_remote_data={:#x}", r.orig_remote_data),
        ExtRepr::ImmDt(r) => format!("{name} imm={:#x}", r.imm),
        ExtRepr::Ieth(r) => format!("{name} r_key={:#x}", r.r_key),
        ExtRepr::CnpPadding => "reserved(16)".to_owned(),
        _ => name.to_owned(),
    }
}

/// One extended header as the JSON contract names it; `None` for the CNP's reserved bytes,
/// which are not an extended header.
fn ext_json(header: &ExtRepr) -> Option<serde_json::Value> {
    let hdr = header.kind().name();
    Some(match header {
        ExtRepr::RdEth(r) => serde_json::json!({"hdr": hdr, "ee_context": r.ee_context}),
        ExtRepr::Deth(r) => {
            serde_json::json!({"hdr": hdr, "q_key": r.q_key, "src_qp": r.src_qp})
        }
        ExtRepr::XrcEth(r) => serde_json::json!({"hdr": hdr, "xrc_srq": r.xrc_srq}),
        ExtRepr::Reth(r) => serde_json::json!({
            "hdr": hdr, "va": r.va, "r_key": r.r_key, "dma_len": r.dma_len,
        }),
        ExtRepr::AtomicEth(r) => serde_json::json!({
            "hdr": hdr, "va": r.va, "r_key": r.r_key, "swap_add": r.swap_add,
            "compare": r.compare,
        }),
        ExtRepr::Aeth(r) => {
            serde_json::json!({"hdr": hdr, "syndrome": r.syndrome, "msn": r.msn.value()})
        }
        ExtRepr::AtomicAckEth(r) => {
            serde_json::json!({"hdr": hdr, "orig_remote_data": r.orig_remote_data})
        }
        ExtRepr::ImmDt(r) => serde_json::json!({"hdr": hdr, "imm": r.imm}),
        ExtRepr::Ieth(r) => serde_json::json!({"hdr": hdr, "r_key": r.r_key}),
        _ => return None,
    })
}

fn frame_json(f: &RoceFrame) -> serde_json::Value {
    let b = &f.bth;
    let bit = |on: bool| u8::from(on);
    let ext: Vec<serde_json::Value> = f.ext.iter().filter_map(|h| ext_json(&h)).collect();
    serde_json::json!({
        "frame": f.frame,
        "bth": {
            "opcode": b.opcode.0, "se": bit(b.solicited), "migreq": bit(b.migreq),
            "pad_count": b.pad_count, "tver": b.tver, "p_key": b.p_key,
            "fecn": bit(b.fecn), "becn": bit(b.becn), "dest_qp": b.dest_qp,
            "ack_req": bit(b.ack_req), "psn": b.psn.value(),
        },
        "ext": ext,
        "payload_len": f.payload_len,
        "icrc_ok": f.icrc_bad.is_none(),
    })
}

/// The JSON array, one object per line.
fn write_json(out: &mut impl Write, rows: &[Row]) -> std::io::Result<()> {
    let objects: Vec<serde_json::Value> = rows
        .iter()
        .filter_map(|r| match r {
            Row::Roce(f) => Some(frame_json(f)),
            Row::Malformed { .. } => None,
        })
        .collect();
    if objects.is_empty() {
        return writeln!(out, "[]");
    }
    writeln!(out, "[")?;
    for (i, o) in objects.iter().enumerate() {
        let comma = if i + 1 < objects.len() { "," } else { "" };
        writeln!(out, "{o}{comma}")?;
    }
    writeln!(out, "]")
}

fn write_table(out: &mut impl Write, rows: &[Row], c: &Counts) -> std::io::Result<()> {
    writeln!(
        out,
        "{:>6}  {:<36} {:>8} {:>8}  {:<13} {:>7}  {:<4} ext",
        "frame", "opcode", "dest_qp", "psn", "flags", "payload", "icrc"
    )?;
    for row in rows {
        match row {
            Row::Roce(f) => {
                let b = &f.bth;
                let ext: Vec<String> = f.ext.iter().map(|h| ext_text(&h)).collect();
                let ext = if ext.is_empty() {
                    "-".to_owned()
                } else {
                    ext.join("; ")
                };
                write!(
                    out,
                    "{:>6}  {:<36} {:>#8x} {:>8}  {:<13} {:>7}  {:<4} {}",
                    f.frame,
                    format!("{:#04x} {}", b.opcode.0, opcode_name(b.opcode)),
                    b.dest_qp,
                    b.psn,
                    flags(b),
                    f.payload_len,
                    if f.icrc_bad.is_some() { "BAD" } else { "ok" },
                    ext
                )?;
                if let Some((computed, stored)) = f.icrc_bad {
                    write!(
                        out,
                        "  [ICRC stored {stored:#010x}, computed {computed:#010x}]"
                    )?;
                }
                writeln!(out)?;
            }
            Row::Malformed { frame, error } => {
                writeln!(
                    out,
                    "{frame:>6}  malformed RoCE v2 (UDP port 4791): {error}"
                )?;
            }
        }
    }
    writeln!(
        out,
        "{} frames: {} RoCE v2, {} not RoCE (skipped), {} malformed RoCE, {} bad ICRC",
        c.frames, c.roce, c.skipped, c.malformed, c.bad_icrc
    )
}

/// Report rows: parse + ICRC verify of an RC RDMA WRITE Only frame (IPv4, RETH) with 64 B,
/// 1 KiB and 4 KiB of payload, and the ICRC alone over the 4 KiB one, per backend. The size
/// column is the payload; throughput counts every byte of the Ethernet frame.
pub(crate) fn bench_cases(cases: &mut Vec<Case>) {
    for backend in Backend::ALL {
        if Auto::with_backend(backend).is_none() {
            continue;
        }
        for payload in [64, 1 << 10, 4 << 10] {
            cases.push(Case {
                engine: "rdma-wire",
                op: "parse+icrc verify".into(),
                size: payload,
                bytes: bench_builder().buffer_len(payload).unwrap_or(payload),
                items: 1,
                backend: backend.name(),
                make: Box::new(move || verify_runner(backend, payload)),
            });
        }
        let payload = 4 << 10;
        cases.push(Case {
            engine: "rdma-wire",
            op: "icrc".into(),
            size: payload,
            bytes: bench_builder().buffer_len(payload).unwrap_or(payload),
            items: 0,
            backend: backend.name(),
            make: Box::new(move || icrc_runner(backend, payload)),
        });
    }
}

/// The frame the report measures: RC RDMA WRITE Only over untagged IPv4, no UDP checksum.
fn bench_builder() -> FrameBuilder {
    FrameBuilder {
        ethernet: EthernetRepr {
            dst: [0x02, 0, 0, 0, 0, 0x02],
            src: [0x02, 0, 0, 0, 0, 0x01],
            vlan: None,
            ethertype: 0,
        },
        ip: IpRepr::Ipv4(Ipv4Repr {
            tos: 0x02,
            ident: 0,
            flags: 2,
            ttl: 64,
            protocol: 0,
            src: [192, 168, 1, 1],
            dst: [192, 168, 1, 2],
            payload_len: 0,
        }),
        udp: UdpRepr {
            src_port: 0xC000,
            dst_port: 0,
            checksum: 0,
            payload_len: 0,
        },
        bth: BthRepr::new(Opcode::RC_WRITE_ONLY, 0x0123, Psn::new(1)),
        ext: Ext {
            reth: Some(RethRepr {
                va: 0x7f00_0000_1000,
                r_key: 0x1234,
                dma_len: 0,
            }),
            ..Ext::default()
        },
    }
}

/// A valid frame with `payload` bytes of deterministic data.
fn bench_frame(payload: usize) -> Vec<u8> {
    let mut builder = bench_builder();
    if let Some(reth) = builder.ext.reth.as_mut() {
        reth.dma_len = u32::try_from(payload).unwrap_or(u32::MAX);
    }
    let data = pseudo_random(payload, 0x0ff1_0ad0 ^ payload as u64);
    let mut frame = vec![0u8; builder.buffer_len(payload).unwrap_or(0)];
    let len = builder.emit(&Scalar, &data, &mut frame).unwrap_or(0);
    frame.truncate(len);
    frame
}

fn verify_runner(backend: Backend, payload: usize) -> Runner {
    let engine = Auto::with_backend(backend).unwrap_or_default();
    let frame = bench_frame(payload);
    Box::new(move || {
        let r = engine.parse_verified(black_box(&frame));
        black_box(r.map(|f| f.payload().len())).ok();
    })
}

fn icrc_runner(backend: Backend, payload: usize) -> Runner {
    let engine = Auto::with_backend(backend).unwrap_or_default();
    let frame = bench_frame(payload);
    // The bytes the ICRC covers: from the IP header (after the 14-byte Ethernet header) to
    // the 4-byte ICRC.
    let covered = frame
        .get(14..frame.len().saturating_sub(4))
        .unwrap_or_default()
        .to_vec();
    Box::new(move || {
        black_box(engine.compute_packet(black_box(&covered))).ok();
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_frames_parse_and_verify() {
        for payload in [0, 1, 64, 1 << 10, 4 << 10] {
            let frame = bench_frame(payload);
            assert_eq!(
                frame.len(),
                bench_builder().buffer_len(payload).ok().unwrap_or(0)
            );
            let parsed = Scalar.parse_verified(&frame);
            assert_eq!(parsed.map(|f| f.payload().len()).ok(), Some(payload));
            let covered = parse(&frame).map(|f| f.icrc_covered().len()).ok();
            assert_eq!(covered, Some(frame.len() - 18));
        }
    }

    #[test]
    fn port_sniffing_is_bounded_and_follows_the_headers() {
        let frame = bench_frame(16);
        assert_eq!(udp_dst_port(&frame), Some(ROCE_V2_PORT));
        // Every prefix is handled without a panic; the UDP port needs 14 + 20 + 4 bytes.
        for cut in 0..frame.len() {
            let port = udp_dst_port(&frame[..cut]);
            assert_eq!(port.is_some(), cut >= 38, "cut {cut}");
        }
        // IPv4 non-first fragment: no UDP header.
        let mut fragment = frame.clone();
        fragment[14 + 7] = 1;
        assert_eq!(udp_dst_port(&fragment), None);
        // Not UDP.
        let mut tcp = frame.clone();
        tcp[14 + 9] = 6;
        assert_eq!(udp_dst_port(&tcp), None);
        // IPv6 with a hop-by-hop header before UDP.
        let mut v6 = vec![0u8; 14 + 40 + 8 + 8];
        v6[12] = 0x86;
        v6[13] = 0xDD;
        v6[14] = 0x60;
        v6[14 + 6] = 0; // hop-by-hop
        v6[54] = 17; // next: UDP
        v6[55] = 0; // 8 bytes
        v6[62 + 2..62 + 4].copy_from_slice(&4791u16.to_be_bytes());
        assert_eq!(udp_dst_port(&v6), Some(4791));
        // A chain of hop-by-hop headers longer than eight is given up on.
        let mut chain = vec![0u8; 14 + 40 + 8 * 10];
        chain[12] = 0x86;
        chain[13] = 0xDD;
        chain[14] = 0x60;
        assert_eq!(udp_dst_port(&chain), None);
    }

    #[test]
    fn opcode_names() {
        assert_eq!(opcode_name(Opcode::RC_SEND_ONLY), "RC SEND Only");
        assert_eq!(opcode_name(Opcode::CNP), "CNP");
        assert_eq!(opcode_name(Opcode(0xC0)), "opcode 0xc0");
    }
}
