//! One request and its response on a connection: the bytes go through klient-proto's HTTP/1.1
//! encoder and decoder; this file only moves them.

use std::collections::VecDeque;
use std::io::{self, Read, Write};

use bytes::Bytes;
use http::Method;
use klient_proto::http::{Event, HttpError, Limits, ResponseDecoder, ResponseHead};

use crate::stream::Stream;

/// How many bytes one socket read asks for.
const READ_SIZE: usize = 64 * 1024;

/// What went wrong on the wire, with whether trying again on a fresh connection is safe.
#[derive(Debug)]
pub(crate) enum ExchangeError {
    /// The server closed a pooled connection before answering: the request was not processed.
    Stale(io::Error),
    /// Reading or writing failed.
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
        let stale_or_io = |e: io::Error| {
            if reused {
                ExchangeError::Stale(e)
            } else {
                ExchangeError::Io(e)
            }
        };
        stream.write_all(request).map_err(stale_or_io)?;
        stream.flush().map_err(stale_or_io)?;
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
                Err(HttpError::ClosedBeforeResponse) if reused => {
                    return Err(ExchangeError::Stale(io::ErrorKind::ConnectionReset.into()));
                }
                Err(e) => return Err(ExchangeError::Http(e)),
            }
            match stream.read(&mut buf) {
                Ok(0) => decoder.handle_eof(),
                Ok(n) => decoder.handle_bytes(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if reused && e.kind() == io::ErrorKind::ConnectionReset => {
                    return Err(ExchangeError::Stale(e));
                }
                Err(e) => return Err(ExchangeError::Io(e)),
            }
        }
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
