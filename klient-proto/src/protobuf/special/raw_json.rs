//! Types that embed a JSON document as raw bytes in field 1: `runtime.RawExtension`,
//! `apiextensions.JSON` and `metav1.FieldsV1`. k8s-openapi holds the parsed document; Go's nil raw
//! bytes (JSON `null`) are `serde_json::Value::Null`.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSON;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::FieldsV1;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;

use crate::protobuf::ProtobufError;
use crate::protobuf::value::merge_inline;
use crate::protobuf::value::{FieldContext, Value};
use crate::protobuf::wire::{Reader, WireType, Writer};

fn encode_document(document: &serde_json::Value, field: u32, writer: &mut Writer) {
    writer.put_nested(field, |writer| {
        if document.is_null() {
            return;
        }
        // Serialising a `serde_json::Value` to memory cannot fail (its keys are strings).
        let bytes = serde_json::to_vec(document).unwrap_or_default();
        writer.put_bytes_field(1, &bytes);
    });
}

fn decode_document(
    type_name: &'static str,
    context: FieldContext,
    wire_type: WireType,
    reader: &mut Reader<'_>,
) -> Result<serde_json::Value, ProtobufError> {
    let mut document = serde_json::Value::Null;
    merge_inline(context, wire_type, reader, |field, wire_type, reader| {
        if field != 1 {
            return reader.skip(wire_type);
        }
        if wire_type != WireType::Len {
            return Err(ProtobufError::WrongWireType {
                message: type_name,
                field,
                wire_type: wire_type as u8,
            });
        }
        let raw = reader.len_delimited()?;
        document = if raw.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(raw).map_err(|error| ProtobufError::InvalidValue {
                type_name,
                // serde_json's message names the position and the kind of error, never the input.
                reason: format!("embedded bytes are not JSON: {error}"),
            })?
        };
        Ok(())
    })?;
    Ok(document)
}

macro_rules! raw_json_value {
    ($ty:ident, $name:literal) => {
        impl Value for $ty {
            fn zero() -> Self {
                $ty(serde_json::Value::Null)
            }

            fn encode_field(&self, field: u32, writer: &mut Writer) {
                encode_document(&self.0, field, writer);
            }

            fn merge_value(
                &mut self,
                context: FieldContext,
                wire_type: WireType,
                reader: &mut Reader<'_>,
            ) -> Result<(), ProtobufError> {
                self.0 = decode_document($name, context, wire_type, reader)?;
                Ok(())
            }

            fn is_go_zero(&self) -> bool {
                false
            }
        }
    };
}

raw_json_value!(RawExtension, "RawExtension");
raw_json_value!(JSON, "JSON");
raw_json_value!(FieldsV1, "FieldsV1");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_round_trip_and_non_json_is_an_error() {
        let value = RawExtension(serde_json::json!({"apiVersion": "v1", "kind": "List", "n": [1, 2]}));
        let mut writer = Writer::new();
        value.encode_field(3, &mut writer);
        let bytes = writer.into_vec();
        let mut reader = Reader::new(&bytes);
        let (field, wire_type) = reader.next_tag().unwrap().unwrap();
        let context = FieldContext {
            message: "test",
            field,
        };
        assert_eq!(
            RawExtension::decode_value(context, wire_type, &mut reader).unwrap(),
            value
        );

        let bytes = [0x1a, 0x04, 0x0a, 0x02, 0x08, 0x01];
        let mut reader = Reader::new(&bytes);
        let (_, wire_type) = reader.next_tag().unwrap().unwrap();
        let error = RawExtension::decode_value(context, wire_type, &mut reader);
        assert!(matches!(
            error,
            Err(ProtobufError::InvalidValue {
                type_name: "RawExtension",
                ..
            })
        ));
    }
}
