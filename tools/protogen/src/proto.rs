//! Reads the `generated.proto` files go-to-protobuf writes: one package, flat messages, fields of
//! the forms `optional T name = N;`, `repeated T name = N;` and `map<K, V> name = N;`.

use std::collections::BTreeMap;

/// A field's declared type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtoType {
    /// `string`, `bool`, `int32`, `int64`, `double`, `bytes`, ...
    Scalar(String),
    /// A message, by fully qualified name (`k8s.io.api.core.v1.Pod`).
    Message(String),
}

/// How often a field occurs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Label {
    /// `optional` (proto2).
    Optional,
    /// `repeated`.
    Repeated,
    /// `map<string, V>`: the value type is the field's type.
    Map,
}

/// One field of a message.
#[derive(Debug, Clone)]
pub struct ProtoField {
    /// The field's name in the `.proto` file.
    pub name: String,
    /// Its number.
    pub number: u32,
    /// Its label.
    pub label: Label,
    /// Its (value) type.
    pub ty: ProtoType,
}

/// One message, by fully qualified name.
#[derive(Debug, Clone)]
pub struct ProtoMessage {
    /// Fields by number.
    pub fields: BTreeMap<u32, ProtoField>,
}

const SCALARS: &[&str] = &[
    "string", "bool", "bytes", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "double", "float",
    "fixed32", "fixed64", "sfixed32", "sfixed64",
];

/// Parses one `.proto` file, returning its package and its messages (keyed by full name).
pub fn parse(text: &str) -> Result<(String, BTreeMap<String, ProtoMessage>), String> {
    let mut package = None;
    let mut messages = BTreeMap::new();
    let mut current: Option<(String, ProtoMessage)> = None;
    let mut in_block_comment = false;
    for (index, raw_line) in text.lines().enumerate() {
        let line = raw_line.split("//").next().unwrap_or("").trim();
        // go-to-protobuf writes block comments only for the licence header, on lines of their own.
        if in_block_comment || line.starts_with("/*") {
            in_block_comment = !line.ends_with("*/");
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let fail = |what: &str| format!("line {}: {what}: {raw_line}", index + 1);
        if let Some(rest) = line.strip_prefix("package ") {
            package = Some(rest.trim_end_matches(';').trim().to_owned());
        } else if let Some(rest) = line.strip_prefix("message ") {
            if current.is_some() {
                return Err(fail("nested messages are not expected"));
            }
            let name = rest.trim_end_matches('{').trim().to_owned();
            let package = package.as_ref().ok_or_else(|| fail("message before package"))?;
            current = Some((
                format!("{package}.{name}"),
                ProtoMessage {
                    fields: BTreeMap::new(),
                },
            ));
        } else if line == "}" {
            let (name, message) = current.take().ok_or_else(|| fail("unbalanced }"))?;
            messages.insert(name, message);
        } else if let Some((_, message)) = current.as_mut() {
            let field =
                parse_field(line, package.as_deref().unwrap_or("")).ok_or_else(|| fail("unparsed field"))?;
            message.fields.insert(field.number, field);
        } else if !(line.starts_with("syntax") || line.starts_with("import") || line.starts_with("option")) {
            return Err(fail("unexpected statement"));
        }
    }
    Ok((package.ok_or("no package statement")?, messages))
}

fn parse_field(line: &str, package: &str) -> Option<ProtoField> {
    let line = line.strip_suffix(';')?;
    let (declaration, number) = line.rsplit_once('=')?;
    let number = number.trim().parse().ok()?;
    let declaration = declaration.trim();
    let (label, ty, name) = if let Some(rest) = declaration.strip_prefix("map<") {
        let (types, name) = rest.split_once('>')?;
        let (key, value) = types.split_once(',')?;
        if key.trim() != "string" {
            return None;
        }
        (Label::Map, value.trim(), name.trim())
    } else {
        let mut words = declaration.split_whitespace();
        let label = match words.next()? {
            "optional" => Label::Optional,
            "repeated" => Label::Repeated,
            _ => return None,
        };
        let ty = words.next()?;
        let name = words.next()?;
        (label, ty, name)
    };
    let ty = if SCALARS.contains(&ty) {
        ProtoType::Scalar(ty.to_owned())
    } else if let Some(qualified) = ty.strip_prefix('.') {
        ProtoType::Message(qualified.to_owned())
    } else {
        ProtoType::Message(format!("{package}.{ty}"))
    };
    Some(ProtoField {
        name: name.to_owned(),
        number,
        label,
        ty,
    })
}
