//! One request and its response on a connection: klient-proto's [`Exchange`] decides what the
//! bytes mean (a failure before any answer, the end of the response, whether the connection can
//! serve again, the hand-over after a 101); this file only moves them.

use std::io::{self, Read, Write};

use bytes::Bytes;
use klient_proto::client::{AttemptFailure, FailureCause};
use klient_proto::http::{
    Exchange as ExchangeMachine, ExchangeError as MachineError, HttpError, HttpEvent, Progress, ResponseHead,
};

use crate::stream::Stream;

/// How many bytes one socket read asks for.
const READ_SIZE: usize = 64 * 1024;

/// What went wrong on the wire.
#[derive(Debug)]
pub(crate) enum ExchangeError {
    /// The connection failed before a response began; the call decides whether the request may
    /// go out again ([`AttemptFailure`] says how much of it was written).
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
            Answer::Response(_, mut exchange) => {
                exchange.read_body().ok()?;
                exchange.finish()
            }
            Answer::Upgraded(..) => None,
        }
    }
}

/// A response being read. Dropping it mid-body closes the connection (its remaining bytes are
/// unknown); reading it to the end hands a reusable connection back through `finish`.
pub(crate) struct Exchange {
    stream: Stream,
    machine: ExchangeMachine,
    buf: Vec<u8>,
    ended: bool,
}

impl Exchange {
    /// Writes the encoded request and reads until the response head.
    pub(crate) fn start(mut stream: Stream, mut machine: ExchangeMachine) -> Result<Answer, ExchangeError> {
        let failed = |machine: &ExchangeMachine, e: io::Error| {
            // A read timeout shows as WouldBlock on Unix and TimedOut on Windows.
            let (cause, e) = match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    (FailureCause::TimedOut, io::Error::new(io::ErrorKind::TimedOut, e))
                }
                _ => (FailureCause::Closed, e),
            };
            match machine.handle_transport_error(cause) {
                MachineError::Attempt(failure) => ExchangeError::Attempt(failure, e),
                _ => ExchangeError::Io(e),
            }
        };
        while !machine.poll_transmit().is_empty() {
            match stream.write(machine.poll_transmit()) {
                Ok(0) => return Err(failed(&machine, io::ErrorKind::WriteZero.into())),
                Ok(n) => machine.handle_written(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(failed(&machine, e)),
            }
        }
        if let Err(e) = stream.flush() {
            return Err(failed(&machine, e));
        }
        let mut exchange = Exchange {
            stream,
            machine,
            buf: vec![0; READ_SIZE],
            ended: false,
        };
        loop {
            match exchange.machine.poll_event() {
                Ok(Progress::Event(HttpEvent::Head(head))) => {
                    return Ok(Answer::Response(head, Box::new(exchange)));
                }
                Ok(Progress::Event(HttpEvent::Upgraded { head, leftover })) => {
                    return Ok(Answer::Upgraded(head, exchange.stream, leftover));
                }
                Ok(Progress::NeedData) => {}
                // The machine hands out a head (or an upgrade) before anything else.
                Ok(Progress::Event(_) | Progress::Finished) => {
                    return Err(ExchangeError::Http(HttpError::MalformedHead {
                        reason: "body before head",
                    }));
                }
                Err(MachineError::Attempt(failure)) => {
                    return Err(ExchangeError::Attempt(
                        failure,
                        io::ErrorKind::UnexpectedEof.into(),
                    ));
                }
                Err(MachineError::Http(e)) => return Err(ExchangeError::Http(e)),
                Err(e) => return Err(ExchangeError::Io(io::Error::other(e))),
            }
            if let Err(e) = exchange.fill() {
                return Err(failed(&exchange.machine, e));
            }
        }
    }

    /// Turns a response that was called as a stream into one: its body is read with no limit on
    /// its whole length (each event or chunk keeps its own) and with the stream's read timeout
    /// (`None` waits for as long as the server stays silent; the stall deadline is the watch's).
    pub(crate) fn open_stream(&mut self, read_timeout: Option<std::time::Duration>) -> io::Result<()> {
        self.machine.open_stream();
        self.stream.set_read_timeout(read_timeout)
    }

    /// Reads once from the socket into the machine.
    fn fill(&mut self) -> io::Result<()> {
        loop {
            match self.stream.read(&mut self.buf) {
                Ok(0) => {
                    self.machine.handle_eof();
                    return Ok(());
                }
                Ok(n) => {
                    self.machine.handle_bytes(&self.buf[..n]);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The next piece of the body, `None` at its end. Blocks on the socket as needed.
    pub(crate) fn next_chunk(&mut self) -> Result<Option<Bytes>, ExchangeError> {
        self.step_body(ExchangeMachine::poll_event)
    }

    /// Reads the whole body.
    pub(crate) fn read_body(&mut self) -> Result<Vec<u8>, ExchangeError> {
        let mut body = Vec::new();
        self.step_body(|machine| machine.read_body_into(&mut body))?;
        Ok(body)
    }

    /// Steps the machine with `step` (`poll_event`, or `read_body_into` which hands out no data),
    /// reading from the socket whenever it needs more, until it hands out body data (`Some`) or
    /// the body ends (`None`).
    fn step_body(
        &mut self,
        mut step: impl FnMut(&mut ExchangeMachine) -> Result<Progress, MachineError>,
    ) -> Result<Option<Bytes>, ExchangeError> {
        loop {
            match step(&mut self.machine) {
                Ok(Progress::Event(HttpEvent::Data(bytes))) => return Ok(Some(bytes)),
                Ok(Progress::Event(HttpEvent::End { .. }) | Progress::Finished) => {
                    self.ended = true;
                    return Ok(None);
                }
                Ok(Progress::Event(_)) => {
                    return Err(ExchangeError::Http(HttpError::MalformedHead {
                        reason: "second head",
                    }));
                }
                Ok(Progress::NeedData) => self.fill().map_err(ExchangeError::Io)?,
                Err(MachineError::Http(e)) => return Err(ExchangeError::Http(e)),
                Err(e) => return Err(ExchangeError::Io(io::Error::other(e))),
            }
        }
    }

    /// The connection, when the response ended and it can carry another request.
    pub(crate) fn finish(self) -> Option<Stream> {
        (self.ended && self.machine.is_reusable()).then_some(self.stream)
    }

    /// The underlying stream, e.g. to close it from another thread.
    pub(crate) fn stream(&self) -> &Stream {
        &self.stream
    }
}
