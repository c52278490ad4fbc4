//! Decoding a protobuf list response body item by item, as its bytes arrive.
//!
//! ```text
//! body    = "k8s\0" Unknown
//! Unknown = { TypeMeta typeMeta = 1; bytes raw = 2; string contentEncoding = 3; string contentType = 4; }
//! raw     = XxxList { ListMeta metadata = 1; repeated Xxx items = 2; }
//! ```
//!
//! Every field is a tag and, for bytes and messages, a length prefix: so once the envelope has
//! named the kind and `raw`'s length prefix is in, each item's end is known from its own prefix,
//! and the item is decoded as soon as its bytes are. `raw` itself is never held whole: the
//! buffer holds one field at most (an item, the metadata, an envelope field) and one read.
//!
//! Each field goes through the same code as a whole body's decode
//! ([`ProtobufCodec::decode_list`]): the envelope's own fields, and the list's fields at the same
//! nesting depth. So a body this decoder reads to its end gives the items and metadata the whole
//! decode gives, and a body the whole decode refuses fails here too, with two deliberate
//! differences: a field over the size limit is refused ([`ProtobufListError::TooLarge`]), and a
//! layout only a whole decode can read is refused
//! ([`ProtobufListError::ItemsBeforeKind`], [`ProtobufListError::SecondList`]); the API server
//! writes neither. Items before an error are handed out before it is found, as with a JSON body.

use std::fmt;

use super::format::ProtobufCodec;
use super::list_stream::{DEFAULT_MAX_ITEM_SIZE, ListProgress};
use super::response::ListMeta;
use crate::protobuf::{Envelope, MAGIC, ProtobufError, Reader, WireType};

/// A protobuf list body, decoded item by item as its bytes arrive (see the module docs).
///
/// ```
/// # #[cfg(all(feature = "k8s-openapi", feature = "protobuf"))] {
/// use k8s_openapi::api::core::v1::ConfigMap;
/// use klient_proto::api::{ListMeta, ListProgress, ObjectList, ProtobufListDecoder, Resource};
/// use klient_proto::protobuf::{Message, encode_enveloped};
///
/// let list = ObjectList { metadata: ListMeta::default(), items: vec![ConfigMap::default(); 3] };
/// let body = encode_enveloped("v1", "ConfigMapList", |writer| list.encode_fields(writer));
/// let codec = ConfigMap::protobuf().unwrap();
/// let mut decoder = ProtobufListDecoder::new(codec);
/// let mut items = 0;
/// for byte in &body {
///     decoder.handle_bytes(std::slice::from_ref(byte));
///     while let ListProgress::Item(_) = decoder.poll_item().unwrap() {
///         items += 1;
///     }
/// }
/// decoder.handle_eof();
/// assert!(matches!(decoder.poll_item(), Ok(ListProgress::End(_))));
/// assert_eq!(items, 3);
/// # }
/// ```
#[derive(Debug)]
pub struct ProtobufListDecoder<K> {
    codec: ProtobufCodec<K>,
    max_item_size: usize,
    /// Bytes received and not yet consumed start at `start`.
    buffer: Vec<u8>,
    start: usize,
    received: u64,
    eof: bool,
    stage: Stage,
    /// The envelope's fields other than `raw`, as they arrive.
    envelope: Envelope<'static>,
    raw_seen: bool,
    metadata: ListMeta,
    /// The item the last list field held, before it is handed out.
    item: Vec<K>,
    items: usize,
    failed: Option<ProtobufListError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Before the four bytes of `k8s\0`.
    Magic,
    /// Among the envelope's fields.
    Envelope,
    /// Inside `raw`, with this many of its bytes still to come.
    List { remaining: u64 },
    /// `End` was handed out.
    Finished,
}

/// The head of one field at the start of a buffer.
#[derive(Debug, Clone, Copy)]
struct Head {
    field: u32,
    wire_type: WireType,
    /// Bytes of the tag.
    tag_len: usize,
    /// Bytes of the tag and the whole value (for `raw`, the tag and its length prefix only).
    len: u64,
}

impl<K> ProtobufListDecoder<K> {
    /// A decoder for a list of `codec`'s kind, each field limited to
    /// [`DEFAULT_MAX_ITEM_SIZE`].
    pub fn new(codec: ProtobufCodec<K>) -> Self {
        Self::with_max_item_size(codec, DEFAULT_MAX_ITEM_SIZE)
    }

    /// A decoder whose items (and metadata, and envelope fields) may be at most `max_item_size`
    /// bytes; a longer one is refused as soon as its length prefix is in.
    pub fn with_max_item_size(codec: ProtobufCodec<K>, max_item_size: usize) -> Self {
        ProtobufListDecoder {
            codec,
            max_item_size,
            buffer: Vec::new(),
            start: 0,
            received: 0,
            eof: false,
            stage: Stage::Magic,
            envelope: Envelope::default(),
            raw_seen: false,
            metadata: ListMeta::default(),
            item: Vec::with_capacity(1),
            items: 0,
            failed: None,
        }
    }

    /// Bytes held for the field being read.
    pub fn buffered(&self) -> usize {
        self.buffer.len() - self.start
    }

    /// Bytes of the body, as they arrived.
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        self.buffer.extend_from_slice(bytes);
        self.received += bytes.len() as u64;
    }

    /// The body is complete.
    pub fn handle_eof(&mut self) {
        self.eof = true;
    }

    /// The next item, [`ListProgress::NeedData`] until more bytes (or the end) arrive,
    /// [`ListProgress::End`] with the list's metadata once the body ended after the envelope,
    /// then [`ListProgress::Finished`]. An error is final: every later call returns it again.
    pub fn poll_item(&mut self) -> Result<ListProgress<K>, ProtobufListError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let progress = self.step();
        if let Err(error) = &progress {
            self.failed = Some(error.clone());
            self.buffer = Vec::new();
            self.start = 0;
        }
        progress
    }

    fn step(&mut self) -> Result<ListProgress<K>, ProtobufListError> {
        loop {
            match self.stage {
                Stage::Finished => return Ok(ListProgress::Finished),
                Stage::Magic => {
                    let available = &self.buffer[self.start..];
                    if available.len() < MAGIC.len() {
                        if !MAGIC.starts_with(available) {
                            return Err(ProtobufListError::Protobuf(ProtobufError::MissingMagic));
                        }
                        return self.need_data();
                    }
                    if &available[..MAGIC.len()] != MAGIC {
                        return Err(ProtobufListError::Protobuf(ProtobufError::MissingMagic));
                    }
                    self.start += MAGIC.len();
                    self.stage = Stage::Envelope;
                }
                Stage::Envelope => {
                    if self.start == self.buffer.len() {
                        if !self.eof {
                            return Ok(ListProgress::NeedData);
                        }
                        self.codec.expect_list(&self.envelope)?;
                        self.envelope.check_content_encoding()?;
                        self.stage = Stage::Finished;
                        return Ok(ListProgress::End(std::mem::take(&mut self.metadata)));
                    }
                    let window = &self.buffer[self.start..];
                    let Some(head) = self.head(window, true)? else {
                        return self.need_data();
                    };
                    if head.field == 2 {
                        self.begin_list(head)?;
                        continue;
                    }
                    let Some(value) = complete(window, head) else {
                        return self.need_data();
                    };
                    self.envelope.merge_field_besides_raw(
                        head.field,
                        head.wire_type,
                        &mut Reader::new(value),
                    )?;
                    self.start += head.len as usize;
                }
                Stage::List { remaining: 0 } => self.stage = Stage::Envelope,
                Stage::List { remaining } => {
                    let available = &self.buffer[self.start..];
                    let within =
                        usize::try_from(remaining).map_or(available.len(), |r| r.min(available.len()));
                    let window = &available[..within];
                    // All of the list's bytes are in, so a field cut short runs past its end.
                    let list_end_in = (available.len() as u64) >= remaining;
                    let head = match self.head(window, false)? {
                        Some(head) if head.len <= remaining => head,
                        Some(_) => return Err(ProtobufListError::Protobuf(ProtobufError::Truncated)),
                        None if list_end_in => {
                            return Err(ProtobufListError::Protobuf(ProtobufError::Truncated));
                        }
                        None => return self.need_data(),
                    };
                    let Some(value) = complete(window, head) else {
                        return self.need_data();
                    };
                    let mut reader = Reader::new(value);
                    let items = &mut self.item;
                    self.codec
                        .merge_list_field(items, &mut self.metadata, head.field, head.wire_type, &mut reader)
                        .map_err(|error| match head.field {
                            2 => ProtobufListError::Item {
                                index: self.items,
                                error,
                            },
                            _ => ProtobufListError::Protobuf(error),
                        })?;
                    self.start += head.len as usize;
                    self.stage = Stage::List {
                        remaining: remaining - head.len,
                    };
                    if let Some(item) = self.item.pop() {
                        self.items += 1;
                        return Ok(ListProgress::Item(item));
                    }
                }
            }
        }
    }

    /// `raw` begins: its items may be handed out once the envelope has named their kind.
    fn begin_list(&mut self, head: Head) -> Result<(), ProtobufListError> {
        if head.wire_type != WireType::Len {
            return Err(ProtobufListError::Protobuf(ProtobufError::WrongWireType {
                message: "runtime.Unknown",
                field: 2,
                wire_type: head.wire_type as u8,
            }));
        }
        if self.raw_seen {
            return Err(ProtobufListError::SecondList);
        }
        if self.envelope.kind.is_empty() && self.envelope.api_version.is_empty() {
            return Err(ProtobufListError::ItemsBeforeKind);
        }
        self.codec.expect_list(&self.envelope)?;
        self.envelope.check_content_encoding()?;
        let mut reader = Reader::new(&self.buffer[self.start + head.tag_len..]);
        let remaining = reader.varint()?;
        self.raw_seen = true;
        self.start += head.len as usize;
        self.stage = Stage::List { remaining };
        Ok(())
    }

    /// The head of the field at the start of `window`, or `None` while it is incomplete. For
    /// `raw` (`top_level`, field 2) only its tag and length prefix count: its value is the list.
    fn head(&self, window: &[u8], top_level: bool) -> Result<Option<Head>, ProtobufListError> {
        let mut reader = Reader::new(window);
        let (field, wire_type) = match reader.next_tag() {
            Ok(Some(tag)) => tag,
            Ok(None) | Err(ProtobufError::Truncated) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let tag_len = window.len() - reader.remaining_len();
        let value_len = match wire_type {
            WireType::Len => {
                let len = match reader.varint() {
                    Ok(len) => len,
                    Err(ProtobufError::Truncated) => return Ok(None),
                    Err(error) => return Err(error.into()),
                };
                if top_level && field == 2 {
                    0
                } else if len > self.max_item_size as u64 {
                    return Err(ProtobufListError::TooLarge {
                        len,
                        max: self.max_item_size,
                    });
                } else {
                    len
                }
            }
            other => match reader.skip(other) {
                Ok(()) => 0,
                Err(ProtobufError::Truncated) => return Ok(None),
                Err(error) => return Err(error.into()),
            },
        };
        let head_len = (window.len() - reader.remaining_len()) as u64;
        Ok(Some(Head {
            field,
            wire_type,
            tag_len,
            len: head_len + value_len,
        }))
    }

    /// Nothing more can be read before more bytes; at the end of the body, the list is cut.
    fn need_data(&self) -> Result<ListProgress<K>, ProtobufListError> {
        if self.eof {
            return Err(ProtobufListError::Truncated {
                received: self.received,
            });
        }
        Ok(ListProgress::NeedData)
    }
}

/// The field's value (after its tag, its length prefix included) when `window` holds all of it.
fn complete(window: &[u8], head: Head) -> Option<&[u8]> {
    let len = usize::try_from(head.len).ok()?;
    window.get(head.tag_len..len)
}

/// Why a protobuf list body could not be read item by item.
///
/// Like [`ProtobufError`], every variant describes the input, never its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtobufListError {
    /// A field (an item, the metadata, an envelope field) is declared longer than the limit:
    /// refused as soon as its length prefix is in, before it is buffered.
    TooLarge {
        /// The length the field declares.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The body ended inside the list.
    Truncated {
        /// Bytes of the body received.
        received: u64,
    },
    /// The envelope holds the list before it names the list's kind, so its items could not be
    /// checked before being handed out. Valid protobuf that the API server never writes.
    ItemsBeforeKind,
    /// The envelope holds a second list (protobuf's "the last one wins"), after the first one's
    /// items were handed out. Valid protobuf that the API server never writes.
    SecondList,
    /// Item `index` (from 0) is not a valid message of its kind.
    Item {
        /// Position of the item in the list.
        index: usize,
        /// What is wrong with its bytes.
        error: ProtobufError,
    },
    /// The envelope or the list around the items is not valid, or names another kind.
    Protobuf(ProtobufError),
}

impl From<ProtobufError> for ProtobufListError {
    fn from(error: ProtobufError) -> Self {
        ProtobufListError::Protobuf(error)
    }
}

impl fmt::Display for ProtobufListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len, max } => {
                write!(
                    f,
                    "protobuf list has a field of {len} bytes, over the limit of {max}"
                )
            }
            Self::Truncated { received } => {
                write!(
                    f,
                    "protobuf list body ended after {received} bytes, inside the list"
                )
            }
            Self::ItemsBeforeKind => {
                f.write_str("protobuf list body holds its items before naming their kind")
            }
            Self::SecondList => f.write_str("protobuf list body holds a second list"),
            Self::Item { index, error } => write!(f, "protobuf list item {index} does not decode: {error}"),
            Self::Protobuf(error) => write!(f, "protobuf list body does not decode: {error}"),
        }
    }
}

impl std::error::Error for ProtobufListError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Item { error, .. } | Self::Protobuf(error) => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
#[path = "protobuf_list_tests.rs"]
mod tests;
