//! TLS driven by the core: rustls is itself sans-IO, so klient-proto runs it and every adapter
//! moves only TCP bytes. A plain HTTPS connection, a proxy `CONNECT` tunnel and an upgraded
//! (WebSocket) connection share this one path, and no adapter needs tokio-rustls or
//! futures-rustls.
//!
//! - [`TlsSettings`](crate::tls::TlsSettings) → [`TlsConfig`](crate::tls::TlsConfig): what the kubeconfig says about TLS (the CA to trust or the
//!   public roots, a client certificate, `insecure-skip-tls-verify`), built once per cluster:
//!   rustls with the `ring` provider chosen explicitly, ALPN `http/1.1`;
//! - [`ServerName`](crate::tls::ServerName): the name the server's certificate must carry, a DNS name or an IP address
//!   (matched against the certificate's IP address names);
//! - [`TlsSession`](crate::tls::TlsSession): one connection's session, fed ciphertext and the time, yielding plaintext,
//!   ciphertext to write and its handshake deadline;
//! - errors: [`ConfigError`](crate::tls::ConfigError) while building, [`TlsError`](crate::tls::TlsError) on the wire with certificate verdicts
//!   apart ([`CertificateError`](crate::tls::CertificateError)), [`SendError`](crate::tls::SendError) for plaintext refused.
//!
//! ```
//! use std::time::Instant;
//! use klient_proto::tls::{Recv, ServerName, TlsConfig, TlsSession, TlsSettings};
//!
//! let config = TlsConfig::new(&TlsSettings::default())?; // the public web roots
//! let name = ServerName::parse("kubernetes.example")?;
//! let mut session = TlsSession::new(&config, &name, Instant::now())?;
//! let mut to_server = Vec::new();
//! assert!(session.poll_transmit(&mut to_server) > 0); // the ClientHello: write it to the socket
//! assert!(session.poll_timeout().is_some()); // the handshake's deadline: arm a timer
//! // ... feed what the socket reads with session.handle_received(&bytes), then:
//! let mut plaintext = [0u8; 4096];
//! assert_eq!(session.recv(&mut plaintext)?, Recv::Pending);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cluster_tls;
mod config;
mod error;
mod insecure;
mod queue;
mod server_name;
mod session;
#[cfg(test)]
mod tests;

pub use cluster_tls::ClusterTls;
pub use config::{DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_RECEIVED_QUEUE, TlsConfig, TlsSettings};
pub use error::{CertificateError, ConfigError, PemError, SendError, TlsError};
pub use server_name::ServerName;
pub use session::{Recv, TlsSession};

/// The rustls version klient-proto runs on, for [`TlsConfig::from_rustls`] and the types in
/// [`TlsError`].
pub use rustls;
