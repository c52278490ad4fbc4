//! Legacy discovery: `/api` lists the core versions (`APIVersions`), `/apis` lists the groups
//! (`APIGroupList`), and each group-version lists its resources (`APIResourceList`), one request each.

use super::aggregated::singular_or_kind;
use super::model::{ApiGroup, DiscoveredResource, DiscoveredSubresource, GroupVersion};
use crate::api::{ResponseError, Scope, decode};
use serde::Deserialize;

/// Decodes `/api` (`APIVersions`) into the core group, its versions still without resources.
pub fn decode_api_versions(code: u16, body: &[u8]) -> Result<ApiGroup, ResponseError> {
    let list: ApiVersions = decode(code, body)?;
    let versions: Vec<GroupVersion> = list.versions.into_iter().map(empty_version).collect();
    Ok(ApiGroup {
        name: String::new(),
        preferred_version: versions.first().map(|v| v.version.clone()),
        versions,
    })
}

/// Decodes `/apis` (`APIGroupList`) into the groups, their versions still without resources.
///
/// ```
/// use klient_proto::api::decode_group_list;
/// let body = br#"{"kind":"APIGroupList","groups":[{"name":"autoscaling",
///   "versions":[{"groupVersion":"autoscaling/v2","version":"v2"},{"groupVersion":"autoscaling/v1","version":"v1"}],
///   "preferredVersion":{"groupVersion":"autoscaling/v2","version":"v2"}}]}"#;
/// let groups = decode_group_list(200, body).unwrap();
/// assert_eq!(groups[0].preferred_version.as_deref(), Some("v2"));
/// assert_eq!(groups[0].versions.len(), 2);
/// ```
pub fn decode_group_list(code: u16, body: &[u8]) -> Result<Vec<ApiGroup>, ResponseError> {
    let list: GroupList = decode(code, body)?;
    Ok(list
        .groups
        .into_iter()
        .map(|g| ApiGroup {
            name: g.name,
            versions: g
                .versions
                .unwrap_or_default()
                .into_iter()
                .map(|v| empty_version(v.version))
                .collect(),
            preferred_version: g.preferred_version.map(|v| v.version),
        })
        .collect())
}

/// Decodes `/api/{version}` or `/apis/{group}/{version}` (`APIResourceList`). Entries named
/// `parent/sub` become subresources of `parent`; a subresource whose parent is not listed is kept
/// nowhere, since nothing can address it.
pub fn decode_resource_list(code: u16, body: &[u8]) -> Result<Vec<DiscoveredResource>, ResponseError> {
    let list: ResourceList = decode(code, body)?;
    let (subresources, roots): (Vec<_>, Vec<_>) =
        list.resources.into_iter().partition(|r| r.name.contains('/'));
    let mut resources: Vec<DiscoveredResource> = roots
        .into_iter()
        .map(|r| DiscoveredResource {
            singular: singular_or_kind(r.singular_name, &r.kind),
            plural: r.name,
            scope: if r.namespaced {
                Scope::Namespaced
            } else {
                Scope::Cluster
            },
            kind: r.kind,
            verbs: r.verbs.unwrap_or_default(),
            short_names: r.short_names.unwrap_or_default(),
            categories: r.categories.unwrap_or_default(),
            subresources: Vec::new(),
        })
        .collect();
    for sub in subresources {
        let Some((parent, name)) = sub.name.split_once('/') else {
            continue;
        };
        if let Some(parent) = resources.iter_mut().find(|r| r.plural == parent) {
            parent.subresources.push(DiscoveredSubresource {
                name: name.to_owned(),
                kind: sub.kind,
                kind_group: sub.group.filter(|g| !g.is_empty()),
                kind_version: sub.version.filter(|v| !v.is_empty()),
                verbs: sub.verbs.unwrap_or_default(),
            });
        }
    }
    Ok(resources)
}

fn empty_version(version: String) -> GroupVersion {
    GroupVersion {
        version,
        resources: Vec::new(),
    }
}

// The wire shapes. The list each document exists for is required, so that some other JSON
// document is an error rather than an empty answer.

#[derive(Deserialize)]
struct ApiVersions {
    versions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupList {
    groups: Vec<Group>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Group {
    name: String,
    #[serde(default)]
    versions: Option<Vec<VersionForDiscovery>>,
    #[serde(default)]
    preferred_version: Option<VersionForDiscovery>,
}

#[derive(Deserialize)]
struct VersionForDiscovery {
    version: String,
}

#[derive(Deserialize)]
struct ResourceList {
    resources: Vec<Resource>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Resource {
    name: String,
    #[serde(default)]
    singular_name: Option<String>,
    #[serde(default)]
    namespaced: bool,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    verbs: Option<Vec<String>>,
    #[serde(default)]
    short_names: Option<Vec<String>>,
    #[serde(default)]
    categories: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const API: &[u8] = include_bytes!("testdata/legacy_api.json");
    const APIS: &[u8] = include_bytes!("testdata/legacy_apis.json");
    const CORE_V1: &[u8] = include_bytes!("testdata/legacy_core_v1.json");
    const APPS_V1: &[u8] = include_bytes!("testdata/legacy_apps_v1.json");

    #[test]
    fn decodes_the_roots_of_a_real_server() {
        let core = decode_api_versions(200, API).unwrap();
        assert!(core.is_core());
        assert_eq!(core.preferred_version.as_deref(), Some("v1"));
        let groups = decode_group_list(200, APIS).unwrap();
        let autoscaling = groups.iter().find(|g| g.name == "autoscaling").unwrap();
        assert_eq!(autoscaling.preferred_version.as_deref(), Some("v2"));
        let versions: Vec<_> = autoscaling.versions.iter().map(|v| v.version.as_str()).collect();
        assert_eq!(versions, ["v2", "v1"]);
        assert!(
            groups
                .iter()
                .all(|g| g.versions.iter().all(|v| v.resources.is_empty()))
        );
    }

    #[test]
    fn decodes_resource_lists_and_folds_subresources_into_their_parent() {
        let core = decode_resource_list(200, CORE_V1).unwrap();
        assert!(core.iter().all(|r| !r.plural.contains('/')));
        let pods = core.iter().find(|r| r.plural == "pods").unwrap();
        assert_eq!((pods.kind.as_str(), pods.singular.as_str()), ("Pod", "pod"));
        assert_eq!(pods.scope, Scope::Namespaced);
        assert_eq!(pods.short_names, ["po"]);
        assert!(pods.subresource("log").is_some());
        let eviction = pods.subresource("eviction").unwrap();
        assert_eq!(eviction.kind_group.as_deref(), Some("policy"));
        let apps = decode_resource_list(200, APPS_V1).unwrap();
        let deployments = apps.iter().find(|r| r.plural == "deployments").unwrap();
        assert_eq!(deployments.short_names, ["deploy"]);
        assert_eq!(deployments.subresource("scale").unwrap().kind, "Scale");
    }

    #[test]
    fn orphan_subresources_and_missing_singulars() {
        let body = br#"{"resources":[{"name":"ghosts/status","kind":"Ghost"},
            {"name":"things","kind":"Thing","namespaced":true,"singularName":""},
            {"name":"things/scale","kind":"Scale","group":"autoscaling","version":"v1","verbs":null}]}"#;
        let resources = decode_resource_list(200, body).unwrap();
        assert_eq!(resources.len(), 1);
        assert_eq!(resources[0].singular, "thing");
        assert_eq!(resources[0].subresources[0].kind_version.as_deref(), Some("v1"));
    }

    #[test]
    fn other_documents_are_rejected() {
        assert!(decode_group_list(200, API).is_err());
        assert!(decode_api_versions(200, APIS).is_err());
        assert!(decode_resource_list(200, APIS).is_err());
        assert!(decode_resource_list(200, b"").is_err());
        let status = br#"{"kind":"Status","status":"Failure","reason":"NotFound","code":404}"#;
        let err = decode_resource_list(404, status).unwrap_err();
        assert!(err.api().unwrap().is_not_found());
        for cut in 0..APPS_V1.len() {
            let _ = decode_resource_list(200, &APPS_V1[..cut]);
        }
    }
}
