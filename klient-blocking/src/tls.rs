//! TLS settings for the API server connection: rustls with the `ring` provider, trusting the CA that
//! the kubeconfig names (or the Mozilla roots when it names none).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::Error;

/// What the TLS layer needs to know, with files already read.
#[derive(Clone, Default)]
pub(crate) struct TlsInputs {
    /// PEM certificates of the CAs to trust; empty means the public web roots.
    pub ca_pem: Vec<u8>,
    /// PEM client certificate chain and private key, for client-certificate authentication.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
    /// Skip verification of the server's certificate: only ever set from the kubeconfig's
    /// `insecure-skip-tls-verify: true`, and logged as a warning when used.
    pub insecure: bool,
}

impl std::fmt::Debug for TlsInputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key must never reach a log.
        f.debug_struct("TlsInputs")
            .field("ca_pem_bytes", &self.ca_pem.len())
            .field("identity", &self.identity.as_ref().map(|_| "<redacted>"))
            .field("insecure", &self.insecure)
            .finish()
    }
}

fn provider() -> Arc<CryptoProvider> {
    // Chosen explicitly rather than through the process-wide default, so that an application
    // that installs another provider does not change what klient does.
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the rustls configuration for one cluster.
pub(crate) fn client_config(inputs: &TlsInputs) -> Result<Arc<ClientConfig>, Error> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(format!("no usable TLS protocol versions: {e}")))?;
    let builder = if inputs.insecure {
        log::warn!("TLS verification of the API server is OFF (insecure-skip-tls-verify in the kubeconfig)");
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServer(
                provider.signature_verification_algorithms,
            )))
    } else {
        builder.with_root_certificates(root_store(&inputs.ca_pem)?)
    };
    let mut config = match &inputs.identity {
        Some((cert_pem, key_pem)) => {
            let chain = CertificateDer::pem_slice_iter(cert_pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Error::Tls(format!("client certificate is not valid PEM: {e}")))?;
            if chain.is_empty() {
                return Err(Error::Tls("client certificate PEM holds no certificate".into()));
            }
            // The key's parse error is described without echoing any of its bytes.
            let key = PrivateKeyDer::from_pem_slice(key_pem)
                .map_err(|_| Error::Tls("client key is not a valid PEM private key".into()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| Error::Tls(format!("client certificate and key do not fit together: {e}")))?
        }
        None => builder.with_no_client_auth(),
    };
    // The API server speaks HTTP/2 too, but klient's protocol core is HTTP/1.1 (WebSocket upgrades
    // need it); announce only that.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn root_store(ca_pem: &[u8]) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    if ca_pem.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok(roots);
    }
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        let cert = cert.map_err(|e| Error::Tls(format!("certificate authority is not valid PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| Error::Tls(format!("certificate authority cannot be used: {e}")))?;
    }
    if roots.is_empty() {
        return Err(Error::Tls(
            "certificate authority PEM holds no certificate".into(),
        ));
    }
    Ok(roots)
}

/// The name the server's certificate must carry: the kubeconfig's `tls-server-name` when set,
/// else the host of the server URL. An IP address is checked against the certificate's IP SANs.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_owned())
        .map_err(|_| Error::Tls(format!("{host:?} is not a valid TLS server name")))
}

/// Accepts any server certificate but still checks the handshake signatures, so the connection is
/// encrypted to whoever holds the key the server presented. Used only for insecure-skip-tls-verify.
#[derive(Debug)]
struct AcceptAnyServer(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
