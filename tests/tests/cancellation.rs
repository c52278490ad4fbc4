//! Load and cancellation on every async adapter (`scenarios/cancellation.rs`, written once): on
//! klient-tokio, then on klient-async-std under smol, under async-std and on a multi-threaded
//! smol executor. One test in a binary of its own, the adapters in turn: the scenario counts this
//! process's sockets, which any other test would disturb.

#[allow(unused_macros, unused_imports, dead_code)]
mod on_tokio {
    include!("../adapters/tokio.rs");

    pub mod cancellation {
        include!("../scenarios/cancellation.rs");
    }
}

#[allow(unused_macros, unused_imports, dead_code)]
mod on_smol {
    use klient_e2e::executors::smol_block_on as executor;

    include!("../adapters/async_io.rs");

    pub mod cancellation {
        include!("../scenarios/cancellation.rs");
    }
}

#[allow(unused_macros, unused_imports, dead_code)]
mod on_async_std {
    use klient_e2e::executors::async_std_block_on as executor;

    include!("../adapters/async_io.rs");

    pub mod cancellation {
        include!("../scenarios/cancellation.rs");
    }
}

#[allow(unused_macros, unused_imports, dead_code)]
mod on_smol_threads {
    use klient_e2e::executors::smol_threads as executor;

    include!("../adapters/async_io.rs");

    pub mod cancellation {
        include!("../scenarios/cancellation.rs");
    }
}

#[test]
fn a_thousand_concurrent_gets_within_the_limit_and_nothing_left_after_drops() {
    on_tokio::cancellation::a_thousand_concurrent_gets_within_the_limit_and_nothing_left_after_drops();
    on_smol::cancellation::a_thousand_concurrent_gets_within_the_limit_and_nothing_left_after_drops();
    on_async_std::cancellation::a_thousand_concurrent_gets_within_the_limit_and_nothing_left_after_drops();
    on_smol_threads::cancellation::a_thousand_concurrent_gets_within_the_limit_and_nothing_left_after_drops();
}
