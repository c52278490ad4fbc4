//! Watcher and store driven in memory with a simulated clock.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::api::{ApiError, ListParams, Resource, Scope, Status, WatchParams};

#[derive(Debug, Clone, PartialEq)]
struct Obj {
    namespace: Option<String>,
    name: String,
    rv: String,
    data: u64,
}

impl Resource for Obj {
    type DynamicType = ();
    type Scope = crate::api::NamespaceResourceScope;
    fn group(_: &()) -> Cow<'_, str> {
        "example.com".into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        "v1".into()
    }
    fn kind(_: &()) -> Cow<'_, str> {
        "Obj".into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "objs".into()
    }
    fn scope(_: &()) -> Scope {
        Scope::Namespaced
    }
    fn name(&self) -> Option<&str> {
        Some(&self.name)
    }
    fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }
    fn resource_version(&self) -> Option<&str> {
        Some(&self.rv)
    }
    fn uid(&self) -> Option<&str> {
        None
    }
    fn annotation(&self, _: &str) -> Option<&str> {
        None
    }
}

/// The request a watcher asks for, with its id.
trait PollPair {
    fn poll(&mut self, now: Instant) -> Option<(RequestId, Action)>;
}

impl PollPair for Watcher<Obj> {
    fn poll(&mut self, now: Instant) -> Option<(RequestId, Action)> {
        self.poll_action(now).map(|action| (action.id(), action))
    }
}

fn list_params(action: &Action) -> &ListParams {
    match action {
        Action::List { params, .. } => params,
        other => panic!("not a list: {other:?}"),
    }
}

fn watch_params(action: &Action) -> &WatchParams {
    match action {
        Action::Watch { params, .. } => params,
        other => panic!("not a watch: {other:?}"),
    }
}

fn obj(name: &str, rv: u64) -> Obj {
    Obj {
        namespace: Some("default".into()),
        name: name.into(),
        rv: rv.to_string(),
        data: rv,
    }
}

fn page(items: Vec<Obj>, rv: &str, next: Option<&str>) -> ListPage<Obj> {
    ListPage {
        items,
        resource_version: rv.into(),
        continue_token: next.map(Into::into),
    }
}

fn bookmark(rv: &str, end: bool) -> WatchEvent<Obj> {
    let mut annotations = BTreeMap::new();
    if end {
        annotations.insert(INITIAL_EVENTS_END_ANNOTATION.to_owned(), "true".to_owned());
    }
    WatchEvent::Bookmark(Bookmark {
        resource_version: rv.into(),
        annotations,
    })
}

fn gone() -> ApiError {
    ApiError::from_status(
        410,
        Status {
            reason: Some("Expired".into()),
            message: Some("too old resource version".into()),
            ..Status::default()
        },
    )
}

fn drain(watcher: &mut Watcher<Obj>) -> Vec<Result<Event<Obj>, Failure>> {
    std::iter::from_fn(|| watcher.poll_event()).collect()
}

fn apply_all(store: &mut Store<Obj>, events: Vec<Result<Event<Obj>, Failure>>) -> Vec<Obj> {
    let mut removed = Vec::new();
    for event in events.into_iter().flatten() {
        removed.extend(store.apply(event).into_iter().map(|object| (*object).clone()));
    }
    removed
}

fn exact_backoff() -> BackoffConfig {
    BackoffConfig {
        jitter: 0.0,
        ..BackoffConfig::default()
    }
}

fn list_then_watch(page_size: u32) -> watcher::Config {
    watcher::Config::default().page_size(page_size)
}

/// Lists `items` in one page at `rv` and returns the watch request that follows.
fn start_watching(watcher: &mut Watcher<Obj>, items: Vec<Obj>, rv: &str, now: Instant) -> RequestId {
    let (list, _) = watcher.poll(now).expect("list");
    watcher
        .handle_list_page(list, page(items, rv, None), now)
        .unwrap();
    let (watch, action) = watcher.poll(now).expect("watch");
    assert_eq!(watch_params(&action).resource_version.as_deref(), Some(rv));
    watch
}

#[test]
fn pagination_across_three_pages() {
    let now = Instant::now();
    let mut watcher = Watcher::new(list_then_watch(2), 1);
    let mut store = Store::new();
    let tokens = [None, Some("page2"), Some("page3")];
    let pages = [
        page(vec![obj("a", 1), obj("b", 2)], "10", Some("page2")),
        page(vec![obj("c", 3), obj("d", 4)], "10", Some("page3")),
        page(vec![obj("e", 5)], "10", None),
    ];
    for (token, page) in tokens.into_iter().zip(pages) {
        let (id, action) = watcher.poll(now).expect("a list request");
        assert_eq!(
            list_params(&action),
            &ListParams {
                continue_token: token.map(Into::into),
                limit: Some(2),
                ..ListParams::default()
            }
        );
        assert_eq!(watcher.poll(now), None, "one request at a time");
        watcher.handle_list_page(id, page, now).unwrap();
        apply_all(&mut store, drain(&mut watcher));
        assert_eq!(store.is_ready(), token == Some("page3"));
    }
    assert_eq!(store.len(), 5);
    assert_eq!(watcher.resource_version(), Some("10"));
    let (_, action) = watcher.poll(now).unwrap();
    let params = watch_params(&action);
    assert_eq!(params.resource_version.as_deref(), Some("10"));
    assert!(params.allow_watch_bookmarks && !params.send_initial_events);
    assert!((300..600).contains(&params.timeout_seconds.unwrap()));
}

#[test]
fn list_items_handed_over_one_by_one_come_out_at_once_and_as_a_page_would() {
    let now = Instant::now();
    let pages = || {
        [
            page(vec![obj("a", 1), obj("b", 2)], "10", Some("page2")),
            page(vec![obj("c", 3)], "10", None),
        ]
    };
    let mut whole = Watcher::new(list_then_watch(2), 1);
    let mut by_item = Watcher::new(list_then_watch(2), 1);
    let (mut seen_whole, mut seen_by_item) = (Vec::new(), Vec::new());
    for page in pages() {
        let (id, _) = whole.poll(now).expect("a list request");
        whole.handle_list_page(id, page.clone(), now).unwrap();
        seen_whole.extend(drain(&mut whole));

        let (id, _) = by_item.poll(now).expect("a list request");
        let ListPage {
            items,
            resource_version,
            continue_token,
        } = page;
        for item in items {
            by_item.handle_list_item(id, item.clone(), now).unwrap();
            // The item is out before the rest of its page arrives.
            let events = drain(&mut by_item);
            assert!(matches!(events.last(), Some(Ok(Event::InitApply(object))) if *object == item));
            seen_by_item.extend(events);
        }
        let rest = ListPage {
            items: Vec::new(),
            resource_version,
            continue_token,
        };
        by_item.handle_list_page(id, rest, now).unwrap();
        seen_by_item.extend(drain(&mut by_item));
    }
    assert_eq!(seen_by_item, seen_whole);
    assert_eq!(
        seen_whole.iter().filter(|e| matches!(e, Ok(Event::Init))).count(),
        1
    );
    // An item of a request the watcher no longer waits for is refused.
    let (watch, _) = by_item.poll(now).expect("the watch");
    assert_eq!(
        by_item.handle_list_item(watch, obj("z", 9), now),
        Err(InputError::UnexpectedResponse {
            id: watch,
            expected: Expected::WatchStream
        })
    );
}

#[test]
fn events_of_a_paginated_list_are_in_order() {
    let now = Instant::now();
    let mut watcher = Watcher::new(list_then_watch(1), 1);
    let (id, _) = watcher.poll(now).unwrap();
    watcher
        .handle_list_page(id, page(vec![obj("a", 1)], "3", Some("t")), now)
        .unwrap();
    let (id, _) = watcher.poll(now).unwrap();
    watcher
        .handle_list_page(id, page(vec![obj("b", 2)], "3", Some("")), now)
        .unwrap();
    assert_eq!(
        drain(&mut watcher),
        [
            Ok(Event::Init),
            Ok(Event::InitApply(obj("a", 1))),
            Ok(Event::InitApply(obj("b", 2))),
            Ok(Event::InitDone),
        ]
    );
}

#[test]
fn any_version_lists_from_the_cache_on_page_one_only() {
    let now = Instant::now();
    let config = watcher::Config::default().page_size(1).any_semantic();
    let mut watcher = Watcher::new(config, 1);
    let (id, action) = watcher.poll(now).unwrap();
    assert_eq!(list_params(&action).resource_version.as_deref(), Some("0"));
    watcher
        .handle_list_page(id, page(vec![], "3", Some("t")), now)
        .unwrap();
    let (_, action) = watcher.poll(now).unwrap();
    let params = list_params(&action);
    assert_eq!(params.resource_version, None);
    assert_eq!(params.continue_token.as_deref(), Some("t"));
}

#[test]
fn watch_events_and_bookmarks_track_the_resource_version() {
    let now = Instant::now();
    let mut watcher = Watcher::new(watcher::Config::default(), 1);
    let watch = start_watching(&mut watcher, vec![obj("a", 1)], "5", now);
    drain(&mut watcher);
    watcher
        .handle_watch_event(watch, WatchEvent::Modified(obj("a", 6)), now)
        .unwrap();
    assert_eq!(watcher.resource_version(), Some("6"));
    watcher
        .handle_watch_event(watch, bookmark("9", false), now)
        .unwrap();
    assert_eq!(watcher.resource_version(), Some("9"));
    watcher
        .handle_watch_event(watch, WatchEvent::Deleted(obj("a", 11)), now)
        .unwrap();
    assert_eq!(watcher.resource_version(), Some("11"));
    assert_eq!(
        drain(&mut watcher),
        [Ok(Event::Apply(obj("a", 6))), Ok(Event::Delete(obj("a", 11)))]
    );
}

#[test]
fn stream_end_rewatches_from_the_last_version_without_listing() {
    let start = Instant::now();
    let mut watcher = Watcher::new(watcher::Config::default(), 1);
    let watch = start_watching(&mut watcher, vec![], "5", start);
    drain(&mut watcher);
    watcher
        .handle_watch_event(watch, WatchEvent::Added(obj("a", 7)), start)
        .unwrap();
    watcher
        .handle_watch_event(watch, bookmark("8", false), start)
        .unwrap();
    let later = start + Duration::from_secs(290);
    watcher.handle_stream_end(watch, later).unwrap();
    let (next, action) = watcher.poll(later).expect("re-watch at once");
    assert_ne!(next, watch);
    let params = watch_params(&action);
    assert_eq!(params.resource_version.as_deref(), Some("8"));
    assert!(!params.send_initial_events);
    assert_eq!(drain(&mut watcher), [Ok(Event::Apply(obj("a", 7)))]);
    // The finished stream can deliver nothing more.
    assert_eq!(
        watcher.handle_watch_event(watch, WatchEvent::Added(obj("z", 9)), later),
        Err(InputError::StaleRequest { id: watch })
    );
    assert_eq!(watcher.poll_event(), None);
}

#[test]
fn watch_closed_at_once_without_events_backs_off() {
    let now = Instant::now();
    let mut watcher = Watcher::new(watcher::Config::default().backoff(exact_backoff()), 1);
    let watch = start_watching(&mut watcher, vec![], "5", now);
    drain(&mut watcher);
    watcher.handle_stream_end(watch, now).unwrap();
    assert_eq!(drain(&mut watcher), [Err(Failure::WatchClosedEarly)]);
    assert_eq!(watcher.poll(now), None);
    assert_eq!(watcher.poll_timeout(), Some(now + Duration::from_millis(800)));
}

#[test]
fn gone_during_watch_relists_and_drops_vanished_objects() {
    let now = Instant::now();
    let mut watcher = Watcher::new(list_then_watch(500), 1);
    let mut store = Store::new();
    let watch = start_watching(
        &mut watcher,
        vec![obj("a", 1), obj("b", 2), obj("c", 3)],
        "5",
        now,
    );
    apply_all(&mut store, drain(&mut watcher));
    watcher
        .handle_watch_event(watch, WatchEvent::Modified(obj("a", 6)), now)
        .unwrap();
    watcher
        .handle_watch_event(watch, WatchEvent::Error(gone()), now)
        .unwrap();
    // The rest of the dead stream is refused.
    assert!(matches!(
        watcher.handle_watch_event(watch, WatchEvent::Added(obj("x", 7)), now),
        Err(InputError::StaleRequest { .. })
    ));
    let events = drain(&mut watcher);
    assert_eq!(events.last(), Some(&Err(Failure::Api(Box::new(gone())))));
    apply_all(&mut store, events);
    assert_eq!(store.get(&ObjectKey::of(&obj("a", 0))).map(|o| o.data), Some(6));
    // Relist at once (no backoff), from scratch; b vanished, d appeared meanwhile.
    let (list, action) = watcher.poll(now).expect("relist");
    assert_eq!(list_params(&action).continue_token, None);
    watcher
        .handle_list_page(
            list,
            page(vec![obj("a", 6), obj("c", 9), obj("d", 10)], "20", None),
            now,
        )
        .unwrap();
    let removed = apply_all(&mut store, drain(&mut watcher));
    assert_eq!(removed, [obj("b", 2)]);
    let names: Vec<_> = store.list().map(|o| (o.name.as_str(), o.data)).collect();
    assert_eq!(names, [("a", 6), ("c", 9), ("d", 10)]);
    let (_, action) = watcher.poll(now).unwrap();
    assert_eq!(watch_params(&action).resource_version.as_deref(), Some("20"));
}

#[test]
fn gone_as_http_status_relists_and_an_expired_continue_restarts_the_list() {
    let now = Instant::now();
    let mut watcher = Watcher::new(list_then_watch(1), 1);
    let mut store = Store::new();
    let (id, _) = watcher.poll(now).unwrap();
    watcher
        .handle_list_page(id, page(vec![obj("a", 1)], "5", Some("t")), now)
        .unwrap();
    let (id, _) = watcher.poll(now).unwrap();
    // The continue token expired: the list starts over, with a new Init.
    watcher
        .handle_failure(id, Failure::Api(Box::new(gone())), now)
        .unwrap();
    let (id, action) = watcher.poll(now).unwrap();
    assert_eq!(list_params(&action).continue_token, None);
    watcher
        .handle_list_page(id, page(vec![obj("b", 8)], "9", None), now)
        .unwrap();
    let events = drain(&mut watcher);
    assert_eq!(
        events,
        [
            Ok(Event::Init),
            Ok(Event::InitApply(obj("a", 1))),
            Err(Failure::Api(Box::new(gone()))),
            Ok(Event::Init),
            Ok(Event::InitApply(obj("b", 8))),
            Ok(Event::InitDone),
        ]
    );
    apply_all(&mut store, events);
    assert_eq!(store.list().cloned().collect::<Vec<_>>(), [obj("b", 8)]);
    // HTTP 410 on the watch request itself.
    let (watch, _) = watcher.poll(now).unwrap();
    watcher
        .handle_failure(watch, Failure::Api(Box::new(gone())), now)
        .unwrap();
    assert!(matches!(watcher.poll(now), Some((_, Action::List { .. }))));
}

#[test]
fn connection_errors_back_off_with_jitter_and_reset() {
    let start = Instant::now();
    let mut watcher = Watcher::new(watcher::Config::default(), 99);
    let mut now = start;
    let watch = start_watching(&mut watcher, vec![], "5", now);
    drain(&mut watcher);
    watcher
        .handle_watch_event(watch, WatchEvent::Added(obj("a", 6)), now)
        .unwrap();
    let mut id = watch;
    let transport = || Failure::Transport {
        description: "connection reset".into(),
    };
    for (low, high) in [(400, 800), (800, 1600), (1600, 3200), (3200, 6400)] {
        watcher.handle_failure(id, transport(), now).unwrap();
        let deadline = watcher.poll_timeout().expect("a backoff deadline");
        let delay = deadline - now;
        assert!(
            delay >= Duration::from_millis(low) && delay <= Duration::from_millis(high),
            "{delay:?} not in {low}..={high} ms"
        );
        // Not before the deadline.
        watcher.handle_timeout(deadline - Duration::from_millis(1));
        assert_eq!(watcher.poll(deadline), None);
        now = deadline;
        watcher.handle_timeout(now);
        assert_eq!(watcher.poll_timeout(), None);
        let (next, action) = watcher.poll(now).expect("retry");
        // Resumes from the last version: no relist.
        let params = watch_params(&action);
        assert_eq!(params.resource_version.as_deref(), Some("6"));
        assert!(!params.send_initial_events);
        id = next;
    }
    assert_eq!(watcher.consecutive_failures(), 4);
    // A healthy stream resets the schedule.
    watcher
        .handle_watch_event(id, WatchEvent::Modified(obj("a", 7)), now)
        .unwrap();
    assert_eq!(watcher.consecutive_failures(), 0);
    watcher.handle_failure(id, transport(), now).unwrap();
    let delay = watcher.poll_timeout().unwrap() - now;
    assert!(delay >= Duration::from_millis(400) && delay <= Duration::from_millis(800));
    let failures = drain(&mut watcher)
        .into_iter()
        .filter(|event| event.is_err())
        .count();
    assert_eq!(failures, 5, "every failure is reported");
}

#[test]
fn other_error_events_back_off_and_resume() {
    let now = Instant::now();
    let mut watcher = Watcher::new(watcher::Config::default().backoff(exact_backoff()), 1);
    let watch = start_watching(&mut watcher, vec![], "5", now);
    let status = ApiError::from_status(
        500,
        Status {
            reason: Some("InternalError".into()),
            message: Some("etcd".into()),
            ..Status::default()
        },
    );
    watcher
        .handle_watch_event(watch, WatchEvent::Error(status.clone()), now)
        .unwrap();
    assert_eq!(
        drain(&mut watcher).last(),
        Some(&Err(Failure::Api(Box::new(status))))
    );
    let deadline = now + Duration::from_millis(800);
    assert_eq!(watcher.poll_timeout(), Some(deadline));
    watcher.handle_timeout(deadline);
    let (_, action) = watcher.poll(deadline).expect("a watch after the backoff");
    assert_eq!(watch_params(&action).resource_version.as_deref(), Some("5"));
}

fn streaming() -> watcher::Config {
    watcher::Config::default()
        .streaming_lists()
        .backoff(exact_backoff())
        .disable_bookmarks()
}

#[test]
fn streaming_list_ends_at_the_marked_bookmark() {
    let now = Instant::now();
    let mut watcher = Watcher::new(streaming(), 1);
    let mut store = Store::new();
    let (id, action) = watcher.poll(now).unwrap();
    let params = watch_params(&action);
    assert_eq!(params.resource_version, None);
    // The initial set ends with a bookmark: asked for even with bookmarks off.
    assert!(params.send_initial_events && params.allow_watch_bookmarks);
    watcher
        .handle_watch_event(id, WatchEvent::Added(obj("a", 3)), now)
        .unwrap();
    watcher.handle_watch_event(id, bookmark("4", false), now).unwrap();
    watcher
        .handle_watch_event(id, WatchEvent::Added(obj("b", 2)), now)
        .unwrap();
    assert_eq!(
        watcher.resource_version(),
        None,
        "progress bookmarks do not count yet"
    );
    apply_all(&mut store, drain(&mut watcher));
    assert!(!store.is_ready());
    assert!(store.is_empty(), "the initial set is applied atomically");
    watcher.handle_watch_event(id, bookmark("7", true), now).unwrap();
    assert_eq!(watcher.resource_version(), Some("7"));
    assert!(watcher.is_watching());
    // The same stream goes on with changes.
    watcher
        .handle_watch_event(id, WatchEvent::Modified(obj("a", 8)), now)
        .unwrap();
    assert_eq!(watcher.poll(now), None);
    let events = drain(&mut watcher);
    assert_eq!(events, [Ok(Event::InitDone), Ok(Event::Apply(obj("a", 8)))]);
    apply_all(&mut store, events);
    assert!(store.is_ready());
    assert_eq!(
        store.list().cloned().collect::<Vec<_>>(),
        [obj("a", 8), obj("b", 2)]
    );
    // After the initial set, a stream end resumes a plain watch.
    watcher
        .handle_stream_end(id, now + Duration::from_secs(60))
        .unwrap();
    let (_, action) = watcher.poll(now).unwrap();
    let params = watch_params(&action);
    assert_eq!(params.resource_version.as_deref(), Some("8"));
    assert!(!params.send_initial_events && !params.allow_watch_bookmarks);
}

#[test]
fn streaming_list_interrupted_starts_a_new_initial_set() {
    let now = Instant::now();
    let mut watcher = Watcher::new(streaming(), 1);
    let mut store = Store::new();
    // A complete first round, so the store has old content.
    let (id, _) = watcher.poll(now).unwrap();
    watcher
        .handle_watch_event(id, WatchEvent::Added(obj("old", 1)), now)
        .unwrap();
    watcher.handle_watch_event(id, bookmark("2", true), now).unwrap();
    watcher
        .handle_watch_event(id, WatchEvent::Error(gone()), now)
        .unwrap();
    apply_all(&mut store, drain(&mut watcher));
    // The relist breaks half-way; the retry must not keep the partial set.
    let (id, action) = watcher.poll(now).unwrap();
    assert!(watch_params(&action).send_initial_events);
    watcher
        .handle_watch_event(id, WatchEvent::Added(obj("partial", 5)), now)
        .unwrap();
    watcher.handle_stream_end(id, now).unwrap();
    let events = drain(&mut watcher);
    assert_eq!(events.last(), Some(&Err(Failure::InitialEventsIncomplete)));
    apply_all(&mut store, events);
    assert_eq!(store.list().cloned().collect::<Vec<_>>(), [obj("old", 1)]);
    let retry_at = watcher.poll_timeout().unwrap();
    watcher.handle_timeout(retry_at);
    let (id, action) = watcher.poll(retry_at).unwrap();
    let params = watch_params(&action);
    assert!(params.send_initial_events);
    assert_eq!(params.resource_version, None);
    watcher
        .handle_watch_event(id, WatchEvent::Added(obj("new", 9)), now)
        .unwrap();
    watcher.handle_watch_event(id, bookmark("9", true), now).unwrap();
    let removed = apply_all(&mut store, drain(&mut watcher));
    assert_eq!(removed, [obj("old", 1)]);
    assert_eq!(store.list().cloned().collect::<Vec<_>>(), [obj("new", 9)]);
}

#[test]
fn inputs_for_the_wrong_request_are_refused() {
    let now = Instant::now();
    let mut watcher = Watcher::<Obj>::new(watcher::Config::default(), 1);
    assert_eq!(
        watcher.handle_stream_end(RequestId(0), now),
        Err(InputError::StaleRequest { id: RequestId(0) })
    );
    let (list, _) = watcher.poll(now).unwrap();
    assert!(matches!(
        watcher.handle_watch_event(list, WatchEvent::Added(obj("a", 1)), now),
        Err(InputError::UnexpectedResponse { .. })
    ));
    assert!(matches!(
        watcher.handle_stream_end(list, now),
        Err(InputError::UnexpectedResponse { .. })
    ));
    watcher
        .handle_list_page(list, page(vec![], "1", None), now)
        .unwrap();
    let (watch, _) = watcher.poll(now).unwrap();
    assert!(matches!(
        watcher.handle_list_page(watch, page(vec![], "1", None), now),
        Err(InputError::UnexpectedResponse { .. })
    ));
    assert!(matches!(
        watcher.handle_list_page(list, page(vec![], "1", None), now),
        Err(InputError::StaleRequest { .. })
    ));
}

#[test]
fn store_keys_by_namespace_and_name() {
    let mut store = Store::new();
    let mut in_other = obj("a", 1);
    in_other.namespace = Some("other".into());
    let mut cluster = obj("a", 2);
    cluster.namespace = None;
    for event in [
        Event::Init,
        Event::InitApply(obj("a", 3)),
        Event::InitApply(in_other.clone()),
        Event::InitDone,
        Event::Apply(cluster.clone()),
    ] {
        assert!(store.apply(event).is_empty());
    }
    assert_eq!(store.len(), 3);
    assert_eq!(store.get(&ObjectKey::namespaced("other", "a")), Some(&in_other));
    assert_eq!(store.get(&ObjectKey::cluster("a")), Some(&cluster));
    assert_eq!(store.apply(Event::Delete(obj("a", 4))), [Arc::new(obj("a", 3))]);
    assert!(store.apply(Event::Delete(obj("a", 4))).is_empty());
    assert_eq!(store.len(), 2);
}

#[test]
fn a_relist_shares_unchanged_objects_and_replaces_changed_ones() {
    let mut store = Store::new();
    let (a, b) = (
        ObjectKey::namespaced("default", "a"),
        ObjectKey::namespaced("default", "b"),
    );
    for event in [
        Event::Init,
        Event::InitApply(obj("a", 1)),
        Event::InitApply(obj("b", 2)),
        Event::InitDone,
    ] {
        store.apply(event);
    }
    let (a_before, b_before) = (store.get_shared(&a).unwrap(), store.get_shared(&b).unwrap());
    for event in [
        Event::Init,
        Event::InitApply(obj("a", 1)),
        Event::InitApply(obj("b", 3)),
        Event::InitDone,
    ] {
        assert!(store.apply(event).is_empty());
    }
    // The same version is the same copy: a relist does not hold it twice.
    assert!(Arc::ptr_eq(&a_before, &store.get_shared(&a).unwrap()));
    let b_now = store.get_shared(&b).unwrap();
    assert!(!Arc::ptr_eq(&b_before, &b_now));
    assert_eq!((*b_now).clone(), obj("b", 3));
    assert_eq!(store.list_shared().len(), 2);
}

#[test]
fn the_store_keeps_copies_without_spare_capacity() {
    use crate::api::DynamicObject;
    // serde grows a vector as it reads it: one item leaves room for four.
    let decode = || -> DynamicObject {
        serde_json::from_str(
            r#"{"metadata":{"name":"a","namespace":"default","resourceVersion":"1"},"spec":{"ports":[80]}}"#,
        )
        .unwrap()
    };
    let ports = |object: &DynamicObject| object.data["spec"]["ports"].as_array().unwrap().capacity();
    assert!(ports(&decode()) > 1);
    let mut store = Store::new();
    store.apply(Event::Apply(decode()));
    let kept = store.get(&ObjectKey::namespaced("default", "a")).unwrap();
    assert_eq!(kept, &decode());
    assert_eq!(ports(kept), 1);
}

/// A simulated API server: a collection with a change history that can be compacted.
struct FakeServer {
    objects: BTreeMap<String, Obj>,
    history: Vec<WatchEvent<Obj>>,
    /// Versions at or below this are gone from the history.
    compacted: u64,
    rv: u64,
    /// Paginated list snapshots by continue token.
    snapshots: BTreeMap<String, (Vec<Obj>, u64)>,
}

impl FakeServer {
    fn change(&mut self, random: u64) {
        self.rv += 1;
        let name = format!("o{}", random % 12);
        let event = match self.objects.get(&name) {
            Some(_) if random.is_multiple_of(3) => {
                let mut gone = self.objects.remove(&name).unwrap();
                gone.rv = self.rv.to_string();
                WatchEvent::Deleted(gone)
            }
            existing => {
                let object = obj(&name, self.rv);
                let event = if existing.is_some() {
                    WatchEvent::Modified(object.clone())
                } else {
                    WatchEvent::Added(object.clone())
                };
                self.objects.insert(name, object);
                event
            }
        };
        self.history.push(event);
    }

    fn version_of(event: &WatchEvent<Obj>) -> u64 {
        match event {
            WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => o.rv.parse().unwrap(),
            _ => unreachable!(),
        }
    }

    fn list(&mut self, token: Option<String>, limit: usize) -> ListPage<Obj> {
        let (items, rv) = match token {
            Some(token) => self.snapshots.remove(&token).unwrap(),
            None => (self.objects.values().cloned().collect(), self.rv),
        };
        let (head, tail) = items.split_at(items.len().min(limit));
        let continue_token = (!tail.is_empty()).then(|| {
            let token = format!("t{}-{}", rv, tail.len());
            self.snapshots.insert(token.clone(), (tail.to_vec(), rv));
            token
        });
        page(head.to_vec(), &rv.to_string(), continue_token.as_deref())
    }

    /// Events after `rv`, or `None` when that version is compacted away.
    fn watch_from(&self, rv: u64) -> Option<Vec<WatchEvent<Obj>>> {
        if rv < self.compacted {
            return None;
        }
        Some(
            self.history
                .iter()
                .filter(|e| Self::version_of(e) > rv)
                .cloned()
                .collect(),
        )
    }
}

/// Applies events, checking that changes arrive in strictly increasing version order: none is
/// repeated across reconnects.
fn apply_checked(store: &mut Store<Obj>, events: Vec<Result<Event<Obj>, Failure>>, last: &mut u64) {
    for event in events.into_iter().flatten() {
        if let Event::Apply(object) | Event::Delete(object) = &event {
            let version: u64 = object.rv.parse().unwrap();
            assert!(version > *last, "change {version} after {last}");
            *last = version;
        }
        store.apply(event);
    }
}

/// Random changes, disconnects, stream ends and compactions; at the end the store must equal
/// the server's state, and every change must have been seen exactly once in order.
#[test]
fn store_matches_the_server_after_random_failures() {
    for seed in 0..40u64 {
        let mut random = backoff::SplitMix64::new(seed);
        let mut server = FakeServer {
            objects: BTreeMap::new(),
            history: Vec::new(),
            compacted: 0,
            rv: 0,
            snapshots: BTreeMap::new(),
        };
        for _ in 0..10 {
            server.change(random.next_u64());
        }
        let mut watcher = Watcher::new(list_then_watch(3), seed);
        let mut store = Store::new();
        let mut now = Instant::now();
        // The watch stream in flight: its id and how far it has delivered.
        let mut stream: Option<(RequestId, u64)> = None;
        let mut last_change = 0;
        for step in 0..400u32 {
            if let Some(deadline) = watcher.poll_timeout() {
                now = now.max(deadline);
                watcher.handle_timeout(now);
            }
            if let Some((id, action)) = watcher.poll(now) {
                stream = None;
                match action {
                    Action::List { params, .. } => {
                        let page = server.list(params.continue_token, params.limit.unwrap() as usize);
                        watcher.handle_list_page(id, page, now).unwrap();
                    }
                    Action::Abandon { .. } => unreachable!("the watcher alone never abandons"),
                    Action::Watch { params, .. } => {
                        let rv: u64 = params.resource_version.unwrap().parse().unwrap();
                        if server.watch_from(rv).is_none() {
                            watcher
                                .handle_failure(id, Failure::Api(Box::new(gone())), now)
                                .unwrap();
                        } else {
                            stream = Some((id, rv));
                        }
                    }
                }
            }
            let choice = random.next_u64() % 100;
            match choice {
                0..=39 => server.change(random.next_u64()),
                40..=74 => {
                    // Deliver the next pending event on the open stream.
                    if let Some((id, delivered)) = &mut stream {
                        match server.watch_from(*delivered) {
                            Some(events) => {
                                if let Some(event) = events.into_iter().next() {
                                    *delivered = FakeServer::version_of(&event);
                                    watcher.handle_watch_event(*id, event, now).unwrap();
                                } else if step.is_multiple_of(7) {
                                    let bookmark = bookmark(&server.rv.to_string(), false);
                                    *delivered = server.rv;
                                    watcher.handle_watch_event(*id, bookmark, now).unwrap();
                                }
                            }
                            None => {
                                let error = WatchEvent::Error(gone());
                                watcher.handle_watch_event(*id, error, now).unwrap();
                            }
                        }
                    }
                }
                75..=82 => {
                    if let Some((id, _)) = stream {
                        watcher
                            .handle_failure(
                                id,
                                Failure::Transport {
                                    description: "reset".into(),
                                },
                                now,
                            )
                            .unwrap();
                    }
                }
                83..=90 => {
                    if let Some((id, _)) = stream {
                        now += Duration::from_secs(5);
                        watcher.handle_stream_end(id, now).unwrap();
                    }
                }
                _ => server.compacted = server.rv.saturating_sub(random.next_u64() % 4),
            }
            apply_checked(&mut store, drain(&mut watcher), &mut last_change);
        }
        // Let the watcher catch up without further disturbance: end the open stream cleanly.
        if let Some((id, _)) = stream {
            now += Duration::from_secs(5);
            // Refused when the stream already ended; then a new request is due.
            let _ = watcher.handle_stream_end(id, now);
        }
        for _ in 0..200 {
            if let Some(deadline) = watcher.poll_timeout() {
                now = now.max(deadline);
                watcher.handle_timeout(now);
            }
            if let Some((id, action)) = watcher.poll(now) {
                match action {
                    Action::List { params, .. } => {
                        let page = server.list(params.continue_token, params.limit.unwrap() as usize);
                        watcher.handle_list_page(id, page, now).unwrap();
                    }
                    Action::Abandon { .. } => unreachable!("the watcher alone never abandons"),
                    Action::Watch { params, .. } => {
                        let rv: u64 = params.resource_version.unwrap().parse().unwrap();
                        match server.watch_from(rv) {
                            Some(events) => {
                                for event in events {
                                    watcher.handle_watch_event(id, event, now).unwrap();
                                }
                                now += Duration::from_secs(5);
                                watcher.handle_stream_end(id, now).unwrap();
                            }
                            None => watcher
                                .handle_failure(id, Failure::Api(Box::new(gone())), now)
                                .unwrap(),
                        }
                    }
                }
            }
            apply_checked(&mut store, drain(&mut watcher), &mut last_change);
        }
        assert!(store.is_ready(), "seed {seed}");
        let expected: Vec<&Obj> = server.objects.values().collect();
        let actual: Vec<&Obj> = store.list().collect();
        assert_eq!(actual, expected, "seed {seed}");
        assert_eq!(watcher.resource_version(), Some(server.rv.to_string().as_str()));
    }
}
