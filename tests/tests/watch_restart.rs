//! A watcher survives a restart of kube-apiserver: nothing lost, nothing twice, and its store ends
//! equal to a fresh list. In a file of its own because it restarts the server under every other test
//! of this binary.

//!
//! The scenario restarts the API server, which would disturb every test running beside it, so it
//! has a binary of its own and runs on each adapter in turn (`scenarios/restart.rs`, written once).

// This scenario uses only some of what the adapters offer every scenario.
#[allow(unused_macros, unused_imports, dead_code)]
mod on_blocking {
    include!("../adapters/blocking.rs");

    pub mod restart {
        include!("../scenarios/restart.rs");
    }
}

#[allow(unused_macros, unused_imports, dead_code)]
mod on_tokio {
    include!("../adapters/tokio.rs");

    pub mod restart {
        include!("../scenarios/restart.rs");
    }
}

#[test]
fn a_watch_survives_an_api_server_restart_without_losing_or_repeating_events() {
    on_blocking::restart::a_watch_survives_an_api_server_restart_without_losing_or_repeating_events();
    on_tokio::restart::a_watch_survives_an_api_server_restart_without_losing_or_repeating_events();
}
