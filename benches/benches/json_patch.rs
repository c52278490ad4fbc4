//! Computing the JSON patch of a read-modify-write, and reading the list keys it needs.
//!
//! klient's `json_patch_between` (list items matched by key or by equality, so kept items are
//! never replaced) against `json_patch::diff` (the `json-patch` crate, which kube-rs users reach
//! for), on:
//!
//! - a realistic Pod (`klient_benches::pods`) before and after one label is added;
//! - the same Pod with a new container inserted before the others and the first one's image
//!   changed (the case where matching by key matters);
//! - a 10,000-item ConfigMap-like list of `{name, value}` entries with one entry inserted in the
//!   middle and another removed (no keys: matched by equality).
//!
//! And `ListKeys::from_openapi_v3` on the core/v1 OpenAPI document cut down to Pod. Before
//! criterion runs, the number of ops each diff produces is printed: for the same change, a
//! smaller patch is also less the server must apply, and fewer items it must rewrite whole.

use std::hint::black_box;

use criterion::{Criterion, criterion_group};
use k8s_openapi::api::core::v1::{Container, Pod};
use klient_benches::pods::pod;
use klient_proto::api::modify::{ListKeys, OpenApiLimits, json_patch_between};
use klient_proto::api::{ApiResource, Scope};
use serde_json::{Value, json};

const POD_OPENAPI: &str = include_str!("../../klient-proto/src/api/modify/testdata/core_v1_pod.json");
const ITEMS: usize = 10_000;

fn pod_keys() -> ListKeys {
    let pod = ApiResource::new("", "v1", "Pod", "pods", Scope::Namespaced);
    ListKeys::from_openapi_v3(POD_OPENAPI.as_bytes(), &pod, &OpenApiLimits::default())
        .expect("the fixture holds Pod")
}

fn to_value(pod: &Pod) -> Value {
    serde_json::to_value(pod).expect("a Pod serializes")
}

/// Before and after for each case.
fn cases() -> Vec<(&'static str, Value, Value)> {
    let before = pod(7);

    let mut labelled = before.clone();
    labelled
        .metadata
        .labels
        .get_or_insert_default()
        .insert("canary".into(), "true".into());

    let mut containers = before.clone();
    let spec = containers.spec.as_mut().expect("the pod has a spec");
    spec.containers[0].image = Some("registry.example/web:1.2.4".into());
    spec.containers.insert(
        0,
        Container {
            name: "init-proxy".into(),
            image: Some("registry.example/proxy:1.0".into()),
            ..Container::default()
        },
    );

    let entry = |i: usize| json!({"name": format!("key-{i:05}"), "value": format!("value {i}")});
    let list_before = json!({"items": (0..ITEMS).map(entry).collect::<Vec<_>>()});
    let mut list_after = list_before.clone();
    let items = list_after["items"].as_array_mut().expect("a list");
    items.insert(ITEMS / 2, json!({"name": "inserted", "value": "new"}));
    items.remove(ITEMS / 4);

    vec![
        ("pod_one_label", to_value(&before), to_value(&labelled)),
        (
            "pod_container_inserted_and_changed",
            to_value(&before),
            to_value(&containers),
        ),
        ("list_10k_insert_and_remove", list_before, list_after),
    ]
}

fn report_sizes(cases: &[(&str, Value, Value)], keys: &ListKeys) {
    for (name, before, after) in cases {
        let klient = json_patch_between(before, after, keys).expect("objects");
        let peer = json_patch::diff(before, after);
        println!(
            "json_patch: {name}: klient {} ops ({} bytes), json_patch::diff {} ops ({} bytes)",
            klient.len(),
            serde_json::to_vec(&klient).expect("serializes").len(),
            peer.0.len(),
            serde_json::to_vec(&peer).expect("serializes").len(),
        );
    }
}

fn bench(c: &mut Criterion) {
    let keys = pod_keys();
    let cases = cases();
    report_sizes(&cases, &keys);

    for (name, before, after) in &cases {
        let mut group = c.benchmark_group(format!("json_patch_{name}"));
        if name.starts_with("list") {
            group.sample_size(20);
        }
        group.bench_function("klient_json_patch_between", |b| {
            b.iter(|| json_patch_between(black_box(before), black_box(after), &keys).map(|ops| ops.len()))
        });
        group.bench_function("json_patch_diff", |b| {
            b.iter(|| json_patch::diff(black_box(before), black_box(after)).0.len())
        });
        group.finish();
    }

    let pod = ApiResource::new("", "v1", "Pod", "pods", Scope::Namespaced);
    let mut group = c.benchmark_group("list_keys_from_openapi");
    group.bench_function("klient_from_openapi_v3_core_v1_pod", |b| {
        b.iter(|| {
            ListKeys::from_openapi_v3(black_box(POD_OPENAPI.as_bytes()), &pod, &OpenApiLimits::default())
                .map(|k| k.node_count())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
