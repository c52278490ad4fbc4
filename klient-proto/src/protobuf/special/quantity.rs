//! `resource.Quantity`: a message with the quantity's string form as field 1.
//!
//! Go parses the string and writes its canonical form; the API server only ever sends canonical
//! strings, and klient keeps the string it was given, as k8s-openapi's JSON form does.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::protobuf::ProtobufError;
use crate::protobuf::value::merge_inline;
use crate::protobuf::value::{FieldContext, Value};
use crate::protobuf::wire::{Reader, WireType, Writer};

impl Value for Quantity {
    /// Go's zero quantity writes itself as "0".
    fn zero() -> Self {
        Quantity("0".to_owned())
    }

    fn encode_field(&self, field: u32, writer: &mut Writer) {
        writer.put_nested(field, |writer| self.0.encode_field(1, writer));
    }

    fn merge_value(
        &mut self,
        context: FieldContext,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        merge_inline(
            context,
            wire_type,
            reader,
            |field, wire_type, reader| match field {
                1 => self.0.merge_value(context, wire_type, reader),
                _ => reader.skip(wire_type),
            },
        )
    }

    /// A quantity is a Go struct: its JSON is never omitted.
    fn is_go_zero(&self) -> bool {
        false
    }
}
