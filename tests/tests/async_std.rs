//! Every shared end-to-end scenario (`tests/scenarios/`) on klient-async-std, each under
//! `smol::block_on` (the binaries `async_std_executors*` run the scenarios where the executor
//! matters again under async-std and on a multi-threaded executor).

use klient_e2e::executors::smol_block_on as executor;

include!("../adapters/async_io.rs");

#[path = "../scenarios/mod.rs"]
mod scenarios;
