//! What discovery learns: the groups a server serves, their versions, and the resources of each.

use crate::api::{ApiResource, Scope};

/// One API group (`""` for the core group, `apps`, `stable.example.com`...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiGroup {
    /// The group's name, empty for the core group.
    pub name: String,
    /// Its versions, most preferred first (the order the server lists them in).
    pub versions: Vec<GroupVersion>,
    /// The version the server prefers, when it named one that was discovered.
    pub preferred_version: Option<String>,
}

impl ApiGroup {
    /// The version the server prefers, else the first one listed.
    pub fn preferred(&self) -> Option<&GroupVersion> {
        self.preferred_version
            .as_deref()
            .and_then(|v| self.version(v))
            .or_else(|| self.versions.first())
    }

    /// One version by name.
    pub fn version(&self, version: &str) -> Option<&GroupVersion> {
        self.versions.iter().find(|v| v.version == version)
    }

    /// The versions in the order to try them: the preferred one first, then the rest as listed.
    pub fn versions_by_preference(&self) -> impl Iterator<Item = &GroupVersion> {
        let preferred = self.preferred();
        preferred.into_iter().chain(
            self.versions
                .iter()
                .filter(move |v| preferred.is_none_or(|p| p.version != v.version)),
        )
    }

    /// Whether this is the core group (`/api`).
    pub fn is_core(&self) -> bool {
        self.name.is_empty()
    }
}

/// One version of a group and the resources it serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupVersion {
    /// The version (`v1`, `v2beta1`...).
    pub version: String,
    /// The resources, as the server listed them.
    pub resources: Vec<DiscoveredResource>,
}

/// A resource as discovery describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveredResource {
    /// Lower-case plural used in URLs (`deployments`).
    pub plural: String,
    /// Lower-case singular (`deployment`); the lower-cased kind when the server gave none.
    pub singular: String,
    /// The kind of its objects (`Deployment`). Empty when the server named none: such a resource
    /// is listed but never resolved, since no object of it can be written.
    pub kind: String,
    /// Namespaced or cluster-scoped.
    pub scope: Scope,
    /// What can be done with it (`get`, `list`, `watch`, `create`...).
    pub verbs: Vec<String>,
    /// Abbreviations (`deploy`).
    pub short_names: Vec<String>,
    /// Categories it belongs to (`all`).
    pub categories: Vec<String>,
    /// Its subresources (`status`, `scale`, `log`...).
    pub subresources: Vec<DiscoveredSubresource>,
}

impl DiscoveredResource {
    /// Whether the server allows `verb` (`"list"`, `"watch"`...) on it.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// One subresource by name.
    pub fn subresource(&self, name: &str) -> Option<&DiscoveredSubresource> {
        self.subresources.iter().find(|s| s.name == name)
    }

    /// The description request builders need, for this resource in `group`/`version`.
    pub fn to_api_resource(&self, group: &str, version: &str) -> ApiResource {
        ApiResource::new(group, version, &self.kind, &self.plural, self.scope)
    }
}

/// A subresource (`pods/log`, `deployments/scale`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveredSubresource {
    /// Its name after the slash (`status`).
    pub name: String,
    /// The kind it takes and returns (`Scale`), empty when the server named none.
    pub kind: String,
    /// The group of that kind when it differs from the parent's (`autoscaling` for `scale`).
    pub kind_group: Option<String>,
    /// The version of that kind when it differs from the parent's.
    pub kind_version: Option<String>,
    /// What can be done with it.
    pub verbs: Vec<String>,
}
