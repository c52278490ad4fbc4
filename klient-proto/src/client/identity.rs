//! What every request to one API server carries, whoever builds it: the server URL's base path,
//! the client's User-Agent, impersonation headers, and the request for gzip. Applied once per
//! call, before the first attempt: retries and credential refreshes send the same request again
//! and must not add any of it a second time. The credential itself belongs to each attempt (it
//! may be renewed between attempts), so it is not part of this.

use std::fmt;

use http::header::{self, HeaderName, HeaderValue};

use crate::config::ResolvedConfig;
use crate::http::accept_gzip;

/// The User-Agent klient sends unless told otherwise.
pub const USER_AGENT: &str = concat!("klient/", env!("CARGO_PKG_VERSION"));

/// The fixed parts of every request to one server.
#[derive(Debug, Clone)]
pub struct RequestIdentity {
    base_path: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    gzip: bool,
}

/// A request that cannot be prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityError {
    /// An impersonation name or value cannot be sent as a header.
    InvalidImpersonation {
        /// The header it was meant for.
        header: String,
    },
    /// The server URL's base path and the request's path together are not a valid URI.
    InvalidPath {
        /// The server URL's path.
        base_path: String,
    },
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityError::InvalidImpersonation { header } => {
                write!(
                    f,
                    "the kubeconfig's impersonation value for {header} cannot be sent as a header"
                )
            }
            IdentityError::InvalidPath { base_path } => {
                write!(
                    f,
                    "the server's base path {base_path:?} does not form a valid URI with the request"
                )
            }
        }
    }
}

impl std::error::Error for IdentityError {}

impl RequestIdentity {
    /// The identity of requests made with `config`: its server's base path, impersonation and
    /// compression settings, and klient's User-Agent.
    pub fn new(config: &ResolvedConfig) -> Result<Self, IdentityError> {
        let mut headers = vec![(header::USER_AGENT, HeaderValue::from_static(USER_AGENT))];
        if let Some(impersonation) = &config.credentials.impersonation {
            let mut add = |name: &str, value: &str| -> Result<(), IdentityError> {
                let invalid = || IdentityError::InvalidImpersonation {
                    header: name.to_owned(),
                };
                let header = HeaderName::try_from(name).map_err(|_| invalid())?;
                let value = HeaderValue::try_from(value).map_err(|_| invalid())?;
                headers.push((header, value));
                Ok(())
            };
            add("Impersonate-User", &impersonation.user)?;
            if let Some(uid) = &impersonation.uid {
                add("Impersonate-Uid", uid)?;
            }
            for group in &impersonation.groups {
                add("Impersonate-Group", group)?;
            }
            for (key, values) in &impersonation.extra {
                for value in values {
                    add(&format!("Impersonate-Extra-{key}"), value)?;
                }
            }
        }
        Ok(RequestIdentity {
            base_path: config.cluster.server.base_path.clone(),
            headers,
            gzip: !config.cluster.disable_compression,
        })
    }

    /// Replaces the User-Agent (an application naming itself, as kubectl does).
    pub fn set_user_agent(&mut self, value: HeaderValue) {
        self.headers.retain(|(name, _)| name != header::USER_AGENT);
        self.headers.insert(0, (header::USER_AGENT, value));
    }

    /// `request` as it goes to this server: the base path before its path, the identity headers
    /// added (a User-Agent the request already has is kept), gzip asked for.
    pub fn prepare<B>(&self, request: http::Request<B>) -> Result<http::Request<B>, IdentityError> {
        let (mut parts, body) = request.into_parts();
        if !self.base_path.is_empty() {
            let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
            parts.uri =
                format!("{}{target}", self.base_path)
                    .parse()
                    .map_err(|_| IdentityError::InvalidPath {
                        base_path: self.base_path.clone(),
                    })?;
        }
        for (name, value) in &self.headers {
            if name == header::USER_AGENT && parts.headers.contains_key(header::USER_AGENT) {
                continue;
            }
            parts.headers.append(name.clone(), value.clone());
        }
        if self.gzip {
            accept_gzip(&mut parts.headers);
        }
        Ok(http::Request::from_parts(parts, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Kubeconfig;

    fn resolved(extra_user: &str, server: &str) -> ResolvedConfig {
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: '{server}'}}\n\
             users:\n- name: u\n  user: {{{extra_user}}}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\n\
             current-context: x\n"
        );
        Kubeconfig::from_bytes(kubeconfig.as_bytes(), None)
            .unwrap()
            .resolve(&Default::default())
            .unwrap()
    }

    #[test]
    fn base_path_headers_and_gzip_are_added_once() {
        let config = resolved("as: alice, as-groups: [dev, ops]", "https://host:6443/prefix");
        let identity = RequestIdentity::new(&config).unwrap();
        let request = http::Request::get("/api/v1/pods?limit=1").body(()).unwrap();
        let prepared = identity.prepare(request).unwrap();
        assert_eq!(prepared.uri(), "/prefix/api/v1/pods?limit=1");
        assert_eq!(prepared.headers().get_all("impersonate-group").iter().count(), 2);
        assert_eq!(prepared.headers().get_all(header::USER_AGENT).iter().count(), 1);
        assert_eq!(prepared.headers()[header::ACCEPT_ENCODING], "gzip");
    }

    #[test]
    fn a_request_naming_its_user_agent_keeps_it() {
        let mut identity = RequestIdentity::new(&resolved("", "https://host")).unwrap();
        identity.set_user_agent(HeaderValue::from_static("mine/1"));
        let request = http::Request::get("/version")
            .header(header::USER_AGENT, "theirs/2")
            .body(())
            .unwrap();
        let prepared = identity.prepare(request).unwrap();
        assert_eq!(
            prepared
                .headers()
                .get_all(header::USER_AGENT)
                .iter()
                .collect::<Vec<_>>(),
            ["theirs/2"]
        );
        let prepared = identity
            .prepare(http::Request::get("/version").body(()).unwrap())
            .unwrap();
        assert_eq!(prepared.headers()[header::USER_AGENT], "mine/1");
    }
}
