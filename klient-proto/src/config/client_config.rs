//! A client's configuration: the resolved kubeconfig plus klient's own settings (timeouts,
//! retries, limits, wire format, what to do with warnings), found the way kubectl finds it.
//!
//! This is the one place klient-proto reads files and the environment, and only when the
//! application asks for a configuration (once, at start-up, as kubectl and kube do): every
//! adapter finds it the same way, so the search lives here once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{
    Auth, InClusterInputs, Kubeconfig, Overrides, ResolvedConfig, SERVICE_ACCOUNT_CA_FILE,
    SERVICE_ACCOUNT_DIR, SERVICE_ACCOUNT_NAMESPACE_FILE, SERVICE_ACCOUNT_TOKEN_FILE, SERVICE_HOST_ENV,
    SERVICE_PORT_ENV, SecretBytes, Source, in_cluster_config, kubeconfig_paths,
};
use crate::api::Format;
use crate::client::{TransportSettings, Warning};
use crate::http::Limits;
use crate::{Error, Result};

/// Everything a client (of any adapter) needs: the resolved kubeconfig context plus the
/// client's own settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The cluster, credentials and default namespace the kubeconfig resolved to.
    pub resolved: ResolvedConfig,
    /// How long connecting, waiting for an answer and writing may take, and TCP keepalive.
    pub transport: TransportSettings,
    /// How many times a request answered with 429, 503 or 504 is tried again. Default 3.
    pub max_retries: u32,
    /// Limits on what one response may make the client hold.
    pub limits: Limits,
    /// How many request-response calls may hold a connection at once; further calls wait their
    /// turn (the async adapters). Streams (watches, followed logs) and upgraded sessions (exec,
    /// attach, port-forward) hold a connection of their own outside this limit, so a program's
    /// watches never starve its other requests. Default 32.
    pub max_connections: usize,
    /// The wire format the client's `Api`s prefer, unless told otherwise (`Api::protobuf`,
    /// `Api::json`). Default JSON.
    /// Protobuf applies to the built-in kinds; custom resources stay on JSON.
    pub format: Format,
    /// What happens to the warnings the server attaches to its answers (a deprecated API
    /// version, an unknown field it dropped). Default: logged at `warn` level, as kubectl
    /// prints them.
    pub on_warning: WarningHandler,
}

/// Receives the server's [`Warning`]s, once per response that carried them.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use klient_proto::client::Warning;
/// use klient_proto::config::WarningHandler;
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// let handler = WarningHandler::new(move |warning| sink.lock().unwrap().push(warning.text.clone()));
/// handler.handle(&Warning { code: 299, agent: "-".into(), text: "deprecated".into() });
/// assert_eq!(*seen.lock().unwrap(), ["deprecated"]);
/// ```
#[derive(Clone)]
pub struct WarningHandler(Arc<dyn Fn(&Warning) + Send + Sync>);

impl WarningHandler {
    /// Calls `handle` with each warning.
    pub fn new(handle: impl Fn(&Warning) + Send + Sync + 'static) -> Self {
        WarningHandler(Arc::new(handle))
    }

    /// Hands `warning` to the handler.
    pub fn handle(&self, warning: &Warning) {
        (self.0)(warning)
    }
}

impl Default for WarningHandler {
    fn default() -> Self {
        WarningHandler::new(|warning| log::warn!("the API server warns: {warning}"))
    }
}

impl std::fmt::Debug for WarningHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WarningHandler")
    }
}

impl Config {
    /// Wraps a resolved context with the default client settings.
    pub fn new(resolved: ResolvedConfig) -> Config {
        Config {
            resolved,
            transport: TransportSettings::default(),
            max_retries: 3,
            limits: Limits::default(),
            max_connections: 32,
            format: Format::Json,
            on_warning: WarningHandler::default(),
        }
    }

    /// The default chain: the files in `KUBECONFIG` (merged), else `~/.kube/config`, using the
    /// current context; when neither exists, the in-cluster service account.
    pub fn infer() -> Result<Config> {
        match Config::from_kubeconfig_with(&Overrides::default()) {
            Err(Error::NoConfig) => Config::in_cluster().map_err(|e| match e {
                // Outside a pod the useful message is the kubeconfig one.
                Error::Auth(_) if std::env::var_os(SERVICE_HOST_ENV).is_none() => Error::NoConfig,
                other => other,
            }),
            other => other,
        }
    }

    /// The pod's service account: `KUBERNETES_SERVICE_HOST`/`_PORT` and the files in
    /// `/var/run/secrets/kubernetes.io/serviceaccount`. The token is re-read about every minute,
    /// since the kubelet rotates it.
    pub fn in_cluster() -> Result<Config> {
        let host = std::env::var(SERVICE_HOST_ENV).ok();
        let port = std::env::var(SERVICE_PORT_ENV).ok();
        Config::in_cluster_from(Path::new(SERVICE_ACCOUNT_DIR), host.as_deref(), port.as_deref())
    }

    /// [`in_cluster`](Self::in_cluster) with the service-account folder and the service address
    /// given explicitly (tests, sidecars that mount the token elsewhere).
    pub fn in_cluster_from(
        dir: &Path,
        service_host: Option<&str>,
        service_port: Option<&str>,
    ) -> Result<Config> {
        let read_optional = |name: &str| -> Result<Option<Vec<u8>>> {
            let path = dir.join(name);
            match std::fs::read(&path) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(Error::ReadFile { path, source }),
            }
        };
        let token = read_optional(SERVICE_ACCOUNT_TOKEN_FILE)?;
        let ca_crt = read_optional(SERVICE_ACCOUNT_CA_FILE)?;
        let namespace = read_optional(SERVICE_ACCOUNT_NAMESPACE_FILE)?;
        let inputs = InClusterInputs {
            service_host,
            service_port,
            token: token.as_deref(),
            ca_crt: ca_crt.as_deref(),
            namespace: namespace.as_deref(),
        };
        let mut resolved = in_cluster_config(&inputs).map_err(|e| Error::Auth(format!("in-cluster: {e}")))?;
        // The token is re-read from where it was found, which is `dir` rather than the standard path.
        if let Auth::TokenFile { path, .. } = &mut resolved.credentials.auth {
            *path = dir.join(SERVICE_ACCOUNT_TOKEN_FILE);
        }
        Ok(Config::new(resolved))
    }

    /// The default chain with kubectl-style overrides (`--context`, `--namespace`, ...).
    pub fn from_kubeconfig_with(overrides: &Overrides) -> Result<Config> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let paths = kubeconfig_paths(std::env::var_os("KUBECONFIG").as_deref(), home.as_deref());
        Config::from_files(&paths, overrides)
    }

    /// One kubeconfig file, current context.
    pub fn from_kubeconfig(path: impl AsRef<Path>) -> Result<Config> {
        Config::from_files(&[path.as_ref().to_path_buf()], &Overrides::default())
    }

    /// Several kubeconfig files merged in order (first wins), resolved with `overrides`.
    /// Files that do not exist are skipped, as kubectl does; none existing is an error.
    pub fn from_files(paths: &[PathBuf], overrides: &Overrides) -> Result<Config> {
        let mut files = Vec::new();
        for path in paths {
            match std::fs::read(path) {
                Ok(bytes) => files.push((path.clone(), bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(Error::ReadFile {
                        path: path.clone(),
                        source,
                    });
                }
            }
        }
        if files.is_empty() {
            return Err(Error::NoConfig);
        }
        let kubeconfig = Kubeconfig::from_files(files).map_err(Error::Kubeconfig)?;
        let resolved = kubeconfig.resolve(overrides).map_err(Error::Resolve)?;
        Ok(Config::new(resolved))
    }

    /// The namespace the context names, or `default`.
    pub fn default_namespace(&self) -> &str {
        &self.resolved.namespace
    }
}

/// Reads a source the kubeconfig gave inline or by path.
/// The bytes of a kubeconfig source: inline, or read from its file.
pub fn read_source(source: &Source) -> Result<Vec<u8>> {
    match source {
        Source::Inline(bytes) => Ok(bytes.clone()),
        Source::File(path) => std::fs::read(path).map_err(|source| Error::ReadFile {
            path: path.clone(),
            source,
        }),
    }
}

/// The bytes of a kubeconfig source that holds a secret (a client key): inline, or read from its
/// file; kept as a secret either way.
pub fn read_secret(source: &Source<SecretBytes>) -> Result<SecretBytes> {
    match source {
        Source::Inline(bytes) => Ok(bytes.clone()),
        Source::File(path) => std::fs::read(path)
            .map(SecretBytes::new)
            .map_err(|source| Error::ReadFile {
                path: path.clone(),
                source,
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProxyEnv;

    const KUBECONFIG: &[u8] = b"apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: 'https://10.0.0.1:6443'\n    proxy-url: 'http://proxyuser:secret@proxy:3128'\n\
        users:\n- name: u\n  user: {token: tok}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n";

    fn assert_redacted(debug: &str) {
        assert!(!debug.contains("secret"), "the proxy password leaks: {debug}");
        assert!(!debug.contains("proxyuser"), "the proxy user leaks: {debug}");
        assert!(debug.contains("http://<redacted>@proxy:3128"), "{debug}");
    }

    #[test]
    fn debug_hides_the_proxy_credentials() {
        let kubeconfig = Kubeconfig::from_bytes(KUBECONFIG, None).unwrap();
        assert_redacted(&format!("{kubeconfig:?}"));
        let resolved = kubeconfig.resolve(&Overrides::default()).unwrap();
        assert_eq!(
            resolved.cluster.proxy_url.as_deref(),
            Some("http://proxyuser:secret@proxy:3128"),
            "the value itself is kept"
        );
        assert_redacted(&format!("{resolved:?}"));
        let config = Config::new(resolved);
        assert_redacted(&format!("{config:?}"));
        assert_redacted(&format!("{config:#?}"));
    }

    #[test]
    fn debug_of_the_proxy_environment_hides_credentials() {
        let env = ProxyEnv {
            https_proxy: Some("http://proxyuser:secret@proxy:3128"),
            http_proxy: Some("proxyuser:secret@proxy:3128"),
            no_proxy: Some("10.0.0.0/8"),
        };
        let debug = format!("{env:?}");
        assert!(
            !debug.contains("secret") && !debug.contains("proxyuser"),
            "{debug}"
        );
        assert!(
            debug.contains(r#"Some("http://<redacted>@proxy:3128")"#)
                && debug.contains(r#"Some("<redacted>@proxy:3128")"#)
                && debug.contains("10.0.0.0/8"),
            "{debug}"
        );
        // A URL without credentials is shown as written.
        let plain = ProxyEnv {
            https_proxy: Some("http://proxy:3128"),
            ..ProxyEnv::default()
        };
        assert!(format!("{plain:?}").contains(r#"Some("http://proxy:3128")"#));
    }
}
