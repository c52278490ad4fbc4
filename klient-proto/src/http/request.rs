//! Request heads and bodies onto the wire.

use std::fmt;
use std::str::FromStr;

use http::uri::Authority;
use http::{HeaderMap, HeaderValue, Method, Request, header};

/// Why a request could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The server authority is not `host[:port]` (or, for CONNECT, lacks the port).
    InvalidAuthority,
    /// A header value contains CR, LF or NUL, which would let it inject header lines.
    InvalidHeaderValue {
        /// The field whose value was refused.
        name: String,
    },
    /// The request sets `Transfer-Encoding`; bodies are always sent with a `Content-Length`.
    TransferEncodingNotSupported,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidAuthority => f.write_str("invalid server authority"),
            Self::InvalidHeaderValue { name } => write!(f, "invalid value for header {name}"),
            Self::TransferEncodingNotSupported => f.write_str("Transfer-Encoding is not supported"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// Appends `request` to `out` as an HTTP/1.1 message for the server at `authority` (`host:port`).
///
/// Writes the request line with the URI's origin form (path and query; `/` when empty), `Host`
/// from `authority` (a `Host` field in the request is ignored), the request's header fields,
/// `Content-Length` when there is a body or the method is POST, PUT or PATCH (a `Content-Length`
/// field in the request is ignored), then the body. The request's version is ignored: it is
/// always HTTP/1.1. On error `out` is left as it was.
///
/// ```
/// use klient_proto::http::encode_request;
///
/// let request = http::Request::post("/api/v1/namespaces/x/pods")
///     .header("content-type", "application/json")
///     .body(b"{}".to_vec())?;
/// let mut out = Vec::new();
/// encode_request(&request, "[::1]:6443", &mut out)?;
/// assert_eq!(
///     out,
///     b"POST /api/v1/namespaces/x/pods HTTP/1.1\r\nHost: [::1]:6443\r\n\
///       content-type: application/json\r\nContent-Length: 2\r\n\r\n{}"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_request(
    request: &Request<Vec<u8>>,
    authority: &str,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    check_authority(authority, false)?;
    let headers = request.headers();
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return Err(EncodeError::TransferEncodingNotSupported);
    }
    check_headers(headers)?;
    let target = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let body = request.body();
    let method = request.method();

    out.reserve(64 + target.len() + authority.len() + 32 * headers.len() + body.len());
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(if target.is_empty() {
        b"/"
    } else {
        target.as_bytes()
    });
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(authority.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        if name == header::HOST || name == header::CONTENT_LENGTH {
            continue;
        }
        write_field(out, name.as_str(), value);
    }
    let expects_body = [Method::POST, Method::PUT, Method::PATCH].contains(method);
    if !body.is_empty() || expects_body {
        out.extend_from_slice(b"Content-Length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Ok(())
}

/// Appends a `CONNECT authority HTTP/1.1` request, which asks a proxy for a tunnel to
/// `authority` (`host:port`). Decode its answer with a
/// [`ResponseDecoder`](super::ResponseDecoder) made for `Method::CONNECT`: a 2xx arrives as
/// [`HttpEvent::Upgraded`](super::HttpEvent::Upgraded). On error `out` is left as it was.
///
/// ```
/// use klient_proto::http::encode_connect;
///
/// let mut out = Vec::new();
/// encode_connect("api.example:443", None, &mut out)?;
/// assert_eq!(out, b"CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n\r\n");
/// # Ok::<(), klient_proto::http::EncodeError>(())
/// ```
pub fn encode_connect(
    authority: &str,
    proxy_authorization: Option<&HeaderValue>,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    check_authority(authority, true)?;
    if let Some(value) = proxy_authorization {
        check_value(header::PROXY_AUTHORIZATION.as_str(), value.as_bytes())?;
    }
    out.extend_from_slice(b"CONNECT ");
    out.extend_from_slice(authority.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(authority.as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(value) = proxy_authorization {
        write_field(out, "Proxy-Authorization", value);
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// Asks for a gzip-encoded response body (which [`ResponseDecoder`](super::ResponseDecoder)
/// decodes transparently), unless the caller already chose an `Accept-Encoding`.
pub fn accept_gzip(headers: &mut HeaderMap) {
    headers
        .entry(header::ACCEPT_ENCODING)
        .or_insert(HeaderValue::from_static("gzip"));
}

fn write_field(out: &mut Vec<u8>, name: &str, value: &HeaderValue) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `host[:port]` with no user info, path or whitespace; CONNECT needs the port.
fn check_authority(authority: &str, need_port: bool) -> Result<(), EncodeError> {
    let parsed = Authority::from_str(authority).map_err(|_| EncodeError::InvalidAuthority)?;
    let clean = !authority.is_empty()
        && !authority.contains('@')
        && authority.bytes().all(|b| b.is_ascii_graphic())
        && (!need_port || parsed.port_u16().is_some());
    if clean {
        Ok(())
    } else {
        Err(EncodeError::InvalidAuthority)
    }
}

/// `http` refuses these bytes in values built with its safe constructors, but not in those built
/// with its unchecked (`from_maybe_shared_unchecked`) ones; a CR or LF here would inject header lines.
fn check_headers(headers: &HeaderMap) -> Result<(), EncodeError> {
    headers
        .iter()
        .try_for_each(|(name, value)| check_value(name.as_str(), value.as_bytes()))
}

fn check_value(name: &str, value: &[u8]) -> Result<(), EncodeError> {
    if value.iter().any(|b| matches!(b, b'\r' | b'\n' | b'\0')) {
        return Err(EncodeError::InvalidHeaderValue {
            name: name.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(request: &Request<Vec<u8>>) -> Result<String, EncodeError> {
        let mut out = b"previous".to_vec();
        let result = encode_request(request, "10.96.0.1:443", &mut out);
        if result.is_err() {
            assert_eq!(out, b"previous", "output touched on error");
        }
        result.map(|()| String::from_utf8(out.split_off(8)).unwrap())
    }

    #[test]
    fn get_with_query_and_headers() {
        let mut request = Request::get("https://ignored.example/api/v1/namespaces/x/pods?limit=5")
            .header("accept", "application/json")
            .header("host", "evil")
            .body(Vec::new())
            .unwrap();
        accept_gzip(request.headers_mut());
        assert_eq!(
            encode(&request).unwrap(),
            "GET /api/v1/namespaces/x/pods?limit=5 HTTP/1.1\r\nHost: 10.96.0.1:443\r\n\
             accept: application/json\r\naccept-encoding: gzip\r\n\r\n"
        );
    }

    #[test]
    fn accept_gzip_keeps_caller_choice() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        accept_gzip(&mut headers);
        assert_eq!(headers[header::ACCEPT_ENCODING], "identity");
    }

    #[test]
    fn content_length_rules() {
        let empty_post = Request::post("/x")
            .header("content-length", "99")
            .body(Vec::new())
            .unwrap();
        assert_eq!(
            encode(&empty_post).unwrap(),
            "POST /x HTTP/1.1\r\nHost: 10.96.0.1:443\r\nContent-Length: 0\r\n\r\n"
        );
        let patch = Request::patch("/x").body(b"[]".to_vec()).unwrap();
        assert!(encode(&patch).unwrap().ends_with("Content-Length: 2\r\n\r\n[]"));
        let delete = Request::delete("/x").body(Vec::new()).unwrap();
        assert!(!encode(&delete).unwrap().contains("Content-Length"));
        let delete_with_body = Request::delete("/x").body(b"{}".to_vec()).unwrap();
        assert!(
            encode(&delete_with_body)
                .unwrap()
                .ends_with("Content-Length: 2\r\n\r\n{}")
        );
        let chunked = Request::post("/x")
            .header("transfer-encoding", "chunked")
            .body(Vec::new())
            .unwrap();
        assert_eq!(encode(&chunked), Err(EncodeError::TransferEncodingNotSupported));
    }

    #[test]
    fn upgrade_headers_pass_through() {
        let request = Request::get("/api/v1/namespaces/x/pods/p/exec?command=sh&stdin=true")
            .header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-protocol", "v5.channel.k8s.io, v4.channel.k8s.io")
            .body(Vec::new())
            .unwrap();
        let wire = encode(&request).unwrap();
        assert!(wire.contains("\r\nconnection: Upgrade\r\nupgrade: websocket\r\n"));
    }

    #[test]
    fn header_injection_is_refused() {
        // `http` refuses such values in every safe constructor; the encoder's own check is a
        // second line of defence, exercised directly.
        assert!(HeaderValue::from_bytes(b"a\r\nX-Evil: 1").is_err());
        for bad in [&b"a\r\nX-Evil: 1"[..], b"a\n", b"a\rb", b"a\0"] {
            assert_eq!(
                check_value("x-note", bad),
                Err(EncodeError::InvalidHeaderValue {
                    name: "x-note".into()
                })
            );
        }
        assert_eq!(check_value("x-note", b"a\tb \x80"), Ok(()));
    }

    #[test]
    fn authority_checks() {
        let request = Request::get("/").body(Vec::new()).unwrap();
        for bad in [
            "",
            "a b:1",
            "host\r\nX: 1",
            "user@host:1",
            "host/path",
            "host:1\n",
        ] {
            assert_eq!(
                encode_request(&request, bad, &mut Vec::new()),
                Err(EncodeError::InvalidAuthority),
                "{bad:?}"
            );
        }
        assert_eq!(
            encode_connect("host", None, &mut Vec::new()),
            Err(EncodeError::InvalidAuthority)
        );
    }

    #[test]
    fn connect_with_credentials() {
        let mut out = Vec::new();
        let mut auth = HeaderValue::from_static("Basic dXNlcjpwYXNz");
        auth.set_sensitive(true);
        encode_connect("10.0.0.1:6443", Some(&auth), &mut out).unwrap();
        assert_eq!(
            out,
            b"CONNECT 10.0.0.1:6443 HTTP/1.1\r\nHost: 10.0.0.1:6443\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n"
        );
    }
}
