//! Turning a response's status code and body into the caller's value or a typed error.

use super::error::{BodySnippet, ResponseError};
use super::status::{ApiError, Status};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The metadata of a list response.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListMeta {
    /// Token for the next page; absent on the last one.
    #[serde(default, rename = "continue", skip_serializing_if = "Option::is_none")]
    pub continue_token: Option<String>,
    /// The resourceVersion the list was read at; a watch resumes from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// Estimate of how many items the next pages hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_item_count: Option<i64>,
}

/// A list response (`PodList`, `CronTabList`...) of typed or dynamic objects.
///
/// k8s-openapi's `List<T>` is not used: it only exists once a Kubernetes version feature is
/// picked, it needs `T: ListableResource` (so no [`DynamicObject`](super::DynamicObject)), and it
/// rejects a `kind` other than the one it expects. This type accepts any list kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct ObjectList<T> {
    /// Paging and version information.
    #[serde(default)]
    pub metadata: ListMeta,
    /// The objects (without `apiVersion`/`kind`, which the server leaves out of list items).
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
}

impl<T> Default for ObjectList<T> {
    fn default() -> Self {
        ObjectList {
            metadata: ListMeta::default(),
            items: Vec::new(),
        }
    }
}

impl<T> ObjectList<T> {
    /// Token for the next page, if there is one (an empty token also means "done").
    pub fn next_page(&self) -> Option<&str> {
        self.metadata.next_page()
    }
}

impl ListMeta {
    /// Token for the next page, if there is one (an empty token also means "done").
    pub fn next_page(&self) -> Option<&str> {
        self.continue_token.as_deref().filter(|t| !t.is_empty())
    }
}

impl<T> IntoIterator for ObjectList<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// What a delete returned: the object (still terminating, or as it was), or a bare Status.
#[derive(Clone, Debug, PartialEq)]
pub enum Deleted<T> {
    /// The object; it may still exist until its finalizers run.
    Object(T),
    /// A Status saying the object is gone (boxed: it is much larger than most objects' handles).
    Status(Box<Status>),
}

#[derive(Deserialize)]
struct KindOnly {
    #[serde(default)]
    kind: Option<String>,
}

fn is_status(body: &[u8]) -> bool {
    serde_json::from_slice::<KindOnly>(body)
        .ok()
        .and_then(|k| k.kind)
        .is_some_and(|k| k == "Status")
}

pub(crate) fn is_success(code: u16) -> bool {
    (200..300).contains(&code)
}

/// Decodes a response: the body as `T` on 2xx, otherwise the error it describes.
///
/// ```
/// use klient_proto::api::{decode, ResponseError, StatusReason};
/// let body = br#"{"kind":"Status","apiVersion":"v1","status":"Failure",
///   "message":"pods \"web\" not found","reason":"NotFound",
///   "details":{"name":"web","kind":"pods"},"code":404}"#;
/// let err = decode::<serde_json::Value>(404, body).unwrap_err();
/// assert_eq!(err.api().unwrap().reason, StatusReason::NotFound);
/// ```
pub fn decode<T: DeserializeOwned>(code: u16, body: &[u8]) -> Result<T, ResponseError> {
    if !is_success(code) {
        return Err(decode_error(code, body));
    }
    serde_json::from_slice(body).map_err(|error| ResponseError::Decode {
        code,
        error,
        body: BodySnippet::new(body),
    })
}

/// Decodes a text response (a container's log): the body as text on 2xx, lossily where it is not
/// UTF-8 (a log is whatever the container wrote), otherwise the error it describes.
///
/// ```
/// use klient_proto::api::decode_text;
/// assert_eq!(decode_text(200, b"line 1\nline 2\n").unwrap(), "line 1\nline 2\n");
/// assert!(decode_text(404, b"").is_err());
/// ```
pub fn decode_text(code: u16, body: &[u8]) -> Result<String, ResponseError> {
    if !is_success(code) {
        return Err(decode_error(code, body));
    }
    Ok(String::from_utf8_lossy(body).into_owned())
}

/// [`decode`] for an `http::Response`.
pub fn decode_response<T: DeserializeOwned, B: AsRef<[u8]>>(
    response: &http::Response<B>,
) -> Result<T, ResponseError> {
    decode(response.status().as_u16(), response.body().as_ref())
}

/// Decodes the response to a delete, which is either the object or a Status.
pub fn decode_delete<T: DeserializeOwned>(code: u16, body: &[u8]) -> Result<Deleted<T>, ResponseError> {
    if is_success(code) && is_status(body) {
        decode::<Status>(code, body).map(|s| Deleted::Status(Box::new(s)))
    } else {
        decode(code, body).map(Deleted::Object)
    }
}

/// The error a failed response describes: an [`ApiError`] when the body is a `metav1.Status`
/// (JSON, or protobuf when protobuf was asked for), otherwise [`ResponseError::Unexpected`] with
/// the code and the start of the body.
///
/// A protobuf Status is recognised by its `k8s\0` magic rather than the `Content-Type`, so that
/// callers holding only the code and the body (a failed watch or upgrade) decode it too: no JSON
/// or text body starts with a NUL byte.
pub fn decode_error(code: u16, body: &[u8]) -> ResponseError {
    if body.starts_with(crate::protobuf::MAGIC)
        && let Ok(status) = super::messages::decode_status(body)
    {
        return ApiError::from_status(code, status).into();
    }
    if is_status(body)
        && let Ok(status) = serde_json::from_slice::<Status>(body)
    {
        return ApiError::from_status(code, status).into();
    }
    ResponseError::Unexpected {
        code,
        body: BodySnippet::new(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::dynamic::DynamicObject;
    use crate::api::resource::Resource;
    use crate::api::status::StatusReason;

    const NOT_FOUND: &[u8] = br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"nginx\" not found","reason":"NotFound","details":{"name":"nginx","kind":"pods"},"code":404}"#;

    const INVALID: &[u8] = br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Deployment.apps \"web\" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.template.spec.containers[0].image: Required value]","reason":"Invalid","details":{"name":"web","group":"apps","kind":"Deployment","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: -1: must be greater than or equal to 0","field":"spec.replicas"},{"reason":"FieldValueRequired","message":"Required value","field":"spec.template.spec.containers[0].image"}]},"code":422}"#;

    const EXPIRED: &[u8] = br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1000 (5000)","reason":"Expired","code":410}"#;

    const TOO_MANY: &[u8] = br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"storage is (re)initializing","reason":"TooManyRequests","details":{"retryAfterSeconds":1},"code":429}"#;

    const CONFLICT: &[u8] = br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Operation cannot be fulfilled on configmaps \"c\": the object has been modified; please apply your changes to the latest version and try again","reason":"Conflict","details":{"name":"c","kind":"configmaps","uid":"1b7d2c3e"},"code":409}"#;

    fn api_error(code: u16, body: &[u8]) -> ApiError {
        match decode::<serde_json::Value>(code, body) {
            Err(ResponseError::Api(e)) => *e,
            other => panic!("expected an API error, got {other:?}"),
        }
    }

    #[test]
    fn not_found_status() {
        let e = api_error(404, NOT_FOUND);
        assert_eq!(e.code, 404);
        assert_eq!(e.status, "Failure");
        assert!(e.is_not_found());
        assert_eq!(e.message, "pods \"nginx\" not found");
        let d = e.details.as_ref().unwrap();
        assert_eq!(d.name.as_deref(), Some("nginx"));
        assert_eq!(d.kind.as_deref(), Some("pods"));
    }

    #[test]
    fn invalid_status_with_causes() {
        let e = api_error(422, INVALID);
        assert_eq!(e.reason, StatusReason::Invalid);
        assert_eq!(e.details.as_ref().unwrap().group.as_deref(), Some("apps"));
        let causes = e.causes();
        assert_eq!(causes.len(), 2);
        assert_eq!(causes[0].reason.as_deref(), Some("FieldValueInvalid"));
        assert_eq!(causes[0].field.as_deref(), Some("spec.replicas"));
        assert_eq!(causes[1].reason.as_deref(), Some("FieldValueRequired"));
        assert_eq!(causes[1].message.as_deref(), Some("Required value"));
    }

    #[test]
    fn expired_watch_status() {
        let e = api_error(410, EXPIRED);
        assert_eq!(e.reason, StatusReason::Expired);
        assert!(e.is_expired());
        // A watch delivers this as an ERROR event on a 200 stream: the code comes from the body.
        let e = ApiError::from_status(200, serde_json::from_slice(EXPIRED).unwrap());
        assert_eq!(e.code, 410);
        assert!(e.is_expired());
    }

    #[test]
    fn too_many_requests_with_retry_after() {
        let e = api_error(429, TOO_MANY);
        assert_eq!(e.reason, StatusReason::TooManyRequests);
        assert_eq!(e.retry_after_seconds(), Some(1));
    }

    #[test]
    fn conflict_with_uid() {
        let e = api_error(409, CONFLICT);
        assert!(e.is_conflict());
        assert_eq!(e.details.unwrap().uid.as_deref(), Some("1b7d2c3e"));
    }

    #[test]
    fn plain_text_from_a_proxy_keeps_code_and_snippet() {
        let err = decode::<serde_json::Value>(503, b"upstream connect error or disconnect").unwrap_err();
        assert_eq!(err.code(), 503);
        match &err {
            ResponseError::Unexpected { code, body } => {
                assert_eq!(*code, 503);
                assert_eq!(body.text(), "upstream connect error or disconnect");
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("503"));
        assert!(err.to_string().contains("upstream connect error"));
    }

    #[test]
    fn non_status_json_and_html_and_empty_bodies() {
        for body in [
            &br#"{"error":"forbidden","code":403}"#[..],
            b"<html><body>502 Bad Gateway</body></html>",
            b"",
            br#"{"kind":"Pod"}"#,
            br#"{"kind":"Status","code":"not a number"}"#,
        ] {
            let err = decode::<serde_json::Value>(502, body).unwrap_err();
            assert!(
                matches!(err, ResponseError::Unexpected { code: 502, .. }),
                "{err:?}"
            );
            assert!(err.api().is_none());
        }
    }

    #[test]
    fn huge_error_bodies_are_bounded() {
        let body = vec![b'<'; 1 << 20];
        let err = decode::<serde_json::Value>(500, &body).unwrap_err();
        let text = err.to_string();
        assert!(text.len() < 1024, "{}", text.len());
        assert!(text.contains("1048576 bytes in all"));
    }

    #[test]
    fn truncated_status_at_every_length_never_panics() {
        for len in 0..INVALID.len() {
            let err = decode::<serde_json::Value>(422, &INVALID[..len]).unwrap_err();
            assert!(matches!(err, ResponseError::Unexpected { code: 422, .. }));
        }
    }

    #[test]
    fn success_body_that_does_not_decode() {
        let err = decode::<ObjectList<DynamicObject>>(200, b"{\"items\": 5}").unwrap_err();
        match err {
            ResponseError::Decode { code, body, .. } => {
                assert_eq!(code, 200);
                assert_eq!(body.text(), "{\"items\": 5}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decode::<DynamicObject>(200, b"{\"metadata\":"),
            Err(ResponseError::Decode { .. })
        ));
    }

    #[test]
    fn dynamic_list_with_paging() {
        let body = br#"{"apiVersion":"stable.example.com/v1","kind":"CronTabList",
            "metadata":{"continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ","resourceVersion":"812","remainingItemCount":3},
            "items":[{"metadata":{"name":"a","resourceVersion":"800"},"spec":{"cronSpec":"* * * * *"}},
                     {"metadata":{"name":"b"},"spec":{}}]}"#;
        let list: ObjectList<DynamicObject> = decode(200, body).unwrap();
        assert_eq!(list.next_page(), Some("eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"));
        assert_eq!(list.metadata.resource_version.as_deref(), Some("812"));
        assert_eq!(list.metadata.remaining_item_count, Some(3));
        let names: Vec<_> = list.items.iter().filter_map(|o| o.name()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(list.items[0].resource_version(), Some("800"));
        assert_eq!(list.items[0].data["spec"]["cronSpec"], "* * * * *");
        let last: ObjectList<DynamicObject> =
            decode(200, br#"{"metadata":{"continue":""},"items":[]}"#).unwrap();
        assert_eq!(last.next_page(), None);
        assert_eq!(last.into_iter().count(), 0);
    }

    #[test]
    fn delete_returns_object_or_status() {
        let gone = br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":{"name":"c","kind":"configmaps","uid":"u"}}"#;
        match decode_delete::<DynamicObject>(200, gone).unwrap() {
            Deleted::Status(s) => assert!(s.is_success()),
            other => panic!("{other:?}"),
        }
        let terminating = br#"{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"x"},"status":{"phase":"Terminating"}}"#;
        match decode_delete::<DynamicObject>(200, terminating).unwrap() {
            Deleted::Object(o) => assert_eq!(o.name(), Some("x")),
            other => panic!("{other:?}"),
        }
        assert!(
            decode_delete::<DynamicObject>(404, NOT_FOUND)
                .unwrap_err()
                .api()
                .is_some_and(ApiError::is_not_found)
        );
    }

    #[test]
    fn decode_response_reads_http_response() {
        let resp = http::Response::builder()
            .status(404)
            .body(NOT_FOUND.to_vec())
            .unwrap();
        let err = decode_response::<serde_json::Value, _>(&resp).unwrap_err();
        assert_eq!(err.code(), 404);
    }

    #[cfg(feature = "k8s-openapi")]
    mod openapi {
        use super::*;
        use k8s_openapi::api::apps::v1::Deployment;
        use k8s_openapi::api::core::v1::{Namespace, Node, Pod};

        #[test]
        fn typed_objects_and_lists() {
            let pod: Pod = decode(
                200,
                br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"d","resourceVersion":"5"},
                    "spec":{"containers":[{"name":"c","image":"nginx"}]}}"#,
            )
            .unwrap();
            assert_eq!(Resource::name(&pod), Some("p"));
            assert_eq!(pod.spec.unwrap().containers[0].name, "c");

            let list: ObjectList<Deployment> = decode(
                200,
                br#"{"apiVersion":"apps/v1","kind":"DeploymentList","metadata":{"resourceVersion":"9"},
                    "items":[{"metadata":{"name":"web"},"spec":{"replicas":2,"selector":{},"template":{}}}]}"#,
            )
            .unwrap();
            assert_eq!(list.items[0].spec.replicas, Some(2));

            let nodes: ObjectList<Node> = decode(
                200,
                br#"{"kind":"NodeList","items":[{"metadata":{"name":"n1"}}]}"#,
            )
            .unwrap();
            assert_eq!(Resource::name(&nodes.items[0]), Some("n1"));

            let ns: Namespace = decode(201, br#"{"metadata":{"name":"team-a"}}"#).unwrap();
            assert_eq!(Resource::name(&ns), Some("team-a"));
        }

        #[test]
        fn a_different_kind_is_a_decode_error() {
            let err = decode::<Pod>(200, br#"{"apiVersion":"v1","kind":"Node"}"#).unwrap_err();
            assert!(matches!(err, ResponseError::Decode { .. }));
        }
    }
}
