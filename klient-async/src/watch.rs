//! Watches: the raw event stream of one watch request, and the watcher that keeps a consistent
//! view across reconnects, expiries, relists and dead connections. Every rule is
//! [`klient_proto::watch::WatchDriver`]'s; this file makes the requests it asks for, reads the
//! watch body while the driver's deadlines run, and keeps time.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use klient_proto::api::{Resource, WatchParams};
use klient_proto::watch::{
    Action, DecodeError, Event, Failure, InputError, RequestFailure, RequestId, WatchDecoder, WatchDriver,
    WatchEvent, watcher as machine,
};
use serde::de::DeserializeOwned;

use crate::api::ListReader;
use crate::io::{Elapsed, until};
use crate::runtime::{BoxFuture, Runtime};
use crate::{Api, BodyStream, Error, Result};

/// The events of one watch request, as the server sends them: a [`Stream`] of
/// [`WatchEvent`]s that ends when the server ends the watch (its `timeoutSeconds`). It does not
/// reconnect; [`watcher`] does.
pub struct WatchStream<K> {
    content_type: Option<String>,
    format: klient_proto::api::Format,
    events: BoxStream<'static, Result<WatchEvent<K>>>,
}

impl<K> std::fmt::Debug for WatchStream<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchStream")
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

impl<K: Resource + DeserializeOwned + Send + 'static> WatchStream<K> {
    fn new(body: BodyStream) -> Result<Self> {
        let content_type = body.content_type().map(str::to_owned);
        let decoder = WatchDecoder::<K>::for_resource(body.content_type())
            .map_err(|e| Error::Watch(Failure::Decode(e)))?;
        let format = decoder.format();
        let events = stream::unfold(Some((body, decoder)), |state| async move {
            let (mut body, mut decoder) = state?;
            loop {
                match decoder.poll_event() {
                    Ok(Some(event)) => return Some((Ok(event), Some((body, decoder)))),
                    Err(DecodeError::Event(e)) => {
                        return Some((
                            Err(Error::Watch(Failure::UndecodableEvent(e))),
                            Some((body, decoder)),
                        ));
                    }
                    Err(e) => return Some((Err(Error::Watch(Failure::Decode(e))), None)),
                    Ok(None) if decoder.is_finished() => return None,
                    Ok(None) => {}
                }
                match body.next().await {
                    Some(Ok(chunk)) => decoder.handle_bytes(&chunk),
                    None => decoder.handle_eof(),
                    Some(Err(e)) => return Some((Err(e), None)),
                }
            }
        });
        Ok(WatchStream {
            content_type,
            format,
            events: Box::pin(events),
        })
    }
}

impl<K> WatchStream<K> {
    /// The response's `Content-Type`: which format the events come in.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The format the events are decoded from (the server's choice, from what the request
    /// accepted).
    pub fn format(&self) -> klient_proto::api::Format {
        self.format
    }
}

impl<K> Stream for WatchStream<K> {
    type Item = Result<WatchEvent<K>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.as_mut().poll_next(cx)
    }
}

impl<K: Resource + DeserializeOwned + Send + 'static, R: Runtime> Api<K, R> {
    /// Starts one watch request (`params` says from which resourceVersion, with bookmarks or
    /// not) and returns its events as they come.
    pub async fn watch(&self, params: &WatchParams) -> Result<WatchStream<K>> {
        let body = self
            .client()
            .send_streaming(self.request_builder().watch(params)?)
            .await?;
        WatchStream::new(body)
    }
}

/// How a [`watcher`] lists, watches and backs off: kube-runtime's `watcher::Config`.
pub type WatchConfig = machine::Config;

/// A watch that never ends on its own: it lists (or streams the initial list), watches from
/// there, and on every expiry, 410, dead connection or stall starts again as the driver says,
/// yielding kube-runtime's [`Event`]s (`Init`, `InitApply`, `InitDone`, `Apply`, `Delete`).
/// Errors are yielded and the watcher goes on after its backoff; dropping the stream stops it
/// and closes its connection.
pub fn watcher<K, R>(api: Api<K, R>, config: WatchConfig) -> impl Stream<Item = Result<Event<K>>> + Send
where
    K: Resource + DeserializeOwned + Clone + Send + Sync + 'static,
    R: Runtime,
{
    // The seed only spreads many clients' timeouts and retries apart; the time of day will do.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id());
    let state = Watcher {
        driver: WatchDriver::new(config, seed),
        api,
        stream: None,
        listing: None,
    };
    Box::pin(stream::unfold(state, |mut state| async move {
        let event = state.next_event().await?;
        Some((event, state))
    }))
}

/// The watcher's state between events.
struct Watcher<K, R: Runtime> {
    api: Api<K, R>,
    driver: WatchDriver<K>,
    stream: Option<OpenStream>,
    /// The list request in flight, read one object at a time: each goes out as an event before
    /// the next is decoded, so a page is never held whole.
    listing: Option<(RequestId, ListReader<K>)>,
}

/// The watch request in flight: being answered, or its body being read.
enum OpenStream {
    Connecting(RequestId, BoxFuture<Result<BodyStream>>),
    Reading(RequestId, BodyStream),
}

/// What came of waiting on the watch request.
enum Piece {
    Head(Option<String>),
    Bytes(Bytes),
    End,
    Failed(RequestFailure),
}

impl OpenStream {
    fn id(&self) -> RequestId {
        match self {
            OpenStream::Connecting(id, _) | OpenStream::Reading(id, _) => *id,
        }
    }

    /// The next thing that happens on the request. Cancel-safe: the request's future and the
    /// body are kept here, so a deadline that interrupts the wait loses nothing.
    async fn next_piece(&mut self) -> Piece {
        match self {
            OpenStream::Connecting(id, connecting) => match connecting.as_mut().await {
                Ok(body) => {
                    let content_type = body.content_type().map(str::to_owned);
                    *self = OpenStream::Reading(*id, body);
                    Piece::Head(content_type)
                }
                Err(e) => Piece::Failed(RequestFailure::from(e)),
            },
            OpenStream::Reading(_, body) => match body.next().await {
                Some(Ok(bytes)) => Piece::Bytes(bytes),
                Some(Err(e)) => Piece::Failed(RequestFailure::from(e)),
                None => Piece::End,
            },
        }
    }
}

impl<K, R> Watcher<K, R>
where
    K: Resource + DeserializeOwned + Clone + Send + Sync + 'static,
    R: Runtime,
{
    async fn next_event(&mut self) -> Option<Result<Event<K>>> {
        loop {
            if let Some(event) = self.driver.poll_event() {
                return Some(event.map_err(Error::from));
            }
            let now = Instant::now();
            if self.driver.poll_timeout().is_some_and(|at| at <= now) {
                self.driver.handle_timeout(now);
                continue;
            }
            // Cancel-safe: the reader stays here while an item is awaited.
            if let Some((id, reader)) = self.listing.as_mut() {
                let id = *id;
                let outcome = match reader.next_item().await {
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
                self.perform(action).await;
                continue;
            }
            let deadline = self.driver.poll_timeout();
            let runtime = self.api.client().runtime().clone();
            let Some(stream) = self.stream.as_mut() else {
                // Nothing in flight and nothing scheduled cannot happen with a live driver; end
                // rather than spin.
                runtime.sleep_until(deadline?).await;
                continue;
            };
            let id = stream.id();
            let piece = match until(&runtime, deadline, stream.next_piece()).await {
                Ok(piece) => piece,
                Err(Elapsed) => continue,
            };
            let now = Instant::now();
            let outcome = match piece {
                Piece::Head(content_type) => {
                    self.driver
                        .handle_watch_response(id, content_type.as_deref(), now)
                }
                Piece::Bytes(bytes) => self.driver.handle_watch_bytes(id, &bytes, now),
                Piece::End => {
                    self.stream = None;
                    self.driver.handle_watch_end(id, now)
                }
                Piece::Failed(failure) => {
                    self.stream = None;
                    self.driver.handle_failure(id, failure, now)
                }
            };
            log_input_error(outcome);
        }
    }

    async fn perform(&mut self, action: Action) {
        match action {
            Action::List { id, params } => match self.api.list_reader(&params).await {
                Ok(reader) => self.listing = Some((id, reader)),
                Err(e) => log_input_error(self.driver.handle_failure(
                    id,
                    RequestFailure::from(e),
                    Instant::now(),
                )),
            },
            Action::Watch { id, params } => match self.api.request_builder().watch(&params) {
                Ok(request) => {
                    let client = self.api.client().clone();
                    let connecting = Box::pin(async move { client.send_streaming(request).await });
                    self.stream = Some(OpenStream::Connecting(id, connecting));
                }
                Err(e) => {
                    let failure = RequestFailure::from(Error::from(e));
                    log_input_error(self.driver.handle_failure(id, failure, Instant::now()));
                }
            },
            // Dropping the request closes its connection.
            Action::Abandon { id } => drop(self.stream.take_if(|stream| stream.id() == id)),
            other => log::error!("watcher: an action this adapter does not know: {other:?}"),
        }
    }
}

fn log_input_error(outcome: std::result::Result<(), InputError>) {
    if let Err(e) = outcome {
        // The driver refusing our own input is a bug in this loop, not in the server.
        log::error!("watcher: {e}");
    }
}
