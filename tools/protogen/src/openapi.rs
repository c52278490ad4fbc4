//! Reads the k8s-openapi crate's generated sources for one Kubernetes version: which Rust type
//! stands for each OpenAPI definition, its fields' Rust names and types, and their JSON names.

use std::collections::BTreeMap;
use std::path::Path;

/// One k8s-openapi struct.
#[derive(Debug, Clone)]
pub struct RustStruct {
    /// The type's path (`k8s_openapi::api::core::v1::Pod`).
    pub path: String,
    /// Fields in declaration order.
    pub fields: Vec<RustField>,
    /// A tuple struct holding a `serde_json::Value`: how k8s-openapi models an empty Go struct.
    pub opaque_json: bool,
    /// It implements `k8s_openapi::Resource` (a kind with an apiVersion).
    pub is_resource: bool,
}

/// One field of a k8s-openapi struct.
#[derive(Debug, Clone)]
pub struct RustField {
    /// The Rust field name.
    pub name: String,
    /// The Rust type as written in the source (`Option<std::vec::Vec<crate::api::core::v1::EnvVar>>`).
    pub ty: String,
    /// The JSON name it (de)serialises as.
    pub json_name: String,
}

/// Reads every struct under `src/v1_XX`, keyed by the protobuf message name its OpenAPI
/// definition corresponds to (`io.k8s.api.core.v1.Pod` → `k8s.io.api.core.v1.Pod`).
pub fn read_version(version_dir: &Path) -> Result<BTreeMap<String, RustStruct>, String> {
    let mut structs = BTreeMap::new();
    walk(version_dir, version_dir, &mut structs)?;
    Ok(structs)
}

fn walk(root: &Path, dir: &Path, structs: &mut BTreeMap<String, RustStruct>) -> Result<(), String> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|error| format!("{}: {error}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(root, &path, structs)?;
            continue;
        }
        if path.extension().is_none_or(|extension| extension != "rs") || path.ends_with("mod.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|error| format!("{}: {error}", path.display()))?;
        let Some(definition) = text
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("// Generated from definition "))
        else {
            continue;
        };
        let Some(found) = read_struct(&text) else { continue };
        let module = path
            .parent()
            .and_then(|parent| parent.strip_prefix(root).ok())
            .map(|relative| {
                relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .join("::");
        let (name, fields, opaque_json) = found;
        let message = format!(
            "k8s.io.{}",
            definition.trim().trim_start_matches("io.k8s.").replace('-', "_")
        );
        let is_resource = text.contains(&format!("impl crate::Resource for {name} {{"));
        structs.insert(
            message,
            RustStruct {
                path: format!("k8s_openapi::{module}::{name}"),
                fields,
                opaque_json,
                is_resource,
            },
        );
    }
    Ok(())
}

fn read_struct(text: &str) -> Option<(String, Vec<RustField>, bool)> {
    let mut lines = text.lines();
    let name = lines.by_ref().find_map(|line| line.strip_prefix("pub struct "))?;
    if let Some(name) = name.strip_suffix("(pub crate::serde_json::Value);") {
        return Some((name.to_owned(), Vec::new(), true));
    }
    let name = name.strip_suffix(" {")?.to_owned();
    let mut fields = Vec::new();
    for line in lines.by_ref() {
        if line == "}" {
            break;
        }
        if let Some(field) = line.strip_prefix("    pub ") {
            let (field_name, ty) = field.split_once(": ")?;
            fields.push((field_name.to_owned(), ty.trim_end_matches(',').to_owned()));
        }
    }
    // JSON names come from the Deserialize impl's key table: `"volumeID" => Field::Key_volume_id,`.
    let mut json_names = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some((json, key)) = line.split_once("\" => Field::Key_") {
            json_names.insert(
                key.trim_end_matches(',').to_owned(),
                json.trim_start_matches('"').to_owned(),
            );
        }
    }
    let fields = fields
        .into_iter()
        .map(|(name, ty)| {
            let json_name = json_names.get(&name).cloned().unwrap_or_default();
            RustField { name, ty, json_name }
        })
        .collect();
    Some((name, fields, false))
}
