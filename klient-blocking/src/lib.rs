//! A blocking Kubernetes client: `std::net` sockets and rustls carry the bytes that the
//! [`klient_proto`] state machines produce and consume.
//!
//! Status: the client is being built (see the README's feature table); this crate exposes nothing
//! that pretends to work before it does.
#![forbid(unsafe_code)]

pub mod websocket;
