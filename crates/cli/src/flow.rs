//! `offload rss` and the flow engine's rows of the line-rate report.

use std::hint::black_box;
use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;

use clap::Args;
use offload_flow::{Auto, Backend, Bucket, Entry, FlowId, FlowTable, Ipv4Tuple, RssHasher, RssKey};

use crate::CmdResult;
use crate::bench::{Case, Runner, WIRE_BYTES_64B, pseudo_random};
use crate::engines::pick_backend;

/// `offload rss --key HEX SRC DST [SPORT DPORT]`.
#[derive(Debug, Args)]
pub(crate) struct RssArgs {
    /// RSS key in hex, 8 to 52 bytes (default: the 40-byte Microsoft verification key,
    /// 6d5a56da...beac01fa).
    #[arg(long, value_name = "HEX")]
    key: Option<String>,
    /// Toeplitz backend: auto (the fastest this CPU has) or one by name.
    #[arg(long, default_value = "auto", value_name = "B")]
    backend: String,
    /// Source address, IPv4 or IPv6.
    src: IpAddr,
    /// Destination address, same family as SRC.
    dst: IpAddr,
    /// Source port (with DPORT: the 4-tuple hash).
    sport: Option<u16>,
    /// Destination port.
    dport: Option<u16>,
}

/// Decodes hex (either case, optional `0x`, `:` or `-` between bytes allowed).
pub(crate) fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let t = text.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let digits: Vec<u8> = t.bytes().filter(|b| !matches!(b, b':' | b'-')).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("'{text}' has an odd number of hex digits"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).unwrap_or("");
            u8::from_str_radix(s, 16).map_err(|_| format!("'{text}' is not hex"))
        })
        .collect()
}

/// The Toeplitz input for the tuple: addresses, then the ports if given (network order).
fn rss_input(a: &RssArgs) -> Result<Vec<u8>, String> {
    let mut input = match (a.src, a.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => [s.octets().as_slice(), &d.octets()].concat(),
        (IpAddr::V6(s), IpAddr::V6(d)) => [s.octets().as_slice(), &d.octets()].concat(),
        _ => return Err("SRC and DST must both be IPv4 or both IPv6".into()),
    };
    match (a.sport, a.dport) {
        (Some(s), Some(d)) => {
            input.extend_from_slice(&s.to_be_bytes());
            input.extend_from_slice(&d.to_be_bytes());
        }
        (None, None) => {}
        _ => return Err("give both SPORT and DPORT, or neither".into()),
    }
    Ok(input)
}

pub(crate) fn run_rss(a: &RssArgs) -> CmdResult {
    let key = match &a.key {
        Some(hex) => {
            let bytes = parse_hex(hex).map_err(|e| format!("--key: {e}"))?;
            RssKey::new(&bytes).map_err(|e| format!("--key: {e}"))?
        }
        None => RssKey::MICROSOFT,
    };
    let hasher = pick_backend(
        &a.backend,
        &Backend::ALL,
        Backend::name,
        Auto::with_backend,
        Auto::detect,
    )?;
    let input = rss_input(a)?;
    let hash = hasher.toeplitz(&key, &input).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{hash:08x}").map_err(|e| format!("writing to stdout: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Tuples hashed per call in the Toeplitz rows.
const RSS_BATCH: usize = 64;

/// Lookups per call in the flow-table rows (four bulk calls of 64).
const LOOKUPS_PER_CALL: usize = 256;

/// Probe keys a runner cycles through: the classifier's, and at least the flow table's.
const PROBES: usize = 1 << 14;

/// `n` IPv4 5-tuples from the report's deterministic stream (distinct with overwhelming
/// probability: 13 random bytes each; a repeat would only be skipped at insert).
fn tuples(n: usize, seed: u64) -> Vec<Ipv4Tuple> {
    let bytes = pseudo_random(n * 16, seed);
    bytes
        .chunks_exact(16)
        .map(|b| {
            Ipv4Tuple::new(
                [b[0], b[1], b[2], b[3]],
                [b[4], b[5], b[6], b[7]],
                u16::from_le_bytes([b[8], b[9]]),
                u16::from_le_bytes([b[10], b[11]]),
                if b[12] & 1 == 0 { 6 } else { 17 },
            )
        })
        .collect()
}

/// The flow engine's rows: Toeplitz (IPv4 12-byte and IPv6 36-byte inputs, one at a time
/// and in bulk) and exact-match bulk lookups of hits at 64K and 1M flows, per backend. Each
/// row counts a 64-byte frame on the wire per hash or lookup, so Gb/s is the line rate of
/// minimum-size packets one core keeps up with.
pub(crate) fn bench_cases(cases: &mut Vec<Case>) {
    for backend in Backend::ALL {
        if Auto::with_backend(backend).is_none() {
            continue;
        }
        for (op, v6, bulk) in [
            ("toeplitz ipv4", false, false),
            ("toeplitz ipv4 bulk", false, true),
            ("toeplitz ipv6", true, false),
            ("toeplitz ipv6 bulk", true, true),
        ] {
            cases.push(Case {
                engine: "flow",
                op: op.into(),
                size: 64,
                bytes: RSS_BATCH * WIRE_BYTES_64B,
                items: RSS_BATCH,
                backend: backend.name(),
                make: Box::new(move || rss_runner(backend, v6, bulk)),
            });
        }
        cases.push(Case {
            engine: "flow",
            op: format!("classifier, {CLASS_SUBTABLES} masks"),
            size: 64,
            bytes: LOOKUPS_PER_CALL * WIRE_BYTES_64B,
            items: LOOKUPS_PER_CALL,
            backend: backend.name(),
            make: Box::new(move || classifier_runner(backend)),
        });
        for (flows, label) in [(1 << 16, "64K"), (1 << 20, "1M")] {
            cases.push(Case {
                engine: "flow",
                op: format!("lookup bulk, {label} flows"),
                size: 64,
                bytes: LOOKUPS_PER_CALL * WIRE_BYTES_64B,
                items: LOOKUPS_PER_CALL,
                backend: backend.name(),
                make: Box::new(move || lookup_runner(backend, flows)),
            });
        }
    }
}

fn rss_runner(backend: Backend, v6: bool, bulk: bool) -> Runner {
    let hasher = Auto::with_backend(backend).unwrap_or_default();
    let key = RssKey::MICROSOFT;
    let raw = pseudo_random(RSS_BATCH * 36, 0x7055);
    let v4: Vec<[u8; 12]> = raw
        .chunks_exact(36)
        .map(|c| std::array::from_fn(|i| c[i]))
        .collect();
    let v6_inputs: Vec<[u8; 36]> = raw
        .chunks_exact(36)
        .map(|c| std::array::from_fn(|i| c[i]))
        .collect();
    let mut out = vec![0u32; RSS_BATCH];
    Box::new(move || {
        match (v6, bulk) {
            (false, true) => hasher.toeplitz_bulk(&key, black_box(&v4), &mut out).ok(),
            (true, true) => hasher
                .toeplitz_bulk(&key, black_box(&v6_inputs), &mut out)
                .ok(),
            (false, false) => {
                for (o, i) in out.iter_mut().zip(black_box(&v4)) {
                    *o = hasher.toeplitz(&key, i).unwrap_or(0);
                }
                Some(())
            }
            (true, false) => {
                for (o, i) in out.iter_mut().zip(black_box(&v6_inputs)) {
                    *o = hasher.toeplitz(&key, i).unwrap_or(0);
                }
                Some(())
            }
        };
        black_box(&mut out);
    })
}

fn lookup_runner(backend: Backend, flows: usize) -> Runner {
    let lookup = Auto::with_backend(backend).unwrap_or_default();
    let keys = tuples(flows, 0xF10);
    let capacity = flows + flows / 16;
    // The table borrows its storage for the runner's whole life, and a runner must own what
    // it uses: the storage is leaked, once per row and measuring thread (at most about 50 MB
    // for the 1M-flow row), and freed when the report ends.
    let buckets: &'static mut [Bucket] =
        Vec::leak(vec![
            Bucket::EMPTY;
            FlowTable::<Ipv4Tuple, u32>::buckets_for(capacity)
        ]);
    let entries: &'static mut [Entry<Ipv4Tuple, u32>] = Vec::leak(vec![Entry::default(); capacity]);
    let mut table = FlowTable::new(lookup, 0x5EED, buckets, entries).ok();
    if let Some(t) = table.as_mut() {
        for (i, k) in keys.iter().enumerate() {
            t.insert(*k, u32::try_from(i).unwrap_or(0), 0).ok();
        }
    }
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    // As many probes as flows (at most 1M), so that a row meets its table as cold as
    // traffic over that many flows would; 16K keys cycled through would keep a 1M-flow
    // table's touched buckets in cache and report a rate no such data plane sees (2.5
    // times higher at 1M flows here).
    let stream = flows.clamp(PROBES, 1 << 20) / LOOKUPS_PER_CALL * LOOKUPS_PER_CALL;
    let probes: Vec<Ipv4Tuple> = (0..stream)
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            keys[usize::try_from(rng % flows as u64).unwrap_or(0)]
        })
        .collect();
    let mut at = 0;
    let mut out = [None::<FlowId>; 64];
    Box::new(move || {
        let Some(t) = table.as_ref() else { return };
        let mut hits = 0u32;
        for chunk in probes[at..at + LOOKUPS_PER_CALL].chunks(64) {
            hits += t
                .lookup_bulk(black_box(chunk), &mut out)
                .unwrap_or(0)
                .count_ones();
        }
        at = (at + LOOKUPS_PER_CALL) % stream;
        black_box(hits);
    })
}

/// Subtables (distinct masks) of the classifier row, and rules in each.
const CLASS_SUBTABLES: usize = 20;
const CLASS_RULES: usize = 1000;

/// Twenty IPv4 5-tuple masks (16-byte keys: src, dst, sport, dport, proto, pad): source and
/// destination prefixes of 8 to 32 bits, with or without ports and protocol, as a megaflow
/// cache holds them.
pub(crate) fn class_masks() -> Vec<[u8; 16]> {
    let prefix =
        |bits: u32| -> [u8; 4] { (u32::MAX.checked_shl(32 - bits).unwrap_or(0)).to_be_bytes() };
    let mut masks = Vec::new();
    for (s, d) in [
        (8, 0),
        (16, 0),
        (24, 0),
        (32, 0),
        (16, 16),
        (24, 16),
        (24, 24),
        (32, 24),
        (32, 32),
        (0, 24),
    ] {
        for ports in [false, true] {
            let (sp, dp) = (prefix(s), prefix(d));
            let p = if ports { 0xFF } else { 0 };
            masks.push([
                sp[0], sp[1], sp[2], sp[3], dp[0], dp[1], dp[2], dp[3], p, p, p, p, 0xFF, 0, 0, 0,
            ]);
        }
    }
    masks.truncate(CLASS_SUBTABLES);
    masks
}

/// A classifier rule's (masked key, mask).
pub(crate) type MaskedRule = ([u8; 16], [u8; 16]);

/// Rules (key already masked) for every mask, and packets that hit them uniformly: each
/// packet is a rule's key with the bits outside its mask randomised.
pub(crate) fn class_data(per_mask: usize, packets: usize) -> (Vec<MaskedRule>, Vec<[u8; 16]>) {
    let masks = class_masks();
    let raw = pseudo_random(masks.len() * per_mask * 16, 0xC1A5);
    let rules: Vec<MaskedRule> = masks
        .iter()
        .enumerate()
        .flat_map(|(m, mask)| {
            let raw = &raw;
            (0..per_mask).map(move |r| {
                let at = (m * per_mask + r) * 16;
                let key: [u8; 16] = std::array::from_fn(|i| raw[at + i] & mask[i]);
                (key, *mask)
            })
        })
        .collect();
    let noise = pseudo_random(packets * 16, 0x9ACE);
    let picks = pseudo_random(packets * 4, 0x91C4);
    let packets = (0..packets)
        .map(|p| {
            let pick = u32::from_le_bytes([
                picks[4 * p],
                picks[4 * p + 1],
                picks[4 * p + 2],
                picks[4 * p + 3],
            ]);
            let (key, mask) = rules[pick as usize % rules.len()];
            std::array::from_fn(|i| key[i] | (noise[16 * p + i] & !mask[i]))
        })
        .collect();
    (rules, packets)
}

fn classifier_runner(backend: Backend) -> Runner {
    use offload_flow::{Classifier, Key, Mode, Rule, RuleEntry, Subtable};

    let lookup = Auto::with_backend(backend).unwrap_or_default();
    let (rules, packets) = class_data(CLASS_RULES, PROBES);
    let capacity = rules.len() + rules.len() / 16;
    // Leaked for the runner's life, as the flow-table rows do.
    let subtables: &'static mut [Subtable<16>] = Vec::leak(vec![Subtable::EMPTY; 32]);
    let filter: &'static mut [u64] =
        Vec::leak(vec![0; Classifier::<16>::filter_words_for(capacity)]);
    let buckets: &'static mut [Bucket] =
        Vec::leak(vec![
            Bucket::EMPTY;
            FlowTable::<Ipv4Tuple, u32>::buckets_for(capacity)
        ]);
    let entries: &'static mut [RuleEntry<16, u32>] =
        Vec::leak(vec![RuleEntry::default(); capacity]);
    let mut cls = Classifier::new(
        lookup,
        0x5EED,
        Mode::FirstMatch,
        subtables,
        filter,
        buckets,
        entries,
    )
    .ok();
    if let Some(c) = cls.as_mut() {
        for (i, (key, mask)) in rules.iter().enumerate() {
            c.insert(Rule::new(
                Key(*key),
                *mask,
                0,
                u32::try_from(i).unwrap_or(0),
            ))
            .ok();
        }
    }
    let packets: Vec<Key<16>> = packets.into_iter().map(Key).collect();
    let mut at = 0;
    let mut out = [None; 64];
    Box::new(move || {
        let Some(c) = cls.as_mut() else { return };
        let mut hits = 0u32;
        for chunk in packets[at..at + LOOKUPS_PER_CALL].chunks(64) {
            hits += c
                .lookup_batch(black_box(chunk), &mut out)
                .unwrap_or(0)
                .count_ones();
        }
        at = (at + LOOKUPS_PER_CALL) % PROBES;
        black_box(hits);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex() {
        assert_eq!(parse_hex("0x6d5A").unwrap(), [0x6d, 0x5a]);
        assert_eq!(parse_hex("6d:5a-01").unwrap(), [0x6d, 0x5a, 1]);
        assert!(parse_hex("6d5").is_err());
        assert!(parse_hex("zz").is_err());
    }
}
