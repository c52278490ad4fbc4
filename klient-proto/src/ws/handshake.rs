//! The opening handshake (RFC 6455 §4.1): the upgrade request and the checks on the 101 response.
//!
//! The HTTP layer writes the request and decodes the response head; this module only decides what
//! the request says and whether the response accepts it. Bytes that followed the response head are
//! the first input of [`Connection::handle_bytes`](super::Connection::handle_bytes).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::header::{
    AUTHORIZATION, CONNECTION, HOST, HeaderMap, HeaderName, HeaderValue, PROXY_AUTHORIZATION,
    SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{Method, Request, StatusCode};

use super::deflate::{DeflateNegotiationError, DeflateOffer, DeflateParams};

/// The GUID that RFC 6455 §1.3 appends to the key before hashing.
const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// What went wrong in the handshake; each check has its own variant.
#[derive(Debug)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The host, path or an extra header could not form a request.
    InvalidRequest(http::Error),
    /// The server answered with a status other than 101 Switching Protocols.
    BadStatus(StatusCode),
    /// The `Upgrade` header is missing or is not `websocket`.
    MissingUpgrade,
    /// The `Connection` header is missing or lacks the `upgrade` token.
    MissingConnectionUpgrade,
    /// There is no `Sec-WebSocket-Accept` header.
    MissingAccept,
    /// `Sec-WebSocket-Accept` does not match our key, so the server did not read our request.
    AcceptMismatch,
    /// The server chose a subprotocol that we did not offer.
    UnofferedProtocol(String),
    /// The server sent `Sec-WebSocket-Protocol` more than once.
    DuplicateProtocol,
    /// The server enabled an extension that we did not offer.
    UnofferedExtension(String),
    /// A handshake header is not visible ASCII.
    NonAsciiHeader(HeaderName),
    /// The server's permessage-deflate parameters are unacceptable.
    Deflate(DeflateNegotiationError),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRequest(e) => write!(f, "cannot build the upgrade request: {e}"),
            Self::BadStatus(s) => write!(f, "server answered {s} instead of 101 Switching Protocols"),
            Self::MissingUpgrade => f.write_str("response lacks `Upgrade: websocket`"),
            Self::MissingConnectionUpgrade => {
                f.write_str("response `Connection` header lacks the `upgrade` token")
            }
            Self::MissingAccept => f.write_str("response lacks Sec-WebSocket-Accept"),
            Self::AcceptMismatch => f.write_str("Sec-WebSocket-Accept does not match our key"),
            Self::UnofferedProtocol(p) => write!(f, "server chose subprotocol {p:?} we did not offer"),
            Self::DuplicateProtocol => f.write_str("server sent Sec-WebSocket-Protocol twice"),
            Self::UnofferedExtension(e) => write!(f, "server enabled extension {e:?} we did not offer"),
            Self::NonAsciiHeader(h) => write!(f, "response header {h} is not visible ASCII"),
            Self::Deflate(e) => write!(f, "permessage-deflate: {e}"),
        }
    }
}

impl std::error::Error for HandshakeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidRequest(e) => Some(e),
            Self::Deflate(e) => Some(e),
            _ => None,
        }
    }
}

/// What the server agreed to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Negotiated {
    /// The subprotocol the server chose, one of those offered; `None` if it chose none.
    pub protocol: Option<String>,
    /// The extensions the server enabled, each as sent (name and parameters), in order.
    pub extensions: Vec<String>,
    /// permessage-deflate parameters, when we offered it and the server accepted; hand them to
    /// [`Config::deflate`](super::Config::deflate).
    pub deflate: Option<DeflateParams>,
}

/// A client's opening handshake: builds the request and checks the response.
///
/// ```
/// use klient_proto::ws::handshake::ClientHandshake;
/// use http::{HeaderMap, HeaderValue, StatusCode};
///
/// let handshake = ClientHandshake::new("example.com", "/chat", [0x01; 16])
///     .protocols(["v5.channel.k8s.io", "v4.channel.k8s.io"]);
/// let request = handshake.request().unwrap();
/// assert_eq!(request.headers()["sec-websocket-key"], "AQEBAQEBAQEBAQEBAQEBAQ==");
///
/// let mut headers = HeaderMap::new();
/// headers.insert("upgrade", HeaderValue::from_static("websocket"));
/// headers.insert("connection", HeaderValue::from_static("Upgrade"));
/// headers.insert("sec-websocket-accept", handshake.expected_accept().parse().unwrap());
/// headers.insert("sec-websocket-protocol", HeaderValue::from_static("v4.channel.k8s.io"));
/// let negotiated = handshake.check_response(StatusCode::SWITCHING_PROTOCOLS, &headers).unwrap();
/// assert_eq!(negotiated.protocol.as_deref(), Some("v4.channel.k8s.io"));
/// ```
#[derive(Clone)]
pub struct ClientHandshake {
    host: String,
    path: String,
    key: String,
    protocols: Vec<String>,
    extensions: Option<String>,
    deflate: Option<DeflateOffer>,
    headers: HeaderMap,
}

impl fmt::Debug for ClientHandshake {
    // Extra headers usually carry credentials: show their names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientHandshake")
            .field("host", &self.host)
            .field("path", &self.path)
            .field("protocols", &self.protocols)
            .field("extensions", &self.extensions)
            .field("deflate", &self.deflate)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ClientHandshake {
    /// A handshake for `path` (with any query) on `host` (with a port if not the default).
    ///
    /// `key_bytes` must come from a good random source: they become `Sec-WebSocket-Key`.
    pub fn new(host: &str, path: &str, key_bytes: [u8; 16]) -> Self {
        Self {
            host: host.to_owned(),
            path: path.to_owned(),
            key: BASE64.encode(key_bytes),
            protocols: Vec::new(),
            extensions: None,
            deflate: None,
            headers: HeaderMap::new(),
        }
    }

    /// Offers subprotocols, most preferred first.
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Offers extensions, as the `Sec-WebSocket-Extensions` value.
    pub fn extensions(mut self, offer: &str) -> Self {
        self.extensions = Some(offer.to_owned());
        self
    }

    /// Offers permessage-deflate (RFC 7692), after any extensions offered before.
    pub fn permessage_deflate(mut self, offer: DeflateOffer) -> Self {
        let value = offer.header_value();
        self.extensions = Some(match self.extensions.take() {
            Some(earlier) => format!("{earlier}, {value}"),
            None => value,
        });
        self.deflate = Some(offer);
        self
    }

    /// Adds a header such as `Authorization`. Credential headers are marked sensitive.
    pub fn header(mut self, name: HeaderName, mut value: HeaderValue) -> Self {
        if name == AUTHORIZATION || name == PROXY_AUTHORIZATION {
            value.set_sensitive(true);
        }
        self.headers.append(name, value);
        self
    }

    /// The `Sec-WebSocket-Key` value sent.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The `Sec-WebSocket-Accept` value a genuine server answers with.
    pub fn expected_accept(&self) -> String {
        let mut sha = sha1_smol::Sha1::new();
        sha.update(self.key.as_bytes());
        sha.update(ACCEPT_GUID.as_bytes());
        BASE64.encode(sha.digest().bytes())
    }

    /// The upgrade request, to be written by the HTTP layer.
    pub fn request(&self) -> Result<Request<()>, HandshakeError> {
        let mut builder = Request::builder()
            .method(Method::GET)
            .uri(self.path.as_str())
            .header(HOST, self.host.as_str())
            .header(UPGRADE, "websocket")
            .header(CONNECTION, "Upgrade")
            .header(SEC_WEBSOCKET_VERSION, "13")
            .header(SEC_WEBSOCKET_KEY, self.key.as_str());
        if !self.protocols.is_empty() {
            builder = builder.header(SEC_WEBSOCKET_PROTOCOL, self.protocols.join(", "));
        }
        if let Some(offer) = &self.extensions {
            builder = builder.header(SEC_WEBSOCKET_EXTENSIONS, offer.as_str());
        }
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        builder.body(()).map_err(HandshakeError::InvalidRequest)
    }

    /// Checks the response head and returns what the server agreed to.
    pub fn check_response(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> Result<Negotiated, HandshakeError> {
        if status != StatusCode::SWITCHING_PROTOCOLS {
            return Err(HandshakeError::BadStatus(status));
        }
        let upgrade = header_str(headers, &UPGRADE)?.ok_or(HandshakeError::MissingUpgrade)?;
        if !upgrade.trim().eq_ignore_ascii_case("websocket") {
            return Err(HandshakeError::MissingUpgrade);
        }
        let mut has_upgrade_token = false;
        for value in headers.get_all(CONNECTION) {
            let value = ascii(value, &CONNECTION)?;
            has_upgrade_token |= value
                .split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
        }
        if !has_upgrade_token {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        let accept = header_str(headers, &SEC_WEBSOCKET_ACCEPT)?.ok_or(HandshakeError::MissingAccept)?;
        if accept.trim() != self.expected_accept() {
            return Err(HandshakeError::AcceptMismatch);
        }
        let protocol = self.check_protocol(headers)?;
        let extensions = self.check_extensions(headers)?;
        let deflate = match &self.deflate {
            Some(offer) => DeflateParams::negotiate(offer, &extensions).map_err(HandshakeError::Deflate)?,
            None => None,
        };
        Ok(Negotiated {
            protocol,
            extensions,
            deflate,
        })
    }

    fn check_protocol(&self, headers: &HeaderMap) -> Result<Option<String>, HandshakeError> {
        let mut values = headers.get_all(SEC_WEBSOCKET_PROTOCOL).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(HandshakeError::DuplicateProtocol);
        }
        let chosen = ascii(value, &SEC_WEBSOCKET_PROTOCOL)?.trim();
        if self.protocols.iter().any(|p| p == chosen) {
            Ok(Some(chosen.to_owned()))
        } else {
            Err(HandshakeError::UnofferedProtocol(chosen.to_owned()))
        }
    }

    fn check_extensions(&self, headers: &HeaderMap) -> Result<Vec<String>, HandshakeError> {
        let offered: Vec<&str> = self
            .extensions
            .iter()
            .flat_map(|offer| offer.split(','))
            .map(extension_name)
            .collect();
        let mut accepted = Vec::new();
        for value in headers.get_all(SEC_WEBSOCKET_EXTENSIONS) {
            for extension in ascii(value, &SEC_WEBSOCKET_EXTENSIONS)?.split(',') {
                let extension = extension.trim();
                if extension.is_empty() {
                    continue;
                }
                if !offered.contains(&extension_name(extension)) {
                    return Err(HandshakeError::UnofferedExtension(extension.to_owned()));
                }
                accepted.push(extension.to_owned());
            }
        }
        Ok(accepted)
    }
}

fn extension_name(extension: &str) -> &str {
    extension.split(';').next().unwrap_or_default().trim()
}

fn ascii<'a>(value: &'a HeaderValue, name: &HeaderName) -> Result<&'a str, HandshakeError> {
    value
        .to_str()
        .map_err(|_| HandshakeError::NonAsciiHeader(name.clone()))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<&'a str>, HandshakeError> {
    headers.get(name).map(|v| ascii(v, name)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake() -> ClientHandshake {
        ClientHandshake::new("k8s.example:6443", "/api/v1/exec?x=1", [7; 16])
            .protocols(["v5.channel.k8s.io", "v4.channel.k8s.io"])
    }

    fn good_headers(h: &ClientHandshake) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(UPGRADE, HeaderValue::from_static("WebSocket"));
        headers.insert(CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        headers.insert(SEC_WEBSOCKET_ACCEPT, h.expected_accept().parse().unwrap());
        headers
    }

    #[test]
    fn accept_matches_the_rfc_example() {
        // RFC 6455 §1.3: key "dGhlIHNhbXBsZSBub25jZQ==" is the base64 of "the sample nonce".
        let h = ClientHandshake::new("h", "/", *b"the sample nonce");
        assert_eq!(h.key(), "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(h.expected_accept(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn request_carries_every_header_in_order() {
        let h = handshake()
            .extensions("permessage-deflate; client_max_window_bits")
            .header(AUTHORIZATION, HeaderValue::from_static("Bearer secret"));
        let req = h.request().unwrap();
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.uri(), "/api/v1/exec?x=1");
        let hd = req.headers();
        assert_eq!(hd[HOST], "k8s.example:6443");
        assert_eq!(hd[UPGRADE], "websocket");
        assert_eq!(hd[CONNECTION], "Upgrade");
        assert_eq!(hd[SEC_WEBSOCKET_VERSION], "13");
        assert_eq!(hd[SEC_WEBSOCKET_KEY], h.key());
        assert_eq!(hd[SEC_WEBSOCKET_PROTOCOL], "v5.channel.k8s.io, v4.channel.k8s.io");
        assert_eq!(
            hd[SEC_WEBSOCKET_EXTENSIONS],
            "permessage-deflate; client_max_window_bits"
        );
        assert!(hd[AUTHORIZATION].is_sensitive());
        assert!(!format!("{h:?}").contains("secret"));
    }

    #[test]
    fn no_protocol_header_without_offer() {
        let req = ClientHandshake::new("h", "/", [0; 16]).request().unwrap();
        assert!(!req.headers().contains_key(SEC_WEBSOCKET_PROTOCOL));
        assert!(!req.headers().contains_key(SEC_WEBSOCKET_EXTENSIONS));
    }

    #[test]
    fn invalid_path_is_an_error() {
        let h = ClientHandshake::new("h", "/a b", [0; 16]);
        assert!(matches!(h.request(), Err(HandshakeError::InvalidRequest(_))));
    }

    #[test]
    fn good_response_without_protocol() {
        let h = handshake();
        let n = h
            .check_response(StatusCode::SWITCHING_PROTOCOLS, &good_headers(&h))
            .unwrap();
        assert_eq!(n, Negotiated::default());
    }

    #[test]
    fn good_response_with_offered_protocol() {
        let h = handshake();
        let mut headers = good_headers(&h);
        headers.insert(
            SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("v5.channel.k8s.io"),
        );
        let n = h
            .check_response(StatusCode::SWITCHING_PROTOCOLS, &headers)
            .unwrap();
        assert_eq!(n.protocol.as_deref(), Some("v5.channel.k8s.io"));
    }

    #[test]
    fn each_bad_response_has_its_error() {
        let h = handshake();
        let status = StatusCode::SWITCHING_PROTOCOLS;
        let check = |f: &dyn Fn(&mut HeaderMap)| {
            let mut headers = good_headers(&h);
            f(&mut headers);
            h.check_response(status, &headers).unwrap_err()
        };
        assert!(matches!(
            h.check_response(StatusCode::FORBIDDEN, &good_headers(&h)),
            Err(HandshakeError::BadStatus(StatusCode::FORBIDDEN))
        ));
        assert!(matches!(
            check(&|m| {
                m.remove(UPGRADE);
            }),
            HandshakeError::MissingUpgrade
        ));
        assert!(matches!(
            check(&|m| {
                m.insert(UPGRADE, HeaderValue::from_static("h2c"));
            }),
            HandshakeError::MissingUpgrade
        ));
        assert!(matches!(
            check(&|m| {
                m.insert(CONNECTION, HeaderValue::from_static("close"));
            }),
            HandshakeError::MissingConnectionUpgrade
        ));
        assert!(matches!(
            check(&|m| {
                m.remove(SEC_WEBSOCKET_ACCEPT);
            }),
            HandshakeError::MissingAccept
        ));
        assert!(matches!(
            check(&|m| {
                m.insert(
                    SEC_WEBSOCKET_ACCEPT,
                    HeaderValue::from_static("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
                );
            }),
            HandshakeError::AcceptMismatch
        ));
        assert!(matches!(
            check(&|m| {
                m.insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("v3.channel.k8s.io"));
            }),
            HandshakeError::UnofferedProtocol(p) if p == "v3.channel.k8s.io"
        ));
        assert!(matches!(
            check(&|m| {
                m.append(
                    SEC_WEBSOCKET_PROTOCOL,
                    HeaderValue::from_static("v5.channel.k8s.io"),
                );
                m.append(
                    SEC_WEBSOCKET_PROTOCOL,
                    HeaderValue::from_static("v4.channel.k8s.io"),
                );
            }),
            HandshakeError::DuplicateProtocol
        ));
        assert!(matches!(
            check(&|m| {
                m.insert(SEC_WEBSOCKET_EXTENSIONS, HeaderValue::from_static("permessage-deflate"));
            }),
            HandshakeError::UnofferedExtension(e) if e == "permessage-deflate"
        ));
        assert!(matches!(
            check(&|m| {
                m.insert(UPGRADE, HeaderValue::from_bytes(b"web\xffsocket").unwrap());
            }),
            HandshakeError::NonAsciiHeader(_)
        ));
    }

    #[test]
    fn protocol_without_any_offer_is_rejected() {
        let h = ClientHandshake::new("h", "/", [1; 16]);
        let mut headers = good_headers(&h);
        headers.insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("chat"));
        assert!(matches!(
            h.check_response(StatusCode::SWITCHING_PROTOCOLS, &headers),
            Err(HandshakeError::UnofferedProtocol(_))
        ));
    }

    #[test]
    fn offered_extension_is_accepted_with_parameters() {
        let h = handshake().extensions("permessage-deflate; client_max_window_bits");
        let mut headers = good_headers(&h);
        headers.insert(
            SEC_WEBSOCKET_EXTENSIONS,
            HeaderValue::from_static("permessage-deflate; server_no_context_takeover"),
        );
        let n = h
            .check_response(StatusCode::SWITCHING_PROTOCOLS, &headers)
            .unwrap();
        assert_eq!(n.extensions, ["permessage-deflate; server_no_context_takeover"]);
        assert_eq!(
            n.deflate, None,
            "parsed only when offered through permessage_deflate"
        );
    }

    #[test]
    fn deflate_offer_and_answer() {
        let h = handshake().permessage_deflate(DeflateOffer::default());
        let req = h.request().unwrap();
        assert_eq!(
            req.headers()[SEC_WEBSOCKET_EXTENSIONS],
            "permessage-deflate; client_max_window_bits"
        );
        let mut headers = good_headers(&h);
        let n = h
            .check_response(StatusCode::SWITCHING_PROTOCOLS, &headers)
            .unwrap();
        assert_eq!(n.deflate, None, "declined");
        headers.insert(
            SEC_WEBSOCKET_EXTENSIONS,
            HeaderValue::from_static("permessage-deflate; client_max_window_bits=12"),
        );
        let n = h
            .check_response(StatusCode::SWITCHING_PROTOCOLS, &headers)
            .unwrap();
        assert_eq!(n.deflate.map(|d| d.client_max_window_bits), Some(12));
        headers.insert(
            SEC_WEBSOCKET_EXTENSIONS,
            HeaderValue::from_static("permessage-deflate; bogus"),
        );
        assert!(matches!(
            h.check_response(StatusCode::SWITCHING_PROTOCOLS, &headers),
            Err(HandshakeError::Deflate(
                DeflateNegotiationError::UnknownParameter(_)
            ))
        ));
    }
}
