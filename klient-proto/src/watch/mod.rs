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
//!   `InitDone`, `Apply`, `Delete`), retrying with a [`Backoff`](crate::watch::Backoff).
//! - [`Store`](crate::watch::Store) is a cache kept exactly in sync by applying those events.

mod backoff;
mod decoder;
mod event;
mod framing;
mod object;
mod protobuf;
mod store;
mod stream_buffer;
mod watcher;

#[cfg(test)]
mod tests;

pub use backoff::{Backoff, BackoffConfig};
pub use decoder::WatchDecoder;
pub use event::{
    Bookmark, EventError, EventType, INITIAL_EVENTS_END_ANNOTATION, Status, WatchEvent, decode_event,
};
pub use framing::{DEFAULT_MAX_EVENT_SIZE, DecodeError, EventDecoder};
pub use object::{ObjectKey, WatchObject};
pub use protobuf::{ProtobufEventDecoder, decode_event_frame};
pub use store::Store;
pub use watcher::{
    Action, Event, Failure, InitialListMode, InputError, ListPage, RequestId, Watcher, WatcherConfig,
};
