//! The async Kubernetes client behind `klient-tokio` and `klient-async-std`: one async loop
//! over the [`klient_proto`] state machines, generic over a small [`Runtime`] trait (timer,
//! tasks if it has them, resolve, connect, file reads, exec plugins), as quinn's async layer is over
//! quinn-proto. Every protocol rule and every decision about a request's life is klient-proto's;
//! this crate only awaits. Applications use an adapter crate, which names these types for its
//! runtime (`klient_tokio::Client` is `Client<Tokio>`); this crate is for adapter authors.
#![forbid(unsafe_code)]

mod api;
mod auth;
mod background;
mod body;
mod client;
mod discovery;
mod exchange;
mod io;
mod io_traits;
mod listener;
mod pump;
mod remote;
mod runtime;
mod stream;
mod tunnel;
mod watch;
mod watch_ext;

pub use api::Api;
pub use body::BodyStream;
pub use client::{Client, Response};
pub use discovery::Discovery;
pub use listener::PortForwardListener;
pub use remote::{OutputReader, PortForwarder, PortStream, Process, ProcessStdin};
pub use runtime::{AsyncListener, AsyncTcp, BoxFuture, Runtime, Spawned};
pub use tunnel::{Tunnel, TunnelStream};
pub use watch::{WatchConfig, WatchStream, watcher};
pub use watch_ext::{WatchStreamExt, await_condition};

pub use klient_proto::api::Format;
pub use klient_proto::client::Warning;
pub use klient_proto::config::{Config, WarningHandler};
pub use klient_proto::remote::{AttachParams, ExitStatus, TunnelCarrier, TunnelOptions};
pub use klient_proto::{Error, Result};
