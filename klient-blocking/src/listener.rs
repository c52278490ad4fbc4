//! `kubectl port-forward` as a library: a local TCP listener whose accepted connections are all
//! forwarded to a pod's port over one tunnel (kubectl's SPDY session inside a WebSocket, or a
//! direct SPDY upgrade), each with its own pair of streams and a real half-close. A server that
//! offers neither gets one v4 WebSocket session per connection instead. The listener ends when
//! its pod is gone ([`ForwardedPod`] decides).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use klient_proto::remote::{ForwardedPod, PodCheck, PodUnavailable, TunnelOptions, tunnel_or_channels};

use crate::tunnel::{Tunnel, TunnelStream};
use crate::{Client, Error, Result};

/// Bytes one copy reads at a time: large reads make large frames.
const COPY_BUFFER: usize = 256 * 1024;

/// A local listener forwarding to `namespace/pod:port`. Dropping it (or [`stop`](Self::stop))
/// stops accepting; connections already forwarded run until either side closes. The listener
/// stops by itself when its pod is gone: [`serve`](Self::serve) says why.
pub struct PortForwardListener {
    local: SocketAddr,
    state: Arc<ListenerState>,
    accept: Option<JoinHandle<()>>,
}

/// What the accepting thread, the forwarding threads and the caller share.
struct ListenerState {
    local: SocketAddr,
    stopping: AtomicBool,
    pod: Mutex<ForwardedPod>,
    end: Mutex<End>,
    /// Notified when the accepting thread is over.
    ended: Condvar,
}

/// How far the listener's end has come.
#[derive(Default)]
struct End {
    /// Why the listener ended by itself, once it has.
    gone: Option<PodUnavailable>,
    /// The accepting thread is over and the local socket closed.
    accepting_over: bool,
}

/// How accepted connections reach the pod.
enum Route {
    /// Over the tunnel, reopened when it ended.
    Tunnel(Option<Tunnel>),
    /// One v4 WebSocket session each: the server switches to neither tunnel.
    Channels,
}

impl PortForwardListener {
    /// Binds `local` (port 0 picks a free one), reads pod `namespace/pod`, opens the tunnel to
    /// it and starts forwarding to its `port`. A pod that does not exist, does not run
    /// ([`Error::PodUnavailable`]) or may not be forwarded to is an error here, as with kubectl.
    pub fn bind(client: &Client, namespace: &str, pod: &str, port: u16, local: SocketAddr) -> Result<Self> {
        Self::bind_with(client, namespace, pod, port, local, &TunnelOptions::default())
    }

    /// [`bind`](Self::bind) with the tunnel's carriers and session as `options` says (each
    /// reopened tunnel too). No carriers at all means one v4 WebSocket session per connection,
    /// as with a server that offers no tunnel.
    pub fn bind_with(
        client: &Client,
        namespace: &str,
        pod: &str,
        port: u16,
        local: SocketAddr,
        options: &TunnelOptions,
    ) -> Result<Self> {
        let request = ForwardedPod::request(namespace, pod).map_err(Error::Request)?;
        let answer = client.send(request)?;
        let forwarded = ForwardedPod::bind(namespace, pod, answer.status.as_u16(), &answer.body)?;
        let listener = TcpListener::bind(local).map_err(Error::Io)?;
        let local = listener.local_addr().map_err(Error::Io)?;
        let tunnel = match options.carriers.is_empty() {
            true => None,
            false => tunnel_or_channels(client.portforward_tunnel_with(namespace, pod, options))?,
        };
        let mut route = match tunnel {
            Some(tunnel) => Route::Tunnel(Some(tunnel)),
            None => Route::Channels,
        };
        let state = Arc::new(ListenerState {
            local,
            stopping: AtomicBool::new(false),
            pod: Mutex::new(forwarded),
            end: Mutex::new(End::default()),
            ended: Condvar::new(),
        });
        let (client, namespace, pod) = (client.clone(), namespace.to_owned(), pod.to_owned());
        let options = options.clone();
        let shared = state.clone();
        let accept = std::thread::Builder::new()
            .name("klient-portforward-listener".into())
            .spawn(move || {
                for connection in listener.incoming() {
                    if shared.is_over() {
                        break;
                    }
                    let Ok(connection) = connection else { continue };
                    let _ = connection.set_nodelay(true);
                    let remote = match &mut route {
                        Route::Tunnel(tunnel) => {
                            match connect(&client, &namespace, &pod, port, &options, tunnel) {
                                Ok(remote) => Remote::Tunnel(remote),
                                Err(e) => {
                                    log::warn!("port-forward to {namespace}/{pod}:{port}: {e}");
                                    shared.connection_failed(&client);
                                    continue;
                                }
                            }
                        }
                        Route::Channels => Remote::Channels,
                    };
                    let (client, namespace, pod) = (client.clone(), namespace.clone(), pod.clone());
                    let shared = shared.clone();
                    std::thread::spawn(move || {
                        let forwarded = match remote {
                            Remote::Tunnel(stream) => forward_tunnelled(stream, connection),
                            Remote::Channels => {
                                forward_over_channels(&client, &namespace, &pod, port, connection)
                            }
                        };
                        if let Err(e) = forwarded {
                            log::warn!("port-forward to {namespace}/{pod}:{port}: {e}");
                            shared.connection_failed(&client);
                        }
                    });
                }
                // New connections are refused from here on.
                drop(listener);
                lock(&shared.end).accepting_over = true;
                shared.ended.notify_all();
            })
            .map_err(Error::Io)?;
        Ok(PortForwardListener {
            local,
            state,
            accept: Some(accept),
        })
    }

    /// The bound local address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Waits until the listener ends: `Ok` once it is stopped, or
    /// [`Error::PodUnavailable`] when it stopped by itself because its pod is gone (deleted,
    /// replaced by another of the same name, finished), as a failed connection revealed.
    pub fn serve(&self) -> Result<()> {
        let mut end = lock(&self.state.end);
        while !end.accepting_over {
            end = self.state.ended.wait(end).unwrap_or_else(|e| e.into_inner());
        }
        match &end.gone {
            Some(why) => Err(Error::PodUnavailable(why.clone())),
            None => Ok(()),
        }
    }

    /// Stops accepting new connections.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.state.stopping.store(true, Ordering::SeqCst);
        self.state.wake_accept();
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl Drop for PortForwardListener {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl ListenerState {
    /// Stopped, or ended by itself.
    fn is_over(&self) -> bool {
        self.stopping.load(Ordering::SeqCst) || lock(&self.end).gone.is_some()
    }

    /// Wakes the accepting thread (blocked in `accept`) with a connection of our own.
    fn wake_accept(&self) {
        let _ = TcpStream::connect(self.local);
    }

    /// A forwarded connection failed: reads the pod if [`ForwardedPod`] asks to, and ends the
    /// listener when it is gone.
    fn connection_failed(&self, client: &Client) {
        let mut request = lock(&self.pod).connection_failed();
        while let Some(read) = request.take() {
            let answer = client.send(read).ok();
            let check = lock(&self.pod).checked(answer.as_ref().map(|a| (a.status.as_u16(), &a.body[..])));
            match check {
                PodCheck::Fine => {}
                PodCheck::Again(next) => request = Some(next),
                PodCheck::Gone(why) => {
                    log::warn!("port-forward listener on {}: {why}; it stops", self.local);
                    lock(&self.end).gone = Some(why);
                    self.wake_accept();
                }
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where one accepted connection goes.
enum Remote {
    Tunnel(TunnelStream),
    Channels,
}

/// A connection over the tunnel; a tunnel that has ended (the apiserver restarted, the kubelet
/// went silent) is opened again once, and that failing is this connection's error.
fn connect(
    client: &Client,
    namespace: &str,
    pod: &str,
    port: u16,
    options: &TunnelOptions,
    tunnel: &mut Option<Tunnel>,
) -> io::Result<TunnelStream> {
    if let Some(open) = tunnel
        && let Ok(stream) = open.connect(port)
    {
        return Ok(stream);
    }
    *tunnel = None;
    let fresh = client
        .portforward_tunnel_with(namespace, pod, options)
        .map_err(|e| io::Error::new(io::ErrorKind::ConnectionRefused, e))?;
    let stream = fresh.connect(port)?;
    *tunnel = Some(fresh);
    Ok(stream)
}

/// Copies both ways between an accepted connection and its tunnel stream, each direction's end
/// passed on as a half-close.
fn forward_tunnelled(mut remote: TunnelStream, local: TcpStream) -> Result<()> {
    let mut to_remote = remote.writer();
    let mut from_local = local.try_clone().map_err(Error::Io)?;
    let upstream = std::thread::spawn(move || -> io::Result<()> {
        copy(&mut from_local, &mut to_remote)?;
        to_remote.shutdown_write()
    });
    let mut to_local = local;
    let downstream = copy(&mut remote, &mut to_local);
    let _ = to_local.shutdown(Shutdown::Write);
    let upstream = upstream
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the upstream copy panicked")));
    let _ = to_local.shutdown(Shutdown::Both);
    downstream.and(upstream).map_err(Error::Io)
}

/// Copies between one accepted connection and a new v4 session until either side ends (that
/// protocol has no half-close: the local end closing ends the session, as with kubectl).
fn forward_over_channels(
    client: &Client,
    namespace: &str,
    pod: &str,
    port: u16,
    local: TcpStream,
) -> Result<()> {
    let mut forwarder = client.portforward(namespace, pod, &[port])?;
    // A new session has a stream for each port it was asked for, once.
    let mut remote = forwarder
        .take_stream(port)
        .expect("a new port-forward session has a stream for its port");
    let mut to_remote = remote.writer();
    let mut to_local = local.try_clone().map_err(Error::Io)?;
    let mut from_local = local;
    let downstream = std::thread::spawn(move || {
        let copied = copy(&mut remote, &mut to_local);
        // The session is over: so is the local connection (which ends the copy below).
        let _ = to_local.shutdown(Shutdown::Both);
        copied
    });
    let upstream = copy(&mut from_local, &mut to_remote);
    // The local end closed: the session ends (what was queued for it goes first), which ends
    // the copy above. Without this, that copy would wait on the session for ever.
    drop(to_remote);
    forwarder.close();
    let downstream = downstream
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the downstream copy panicked")));
    downstream.and(upstream).map_err(Error::Io)
}

/// `io::copy` with a large buffer.
fn copy(from: &mut impl Read, to: &mut impl Write) -> io::Result<()> {
    let mut buf = vec![0u8; COPY_BUFFER];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        to.write_all(&buf[..n])?;
    }
}
