//! The client: a connection pool to one API server, credentials, and retries.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use klient_proto::config::{Proxy, ProxyEnv, Scheme, SecretBytes, Source, select_proxy};
use klient_proto::http::{Event, ResponseDecoder, ResponseHead, accept_gzip, encode_connect, encode_request};
use rustls::ClientConfig;
use rustls::pki_types::ServerName;

use crate::auth::Authorizer;
use crate::config::{Config, read_source};
use crate::exchange::{Answer, Exchange, ExchangeError};
use crate::stream::Stream;
use crate::tls::{self, TlsInputs};
use crate::{Error, Result};

/// Idle connections kept per client; more concurrent requests open more, closed after use.
const MAX_IDLE: usize = 8;
/// The longest `Retry-After` honoured; a server asking for more gets its error back instead.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// A Kubernetes API client. Cheap to clone: clones share the connection pool and credentials.
///
/// ```no_run
/// let client = klient_blocking::Client::try_default()?;
/// println!("talking to {}", client.server());
/// # Ok::<(), klient_blocking::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    tls: Option<TlsSetup>,
    proxy: Option<Proxy>,
    authorizer: Authorizer,
    extra_headers: Vec<(HeaderName, HeaderValue)>,
    pool: Mutex<Vec<Stream>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.server())
            .finish_non_exhaustive()
    }
}

/// A whole response: status, headers and the decoded body.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: StatusCode,
    /// The header fields.
    pub headers: HeaderMap,
    /// The body, with transfer and content codings removed.
    pub body: Vec<u8>,
}

impl Response {
    /// The `Content-Type`, when it has a readable one: which format the body is in.
    pub fn content_type(&self) -> Option<&str> {
        content_type(&self.headers)
    }
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
}

impl Client {
    /// A client from the default kubeconfig chain (`KUBECONFIG`, then `~/.kube/config`).
    pub fn try_default() -> Result<Client> {
        Client::new(Config::infer()?)
    }

    /// A client for an explicit configuration.
    pub fn new(config: Config) -> Result<Client> {
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
        let credentials = &config.resolved.credentials;
        let ca_pem = match &cluster.certificate_authority {
            Some(source) => read_source(source)?,
            None => Vec::new(),
        };
        let tls = match cluster.server.scheme {
            Scheme::Http => None,
            Scheme::Https => {
                let identity = match &credentials.client_certificate {
                    Some(pair) => Some((read_source(&pair.certificate)?, read_secret(&pair.key)?)),
                    None => None,
                };
                let inputs = TlsInputs {
                    ca_pem: ca_pem.clone(),
                    identity,
                    insecure: cluster.insecure_skip_tls_verify,
                };
                let name = cluster
                    .tls_server_name
                    .clone()
                    .unwrap_or_else(|| cluster.server.host.to_string());
                Some(TlsSetup {
                    base: tls::client_config(&inputs)?,
                    name: tls::server_name(&name)?,
                    inputs,
                    exec_identity: Mutex::new(None),
                })
            }
        };
        let authorizer = Authorizer::new(&credentials.auth, cluster, &ca_pem)?;
        let mut extra_headers = vec![(
            header::USER_AGENT,
            HeaderValue::from_static(concat!("klient/", env!("CARGO_PKG_VERSION"))),
        )];
        if let Some(imp) = &credentials.impersonation {
            let mut add = |name: &str, value: &str| -> Result<()> {
                let name =
                    HeaderName::try_from(name).map_err(|_| Error::Auth(format!("bad header name {name}")))?;
                let value = HeaderValue::try_from(value).map_err(|_| {
                    Error::Auth(format!("impersonation value for {name} is not a valid header"))
                })?;
                extra_headers.push((name, value));
                Ok(())
            };
            add("Impersonate-User", &imp.user)?;
            if let Some(uid) = &imp.uid {
                add("Impersonate-Uid", uid)?;
            }
            for group in &imp.groups {
                add("Impersonate-Group", group)?;
            }
            for (key, values) in &imp.extra {
                for value in values {
                    add(&format!("Impersonate-Extra-{key}"), value)?;
                }
            }
        }
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                tls,
                proxy,
                authorizer,
                extra_headers,
                pool: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The API server's URL.
    pub fn server(&self) -> String {
        self.inner.config.resolved.cluster.server.to_string()
    }

    /// The namespace the kubeconfig context names (`default` when it names none).
    pub fn default_namespace(&self) -> &str {
        self.inner.config.default_namespace()
    }

    /// The configuration this client was made from.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Sends a request built by [`klient_proto::api`] and reads the whole response, trying again
    /// on 429/503/504 as the server's `Retry-After` asks (at most `max_retries` times).
    pub fn send(&self, request: http::Request<Vec<u8>>) -> Result<Response> {
        let request = self.prepare(request)?;
        let mut attempt = 0;
        loop {
            let (head, mut exchange) = self.execute(&request, Some(self.inner.config.read_timeout))?;
            let body = exchange.read_body().map_err(exchange_error)?;
            self.check_in(exchange.finish());
            if head.status == StatusCode::UNAUTHORIZED && self.inner.authorizer.can_refresh() {
                // A rotated token file or an expired plugin credential: fetch it again, drop
                // connections authenticated with the old one, and try once more.
                self.inner.authorizer.invalidate();
                self.inner.pool.lock().unwrap_or_else(|p| p.into_inner()).clear();
                let request = self.prepare(strip_auth(request.clone()))?;
                return self.send_prepared_once(request);
            }
            if let Some(delay) = self.retry_delay(request.method(), &head, attempt) {
                attempt += 1;
                log::debug!(
                    "{} answered {}; trying again in {delay:?}",
                    request.uri(),
                    head.status
                );
                std::thread::sleep(delay);
                continue;
            }
            return Ok(Response {
                status: head.status,
                headers: head.headers,
                body,
            });
        }
    }

    fn send_prepared_once(&self, request: http::Request<Vec<u8>>) -> Result<Response> {
        let (head, mut exchange) = self.execute(&request, Some(self.inner.config.read_timeout))?;
        let body = exchange.read_body().map_err(exchange_error)?;
        self.check_in(exchange.finish());
        Ok(Response {
            status: head.status,
            headers: head.headers,
            body,
        })
    }

    /// Sends a request whose response body is a long-lived stream (a watch, followed logs). A
    /// response that is not a success is read whole and returned as an error.
    pub fn send_streaming(&self, request: http::Request<Vec<u8>>) -> Result<BodyStream> {
        let request = self.prepare(request)?;
        let mut attempt = 0;
        loop {
            let (head, mut exchange) = self.execute(&request, None)?;
            if head.status.is_success() {
                return Ok(BodyStream {
                    exchange: Some(exchange),
                    client: self.clone(),
                    current: Bytes::new(),
                    headers: head.headers,
                });
            }
            let body = exchange.read_body().map_err(exchange_error)?;
            self.check_in(exchange.finish());
            if let Some(delay) = self.retry_delay(request.method(), &head, attempt) {
                attempt += 1;
                std::thread::sleep(delay);
                continue;
            }
            return Err(klient_proto::api::decode_error(head.status.as_u16(), &body).into());
        }
    }

    /// Adds what every request carries: the server's base path, credentials, identity headers,
    /// and a request for gzip.
    fn prepare(&self, request: http::Request<Vec<u8>>) -> Result<http::Request<Vec<u8>>> {
        let (mut parts, body) = request.into_parts();
        let base = &self.inner.config.resolved.cluster.server.base_path;
        if !base.is_empty() {
            let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
            parts.uri = format!("{base}{target}").parse().map_err(|_| {
                Error::Unsupported(format!("server base path {base:?} does not form a valid URI"))
            })?;
        }
        if !parts.headers.contains_key(header::AUTHORIZATION)
            && let Some(value) = self.inner.authorizer.header()?
        {
            parts.headers.insert(header::AUTHORIZATION, value);
        }
        for (name, value) in &self.inner.extra_headers {
            parts.headers.append(name.clone(), value.clone());
        }
        if !self.inner.config.resolved.cluster.disable_compression {
            accept_gzip(&mut parts.headers);
        }
        Ok(http::Request::from_parts(parts, body))
    }

    /// Writes the request on a pooled or new connection and reads the response head. A pooled
    /// connection the server already closed is replaced without counting as a failure.
    fn execute(
        &self,
        request: &http::Request<Vec<u8>>,
        read_timeout: Option<Duration>,
    ) -> Result<(ResponseHead, Exchange)> {
        let mut bytes = Vec::new();
        encode_request(
            request,
            &self.inner.config.resolved.cluster.server.host_header(),
            &mut bytes,
        )
        .map_err(Error::Encode)?;
        for _ in 0..=MAX_IDLE {
            let (stream, reused) = self.check_out()?;
            stream.set_read_timeout(read_timeout).map_err(Error::Io)?;
            match Exchange::start(stream, request.method(), &bytes, self.inner.config.limits, reused) {
                Ok(Answer::Response(head, exchange)) => return Ok((head, *exchange)),
                Ok(Answer::Upgraded(head, ..)) => {
                    return Err(Error::Stream(format!(
                        "unexpected {} to a plain request",
                        head.status
                    )));
                }
                Err(ExchangeError::Stale(_)) => continue,
                Err(e) => return Err(exchange_error(e)),
            }
        }
        Err(Error::Io(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "every pooled connection was closed",
        )))
    }

    /// Sends an upgrade request (WebSocket) and hands over the connection after the 101.
    pub(crate) fn upgrade(&self, request: http::Request<Vec<u8>>) -> Result<(ResponseHead, Stream, Bytes)> {
        let request = self.prepare(request)?;
        let mut bytes = Vec::new();
        encode_request(
            &request,
            &self.inner.config.resolved.cluster.server.host_header(),
            &mut bytes,
        )
        .map_err(Error::Encode)?;
        // Never a pooled connection: it is about to stop speaking HTTP.
        let stream = self.connect()?;
        stream
            .set_read_timeout(Some(self.inner.config.read_timeout))
            .map_err(Error::Io)?;
        match Exchange::start(stream, request.method(), &bytes, self.inner.config.limits, false) {
            Ok(Answer::Upgraded(head, stream, leftover)) => Ok((head, stream, leftover)),
            Ok(Answer::Response(head, mut exchange)) => {
                let body = exchange.read_body().map_err(exchange_error)?;
                Err(klient_proto::api::decode_error(head.status.as_u16(), &body).into())
            }
            Err(e) => Err(exchange_error(e)),
        }
    }

    fn retry_delay(&self, method: &Method, head: &ResponseHead, attempt: u32) -> Option<Duration> {
        if attempt >= self.inner.config.max_retries {
            return None;
        }
        let retry_after = head
            .headers
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let code = head.status.as_u16();
        // With Retry-After the server says the request was not processed and when to come back
        // (as client-go reads it); a 503/504 without it is repeated only for reads. A 429 without
        // it (an eviction blocked by a disruption budget) is an answer, not a retry signal.
        let retryable = match code {
            429 => retry_after.is_some(),
            503 | 504 => retry_after.is_some() || method == Method::GET,
            _ => false,
        };
        if !retryable {
            return None;
        }
        let delay = retry_after.unwrap_or(Duration::from_millis(500 << attempt.min(5)));
        (delay <= MAX_RETRY_AFTER).then_some(delay)
    }

    fn check_out(&self) -> Result<(Stream, bool)> {
        let pooled = self.inner.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match pooled {
            Some(stream) => Ok((stream, true)),
            None => Ok((self.connect()?, false)),
        }
    }

    pub(crate) fn check_in(&self, stream: Option<Stream>) {
        if let Some(stream) = stream {
            let mut pool = self.inner.pool.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < MAX_IDLE {
                pool.push(stream);
            }
        }
    }

    fn connect(&self) -> Result<Stream> {
        let server = &self.inner.config.resolved.cluster.server;
        let timeout = self.inner.config.connect_timeout;
        let tcp = match &self.inner.proxy {
            None => Stream::connect(&server.host.to_string(), server.port, timeout).map_err(|source| {
                Error::Connect {
                    server: server.authority(),
                    source,
                }
            })?,
            Some(proxy) => self.tunnel(proxy)?,
        };
        match &self.inner.tls {
            None => Ok(Stream::Plain(tcp)),
            Some(setup) => {
                let config = setup.config_for(&self.inner.authorizer)?;
                tcp.set_read_timeout(Some(timeout)).map_err(Error::Io)?;
                Stream::tls(tcp, config, setup.name.clone()).map_err(|e| match e.kind() {
                    io::ErrorKind::InvalidData => {
                        Error::Tls(format!("handshake with {}: {e}", server.authority()))
                    }
                    _ => Error::Connect {
                        server: server.authority(),
                        source: e,
                    },
                })
            }
        }
    }

    /// Opens a TCP connection to the proxy and asks it, with `CONNECT`, for a tunnel to the server.
    fn tunnel(&self, proxy: &Proxy) -> Result<std::net::TcpStream> {
        use std::io::Write;
        let server = &self.inner.config.resolved.cluster.server;
        let timeout = self.inner.config.connect_timeout;
        let proxy_error = |source| Error::Connect {
            server: format!("proxy {}", proxy.url.authority()),
            source,
        };
        let mut tcp =
            Stream::connect(&proxy.url.host.to_string(), proxy.url.port, timeout).map_err(proxy_error)?;
        let authorization = match &proxy.authorization {
            Some(secret) => {
                let mut value = HeaderValue::try_from(secret.expose())
                    .map_err(|_| Error::Auth("proxy credentials are not a valid header".into()))?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let mut request = Vec::new();
        encode_connect(&server.authority(), authorization.as_ref(), &mut request).map_err(Error::Encode)?;
        tcp.write_all(&request).map_err(proxy_error)?;
        tcp.set_read_timeout(Some(timeout)).map_err(proxy_error)?;
        let mut decoder = ResponseDecoder::new(&Method::CONNECT, self.inner.config.limits);
        let mut buf = [0u8; 4096];
        loop {
            match decoder.poll_event().map_err(Error::Http)? {
                Some(Event::Upgraded { leftover, .. }) if leftover.is_empty() => return Ok(tcp),
                Some(Event::Upgraded { .. }) => {
                    return Err(Error::Stream(
                        "the proxy sent bytes before the tunnel's first byte".into(),
                    ));
                }
                Some(Event::Head(head)) => {
                    let refused = format!("CONNECT {} refused: {}", server.authority(), head.status);
                    return Err(proxy_error(io::Error::other(refused)));
                }
                Some(_) => continue,
                None => match tcp.read(&mut buf).map_err(proxy_error)? {
                    0 => decoder.handle_eof(),
                    n => decoder.handle_bytes(&buf[..n]),
                },
            }
        }
    }
}

/// The TLS configuration of a cluster, and the one built for an exec plugin's client certificate.
struct TlsSetup {
    inputs: TlsInputs,
    name: ServerName<'static>,
    base: Arc<ClientConfig>,
    exec_identity: Mutex<Option<(Vec<u8>, Arc<ClientConfig>)>>,
}

impl TlsSetup {
    fn config_for(&self, authorizer: &Authorizer) -> Result<Arc<ClientConfig>> {
        let Some((certificate, key)) = authorizer.identity()? else {
            return Ok(self.base.clone());
        };
        let mut cached = self.exec_identity.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cached_certificate, config)) = cached.as_ref()
            && *cached_certificate == certificate
        {
            return Ok(config.clone());
        }
        let inputs = TlsInputs {
            identity: Some((certificate.clone(), key.expose().to_vec())),
            ..self.inputs.clone()
        };
        let config = tls::client_config(&inputs)?;
        *cached = Some((certificate, config.clone()));
        Ok(config)
    }
}

fn strip_auth(mut request: http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
    request.headers_mut().remove(header::AUTHORIZATION);
    request
}

fn read_secret(source: &Source<SecretBytes>) -> Result<Vec<u8>> {
    match source {
        Source::Inline(bytes) => Ok(bytes.expose().to_vec()),
        Source::File(path) => std::fs::read(path).map_err(|source| Error::ReadFile {
            path: path.clone(),
            source,
        }),
    }
}

pub(crate) fn exchange_error(e: ExchangeError) -> Error {
    match e {
        ExchangeError::Stale(e) | ExchangeError::Io(e) => Error::Io(e),
        ExchangeError::Http(e) => Error::Http(e),
    }
}

/// A response body read as it arrives: a watch stream or followed logs. Implements [`Read`];
/// reaching its end returns the connection to the pool.
pub struct BodyStream {
    exchange: Option<Exchange>,
    client: Client,
    current: Bytes,
    headers: HeaderMap,
}

impl BodyStream {
    /// The response's header fields.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The response's `Content-Type`, when it has a readable one.
    pub fn content_type(&self) -> Option<&str> {
        content_type(&self.headers)
    }

    /// The next piece of the body as the server sent it, `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        if !self.current.is_empty() {
            return Ok(Some(std::mem::take(&mut self.current)));
        }
        let Some(exchange) = self.exchange.as_mut() else {
            return Ok(None);
        };
        match exchange.next_chunk().map_err(exchange_error)? {
            Some(chunk) => Ok(Some(chunk)),
            None => {
                let stream = self.exchange.take().and_then(Exchange::finish);
                self.client.check_in(stream);
                Ok(None)
            }
        }
    }

    /// A handle that can close the connection from another thread, ending a blocked read.
    pub fn closer(&self) -> Option<StreamCloser> {
        let tcp = self.exchange.as_ref()?.stream().try_clone_tcp().ok()?;
        Some(StreamCloser(tcp))
    }
}

impl Read for BodyStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.current.is_empty() {
            match self.next_chunk().map_err(io::Error::other)? {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Closes a [`BodyStream`]'s connection from another thread.
#[derive(Debug)]
pub struct StreamCloser(std::net::TcpStream);

impl StreamCloser {
    /// Shuts the connection down; the stream's blocked read returns.
    pub fn close(&self) {
        let _ = self.0.shutdown(std::net::Shutdown::Both);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use klient_proto::config::Kubeconfig;

    fn client() -> Client {
        let kubeconfig = b"apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:1'}\n\
            users:\n- name: u\n  user: {}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n";
        let resolved = Kubeconfig::from_bytes(kubeconfig, None)
            .unwrap()
            .resolve(&Default::default())
            .unwrap();
        Client::new(Config::new(resolved)).unwrap()
    }

    fn head(code: u16, retry_after: Option<&str>) -> ResponseHead {
        let mut headers = HeaderMap::new();
        if let Some(value) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        }
        ResponseHead {
            version: http::Version::HTTP_11,
            status: StatusCode::from_u16(code).unwrap(),
            headers,
        }
    }

    #[test]
    fn retries_follow_retry_after_and_stop_after_max_retries() {
        let client = client();
        let post = Method::POST;
        assert_eq!(
            client.retry_delay(&post, &head(429, Some("2")), 0),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            client.retry_delay(&post, &head(429, None), 0),
            None,
            "429 without Retry-After is final"
        );
        assert_eq!(
            client.retry_delay(&post, &head(503, Some("1")), 0),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            client.retry_delay(&post, &head(503, None), 0),
            None,
            "a write without Retry-After is not repeated"
        );
        assert_eq!(
            client.retry_delay(&Method::GET, &head(504, None), 1),
            Some(Duration::from_millis(1000))
        );
        assert_eq!(client.retry_delay(&Method::GET, &head(500, Some("1")), 0), None);
        assert_eq!(
            client.retry_delay(&post, &head(429, Some("1")), 3),
            None,
            "max_retries is 3"
        );
        assert_eq!(
            client.retry_delay(&post, &head(429, Some("3600")), 0),
            None,
            "too long a wait is not honoured"
        );
    }
}
