//! The watch driver driven in memory with scripted server bytes and a simulated clock.

use std::time::{Duration, Instant};

use super::*;
use crate::api::{
    BodySnippet, DynamicObject, ListMeta, ObjectList, Resource, ResponseError, StatusReason, WatchParams,
    decode_error,
};

type Driver = WatchDriver<DynamicObject>;

const JSON: Option<&str> = Some("application/json");

/// One watch event as the API server writes it, with its newline.
fn event(kind: &str, name: &str, rv: u64) -> String {
    format!(
        r#"{{"type":"{kind}","object":{{"metadata":{{"name":"{name}","namespace":"ns","resourceVersion":"{rv}"}}}}}}"#
    ) + "\n"
}

fn expired_event() -> String {
    r#"{"type":"ERROR","object":{"kind":"Status","status":"Failure","reason":"Expired","message":"too old","code":410}}"#
        .to_owned()
}

/// A list that is complete at `rv`.
fn list_at(rv: &str) -> ListPage<DynamicObject> {
    ObjectList {
        metadata: ListMeta {
            resource_version: Some(rv.into()),
            ..ListMeta::default()
        },
        items: Vec::new(),
    }
    .into()
}

fn exact() -> watcher::Config {
    watcher::Config::default().backoff(BackoffConfig {
        jitter: 0.0,
        ..BackoffConfig::default()
    })
}

/// What the user was handed, events summarised as "Apply a@11".
fn seen(driver: &mut Driver) -> Vec<Result<String, Failure>> {
    let summary = |kind: &str, object: &DynamicObject| {
        let name = object.name().unwrap_or_default();
        format!("{kind} {name}@{}", object.resource_version().unwrap_or_default())
    };
    std::iter::from_fn(|| driver.poll_event())
        .map(|event| {
            event.map(|event| match event {
                Event::Init => "Init".to_owned(),
                Event::InitApply(object) => summary("InitApply", &object),
                Event::InitDone => "InitDone".to_owned(),
                Event::Apply(object) => summary("Apply", &object),
                Event::Delete(object) => summary("Delete", &object),
            })
        })
        .collect()
}

fn applied(names: &[&str]) -> Vec<Result<String, Failure>> {
    names.iter().map(|name| Ok(format!("Apply {name}"))).collect()
}

/// Lists an empty collection at `rv`.
fn list(driver: &mut Driver, rv: &str, now: Instant) {
    let Some(Action::List { id, .. }) = driver.poll_action(now) else {
        panic!("a list request");
    };
    driver.handle_list_page(id, list_at(rv), now).unwrap();
    assert_eq!(seen(driver), [Ok("Init".into()), Ok("InitDone".into())]);
}

/// Takes the next action, a watch, and answers it with a JSON response head.
fn open_watch(driver: &mut Driver, now: Instant) -> (RequestId, WatchParams) {
    let Some(Action::Watch { id, params }) = driver.poll_action(now) else {
        panic!("a watch request");
    };
    driver.handle_watch_response(id, JSON, now).unwrap();
    (id, params)
}

/// Ends the backoff that is due and returns when it ended.
fn wait_out_backoff(driver: &mut Driver) -> Instant {
    let at = driver.poll_timeout().expect("a backoff");
    assert_eq!(
        driver.watch_in_flight(),
        None,
        "no stall deadline during a backoff"
    );
    driver.handle_timeout(at);
    at
}

#[test]
fn every_watch_asks_for_a_timeout_between_5_and_10_minutes() {
    let mut now = Instant::now();
    let mut driver = Driver::new(watcher::Config::default(), 3);
    list(&mut driver, "1", now);
    let mut timeouts = Vec::new();
    for _ in 0..200 {
        let (id, params) = open_watch(&mut driver, now);
        let seconds = params.timeout_seconds.expect("every watch has a timeout");
        timeouts.push(seconds);
        // The stall deadline follows the request's own timeout.
        let timeout = Duration::from_secs(seconds.into());
        assert_eq!(driver.poll_timeout(), Some(now + timeout + STALL_GRACE));
        now += timeout;
        driver.handle_watch_end(id, now).unwrap();
        assert_eq!(seen(&mut driver), []);
        assert_eq!(driver.poll_timeout(), None, "the next watch follows at once");
    }
    assert!(timeouts.iter().all(|t| (300..600).contains(t)), "{timeouts:?}");
    let (low, high) = (timeouts.iter().min(), timeouts.iter().max());
    assert!(
        low < Some(&320) && high > Some(&580),
        "spread over the range: {timeouts:?}"
    );

    // A configured timeout is used as it is.
    let mut fixed = Driver::new(watcher::Config::default().timeout(42), 3);
    list(&mut fixed, "1", now);
    let (_, params) = open_watch(&mut fixed, now);
    assert_eq!(params.timeout_seconds, Some(42));
    assert_eq!(
        fixed.poll_timeout(),
        Some(now + Duration::from_secs(42) + STALL_GRACE)
    );
}

#[test]
fn a_stalled_watch_is_abandoned_and_resumed_from_its_last_resource_version() {
    let start = Instant::now();
    let mut driver = Driver::new(exact(), 1);
    list(&mut driver, "10", start);
    let (first, params) = open_watch(&mut driver, start);
    let timeout_seconds = params.timeout_seconds.unwrap();
    let bytes = [event("ADDED", "a", 11), event("MODIFIED", "a", 12)].concat();
    driver
        .handle_watch_bytes(first, bytes.as_bytes(), start + Duration::from_secs(1))
        .unwrap();
    assert_eq!(seen(&mut driver), applied(&["a@11", "a@12"]));

    // Then silence: nothing happens until the timeout plus the grace period has passed.
    let deadline = start + Duration::from_secs(timeout_seconds.into()) + STALL_GRACE;
    assert_eq!(driver.poll_timeout(), Some(deadline));
    driver.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(driver.poll_action(deadline), None);
    assert_eq!(seen(&mut driver), []);
    driver.handle_timeout(deadline);
    assert_eq!(
        seen(&mut driver),
        [Err(Failure::Stalled {
            timeout_seconds,
            grace: STALL_GRACE
        })]
    );
    assert_eq!(driver.poll_action(deadline), Some(Action::Abandon { id: first }));
    assert_eq!(driver.poll_action(deadline), None, "a backoff comes first");

    // Whatever the dead connection still delivers is dropped.
    let late = event("MODIFIED", "a", 13);
    driver
        .handle_watch_bytes(first, late.as_bytes(), deadline)
        .unwrap();
    driver.handle_watch_end(first, deadline).unwrap();
    assert_eq!(seen(&mut driver), []);

    let retry = wait_out_backoff(&mut driver);
    assert_eq!(retry, deadline + Duration::from_millis(800));
    let (second, params) = open_watch(&mut driver, retry);
    assert_eq!(params.resource_version.as_deref(), Some("12"));
    // The server resumes after 12: each later change once.
    let bytes = [event("MODIFIED", "a", 13), event("ADDED", "b", 14)].concat();
    driver
        .handle_watch_bytes(second, bytes.as_bytes(), retry)
        .unwrap();
    assert_eq!(seen(&mut driver), applied(&["a@13", "b@14"]));
    assert_eq!(driver.resource_version(), Some("14"));
    assert_eq!(
        driver.watcher().consecutive_failures(),
        0,
        "a healthy stream resets the backoff"
    );
}

#[test]
fn an_event_that_does_not_decode_is_reported_and_skipped() {
    let now = Instant::now();
    let mut driver = Driver::new(exact(), 1);
    list(&mut driver, "10", now);
    let (id, _) = open_watch(&mut driver, now);
    let bytes = [
        event("ADDED", "a", 11),
        r#"{"type":"ADDED","object":{"metadata":{"name":5}}}"#.to_owned(),
        r#"{"type":"RENAMED","object":{}}"#.to_owned(),
        event("ADDED", "b", 12),
    ]
    .concat();
    // In uneven pieces, as a network delivers them.
    for piece in bytes.as_bytes().chunks(7) {
        driver.handle_watch_bytes(id, piece, now).unwrap();
    }
    let seen = seen(&mut driver);
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(seen[0], Ok("Apply a@11".into()));
    assert!(
        matches!(
            &seen[1],
            Err(Failure::UndecodableEvent(EventError::InvalidObject {
                event_type: EventType::Added,
                ..
            }))
        ),
        "{seen:?}"
    );
    assert_eq!(
        seen[2],
        Err(Failure::UndecodableEvent(EventError::UnknownType {
            event_type: "RENAMED".into()
        }))
    );
    assert_eq!(seen[3], Ok("Apply b@12".into()));
    // The stream goes on: nothing to abandon, no backoff.
    assert_eq!(driver.poll_action(now), None);
    assert_eq!(driver.watch_in_flight(), Some(id));
    assert_eq!(driver.resource_version(), Some("12"));
}

#[test]
fn a_stream_whose_framing_breaks_is_abandoned_and_watched_again() {
    let now = Instant::now();
    let mut driver = Driver::new(exact(), 1);
    list(&mut driver, "10", now);

    // Bytes that cannot start an event, after a good one.
    let (first, _) = open_watch(&mut driver, now);
    let bytes = event("ADDED", "a", 11) + "]oops";
    driver.handle_watch_bytes(first, bytes.as_bytes(), now).unwrap();
    let seen_first = seen(&mut driver);
    assert_eq!(seen_first[0], Ok("Apply a@11".into()));
    assert!(
        matches!(
            seen_first[1..],
            [Err(Failure::Decode(DecodeError::NotAnObject { byte: b']', .. }))]
        ),
        "{seen_first:?}"
    );
    assert_eq!(driver.poll_action(now), Some(Action::Abandon { id: first }));
    let at = wait_out_backoff(&mut driver);

    // A stream that ends inside an event: the adapter knows it ended, nothing to abandon.
    let (second, params) = open_watch(&mut driver, at);
    assert_eq!(params.resource_version.as_deref(), Some("11"));
    driver
        .handle_watch_bytes(second, br#"{"type":"ADDED","obj"#, at)
        .unwrap();
    driver.handle_watch_end(second, at).unwrap();
    assert!(matches!(
        seen(&mut driver)[..],
        [Err(Failure::Decode(DecodeError::Truncated { .. }))]
    ));
    assert_eq!(driver.poll_action(at), None);
    let at = wait_out_backoff(&mut driver);

    // A media type the objects cannot be read from.
    let Some(Action::Watch { id: third, params }) = driver.poll_action(at) else {
        panic!("a watch");
    };
    assert_eq!(params.resource_version.as_deref(), Some("11"));
    let protobuf = Some("application/vnd.kubernetes.protobuf;stream=watch");
    driver.handle_watch_response(third, protobuf, at).unwrap();
    assert!(matches!(
        seen(&mut driver)[..],
        [Err(Failure::Decode(DecodeError::UnsupportedContentType { .. }))]
    ));
    assert_eq!(driver.poll_action(at), Some(Action::Abandon { id: third }));
    let at = wait_out_backoff(&mut driver);
    let (_, params) = open_watch(&mut driver, at);
    assert_eq!(params.resource_version.as_deref(), Some("11"));
}

#[test]
fn a_streaming_list_broken_half_way_starts_its_initial_set_again() {
    let now = Instant::now();
    let mut driver = Driver::new(exact().streaming_lists(), 1);
    let (first, params) = open_watch(&mut driver, now);
    assert!(params.send_initial_events);
    let bytes = event("ADDED", "x", 5) + "7";
    driver.handle_watch_bytes(first, bytes.as_bytes(), now).unwrap();
    let first_round = seen(&mut driver);
    assert_eq!(first_round[..2], [Ok("Init".into()), Ok("InitApply x@5".into())]);
    assert!(
        matches!(first_round[2..], [Err(Failure::Decode(_))]),
        "{first_round:?}"
    );
    assert_eq!(driver.poll_action(now), Some(Action::Abandon { id: first }));
    let at = wait_out_backoff(&mut driver);
    let (second, params) = open_watch(&mut driver, at);
    assert!(params.send_initial_events);
    assert_eq!(params.resource_version, None);
    let end = r#"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9","annotations":{"k8s.io/initial-events-end":"true"}}}}"#;
    let bytes = event("ADDED", "x", 5) + end;
    driver.handle_watch_bytes(second, bytes.as_bytes(), at).unwrap();
    assert_eq!(
        seen(&mut driver),
        [
            Ok("Init".into()),
            Ok("InitApply x@5".into()),
            Ok("InitDone".into())
        ]
    );
    assert_eq!(driver.resource_version(), Some("9"));
}

#[test]
fn events_before_a_failure_in_the_same_bytes_come_first() {
    let now = Instant::now();
    let mut driver = Driver::new(exact(), 1);
    list(&mut driver, "10", now);

    // An ERROR event between good ones: what came before it is delivered, what follows it is not.
    let (first, _) = open_watch(&mut driver, now);
    let bytes = [
        event("ADDED", "a", 11),
        event("ADDED", "b", 12),
        expired_event(),
        event("ADDED", "c", 13),
    ]
    .concat();
    driver.handle_watch_bytes(first, bytes.as_bytes(), now).unwrap();
    let seen_first = seen(&mut driver);
    assert_eq!(seen_first[..2], applied(&["a@11", "b@12"])[..]);
    assert!(
        matches!(&seen_first[2..], [Err(failure)] if failure.is_expired()),
        "{seen_first:?}"
    );
    // The server closes after an ERROR; the driver lets go first, then relists at once.
    assert_eq!(driver.poll_action(now), Some(Action::Abandon { id: first }));
    assert!(matches!(driver.poll_action(now), Some(Action::List { .. })));
    assert_eq!(driver.poll_timeout(), None);
}

#[test]
fn events_received_before_a_broken_connection_come_before_its_failure() {
    let now = Instant::now();
    let mut driver = Driver::new(exact(), 1);
    list(&mut driver, "10", now);
    let (id, _) = open_watch(&mut driver, now);
    // A whole event and half of the next, then the connection breaks.
    let bytes = event("ADDED", "c", 13) + r#"{"type":"ADDED","object":{"meta"#;
    driver.handle_watch_bytes(id, bytes.as_bytes(), now).unwrap();
    let reset = RequestFailure::Transport {
        description: "connection reset".into(),
    };
    driver.handle_failure(id, reset, now).unwrap();
    assert_eq!(
        seen(&mut driver),
        [
            Ok("Apply c@13".into()),
            Err(Failure::Transport {
                description: "connection reset".into()
            })
        ]
    );
    // The adapter already knows the connection is gone: nothing to abandon.
    assert_eq!(driver.poll_action(now), None);
    let at = wait_out_backoff(&mut driver);
    let (_, params) = open_watch(&mut driver, at);
    assert_eq!(params.resource_version.as_deref(), Some("13"));
}

#[test]
fn failed_requests_are_classified_by_what_the_server_said() {
    let now = Instant::now();
    let mut driver = Driver::new(exact(), 1);
    let internal = br#"{"kind":"Status","status":"Failure","reason":"InternalError","code":500}"#;
    let expired = br#"{"kind":"Status","status":"Failure","reason":"Expired","code":410}"#;

    // A list refused with a 500 is retried after a backoff.
    let Some(Action::List { id, .. }) = driver.poll_action(now) else {
        panic!("a list");
    };
    driver
        .handle_failure(id, decode_error(500, internal).into(), now)
        .unwrap();
    let seen_list = seen(&mut driver);
    assert!(
        matches!(
            &seen_list[..],
            [Err(Failure::Api(error))] if error.code == 500 && error.reason == StatusReason::InternalError
        ),
        "{seen_list:?}"
    );
    assert_eq!(driver.poll_action(now), None);
    let at = wait_out_backoff(&mut driver);

    // An expired continue token restarts the list at once.
    let Some(Action::List { id, .. }) = driver.poll_action(at) else {
        panic!("a list");
    };
    driver
        .handle_failure(id, decode_error(410, expired).into(), at)
        .unwrap();
    assert!(seen(&mut driver)[0].as_ref().is_err_and(Failure::is_expired));
    list(&mut driver, "20", at);

    // A watch refused with a 410 by a proxy's page (no Status) still relists at once.
    let Some(Action::Watch { id, .. }) = driver.poll_action(at) else {
        panic!("a watch");
    };
    let page = ResponseError::Unexpected {
        code: 410,
        body: BodySnippet::new(b"<html>Gone</html>"),
    };
    driver.handle_failure(id, page.into(), at).unwrap();
    assert!(seen(&mut driver)[0].as_ref().is_err_and(Failure::is_expired));
    assert!(matches!(driver.poll_action(at), Some(Action::List { .. })));
}

#[test]
fn inputs_that_do_not_fit_the_request_are_refused_and_stale_ones_dropped() {
    let now = Instant::now();
    let mut driver = Driver::new(exact(), 1);
    let Some(Action::List { id: list, .. }) = driver.poll_action(now) else {
        panic!("a list");
    };
    let wrong = |expected| Err(InputError::UnexpectedResponse { id: list, expected });
    assert_eq!(
        driver.handle_watch_response(list, JSON, now),
        wrong(Expected::ListPage)
    );
    assert_eq!(
        driver.handle_watch_bytes(list, b"{}", now),
        wrong(Expected::ListPage)
    );
    driver.handle_list_page(list, list_at("1"), now).unwrap();
    let Some(Action::Watch { id: watch, .. }) = driver.poll_action(now) else {
        panic!("a watch");
    };
    assert_eq!(
        driver.handle_watch_bytes(watch, b"{}", now),
        Err(InputError::UnexpectedResponse {
            id: watch,
            expected: Expected::WatchResponse
        })
    );
    assert_eq!(
        driver.handle_list_page(watch, list_at("1"), now),
        Err(InputError::UnexpectedResponse {
            id: watch,
            expected: Expected::WatchStream
        })
    );
    // The finished list delivers nothing more, silently.
    assert_eq!(driver.handle_list_page(list, list_at("2"), now), Ok(()));
    assert_eq!(driver.handle_watch_end(list, now), Ok(()));
    assert_eq!(seen(&mut driver), [Ok("Init".into()), Ok("InitDone".into())]);
    assert_eq!(driver.watch_in_flight(), Some(watch));
}

/// A simulated API server for the driver: a collection, its change history (compactable), and
/// the bytes of the watch stream in flight.
#[derive(Default)]
struct FakeServer {
    /// Name to resourceVersion.
    objects: std::collections::BTreeMap<String, u64>,
    /// Every change: (type, name, resourceVersion).
    history: Vec<(&'static str, String, u64)>,
    /// Versions below this are gone from the history.
    compacted: u64,
    rv: u64,
}

impl FakeServer {
    fn change(&mut self, random: u64) {
        self.rv += 1;
        let name = format!("o{}", random % 8);
        let kind = match self.objects.get(&name) {
            Some(_) if random.is_multiple_of(3) => {
                self.objects.remove(&name);
                "DELETED"
            }
            Some(_) => "MODIFIED",
            None => "ADDED",
        };
        if kind != "DELETED" {
            self.objects.insert(name.clone(), self.rv);
        }
        self.history.push((kind, name, self.rv));
    }

    fn list(&self) -> ListPage<DynamicObject> {
        let items = self
            .objects
            .iter()
            .map(|(name, rv)| {
                serde_json::from_str(&event("ADDED", name, *rv)).map(|e| match e {
                    WatchEvent::Added(object) => object,
                    _ => unreachable!(),
                })
            })
            .collect::<Result<_, serde_json::Error>>()
            .unwrap();
        ListPage {
            items,
            resource_version: self.rv.to_string(),
            continue_token: None,
        }
    }

    /// The bytes of the changes after `rv`, or `None` when `rv` is compacted away.
    fn changes_after(&self, rv: u64) -> Option<Vec<(u64, String)>> {
        (rv >= self.compacted).then(|| {
            self.history
                .iter()
                .filter(|(_, _, version)| *version > rv)
                .map(|(kind, name, version)| (*version, event(kind, name, *version)))
                .collect()
        })
    }
}

/// The watch in flight on the fake server: what it has written, and what of that the client has
/// received.
struct FakeStream {
    id: RequestId,
    written: u64,
    unsent: Vec<u8>,
}

/// Applies events to the store, checking that changes arrive in strictly increasing version
/// order (none repeated across reconnects); failures are counted by kind.
fn apply_checked(
    driver: &mut Driver,
    store: &mut Store<DynamicObject>,
    last: &mut u64,
    failures: &mut std::collections::BTreeMap<String, u32>,
) {
    while let Some(event) = driver.poll_event() {
        match event {
            Ok(event) => {
                if let Event::Apply(object) | Event::Delete(object) = &event {
                    let version: u64 = object.resource_version().unwrap().parse().unwrap();
                    assert!(version > *last, "change {version} after {last}");
                    *last = version;
                }
                store.apply(event);
            }
            Err(failure) => {
                let kind = format!("{failure:?}");
                let kind = kind.split(['(', ' ', '{']).next().unwrap_or_default().to_owned();
                *failures.entry(kind).or_default() += 1;
            }
        }
    }
}

/// Random changes, bytes split anywhere, dropped connections, clean ends, stalls, broken framing
/// and compactions, all through the driver: the store must end equal to the server, every change
/// seen once and in order.
#[test]
fn the_store_matches_the_server_through_every_kind_of_failure() {
    let mut all_failures = std::collections::BTreeMap::new();
    for seed in 0..30u64 {
        let mut random = super::backoff::SplitMix64::new(seed);
        let mut server = FakeServer::default();
        for _ in 0..6 {
            server.change(random.next_u64());
        }
        let mut driver = Driver::new(exact(), seed);
        let mut store = Store::new();
        let mut now = Instant::now();
        let mut stream: Option<FakeStream> = None;
        let mut last = 0;
        for step in 0..600u32 {
            let quiet = step >= 500;
            if let Some(at) = driver.poll_timeout().filter(|at| *at <= now || stream.is_none()) {
                now = now.max(at);
                driver.handle_timeout(now);
            }
            while let Some(action) = driver.poll_action(now) {
                match action {
                    Action::List { id, .. } => driver.handle_list_page(id, server.list(), now).unwrap(),
                    Action::Watch { id, params } => {
                        let rv: u64 = params.resource_version.unwrap().parse().unwrap();
                        match server.changes_after(rv) {
                            Some(_) => {
                                driver.handle_watch_response(id, JSON, now).unwrap();
                                stream = Some(FakeStream {
                                    id,
                                    written: rv,
                                    unsent: Vec::new(),
                                });
                            }
                            None => {
                                let gone = br#"{"kind":"Status","reason":"Expired","code":410}"#;
                                driver
                                    .handle_failure(id, decode_error(410, gone).into(), now)
                                    .unwrap();
                            }
                        }
                    }
                    Action::Abandon { id } => {
                        assert_eq!(stream.as_ref().map(|s| s.id), Some(id), "abandons the open watch");
                        stream = None;
                    }
                }
            }
            let choice = if quiet { 40 } else { random.next_u64() % 100 };
            match (choice, stream.as_mut()) {
                (0..=34, _) => server.change(random.next_u64()),
                // The server writes what is new (or an ERROR when compacted), the network
                // delivers a random prefix of what is unsent.
                (35..=74, Some(open)) => {
                    match server.changes_after(open.written) {
                        Some(changes) => {
                            for (version, bytes) in changes {
                                open.written = version;
                                open.unsent.extend(bytes.as_bytes());
                            }
                        }
                        None if open.written < server.rv => open.unsent.extend(expired_event().as_bytes()),
                        None => {}
                    }
                    let (id, unsent) = (open.id, std::mem::take(&mut open.unsent));
                    let cut = if quiet {
                        unsent.len()
                    } else {
                        (random.next_u64() % (unsent.len() as u64 + 1)) as usize
                    };
                    open.unsent = unsent[cut..].to_vec();
                    driver.handle_watch_bytes(id, &unsent[..cut], now).unwrap();
                }
                (75..=80, Some(open)) => {
                    let reset = RequestFailure::Transport {
                        description: "reset".into(),
                    };
                    driver.handle_failure(open.id, reset, now).unwrap();
                    stream = None;
                }
                (81..=86, Some(open)) => {
                    // A clean end flushes what was written first.
                    let unsent = std::mem::take(&mut open.unsent);
                    driver.handle_watch_bytes(open.id, &unsent, now).unwrap();
                    now += Duration::from_secs(5);
                    driver.handle_watch_end(open.id, now).unwrap();
                    stream = None;
                }
                (87..=91, Some(_)) => {
                    // The connection goes silent until the stall deadline.
                    now = driver.poll_timeout().expect("a stall deadline");
                    driver.handle_timeout(now);
                }
                // Between two events (inside one it would only spoil that event).
                (92..=94, Some(open)) if open.unsent.is_empty() => {
                    driver.handle_watch_bytes(open.id, b"]", now).unwrap();
                }
                (95.., _) => server.compacted = server.rv.saturating_sub(random.next_u64() % 3),
                _ => {}
            }
            apply_checked(&mut driver, &mut store, &mut last, &mut all_failures);
        }
        assert!(store.is_ready(), "seed {seed}");
        let expected: Vec<(String, u64)> = server.objects.clone().into_iter().collect();
        let actual: Vec<(String, u64)> = store
            .list()
            .map(|o| {
                let rv = o.resource_version().unwrap().parse().unwrap();
                (o.name().unwrap().to_owned(), rv)
            })
            .collect();
        assert_eq!(actual, expected, "seed {seed}");
    }
    // Every kind of failure was exercised.
    for kind in ["Api", "Transport", "Decode", "Stalled"] {
        assert!(
            all_failures.contains_key(kind),
            "{kind} never happened: {all_failures:?}"
        );
    }
}
