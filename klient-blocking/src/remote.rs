//! exec, attach and port-forward: a WebSocket upgrade through the [`Client`], then one pump thread
//! per session that moves bytes between the socket and klient-proto's channel machines
//! ([`klient_proto::remote`]) and hands the data to the caller as `Read`/`Write` halves.
//!
//! The pump sleeps until there is something to do — bytes from the server, room in the socket
//! for bytes waiting to go, a caller's request (each handle rings the pump's waker), or the
//! session's own deadline — and never on a timer of its own.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
#[cfg(feature = "k8s-openapi")]
use k8s_openapi::api::core::v1::Pod;
#[cfg(feature = "k8s-openapi")]
use klient_proto::api::RequestError;
use klient_proto::remote::{
    AttachParams, ExecCommand, ExecEvent, ExecSession, ExecSessionConfig, ExitStatus, PortCommand,
    PortForward, PortForwardConfig, PortForwardError, PortForwardEvent, Ports, Progress, Session,
    attach_path, channel_ws_config, exec_handshake, exec_outcome, exec_path, portforward_handshake,
    portforward_path,
};
use klient_proto::ws::{ClientHandshake, Connection};

#[cfg(feature = "k8s-openapi")]
use crate::Api;
use crate::stream::Stream;
use crate::{Client, Error, Result};
use klient_proto::ws::OsRandom;

mod output;
pub(crate) use output::{Chunks, OutputSender, Room, read_chunks};

/// Writes the caller may queue ahead of the pump; bounds the memory an unread socket can hold.
pub(crate) const QUEUED_WRITES: usize = 64;
/// Socket reads per turn of the pump before it looks at the caller's writes again.
const READS_PER_TURN: usize = 16;
/// How long the pump keeps writing after the session ended (the close frame owed to the
/// server) before it drops the socket.
const FINAL_FLUSH: Duration = Duration::from_secs(5);

/// What an upgrade leaves: the stream, the connection machine, the negotiated subprotocol, and
/// the bytes that came with the 101 (they belong to the session and must be fed to it first).
pub(crate) type Opened = (Stream, Connection, Option<String>, Bytes);

/// Upgrades to WebSocket with `handshake`. A refusal is the server's answer, as for any other
/// request ([`Error::Api`] with its status: a 403 on `pods/exec`, a 404 for a missing pod).
fn open(client: &Client, handshake: ClientHandshake, random: OsRandom) -> Result<Opened> {
    open_with(client, handshake, random, channel_ws_config())
}

/// [`open`] with the connection's own settings.
pub(crate) fn open_with(
    client: &Client,
    handshake: ClientHandshake,
    random: OsRandom,
    mut config: klient_proto::ws::Config,
) -> Result<Opened> {
    let request = handshake.request().map_err(Error::Handshake)?;
    let (parts, ()) = request.into_parts();
    let (head, stream, leftover) = client.upgrade(http::Request::from_parts(parts, Vec::new()))?;
    let negotiated = handshake
        .check_response(head.status, &head.headers)
        .map_err(Error::Handshake)?;
    config.deflate = negotiated.deflate;
    let connection = Connection::new(config, random, Instant::now());
    Ok((stream, connection, negotiated.protocol, leftover))
}

/// What the pump needs of a connection: bytes both ways, a half-close, and its socket (to wait
/// on).
pub(crate) trait Transport: Read + Write {
    fn shutdown_write(&mut self) -> io::Result<()>;
    fn try_clone_tcp(&self) -> io::Result<TcpStream>;
}

impl Transport for Stream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        Stream::shutdown_write(self)
    }
    fn try_clone_tcp(&self) -> io::Result<TcpStream> {
        Stream::try_clone_tcp(self)
    }
}

impl Transport for TcpStream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
    fn try_clone_tcp(&self) -> io::Result<TcpStream> {
        self.try_clone()
    }
}

/// The pump's socket readiness events.
const SOCKET: mio::Token = mio::Token(0);
/// A caller's request is queued.
const CALLER: mio::Token = mio::Token(1);

/// What the pump sleeps on: its socket (readable; writable too while bytes wait for room) and
/// the caller's requests (every handle rings the waker after queueing one).
pub(crate) struct Waiting {
    poll: mio::Poll,
    events: mio::Events,
    /// A second handle on the pump's socket, in non-blocking mode (which the pump's own handle
    /// shares): registered with `poll`.
    socket: mio::net::TcpStream,
    writable: bool,
    /// The pump's own hold on the waker. The handles' holds go with the handles, and the last
    /// one dropped would close the waker's eventfd, which takes its pending wake-up out of the
    /// poll before the pump sees it: the wake-up that says "the caller has gone" (or the
    /// command queued just before) would be lost until the session's next deadline.
    _waker: Arc<mio::Waker>,
}

impl Waiting {
    /// Waiting on `stream`'s socket, which it puts in non-blocking mode, and the waker for the
    /// caller's handles.
    pub(crate) fn for_stream(stream: &impl Transport) -> io::Result<(Waiting, Arc<mio::Waker>)> {
        let tcp = stream.try_clone_tcp()?;
        tcp.set_nonblocking(true)?;
        let mut socket = mio::net::TcpStream::from_std(tcp);
        let poll = mio::Poll::new()?;
        poll.registry()
            .register(&mut socket, SOCKET, mio::Interest::READABLE)?;
        let waker = Arc::new(mio::Waker::new(poll.registry(), CALLER)?);
        let waiting = Waiting {
            poll,
            events: mio::Events::with_capacity(4),
            socket,
            writable: false,
            _waker: waker.clone(),
        };
        Ok((waiting, waker))
    }

    /// Sleeps until the socket is readable (or writable, with `write`), a caller rings, or
    /// `until`. Readiness is edge-triggered: the pump calls this only after reads (and, with
    /// `write`, a write) stopped at `WouldBlock`.
    fn wait(&mut self, write: bool, until: Option<Instant>) -> io::Result<()> {
        if write != self.writable {
            let interest = if write {
                mio::Interest::READABLE | mio::Interest::WRITABLE
            } else {
                mio::Interest::READABLE
            };
            self.poll
                .registry()
                .reregister(&mut self.socket, SOCKET, interest)?;
            self.writable = write;
        }
        let timeout = until.map(|at| at.saturating_duration_since(Instant::now()));
        match self.poll.poll(&mut self.events, timeout) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            other => other,
        }
    }
}

/// The caller's side of the queue to a pump: every request (and the caller going away) rings
/// the pump's waker, so the pump never polls for them.
pub(crate) struct ToPump<C> {
    /// `None` only while dropping.
    sender: Option<SyncSender<C>>,
    waker: Arc<mio::Waker>,
}

impl<C> ToPump<C> {
    pub(crate) fn new(sender: SyncSender<C>, waker: Arc<mio::Waker>) -> Self {
        ToPump {
            sender: Some(sender),
            waker,
        }
    }

    /// Queues `command` (waiting while the queue is full) and wakes the pump.
    pub(crate) fn send(&self, command: C) -> std::result::Result<(), ()> {
        let sender = self.sender.as_ref().ok_or(())?;
        sender.send(command).map_err(|_| ())?;
        let _ = self.waker.wake();
        Ok(())
    }
}

impl<C> Clone for ToPump<C> {
    fn clone(&self) -> Self {
        ToPump {
            sender: self.sender.clone(),
            waker: self.waker.clone(),
        }
    }
}

impl<C> Drop for ToPump<C> {
    fn drop(&mut self) {
        // The sender goes first, so that the pump, woken, sees it gone (when it was the last).
        drop(self.sender.take());
        let _ = self.waker.wake();
    }
}

/// How a pump ended other than cleanly.
#[derive(Debug)]
pub(crate) enum PumpError<F> {
    /// The session failed (what the server sent, a limit, a deadline).
    Session(F),
    /// Reading from or writing to the socket failed.
    Io(io::Error),
}

impl<F: Into<Error>> From<PumpError<F>> for Error {
    fn from(failure: PumpError<F>) -> Self {
        match failure {
            PumpError::Session(e) => e.into(),
            PumpError::Io(e) => Error::Io(e),
        }
    }
}

/// Bytes queued for the socket above which the pump takes no new writes from the caller: the
/// back-pressure that keeps a fast writer from outrunning the network.
const OUTBOX_HIGH_WATER: usize = 1 << 20;

/// Moves bytes until the session ends, handing every event to `deliver`, which gives back an
/// event its reader has no room for: the pump holds it, reads the socket no more until it is
/// taken (see [`output`]), and goes on with the caller's requests and the session's deadlines.
///
/// The socket is non-blocking: each turn takes the caller's requests, writes what the socket
/// takes, delivers the session's events and reads what has arrived, and the pump sleeps (see
/// [`Waiting`]) only after a turn in which nothing moved. A pump that wrote everything before
/// reading again would deadlock against an echoing peer once both directions' buffers fill.
///
/// The session's end comes last: every event decoded before a failure is delivered, and what
/// the session owes the server (its close frame) is written, before the failure is returned. A
/// socket error is returned only after the events already decoded are delivered.
pub(crate) fn pump<S: Session>(
    mut stream: impl Transport,
    mut waiting: Waiting,
    mut session: S,
    commands: Receiver<S::Command>,
    mut deliver: impl FnMut(S::Event) -> std::result::Result<(), S::Event>,
) -> std::result::Result<(), PumpError<S::Failure>> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut outbox: Vec<u8> = Vec::new();
    let mut sent = 0;
    let mut caller_gone = false;
    let mut shutdown_pending = false;
    // The stream holds bytes it could not write yet (TLS ciphertext): flush again.
    let mut flush_pending = false;
    // The session's verdict once poll_event gave it: Ok for a clean end, or its failure.
    let mut ended: Option<std::result::Result<(), S::Failure>> = None;
    let mut io_error: Option<io::Error> = None;
    let mut final_flush: Option<Instant> = None;
    // An event whose reader had no room yet.
    let mut held: Option<S::Event> = None;
    loop {
        let mut progress = false;
        if ended.is_none() && io_error.is_none() {
            while !caller_gone && !shutdown_pending && outbox.len() - sent < OUTBOX_HIGH_WATER {
                match commands.try_recv() {
                    Ok(command) => {
                        shutdown_pending = session.command(command, Instant::now());
                        // Into the outbox at once, so the high-water mark counts it.
                        session.transmit_into(&mut outbox);
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        caller_gone = true;
                        session.abandon(Instant::now());
                    }
                }
                progress = true;
            }
        }
        session.transmit_into(&mut outbox);
        while io_error.is_none() && sent < outbox.len() {
            match stream.write(&outbox[sent..]) {
                Ok(0) => io_error = Some(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    sent += n;
                    flush_pending = true;
                    progress = true;
                }
                Err(e) if is_would_block(&e) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => progress = true,
                Err(e) => io_error = Some(e),
            }
        }
        if sent == outbox.len() {
            outbox.clear();
            sent = 0;
        }
        if io_error.is_none() && outbox.is_empty() && flush_pending {
            match stream.flush() {
                Ok(()) => flush_pending = false,
                Err(e) if is_would_block(&e) => {}
                Err(e) => io_error = Some(e),
            }
        }
        if io_error.is_none() && shutdown_pending && outbox.is_empty() && !flush_pending {
            match stream.shutdown_write() {
                Ok(()) => {
                    shutdown_pending = false;
                    progress = true;
                }
                Err(e) if is_would_block(&e) => flush_pending = true,
                Err(e) => io_error = Some(e),
            }
        }
        let bytes_waiting = !outbox.is_empty() || flush_pending || shutdown_pending;
        // Events before the end, then the end itself; each handed over before the next is taken.
        let was_held = held.is_some();
        if let Some(event) = held.take() {
            held = deliver(event).err();
            progress |= held.is_none();
        }
        while ended.is_none() && held.is_none() {
            match session.poll_event() {
                Ok(Progress::Event(event)) => held = deliver(event).err(),
                Ok(Progress::NeedData) => break,
                Ok(Progress::Finished) => ended = Some(Ok(())),
                Err(failure) => ended = Some(Err(failure)),
            }
        }
        // The socket is not read while an event is held: the keepalive deadlines wait too.
        if held.is_some() != was_held {
            session.pause_reading(held.is_some(), Instant::now());
        }
        if let Some(end) = ended.take() {
            let deadline = *final_flush.get_or_insert_with(|| Instant::now() + FINAL_FLUSH);
            let flushed = !bytes_waiting && session_has_nothing_to_send(&mut session, &mut outbox);
            if flushed || io_error.is_some() || Instant::now() >= deadline {
                return end.map_err(PumpError::Session);
            }
            ended = Some(end);
            // Only the close frame is left to write: wait for room for it.
            if !progress && bytes_waiting {
                waiting.wait(true, Some(deadline)).map_err(PumpError::Io)?;
            }
            continue;
        }
        // The events read before the error are handed over first.
        if held.is_none()
            && let Some(e) = io_error
        {
            return Err(PumpError::Io(e));
        }
        let now = Instant::now();
        if session.poll_timeout().is_some_and(|at| at <= now) {
            session.handle_timeout(now);
            continue;
        }
        // Drain what has arrived (to `WouldBlock`: readiness is edge-triggered), so the
        // server's writes (and its pongs behind them) never wait on ours; unless an event waits
        // for room, which is the back-pressure.
        for _ in 0..READS_PER_TURN * usize::from(held.is_none()) {
            match stream.read(&mut buf) {
                Ok(0) => {
                    session.handle_eof();
                    progress = true;
                    break;
                }
                Ok(n) => {
                    session.handle_bytes(&buf[..n]);
                    progress = true;
                }
                Err(e) if is_would_block(&e) => break,
                // Not a verdict on the socket: the next turn reads again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    progress = true;
                    break;
                }
                Err(e) => {
                    // Delivered next turn: the events read before it, then this.
                    io_error = Some(e);
                    progress = true;
                    break;
                }
            }
        }
        if !progress {
            // A broken socket is not waited on for room (it would report itself at once): only
            // the reader making room for the held event is.
            waiting
                .wait(bytes_waiting && io_error.is_none(), session.poll_timeout())
                .map_err(PumpError::Io)?;
        }
    }
}

/// Moves anything the session still has to send into `outbox`; `true` when there was nothing.
fn session_has_nothing_to_send<S: Session>(session: &mut S, outbox: &mut Vec<u8>) -> bool {
    !session.transmit_into(outbox)
}

/// The socket has no bytes, or no room, right now.
fn is_would_block(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// A command running in a container (exec) or a session attached to one (attach): stdin as
/// [`Write`], stdout and stderr as [`Read`], and [`wait`](Self::wait) for the exit status.
pub struct Process {
    stdin: Option<ProcessStdin>,
    stdout: Option<OutputReader>,
    stderr: Option<OutputReader>,
    control: ToPump<ExecCommand>,
    pump: JoinHandle<Result<ExitStatus>>,
}

impl Process {
    /// Standard input, when requested. Dropping it (or calling [`ProcessStdin::close`]) closes
    /// the remote stdin, so `cat` and friends return.
    pub fn stdin(&mut self) -> Option<&mut ProcessStdin> {
        self.stdin.as_mut()
    }

    /// Takes standard input out, e.g. to write it from another thread.
    pub fn take_stdin(&mut self) -> Option<ProcessStdin> {
        self.stdin.take()
    }

    /// Takes standard output out (a [`Read`] that ends when the command's stdout does).
    pub fn take_stdout(&mut self) -> Option<OutputReader> {
        self.stdout.take()
    }

    /// Takes standard error out.
    pub fn take_stderr(&mut self) -> Option<OutputReader> {
        self.stderr.take()
    }

    /// Tells the terminal its new size (only with `tty`). Fails with
    /// [`io::ErrorKind::BrokenPipe`] once the session has ended, as writing to stdin does.
    pub fn resize(&self, width: u16, height: u16) -> Result<()> {
        self.control
            .send(ExecCommand::Resize(width, height))
            .map_err(|_| Error::Io(session_ended()))
    }

    /// Closes stdin (if still open) and waits for the command to finish. Output not taken out of
    /// the process is discarded as it comes. Output taken out stays readable from its reader,
    /// but, as with a pipe, only so much waits unread: a command whose taken output nobody reads
    /// does not finish, so read it before, or beside (another thread), this call.
    ///
    /// An exit status the server sent counts even if the connection broke afterwards. Without
    /// one, the error says why: [`Error::WebSocket`] (keepalive pongs missing, a broken frame,
    /// the connection cut), [`Error::Exec`] (the server broke the channel protocol, or closed
    /// without a status: [`ExecError::NoExitStatus`](klient_proto::remote::ExecError::NoExitStatus)), or [`Error::Io`].
    pub fn wait(mut self) -> Result<ExitStatus> {
        drop(self.stdin.take());
        drop(self.stdout.take());
        drop(self.stderr.take());
        match self.pump.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// The remote standard input. Writes are queued to the session; `flush` waits for nothing more
/// than the queue (the pump writes everything queued before it reads again).
pub struct ProcessStdin {
    commands: ToPump<ExecCommand>,
}

impl ProcessStdin {
    /// Closes the remote stdin (the command reads end of file).
    pub fn close(self) {}
}

/// What writing to a session that has ended returns.
fn session_ended() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the session has ended")
}

impl Write for ProcessStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.commands
            .send(ExecCommand::Stdin(buf.to_vec()))
            .map_err(|_| session_ended())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ProcessStdin {
    fn drop(&mut self) {
        let _ = self.commands.send(ExecCommand::CloseStdin);
    }
}

/// Output of a session as [`Read`]: ends at the end of the stream. Like a pipe it holds only so
/// much (16 messages): a command whose output is not read waits, and with it the
/// session (read stdout and stderr as you write stdin, or from threads of their own).
pub struct OutputReader {
    chunks: Chunks<Bytes>,
    current: Bytes,
}

impl Read for OutputReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

fn output_pipe(room: &Room, wanted: bool) -> (Option<OutputSender<Bytes>>, Option<OutputReader>) {
    if !wanted {
        return (None, None);
    }
    let (tx, chunks) = room.queue();
    (
        Some(tx),
        Some(OutputReader {
            chunks,
            current: Bytes::new(),
        }),
    )
}

fn start_process(client: &Client, path: String, params: &AttachParams) -> Result<Process> {
    let mut random = OsRandom::new().map_err(Error::Io)?;
    let host = client.config().resolved.cluster.server.host_header();
    let handshake = exec_handshake(&host, &path, random.key16().map_err(Error::Io)?);
    let (stream, connection, protocol, leftover) = open(client, handshake, random)?;
    let mut session = ExecSession::new(connection, protocol.as_deref(), ExecSessionConfig::default())
        .map_err(Error::UnsupportedProtocol)?;
    // A failure in these bytes is handed out by the pump, after the events before it.
    session.handle_bytes(&leftover);
    let (waiting, waker) = Waiting::for_stream(&stream).map_err(Error::Io)?;
    let (commands, command_rx) = mpsc::sync_channel(QUEUED_WRITES);
    let room = Room::new(waker.clone());
    let commands = ToPump::new(commands, waker);
    let (stdout_tx, stdout) = output_pipe(&room, params.stdout);
    let (stderr_tx, stderr) = output_pipe(&room, params.stderr);
    let pump = std::thread::Builder::new()
        .name("klient-exec".into())
        .spawn(move || run_exec(stream, waiting, session, command_rx, stdout_tx, stderr_tx))
        .map_err(Error::Io)?;
    let stdin = params.stdin.then(|| ProcessStdin {
        commands: commands.clone(),
    });
    Ok(Process {
        stdin,
        stdout,
        stderr,
        control: commands,
        pump,
    })
}

/// The exec pump thread: output to the pipes, then the exit status or why there is none.
fn run_exec(
    stream: impl Transport,
    waiting: Waiting,
    session: ExecSession,
    commands: Receiver<ExecCommand>,
    stdout: Option<OutputSender<Bytes>>,
    stderr: Option<OutputSender<Bytes>>,
) -> Result<ExitStatus> {
    let mut exit = None;
    let result = pump(stream, waiting, session, commands, |event| match event {
        // Output nobody asked for is dropped.
        ExecEvent::Stdout(bytes) => match &stdout {
            Some(tx) => tx.offer(bytes).map_err(ExecEvent::Stdout),
            None => Ok(()),
        },
        ExecEvent::Stderr(bytes) => match &stderr {
            Some(tx) => tx.offer(bytes).map_err(ExecEvent::Stderr),
            None => Ok(()),
        },
        ExecEvent::Exit(status) => {
            exit = Some(status);
            Ok(())
        }
        _ => Ok(()),
    });
    exec_outcome(result.map_err(Error::from), exit)
}

impl Client {
    /// Runs `command` in a container of pod `namespace/name`, like `kubectl exec`.
    pub fn exec<S: AsRef<str>>(
        &self,
        namespace: &str,
        name: &str,
        command: &[S],
        params: &AttachParams,
    ) -> Result<Process> {
        let path = exec_path(namespace, name, command, params).map_err(|e| Error::Request(e.into()))?;
        start_process(self, path, params)
    }

    /// Attaches to the main process of a container of pod `namespace/name`, like `kubectl attach`.
    pub fn attach(&self, namespace: &str, name: &str, params: &AttachParams) -> Result<Process> {
        let path = attach_path(namespace, name, params).map_err(|e| Error::Request(e.into()))?;
        start_process(self, path, params)
    }

    /// Forwards `ports` of pod `namespace/name`; each port gets a [`PortStream`] from
    /// [`PortForwarder::take_stream`]. One WebSocket carries one connection per port.
    ///
    /// An unusable list of ports is [`Error::InvalidPorts`]. Once the session runs, a port the
    /// server cannot forward makes its stream's reads fail with a
    /// [`PortError`](klient_proto::remote::PortError) inside the [`io::Error`], and a failed
    /// session makes every stream's reads fail with this crate's [`Error`] inside it.
    pub fn portforward(&self, namespace: &str, name: &str, ports: &[u16]) -> Result<PortForwarder> {
        let ports = Ports::new(ports).map_err(Error::InvalidPorts)?;
        let path = portforward_path(namespace, name, &ports).map_err(|e| Error::Request(e.into()))?;
        let mut random = OsRandom::new().map_err(Error::Io)?;
        let host = self.config().resolved.cluster.server.host_header();
        let handshake = portforward_handshake(&host, &path, random.key16().map_err(Error::Io)?);
        let (stream, connection, protocol, leftover) = open(self, handshake, random)?;
        let config = PortForwardConfig::default();
        let mut session = PortForward::new(connection, protocol.as_deref(), &ports, config)
            .map_err(Error::UnsupportedProtocol)?;
        // A failure in these bytes is handed out by the pump, after the events before it.
        session.handle_bytes(&leftover);
        let (waiting, waker) = Waiting::for_stream(&stream).map_err(Error::Io)?;
        let (commands, command_rx) = mpsc::sync_channel(QUEUED_WRITES);
        let room = Room::new(waker.clone());
        let commands = ToPump::new(commands, waker);
        let mut readers = Vec::new();
        let mut senders = Vec::new();
        for _ in ports.as_slice() {
            let (tx, chunks) = room.queue();
            senders.push(tx);
            readers.push(Some(chunks));
        }
        let pump = std::thread::Builder::new()
            .name("klient-portforward".into())
            .spawn(move || run_portforward(stream, waiting, session, command_rx, senders))
            .map_err(Error::Io)?;
        Ok(PortForwarder {
            commands,
            readers,
            ports: ports.as_slice().to_vec(),
            _pump: pump,
        })
    }
}

/// The port-forward pump thread: each port's data and errors to its reader; when the session
/// fails, every reader still open gets the failure after the data before it.
fn run_portforward(
    stream: impl Transport,
    waiting: Waiting,
    session: PortForward,
    commands: Receiver<PortCommand>,
    senders: Vec<OutputSender<io::Result<Bytes>>>,
) {
    let mut senders: Vec<_> = senders.into_iter().map(Some).collect();
    let result = pump(stream, waiting, session, commands, |event| match event {
        PortForwardEvent::Data { port_index, bytes } => match senders.get(port_index) {
            Some(Some(tx)) => tx
                .offer(Ok(bytes.clone()))
                .map_err(|_| PortForwardEvent::Data { port_index, bytes }),
            _ => Ok(()),
        },
        PortForwardEvent::PortError { port_index, error } => match senders.get(port_index) {
            Some(Some(tx)) => tx
                .offer(Err(io::Error::other(error.clone())))
                .map_err(|_| PortForwardEvent::PortError { port_index, error }),
            _ => Ok(()),
        },
        PortForwardEvent::Closed => {
            senders.iter_mut().for_each(|s| *s = None);
            Ok(())
        }
        _ => Ok(()),
    });
    if let Err(e) = result {
        log::debug!("port-forward: {e:?}");
        // The session is over: each reader still open gets its failure after what it has
        // queued, waiting for room as long as the reader is there.
        for tx in senders.iter().flatten() {
            tx.hand_over(Err(port_failure(&e)));
        }
    }
}

/// A failed port-forward session as each port's reader sees it: an [`io::Error`] of a kind that
/// says what happened, carrying this crate's [`Error`].
fn port_failure(failure: &PumpError<PortForwardError>) -> io::Error {
    match failure {
        PumpError::Session(e) => io::Error::new(e.io_error_kind(), Error::from(e.clone())),
        PumpError::Io(e) => io::Error::new(e.kind(), e.to_string()),
    }
}

#[cfg(feature = "k8s-openapi")]
impl Api<Pod> {
    /// The namespace exec, attach and port-forward address pods in: an `Api::all` has none.
    fn pod_namespace(&self) -> Result<&str> {
        self.namespace().ok_or_else(|| {
            Error::Request(RequestError::NamespaceRequired {
                kind: "Pod".to_owned(),
            })
        })
    }

    /// Runs `command` in a container of pod `name`, like `kubectl exec`.
    pub fn exec<S: AsRef<str>>(&self, name: &str, command: &[S], params: &AttachParams) -> Result<Process> {
        self.client().exec(self.pod_namespace()?, name, command, params)
    }

    /// Attaches to the main process of a container of pod `name`, like `kubectl attach`.
    pub fn attach(&self, name: &str, params: &AttachParams) -> Result<Process> {
        self.client().attach(self.pod_namespace()?, name, params)
    }

    /// Forwards `ports` of pod `name` (see [`Client::portforward`]).
    pub fn portforward(&self, name: &str, ports: &[u16]) -> Result<PortForwarder> {
        self.client().portforward(self.pod_namespace()?, name, ports)
    }
}

/// A port-forward session: one stream per requested port.
pub struct PortForwarder {
    commands: ToPump<PortCommand>,
    readers: Vec<Option<Chunks<io::Result<Bytes>>>>,
    ports: Vec<u16>,
    _pump: JoinHandle<()>,
}

impl PortForwarder {
    /// The stream to `port`, once (`None` for a port not forwarded or already taken).
    pub fn take_stream(&mut self, port: u16) -> Option<PortStream> {
        let index = self.ports.iter().position(|p| *p == port)?;
        let chunks = self.readers.get_mut(index)?.take()?;
        Some(PortStream {
            index,
            commands: self.commands.clone(),
            chunks,
            current: Bytes::new(),
        })
    }

    /// Ends the session (every stream reads end of file).
    pub fn close(self) {
        let _ = self.commands.send(PortCommand::Close);
    }
}

/// A connection to one forwarded port: [`Read`] + [`Write`]. The protocol has no half-close:
/// the connection ends when the session closes. [`writer`](Self::writer) gives a second handle
/// for writing from another thread while this one reads.
pub struct PortStream {
    index: usize,
    commands: ToPump<PortCommand>,
    chunks: Chunks<io::Result<Bytes>>,
    current: Bytes,
}

impl PortStream {
    /// A handle that writes to this port, for another thread (the stream itself keeps reading).
    pub fn writer(&self) -> PortWriter {
        PortWriter {
            index: self.index,
            commands: self.commands.clone(),
        }
    }
}

/// The writing half of a [`PortStream`].
#[derive(Clone)]
pub struct PortWriter {
    index: usize,
    commands: ToPump<PortCommand>,
}

impl Write for PortWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        send_to_port(&self.commands, self.index, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn send_to_port(commands: &ToPump<PortCommand>, index: usize, buf: &[u8]) -> io::Result<usize> {
    commands
        .send(PortCommand::Send(index, buf.to_vec()))
        .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the port-forward session has ended"))?;
    Ok(buf.len())
}

impl Read for PortStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_chunks(&self.chunks, &mut self.current, buf)
    }
}

impl Write for PortStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        send_to_port(&self.commands, self.index, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
