//! What the watcher and the store need to know about an object.

/// Access to the metadata fields a watcher and a store rely on.
///
/// Implemented for k8s-openapi types with the `k8s-openapi` feature.
pub trait WatchObject {
    /// `metadata.name`.
    fn name(&self) -> Option<&str>;
    /// `metadata.namespace`; `None` for cluster-scoped objects.
    fn namespace(&self) -> Option<&str>;
    /// `metadata.resourceVersion`.
    fn resource_version(&self) -> Option<&str>;

    /// The key a [`Store`](super::Store) files this object under.
    fn key(&self) -> ObjectKey {
        ObjectKey {
            namespace: self.namespace().map(str::to_owned),
            name: self.name().unwrap_or_default().to_owned(),
        }
    }
}

/// Identifies an object within one resource: namespace (if namespaced) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// The namespace, or `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl ObjectKey {
    /// A key for a namespaced object.
    pub fn namespaced(namespace: &str, name: &str) -> Self {
        Self {
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
        }
    }

    /// A key for a cluster-scoped object.
    pub fn cluster(name: &str) -> Self {
        Self {
            namespace: None,
            name: name.to_owned(),
        }
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{namespace}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

#[cfg(feature = "k8s-openapi")]
impl<K> WatchObject for K
where
    K: k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
{
    fn name(&self) -> Option<&str> {
        self.metadata().name.as_deref()
    }

    fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }

    fn resource_version(&self) -> Option<&str> {
        self.metadata().resource_version.as_deref()
    }
}

/// Kinds known only at run time (custom resources) can be watched and cached like typed ones.
impl WatchObject for crate::api::DynamicObject {
    fn name(&self) -> Option<&str> {
        self.metadata.name.as_deref()
    }

    fn namespace(&self) -> Option<&str> {
        self.metadata.namespace.as_deref()
    }

    fn resource_version(&self) -> Option<&str> {
        self.metadata.resource_version.as_deref()
    }
}

#[cfg(test)]
mod dynamic_tests {
    use super::*;
    use crate::api::DynamicObject;
    use crate::watch::{Event, EventDecoder, Store, WatchEvent};

    #[test]
    fn dynamic_objects_from_a_watch_stream_fill_a_store() {
        let mut decoder = EventDecoder::<DynamicObject>::new();
        decoder.handle_bytes(
            br#"{"type":"ADDED","object":{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"nightly","namespace":"ops","resourceVersion":"7"},"spec":{"cronSpec":"0 3 * * *"}}}"#,
        );
        let Ok(Some(WatchEvent::Added(tab))) = decoder.poll_event() else {
            panic!("expected an ADDED object");
        };
        assert_eq!(tab.resource_version(), Some("7"));
        assert_eq!(tab.key(), ObjectKey::namespaced("ops", "nightly"));
        let mut store = Store::new();
        for event in [Event::Init, Event::InitApply(tab.clone()), Event::InitDone] {
            store.apply(event);
        }
        assert_eq!(store.get(&ObjectKey::namespaced("ops", "nightly")), Some(&tab));
    }
}

#[cfg(all(test, feature = "k8s-openapi"))]
mod tests {
    use super::*;
    use crate::watch::{Event, EventDecoder, Store, WatchEvent};
    use k8s_openapi::api::core::v1::Pod;

    #[test]
    fn pods_from_a_watch_stream_fill_a_store() {
        let mut decoder = EventDecoder::<Pod>::new();
        decoder.handle_bytes(
            br#"{"type":"ADDED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"prod","resourceVersion":"12"}}}"#,
        );
        let Ok(Some(WatchEvent::Added(pod))) = decoder.poll_event() else {
            panic!("expected an ADDED pod");
        };
        assert_eq!(pod.resource_version(), Some("12"));
        assert_eq!(pod.key(), ObjectKey::namespaced("prod", "web"));
        let mut store = Store::new();
        store.apply(Event::Init);
        store.apply(Event::InitApply(pod.clone()));
        store.apply(Event::InitDone);
        assert_eq!(store.get(&ObjectKey::namespaced("prod", "web")), Some(&pod));
    }
}
