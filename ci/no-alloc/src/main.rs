//! Calls every engine's detection and main operations with stack buffers only. It is built for
//! `thumbv7em-none-eabihf` (linked) and checked for the host by `.ci/run`.

#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;

use offload_erasure::{Auto, Code, ErasureCoder, Error, Workspace};
use offload_rdma_wire as rdma;

#[panic_handler]
fn panic(_info: &PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// Entry point: runs every engine once and returns a value derived from every result, so the
/// linker keeps each call.
#[unsafe(no_mangle)]
pub extern "C" fn offload_no_alloc_main() -> u32 {
    mix(
        mix(mix(erasure(), rdma_wire()), mix(flow(), sharp_reduce())),
        mix(compress(), psp()),
    )
}

/// Folds `x` into the running digest.
fn mix(acc: u32, x: u32) -> u32 {
    acc.rotate_left(5) ^ x.wrapping_mul(0x9E37_79B9)
}

/// Folds a result: its value, or a distinct mark per error.
fn mix_result(acc: u32, r: Result<u32, Error>) -> u32 {
    match r {
        Ok(v) => mix(acc, v),
        Err(Error::TooManyMissing { missing, max }) => mix(mix(acc, 0xE1), pair(missing, max)),
        Err(_) => mix(acc, 0xEE),
    }
}

/// Two small counts as one number.
fn pair(a: usize, b: usize) -> u32 {
    u32::try_from(a.wrapping_mul(256).wrapping_add(b)).unwrap_or(u32::MAX)
}

/// Folds every byte of `shards`.
fn digest(acc: u32, shards: &[[u8; LEN]]) -> u32 {
    shards
        .iter()
        .flatten()
        .fold(acc, |acc, &b| mix(acc, u32::from(b)))
}

/// offload-erasure: a Cauchy 4+2 and a Vandermonde 5+3 stripe, each encoded, verified,
/// reconstructed after losses, and patched by `update`; plus a refused reconstruction.
fn erasure() -> u32 {
    let coder = black_box(Auto::detect());
    let mut ws = Workspace::new();
    let mut acc = mix(0, coder.backend().name().len() as u32);
    acc = mix_result(
        acc,
        Code::cauchy(black_box(4), black_box(2))
            .and_then(|code| stripe::<4, 2, 6>(coder, &code, &mut ws, black_box(0x5A))),
    );
    acc = mix_result(
        acc,
        Code::vandermonde(black_box(5), black_box(3))
            .and_then(|code| stripe::<5, 3, 8>(coder, &code, &mut ws, black_box(0xC3))),
    );
    acc
}

/// Bytes per shard.
const LEN: usize = 100;

fn refs<const N: usize>(shards: &[[u8; LEN]]) -> [&[u8]; N] {
    let mut it = shards.iter();
    core::array::from_fn(|_| it.next().map_or(&[][..], |s| &s[..]))
}

fn muts<const N: usize>(shards: &mut [[u8; LEN]]) -> [&mut [u8]; N] {
    let mut it = shards.iter_mut();
    core::array::from_fn(|_| it.next().map_or(&mut [][..], |s| &mut s[..]))
}

/// One stripe of `K` data and `M` parity shards (`N = K + M`) through every operation.
fn stripe<const K: usize, const M: usize, const N: usize>(
    coder: Auto,
    code: &Code,
    ws: &mut Workspace,
    seed: u8,
) -> Result<u32, Error> {
    let mut shards = [[0u8; LEN]; N];
    for (i, b) in shards[..K].iter_mut().flatten().enumerate() {
        *b = (i as u8).wrapping_mul(29) ^ seed;
    }
    let shards = black_box(shards);
    let mut acc = 0;

    // Encode.
    let mut intact = shards;
    let (data, parity) = intact.split_at_mut(K);
    coder.encode(code, &refs::<K>(data), &mut muts::<M>(parity))?;
    acc = digest(acc, &intact[K..]);
    acc = mix(acc, u32::from(coder.verify(code, &refs::<N>(&intact), ws)?));

    // Lose M shards (one data, the rest wherever black_box says), rebuild everything.
    let mut present = [true; N];
    present[black_box(1)] = false;
    for i in 1..M {
        present[black_box(K + i) % N] = false;
    }
    let mut damaged = intact;
    for (s, _) in damaged.iter_mut().zip(present).filter(|(_, p)| !p) {
        s.fill(black_box(0xEE));
    }
    let mut rebuilt = damaged;
    coder.reconstruct(code, &mut muts::<N>(&mut rebuilt), &present, ws)?;
    acc = mix(acc, u32::from(rebuilt == intact));
    let mut rebuilt = damaged;
    coder.reconstruct_data(code, &mut muts::<N>(&mut rebuilt), &present, ws)?;
    acc = mix(acc, u32::from(rebuilt[..K] == intact[..K]));

    // One loss too many is refused (and folded as its error).
    let mut too_many = present;
    if let Some(p) = too_many.iter_mut().find(|p| **p) {
        *p = false;
    }
    let refused = coder.reconstruct(code, &mut muts::<N>(&mut damaged), &too_many, ws);
    acc = mix_result(acc, refused.map(|()| 0));

    // Patch the parity after rewriting one data shard, then verify the new stripe.
    let index = black_box(K - 1);
    let mut new = intact[index];
    for (j, b) in new.iter_mut().enumerate() {
        *b ^= (j as u8) | 1;
    }
    let old = intact[index];
    coder.update(code, index, &old, &new, &mut muts::<M>(&mut intact[K..]))?;
    intact[index] = new;
    acc = digest(acc, &intact[K..]);
    acc = mix(acc, u32::from(coder.verify(code, &refs::<N>(&intact), ws)?));
    Ok(acc)
}

/// Folds an `offload-rdma-wire` result: its value, or a distinct mark per error.
fn mix_rdma(acc: u32, r: Result<u32, rdma::Error>) -> u32 {
    match r {
        Ok(v) => mix(acc, v),
        Err(rdma::Error::IcrcMismatch { computed, stored }) => {
            mix(mix(acc, 0xA1), computed ^ stored)
        }
        Err(rdma::Error::OutputTooSmall { needed, available }) => {
            mix(mix(acc, 0xA2), pair(needed, available))
        }
        Err(_) => mix(acc, 0xAE),
    }
}

/// Bytes of the stack buffer a frame is built in.
const FRAME_MAX: usize = 256;

/// offload-rdma-wire: an RC RDMA WRITE Only over tagged IPv6 (with a UDP checksum) and an RC
/// Acknowledge over IPv4, each built into a stack buffer, parsed and ICRC-verified with the
/// detected backend; then the ACK with a covered byte changed is refused, `refill` repairs
/// it, and a buffer one byte short is refused.
fn rdma_wire() -> u32 {
    use rdma::wire::{
        AethRepr, BthRepr, EthernetRepr, Ext, IpRepr, Ipv4Repr, Ipv6Repr, RethRepr, UdpRepr,
        VlanTag,
    };
    use rdma::{FrameBuilder, Icrc, Opcode, Psn};

    let icrc = black_box(rdma::Auto::detect());
    let mut acc = mix(0, icrc.backend().name().len() as u32);
    let ethernet = EthernetRepr {
        dst: [0x02, 0, 0, 0, 0, 0x02],
        src: [0x02, 0, 0, 0, 0, 0x01],
        vlan: None,
        ethertype: 0,
    };
    let write = FrameBuilder {
        ethernet: EthernetRepr {
            vlan: Some(VlanTag::new(black_box(100), 3)),
            ..ethernet
        },
        ip: IpRepr::Ipv6(Ipv6Repr {
            traffic_class: 0x68,
            flow_label: 0x12345,
            next_header: 0,
            hop_limit: 64,
            src: [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            dst: [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            payload_len: 0,
        }),
        udp: UdpRepr {
            src_port: 0xC001,
            dst_port: 0,
            checksum: 1,
            payload_len: 0,
        },
        bth: BthRepr::new(Opcode::RC_WRITE_ONLY, black_box(0x0102), Psn::MAX),
        ext: Ext {
            reth: Some(RethRepr {
                va: 0x1000,
                r_key: 0xABCD,
                dma_len: 23,
            }),
            ..Ext::default()
        },
    };
    let ack = FrameBuilder {
        ethernet,
        ip: IpRepr::Ipv4(Ipv4Repr {
            tos: 0,
            ident: 1,
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
        bth: BthRepr::new(Opcode::RC_ACK, black_box(0x0123), Psn::new(42)),
        ext: Ext {
            aeth: Some(AethRepr {
                syndrome: 0x1F,
                msn: Psn::new(7),
            }),
            ..Ext::default()
        },
    };

    let payload = black_box(*b"no-alloc RoCE v2 frame!");
    let mut buf = [0u8; FRAME_MAX];
    acc = mix_rdma(acc, build_parse_verify(icrc, &write, &payload, &mut buf));
    let mut buf = [0u8; FRAME_MAX];
    acc = mix_rdma(acc, build_parse_verify(icrc, &ack, &[], &mut buf));

    // Change the PSN (covered by the ICRC): refused, then repaired by refill.
    let n = ack.buffer_len(0).unwrap_or(0).min(FRAME_MAX);
    let frame = &mut buf[..n];
    if let Some(b) = frame.get_mut(black_box(14 + 20 + 8 + 11)) {
        *b ^= 1;
    }
    acc = mix_rdma(acc, icrc.parse_verified(frame).map(|f| f.icrc()));
    acc = mix_rdma(acc, icrc.refill(frame));
    acc = mix_rdma(acc, icrc.parse_verified(frame).map(|f| f.bth().psn.value()));

    // One byte short.
    let mut short = [0u8; 61];
    acc = mix_rdma(acc, ack.emit(&icrc, &[], &mut short).map(|n| n as u32));
    acc
}

/// Emits `builder` with `payload` into `buf`, parses the frame and verifies its ICRC; returns a
/// digest of the length, the ICRC, the PSN and the payload.
fn build_parse_verify(
    icrc: rdma::Auto,
    builder: &rdma::FrameBuilder,
    payload: &[u8],
    buf: &mut [u8],
) -> Result<u32, rdma::Error> {
    use rdma::Icrc;

    let n = builder.emit(&icrc, payload, buf)?;
    let frame = rdma::parse(buf.get(..n).unwrap_or(&[]))?;
    icrc.verify(&frame)?;
    let mut acc = mix(n as u32, frame.icrc());
    acc = mix(acc, frame.bth().psn.value());
    acc = mix(acc, u32::from(frame.udp_checksum_ok() == Some(true)));
    Ok(frame
        .payload()
        .iter()
        .fold(acc, |acc, &b| mix(acc, u32::from(b))))
}

/// offload-flow: the Toeplitz hash of the Microsoft vector (single and bulk), a RETA, and a
/// flow table in static-free stack storage: insert, lookup, bulk lookup, expiry, remove.
fn flow() -> u32 {
    use offload_flow::{
        Bucket, Entry, FlowId, FlowTable, Ipv4Tuple, Lookup, Reta, RssHasher, RssKey,
    };

    let auto = black_box(offload_flow::Auto::detect());
    let key = RssKey::MICROSOFT;
    let input = black_box([66u8, 9, 149, 187, 161, 142, 100, 80, 0x0a, 0xea, 0x06, 0xe6]);
    let mut acc = mix(0, auto.toeplitz(&key, &input).unwrap_or(0));
    let mut out = [0u32; 3];
    if auto.toeplitz_bulk(&key, &[input; 3], &mut out).is_ok() {
        acc = out.iter().fold(acc, |a, &h| mix(a, h));
    }
    if let Ok(reta) = Reta::round_robin(black_box(128), black_box(4)) {
        acc = mix(acc, u32::from(reta.queue(acc)));
    }

    let mut buckets = [Bucket::EMPTY; 8];
    let mut entries = [Entry::vacant(Ipv4Tuple::default(), 0u32); 48];
    let Ok(mut table) = FlowTable::new(auto, black_box(7), &mut buckets, &mut entries) else {
        return mix(acc, 0xF0);
    };
    let flow = |i: u8| Ipv4Tuple::new([10, 0, 0, i], [10, 0, 1, i], 1000 + u16::from(i), 80, 6);
    for i in 0..black_box(40u8) {
        match table.insert(flow(i), u32::from(i) * 3, u64::from(i)) {
            Ok(id) => acc = mix(acc, id.get()),
            Err(_) => acc = mix(acc, 0xF1),
        }
    }
    let keys = [flow(1), flow(39), flow(200)];
    let mut ids = [None::<FlowId>; 3];
    acc = mix(
        acc,
        table
            .lookup_bulk(&keys, &mut ids)
            .map_or(0xF2, |m| m as u32),
    );
    acc = mix(acc, table.lookup(&flow(5)).map_or(0xF3, FlowId::get));
    let mut cursor = 0;
    acc = mix(
        acc,
        table.expire(black_box(30), 10, &mut cursor, 48, |_, _, _| {}) as u32,
    );
    acc = mix(
        acc,
        table.remove(&flow(35)).map_or(0xF4, |(id, v)| id.get() ^ v),
    );
    acc = mix(acc, table.len() as u32 ^ auto.crc32c(0, &input));
    mix(acc, classifier(auto))
}

/// offload-flow's classifier: two overlapping rules in priority mode, a lookup, a batch.
fn classifier(auto: offload_flow::Auto) -> u32 {
    use offload_flow::{Bucket, Classifier, Key, Mode, Rule, RuleEntry, Subtable};

    let mut subtables = [Subtable::<8>::EMPTY; 4];
    let mut filter = [0u64; 8];
    let mut buckets = [Bucket::EMPTY; 4];
    let mut entries = [RuleEntry::<8, u32>::default(); 16];
    let Ok(mut c) = Classifier::new(
        auto,
        black_box(3),
        Mode::Priority,
        &mut subtables,
        &mut filter,
        &mut buckets,
        &mut entries,
    ) else {
        return 0xC0;
    };
    let wide = Rule::new(
        Key([10, 0, 0, 0, 0, 0, 0, 0]),
        [0xFF, 0, 0, 0, 0, 0, 0, 0],
        1,
        7,
    );
    let narrow = Rule::new(
        Key([10, 1, 0, 0, 0, 0, 1, 187]),
        [0xFF, 0xFF, 0, 0, 0, 0, 0xFF, 0xFF],
        5,
        9,
    );
    let mut acc = mix(0, c.insert(wide).map_or(0xC1, |id| id.get()));
    acc = mix(acc, c.insert(narrow).map_or(0xC2, |id| id.get()));
    let keys = [
        Key(black_box([10, 1, 2, 3, 4, 5, 1, 187])),
        Key([10, 2, 2, 3, 4, 5, 1, 187]),
        Key([11, 0, 0, 0, 0, 0, 0, 0]),
    ];
    let mut out = [None; 3];
    acc = mix(
        acc,
        c.lookup_batch(&keys, &mut out).map_or(0xC3, |m| m as u32),
    );
    for m in out {
        acc = mix(acc, m.map_or(0, |m| m.value));
    }
    c.rebalance();
    mix(acc, c.lookup(&keys[0]).map_or(0xC4, |m| m.priority))
}

/// offload-sharp-reduce: f32 SUM of three inputs, bf16 SUM, i32 AVG, FP8 with saturation, and
/// a refused call.
fn sharp_reduce() -> u32 {
    use offload_sharp_reduce::{Bf16, DType, Fp8Mode, Op, Reducer, f32_to_bf16};

    let r = black_box(offload_sharp_reduce::Auto::detect());
    let a = black_box([1.5f32, -2.0, 0.25, 8.0]);
    let b = black_box([0.5f32, 2.0, 0.0, -0.0]);
    let mut out = [0f32; 4];
    let mut acc = match r.reduce(Op::Sum, &[&a, &b, &a], &mut out) {
        Ok(()) => out.iter().fold(0, |acc, x| mix(acc, x.to_bits())),
        Err(_) => 0xE0,
    };
    let x = [Bf16(f32_to_bf16(black_box(1.0))); 5];
    let mut y = [Bf16(0); 5];
    if r.reduce(Op::Sum, &[&x, &x], &mut y).is_ok() {
        acc = y.iter().fold(acc, |acc, v| mix(acc, u32::from(v.0)));
    }
    let i = black_box([-7i32, 9, i32::MAX]);
    let mut avg = [0i32; 3];
    if r.reduce(Op::Avg, &[&i, &[2, 2, 2][..]], &mut avg).is_ok() {
        acc = avg.iter().fold(acc, |acc, v| mix(acc, *v as u32));
    }
    let e = black_box([0x7Eu8; 3]);
    let mut o = [0u8; 3];
    let sat = Op::Sum.with_fp8(Fp8Mode::Saturating);
    if r.reduce_bytes(sat, DType::Fp8E4M3, &[&e, &e], &mut o)
        .is_ok()
    {
        acc = o.iter().fold(acc, |acc, v| mix(acc, u32::from(*v)));
    }
    // Bitwise AND on floats is refused.
    match r.reduce_bytes(Op::Band, DType::F32, &[&o, &o], &mut [0u8; 3]) {
        Ok(()) => mix(acc, 1),
        Err(_) => mix(acc, 0xE1),
    }
}

/// offload-compress: an LZ4 block and a frame round trip, and a frame streamed through a
/// decoder, all in stack buffers.
fn compress() -> u32 {
    use offload_compress::{Codec, lz4};

    let codec = black_box(offload_compress::Auto::detect());
    let mut input = [0u8; 600];
    for (i, b) in input.iter_mut().enumerate() {
        *b = b"no heap, no std, "[i % 17] ^ (i / 97) as u8;
    }
    let mut ws = lz4::Workspace::new();
    let mut block = [0u8; lz4::max_compressed_len(600)];
    let mut back = [0u8; 600];
    let mut acc = match lz4::compress_block(codec, &mut ws, &input, &mut block, 1) {
        Ok(n) => match lz4::decompress_block(codec, &block[..n], &mut back) {
            Ok(m) => mix(n as u32, m as u32),
            Err(_) => 0xC1,
        },
        Err(_) => 0xC0,
    };
    let options = lz4::FrameOptions {
        block_checksum: true,
        content_size: true,
        ..lz4::FrameOptions::default()
    };
    let mut frame = [0u8; 700];
    let n = match lz4::compress_frame(codec, &mut ws, &options, &input, &mut frame) {
        Ok(n) => n,
        Err(_) => return mix(acc, 0xC2),
    };
    acc = match lz4::decompress_frames(codec, &frame[..n], &mut back, &[]) {
        Ok(m) => mix(acc, m as u32 ^ u32::from(back[m / 2])),
        Err(_) => mix(acc, 0xC3),
    };
    // A decoder streaming 7 bytes at a time through storage for 64 KiB blocks would need
    // 256 KiB of stack; the header alone exercises it with a small slice (it reports the
    // storage it needs).
    let mut storage = [0u8; 1024];
    let mut decoder = lz4::FrameDecoder::new(codec, &mut storage, &[]);
    let mut out = [0u8; 64];
    acc = match decoder.decompress(&frame[..n.min(7)], &mut out) {
        Ok(p) => mix(acc, p.consumed as u32),
        Err(offload_compress::Error::StorageTooSmall { needed, .. }) => mix(acc, needed as u32),
        Err(_) => mix(acc, 0xC4),
    };
    acc = mix(acc, codec.xxh32(0, &input));
    mix(acc, deflate(codec, &input))
}

/// offload-compress, Deflate: a zlib round trip (one-shot compressor, streaming decoder)
/// and a gzip stream through the streaming compressor. The compressor's workspace
/// (`Deflater::SIZE`, 385 KiB) and the streaming storage (193 KiB) are locals here, which
/// is fine for a link check; a device would give them static or pool memory.
fn deflate(codec: offload_compress::Auto, input: &[u8; 600]) -> u32 {
    use offload_compress::{deflate, lz4::Flush};

    let mut deflater = deflate::Deflater::new();
    let mut packed = [0u8; deflate::zlib_bound(600)];
    let n = match deflate::zlib_compress(codec, &mut deflater, 6, input, &mut packed) {
        Ok(n) => n,
        Err(_) => return 0xD0,
    };
    let mut stream = deflate::InflateStream::new(deflate::Format::Zlib);
    let mut back = [0u8; 600];
    let mut acc = match stream.decompress(codec, &packed[..n], &mut back) {
        Ok(p) => mix(p.consumed as u32, p.produced as u32 ^ u32::from(back[300])),
        Err(_) => 0xD1,
    };
    let mut storage = [0u8; deflate::DeflateStream::<offload_compress::Auto>::STORAGE_LEN];
    let mut enc = match deflate::DeflateStream::new(
        codec,
        deflate::Format::Gzip,
        1,
        &mut deflater,
        &mut storage,
    ) {
        Ok(e) => e,
        Err(_) => return mix(acc, 0xD2),
    };
    let mut out = [0u8; 700];
    acc = match enc.compress(input, &mut out, Flush::Finish) {
        Ok(p) => mix(acc, p.produced as u32 ^ u32::from(enc.is_finished())),
        Err(_) => mix(acc, 0xD3),
    };
    acc
}

/// offload-psp: a key derived from master keys, AES-GCM seal and open of a small buffer, and
/// a small IPv4/UDP packet encapsulated and decapsulated, all in stack buffers.
fn psp() -> u32 {
    use offload_psp::{
        Cipher, GcmKey, MasterKeys, Mode, RxSa, TxSa, Version, decapsulate, encapsulate,
    };

    let cipher = black_box(offload_psp::Auto::detect());
    let master = MasterKeys::new(black_box(&[0x11; 32]), black_box(&[0x22; 32]));
    let mut acc = mix(0, cipher.backend().name().len() as u32);
    let key = match master.derive(black_box(0x1234), Version::AesGcm128) {
        Ok(k) => GcmKey::new(&k),
        Err(_) => return mix(acc, 0xF0),
    };
    let nonce = black_box([7u8; 12]);
    let mut buf = black_box([0x5Au8; 64]);
    acc = match cipher.seal_in_place(&key, &nonce, &mut buf, 16) {
        Ok(tag) => match cipher.open_in_place(&key, &nonce, &mut buf, 16, &tag) {
            Ok(()) => mix(mix(acc, u32::from(tag[0])), u32::from(buf[40])),
            Err(_) => mix(acc, 0xF2),
        },
        Err(_) => mix(acc, 0xF1),
    };

    // 10.0.0.1:5000 -> 10.0.0.2:53, 4 payload bytes; room for the 40 bytes PSP adds.
    let packet: [u8; 32] = [
        0x45, 0, 0, 32, 0, 0, 0x40, 0, 64, 17, 0x26, 0xcb, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4
        0x13, 0x88, 0, 53, 0, 12, 0, 0, // UDP
        b'p', b'i', b'n', b'g',
    ];
    let mut wire = [0u8; 128];
    wire[..32].copy_from_slice(&black_box(packet));
    let tx = TxSa::from_master(&master, black_box(0x1234), Version::AesGcm128)
        .and_then(|sa| sa.with_crypt_offset(1));
    let mut tx = match tx {
        Ok(sa) => sa,
        Err(_) => return mix(acc, 0xF3),
    };
    let n = match encapsulate(&cipher, &mut tx, Mode::Transport, &mut wire, 32) {
        Ok(n) => n,
        Err(_) => return mix(acc, 0xF4),
    };
    acc = mix(acc, n as u32 ^ u32::from(wire[n - 1]));
    let mut rx: RxSa<1> = RxSa::new(master);
    match decapsulate(&cipher, &mut rx, &mut wire, n) {
        Ok(d) if wire[..d.len] == packet => mix(acc, d.len as u32 ^ d.header.spi),
        Ok(_) => mix(acc, 0xF5),
        Err(_) => mix(acc, 0xF6),
    }
}
