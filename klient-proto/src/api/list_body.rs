//! The body of a successful list response, read as it arrives: what an adapter feeds when it
//! lists without holding the whole body.

use super::format::Format;
use super::list_stream::{ListDecoder, ListProgress};
use super::negotiated::decode_negotiated;
use super::protobuf_list::ProtobufListDecoder;
use super::response::{ListMeta, ObjectList};
use super::{Resource, ResponseError};
use serde::de::DeserializeOwned;

/// A list response's body, decoded as its bytes arrive, for a response that succeeded (an adapter
/// sends the call as [`CallKind::Pieces`](crate::client::CallKind::Pieces), which reads an error
/// answer whole and hands out only a success's body).
///
/// A JSON body goes through a [`ListDecoder`]: each item is handed out as soon as its bytes are
/// in, and only the incomplete item is buffered, so listing 100,000 objects never holds the
/// whole body. A protobuf body goes through a [`ProtobufListDecoder`] the same way, for a kind
/// with a protobuf form; for any other kind it is read whole and refused as
/// [`decode_negotiated`] refuses it. The caller feeds [`handle_bytes`](Self::handle_bytes) and
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
    /// Protobuf for a kind without a protobuf form: the body whole, then the error.
    Whole {
        content_type: Option<String>,
        body: Vec<u8>,
        eof: bool,
        decoded: Option<(std::vec::IntoIter<K>, Option<ListMeta>)>,
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
            Format::Protobuf => Inner::Whole {
                content_type: content_type.map(str::to_owned),
                body: Vec::new(),
                eof: false,
                decoded: None,
            },
        };
        ListBody { code, inner }
    }

    /// Bytes of the body, as they arrived.
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        match &mut self.inner {
            Inner::Json(decoder) => decoder.handle_bytes(bytes),
            Inner::Protobuf(decoder) => decoder.handle_bytes(bytes),
            Inner::Whole { body, .. } => body.extend_from_slice(bytes),
        }
    }

    /// The body is complete.
    pub fn handle_eof(&mut self) {
        match &mut self.inner {
            Inner::Json(decoder) => decoder.handle_eof(),
            Inner::Protobuf(decoder) => decoder.handle_eof(),
            Inner::Whole { eof, .. } => *eof = true,
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
            Inner::Whole {
                content_type,
                body,
                eof,
                decoded,
            } => {
                if decoded.is_none() {
                    if !*eof {
                        return Ok(ListProgress::NeedData);
                    }
                    let list: ObjectList<K> = decode_negotiated(code, content_type.as_deref(), body)?;
                    *body = Vec::new();
                    *decoded = Some((list.items.into_iter(), Some(list.metadata)));
                }
                let Some((items, metadata)) = decoded else {
                    return Ok(ListProgress::NeedData);
                };
                if let Some(item) = items.next() {
                    return Ok(ListProgress::Item(item));
                }
                Ok(match metadata.take() {
                    Some(metadata) => ListProgress::End(metadata),
                    None => ListProgress::Finished,
                })
            }
        }
    }
}
