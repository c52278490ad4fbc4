//! A watcher running on its own thread, its events summarised so that tests can compare what they
//! saw with what they did.

use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use klient_blocking::watch_core::{Event, Store};
use klient_blocking::{Api, WatchConfig, watcher};
use klient_proto::api::Resource;
use serde::de::DeserializeOwned;

/// One watcher event reduced to what tests compare: kind of event, name and resourceVersion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// A new initial set begins.
    Init,
    /// An object of the initial set.
    InitApply {
        /// Its name.
        name: String,
        /// Its resourceVersion.
        rv: String,
    },
    /// The initial set is complete.
    InitDone,
    /// A created or changed object.
    Apply {
        /// Its name.
        name: String,
        /// Its resourceVersion.
        rv: String,
    },
    /// A deleted object.
    Delete {
        /// Its name.
        name: String,
    },
    /// A failure the watcher reported (and recovers from).
    Failure(String),
}

fn name_rv<K: Resource>(object: &K) -> (String, String) {
    (
        object.name().unwrap_or_default().to_owned(),
        object.resource_version().unwrap_or_default().to_owned(),
    )
}

impl Seen {
    /// The summary of one event (or failure) of a watcher.
    pub fn of<K: Resource>(event: &klient_blocking::Result<Event<K>>) -> Seen {
        match event {
            Err(e) => Seen::Failure(e.to_string()),
            Ok(Event::Init) => Seen::Init,
            Ok(Event::InitDone) => Seen::InitDone,
            Ok(Event::InitApply(o)) => {
                let (name, rv) = name_rv(o);
                Seen::InitApply { name, rv }
            }
            Ok(Event::Apply(o)) => {
                let (name, rv) = name_rv(o);
                Seen::Apply { name, rv }
            }
            Ok(Event::Delete(o)) => Seen::Delete { name: name_rv(o).0 },
            Ok(_) => unreachable!("an event kind these tests do not know"),
        }
    }
}

/// A watcher driven on a thread of its own; its events arrive through a channel, and a `Store`
/// applies them as the test takes them.
pub struct BackgroundWatcher<K> {
    events: Receiver<klient_blocking::Result<Event<K>>>,
    /// The cache the events keep in sync.
    pub store: Store<K>,
    /// Every event taken so far, summarised, in order.
    pub seen: Vec<Seen>,
}

impl<K> BackgroundWatcher<K>
where
    K: Resource + DeserializeOwned + Clone + Send + 'static,
{
    /// Starts `watcher(api, config)` on a thread. The thread ends at the first event after this
    /// value is dropped.
    pub fn start(api: Api<K>, config: WatchConfig) -> Self {
        let (sender, events) = channel();
        std::thread::spawn(move || {
            for event in watcher(api, config) {
                if sender.send(event).is_err() {
                    break;
                }
            }
        });
        BackgroundWatcher {
            events,
            store: Store::new(),
            seen: Vec::new(),
        }
    }

    /// Takes the next event into the store and `seen`, or `None` when none came within `timeout`.
    pub fn step(&mut self, timeout: Duration) -> Option<&Seen> {
        match self.events.recv_timeout(timeout) {
            Ok(event) => {
                self.seen.push(Seen::of(&event));
                if let Ok(event) = event {
                    self.store.apply(event);
                }
                self.seen.last()
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => panic!("the watcher thread ended"),
        }
    }

    /// Takes events until `done` holds for this watcher, panicking after `timeout` with what was seen.
    pub fn until(&mut self, what: &str, timeout: Duration, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out after {timeout:?} waiting for {what}; seen: {:#?}",
                self.seen
            );
            self.step(left.min(Duration::from_millis(200)));
        }
    }

    /// The store's content as (name, resourceVersion) pairs, sorted.
    pub fn store_versions(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<_> = self.store.list().map(name_rv).collect();
        pairs.sort();
        pairs
    }
}

/// The (name, resourceVersion) pairs of a fresh list, sorted, to compare with a store.
pub fn list_versions<K>(api: &Api<K>, selector: &str) -> Vec<(String, String)>
where
    K: Resource + DeserializeOwned,
{
    let params = klient_blocking::core::ListParams::default().labels(selector);
    let mut pairs: Vec<_> = api
        .list(&params)
        .expect("a fresh list")
        .items
        .iter()
        .map(name_rv)
        .collect();
    pairs.sort();
    pairs
}

/// A watcher of an async adapter ([`klient_async::watcher`], so every async adapter's), whose
/// events a scenario takes with a timeout, as [`BackgroundWatcher`]'s are taken on the blocking
/// adapter: the same methods, awaited.
pub struct AsyncWatching<K, R: klient_async::Runtime> {
    events: futures_util::stream::BoxStream<'static, klient_proto::Result<Event<K>>>,
    runtime: R,
    /// The cache the events keep in sync.
    pub store: Store<K>,
    /// Every event taken so far, summarised, in order.
    pub seen: Vec<Seen>,
}

impl<K, R> AsyncWatching<K, R>
where
    K: Resource + DeserializeOwned + Clone + Send + Sync + 'static,
    R: klient_async::Runtime,
{
    /// Starts `watcher(api, config)`; it runs while the scenario takes its events.
    pub fn start(api: klient_async::Api<K, R>, config: WatchConfig) -> Self {
        use futures_util::StreamExt;
        let runtime = api.client().runtime().clone();
        AsyncWatching {
            events: klient_async::watcher(api, config).boxed(),
            runtime,
            store: Store::new(),
            seen: Vec::new(),
        }
    }

    /// Takes the next event into the store and `seen`, or `None` when none came within `timeout`.
    pub async fn step(&mut self, timeout: Duration) -> Option<&Seen> {
        use futures_util::StreamExt;
        use futures_util::future::{Either, select};
        let timer = self.runtime.sleep_until(Instant::now() + timeout);
        match select(self.events.next(), timer).await {
            Either::Left((Some(event), _)) => {
                self.seen.push(Seen::of(&event));
                if let Ok(event) = event {
                    self.store.apply(event);
                }
                self.seen.last()
            }
            Either::Left((None, _)) => panic!("the watcher ended"),
            Either::Right(((), _)) => None,
        }
    }

    /// Takes events until `done` holds for this watcher, panicking after `timeout` with what was seen.
    pub async fn until(&mut self, what: &str, timeout: Duration, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out after {timeout:?} waiting for {what}; seen: {:#?}",
                self.seen
            );
            self.step(left.min(Duration::from_millis(200))).await;
        }
    }

    /// The store's content as (name, resourceVersion) pairs, sorted.
    pub fn store_versions(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<_> = self.store.list().map(name_rv).collect();
        pairs.sort();
        pairs
    }
}
