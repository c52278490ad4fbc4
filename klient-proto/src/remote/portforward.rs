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
//! WebSocket, which has neither limit; that protocol is not implemented here.)

use std::collections::VecDeque;
use std::fmt;
use std::time::Instant;

use bytes::Bytes;

use super::channel::{self, ChannelProtocol, InvalidSegment, V4_CHANNEL};
use crate::ws::{self, ClientHandshake, CloseCode, Connection, Event, Message};

/// Subprotocols to offer for port-forward.
pub const PORTFORWARD_PROTOCOLS: [&str; 1] = [V4_CHANNEL];

/// Most ports one session can forward: two channels each, and a channel is one byte.
pub const MAX_PORTS: usize = 128;

/// The path and query of a port-forward request: `pods/NAME/portforward?ports=P1&ports=P2…`.
///
/// ```
/// use klient_proto::remote::portforward_path;
///
/// let path = portforward_path("default", "web", &[8080, 443])?;
/// assert_eq!(path, "/api/v1/namespaces/default/pods/web/portforward?ports=8080&ports=443");
/// # Ok::<(), klient_proto::remote::PortForwardError>(())
/// ```
pub fn portforward_path(namespace: &str, pod: &str, ports: &[u16]) -> Result<String, PortForwardError> {
    check_ports(ports)?;
    let path = channel::pod_path(namespace, pod, "portforward").map_err(PortForwardError::InvalidPath)?;
    let mut query = channel::query_after(path);
    for port in ports {
        query.append_pair("ports", &port.to_string());
    }
    Ok(query.finish())
}

/// The WebSocket handshake for a port-forward `path`, offering [`PORTFORWARD_PROTOCOLS`].
pub fn portforward_handshake(host: &str, path: &str, key_bytes: [u8; 16]) -> ClientHandshake {
    ClientHandshake::new(host, path, key_bytes).protocols(PORTFORWARD_PROTOCOLS)
}

fn check_ports(ports: &[u16]) -> Result<(), PortForwardError> {
    if ports.is_empty() {
        return Err(PortForwardError::NoPorts);
    }
    if ports.len() > MAX_PORTS {
        return Err(PortForwardError::TooManyPorts {
            count: ports.len(),
            max: MAX_PORTS,
        });
    }
    if let Some(index) = ports.iter().position(|&p| p == 0) {
        return Err(PortForwardError::ZeroPort { port_index: index });
    }
    Ok(())
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
pub enum PortForwardEvent {
    /// Bytes from the pod's port (never empty).
    Data {
        /// Index of the port in the request's list.
        port_index: usize,
        /// The bytes.
        bytes: Bytes,
    },
    /// The server could not forward this port (connection refused, pod gone...); the server
    /// stops that port's streams. Invalid UTF-8 in the text is replaced.
    PortError {
        /// Index of the port in the request's list.
        port_index: usize,
        /// The server's message.
        message: String,
    },
    /// The server closed the WebSocket: every port's stream has ended. Write what
    /// [`PortForward::poll_transmit`] returns (our close reply), then close the transport.
    Closed,
}

/// Why a port-forward request could not be built, or why the session failed (final).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortForwardError {
    /// The namespace or pod name cannot go into the path.
    InvalidPath(InvalidSegment),
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
    /// The server chose a subprotocol other than `v4.channel.k8s.io`.
    UnsupportedProtocol(Option<String>),
    /// The WebSocket failed; its close frame, if any, is queued.
    Ws(ws::Error),
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

impl fmt::Display for PortForwardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidPath(e) => e.fmt(f),
            Self::NoPorts => f.write_str("no port to forward"),
            Self::ZeroPort { port_index } => write!(f, "port #{port_index} is 0"),
            Self::TooManyPorts { count, max } => write!(f, "{count} ports exceed the limit of {max}"),
            Self::UnsupportedProtocol(Some(p)) => {
                write!(f, "server chose subprotocol {p:?} instead of {V4_CHANNEL}")
            }
            Self::UnsupportedProtocol(None) => {
                write!(f, "server chose no subprotocol instead of {V4_CHANNEL}")
            }
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
            Self::InvalidPath(e) => Some(e),
            Self::Ws(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a verb of [`PortForward`] was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortForwardSendError {
    /// The WebSocket refused (closing, closed or failed).
    Ws(ws::SendError),
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

impl From<ws::SendError> for PortForwardSendError {
    fn from(e: ws::SendError) -> Self {
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
/// [`poll_timeout`](Self::poll_timeout). An error from a `handle_*` call ends the session;
/// events decoded before it stay queued.
///
/// ```
/// use klient_proto::remote::{PortForward, PortForwardConfig, PortForwardEvent};
/// use klient_proto::ws::{Config, Connection};
/// use std::time::Instant;
///
/// let conn = Connection::new(Config::default(), || [9, 9, 9, 9], Instant::now());
/// let mut pf = PortForward::new(conn, Some("v4.channel.k8s.io"), &[8080], PortForwardConfig::default())?;
/// // Server: port 8080 (0x1F90, little-endian) on channels 0 and 1, then data on channel 0.
/// pf.handle_bytes(&[0x82, 3, 0, 0x90, 0x1F, 0x82, 3, 1, 0x90, 0x1F, 0x82, 3, 0, b'h', b'i'])?;
/// assert_eq!(pf.poll_event(), Some(PortForwardEvent::Data { port_index: 0, bytes: "hi".into() }));
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
}

impl PortForward {
    /// A session on `conn` for `ports` (the same list as in the request), speaking the
    /// subprotocol the handshake negotiated.
    pub fn new(
        conn: Connection,
        protocol: Option<&str>,
        ports: &[u16],
        config: PortForwardConfig,
    ) -> Result<Self, PortForwardError> {
        check_ports(ports)?;
        if protocol != Some(V4_CHANNEL) {
            return Err(PortForwardError::UnsupportedProtocol(protocol.map(str::to_owned)));
        }
        Ok(Self {
            conn,
            config,
            ports: ports
                .iter()
                .map(|&port| PortState {
                    port,
                    data_confirmed: false,
                    error_confirmed: false,
                })
                .collect(),
            events: VecDeque::new(),
            done: false,
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

    /// Processes bytes from the server.
    pub fn handle_bytes(&mut self, bytes: &[u8]) -> Result<(), PortForwardError> {
        if self.done {
            return Ok(());
        }
        let result = self.conn.handle_bytes(bytes);
        self.process_events()?;
        result.map_err(|e| self.fail(PortForwardError::Ws(e)))
    }

    /// The transport reached end of file: an error unless the server closed the WebSocket.
    pub fn handle_eof(&mut self) -> Result<(), PortForwardError> {
        if self.done {
            return Ok(());
        }
        self.conn
            .handle_eof()
            .map_err(|e| self.fail(PortForwardError::Ws(e)))
    }

    /// Time has reached `now`: keepalive pings and the WebSocket's deadlines.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), PortForwardError> {
        if self.done {
            return Ok(());
        }
        let result = self.conn.handle_timeout(now);
        self.process_events()?;
        result.map_err(|e| self.fail(PortForwardError::Ws(e)))
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
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.conn.poll_transmit()
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<PortForwardEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called, if ever.
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
            Err(PortForwardSendError::Ws(ws::SendError::Closed))
        } else {
            Ok(())
        }
    }

    fn fail(&mut self, error: PortForwardError) -> PortForwardError {
        self.done = true;
        error
    }

    fn process_events(&mut self) -> Result<(), PortForwardError> {
        while let Some(event) = self.conn.poll_event() {
            if let Err(e) = self.process_event(event) {
                return Err(self.fail(e));
            }
            if self.done {
                break;
            }
        }
        Ok(())
    }

    fn process_event(&mut self, event: Event) -> Result<(), PortForwardError> {
        match event {
            Event::Message(Message::Binary(message)) => {
                if let Some((channel, data)) = channel::split(message) {
                    self.on_channel(channel, data)?;
                }
            }
            Event::Message(Message::Text(_)) => return Err(PortForwardError::TextMessage),
            Event::Ping(_) | Event::Pong(_) => {}
            Event::Closed { .. } => {
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
                message: String::from_utf8_lossy(&data).into_owned(),
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
