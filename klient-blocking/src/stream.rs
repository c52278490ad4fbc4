//! One connection to the API server: TCP, and for https a klient-proto TLS session that this file
//! only feeds: bytes the socket read go into the session, the ciphertext it yields goes out.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use klient_proto::client::TransportSettings;
use klient_proto::tls::{ConfigError, Recv, SendError, ServerName, TlsConfig, TlsError, TlsSession};

/// How many bytes one socket read asks for, at most (less when the session's received queue has
/// less room).
const READ_SIZE: usize = 64 * 1024;

/// A byte stream to the server, plain or TLS. [`Read`] yields plaintext, [`Write`] takes it.
pub(crate) struct Stream {
    tcp: TcpStream,
    tls: Option<Box<Tls>>,
}

/// The TLS session of a connection and the bytes in flight between it and the socket.
struct Tls {
    session: TlsSession,
    /// Ciphertext the session gave that the socket has not taken yet, from `sent` on.
    outbox: Vec<u8>,
    sent: usize,
    /// Where socket reads land before the session takes them.
    inbox: Box<[u8]>,
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
    /// Connects to `host:port` before `deadline`, trying each resolved address in turn with the
    /// time left, and sets the connection up as `transport` says: TCP keepalive, the write
    /// timeout, no Nagle delay (requests are written whole; Nagle would only delay them).
    pub(crate) fn connect(
        host: &str,
        port: u16,
        deadline: Instant,
        transport: &TransportSettings,
    ) -> io::Result<TcpStream> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host} resolved to no address"));
        for addr in (bare, port).to_socket_addrs()? {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                last = io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connecting to {host}:{port} timed out"),
                );
                break;
            }
            match TcpStream::connect_timeout(&addr, left) {
                Ok(tcp) => {
                    tcp.set_nodelay(true)?;
                    tcp.set_write_timeout(Some(transport.write_timeout))?;
                    if let Some(idle) = transport.tcp_keepalive {
                        set_keepalive(&tcp, idle)?;
                    }
                    return Ok(tcp);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// A plain TCP connection.
    pub(crate) fn plain(tcp: TcpStream) -> Stream {
        Stream { tcp, tls: None }
    }

    /// Runs a TLS handshake with `name` over `tcp` (a direct connection or a proxy tunnel), so
    /// that certificate errors surface here. The session keeps the deadline
    /// (`config.handshake_timeout` from now); this moves the bytes and tells it the time.
    pub(crate) fn tls(
        tcp: TcpStream,
        config: &TlsConfig,
        name: &ServerName,
    ) -> Result<Stream, HandshakeError> {
        let session = TlsSession::new(config, name, Instant::now()).map_err(HandshakeError::Config)?;
        let mut stream = Stream {
            tcp,
            tls: Some(Box::new(Tls {
                session,
                outbox: Vec::new(),
                sent: 0,
                inbox: vec![0u8; READ_SIZE].into_boxed_slice(),
            })),
        };
        stream.handshake()?;
        // The caller sets the timeouts it wants for what follows.
        stream.tcp.set_read_timeout(None).map_err(HandshakeError::Io)?;
        stream.tcp.set_write_timeout(None).map_err(HandshakeError::Io)?;
        Ok(stream)
    }

    fn handshake(&mut self) -> Result<(), HandshakeError> {
        let Stream { tcp, tls: Some(tls) } = self else {
            return Ok(());
        };
        loop {
            // Each socket wait lasts at most until the session's deadline.
            let now = Instant::now();
            if let Some(deadline) = tls.session.poll_timeout() {
                match deadline
                    .checked_duration_since(now)
                    .filter(|left| !left.is_zero())
                {
                    Some(left) => {
                        tcp.set_read_timeout(Some(left)).map_err(HandshakeError::Io)?;
                        tcp.set_write_timeout(Some(left)).map_err(HandshakeError::Io)?;
                    }
                    None => tls.session.handle_timeout(now),
                }
            }
            if let Some(error) = tls.session.error().cloned() {
                // An alert the session owes the server goes out if the socket takes it now.
                let _ = tls.write_pending(tcp);
                return Err(HandshakeError::Tls(error));
            }
            match tls.write_pending(tcp) {
                Ok(()) => {}
                Err(e) if is_timeout(&e) => continue,
                Err(e) => return Err(HandshakeError::Io(e)),
            }
            if !tls.session.is_handshaking() {
                return Ok(());
            }
            match tls.read_socket(tcp) {
                Ok(()) => {}
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(HandshakeError::Io(e)),
            }
        }
    }

    /// Sets how long one read may wait; `None` waits forever (watches and followed logs).
    pub(crate) fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp.set_read_timeout(timeout)
    }

    /// Closes the write side (a TLS close_notify first), telling the server no more bytes come.
    pub(crate) fn shutdown_write(&mut self) -> io::Result<()> {
        if let Some(tls) = &mut self.tls {
            tls.session.close();
            tls.write_pending(&mut self.tcp)?;
        }
        self.tcp.shutdown(Shutdown::Write)
    }

    /// Whether the server has left the connection open while it sat idle: a read that would
    /// block says so. The end of the stream (the server closed it) or bytes nobody asked for (a
    /// server's `408` or `close_notify` before closing) say it cannot carry another request.
    pub(crate) fn is_open(&self) -> bool {
        if self.tls.as_ref().is_some_and(|tls| tls.session.error().is_some()) {
            return false;
        }
        let tcp = &self.tcp;
        if tcp.set_nonblocking(true).is_err() {
            return false;
        }
        let mut byte = [0u8; 1];
        let open = matches!(tcp.peek(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
        tcp.set_nonblocking(false).is_ok() && open
    }

    /// A second handle on the socket, for shutting it down from another thread.
    pub(crate) fn try_clone_tcp(&self) -> io::Result<TcpStream> {
        self.tcp.try_clone()
    }
}

impl Tls {
    /// Writes the session's ciphertext to the socket until none is left. On an error (a write
    /// timeout) what the socket did not take stays for the next call.
    fn write_pending(&mut self, tcp: &mut TcpStream) -> io::Result<()> {
        loop {
            if self.sent == self.outbox.len() {
                self.outbox.clear();
                self.sent = 0;
                if self.session.poll_transmit(&mut self.outbox) == 0 {
                    return Ok(());
                }
            }
            match tcp.write(&self.outbox[self.sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// One socket read into the session: at most what its received queue has room for.
    fn read_socket(&mut self, tcp: &mut TcpStream) -> io::Result<()> {
        let room = self.session.receive_capacity().min(self.inbox.len());
        if room == 0 {
            // Not while the plaintext before is unread: `recv` drains it first.
            return Err(io::Error::other("TLS receive queue is full"));
        }
        match tcp.read(&mut self.inbox[..room])? {
            0 => self.session.handle_eof(),
            n => self.session.handle_received(&self.inbox[..n]),
        }
        Ok(())
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Stream { tcp, tls } = self;
        let Some(tls) = tls else {
            return tcp.read(buf);
        };
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match tls.session.recv(buf) {
                Ok(Recv::Data(n)) => return Ok(n),
                // A server that closes without close_notify ends the stream all the same; the
                // HTTP decoder tells a complete response from a truncated one.
                Ok(Recv::Closed | Recv::Truncated) => return Ok(0),
                Ok(Recv::Pending) => {}
                Err(e) => {
                    let _ = tls.write_pending(tcp);
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                }
            }
            // What the session owes the server (a key update's answer) goes out first; a write
            // that would block does not hold up the read, the next write or flush retries it.
            match tls.write_pending(tcp) {
                Err(e) if !is_timeout(&e) && e.kind() != io::ErrorKind::Interrupted => return Err(e),
                _ => {}
            }
            tls.read_socket(tcp)?;
        }
    }
}

impl Write for Stream {
    /// Hands plaintext to the session, after the ciphertext of earlier writes has gone out (an
    /// error, such as a write timeout, means nothing of `buf` was taken), and tries to write the
    /// new ciphertext; what the socket does not take now goes out with the next write, flush or
    /// read.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Stream { tcp, tls } = self;
        let Some(tls) = tls else {
            return tcp.write(buf);
        };
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            tls.write_pending(tcp)?;
            match tls.session.send(buf) {
                // Everything pending was written, so rustls has room on the next turn.
                Ok(0) => continue,
                Ok(n) => {
                    let _ = tls.write_pending(tcp);
                    return Ok(n);
                }
                Err(SendError::Closed) => return Err(io::ErrorKind::BrokenPipe.into()),
                Err(_) => {
                    let error = tls.session.error().cloned();
                    return Err(match error {
                        Some(e) => io::Error::new(io::ErrorKind::InvalidData, e),
                        None => io::ErrorKind::BrokenPipe.into(),
                    });
                }
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(tls) = &mut self.tls {
            tls.write_pending(&mut self.tcp)?;
        }
        self.tcp.flush()
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// Probes after `idle` without traffic, then every `idle` (as Go's dialer does).
fn set_keepalive(tcp: &TcpStream, idle: Duration) -> io::Result<()> {
    let keepalive = socket2::TcpKeepalive::new().with_time(idle);
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "windows"
    ))]
    let keepalive = keepalive.with_interval(idle);
    socket2::SockRef::from(tcp).set_tcp_keepalive(&keepalive)
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use klient_proto::tls::TlsSettings;

    use super::*;

    #[test]
    fn connections_get_keepalive_and_a_write_timeout_and_share_one_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let transport = TransportSettings {
            tcp_keepalive: Some(Duration::from_secs(17)),
            write_timeout: Duration::from_secs(9),
            ..TransportSettings::default()
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        let tcp = Stream::connect("127.0.0.1", port, deadline, &transport).unwrap();
        let socket = socket2::SockRef::from(&tcp);
        assert!(socket.keepalive().unwrap());
        #[cfg(target_os = "linux")]
        assert_eq!(socket.tcp_keepalive_time().unwrap(), Duration::from_secs(17));
        assert_eq!(tcp.write_timeout().unwrap(), Some(Duration::from_secs(9)));
        assert!(tcp.nodelay().unwrap());
        // A deadline already past tries no address at all.
        let error = Stream::connect("127.0.0.1", port, Instant::now(), &transport).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }

    fn config(handshake_timeout: Duration) -> TlsConfig {
        TlsConfig::new(&TlsSettings {
            handshake_timeout,
            ..TlsSettings::default()
        })
        .unwrap()
    }

    /// A connected socket pair on loopback: (client, server).
    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    #[test]
    fn a_silent_server_fails_the_handshake_at_the_sessions_deadline() {
        let (client, _server) = pair();
        let name = ServerName::parse("localhost").unwrap();
        let start = Instant::now();
        let error = Stream::tls(client, &config(Duration::from_millis(300)), &name)
            .err()
            .expect("no handshake");
        let took = start.elapsed();
        assert!(
            matches!(error, HandshakeError::Tls(TlsError::HandshakeTimeout)),
            "{error:?}"
        );
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(5),
            "{took:?}"
        );
    }

    #[test]
    fn a_server_that_closes_fails_the_handshake() {
        let (client, mut server) = pair();
        let closer = std::thread::spawn(move || {
            // Read the ClientHello, so that closing sends a FIN rather than a reset.
            let mut hello = [0u8; 16 * 1024];
            let _ = server.read(&mut hello);
        });
        let name = ServerName::parse("127.0.0.1").unwrap();
        let error = Stream::tls(client, &config(Duration::from_secs(10)), &name)
            .err()
            .expect("no handshake");
        closer.join().unwrap();
        assert!(
            matches!(error, HandshakeError::Tls(TlsError::ClosedDuringHandshake)),
            "{error:?}"
        );
    }
}
