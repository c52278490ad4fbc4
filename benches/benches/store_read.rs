//! What a read costs from each of klient's watch caches, next to kube-rs's.
//!
//! `Store` hands out the object it keeps decoded (a shared pointer); `CompactStore` keeps the
//! object's JSON and decodes it on every read, for a sixth of the memory (`watch_memory`). kube-rs's
//! reflector store, like `Store`, hands out a shared pointer. Measured per object: a realistic Pod
//! (`klient_benches::pods`) and a small ConfigMap, both with `managedFields`, looked up by key;
//! and a walk over 1,000 Pods.

use std::hint::black_box;

use criterion::{Criterion, criterion_group};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};
use klient_benches::pods::pod;
use klient_proto::api::Resource;
use klient_proto::watch::{CompactStore, Event, ObjectKey, Store};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

const WALKED: usize = 1_000;

fn managed_fields(fields: serde_json::Value) -> Option<Vec<ManagedFieldsEntry>> {
    Some(vec![ManagedFieldsEntry {
        manager: Some("kubectl".into()),
        operation: Some("Apply".into()),
        api_version: Some("v1".into()),
        fields_type: Some("FieldsV1".into()),
        fields_v1: Some(FieldsV1(fields)),
        ..ManagedFieldsEntry::default()
    }])
}

fn configmap(i: usize) -> ConfigMap {
    let mut configmap: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": format!("settings-{i:05}"), "namespace": "bench",
            "uid": format!("1f2e3d4c-0000-4000-8000-{i:012}"), "resourceVersion": (100_000 + i).to_string(),
            "labels": {"app": "bench"}},
        "data": {"setting": format!("value-{i}")},
    }))
    .expect("a ConfigMap");
    configmap.metadata.managed_fields = managed_fields(json!({
        "f:data": {"f:setting": {}}, "f:metadata": {"f:labels": {"f:app": {}}},
    }));
    configmap
}

fn realistic_pod(i: usize) -> Pod {
    let mut pod = pod(i);
    pod.metadata.managed_fields = managed_fields(json!({
        "f:metadata": {"f:labels": {"f:app": {}, "f:tier": {}}},
        "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}},
    }));
    pod
}

/// Both caches, filled by the same initial set.
fn filled<K: Resource + Clone + Serialize + DeserializeOwned>(objects: &[K]) -> (Store<K>, CompactStore<K>) {
    let (mut store, mut compact) = (Store::new(), CompactStore::new());
    let events = std::iter::once(Event::Init)
        .chain(objects.iter().cloned().map(Event::InitApply))
        .chain(std::iter::once(Event::InitDone));
    for event in events {
        compact.apply(event.clone()).expect("encodes");
        store.apply(event);
    }
    (store, compact)
}

fn one_read<
    K: Resource
        + Clone
        + Serialize
        + DeserializeOwned
        + kube::Resource<DynamicType = ()>
        + Send
        + Sync
        + 'static,
>(
    c: &mut Criterion,
    name: &str,
    object: K,
) {
    let key = ObjectKey::of(&object);
    let (store, compact) = filled(std::slice::from_ref(&object));
    let (reader, mut writer) = kube::runtime::reflector::store::<K>();
    writer.apply_watcher_event(&kube::runtime::watcher::Event::Apply(object.clone()));
    let kube_key = kube::runtime::reflector::ObjectRef::from_obj(&object);

    let mut group = c.benchmark_group(format!("store_read_{name}"));
    group.bench_function("klient_store_get_shared", |b| {
        b.iter(|| store.get_shared(black_box(&key)))
    });
    group.bench_function("klient_compact_store_get", |b| {
        b.iter(|| compact.get(black_box(&key)).expect("decodes"))
    });
    group.bench_function("kube_store_get", |b| b.iter(|| reader.get(black_box(&kube_key))));
    group.finish();
}

fn bench(c: &mut Criterion) {
    one_read(c, "configmap", configmap(7));
    one_read(c, "pod", realistic_pod(7));

    let pods: Vec<Pod> = (0..WALKED).map(realistic_pod).collect();
    let (store, compact) = filled(&pods);
    let mut group = c.benchmark_group(format!("store_walk_{WALKED}_pods"));
    group.sample_size(20);
    // Each walk reads something of every pod, as a program walking its cache does.
    let containers = |pod: &Pod| pod.spec.as_ref().map_or(0, |spec| spec.containers.len());
    group.bench_function("klient_store_list", |b| {
        b.iter(|| store.list().map(containers).sum::<usize>())
    });
    group.bench_function("klient_compact_store_list", |b| {
        b.iter(|| {
            compact
                .list()
                .map(|pod| containers(&pod.expect("decodes")))
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
