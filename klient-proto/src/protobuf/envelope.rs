//! The Kubernetes protobuf envelope: the magic `k8s\0`, then a `runtime.Unknown` message naming
//! the object's `apiVersion` and `kind` and holding the object's own message as raw bytes.
//!
//! ```text
//! message Unknown { TypeMeta typeMeta = 1; bytes raw = 2; string contentEncoding = 3; string contentType = 4; }
//! message TypeMeta { string apiVersion = 1; string kind = 2; }
//! ```
//!
//! Go writes `contentEncoding` and `contentType` as empty strings; klient does the same, so an
//! enveloped object is byte-identical to the API server's.

use super::ProtobufError;
use super::value::{FieldContext, Value};
use super::wire::{Reader, WireType, Writer};

/// The four bytes every Kubernetes protobuf body starts with.
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// The media type of a Kubernetes protobuf body.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The media type of a protobuf watch stream (length-prefixed enveloped events).
pub const WATCH_CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf;stream=watch";

/// A decoded envelope, borrowing from the body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope<'a> {
    /// The object's `apiVersion` (`v1`, `apps/v1`, ...).
    pub api_version: String,
    /// The object's `kind`.
    pub kind: String,
    /// The object's own protobuf message.
    pub raw: &'a [u8],
    /// How `raw` is encoded beyond protobuf; empty for plain bytes (the only form servers send).
    pub content_encoding: String,
    /// The media type of `raw`; empty means protobuf.
    pub content_type: String,
}

impl<'a> Envelope<'a> {
    /// Decodes the envelope of a Kubernetes protobuf body (the magic prefix included).
    pub fn decode(body: &'a [u8]) -> Result<Self, ProtobufError> {
        let unknown = body
            .strip_prefix(MAGIC.as_slice())
            .ok_or(ProtobufError::MissingMagic)?;
        Self::decode_unknown(unknown)
    }

    /// Decodes a bare `runtime.Unknown` message (no magic prefix).
    pub fn decode_unknown(unknown: &'a [u8]) -> Result<Self, ProtobufError> {
        let mut envelope = Envelope::default();
        let mut reader = Reader::new(unknown);
        while let Some((field, wire_type)) = reader.next_tag()? {
            if field == 2 {
                expect_len(field, wire_type)?;
                envelope.raw = reader.len_delimited()?;
            } else {
                envelope.merge_field_besides_raw(field, wire_type, &mut reader)?;
            }
        }
        envelope.check_content_encoding()?;
        Ok(envelope)
    }

    /// Reads one field of `runtime.Unknown` other than `raw` (field 2), which the caller reads:
    /// whole, or as it arrives.
    pub(crate) fn merge_field_besides_raw(
        &mut self,
        field: u32,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        let context = |field| FieldContext {
            message: "runtime.Unknown",
            field,
        };
        match field {
            1 => {
                expect_len(field, wire_type)?;
                let mut type_meta = reader.nested()?;
                while let Some((field, wire_type)) = type_meta.next_tag()? {
                    let context = FieldContext {
                        message: "runtime.TypeMeta",
                        field,
                    };
                    match field {
                        1 => self.api_version.merge_value(context, wire_type, &mut type_meta)?,
                        2 => self.kind.merge_value(context, wire_type, &mut type_meta)?,
                        _ => type_meta.skip(wire_type)?,
                    }
                }
                Ok(())
            }
            3 => self.content_encoding.merge_value(context(3), wire_type, reader),
            4 => self.content_type.merge_value(context(4), wire_type, reader),
            _ => reader.skip(wire_type),
        }
    }

    /// Fails for a payload encoded beyond protobuf (compressed): klient reads plain bytes only.
    pub(crate) fn check_content_encoding(&self) -> Result<(), ProtobufError> {
        if self.content_encoding.is_empty() {
            return Ok(());
        }
        Err(ProtobufError::UnsupportedContentEncoding(
            self.content_encoding.clone(),
        ))
    }

    /// Checks that the envelope holds the kind the caller expects.
    pub fn expect_kind(&self, api_version: &str, kind: &str) -> Result<(), ProtobufError> {
        if self.api_version == api_version && self.kind == kind {
            return Ok(());
        }
        Err(ProtobufError::UnexpectedKind {
            expected: format!("{api_version} {kind}"),
            found: format!("{} {}", self.api_version, self.kind),
        })
    }
}

/// `typeMeta` (1) and `raw` (2) of `runtime.Unknown` are messages or bytes: length-delimited.
fn expect_len(field: u32, wire_type: WireType) -> Result<(), ProtobufError> {
    if wire_type == WireType::Len {
        return Ok(());
    }
    Err(ProtobufError::WrongWireType {
        message: "runtime.Unknown",
        field,
        wire_type: wire_type as u8,
    })
}

/// Writes an enveloped object: the magic, then `runtime.Unknown` with `write_raw`'s output as
/// `raw` (what `write_raw` writes is the object's message fields, back to front).
pub fn encode_enveloped(api_version: &str, kind: &str, write_raw: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut writer = Writer::with_capacity(256);
    write_unknown(&mut writer, api_version, kind, write_raw);
    writer.put_slice(MAGIC);
    writer.into_vec()
}

/// Writes the fields of a `runtime.Unknown` message (no magic prefix), back to front.
pub fn write_unknown(
    writer: &mut Writer,
    api_version: &str,
    kind: &str,
    write_raw: impl FnOnce(&mut Writer),
) {
    writer.put_bytes_field(4, b"");
    writer.put_bytes_field(3, b"");
    writer.put_nested(2, write_raw);
    writer.put_nested(1, |writer| {
        writer.put_bytes_field(2, kind.as_bytes());
        writer.put_bytes_field(1, api_version.as_bytes());
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_with_empty_content_fields() {
        let body = encode_enveloped("v1", "ConfigMap", |writer| writer.put_bytes_field(1, b"x"));
        assert_eq!(
            body,
            b"k8s\0\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12\x03\x0a\x01x\x1a\x00\x22\x00".as_slice()
        );
        let envelope = Envelope::decode(&body).unwrap();
        assert_eq!(
            (envelope.api_version.as_str(), envelope.kind.as_str()),
            ("v1", "ConfigMap")
        );
        assert_eq!(envelope.raw, b"\x0a\x01x");
        assert!(envelope.expect_kind("v1", "ConfigMap").is_ok());
        assert!(matches!(
            envelope.expect_kind("v1", "Secret"),
            Err(ProtobufError::UnexpectedKind { .. })
        ));
    }

    #[test]
    fn missing_magic_and_compressed_payloads_are_errors() {
        assert_eq!(
            Envelope::decode(b"{\"kind\":1}"),
            Err(ProtobufError::MissingMagic)
        );
        let mut writer = Writer::new();
        writer.put_bytes_field(3, b"gzip");
        let mut body = MAGIC.to_vec();
        body.extend(writer.into_vec());
        assert_eq!(
            Envelope::decode(&body),
            Err(ProtobufError::UnsupportedContentEncoding("gzip".into()))
        );
    }
}
