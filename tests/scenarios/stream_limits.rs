//! Issue 11: a watch is one response that may last hours, so the whole-body limits
//! (`Limits::max_body_bytes`, `max_decompressed_bytes`) must not end it; each event is bounded
//! where the stream is decoded instead. A whole response (a list) stays bound by them.
//!
//! A client whose limits are set to 64 KiB watches ConfigMaps of about 8 KiB each while they are
//! created and changed until the events add up to several times the limit: both a raw watch
//! request (one response body) and a watcher must deliver every event as it was written. Before
//! the fix the whole-body limit counted across the stream: the raw watch failed with
//! BodyTooLarge after 64 KiB, and the watcher reported that failure before reconnecting.

use std::sync::mpsc::channel;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use klient_e2e::{Cluster, Seen, TestNamespace, admin_client};
use klient_proto::Error;
use klient_proto::api::{ListParams, Patch, PatchParams, PostParams, WatchParams};
use klient_proto::watch::WatchEvent;
use klient_proto::watch::watcher::Config as WatchConfig;

use crate::adapter::{Client, Config};
use klient_proto::http::HttpError;
use serde_json::json;

const LIMIT: u64 = 64 * 1024;
const SELECTOR: &str = "big=yes";
/// ConfigMaps written; their list (about 90 KiB) is over the limit, and under the 128 KiB above
/// which kube-apiserver gzips a response, so the plain body is what crosses the limit.
const OBJECTS: usize = 10;
/// Versions of each: one create and three changes.
const VERSIONS: usize = 4;
const VALUE_LEN: usize = 8 * 1024;

/// A value of `VALUE_LEN` letters and digits, different for each object and version, and
/// hardly compressible.
fn value(object: usize, version: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut state = (object as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (version as u64 + 1);
    (0..VALUE_LEN)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ALPHABET[(state % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// What one event carried, to compare with what was written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Change {
    kind: &'static str,
    name: String,
    rv: String,
    value: String,
}

impl Change {
    fn of(kind: &'static str, cm: &ConfigMap) -> Change {
        Change {
            kind,
            name: cm.metadata.name.clone().unwrap(),
            rv: cm.metadata.resource_version.clone().unwrap(),
            value: cm
                .data
                .as_ref()
                .and_then(|data| data.get("v"))
                .cloned()
                .unwrap_or_default(),
        }
    }
}

/// Everything written, in order, and the size of the objects as JSON.
struct Written {
    changes: Vec<Change>,
    bytes: usize,
}

impl std::fmt::Debug for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes in {} events", self.bytes, self.changes.len())
    }
}

fn write_everything(cms: &klient_blocking::Api<ConfigMap>) -> Written {
    let mut written = Written {
        changes: Vec::new(),
        bytes: 0,
    };
    let mut record = |kind, cm: ConfigMap| {
        written.bytes += serde_json::to_vec(&cm).unwrap().len();
        written.changes.push(Change::of(kind, &cm));
    };
    for object in 0..OBJECTS {
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": format!("big-{object}"), "labels": {"big": "yes"}},
            "data": {"v": value(object, 0)},
        }))
        .unwrap();
        record("ADDED", cms.create(&PostParams::default(), &cm).unwrap());
    }
    for version in 1..VERSIONS {
        for object in 0..OBJECTS {
            let patch = Patch::Merge(json!({"data": {"v": value(object, version)}}));
            let cm = cms
                .patch(&format!("big-{object}"), &PatchParams::default(), &patch)
                .unwrap();
            record("MODIFIED", cm);
        }
    }
    written
}

#[test]
fn a_watch_delivers_events_adding_up_to_several_times_the_body_limit() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let admin = admin_client(&cluster);
        let ns = TestNamespace::create(&admin, "stream-limits");
        let mut config = Config::from_kubeconfig(cluster.admin_kubeconfig()).unwrap();
        config.limits.max_body_bytes = LIMIT;
        config.limits.max_decompressed_bytes = LIMIT;
        let limited: crate::adapter::Api<ConfigMap> =
            crate::adapter::Api::namespaced(Client::try_from(config).unwrap(), ns.name());

        // One watch request, from the (empty) list's version: its single response body carries
        // every event below.
        let start = w!(limited.list(&ListParams::default().labels(SELECTOR))).unwrap();
        let start_rv = start.metadata.resource_version.clone().unwrap();
        let mut stream =
            w!(limited.watch(&WatchParams::default().labels(SELECTOR).at(&start_rv).timeout(240))).unwrap();
        let (sender, received) = channel();
        let expected_events = OBJECTS * VERSIONS;
        let _reader = spawn!({
            let mut changes = Vec::new();
            while let Some(event) = next!(stream) {
                let change = match event {
                    Ok(WatchEvent::Added(cm)) => Change::of("ADDED", &cm),
                    Ok(WatchEvent::Modified(cm)) => Change::of("MODIFIED", &cm),
                    Ok(WatchEvent::Bookmark(_)) => continue,
                    Ok(other) => {
                        let _ = sender.send(Err(format!("unexpected event {other:?}")));
                        return;
                    }
                    Err(e) => {
                        let _ = sender.send(Err(format!("after {} events: {e}", changes.len())));
                        return;
                    }
                };
                changes.push(change);
                if changes.len() == expected_events {
                    break;
                }
            }
            let _ = sender.send(Ok(changes));
        });
        // And a watcher on the same client, its initial (empty) set done before anything is written.
        let mut watcher =
            crate::adapter::Watching::start(limited.clone(), WatchConfig::default().labels(SELECTOR));
        w!(watcher.until("the initial set", Duration::from_secs(20), |w| w.store.is_ready()));

        let written = write_everything(&ns.api());
        assert_eq!(written.changes.len(), expected_events);
        assert!(
            written.bytes as u64 > 5 * LIMIT,
            "the events should add up to several times the limit: {written:?}"
        );

        let raw = received
            .recv_timeout(Duration::from_secs(120))
            .expect("the raw watch delivers or fails within 2 minutes")
            .unwrap_or_else(|e| panic!("the raw watch broke: {e} (limit {LIMIT} bytes, {written:?})"));
        assert!(
            raw == written.changes,
            "the raw watch saw other events than were written"
        );

        let mut expected_seen = vec![Seen::Init, Seen::InitDone];
        expected_seen.extend(written.changes.iter().map(|change| Seen::Apply {
            name: change.name.clone(),
            rv: change.rv.clone(),
        }));
        w!(watcher.until("every change", Duration::from_secs(60), |w| {
            w.seen.len() >= expected_seen.len() || w.seen.iter().any(|s| matches!(s, Seen::Failure(_)))
        }));
        assert_eq!(watcher.seen, expected_seen);
        let mut last: Vec<Change> = written.changes[written.changes.len() - OBJECTS..].to_vec();
        last.sort_by(|a, b| a.name.cmp(&b.name));
        let mut stored: Vec<Change> = watcher
            .store
            .list()
            .map(|cm| Change::of("MODIFIED", cm))
            .collect();
        stored.sort_by(|a, b| a.name.cmp(&b.name));
        assert!(
            stored == last,
            "the watcher's store differs from the last versions written"
        );

        // A whole response is still bounded: the list of what was written is over the limit.
        let full = ns
            .api::<ConfigMap>()
            .list(&ListParams::default().labels(SELECTOR))
            .unwrap();
        assert!(serde_json::to_vec(&full).unwrap().len() as u64 > LIMIT);
        match w!(limited.list(&ListParams::default().labels(SELECTOR))) {
            Err(Error::Http(HttpError::BodyTooLarge { max, .. })) => assert_eq!(max, LIMIT),
            Err(other) => panic!("the list over the limit failed otherwise than BodyTooLarge: {other}"),
            Ok(list) => panic!(
                "a list of {} objects over the {LIMIT}-byte limit was read whole",
                list.items.len()
            ),
        }
    });
}
