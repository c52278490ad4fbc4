//! Read-modify-write without losing fields: the JSON patch that carries only what a change did.
//!
//! A typed client drops the fields its Rust types do not know when it reads an object (fields
//! added by a newer API server, or by a webhook), so writing the whole object back with `replace`
//! erases them on the server. Sending instead the difference between the typed value serialized
//! before and after the change, as an RFC 6902 JSON patch that the server applies to its own
//! stored object, leaves everything else as the server has it.
//!
//! - [`json_patch_between`] computes that patch; list items are matched by the keys a
//!   [`ListKeys`] gives for each list, so that a changed item is patched in place.
//! - [`ListKeys::from_openapi_v3`] reads those keys from the API server's OpenAPI v3 document
//!   (`/openapi/v3/api/v1`, `/openapi/v3/apis/<group>/<version>`).
//! - [`test_resource_version`] and [`replace_resource_version`] build an op that makes the patch
//!   fail if the object changed on the server since it was read.
//! - [`ReadModifyWrite`] decides what each attempt of a read-modify-write sends and whether a
//!   conflict is tried again; the adapters' `Api::modify` drive it.
//! - [`apply_json_patch`] applies a patch in memory, as the server would.

mod apply;
mod diff;
mod guard;
mod list;
mod list_keys;
mod matching;
mod openapi;
mod pointer;
mod read_modify_write;

#[cfg(test)]
mod diff_tests;
#[cfg(test)]
mod survival_tests;

pub use apply::{ApplyError, ApplyFailure, apply_json_patch};
pub use diff::{DiffError, MAX_DIFF_DEPTH, json_patch_between};
pub use guard::{RESOURCE_VERSION_POINTER, replace_resource_version, test_resource_version};
pub use list_keys::{ListKeys, LocationStep};
pub use openapi::{OpenApiError, OpenApiLimits};
pub use read_modify_write::{DEFAULT_ATTEMPTS, ListKeysCache, ModifyError, ReadModifyWrite, SchemaWait};
