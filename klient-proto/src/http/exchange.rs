//! One request and its response on one connection: the request's bytes out, the response's
//! events in, and the verdicts an adapter needs about the connection: whether a failure came
//! before any answer (so the call may send the request again, see
//! [`may_replay`](crate::client::may_replay)), whether the connection can carry another request,
//! and which bytes belong to the protocol a `101` switched to.

use std::fmt;

use http::Method;

use super::{HttpError, HttpEvent, Limits, Progress, ResponseDecoder};
use crate::client::{AttemptFailure, FailureCause, Written};

/// Why an exchange failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The connection ended or failed before any byte of a response: the attempt failed, and the
    /// call decides whether the request may go out again.
    Attempt(AttemptFailure),
    /// The response broke HTTP/1.1 or one of the limits, or the connection ended in its middle.
    Http(HttpError),
}

impl fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExchangeError::Attempt(_) => f.write_str("the connection closed before any response"),
            ExchangeError::Http(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ExchangeError {}

/// One request/response on a connection. Drive it like the decoder inside it: write
/// [`poll_transmit`](Self::poll_transmit) and report [`handle_written`](Self::handle_written); feed
/// what the connection delivers; drain [`poll_event`](Self::poll_event) (interim 1xx heads are
/// skipped). A read or write error is reported with [`handle_transport_error`](Self::handle_transport_error),
/// which says what it means.
pub struct Exchange {
    request: Vec<u8>,
    written: usize,
    decoder: ResponseDecoder,
    reused: bool,
}

/// Debug shows sizes only: the encoded request carries the credential.
impl fmt::Debug for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exchange")
            .field("request_len", &self.request.len())
            .field("written", &self.written)
            .field("reused", &self.reused)
            .field("decoder", &self.decoder)
            .finish()
    }
}

impl Exchange {
    /// `request` (already encoded) with `method`, on a connection that is `reused` (it served an
    /// earlier request) or new. `upgrade`: the request asks to switch protocols.
    pub fn new(request: Vec<u8>, method: &Method, limits: Limits, reused: bool, upgrade: bool) -> Self {
        let decoder = ResponseDecoder::new(method, limits);
        Exchange {
            request,
            written: 0,
            decoder: if upgrade { decoder.with_upgrade() } else { decoder },
            reused,
        }
    }

    /// The request bytes not written yet; empty once all are.
    pub fn poll_transmit(&self) -> &[u8] {
        &self.request[self.written..]
    }

    /// `n` bytes of [`poll_transmit`](Self::poll_transmit) were written.
    pub fn handle_written(&mut self, n: usize) {
        self.written = (self.written + n).min(self.request.len());
    }

    /// Bytes the connection delivered.
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        self.decoder.handle_bytes(bytes);
    }

    /// The peer closed the connection.
    pub fn handle_eof(&mut self) {
        self.decoder.handle_eof();
    }

    /// A read or write on the connection failed (`cause`: it broke, or it waited too long):
    /// before any response byte, the attempt failed (the call decides on a replay); during a
    /// response, the response is cut short.
    pub fn handle_transport_error(&self, cause: FailureCause) -> ExchangeError {
        if self.decoder.has_started() {
            ExchangeError::Http(HttpError::UnexpectedEof)
        } else {
            ExchangeError::Attempt(self.attempt_failure(cause))
        }
    }

    fn attempt_failure(&self, cause: FailureCause) -> AttemptFailure {
        AttemptFailure {
            reused: self.reused,
            written: if self.written == 0 {
                Written::Nothing
            } else {
                Written::Some
            },
            cause,
        }
    }

    /// The next event of the response (interim 1xx heads skipped), the need for more bytes, or
    /// the end.
    pub fn poll_event(&mut self) -> Result<Progress, ExchangeError> {
        loop {
            match self.decoder.poll_event() {
                Ok(Progress::Event(HttpEvent::Informational(_))) => continue,
                Ok(progress) => return Ok(progress),
                // Closed without a byte of an answer: whether the request goes out again is the
                // call's decision, made from how much of it was written.
                Err(HttpError::ClosedBeforeResponse) => {
                    return Err(ExchangeError::Attempt(self.attempt_failure(FailureCause::Closed)));
                }
                Err(e) => return Err(ExchangeError::Http(e)),
            }
        }
    }

    /// Like [`poll_event`](Self::poll_event), with the body appended to `out` rather than handed
    /// out as `Data` events (see [`ResponseDecoder::read_body_into`]): for a whole response.
    pub fn read_body_into(&mut self, out: &mut Vec<u8>) -> Result<Progress, ExchangeError> {
        loop {
            match self.decoder.read_body_into(out) {
                Ok(Progress::Event(HttpEvent::Informational(_))) => continue,
                Ok(progress) => return Ok(progress),
                Err(HttpError::ClosedBeforeResponse) => {
                    return Err(ExchangeError::Attempt(self.attempt_failure(FailureCause::Closed)));
                }
                Err(e) => return Err(ExchangeError::Http(e)),
            }
        }
    }

    /// [`handle_bytes`](Self::handle_bytes) and [`read_body_into`](Self::read_body_into) in one
    /// step, copying body bytes straight from `bytes` to `out` where it can (see
    /// [`ResponseDecoder::read_body_from`]): for each read of a whole response.
    pub fn read_body_from(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> Result<Progress, ExchangeError> {
        match self.decoder.read_body_from(bytes, out) {
            Ok(Progress::Event(HttpEvent::Informational(_))) => self.read_body_into(out),
            Err(HttpError::ClosedBeforeResponse) => {
                Err(ExchangeError::Attempt(self.attempt_failure(FailureCause::Closed)))
            }
            Err(e) => Err(ExchangeError::Http(e)),
            Ok(progress) => Ok(progress),
        }
    }

    /// The response is a stream (a watch, a followed log) that may last hours and carry
    /// gigabytes: the whole-body limits no longer apply to it, since each event or chunk is
    /// bounded where it is consumed. Only for a success: an error body stays bounded.
    pub fn open_stream(&mut self) {
        self.decoder.lift_body_limits();
    }

    /// After the response's `End`: whether the connection can carry another request (the server
    /// keeps it open and sent nothing past the response).
    pub fn is_reusable(&self) -> bool {
        // A server that answered before reading all of the request (an early 401 or 413) would
        // take the rest of it as the next request.
        self.written == self.request.len() && self.decoder.is_reusable() && self.decoder.buffered_len() == 0
    }
}

/// Where reading a response body stands after one step of an [`Exchange`] (its
/// [`poll_event`](Exchange::poll_event), [`read_body_into`](Exchange::read_body_into) or
/// [`read_body_from`](Exchange::read_body_from)), once the head has been handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum BodyStep {
    /// Body bytes.
    Data(bytes::Bytes),
    /// Nothing more until the connection delivers more bytes (or its end).
    NeedData,
    /// The body is over.
    End,
}

impl BodyStep {
    /// What a step taken while reading the body means. Another head there is the server
    /// breaking HTTP ([`HttpError::MalformedHead`]).
    pub fn of(progress: Progress) -> Result<BodyStep, HttpError> {
        match progress {
            Progress::Event(HttpEvent::Data(bytes)) => Ok(BodyStep::Data(bytes)),
            Progress::Event(HttpEvent::End { .. }) | Progress::Finished => Ok(BodyStep::End),
            Progress::NeedData => Ok(BodyStep::NeedData),
            Progress::Event(_) => Err(HttpError::MalformedHead {
                reason: "second head",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ResponseHead;
    use bytes::Bytes;

    #[test]
    fn a_body_step_is_data_need_or_end_and_a_second_head_is_an_error() {
        let data = Bytes::from_static(b"{}");
        assert_eq!(
            BodyStep::of(Progress::Event(HttpEvent::Data(data.clone()))),
            Ok(BodyStep::Data(data))
        );
        assert_eq!(BodyStep::of(Progress::NeedData), Ok(BodyStep::NeedData));
        assert_eq!(
            BodyStep::of(Progress::Event(HttpEvent::End { keep_alive: true })),
            Ok(BodyStep::End)
        );
        assert_eq!(BodyStep::of(Progress::Finished), Ok(BodyStep::End));
        let head = ResponseHead {
            version: http::Version::HTTP_11,
            status: http::StatusCode::OK,
            headers: http::HeaderMap::new(),
        };
        assert_eq!(
            BodyStep::of(Progress::Event(HttpEvent::Head(head))),
            Err(HttpError::MalformedHead {
                reason: "second head"
            })
        );
    }

    fn exchange(reused: bool) -> Exchange {
        Exchange::new(
            b"POST /x HTTP/1.1\r\n\r\n".to_vec(),
            &Method::POST,
            Limits::default(),
            reused,
            false,
        )
    }

    fn head(exchange: &mut Exchange) -> ResponseHead {
        match exchange.poll_event() {
            Ok(Progress::Event(HttpEvent::Head(head))) => head,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_close_before_any_answer_is_an_attempt_failure_saying_what_was_written() {
        let mut fresh = exchange(false);
        assert_eq!(
            fresh.handle_transport_error(FailureCause::Closed),
            ExchangeError::Attempt(AttemptFailure {
                reused: false,
                written: Written::Nothing,
                cause: FailureCause::Closed,
            })
        );
        assert!(matches!(
            fresh.handle_transport_error(FailureCause::TimedOut),
            ExchangeError::Attempt(AttemptFailure {
                cause: FailureCause::TimedOut,
                ..
            })
        ));
        let mut pooled = exchange(true);
        let n = pooled.poll_transmit().len();
        pooled.handle_written(n);
        assert!(pooled.poll_transmit().is_empty());
        pooled.handle_eof();
        assert_eq!(
            pooled.poll_event(),
            Err(ExchangeError::Attempt(AttemptFailure {
                reused: true,
                written: Written::Some,
                cause: FailureCause::Closed,
            }))
        );
        fresh.handle_bytes(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab");
        assert_eq!(head(&mut fresh).status, 200, "the 100 is skipped");
        assert_eq!(
            fresh.handle_transport_error(FailureCause::Closed),
            ExchangeError::Http(HttpError::UnexpectedEof)
        );
    }

    #[test]
    fn reusable_only_after_a_clean_keep_alive_end() {
        let mut exchange = exchange(false);
        exchange.handle_bytes(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        head(&mut exchange);
        assert!(!exchange.is_reusable(), "not before End");
        assert_eq!(
            exchange.poll_event(),
            Ok(Progress::Event(HttpEvent::End { keep_alive: true }))
        );
        // The server answered before the request was all written: the rest would be read as
        // the next request.
        assert!(!exchange.is_reusable(), "not before the request is written");
        let n = exchange.poll_transmit().len();
        exchange.handle_written(n);
        assert!(exchange.is_reusable());
        exchange.handle_bytes(b"HTTP/1.1 408 Request Timeout\r\n");
        assert!(!exchange.is_reusable(), "bytes nobody asked for");

        let mut closing = Exchange::new(
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            &Method::GET,
            Limits::default(),
            false,
            false,
        );
        closing.handle_bytes(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        head(&mut closing);
        assert_eq!(
            closing.poll_event(),
            Ok(Progress::Event(HttpEvent::End { keep_alive: false }))
        );
        assert!(!closing.is_reusable());
        assert_eq!(closing.poll_event(), Ok(Progress::Finished));
    }

    #[test]
    fn a_stream_is_unbounded_only_once_opened() {
        let limits = Limits {
            max_body_bytes: 10,
            ..Limits::default()
        };
        let body = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n{}\r\n",
            "x".repeat(20)
        );
        let mut error = Exchange::new(Vec::new(), &Method::GET, limits, false, false);
        error.handle_bytes(body.replace("200 OK", "500 Internal Server Error").as_bytes());
        head(&mut error);
        assert!(matches!(
            error.poll_event(),
            Err(ExchangeError::Http(HttpError::BodyTooLarge { max: 10, .. }))
        ));
        let mut stream = Exchange::new(Vec::new(), &Method::GET, limits, false, false);
        stream.handle_bytes(body.as_bytes());
        head(&mut stream);
        stream.open_stream();
        assert!(matches!(stream.poll_event(), Ok(Progress::Event(HttpEvent::Data(d))) if d.len() == 20));
    }

    #[test]
    fn debug_never_shows_the_request_and_its_credentials() {
        let request = b"GET / HTTP/1.1\r\nauthorization: Bearer SUPERSECRET\r\n\r\n".to_vec();
        let exchange = Exchange::new(request, &Method::GET, Limits::default(), false, false);
        let shown = format!("{exchange:?}");
        assert!(
            !shown.contains("request: [") && !shown.contains("SUPERSECRET"),
            "{shown}"
        );
        let tunnel = crate::http::Tunnel::new(
            "10.0.0.1:6443",
            Some(&http::HeaderValue::from_static("Basic c2VjcmV0")),
            Limits::default(),
        )
        .unwrap();
        let shown = format!("{tunnel:?}");
        assert!(
            !shown.contains("c2VjcmV0") && !shown.contains("request_len: 0"),
            "{shown}"
        );
        assert!(shown.contains("request_len"), "{shown}");
    }

    #[test]
    fn only_an_upgrade_request_is_switched() {
        let response =
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00";
        let mut plain = Exchange::new(Vec::new(), &Method::GET, Limits::default(), false, false);
        plain.handle_bytes(response);
        assert_eq!(
            plain.poll_event(),
            Err(ExchangeError::Http(HttpError::UnexpectedUpgrade))
        );
        let mut upgrade = Exchange::new(Vec::new(), &Method::GET, Limits::default(), false, true);
        upgrade.handle_bytes(response);
        match upgrade.poll_event() {
            Ok(Progress::Event(HttpEvent::Upgraded { leftover, .. })) => {
                assert_eq!(leftover, Bytes::from_static(b"\x81\x00"))
            }
            other => panic!("{other:?}"),
        }
    }
}
