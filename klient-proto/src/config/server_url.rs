//! The API server's URL, split into the parts a client connects with.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `http` or `https`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP (only sensible for a local proxy such as `kubectl proxy`).
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    /// 80 or 443.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }
}

/// The server's host: a DNS name, or an IP address (verified against the certificate's IP SANs).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name, lower-cased.
    Domain(String),
    /// An IPv4 or IPv6 literal (written `[...]` in the URL).
    Ip(IpAddr),
}

impl fmt::Display for Host {
    /// As in a URL: IPv6 in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Domain(name) => f.write_str(name),
            Self::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Self::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
        }
    }
}

/// An API server URL: `https://host:port/base/path`.
///
/// ```
/// use klient_proto::config::{Host, Scheme, ServerUrl};
/// let url = ServerUrl::parse("https://[fd00::1]:6443/k8s/").unwrap();
/// assert_eq!(url.scheme, Scheme::Https);
/// assert_eq!(url.host, Host::Ip("fd00::1".parse().unwrap()));
/// assert_eq!(url.port, 6443);
/// assert_eq!(url.base_path, "/k8s");
/// assert_eq!(url.to_string(), "https://[fd00::1]:6443/k8s");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerUrl {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// Host name or IP address.
    pub host: Host,
    /// The port, the scheme's default when the URL has none.
    pub port: u16,
    /// A path prefix for every request (a server behind a path-routing proxy), without trailing
    /// `/`; empty for most servers.
    pub base_path: String,
}

/// Why a server URL was rejected. The URL itself is not repeated: it may carry a password.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// The URL is empty.
    Empty,
    /// The scheme is neither `http` nor `https`.
    UnsupportedScheme,
    /// There is no host.
    MissingHost,
    /// The host is neither a DNS name nor an IP literal.
    InvalidHost,
    /// The port is not a number from 1 to 65535.
    InvalidPort,
    /// `user:password@` is not supported in a server URL.
    UserInfo,
    /// A server URL has no use for `?query` or `#fragment`.
    QueryOrFragment,
    /// The path holds spaces or control characters.
    InvalidPath,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "the URL is empty",
            Self::UnsupportedScheme => "the scheme must be http or https",
            Self::MissingHost => "the URL has no host",
            Self::InvalidHost => "the host is neither a DNS name nor an IP address",
            Self::InvalidPort => "the port must be a number from 1 to 65535",
            Self::UserInfo => "user:password@ is not supported in a server URL",
            Self::QueryOrFragment => "a server URL cannot have a ?query or #fragment",
            Self::InvalidPath => "the path holds spaces or control characters",
        })
    }
}

impl std::error::Error for UrlError {}

impl ServerUrl {
    /// Parses a server URL. Without a scheme (`example.com:6443`) it is taken as `https`.
    pub fn parse(text: &str) -> Result<Self, UrlError> {
        Self::parse_with_default_scheme(text, Scheme::Https)
    }

    /// Parses a server URL, using `default_scheme` when it has none.
    pub fn parse_with_default_scheme(text: &str, default_scheme: Scheme) -> Result<Self, UrlError> {
        if text.is_empty() {
            return Err(UrlError::Empty);
        }
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (Scheme::Https, rest),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (Scheme::Http, rest),
            Some(_) => return Err(UrlError::UnsupportedScheme),
            None => (default_scheme, text),
        };
        if rest.contains(['?', '#']) {
            return Err(UrlError::QueryOrFragment);
        }
        let (authority, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(UrlError::UserInfo);
        }
        let (host, port) = split_host_port(authority)?;
        let port = match port {
            None => scheme.default_port(),
            Some(digits) => parse_port(digits)?,
        };
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::InvalidPath);
        }
        let base_path = path.trim_end_matches('/').to_owned();
        Ok(Self {
            scheme,
            host,
            port,
            base_path,
        })
    }

    /// `host:port` with the port always written: for `CONNECT` through a proxy and for logs.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The `Host` header value: the port is left out when it is the scheme's default.
    pub fn host_header(&self) -> String {
        if self.port == self.scheme.default_port() {
            self.host.to_string()
        } else {
            self.authority()
        }
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}{}",
            self.scheme.as_str(),
            self.host_header(),
            self.base_path
        )
    }
}

fn split_host_port(authority: &str) -> Result<(Host, Option<&str>), UrlError> {
    if authority.is_empty() {
        return Err(UrlError::MissingHost);
    }
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (literal, after) = bracketed.split_once(']').ok_or(UrlError::InvalidHost)?;
        let ip: Ipv6Addr = literal.parse().map_err(|_| UrlError::InvalidHost)?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(UrlError::InvalidHost)?),
        };
        return Ok((Host::Ip(IpAddr::V6(ip)), port));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if host.is_empty() {
        return Err(UrlError::MissingHost);
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok((Host::Ip(IpAddr::V4(ip)), port));
    }
    // One trailing dot marks a fully qualified name.
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.len() > 253 || !is_name(name) {
        return Err(UrlError::InvalidHost);
    }
    Ok((Host::Domain(host.to_ascii_lowercase()), port))
}

fn is_name(host: &str) -> bool {
    host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

fn parse_port(digits: &str) -> Result<u16, UrlError> {
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::InvalidPort);
    }
    match digits.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(UrlError::InvalidPort),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ServerUrl {
        ServerUrl::parse(text).unwrap()
    }

    #[test]
    fn default_ports_follow_the_scheme() {
        let https = parse("https://kube.example.com");
        assert_eq!((https.scheme, https.port), (Scheme::Https, 443));
        assert_eq!(https.host, Host::Domain("kube.example.com".into()));
        let http = parse("HTTP://localhost");
        assert_eq!((http.scheme, http.port), (Scheme::Http, 80));
        assert_eq!(http.host_header(), "localhost");
        assert_eq!(http.authority(), "localhost:80");
    }

    #[test]
    fn ports_ipv4_ipv6_and_base_paths() {
        let v4 = parse("https://127.0.0.1:6443");
        assert_eq!(v4.host, Host::Ip("127.0.0.1".parse().unwrap()));
        assert_eq!(v4.port, 6443);
        assert_eq!(v4.host_header(), "127.0.0.1:6443");
        let v6 = parse("https://[::1]");
        assert_eq!(v6.host, Host::Ip("::1".parse().unwrap()));
        assert_eq!((v6.port, v6.authority()), (443, "[::1]:443".to_owned()));
        let routed = parse("https://Proxy.Example.com:8443/clusters/c1///");
        assert_eq!(routed.host, Host::Domain("proxy.example.com".into()));
        assert_eq!(routed.base_path, "/clusters/c1");
        assert_eq!(routed.to_string(), "https://proxy.example.com:8443/clusters/c1");
        assert_eq!(
            parse("https://a.example.").host,
            Host::Domain("a.example.".into())
        );
    }

    #[test]
    fn scheme_defaults_when_missing() {
        assert_eq!(parse("example.com:6443").scheme, Scheme::Https);
        let plain = ServerUrl::parse_with_default_scheme("localhost:8080", Scheme::Http).unwrap();
        assert_eq!((plain.scheme, plain.port), (Scheme::Http, 8080));
    }

    #[test]
    fn malformed_urls_are_rejected_precisely() {
        let cases = [
            ("", UrlError::Empty),
            ("ftp://x", UrlError::UnsupportedScheme),
            ("https://", UrlError::MissingHost),
            ("https://:443", UrlError::MissingHost),
            ("https://a:0", UrlError::InvalidPort),
            ("https://a:65536", UrlError::InvalidPort),
            ("https://a:", UrlError::InvalidPort),
            ("https://a:+1", UrlError::InvalidPort),
            ("https://[::1", UrlError::InvalidHost),
            ("https://[zz::1]", UrlError::InvalidHost),
            ("https://[::1]x", UrlError::InvalidHost),
            ("https://a b", UrlError::InvalidHost),
            ("https://a..b", UrlError::InvalidHost),
            ("https://user:s3cret@host", UrlError::UserInfo),
            ("https://host/?watch=1", UrlError::QueryOrFragment),
            ("https://host/a b", UrlError::InvalidPath),
            ("https://::1", UrlError::InvalidHost),
        ];
        for (text, expected) in cases {
            assert_eq!(ServerUrl::parse(text), Err(expected.clone()), "{text}");
            assert!(!expected.to_string().contains("s3cret"));
        }
    }
}
