//! The typed Kubernetes API: which URL each operation uses, its options, and what comes back.
//!
//! Nothing here does I/O. [`Request`] turns "list pods in `prod`" into an
//! `http::Request<Vec<u8>>` with an origin-form URI (path and query only); the adapter adds the
//! server's address and sends it, then hands the status code and body to [`decode`] (or
//! [`decode_delete`]), which returns the object or a typed [`ResponseError`].
//!
//! ```
//! use klient_proto::api::{decode, ApiResource, DynamicObject, ListParams, ObjectList, Request, Scope};
//!
//! let ar = ApiResource::new("stable.example.com", "v1", "CronTab", "crontabs", Scope::Namespaced);
//! let crontabs = Request::from_api_resource(&ar, Some("ops")).unwrap();
//! let req = crontabs.list(&ListParams::default().limit(50)).unwrap();
//! assert_eq!(req.uri(), "/apis/stable.example.com/v1/namespaces/ops/crontabs?limit=50");
//!
//! // ... the adapter sends `req` and receives a status code and body ...
//! let body = br#"{"metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"a"}}]}"#;
//! let list: ObjectList<DynamicObject> = decode(200, body).unwrap();
//! assert_eq!(list.items.len(), 1);
//! ```
//!
//! With the `k8s-openapi` feature, every k8s-openapi type is a [`Resource`], so
//! `Request::namespaced::<Pod>("prod")` works directly.

pub mod discovery;
mod dynamic;
mod error;
pub(crate) mod format;
mod list_body;
mod list_stream;
pub(crate) mod messages;
pub mod modify;
mod negotiated;
mod params;
mod protobuf_list;
mod request;
mod resource;
mod resource_ext;
mod response;
mod status;
mod subresource;

pub use discovery::{
    ACCEPT_AGGREGATED, ACCEPT_LEGACY, AggregatedDiscovery, ApiCatalog, ApiGroup, DiscoveredResource,
    DiscoveredSubresource, DiscoveryError, DiscoveryMode, DiscoveryRequest, DiscoveryRun, DiscoveryTarget,
    FailedGroupVersion, GroupVersion, LookupError, MAX_GROUP_VERSIONS, ResponseFormat, decode_aggregated,
    decode_api_versions, decode_group_list, decode_resource_list,
};
pub use dynamic::{ApiResource, DynamicMeta, DynamicObject, TypeMeta};
pub use error::{BODY_SNIPPET_MAX, BadSegment, BodySnippet, RequestError, ResponseError, Segment};
pub use format::{Format, ProtobufCodec};
pub use list_body::ListBody;
pub use list_stream::{
    DEFAULT_MAX_ITEM_SIZE, ListDecodeError, ListDecoder, ListProgress, MAX_DEPTH, MAX_KEY_LEN,
    MalformedReason,
};
pub use messages::encode_status;
pub use modify::{
    ApplyError, ApplyFailure, DiffError, ListKeys, LocationStep, OpenApiError, OpenApiLimits,
    apply_json_patch, json_patch_between,
};
pub use negotiated::{Decodable, decode_delete_negotiated, decode_negotiated};
pub use params::{
    DeleteParams, FieldValidation, GetParams, JsonPatchOp, ListParams, LogParams, Patch, PatchParams,
    PostParams, Preconditions, PropagationPolicy, ResourceVersionMatch, WatchParams,
};
pub use protobuf_list::{ProtobufListDecoder, ProtobufListError};
pub(crate) use request::PATH_SEGMENT;
pub use request::Request;
#[cfg(feature = "k8s-openapi")]
pub use resource::OpenapiScope;
pub use resource::{
    ClusterResourceScope, DynamicResourceScope, NamespaceResourceScope, Resource, ResourceScope, RootScope,
    Scope, SubResourceScope,
};
pub use resource_ext::ResourceExt;
pub use response::{
    Deleted, ListMeta, ObjectList, decode, decode_delete, decode_error, decode_response, decode_text,
};
pub use status::{ApiError, Status, StatusCause, StatusDetails, StatusReason};
pub use subresource::EvictParams;
