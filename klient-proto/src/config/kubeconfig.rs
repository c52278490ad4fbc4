//! The kubeconfig document (`apiVersion: v1`, `kind: Config`) as plain data.
//!
//! Field names follow the file (`certificate-authority-data` becomes `certificate_authority_data`).
//! Empty strings count as unset, as they do for kubectl. `*-data` fields are already
//! base64-decoded, and relative paths are already joined to the folder of the file they came from
//! (see [`Kubeconfig::from_bytes`]). Credentials are wrapped in [`SecretString`]/[`SecretBytes`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde_json::Value;

use super::proxy::RedactedUrl;
use super::secret::{SecretBytes, SecretString};

/// A kubeconfig: one file, or several merged (see [`Kubeconfig::merge`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Kubeconfig {
    /// Clusters by name, in file order; the first entry with a name is the one used.
    pub clusters: Vec<NamedCluster>,
    /// Users (`users:` in the file) by name, in file order.
    pub auth_infos: Vec<NamedAuthInfo>,
    /// Contexts by name, in file order.
    pub contexts: Vec<NamedContext>,
    /// `current-context`.
    pub current_context: Option<String>,
    /// `preferences`.
    pub preferences: Option<Preferences>,
    /// Top-level `extensions`, kept opaque.
    pub extensions: Vec<NamedExtension>,
}

/// An entry of `clusters:`.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedCluster {
    /// `name`.
    pub name: String,
    /// `cluster`.
    pub cluster: Cluster,
    /// The file this entry came from, if known.
    pub origin: Option<PathBuf>,
}

/// How to reach one API server and how to trust it. `Debug` hides any `user:password@` of
/// `proxy-url` (and of `server`, which does not allow one but is shown as written).
#[derive(Clone, Default, PartialEq)]
pub struct Cluster {
    /// `server`: the API server's URL, as written.
    pub server: Option<String>,
    /// `tls-server-name`: the name to check the server's certificate against.
    pub tls_server_name: Option<String>,
    /// `insecure-skip-tls-verify`.
    pub insecure_skip_tls_verify: bool,
    /// `certificate-authority`: a PEM file of trusted roots.
    pub certificate_authority: Option<PathBuf>,
    /// `certificate-authority-data`, decoded: PEM bytes of trusted roots.
    pub certificate_authority_data: Option<Vec<u8>>,
    /// `proxy-url`, as written.
    pub proxy_url: Option<String>,
    /// `disable-compression`: do not ask the server for gzip responses.
    pub disable_compression: bool,
    /// `extensions`, kept opaque.
    pub extensions: Vec<NamedExtension>,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("server", &self.server.as_deref().map(RedactedUrl))
            .field("tls_server_name", &self.tls_server_name)
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("certificate_authority", &self.certificate_authority)
            .field("certificate_authority_data", &self.certificate_authority_data)
            .field("proxy_url", &self.proxy_url.as_deref().map(RedactedUrl))
            .field("disable_compression", &self.disable_compression)
            .field("extensions", &self.extensions)
            .finish()
    }
}

/// An entry of `users:`.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedAuthInfo {
    /// `name`.
    pub name: String,
    /// `user`.
    pub auth_info: AuthInfo,
    /// The file this entry came from, if known.
    pub origin: Option<PathBuf>,
}

/// Who to be: credentials and impersonation (`user:` in the file).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuthInfo {
    /// `client-certificate`: a PEM file.
    pub client_certificate: Option<PathBuf>,
    /// `client-certificate-data`, decoded PEM.
    pub client_certificate_data: Option<Vec<u8>>,
    /// `client-key`: a PEM file.
    pub client_key: Option<PathBuf>,
    /// `client-key-data`, decoded PEM.
    pub client_key_data: Option<SecretBytes>,
    /// `token`: a bearer token.
    pub token: Option<SecretString>,
    /// `tokenFile`: a file holding a bearer token, re-read as it rotates.
    pub token_file: Option<PathBuf>,
    /// `as`: the user to impersonate.
    pub impersonate: Option<String>,
    /// `as-uid`.
    pub impersonate_uid: Option<String>,
    /// `as-groups`.
    pub impersonate_groups: Vec<String>,
    /// `as-user-extra`.
    pub impersonate_user_extra: BTreeMap<String, Vec<String>>,
    /// `username` for basic authentication.
    pub username: Option<String>,
    /// `password` for basic authentication.
    pub password: Option<SecretString>,
    /// `auth-provider`.
    pub auth_provider: Option<AuthProviderConfig>,
    /// `exec`: a credential plugin.
    pub exec: Option<ExecConfig>,
    /// `extensions`, kept opaque.
    pub extensions: Vec<NamedExtension>,
}

/// `auth-provider`: a legacy in-tree authenticator (`oidc`, `gcp`, `azure`), as data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuthProviderConfig {
    /// `name`.
    pub name: String,
    /// `config`; its values hold tokens and client secrets, so all are secret.
    pub config: BTreeMap<String, SecretString>,
}

/// `exec`: an external program that prints credentials (see the exec credential protocol).
#[derive(Clone, Default, PartialEq)]
pub struct ExecConfig {
    /// `command`; a relative path containing `/` is already joined to the file's folder.
    pub command: String,
    /// `args`.
    pub args: Vec<String>,
    /// `env`: extra environment variables for the plugin.
    pub env: Vec<ExecEnvVar>,
    /// `apiVersion`: `client.authentication.k8s.io/v1` or `v1beta1`.
    pub api_version: Option<String>,
    /// `installHint`: shown to the user when the command is missing.
    pub install_hint: Option<String>,
    /// `provideClusterInfo`: pass the cluster to the plugin in `KUBERNETES_EXEC_INFO`.
    pub provide_cluster_info: bool,
    /// `interactiveMode`; `None` when the file leaves it out.
    pub interactive_mode: Option<InteractiveMode>,
}

/// Debug shows the plugin's arguments only by count: they often carry secrets
/// (`--oidc-client-secret=...`), as client-go's own String() of this type assumes too.
impl std::fmt::Debug for ExecConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecConfig")
            .field("command", &self.command)
            .field("args", &format_args!("<{} redacted>", self.args.len()))
            .field("env", &self.env)
            .field("api_version", &self.api_version)
            .field("install_hint", &self.install_hint)
            .field("provide_cluster_info", &self.provide_cluster_info)
            .field("interactive_mode", &self.interactive_mode)
            .finish()
    }
}

/// One `env` entry of an exec plugin; values may carry secrets, so they are redacted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExecEnvVar {
    /// `name`.
    pub name: String,
    /// `value`.
    pub value: SecretString,
}

/// `interactiveMode` of an exec plugin: whether it may read from the user's terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InteractiveMode {
    /// Never give the plugin stdin.
    Never,
    /// Give the plugin stdin when there is a terminal.
    IfAvailable,
    /// The plugin needs stdin; fail without a terminal.
    Always,
}

impl InteractiveMode {
    /// The spelling used in kubeconfig files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Never => "Never",
            Self::IfAvailable => "IfAvailable",
            Self::Always => "Always",
        }
    }
}

/// An entry of `contexts:`.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedContext {
    /// `name`.
    pub name: String,
    /// `context`.
    pub context: Context,
    /// The file this entry came from, if known.
    pub origin: Option<PathBuf>,
}

/// A context: which cluster, as which user, in which namespace.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    /// `cluster`: a cluster's name.
    pub cluster: Option<String>,
    /// `user`: a user's name.
    pub user: Option<String>,
    /// `namespace`: the default namespace.
    pub namespace: Option<String>,
    /// `extensions`, kept opaque.
    pub extensions: Vec<NamedExtension>,
}

/// `preferences`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Preferences {
    /// `colors`.
    pub colors: Option<bool>,
    /// `extensions`, kept opaque.
    pub extensions: Vec<NamedExtension>,
}

/// An entry of an `extensions:` list: a name and a value klient does not interpret.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedExtension {
    /// `name`.
    pub name: String,
    /// `extension`, as parsed.
    pub extension: Value,
}

impl Kubeconfig {
    /// The first cluster called `name`.
    pub fn cluster(&self, name: &str) -> Option<&NamedCluster> {
        self.clusters.iter().find(|c| c.name == name)
    }

    /// The first user called `name`.
    pub fn auth_info(&self, name: &str) -> Option<&NamedAuthInfo> {
        self.auth_infos.iter().find(|u| u.name == name)
    }

    /// The first context called `name`.
    pub fn context(&self, name: &str) -> Option<&NamedContext> {
        self.contexts.iter().find(|c| c.name == name)
    }
}
