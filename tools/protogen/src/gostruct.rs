//! Reads the Go struct definitions next to a `generated.proto`, for what the `.proto` does not
//! say: whether Go holds a field as a pointer (written only when set) or as a value (always
//! written), and the field's JSON name and omitempty/omitzero options (which decide how a zero
//! value maps to k8s-openapi's `Option`).
//!
//! The files are gofmt-formatted, so a line-based reading is exact: `type Name struct {` opens a
//! struct at column 0, `}` at column 0 closes it, and each field with a `protobuf:"..."` tag sits
//! on one line.

use std::collections::BTreeMap;
use std::path::Path;

/// One Go struct field that has a protobuf tag.
#[derive(Debug, Clone)]
pub struct GoField {
    /// The Go type as written (`*int32`, `[]Container`, `metav1.ObjectMeta`, ...).
    pub go_type: String,
    /// The JSON name from the `json` tag.
    pub json_name: String,
    /// The `json` tag has `omitempty`.
    pub omitempty: bool,
    /// The `json` tag has `omitzero`.
    pub omitzero: bool,
}

impl GoField {
    /// Go can hold "nothing" in this field (nil pointer, slice or map), and its generated marshaller
    /// writes the field only when it holds something.
    pub fn nillable(&self, named_slices: &std::collections::BTreeSet<String>) -> bool {
        let ty = self.go_type.as_str();
        ty.starts_with('*')
            || ty.starts_with("[]")
            || ty.starts_with("map[")
            || named_slices.contains(ty.rsplit('.').next().unwrap_or(ty))
    }
}

/// The Go structs of one package: struct name → protobuf field number → field. Also the package's
/// named slice types (`type Verbs []string`).
#[derive(Debug, Default)]
pub struct GoPackage {
    /// Structs by name.
    pub structs: BTreeMap<String, BTreeMap<u32, GoField>>,
    /// Names of `type X []Y` declarations.
    pub named_slices: std::collections::BTreeSet<String>,
}

/// Reads every non-test, non-generated `.go` file of a package directory.
pub fn read_package(dir: &Path) -> Result<GoPackage, String> {
    let mut package = GoPackage::default();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|error| format!("{}: {error}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path.file_name().and_then(|name| name.to_str()).unwrap_or("");
            name.ends_with(".go") && !name.ends_with("_test.go") && !name.ends_with(".pb.go")
        })
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path).map_err(|error| format!("{}: {error}", path.display()))?;
        read_file(&text, &mut package);
    }
    Ok(package)
}

fn read_file(text: &str, package: &mut GoPackage) {
    let mut current: Option<(String, BTreeMap<u32, GoField>)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("type ") {
            let mut words = rest.split_whitespace();
            let (Some(name), Some(kind)) = (words.next(), words.next()) else {
                continue;
            };
            if kind == "struct" && rest.trim_end().ends_with('{') {
                current = Some((name.to_owned(), BTreeMap::new()));
            } else if kind.starts_with("[]") {
                package.named_slices.insert(name.to_owned());
            }
            continue;
        }
        if line == "}" {
            if let Some((name, fields)) = current.take() {
                package.structs.insert(name, fields);
            }
            continue;
        }
        let Some((_, fields)) = current.as_mut() else {
            continue;
        };
        if let Some((number, field)) = parse_field(line) {
            fields.insert(number, field);
        }
    }
}

fn parse_field(line: &str) -> Option<(u32, GoField)> {
    let line = line.trim();
    let (declaration, tags) = line.split_once('`')?;
    let tags = tags.strip_suffix('`')?;
    let protobuf = tag_value(tags, "protobuf")?;
    let number = protobuf.split(',').nth(1)?.parse().ok()?;
    let words: Vec<&str> = declaration.split_whitespace().collect();
    // `Name Type` or an embedded `pkg.Type`.
    let go_type = (*words.last()?).to_owned();
    let json = tag_value(tags, "json").unwrap_or_default();
    let mut parts = json.split(',');
    let json_name = parts.next().unwrap_or("").to_owned();
    let options: Vec<&str> = parts.collect();
    Some((
        number,
        GoField {
            go_type,
            json_name,
            omitempty: options.contains(&"omitempty"),
            omitzero: options.contains(&"omitzero"),
        },
    ))
}

fn tag_value<'a>(tags: &'a str, key: &str) -> Option<&'a str> {
    let start = tags.find(&format!("{key}:\""))? + key.len() + 2;
    let rest = &tags[start..];
    Some(&rest[..rest.find('"')?])
}
