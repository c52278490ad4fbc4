//! Options of each API call, mirroring the query parameters and options bodies the server takes.

use super::error::RequestError;
use serde::Serialize;

/// A query string under construction; every value is form-urlencoded.
pub(crate) struct Query(form_urlencoded::Serializer<'static, String>);

impl Query {
    pub(crate) fn new() -> Self {
        Query(form_urlencoded::Serializer::new(String::new()))
    }

    pub(crate) fn push(&mut self, key: &str, value: &str) {
        self.0.append_pair(key, value);
    }

    fn push_opt(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.push(key, value);
        }
    }

    fn push_num(&mut self, key: &str, value: Option<impl ToString>) {
        if let Some(value) = value {
            self.push(key, &value.to_string());
        }
    }

    fn push_flag(&mut self, key: &str, on: bool) {
        if on {
            self.push(key, "true");
        }
    }

    /// The encoded query, without the leading `?`; empty when nothing was pushed.
    pub(crate) fn finish(mut self) -> String {
        self.0.finish()
    }
}

/// How a list's `resourceVersion` is interpreted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceVersionMatch {
    /// Any data at least as new as the resourceVersion (may be served from the watch cache).
    NotOlderThan,
    /// Exactly that resourceVersion (fails with 410 Expired once compacted).
    Exact,
}

impl ResourceVersionMatch {
    fn as_str(self) -> &'static str {
        match self {
            ResourceVersionMatch::NotOlderThan => "NotOlderThan",
            ResourceVersionMatch::Exact => "Exact",
        }
    }
}

/// Options of a list (and of the selection of a delete-collection).
///
/// ```
/// use klient_proto::api::ListParams;
/// let lp = ListParams::default().labels("app=web,tier in (a,b)").limit(100);
/// assert_eq!(lp.limit, Some(100));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListParams {
    /// `labelSelector`, e.g. `app=web,tier!=db`.
    pub label_selector: Option<String>,
    /// `fieldSelector`, e.g. `status.phase=Running`.
    pub field_selector: Option<String>,
    /// `limit`: page size; the response's `continue` token fetches the next page.
    pub limit: Option<u32>,
    /// `continue`: the token from the previous page.
    pub continue_token: Option<String>,
    /// `resourceVersion`: unset for a consistent read, `"0"` for any cached data.
    pub resource_version: Option<String>,
    /// `resourceVersionMatch`.
    pub resource_version_match: Option<ResourceVersionMatch>,
    /// `timeoutSeconds`: server-side limit on the call.
    pub timeout: Option<u32>,
}

impl ListParams {
    /// Sets the label selector.
    #[must_use]
    pub fn labels(mut self, selector: &str) -> Self {
        self.label_selector = Some(selector.to_string());
        self
    }

    /// Sets the field selector.
    #[must_use]
    pub fn fields(mut self, selector: &str) -> Self {
        self.field_selector = Some(selector.to_string());
        self
    }

    /// Sets the page size.
    #[must_use]
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Continues a paged list.
    #[must_use]
    pub fn continue_token(mut self, token: &str) -> Self {
        self.continue_token = Some(token.to_string());
        self
    }

    /// Reads at a resourceVersion, interpreted as `matching`.
    #[must_use]
    pub fn at(mut self, resource_version: &str, matching: ResourceVersionMatch) -> Self {
        self.resource_version = Some(resource_version.to_string());
        self.resource_version_match = Some(matching);
        self
    }

    /// Accepts any cached data (`resourceVersion=0`, `NotOlderThan`): cheapest for the server.
    #[must_use]
    pub fn match_any(self) -> Self {
        self.at("0", ResourceVersionMatch::NotOlderThan)
    }

    /// Sets the server-side timeout.
    #[must_use]
    pub fn timeout(mut self, seconds: u32) -> Self {
        self.timeout = Some(seconds);
        self
    }

    /// Rejects combinations the server would refuse.
    pub fn validate(&self) -> Result<(), RequestError> {
        if self.resource_version_match.is_some() && self.resource_version.is_none() {
            return Err(RequestError::ResourceVersionMatchWithoutVersion);
        }
        if self.continue_token.is_some() && self.resource_version.is_some() {
            return Err(RequestError::ContinueWithResourceVersion);
        }
        Ok(())
    }

    pub(crate) fn append(&self, q: &mut Query) -> Result<(), RequestError> {
        self.validate()?;
        q.push_opt("labelSelector", self.label_selector.as_deref());
        q.push_opt("fieldSelector", self.field_selector.as_deref());
        q.push_num("limit", self.limit);
        q.push_opt("continue", self.continue_token.as_deref());
        q.push_opt("resourceVersion", self.resource_version.as_deref());
        q.push_opt(
            "resourceVersionMatch",
            self.resource_version_match.map(ResourceVersionMatch::as_str),
        );
        q.push_num("timeoutSeconds", self.timeout);
        Ok(())
    }
}

/// Options of a watch, including the streaming list (`sendInitialEvents`).
///
/// Bookmarks are on by default: they cost little and let a watcher resume after a disconnect
/// without a relist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchParams {
    /// `labelSelector`.
    pub label_selector: Option<String>,
    /// `fieldSelector`.
    pub field_selector: Option<String>,
    /// `resourceVersion` to resume from; unset starts from "now" (or, with initial events, from a
    /// consistent snapshot).
    pub resource_version: Option<String>,
    /// `allowWatchBookmarks`.
    pub allow_watch_bookmarks: bool,
    /// `sendInitialEvents`: first send the current objects as ADDED events, then a bookmark.
    pub send_initial_events: bool,
    /// `timeoutSeconds`: the server ends the watch after this long.
    pub timeout_seconds: Option<u32>,
}

impl Default for WatchParams {
    fn default() -> Self {
        WatchParams {
            label_selector: None,
            field_selector: None,
            resource_version: None,
            allow_watch_bookmarks: true,
            send_initial_events: false,
            timeout_seconds: None,
        }
    }
}

impl WatchParams {
    /// Sets the label selector.
    #[must_use]
    pub fn labels(mut self, selector: &str) -> Self {
        self.label_selector = Some(selector.to_string());
        self
    }

    /// Sets the field selector.
    #[must_use]
    pub fn fields(mut self, selector: &str) -> Self {
        self.field_selector = Some(selector.to_string());
        self
    }

    /// Resumes from a resourceVersion.
    #[must_use]
    pub fn at(mut self, resource_version: &str) -> Self {
        self.resource_version = Some(resource_version.to_string());
        self
    }

    /// Asks for a streaming list: the current objects first, then changes.
    #[must_use]
    pub fn streaming_list(mut self) -> Self {
        self.send_initial_events = true;
        self.allow_watch_bookmarks = true;
        self
    }

    /// Turns bookmarks off.
    #[must_use]
    pub fn disable_bookmarks(mut self) -> Self {
        self.allow_watch_bookmarks = false;
        self
    }

    /// Sets the server-side timeout.
    #[must_use]
    pub fn timeout(mut self, seconds: u32) -> Self {
        self.timeout_seconds = Some(seconds);
        self
    }

    /// Rejects combinations the server would refuse.
    pub fn validate(&self) -> Result<(), RequestError> {
        if self.send_initial_events && !self.allow_watch_bookmarks {
            return Err(RequestError::InitialEventsNeedBookmarks);
        }
        Ok(())
    }

    pub(crate) fn append(&self, q: &mut Query) -> Result<(), RequestError> {
        self.validate()?;
        q.push("watch", "1");
        q.push_opt("labelSelector", self.label_selector.as_deref());
        q.push_opt("fieldSelector", self.field_selector.as_deref());
        q.push_opt("resourceVersion", self.resource_version.as_deref());
        q.push_num("timeoutSeconds", self.timeout_seconds);
        q.push_flag("allowWatchBookmarks", self.allow_watch_bookmarks);
        if self.send_initial_events {
            q.push("sendInitialEvents", "true");
            // The server only accepts initial events with this match rule.
            q.push("resourceVersionMatch", "NotOlderThan");
        }
        Ok(())
    }
}

/// Options of a get.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetParams {
    /// `resourceVersion`: `"0"` accepts cached data; unset reads the latest.
    pub resource_version: Option<String>,
}

impl GetParams {
    /// Accepts any cached version.
    pub fn any() -> Self {
        GetParams {
            resource_version: Some("0".into()),
        }
    }

    pub(crate) fn append(&self, q: &mut Query) {
        q.push_opt("resourceVersion", self.resource_version.as_deref());
    }
}

/// How the server treats unknown or duplicate fields in a written object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValidation {
    /// Drop them silently.
    Ignore,
    /// Accept, with a warning header per field.
    Warn,
    /// Reject the request.
    Strict,
}

impl FieldValidation {
    fn as_str(self) -> &'static str {
        match self {
            FieldValidation::Ignore => "Ignore",
            FieldValidation::Warn => "Warn",
            FieldValidation::Strict => "Strict",
        }
    }
}

/// Options of a create or replace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PostParams {
    /// `dryRun=All`: validate and admit, but persist nothing.
    pub dry_run: bool,
    /// `fieldManager`: who owns the fields written.
    pub field_manager: Option<String>,
    /// `fieldValidation`.
    pub field_validation: Option<FieldValidation>,
}

impl PostParams {
    pub(crate) fn append(&self, q: &mut Query) {
        if self.dry_run {
            q.push("dryRun", "All");
        }
        q.push_opt("fieldManager", self.field_manager.as_deref());
        q.push_opt(
            "fieldValidation",
            self.field_validation.map(FieldValidation::as_str),
        );
    }
}

/// Options of a patch.
///
/// ```
/// use klient_proto::api::PatchParams;
/// let pp = PatchParams::apply("my-controller").force();
/// assert!(pp.force);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PatchParams {
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `fieldManager`; required for server-side apply.
    pub field_manager: Option<String>,
    /// `force`: take ownership of conflicting fields (server-side apply only).
    pub force: bool,
    /// `fieldValidation`.
    pub field_validation: Option<FieldValidation>,
}

impl PatchParams {
    /// Options for a server-side apply by `manager`.
    pub fn apply(manager: &str) -> Self {
        PatchParams {
            field_manager: Some(manager.to_string()),
            ..PatchParams::default()
        }
    }

    /// Forces the apply over other managers' fields.
    #[must_use]
    pub fn force(mut self) -> Self {
        self.force = true;
        self
    }

    /// Only validates; persists nothing.
    #[must_use]
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    pub(crate) fn append<P>(&self, patch: &Patch<P>, q: &mut Query) -> Result<(), RequestError> {
        let is_apply = matches!(patch, Patch::Apply(_));
        if is_apply && self.field_manager.is_none() {
            return Err(RequestError::ApplyNeedsFieldManager);
        }
        if self.force && !is_apply {
            return Err(RequestError::ForceOnlyForApply);
        }
        if self.dry_run {
            q.push("dryRun", "All");
        }
        q.push_opt("fieldManager", self.field_manager.as_deref());
        q.push_flag("force", self.force);
        q.push_opt(
            "fieldValidation",
            self.field_validation.map(FieldValidation::as_str),
        );
        Ok(())
    }
}

/// A patch body and the patch strategy that applies it.
///
/// ```
/// use klient_proto::api::{JsonPatchOp, Patch};
/// let scale = Patch::Merge(serde_json::json!({ "spec": { "replicas": 3 } }));
/// assert_eq!(scale.content_type(), "application/merge-patch+json");
/// let ops = Patch::Json(vec![JsonPatchOp::Remove { path: "/metadata/labels/tmp".into() }]);
/// assert_eq!(ops.content_type(), "application/json-patch+json");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Patch<P> {
    /// Server-side apply of a (partial) object; needs a field manager.
    Apply(P),
    /// RFC 6902 JSON patch: an array of operations (`Vec<JsonPatchOp>` or a JSON array value).
    Json(P),
    /// RFC 7386 JSON merge patch.
    Merge(P),
    /// Kubernetes strategic merge patch (built-in kinds only; lists merge by key).
    Strategic(P),
}

impl<P> Patch<P> {
    /// The `Content-Type` that selects this strategy.
    pub fn content_type(&self) -> &'static str {
        match self {
            Patch::Apply(_) => "application/apply-patch+yaml",
            Patch::Json(_) => "application/json-patch+json",
            Patch::Merge(_) => "application/merge-patch+json",
            Patch::Strategic(_) => "application/strategic-merge-patch+json",
        }
    }

    fn body(&self) -> &P {
        match self {
            Patch::Apply(p) | Patch::Json(p) | Patch::Merge(p) | Patch::Strategic(p) => p,
        }
    }
}

impl<P: Serialize> Patch<P> {
    /// Serializes the body; JSON is valid YAML, so apply patches are sent as JSON too.
    pub fn to_bytes(&self) -> Result<Vec<u8>, RequestError> {
        let bytes = serde_json::to_vec(self.body())?;
        if matches!(self, Patch::Json(_)) && bytes.first() != Some(&b'[') {
            return Err(RequestError::JsonPatchNotArray);
        }
        Ok(bytes)
    }
}

/// One RFC 6902 JSON patch operation; paths are JSON pointers (`/spec/replicas`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum JsonPatchOp {
    /// Add a value (appends to an array with `/-`).
    Add {
        /// Target.
        path: String,
        /// Value to add.
        value: serde_json::Value,
    },
    /// Remove the value at `path`.
    Remove {
        /// Target.
        path: String,
    },
    /// Replace the value at `path`.
    Replace {
        /// Target.
        path: String,
        /// New value.
        value: serde_json::Value,
    },
    /// Move a value.
    Move {
        /// Source.
        from: String,
        /// Target.
        path: String,
    },
    /// Copy a value.
    Copy {
        /// Source.
        from: String,
        /// Target.
        path: String,
    },
    /// Fail the whole patch unless the value at `path` equals `value`.
    Test {
        /// Target.
        path: String,
        /// Expected value.
        value: serde_json::Value,
    },
}

/// What happens to the objects a deleted object owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum PropagationPolicy {
    /// Leave dependents alone (they lose their owner reference).
    Orphan,
    /// Delete the owner now, its dependents in the background.
    Background,
    /// Delete dependents first; the owner stays (with a finalizer) until they are gone.
    Foreground,
}

/// Conditions that must hold for a delete to proceed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preconditions {
    /// The object must have this UID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The object must be at this resourceVersion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

/// Options of a delete, sent as a `DeleteOptions` body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteParams {
    /// `dryRun: ["All"]`.
    pub dry_run: bool,
    /// Seconds before the object is killed; 0 deletes at once.
    pub grace_period_seconds: Option<u32>,
    /// What happens to dependents.
    pub propagation_policy: Option<PropagationPolicy>,
    /// Conditions that must hold.
    pub preconditions: Option<Preconditions>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeleteOptionsBody<'a> {
    api_version: &'static str,
    kind: &'static str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    dry_run: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    grace_period_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    propagation_policy: Option<PropagationPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preconditions: Option<&'a Preconditions>,
}

impl DeleteParams {
    /// Deletes dependents in the background.
    pub fn background() -> Self {
        Self::with_policy(PropagationPolicy::Background)
    }

    /// Deletes dependents first.
    pub fn foreground() -> Self {
        Self::with_policy(PropagationPolicy::Foreground)
    }

    /// Leaves dependents alone.
    pub fn orphan() -> Self {
        Self::with_policy(PropagationPolicy::Orphan)
    }

    fn with_policy(policy: PropagationPolicy) -> Self {
        DeleteParams {
            propagation_policy: Some(policy),
            ..DeleteParams::default()
        }
    }

    /// Sets the grace period.
    #[must_use]
    pub fn grace_period(mut self, seconds: u32) -> Self {
        self.grace_period_seconds = Some(seconds);
        self
    }

    /// Only validates; deletes nothing.
    #[must_use]
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    /// The options as a `meta.k8s.io/v1` `DeleteOptions` value (also embedded in an `Eviction`).
    pub fn to_json(&self) -> serde_json::Value {
        // Serializing plain strings, numbers and enums into a Value cannot fail.
        serde_json::to_value(self.body()).unwrap_or(serde_json::Value::Null)
    }

    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, RequestError> {
        Ok(serde_json::to_vec(&self.body())?)
    }

    fn body(&self) -> DeleteOptionsBody<'_> {
        DeleteOptionsBody {
            api_version: "v1",
            kind: "DeleteOptions",
            dry_run: if self.dry_run { &["All"] } else { &[] },
            grace_period_seconds: self.grace_period_seconds,
            propagation_policy: self.propagation_policy,
            preconditions: self.preconditions.as_ref(),
        }
    }
}

/// Options of a container log read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogParams {
    /// Which container; needed when the pod has more than one.
    pub container: Option<String>,
    /// Only the last N lines.
    pub tail_lines: Option<i64>,
    /// Only lines newer than this many seconds.
    pub since_seconds: Option<i64>,
    /// Only lines after this RFC 3339 time (exclusive with `since_seconds`).
    pub since_time: Option<String>,
    /// Prefix each line with its RFC 3339 timestamp.
    pub timestamps: bool,
    /// The previous, terminated instance of the container.
    pub previous: bool,
    /// Keep the stream open and follow new lines.
    pub follow: bool,
    /// Stop after this many bytes.
    pub limit_bytes: Option<i64>,
    /// Pretty-print (has no effect on plain-text logs; kept for parity with the API).
    pub pretty: bool,
}

impl LogParams {
    pub(crate) fn append(&self, q: &mut Query) -> Result<(), RequestError> {
        if self.since_seconds.is_some() && self.since_time.is_some() {
            return Err(RequestError::SinceTimeAndSinceSeconds);
        }
        q.push_opt("container", self.container.as_deref());
        q.push_num("tailLines", self.tail_lines);
        q.push_num("sinceSeconds", self.since_seconds);
        q.push_opt("sinceTime", self.since_time.as_deref());
        q.push_flag("timestamps", self.timestamps);
        q.push_flag("previous", self.previous);
        q.push_flag("follow", self.follow);
        q.push_num("limitBytes", self.limit_bytes);
        q.push_flag("pretty", self.pretty);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn list_query(lp: &ListParams) -> Result<String, RequestError> {
        let mut q = Query::new();
        lp.append(&mut q)?;
        Ok(q.finish())
    }

    #[test]
    fn list_params_encode_in_order() {
        let lp = ListParams::default()
            .labels("app=web")
            .fields("status.phase=Running")
            .limit(10)
            .at("123", ResourceVersionMatch::Exact)
            .timeout(30);
        assert_eq!(
            list_query(&lp).unwrap(),
            "labelSelector=app%3Dweb&fieldSelector=status.phase%3DRunning&limit=10\
             &resourceVersion=123&resourceVersionMatch=Exact&timeoutSeconds=30"
        );
    }

    #[test]
    fn selectors_with_special_characters_are_encoded() {
        let lp = ListParams::default().labels("tier in (a,b),!canary,env!=prod&x=y#z");
        let q = list_query(&lp).unwrap();
        assert_eq!(
            q,
            "labelSelector=tier+in+%28a%2Cb%29%2C%21canary%2Cenv%21%3Dprod%26x%3Dy%23z"
        );
        let decoded: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes()).into_owned().collect();
        assert_eq!(decoded[0].1, "tier in (a,b),!canary,env!=prod&x=y#z");
    }

    #[test]
    fn list_params_reject_what_the_server_rejects() {
        let lp = ListParams {
            resource_version_match: Some(ResourceVersionMatch::NotOlderThan),
            ..ListParams::default()
        };
        assert!(matches!(
            list_query(&lp),
            Err(RequestError::ResourceVersionMatchWithoutVersion)
        ));
        let lp = ListParams::default().match_any().continue_token("abc");
        assert!(matches!(
            list_query(&lp),
            Err(RequestError::ContinueWithResourceVersion)
        ));
        let lp = ListParams::default().continue_token("a b/c=");
        assert_eq!(list_query(&lp).unwrap(), "continue=a+b%2Fc%3D");
    }

    #[test]
    fn empty_params_give_an_empty_query() {
        assert_eq!(list_query(&ListParams::default()).unwrap(), "");
    }

    #[test]
    fn watch_defaults_to_bookmarks() {
        let mut q = Query::new();
        WatchParams::default().append(&mut q).unwrap();
        assert_eq!(q.finish(), "watch=1&allowWatchBookmarks=true");
    }

    #[test]
    fn streaming_list_adds_initial_events_and_match() {
        let mut q = Query::new();
        WatchParams::default()
            .labels("a=b")
            .streaming_list()
            .timeout(290)
            .append(&mut q)
            .unwrap();
        assert_eq!(
            q.finish(),
            "watch=1&labelSelector=a%3Db&timeoutSeconds=290&allowWatchBookmarks=true\
             &sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
        );
        let wp = WatchParams::default().streaming_list().disable_bookmarks();
        assert!(matches!(
            wp.validate(),
            Err(RequestError::InitialEventsNeedBookmarks)
        ));
    }

    #[test]
    fn patch_params_check_apply_rules() {
        let mut q = Query::new();
        let apply = Patch::Apply(json!({}));
        assert!(matches!(
            PatchParams::default().append(&apply, &mut q),
            Err(RequestError::ApplyNeedsFieldManager)
        ));
        let merge = Patch::Merge(json!({}));
        assert!(matches!(
            PatchParams::apply("m").force().append(&merge, &mut q),
            Err(RequestError::ForceOnlyForApply)
        ));
        let mut q = Query::new();
        PatchParams::apply("ctl/v1")
            .force()
            .dry_run()
            .append(&apply, &mut q)
            .unwrap();
        assert_eq!(q.finish(), "dryRun=All&fieldManager=ctl%2Fv1&force=true");
    }

    #[test]
    fn patch_bodies_and_content_types() {
        let ops = Patch::Json(vec![
            JsonPatchOp::Test {
                path: "/a".into(),
                value: json!(1),
            },
            JsonPatchOp::Move {
                from: "/a".into(),
                path: "/b".into(),
            },
        ]);
        assert_eq!(
            ops.to_bytes().unwrap(),
            br#"[{"op":"test","path":"/a","value":1},{"op":"move","from":"/a","path":"/b"}]"#
        );
        assert!(matches!(
            Patch::Json(json!({"op": "remove"})).to_bytes(),
            Err(RequestError::JsonPatchNotArray)
        ));
        assert_eq!(
            Patch::Strategic(json!({})).content_type(),
            "application/strategic-merge-patch+json"
        );
        assert_eq!(
            Patch::Apply(json!({})).content_type(),
            "application/apply-patch+yaml"
        );
    }

    #[test]
    fn delete_options_body() {
        let mut dp = DeleteParams::foreground().grace_period(0).dry_run();
        dp.preconditions = Some(Preconditions {
            uid: Some("u-1".into()),
            resource_version: Some("9".into()),
        });
        let v: serde_json::Value = serde_json::from_slice(&dp.to_bytes().unwrap()).unwrap();
        assert_eq!(
            v,
            json!({
                "apiVersion": "v1", "kind": "DeleteOptions", "dryRun": ["All"],
                "gracePeriodSeconds": 0, "propagationPolicy": "Foreground",
                "preconditions": {"uid": "u-1", "resourceVersion": "9"}
            })
        );
        assert_eq!(
            DeleteParams::default().to_json(),
            json!({"apiVersion": "v1", "kind": "DeleteOptions"})
        );
        assert_eq!(DeleteParams::orphan().to_json()["propagationPolicy"], "Orphan");
        assert_eq!(
            DeleteParams::background().to_json()["propagationPolicy"],
            "Background"
        );
    }

    #[test]
    fn log_params_encode_and_validate() {
        let lp = LogParams {
            container: Some("app".into()),
            tail_lines: Some(100),
            since_time: Some("2026-01-01T00:00:00Z".into()),
            timestamps: true,
            previous: true,
            follow: true,
            limit_bytes: Some(4096),
            pretty: true,
            ..LogParams::default()
        };
        let mut q = Query::new();
        lp.append(&mut q).unwrap();
        assert_eq!(
            q.finish(),
            "container=app&tailLines=100&sinceTime=2026-01-01T00%3A00%3A00Z&timestamps=true\
             &previous=true&follow=true&limitBytes=4096&pretty=true"
        );
        let both = LogParams {
            since_seconds: Some(5),
            since_time: Some("t".into()),
            ..LogParams::default()
        };
        assert!(matches!(
            both.append(&mut Query::new()),
            Err(RequestError::SinceTimeAndSinceSeconds)
        ));
    }

    #[test]
    fn post_and_get_params() {
        let mut q = Query::new();
        PostParams {
            dry_run: true,
            field_manager: Some("me".into()),
            field_validation: Some(FieldValidation::Strict),
        }
        .append(&mut q);
        GetParams::any().append(&mut q);
        assert_eq!(
            q.finish(),
            "dryRun=All&fieldManager=me&fieldValidation=Strict&resourceVersion=0"
        );
    }
}
