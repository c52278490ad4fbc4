//! Ops that tie a patch to the version of the object it was computed from, so that a write made
//! in between is not silently overwritten.

use serde_json::Value;

use crate::api::JsonPatchOp;

/// Where an object's version lives.
pub const RESOURCE_VERSION_POINTER: &str = "/metadata/resourceVersion";

/// A `test` op on `/metadata/resourceVersion`: applying the patch fails at this op unless the
/// stored object is still at `resource_version`, and then nothing of the patch is applied.
pub fn test_resource_version(resource_version: &str) -> JsonPatchOp {
    JsonPatchOp::Test {
        path: RESOURCE_VERSION_POINTER.to_owned(),
        value: Value::String(resource_version.to_owned()),
    }
}

/// A `replace` op on `/metadata/resourceVersion`: the patched object carries `resource_version`,
/// and the API server, which treats a resourceVersion in an update as a precondition, refuses
/// the write with a conflict unless the stored object is at that version.
pub fn replace_resource_version(resource_version: &str) -> JsonPatchOp {
    JsonPatchOp::Replace {
        path: RESOURCE_VERSION_POINTER.to_owned(),
        value: Value::String(resource_version.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::modify::apply_json_patch;
    use serde_json::json;

    #[test]
    fn guards_hold_only_at_their_version() {
        let mut doc = json!({"metadata": {"resourceVersion": "7"}});
        apply_json_patch(&mut doc, &[test_resource_version("7")]).unwrap();
        assert!(apply_json_patch(&mut doc, &[test_resource_version("6")]).is_err());
        apply_json_patch(&mut doc, &[replace_resource_version("8")]).unwrap();
        assert_eq!(doc, json!({"metadata": {"resourceVersion": "8"}}));
        assert_eq!(
            serde_json::to_value(test_resource_version("7")).unwrap(),
            json!({"op": "test", "path": "/metadata/resourceVersion", "value": "7"})
        );
    }
}
