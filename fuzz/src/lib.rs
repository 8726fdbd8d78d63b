//! Fuzz harnesses, one public function per target in `fuzz_targets/` (named
//! `<crate>_<property>`). Each harness decodes its parameters from the raw input itself and
//! checks properties with `assert!`: a failed assertion is a finding. [`TARGETS`] lists them
//! so `tests/replay.rs` replays every committed seed on the stable toolchain.
//!
//! Inputs are read front to back; a parameter byte past the end reads as 0, and payload bytes
//! (shard contents, coefficients) repeat the remaining input, or come from a fixed PRNG when
//! nothing remains, so every input, even the empty one, runs a complete case.

use core::ops::Range;

use offload_erasure::{Auto, Backend, Code, ErasureCoder, Error, Matrix, Scalar, Workspace, gf};

/// A harness: runs one fuzz input, panicking on a finding.
pub type Harness = fn(&[u8]);

/// Every target: its name (as in `fuzz_targets/` and `corpus/`) and its harness.
pub const TARGETS: &[(&str, Harness)] = &[
    ("erasure_reconstruct", erasure_reconstruct),
    ("erasure_backends_agree", erasure_backends_agree),
    ("rdma_wire_parse_untrusted", rdma_wire_parse_untrusted),
    (
        "rdma_wire_emit_parse_roundtrip",
        rdma_wire_emit_parse_roundtrip,
    ),
    (
        "rdma_wire_icrc_backends_agree",
        rdma_wire_icrc_backends_agree,
    ),
    ("flow_rss_backends_agree", flow_rss_backends_agree),
    ("flow_table_ops", flow_table_ops),
    ("flow_classifier_ops", flow_classifier_ops),
    ("sharp_reduce_backends_agree", sharp_reduce_backends_agree),
    ("sharp_reduce_node_untrusted", sharp_reduce_node_untrusted),
    (
        "compress_lz4_block_decode_untrusted",
        compress_lz4_block_decode_untrusted,
    ),
    (
        "compress_lz4_frame_decode_untrusted",
        compress_lz4_frame_decode_untrusted,
    ),
    ("compress_lz4_roundtrip", compress_lz4_roundtrip),
    ("compress_lz4_vs_lz4_flex", compress_lz4_vs_lz4_flex),
    ("compress_lz4_no_stale_output", compress_lz4_no_stale_output),
    ("compress_inflate_untrusted", compress_inflate_untrusted),
    (
        "compress_inflate_vs_miniz_oxide",
        compress_inflate_vs_miniz_oxide,
    ),
    ("compress_inflate_chunked", compress_inflate_chunked),
    ("compress_deflate_roundtrip", compress_deflate_roundtrip),
    ("psp_open_untrusted", psp_open_untrusted),
    ("psp_roundtrip", psp_roundtrip),
    ("psp_backends_agree", psp_backends_agree),
    ("psp_gcm_vs_aes_gcm", psp_gcm_vs_aes_gcm),
];

mod compress;
mod flow;
mod psp;
mod reduce;
pub use compress::{
    compress_deflate_roundtrip, compress_inflate_chunked, compress_inflate_untrusted,
    compress_inflate_vs_miniz_oxide, compress_lz4_block_decode_untrusted,
    compress_lz4_frame_decode_untrusted, compress_lz4_no_stale_output, compress_lz4_roundtrip,
    compress_lz4_vs_lz4_flex,
};
pub use flow::{flow_classifier_ops, flow_rss_backends_agree, flow_table_ops};
pub use psp::{psp_backends_agree, psp_gcm_vs_aes_gcm, psp_open_untrusted, psp_roundtrip};
pub use reduce::{sharp_reduce_backends_agree, sharp_reduce_node_untrusted};

pub use rdma::{
    rdma_wire_emit_parse_roundtrip, rdma_wire_icrc_backends_agree, rdma_wire_parse_untrusted,
};

/// Longest shard or region a harness builds.
const MAX_LEN: usize = 2048;

/// Bound on `(k + m) * shard length` in `erasure_reconstruct`, so wide codes get short shards.
const MAX_STRIPE: usize = 1 << 16;

/// The parameter bytes at the front of an input.
struct Input<'a> {
    bytes: &'a [u8],
}

impl<'a> Input<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The next byte, or 0 past the end.
    fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&b, rest)) => {
                self.bytes = rest;
                b
            }
            None => 0,
        }
    }

    /// The next two bytes, little-endian.
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// The next `N` bytes (zeros past the end).
    fn array<const N: usize>(&mut self) -> [u8; N] {
        core::array::from_fn(|_| self.byte())
    }

    /// The next four bytes, little-endian.
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }

    /// The next eight bytes, little-endian.
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }

    /// Up to `n` of the next bytes.
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.bytes.split_at(n.min(self.bytes.len()));
        self.bytes = rest;
        head
    }

    /// Everything not read yet.
    fn rest(&self) -> &'a [u8] {
        self.bytes
    }
}

/// splitmix64: the PRNG behind payloads when the input has no bytes left for them.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fills `out` from `seed`, repeated (each repetition XORed with a different byte so the
/// pattern does not simply recur), or from the PRNG seeded with `salt` when `seed` is empty.
fn fill(out: &mut [u8], seed: &[u8], salt: u64) {
    if seed.is_empty() {
        let mut state = salt;
        for chunk in out.chunks_mut(8) {
            let word = splitmix(&mut state).to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    } else {
        for (i, b) in out.iter_mut().enumerate() {
            let pass = (i / seed.len()) as u8;
            *b = seed[i % seed.len()] ^ pass.wrapping_mul(0x9D);
        }
    }
}

fn refs(shards: &[Vec<u8>]) -> Vec<&[u8]> {
    shards.iter().map(Vec::as_slice).collect()
}

fn muts(shards: &mut [Vec<u8>]) -> Vec<&mut [u8]> {
    shards.iter_mut().map(Vec::as_mut_slice).collect()
}

/// `outs[r] = XOR_j coeffs[r * srcs.len() + j] * srcs[j]`, one byte at a time with the field
/// tables: the definition, independent of every backend.
fn naive_dot_prod(coeffs: &[u8], srcs: &[&[u8]], out: &mut [Vec<u8>]) {
    for (r, o) in out.iter_mut().enumerate() {
        for (i, b) in o.iter_mut().enumerate() {
            *b = srcs.iter().enumerate().fold(0, |acc, (j, s)| {
                acc ^ gf::mul(coeffs[r * srcs.len() + j], s[i])
            });
        }
    }
}

/// Encode, verify, erase, reconstruct, update.
///
/// Input: `flags` (bit 0: Vandermonde instead of Cauchy; bits 1..=3 all set: a wide code,
/// any `k + m <= 256`; otherwise `k <= 16`, `m <= 8`), `k` byte, `m` byte, shard length (u16
/// LE, reduced to at most 2048 and `(k + m) * len <= 65536`), `lost` byte (below 0xC0:
/// `lost % (m + 1)` shards are erased; from 0xC0: `m + 1 + lost % k`, too many), one byte per
/// erased shard (its index modulo `k + m`, moved on to the next one not yet erased), the fill
/// byte written over erased shards, the data shard to update, the update's PRNG salt, a u16
/// LE picking the byte that `verify` must catch when flipped; the rest is the data.
///
/// Checks: encode equals the definition (for small stripes); `verify` is true on the intact
/// set and false with one byte flipped; `reconstruct` and `reconstruct_data` restore exactly
/// what was erased when at most `m` shards are missing and otherwise return
/// `TooManyMissing { missing, max: m }` without writing; `update` of one data shard equals
/// re-encoding, and an out-of-range update index is refused without writing.
pub fn erasure_reconstruct(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let matrix = if flags & 1 == 1 {
        Matrix::Vandermonde
    } else {
        Matrix::Cauchy
    };
    let (k, m) = if (flags >> 1) & 0b111 == 0b111 {
        let k = 1 + usize::from(input.byte()) % 255;
        (k, 1 + usize::from(input.byte()) % (256 - k))
    } else {
        (
            1 + usize::from(input.byte() % 16),
            1 + usize::from(input.byte() % 8),
        )
    };
    let n = k + m;
    let len = usize::from(input.u16()) % ((MAX_STRIPE / n).min(MAX_LEN) + 1);
    let lost = input.byte();
    let missing = if lost < 0xC0 {
        usize::from(lost) % (m + 1)
    } else {
        m + 1 + usize::from(lost) % k
    };
    let mut present = vec![true; n];
    for _ in 0..missing {
        let mut i = usize::from(input.byte()) % n;
        while !present[i] {
            i = (i + 1) % n;
        }
        present[i] = false;
    }
    let fill_byte = input.byte();
    let update_index = usize::from(input.byte()) % k;
    let update_salt = u64::from(input.byte());
    let flip = usize::from(input.u16());
    let ctx = format!("k={k} m={m} {matrix:?} len={len} missing={missing}");

    let code = match Code::new(k, m, matrix) {
        Ok(code) => code,
        Err(e) => panic!("{ctx}: Code::new refused valid counts: {e}"),
    };
    let coder = Auto::detect();
    let mut ws = Box::new(Workspace::new());

    // Encode into parity buffers holding garbage: encode must overwrite them.
    let mut stripe = vec![0u8; k * len];
    fill(&mut stripe, input.rest(), 1);
    let mut shards: Vec<Vec<u8>> = (0..k)
        .map(|i| stripe[i * len..(i + 1) * len].to_vec())
        .chain((0..m).map(|_| vec![!fill_byte; len]))
        .collect();
    {
        let (data_shards, parity) = shards.split_at_mut(k);
        let r = coder.encode(&code, &refs(data_shards), &mut muts(parity));
        assert_eq!(r, Ok(()), "{ctx}: encode");
    }
    if k * m * len <= 1 << 15 {
        let mut expected = vec![vec![0u8; len]; m];
        naive_dot_prod(code.parity_matrix(), &refs(&shards[..k]), &mut expected);
        assert!(shards[k..] == expected[..], "{ctx}: encode != definition");
    }

    // verify: true when intact, false with any one byte flipped (every entry of both
    // matrices is nonzero, so a change in any one shard changes every parity shard).
    assert_eq!(
        coder.verify(&code, &refs(&shards), &mut ws),
        Ok(true),
        "{ctx}: verify intact"
    );
    if len > 0 {
        let (i, pos) = (flip % n, (flip / n) % len);
        shards[i][pos] ^= fill_byte | 1;
        let r = coder.verify(&code, &refs(&shards), &mut ws);
        assert_eq!(
            r,
            Ok(false),
            "{ctx}: verify missed a flip in shard {i} byte {pos}"
        );
        shards[i][pos] ^= fill_byte | 1;
    }

    // Erase, then rebuild everything, and only the data.
    let mut erased = shards.clone();
    for (s, _) in erased.iter_mut().zip(&present).filter(|(_, p)| !**p) {
        s.fill(fill_byte);
    }
    let too_many = Err(Error::TooManyMissing { missing, max: m });

    let mut work = erased.clone();
    let r = coder.reconstruct(&code, &mut muts(&mut work), &present, &mut ws);
    if missing <= m {
        assert_eq!(r, Ok(()), "{ctx}: reconstruct");
        assert!(
            work == shards,
            "{ctx}: reconstruct did not restore the stripe"
        );
    } else {
        assert_eq!(r, too_many, "{ctx}: reconstruct");
        assert!(work == erased, "{ctx}: reconstruct wrote before failing");
    }

    let mut work = erased.clone();
    let r = coder.reconstruct_data(&code, &mut muts(&mut work), &present, &mut ws);
    if missing <= m {
        assert_eq!(r, Ok(()), "{ctx}: reconstruct_data");
        assert!(
            work[..k] == shards[..k],
            "{ctx}: reconstruct_data lost data"
        );
        assert!(
            work[k..] == erased[k..],
            "{ctx}: reconstruct_data touched parity"
        );
    } else {
        assert_eq!(r, too_many, "{ctx}: reconstruct_data");
        assert!(
            work == erased,
            "{ctx}: reconstruct_data wrote before failing"
        );
    }

    // update == re-encode.
    let mut new = shards[update_index].clone();
    let mut delta = vec![0u8; len];
    fill(&mut delta, &[], update_salt);
    new.iter_mut().zip(&delta).for_each(|(b, d)| *b ^= d);
    let mut patched = shards[k..].to_vec();
    let r = coder.update(
        &code,
        update_index,
        &shards[update_index],
        &new,
        &mut muts(&mut patched),
    );
    assert_eq!(r, Ok(()), "{ctx}: update of shard {update_index}");
    let mut data2 = shards[..k].to_vec();
    data2[update_index] = new;
    let mut reencoded = vec![vec![fill_byte; len]; m];
    let r = coder.encode(&code, &refs(&data2), &mut muts(&mut reencoded));
    assert_eq!(r, Ok(()), "{ctx}: re-encode");
    assert!(
        patched == reencoded,
        "{ctx}: update of shard {update_index} != re-encode"
    );

    let mut parity = shards[k..].to_vec();
    let r = coder.update(&code, k, &shards[0], &shards[0], &mut muts(&mut parity));
    assert_eq!(
        r,
        Err(Error::ShardIndex { index: k, count: k }),
        "{ctx}: update index k"
    );
    assert!(parity[..] == shards[k..], "{ctx}: refused update wrote");
}

/// The two region kernels with misaligned slices in larger buffers.
struct KernelCase {
    mul_acc: bool,
    coeffs: Vec<u8>,
    /// All sources, at `src_ranges` (with gaps and a tail).
    src_buf: Vec<u8>,
    src_ranges: Vec<Range<usize>>,
    /// Each output gets its own buffer of `out_off + len + GUARD` bytes.
    out_lens: Vec<usize>,
    out_off: usize,
}

/// Bytes after each output slice that no kernel may touch.
const GUARD: usize = 64;

impl KernelCase {
    fn out_range(&self, r: usize) -> Range<usize> {
        self.out_off..self.out_off + self.out_lens[r]
    }

    /// Output buffers all set to `byte`.
    fn outputs_filled(&self, byte: u8) -> Vec<Vec<u8>> {
        self.out_lens
            .iter()
            .map(|len| vec![byte; self.out_off + len + GUARD])
            .collect()
    }

    /// The result the documentation promises: coefficient count first, then lengths against
    /// the first output (`dot_prod`: sources numbered first, then outputs) or the source
    /// (`mul_acc`: the source is 0, outputs from 1).
    fn expected_result(&self) -> Result<(), Error> {
        let sources = self.src_ranges.len();
        let outputs = self.out_lens.len();
        let (ncoeffs, len, first_out) = if self.mul_acc {
            (outputs, self.src_ranges[0].len(), 1)
        } else {
            (outputs * sources, self.out_lens[0], sources)
        };
        if self.coeffs.len() != ncoeffs {
            return Err(Error::CoefficientCount {
                expected: ncoeffs,
                found: self.coeffs.len(),
            });
        }
        let srcs = if self.mul_acc {
            &[][..]
        } else {
            &self.src_ranges[..]
        };
        let src_lens = srcs.iter().map(Range::len).enumerate();
        let out_lens = self.out_lens.iter().enumerate();
        let lens = src_lens.chain(out_lens.map(|(r, &l)| (first_out + r, l)));
        for (index, found) in lens {
            if found != len {
                return Err(Error::ShardLength {
                    index,
                    expected: len,
                    found,
                });
            }
        }
        Ok(())
    }

    fn run(&self, e: &impl ErasureCoder, init: &[Vec<u8>]) -> (Result<(), Error>, Vec<Vec<u8>>) {
        let mut bufs = init.to_vec();
        let srcs: Vec<&[u8]> = self
            .src_ranges
            .iter()
            .map(|r| &self.src_buf[r.clone()])
            .collect();
        let mut outs: Vec<&mut [u8]> = bufs
            .iter_mut()
            .zip(&self.out_lens)
            .map(|(b, len)| &mut b[self.out_off..self.out_off + len])
            .collect();
        let r = if self.mul_acc {
            e.mul_acc(&self.coeffs, srcs[0], &mut outs)
        } else {
            e.dot_prod(&self.coeffs, &srcs, &mut outs)
        };
        (r, bufs)
    }
}

/// Every backend's `dot_prod` and `mul_acc` against `Scalar`, and `Scalar` against the
/// definition.
///
/// Input: `flags` (bit 0: `mul_acc` instead of `dot_prod`; bits 1..=3 all set: a malformed
/// call), sources byte (`% 21`; `mul_acc` has one), outputs byte (`1 + % 12`), length (u16
/// LE `% 2049`), source offset, output offset and gap between sources (`% 64`, `% 64`, `% 8`),
/// the malformation byte (low two bits: 0 one coefficient too many, 1 one too few, 2 one
/// source one byte longer, 3 one output one byte longer; the other bits pick which), a salt
/// for the `mul_acc` accumulators; then the coefficients, and the rest is the source bytes.
///
/// Checks, for output buffers starting all zero, all 0xFF and (for `mul_acc`) random: `Scalar`
/// returns the documented result (the exact error for a malformed call), every other
/// available backend returns exactly what `Scalar` returns, bytes outside the output slices
/// are never written, and nothing is written on error. Across starting contents the result is
/// the same (`dot_prod` overwrites; `mul_acc` XORs the same product in), and that product is
/// the definition.
pub fn erasure_backends_agree(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let mul_acc = flags & 1 == 1;
    let malformed = (flags >> 1) & 0b111 == 0b111;
    let sources = usize::from(input.byte()) % 21;
    let sources = if mul_acc { 1 } else { sources };
    let outputs = 1 + usize::from(input.byte()) % 12;
    let len = usize::from(input.u16()) % (MAX_LEN + 1);
    let src_off = usize::from(input.byte() % 64);
    let out_off = usize::from(input.byte() % 64);
    let gap = usize::from(input.byte() % 8);
    let bad = input.byte();
    let salt = u64::from(input.byte());
    let ncoeffs = if mul_acc { outputs } else { outputs * sources };
    let mut coeffs = vec![0u8; ncoeffs];
    fill(&mut coeffs, input.take(ncoeffs), 2);

    let mut src_lens = vec![len; sources];
    let mut out_lens = vec![len; outputs];
    if malformed {
        let which = usize::from(bad >> 2);
        match bad & 0b11 {
            0 => coeffs.push(bad),
            1 if !coeffs.is_empty() => {
                coeffs.pop();
            }
            2 if sources > 0 => src_lens[which % sources] += 1,
            _ => out_lens[which % outputs] += 1,
        }
    }
    let mut src_ranges = Vec::with_capacity(sources);
    let mut at = src_off;
    for &l in &src_lens {
        src_ranges.push(at..at + l);
        at += l + gap;
    }
    let mut src_buf = vec![0u8; at + GUARD];
    fill(&mut src_buf, input.rest(), 3);
    let case = KernelCase {
        mul_acc,
        coeffs,
        src_buf,
        src_ranges,
        out_lens,
        out_off,
    };
    let ctx = format!(
        "{} sources={sources} outputs={outputs} len={len} src_off={src_off} out_off={out_off} \
         gap={gap} malformed={malformed} bad={bad}",
        if mul_acc { "mul_acc" } else { "dot_prod" }
    );

    // Every backend but the oracle itself.
    let engines: Vec<Auto> = Backend::ALL
        .into_iter()
        .filter_map(Auto::with_backend)
        .filter(|e| e.backend() != Backend::Scalar)
        .collect();

    let mut starts = vec![case.outputs_filled(0), case.outputs_filled(0xFF)];
    if mul_acc {
        let mut random = case.outputs_filled(0);
        for (i, b) in random.iter_mut().enumerate() {
            fill(b, &[], salt ^ ((i as u64) << 8));
        }
        starts.push(random);
    }
    let mut results = Vec::with_capacity(starts.len());
    for init in &starts {
        let (r, got) = case.run(&Scalar, init);
        assert_eq!(r, case.expected_result(), "{ctx}: scalar result");
        for (i, (g, b)) in got.iter().zip(init).enumerate() {
            let range = case.out_range(i);
            let outside_same =
                g[..range.start] == b[..range.start] && g[range.end..] == b[range.end..];
            assert!(outside_same, "{ctx}: scalar wrote outside output {i}");
        }
        if r.is_err() {
            assert!(
                got == *init,
                "{ctx}: scalar wrote before failing with {r:?}"
            );
        }
        for e in &engines {
            let (r2, got2) = case.run(e, init);
            assert_eq!(r2, r, "{ctx}: {} result != scalar", e.backend());
            assert!(got2 == got, "{ctx}: {} bytes != scalar", e.backend());
        }
        results.push((r, got));
    }

    // Across starting contents, and against the definition.
    let (r0, zero) = &results[0];
    for ((r, got), init) in results.iter().zip(&starts).skip(1) {
        assert_eq!(r, r0, "{ctx}: result depends on the output's old bytes");
        if r.is_err() {
            continue;
        }
        for (i, ((g, z), b)) in got.iter().zip(zero).zip(init).enumerate() {
            let range = case.out_range(i);
            for ((&g, &z), &b) in g[range.clone()]
                .iter()
                .zip(&z[range.clone()])
                .zip(&b[range])
            {
                let expected = if mul_acc { z ^ b } else { z };
                assert_eq!(
                    g, expected,
                    "{ctx}: output {i} depends on its old bytes wrongly"
                );
            }
        }
    }
    if r0.is_ok() {
        let srcs: Vec<&[u8]> = case
            .src_ranges
            .iter()
            .map(|r| &case.src_buf[r.clone()])
            .collect();
        let mut expected: Vec<Vec<u8>> = case.out_lens.iter().map(|&l| vec![0; l]).collect();
        // mul_acc from zero is a dot product with one source: the same coefficient layout.
        naive_dot_prod(&case.coeffs, &srcs, &mut expected);
        for (i, (z, x)) in zero.iter().zip(&expected).enumerate() {
            assert!(
                z[case.out_range(i)] == x[..],
                "{ctx}: output {i} != definition"
            );
        }
    }
}

/// The `offload-rdma-wire` harnesses: parse of untrusted bytes, builder → parse → builder
/// round trips, and the ICRC kernels against each other and `crc32fast`.
mod rdma {
    use offload_rdma_wire::wire::{
        AethRepr, AtomicAckEthRepr, AtomicEthRepr, BthRepr, DethRepr, ETHERTYPE_IPV4,
        ETHERTYPE_IPV6, EthernetRepr, Ext, ExtKind, ExtRepr, IethRepr, ImmDtRepr, IpRepr,
        Ipv4Packet, Ipv4Repr, Ipv6Repr, OPCODES, ROCE_V2_PORT, RdEthRepr, RethRepr, TPID_8021AD,
        TPID_8021Q, UdpRepr, VlanTag, XrcEthRepr,
    };
    use offload_rdma_wire::{
        Auto, Backend, Error, Frame, FrameBuilder, ICRC_SEED, Icrc, Opcode, Psn, Scalar, parse,
    };

    use super::{Input, MAX_LEN, fill};

    /// A frame's headers, in wire order.
    type Headers = (EthernetRepr, IpRepr, UdpRepr, BthRepr, Ext);

    /// Every backend this build and CPU run, `Scalar` included (as `Auto`).
    fn engines() -> Vec<Auto> {
        Backend::ALL
            .into_iter()
            .filter_map(Auto::with_backend)
            .collect()
    }

    /// Whether `sub` is exactly `data[start..end]`: the same bytes at the same address.
    fn is_slice_of(sub: &[u8], data: &[u8], start: usize, end: usize) -> bool {
        data.get(start..end).is_some_and(|s| core::ptr::eq(s, sub))
    }

    /// Everything `parse` promises about a frame it returned for `data`: the offsets are
    /// contiguous, agree with the headers' lengths and lie within `data`; each accessor is the
    /// slice of `data` the offsets name; the headers are the ones `parse` accepts.
    fn check_frame(data: &[u8], f: &Frame<'_>, ctx: &str) {
        let o = f.offsets();
        let info = *f.info();
        let bth = f.bth();
        assert!(
            core::ptr::eq(f.bytes(), data),
            "{ctx}: bytes() is not the input"
        );
        assert_eq!(o.l3, f.ethernet().buffer_len(), "{ctx}: l3 {o:?}");
        assert_eq!(o.l4, o.l3 + f.ip().header_len(), "{ctx}: l4 {o:?}");
        assert_eq!(o.bth, o.l4 + 8, "{ctx}: bth {o:?}");
        assert_eq!(o.ext, o.bth + 12, "{ctx}: ext {o:?}");
        assert_eq!(
            o.payload,
            o.ext + info.headers.size(),
            "{ctx}: payload {o:?}"
        );
        assert!(o.payload <= o.pad && o.pad <= o.icrc, "{ctx}: {o:?}");
        assert_eq!(
            o.icrc - o.pad,
            usize::from(bth.pad_count),
            "{ctx}: pad {o:?}"
        );
        assert_eq!(o.end, o.icrc + 4, "{ctx}: end {o:?}");
        assert!(o.end <= data.len(), "{ctx}: end past the input {o:?}");
        // The UDP datagram within the IP packet, the IP packet within the input.
        assert_eq!(
            o.end - o.l4,
            f.udp().buffer_len(),
            "{ctx}: UDP length {o:?}"
        );
        let ip_end = o.l4 + f.ip().payload_len();
        assert!(
            o.end <= ip_end && ip_end <= data.len(),
            "{ctx}: IP length {o:?}"
        );

        assert!(
            is_slice_of(f.payload(), data, o.payload, o.pad),
            "{ctx}: payload()"
        );
        assert!(is_slice_of(f.pad(), data, o.pad, o.icrc), "{ctx}: pad()");
        assert!(
            is_slice_of(f.icrc_covered(), data, o.l3, o.icrc),
            "{ctx}: covered"
        );
        assert!(
            is_slice_of(f.trailer(), data, o.end, data.len()),
            "{ctx}: trailer()"
        );
        let stored = u32::from_le_bytes(data[o.icrc..o.end].try_into().unwrap_or_default());
        assert_eq!(f.icrc(), stored, "{ctx}: icrc()");

        let ethertype = f.ethernet().ethertype;
        match f.ip() {
            IpRepr::Ipv4(r) => {
                assert_eq!(ethertype, ETHERTYPE_IPV4, "{ctx}");
                assert_eq!(r.flags & 1, 0, "{ctx}: a fragment was accepted");
            }
            IpRepr::Ipv6(_) => assert_eq!(ethertype, ETHERTYPE_IPV6, "{ctx}"),
        }
        assert_eq!(f.ip().protocol(), 17, "{ctx}: not UDP");
        assert_eq!(f.udp().dst_port, ROCE_V2_PORT, "{ctx}");
        assert_eq!(bth.tver, 0, "{ctx}: TVer");
        assert_eq!(bth.opcode.info(), Some(info), "{ctx}: opcode info");
        assert_eq!(f.ext().headers(), info.headers, "{ctx}: ETHs");
        assert!(
            info.payload || o.icrc == o.payload,
            "{ctx}: payload not allowed"
        );
    }

    /// Every backend's ICRC of `f` (one that parsed) equals `Scalar`'s and the rule written
    /// out here; `verify` agrees with it. Returns the ICRC.
    fn check_icrc(f: &Frame<'_>, ctx: &str) -> u32 {
        let crc = Scalar.compute(f);
        assert_eq!(
            Ok(crc),
            Scalar.compute_packet(f.icrc_covered()),
            "{ctx}: compute"
        );
        assert_eq!(
            Some(crc),
            reference_icrc(f.icrc_covered()),
            "{ctx}: ICRC != rule"
        );
        for e in engines() {
            assert_eq!(e.compute(f), crc, "{ctx}: {} ICRC != scalar", e.backend());
            let expected = if crc == f.icrc() {
                Ok(())
            } else {
                Err(Error::IcrcMismatch {
                    computed: crc,
                    stored: f.icrc(),
                })
            };
            assert_eq!(e.verify(f), expected, "{ctx}: {} verify", e.backend());
        }
        crc
    }

    /// The ICRC rule, independently of the crate: `crc32fast` over 8 bytes of 0xFF, the IP,
    /// UDP and BTH headers with the variant fields set to ones, then the rest. `None` unless
    /// the IP version is 4 or 6 and the headers fit.
    fn reference_icrc(packet: &[u8]) -> Option<u32> {
        // (headers' length, [(offset, mask)]) for IPv4 and IPv6.
        let (len, masks): (usize, &[(usize, u8)]) = match packet.first()? >> 4 {
            4 => (
                40,
                &[
                    (1, 0xFF),
                    (8, 0xFF),
                    (10, 0xFF),
                    (11, 0xFF),
                    (26, 0xFF),
                    (27, 0xFF),
                    (32, 0xFF),
                ],
            ),
            6 => (
                60,
                &[
                    (0, 0x0F),
                    (1, 0xFF),
                    (2, 0xFF),
                    (3, 0xFF),
                    (7, 0xFF),
                    (46, 0xFF),
                    (47, 0xFF),
                    (52, 0xFF),
                ],
            ),
            _ => return None,
        };
        let mut headers = packet.get(..len)?.to_vec();
        for &(at, mask) in masks {
            headers[at] |= mask;
        }
        let mut h = crc32fast::Hasher::new();
        h.update(&[0xFF; 8]);
        h.update(&headers);
        h.update(&packet[len..]);
        Some(h.finalize())
    }

    /// The headers of `f` with what the builder recomputes for its payload put the way the
    /// builder puts it: the IP and UDP lengths, the pad count, and the UDP checksum reduced to
    /// "sent or not".
    fn normalized(f: &Frame<'_>) -> Headers {
        let payload = f.payload().len();
        let udp_len = 8 + 12 + f.info().headers.size() + payload + (payload.wrapping_neg() & 3) + 4;
        let ip = match f.ip() {
            IpRepr::Ipv4(r) => IpRepr::Ipv4(Ipv4Repr {
                payload_len: udp_len,
                ..r
            }),
            IpRepr::Ipv6(r) => IpRepr::Ipv6(Ipv6Repr {
                payload_len: udp_len,
                ..r
            }),
        };
        let udp = UdpRepr {
            payload_len: udp_len - 8,
            checksum: u16::from(f.udp().checksum != 0),
            ..f.udp()
        };
        let mut bth = f.bth();
        bth.pad_count = (payload.wrapping_neg() & 3) as u8;
        (f.ethernet(), ip, udp, bth, f.ext())
    }

    /// Emits `b` for `payload` with every backend, into a zeroed and a 0xFF-filled buffer of
    /// `available` bytes: the results and the bytes written are the same every time, nothing
    /// is written past the returned length, and nothing at all on error. Returns the result
    /// and the frame.
    fn emit_everywhere(
        b: &FrameBuilder,
        payload: &[u8],
        available: usize,
        ctx: &str,
    ) -> (Result<usize, Error>, Vec<u8>) {
        let mut first: Option<(Result<usize, Error>, Vec<u8>)> = None;
        for e in engines() {
            for fill_byte in [0x00, 0xFF] {
                let mut buf = vec![fill_byte; available];
                let r = b.emit(&e, payload, &mut buf);
                let written = match r {
                    Ok(n) => {
                        assert!(n <= available, "{ctx}: length {n} > buffer {available}");
                        assert!(
                            buf[n..].iter().all(|&x| x == fill_byte),
                            "{ctx}: {} wrote past the frame",
                            e.backend()
                        );
                        n
                    }
                    Err(_) => {
                        assert!(
                            buf.iter().all(|&x| x == fill_byte),
                            "{ctx}: {} wrote before failing with {r:?}",
                            e.backend()
                        );
                        0
                    }
                };
                buf.truncate(written);
                match &first {
                    None => first = Some((r, buf)),
                    Some((r0, buf0)) => {
                        assert_eq!(r, *r0, "{ctx}: {} result differs", e.backend());
                        assert!(
                            buf == *buf0,
                            "{ctx}: {} (fill {fill_byte:#x}) bytes differ",
                            e.backend()
                        );
                    }
                }
            }
        }
        first.unwrap_or((Ok(0), Vec::new()))
    }

    /// Arbitrary bytes into `parse`.
    ///
    /// Checks: `parse` never panics, and every backend's `parse_verified` fails with `parse`'s
    /// error when it fails. On success: the offsets and slices of [`check_frame`]; every
    /// backend's ICRC equals `Scalar`'s and the rule computed with `crc32fast`, and `verify`
    /// says whether it matches the stored one; `refill` writes exactly the 4 ICRC bytes, after
    /// which every backend's `parse_verified` accepts the frame with the same headers; and the
    /// builder re-emits the frame (`Frame::builder`) into a zeroed and a 0xFF buffer alike, as
    /// a frame that parses back to the same headers (lengths, pad count and checksums
    /// recomputed) and that re-emits byte for byte.
    pub fn rdma_wire_parse_untrusted(data: &[u8]) {
        let ctx = format!("{} bytes", data.len());
        let f = match parse(data) {
            Ok(f) => f,
            Err(err) => {
                for e in engines() {
                    assert_eq!(
                        e.parse_verified(data).err(),
                        Some(err),
                        "{ctx}: {} parse_verified",
                        e.backend()
                    );
                }
                let mut copy = data.to_vec();
                assert_eq!(Scalar.refill(&mut copy), Err(err), "{ctx}: refill");
                assert!(copy == data, "{ctx}: refill wrote before failing");
                return;
            }
        };
        check_frame(data, &f, &ctx);
        let crc = check_icrc(&f, &ctx);
        let _ = f.udp_checksum_ok();
        let o = f.offsets();

        // A correct ICRC: the frame verifies on every backend, with the same headers.
        let mut fixed = data.to_vec();
        assert_eq!(Scalar.refill(&mut fixed), Ok(crc), "{ctx}: refill");
        assert!(
            fixed[..o.icrc] == data[..o.icrc] && fixed[o.end..] == data[o.end..],
            "{ctx}: refill wrote outside the ICRC"
        );
        assert_eq!(
            fixed[o.icrc..o.end],
            crc.to_le_bytes(),
            "{ctx}: refill bytes"
        );
        for e in engines() {
            let g = match e.parse_verified(&fixed) {
                Ok(g) => g,
                Err(err) => panic!("{ctx}: {} refuses a refilled frame: {err}", e.backend()),
            };
            assert_eq!(g.offsets(), o, "{ctx}");
            assert_eq!(
                (g.ethernet(), g.ip(), g.udp(), g.bth(), g.ext()),
                (f.ethernet(), f.ip(), f.udp(), f.bth(), f.ext()),
                "{ctx}: refilled frame parses differently"
            );
            assert!(g.payload() == f.payload(), "{ctx}");
        }

        // Rebuild it from its parts.
        let b = f.builder();
        let payload = f.payload();
        let needed = b.buffer_len(payload.len());
        let Ok(needed) = needed else {
            panic!("{ctx}: buffer_len of a parsed frame: {needed:?}")
        };
        let (r, built) = emit_everywhere(&b, payload, needed + 16, &ctx);
        // The builder pads the payload to 4 bytes; a parsed frame need not be, so near the
        // 16-bit limits its rebuilt form may not fit.
        let limit = match f.ip() {
            IpRepr::Ipv4(_) => 0xFFFF - 20,
            IpRepr::Ipv6(_) => 0xFFFF,
        };
        if let Err(Error::TooLong { udp_len }) = r
            && udp_len > limit
            && udp_len == needed - o.l4
        {
            return;
        }
        assert_eq!(r, Ok(needed), "{ctx}: rebuilding a parsed frame");
        let g = match Scalar.parse_verified(&built) {
            Ok(g) => g,
            Err(err) => panic!("{ctx}: the rebuilt frame does not verify: {err}"),
        };
        check_frame(&built, &g, &ctx);
        assert_eq!(normalized(&g), normalized(&f), "{ctx}: rebuilt headers");
        assert!(g.payload() == payload, "{ctx}: rebuilt payload");
        assert!(g.trailer().is_empty(), "{ctx}: rebuilt trailer");
        let mut again = vec![0u8; needed];
        assert_eq!(
            g.builder().emit(&Scalar, g.payload(), &mut again),
            Ok(needed),
            "{ctx}"
        );
        assert!(
            again == built,
            "{ctx}: emit(parse(emit(parse(x)))) != emit(parse(x))"
        );
    }

    /// One extended header of `kind` with field values from the input (full-width: the
    /// 24-bit fields get 32 bits, which the emitter must mask).
    fn ext_header(kind: ExtKind, input: &mut Input<'_>) -> ExtRepr {
        let (a, b, c, d) = (input.u64(), input.u64(), input.u64(), input.u64());
        let (a32, b32) = (a as u32, b as u32);
        match kind {
            ExtKind::RdEth => ExtRepr::RdEth(RdEthRepr { ee_context: a32 }),
            ExtKind::Deth => ExtRepr::Deth(DethRepr {
                q_key: a32,
                src_qp: b32,
            }),
            ExtKind::XrcEth => ExtRepr::XrcEth(XrcEthRepr { xrc_srq: a32 }),
            ExtKind::Reth => ExtRepr::Reth(RethRepr {
                va: a,
                r_key: b32,
                dma_len: c as u32,
            }),
            ExtKind::AtomicEth => ExtRepr::AtomicEth(AtomicEthRepr {
                va: a,
                r_key: b32,
                swap_add: c,
                compare: d,
            }),
            ExtKind::Aeth => ExtRepr::Aeth(AethRepr {
                syndrome: a as u8,
                msn: Psn::new(b32),
            }),
            ExtKind::AtomicAckEth => ExtRepr::AtomicAckEth(AtomicAckEthRepr {
                orig_remote_data: a,
            }),
            ExtKind::ImmDt => ExtRepr::ImmDt(ImmDtRepr { imm: a32 }),
            ExtKind::Ieth => ExtRepr::Ieth(IethRepr { r_key: a32 }),
            _ => ExtRepr::CnpPadding,
        }
    }

    /// `ext` without its header of `kind`.
    fn remove(ext: &mut Ext, kind: ExtKind) {
        match kind {
            ExtKind::RdEth => ext.rdeth = None,
            ExtKind::Deth => ext.deth = None,
            ExtKind::XrcEth => ext.xrceth = None,
            ExtKind::Reth => ext.reth = None,
            ExtKind::AtomicEth => ext.atomiceth = None,
            ExtKind::Aeth => ext.aeth = None,
            ExtKind::AtomicAckEth => ext.atomicacketh = None,
            ExtKind::ImmDt => ext.immdt = None,
            ExtKind::Ieth => ext.ieth = None,
            _ => ext.cnp_padding = false,
        }
    }

    /// `ext` as it reads back from the wire: the 24-bit fields masked.
    fn masked(mut ext: Ext) -> Ext {
        const M24: u32 = 0x00FF_FFFF;
        if let Some(r) = &mut ext.rdeth {
            r.ee_context &= M24;
        }
        if let Some(r) = &mut ext.deth {
            r.src_qp &= M24;
        }
        if let Some(r) = &mut ext.xrceth {
            r.xrc_srq &= M24;
        }
        ext
    }

    /// Builds a frame from fields the input chooses, emits it, parses it back.
    ///
    /// Input: `flags` (bit 0 IPv6; bit 1 an 802.1Q/802.1ad tag, bit 2 which; bit 3 a UDP
    /// checksum; bit 4 the opcode byte as it is, possibly undefined, instead of an index into
    /// the defined ones; bit 5 one ETH added or removed; bit 6 a payload near the 16-bit
    /// length limits; bit 7 a buffer too short by the `short` byte), the opcode byte, the ETH
    /// to add or remove, `short`, the payload length (u16 LE, at most 2048, or 65400 + a
    /// byte with bit 6), the addresses, the tag's TCI and a PCP byte, IP TOS / traffic class, TTL / hop
    /// limit, identification, IPv4 flags (DF and the reserved bit), the flow label, UDP
    /// source port, the BTH fields (SE, M, AckReq, FECN, BECN, P_Key, QP, PSN, both reserved
    /// fields, with the 24-bit ones given 32 bits), then 32 bytes per ETH; the rest is the
    /// payload.
    ///
    /// Checks: `emit` and `buffer_len` return the documented result (one of the errors that
    /// apply, typed, or the frame's length), every backend emits the same bytes into a zeroed
    /// and a 0xFF buffer, with nothing written past the frame or on error. On success the
    /// frame parses back to the same headers (lengths, pad count, EtherType, protocol, port
    /// and checksums filled in; reserved and 24-bit fields masked to their width) and the same
    /// payload, with zero pad bytes, valid IPv4 and UDP checksums, and an ICRC that every
    /// backend verifies; and `emit(parse(x)) == x`.
    ///
    /// Not fuzzed (the builder emits them as given, and `parse` refuses what it wrote): a TVer
    /// other than 0, the IPv4 More Fragments flag, a tag whose TPID is not 0x8100 or 0x88A8.
    pub fn rdma_wire_emit_parse_roundtrip(data: &[u8]) {
        let mut input = Input::new(data);
        let flags = input.byte();
        let (ipv6, tagged, qinq, udp_sum) = (
            flags & 1 != 0,
            flags & 2 != 0,
            flags & 4 != 0,
            flags & 8 != 0,
        );
        let (raw_opcode, toggle_ext, huge, short_buf) = (
            flags & 16 != 0,
            flags & 32 != 0,
            flags & 64 != 0,
            flags & 128 != 0,
        );
        let defined: Vec<Opcode> = OPCODES.iter().flatten().map(|i| i.opcode).collect();
        let op_byte = input.byte();
        let opcode = if raw_opcode {
            Opcode(op_byte)
        } else {
            defined[usize::from(op_byte) % defined.len()]
        };
        let toggle = ExtKind::ALL[usize::from(input.byte()) % ExtKind::ALL.len()];
        let short = usize::from(input.byte());
        let len_word = input.u16();
        let payload_len = if huge {
            65_400 + usize::from(len_word & 0xFF)
        } else {
            usize::from(len_word) % (MAX_LEN + 1)
        };
        let dst_mac = input.array::<6>();
        let src_mac = input.array::<6>();
        let (tci, pcp) = (input.u16(), input.byte());
        let src = input.array::<16>();
        let dst = input.array::<16>();
        let (tos, ttl, ident, ip_flags) = (input.byte(), input.byte(), input.u16(), input.byte());
        let flow_label = input.u32();
        let src_port = input.u16();
        let bth_flags = input.byte();
        let (p_key, dest_qp, psn) = (input.u16(), input.u32(), input.u32());
        let (resv6a, resv7) = (input.byte(), input.byte());

        let info = opcode.info();
        let mut ext = Ext::default();
        if let Some(info) = info {
            for kind in info.headers.iter() {
                ext.set(ext_header(kind, &mut input));
            }
        }
        if toggle_ext {
            if ext.get(toggle).is_some() {
                remove(&mut ext, toggle);
            } else {
                ext.set(ext_header(toggle, &mut input));
            }
        }
        let mut payload = vec![0u8; payload_len];
        fill(&mut payload, input.rest(), u64::from(op_byte));

        // PCP and VID out of range: the emitter keeps their low 3 and 12 bits.
        let vlan = tagged.then_some(VlanTag {
            tpid: if qinq { TPID_8021AD } else { TPID_8021Q },
            pcp,
            dei: tci & 0x1000 != 0,
            vid: tci,
        });
        let ip = if ipv6 {
            IpRepr::Ipv6(Ipv6Repr {
                traffic_class: tos,
                flow_label,
                next_header: ttl ^ 0x5A, // replaced by the builder
                hop_limit: ttl,
                src,
                dst,
                payload_len: usize::from(ident), // replaced
            })
        } else {
            IpRepr::Ipv4(Ipv4Repr {
                tos,
                ident,
                flags: ip_flags & 0b110,
                ttl,
                protocol: tos, // replaced
                src: [src[0], src[1], src[2], src[3]],
                dst: [dst[0], dst[1], dst[2], dst[3]],
                payload_len: usize::from(tos), // replaced
            })
        };
        let bth = BthRepr {
            opcode,
            solicited: bth_flags & 1 != 0,
            migreq: bth_flags & 2 != 0,
            pad_count: bth_flags >> 6, // replaced
            tver: 0,
            p_key,
            fecn: bth_flags & 4 != 0,
            becn: bth_flags & 8 != 0,
            resv6a,
            dest_qp,
            ack_req: bth_flags & 16 != 0,
            resv7,
            psn: Psn::new(psn),
        };
        let b = FrameBuilder {
            ethernet: EthernetRepr {
                dst: dst_mac,
                src: src_mac,
                vlan,
                ethertype: tci, // replaced
            },
            ip,
            udp: UdpRepr {
                src_port,
                dst_port: src_port, // replaced
                checksum: u16::from(udp_sum),
                payload_len: 0, // replaced
            },
            bth,
            ext,
        };
        let ctx = format!(
            "opcode {:#04x} ipv6={ipv6} tag={vlan:?} payload {payload_len} ext {:?}",
            opcode.0,
            ext.headers()
        );

        // What the documentation allows.
        let pad = payload_len.wrapping_neg() & 3;
        let mut allowed = Vec::new();
        let mut total = None;
        match info {
            None => allowed.push(Error::UnknownOpcode { opcode: opcode.0 }),
            Some(info) => {
                if !info.payload && payload_len != 0 {
                    allowed.push(Error::PayloadNotAllowed {
                        opcode: opcode.0,
                        len: payload_len,
                    });
                }
                for kind in ExtKind::ALL {
                    match (info.headers.contains(kind), ext.get(kind).is_some()) {
                        (true, false) => allowed.push(Error::MissingHeader { header: kind }),
                        (false, true) => allowed.push(Error::UnexpectedHeader { header: kind }),
                        _ => {}
                    }
                }
                let udp_len = 8 + 12 + info.headers.size() + payload_len + pad + 4;
                if udp_len > 0xFFFF || (!ipv6 && 20 + udp_len > 0xFFFF) {
                    allowed.push(Error::TooLong { udp_len });
                }
                let l2 = if tagged { 18 } else { 14 };
                total = Some(l2 + if ipv6 { 40 } else { 20 } + udp_len);
            }
        }
        assert_eq!(
            b.buffer_len(payload_len),
            total.ok_or(Error::UnknownOpcode { opcode: opcode.0 }),
            "{ctx}: buffer_len"
        );
        let needed = total.unwrap_or(64);
        let available = if short_buf {
            needed.saturating_sub(1 + short)
        } else {
            needed + short % 16
        };
        if available < needed {
            allowed.push(Error::OutputTooSmall { needed, available });
        }

        let (r, frame) = emit_everywhere(&b, &payload, available, &ctx);
        let n = match r {
            Err(e) => {
                assert!(
                    allowed.contains(&e),
                    "{ctx}: {e:?}, expected one of {allowed:?}"
                );
                return;
            }
            Ok(n) => n,
        };
        assert!(
            allowed.is_empty(),
            "{ctx}: Ok({n}), expected one of {allowed:?}"
        );
        assert_eq!(Some(n), total, "{ctx}: length");

        let f = match parse(&frame) {
            Ok(f) => f,
            Err(e) => panic!("{ctx}: the emitted frame does not parse: {e}"),
        };
        check_frame(&frame, &f, &ctx);
        assert_eq!(check_icrc(&f, &ctx), f.icrc(), "{ctx}: ICRC");
        for e in engines() {
            assert!(e.parse_verified(&frame).is_ok(), "{ctx}: {}", e.backend());
        }
        assert!(f.trailer().is_empty(), "{ctx}: trailer");
        assert!(f.payload() == &payload[..], "{ctx}: payload");
        assert!(f.pad().iter().all(|&p| p == 0), "{ctx}: pad bytes");
        assert_eq!(f.pad().len(), pad, "{ctx}: pad");

        let udp_len = n - f.offsets().l4;
        let expected_ethernet = EthernetRepr {
            ethertype: if ipv6 { ETHERTYPE_IPV6 } else { ETHERTYPE_IPV4 },
            vlan: vlan.map(|t| VlanTag::from_tci(t.tpid, t.tci())),
            ..b.ethernet
        };
        let expected_ip = match b.ip {
            IpRepr::Ipv4(r) => IpRepr::Ipv4(Ipv4Repr {
                protocol: 17,
                payload_len: udp_len,
                ..r
            }),
            IpRepr::Ipv6(r) => IpRepr::Ipv6(Ipv6Repr {
                next_header: 17,
                flow_label: r.flow_label & 0xF_FFFF,
                payload_len: udp_len,
                ..r
            }),
        };
        let mut expected_bth = b.bth;
        expected_bth.pad_count = pad as u8;
        expected_bth.dest_qp &= 0x00FF_FFFF;
        expected_bth.resv6a &= 0x3F;
        expected_bth.resv7 &= 0x7F;
        assert_eq!(f.ethernet(), expected_ethernet, "{ctx}: Ethernet");
        assert_eq!(f.ip(), expected_ip, "{ctx}: IP");
        assert_eq!(
            (f.udp().src_port, f.udp().dst_port, f.udp().payload_len),
            (src_port, ROCE_V2_PORT, udp_len - 8),
            "{ctx}: UDP"
        );
        assert_eq!(f.bth(), expected_bth, "{ctx}: BTH");
        assert_eq!(f.ext(), masked(b.ext), "{ctx}: ETHs");
        assert_eq!(
            f.udp_checksum_ok(),
            udp_sum.then_some(true),
            "{ctx}: UDP checksum"
        );
        if !ipv6 {
            let ok = Ipv4Packet::new_checked(&frame[f.offsets().l3..]).map(|p| p.verify_checksum());
            assert_eq!(ok, Ok(true), "{ctx}: IPv4 checksum");
        }

        // emit(parse(x)) == x.
        let (r, again) = emit_everywhere(&f.builder(), f.payload(), n, &ctx);
        assert_eq!(r, Ok(n), "{ctx}: re-emit");
        assert!(again == frame, "{ctx}: emit(parse(x)) != x");
    }

    /// `crc32` of every backend against `Scalar` and `crc32fast`, and the ICRC against the
    /// rule computed with `crc32fast`.
    ///
    /// Input: `flags` (bit 0: the data is `len` bytes made from the rest of the input instead
    /// of the rest itself, so short inputs reach the long-input loops; bit 1: the first byte is
    /// made an IP version nibble, 4 or 6 by bit 2), the initial CRC state (u32 LE), the data's
    /// offset from a 64-byte boundary, the split-point count (`% 9`), the length (u16 LE,
    /// `% 16385`, used with bit 0), one u16 per split point (`% (len + 1)`); the rest is the
    /// data.
    ///
    /// Checks: for every backend, one pass from the initial state, the pieces between the
    /// split points chained, and the empty input (the state unchanged) equal `crc32fast`
    /// from the same state; `compute_packet` of the data equals `Scalar`'s, and the rule's.
    pub fn rdma_wire_icrc_backends_agree(data: &[u8]) {
        let mut input = Input::new(data);
        let flags = input.byte();
        let init = input.u32();
        let offset = usize::from(input.byte() % 64);
        let splits = usize::from(input.byte() % 9);
        let synthetic_len = usize::from(input.u16()) % 16_385;
        let cuts: Vec<u16> = (0..splits).map(|_| input.u16()).collect();
        let rest = input.rest();
        let len = if flags & 1 != 0 {
            synthetic_len
        } else {
            rest.len()
        };
        let mut buf = vec![0u8; offset + len];
        if flags & 1 != 0 {
            fill(&mut buf[offset..], rest, u64::from(init));
        } else {
            buf[offset..].copy_from_slice(rest);
        }
        if flags & 2 != 0
            && let Some(b) = buf.get_mut(offset)
        {
            *b = (*b & 0x0F) | if flags & 4 != 0 { 0x60 } else { 0x40 };
        }
        let data = &buf[offset..];
        let mut cuts: Vec<usize> = cuts
            .into_iter()
            .map(|c| usize::from(c) % (len + 1))
            .collect();
        cuts.sort_unstable();
        let ctx = format!("len {len} offset {offset} init {init:#x} cuts {cuts:?}");

        assert_eq!(ICRC_SEED, crc32fast::hash(&[0xFF; 8]), "ICRC seed");
        let mut h = crc32fast::Hasher::new_with_initial(init);
        h.update(data);
        let expected = h.finalize();
        assert_eq!(
            Scalar.crc32(init, data),
            expected,
            "{ctx}: scalar != crc32fast"
        );

        let packet = Scalar.compute_packet(data);
        match reference_icrc(data) {
            Some(crc) => assert_eq!(packet, Ok(crc), "{ctx}: scalar ICRC != rule"),
            None => assert!(packet.is_err(), "{ctx}: ICRC of a non-IP packet"),
        }

        for e in engines() {
            let name = e.backend();
            assert_eq!(e.crc32(init, data), expected, "{ctx}: {name} one pass");
            assert_eq!(e.crc32(init, &[]), init, "{ctx}: {name} empty");
            let mut state = init;
            let mut at = 0;
            for &cut in cuts.iter().chain([len].iter()) {
                state = e.crc32(state, &data[at..cut]);
                at = cut;
            }
            assert_eq!(state, expected, "{ctx}: {name} in pieces");
            assert_eq!(e.compute_packet(data), packet, "{ctx}: {name} ICRC");
        }
    }
}
