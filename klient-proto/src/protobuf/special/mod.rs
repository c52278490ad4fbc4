//! The types whose protobuf encoding upstream writes by hand rather than generates: times,
//! quantities, int-or-string, embedded JSON and the JSON-schema unions of custom resource
//! definitions. Each mirrors the Go type's own `Marshal`/`Unmarshal`, so that values round-trip
//! byte for byte with the API server.

mod int_or_string;
// Enabled with the generated code (it needs JSONSchemaProps to be a message).
// mod json_schema_union;
mod quantity;
mod raw_json;
mod time;

use super::ProtobufError;
use super::value::FieldContext;
use super::wire::{Reader, WireType};

/// Reads a length-delimited field as a nested message, handing each of its fields to `field`.
fn for_each_field<'a>(
    context: FieldContext,
    wire_type: WireType,
    reader: &mut Reader<'a>,
    mut field: impl FnMut(u32, WireType, &mut Reader<'a>) -> Result<(), ProtobufError>,
) -> Result<(), ProtobufError> {
    if wire_type != WireType::Len {
        return Err(ProtobufError::WrongWireType {
            message: context.message,
            field: context.field,
            wire_type: wire_type as u8,
        });
    }
    let mut inner = reader.nested()?;
    while let Some((number, wire_type)) = inner.next_tag()? {
        field(number, wire_type, &mut inner)?;
    }
    Ok(())
}
