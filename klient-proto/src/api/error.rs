//! Errors of building a request and of reading its response.

use super::status::ApiError;
use crate::protobuf::ProtobufError;
use std::fmt;

/// Which user-supplied path segment was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment {
    /// An object name.
    Name,
    /// A namespace.
    Namespace,
    /// A subresource name (`status`, `scale`...).
    Subresource,
    /// The group, version or plural of a kind.
    Resource,
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Segment::Name => "name",
            Segment::Namespace => "namespace",
            Segment::Subresource => "subresource",
            Segment::Resource => "group, version or plural",
        })
    }
}

/// Why a name or namespace cannot be put in a URL path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadSegment {
    /// It is empty: the URL would address the collection instead of one object.
    Empty,
    /// It contains `/`, which would change the path.
    ContainsSlash,
    /// It contains `%`, which the server would decode a second time.
    ContainsPercent,
    /// It is `.` or `..`, which path normalisation would remove.
    DotSegment,
}

impl fmt::Display for BadSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BadSegment::Empty => "is empty",
            BadSegment::ContainsSlash => "contains '/'",
            BadSegment::ContainsPercent => "contains '%'",
            BadSegment::DotSegment => "is '.' or '..'",
        })
    }
}

/// A request could not be built from what the caller asked for.
#[derive(Debug)]
#[non_exhaustive]
pub enum RequestError {
    /// A name or namespace cannot be placed in a URL path.
    InvalidSegment {
        /// Which one.
        segment: Segment,
        /// The rejected value.
        value: String,
        /// What is wrong with it.
        problem: BadSegment,
    },
    /// The operation addresses one namespaced object but no namespace was given.
    NamespaceRequired {
        /// The kind concerned.
        kind: String,
    },
    /// A namespace was given for a cluster-scoped kind.
    NamespaceNotAllowed {
        /// The kind concerned.
        kind: String,
    },
    /// The kind is a subresource (`Scale`, `Eviction`...) and has no URLs of its own.
    NotARootResource {
        /// The kind concerned.
        kind: String,
    },
    /// This subresource exists only for another kind (e.g. `log` only for core/v1 pods).
    UnsupportedSubresource {
        /// The subresource asked for.
        subresource: &'static str,
        /// The kind it was asked on.
        kind: String,
    },
    /// `resourceVersionMatch` was set without a `resourceVersion`; the server rejects that.
    ResourceVersionMatchWithoutVersion,
    /// `continue` and `resourceVersion` were both set; the server rejects that.
    ContinueWithResourceVersion,
    /// `sendInitialEvents` needs `allowWatchBookmarks`, since the initial set ends with a bookmark.
    InitialEventsNeedBookmarks,
    /// Server-side apply needs a field manager.
    ApplyNeedsFieldManager,
    /// `force` only means something for server-side apply.
    ForceOnlyForApply,
    /// `sinceTime` and `sinceSeconds` of a log request are mutually exclusive.
    SinceTimeAndSinceSeconds,
    /// A JSON patch must serialize to a JSON array of operations.
    JsonPatchNotArray,
    /// The body could not be serialized to JSON.
    Serialize(serde_json::Error),
    /// The `http` crate rejected the request (a bug: every segment is validated and encoded).
    Http(http::Error),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::InvalidSegment {
                segment,
                value,
                problem,
            } => write!(f, "invalid {segment} {value:?}: it {problem}"),
            RequestError::NamespaceRequired { kind } => {
                write!(f, "{kind} is namespaced: this operation needs a namespace")
            }
            RequestError::NamespaceNotAllowed { kind } => {
                write!(f, "{kind} is cluster-scoped: a namespace cannot be given")
            }
            RequestError::NotARootResource { kind } => {
                write!(f, "{kind} is a subresource and has no URLs of its own")
            }
            RequestError::UnsupportedSubresource { subresource, kind } => {
                write!(f, "subresource {subresource:?} does not exist for {kind}")
            }
            RequestError::ResourceVersionMatchWithoutVersion => {
                f.write_str("resourceVersionMatch needs a resourceVersion")
            }
            RequestError::ContinueWithResourceVersion => {
                f.write_str("a continue token cannot be combined with a resourceVersion")
            }
            RequestError::InitialEventsNeedBookmarks => {
                f.write_str("sendInitialEvents needs allowWatchBookmarks")
            }
            RequestError::ApplyNeedsFieldManager => f.write_str("server-side apply needs a field manager"),
            RequestError::ForceOnlyForApply => {
                f.write_str("force is only valid for server-side apply patches")
            }
            RequestError::SinceTimeAndSinceSeconds => {
                f.write_str("sinceTime and sinceSeconds cannot both be set")
            }
            RequestError::JsonPatchNotArray => f.write_str("a JSON patch must be an array of operations"),
            RequestError::Serialize(e) => write!(f, "cannot serialize the request body: {e}"),
            RequestError::Http(e) => write!(f, "cannot build the HTTP request: {e}"),
        }
    }
}

impl std::error::Error for RequestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RequestError::Serialize(e) => Some(e),
            RequestError::Http(e) => Some(e),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for RequestError {
    fn from(e: serde_json::Error) -> Self {
        RequestError::Serialize(e)
    }
}

impl From<http::Error> for RequestError {
    fn from(e: http::Error) -> Self {
        RequestError::Http(e)
    }
}

/// At most this many bytes of an unexpected body are kept in an error.
pub const BODY_SNIPPET_MAX: usize = 512;

/// The start of a body, kept in errors so that a proxy's HTML page or a truncated object can be
/// seen, but never more than [`BODY_SNIPPET_MAX`] bytes of it.
#[derive(Clone, PartialEq, Eq)]
pub struct BodySnippet {
    text: String,
    total_len: usize,
}

impl BodySnippet {
    /// Keeps the first [`BODY_SNIPPET_MAX`] bytes of `body`, invalid UTF-8 replaced.
    pub fn new(body: &[u8]) -> Self {
        let head = body.get(..BODY_SNIPPET_MAX).unwrap_or(body);
        BodySnippet {
            text: String::from_utf8_lossy(head).into_owned(),
            total_len: body.len(),
        }
    }

    /// The kept text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Length of the whole body, in bytes.
    pub fn total_len(&self) -> usize {
        self.total_len
    }

    /// Whether the body was longer than what was kept.
    pub fn is_truncated(&self) -> bool {
        self.total_len > BODY_SNIPPET_MAX
    }
}

impl fmt::Debug for BodySnippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for BodySnippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)?;
        if self.is_truncated() {
            write!(f, "... ({} bytes in all)", self.total_len)?;
        }
        Ok(())
    }
}

/// A response could not be turned into the value the caller asked for.
#[derive(Debug)]
#[non_exhaustive]
pub enum ResponseError {
    /// The server refused the request and said why in a `metav1.Status` (boxed: it is large and
    /// results travel through hot paths).
    Api(Box<ApiError>),
    /// The server (or a proxy in front of it) failed with a body that is not a Status: plain
    /// text, HTML, or some other JSON.
    Unexpected {
        /// HTTP status code.
        code: u16,
        /// The start of the body.
        body: BodySnippet,
    },
    /// A success response whose body is not the expected object.
    Decode {
        /// HTTP status code.
        code: u16,
        /// What serde_json reported.
        error: serde_json::Error,
        /// The start of the body.
        body: BodySnippet,
    },
    /// A success response in protobuf whose body is not the expected object. (The body is not
    /// kept: protobuf bytes are not readable, and may be a Secret's data.)
    Protobuf {
        /// HTTP status code.
        code: u16,
        /// What is wrong with the bytes.
        error: ProtobufError,
    },
    /// A success list response whose JSON body could not be read item by item (see
    /// [`ListDecoder`](super::ListDecoder)).
    List {
        /// HTTP status code.
        code: u16,
        /// What is wrong with the body (no body is kept: it is read in pieces).
        error: super::ListDecodeError,
    },
    /// A success list response whose protobuf body could not be read item by item (see
    /// [`ProtobufListDecoder`](super::ProtobufListDecoder)).
    ProtobufList {
        /// HTTP status code.
        code: u16,
        /// What is wrong with the body (no body is kept: it is read in pieces).
        error: super::ProtobufListError,
    },
    /// A success response in a media type the expected value cannot be read from: protobuf for
    /// a type that has no protobuf form.
    UnexpectedContentType {
        /// HTTP status code.
        code: u16,
        /// The response's `Content-Type`.
        content_type: String,
    },
}

impl ResponseError {
    /// The HTTP status code of the failed response.
    pub fn code(&self) -> u16 {
        match self {
            ResponseError::Api(e) => e.code,
            ResponseError::Unexpected { code, .. }
            | ResponseError::Decode { code, .. }
            | ResponseError::Protobuf { code, .. }
            | ResponseError::List { code, .. }
            | ResponseError::ProtobufList { code, .. }
            | ResponseError::UnexpectedContentType { code, .. } => *code,
        }
    }

    /// The API error, when the server sent a Status.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            ResponseError::Api(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::Api(e) => fmt::Display::fmt(e, f),
            ResponseError::Unexpected { code, body } => {
                write!(f, "HTTP {code} without a Status body: {body}")
            }
            ResponseError::Decode { code, error, body } => {
                write!(f, "cannot decode the HTTP {code} body: {error}; body: {body}")
            }
            ResponseError::Protobuf { code, error } => {
                write!(f, "cannot decode the HTTP {code} protobuf body: {error}")
            }
            ResponseError::List { code, error } => {
                write!(f, "cannot decode the HTTP {code} list body: {error}")
            }
            ResponseError::ProtobufList { code, error } => {
                write!(f, "cannot decode the HTTP {code} list body: {error}")
            }
            ResponseError::UnexpectedContentType { code, content_type } => {
                write!(
                    f,
                    "the HTTP {code} body is {content_type:?}, which this type cannot be read from"
                )
            }
        }
    }
}

impl std::error::Error for ResponseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ResponseError::Api(e) => Some(e.as_ref()),
            ResponseError::Decode { error, .. } => Some(error),
            ResponseError::Protobuf { error, .. } => Some(error),
            ResponseError::List { error, .. } => Some(error),
            ResponseError::ProtobufList { error, .. } => Some(error),
            ResponseError::Unexpected { .. } | ResponseError::UnexpectedContentType { .. } => None,
        }
    }
}

impl From<ApiError> for ResponseError {
    fn from(e: ApiError) -> Self {
        ResponseError::Api(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_is_bounded_and_says_so() {
        let body = vec![b'x'; 10_000];
        let s = BodySnippet::new(&body);
        assert_eq!(s.text().len(), BODY_SNIPPET_MAX);
        assert!(s.is_truncated());
        assert!(s.to_string().ends_with("(10000 bytes in all)"));
    }

    #[test]
    fn snippet_survives_invalid_and_split_utf8() {
        let mut body = vec![b'a'; BODY_SNIPPET_MAX - 1];
        body.extend_from_slice("é".as_bytes()); // split across the limit
        body.push(0xff);
        let s = BodySnippet::new(&body);
        assert!(s.text().ends_with('\u{fffd}'));
        let short = BodySnippet::new(b"\xff\xfe");
        assert_eq!(short.text(), "\u{fffd}\u{fffd}");
        assert!(!short.is_truncated());
    }

    #[test]
    fn request_errors_name_their_input() {
        let e = RequestError::InvalidSegment {
            segment: Segment::Name,
            value: "a/b".into(),
            problem: BadSegment::ContainsSlash,
        };
        assert_eq!(e.to_string(), "invalid name \"a/b\": it contains '/'");
    }
}
