// A watcher survives a restart of kube-apiserver: nothing lost, nothing twice, and its store ends
// equal to a fresh list. In a file of its own because it restarts the server under every other test
// of this binary.


use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use klient_e2e::{Cluster, Seen, TestNamespace, admin_client, list_versions};
use klient_proto::api::{DeleteParams, Patch, PatchParams, PostParams};
use klient_proto::watch::BackoffConfig;
use klient_proto::watch::watcher::Config as WatchConfig;

use super::adapter::{Api, Watching};
use serde_json::json;

const WATCHED: &str = "restart=yes";

fn labelled(name: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"restart": "yes"}}, "data": {"v": "0"},
    }))
    .unwrap()
}

fn applied(cm: &ConfigMap) -> Seen {
    Seen::Apply {
        name: cm.metadata.name.clone().unwrap(),
        rv: cm.metadata.resource_version.clone().unwrap(),
    }
}

async fn set(cms: &Api<ConfigMap>, name: &str, value: &str) -> ConfigMap {
    w!(cms.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": value}})),
    ))
    .unwrap()
}

/// Creates `name`, retrying while the server is away; returns the object and the failed attempts.
async fn create_until_served(cms: &Api<ConfigMap>, name: &str, deadline: Instant) -> (ConfigMap, u32) {
    let mut failures = 0;
    loop {
        match w!(cms.create(&PostParams::default(), &labelled(name))) {
            Ok(cm) => return (cm, failures),
            // The server created it but the answer was lost with the connection.
            Err(e) if e.api().is_some_and(|api| api.is_already_exists()) => {
                return (w!(cms.get(name)).unwrap(), failures);
            }
            Err(e) => {
                failures += 1;
                assert!(Instant::now() < deadline, "the server never came back: {e}");
                pause!(Duration::from_millis(100));
            }
        }
    }
}

/// Runs the scenario on this adapter.
pub fn a_watch_survives_an_api_server_restart_without_losing_or_repeating_events() {
    super::adapter::run(async move {
    let cluster = Cluster::get();
    let fixtures = admin_client(&cluster);
    let ns = TestNamespace::create_for_objects(&fixtures, "watch-restart");
    let cms: Api<ConfigMap> = super::adapter::api(&ns);
    for name in ["pre-0", "pre-1", "pre-2"] {
        w!(cms.create(&PostParams::default(), &labelled(name))).unwrap();
    }
    let config = WatchConfig::default().labels(WATCHED).backoff(BackoffConfig {
        initial: Duration::from_millis(200),
        max: Duration::from_secs(2),
        ..BackoffConfig::default()
    });
    let mut watcher = Watching::start(cms.clone(), config);
    w!(watcher.until("the initial set", Duration::from_secs(20), |w| w.store.is_ready()));
    assert_eq!(watcher.store.len(), 3);

    // Before the restart: every change is seen, in order.
    let mark = watcher.seen.len();
    let mut before = vec![
        applied(&w!(cms.create(&PostParams::default(), &labelled("before-0"))).unwrap()),
        applied(&set(&cms, "pre-0", "before").await),
    ];
    w!(cms.delete("pre-2", &DeleteParams::default())).unwrap();
    before.push(Seen::Delete { name: "pre-2".into() });
    w!(watcher.until("the changes before the restart", Duration::from_secs(20), |w| {
        w.seen.len() >= mark + before.len()
    }));
    assert_eq!(&watcher.seen[mark..], &before[..]);

    // The restart, with creates throughout: each retried until the server takes it.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("cluster/cluster.sh");
    let cluster_dir = cluster.dir().to_owned();
    let restart = std::thread::spawn(move || {
        Command::new(script)
            .arg("restart-apiserver")
            .env("KLIENT_CLUSTER_DIR", cluster_dir)
            .output()
            .expect("cluster.sh runs")
    });
    let deadline = Instant::now() + Duration::from_secs(200);
    let mut during = Vec::new();
    let mut refused = 0;
    while !restart.is_finished() || during.len() < 3 {
        let (cm, failures) = create_until_served(&cms, &format!("during-{}", during.len()), deadline).await;
        refused += failures;
        during.push(cm);
        pause!(Duration::from_millis(100));
    }
    let output = restart.join().unwrap();
    assert!(
        output.status.success(),
        "restart-apiserver failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        refused > 0,
        "no create met the server down: the restart was not observed"
    );

    // Once the watcher has caught up with the creates made during the restart...
    let served = |w: &Watching<ConfigMap>, cm: &ConfigMap| {
        let key = (
            cm.metadata.name.clone().unwrap(),
            cm.metadata.resource_version.clone().unwrap(),
        );
        w.store_versions().contains(&key)
    };
    w!(watcher.until(
        "the creates made during the restart",
        Duration::from_secs(60),
        |w| during.iter().all(|cm| served(w, cm)),
    ));
    // ... every later change is seen, in order, as on any watch.
    let mark = watcher.seen.len();
    let mut after = vec![
        applied(&w!(cms.create(&PostParams::default(), &labelled("after-0"))).unwrap()),
        applied(&set(&cms, "pre-0", "after").await),
        applied(&set(&cms, "during-0", "after").await),
    ];
    for name in ["pre-1", "during-1"] {
        w!(cms.delete(name, &DeleteParams::default())).unwrap();
        after.push(Seen::Delete { name: name.into() });
    }
    w!(watcher.until("the changes after the restart", Duration::from_secs(30), |w| {
        w.seen[mark..]
            .iter()
            .filter(|s| !matches!(s, Seen::Failure(_)))
            .count()
            >= after.len()
    }));
    let tail: Vec<_> = watcher.seen[mark..]
        .iter()
        .filter(|s| !matches!(s, Seen::Failure(_)))
        .cloned()
        .collect();
    assert_eq!(tail, after, "the changes after the restart, once each, in order");

    // Each create made during the restart arrived once: as an event, or within a relist's
    // snapshot if the watcher had to list again; no event came twice.
    let mut applies = BTreeMap::new();
    for seen in &watcher.seen {
        if let Seen::Apply { name, rv } = seen {
            *applies.entry((name.clone(), rv.clone())).or_insert(0) += 1;
        }
    }
    assert!(
        applies.values().all(|&n| n == 1),
        "an event delivered twice: {applies:?}"
    );
    let relists = watcher.seen.iter().filter(|s| **s == Seen::Init).count() - 1;
    for cm in &during {
        let Seen::Apply { name, rv } = applied(cm) else {
            unreachable!()
        };
        let as_event = applies.contains_key(&(name.clone(), rv.clone()));
        let in_snapshot = watcher.seen.contains(&Seen::InitApply {
            name: name.clone(),
            rv,
        });
        assert!(
            as_event || in_snapshot,
            "{name} never arrived: {:#?}",
            watcher.seen
        );
    }
    assert_eq!(watcher.store_versions(), list_versions(&ns.api::<ConfigMap>(), WATCHED));
    let failures: Vec<_> = watcher
        .seen
        .iter()
        .filter(|s| matches!(s, Seen::Failure(_)))
        .collect();
    eprintln!(
        "restart: {} creates during it ({refused} refused attempts), {relists} relists, watcher failures: {failures:#?}",
        during.len()
    );
    // Quiet afterwards: nothing trails behind.
    assert_eq!(w!(watcher.step(Duration::from_millis(1500))), None);
    });
}
