//! Kubernetes protobuf: the wire format, the `k8s\0` envelope, and encoders/decoders for the
//! k8s-openapi types, so that the same `Pod` value travels as JSON or as protobuf.
//!
//! The API server speaks protobuf for every built-in kind (not for custom resources). klient
//! implements it on the k8s-openapi types themselves: [`Value`] and [`Message`] impls generated
//! from the upstream `.proto` files and Go struct tags by `tools/protogen` (regenerate with
//! `./dev protogen`), plus hand-written impls for the few types upstream encodes by hand (time,
//! quantity, int-or-string, embedded JSON, the CRD schema unions). Encoding is byte-identical to
//! Go's; decoding skips unknown fields (a newer server) and turns malformed input into a
//! [`ProtobufError`], never a panic.
//!
//! ```
//! # #[cfg(all(feature = "k8s-openapi", feature = "protobuf"))] {
//! use k8s_openapi::api::core::v1::ConfigMap;
//! use klient_proto::protobuf::{Envelope, Message, decode_message, encode_enveloped};
//!
//! let config_map = ConfigMap { data: Some([("key".into(), "value".into())].into()), ..Default::default() };
//! let body = encode_enveloped("v1", "ConfigMap", |writer| config_map.encode_fields(writer));
//! assert!(body.starts_with(b"k8s\0"));
//!
//! let envelope = Envelope::decode(&body).unwrap();
//! envelope.expect_kind("v1", "ConfigMap").unwrap();
//! let decoded: ConfigMap = decode_message(envelope.raw).unwrap();
//! assert_eq!(decoded.data, config_map.data);
//! # }
//! ```
//!
//! Which fields a type has depends on the Kubernetes version selected on k8s-openapi; the
//! generated code follows that choice (klient-proto's build script reads it from k8s-openapi).

mod envelope;
mod error;
mod message;
mod value;
mod wire;

#[cfg(all(feature = "k8s-openapi", feature = "protobuf"))]
mod generated;
#[cfg(all(feature = "k8s-openapi", feature = "protobuf"))]
mod special;

pub use envelope::{CONTENT_TYPE, Envelope, MAGIC, WATCH_CONTENT_TYPE, encode_enveloped, write_unknown};
pub use error::ProtobufError;
pub use message::{Message, decode_message, encode_message};
pub use value::{
    FieldContext, Value, encode_map, encode_nested, encode_optional, encode_or_zero, encode_repeated,
    encode_unless_zero, merge_inline, merge_map_entry, merge_nested, merge_omit_zero, merge_optional,
};
pub use wire::{Reader, WireType, Writer};

#[cfg(all(test, feature = "k8s-openapi", feature = "protobuf"))]
mod tests;

#[cfg(all(feature = "k8s-openapi", feature = "protobuf"))]
pub use generated::visit_resources;

/// Receives every k8s-openapi resource type that has a protobuf codec, from [`visit_resources`]:
/// the way to build a registry keyed by `apiVersion`/`kind` (or to test every kind) without naming
/// the types of one Kubernetes version.
#[cfg(all(feature = "k8s-openapi", feature = "protobuf"))]
pub trait ResourceVisitor {
    /// Called once per resource type.
    fn visit<K>(&mut self)
    where
        K: Message
            + Value
            + k8s_openapi::Resource
            + serde::Serialize
            + serde::de::DeserializeOwned
            + Clone
            + PartialEq
            + std::fmt::Debug
            + 'static;
}

/// How deep messages may nest before decoding stops with [`ProtobufError::TooDeep`]. Kubernetes
/// objects nest a few dozen levels at most (deeply nested CRD schemas included); the limit keeps
/// hostile input from exhausting the stack.
pub const MAX_DEPTH: usize = 100;
