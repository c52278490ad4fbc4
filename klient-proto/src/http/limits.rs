//! The bounds a [`ResponseDecoder`](super::ResponseDecoder) enforces on what a server sends.

/// Upper bounds on every buffer and counter of the response decoder.
///
/// Each bound has its own [`HttpError`](super::HttpError) variant carrying the offending size and
/// the limit. The defaults suit a Kubernetes API server: its heads are a few hundred bytes, and its
/// largest bodies are big `list` responses.
///
/// Body limits apply per response. A watch stream is one response that can last hours and carry
/// gigabytes in total, so a watcher should raise [`max_body_bytes`](Self::max_body_bytes) and
/// [`max_decompressed_bytes`](Self::max_decompressed_bytes) (for example to `u64::MAX`) and bound
/// each watch event in its own framing layer instead.
///
/// ```
/// use klient_proto::http::Limits;
///
/// let watch = Limits { max_body_bytes: u64::MAX, max_decompressed_bytes: u64::MAX, ..Limits::default() };
/// assert_eq!(watch.max_headers, Limits::default().max_headers);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes in a response head: status line, header lines and the empty line ending them.
    /// Default 64 KiB.
    pub max_head_bytes: usize,
    /// Most header fields in a head, and most trailer fields after a chunked body. Default 100.
    pub max_headers: usize,
    /// Longest status line, chunk-size line (with extensions) or trailer line, without its line
    /// ending. Default 8 KiB.
    pub max_line_bytes: usize,
    /// Most body bytes after removing the chunked framing, before any decompression.
    /// Default 512 MiB.
    pub max_body_bytes: u64,
    /// Most body bytes after gzip decompression; this is what stops a gzip bomb.
    /// Default 512 MiB.
    pub max_decompressed_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head_bytes: 64 * 1024,
            max_headers: 100,
            max_line_bytes: 8 * 1024,
            max_body_bytes: 512 * 1024 * 1024,
            max_decompressed_bytes: 512 * 1024 * 1024,
        }
    }
}
