//! Client configuration: kubeconfig files, in-cluster service accounts, and what they resolve to.
//!
//! Everything here is pure: the adapter reads the environment and the files, and hands in their
//! contents. A typical load, as kubectl does it:
//!
//! ```no_run
//! use klient_proto::config::{kubeconfig_paths, Kubeconfig, Overrides};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
//! let mut files = Vec::new();
//! for path in kubeconfig_paths(std::env::var_os("KUBECONFIG").as_deref(), home.as_deref()) {
//!     match std::fs::read(&path) {
//!         Ok(bytes) => files.push(Kubeconfig::from_bytes(&bytes, Some(path))?),
//!         Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue, // kubectl skips these
//!         Err(e) => return Err(e.into()),
//!     }
//! }
//! let resolved = Kubeconfig::merge_all(files).resolve(&Overrides::default())?;
//! // Connect to resolved.cluster.server, reading any Source::File it names.
//! # let _ = resolved; Ok(()) }
//! ```

mod client_config;
mod error;
mod exec;
mod fields;
mod in_cluster;
mod kubeconfig;
mod merge;
mod parse;
mod paths;
mod proxy;
mod resolve;
mod resolved;
mod rfc3339;
mod secret;
mod server_url;
mod token_file;

#[cfg(test)]
mod tests;

pub use client_config::{Config, WarningHandler, read_secret, read_source};
pub use error::{ParseError, ParseErrorKind};
pub use exec::{
    EXEC_API_V1, EXEC_API_V1BETA1, EXEC_INFO_ENV, ExecCredential, ExecPluginError, ExecPluginErrorKind,
    MAX_EXEC_OUTPUT_LEN, exec_info_json, exec_interactive, parse_exec_output,
};
pub use in_cluster::{
    InClusterError, InClusterInputs, SERVICE_ACCOUNT_CA_FILE, SERVICE_ACCOUNT_DIR,
    SERVICE_ACCOUNT_NAMESPACE_FILE, SERVICE_ACCOUNT_TOKEN_FILE, SERVICE_HOST_ENV, SERVICE_PORT_ENV,
    in_cluster_config, service_account_path,
};
pub use kubeconfig::{
    AuthInfo, AuthProviderConfig, Cluster, Context, ExecConfig, ExecEnvVar, InteractiveMode, Kubeconfig,
    NamedAuthInfo, NamedCluster, NamedContext, NamedExtension, Preferences,
};
pub use parse::MAX_KUBECONFIG_LEN;
pub use paths::{
    DEFAULT_KUBECONFIG_RELATIVE_PATH, KUBECONFIG_ENV, default_kubeconfig_path, kubeconfig_paths,
    split_kubeconfig_env,
};
pub use proxy::{Proxy, ProxyEnv, ProxyError, select_proxy};
pub use resolve::{DEFAULT_NAMESPACE, EXEC_CLUSTER_EXTENSION, Overrides, ResolveError};
pub use resolved::{
    Auth, ClientCertificate, ClusterConfig, Credentials, Impersonation, ResolvedConfig, Source,
};
pub use secret::{SecretBytes, SecretString};
pub use server_url::{Host, Scheme, ServerUrl, UrlError};
pub use token_file::{MAX_TOKEN_FILE_LEN, TOKEN_FILE_REFRESH_INTERVAL, TokenFileError, token_from_file};
