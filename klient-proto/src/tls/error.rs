//! What can go wrong: building a configuration ([`ConfigError`]), a session on the wire
//! ([`TlsError`], with the certificate verdicts apart in [`CertificateError`]), and a caller's
//! plaintext refused ([`SendError`]).

use std::fmt;

use rustls::AlertDescription;

/// Why a PEM input did not parse. Carries no bytes of the input: a private key's PEM must never
/// reach a log, and certificates are reported the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PemError {
    /// A section has no `-----END ...-----` line.
    MissingSectionEnd,
    /// A `-----BEGIN` line is malformed.
    IllegalSectionStart,
    /// A section's body is not base64.
    Base64,
    /// A section is larger than rustls-pki-types accepts.
    SectionTooLarge,
    /// Anything else the PEM reader reported.
    Other,
}

impl PemError {
    pub(crate) fn from_pem(e: &rustls::pki_types::pem::Error) -> PemError {
        use rustls::pki_types::pem::Error;
        match e {
            Error::MissingSectionEnd { .. } => PemError::MissingSectionEnd,
            Error::IllegalSectionStart { .. } => PemError::IllegalSectionStart,
            Error::Base64Decode(_) => PemError::Base64,
            Error::SectionTooLarge => PemError::SectionTooLarge,
            _ => PemError::Other,
        }
    }
}

impl fmt::Display for PemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PemError::MissingSectionEnd => "a PEM section has no END line",
            PemError::IllegalSectionStart => "a PEM BEGIN line is malformed",
            PemError::Base64 => "a PEM section is not valid base64",
            PemError::SectionTooLarge => "a PEM section is too large",
            PemError::Other => "not valid PEM",
        })
    }
}

impl std::error::Error for PemError {}

/// Why a [`TlsConfig`](super::TlsConfig), [`ServerName`](super::ServerName) or
/// [`TlsSession`](super::TlsSession) could not be made. Never contains key bytes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The certificate authority data is not valid PEM.
    CaPem(PemError),
    /// The certificate authority data holds no certificate.
    NoCaCertificate,
    /// A certificate authority's certificate cannot serve as a trust anchor.
    UnusableCa(rustls::Error),
    /// The client certificate data is not valid PEM.
    ClientCertificatePem(PemError),
    /// The client certificate data holds no certificate.
    NoClientCertificate,
    /// The client key is not a PEM private key (PKCS#8, PKCS#1 or SEC1). What is wrong with it is
    /// not said, so that nothing of the key is ever shown.
    InvalidClientKey,
    /// The client certificate and key do not fit together, or the key's algorithm is not
    /// supported.
    ClientKeyMismatch(rustls::Error),
    /// The name is neither a DNS name nor an IP address.
    InvalidServerName {
        /// The name as given.
        name: String,
    },
    /// rustls refused the configuration or the session (no usable protocol version, ...).
    Rustls(rustls::Error),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::CaPem(e) => write!(f, "certificate authority: {e}"),
            ConfigError::NoCaCertificate => f.write_str("certificate authority PEM holds no certificate"),
            ConfigError::UnusableCa(e) => write!(f, "certificate authority cannot be used: {e}"),
            ConfigError::ClientCertificatePem(e) => write!(f, "client certificate: {e}"),
            ConfigError::NoClientCertificate => f.write_str("client certificate PEM holds no certificate"),
            ConfigError::InvalidClientKey => f.write_str("client key is not a valid PEM private key"),
            ConfigError::ClientKeyMismatch(e) => {
                write!(f, "client certificate and key do not fit together: {e}")
            }
            ConfigError::InvalidServerName { name } => write!(f, "{name:?} is not a valid TLS server name"),
            ConfigError::Rustls(e) => write!(f, "TLS configuration: {e}"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::CaPem(e) | ConfigError::ClientCertificatePem(e) => Some(e),
            ConfigError::UnusableCa(e) | ConfigError::ClientKeyMismatch(e) | ConfigError::Rustls(e) => {
                Some(e)
            }
            _ => None,
        }
    }
}

/// Why the server's certificate was not accepted.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CertificateError {
    /// No trusted certificate authority issued it: the kubeconfig's CA is not the one that signed
    /// the server's certificate (or no CA was named and the public roots do not know it).
    UnknownIssuer,
    /// It does not name the server: neither the DNS name nor the IP address asked for (the
    /// kubeconfig's `tls-server-name`, else the server URL's host) is among its subject names.
    NotValidForName {
        /// The name that was asked for.
        expected: String,
        /// The names the certificate carries (empty when the verifier did not say).
        presented: Vec<String>,
    },
    /// It has expired.
    Expired,
    /// It is not valid yet.
    NotValidYet,
    /// It was revoked.
    Revoked,
    /// A signature in the chain does not verify.
    BadSignature,
    /// It is not encoded correctly.
    BadEncoding,
    /// It may not be used for a TLS server.
    InvalidPurpose,
    /// The server presented no certificate.
    NotPresented,
    /// Any other verdict of the verifier.
    Other(rustls::CertificateError),
}

impl CertificateError {
    fn from_rustls(e: rustls::CertificateError) -> CertificateError {
        use rustls::CertificateError as E;
        match e {
            E::UnknownIssuer => CertificateError::UnknownIssuer,
            E::NotValidForName => CertificateError::NotValidForName {
                expected: String::new(),
                presented: Vec::new(),
            },
            E::NotValidForNameContext { expected, presented } => CertificateError::NotValidForName {
                expected: server_name_text(&expected),
                presented,
            },
            E::Expired | E::ExpiredContext { .. } => CertificateError::Expired,
            E::NotValidYet | E::NotValidYetContext { .. } => CertificateError::NotValidYet,
            E::Revoked => CertificateError::Revoked,
            E::BadSignature => CertificateError::BadSignature,
            E::BadEncoding => CertificateError::BadEncoding,
            E::InvalidPurpose | E::InvalidPurposeContext { .. } => CertificateError::InvalidPurpose,
            other => CertificateError::Other(other),
        }
    }
}

fn server_name_text(name: &rustls::pki_types::ServerName<'_>) -> String {
    match name {
        rustls::pki_types::ServerName::DnsName(dns) => dns.as_ref().to_owned(),
        rustls::pki_types::ServerName::IpAddress(ip) => core::net::IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}

impl fmt::Display for CertificateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertificateError::UnknownIssuer => {
                f.write_str("server certificate is not issued by a trusted certificate authority")
            }
            CertificateError::NotValidForName { expected, presented } => {
                f.write_str("server certificate is not valid for ")?;
                if expected.is_empty() {
                    f.write_str("the server's name")?;
                } else {
                    write!(f, "{expected:?}")?;
                }
                if !presented.is_empty() {
                    write!(f, " (it names {})", presented.join(", "))?;
                }
                Ok(())
            }
            CertificateError::Expired => f.write_str("server certificate has expired"),
            CertificateError::NotValidYet => f.write_str("server certificate is not valid yet"),
            CertificateError::Revoked => f.write_str("server certificate was revoked"),
            CertificateError::BadSignature => f.write_str("server certificate's signature does not verify"),
            CertificateError::BadEncoding => f.write_str("server certificate is malformed"),
            CertificateError::InvalidPurpose => {
                f.write_str("server certificate may not be used for a TLS server")
            }
            CertificateError::NotPresented => f.write_str("server presented no certificate"),
            CertificateError::Other(e) => write!(f, "server certificate refused: {e:?}"),
        }
    }
}

impl std::error::Error for CertificateError {}

/// Why a [`TlsSession`](super::TlsSession) failed. Each is final: the session is over, and
/// whatever alert TLS owes the server is queued for [`poll_transmit`](super::TlsSession::poll_transmit).
///
/// A connection that ends without the server's `close_notify` is not an error here: it is
/// [`Recv::Truncated`](super::Recv::Truncated), since only the protocol above knows whether what
/// arrived was complete.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TlsError {
    /// We refused the server's certificate.
    Certificate(CertificateError),
    /// The server ended the session with a fatal alert. During the handshake this is usually a
    /// refusal: see [`refused_client_certificate`](TlsError::refused_client_certificate).
    AlertReceived(AlertDescription),
    /// The server's bytes broke the TLS protocol, or it offered nothing this client accepts (no
    /// common protocol version or cipher suite).
    Protocol(rustls::Error),
    /// The connection ended (TCP end or `close_notify`) before the handshake completed.
    ClosedDuringHandshake,
    /// The handshake did not complete by its deadline.
    HandshakeTimeout,
    /// The caller handed in more ciphertext than the received queue holds (see
    /// [`receive_capacity`](super::TlsSession::receive_capacity)) while the plaintext before it
    /// was not being read.
    ReceiveQueueFull {
        /// The queue's limit in bytes.
        limit: usize,
    },
}

impl TlsError {
    pub(crate) fn from_rustls(e: rustls::Error) -> TlsError {
        match e {
            rustls::Error::InvalidCertificate(c) => TlsError::Certificate(CertificateError::from_rustls(c)),
            rustls::Error::NoCertificatesPresented => TlsError::Certificate(CertificateError::NotPresented),
            rustls::Error::AlertReceived(alert) => TlsError::AlertReceived(alert),
            other => TlsError::Protocol(other),
        }
    }

    /// Whether we refused the server's certificate.
    pub fn is_certificate_error(&self) -> bool {
        matches!(self, TlsError::Certificate(_))
    }

    /// Whether the server's alert says it refused our client certificate (or wanted one and got
    /// none): `bad_certificate`, `unknown_ca`, `certificate_required` and their kin.
    pub fn refused_client_certificate(&self) -> bool {
        matches!(
            self,
            TlsError::AlertReceived(
                AlertDescription::BadCertificate
                    | AlertDescription::UnsupportedCertificate
                    | AlertDescription::CertificateRevoked
                    | AlertDescription::CertificateExpired
                    | AlertDescription::CertificateUnknown
                    | AlertDescription::UnknownCA
                    | AlertDescription::CertificateRequired
            )
        )
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Certificate(e) => write!(f, "{e}"),
            TlsError::AlertReceived(alert) if self.refused_client_certificate() => {
                write!(f, "server refused the client certificate (alert {alert:?})")
            }
            TlsError::AlertReceived(alert) => write!(f, "server sent the fatal alert {alert:?}"),
            TlsError::Protocol(e) => write!(f, "TLS protocol error: {e}"),
            TlsError::ClosedDuringHandshake => f.write_str("connection closed during the TLS handshake"),
            TlsError::HandshakeTimeout => f.write_str("TLS handshake timed out"),
            TlsError::ReceiveQueueFull { limit } => {
                write!(
                    f,
                    "more than {limit} bytes of TLS records received and not yet read"
                )
            }
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsError::Certificate(e) => Some(e),
            TlsError::Protocol(e) => Some(e),
            _ => None,
        }
    }
}

/// Why [`TlsSession::send`](super::TlsSession::send) took nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// [`close`](super::TlsSession::close) was called: nothing more may be sent.
    Closed,
    /// The session has failed; [`TlsSession::error`](super::TlsSession::error) says why.
    Failed,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::Closed => "the TLS session was closed",
            SendError::Failed => "the TLS session has failed",
        })
    }
}

impl std::error::Error for SendError {}
