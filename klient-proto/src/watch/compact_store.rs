//! A reflector cache that keeps each object as its JSON: a fraction of the memory of the decoded
//! object, paid for with a decode on every read.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::key::ObjectKey;
use super::reflection::{Keep, Reflection, same_version};
use super::watcher::Event;
use crate::api::Resource;

/// Objects by (namespace, name), each kept as its JSON, in sync with a watcher's events like a
/// [`Store`](super::Store).
///
/// **When to use it.** A decoded Kubernetes object takes five to ten times the memory of its JSON:
/// every map is a B-tree node sized for eleven entries, and `managedFields` alone are a tree of
/// them. A cache of many objects that are read now and then (a controller looking one up per
/// reconcile) keeps a sixth of the memory here. Each read decodes the object anew, which costs
/// about what the watcher paid to decode it off the wire (`cargo bench -p klient-benches --bench
/// store_read`), so a program that walks the whole cache many times a second wants a
/// [`Store`](super::Store).
///
/// Everything else is a `Store`'s: the initial set is gathered aside and replaces the content
/// atomically at `InitDone`, and an object whose uid and resourceVersion did not change across a
/// relist keeps what the store holds, so a relist never holds the collection twice.
///
/// ```
/// use klient_proto::api::{ApiResource, DynamicObject, Scope};
/// use klient_proto::watch::{CompactStore, Event, ObjectKey};
///
/// let crontabs = ApiResource::new("stable.example.com", "v1", "CronTab", "crontabs", Scope::Cluster);
/// let tab = |name: &str| DynamicObject::new(name, &crontabs);
/// let mut store = CompactStore::new();
/// for event in [Event::Init, Event::InitApply(tab("a")), Event::InitApply(tab("b")), Event::InitDone] {
///     store.apply(event)?;
/// }
/// assert_eq!(store.get(&ObjectKey::cluster("a"))?, Some(tab("a")));
/// assert_eq!(store.get_encoded(&ObjectKey::cluster("b")).unwrap().json(), serde_json::to_vec(&tab("b"))?);
/// assert_eq!(store.list().collect::<Result<Vec<_>, _>>()?, [tab("a"), tab("b")]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CompactStore<K> {
    reflection: Reflection<Encoded<K>>,
}

impl<K> Default for CompactStore<K> {
    fn default() -> Self {
        Self {
            reflection: Reflection::default(),
        }
    }
}

impl<K> Clone for CompactStore<K> {
    fn clone(&self) -> Self {
        Self {
            reflection: self.reflection.clone(),
        }
    }
}

/// Lists keys and versions only: the JSON may be a Secret's.
impl<K> fmt::Debug for CompactStore<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompactStore")
            .field("objects", &self.reflection.objects)
            .field("ready", &self.reflection.ready)
            .finish_non_exhaustive()
    }
}

impl<K: Resource + Serialize + DeserializeOwned> CompactStore<K> {
    /// An empty store, not ready until its first `InitDone`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one watcher event and returns the objects it removed from the store: the deleted
    /// object, or at `InitDone` those absent from the new initial set. An object that cannot be
    /// encoded leaves the store unchanged and fails the call, so nothing is dropped unseen.
    pub fn apply(&mut self, event: Event<K>) -> Result<Vec<Arc<Encoded<K>>>, CompactStoreError> {
        self.reflection.apply::<K, AsJson>(event)
    }

    /// The object with this key, decoded.
    pub fn get(&self, key: &ObjectKey) -> Result<Option<K>, CompactStoreError> {
        self.reflection
            .objects
            .get(key)
            .map(|object| object.decode())
            .transpose()
    }

    /// Every object, decoded one at a time as the iterator advances, ordered by namespace then
    /// name.
    pub fn list(&self) -> impl Iterator<Item = Result<K, CompactStoreError>> + '_ {
        self.reflection.objects.values().map(|object| object.decode())
    }
}

impl<K> CompactStore<K> {
    /// The object with this key as kept: its JSON and version, shared, without decoding it.
    pub fn get_encoded(&self, key: &ObjectKey) -> Option<Arc<Encoded<K>>> {
        self.reflection.objects.get(key).cloned()
    }

    /// Every object as kept, with its key, ordered by key.
    pub fn iter_encoded(&self) -> impl Iterator<Item = (&ObjectKey, &Encoded<K>)> {
        self.reflection
            .objects
            .iter()
            .map(|(key, object)| (key, &**object))
    }

    /// The keys of every object, ordered.
    pub fn keys(&self) -> impl Iterator<Item = &ObjectKey> {
        self.reflection.objects.keys()
    }

    /// Whether an object with this key is kept.
    pub fn contains(&self, key: &ObjectKey) -> bool {
        self.reflection.objects.contains_key(key)
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

/// One object as a [`CompactStore`] keeps it: its JSON, and the version it was written at.
pub struct Encoded<K> {
    json: Box<[u8]>,
    resource_version: Option<Box<str>>,
    uid: Option<Box<str>>,
    // `fn() -> K`: an `Encoded<K>` holds bytes, not a `K`, so it is `Send` and `Sync` whatever `K` is.
    kind: PhantomData<fn() -> K>,
}

impl<K> Encoded<K> {
    /// The object's JSON, as `serde_json` wrote it from the watcher's object.
    pub fn json(&self) -> &[u8] {
        &self.json
    }

    /// `metadata.resourceVersion` of the object kept.
    pub fn resource_version(&self) -> Option<&str> {
        self.resource_version.as_deref()
    }

    /// `metadata.uid` of the object kept.
    pub fn uid(&self) -> Option<&str> {
        self.uid.as_deref()
    }
}

impl<K: DeserializeOwned> Encoded<K> {
    /// The object, decoded.
    pub fn decode(&self) -> Result<K, CompactStoreError> {
        serde_json::from_slice(&self.json).map_err(CompactStoreError::Decode)
    }
}

/// The version and size only: the JSON may be a Secret's.
impl<K> fmt::Debug for Encoded<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoded")
            .field("resource_version", &self.resource_version)
            .field("uid", &self.uid)
            .field("json_len", &self.json.len())
            .finish()
    }
}

/// Objects kept as the JSON `serde_json` writes for them.
struct AsJson;

impl<K: Resource + Serialize> Keep<K> for AsJson {
    type Kept = Encoded<K>;
    type Error = CompactStoreError;

    fn keep(object: &K) -> Result<Encoded<K>, CompactStoreError> {
        let json = serde_json::to_vec(object).map_err(|error| CompactStoreError::Encode {
            key: ObjectKey::of(object),
            error,
        })?;
        Ok(Encoded {
            json: json.into_boxed_slice(),
            resource_version: object.resource_version().map(Box::from),
            uid: object.uid().map(Box::from),
            kind: PhantomData,
        })
    }

    fn is_version_of(kept: &Encoded<K>, object: &K) -> bool {
        same_version((kept.resource_version(), kept.uid()), object)
    }
}

/// A [`CompactStore`] could not encode or decode an object.
#[derive(Debug)]
#[non_exhaustive]
pub enum CompactStoreError {
    /// The object could not be written as JSON (its type's `Serialize` failed); the store was
    /// left as it was.
    Encode {
        /// The object's key.
        key: ObjectKey,
        /// What serde_json reported.
        error: serde_json::Error,
    },
    /// A kept object could not be read back: its type's `Deserialize` does not accept what its
    /// `Serialize` wrote.
    Decode(serde_json::Error),
}

impl fmt::Display for CompactStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompactStoreError::Encode { key, error } => write!(f, "cannot keep {key} as JSON: {error}"),
            CompactStoreError::Decode(error) => write!(f, "cannot decode a kept object: {error}"),
        }
    }
}

impl std::error::Error for CompactStoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CompactStoreError::Encode { error, .. } | CompactStoreError::Decode(error) => Some(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ApiResource, DynamicObject, Scope};
    use crate::watch::Store;

    fn tabs() -> ApiResource {
        ApiResource::new(
            "stable.example.com",
            "v1",
            "CronTab",
            "crontabs",
            Scope::Namespaced,
        )
    }

    fn tab(name: &str, version: &str) -> DynamicObject {
        let mut tab = DynamicObject::new(name, &tabs()).within("ops");
        tab.metadata.resource_version = Some(version.into());
        tab.metadata.uid = Some(format!("uid-{name}"));
        tab.data = serde_json::json!({"spec": {"cronSpec": "* * * * */5", "secret": "s3cr3t"}});
        tab
    }

    /// The same events applied to a `Store` and to a `CompactStore` leave the same objects in both.
    fn both(events: Vec<Event<DynamicObject>>) -> (Store<DynamicObject>, CompactStore<DynamicObject>) {
        let (mut store, mut compact) = (Store::new(), CompactStore::new());
        for event in events {
            let removed = store.apply(event.clone());
            let compact_removed = compact.apply(event).expect("dynamic objects encode");
            let decoded: Vec<_> = compact_removed
                .iter()
                .map(|o| o.decode().expect("decodes"))
                .collect();
            assert_eq!(removed.iter().map(|o| (**o).clone()).collect::<Vec<_>>(), decoded);
        }
        let listed: Vec<_> = compact.list().collect::<Result<_, _>>().expect("decodes");
        assert_eq!(store.list().cloned().collect::<Vec<_>>(), listed);
        assert_eq!(store.is_ready(), compact.is_ready());
        (store, compact)
    }

    #[test]
    fn it_keeps_what_a_store_keeps_through_lists_changes_and_deletes() {
        let (_, compact) = both(vec![
            Event::Init,
            Event::InitApply(tab("a", "1")),
            Event::InitApply(tab("b", "2")),
            Event::InitDone,
            Event::Apply(tab("a", "3")),
            Event::Delete(tab("b", "2")),
            Event::Apply(tab("c", "4")),
            // A relist without "a": it goes at InitDone, not before.
            Event::Init,
            Event::InitApply(tab("c", "4")),
            Event::InitApply(tab("d", "5")),
        ]);
        assert_eq!(
            compact.keys().map(|key| key.name.as_str()).collect::<Vec<_>>(),
            ["a", "c"]
        );
        let (_, compact) = both(vec![
            Event::Init,
            Event::InitApply(tab("a", "1")),
            Event::InitDone,
            Event::Init,
            Event::InitApply(tab("d", "5")),
            Event::InitDone,
        ]);
        assert_eq!(
            compact.keys().map(|key| key.name.as_str()).collect::<Vec<_>>(),
            ["d"]
        );
        assert_eq!(
            compact.get(&ObjectKey::namespaced("ops", "d")).unwrap(),
            Some(tab("d", "5"))
        );
        assert_eq!(compact.get(&ObjectKey::namespaced("ops", "a")).unwrap(), None);
    }

    #[test]
    fn a_relist_keeps_the_bytes_of_every_unchanged_version() {
        let mut store = CompactStore::new();
        for event in [
            Event::Init,
            Event::InitApply(tab("a", "1")),
            Event::InitApply(tab("b", "1")),
            Event::InitDone,
        ] {
            store.apply(event).unwrap();
        }
        let key = |name| ObjectKey::namespaced("ops", name);
        let (a, b) = (
            store.get_encoded(&key("a")).unwrap(),
            store.get_encoded(&key("b")).unwrap(),
        );
        let mut replaced = tab("b", "1");
        replaced.metadata.uid = Some("another incarnation".into());
        for event in [
            Event::Init,
            Event::InitApply(tab("a", "1")),
            Event::InitApply(replaced.clone()),
            Event::InitDone,
        ] {
            store.apply(event).unwrap();
        }
        assert!(Arc::ptr_eq(&a, &store.get_encoded(&key("a")).unwrap()));
        assert!(!Arc::ptr_eq(&b, &store.get_encoded(&key("b")).unwrap()));
        assert_eq!(store.get(&key("b")).unwrap(), Some(replaced));
    }

    #[test]
    fn it_keeps_the_json_alone_and_its_debug_shows_no_content() {
        let mut store = CompactStore::new();
        store.apply(Event::Apply(tab("a", "1"))).unwrap();
        let kept = store.get_encoded(&ObjectKey::namespaced("ops", "a")).unwrap();
        assert_eq!(kept.json(), serde_json::to_vec(&tab("a", "1")).unwrap());
        assert_eq!((kept.resource_version(), kept.uid()), (Some("1"), Some("uid-a")));
        let debug = format!("{store:?} {kept:?}");
        assert!(
            !debug.contains("s3cr3t") && !debug.contains("cronSpec"),
            "{debug}"
        );
        assert!(debug.contains("json_len"), "{debug}");
    }

    #[test]
    fn an_object_its_type_cannot_read_back_is_a_decode_error() {
        let mut store = CompactStore::<DynamicObject>::new();
        store.apply(Event::Apply(tab("a", "1"))).unwrap();
        let kept = store.get_encoded(&ObjectKey::namespaced("ops", "a")).unwrap();
        let broken = Encoded::<DynamicObject> {
            json: kept.json()[..kept.json().len() - 1].into(),
            resource_version: None,
            uid: None,
            kind: PhantomData,
        };
        let error = broken.decode().unwrap_err();
        assert!(matches!(error, CompactStoreError::Decode(_)), "{error:?}");
        assert!(
            error.to_string().starts_with("cannot decode a kept object"),
            "{error}"
        );
    }

    #[test]
    fn an_object_that_cannot_be_written_fails_the_apply_and_leaves_the_store() {
        /// A resource whose `Serialize` always fails.
        #[derive(Debug, Clone, serde::Deserialize)]
        struct Unwritable(DynamicObject);
        impl Serialize for Unwritable {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("never"))
            }
        }
        impl Resource for Unwritable {
            type DynamicType = ApiResource;
            type Scope = crate::api::DynamicResourceScope;
            fn group(dt: &ApiResource) -> std::borrow::Cow<'_, str> {
                DynamicObject::group(dt)
            }
            fn version(dt: &ApiResource) -> std::borrow::Cow<'_, str> {
                DynamicObject::version(dt)
            }
            fn kind(dt: &ApiResource) -> std::borrow::Cow<'_, str> {
                DynamicObject::kind(dt)
            }
            fn plural(dt: &ApiResource) -> std::borrow::Cow<'_, str> {
                DynamicObject::plural(dt)
            }
            fn scope(dt: &ApiResource) -> Scope {
                DynamicObject::scope(dt)
            }
            fn name(&self) -> Option<&str> {
                self.0.name()
            }
            fn namespace(&self) -> Option<&str> {
                self.0.namespace()
            }
            fn resource_version(&self) -> Option<&str> {
                self.0.resource_version()
            }
            fn uid(&self) -> Option<&str> {
                self.0.uid()
            }
            fn annotation(&self, key: &str) -> Option<&str> {
                self.0.annotation(key)
            }
        }
        let mut store = CompactStore::new();
        store.apply(Event::Init).unwrap();
        let error = store
            .apply(Event::InitApply(Unwritable(tab("a", "1"))))
            .unwrap_err();
        assert!(
            matches!(&error, CompactStoreError::Encode { key, .. } if key.name == "a"),
            "{error:?}"
        );
        assert_eq!(error.to_string(), "cannot keep ops/a as JSON: never");
        store.apply(Event::InitDone).unwrap();
        assert!(store.is_ready() && store.is_empty());
    }
}
