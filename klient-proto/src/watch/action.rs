//! What a watcher asks its adapter to do: make a list or watch request, or let one go.

use crate::api::{ListParams, WatchParams};

/// Names one request a watcher asked for; whatever the request produces is handed back with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// A request the adapter must make, or stop making. The parameters are complete: the adapter
/// builds the HTTP request from them (`api::Request::list` / `watch`) and sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// List the collection and hand back one page
    /// ([`handle_list_page`](super::WatchDriver::handle_list_page)).
    List {
        /// The request's name.
        id: RequestId,
        /// Selectors, page size, continue token, resourceVersion.
        params: ListParams,
    },
    /// Watch the collection and hand back the response and its body as it arrives
    /// ([`handle_watch_response`](super::WatchDriver::handle_watch_response),
    /// [`handle_watch_bytes`](super::WatchDriver::handle_watch_bytes),
    /// [`handle_watch_end`](super::WatchDriver::handle_watch_end)).
    Watch {
        /// The request's name.
        id: RequestId,
        /// Selectors, resourceVersion, bookmarks, initial events and `timeoutSeconds`.
        params: WatchParams,
    },
    /// Stop the request `id`: close its connection (it is not reusable) and hand back nothing
    /// more of it. Only a [`WatchDriver`](super::WatchDriver) asks for this, for a watch it gave
    /// up on before its end (stalled, undecodable, or ended by an ERROR event). When the request
    /// has ended meanwhile, there is nothing to do.
    Abandon {
        /// The request to stop.
        id: RequestId,
    },
}

impl Action {
    /// The request the action concerns.
    pub fn id(&self) -> RequestId {
        match self {
            Action::List { id, .. } | Action::Watch { id, .. } | Action::Abandon { id } => *id,
        }
    }
}
