//! RFC 6455 WebSocket client as sans-IO state machines.
//!
//! - [`handshake`](crate::ws::handshake): the upgrade request and the checks on the server's
//!   101 response;
//! - [`Connection`](crate::ws::Connection): frames in and out, message assembly, ping/pong, the
//!   close handshake and keepalive timing, fed with bytes and instants by the caller;
//! - [`frame`](crate::ws::frame), [`decoder`](crate::ws::decoder),
//!   [`encoder`](crate::ws::encoder), [`mask`](crate::ws::mask): the wire format underneath,
//!   usable alone;
//! - [`deflate`](crate::ws::deflate): permessage-deflate (RFC 7692) negotiation and compression.
//!
//! Every machine here and in [`remote`](crate::remote) drains the same way: `poll_event` hands
//! out [`Progress`](crate::ws::Progress) values, and a failure comes last, after every event
//! decoded before it, with the close frame the protocol owes the server already queued for
//! `poll_transmit`. Errors are named after the module or machine: [`WsError`](crate::ws::WsError)
//! for a failed connection, [`WsSendError`](crate::ws::WsSendError) for a refused verb (the
//! caller's mistake, or a failing key source), [`HandshakeError`](crate::ws::HandshakeError) for
//! the opening handshake; events are [`WsEvent`](crate::ws::WsEvent).
//!
//! Randomness is injected: the handshake key bytes and a [`MaskKeys`](crate::ws::MaskKeys)
//! source for frame masks. A source that cannot produce a key fails the connection
//! ([`WsError::MaskKey`](crate::ws::WsError::MaskKey)); no frame is ever masked with a
//! predictable key.

pub mod close;
pub mod connection;
pub mod decoder;
pub mod deflate;
pub mod encoder;
mod error;
pub mod frame;
pub mod handshake;
pub mod mask;
mod os_random;
mod progress;
mod utf8;

pub use close::{CloseCode, CloseFrame};
pub use connection::{Config, Connection, Keepalive, Message, WsEvent};
pub use deflate::{DeflateOffer, DeflateParams};
pub use encoder::{MaskKeyError, MaskKeys};
pub use error::{Deadline, ProtocolViolation, SizeLimit, WsError, WsSendError};
pub use handshake::{ClientHandshake, HandshakeError, Negotiated};
pub use os_random::OsRandom;
pub use progress::Progress;
