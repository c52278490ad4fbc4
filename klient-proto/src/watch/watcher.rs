//! The watcher: list (or stream the initial set), then watch, and recover from every way a
//! watch can end without losing or repeating an event.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use super::backoff::{Backoff, BackoffConfig, SplitMix64};
use super::event::{Status, WatchEvent};
use super::object::WatchObject;

/// How the watcher gets the initial set of objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitialListMode {
    /// A (paginated) list, then a watch from the list's resourceVersion.
    ListThenWatch {
        /// Objects per page (`limit`); `None` asks for everything at once.
        page_size: Option<u32>,
        /// List with `resourceVersion=0`: any recent state the API server has cached, cheaper
        /// for the server but possibly older than the latest write (`false`: a consistent read).
        any_version: bool,
    },
    /// A watch with `sendInitialEvents=true`: the server streams the initial set as ADDED
    /// events and closes it with a BOOKMARK annotated `k8s.io/initial-events-end: "true"`
    /// (Kubernetes 1.27+ with the `WatchList` feature).
    StreamingList,
}

/// Settings of a [`Watcher`].
#[derive(Debug, Clone, PartialEq)]
pub struct WatcherConfig {
    /// How to get the initial set.
    pub initial_list: InitialListMode,
    /// `timeoutSeconds` for each watch request: the server ends the stream after this long and
    /// the watcher resumes from the last resourceVersion.
    pub watch_timeout_seconds: Option<u32>,
    /// The retry schedule after failures.
    pub backoff: BackoffConfig,
    /// A watch that ends cleanly sooner than this without a single event counts as a failure,
    /// so that a server closing watches at once does not make the watcher spin.
    pub min_watch_duration: Duration,
}

impl Default for WatcherConfig {
    /// Pages of 500, watches of 290 s, the default backoff, 1 s minimum watch.
    fn default() -> Self {
        Self {
            initial_list: InitialListMode::ListThenWatch {
                page_size: Some(500),
                any_version: false,
            },
            watch_timeout_seconds: Some(290),
            backoff: BackoffConfig::default(),
            min_watch_duration: Duration::from_secs(1),
        }
    }
}

/// Names one request the watcher asked for; responses are handed back with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// A request the adapter must make, expressed as intent; the adapter builds the HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// List the collection (`GET` without `watch`).
    List {
        /// `continue`: the token from the previous page, for the next page.
        continue_token: Option<String>,
        /// `resourceVersion`, when set.
        resource_version: Option<String>,
        /// `limit`: page size.
        limit: Option<u32>,
    },
    /// Watch the collection (`watch=1&allowWatchBookmarks=true`).
    Watch {
        /// `resourceVersion` to start after; `None` with `send_initial_events` means "the
        /// latest state".
        resource_version: Option<String>,
        /// `sendInitialEvents=true&resourceVersionMatch=NotOlderThan`.
        send_initial_events: bool,
        /// `timeoutSeconds`.
        timeout_seconds: Option<u32>,
    },
}

/// One decoded page of a list response.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage<K> {
    /// The objects on this page.
    pub items: Vec<K>,
    /// `metadata.resourceVersion` of the list.
    pub resource_version: String,
    /// `metadata.continue`: set when more pages follow.
    pub continue_token: Option<String>,
}

/// What the watcher tells its user (kube-runtime's vocabulary).
///
/// `Init`, then `InitApply` for every object of the initial set, then `InitDone`, then `Apply`
/// and `Delete` as changes arrive. After a relist the sequence starts again from `Init`: a
/// store replaces its whole content at `InitDone`, which removes objects that vanished while
/// the watcher could not see them.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<K> {
    /// A new initial set begins; forget any incomplete one.
    Init,
    /// An object of the initial set.
    InitApply(K),
    /// The initial set is complete: it is now the full state.
    InitDone,
    /// An object was created or changed.
    Apply(K),
    /// An object was deleted (its last state).
    Delete(K),
}

/// Why a request did not succeed; handed in by the adapter and handed back out to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server answered with an error: an HTTP error status with its `Status` body, or an
    /// ERROR watch event. `410 Gone` makes the watcher list again; others are retried.
    Api(Status),
    /// The connection failed or its bytes could not be decoded; retried after a backoff.
    Transport {
        /// The adapter's description of what went wrong.
        description: String,
    },
    /// A watch ended cleanly without any event sooner than
    /// [`min_watch_duration`](WatcherConfig::min_watch_duration).
    WatchClosedEarly,
    /// A streaming list ended before its initial-events-end bookmark.
    InitialEventsIncomplete,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Api(status) => write!(f, "API error {status}"),
            Self::Transport { description } => write!(f, "transport error: {description}"),
            Self::WatchClosedEarly => f.write_str("watch closed at once without events"),
            Self::InitialEventsIncomplete => {
                f.write_str("streaming list ended before the initial-events-end bookmark")
            }
        }
    }
}

impl std::error::Error for Failure {}

/// Input the watcher could not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    /// The request is no longer current (it finished, failed, or was superseded): drop it
    /// and anything else it delivers.
    StaleRequest {
        /// The request named in the input.
        id: RequestId,
    },
    /// The input does not match the kind of request that is in flight.
    UnexpectedResponse {
        /// The request named in the input.
        id: RequestId,
        /// What that request expects.
        expected: &'static str,
    },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StaleRequest { id } => write!(f, "request {} is no longer current", id.0),
            Self::UnexpectedResponse { id, expected } => {
                write!(f, "request {} expects a {expected}", id.0)
            }
        }
    }
}

impl std::error::Error for InputError {}

#[derive(Debug)]
enum Phase {
    /// Paging through a list; `continue_token` names the next page.
    Listing {
        continue_token: Option<String>,
        init_emitted: bool,
    },
    /// A `sendInitialEvents` watch delivering the initial set.
    StreamingInit { init_emitted: bool },
    /// Watching from `Watcher::resource_version`.
    Watching,
}

#[derive(Debug)]
enum RequestState {
    /// The next request can be handed out by `poll_action`.
    Ready,
    InFlight {
        id: RequestId,
        opened: Instant,
        events: u64,
    },
    /// Backing off after a failure.
    Waiting { until: Instant },
}

/// The watcher state machine (kube-runtime's `watcher`, client-go's reflector), without I/O.
///
/// Drive it like this:
/// 1. [`poll_action`](Self::poll_action): make the request it asks for (drop any earlier one);
/// 2. hand back what that request produced, with its [`RequestId`]:
///    [`handle_list_page`](Self::handle_list_page),
///    [`handle_watch_event`](Self::handle_watch_event),
///    [`handle_stream_end`](Self::handle_stream_end),
///    [`handle_failure`](Self::handle_failure);
/// 3. drain [`poll_event`](Self::poll_event);
/// 4. when [`poll_timeout`](Self::poll_timeout) is reached, call
///    [`handle_timeout`](Self::handle_timeout), then go back to 1.
///
/// ```
/// use std::time::Instant;
/// use klient_proto::watch::{Action, Event, ListPage, WatchEvent, WatchObject, Watcher, WatcherConfig};
///
/// #[derive(Debug, Clone, PartialEq)]
/// struct Obj { name: String, rv: String }
/// impl WatchObject for Obj {
///     fn name(&self) -> Option<&str> { Some(&self.name) }
///     fn namespace(&self) -> Option<&str> { None }
///     fn resource_version(&self) -> Option<&str> { Some(&self.rv) }
/// }
///
/// let now = Instant::now();
/// let mut watcher = Watcher::<Obj>::new(WatcherConfig::default(), 42);
/// let (list, Action::List { .. }) = watcher.poll_action(now).unwrap() else { panic!() };
/// let a = Obj { name: "a".into(), rv: "5".into() };
/// let page = ListPage { items: vec![a.clone()], resource_version: "7".into(), continue_token: None };
/// watcher.handle_list_page(list, page, now).unwrap();
/// assert_eq!(watcher.poll_event(), Some(Ok(Event::Init)));
/// assert_eq!(watcher.poll_event(), Some(Ok(Event::InitApply(a))));
/// assert_eq!(watcher.poll_event(), Some(Ok(Event::InitDone)));
///
/// let (watch, action) = watcher.poll_action(now).unwrap();
/// assert!(matches!(action, Action::Watch { resource_version: Some(rv), .. } if rv == "7"));
/// let b = Obj { name: "b".into(), rv: "8".into() };
/// watcher.handle_watch_event(watch, WatchEvent::Added(b.clone()), now).unwrap();
/// assert_eq!(watcher.poll_event(), Some(Ok(Event::Apply(b))));
/// assert_eq!(watcher.resource_version(), Some("8"));
/// ```
#[derive(Debug)]
pub struct Watcher<K> {
    config: WatcherConfig,
    phase: Phase,
    request: RequestState,
    resource_version: Option<String>,
    next_id: u64,
    backoff: Backoff,
    random: SplitMix64,
    events: VecDeque<Result<Event<K>, Failure>>,
}

impl<K: WatchObject> Watcher<K> {
    /// A watcher that will start with the initial list; `seed` drives the backoff jitter.
    pub fn new(config: WatcherConfig, seed: u64) -> Self {
        let backoff = Backoff::new(config.backoff.clone());
        let mut watcher = Self {
            config,
            phase: Phase::Watching,
            request: RequestState::Ready,
            resource_version: None,
            next_id: 0,
            backoff,
            random: SplitMix64::new(seed),
            events: VecDeque::new(),
        };
        watcher.phase = watcher.initial_phase();
        watcher
    }

    /// The configuration.
    pub fn config(&self) -> &WatcherConfig {
        &self.config
    }

    /// The resourceVersion the watch has reached (`None` before the first initial set is
    /// complete).
    pub fn resource_version(&self) -> Option<&str> {
        self.resource_version.as_deref()
    }

    /// The request in flight, if any.
    pub fn request_in_flight(&self) -> Option<RequestId> {
        match self.request {
            RequestState::InFlight { id, .. } => Some(id),
            _ => None,
        }
    }

    /// Whether the watcher is past its initial set and watching for changes.
    pub fn is_watching(&self) -> bool {
        matches!(self.phase, Phase::Watching)
    }

    /// Failures in a row since the server last answered well.
    pub fn consecutive_failures(&self) -> u32 {
        self.backoff.failures()
    }

    fn initial_phase(&self) -> Phase {
        match self.config.initial_list {
            InitialListMode::ListThenWatch { .. } => Phase::Listing {
                continue_token: None,
                init_emitted: false,
            },
            InitialListMode::StreamingList => Phase::StreamingInit { init_emitted: false },
        }
    }

    /// The request to make next, if one is due. The adapter drops any earlier request.
    pub fn poll_action(&mut self, now: Instant) -> Option<(RequestId, Action)> {
        if !matches!(self.request, RequestState::Ready) {
            return None;
        }
        let action = match &self.phase {
            Phase::Listing { continue_token, .. } => {
                let (limit, any_version) = match self.config.initial_list {
                    InitialListMode::ListThenWatch {
                        page_size,
                        any_version,
                    } => (page_size, any_version),
                    InitialListMode::StreamingList => (None, false),
                };
                Action::List {
                    continue_token: continue_token.clone(),
                    // A continued list is pinned by its token; the version goes on page one only.
                    resource_version: (any_version && continue_token.is_none()).then(|| "0".to_owned()),
                    limit,
                }
            }
            Phase::StreamingInit { .. } => Action::Watch {
                resource_version: None,
                send_initial_events: true,
                timeout_seconds: self.config.watch_timeout_seconds,
            },
            Phase::Watching => Action::Watch {
                resource_version: self.resource_version.clone(),
                send_initial_events: false,
                timeout_seconds: self.config.watch_timeout_seconds,
            },
        };
        let id = RequestId(self.next_id);
        self.next_id += 1;
        self.request = RequestState::InFlight {
            id,
            opened: now,
            events: 0,
        };
        Some((id, action))
    }

    /// The next event for the user, or a failure to report (the watcher retries by itself).
    pub fn poll_event(&mut self) -> Option<Result<Event<K>, Failure>> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called (the end of a backoff).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.request {
            RequestState::Waiting { until } => Some(until),
            _ => None,
        }
    }

    /// Takes the current time; ends a backoff that is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let RequestState::Waiting { until } = self.request
            && now >= until
        {
            self.request = RequestState::Ready;
        }
    }

    fn check_current(&self, id: RequestId) -> Result<(), InputError> {
        match self.request {
            RequestState::InFlight { id: current, .. } if current == id => Ok(()),
            _ => Err(InputError::StaleRequest { id }),
        }
    }

    /// Takes one page of a list response.
    pub fn handle_list_page(
        &mut self,
        id: RequestId,
        page: ListPage<K>,
        _now: Instant,
    ) -> Result<(), InputError> {
        self.check_current(id)?;
        let Phase::Listing { init_emitted, .. } = self.phase else {
            return Err(InputError::UnexpectedResponse {
                id,
                expected: "watch stream",
            });
        };
        self.backoff.reset();
        if !init_emitted {
            self.events.push_back(Ok(Event::Init));
        }
        self.events
            .extend(page.items.into_iter().map(|item| Ok(Event::InitApply(item))));
        match page.continue_token.filter(|token| !token.is_empty()) {
            Some(token) => {
                self.phase = Phase::Listing {
                    continue_token: Some(token),
                    init_emitted: true,
                };
            }
            None => {
                self.events.push_back(Ok(Event::InitDone));
                self.resource_version = Some(page.resource_version);
                self.phase = Phase::Watching;
            }
        }
        self.request = RequestState::Ready;
        Ok(())
    }

    /// Takes one event of a watch stream.
    pub fn handle_watch_event(
        &mut self,
        id: RequestId,
        event: WatchEvent<K>,
        now: Instant,
    ) -> Result<(), InputError> {
        self.check_current(id)?;
        if matches!(self.phase, Phase::Listing { .. }) {
            return Err(InputError::UnexpectedResponse {
                id,
                expected: "list page",
            });
        }
        let event = match event {
            WatchEvent::Error(status) => {
                self.fail(Failure::Api(status), now);
                return Ok(());
            }
            event => event,
        };
        if let RequestState::InFlight { events, .. } = &mut self.request {
            *events += 1;
        }
        self.backoff.reset();
        match &mut self.phase {
            Phase::StreamingInit { init_emitted } => {
                if !*init_emitted {
                    *init_emitted = true;
                    self.events.push_back(Ok(Event::Init));
                }
                match event {
                    WatchEvent::Added(object) | WatchEvent::Modified(object) => {
                        self.events.push_back(Ok(Event::InitApply(object)));
                    }
                    // Not expected within the initial set; passed on so nothing is dropped.
                    WatchEvent::Deleted(object) => self.events.push_back(Ok(Event::Delete(object))),
                    WatchEvent::Bookmark(bookmark) => {
                        // Progress bookmarks inside the initial set carry no usable version.
                        if bookmark.is_initial_events_end() {
                            self.events.push_back(Ok(Event::InitDone));
                            self.resource_version = Some(bookmark.resource_version);
                            self.phase = Phase::Watching;
                        }
                    }
                    WatchEvent::Error(_) => {}
                }
            }
            Phase::Watching => match event {
                WatchEvent::Added(object) | WatchEvent::Modified(object) => {
                    self.track(&object);
                    self.events.push_back(Ok(Event::Apply(object)));
                }
                WatchEvent::Deleted(object) => {
                    self.track(&object);
                    self.events.push_back(Ok(Event::Delete(object)));
                }
                WatchEvent::Bookmark(bookmark) => {
                    self.resource_version = Some(bookmark.resource_version);
                }
                WatchEvent::Error(_) => {}
            },
            Phase::Listing { .. } => {}
        }
        Ok(())
    }

    fn track(&mut self, object: &K) {
        if let Some(version) = object.resource_version().filter(|v| !v.is_empty()) {
            self.resource_version = Some(version.to_owned());
        }
    }

    /// Takes the clean end of a watch stream (the server's timeout): the watcher resumes from
    /// the last resourceVersion without listing again.
    pub fn handle_stream_end(&mut self, id: RequestId, now: Instant) -> Result<(), InputError> {
        self.check_current(id)?;
        let RequestState::InFlight { opened, events, .. } = self.request else {
            return Err(InputError::StaleRequest { id });
        };
        match self.phase {
            Phase::Listing { .. } => Err(InputError::UnexpectedResponse {
                id,
                expected: "list page",
            }),
            Phase::StreamingInit { .. } => {
                self.fail(Failure::InitialEventsIncomplete, now);
                Ok(())
            }
            Phase::Watching => {
                if events == 0 && now.saturating_duration_since(opened) < self.config.min_watch_duration {
                    self.fail(Failure::WatchClosedEarly, now);
                } else {
                    self.request = RequestState::Ready;
                }
                Ok(())
            }
        }
    }

    /// Takes the failure of the request `id`: an HTTP error status or a transport error.
    pub fn handle_failure(
        &mut self,
        id: RequestId,
        failure: Failure,
        now: Instant,
    ) -> Result<(), InputError> {
        self.check_current(id)?;
        self.fail(failure, now);
        Ok(())
    }

    /// Ends the current request: relists at once on `410 Gone`, otherwise backs off and
    /// retries from where it was.
    fn fail(&mut self, failure: Failure, now: Instant) {
        let gone = matches!(&failure, Failure::Api(status) if status.is_gone());
        self.events.push_back(Err(failure));
        if gone {
            self.phase = self.initial_phase();
            self.request = RequestState::Ready;
            return;
        }
        if let Phase::StreamingInit { init_emitted } = &mut self.phase {
            // A partial initial stream cannot be resumed: the next attempt starts a new set.
            *init_emitted = false;
        }
        let delay = self.backoff.next_delay(self.random.next_u64());
        self.request = RequestState::Waiting {
            until: now.checked_add(delay).unwrap_or(now),
        };
    }
}
