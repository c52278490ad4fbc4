//! One request and its response on a connection: the bytes go through klient-proto's HTTP/1.1
//! encoder and decoder; this file only moves them.

use std::collections::VecDeque;
use std::io::{self, Read, Write};

use bytes::Bytes;
use http::Method;
use klient_proto::client::{AttemptFailure, Written};
use klient_proto::http::{Event, HttpError, Limits, ResponseDecoder, ResponseHead};

use crate::stream::Stream;

/// How many bytes one socket read asks for.
const READ_SIZE: usize = 64 * 1024;

/// What went wrong on the wire.
#[derive(Debug)]
pub(crate) enum ExchangeError {
    /// The connection failed before a response head arrived; the call decides whether the
    /// request may go out again ([`AttemptFailure`] says how much of it was written).
    Attempt(AttemptFailure, io::Error),
    /// Reading or writing failed once the response had begun.
    Io(io::Error),
    /// The server's bytes broke HTTP/1.1 or one of klient's limits.
    Http(HttpError),
}

/// How a request was answered.
pub(crate) enum Answer {
    /// A final response; its body is read from the exchange.
    Response(ResponseHead, Box<Exchange>),
    /// `101 Switching Protocols`: the stream now speaks another protocol, starting with `leftover`.
    Upgraded(ResponseHead, Stream, Bytes),
}

impl Answer {
    /// The response head.
    pub(crate) fn head(&self) -> &ResponseHead {
        match self {
            Answer::Response(head, _) | Answer::Upgraded(head, ..) => head,
        }
    }

    /// Reads off an answer that is not wanted (one to be retried), handing back the connection
    /// when it can serve again.
    pub(crate) fn drain(self) -> Option<Stream> {
        match self {
            Answer::Response(_, exchange) => exchange.drain(),
            Answer::Upgraded(..) => None,
        }
    }
}

/// A response being read. Dropping it mid-body closes the connection (its remaining bytes are
/// unknown); reading it to the end hands a keep-alive connection back through `finish`.
pub(crate) struct Exchange {
    stream: Stream,
    decoder: ResponseDecoder,
    pending: VecDeque<Bytes>,
    /// `Some(keep_alive)` once the response ended.
    ended: Option<bool>,
}

impl Exchange {
    /// Writes the encoded request and reads until the response head (skipping 1xx heads).
    pub(crate) fn start(
        mut stream: Stream,
        method: &Method,
        request: &[u8],
        limits: Limits,
        reused: bool,
    ) -> Result<Answer, ExchangeError> {
        let failed = |written, e| ExchangeError::Attempt(AttemptFailure { reused, written }, e);
        let mut written = 0;
        while written < request.len() {
            match stream.write(&request[written..]) {
                Ok(0) => return Err(failed(progress(written), io::ErrorKind::WriteZero.into())),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(failed(progress(written), e)),
            }
        }
        stream.flush().map_err(|e| failed(Written::Some, e))?;
        let mut decoder = ResponseDecoder::new(method, limits);
        let mut buf = vec![0u8; READ_SIZE];
        loop {
            match decoder.poll_event() {
                Ok(Some(Event::Informational(_))) => continue,
                Ok(Some(Event::Head(head))) => {
                    let exchange = Exchange {
                        stream,
                        decoder,
                        pending: VecDeque::new(),
                        ended: None,
                    };
                    return Ok(Answer::Response(head, Box::new(exchange)));
                }
                Ok(Some(Event::Upgraded { head, leftover })) => {
                    return Ok(Answer::Upgraded(head, stream, leftover));
                }
                Ok(Some(other)) => {
                    // The decoder hands out a head before any body event; anything else is a bug
                    // in the decoder, reported rather than unwrapped.
                    let reason = match other {
                        Event::Data(_) => "body before head",
                        _ => "end before head",
                    };
                    return Err(ExchangeError::Http(HttpError::MalformedHead { reason }));
                }
                Ok(None) => {}
                // The connection ended before any response: the call decides what that means.
                Err(HttpError::ClosedBeforeResponse) => {
                    return Err(failed(Written::Some, io::ErrorKind::ConnectionReset.into()));
                }
                Err(e) => return Err(ExchangeError::Http(e)),
            }
            match stream.read(&mut buf) {
                Ok(0) => decoder.handle_eof(),
                Ok(n) => decoder.handle_bytes(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if decoder.buffered_len() == 0 => return Err(failed(Written::Some, e)),
                Err(e) => return Err(ExchangeError::Io(e)),
            }
        }
    }

    /// Reads off the body of a response that is not the answer, handing back the connection when
    /// it can serve again.
    fn drain(mut self) -> Option<Stream> {
        self.read_body().ok()?;
        self.finish()
    }

    /// The next piece of the body, `None` at its end. Blocks on the socket as needed.
    pub(crate) fn next_chunk(&mut self) -> Result<Option<Bytes>, ExchangeError> {
        let mut buf = Vec::new();
        loop {
            if let Some(chunk) = self.pending.pop_front() {
                return Ok(Some(chunk));
            }
            if self.ended.is_some() {
                return Ok(None);
            }
            match self.decoder.poll_event().map_err(ExchangeError::Http)? {
                Some(Event::Data(bytes)) => self.pending.push_back(bytes),
                Some(Event::End { keep_alive }) => self.ended = Some(keep_alive),
                Some(_) => {
                    return Err(ExchangeError::Http(HttpError::MalformedHead {
                        reason: "second head",
                    }));
                }
                None => {
                    if buf.is_empty() {
                        buf = vec![0u8; READ_SIZE];
                    }
                    match self.stream.read(&mut buf) {
                        Ok(0) => self.decoder.handle_eof(),
                        Ok(n) => self.decoder.handle_bytes(&buf[..n]),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(ExchangeError::Io(e)),
                    }
                }
            }
        }
    }

    /// Reads the whole body.
    pub(crate) fn read_body(&mut self) -> Result<Vec<u8>, ExchangeError> {
        let mut body = Vec::new();
        while let Some(chunk) = self.next_chunk()? {
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// The connection, when the response ended and the server keeps it open for another request.
    pub(crate) fn finish(self) -> Option<Stream> {
        (self.ended == Some(true) && self.decoder.buffered_len() == 0).then_some(self.stream)
    }

    /// The underlying stream, e.g. to set a read timeout for a long-lived body.
    pub(crate) fn stream(&self) -> &Stream {
        &self.stream
    }
}

fn progress(written: usize) -> Written {
    if written == 0 {
        Written::Nothing
    } else {
        Written::Some
    }
}
