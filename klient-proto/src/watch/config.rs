//! What a watcher watches and how: kube-runtime's `watcher::Config`, field for field, with its
//! defaults, plus the retry schedule klient keeps in the same place.

use super::backoff::BackoffConfig;

/// How the watcher gets the initial set of objects (kube-runtime's `InitialListStrategy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InitialListStrategy {
    /// A (paginated) list, then a watch from the list's resourceVersion.
    #[default]
    ListWatch,
    /// A watch with `sendInitialEvents=true`: the server streams the initial set as ADDED events
    /// and closes it with a BOOKMARK annotated `k8s.io/initial-events-end: "true"` (Kubernetes
    /// 1.27+ with the `WatchList` feature).
    StreamingList,
}

/// Which state a (re)list may return (kube-runtime's `ListSemantic`). Only
/// [`InitialListStrategy::ListWatch`] lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListSemantic {
    /// A consistent read of the latest state (a quorum read from etcd).
    #[default]
    MostRecent,
    /// Whatever the API server has cached (`resourceVersion=0`): much cheaper for the server, but
    /// possibly older than what this client saw before a relist.
    Any,
}

/// What to watch and how (kube-runtime's `watcher::Config`, with the same fields and defaults, so
/// that code written for kube reads the same here).
///
/// ```
/// use klient_proto::watch::watcher::{Config, InitialListStrategy};
///
/// let config = Config::default().labels("app=web").streaming_lists().timeout(120);
/// assert_eq!(config.label_selector.as_deref(), Some("app=web"));
/// assert_eq!(config.initial_list_strategy, InitialListStrategy::StreamingList);
/// assert_eq!(Config::default().page_size, Some(500));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Only objects whose labels match (`labelSelector`); `None` watches everything.
    pub label_selector: Option<String>,
    /// Only objects whose fields match (`fieldSelector`); `None` watches everything.
    pub field_selector: Option<String>,
    /// `timeoutSeconds` of every watch request: the server ends the stream after this long and
    /// the watcher resumes from the last resourceVersion. `None` (the default) picks a value
    /// between 5 and 10 minutes for each request, as client-go's reflector does, so that many
    /// watchers started together do not reconnect together.
    pub timeout: Option<u32>,
    /// What a list may return; see [`ListSemantic`].
    pub list_semantic: ListSemantic,
    /// How the initial set is fetched; see [`InitialListStrategy`].
    pub initial_list_strategy: InitialListStrategy,
    /// Objects per list page (`limit`); `None` lists everything at once. Defaults to 500, as
    /// client-go's pager does.
    pub page_size: Option<u32>,
    /// Asks for BOOKMARK events (`allowWatchBookmarks`), which keep the resourceVersion fresh so
    /// that a reconnect rarely has to relist. A streaming list always asks for them: its initial
    /// set ends with one.
    pub bookmarks: bool,
    /// The retry schedule after failures (klient's addition: kube-runtime sets it on the stream,
    /// with `WatchStreamExt::backoff`).
    pub backoff: BackoffConfig,
}

impl Default for Config {
    /// kube-runtime's defaults: everything, list-then-watch with pages of 500 and a consistent
    /// read, bookmarks on; and the default backoff.
    fn default() -> Self {
        Self {
            label_selector: None,
            field_selector: None,
            timeout: None,
            list_semantic: ListSemantic::default(),
            initial_list_strategy: InitialListStrategy::default(),
            page_size: Some(500),
            bookmarks: true,
            backoff: BackoffConfig::default(),
        }
    }
}

impl Config {
    /// Sets the label selector.
    #[must_use]
    pub fn labels(mut self, label_selector: &str) -> Self {
        self.label_selector = Some(label_selector.to_owned());
        self
    }

    /// Sets the field selector.
    #[must_use]
    pub fn fields(mut self, field_selector: &str) -> Self {
        self.field_selector = Some(field_selector.to_owned());
        self
    }

    /// Gives every watch request this `timeoutSeconds` instead of a random one.
    #[must_use]
    pub fn timeout(mut self, timeout_secs: u32) -> Self {
        self.timeout = Some(timeout_secs);
        self
    }

    /// Sets what a list may return.
    #[must_use]
    pub fn list_semantic(mut self, semantic: ListSemantic) -> Self {
        self.list_semantic = semantic;
        self
    }

    /// Lets lists return the API server's cache ([`ListSemantic::Any`]).
    #[must_use]
    pub fn any_semantic(self) -> Self {
        self.list_semantic(ListSemantic::Any)
    }

    /// Fetches the initial set with a streaming list ([`InitialListStrategy::StreamingList`]).
    #[must_use]
    pub fn streaming_lists(mut self) -> Self {
        self.initial_list_strategy = InitialListStrategy::StreamingList;
        self
    }

    /// Sets the list page size.
    #[must_use]
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size);
        self
    }

    /// Stops asking for bookmarks on watches after the initial set (not recommended: every
    /// reconnect after a quiet period may then have to relist).
    #[must_use]
    pub fn disable_bookmarks(mut self) -> Self {
        self.bookmarks = false;
        self
    }

    /// Sets the retry schedule.
    #[must_use]
    pub fn backoff(mut self, backoff: BackoffConfig) -> Self {
        self.backoff = backoff;
        self
    }
}
