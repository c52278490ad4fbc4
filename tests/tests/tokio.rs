//! Every shared end-to-end scenario (`tests/scenarios/`) on klient-tokio, each on a
//! multi-threaded tokio runtime of its own.

include!("../adapters/tokio.rs");

#[path = "../scenarios/mod.rs"]
mod scenarios;
