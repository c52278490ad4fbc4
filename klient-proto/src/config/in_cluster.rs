//! Configuration for a client running in a pod, from the service account the kubelet mounts.

use std::fmt;
use std::path::PathBuf;

use super::resolve::DEFAULT_NAMESPACE;
use super::resolved::{Auth, ClusterConfig, Credentials, ResolvedConfig, Source};
use super::server_url::{ServerUrl, UrlError};
use super::token_file::{TokenFileError, token_from_file};

/// The environment variable holding the API server's service address.
pub const SERVICE_HOST_ENV: &str = "KUBERNETES_SERVICE_HOST";
/// The environment variable holding the API server's service port.
pub const SERVICE_PORT_ENV: &str = "KUBERNETES_SERVICE_PORT";
/// The folder where the kubelet mounts the pod's service account.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The service account token, in [`SERVICE_ACCOUNT_DIR`]; it rotates.
pub const SERVICE_ACCOUNT_TOKEN_FILE: &str = "token";
/// The cluster's CA bundle, in [`SERVICE_ACCOUNT_DIR`].
pub const SERVICE_ACCOUNT_CA_FILE: &str = "ca.crt";
/// The pod's namespace, in [`SERVICE_ACCOUNT_DIR`].
pub const SERVICE_ACCOUNT_NAMESPACE_FILE: &str = "namespace";

/// The full path of a file of the service account folder.
pub fn service_account_path(file: &str) -> PathBuf {
    PathBuf::from(SERVICE_ACCOUNT_DIR).join(file)
}

/// What the adapter gathers for [`in_cluster_config`]: two environment variables and the
/// contents of the service account files (`None` for a file that does not exist).
#[derive(Clone, Copy, Debug, Default)]
pub struct InClusterInputs<'a> {
    /// `KUBERNETES_SERVICE_HOST`.
    pub service_host: Option<&'a str>,
    /// `KUBERNETES_SERVICE_PORT`.
    pub service_port: Option<&'a str>,
    /// The contents of `token`.
    pub token: Option<&'a [u8]>,
    /// The contents of `ca.crt`; without it the platform's roots are trusted.
    pub ca_crt: Option<&'a [u8]>,
    /// The contents of `namespace`; without it the namespace is `default`.
    pub namespace: Option<&'a [u8]>,
}

/// Why an in-cluster configuration could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InClusterError {
    /// `KUBERNETES_SERVICE_HOST` or `KUBERNETES_SERVICE_PORT` is unset or empty: not in a pod.
    NotInCluster {
        /// The variable missing.
        missing: &'static str,
    },
    /// The service host and port do not form a valid URL.
    InvalidServiceAddress(UrlError),
    /// The token file is missing.
    MissingToken,
    /// The token file is unusable.
    InvalidToken(TokenFileError),
}

impl fmt::Display for InClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotInCluster { missing } => write!(f, "not running in a cluster: {missing} is not set"),
            Self::InvalidServiceAddress(e) => write!(f, "invalid {SERVICE_HOST_ENV}/{SERVICE_PORT_ENV}: {e}"),
            Self::MissingToken => write!(
                f,
                "{} does not exist",
                service_account_path(SERVICE_ACCOUNT_TOKEN_FILE).display()
            ),
            Self::InvalidToken(e) => write!(
                f,
                "{}: {e}",
                service_account_path(SERVICE_ACCOUNT_TOKEN_FILE).display()
            ),
        }
    }
}

impl std::error::Error for InClusterError {}

/// Builds the configuration of a client in a pod: `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`,
/// trusting `ca.crt`, authenticating with the service account token.
///
/// The token becomes [`Auth::TokenFile`] with the contents read as its first value: the adapter
/// reads the file again every [`TOKEN_FILE_REFRESH_INTERVAL`](super::TOKEN_FILE_REFRESH_INTERVAL).
///
/// ```
/// use klient_proto::config::{in_cluster_config, InClusterInputs};
/// let config = in_cluster_config(&InClusterInputs {
///     service_host: Some("fd00::1"),
///     service_port: Some("443"),
///     token: Some(b"eyJ..."),
///     ca_crt: Some(b"-----BEGIN CERTIFICATE-----..."),
///     namespace: Some(b"apps\n"),
/// })
/// .unwrap();
/// assert_eq!(config.cluster.server.to_string(), "https://[fd00::1]");
/// assert_eq!(config.namespace, "apps");
/// ```
pub fn in_cluster_config(inputs: &InClusterInputs<'_>) -> Result<ResolvedConfig, InClusterError> {
    let host = inputs.service_host.filter(|h| !h.is_empty());
    let host = host.ok_or(InClusterError::NotInCluster {
        missing: SERVICE_HOST_ENV,
    })?;
    let port = inputs.service_port.filter(|p| !p.is_empty());
    let port = port.ok_or(InClusterError::NotInCluster {
        missing: SERVICE_PORT_ENV,
    })?;
    // An IPv6 service address comes bare in the environment and needs brackets in a URL.
    let url = if host.contains(':') && !host.starts_with('[') {
        format!("https://[{host}]:{port}")
    } else {
        format!("https://{host}:{port}")
    };
    if host.contains(['/', '@', '?', '#']) || port.contains(['/', '@', '?', '#']) {
        return Err(InClusterError::InvalidServiceAddress(UrlError::InvalidHost));
    }
    let server = ServerUrl::parse(&url).map_err(InClusterError::InvalidServiceAddress)?;
    let token = token_from_file(inputs.token.ok_or(InClusterError::MissingToken)?)
        .map_err(InClusterError::InvalidToken)?;
    let namespace = inputs
        .namespace
        .and_then(|ns| std::str::from_utf8(ns.trim_ascii()).ok())
        .filter(|ns| !ns.is_empty())
        .unwrap_or(DEFAULT_NAMESPACE)
        .to_owned();
    let certificate_authority = inputs
        .ca_crt
        .filter(|ca| !ca.is_empty())
        .map(|ca| Source::Inline(ca.to_vec()));
    Ok(ResolvedConfig {
        context: None,
        cluster_name: None,
        user_name: None,
        cluster: ClusterConfig {
            server,
            certificate_authority,
            tls_server_name: None,
            insecure_skip_tls_verify: false,
            proxy_url: None,
            disable_compression: false,
            exec_extension: None,
        },
        credentials: Credentials {
            auth: Auth::TokenFile {
                path: service_account_path(SERVICE_ACCOUNT_TOKEN_FILE),
                initial: Some(token),
            },
            client_certificate: None,
            impersonation: None,
        },
        namespace,
    })
}
