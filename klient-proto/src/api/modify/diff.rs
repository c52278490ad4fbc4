//! The JSON patch that turns one serialized object into another, touching nothing else.

use std::fmt;

use serde_json::{Map, Value};

use super::list_keys::{Cursor, ListKeys};
use super::pointer::PointerBuf;
use crate::api::JsonPatchOp;

/// Containers nested deeper than this are compared whole: when they differ they are replaced
/// rather than walked. serde_json refuses to read documents nested deeper, so a value that came
/// from the API server never gets there; the bound keeps the walk's stack small on any value.
pub const MAX_DIFF_DEPTH: usize = 128;

/// The RFC 6902 JSON patch that turns `before` into `after`, changing only what differs.
///
/// Both values should come from one serializer (serde_json on the same Rust type), so that
/// whatever the change left alone is identical text on both sides; nothing is normalised. The
/// patch is made to be applied by the API server to its stored object, which may hold fields
/// `before` lacks (ones the Rust type does not know): it never replaces an object or a matched
/// list item whole, so those fields survive.
///
/// - Object members: added ones are `add`ed, removed ones `remove`d, objects on both sides are
///   walked, any other difference is a `replace`. `null` is a value: absent → `null` is an
///   `add`, `null` → absent a `remove`.
/// - Lists: items are matched first, by the key fields `keys` gives for the list's location, else
///   by equality (see [`ListKeys`]). Unmatched old items are removed (last first), matched ones
///   that are out of order are `move`d (never removed and added), unmatched new items are added
///   whole at their index, and then matched items that changed are walked at their final index.
///
/// The ops are meant to be applied in order, each to the result of the one before, as RFC 6902
/// says; [`apply_json_patch`](super::apply_json_patch) does that. No ops means no change.
///
/// ```
/// use klient_proto::api::modify::{ListKeys, LocationStep, json_patch_between, apply_json_patch};
/// use klient_proto::api::JsonPatchOp;
/// use serde_json::json;
///
/// let before = json!({
///     "metadata": {"name": "web", "labels": {"app": "web"}},
///     "spec": {"containers": [{"name": "app", "image": "web:1"}]}
/// });
/// let mut after = before.clone();
/// after["metadata"]["labels"]["tier"] = json!("front");
/// after["spec"]["containers"][0]["image"] = json!("web:2");
///
/// let mut keys = ListKeys::new();
/// keys.insert(&LocationStep::parse_path("spec.containers"), ["name"]);
/// let ops = json_patch_between(&before, &after, &keys).unwrap();
/// assert_eq!(ops, [
///     JsonPatchOp::Add { path: "/metadata/labels/tier".into(), value: json!("front") },
///     JsonPatchOp::Replace { path: "/spec/containers/0/image".into(), value: json!("web:2") },
/// ]);
///
/// // The server's copy has a field the client's type dropped; the patch leaves it alone.
/// let mut server = before.clone();
/// server["spec"]["containers"][0]["futureField"] = json!(true);
/// apply_json_patch(&mut server, &ops).unwrap();
/// assert_eq!(server["spec"]["containers"][0]["futureField"], json!(true));
/// assert_eq!(server["spec"]["containers"][0]["image"], json!("web:2"));
/// ```
pub fn json_patch_between(
    before: &Value,
    after: &Value,
    keys: &ListKeys,
) -> Result<Vec<JsonPatchOp>, DiffError> {
    let (Value::Object(b), Value::Object(a)) = (before, after) else {
        return Err(if before.is_object() {
            DiffError::AfterNotAnObject
        } else {
            DiffError::BeforeNotAnObject
        });
    };
    let mut differ = Differ {
        ops: Vec::new(),
        path: PointerBuf::default(),
    };
    differ.object(b, a, keys.cursor(), 0);
    Ok(differ.ops)
}

/// Why no patch could be computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiffError {
    /// `before` is not a JSON object: a Kubernetes object always serializes to one.
    BeforeNotAnObject,
    /// `after` is not a JSON object.
    AfterNotAnObject,
}

impl fmt::Display for DiffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiffError::BeforeNotAnObject => f.write_str("the value before the change is not a JSON object"),
            DiffError::AfterNotAnObject => f.write_str("the value after the change is not a JSON object"),
        }
    }
}

impl std::error::Error for DiffError {}

/// The walk's state: the ops so far and the pointer to where it is.
pub(super) struct Differ {
    pub(super) ops: Vec<JsonPatchOp>,
    pub(super) path: PointerBuf,
}

impl Differ {
    /// Ops for the value at the current path.
    pub(super) fn value(&mut self, before: &Value, after: &Value, at: Cursor<'_>, depth: usize) {
        match (before, after) {
            (Value::Object(b), Value::Object(a)) if depth < MAX_DIFF_DEPTH => {
                self.object(b, a, at, depth + 1)
            }
            (Value::Array(b), Value::Array(a)) if depth < MAX_DIFF_DEPTH => self.list(b, a, at, depth + 1),
            _ => {
                if before != after {
                    self.ops.push(JsonPatchOp::Replace {
                        path: self.path.to_path(),
                        value: after.clone(),
                    });
                }
            }
        }
    }

    fn object(
        &mut self,
        before: &Map<String, Value>,
        after: &Map<String, Value>,
        at: Cursor<'_>,
        depth: usize,
    ) {
        for (name, old) in before {
            self.path.push_key(name);
            match after.get(name) {
                Some(new) => self.value(old, new, at.field(name), depth),
                None => self.ops.push(JsonPatchOp::Remove {
                    path: self.path.to_path(),
                }),
            }
            self.path.pop();
        }
        for (name, new) in after {
            if !before.contains_key(name) {
                self.path.push_key(name);
                self.ops.push(JsonPatchOp::Add {
                    path: self.path.to_path(),
                    value: new.clone(),
                });
                self.path.pop();
            }
        }
    }
}
