//! How long a connection may take to open, to answer and to take bytes, and how a dead peer is
//! noticed when nothing flows. Every adapter applies these the same way, so that a server that goes
//! silent costs the same bounded time on every runtime.

use std::time::Duration;

/// The transport's deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportSettings {
    /// How long opening a connection may take: the TCP connection (to the server or its proxy)
    /// and the proxy's tunnel within it, every address the name resolves to together (not each
    /// one); the TLS handshake then has as long again. Default 30 s.
    pub connect_timeout: Duration,
    /// How long a request may wait for the server between bytes of its answer. Default 295 s,
    /// just under the API server's own 5-minute request timeout. Streams (watches, followed logs)
    /// do not use it: a watch asks the server for an end and has its own stall deadline.
    pub read_timeout: Duration,
    /// How long one write may wait for the server to take bytes. Default 60 s.
    pub write_timeout: Duration,
    /// How long an upgrade (exec, attach, port-forward) may take from its request to the server
    /// switching protocols, retries included; a server that accepts the connection and then says
    /// nothing fails the session here instead of after the read timeout. Default 30 s.
    pub upgrade_timeout: Duration,
    /// TCP keepalive: after this long without traffic the kernel probes the peer, so that a
    /// connection whose server vanished (a node gone, a NAT entry dropped) fails instead of
    /// hanging; `None` leaves the system's setting. Default 30 s, as Go's dialer (and so
    /// client-go and kubectl) uses.
    pub tcp_keepalive: Option<Duration>,
}

impl Default for TransportSettings {
    fn default() -> Self {
        TransportSettings {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(295),
            write_timeout: Duration::from_secs(60),
            upgrade_timeout: Duration::from_secs(30),
            tcp_keepalive: Some(Duration::from_secs(30)),
        }
    }
}
