//! The crate's one error type.

#![forbid(unsafe_code)]

use crate::wire::ExtKind;

/// The header (or region) an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Layer {
    /// Ethernet II header (with its 802.1Q tag, if any).
    Ethernet,
    /// IPv4 header.
    Ipv4,
    /// IPv6 header.
    Ipv6,
    /// UDP header.
    Udp,
    /// Base Transport Header.
    Bth,
    /// One extended transport header.
    Ext(ExtKind),
    /// Payload and pad.
    Payload,
    /// The 4-byte invariant CRC.
    Icrc,
}

impl Layer {
    /// Short name (`"IPv4"`, `"BTH"`, `"RETH"`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Layer::Ethernet => "Ethernet",
            Layer::Ipv4 => "IPv4",
            Layer::Ipv6 => "IPv6",
            Layer::Udp => "UDP",
            Layer::Bth => "BTH",
            Layer::Ext(kind) => kind.name(),
            Layer::Payload => "payload",
            Layer::Icrc => "ICRC",
        }
    }
}

impl core::fmt::Display for Layer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that can go wrong, with the offsets and sizes needed to find the cause.
///
/// Offsets are from the start of the buffer given to the failing call (for
/// [`parse`](crate::parse), the start of the Ethernet frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A header (or the region a length field declares) runs past the end of the data.
    Truncated {
        /// The header being read.
        layer: Layer,
        /// Where it starts.
        offset: usize,
        /// Bytes it needs from `offset`.
        needed: usize,
        /// Bytes there are from `offset`.
        available: usize,
    },
    /// The EtherType (after any 802.1Q tag) is neither IPv4 (0x0800) nor IPv6 (0x86DD).
    UnsupportedEtherType {
        /// The EtherType found.
        ethertype: u16,
    },
    /// The IP version nibble does not match the EtherType.
    IpVersion {
        /// The version found.
        version: u8,
    },
    /// The IPv4 IHL is below 5 (a header shorter than 20 bytes).
    Ipv4HeaderLen {
        /// IHL × 4.
        header_len: usize,
    },
    /// The IPv4 header carries options (IHL > 5); RoCE v2 over IPv4 with options is not
    /// supported (its ICRC is not defined by any public implementation).
    Ipv4Options {
        /// IHL × 4.
        header_len: usize,
    },
    /// The IPv4 packet is a fragment (MF set or a non-zero fragment offset).
    Ipv4Fragment {
        /// Fragment offset in 8-byte units.
        fragment_offset: u16,
        /// The More Fragments flag.
        more_fragments: bool,
    },
    /// The IPv6 next header is an extension header; they are not supported.
    Ipv6ExtensionHeader {
        /// The next-header value found.
        next_header: u8,
    },
    /// The IP payload is not UDP.
    NotUdp {
        /// IPv4 protocol or IPv6 next header.
        protocol: u8,
    },
    /// The UDP destination port is not 4791.
    NotRoceV2Port {
        /// The destination port found.
        port: u16,
    },
    /// A length field is inconsistent: smaller than its own header, or larger than the
    /// enclosing length.
    BadLength {
        /// The header whose length field is wrong.
        layer: Layer,
        /// The length the field declares.
        declared: usize,
        /// The smallest acceptable value.
        min: usize,
        /// The largest acceptable value.
        max: usize,
    },
    /// BTH TVer is not 0.
    UnsupportedTver {
        /// The transport header version found.
        tver: u8,
    },
    /// The BTH opcode is reserved, vendor-specific or not defined for its transport.
    UnknownOpcode {
        /// The opcode.
        opcode: u8,
    },
    /// The BTH pad count exceeds the bytes between the headers and the ICRC.
    PadExceedsPayload {
        /// The pad count.
        pad: usize,
        /// Bytes between the last header and the ICRC.
        available: usize,
    },
    /// The opcode carries no payload, but bytes sit between its headers and the ICRC.
    PayloadNotAllowed {
        /// The opcode.
        opcode: u8,
        /// The bytes found (payload plus pad).
        len: usize,
    },
    /// The frame builder was not given an extended header its opcode needs.
    MissingHeader {
        /// The header.
        header: ExtKind,
    },
    /// The frame builder was given an extended header its opcode does not carry.
    UnexpectedHeader {
        /// The header.
        header: ExtKind,
    },
    /// The packet would not fit the 16-bit IP/UDP length fields.
    TooLong {
        /// The UDP length it would need.
        udp_len: usize,
    },
    /// The output buffer is too small.
    OutputTooSmall {
        /// Bytes the frame needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// The invariant CRC does not match the packet.
    IcrcMismatch {
        /// The ICRC computed over the packet.
        computed: u32,
        /// The ICRC stored in it (read little-endian).
        stored: u32,
    },
}

impl Error {
    /// The same error with its offset moved by `base` (for errors found in a sub-slice).
    pub(crate) const fn shifted(self, base: usize) -> Self {
        match self {
            Error::Truncated {
                layer,
                offset,
                needed,
                available,
            } => Error::Truncated {
                layer,
                offset: offset.saturating_add(base),
                needed,
                available,
            },
            other => other,
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Error::Truncated {
                layer,
                offset,
                needed,
                available,
            } => write!(
                f,
                "truncated {layer} at offset {offset}: needs {needed} bytes, {available} available"
            ),
            Error::UnsupportedEtherType { ethertype } => write!(
                f,
                "EtherType {ethertype:#06x} is not IPv4 or IPv6, so this is not RoCE v2"
            ),
            Error::IpVersion { version } => {
                write!(f, "IP version {version} does not match the EtherType")
            }
            Error::Ipv4HeaderLen { header_len } => {
                write!(f, "IPv4 header length {header_len} is below 20")
            }
            Error::Ipv4Options { header_len } => write!(
                f,
                "IPv4 header of {header_len} bytes has options, which RoCE v2 parsing does not \
                 support"
            ),
            Error::Ipv4Fragment {
                fragment_offset,
                more_fragments,
            } => write!(
                f,
                "IPv4 fragment (offset {fragment_offset}, more fragments {more_fragments}): \
                 reassemble before parsing"
            ),
            Error::Ipv6ExtensionHeader { next_header } => write!(
                f,
                "IPv6 extension header {next_header} is not supported before the UDP header"
            ),
            Error::NotUdp { protocol } => {
                write!(
                    f,
                    "IP protocol {protocol} is not UDP, so this is not RoCE v2"
                )
            }
            Error::NotRoceV2Port { port } => write!(
                f,
                "UDP destination port {port} is not 4791, so this is not RoCE v2"
            ),
            Error::BadLength {
                layer,
                declared,
                min,
                max,
            } => write!(
                f,
                "{layer} length field says {declared}, must be between {min} and {max}"
            ),
            Error::UnsupportedTver { tver } => {
                write!(f, "BTH transport version {tver} is not supported (only 0)")
            }
            Error::UnknownOpcode { opcode } => {
                write!(f, "BTH opcode {opcode:#04x} is reserved or not supported")
            }
            Error::PadExceedsPayload { pad, available } => write!(
                f,
                "BTH pad count {pad} exceeds the {available} bytes before the ICRC"
            ),
            Error::PayloadNotAllowed { opcode, len } => write!(
                f,
                "opcode {opcode:#04x} carries no payload, but {len} bytes precede the ICRC"
            ),
            Error::MissingHeader { header } => write!(
                f,
                "the opcode needs a {} header: set it in the builder",
                header.name()
            ),
            Error::UnexpectedHeader { header } => write!(
                f,
                "the opcode carries no {} header: leave it unset in the builder",
                header.name()
            ),
            Error::TooLong { udp_len } => write!(
                f,
                "UDP length {udp_len} exceeds the 16-bit length fields: send a shorter payload"
            ),
            Error::OutputTooSmall { needed, available } => write!(
                f,
                "output buffer has {available} bytes, the frame needs {needed}"
            ),
            Error::IcrcMismatch { computed, stored } => write!(
                f,
                "ICRC mismatch: computed {computed:#010x}, stored {stored:#010x}"
            ),
        }
    }
}

impl core::error::Error for Error {}
