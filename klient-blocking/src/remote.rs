//! exec, attach and port-forward: a WebSocket upgrade through the [`Client`], then one pump thread
//! per session that moves bytes between the socket and klient-proto's channel machines
//! ([`klient_proto::remote`]) and hands the data to the caller as `Read`/`Write` halves.

use std::io::{self, Read, Write};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
#[cfg(feature = "k8s-openapi")]
use k8s_openapi::api::core::v1::Pod;
use klient_proto::remote::{
    AttachParams, ExecConfig, ExecEvent, ExecSession, ExitStatus, PortForward, PortForwardConfig,
    PortForwardEvent, StdinClose, attach_path, exec_handshake, exec_path, portforward_handshake,
    portforward_path,
};
use klient_proto::ws::{ClientHandshake, Config as WsConfig, Connection, Keepalive};

#[cfg(feature = "k8s-openapi")]
use crate::Api;
use crate::random::OsRandom;
use crate::stream::Stream;
use crate::{Client, Error, Result};

/// How long the pump waits on the socket before looking at the caller's requests again: the
/// latency of stdin and resize when the server is silent.
const POLL_INTERVAL: Duration = Duration::from_millis(10);
/// Writes the caller may queue ahead of the pump; bounds the memory an unread socket can hold.
const QUEUED_WRITES: usize = 64;
/// How long a read or write may block while the other direction has work waiting.
const BUSY_POLL: Duration = Duration::from_millis(1);
/// Socket reads per turn of the pump before it looks at the caller's writes again.
const READS_PER_TURN: usize = 16;

/// Keepalive like kubectl's: a ping every 5 s, the session fails after 30 s without a pong.
fn ws_config() -> WsConfig {
    WsConfig {
        keepalive: Some(Keepalive {
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
        }),
        ..WsConfig::default()
    }
}

/// What an upgrade leaves: the stream, the connection machine, the negotiated subprotocol, and
/// the bytes that came with the 101 (they belong to the session and must be fed to it first).
type Opened = (Stream, Connection, Option<String>, Bytes);

/// Upgrades to WebSocket with `handshake`.
fn open(client: &Client, handshake: ClientHandshake, random: OsRandom) -> Result<Opened> {
    let request = handshake
        .request()
        .map_err(|e| Error::Stream(format!("WebSocket handshake: {e}")))?;
    let (parts, ()) = request.into_parts();
    let (head, stream, leftover) = client.upgrade(http::Request::from_parts(parts, Vec::new()))?;
    let negotiated = handshake
        .check_response(head.status, &head.headers)
        .map_err(|e| Error::Stream(format!("WebSocket handshake: {e}")))?;
    let mut config = ws_config();
    config.deflate = negotiated.deflate;
    let connection = Connection::new(config, random, Instant::now());
    Ok((stream, connection, negotiated.protocol, leftover))
}

/// The parts of a channel session the pump drives; exec/attach and port-forward both have them.
trait Session {
    type Event;
    type Command;
    fn handle_bytes(&mut self, bytes: &[u8]) -> std::result::Result<(), String>;
    fn handle_eof(&mut self) -> std::result::Result<(), String>;
    fn handle_timeout(&mut self, now: Instant) -> std::result::Result<(), String>;
    fn poll_transmit(&mut self) -> Option<Vec<u8>>;
    fn poll_event(&mut self) -> Option<Self::Event>;
    fn poll_timeout(&self) -> Option<Instant>;
    fn is_closed(&self) -> bool;
    /// Carries out one caller request; `Ok(true)` asks the pump to half-close the socket.
    fn command(&mut self, command: Self::Command) -> std::result::Result<bool, String>;
    /// The caller is gone: close the session.
    fn abandon(&mut self, now: Instant);
}

/// Bytes queued for the socket above which the pump takes no new writes from the caller: the
/// back-pressure that keeps a fast writer from outrunning the network.
const OUTBOX_HIGH_WATER: usize = 1 << 20;

/// Moves bytes until the session closes, handing every event to `deliver`.
///
/// Reading and writing alternate without either blocking for long: the socket has short read and
/// write timeouts, and writes go out only as fast as the socket takes them. A pump that wrote
/// everything before reading again would deadlock against an echoing peer once both directions'
/// buffers fill.
fn pump<S: Session>(
    mut stream: Stream,
    mut session: S,
    commands: Receiver<S::Command>,
    mut deliver: impl FnMut(S::Event),
) -> std::result::Result<(), String> {
    let io_error = |e: io::Error| e.to_string();
    stream.set_write_timeout(Some(BUSY_POLL)).map_err(io_error)?;
    let mut read_timeout = None;
    let mut buf = vec![0u8; 64 * 1024];
    let mut outbox: Vec<u8> = Vec::new();
    let mut sent = 0;
    let mut caller_gone = false;
    let mut shutdown_pending = false;
    loop {
        while !caller_gone && !shutdown_pending && outbox.len() - sent < OUTBOX_HIGH_WATER {
            match commands.try_recv() {
                Ok(command) => shutdown_pending = session.command(command)?,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    caller_gone = true;
                    session.abandon(Instant::now());
                }
            }
        }
        while let Some(bytes) = session.poll_transmit() {
            outbox.extend_from_slice(&bytes);
        }
        if sent < outbox.len() {
            match stream.write(&outbox[sent..]) {
                Ok(n) => sent += n,
                Err(e) if is_timeout(&e) => {}
                Err(e) => return Err(e.to_string()),
            }
            if sent == outbox.len() {
                outbox.clear();
                sent = 0;
                match stream.flush() {
                    Ok(()) => {}
                    Err(e) if is_timeout(&e) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
        if shutdown_pending && outbox.is_empty() {
            stream.shutdown_write().map_err(io_error)?;
            shutdown_pending = false;
        }
        while let Some(event) = session.poll_event() {
            deliver(event);
        }
        if session.is_closed() && outbox.is_empty() {
            return Ok(());
        }
        let now = Instant::now();
        if session.poll_timeout().is_some_and(|at| at <= now) {
            session.handle_timeout(now)?;
            continue;
        }
        // With bytes waiting to go out, only glance at the socket; otherwise wait a little for
        // the server (that wait is the latency of a caller's next write).
        let wanted = if outbox.is_empty() {
            POLL_INTERVAL
        } else {
            BUSY_POLL
        };
        if read_timeout != Some(wanted) {
            stream.set_read_timeout(Some(wanted)).map_err(io_error)?;
            read_timeout = Some(wanted);
        }
        // Drain what has arrived, so the server's writes (and its pongs behind them) never wait
        // on ours.
        for _ in 0..READS_PER_TURN {
            match stream.read(&mut buf) {
                Ok(0) => {
                    session.handle_eof()?;
                    break;
                }
                Ok(n) => session.handle_bytes(&buf[..n])?,
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => break,
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

enum ExecCommand {
    Stdin(Vec<u8>),
    CloseStdin,
    Resize(u16, u16),
}

impl Session for ExecSession {
    type Event = ExecEvent;
    type Command = ExecCommand;

    fn handle_bytes(&mut self, bytes: &[u8]) -> std::result::Result<(), String> {
        ExecSession::handle_bytes(self, bytes).map_err(|e| e.to_string())
    }
    fn handle_eof(&mut self) -> std::result::Result<(), String> {
        ExecSession::handle_eof(self).map_err(|e| e.to_string())
    }
    fn handle_timeout(&mut self, now: Instant) -> std::result::Result<(), String> {
        ExecSession::handle_timeout(self, now).map_err(|e| e.to_string())
    }
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        ExecSession::poll_transmit(self)
    }
    fn poll_event(&mut self) -> Option<ExecEvent> {
        ExecSession::poll_event(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        ExecSession::poll_timeout(self)
    }
    fn is_closed(&self) -> bool {
        ExecSession::is_closed(self)
    }
    fn command(&mut self, command: ExecCommand) -> std::result::Result<bool, String> {
        match command {
            ExecCommand::Stdin(data) => self.send_stdin(&data).map(|()| false).map_err(|e| e.to_string()),
            // v4 has no stdin half-close; a TCP half-close is the nearest thing the server can see.
            ExecCommand::CloseStdin => match self.close_stdin().map_err(|e| e.to_string())? {
                StdinClose::Signalled => Ok(false),
                StdinClose::NeedsSocketClose => Ok(true),
            },
            ExecCommand::Resize(width, height) => self
                .resize(width, height)
                .map(|()| false)
                .map_err(|e| e.to_string()),
        }
    }
    fn abandon(&mut self, now: Instant) {
        let _ = self.close(now);
    }
}

/// A command running in a container (exec) or a session attached to one (attach): stdin as
/// [`Write`], stdout and stderr as [`Read`], and [`wait`](Self::wait) for the exit status.
pub struct Process {
    stdin: Option<ProcessStdin>,
    stdout: Option<OutputReader>,
    stderr: Option<OutputReader>,
    control: SyncSender<ExecCommand>,
    pump: Option<JoinHandle<std::result::Result<Option<ExitStatus>, String>>>,
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

    /// Tells the terminal its new size (only with `tty`).
    pub fn resize(&self, width: u16, height: u16) -> Result<()> {
        self.control
            .send(ExecCommand::Resize(width, height))
            .map_err(|_| Error::Stream("the session has ended".into()))
    }

    /// Closes stdin (if still open) and waits for the command to finish. Output not yet read
    /// stays readable from the readers taken before.
    pub fn wait(mut self) -> Result<ExitStatus> {
        drop(self.stdin.take());
        let pump = self
            .pump
            .take()
            .ok_or_else(|| Error::Stream("already waited".into()))?;
        match pump.join() {
            Ok(Ok(Some(status))) => Ok(status),
            Ok(Ok(None)) => Err(Error::Stream("the session ended without an exit status".into())),
            Ok(Err(e)) => Err(Error::Stream(e)),
            Err(_) => Err(Error::Stream("the session's thread panicked".into())),
        }
    }
}

/// The remote standard input. Writes are queued to the session; `flush` waits for nothing more
/// than the queue (the pump writes everything queued before it reads again).
pub struct ProcessStdin {
    commands: SyncSender<ExecCommand>,
}

impl ProcessStdin {
    /// Closes the remote stdin (the command reads end of file).
    pub fn close(self) {}
}

impl Write for ProcessStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.commands
            .send(ExecCommand::Stdin(buf.to_vec()))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the session has ended"))?;
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

/// Output of a session as [`Read`]: ends at the end of the stream.
pub struct OutputReader {
    chunks: Receiver<Bytes>,
    current: Bytes,
}

impl Read for OutputReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.recv() {
                Ok(chunk) => self.current = chunk,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

fn output_pipe(wanted: bool) -> (Option<Sender<Bytes>>, Option<OutputReader>) {
    if !wanted {
        return (None, None);
    }
    // Unbounded, like an OS pipe that never fills: a caller that reads only stdout must not
    // stall stderr (or the exit status) behind it.
    let (tx, rx) = mpsc::channel();
    (
        Some(tx),
        Some(OutputReader {
            chunks: rx,
            current: Bytes::new(),
        }),
    )
}

fn start_process(client: &Client, path: String, params: &AttachParams) -> Result<Process> {
    let mut random = OsRandom::new().map_err(Error::Io)?;
    let host = client.config().resolved.cluster.server.host_header();
    let handshake = exec_handshake(&host, &path, random.key16().map_err(Error::Io)?);
    let (stream, connection, protocol, leftover) = open(client, handshake, random)?;
    let mut session = ExecSession::new(connection, protocol.as_deref(), ExecConfig::default())
        .map_err(|e| Error::Stream(format!("exec: {e}")))?;
    session
        .handle_bytes(&leftover)
        .map_err(|e| Error::Stream(format!("exec: {e}")))?;
    let (commands, command_rx) = mpsc::sync_channel(QUEUED_WRITES);
    let (stdout_tx, stdout) = output_pipe(params.stdout);
    let (stderr_tx, stderr) = output_pipe(params.stderr);
    let pump = std::thread::Builder::new()
        .name("klient-exec".into())
        .spawn(move || {
            let mut exit = None;
            let result = pump(stream, session, command_rx, |event| match event {
                ExecEvent::Stdout(bytes) => {
                    if let Some(tx) = &stdout_tx {
                        let _ = tx.send(bytes);
                    }
                }
                ExecEvent::Stderr(bytes) => {
                    if let Some(tx) = &stderr_tx {
                        let _ = tx.send(bytes);
                    }
                }
                ExecEvent::Exit(status) => exit = Some(status),
                ExecEvent::Closed => {}
            });
            // An exit status that arrived counts even if the socket then broke.
            match (result, exit) {
                (_, Some(status)) => Ok(Some(status)),
                (Ok(()), None) => Ok(None),
                (Err(e), None) => Err(e),
            }
        })
        .map_err(Error::Io)?;
    let stdin = params.stdin.then(|| ProcessStdin {
        commands: commands.clone(),
    });
    Ok(Process {
        stdin,
        stdout,
        stderr,
        control: commands,
        pump: Some(pump),
    })
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
        let path = exec_path(namespace, name, command, params).map_err(|e| Error::Stream(e.to_string()))?;
        start_process(self, path, params)
    }

    /// Attaches to the main process of a container of pod `namespace/name`, like `kubectl attach`.
    pub fn attach(&self, namespace: &str, name: &str, params: &AttachParams) -> Result<Process> {
        let path = attach_path(namespace, name, params).map_err(|e| Error::Stream(e.to_string()))?;
        start_process(self, path, params)
    }

    /// Forwards `ports` of pod `namespace/name`; each port gets a [`PortStream`] from
    /// [`PortForwarder::take_stream`]. One WebSocket carries one connection per port.
    pub fn portforward(&self, namespace: &str, name: &str, ports: &[u16]) -> Result<PortForwarder> {
        let path = portforward_path(namespace, name, ports).map_err(|e| Error::Stream(e.to_string()))?;
        let mut random = OsRandom::new().map_err(Error::Io)?;
        let host = self.config().resolved.cluster.server.host_header();
        let handshake = portforward_handshake(&host, &path, random.key16().map_err(Error::Io)?);
        let (stream, connection, protocol, leftover) = open(self, handshake, random)?;
        let config = PortForwardConfig::default();
        let mut session = PortForward::new(connection, protocol.as_deref(), ports, config)
            .map_err(|e| Error::Stream(format!("port-forward: {e}")))?;
        session
            .handle_bytes(&leftover)
            .map_err(|e| Error::Stream(format!("port-forward: {e}")))?;
        let (commands, command_rx) = mpsc::sync_channel(QUEUED_WRITES);
        let mut readers = Vec::new();
        let mut senders = Vec::new();
        for _ in ports {
            let (tx, rx) = mpsc::channel();
            senders.push(tx);
            readers.push(Some(rx));
        }
        let pump = std::thread::Builder::new()
            .name("klient-portforward".into())
            .spawn(move || {
                let mut senders: Vec<Option<Sender<std::result::Result<Bytes, String>>>> =
                    senders.into_iter().map(Some).collect();
                let result = pump(stream, session, command_rx, |event| match event {
                    PortForwardEvent::Data { port_index, bytes } => {
                        if let Some(Some(tx)) = senders.get(port_index) {
                            let _ = tx.send(Ok(bytes));
                        }
                    }
                    PortForwardEvent::PortError { port_index, message } => {
                        if let Some(Some(tx)) = senders.get(port_index) {
                            let _ = tx.send(Err(message));
                        }
                    }
                    PortForwardEvent::Closed => senders.iter_mut().for_each(|s| *s = None),
                });
                if let Err(e) = &result {
                    for tx in senders.iter().flatten() {
                        let _ = tx.send(Err(e.clone()));
                    }
                }
                result
            })
            .map_err(Error::Io)?;
        Ok(PortForwarder {
            commands,
            readers,
            ports: ports.to_vec(),
            _pump: pump,
        })
    }
}

#[cfg(feature = "k8s-openapi")]
impl Api<Pod> {
    fn pod_namespace(&self, verb: &str) -> Result<&str> {
        self.namespace()
            .ok_or_else(|| Error::Stream(format!("{verb} needs an Api made with Api::namespaced")))
    }

    /// Runs `command` in a container of pod `name`, like `kubectl exec`.
    pub fn exec<S: AsRef<str>>(&self, name: &str, command: &[S], params: &AttachParams) -> Result<Process> {
        self.client()
            .exec(self.pod_namespace("exec")?, name, command, params)
    }

    /// Attaches to the main process of a container of pod `name`, like `kubectl attach`.
    pub fn attach(&self, name: &str, params: &AttachParams) -> Result<Process> {
        self.client().attach(self.pod_namespace("attach")?, name, params)
    }

    /// Forwards `ports` of pod `name` (see [`Client::portforward`]).
    pub fn portforward(&self, name: &str, ports: &[u16]) -> Result<PortForwarder> {
        self.client()
            .portforward(self.pod_namespace("port-forward")?, name, ports)
    }
}

enum PortCommand {
    Send(usize, Vec<u8>),
    Close,
}

impl Session for PortForward {
    type Event = PortForwardEvent;
    type Command = PortCommand;

    fn handle_bytes(&mut self, bytes: &[u8]) -> std::result::Result<(), String> {
        PortForward::handle_bytes(self, bytes).map_err(|e| e.to_string())
    }
    fn handle_eof(&mut self) -> std::result::Result<(), String> {
        PortForward::handle_eof(self).map_err(|e| e.to_string())
    }
    fn handle_timeout(&mut self, now: Instant) -> std::result::Result<(), String> {
        PortForward::handle_timeout(self, now).map_err(|e| e.to_string())
    }
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        PortForward::poll_transmit(self)
    }
    fn poll_event(&mut self) -> Option<PortForwardEvent> {
        PortForward::poll_event(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        PortForward::poll_timeout(self)
    }
    fn is_closed(&self) -> bool {
        PortForward::is_closed(self)
    }
    fn command(&mut self, command: PortCommand) -> std::result::Result<bool, String> {
        match command {
            PortCommand::Send(index, data) => {
                self.send(index, &data).map(|()| false).map_err(|e| e.to_string())
            }
            PortCommand::Close => self
                .close(Instant::now())
                .map(|()| false)
                .map_err(|e| e.to_string()),
        }
    }
    fn abandon(&mut self, now: Instant) {
        let _ = self.close(now);
    }
}

/// A port-forward session: one stream per requested port.
pub struct PortForwarder {
    commands: SyncSender<PortCommand>,
    readers: Vec<Option<Receiver<std::result::Result<Bytes, String>>>>,
    ports: Vec<u16>,
    _pump: JoinHandle<std::result::Result<(), String>>,
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
    commands: SyncSender<PortCommand>,
    chunks: Receiver<std::result::Result<Bytes, String>>,
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
    commands: SyncSender<PortCommand>,
}

impl Write for PortWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        send_to_port(&self.commands, self.index, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn send_to_port(commands: &SyncSender<PortCommand>, index: usize, buf: &[u8]) -> io::Result<usize> {
    commands
        .send(PortCommand::Send(index, buf.to_vec()))
        .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the port-forward session has ended"))?;
    Ok(buf.len())
}

impl Read for PortStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.recv() {
                Ok(Ok(chunk)) => self.current = chunk,
                Ok(Err(message)) => return Err(io::Error::other(message)),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
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
