//! Port-forward over the WebSocket channel protocol (`v4.channel.k8s.io`).
//!
//! The ports are fixed in the request (`?ports=80&ports=443`). Port `i` uses channel `2i` for
//! data in both directions and `2i + 1` for error text from the server; the server's first
//! message on each of the two channels is the port number as a little-endian u16.
//!
//! This protocol carries one TCP connection per port per WebSocket: forwarding a second
//! connection to the same port needs a second session. It has no half-close either: a port's
//! stream ends only when the whole WebSocket closes, so a client that must signal end of input
//! to one port can only close the session. (kubectl ≥ 1.31 instead tunnels SPDY inside the
//! WebSocket, which has neither limit: see [`PortTunnel`](super::PortTunnel). This protocol is
//! the fallback for a server that offers no tunnel.)

use std::collections::VecDeque;
use std::fmt;
use std::time::Instant;

use bytes::Bytes;

use super::channel::{self, ChannelProtocol, InvalidSegment, UnsupportedProtocol, V4_CHANNEL};
use crate::ws::{ClientHandshake, CloseCode, Connection, Message, Progress, WsError, WsEvent, WsSendError};

/// Subprotocols to offer for port-forward.
pub const PORTFORWARD_PROTOCOLS: [&str; 1] = [V4_CHANNEL];

/// Most ports one session can forward: two channels each, and a channel is one byte.
pub const MAX_PORTS: usize = 128;

/// The ports one port-forward session asks for: at least one, none of them 0, at most
/// [`MAX_PORTS`]. The request path and the session take the same list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ports(Vec<u16>);

impl Ports {
    /// Checks `ports`; the list is the caller's, so an unusable one is the caller's mistake.
    ///
    /// ```
    /// use klient_proto::remote::{InvalidPorts, Ports};
    ///
    /// assert_eq!(Ports::new(&[8080, 443])?.as_slice(), [8080, 443]);
    /// assert_eq!(Ports::new(&[80, 0]), Err(InvalidPorts::ZeroPort { port_index: 1 }));
    /// # Ok::<(), InvalidPorts>(())
    /// ```
    pub fn new(ports: &[u16]) -> Result<Self, InvalidPorts> {
        if ports.is_empty() {
            return Err(InvalidPorts::NoPorts);
        }
        if ports.len() > MAX_PORTS {
            return Err(InvalidPorts::TooManyPorts {
                count: ports.len(),
                max: MAX_PORTS,
            });
        }
        if let Some(index) = ports.iter().position(|&p| p == 0) {
            return Err(InvalidPorts::ZeroPort { port_index: index });
        }
        Ok(Self(ports.to_vec()))
    }

    /// The ports, in request order.
    pub fn as_slice(&self) -> &[u16] {
        &self.0
    }
}

/// Why a list of ports cannot be forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidPorts {
    /// No port to forward.
    NoPorts,
    /// Port 0 cannot be forwarded.
    ZeroPort {
        /// Its index in the list.
        port_index: usize,
    },
    /// More ports than channels allow.
    TooManyPorts {
        /// Ports asked for.
        count: usize,
        /// [`MAX_PORTS`].
        max: usize,
    },
}

impl fmt::Display for InvalidPorts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoPorts => f.write_str("no port to forward"),
            Self::ZeroPort { port_index } => write!(f, "port #{port_index} is 0"),
            Self::TooManyPorts { count, max } => write!(f, "{count} ports exceed the limit of {max}"),
        }
    }
}

impl std::error::Error for InvalidPorts {}

/// The path and query of a port-forward request: `pods/NAME/portforward?ports=P1&ports=P2…`.
///
/// ```
/// use klient_proto::remote::{Ports, portforward_path};
///
/// let path = portforward_path("default", "web", &Ports::new(&[8080, 443])?)?;
/// assert_eq!(path, "/api/v1/namespaces/default/pods/web/portforward?ports=8080&ports=443");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn portforward_path(namespace: &str, pod: &str, ports: &Ports) -> Result<String, InvalidSegment> {
    let path = channel::pod_path(namespace, pod, "portforward")?;
    let mut query = channel::query_after(path);
    for port in ports.as_slice() {
        query.append_pair("ports", &port.to_string());
    }
    Ok(query.finish())
}

/// The WebSocket handshake for a port-forward `path`, offering [`PORTFORWARD_PROTOCOLS`].
pub fn portforward_handshake(host: &str, path: &str, key_bytes: [u8; 16]) -> ClientHandshake {
    ClientHandshake::new(host, path, key_bytes).protocols(PORTFORWARD_PROTOCOLS)
}

/// Limits of a [`PortForward`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortForwardConfig {
    /// Data is sent in messages of at most this many bytes (at least 1).
    pub max_send_message: usize,
}

impl Default for PortForwardConfig {
    fn default() -> Self {
        Self {
            max_send_message: 32 << 10,
        }
    }
}

/// What a [`PortForward`] hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortForwardEvent {
    /// Bytes from the pod's port (never empty).
    Data {
        /// Index of the port in the request's list.
        port_index: usize,
        /// The bytes.
        bytes: Bytes,
    },
    /// The server could not forward this port (connection refused, pod gone...) and said so on
    /// the port's error channel; the server stops that port's streams.
    PortError {
        /// Index of the port in the request's list.
        port_index: usize,
        /// The port and the server's message.
        error: PortError,
    },
    /// The server closed the WebSocket: every port's stream has ended. Write what
    /// [`PortForward::poll_transmit`] returns (our close reply), then close the transport.
    Closed,
}

/// The server's report, on a port's error channel, that it could not forward the port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortError {
    /// The pod's port.
    pub port: u16,
    /// The server's message (invalid UTF-8 replaced), e.g. `error forwarding port 8080 to pod
    /// …: connection refused`.
    pub message: String,
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "port {}: {}", self.port, self.message)
    }
}

impl std::error::Error for PortError {}

/// Why a port-forward session failed: handed out by [`PortForward::poll_event`] after every
/// event decoded before it. The failure is final; the close frame it owes the server, if any
/// ([`close_code`](Self::close_code)), is queued.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortForwardError {
    /// The WebSocket failed: the server broke RFC 6455, a limit was exceeded, a deadline passed
    /// (keepalive pongs missing), or the transport ended before the close handshake.
    Ws(WsError),
    /// A text message; the channel protocol uses binary messages only.
    TextMessage,
    /// A message on a channel that belongs to no requested port.
    UnknownChannel(u8),
    /// The first message on a channel is shorter than the 2-byte port number.
    ShortPortPrefix {
        /// Index of the port.
        port_index: usize,
        /// The channel.
        channel: u8,
        /// Bytes the message had after the channel byte.
        len: usize,
    },
    /// The server's port number on a channel differs from the one requested there.
    PortMismatch {
        /// Index of the port.
        port_index: usize,
        /// The port requested.
        expected: u16,
        /// The port the server named.
        actual: u16,
    },
}

impl PortForwardError {
    /// How a forwarded port's byte stream reports this failure to its reader: a deadline as
    /// `TimedOut`, the connection ending early as `UnexpectedEof`, anything else as
    /// `ConnectionAborted`.
    pub fn io_error_kind(&self) -> std::io::ErrorKind {
        match self {
            PortForwardError::Ws(ws) if ws.is_timeout() => std::io::ErrorKind::TimedOut,
            PortForwardError::Ws(crate::ws::WsError::UnexpectedEof) => std::io::ErrorKind::UnexpectedEof,
            _ => std::io::ErrorKind::ConnectionAborted,
        }
    }

    /// The close code sent to the server for this failure, if one is sent.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Self::Ws(e) => e.close_code(),
            Self::TextMessage => Some(CloseCode::UNSUPPORTED_DATA),
            Self::UnknownChannel(_) | Self::ShortPortPrefix { .. } | Self::PortMismatch { .. } => {
                Some(CloseCode::PROTOCOL_ERROR)
            }
        }
    }
}

impl fmt::Display for PortForwardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ws(e) => write!(f, "websocket: {e}"),
            Self::TextMessage => f.write_str("server sent a text message; channels are binary"),
            Self::UnknownChannel(c) => write!(f, "server wrote on channel {c}, which belongs to no port"),
            Self::ShortPortPrefix {
                port_index,
                channel,
                len,
            } => write!(
                f,
                "first message of port #{port_index} on channel {channel} has {len} bytes, not a 2-byte port"
            ),
            Self::PortMismatch {
                port_index,
                expected,
                actual,
            } => write!(
                f,
                "port #{port_index}: requested {expected}, server forwards {actual}"
            ),
        }
    }
}

impl std::error::Error for PortForwardError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Ws(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a verb of [`PortForward`] was refused: the caller's mistake, a race with the session's
/// end, or (with [`WsSendError::MaskKey`]) a failing key source, which fails the session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortForwardSendError {
    /// The WebSocket refused (closing, closed or failed).
    Ws(WsSendError),
    /// No port has this index.
    NoSuchPort {
        /// The index given.
        port_index: usize,
        /// How many ports the session forwards.
        ports: usize,
    },
}

impl fmt::Display for PortForwardSendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ws(e) => e.fmt(f),
            Self::NoSuchPort { port_index, ports } => {
                write!(f, "no port #{port_index}: the session forwards {ports}")
            }
        }
    }
}

impl std::error::Error for PortForwardSendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Ws(e) => Some(e),
            Self::NoSuchPort { .. } => None,
        }
    }
}

impl From<WsSendError> for PortForwardSendError {
    fn from(e: WsSendError) -> Self {
        Self::Ws(e)
    }
}

/// One requested port and whether each of its channels has shown its port number yet.
#[derive(Debug, Clone)]
struct PortState {
    port: u16,
    data_confirmed: bool,
    error_confirmed: bool,
}

/// A port-forward session on an open WebSocket.
///
/// Build the request with [`portforward_path`] and [`portforward_handshake`]; once the 101
/// checks out, wrap the [`Connection`] with the negotiated subprotocol and the same ports.
/// Drive it like [`ExecSession`](super::ExecSession): `handle_*`, the verb
/// [`send`](Self::send) (and [`close`](Self::close)), then drain
/// [`poll_transmit`](Self::poll_transmit), [`poll_event`](Self::poll_event) and
/// [`poll_timeout`](Self::poll_timeout). A failure is the last thing `poll_event` hands out,
/// after every event decoded before it, with the close frame owed to the server queued.
///
/// ```
/// use klient_proto::remote::{PortForward, PortForwardConfig, PortForwardEvent, Ports};
/// use klient_proto::ws::{Config, Connection, Progress};
/// use std::time::Instant;
///
/// let conn = Connection::new(Config::default(), || [9, 9, 9, 9], Instant::now());
/// let ports = Ports::new(&[8080])?;
/// let mut pf = PortForward::new(conn, Some("v4.channel.k8s.io"), &ports, PortForwardConfig::default())?;
/// // Server: port 8080 (0x1F90, little-endian) on channels 0 and 1, then data on channel 0.
/// pf.handle_bytes(&[0x82, 3, 0, 0x90, 0x1F, 0x82, 3, 1, 0x90, 0x1F, 0x82, 3, 0, b'h', b'i']);
/// assert_eq!(
///     pf.poll_event()?,
///     Progress::Event(PortForwardEvent::Data { port_index: 0, bytes: "hi".into() })
/// );
/// pf.send(0, b"GET / HTTP/1.0\r\n\r\n")?;
/// assert!(pf.poll_transmit().is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct PortForward {
    conn: Connection,
    config: PortForwardConfig,
    ports: Vec<PortState>,
    events: VecDeque<PortForwardEvent>,
    /// The session failed or the server closed: nothing more is read.
    done: bool,
    /// Why the session failed, handed out once `events` are drained.
    failure: Option<PortForwardError>,
}

impl PortForward {
    /// A session on `conn` for `ports` (the same list as in the request), speaking the
    /// subprotocol the handshake negotiated, which must be `v4.channel.k8s.io`.
    pub fn new(
        conn: Connection,
        protocol: Option<&str>,
        ports: &Ports,
        config: PortForwardConfig,
    ) -> Result<Self, UnsupportedProtocol> {
        if protocol != Some(V4_CHANNEL) {
            return Err(UnsupportedProtocol(protocol.map(str::to_owned)));
        }
        Ok(Self {
            conn,
            config,
            ports: ports
                .as_slice()
                .iter()
                .map(|&port| PortState {
                    port,
                    data_confirmed: false,
                    error_confirmed: false,
                })
                .collect(),
            events: VecDeque::new(),
            done: false,
            failure: None,
        })
    }

    /// The channel protocol in use (always v4).
    pub fn protocol(&self) -> ChannelProtocol {
        ChannelProtocol::V4
    }

    /// The forwarded ports, in request order.
    pub fn ports(&self) -> impl ExactSizeIterator<Item = u16> + '_ {
        self.ports.iter().map(|p| p.port)
    }

    /// Whether the server has confirmed port `port_index` on both its channels.
    pub fn is_confirmed(&self, port_index: usize) -> bool {
        self.ports
            .get(port_index)
            .is_some_and(|p| p.data_confirmed && p.error_confirmed)
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
    pub fn failure(&self) -> Option<&PortForwardError> {
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

    /// The transport reached end of file: the session fails unless the server closed the
    /// WebSocket.
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

    /// Queues bytes for port `port_index`, in messages of at most
    /// [`PortForwardConfig::max_send_message`] bytes.
    pub fn send(&mut self, port_index: usize, data: &[u8]) -> Result<(), PortForwardSendError> {
        self.ensure_usable()?;
        let channel = self.data_channel(port_index)?;
        channel::send(&mut self.conn, channel, data, self.config.max_send_message)?;
        Ok(())
    }

    /// Starts closing the WebSocket (code 1000) at time `now`, ending every port's stream:
    /// the protocol cannot end one port alone.
    pub fn close(&mut self, now: Instant) -> Result<(), PortForwardSendError> {
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
    /// (on every later call too), [`Progress::Finished`] if the server closed it, and otherwise
    /// [`Progress::NeedData`].
    pub fn poll_event(&mut self) -> Result<Progress<PortForwardEvent>, PortForwardError> {
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

    fn data_channel(&self, port_index: usize) -> Result<u8, PortForwardSendError> {
        let no_such_port = PortForwardSendError::NoSuchPort {
            port_index,
            ports: self.ports.len(),
        };
        if port_index >= self.ports.len() {
            return Err(no_such_port);
        }
        u8::try_from(port_index * 2).map_err(|_| no_such_port)
    }

    fn ensure_usable(&self) -> Result<(), PortForwardSendError> {
        if self.done {
            Err(PortForwardSendError::Ws(WsSendError::Closed))
        } else {
            Ok(())
        }
    }

    /// Ends the session with `error`: the WebSocket is failed with the error's close code
    /// (unless the WebSocket failure is the error, and queued its own), and nothing more is read.
    fn fail(&mut self, error: PortForwardError) {
        if let (Some(code), false) = (error.close_code(), matches!(error, PortForwardError::Ws(_))) {
            // Without a masking key no close frame can be sent; the transport closes all the
            // same, and this error is the one to report.
            let _ = self.conn.fail(code, "");
        }
        self.done = true;
        self.failure.get_or_insert(error);
    }

    /// Moves the WebSocket's events, and its failure, into the session, in order.
    fn process_events(&mut self) {
        while !self.done {
            let outcome = match self.conn.poll_event() {
                Ok(Progress::Event(event)) => self.process_event(event),
                Ok(Progress::NeedData | Progress::Finished) => return,
                Err(e) => Err(PortForwardError::Ws(e)),
            };
            if let Err(e) = outcome {
                self.fail(e);
            }
        }
    }

    fn process_event(&mut self, event: WsEvent) -> Result<(), PortForwardError> {
        match event {
            WsEvent::Message(Message::Binary(message)) => {
                if let Some((channel, data)) = channel::split(message) {
                    self.on_channel(channel, data)?;
                }
            }
            WsEvent::Message(Message::Text(_)) => return Err(PortForwardError::TextMessage),
            WsEvent::Ping(_) | WsEvent::Pong(_) => {}
            WsEvent::Closed(_) => {
                self.done = true;
                self.events.push_back(PortForwardEvent::Closed);
            }
        }
        Ok(())
    }

    fn on_channel(&mut self, channel: u8, mut data: Bytes) -> Result<(), PortForwardError> {
        let port_index = usize::from(channel / 2);
        let is_error = channel % 2 == 1;
        let Some(state) = self.ports.get_mut(port_index) else {
            return Err(PortForwardError::UnknownChannel(channel));
        };
        let confirmed = if is_error {
            &mut state.error_confirmed
        } else {
            &mut state.data_confirmed
        };
        if !*confirmed {
            let &[lo, hi, ..] = &data[..] else {
                return Err(PortForwardError::ShortPortPrefix {
                    port_index,
                    channel,
                    len: data.len(),
                });
            };
            let actual = u16::from_le_bytes([lo, hi]);
            if actual != state.port {
                return Err(PortForwardError::PortMismatch {
                    port_index,
                    expected: state.port,
                    actual,
                });
            }
            *confirmed = true;
            // The server writes the port alone; anything after it in the same message is data.
            data = data.slice(2..);
        }
        if data.is_empty() {
            return Ok(());
        }
        self.events.push_back(if is_error {
            PortForwardEvent::PortError {
                port_index,
                error: PortError {
                    port: state.port,
                    message: String::from_utf8_lossy(&data).into_owned(),
                },
            }
        } else {
            PortForwardEvent::Data {
                port_index,
                bytes: data,
            }
        });
        Ok(())
    }
}

#[cfg(test)]
#[path = "portforward_tests.rs"]
mod tests;
