//! A tunnel through an HTTP proxy: `CONNECT host:port`, and the proxy's answer. A 2xx opens the
//! tunnel, and the connection then carries TLS to the API server; anything else is the proxy's
//! refusal. A proxy that sends bytes after its 2xx before the client spoke is broken (the
//! server cannot have sent them: TLS begins with the client), and is refused too.

use std::fmt;

use http::{HeaderValue, Method, StatusCode};

use super::{EncodeError, HttpError, HttpEvent, Limits, Progress, ResponseDecoder, encode_connect};

/// Why a tunnel could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TunnelError {
    /// The proxy answered `CONNECT` with something other than 2xx (407: it wants credentials).
    Refused {
        /// Its status.
        status: StatusCode,
    },
    /// The proxy sent bytes after opening the tunnel, before the client sent any.
    BytesBeforeTunnel {
        /// How many.
        len: usize,
    },
    /// The proxy's answer broke HTTP/1.1 or a limit, or it closed the connection.
    Http(HttpError),
}

impl fmt::Display for TunnelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TunnelError::Refused { status } => write!(f, "the proxy refused the tunnel: {status}"),
            TunnelError::BytesBeforeTunnel { len } => {
                write!(f, "the proxy sent {len} bytes before the tunnel's first byte")
            }
            TunnelError::Http(e) => write!(f, "the proxy's answer: {e}"),
        }
    }
}

impl std::error::Error for TunnelError {}

/// Opening a tunnel: write [`poll_transmit`](Self::poll_transmit), feed the proxy's bytes, and
/// poll [`poll_open`](Self::poll_open) until it answers `Ok(true)`.
pub struct Tunnel {
    request: Vec<u8>,
    written: usize,
    decoder: ResponseDecoder,
}

/// Debug shows sizes only: the CONNECT carries the proxy's credentials.
impl fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tunnel")
            .field("request_len", &self.request.len())
            .field("written", &self.written)
            .field("decoder", &self.decoder)
            .finish()
    }
}

impl Tunnel {
    /// A tunnel to `authority` (`host:port` of the API server), with the proxy's credentials if
    /// its URL carried any.
    pub fn new(
        authority: &str,
        proxy_authorization: Option<&HeaderValue>,
        limits: Limits,
    ) -> Result<Self, EncodeError> {
        let mut request = Vec::new();
        encode_connect(authority, proxy_authorization, &mut request)?;
        Ok(Tunnel {
            request,
            written: 0,
            decoder: ResponseDecoder::new(&Method::CONNECT, limits),
        })
    }

    /// The `CONNECT` bytes not written yet.
    pub fn poll_transmit(&self) -> &[u8] {
        &self.request[self.written..]
    }

    /// `n` bytes of [`poll_transmit`](Self::poll_transmit) were written.
    pub fn handle_written(&mut self, n: usize) {
        self.written = (self.written + n).min(self.request.len());
    }

    /// Bytes from the proxy.
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        self.decoder.handle_bytes(bytes);
    }

    /// The proxy closed the connection.
    pub fn handle_eof(&mut self) {
        self.decoder.handle_eof();
    }

    /// `Ok(true)` once the tunnel is open (the connection now leads to the server), `Ok(false)`
    /// while the proxy's answer is incomplete.
    pub fn poll_open(&mut self) -> Result<bool, TunnelError> {
        loop {
            match self.decoder.poll_event().map_err(TunnelError::Http)? {
                Progress::Event(HttpEvent::Upgraded { leftover, .. }) if leftover.is_empty() => {
                    return Ok(true);
                }
                Progress::Event(HttpEvent::Upgraded { leftover, .. }) => {
                    return Err(TunnelError::BytesBeforeTunnel { len: leftover.len() });
                }
                Progress::Event(HttpEvent::Head(head)) => {
                    return Err(TunnelError::Refused { status: head.status });
                }
                Progress::Event(_) => continue,
                Progress::NeedData => return Ok(false),
                // Upgraded and Head both return above; a decoder past them has nothing to add.
                Progress::Finished => return Err(TunnelError::Http(HttpError::NotReusable)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tunnel() -> Tunnel {
        let mut tunnel = Tunnel::new(
            "10.0.0.1:6443",
            Some(&HeaderValue::from_static("Basic dTpw")),
            Limits::default(),
        )
        .unwrap();
        assert_eq!(
            tunnel.poll_transmit(),
            b"CONNECT 10.0.0.1:6443 HTTP/1.1\r\nHost: 10.0.0.1:6443\r\nProxy-Authorization: Basic dTpw\r\n\r\n"
        );
        tunnel.handle_written(tunnel.poll_transmit().len());
        tunnel
    }

    #[test]
    fn a_2xx_opens_the_tunnel_and_anything_else_is_a_refusal() {
        let mut open = tunnel();
        open.handle_bytes(b"HTTP/1.1 200 Connection");
        assert_eq!(open.poll_open(), Ok(false));
        open.handle_bytes(b" established\r\n\r\n");
        assert_eq!(open.poll_open(), Ok(true));

        let mut refused = tunnel();
        refused.handle_bytes(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(
            refused.poll_open(),
            Err(TunnelError::Refused {
                status: StatusCode::PROXY_AUTHENTICATION_REQUIRED
            })
        );

        let mut early = tunnel();
        early.handle_bytes(b"HTTP/1.1 200 OK\r\n\r\n\x16\x03");
        assert_eq!(early.poll_open(), Err(TunnelError::BytesBeforeTunnel { len: 2 }));

        let mut closed = tunnel();
        closed.handle_eof();
        assert!(matches!(
            closed.poll_open(),
            Err(TunnelError::Http(HttpError::ClosedBeforeResponse))
        ));
    }
}
