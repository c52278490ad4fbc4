//! The unions of a CRD's JSON schema. Go holds each as a struct with one field per alternative;
//! k8s-openapi holds an enum. The mapping follows Go's JSON (un)marshallers, so that protobuf and
//! JSON decode to the same enum value:
//!
//! - `JSONSchemaPropsOrArray { schema = 1; repeated jSONSchemas = 2 }`: a non-empty list wins;
//! - `JSONSchemaPropsOrBool { allows = 1; schema = 2 }`: a schema means `allows: true`;
//! - `JSONSchemaPropsOrStringArray { schema = 1; repeated property = 2 }`: a non-empty list wins.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool, JSONSchemaPropsOrStringArray,
};

use crate::protobuf::ProtobufError;
use crate::protobuf::value::merge_inline;
use crate::protobuf::value::{FieldContext, Value, encode_repeated};
use crate::protobuf::wire::{Reader, WireType, Writer};

/// Reads `schema` and `list` alternatives from one union message.
fn decode_union<T: Value>(
    context: FieldContext,
    wire_type: WireType,
    reader: &mut Reader<'_>,
    schema_field: u32,
    list_field: u32,
    allows: &mut bool,
) -> Result<(Option<JSONSchemaProps>, Vec<T>), ProtobufError> {
    let mut schema = None;
    let mut list = Vec::new();
    merge_inline(context, wire_type, reader, |field, wire_type, reader| {
        let context = FieldContext {
            message: context.message,
            field,
        };
        if field == schema_field {
            crate::protobuf::value::merge_optional(&mut schema, context, wire_type, reader)
        } else if field == list_field {
            T::merge_repeated(&mut list, context, wire_type, reader)
        } else if field == 1 {
            // Only JSONSchemaPropsOrBool has a field 1 that is neither: `allows`.
            allows.merge_value(context, wire_type, reader)
        } else {
            reader.skip(wire_type)
        }
    })?;
    Ok((schema, list))
}

impl Value for JSONSchemaPropsOrArray {
    fn zero() -> Self {
        JSONSchemaPropsOrArray::Schemas(Vec::new())
    }

    fn encode_field(&self, field: u32, writer: &mut Writer) {
        writer.put_nested(field, |writer| match self {
            JSONSchemaPropsOrArray::Schemas(schemas) => encode_repeated(schemas, 2, writer),
            JSONSchemaPropsOrArray::Schema(schema) => schema.encode_field(1, writer),
        });
    }

    fn merge_value(
        &mut self,
        context: FieldContext,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        let (schema, schemas) =
            decode_union::<JSONSchemaProps>(context, wire_type, reader, 1, 2, &mut false)?;
        *self = match schema {
            Some(schema) if schemas.is_empty() => JSONSchemaPropsOrArray::Schema(Box::new(schema)),
            _ => JSONSchemaPropsOrArray::Schemas(schemas),
        };
        Ok(())
    }

    fn is_go_zero(&self) -> bool {
        false
    }
}

impl Value for JSONSchemaPropsOrBool {
    fn zero() -> Self {
        JSONSchemaPropsOrBool::Bool(false)
    }

    fn encode_field(&self, field: u32, writer: &mut Writer) {
        writer.put_nested(field, |writer| match self {
            JSONSchemaPropsOrBool::Bool(allows) => allows.encode_field(1, writer),
            JSONSchemaPropsOrBool::Schema(schema) => {
                schema.encode_field(2, writer);
                true.encode_field(1, writer);
            }
        });
    }

    fn merge_value(
        &mut self,
        context: FieldContext,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        let mut allows = false;
        let (schema, _) = decode_union::<bool>(context, wire_type, reader, 2, u32::MAX, &mut allows)?;
        *self = match schema {
            Some(schema) => JSONSchemaPropsOrBool::Schema(Box::new(schema)),
            None => JSONSchemaPropsOrBool::Bool(allows),
        };
        Ok(())
    }

    fn is_go_zero(&self) -> bool {
        false
    }
}

impl Value for JSONSchemaPropsOrStringArray {
    fn zero() -> Self {
        JSONSchemaPropsOrStringArray::Strings(Vec::new())
    }

    fn encode_field(&self, field: u32, writer: &mut Writer) {
        writer.put_nested(field, |writer| match self {
            JSONSchemaPropsOrStringArray::Strings(strings) => encode_repeated(strings, 2, writer),
            JSONSchemaPropsOrStringArray::Schema(schema) => schema.encode_field(1, writer),
        });
    }

    fn merge_value(
        &mut self,
        context: FieldContext,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        let (schema, strings) = decode_union::<String>(context, wire_type, reader, 1, 2, &mut false)?;
        *self = match schema {
            Some(schema) if strings.is_empty() => JSONSchemaPropsOrStringArray::Schema(Box::new(schema)),
            _ => JSONSchemaPropsOrStringArray::Strings(strings),
        };
        Ok(())
    }

    fn is_go_zero(&self) -> bool {
        false
    }
}
