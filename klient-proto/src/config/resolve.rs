//! Choosing a context and turning it into a [`ResolvedConfig`], as kubectl does with
//! `--context`, `--cluster`, `--user` and `--namespace`.

use std::fmt;
use std::path::PathBuf;

use super::kubeconfig::{AuthInfo, Cluster, InteractiveMode, Kubeconfig};
use super::resolved::{
    Auth, ClientCertificate, ClusterConfig, Credentials, Impersonation, ResolvedConfig, Source,
};
use super::secret::SecretString;
use super::server_url::{Scheme, ServerUrl, UrlError};

/// The namespace used when neither the context nor an override names one.
pub const DEFAULT_NAMESPACE: &str = "default";

/// The cluster extension an exec plugin receives as `spec.cluster.config`.
pub const EXEC_CLUSTER_EXTENSION: &str = "client.authentication.k8s.io/exec";

/// Choices that take precedence over the kubeconfig, like kubectl's flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--context`: use this context instead of `current-context`.
    pub context: Option<String>,
    /// `--cluster`: use this cluster instead of the context's.
    pub cluster: Option<String>,
    /// `--user`: use this user instead of the context's.
    pub user: Option<String>,
    /// `--namespace`: use this namespace instead of the context's.
    pub namespace: Option<String>,
}

/// Why a kubeconfig could not be resolved into a [`ResolvedConfig`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResolveError {
    /// No `current-context` and no context or cluster override.
    NoCurrentContext,
    /// The chosen context does not exist.
    ContextNotFound {
        /// The context's name.
        name: String,
    },
    /// The context names no cluster, and no override gave one.
    ContextHasNoCluster {
        /// The context's name.
        context: String,
    },
    /// The chosen cluster does not exist.
    ClusterNotFound {
        /// The cluster's name.
        name: String,
    },
    /// The chosen user does not exist.
    UserNotFound {
        /// The user's name.
        name: String,
    },
    /// The cluster has no `server`.
    MissingServer {
        /// The cluster's name.
        cluster: String,
        /// The file it came from.
        origin: Option<PathBuf>,
    },
    /// The cluster's `server` is not a usable URL.
    InvalidServerUrl {
        /// The cluster's name.
        cluster: String,
        /// What is wrong with it.
        error: UrlError,
    },
    /// `insecure-skip-tls-verify` and a certificate authority are both set, which contradict.
    InsecureWithCertificateAuthority {
        /// The cluster's name.
        cluster: String,
    },
    /// The user sets more than one of token, basic auth, exec and auth-provider.
    ConflictingAuth {
        /// The user's name.
        user: String,
        /// The methods found, such as `["token", "basic"]`.
        methods: Vec<&'static str>,
    },
    /// A client certificate is set without a client key.
    MissingClientKey {
        /// The user's name.
        user: String,
    },
    /// A client key is set without a client certificate.
    MissingClientCertificate {
        /// The user's name.
        user: String,
    },
    /// `as-uid`, `as-groups` or `as-user-extra` is set without `as`.
    ImpersonationWithoutUser {
        /// The user's name.
        user: String,
    },
    /// An exec plugin has no `apiVersion`.
    ExecMissingApiVersion {
        /// The user's name.
        user: String,
    },
    /// An exec plugin for `client.authentication.k8s.io/v1` has no `interactiveMode`
    /// (required from v1 on).
    ExecMissingInteractiveMode {
        /// The user's name.
        user: String,
    },
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoCurrentContext => {
                f.write_str("no current-context is set and no context or cluster was chosen")
            }
            Self::ContextNotFound { name } => write!(f, "context {name:?} not found in kubeconfig"),
            Self::ContextHasNoCluster { context } => write!(f, "context {context:?} names no cluster"),
            Self::ClusterNotFound { name } => write!(f, "cluster {name:?} not found in kubeconfig"),
            Self::UserNotFound { name } => write!(f, "user {name:?} not found in kubeconfig"),
            Self::MissingServer {
                cluster,
                origin: Some(path),
            } => {
                write!(f, "cluster {cluster:?} (in {}) has no server", path.display())
            }
            Self::MissingServer {
                cluster,
                origin: None,
            } => write!(f, "cluster {cluster:?} has no server"),
            Self::InvalidServerUrl { cluster, error } => {
                write!(f, "cluster {cluster:?} has an invalid server URL: {error}")
            }
            Self::InsecureWithCertificateAuthority { cluster } => write!(
                f,
                "cluster {cluster:?} sets both insecure-skip-tls-verify and a certificate authority"
            ),
            Self::ConflictingAuth { user, methods } => write!(
                f,
                "user {user:?} sets more than one authentication method ({}); only one is allowed",
                methods.join(", ")
            ),
            Self::MissingClientKey { user } => {
                write!(
                    f,
                    "user {user:?} has a client certificate but no client-key or client-key-data"
                )
            }
            Self::MissingClientCertificate { user } => write!(
                f,
                "user {user:?} has a client key but no client-certificate or client-certificate-data"
            ),
            Self::ImpersonationWithoutUser { user } => {
                write!(
                    f,
                    "user {user:?} sets as-uid, as-groups or as-user-extra without as"
                )
            }
            Self::ExecMissingApiVersion { user } => write!(f, "user {user:?}: exec needs an apiVersion"),
            Self::ExecMissingInteractiveMode { user } => write!(
                f,
                "user {user:?}: exec with client.authentication.k8s.io/v1 needs interactiveMode \
                 (Never, IfAvailable or Always)"
            ),
        }
    }
}

impl std::error::Error for ResolveError {}

impl Kubeconfig {
    /// Picks the context (the override, else `current-context`), its cluster and user (each
    /// replaceable by an override), and turns them into what a client connects with.
    ///
    /// ```
    /// use klient_proto::config::{Auth, Kubeconfig, Overrides};
    /// let yaml = b"
    /// clusters:
    /// - {name: kind, cluster: {server: 'https://127.0.0.1:40123', certificate-authority-data: Q0E=}}
    /// users:
    /// - {name: admin, user: {token: abc}}
    /// contexts:
    /// - {name: kind, context: {cluster: kind, user: admin, namespace: apps}}
    /// current-context: kind
    /// ";
    /// let config = Kubeconfig::from_bytes(yaml, None).unwrap();
    /// let resolved = config.resolve(&Overrides::default()).unwrap();
    /// assert_eq!(resolved.cluster.server.port, 40123);
    /// assert_eq!(resolved.namespace, "apps");
    /// assert!(matches!(resolved.credentials.auth, Auth::BearerToken(_)));
    /// ```
    pub fn resolve(&self, overrides: &Overrides) -> Result<ResolvedConfig, ResolveError> {
        let context_name = non_empty(&overrides.context).or(self.current_context.clone());
        let context = match &context_name {
            Some(name) => Some(
                &self
                    .context(name)
                    .ok_or_else(|| ResolveError::ContextNotFound { name: name.clone() })?
                    .context,
            ),
            None => None,
        };
        let cluster_name = match (non_empty(&overrides.cluster), context, &context_name) {
            (Some(name), _, _) => name,
            (None, Some(context), Some(context_name)) => {
                context
                    .cluster
                    .clone()
                    .ok_or_else(|| ResolveError::ContextHasNoCluster {
                        context: context_name.clone(),
                    })?
            }
            _ => return Err(ResolveError::NoCurrentContext),
        };
        let named_cluster = self
            .cluster(&cluster_name)
            .ok_or_else(|| ResolveError::ClusterNotFound {
                name: cluster_name.clone(),
            })?;
        let user_name = non_empty(&overrides.user).or_else(|| context.and_then(|c| c.user.clone()));
        let credentials = match &user_name {
            Some(name) => {
                let user = self
                    .auth_info(name)
                    .ok_or_else(|| ResolveError::UserNotFound { name: name.clone() })?;
                credentials(name, &user.auth_info)?
            }
            None => Credentials::default(),
        };
        let cluster = cluster_config(&cluster_name, &named_cluster.cluster, &named_cluster.origin)?;
        let namespace = non_empty(&overrides.namespace)
            .or_else(|| context.and_then(|c| c.namespace.clone()))
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        Ok(ResolvedConfig {
            context: context_name,
            cluster_name: Some(cluster_name),
            user_name,
            cluster,
            credentials,
            namespace,
        })
    }
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value.clone().filter(|v| !v.is_empty())
}

fn cluster_config(
    name: &str,
    cluster: &Cluster,
    origin: &Option<PathBuf>,
) -> Result<ClusterConfig, ResolveError> {
    let certificate_authority = match (
        &cluster.certificate_authority_data,
        &cluster.certificate_authority,
    ) {
        // Inline data wins over a file, as in kubectl.
        (Some(data), _) => Some(Source::Inline(data.clone())),
        (None, Some(path)) => Some(Source::File(path.clone())),
        (None, None) => None,
    };
    if cluster.insecure_skip_tls_verify && certificate_authority.is_some() {
        return Err(ResolveError::InsecureWithCertificateAuthority {
            cluster: name.to_owned(),
        });
    }
    let server = cluster
        .server
        .as_deref()
        .ok_or_else(|| ResolveError::MissingServer {
            cluster: name.to_owned(),
            origin: origin.clone(),
        })?;
    // Like kubectl, a server without a scheme uses TLS only when TLS settings are present.
    let default_scheme = if certificate_authority.is_some() || cluster.insecure_skip_tls_verify {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let server = ServerUrl::parse_with_default_scheme(server, default_scheme).map_err(|error| {
        ResolveError::InvalidServerUrl {
            cluster: name.to_owned(),
            error,
        }
    })?;
    let exec_extension = cluster
        .extensions
        .iter()
        .find(|e| e.name == EXEC_CLUSTER_EXTENSION)
        .map(|e| e.extension.clone());
    Ok(ClusterConfig {
        server,
        certificate_authority,
        tls_server_name: cluster.tls_server_name.clone(),
        insecure_skip_tls_verify: cluster.insecure_skip_tls_verify,
        proxy_url: cluster.proxy_url.clone(),
        disable_compression: cluster.disable_compression,
        exec_extension,
    })
}

fn credentials(name: &str, user: &AuthInfo) -> Result<Credentials, ResolveError> {
    let user_name = || name.to_owned();
    let mut methods = Vec::new();
    if user.token.is_some() || user.token_file.is_some() {
        methods.push("token");
    }
    if user.username.is_some() || user.password.is_some() {
        methods.push("basic");
    }
    if user.exec.is_some() {
        methods.push("exec");
    }
    if user.auth_provider.is_some() {
        methods.push("auth-provider");
    }
    if methods.len() > 1 {
        return Err(ResolveError::ConflictingAuth {
            user: user_name(),
            methods,
        });
    }

    let auth = if let Some(path) = &user.token_file {
        Auth::TokenFile {
            path: path.clone(),
            initial: user.token.clone(),
        }
    } else if let Some(token) = &user.token {
        Auth::BearerToken(token.clone())
    } else if user.username.is_some() || user.password.is_some() {
        Auth::Basic {
            username: user.username.clone().unwrap_or_default(),
            password: user.password.clone().unwrap_or_else(|| SecretString::new("")),
        }
    } else if let Some(exec) = &user.exec {
        let mut exec = exec.clone();
        let Some(version) = exec.api_version.as_deref() else {
            return Err(ResolveError::ExecMissingApiVersion { user: user_name() });
        };
        if exec.interactive_mode.is_none() {
            // v1 made the mode mandatory; older versions default to IfAvailable.
            if version == "client.authentication.k8s.io/v1" {
                return Err(ResolveError::ExecMissingInteractiveMode { user: user_name() });
            }
            exec.interactive_mode = Some(InteractiveMode::IfAvailable);
        }
        Auth::Exec(exec)
    } else if let Some(provider) = &user.auth_provider {
        Auth::AuthProvider(provider.clone())
    } else {
        Auth::None
    };

    let certificate = match (&user.client_certificate_data, &user.client_certificate) {
        (Some(data), _) => Some(Source::Inline(data.clone())),
        (None, Some(path)) => Some(Source::File(path.clone())),
        (None, None) => None,
    };
    let key = match (&user.client_key_data, &user.client_key) {
        (Some(data), _) => Some(Source::Inline(data.clone())),
        (None, Some(path)) => Some(Source::File(path.clone())),
        (None, None) => None,
    };
    let client_certificate = match (certificate, key) {
        (Some(certificate), Some(key)) => Some(ClientCertificate { certificate, key }),
        (Some(_), None) => return Err(ResolveError::MissingClientKey { user: user_name() }),
        (None, Some(_)) => return Err(ResolveError::MissingClientCertificate { user: user_name() }),
        (None, None) => None,
    };

    let impersonation = match &user.impersonate {
        Some(as_user) => Some(Impersonation {
            user: as_user.clone(),
            uid: user.impersonate_uid.clone(),
            groups: user.impersonate_groups.clone(),
            extra: user.impersonate_user_extra.clone(),
        }),
        None if user.impersonate_uid.is_some()
            || !user.impersonate_groups.is_empty()
            || !user.impersonate_user_extra.is_empty() =>
        {
            return Err(ResolveError::ImpersonationWithoutUser { user: user_name() });
        }
        None => None,
    };
    Ok(Credentials {
        auth,
        client_certificate,
        impersonation,
    })
}
