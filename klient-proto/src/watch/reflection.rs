//! What every store does with watcher events, whatever form it keeps objects in: file them by
//! key, gather an initial set aside and swap it in whole at `InitDone`, and reuse what it holds
//! for an object whose version did not change.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::key::ObjectKey;
use super::watcher::Event;
use crate::api::Resource;

/// The form a store keeps objects in, and how it gets there.
pub(super) trait Keep<K> {
    /// What the store holds for one object.
    type Kept;
    /// Why an object could not be kept.
    type Error;

    /// The form kept for `object`.
    fn keep(object: &K) -> Result<Self::Kept, Self::Error>;

    /// Whether `kept` is the very version `object` is: same uid and resourceVersion (the server
    /// changes the resourceVersion with every write, and a uid names one incarnation).
    fn is_version_of(kept: &Self::Kept, object: &K) -> bool;
}

/// Objects by (namespace, name), each behind an [`Arc`], kept in sync by watcher events.
#[derive(Debug)]
pub(super) struct Reflection<V> {
    pub(super) objects: BTreeMap<ObjectKey, Arc<V>>,
    /// The initial set being gathered, between `Init` and `InitDone`.
    incoming: Option<BTreeMap<ObjectKey, Arc<V>>>,
    pub(super) ready: bool,
}

// By hand: a derive would ask `V: Clone`, and only the `Arc`s are cloned.
impl<V> Clone for Reflection<V> {
    fn clone(&self) -> Self {
        Self {
            objects: self.objects.clone(),
            incoming: self.incoming.clone(),
            ready: self.ready,
        }
    }
}

impl<V> Default for Reflection<V> {
    fn default() -> Self {
        Self {
            objects: BTreeMap::new(),
            incoming: None,
            ready: false,
        }
    }
}

impl<V> Reflection<V> {
    /// Applies one event, keeping objects as `P` does, and returns what it removed: the deleted
    /// object, or at `InitDone` those absent from the new initial set. An object that cannot be
    /// kept leaves the store as it was and fails the call.
    pub(super) fn apply<K: Resource, P: Keep<K, Kept = V>>(
        &mut self,
        event: Event<K>,
    ) -> Result<Vec<Arc<V>>, P::Error> {
        match event {
            Event::Init => self.incoming = Some(BTreeMap::new()),
            Event::InitApply(object) => {
                let key = ObjectKey::of(&object);
                let kept = match self.objects.get(&key) {
                    Some(current) if P::is_version_of(current, &object) => Arc::clone(current),
                    _ => Arc::new(P::keep(&object)?),
                };
                self.incoming.get_or_insert_with(BTreeMap::new).insert(key, kept);
            }
            Event::InitDone => {
                let incoming = self.incoming.take().unwrap_or_default();
                let previous = std::mem::replace(&mut self.objects, incoming);
                self.ready = true;
                return Ok(previous
                    .into_iter()
                    .filter(|(key, _)| !self.objects.contains_key(key))
                    .map(|(_, object)| object)
                    .collect());
            }
            Event::Apply(object) => {
                let kept = Arc::new(P::keep(&object)?);
                self.objects.insert(ObjectKey::of(&object), kept);
            }
            Event::Delete(object) => {
                let key = ObjectKey::of(&object);
                if let Some(incoming) = &mut self.incoming {
                    incoming.remove(&key);
                }
                return Ok(self.objects.remove(&key).into_iter().collect());
            }
        }
        Ok(Vec::new())
    }
}

/// Whether `object` has a version and it is `current`'s (see [`Keep::is_version_of`]).
pub(super) fn same_version(current: (Option<&str>, Option<&str>), object: &impl Resource) -> bool {
    object.resource_version().is_some() && current == (object.resource_version(), object.uid())
}
