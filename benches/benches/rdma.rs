//! RoCE v2: the invariant CRC and parse + verify, every `offload-rdma-wire` backend this CPU
//! runs beside `crc32fast` and libdeflate (`libdeflater`).
//!
//! The frames are RC RDMA WRITE Only packets over IPv4, 78 bytes plus the payload (Ethernet
//! 14, IPv4 20, UDP 8, BTH 12, RETH 16, ICRC 4), with 64 B, 1 KiB and 4 KiB payloads, built
//! once with `FrameBuilder`.
//!
//! - `rdma/icrc`, ids `<backend or peer>/<payload>`: the whole ICRC of one packet, i.e. the
//!   masked copy of the IP, UDP and BTH headers and the CRC-32 over them and the rest of the
//!   packet. The peers are given the same job: the masked headers go through a stack copy
//!   exactly as in the crate, and their CRC-32 kernel continues from the 8-byte 0xFF prefix
//!   over the headers and then the rest in place. Throughput is the bytes hashed (IP header
//!   to pad, the prefix excluded).
//! - `rdma/parse_verify`, ids `<backend>/<payload>-frame<bytes>B` and
//!   `parse-only/<payload>-frame<bytes>B`: `parse` + ICRC verify of the whole Ethernet frame
//!   per backend, and `parse` alone; throughput in packets. The frame's size in bytes is in
//!   the id and printed once.
//!
//! Before any timing every peer's ICRC is checked against the one the builder stored, so a
//! bench never races a different computation without noticing.

#![allow(
    missing_docs,
    clippy::std_instead_of_core,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a std bench binary: criterion's macros generate undocumented items, and a failed \
              setup or a wrong answer should stop the run loudly"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use offload_rdma_wire::wire::{BthRepr, EthernetRepr, Ext, IpRepr, Ipv4Repr, RethRepr, UdpRepr};
use offload_rdma_wire::{Auto, Backend, FrameBuilder, ICRC_SEED, Icrc, Opcode, Psn, parse};
use offload_testkit::Rng;

/// Payload sizes and their labels in the benchmark ids.
const SIZES: [(usize, &str); 3] = [(64, "64B"), (1024, "1KiB"), (4096, "4KiB")];

/// Bytes from the IP header through the BTH (IPv4 20 + UDP 8 + BTH 12): the part the ICRC
/// masks.
const MASKED_LEN: usize = 40;

/// Offsets (from the IP header) of the IPv4 / UDP / BTH bytes the ICRC sets to ones: TOS,
/// TTL, header checksum, UDP checksum, BTH byte 4.
const MASKED_BYTES: [usize; 7] = [1, 8, 10, 11, 26, 27, 32];

/// Offset of the IP header in the frames (no VLAN tag).
const L3: usize = 14;

/// Our backends that run on this CPU (printed; `OFFLOAD_REQUIRE_BACKENDS` makes a missing one
/// fatal). Iterates `Backend::ALL`, so a new backend is benched as soon as it exists.
fn backends() -> Vec<(&'static str, Auto)> {
    offload_testkit::select_backends(
        "offload-benches/rdma",
        Backend::ALL
            .iter()
            .map(|&b| (b.name(), Auto::with_backend(b)))
            .collect(),
    )
}

/// An RC RDMA WRITE Only frame over IPv4 with `payload_len` random bytes of payload.
fn frame(payload_len: usize) -> Vec<u8> {
    let builder = FrameBuilder {
        ethernet: EthernetRepr {
            dst: [0x02, 0, 0, 0, 0, 0x02],
            src: [0x02, 0, 0, 0, 0, 0x01],
            vlan: None,
            ethertype: 0,
        },
        ip: IpRepr::Ipv4(Ipv4Repr {
            tos: 0x6A,
            ident: 1,
            flags: 2,
            ttl: 64,
            protocol: 0,
            src: [192, 168, 1, 1],
            dst: [192, 168, 1, 2],
            payload_len: 0,
        }),
        udp: UdpRepr {
            src_port: 0xC001,
            dst_port: 0,
            checksum: 0,
            payload_len: 0,
        },
        bth: BthRepr::new(Opcode::RC_WRITE_ONLY, 0x0102, Psn::new(7)),
        ext: Ext {
            reth: Some(RethRepr {
                va: 0x7F00_0000_1000,
                r_key: 0xABCD,
                dma_len: u32::try_from(payload_len).unwrap(),
            }),
            ..Ext::default()
        },
    };
    let payload = Rng::new(payload_len as u64).bytes(payload_len);
    let mut buf = vec![0u8; builder.buffer_len(payload_len).unwrap()];
    let n = builder
        .emit(&offload_rdma_wire::Scalar, &payload, &mut buf)
        .unwrap();
    assert_eq!(n, buf.len());
    buf
}

/// The masked IPv4, UDP and BTH headers of `covered` (IP header to pad), and the rest.
fn masked(covered: &[u8]) -> ([u8; MASKED_LEN], &[u8]) {
    let (headers, rest) = covered.split_first_chunk::<MASKED_LEN>().unwrap();
    let mut m = *headers;
    for at in MASKED_BYTES {
        m[at] = 0xFF;
    }
    (m, rest)
}

/// The ICRC with `crc32fast`'s kernel: from the prefix's state over the masked headers, then
/// the rest of the packet in place.
fn icrc_crc32fast(covered: &[u8]) -> u32 {
    let (headers, rest) = masked(covered);
    let mut h = crc32fast::Hasher::new_with_initial(ICRC_SEED);
    h.update(&headers);
    h.update(rest);
    h.finalize()
}

/// The ICRC with libdeflate's kernel. `libdeflater::Crc` starts from the empty state, so the
/// 8-byte 0xFF prefix goes into the stack copy in front of the masked headers.
fn icrc_libdeflate(covered: &[u8]) -> u32 {
    let (headers, rest) = masked(covered);
    let mut prefixed = [0xFF; 8 + MASKED_LEN];
    prefixed[8..].copy_from_slice(&headers);
    let mut crc = libdeflater::Crc::new();
    crc.update(&prefixed);
    crc.update(rest);
    crc.sum()
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
}

fn icrc(c: &mut Criterion) {
    let backends = backends();
    let mut group = c.benchmark_group("rdma/icrc");
    for (payload, label) in SIZES {
        let frame = frame(payload);
        let f = parse(&frame).unwrap();
        let covered = f.icrc_covered();
        let stored = f.icrc();
        // Untimed: every implementation computes the ICRC the builder stored.
        for &(name, e) in &backends {
            assert_eq!(e.compute_packet(covered).unwrap(), stored, "{name} {label}");
        }
        assert_eq!(icrc_crc32fast(covered), stored, "crc32fast {label}");
        assert_eq!(icrc_libdeflate(covered), stored, "libdeflate {label}");
        // The one-shot kernels agree too (the same bytes, CRC-32 from zero).
        assert_eq!(crc32fast::hash(covered), libdeflater::crc32(covered));

        group.throughput(Throughput::BytesDecimal(covered.len() as u64));
        for &(name, e) in &backends {
            group.bench_function(BenchmarkId::new(name, label), |b| {
                b.iter(|| e.compute_packet(black_box(covered)).unwrap());
            });
        }
        group.bench_function(BenchmarkId::new("crc32fast", label), |b| {
            b.iter(|| icrc_crc32fast(black_box(covered)));
        });
        group.bench_function(BenchmarkId::new("libdeflate", label), |b| {
            b.iter(|| icrc_libdeflate(black_box(covered)));
        });
    }
    group.finish();
}

fn parse_verify(c: &mut Criterion) {
    let backends = backends();
    let mut group = c.benchmark_group("rdma/parse_verify");
    group.throughput(Throughput::Elements(1));
    for (payload, label) in SIZES {
        let frame = frame(payload);
        let id = format!("{label}-frame{}B", frame.len());
        eprintln!(
            "rdma/parse_verify {label}: {} bytes per frame ({} B payload, {} B hashed)",
            frame.len(),
            payload,
            frame.len() - L3 - 4
        );
        for &(name, e) in &backends {
            let f = e.parse_verified(&frame).unwrap();
            assert_eq!(f.payload().len(), payload, "{name} {label}");
        }
        for &(name, e) in &backends {
            group.bench_function(BenchmarkId::new(name, &id), |b| {
                b.iter(|| e.parse_verified(black_box(&frame)).unwrap().icrc());
            });
        }
        group.bench_function(BenchmarkId::new("parse-only", &id), |b| {
            b.iter(|| parse(black_box(&frame)).unwrap().icrc());
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = icrc, parse_verify
}
criterion_main!(benches);
