//! The watch driver: the watcher machine, the decoder of the watch stream in flight and that
//! stream's stall deadline, joined into the one machine a runtime adapter drives.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use super::action::{Action, RequestId};
use super::decoder::WatchDecoder;
use super::failure::{Failure, RequestFailure};
use super::framing::{DEFAULT_MAX_EVENT_SIZE, DecodeError};
use super::watcher::{Config, Event, Expected, InputError, ListPage, MIN_WATCH_TIMEOUT_SECONDS, Watcher};
use crate::api::Resource;

/// How long past its `timeoutSeconds` a watch may stay open before the driver declares it dead.
///
/// The server ends a watch `timeoutSeconds` after it began serving it, so a healthy stream ends
/// a little after the client's own count: later by the request's latency and by however long a
/// loaded server or proxy takes to flush the end, which is seconds at worst. 30 s leaves room for
/// a slow connect and TLS handshake, so no healthy watch is ever cut, while a dead connection (no
/// FIN, no RST: a NAT that forgot it, a peer that vanished) costs at most 30 s more than the 5 to
/// 10 minutes of a watch.
pub const STALL_GRACE: Duration = Duration::from_secs(30);

/// The watch request in flight, from the driver's side.
#[derive(Debug)]
struct OpenWatch<K> {
    id: RequestId,
    timeout_seconds: u32,
    /// `timeoutSeconds` plus [`STALL_GRACE`] after the request was handed out.
    deadline: Instant,
    /// Chosen by the response's `Content-Type`; `None` until the response head arrives.
    decoder: Option<WatchDecoder<K>>,
}

/// A watcher an adapter can drive with nothing to decide: the [`Watcher`] machine, the
/// [`WatchDecoder`] of its watch stream, and a stall deadline on every watch.
///
/// The adapter's whole job:
/// 1. [`poll_action`](Self::poll_action) until `None`, doing what each [`Action`] says:
///    - `List`: send the list request; hand back the page with
///      [`handle_list_page`](Self::handle_list_page) or what went wrong with
///      [`handle_failure`](Self::handle_failure);
///    - `Watch`: send the watch request; hand back the response head with
///      [`handle_watch_response`](Self::handle_watch_response) (or the failure), then the body as it
///      arrives with [`handle_watch_bytes`](Self::handle_watch_bytes), and its end with
///      [`handle_watch_end`](Self::handle_watch_end) or a broken connection with
///      [`handle_failure`](Self::handle_failure);
///    - `Abandon`: close that request's connection and hand back nothing more of it.
/// 2. Deliver [`poll_event`](Self::poll_event) until `None`. Events and failures come out in the
///    order they happened: whatever a chunk of bytes held before a failure comes before the
///    failure.
/// 3. Wait for more body bytes, but no later than [`poll_timeout`](Self::poll_timeout); when it
///    is reached call [`handle_timeout`](Self::handle_timeout). Then back to 1.
///
/// What the driver decides: every watch carries a `timeoutSeconds` (random between 5 and 10
/// minutes unless [`Config::timeout`] sets one); a watch still open [`STALL_GRACE`] after it is
/// declared dead ([`Failure::Stalled`]), abandoned and resumed from the last resourceVersion after
/// a backoff; an event that does not decode into `K` is reported
/// ([`Failure::UndecodableEvent`]) and skipped while the stream goes on; a stream whose framing
/// breaks is abandoned ([`Failure::Decode`]) and resumed after a backoff; an expired
/// resourceVersion relists at once, any other failure backs off.
///
/// Inputs for a request the driver has let go (after an `Abandon`, or superseded) are dropped
/// silently: an adapter may still have had them in hand.
///
/// ```
/// use std::time::{Duration, Instant};
/// use klient_proto::api::{DynamicObject, ListMeta, ObjectList};
/// use klient_proto::watch::{Action, Event, WatchDriver, watcher};
///
/// let mut now = Instant::now();
/// let mut driver = WatchDriver::<DynamicObject>::new(watcher::Config::default(), 7);
/// let Some(Action::List { id, .. }) = driver.poll_action(now) else { panic!() };
/// let list = ObjectList { metadata: ListMeta { resource_version: Some("10".into()), ..ListMeta::default() }, items: vec![] };
/// driver.handle_list_page(id, list.into(), now).unwrap();
/// assert_eq!(driver.poll_event(), Some(Ok(Event::Init)));
/// assert_eq!(driver.poll_event(), Some(Ok(Event::InitDone)));
///
/// let Some(Action::Watch { id, params }) = driver.poll_action(now) else { panic!() };
/// assert_eq!(params.resource_version.as_deref(), Some("10"));
/// driver.handle_watch_response(id, Some("application/json"), now).unwrap();
/// driver.handle_watch_bytes(id, br#"{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"11"}}}"#, now).unwrap();
/// assert!(matches!(driver.poll_event(), Some(Ok(Event::Apply(_)))));
///
/// // The stream goes silent: past timeoutSeconds and the grace period, it is abandoned.
/// let deadline = driver.poll_timeout().unwrap();
/// assert_eq!(deadline, now + Duration::from_secs(params.timeout_seconds.unwrap().into()) + Duration::from_secs(30));
/// now = deadline;
/// driver.handle_timeout(now);
/// assert!(matches!(driver.poll_event(), Some(Err(_))));
/// assert_eq!(driver.poll_action(now), Some(Action::Abandon { id }));
/// ```
#[derive(Debug)]
pub struct WatchDriver<K> {
    watcher: Watcher<K>,
    watch: Option<OpenWatch<K>>,
    /// Requests to hand out as `Abandon`, before any new request.
    abandoned: VecDeque<RequestId>,
    events: VecDeque<Result<Event<K>, Failure>>,
    max_event_size: usize,
}

impl<K: Resource + DeserializeOwned> WatchDriver<K> {
    /// A driver that starts with the initial list; `seed` drives its random choices (watch
    /// timeouts, backoff jitter): give each watcher a different one.
    pub fn new(config: Config, seed: u64) -> Self {
        Self {
            watcher: Watcher::new(config, seed),
            watch: None,
            abandoned: VecDeque::new(),
            events: VecDeque::new(),
            max_event_size: DEFAULT_MAX_EVENT_SIZE,
        }
    }

    /// Sets the limit on one watch event's size for the watches that follow (the stream itself
    /// may be endless).
    #[must_use]
    pub fn with_max_event_size(mut self, max_event_size: usize) -> Self {
        self.max_event_size = max_event_size;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.watcher.config()
    }

    /// The watcher machine inside, for its state.
    pub fn watcher(&self) -> &Watcher<K> {
        &self.watcher
    }

    /// The resourceVersion the watch has reached.
    pub fn resource_version(&self) -> Option<&str> {
        self.watcher.resource_version()
    }

    /// The watch request whose stream the driver is reading, if any.
    pub fn watch_in_flight(&self) -> Option<RequestId> {
        self.watch.as_ref().map(|watch| watch.id)
    }

    /// What the adapter must do next: abandon a request, or make the next one.
    #[must_use]
    pub fn poll_action(&mut self, now: Instant) -> Option<Action> {
        if let Some(id) = self.abandoned.pop_front() {
            return Some(Action::Abandon { id });
        }
        let action = self.watcher.poll_action(now)?;
        // The watcher asks for a request only once the previous one is over, and `settle` lets
        // go of a watch as soon as the watcher does.
        debug_assert!(self.watch.is_none(), "a new request while a watch is open");
        if let Action::Watch { id, params } = &action {
            // The watcher always sets one; the fallback only keeps the deadline finite.
            let timeout_seconds = params.timeout_seconds.unwrap_or(MIN_WATCH_TIMEOUT_SECONDS);
            let open_for = Duration::from_secs(timeout_seconds.into()) + STALL_GRACE;
            self.watch = Some(OpenWatch {
                id: *id,
                timeout_seconds,
                deadline: now.checked_add(open_for).unwrap_or(now),
                decoder: None,
            });
        }
        Some(action)
    }

    /// The next event for the user, or a failure to report (the driver recovers by itself).
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Result<Event<K>, Failure>> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called: the end of a backoff, or the
    /// stall deadline of the watch in flight.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let stall = self.watch.as_ref().map(|watch| watch.deadline);
        match (self.watcher.poll_timeout(), stall) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Takes the current time: ends a backoff that is due, and declares a watch past its stall
    /// deadline dead.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.watcher.handle_timeout(now);
        let Some(watch) = self.watch.as_ref().filter(|watch| now >= watch.deadline) else {
            return;
        };
        let failure = Failure::Stalled {
            timeout_seconds: watch.timeout_seconds,
            grace: STALL_GRACE,
        };
        let id = watch.id;
        // The open watch is always the watcher's request in flight.
        let _ = self.watcher.handle_failure(id, failure, now);
        self.settle(false);
    }

    /// Takes one object of the list request `id` as soon as it is decoded (see
    /// [`Watcher::handle_list_item`]); the page then ends with
    /// [`handle_list_page`](Self::handle_list_page). Deliver [`poll_event`](Self::poll_event)
    /// after each, so that a page is never held whole.
    pub fn handle_list_item(&mut self, id: RequestId, item: K, now: Instant) -> Result<(), InputError> {
        if self.watch_in_flight() == Some(id) {
            return Err(InputError::UnexpectedResponse {
                id,
                expected: Expected::WatchStream,
            });
        }
        let result = self.watcher.handle_list_item(id, item, now);
        self.events
            .extend(std::iter::from_fn(|| self.watcher.poll_event()));
        drop_stale(result)
    }

    /// Takes one page of the list request `id`.
    pub fn handle_list_page(
        &mut self,
        id: RequestId,
        page: ListPage<K>,
        now: Instant,
    ) -> Result<(), InputError> {
        if self.watch_in_flight() == Some(id) {
            return Err(InputError::UnexpectedResponse {
                id,
                expected: Expected::WatchStream,
            });
        }
        let result = self.watcher.handle_list_page(id, page, now);
        self.settle(true);
        drop_stale(result)
    }

    /// Takes the head of the successful response to the watch request `id`: its `Content-Type`
    /// picks the stream's decoder (JSON, or protobuf when `K` has a codec).
    pub fn handle_watch_response(
        &mut self,
        id: RequestId,
        content_type: Option<&str>,
        now: Instant,
    ) -> Result<(), InputError> {
        let max_event_size = self.max_event_size;
        let watch = match self.watch.as_mut() {
            Some(watch) if watch.id == id => watch,
            _ => return self.not_a_watch(id),
        };
        if watch.decoder.is_some() {
            return Err(InputError::UnexpectedResponse {
                id,
                expected: Expected::WatchStream,
            });
        }
        match WatchDecoder::new(content_type, K::protobuf(), max_event_size) {
            Ok(decoder) => watch.decoder = Some(decoder),
            Err(error) => {
                let _ = self.watcher.handle_failure(id, Failure::Decode(error), now);
                self.settle(false);
            }
        }
        Ok(())
    }

    /// Takes bytes of the body of the watch request `id`, as they arrived.
    pub fn handle_watch_bytes(
        &mut self,
        id: RequestId,
        bytes: &[u8],
        now: Instant,
    ) -> Result<(), InputError> {
        match self.open_decoder(id)? {
            Some(decoder) => decoder.handle_bytes(bytes),
            None => return Ok(()),
        }
        self.drain(now, false);
        Ok(())
    }

    /// Takes the end of the body of the watch request `id` (the server's `timeoutSeconds`, or its
    /// choice): the watch resumes from the last resourceVersion.
    pub fn handle_watch_end(&mut self, id: RequestId, now: Instant) -> Result<(), InputError> {
        self.forget_abandon(id);
        match self.open_decoder(id)? {
            Some(decoder) => decoder.handle_eof(),
            None => return Ok(()),
        }
        self.drain(now, true);
        // Still current when nothing at the end failed: a clean end.
        if self.watch_in_flight() == Some(id) {
            let _ = self.watcher.handle_stream_end(id, now);
            self.settle(true);
        }
        Ok(())
    }

    /// Takes the failure of the request `id`, list or watch, at any point: refused, or its
    /// connection broken. Events already handed in with bytes stay delivered before the failure;
    /// a partly received event is lost with the connection and comes again on the next watch.
    pub fn handle_failure(
        &mut self,
        id: RequestId,
        failure: RequestFailure,
        now: Instant,
    ) -> Result<(), InputError> {
        self.forget_abandon(id);
        let result = self.watcher.handle_failure(id, failure.into(), now);
        self.settle(true);
        drop_stale(result)
    }

    /// The adapter says `id` is over: no need to ask it to abandon `id` any more.
    fn forget_abandon(&mut self, id: RequestId) {
        self.abandoned.retain(|abandoned| *abandoned != id);
    }

    /// The decoder of the open watch `id`; `None` when `id` was let go, and its input is dropped.
    fn open_decoder(&mut self, id: RequestId) -> Result<Option<&mut WatchDecoder<K>>, InputError> {
        if self.watch_in_flight() != Some(id) {
            return self.not_a_watch(id).map(|()| None);
        }
        match self.watch.as_mut().and_then(|watch| watch.decoder.as_mut()) {
            Some(decoder) => Ok(Some(decoder)),
            None => Err(InputError::UnexpectedResponse {
                id,
                expected: Expected::WatchResponse,
            }),
        }
    }

    /// Input for `id`, which has no open watch: a mistake when `id` is the list in flight,
    /// otherwise a leftover of a request already let go, dropped.
    fn not_a_watch(&self, id: RequestId) -> Result<(), InputError> {
        if self.watcher.request_in_flight() == Some(id) {
            return Err(InputError::UnexpectedResponse {
                id,
                expected: Expected::ListPage,
            });
        }
        Ok(())
    }

    /// Hands every event the decoder holds to the watcher, until it needs more bytes or the
    /// stream is let go. `ended`: the adapter already knows the request is over.
    fn drain(&mut self, now: Instant, ended: bool) {
        loop {
            let Some(OpenWatch {
                id,
                decoder: Some(decoder),
                ..
            }) = self.watch.as_mut()
            else {
                return;
            };
            let id = *id;
            match decoder.poll_event() {
                Ok(Some(event)) => {
                    let _ = self.watcher.handle_watch_event(id, event, now);
                }
                Ok(None) => return,
                // One event that does not fit K: say so and go on with the stream.
                Err(DecodeError::Event(error)) => {
                    self.events.push_back(Err(Failure::UndecodableEvent(error)));
                    continue;
                }
                Err(fatal) => {
                    let _ = self.watcher.handle_failure(id, Failure::Decode(fatal), now);
                }
            }
            self.settle(ended);
        }
    }

    /// Moves the watcher's events out in order, and lets go of the open watch once the watcher
    /// no longer wants it, asking the adapter to abandon it unless it is over already.
    fn settle(&mut self, ended: bool) {
        self.events
            .extend(std::iter::from_fn(|| self.watcher.poll_event()));
        if let Some(watch) = &self.watch
            && self.watcher.request_in_flight() != Some(watch.id)
        {
            if !ended {
                self.abandoned.push_back(watch.id);
            }
            self.watch = None;
        }
    }
}

/// Input for a request already let go is dropped: the adapter may have had it in hand.
fn drop_stale(result: Result<(), InputError>) -> Result<(), InputError> {
    match result {
        Err(InputError::StaleRequest { .. }) => Ok(()),
        other => other,
    }
}
