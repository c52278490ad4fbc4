//! Kinds known only at run time: custom resources, or anything discovered from the API server.

use super::resource::{DynamicResourceScope, Resource, Scope};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Everything the request builders need to know about a kind, held as values instead of types.
///
/// ```
/// use klient_proto::api::{ApiResource, Scope};
/// let crontabs = ApiResource::new("stable.example.com", "v1", "CronTab", "crontabs", Scope::Namespaced);
/// assert_eq!(crontabs.api_version, "stable.example.com/v1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ApiResource {
    /// API group, empty for the core group.
    pub group: String,
    /// Version inside the group.
    pub version: String,
    /// `group/version`, or `version` for the core group.
    pub api_version: String,
    /// Kind, as in `kind:`.
    pub kind: String,
    /// Lower-case plural used in URLs.
    pub plural: String,
    /// Namespaced or cluster-scoped.
    pub scope: Scope,
}

impl ApiResource {
    /// Describes a kind from its parts; `api_version` is derived.
    pub fn new(
        group: impl Into<String>,
        version: impl Into<String>,
        kind: impl Into<String>,
        plural: impl Into<String>,
        scope: Scope,
    ) -> Self {
        let group = group.into();
        let version = version.into();
        let api_version = if group.is_empty() {
            version.clone()
        } else {
            format!("{group}/{version}")
        };
        ApiResource {
            group,
            version,
            api_version,
            kind: kind.into(),
            plural: plural.into(),
            scope,
        }
    }

    /// Captures the description of any [`Resource`], e.g. to handle typed and dynamic kinds alike.
    pub fn erase<K: Resource>(dt: &K::DynamicType) -> Self {
        ApiResource {
            group: K::group(dt).into_owned(),
            version: K::version(dt).into_owned(),
            api_version: K::api_version(dt).into_owned(),
            kind: K::kind(dt).into_owned(),
            plural: K::plural(dt).into_owned(),
            scope: K::scope(dt),
        }
    }

    /// Whether objects of this kind live in a namespace.
    pub fn is_namespaced(&self) -> bool {
        self.scope == Scope::Namespaced
    }
}

/// `apiVersion` and `kind` of a serialized object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeMeta {
    /// `group/version`, or `version` for the core group.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// The kind.
    pub kind: String,
}

/// The metadata of a [`DynamicObject`].
///
/// The fields the client itself reads are typed; every other field is kept in `other`, so an
/// object read and written back loses nothing. (k8s-openapi's `ObjectMeta` is not used here because
/// that crate is optional and needs a version feature picked by the final binary.)
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DynamicMeta {
    /// Unique name inside the namespace (or cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Prefix from which the server generates a name on create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_name: Option<String>,
    /// Namespace, for namespaced kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Server-assigned unique id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Opaque version for optimistic concurrency and watches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// Sequence number of the desired state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Every other metadata field (timestamps, owner references, finalizers, managed fields...).
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// An object of a kind known only at run time: its type, metadata, and the rest as raw JSON.
///
/// ```
/// use klient_proto::api::{ApiResource, DynamicObject, Scope};
/// let ar = ApiResource::new("stable.example.com", "v1", "CronTab", "crontabs", Scope::Namespaced);
/// let tab = DynamicObject::new("nightly", &ar)
///     .within("ops")
///     .data(serde_json::json!({ "spec": { "cronSpec": "0 3 * * *" } }));
/// let json = serde_json::to_value(&tab).unwrap();
/// assert_eq!(json["kind"], "CronTab");
/// assert_eq!(json["spec"]["cronSpec"], "0 3 * * *");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DynamicObject {
    /// `apiVersion` and `kind`; absent on the items of a list response.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub types: Option<TypeMeta>,
    /// `metadata`.
    #[serde(default)]
    pub metadata: DynamicMeta,
    /// Every other top-level field (`spec`, `status`, `data`...), as a JSON object.
    #[serde(flatten)]
    pub data: serde_json::Value,
}

impl DynamicObject {
    /// A new object of the given kind with only a name set.
    pub fn new(name: &str, resource: &ApiResource) -> Self {
        DynamicObject {
            types: Some(TypeMeta {
                api_version: resource.api_version.clone(),
                kind: resource.kind.clone(),
            }),
            metadata: DynamicMeta {
                name: Some(name.to_string()),
                ..DynamicMeta::default()
            },
            data: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// Sets the namespace.
    #[must_use]
    pub fn within(mut self, namespace: &str) -> Self {
        self.metadata.namespace = Some(namespace.to_string());
        self
    }

    /// Replaces the top-level fields other than `apiVersion`, `kind` and `metadata`.
    #[must_use]
    pub fn data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }
}

impl Resource for DynamicObject {
    type DynamicType = ApiResource;
    type Scope = DynamicResourceScope;

    fn group(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.group)
    }
    fn version(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.version)
    }
    fn kind(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.kind)
    }
    fn plural(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.plural)
    }
    fn scope(dt: &ApiResource) -> Scope {
        dt.scope
    }
    fn api_version(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.api_version)
    }
    fn name(&self) -> Option<&str> {
        self.metadata.name.as_deref()
    }
    fn namespace(&self) -> Option<&str> {
        self.metadata.namespace.as_deref()
    }
    fn resource_version(&self) -> Option<&str> {
        self.metadata.resource_version.as_deref()
    }
    fn uid(&self) -> Option<&str> {
        self.metadata.uid.as_deref()
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata.annotations.as_ref()?.get(key).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crontabs() -> ApiResource {
        ApiResource::new(
            "stable.example.com",
            "v1",
            "CronTab",
            "crontabs",
            Scope::Namespaced,
        )
    }

    #[test]
    fn core_group_api_version_is_the_bare_version() {
        let ar = ApiResource::new("", "v1", "ConfigMap", "configmaps", Scope::Namespaced);
        assert_eq!(ar.api_version, "v1");
        assert_eq!(DynamicObject::api_version(&ar), "v1");
        assert!(ar.is_namespaced());
    }

    #[test]
    fn dynamic_object_round_trips_every_field() {
        let json = br#"{"apiVersion":"stable.example.com/v1","kind":"CronTab",
            "metadata":{"name":"nightly","namespace":"ops","resourceVersion":"7","uid":"u",
              "annotations":{"k8s.io/initial-events-end":"true"},
              "creationTimestamp":"2026-01-01T00:00:00Z","finalizers":["x"]},
            "spec":{"cronSpec":"0 3 * * *","replicas":2},"status":{"ok":true}}"#;
        let obj: DynamicObject = serde_json::from_slice(json).unwrap();
        assert_eq!(obj.types.as_ref().unwrap().kind, "CronTab");
        assert_eq!(obj.name(), Some("nightly"));
        assert_eq!(obj.namespace(), Some("ops"));
        assert_eq!(obj.resource_version(), Some("7"));
        assert_eq!(obj.uid(), Some("u"));
        assert_eq!(obj.annotation("k8s.io/initial-events-end"), Some("true"));
        assert_eq!(obj.data["spec"]["replicas"], 2);
        assert!(
            obj.data.get("apiVersion").is_none(),
            "types are not duplicated in data"
        );
        let back = serde_json::to_value(&obj).unwrap();
        let original: serde_json::Value = serde_json::from_slice(json).unwrap();
        assert_eq!(back, original);
    }

    #[test]
    fn list_items_without_types_still_parse() {
        let obj: DynamicObject = serde_json::from_slice(br#"{"metadata":{"name":"a"},"spec":{}}"#).unwrap();
        assert_eq!(obj.types, None);
        assert_eq!(obj.name(), Some("a"));
    }

    #[test]
    fn erase_copies_a_description() {
        let ar = crontabs();
        assert_eq!(ApiResource::erase::<DynamicObject>(&ar), ar);
    }

    #[test]
    fn new_object_serializes_kind_and_name() {
        let obj = DynamicObject::new("n", &crontabs()).within("ns");
        let v = serde_json::to_value(&obj).unwrap();
        assert_eq!(v["apiVersion"], "stable.example.com/v1");
        assert_eq!(v["metadata"]["name"], "n");
        assert_eq!(v["metadata"]["namespace"], "ns");
    }
}
