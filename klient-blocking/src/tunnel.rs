//! kubectl's port-forward on klient-blocking: one upgrade — the SPDY tunnel inside a WebSocket,
//! else a direct SPDY upgrade — carries every connection to every port of a pod, each a pair of
//! SPDY streams decided by klient-proto's [`PortTunnel`](klient_proto::remote::PortTunnel). One
//! pump thread moves the bytes; each connection is a [`TunnelStream`] with a real half-close.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use bytes::Bytes;
#[cfg(feature = "k8s-openapi")]
use k8s_openapi::api::core::v1::Pod;
use klient_proto::remote::{
    CarrierAttempts, ConnId, PortTunnel, PortTunnelError, TunnelCarrier, TunnelCommand, TunnelOptions,
    check_spdy_upgrade, spdy_upgrade_request, tunnel_handshake, tunnel_path, tunnel_ws_config,
};
use klient_proto::spdy::SessionConfig;
use klient_proto::ws::OsRandom;

#[cfg(feature = "k8s-openapi")]
use crate::Api;
use crate::remote::{
    Chunks, OutputSender, PumpError, QUEUED_WRITES, Room, ToPump, Waiting, open_with, pump, read_chunks,
};
use crate::stream::Stream;
use crate::{Client, Error, Result};

/// Where each connection's bytes go, shared by the tunnel's handles and its pump.
#[derive(Default)]
///
/// Each reader's queue is bounded: a reader that stops taking chunks holds the whole tunnel back
/// once its queue is full (the pump reads no more, the kubelet is slowed through TCP), as with
/// kubectl and klient's async adapters; nothing is dropped, and memory stays bounded.
struct Routes {
    readers: HashMap<ConnId, OutputSender<io::Result<Bytes>>>,
    /// Why the whole tunnel ended, once it has: every later connection fails with it.
    ended: Option<(io::ErrorKind, String)>,
}

fn lock(routes: &Mutex<Routes>) -> MutexGuard<'_, Routes> {
    // A pump that panicked left consistent maps behind: each update is one insert or remove.
    routes.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A port-forward tunnel to one pod: [`connect`](Self::connect) opens a connection to any of
/// its ports, as many as wanted, all over the one upgraded connection. Dropping the tunnel and
/// every stream ends it.
pub struct Tunnel {
    commands: ToPump<TunnelCommand>,
    routes: Arc<Mutex<Routes>>,
    /// Makes each connection's queue to its reader.
    room: Room,
    next_conn: AtomicU32,
    carrier: TunnelCarrier,
    _pump: JoinHandle<()>,
}

impl Client {
    /// Opens kubectl's port-forward tunnel to pod `namespace/name`: the WebSocket tunnel, or, when
    /// the server does not switch to it, a direct SPDY upgrade.
    pub fn portforward_tunnel(&self, namespace: &str, name: &str) -> Result<Tunnel> {
        self.portforward_tunnel_with(namespace, name, &TunnelOptions::default())
    }

    /// Opens the tunnel over the first of `options.carriers` the server switches to, with its
    /// session kept as `options.session` says. Only a server that does not switch (an answer
    /// other than 101, or a 101 for something else) makes the next one tried; other errors (a
    /// missing pod, no permission) are returned at once.
    pub fn portforward_tunnel_with(
        &self,
        namespace: &str,
        name: &str,
        options: &TunnelOptions,
    ) -> Result<Tunnel> {
        let path = tunnel_path(namespace, name).map_err(|e| Error::Request(e.into()))?;
        let mut attempts = CarrierAttempts::new(options);
        loop {
            let carrier = attempts.next_carrier()?;
            match self.open_tunnel(&path, carrier, options.session) {
                Ok(tunnel) => return Ok(tunnel),
                Err(e) => attempts.failed(carrier, e)?,
            }
        }
    }

    fn open_tunnel(&self, path: &str, carrier: TunnelCarrier, config: SessionConfig) -> Result<Tunnel> {
        let now = Instant::now();
        let (stream, mut session, leftover) = match carrier {
            TunnelCarrier::Spdy => {
                let (parts, ()) = spdy_upgrade_request(path).into_parts();
                let (head, stream, leftover) = self.upgrade(http::Request::from_parts(parts, Vec::new()))?;
                check_spdy_upgrade(head.status, &head.headers).map_err(Error::SpdyUpgrade)?;
                (stream, PortTunnel::direct(config, now), leftover)
            }
            _ => {
                let mut random = OsRandom::new().map_err(Error::Io)?;
                let host = self.config().resolved.cluster.server.host_header();
                let handshake = tunnel_handshake(&host, path, random.key16().map_err(Error::Io)?);
                let (stream, connection, _, leftover) =
                    open_with(self, handshake, random, tunnel_ws_config())?;
                (
                    stream,
                    PortTunnel::over_websocket(connection, config, now),
                    leftover,
                )
            }
        };
        // A failure in these bytes is handed out by the pump, after the events before it.
        session.handle_bytes(&leftover);
        let (waiting, waker) = Waiting::for_stream(&stream).map_err(Error::Io)?;
        let (commands, command_rx) = mpsc::sync_channel(QUEUED_WRITES);
        let routes = Arc::new(Mutex::new(Routes::default()));
        let room = Room::new(waker.clone());
        let pump_routes = routes.clone();
        let pump = std::thread::Builder::new()
            .name("klient-tunnel".into())
            .spawn(move || run_tunnel(stream, waiting, session, command_rx, pump_routes))
            .map_err(Error::Io)?;
        Ok(Tunnel {
            commands: ToPump::new(commands, waker),
            routes,
            room,
            next_conn: AtomicU32::new(0),
            carrier,
            _pump: pump,
        })
    }
}

#[cfg(feature = "k8s-openapi")]
impl Api<Pod> {
    /// Opens kubectl's port-forward tunnel to pod `name` (see [`Client::portforward_tunnel`]).
    pub fn portforward_tunnel(&self, name: &str) -> Result<Tunnel> {
        let namespace = self.namespace().ok_or_else(|| {
            Error::Request(klient_proto::api::RequestError::NamespaceRequired {
                kind: "Pod".to_owned(),
            })
        })?;
        self.client().portforward_tunnel(namespace, name)
    }
}

impl Tunnel {
    /// What carries this tunnel.
    pub fn carrier(&self) -> TunnelCarrier {
        self.carrier
    }

    /// A new connection to `port` of the pod. A port nothing listens on shows as an error on the
    /// stream's first read (the kubelet's message); once the whole tunnel has failed, this fails
    /// with its error.
    pub fn connect(&self, port: u16) -> io::Result<TunnelStream> {
        if port == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "port 0 cannot be forwarded",
            ));
        }
        let conn = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, chunks) = self.room.queue();
        {
            let mut routes = lock(&self.routes);
            if let Some((kind, message)) = &routes.ended {
                return Err(io::Error::new(*kind, message.clone()));
            }
            routes.readers.insert(conn, tx);
        }
        self.commands
            .send(TunnelCommand::Open { conn, port })
            .map_err(|_| tunnel_over())?;
        Ok(TunnelStream {
            handle: Arc::new(ConnHandle {
                conn,
                commands: self.commands.clone(),
            }),
            chunks,
            current: Bytes::new(),
        })
    }

    /// Ends the tunnel: every connection's reads end, its writes fail.
    pub fn close(self) {
        let _ = self.commands.send(TunnelCommand::Close);
    }
}

fn tunnel_over() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the port-forward tunnel has ended")
}

/// What a stream and its writers share; the last one dropped resets the connection.
struct ConnHandle {
    conn: ConnId,
    commands: ToPump<TunnelCommand>,
}

impl Drop for ConnHandle {
    fn drop(&mut self) {
        // Nothing more is read or written: the kubelet may stop both directions. A connection
        // that already ended both ways ignores it.
        let _ = self.commands.send(TunnelCommand::Reset(self.conn));
    }
}

impl ConnHandle {
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.commands
            .send(TunnelCommand::Send(self.conn, buf.to_vec()))
            .map_err(|_| tunnel_over())?;
        Ok(buf.len())
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.commands
            .send(TunnelCommand::CloseWrite(self.conn))
            .map_err(|_| tunnel_over())
    }
}

/// One forwarded connection: [`Read`] + [`Write`], and [`shutdown_write`](Self::shutdown_write)
/// for the half-close the pod's side sees as end of input. Dropping it (and its writers) resets
/// the connection.
pub struct TunnelStream {
    handle: Arc<ConnHandle>,
    chunks: Chunks<io::Result<Bytes>>,
    current: Bytes,
}

impl TunnelStream {
    /// Nothing more goes to the pod's port; what it still sends can be read.
    pub fn shutdown_write(&self) -> io::Result<()> {
        self.handle.shutdown_write()
    }

    /// A handle that writes to this connection from another thread.
    pub fn writer(&self) -> TunnelWriter {
        TunnelWriter {
            handle: self.handle.clone(),
        }
    }
}

impl Read for TunnelStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_chunks(&self.chunks, &mut self.current, buf)
    }
}

impl Write for TunnelStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.handle.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The writing half of a [`TunnelStream`].
#[derive(Clone)]
pub struct TunnelWriter {
    handle: Arc<ConnHandle>,
}

impl TunnelWriter {
    /// Nothing more goes to the pod's port.
    pub fn shutdown_write(&self) -> io::Result<()> {
        self.handle.shutdown_write()
    }
}

impl Write for TunnelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.handle.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The tunnel's pump thread: each connection's bytes and end to its reader; when the tunnel
/// fails, every reader still open, and every later `connect`, gets the failure.
fn run_tunnel(
    stream: Stream,
    waiting: Waiting,
    session: PortTunnel,
    commands: Receiver<TunnelCommand>,
    routes: Arc<Mutex<Routes>>,
) {
    let result = pump(stream, waiting, session, commands, |event| {
        let conn = event.conn();
        // What the reader gets (a clone: the event itself is given back to the pump while the
        // reader has no room), and whether it is the connection's last item.
        let item = event.clone().into_read_item();
        let ends = !matches!(item, Some(Ok(_)));
        if let Some(item) = item {
            let tx = lock(&routes).readers.get(&conn).cloned();
            // A dropped reader takes nothing more: its error is no one's.
            if let Some(tx) = tx {
                tx.offer(item).map_err(|_| event)?;
            }
        }
        if ends {
            lock(&routes).readers.remove(&conn);
        }
        Ok(())
    });
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
    let still_read: Vec<_> = {
        let mut routes = lock(&routes);
        routes.ended = Some((kind, message.clone()));
        routes.readers.drain().map(|(_, tx)| tx).collect()
    };
    // Every connection still read hears why the tunnel ended, after what it has queued (a
    // clean end is an end).
    if result.is_err() {
        for tx in still_read {
            tx.hand_over(Err(io::Error::new(kind, message.clone())));
        }
    }
}

/// A failed tunnel as each connection sees it.
fn tunnel_failure(failure: &PumpError<PortTunnelError>) -> (io::ErrorKind, String) {
    let e = match failure {
        PumpError::Session(e) => io::Error::from(e.clone()),
        PumpError::Io(e) => io::Error::new(e.kind(), e.to_string()),
    };
    (e.kind(), e.to_string())
}
