//! `std::io` adapters over the streaming frame codec (feature `std`). They own no heap
//! memory either: the caller passes the storage, the adapters keep an 8 KiB buffer inline.

#![forbid(unsafe_code)]

extern crate std;

use std::io::{self, Read, Write};

use super::FrameOptions;
use super::stream::{Flush, FrameDecoder, FrameEncoder};
use crate::Codec;

const CHUNK: usize = 8 * 1024;

/// Compresses everything written to it into one LZ4 frame written to `inner`. Call
/// [`Writer::finish`] at the end: dropping the writer leaves the frame unfinished.
///
/// ```
/// use std::io::Write;
/// use offload_compress::{Auto, lz4};
///
/// let options = lz4::FrameOptions::default();
/// let mut storage = vec![0u8; lz4::FrameEncoder::<Auto>::storage_len(&options)];
/// let mut w = lz4::Writer::new(Auto::detect(), options, &mut storage, Vec::new())?;
/// w.write_all(b"written through std::io")?;
/// let frame = w.finish()?;
///
/// let mut storage = vec![0u8; lz4::FrameDecoder::<Auto>::storage_len(lz4::BlockSize::Max64KiB)];
/// let mut r = lz4::Reader::new(Auto::detect(), &mut storage, &frame[..]);
/// let mut text = String::new();
/// std::io::Read::read_to_string(&mut r, &mut text)?;
/// assert_eq!(text, "written through std::io");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Writer<'a, W: Write, C: Codec> {
    encoder: FrameEncoder<'a, C>,
    inner: W,
    out: [u8; CHUNK],
}

impl<'a, W: Write, C: Codec> Writer<'a, W, C> {
    /// A writer compressing into `inner` with `options` (without a content size: the
    /// total is not known up front).
    ///
    /// # Errors
    /// `InvalidInput` when `storage` is smaller than
    /// [`FrameEncoder::storage_len`] or `options.content_size` is set.
    pub fn new(
        codec: C,
        options: FrameOptions,
        storage: &'a mut [u8],
        inner: W,
    ) -> io::Result<Self> {
        let encoder = FrameEncoder::new(codec, options, None, storage).map_err(io::Error::from)?;
        Ok(Writer {
            encoder,
            inner,
            out: [0; CHUNK],
        })
    }

    fn pump(&mut self, mut input: &[u8], flush: Flush) -> io::Result<()> {
        loop {
            let p = self
                .encoder
                .compress(input, &mut self.out, flush)
                .map_err(io::Error::from)?;
            self.inner.write_all(&self.out[..p.produced])?;
            input = &input[p.consumed..];
            let done = match flush {
                Flush::Finish => self.encoder.is_finished(),
                _ => input.is_empty() && p.produced < CHUNK,
            };
            if done {
                return Ok(());
            }
        }
    }

    /// Ends the frame and returns the inner writer.
    ///
    /// # Errors
    /// Any error of the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.pump(&[], Flush::Finish)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write, C: Codec> Write for Writer<'_, W, C> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pump(buf, Flush::None)?;
        Ok(buf.len())
    }

    /// Emits the partial block buffered so far (a shorter block) and flushes `inner`.
    fn flush(&mut self) -> io::Result<()> {
        self.pump(&[], Flush::Block)?;
        self.inner.flush()
    }
}

/// Decompresses the LZ4 frames read from `inner` (concatenated, skippable and legacy
/// frames, as the `lz4` command reads them); reading fails with `UnexpectedEof` when
/// `inner` ends inside a frame and `InvalidData` for corrupt data.
#[derive(Debug)]
pub struct Reader<'a, R: Read, C: Codec> {
    decoder: FrameDecoder<'a, C>,
    inner: R,
    buf: [u8; CHUNK],
    start: usize,
    end: usize,
    eof: bool,
}

impl<'a, R: Read, C: Codec> Reader<'a, R, C> {
    /// A reader decoding `inner` with `storage` (see [`FrameDecoder::storage_len`]).
    pub fn new(codec: C, storage: &'a mut [u8], inner: R) -> Self {
        Reader {
            decoder: FrameDecoder::new(codec, storage, &[]),
            inner,
            buf: [0; CHUNK],
            start: 0,
            end: 0,
            eof: false,
        }
    }
}

impl<R: Read, C: Codec> Read for Reader<'_, R, C> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            let p = self
                .decoder
                .decompress(&self.buf[self.start..self.end], out)
                .map_err(io::Error::from)?;
            self.start += p.consumed;
            if p.produced > 0 {
                return Ok(p.produced);
            }
            if self.start == self.end {
                if self.eof {
                    self.decoder.finish().map_err(io::Error::from)?;
                    return Ok(0);
                }
                self.start = 0;
                self.end = self.inner.read(&mut self.buf)?;
                self.eof = self.end == 0;
            }
        }
    }
}
