//! Port-forward as kubectl ≥ 1.31 does it: one SPDY/3.1 session for every forwarded connection,
//! carried inside a WebSocket (`SPDY/3.1+portforward.k8s.io`, the tunnel) or, where the tunnel
//! is refused, directly on a connection upgraded to SPDY.
//!
//! kube-apiserver ends the WebSocket and copies the bytes inside it to the kubelet, so the SPDY
//! session runs between this machine and the kubelet, and its frames may be split across
//! WebSocket messages anywhere. Each forwarded connection is a pair of streams with the same
//! `requestid`: an error stream, opened first and half-closed at once by the client, on which the
//! kubelet reports a failure to reach the port as text; and a data stream carrying the bytes both
//! ways, whose half-close is a real half-close. A connection's failure fails that connection
//! only. SPDY pings (every 10 s, as kubectl) keep proxies from timing the session out, and a
//! kubelet that answers nothing for the peer timeout fails the session.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::Instant;

use bytes::Bytes;

use super::channel::{self, InvalidSegment};
use crate::spdy::frame::rst;
use crate::spdy::{ClientSession, Headers, SessionConfig, SpdyError, SpdyEvent, StreamId};
use crate::ws::{self, ClientHandshake, CloseCode, Connection, Message, Progress, WsError, WsEvent};

/// The WebSocket subprotocol of the tunnel.
pub const TUNNEL_PROTOCOL: &str = "SPDY/3.1+portforward.k8s.io";
/// The `X-Stream-Protocol-Version` of a direct SPDY upgrade for port-forward.
pub const SPDY_PORTFORWARD_PROTOCOL: &str = "portforward.k8s.io";
/// The `Upgrade` token of a direct SPDY upgrade.
pub const SPDY_UPGRADE: &str = "SPDY/3.1";

/// The path of a tunnelled or direct-SPDY port-forward: the ports travel in each connection's
/// stream headers, not in the query.
pub fn tunnel_path(namespace: &str, pod: &str) -> Result<String, InvalidSegment> {
    channel::pod_path(namespace, pod, "portforward")
}

/// The WebSocket handshake of the tunnel for `path`, offering [`TUNNEL_PROTOCOL`].
pub fn tunnel_handshake(host: &str, path: &str, key_bytes: [u8; 16]) -> ClientHandshake {
    ClientHandshake::new(host, path, key_bytes).protocols([TUNNEL_PROTOCOL])
}

/// The request of a direct SPDY upgrade for port-forward on `path` (kubectl's fallback when the
/// tunnel is refused): `POST` with `Upgrade: SPDY/3.1` and the stream protocol it wants.
pub fn spdy_upgrade_request(path: &str) -> http::Request<()> {
    http::Request::post(path)
        .header(http::header::CONNECTION, "Upgrade")
        .header(http::header::UPGRADE, SPDY_UPGRADE)
        .header(STREAM_PROTOCOL_HEADER, SPDY_PORTFORWARD_PROTOCOL)
        .body(())
        .expect("a path from tunnel_path and constant headers make a valid request")
}

/// The header naming the stream protocol of a SPDY upgrade, both ways.
pub const STREAM_PROTOCOL_HEADER: &str = "x-stream-protocol-version";

/// Why the answer to a direct SPDY upgrade is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpdyUpgradeError {
    /// The status is not 101.
    Status(u16),
    /// The answer does not upgrade to SPDY/3.1.
    NotSpdy,
    /// The server chose another stream protocol, or none.
    Protocol(Option<String>),
}

impl fmt::Display for SpdyUpgradeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(code) => write!(f, "the SPDY upgrade was answered with {code}, not 101"),
            Self::NotSpdy => f.write_str("the server switched protocols, but not to SPDY/3.1"),
            Self::Protocol(Some(p)) => write!(
                f,
                "the server chose stream protocol {p:?}, not {SPDY_PORTFORWARD_PROTOCOL}"
            ),
            Self::Protocol(None) => write!(
                f,
                "the server named no stream protocol (wanted {SPDY_PORTFORWARD_PROTOCOL})"
            ),
        }
    }
}

impl std::error::Error for SpdyUpgradeError {}

/// Checks the answer to [`spdy_upgrade_request`]: 101, `Upgrade: SPDY/3.1` and the port-forward
/// stream protocol.
pub fn check_spdy_upgrade(
    status: http::StatusCode,
    headers: &http::HeaderMap,
) -> Result<(), SpdyUpgradeError> {
    if status != http::StatusCode::SWITCHING_PROTOCOLS {
        return Err(SpdyUpgradeError::Status(status.as_u16()));
    }
    let upgrade = headers.get(http::header::UPGRADE).and_then(|v| v.to_str().ok());
    if !upgrade.is_some_and(|u| u.eq_ignore_ascii_case(SPDY_UPGRADE)) {
        return Err(SpdyUpgradeError::NotSpdy);
    }
    match headers
        .get(STREAM_PROTOCOL_HEADER)
        .map(|v| v.to_str().unwrap_or(""))
    {
        Some(SPDY_PORTFORWARD_PROTOCOL) => Ok(()),
        other => Err(SpdyUpgradeError::Protocol(other.map(str::to_owned))),
    }
}

/// The WebSocket settings of the tunnel: no WebSocket pings, since the SPDY pings inside reach
/// the kubelet itself and prove more.
pub fn tunnel_ws_config() -> ws::Config {
    ws::Config {
        keepalive: None,
        ..ws::Config::default()
    }
}

/// What carries a tunnel's SPDY session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TunnelCarrier {
    /// A WebSocket with the subprotocol [`TUNNEL_PROTOCOL`] (kube-apiserver ≥ 1.31).
    WebSocket,
    /// A direct upgrade to SPDY/3.1 (every kube-apiserver; not through proxies that pass only
    /// WebSockets).
    Spdy,
}

/// The carriers kubectl tries, in its order.
pub const TUNNEL_CARRIERS: [TunnelCarrier; 2] = [TunnelCarrier::WebSocket, TunnelCarrier::Spdy];

/// How a tunnel is opened and kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelOptions {
    /// The carriers to try, in order; the next is tried only when the server did not switch to
    /// one ([`upgrade_not_switched`]).
    pub carriers: Vec<TunnelCarrier>,
    /// Pings, the dead-peer deadline and frame limits of the SPDY session.
    pub session: SessionConfig,
}

impl Default for TunnelOptions {
    /// kubectl's order of carriers, and its 10 s pings with a 30 s deadline.
    fn default() -> Self {
        Self {
            carriers: TUNNEL_CARRIERS.to_vec(),
            session: SessionConfig::default(),
        }
    }
}

/// Whether an upgrade failed because the server did not switch to what was asked (an answer
/// other than 101, or a 101 to something else): then the next carrier, or another protocol, may
/// work. A missing pod, a refused permission or a broken connection would fail the same way
/// on any carrier, so they are not.
pub fn upgrade_not_switched(error: &crate::Error) -> bool {
    match error {
        crate::Error::Handshake(_) | crate::Error::SpdyUpgrade(_) => true,
        crate::Error::Api(api) => !matches!(api.code, 401 | 403 | 404),
        _ => false,
    }
}

/// What a port-forward listener makes of opening its tunnel: the tunnel; `None` when the server
/// switched to no carrier ([`upgrade_not_switched`]), so each connection gets a v4 session of its
/// own; or the error to return (a missing pod, a refused permission fail every protocol alike).
pub fn tunnel_or_channels<T>(opened: Result<T, crate::Error>) -> Result<Option<T>, crate::Error> {
    match opened {
        Ok(tunnel) => Ok(Some(tunnel)),
        Err(e) if upgrade_not_switched(&e) => {
            log::debug!("port-forward: no tunnel ({e}); one session per connection");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The carriers of [`TunnelOptions`] tried in turn: the next only after the server did not switch
/// to one ([`upgrade_not_switched`]). An adapter loops on [`next_carrier`](Self::next_carrier)
/// and hands each failure to [`failed`](Self::failed).
#[derive(Debug)]
pub struct CarrierAttempts {
    carriers: std::vec::IntoIter<TunnelCarrier>,
    last: Option<crate::Error>,
}

impl CarrierAttempts {
    /// Attempts over `options.carriers`, in order.
    pub fn new(options: &TunnelOptions) -> Self {
        Self {
            carriers: options.carriers.clone().into_iter(),
            last: None,
        }
    }

    /// The carrier to try next, or, when none is left, the last refusal.
    pub fn next_carrier(&mut self) -> Result<TunnelCarrier, crate::Error> {
        self.carriers.next().ok_or_else(|| {
            self.last.take().unwrap_or_else(|| {
                crate::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "no tunnel carrier to try",
                ))
            })
        })
    }

    /// `carrier` failed with `error`: `Ok` when the next carrier may be tried, else the error
    /// to return now (a missing pod or a refused permission fails every carrier alike).
    pub fn failed(&mut self, carrier: TunnelCarrier, error: crate::Error) -> Result<(), crate::Error> {
        if upgrade_not_switched(&error) {
            log::debug!("port-forward tunnel over {carrier:?} refused: {error}");
            self.last = Some(error);
            Ok(())
        } else {
            Err(error)
        }
    }
}

/// A forwarded connection, named by the caller; it is the `requestid` of its two streams.
pub type ConnId = u32;

/// What the caller of a tunnel asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelCommand {
    /// Forward a new connection to `port` of the pod. `conn` must not name a connection of this
    /// tunnel already.
    Open {
        /// The caller's name for it.
        conn: ConnId,
        /// The pod's port.
        port: u16,
    },
    /// Bytes for the pod's port.
    Send(ConnId, Vec<u8>),
    /// Nothing more goes to the pod's port on this connection (the pod may still answer).
    CloseWrite(ConnId),
    /// The caller dropped the connection: both directions end now.
    Reset(ConnId),
    /// The end of the whole tunnel.
    Close,
}

/// What a tunnel hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TunnelEvent {
    /// Bytes from the pod's port (never empty).
    Data(ConnId, Bytes),
    /// The pod's port sends nothing more on this connection.
    Eof(ConnId),
    /// The kubelet could not forward this connection (its error stream's text); it is over.
    Failed(ConnId, String),
    /// The kubelet or the session dropped this connection without a reason.
    Reset(ConnId),
    /// Both directions of this connection are over; its id may be used again.
    Closed(ConnId),
}

impl TunnelEvent {
    /// The connection this event is about.
    pub fn conn(&self) -> ConnId {
        match self {
            Self::Data(conn, _)
            | Self::Eof(conn)
            | Self::Failed(conn, _)
            | Self::Reset(conn)
            | Self::Closed(conn) => *conn,
        }
    }

    /// What the reader of the connection receives for this event, so that every adapter's
    /// stream reports it alike: bytes; an error that is the connection's last item (the
    /// kubelet's text as `Other`, a reset as `ConnectionReset`); or `None` when the pod's side
    /// ended cleanly and the reader sees its end of input.
    pub fn into_read_item(self) -> Option<std::io::Result<Bytes>> {
        match self {
            Self::Data(_, bytes) => Some(Ok(bytes)),
            Self::Failed(_, message) => Some(Err(std::io::Error::other(message))),
            Self::Reset(_) => Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "the kubelet reset the connection",
            ))),
            Self::Eof(_) | Self::Closed(_) => None,
        }
    }
}

/// Why the whole tunnel failed. A problem of one connection is an event, not this.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortTunnelError {
    /// The WebSocket carrying the session failed.
    Ws(WsError),
    /// The WebSocket carried a text message; the tunnel is binary.
    TextMessage,
    /// The SPDY session failed (including a kubelet silent past the deadline).
    Spdy(SpdyError),
}

impl PortTunnelError {
    /// How a forwarded connection's byte stream reports this failure: a silent peer as
    /// `TimedOut`, the transport cut short as `UnexpectedEof`, anything else as
    /// `ConnectionAborted`.
    pub fn io_error_kind(&self) -> std::io::ErrorKind {
        match self {
            Self::Ws(e) if e.is_timeout() => std::io::ErrorKind::TimedOut,
            Self::Spdy(SpdyError::PeerSilent(_)) => std::io::ErrorKind::TimedOut,
            Self::Ws(WsError::UnexpectedEof) | Self::Spdy(SpdyError::Truncated) => {
                std::io::ErrorKind::UnexpectedEof
            }
            _ => std::io::ErrorKind::ConnectionAborted,
        }
    }
}

impl fmt::Display for PortTunnelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ws(e) => write!(f, "port-forward tunnel: websocket: {e}"),
            Self::TextMessage => f.write_str("port-forward tunnel: a text message; the tunnel is binary"),
            Self::Spdy(e) => write!(f, "port-forward tunnel: {e}"),
        }
    }
}

/// The failure of the whole tunnel as each forwarded connection's byte stream reports it: the
/// kind from [`PortTunnelError::io_error_kind`], this error as the source.
impl From<PortTunnelError> for std::io::Error {
    fn from(e: PortTunnelError) -> Self {
        std::io::Error::new(e.io_error_kind(), e)
    }
}

impl std::error::Error for PortTunnelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Ws(e) => Some(e),
            Self::Spdy(e) => Some(e),
            Self::TextMessage => None,
        }
    }
}

/// What carries the SPDY session.
enum Carrier {
    /// The tunnel: SPDY bytes in binary WebSocket messages.
    WebSocket(Box<Connection>),
    /// A connection upgraded to SPDY: the bytes as they are.
    Direct { input_ended: bool },
}

/// One forwarded connection: its two streams and what is over.
#[derive(Debug)]
struct Conn {
    error_stream: StreamId,
    data_stream: StreamId,
    error_text: Vec<u8>,
    error_over: bool,
    /// The kubelet reset the data stream; the connection's end waits for the error stream.
    data_reset: bool,
    data_in_over: bool,
    data_out_over: bool,
}

/// Most error text kept per connection; the kubelet's messages are one line.
const MAX_ERROR_TEXT: usize = 4096;

/// A port-forward session carrying any number of connections to any ports of one pod.
///
/// Drive it like the other channel sessions (see [`Session`](super::Session)): feed the bytes,
/// the end of input and the timer, carry out [`TunnelCommand`]s, then drain `poll_transmit`,
/// `poll_event` and `poll_timeout`. Connections are named by the caller ([`ConnId`]).
///
/// ```
/// use klient_proto::remote::{PortTunnel, TunnelCommand};
/// use klient_proto::spdy::SessionConfig;
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let mut tunnel = PortTunnel::direct(SessionConfig::default(), now);
/// tunnel.command(TunnelCommand::Open { conn: 0, port: 5432 }, now);
/// tunnel.command(TunnelCommand::Send(0, b"hello".to_vec()), now);
/// // Two SYN_STREAMs (error and data streams of request 0), then a DATA frame.
/// let wire = tunnel.poll_transmit().unwrap();
/// assert_eq!(&wire[..4], &[0x80, 0x03, 0x00, 0x01]);
/// ```
pub struct PortTunnel {
    carrier: Carrier,
    spdy: ClientSession,
    conns: HashMap<ConnId, Conn>,
    streams: HashMap<StreamId, ConnId>,
    events: VecDeque<TunnelEvent>,
    failure: Option<PortTunnelError>,
    closing: bool,
}

impl PortTunnel {
    /// A tunnel on a WebSocket whose handshake offered [`TUNNEL_PROTOCOL`] and got it.
    pub fn over_websocket(connection: Connection, config: SessionConfig, now: Instant) -> Self {
        Self::with_carrier(Carrier::WebSocket(Box::new(connection)), config, now)
    }

    /// A session on a connection upgraded to SPDY/3.1 with [`SPDY_PORTFORWARD_PROTOCOL`].
    pub fn direct(config: SessionConfig, now: Instant) -> Self {
        Self::with_carrier(Carrier::Direct { input_ended: false }, config, now)
    }

    fn with_carrier(carrier: Carrier, config: SessionConfig, now: Instant) -> Self {
        Self {
            carrier,
            spdy: ClientSession::new(config, now),
            conns: HashMap::new(),
            streams: HashMap::new(),
            events: VecDeque::new(),
            failure: None,
            closing: false,
        }
    }

    /// How many connections are not over yet.
    pub fn open_connections(&self) -> usize {
        self.conns.len()
    }

    /// Carries out one request of the caller. A request the tunnel cannot carry out is answered
    /// with an event (a connection that cannot open is `Failed`); nothing is dropped silently.
    pub fn command(&mut self, command: TunnelCommand, now: Instant) {
        match command {
            TunnelCommand::Open { conn, port } => self.open(conn, port, now),
            TunnelCommand::Send(conn, data) => self.write(conn, &data, false),
            TunnelCommand::CloseWrite(conn) => self.write(conn, &[], true),
            TunnelCommand::Reset(conn) => {
                if self.conns.contains_key(&conn) {
                    self.drop_conn(conn);
                    self.events.push_back(TunnelEvent::Closed(conn));
                }
            }
            TunnelCommand::Close => self.close(now),
        }
    }

    fn open(&mut self, conn: ConnId, port: u16, now: Instant) {
        if self.conns.contains_key(&conn) {
            self.events.push_back(TunnelEvent::Failed(
                conn,
                format!("connection {conn} is already open on this tunnel"),
            ));
            return;
        }
        let port_text = port.to_string();
        let request = conn.to_string();
        let headers = |kind: &str| {
            Headers::new()
                .with("streamtype", kind)
                .with("port", port_text.as_str())
                .with("requestid", request.as_str())
        };
        // The error stream first, half-closed at once: the kubelet waits for both streams of a
        // request id, then writes any failure to reach the port on the error stream.
        let opened = self
            .spdy
            .open(&headers("error"), true, now)
            .and_then(|error| Ok((error, self.spdy.open(&headers("data"), false, now)?)));
        match opened {
            Ok((error_stream, data_stream)) => {
                self.streams.insert(error_stream, conn);
                self.streams.insert(data_stream, conn);
                self.conns.insert(
                    conn,
                    Conn {
                        error_stream,
                        data_stream,
                        error_text: Vec::new(),
                        error_over: false,
                        data_reset: false,
                        data_in_over: false,
                        data_out_over: false,
                    },
                );
            }
            Err(e) => {
                self.events.push_back(TunnelEvent::Failed(conn, e.to_string()));
                self.events.push_back(TunnelEvent::Closed(conn));
            }
        }
    }

    /// Data, and with `fin` the half-close, on a connection's data stream. A connection that is
    /// over, or whose end is still queued as an event, takes nothing: its caller learns of the
    /// end from that event.
    fn write(&mut self, conn: ConnId, data: &[u8], fin: bool) {
        if data.is_empty() && !fin {
            return;
        }
        let Some(state) = self.conns.get_mut(&conn).filter(|c| !c.data_out_over) else {
            log::debug!(
                "port-forward tunnel: connection {conn} is over; {} bytes dropped",
                data.len()
            );
            return;
        };
        state.data_out_over |= fin;
        let stream = state.data_stream;
        if let Err(e) = self.spdy.send(stream, data, fin) {
            log::debug!("port-forward tunnel: connection {conn}: {e}");
        }
        if fin {
            self.close_if_over(conn);
        }
    }

    /// Ends the tunnel: every connection still open is reset, a GOAWAY goes out, then the
    /// WebSocket's close handshake (or, directly on SPDY, the transport's end).
    pub fn close(&mut self, now: Instant) {
        if self.closing {
            return;
        }
        self.closing = true;
        let open: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in open {
            self.command(TunnelCommand::Reset(conn), now);
        }
        self.spdy.go_away();
        self.flush_spdy();
        if let Carrier::WebSocket(ws) = &mut self.carrier {
            let _ = ws.close(now, CloseCode::NORMAL, "");
        }
    }

    /// Bytes from the server.
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        match &mut self.carrier {
            Carrier::Direct { .. } => self.spdy.handle_bytes(bytes),
            Carrier::WebSocket(ws) => ws.handle_bytes(bytes),
        }
        self.pump();
    }

    /// The server closed its side of the connection.
    pub fn handle_eof(&mut self) {
        match &mut self.carrier {
            Carrier::Direct { input_ended } => {
                *input_ended = true;
                self.spdy.handle_eof();
            }
            Carrier::WebSocket(ws) => ws.handle_eof(),
        }
        self.pump();
    }

    /// The instant from [`PortTunnel::poll_timeout`] has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Carrier::WebSocket(ws) = &mut self.carrier {
            ws.handle_timeout(now);
        }
        self.spdy.handle_timeout(now);
        self.pump();
    }

    /// When [`PortTunnel::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let spdy = self.spdy.poll_timeout();
        let ws = match &self.carrier {
            Carrier::WebSocket(ws) => ws.poll_timeout(),
            Carrier::Direct { .. } => None,
        };
        match (spdy, ws) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Bytes for the server.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.flush_spdy();
        match &mut self.carrier {
            Carrier::WebSocket(ws) => ws.poll_transmit(),
            Carrier::Direct { .. } => self.spdy.poll_transmit(),
        }
    }

    /// As [`poll_transmit`](Self::poll_transmit), onto the end of `out`, without allocating (see
    /// [`Connection::transmit_into`](crate::ws::Connection::transmit_into)).
    pub fn transmit_into(&mut self, out: &mut Vec<u8>) -> bool {
        self.flush_spdy();
        match &mut self.carrier {
            Carrier::WebSocket(ws) => ws.transmit_into(out),
            Carrier::Direct { .. } => self.spdy.transmit_into(out),
        }
    }

    /// The caller stops (`true`) or starts again (`false`) reading the transport, because a
    /// connection's reader has no room: the SPDY session's dead-peer and reply deadlines (and the
    /// WebSocket's keepalive) wait meanwhile (see
    /// [`ClientSession::pause_reading`](crate::spdy::ClientSession::pause_reading)).
    pub fn pause_reading(&mut self, paused: bool, now: Instant) {
        self.spdy.pause_reading(paused, now);
        if let Carrier::WebSocket(ws) = &mut self.carrier {
            ws.pause_reading(paused, now);
        }
    }

    /// The next event; the tunnel's failure comes after every event before it.
    pub fn poll_event(&mut self) -> Result<Progress<TunnelEvent>, PortTunnelError> {
        self.pump();
        if let Some(event) = self.events.pop_front() {
            return Ok(Progress::Event(event));
        }
        if let Some(failure) = &self.failure {
            return Err(failure.clone());
        }
        let over = match &self.carrier {
            Carrier::WebSocket(ws) => ws.is_closed(),
            Carrier::Direct { input_ended } => *input_ended || self.closing,
        };
        Ok(if over {
            Progress::Finished
        } else {
            Progress::NeedData
        })
    }

    /// Moves the SPDY session's output into the WebSocket, one message per batch of frames.
    fn flush_spdy(&mut self) {
        if let Carrier::WebSocket(ws) = &mut self.carrier
            && let Some(bytes) = self.spdy.poll_transmit()
            && let Err(e) = ws.send_binary(&bytes)
            && self.failure.is_none()
            && !self.closing
        {
            // The WebSocket refuses only once it is closing or failed; its failure says why.
            log::debug!("port-forward tunnel: frames dropped: {e}");
        }
    }

    /// Takes what the carrier and the session decoded, in order.
    fn pump(&mut self) {
        if let Carrier::WebSocket(ws) = &mut self.carrier {
            loop {
                match ws.poll_event() {
                    Ok(Progress::Event(WsEvent::Message(Message::Binary(bytes)))) => {
                        self.spdy.handle_owned(bytes)
                    }
                    Ok(Progress::Event(WsEvent::Message(Message::Text(_)))) => {
                        let _ = ws.fail(CloseCode::UNSUPPORTED_DATA, "the tunnel is binary");
                        self.failure.get_or_insert(PortTunnelError::TextMessage);
                        break;
                    }
                    Ok(Progress::Event(WsEvent::Closed(_))) => self.spdy.handle_eof(),
                    Ok(Progress::Event(_)) => {}
                    Ok(Progress::NeedData) => break,
                    Ok(Progress::Finished) => {
                        self.spdy.handle_eof();
                        break;
                    }
                    Err(e) => {
                        self.failure.get_or_insert(PortTunnelError::Ws(e));
                        break;
                    }
                }
            }
        }
        loop {
            match self.spdy.poll_event() {
                Ok(Progress::Event(event)) => self.spdy_event(event),
                Ok(Progress::NeedData | Progress::Finished) => break,
                Err(e) => {
                    if let Carrier::WebSocket(ws) = &mut self.carrier {
                        let _ = ws.fail(CloseCode::PROTOCOL_ERROR, "SPDY session failed");
                    }
                    self.failure.get_or_insert(PortTunnelError::Spdy(e));
                    break;
                }
            }
        }
    }

    fn spdy_event(&mut self, event: SpdyEvent) {
        let stream_id = match &event {
            SpdyEvent::Replied { stream_id, .. }
            | SpdyEvent::Data { stream_id, .. }
            | SpdyEvent::Finished { stream_id }
            | SpdyEvent::Reset { stream_id, .. }
            | SpdyEvent::NotReplied { stream_id } => *stream_id,
            SpdyEvent::GoAway { .. } => return,
        };
        let Some(&conn) = self.streams.get(&stream_id) else {
            return;
        };
        let Some(state) = self.conns.get_mut(&conn) else {
            return;
        };
        let on_error_stream = stream_id == state.error_stream;
        match event {
            SpdyEvent::Replied { .. } | SpdyEvent::GoAway { .. } => {}
            SpdyEvent::Data { data, .. } if on_error_stream => {
                let room = MAX_ERROR_TEXT.saturating_sub(state.error_text.len());
                state.error_text.extend_from_slice(&data[..data.len().min(room)]);
            }
            SpdyEvent::Data { data, .. } => self.events.push_back(TunnelEvent::Data(conn, data)),
            SpdyEvent::Finished { .. } if on_error_stream => {
                state.error_over = true;
                if !state.error_text.is_empty() {
                    let text = String::from_utf8_lossy(&state.error_text).into_owned();
                    self.drop_conn(conn);
                    self.events.push_back(TunnelEvent::Failed(conn, text));
                    self.events.push_back(TunnelEvent::Closed(conn));
                    return;
                }
                if state.data_reset {
                    self.drop_conn(conn);
                    self.events.push_back(TunnelEvent::Reset(conn));
                    self.events.push_back(TunnelEvent::Closed(conn));
                    return;
                }
                self.close_if_over(conn);
            }
            SpdyEvent::Finished { .. } => {
                state.data_in_over = true;
                self.events.push_back(TunnelEvent::Eof(conn));
                self.close_if_over(conn);
            }
            // The kubelet may reset the data stream before its reason arrives on the error
            // stream (a port that refuses): as kubectl, wait for the error stream's end before
            // saying why the connection ended. The data stream is over both ways meanwhile.
            SpdyEvent::Reset { .. } if !on_error_stream && !state.error_over => {
                state.data_reset = true;
                state.data_in_over = true;
                state.data_out_over = true;
                self.streams.remove(&stream_id);
            }
            // A reason already written is the failure, even when a reset ends its stream.
            SpdyEvent::Reset { .. } if !state.error_text.is_empty() => {
                let text = String::from_utf8_lossy(&state.error_text).into_owned();
                self.drop_conn(conn);
                self.events.push_back(TunnelEvent::Failed(conn, text));
                self.events.push_back(TunnelEvent::Closed(conn));
            }
            SpdyEvent::Reset { .. } => {
                self.drop_conn(conn);
                self.events.push_back(TunnelEvent::Reset(conn));
                self.events.push_back(TunnelEvent::Closed(conn));
            }
            // kubectl fails such a connection too ("Timeout occurred" creating its stream).
            SpdyEvent::NotReplied { .. } => {
                let which = if on_error_stream { "error" } else { "data" };
                let after = self.spdy.config().reply_timeout;
                self.drop_conn(conn);
                self.events.push_back(TunnelEvent::Failed(
                    conn,
                    format!("the kubelet did not accept the connection's {which} stream within {after:?}"),
                ));
                self.events.push_back(TunnelEvent::Closed(conn));
            }
        }
    }

    /// Resets what is left of a connection and forgets it.
    fn drop_conn(&mut self, conn: ConnId) {
        if let Some(state) = self.conns.remove(&conn) {
            for stream in [state.data_stream, state.error_stream] {
                self.spdy.reset(stream, rst::CANCEL);
                self.streams.remove(&stream);
            }
        }
    }

    /// A connection is over when its data stream ended both ways and its error stream ended
    /// without a word.
    fn close_if_over(&mut self, conn: ConnId) {
        if self
            .conns
            .get(&conn)
            .is_some_and(|c| c.error_over && c.data_in_over && c.data_out_over)
        {
            let state = self.conns.remove(&conn).expect("checked above");
            self.streams.remove(&state.data_stream);
            self.streams.remove(&state.error_stream);
            self.events.push_back(TunnelEvent::Closed(conn));
        }
    }
}

impl super::Session for PortTunnel {
    type Event = TunnelEvent;
    type Command = TunnelCommand;
    type Failure = PortTunnelError;

    fn handle_bytes(&mut self, bytes: &[u8]) {
        PortTunnel::handle_bytes(self, bytes);
    }
    fn handle_eof(&mut self) {
        PortTunnel::handle_eof(self);
    }
    fn handle_timeout(&mut self, now: Instant) {
        PortTunnel::handle_timeout(self, now);
    }
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        PortTunnel::poll_transmit(self)
    }
    fn transmit_into(&mut self, out: &mut Vec<u8>) -> bool {
        PortTunnel::transmit_into(self, out)
    }
    fn pause_reading(&mut self, paused: bool, now: Instant) {
        PortTunnel::pause_reading(self, paused, now);
    }
    fn poll_event(&mut self) -> Result<Progress<TunnelEvent>, PortTunnelError> {
        PortTunnel::poll_event(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        PortTunnel::poll_timeout(self)
    }
    /// A connection's half-close is a SPDY frame, never the socket's.
    fn command(&mut self, command: TunnelCommand, now: Instant) -> bool {
        PortTunnel::command(self, command, now);
        false
    }
    fn abandon(&mut self, now: Instant) {
        self.close(now);
    }
}

#[cfg(test)]
#[path = "tunnel_tests.rs"]
mod tests;
