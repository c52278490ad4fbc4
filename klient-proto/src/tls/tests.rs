//! A client [`TlsSession`] and a rustls `ServerConnection` talking through byte buffers, with
//! the certificates in testdata/ (made by testdata/generate.sh) and a simulated clock.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::time_provider::TimeProvider;
use rustls::{AlertDescription, RootCertStore, ServerConfig, ServerConnection, SupportedProtocolVersion};

use super::*;
use crate::auth::ClientIdentity;
use crate::config::SecretBytes;

const CA: &[u8] = include_bytes!("testdata/ca.pem");
const OTHER_CA: &[u8] = include_bytes!("testdata/other-ca.pem");
const SERVER: &[u8] = include_bytes!("testdata/server.pem");
const SERVER_KEY: &[u8] = include_bytes!("testdata/server-key.pem");
const CLIENT: &[u8] = include_bytes!("testdata/client.pem");
const CLIENT_KEY: &[u8] = include_bytes!("testdata/client-key.pem");

fn settings(ca: &[u8]) -> TlsSettings {
    TlsSettings {
        ca_pem: ca.to_vec(),
        ..TlsSettings::default()
    }
}

fn identity() -> ClientIdentity {
    ClientIdentity {
        certificate: CLIENT.to_vec(),
        key: SecretBytes::new(CLIENT_KEY.to_vec()),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

struct ServerOptions {
    client_auth: bool,
    versions: &'static [&'static SupportedProtocolVersion],
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            client_auth: false,
            versions: rustls::DEFAULT_VERSIONS,
        }
    }
}

fn server(options: ServerOptions) -> ServerConnection {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(options.versions)
        .unwrap();
    let builder = if options.client_auth {
        let mut roots = RootCertStore::empty();
        roots.add(CertificateDer::from_pem_slice(CA).unwrap()).unwrap();
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let chain = vec![CertificateDer::from_pem_slice(SERVER).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY).unwrap();
    let mut config = builder.with_single_cert(chain, key).unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let mut server = ServerConnection::new(Arc::new(config)).unwrap();
    // The tests write whole payloads at once; the client side is what is bounded here.
    server.set_buffer_limit(None);
    server
}

/// The two ends and what each has received. Bytes cross in pieces of `chunk` bytes.
struct Pair {
    client: TlsSession,
    server: ServerConnection,
    start: Instant,
    chunk: usize,
    /// Whether the client's plaintext is read as it arrives (as an adapter does).
    read_client: bool,
    to_client: Vec<u8>,
    to_server: Vec<u8>,
    client_got: Vec<u8>,
    server_got: Vec<u8>,
    client_end: Option<Result<Recv, TlsError>>,
    server_error: Option<rustls::Error>,
}

impl Pair {
    fn new(config: &TlsConfig, name: &str, server: ServerConnection) -> Pair {
        let start = Instant::now();
        let client = TlsSession::new(config, &ServerName::parse(name).unwrap(), start).unwrap();
        Pair {
            client,
            server,
            start,
            chunk: usize::MAX,
            read_client: true,
            to_client: Vec::new(),
            to_server: Vec::new(),
            client_got: Vec::new(),
            server_got: Vec::new(),
            client_end: None,
            server_error: None,
        }
    }

    fn with(settings: &TlsSettings, name: &str, options: ServerOptions) -> Pair {
        Pair::new(&TlsConfig::new(settings).unwrap(), name, server(options))
    }

    /// Moves bytes both ways until neither side has anything more to say.
    fn run(&mut self) {
        loop {
            let mut progress = false;
            // Client to server.
            let _ = self.client.poll_transmit(&mut self.to_server);
            while !self.to_server.is_empty() && self.server_error.is_none() {
                let n = self.chunk.min(self.to_server.len());
                let mut piece = &self.to_server[..n];
                let taken = match self.server.read_tls(&mut piece) {
                    Ok(taken) => taken,
                    Err(_) => break, // its plaintext is full: read it below
                };
                self.to_server.drain(..taken);
                progress |= taken > 0;
                if let Err(e) = self.server.process_new_packets() {
                    self.server_error = Some(e);
                }
                self.read_server();
            }
            self.read_server();
            // Server to client.
            while self.server.wants_write() {
                self.server.write_tls(&mut self.to_client).unwrap();
            }
            while !self.to_client.is_empty() && self.client.error().is_none() {
                let n = self.chunk.min(self.to_client.len());
                let n = if self.read_client {
                    n.min(self.client.receive_capacity())
                } else {
                    n
                };
                if n == 0 {
                    break;
                }
                self.client.handle_received(&self.to_client[..n]);
                self.to_client.drain(..n);
                progress = true;
                if self.read_client {
                    self.read_client();
                }
            }
            if self.read_client {
                self.read_client();
            }
            if !progress && !self.client.wants_transmit() && !self.server.wants_write() {
                return;
            }
        }
    }

    fn read_client(&mut self) {
        let mut buf = [0u8; 5000];
        loop {
            match self.client.recv(&mut buf) {
                Ok(Recv::Data(n)) => self.client_got.extend_from_slice(&buf[..n]),
                Ok(Recv::Pending) => return,
                end => {
                    self.client_end = Some(end);
                    return;
                }
            }
        }
    }

    fn read_server(&mut self) {
        let mut buf = [0u8; 7000];
        while let Ok(n @ 1..) = self.server.reader().read(&mut buf) {
            self.server_got.extend_from_slice(&buf[..n]);
        }
    }

    /// Sends `data` from the client in pieces of `piece` bytes, moving bytes whenever the
    /// session pushes back.
    fn client_sends(&mut self, data: &[u8], piece: usize) {
        let mut sent = 0;
        while sent < data.len() {
            let end = (sent + piece).min(data.len());
            match self.client.send(&data[sent..end]).unwrap() {
                0 => self.run(),
                n => sent += n,
            }
        }
        self.run();
    }

    fn handshake(&mut self) {
        self.run();
        assert_eq!(self.client.error(), None);
        assert!(!self.client.is_handshaking());
        assert!(!self.server.is_handshaking());
    }

    fn client_error(&self) -> Option<TlsError> {
        self.client.error().cloned()
    }
}

/// Bytes that are not all alike, so a reordering or a lost piece shows.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        })
        .collect()
}

#[test]
fn handshake_and_data_both_ways_in_odd_slice_sizes() {
    for (chunk, piece) in [
        (1, 1),
        (7, 13),
        (333, 1000),
        (4096, 65_537),
        (usize::MAX, 300_000),
    ] {
        let mut pair = Pair::with(&settings(CA), "localhost", ServerOptions::default());
        pair.chunk = chunk;
        assert!(pair.client.is_handshaking());
        // Plaintext written before the handshake completes goes out once it does.
        let early = b"GET / HTTP/1.1\r\n\r\n";
        assert_eq!(pair.client.send(early).unwrap(), early.len());
        pair.handshake();
        assert_eq!(
            pair.client.alpn_protocol(),
            Some(&b"http/1.1"[..]),
            "chunk {chunk}"
        );
        assert_eq!(
            pair.client.poll_timeout(),
            None,
            "no deadline after the handshake"
        );

        // Byte by byte, less data: each piece goes through rustls on its own.
        let scale = if chunk < 100 { 10 } else { 1 };
        let up = pattern(200_000 / scale, 1);
        pair.client_sends(&up, piece);
        let mut expected = early.to_vec();
        expected.extend_from_slice(&up);
        assert_eq!(pair.server_got.len(), expected.len(), "chunk {chunk}");
        assert!(pair.server_got == expected, "client to server, chunk {chunk}");

        let down = pattern(300_000 / scale, 2);
        for part in down.chunks(piece.min(70_000)) {
            pair.server.writer().write_all(part).unwrap();
            pair.run();
        }
        assert_eq!(pair.client_got.len(), down.len(), "chunk {chunk}");
        assert!(pair.client_got == down, "server to client, chunk {chunk}");
        assert_eq!(pair.client_end, None);
        assert!(pair.client.receive_capacity() > 0);
    }
}

#[test]
fn tls12_works_too() {
    static TLS12_ONLY: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS12];
    let options = ServerOptions {
        versions: &TLS12_ONLY,
        ..ServerOptions::default()
    };
    let mut pair = Pair::with(&settings(CA), "localhost", options);
    pair.chunk = 100;
    pair.handshake();
    assert_eq!(pair.client.alpn_protocol(), Some(&b"http/1.1"[..]));
    pair.client_sends(b"ping", 4);
    pair.server.writer().write_all(b"pong").unwrap();
    pair.run();
    assert_eq!(pair.server_got, b"ping");
    assert_eq!(pair.client_got, b"pong");
}

#[test]
fn a_certificate_from_another_ca_is_refused_and_the_server_told() {
    let mut pair = Pair::with(&settings(OTHER_CA), "localhost", ServerOptions::default());
    pair.run();
    let error = pair.client_error().expect("the handshake fails");
    assert_eq!(error, TlsError::Certificate(CertificateError::UnknownIssuer));
    assert!(error.is_certificate_error());
    assert!(!pair.client.is_handshaking());
    assert_eq!(pair.client.poll_timeout(), None);
    assert_eq!(
        pair.client_end,
        Some(Err(error.clone())),
        "recv returns the failure"
    );
    // The alert went out before the session went quiet.
    assert_eq!(
        pair.server_error,
        Some(rustls::Error::AlertReceived(AlertDescription::UnknownCA))
    );
    assert_eq!(pair.client.send(b"x"), Err(SendError::Failed));
    assert!(
        error
            .to_string()
            .contains("not issued by a trusted certificate authority"),
        "{error}"
    );
}

#[test]
fn no_ca_trusts_the_public_roots_only() {
    let mut pair = Pair::with(&settings(b""), "localhost", ServerOptions::default());
    pair.run();
    assert_eq!(
        pair.client_error(),
        Some(TlsError::Certificate(CertificateError::UnknownIssuer))
    );
}

#[test]
fn a_name_the_certificate_does_not_carry_is_refused() {
    for name in ["not-the-server.example", "10.0.0.1", "[::2]"] {
        let mut pair = Pair::with(&settings(CA), name, ServerOptions::default());
        pair.run();
        let Some(TlsError::Certificate(CertificateError::NotValidForName { expected, presented })) =
            pair.client_error()
        else {
            panic!("{name}: {:?}", pair.client_error());
        };
        assert_eq!(expected, name.trim_matches(['[', ']']));
        assert!(presented.iter().any(|p| p.contains("localhost")), "{presented:?}");
    }
}

#[test]
fn ip_addresses_match_the_certificates_ip_names() {
    for name in ["127.0.0.1", "::1", "[::1]", "localhost", "kubernetes.default.svc"] {
        let server_name = ServerName::parse(name).unwrap();
        let is_ip = name.contains(':') || name.starts_with("127.");
        assert_eq!(server_name.is_ip_address(), is_ip, "{name}");
        let mut pair = Pair::with(&settings(CA), name, ServerOptions::default());
        pair.handshake();
    }
}

#[test]
fn client_certificate_authentication() {
    let with_identity = TlsSettings {
        identity: Some(identity()),
        ..settings(CA)
    };
    let client_auth = || ServerOptions {
        client_auth: true,
        ..ServerOptions::default()
    };
    let mut pair = Pair::with(&with_identity, "localhost", client_auth());
    pair.handshake();
    pair.client_sends(b"hello", 5);
    assert_eq!(pair.server_got, b"hello");
    let presented = pair
        .server
        .peer_certificates()
        .expect("the client presented a certificate");
    assert_eq!(
        presented[0].as_ref(),
        CertificateDer::from_pem_slice(CLIENT).unwrap().as_ref()
    );

    // Without one, the server refuses the session. Under TLS 1.3 the client's side of the
    // handshake has completed by then: the refusal arrives as the first thing read.
    let mut pair = Pair::with(&settings(CA), "localhost", client_auth());
    pair.run();
    let error = pair.client_error().expect("refused");
    assert_eq!(
        error,
        TlsError::AlertReceived(AlertDescription::CertificateRequired)
    );
    assert!(error.refused_client_certificate());
    assert!(!error.is_certificate_error());
    assert_eq!(pair.client_end, Some(Err(error)));
}

#[derive(Debug)]
struct FixedTime(UnixTime);

impl TimeProvider for FixedTime {
    fn current_time(&self) -> Option<UnixTime> {
        Some(self.0)
    }
}

#[test]
fn certificates_outside_their_validity_are_refused() {
    let year = |y: u64| UnixTime::since_unix_epoch(Duration::from_secs((y - 1970) * 31_557_600));
    for (at, expected) in [
        (year(2200), CertificateError::Expired),
        (year(2000), CertificateError::NotValidYet),
    ] {
        let config = TlsConfig::with_time_provider(&settings(CA), Arc::new(FixedTime(at))).unwrap();
        let mut pair = Pair::new(&config, "localhost", server(ServerOptions::default()));
        pair.run();
        assert_eq!(pair.client_error(), Some(TlsError::Certificate(expected)));
    }
}

#[test]
fn the_handshake_has_a_deadline() {
    let mut pair = Pair::with(&settings(CA), "localhost", ServerOptions::default());
    let start = pair.start;
    assert_eq!(
        pair.client.poll_timeout(),
        Some(start + DEFAULT_HANDSHAKE_TIMEOUT)
    );
    pair.client.handle_timeout(start + Duration::from_secs(9));
    assert!(pair.client.is_handshaking());
    assert_eq!(pair.client.error(), None);
    // The server never answers.
    pair.client.handle_timeout(start + DEFAULT_HANDSHAKE_TIMEOUT);
    assert_eq!(pair.client.error(), Some(&TlsError::HandshakeTimeout));
    assert!(!pair.client.is_handshaking());
    assert_eq!(pair.client.poll_timeout(), None);
    assert_eq!(pair.client.recv(&mut [0; 16]), Err(TlsError::HandshakeTimeout));

    // A handshake that completed has no deadline left.
    let mut config = TlsConfig::new(&settings(CA)).unwrap();
    config.handshake_timeout = Duration::from_millis(5);
    let mut pair = Pair::new(&config, "localhost", server(ServerOptions::default()));
    pair.handshake();
    pair.client.handle_timeout(pair.start + Duration::from_secs(3600));
    assert_eq!(pair.client.error(), None);
}

#[test]
fn close_notify_then_the_end_is_a_clean_close() {
    let mut pair = Pair::with(&settings(CA), "localhost", ServerOptions::default());
    pair.handshake();
    pair.server.writer().write_all(b"last words").unwrap();
    pair.server.send_close_notify();
    pair.run();
    assert_eq!(pair.client_got, b"last words");
    assert_eq!(pair.client_end, Some(Ok(Recv::Closed)));
    // The connection's end after it changes nothing.
    pair.client.handle_eof();
    assert_eq!(pair.client.recv(&mut [0; 16]), Ok(Recv::Closed));
    // Bytes after close_notify are ignored, not queued.
    pair.client.handle_received(&[0x17; 100]);
    assert_eq!(pair.client.recv(&mut [0; 16]), Ok(Recv::Closed));
    assert_eq!(pair.client.error(), None);
}

#[test]
fn the_end_without_close_notify_is_truncated() {
    let mut pair = Pair::with(&settings(CA), "localhost", ServerOptions::default());
    pair.handshake();
    pair.server.writer().write_all(b"partial").unwrap();
    pair.read_client = false;
    pair.run();
    pair.client.handle_eof();
    let mut buf = [0u8; 64];
    assert_eq!(
        pair.client.recv(&mut buf),
        Ok(Recv::Data(7)),
        "the plaintext first"
    );
    assert_eq!(&buf[..7], b"partial");
    assert_eq!(pair.client.recv(&mut buf), Ok(Recv::Truncated));
    assert_eq!(pair.client.recv(&mut buf), Ok(Recv::Truncated));
    assert_eq!(
        pair.client.error(),
        None,
        "truncation is for the protocol above to judge"
    );

    // The end reaches rustls only after the queued records before it.
    let mut pair = Pair::with(&settings(CA), "localhost", ServerOptions::default());
    pair.handshake();
    let down = pattern(80_000, 5); // rustls takes about 35 KB, the rest waits in the queue
    pair.server.writer().write_all(&down).unwrap();
    pair.read_client = false;
    pair.run();
    pair.client.handle_eof();
    pair.read_client();
    assert!(pair.client_got == down);
    assert_eq!(pair.client_end, Some(Ok(Recv::Truncated)));
}

#[test]
fn the_end_during_the_handshake_fails_it() {
    let mut pair = Pair::with(&settings(CA), "localhost", ServerOptions::default());
    let _ = pair.client.poll_transmit(&mut Vec::new());
    pair.client.handle_eof();
    assert_eq!(pair.client.error(), Some(&TlsError::ClosedDuringHandshake));
    assert_eq!(
        pair.client.recv(&mut [0; 8]),
        Err(TlsError::ClosedDuringHandshake)
    );
}

#[test]
fn plaintext_before_a_failure_is_delivered_first_and_the_alert_queued() {
    let mut pair = Pair::with(&settings(CA), "localhost", ServerOptions::default());
    pair.handshake();
    pair.server.writer().write_all(b"complete record").unwrap();
    let mut wire = Vec::new();
    while pair.server.wants_write() {
        pair.server.write_tls(&mut wire).unwrap();
    }
    // An application-data record that does not decrypt, in the same read.
    wire.extend_from_slice(&[0x17, 0x03, 0x03, 0x00, 0x20]);
    wire.extend_from_slice(&[0xAA; 0x20]);
    pair.client.handle_received(&wire);
    let mut buf = [0u8; 64];
    assert_eq!(pair.client.recv(&mut buf), Ok(Recv::Data(15)));
    assert_eq!(&buf[..15], b"complete record");
    let error = pair.client.recv(&mut buf).unwrap_err();
    assert_eq!(error, TlsError::Protocol(rustls::Error::DecryptError));
    assert_eq!(pair.client.recv(&mut buf), Err(error), "and on every call after");
    assert!(
        pair.client.poll_transmit(&mut Vec::new()) > 0,
        "the bad_record_mac alert"
    );
    pair.client.handle_received(b"ignored now");
    assert_eq!(pair.client.send(b"x"), Err(SendError::Failed));
}

#[test]
fn the_received_queue_is_bounded() {
    let limit = 24 * 1024;
    let small = TlsSettings {
        max_received_queue: limit,
        ..settings(CA)
    };
    let down = pattern(200_000, 3);

    // An adapter that reads at most `receive_capacity` bytes never exceeds it, however fast the
    // server writes.
    let mut pair = Pair::with(&small, "localhost", ServerOptions::default());
    pair.chunk = 50_000;
    pair.handshake();
    pair.server.writer().write_all(&down).unwrap();
    pair.run();
    assert!(pair.client_got == down);
    assert_eq!(pair.client.error(), None);

    // One that hands in more while nobody reads the plaintext fails the session, after the
    // plaintext that did fit.
    let mut pair = Pair::with(&small, "localhost", ServerOptions::default());
    pair.handshake();
    pair.server.writer().write_all(&down).unwrap();
    let mut wire = Vec::new();
    while pair.server.wants_write() {
        pair.server.write_tls(&mut wire).unwrap();
    }
    // rustls takes two 16 KiB records and a little; the rest of 48 KiB waits in the queue.
    let first = 48 * 1024;
    pair.client.handle_received(&wire[..first]);
    assert_eq!(pair.client.error(), None, "rustls took some, the rest fits");
    assert!(pair.client.receive_capacity() < limit);
    pair.client.handle_received(&wire[first..]);
    assert_eq!(pair.client.error(), Some(&TlsError::ReceiveQueueFull { limit }));
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let error = loop {
        match pair.client.recv(&mut buf) {
            Ok(Recv::Data(n)) => got.extend_from_slice(&buf[..n]),
            Ok(other) => panic!("{other:?}"),
            Err(e) => break e,
        }
    };
    assert_eq!(error, TlsError::ReceiveQueueFull { limit });
    assert!(!got.is_empty() && got.len() < down.len());
    assert!(down.starts_with(&got));
}

#[test]
fn send_pushes_back_until_the_ciphertext_is_taken() {
    let mut pair = Pair::with(&settings(CA), "localhost", ServerOptions::default());
    pair.handshake();
    let data = pattern(1 << 20, 4);
    let mut accepted = 0;
    while let Ok(n @ 1..) = pair.client.send(&data[accepted..]) {
        accepted += n;
    }
    assert!((60_000..200_000).contains(&accepted), "{accepted}");
    assert!(pair.client.wants_transmit());
    let mut out = Vec::new();
    assert!(pair.client.poll_transmit(&mut out) > accepted);
    assert!(pair.client.send(&data[accepted..]).unwrap() > 0, "room again");
}

#[test]
fn close_sends_close_notify() {
    let mut pair = Pair::with(&settings(CA), "localhost", ServerOptions::default());
    pair.handshake();
    pair.client_sends(b"bye", 3);
    pair.client.close();
    assert_eq!(pair.client.send(b"more"), Err(SendError::Closed));
    pair.run();
    assert_eq!(pair.server_got, b"bye");
    assert!(
        pair.server.reader().read(&mut [0; 8]).unwrap() == 0,
        "a clean close on the server"
    );
    // The server can still answer a half-closed session.
    pair.server.writer().write_all(b"ok").unwrap();
    pair.server.send_close_notify();
    pair.run();
    assert_eq!(pair.client_got, b"ok");
    assert_eq!(pair.client_end, Some(Ok(Recv::Closed)));
}

#[test]
fn insecure_skip_verify_accepts_any_certificate() {
    let insecure = TlsSettings {
        insecure_skip_verify: true,
        ..settings(OTHER_CA)
    };
    let mut pair = Pair::with(&insecure, "not-the-server.example", ServerOptions::default());
    pair.handshake();
}

#[test]
fn configuration_errors_are_typed_and_never_show_the_key() {
    let config = |settings: TlsSettings| TlsConfig::new(&settings).map(|_| ()).unwrap_err();
    assert_eq!(
        config(settings(b"not a certificate")),
        ConfigError::NoCaCertificate
    );
    let truncated = &CA[..CA.len() - 30];
    assert_eq!(
        config(settings(truncated)),
        ConfigError::CaPem(PemError::MissingSectionEnd)
    );
    let mangled = String::from_utf8(CA.to_vec()).unwrap().replace("MII", "M!I");
    assert!(matches!(
        config(settings(mangled.as_bytes())),
        ConfigError::CaPem(_)
    ));

    let with_identity = |certificate: &[u8], key: &[u8]| TlsSettings {
        identity: Some(ClientIdentity {
            certificate: certificate.to_vec(),
            key: SecretBytes::new(key.to_vec()),
        }),
        ..settings(CA)
    };
    assert_eq!(
        config(with_identity(b"", CLIENT_KEY)),
        ConfigError::NoClientCertificate
    );
    // A key whose PEM is broken: the error says so without a byte of it.
    let secret = "-----BEGIN EC PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw!!\n-----END EC PRIVATE KEY-----\n";
    let error = config(with_identity(CLIENT, secret.as_bytes()));
    assert_eq!(error, ConfigError::InvalidClientKey);
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
    }
    assert_eq!(config(with_identity(CLIENT, b"")), ConfigError::InvalidClientKey);
    assert!(matches!(
        config(with_identity(CLIENT, SERVER_KEY)),
        ConfigError::ClientKeyMismatch(_)
    ));

    let debug = format!("{:?}", with_identity(CLIENT, CLIENT_KEY));
    assert!(
        !debug.contains("PRIVATE") && debug.contains("<redacted>"),
        "{debug}"
    );

    assert_eq!(
        ServerName::parse("not a host!").unwrap_err(),
        ConfigError::InvalidServerName {
            name: "not a host!".into()
        }
    );
    assert_eq!(ServerName::parse("[::1]").unwrap().to_string(), "::1");
}

#[test]
fn a_plain_http_answer_is_a_protocol_error() {
    // What a client that speaks TLS to a plain-HTTP port gets back.
    let mut pair = Pair::with(&settings(CA), "localhost", ServerOptions::default());
    let _ = pair.client.poll_transmit(&mut Vec::new());
    pair.client
        .handle_received(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    let error = pair.client.error().cloned().expect("not TLS");
    assert!(matches!(error, TlsError::Protocol(_)), "{error:?}");
    assert!(!error.is_certificate_error());
    assert_eq!(pair.client.recv(&mut [0; 8]), Err(error));
}
