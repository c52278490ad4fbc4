//! The loop that drives one exec, attach or port-forward session: bytes between the socket and
//! klient-proto's channel machine ([`Session`]), the caller's requests in, the session's events
//! out. It is a future polled by a task of the runtime; it wakes on data, on room to write, on
//! a request, on room in a caller's queue and on the session's own deadline — never on a tick.
//!
//! Back-pressure both ways: an event the caller has no room for is held, and the socket is not
//! read until it is taken (so a slow reader slows the server, as a full pipe would); requests
//! are taken only while less than [`OUTBOX_HIGH_WATER`] bytes wait for the socket.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use klient_proto::remote::{Progress, Session};

use crate::runtime::{BoxFuture, Runtime};
use crate::stream::Stream;

/// Bytes queued for the socket above which no more requests are taken.
pub(crate) const OUTBOX_HIGH_WATER: usize = 1 << 20;
/// How long the loop keeps writing after the session ended (the close frame owed to the server)
/// before it drops the socket.
const FINAL_FLUSH: Duration = Duration::from_secs(5);
/// Turns of the loop in one poll before it yields to the runtime's other tasks.
const TURNS_PER_POLL: usize = 64;
/// How many bytes one socket read asks for, at most.
const READ_SIZE: usize = 64 * 1024;

/// Where the caller's requests come from.
pub(crate) trait Inputs<C> {
    /// The next request; `Ready(None)` when the caller is gone.
    fn poll_command(&mut self, cx: &mut Context<'_>) -> Poll<Option<C>>;
}

/// Where the session's events go.
pub(crate) trait Outputs<E> {
    /// Hands `event` to its receiver when it has room (or drops it when nobody reads it any
    /// more); gives it back, with the waker registered for when room is made, otherwise.
    fn offer(&mut self, cx: &mut Context<'_>, event: E) -> Option<E>;
}

/// How the loop ended other than cleanly.
#[derive(Debug)]
pub(crate) enum PumpError<F> {
    /// The session failed (what the server sent, a limit, a deadline).
    Session(F),
    /// Reading from or writing to the socket failed.
    Io(io::Error),
}

impl<F: Into<crate::Error>> From<PumpError<F>> for crate::Error {
    fn from(failure: PumpError<F>) -> Self {
        match failure {
            PumpError::Session(e) => e.into(),
            PumpError::Io(e) => crate::Error::Io(e),
        }
    }
}

/// One session's loop; its output is how it ended, and the outputs (an exec's exit status).
pub(crate) struct Pump<S: Session, I, O, R> {
    stream: Stream,
    session: S,
    inputs: I,
    outputs: Option<O>,
    runtime: R,
    buf: Box<[u8]>,
    outbox: Vec<u8>,
    sent: usize,
    needs_flush: bool,
    shutdown_pending: bool,
    caller_gone: bool,
    eof: bool,
    /// An event its receiver had no room for yet.
    pending: Option<S::Event>,
    /// The session's verdict once `poll_event` gave it.
    ended: Option<Result<(), S::Failure>>,
    io_error: Option<io::Error>,
    final_flush: Option<Instant>,
    timer: Option<(Instant, BoxFuture<()>)>,
}

impl<S, I, O, R> Pump<S, I, O, R>
where
    S: Session,
    I: Inputs<S::Command>,
    O: Outputs<S::Event>,
    R: Runtime,
{
    pub(crate) fn new(stream: Stream, session: S, inputs: I, outputs: O, runtime: R) -> Self {
        Pump {
            stream,
            session,
            inputs,
            outputs: Some(outputs),
            runtime,
            buf: vec![0; READ_SIZE].into_boxed_slice(),
            outbox: Vec::new(),
            sent: 0,
            needs_flush: false,
            shutdown_pending: false,
            caller_gone: false,
            eof: false,
            pending: None,
            ended: None,
            io_error: None,
            final_flush: None,
            timer: None,
        }
    }

    /// One turn: every step that can make progress without waiting; `true` if one did.
    fn turn(&mut self, cx: &mut Context<'_>, outputs: &mut O) -> bool {
        let mut progress = false;
        // The session's events, each handed over before the next is taken.
        let was_pending = self.pending.is_some();
        if let Some(event) = self.pending.take() {
            self.pending = outputs.offer(cx, event);
            progress |= self.pending.is_none();
        }
        while self.pending.is_none() && self.ended.is_none() {
            match self.session.poll_event() {
                Ok(Progress::Event(event)) => self.pending = outputs.offer(cx, event),
                Ok(Progress::NeedData) => break,
                Ok(Progress::Finished) => self.ended = Some(Ok(())),
                Err(failure) => self.ended = Some(Err(failure)),
            }
            progress = true;
        }
        // The socket is not read while an event is held: the keepalive deadlines wait too.
        if self.pending.is_some() != was_pending {
            self.session.pause_reading(self.pending.is_some(), Instant::now());
        }
        // The caller's requests, while the socket keeps up.
        while self.ended.is_none()
            && self.io_error.is_none()
            && !self.shutdown_pending
            && !self.caller_gone
            && self.outbox.len() - self.sent < OUTBOX_HIGH_WATER
        {
            match self.inputs.poll_command(cx) {
                Poll::Ready(Some(command)) => {
                    self.shutdown_pending = self.session.command(command, Instant::now());
                    // Into the outbox at once, so the high-water mark counts it.
                    self.session.transmit_into(&mut self.outbox);
                }
                Poll::Ready(None) => {
                    self.caller_gone = true;
                    self.session.abandon(Instant::now());
                }
                Poll::Pending => break,
            }
            progress = true;
        }
        // Bytes for the server, as fast as the socket takes them.
        self.session.transmit_into(&mut self.outbox);
        while self.io_error.is_none() && self.sent < self.outbox.len() {
            match self.stream.poll_write(cx, &self.outbox[self.sent..]) {
                Poll::Ready(Ok(0)) => self.io_error = Some(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(n)) => {
                    self.sent += n;
                    self.needs_flush = true;
                    progress = true;
                }
                Poll::Ready(Err(e)) => self.io_error = Some(e),
                Poll::Pending => break,
            }
        }
        if self.sent == self.outbox.len() {
            self.outbox.clear();
            self.sent = 0;
            if self.needs_flush && self.io_error.is_none() {
                match self.stream.poll_flush(cx) {
                    Poll::Ready(Ok(())) => self.needs_flush = false,
                    Poll::Ready(Err(e)) => self.io_error = Some(e),
                    Poll::Pending => {}
                }
            }
            if self.shutdown_pending && !self.needs_flush && self.io_error.is_none() {
                match self.stream.poll_shutdown_write(cx) {
                    Poll::Ready(Ok(())) => {
                        self.shutdown_pending = false;
                        progress = true;
                    }
                    Poll::Ready(Err(e)) => self.io_error = Some(e),
                    Poll::Pending => {}
                }
            }
        }
        // Bytes from the server, unless an event waits for room (that is the back-pressure).
        if self.pending.is_none() && self.ended.is_none() && self.io_error.is_none() && !self.eof {
            match self.stream.poll_read(cx, &mut self.buf) {
                Poll::Ready(Ok(0)) => {
                    self.eof = true;
                    self.session.handle_eof();
                    progress = true;
                }
                Poll::Ready(Ok(n)) => {
                    self.session.handle_bytes(&self.buf[..n]);
                    progress = true;
                }
                Poll::Ready(Err(e)) => {
                    self.io_error = Some(e);
                    progress = true;
                }
                Poll::Pending => {}
            }
        }
        // The session's deadline (keepalive, close handshake) and the final flush's.
        let now = Instant::now();
        let wake_at = match (self.session.poll_timeout(), self.final_flush) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(at) = wake_at {
            if at <= now {
                self.timer = None;
                self.session.handle_timeout(now);
                progress = true;
            } else {
                if self.timer.as_ref().is_none_or(|(armed, _)| *armed != at) {
                    self.timer = Some((at, self.runtime.sleep_until(at)));
                }
                if let Some((_, timer)) = self.timer.as_mut()
                    && timer.as_mut().poll(cx).is_ready()
                {
                    self.timer = None;
                    self.session.handle_timeout(Instant::now());
                    progress = true;
                }
            }
        }
        progress
    }

    /// Whether the loop is over, and how.
    fn outcome(&mut self) -> Option<Result<(), PumpError<S::Failure>>> {
        if self.pending.is_some() && self.io_error.is_none() && self.ended.is_none() {
            return None;
        }
        if self.ended.is_some() {
            let deadline = *self
                .final_flush
                .get_or_insert_with(|| Instant::now() + FINAL_FLUSH);
            let flushed = self.outbox.is_empty() && !self.needs_flush;
            let delivered = self.pending.is_none();
            if (flushed && delivered) || self.io_error.is_some() || Instant::now() >= deadline {
                return self.ended.take().map(|end| end.map_err(PumpError::Session));
            }
            return None;
        }
        // A socket error with no verdict from the session: the events before it are delivered.
        if self.pending.is_none() {
            return self.io_error.take().map(|e| Err(PumpError::Io(e)));
        }
        None
    }
}

impl<S, I, O, R> Future for Pump<S, I, O, R>
where
    S: Session + Unpin,
    S::Event: Unpin,
    S::Failure: Unpin,
    I: Inputs<S::Command> + Unpin,
    O: Outputs<S::Event> + Unpin,
    R: Runtime,
{
    type Output = (Result<(), PumpError<S::Failure>>, O);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let Some(mut outputs) = this.outputs.take() else {
            panic!("a session loop polled after it ended");
        };
        for _ in 0..TURNS_PER_POLL {
            let progress = this.turn(cx, &mut outputs);
            if let Some(outcome) = this.outcome() {
                return Poll::Ready((outcome, outputs));
            }
            if !progress {
                this.outputs = Some(outputs);
                return Poll::Pending;
            }
        }
        // Still busy: let the runtime's other tasks run, and come back at once.
        this.outputs = Some(outputs);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
