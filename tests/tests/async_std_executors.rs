//! The scenarios where the executor matters — exec and attach, port-forward and its listener,
//! watch and watcher (`scenarios/exec.rs`, `scenarios/watch.rs`) — on klient-async-std again,
//! under `async_std::task::block_on` (the binary `async_std.rs` runs every scenario under smol).

// These scenarios use only some of what the adapter offers every scenario.
#![allow(unused_macros, unused_imports, dead_code)]

use klient_e2e::executors::async_std_block_on as executor;

include!("../adapters/async_io.rs");

#[path = "../scenarios"]
mod scenarios {
    include!("../scenarios/wait_until.rs");

    mod exec;
    mod watch;
}
