//! A watcher survives a restart of kube-apiserver: nothing lost, nothing twice, and its store ends
//! equal to a fresh list. The restart would disturb every test running beside it, so the scenario
//! (`scenarios/restart.rs`, written once) has a binary of its own and runs on each adapter in
//! turn: klient-blocking, klient-tokio, and klient-async-std under smol, under async-std and on a
//! multi-threaded smol executor.

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

#[allow(unused_macros, unused_imports, dead_code)]
mod on_smol {
    use klient_e2e::executors::smol_block_on as executor;

    include!("../adapters/async_io.rs");

    pub mod restart {
        include!("../scenarios/restart.rs");
    }
}

#[allow(unused_macros, unused_imports, dead_code)]
mod on_async_std {
    use klient_e2e::executors::async_std_block_on as executor;

    include!("../adapters/async_io.rs");

    pub mod restart {
        include!("../scenarios/restart.rs");
    }
}

#[allow(unused_macros, unused_imports, dead_code)]
mod on_smol_threads {
    use klient_e2e::executors::smol_threads as executor;

    include!("../adapters/async_io.rs");

    pub mod restart {
        include!("../scenarios/restart.rs");
    }
}

#[test]
fn a_watch_survives_an_api_server_restart_without_losing_or_repeating_events() {
    on_blocking::restart::a_watch_survives_an_api_server_restart_without_losing_or_repeating_events();
    on_tokio::restart::a_watch_survives_an_api_server_restart_without_losing_or_repeating_events();
    on_smol::restart::a_watch_survives_an_api_server_restart_without_losing_or_repeating_events();
    on_async_std::restart::a_watch_survives_an_api_server_restart_without_losing_or_repeating_events();
    on_smol_threads::restart::a_watch_survives_an_api_server_restart_without_losing_or_repeating_events();
}
