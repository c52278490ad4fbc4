//! `intstr.IntOrString`: `{ type = 1 (0 int, 1 string), intVal = 2, strVal = 3 }`, all three
//! always written.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::protobuf::ProtobufError;
use crate::protobuf::value::merge_inline;
use crate::protobuf::value::{FieldContext, Value};
use crate::protobuf::wire::{Reader, WireType, Writer};

impl Value for IntOrString {
    fn zero() -> Self {
        IntOrString::Int(0)
    }

    fn encode_field(&self, field: u32, writer: &mut Writer) {
        writer.put_nested(field, |writer| {
            let (kind, int, string) = match self {
                IntOrString::Int(value) => (0i64, *value, ""),
                IntOrString::String(value) => (1, 0, value.as_str()),
            };
            writer.put_bytes_field(3, string.as_bytes());
            int.encode_field(2, writer);
            kind.encode_field(1, writer);
        });
    }

    fn merge_value(
        &mut self,
        context: FieldContext,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        let (mut kind, mut int, mut string) = (0i64, 0i32, String::new());
        merge_inline(
            context,
            wire_type,
            reader,
            |field, wire_type, reader| match field {
                1 => kind.merge_value(context, wire_type, reader),
                2 => int.merge_value(context, wire_type, reader),
                3 => string.merge_value(context, wire_type, reader),
                _ => reader.skip(wire_type),
            },
        )?;
        *self = if kind == 1 {
            IntOrString::String(string)
        } else {
            IntOrString::Int(int)
        };
        Ok(())
    }

    /// A Go struct: its JSON is never omitted.
    fn is_go_zero(&self) -> bool {
        false
    }
}
