//! The sans-IO core of klient, a Kubernetes client.
//!
//! Every byte klient sends or receives is produced and consumed by the pure state machines in this
//! crate. They never touch a socket, a clock, a thread or a global random number generator: the
//! runtime adapters (`klient-blocking`, `klient-tokio`, `klient-async-std`) feed them bytes and the
//! current time, and carry out what they ask for. That makes one implementation serve every runtime
//! and lets every protocol path be tested in memory, fuzzed and benchmarked in isolation.
//!
//! The machines share one shape, so that reading one teaches all of them:
//!
//! - getters take `&self` and change nothing;
//! - `handle_*` methods take what arrived: bytes from the network, or the current time;
//! - plain verbs take what the application wants to do;
//! - `poll_*` methods hand out what the caller must do next: bytes to send, events to deliver, the
//!   next instant a timer must fire.
#![forbid(unsafe_code)]

/// Request credentials: when to read a token file or run an exec plugin, with what timeout, cache and expiry.
pub mod auth;
// The life of a request: retries, credential renewal on 401, safe replay, pooling, deadlines.
// (Its docs live in client/mod.rs, for the same reason as api's.)
pub mod client;
/// Kubeconfig loading, merging and resolution, in-cluster config, exec credential plugin data.
pub mod config;
/// HTTP/1.1: request encoding and an incremental, limit-enforcing response decoder.
pub mod http;
// The typed Kubernetes API: resources, request builders, parameters, responses and errors.
// (Its docs live in api/mod.rs: an outer doc here would resolve its links from the crate root.)
pub mod api;
// Kubernetes protobuf: wire format, envelope, and codecs for the k8s-openapi types.
// (Its docs live in protobuf/mod.rs, for the same reason as api's.)
pub mod protobuf;
/// Kubernetes channel protocols on WebSocket: exec, attach and port-forward sessions.
pub mod remote;
/// SPDY/3.1 framing, header compression and a client session, for kubectl's port-forward tunnel.
pub mod spdy;
/// TLS as a sans-IO session over rustls (ring): configuration from the kubeconfig, handshake, records, close.
pub mod tls;
/// The watch protocol: JSON event framing, the list-then-watch / streaming-list watcher, a store.
pub mod watch;
/// RFC 6455 WebSocket client: handshake, frames, masking and the connection machine.
pub mod ws;
// YAML documents read into JSON trees: kubeconfig files, exec plugins' output, manifests.
// (Its docs live in yaml.rs, for the same reason as api's.)
pub mod yaml;

mod buffer;
mod error;
pub use error::{Error, Result};

// The README's example, compiled (and run, unless marked no_run) as a doc test so it stays true.
#[cfg(all(doctest, feature = "k8s-openapi"))]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
