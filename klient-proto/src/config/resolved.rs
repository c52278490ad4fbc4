//! What a client needs to connect and authenticate, whichever way it was configured
//! (kubeconfig context or in-cluster service account).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde_json::Value;

use super::kubeconfig::{AuthProviderConfig, ExecConfig};
use super::proxy::RedactedUrl;
use super::secret::{SecretBytes, SecretString};
use super::server_url::ServerUrl;

/// A resolved client configuration: one server, one identity, one default namespace.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedConfig {
    /// The context used, if any (none for in-cluster, or a `--cluster` override without context).
    pub context: Option<String>,
    /// The name of the cluster entry used (none for in-cluster).
    pub cluster_name: Option<String>,
    /// The name of the user entry used, if any.
    pub user_name: Option<String>,
    /// Where to connect and how to trust the server.
    pub cluster: ClusterConfig,
    /// How to authenticate.
    pub credentials: Credentials,
    /// The default namespace: the override, else the context's, else `"default"`.
    pub namespace: String,
}

/// Where to connect and how to trust the server. `Debug` hides the `user:password@` of
/// `proxy_url`.
#[derive(Clone, PartialEq)]
pub struct ClusterConfig {
    /// The API server.
    pub server: ServerUrl,
    /// PEM roots to trust instead of the system's; `None` means the platform's roots.
    pub certificate_authority: Option<Source>,
    /// Check the server certificate against this name instead of the URL's host.
    pub tls_server_name: Option<String>,
    /// Skip server certificate checks; true only when the kubeconfig sets it explicitly.
    pub insecure_skip_tls_verify: bool,
    /// `proxy-url`, as written (`http://`, `https://` or `socks5://`).
    pub proxy_url: Option<String>,
    /// Do not ask for gzip-compressed responses.
    pub disable_compression: bool,
    /// The cluster extension `client.authentication.k8s.io/exec`, passed to exec plugins as
    /// `spec.cluster.config` when they ask for cluster information.
    pub exec_extension: Option<Value>,
}

impl fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("server", &self.server)
            .field("certificate_authority", &self.certificate_authority)
            .field("tls_server_name", &self.tls_server_name)
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("proxy_url", &self.proxy_url.as_deref().map(RedactedUrl))
            .field("disable_compression", &self.disable_compression)
            .field("exec_extension", &self.exec_extension)
            .finish()
    }
}

/// Bytes given inline, or a file the adapter reads (the kubeconfig only names it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source<T = Vec<u8>> {
    /// The bytes themselves (from a `*-data` field, already base64-decoded).
    Inline(T),
    /// A path to read.
    File(PathBuf),
}

/// How to authenticate: at most one request credential, plus optionally a client certificate
/// and impersonation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Credentials {
    /// The credential sent with each request.
    pub auth: Auth,
    /// A TLS client certificate and key.
    pub client_certificate: Option<ClientCertificate>,
    /// `Impersonate-*` headers to send.
    pub impersonation: Option<Impersonation>,
}

/// The credential sent with each request.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Auth {
    /// Nothing (anonymous, or a client certificate only).
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    BearerToken(SecretString),
    /// A bearer token in a file that rotates: the adapter reads it, and reads it again every
    /// [`TOKEN_FILE_REFRESH_INTERVAL`](super::TOKEN_FILE_REFRESH_INTERVAL); see
    /// [`token_from_file`](super::token_from_file).
    TokenFile {
        /// The file.
        path: PathBuf,
        /// A token to use until the first read, when one was given too (`token` + `tokenFile`).
        initial: Option<SecretString>,
    },
    /// `Authorization: Basic`.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: SecretString,
    },
    /// An exec credential plugin to run (see the `exec` protocol helpers).
    Exec(ExecConfig),
    /// A legacy auth provider; klient does not run these, but passes them on as data.
    AuthProvider(AuthProviderConfig),
}

/// A TLS client certificate and its key, each inline or in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The PEM certificate chain.
    pub certificate: Source,
    /// The PEM private key.
    pub key: Source<SecretBytes>,
}

/// Act as another user: the `Impersonate-User`, `-Uid`, `-Group` and `-Extra-*` headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Impersonation {
    /// `as`.
    pub user: String,
    /// `as-uid`.
    pub uid: Option<String>,
    /// `as-groups`.
    pub groups: Vec<String>,
    /// `as-user-extra`.
    pub extra: BTreeMap<String, Vec<String>>,
}
