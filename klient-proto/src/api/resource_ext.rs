//! Accessors for the metadata every object has, as kube's `ResourceExt` offers them, for the
//! k8s-openapi types and [`DynamicObject`] alike.

use std::collections::BTreeMap;

use super::dynamic::DynamicObject;
use super::resource::Resource;

/// What an object with no labels (or annotations) hands out.
static EMPTY: BTreeMap<String, String> = BTreeMap::new();

/// Metadata accessors beyond [`Resource`]'s: labels, annotations, and a name that is always
/// there to print.
///
/// ```
/// use klient_proto::api::{ApiResource, DynamicObject, ResourceExt, Scope};
///
/// let widgets = ApiResource::new("example.com", "v1", "Widget", "widgets", Scope::Namespaced);
/// let mut widget = DynamicObject::new("w1", &widgets);
/// widget.metadata.labels = Some([("tier".to_owned(), "front".to_owned())].into());
/// assert_eq!(widget.name_any(), "w1");
/// assert_eq!(widget.labels()["tier"], "front");
/// assert!(widget.annotations().is_empty());
/// ```
pub trait ResourceExt: Resource {
    /// `metadata.generateName`, if set.
    fn generate_name(&self) -> Option<&str>;
    /// `metadata.labels`, empty when there are none.
    fn labels(&self) -> &BTreeMap<String, String>;
    /// `metadata.annotations`, empty when there are none.
    fn annotations(&self) -> &BTreeMap<String, String>;
    /// Drops `metadata.managedFields`: server-side apply's bookkeeping, often the largest part of
    /// an object and rarely read by a program, so that a watcher's store keeps less (use it as
    /// the watcher's transform). Never send an object stripped this way back with `replace`.
    fn strip_managed_fields(&mut self);

    /// The name, else the `generateName` prefix (an object not yet created), else `""`: what
    /// to print, never what to address an object by.
    fn name_any(&self) -> String {
        self.name()
            .or_else(|| self.generate_name())
            .unwrap_or_default()
            .to_owned()
    }
}

impl ResourceExt for DynamicObject {
    fn generate_name(&self) -> Option<&str> {
        self.metadata.generate_name.as_deref()
    }
    fn labels(&self) -> &BTreeMap<String, String> {
        self.metadata.labels.as_ref().unwrap_or(&EMPTY)
    }
    fn annotations(&self) -> &BTreeMap<String, String> {
        self.metadata.annotations.as_ref().unwrap_or(&EMPTY)
    }
    fn strip_managed_fields(&mut self) {
        self.metadata.other.remove("managedFields");
    }
}

#[cfg(feature = "k8s-openapi")]
impl<K> ResourceExt for K
where
    K: Resource + k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
{
    fn generate_name(&self) -> Option<&str> {
        self.metadata().generate_name.as_deref()
    }
    fn labels(&self) -> &BTreeMap<String, String> {
        self.metadata().labels.as_ref().unwrap_or(&EMPTY)
    }
    fn annotations(&self) -> &BTreeMap<String, String> {
        self.metadata().annotations.as_ref().unwrap_or(&EMPTY)
    }
    fn strip_managed_fields(&mut self) {
        self.metadata_mut().managed_fields = None;
    }
}

#[cfg(all(test, feature = "k8s-openapi"))]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;

    use super::*;

    #[test]
    fn typed_objects_answer_like_dynamic_ones() {
        let mut cm: ConfigMap = serde_json::from_value(serde_json::json!({
            "metadata": {"generateName": "cm-", "annotations": {"a": "1"}}
        }))
        .unwrap();
        assert_eq!(cm.name_any(), "cm-");
        assert!(cm.labels().is_empty());
        assert_eq!(cm.annotations()["a"], "1");
        cm.metadata.name = Some("cm-x1".into());
        assert_eq!(cm.name_any(), "cm-x1");
    }

    #[test]
    fn managed_fields_are_stripped_from_typed_and_dynamic_objects() {
        let with_fields = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "managedFields": [{"manager": "kubectl", "operation": "Apply"}]},
            "data": {"k": "v"},
        });
        let mut cm: ConfigMap = serde_json::from_value(with_fields.clone()).unwrap();
        assert!(cm.metadata.managed_fields.is_some());
        cm.strip_managed_fields();
        assert_eq!(cm.metadata.managed_fields, None);
        assert_eq!(cm.name_any(), "c");
        let mut dynamic: DynamicObject = serde_json::from_value(with_fields).unwrap();
        dynamic.strip_managed_fields();
        let back = serde_json::to_value(&dynamic).unwrap();
        assert!(back["metadata"].get("managedFields").is_none(), "{back}");
        assert_eq!(back["data"]["k"], "v");
    }
}
