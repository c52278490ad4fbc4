//! The decisions of a read-modify-write call, for every adapter: what one attempt sends, and
//! whether a failed attempt is tried again.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::diff::{DiffError, json_patch_between};
use super::guard::{RESOURCE_VERSION_POINTER, replace_resource_version};
use super::list_keys::ListKeys;
use super::openapi::{OpenApiError, OpenApiLimits};
use crate::api::{ApiResource, JsonPatchOp, Patch, Request, Scope, decode_error, response::is_success};

/// Attempts a read-modify-write makes by default before a conflict is returned: client-go's
/// `retry.DefaultRetry` makes five.
pub const DEFAULT_ATTEMPTS: u32 = 5;

/// The pause before reading again after a conflict; client-go's `DefaultRetry` waits 10 ms (with
/// jitter) between its steps. Growing it would not help: the next read sees the winning write
/// at once.
const CONFLICT_PAUSE: Duration = Duration::from_millis(10);

/// A read-modify-write of one object: each attempt reads the object, lets the caller change the
/// typed value, and sends the API server **only that change** as a JSON patch, guarded by the
/// resourceVersion it read; a conflict (someone wrote in between) starts a new attempt from a
/// fresh read, up to [`DEFAULT_ATTEMPTS`].
///
/// Sending the change rather than the whole object is what keeps the fields the Rust type does
/// not know: the server applies the patch to the object it stores, unknown fields included. The
/// adapters drive this (`Api::modify`); it never touches the network.
///
/// ```
/// use klient_proto::api::modify::{ListKeys, ReadModifyWrite};
/// use klient_proto::api::{JsonPatchOp, Patch};
/// use serde_json::json;
///
/// let mut rmw = ReadModifyWrite::new();
/// // What the attempt read (here as JSON; any Serialize type works the same way).
/// let mut object = json!({"metadata": {"name": "web", "resourceVersion": "42"}, "data": {"a": "1"}});
/// let patch = rmw
///     .patch_for(&mut object, &ListKeys::new(), |o| o["data"]["b"] = json!("2"))
///     .unwrap()
///     .expect("something changed");
/// assert_eq!(patch, Patch::Json(vec![
///     JsonPatchOp::Replace { path: "/metadata/resourceVersion".into(), value: json!("42") },
///     JsonPatchOp::Add { path: "/data/b".into(), value: json!("2") },
/// ]));
/// ```
#[derive(Debug, Clone)]
pub struct ReadModifyWrite {
    attempts: u32,
    max_attempts: u32,
}

impl Default for ReadModifyWrite {
    fn default() -> Self {
        Self::new()
    }
}

impl ReadModifyWrite {
    /// A read-modify-write with [`DEFAULT_ATTEMPTS`] attempts.
    pub fn new() -> Self {
        Self::with_max_attempts(DEFAULT_ATTEMPTS)
    }

    /// A read-modify-write with at most `max_attempts` attempts (at least one).
    pub fn with_max_attempts(max_attempts: u32) -> Self {
        Self {
            attempts: 0,
            max_attempts: max_attempts.max(1),
        }
    }

    /// Attempts started so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Starts an attempt on `object` as it was just read: runs `change` on it and returns the
    /// patch that carries what `change` did, with the read's resourceVersion as precondition;
    /// `None` when `change` left the object as it was (nothing needs sending, and `object` is
    /// the current state).
    ///
    /// A change to `metadata.resourceVersion` itself is ignored: the precondition is always the
    /// version read.
    pub fn patch_for<K, F>(
        &mut self,
        object: &mut K,
        keys: &ListKeys,
        change: F,
    ) -> Result<Option<Patch<Vec<JsonPatchOp>>>, ModifyError>
    where
        K: Serialize,
        F: FnOnce(&mut K),
    {
        self.attempts += 1;
        let before = serde_json::to_value(&*object).map_err(|e| ModifyError::Serialize(e.to_string()))?;
        let Some(Value::String(resource_version)) = before.pointer(RESOURCE_VERSION_POINTER).cloned() else {
            return Err(ModifyError::NoResourceVersion);
        };
        change(object);
        let mut after = serde_json::to_value(&*object).map_err(|e| ModifyError::Serialize(e.to_string()))?;
        if let Some(version) = after.pointer_mut(RESOURCE_VERSION_POINTER) {
            *version = Value::String(resource_version.clone());
        }
        let ops = json_patch_between(&before, &after, keys).map_err(ModifyError::Diff)?;
        if ops.is_empty() {
            return Ok(None);
        }
        let mut patch = Vec::with_capacity(ops.len() + 1);
        patch.push(replace_resource_version(&resource_version));
        patch.extend(ops);
        Ok(Some(Patch::Json(patch)))
    }

    /// After an attempt's patch failed with `error`: the pause before the next attempt (which
    /// reads the object again) when the failure is a conflict and attempts remain, else `None`,
    /// and the error is the call's.
    pub fn retry_after(&self, error: &crate::Error) -> Option<Duration> {
        let conflict = matches!(error, crate::Error::Api(e) if e.is_conflict());
        (conflict && self.attempts < self.max_attempts).then_some(CONFLICT_PAUSE)
    }
}

/// The pauses between reads of the OpenAPI document while it does not hold the kind yet, 6.3 s
/// in all. The API server serves a new CustomResourceDefinition's objects before its OpenAPI
/// controller publishes the schema (usually within a second or two), so a `modify` right after
/// a definition was created would otherwise fail.
const SCHEMA_PAUSES: [Duration; 6] = [
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(400),
    Duration::from_millis(800),
    Duration::from_millis(1600),
    Duration::from_millis(3200),
];

/// Waiting for the OpenAPI document to hold a kind: what a client does when reading a kind's
/// list keys fails because the document lacks the kind (`KindNotFound`) or the whole
/// group-version (a 404), as it does for a moment after a CustomResourceDefinition is created.
///
/// ```
/// use std::time::Duration;
/// use klient_proto::api::modify::{OpenApiError, SchemaWait};
///
/// let missing = klient_proto::Error::OpenApi(OpenApiError::KindNotFound {
///     group: "klient.dev".into(), version: "v1".into(), kind: "Gadget".into(),
/// });
/// let mut wait = SchemaWait::new();
/// assert_eq!(wait.retry_after(&missing), Some(Duration::from_millis(100)));
/// let waited: Duration = std::iter::from_fn(|| wait.retry_after(&missing)).sum();
/// assert_eq!(waited, Duration::from_millis(6200)); // then the error is the caller's
/// ```
#[derive(Debug, Clone, Default)]
pub struct SchemaWait {
    pauses_taken: usize,
}

impl SchemaWait {
    /// No pause taken yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// After reading the list keys failed with `error`: the pause before reading the document
    /// again, while the failure says the kind is not published yet and pauses remain; else
    /// `None`, and the error is the call's.
    pub fn retry_after(&mut self, error: &crate::Error) -> Option<Duration> {
        let unpublished = match error {
            crate::Error::OpenApi(OpenApiError::KindNotFound { .. }) => true,
            crate::Error::Api(api) => api.is_not_found(),
            crate::Error::Response(response) => response.code() == 404,
            _ => false,
        };
        let pause = SCHEMA_PAUSES
            .get(self.pauses_taken)
            .copied()
            .filter(|_| unpublished)?;
        self.pauses_taken += 1;
        Some(pause)
    }
}

/// The list keys of each kind a client has modified, read once per kind from the API server's
/// OpenAPI document (a group-version's document is megabytes; the keys of one kind are small).
/// Shared by the clones of a client.
#[derive(Debug, Default)]
pub struct ListKeysCache {
    kinds: Mutex<HashMap<(String, String, String), Arc<ListKeys>>>,
}

impl ListKeysCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The keys of `request`'s kind, when they were read before.
    pub fn get(&self, request: &Request) -> Option<Arc<ListKeys>> {
        self.lock().get(&Self::key(request)).cloned()
    }

    /// Reads the keys of `request`'s kind from the answer to its
    /// [`openapi_schema`](Request::openapi_schema) request and keeps them: a failed answer is
    /// its API error, a document without the kind or over the limits an [`OpenApiError`].
    ///
    /// [`OpenApiError`]: super::OpenApiError
    pub fn insert_from_response(
        &self,
        request: &Request,
        code: u16,
        body: &[u8],
    ) -> Result<Arc<ListKeys>, crate::Error> {
        if !is_success(code) {
            return Err(decode_error(code, body).into());
        }
        // The walk reads only the group, version and kind.
        let kind = ApiResource::new(
            request.group(),
            request.version(),
            request.kind(),
            "",
            Scope::Namespaced,
        );
        let keys = ListKeys::from_openapi_v3(body, &kind, &OpenApiLimits::default())
            .map_err(crate::Error::OpenApi)?;
        let keys = Arc::new(keys);
        self.lock().insert(Self::key(request), keys.clone());
        Ok(keys)
    }

    fn key(request: &Request) -> (String, String, String) {
        (
            request.group().to_owned(),
            request.version().to_owned(),
            request.kind().to_owned(),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String, String), Arc<ListKeys>>> {
        // Each update is one insert: a panic elsewhere leaves a consistent map.
        self.kinds.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Why no patch could be made for an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModifyError {
    /// The typed value did not serialize to JSON (serde's message).
    Serialize(String),
    /// The object as read has no `metadata.resourceVersion` to guard the write with.
    NoResourceVersion,
    /// The change could not be expressed as a patch.
    Diff(DiffError),
}

impl fmt::Display for ModifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Serialize(e) => write!(f, "read-modify-write: the object does not serialize: {e}"),
            Self::NoResourceVersion => {
                f.write_str("read-modify-write: the object read has no metadata.resourceVersion")
            }
            Self::Diff(e) => write!(f, "read-modify-write: {e}"),
        }
    }
}

impl std::error::Error for ModifyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Diff(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::modify::{LocationStep, apply_json_patch};
    use crate::api::{ApiError, Status};
    use serde_json::json;

    #[test]
    fn a_kind_missing_from_the_document_is_waited_for_a_bounded_time_and_nothing_else_is() {
        let kind_missing = crate::Error::OpenApi(OpenApiError::KindNotFound {
            group: "klient.dev".into(),
            version: "v1".into(),
            kind: "Gadget".into(),
        });
        // The group-version's document itself is not there yet: a 404 without a Status.
        let document_missing = crate::Error::Response(decode_error(404, b"404 page not found"));
        let mut wait = SchemaWait::new();
        let mut pauses = Vec::new();
        for error in [&kind_missing, &document_missing].into_iter().cycle() {
            match wait.retry_after(error) {
                Some(pause) => pauses.push(pause),
                None => break,
            }
        }
        assert_eq!(pauses, SCHEMA_PAUSES);
        assert_eq!(pauses.iter().sum::<Duration>(), Duration::from_millis(6300));

        for other in [
            conflict(),
            crate::Error::Response(decode_error(500, b"boom")),
            crate::Error::OpenApi(OpenApiError::NoSchemas),
        ] {
            assert_eq!(SchemaWait::new().retry_after(&other), None, "{other}");
        }
    }

    fn conflict() -> crate::Error {
        let status: Status = serde_json::from_value(json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409,
            "message": "the object has been modified"
        }))
        .unwrap();
        crate::Error::Api(Box::new(ApiError::from_status(409, status)))
    }

    #[test]
    fn an_attempt_sends_only_the_change_behind_the_version_it_read() {
        let mut keys = ListKeys::new();
        keys.insert(&LocationStep::parse_path("spec.ports"), ["port"]);
        let read = json!({
            "metadata": {"name": "web", "resourceVersion": "7", "labels": {"app": "web"}},
            "spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]}
        });
        let mut object = read.clone();
        let mut rmw = ReadModifyWrite::new();
        let patch = rmw
            .patch_for(&mut object, &keys, |o| {
                o["metadata"]["labels"]["tier"] = json!("front");
                o["spec"]["ports"][1]["name"] = json!("tls");
                // Ignored: the precondition is the version read.
                o["metadata"]["resourceVersion"] = json!("999");
            })
            .unwrap()
            .unwrap();
        let Patch::Json(ops) = patch else {
            panic!("a JSON patch")
        };
        assert_eq!(ops[0], replace_resource_version("7"));
        assert_eq!(ops.len(), 3, "{ops:?}");
        // The server's copy has what the type lacks; the patch keeps it.
        let mut server = read.clone();
        server["spec"]["ports"][1]["appProtocol"] = json!("h2");
        server["status"] = json!({"unknown": true});
        apply_json_patch(&mut server, &ops).unwrap();
        assert_eq!(
            server["spec"]["ports"][1],
            json!({"port": 443, "name": "tls", "appProtocol": "h2"})
        );
        assert_eq!(server["status"], json!({"unknown": true}));
        assert_eq!(server["metadata"]["labels"]["tier"], "front");
        assert_eq!(rmw.attempts(), 1);
    }

    #[test]
    fn no_change_sends_nothing() {
        let mut object = json!({"metadata": {"name": "web", "resourceVersion": "7"}});
        let patch = ReadModifyWrite::new()
            .patch_for(&mut object, &ListKeys::new(), |_| {})
            .unwrap();
        assert_eq!(patch, None);
    }

    #[test]
    fn an_object_without_a_version_cannot_be_guarded() {
        let mut object = json!({"metadata": {"name": "web"}});
        let result = ReadModifyWrite::new().patch_for(&mut object, &ListKeys::new(), |o| o["a"] = json!(1));
        assert_eq!(result, Err(ModifyError::NoResourceVersion));
    }

    #[test]
    fn conflicts_are_retried_while_attempts_remain_and_nothing_else_is() {
        let mut rmw = ReadModifyWrite::with_max_attempts(3);
        let object = json!({"metadata": {"resourceVersion": "1"}});
        let change = |rmw: &mut ReadModifyWrite| {
            rmw.patch_for(&mut object.clone(), &ListKeys::new(), |o| o["x"] = json!(1))
                .unwrap()
        };
        change(&mut rmw);
        assert_eq!(rmw.retry_after(&conflict()), Some(CONFLICT_PAUSE));
        let not_found = crate::Error::Request(crate::api::RequestError::JsonPatchNotArray);
        assert_eq!(rmw.retry_after(&not_found), None);
        change(&mut rmw);
        assert!(rmw.retry_after(&conflict()).is_some());
        change(&mut rmw);
        assert_eq!(
            rmw.retry_after(&conflict()),
            None,
            "the third attempt was the last"
        );
    }

    #[test]
    #[cfg(feature = "k8s-openapi")]
    fn list_keys_are_read_once_per_kind_and_a_refusal_is_the_servers_error() {
        use k8s_openapi::api::core::v1::Pod;
        let pods = Request::namespaced::<Pod>("prod").unwrap();
        let cache = ListKeysCache::new();
        assert!(cache.get(&pods).is_none());
        let document = include_bytes!("testdata/core_v1_pod.json");
        let keys = cache.insert_from_response(&pods, 200, document).unwrap();
        assert_eq!(
            keys.keys_at(&LocationStep::parse_path("spec.containers"))
                .unwrap(),
            ["name"]
        );
        assert!(Arc::ptr_eq(&cache.get(&pods).unwrap(), &keys));

        let forbidden =
            br#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403}"#;
        let refused = cache.insert_from_response(&pods, 403, forbidden).unwrap_err();
        assert_eq!(refused.api().unwrap().code, 403);
        let not_json = cache.insert_from_response(&pods, 200, b"<html>").unwrap_err();
        assert!(matches!(not_json, crate::Error::OpenApi(_)), "{not_json:?}");
    }
}
