//! A blocking WebSocket client: the [`klient_proto::ws`] machines driven over a byte stream.
//!
//! [`WebSocket::connect`] opens a plain `ws://` connection; [`WebSocket::client`] runs the
//! handshake over any stream that is already connected (TLS, a proxy tunnel), as long as it
//! can wake a blocked read after a timeout ([`Transport`]), which is how keepalive pings and the
//! close deadline are kept without a thread.
//!
//! Every verb writes its frames before it returns, and every [`read`](WebSocket::read) writes
//! what reading produced (pong answers, the close reply), so nothing waits in a buffer.
//!
//! ```no_run
//! use klient_blocking::websocket::{Message, Options, WebSocket};
//!
//! let mut ws = WebSocket::connect("ws://127.0.0.1:8080/echo", Options::default())?;
//! ws.send_text("hello")?;
//! assert_eq!(ws.read()?, Message::Text("hello".into()));
//! ws.close(1000, "done")?;
//! while !matches!(ws.read()?, Message::Close(_)) {}
//! # Ok::<(), klient_blocking::websocket::Error>(())
//! ```
//!
//! Reads and writes share one thread: a write of a large message blocks until the server has
//! taken it, so a server that refuses to read while its own writes are stuck would deadlock
//! with it, as with any single-threaded blocking client.

mod url;

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use klient_proto::http::{self as wire, EncodeError, HttpError, Limits, ResponseDecoder, encode_request};
use klient_proto::ws::{ClientHandshake, CloseCode, Connection, Progress, WsEvent};

use klient_proto::ws::OsRandom;

pub use klient_proto::ws::{
    Config, DeflateOffer, HandshakeError, Keepalive, Negotiated, WsError, WsSendError,
};

/// How much one read from the stream asks for.
const READ_CHUNK: usize = 64 * 1024;

/// A stream the client can run on: bytes both ways, and a read timeout so that a blocked read
/// returns (`WouldBlock` or `TimedOut`) when a keepalive ping or a deadline is due.
pub trait Transport: Read + Write {
    /// Sets how long one read may block; `None` blocks until data arrives.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;
}

impl Transport for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
}

/// What to ask for when connecting.
#[derive(Debug, Clone)]
pub struct Options {
    /// Subprotocols to offer, most preferred first.
    pub protocols: Vec<String>,
    /// Offer permessage-deflate (RFC 7692) with these parameters.
    pub deflate: Option<DeflateOffer>,
    /// Extra request headers (e.g. `Authorization`, which is marked sensitive).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Limits, fragmentation, keepalive and close timeout of the connection. Its `deflate` field
    /// is set from the handshake's outcome.
    pub config: Config,
    /// How long TCP connecting may take ([`WebSocket::connect`] only).
    pub connect_timeout: Duration,
    /// How long the server may take to answer the upgrade request.
    pub handshake_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            protocols: Vec::new(),
            deflate: None,
            headers: Vec::new(),
            config: Config::default(),
            connect_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(30),
        }
    }
}

/// What [`WebSocket::read`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// The server pinged; the pong has been sent.
    Ping(Vec<u8>),
    /// The server answered a ping.
    Pong(Vec<u8>),
    /// The close handshake is complete (started by either side) and the connection is over.
    /// `None` when the server's close frame carried no code.
    Close(Option<CloseFrame>),
}

/// The code and reason of the server's close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The close code (1000 normal, 1001 going away, 4000–4999 for applications, ...).
    pub code: u16,
    /// The reason, possibly empty.
    pub reason: String,
}

/// Why connecting, sending or reading failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not a usable `ws://` URL.
    InvalidUrl(String),
    /// TCP connecting failed.
    Connect {
        /// `host:port` from the URL.
        server: String,
        /// Why.
        source: io::Error,
    },
    /// The upgrade request could not be written as HTTP/1.1.
    Encode(EncodeError),
    /// The server's answer to the upgrade request broke HTTP/1.1 or a limit.
    Http(HttpError),
    /// The server ended the connection before answering the upgrade request.
    HandshakeEof,
    /// The server did not answer the upgrade request within
    /// [`Options::handshake_timeout`].
    HandshakeTimeout {
        /// The handshake timeout.
        after: Duration,
    },
    /// The server refused the upgrade with an ordinary HTTP response (a Kubernetes API server
    /// puts its `Status` JSON in the body).
    Refused {
        /// The response's status.
        status: StatusCode,
        /// The response's body, as much of it as arrived within the handshake timeout (at most
        /// 64 KiB).
        body: Bytes,
    },
    /// The server answered with a 101 that does not complete the handshake.
    Handshake(HandshakeError),
    /// The connection failed: the server broke the WebSocket protocol, a limit was exceeded,
    /// keepalive or the close deadline passed, or the stream ended before the close handshake.
    /// The close frame the RFC asks for has been sent. (Or the OS random generator failed,
    /// [`WsError::MaskKey`]: then nothing more is sent.)
    Failed(WsError),
    /// A verb was refused (the connection is closing, or a payload or code is invalid), or found
    /// the OS random generator failing ([`WsSendError::MaskKey`]), which fails the connection.
    Send(WsSendError),
    /// Reading from or writing to the stream failed.
    Io(io::Error),
    /// The connection is over: a `Close` was already returned or an error already reported.
    AlreadyClosed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl(why) => write!(f, "invalid WebSocket URL: {why}"),
            Self::Connect { server, source } => write!(f, "cannot connect to {server}: {source}"),
            Self::Encode(e) => write!(f, "cannot write the upgrade request: {e}"),
            Self::Http(e) => write!(f, "invalid answer to the upgrade request: {e}"),
            Self::HandshakeEof => f.write_str("server closed the connection before answering the upgrade"),
            Self::HandshakeTimeout { after } => {
                write!(f, "server did not answer the upgrade within {after:?}")
            }
            Self::Refused { status, body } => {
                let body = String::from_utf8_lossy(&body[..body.len().min(512)]);
                write!(f, "server refused the upgrade with {status}: {body}")
            }
            Self::Handshake(e) => write!(f, "WebSocket handshake failed: {e}"),
            Self::Failed(e) => write!(f, "WebSocket connection failed: {e}"),
            Self::Send(e) => write!(f, "cannot send: {e}"),
            Self::Io(e) => write!(f, "WebSocket I/O: {e}"),
            Self::AlreadyClosed => f.write_str("the WebSocket connection is closed"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Connect { source, .. } | Self::Io(source) => Some(source),
            Self::Encode(e) => Some(e),
            Self::Http(e) => Some(e),
            Self::Handshake(e) => Some(e),
            Self::Failed(e) => Some(e),
            Self::Send(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<WsSendError> for Error {
    fn from(e: WsSendError) -> Self {
        Self::Send(e)
    }
}

/// A WebSocket connection over the stream `S`.
pub struct WebSocket<S: Transport> {
    stream: S,
    conn: Connection,
    negotiated: Negotiated,
    /// Bytes read from the stream; `buf[start..end]` are not yet fed to the machine.
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// How long to wait for the server to end the connection after the close handshake.
    close_timeout: Duration,
    /// The read timeout last set on the stream, to skip redundant system calls.
    read_timeout: Option<Duration>,
    /// A `Close` or an error has been returned.
    finished: bool,
}

impl<S: Transport> fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("conn", &self.conn)
            .field("negotiated", &self.negotiated)
            .finish_non_exhaustive()
    }
}

impl WebSocket<TcpStream> {
    /// Connects to a `ws://host[:port]/path?query` URL over plain TCP and runs the handshake.
    pub fn connect(url: &str, options: Options) -> Result<Self, Error> {
        let url = url::parse(url).map_err(Error::InvalidUrl)?;
        let server = format!("{}:{}", url.host, url.port);
        let transport = klient_proto::client::TransportSettings {
            connect_timeout: options.connect_timeout,
            ..Default::default()
        };
        let deadline = std::time::Instant::now() + options.connect_timeout;
        let tcp = crate::stream::Stream::connect(&url.host, url.port, deadline, &transport)
            .map_err(|source| Error::Connect { server, source })?;
        Self::client(tcp, &url.authority, &url.target, options)
    }
}

impl<S: Transport> WebSocket<S> {
    /// Runs the opening handshake over `stream`, already connected to the server: `host` is
    /// the `Host` header (with the port unless it is the scheme's default) and `target` the
    /// path with any query.
    pub fn client(mut stream: S, host: &str, target: &str, options: Options) -> Result<Self, Error> {
        let mut random = OsRandom::new()?;
        let key = random.key16()?;
        let mut handshake = ClientHandshake::new(host, target, key).protocols(options.protocols);
        if let Some(offer) = options.deflate {
            handshake = handshake.permessage_deflate(offer);
        }
        for (name, value) in options.headers {
            handshake = handshake.header(name, value);
        }
        let request = handshake
            .request()
            .map_err(Error::Handshake)?
            .map(|()| Vec::new());
        let mut wire = Vec::new();
        encode_request(&request, host, &mut wire).map_err(Error::Encode)?;
        stream.write_all(&wire)?;
        stream.flush()?;

        stream.set_read_timeout(Some(options.handshake_timeout))?;
        let deadline = Instant::now() + options.handshake_timeout;
        let (head, leftover) = read_upgrade(&mut stream, deadline).map_err(|e| match e {
            Error::Io(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                Error::HandshakeTimeout {
                    after: options.handshake_timeout,
                }
            }
            other => other,
        })?;
        let negotiated = handshake
            .check_response(head.status, &head.headers)
            .map_err(Error::Handshake)?;

        let mut config = options.config;
        config.deflate = negotiated.deflate;
        let close_timeout = config.close_timeout;
        let conn = Connection::new(config, random, Instant::now());
        // Frames the server sent right behind its 101 are the first input of the connection.
        let mut buf = leftover;
        let end = buf.len();
        buf.resize(end.max(READ_CHUNK), 0);
        Ok(Self {
            stream,
            conn,
            negotiated,
            buf: buf.into_boxed_slice(),
            start: 0,
            end,
            close_timeout,
            read_timeout: Some(options.handshake_timeout),
            finished: false,
        })
    }

    /// What the server agreed to: subprotocol, extensions, permessage-deflate.
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// The stream underneath.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.conn.send_text(text)?;
        self.flush()
    }

    /// Sends a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.conn.send_binary(data)?;
        self.flush()
    }

    /// Sends a ping with up to 125 bytes of payload; the pong arrives through [`read`](Self::read).
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.conn.send_ping(payload)?;
        self.flush()
    }

    /// Starts the close handshake with `code` and `reason`. Keep calling [`read`](Self::read):
    /// messages already under way still arrive, then `Message::Close` with the server's answer.
    pub fn close(&mut self, code: u16, reason: &str) -> Result<(), Error> {
        self.conn.close(Instant::now(), CloseCode(code), reason)?;
        self.flush()
    }

    /// Blocks until the next message, ping, pong or the end of the close handshake; sends
    /// keepalive pings and pong answers meanwhile.
    ///
    /// After `Message::Close` or an error the connection is over and further calls return
    /// [`Error::AlreadyClosed`].
    pub fn read(&mut self) -> Result<Message, Error> {
        if self.finished {
            return Err(Error::AlreadyClosed);
        }
        loop {
            match self.conn.poll_event() {
                Ok(Progress::Event(event)) => {
                    if let Some(message) = self.deliver(event)? {
                        return Ok(message);
                    }
                    continue;
                }
                Ok(Progress::NeedData) => {}
                // The close handshake ends with a Close message, so this is a connection the
                // machine ended by itself without a failure.
                Ok(Progress::Finished) => {
                    self.finished = true;
                    return Err(Error::AlreadyClosed);
                }
                // Every event before the failure was handed out first.
                Err(e) => {
                    self.fail();
                    return Err(Error::Failed(e));
                }
            }
            if let Err(e) = self.read_once() {
                self.fail();
                return Err(e);
            }
            if let Err(e) = self.flush() {
                self.finished = true;
                return Err(e);
            }
        }
    }

    /// Feeds the machine up to its next event: buffered bytes first, else one read from the
    /// stream, or a timer expiry.
    fn read_once(&mut self) -> Result<(), Error> {
        if self.start < self.end {
            let used = self.conn.handle_some_bytes(&self.buf[self.start..self.end]);
            self.start += used;
            if self.conn.is_closed() {
                // Nothing after a close frame or a failure is read.
                self.start = self.end;
            }
            return Ok(());
        }
        let now = Instant::now();
        let wait = match self.conn.poll_timeout() {
            Some(deadline) if deadline <= now => {
                self.conn.handle_timeout(now);
                return Ok(());
            }
            // A zero timeout means "block forever" to the OS: wait at least a millisecond.
            Some(deadline) => Some((deadline - now).max(Duration::from_millis(1))),
            None => None,
        };
        self.set_read_timeout(wait)?;
        match self.stream.read(&mut self.buf) {
            Ok(0) => self.conn.handle_eof(),
            Ok(n) => (self.start, self.end) = (0, n),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                self.conn.handle_timeout(Instant::now());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::Io(e)),
        }
        Ok(())
    }

    /// The message for `event`, if it is one a caller sees.
    fn deliver(&mut self, event: WsEvent) -> Result<Option<Message>, Error> {
        // A pong queued by this ping goes out before the ping is handed over.
        self.flush()?;
        Ok(Some(match event {
            WsEvent::Message(klient_proto::ws::Message::Text(text)) => Message::Text(text),
            WsEvent::Message(klient_proto::ws::Message::Binary(data)) => Message::Binary(data),
            WsEvent::Ping(payload) => Message::Ping(payload),
            WsEvent::Pong(payload) => Message::Pong(payload),
            WsEvent::Closed(close) => {
                self.linger();
                self.finished = true;
                Message::Close(close.code.map(|code| CloseFrame {
                    code: code.0,
                    reason: close.reason,
                }))
            }
            _ => return Ok(None),
        }))
    }

    /// Writes everything the machine has queued.
    fn flush(&mut self) -> Result<(), Error> {
        let mut wrote = false;
        while let Some(bytes) = self.conn.poll_transmit() {
            self.stream.write_all(&bytes)?;
            wrote = true;
        }
        if wrote {
            self.stream.flush()?;
        }
        Ok(())
    }

    /// After a failure: sends the close frame the machine queued, if any, and lets the server
    /// end the connection.
    fn fail(&mut self) {
        self.finished = true;
        if self.flush().is_ok() {
            self.linger();
        }
    }

    /// Reads and drops bytes until the server ends the TCP connection or the close timeout
    /// passes. RFC 6455 §7.1.1 has the server close first; closing while its bytes are unread
    /// would make our kernel reset the connection, and the server could lose our close frame.
    fn linger(&mut self) {
        let deadline = Instant::now() + self.close_timeout;
        loop {
            let now = Instant::now();
            if now >= deadline || self.set_read_timeout(Some(deadline - now)).is_err() {
                return;
            }
            match self.stream.read(&mut self.buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if self.read_timeout != timeout {
            self.stream.set_read_timeout(timeout)?;
            self.read_timeout = timeout;
        }
        Ok(())
    }
}

/// Most of a refusal's body kept for [`Error::Refused`].
const MAX_REFUSAL_BODY: usize = 64 << 10;

/// Reads the answer to the upgrade request up to the end of its head; a refusal's body is read
/// too, until `deadline`, for [`Error::Refused`].
fn read_upgrade<S: Read>(
    stream: &mut S,
    deadline: Instant,
) -> Result<(klient_proto::http::ResponseHead, Vec<u8>), Error> {
    let mut decoder = ResponseDecoder::new(&Method::GET, Limits::default()).with_upgrade();
    let mut buf = [0; 4096];
    let mut refused: Option<(StatusCode, Vec<u8>)> = None;
    loop {
        let refusal = |refused: Option<(StatusCode, Vec<u8>)>| {
            refused.map(|(status, body)| Error::Refused {
                status,
                body: body.into(),
            })
        };
        match decoder.poll_event() {
            Ok(wire::Progress::Event(wire::HttpEvent::Upgraded { head, leftover })) => {
                return Ok((head, leftover.to_vec()));
            }
            Ok(wire::Progress::Event(wire::HttpEvent::Head(head))) => {
                refused = Some((head.status, Vec::new()));
                continue;
            }
            Ok(wire::Progress::Event(wire::HttpEvent::Data(data))) => {
                if let Some((_, body)) = &mut refused {
                    let room = MAX_REFUSAL_BODY.saturating_sub(body.len());
                    body.extend_from_slice(&data[..data.len().min(room)]);
                }
                continue;
            }
            Ok(wire::Progress::Event(_)) => continue,
            Ok(wire::Progress::NeedData) => {}
            Ok(wire::Progress::Finished) => return Err(refusal(refused).unwrap_or(Error::HandshakeEof)),
            // A refusal whose body breaks HTTP is still a refusal.
            Err(e) => return Err(refusal(refused).unwrap_or(Error::Http(e))),
        }
        if refused.is_some() && Instant::now() >= deadline {
            return Err(refusal(refused).unwrap_or(Error::HandshakeEof));
        }
        match stream.read(&mut buf) {
            Ok(0) if refused.is_none() => return Err(Error::HandshakeEof),
            // A body that runs to the end of the connection.
            Ok(0) => decoder.handle_eof(),
            Ok(n) => decoder.handle_bytes(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(refusal(refused).unwrap_or(Error::Io(e))),
        }
    }
}

#[cfg(test)]
mod tests;
