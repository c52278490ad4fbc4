//! The client: a connection pool to one API server, credentials, and the loop that carries out
//! what klient-proto's [`Call`] decides for each request. Every decision (retry, renewal on 401,
//! replay, deadlines) is the machine's; this file moves bytes through the runtime and awaits.
//!
//! Cancellation: a call owns its connection until it checks it back in, whole and reusable, so
//! a future dropped at any await leaves nothing half-used in the pool; the connection closes
//! with it.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_lock::Semaphore;
use http::header::{self, HeaderValue};
use http::{HeaderMap, StatusCode};
use klient_proto::api::Request;
use klient_proto::api::modify::{ListKeys, ListKeysCache, SchemaWait};
use klient_proto::client::{
    Call, CallAction, CallError, CallKind, CallSettings, ClientSetup, Disposition, Pool, PoolSettings,
};
use klient_proto::config::{Config, Proxy};
use klient_proto::http::{ResponseHead, Tunnel};
use klient_proto::tls::{ClusterTls, TlsError};
use tracing::Instrument;

use crate::auth::Authorizer;
use crate::exchange::{Answer, Exchange, ExchangeError};
use crate::io::{Elapsed, read, until, write_all};
use crate::runtime::{AsyncTcp, Runtime};
use crate::stream::{HandshakeError, Stream};
use crate::{Error, Result};

/// A Kubernetes API client on runtime `R`. Cheap to clone: clones share the connection pool,
/// its limit and the credentials. Adapters name it for their runtime
/// (`klient_tokio::Client`).
pub struct Client<R: Runtime> {
    inner: Arc<Inner<R>>,
}

impl<R: Runtime> Clone for Client<R> {
    fn clone(&self) -> Self {
        Client {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<R: Runtime> {
    config: Config,
    runtime: R,
    tls: Option<ClusterTls>,
    proxy: Option<Proxy>,
    authorizer: Authorizer<R>,
    settings: CallSettings,
    pool: Mutex<Pool<Stream>>,
    /// One permit per connection a request-response call may hold (see [`Config::max_connections`]).
    connections: Arc<Semaphore>,
    /// How each modified kind's lists are keyed (see [`Api::modify`](crate::Api::modify)).
    list_keys: ListKeysCache,
}

impl<R: Runtime> std::fmt::Debug for Client<R> {
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

pub(crate) fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
}

impl<R: Runtime> TryFrom<Config> for Client<R> {
    type Error = Error;

    fn try_from(config: Config) -> Result<Self> {
        Client::new(config, R::default())
    }
}

impl<R: Runtime> Client<R> {
    /// A client from the default kubeconfig chain (`KUBECONFIG`, then `~/.kube/config`, then the
    /// in-cluster service account), on the runtime's default handle.
    pub fn try_default() -> Result<Self> {
        Client::new(Config::infer()?, R::default())
    }

    /// A client for an explicit configuration, on `runtime`. The kubeconfig's CA and client
    /// certificate files are read here, once.
    pub fn new(config: Config, runtime: R) -> Result<Self> {
        let setup = ClientSetup::new(&config)?;
        let cluster = &config.resolved.cluster;
        let authorizer = Authorizer::new(
            &config.resolved.credentials.auth,
            cluster,
            &setup.ca_pem,
            runtime.clone(),
        )?;
        let settings = setup.call_settings(authorizer.can_refresh());
        let connections = Arc::new(Semaphore::new(config.max_connections.max(1)));
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                runtime,
                tls: setup.tls,
                proxy: setup.proxy,
                authorizer,
                settings,
                pool: Mutex::new(Pool::new(PoolSettings::default())),
                connections,
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

    /// The runtime this client runs on.
    pub fn runtime(&self) -> &R {
        &self.inner.runtime
    }

    /// The list keys of `request`'s kind, read from the server's OpenAPI document the first time
    /// (waiting, as [`SchemaWait`] decides, for a kind the document does not hold yet).
    pub(crate) async fn list_keys(&self, request: &Request) -> Result<Arc<ListKeys>> {
        if let Some(keys) = self.inner.list_keys.get(request) {
            return Ok(keys);
        }
        let mut wait = SchemaWait::new();
        loop {
            let response = self.send(request.openapi_schema()?).await?;
            let keys =
                self.inner
                    .list_keys
                    .insert_from_response(request, response.status.as_u16(), &response.body);
            match keys {
                Err(error) => match wait.retry_after(&error) {
                    Some(pause) => self.inner.runtime.sleep_until(Instant::now() + pause).await,
                    None => return Err(error),
                },
                keys => return keys,
            }
        }
    }

    /// Sends a request built by [`klient_proto::api`] and reads the whole response, trying again
    /// as the call machine decides (429, a 5xx with `Retry-After`, a refused credential that can
    /// be renewed). At most [`Config::max_connections`] such requests hold a connection at once;
    /// the others wait their turn.
    pub async fn send(&self, request: http::Request<Vec<u8>>) -> Result<Response> {
        let _permit = self.inner.connections.acquire_arc().await;
        let (head, answer) = self.call(request, CallKind::Whole).await?;
        let Answer::Response(_, mut exchange) = answer else {
            return Err(Error::Call(CallError::Misuse("an upgrade answered a whole call")));
        };
        let body = exchange.read_body().await.map_err(exchange_error)?;
        self.check_in(exchange.finish());
        Ok(Response {
            status: head.status,
            headers: head.headers,
            body,
        })
    }

    /// Sends a request whose response body is a long-lived stream (a watch, followed logs). A
    /// response that is not a success is read whole and returned as an error. Streams hold
    /// their own connection, outside [`Config::max_connections`].
    pub async fn send_streaming(&self, request: http::Request<Vec<u8>>) -> Result<crate::BodyStream> {
        let (head, answer) = self.call(request, CallKind::Streaming).await?;
        let Answer::Response(_, exchange) = answer else {
            return Err(Error::Call(CallError::Misuse(
                "an upgrade answered a streaming call",
            )));
        };
        Ok(crate::BodyStream::new(
            self.clone(),
            head.status,
            head.headers,
            exchange,
        ))
    }

    /// Sends a request whose successful answer is consumed as it arrives with a whole response's
    /// read timeout and limits (a list decoded item by item, so the body is never held whole). A
    /// response that is not a success is read whole and returned as an error.
    pub(crate) async fn send_in_pieces(&self, request: http::Request<Vec<u8>>) -> Result<crate::BodyStream> {
        let (head, answer) = self.call(request, CallKind::Pieces).await?;
        let Answer::Response(_, exchange) = answer else {
            return Err(Error::Call(CallError::Misuse("an upgrade answered a list call")));
        };
        Ok(crate::BodyStream::new(
            self.clone(),
            head.status,
            head.headers,
            exchange,
        ))
    }

    /// Sends an upgrade request (WebSocket) and hands over the connection after the 101.
    pub(crate) async fn upgrade(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<(ResponseHead, Stream, bytes::Bytes)> {
        let (_, answer) = self.call(request, CallKind::Upgrade).await?;
        match answer {
            Answer::Upgraded(head, stream, leftover) => Ok((head, stream, leftover)),
            Answer::Response(..) => Err(Error::Call(CallError::Misuse("a response answered an upgrade"))),
        }
    }

    /// Drives one call to its answer: the call machine decides every attempt, wait, renewal and
    /// replay; this moves the bytes. An error answer is read whole and returned as the API error.
    async fn call(
        &self,
        request: http::Request<Vec<u8>>,
        kind: CallKind,
    ) -> Result<(ResponseHead, Answer<R>)> {
        // One span per call, attempts and waits included: what `tracing` users see of klient.
        let span = tracing::debug_span!(
            "klient.request",
            method = %request.method(),
            path = request.uri().path(),
            kind = ?kind,
        );
        // Boxed: the attempts, the connection and the TLS handshake make a large state machine,
        // and every future that awaits a request would otherwise carry it inline (a few such
        // futures nested overflow the stack of an executor that moves them by value).
        Box::pin(self.call_in_span(request, kind).instrument(span)).await
    }

    async fn call_in_span(
        &self,
        request: http::Request<Vec<u8>>,
        kind: CallKind,
    ) -> Result<(ResponseHead, Answer<R>)> {
        let transport = &self.inner.config.transport;
        let runtime = &self.inner.runtime;
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
                Some(CallAction::Wait(until_at)) => {
                    let at = call
                        .poll_timeout()
                        .map_or(until_at, |deadline| deadline.min(until_at));
                    runtime.sleep_until(at).await;
                    call.handle_timeout(Instant::now()).map_err(Error::Call)?;
                    continue;
                }
                None => return Err(Error::Call(CallError::Misuse("a call with nothing to do"))),
            };
            let credential = self.inner.authorizer.credential().await?;
            // Connecting counts against the call's deadline too.
            let connected = until(runtime, call.poll_timeout(), async {
                if new_connection {
                    Ok((self.connect().await?, false))
                } else {
                    self.check_out().await
                }
            })
            .await;
            let (stream, reused) = match connected {
                Ok(connected) => connected?,
                Err(Elapsed) => {
                    call.handle_timeout(Instant::now()).map_err(Error::Call)?;
                    continue;
                }
            };
            let exchange = call
                .start_attempt(
                    credential.authorization.as_ref(),
                    self.inner.config.limits,
                    reused,
                )
                .map_err(Error::Call)?;
            let read_limit = call.wait_limit(transport, Instant::now());
            let started = Exchange::start(
                stream,
                exchange,
                runtime.clone(),
                transport.write_timeout,
                read_limit,
            )
            .await;
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
                Disposition::ReadBody | Disposition::ReadPieces => {
                    let mut answer = answer;
                    if let Answer::Response(_, exchange) = &mut answer {
                        exchange.set_read_timeout(kind.body_read_timeout(transport));
                    }
                    return Ok((head, answer));
                }
                Disposition::Upgraded => return Ok((head, answer)),
                Disposition::Stream => {
                    let mut answer = answer;
                    if let Answer::Response(_, exchange) = &mut answer {
                        exchange.open_stream(kind.body_read_timeout(transport));
                    }
                    return Ok((head, answer));
                }
                Disposition::Error => {
                    let Answer::Response(_, mut exchange) = answer else {
                        return Err(Error::Call(CallError::Misuse("an upgrade is not an error")));
                    };
                    let body = exchange.read_body().await.map_err(exchange_error)?;
                    self.check_in(exchange.finish());
                    return Err(klient_proto::api::decode_error(head.status.as_u16(), &body).into());
                }
                Disposition::Retry => {
                    log::debug!("{} answered {}; trying again", call.request().uri(), head.status);
                    self.check_in(answer.drain().await);
                }
                Disposition::RenewCredentialAndRetry => {
                    // Only the credential this attempt used is forgotten, and so are the
                    // connections made with it (they may carry an exec plugin's certificate).
                    let _ = self.inner.authorizer.unauthorized(credential.generation);
                    self.inner.pool.lock().unwrap_or_else(|p| p.into_inner()).clear();
                    drop(answer);
                }
            }
        }
    }

    /// An idle connection the server has not closed meanwhile, or a new one. `true` with a
    /// pooled one.
    async fn check_out(&self) -> Result<(Stream, bool)> {
        loop {
            let pooled = self
                .inner
                .pool
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(Instant::now());
            match pooled {
                Some(mut stream) => {
                    if stream.is_open() {
                        return Ok((stream, true));
                    }
                }
                None => return Ok((self.connect().await?, false)),
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

    async fn connect(&self) -> Result<Stream> {
        let server = &self.inner.config.resolved.cluster.server;
        let transport = &self.inner.config.transport;
        let deadline = Instant::now().checked_add(transport.connect_timeout);
        let tcp = match &self.inner.proxy {
            None => self
                .connect_tcp(&server.host.to_string(), server.port, deadline)
                .await
                .map_err(|source| Error::Connect {
                    server: server.authority(),
                    source,
                })?,
            Some(proxy) => self.tunnel(proxy, deadline).await?,
        };
        let Some(setup) = &self.inner.tls else {
            return Ok(Stream::plain(tcp));
        };
        // The same TLS session whether `tcp` goes to the server or through a proxy's tunnel.
        let identity = self.inner.authorizer.credential().await?.identity;
        let config = setup.config_for(identity).map_err(Error::TlsConfig)?;
        let connect_error = |source| Error::Connect {
            server: server.authority(),
            source,
        };
        Stream::tls(tcp, &config, setup.server_name(), &self.inner.runtime)
            .await
            .map_err(|e| match e {
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
                HandshakeError::Config(e) => Error::TlsConfig(e),
                HandshakeError::Io(source) => connect_error(source),
            })
    }

    /// A TCP connection to `host:port` before `deadline`: every resolved address in turn, all of
    /// them within the one deadline.
    async fn connect_tcp(
        &self,
        host: &str,
        port: u16,
        deadline: Option<Instant>,
    ) -> io::Result<Box<dyn AsyncTcp>> {
        let runtime = &self.inner.runtime;
        let keepalive = self.inner.config.transport.tcp_keepalive;
        let timed_out = || {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connecting to {host}:{port} timed out"),
            )
        };
        let bare = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let addrs = until(runtime, deadline, runtime.resolve(bare, port))
            .await
            .map_err(|Elapsed| timed_out())??;
        let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host} resolved to no address"));
        for addr in addrs {
            match until(runtime, deadline, runtime.connect(addr, keepalive)).await {
                Ok(Ok(tcp)) => return Ok(tcp),
                Ok(Err(e)) => last = e,
                Err(Elapsed) => return Err(timed_out()),
            }
        }
        Err(last)
    }

    /// Opens a TCP connection to the proxy and asks it, with `CONNECT`, for a tunnel to the server.
    async fn tunnel(&self, proxy: &Proxy, deadline: Option<Instant>) -> Result<Box<dyn AsyncTcp>> {
        let server = &self.inner.config.resolved.cluster.server;
        let proxy_error = |source| Error::Connect {
            server: format!("proxy {}", proxy.url.authority()),
            source,
        };
        let mut tcp = self
            .connect_tcp(&proxy.url.host.to_string(), proxy.url.port, deadline)
            .await
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
        let opened = until(&self.inner.runtime, deadline, async {
            let request = tunnel.poll_transmit().to_vec();
            write_all(tcp.as_mut(), &request).await.map_err(proxy_error)?;
            tunnel.handle_written(request.len());
            let mut buf = [0u8; 4096];
            while !tunnel.poll_open().map_err(Error::Tunnel)? {
                match read(tcp.as_mut(), &mut buf).await.map_err(proxy_error)? {
                    0 => tunnel.handle_eof(),
                    n => tunnel.handle_bytes(&buf[..n]),
                }
            }
            Ok::<(), Error>(())
        })
        .await;
        match opened {
            Ok(result) => result?,
            Err(Elapsed) => {
                return Err(proxy_error(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the proxy did not open the tunnel in time",
                )));
            }
        }
        Ok(tcp)
    }
}

pub(crate) fn exchange_error(e: ExchangeError) -> Error {
    match e {
        ExchangeError::Attempt(_, e) | ExchangeError::Io(e) => Error::Io(e),
        ExchangeError::Http(e) => Error::Http(e),
    }
}
