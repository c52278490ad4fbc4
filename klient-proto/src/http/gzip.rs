//! Streaming gzip (RFC 1952) decoding of a response body, in memory.
//!
//! flate2's raw-deflate [`Decompress`] does the inflating; the small gzip header and trailer are
//! parsed here so that each call can bound its output, which is what lets the caller stop a gzip
//! bomb at the decompressed-size limit instead of after it.

use std::fmt;

use bytes::{Buf, Bytes};
use flate2::{Crc, Decompress, FlushDecompress, Status};

use super::HttpError;

/// Most decompressed bytes handed out per call; bounds memory per event.
const OUTPUT_CHUNK: usize = 32 * 1024;
/// A gzip header is 10 bytes plus optional extra field, file name and comment. Servers send none
/// of those, so a generous fixed cap is enough.
const MAX_HEADER: usize = 16 * 1024;

/// Why a gzip body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GzipError {
    /// The member header is not a gzip header (bad magic, method or flags).
    BadHeader,
    /// The member header (with its optional fields) is longer than this decoder accepts.
    HeaderTooLong {
        /// Header bytes seen so far.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The deflate stream is invalid.
    Corrupt,
    /// The CRC-32 in the trailer does not match the decompressed data.
    ChecksumMismatch,
    /// The length in the trailer does not match the decompressed data.
    LengthMismatch,
    /// The body ended inside a gzip member.
    Truncated,
}

impl fmt::Display for GzipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadHeader => f.write_str("not a gzip header"),
            Self::HeaderTooLong { len, max } => {
                write!(f, "gzip header of {len} bytes exceeds the limit of {max}")
            }
            Self::Corrupt => f.write_str("corrupt deflate data"),
            Self::ChecksumMismatch => f.write_str("CRC-32 mismatch"),
            Self::LengthMismatch => f.write_str("length mismatch"),
            Self::Truncated => f.write_str("truncated"),
        }
    }
}

impl std::error::Error for GzipError {}

#[derive(Debug)]
enum Stage {
    /// Collecting a member header; the bytes so far.
    Header(Vec<u8>),
    Deflate,
    /// Collecting the 8-byte CRC-32 + ISIZE trailer.
    Trailer(Vec<u8>),
}

/// Decodes one body: one or more concatenated gzip members.
#[derive(Debug)]
pub(crate) struct GzipDecoder {
    stage: Stage,
    inflate: Decompress,
    crc: Crc,
    /// Compressed bytes handed in and not yet consumed.
    pending: Bytes,
    /// Scratch space inflated into, OUTPUT_CHUNK bytes once first used.
    out: Vec<u8>,
    total_out: u64,
}

impl GzipDecoder {
    pub(crate) fn new() -> Self {
        Self {
            stage: Stage::Header(Vec::new()),
            inflate: Decompress::new(false),
            crc: Crc::new(),
            pending: Bytes::new(),
            out: Vec::new(),
            total_out: 0,
        }
    }

    /// Queues compressed bytes; call [`Self::poll_output`] until it returns `None` before the next push.
    pub(crate) fn push(&mut self, compressed: Bytes) {
        debug_assert!(self.pending.is_empty());
        self.pending = compressed;
    }

    /// Decompresses some queued input; `None` means more input is needed.
    pub(crate) fn poll_output(&mut self, max_total: u64) -> Result<Option<Bytes>, HttpError> {
        loop {
            match &mut self.stage {
                Stage::Header(header) => {
                    if self.pending.is_empty() {
                        return Ok(None);
                    }
                    let before = header.len();
                    let take = self.pending.len().min(MAX_HEADER + 1 - before);
                    header.extend_from_slice(&self.pending[..take]);
                    match parse_header(header)? {
                        Some(len) => {
                            self.pending.advance(len - before);
                            self.inflate.reset(false);
                            self.crc.reset();
                            self.stage = Stage::Deflate;
                        }
                        None if header.len() > MAX_HEADER => {
                            let len = header.len();
                            return Err(GzipError::HeaderTooLong { len, max: MAX_HEADER }.into());
                        }
                        None => self.pending.advance(take),
                    }
                }
                Stage::Deflate => {
                    let (status, consumed, produced) = self.inflate_some(max_total)?;
                    self.pending.advance(consumed);
                    if status == Status::StreamEnd {
                        self.stage = Stage::Trailer(Vec::with_capacity(8));
                    }
                    if produced > 0 {
                        return Ok(Some(self.take_output(produced, max_total)?));
                    }
                    if consumed == 0 && status != Status::StreamEnd {
                        return Ok(None);
                    }
                }
                Stage::Trailer(trailer) => {
                    let take = self.pending.len().min(8 - trailer.len());
                    trailer.extend_from_slice(&self.pending[..take]);
                    self.pending.advance(take);
                    let Ok(fields) = <[u8; 8]>::try_from(trailer.as_slice()) else {
                        return Ok(None);
                    };
                    let [c0, c1, c2, c3, s0, s1, s2, s3] = fields;
                    if u32::from_le_bytes([c0, c1, c2, c3]) != self.crc.sum() {
                        return Err(GzipError::ChecksumMismatch.into());
                    }
                    if u32::from_le_bytes([s0, s1, s2, s3]) != self.crc.amount() {
                        return Err(GzipError::LengthMismatch.into());
                    }
                    // Another member may follow (RFC 1952 §2.2).
                    self.stage = Stage::Header(Vec::new());
                }
            }
        }
    }

    /// Checks that the body ended on a member boundary (or was empty).
    pub(crate) fn finish(&self) -> Result<(), HttpError> {
        match &self.stage {
            Stage::Header(h) if h.is_empty() && self.pending.is_empty() => Ok(()),
            _ => Err(GzipError::Truncated.into()),
        }
    }

    /// Inflates into `out`, at most up to the limit plus one byte (which proves it exceeded).
    fn inflate_some(&mut self, max_total: u64) -> Result<(Status, usize, usize), HttpError> {
        let room = max_total.saturating_sub(self.total_out);
        let cap = usize::try_from(room).unwrap_or(usize::MAX).clamp(1, OUTPUT_CHUNK);
        if self.out.len() < cap {
            self.out.resize(OUTPUT_CHUNK, 0);
        }
        let (before_in, before_out) = (self.inflate.total_in(), self.inflate.total_out());
        let status = self
            .inflate
            .decompress(&self.pending, &mut self.out[..cap], FlushDecompress::None)
            .map_err(|_| GzipError::Corrupt)?;
        let consumed = usize::try_from(self.inflate.total_in() - before_in).unwrap_or(usize::MAX);
        let produced = usize::try_from(self.inflate.total_out() - before_out).unwrap_or(usize::MAX);
        Ok((status, consumed.min(self.pending.len()), produced.min(cap)))
    }

    fn take_output(&mut self, produced: usize, max_total: u64) -> Result<Bytes, HttpError> {
        let output = &self.out[..produced];
        self.crc.update(output);
        self.total_out = self.total_out.saturating_add(produced as u64);
        if self.total_out > max_total {
            return Err(HttpError::DecompressedBodyTooLarge {
                len: self.total_out,
                max: max_total,
            });
        }
        // One copy out of the scratch buffer; inflating costs far more than this memcpy.
        Ok(Bytes::copy_from_slice(output))
    }
}

/// Parses a member header; `Some(len)` once complete.
fn parse_header(h: &[u8]) -> Result<Option<usize>, GzipError> {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    const RESERVED: u8 = 0xe0;

    let mut fixed = [0u8; 10];
    for (i, (slot, byte)) in fixed.iter_mut().zip(h).enumerate() {
        *slot = *byte;
        // Refuse as early as the first wrong byte, so garbage is not buffered.
        let ok = match i {
            0 => *byte == 0x1f,
            1 => *byte == 0x8b,
            2 => *byte == 8,
            3 => *byte & RESERVED == 0,
            _ => true,
        };
        if !ok {
            return Err(GzipError::BadHeader);
        }
    }
    if h.len() < fixed.len() {
        return Ok(None);
    }
    let flags = fixed[3];
    let mut pos = fixed.len();
    if flags & FEXTRA != 0 {
        let Some(&[lo, hi]) = h.get(pos..pos + 2) else {
            return Ok(None);
        };
        pos += 2 + usize::from(u16::from_le_bytes([lo, hi]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let Some(nul) = h.get(pos..).and_then(|rest| rest.iter().position(|b| *b == 0)) else {
                return Ok(None);
            };
            pos += nul + 1;
        }
    }
    if flags & FHCRC != 0 {
        pos += 2;
    }
    Ok((h.len() >= pos).then_some(pos))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::{Compression, write::GzEncoder};

    use super::*;

    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn decode(input: &[u8], step: usize, max: u64) -> Result<Vec<u8>, HttpError> {
        let mut dec = GzipDecoder::new();
        let mut out = Vec::new();
        for piece in input.chunks(step.max(1)) {
            dec.push(Bytes::copy_from_slice(piece));
            while let Some(b) = dec.poll_output(max)? {
                assert!(b.len() <= OUTPUT_CHUNK);
                out.extend_from_slice(&b);
            }
        }
        dec.finish()?;
        Ok(out)
    }

    #[test]
    fn round_trips_at_any_split() {
        let data: Vec<u8> = (0..100_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let z = gzip(&data);
        for step in [1, 7, 4096, z.len()] {
            assert_eq!(decode(&z, step, u64::MAX).unwrap(), data, "step {step}");
        }
    }

    #[test]
    fn concatenated_members() {
        let mut z = gzip(b"hello ");
        z.extend(gzip(b"world"));
        assert_eq!(decode(&z, 3, u64::MAX).unwrap(), b"hello world");
    }

    #[test]
    fn optional_header_fields() {
        // FEXTRA + FNAME + FCOMMENT + FHCRC, then the deflate stream of an ordinary member.
        let plain = gzip(b"abc");
        let mut z = vec![0x1f, 0x8b, 8, 0x04 | 0x08 | 0x10 | 0x02, 0, 0, 0, 0, 0, 3];
        z.extend([3, 0, b'x', b'y', b'z']);
        z.extend(b"name\0comment\0");
        z.extend([0xaa, 0xbb]);
        z.extend(&plain[10..]);
        assert_eq!(decode(&z, 1, u64::MAX).unwrap(), b"abc");
    }

    #[test]
    fn bomb_stops_at_limit() {
        let z = gzip(&vec![0u8; 10 * 1024 * 1024]);
        assert!(z.len() < 64 * 1024);
        let err = decode(&z, 8192, 1024 * 1024).unwrap_err();
        let HttpError::DecompressedBodyTooLarge { len, max } = err else {
            panic!("{err:?}")
        };
        assert_eq!(max, 1024 * 1024);
        assert_eq!(len, max + 1);
    }

    #[test]
    fn hostile_inputs() {
        let z = gzip(b"some data to compress");
        let bad = |input: &[u8]| decode(input, 1, u64::MAX).unwrap_err();
        assert_eq!(bad(&z[..z.len() - 1]), GzipError::Truncated.into());
        assert_eq!(bad(&z[..5]), GzipError::Truncated.into());
        assert_eq!(bad(b"{\"kind\":1}"), GzipError::BadHeader.into());
        let mut crc = z.clone();
        let n = crc.len();
        crc[n - 8] ^= 1;
        assert_eq!(bad(&crc), GzipError::ChecksumMismatch.into());
        let mut size = z.clone();
        size[n - 1] ^= 1;
        assert_eq!(bad(&size), GzipError::LengthMismatch.into());
        let mut corrupt = z.clone();
        corrupt[10] = 0xff; // reserved block type 3
        assert_eq!(bad(&corrupt), GzipError::Corrupt.into());
        let mut trailing = z.clone();
        trailing.extend(b"junk");
        assert_eq!(bad(&trailing), GzipError::BadHeader.into());
        let mut long_name = vec![0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3];
        long_name.resize(MAX_HEADER + 100, b'a');
        assert!(matches!(
            bad(&long_name),
            HttpError::Gzip(GzipError::HeaderTooLong { .. })
        ));
    }

    #[test]
    fn empty_body_is_fine() {
        assert_eq!(decode(b"", 1, 0).unwrap(), b"");
    }
}
