//! Watches: the raw event stream of one watch request, and the watcher that keeps a consistent
//! view across reconnects, expiries and relists. The protocol is [`klient_proto::watch`]; this
//! file feeds it bytes and the clock.

use std::time::Instant;

use klient_proto::api::{Format, ListParams, Resource, WatchParams};
use klient_proto::watch::{
    Action, DecodeError, Event, Failure, ListPage, RequestId, Status, WatchDecoder, WatchEvent, WatchObject,
    Watcher as WatcherMachine, WatcherConfig,
};
use serde::de::DeserializeOwned;

use crate::client::BodyStream;
use crate::{Api, Error, Result};

/// The events of one watch request as they arrive, in JSON or protobuf as the server chose.
/// Ends when the server ends the watch (its timeout); a dropped connection or a malformed stream
/// is an error.
pub struct WatchStream<K> {
    body: BodyStream,
    decoder: WatchDecoder<K>,
    finished: bool,
}

impl<K: Resource + DeserializeOwned> WatchStream<K> {
    fn new(body: BodyStream) -> Result<Self> {
        let decoder =
            WatchDecoder::for_resource(body.content_type()).map_err(|e| Error::Stream(e.to_string()))?;
        Ok(WatchStream {
            body,
            decoder,
            finished: false,
        })
    }

    /// The format the server chose for the stream.
    pub fn format(&self) -> Format {
        self.decoder.format()
    }

    /// The stream's `Content-Type` as the server sent it
    /// (`application/vnd.kubernetes.protobuf;stream=watch` for protobuf).
    pub fn content_type(&self) -> Option<&str> {
        self.body.content_type()
    }

    /// A handle that ends the watch from another thread (the blocked `next` returns).
    pub fn closer(&self) -> Option<crate::client::StreamCloser> {
        self.body.closer()
    }
}

impl<K: DeserializeOwned> Iterator for WatchStream<K> {
    type Item = Result<WatchEvent<K>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.decoder.poll_event() {
                Ok(Some(event)) => return Some(Ok(event)),
                // One event the stream framed but that does not decode into K: reported, and the
                // stream goes on (nothing is dropped silently).
                Err(e @ DecodeError::Event(_)) => return Some(Err(Error::Stream(e.to_string()))),
                Err(e) => {
                    self.finished = true;
                    return Some(Err(Error::Stream(e.to_string())));
                }
                Ok(None) if self.finished || self.decoder.is_finished() => return None,
                Ok(None) => {}
            }
            match self.body.next_chunk() {
                Ok(Some(chunk)) => self.decoder.handle_bytes(&chunk),
                Ok(None) => self.decoder.handle_eof(),
                Err(e) => {
                    self.finished = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

impl<K: Resource + DeserializeOwned> Api<K> {
    /// Starts one watch request. Prefer [`watcher`] unless you track resourceVersions yourself.
    pub fn watch(&self, params: &WatchParams) -> Result<WatchStream<K>> {
        let body = self
            .client()
            .send_streaming(self.request_builder().watch(params)?)?;
        WatchStream::new(body)
    }
}

/// What to watch and how to start: selectors plus the protocol machine's settings.
#[derive(Debug, Clone, Default)]
pub struct WatchConfig {
    /// Only objects whose labels match.
    pub label_selector: Option<String>,
    /// Only objects whose fields match.
    pub field_selector: Option<String>,
    /// List-then-watch (default) or streaming list, page size, backoff.
    pub machine: WatcherConfig,
}

/// A watcher: `Init`, `InitApply`..., `InitDone`, then `Apply`/`Delete` for every change, forever,
/// across dropped connections, server restarts and expired resourceVersions (a relist starts again
/// at `Init`). Failures are yielded as errors and the watcher carries on after a backoff.
///
/// ```no_run
/// use k8s_openapi::api::core::v1::Pod;
/// use klient_blocking::{Api, Client, watcher, WatchConfig};
/// use klient_proto::watch::Event;
///
/// let pods: Api<Pod> = Api::default_namespaced(Client::try_default()?);
/// for event in watcher(pods, WatchConfig::default()) {
///     if let Ok(Event::Apply(pod)) = event {
///         println!("changed: {:?}", pod.metadata.name);
///     }
/// }
/// # Ok::<(), klient_blocking::Error>(())
/// ```
pub fn watcher<K>(api: Api<K>, config: WatchConfig) -> Watcher<K>
where
    K: Resource + WatchObject + DeserializeOwned + Clone,
{
    // The jitter seed only spreads reconnects of many clients apart; the time of day will do.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id());
    Watcher {
        machine: WatcherMachine::new(config.machine.clone(), seed),
        api,
        label_selector: config.label_selector,
        field_selector: config.field_selector,
        stream: None,
    }
}

/// The iterator [`watcher`] returns.
pub struct Watcher<K> {
    api: Api<K>,
    machine: WatcherMachine<K>,
    label_selector: Option<String>,
    field_selector: Option<String>,
    stream: Option<(RequestId, WatchStream<K>)>,
}

impl<K: WatchObject> Watcher<K> {
    /// The resourceVersion the watcher has seen up to.
    pub fn resource_version(&self) -> Option<&str> {
        self.machine.resource_version()
    }

    /// A handle that ends the current watch request from another thread; the watcher then
    /// reconnects, so use it to test reconnection, not to stop (drop the watcher for that).
    pub fn closer(&self) -> Option<crate::client::StreamCloser>
    where
        K: Resource + DeserializeOwned,
    {
        self.stream.as_ref().and_then(|(_, s)| s.closer())
    }
}

impl<K> Watcher<K>
where
    K: Resource + WatchObject + DeserializeOwned + Clone,
{
    fn perform(&mut self, id: RequestId, action: Action, now: Instant) {
        match action {
            Action::List {
                continue_token,
                resource_version,
                limit,
            } => {
                let params = ListParams {
                    label_selector: self.label_selector.clone(),
                    field_selector: self.field_selector.clone(),
                    limit,
                    continue_token,
                    resource_version,
                    ..ListParams::default()
                };
                let outcome = match self.api.list(&params) {
                    Ok(list) => {
                        let page = ListPage {
                            continue_token: list.next_page().map(str::to_owned),
                            resource_version: list.metadata.resource_version.clone().unwrap_or_default(),
                            items: list.items,
                        };
                        self.machine.handle_list_page(id, page, now)
                    }
                    Err(e) => self.machine.handle_failure(id, failure(&e), now),
                };
                log_input_error(outcome);
            }
            Action::Watch {
                resource_version,
                send_initial_events,
                timeout_seconds,
            } => {
                let params = WatchParams {
                    label_selector: self.label_selector.clone(),
                    field_selector: self.field_selector.clone(),
                    resource_version,
                    allow_watch_bookmarks: true,
                    send_initial_events,
                    timeout_seconds,
                };
                match self.api.watch(&params) {
                    Ok(stream) => self.stream = Some((id, stream)),
                    Err(e) => log_input_error(self.machine.handle_failure(id, failure(&e), now)),
                }
            }
        }
    }
}

impl<K> Iterator for Watcher<K>
where
    K: Resource + WatchObject + DeserializeOwned + Clone,
{
    type Item = Result<Event<K>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(event) = self.machine.poll_event() {
                return Some(event.map_err(|f| Error::Stream(format!("watch: {f}"))));
            }
            let now = Instant::now();
            if self.machine.poll_timeout().is_some_and(|at| at <= now) {
                self.machine.handle_timeout(now);
                continue;
            }
            if let Some((id, action)) = self.machine.poll_action(now) {
                self.stream = None;
                self.perform(id, action, now);
                continue;
            }
            if let Some((id, stream)) = self.stream.as_mut() {
                let id = *id;
                let next = stream.next();
                let now = Instant::now();
                let outcome = match next {
                    Some(Ok(event)) => self.machine.handle_watch_event(id, event, now),
                    Some(Err(Error::Stream(e))) if !stream.finished => {
                        // One undecodable event: say so, keep the stream.
                        log::warn!("watch event skipped: {e}");
                        Ok(())
                    }
                    Some(Err(e)) => {
                        self.stream = None;
                        self.machine.handle_failure(id, failure(&e), now)
                    }
                    None => {
                        self.stream = None;
                        self.machine.handle_stream_end(id, now)
                    }
                };
                log_input_error(outcome);
                continue;
            }
            match self.machine.poll_timeout() {
                Some(at) => std::thread::sleep(at.saturating_duration_since(now)),
                // Nothing in flight and nothing scheduled cannot happen with a live machine; end
                // rather than spin.
                None => return None,
            }
        }
    }
}

fn failure(error: &Error) -> Failure {
    match error {
        Error::Api(api) => Failure::Api(Status {
            code: api.code,
            reason: api.reason.to_string(),
            message: api.message.clone(),
        }),
        other => Failure::Transport {
            description: other.to_string(),
        },
    }
}

fn log_input_error<E: std::fmt::Display>(outcome: std::result::Result<(), E>) {
    if let Err(e) = outcome {
        // The machine refusing our own input is a bug in this driver, not in the server.
        log::error!("watcher driver: {e}");
    }
}
