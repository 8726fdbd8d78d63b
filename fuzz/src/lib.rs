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
];

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
