//! The memory of a watch cache: klient's watcher and store against kube-rs's reflector, fed the
//! same bytes, each measured with a counting allocator.
//!
//! Both sides read the same server: 10,000 small ConfigMaps, or 10,000 realistic Pods, each with
//! the `managedFields` of a server-side apply, as JSON list pages of 500 (the page size both
//! watchers default to) or as one streaming list (`sendInitialEvents`), and then a watch that ends
//! with `410 Gone` so that both list again. klient's side is the sans-IO core driven the way the
//! adapters drive it (each list body decoded item by item, the watch body fed as it comes);
//! kube's side is kube-runtime's `reflector` over a kube `Client` whose transport is an in-memory
//! tower service answering with those bytes. Each run is made without a transform, and once more
//! with `managedFields` stripped on both sides before their stores keep objects. klient keeps its
//! objects in a `Store` (decoded) and, in a run of its own, in a `CompactStore` (as JSON).
//!
//! klient reads a list page as its adapters do: the body in 16 KiB reads through `ListBody`, each
//! object handed to the driver (and on to the store) as soon as it is decoded, so neither the body
//! nor the decoded page is ever whole in memory.
//!
//! Printed for each: the peak heap while the initial list lands in the store, the heap the store
//! keeps once it is ready, and the peak while it lists again after the 410 (each above the heap
//! before the watcher started); klient / kube ratios; and the objects' own size (the same objects
//! decoded into a vector, and copied) as the floor of what a store must keep.
//!
//! `cargo bench -p klient-benches --bench watch_memory` (it is not a criterion bench: each number
//! comes from one run, and heap sizes do not vary from run to run).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http_body::Frame;
use http_body_util::StreamBody;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use klient_benches::alloc::{self, Counting, mib};
use klient_proto::api::{ListBody, ListProgress, ObjectList, ResourceExt, decode};
use klient_proto::watch::{Action, CompactStore, Event, InitialListStrategy, Store, WatchDriver, watcher};
use kube::runtime::WatchStreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Objects in the collection.
const OBJECTS: usize = 10_000;
/// Objects per list page (kube-runtime's and klient's default page size).
const PAGE: usize = 500;
/// How the server's bytes are cut as they arrive: one TLS record.
const READ: usize = 16 * 1024;
/// The collection's resourceVersion.
const RESOURCE_VERSION: u64 = 200_000;

/// What the server answers, prepared before anything is measured.
struct Server {
    /// The list pages: page `i` carries `continue: "page-{i+1}"` but the last.
    pages: Vec<Bytes>,
    /// The streaming list: an `ADDED` per object, then the bookmark that ends the initial set.
    initial_events: Bytes,
    /// The event that ends a watch with `410 Gone`.
    expired: Bytes,
}

impl Server {
    fn new(items: &[Value]) -> Server {
        let pages = items
            .chunks(PAGE)
            .enumerate()
            .map(|(i, chunk)| {
                let mut metadata = json!({"resourceVersion": RESOURCE_VERSION.to_string()});
                if (i + 1) * PAGE < items.len() {
                    metadata["continue"] = json!(format!("page-{}", i + 1));
                }
                let list = json!({"kind": "List", "apiVersion": "v1", "metadata": metadata, "items": chunk});
                Bytes::from(serde_json::to_vec(&list).expect("a list serializes"))
            })
            .collect();
        let mut initial_events = Vec::new();
        for item in items {
            serde_json::to_writer(&mut initial_events, &json!({"type": "ADDED", "object": item}))
                .expect("an event serializes");
            initial_events.push(b'\n');
        }
        let end = json!({"type": "BOOKMARK", "object": {"kind": items[0]["kind"], "apiVersion": "v1", "metadata": {
            "resourceVersion": RESOURCE_VERSION.to_string(),
            "annotations": {"k8s.io/initial-events-end": "true"},
        }}});
        serde_json::to_writer(&mut initial_events, &end).expect("an event serializes");
        initial_events.push(b'\n');
        let expired = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": "too old resource version: 1 (200000)", "reason": "Expired", "code": 410}});
        let mut expired = serde_json::to_vec(&expired).expect("an event serializes");
        expired.push(b'\n');
        Server {
            pages,
            initial_events: initial_events.into(),
            expired: expired.into(),
        }
    }

    /// The page a list request asks for with its `continue` token.
    fn page(&self, continue_token: Option<&str>) -> &Bytes {
        let index = continue_token
            .and_then(|token| token.strip_prefix("page-"))
            .map_or(0, |n| n.parse().expect("a page number"));
        &self.pages[index]
    }
}

/// The managed fields of a server-side apply by `kubectl`, as `kubectl apply --server-side` leaves
/// them, over the fields the object has.
fn managed_fields(fields: Value) -> Value {
    json!([{
        "manager": "kubectl", "operation": "Apply", "apiVersion": "v1",
        "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": fields,
    }])
}

/// Small ConfigMaps: a label and one short data entry each.
fn configmaps() -> Vec<Value> {
    (0..OBJECTS)
        .map(|i| {
            json!({
                "kind": "ConfigMap", "apiVersion": "v1",
                "metadata": {
                    "name": format!("settings-{i:05}"), "namespace": "bench",
                    "uid": format!("1f2e3d4c-0000-4000-8000-{i:012}"),
                    "resourceVersion": (100_000 + i).to_string(),
                    "creationTimestamp": "2026-01-01T00:00:00Z",
                    "labels": {"app": "bench"},
                    "managedFields": managed_fields(json!({
                        "f:data": {"f:setting": {}}, "f:metadata": {"f:labels": {"f:app": {}}},
                    })),
                },
                "data": {"setting": format!("value-{i}")},
            })
        })
        .collect()
}

/// The list benches' realistic pods, with the managed fields of their spec and labels.
fn pods() -> Vec<Value> {
    (0..OBJECTS)
        .map(|i| {
            let mut pod = serde_json::to_value(klient_benches::pods::pod(i)).expect("a Pod serializes");
            pod["kind"] = json!("Pod");
            pod["apiVersion"] = json!("v1");
            pod["metadata"]["managedFields"] = managed_fields(json!({
                "f:metadata": {"f:labels": {"f:app": {}, "f:pod-template-hash": {}, "f:tier": {}},
                    "f:ownerReferences": {"k:{\"uid\":\"0a0b0c0d-0000-4000-8000-000000000001\"}": {}}},
                "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}, "f:ports": {}},
                    "k:{\"name\":\"sidecar\"}": {".": {}, "f:image": {}, "f:name": {}}}},
            }));
            pod
        })
        .collect()
}

/// What one side needed.
#[derive(Debug, Clone, Copy)]
struct Report {
    /// Peak heap from the start until the store is ready.
    initial_peak: usize,
    /// Heap kept once the store is ready (the store and the idle watcher).
    steady: usize,
    /// Peak heap from the 410 until the store is ready again.
    relist_peak: usize,
}

/// What klient's side keeps its objects in.
trait Cache<K>: Default {
    fn apply(&mut self, event: Event<K>);
    fn len(&self) -> usize;
}

impl<K: klient_proto::api::Resource + Clone> Cache<K> for Store<K> {
    fn apply(&mut self, event: Event<K>) {
        Store::apply(self, event);
    }
    fn len(&self) -> usize {
        Store::len(self)
    }
}

impl<K: klient_proto::api::Resource + Serialize + DeserializeOwned> Cache<K> for CompactStore<K> {
    fn apply(&mut self, event: Event<K>) {
        CompactStore::apply(self, event).expect("the bench's objects encode");
    }
    fn len(&self) -> usize {
        CompactStore::len(self)
    }
}

/// What both sides do to each object before their store keeps it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Transform {
    None,
    /// Drop `metadata.managedFields` (klient's `strip_managed_fields`, the same field cleared in
    /// kube's `modify`).
    StripManagedFields,
}

/// klient: the watch driver and a `C`, driven as the adapters drive them, over `server`.
fn klient<K: klient_proto::api::Resource + DeserializeOwned + Clone + ResourceExt, C: Cache<K>>(
    server: &Server,
    strategy: InitialListStrategy,
    transform: Transform,
) -> Report {
    let base = alloc::live();
    alloc::reset_peak();
    let config = watcher::Config {
        initial_list_strategy: strategy,
        ..watcher::Config::default()
    };
    let mut driver = WatchDriver::<K>::new(config, 7);
    let mut store = C::default();
    let mut now = Instant::now();
    let mut watch = None;
    run_klient(
        &mut driver,
        &mut store,
        server,
        &mut now,
        &mut watch,
        1,
        transform,
    );
    let initial_peak = alloc::peak() - base;
    let steady = alloc::live() - base;

    alloc::reset_peak();
    let id = watch.expect("a watch is open once the store is ready");
    driver
        .handle_watch_bytes(id, &server.expired, now)
        .expect("the open watch takes bytes");
    run_klient(
        &mut driver,
        &mut store,
        server,
        &mut now,
        &mut watch,
        2,
        transform,
    );
    let relist_peak = alloc::peak() - base;
    assert_eq!(store.len(), OBJECTS);
    drop((driver, store));
    Report {
        initial_peak,
        steady,
        relist_peak,
    }
}

/// Drives `driver` until the store has seen `ready` complete initial sets; `watch` is left
/// holding the watch request in flight.
fn run_klient<K: klient_proto::api::Resource + DeserializeOwned + Clone + ResourceExt, C: Cache<K>>(
    driver: &mut WatchDriver<K>,
    store: &mut C,
    server: &Server,
    now: &mut Instant,
    watch: &mut Option<klient_proto::watch::RequestId>,
    ready: usize,
    transform: Transform,
) {
    let mut init_done = if ready == 1 { 0 } else { 1 };
    let mut pending: VecDeque<Action> = VecDeque::new();
    loop {
        init_done += deliver(driver, store, transform);
        if init_done == ready && watch.is_some() {
            return;
        }
        pending.extend(std::iter::from_fn(|| driver.poll_action(*now)));
        let Some(action) = pending.pop_front() else {
            // Nothing to do before a backoff ends: let the time pass.
            *now = driver
                .poll_timeout()
                .expect("a driver with nothing to do waits for a deadline");
            driver.handle_timeout(*now);
            continue;
        };
        match action {
            Action::List { id, params } => {
                // As an adapter does: the body read in pieces, each object handed over (and on to
                // the store) as soon as it is decoded, then the page's metadata.
                let page = server.page(params.continue_token.as_deref());
                let mut list = ListBody::<K>::new(200, Some("application/json"));
                let mut reads = page.chunks(READ);
                loop {
                    match list.poll_item().expect("a list page decodes") {
                        ListProgress::Item(object) => {
                            driver
                                .handle_list_item(id, object, *now)
                                .expect("the driver takes its object");
                            init_done += deliver(driver, store, transform);
                        }
                        ListProgress::NeedData => match reads.next() {
                            Some(read) => list.handle_bytes(read),
                            None => list.handle_eof(),
                        },
                        ListProgress::End(metadata) => {
                            driver
                                .handle_list_page(id, metadata.into(), *now)
                                .expect("the driver takes its page");
                            break;
                        }
                        ListProgress::Finished => break,
                    }
                }
            }
            Action::Watch { id, params } => {
                *watch = Some(id);
                driver
                    .handle_watch_response(id, Some("application/json"), *now)
                    .expect("the driver takes its watch");
                if params.send_initial_events {
                    for read in server.initial_events.chunks(READ) {
                        driver
                            .handle_watch_bytes(id, read, *now)
                            .expect("the driver takes its watch bytes");
                        init_done += deliver(driver, store, transform);
                    }
                }
            }
            Action::Abandon { .. } => *watch = None,
            other => panic!("an action this bench does not know: {other:?}"),
        }
    }
}

/// Applies every event the driver has to the store, as a program does after each input: how many
/// of them ended an initial set. Failures (the 410, say) are skipped: the driver relists or resumes
/// by itself.
fn deliver<K: klient_proto::api::Resource + DeserializeOwned + Clone + ResourceExt, C: Cache<K>>(
    driver: &mut WatchDriver<K>,
    store: &mut C,
    transform: Transform,
) -> usize {
    let mut init_done = 0;
    while let Some(event) = driver.poll_event() {
        if let Ok(mut event) = event {
            if transform == Transform::StripManagedFields {
                event.modify(ResourceExt::strip_managed_fields);
            }
            init_done += usize::from(matches!(event, Event::InitDone));
            store.apply(event);
        }
    }
    init_done
}

/// A response body that a test feeds chunk by chunk, and that ends when its sender is dropped.
type FedBody = StreamBody<Pin<Box<dyn Stream<Item = Result<Frame<Bytes>, Infallible>> + Send>>>;

fn fed_body() -> (UnboundedSender<Bytes>, FedBody) {
    let (sender, receiver) = unbounded_channel::<Bytes>();
    let frames = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let bytes = receiver.recv().await?;
        Some((Ok(Frame::data(bytes)), receiver))
    });
    (sender, StreamBody::new(Box::pin(frames)))
}

/// The in-memory API server kube's client talks to: list pages by `continue` token, the
/// streaming list for `sendInitialEvents=true`, and any other watch held open (its sender kept in
/// `open_watch`, so that the bench can end it with a 410).
fn answer(
    server: &Server,
    open_watch: &Mutex<Option<UnboundedSender<Bytes>>>,
    request: &http::Request<kube::client::Body>,
) -> http::Response<FedBody> {
    let query = request.uri().query().unwrap_or_default();
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_owned)
    };
    let (sender, body) = fed_body();
    if param("watch").as_deref() == Some("true") {
        if param("sendInitialEvents").as_deref() == Some("true") {
            for read in server.initial_events.chunks(READ) {
                let _ = sender.send(server.initial_events.slice_ref(read));
            }
        }
        *open_watch.lock().expect("not poisoned") = Some(sender);
    } else {
        let page = server.page(param("continue").as_deref());
        for read in page.chunks(READ) {
            let _ = sender.send(page.slice_ref(read));
        }
    }
    http::Response::builder()
        .header("content-type", "application/json")
        .body(body)
        .expect("a valid response")
}

/// kube: kube-runtime's reflector into its store, over the in-memory server.
fn kube<K>(server: Arc<Server>, streaming: bool, transform: Transform) -> Report
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + DeserializeOwned
        + Clone
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let base = alloc::live();
    alloc::reset_peak();
    runtime.block_on(async move {
        let open_watch = Arc::new(Mutex::new(None::<UnboundedSender<Bytes>>));
        let service = {
            let (server, open_watch) = (server.clone(), open_watch.clone());
            tower::service_fn(move |request: http::Request<kube::client::Body>| {
                let response = answer(&server, &open_watch, &request);
                async move { Ok::<_, Infallible>(response) }
            })
        };
        let client = kube::Client::new(service, "bench");
        let api = kube::Api::<K>::namespaced(client, "bench");
        let mut config = kube::runtime::watcher::Config::default();
        if streaming {
            config = config.streaming_lists();
        }
        let (reader, writer) = kube::runtime::reflector::store::<K>();
        let strip = transform == Transform::StripManagedFields;
        let watcher = kube::runtime::watcher(api, config).modify(move |object: &mut K| {
            if strip {
                kube::ResourceExt::managed_fields_mut(object).clear();
            }
        });
        let mut events = Box::pin(kube::runtime::reflector(writer, watcher));

        until_init_done(&mut events, &open_watch).await;
        let initial_peak = alloc::peak() - base;
        let steady = alloc::live() - base;

        alloc::reset_peak();
        let watch = open_watch.lock().expect("not poisoned").take();
        let _ = watch
            .expect("a watch is open once the store is ready")
            .send(server.expired.clone());
        until_init_done(&mut events, &open_watch).await;
        let relist_peak = alloc::peak() - base;
        assert_eq!(reader.state().len(), OBJECTS);
        Report {
            initial_peak,
            steady,
            relist_peak,
        }
    })
}

/// Polls the reflector's events until an `InitDone` and until its next watch is open.
async fn until_init_done<K>(
    events: &mut (
             impl Stream<Item = Result<kube::runtime::watcher::Event<K>, kube::runtime::watcher::Error>> + Unpin
         ),
    open_watch: &Mutex<Option<UnboundedSender<Bytes>>>,
) {
    loop {
        match events.next().await {
            Some(Ok(kube::runtime::watcher::Event::InitDone)) => break,
            Some(_) => {}
            None => panic!("the watcher ended"),
        }
    }
    // The watch goes out when the stream is polled again; it yields nothing while idle.
    while open_watch.lock().expect("not poisoned").is_none() {
        let _ = tokio::time::timeout(Duration::from_millis(5), events.next()).await;
    }
}

/// The objects alone: the same items decoded into a vector of exactly their number, as decoded
/// and as copies (a copy has no spare capacity in its vectors, where a decoded vector of one item
/// has room for four).
fn own_size<K: DeserializeOwned + Clone>(server: &Server) -> (usize, usize) {
    let (objects, decoded) = alloc::measure(|| {
        let mut objects = Vec::with_capacity(OBJECTS);
        for page in &server.pages {
            let list: ObjectList<K> = decode(200, page).expect("a list page decodes");
            objects.extend(list.items);
        }
        objects
    });
    let (copies, copied) = alloc::measure(|| objects.iter().map(K::clone).collect::<Vec<_>>());
    drop((objects, copies));
    (decoded.kept, copied.kept)
}

fn compare<K>(kind: &str, items: Vec<Value>)
where
    K: klient_proto::api::Resource
        + kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + ResourceExt
        + Serialize
        + DeserializeOwned
        + Clone
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let server = Arc::new(Server::new(&items));
    drop(items);
    let (own, copied) = own_size::<K>(&server);
    println!(
        "\n{OBJECTS} {kind} with managedFields: the objects alone take {:.1} MiB as decoded, {:.1} MiB as copies; \
         list pages of {PAGE} total {:.1} MiB of JSON",
        mib(own),
        mib(copied),
        mib(server.pages.iter().map(Bytes::len).sum())
    );
    println!(
        "{:<58} {:>12} {:>12} {:>12}   steady / objects (decoded, copies); relist peak / steady",
        "MiB", "initial peak", "steady", "relist peak"
    );
    let runs = [
        (
            "paginated list",
            InitialListStrategy::ListWatch,
            false,
            Transform::None,
        ),
        (
            "streaming list",
            InitialListStrategy::StreamingList,
            true,
            Transform::None,
        ),
        (
            "paginated, managedFields stripped",
            InitialListStrategy::ListWatch,
            false,
            Transform::StripManagedFields,
        ),
    ];
    for (mode, strategy, streaming, transform) in runs {
        let store = klient::<K, Store<K>>(&server, strategy, transform);
        let compact = klient::<K, CompactStore<K>>(&server, strategy, transform);
        let theirs = kube::<K>(server.clone(), streaming, transform);
        for (who, report) in [
            ("klient Store", store),
            ("klient CompactStore", compact),
            ("kube-rs", theirs),
        ] {
            let floor = if transform == Transform::None {
                format!(
                    "{:.2}, {:.2}; ",
                    report.steady as f64 / own as f64,
                    report.steady as f64 / copied as f64
                )
            } else {
                String::new()
            };
            println!(
                "{:<58} {:>12.1} {:>12.1} {:>12.1}   {floor}{:.2}",
                format!("{who} ({mode})"),
                mib(report.initial_peak),
                mib(report.steady),
                mib(report.relist_peak),
                report.relist_peak as f64 / report.steady as f64,
            );
        }
        for (who, ours) in [("Store", store), ("CompactStore", compact)] {
            println!(
                "{:<58} {:>12.2} {:>12.2} {:>12.2}",
                format!("{who} / kube-rs ({mode})"),
                ours.initial_peak as f64 / theirs.initial_peak as f64,
                ours.steady as f64 / theirs.steady as f64,
                ours.relist_peak as f64 / theirs.relist_peak as f64,
            );
        }
    }
}

fn main() {
    compare::<ConfigMap>("ConfigMaps", configmaps());
    compare::<Pod>("Pods", pods());
}
