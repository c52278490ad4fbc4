//! A Kubernetes client for async-std, smol and any other executor of `futures-io` code.
//! `async-io`'s sockets and timers carry the bytes and keep the time; every protocol rule lives
//! in [`klient_proto`] and the async loop over it in [`klient_async`], shared with klient-tokio.
//!
//! ```no_run
//! use k8s_openapi::api::core::v1::Pod;
//! use klient_async_std::api::{Api, ListParams};
//! use klient_async_std::Client;
//!
//! # fn main() -> klient_async_std::Result<()> {
//! smol::block_on(async {
//!     let client = Client::try_default()?;
//!     let pods: Api<Pod> = Api::default_namespaced(client);
//!     for pod in pods.list(&ListParams::default()).await?.items {
//!         println!("{}", pod.metadata.name.unwrap_or_default());
//!     }
//!     Ok(())
//! })
//! # }
//! ```
//!
//! # Which executor
//!
//! The crate keeps the name of the runtime its users came from, but it does not depend on
//! async-std's runtime (discontinued upstream) nor on smol's executor: it uses what both are
//! built on — `async-io`'s reactor and timers, `async-process` for exec plugins, the
//! `futures-io` traits — so it runs under `smol::block_on`, `async_std::task::block_on`, a
//! `smol::Executor` on several threads, `futures::executor`, or anything else that polls futures.
//!
//! It starts no tasks and no threads of its own (`async-io` has its reactor thread, which
//! smol and async-std start anyway; a host name, not an address, is looked up on the `blocking`
//! pool, as async-net does). Work that goes on in the background on tokio is driven here by the
//! handles you poll: an exec session moves while you read its stdout, write its stdin or await
//! its exit status; a port-forward session while you use its streams; a
//! [`PortForwardListener`] while you await [`PortForwardListener::serve`] (or spawn that future
//! on your executor). A session none of whose handles is polled waits, as an unread pipe does.
//!
//! Module paths follow kube's where the concept is the same: [`api`] for `Api` and its
//! parameters, [`runtime`] for the watcher and its store.
#![forbid(unsafe_code)]

mod async_io_runtime;

pub use async_io_runtime::AsyncIo;
/// YAML documents (manifests, kubeconfigs) read into JSON trees, for `serde_json::from_value`.
pub use klient_proto::yaml;

/// A Kubernetes API client on `async-io`. Cheap to clone; clones share connections and
/// credentials. `Client::try_from(config)` and `Client::try_default()` make one.
pub type Client = klient_async::Client<AsyncIo>;

pub use klient_async::{
    AttachParams, BodyStream, Config, Discovery, Error, ExitStatus, Format, OutputReader,
    PortForwardListener, PortForwarder, PortStream, Process, ProcessStdin, Response, Result, Tunnel,
    TunnelCarrier, TunnelOptions, TunnelStream, Warning, WarningHandler,
};

/// The typed API: [`Api`](api::Api) and its parameters, as in `kube::api`.
pub mod api {
    /// The verbs of one kind, in one namespace or across all of them (see
    /// [`klient_async::Api`], which this names for `async-io`).
    pub type Api<K> = klient_async::Api<K, crate::AsyncIo>;

    pub use klient_async::WatchStream;
    pub use klient_proto::api::{
        ApiResource, DeleteParams, Deleted, DynamicObject, EvictParams, GetParams, ListParams, LogParams,
        ObjectList, Patch, PatchParams, PostParams, Resource, ResourceExt, Scope, Status, WatchParams,
    };
    pub use klient_proto::watch::WatchEvent;
}

/// Watching: the [`watcher`](runtime::watcher()) stream and its store, as in `kube::runtime`.
pub mod runtime {
    pub use klient_async::{WatchStreamExt, await_condition, watcher};
    pub use klient_proto::watch::{CompactStore, CompactStoreError, Encoded, Store};

    /// The watcher's configuration and events, as in `kube::runtime::watcher`.
    pub mod watcher {
        pub use klient_proto::watch::Event;
        pub use klient_proto::watch::watcher::*;
    }
}

// The README's example, compiled as a doc test so it stays true.
#[cfg(all(doctest, feature = "k8s-openapi"))]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
