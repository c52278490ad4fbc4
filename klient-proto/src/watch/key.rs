//! How a store files an object: by namespace and name.

use crate::api::Resource;

/// Identifies an object within one resource: namespace (if namespaced) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// The namespace, or `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl ObjectKey {
    /// The key of `object`, read from its metadata (an object without a name files under `""`).
    pub fn of<K: Resource>(object: &K) -> Self {
        Self {
            namespace: object.namespace().map(str::to_owned),
            name: object.name().unwrap_or_default().to_owned(),
        }
    }

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
        assert_eq!(ObjectKey::of(&tab), ObjectKey::namespaced("ops", "nightly"));
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
        assert_eq!(ObjectKey::of(&pod), ObjectKey::namespaced("prod", "web"));
        let mut store = Store::new();
        store.apply(Event::Init);
        store.apply(Event::InitApply(pod.clone()));
        store.apply(Event::InitDone);
        assert_eq!(store.get(&ObjectKey::namespaced("prod", "web")), Some(&pod));
    }
}
