//! Decoding a 10,000-pod list response, as `kubectl get pods -A` on a big cluster receives it.
//!
//! klient's decode path (`klient_proto::api::decode::<ObjectList<Pod>>`, which also checks the
//! status code and turns error bodies into typed errors; and the same after the HTTP/1.1 decoder
//! has taken the body out of a chunked response fed in 16 KiB reads) against plain
//! `serde_json::from_slice::<k8s_openapi::List<Pod>>`. The pods are realistic k8s-openapi objects
//! (labels, owner references, two containers with env, ports, resources and probes, a status with
//! conditions), serialized once.
//!
//! Before criterion runs, a counting global allocator measures the peak heap each decoder needs
//! above what was allocated before it started, and what it keeps (the decoded list); both are
//! printed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{Criterion, Throughput, criterion_group};
use k8s_openapi::api::core::v1::Pod;
use klient_proto::api::{ObjectList, decode};
use klient_proto::http::{Event, Limits, ResponseDecoder};
use serde_json::{Value, json};

const PODS: usize = 10_000;
const READ: usize = 16 * 1024;

/// Counts live heap bytes and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (see `alloc`/`realloc`).
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn pod(i: usize) -> Pod {
    let node = i % 50;
    serde_json::from_value(json!({
        "metadata": {
            "name": format!("web-5d8f9c7b6d-{i:05}"),
            "generateName": "web-5d8f9c7b6d-",
            "namespace": format!("team-{}", i % 20),
            "uid": format!("6c1f7e4a-0000-4000-8000-{i:012}"),
            "resourceVersion": (100_000 + i).to_string(),
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": "web", "pod-template-hash": "5d8f9c7b6d", "tier": "frontend"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"},
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d8f9c7b6d",
                "uid": "0a0b0c0d-0000-4000-8000-000000000001", "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "registry.example/web:1.2.3",
                    "args": ["--port=8080", "--log-level=info"],
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                    "env": [
                        {"name": "MODE", "value": "production"},
                        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                    ],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                        "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
                    "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}],
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent",
                },
                {
                    "name": "sidecar",
                    "image": "registry.example/proxy:0.9",
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent",
                },
            ],
            "volumes": [{"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            ]}}],
            "nodeName": format!("node-{node}"),
            "serviceAccountName": "default",
            "restartPolicy": "Always",
            "dnsPolicy": "ClusterFirst",
            "schedulerName": "default-scheduler",
            "terminationGracePeriodSeconds": 30,
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            ],
        },
        "status": {
            "phase": "Running",
            "podIP": format!("10.0.{}.{}", i / 250, i % 250),
            "podIPs": [{"ip": format!("10.0.{}.{}", i / 250, i % 250)}],
            "hostIP": format!("192.168.0.{node}"),
            "startTime": "2026-01-01T00:00:01Z",
            "qosClass": "Burstable",
            "conditions": [
                {"type": "Initialized", "status": "True", "lastTransitionTime": "2026-01-01T00:00:01Z"},
                {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:05Z"},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2026-01-01T00:00:05Z"},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"},
            ],
            "containerStatuses": [
                {"name": "web", "ready": true, "restartCount": 0, "started": true,
                 "image": "registry.example/web:1.2.3", "imageID": "registry.example/web@sha256:0123456789abcdef",
                 "containerID": format!("containerd://{i:064x}"),
                 "state": {"running": {"startedAt": "2026-01-01T00:00:03Z"}}},
                {"name": "sidecar", "ready": true, "restartCount": 1, "started": true,
                 "image": "registry.example/proxy:0.9", "imageID": "registry.example/proxy@sha256:fedcba9876543210",
                 "containerID": format!("containerd://{:064x}", i + 1),
                 "state": {"running": {"startedAt": "2026-01-01T00:00:04Z"}},
                 "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                    "startedAt": "2026-01-01T00:00:02Z", "finishedAt": "2026-01-01T00:00:03Z"}}},
            ],
        },
    }))
    .expect("a valid Pod")
}

/// The list as the API server sends it: items without their own apiVersion and kind.
fn pod_list_json() -> Vec<u8> {
    let items: Vec<Value> = (0..PODS)
        .map(|i| {
            let mut item = serde_json::to_value(pod(i)).unwrap();
            let object = item.as_object_mut().unwrap();
            object.remove("apiVersion");
            object.remove("kind");
            item
        })
        .collect();
    serde_json::to_vec(&json!({
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "123456"},
        "items": items,
    }))
    .unwrap()
}

/// The same body in a chunked HTTP/1.1 response with 8 KiB chunks.
fn chunked_response(body: &[u8]) -> Vec<u8> {
    let mut wire = b"HTTP/1.1 200 OK\r\nAudit-Id: 0f3c9a52-7a0e-4c43-9d0b-1a2b3c4d5e6f\r\n\
        Cache-Control: no-cache, private\r\nContent-Type: application/json\r\n\
        Date: Wed, 25 Nov 2026 22:00:00 GMT\r\nTransfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    for chunk in body.chunks(8192) {
        wire.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        wire.extend_from_slice(chunk);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    wire
}

fn klient(body: &[u8]) -> ObjectList<Pod> {
    decode::<ObjectList<Pod>>(200, body).expect("klient decodes the list")
}

fn peer(body: &[u8]) -> k8s_openapi::List<Pod> {
    serde_json::from_slice::<k8s_openapi::List<Pod>>(body).expect("serde_json decodes the list")
}

/// The whole klient path of a list call: HTTP framing off 16 KiB reads into one body, then decode.
fn klient_http(wire: &[u8]) -> ObjectList<Pod> {
    let mut decoder = ResponseDecoder::new(&http::Method::GET, Limits::default());
    let mut body = Vec::new();
    let mut status = 0;
    for read in wire.chunks(READ) {
        decoder.handle_bytes(read);
        while let Some(event) = decoder.poll_event().expect("a valid response") {
            match event {
                Event::Head(head) => status = head.status.as_u16(),
                Event::Data(data) => body.extend_from_slice(&data),
                Event::End { .. } => return decode::<ObjectList<Pod>>(status, &body).expect("decodes"),
                _ => {}
            }
        }
    }
    unreachable!("the response did not end")
}

/// Runs `f` and returns its result, the peak heap above the level before it, and what it kept.
fn measure<R>(f: impl FnOnce() -> R) -> (R, usize, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let result = black_box(f());
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let kept = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    (result, peak, kept)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn report_memory(body: &[u8], wire: &[u8]) {
    let (list, klient_peak, klient_kept) = measure(|| klient(body));
    assert_eq!(list.items.len(), PODS);
    drop(list);
    let (list, peer_peak, peer_kept) = measure(|| peer(body));
    assert_eq!(list.items.len(), PODS);
    drop(list);
    let (list, http_peak, http_kept) = measure(|| klient_http(wire));
    assert_eq!(list.items.len(), PODS);
    drop(list);
    println!("list_decode: {PODS} pods, {:.1} MiB of JSON", mib(body.len()));
    println!(
        "list_decode: peak heap klient decode {:.1} MiB (keeps {:.1}), serde_json k8s_openapi::List {:.1} MiB (keeps {:.1}), ratio {:.3}",
        mib(klient_peak),
        mib(klient_kept),
        mib(peer_peak),
        mib(peer_kept),
        klient_peak as f64 / peer_peak as f64
    );
    println!(
        "list_decode: peak heap klient HTTP decoder + decode {:.1} MiB (keeps {:.1}; the body buffer adds {:.1})",
        mib(http_peak),
        mib(http_kept),
        mib(body.len())
    );
}

fn bench(c: &mut Criterion) {
    let body = pod_list_json();
    let wire = chunked_response(&body);
    report_memory(&body, &wire);

    let mut group = c.benchmark_group("list_decode_10k_pods");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("klient_decode_ObjectList", |b| {
        b.iter(|| klient(black_box(&body)).items.len())
    });
    group.bench_function("serde_json_k8s_openapi_List", |b| {
        b.iter(|| peer(black_box(&body)).items.len())
    });
    group.bench_function("klient_http_then_decode", |b| {
        b.iter(|| klient_http(black_box(&wire)).items.len())
    });
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
