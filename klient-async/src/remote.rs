//! exec, attach and port-forward: a WebSocket upgrade through the [`Client`], then one loop per
//! session (the [`Pump`](crate::pump::Pump), a task of the runtime or driven by the handles, see
//! [`Background`]) that moves bytes between the socket and klient-proto's channel machines, and
//! handles for the caller: stdin, stdout and stderr of a process, one stream per forwarded port.
//!
//! Every queue is bounded: an output nobody reads fills like a pipe and the session stops
//! reading the socket until it is read; a writer waits while the socket is behind.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use bytes::Bytes;
use futures_channel::{mpsc, oneshot};
use futures_core::Stream as _;
use klient_proto::remote::{
    AttachParams, ExecCommand, ExecEvent, ExecSession, ExecSessionConfig, ExitStatus, PortCommand,
    PortForward, PortForwardConfig, PortForwardError, PortForwardEvent, Ports, attach_path,
    channel_ws_config, exec_handshake, exec_outcome, exec_path, portforward_handshake, portforward_path,
};
use klient_proto::ws::{ClientHandshake, Connection, OsRandom};

use crate::background::Background;
use crate::pump::{Inputs, Outputs, Pump, PumpError};
use crate::runtime::Runtime;
use crate::stream::Stream;
use crate::{Client, Error, Result};

/// Chunks of output queued for a reader before the session stops reading the socket.
pub(crate) const OUTPUT_QUEUE: usize = 16;
/// Writes queued ahead of the session.
pub(crate) const INPUT_QUEUE: usize = 16;
/// The most one write hands to the session at once.
pub(crate) const MAX_WRITE: usize = 256 * 1024;

/// What an upgrade leaves: the stream, the connection machine, the negotiated subprotocol, and
/// the bytes that came with the 101 (they belong to the session and must be fed to it first).
pub(crate) type Opened = (Stream, Connection, Option<String>, Bytes);

/// Upgrades to WebSocket with `handshake`. A refusal is the server's answer, as for any other
/// request ([`Error::Api`] with its status: a 403 on `pods/exec`, a 404 for a missing pod).
async fn open<R: Runtime>(
    client: &Client<R>,
    handshake: ClientHandshake,
    random: OsRandom,
) -> Result<Opened> {
    open_with(client, handshake, random, channel_ws_config()).await
}

/// [`open`] with the connection's own settings.
pub(crate) async fn open_with<R: Runtime>(
    client: &Client<R>,
    handshake: ClientHandshake,
    random: OsRandom,
    mut config: klient_proto::ws::Config,
) -> Result<Opened> {
    let request = handshake.request().map_err(Error::Handshake)?;
    let (parts, ()) = request.into_parts();
    let (head, stream, leftover) = client
        .upgrade(http::Request::from_parts(parts, Vec::new()))
        .await?;
    let negotiated = handshake
        .check_response(head.status, &head.headers)
        .map_err(Error::Handshake)?;
    config.deflate = negotiated.deflate;
    let connection = Connection::new(config, random, Instant::now());
    Ok((stream, connection, negotiated.protocol, leftover))
}

fn session_ended() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the session has ended")
}

/// A command running in a container (exec) or a session attached to one (attach): stdin,
/// stdout and stderr as async byte streams, [`resize`](Self::resize) for a terminal, and
/// [`wait`](Self::wait) for the exit status. Dropping it ends the session (the streams taken
/// from it then end too).
pub struct Process {
    stdin: Option<ProcessStdin>,
    stdout: Option<OutputReader>,
    stderr: Option<OutputReader>,
    control: mpsc::UnboundedSender<ExecCommand>,
    status: oneshot::Receiver<Result<ExitStatus>>,
    background: Background,
}

impl std::fmt::Debug for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process").finish_non_exhaustive()
    }
}

impl Process {
    /// The command's stdin, when [`AttachParams::stdin`] asked for it.
    pub fn stdin(&mut self) -> Option<&mut ProcessStdin> {
        self.stdin.as_mut()
    }

    /// Takes stdin out, e.g. to write it from another task. Dropping or closing it ends stdin.
    pub fn take_stdin(&mut self) -> Option<ProcessStdin> {
        self.stdin.take()
    }

    /// Takes stdout out, when [`AttachParams::stdout`] asked for it.
    pub fn take_stdout(&mut self) -> Option<OutputReader> {
        self.stdout.take()
    }

    /// Takes stderr out, when [`AttachParams::stderr`] asked for it (never with a tty).
    pub fn take_stderr(&mut self) -> Option<OutputReader> {
        self.stderr.take()
    }

    /// Tells the terminal's new size (with [`AttachParams::tty`]).
    pub fn resize(&self, width: u16, height: u16) -> Result<()> {
        self.control
            .unbounded_send(ExecCommand::Resize(width, height))
            .map_err(|_| Error::Io(session_ended()))
    }

    /// Ends stdin (if it is still held here) and waits for the exit status. Output not taken
    /// out of the process is discarded as it comes.
    pub async fn wait(mut self) -> Result<ExitStatus> {
        drop(self.stdin.take());
        drop(self.stdout.take());
        drop(self.stderr.take());
        let Process {
            mut status,
            control,
            background,
            ..
        } = self;
        let outcome = std::future::poll_fn(|cx| {
            background.drive(cx);
            Pin::new(&mut status).poll(cx)
        })
        .await;
        drop(control);
        outcome.unwrap_or_else(|_| Err(Error::Io(session_ended())))
    }
}

/// A command's stdin. Writes wait while the session is behind; closing or dropping it ends
/// stdin (the command reads its end of file).
#[derive(Debug)]
pub struct ProcessStdin {
    sender: mpsc::Sender<Vec<u8>>,
    background: Background,
}

impl ProcessStdin {
    /// Takes up to 256 KiB of `buf` once the session has room.
    pub fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.background.drive_writing(cx);
        ready!(self.sender.poll_ready(cx)).map_err(|_| session_ended())?;
        let n = buf.len().min(MAX_WRITE);
        self.sender
            .start_send(buf[..n].to_vec())
            .map_err(|_| session_ended())?;
        // Handed to the session at once where the handles drive it.
        self.background.drive_writing(cx);
        Poll::Ready(Ok(n))
    }

    /// Written bytes are with the session; nothing to wait for.
    pub fn poll_flush(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Ends stdin after what was written.
    pub fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.sender.close_channel();
        self.background.drive_writing(cx);
        Poll::Ready(Ok(()))
    }
}

/// A command's stdout or stderr, as it arrives; its end is the end of the stream.
#[derive(Debug)]
pub struct OutputReader {
    chunks: mpsc::Receiver<Bytes>,
    current: Bytes,
    background: Background,
}

impl OutputReader {
    /// Reads what has arrived into `buf`; `Ok(0)` at the end.
    pub fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        while self.current.is_empty() {
            self.background.drive(cx);
            match ready!(Pin::new(&mut self.chunks).poll_next(cx)) {
                Some(chunk) => self.current = chunk,
                None => return Poll::Ready(Ok(0)),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Poll::Ready(Ok(n))
    }
}

/// An exec session's requests: stdin (its channel closing is the end of stdin) and control.
struct ExecInputs {
    stdin: Option<mpsc::Receiver<Vec<u8>>>,
    control: mpsc::UnboundedReceiver<ExecCommand>,
}

impl Inputs<ExecCommand> for ExecInputs {
    fn poll_command(&mut self, cx: &mut Context<'_>) -> Poll<Option<ExecCommand>> {
        if let Poll::Ready(command) = Pin::new(&mut self.control).poll_next(cx) {
            return Poll::Ready(command);
        }
        let Some(stdin) = self.stdin.as_mut() else {
            return Poll::Pending;
        };
        match ready!(Pin::new(stdin).poll_next(cx)) {
            Some(data) => Poll::Ready(Some(ExecCommand::Stdin(data))),
            None => {
                self.stdin = None;
                Poll::Ready(Some(ExecCommand::CloseStdin))
            }
        }
    }
}

/// Where an exec session's output goes, and its exit status.
struct ExecOutputs {
    stdout: Option<mpsc::Sender<Bytes>>,
    stderr: Option<mpsc::Sender<Bytes>>,
    exit: Option<ExitStatus>,
}

/// Hands `bytes` to `sender` if it has room; a receiver that is gone wants nothing more.
fn offer_bytes<T>(cx: &mut Context<'_>, sender: &mut Option<mpsc::Sender<T>>, item: T) -> Option<T> {
    // Nobody reads this output any more: it is dropped.
    let tx = sender.as_mut()?;
    match tx.poll_ready(cx) {
        Poll::Ready(Ok(())) => {
            if tx.start_send(item).is_err() {
                *sender = None;
            }
            None
        }
        Poll::Ready(Err(_)) => {
            *sender = None;
            None
        }
        Poll::Pending => Some(item),
    }
}

impl Outputs<ExecEvent> for ExecOutputs {
    fn offer(&mut self, cx: &mut Context<'_>, event: ExecEvent) -> Option<ExecEvent> {
        match event {
            ExecEvent::Stdout(bytes) => offer_bytes(cx, &mut self.stdout, bytes).map(ExecEvent::Stdout),
            ExecEvent::Stderr(bytes) => offer_bytes(cx, &mut self.stderr, bytes).map(ExecEvent::Stderr),
            ExecEvent::Exit(status) => {
                self.exit = Some(status);
                None
            }
            _ => None,
        }
    }
}

fn output_pipe(wanted: bool) -> (Option<mpsc::Sender<Bytes>>, Option<mpsc::Receiver<Bytes>>) {
    if !wanted {
        return (None, None);
    }
    let (tx, rx) = mpsc::channel(OUTPUT_QUEUE);
    (Some(tx), Some(rx))
}

async fn start_process<R: Runtime>(
    client: &Client<R>,
    path: String,
    params: &AttachParams,
) -> Result<Process> {
    let mut random = OsRandom::new().map_err(Error::Io)?;
    let host = client.config().resolved.cluster.server.host_header();
    let handshake = exec_handshake(&host, &path, random.key16().map_err(Error::Io)?);
    let (stream, connection, protocol, leftover) = open(client, handshake, random).await?;
    let mut session = ExecSession::new(connection, protocol.as_deref(), ExecSessionConfig::default())
        .map_err(Error::UnsupportedProtocol)?;
    // A failure in these bytes is handed out by the loop, after the events before it.
    session.handle_bytes(&leftover);
    let (stdin_tx, stdin_rx) = mpsc::channel(INPUT_QUEUE);
    let (control, control_rx) = mpsc::unbounded();
    let (stdout_tx, stdout) = output_pipe(params.stdout);
    let (stderr_tx, stderr) = output_pipe(params.stderr);
    let inputs = ExecInputs {
        stdin: params.stdin.then_some(stdin_rx),
        control: control_rx,
    };
    let outputs = ExecOutputs {
        stdout: stdout_tx,
        stderr: stderr_tx,
        exit: None,
    };
    let pump = Pump::new(stream, session, inputs, outputs, client.runtime().clone());
    let (status_tx, status) = oneshot::channel();
    let background = Background::start(
        client.runtime(),
        Box::pin(async move {
            let (result, outputs) = pump.await;
            let _ = status_tx.send(exec_outcome(result.map_err(Error::from), outputs.exit));
        }),
    );
    let reader = |chunks| OutputReader {
        chunks,
        current: Bytes::new(),
        background: background.handle(),
    };
    Ok(Process {
        stdin: params.stdin.then(|| ProcessStdin {
            sender: stdin_tx,
            background: background.handle(),
        }),
        stdout: stdout.map(reader),
        stderr: stderr.map(reader),
        control,
        status,
        background,
    })
}

impl<R: Runtime> Client<R> {
    /// Runs `command` in a container of pod `name` (`pods/exec`), with stdin, stdout, stderr and
    /// a terminal as `params` asks.
    pub async fn exec<S: AsRef<str>>(
        &self,
        namespace: &str,
        name: &str,
        command: &[S],
        params: &AttachParams,
    ) -> Result<Process> {
        let path = exec_path(namespace, name, command, params).map_err(|e| Error::Request(e.into()))?;
        start_process(self, path, params).await
    }

    /// Attaches to the running main process of a container of pod `name` (`pods/attach`).
    pub async fn attach(&self, namespace: &str, name: &str, params: &AttachParams) -> Result<Process> {
        let path = attach_path(namespace, name, params).map_err(|e| Error::Request(e.into()))?;
        start_process(self, path, params).await
    }

    /// Forwards `ports` of pod `name` (`pods/portforward`): one stream per port, over one
    /// WebSocket.
    pub async fn portforward(&self, namespace: &str, name: &str, ports: &[u16]) -> Result<PortForwarder> {
        let ports = Ports::new(ports).map_err(Error::InvalidPorts)?;
        let path = portforward_path(namespace, name, &ports).map_err(|e| Error::Request(e.into()))?;
        let mut random = OsRandom::new().map_err(Error::Io)?;
        let host = self.config().resolved.cluster.server.host_header();
        let handshake = portforward_handshake(&host, &path, random.key16().map_err(Error::Io)?);
        let (stream, connection, protocol, leftover) = open(self, handshake, random).await?;
        let mut session = PortForward::new(
            connection,
            protocol.as_deref(),
            &ports,
            PortForwardConfig::default(),
        )
        .map_err(Error::UnsupportedProtocol)?;
        // A failure in these bytes is handed out by the loop, after the events before it.
        session.handle_bytes(&leftover);
        let (commands, commands_rx) = mpsc::channel(INPUT_QUEUE);
        let mut readers = Vec::new();
        let mut senders = Vec::new();
        for _ in ports.as_slice() {
            let (tx, rx) = mpsc::channel(OUTPUT_QUEUE);
            senders.push(Some(tx));
            readers.push(Some(rx));
        }
        let pump = Pump::new(
            stream,
            session,
            PortInputs(commands_rx),
            PortOutputs { senders },
            self.runtime().clone(),
        );
        let background = Background::start(
            self.runtime(),
            Box::pin(async move {
                let (result, mut outputs) = pump.await;
                if let Err(e) = result {
                    log::debug!("port-forward: {e:?}");
                    // Every stream still read hears why the session ended.
                    for tx in outputs.senders.iter_mut().flatten() {
                        let _ = tx.try_send(Err(port_failure(&e)));
                    }
                }
            }),
        );
        Ok(PortForwarder {
            commands,
            readers,
            ports: ports.as_slice().to_vec(),
            background,
        })
    }
}

/// A port-forward session's requests, from the forwarder and every stream.
struct PortInputs(mpsc::Receiver<PortCommand>);

impl Inputs<PortCommand> for PortInputs {
    fn poll_command(&mut self, cx: &mut Context<'_>) -> Poll<Option<PortCommand>> {
        Pin::new(&mut self.0).poll_next(cx)
    }
}

/// Where each port's bytes go.
struct PortOutputs {
    senders: Vec<Option<mpsc::Sender<io::Result<Bytes>>>>,
}

impl Outputs<PortForwardEvent> for PortOutputs {
    fn offer(&mut self, cx: &mut Context<'_>, event: PortForwardEvent) -> Option<PortForwardEvent> {
        match event {
            PortForwardEvent::Data { port_index, bytes } => {
                let sender = self.senders.get_mut(port_index)?;
                match offer_bytes(cx, sender, Ok(bytes)) {
                    Some(Ok(bytes)) => Some(PortForwardEvent::Data { port_index, bytes }),
                    _ => None,
                }
            }
            PortForwardEvent::PortError { port_index, error } => {
                let sender = self.senders.get_mut(port_index)?;
                let failure = io::Error::other(error.clone());
                offer_bytes(cx, sender, Err(failure))
                    .map(|_| PortForwardEvent::PortError { port_index, error })
            }
            PortForwardEvent::Closed => {
                self.senders.iter_mut().for_each(|s| *s = None);
                None
            }
            _ => None,
        }
    }
}

/// Reads from a queue of chunks (and the error that ends it) into `buf`, driving the session's
/// loop where the handles drive it; `Ok(0)` once the queue has ended.
pub(crate) fn poll_read_chunks(
    cx: &mut Context<'_>,
    background: &Background,
    chunks: &mut mpsc::Receiver<io::Result<Bytes>>,
    current: &mut Bytes,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    while current.is_empty() {
        background.drive(cx);
        match ready!(Pin::new(&mut *chunks).poll_next(cx)) {
            Some(Ok(chunk)) => *current = chunk,
            Some(Err(error)) => return Poll::Ready(Err(error)),
            None => return Poll::Ready(Ok(0)),
        }
    }
    let n = buf.len().min(current.len());
    buf[..n].copy_from_slice(&current.split_to(n));
    Poll::Ready(Ok(n))
}

fn port_failure(failure: &PumpError<PortForwardError>) -> io::Error {
    match failure {
        PumpError::Session(e) => io::Error::new(e.io_error_kind(), Error::from(e.clone())),
        PumpError::Io(e) => io::Error::new(e.kind(), e.to_string()),
    }
}

/// A port-forward session: one stream per requested port. The session ends when the forwarder
/// and every stream taken from it are dropped, or at [`close`](Self::close).
#[derive(Debug)]
pub struct PortForwarder {
    commands: mpsc::Sender<PortCommand>,
    readers: Vec<Option<mpsc::Receiver<io::Result<Bytes>>>>,
    ports: Vec<u16>,
    background: Background,
}

impl PortForwarder {
    /// The stream of `port` (once; `None` for a port not asked for or already taken).
    pub fn take_stream(&mut self, port: u16) -> Option<PortStream> {
        let index = self.ports.iter().position(|p| *p == port)?;
        let chunks = self.readers.get_mut(index)?.take()?;
        Some(PortStream {
            index,
            commands: self.commands.clone(),
            chunks,
            current: Bytes::new(),
            background: self.background.handle(),
        })
    }

    /// Closes the session (every stream ends) and waits until it has ended.
    pub async fn close(mut self) {
        let ready = std::future::poll_fn(|cx| {
            self.background.drive(cx);
            self.commands.poll_ready(cx)
        })
        .await;
        if ready.is_ok() {
            let _ = self.commands.start_send(PortCommand::Close);
        }
        std::future::poll_fn(|cx| self.background.poll_finished(cx)).await;
    }
}

/// The bytes of one forwarded port, both ways. An error from the server for this port (nothing
/// listens there, say) is the error of a read.
#[derive(Debug)]
pub struct PortStream {
    index: usize,
    commands: mpsc::Sender<PortCommand>,
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    background: Background,
}

impl PortStream {
    /// Reads what has arrived into `buf`; `Ok(0)` at the end.
    pub fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        poll_read_chunks(cx, &self.background, &mut self.chunks, &mut self.current, buf)
    }

    /// Takes up to 256 KiB of `buf` once the session has room.
    pub fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let ended = || io::Error::new(io::ErrorKind::BrokenPipe, "the port-forward session has ended");
        self.background.drive_writing(cx);
        ready!(self.commands.poll_ready(cx)).map_err(|_| ended())?;
        let n = buf.len().min(MAX_WRITE);
        self.commands
            .start_send(PortCommand::Send(self.index, buf[..n].to_vec()))
            .map_err(|_| ended())?;
        // Handed to the session at once where the handles drive it.
        self.background.drive_writing(cx);
        Poll::Ready(Ok(n))
    }

    /// Written bytes are with the session; nothing to wait for.
    pub fn poll_flush(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// The port protocol has no half-close for one stream; the session goes on.
    pub fn poll_close(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(feature = "k8s-openapi")]
impl<R: Runtime> crate::Api<k8s_openapi::api::core::v1::Pod, R> {
    /// The namespace exec, attach and port-forward address pods in: an `Api::all` has none.
    fn pod_namespace(&self) -> Result<&str> {
        self.namespace().ok_or_else(|| {
            Error::Request(klient_proto::api::RequestError::NamespaceRequired {
                kind: "Pod".to_owned(),
            })
        })
    }

    /// Runs `command` in a container of pod `name`, like `kubectl exec`.
    pub async fn exec<S: AsRef<str>>(
        &self,
        name: &str,
        command: &[S],
        params: &AttachParams,
    ) -> Result<Process> {
        self.client()
            .exec(self.pod_namespace()?, name, command, params)
            .await
    }

    /// Attaches to the main process of a container of pod `name`, like `kubectl attach`.
    pub async fn attach(&self, name: &str, params: &AttachParams) -> Result<Process> {
        self.client().attach(self.pod_namespace()?, name, params).await
    }

    /// Forwards `ports` of pod `name` (see [`Client::portforward`]).
    pub async fn portforward(&self, name: &str, ports: &[u16]) -> Result<PortForwarder> {
        self.client()
            .portforward(self.pod_namespace()?, name, ports)
            .await
    }
}
