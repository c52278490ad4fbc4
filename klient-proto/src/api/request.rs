//! Builders of the HTTP requests for one kind, in one namespace or across all of them.

use super::dynamic::ApiResource;
use super::error::{BadSegment, RequestError, Segment};
use super::format::{Format, JSON};
use super::params::{
    DeleteParams, GetParams, ListParams, Patch, PatchParams, PostParams, Query, WatchParams,
};
use super::resource::{NamespaceResourceScope, Resource, RootScope, Scope};
use http::Method;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Serialize;

/// Bytes a path segment may not carry raw: anything that would end the path or change its meaning.
pub(crate) const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// What the response body of a request is expected to be; decides the `Accept` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// An API object or a watch stream, in the format preferred.
    Object(Format),
    /// Plain text (container logs), served whatever `Accept` says.
    Text,
}

/// A request body and its media type.
pub(crate) struct Body {
    pub(crate) bytes: Vec<u8>,
    pub(crate) content_type: &'static str,
}

impl Body {
    pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, RequestError> {
        Ok(Body {
            bytes: serde_json::to_vec(value)?,
            content_type: JSON,
        })
    }

    pub(crate) fn patch<P: Serialize>(patch: &Patch<P>) -> Result<Self, RequestError> {
        Ok(Body {
            bytes: patch.to_bytes()?,
            content_type: patch.content_type(),
        })
    }

    /// An object in `format` when its kind has that form, otherwise in JSON.
    pub(crate) fn object<K: Resource + Serialize>(object: &K, format: Format) -> Result<Self, RequestError> {
        match (format, K::protobuf()) {
            (Format::Protobuf, Some(codec)) => Ok(Body {
                bytes: codec.encode(object),
                content_type: crate::protobuf::CONTENT_TYPE,
            }),
            _ => Body::json(object),
        }
    }
}

/// Checks that a user-supplied segment can go into a path as one segment.
pub(crate) fn check_segment(segment: Segment, value: &str) -> Result<(), RequestError> {
    match segment_problem(value) {
        None => Ok(()),
        Some(problem) => Err(RequestError::InvalidSegment {
            segment,
            value: value.to_string(),
            problem,
        }),
    }
}

/// What keeps `value` from being one path segment, if anything.
fn segment_problem(value: &str) -> Option<BadSegment> {
    if value.is_empty() {
        Some(BadSegment::Empty)
    } else if value.contains('/') {
        Some(BadSegment::ContainsSlash)
    } else if value.contains('%') {
        Some(BadSegment::ContainsPercent)
    } else if value == "." || value == ".." {
        Some(BadSegment::DotSegment)
    } else {
        None
    }
}

/// Appends `/segment`, percent-encoding what a path cannot carry raw.
fn push_segment(path: &mut String, segment: &str) {
    path.push('/');
    path.extend(utf8_percent_encode(segment, PATH_SEGMENT));
}

/// The requests for one kind, scoped to a namespace or to the whole cluster.
///
/// Every method returns an `http::Request<Vec<u8>>` whose URI is origin-form (path and query
/// only): the adapter adds the server's address and sends it. Nothing here does I/O.
///
/// ```
/// # #[cfg(feature = "k8s-openapi")] {
/// use k8s_openapi::api::core::v1::Pod;
/// use klient_proto::api::{ListParams, Request};
/// let pods = Request::namespaced::<Pod>("prod").unwrap();
/// let req = pods.list(&ListParams::default().labels("app=web")).unwrap();
/// assert_eq!(req.uri(), "/api/v1/namespaces/prod/pods?labelSelector=app%3Dweb");
/// # }
/// ```
///
/// Kinds known only at run time go through an [`ApiResource`]:
///
/// ```
/// use klient_proto::api::{ApiResource, GetParams, Request, Scope};
/// let ar = ApiResource::new("stable.example.com", "v1", "CronTab", "crontabs", Scope::Namespaced);
/// let tabs = Request::from_api_resource(&ar, Some("ops")).unwrap();
/// let req = tabs.get("nightly", &GetParams::default()).unwrap();
/// assert_eq!(req.uri(), "/apis/stable.example.com/v1/namespaces/ops/crontabs/nightly");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Why no request can be built, when [`Request::new_deferred`] was given something
    /// [`Request::new`] rejects; every builder method then fails with it.
    unusable: Option<Unusable>,
    kind: String,
    namespace: Option<String>,
    group: String,
    version: String,
    plural: String,
    /// Path of the collection, e.g. `/apis/apps/v1/namespaces/prod/deployments`.
    collection: String,
    /// Whether single objects can be addressed: false for a namespaced kind across all namespaces.
    addresses_objects: bool,
    /// Whether the kind has a protobuf form (see [`Resource::protobuf`]).
    has_protobuf: bool,
    /// The format asked for; protobuf only when the kind has it.
    format: Format,
}

/// Why a [`Request`] made by [`Request::new_deferred`] cannot build requests.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Unusable {
    InvalidSegment {
        segment: Segment,
        value: String,
        problem: BadSegment,
    },
    NamespaceNotAllowed,
    NotARootResource,
}

impl Request {
    /// Requests for `K` in `namespace` (`None`: cluster-scoped, or all namespaces), checked at
    /// run time: an error when the scope of `K` does not allow `namespace`, or when the namespace
    /// (or the kind's group, version or plural) cannot be a path segment.
    pub fn new<K: Resource>(dt: &K::DynamicType, namespace: Option<&str>) -> Result<Self, RequestError> {
        let request = Self::new_deferred::<K>(dt, namespace);
        request.usable()?;
        Ok(request)
    }

    /// Like [`new`](Self::new), for constructors that must not fail: what `new` would reject is
    /// kept instead, and every request built from the result fails with that error.
    ///
    /// ```
    /// # #[cfg(feature = "k8s-openapi")] {
    /// use k8s_openapi::api::core::v1::Pod;
    /// use klient_proto::api::{ListParams, Request, RequestError};
    /// let pods = Request::new_deferred::<Pod>(&(), Some("a/b"));
    /// assert!(matches!(
    ///     pods.list(&ListParams::default()),
    ///     Err(RequestError::InvalidSegment { .. })
    /// ));
    /// # }
    /// ```
    pub fn new_deferred<K: Resource>(dt: &K::DynamicType, namespace: Option<&str>) -> Self {
        let mut request = Self::build(
            &K::group(dt),
            &K::version(dt),
            &K::kind(dt),
            &K::plural(dt),
            K::scope(dt),
            namespace,
        );
        request.has_protobuf = K::protobuf().is_some();
        request
    }

    /// Requests for a statically known namespaced kind in one namespace; an error when the
    /// namespace cannot be a path segment. Cluster-scoped kinds and subresources do not compile:
    ///
    /// ```compile_fail
    /// # // Node is cluster-scoped.
    /// use k8s_openapi::api::core::v1::Node;
    /// let nodes = klient_proto::api::Request::namespaced::<Node>("default");
    /// ```
    pub fn namespaced<K: Resource<DynamicType = (), Scope = NamespaceResourceScope>>(
        namespace: &str,
    ) -> Result<Self, RequestError> {
        Self::new::<K>(&(), Some(namespace))
    }

    /// Requests for a statically known kind across the cluster: a cluster-scoped kind, or a
    /// namespaced kind in all namespaces. Subresources (`Scale`, `Eviction`...) do not compile.
    pub fn all<K: Resource<DynamicType = ()>>() -> Result<Self, RequestError>
    where
        K::Scope: RootScope,
    {
        Self::new::<K>(&(), None)
    }

    /// Requests for a kind described at run time; errors as [`new`](Self::new) has them.
    pub fn from_api_resource(resource: &ApiResource, namespace: Option<&str>) -> Result<Self, RequestError> {
        let request = Self::build(
            &resource.group,
            &resource.version,
            &resource.kind,
            &resource.plural,
            resource.scope,
            namespace,
        );
        request.usable()?;
        Ok(request)
    }

    /// The requests, whatever their inputs: the first problem with them is kept in `unusable`.
    fn build(
        group: &str,
        version: &str,
        kind: &str,
        plural: &str,
        scope: Scope,
        namespace: Option<&str>,
    ) -> Self {
        let mut unusable = match (scope, namespace) {
            (Scope::Subresource, _) => Some(Unusable::NotARootResource),
            (Scope::Cluster, Some(_)) => Some(Unusable::NamespaceNotAllowed),
            _ => None,
        };
        let mut check = |segment: Segment, value: &str| {
            if unusable.is_none()
                && let Some(problem) = segment_problem(value)
            {
                unusable = Some(Unusable::InvalidSegment {
                    segment,
                    value: value.to_string(),
                    problem,
                });
            }
        };
        if !group.is_empty() {
            check(Segment::Resource, group);
        }
        check(Segment::Resource, version);
        check(Segment::Resource, plural);
        if let Some(ns) = namespace {
            check(Segment::Namespace, ns);
        }
        let mut collection = String::new();
        if group.is_empty() {
            collection.push_str("/api");
        } else {
            collection.push_str("/apis");
            push_segment(&mut collection, group);
        }
        push_segment(&mut collection, version);
        if let Some(ns) = namespace {
            collection.push_str("/namespaces");
            push_segment(&mut collection, ns);
        }
        push_segment(&mut collection, plural);
        Request {
            unusable,
            kind: kind.to_string(),
            namespace: namespace.map(str::to_string),
            group: group.to_string(),
            version: version.to_string(),
            plural: plural.to_string(),
            collection,
            addresses_objects: scope == Scope::Cluster || namespace.is_some(),
            has_protobuf: false,
            format: Format::Json,
        }
    }

    /// The error every request fails with, when these requests were made from something
    /// [`new`](Self::new) rejects (see [`new_deferred`](Self::new_deferred)).
    pub fn usable(&self) -> Result<(), RequestError> {
        let kind = || self.kind.clone();
        match &self.unusable {
            None => Ok(()),
            Some(Unusable::InvalidSegment {
                segment,
                value,
                problem,
            }) => Err(RequestError::InvalidSegment {
                segment: *segment,
                value: value.clone(),
                problem: *problem,
            }),
            Some(Unusable::NamespaceNotAllowed) => Err(RequestError::NamespaceNotAllowed { kind: kind() }),
            Some(Unusable::NotARootResource) => Err(RequestError::NotARootResource { kind: kind() }),
        }
    }

    /// The same requests, preferring `format` for what they send and receive.
    ///
    /// Protobuf is honoured only for kinds that have it ([`Resource::protobuf`]); custom
    /// resources and kinds described at run time stay on JSON. Requests then send
    /// `Accept: application/vnd.kubernetes.protobuf, application/json`, and
    /// [`create_object`](Self::create_object) and [`replace_object`](Self::replace_object) send
    /// protobuf bodies; patches stay JSON or YAML, as the API requires. Decode the answers with
    /// [`decode_negotiated`](super::decode_negotiated), which follows the `Content-Type`.
    ///
    /// ```
    /// use klient_proto::api::{ApiResource, Format, GetParams, Request, Scope};
    /// let ar = ApiResource::new("stable.example.com", "v1", "CronTab", "crontabs", Scope::Namespaced);
    /// let tabs = Request::from_api_resource(&ar, Some("ops")).unwrap().with_format(Format::Protobuf);
    /// assert_eq!(tabs.format(), Format::Json);
    /// let req = tabs.get("nightly", &GetParams::default()).unwrap();
    /// assert_eq!(req.headers()["accept"], "application/json");
    /// ```
    pub fn with_format(mut self, format: Format) -> Self {
        self.format = if self.has_protobuf { format } else { Format::Json };
        self
    }

    /// The format these requests prefer.
    pub fn format(&self) -> Format {
        self.format
    }

    /// What object requests expect back.
    pub(crate) fn expect(&self) -> Expect {
        Expect::Object(self.format)
    }

    /// The path of the collection (`/api/v1/namespaces/prod/pods`).
    pub fn collection_path(&self) -> &str {
        &self.collection
    }

    /// The namespace these requests are scoped to, if any.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The kind these requests are for.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The kind's API group (empty for the core group).
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The kind's version within its group.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Reads the OpenAPI v3 document of the kind's group-version (`/openapi/v3/api/v1`,
    /// `/openapi/v3/apis/apps/v1`): its schemas say how list items are identified (list-map
    /// keys), which a read-modify-write needs to patch lists without shifting their items.
    ///
    /// ```
    /// # #[cfg(feature = "k8s-openapi")] {
    /// use k8s_openapi::api::apps::v1::Deployment;
    /// use klient_proto::api::Request;
    /// let deployments = Request::namespaced::<Deployment>("prod").unwrap();
    /// assert_eq!(deployments.openapi_schema().unwrap().uri(), "/openapi/v3/apis/apps/v1");
    /// # }
    /// ```
    pub fn openapi_schema(&self) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.usable()?;
        let mut path = String::from("/openapi/v3");
        if self.group.is_empty() {
            path.push_str("/api");
        } else {
            path.push_str("/apis");
            push_segment(&mut path, &self.group);
        }
        push_segment(&mut path, &self.version);
        // The document is JSON whatever format the objects travel in.
        finish(
            Method::GET,
            path,
            Query::new(),
            None,
            Expect::Object(Format::Json),
        )
    }

    /// Whether this is the core/v1 Pod collection (some subresources exist only there).
    pub(crate) fn is_core_pods(&self) -> bool {
        self.group.is_empty() && self.plural == "pods"
    }

    /// The path of one object, optionally of one of its subresources.
    pub(crate) fn object_path(&self, name: &str, subresource: Option<&str>) -> Result<String, RequestError> {
        self.usable()?;
        if !self.addresses_objects {
            return Err(RequestError::NamespaceRequired {
                kind: self.kind.clone(),
            });
        }
        check_segment(Segment::Name, name)?;
        let mut path = self.collection.clone();
        push_segment(&mut path, name);
        if let Some(sub) = subresource {
            check_segment(Segment::Subresource, sub)?;
            push_segment(&mut path, sub);
        }
        Ok(path)
    }

    /// Reads one object.
    pub fn get(&self, name: &str, params: &GetParams) -> Result<http::Request<Vec<u8>>, RequestError> {
        let mut q = Query::new();
        params.append(&mut q);
        finish(Method::GET, self.object_path(name, None)?, q, None, self.expect())
    }

    /// Lists the collection (one page of it, with `limit`).
    pub fn list(&self, params: &ListParams) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.usable()?;
        let mut q = Query::new();
        params.append(&mut q)?;
        finish(Method::GET, self.collection.clone(), q, None, self.expect())
    }

    /// Watches the collection (or, with `send_initial_events`, runs a streaming list).
    pub fn watch(&self, params: &WatchParams) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.usable()?;
        let mut q = Query::new();
        params.append(&mut q)?;
        finish(Method::GET, self.collection.clone(), q, None, self.expect())
    }

    /// Creates an object (serialized as JSON; see [`create_object`](Self::create_object)).
    pub fn create<T: Serialize + ?Sized>(
        &self,
        params: &PostParams,
        object: &T,
    ) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.create_with(params, Body::json(object)?)
    }

    /// Creates an object, in protobuf when these requests prefer it and `K` has it, else JSON.
    pub fn create_object<K: Resource + Serialize>(
        &self,
        params: &PostParams,
        object: &K,
    ) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.create_with(params, Body::object(object, self.format)?)
    }

    fn create_with(&self, params: &PostParams, body: Body) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.usable()?;
        if !self.addresses_objects {
            return Err(RequestError::NamespaceRequired {
                kind: self.kind.clone(),
            });
        }
        let mut q = Query::new();
        params.append(&mut q);
        finish(
            Method::POST,
            self.collection.clone(),
            q,
            Some(body),
            self.expect(),
        )
    }

    /// Replaces an object; its `metadata.resourceVersion` guards against lost updates. (Serialized
    /// as JSON; see [`replace_object`](Self::replace_object).)
    pub fn replace<T: Serialize + ?Sized>(
        &self,
        name: &str,
        params: &PostParams,
        object: &T,
    ) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.replace_with(name, None, params, Body::json(object)?)
    }

    /// Replaces an object, in protobuf when these requests prefer it and `K` has it, else JSON.
    pub fn replace_object<K: Resource + Serialize>(
        &self,
        name: &str,
        params: &PostParams,
        object: &K,
    ) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.replace_with(name, None, params, Body::object(object, self.format)?)
    }

    /// `PUT` of an object or of one of its subresources.
    pub(crate) fn replace_with(
        &self,
        name: &str,
        subresource: Option<&str>,
        params: &PostParams,
        body: Body,
    ) -> Result<http::Request<Vec<u8>>, RequestError> {
        let path = self.object_path(name, subresource)?;
        let mut q = Query::new();
        params.append(&mut q);
        finish(Method::PUT, path, q, Some(body), self.expect())
    }

    /// Patches an object with the strategy of `patch`.
    pub fn patch<P: Serialize>(
        &self,
        name: &str,
        params: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<http::Request<Vec<u8>>, RequestError> {
        let path = self.object_path(name, None)?;
        let mut q = Query::new();
        params.append(patch, &mut q)?;
        finish(Method::PATCH, path, q, Some(Body::patch(patch)?), self.expect())
    }

    /// Deletes an object; the options travel as a `DeleteOptions` body.
    pub fn delete(&self, name: &str, params: &DeleteParams) -> Result<http::Request<Vec<u8>>, RequestError> {
        let path = self.object_path(name, None)?;
        let body = Body {
            bytes: params.to_bytes()?,
            content_type: JSON,
        };
        finish(Method::DELETE, path, Query::new(), Some(body), self.expect())
    }

    /// Deletes every object the list options select, in one namespace or a cluster-scoped kind.
    pub fn delete_collection(
        &self,
        params: &DeleteParams,
        selection: &ListParams,
    ) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.usable()?;
        if !self.addresses_objects {
            return Err(RequestError::NamespaceRequired {
                kind: self.kind.clone(),
            });
        }
        let mut q = Query::new();
        selection.append(&mut q)?;
        let body = Body {
            bytes: params.to_bytes()?,
            content_type: JSON,
        };
        finish(
            Method::DELETE,
            self.collection.clone(),
            q,
            Some(body),
            self.expect(),
        )
    }
}

/// The one place where media-type headers are chosen, so content negotiation can change here alone.
pub(crate) fn finish(
    method: Method,
    mut path: String,
    query: Query,
    body: Option<Body>,
    expect: Expect,
) -> Result<http::Request<Vec<u8>>, RequestError> {
    let query = query.finish();
    if !query.is_empty() {
        path.push('?');
        path.push_str(&query);
    }
    let mut builder = http::Request::builder().method(method).uri(path);
    if let Expect::Object(format) = expect {
        builder = builder.header(http::header::ACCEPT, format.accept());
    }
    let bytes = match body {
        Some(body) => {
            builder = builder.header(http::header::CONTENT_TYPE, body.content_type);
            body.bytes
        }
        None => Vec::new(),
    };
    Ok(builder.body(bytes)?)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::api::dynamic::DynamicObject;
    use serde_json::json;

    pub(crate) fn header<'a>(req: &'a http::Request<Vec<u8>>, name: &str) -> Option<&'a str> {
        req.headers().get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn body_json(req: &http::Request<Vec<u8>>) -> serde_json::Value {
        serde_json::from_slice(req.body()).unwrap()
    }

    fn crontabs(scope: Scope) -> ApiResource {
        ApiResource::new("stable.example.com", "v1", "CronTab", "crontabs", scope)
    }

    fn configmaps(ns: Option<&str>) -> Request {
        let ar = ApiResource::new("", "v1", "ConfigMap", "configmaps", Scope::Namespaced);
        Request::from_api_resource(&ar, ns).unwrap()
    }

    #[test]
    fn url_shapes_for_core_grouped_namespaced_and_cluster() {
        let get = GetParams::default();
        let r = configmaps(Some("ns"));
        assert_eq!(
            r.get("c", &get).unwrap().uri(),
            "/api/v1/namespaces/ns/configmaps/c"
        );
        let r = Request::from_api_resource(&crontabs(Scope::Cluster), None).unwrap();
        assert_eq!(
            r.get("c", &get).unwrap().uri(),
            "/apis/stable.example.com/v1/crontabs/c"
        );
        let r = Request::from_api_resource(&crontabs(Scope::Namespaced), Some("a")).unwrap();
        assert_eq!(
            r.collection_path(),
            "/apis/stable.example.com/v1/namespaces/a/crontabs"
        );
        let nodes = ApiResource::new("", "v1", "Node", "nodes", Scope::Cluster);
        let r = Request::from_api_resource(&nodes, None).unwrap();
        assert_eq!(r.list(&ListParams::default()).unwrap().uri(), "/api/v1/nodes");
    }

    #[test]
    fn get_sends_accept_json_and_no_body() {
        let req = configmaps(Some("ns")).get("c", &GetParams::any()).unwrap();
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.uri(), "/api/v1/namespaces/ns/configmaps/c?resourceVersion=0");
        assert_eq!(header(&req, "accept"), Some("application/json"));
        assert_eq!(header(&req, "content-type"), None);
        assert!(req.body().is_empty());
        assert!(req.uri().scheme().is_none() && req.uri().host().is_none());
    }

    #[test]
    fn all_namespaces_lists_but_cannot_address_objects() {
        let r = configmaps(None);
        assert_eq!(
            r.list(&ListParams::default().limit(5)).unwrap().uri(),
            "/api/v1/configmaps?limit=5"
        );
        assert_eq!(
            r.watch(&WatchParams::default()).unwrap().uri(),
            "/api/v1/configmaps?watch=1&allowWatchBookmarks=true"
        );
        for err in [
            r.get("c", &GetParams::default()).unwrap_err(),
            r.create(&PostParams::default(), &json!({})).unwrap_err(),
            r.delete("c", &DeleteParams::default()).unwrap_err(),
            r.delete_collection(&DeleteParams::default(), &ListParams::default())
                .unwrap_err(),
        ] {
            assert!(
                matches!(&err, RequestError::NamespaceRequired { kind } if kind == "ConfigMap"),
                "{err}"
            );
        }
    }

    #[test]
    fn scope_mismatches_are_typed_errors() {
        let err = Request::from_api_resource(&crontabs(Scope::Cluster), Some("ns")).unwrap_err();
        assert!(matches!(err, RequestError::NamespaceNotAllowed { .. }));
        let err = Request::from_api_resource(&crontabs(Scope::Subresource), None).unwrap_err();
        assert!(matches!(err, RequestError::NotARootResource { .. }));
    }

    #[test]
    fn names_and_namespaces_are_validated() {
        let r = configmaps(Some("ns"));
        let cases = [
            ("", BadSegment::Empty),
            ("a/b", BadSegment::ContainsSlash),
            ("a%2Fb", BadSegment::ContainsPercent),
            (".", BadSegment::DotSegment),
            ("..", BadSegment::DotSegment),
        ];
        for (name, want) in cases {
            let err = r.get(name, &GetParams::default()).unwrap_err();
            assert!(
                matches!(err, RequestError::InvalidSegment { segment: Segment::Name, problem, .. } if problem == want),
                "{name:?}"
            );
            let ar = ApiResource::new("", "v1", "ConfigMap", "configmaps", Scope::Namespaced);
            let err = Request::from_api_resource(&ar, Some(name)).unwrap_err();
            assert!(
                matches!(err, RequestError::InvalidSegment { segment: Segment::Namespace, problem, .. } if problem == want),
                "{name:?}"
            );
        }
        let bad = ApiResource::new("", "v1", "X", "", Scope::Cluster);
        assert!(matches!(
            Request::from_api_resource(&bad, None),
            Err(RequestError::InvalidSegment {
                segment: Segment::Resource,
                ..
            })
        ));
    }

    #[test]
    fn unusual_name_characters_are_percent_encoded() {
        let roles = ApiResource::new(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            Scope::Cluster,
        );
        let r = Request::from_api_resource(&roles, None).unwrap();
        let req = r.get("system:node", &GetParams::default()).unwrap();
        assert_eq!(
            req.uri(),
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:node"
        );
        let req = r.get("a b?c#d", &GetParams::default()).unwrap();
        assert_eq!(
            req.uri(),
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/a%20b%3Fc%23d"
        );
        let req = r.get("é", &GetParams::default()).unwrap();
        assert_eq!(
            req.uri().path(),
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/%C3%A9"
        );
    }

    #[test]
    fn create_replace_send_json_bodies() {
        let ar = crontabs(Scope::Namespaced);
        let r = Request::from_api_resource(&ar, Some("ops")).unwrap();
        let obj = DynamicObject::new("nightly", &ar).within("ops");
        let pp = PostParams {
            field_manager: Some("me".into()),
            ..PostParams::default()
        };
        let req = r.create(&pp, &obj).unwrap();
        assert_eq!(req.method(), Method::POST);
        assert_eq!(
            req.uri(),
            "/apis/stable.example.com/v1/namespaces/ops/crontabs?fieldManager=me"
        );
        assert_eq!(header(&req, "content-type"), Some("application/json"));
        assert_eq!(header(&req, "accept"), Some("application/json"));
        assert_eq!(body_json(&req)["metadata"]["name"], "nightly");

        let req = r.replace("nightly", &PostParams::default(), &obj).unwrap();
        assert_eq!(req.method(), Method::PUT);
        assert_eq!(
            req.uri(),
            "/apis/stable.example.com/v1/namespaces/ops/crontabs/nightly"
        );
        assert_eq!(body_json(&req)["kind"], "CronTab");
    }

    #[test]
    fn patch_sets_strategy_content_type() {
        let r = configmaps(Some("ns"));
        let cases = [
            (
                Patch::Merge(json!({"data": {"a": "1"}})),
                "application/merge-patch+json",
            ),
            (
                Patch::Strategic(json!({"data": {}})),
                "application/strategic-merge-patch+json",
            ),
            (
                Patch::Json(json!([{"op": "remove", "path": "/data/a"}])),
                "application/json-patch+json",
            ),
        ];
        for (patch, ct) in cases {
            let req = r.patch("c", &PatchParams::default(), &patch).unwrap();
            assert_eq!(req.method(), Method::PATCH);
            assert_eq!(req.uri(), "/api/v1/namespaces/ns/configmaps/c");
            assert_eq!(header(&req, "content-type"), Some(ct));
            assert_eq!(header(&req, "accept"), Some("application/json"));
        }
        let apply = Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap"}));
        let req = r.patch("c", &PatchParams::apply("ctl").force(), &apply).unwrap();
        assert_eq!(
            req.uri(),
            "/api/v1/namespaces/ns/configmaps/c?fieldManager=ctl&force=true"
        );
        assert_eq!(header(&req, "content-type"), Some("application/apply-patch+yaml"));
        assert_eq!(body_json(&req)["kind"], "ConfigMap");
        assert!(matches!(
            r.patch("c", &PatchParams::default(), &apply),
            Err(RequestError::ApplyNeedsFieldManager)
        ));
    }

    #[test]
    fn delete_sends_delete_options() {
        let r = configmaps(Some("ns"));
        let req = r
            .delete("c", &DeleteParams::background().grace_period(5))
            .unwrap();
        assert_eq!(req.method(), Method::DELETE);
        assert_eq!(req.uri(), "/api/v1/namespaces/ns/configmaps/c");
        assert_eq!(header(&req, "content-type"), Some("application/json"));
        assert_eq!(
            body_json(&req),
            json!({"apiVersion": "v1", "kind": "DeleteOptions",
                   "gracePeriodSeconds": 5, "propagationPolicy": "Background"})
        );
    }

    #[test]
    fn delete_collection_carries_selection_and_options() {
        let r = configmaps(Some("ns"));
        let req = r
            .delete_collection(
                &DeleteParams::foreground(),
                &ListParams::default()
                    .labels("app in (a, b)")
                    .fields("metadata.name!=keep"),
            )
            .unwrap();
        assert_eq!(req.method(), Method::DELETE);
        assert_eq!(
            req.uri(),
            "/api/v1/namespaces/ns/configmaps?labelSelector=app+in+%28a%2C+b%29\
             &fieldSelector=metadata.name%21%3Dkeep"
        );
        assert_eq!(body_json(&req)["propagationPolicy"], "Foreground");
    }

    #[test]
    fn watch_and_streaming_list_queries() {
        let r = Request::from_api_resource(&crontabs(Scope::Namespaced), Some("a")).unwrap();
        let req = r
            .watch(&WatchParams::default().at("100").fields("metadata.name=x"))
            .unwrap();
        assert_eq!(
            req.uri(),
            "/apis/stable.example.com/v1/namespaces/a/crontabs?watch=1\
             &fieldSelector=metadata.name%3Dx&resourceVersion=100&allowWatchBookmarks=true"
        );
        let req = r.watch(&WatchParams::default().streaming_list()).unwrap();
        assert_eq!(
            req.uri().query(),
            Some("watch=1&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan")
        );
        assert_eq!(header(&req, "accept"), Some("application/json"));
    }

    #[test]
    fn protobuf_is_asked_for_only_for_kinds_that_have_it() {
        use crate::api::format::tests::{Widget, codec, widget};
        let widgets = Request::namespaced::<Widget>("ns").unwrap();
        assert_eq!(widgets.format(), Format::Json);
        let widgets = widgets.with_format(Format::Protobuf);
        assert_eq!(widgets.format(), Format::Protobuf);
        let protobuf = "application/vnd.kubernetes.protobuf, application/json";
        let pp = PostParams::default();
        for req in [
            widgets.get("a", &GetParams::default()).unwrap(),
            widgets.list(&ListParams::default()).unwrap(),
            widgets.watch(&WatchParams::default()).unwrap(),
            widgets.delete("a", &DeleteParams::default()).unwrap(),
            widgets
                .patch("a", &PatchParams::default(), &Patch::Merge(json!({})))
                .unwrap(),
            widgets.get_status("a").unwrap(),
            widgets.create(&pp, &json!({})).unwrap(),
        ] {
            assert_eq!(header(&req, "accept"), Some(protobuf), "{}", req.uri());
        }
        // Typed bodies follow the format; untyped ones, patches and delete options stay JSON.
        let object = widget("a", 1);
        for req in [
            widgets.create_object(&pp, &object).unwrap(),
            widgets.replace_object("a", &pp, &object).unwrap(),
            widgets
                .replace_subresource_object("status", "a", &pp, &object)
                .unwrap(),
        ] {
            assert_eq!(
                header(&req, "content-type"),
                Some("application/vnd.kubernetes.protobuf")
            );
            assert_eq!(codec().decode(req.body()), Ok(object.clone()), "{}", req.uri());
        }
        assert_eq!(
            widgets.replace_object("a", &pp, &object).unwrap().uri(),
            "/apis/example.com/v1/namespaces/ns/widgets/a"
        );
        let req = widgets.create(&pp, &object).unwrap();
        assert_eq!(header(&req, "content-type"), Some("application/json"));
        assert_eq!(body_json(&req)["name"], "a");
        let req = widgets.delete("a", &DeleteParams::default()).unwrap();
        assert_eq!(header(&req, "content-type"), Some("application/json"));
        // Back to JSON: everything is JSON again.
        let json_again = widgets.clone().with_format(Format::Json);
        let req = json_again.create_object(&pp, &object).unwrap();
        assert_eq!(header(&req, "content-type"), Some("application/json"));
        assert_eq!(header(&req, "accept"), Some("application/json"));
    }

    #[test]
    fn kinds_without_protobuf_stay_on_json() {
        use crate::api::format::tests::widget;
        let r = configmaps(Some("ns")).with_format(Format::Protobuf);
        assert_eq!(r.format(), Format::Json);
        let req = r.get("c", &GetParams::default()).unwrap();
        assert_eq!(header(&req, "accept"), Some("application/json"));
        // A typed body whose kind has protobuf still follows the builder's (JSON) format.
        let req = r.create_object(&PostParams::default(), &widget("a", 1)).unwrap();
        assert_eq!(header(&req, "content-type"), Some("application/json"));
    }

    #[test]
    fn unserializable_body_is_an_error_not_a_panic() {
        use std::collections::BTreeMap;
        // JSON object keys must be strings; a map keyed by tuples cannot be serialized.
        let mut bad = BTreeMap::new();
        bad.insert((1, 2), "x");
        let err = configmaps(Some("ns"))
            .create(&PostParams::default(), &bad)
            .unwrap_err();
        assert!(matches!(err, RequestError::Serialize(_)));
    }
}

#[cfg(all(test, feature = "k8s-openapi"))]
mod openapi_tests {
    use super::tests::{body_json, header};
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
    use k8s_openapi::api::policy::v1::Eviction;

    #[test]
    fn typed_kinds_build_the_right_urls() {
        let get = GetParams::default();
        let pods = Request::namespaced::<Pod>("prod").unwrap();
        assert_eq!(
            pods.get("web-0", &get).unwrap().uri(),
            "/api/v1/namespaces/prod/pods/web-0"
        );
        assert_eq!(pods.namespace(), Some("prod"));
        let deps = Request::namespaced::<Deployment>("prod").unwrap();
        assert_eq!(
            deps.get("web", &get).unwrap().uri(),
            "/apis/apps/v1/namespaces/prod/deployments/web"
        );
        let nodes = Request::all::<Node>().unwrap();
        assert_eq!(nodes.get("n1", &get).unwrap().uri(), "/api/v1/nodes/n1");
        let namespaces = Request::all::<Namespace>().unwrap();
        assert_eq!(
            namespaces.list(&ListParams::default()).unwrap().uri(),
            "/api/v1/namespaces"
        );
        assert_eq!(
            Request::all::<Pod>()
                .unwrap()
                .list(&ListParams::default())
                .unwrap()
                .uri(),
            "/api/v1/pods"
        );
        // A namespaced Node or a Pod-less Eviction do not compile; asked for at run time, they
        // are typed errors.
        assert!(matches!(
            Request::new::<Node>(&(), Some("x")),
            Err(RequestError::NamespaceNotAllowed { .. })
        ));
        assert!(matches!(
            Request::new::<Eviction>(&(), None),
            Err(RequestError::NotARootResource { .. })
        ));
        assert!(matches!(
            Request::namespaced::<Pod>("a/b"),
            Err(RequestError::InvalidSegment {
                segment: Segment::Namespace,
                ..
            })
        ));
    }

    #[test]
    fn deferred_requests_fail_each_request_with_the_error_new_reports() {
        let get = GetParams::default();
        let pods = Request::new_deferred::<Pod>(&(), Some("prod"));
        assert_eq!(
            Ok(pods.clone()),
            Request::namespaced::<Pod>("prod").map_err(|e| e.to_string())
        );
        assert!(pods.usable().is_ok());
        assert_eq!(
            pods.get("web-0", &get).unwrap().uri(),
            "/api/v1/namespaces/prod/pods/web-0"
        );

        /// What `new_deferred` makes of `namespace`, and the error `new` reports for it.
        fn deferred<K: Resource<DynamicType = ()>>(namespace: Option<&str>) -> (Request, RequestError) {
            let reported = Request::new::<K>(&(), namespace).unwrap_err();
            (Request::new_deferred::<K>(&(), namespace), reported)
        }
        let (empty, dots) = (deferred::<Pod>(Some("")), deferred::<Pod>(Some("..")));
        let node = deferred::<Node>(Some("x"));
        let eviction = deferred::<Eviction>(None);
        assert!(matches!(
            (&empty.1, &dots.1),
            (
                RequestError::InvalidSegment {
                    segment: Segment::Namespace,
                    problem: BadSegment::Empty,
                    ..
                },
                RequestError::InvalidSegment {
                    segment: Segment::Namespace,
                    problem: BadSegment::DotSegment,
                    ..
                }
            )
        ));
        assert!(matches!(&node.1, RequestError::NamespaceNotAllowed { kind } if kind == "Node"));
        assert!(matches!(&eviction.1, RequestError::NotARootResource { kind } if kind == "Eviction"));
        let pp = PostParams::default();
        for (request, reported) in [empty, dots, node, eviction] {
            let errors = [
                request.usable().unwrap_err(),
                request.get("a", &get).unwrap_err(),
                request.list(&ListParams::default()).unwrap_err(),
                request.watch(&WatchParams::default()).unwrap_err(),
                request.create(&pp, &Pod::default()).unwrap_err(),
                request.replace("a", &pp, &Pod::default()).unwrap_err(),
                request
                    .patch("a", &PatchParams::default(), &Patch::Merge(()))
                    .unwrap_err(),
                request.delete("a", &DeleteParams::default()).unwrap_err(),
                request
                    .delete_collection(&DeleteParams::default(), &ListParams::default())
                    .unwrap_err(),
                request.get_status("a").unwrap_err(),
                request.logs("a", &Default::default()).unwrap_err(),
                request.evict("a", &Default::default()).unwrap_err(),
                request.get_ephemeral_containers("a").unwrap_err(),
            ];
            for err in errors {
                assert_eq!(err.to_string(), reported.to_string(), "{request:?}");
            }
        }
    }

    #[test]
    fn typed_objects_serialize_into_bodies() {
        let mut ns = Namespace::default();
        ns.metadata.name = Some("team-a".into());
        let req = Request::all::<Namespace>()
            .unwrap()
            .create(&PostParams::default(), &ns)
            .unwrap();
        assert_eq!(req.uri(), "/api/v1/namespaces");
        assert_eq!(header(&req, "content-type"), Some("application/json"));
        let body = body_json(&req);
        assert_eq!(body["kind"], "Namespace");
        assert_eq!(body["apiVersion"], "v1");
        assert_eq!(body["metadata"]["name"], "team-a");
    }

    #[test]
    fn the_openapi_schema_of_a_kind_is_its_group_versions_document() {
        let pods = Request::namespaced::<Pod>("prod").unwrap();
        assert_eq!((pods.group(), pods.version()), ("", "v1"));
        let req = pods.openapi_schema().unwrap();
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.uri(), "/openapi/v3/api/v1");
        assert_eq!(req.headers()["accept"], "application/json");
        let crontabs = ApiResource::new(
            "stable.example.com",
            "v1",
            "CronTab",
            "crontabs",
            Scope::Namespaced,
        );
        let tabs = Request::from_api_resource(&crontabs, None).unwrap();
        assert_eq!(
            tabs.openapi_schema().unwrap().uri(),
            "/openapi/v3/apis/stable.example.com/v1"
        );
    }
}
