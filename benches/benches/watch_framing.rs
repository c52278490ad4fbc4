//! Decoding a JSON watch stream of 10,000 pod-like events.
//!
//! klient's `EventDecoder` (incremental: fed the stream in one slice, or in 16 KiB pieces as a
//! socket would deliver it) against serde_json's `StreamDeserializer` over the whole buffer,
//! which cannot work on a stream that arrives in pieces but is the fastest way serde_json
//! offers to read objects back to back. Each is measured with a typed object that reads only metadata (framing cost shows
//! most) and with `serde_json::Value` (a full parse).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use klient_proto::watch::{EventDecoder, WatchEvent};
use serde::Deserialize;
use serde::de::DeserializeOwned;

const EVENTS: usize = 10_000;

#[derive(Deserialize)]
#[allow(dead_code)] // read so that the work is done; never looked at
struct PodMeta {
    metadata: Metadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Metadata {
    name: String,
    namespace: String,
    resource_version: String,
    uid: String,
}

fn pod_event(i: usize) -> String {
    let kind = ["ADDED", "MODIFIED", "DELETED"][i % 3];
    format!(
        r#"{{"type":"{kind}","object":{{"kind":"Pod","apiVersion":"v1","metadata":{{"name":"web-{i}","namespace":"default","uid":"6c1f7e4a-0000-4000-8000-{i:012}","resourceVersion":"{rv}","creationTimestamp":"2026-01-01T00:00:00Z","labels":{{"app":"web","pod-template-hash":"5d8f9c7b6d"}},"annotations":{{"note":"a \"quoted\" {{brace}} value"}},"ownerReferences":[{{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-5d8f9c7b6d","uid":"0a0b0c0d-0000-4000-8000-000000000001","controller":true,"blockOwnerDeletion":true}}]}},"spec":{{"containers":[{{"name":"web","image":"registry.example/web:1.2.3","ports":[{{"containerPort":8080,"protocol":"TCP"}}],"resources":{{"requests":{{"cpu":"100m","memory":"128Mi"}},"limits":{{"memory":"256Mi"}}}},"env":[{{"name":"MODE","value":"production"}},{{"name":"LEVEL","value":"info"}}]}}],"nodeName":"node-{node}","serviceAccountName":"default","restartPolicy":"Always"}},"status":{{"phase":"Running","podIP":"10.0.{a}.{b}","hostIP":"192.168.0.{node}","conditions":[{{"type":"Ready","status":"True","lastTransitionTime":"2026-01-01T00:00:05Z"}},{{"type":"ContainersReady","status":"True","lastTransitionTime":"2026-01-01T00:00:05Z"}}],"containerStatuses":[{{"name":"web","ready":true,"restartCount":0,"image":"registry.example/web:1.2.3","imageID":"registry.example/web@sha256:0123456789abcdef","started":true}}]}}}}}}
"#,
        rv = 1000 + i,
        node = i % 50,
        a = i / 250,
        b = i % 250,
    )
}

fn stream() -> Vec<u8> {
    (0..EVENTS).map(pod_event).collect::<String>().into_bytes()
}

fn klient_whole<K: DeserializeOwned>(bytes: &[u8]) -> usize {
    let mut decoder = EventDecoder::<K>::new();
    decoder.handle_bytes(bytes);
    let mut count = 0;
    while let Ok(Some(event)) = decoder.poll_event() {
        black_box(&event);
        count += 1;
    }
    count
}

fn klient_chunked<K: DeserializeOwned>(bytes: &[u8], chunk: usize) -> usize {
    let mut decoder = EventDecoder::<K>::new();
    let mut count = 0;
    for piece in bytes.chunks(chunk) {
        decoder.handle_bytes(piece);
        while let Ok(Some(event)) = decoder.poll_event() {
            black_box(&event);
            count += 1;
        }
    }
    count
}

fn serde_stream<K: DeserializeOwned>(bytes: &[u8]) -> usize {
    let mut count = 0;
    let events = serde_json::Deserializer::from_slice(bytes).into_iter::<WatchEvent<K>>();
    // Stop at the first error, as a watch client would.
    for event in events.map_while(Result::ok) {
        black_box(&event);
        count += 1;
    }
    count
}

fn group<K: DeserializeOwned>(c: &mut Criterion, name: &str, bytes: &[u8]) {
    assert_eq!(klient_whole::<K>(bytes), EVENTS);
    assert_eq!(klient_chunked::<K>(bytes, 16 * 1024), EVENTS);
    assert_eq!(serde_stream::<K>(bytes), EVENTS);
    let mut group = c.benchmark_group(format!("watch_framing/{name}"));
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(20);
    group.bench_function("klient_one_slice", |b| {
        b.iter(|| klient_whole::<K>(black_box(bytes)))
    });
    group.bench_function("klient_16KiB_chunks", |b| {
        b.iter(|| klient_chunked::<K>(black_box(bytes), 16 * 1024))
    });
    group.bench_function("serde_json_stream_deserializer", |b| {
        b.iter(|| serde_stream::<K>(black_box(bytes)))
    });
    group.finish();
}

fn watch_framing(c: &mut Criterion) {
    let bytes = stream();
    group::<PodMeta>(c, "typed_metadata", &bytes);
    group::<serde_json::Value>(c, "value", &bytes);
}

criterion_group!(benches, watch_framing);
criterion_main!(benches);
