//! Watches: the raw event stream of one watch request, and the watcher that keeps a consistent
//! view across reconnects, expiries, relists and dead connections. Every rule is
//! [`klient_proto::watch::WatchDriver`]'s; this file makes the requests it asks for, reads the
//! watch body on a thread of its own so that the driver's deadlines can fire, and keeps time.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Instant;

use bytes::Bytes;
use klient_proto::api::{Format, Resource, WatchParams};
use klient_proto::watch::{
    Action, DecodeError, Event, Failure, InputError, RequestFailure, RequestId, WatchDecoder, WatchDriver,
    WatchEvent, watcher,
};
use serde::de::DeserializeOwned;

use crate::api::ListReader;
use crate::client::{BodyStream, StreamCloser};
use crate::{Api, Client, Error, Result};

/// The events of one watch request as they arrive, in JSON or protobuf as the server chose.
/// Ends when the server ends the watch (its timeout); a dropped connection or a malformed stream
/// is an error.
pub struct WatchStream<K> {
    body: BodyStream,
    decoder: WatchDecoder<K>,
    failed: bool,
}

impl<K: Resource + DeserializeOwned> WatchStream<K> {
    fn new(body: BodyStream) -> Result<Self> {
        let decoder =
            WatchDecoder::for_resource(body.content_type()).map_err(|e| Error::Watch(Failure::Decode(e)))?;
        Ok(WatchStream {
            body,
            decoder,
            failed: false,
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
    pub fn closer(&self) -> Option<StreamCloser> {
        self.body.closer()
    }
}

impl<K: DeserializeOwned> Iterator for WatchStream<K> {
    type Item = Result<WatchEvent<K>>;

    /// The decoder's verdicts as they are: an event that does not decode is an error and the
    /// stream goes on; after a broken framing or connection the stream ends.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.decoder.poll_event() {
                Ok(Some(event)) => return Some(Ok(event)),
                Err(DecodeError::Event(e)) => return Some(Err(Error::Watch(Failure::UndecodableEvent(e)))),
                Err(e) => return Some(Err(Error::Watch(Failure::Decode(e)))),
                Ok(None) if self.failed || self.decoder.is_finished() => return None,
                Ok(None) => {}
            }
            match self.body.next_chunk() {
                Ok(Some(chunk)) => self.decoder.handle_bytes(&chunk),
                Ok(None) => self.decoder.handle_eof(),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

impl<K: Resource + DeserializeOwned> Api<K> {
    /// Starts one watch request. Prefer [`watcher()`] unless you track resourceVersions yourself.
    pub fn watch(&self, params: &WatchParams) -> Result<WatchStream<K>> {
        let body = self
            .client()
            .send_streaming(self.request_builder().watch(params)?)?;
        WatchStream::new(body)
    }
}

/// What to watch and how: kube-runtime's [`watcher::Config`] (selectors, `timeout`, list strategy
/// and semantic, page size, bookmarks), plus the backoff.
pub type WatchConfig = watcher::Config;

/// A watcher: `Init`, `InitApply`..., `InitDone`, then `Apply`/`Delete` for every change, forever,
/// across dropped connections, server restarts, expired resourceVersions (a relist starts again
/// at `Init`) and connections gone silent. Failures are yielded as errors and the watcher carries
/// on after a backoff.
///
/// ```no_run
/// use k8s_openapi::api::core::v1::Pod;
/// use klient_blocking::{Api, Client, watcher, WatchConfig};
/// use klient_proto::watch::Event;
///
/// let pods: Api<Pod> = Api::default_namespaced(Client::try_default()?);
/// for event in watcher(pods, WatchConfig::default().labels("app=web")) {
///     if let Ok(Event::Apply(pod)) = event {
///         println!("changed: {:?}", pod.metadata.name);
///     }
/// }
/// # Ok::<(), klient_blocking::Error>(())
/// ```
pub fn watcher<K>(api: Api<K>, config: WatchConfig) -> Watcher<K>
where
    K: Resource + DeserializeOwned,
{
    // The seed only spreads many clients' timeouts and retries apart; the time of day will do.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id());
    Watcher {
        driver: WatchDriver::new(config, seed),
        api,
        stream: None,
        listing: None,
    }
}

/// The iterator [`watcher()`] returns.
pub struct Watcher<K> {
    api: Api<K>,
    driver: WatchDriver<K>,
    stream: Option<OpenStream>,
    /// The list request in flight, read one object at a time: each goes out as an event before
    /// the next is decoded, so a page is never held whole.
    listing: Option<(RequestId, ListReader<K>)>,
}

/// The watch request in flight; its reader thread sends what arrives.
struct OpenStream {
    id: RequestId,
    pieces: Receiver<Piece>,
    closer: Option<Arc<StreamCloser>>,
}

/// What a reader thread saw of its watch request.
enum Piece {
    Head {
        content_type: Option<String>,
        closer: Option<Arc<StreamCloser>>,
    },
    Bytes(Bytes),
    End,
    Failed(RequestFailure),
}

/// Pieces a reader thread may read ahead of the watcher: bounds the memory a slow consumer costs.
const READ_AHEAD: usize = 16;

impl OpenStream {
    /// Sends `request` and reads its body on a thread of its own.
    fn start(id: RequestId, client: Client, request: http::Request<Vec<u8>>) -> Self {
        let (sender, pieces) = sync_channel(READ_AHEAD);
        std::thread::spawn(move || read_body(&client, request, &sender));
        OpenStream {
            id,
            pieces,
            closer: None,
        }
    }

    /// Lets the request go: closes its connection, which ends the reader thread's blocked read,
    /// unless the body already ended (its connection is back in the pool then, and stays open).
    fn abandon(self) {
        let mut closer = self.closer;
        let mut ended = false;
        for piece in self.pieces.try_iter() {
            match piece {
                Piece::Head { closer: head, .. } => closer = head,
                Piece::End | Piece::Failed(_) => ended = true,
                _ => {}
            }
        }
        if let Some(closer) = closer.filter(|_| !ended) {
            closer.close();
        }
    }
}

impl<K> Drop for Watcher<K> {
    fn drop(&mut self) {
        if let Some(stream) = self.stream.take() {
            stream.abandon();
        }
    }
}

/// The reader thread: it ends when the body does, or when nobody listens any more (a closed
/// connection ends a blocked read).
fn read_body(client: &Client, request: http::Request<Vec<u8>>, sender: &SyncSender<Piece>) {
    let mut body = match client.send_streaming(request) {
        Ok(body) => body,
        Err(e) => {
            let _ = sender.send(Piece::Failed(RequestFailure::from(e)));
            return;
        }
    };
    let head = Piece::Head {
        content_type: body.content_type().map(str::to_owned),
        closer: body.closer().map(Arc::new),
    };
    if sender.send(head).is_err() {
        return;
    }
    loop {
        let piece = match body.next_chunk() {
            Ok(Some(chunk)) => Piece::Bytes(chunk),
            Ok(None) => Piece::End,
            Err(e) => Piece::Failed(RequestFailure::from(e)),
        };
        let last = !matches!(piece, Piece::Bytes(_));
        if sender.send(piece).is_err() || last {
            return;
        }
    }
}

impl<K: Resource + DeserializeOwned> Watcher<K> {
    /// The resourceVersion the watcher has seen up to.
    pub fn resource_version(&self) -> Option<&str> {
        self.driver.resource_version()
    }

    /// A handle that ends the current watch request from another thread; the watcher then
    /// reconnects, so use it to test reconnection, not to stop (drop the watcher for that).
    pub fn closer(&self) -> Option<Arc<StreamCloser>> {
        self.stream.as_ref()?.closer.clone()
    }

    fn perform(&mut self, action: Action) {
        match action {
            Action::List { id, params } => match self.api.list_reader(&params) {
                Ok(reader) => self.listing = Some((id, reader)),
                Err(e) => log_input_error(self.driver.handle_failure(
                    id,
                    RequestFailure::from(e),
                    Instant::now(),
                )),
            },
            Action::Watch { id, params } => match self.api.request_builder().watch(&params) {
                Ok(request) => {
                    self.stream = Some(OpenStream::start(id, self.api.client().clone(), request));
                }
                Err(e) => {
                    let failure = RequestFailure::from(Error::from(e));
                    log_input_error(self.driver.handle_failure(id, failure, Instant::now()));
                }
            },
            Action::Abandon { id } => {
                if let Some(stream) = self.stream.take_if(|stream| stream.id == id) {
                    stream.abandon();
                }
            }
            other => log::error!("watcher: an action this adapter does not know: {other:?}"),
        }
    }

    /// Waits for the watch body or for `deadline`, whichever comes first, and hands the driver
    /// what arrived. `false` when there is nothing to wait for.
    fn wait(&mut self, deadline: Option<Instant>) -> bool {
        let Some(stream) = self.stream.as_mut() else {
            let Some(deadline) = deadline else {
                return false;
            };
            std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
            return true;
        };
        let piece = match deadline {
            Some(at) => stream
                .pieces
                .recv_timeout(at.saturating_duration_since(Instant::now())),
            None => stream.pieces.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let (id, now) = (stream.id, Instant::now());
        let outcome = match piece {
            Ok(Piece::Head { content_type, closer }) => {
                stream.closer = closer;
                self.driver
                    .handle_watch_response(id, content_type.as_deref(), now)
            }
            Ok(Piece::Bytes(bytes)) => self.driver.handle_watch_bytes(id, &bytes, now),
            Ok(Piece::End) => {
                self.stream = None;
                self.driver.handle_watch_end(id, now)
            }
            Ok(Piece::Failed(failure)) => {
                self.stream = None;
                self.driver.handle_failure(id, failure, now)
            }
            Err(RecvTimeoutError::Timeout) => Ok(()),
            Err(RecvTimeoutError::Disconnected) => {
                self.stream = None;
                let failure = RequestFailure::Transport {
                    description: "the watch's reader thread ended".into(),
                };
                self.driver.handle_failure(id, failure, now)
            }
        };
        log_input_error(outcome);
        true
    }
}

impl<K> Watcher<K>
where
    K: Resource + DeserializeOwned,
{
    /// Runs `change` on every object the events carry before they go on (client-go's
    /// `SetTransform`, kube's `modify`): strip what the program never reads, so that a store fed
    /// from here keeps less — e.g. `.modify(|pod| pod.strip_managed_fields())`
    /// ([`ResourceExt::strip_managed_fields`](klient_proto::api::ResourceExt::strip_managed_fields)).
    pub fn modify(self, mut change: impl FnMut(&mut K)) -> impl Iterator<Item = Result<Event<K>>> {
        self.map(move |event| {
            event.map(|mut event| {
                event.modify(&mut change);
                event
            })
        })
    }
}

impl<K> Iterator for Watcher<K>
where
    K: Resource + DeserializeOwned,
{
    type Item = Result<Event<K>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(event) = self.driver.poll_event() {
                return Some(event.map_err(Error::from));
            }
            let now = Instant::now();
            if self.driver.poll_timeout().is_some_and(|at| at <= now) {
                self.driver.handle_timeout(now);
                continue;
            }
            if let Some((id, reader)) = self.listing.as_mut() {
                let id = *id;
                let outcome = match reader.next_item() {
                    Ok(Some(object)) => self.driver.handle_list_item(id, object, Instant::now()),
                    Ok(None) => {
                        let metadata = reader.metadata.take().unwrap_or_default();
                        self.listing = None;
                        self.driver.handle_list_page(id, metadata.into(), Instant::now())
                    }
                    Err(e) => {
                        self.listing = None;
                        self.driver
                            .handle_failure(id, RequestFailure::from(e), Instant::now())
                    }
                };
                log_input_error(outcome);
                continue;
            }
            if let Some(action) = self.driver.poll_action(now) {
                self.perform(action);
                continue;
            }
            if !self.wait(self.driver.poll_timeout()) {
                // Nothing in flight and nothing scheduled cannot happen with a live driver; end
                // rather than spin.
                return None;
            }
        }
    }
}

/// This crate's error as the driver's typed input.
fn log_input_error(outcome: std::result::Result<(), InputError>) {
    if let Err(e) = outcome {
        // The driver refusing our own input is a bug in this loop, not in the server.
        log::error!("watcher: {e}");
    }
}
