//! HTTP/1.1 for talking to the API server: request encoding and an incremental response decoder.
//!
//! [`encode_request`] turns an `http::Request<Vec<u8>>` (as the api module builds them) into wire
//! bytes; [`encode_connect`] writes the `CONNECT` that opens a tunnel through a proxy.
//! [`ResponseDecoder`] turns the bytes that come back into [`HttpEvent`]s, enforcing a [`Limits`] on
//! every buffer, decoding chunked and gzip bodies, deciding whether the connection can be reused,
//! and handing over the bytes after a `101 Switching Protocols` to the next protocol.
//!
//! [`encode_request`]: crate::http::encode_request
//! [`encode_connect`]: crate::http::encode_connect
//! [`ResponseDecoder`]: crate::http::ResponseDecoder
//! [`HttpEvent`]: crate::http::HttpEvent
//! [`Limits`]: crate::http::Limits
//!
//! ```
//! use klient_proto::http::{HttpEvent, Limits, Progress, ResponseDecoder, accept_gzip, encode_request};
//!
//! let mut request = http::Request::get("/api/v1/namespaces?limit=5").body(Vec::new()).unwrap();
//! accept_gzip(request.headers_mut());
//! let mut wire = Vec::new();
//! encode_request(&request, "10.0.0.1:6443", &mut wire)?;
//! assert!(wire.starts_with(b"GET /api/v1/namespaces?limit=5 HTTP/1.1\r\nHost: 10.0.0.1:6443\r\n"));
//!
//! // ...write `wire` to the connection, then feed back what it returns:
//! let mut decoder = ResponseDecoder::new(request.method(), Limits::default());
//! decoder.handle_bytes(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
//! let mut events = Vec::new();
//! while let Progress::Event(event) = decoder.poll_event()? {
//!     events.push(event);
//! }
//! assert!(matches!(events.last(), Some(HttpEvent::End { keep_alive: true })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod chunked;
mod error;
mod exchange;
mod framing;
mod gzip;
mod head;
mod limits;
mod request;
mod response;
#[cfg(test)]
mod tests;
mod tunnel;

pub use error::{HttpError, LineKind};
pub use exchange::{BodyStep, Exchange, ExchangeError};
pub use gzip::GzipError;
pub use head::ResponseHead;
pub use limits::Limits;
pub use request::{EncodeError, accept_gzip, encode_connect, encode_request};
pub use response::{HttpEvent, MAX_INTERIM_RESPONSES, Progress, ResponseDecoder};
pub use tunnel::{Tunnel, TunnelError};
