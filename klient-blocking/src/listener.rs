//! `kubectl port-forward` as a library: a local TCP listener whose every accepted connection is
//! forwarded to a pod's port over its own port-forward session (the WebSocket protocol carries one
//! connection per port per session).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crate::{Client, Result};

/// A local listener forwarding to `namespace/pod:port`. Dropping it (or [`stop`](Self::stop))
/// stops accepting; connections already forwarded run until either side closes.
pub struct PortForwardListener {
    local: SocketAddr,
    stopping: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl PortForwardListener {
    /// Binds `local` (port 0 picks a free one) and starts forwarding to `namespace/pod:port`.
    pub fn bind(client: &Client, namespace: &str, pod: &str, port: u16, local: SocketAddr) -> Result<Self> {
        let listener = TcpListener::bind(local).map_err(crate::Error::Io)?;
        let local = listener.local_addr().map_err(crate::Error::Io)?;
        let stopping = Arc::new(AtomicBool::new(false));
        let (client, namespace, pod) = (client.clone(), namespace.to_owned(), pod.to_owned());
        let stop = stopping.clone();
        let accept = std::thread::Builder::new()
            .name("klient-portforward-listener".into())
            .spawn(move || {
                for connection in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(connection) = connection else { continue };
                    let (client, namespace, pod) = (client.clone(), namespace.clone(), pod.clone());
                    std::thread::spawn(move || {
                        if let Err(e) = forward(&client, &namespace, &pod, port, connection) {
                            log::warn!("port-forward to {namespace}/{pod}:{port}: {e}");
                        }
                    });
                }
            })
            .map_err(crate::Error::Io)?;
        Ok(PortForwardListener {
            local,
            stopping,
            accept: Some(accept),
        })
    }

    /// The bound local address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Stops accepting new connections.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the blocked accept with a connection of our own.
        let _ = TcpStream::connect(self.local);
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

/// Copies between one accepted connection and a new session until either side ends.
fn forward(client: &Client, namespace: &str, pod: &str, port: u16, local: TcpStream) -> Result<()> {
    let mut forwarder = client.portforward(namespace, pod, &[port])?;
    // A new session has a stream for each port it was asked for, once.
    let mut remote = forwarder
        .take_stream(port)
        .expect("a new port-forward session has a stream for its port");
    let mut to_remote = remote.writer();
    let mut from_local = local.try_clone().map_err(crate::Error::Io)?;
    let mut to_local = local;
    let upstream = std::thread::spawn(move || -> io::Result<()> {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = from_local.read(&mut buf)?;
            if n == 0 {
                // The protocol cannot half-close one port, so the local end closing ends the
                // session, as with kubectl.
                return Ok(());
            }
            to_remote.write_all(&buf[..n])?;
        }
    });
    let downstream = io::copy(&mut remote, &mut to_local);
    let _ = to_local.shutdown(Shutdown::Both);
    let _ = upstream.join();
    forwarder.close();
    downstream.map(|_| ()).map_err(crate::Error::Io)
}
