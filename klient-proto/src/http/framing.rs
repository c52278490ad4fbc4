//! How a response body is delimited (RFC 9112 §6.3) and whether the connection survives it.

use bytes::{Buf, BytesMut};
use http::{HeaderMap, StatusCode, Version, header};

use super::chunked::ChunkedDecoder;
use super::{HttpError, Limits};

/// A buffer of received bytes held in one piece, so that `chunk()` is all of it: the decoder's
/// own buffer, or a read handed over whole. (A chained `Buf` would hide a line split between its
/// parts.)
pub(crate) trait Contiguous: Buf {}

impl Contiguous for BytesMut {}

impl Contiguous for &[u8] {}

/// One step of reading a body.
#[derive(Debug)]
pub(crate) enum Piece {
    /// The next this many bytes at the front of the buffer are body: the caller takes them out
    /// (as shared `Bytes`, or by copying them where they go) and advances the buffer.
    Data(usize),
    NeedData,
    End,
}

impl Piece {
    /// "Need more data", unless the connection is closed, which makes it a truncated message.
    pub(crate) fn need_more(eof: bool) -> Result<Piece, HttpError> {
        if eof {
            Err(HttpError::UnexpectedEof)
        } else {
            Ok(Piece::NeedData)
        }
    }
}

/// The body framing chosen from the head.
#[derive(Debug)]
pub(crate) enum Framing {
    /// A known number of bytes is left (zero for bodiless responses).
    Length {
        remaining: u64,
    },
    Chunked(ChunkedDecoder),
    /// Everything until the server closes the connection.
    UntilClose,
}

impl Framing {
    /// Picks the framing for a final (non-1xx) response.
    pub(crate) fn for_response(
        status: StatusCode,
        headers: &HeaderMap,
        request_was_head: bool,
        limits: &Limits,
    ) -> Result<Framing, HttpError> {
        if request_was_head || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
            return Ok(Framing::Length { remaining: 0 });
        }
        let content_length = content_length(headers)?;
        if headers.contains_key(header::TRANSFER_ENCODING) {
            if content_length.is_some() {
                return Err(HttpError::ContentLengthWithTransferEncoding);
            }
            // Only plain `chunked`: other transfer codings are never sent by the API server, and
            // accepting them would mean decoding them.
            let mut codings = tokens(headers, header::TRANSFER_ENCODING);
            return match (codings.next(), codings.next()) {
                (Some(t), None) if t.eq_ignore_ascii_case(b"chunked") => {
                    Ok(Framing::Chunked(ChunkedDecoder::new()))
                }
                _ => Err(HttpError::UnsupportedTransferEncoding),
            };
        }
        match content_length {
            Some(len) if len > limits.max_body_bytes => Err(HttpError::BodyTooLarge {
                len,
                max: limits.max_body_bytes,
            }),
            Some(len) => Ok(Framing::Length { remaining: len }),
            None => Ok(Framing::UntilClose),
        }
    }

    /// Whether the body has a definite end, and so the connection may carry another response.
    pub(crate) fn is_self_delimited(&self) -> bool {
        !matches!(self, Framing::UntilClose)
    }

    /// Takes the next piece of body out of `buf`, a contiguous buffer (the decoder's own, or a
    /// read handed over whole); `received` counts body bytes so far.
    #[inline]
    pub(crate) fn next<B: Contiguous>(
        &mut self,
        buf: &mut B,
        eof: bool,
        limits: &Limits,
        received: &mut u64,
    ) -> Result<Piece, HttpError> {
        match self {
            Framing::Length { remaining: 0 } => Ok(Piece::End),
            Framing::Length { remaining } => {
                if !buf.has_remaining() {
                    return Piece::need_more(eof);
                }
                let n = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(buf.remaining());
                *remaining -= n as u64;
                *received += n as u64;
                Ok(Piece::Data(n))
            }
            Framing::Chunked(chunked) => chunked.next(buf, eof, limits, received),
            Framing::UntilClose => {
                if !buf.has_remaining() {
                    return Ok(if eof { Piece::End } else { Piece::NeedData });
                }
                // Hand out what fits under the limit first, so the split of reads does not matter.
                let room = limits.max_body_bytes.saturating_sub(*received);
                if room == 0 {
                    let len = received.saturating_add(buf.remaining() as u64);
                    return Err(HttpError::BodyTooLarge {
                        len,
                        max: limits.max_body_bytes,
                    });
                }
                let n = usize::try_from(room).unwrap_or(usize::MAX).min(buf.remaining());
                *received += n as u64;
                Ok(Piece::Data(n))
            }
        }
    }
}

/// The Content-Length, if any; repeated equal values (also within one comma list) are allowed.
fn content_length(headers: &HeaderMap) -> Result<Option<u64>, HttpError> {
    let mut found = None;
    for token in tokens(headers, header::CONTENT_LENGTH) {
        if !token.iter().all(u8::is_ascii_digit) {
            return Err(HttpError::InvalidContentLength);
        }
        let len = std::str::from_utf8(token)
            .ok()
            .and_then(|t| t.parse::<u64>().ok())
            .ok_or(HttpError::InvalidContentLength)?;
        if found.is_some_and(|f| f != len) {
            return Err(HttpError::ConflictingContentLength);
        }
        found = Some(len);
    }
    if found.is_none() && headers.contains_key(header::CONTENT_LENGTH) {
        return Err(HttpError::InvalidContentLength);
    }
    Ok(found)
}

/// Whether the connection may carry another exchange after this response (RFC 9112 §9.3).
pub(crate) fn keep_alive(version: Version, headers: &HeaderMap) -> bool {
    let has = |word: &[u8]| tokens(headers, header::CONNECTION).any(|t| t.eq_ignore_ascii_case(word));
    match version {
        Version::HTTP_11 => !has(b"close"),
        _ => has(b"keep-alive") && !has(b"close"),
    }
}

/// Whether the body is gzip-encoded; other codings than `identity` are refused.
pub(crate) fn is_gzip(headers: &HeaderMap) -> Result<bool, HttpError> {
    let mut gzip = false;
    for coding in tokens(headers, header::CONTENT_ENCODING) {
        if (coding.eq_ignore_ascii_case(b"gzip") || coding.eq_ignore_ascii_case(b"x-gzip")) && !gzip {
            gzip = true;
        } else if !coding.eq_ignore_ascii_case(b"identity") {
            return Err(HttpError::UnsupportedContentEncoding);
        }
    }
    Ok(gzip)
}

/// The comma-separated, whitespace-trimmed, non-empty list elements of every `name` field.
fn tokens(headers: &HeaderMap, name: header::HeaderName) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(name)
        .into_iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, http::HeaderValue::from_static(value));
        }
        map
    }

    fn framing(pairs: &[(&'static str, &'static str)]) -> Result<Framing, HttpError> {
        Framing::for_response(StatusCode::OK, &headers(pairs), false, &Limits::default())
    }

    #[test]
    fn content_length_rules() {
        assert!(matches!(
            framing(&[("content-length", "5")]),
            Ok(Framing::Length { remaining: 5 })
        ));
        assert!(matches!(
            framing(&[("content-length", "5"), ("content-length", "5, 5")]),
            Ok(Framing::Length { remaining: 5 })
        ));
        let conflict = framing(&[("content-length", "5"), ("content-length", "6")]);
        assert_eq!(conflict.unwrap_err(), HttpError::ConflictingContentLength);
        assert_eq!(
            framing(&[("content-length", "5, 6")]).unwrap_err(),
            HttpError::ConflictingContentLength
        );
        for bad in ["", "-1", "+1", "1.0", "0x10", "18446744073709551616", "1 2", ","] {
            assert_eq!(
                framing(&[("content-length", bad)]).unwrap_err(),
                HttpError::InvalidContentLength,
                "{bad:?}"
            );
        }
        let limits = Limits {
            max_body_bytes: 4,
            ..Limits::default()
        };
        let big = Framing::for_response(
            StatusCode::OK,
            &headers(&[("content-length", "5")]),
            false,
            &limits,
        );
        assert_eq!(big.unwrap_err(), HttpError::BodyTooLarge { len: 5, max: 4 });
    }

    #[test]
    fn transfer_encoding_rules() {
        assert!(matches!(
            framing(&[("transfer-encoding", "Chunked")]),
            Ok(Framing::Chunked(_))
        ));
        assert_eq!(
            framing(&[("transfer-encoding", "chunked"), ("content-length", "5")]).unwrap_err(),
            HttpError::ContentLengthWithTransferEncoding
        );
        for bad in ["gzip, chunked", "chunked, chunked", "identity", ""] {
            assert_eq!(
                framing(&[("transfer-encoding", bad)]).unwrap_err(),
                HttpError::UnsupportedTransferEncoding,
                "{bad:?}"
            );
        }
        assert!(matches!(framing(&[]), Ok(Framing::UntilClose)));
    }

    #[test]
    fn bodiless_responses() {
        let cl = headers(&[("content-length", "5")]);
        for status in [StatusCode::NO_CONTENT, StatusCode::NOT_MODIFIED] {
            let f = Framing::for_response(status, &cl, false, &Limits::default());
            assert!(matches!(f, Ok(Framing::Length { remaining: 0 })));
        }
        let head = Framing::for_response(StatusCode::OK, &cl, true, &Limits::default());
        assert!(matches!(head, Ok(Framing::Length { remaining: 0 })));
    }

    #[test]
    fn keep_alive_rules() {
        assert!(keep_alive(Version::HTTP_11, &headers(&[])));
        assert!(!keep_alive(
            Version::HTTP_11,
            &headers(&[("connection", "Upgrade, Close")])
        ));
        assert!(!keep_alive(Version::HTTP_10, &headers(&[])));
        assert!(keep_alive(
            Version::HTTP_10,
            &headers(&[("connection", "Keep-Alive")])
        ));
        assert!(!keep_alive(
            Version::HTTP_10,
            &headers(&[("connection", "keep-alive"), ("connection", "close")])
        ));
    }

    #[test]
    fn content_encoding_rules() {
        assert!(!is_gzip(&headers(&[])).unwrap());
        assert!(!is_gzip(&headers(&[("content-encoding", "identity")])).unwrap());
        assert!(is_gzip(&headers(&[("content-encoding", "GZIP")])).unwrap());
        for bad in ["br", "gzip, gzip", "deflate"] {
            assert_eq!(
                is_gzip(&headers(&[("content-encoding", bad)])),
                Err(HttpError::UnsupportedContentEncoding)
            );
        }
    }
}
