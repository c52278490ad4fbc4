//! One request and its response on a connection: klient-proto's [`Exchange`] decides what the
//! bytes mean (a failure before any answer, the end of the response, whether the connection can
//! serve again, the hand-over after a 101); this file only moves them, each read and write
//! within its timeout.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use klient_proto::client::{AttemptFailure, FailureCause};
use klient_proto::http::{
    BodyStep, Exchange as ExchangeMachine, ExchangeError as MachineError, HttpError, HttpEvent, Progress,
    ResponseHead,
};

use crate::io::within;
use crate::runtime::Runtime;
use crate::stream::Stream;

/// How many bytes one socket read asks for, at most.
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
pub(crate) enum Answer<R> {
    /// A final response; its body is read from the exchange.
    Response(ResponseHead, Box<Exchange<R>>),
    /// `101 Switching Protocols`: the stream now speaks another protocol, starting with `leftover`.
    Upgraded(ResponseHead, Stream, Bytes),
}

impl<R: Runtime> Answer<R> {
    /// The response head.
    pub(crate) fn head(&self) -> &ResponseHead {
        match self {
            Answer::Response(head, _) | Answer::Upgraded(head, ..) => head,
        }
    }

    /// Reads off an answer that is not wanted (one to be retried), handing back the connection
    /// when it can serve again.
    pub(crate) async fn drain(self) -> Option<Stream> {
        match self {
            Answer::Response(_, mut exchange) => {
                exchange.read_body().await.ok()?;
                exchange.finish()
            }
            Answer::Upgraded(..) => None,
        }
    }
}

/// A response being read. Dropping it mid-body closes the connection (its remaining bytes are
/// unknown); reading it to the end hands a reusable connection back through `finish`.
pub(crate) struct Exchange<R> {
    stream: Stream,
    machine: ExchangeMachine,
    buf: Vec<u8>,
    ended: bool,
    runtime: R,
    /// How long one read may wait; `None` for as long as the server stays silent.
    read_timeout: Option<Duration>,
}

impl<R: Runtime> Exchange<R> {
    /// Writes the encoded request and reads until the response head, each write within
    /// `write_timeout` and each read within `read_timeout`.
    pub(crate) async fn start(
        mut stream: Stream,
        mut machine: ExchangeMachine,
        runtime: R,
        write_timeout: Duration,
        read_timeout: Duration,
    ) -> Result<Answer<R>, ExchangeError> {
        let failed = |machine: &ExchangeMachine, e: io::Error| {
            let cause = match e.kind() {
                io::ErrorKind::TimedOut => FailureCause::TimedOut,
                _ => FailureCause::Closed,
            };
            match machine.handle_transport_error(cause) {
                MachineError::Attempt(failure) => ExchangeError::Attempt(failure, e),
                _ => ExchangeError::Io(e),
            }
        };
        // The request is handed to the stream whole; the machine hears how much went out.
        let request = machine.poll_transmit().to_vec();
        let written = within(
            &runtime,
            Some(write_timeout),
            "writing the request timed out",
            stream.write_all(&request),
        )
        .await;
        match written {
            Ok(()) => machine.handle_written(request.len()),
            Err(e) => return Err(failed(&machine, e)),
        }
        let mut exchange = Exchange {
            stream,
            machine,
            buf: vec![0; READ_SIZE],
            ended: false,
            runtime,
            read_timeout: Some(read_timeout),
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
            if let Err(e) = exchange.fill().await {
                return Err(failed(&exchange.machine, e));
            }
        }
    }

    /// Turns a response that was called as a stream into one: no limit on its whole length
    /// (each event or chunk keeps its own) and the stream's read timeout.
    pub(crate) fn open_stream(&mut self, read_timeout: Option<Duration>) {
        self.machine.open_stream();
        self.read_timeout = read_timeout;
    }

    /// Sets how long one read of the body may wait.
    pub(crate) fn set_read_timeout(&mut self, read_timeout: Option<Duration>) {
        self.read_timeout = read_timeout;
    }

    /// Reads once from the socket into the machine.
    async fn fill(&mut self) -> io::Result<()> {
        match self.read_once().await? {
            0 => self.machine.handle_eof(),
            n => self.machine.handle_bytes(&self.buf[..n]),
        }
        Ok(())
    }

    /// Reads once from the socket into `buf`: how many bytes came, 0 at the end of the stream.
    async fn read_once(&mut self) -> io::Result<usize> {
        let read = self.stream.read(&mut self.buf);
        within(
            &self.runtime,
            self.read_timeout,
            "the server sent nothing in time",
            read,
        )
        .await
    }

    /// The next piece of the body, `None` at its end.
    pub(crate) async fn next_chunk(&mut self) -> Result<Option<Bytes>, ExchangeError> {
        loop {
            let step = self.machine.poll_event();
            match self.settle(step)? {
                BodyStep::Data(bytes) => return Ok(Some(bytes)),
                BodyStep::End => return Ok(None),
                BodyStep::NeedData => self.fill().await.map_err(ExchangeError::Io)?,
            }
        }
    }

    /// Reads the whole body. Each read goes to the machine with the call that appends the body,
    /// so body bytes are copied once, from the read buffer to the body.
    pub(crate) async fn read_body(&mut self) -> Result<Vec<u8>, ExchangeError> {
        let mut body = Vec::new();
        let mut step = self.machine.read_body_into(&mut body);
        loop {
            match self.settle(step)? {
                BodyStep::Data(bytes) => body.extend_from_slice(&bytes),
                BodyStep::End => return Ok(body),
                BodyStep::NeedData => {}
            }
            step = match self.read_once().await.map_err(ExchangeError::Io)? {
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
}
