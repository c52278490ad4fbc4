//! Every shared end-to-end scenario (`tests/scenarios/`) on klient-blocking.

include!("../adapters/blocking.rs");

#[path = "../scenarios/mod.rs"]
mod scenarios;
