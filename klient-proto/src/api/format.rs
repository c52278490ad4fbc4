//! Content negotiation: which media type a request asks for, and how a kind is encoded in
//! protobuf when it has a protobuf form.

use super::messages::merge_list_field;
use super::response::{ListMeta, ObjectList};
use crate::protobuf::{
    CONTENT_TYPE, Envelope, Message, ProtobufError, Reader, WireType, Writer, decode_message,
    encode_enveloped,
};

/// The JSON media type.
pub(crate) const JSON: &str = "application/json";

/// What `Accept` says when protobuf is preferred: protobuf first, JSON for the kinds the server
/// has no protobuf for (custom resources), as client-go asks. The same value serves watches: the
/// server answers with the stream form of the media type it picks (`;stream=watch` for protobuf).
pub(crate) const ACCEPT_PROTOBUF: &str = "application/vnd.kubernetes.protobuf, application/json";

/// The wire format of API objects: what a client asks for, and what a response turns out to be.
///
/// Asking for protobuf is a preference, not a demand: the server answers JSON for kinds it has
/// no protobuf for, and every response is decoded by its own `Content-Type`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// `application/json`: every kind, custom resources included.
    #[default]
    Json,
    /// `application/vnd.kubernetes.protobuf`: the built-in kinds, about half the bytes of JSON
    /// and much cheaper to decode.
    Protobuf,
}

impl Format {
    /// The `Accept` header of a request for an API object in this format.
    pub fn accept(self) -> &'static str {
        match self {
            Format::Json => JSON,
            Format::Protobuf => ACCEPT_PROTOBUF,
        }
    }

    /// The format of a response body, from its `Content-Type` (parameters such as
    /// `;stream=watch` do not matter). Anything but protobuf is read as JSON, as it was before
    /// negotiation existed: a missing header or a proxy's `text/plain` then fails as JSON does.
    ///
    /// ```
    /// use klient_proto::api::Format;
    /// assert_eq!(Format::of_content_type(Some("application/vnd.kubernetes.protobuf")), Format::Protobuf);
    /// assert_eq!(
    ///     Format::of_content_type(Some("application/vnd.kubernetes.protobuf;stream=watch")),
    ///     Format::Protobuf
    /// );
    /// assert_eq!(Format::of_content_type(Some("application/json")), Format::Json);
    /// assert_eq!(Format::of_content_type(None), Format::Json);
    /// ```
    pub fn of_content_type(content_type: Option<&str>) -> Format {
        let media_type = content_type
            .and_then(|value| value.split(';').next())
            .map(str::trim)
            .unwrap_or_default();
        if media_type.eq_ignore_ascii_case(CONTENT_TYPE) {
            Format::Protobuf
        } else {
            Format::Json
        }
    }
}

/// How objects of one kind travel in protobuf: the kind's `apiVersion` and `kind` (the envelope
/// names them) and its message encoding.
///
/// A [`Resource`](super::Resource) hands one out from
/// [`Resource::protobuf`](super::Resource::protobuf) when the API server speaks protobuf for it:
/// every k8s-openapi kind does, custom resources and [`DynamicObject`](super::DynamicObject) do
/// not. It is a table of function pointers, so it costs nothing to copy.
pub struct ProtobufCodec<K> {
    api_version: &'static str,
    kind: &'static str,
    encode_fields: fn(&K, &mut Writer),
    decode_object: fn(&[u8]) -> Result<K, ProtobufError>,
    decode_list: fn(&[u8]) -> Result<ObjectList<K>, ProtobufError>,
    merge_list_field: MergeListField<K>,
}

/// Reads one field of a list message: an item (appended), the metadata (merged), or another
/// field (skipped).
pub(crate) type MergeListField<K> =
    fn(&mut Vec<K>, &mut ListMeta, u32, WireType, &mut Reader<'_>) -> Result<(), ProtobufError>;

impl<K: Message> ProtobufCodec<K> {
    /// The codec of a kind whose objects are `K` messages, named `api_version` and `kind` in the
    /// envelope (`"apps/v1"`, `"Deployment"`); its lists are `{kind}List`.
    pub fn new(api_version: &'static str, kind: &'static str) -> Self {
        ProtobufCodec {
            api_version,
            kind,
            encode_fields: K::encode_fields,
            decode_object: decode_message::<K>,
            decode_list: decode_message::<ObjectList<K>>,
            merge_list_field: merge_list_field::<K, ListMeta>,
        }
    }
}

impl<K> ProtobufCodec<K> {
    /// The `apiVersion` the envelope names.
    pub fn api_version(&self) -> &'static str {
        self.api_version
    }

    /// The `kind` the envelope names.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Encodes an object as a request body: magic, envelope, message.
    pub fn encode(&self, object: &K) -> Vec<u8> {
        encode_enveloped(self.api_version, self.kind, |writer| {
            (self.encode_fields)(object, writer)
        })
    }

    /// Decodes an enveloped object (a response body, or a watch event's object) of this kind.
    pub fn decode(&self, body: &[u8]) -> Result<K, ProtobufError> {
        let envelope = Envelope::decode(body)?;
        envelope.expect_kind(self.api_version, self.kind)?;
        (self.decode_object)(envelope.raw)
    }

    /// Decodes an enveloped list of this kind (`PodList` for `Pod`).
    pub fn decode_list(&self, body: &[u8]) -> Result<ObjectList<K>, ProtobufError> {
        let envelope = Envelope::decode(body)?;
        self.expect_list(&envelope)?;
        (self.decode_list)(envelope.raw)
    }

    /// Checks that `envelope` names a list of this kind (`v1` `PodList` for `Pod`).
    pub(crate) fn expect_list(&self, envelope: &Envelope<'_>) -> Result<(), ProtobufError> {
        let list_of_kind = envelope.kind.strip_suffix("List") == Some(self.kind);
        if envelope.api_version == self.api_version && list_of_kind {
            return Ok(());
        }
        Err(ProtobufError::UnexpectedKind {
            expected: format!("{} {}List", self.api_version, self.kind),
            found: format!("{} {}", envelope.api_version, envelope.kind),
        })
    }

    /// Reads one field of this kind's list message, as [`decode_list`](Self::decode_list) does
    /// for each: what a list read field by field uses.
    pub(crate) fn merge_list_field(
        &self,
        items: &mut Vec<K>,
        metadata: &mut ListMeta,
        field: u32,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        (self.merge_list_field)(items, metadata, field, wire_type, reader)
    }
}

impl<K> Clone for ProtobufCodec<K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K> Copy for ProtobufCodec<K> {}

impl<K> std::fmt::Debug for ProtobufCodec<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProtobufCodec")
            .field("api_version", &self.api_version)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::api::ListMeta;
    use crate::api::resource::{Resource, Scope};
    use crate::protobuf::{FieldContext, Reader, Value, WireType, merge_omit_zero};
    use std::borrow::Cow;

    /// A test-only kind with a hand-written message: `{ string name = 1; int64 size = 2; }`.
    #[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
    pub(crate) struct Widget {
        pub(crate) name: Option<String>,
        pub(crate) size: Option<i64>,
    }

    impl Message for Widget {
        const NAME: &'static str = "test.Widget";

        fn empty() -> Self {
            Widget::default()
        }

        fn encode_fields(&self, writer: &mut Writer) {
            crate::protobuf::encode_or_zero(&self.size, 2, writer);
            crate::protobuf::encode_or_zero(&self.name, 1, writer);
        }

        fn merge_field(
            &mut self,
            field: u32,
            wire_type: WireType,
            reader: &mut Reader<'_>,
        ) -> Result<(), ProtobufError> {
            let context = FieldContext {
                message: Self::NAME,
                field,
            };
            match field {
                1 => merge_omit_zero(&mut self.name, context, wire_type, reader),
                2 => merge_omit_zero(&mut self.size, context, wire_type, reader),
                _ => reader.skip(wire_type),
            }
        }
    }

    impl Resource for Widget {
        type DynamicType = ();
        type Scope = crate::api::NamespaceResourceScope;
        fn group(_: &()) -> Cow<'_, str> {
            "example.com".into()
        }
        fn version(_: &()) -> Cow<'_, str> {
            "v1".into()
        }
        fn kind(_: &()) -> Cow<'_, str> {
            "Widget".into()
        }
        fn plural(_: &()) -> Cow<'_, str> {
            "widgets".into()
        }
        fn scope(_: &()) -> Scope {
            Scope::Namespaced
        }
        fn name(&self) -> Option<&str> {
            self.name.as_deref()
        }
        fn namespace(&self) -> Option<&str> {
            None
        }
        fn resource_version(&self) -> Option<&str> {
            None
        }
        fn uid(&self) -> Option<&str> {
            None
        }
        fn annotation(&self, _: &str) -> Option<&str> {
            None
        }
        fn protobuf() -> Option<ProtobufCodec<Self>> {
            Some(codec())
        }
    }

    pub(crate) fn widget(name: &str, size: i64) -> Widget {
        Widget {
            name: Some(name.into()),
            size: Some(size),
        }
    }

    pub(crate) fn codec() -> ProtobufCodec<Widget> {
        ProtobufCodec::new("example.com/v1", "Widget")
    }

    /// What the server would send for a list of widgets.
    pub(crate) fn widget_list_body(items: &[Widget], meta: &ListMeta) -> Vec<u8> {
        encode_enveloped("example.com/v1", "WidgetList", |writer| {
            for item in items.iter().rev() {
                writer.put_nested(2, |writer| item.encode_fields(writer));
            }
            meta.encode_field(1, writer);
        })
    }

    #[test]
    fn media_types_choose_the_format() {
        for (content_type, format) in [
            (Some("application/vnd.kubernetes.protobuf"), Format::Protobuf),
            (
                Some("Application/Vnd.Kubernetes.Protobuf ; stream=watch"),
                Format::Protobuf,
            ),
            (Some("application/json"), Format::Json),
            (Some("application/json;stream=watch"), Format::Json),
            (Some("text/plain; charset=utf-8"), Format::Json),
            (Some("application/vnd.kubernetes.protobuf.extra"), Format::Json),
            (Some(""), Format::Json),
            (None, Format::Json),
        ] {
            assert_eq!(Format::of_content_type(content_type), format, "{content_type:?}");
        }
        assert_eq!(Format::Json.accept(), "application/json");
        assert_eq!(
            Format::Protobuf.accept(),
            "application/vnd.kubernetes.protobuf, application/json"
        );
    }

    #[test]
    fn objects_round_trip_through_the_envelope() {
        let codec = codec();
        let body = codec.encode(&widget("a", 3));
        assert!(body.starts_with(b"k8s\0"));
        let envelope = Envelope::decode(&body).unwrap();
        assert_eq!(
            (envelope.api_version.as_str(), envelope.kind.as_str()),
            ("example.com/v1", "Widget")
        );
        assert_eq!(envelope.raw, b"\x0a\x01a\x10\x03");
        assert_eq!(codec.decode(&body), Ok(widget("a", 3)));
    }

    #[test]
    fn another_kind_in_the_envelope_is_an_error() {
        let codec = codec();
        let gadget = encode_enveloped("example.com/v1", "Gadget", |writer| {
            widget("a", 1).encode_fields(writer)
        });
        assert!(matches!(
            codec.decode(&gadget),
            Err(ProtobufError::UnexpectedKind { .. })
        ));
        let list = widget_list_body(&[], &ListMeta::default());
        assert!(matches!(
            codec.decode(&list),
            Err(ProtobufError::UnexpectedKind { .. })
        ));
        let other_version = encode_enveloped("example.com/v2", "WidgetList", |_| {});
        assert_eq!(
            codec.decode_list(&other_version),
            Err(ProtobufError::UnexpectedKind {
                expected: "example.com/v1 WidgetList".into(),
                found: "example.com/v2 WidgetList".into(),
            })
        );
        assert_eq!(
            codec.decode(b"{\"kind\":\"Widget\"}"),
            Err(ProtobufError::MissingMagic)
        );
    }

    #[test]
    fn lists_decode_with_their_metadata() {
        let meta = ListMeta {
            continue_token: Some("next".into()),
            resource_version: Some("42".into()),
            remaining_item_count: Some(7),
        };
        let body = widget_list_body(&[widget("a", 1), widget("b", 0)], &meta);
        let list = codec().decode_list(&body).unwrap();
        assert_eq!(list.metadata, meta);
        // `size: 0` is Go's zero value, which JSON omits: it reads back as `None`, as from JSON.
        assert_eq!(
            list.items,
            [
                widget("a", 1),
                Widget {
                    name: Some("b".into()),
                    size: None
                }
            ]
        );
        assert_eq!(list.next_page(), Some("next"));
    }

    #[test]
    fn codecs_are_plain_data() {
        let codec = codec();
        let copy = codec;
        assert_eq!(copy.kind(), "Widget");
        assert_eq!(codec.api_version(), "example.com/v1");
        assert_eq!(
            format!("{codec:?}"),
            "ProtobufCodec { api_version: \"example.com/v1\", kind: \"Widget\", .. }"
        );
    }
}
