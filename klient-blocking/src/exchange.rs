//! One request and its response on a connection: klient-proto's [`Exchange`] decides what the
//! bytes mean (a failure before any answer, the end of the response, whether the connection can
//! serve again, the hand-over after a 101); this file only moves them.

use std::io::{self, Read, Write};

use bytes::Bytes;
use klient_proto::client::{AttemptFailure, FailureCause};
use klient_proto::http::{
    BodyStep, Exchange as ExchangeMachine, ExchangeError as MachineError, HttpError, HttpEvent, Progress,
    ResponseHead,
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
        match self.read_once()? {
            0 => self.machine.handle_eof(),
            n => self.machine.handle_bytes(&self.buf[..n]),
        }
        Ok(())
    }

    /// Reads once from the socket into `buf`: how many bytes came, 0 at the end of the stream.
    fn read_once(&mut self) -> io::Result<usize> {
        loop {
            match self.stream.read(&mut self.buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                read => return read,
            }
        }
    }

    /// The next piece of the body, `None` at its end. Blocks on the socket as needed.
    pub(crate) fn next_chunk(&mut self) -> Result<Option<Bytes>, ExchangeError> {
        loop {
            let step = self.machine.poll_event();
            match self.settle(step)? {
                BodyStep::Data(bytes) => return Ok(Some(bytes)),
                BodyStep::End => return Ok(None),
                BodyStep::NeedData => self.fill().map_err(ExchangeError::Io)?,
            }
        }
    }

    /// Reads the whole body. Each read goes to the machine with the call that appends the body,
    /// so body bytes are copied once, from the read buffer to the body.
    pub(crate) fn read_body(&mut self) -> Result<Vec<u8>, ExchangeError> {
        let mut body = Vec::new();
        let mut step = self.machine.read_body_into(&mut body);
        loop {
            match self.settle(step)? {
                BodyStep::Data(bytes) => body.extend_from_slice(&bytes),
                BodyStep::End => return Ok(body),
                BodyStep::NeedData => {}
            }
            step = match self.read_once().map_err(ExchangeError::Io)? {
                0 => {
                    self.machine.handle_eof();
                    self.machine.read_body_into(&mut body)
                }
                n => self.machine.read_body_from(&self.buf[..n], &mut body),
            };
        }
    }

    /// What one step of the machine through the body means (klient-proto's [`BodyStep::of`]).
    fn settle(&mut self, step: Result<Progress, MachineError>) -> Result<BodyStep, ExchangeError> {
        let step = match step {
            Ok(progress) => BodyStep::of(progress).map_err(ExchangeError::Http)?,
            Err(MachineError::Http(e)) => return Err(ExchangeError::Http(e)),
            Err(e) => return Err(ExchangeError::Io(io::Error::other(e))),
        };
        self.ended |= step == BodyStep::End;
        Ok(step)
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
