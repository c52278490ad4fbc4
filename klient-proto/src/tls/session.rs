//! One TLS client session as a sans-IO machine over rustls' `ClientConnection`.

use std::io::{self, Read as _, Write as _};
use std::time::Instant;

use rustls::ClientConnection;

use super::queue::ReceiveQueue;
use super::{ConfigError, SendError, ServerName, TlsConfig, TlsError};

/// What [`TlsSession::recv`] found.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recv {
    /// This many bytes of plaintext were copied into the buffer.
    Data(usize),
    /// No plaintext yet: the session needs more bytes from the server
    /// ([`handle_received`](TlsSession::handle_received) or
    /// [`handle_eof`](TlsSession::handle_eof)).
    Pending,
    /// The server ended the session with `close_notify` and every byte before it was read: a
    /// clean end.
    Closed,
    /// The connection ended without the server's `close_notify`, after every byte that arrived
    /// was read. Whether that lost anything only the protocol above can tell (an HTTP response
    /// whose length was known is complete; a body delimited by the close is not).
    Truncated,
}

/// Whether the connection's end reached the session, and rustls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Eof {
    NotSeen,
    /// [`TlsSession::handle_eof`] was called; rustls learns of it once the queue is empty.
    Pending,
    Delivered,
}

/// A TLS client session that takes and yields bytes: the adapter moves ciphertext between it and
/// a TCP connection (or a proxy tunnel), the protocol above reads and writes plaintext. One path
/// for every runtime, proxy `CONNECT` tunnel and upgraded connection.
///
/// Methods come in the four families of every klient-proto machine:
///
/// - getters: [`is_handshaking`](Self::is_handshaking), [`error`](Self::error),
///   [`receive_capacity`](Self::receive_capacity), [`wants_transmit`](Self::wants_transmit),
///   [`alpn_protocol`](Self::alpn_protocol);
/// - what arrived: [`handle_received`](Self::handle_received) (ciphertext from the server),
///   [`handle_eof`](Self::handle_eof), [`handle_timeout`](Self::handle_timeout);
/// - what the application wants: [`send`](Self::send) plaintext, [`close`](Self::close);
/// - what to do next: [`recv`](Self::recv) plaintext, [`poll_transmit`](Self::poll_transmit)
///   ciphertext to write, [`poll_timeout`](Self::poll_timeout) when to call `handle_timeout`.
///
/// After anything was handed in or asked for, drain in this order: `recv` until it returns
/// [`Recv::Pending`] (or the end), then `poll_transmit` and write what it gave, then arm a timer
/// for `poll_timeout`. A failure is final and is the last thing `recv` returns, after the
/// plaintext that arrived before it; the alert TLS owes the server is then in `poll_transmit`.
///
/// Memory stays bounded: received ciphertext that rustls cannot take until plaintext is read
/// waits in a queue of at most [`TlsConfig::max_received_queue`] bytes (an adapter that reads at
/// most [`receive_capacity`](Self::receive_capacity) bytes from the socket never exceeds it;
/// one that does fails the session with [`TlsError::ReceiveQueueFull`]), and `send` takes no
/// more plaintext while 64 KiB of ciphertext wait for `poll_transmit`.
///
/// rustls' buffered [`ClientConnection`] is the engine rather than its
/// `UnbufferedClientConnection`: the buffered one already bounds both directions, tells a
/// `close_notify` from a bare end of the connection, queues handshake data written early, and is
/// the path rustls' own stream types exercise; the unbuffered one would save a copy of each
/// record at the cost of re-implementing that record bookkeeping here.
pub struct TlsSession {
    conn: ClientConnection,
    queue: ReceiveQueue,
    eof: Eof,
    /// When the handshake must have completed.
    deadline: Option<Instant>,
    error: Option<TlsError>,
    /// The server's close_notify arrived.
    peer_closed: bool,
    /// [`close`](Self::close) was called.
    closed: bool,
}

impl std::fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSession")
            .field("handshaking", &self.conn.is_handshaking())
            .field("queued", &self.queue.len())
            .field("eof", &self.eof)
            .field("error", &self.error)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl TlsSession {
    /// Starts a session with the server `name`; the handshake must complete by
    /// `now + config.handshake_timeout`. The ClientHello is ready in
    /// [`poll_transmit`](Self::poll_transmit).
    pub fn new(config: &TlsConfig, name: &ServerName, now: Instant) -> Result<TlsSession, ConfigError> {
        let mut conn = ClientConnection::new(config.rustls().clone(), name.as_rustls().clone())
            .map_err(ConfigError::Rustls)?;
        // rustls' default, said here because `send`'s back-pressure is documented by it.
        conn.set_buffer_limit(Some(SEND_BUFFER_LIMIT));
        Ok(TlsSession {
            conn,
            queue: ReceiveQueue::new(config.max_received_queue),
            eof: Eof::NotSeen,
            deadline: now.checked_add(config.handshake_timeout),
            error: None,
            peer_closed: false,
            closed: false,
        })
    }

    /// Whether the handshake is still under way: `false` once it completed, and once the session
    /// failed ([`error`](Self::error)).
    pub fn is_handshaking(&self) -> bool {
        self.error.is_none() && self.conn.is_handshaking()
    }

    /// Why the session failed, once it has. [`recv`](Self::recv) returns the same error after
    /// the plaintext that arrived before the failure.
    pub fn error(&self) -> Option<&TlsError> {
        self.error.as_ref()
    }

    /// How many bytes [`handle_received`](Self::handle_received) can take now without failing
    /// with [`TlsError::ReceiveQueueFull`]: read at most this much from the socket. Zero means
    /// the plaintext received must be read ([`recv`](Self::recv)) first.
    pub fn receive_capacity(&self) -> usize {
        self.queue.capacity()
    }

    /// Whether [`poll_transmit`](Self::poll_transmit) has bytes to give.
    pub fn wants_transmit(&self) -> bool {
        self.conn.wants_write()
    }

    /// The application protocol the server chose with ALPN (`http/1.1`), once the handshake
    /// completed, when it chose one.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    /// Takes ciphertext received from the server. What rustls cannot take yet (the plaintext
    /// before it has not been read) is queued. Ignored once the session failed or the end of the
    /// connection was handed in.
    pub fn handle_received(&mut self, ciphertext: &[u8]) {
        if self.error.is_some() || self.eof != Eof::NotSeen {
            return;
        }
        if !self.queue.is_empty() {
            self.refill();
        }
        let mut input = ciphertext;
        if self.queue.is_empty() {
            // The common case: nothing waits, so rustls reads straight from the caller's bytes.
            let len = input.len();
            self.feed_from(Source::Slice(&mut input), len);
        }
        if self.peer_closed {
            // "Any data received after a closure alert has been received MUST be ignored"
            // (RFC 8446 §6.1).
            self.queue.clear();
            input = &[];
        }
        if !input.is_empty() && self.error.is_none() && self.queue.push(input).is_err() {
            self.fail(TlsError::ReceiveQueueFull {
                limit: self.queue.limit(),
            });
        }
        self.check_end();
    }

    /// The server ended the connection (a TCP end, or the end of a proxy tunnel). Whether it sent
    /// `close_notify` first decides between [`Recv::Closed`] and [`Recv::Truncated`]; during the
    /// handshake it fails the session with [`TlsError::ClosedDuringHandshake`].
    pub fn handle_eof(&mut self) {
        if self.eof == Eof::NotSeen {
            self.eof = Eof::Pending;
        }
        self.refill();
    }

    /// The time is `now`: past the handshake's deadline, an unfinished handshake fails with
    /// [`TlsError::HandshakeTimeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_handshaking() && self.deadline.is_some_and(|deadline| deadline <= now) {
            self.fail(TlsError::HandshakeTimeout);
        }
    }

    /// Hands plaintext to the session and returns how much it took: everything, or less (even
    /// zero) while 64 KiB of ciphertext wait for [`poll_transmit`](Self::poll_transmit).
    /// Plaintext sent during the handshake goes out once it completes.
    pub fn send(&mut self, plaintext: &[u8]) -> Result<usize, SendError> {
        if self.closed {
            return Err(SendError::Closed);
        }
        if self.error.is_some() {
            return Err(SendError::Failed);
        }
        self.conn.writer().write(plaintext).map_err(|_| SendError::Failed)
    }

    /// Ends the session from our side: queues `close_notify` for
    /// [`poll_transmit`](Self::poll_transmit), after which nothing more may be sent. Plaintext
    /// from the server can still arrive until it closes too.
    pub fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            self.conn.send_close_notify();
        }
    }

    /// Copies received plaintext into `buf`, or says why there is none. A failure comes last,
    /// after every byte of plaintext that arrived before it, and is then returned on every call.
    /// An empty `buf` returns `Data(0)`.
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<Recv, TlsError> {
        if buf.is_empty() {
            return Ok(Recv::Data(0));
        }
        loop {
            match self.conn.reader().read(buf) {
                Ok(0) => return Ok(Recv::Closed),
                Ok(n) => return Ok(Recv::Data(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // rustls may be waiting only for its plaintext to be read: give it what the
                    // queue holds (and the end of the connection behind it), then look again.
                    if self.refill() {
                        continue;
                    }
                    return match &self.error {
                        Some(error) => Err(error.clone()),
                        None => Ok(Recv::Pending),
                    };
                }
                Err(_) => {
                    // UnexpectedEof: the end of the connection came without close_notify.
                    return match &self.error {
                        Some(error) => Err(error.clone()),
                        None => Ok(Recv::Truncated),
                    };
                }
            }
        }
    }

    /// Appends the ciphertext to write to the server to `out` (handshake messages, encrypted
    /// plaintext, alerts, `close_notify`) and returns how many bytes it appended.
    #[must_use]
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> usize {
        let before = out.len();
        while self.conn.wants_write() {
            match self.conn.write_tls(out) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        out.len() - before
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called: the handshake's deadline,
    /// while it is under way.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_handshaking() {
            self.deadline
        } else {
            None
        }
    }

    /// Moves queued ciphertext, then the end of the connection, into rustls as far as it takes
    /// them. Returns whether anything changed.
    fn refill(&mut self) -> bool {
        let mut progress = false;
        if self.error.is_none() && !self.queue.is_empty() {
            let len = self.queue.len();
            progress = self.feed_from(Source::Queue, len) > 0;
            if self.peer_closed {
                self.queue.clear();
            }
        }
        if self.error.is_none() && self.queue.is_empty() && self.eof == Eof::Pending {
            // rustls takes the end only when it would take bytes (its plaintext is not full).
            if let Ok(0) = self.conn.read_tls(&mut io::empty()) {
                self.eof = Eof::Delivered;
                progress = true;
            }
        }
        progress |= self.check_end();
        progress
    }

    /// Lets rustls read up to `len` bytes from `source`, processing the records as they
    /// complete. Stops when rustls wants its plaintext read first or after a close_notify, and
    /// on a failure. Returns how many bytes rustls took.
    fn feed_from(&mut self, mut source: Source<'_, '_>, len: usize) -> usize {
        let mut taken = 0;
        while taken < len && self.error.is_none() {
            let read = match &mut source {
                Source::Slice(slice) => self.conn.read_tls(slice),
                Source::Queue => self.conn.read_tls(&mut self.queue.reader()),
            };
            match read {
                // Only after close_notify: rustls takes nothing more.
                Ok(0) => break,
                Ok(n) => {
                    taken += n;
                    match self.conn.process_new_packets() {
                        Ok(state) => self.peer_closed |= state.peer_has_closed(),
                        Err(e) => self.fail(TlsError::from_rustls(e)),
                    }
                }
                // "received plaintext buffer full": the back-pressure that fills the queue.
                Err(e) if e.kind() == io::ErrorKind::Other => break,
                // A handshake message larger than rustls accepts.
                Err(e) => self.fail(TlsError::Protocol(rustls::Error::General(e.to_string()))),
            }
        }
        taken
    }

    /// A connection that ended before its handshake completed fails. Returns whether it did now.
    fn check_end(&mut self) -> bool {
        let ended = self.eof == Eof::Delivered || self.peer_closed;
        if ended && self.is_handshaking() {
            self.fail(TlsError::ClosedDuringHandshake);
            return true;
        }
        false
    }

    fn fail(&mut self, error: TlsError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }
}

/// Where [`TlsSession::feed_from`] reads: the caller's bytes (advanced as rustls reads them), or
/// the queue.
enum Source<'s, 'b> {
    Slice(&'s mut &'b [u8]),
    Queue,
}

/// How much ciphertext may wait for `poll_transmit` before `send` takes no more.
const SEND_BUFFER_LIMIT: usize = 64 * 1024;
