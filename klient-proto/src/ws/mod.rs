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
//! Randomness is injected: the handshake key bytes and a [`MaskKeys`](crate::ws::MaskKeys)
//! source for frame masks. A source that cannot produce a key fails the connection
//! ([`Error::MaskKey`](crate::ws::Error::MaskKey)); no frame is ever masked with a predictable key.

pub mod close;
pub mod connection;
pub mod decoder;
pub mod deflate;
pub mod encoder;
pub mod frame;
pub mod handshake;
pub mod mask;
mod utf8;

pub use close::CloseCode;
pub use connection::{Config, Connection, Error, Event, Keepalive, Message, SendError};
pub use deflate::{DeflateOffer, DeflateParams};
pub use encoder::{MaskKeyError, MaskKeys};
pub use handshake::{ClientHandshake, HandshakeError, Negotiated};
