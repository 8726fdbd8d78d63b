//! Classic pcap files (the libpcap format, not pcapng): a streaming reader, and a writer that
//! keeps the reader's global header (byte order, timestamp unit, version, link type).
//!
//! A file is a 24-byte global header (magic, version 2.4, snap length, link type) and then
//! records, each a 16-byte header (seconds, micro- or nanoseconds, captured length, original
//! length) followed by the captured bytes. The magic gives the byte order (written either
//! way) and the timestamp unit (`a1b2c3d4` microseconds, `a1b23c4d` nanoseconds).
//!
//! Nothing here trusts the file: every length is bounded before anything is allocated (a
//! record holds at most [`MAX_RECORD`] bytes, libpcap's own limit), and a short or corrupt
//! file is a [`PcapError`] that names the record and the sizes, never a panic.

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom, Write};

/// `LINKTYPE_ETHERNET`: frames start with the Ethernet header.
pub(crate) const LINKTYPE_ETHERNET: u16 = 1;

/// The largest record accepted (libpcap's `MAXIMUM_SNAPLEN`, 256 KiB); larger is corruption.
pub(crate) const MAX_RECORD: usize = 262_144;

const GLOBAL_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;

const MAGIC_MICROS: u32 = 0xA1B2_C3D4;
const MAGIC_NANOS: u32 = 0xA1B2_3C4D;
/// The pcapng section header block type (the same in both byte orders).
const PCAPNG_SHB: u32 = 0x0A0D_0D0A;
/// Kuznetzov's "modified pcap" (longer record headers).
const MAGIC_MODIFIED: u32 = 0xA1B2_CD34;

/// Why a capture could not be read. `Display` is one line.
#[derive(Debug)]
pub(crate) enum PcapError {
    /// Reading the file failed.
    Io(io::Error),
    /// The file is shorter than the 24-byte global header.
    ShortHeader { got: usize },
    /// The file is pcapng, not classic pcap.
    Pcapng,
    /// The file is the "modified pcap" variant, with longer record headers.
    Modified,
    /// The first four bytes are not a pcap magic number.
    NotPcap { magic: u32 },
    /// The version is not 2.x.
    Version { major: u16, minor: u16 },
    /// A record header is cut short by the end of the file.
    TruncatedRecordHeader { frame: u64, got: usize },
    /// A record's data is cut short by the end of the file.
    TruncatedRecord {
        frame: u64,
        needed: usize,
        got: usize,
    },
    /// A record declares more than [`MAX_RECORD`] captured bytes.
    RecordTooLarge { frame: u64, len: u32 },
}

impl fmt::Display for PcapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PcapError::Io(e) => write!(f, "{e}"),
            PcapError::ShortHeader { got } => write!(
                f,
                "not a pcap file: {got} bytes, shorter than the {GLOBAL_HEADER_LEN}-byte header"
            ),
            PcapError::Pcapng => write!(
                f,
                "pcapng is not supported, only classic pcap (convert with `editcap -F pcap`)"
            ),
            PcapError::Modified => write!(
                f,
                "modified pcap (magic a1b2cd34) is not supported, only classic pcap \
                 (convert with `editcap -F pcap`)"
            ),
            PcapError::NotPcap { magic } => {
                write!(f, "not a pcap file (magic {magic:08x})")
            }
            PcapError::Version { major, minor } => {
                write!(
                    f,
                    "pcap version {major}.{minor} is not supported (only 2.x)"
                )
            }
            PcapError::TruncatedRecordHeader { frame, got } => write!(
                f,
                "truncated pcap: the header of frame {frame} has {got} of {RECORD_HEADER_LEN} bytes"
            ),
            PcapError::TruncatedRecord { frame, needed, got } => write!(
                f,
                "truncated pcap: frame {frame} has {got} of its {needed} captured bytes"
            ),
            PcapError::RecordTooLarge { frame, len } => write!(
                f,
                "corrupt pcap: frame {frame} declares {len} captured bytes, more than the \
                 maximum of {MAX_RECORD}"
            ),
        }
    }
}

impl From<io::Error> for PcapError {
    fn from(e: io::Error) -> Self {
        PcapError::Io(e)
    }
}

/// One record: its 1-based position, the captured bytes and the length on the wire.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    /// 1-based position in the capture.
    pub(crate) number: u64,
    /// The captured bytes (at most [`MAX_RECORD`]).
    pub(crate) data: &'a [u8],
    /// The frame's length on the wire (`data` is shorter when the capture cut it).
    pub(crate) orig_len: u32,
    /// Timestamp: seconds.
    pub(crate) ts_sec: u32,
    /// Timestamp: micro- or nanoseconds (the file's unit).
    pub(crate) ts_frac: u32,
}

/// Reads records one at a time into a reused buffer.
#[derive(Debug)]
pub(crate) struct PcapReader<R> {
    inner: R,
    big_endian: bool,
    link_type: u16,
    header: [u8; GLOBAL_HEADER_LEN],
    frames: u64,
    buf: Vec<u8>,
}

impl<R: Read> PcapReader<R> {
    /// Reads and checks the global header.
    pub(crate) fn new(mut inner: R) -> Result<Self, PcapError> {
        let mut header = [0u8; GLOBAL_HEADER_LEN];
        let got = read_full(&mut inner, &mut header)?;
        let magic_bytes = [header[0], header[1], header[2], header[3]];
        // Name pcapng and modified pcap even when the file is too short for a pcap header.
        for magic in [
            u32::from_le_bytes(magic_bytes),
            u32::from_be_bytes(magic_bytes),
        ] {
            match magic {
                PCAPNG_SHB if got >= 4 => return Err(PcapError::Pcapng),
                MAGIC_MODIFIED if got >= 4 => return Err(PcapError::Modified),
                _ => {}
            }
        }
        if got < GLOBAL_HEADER_LEN {
            return Err(PcapError::ShortHeader { got });
        }
        let big_endian = match u32::from_le_bytes(magic_bytes) {
            MAGIC_MICROS | MAGIC_NANOS => false,
            _ => match u32::from_be_bytes(magic_bytes) {
                MAGIC_MICROS | MAGIC_NANOS => true,
                magic => return Err(PcapError::NotPcap { magic }),
            },
        };
        let u16_at = |at: usize| {
            let b = [header[at], header[at + 1]];
            if big_endian {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            }
        };
        let (major, minor) = (u16_at(4), u16_at(6));
        if major != 2 {
            return Err(PcapError::Version { major, minor });
        }
        // The link type is the low 16 bits of the 32-bit field; the high bits may carry the
        // FCS length, which does not matter here (an FCS is a trailer after the packet).
        let link_type = if big_endian { u16_at(22) } else { u16_at(20) };
        Ok(Self {
            inner,
            big_endian,
            link_type,
            header,
            frames: 0,
            buf: Vec::new(),
        })
    }

    /// The link type (`LINKTYPE_*`) of every record.
    pub(crate) fn link_type(&self) -> u16 {
        self.link_type
    }

    /// The 24-byte global header as read.
    pub(crate) fn global_header(&self) -> [u8; GLOBAL_HEADER_LEN] {
        self.header
    }

    /// Whether the file is big-endian.
    pub(crate) fn big_endian(&self) -> bool {
        self.big_endian
    }

    /// The next record, or `None` at a clean end of file.
    pub(crate) fn next_record(&mut self) -> Result<Option<Record<'_>>, PcapError> {
        let number = self.frames + 1;
        let mut header = [0u8; RECORD_HEADER_LEN];
        let got = read_full(&mut self.inner, &mut header)?;
        if got == 0 {
            return Ok(None);
        }
        if got < RECORD_HEADER_LEN {
            return Err(PcapError::TruncatedRecordHeader { frame: number, got });
        }
        let u32_at = |at: usize| {
            let b = [header[at], header[at + 1], header[at + 2], header[at + 3]];
            if self.big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let (ts_sec, ts_frac) = (u32_at(0), u32_at(4));
        let (incl_len, orig_len) = (u32_at(8), u32_at(12));
        let needed = match usize::try_from(incl_len) {
            Ok(n) if n <= MAX_RECORD => n,
            _ => {
                return Err(PcapError::RecordTooLarge {
                    frame: number,
                    len: incl_len,
                });
            }
        };
        self.buf.resize(needed, 0);
        let got = read_full(&mut self.inner, &mut self.buf)?;
        if got < needed {
            return Err(PcapError::TruncatedRecord {
                frame: number,
                needed,
                got,
            });
        }
        self.frames = number;
        Ok(Some(Record {
            number,
            data: &self.buf,
            orig_len,
            ts_sec,
            ts_frac,
        }))
    }
}

/// Writes a classic pcap file with the global header of the file it was read from (same
/// byte order, timestamp unit, version and link type), so that a capture written back
/// unchanged is the same bytes. If a record is longer than the header's snap length, the
/// snap length is raised to the longest record when the writer is finished (libpcap cuts
/// records to the snap length).
#[derive(Debug)]
pub(crate) struct PcapWriter<W> {
    inner: W,
    big_endian: bool,
    snaplen: u32,
    longest: u32,
}

impl<W: Write + Seek> PcapWriter<W> {
    /// Writes `header` (a global header from [`PcapReader::global_header`]).
    pub(crate) fn new(
        mut inner: W,
        header: [u8; GLOBAL_HEADER_LEN],
        big_endian: bool,
    ) -> io::Result<Self> {
        inner.write_all(&header)?;
        let b = [header[16], header[17], header[18], header[19]];
        let snaplen = if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        };
        Ok(Self {
            inner,
            big_endian,
            snaplen,
            longest: 0,
        })
    }

    fn word(&self, v: u32) -> [u8; 4] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// Writes one record: its timestamp, its bytes and its length on the wire.
    pub(crate) fn write_record(
        &mut self,
        ts_sec: u32,
        ts_frac: u32,
        data: &[u8],
        orig_len: u32,
    ) -> io::Result<()> {
        let len = u32::try_from(data.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "record too long"))?;
        let mut header = [0u8; RECORD_HEADER_LEN];
        header[0..4].copy_from_slice(&self.word(ts_sec));
        header[4..8].copy_from_slice(&self.word(ts_frac));
        header[8..12].copy_from_slice(&self.word(len));
        header[12..16].copy_from_slice(&self.word(orig_len));
        self.inner.write_all(&header)?;
        self.inner.write_all(data)?;
        self.longest = self.longest.max(len);
        Ok(())
    }

    /// Raises the snap length if a record needed it, flushes, and returns the inner writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        if self.longest > self.snaplen {
            let snaplen = self.word(self.longest);
            self.inner.seek(SeekFrom::Start(16))?;
            self.inner.write_all(&snaplen)?;
            self.inner.seek(SeekFrom::End(0))?;
        }
        self.inner.flush()?;
        Ok(self.inner)
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(big_endian: bool, nanos: bool, records: &[&[u8]]) -> Vec<u8> {
        let magic = if nanos { MAGIC_NANOS } else { MAGIC_MICROS };
        let w32 = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w16 = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut out = Vec::new();
        out.extend_from_slice(&w32(magic));
        out.extend_from_slice(&w16(2));
        out.extend_from_slice(&w16(4));
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&w32(65535));
        out.extend_from_slice(&w32(1));
        for (i, r) in records.iter().enumerate() {
            let len = u32::try_from(r.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&w32(u32::try_from(i).unwrap_or(0)));
            out.extend_from_slice(&w32(7));
            out.extend_from_slice(&w32(len));
            out.extend_from_slice(&w32(len + 3));
            out.extend_from_slice(r);
        }
        out
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<(u64, Vec<u8>, u32)>, PcapError> {
        let mut reader = PcapReader::new(bytes)?;
        assert_eq!(reader.link_type(), LINKTYPE_ETHERNET);
        let mut out = Vec::new();
        while let Some(r) = reader.next_record()? {
            out.push((r.number, r.data.to_vec(), r.orig_len));
        }
        Ok(out)
    }

    #[test]
    fn both_byte_orders_and_units() {
        let records: [&[u8]; 3] = [b"abc", b"", b"0123456789"];
        for big_endian in [false, true] {
            for nanos in [false, true] {
                let got = read_all(&file(big_endian, nanos, &records)).ok();
                let want: Vec<_> = records
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        (
                            i as u64 + 1,
                            r.to_vec(),
                            u32::try_from(r.len() + 3).unwrap_or(0),
                        )
                    })
                    .collect();
                assert_eq!(got, Some(want), "big endian {big_endian}, nanos {nanos}");
            }
        }
    }

    #[test]
    fn the_writer_gives_back_the_same_bytes() -> Result<(), PcapError> {
        let records: [&[u8]; 3] = [b"abc", b"", b"0123456789"];
        for big_endian in [false, true] {
            for nanos in [false, true] {
                let bytes = file(big_endian, nanos, &records);
                let mut reader = PcapReader::new(&bytes[..])?;
                let header = reader.global_header();
                let mut writer =
                    PcapWriter::new(io::Cursor::new(Vec::new()), header, reader.big_endian())?;
                while let Some(r) = reader.next_record()? {
                    writer.write_record(r.ts_sec, r.ts_frac, r.data, r.orig_len)?;
                }
                let out = writer.finish()?.into_inner();
                assert_eq!(out, bytes, "big endian {big_endian}, nanos {nanos}");
            }
        }
        Ok(())
    }

    #[test]
    fn the_writer_raises_a_short_snap_length() -> Result<(), PcapError> {
        let mut bytes = file(true, false, &[]);
        bytes[16..20].copy_from_slice(&1500u32.to_be_bytes());
        let reader = PcapReader::new(&bytes[..])?;
        let mut writer = PcapWriter::new(
            io::Cursor::new(Vec::new()),
            reader.global_header(),
            reader.big_endian(),
        )?;
        writer.write_record(1, 2, &[7; 1400], 1400)?;
        writer.write_record(1, 2, &[7; 1600], 1600)?;
        let out = writer.finish()?.into_inner();
        assert_eq!(out[16..20], 1600u32.to_be_bytes());
        assert_eq!(out.len(), GLOBAL_HEADER_LEN + 2 * RECORD_HEADER_LEN + 3000);
        Ok(())
    }

    #[test]
    fn every_truncation_is_an_error_never_a_panic() {
        let bytes = file(false, false, &[b"abcdef", b"ghijkl"]);
        for cut in 0..bytes.len() {
            let result = read_all(&bytes[..cut]);
            let complete = cut == GLOBAL_HEADER_LEN || cut == GLOBAL_HEADER_LEN + 22;
            assert_eq!(result.is_ok(), complete, "cut at {cut}");
            if let Err(e) = result {
                assert!(!e.to_string().contains('\n'));
            }
        }
    }

    #[test]
    fn rejects_other_formats_and_huge_records() {
        let mut ng = vec![0x0A, 0x0D, 0x0D, 0x0A];
        ng.extend_from_slice(&[0; 40]);
        assert!(matches!(read_all(&ng), Err(PcapError::Pcapng)));
        assert!(matches!(
            read_all(&[0x34, 0xcd, 0xb2, 0xa1, 0, 0]),
            Err(PcapError::Modified)
        ));
        assert!(matches!(
            read_all(&[0x55; 30]),
            Err(PcapError::NotPcap { magic: 0x5555_5555 })
        ));
        let mut bad_version = file(false, false, &[]);
        bad_version[4] = 1;
        assert!(matches!(
            read_all(&bad_version),
            Err(PcapError::Version { major: 1, .. })
        ));
        let mut huge = file(false, false, &[b"x"]);
        huge[GLOBAL_HEADER_LEN + 8..GLOBAL_HEADER_LEN + 12]
            .copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            read_all(&huge),
            Err(PcapError::RecordTooLarge { frame: 1, .. })
        ));
    }
}
