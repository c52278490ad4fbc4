//! Why protobuf bytes could not be decoded.

use std::fmt;

/// Why protobuf bytes could not be decoded into a value.
///
/// Every variant describes the input, never its contents: decoded bytes may be secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtobufError {
    /// The input ended inside a tag, a varint, a fixed-width value or a length-delimited field.
    Truncated,
    /// A varint ran past ten bytes, or past the range of the field it encodes.
    VarintOverflow,
    /// A tag names field number 0, or a wire type protobuf does not define (or groups, which
    /// Kubernetes never uses).
    InvalidTag {
        /// The raw tag value.
        tag: u64,
    },
    /// A known field arrived with a wire type its declared type cannot have.
    WrongWireType {
        /// The message being decoded.
        message: &'static str,
        /// The field number.
        field: u32,
        /// The wire type that arrived.
        wire_type: u8,
    },
    /// A string field is not valid UTF-8.
    InvalidUtf8 {
        /// The message being decoded.
        message: &'static str,
        /// The field number.
        field: u32,
    },
    /// Messages are nested deeper than the decoder allows ([`MAX_DEPTH`](super::MAX_DEPTH)).
    TooDeep,
    /// A value is well-formed protobuf but not a valid value of its type (a timestamp out of
    /// range, an embedded JSON document that does not parse, ...).
    InvalidValue {
        /// The type whose value is invalid.
        type_name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The bytes do not start with the Kubernetes protobuf magic `k8s\0`.
    MissingMagic,
    /// The envelope names another kind than the one asked for.
    UnexpectedKind {
        /// `apiVersion` and `kind` the caller expected.
        expected: String,
        /// `apiVersion` and `kind` the envelope names.
        found: String,
    },
    /// The envelope says its payload is encoded (compressed) in a way klient does not decode.
    UnsupportedContentEncoding(String),
}

impl fmt::Display for ProtobufError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtobufError::Truncated => f.write_str("protobuf input ends in the middle of a field"),
            ProtobufError::VarintOverflow => f.write_str("protobuf varint is too long for its field"),
            ProtobufError::InvalidTag { tag } => write!(f, "invalid protobuf tag {tag}"),
            ProtobufError::WrongWireType {
                message,
                field,
                wire_type,
            } => {
                write!(
                    f,
                    "field {field} of {message} arrived with wire type {wire_type}, which its type cannot have"
                )
            }
            ProtobufError::InvalidUtf8 { message, field } => {
                write!(f, "string field {field} of {message} is not valid UTF-8")
            }
            ProtobufError::TooDeep => {
                write!(
                    f,
                    "protobuf messages are nested more than {} deep",
                    super::MAX_DEPTH
                )
            }
            ProtobufError::InvalidValue { type_name, reason } => write!(f, "invalid {type_name}: {reason}"),
            ProtobufError::MissingMagic => {
                f.write_str("body is not a Kubernetes protobuf object (no k8s\\0 magic prefix)")
            }
            ProtobufError::UnexpectedKind { expected, found } => {
                write!(f, "expected a {expected} object, the envelope holds a {found}")
            }
            ProtobufError::UnsupportedContentEncoding(encoding) => {
                write!(f, "unsupported protobuf envelope content encoding {encoding:?}")
            }
        }
    }
}

impl std::error::Error for ProtobufError {}
