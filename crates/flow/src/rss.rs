//! # Toeplitz RSS hash
//!
//! The receive-side-scaling hash of Microsoft's RSS specification ("RSS Hashing Functions",
//! "Verifying the RSS Hash Calculation") and of the Intel 82599 datasheet (§7.1.2.8), as
//! NICs compute it to pick a receive queue: a key `K` of 8 to 52 bytes, an input `D` of at
//! most `len(K) - 4` bytes, and for every input bit `i` that is set (most significant bit of
//! `D[0]` first) the 32 key bits starting at key bit `i` XORed into the result. The hash is
//! linear over GF(2): `h(a ^ b) = h(a) ^ h(b)`.
//!
//! - **Inputs.** Source address, destination address, then (with ports) source port and
//!   destination port, all in network byte order: IPv4 8 or 12 bytes, IPv6 32 or 36 bytes
//!   ([`Fields`]). The protocol is not hashed. [`RssHasher::toeplitz`] takes any bytes.
//! - **Single and bulk.** [`RssHasher::toeplitz`] hashes one input;
//!   [`RssHasher::toeplitz_bulk`] hashes a slice of fixed-width inputs into a slice of
//!   hashes (`Avx512` and `Avx2` work on eight at a time); [`RssHasher::hash_ipv4`],
//!   [`RssHasher::hash_ipv6`] and their `_bulk` forms take [`Ipv4Tuple`]/[`Ipv6Tuple`].
//! - **Redirection table.** [`Reta`] maps a hash to a queue the way a NIC does, by its low
//!   bits (`hash & (entries - 1)`, 1 to 512 entries).
//! - **Symmetric RSS**, both directions of a connection on one queue, two ways:
//!   - [`Symmetric::XorPair`] and [`Symmetric::SortedPair`] transform the tuple before an
//!     ordinary Toeplitz hash, as DPDK 23.11's `RTE_ETH_HASH_FUNCTION_SYMMETRIC_TOEPLITZ`
//!     (each address replaced by `src ^ dst`, each port by `sport ^ dport`) and
//!     `RTE_ETH_HASH_FUNCTION_SYMMETRIC_TOEPLITZ_SORT` (the smaller address first, and
//!     independently the smaller port first) define them. Any key works.
//!   - [`RssKey::SYMMETRIC`], `0x6d5a` repeated (Woo and Park, "Scalable TCP session
//!     monitoring with symmetric receive-side scaling", 2012), makes the plain hash
//!     symmetric. **Caveat:** with a key that repeats every 16 bits, the hash depends only
//!     on the XOR of the input's 16-bit words, so it takes at most 65 536 values and every
//!     pair of inputs with the same XOR-fold collides (any reordering of the 16-bit words,
//!     for one: that is what makes it symmetric). That is fine for picking one of a few
//!     hundred queues and wrong for a flow-table hash.
//!
//! Every backend returns the same hash for the same key and input; the tests run the 16
//! Microsoft verification hashes (IPv4 and IPv6, with and without ports) on each.
//!
//! ```
//! use offload_flow::{Auto, Fields, Ipv4Tuple, Reta, RssHasher, RssKey, Symmetric};
//!
//! let rss = Auto::detect();
//! let key = RssKey::MICROSOFT;
//! // From Microsoft's verification table: 66.9.149.187:2794 -> 161.142.100.80:1766.
//! let t = Ipv4Tuple::new([66, 9, 149, 187], [161, 142, 100, 80], 2794, 1766, 6);
//! assert_eq!(rss.hash_ipv4(&key, &t, Fields::Addresses, Symmetric::Off)?, 0x323e_8fc2);
//! let h = rss.hash_ipv4(&key, &t, Fields::AddressesPorts, Symmetric::Off)?;
//! assert_eq!(h, 0x51cc_c178);
//! assert_eq!(rss.toeplitz(&key, &t.rss_input())?, h);
//!
//! // Many at once: both directions, made symmetric by sorting each pair.
//! let flows = [t, t.reversed()];
//! let mut hashes = [0u32; 2];
//! rss.hash_ipv4_bulk(&key, &flows, Fields::AddressesPorts, Symmetric::SortedPair, &mut hashes)?;
//! assert_eq!(hashes[0], hashes[1]);
//!
//! // A 128-entry table spreading hashes over 4 queues.
//! let reta = Reta::round_robin(128, 4)?;
//! assert_eq!(reta.queue(h), ((h & 127) % 4) as u16);
//! # Ok::<(), offload_flow::Error>(())
//! ```
//!
//! **Backends** (the same [`Backend`] as the flow table):
//!
//! | backend | kernel | per-key data |
//! |---|---|---|
//! | `Scalar` | two 64-bit table reads per input byte (nibble tables) | 1024 B |
//! | `Avx512` | one input: GF(2) affine transforms (`vgf2p8affineqb`), one 512-bit one per 8 input bytes (plus 3); bulk: `Avx2`'s kernel | 448 B |
//! | `Avx2` | carry-less multiply, two per 12 input bytes; bulk: two inputs per ymm (`vpclmulqdq`), eight per step | 64 B |
//! | `Neon` | carry-less multiply, two per 12 input bytes (`pmull`, `pmull2`) | 64 B |
//!
//! The per-key data lives in [`RssKey`] (1592 bytes in all, with the key), computed once by
//! [`RssKey::new`] (or at compile time for the constants); no call allocates or builds
//! tables. `unsafe` is confined to the SIMD backends (the kernel calls and their load and
//! store helpers); this module and `Scalar` forbid it.
//!
//! Millions of hashes per second on the project's x86_64 machine (AMD EPYC, Zen 3, about
//! 3 GHz, shared with other jobs: best of several runs, rounded), one thread, 1024 inputs
//! per bulk call; the byte table is the classic scalar method (one 256-entry table per input
//! byte: 12 KiB per key for IPv4, 36 KiB for IPv6):
//!
//! | input | byte table single / bulk | `Scalar` single / bulk | `Avx2` single / bulk |
//! |---|---|---|---|
//! | IPv4 with ports, 12 B | 250 / 290 | 90 / 100 | 225 / 1200 |
//! | IPv6 with ports, 36 B | 86 / 88 | 36 / 38 | 104 / 470 |
//!
//! `Avx2` bulk is bound by the carry-less multiplier (one 256-bit `vpclmulqdq` per 2 cycles
//! on Zen 3, two products per 12 input bytes). On a Sapphire Rapids class Xeon (one
//! criterion run, `cargo bench -p offload-benches --bench flow -- toeplitz`, 64 inputs per
//! bulk call): byte table 155 / 51 M/s (IPv4 / IPv6, single), `Avx512` single 112 / 105,
//! `Avx2` single 103 / 67, `Avx2` bulk 792 / 384, and a GFNI bulk kernel (two inputs per
//! pass, removed since) 379 / 231; so `Avx512` hashes in bulk with `Avx2`'s kernel.
//! Through the tuple methods, which convert the
//! tuples first, `hash_ipv4_bulk` does about 680 (`Symmetric::Off`) and 320
//! (`SortedPair`), `hash_ipv6_bulk` about 260.

#![forbid(unsafe_code)]

use core::fmt;

use crate::engine::{Auto, Backend, dispatch};
use crate::{Error, Ipv4Tuple, Ipv6Tuple};

/// Bytes in each row of the scalar nibble table: at least the longest key (52 bytes) plus
/// the three bytes an 8-byte window read at the last input byte (`len - 5`) reaches past the
/// key; 64 so that a row's offset is a shift, not a multiplication (measured about 25 %
/// faster than 56-byte rows on 36-byte inputs).
pub(crate) const ROW: usize = 64;

/// Key matrices of the GFNI kernel: one per key byte position a 48-byte input and its
/// 4-byte window can reach (51), rounded up to whole 512-bit vectors of eight.
pub(crate) const MATRICES: usize = 56;

/// The precomputed form of a Toeplitz key: the key itself and what the kernels need.
///
/// - `rows[v]` (`v` = 0..16, 1024 bytes, for `Scalar`): the key's bit string with bit `t`
///   equal to `Σ_b v_b · K[t + b]` over the four bits of the nibble `v` (`v_0` its most
///   significant), zero past the key, stored back to front (byte `q` of the string at index
///   `ROW - 1 - q`, so that a little-endian read is a big-endian one of the string). The
///   hash contribution of a nibble `v` at input bit offset `i` is the 32 bits of the string
///   starting at bit `i`, so one 8-byte read at byte `p` serves both nibbles of input byte
///   `p`.
/// - `bytes`: the key (52 bytes, zero-padded).
/// - `words` (64 bytes, for the carry-less-multiply kernels): for each 12-byte input segment
///   `s` (0..4), `words[2s]` holds key bits `96s - 1 ..= 96s + 62` and `words[2s + 1]` key
///   bits `96s + 63 ..= 96s + 126`, each read least-significant-bit first (bit `u` is the
///   `u`-th key bit of its range; zero before the key's first bit and past its end).
/// - `matrices` (448 bytes, for the GFNI kernel of `Avx512`): `matrices[m]` is the 8x8 bit
///   matrix of key byte position `m` in `vgf2p8affineqb`'s layout, byte `r` (`r = 0` the
///   least significant) holding the 8 key bits starting at key bit `8m + r`, most
///   significant bit first (`K[m] << r | K[m + 1] >> (8 - r)`, zero past the key).
///
/// `size_of::<RssKey>()` is 1592 bytes. `Clone` but not `Copy`, so that a key is not
/// silently duplicated; [`RssKey::MICROSOFT`] and [`RssKey::SYMMETRIC`] are built at compile
/// time.
#[derive(Clone)]
pub struct RssKey {
    words: [u64; 8],
    matrices: [u64; MATRICES],
    rows: [[u8; ROW]; 16],
    bytes: [u8; 52],
    len: u8,
}

/// The 40-byte key of Microsoft's verification table (also Intel's and many drivers'
/// default).
const MICROSOFT_BYTES: [u8; 40] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// `0x6d5a` repeated 20 times.
const SYMMETRIC_BYTES: [u8; 40] = {
    let mut k = [0u8; 40];
    let mut i = 0;
    while i < 40 {
        k[i] = 0x6d;
        k[i + 1] = 0x5a;
        i += 2;
    }
    k
};

impl RssKey {
    /// The shortest key accepted, in bytes.
    pub const MIN_LEN: usize = 8;
    /// The longest key accepted, in bytes (the longest any NIC in DPDK uses).
    pub const MAX_LEN: usize = 52;

    /// `6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa`:
    /// the 40-byte key of Microsoft's RSS verification table and the Intel 82599 datasheet,
    /// the default of many drivers.
    pub const MICROSOFT: RssKey = RssKey::build(&MICROSOFT_BYTES);

    /// `0x6d5a` repeated 20 times (40 bytes): with this key the hash of a tuple equals the
    /// hash of the reversed tuple, for IPv4 and IPv6, with and without ports.
    ///
    /// **Caveat:** because the key repeats every 16 bits, the hash is a function of the XOR
    /// of the input's 16-bit words alone: at most 65 536 distinct values, and any two inputs
    /// with the same XOR-fold collide. Use it to pick a queue, never as a flow-table hash;
    /// [`Symmetric`] with an ordinary key avoids the problem.
    pub const SYMMETRIC: RssKey = RssKey::build(&SYMMETRIC_BYTES);

    /// A key from its bytes.
    ///
    /// # Errors
    /// [`Error::KeyLength`] unless `bytes` is 8 to 52 bytes long.
    pub const fn new(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() < Self::MIN_LEN || bytes.len() > Self::MAX_LEN {
            return Err(Error::KeyLength { len: bytes.len() });
        }
        Ok(Self::build(bytes))
    }

    /// The tables for `bytes`, whose length the caller has checked (at most
    /// [`RssKey::MAX_LEN`] bytes are used).
    const fn build(bytes: &[u8]) -> Self {
        let len = if bytes.len() > Self::MAX_LEN {
            Self::MAX_LEN
        } else {
            bytes.len()
        };
        // The key, zero-padded, with one more zero byte for the shifts below.
        let mut k = [0u8; ROW + 1];
        let mut i = 0;
        while i < len {
            k[i] = bytes[i];
            i += 1;
        }

        let mut rows = [[0u8; ROW]; 16];
        let mut v = 0;
        while v < 16 {
            let mut q = 0;
            while q < ROW {
                let mut x = 0u8;
                let mut b = 0;
                while b < 4 {
                    if v & (8 >> b) != 0 {
                        // Byte q of the key moved b bits toward its start.
                        x ^= if b == 0 {
                            k[q]
                        } else {
                            (k[q] << b) | (k[q + 1] >> (8 - b))
                        };
                    }
                    b += 1;
                }
                rows[v][ROW - 1 - q] = x;
                q += 1;
            }
            v += 1;
        }

        let mut words = [0u64; 8];
        let mut w = 0;
        while w < 8 {
            // Segment w / 2: word A from key bit 96s - 1, word B from key bit 96s + 63. `bit`
            // is the key bit index plus one (so that it never goes below zero).
            let first = 96 * (w / 2) + 64 * (w % 2);
            let mut u = 0;
            while u < 64 {
                let bit = first + u;
                if bit >= 1 && bit - 1 < 8 * len {
                    let i = bit - 1;
                    words[w] |= (((k[i / 8] >> (7 - i % 8)) & 1) as u64) << u;
                }
                u += 1;
            }
            w += 1;
        }

        let mut matrices = [0u64; MATRICES];
        let mut m = 0;
        while m < MATRICES {
            // `k` has ROW + 1 = 65 > MATRICES bytes, so `k[m + 1]` is in range.
            let mut r = 0;
            while r < 8 {
                let row = if r == 0 {
                    k[m]
                } else {
                    (k[m] << r) | (k[m + 1] >> (8 - r))
                };
                matrices[m] |= (row as u64) << (8 * r);
                r += 1;
            }
            m += 1;
        }

        #[expect(
            clippy::cast_possible_truncation,
            reason = "len <= MAX_LEN = 52 fits in u8"
        )]
        let len = len as u8;
        let mut key = [0u8; 52];
        let mut i = 0;
        while i < 52 {
            key[i] = k[i];
            i += 1;
        }
        Self {
            words,
            matrices,
            rows,
            bytes: key,
            len,
        }
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        let (key, _) = self.bytes.split_at(usize::from(self.len));
        key
    }

    /// The longest input this key can hash: its length minus 4 bytes (12 for a 16-byte key,
    /// 36 for the 40-byte [`RssKey::MICROSOFT`]).
    pub const fn max_input(&self) -> usize {
        self.len as usize - 4
    }

    /// The scalar nibble table (see the type's docs).
    pub(crate) const fn rows(&self) -> &[[u8; ROW]; 16] {
        &self.rows
    }

    /// The key words of the carry-less-multiply kernels (see the type's docs).
    #[cfg_attr(
        not(any(
            all(target_arch = "x86_64", target_feature = "sse2"),
            target_arch = "aarch64"
        )),
        expect(
            dead_code,
            reason = "read by the SIMD backends, which this target has none of"
        )
    )]
    pub(crate) const fn words(&self) -> &[u64; 8] {
        &self.words
    }

    /// The key matrices of the GFNI kernel (see the type's docs).
    #[cfg_attr(
        not(all(target_arch = "x86_64", target_feature = "sse2")),
        expect(dead_code, reason = "read by the Avx512 backend, x86_64 only")
    )]
    pub(crate) const fn matrices(&self) -> &[u64; MATRICES] {
        &self.matrices
    }
}

impl PartialEq for RssKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for RssKey {}

/// Prints the length and the key in hex (RSS keys are configuration, not secrets).
impl fmt::Debug for RssKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RssKey({} bytes: ", self.len)?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// Which fields of a tuple are hashed, in Microsoft's terms the "IPv4"/"IPv6" hash types
/// (addresses) and the "TCP/IPv4"/"TCP/IPv6" ones (addresses and ports; NICs use the same
/// input for UDP and SCTP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Fields {
    /// Source address, destination address: 8 bytes for IPv4, 32 for IPv6.
    Addresses,
    /// Source address, destination address, source port, destination port: 12 bytes for
    /// IPv4, 36 for IPv6.
    #[default]
    AddressesPorts,
}

impl Fields {
    /// Input bytes for an IPv4 tuple: 8 or 12.
    pub const fn ipv4_len(self) -> usize {
        match self {
            Fields::Addresses => 8,
            Fields::AddressesPorts => 12,
        }
    }

    /// Input bytes for an IPv6 tuple: 32 or 36.
    pub const fn ipv6_len(self) -> usize {
        match self {
            Fields::Addresses => 32,
            Fields::AddressesPorts => 36,
        }
    }
}

/// A transform of the tuple in front of the Toeplitz hash that makes both directions of a
/// flow hash alike, with any key, as DPDK 23.11 defines its symmetric hash functions
/// (`enum rte_eth_hash_function`).
///
/// Both give up some spread in exchange:
/// - `XorPair` maps every tuple with the same `src ^ dst` and `sport ^ dport` to one input
///   (a flow from an address to itself hashes as all zeros);
/// - `SortedPair` sorts the addresses and the ports independently, so `A:1 -> B:2` and
///   `A:2 -> B:1` (or `B:1 -> A:2`) share an input.
///
/// The protocol is not hashed either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Symmetric {
    /// The tuple as it is (plain Toeplitz).
    #[default]
    Off,
    /// `RTE_ETH_HASH_FUNCTION_SYMMETRIC_TOEPLITZ`: both addresses replaced by
    /// `src ^ dst` and both ports by `sport ^ dport`; the input keeps its layout and length.
    XorPair,
    /// `RTE_ETH_HASH_FUNCTION_SYMMETRIC_TOEPLITZ_SORT`: if `src > dst` the addresses are
    /// swapped, and if `sport > dport` the ports are swapped (addresses compared as
    /// network-order numbers, ports as numbers).
    SortedPair,
}

impl Symmetric {
    /// The IPv4 tuple this transform hashes in place of `t` (the protocol is kept).
    pub fn apply_ipv4(self, t: &Ipv4Tuple) -> Ipv4Tuple {
        let (src, dst, sp, dp) = (t.src(), t.dst(), t.src_port(), t.dst_port());
        match self {
            Symmetric::Off => *t,
            Symmetric::XorPair => {
                let x = core::array::from_fn(|i| src[i] ^ dst[i]);
                Ipv4Tuple::new(x, x, sp ^ dp, sp ^ dp, t.proto())
            }
            Symmetric::SortedPair => {
                let (a, b) = if src <= dst { (src, dst) } else { (dst, src) };
                Ipv4Tuple::new(a, b, sp.min(dp), sp.max(dp), t.proto())
            }
        }
    }

    /// The IPv6 tuple this transform hashes in place of `t` (the protocol is kept).
    pub fn apply_ipv6(self, t: &Ipv6Tuple) -> Ipv6Tuple {
        let (src, dst, sp, dp) = (t.src(), t.dst(), t.src_port(), t.dst_port());
        match self {
            Symmetric::Off => *t,
            Symmetric::XorPair => {
                let x = core::array::from_fn(|i| src[i] ^ dst[i]);
                Ipv6Tuple::new(x, x, sp ^ dp, sp ^ dp, t.proto())
            }
            Symmetric::SortedPair => {
                let (a, b) = if src <= dst { (src, dst) } else { (dst, src) };
                Ipv6Tuple::new(a, b, sp.min(dp), sp.max(dp), t.proto())
            }
        }
    }
}

/// `Ok` when `key` can hash `len` bytes.
pub(crate) fn check_input(key: &RssKey, len: usize) -> Result<(), Error> {
    let max = key.max_input();
    if len > max {
        return Err(Error::InputTooLong { len, max });
    }
    Ok(())
}

/// `Ok` when `key` can hash inputs of `width` bytes and `out` holds `count` hashes.
pub(crate) fn check_bulk(
    key: &RssKey,
    width: usize,
    count: usize,
    available: usize,
) -> Result<(), Error> {
    check_input(key, width)?;
    if available < count {
        return Err(Error::OutputTooSmall {
            needed: count,
            available,
        });
    }
    Ok(())
}

/// Tuples converted per step by the bulk tuple methods (a stack buffer of this many inputs).
const TUPLE_STEP: usize = 64;

/// The Toeplitz kernels. Implemented by `Scalar`, `Avx512`, `Avx2`, `Neon` and [`Auto`];
/// every method gives identical results on every backend.
///
/// Lengths are checked before any hash is computed: on an error nothing has been written.
pub trait RssHasher: Copy + fmt::Debug {
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// The Toeplitz hash of `input` under `key`.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] if `input` is longer than [`RssKey::max_input`].
    fn toeplitz(&self, key: &RssKey, input: &[u8]) -> Result<u32, Error>;

    /// The Toeplitz hashes of `inputs`, into `out[..inputs.len()]` (the rest of `out` is
    /// left alone). Equal to [`RssHasher::toeplitz`] on each input.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] if `N` is more than [`RssKey::max_input`];
    /// [`Error::OutputTooSmall`] if `out` is shorter than `inputs`.
    fn toeplitz_bulk<const N: usize>(
        &self,
        key: &RssKey,
        inputs: &[[u8; N]],
        out: &mut [u32],
    ) -> Result<(), Error>;

    /// The RSS hash of an IPv4 tuple: the Toeplitz hash of its addresses (and ports), after
    /// the `symmetric` transform.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] if the key is too short for the input (8 bytes need a key of
    /// at least 12, 12 bytes one of at least 16).
    fn hash_ipv4(
        &self,
        key: &RssKey,
        tuple: &Ipv4Tuple,
        fields: Fields,
        symmetric: Symmetric,
    ) -> Result<u32, Error> {
        let len = fields.ipv4_len();
        match symmetric {
            // The tuple's own bytes: nothing to build.
            Symmetric::Off => self.toeplitz(key, &tuple.as_bytes()[..len]),
            _ => self.toeplitz(key, &ipv4_input(tuple, symmetric)[..len]),
        }
    }

    /// The RSS hash of an IPv6 tuple: the Toeplitz hash of its addresses (and ports), after
    /// the `symmetric` transform.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] if the key is too short for the input (32 bytes need a key
    /// of at least 36, 36 bytes one of at least 40).
    fn hash_ipv6(
        &self,
        key: &RssKey,
        tuple: &Ipv6Tuple,
        fields: Fields,
        symmetric: Symmetric,
    ) -> Result<u32, Error> {
        let len = fields.ipv6_len();
        match symmetric {
            Symmetric::Off => self.toeplitz(key, &tuple.as_bytes()[..len]),
            _ => self.toeplitz(key, &ipv6_input(tuple, symmetric)[..len]),
        }
    }

    /// [`RssHasher::hash_ipv4`] of every tuple, into `out[..tuples.len()]`, through
    /// [`RssHasher::toeplitz_bulk`] in steps of 64 tuples.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] as for `hash_ipv4`; [`Error::OutputTooSmall`] if `out` is
    /// shorter than `tuples`.
    fn hash_ipv4_bulk(
        &self,
        key: &RssKey,
        tuples: &[Ipv4Tuple],
        fields: Fields,
        symmetric: Symmetric,
        out: &mut [u32],
    ) -> Result<(), Error> {
        check_bulk(key, fields.ipv4_len(), tuples.len(), out.len())?;
        match fields {
            Fields::Addresses => bulk_tuples::<_, _, 8, 16, 12>(
                self,
                key,
                tuples,
                symmetric,
                out,
                Ipv4Tuple::as_bytes,
                transform_v4,
            ),
            Fields::AddressesPorts => bulk_tuples::<_, _, 12, 16, 12>(
                self,
                key,
                tuples,
                symmetric,
                out,
                Ipv4Tuple::as_bytes,
                transform_v4,
            ),
        }
    }

    /// [`RssHasher::hash_ipv6`] of every tuple, into `out[..tuples.len()]`, through
    /// [`RssHasher::toeplitz_bulk`] in steps of 64 tuples.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] as for `hash_ipv6`; [`Error::OutputTooSmall`] if `out` is
    /// shorter than `tuples`.
    fn hash_ipv6_bulk(
        &self,
        key: &RssKey,
        tuples: &[Ipv6Tuple],
        fields: Fields,
        symmetric: Symmetric,
        out: &mut [u32],
    ) -> Result<(), Error> {
        check_bulk(key, fields.ipv6_len(), tuples.len(), out.len())?;
        match fields {
            Fields::Addresses => bulk_tuples::<_, _, 32, 40, 36>(
                self,
                key,
                tuples,
                symmetric,
                out,
                Ipv6Tuple::as_bytes,
                transform_v6,
            ),
            Fields::AddressesPorts => bulk_tuples::<_, _, 36, 40, 36>(
                self,
                key,
                tuples,
                symmetric,
                out,
                Ipv6Tuple::as_bytes,
                transform_v6,
            ),
        }
    }
}

/// Converts `tuples` (laid out as `bytes` gives them) to `N`-byte inputs, the first `N`
/// bytes of what `full` makes of them, [`TUPLE_STEP`] at a time into a stack buffer, and
/// hashes each step with `toeplitz_bulk`. The caller has checked the lengths.
///
/// Two buffers take turns: step `k + 1` is converted before step `k` is hashed, so that the
/// hash kernel's wide loads find the converted bytes in the cache rather than in flight in
/// the store buffer, where loads spanning several stores cannot be forwarded and wait
/// (converting and hashing one step after the other ran at half the speed, AMD Zen 3).
fn bulk_tuples<H, T, const N: usize, const B: usize, const F: usize>(
    hasher: &H,
    key: &RssKey,
    tuples: &[T],
    symmetric: Symmetric,
    out: &mut [u32],
    bytes: impl Fn(&T) -> &[u8; B],
    full: impl Fn(&[u8; B], Symmetric) -> [u8; F],
) -> Result<(), Error>
where
    H: RssHasher,
{
    let mut bufs = [[0u8; TUPLE_STEP * 36 + 8]; 2];
    let mut steps = tuples.chunks(TUPLE_STEP).zip(out.chunks_mut(TUPLE_STEP));
    let Some((mut step, mut hashes)) = steps.next() else {
        return Ok(());
    };
    let convert = |tuples: &[T], buf: &mut [u8]| {
        // Untransformed inputs are copied with their tuple's trailing bytes (one wide copy
        // instead of several narrow ones); the next input overwrites them, the last spills
        // into the 8 spare bytes.
        let spill = B.min(N + 8);
        let at = (0..).step_by(N);
        match symmetric {
            Symmetric::Off => {
                for (i, t) in at.zip(tuples) {
                    buf[i..i + spill].copy_from_slice(&bytes(t)[..spill]);
                }
            }
            Symmetric::XorPair => {
                for (i, t) in at.zip(tuples) {
                    buf[i..i + N].copy_from_slice(&full(bytes(t), Symmetric::XorPair)[..N]);
                }
            }
            Symmetric::SortedPair => {
                for (i, t) in at.zip(tuples) {
                    buf[i..i + N].copy_from_slice(&full(bytes(t), Symmetric::SortedPair)[..N]);
                }
            }
        }
    };
    convert(step, &mut bufs[0]);
    for k in 0.. {
        let (first, second) = bufs.split_at_mut(1);
        let (ready, next) = if k % 2 == 0 {
            (&first[0], &mut second[0])
        } else {
            (&second[0], &mut first[0])
        };
        let following = steps.next();
        if let Some((tuples, _)) = following {
            convert(tuples, next);
        }
        let (inputs, _) = ready[..step.len() * N].as_chunks::<N>();
        hasher.toeplitz_bulk(key, inputs, hashes)?;
        match following {
            Some((s, h)) => (step, hashes) = (s, h),
            None => break,
        }
    }
    Ok(())
}

/// The 12-byte input (addresses, ports) of an IPv4 tuple after the transform.
fn ipv4_input(t: &Ipv4Tuple, symmetric: Symmetric) -> [u8; 12] {
    // One call per arm: with a variable transform the result is assembled byte by byte.
    match symmetric {
        Symmetric::Off => transform_v4(t.as_bytes(), Symmetric::Off),
        Symmetric::XorPair => transform_v4(t.as_bytes(), Symmetric::XorPair),
        Symmetric::SortedPair => transform_v4(t.as_bytes(), Symmetric::SortedPair),
    }
}

/// The 36-byte input (addresses, ports) of an IPv6 tuple after the transform.
fn ipv6_input(t: &Ipv6Tuple, symmetric: Symmetric) -> [u8; 36] {
    match symmetric {
        Symmetric::Off => transform_v6(t.as_bytes(), Symmetric::Off),
        Symmetric::XorPair => transform_v6(t.as_bytes(), Symmetric::XorPair),
        Symmetric::SortedPair => transform_v6(t.as_bytes(), Symmetric::SortedPair),
    }
}

/// The transforms of [`Symmetric::apply_ipv4`] on a tuple's bytes (addresses at 0 and 4,
/// ports at 8 and 10, network order), as numbers.
#[inline(always)]
fn transform_v4(b: &[u8; 16], symmetric: Symmetric) -> [u8; 12] {
    let word = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let ports = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
    let (s, d, p, q) = pairs(word(0), word(4), ports(8), ports(10), symmetric);
    // Stored as 8 + 4 bytes, the reads of the `Avx2` single-input kernel, which can then
    // take them straight from the store buffer.
    let addresses = u64::from(s.swap_bytes()) | u64::from(d.swap_bytes()) << 32;
    let ports = u32::from(p.swap_bytes()) | u32::from(q.swap_bytes()) << 16;
    let mut out = [0u8; 12];
    out[..8].copy_from_slice(&addresses.to_le_bytes());
    out[8..].copy_from_slice(&ports.to_le_bytes());
    out
}

/// The transforms of [`Symmetric::apply_ipv6`] on a tuple's bytes (addresses at 0 and 16,
/// ports at 32 and 34, network order), as numbers.
#[inline(always)]
fn transform_v6(b: &[u8; 40], symmetric: Symmetric) -> [u8; 36] {
    let (src, rest) = b.split_first_chunk::<16>().unwrap_or((&[0; 16], &[]));
    let (dst, rest) = rest.split_first_chunk::<16>().unwrap_or((&[0; 16], &[]));
    let ports = |i: usize| {
        rest.get(i..i + 2)
            .map_or(0, |p| u16::from_be_bytes([p[0], p[1]]))
    };
    let (s, d, p, q) = pairs(
        u128::from_be_bytes(*src),
        u128::from_be_bytes(*dst),
        ports(0),
        ports(2),
        symmetric,
    );
    let mut out = [0u8; 36];
    out[..16].copy_from_slice(&s.to_be_bytes());
    out[16..32].copy_from_slice(&d.to_be_bytes());
    out[32..34].copy_from_slice(&p.to_be_bytes());
    out[34..].copy_from_slice(&q.to_be_bytes());
    out
}

/// Source, destination, source port, destination port after the transform.
#[inline(always)]
fn pairs<A: Copy + Ord + core::ops::BitXor<Output = A>>(
    src: A,
    dst: A,
    sp: u16,
    dp: u16,
    symmetric: Symmetric,
) -> (A, A, u16, u16) {
    match symmetric {
        Symmetric::Off => (src, dst, sp, dp),
        Symmetric::XorPair => (src ^ dst, src ^ dst, sp ^ dp, sp ^ dp),
        Symmetric::SortedPair => (src.min(dst), src.max(dst), sp.min(dp), sp.max(dp)),
    }
}

impl RssHasher for Auto {
    fn backend(&self) -> Backend {
        dispatch!(self, e => RssHasher::backend(e))
    }

    #[inline]
    fn toeplitz(&self, key: &RssKey, input: &[u8]) -> Result<u32, Error> {
        dispatch!(self, e => e.toeplitz(key, input))
    }

    #[inline]
    fn toeplitz_bulk<const N: usize>(
        &self,
        key: &RssKey,
        inputs: &[[u8; N]],
        out: &mut [u32],
    ) -> Result<(), Error> {
        dispatch!(self, e => e.toeplitz_bulk(key, inputs, out))
    }
}

/// A NIC's redirection table (RETA, "indirection table" in Microsoft's terms): a power of
/// two of entries, 1 to 512, each a queue number; a hash selects entry
/// `hash & (entries - 1)`, i.e. its low bits, as NICs do (128 entries on Intel 82599, 512
/// on X710/E810).
#[derive(Clone, PartialEq, Eq)]
pub struct Reta {
    table: [u16; Reta::MAX_ENTRIES],
    entries: u16,
}

impl Reta {
    /// The most entries a table holds.
    pub const MAX_ENTRIES: usize = 512;

    /// `entries` entries filled `0, 1, …, queues - 1, 0, 1, …`, the default layout of
    /// drivers.
    ///
    /// # Errors
    /// [`Error::RetaSize`] unless `entries` is a power of two from 1 to 512;
    /// [`Error::NoQueues`] if `queues` is 0.
    pub fn round_robin(entries: usize, queues: u16) -> Result<Self, Error> {
        let entries16 = Self::check_size(entries)?;
        if queues == 0 {
            return Err(Error::NoQueues);
        }
        let mut table = [0u16; Self::MAX_ENTRIES];
        for (slot, q) in table[..entries].iter_mut().zip((0..queues).cycle()) {
            *slot = q;
        }
        Ok(Self {
            table,
            entries: entries16,
        })
    }

    /// A table holding `queues`, entry by entry.
    ///
    /// # Errors
    /// [`Error::RetaSize`] unless `queues.len()` is a power of two from 1 to 512.
    pub fn from_queues(queues: &[u16]) -> Result<Self, Error> {
        let entries = Self::check_size(queues.len())?;
        let mut table = [0u16; Self::MAX_ENTRIES];
        table[..queues.len()].copy_from_slice(queues);
        Ok(Self { table, entries })
    }

    /// `entries` as a `u16`, if it is a valid table size.
    fn check_size(entries: usize) -> Result<u16, Error> {
        match u16::try_from(entries) {
            Ok(n) if n.is_power_of_two() && entries <= Self::MAX_ENTRIES => Ok(n),
            _ => Err(Error::RetaSize { entries }),
        }
    }

    /// The queue of a packet with RSS hash `hash`: entry `hash & (entries - 1)`.
    #[inline]
    pub fn queue(&self, hash: u32) -> u16 {
        let mask = usize::from(self.entries - 1);
        // Masked below the table size (at most 512), so in range.
        self.table[hash as usize & mask]
    }

    /// Sets entry `index` to `queue`.
    ///
    /// # Errors
    /// [`Error::RetaIndex`] if `index` is not below [`Reta::entries`].
    pub fn set(&mut self, index: usize, queue: u16) -> Result<(), Error> {
        match self.as_mut_slice().get_mut(index) {
            Some(slot) => {
                *slot = queue;
                Ok(())
            }
            None => Err(Error::RetaIndex {
                index,
                entries: usize::from(self.entries),
            }),
        }
    }

    /// Entry `index`, if it exists.
    pub fn get(&self, index: usize) -> Option<u16> {
        self.as_slice().get(index).copied()
    }

    /// The number of entries (a power of two, 1 to 512).
    pub fn entries(&self) -> usize {
        usize::from(self.entries)
    }

    /// The entries, in order.
    pub fn as_slice(&self) -> &[u16] {
        &self.table[..usize::from(self.entries)]
    }

    fn as_mut_slice(&mut self) -> &mut [u16] {
        &mut self.table[..usize::from(self.entries)]
    }
}

impl fmt::Debug for Reta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reta")
            .field("entries", &self.entries)
            .field("table", &self.as_slice())
            .finish()
    }
}
