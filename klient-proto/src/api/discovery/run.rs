//! One discovery of a server's API as a sans-IO machine: it says which requests to send and
//! builds an [`ApiCatalog`] from the answers.

use super::aggregated::decode_aggregated;
use super::catalog::{ApiCatalog, FailedGroupVersion};
use super::error::{DiscoveryError, join};
use super::format::{ACCEPT_AGGREGATED, ACCEPT_LEGACY, ResponseFormat};
use super::legacy::{decode_api_versions, decode_group_list, decode_resource_list};
use super::model::ApiGroup;
use crate::api::ResponseError;
use std::collections::VecDeque;

/// By default, at most this many group-versions are asked about one by one in legacy discovery.
/// Large clusters with many custom resources serve a few hundred.
pub const MAX_GROUP_VERSIONS: usize = 2048;

/// Which discovery protocol to speak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DiscoveryMode {
    /// Ask `/api` and `/apis` for aggregated discovery (two requests in all); fall back to the
    /// legacy documents when the server answers with those instead.
    #[default]
    Aggregated,
    /// Only the legacy documents: `/api`, `/apis`, then one request per group-version.
    Legacy,
}

/// What a discovery request asks for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DiscoveryTarget {
    /// `/api`: the core group.
    Core,
    /// `/apis`: every other group.
    Groups,
    /// `/api/{version}` or `/apis/{group}/{version}`: the resources of one group-version.
    GroupVersion {
        /// The group, empty for the core group.
        group: String,
        /// The version.
        version: String,
    },
}

impl DiscoveryTarget {
    /// The request's path.
    pub fn path(&self) -> String {
        match self {
            DiscoveryTarget::Core => "/api".to_owned(),
            DiscoveryTarget::Groups => "/apis".to_owned(),
            DiscoveryTarget::GroupVersion { group, version } if group.is_empty() => {
                format!("/api/{version}")
            }
            DiscoveryTarget::GroupVersion { group, version } => format!("/apis/{group}/{version}"),
        }
    }
}

/// A request to send, and what it is for (hand both back to [`DiscoveryRun::handle_response`]).
#[derive(Debug)]
pub struct DiscoveryRequest {
    /// What the request asks for.
    pub target: DiscoveryTarget,
    /// The request, with an origin-form URI and the `Accept` header set.
    pub request: http::Request<Vec<u8>>,
}

/// One discovery run.
///
/// Drain [`poll_request`](Self::poll_request) and send what it gives, in any order or
/// concurrently; hand each answer to [`handle_response`](Self::handle_response). An answer can
/// call for more requests (legacy discovery asks about each group-version), so poll again after
/// handling; once [`is_finished`](Self::is_finished), [`finish`](Self::finish) returns the catalog.
///
/// ```
/// use klient_proto::api::{DiscoveryMode, DiscoveryRun};
///
/// let mut run = DiscoveryRun::new(DiscoveryMode::Aggregated);
/// let aggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
/// while let Some(next) = run.poll_request() {
///     // ... the adapter sends `next.request` and reads the answer ...
///     let body: &[u8] = match next.request.uri().path() {
///         "/api" => br#"{"items":[{"versions":[{"version":"v1","resources":[{"resource":"pods",
///                      "responseKind":{"kind":"Pod"},"scope":"Namespaced","shortNames":["po"]}]}]}]}"#,
///         _ => br#"{"items":[]}"#,
///     };
///     run.handle_response(&next.target, 200, Some(aggregated), body).unwrap();
/// }
/// let catalog = run.finish().unwrap();
/// assert_eq!(catalog.resolve("po").unwrap().plural, "pods");
/// ```
#[derive(Debug)]
pub struct DiscoveryRun {
    mode: DiscoveryMode,
    max_group_versions: usize,
    to_send: VecDeque<DiscoveryTarget>,
    awaiting: Vec<DiscoveryTarget>,
    group_versions_asked: usize,
    core: Vec<ApiGroup>,
    groups: Vec<ApiGroup>,
    failures: Vec<FailedGroupVersion>,
}

impl DiscoveryRun {
    /// A run that will start with `/api` and `/apis`.
    pub fn new(mode: DiscoveryMode) -> Self {
        DiscoveryRun {
            mode,
            max_group_versions: MAX_GROUP_VERSIONS,
            to_send: VecDeque::from([DiscoveryTarget::Core, DiscoveryTarget::Groups]),
            awaiting: Vec::new(),
            group_versions_asked: 0,
            core: Vec::new(),
            groups: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// Changes how many group-versions legacy discovery may ask about
    /// (default [`MAX_GROUP_VERSIONS`]).
    #[must_use]
    pub fn max_group_versions(mut self, max: usize) -> Self {
        self.max_group_versions = max;
        self
    }

    /// The protocol this run speaks.
    pub fn mode(&self) -> DiscoveryMode {
        self.mode
    }

    /// Whether every request was sent and answered.
    pub fn is_finished(&self) -> bool {
        self.to_send.is_empty() && self.awaiting.is_empty()
    }

    /// The next request to send, if any.
    pub fn poll_request(&mut self) -> Option<DiscoveryRequest> {
        loop {
            let target = self.to_send.pop_front()?;
            let accept = match (&target, self.mode) {
                (DiscoveryTarget::GroupVersion { .. }, _) | (_, DiscoveryMode::Legacy) => ACCEPT_LEGACY,
                (_, DiscoveryMode::Aggregated) => ACCEPT_AGGREGATED,
            };
            let built = http::Request::get(target.path())
                .header(http::header::ACCEPT, accept)
                .body(Vec::new());
            match (built, &target) {
                (Ok(request), _) => {
                    self.awaiting.push(target.clone());
                    return Some(DiscoveryRequest { target, request });
                }
                // `ask_about` checked every segment, so this is not expected; but a name the
                // `http` crate still refuses costs only its own group-version.
                (Err(_), DiscoveryTarget::GroupVersion { group, version }) => {
                    let error = DiscoveryError::InvalidName {
                        name: join(group, version),
                    };
                    let (group, version) = (group.clone(), version.clone());
                    self.fail(&group, &version, error);
                }
                (Err(_), _) => {}
            }
        }
    }

    /// Takes the answer to a request from [`poll_request`](Self::poll_request): its status code,
    /// `Content-Type` and body.
    ///
    /// A failure of `/api` or `/apis` fails the run (returned here). A failure of one
    /// group-version does not: it is recorded in [`ApiCatalog::failures`] and the run goes on.
    pub fn handle_response(
        &mut self,
        target: &DiscoveryTarget,
        code: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), DiscoveryError> {
        let Some(index) = self.awaiting.iter().position(|t| t == target) else {
            return Err(DiscoveryError::NotRequested { path: target.path() });
        };
        self.awaiting.swap_remove(index);
        let path = target.path();
        let format = ResponseFormat::of(content_type);
        let response_error = |error: ResponseError| DiscoveryError::Response {
            path: path.clone(),
            error,
        };
        let content_error = || {
            if (200..300).contains(&code) {
                DiscoveryError::UnexpectedContentType {
                    path: path.clone(),
                    content_type: content_type.unwrap_or_default().to_owned(),
                }
            } else {
                response_error(crate::api::decode_error(code, body))
            }
        };
        match target {
            DiscoveryTarget::Core | DiscoveryTarget::Groups if format.is_aggregated() => {
                let found = decode_aggregated(code, body).map_err(response_error)?;
                for (group, version) in found.stale {
                    self.failures.push(FailedGroupVersion {
                        error: DiscoveryError::Stale {
                            group: group.clone(),
                            version: version.clone(),
                        },
                        group,
                        version,
                    });
                }
                self.store(target, found.groups);
            }
            DiscoveryTarget::Core | DiscoveryTarget::Groups if format == ResponseFormat::LegacyJson => {
                let groups = match target {
                    DiscoveryTarget::Core => vec![decode_api_versions(code, body).map_err(response_error)?],
                    _ => decode_group_list(code, body).map_err(response_error)?,
                };
                for group in &groups {
                    for version in &group.versions {
                        self.ask_about(&group.name, &version.version)?;
                    }
                }
                self.store(target, groups);
            }
            DiscoveryTarget::Core | DiscoveryTarget::Groups => return Err(content_error()),
            DiscoveryTarget::GroupVersion { group, version } => {
                let outcome = if format == ResponseFormat::LegacyJson {
                    decode_resource_list(code, body).map_err(response_error)
                } else {
                    Err(content_error())
                };
                match outcome {
                    Ok(resources) => {
                        let slot = self
                            .core
                            .iter_mut()
                            .chain(self.groups.iter_mut())
                            .filter(|g| g.name == *group)
                            .flat_map(|g| g.versions.iter_mut())
                            .find(|v| v.version == *version);
                        if let Some(slot) = slot {
                            slot.resources = resources;
                        }
                    }
                    Err(error) => self.fail(group, version, error),
                }
            }
        }
        Ok(())
    }

    /// The catalog, once every request was answered.
    pub fn finish(self) -> Result<ApiCatalog, DiscoveryError> {
        if !self.is_finished() {
            return Err(DiscoveryError::Unfinished {
                outstanding: self.to_send.len() + self.awaiting.len(),
            });
        }
        let failures = self.failures;
        let mut groups = self.core;
        groups.extend(self.groups);
        for group in &mut groups {
            // Legacy group-versions that failed have no answer: leave them out.
            group.versions.retain(|v| {
                !failures
                    .iter()
                    .any(|f| f.group == group.name && f.version == v.version)
            });
            if let Some(preferred) = &group.preferred_version
                && group.version(preferred).is_none()
            {
                group.preferred_version = group.versions.first().map(|v| v.version.clone());
            }
        }
        Ok(ApiCatalog { groups, failures })
    }

    fn store(&mut self, target: &DiscoveryTarget, groups: Vec<ApiGroup>) {
        match target {
            DiscoveryTarget::Core => self.core = groups,
            _ => self.groups = groups,
        }
    }

    /// Queues a legacy group-version request, unless its names cannot form a path.
    fn ask_about(&mut self, group: &str, version: &str) -> Result<(), DiscoveryError> {
        self.group_versions_asked += 1;
        if self.group_versions_asked > self.max_group_versions {
            return Err(DiscoveryError::TooManyGroupVersions {
                count: self.group_versions_asked,
                max: self.max_group_versions,
            });
        }
        if let Some(bad) = [group, version]
            .into_iter()
            .enumerate()
            .find(|(i, s)| !is_path_segment(s, *i == 0))
        {
            let error = DiscoveryError::InvalidName {
                name: bad.1.to_owned(),
            };
            self.fail(group, version, error);
            return Ok(());
        }
        self.to_send.push_back(DiscoveryTarget::GroupVersion {
            group: group.to_owned(),
            version: version.to_owned(),
        });
        Ok(())
    }

    fn fail(&mut self, group: &str, version: &str, error: DiscoveryError) {
        self.failures.push(FailedGroupVersion {
            group: group.to_owned(),
            version: version.to_owned(),
            error,
        });
    }
}

/// Whether a group (may be empty: the core group) or version name can go into a path as it is.
fn is_path_segment(name: &str, may_be_empty: bool) -> bool {
    if name.is_empty() {
        return may_be_empty;
    }
    name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Scope;

    const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    const JSON: &str = "application/json";
    const NOT_FOUND: &[u8] =
        br#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#;

    fn testdata(path: &str) -> Option<&'static [u8]> {
        Some(match path {
            "/api" => include_bytes!("testdata/legacy_api.json"),
            "/apis" => include_bytes!("testdata/legacy_apis.json"),
            "/api/v1" => include_bytes!("testdata/legacy_core_v1.json"),
            "/apis/apps/v1" => include_bytes!("testdata/legacy_apps_v1.json"),
            "/apis/apiextensions.k8s.io/v1" => include_bytes!("testdata/legacy_apiext_v1.json"),
            _ => return None,
        })
    }

    /// A server that answers only with the legacy documents (and 404 for groups not captured).
    fn legacy_server(run: &mut DiscoveryRun) -> Vec<DiscoveryRequest> {
        let mut sent = Vec::new();
        while let Some(next) = run.poll_request() {
            let path = next.request.uri().path().to_owned();
            match testdata(&path) {
                Some(body) => run.handle_response(&next.target, 200, Some(JSON), body).unwrap(),
                None => run
                    .handle_response(&next.target, 404, Some(JSON), NOT_FOUND)
                    .unwrap(),
            }
            sent.push(next);
        }
        sent
    }

    fn accept(request: &DiscoveryRequest) -> &str {
        request.request.headers()[http::header::ACCEPT].to_str().unwrap()
    }

    #[test]
    fn aggregated_discovery_takes_two_requests() {
        let mut run = DiscoveryRun::new(DiscoveryMode::Aggregated);
        let first = run.poll_request().unwrap();
        let second = run.poll_request().unwrap();
        assert!(run.poll_request().is_none());
        assert!(!run.is_finished());
        assert_eq!(first.request.uri(), "/api");
        assert_eq!(second.request.uri(), "/apis");
        assert_eq!(accept(&first), ACCEPT_AGGREGATED);
        // Answers may come in any order.
        let apis = include_bytes!("testdata/agg_apis.json");
        run.handle_response(&second.target, 200, Some(AGGREGATED), apis)
            .unwrap();
        let api = include_bytes!("testdata/agg_api.json");
        run.handle_response(&first.target, 200, Some(AGGREGATED), api)
            .unwrap();
        assert!(run.is_finished());
        let catalog = run.finish().unwrap();
        assert!(catalog.failures().is_empty());
        assert!(catalog.groups()[0].is_core(), "the core group comes first");
        assert_eq!(catalog.groups()[1].name, "apiregistration.k8s.io");
        assert_eq!(catalog.resolve("deploy").unwrap().api_version, "apps/v1");
        assert_eq!(catalog.resolve("po").unwrap().scope, Scope::Namespaced);
        let pods = catalog.find("", "v1", "pods").unwrap();
        assert!(pods.subresource("status").is_some());
    }

    #[test]
    fn a_legacy_answer_to_an_aggregated_request_falls_back() {
        let mut run = DiscoveryRun::new(DiscoveryMode::Aggregated);
        let sent = legacy_server(&mut run);
        let paths: Vec<_> = sent.iter().map(|r| r.request.uri().path()).collect();
        assert_eq!(paths[..3], ["/api", "/apis", "/api/v1"]);
        assert!(paths.contains(&"/apis/autoscaling/v2") && paths.contains(&"/apis/autoscaling/v1"));
        assert!(sent[2..].iter().all(|r| accept(r) == ACCEPT_LEGACY));
        let catalog = run.finish().unwrap();
        assert_eq!(catalog.resolve("po").unwrap().api_version, "v1");
        assert_eq!(catalog.resolve("deploy").unwrap().api_version, "apps/v1");
        assert_eq!(
            catalog.resolve("crd").unwrap().plural,
            "customresourcedefinitions"
        );
        // Every group-version not captured answered 404: each is a failure, and missing.
        let failed = catalog.failures().len();
        assert_eq!(failed, sent.len() - 5);
        let autoscaling = catalog.group("autoscaling").unwrap();
        assert!(autoscaling.versions.is_empty());
        assert_eq!(autoscaling.preferred_version, None);
        let f = catalog.failures().iter().find(|f| f.group == "batch").unwrap();
        assert!(matches!(&f.error, DiscoveryError::Response { path, .. } if path == "/apis/batch/v1"));
        assert!(f.error.to_string().contains("/apis/batch/v1"));
    }

    #[test]
    fn legacy_mode_never_asks_for_aggregated_discovery() {
        let mut run = DiscoveryRun::new(DiscoveryMode::Legacy);
        let sent = legacy_server(&mut run);
        assert!(sent.iter().all(|r| accept(r) == ACCEPT_LEGACY));
        assert_eq!(run.mode(), DiscoveryMode::Legacy);
        let catalog = run.finish().unwrap();
        assert_eq!(catalog.resolve("svc").unwrap().plural, "services");
    }

    #[test]
    fn legacy_and_aggregated_agree_on_captured_groups() {
        let mut legacy = DiscoveryRun::new(DiscoveryMode::Legacy);
        legacy_server(&mut legacy);
        let legacy = legacy.finish().unwrap();
        let mut aggregated = DiscoveryRun::new(DiscoveryMode::Aggregated);
        while let Some(next) = aggregated.poll_request() {
            let body: &[u8] = match next.target {
                DiscoveryTarget::Core => include_bytes!("testdata/agg_api.json"),
                _ => include_bytes!("testdata/agg_apis.json"),
            };
            aggregated
                .handle_response(&next.target, 200, Some(AGGREGATED), body)
                .unwrap();
        }
        let aggregated = aggregated.finish().unwrap();
        let mut compared = 0;
        for (group, version) in [("", "v1"), ("apps", "v1"), ("apiextensions.k8s.io", "v1")] {
            let a = &aggregated
                .group(group)
                .unwrap()
                .version(version)
                .unwrap()
                .resources;
            let l = &legacy.group(group).unwrap().version(version).unwrap().resources;
            assert_eq!(a.len(), l.len());
            for r in a {
                let other = l.iter().find(|x| x.plural == r.plural).unwrap();
                assert_eq!(r.kind, other.kind);
                assert_eq!(r.scope, other.scope);
                assert_eq!(r.short_names, other.short_names);
                assert_eq!(r.verbs, other.verbs);
                let names = |r: &crate::api::DiscoveredResource| {
                    let mut n: Vec<_> = r.subresources.iter().map(|s| s.name.clone()).collect();
                    n.sort();
                    n
                };
                assert_eq!(names(r), names(other), "{}", r.plural);
                compared += 1;
            }
        }
        assert_eq!(compared, 23);
    }

    #[test]
    fn stale_group_versions_are_failures_and_the_rest_is_kept() {
        let mut run = DiscoveryRun::new(DiscoveryMode::Aggregated);
        let body = br#"{"items":[{"metadata":{"name":"metrics.k8s.io"},"versions":[
            {"version":"v1beta2","freshness":"Stale"},
            {"version":"v1beta1","freshness":"Current","resources":[{"resource":"pods",
              "responseKind":{"kind":"PodMetrics"},"scope":"Namespaced"}]}]}]}"#;
        while let Some(next) = run.poll_request() {
            let body: &[u8] = if next.target == DiscoveryTarget::Groups {
                body
            } else {
                br#"{"items":[]}"#
            };
            run.handle_response(&next.target, 200, Some(AGGREGATED), body)
                .unwrap();
        }
        let catalog = run.finish().unwrap();
        assert!(matches!(
            catalog.failures()[0].error,
            DiscoveryError::Stale { .. }
        ));
        assert_eq!(
            catalog.failures()[0].error.to_string(),
            "discovery of metrics.k8s.io/v1beta2: the server marks it stale"
        );
        assert_eq!(catalog.resolve("pods.metrics.k8s.io").unwrap().version, "v1beta1");
    }

    #[test]
    fn root_failures_fail_the_run() {
        let mut run = DiscoveryRun::new(DiscoveryMode::Aggregated);
        let api = run.poll_request().unwrap();
        let forbidden = br#"{"kind":"Status","status":"Failure","reason":"Forbidden","code":403}"#;
        let err = run
            .handle_response(&api.target, 403, Some(JSON), forbidden)
            .unwrap_err();
        let DiscoveryError::Response { path, error } = &err else {
            panic!("{err:?}");
        };
        assert_eq!((path.as_str(), error.code()), ("/api", 403));

        let mut run = DiscoveryRun::new(DiscoveryMode::Aggregated);
        let api = run.poll_request().unwrap();
        let err = run
            .handle_response(&api.target, 200, Some("text/html"), b"<html>")
            .unwrap_err();
        assert!(
            matches!(err, DiscoveryError::UnexpectedContentType { .. }),
            "{err:?}"
        );
        let apis = run.poll_request().unwrap();
        let err = run
            .handle_response(&apis.target, 502, Some("text/html"), b"<html>")
            .unwrap_err();
        assert!(
            matches!(&err, DiscoveryError::Response { error, .. } if error.code() == 502),
            "{err:?}"
        );
        let err = run
            .handle_response(&apis.target, 200, Some(AGGREGATED), b"{}")
            .unwrap_err();
        assert!(matches!(err, DiscoveryError::NotRequested { .. }), "{err:?}");
    }

    #[test]
    fn finishing_early_and_answering_the_unasked_are_errors() {
        let mut run = DiscoveryRun::new(DiscoveryMode::Aggregated);
        let _api = run.poll_request().unwrap();
        let target = DiscoveryTarget::GroupVersion {
            group: "apps".into(),
            version: "v1".into(),
        };
        let err = run.handle_response(&target, 200, Some(JSON), b"{}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "a discovery response for /apis/apps/v1, which was not requested"
        );
        let err = run.finish().unwrap_err();
        assert!(
            matches!(err, DiscoveryError::Unfinished { outstanding: 2 }),
            "{err:?}"
        );
    }

    #[test]
    fn too_many_group_versions_stop_the_run() {
        let mut run = DiscoveryRun::new(DiscoveryMode::Legacy).max_group_versions(3);
        let _api = run.poll_request().unwrap();
        let apis = run.poll_request().unwrap();
        let body = include_bytes!("testdata/legacy_apis.json");
        let err = run
            .handle_response(&apis.target, 200, Some(JSON), body)
            .unwrap_err();
        assert!(
            matches!(err, DiscoveryError::TooManyGroupVersions { count: 4, max: 3 }),
            "{err:?}"
        );
    }

    #[test]
    fn names_that_would_change_the_path_are_not_requested() {
        let mut run = DiscoveryRun::new(DiscoveryMode::Legacy);
        let api = run.poll_request().unwrap();
        run.handle_response(
            &api.target,
            200,
            Some(JSON),
            br#"{"versions":["..","v1/../../x"]}"#,
        )
        .unwrap();
        let apis = run.poll_request().unwrap();
        let body = br#"{"groups":[{"name":"a/b","versions":[{"version":"v1"}]},
            {"name":"ok.dev","versions":[{"version":"v1 x"},{"version":"v1"}],"preferredVersion":{"version":"v1 x"}}]}"#;
        run.handle_response(&apis.target, 200, Some(JSON), body).unwrap();
        let next = run.poll_request().unwrap();
        assert_eq!(next.request.uri(), "/apis/ok.dev/v1");
        assert!(run.poll_request().is_none());
        let resources = br#"{"resources":[{"name":"things","kind":"Thing","namespaced":true}]}"#;
        run.handle_response(&next.target, 200, Some(JSON), resources)
            .unwrap();
        let catalog = run.finish().unwrap();
        assert_eq!(catalog.failures().len(), 4);
        assert!(
            catalog
                .failures()
                .iter()
                .all(|f| matches!(f.error, DiscoveryError::InvalidName { .. }))
        );
        let ok = catalog.group("ok.dev").unwrap();
        assert_eq!(
            ok.preferred_version.as_deref(),
            Some("v1"),
            "a failed preferred version is replaced"
        );
        assert_eq!(catalog.resolve("things").unwrap().api_version, "ok.dev/v1");
    }

    #[test]
    fn a_broken_group_version_costs_only_itself() {
        let mut run = DiscoveryRun::new(DiscoveryMode::Legacy);
        let mut sent = 0;
        while let Some(next) = run.poll_request() {
            sent += 1;
            let path = next.request.uri().path().to_owned();
            let (content_type, body): (&str, &[u8]) = match path.as_str() {
                "/api" => (JSON, include_bytes!("testdata/legacy_api.json")),
                "/apis" => (JSON, br#"{"groups":[{"name":"a.dev","versions":[{"version":"v1"}]},{"name":"b.dev","versions":[{"version":"v1"}]}]}"#),
                "/api/v1" => (JSON, &include_bytes!("testdata/legacy_core_v1.json")[..100]),
                "/apis/a.dev/v1" => ("application/vnd.kubernetes.protobuf", b"k8s\0"),
                _ => (JSON, br#"{"resources":[{"name":"bees","kind":"Bee"}]}"#),
            };
            run.handle_response(&next.target, 200, Some(content_type), body)
                .unwrap();
        }
        assert_eq!(sent, 5);
        let catalog = run.finish().unwrap();
        let failed: Vec<_> = catalog.failures().iter().map(|f| f.group.as_str()).collect();
        assert_eq!(failed, ["", "a.dev"]);
        assert!(matches!(
            catalog.failures()[1].error,
            DiscoveryError::UnexpectedContentType { .. }
        ));
        assert_eq!(catalog.resolve("bees").unwrap().scope, Scope::Cluster);
        assert!(catalog.resolve("pods").is_err());
    }
}
