//! What kube-runtime users reach for, on klient-tokio, against the real API server: the watcher's
//! events as objects (`applied_objects`, `touched_objects`), `await_condition`, and `ResourceExt`.
//! (klient-blocking has no async stream helpers; its watcher is an `Iterator`.)

use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use klient_e2e::{Cluster, TestNamespace, admin_client};
use klient_tokio::api::{Api, DeleteParams, Patch, PatchParams, PostParams, ResourceExt};
use klient_tokio::runtime::{WatchStreamExt, await_condition, watcher};
use klient_tokio::{Client, Config};
use serde_json::json;

fn config_map(name: &str, value: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"helper": "yes"}}, "data": {"v": value},
    }))
    .unwrap()
}

#[test]
fn watch_stream_helpers_and_await_condition() {
    let fixtures = admin_client(&Cluster::get());
    let ns = TestNamespace::create_for_objects(&fixtures, "tokio-helpers");
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let config = Config::from_kubeconfig(Cluster::get().admin_kubeconfig()).unwrap();
            let client = Client::try_from(config).unwrap();
            let cms: Api<ConfigMap> = Api::namespaced(client, ns.name());
            cms.create(&PostParams::default(), &config_map("a", "1"))
                .await
                .unwrap();

            // Applied objects: the initial set, then a create; labels through ResourceExt.
            let selected = klient_tokio::runtime::watcher::Config::default().labels("helper=yes");
            let mut applied = watcher(cms.clone(), selected.clone()).applied_objects();
            let first = tokio::time::timeout(Duration::from_secs(20), applied.next())
                .await
                .expect("the initial object within 20 s")
                .unwrap()
                .unwrap();
            assert_eq!(
                (first.name_any(), first.labels()["helper"].as_str()),
                ("a".into(), "yes")
            );
            cms.create(&PostParams::default(), &config_map("b", "1"))
                .await
                .unwrap();
            let second = tokio::time::timeout(Duration::from_secs(20), applied.next())
                .await
                .expect("the created object within 20 s")
                .unwrap()
                .unwrap();
            assert_eq!(second.name_any(), "b");

            // Touched objects include the deleted one.
            let mut touched = watcher(cms.clone(), selected).touched_objects();
            let mut seen = Vec::new();
            while seen.len() < 2 {
                let object = tokio::time::timeout(Duration::from_secs(20), touched.next())
                    .await
                    .expect("the initial set within 20 s")
                    .unwrap()
                    .unwrap();
                seen.push(object.name_any());
            }
            seen.sort();
            assert_eq!(seen, ["a", "b"]);
            cms.delete("a", &DeleteParams::default()).await.unwrap();
            let deleted = tokio::time::timeout(Duration::from_secs(20), touched.next())
                .await
                .expect("the deletion within 20 s")
                .unwrap()
                .unwrap();
            assert_eq!(deleted.name_any(), "a");

            // await_condition: returns once the object is as asked, with that object.
            let is_two = |cm: Option<&ConfigMap>| {
                cm.and_then(|cm| cm.data.as_ref()?.get("v").cloned()).as_deref() == Some("2")
            };
            let waiting = tokio::spawn(await_condition(cms.clone(), "b", is_two));
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert!(!waiting.is_finished(), "the condition does not hold yet");
            let patch = json!({"data": {"v": "2"}});
            cms.patch("b", &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .unwrap();
            let met = tokio::time::timeout(Duration::from_secs(20), waiting)
                .await
                .expect("the condition within 20 s")
                .unwrap()
                .unwrap()
                .expect("the object exists");
            assert_eq!(met.data.unwrap()["v"], "2");
            // And for a deletion: the condition sees `None`.
            let gone = tokio::spawn(await_condition(cms.clone(), "b", |cm| cm.is_none()));
            cms.delete("b", &DeleteParams::default()).await.unwrap();
            let last = tokio::time::timeout(Duration::from_secs(20), gone)
                .await
                .expect("the deletion within 20 s")
                .unwrap()
                .unwrap();
            assert!(last.is_none());
        });
}
