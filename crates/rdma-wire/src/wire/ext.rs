//! The extended transport headers (ETHs) that follow the BTH, the AETH syndrome, and the
//! set of headers an opcode carries.

use super::{
    Psn, fixed_view, need, rd, set_u8, set_u24, set_u32, set_u64, u8_at, u24_at, u32_at, u64_at,
};
use crate::{Error, Layer};

/// One kind of extended transport header. The declaration order is the wire order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ExtKind {
    /// Reliable Datagram ETH (4 bytes): EE context.
    RdEth,
    /// Datagram ETH (8 bytes): Q_Key, source QP.
    Deth,
    /// XRC ETH (4 bytes): XRC SRQ.
    XrcEth,
    /// RDMA ETH (16 bytes): VA, R_Key, DMA length.
    Reth,
    /// Atomic ETH (28 bytes): VA, R_Key, swap/add data, compare data.
    AtomicEth,
    /// ACK ETH (4 bytes): syndrome, MSN.
    Aeth,
    /// Atomic ACK ETH (8 bytes): original remote data.
    AtomicAckEth,
    /// Immediate data (4 bytes).
    ImmDt,
    /// Invalidate ETH (4 bytes): R_Key.
    Ieth,
    /// The 16 reserved bytes of a RoCE v2 CNP (emitted as zero, ignored on receive).
    CnpPadding,
}

impl ExtKind {
    /// Every kind, in wire order.
    pub const ALL: [ExtKind; 10] = [
        ExtKind::RdEth,
        ExtKind::Deth,
        ExtKind::XrcEth,
        ExtKind::Reth,
        ExtKind::AtomicEth,
        ExtKind::Aeth,
        ExtKind::AtomicAckEth,
        ExtKind::ImmDt,
        ExtKind::Ieth,
        ExtKind::CnpPadding,
    ];

    /// Header length in bytes.
    pub const fn size(self) -> usize {
        match self {
            ExtKind::RdEth | ExtKind::XrcEth | ExtKind::Aeth | ExtKind::ImmDt | ExtKind::Ieth => 4,
            ExtKind::Deth | ExtKind::AtomicAckEth => 8,
            ExtKind::Reth | ExtKind::CnpPadding => 16,
            ExtKind::AtomicEth => 28,
        }
    }

    /// Name as in the IBA spec and Wireshark (`"RETH"`, `"AtomicETH"`, …).
    pub const fn name(self) -> &'static str {
        match self {
            ExtKind::RdEth => "RDETH",
            ExtKind::Deth => "DETH",
            ExtKind::XrcEth => "XRCETH",
            ExtKind::Reth => "RETH",
            ExtKind::AtomicEth => "AtomicETH",
            ExtKind::Aeth => "AETH",
            ExtKind::AtomicAckEth => "AtomicAckETH",
            ExtKind::ImmDt => "ImmDt",
            ExtKind::Ieth => "IETH",
            ExtKind::CnpPadding => "CNP padding",
        }
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// The total size of the headers of a 5-bit subset of [`ExtKind::ALL`]: the first table for
/// bits 0-4 of an [`ExtHeaders`], the second for bits 5-9 (no sum exceeds 255).
#[expect(
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    reason = "compile-time table: the indices are below the array lengths and the sums below 256"
)]
const EXT_SIZES: [[u8; 32]; 2] = {
    let mut t = [[0u8; 32]; 2];
    let mut half = 0;
    while half < 2 {
        let mut set = 0;
        while set < 32 {
            let mut total = 0;
            let mut bit = 0;
            while bit < 5 {
                if set & (1 << bit) != 0 {
                    total += ExtKind::ALL[half * 5 + bit].size();
                }
                bit += 1;
            }
            t[half][set] = total as u8;
            set += 1;
        }
        half += 1;
    }
    t
};

/// A set of extended headers (which ones an opcode carries), iterated in wire order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ExtHeaders(u16);

impl ExtHeaders {
    /// No extended header.
    pub const NONE: ExtHeaders = ExtHeaders(0);

    /// The set plus `kind`.
    pub const fn with(self, kind: ExtKind) -> Self {
        Self(self.0 | kind.bit())
    }

    /// Whether `kind` is in the set.
    pub const fn contains(self, kind: ExtKind) -> bool {
        self.0 & kind.bit() != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Total bytes of the headers in the set.
    #[inline]
    pub const fn size(self) -> usize {
        // Two lookups (bits 0-4 and bits 5-9) instead of a step per header: `parse` asks
        // for the size of every frame's headers.
        let [lo, hi] = EXT_SIZES;
        #[expect(
            clippy::indexing_slicing,
            reason = "5-bit indices into 32-entry tables"
        )]
        let (l, h) = (
            lo[(self.0 & 31) as usize],
            hi[((self.0 >> 5) & 31) as usize],
        );
        (l as usize).wrapping_add(h as usize)
    }

    /// The headers, in wire order.
    pub fn iter(self) -> impl Iterator<Item = ExtKind> + Clone {
        ExtKind::ALL.into_iter().filter(move |k| self.contains(*k))
    }
}

fixed_view!(
    /// A view of an RDETH (4 bytes).
    RdEthPacket,
    4,
    Layer::Ext(ExtKind::RdEth)
);
fixed_view!(
    /// A view of a DETH (8 bytes).
    DethPacket,
    8,
    Layer::Ext(ExtKind::Deth)
);
fixed_view!(
    /// A view of an XRCETH (4 bytes).
    XrcEthPacket,
    4,
    Layer::Ext(ExtKind::XrcEth)
);
fixed_view!(
    /// A view of a RETH (16 bytes).
    RethPacket,
    16,
    Layer::Ext(ExtKind::Reth)
);
fixed_view!(
    /// A view of an AtomicETH (28 bytes, no alignment padding).
    AtomicEthPacket,
    28,
    Layer::Ext(ExtKind::AtomicEth)
);
fixed_view!(
    /// A view of an AETH (4 bytes).
    AethPacket,
    4,
    Layer::Ext(ExtKind::Aeth)
);
fixed_view!(
    /// A view of an AtomicAckETH (8 bytes).
    AtomicAckEthPacket,
    8,
    Layer::Ext(ExtKind::AtomicAckEth)
);
fixed_view!(
    /// A view of an ImmDt (4 bytes).
    ImmDtPacket,
    4,
    Layer::Ext(ExtKind::ImmDt)
);
fixed_view!(
    /// A view of an IETH (4 bytes).
    IethPacket,
    4,
    Layer::Ext(ExtKind::Ieth)
);

/// Getters (on any buffer) and setters (on mutable ones) for big-endian fields at fixed
/// offsets; `u24` fields are the low 24 bits of a `u32`.
macro_rules! fields {
    ($view:ident { $($(#[$doc:meta])* $get:ident / $set:ident : $ty:ident @ $off:expr;)* }) => {
        impl<T: AsRef<[u8]>> $view<T> {
            $($(#[$doc])* pub fn $get(&self) -> fields!(@ty $ty) {
                fields!(@rd $ty, self.buffer.as_ref(), $off)
            })*
        }
        impl<T: AsRef<[u8]> + AsMut<[u8]>> $view<T> {
            $(
                #[doc = concat!("Sets [`", stringify!($get), "`](Self::", stringify!($get), ").")]
                pub fn $set(&mut self, v: fields!(@ty $ty)) {
                    fields!(@wr $ty, self.buffer.as_mut(), $off, v);
                }
            )*
        }
    };
    (@ty u8) => { u8 };
    (@ty u24) => { u32 };
    (@ty u32) => { u32 };
    (@ty u64) => { u64 };
    (@rd u8, $b:expr, $o:expr) => { u8_at($b, $o) };
    (@rd u24, $b:expr, $o:expr) => { u24_at($b, $o) };
    (@rd u32, $b:expr, $o:expr) => { u32_at($b, $o) };
    (@rd u64, $b:expr, $o:expr) => { u64_at($b, $o) };
    (@wr u8, $b:expr, $o:expr, $v:expr) => { set_u8($b, $o, $v) };
    (@wr u24, $b:expr, $o:expr, $v:expr) => { set_u24($b, $o, $v) };
    (@wr u32, $b:expr, $o:expr, $v:expr) => { set_u32($b, $o, $v) };
    (@wr u64, $b:expr, $o:expr, $v:expr) => { set_u64($b, $o, $v) };
}

fields!(RdEthPacket {
    /// End-to-end context (24 bits).
    ee_context / set_ee_context: u24 @ 1;
});
fields!(DethPacket {
    /// Queue key.
    q_key / set_q_key: u32 @ 0;
    /// Source QP (24 bits).
    src_qp / set_src_qp: u24 @ 5;
});
fields!(XrcEthPacket {
    /// XRC shared receive queue (24 bits).
    xrc_srq / set_xrc_srq: u24 @ 1;
});
fields!(RethPacket {
    /// Virtual address.
    va / set_va: u64 @ 0;
    /// Remote key.
    r_key / set_r_key: u32 @ 8;
    /// DMA length.
    dma_len / set_dma_len: u32 @ 12;
});
fields!(AtomicEthPacket {
    /// Virtual address.
    va / set_va: u64 @ 0;
    /// Remote key.
    r_key / set_r_key: u32 @ 8;
    /// Swap (CmpSwap) or add (FetchAdd) data.
    swap_add / set_swap_add: u64 @ 12;
    /// Compare data (CmpSwap).
    compare / set_compare: u64 @ 20;
});
fields!(AethPacket {
    /// Syndrome byte (see [`Syndrome`]).
    syndrome / set_syndrome: u8 @ 0;
    /// Message sequence number (24 bits).
    msn / set_msn: u24 @ 1;
});
fields!(AtomicAckEthPacket {
    /// The remote data before the atomic operation.
    orig_remote_data / set_orig_remote_data: u64 @ 0;
});
fields!(ImmDtPacket {
    /// Immediate data (opaque, big-endian on the wire).
    imm / set_imm: u32 @ 0;
});
fields!(IethPacket {
    /// The R_Key to invalidate.
    r_key / set_r_key: u32 @ 0;
});

/// RDETH fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RdEthRepr {
    /// End-to-end context (24 bits).
    pub ee_context: u32,
}
/// DETH fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DethRepr {
    /// Queue key.
    pub q_key: u32,
    /// Source QP (24 bits).
    pub src_qp: u32,
}
/// XRCETH fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct XrcEthRepr {
    /// XRC SRQ number (24 bits).
    pub xrc_srq: u32,
}
/// RETH fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RethRepr {
    /// Virtual address.
    pub va: u64,
    /// Remote key.
    pub r_key: u32,
    /// DMA length.
    pub dma_len: u32,
}
/// AtomicETH fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AtomicEthRepr {
    /// Virtual address.
    pub va: u64,
    /// Remote key.
    pub r_key: u32,
    /// Swap (CmpSwap) or add (FetchAdd) data.
    pub swap_add: u64,
    /// Compare data.
    pub compare: u64,
}
/// AETH fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AethRepr {
    /// The raw syndrome byte (reserved bit 7 kept); decode with [`syndrome`](Self::syndrome).
    pub syndrome: u8,
    /// Message sequence number (24 bits, same arithmetic as the PSN).
    pub msn: Psn,
}
/// AtomicAckETH fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AtomicAckEthRepr {
    /// The remote data before the atomic operation.
    pub orig_remote_data: u64,
}
/// ImmDt fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ImmDtRepr {
    /// Immediate data.
    pub imm: u32,
}
/// IETH fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IethRepr {
    /// The R_Key to invalidate.
    pub r_key: u32,
}

impl AethRepr {
    /// The decoded syndrome.
    pub const fn syndrome(&self) -> Syndrome {
        Syndrome::decode(self.syndrome)
    }
}

/// ACK credit count (AETH syndrome type ACK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Credits {
    /// Credit code 0..=30 and the number of receive WQEs it stands for.
    Count {
        /// The 5-bit code.
        code: u8,
        /// Credits (0, 1, 2, 3, 4, 6, 8, 12, … 32768).
        credits: u16,
    },
    /// Code 31: no credit information (end-to-end flow control off).
    Invalid,
}

const CREDITS: [u16; 31] = [
    0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536,
    2048, 3072, 4096, 6144, 8192, 12288, 16384, 24576, 32768,
];

/// RNR NAK timer, in microseconds, for codes 0..=31 (code 0 is the longest, 655.36 ms).
const RNR_MICROS: [u32; 32] = [
    655_360, 10, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960, 1280, 1920, 2560, 3840,
    5120, 7680, 10_240, 15_360, 20_480, 30_720, 40_960, 61_440, 81_920, 122_880, 163_840, 245_760,
    327_680, 491_520,
];

/// The minimum RNR NAK timer (AETH syndrome type RNR NAK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RnrTimer {
    /// The 5-bit code.
    pub code: u8,
    /// The delay it stands for, in microseconds.
    pub micros: u32,
}

/// AETH NAK codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NakCode {
    /// 0: PSN sequence error.
    PsnSequenceError,
    /// 1: invalid request.
    InvalidRequest,
    /// 2: remote access error.
    RemoteAccessError,
    /// 3: remote operational error.
    RemoteOperationalError,
    /// 4: invalid RD request.
    InvalidRdRequest,
    /// 5..=31: reserved.
    Reserved(u8),
}

/// A decoded AETH syndrome: bit 7 reserved (ignored), bits 6-5 the type, bits 4-0 the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Syndrome {
    /// Type 00: ACK, with the credit count.
    Ack(Credits),
    /// Type 01: receiver not ready, with the timer.
    RnrNak(RnrTimer),
    /// Type 11: NAK.
    Nak(NakCode),
    /// Type 10: reserved; the 5-bit value.
    Reserved(u8),
}

impl Syndrome {
    /// Decodes a syndrome byte (bit 7 is ignored).
    #[expect(
        clippy::indexing_slicing,
        reason = "value is 5 bits and below 31 for CREDITS; RNR_MICROS has 32 entries"
    )]
    pub const fn decode(byte: u8) -> Self {
        let value = byte & 0x1F;
        match (byte >> 5) & 3 {
            0 => Syndrome::Ack(if value == 31 {
                Credits::Invalid
            } else {
                Credits::Count {
                    code: value,
                    credits: CREDITS[value as usize],
                }
            }),
            1 => Syndrome::RnrNak(RnrTimer {
                code: value,
                micros: RNR_MICROS[value as usize],
            }),
            3 => Syndrome::Nak(match value {
                0 => NakCode::PsnSequenceError,
                1 => NakCode::InvalidRequest,
                2 => NakCode::RemoteAccessError,
                3 => NakCode::RemoteOperationalError,
                4 => NakCode::InvalidRdRequest,
                v => NakCode::Reserved(v),
            }),
            _ => Syndrome::Reserved(value),
        }
    }

    /// The syndrome byte (bit 7 clear).
    pub const fn encode(self) -> u8 {
        match self {
            Syndrome::Ack(Credits::Count { code, .. }) => code & 0x1F,
            Syndrome::Ack(Credits::Invalid) => 0x1F,
            Syndrome::RnrNak(t) => 0x20 | (t.code & 0x1F),
            Syndrome::Reserved(v) => 0x40 | (v & 0x1F),
            Syndrome::Nak(c) => {
                0x60 | match c {
                    NakCode::PsnSequenceError => 0,
                    NakCode::InvalidRequest => 1,
                    NakCode::RemoteAccessError => 2,
                    NakCode::RemoteOperationalError => 3,
                    NakCode::InvalidRdRequest => 4,
                    NakCode::Reserved(v) => v & 0x1F,
                }
            }
        }
    }
}

/// One parsed extended header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExtRepr {
    /// RDETH.
    RdEth(RdEthRepr),
    /// DETH.
    Deth(DethRepr),
    /// XRCETH.
    XrcEth(XrcEthRepr),
    /// RETH.
    Reth(RethRepr),
    /// AtomicETH.
    AtomicEth(AtomicEthRepr),
    /// AETH.
    Aeth(AethRepr),
    /// AtomicAckETH.
    AtomicAckEth(AtomicAckEthRepr),
    /// ImmDt.
    ImmDt(ImmDtRepr),
    /// IETH.
    Ieth(IethRepr),
    /// The CNP's reserved bytes.
    CnpPadding,
}

impl ExtRepr {
    /// Which header this is.
    pub const fn kind(&self) -> ExtKind {
        match self {
            ExtRepr::RdEth(_) => ExtKind::RdEth,
            ExtRepr::Deth(_) => ExtKind::Deth,
            ExtRepr::XrcEth(_) => ExtKind::XrcEth,
            ExtRepr::Reth(_) => ExtKind::Reth,
            ExtRepr::AtomicEth(_) => ExtKind::AtomicEth,
            ExtRepr::Aeth(_) => ExtKind::Aeth,
            ExtRepr::AtomicAckEth(_) => ExtKind::AtomicAckEth,
            ExtRepr::ImmDt(_) => ExtKind::ImmDt,
            ExtRepr::Ieth(_) => ExtKind::Ieth,
            ExtRepr::CnpPadding => ExtKind::CnpPadding,
        }
    }
}

/// The extended headers of one packet: each present one is `Some`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ext {
    /// RDETH (RD).
    pub rdeth: Option<RdEthRepr>,
    /// DETH (RD requests, UD).
    pub deth: Option<DethRepr>,
    /// XRCETH (XRC requests).
    pub xrceth: Option<XrcEthRepr>,
    /// RETH (RDMA WRITE First/Only, READ request).
    pub reth: Option<RethRepr>,
    /// AtomicETH (CmpSwap, FetchAdd).
    pub atomiceth: Option<AtomicEthRepr>,
    /// AETH (read responses, ACKs).
    pub aeth: Option<AethRepr>,
    /// AtomicAckETH (atomic ACK).
    pub atomicacketh: Option<AtomicAckEthRepr>,
    /// ImmDt (… with immediate).
    pub immdt: Option<ImmDtRepr>,
    /// IETH (SEND with invalidate).
    pub ieth: Option<IethRepr>,
    /// The CNP's 16 reserved bytes.
    pub cnp_padding: bool,
}

impl Ext {
    /// The header of `kind`, if present.
    pub const fn get(&self, kind: ExtKind) -> Option<ExtRepr> {
        match kind {
            ExtKind::RdEth => match self.rdeth {
                Some(r) => Some(ExtRepr::RdEth(r)),
                None => None,
            },
            ExtKind::Deth => match self.deth {
                Some(r) => Some(ExtRepr::Deth(r)),
                None => None,
            },
            ExtKind::XrcEth => match self.xrceth {
                Some(r) => Some(ExtRepr::XrcEth(r)),
                None => None,
            },
            ExtKind::Reth => match self.reth {
                Some(r) => Some(ExtRepr::Reth(r)),
                None => None,
            },
            ExtKind::AtomicEth => match self.atomiceth {
                Some(r) => Some(ExtRepr::AtomicEth(r)),
                None => None,
            },
            ExtKind::Aeth => match self.aeth {
                Some(r) => Some(ExtRepr::Aeth(r)),
                None => None,
            },
            ExtKind::AtomicAckEth => match self.atomicacketh {
                Some(r) => Some(ExtRepr::AtomicAckEth(r)),
                None => None,
            },
            ExtKind::ImmDt => match self.immdt {
                Some(r) => Some(ExtRepr::ImmDt(r)),
                None => None,
            },
            ExtKind::Ieth => match self.ieth {
                Some(r) => Some(ExtRepr::Ieth(r)),
                None => None,
            },
            ExtKind::CnpPadding => {
                if self.cnp_padding {
                    Some(ExtRepr::CnpPadding)
                } else {
                    None
                }
            }
        }
    }

    /// Sets (replaces) one header.
    #[inline]
    pub fn set(&mut self, header: ExtRepr) {
        match header {
            ExtRepr::RdEth(r) => self.rdeth = Some(r),
            ExtRepr::Deth(r) => self.deth = Some(r),
            ExtRepr::XrcEth(r) => self.xrceth = Some(r),
            ExtRepr::Reth(r) => self.reth = Some(r),
            ExtRepr::AtomicEth(r) => self.atomiceth = Some(r),
            ExtRepr::Aeth(r) => self.aeth = Some(r),
            ExtRepr::AtomicAckEth(r) => self.atomicacketh = Some(r),
            ExtRepr::ImmDt(r) => self.immdt = Some(r),
            ExtRepr::Ieth(r) => self.ieth = Some(r),
            ExtRepr::CnpPadding => self.cnp_padding = true,
        }
    }

    /// The set of present headers.
    pub fn headers(&self) -> ExtHeaders {
        ExtKind::ALL
            .into_iter()
            .filter(|k| self.get(*k).is_some())
            .fold(ExtHeaders::NONE, ExtHeaders::with)
    }

    /// The present headers, in wire order.
    pub fn iter(&self) -> impl Iterator<Item = ExtRepr> + '_ {
        ExtKind::ALL.into_iter().filter_map(|k| self.get(k))
    }

    /// Reads the headers of `set`, in wire order, from the start of `buf`. Returns them and
    /// the bytes they took.
    ///
    /// # Errors
    /// [`Error::Truncated`] (offset relative to `buf`) if one does not fit.
    #[inline]
    pub fn parse(set: ExtHeaders, buf: &[u8]) -> Result<(Ext, usize), Error> {
        let mut ext = Ext::default();
        let len = ext.read_into(set, buf)?;
        Ok((ext, len))
    }

    /// [`parse`](Self::parse) into `self`, which must be empty (`Ext::default()`): sets the
    /// headers of `set` and returns the bytes they took. On error `self` is unspecified.
    #[inline]
    pub(crate) fn read_into(&mut self, set: ExtHeaders, buf: &[u8]) -> Result<usize, Error> {
        let size = set.size();
        if buf.len() < size {
            return Err(Self::truncation(set, buf));
        }
        self.fill(set, buf);
        Ok(size)
    }

    /// The headers of `set`, read from the start of `buf`, which the caller has checked holds
    /// them all (as for [`fill`](Self::fill)).
    #[inline(always)]
    pub(crate) fn read(set: ExtHeaders, buf: &[u8]) -> Self {
        let mut ext = Self::default();
        ext.fill(set, buf);
        ext
    }

    /// Sets the headers of `set` in `self` (which must be empty), read from the start of
    /// `buf`, which the caller has checked holds them all (`set.size()` bytes; missing bytes
    /// would read as zeros).
    #[inline(always)]
    pub(crate) fn fill(&mut self, set: ExtHeaders, buf: &[u8]) {
        // In wire order, lowest bit first.
        let mut bits = set.0;
        let mut at = 0usize;
        while bits != 0 {
            let index = bits.trailing_zeros();
            bits &= bits.wrapping_sub(1);
            let Some(&kind) = ExtKind::ALL.get(index as usize) else {
                break;
            };
            let rest = buf.get(at..).unwrap_or(&[]);
            self.set(read_one(kind, rest));
            at = at.saturating_add(kind.size());
        }
    }

    /// The error for a `buf` too short for the headers of `set`: the first one that does not
    /// fit, with its offset.
    #[cold]
    #[inline(never)]
    pub(crate) fn truncation(set: ExtHeaders, buf: &[u8]) -> Error {
        let mut at = 0usize;
        for kind in set.iter() {
            let rest = buf.get(at..).unwrap_or(&[]);
            if let Err(e) = need(rest, kind.size(), Layer::Ext(kind)) {
                return e.shifted(at);
            }
            at = at.saturating_add(kind.size());
        }
        // Not reached: the caller found the headers longer than `buf`.
        Error::Truncated {
            layer: Layer::Ext(ExtKind::RdEth),
            offset: 0,
            needed: set.size(),
            available: buf.len(),
        }
    }

    /// The original header-at-a-time loop, kept as the reference for the tests.
    #[cfg(test)]
    pub(crate) fn parse_reference(set: ExtHeaders, buf: &[u8]) -> Result<(Ext, usize), Error> {
        let mut ext = Ext::default();
        let mut at = 0usize;
        for kind in set.iter() {
            let rest = buf.get(at..).unwrap_or(&[]);
            need(rest, kind.size(), Layer::Ext(kind)).map_err(|e| e.shifted(at))?;
            ext.set(read_one(kind, rest));
            at = at.saturating_add(kind.size());
        }
        Ok((ext, at))
    }

    /// Writes the headers of `set` (each must be present) in wire order at the start of
    /// `buf`; returns the bytes written. Reserved bytes are written as zero.
    ///
    /// # Errors
    /// [`Error::MissingHeader`] if one of `set` is absent; [`Error::UnexpectedHeader`] if one
    /// not in `set` is present; [`Error::OutputTooSmall`] if `buf` is short. Nothing is
    /// written on error.
    pub fn emit(&self, set: ExtHeaders, buf: &mut [u8]) -> Result<usize, Error> {
        if let Some(header) = ExtKind::ALL
            .into_iter()
            .find(|k| !set.contains(*k) && self.get(*k).is_some())
        {
            return Err(Error::UnexpectedHeader { header });
        }
        if buf.len() < set.size() {
            return Err(Error::OutputTooSmall {
                needed: set.size(),
                available: buf.len(),
            });
        }
        let mut at = 0usize;
        for kind in set.iter() {
            let header = self
                .get(kind)
                .ok_or(Error::MissingHeader { header: kind })?;
            let dst = buf.get_mut(at..).unwrap_or(&mut []);
            write_one(header, dst);
            at = at.saturating_add(kind.size());
        }
        Ok(at)
    }
}

/// One header of `kind` from the start of `b`; bytes past the end of `b` read as zeros.
///
/// Each header is first taken as a fixed-size array (one bounds check, the zero padding on
/// the cold path of `rd`), so its fields are read with no further checks.
#[inline(always)]
fn read_one(kind: ExtKind, b: &[u8]) -> ExtRepr {
    match kind {
        ExtKind::RdEth => ExtRepr::RdEth(RdEthRepr {
            ee_context: RdEthPacket::new_unchecked(rd::<4>(b, 0)).ee_context(),
        }),
        ExtKind::Deth => {
            let p = DethPacket::new_unchecked(rd::<8>(b, 0));
            ExtRepr::Deth(DethRepr {
                q_key: p.q_key(),
                src_qp: p.src_qp(),
            })
        }
        ExtKind::XrcEth => ExtRepr::XrcEth(XrcEthRepr {
            xrc_srq: XrcEthPacket::new_unchecked(rd::<4>(b, 0)).xrc_srq(),
        }),
        ExtKind::Reth => {
            let p = RethPacket::new_unchecked(rd::<16>(b, 0));
            ExtRepr::Reth(RethRepr {
                va: p.va(),
                r_key: p.r_key(),
                dma_len: p.dma_len(),
            })
        }
        ExtKind::AtomicEth => {
            let p = AtomicEthPacket::new_unchecked(rd::<28>(b, 0));
            ExtRepr::AtomicEth(AtomicEthRepr {
                va: p.va(),
                r_key: p.r_key(),
                swap_add: p.swap_add(),
                compare: p.compare(),
            })
        }
        ExtKind::Aeth => {
            let p = AethPacket::new_unchecked(rd::<4>(b, 0));
            ExtRepr::Aeth(AethRepr {
                syndrome: p.syndrome(),
                msn: Psn::new(p.msn()),
            })
        }
        ExtKind::AtomicAckEth => ExtRepr::AtomicAckEth(AtomicAckEthRepr {
            orig_remote_data: AtomicAckEthPacket::new_unchecked(rd::<8>(b, 0)).orig_remote_data(),
        }),
        ExtKind::ImmDt => ExtRepr::ImmDt(ImmDtRepr {
            imm: ImmDtPacket::new_unchecked(rd::<4>(b, 0)).imm(),
        }),
        ExtKind::Ieth => ExtRepr::Ieth(IethRepr {
            r_key: IethPacket::new_unchecked(rd::<4>(b, 0)).r_key(),
        }),
        ExtKind::CnpPadding => ExtRepr::CnpPadding,
    }
}

fn write_one(header: ExtRepr, b: &mut [u8]) {
    let len = header.kind().size();
    if let Some(dst) = b.get_mut(..len) {
        dst.fill(0);
    }
    match header {
        ExtRepr::RdEth(r) => RdEthPacket::new_unchecked(b).set_ee_context(r.ee_context),
        ExtRepr::Deth(r) => {
            let mut p = DethPacket::new_unchecked(b);
            p.set_q_key(r.q_key);
            p.set_src_qp(r.src_qp);
        }
        ExtRepr::XrcEth(r) => XrcEthPacket::new_unchecked(b).set_xrc_srq(r.xrc_srq),
        ExtRepr::Reth(r) => {
            let mut p = RethPacket::new_unchecked(b);
            p.set_va(r.va);
            p.set_r_key(r.r_key);
            p.set_dma_len(r.dma_len);
        }
        ExtRepr::AtomicEth(r) => {
            let mut p = AtomicEthPacket::new_unchecked(b);
            p.set_va(r.va);
            p.set_r_key(r.r_key);
            p.set_swap_add(r.swap_add);
            p.set_compare(r.compare);
        }
        ExtRepr::Aeth(r) => {
            let mut p = AethPacket::new_unchecked(b);
            p.set_syndrome(r.syndrome);
            p.set_msn(r.msn.value());
        }
        ExtRepr::AtomicAckEth(r) => {
            AtomicAckEthPacket::new_unchecked(b).set_orig_remote_data(r.orig_remote_data);
        }
        ExtRepr::ImmDt(r) => ImmDtPacket::new_unchecked(b).set_imm(r.imm),
        ExtRepr::Ieth(r) => IethPacket::new_unchecked(b).set_r_key(r.r_key),
        ExtRepr::CnpPadding => {}
    }
}
