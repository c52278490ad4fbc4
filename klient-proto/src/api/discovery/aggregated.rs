//! Aggregated discovery (apidiscovery.k8s.io/v2 and v2beta1): one `APIGroupDiscoveryList` from
//! `/api` and one from `/apis` describe every group, version and resource.

use super::model::{ApiGroup, DiscoveredResource, DiscoveredSubresource, GroupVersion};
use crate::api::{ResponseError, Scope, decode};
use serde::Deserialize;

/// What one aggregated document says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AggregatedDiscovery {
    /// The groups, in the server's order, each with its current versions, preferred first.
    pub groups: Vec<ApiGroup>,
    /// `(group, version)` pairs the server marks stale; they are left out of `groups`.
    pub stale: Vec<(String, String)>,
}

/// Decodes the answer to an aggregated discovery request whose `Content-Type` said
/// `APIGroupDiscoveryList` (v2 or v2beta1, which share these fields).
///
/// ```
/// use klient_proto::api::decode_aggregated;
/// let body = br#"{"kind":"APIGroupDiscoveryList","apiVersion":"apidiscovery.k8s.io/v2",
///   "items":[{"metadata":{"name":"apps"},"versions":[{"version":"v1","freshness":"Current",
///     "resources":[{"resource":"deployments","responseKind":{"group":"","version":"","kind":"Deployment"},
///       "scope":"Namespaced","singularResource":"deployment","verbs":["get","list"],
///       "shortNames":["deploy"]}]}]}]}"#;
/// let found = decode_aggregated(200, body).unwrap();
/// let apps = &found.groups[0];
/// assert_eq!(apps.preferred_version.as_deref(), Some("v1"));
/// assert_eq!(apps.versions[0].resources[0].short_names, ["deploy"]);
/// ```
pub fn decode_aggregated(code: u16, body: &[u8]) -> Result<AggregatedDiscovery, ResponseError> {
    let list: GroupDiscoveryList = decode(code, body)?;
    let mut found = AggregatedDiscovery::default();
    for item in list.items {
        let name = item.metadata.and_then(|m| m.name).unwrap_or_default();
        let mut versions = Vec::new();
        for version in item.versions.unwrap_or_default() {
            if version.freshness.as_deref() == Some("Stale") {
                found.stale.push((name.clone(), version.version));
                continue;
            }
            versions.push(GroupVersion {
                version: version.version,
                resources: version
                    .resources
                    .unwrap_or_default()
                    .into_iter()
                    .map(ResourceDiscovery::into_model)
                    .collect(),
            });
        }
        // The server lists versions most preferred first.
        let preferred_version = versions.first().map(|v| v.version.clone());
        found.groups.push(ApiGroup {
            name,
            versions,
            preferred_version,
        });
    }
    Ok(found)
}

// The wire shapes. Lists are `Option` so that both a missing field and `null` read as empty.

#[derive(Deserialize)]
struct GroupDiscoveryList {
    items: Vec<GroupDiscovery>,
}

#[derive(Deserialize)]
struct GroupDiscovery {
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    versions: Option<Vec<VersionDiscovery>>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct VersionDiscovery {
    version: String,
    #[serde(default)]
    resources: Option<Vec<ResourceDiscovery>>,
    #[serde(default)]
    freshness: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceDiscovery {
    resource: String,
    #[serde(default)]
    response_kind: Option<Kind>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    singular_resource: Option<String>,
    #[serde(default)]
    verbs: Option<Vec<String>>,
    #[serde(default)]
    short_names: Option<Vec<String>>,
    #[serde(default)]
    categories: Option<Vec<String>>,
    #[serde(default)]
    subresources: Option<Vec<SubresourceDiscovery>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubresourceDiscovery {
    subresource: String,
    #[serde(default)]
    response_kind: Option<Kind>,
    #[serde(default)]
    verbs: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
struct Kind {
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

impl ResourceDiscovery {
    fn into_model(self) -> DiscoveredResource {
        let kind = self.response_kind.and_then(|k| k.kind).unwrap_or_default();
        DiscoveredResource {
            singular: singular_or_kind(self.singular_resource, &kind),
            plural: self.resource,
            scope: if self.scope.as_deref() == Some("Namespaced") {
                Scope::Namespaced
            } else {
                Scope::Cluster
            },
            verbs: self.verbs.unwrap_or_default(),
            short_names: self.short_names.unwrap_or_default(),
            categories: self.categories.unwrap_or_default(),
            subresources: self
                .subresources
                .unwrap_or_default()
                .into_iter()
                .map(|s| {
                    let kind = s.response_kind.unwrap_or_default();
                    DiscoveredSubresource {
                        name: s.subresource,
                        kind: kind.kind.unwrap_or_default(),
                        kind_group: kind.group.filter(|g| !g.is_empty()),
                        kind_version: kind.version.filter(|v| !v.is_empty()),
                        verbs: s.verbs.unwrap_or_default(),
                    }
                })
                .collect(),
            kind,
        }
    }
}

/// The singular the server gave, else the lower-cased kind (as kubectl falls back to).
pub(super) fn singular_or_kind(singular: Option<String>, kind: &str) -> String {
    singular
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| kind.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORE: &[u8] = include_bytes!("testdata/agg_api.json");
    const GROUPS: &[u8] = include_bytes!("testdata/agg_apis.json");

    #[test]
    fn decodes_the_core_group_of_a_real_server() {
        let found = decode_aggregated(200, CORE).unwrap();
        assert_eq!(found.groups.len(), 1);
        let core = &found.groups[0];
        assert!(core.is_core());
        assert_eq!(core.preferred_version.as_deref(), Some("v1"));
        let pods = core.versions[0]
            .resources
            .iter()
            .find(|r| r.plural == "pods")
            .unwrap();
        assert_eq!(pods.kind, "Pod");
        assert_eq!(pods.singular, "pod");
        assert_eq!(pods.scope, Scope::Namespaced);
        assert_eq!(pods.short_names, ["po"]);
        assert_eq!(pods.categories, ["all"]);
        assert!(pods.supports("watch"));
        assert!(pods.subresource("log").is_some());
        let eviction = pods.subresource("eviction").unwrap();
        assert_eq!(eviction.kind, "Eviction");
        assert_eq!(eviction.kind_group.as_deref(), Some("policy"));
        assert_eq!(pods.subresource("status").unwrap().kind_group, None);
        let nodes = core.versions[0]
            .resources
            .iter()
            .find(|r| r.plural == "nodes")
            .unwrap();
        assert_eq!(nodes.scope, Scope::Cluster);
    }

    #[test]
    fn decodes_every_group_of_a_real_server_in_order() {
        let found = decode_aggregated(200, GROUPS).unwrap();
        assert!(found.stale.is_empty());
        let names: Vec<_> = found.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names[..2], ["apiregistration.k8s.io", "apps"]);
        let autoscaling = found.groups.iter().find(|g| g.name == "autoscaling").unwrap();
        let versions: Vec<_> = autoscaling.versions.iter().map(|v| v.version.as_str()).collect();
        assert_eq!(versions, ["v2", "v1"]);
        assert_eq!(autoscaling.preferred().unwrap().version, "v2");
        let apps = found.groups.iter().find(|g| g.name == "apps").unwrap();
        let deployments = &apps.versions[0]
            .resources
            .iter()
            .find(|r| r.plural == "deployments")
            .unwrap();
        let scale = deployments.subresource("scale").unwrap();
        assert_eq!(
            (
                scale.kind.as_str(),
                scale.kind_group.as_deref(),
                scale.kind_version.as_deref()
            ),
            ("Scale", Some("autoscaling"), Some("v1"))
        );
    }

    #[test]
    fn stale_versions_are_reported_and_not_preferred() {
        let body = br#"{"items":[{"metadata":{"name":"metrics.k8s.io"},"versions":[
            {"version":"v1beta2","freshness":"Stale","resources":[{"resource":"pods"}]},
            {"version":"v1beta1","freshness":"Current","resources":null}]}]}"#;
        let found = decode_aggregated(200, body).unwrap();
        assert_eq!(
            found.stale,
            [("metrics.k8s.io".to_string(), "v1beta2".to_string())]
        );
        assert_eq!(found.groups[0].preferred_version.as_deref(), Some("v1beta1"));
        assert!(found.groups[0].versions[0].resources.is_empty());
    }

    #[test]
    fn missing_kind_and_singular_are_tolerated() {
        let body = br#"{"items":[{"versions":[{"version":"v1","resources":[
            {"resource":"things","scope":"Cluster"},
            {"resource":"gadgets","responseKind":{"kind":"Gadget"},"singularResource":""}]}]}]}"#;
        let found = decode_aggregated(200, body).unwrap();
        let resources = &found.groups[0].versions[0].resources;
        assert_eq!(resources[0].kind, "");
        assert_eq!(resources[0].singular, "");
        assert_eq!(resources[1].singular, "gadget");
        assert_eq!(found.groups[0].name, "");
    }

    #[test]
    fn errors_and_garbage_are_typed() {
        let status =
            br#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403}"#;
        assert_eq!(decode_aggregated(403, status).unwrap_err().code(), 403);
        assert!(decode_aggregated(200, b"<html>").is_err());
        assert!(decode_aggregated(200, br#"{"items":[{"versions":[{"resources":[]}]}]}"#).is_err());
        assert!(decode_aggregated(200, br#"{"kind":"APIGroupList","groups":[]}"#).is_err());
        for cut in 0..CORE.len().min(400) {
            let _ = decode_aggregated(200, &CORE[..cut]);
        }
        assert!(decode_aggregated(200, &CORE[..CORE.len() - 2]).is_err());
    }
}
