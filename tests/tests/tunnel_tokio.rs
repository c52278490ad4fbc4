//! kubectl's port-forward tunnel (`scenarios/tunnel.rs`, written once) on klient-tokio. The
//! scenarios count upgrades with the API server's own metrics, which other port-forwards running
//! beside them would disturb, so each adapter has a binary of its own (cargo runs test binaries
//! one after another) and the scenarios in it run one at a time.
// The scenarios use only some of what the adapter offers every scenario.
#![allow(unused_macros, unused_imports, dead_code)]

/// Held by each scenario while it runs.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

include!("../adapters/tokio.rs");

mod tunnel {
    include!("../scenarios/tunnel.rs");
}
