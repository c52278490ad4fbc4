//! A blocking Kubernetes client: `std::net` sockets carry the bytes (TLS included) that the
//! [`klient_proto`] state machines produce and consume. Every protocol rule lives in
//! `klient-proto`; this crate connects, reads files, keeps time and exposes `Iterator`/`Read`.
//!
//! ```no_run
//! use k8s_openapi::api::core::v1::Pod;
//! use klient_blocking::{Api, Client};
//!
//! let client = Client::try_default()?;
//! let pods: Api<Pod> = Api::default_namespaced(client);
//! let pod = pods.get("my-pod")?;
//! println!("{:?}", pod.status.and_then(|s| s.phase));
//! # Ok::<(), klient_blocking::Error>(())
//! ```
#![forbid(unsafe_code)]

mod api;
mod auth;
mod client;
mod discovery;
mod exchange;
mod listener;
mod remote;
mod stream;
mod tunnel;
mod watch;
pub mod websocket;

pub use api::{Api, Pages};
pub use client::{BodyStream, Client, Response, StreamCloser};
pub use discovery::Discovery;
/// The client's configuration and the error every call returns, shared by klient's adapters.
pub use klient_proto::config::{Config, WarningHandler};
pub use klient_proto::remote::{TunnelCarrier, TunnelOptions};
/// YAML documents (manifests, kubeconfigs) read into JSON trees, for `serde_json::from_value`.
pub use klient_proto::yaml;
pub use klient_proto::{Error, Result};
pub use listener::PortForwardListener;
pub use remote::{OutputReader, PortForwarder, PortStream, PortWriter, Process, ProcessStdin};
pub use tunnel::{Tunnel, TunnelStream, TunnelWriter};
pub use watch::{WatchConfig, WatchStream, Watcher, watcher};

/// The wire format an [`Api`] prefers: JSON or protobuf.
pub use klient_proto::api::Format;
pub use klient_proto::client::Warning;
/// The protocol core's vocabulary (params, patches, events, errors), re-exported for convenience.
pub use klient_proto::remote::{AttachParams, ExitStatus};
/// What exec, attach and port-forward sessions, and the WebSocket under them, fail with (inside
/// [`Error::Exec`], [`Error::PortForward`], [`Error::WebSocket`] and their neighbours).
pub use klient_proto::remote::{ExecError, InvalidPorts, PortError, PortForwardError, UnsupportedProtocol};
pub use klient_proto::ws::{HandshakeError, WsError};
pub use klient_proto::{api as core, watch as watch_core};

// The README's example, compiled (and run, unless marked no_run) as a doc test so it stays true.
#[cfg(all(doctest, feature = "k8s-openapi"))]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
