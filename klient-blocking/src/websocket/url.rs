//! `ws://` URLs: the parts a client needs to connect and to write the request line.

/// A parsed `ws://host[:port][/path][?query]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WsUrl {
    /// Host name or IP address, IPv6 without brackets, for resolving.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The `Host` header value: the authority as written.
    pub(crate) authority: String,
    /// Path and query, at least `/`.
    pub(crate) target: String,
}

/// Parses a `ws://` URL; the error says what is wrong with it.
pub(crate) fn parse(url: &str) -> Result<WsUrl, String> {
    let (scheme, rest) = url.split_once("://").ok_or("no scheme")?;
    if scheme.eq_ignore_ascii_case("wss") {
        return Err("wss:// needs TLS: connect the stream yourself and use WebSocket::client".into());
    }
    if !scheme.eq_ignore_ascii_case("ws") {
        return Err(format!("scheme {scheme:?} is not ws"));
    }
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(split);
    if target.starts_with('#') || target.contains('#') {
        return Err("a WebSocket URL has no fragment".into());
    }
    if authority.contains('@') {
        return Err("user information in the URL is not supported".into());
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or("unclosed [ in host")?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or("junk after ]")?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("empty host".into());
    }
    let port = match port {
        None => 80,
        Some(p) => p.parse().map_err(|_| format!("invalid port {p:?}"))?,
    };
    let target = match target {
        "" => "/".to_owned(),
        t if t.starts_with('?') => format!("/{t}"),
        t => t.to_owned(),
    };
    Ok(WsUrl {
        host: host.to_owned(),
        port,
        authority: authority.to_owned(),
        target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_path_and_query() {
        let url = parse("ws://127.0.0.1:9001/runCase?case=3&agent=klient").unwrap();
        assert_eq!(url.host, "127.0.0.1");
        assert_eq!(url.port, 9001);
        assert_eq!(url.authority, "127.0.0.1:9001");
        assert_eq!(url.target, "/runCase?case=3&agent=klient");
    }

    #[test]
    fn defaults_port_and_path() {
        let url = parse("WS://example.com").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.target.as_str()),
            ("example.com", 80, "/")
        );
        assert_eq!(parse("ws://h?x=1").unwrap().target, "/?x=1");
    }

    #[test]
    fn ipv6_literal() {
        let url = parse("ws://[::1]:8080/a").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 8080));
        assert_eq!(url.authority, "[::1]:8080");
        assert_eq!(parse("ws://[::1]/").unwrap().port, 80);
    }

    #[test]
    fn rejects_bad_urls() {
        for bad in [
            "wss://h/",
            "http://h/",
            "h:80/",
            "ws:///x",
            "ws://h:99999/",
            "ws://h:x/",
            "ws://[::1/",
            "ws://[::1]x/",
            "ws://u@h/",
            "ws://h/#frag",
        ] {
            assert!(parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
