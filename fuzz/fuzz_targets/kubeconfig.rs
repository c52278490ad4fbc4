//! Arbitrary bytes as a kubeconfig: parsing, merging and resolving must never panic.
#![no_main]

use klient_proto::config::{Kubeconfig, Overrides};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(config) = Kubeconfig::from_bytes(data, Some("/fuzz/dir/config".into())) else { return };
    let _ = format!("{config:?}");
    let _ = config.resolve(&Overrides::default());
    // Try every context and every cluster/user pairing the file names, too.
    // Bounded so that a file naming thousands of entries still runs fast.
    for context in config.contexts.iter().take(16) {
        let overrides = Overrides { context: Some(context.name.clone()), ..Overrides::default() };
        if let Ok(resolved) = config.resolve(&overrides) {
            let _ = format!("{resolved:?} {}", resolved.cluster.server);
        }
    }
    for cluster in config.clusters.iter().take(8) {
        for user in config.auth_infos.iter().take(8).map(|u| Some(u.name.clone())).chain([None]) {
            let overrides = Overrides { cluster: Some(cluster.name.clone()), user, ..Overrides::default() };
            let _ = config.resolve(&overrides);
        }
    }
    let merged = Kubeconfig::merge_all([config.clone(), config]);
    let _ = merged.resolve(&Overrides::default());
});
