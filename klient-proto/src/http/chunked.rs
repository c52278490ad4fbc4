//! The chunked transfer coding (RFC 9112 §7.1), decoded in place from the receive buffer.

use bytes::Buf;

use super::framing::{Contiguous, Piece};
use super::{HttpError, Limits, LineKind};

#[derive(Debug)]
enum Stage {
    /// Expecting `chunk-size [ chunk-ext ] CRLF`.
    Size,
    /// Inside chunk data.
    Data {
        remaining: u64,
    },
    /// Expecting the CRLF that closes chunk data.
    DataEnd,
    /// After the last chunk: trailer lines until an empty line.
    Trailers {
        count: usize,
    },
    Done,
}

/// Removes the chunked framing; trailer fields are checked for shape and discarded.
#[derive(Debug)]
pub(crate) struct ChunkedDecoder {
    stage: Stage,
}

impl ChunkedDecoder {
    pub(crate) fn new() -> Self {
        Self { stage: Stage::Size }
    }

    /// The next piece of body data, taken out of `buf` (a contiguous buffer: its `chunk()` is all
    /// of it). `received` counts body bytes so far.
    #[inline]
    pub(crate) fn next<B: Contiguous>(
        &mut self,
        buf: &mut B,
        eof: bool,
        limits: &Limits,
        received: &mut u64,
    ) -> Result<Piece, HttpError> {
        loop {
            match &mut self.stage {
                Stage::Size => {
                    let Some(len) = find_line(buf.chunk(), LineKind::ChunkSize, limits)? else {
                        return Piece::need_more(eof);
                    };
                    let size = parse_chunk_size(&buf.chunk()[..len])?;
                    buf.advance(len + 2);
                    if size == 0 {
                        self.stage = Stage::Trailers { count: 0 };
                        continue;
                    }
                    // Refuse a huge declared chunk now rather than after reading it.
                    let total = received.saturating_add(size);
                    if total > limits.max_body_bytes {
                        return Err(HttpError::BodyTooLarge {
                            len: total,
                            max: limits.max_body_bytes,
                        });
                    }
                    self.stage = Stage::Data { remaining: size };
                }
                Stage::Data { remaining } => {
                    if !buf.has_remaining() {
                        return Piece::need_more(eof);
                    }
                    let n = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(buf.remaining());
                    *remaining -= n as u64;
                    *received += n as u64;
                    if *remaining == 0 {
                        self.stage = Stage::DataEnd;
                    }
                    return Ok(Piece::Data(n));
                }
                Stage::DataEnd => {
                    match buf.chunk().get(..2) {
                        Some(b"\r\n") => buf.advance(2),
                        None if buf.chunk().first().is_none_or(|b| *b == b'\r') => {
                            return Piece::need_more(eof);
                        }
                        _ => {
                            return Err(HttpError::MalformedChunk {
                                reason: "chunk data not followed by CRLF",
                            });
                        }
                    }
                    self.stage = Stage::Size;
                }
                Stage::Trailers { count } => {
                    let Some(len) = find_line(buf.chunk(), LineKind::Trailer, limits)? else {
                        return Piece::need_more(eof);
                    };
                    if len == 0 {
                        buf.advance(2);
                        self.stage = Stage::Done;
                        continue;
                    }
                    check_trailer(&buf.chunk()[..len])?;
                    buf.advance(len + 2);
                    *count += 1;
                    if *count > limits.max_headers {
                        return Err(HttpError::TooManyHeaders {
                            count: *count,
                            max: limits.max_headers,
                        });
                    }
                }
                Stage::Done => return Ok(Piece::End),
            }
        }
    }
}

/// Finds a CRLF-terminated line at the start of `buf`: `Some(len)` without the CRLF.
fn find_line(buf: &[u8], kind: LineKind, limits: &Limits) -> Result<Option<usize>, HttpError> {
    let max = limits.max_line_bytes;
    let window = &buf[..buf.len().min(max.saturating_add(2))];
    match window.iter().position(|b| *b == b'\n') {
        Some(lf) => match lf.checked_sub(1) {
            Some(len) if window.get(len) == Some(&b'\r') => {
                if len > max {
                    return Err(HttpError::LineTooLong {
                        kind,
                        len: len as u64,
                        max,
                    });
                }
                Ok(Some(len))
            }
            _ => Err(HttpError::MalformedChunk {
                reason: "line not terminated by CRLF",
            }),
        },
        // Without a line feed, a line of `max` bytes plus its CR still fits.
        None if window.len() > max.saturating_add(1) => Err(HttpError::LineTooLong {
            kind,
            len: window.len() as u64,
            max,
        }),
        None => Ok(None),
    }
}

/// `chunk-size = 1*HEXDIG`, then optional `BWS ; ext` that is checked for control bytes only.
fn parse_chunk_size(line: &[u8]) -> Result<u64, HttpError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(HttpError::MalformedChunk {
            reason: "chunk size is not hexadecimal",
        });
    }
    let mut size: u64 = 0;
    for b in &line[..digits] {
        let nibble = u64::from(char::from(*b).to_digit(16).unwrap_or(0));
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(nibble))
            .ok_or(HttpError::MalformedChunk {
                reason: "chunk size overflows",
            })?;
    }
    let rest = &line[digits..];
    let ext = rest.trim_ascii_start();
    let valid = match ext.split_first() {
        None => rest.is_empty() || rest.iter().all(|b| *b == b' ' || *b == b'\t'),
        Some((b';', ext)) => ext.iter().all(|b| *b == b'\t' || (*b >= 0x20 && *b != 0x7f)),
        Some(_) => false,
    };
    if !valid {
        return Err(HttpError::MalformedChunk {
            reason: "invalid chunk extension",
        });
    }
    Ok(size)
}

/// A trailer field must look like `name: value`; it is then dropped.
fn check_trailer(line: &[u8]) -> Result<(), HttpError> {
    let colon = line.iter().position(|b| *b == b':').unwrap_or(0);
    let (name, value) = line.split_at(colon);
    let name_ok = !name.is_empty() && http::HeaderName::from_bytes(name).is_ok();
    let value_ok = value
        .iter()
        .skip(1)
        .all(|b| *b == b'\t' || (*b >= 0x20 && *b != 0x7f));
    if name_ok && value_ok {
        Ok(())
    } else {
        Err(HttpError::MalformedChunk {
            reason: "invalid trailer field",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;

    fn decode_with(input: &[u8], step: usize, limits: &Limits) -> Result<Vec<u8>, HttpError> {
        let mut dec = ChunkedDecoder::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut received = 0;
        let mut pieces = input.chunks(step.max(1)).peekable();
        loop {
            let eof = pieces.peek().is_none();
            match dec.next(&mut buf, eof, limits, &mut received)? {
                Piece::Data(n) => out.extend_from_slice(&buf.split_to(n)),
                Piece::End => return Ok(out),
                Piece::NeedData => match pieces.next() {
                    Some(p) => buf.extend_from_slice(p),
                    None => unreachable!("need_more reports EOF as an error"),
                },
            }
        }
    }

    fn decode(input: &[u8]) -> Result<Vec<u8>, HttpError> {
        let whole = decode_with(input, input.len(), &Limits::default());
        assert_eq!(
            whole,
            decode_with(input, 1, &Limits::default()),
            "byte at a time differs"
        );
        whole
    }

    fn malformed(reason: &'static str) -> Result<Vec<u8>, HttpError> {
        Err(HttpError::MalformedChunk { reason })
    }

    #[test]
    fn chunks_extensions_and_trailers() {
        assert_eq!(decode(b"5\r\nhello\r\n0\r\n\r\n").unwrap(), b"hello");
        assert_eq!(
            decode(b"3;name=val;x\r\nabc\r\nA \r\n0123456789\r\n0 ; done\r\nX-Trailer: 1\r\nY:\r\n\r\n")
                .unwrap(),
            b"abc0123456789"
        );
        assert_eq!(decode(b"00000000000000000001\r\nz\r\n0\r\n\r\n").unwrap(), b"z");
        assert_eq!(decode(b"0\r\n\r\n").unwrap(), b"");
    }

    #[test]
    fn bad_chunk_sizes() {
        assert_eq!(decode(b"g\r\n"), malformed("chunk size is not hexadecimal"));
        assert_eq!(decode(b"-1\r\n"), malformed("chunk size is not hexadecimal"));
        assert_eq!(decode(b" 1\r\n"), malformed("chunk size is not hexadecimal"));
        assert_eq!(decode(b"\r\n"), malformed("chunk size is not hexadecimal"));
        assert_eq!(decode(b"0x10\r\n"), malformed("invalid chunk extension"));
        assert_eq!(decode(b"1 2\r\n"), malformed("invalid chunk extension"));
        assert_eq!(decode(b"1;a\x00\r\n"), malformed("invalid chunk extension"));
        assert_eq!(
            decode(b"10000000000000000\r\n"),
            malformed("chunk size overflows")
        );
        assert_eq!(
            decode(b"ffffffffffffffff\r\n"),
            Err(HttpError::BodyTooLarge {
                len: u64::MAX,
                max: Limits::default().max_body_bytes
            })
        );
        assert_eq!(decode(b"5\nhello\r\n"), malformed("line not terminated by CRLF"));
    }

    #[test]
    fn missing_crlf_after_data() {
        assert_eq!(
            decode(b"5\r\nhelloX\r\n0\r\n\r\n"),
            malformed("chunk data not followed by CRLF")
        );
        assert_eq!(
            decode(b"5\r\nhello\rX0\r\n\r\n"),
            malformed("chunk data not followed by CRLF")
        );
        assert_eq!(
            decode(b"5\r\nhello\n0\r\n\r\n"),
            malformed("chunk data not followed by CRLF")
        );
    }

    #[test]
    fn truncation_is_unexpected_eof() {
        let full = b"5\r\nhello\r\n0\r\nT: 1\r\n\r\n";
        for cut in 0..full.len() {
            assert_eq!(
                decode(&full[..cut]),
                Err(HttpError::UnexpectedEof),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn bad_trailers() {
        assert_eq!(
            decode(b"0\r\nno colon\r\n\r\n"),
            malformed("invalid trailer field")
        );
        assert_eq!(
            decode(b"0\r\n: empty name\r\n\r\n"),
            malformed("invalid trailer field")
        );
        assert_eq!(
            decode(b"0\r\nX: a\x01b\r\n\r\n"),
            malformed("invalid trailer field")
        );
    }

    #[test]
    fn limits() {
        let limits = Limits {
            max_line_bytes: 8,
            max_headers: 2,
            max_body_bytes: 10,
            ..Limits::default()
        };
        let run = |input: &[u8]| {
            let whole = decode_with(input, input.len(), &limits);
            assert_eq!(whole, decode_with(input, 1, &limits));
            whole
        };
        assert_eq!(run(b"1;abcdef\r\nx\r\n0\r\n\r\n").unwrap(), b"x");
        let long = Err(HttpError::LineTooLong {
            kind: LineKind::ChunkSize,
            len: 10,
            max: 8,
        });
        assert_eq!(run(b"1;abcdefg\r\n"), long);
        assert_eq!(run(b"1;abcdefgh"), long);
        let trailer = Err(HttpError::LineTooLong {
            kind: LineKind::Trailer,
            len: 10,
            max: 8,
        });
        assert_eq!(run(b"0\r\nX: 1234567"), trailer);
        assert_eq!(
            run(b"0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
            Err(HttpError::TooManyHeaders { count: 3, max: 2 })
        );
        assert_eq!(
            run(b"5\r\n12345\r\n6\r\n"),
            Err(HttpError::BodyTooLarge { len: 11, max: 10 })
        );
        assert_eq!(run(b"a\r\n0123456789\r\n0\r\n\r\n").unwrap(), b"0123456789");
    }
}
