//! Exec and attach: the request, and the session machine that runs on the WebSocket afterwards.
//!
//! Channels: stdin 0 and resize 4 go to the server; stdout 1, stderr 2 and error 3 come back.
//! The error channel carries one JSON `metav1.Status` when the command ends, read as an
//! [`ExitStatus`]. Under `v5.channel.k8s.io` the message `[255, 0]` closes stdin; under
//! `v4.channel.k8s.io` stdin can only end by closing the whole socket.

use std::collections::VecDeque;
use std::fmt;
use std::time::Instant;

use bytes::Bytes;

use super::channel::{
    self, CLOSE_SIGNAL, ChannelProtocol, InvalidSegment, UnsupportedProtocol, V4_CHANNEL, V5_CHANNEL,
};
use super::status::{ExitStatus, StatusError};
use crate::api::Status;
use crate::ws::{
    ClientHandshake, CloseCode, CloseFrame, Connection, Message, Progress, WsError, WsEvent, WsSendError,
};

/// Subprotocols to offer for exec and attach, most preferred first.
pub const EXEC_PROTOCOLS: [&str; 2] = [V5_CHANNEL, V4_CHANNEL];

/// Channel the client writes the command's standard input on.
pub const STDIN: u8 = 0;
/// Channel of the command's standard output.
pub const STDOUT: u8 = 1;
/// Channel of the command's standard error.
pub const STDERR: u8 = 2;
/// Channel of the final `metav1.Status`.
pub const ERROR: u8 = 3;
/// Channel the client writes terminal sizes on.
pub const RESIZE: u8 = 4;

/// Which streams an exec or attach connects, and to which container.
///
/// The server refuses `tty` together with `stderr` (a terminal merges them) and a request with
/// none of stdin, stdout and stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachParams {
    /// The container; `None` lets the server pick when the pod has only one.
    pub container: Option<String>,
    /// Send standard input.
    pub stdin: bool,
    /// Receive standard output.
    pub stdout: bool,
    /// Receive standard error.
    pub stderr: bool,
    /// Allocate a terminal; enables [`ExecSession::resize`].
    pub tty: bool,
}

impl Default for AttachParams {
    /// stdout and stderr, no stdin, no terminal.
    fn default() -> Self {
        Self {
            container: None,
            stdin: false,
            stdout: true,
            stderr: true,
            tty: false,
        }
    }
}

impl AttachParams {
    fn append_query(&self, query: &mut form_urlencoded::Serializer<'_, String>) {
        if let Some(container) = &self.container {
            query.append_pair("container", container);
        }
        let flag = |b: bool| if b { "true" } else { "false" };
        query.append_pair("stdin", flag(self.stdin));
        query.append_pair("stdout", flag(self.stdout));
        query.append_pair("stderr", flag(self.stderr));
        query.append_pair("tty", flag(self.tty));
    }
}

/// The path and query of an exec request: `pods/NAME/exec?command=…&command=…&container=…&stdin=…`.
///
/// ```
/// use klient_proto::remote::{AttachParams, exec_path};
///
/// let path = exec_path("default", "web", &["sh", "-c", "echo hi"], &AttachParams::default())?;
/// assert_eq!(
///     path,
///     "/api/v1/namespaces/default/pods/web/exec?command=sh&command=-c&command=echo+hi\
///      &stdin=false&stdout=true&stderr=true&tty=false"
/// );
/// # Ok::<(), klient_proto::remote::InvalidSegment>(())
/// ```
pub fn exec_path<S: AsRef<str>>(
    namespace: &str,
    pod: &str,
    command: &[S],
    params: &AttachParams,
) -> Result<String, InvalidSegment> {
    let path = channel::pod_path(namespace, pod, "exec")?;
    let mut query = channel::query_after(path);
    for word in command {
        query.append_pair("command", word.as_ref());
    }
    params.append_query(&mut query);
    Ok(query.finish())
}

/// The path and query of an attach request: `pods/NAME/attach?container=…&stdin=…`.
pub fn attach_path(namespace: &str, pod: &str, params: &AttachParams) -> Result<String, InvalidSegment> {
    let path = channel::pod_path(namespace, pod, "attach")?;
    let mut query = channel::query_after(path);
    params.append_query(&mut query);
    Ok(query.finish())
}

/// The WebSocket handshake for an exec or attach `path`, offering [`EXEC_PROTOCOLS`].
/// Add credentials with [`ClientHandshake::header`].
pub fn exec_handshake(host: &str, path: &str, key_bytes: [u8; 16]) -> ClientHandshake {
    ClientHandshake::new(host, path, key_bytes).protocols(EXEC_PROTOCOLS)
}

/// Limits of an [`ExecSession`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSessionConfig {
    /// Stdin is sent in messages of at most this many data bytes (at least 1).
    pub max_stdin_message: usize,
    /// Largest Status accepted on the error channel.
    pub max_status_len: usize,
}

impl Default for ExecSessionConfig {
    fn default() -> Self {
        Self {
            max_stdin_message: 32 << 10,
            max_status_len: 64 << 10,
        }
    }
}

/// What an [`ExecSession`] hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExecEvent {
    /// Bytes the command wrote to standard output (never empty).
    Stdout(Bytes),
    /// Bytes the command wrote to standard error (never empty).
    Stderr(Bytes),
    /// How the command ended. Output that the server sends after it still follows as events.
    Exit(ExitStatus),
    /// The server closed the WebSocket after the exit status: nothing more will arrive. Write
    /// what [`ExecSession::poll_transmit`] returns (our close reply), then close the transport.
    Closed,
}

/// Why an exec or attach session failed: handed out by [`ExecSession::poll_event`] after every
/// event decoded before it. The failure is final; the close frame it owes the server, if any
/// ([`close_code`](Self::close_code)), is queued.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExecError {
    /// The WebSocket failed: the server broke RFC 6455, a limit was exceeded, a deadline passed
    /// (keepalive pongs missing), or the transport ended early.
    Ws(WsError),
    /// A text message; the channel protocols use binary messages only.
    TextMessage,
    /// A message on a channel the server does not write (stdin, resize, or no channel at all).
    UnknownChannel(u8),
    /// The error channel's content is not a usable Status.
    Status(StatusError),
    /// The error channel carried more than the limit.
    StatusTooLarge {
        /// Bytes received on the error channel.
        len: usize,
        /// [`ExecSessionConfig::max_status_len`].
        max: usize,
    },
    /// More data on the error channel after a complete Status.
    DataAfterStatus,
    /// The connection ended before the server sent an exit status, so how the command ended
    /// is unknown. (Under v4, closing the socket to end stdin usually ends this way.)
    NoExitStatus {
        /// The server's close frame, `None` when the transport ended without one.
        close: Option<CloseFrame>,
    },
}

impl ExecError {
    /// The close code sent to the server for this failure, if one is sent.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Self::Ws(e) => e.close_code(),
            Self::TextMessage => Some(CloseCode::UNSUPPORTED_DATA),
            Self::UnknownChannel(_) | Self::DataAfterStatus => Some(CloseCode::PROTOCOL_ERROR),
            Self::Status(_) => Some(CloseCode::INVALID_PAYLOAD),
            Self::StatusTooLarge { .. } => Some(CloseCode::MESSAGE_TOO_BIG),
            Self::NoExitStatus { .. } => None,
        }
    }
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ws(e) => write!(f, "websocket: {e}"),
            Self::TextMessage => f.write_str("server sent a text message; channels are binary"),
            Self::UnknownChannel(c) => write!(f, "server wrote on channel {c}, which it never writes"),
            Self::Status(e) => e.fmt(f),
            Self::StatusTooLarge { len, max } => {
                write!(f, "error channel of {len} bytes exceeds the limit of {max}")
            }
            Self::DataAfterStatus => f.write_str("data on the error channel after the exit status"),
            Self::NoExitStatus { close: None } => {
                f.write_str("connection ended without an exit status or a close frame")
            }
            Self::NoExitStatus { close: Some(close) } => {
                write!(f, "server closed ({close}) without an exit status")
            }
        }
    }
}

impl std::error::Error for ExecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Ws(e) => Some(e),
            Self::Status(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a verb of [`ExecSession`] was refused: the caller's mistake, a race with the session's
/// end, or (with [`WsSendError::MaskKey`]) a failing key source, which fails the session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExecSendError {
    /// The WebSocket refused (closing, closed or failed).
    Ws(WsSendError),
    /// Stdin was already closed with [`ExecSession::close_stdin`].
    StdinClosed,
}

impl fmt::Display for ExecSendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ws(e) => e.fmt(f),
            Self::StdinClosed => f.write_str("stdin is already closed"),
        }
    }
}

impl std::error::Error for ExecSendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Ws(e) => Some(e),
            Self::StdinClosed => None,
        }
    }
}

impl From<WsSendError> for ExecSendError {
    fn from(e: WsSendError) -> Self {
        Self::Ws(e)
    }
}

/// What [`ExecSession::close_stdin`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "under v4, stdin ends only when the caller closes the session"]
pub enum StdinClose {
    /// v5: the close signal is queued; the command sees end of file and output keeps flowing.
    Signalled,
    /// v4 has no half-close: the command sees end of file only when the socket closes. Call
    /// [`ExecSession::close`] once the stdin already queued is written if the command must see
    /// it; the server then stops the session, so later output and the exit status may be lost.
    NeedsSocketClose,
}

/// An exec or attach session on an open WebSocket.
///
/// Build the request with [`exec_path`] or [`attach_path`] and [`exec_handshake`]; once the 101
/// checks out, wrap the [`Connection`] with the negotiated subprotocol. Then feed it like the
/// connection itself: [`handle_bytes`](Self::handle_bytes), [`handle_eof`](Self::handle_eof),
/// [`handle_timeout`](Self::handle_timeout); act with [`send_stdin`](Self::send_stdin),
/// [`close_stdin`](Self::close_stdin), [`resize`](Self::resize), [`close`](Self::close); after
/// every call drain [`poll_transmit`](Self::poll_transmit) (write the bytes), then
/// [`poll_event`](Self::poll_event) until [`Progress::NeedData`], then arm a timer for
/// [`poll_timeout`](Self::poll_timeout).
///
/// **Failures** are the last thing drained, as on the [`Connection`]: when the server breaks the
/// WebSocket or the channel protocol, `poll_event` hands out every event decoded before the
/// failure (output, the exit status), then the [`ExecError`] (on every later call too), and the
/// close frame owed to the server is queued for `poll_transmit`. After [`Progress::Finished`] or
/// an error, write what `poll_transmit` still returns, then close the transport.
///
/// ```
/// use klient_proto::remote::{ExecSessionConfig, ExecEvent, ExecSession, ExitStatus};
/// use klient_proto::ws::{Config, Connection, Progress};
/// use std::time::Instant;
///
/// let conn = Connection::new(Config::default(), || [9, 9, 9, 9], Instant::now());
/// let mut exec = ExecSession::new(conn, Some("v5.channel.k8s.io"), ExecSessionConfig::default())?;
/// // The server's binary messages (unmasked frames): hello on stdout, then the Status.
/// let status = br#"{"metadata":{},"status":"Success"}"#;
/// let mut wire = vec![0x82, 6, 1, b'h', b'e', b'l', b'l', b'o'];
/// wire.extend([0x82, 1 + status.len() as u8, 3]);
/// wire.extend(status);
/// exec.handle_bytes(&wire);
/// assert_eq!(exec.poll_event()?, Progress::Event(ExecEvent::Stdout("hello".into())));
/// assert_eq!(exec.poll_event()?, Progress::Event(ExecEvent::Exit(ExitStatus::Success)));
/// assert_eq!(exec.poll_event()?, Progress::NeedData);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ExecSession {
    conn: Connection,
    protocol: ChannelProtocol,
    config: ExecSessionConfig,
    events: VecDeque<ExecEvent>,
    /// Error-channel bytes not yet forming a complete Status.
    status: Vec<u8>,
    exit: Option<ExitStatus>,
    stdin_closed: bool,
    /// The session failed or the server closed: nothing more is read.
    done: bool,
    /// Why the session failed, handed out once `events` are drained.
    failure: Option<ExecError>,
}

impl ExecSession {
    /// A session on `conn`, speaking the subprotocol the handshake negotiated.
    pub fn new(
        conn: Connection,
        protocol: Option<&str>,
        config: ExecSessionConfig,
    ) -> Result<Self, UnsupportedProtocol> {
        Ok(Self {
            protocol: ChannelProtocol::from_negotiated(protocol)?,
            conn,
            config,
            events: VecDeque::new(),
            status: Vec::new(),
            exit: None,
            stdin_closed: false,
            done: false,
            failure: None,
        })
    }

    /// The negotiated channel protocol.
    pub fn protocol(&self) -> ChannelProtocol {
        self.protocol
    }

    /// How the command ended, once the server said so.
    pub fn exit_status(&self) -> Option<&ExitStatus> {
        self.exit.as_ref()
    }

    /// Whether the session is over (closed or failed): once the transmit buffer is written,
    /// close the transport.
    pub fn is_closed(&self) -> bool {
        self.done || self.conn.is_closed()
    }

    /// The WebSocket underneath, for its getters.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Why the session failed, if it did (what [`poll_event`](Self::poll_event) hands out once
    /// the events before it are drained).
    pub fn failure(&self) -> Option<&ExecError> {
        self.failure.as_ref()
    }

    /// Processes bytes from the server. After the session ended, bytes are ignored.
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        if self.done {
            return;
        }
        self.conn.handle_bytes(bytes);
        self.process_events();
    }

    /// The transport reached end of file: the session fails unless the server closed it.
    pub fn handle_eof(&mut self) {
        if self.done {
            return;
        }
        self.conn.handle_eof();
        self.process_events();
    }

    /// Time has reached `now`: keepalive pings and the WebSocket's deadlines.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.done {
            return;
        }
        self.conn.handle_timeout(now);
        self.process_events();
    }

    /// Queues standard input, split into messages of at most
    /// [`ExecSessionConfig::max_stdin_message`] bytes. The server drops it unless the request asked
    /// for stdin.
    pub fn send_stdin(&mut self, data: &[u8]) -> Result<(), ExecSendError> {
        self.ensure_usable()?;
        if self.stdin_closed {
            return Err(ExecSendError::StdinClosed);
        }
        channel::send(&mut self.conn, STDIN, data, self.config.max_stdin_message)?;
        Ok(())
    }

    /// Ends standard input: under v5 queues the close signal `[255, 0]`; under v4 only
    /// records it and says the caller must close the socket (see [`StdinClose`]).
    pub fn close_stdin(&mut self) -> Result<StdinClose, ExecSendError> {
        self.ensure_usable()?;
        if self.stdin_closed {
            return Err(ExecSendError::StdinClosed);
        }
        let outcome = match self.protocol {
            ChannelProtocol::V5 => {
                self.conn.send_binary(&[CLOSE_SIGNAL, STDIN])?;
                StdinClose::Signalled
            }
            ChannelProtocol::V4 => StdinClose::NeedsSocketClose,
        };
        self.stdin_closed = true;
        Ok(outcome)
    }

    /// Queues a terminal size, `{"Width":W,"Height":H}` on the resize channel. The server
    /// uses it only for a session with a terminal.
    pub fn resize(&mut self, width: u16, height: u16) -> Result<(), ExecSendError> {
        self.ensure_usable()?;
        let message = format!("\u{4}{{\"Width\":{width},\"Height\":{height}}}");
        self.conn.send_binary(message.as_bytes())?;
        Ok(())
    }

    /// Starts closing the WebSocket (code 1000) at time `now`. The server then stops the
    /// command's streams; an exit status may or may not still arrive.
    pub fn close(&mut self, now: Instant) -> Result<(), ExecSendError> {
        self.ensure_usable()?;
        self.conn.close(now, CloseCode::NORMAL, "")?;
        Ok(())
    }

    /// Bytes to write to the transport, or `None` when there are none.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.conn.poll_transmit()
    }

    /// As [`poll_transmit`](Self::poll_transmit), onto the end of `out`, without allocating (see
    /// [`Connection::transmit_into`](crate::ws::Connection::transmit_into)).
    pub fn transmit_into(&mut self, out: &mut Vec<u8>) -> bool {
        self.conn.transmit_into(out)
    }

    /// The caller stops (`true`) or starts again (`false`) reading the transport, because a
    /// reader of its has no room: the keepalive deadlines wait meanwhile (see
    /// [`Connection::pause_reading`](crate::ws::Connection::pause_reading)).
    pub fn pause_reading(&mut self, paused: bool, now: Instant) {
        self.conn.pause_reading(paused, now);
    }

    /// The next event, oldest first; once they are drained, the failure if the session failed
    /// (on every later call too), [`Progress::Finished`] if the server closed it after the exit
    /// status, and otherwise [`Progress::NeedData`].
    pub fn poll_event(&mut self) -> Result<Progress<ExecEvent>, ExecError> {
        if self.events.is_empty() {
            // A verb that failed the WebSocket (no masking key) is noticed here.
            self.process_events();
        }
        if let Some(event) = self.events.pop_front() {
            return Ok(Progress::Event(event));
        }
        match &self.failure {
            Some(failure) => Err(failure.clone()),
            None if self.done => Ok(Progress::Finished),
            None => Ok(Progress::NeedData),
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.done { None } else { self.conn.poll_timeout() }
    }

    fn ensure_usable(&self) -> Result<(), ExecSendError> {
        if self.done {
            Err(ExecSendError::Ws(WsSendError::Closed))
        } else {
            Ok(())
        }
    }

    /// Ends the session with `error`: the WebSocket is failed with the error's close code
    /// (unless the WebSocket failure is the error, and queued its own), and nothing more is read.
    fn fail(&mut self, error: ExecError) {
        if let (Some(code), false) = (error.close_code(), matches!(error, ExecError::Ws(_))) {
            // Without a masking key no close frame can be sent; the transport closes all the
            // same, and this error is the one to report.
            let _ = self.conn.fail(code, "");
        }
        self.done = true;
        self.status = Vec::new();
        self.failure.get_or_insert(error);
    }

    /// Moves the WebSocket's events, and its failure, into the session, in order.
    fn process_events(&mut self) {
        while !self.done {
            let outcome = match self.conn.poll_event() {
                Ok(Progress::Event(event)) => self.process_event(event),
                Ok(Progress::NeedData | Progress::Finished) => return,
                Err(WsError::UnexpectedEof) => Err(self.eof_error()),
                Err(e) => Err(ExecError::Ws(e)),
            };
            if let Err(e) = outcome {
                self.fail(e);
            }
        }
    }

    /// Why a transport that ended without a close frame failed the session.
    fn eof_error(&self) -> ExecError {
        if let Err(e) = self.check_status_complete() {
            e
        } else if self.exit.is_some() {
            // The exit status is known, but output may have been cut off.
            ExecError::Ws(WsError::UnexpectedEof)
        } else {
            ExecError::NoExitStatus { close: None }
        }
    }

    fn process_event(&mut self, event: WsEvent) -> Result<(), ExecError> {
        match event {
            WsEvent::Message(Message::Binary(message)) => {
                // A message with no channel byte carries nothing; the server never sends one.
                let Some((channel, data)) = channel::split(message) else {
                    return Ok(());
                };
                match channel {
                    // Empty messages announce the channel (the first one the server writes).
                    STDOUT | STDERR | ERROR if data.is_empty() => {}
                    STDOUT => self.events.push_back(ExecEvent::Stdout(data)),
                    STDERR => self.events.push_back(ExecEvent::Stderr(data)),
                    ERROR => self.on_error_channel(&data)?,
                    other => return Err(ExecError::UnknownChannel(other)),
                }
            }
            WsEvent::Message(Message::Text(_)) => return Err(ExecError::TextMessage),
            WsEvent::Closed(close) => {
                self.check_status_complete()?;
                if self.exit.is_none() {
                    return Err(ExecError::NoExitStatus { close: Some(close) });
                }
                self.done = true;
                self.events.push_back(ExecEvent::Closed);
            }
            // Pings and pongs are the WebSocket's business (the pong is queued already).
            WsEvent::Ping(_) | WsEvent::Pong(_) => {}
        }
        Ok(())
    }

    fn on_error_channel(&mut self, data: &[u8]) -> Result<(), ExecError> {
        if self.exit.is_some() {
            if data.iter().all(u8::is_ascii_whitespace) {
                return Ok(());
            }
            return Err(ExecError::DataAfterStatus);
        }
        let len = self.status.len().saturating_add(data.len());
        if len > self.config.max_status_len {
            return Err(ExecError::StatusTooLarge {
                len,
                max: self.config.max_status_len,
            });
        }
        self.status.extend_from_slice(data);
        // The server writes the Status in one message, but a split one is still read whole.
        match serde_json::from_slice::<Status>(&self.status) {
            Ok(status) => {
                let exit = ExitStatus::from_status(status).map_err(ExecError::Status)?;
                self.status = Vec::new();
                self.exit = Some(exit.clone());
                self.events.push_back(ExecEvent::Exit(exit));
                Ok(())
            }
            Err(e) if e.is_eof() => Ok(()),
            Err(e) => Err(ExecError::Status(StatusError::Malformed {
                detail: e.to_string(),
            })),
        }
    }

    /// At the end of the stream, a partial Status is malformed rather than absent.
    fn check_status_complete(&self) -> Result<(), ExecError> {
        if self.status.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let detail = match serde_json::from_slice::<Status>(&self.status) {
            Err(e) => e.to_string(),
            Ok(_) => "incomplete Status".to_owned(),
        };
        Err(ExecError::Status(StatusError::Malformed { detail }))
    }
}

#[cfg(test)]
#[path = "exec_tests.rs"]
mod tests;
