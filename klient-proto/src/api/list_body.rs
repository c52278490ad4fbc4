//! The body of a successful list response, read as it arrives: what an adapter feeds when it
//! lists without holding the whole body.

use super::format::Format;
use super::list_stream::{ListDecoder, ListProgress};
use super::protobuf_list::ProtobufListDecoder;
use super::{Resource, ResponseError};
use serde::de::DeserializeOwned;

/// A list response's body, decoded as its bytes arrive, for a response that succeeded (an adapter
/// sends the call as [`CallKind::Pieces`](crate::client::CallKind::Pieces), which reads an error
/// answer whole and hands out only a success's body).
///
/// A JSON body goes through a [`ListDecoder`]: each item is handed out as soon as its bytes are
/// in, and only the incomplete item is buffered, so listing 100,000 objects never holds the
/// whole body. A protobuf body goes through a [`ProtobufListDecoder`] the same way, for a kind
/// with a protobuf form; for any other kind it is refused as
/// [`decode_negotiated`](super::decode_negotiated) refuses it. The caller feeds
/// [`handle_bytes`](Self::handle_bytes) and
/// [`handle_eof`](Self::handle_eof) and drains [`poll_item`](Self::poll_item) after each.
///
/// ```
/// use klient_proto::api::{DynamicObject, ListBody, ListProgress};
///
/// let mut body = ListBody::<DynamicObject>::new(200, Some("application/json"));
/// body.handle_bytes(br#"{"kind":"List","metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"a"}},"#);
/// assert!(matches!(body.poll_item(), Ok(ListProgress::Item(item)) if item.metadata.name.as_deref() == Some("a")));
/// assert!(matches!(body.poll_item(), Ok(ListProgress::NeedData)));
/// body.handle_bytes(br#"{"metadata":{"name":"b"}}]}"#);
/// body.handle_eof();
/// assert!(matches!(body.poll_item(), Ok(ListProgress::Item(_))));
/// let Ok(ListProgress::End(meta)) = body.poll_item() else { panic!() };
/// assert_eq!(meta.resource_version.as_deref(), Some("7"));
/// ```
#[derive(Debug)]
pub struct ListBody<K> {
    code: u16,
    inner: Inner<K>,
}

#[derive(Debug)]
enum Inner<K> {
    Json(ListDecoder<K>),
    Protobuf(ProtobufListDecoder<K>),
    /// Protobuf for a kind without a protobuf form (a custom resource): refused at once, as
    /// [`decode_negotiated`](super::decode_negotiated) refuses it, without reading the body.
    Refused {
        content_type: String,
    },
}

impl<K: Resource + DeserializeOwned> ListBody<K> {
    /// The body of a `code` (success) response with this `Content-Type`.
    pub fn new(code: u16, content_type: Option<&str>) -> Self {
        let inner = match Format::of_content_type(content_type) {
            Format::Json => Inner::Json(ListDecoder::new()),
            Format::Protobuf if let Some(codec) = K::protobuf() => {
                Inner::Protobuf(ProtobufListDecoder::new(codec))
            }
            Format::Protobuf => Inner::Refused {
                content_type: content_type.unwrap_or_default().to_owned(),
            },
        };
        ListBody { code, inner }
    }

    /// Bytes of the body, as they arrived.
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        match &mut self.inner {
            Inner::Json(decoder) => decoder.handle_bytes(bytes),
            Inner::Protobuf(decoder) => decoder.handle_bytes(bytes),
            Inner::Refused { .. } => {}
        }
    }

    /// The body is complete.
    pub fn handle_eof(&mut self) {
        match &mut self.inner {
            Inner::Json(decoder) => decoder.handle_eof(),
            Inner::Protobuf(decoder) => decoder.handle_eof(),
            Inner::Refused { .. } => {}
        }
    }

    /// The next item, [`ListProgress::NeedData`] until more bytes (or the end) arrive,
    /// [`ListProgress::End`] with the list's metadata after the last item, then
    /// [`ListProgress::Finished`].
    pub fn poll_item(&mut self) -> Result<ListProgress<K>, ResponseError> {
        let code = self.code;
        match &mut self.inner {
            Inner::Json(decoder) => decoder
                .poll_item()
                .map_err(|error| ResponseError::List { code, error }),
            Inner::Protobuf(decoder) => decoder
                .poll_item()
                .map_err(|error| ResponseError::ProtobufList { code, error }),
            Inner::Refused { content_type } => Err(ResponseError::UnexpectedContentType {
                code,
                content_type: content_type.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::format::tests::{Widget, widget, widget_list_body};
    use crate::api::{DynamicObject, ListMeta};
    use crate::protobuf::{CONTENT_TYPE, ProtobufError};

    #[test]
    fn a_protobuf_list_comes_out_item_by_item() {
        let meta = ListMeta {
            resource_version: Some("9".into()),
            ..ListMeta::default()
        };
        let body = widget_list_body(&[widget("a", 1), widget("b", 2)], &meta);
        let mut list = ListBody::<Widget>::new(200, Some(CONTENT_TYPE));
        let mut items = Vec::new();
        for byte in &body {
            list.handle_bytes(std::slice::from_ref(byte));
            while let ListProgress::Item(item) = list.poll_item().unwrap() {
                items.push(item);
            }
        }
        assert_eq!(items, [widget("a", 1), widget("b", 2)]);
        list.handle_eof();
        assert_eq!(list.poll_item().unwrap(), ListProgress::End(meta));
        assert_eq!(list.poll_item().unwrap(), ListProgress::Finished);
    }

    #[test]
    fn a_bad_protobuf_list_is_a_typed_error_with_the_status_code() {
        let mut list = ListBody::<Widget>::new(200, Some(CONTENT_TYPE));
        list.handle_bytes(b"{\"kind\":\"List\"}");
        let error = list.poll_item().unwrap_err();
        assert!(
            matches!(
                &error,
                ResponseError::ProtobufList {
                    code: 200,
                    error: crate::api::ProtobufListError::Protobuf(ProtobufError::MissingMagic)
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn protobuf_for_a_kind_without_a_protobuf_form_is_refused_before_any_byte() {
        let mut list = ListBody::<DynamicObject>::new(200, Some(CONTENT_TYPE));
        let error = list.poll_item().unwrap_err();
        assert!(
            matches!(&error, ResponseError::UnexpectedContentType { code: 200, content_type } if content_type == CONTENT_TYPE),
            "{error:?}"
        );
        list.handle_bytes(&[0; 1024]);
        list.handle_eof();
        assert!(list.poll_item().is_err(), "still refused");
    }
}
