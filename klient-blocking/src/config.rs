//! Finding and reading the configuration: the files live here, the rules in
//! [`klient_proto::config`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use klient_proto::config::{Kubeconfig, Overrides, ResolvedConfig, Source, kubeconfig_paths};
use klient_proto::http::Limits;

use crate::{Error, Result};

/// Everything a [`Client`](crate::Client) needs: the resolved kubeconfig context plus the
/// client's own settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The cluster, credentials and default namespace the kubeconfig resolved to.
    pub resolved: ResolvedConfig,
    /// How long connecting (TCP and TLS) may take. Default 30 s.
    pub connect_timeout: Duration,
    /// How long a plain request may wait for the server between bytes. Default 295 s, just under
    /// the API server's own 5-minute request timeout. Watches and followed logs wait forever.
    pub read_timeout: Duration,
    /// How many times a request answered with 429, 503 or 504 is tried again. Default 3.
    pub max_retries: u32,
    /// Limits on what one response may make the client hold.
    pub limits: Limits,
}

impl Config {
    /// Wraps a resolved context with the default client settings.
    pub fn new(resolved: ResolvedConfig) -> Config {
        Config {
            resolved,
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(295),
            max_retries: 3,
            limits: Limits::default(),
        }
    }

    /// The default chain: the files in `KUBECONFIG` (merged), else `~/.kube/config`, using the
    /// current context.
    pub fn infer() -> Result<Config> {
        Config::from_kubeconfig_with(&Overrides::default())
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
pub(crate) fn read_source(source: &Source) -> Result<Vec<u8>> {
    match source {
        Source::Inline(bytes) => Ok(bytes.clone()),
        Source::File(path) => std::fs::read(path).map_err(|source| Error::ReadFile {
            path: path.clone(),
            source,
        }),
    }
}
