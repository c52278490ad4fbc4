//! The watch protocol.
//!
//! - [`EventDecoder`](crate::watch::EventDecoder) splits a JSON watch stream into
//!   [`WatchEvent`](crate::watch::WatchEvent)s, however it is sliced;
//!   [`ProtobufEventDecoder`](crate::watch::ProtobufEventDecoder) does the same for a protobuf
//!   stream, and [`WatchDecoder`](crate::watch::WatchDecoder) picks one by the response's
//!   `Content-Type`.
//! - [`Watcher`](crate::watch::Watcher) is a sans-IO state machine for kube-runtime's watcher
//!   (client-go's reflector): it says which list or watch request to make next, takes the
//!   decoded responses, and yields [`Event`](crate::watch::Event)s (`Init`, `InitApply`,
//!   `InitDone`, `Apply`, `Delete`), retrying with a [`Backoff`](crate::watch::Backoff). It is
//!   configured with a [`watcher::Config`](crate::watch::watcher::Config), as in kube-runtime.
//! - [`WatchDriver`](crate::watch::WatchDriver) joins the watcher, the stream decoder and a stall
//!   deadline on every watch: what a runtime adapter drives, with nothing left to decide.
//! - [`Store`](crate::watch::Store) is a cache kept exactly in sync by applying those events;
//!   [`CompactStore`](crate::watch::CompactStore) is the same cache keeping each object as its
//!   JSON, for a sixth of the memory and a decode per read.
//!
//! Objects are any [`Resource`](crate::api::Resource): the watcher reads their resourceVersion,
//! the store their namespace and name. Server errors are the API's own
//! [`ApiError`](crate::api::ApiError).

mod action;
mod backoff;
mod compact_store;
mod config;
mod decoder;
mod driver;
mod event;
mod failure;
mod framing;
mod key;
mod protobuf;
mod reflection;
mod store;
mod stream_buffer;
pub mod watcher;

#[cfg(test)]
mod driver_tests;
#[cfg(test)]
mod tests;

pub use action::{Action, RequestId};
pub use backoff::{Backoff, BackoffConfig};
pub use compact_store::{CompactStore, CompactStoreError, Encoded};
pub use decoder::WatchDecoder;
pub use driver::{STALL_GRACE, WatchDriver};
pub use event::{Bookmark, EventError, EventType, INITIAL_EVENTS_END_ANNOTATION, WatchEvent, decode_event};
pub use failure::{Failure, RequestFailure};
pub use framing::{DEFAULT_MAX_EVENT_SIZE, DecodeError, EventDecoder};
pub use key::ObjectKey;
pub use protobuf::{ProtobufEventDecoder, decode_event_frame};
pub use store::Store;
pub use watcher::{
    Event, Expected, InitialListStrategy, InputError, ListPage, ListSemantic, MIN_WATCH_TIMEOUT_SECONDS,
    Watcher,
};
