//! aarch64 with NEON, PMULL (`aes`) and CRC32 (`crc`).

use core::arch::aarch64::{
    __crc32cb, __crc32cd, vceqq_u16, vcombine_u8, vdupq_n_u16, vget_lane_u64, vld1q_u16, vmovn_u16,
    vreinterpret_u64_u8, vreinterpretq_u16_u8, vshrn_n_u16,
};

use crate::{Backend, Lookup};

/// aarch64 with NEON, PMULL and CRC32. Construct with [`Neon::new`], which checks the CPU.
#[derive(Clone, Copy, Debug)]
pub struct Neon {
    _checked: (),
}

impl Neon {
    /// `Some` if this CPU has every feature in [`Backend::Neon`]'s
    /// [`features`](Backend::features).
    pub fn new() -> Option<Self> {
        crate::detect::neon().then_some(Self { _checked: () })
    }

    /// # Safety
    /// The CPU must support NEON, AES (PMULL) and CRC32.
    pub const unsafe fn new_unchecked() -> Self {
        Self { _checked: () }
    }
}

impl Lookup for Neon {
    fn backend(&self) -> Backend {
        Backend::Neon
    }

    #[inline]
    fn crc32c(&self, crc: u32, data: &[u8]) -> u32 {
        // SAFETY: a `Neon` exists only on a CPU with the CRC32 instructions.
        unsafe { crc32c(crc, data) }
    }

    #[inline]
    fn match_tags(&self, a: &[u16; 8], b: &[u16; 8], tag: u16) -> u16 {
        // SAFETY: a `Neon` exists only on a CPU with NEON.
        unsafe { match_tags(a, b, tag) }
    }

    #[inline(always)]
    fn prefetch<T>(&self, item: &T) {
        // SAFETY: `prfm` is a hint that never faults and changes no architectural state.
        unsafe {
            core::arch::asm!(
                "prfm pldl1keep, [{p}]",
                p = in(reg) core::ptr::from_ref(item),
                options(nostack, preserves_flags, readonly)
            );
        }
    }
}

/// CRC-32C with the ARMv8 `crc32cx` instruction, 8 bytes per step (flow keys are short: one
/// dependent chain is the whole cost).
#[target_feature(enable = "crc")]
fn crc32c(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        c = __crc32cd(c, u64::from_le_bytes(w));
    }
    for &b in chunks.remainder() {
        c = __crc32cb(c, b);
    }
    !c
}

/// `cmeq` of each bucket's eight tags, narrowed to bytes (0x00 / 0xFF), then `shrn #4` turns
/// the 16 bytes into 16 nibbles of one 64-bit word; one bit of each nibble is kept.
#[target_feature(enable = "neon")]
fn match_tags(a: &[u16; 8], b: &[u16; 8], tag: u16) -> u16 {
    // SAFETY: `a` and `b` are eight readable u16s each.
    let (va, vb) = unsafe { (vld1q_u16(a.as_ptr()), vld1q_u16(b.as_ptr())) };
    let t = vdupq_n_u16(tag);
    let bytes = vcombine_u8(vmovn_u16(vceqq_u16(va, t)), vmovn_u16(vceqq_u16(vb, t)));
    let nibbles = vget_lane_u64::<0>(vreinterpret_u64_u8(vshrn_n_u16::<4>(vreinterpretq_u16_u8(
        bytes,
    ))));
    // Nibble i is 0xF when lane i matched: keep bit 0 of each nibble and squeeze the 16
    // bits together in four shift-or steps.
    let mut x = nibbles & 0x1111_1111_1111_1111;
    x = (x | x >> 3) & 0x0303_0303_0303_0303;
    x = (x | x >> 6) & 0x000F_000F_000F_000F;
    x = (x | x >> 12) & 0x0000_00FF_0000_00FF;
    x = (x | x >> 24) & 0xFFFF;
    #[expect(clippy::cast_possible_truncation, reason = "masked to 16 bits")]
    let m = x as u16;
    m
}
