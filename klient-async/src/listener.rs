//! `kubectl port-forward` as a library, on any runtime: a local TCP listener whose accepted
//! connections are all forwarded to a pod's port over one tunnel (kubectl's SPDY session inside a
//! WebSocket, or a direct SPDY upgrade), each with its own pair of streams and a real half-close;
//! a server that offers neither gets one v4 WebSocket session per connection. One future accepts
//! and forwards every connection (a `FuturesUnordered`), run as a task of the runtime when it has
//! tasks, else by [`PortForwardListener::serve`]; stopping the listener (or dropping it) ends
//! them all. The listener ends by itself when its pod is gone ([`ForwardedPod`] decides).

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::future::{Either, select, try_join};
use futures_util::io::{AsyncReadExt, BufReader};
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::task::AtomicWaker;

use klient_proto::remote::{ForwardedPod, PodCheck, PodUnavailable, TunnelOptions, tunnel_or_channels};

use crate::background::Background;
use crate::runtime::{AsyncListener, AsyncTcp, BoxFuture, Runtime};
use crate::tunnel::{Tunnel, TunnelStream};
use crate::{Client, Error, Result};

/// The buffer of each direction of a forwarded connection (the most one message carries).
const COPY_BUFFER: usize = 256 * 1024;
/// How long the listener waits after a failed accept.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Forwards the connections made to a local address to a pod's port, like
/// `kubectl port-forward pod/NAME LOCAL:PORT`.
#[derive(Debug)]
pub struct PortForwardListener {
    local: SocketAddr,
    stop: Arc<Stop>,
    /// Why the listener ended by itself, once it has.
    gone: Arc<Mutex<Option<PodUnavailable>>>,
    background: Background,
}

/// The listener's stop signal.
#[derive(Debug, Default)]
struct Stop {
    stopped: AtomicBool,
    waker: AtomicWaker,
}

impl PortForwardListener {
    /// Listens on `local` (port 0 picks a free port, see [`local_addr`](Self::local_addr)), reads
    /// pod `namespace/pod`, opens the tunnel to it and forwards each connection to its `port`. A
    /// pod that does not exist, does not run ([`Error::PodUnavailable`]) or may not be forwarded
    /// to is an error here, as with kubectl. A connection that cannot be forwarded later (the
    /// port refuses, the tunnel ended and cannot be opened again) is closed and logged, and the
    /// pod is read again: when it is gone the listener ends (see [`serve`](Self::serve)).
    ///
    /// On a runtime with tasks (tokio) the listener works in the background from here on; on
    /// one without (the futures-io adapter) it works while [`serve`](Self::serve) is awaited.
    pub async fn bind<R: Runtime>(
        client: &Client<R>,
        namespace: &str,
        pod: &str,
        port: u16,
        local: SocketAddr,
    ) -> Result<Self> {
        Self::bind_with(client, namespace, pod, port, local, &TunnelOptions::default()).await
    }

    /// [`bind`](Self::bind) with the tunnel's carriers and session as `options` says (each
    /// reopened tunnel too). No carriers at all means one v4 WebSocket session per connection,
    /// as with a server that offers no tunnel.
    pub async fn bind_with<R: Runtime>(
        client: &Client<R>,
        namespace: &str,
        pod: &str,
        port: u16,
        local: SocketAddr,
        options: &TunnelOptions,
    ) -> Result<Self> {
        let request = ForwardedPod::request(namespace, pod).map_err(Error::Request)?;
        let answer = client.send(request).await?;
        let forwarded = ForwardedPod::bind(namespace, pod, answer.status.as_u16(), &answer.body)?;
        let listener = client.runtime().listen(local).map_err(Error::Io)?;
        let local = listener.local_addr().map_err(Error::Io)?;
        let tunnel = match options.carriers.is_empty() {
            true => None,
            false => tunnel_or_channels(client.portforward_tunnel_with(namespace, pod, options).await)?,
        }
        .map(Arc::new);
        let stop = Arc::new(Stop::default());
        let gone = Arc::new(Mutex::new(None));
        let target = Target {
            client: client.clone(),
            namespace: namespace.to_owned(),
            pod: pod.to_owned(),
            port,
            tunnelled: tunnel.is_some(),
            tunnel: Arc::new(Mutex::new(tunnel)),
            options: Arc::new(options.clone()),
        };
        let work = Box::pin(serve(listener, target, forwarded, stop.clone(), gone.clone()));
        let background = Background::start(client.runtime(), work);
        Ok(PortForwardListener {
            local,
            stop,
            gone,
            background,
        })
    }

    /// The address connections are accepted on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Accepts and forwards connections until the listener ends: `Ok` once it is stopped, or
    /// [`Error::PodUnavailable`] when it stopped by itself because its pod is gone (deleted,
    /// replaced by another of the same name, finished), as a failed connection revealed. On a
    /// runtime without tasks of its own this is what runs the listener: await it (or spawn it on
    /// your executor) beside the rest of the program; on tokio it only waits.
    pub async fn serve(&self) -> Result<()> {
        poll_fn(|cx| self.background.poll_finished(cx)).await;
        match self.gone.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(why) => Err(Error::PodUnavailable(why.clone())),
            None => Ok(()),
        }
    }

    /// Stops accepting and ends every forwarded connection (as dropping the listener does).
    pub fn stop(self) {}
}

impl Drop for PortForwardListener {
    fn drop(&mut self) {
        self.stop.stopped.store(true, Ordering::SeqCst);
        self.stop.waker.wake();
    }
}

/// Where connections go.
#[derive(Clone)]
struct Target<R: Runtime> {
    client: Client<R>,
    namespace: String,
    pod: String,
    port: u16,
    /// Whether connections go over a tunnel (else one v4 session each).
    tunnelled: bool,
    /// The tunnel, replaced when it ended.
    tunnel: Arc<Mutex<Option<Arc<Tunnel>>>>,
    /// How tunnels are opened.
    options: Arc<TunnelOptions>,
}

impl<R: Runtime> Target<R> {
    fn current_tunnel(&self) -> Option<Arc<Tunnel>> {
        self.tunnel.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A connection over the tunnel; a tunnel that has ended (the apiserver restarted, the
    /// kubelet went silent) is opened again once, and that failing is this connection's error.
    async fn connect(&self) -> Result<TunnelStream> {
        if let Some(tunnel) = self.current_tunnel()
            && let Ok(stream) = tunnel.connect(self.port).await
        {
            return Ok(stream);
        }
        let tunnel = self
            .client
            .portforward_tunnel_with(&self.namespace, &self.pod, &self.options);
        let fresh = Arc::new(tunnel.await?);
        let stream = fresh.connect(self.port).await.map_err(Error::Io)?;
        *self.tunnel.lock().unwrap_or_else(|e| e.into_inner()) = Some(fresh);
        Ok(stream)
    }
}

/// Accepts connections and forwards each, all in this one future, until stopped or the pod is
/// gone (then `gone` says why).
async fn serve<R: Runtime>(
    mut listener: Box<dyn AsyncListener>,
    target: Target<R>,
    mut pod: ForwardedPod,
    stop: Arc<Stop>,
    gone: Arc<Mutex<Option<PodUnavailable>>>,
) {
    let mut forwards = FuturesUnordered::new();
    // The read of the pod that is out, after a connection failed.
    let mut check: Option<BoxFuture<PodAnswer>> = None;
    // After a failed accept (out of file descriptors, say), a pause before the next: the
    // failure would otherwise repeat at once, forever, inside this one poll.
    let mut pause: Option<BoxFuture<()>> = None;
    poll_fn(|cx| {
        stop.waker.register(cx.waker());
        if stop.stopped.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        // Where the runtime has no tasks, the tunnel moves (and pings) only when polled: this
        // future polls it even while no connection is open.
        if let Some(tunnel) = target.current_tunnel() {
            tunnel.poll_drive(cx);
        }
        if let Some(timer) = pause.as_mut()
            && timer.as_mut().poll(cx).is_ready()
        {
            pause = None;
        }
        while pause.is_none()
            && let Poll::Ready(accepted) = listener.poll_accept(cx)
        {
            match accepted {
                Ok(connection) => {
                    let target = target.clone();
                    forwards.push(async move {
                        let forwarded = forward(&target, connection).await;
                        if let Err(e) = &forwarded {
                            let what = format!("{}/{}:{}", target.namespace, target.pod, target.port);
                            log::warn!("port-forward to {what}: {e}");
                        }
                        forwarded.is_ok()
                    });
                }
                // A connection that failed before it was accepted (reset by its client) is its
                // own business; the listener goes on, after a pause.
                Err(e) => {
                    log::debug!("port-forward listener: accept failed: {e}");
                    let at = Instant::now() + ACCEPT_PAUSE;
                    let mut timer = target.client.runtime().sleep_until(at);
                    // Armed with this waker; the loop ends since a pause is set.
                    let _ = timer.as_mut().poll(cx);
                    pause = Some(timer);
                }
            }
        }
        while let Poll::Ready(Some(succeeded)) = forwards.poll_next_unpin(cx) {
            if !succeeded && let Some(request) = pod.connection_failed() {
                check = Some(read_pod(&target.client, request));
            }
        }
        while let Some(reading) = check.as_mut()
            && let Poll::Ready(answer) = reading.as_mut().poll(cx)
        {
            check = None;
            match pod.checked(answer.as_ref().map(|(status, body)| (*status, &body[..]))) {
                PodCheck::Fine => {}
                PodCheck::Again(request) => check = Some(read_pod(&target.client, request)),
                PodCheck::Gone(why) => {
                    log::warn!("port-forward listener: {why}; it stops");
                    *gone.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
                    return Poll::Ready(());
                }
            }
        }
        Poll::Pending
    })
    .await
}

/// The answer to a read of the pod: its status and body, or `None` when there was none.
type PodAnswer = Option<(u16, Vec<u8>)>;

/// Reads the pod for [`ForwardedPod`].
fn read_pod<R: Runtime>(
    client: &Client<R>,
    request: http::Request<Vec<u8>>,
) -> BoxFuture<Option<(u16, Vec<u8>)>> {
    let client = client.clone();
    Box::pin(async move {
        let answer = client.send(request).await.ok()?;
        Some((answer.status.as_u16(), answer.body.to_vec()))
    })
}

/// Forwards one accepted connection over the tunnel, or over a session of its own.
async fn forward<R: Runtime>(target: &Target<R>, connection: Box<dyn AsyncTcp>) -> Result<()> {
    if !target.tunnelled {
        return forward_over_channels(target, connection).await;
    }
    let remote = target.connect().await?;
    let (remote_read, mut remote_write) = remote.split();
    let (local_read, mut local_write) = Tcp(connection).split();
    // Large buffers both ways: each read of the local socket becomes one frame of the tunnel.
    let local_read = BufReader::with_capacity(COPY_BUFFER, local_read);
    let remote_read = BufReader::with_capacity(COPY_BUFFER, remote_read);
    // Each direction's end is passed on as a half-close; the connection is over when both are
    // (or at the first error either way).
    let upstream = async {
        futures_util::io::copy_buf(local_read, &mut remote_write).await?;
        futures_util::io::AsyncWriteExt::close(&mut remote_write).await
    };
    let downstream = async {
        futures_util::io::copy_buf(remote_read, &mut local_write).await?;
        futures_util::io::AsyncWriteExt::close(&mut local_write).await
    };
    try_join(upstream, downstream)
        .await
        .map(|_| ())
        .map_err(Error::Io)
}

/// Copies both ways until either side ends: the v4 protocol cannot half-close one port, so the
/// local end closing ends the session, as with kubectl.
async fn forward_over_channels<R: Runtime>(target: &Target<R>, connection: Box<dyn AsyncTcp>) -> Result<()> {
    let mut forwarder = target
        .client
        .portforward(&target.namespace, &target.pod, &[target.port])
        .await?;
    let Some(remote) = forwarder.take_stream(target.port) else {
        return Err(Error::Io(io::Error::other(
            "the session has no stream for its port",
        )));
    };
    let (remote_read, mut remote_write) = remote.split();
    let (local_read, mut local_write) = Tcp(connection).split();
    let outcome = {
        // Large buffers both ways: each read of the local socket becomes one message of the
        // session (copy's own 8 KiB buffer made a frame of every 8 KiB).
        let local_read = BufReader::with_capacity(COPY_BUFFER, local_read);
        let remote_read = BufReader::with_capacity(COPY_BUFFER, remote_read);
        let upstream = pin!(futures_util::io::copy_buf(local_read, &mut remote_write));
        let downstream = pin!(futures_util::io::copy_buf(remote_read, &mut local_write));
        match select(upstream, downstream).await {
            Either::Left((copied, _)) | Either::Right((copied, _)) => copied,
        }
    };
    drop(remote_write);
    let _ = futures_util::io::AsyncWriteExt::close(&mut local_write).await;
    // What the local end sent last may still be queued for the session: closing it sends that
    // first (where the handles drive the session, dropping it would lose those bytes).
    forwarder.close().await;
    outcome.map(|_| ()).map_err(Error::Io)
}

/// A runtime's connection with `futures-io`'s traits, for `futures_util::io::copy`.
struct Tcp(Box<dyn AsyncTcp>);

impl futures_io::AsyncRead for Tcp {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.get_mut().0.poll_read(cx, buf)
    }
}

impl futures_io::AsyncWrite for Tcp {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().0.poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().0.poll_flush(cx)
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().0.poll_shutdown(cx)
    }
}
