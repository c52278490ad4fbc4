//! The response head: status line and header fields, parsed with `httparse`.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Version};

use super::{HttpError, Limits, LineKind};

/// The status line and header fields of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: Version,
    /// The status code; the reason phrase is dropped, as RFC 9112 §4 allows.
    pub status: StatusCode,
    /// The header fields, in the order received.
    pub headers: HeaderMap,
}

/// Looks for a complete head at the start of `buf`.
///
/// `scanned` remembers how far an earlier call searched for the end of the head, so feeding a
/// head one byte at a time stays linear. Returns the head and its length in bytes.
pub(crate) fn parse(
    buf: &[u8],
    scanned: &mut usize,
    limits: &Limits,
) -> Result<Option<(ResponseHead, usize)>, HttpError> {
    // Fail fast on a peer that is not speaking HTTP/1.x (TLS alert, HTTP/2 preface, junk).
    const PREFIX: &[u8] = b"HTTP/1.";
    if !PREFIX.starts_with(&buf[..buf.len().min(PREFIX.len())]) {
        return Err(malformed("not an HTTP/1.x response"));
    }
    check_status_line(buf, limits)?;
    let window = &buf[..buf.len().min(limits.max_head_bytes.saturating_add(1))];
    // httparse accepts bare LF line endings, so the head ends at LF LF or LF CR LF.
    let from = scanned.saturating_sub(2);
    let end = window.get(from..).and_then(|w| {
        w.windows(2).enumerate().find_map(|(i, pair)| match pair {
            [b'\n', b'\n'] => Some(from + i + 2),
            [b'\n', b'\r'] if w.get(i + 2) == Some(&b'\n') => Some(from + i + 3),
            _ => None,
        })
    });
    let Some(end) = end else {
        if window.len() > limits.max_head_bytes {
            return Err(HttpError::HeadTooLarge {
                len: window.len(),
                max: limits.max_head_bytes,
            });
        }
        *scanned = window.len();
        return Ok(None);
    };
    if end > limits.max_head_bytes {
        return Err(HttpError::HeadTooLarge {
            len: end,
            max: limits.max_head_bytes,
        });
    }
    let head = &buf[..end];
    // A field line takes at least 3 bytes ("a:\n"), so this many slots always suffice and a
    // caller's huge `max_headers` never turns into a huge allocation.
    let slots = limits.max_headers.min(end / 3 + 1);
    let mut fields = vec![httparse::EMPTY_HEADER; slots];
    let mut response = httparse::Response::new(&mut fields);
    match response.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(malformed("incomplete head")),
        Err(httparse::Error::TooManyHeaders) => {
            let lines = head.iter().filter(|b| **b == b'\n').count();
            let count = lines.saturating_sub(2);
            return Err(HttpError::TooManyHeaders {
                count,
                max: limits.max_headers,
            });
        }
        Err(e) => return Err(malformed(describe(e))),
    }
    let version = match response.version {
        Some(0) => Version::HTTP_10,
        Some(1) => Version::HTTP_11,
        _ => return Err(malformed("unsupported HTTP version")),
    };
    let status = response
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or(malformed("invalid status code"))?;
    let mut headers = HeaderMap::with_capacity(response.headers.len());
    for field in response.headers.iter() {
        let name =
            HeaderName::from_bytes(field.name.as_bytes()).map_err(|_| malformed("invalid header name"))?;
        let value = HeaderValue::from_bytes(field.value).map_err(|_| malformed("invalid header value"))?;
        headers.append(name, value);
    }
    Ok(Some((
        ResponseHead {
            version,
            status,
            headers,
        },
        end,
    )))
}

/// Enforces [`Limits::max_line_bytes`] on the status line before the whole head has arrived.
fn check_status_line(buf: &[u8], limits: &Limits) -> Result<(), HttpError> {
    let max = limits.max_line_bytes;
    let window = &buf[..buf.len().min(max.saturating_add(2))];
    let len = match window.iter().position(|b| *b == b'\n') {
        Some(lf) if lf > 0 && window.get(lf - 1) == Some(&b'\r') => lf - 1,
        Some(lf) => lf,
        None => window.len().saturating_sub(1),
    };
    if len > max {
        return Err(HttpError::LineTooLong {
            kind: LineKind::StatusLine,
            len: len as u64,
            max,
        });
    }
    Ok(())
}

fn malformed(reason: &'static str) -> HttpError {
    HttpError::MalformedHead { reason }
}

fn describe(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status code",
        httparse::Error::Token => "invalid token",
        httparse::Error::Version => "unsupported HTTP version",
        _ => "invalid head",
    }
}
