//! The Kubernetes channel protocols on top of WebSocket: exec, attach and port-forward.
//!
//! - [`exec`](crate::remote::exec): the exec and attach requests and
//!   [`ExecSession`](crate::remote::ExecSession), which demultiplexes stdout, stderr and the
//!   exit status and sends stdin, its close and resizes;
//! - [`portforward`](crate::remote::portforward): the port-forward request and
//!   [`PortForward`](crate::remote::PortForward), which checks each port's number and carries
//!   its data and errors;
//! - [`tunnel`](crate::remote::tunnel): port-forward as kubectl does it, every connection on one
//!   SPDY session inside a WebSocket (or directly on SPDY): [`PortTunnel`](crate::remote::PortTunnel);
//! - [`forwarded_pod`](crate::remote::forwarded_pod): when a port-forward listener ends
//!   because its pod is gone;
//! - [`status`](crate::remote::status): the exit status read from the error channel;
//! - [`channel`](crate::remote::channel): what they share, the channel byte and the
//!   subprotocol names.
//!
//! Both machines wrap a [`ws::Connection`](crate::ws::Connection) and keep its shape: the
//! adapter connects, writes the handshake request, checks the 101 with the
//! [`ClientHandshake`](crate::ws::ClientHandshake), builds the session with the negotiated
//! subprotocol, feeds it the bytes left over after the 101 head and then everything the
//! transport reads, and writes what it transmits.
//!
//! They fail the same way too: a failure ([`ExecError`](crate::remote::ExecError),
//! [`PortForwardError`](crate::remote::PortForwardError)) is the last thing `poll_event` hands
//! out, after every event decoded before it (an exit status that arrived just before a broken
//! frame is delivered), and the close frame owed to the server is queued for `poll_transmit`.
//! A refused verb is a separate type ([`ExecSendError`](crate::remote::ExecSendError),
//! [`PortForwardSendError`](crate::remote::PortForwardSendError)), and so are the caller's
//! unusable names or ports ([`InvalidSegment`](crate::remote::InvalidSegment),
//! [`InvalidPorts`](crate::remote::InvalidPorts)).

pub mod channel;
pub mod exec;
pub mod forwarded_pod;
mod outcome;
pub mod portforward;
mod session;
pub mod status;
#[cfg(test)]
mod test_util;
pub mod tunnel;

/// What the sessions' `poll_event` returns besides a failure (shared with [`ws`](crate::ws)).
pub use crate::ws::Progress;
pub use channel::{ChannelProtocol, InvalidSegment, UnsupportedProtocol, V4_CHANNEL, V5_CHANNEL};
pub use exec::{
    AttachParams, EXEC_PROTOCOLS, ExecError, ExecEvent, ExecSendError, ExecSession, ExecSessionConfig,
    StdinClose, attach_path, exec_handshake, exec_path,
};
pub use forwarded_pod::{ForwardedPod, PodCheck, PodUnavailable, Unavailability};
pub use outcome::exec_outcome;
pub use portforward::{
    InvalidPorts, MAX_PORTS, PORTFORWARD_PROTOCOLS, PortError, PortForward, PortForwardConfig,
    PortForwardError, PortForwardEvent, PortForwardSendError, Ports, portforward_handshake, portforward_path,
};
pub use session::{ExecCommand, PortCommand, Session, channel_ws_config};
pub use status::{ExitStatus, StatusError};
pub use tunnel::{
    CarrierAttempts, ConnId, PortTunnel, PortTunnelError, SPDY_PORTFORWARD_PROTOCOL, SPDY_UPGRADE,
    STREAM_PROTOCOL_HEADER, SpdyUpgradeError, TUNNEL_CARRIERS, TUNNEL_PROTOCOL, TunnelCarrier, TunnelCommand,
    TunnelEvent, TunnelOptions, check_spdy_upgrade, spdy_upgrade_request, tunnel_handshake,
    tunnel_or_channels, tunnel_path, tunnel_ws_config, upgrade_not_switched,
};
