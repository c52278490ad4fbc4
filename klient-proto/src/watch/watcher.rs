//! The watcher (kube-runtime's `watcher` module, client-go's reflector): list (or stream the
//! initial set), then watch, and recover from every way a watch can end without losing or
//! repeating an event. Its configuration and events use kube-runtime's names.

pub use super::config::{Config, InitialListStrategy, ListSemantic};

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use super::action::{Action, RequestId};
use super::backoff::{Backoff, SplitMix64};
use super::event::WatchEvent;
use super::failure::Failure;
use crate::api::{ListMeta, ListParams, ObjectList, Resource, WatchParams};

/// With no [`Config::timeout`], each watch asks the server to end it after a random time between
/// this many seconds and twice as many, as client-go's reflector does (5 to 10 minutes).
pub const MIN_WATCH_TIMEOUT_SECONDS: u32 = 300;

/// A watch that ends cleanly sooner than this without a single event counts as a failure, so that
/// a server closing watches at once does not make the watcher spin (client-go's "very short
/// watch").
const MIN_WATCH_DURATION: Duration = Duration::from_secs(1);

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

/// The end of a page whose items were handed over one by one
/// ([`Watcher::handle_list_item`]): no items, the list's metadata.
impl<K> From<ListMeta> for ListPage<K> {
    fn from(metadata: ListMeta) -> Self {
        ObjectList {
            metadata,
            items: Vec::new(),
        }
        .into()
    }
}

impl<K> From<ObjectList<K>> for ListPage<K> {
    fn from(list: ObjectList<K>) -> Self {
        ListPage {
            continue_token: list.next_page().map(str::to_owned),
            resource_version: list.metadata.resource_version.unwrap_or_default(),
            items: list.items,
        }
    }
}

/// What the watcher tells its user (kube-runtime's `watcher::Event`).
///
/// `Init`, then `InitApply` for every object of the initial set, then `InitDone`, then `Apply`
/// and `Delete` as changes arrive. After a relist the sequence starts again from `Init`: a
/// store replaces its whole content at `InitDone`, which removes objects that vanished while
/// the watcher could not see them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
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

impl<K> Event<K> {
    /// Runs `change` on the event's object, if it carries one: a watcher's transform (client-go's
    /// `SetTransform`, kube's `modify`), applied before a store keeps the object, e.g.
    /// [`ResourceExt::strip_managed_fields`](crate::api::ResourceExt::strip_managed_fields).
    ///
    /// ```
    /// use klient_proto::api::{ApiResource, DynamicObject, ResourceExt, Scope};
    /// use klient_proto::watch::Event;
    ///
    /// let tabs = ApiResource::new("stable.example.com", "v1", "CronTab", "crontabs", Scope::Cluster);
    /// let mut event = Event::Apply(DynamicObject::new("a", &tabs));
    /// event.modify(|tab| tab.metadata.labels = Some([("seen".into(), "yes".into())].into()));
    /// let Event::Apply(tab) = event else { unreachable!() };
    /// assert_eq!(tab.labels()["seen"], "yes");
    /// ```
    pub fn modify(&mut self, change: impl FnOnce(&mut K)) {
        match self {
            Event::InitApply(object) | Event::Apply(object) | Event::Delete(object) => change(object),
            Event::Init | Event::InitDone => {}
        }
    }
}

/// What a request's input should have been, in an [`InputError::UnexpectedResponse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expected {
    /// A page of a list response.
    ListPage,
    /// The events (or end) of a watch stream.
    WatchStream,
    /// The head of the watch response, before its body.
    WatchResponse,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::ListPage => "a list page",
            Expected::WatchStream => "a watch stream",
            Expected::WatchResponse => "the watch response's head first",
        })
    }
}

/// Input the watcher could not accept: a mistake of the caller, never of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
        expected: Expected,
    },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StaleRequest { id } => write!(f, "request {} is no longer current", id.0),
            Self::UnexpectedResponse { id, expected } => {
                write!(f, "request {} expects {expected}", id.0)
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
/// Drive it like this (or let a [`WatchDriver`](super::WatchDriver) do it, with the stream
/// decoder and the stall deadline):
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
/// use klient_proto::api::{ApiResource, DynamicObject, Scope};
/// use klient_proto::watch::{Action, Event, ListPage, WatchEvent, Watcher, watcher};
///
/// let crontabs = ApiResource::new("stable.example.com", "v1", "CronTab", "crontabs", Scope::Cluster);
/// let tab = |name: &str, rv: &str| {
///     let mut tab = DynamicObject::new(name, &crontabs);
///     tab.metadata.resource_version = Some(rv.into());
///     tab
/// };
///
/// let now = Instant::now();
/// let mut watcher = Watcher::<DynamicObject>::new(watcher::Config::default(), 42);
/// let Some(Action::List { id: list, .. }) = watcher.poll_action(now) else { panic!() };
/// let page = ListPage { items: vec![tab("a", "5")], resource_version: "7".into(), continue_token: None };
/// watcher.handle_list_page(list, page, now).unwrap();
/// assert_eq!(watcher.poll_event(), Some(Ok(Event::Init)));
/// assert_eq!(watcher.poll_event(), Some(Ok(Event::InitApply(tab("a", "5")))));
/// assert_eq!(watcher.poll_event(), Some(Ok(Event::InitDone)));
///
/// let Some(Action::Watch { id: watch, params }) = watcher.poll_action(now) else { panic!() };
/// assert_eq!(params.resource_version.as_deref(), Some("7"));
/// // Between 5 and 10 minutes, picked for each request.
/// assert!((300..600).contains(&params.timeout_seconds.unwrap()));
/// watcher.handle_watch_event(watch, WatchEvent::Added(tab("b", "8")), now).unwrap();
/// assert_eq!(watcher.poll_event(), Some(Ok(Event::Apply(tab("b", "8")))));
/// assert_eq!(watcher.resource_version(), Some("8"));
/// ```
#[derive(Debug)]
pub struct Watcher<K> {
    config: Config,
    phase: Phase,
    request: RequestState,
    resource_version: Option<String>,
    next_id: u64,
    backoff: Backoff,
    random: SplitMix64,
    events: VecDeque<Result<Event<K>, Failure>>,
}

impl<K: Resource> Watcher<K> {
    /// A watcher that will start with the initial list; `seed` drives the random choices (backoff
    /// jitter, watch timeouts).
    pub fn new(config: Config, seed: u64) -> Self {
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
    pub fn config(&self) -> &Config {
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
        match self.config.initial_list_strategy {
            InitialListStrategy::ListWatch => Phase::Listing {
                continue_token: None,
                init_emitted: false,
            },
            InitialListStrategy::StreamingList => Phase::StreamingInit { init_emitted: false },
        }
    }

    fn list_params(&self, continue_token: Option<String>) -> ListParams {
        let any = self.config.list_semantic == ListSemantic::Any;
        ListParams {
            label_selector: self.config.label_selector.clone(),
            field_selector: self.config.field_selector.clone(),
            limit: self.config.page_size,
            // A continued list is pinned by its token; the version goes on page one only.
            resource_version: (any && continue_token.is_none()).then(|| "0".to_owned()),
            continue_token,
            ..ListParams::default()
        }
    }

    fn watch_params(&mut self, initial_events: bool) -> WatchParams {
        let timeout_seconds = match self.config.timeout {
            Some(seconds) => seconds,
            None => {
                let spread = self.random.next_u64() % u64::from(MIN_WATCH_TIMEOUT_SECONDS);
                MIN_WATCH_TIMEOUT_SECONDS + spread as u32
            }
        };
        WatchParams {
            label_selector: self.config.label_selector.clone(),
            field_selector: self.config.field_selector.clone(),
            // A streaming list starts from a consistent snapshot of "now".
            resource_version: if initial_events {
                None
            } else {
                self.resource_version.clone()
            },
            // The initial set ends with a bookmark, so a streaming list cannot do without.
            allow_watch_bookmarks: initial_events || self.config.bookmarks,
            send_initial_events: initial_events,
            timeout_seconds: Some(timeout_seconds),
        }
    }

    /// The request to make next, if one is due. The adapter drops any earlier request.
    #[must_use]
    pub fn poll_action(&mut self, now: Instant) -> Option<Action> {
        if !matches!(self.request, RequestState::Ready) {
            return None;
        }
        let id = RequestId(self.next_id);
        let action = if let Phase::Listing { continue_token, .. } = &self.phase {
            let params = self.list_params(continue_token.clone());
            Action::List { id, params }
        } else {
            let initial_events = matches!(self.phase, Phase::StreamingInit { .. });
            let params = self.watch_params(initial_events);
            Action::Watch { id, params }
        };
        self.next_id += 1;
        self.request = RequestState::InFlight {
            id,
            opened: now,
            events: 0,
        };
        Some(action)
    }

    /// The next event for the user, or a failure to report (the watcher retries by itself).
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Result<Event<K>, Failure>> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called (the end of a backoff).
    #[must_use]
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

    /// Takes one object of the list response `id` as soon as it is decoded, before the rest of
    /// its page: an adapter that reads the page item by item hands each over here, delivers the
    /// event, and then ends the page with [`handle_list_page`](Self::handle_list_page) (its
    /// `items` empty, or holding what is left), so that the page is never held whole.
    pub fn handle_list_item(&mut self, id: RequestId, item: K, _now: Instant) -> Result<(), InputError> {
        self.check_current(id)?;
        let Phase::Listing { init_emitted, .. } = &mut self.phase else {
            return Err(InputError::UnexpectedResponse {
                id,
                expected: Expected::WatchStream,
            });
        };
        if !*init_emitted {
            *init_emitted = true;
            self.events.push_back(Ok(Event::Init));
        }
        self.events.push_back(Ok(Event::InitApply(item)));
        Ok(())
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
                expected: Expected::WatchStream,
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
                expected: Expected::ListPage,
            });
        }
        let event = match event {
            WatchEvent::Error(error) => {
                self.fail(Failure::Api(Box::new(error)), now);
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
                expected: Expected::ListPage,
            }),
            Phase::StreamingInit { .. } => {
                self.fail(Failure::InitialEventsIncomplete, now);
                Ok(())
            }
            Phase::Watching => {
                if events == 0 && now.saturating_duration_since(opened) < MIN_WATCH_DURATION {
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

    /// Ends the current request: relists at once when the resourceVersion expired, otherwise
    /// backs off and retries from where it was.
    fn fail(&mut self, failure: Failure, now: Instant) {
        let expired = failure.is_expired();
        self.events.push_back(Err(failure));
        if expired {
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
