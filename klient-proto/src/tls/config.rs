//! The TLS configuration of one cluster: which certificate authorities to trust, which client
//! certificate to present, and the limits every session on it keeps.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::time_provider::{DefaultTimeProvider, TimeProvider};
use rustls::{ClientConfig, RootCertStore};

use super::insecure::AcceptAnyServer;
use super::{ConfigError, PemError};
use crate::auth::ClientIdentity;

/// How long a handshake may take by default: client-go's `TLSHandshakeTimeout`.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many bytes of received TLS records a session holds by default beyond what rustls has
/// taken: enough for a 64 KiB socket read while the plaintext before it is still being read.
pub const DEFAULT_MAX_RECEIVED_QUEUE: usize = 64 * 1024;

/// What a cluster's TLS needs to know, with the kubeconfig's files already read.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM certificates of the certificate authorities to trust (`certificate-authority` or
    /// `certificate-authority-data`). Empty trusts the public web roots (Mozilla's, from
    /// webpki-roots) instead.
    pub ca_pem: Vec<u8>,
    /// A client certificate chain and key to present (`client-certificate`/`client-key`, or an
    /// exec plugin's).
    pub identity: Option<ClientIdentity>,
    /// Accept any server certificate (the kubeconfig's `insecure-skip-tls-verify: true`): the
    /// connection is still encrypted, but to whoever answers. Logged as a warning when used.
    pub insecure_skip_verify: bool,
    /// How long a session's handshake may take ([`TlsSession::poll_timeout`]).
    ///
    /// [`TlsSession::poll_timeout`]: super::TlsSession::poll_timeout
    pub handshake_timeout: Duration,
    /// Bytes of received TLS records a session queues while rustls cannot take them yet
    /// ([`TlsSession::receive_capacity`]).
    ///
    /// [`TlsSession::receive_capacity`]: super::TlsSession::receive_capacity
    pub max_received_queue: usize,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            ca_pem: Vec::new(),
            identity: None,
            insecure_skip_verify: false,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            max_received_queue: DEFAULT_MAX_RECEIVED_QUEUE,
        }
    }
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("ca_pem_bytes", &self.ca_pem.len())
            .field("identity", &self.identity.as_ref().map(|_| "<redacted>"))
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("max_received_queue", &self.max_received_queue)
            .finish()
    }
}

/// A built TLS configuration: rustls with the `ring` provider (chosen here, not taken from the
/// process-wide default, so that an application installing another provider does not change
/// what klient does), TLS 1.2 and 1.3, ALPN `http/1.1`. Cheap to clone; every
/// [`TlsSession`](super::TlsSession) of a cluster shares one.
#[derive(Clone)]
pub struct TlsConfig {
    rustls: Arc<ClientConfig>,
    /// How long a session's handshake may take.
    pub handshake_timeout: Duration,
    /// Bytes of received TLS records a session queues while rustls cannot take them yet.
    pub max_received_queue: usize,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("alpn", &self.rustls.alpn_protocols)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("max_received_queue", &self.max_received_queue)
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Builds the configuration. Certificate validity is checked against the wall clock, which
    /// rustls reads itself when it verifies a certificate (klient-proto's own code reads no
    /// clock).
    pub fn new(settings: &TlsSettings) -> Result<TlsConfig, ConfigError> {
        TlsConfig::with_time_provider(settings, Arc::new(DefaultTimeProvider))
    }

    /// As [`new`](TlsConfig::new), verifying certificates against the time `time` gives.
    pub(crate) fn with_time_provider(
        settings: &TlsSettings,
        time: Arc<dyn TimeProvider>,
    ) -> Result<TlsConfig, ConfigError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_details(provider.clone(), time)
            .with_safe_default_protocol_versions()
            .map_err(ConfigError::Rustls)?;
        let builder = if settings.insecure_skip_verify {
            log::warn!(
                "TLS verification of the API server is OFF (insecure-skip-tls-verify in the kubeconfig)"
            );
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyServer(
                    provider.signature_verification_algorithms,
                )))
        } else {
            builder.with_root_certificates(root_store(&settings.ca_pem)?)
        };
        let mut config = match &settings.identity {
            Some(identity) => {
                let (chain, key) = client_identity(identity)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(ConfigError::ClientKeyMismatch)?
            }
            None => builder.with_no_client_auth(),
        };
        // The API server speaks HTTP/2 too, but klient speaks HTTP/1.1 (WebSocket upgrades need
        // it): announce only that.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfig {
            rustls: Arc::new(config),
            handshake_timeout: settings.handshake_timeout,
            max_received_queue: settings.max_received_queue,
        })
    }

    /// A configuration built elsewhere (another provider, other roots), with the default limits.
    pub fn from_rustls(config: Arc<ClientConfig>) -> TlsConfig {
        TlsConfig {
            rustls: config,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            max_received_queue: DEFAULT_MAX_RECEIVED_QUEUE,
        }
    }

    /// The rustls configuration.
    pub fn rustls(&self) -> &Arc<ClientConfig> {
        &self.rustls
    }
}

/// The trust anchors: the given CAs, or the public web roots when none are given.
fn root_store(ca_pem: &[u8]) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore::empty();
    if ca_pem.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok(roots);
    }
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        let cert = cert.map_err(|e| ConfigError::CaPem(PemError::from_pem(&e)))?;
        roots.add(cert).map_err(ConfigError::UnusableCa)?;
    }
    if roots.is_empty() {
        return Err(ConfigError::NoCaCertificate);
    }
    Ok(roots)
}

fn client_identity(
    identity: &ClientIdentity,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), ConfigError> {
    let chain = CertificateDer::pem_slice_iter(&identity.certificate)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConfigError::ClientCertificatePem(PemError::from_pem(&e)))?;
    if chain.is_empty() {
        return Err(ConfigError::NoClientCertificate);
    }
    // The parse error is dropped unread: it may quote a line of the key.
    let key =
        PrivateKeyDer::from_pem_slice(identity.key.expose()).map_err(|_| ConfigError::InvalidClientKey)?;
    Ok((chain, key))
}
