//! Turning what a user types (`deploy`, `Deployment`, `deployments.apps`, `crd`) into the
//! [`ApiResource`] the request builders need.

use super::catalog::ApiCatalog;
use super::model::{DiscoveredResource, GroupVersion};
use crate::api::ApiResource;
use std::fmt;

/// A name did not resolve to exactly one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LookupError {
    /// No resource has this plural, singular, short name or kind (subresources such as
    /// `pods/log` are never resolved).
    NotFound {
        /// The name asked for.
        name: String,
    },
    /// Resources of several groups answer to this name; qualify it with a group
    /// (`widgets.example.com`) to choose.
    Ambiguous {
        /// The name asked for.
        name: String,
        /// Each group's match, at that group's preferred version.
        candidates: Vec<ApiResource>,
    },
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::NotFound { name } => write!(f, "the server has no resource type {name:?}"),
            LookupError::Ambiguous { name, candidates } => {
                write!(f, "{name:?} matches resources of several groups:")?;
                for c in candidates {
                    let group = if c.group.is_empty() { "core" } else { &c.group };
                    write!(f, " {}.{group} ({}/{}),", c.plural, c.api_version, c.kind)?;
                }
                f.write_str(" qualify it with a group")
            }
        }
    }
}

impl std::error::Error for LookupError {}

/// How well a resource matches a name; lower is better. A plural beats a singular, which beats a
/// short name, which beats a kind, so that a resource named exactly as typed always wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Match {
    Plural,
    Singular,
    ShortName,
    Kind,
}

fn match_of(resource: &DiscoveredResource, name: &str) -> Option<Match> {
    if resource.kind.is_empty() {
        return None; // nothing could be written to it
    }
    if resource.plural.eq_ignore_ascii_case(name) {
        Some(Match::Plural)
    } else if resource.singular.eq_ignore_ascii_case(name) {
        Some(Match::Singular)
    } else if resource.short_names.iter().any(|s| s.eq_ignore_ascii_case(name)) {
        Some(Match::ShortName)
    } else if resource.kind.eq_ignore_ascii_case(name) {
        Some(Match::Kind)
    } else {
        None
    }
}

/// Whether a segment reads as a Kubernetes version (`v1`, `v2beta1`), not a group's first label.
fn looks_like_version(segment: &str) -> bool {
    let mut chars = segment.chars();
    chars.next() == Some('v')
        && chars.next().is_some_and(|c| c.is_ascii_digit())
        && segment
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

impl ApiCatalog {
    /// Resolves a resource name as kubectl accepts it: a plural (`deployments`), a singular
    /// (`deployment`), a short name (`deploy`) or a kind (`Deployment`), case-insensitively,
    /// optionally qualified with a group (`deployments.apps`, `Deployment.apps`) or a version and
    /// a group (`deployments.v1.apps`); a trailing dot names the core group (`events.`). Without a version, the group's preferred version that
    /// serves the resource is used.
    ///
    /// When several groups match, the core group wins (as in kubectl: `events` is core/v1
    /// events, not events.k8s.io's); otherwise the result is [`LookupError::Ambiguous`].
    ///
    /// ```
    /// use klient_proto::api::{ApiCatalog, decode_aggregated};
    /// # let body = br#"{"items":[{"metadata":{"name":"apps"},"versions":[{"version":"v1",
    /// #   "resources":[{"resource":"deployments","responseKind":{"kind":"Deployment"},
    /// #   "scope":"Namespaced","singularResource":"deployment","shortNames":["deploy"]}]}]}]}"#;
    /// let catalog = ApiCatalog::from_groups(decode_aggregated(200, body).unwrap().groups);
    /// let deployments = catalog.resolve("deploy").unwrap();
    /// assert_eq!(deployments.api_version, "apps/v1");
    /// assert_eq!(deployments.plural, "deployments");
    /// assert_eq!(catalog.resolve("Deployment.apps").unwrap(), deployments);
    /// assert!(catalog.resolve("deployments/scale").is_err());
    /// ```
    pub fn resolve(&self, name: &str) -> Result<ApiResource, LookupError> {
        let Some((base, qualifier)) = name.split_once('.') else {
            return self.pick(name, name, None, None);
        };
        if let Some((version, group)) = qualifier.split_once('.')
            && looks_like_version(version)
            && self.group(group).is_some_and(|g| g.version(version).is_some())
        {
            return self.pick(name, base, Some(group), Some(version));
        }
        self.pick(name, base, Some(qualifier), None)
    }

    /// Resolves a plural, singular, short name or kind within one group (`""` for the core group).
    pub fn resolve_in_group(&self, name: &str, group: &str) -> Result<ApiResource, LookupError> {
        self.pick(name, name, Some(group), None)
    }

    fn pick(
        &self,
        asked: &str,
        name: &str,
        group: Option<&str>,
        version: Option<&str>,
    ) -> Result<ApiResource, LookupError> {
        let not_found = || LookupError::NotFound {
            name: asked.to_owned(),
        };
        if name.is_empty() || name.contains('/') {
            return Err(not_found());
        }
        // Each group's best match, at the first version (by preference) that has one.
        let mut found: Vec<(Match, bool, ApiResource)> = Vec::new();
        for g in self
            .groups
            .iter()
            .filter(|g| group.is_none_or(|want| g.name == want))
        {
            let versions: Vec<&GroupVersion> = match version {
                Some(v) => g.version(v).into_iter().collect(),
                None => g.versions_by_preference().collect(),
            };
            for v in versions {
                let matches: Vec<(Match, &DiscoveredResource)> = v
                    .resources
                    .iter()
                    .filter_map(|r| match_of(r, name).map(|m| (m, r)))
                    .collect();
                let Some(best) = matches.iter().map(|(m, _)| *m).min() else {
                    continue;
                };
                for (_, r) in matches.into_iter().filter(|(m, _)| *m == best) {
                    found.push((best, g.is_core(), r.to_api_resource(&g.name, &v.version)));
                }
                break;
            }
        }
        let Some(best) = found.iter().map(|(m, ..)| *m).min() else {
            return Err(not_found());
        };
        let mut candidates: Vec<(bool, ApiResource)> = found
            .into_iter()
            .filter(|(m, ..)| *m == best)
            .map(|(_, core, r)| (core, r))
            .collect();
        if candidates.len() > 1 && candidates.iter().filter(|(core, _)| *core).count() == 1 {
            candidates.retain(|(core, _)| *core);
        }
        let mut candidates: Vec<ApiResource> = candidates.into_iter().map(|(_, r)| r).collect();
        match candidates.len() {
            1 => Ok(candidates.remove(0)),
            _ => Err(LookupError::Ambiguous {
                name: asked.to_owned(),
                candidates,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Scope;
    use crate::api::discovery::aggregated::decode_aggregated;
    use crate::api::discovery::model::ApiGroup;

    fn real() -> ApiCatalog {
        let mut groups = decode_aggregated(200, include_bytes!("testdata/agg_api.json"))
            .unwrap()
            .groups;
        groups.extend(
            decode_aggregated(200, include_bytes!("testdata/agg_apis.json"))
                .unwrap()
                .groups,
        );
        ApiCatalog::from_groups(groups)
    }

    fn resource(plural: &str, kind: &str, short: &[&str]) -> DiscoveredResource {
        DiscoveredResource {
            plural: plural.into(),
            singular: kind.to_ascii_lowercase(),
            kind: kind.into(),
            scope: Scope::Namespaced,
            verbs: vec!["get".into()],
            short_names: short.iter().map(|s| s.to_string()).collect(),
            categories: vec![],
            subresources: vec![],
        }
    }

    fn group(name: &str, resources: Vec<DiscoveredResource>) -> ApiGroup {
        ApiGroup {
            name: name.into(),
            versions: vec![GroupVersion {
                version: "v1".into(),
                resources,
            }],
            preferred_version: Some("v1".into()),
        }
    }

    #[track_caller]
    fn check(catalog: &ApiCatalog, name: &str, api_version: &str, plural: &str) {
        let ar = catalog.resolve(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (ar.api_version.as_str(), ar.plural.as_str()),
            (api_version, plural),
            "{name}"
        );
    }

    #[test]
    fn every_form_of_a_name_resolves() {
        let c = real();
        for name in ["po", "pods", "pod", "Pod", "POD", "PoDs"] {
            check(&c, name, "v1", "pods");
        }
        for name in [
            "deploy",
            "deployments",
            "deployment",
            "Deployment",
            "deployments.apps",
            "Deployment.apps",
            "deploy.apps",
            "deployments.v1.apps",
        ] {
            check(&c, name, "apps/v1", "deployments");
        }
        check(&c, "svc", "v1", "services");
        check(&c, "crd", "apiextensions.k8s.io/v1", "customresourcedefinitions");
        check(&c, "crds", "apiextensions.k8s.io/v1", "customresourcedefinitions");
        check(
            &c,
            "CustomResourceDefinition",
            "apiextensions.k8s.io/v1",
            "customresourcedefinitions",
        );
        let crd = c.resolve("crd").unwrap();
        assert_eq!(crd.scope, Scope::Cluster);
        assert_eq!(crd.kind, "CustomResourceDefinition");
        assert!(c.resolve("pods").unwrap().is_namespaced());
    }

    #[test]
    fn preferred_version_unless_one_is_named() {
        let c = real();
        check(&c, "hpa", "autoscaling/v2", "horizontalpodautoscalers");
        check(
            &c,
            "hpa.v1.autoscaling",
            "autoscaling/v1",
            "horizontalpodautoscalers",
        );
        assert!(c.resolve("hpa.v9.autoscaling").is_err());
    }

    #[test]
    fn core_group_wins_over_other_groups() {
        let c = real();
        check(&c, "events", "v1", "events");
        check(&c, "ev", "v1", "events");
        check(&c, "events.events.k8s.io", "events.k8s.io/v1", "events");
        check(&c, "Event.events.k8s.io", "events.k8s.io/v1", "events");
        let ar = c.resolve_in_group("ev", "events.k8s.io").unwrap();
        assert_eq!(ar.group, "events.k8s.io");
    }

    #[test]
    fn subresources_and_unknown_names_are_not_found() {
        let c = real();
        for name in [
            "pods/log",
            "deployments/scale",
            "log",
            "nothing",
            "",
            ".",
            "pods.nogroup",
        ] {
            assert_eq!(
                c.resolve(name),
                Err(LookupError::NotFound { name: name.into() }),
                "{name}"
            );
        }
    }

    #[test]
    fn a_trailing_dot_names_the_core_group() {
        let c = real();
        check(&c, "pods.", "v1", "pods");
        check(&c, "events.", "v1", "events");
        assert!(c.resolve("deployments.").is_err());
    }

    #[test]
    fn same_name_in_two_groups_is_ambiguous() {
        let c = ApiCatalog::from_groups(vec![
            group("a.dev", vec![resource("widgets", "Widget", &["wd"])]),
            group("b.dev", vec![resource("widgets", "Widget", &["wd"])]),
        ]);
        for name in ["widgets", "Widget", "wd"] {
            let Err(LookupError::Ambiguous { candidates, .. }) = c.resolve(name) else {
                panic!("{name} should be ambiguous");
            };
            let groups: Vec<_> = candidates.iter().map(|c| c.group.as_str()).collect();
            assert_eq!(groups, ["a.dev", "b.dev"]);
        }
        let message = c.resolve("wd").unwrap_err().to_string();
        assert!(message.contains("widgets.a.dev (a.dev/v1/Widget)"), "{message}");
        check(&c, "widgets.b.dev", "b.dev/v1", "widgets");
        check(&c, "wd.a.dev", "a.dev/v1", "widgets");
    }

    #[test]
    fn a_plural_beats_a_short_name_elsewhere() {
        let c = ApiCatalog::from_groups(vec![
            group("a.dev", vec![resource("gizmos", "Gizmo", &["things"])]),
            group("b.dev", vec![resource("things", "Thing", &[])]),
        ]);
        check(&c, "things", "b.dev/v1", "things");
        check(&c, "gizmo", "a.dev/v1", "gizmos");
    }

    #[test]
    fn resources_without_a_kind_are_never_resolved() {
        let c = ApiCatalog::from_groups(vec![group("a.dev", vec![resource("ghosts", "", &["gh"])])]);
        assert!(c.resolve("ghosts").is_err());
        assert!(c.resolve("gh").is_err());
    }

    #[test]
    fn a_version_looking_group_label_still_works_as_a_group() {
        let c = ApiCatalog::from_groups(vec![group("v1.example", vec![resource("things", "Thing", &[])])]);
        check(&c, "things.v1.example", "v1.example/v1", "things");
        assert!(looks_like_version("v2beta1"));
        assert!(!looks_like_version("vx"));
        assert!(!looks_like_version("apps"));
    }
}
