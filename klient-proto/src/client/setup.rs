//! What every adapter's client derives from its [`Config`] before its first request: the proxy
//! (the kubeconfig's or the environment's), the cluster's TLS configuration, the CA bundle the
//! credential machine needs, and the settings of every call. Read once, here, so that no adapter
//! repeats the rules.

use super::{CallError, CallSettings, RequestIdentity, RetryPolicy};
use crate::auth::ClientIdentity;
use crate::config::{Config, Proxy, ProxyEnv, Scheme, read_secret, read_source, select_proxy};
use crate::tls::ClusterTls;
use crate::{Error, Result};

/// A client's fixed parts, made from its configuration.
#[derive(Debug)]
pub struct ClientSetup {
    /// The proxy to tunnel through, if any.
    pub proxy: Option<Proxy>,
    /// The TLS side, for an https server.
    pub tls: Option<ClusterTls>,
    /// The cluster's CA bundle (PEM; empty when the kubeconfig names none), which exec plugins
    /// may be handed.
    pub ca_pem: Vec<u8>,
    identity: RequestIdentity,
    host: String,
    retry: RetryPolicy,
}

impl ClientSetup {
    /// Reads the kubeconfig's CA and client certificate (files or inline) and the proxy
    /// environment (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, either case).
    pub fn new(config: &Config) -> Result<ClientSetup> {
        let cluster = &config.resolved.cluster;
        let env = |upper: &str, lower: &str| std::env::var(upper).or_else(|_| std::env::var(lower)).ok();
        let https_proxy = env("HTTPS_PROXY", "https_proxy");
        let http_proxy = env("HTTP_PROXY", "http_proxy");
        let no_proxy = env("NO_PROXY", "no_proxy");
        let proxy_env = ProxyEnv {
            https_proxy: https_proxy.as_deref(),
            http_proxy: http_proxy.as_deref(),
            no_proxy: no_proxy.as_deref(),
        };
        let proxy = select_proxy(&cluster.server, cluster.proxy_url.as_deref(), &proxy_env)
            .map_err(|e| Error::Unsupported(e.to_string()))?;
        let ca_pem = match &cluster.certificate_authority {
            Some(source) => read_source(source)?,
            None => Vec::new(),
        };
        let tls = match cluster.server.scheme {
            Scheme::Http => None,
            Scheme::Https => {
                let identity = match &config.resolved.credentials.client_certificate {
                    Some(pair) => Some(ClientIdentity {
                        certificate: read_source(&pair.certificate)?,
                        key: read_secret(&pair.key)?,
                    }),
                    None => None,
                };
                // "How long connecting (TCP and TLS) may take": the session keeps the deadline.
                let tls = ClusterTls::new(
                    cluster,
                    ca_pem.clone(),
                    identity,
                    config.transport.connect_timeout,
                );
                Some(tls.map_err(Error::TlsConfig)?)
            }
        };
        Ok(ClientSetup {
            proxy,
            tls,
            ca_pem,
            identity: RequestIdentity::new(&config.resolved)
                .map_err(|e| Error::Call(CallError::Identity(e)))?,
            host: cluster.server.host_header(),
            retry: RetryPolicy {
                max_retries: config.max_retries,
                ..RetryPolicy::default()
            },
        })
    }

    /// The settings of every call, given whether the credential can be renewed after a 401.
    pub fn call_settings(&self, renewable_credential: bool) -> CallSettings {
        CallSettings {
            identity: self.identity.clone(),
            host: self.host.clone(),
            retry: self.retry,
            renewable_credential,
        }
    }
}
