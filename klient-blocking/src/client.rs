//! The client: a connection pool to one API server, credentials, and retries.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, StatusCode};
use klient_proto::api::Request;
use klient_proto::api::modify::{ListKeys, ListKeysCache, SchemaWait};
use klient_proto::client::{
    Call, CallAction, CallError, CallKind, CallSettings, ClientSetup, Disposition, Pool, PoolSettings,
};
use klient_proto::config::{Config, Proxy};
use klient_proto::http::{ResponseHead, Tunnel};
use klient_proto::tls::{ClusterTls, ConfigError, TlsError};

use crate::auth::Authorizer;
use crate::exchange::{Answer, Exchange, ExchangeError};
use crate::stream::{HandshakeError, Stream};
use crate::{Error, Result};

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
    tls: Option<ClusterTls>,
    proxy: Option<Proxy>,
    authorizer: Authorizer,
    settings: CallSettings,
    pool: Mutex<Pool<Stream>>,
    /// How each modified kind's lists are keyed (see [`Api::modify`](crate::Api::modify)).
    list_keys: ListKeysCache,
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

impl TryFrom<Config> for Client {
    type Error = Error;

    /// [`Client::new`], as kube and klient's async adapters spell it.
    fn try_from(config: Config) -> Result<Client> {
        Client::new(config)
    }
}

impl Client {
    /// A client from the default kubeconfig chain (`KUBECONFIG`, then `~/.kube/config`).
    pub fn try_default() -> Result<Client> {
        Client::new(Config::infer()?)
    }

    /// A client for an explicit configuration.
    pub fn new(config: Config) -> Result<Client> {
        let setup = ClientSetup::new(&config)?;
        let cluster = &config.resolved.cluster;
        let authorizer = Authorizer::new(&config.resolved.credentials.auth, cluster, &setup.ca_pem)?;
        let settings = setup.call_settings(authorizer.can_refresh());
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                tls: setup.tls,
                proxy: setup.proxy,
                authorizer,
                settings,
                pool: Mutex::new(Pool::new(PoolSettings::default())),
                list_keys: ListKeysCache::new(),
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

    /// The list keys of `request`'s kind, read from the server's OpenAPI document the first time
    /// (waiting, as [`SchemaWait`] decides, for a kind the document does not hold yet).
    pub(crate) fn list_keys(&self, request: &Request) -> Result<Arc<ListKeys>> {
        if let Some(keys) = self.inner.list_keys.get(request) {
            return Ok(keys);
        }
        let mut wait = SchemaWait::new();
        loop {
            let response = self.send(request.openapi_schema()?)?;
            let keys =
                self.inner
                    .list_keys
                    .insert_from_response(request, response.status.as_u16(), &response.body);
            match keys {
                Err(error) => match wait.retry_after(&error) {
                    Some(pause) => std::thread::sleep(pause),
                    None => return Err(error),
                },
                keys => return keys,
            }
        }
    }

    /// Sends a request built by [`klient_proto::api`] and reads the whole response, trying again
    /// on 429/503/504 as the server's `Retry-After` asks (at most `max_retries` times) and once
    /// with a renewed credential when a rotating one was refused.
    pub fn send(&self, request: http::Request<Vec<u8>>) -> Result<Response> {
        let (head, answer) = self.call(request, CallKind::Whole)?;
        let Answer::Response(_, mut exchange) = answer else {
            return Err(Error::Call(CallError::Misuse("an upgrade answered a whole call")));
        };
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
        let (head, answer) = self.call(request, CallKind::Streaming)?;
        let Answer::Response(_, exchange) = answer else {
            return Err(Error::Call(CallError::Misuse(
                "an upgrade answered a streaming call",
            )));
        };
        Ok(BodyStream {
            exchange: Some(*exchange),
            client: self.clone(),
            current: Bytes::new(),
            status: head.status,
            headers: head.headers,
        })
    }

    /// Sends a request whose successful answer is consumed as it arrives with a whole response's
    /// read timeout and limits (a list decoded item by item, so the body is never held whole). A
    /// response that is not a success is read whole and returned as an error.
    pub(crate) fn send_in_pieces(&self, request: http::Request<Vec<u8>>) -> Result<BodyStream> {
        let (head, answer) = self.call(request, CallKind::Pieces)?;
        let Answer::Response(_, exchange) = answer else {
            return Err(Error::Call(CallError::Misuse("an upgrade answered a list call")));
        };
        Ok(BodyStream {
            exchange: Some(*exchange),
            client: self.clone(),
            current: Bytes::new(),
            status: head.status,
            headers: head.headers,
        })
    }

    /// Sends an upgrade request (WebSocket) and hands over the connection after the 101.
    pub(crate) fn upgrade(&self, request: http::Request<Vec<u8>>) -> Result<(ResponseHead, Stream, Bytes)> {
        let (_, answer) = self.call(request, CallKind::Upgrade)?;
        match answer {
            Answer::Upgraded(head, stream, leftover) => Ok((head, stream, leftover)),
            Answer::Response(..) => Err(Error::Call(CallError::Misuse("a response answered an upgrade"))),
        }
    }

    /// Drives one call to its answer: the call machine decides every attempt, wait, renewal and
    /// replay; this moves the bytes. An error answer is read whole and returned as the API error.
    fn call(&self, request: http::Request<Vec<u8>>, kind: CallKind) -> Result<(ResponseHead, Answer)> {
        let transport = &self.inner.config.transport;
        let mut call = Call::new(
            &self.inner.settings,
            request,
            kind,
            kind.deadline(transport),
            Instant::now(),
        )
        .map_err(Error::Call)?;
        loop {
            let new_connection = match call.poll_action(Instant::now()) {
                Some(CallAction::Send { new_connection }) => new_connection,
                Some(CallAction::Wait(until)) => {
                    let until = call.poll_timeout().map_or(until, |deadline| deadline.min(until));
                    std::thread::sleep(until.saturating_duration_since(Instant::now()));
                    call.handle_timeout(Instant::now()).map_err(Error::Call)?;
                    continue;
                }
                None => return Err(Error::Call(CallError::Misuse("a call with nothing to do"))),
            };
            let credential = self.inner.authorizer.credential()?;
            let (stream, reused) = if new_connection {
                (self.connect()?, false)
            } else {
                self.check_out()?
            };
            let exchange = call
                .start_attempt(
                    credential.authorization.as_ref(),
                    self.inner.config.limits,
                    reused,
                )
                .map_err(Error::Call)?;
            stream
                .set_read_timeout(Some(call.wait_limit(transport, Instant::now())))
                .map_err(Error::Io)?;
            let started = Exchange::start(stream, exchange);
            // A read that gave up at the call's deadline ends the call, whatever else it means.
            if started.is_err() {
                call.handle_timeout(Instant::now()).map_err(Error::Call)?;
            }
            let answer = match started {
                Ok(answer) => answer,
                Err(ExchangeError::Attempt(failure, source)) => {
                    match call.handle_failure(failure) {
                        Ok(()) => log::debug!(
                            "{} {}: connection failed ({source}); sending it again",
                            call.method(),
                            call.request().uri()
                        ),
                        // Not safe to send again: the caller gets what went wrong on the wire.
                        Err(CallError::NotReplayable { .. }) => return Err(Error::Io(source)),
                        Err(e) => return Err(Error::Call(e)),
                    }
                    continue;
                }
                Err(e) => return Err(exchange_error(e)),
            };
            let head = answer.head().clone();
            let disposition = call.handle_head(&head, Instant::now()).map_err(Error::Call)?;
            for warning in call.take_warnings() {
                self.inner.config.on_warning.handle(&warning);
            }
            match disposition {
                Disposition::ReadBody | Disposition::ReadPieces | Disposition::Upgraded => {
                    return Ok((head, answer));
                }
                Disposition::Stream => {
                    let mut answer = answer;
                    if let Answer::Response(_, exchange) = &mut answer {
                        exchange
                            .open_stream(kind.body_read_timeout(transport))
                            .map_err(Error::Io)?;
                    }
                    return Ok((head, answer));
                }
                Disposition::Error => {
                    let Answer::Response(_, mut exchange) = answer else {
                        return Err(Error::Call(CallError::Misuse("an upgrade is not an error")));
                    };
                    let body = exchange.read_body().map_err(exchange_error)?;
                    self.check_in(exchange.finish());
                    return Err(klient_proto::api::decode_error(head.status.as_u16(), &body).into());
                }
                Disposition::Retry => {
                    log::debug!("{} answered {}; trying again", call.request().uri(), head.status);
                    self.check_in(answer.drain());
                }
                Disposition::RenewCredentialAndRetry => {
                    // The refused credential is forgotten, and so are the connections made with
                    // it (they may carry an exec plugin's client certificate).
                    // Only the credential this attempt used is forgotten: a concurrent call that
                    // already renewed it does not make this one renew it again.
                    let _ = self.inner.authorizer.unauthorized(credential.generation);
                    self.inner.pool.lock().unwrap_or_else(|p| p.into_inner()).clear();
                    drop(answer);
                }
            }
        }
    }

    /// An idle connection the server has not closed meanwhile, or a new one. `true` with a
    /// pooled one.
    fn check_out(&self) -> Result<(Stream, bool)> {
        loop {
            let pooled = self
                .inner
                .pool
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(Instant::now());
            match pooled {
                Some(stream) if stream.is_open() => return Ok((stream, true)),
                Some(_) => continue,
                None => return Ok((self.connect()?, false)),
            }
        }
    }

    pub(crate) fn check_in(&self, stream: Option<Stream>) {
        if let Some(stream) = stream {
            self.inner
                .pool
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .put(stream, Instant::now());
        }
    }

    fn connect(&self) -> Result<Stream> {
        let server = &self.inner.config.resolved.cluster.server;
        let transport = &self.inner.config.transport;
        let deadline = Instant::now() + transport.connect_timeout;
        let tcp = match &self.inner.proxy {
            None => Stream::connect(&server.host.to_string(), server.port, deadline, transport).map_err(
                |source| Error::Connect {
                    server: server.authority(),
                    source,
                },
            )?,
            Some(proxy) => self.tunnel(proxy, deadline)?,
        };
        let Some(setup) = &self.inner.tls else {
            return Ok(Stream::plain(tcp));
        };
        // The same TLS session whether `tcp` goes to the server or through a proxy's tunnel.
        let identity = self.inner.authorizer.identity()?;
        let config = setup.config_for(identity).map_err(tls_config_error)?;
        let connect_error = |source| Error::Connect {
            server: server.authority(),
            source,
        };
        Stream::tls(tcp, &config, setup.server_name()).map_err(|e| match e {
            HandshakeError::Tls(e @ TlsError::HandshakeTimeout) => {
                connect_error(io::Error::new(io::ErrorKind::TimedOut, e))
            }
            HandshakeError::Tls(e @ TlsError::ClosedDuringHandshake) => {
                connect_error(io::Error::new(io::ErrorKind::UnexpectedEof, e))
            }
            HandshakeError::Tls(error) => Error::Tls {
                server: server.authority(),
                error,
            },
            HandshakeError::Config(e) => tls_config_error(e),
            HandshakeError::Io(source) => connect_error(source),
        })
    }

    /// Opens a TCP connection to the proxy and asks it, with `CONNECT`, for a tunnel to the server.
    fn tunnel(&self, proxy: &Proxy, deadline: Instant) -> Result<std::net::TcpStream> {
        use std::io::Write;
        let server = &self.inner.config.resolved.cluster.server;
        let transport = &self.inner.config.transport;
        let proxy_error = |source| Error::Connect {
            server: format!("proxy {}", proxy.url.authority()),
            source,
        };
        let mut tcp = Stream::connect(&proxy.url.host.to_string(), proxy.url.port, deadline, transport)
            .map_err(proxy_error)?;
        let authorization = match &proxy.authorization {
            Some(secret) => {
                let mut value = HeaderValue::try_from(secret.expose())
                    .map_err(|_| Error::Auth("proxy credentials are not a valid header".into()))?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let mut tunnel = Tunnel::new(
            &server.authority(),
            authorization.as_ref(),
            self.inner.config.limits,
        )
        .map_err(Error::Encode)?;
        tcp.write_all(tunnel.poll_transmit()).map_err(proxy_error)?;
        tunnel.handle_written(tunnel.poll_transmit().len());
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        tcp.set_read_timeout(Some(left)).map_err(proxy_error)?;
        let mut buf = [0u8; 4096];
        while !tunnel.poll_open().map_err(Error::Tunnel)? {
            match tcp.read(&mut buf).map_err(proxy_error)? {
                0 => tunnel.handle_eof(),
                n => tunnel.handle_bytes(&buf[..n]),
            }
        }
        Ok(tcp)
    }
}

fn tls_config_error(e: ConfigError) -> Error {
    Error::TlsConfig(e)
}

pub(crate) fn exchange_error(e: ExchangeError) -> Error {
    match e {
        ExchangeError::Attempt(_, e) | ExchangeError::Io(e) => Error::Io(e),
        ExchangeError::Http(e) => Error::Http(e),
    }
}

/// A response body read as it arrives: a watch stream or followed logs. Implements [`Read`];
/// reaching its end returns the connection to the pool.
pub struct BodyStream {
    exchange: Option<Exchange>,
    client: Client,
    current: Bytes,
    status: StatusCode,
    headers: HeaderMap,
}

impl BodyStream {
    /// The response's status (a success: other answers are errors).
    pub fn status(&self) -> StatusCode {
        self.status
    }

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

/// The body's pieces as the server sent them, as [`BodyStream::next_chunk`] gives them (the
/// async adapters' `BodyStream` is the same as a `Stream`).
impl Iterator for BodyStream {
    type Item = Result<Bytes>;

    fn next(&mut self) -> Option<Result<Bytes>> {
        self.next_chunk().transpose()
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
