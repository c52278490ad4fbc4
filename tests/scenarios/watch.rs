//! Watches against the real API server: raw streams from a resourceVersion, bookmarks, 410 and the
//! relist it forces, streaming lists, and a watcher + store kept exactly in sync.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::adapter::Api;
use k8s_openapi::api::core::v1::ConfigMap;
use klient_e2e::{Cluster, Seen, TestNamespace, admin_client, list_versions};
use klient_proto::api::{
    DeleteParams, ListParams, Patch, PatchParams, PostParams, StatusReason, WatchParams,
};
use klient_proto::watch::watcher::Config as WatchConfig;
use klient_proto::watch::{Action, Event, Failure, ListPage, WatchEvent, Watcher as WatcherMachine};
use serde_json::json;

const WATCHED: &str = "watched=yes";

fn labelled(name: &str, value: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"watched": "yes"}}, "data": {"v": value},
    }))
    .unwrap()
}

fn unlabelled(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}})).unwrap()
}

fn rv(cm: &ConfigMap) -> String {
    cm.metadata.resource_version.clone().unwrap()
}

async fn set(cms: &Api<ConfigMap>, name: &str, value: &str) -> ConfigMap {
    w!(cms.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": value}})),
    ))
    .unwrap()
}

/// The events of a raw watch, bookmarks left out, summarised as (type, name, resourceVersion).
fn summary(event: &WatchEvent<ConfigMap>) -> Option<(&'static str, String, String)> {
    let (kind, cm) = match event {
        WatchEvent::Added(cm) => ("ADDED", cm),
        WatchEvent::Modified(cm) => ("MODIFIED", cm),
        WatchEvent::Deleted(cm) => ("DELETED", cm),
        _ => return None,
    };
    Some((kind, cm.metadata.name.clone().unwrap(), rv(cm)))
}

#[test]
fn raw_watch_from_a_resource_version_sees_only_later_events_in_order() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let ns = TestNamespace::create(&fixtures, "watch-raw");
        let cms: Api<ConfigMap> = crate::adapter::api(&ns);
        w!(cms.create(&PostParams::default(), &labelled("before", "0"))).unwrap();
        let start = w!(cms.list(&ListParams::default().labels(WATCHED))).unwrap();
        let start_rv = start.metadata.resource_version.clone().unwrap();

        let a = w!(cms.create(&PostParams::default(), &labelled("a", "1"))).unwrap();
        let a2 = set(&cms, "a", "2").await;
        let b = w!(cms.create(&PostParams::default(), &labelled("b", "1"))).unwrap();
        w!(cms.delete("a", &DeleteParams::default())).unwrap();
        let expected = [
            ("ADDED", "a".to_owned(), rv(&a)),
            ("MODIFIED", "a".to_owned(), rv(&a2)),
            ("ADDED", "b".to_owned(), rv(&b)),
        ];

        let mut stream =
            w!(cms.watch(&WatchParams::default().labels(WATCHED).at(&start_rv).timeout(20))).unwrap();
        let mut got = Vec::new();
        let mut deleted_rv = None;
        while let Some(event) = next!(stream) {
            let event = event.unwrap();
            if let WatchEvent::Deleted(cm) = &event {
                assert_eq!(cm.metadata.name.as_deref(), Some("a"));
                deleted_rv = Some(rv(cm));
                break;
            }
            got.extend(summary(&event));
        }
        assert_eq!(
            got, expected,
            "the events after {start_rv}, in order, and nothing before"
        );
        let deleted_rv: u64 = deleted_rv.expect("the DELETED event").parse().unwrap();
        assert!(
            deleted_rv > rv(&b).parse::<u64>().unwrap(),
            "the delete comes last"
        );
    });
}

#[test]
fn bookmarks_arrive_when_other_objects_move_the_version_on() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let ns = TestNamespace::create(&fixtures, "watch-bookmark");
        let cms: Api<ConfigMap> = crate::adapter::api(&ns);
        let start_rv = w!(cms.list(&ListParams::default().labels(WATCHED)))
            .unwrap()
            .metadata
            .resource_version
            .unwrap();
        // The server sends a bookmark shortly before the watch's deadline, once its cache has moved past
        // what the watch has delivered; an object the selector filters out moves it on.
        let mut stream =
            w!(cms.watch(&WatchParams::default().labels(WATCHED).at(&start_rv).timeout(5))).unwrap();
        let hidden = w!(cms.create(&PostParams::default(), &unlabelled("hidden"))).unwrap();
        let started = Instant::now();
        let mut bookmarks = Vec::new();
        while let Some(event) = next!(stream) {
            match event.unwrap() {
                WatchEvent::Bookmark(bookmark) => bookmarks.push(bookmark),
                other => panic!("only bookmarks were expected, got {other:?}"),
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the watch ends at its timeout"
        );
        let last = bookmarks.last().expect("at least one bookmark");
        let reached: u64 = last.resource_version.parse().unwrap();
        assert!(reached >= rv(&hidden).parse::<u64>().unwrap(), "{bookmarks:?}");
        assert!(!last.is_initial_events_end());
    });
}

#[test]
fn watch_from_a_compacted_version_gets_410_and_the_watcher_relists() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let ns = TestNamespace::create(&fixtures, "watch-gone");
        let cms: Api<ConfigMap> = crate::adapter::api(&ns);
        klient_e2e::age_configmap_watch_cache(&fixtures, ns.name());
        for name in ["x", "y"] {
            w!(cms.create(&PostParams::default(), &labelled(name, "1"))).unwrap();
        }

        // The raw stream: a single ERROR event with the server's 410 Status.
        let mut stream = w!(cms.watch(&WatchParams::default().labels(WATCHED).at("2").timeout(10))).unwrap();
        let Some(Ok(WatchEvent::Error(status))) = next!(stream) else {
            panic!("a watch from resourceVersion 2 starts with an ERROR event");
        };
        assert_eq!(status.code, 410, "{status:?}");
        assert_eq!(status.reason, StatusReason::Expired);
        assert!(status.is_expired());

        // The watcher machine, driven with the server's real answers, except that its first watch is
        // sent from that compacted version: it must relist and end with exactly what a list says.
        let now = Instant::now();
        let config = WatchConfig::default().labels(WATCHED);
        let mut machine = WatcherMachine::<ConfigMap>::new(config, 7);
        let mut events = Vec::new();
        let list = async |machine: &mut WatcherMachine<ConfigMap>, events: &mut Vec<_>| {
            let Some(Action::List { id, params }) = machine.poll_action(now) else {
                panic!("the watcher lists first");
            };
            let page = ListPage::from(w!(cms.list(&params)).unwrap());
            assert!(page.continue_token.is_none(), "one page");
            machine.handle_list_page(id, page, now).unwrap();
            events.extend(std::iter::from_fn(|| machine.poll_event()));
        };
        list(&mut machine, &mut events).await;
        let Some(Action::Watch { id, .. }) = machine.poll_action(now) else {
            panic!("the watcher watches after listing");
        };
        let mut stale = w!(cms.watch(&WatchParams::default().labels(WATCHED).at("2").timeout(10))).unwrap();
        let gone = next!(stale).unwrap().unwrap();
        machine.handle_watch_event(id, gone, now).unwrap();
        assert!(matches!(
            machine.poll_event(),
            Some(Err(Failure::Api(status))) if status.code == 410
        ));
        w!(cms.create(&PostParams::default(), &labelled("z", "1"))).unwrap();
        list(&mut machine, &mut events).await;
        let relisted: BTreeSet<String> = events
            .iter()
            .skip_while(|e| !matches!(e, Ok(Event::InitDone)))
            .filter_map(|e| match e {
                Ok(Event::InitApply(cm)) => cm.metadata.name.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(relisted, BTreeSet::from(["x".into(), "y".into(), "z".into()]));
        assert_eq!(events.iter().filter(|e| matches!(e, Ok(Event::Init))).count(), 2);
        assert!(matches!(events.last(), Some(Ok(Event::InitDone))));
    });
}

#[test]
fn streaming_list_ends_its_initial_set_then_follows_changes() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let ns = TestNamespace::create(&fixtures, "watch-stream");
        let cms: Api<ConfigMap> = crate::adapter::api(&ns);
        for name in ["s1", "s2", "s3"] {
            w!(cms.create(&PostParams::default(), &labelled(name, "1"))).unwrap();
        }

        // Raw: ADDED for each, then the initial-events-end bookmark.
        let mut stream = w!(cms.watch(
            &WatchParams::default()
                .labels(WATCHED)
                .streaming_list()
                .timeout(10),
        ))
        .unwrap();
        let mut added = BTreeSet::new();
        while let Some(event) = next!(stream) {
            match event.unwrap() {
                WatchEvent::Added(cm) => assert!(added.insert(cm.metadata.name.unwrap())),
                WatchEvent::Bookmark(b) if b.is_initial_events_end() => break,
                WatchEvent::Bookmark(_) => {}
                other => panic!("unexpected in the initial set: {other:?}"),
            }
        }
        assert_eq!(added, BTreeSet::from(["s1".into(), "s2".into(), "s3".into()]));

        // The watcher in streaming-list mode.
        let config = WatchConfig::default().labels(WATCHED).streaming_lists();
        let mut watcher = crate::adapter::Watching::start(cms.clone(), config);
        w!(watcher.until("the initial set", Duration::from_secs(20), |w| w.store.is_ready()));
        assert_eq!(watcher.seen.first(), Some(&Seen::Init));
        assert_eq!(watcher.store.len(), 3);
        let s4 = w!(cms.create(&PostParams::default(), &labelled("s4", "1"))).unwrap();
        let expected = Seen::Apply {
            name: "s4".into(),
            rv: rv(&s4),
        };
        w!(watcher.until("s4", Duration::from_secs(20), |w| {
            w.seen.last() == Some(&expected)
        }));
        assert_eq!(
            watcher.store_versions(),
            list_versions(&ns.api::<ConfigMap>(), WATCHED)
        );
    });
}

#[test]
fn watcher_and_store_stay_exactly_in_sync() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let ns = TestNamespace::create(&fixtures, "watch-store");
        let cms: Api<ConfigMap> = crate::adapter::api(&ns);
        for i in 0..3 {
            w!(cms.create(&PostParams::default(), &labelled(&format!("pre-{i}"), "0"))).unwrap();
        }
        // Pages of 2 so that the initial list takes two requests.
        let config = WatchConfig::default().labels(WATCHED).page_size(2);
        let mut watcher = crate::adapter::Watching::start(cms.clone(), config);
        w!(watcher.until("the initial set", Duration::from_secs(20), |w| w.store.is_ready()));
        assert_eq!(
            watcher.store_versions(),
            list_versions(&ns.api::<ConfigMap>(), WATCHED)
        );
        let initial_events = watcher.seen.len();

        // A series of changes, each with the event it must produce.
        let mut expected = Vec::new();
        let applied = |cm: ConfigMap| Seen::Apply {
            name: cm.metadata.name.clone().unwrap(),
            rv: rv(&cm),
        };
        for i in 0..5 {
            expected.push(applied(
                w!(cms.create(&PostParams::default(), &labelled(&format!("new-{i}"), "1"))).unwrap(),
            ));
        }
        expected.push(applied(set(&cms, "pre-0", "changed").await));
        expected.push(applied(set(&cms, "new-1", "changed").await));
        expected.push(applied(set(&cms, "new-1", "again").await));
        // Taking the label away makes the object leave the watched set: a DELETED event.
        w!(cms.patch(
            "new-2",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"watched": null}}})),
        ))
        .unwrap();
        expected.push(Seen::Delete { name: "new-2".into() });
        for name in ["pre-1", "new-3"] {
            w!(cms.delete(name, &DeleteParams::default())).unwrap();
            expected.push(Seen::Delete { name: name.into() });
        }
        // Changes the selector hides produce nothing.
        w!(cms.create(&PostParams::default(), &unlabelled("hidden"))).unwrap();
        expected.push(applied(set(&cms, "new-4", "last").await));

        let count = expected.len();
        w!(watcher.until("every change", Duration::from_secs(30), |w| {
            w.seen.len() >= initial_events + count
        }));
        assert_eq!(
            &watcher.seen[initial_events..],
            &expected[..],
            "each change once, in order"
        );
        assert_eq!(
            watcher.store_versions(),
            list_versions(&ns.api::<ConfigMap>(), WATCHED)
        );
        // Nothing more arrives: no duplicates trail behind.
        assert_eq!(w!(watcher.step(Duration::from_millis(1500))), None);
    });
}

/// Applies a ConfigMap with kubectl's server-side apply, which records managedFields.
fn apply_server_side(cluster: &Cluster, namespace: &str, name: &str, value: &str) {
    let object = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {"klient-test": "transform"}},
        "data": {"value": value},
    });
    let out = cluster.kubectl_output(
        &["apply", "--server-side", "--field-manager=klient-test", "-f", "-"],
        Some(object.to_string().as_bytes()),
    );
    assert!(
        out.status.success(),
        "kubectl apply: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_watcher_transform_strips_managed_fields_before_the_store_keeps_them() {
    crate::adapter::run(async move {
        use klient_proto::watch::{CompactStore, ObjectKey, Store};
        let cluster = Cluster::get();
        let ns = TestNamespace::create(&admin_client(&cluster), "watch-transform");
        for name in ["c0", "c1", "c2"] {
            apply_server_side(&cluster, ns.name(), name, "1");
        }
        let api: Api<ConfigMap> = crate::adapter::api(&ns);
        // Without the transform the objects carry server-side apply's bookkeeping.
        let plain = w!(api.get("c0")).unwrap();
        assert!(
            plain.metadata.managed_fields.is_some(),
            "server-side apply records managedFields"
        );

        // The namespace's own kube-root-ca.crt is left out.
        let config = WatchConfig::default().labels("klient-test=transform");
        let mut events = crate::adapter::stripped_watcher(api.clone(), config);
        // The same events fill a Store and a CompactStore (objects kept as JSON).
        let (mut store, mut compact) = (Store::new(), CompactStore::new());
        let deadline = Instant::now() + Duration::from_secs(30);
        while !store.is_ready() {
            assert!(Instant::now() < deadline, "the initial list in 30 s");
            let event = next!(events).expect("the watcher goes on").expect("no failure");
            compact.apply(event.clone()).expect("a ConfigMap encodes");
            store.apply(event);
        }
        assert_eq!(store.len(), 3);
        assert!(store.list().all(|cm| cm.metadata.managed_fields.is_none()));
        assert!(compact.is_ready());
        let kept: Vec<ConfigMap> = compact
            .list()
            .collect::<Result<_, _>>()
            .expect("kept objects decode");
        assert_eq!(kept.iter().collect::<Vec<_>>(), store.list().collect::<Vec<_>>());

        // Later changes arrive stripped too.
        apply_server_side(&cluster, ns.name(), "c1", "2");
        loop {
            assert!(Instant::now() < deadline, "the change in 30 s");
            let event = next!(events).expect("the watcher goes on").expect("no failure");
            compact.apply(event.clone()).expect("a ConfigMap encodes");
            if let Event::Apply(cm) = &event
                && cm.metadata.name.as_deref() == Some("c1")
            {
                assert_eq!(cm.metadata.managed_fields, None);
                assert_eq!(cm.data.as_ref().unwrap()["value"], "2");
                let kept = compact
                    .get(&ObjectKey::namespaced(ns.name(), "c1"))
                    .expect("decodes");
                assert_eq!(kept.as_ref(), Some(cm));
                break;
            }
        }
    });
}
