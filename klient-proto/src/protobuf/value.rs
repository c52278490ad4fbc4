//! Field values: how one field of each Rust type is written and read, and the presence rules the
//! generated code applies to them.
//!
//! Go's generated marshallers write every field that is not a pointer, slice or map, even when it
//! holds its zero value, and skip nil pointers, slices and maps. k8s-openapi models most fields as
//! `Option`. The generated code bridges the two with the helpers here: a Go pointer maps
//! `None` ⇄ absent; a Go value field maps `None` ⇄ the zero value when Go's JSON would omit that
//! zero value (so that protobuf and JSON decode to the same k8s-openapi value).

use std::collections::BTreeMap;

use super::ProtobufError;
use super::message::{EncodeFields, MergeField, Message, merge_fields};
use super::wire::{Reader, WireType, Writer};

/// Where a value is being decoded, for error messages.
#[derive(Debug, Clone, Copy)]
pub struct FieldContext {
    /// The message the field belongs to.
    pub message: &'static str,
    /// The field number.
    pub field: u32,
}

impl FieldContext {
    fn wrong_wire_type(self, wire_type: WireType) -> ProtobufError {
        ProtobufError::WrongWireType {
            message: self.message,
            field: self.field,
            wire_type: wire_type as u8,
        }
    }

    fn expect(self, actual: WireType, expected: WireType) -> Result<(), ProtobufError> {
        if actual == expected {
            Ok(())
        } else {
            Err(self.wrong_wire_type(actual))
        }
    }
}

/// A Rust type that can be one field's value.
pub trait Value: Sized {
    /// Go's zero value of this type: what a Go value field holds when nothing set it.
    fn zero() -> Self;

    /// Writes this value as field `field` (its tag included).
    fn encode_field(&self, field: u32, writer: &mut Writer);

    /// Writes Go's zero value of this type as field `field`, for a Go value field the Rust side
    /// holds as `None`.
    fn encode_zero_field(field: u32, writer: &mut Writer) {
        Self::zero().encode_field(field, writer);
    }

    /// Reads one occurrence of the field into `self`: scalars are replaced, messages merged.
    fn merge_value(
        &mut self,
        context: FieldContext,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError>;

    /// Reads one occurrence of the field as a new value.
    fn decode_value(
        context: FieldContext,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<Self, ProtobufError> {
        let mut value = Self::zero();
        value.merge_value(context, wire_type, reader)?;
        Ok(value)
    }

    /// Reads one occurrence of a repeated field into `values`. Scalars also accept the packed form.
    fn merge_repeated(
        values: &mut Vec<Self>,
        context: FieldContext,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        // Decoded in place: a message is not built aside and then moved into the list.
        values
            .push_mut(Self::zero())
            .merge_value(context, wire_type, reader)
    }

    /// Whether this is the value Go's JSON encoder leaves out of an `omitempty` field.
    fn is_go_zero(&self) -> bool;
}

/// Implements [`Value`] for a [`Message`] type: a length-delimited field holding the message.
#[macro_export]
#[doc(hidden)]
macro_rules! impl_message_value {
    ($ty:ty) => {
        impl $crate::protobuf::Value for $ty {
            fn zero() -> Self {
                <$ty as $crate::protobuf::Message>::empty()
            }
            fn encode_field(&self, field: u32, writer: &mut $crate::protobuf::Writer) {
                $crate::protobuf::encode_nested(self, field, writer);
            }
            fn merge_value(
                &mut self,
                context: $crate::protobuf::FieldContext,
                wire_type: $crate::protobuf::WireType,
                reader: &mut $crate::protobuf::Reader<'_>,
            ) -> Result<(), $crate::protobuf::ProtobufError> {
                $crate::protobuf::merge_nested(self, context, wire_type, reader)
            }
            fn is_go_zero(&self) -> bool {
                false
            }
        }
    };
}

/// Implements [`Value`] for a type k8s-openapi holds as an opaque JSON document because its Go
/// struct has no fields (`type CustomResourceSubresourceStatus struct{}`): an empty message, `{}`.
#[macro_export]
#[doc(hidden)]
macro_rules! impl_empty_message_value {
    ($ty:ty, $name:literal) => {
        impl $crate::protobuf::Value for $ty {
            fn zero() -> Self {
                Self(::serde_json::Value::Object(
                    ::core::default::Default::default(),
                ))
            }
            fn encode_field(&self, field: u32, writer: &mut $crate::protobuf::Writer) {
                writer.put_nested(field, |_| {});
            }
            fn merge_value(
                &mut self,
                context: $crate::protobuf::FieldContext,
                wire_type: $crate::protobuf::WireType,
                reader: &mut $crate::protobuf::Reader<'_>,
            ) -> Result<(), $crate::protobuf::ProtobufError> {
                *self = Self::zero();
                $crate::protobuf::merge_inline(context, wire_type, reader, |_, wire_type, reader| {
                    reader.skip(wire_type)
                })
            }
            fn is_go_zero(&self) -> bool {
                false
            }
        }
    };
}

/// Writes `message` as field `field`: a length-delimited field holding its fields.
pub fn encode_nested<M: Message>(message: &M, field: u32, writer: &mut Writer) {
    encode_nested_fields(message, field, writer);
}

/// [`encode_nested`] for every message type at once (see [`EncodeFields`]).
#[inline(never)]
fn encode_nested_fields(message: &dyn EncodeFields, field: u32, writer: &mut Writer) {
    writer.put_nested(field, |writer| message.encode_all(writer));
}

/// Reads a length-delimited field as a nested message merged into `message`.
pub fn merge_nested<M: Message>(
    message: &mut M,
    context: FieldContext,
    wire_type: WireType,
    reader: &mut Reader<'_>,
) -> Result<(), ProtobufError> {
    merge_nested_fields(message, context, wire_type, reader)
}

/// [`merge_nested`] for every message type at once (see [`MergeField`]).
#[inline(never)]
fn merge_nested_fields(
    message: &mut dyn MergeField,
    context: FieldContext,
    wire_type: WireType,
    reader: &mut Reader<'_>,
) -> Result<(), ProtobufError> {
    context.expect(wire_type, WireType::Len)?;
    merge_fields(message, &mut reader.nested()?)
}

impl Value for String {
    fn zero() -> Self {
        String::new()
    }

    fn encode_field(&self, field: u32, writer: &mut Writer) {
        writer.put_bytes_field(field, self.as_bytes());
    }

    fn merge_value(
        &mut self,
        context: FieldContext,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        context.expect(wire_type, WireType::Len)?;
        let bytes = reader.len_delimited()?;
        let text = std::str::from_utf8(bytes).map_err(|_| ProtobufError::InvalidUtf8 {
            message: context.message,
            field: context.field,
        })?;
        self.clear();
        self.push_str(text);
        Ok(())
    }

    fn is_go_zero(&self) -> bool {
        self.is_empty()
    }
}

#[cfg(feature = "k8s-openapi")]
impl Value for k8s_openapi::ByteString {
    fn zero() -> Self {
        k8s_openapi::ByteString(Vec::new())
    }

    fn encode_field(&self, field: u32, writer: &mut Writer) {
        writer.put_bytes_field(field, &self.0);
    }

    fn merge_value(
        &mut self,
        context: FieldContext,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        context.expect(wire_type, WireType::Len)?;
        self.0.clear();
        self.0.extend_from_slice(reader.len_delimited()?);
        Ok(())
    }

    fn is_go_zero(&self) -> bool {
        self.0.is_empty()
    }
}

/// Implements [`Value`] for a scalar carried in a varint or a fixed-width slot, with packed
/// repeated decoding.
macro_rules! scalar_value {
    ($ty:ty, $wire:expr, |$w:ident, $v:ident| $write:expr, |$r:ident| $read:expr) => {
        impl Value for $ty {
            fn zero() -> Self {
                <$ty>::default()
            }

            fn encode_field(&self, field: u32, $w: &mut Writer) {
                let $v = *self;
                $write;
                $w.put_tag(field, $wire);
            }

            fn merge_value(
                &mut self,
                context: FieldContext,
                wire_type: WireType,
                $r: &mut Reader<'_>,
            ) -> Result<(), ProtobufError> {
                context.expect(wire_type, $wire)?;
                *self = $read;
                Ok(())
            }

            fn merge_repeated(
                values: &mut Vec<Self>,
                context: FieldContext,
                wire_type: WireType,
                reader: &mut Reader<'_>,
            ) -> Result<(), ProtobufError> {
                if wire_type == WireType::Len {
                    let mut $r = Reader::new(reader.len_delimited()?);
                    while !$r.is_empty() {
                        let $r = &mut $r;
                        values.push($read);
                    }
                    return Ok(());
                }
                values.push(Self::decode_value(context, wire_type, reader)?);
                Ok(())
            }

            fn is_go_zero(&self) -> bool {
                *self == Self::default()
            }
        }
    };
}

// int32 is sign-extended to 64 bits on the wire (ten bytes when negative), as proto and Go do;
// reading keeps the low 32 bits, as Go's `int32(varint)` does.
scalar_value!(
    i32,
    WireType::Varint,
    |w, v| w.put_varint(i64::from(v) as u64),
    |r| r.varint()? as i32
);
scalar_value!(
    i64,
    WireType::Varint,
    |w, v| w.put_varint(v as u64),
    |r| r.varint()? as i64
);
scalar_value!(bool, WireType::Varint, |w, v| w.put_byte(u8::from(v)), |r| r
    .varint()?
    != 0);
scalar_value!(
    f64,
    WireType::Fixed64,
    |w, v| w.put_slice(&v.to_bits().to_le_bytes()),
    |r| f64::from_bits(r.fixed64()?)
);

/// A Go named slice type (`type Verbs []string`) that the `.proto` wraps in a message with one
/// repeated field `items = 1`, and that k8s-openapi models as a plain `Vec`.
impl<T: Value> Value for Vec<T> {
    fn zero() -> Self {
        Vec::new()
    }

    fn encode_field(&self, field: u32, writer: &mut Writer) {
        writer.put_nested(field, |writer| encode_repeated(self, 1, writer));
    }

    fn merge_value(
        &mut self,
        context: FieldContext,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        context.expect(wire_type, WireType::Len)?;
        let mut inner = reader.nested()?;
        while let Some((field, wire_type)) = inner.next_tag()? {
            if field == 1 {
                T::merge_repeated(
                    self,
                    FieldContext {
                        message: context.message,
                        field: 1,
                    },
                    wire_type,
                    &mut inner,
                )?;
            } else {
                inner.skip(wire_type)?;
            }
        }
        Ok(())
    }

    fn is_go_zero(&self) -> bool {
        self.is_empty()
    }
}

/// A field held in a `Box` (recursive types) is written as the value it holds.
impl<T: Value> Value for Box<T> {
    fn zero() -> Self {
        Box::new(T::zero())
    }

    fn encode_field(&self, field: u32, writer: &mut Writer) {
        (**self).encode_field(field, writer);
    }

    fn encode_zero_field(field: u32, writer: &mut Writer) {
        T::encode_zero_field(field, writer);
    }

    fn merge_value(
        &mut self,
        context: FieldContext,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        (**self).merge_value(context, wire_type, reader)
    }

    fn is_go_zero(&self) -> bool {
        (**self).is_go_zero()
    }
}

/// Reads a length-delimited field as a nested message, handing each of its fields to `field`: for
/// messages whose fields live somewhere other than one Rust struct (Go structs that JSON inlines
/// into their parent, and the hand-written types).
pub fn merge_inline<'a>(
    context: FieldContext,
    wire_type: WireType,
    reader: &mut Reader<'a>,
    mut field: impl FnMut(u32, WireType, &mut Reader<'a>) -> Result<(), ProtobufError>,
) -> Result<(), ProtobufError> {
    context.expect(wire_type, WireType::Len)?;
    let mut inner = reader.nested()?;
    while let Some((number, wire_type)) = inner.next_tag()? {
        field(number, wire_type, &mut inner)?;
    }
    Ok(())
}

/// Writes an optional field that Go holds as a pointer (or slice): only when present.
pub fn encode_optional<V: Value>(value: &Option<V>, field: u32, writer: &mut Writer) {
    if let Some(value) = value {
        value.encode_field(field, writer);
    }
}

/// Writes a field that Go holds as a slice (skipped when nil) and k8s-openapi as a plain value: the
/// value that stands for Go's nil (see [`Value::is_go_zero`]) is not written.
pub fn encode_unless_zero<V: Value>(value: &V, field: u32, writer: &mut Writer) {
    if !value.is_go_zero() {
        value.encode_field(field, writer);
    }
}

/// Writes an optional field that Go holds as a plain value: Go always writes it, so `None` is
/// written as Go's zero value.
pub fn encode_or_zero<V: Value>(value: &Option<V>, field: u32, writer: &mut Writer) {
    match value {
        Some(value) => value.encode_field(field, writer),
        None => V::encode_zero_field(field, writer),
    }
}

/// Writes every element of a repeated field (back to front, so they end up in order).
pub fn encode_repeated<V: Value>(values: &[V], field: u32, writer: &mut Writer) {
    for value in values.iter().rev() {
        value.encode_field(field, writer);
    }
}

/// Writes a map field as Go does: one entry message per key, keys in ascending order, both the key
/// (field 1) and the value (field 2) always written.
pub fn encode_map<V: Value>(map: &BTreeMap<String, V>, field: u32, writer: &mut Writer) {
    for (key, value) in map.iter().rev() {
        writer.put_nested(field, |writer| {
            value.encode_field(2, writer);
            key.encode_field(1, writer);
        });
    }
}

/// Reads an optional field that Go holds as a pointer: present means `Some`, even when zero.
pub fn merge_optional<V: Value>(
    slot: &mut Option<V>,
    context: FieldContext,
    wire_type: WireType,
    reader: &mut Reader<'_>,
) -> Result<(), ProtobufError> {
    slot.get_or_insert_with(V::zero)
        .merge_value(context, wire_type, reader)
}

/// Reads an optional field that Go holds as a plain value whose zero value Go's JSON omits: the
/// zero value becomes `None`, as it does when the same object is read from JSON.
pub fn merge_omit_zero<V: Value>(
    slot: &mut Option<V>,
    context: FieldContext,
    wire_type: WireType,
    reader: &mut Reader<'_>,
) -> Result<(), ProtobufError> {
    let value = match slot.take() {
        Some(mut value) => {
            value.merge_value(context, wire_type, reader)?;
            value
        }
        None => V::decode_value(context, wire_type, reader)?,
    };
    if !value.is_go_zero() {
        *slot = Some(value);
    }
    Ok(())
}

/// Reads one map entry into `map`. A missing key or value is its zero value, as in Go.
pub fn merge_map_entry<V: Value>(
    map: &mut BTreeMap<String, V>,
    context: FieldContext,
    wire_type: WireType,
    reader: &mut Reader<'_>,
) -> Result<(), ProtobufError> {
    context.expect(wire_type, WireType::Len)?;
    let mut entry = reader.nested()?;
    let mut key = String::new();
    let mut value = V::zero();
    while let Some((field, wire_type)) = entry.next_tag()? {
        match field {
            1 => key.merge_value(context, wire_type, &mut entry)?,
            2 => value.merge_value(context, wire_type, &mut entry)?,
            _ => entry.skip(wire_type)?,
        }
    }
    map.insert(key, value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded<V: Value>(value: &V) -> Vec<u8> {
        let mut writer = Writer::new();
        value.encode_field(1, &mut writer);
        writer.into_vec()
    }

    fn decoded<V: Value>(bytes: &[u8]) -> Result<V, ProtobufError> {
        let mut reader = Reader::new(bytes);
        let (field, wire_type) = reader.next_tag()?.expect("a field");
        let mut value = V::zero();
        value.merge_value(
            FieldContext {
                message: "test",
                field,
            },
            wire_type,
            &mut reader,
        )?;
        Ok(value)
    }

    #[test]
    fn negative_int32_takes_ten_bytes_as_in_go() {
        assert_eq!(
            encoded(&-1i32),
            [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
        assert_eq!(decoded::<i32>(&encoded(&-1i32)), Ok(-1));
        assert_eq!(decoded::<i64>(&encoded(&i64::MIN)), Ok(i64::MIN));
    }

    #[test]
    fn doubles_are_fixed64() {
        assert_eq!(decoded::<f64>(&encoded(&1.5f64)), Ok(1.5));
        assert_eq!(encoded(&1.5f64)[0], 0x09);
    }

    #[test]
    fn packed_repeated_scalars_are_accepted() {
        let mut values = Vec::<i32>::new();
        let bytes = [0x03, 0x01, 0x02, 0x03];
        let mut reader = Reader::new(&bytes);
        i32::merge_repeated(
            &mut values,
            FieldContext {
                message: "test",
                field: 1,
            },
            WireType::Len,
            &mut reader,
        )
        .unwrap();
        assert_eq!(values, [1, 2, 3]);
    }

    #[test]
    fn strings_must_be_utf8_and_have_the_right_wire_type() {
        assert_eq!(
            decoded::<String>(&[0x0a, 0x01, 0xff]),
            Err(ProtobufError::InvalidUtf8 {
                message: "test",
                field: 1
            })
        );
        assert_eq!(
            decoded::<String>(&[0x08, 0x01]),
            Err(ProtobufError::WrongWireType {
                message: "test",
                field: 1,
                wire_type: 0
            })
        );
    }

    #[test]
    fn maps_are_written_in_key_order_with_key_and_value() {
        let map = BTreeMap::from([
            ("b".to_string(), String::new()),
            ("a".to_string(), "x".to_string()),
        ]);
        let mut writer = Writer::new();
        encode_map(&map, 3, &mut writer);
        assert_eq!(
            writer.into_vec(),
            [
                0x1a, 0x06, 0x0a, 0x01, b'a', 0x12, 0x01, b'x', 0x1a, 0x05, 0x0a, 0x01, b'b', 0x12, 0x00
            ]
        );
    }

    #[test]
    fn omit_zero_fields_decode_zero_as_none() {
        let mut slot = Some("old".to_string());
        let bytes = [0x0a, 0x00];
        let mut reader = Reader::new(&bytes);
        reader.next_tag().unwrap();
        merge_omit_zero(
            &mut slot,
            FieldContext {
                message: "test",
                field: 1,
            },
            WireType::Len,
            &mut reader,
        )
        .unwrap();
        assert_eq!(slot, None);
    }

    #[test]
    fn wrapped_lists_round_trip() {
        let verbs = vec!["get".to_string(), "list".to_string()];
        assert_eq!(
            encoded(&verbs),
            [
                0x0a, 0x0b, 0x0a, 0x03, b'g', b'e', b't', 0x0a, 0x04, b'l', b'i', b's', b't'
            ]
        );
        assert_eq!(decoded::<Vec<String>>(&encoded(&verbs)), Ok(verbs));
    }
}
