//! Kinds described at run time: `ApiResource` + `DynamicObject` against built-in kinds (custom
//! resources arrive with issue 4), checked against the typed API.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use std::time::Duration;

use klient_blocking::core::{
    ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, Scope,
    StatusReason, WatchParams,
};
use klient_blocking::watch_core::{Event, ObjectKey, Store, WatchEvent};
use klient_blocking::{Api, WatchConfig, watcher};
use klient_e2e::{Cluster, TestNamespace, admin_client, api_error};
use serde_json::json;

#[test]
fn a_config_map_through_the_dynamic_api() {
    let client = admin_client(&Cluster::get());
    let ns = TestNamespace::create(&client, "dynamic-cm");
    let resource = ApiResource::new("", "v1", "ConfigMap", "configmaps", Scope::Namespaced);
    assert_eq!(resource, ApiResource::erase::<ConfigMap>(&()));
    let api = Api::<DynamicObject>::namespaced_with(client.clone(), ns.name(), &resource).unwrap();

    let object = DynamicObject::new("dyn", &resource)
        .within(ns.name())
        .data(json!({"data": {"greeting": "hello", "unicode": "🦀"}}));
    let created = api.create(&PostParams::default(), &object).unwrap();
    assert_eq!(created.metadata.name.as_deref(), Some("dyn"));
    assert!(created.metadata.uid.is_some());
    assert_eq!(created.data["data"]["greeting"], "hello");
    let types = created.types.as_ref().unwrap();
    assert_eq!(
        (types.api_version.as_str(), types.kind.as_str()),
        ("v1", "ConfigMap")
    );

    // The typed API sees the same object.
    let typed: Api<ConfigMap> = ns.api();
    let cm = typed.get("dyn").unwrap();
    assert_eq!(cm.metadata.uid, created.metadata.uid);
    assert_eq!(cm.data.unwrap()["unicode"], "🦀");

    let patched = api
        .patch(
            "dyn",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"via": "dynamic"}}, "data": {"greeting": "hi"}})),
        )
        .unwrap();
    assert_eq!(patched.data["data"]["greeting"], "hi");
    assert_eq!(patched.metadata.labels.as_ref().unwrap()["via"], "dynamic");

    let mut replaced = api.get("dyn").unwrap();
    replaced.data["data"]["added"] = json!("by replace");
    let replaced = api.replace("dyn", &PostParams::default(), &replaced).unwrap();
    assert_eq!(replaced.data["data"]["added"], "by replace");

    let listed = api.list(&ListParams::default().labels("via=dynamic")).unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].metadata.name.as_deref(), Some("dyn"));
    assert_eq!(listed.items[0].data["data"]["added"], "by replace");

    let applied = api
        .patch(
            "dyn-applied",
            &PatchParams::apply("klient-dynamic"),
            &Patch::Apply(DynamicObject::new("dyn-applied", &resource).data(json!({"data": {"k": "v"}}))),
        )
        .unwrap();
    assert_eq!(applied.data["data"]["k"], "v");

    // A raw watch decodes dynamic objects too.
    let rv = listed.metadata.resource_version.unwrap();
    api.delete("dyn", &DeleteParams::default()).unwrap();
    let mut stream = api
        .watch(&WatchParams::default().labels("via=dynamic").at(&rv).timeout(10))
        .unwrap();
    match stream.next() {
        Some(Ok(WatchEvent::Deleted(gone))) => assert_eq!(gone.metadata.name.as_deref(), Some("dyn")),
        other => panic!("expected the DELETED event, got {other:?}"),
    }
    assert_eq!(api_error(api.get("dyn")), (StatusReason::NotFound, 404));
}

#[test]
fn a_grouped_kind_through_the_dynamic_api() {
    let client = admin_client(&Cluster::get());
    let ns = TestNamespace::create(&client, "dynamic-deploy");
    let resource = ApiResource::new("apps", "v1", "Deployment", "deployments", Scope::Namespaced);
    let api = Api::<DynamicObject>::namespaced_with(client.clone(), ns.name(), &resource).unwrap();
    let object = DynamicObject::new("web", &resource).data(json!({"spec": {
        "replicas": 0,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "main", "image": "busybox"}]},
        },
    }}));
    let created = api.create(&PostParams::default(), &object).unwrap();
    assert_eq!(created.types.unwrap().api_version, "apps/v1");
    let typed: Api<Deployment> = ns.api();
    let deployment = typed.get("web").unwrap();
    assert_eq!(deployment.spec.replicas, Some(0));
    assert_eq!(deployment.metadata.uid, created.metadata.uid);
    // Cluster-wide (all namespaces) works for a namespaced kind.
    let everywhere = Api::<DynamicObject>::all_with(client, &resource).unwrap();
    let all = everywhere
        .list(&ListParams::default().fields(&format!("metadata.namespace={}", ns.name())))
        .unwrap();
    assert_eq!(all.items.len(), 1);
}

#[test]
fn a_watcher_and_store_over_dynamic_objects() {
    let client = admin_client(&Cluster::get());
    let ns = TestNamespace::create(&client, "dynamic-watch");
    let resource = ApiResource::erase::<ConfigMap>(&());
    let api = Api::<DynamicObject>::dynamic(client, &resource, Some(ns.name())).unwrap();
    let make =
        |name: &str| DynamicObject::new(name, &resource).data(json!({"metadata": {}, "data": {"k": name}}));
    let labelled = |name: &str| {
        let mut object = make(name);
        object.metadata.labels = Some([("dyn".to_owned(), "yes".to_owned())].into());
        object
    };
    api.create(&PostParams::default(), &labelled("first")).unwrap();
    let config = WatchConfig {
        label_selector: Some("dyn=yes".into()),
        ..WatchConfig::default()
    };
    let (sender, events) = std::sync::mpsc::channel();
    let watched = api.clone();
    std::thread::spawn(move || {
        for event in watcher(watched, config) {
            if sender.send(event).is_err() {
                break;
            }
        }
    });
    let mut store = Store::new();
    let take = |store: &mut Store<DynamicObject>| {
        let event = events
            .recv_timeout(Duration::from_secs(20))
            .expect("an event within 20 s")
            .expect("no watcher failure");
        store.apply(event.clone());
        event
    };
    while !store.is_ready() {
        take(&mut store);
    }
    assert_eq!(store.len(), 1);
    let second = api.create(&PostParams::default(), &labelled("second")).unwrap();
    let Event::Apply(seen) = take(&mut store) else {
        panic!("an Apply for the new object");
    };
    assert_eq!(seen.metadata.resource_version, second.metadata.resource_version);
    api.delete("first", &DeleteParams::default()).unwrap();
    assert!(
        matches!(take(&mut store), Event::Delete(gone) if gone.metadata.name.as_deref() == Some("first"))
    );
    let key = ObjectKey::namespaced(ns.name(), "second");
    assert_eq!(store.get(&key).unwrap().data["data"]["k"], "second");
    assert_eq!(store.len(), 1);
}
