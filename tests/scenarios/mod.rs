//! The end-to-end scenarios that every adapter runs, written once.
//!
//! Each adapter's test binary (`tests/blocking.rs`, `tests/tokio.rs`) includes this folder after
//! defining what differs between adapters, so that the scenarios read the same on all of them:
//!
//! - `adapter::{Api, Client}` — the adapter's types; `adapter::client()` an admin client;
//!   `adapter::api(&namespace)` an `Api` in a test namespace; `adapter::run(scenario)` runs one
//!   scenario (a blocking adapter's scenario never waits on a future, an async one runs on its
//!   runtime); `adapter::Watching` a watcher whose events a scenario takes with a timeout;
//! - `w!(call)` — the call's outcome (`.await`ed on async adapters);
//! - `next!(stream)` — the next item of a watch, list pages or a body (an iterator on the
//!   blocking adapter, a `Stream` on the async ones);
//! - `pause!(duration)` — sleeping without blocking an async runtime.
//!
//! Fixtures (namespaces, running pods, cache ageing) are made with klient-blocking and kubectl
//! on every adapter; what a scenario asserts goes through the adapter under test. A scenario an
//! adapter cannot pass fails on it; nothing is skipped.

include!("wait_until.rs");

/// The object accessors of `Resource` for a scenario's own kind whose `metadata` is k8s-openapi's
/// `ObjectMeta` (what a derive would write).
macro_rules! object_meta_accessors {
    () => {
        fn name(&self) -> Option<&str> {
            self.metadata.name.as_deref()
        }
        fn namespace(&self) -> Option<&str> {
            self.metadata.namespace.as_deref()
        }
        fn resource_version(&self) -> Option<&str> {
            self.metadata.resource_version.as_deref()
        }
        fn uid(&self) -> Option<&str> {
            self.metadata.uid.as_deref()
        }
        fn annotation(&self, key: &str) -> Option<&str> {
            self.metadata
                .annotations
                .as_ref()?
                .get(key)
                .map(String::as_str)
        }
    };
}

mod auth;
mod discovery;
mod dynamic;
mod errors;
mod exec;
mod modify;
mod pagination;
mod protobuf;
mod protobuf_kinds;
mod protobuf_support;
mod proxy;
mod stream_limits;
mod token_rotation;
mod verbs;
mod watch;
