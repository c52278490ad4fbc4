//! Shared pieces of klient's end-to-end tests: where the local control plane lives and how to reach it.
//!
//! Every test in this crate talks to the real kube-apiserver that `tests/cluster/cluster.sh up` starts.
//! When that cluster is missing the tests fail with a message saying how to start it; they never skip.
//! The WebSocket conformance and interop tests (`autobahn.rs`, `ws_interop.rs`) instead start their
//! own servers ([`EchoServer`], `tests/autobahn/run.sh`).

mod cluster;
pub mod executors;
mod fixture;
mod idle_proxy;
mod interop;
mod listener_clients;
mod protobuf;
mod watching;

pub use cluster::Cluster;
pub use fixture::{
    TestNamespace, admin_client, age_configmap_watch_cache, api_error, kwok_pod, running_pod, unique_name,
    wait_for,
};
pub use idle_proxy::IdleProxy;
pub use interop::{EchoImpl, EchoServer};
pub use listener_clients::{ClientEnd, echo_clients, payload};
pub use protobuf::{PROTOBUF, PROTOBUF_WATCH, kubectl_get, object_from, resource_version};
pub use watching::{AsyncWatching, BackgroundWatcher, Seen, list_versions};
