//! A reflector cache: the current state of a collection, kept in sync by watcher events.

use std::collections::BTreeMap;

use super::key::ObjectKey;
use super::watcher::Event;
use crate::api::Resource;

/// Objects by (namespace, name), kept exactly in sync by [`apply`](Self::apply)ing every
/// [`Event`] of a [`Watcher`](super::Watcher).
///
/// An initial set is gathered aside and replaces the content atomically at `InitDone`, so
/// readers never see a half-listed state and objects missing from a relist are removed.
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
/// assert_eq!(store.apply(Event::InitDone), vec![tab("b")]);
/// assert_eq!(store.get(&ObjectKey::cluster("a")), Some(&tab("a")));
/// assert_eq!(store.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct Store<K> {
    objects: BTreeMap<ObjectKey, K>,
    /// The initial set being gathered, between `Init` and `InitDone`.
    incoming: Option<BTreeMap<ObjectKey, K>>,
    ready: bool,
}

impl<K> Default for Store<K> {
    fn default() -> Self {
        Self {
            objects: BTreeMap::new(),
            incoming: None,
            ready: false,
        }
    }
}

impl<K: Resource> Store<K> {
    /// An empty store, not ready until its first `InitDone`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one watcher event and returns the objects it removed from the store: the
    /// deleted object, or at `InitDone` those absent from the new initial set.
    pub fn apply(&mut self, event: Event<K>) -> Vec<K> {
        match event {
            Event::Init => {
                self.incoming = Some(BTreeMap::new());
                Vec::new()
            }
            Event::InitApply(object) => {
                self.incoming
                    .get_or_insert_with(BTreeMap::new)
                    .insert(ObjectKey::of(&object), object);
                Vec::new()
            }
            Event::InitDone => {
                let incoming = self.incoming.take().unwrap_or_default();
                let previous = std::mem::replace(&mut self.objects, incoming);
                self.ready = true;
                previous
                    .into_iter()
                    .filter(|(key, _)| !self.objects.contains_key(key))
                    .map(|(_, object)| object)
                    .collect()
            }
            Event::Apply(object) => {
                self.objects.insert(ObjectKey::of(&object), object);
                Vec::new()
            }
            Event::Delete(object) => {
                let key = ObjectKey::of(&object);
                if let Some(incoming) = &mut self.incoming {
                    incoming.remove(&key);
                }
                self.objects.remove(&key).into_iter().collect()
            }
        }
    }
}

impl<K> Store<K> {
    /// The object with this key.
    pub fn get(&self, key: &ObjectKey) -> Option<&K> {
        self.objects.get(key)
    }

    /// Every object, ordered by namespace then name.
    pub fn list(&self) -> impl Iterator<Item = &K> {
        self.objects.values()
    }

    /// Every object with its key, ordered by key.
    pub fn iter(&self) -> impl Iterator<Item = (&ObjectKey, &K)> {
        self.objects.iter()
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether the store holds no object.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Whether a complete initial set has arrived: before that the store is empty, not
    /// authoritative.
    pub fn is_ready(&self) -> bool {
        self.ready
    }
}
