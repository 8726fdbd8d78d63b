//! Wire types, in the smoltcp style: a `…Packet<T: AsRef<[u8]>>` view per header with
//! getters (and setters when `T: AsMut<[u8]>`), and a `Copy` `…Repr` with `parse`,
//! `buffer_len` and `emit`.
//!
//! # No-panic contract
//!
//! Nothing in this module panics, on any input:
//!
//! - `new_checked` (= `new_unchecked` + `check_len`) is the constructor for untrusted bytes.
//!   After it succeeds, every getter reads the header from the buffer.
//! - `new_unchecked` never fails. On a buffer shorter than the header (only possible through
//!   `new_unchecked`), getters read the missing bytes as zeros and setters leave them
//!   unwritten. Use it for emission into a buffer of at least `buffer_len()` bytes.
//! - `Repr::parse` checks the lengths first and returns a typed [`Error`] with the offset and
//!   sizes; `Repr::emit` writes nothing past its header.
//! - Reserved bits never cause rejection. BTH `Resv6a`/`Resv7` and the AETH syndrome's
//!   reserved bit are kept in the reprs (so re-emitting reproduces them); the reserved bytes
//!   of DETH, XRCETH and RDETH and the CNP's 16 reserved bytes are read past and emitted as
//!   zero.
//!
//! All multi-byte fields are big-endian (network order), except the ICRC (see
//! [`Icrc`](crate::Icrc)).

#![forbid(unsafe_code)]
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

mod bth;
mod ethernet;
mod ext;
mod frame;
mod ip;
mod opcode;
mod psn;
mod udp;

pub use bth::{BthPacket, BthRepr};
pub use ethernet::{
    ETHERTYPE_IPV4, ETHERTYPE_IPV6, EthernetPacket, EthernetRepr, TPID_8021AD, TPID_8021Q, VlanTag,
};
pub use ext::{
    AethPacket, AethRepr, AtomicAckEthPacket, AtomicAckEthRepr, AtomicEthPacket, AtomicEthRepr,
    Credits, DethPacket, DethRepr, Ext, ExtHeaders, ExtKind, ExtRepr, IethPacket, IethRepr,
    ImmDtPacket, ImmDtRepr, NakCode, RdEthPacket, RdEthRepr, RethPacket, RethRepr, RnrTimer,
    Syndrome, XrcEthPacket, XrcEthRepr,
};
pub(crate) use frame::parse_checked;
pub use frame::{Frame, FrameBuilder, Offsets, parse};
pub use ip::{
    IPPROTO_UDP, IpRepr, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, is_ipv6_extension_header,
};
pub use opcode::{OPCODES, Opcode, OpcodeInfo, Operation, Position, Transport};
pub use psn::Psn;
pub use udp::{ROCE_V2_PORT, UdpPacket, UdpRepr};

use crate::Error;

/// `N` bytes at `at`, or zeros where the buffer is short.
#[inline]
pub(crate) fn rd<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    // The common case, a whole field inside the buffer, is one bounds check and one load.
    match buf.get(at..).and_then(<[u8]>::first_chunk::<N>) {
        Some(field) => *field,
        None => rd_short(buf, at),
    }
}

/// [`rd`] for a field that runs past the end of `buf`: the bytes present, then zeros.
#[cold]
#[inline(never)]
fn rd_short<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = buf.get(at..) {
        for (o, s) in out.iter_mut().zip(src) {
            *o = *s;
        }
    }
    out
}

/// Writes `v` at `at`, as much of it as fits.
#[inline]
pub(crate) fn wr<const N: usize>(buf: &mut [u8], at: usize, v: [u8; N]) {
    match buf.get_mut(at..).and_then(<[u8]>::first_chunk_mut::<N>) {
        Some(field) => *field = v,
        None => wr_short(buf, at, v),
    }
}

/// [`wr`] for a field that runs past the end of `buf`: as many bytes as fit.
#[cold]
#[inline(never)]
fn wr_short<const N: usize>(buf: &mut [u8], at: usize, v: [u8; N]) {
    if let Some(dst) = buf.get_mut(at..) {
        for (d, s) in dst.iter_mut().zip(v) {
            *d = s;
        }
    }
}

#[inline]
pub(crate) fn u8_at(buf: &[u8], at: usize) -> u8 {
    let [b] = rd::<1>(buf, at);
    b
}
#[inline]
pub(crate) fn u16_at(buf: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(rd(buf, at))
}
#[inline]
pub(crate) fn u24_at(buf: &[u8], at: usize) -> u32 {
    let [a, b, c] = rd::<3>(buf, at);
    u32::from_be_bytes([0, a, b, c])
}
#[inline]
pub(crate) fn u32_at(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(rd(buf, at))
}
#[inline]
pub(crate) fn u64_at(buf: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(rd(buf, at))
}
#[inline]
pub(crate) fn set_u8(buf: &mut [u8], at: usize, v: u8) {
    wr(buf, at, [v]);
}
#[inline]
pub(crate) fn set_u16(buf: &mut [u8], at: usize, v: u16) {
    wr(buf, at, v.to_be_bytes());
}
/// Writes the low 24 bits of `v`.
#[inline]
pub(crate) fn set_u24(buf: &mut [u8], at: usize, v: u32) {
    let [_, a, b, c] = v.to_be_bytes();
    wr(buf, at, [a, b, c]);
}
#[inline]
pub(crate) fn set_u32(buf: &mut [u8], at: usize, v: u32) {
    wr(buf, at, v.to_be_bytes());
}
#[inline]
pub(crate) fn set_u64(buf: &mut [u8], at: usize, v: u64) {
    wr(buf, at, v.to_be_bytes());
}
/// Sets or clears the `mask` bits of the byte at `at`.
#[inline]
pub(crate) fn set_bits(buf: &mut [u8], at: usize, mask: u8, on: bool) {
    let b = u8_at(buf, at);
    set_u8(buf, at, if on { b | mask } else { b & !mask });
}

/// `Truncated` unless `buf` holds `needed` bytes.
#[inline]
pub(crate) fn need(buf: &[u8], needed: usize, layer: crate::Layer) -> Result<(), Error> {
    let available = buf.len();
    if available < needed {
        Err(Error::Truncated {
            layer,
            offset: 0,
            needed,
            available,
        })
    } else {
        Ok(())
    }
}

/// The struct and the length-checking constructors of a fixed-size header view.
macro_rules! fixed_view {
    ($(#[$doc:meta])* $name:ident, $len:expr, $layer:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name<T: AsRef<[u8]>> {
            buffer: T,
        }

        impl<T: AsRef<[u8]>> $name<T> {
            /// Header length in bytes.
            pub const LEN: usize = $len;

            /// Wraps `buffer` without checking its length (see the module's no-panic
            /// contract).
            pub const fn new_unchecked(buffer: T) -> Self {
                Self { buffer }
            }

            /// Wraps `buffer` after [`check_len`](Self::check_len).
            ///
            /// # Errors
            /// [`Error::Truncated`](crate::Error::Truncated) if `buffer` is shorter than
            /// [`Self::LEN`].
            pub fn new_checked(buffer: T) -> Result<Self, crate::Error> {
                let packet = Self::new_unchecked(buffer);
                packet.check_len()?;
                Ok(packet)
            }

            /// Checks that the buffer holds the whole header.
            ///
            /// # Errors
            /// [`Error::Truncated`](crate::Error::Truncated) (offset 0) if it is shorter
            /// than [`Self::LEN`].
            pub fn check_len(&self) -> Result<(), crate::Error> {
                crate::wire::need(self.buffer.as_ref(), $len, $layer)
            }

            /// The wrapped buffer.
            pub fn into_inner(self) -> T {
                self.buffer
            }
        }
    };
}
pub(crate) use fixed_view;
