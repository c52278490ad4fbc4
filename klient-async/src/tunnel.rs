//! kubectl's port-forward on any runtime: one upgrade — the SPDY tunnel inside a WebSocket, else
//! a direct SPDY upgrade — carries every connection to every port of a pod, each a pair of SPDY
//! streams decided by klient-proto's [`PortTunnel`]. One loop (the [`Pump`]) moves the bytes;
//! each connection is a [`TunnelStream`] with a real half-close (`poll_close`/`shutdown`).
//!
//! Queues are bounded both ways. The tunnel has no flow control of its own (Kubernetes' SPDY
//! peers do none), so a connection whose reader stops taking bytes holds back the whole tunnel
//! once its queue is full, as with kubectl: nothing is dropped, and the kubelet is slowed
//! through TCP.

use std::collections::HashMap;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use bytes::Bytes;
use futures_channel::mpsc;
use futures_core::Stream as _;
use klient_proto::remote::{
    CarrierAttempts, ConnId, PortTunnel, PortTunnelError, TunnelCarrier, TunnelCommand, TunnelEvent,
    TunnelOptions, check_spdy_upgrade, spdy_upgrade_request, tunnel_handshake, tunnel_path, tunnel_ws_config,
};
use klient_proto::spdy::SessionConfig;
use klient_proto::ws::OsRandom;

use crate::background::Background;
use crate::pump::{Inputs, Outputs, Pump, PumpError};
use crate::remote::{INPUT_QUEUE, MAX_WRITE, OUTPUT_QUEUE, open_with, poll_read_chunks};
use crate::runtime::Runtime;
use crate::{Client, Error, Result};

/// Where each connection's bytes go, shared by the tunnel's handles and its loop.
#[derive(Debug, Default)]
struct Routes {
    readers: HashMap<ConnId, mpsc::Sender<io::Result<Bytes>>>,
    /// Why the whole tunnel ended, once it has: every later connection fails with it.
    ended: Option<(io::ErrorKind, String)>,
}

fn lock(routes: &Mutex<Routes>) -> MutexGuard<'_, Routes> {
    // A panic elsewhere left consistent maps behind: each update is one insert or remove.
    routes.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A port-forward tunnel to one pod: [`connect`](Self::connect) opens a connection to any of its
/// ports, as many as wanted, all over the one upgraded connection. The tunnel ends when it and
/// every stream are dropped, or at [`close`](Self::close).
#[derive(Debug)]
pub struct Tunnel {
    commands: mpsc::Sender<TunnelCommand>,
    resets: mpsc::UnboundedSender<TunnelCommand>,
    routes: Arc<Mutex<Routes>>,
    next_conn: AtomicU32,
    carrier: TunnelCarrier,
    background: Background,
}

impl<R: Runtime> Client<R> {
    /// Opens kubectl's port-forward tunnel to pod `namespace/name`: the WebSocket tunnel, or, when
    /// the server does not switch to it, a direct SPDY upgrade.
    pub async fn portforward_tunnel(&self, namespace: &str, name: &str) -> Result<Tunnel> {
        self.portforward_tunnel_with(namespace, name, &TunnelOptions::default())
            .await
    }

    /// Opens the tunnel over the first of `carriers` the server switches to; other errors (a
    /// missing pod, no permission) are returned at once.
    pub async fn portforward_tunnel_with(
        &self,
        namespace: &str,
        name: &str,
        options: &TunnelOptions,
    ) -> Result<Tunnel> {
        let path = tunnel_path(namespace, name).map_err(|e| Error::Request(e.into()))?;
        let mut attempts = CarrierAttempts::new(options);
        loop {
            let carrier = attempts.next_carrier()?;
            match self.open_tunnel(&path, carrier, options.session).await {
                Ok(tunnel) => return Ok(tunnel),
                Err(e) => attempts.failed(carrier, e)?,
            }
        }
    }

    async fn open_tunnel(&self, path: &str, carrier: TunnelCarrier, config: SessionConfig) -> Result<Tunnel> {
        let now = Instant::now();
        let (stream, mut session, leftover) = match carrier {
            TunnelCarrier::Spdy => {
                let (parts, ()) = spdy_upgrade_request(path).into_parts();
                let (head, stream, leftover) =
                    self.upgrade(http::Request::from_parts(parts, Vec::new())).await?;
                check_spdy_upgrade(head.status, &head.headers).map_err(Error::SpdyUpgrade)?;
                (stream, PortTunnel::direct(config, now), leftover)
            }
            _ => {
                let mut random = OsRandom::new().map_err(Error::Io)?;
                let host = self.config().resolved.cluster.server.host_header();
                let handshake = tunnel_handshake(&host, path, random.key16().map_err(Error::Io)?);
                let (stream, connection, _, leftover) =
                    open_with(self, handshake, random, tunnel_ws_config()).await?;
                (
                    stream,
                    PortTunnel::over_websocket(connection, config, now),
                    leftover,
                )
            }
        };
        // A failure in these bytes is handed out by the loop, after the events before it.
        session.handle_bytes(&leftover);
        let (commands, commands_rx) = mpsc::channel(INPUT_QUEUE);
        let (resets, resets_rx) = mpsc::unbounded();
        let routes = Arc::new(Mutex::new(Routes::default()));
        let inputs = TunnelInputs {
            commands: Some(commands_rx),
            resets: Some(resets_rx),
        };
        let outputs = TunnelOutputs {
            routes: routes.clone(),
        };
        let pump = Pump::new(stream, session, inputs, outputs, self.runtime().clone());
        let loop_routes = routes.clone();
        let background = Background::start(
            self.runtime(),
            Box::pin(async move {
                let (result, _) = pump.await;
                let mut routes = lock(&loop_routes);
                let (kind, message) = match &result {
                    Ok(()) => (
                        io::ErrorKind::BrokenPipe,
                        "the port-forward tunnel has ended".to_owned(),
                    ),
                    Err(e) => {
                        log::debug!("port-forward tunnel: {e:?}");
                        tunnel_failure(e)
                    }
                };
                // Every connection still read hears why the tunnel ended (a clean end is an end).
                for (_, mut tx) in routes.readers.drain() {
                    if result.is_err() {
                        let _ = tx.try_send(Err(io::Error::new(kind, message.clone())));
                    }
                }
                routes.ended = Some((kind, message));
            }),
        );
        Ok(Tunnel {
            commands,
            resets,
            routes,
            next_conn: AtomicU32::new(0),
            carrier,
            background,
        })
    }
}

#[cfg(feature = "k8s-openapi")]
impl<R: Runtime> crate::Api<k8s_openapi::api::core::v1::Pod, R> {
    /// Opens kubectl's port-forward tunnel to pod `name` (see [`Client::portforward_tunnel`]).
    pub async fn portforward_tunnel(&self, name: &str) -> Result<Tunnel> {
        let namespace = self.namespace().ok_or_else(|| {
            Error::Request(klient_proto::api::RequestError::NamespaceRequired {
                kind: "Pod".to_owned(),
            })
        })?;
        self.client().portforward_tunnel(namespace, name).await
    }
}

fn tunnel_over() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the port-forward tunnel has ended")
}

/// A failed tunnel as each connection sees it.
fn tunnel_failure(failure: &PumpError<PortTunnelError>) -> (io::ErrorKind, String) {
    let e = match failure {
        PumpError::Session(e) => io::Error::from(e.clone()),
        PumpError::Io(e) => io::Error::new(e.kind(), e.to_string()),
    };
    (e.kind(), e.to_string())
}

impl Tunnel {
    /// What carries this tunnel.
    pub fn carrier(&self) -> TunnelCarrier {
        self.carrier
    }

    /// A new connection to `port` of the pod. A port the kubelet cannot reach shows as an error
    /// on the stream's first read (the kubelet's message); once the whole tunnel has ended, this
    /// fails with why.
    pub async fn connect(&self, port: u16) -> io::Result<TunnelStream> {
        if port == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "port 0 cannot be forwarded",
            ));
        }
        let conn = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, chunks) = mpsc::channel(OUTPUT_QUEUE);
        {
            let mut routes = lock(&self.routes);
            if let Some((kind, message)) = &routes.ended {
                return Err(io::Error::new(*kind, message.clone()));
            }
            routes.readers.insert(conn, tx);
        }
        let mut commands = self.commands.clone();
        let background = self.background.handle();
        poll_fn(|cx| {
            background.drive_writing(cx);
            commands.poll_ready(cx)
        })
        .await
        .map_err(|_| tunnel_over())?;
        commands
            .start_send(TunnelCommand::Open { conn, port })
            .map_err(|_| tunnel_over())?;
        Ok(TunnelStream {
            conn,
            commands,
            resets: self.resets.clone(),
            chunks,
            current: Bytes::new(),
            write_closed: false,
            background,
        })
    }

    /// Runs the tunnel until it ends. On a runtime with tasks (tokio) the tunnel works in the
    /// background and this only waits; on one without (the futures-io adapter) the tunnel moves
    /// while its streams are polled, and an idle tunnel keeps pinging the kubelet only while
    /// this is awaited (or spawned on your executor) beside the rest of the program.
    pub async fn serve(&self) {
        poll_fn(|cx| self.background.poll_finished(cx)).await
    }

    /// Lets the tunnel's loop run from another future's poll (the listener's).
    pub(crate) fn poll_drive(&self, cx: &mut Context<'_>) {
        self.background.drive(cx);
    }

    /// Ends the tunnel (every connection is reset) and waits until it has ended.
    pub async fn close(mut self) {
        let ready = poll_fn(|cx| {
            self.background.drive(cx);
            self.commands.poll_ready(cx)
        })
        .await;
        if ready.is_ok() {
            let _ = self.commands.start_send(TunnelCommand::Close);
        }
        poll_fn(|cx| self.background.poll_finished(cx)).await;
    }
}

/// The tunnel's requests: connections opening, their bytes and half-closes in order, and resets
/// of dropped streams (which may overtake bytes only when the stream could not queue them).
struct TunnelInputs {
    commands: Option<mpsc::Receiver<TunnelCommand>>,
    resets: Option<mpsc::UnboundedReceiver<TunnelCommand>>,
}

impl Inputs<TunnelCommand> for TunnelInputs {
    fn poll_command(&mut self, cx: &mut Context<'_>) -> Poll<Option<TunnelCommand>> {
        if let Some(commands) = &mut self.commands {
            match Pin::new(commands).poll_next(cx) {
                Poll::Ready(Some(command)) => return Poll::Ready(Some(command)),
                Poll::Ready(None) => self.commands = None,
                Poll::Pending => {}
            }
        }
        if let Some(resets) = &mut self.resets {
            match Pin::new(resets).poll_next(cx) {
                Poll::Ready(Some(command)) => return Poll::Ready(Some(command)),
                Poll::Ready(None) => self.resets = None,
                Poll::Pending => {}
            }
        }
        if self.commands.is_none() && self.resets.is_none() {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

/// Hands each connection's bytes and end to its stream.
struct TunnelOutputs {
    routes: Arc<Mutex<Routes>>,
}

impl Outputs<TunnelEvent> for TunnelOutputs {
    fn offer(&mut self, cx: &mut Context<'_>, event: TunnelEvent) -> Option<TunnelEvent> {
        let mut routes = lock(&self.routes);
        let conn = event.conn();
        if matches!(event, TunnelEvent::Eof(_) | TunnelEvent::Closed(_)) {
            // The reader sees its end of input once what was queued before is read.
            routes.readers.remove(&conn);
            return None;
        }
        let tx = routes.readers.get_mut(&conn)?;
        match tx.poll_ready(cx) {
            Poll::Ready(Ok(())) => {
                let item = event.into_read_item()?;
                let last = item.is_err();
                let _ = tx.start_send(item);
                if last {
                    routes.readers.remove(&conn);
                }
                None
            }
            // The stream was dropped: nobody reads this connection any more.
            Poll::Ready(Err(_)) => {
                routes.readers.remove(&conn);
                None
            }
            // Held until the stream takes what it has queued; the tunnel waits meanwhile.
            Poll::Pending => Some(event),
        }
    }
}

/// One forwarded connection: read and write it, and close it (`poll_close`, tokio's `shutdown`)
/// for the half-close the pod's side sees as end of input; what the pod still sends can be read.
/// Dropping it resets the connection.
#[derive(Debug)]
pub struct TunnelStream {
    conn: ConnId,
    commands: mpsc::Sender<TunnelCommand>,
    resets: mpsc::UnboundedSender<TunnelCommand>,
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    write_closed: bool,
    background: Background,
}

impl TunnelStream {
    /// Reads what has arrived into `buf`; `Ok(0)` once the pod's side has half-closed.
    pub fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        poll_read_chunks(cx, &self.background, &mut self.chunks, &mut self.current, buf)
    }

    /// Takes up to 256 KiB of `buf` once the tunnel has room.
    pub fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if self.write_closed {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the stream was closed for writing",
            )));
        }
        let n = buf.len().min(MAX_WRITE);
        ready!(self.poll_queue(cx, TunnelCommand::Send(self.conn, buf[..n].to_vec())))?;
        Poll::Ready(Ok(n))
    }

    /// Written bytes are with the tunnel; nothing to wait for.
    pub fn poll_flush(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Half-closes the connection: the pod's side reads end of input after what was written.
    pub fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.write_closed {
            ready!(self.poll_queue(cx, TunnelCommand::CloseWrite(self.conn)))?;
            self.write_closed = true;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_queue(&mut self, cx: &mut Context<'_>, command: TunnelCommand) -> Poll<io::Result<()>> {
        self.background.drive_writing(cx);
        ready!(self.commands.poll_ready(cx)).map_err(|_| tunnel_over())?;
        self.commands.start_send(command).map_err(|_| tunnel_over())?;
        // Handed to the tunnel at once where the handles drive it.
        self.background.drive_writing(cx);
        Poll::Ready(Ok(()))
    }
}

impl Drop for TunnelStream {
    fn drop(&mut self) {
        // Behind what this stream queued when there is room (each sender has a slot of its own),
        // else on the side channel; a connection already over ignores it.
        let reset = TunnelCommand::Reset(self.conn);
        if let Err(e) = self.commands.try_send(reset) {
            let _ = self.resets.unbounded_send(e.into_inner());
        }
    }
}
