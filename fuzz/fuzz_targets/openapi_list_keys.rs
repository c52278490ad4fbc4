//! OpenAPI documents from the server must never panic the list-key walk, and the JSON patch
//! between any two objects must turn one into the other, also when applied to a copy holding
//! fields the diff never saw (what the API server does with it).
//!
//! The input is up to four parts split at 0xff bytes (which JSON text never holds): an OpenAPI
//! document, the object before, the object after, and a list of patch ops to apply to `before`.
#![no_main]

use klient_proto::api::modify::{
    ListKeys, LocationStep, OpenApiLimits, apply_json_patch, json_patch_between,
};
use klient_proto::api::{ApiResource, JsonPatchOp, Scope};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0xff);
    let openapi = parts.next().unwrap_or_default();
    let keys = list_keys(openapi);

    let (Some(before), Some(after)) = (parts.next(), parts.next()) else {
        return;
    };
    let (Ok(before), Ok(after)) = (
        serde_json::from_slice::<Value>(before),
        serde_json::from_slice::<Value>(after),
    ) else {
        return;
    };
    let Ok(ops) = json_patch_between(&before, &after, &keys) else {
        assert!(!before.is_object() || !after.is_object());
        return;
    };
    let mut applied = before.clone();
    apply_json_patch(&mut applied, &ops).expect("a diff applies to its own before");
    assert_eq!(applied, after, "the diff gives its own after");

    // The server's copy has a member the client never saw in every object.
    if has_unknown(&before) || has_unknown(&after) {
        return;
    }
    let mut server = before.clone();
    add_unknown(&mut server);
    apply_json_patch(&mut server, &ops).expect("a diff applies to a copy with more fields");
    strip_unknown(&mut server);
    assert_eq!(
        server, after,
        "the diff gives its after on a copy with more fields"
    );

    if let Some(Ok(Value::Array(raw))) = parts.next().map(serde_json::from_slice::<Value>) {
        let ops: Vec<JsonPatchOp> = raw.iter().filter_map(op).collect();
        let mut doc = before.clone();
        if let Err(e) = apply_json_patch(&mut doc, &ops) {
            let _ = e.to_string();
            assert_eq!(doc, before, "a failed patch leaves the document alone");
        }
    }
});

/// The keys of the first kind the document declares, or none.
fn list_keys(openapi: &[u8]) -> ListKeys {
    let limits = OpenApiLimits {
        max_document_bytes: 1 << 20,
        ..OpenApiLimits::default()
    };
    let kind = serde_json::from_slice::<Value>(openapi)
        .ok()
        .and_then(|doc| first_kind(&doc))
        .unwrap_or_else(|| ApiResource::new("", "v1", "Pod", "pods", Scope::Namespaced));
    match ListKeys::from_openapi_v3(openapi, &kind, &limits) {
        Ok(keys) => {
            for path in ["spec.containers", "spec.containers[].ports", "a.*.b[][]"] {
                let _ = keys.keys_at(&LocationStep::parse_path(path));
            }
            keys
        }
        Err(e) => {
            let _ = e.to_string();
            ListKeys::new()
        }
    }
}

fn first_kind(doc: &Value) -> Option<ApiResource> {
    let schemas = doc.get("components")?.get("schemas")?.as_object()?;
    schemas.values().find_map(|schema| {
        let gvk = schema.get("x-kubernetes-group-version-kind")?.get(0)?;
        let field = |name| gvk.get(name).and_then(Value::as_str);
        Some(ApiResource::new(
            field("group")?,
            field("version")?,
            field("kind")?,
            "things",
            Scope::Namespaced,
        ))
    })
}

fn op(raw: &Value) -> Option<JsonPatchOp> {
    let text = |name| raw.get(name).and_then(Value::as_str).map(str::to_owned);
    let path = text("path")?;
    let value = || raw.get("value").cloned().unwrap_or(Value::Null);
    Some(match raw.get("op")?.as_str()? {
        "add" => JsonPatchOp::Add { path, value: value() },
        "remove" => JsonPatchOp::Remove { path },
        "replace" => JsonPatchOp::Replace { path, value: value() },
        "move" => JsonPatchOp::Move {
            from: text("from")?,
            path,
        },
        "copy" => JsonPatchOp::Copy {
            from: text("from")?,
            path,
        },
        _ => JsonPatchOp::Test { path, value: value() },
    })
}

const UNKNOWN: &str = "\u{0}unknown";

fn has_unknown(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.contains_key(UNKNOWN) || m.values().any(has_unknown),
        Value::Array(items) => items.iter().any(has_unknown),
        _ => false,
    }
}

fn add_unknown(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.values_mut().for_each(add_unknown);
            m.insert(UNKNOWN.into(), Value::Bool(true));
        }
        Value::Array(items) => items.iter_mut().for_each(add_unknown),
        _ => {}
    }
}

fn strip_unknown(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove(UNKNOWN);
            m.values_mut().for_each(strip_unknown);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_unknown),
        _ => {}
    }
}
