//! The aarch64 backend: the ARMv8 CRC32 instructions (`crc` extension), which implement this
//! very polynomial (CRC32X/W/H/B are CRC-32/ISO-HDLC on the raw register).
//!
//! Algorithm: the zlib-convention state is inverted into the raw register, eight bytes at a
//! time go through `crc32x` (little-endian, as the reflected CRC consumes them), the last
//! 0..7 bytes through `crc32b`, and the register is inverted back. One dependent chain: about
//! 8 bytes per `crc32x` latency (2-3 cycles on Cortex-A7x / Neoverse cores).

use core::arch::aarch64::{__crc32b, __crc32d};

use crate::engine::{Backend, Icrc};

/// The aarch64 CRC32-instruction backend. A value exists only on CPUs with the `crc`
/// extension (every ARMv8.1 core and nearly every ARMv8.0 one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Neon {
    _detected: (),
}

impl Neon {
    /// The CPU features this backend needs.
    pub const FEATURES: &'static [&'static str] = &["neon", "crc"];

    /// The backend, if this CPU supports it.
    pub fn new() -> Option<Self> {
        crate::detect::crc().then_some(Self { _detected: () })
    }

    /// The backend without detection.
    ///
    /// # Safety
    /// The running CPU must support the ARMv8 `crc` extension.
    pub const unsafe fn new_unchecked() -> Self {
        Self { _detected: () }
    }
}

impl Icrc for Neon {
    fn backend(&self) -> Backend {
        Backend::Neon
    }

    fn crc32(&self, crc: u32, data: &[u8]) -> u32 {
        // SAFETY: a `Neon` value exists only after detection (`new`) or the caller's promise
        // (`new_unchecked`), so the `crc` extension is present.
        !unsafe { kernel(!crc, data) }
    }
}

/// The raw CRC register after `data`.
#[target_feature(enable = "crc")]
fn kernel(mut register: u32, data: &[u8]) -> u32 {
    let (words, tail) = data.as_chunks::<8>();
    for word in words {
        register = __crc32d(register, u64::from_le_bytes(*word));
    }
    for &byte in tail {
        register = __crc32b(register, byte);
    }
    register
}
