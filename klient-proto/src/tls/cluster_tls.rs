//! The TLS configuration of one cluster, as a client uses it for every connection: the
//! kubeconfig's CA, client certificate and server name, and — when an exec plugin hands out a
//! client certificate — a configuration built for that certificate, rebuilt only when the
//! plugin hands out another.

use std::sync::Mutex;
use std::time::Duration;

use super::{ConfigError, ServerName, TlsConfig, TlsSettings};
use crate::auth::ClientIdentity;
use crate::config::{ClusterConfig, SecretBytes};

/// The TLS side of a client of one cluster.
pub struct ClusterTls {
    settings: TlsSettings,
    name: ServerName,
    base: TlsConfig,
    /// The configuration for the exec plugin's certificate last seen, keyed by that certificate.
    exec_identity: Mutex<Option<(Vec<u8>, TlsConfig)>>,
}

impl std::fmt::Debug for ClusterTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterTls")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ClusterTls {
    /// The configuration for `cluster`, with the CA bundle and client identity the adapter read
    /// from the kubeconfig's sources; the handshake may take `handshake_timeout`.
    pub fn new(
        cluster: &ClusterConfig,
        ca_pem: Vec<u8>,
        identity: Option<ClientIdentity>,
        handshake_timeout: Duration,
    ) -> Result<ClusterTls, ConfigError> {
        let settings = TlsSettings {
            ca_pem,
            identity,
            insecure_skip_verify: cluster.insecure_skip_tls_verify,
            handshake_timeout,
            ..TlsSettings::default()
        };
        let name = match &cluster.tls_server_name {
            Some(name) => ServerName::parse(name)?,
            None => ServerName::parse(&cluster.server.host.to_string())?,
        };
        Ok(ClusterTls {
            base: TlsConfig::new(&settings)?,
            name,
            settings,
            exec_identity: Mutex::new(None),
        })
    }

    /// The name the server's certificate must carry.
    pub fn server_name(&self) -> &ServerName {
        &self.name
    }

    /// The configuration for a connection made now: the kubeconfig's, or, when the credential
    /// carries a client certificate and key (an exec plugin's), one built for it.
    pub fn config_for(&self, identity: Option<(Vec<u8>, SecretBytes)>) -> Result<TlsConfig, ConfigError> {
        let Some((certificate, key)) = identity else {
            return Ok(self.base.clone());
        };
        let mut cached = self.exec_identity.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cached_certificate, config)) = cached.as_ref()
            && *cached_certificate == certificate
        {
            return Ok(config.clone());
        }
        let settings = TlsSettings {
            identity: Some(ClientIdentity {
                certificate: certificate.clone(),
                key,
            }),
            ..self.settings.clone()
        };
        let config = TlsConfig::new(&settings)?;
        *cached = Some((certificate, config.clone()));
        Ok(config)
    }
}
