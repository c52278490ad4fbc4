//! The name the server's certificate must carry.

use std::fmt;

use rustls::pki_types;

use super::ConfigError;

/// The name a server's certificate is checked against: the kubeconfig's `tls-server-name` when
/// set, else the host of the server URL. A DNS name is matched against the certificate's DNS
/// subject names, an IP address (`10.0.0.1`, `::1`, `[::1]`) against its IP address names only,
/// as Go's crypto/tls does.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServerName(pki_types::ServerName<'static>);

impl ServerName {
    /// Parses a host as it appears in a URL (an IPv6 address may keep its brackets).
    pub fn parse(host: &str) -> Result<ServerName, ConfigError> {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        pki_types::ServerName::try_from(bare.to_owned())
            .map(ServerName)
            .map_err(|_| ConfigError::InvalidServerName {
                name: host.to_owned(),
            })
    }

    /// Whether this is an IP address rather than a DNS name.
    pub fn is_ip_address(&self) -> bool {
        matches!(self.0, pki_types::ServerName::IpAddress(_))
    }

    /// The rustls form of the name.
    pub fn as_rustls(&self) -> &pki_types::ServerName<'static> {
        &self.0
    }
}

impl From<pki_types::ServerName<'static>> for ServerName {
    fn from(name: pki_types::ServerName<'static>) -> Self {
        ServerName(name)
    }
}

impl fmt::Display for ServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            pki_types::ServerName::DnsName(dns) => f.write_str(dns.as_ref()),
            pki_types::ServerName::IpAddress(ip) => write!(f, "{}", core::net::IpAddr::from(*ip)),
            other => write!(f, "{other:?}"),
        }
    }
}

impl fmt::Debug for ServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerName({self})")
    }
}
