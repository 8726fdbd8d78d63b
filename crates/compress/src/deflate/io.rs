//! `std::io` adapters over the streaming Deflate codec (feature `std`). They own no heap
//! memory: the decoder ([`InflateStream::SIZE`] bytes) and an 8 KiB buffer are kept inline;
//! the encoder works in caller storage with a caller [`Deflater`].

#![forbid(unsafe_code)]

extern crate std;

use std::io::{self, Read, Write};

use super::Deflater;
use super::encoder::DeflateStream;
use super::stream::{Format, InflateStream};
use crate::Codec;
use crate::lz4::Flush;

const CHUNK: usize = 8 * 1024;

/// Decompresses the raw DEFLATE, zlib or gzip (multi-member) stream read from `inner`.
/// Reading fails with `UnexpectedEof` when `inner` ends inside the stream and
/// `InvalidData` for corrupt data; it returns 0 (end of file) at the stream's end. Bytes
/// after the stream may have been read from `inner` into the buffer and are not returned.
///
/// ```
/// use std::io::Read;
/// use offload_compress::{Auto, deflate};
///
/// // "hello, hello, hello!" as gzip.
/// let gz = [
///     0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x48, 0xcd, 0xc9,
///     0xc9, 0xd7, 0x51, 0xc8, 0x40, 0xa2, 0x14, 0x01, 0xa7, 0xbb, 0xd2, 0xfe, 0x14, 0x00,
///     0x00, 0x00,
/// ];
/// let mut r = deflate::Decoder::new(Auto::detect(), deflate::Format::Gzip, &gz[..]);
/// let mut text = String::new();
/// r.read_to_string(&mut text)?;
/// assert_eq!(text, "hello, hello, hello!");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Decoder<R: Read, C: Codec> {
    codec: C,
    stream: InflateStream,
    inner: R,
    buf: [u8; CHUNK],
    start: usize,
    end: usize,
    eof: bool,
}

impl<R: Read, C: Codec> Decoder<R, C> {
    /// A reader decoding the `format` stream read from `inner`.
    pub fn new(codec: C, format: Format, inner: R) -> Self {
        Self::with_stream(codec, InflateStream::new(format), inner)
    }

    /// A reader driving `stream` (for example one made by
    /// [`InflateStream::with_dictionary`]) over `inner`.
    pub fn with_stream(codec: C, stream: InflateStream, inner: R) -> Self {
        Decoder {
            codec,
            stream,
            inner,
            buf: [0; CHUNK],
            start: 0,
            end: 0,
            eof: false,
        }
    }

    /// The inner reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read, C: Codec> Read for Decoder<R, C> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            let p = self
                .stream
                .decompress(self.codec, &self.buf[self.start..self.end], out)
                .map_err(io::Error::from)?;
            self.start += p.consumed;
            if p.produced > 0 {
                return Ok(p.produced);
            }
            if self.stream.is_finished() {
                return Ok(0);
            }
            if p.consumed > 0 {
                continue;
            }
            // No progress: the decoder needs more input than the buffer holds.
            if self.eof {
                self.stream.finish().map_err(io::Error::from)?;
                return Ok(0);
            }
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            let n = self.inner.read(&mut self.buf[self.end..])?;
            self.end += n;
            self.eof = n == 0;
        }
    }
}

/// Compresses everything written to it into one raw Deflate, zlib or gzip stream written
/// to `inner` (see [`DeflateStream`]). Call [`Encoder::finish`] at the end: dropping the
/// writer leaves the stream unfinished. [`Write::flush`] ends the data so far with a sync
/// flush (an empty stored block), so a reader can decode everything written until then.
///
/// ```
/// use std::io::{Read, Write};
/// use offload_compress::{Auto, deflate};
///
/// let mut deflater = Box::new(deflate::Deflater::new());
/// let mut storage = vec![0u8; deflate::DeflateStream::<Auto>::STORAGE_LEN];
/// let mut w = deflate::Encoder::new(
///     Auto::detect(),
///     deflate::Format::Zlib,
///     6,
///     &mut deflater,
///     &mut storage,
///     Vec::new(),
/// )?;
/// w.write_all(b"written through std::io, written through std::io")?;
/// let zlib = w.finish()?;
///
/// let mut r = deflate::Decoder::new(Auto::detect(), deflate::Format::Zlib, &zlib[..]);
/// let mut text = String::new();
/// r.read_to_string(&mut text)?;
/// assert_eq!(text, "written through std::io, written through std::io");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Encoder<'a, W: Write, C: Codec> {
    stream: DeflateStream<'a, C>,
    inner: W,
    out: [u8; CHUNK],
}

impl<'a, W: Write, C: Codec> Encoder<'a, W, C> {
    /// A writer compressing into `inner` as `format` at `level` (0..=9).
    ///
    /// # Errors
    /// `InvalidInput` for a level above 9 or `storage` shorter than
    /// [`DeflateStream::STORAGE_LEN`].
    pub fn new(
        codec: C,
        format: Format,
        level: u32,
        deflater: &'a mut Deflater,
        storage: &'a mut [u8],
        inner: W,
    ) -> io::Result<Self> {
        let stream =
            DeflateStream::new(codec, format, level, deflater, storage).map_err(io::Error::from)?;
        Ok(Encoder {
            stream,
            inner,
            out: [0; CHUNK],
        })
    }

    fn pump(&mut self, mut input: &[u8], flush: Flush) -> io::Result<()> {
        loop {
            let p = self
                .stream
                .compress(input, &mut self.out, flush)
                .map_err(io::Error::from)?;
            self.inner.write_all(&self.out[..p.produced])?;
            input = &input[p.consumed..];
            let done = match flush {
                Flush::Finish => self.stream.is_finished(),
                _ => input.is_empty() && p.produced < CHUNK,
            };
            if done {
                return Ok(());
            }
        }
    }

    /// Ends the stream (final block and trailer) and returns the inner writer.
    ///
    /// # Errors
    /// Any error of the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.pump(&[], Flush::Finish)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write, C: Codec> Write for Encoder<'_, W, C> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pump(buf, Flush::None)?;
        Ok(buf.len())
    }

    /// Compresses what is buffered, ends it with an empty stored block (zlib's
    /// `Z_SYNC_FLUSH`) and flushes `inner`.
    fn flush(&mut self) -> io::Result<()> {
        self.pump(&[], Flush::Block)?;
        self.inner.flush()
    }
}
