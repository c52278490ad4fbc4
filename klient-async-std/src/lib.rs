//! A Kubernetes client for async-std and smol users: `async-net` sockets, `futures-io` traits and
//! futures-rustls carry the bytes that the [`klient_proto`] state machines produce and consume.
//!
//! Status: not started. The blocking adapter comes first; this crate will mirror it file for file
//! once the core is stable. It exposes nothing yet, so nothing here can pretend to work.
