//! The diff's edge cases, each checked op by op and by applying the patch.

use serde_json::{Value, json};

use super::{DiffError, ListKeys, LocationStep, MAX_DIFF_DEPTH, apply_json_patch, json_patch_between};
use crate::api::JsonPatchOp;

fn add(path: &str, value: Value) -> JsonPatchOp {
    JsonPatchOp::Add {
        path: path.into(),
        value,
    }
}

fn remove(path: &str) -> JsonPatchOp {
    JsonPatchOp::Remove { path: path.into() }
}

fn replace(path: &str, value: Value) -> JsonPatchOp {
    JsonPatchOp::Replace {
        path: path.into(),
        value,
    }
}

fn mv(from: &str, path: &str) -> JsonPatchOp {
    JsonPatchOp::Move {
        from: from.into(),
        path: path.into(),
    }
}

/// The patch from `before` to `after`, checked to turn one into the other.
fn diff(before: &Value, after: &Value, keys: &ListKeys) -> Vec<JsonPatchOp> {
    let ops = json_patch_between(before, after, keys).unwrap();
    let mut applied = before.clone();
    apply_json_patch(&mut applied, &ops).unwrap();
    assert_eq!(&applied, after, "ops: {ops:?}");
    ops
}

/// Pod's list keys: containers by name, their ports by number and protocol.
pub(super) fn pod_keys() -> ListKeys {
    let mut keys = ListKeys::new();
    keys.insert(&LocationStep::parse_path("spec.containers"), ["name"]);
    keys.insert(
        &LocationStep::parse_path("spec.containers[].ports"),
        ["containerPort", "protocol"],
    );
    keys
}

#[test]
fn nothing_changed_means_no_ops() {
    let pod = json!({"metadata": {"name": "a"}, "spec": {"containers": [{"name": "c"}], "x": [1, 1]}});
    assert_eq!(diff(&pod, &pod, &pod_keys()), []);
    assert_eq!(diff(&json!({}), &json!({}), &ListKeys::new()), []);
}

#[test]
fn null_is_not_absent() {
    let keys = ListKeys::new();
    assert_eq!(
        diff(&json!({}), &json!({"a": null}), &keys),
        [add("/a", Value::Null)]
    );
    assert_eq!(diff(&json!({"a": null}), &json!({}), &keys), [remove("/a")]);
    assert_eq!(
        diff(&json!({"a": null}), &json!({"a": 0}), &keys),
        [replace("/a", json!(0))]
    );
    assert_eq!(
        diff(&json!({"a": {"b": 1}}), &json!({"a": null}), &keys),
        [replace("/a", Value::Null)]
    );
}

#[test]
fn removed_added_and_nested_fields() {
    let before =
        json!({"metadata": {"labels": {"app": "a", "tmp": "x"}}, "spec": {"replicas": 1, "paused": true}});
    let after = json!({"metadata": {"labels": {"app": "b", "new": "y"}}, "spec": {"replicas": 1}});
    assert_eq!(
        diff(&before, &after, &ListKeys::new()),
        [
            replace("/metadata/labels/app", json!("b")),
            remove("/metadata/labels/tmp"),
            add("/metadata/labels/new", json!("y")),
            remove("/spec/paused"),
        ]
    );
}

#[test]
fn maps_with_null_values() {
    let before = json!({"data": {"a": null, "b": "x"}});
    let after = json!({"data": {"a": null, "b": null, "c": null}});
    assert_eq!(
        diff(&before, &after, &ListKeys::new()),
        [replace("/data/b", Value::Null), add("/data/c", Value::Null)]
    );
}

#[test]
fn member_names_are_escaped() {
    let before = json!({"metadata": {"annotations": {"example.com/a~b": "1", "x/y": "2"}}});
    let after = json!({"metadata": {"annotations": {"example.com/a~b": "3", "~": "4"}}});
    assert_eq!(
        diff(&before, &after, &ListKeys::new()),
        [
            replace("/metadata/annotations/example.com~1a~0b", json!("3")),
            remove("/metadata/annotations/x~1y"),
            add("/metadata/annotations/~0", json!("4")),
        ]
    );
}

#[test]
fn a_changed_type_is_replaced() {
    let keys = ListKeys::new();
    assert_eq!(
        diff(&json!({"a": {"b": 1}}), &json!({"a": [1]}), &keys),
        [replace("/a", json!([1]))]
    );
    assert_eq!(
        diff(&json!({"a": [1]}), &json!({"a": "1"}), &keys),
        [replace("/a", json!("1"))]
    );
}

#[test]
fn unkeyed_list_items_reordered_added_and_removed() {
    let keys = ListKeys::new();
    let list = |items: Value| json!({ "args": items });
    // Reordered: the longest run in order stays, the rest moves.
    assert_eq!(
        diff(
            &list(json!(["a", "b", "c"])),
            &list(json!(["c", "a", "b"])),
            &keys
        ),
        [mv("/args/2", "/args/0")]
    );
    assert_eq!(
        diff(
            &list(json!(["x", "a", "b", "c"])),
            &list(json!(["a", "b", "c", "x"])),
            &keys
        ),
        [mv("/args/0", "/args/3")]
    );
    // Added in the middle.
    assert_eq!(
        diff(
            &list(json!(["a", "b", "c"])),
            &list(json!(["a", "x", "b", "c"])),
            &keys
        ),
        [add("/args/1", json!("x"))]
    );
    // Removed from the middle.
    assert_eq!(
        diff(&list(json!(["a", "b", "c"])), &list(json!(["a", "c"])), &keys),
        [remove("/args/1")]
    );
    // Removed and added at once: an item without identity that changed is another item.
    assert_eq!(
        diff(
            &list(json!(["a", "b", "c", "d"])),
            &list(json!(["a", "x", "c", "y", "z"])),
            &keys
        ),
        [
            remove("/args/3"),
            remove("/args/1"),
            add("/args/1", json!("x")),
            add("/args/3", json!("y")),
            add("/args/4", json!("z")),
        ]
    );
    // All at once, with a full reversal.
    assert_eq!(
        diff(&list(json!([1, 2, 3, 4])), &list(json!([5, 4, 3, 2])), &keys),
        [
            remove("/args/0"),
            mv("/args/1", "/args/2"),
            mv("/args/0", "/args/2"),
            add("/args/0", json!(5)),
        ]
    );
}

#[test]
fn empty_lists() {
    let keys = ListKeys::new();
    assert_eq!(
        diff(&json!({"a": []}), &json!({"a": [1]}), &keys),
        [add("/a/0", json!(1))]
    );
    assert_eq!(
        diff(&json!({"a": [1, 2]}), &json!({"a": []}), &keys),
        [remove("/a/1"), remove("/a/0")]
    );
    assert_eq!(diff(&json!({}), &json!({"a": []}), &keys), [add("/a", json!([]))]);
    assert_eq!(diff(&json!({"a": []}), &json!({}), &keys), [remove("/a")]);
}

#[test]
fn scalar_lists_with_duplicates() {
    let keys = ListKeys::new();
    let list = |items: Value| json!({ "finalizers": items });
    assert_eq!(
        diff(
            &list(json!(["x", "x", "y"])),
            &list(json!(["x", "y", "x"])),
            &keys
        ),
        [mv("/finalizers/1", "/finalizers/2")]
    );
    assert_eq!(
        diff(&list(json!(["x", "x", "x"])), &list(json!(["x", "x"])), &keys),
        [remove("/finalizers/2")]
    );
    assert_eq!(
        diff(&list(json!([1, 1])), &list(json!([1, 2, 1, 1])), &keys),
        [add("/finalizers/1", json!(2)), add("/finalizers/2", json!(1))]
    );
}

#[test]
fn keyed_item_changed_after_an_insert_before_it_is_patched_in_place() {
    let before = json!({"spec": {"containers": [
        {"name": "app", "image": "app:1", "ports": [{"containerPort": 80, "protocol": "TCP"}]},
        {"name": "log", "image": "log:1"}
    ]}});
    let after = json!({"spec": {"containers": [
        {"name": "init", "image": "init:1"},
        {"name": "app", "image": "app:2", "ports": [
            {"containerPort": 80, "protocol": "UDP"},
            {"containerPort": 80, "protocol": "TCP", "name": "http"}
        ]},
        {"name": "log", "image": "log:1"}
    ]}});
    let ops = diff(&before, &after, &pod_keys());
    assert_eq!(
        ops,
        [
            add("/spec/containers/0", json!({"name": "init", "image": "init:1"})),
            replace("/spec/containers/1/image", json!("app:2")),
            add(
                "/spec/containers/1/ports/0",
                json!({"containerPort": 80, "protocol": "UDP"})
            ),
            add("/spec/containers/1/ports/1/name", json!("http")),
        ]
    );

    // The server's copy has fields the client never saw; the patch leaves them where they are.
    let mut server = before.clone();
    server["spec"]["containers"][0]["resizePolicy"] = json!([{"resourceName": "cpu"}]);
    server["spec"]["containers"][0]["ports"][0]["future"] = json!("kept");
    server["spec"]["containers"][1]["restartPolicy"] = json!("Always");
    apply_json_patch(&mut server, &ops).unwrap();
    let mut expected = after.clone();
    expected["spec"]["containers"][1]["resizePolicy"] = json!([{"resourceName": "cpu"}]);
    expected["spec"]["containers"][1]["ports"][1]["future"] = json!("kept");
    expected["spec"]["containers"][2]["restartPolicy"] = json!("Always");
    assert_eq!(server, expected);

    // Without keys the changed container is another container: the server's extra field goes.
    let unkeyed = diff(&before, &after, &ListKeys::new());
    assert!(unkeyed.contains(&remove("/spec/containers/0")), "{unkeyed:?}");
}

#[test]
fn keyed_items_reordered_are_moved_then_patched() {
    let before = json!({"spec": {"containers": [
        {"name": "a", "image": "1"}, {"name": "b", "image": "1"}, {"name": "c", "image": "1"}
    ]}});
    let after = json!({"spec": {"containers": [
        {"name": "c", "image": "2"}, {"name": "a", "image": "1"}
    ]}});
    assert_eq!(
        diff(&before, &after, &pod_keys()),
        [
            remove("/spec/containers/1"),
            mv("/spec/containers/0", "/spec/containers/1"),
            replace("/spec/containers/0/image", json!("2")),
        ]
    );
}

#[test]
fn items_lacking_a_key_or_sharing_one_fall_back_to_equality() {
    // A port without its protocol, and two ports claiming one key.
    let before = json!({"spec": {"containers": [{"name": "a", "ports": [
        {"containerPort": 80},
        {"containerPort": 81, "protocol": "TCP", "n": 1},
        {"containerPort": 81, "protocol": "TCP", "n": 2}
    ]}]}});
    let after = json!({"spec": {"containers": [{"name": "a", "ports": [
        {"containerPort": 81, "protocol": "TCP", "n": 2},
        {"containerPort": 80, "name": "http"}
    ]}]}});
    assert_eq!(
        diff(&before, &after, &pod_keys()),
        [
            remove("/spec/containers/0/ports/1"),
            remove("/spec/containers/0/ports/0"),
            add(
                "/spec/containers/0/ports/1",
                json!({"containerPort": 80, "name": "http"})
            ),
        ]
    );
}

#[test]
fn the_root_stays_an_object() {
    let keys = ListKeys::new();
    assert_eq!(
        json_patch_between(&json!([]), &json!({}), &keys),
        Err(DiffError::BeforeNotAnObject)
    );
    assert_eq!(
        json_patch_between(&json!({}), &json!(null), &keys),
        Err(DiffError::AfterNotAnObject)
    );
    assert_eq!(
        DiffError::AfterNotAnObject.to_string(),
        "the value after the change is not a JSON object"
    );
}

#[test]
fn values_deeper_than_the_limit_are_replaced_whole() {
    let nest = |leaf: Value| {
        let mut v = leaf;
        for _ in 0..MAX_DIFF_DEPTH + 10 {
            v = json!({ "n": v });
        }
        json!({ "root": v })
    };
    let (before, after) = (nest(json!(1)), nest(json!(2)));
    let ops = diff(&before, &after, &ListKeys::new());
    let [JsonPatchOp::Replace { path, .. }] = &ops[..] else {
        panic!("one replace expected: {ops:?}");
    };
    assert_eq!(path.matches("/n").count(), MAX_DIFF_DEPTH);
}
