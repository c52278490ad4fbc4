//! The result of a discovery run: every group the server serves, and what could not be learnt.

use super::error::DiscoveryError;
use super::model::{ApiGroup, DiscoveredResource};
use crate::api::ApiResource;

/// Everything discovery learnt about a server: its groups, versions and resources, plus the
/// group-versions it could not read. Name resolution lives here too (see
/// [`resolve`](ApiCatalog::resolve)).
#[derive(Debug, Default)]
pub struct ApiCatalog {
    pub(super) groups: Vec<ApiGroup>,
    pub(super) failures: Vec<FailedGroupVersion>,
}

/// A group-version discovery could not read: an aggregated API server that is down, a version
/// removed between two requests... Its resources are missing from the catalog.
#[derive(Debug)]
pub struct FailedGroupVersion {
    /// The group, empty for the core group.
    pub group: String,
    /// The version.
    pub version: String,
    /// Why.
    pub error: DiscoveryError,
}

impl ApiCatalog {
    /// A catalog of the given groups (e.g. to test code that resolves names).
    pub fn from_groups(groups: Vec<ApiGroup>) -> Self {
        ApiCatalog {
            groups,
            failures: Vec::new(),
        }
    }

    /// The groups, the core group first, then in the server's order of priority.
    pub fn groups(&self) -> &[ApiGroup] {
        &self.groups
    }

    /// One group by name (`""` for the core group).
    pub fn group(&self, name: &str) -> Option<&ApiGroup> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The group-versions that could not be discovered; empty when discovery was complete.
    pub fn failures(&self) -> &[FailedGroupVersion] {
        &self.failures
    }

    /// Every resource at its group's preferred version (or, when the preferred version lacks it,
    /// at the first version that has it), as [`ApiResource`]s with their discovery details.
    pub fn preferred_resources(&self) -> Vec<(ApiResource, &DiscoveredResource)> {
        let mut out = Vec::new();
        for group in &self.groups {
            let mut seen: Vec<&str> = Vec::new();
            for version in group.versions_by_preference() {
                for resource in &version.resources {
                    if !seen.contains(&resource.plural.as_str()) {
                        seen.push(&resource.plural);
                        out.push((resource.to_api_resource(&group.name, &version.version), resource));
                    }
                }
            }
        }
        out
    }

    /// The discovery details of one exact group, version and plural.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&DiscoveredResource> {
        self.group(group)?
            .version(version)?
            .resources
            .iter()
            .find(|r| r.plural == plural)
    }

    /// The resource for an object's `apiVersion` and `kind`, as when applying a manifest.
    ///
    /// ```
    /// use klient_proto::api::{ApiCatalog, ApiGroup, DiscoveredResource, GroupVersion, Scope};
    /// let apps = ApiGroup {
    ///     name: "apps".into(),
    ///     preferred_version: Some("v1".into()),
    ///     versions: vec![GroupVersion { version: "v1".into(), resources: vec![DiscoveredResource {
    ///         plural: "deployments".into(), singular: "deployment".into(), kind: "Deployment".into(),
    ///         scope: Scope::Namespaced, verbs: vec![], short_names: vec!["deploy".into()],
    ///         categories: vec![], subresources: vec![],
    ///     }] }],
    /// };
    /// let catalog = ApiCatalog::from_groups(vec![apps]);
    /// let ar = catalog.for_api_version_kind("apps/v1", "Deployment").unwrap();
    /// assert_eq!(ar.plural, "deployments");
    /// ```
    pub fn for_api_version_kind(&self, api_version: &str, kind: &str) -> Option<ApiResource> {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        self.group(group)?
            .version(version)?
            .resources
            .iter()
            .find(|r| r.kind == kind)
            .map(|r| r.to_api_resource(group, version))
    }
}
