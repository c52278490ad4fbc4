//! Messages: types that encode as a sequence of fields, and the top-level encode/decode entry
//! points.

use super::ProtobufError;
use super::wire::{Reader, WireType, Writer};

/// A type that has a protobuf message encoding.
///
/// klient implements it for the k8s-openapi types (generated from the upstream `.proto` files, see
/// `tools/protogen`) and for the handful of types whose encoding upstream writes by hand (time,
/// quantity, int-or-string, raw JSON). Encoding follows Go's generated marshallers exactly, so that
/// what klient writes is byte-identical to what the API server writes for the same object.
pub trait Message: Sized {
    /// The protobuf message name, for error messages.
    const NAME: &'static str;

    /// The value an empty message decodes to: every optional field `None`, every other field Go's
    /// zero value.
    fn empty() -> Self;

    /// Writes this message's fields, back to front: the highest field number first, so that the
    /// finished message lists them in ascending order as Go writes them.
    fn encode_fields(&self, writer: &mut Writer);

    /// Merges one field that arrived on the wire into `self`. Unknown fields are skipped.
    fn merge_field(
        &mut self,
        field: u32,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError>;

    /// Merges every field of `reader` into `self`.
    fn merge_from(&mut self, reader: &mut Reader<'_>) -> Result<(), ProtobufError> {
        merge_fields(self, reader)
    }
}

/// [`Message::merge_field`] behind a vtable. klient has codecs for some 740 message types: the
/// loop over a message's fields, and the framing of a nested message, are compiled once for all
/// of them through this trait instead of once per type. Once per type, they had been a sixth of
/// klient-proto's LLVM IR with the codecs, and decoding in place (`merge_optional`, `merge_repeated`)
/// and encoding the same way took its build from 41 s to 25 s. Each field then costs one indirect
/// call, next to the `match` it lands in.
pub(crate) trait MergeField {
    fn merge_one(
        &mut self,
        field: u32,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError>;
}

impl<M: Message> MergeField for M {
    fn merge_one(
        &mut self,
        field: u32,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        self.merge_field(field, wire_type, reader)
    }
}

/// [`Message::encode_fields`] behind a vtable, for the same reason as [`MergeField`]: the framing
/// of a nested message is compiled once.
pub(crate) trait EncodeFields {
    fn encode_all(&self, writer: &mut Writer);
}

impl<M: Message> EncodeFields for M {
    fn encode_all(&self, writer: &mut Writer) {
        self.encode_fields(writer)
    }
}

/// Merges every field of `reader` into `message`.
#[inline(never)]
pub(crate) fn merge_fields(
    message: &mut dyn MergeField,
    reader: &mut Reader<'_>,
) -> Result<(), ProtobufError> {
    while let Some((field, wire_type)) = reader.next_tag()? {
        message.merge_one(field, wire_type, reader)?;
    }
    Ok(())
}

/// Encodes `message` as a bare protobuf message (no Kubernetes envelope).
pub fn encode_message<M: Message>(message: &M) -> Vec<u8> {
    let mut writer = Writer::new();
    message.encode_fields(&mut writer);
    writer.into_vec()
}

/// Decodes a bare protobuf message (no Kubernetes envelope).
pub fn decode_message<M: Message>(bytes: &[u8]) -> Result<M, ProtobufError> {
    let mut message = M::empty();
    message.merge_from(&mut Reader::new(bytes))?;
    Ok(message)
}
