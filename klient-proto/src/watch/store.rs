//! A reflector cache: the current state of a collection, kept in sync by watcher events.

use std::convert::Infallible;
use std::sync::Arc;

use super::key::ObjectKey;
use super::reflection::{Keep, Reflection, same_version};
use super::watcher::Event;
use crate::api::Resource;

/// Objects by (namespace, name), kept exactly in sync by [`apply`](Self::apply)ing every
/// [`Event`] of a [`Watcher`](super::Watcher).
///
/// An initial set is gathered aside and replaces the content atomically at `InitDone`, so
/// readers never see a half-listed state and objects missing from a relist are removed.
///
/// **Memory.** Each object is kept once, behind an [`Arc`] ([`get_shared`](Self::get_shared)
/// hands it out without copying the object). What is kept is a copy of the decoded object: a
/// decoded vector of one item has room for four (serde grows vectors as it reads them), a copy has
/// none, which saves a tenth to a fifth of a typical object. During a relist, an object whose uid
/// and resourceVersion did not change keeps the copy the store already has, so a relist holds the
/// changed objects twice, not the whole collection.
///
/// ```
/// use klient_proto::api::{ApiResource, DynamicObject, Scope};
/// use klient_proto::watch::{Event, ObjectKey, Store};
///
/// let crontabs = ApiResource::new("stable.example.com", "v1", "CronTab", "crontabs", Scope::Cluster);
/// let tab = |name: &str| DynamicObject::new(name, &crontabs);
/// let mut store = Store::new();
/// for event in [Event::Init, Event::InitApply(tab("a")), Event::InitApply(tab("b")), Event::InitDone] {
///     store.apply(event);
/// }
/// assert!(store.is_ready());
/// // A relist without "b": it leaves the store at InitDone.
/// store.apply(Event::Init);
/// store.apply(Event::InitApply(tab("a")));
/// let removed = store.apply(Event::InitDone);
/// assert_eq!(removed.iter().map(|object| &**object).collect::<Vec<_>>(), [&tab("b")]);
/// assert_eq!(store.get(&ObjectKey::cluster("a")), Some(&tab("a")));
/// assert_eq!(store.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct Store<K> {
    reflection: Reflection<K>,
}

impl<K> Default for Store<K> {
    fn default() -> Self {
        Self {
            reflection: Reflection::default(),
        }
    }
}

impl<K: Resource + Clone> Store<K> {
    /// An empty store, not ready until its first `InitDone`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one watcher event and returns the objects it removed from the store: the
    /// deleted object, or at `InitDone` those absent from the new initial set.
    pub fn apply(&mut self, event: Event<K>) -> Vec<Arc<K>> {
        match self.reflection.apply::<K, Decoded>(event) {
            Ok(removed) => removed,
            Err(never) => match never {},
        }
    }
}

/// Objects kept as decoded: a copy, without the spare capacity decoding leaves in vectors.
struct Decoded;

impl<K: Resource + Clone> Keep<K> for Decoded {
    type Kept = K;
    type Error = Infallible;

    fn keep(object: &K) -> Result<K, Infallible> {
        Ok(object.clone())
    }

    fn is_version_of(kept: &K, object: &K) -> bool {
        same_version((kept.resource_version(), kept.uid()), object)
    }
}

impl<K> Store<K> {
    /// The object with this key.
    pub fn get(&self, key: &ObjectKey) -> Option<&K> {
        self.reflection.objects.get(key).map(|object| &**object)
    }

    /// The object with this key, shared: a handle that outlives the borrow of the store (kube's
    /// `Store::get`), without copying the object.
    pub fn get_shared(&self, key: &ObjectKey) -> Option<Arc<K>> {
        self.reflection.objects.get(key).cloned()
    }

    /// Every object, ordered by namespace then name.
    pub fn list(&self) -> impl Iterator<Item = &K> {
        self.reflection.objects.values().map(|object| &**object)
    }

    /// Every object, shared (kube's `Store::state`), ordered by namespace then name.
    pub fn list_shared(&self) -> Vec<Arc<K>> {
        self.reflection.objects.values().cloned().collect()
    }

    /// Every object with its key, ordered by key.
    pub fn iter(&self) -> impl Iterator<Item = (&ObjectKey, &K)> {
        self.reflection
            .objects
            .iter()
            .map(|(key, object)| (key, &**object))
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.reflection.objects.len()
    }

    /// Whether the store holds no object.
    pub fn is_empty(&self) -> bool {
        self.reflection.objects.is_empty()
    }

    /// Whether a complete initial set has arrived: before that the store is empty, not
    /// authoritative.
    pub fn is_ready(&self) -> bool {
        self.reflection.ready
    }
}
