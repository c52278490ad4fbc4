//! Which HTTP proxy, if any, carries the connection to the API server: the kubeconfig's
//! `proxy-url`, else `HTTPS_PROXY`/`HTTP_PROXY` minus the hosts `NO_PROXY` exempts, as client-go
//! does. The connection goes through the proxy as an HTTP `CONNECT` tunnel.

use std::fmt;
use std::net::IpAddr;

use base64::Engine;

use super::secret::SecretString;
use super::server_url::{Host, Scheme, ServerUrl, UrlError};

/// An HTTP proxy to tunnel through.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// The proxy's own address (its scheme is `http`; TLS to the proxy is not supported).
    pub url: ServerUrl,
    /// The `Proxy-Authorization` value when the URL carried `user:password@`.
    pub authorization: Option<SecretString>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("url", &self.url.to_string())
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A URL as `Debug` shows it where it may be a proxy URL: the `user:password@` that carries a
/// proxy's credentials is shown as `<redacted>@`; the rest (scheme, host, port) as written.
///
/// Everything up to the last `@` after the scheme counts as credentials, so a password with an
/// unescaped `/` or `@` is hidden too.
pub(crate) struct RedactedUrl<'a>(pub(crate) &'a str);

impl fmt::Debug for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.0;
        let authority_start = url.find("://").map_or(0, |at| at + 3);
        match url[authority_start..].rfind('@') {
            Some(at) => {
                let host = &url[authority_start + at..];
                let shown = format!("{}<redacted>{host}", &url[..authority_start]);
                fmt::Debug::fmt(shown.as_str(), f)
            }
            None => fmt::Debug::fmt(url, f),
        }
    }
}

/// Why a proxy setting cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyError {
    /// The URL does not parse (the reason says why).
    InvalidUrl {
        /// Where the URL came from: `proxy-url`, `HTTPS_PROXY`, ...
        setting: &'static str,
        /// What is wrong with it.
        reason: UrlError,
    },
    /// A scheme other than `http://` (for example `socks5://` or `https://`).
    UnsupportedScheme {
        /// Where the URL came from.
        setting: &'static str,
        /// The scheme named.
        scheme: String,
    },
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl { setting, reason } => write!(f, "{setting}: {reason}"),
            Self::UnsupportedScheme { setting, scheme } => {
                write!(
                    f,
                    "{setting}: proxies of scheme {scheme:?} are not supported (only http://)"
                )
            }
        }
    }
}

impl std::error::Error for ProxyError {}

/// The proxy-related environment, handed in by the adapter (`None` for unset variables; the
/// upper-case name wins over the lower-case one, as in Go's `httpproxy`). `Debug` hides the
/// proxies' `user:password@`.
#[derive(Clone, Copy, Default)]
pub struct ProxyEnv<'a> {
    /// `HTTPS_PROXY` / `https_proxy`.
    pub https_proxy: Option<&'a str>,
    /// `HTTP_PROXY` / `http_proxy`.
    pub http_proxy: Option<&'a str>,
    /// `NO_PROXY` / `no_proxy`.
    pub no_proxy: Option<&'a str>,
}

impl fmt::Debug for ProxyEnv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyEnv")
            .field("https_proxy", &self.https_proxy.map(RedactedUrl))
            .field("http_proxy", &self.http_proxy.map(RedactedUrl))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

/// The proxy for `server`: `proxy_url` from the kubeconfig when set (never exempted), else the
/// environment's proxy for the server's scheme unless `NO_PROXY` exempts the host.
pub fn select_proxy(
    server: &ServerUrl,
    proxy_url: Option<&str>,
    env: &ProxyEnv<'_>,
) -> Result<Option<Proxy>, ProxyError> {
    if let Some(url) = proxy_url.filter(|u| !u.is_empty()) {
        return parse_proxy("proxy-url", url).map(Some);
    }
    let (setting, value) = match server.scheme {
        Scheme::Https => ("HTTPS_PROXY", env.https_proxy),
        Scheme::Http => ("HTTP_PROXY", env.http_proxy),
    };
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    if env.no_proxy.is_some_and(|list| exempted(list, server)) {
        return Ok(None);
    }
    parse_proxy(setting, value.trim()).map(Some)
}

fn parse_proxy(setting: &'static str, text: &str) -> Result<Proxy, ProxyError> {
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        // A bare host:port means http, as Go reads it.
        None => ("http".to_owned(), text),
    };
    if scheme != "http" {
        return Err(ProxyError::UnsupportedScheme { setting, scheme });
    }
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (Some(userinfo), host_port),
        None => (None, authority),
    };
    let url = ServerUrl::parse_with_default_scheme(&format!("http://{host_port}{path}"), Scheme::Http)
        .map_err(|reason| ProxyError::InvalidUrl { setting, reason })?;
    let authorization = userinfo.map(|userinfo| {
        let decoded = percent_decode(userinfo);
        let encoded = base64::engine::general_purpose::STANDARD.encode(decoded);
        SecretString::new(format!("Basic {encoded}"))
    });
    Ok(Proxy { url, authorization })
}

/// `%XX` escapes in `user:password` (a password may hold `@` or `:`).
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// Whether a `NO_PROXY` list exempts the server: `*`; an IP; a CIDR block; a domain, which also
/// covers its subdomains (a leading `.` or `*.` is the same); each optionally with `:port`.
fn exempted(list: &str, server: &ServerUrl) -> bool {
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            if let Some((network, bits)) = entry.split_once('/') {
                return match (&server.host, network.parse::<IpAddr>(), bits.parse::<u8>()) {
                    (Host::Ip(ip), Ok(network), Ok(bits)) => in_cidr(*ip, network, bits),
                    _ => false,
                };
            }
            let (name, port) = split_entry_port(entry);
            if port.is_some_and(|p| p != server.port) {
                return false;
            }
            match &server.host {
                Host::Ip(ip) => {
                    name.trim_start_matches('[')
                        .trim_end_matches(']')
                        .parse::<IpAddr>()
                        .ok()
                        == Some(*ip)
                }
                Host::Domain(domain) => {
                    let name = name
                        .trim_start_matches("*.")
                        .trim_start_matches('.')
                        .to_ascii_lowercase();
                    !name.is_empty() && (*domain == name || domain.ends_with(&format!(".{name}")))
                }
            }
        })
}

fn split_entry_port(entry: &str) -> (&str, Option<u16>) {
    // `[::1]:443`, `host:443`; a bare IPv6 address has several colons and no port.
    if let Some(rest) = entry.strip_prefix('[')
        && let Some((ip, tail)) = rest.split_once(']')
    {
        return (ip, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match entry.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => match port.parse() {
            Ok(port) => (name, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

fn in_cidr(ip: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(url: &str) -> ServerUrl {
        ServerUrl::parse(url).unwrap()
    }

    fn env<'a>(https: &'a str, no_proxy: &'a str) -> ProxyEnv<'a> {
        ProxyEnv {
            https_proxy: Some(https),
            http_proxy: None,
            no_proxy: Some(no_proxy),
        }
    }

    #[test]
    fn kubeconfig_proxy_wins_and_is_never_exempted() {
        let proxy = select_proxy(
            &server("https://10.0.0.1:6443"),
            Some("http://p:3128"),
            &env("http://e:1", "*"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(proxy.url.authority(), "p:3128");
    }

    #[test]
    fn environment_proxy_for_https_servers() {
        let proxy = select_proxy(
            &server("https://api.example.com"),
            None,
            &env("proxy.corp:8080", ""),
        )
        .unwrap();
        assert_eq!(proxy.unwrap().url.authority(), "proxy.corp:8080");
        let none = select_proxy(
            &server("http://api.example.com"),
            None,
            &env("proxy.corp:8080", ""),
        )
        .unwrap();
        assert!(none.is_none(), "HTTPS_PROXY does not apply to an http:// server");
    }

    #[test]
    fn no_proxy_forms() {
        let cases = [
            ("https://api.example.com", "example.com", true),
            ("https://api.example.com", ".example.com", true),
            ("https://api.example.com", "*.example.com", true),
            ("https://example.com", "example.com", true),
            ("https://badexample.com", "example.com", false),
            ("https://10.1.2.3:6443", "10.0.0.0/8", true),
            ("https://11.1.2.3:6443", "10.0.0.0/8", false),
            ("https://10.1.2.3:6443", "10.1.2.3", true),
            ("https://10.1.2.3:6443", "10.1.2.3:6443", true),
            ("https://10.1.2.3:6443", "10.1.2.3:443", false),
            ("https://[fd00::1]:6443", "fd00::/8", true),
            ("https://[fd00::1]:6443", "[fd00::1]:6443", true),
            ("https://anything", "*", true),
            ("https://anything", " , ,", false),
            ("https://host", "host/99", false),
        ];
        for (url, list, expected) in cases {
            let chosen = select_proxy(&server(url), None, &env("http://p:1", list)).unwrap();
            assert_eq!(chosen.is_none(), expected, "{url} with NO_PROXY={list}");
        }
    }

    #[test]
    fn credentials_become_a_redacted_basic_header() {
        let proxy = parse_proxy("HTTPS_PROXY", "http://al%40ice:p%3Ass@proxy:3128").unwrap();
        let expected = base64::engine::general_purpose::STANDARD.encode("al@ice:p:ss");
        assert_eq!(
            proxy.authorization.as_ref().unwrap().expose(),
            format!("Basic {expected}")
        );
        let debug = format!("{proxy:?}");
        assert!(
            !debug.contains(&expected) && debug.contains("<redacted>"),
            "{debug}"
        );
    }

    #[test]
    fn unsupported_and_malformed_proxies_are_errors() {
        let err = parse_proxy("HTTPS_PROXY", "socks5://p:1080").unwrap_err();
        assert!(matches!(err, ProxyError::UnsupportedScheme { .. }), "{err}");
        assert!(parse_proxy("proxy-url", "http://p:notaport").is_err());
        assert!(parse_proxy("proxy-url", "http://").is_err());
    }
}
