//! One connection to the API server: the runtime's TCP connection and, for https, klient-proto's
//! TLS session, which this file only feeds: bytes read go into the session, the ciphertext it
//! yields goes out.

use std::io;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use klient_proto::tls::{ConfigError, Recv, SendError, ServerName, TlsConfig, TlsError, TlsSession};

use crate::io::{Elapsed, flush, read, until, write_all};
use crate::runtime::{AsyncTcp, Runtime};

/// How many bytes one socket read asks for, at most.
const READ_SIZE: usize = 64 * 1024;

/// A byte stream to the server, plain or TLS: plaintext in, plaintext out.
#[derive(Debug)]
pub(crate) struct Stream {
    tcp: Box<dyn AsyncTcp>,
    tls: Option<Box<Tls>>,
}

/// The TLS session of a connection and the bytes in flight between it and the socket.
struct Tls {
    session: TlsSession,
    /// Ciphertext the session gave that the socket has not taken yet.
    outbox: Vec<u8>,
    /// Where socket reads land before the session takes them.
    inbox: Box<[u8]>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("handshaking", &self.session.is_handshaking())
            .finish_non_exhaustive()
    }
}

/// Why a TLS connection could not be set up.
#[derive(Debug)]
pub(crate) enum HandshakeError {
    /// The session could not be made.
    Config(ConfigError),
    /// The session failed: a certificate, an alert, the deadline, the server closing.
    Tls(TlsError),
    /// The socket failed.
    Io(io::Error),
}

impl Stream {
    /// A plain TCP connection.
    pub(crate) fn plain(tcp: Box<dyn AsyncTcp>) -> Stream {
        Stream { tcp, tls: None }
    }

    /// Runs a TLS handshake with `name` over `tcp`, so that certificate errors surface here; the
    /// session keeps its deadline and this tells it when a wait outlasted it.
    pub(crate) async fn tls<R: Runtime>(
        tcp: Box<dyn AsyncTcp>,
        config: &TlsConfig,
        name: &ServerName,
        runtime: &R,
    ) -> Result<Stream, HandshakeError> {
        let session = TlsSession::new(config, name, Instant::now()).map_err(HandshakeError::Config)?;
        let mut tcp = tcp;
        let mut tls = Box::new(Tls {
            session,
            outbox: Vec::new(),
            inbox: vec![0u8; READ_SIZE].into_boxed_slice(),
        });
        loop {
            if let Some(error) = tls.session.error().cloned() {
                // An alert the session owes the server goes out if the socket takes it now.
                let _ = until(runtime, Some(Instant::now()), tls.write_pending(tcp.as_mut())).await;
                return Err(HandshakeError::Tls(error));
            }
            let deadline = tls.session.poll_timeout();
            let step = async {
                tls.write_pending(tcp.as_mut()).await?;
                if tls.session.is_handshaking() {
                    tls.read_socket(tcp.as_mut()).await?;
                }
                Ok::<(), io::Error>(())
            };
            match until(runtime, deadline, step).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(HandshakeError::Io(e)),
                Err(Elapsed) => tls.session.handle_timeout(Instant::now()),
            }
            if !tls.session.is_handshaking() && tls.session.error().is_none() {
                return Ok(Stream { tcp, tls: Some(tls) });
            }
        }
    }

    /// Reads plaintext into `buf`; `Ok(0)` is the end of the stream (for TLS also an end without
    /// close_notify: the HTTP decoder tells a complete response from a truncated one).
    pub(crate) async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Stream { tcp, tls } = self;
        let Some(tls) = tls else {
            return read(tcp.as_mut(), buf).await;
        };
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match tls.session.recv(buf) {
                Ok(Recv::Data(n)) => return Ok(n),
                Ok(Recv::Closed | Recv::Truncated) => return Ok(0),
                Ok(Recv::Pending) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
            }
            // What the session owes the server (a key update's answer) goes out first.
            tls.write_pending(tcp.as_mut()).await?;
            tls.read_socket(tcp.as_mut()).await?;
        }
    }

    /// Writes all of `buf` and flushes it.
    pub(crate) async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        let Stream { tcp, tls } = self;
        let Some(tls) = tls else {
            write_all(tcp.as_mut(), buf).await?;
            return flush(tcp.as_mut()).await;
        };
        while !buf.is_empty() {
            tls.write_pending(tcp.as_mut()).await?;
            match tls.session.send(buf) {
                // Everything pending was written, so rustls has room on the next turn.
                Ok(n) => buf = &buf[n..],
                Err(SendError::Closed) => return Err(io::ErrorKind::BrokenPipe.into()),
                Err(_) => {
                    return Err(match tls.session.error().cloned() {
                        Some(e) => io::Error::new(io::ErrorKind::InvalidData, e),
                        None => io::ErrorKind::BrokenPipe.into(),
                    });
                }
            }
        }
        tls.write_pending(tcp.as_mut()).await?;
        flush(tcp.as_mut()).await
    }

    /// Whether the server has left the connection open while it sat idle: a read that would wait
    /// says so. The end of the stream, or bytes nobody asked for (a `408`, a close_notify), say
    /// it cannot carry another request.
    pub(crate) fn is_open(&mut self) -> bool {
        if self.tls.as_ref().is_some_and(|tls| tls.session.error().is_some()) {
            return false;
        }
        let mut cx = Context::from_waker(Waker::noop());
        let mut byte = [0u8; 1];
        matches!(self.tcp.poll_read(&mut cx, &mut byte), Poll::Pending)
    }
}

impl Tls {
    /// Writes the session's ciphertext to the socket until none is left.
    async fn write_pending(&mut self, tcp: &mut dyn AsyncTcp) -> io::Result<()> {
        loop {
            if self.outbox.is_empty() && self.session.poll_transmit(&mut self.outbox) == 0 {
                return flush(tcp).await;
            }
            write_all(tcp, &self.outbox).await?;
            self.outbox.clear();
        }
    }

    /// One socket read into the session: at most what its received queue has room for.
    async fn read_socket(&mut self, tcp: &mut dyn AsyncTcp) -> io::Result<()> {
        let room = self.session.receive_capacity().min(self.inbox.len());
        if room == 0 {
            // Not while the plaintext before is unread: `recv` drains it first.
            return Err(io::Error::other("TLS receive queue is full"));
        }
        match read(tcp, &mut self.inbox[..room]).await? {
            0 => self.session.handle_eof(),
            n => self.session.handle_received(&self.inbox[..n]),
        }
        Ok(())
    }
}
