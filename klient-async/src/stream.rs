//! One connection to the API server: the runtime's TCP connection and, for https, klient-proto's
//! TLS session, which this file only feeds: bytes read go into the session, the ciphertext it
//! yields goes out.

use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll, Waker, ready};
use std::time::Instant;

use klient_proto::tls::{ConfigError, Recv, SendError, ServerName, TlsConfig, TlsError, TlsSession};

use crate::io::{Elapsed, until};
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
    /// Ciphertext the session gave that the socket has not taken yet, from `sent` on.
    outbox: Vec<u8>,
    sent: usize,
    /// Whether close_notify was queued.
    closing: bool,
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
            sent: 0,
            closing: false,
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
    pub(crate) fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let Stream { tcp, tls } = self;
        let Some(tls) = tls else {
            return tcp.poll_read(cx, buf);
        };
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            match tls.session.recv(buf) {
                Ok(Recv::Data(n)) => return Poll::Ready(Ok(n)),
                Ok(Recv::Closed | Recv::Truncated) => return Poll::Ready(Ok(0)),
                Ok(Recv::Pending) => {}
                Err(e) => return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e))),
            }
            // What the session owes the server (a key update's answer) goes out as the socket
            // takes it, without holding reading up.
            if let Poll::Ready(Err(e)) = tls.poll_write_pending(tcp.as_mut(), cx) {
                return Poll::Ready(Err(e));
            }
            ready!(tls.poll_read_socket(tcp.as_mut(), cx))?;
        }
    }

    /// Writes some of `buf`, returning how much was taken. For TLS, new plaintext is taken only
    /// once the ciphertext before it is out: the socket's pace is the writer's.
    pub(crate) fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let Stream { tcp, tls } = self;
        let Some(tls) = tls else {
            return tcp.poll_write(cx, buf);
        };
        ready!(tls.poll_write_pending(tcp.as_mut(), cx))?;
        match tls.session.send(buf) {
            Ok(n) => {
                // Started now; the rest goes out on the next write or flush.
                if let Poll::Ready(Err(e)) = tls.poll_write_pending(tcp.as_mut(), cx) {
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(n))
            }
            Err(SendError::Closed) => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
            Err(_) => Poll::Ready(Err(match tls.session.error().cloned() {
                Some(e) => io::Error::new(io::ErrorKind::InvalidData, e),
                None => io::ErrorKind::BrokenPipe.into(),
            })),
        }
    }

    /// Writes out everything taken so far.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Stream { tcp, tls } = self;
        match tls {
            Some(tls) => tls.poll_write_pending(tcp.as_mut(), cx),
            None => tcp.poll_flush(cx),
        }
    }

    /// Closes the write side (for TLS after its close_notify): the server reads the end.
    pub(crate) fn poll_shutdown_write(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Stream { tcp, tls } = self;
        if let Some(tls) = tls {
            if !tls.closing {
                tls.session.close();
                tls.closing = true;
            }
            ready!(tls.poll_write_pending(tcp.as_mut(), cx))?;
        }
        tcp.poll_shutdown(cx)
    }

    /// Reads plaintext into `buf` (see [`Stream::poll_read`]).
    pub(crate) async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read(cx, buf)).await
    }

    /// Writes all of `buf` and flushes it.
    pub(crate) async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match poll_fn(|cx| self.poll_write(cx, buf)).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        poll_fn(|cx| self.poll_flush(cx)).await
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
    /// Writes the session's ciphertext to the socket until none is left, then flushes.
    fn poll_write_pending(&mut self, tcp: &mut dyn AsyncTcp, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.sent == self.outbox.len() {
                self.outbox.clear();
                self.sent = 0;
                if self.session.poll_transmit(&mut self.outbox) == 0 {
                    return tcp.poll_flush(cx);
                }
            }
            match ready!(tcp.poll_write(cx, &self.outbox[self.sent..]))? {
                0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                n => self.sent += n,
            }
        }
    }

    /// One socket read into the session: at most what its received queue has room for.
    fn poll_read_socket(&mut self, tcp: &mut dyn AsyncTcp, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let room = self.session.receive_capacity().min(self.inbox.len());
        if room == 0 {
            // Not while the plaintext before is unread: `recv` drains it first.
            return Poll::Ready(Err(io::Error::other("TLS receive queue is full")));
        }
        match ready!(tcp.poll_read(cx, &mut self.inbox[..room]))? {
            0 => self.session.handle_eof(),
            n => self.session.handle_received(&self.inbox[..n]),
        }
        Poll::Ready(Ok(()))
    }

    /// [`Tls::poll_write_pending`] as a future.
    async fn write_pending(&mut self, tcp: &mut dyn AsyncTcp) -> io::Result<()> {
        poll_fn(|cx| self.poll_write_pending(tcp, cx)).await
    }

    /// [`Tls::poll_read_socket`] as a future.
    async fn read_socket(&mut self, tcp: &mut dyn AsyncTcp) -> io::Result<()> {
        poll_fn(|cx| self.poll_read_socket(tcp, cx)).await
    }
}
