// Every verb in protobuf, for each kind the protobuf work promises (Pods, Deployments,
// ConfigMaps, Secrets, Nodes, Services, Leases, CustomResourceDefinitions), through one generic
// check: a protobuf watch sees three objects created, one replaced and all deleted; in between
// they are read one by one and in pages of one, every answer protobuf on the wire, and kubectl
// reads in JSON what klient wrote in protobuf.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use k8s_openapi::Metadata;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod, Secret, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use klient_proto::api::{
    ClusterResourceScope, DeleteParams, Deleted, Format, ListParams, NamespaceResourceScope, ObjectList,
    PostParams, Resource, RootScope, WatchParams, decode_negotiated,
};
use klient_proto::watch::WatchEvent;

use super::protobuf_support::{assert_kubectl_reads, assert_protobuf_on_the_wire, protobuf_client};
use crate::adapter::{Api, Client};
use klient_e2e::{
    Cluster, PROTOBUF, PROTOBUF_WATCH, TestNamespace, admin_client, kubectl_get, kwok_pod, object_from,
    resource_version, unique_name,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

/// The label that marks this run's objects; the watch and the lists select on it.
const RUN_LABEL: &str = "klient-e2e/run";
/// The label the replace adds.
const REPLACED_LABEL: &str = "klient-e2e/replaced";

/// How kubectl names the kind: `pods`, `deployments.apps`...
/// Where a kind's objects go, chosen by its scope at compile time: namespaced kinds into a
/// namespace of their own (deleted with the guard), cluster-scoped kinds across the cluster.
trait Placement: RootScope {
    fn api<K: Resource<DynamicType = (), Scope = Self>>(
        client: &Client,
        prefix: &str,
    ) -> (Option<TestNamespace>, Api<K>);
}

impl Placement for NamespaceResourceScope {
    fn api<K: Resource<DynamicType = (), Scope = Self>>(
        client: &Client,
        prefix: &str,
    ) -> (Option<TestNamespace>, Api<K>) {
        let namespace = TestNamespace::create(&admin_client(&Cluster::get()), prefix);
        let api = Api::namespaced(client.clone(), namespace.name());
        (Some(namespace), api)
    }
}

impl Placement for ClusterResourceScope {
    fn api<K: Resource<DynamicType = (), Scope = Self>>(
        client: &Client,
        _: &str,
    ) -> (Option<TestNamespace>, Api<K>) {
        (None, Api::all(client.clone()))
    }
}

fn kubectl_resource<K: Resource<DynamicType = ()>>() -> String {
    let (plural, group) = (K::plural(&()), K::group(&()));
    if group.is_empty() {
        plural.into_owned()
    } else {
        format!("{plural}.{group}")
    }
}

fn name_of<K: Resource>(object: &K) -> String {
    object.name().expect("a named object").to_owned()
}

fn labels_of<K: Metadata<Ty = ObjectMeta>>(object: &K) -> BTreeMap<String, String> {
    object.metadata().labels.clone().unwrap_or_default()
}

/// Creates three objects of `K` (`make` turns a unique token into a minimal valid object), then
/// gets, lists in pages of one, replaces and deletes them through a protobuf `Api`, and checks
/// what a protobuf watch started beforehand reported for each.
async fn every_verb_in_protobuf<K>(prefix: &str, make: impl Fn(&str) -> K)
where
    K: Resource<DynamicType = ()>
        + Metadata<Ty = ObjectMeta>
        + Serialize
        + DeserializeOwned
        + Clone
        + PartialEq
        + Debug
        + Send
        + Sync
        + 'static,
    <K as Resource>::Scope: Placement,
{
    let cluster = Cluster::get();
    let client = protobuf_client(&cluster);
    let run = unique_name(prefix);
    let selector = format!("{RUN_LABEL}={run}");
    let (_namespace, api) = <<K as Resource>::Scope as Placement>::api::<K>(&client, prefix);
    assert_eq!(api.format(), Format::Protobuf);
    let resource = kubectl_resource::<K>();

    // The watch starts before anything exists, so it must report every change that follows.
    let start = w!(api.list(&ListParams::default().labels(&selector))).unwrap();
    assert!(start.items.is_empty(), "{:?}", start.items);
    let mut stream = w!(api.watch(
        &WatchParams::default()
            .labels(&selector)
            .at(start
                .metadata
                .resource_version
                .as_deref()
                .expect("a list version"))
            .timeout(300),
    ))
    .unwrap();
    assert_eq!(stream.content_type(), Some(PROTOBUF_WATCH));
    assert_eq!(stream.format(), Format::Protobuf);

    // Create.
    let mut created = Vec::new();
    for i in 0..3 {
        let mut object = make(&format!("{run}-{i}"));
        object
            .metadata_mut()
            .labels
            .get_or_insert_default()
            .insert(RUN_LABEL.into(), run.clone());
        let request = api
            .request_builder()
            .create_object(&PostParams::default(), &object)
            .unwrap();
        assert_eq!(request.headers()["content-type"], PROTOBUF);
        assert!(
            request.body().starts_with(b"k8s\0"),
            "a create body without protobuf magic"
        );
        let made = w!(api.create(&PostParams::default(), &object)).unwrap();
        assert_eq!(name_of(&made), name_of(&object));
        assert_eq!(labels_of(&made)[RUN_LABEL], run);
        assert!(made.metadata().uid.is_some() && made.metadata().creation_timestamp.is_some());
        assert_kubectl_reads(&cluster, &api, &resource, &made).await;
        created.push(made);
    }
    let names: Vec<String> = created.iter().map(name_of).collect();

    // Get.
    let got = w!(api.get(&names[1])).unwrap();
    assert_eq!(got.metadata().uid, created[1].metadata().uid);
    if resource_version(&got) == resource_version(&created[1]) {
        assert_eq!(got, created[1]);
    }
    assert_protobuf_on_the_wire(&api, &names[1]).await;

    // List in pages of one, following the continue tokens; every page protobuf on the wire.
    let mut params = ListParams::default().labels(&selector).limit(1);
    let mut listed = Vec::new();
    let mut pages = 0;
    loop {
        let response = w!(client.send(api.request_builder().list(&params).unwrap())).unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.content_type(), Some(PROTOBUF));
        assert!(
            response.body.starts_with(b"k8s\0"),
            "a list page without protobuf magic"
        );
        let page: ObjectList<K> = decode_negotiated(200, response.content_type(), &response.body).unwrap();
        pages += 1;
        // Under a selector the server may end with an empty page, never a fuller one.
        assert!(
            page.items.len() <= 1,
            "page {pages} holds {} items",
            page.items.len()
        );
        listed.extend(page.items.iter().map(name_of));
        match page.next_page() {
            Some(token) => params.continue_token = Some(token.to_owned()),
            None => break,
        }
        assert!(pages < 10, "still paging after {pages} pages: {listed:?}");
    }
    listed.sort();
    assert_eq!(listed, names, "the pages of one");
    assert!(pages >= 3, "{pages} pages");

    // Replace: a label more, guarded by the resourceVersion (controllers may write in between).
    let replaced = wait_until!("a replace without conflict", Duration::from_secs(30), {
        let mut latest = w!(api.get(&names[0])).unwrap();
        let before = resource_version(&latest);
        latest
            .metadata_mut()
            .labels
            .get_or_insert_default()
            .insert(REPLACED_LABEL.into(), "yes".into());
        match w!(api.replace(&names[0], &PostParams::default(), &latest)) {
            Ok(object) => {
                assert_ne!(
                    resource_version(&object),
                    before,
                    "a replace that kept its resourceVersion"
                );
                Some(object)
            }
            Err(e) if e.api().is_some_and(|e| e.is_conflict()) => None,
            Err(e) => panic!("replace {}: {e}", names[0]),
        }
    });
    assert_eq!(labels_of(&replaced)[REPLACED_LABEL], "yes");
    assert_ne!(resource_version(&replaced), resource_version(&created[0]));
    let theirs: K = kubectl_get(&cluster, api.namespace(), &resource, &names[0]);
    assert_eq!(
        labels_of(&theirs).get(REPLACED_LABEL).map(String::as_str),
        Some("yes")
    );
    assert_kubectl_reads(&cluster, &api, &resource, &replaced).await;

    // A CRD deleted while the storage of its resource is still starting stays Terminating until
    // kube-apiserver's cleanup retries, with back-off ("could not list instances: storage is
    // (re)initializing"): first wait until each one's resource is served.
    if resource.starts_with("customresourcedefinitions.") {
        for name in &names {
            wait_until!(
                format!("the resource of CRD {name} served"),
                Duration::from_secs(60),
                cluster
                    .kubectl_output(&["get", name, "--all-namespaces"], None)
                    .status
                    .success()
                    .then_some(())
            );
        }
    }

    // Delete (no grace, so that pods go at once; background, so that nothing waits on dependents).
    for name in &names {
        match w!(api.delete(name, &DeleteParams::background().grace_period(0))).unwrap() {
            Deleted::Object(object) => assert_eq!(&name_of(&object), name),
            Deleted::Status(status) => assert!(status.is_success(), "{status:?}"),
        }
    }
    for name in &names {
        wait_until!(
            format!("{resource} {name} gone"),
            Duration::from_secs(60),
            w!(api.get_opt(name)).unwrap().is_none().then_some(())
        );
    }

    // What the watch saw, per object, in order.
    let mut seen: BTreeMap<String, Vec<WatchEvent<K>>> = BTreeMap::new();
    let deleted_all = |seen: &BTreeMap<String, Vec<WatchEvent<K>>>| {
        names.iter().all(|name| {
            seen.get(name)
                .is_some_and(|events| events.iter().any(|e| matches!(e, WatchEvent::Deleted(_))))
        })
    };
    while !deleted_all(&seen) {
        let event = next!(stream)
            .unwrap_or_else(|| panic!("the watch ended before every DELETED; seen: {seen:#?}"))
            .expect("a protobuf watch event");
        let name = match &event {
            WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => name_of(o),
            WatchEvent::Error(status) => panic!("the watch failed: {status}"),
            // Bookmarks.
            _ => continue,
        };
        assert!(names.contains(&name), "an event for {name}, not selected");
        seen.entry(name).or_default().push(event);
    }
    for (i, name) in names.iter().enumerate() {
        let events = &seen[name];
        let (first, rest) = events.split_first().expect("events");
        assert_eq!(
            first,
            &WatchEvent::Added(created[i].clone()),
            "{name}'s first event"
        );
        let (last, between) = rest
            .split_last()
            .unwrap_or_else(|| panic!("{name}: only {events:?}"));
        let WatchEvent::Deleted(gone) = last else {
            panic!("{name}'s last event is not DELETED: {last:?}");
        };
        assert_eq!(gone.metadata().uid, created[i].metadata().uid);
        let modified: Vec<&K> = between
            .iter()
            .map(|event| match event {
                WatchEvent::Modified(object) => object,
                other => panic!("{name}: {other:?} between ADDED and DELETED"),
            })
            .collect();
        if i == 0 {
            assert!(
                modified.contains(&&replaced),
                "{name}: no MODIFIED with the replaced object among {modified:#?}"
            );
            assert_eq!(
                labels_of(gone).get(REPLACED_LABEL).map(String::as_str),
                Some("yes")
            );
        } else {
            assert!(
                modified
                    .iter()
                    .all(|o| !labels_of(*o).contains_key(REPLACED_LABEL)),
                "{name} was never replaced: {modified:#?}"
            );
        }
    }
}

#[test]
fn pods_every_verb_in_protobuf() {
    crate::adapter::run(every_verb_in_protobuf::<Pod>("pb-pods", |token| {
        kwok_pod(token, json!({"app": "pb"}))
    }));
}

#[test]
fn deployments_every_verb_in_protobuf() {
    crate::adapter::run(every_verb_in_protobuf::<Deployment>("pb-deployments", |token| {
        object_from(json!({
            "metadata": {"name": token},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": token}},
                "template": {
                    "metadata": {"labels": {"app": token}},
                    "spec": {"containers": [{"name": "main", "image": "busybox"}]},
                },
            },
        }))
    }));
}

#[test]
fn config_maps_every_verb_in_protobuf() {
    crate::adapter::run(every_verb_in_protobuf::<ConfigMap>("pb-configmaps", |token| {
        object_from(json!({"metadata": {"name": token}, "data": {"token": token}}))
    }));
}

#[test]
fn secrets_every_verb_in_protobuf() {
    crate::adapter::run(every_verb_in_protobuf::<Secret>("pb-secrets", |token| {
        object_from(json!({
            "metadata": {"name": token},
            "type": "Opaque",
            "stringData": {"token": token},
        }))
    }));
}

#[test]
fn nodes_every_verb_in_protobuf() {
    crate::adapter::run(every_verb_in_protobuf::<Node>("pb-nodes", |token| {
        object_from(json!({"metadata": {"name": token}}))
    }));
}

#[test]
fn services_every_verb_in_protobuf() {
    crate::adapter::run(every_verb_in_protobuf::<Service>("pb-services", |token| {
        object_from(json!({
            "metadata": {"name": token},
            "spec": {
                "type": "ClusterIP",
                "selector": {"app": token},
                "ports": [{"port": 80, "targetPort": 8080}],
            },
        }))
    }));
}

#[test]
fn leases_every_verb_in_protobuf() {
    crate::adapter::run(every_verb_in_protobuf::<Lease>("pb-leases", |token| {
        object_from(json!({
            "metadata": {"name": token},
            "spec": {"holderIdentity": token, "leaseDurationSeconds": 15},
        }))
    }));
}

#[test]
fn custom_resource_definitions_every_verb_in_protobuf() {
    // A group of its own per object: a CRD's name is its plural and group.
    crate::adapter::run(every_verb_in_protobuf::<CustomResourceDefinition>(
        "pb-crds",
        |token| {
            let group = format!("{token}.klient.test");
            object_from(json!({
                "metadata": {"name": format!("widgets.{group}")},
                "spec": {
                    "group": group,
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                    "scope": "Namespaced",
                    "versions": [{
                        "name": "v1", "served": true, "storage": true,
                        "schema": {"openAPIV3Schema": {"type": "object"}},
                    }],
                },
            }))
        },
    ));
}
