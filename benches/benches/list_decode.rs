//! Decoding a 10,000-pod list response, as `kubectl get pods -A` on a big cluster receives it.
//!
//! klient's decode path (`klient_proto::api::decode::<ObjectList<Pod>>`, which also checks the
//! status code and turns error bodies into typed errors; and the same after the HTTP/1.1 decoder
//! has taken the body out of a chunked response fed in 16 KiB reads; and item by item, the body
//! fed to `klient_proto::api::ListDecoder<Pod>` in 16 KiB pieces, alone and behind the HTTP/1.1
//! decoder) against plain `serde_json::from_slice::<k8s_openapi::List<Pod>>`. The pods are
//! realistic k8s-openapi objects (`klient_benches::pods`), serialized once.
//!
//! Before criterion runs, a counting global allocator measures the peak heap each decoder needs
//! above what was allocated before it started, and what it keeps (the decoded list); both are
//! printed.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group};
use k8s_openapi::api::core::v1::Pod;
use klient_benches::alloc::{Counting, measure, mib};
use klient_benches::pods::{PODS, pod_list_json, pods};
use klient_proto::api::{ListDecoder, ListProgress, ObjectList, decode};
use klient_proto::http::{HttpEvent, Limits, Progress, ResponseDecoder};

const READ: usize = 16 * 1024;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

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
        while let Progress::Event(event) = decoder.poll_event().expect("a valid response") {
            match event {
                HttpEvent::Head(head) => status = head.status.as_u16(),
                HttpEvent::Data(data) => body.extend_from_slice(&data),
                HttpEvent::End { .. } => return decode::<ObjectList<Pod>>(status, &body).expect("decodes"),
                _ => {}
            }
        }
    }
    unreachable!("the response did not end")
}

/// klient's item-by-item path: the body fed to a `ListDecoder` in 16 KiB pieces, each item pushed
/// as soon as it is complete, so the body is never held whole.
fn klient_items(body: &[u8]) -> ObjectList<Pod> {
    let mut decoder = ListDecoder::<Pod>::new();
    let mut items = Vec::new();
    let mut pieces = body.chunks(READ);
    loop {
        match decoder.poll_item().expect("a valid list") {
            ListProgress::Item(pod) => items.push(pod),
            ListProgress::NeedData => match pieces.next() {
                Some(piece) => decoder.handle_bytes(piece),
                None => decoder.handle_eof(),
            },
            ListProgress::End(metadata) => return ObjectList { metadata, items },
            ListProgress::Finished => unreachable!("End comes first"),
        }
    }
}

/// The whole item-by-item path of a list call: each body piece the HTTP/1.1 decoder takes out of
/// a 16 KiB read goes straight to the `ListDecoder`.
fn klient_http_items(wire: &[u8]) -> ObjectList<Pod> {
    let mut decoder = ResponseDecoder::new(&http::Method::GET, Limits::default());
    let mut list = ListDecoder::<Pod>::new();
    let mut items = Vec::new();
    let drain = |list: &mut ListDecoder<Pod>, items: &mut Vec<Pod>| loop {
        match list.poll_item().expect("a valid list") {
            ListProgress::Item(pod) => items.push(pod),
            ListProgress::NeedData => return None,
            ListProgress::End(metadata) => return Some(metadata),
            ListProgress::Finished => unreachable!("End comes first"),
        }
    };
    for read in wire.chunks(READ) {
        decoder.handle_bytes(read);
        while let Progress::Event(event) = decoder.poll_event().expect("a valid response") {
            match event {
                HttpEvent::Head(head) => assert_eq!(head.status.as_u16(), 200),
                HttpEvent::Data(data) => {
                    list.handle_bytes(&data);
                    drain(&mut list, &mut items);
                }
                HttpEvent::End { .. } => {
                    list.handle_eof();
                    let metadata = drain(&mut list, &mut items).expect("the list ended");
                    return ObjectList { metadata, items };
                }
                _ => {}
            }
        }
    }
    unreachable!("the response did not end")
}

fn kib(bytes: usize) -> f64 {
    bytes as f64 / 1024.0
}

fn report_memory(body: &[u8], wire: &[u8]) {
    let (list, klient_heap) = measure(|| klient(body));
    assert_eq!(list.items.len(), PODS);
    drop(list);
    let (list, peer_heap) = measure(|| peer(body));
    assert_eq!(list.items.len(), PODS);
    drop(list);
    let (list, http_heap) = measure(|| klient_http(wire));
    assert_eq!(list.items.len(), PODS);
    drop(list);
    let (list, items_heap) = measure(|| klient_items(body));
    assert_eq!(list.items.len(), PODS);
    assert_eq!(
        list,
        klient(body),
        "item by item decodes what the whole decode does"
    );
    drop(list);
    let (list, http_items_heap) = measure(|| klient_http_items(wire));
    assert_eq!(list.items.len(), PODS);
    drop(list);
    println!("list_decode: {PODS} pods, {:.1} MiB of JSON", mib(body.len()));
    println!(
        "list_decode: peak heap klient decode {:.1} MiB (keeps {:.1}), serde_json k8s_openapi::List {:.1} MiB (keeps {:.1}), ratio {:.3}",
        mib(klient_heap.peak),
        mib(klient_heap.kept),
        mib(peer_heap.peak),
        mib(peer_heap.kept),
        klient_heap.peak as f64 / peer_heap.peak as f64
    );
    println!(
        "list_decode: peak heap klient HTTP decoder + decode {:.1} MiB (keeps {:.1}; the body buffer adds {:.1})",
        mib(http_heap.peak),
        mib(http_heap.kept),
        mib(body.len())
    );
    println!(
        "list_decode: peak heap klient ListDecoder item by item (16 KiB pieces) {:.1} MiB (keeps {:.1}; {:.0} KiB above what it keeps, klient decode {:.0} KiB), ratio to klient decode {:.3}",
        mib(items_heap.peak),
        mib(items_heap.kept),
        kib(items_heap.peak - items_heap.kept),
        kib(klient_heap.peak - klient_heap.kept),
        items_heap.peak as f64 / klient_heap.peak as f64
    );
    println!(
        "list_decode: peak heap klient HTTP decoder + ListDecoder {:.1} MiB (keeps {:.1}; {:.0} KiB above what it keeps), ratio to HTTP decoder + decode {:.3}",
        mib(http_items_heap.peak),
        mib(http_items_heap.kept),
        kib(http_items_heap.peak - http_items_heap.kept),
        http_items_heap.peak as f64 / http_heap.peak as f64
    );
}

/// 100,000 small ConfigMaps through the HTTP decoder and a `ListDecoder`, as `list_pages` reads
/// them: each object handed on and dropped (a caller that streams them) needs no more than the
/// largest item and one read; a caller that keeps them all needs them and no more.
fn report_hundred_thousand() {
    const CONFIGMAPS: usize = 100_000;
    let items: Vec<serde_json::Value> = (0..CONFIGMAPS)
        .map(|i| {
            serde_json::json!({
                "metadata": {"name": format!("settings-{i:06}"), "namespace": "bench",
                    "uid": format!("1f2e3d4c-0000-4000-8000-{i:012}"), "resourceVersion": (100_000 + i).to_string()},
                "data": {"setting": format!("value-{i}")},
            })
        })
        .collect();
    let body = serde_json::to_vec(&serde_json::json!({
        "kind": "ConfigMapList", "apiVersion": "v1", "metadata": {"resourceVersion": "200000"}, "items": items,
    }))
    .expect("a list serializes");
    drop(items);
    let wire = chunked_response(&body);
    drop(body);
    let read = |keep: bool| {
        let mut decoder = ResponseDecoder::new(&http::Method::GET, Limits::default());
        let mut list = ListDecoder::<k8s_openapi::api::core::v1::ConfigMap>::new();
        let (mut seen, mut kept) = (0, Vec::new());
        for piece in wire.chunks(READ) {
            decoder.handle_bytes(piece);
            while let Progress::Event(event) = decoder.poll_event().expect("a valid response") {
                match event {
                    HttpEvent::Data(data) => list.handle_bytes(&data),
                    HttpEvent::End { .. } => list.handle_eof(),
                    _ => continue,
                }
                while let ListProgress::Item(item) = list.poll_item().expect("a valid list") {
                    seen += 1;
                    if keep {
                        kept.push(item);
                    }
                }
            }
        }
        (seen, kept)
    };
    let ((seen, _), streamed) = measure(|| read(false));
    assert_eq!(seen, CONFIGMAPS);
    let ((_, kept), collected) = measure(|| read(true));
    println!(
        "list_decode: {CONFIGMAPS} ConfigMaps, {:.1} MiB on the wire: handed on one by one, peak heap {:.0} KiB; \
         all kept, peak {:.1} MiB for {:.1} MiB of objects ({:.0} KiB above)",
        mib(wire.len()),
        kib(streamed.peak),
        mib(collected.peak),
        mib(collected.kept),
        kib(collected.peak.saturating_sub(collected.kept)),
    );
    drop(kept);
}

fn bench(c: &mut Criterion) {
    report_hundred_thousand();
    let body = pod_list_json(&pods());
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
    group.bench_function("klient_ListDecoder_items_16k_pieces", |b| {
        b.iter(|| klient_items(black_box(&body)).items.len())
    });
    group.bench_function("klient_http_ListDecoder_items", |b| {
        b.iter(|| klient_http_items(black_box(&wire)).items.len())
    });
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
