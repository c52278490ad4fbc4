//! A Kubernetes client for tokio: tokio sockets and tokio-rustls carry the bytes that the
//! [`klient_proto`] state machines produce and consume.
//!
//! Status: not started. The blocking adapter comes first; this crate will mirror it file for file
//! once the core is stable. It exposes nothing yet, so nothing here can pretend to work.
