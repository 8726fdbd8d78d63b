//! Helpers shared by the integration tests.

#![allow(
    clippy::cast_possible_truncation,
    reason = "test code: random values cut to the fields' widths"
)]

use offload_rdma_wire::Psn;
use offload_rdma_wire::wire::{
    AethRepr, AtomicAckEthRepr, AtomicEthRepr, DethRepr, Ext, ExtHeaders, ExtKind, ExtRepr,
    IethRepr, ImmDtRepr, RdEthRepr, RethRepr, XrcEthRepr,
};
use offload_testkit::Rng;

/// A full set of ETHs with random values for `headers`.
pub(crate) fn random_ext(rng: &mut Rng, headers: ExtHeaders) -> Ext {
    let mut ext = Ext::default();
    for kind in headers.iter() {
        let (a, b, c, d) = (
            rng.next_u64(),
            rng.next_u64(),
            rng.next_u64(),
            rng.next_u64(),
        );
        ext.set(match kind {
            ExtKind::RdEth => ExtRepr::RdEth(RdEthRepr {
                ee_context: a as u32 & 0xFF_FFFF,
            }),
            ExtKind::Deth => ExtRepr::Deth(DethRepr {
                q_key: a as u32,
                src_qp: b as u32 & 0xFF_FFFF,
            }),
            ExtKind::XrcEth => ExtRepr::XrcEth(XrcEthRepr {
                xrc_srq: a as u32 & 0xFF_FFFF,
            }),
            ExtKind::Reth => ExtRepr::Reth(RethRepr {
                va: a,
                r_key: b as u32,
                dma_len: c as u32,
            }),
            ExtKind::AtomicEth => ExtRepr::AtomicEth(AtomicEthRepr {
                va: a,
                r_key: b as u32,
                swap_add: c,
                compare: d,
            }),
            ExtKind::Aeth => ExtRepr::Aeth(AethRepr {
                syndrome: a as u8,
                msn: Psn::new(b as u32),
            }),
            ExtKind::AtomicAckEth => ExtRepr::AtomicAckEth(AtomicAckEthRepr {
                orig_remote_data: a,
            }),
            ExtKind::ImmDt => ExtRepr::ImmDt(ImmDtRepr { imm: a as u32 }),
            ExtKind::Ieth => ExtRepr::Ieth(IethRepr { r_key: a as u32 }),
            _ => ExtRepr::CnpPadding,
        });
    }
    ext
}
