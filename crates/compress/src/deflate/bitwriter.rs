//! The compressor's bit writer: LSB-first bits into a caller slice.
//!
//! Bits collect in a 64-bit buffer; when it fills, its eight bytes (all of them final) are
//! stored with one bounds-checked 8-byte write. Nothing is ever written that is not part
//! of the result, so the output after the returned length is untouched. When the slice
//! runs out the writer stops writing and remembers it; the caller checks [`overflowed`]
//! once per block and [`finish`] reports it.
//!
//! [`overflowed`]: BitWriter::overflowed
//! [`finish`]: BitWriter::finish

#![forbid(unsafe_code)]

pub(crate) struct BitWriter<'a> {
    out: &'a mut [u8],
    /// Bytes written so far.
    pos: usize,
    /// Pending bits, the oldest in bit 0; bits at and above `n` are zero.
    buf: u64,
    /// Number of pending bits, 0..=63.
    n: u32,
    overflow: bool,
}

impl<'a> BitWriter<'a> {
    pub(crate) fn new(out: &'a mut [u8]) -> Self {
        BitWriter {
            out,
            pos: 0,
            buf: 0,
            n: 0,
            overflow: false,
        }
    }

    /// A writer whose first bits are `n < 8` pending bits `bits` (from a writer that
    /// stopped mid-byte: see [`into_pending`](Self::into_pending)).
    pub(crate) fn with_pending(out: &'a mut [u8], bits: u64, n: u32) -> Self {
        debug_assert!(n < 8 && bits >> n == 0);
        BitWriter {
            out,
            pos: 0,
            buf: bits,
            n,
            overflow: false,
        }
    }

    /// Writes the whole pending bytes and returns `(bytes written, the 0..=7 bits of the
    /// last partial byte, their count)`, or `None` if the output ran out at any point.
    pub(crate) fn into_pending(mut self) -> Option<(usize, u64, u32)> {
        while self.n >= 8 {
            #[expect(clippy::cast_possible_truncation, reason = "the low byte on purpose")]
            self.put_byte_raw(self.buf as u8);
            self.buf >>= 8;
            self.n -= 8;
        }
        if self.overflow {
            None
        } else {
            Some((self.pos, self.buf, self.n))
        }
    }

    /// Appends the low `count` bits of `bits` (`count <= 56`, the other bits zero).
    #[inline(always)]
    pub(crate) fn put(&mut self, bits: u64, count: u32) {
        debug_assert!(count <= 56 && (count == 64 || bits >> count == 0));
        self.buf |= bits << self.n;
        let total = self.n + count;
        if total >= 64 {
            self.store_word();
            // n >= 8 here because count <= 56, so the shift is below 64.
            self.buf = bits >> (64 - self.n);
            self.n = total - 64;
        } else {
            self.n = total;
        }
    }

    /// The writer as a [`FastBits`] for a stretch of codes that ends at bit `8 * limit` or
    /// later (the caller knows: a block's size is computed before it is written);
    /// [`FastBits::finish`] hands the state back.
    #[inline(always)]
    pub(crate) fn fast(&mut self, limit: usize) -> FastBits<'_> {
        let limit = limit.min(self.out.len());
        FastBits {
            out: &mut self.out[..limit],
            pos: self.pos,
            buf: self.buf,
            n: self.n,
            overflow: false,
            back: (
                &mut self.pos,
                &mut self.buf,
                &mut self.n,
                &mut self.overflow,
            ),
        }
    }

    #[inline(always)]
    fn store_word(&mut self) {
        if let Some(dst) = self.out.get_mut(self.pos..self.pos + 8) {
            dst.copy_from_slice(&self.buf.to_le_bytes());
            self.pos += 8;
        } else {
            self.overflow = true;
        }
    }

    /// Pads with zero bits to a byte boundary and moves the whole pending bytes out.
    pub(crate) fn align_flush(&mut self) {
        let pad = (8 - self.n % 8) % 8;
        self.n += pad;
        while self.n > 0 {
            #[expect(clippy::cast_possible_truncation, reason = "the low byte on purpose")]
            self.put_byte_raw(self.buf as u8);
            self.buf >>= 8;
            self.n -= 8;
        }
    }

    fn put_byte_raw(&mut self, b: u8) {
        if let Some(dst) = self.out.get_mut(self.pos) {
            *dst = b;
            self.pos += 1;
        } else {
            self.overflow = true;
        }
    }

    /// Copies `bytes` to the output; the writer must be byte-aligned (after
    /// [`align_flush`](Self::align_flush)).
    pub(crate) fn put_bytes(&mut self, bytes: &[u8]) {
        debug_assert_eq!(self.n, 0);
        if let Some(dst) = self.out.get_mut(self.pos..self.pos + bytes.len()) {
            dst.copy_from_slice(bytes);
            self.pos += bytes.len();
        } else {
            self.overflow = true;
        }
    }

    /// Pending bits not yet in a whole byte (0..=7) once the whole bytes are counted.
    pub(crate) fn bit_phase(&self) -> u32 {
        self.n % 8
    }

    /// Records that the output is too small (the caller knows the rest cannot fit).
    pub(crate) fn set_overflow(&mut self) {
        self.overflow = true;
    }

    pub(crate) fn overflowed(&self) -> bool {
        self.overflow
    }

    /// The output's capacity in bits.
    pub(crate) fn capacity_bits(&self) -> u64 {
        self.out.len() as u64 * 8
    }

    /// Bits written so far (including pending ones).
    pub(crate) fn bits_written(&self) -> u64 {
        self.pos as u64 * 8 + u64::from(self.n)
    }

    /// Writes the pending bits (the last byte zero-padded) and returns the total length, or
    /// `None` if the output ran out at any point.
    pub(crate) fn finish(mut self) -> Option<usize> {
        self.align_flush();
        if self.overflow { None } else { Some(self.pos) }
    }
}

/// A [`BitWriter`] for a stretch of codes, libdeflate's way: bits are added to the pending
/// word without a test ([`add`](Self::add)) and moved out with one unconditional 8-byte
/// store ([`flush`](Self::flush)) and no data-dependent branch. The bytes of that store
/// past the whole pending ones are zeros that later stores overwrite, so the output is cut
/// at `limit` (see [`BitWriter::fast`]), a byte the stretch is known to reach: every whole
/// byte it writes lies before it, and by its end it has written all of them, so no zero
/// is left behind. Near `limit` the bytes go one at a time.
///
/// Used as a local value, so that the pending word and the position stay in registers
/// (through a `&mut BitWriter` every store to the output makes the compiler reload them).
pub(crate) struct FastBits<'w> {
    out: &'w mut [u8],
    pos: usize,
    buf: u64,
    n: u32,
    overflow: bool,
    back: (&'w mut usize, &'w mut u64, &'w mut u32, &'w mut bool),
}

impl FastBits<'_> {
    /// Adds the low `count` bits of `bits` (the other bits zero): the pending bits must
    /// stay at most 63 ([`flush`](Self::flush) leaves at most 7).
    #[inline(always)]
    pub(crate) fn add(&mut self, bits: u64, count: u32) {
        debug_assert!(self.n + count <= 63 && bits >> count == 0);
        self.buf |= bits << self.n;
        self.n += count;
    }

    /// Moves the whole pending bytes out, leaving at most 7 bits pending.
    #[inline(always)]
    pub(crate) fn flush(&mut self) {
        let bytes = self.n >> 3;
        if let Some(dst) = self.out.get_mut(self.pos..self.pos + 8) {
            dst.copy_from_slice(&self.buf.to_le_bytes());
            self.pos += bytes as usize;
            // bytes <= 7: n <= 63.
            self.buf >>= bytes * 8;
            self.n &= 7;
        } else {
            // By value, so that the state's address never escapes and it stays in
            // registers on the fast path.
            (self.pos, self.buf, self.n, self.overflow) =
                flush_bytes(self.out, self.pos, self.buf, self.n, self.overflow);
        }
    }

    /// Hands the state back to the [`BitWriter`].
    #[inline(always)]
    pub(crate) fn finish(self) {
        *self.back.0 = self.pos;
        *self.back.1 = self.buf;
        *self.back.2 = self.n;
        *self.back.3 |= self.overflow;
    }
}

/// [`FastBits::flush`] near the limit: the whole pending bytes one at a time.
#[cold]
#[inline(never)]
fn flush_bytes(
    out: &mut [u8],
    mut pos: usize,
    mut buf: u64,
    mut n: u32,
    mut overflow: bool,
) -> (usize, u64, u32, bool) {
    while n >= 8 {
        if let Some(dst) = out.get_mut(pos) {
            #[expect(clippy::cast_possible_truncation, reason = "the low byte on purpose")]
            {
                *dst = buf as u8;
            }
            pos += 1;
        } else {
            overflow = true;
        }
        buf >>= 8;
        n -= 8;
    }
    (pos, buf, n, overflow)
}
