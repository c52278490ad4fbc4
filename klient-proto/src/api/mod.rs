//! The typed Kubernetes API: which URL each operation uses, its options, and what comes back.

mod dynamic;
mod error;
mod resource;
mod status;

pub use dynamic::{ApiResource, DynamicMeta, DynamicObject, TypeMeta};
pub use error::{BODY_SNIPPET_MAX, BadSegment, BodySnippet, RequestError, ResponseError, Segment};
#[cfg(feature = "k8s-openapi")]
pub use resource::OpenapiScope;
pub use resource::{Resource, Scope};
pub use status::{ApiError, Status, StatusCause, StatusDetails, StatusReason};
