//! Turns one message's `.proto` fields, Go fields and k8s-openapi fields into the Rust source of
//! its `Message` impl.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::gostruct::GoField;
use crate::openapi::RustStruct;
use crate::proto::{Label, ProtoMessage, ProtoType};

/// Messages whose codecs klient-proto writes by hand (`protobuf/special`), or that k8s-openapi
/// models as something other than a struct.
pub const HAND_WRITTEN: &[&str] = &[
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1",
    "k8s.io.apimachinery.pkg.apis.meta.v1.WatchEvent",
    "k8s.io.apimachinery.pkg.api.resource.Quantity",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
    "k8s.io.apimachinery.pkg.runtime.RawExtension",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSON",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray",
];

/// Go types whose zero value Go's JSON writes as `null` (k8s-openapi `None`) even without
/// `omitempty`: their `MarshalJSON` does so.
const NULL_WHEN_ZERO: &[&str] = &[
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime",
];

/// What the emitter can look up about any message: its `.proto` definition, its Go struct fields
/// and its Go package's named slice types.
pub type Lookup<'a> =
    dyn Fn(&str) -> Option<(&'a ProtoMessage, &'a BTreeMap<u32, GoField>, &'a BTreeSet<String>)> + 'a;

/// Everything the emitter needs to know about one message.
pub struct MessageInput<'a> {
    /// Full protobuf name.
    pub name: &'a str,
    /// The k8s-openapi struct.
    pub rust: &'a RustStruct,
    /// Messages that are wrapped Go named slices (`message Verbs { repeated string items = 1; }`).
    pub wrapper_messages: &'a BTreeSet<String>,
    /// Definitions of every message.
    pub lookup: &'a Lookup<'a>,
}

/// What the emitter found besides the code.
#[derive(Default)]
pub struct Findings {
    /// `.proto` fields k8s-openapi has no field for (JSON drops them too).
    pub proto_only: Vec<String>,
    /// k8s-openapi fields the `.proto` has no field for.
    pub json_only: Vec<String>,
    /// Fields whose shapes disagree; fatal.
    pub errors: Vec<String>,
}

enum Shape {
    Single,
    Repeated,
    Map,
}

struct Plan<'a> {
    number: u32,
    rust_name: &'a str,
    optional: bool,
    shape: Shape,
    /// Go writes it only when set (pointer, slice, map).
    nillable: bool,
    /// Go holds it as a byte slice, where nil and empty mean the same (the Rust side cannot tell them apart).
    byte_slice: bool,
    /// A zero value decodes to `None` (Go's JSON leaves it out).
    omit_zero: bool,
}

/// One protobuf field of a message: mapped to a k8s-openapi field, or an embedded Go struct
/// whose fields JSON inlines into the parent (`json:",inline"`) but protobuf nests.
enum Item<'a> {
    Field(Plan<'a>),
    Inline {
        number: u32,
        message: String,
        items: Vec<Item<'a>>,
    },
}

impl Item<'_> {
    fn number(&self) -> u32 {
        match self {
            Item::Field(plan) => plan.number,
            Item::Inline { number, .. } => *number,
        }
    }
}

fn strip<'s>(ty: &'s str, prefix: &str) -> Option<&'s str> {
    ty.strip_prefix(prefix)?.strip_suffix('>')
}

/// Emits the impl for one message (or records why a field cannot be mapped).
pub fn emit_message(input: &MessageInput<'_>, findings: &mut Findings) -> String {
    if input.rust.opaque_json {
        match (input.lookup)(input.name) {
            Some((proto, _, _)) if proto.fields.is_empty() => {}
            _ => findings.errors.push(format!(
                "{}: k8s-openapi holds it as JSON, but it has fields",
                input.name
            )),
        }
        return format!(
            "impl_empty_message_value!({}, {:?});\n",
            input.rust.path, input.name
        );
    }
    let rust_by_json: BTreeMap<&str, &crate::openapi::RustField> = input
        .rust
        .fields
        .iter()
        .map(|field| (field.json_name.as_str(), field))
        .collect();
    let mut used = BTreeSet::new();
    let items = plan_message(input, input.name, &rust_by_json, &mut used, findings);
    for field in &input.rust.fields {
        if !used.contains(field.json_name.as_str()) {
            findings
                .json_only
                .push(format!("{}.{}", input.name, field.json_name));
        }
    }

    let path = &input.rust.path;
    let mut out = String::new();
    let _ = writeln!(out, "impl Message for {path} {{");
    let _ = writeln!(out, "    const NAME: &'static str = {:?};", input.name);
    let _ = writeln!(out);
    let _ = writeln!(out, "    fn empty() -> Self {{");
    let _ = writeln!(out, "        Self {{");
    for field in &input.rust.fields {
        let value = if field.ty.starts_with("Option<") {
            "None"
        } else if field.ty.starts_with("std::vec::Vec<")
            || field.ty.starts_with("std::collections::BTreeMap<")
        {
            "Default::default()"
        } else {
            "Value::zero()"
        };
        let _ = writeln!(out, "            {}: {value},", field.name);
    }
    let _ = writeln!(out, "        }}");
    let _ = writeln!(out, "    }}");
    let _ = writeln!(out);
    let writer = if items.is_empty() { "_writer" } else { "writer" };
    let _ = writeln!(out, "    fn encode_fields(&self, {writer}: &mut Writer) {{");
    emit_encode(&items, "        ", &mut out);
    let _ = writeln!(out, "    }}");
    let _ = writeln!(out);
    let field = if items.is_empty() { "_field" } else { "field" };
    let _ = writeln!(
        out,
        "    fn merge_field(&mut self, {field}: u32, wire_type: WireType, reader: &mut Reader<'_>) -> Result<(), ProtobufError> {{"
    );
    if items.is_empty() {
        let _ = writeln!(out, "        reader.skip(wire_type)");
    } else {
        let _ = writeln!(
            out,
            "        let context = FieldContext {{ message: Self::NAME, field }};"
        );
        emit_decode(&items, "        ", &mut out);
    }
    let _ = writeln!(out, "    }}");
    let _ = writeln!(out, "}}");
    let _ = writeln!(out);
    let _ = writeln!(out, "impl_message_value!({path});");
    out
}

fn plan_message<'r>(
    input: &MessageInput<'_>,
    message: &str,
    rust_by_json: &BTreeMap<&str, &'r crate::openapi::RustField>,
    used: &mut BTreeSet<String>,
    findings: &mut Findings,
) -> Vec<Item<'r>> {
    let Some((proto_message, go_fields, named_slices)) = (input.lookup)(message) else {
        findings
            .errors
            .push(format!("{}: no definition of {message}", input.name));
        return Vec::new();
    };
    let mut items = Vec::new();
    for (number, proto) in &proto_message.fields {
        let Some(go) = go_fields.get(number) else {
            findings.errors.push(format!(
                "{message}.{}: no Go field has protobuf number {number}",
                proto.name
            ));
            continue;
        };
        if go.json_name.is_empty() {
            let ProtoType::Message(inner) = &proto.ty else {
                findings
                    .errors
                    .push(format!("{message}.{}: inlined field of scalar type", proto.name));
                continue;
            };
            let inner_items = plan_message(input, inner, rust_by_json, used, findings);
            items.push(Item::Inline {
                number: *number,
                message: inner.clone(),
                items: inner_items,
            });
            continue;
        }
        let Some(field) = rust_by_json.get(go.json_name.as_str()) else {
            findings
                .proto_only
                .push(format!("{message}.{} = {number}", proto.name));
            continue;
        };
        used.insert(go.json_name.clone());
        if let Some(plan) = plan_field(input, message, *number, proto, go, named_slices, field, findings) {
            items.push(Item::Field(plan));
        }
    }
    items.sort_by_key(Item::number);
    items
}

#[allow(clippy::too_many_arguments)]
fn plan_field<'r>(
    input: &MessageInput<'_>,
    message: &str,
    number: u32,
    proto: &crate::proto::ProtoField,
    go: &GoField,
    named_slices: &BTreeSet<String>,
    field: &'r crate::openapi::RustField,
    findings: &mut Findings,
) -> Option<Plan<'r>> {
    let (optional, inner) = match strip(&field.ty, "Option<") {
        Some(inner) => (true, inner),
        None => (false, field.ty.as_str()),
    };
    let rust_shape = if strip(inner, "std::vec::Vec<").is_some() {
        "vec"
    } else if strip(inner, "std::collections::BTreeMap<std::string::String, ").is_some() {
        "map"
    } else {
        "single"
    };
    let shape = match (&proto.label, rust_shape) {
        (Label::Repeated, "vec") => Shape::Repeated,
        (Label::Map, "map") => Shape::Map,
        (Label::Optional, "single") => Shape::Single,
        (Label::Optional, "vec") if matches!(&proto.ty, ProtoType::Message(name) if input.wrapper_messages.contains(name)) => {
            Shape::Single
        }
        _ => {
            findings.errors.push(format!(
                "{message}.{}: .proto says {:?} {:?}, k8s-openapi has {}",
                field.json_name, proto.label, proto.ty, field.ty
            ));
            return None;
        }
    };
    if let (ProtoType::Scalar(scalar), Shape::Single | Shape::Repeated) = (&proto.ty, &shape) {
        let element = strip(inner, "std::vec::Vec<").unwrap_or(inner);
        let expected: &[&str] = match scalar.as_str() {
            "string" => &["std::string::String"],
            "bool" => &["bool"],
            "int32" | "int64" => &["i32", "i64"],
            "double" => &["f64"],
            "bytes" => &["crate::ByteString"],
            _ => &[],
        };
        if !expected.contains(&element) {
            findings.errors.push(format!(
                "{message}.{}: .proto type {scalar}, k8s-openapi type {}",
                field.json_name, field.ty
            ));
            return None;
        }
    }
    let proto_scalar = matches!(proto.ty, ProtoType::Scalar(_));
    let null_when_zero =
        matches!(&proto.ty, ProtoType::Message(name) if NULL_WHEN_ZERO.contains(&name.as_str()));
    let nillable = go.nillable(named_slices);
    let omit_zero = !nillable && (null_when_zero || go.omitzero || (go.omitempty && proto_scalar));
    Some(Plan {
        number,
        rust_name: &field.name,
        optional,
        shape,
        nillable,
        byte_slice: go.go_type == "[]byte",
        omit_zero,
    })
}

fn emit_encode(items: &[Item<'_>], indent: &str, out: &mut String) {
    for item in items.iter().rev() {
        let plan = match item {
            Item::Inline { number, items, .. } => {
                let _ = writeln!(out, "{indent}writer.put_nested({number}, |writer| {{");
                emit_encode(items, &format!("{indent}    "), out);
                let _ = writeln!(out, "{indent}}});");
                continue;
            }
            Item::Field(plan) => plan,
        };
        let (n, f) = (plan.number, plan.rust_name);
        let line = match (&plan.shape, plan.optional) {
            (Shape::Repeated, true) => {
                format!("if let Some(values) = &self.{f} {{ encode_repeated(values, {n}, writer); }}")
            }
            (Shape::Repeated, false) => format!("encode_repeated(&self.{f}, {n}, writer);"),
            (Shape::Map, true) => format!("if let Some(map) = &self.{f} {{ encode_map(map, {n}, writer); }}"),
            (Shape::Map, false) => format!("encode_map(&self.{f}, {n}, writer);"),
            // Go skips a nil byte slice, which a Rust field that cannot be `None` holds as an empty
            // byte string (what an absent field decodes to): so an empty one is not written either.
            (Shape::Single, false) if plan.byte_slice => {
                format!("encode_unless_zero(&self.{f}, {n}, writer);")
            }
            (Shape::Single, false) => format!("self.{f}.encode_field({n}, writer);"),
            (Shape::Single, true) if plan.nillable => format!("encode_optional(&self.{f}, {n}, writer);"),
            (Shape::Single, true) => format!("encode_or_zero(&self.{f}, {n}, writer);"),
        };
        let _ = writeln!(out, "{indent}{line}");
    }
}

fn emit_decode(items: &[Item<'_>], indent: &str, out: &mut String) {
    let _ = writeln!(out, "{indent}match field {{");
    for item in items {
        let plan = match item {
            Item::Inline {
                number,
                message,
                items,
            } => {
                let _ = writeln!(
                    out,
                    "{indent}    {number} => merge_inline(context, wire_type, reader, |field, wire_type, reader| {{"
                );
                let inner = format!("{indent}        ");
                let _ = writeln!(
                    out,
                    "{inner}let context = FieldContext {{ message: {message:?}, field }};"
                );
                if items.is_empty() {
                    let _ = writeln!(out, "{inner}let _ = context;");
                    let _ = writeln!(out, "{inner}reader.skip(wire_type)");
                } else {
                    emit_decode(items, &inner, out);
                }
                let _ = writeln!(out, "{indent}    }}),");
                continue;
            }
            Item::Field(plan) => plan,
        };
        let (n, f) = (plan.number, plan.rust_name);
        let call = match (&plan.shape, plan.optional) {
            (Shape::Repeated, true) => {
                format!(
                    "Value::merge_repeated(self.{f}.get_or_insert_with(Vec::new), context, wire_type, reader)"
                )
            }
            (Shape::Repeated, false) => {
                format!("Value::merge_repeated(&mut self.{f}, context, wire_type, reader)")
            }
            (Shape::Map, true) => {
                format!(
                    "merge_map_entry(self.{f}.get_or_insert_with(BTreeMap::new), context, wire_type, reader)"
                )
            }
            (Shape::Map, false) => format!("merge_map_entry(&mut self.{f}, context, wire_type, reader)"),
            (Shape::Single, false) => format!("self.{f}.merge_value(context, wire_type, reader)"),
            (Shape::Single, true) if plan.omit_zero => {
                format!("merge_omit_zero(&mut self.{f}, context, wire_type, reader)")
            }
            (Shape::Single, true) => format!("merge_optional(&mut self.{f}, context, wire_type, reader)"),
        };
        let _ = writeln!(out, "{indent}    {n} => {call},");
    }
    let _ = writeln!(out, "{indent}    _ => reader.skip(wire_type),");
    let _ = writeln!(out, "{indent}}}");
}
