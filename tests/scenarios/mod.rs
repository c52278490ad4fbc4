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

/// Re-evaluates `$check` (an expression that may use `w!` and `?` on `Option`) every 100 ms
/// until it gives `Some`, failing with `$what` after `$timeout`.
macro_rules! wait_until {
    ($what:expr, $timeout:expr, $check:expr $(,)?) => {{
        let what = $what;
        let timeout: std::time::Duration = $timeout;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            #[allow(clippy::redundant_closure_call, unused_braces)]
            let checked = async { $check }.await;
            if let Some(value) = checked {
                break value;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {what}"
            );
            pause!(std::time::Duration::from_millis(100));
        }
    }};
}

mod auth;
mod discovery;
mod dynamic;
mod errors;
mod exec;
mod pagination;
mod protobuf;
mod protobuf_kinds;
mod protobuf_support;
mod proxy;
mod stream_limits;
mod token_rotation;
mod verbs;
mod watch;
