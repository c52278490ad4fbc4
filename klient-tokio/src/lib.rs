//! A Kubernetes client for tokio. tokio's sockets, timers and processes carry the bytes and keep
//! the time; every protocol rule lives in [`klient_proto`] and the async loop over it in
//! [`klient_async`], shared with klient's other async adapter.
//!
//! ```no_run
//! use k8s_openapi::api::core::v1::Pod;
//! use klient_tokio::api::{Api, ListParams};
//! use klient_tokio::Client;
//!
//! # async fn run() -> klient_tokio::Result<()> {
//! let client = Client::try_default()?;
//! let pods: Api<Pod> = Api::default_namespaced(client);
//! for pod in pods.list(&ListParams::default()).await?.items {
//!     println!("{}", pod.metadata.name.unwrap_or_default());
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Module paths follow kube's where the concept is the same: [`api`] for `Api` and its
//! parameters, [`runtime`] for the watcher and its store.
#![forbid(unsafe_code)]

mod tokio_runtime;

/// YAML documents (manifests, kubeconfigs) read into JSON trees, for `serde_json::from_value`.
pub use klient_proto::yaml;
pub use tokio_runtime::Tokio;

/// A Kubernetes API client on tokio. Cheap to clone; clones share connections and credentials.
/// `Client::try_from(config)` and `Client::try_default()` make one.
pub type Client = klient_async::Client<Tokio>;

pub use klient_async::{
    AttachParams, BodyStream, Config, Discovery, Error, ExitStatus, Format, OutputReader,
    PortForwardListener, PortForwarder, PortStream, Process, ProcessStdin, Response, Result, Tunnel,
    TunnelCarrier, TunnelOptions, TunnelStream, Warning, WarningHandler,
};

/// The typed API: [`Api`](api::Api) and its parameters, as in `kube::api`.
pub mod api {
    /// The verbs of one kind, in one namespace or across all of them (see
    /// [`klient_async::Api`], which this names for tokio).
    pub type Api<K> = klient_async::Api<K, crate::Tokio>;

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
