//! Discovery: which groups, versions and resources a server serves, and resolving what a user
//! types (`deploy`, `Deployment`, `crd`, `widgets.example.com`) to an [`ApiResource`].
//!
//! [`DiscoveryRun`] drives it without I/O. It asks `/api` and `/apis` for aggregated discovery
//! (apidiscovery.k8s.io/v2, then v2beta1): two requests describe everything. A server that answers
//! with plain JSON instead (the `Content-Type` tells) gets the legacy protocol: `/api`
//! (`APIVersions`) and `/apis` (`APIGroupList`), then one `APIResourceList` per group-version.
//! The answers build an [`ApiCatalog`], whose [`resolve`](ApiCatalog::resolve) maps names to
//! resources.
//!
//! [`ApiResource`]: crate::api::ApiResource

mod aggregated;
mod catalog;
mod error;
mod format;
mod legacy;
mod model;
mod resolve;
mod run;

pub use aggregated::{AggregatedDiscovery, decode_aggregated};
pub use catalog::{ApiCatalog, FailedGroupVersion};
pub use error::DiscoveryError;
pub use format::{ACCEPT_AGGREGATED, ACCEPT_LEGACY, ResponseFormat};
pub use legacy::{decode_api_versions, decode_group_list, decode_resource_list};
pub use model::{ApiGroup, DiscoveredResource, DiscoveredSubresource, GroupVersion};
pub use resolve::LookupError;
pub use run::{DiscoveryMode, DiscoveryRequest, DiscoveryRun, DiscoveryTarget, MAX_GROUP_VERSIONS};
