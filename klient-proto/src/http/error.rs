//! What can go wrong while decoding a response.

use std::fmt;

use super::gzip::GzipError;

/// Which kind of line broke [`Limits::max_line_bytes`](super::Limits::max_line_bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// The status line (`HTTP/1.1 200 OK`).
    StatusLine,
    /// A chunk-size line of a chunked body, with its extensions.
    ChunkSize,
    /// A trailer field line after the last chunk.
    Trailer,
}

/// A response the decoder refuses, or a connection that ended too early.
///
/// Once [`ResponseDecoder::poll_event`](super::ResponseDecoder::poll_event) has returned an error,
/// it returns the same error on every later call: the connection is no longer usable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpError {
    /// The head grew past [`Limits::max_head_bytes`](super::Limits::max_head_bytes).
    HeadTooLarge {
        /// Head bytes seen so far (at least `max + 1`).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More header (or trailer) fields than [`Limits::max_headers`](super::Limits::max_headers).
    TooManyHeaders {
        /// Field lines counted.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A line longer than [`Limits::max_line_bytes`](super::Limits::max_line_bytes).
    LineTooLong {
        /// Which line.
        kind: LineKind,
        /// Its length so far, without the line ending.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The body (after chunked decoding) is, or declares to be, larger than
    /// [`Limits::max_body_bytes`](super::Limits::max_body_bytes).
    BodyTooLarge {
        /// Body bytes received or declared.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// The gzip-decoded body grew past
    /// [`Limits::max_decompressed_bytes`](super::Limits::max_decompressed_bytes).
    DecompressedBodyTooLarge {
        /// Decompressed bytes produced: decoding stops at the first byte past the limit, after
        /// handing out the bytes up to it.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// The status line or a header field is not valid HTTP/1.x.
    MalformedHead {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `Content-Length` value is not a decimal number that fits in a `u64`.
    InvalidContentLength,
    /// Several `Content-Length` values that differ.
    ConflictingContentLength,
    /// Both `Content-Length` and `Transfer-Encoding`, a classic request-smuggling shape.
    ContentLengthWithTransferEncoding,
    /// A `Transfer-Encoding` other than plain `chunked`.
    UnsupportedTransferEncoding,
    /// A `Content-Encoding` other than `gzip` or `identity` on a response with a body.
    UnsupportedContentEncoding,
    /// The chunked framing is broken.
    MalformedChunk {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The gzip body is corrupt or truncated.
    Gzip(GzipError),
    /// The connection closed in the middle of a response.
    UnexpectedEof,
    /// The connection closed before the first byte of the response: on a reused keep-alive
    /// connection this usually means the server closed it while idle.
    ClosedBeforeResponse,
    /// [`ResponseDecoder::next_response`](super::ResponseDecoder::next_response) was called while
    /// the current response is unfinished or its connection cannot be reused.
    NotReusable,
    /// `101 Switching Protocols` answered a request that did not ask to switch.
    UnexpectedUpgrade,
    /// More interim (1xx) heads than [`MAX_INTERIM_RESPONSES`](super::MAX_INTERIM_RESPONSES)
    /// before a final one.
    TooManyInterimResponses {
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HeadTooLarge { len, max } => {
                write!(f, "response head of {len} bytes exceeds the limit of {max}")
            }
            Self::TooManyHeaders { count, max } => {
                write!(f, "{count} header fields exceed the limit of {max}")
            }
            Self::LineTooLong { kind, len, max } => {
                let what = match kind {
                    LineKind::StatusLine => "status line",
                    LineKind::ChunkSize => "chunk-size line",
                    LineKind::Trailer => "trailer line",
                };
                write!(f, "{what} of {len} bytes exceeds the limit of {max}")
            }
            Self::BodyTooLarge { len, max } => {
                write!(f, "response body of {len} bytes exceeds the limit of {max}")
            }
            Self::DecompressedBodyTooLarge { len, max } => {
                write!(f, "decompressed body of {len} bytes exceeds the limit of {max}")
            }
            Self::MalformedHead { reason } => write!(f, "malformed response head: {reason}"),
            Self::InvalidContentLength => f.write_str("invalid Content-Length"),
            Self::ConflictingContentLength => f.write_str("conflicting Content-Length values"),
            Self::ContentLengthWithTransferEncoding => {
                f.write_str("both Content-Length and Transfer-Encoding")
            }
            Self::UnsupportedTransferEncoding => f.write_str("unsupported Transfer-Encoding"),
            Self::UnsupportedContentEncoding => f.write_str("unsupported Content-Encoding"),
            Self::MalformedChunk { reason } => write!(f, "malformed chunked body: {reason}"),
            Self::Gzip(e) => write!(f, "gzip body: {e}"),
            Self::UnexpectedEof => f.write_str("connection closed in the middle of a response"),
            Self::ClosedBeforeResponse => f.write_str("connection closed before any response"),
            Self::NotReusable => f.write_str("the connection cannot take another response"),
            Self::TooManyInterimResponses { max } => {
                write!(f, "more than {max} interim (1xx) responses before the final one")
            }
            Self::UnexpectedUpgrade => {
                f.write_str("the server switched protocols (101) for a request that did not ask to")
            }
        }
    }
}

impl std::error::Error for HttpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Gzip(e) => Some(e),
            _ => None,
        }
    }
}

impl From<GzipError> for HttpError {
    fn from(e: GzipError) -> Self {
        Self::Gzip(e)
    }
}
