//! Decoding a JSON list response body item by item, as its bytes arrive.
//!
//! A list response is one JSON object, `{"kind":"PodList","metadata":{...},"items":[...]}`.
//! Decoding it whole means holding the whole body next to the decoded objects; [`ListDecoder`]
//! instead takes the body in whatever pieces the connection delivers and hands out each item as
//! soon as its bytes are complete, so that the peak memory is the decoded items, the largest
//! item and one read.
//!
//! The decoder parses the top object itself (its keys in any order, `metadata`, `items` and
//! anything else) and finds where each item ends by tracking bracket depth outside strings,
//! keeping its scan position between calls so that each byte is scanned once however the body is
//! split. Each item's bytes then go to serde_json alone, which checks them. Values under other
//! keys (`kind`, `apiVersion`, unknown ones) are not decoded but are checked as strictly as
//! serde_json checks a value it ignores, as they pass, without being kept.
//!
//! [`ListDecoder`]'s docs say how its answers compare with `serde_json::from_slice`'s on the
//! whole body: the same, but for three deliberate differences.

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use super::response::{ListMeta, ObjectList};

/// Default limit on one item's size (and on the metadata's, and on any value skipped): far
/// above the API server's own object size limits, as watch's
/// [`DEFAULT_MAX_EVENT_SIZE`](crate::watch::DEFAULT_MAX_EVENT_SIZE).
pub const DEFAULT_MAX_ITEM_SIZE: usize = 16 * 1024 * 1024;

/// Arrays and objects may nest this deep (the top object counts as one level); one level more is
/// refused. serde_json's recursion limit of 128 refuses the same level, so that a body serde_json
/// refuses for its depth is refused here too.
pub const MAX_DEPTH: usize = 127;

/// The longest key of the top object, in bytes as written between its quotes. The keys that
/// matter are `metadata` and `items`; anything longer is not a list.
pub const MAX_KEY_LEN: usize = 256;

/// How much of a whole body [`ListDecoder::decode_all`] feeds at a time, so that it never holds
/// a copy of the body.
const DECODE_ALL_PIECE: usize = 64 * 1024;

/// What [`ListDecoder::poll_item`] found.
#[must_use]
#[derive(Debug, PartialEq)]
pub enum ListProgress<K> {
    /// The next item, in the order of the body.
    Item(K),
    /// Nothing more until more bytes (or the end of the body) are fed.
    NeedData,
    /// The list is over: its top object closed and the body ended after it. The list's metadata
    /// is handed out here, once, wherever it was in the body (`ListMeta::default()` when absent).
    End(ListMeta),
    /// [`End`](Self::End) was handed out: nothing more comes.
    Finished,
}

/// Why a body is not a list, in the terms of the JSON scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedReason {
    /// The body does not start with `{` (after whitespace).
    NotAnObject,
    /// An object key (a string) must come here.
    ExpectedKey,
    /// A `:` must follow the key.
    ExpectedColon,
    /// A `,` or the end of the object or array must come here.
    ExpectedCommaOrEnd,
    /// A value must start here.
    ExpectedValue,
    /// `items` is neither an array nor `null`.
    ItemsNotArray,
    /// `metadata` or `items` appears twice.
    DuplicateField,
    /// A key of the top object is not a valid JSON string (an escape, a control character,
    /// invalid UTF-8).
    InvalidKey,
    /// A control character inside a string.
    ControlCharacter,
    /// A backslash escape that JSON does not have.
    InvalidEscape,
    /// A number that breaks JSON's grammar.
    InvalidNumber,
    /// Something that starts like `true`, `false` or `null` and is not.
    InvalidLiteral,
    /// Something other than whitespace after the top object.
    TrailingData,
}

impl fmt::Display for MalformedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAnObject => "the body is not a JSON object",
            Self::ExpectedKey => "expected an object key",
            Self::ExpectedColon => "expected `:` after an object key",
            Self::ExpectedCommaOrEnd => "expected `,` or the end of the object or array",
            Self::ExpectedValue => "expected a value",
            Self::ItemsNotArray => "`items` is not an array",
            Self::DuplicateField => "`metadata` or `items` appears twice",
            Self::InvalidKey => "an object key is not a valid string",
            Self::ControlCharacter => "control character inside a string",
            Self::InvalidEscape => "invalid escape inside a string",
            Self::InvalidNumber => "invalid number",
            Self::InvalidLiteral => "invalid literal",
            Self::TrailingData => "bytes after the end of the list",
        })
    }
}

/// Why a list body could not be decoded. Every error is final: the decoder returns it again on
/// every later poll.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListDecodeError {
    /// An item, the metadata or a value under another key is larger than the limit. Reported as
    /// soon as more than `max` bytes of it are seen, before it is complete.
    ItemTooLarge {
        /// Bytes of the value seen so far (more than `max`; how many more depends on how the
        /// body was split).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Arrays and objects nest deeper than [`MAX_DEPTH`] levels.
    TooDeep {
        /// Offset in the body of the bracket that went too deep.
        offset: u64,
        /// The limit, [`MAX_DEPTH`].
        max: usize,
    },
    /// A key of the top object is longer than [`MAX_KEY_LEN`] bytes.
    KeyTooLong {
        /// Offset in the body of the key's opening quote.
        offset: u64,
        /// The limit, [`MAX_KEY_LEN`].
        max: usize,
    },
    /// The bytes are not JSON, or not a list object.
    Malformed {
        /// Offset in the body of the byte that broke it.
        offset: u64,
        /// What was wrong there.
        reason: MalformedReason,
    },
    /// The body ended before the list did.
    Truncated {
        /// Bytes of the body received.
        received: u64,
    },
    /// An item is not a `K` (or not valid JSON): serde_json's verdict on its bytes alone.
    Item {
        /// Position of the item in the list, from 0.
        index: usize,
        /// serde_json's message (its line and column count from the item's start).
        reason: String,
    },
    /// The metadata is not a [`ListMeta`].
    Metadata {
        /// serde_json's message.
        reason: String,
    },
}

impl fmt::Display for ListDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ItemTooLarge { len, max } => write!(
                f,
                "list body has a value of at least {len} bytes, over the limit of {max}"
            ),
            Self::TooDeep { offset, max } => {
                write!(f, "list body nests deeper than {max} levels at offset {offset}")
            }
            Self::KeyTooLong { offset, max } => write!(
                f,
                "list body has a key longer than {max} bytes at offset {offset}"
            ),
            Self::Malformed { offset, reason } => {
                write!(f, "malformed list body at offset {offset}: {reason}")
            }
            Self::Truncated { received } => {
                write!(f, "list body ended after {received} bytes, inside the list")
            }
            Self::Item { index, reason } => write!(f, "list item {index} does not decode: {reason}"),
            Self::Metadata { reason } => write!(f, "list metadata does not decode: {reason}"),
        }
    }
}

impl std::error::Error for ListDecodeError {}

/// The keys of the top object that mean something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Metadata,
    Items,
    Other,
}

/// Where the scan of a value that is kept whole (an item, the metadata, `items: null`) stands.
/// The value's bytes stay in the buffer from its first byte until it is complete.
#[derive(Debug, Clone, Copy)]
struct Capture {
    /// A number or literal: it ends before the first byte that cannot be part of one.
    scalar: bool,
    /// Brackets open inside the value.
    depth: usize,
    in_string: bool,
}

/// Where the top object's parse stands.
#[derive(Debug, Clone)]
enum State {
    /// Before the top object's `{`.
    Start,
    /// After the `{` (`first`) or after a `,` between members: a key must come.
    BeforeKey { first: bool },
    /// Inside a key; its opening quote is at `start`.
    Key,
    /// After a key: its `:` must come.
    Colon(Field),
    /// After the `:`: the member's value must start.
    BeforeValue(Field),
    /// Inside the metadata value.
    Metadata(Capture),
    /// Inside a value of `items` that starts with `n`: it must be `null`.
    ItemsNull(Capture),
    /// After `items: [` (`first`) or a `,` between items: an item (or `]` if first) must come.
    BeforeItem { first: bool },
    /// Inside an item.
    Item(Capture),
    /// After an item: `,` or `]` must come.
    AfterItem,
    /// Inside a value under another key, checked and dropped as it passes.
    Skip(Skipper),
    /// After a member's value: `,` or `}` must come.
    AfterMember,
    /// After the top object's `}`: only whitespace until the end of the body.
    AfterTop,
    /// `End` was handed out.
    Finished,
    /// An error was reported; it is reported again on every poll.
    Failed(ListDecodeError),
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::Start => "start",
            State::BeforeKey { .. } | State::Key | State::Colon(_) => "key",
            State::BeforeValue(_) | State::AfterMember => "member",
            State::Metadata(_) => "metadata",
            State::ItemsNull(_) | State::BeforeItem { .. } | State::AfterItem => "items",
            State::Item(_) => "item",
            State::Skip(_) => "skipped value",
            State::AfterTop => "after the list",
            State::Finished => "finished",
            State::Failed(_) => "failed",
        }
    }
}

/// An incremental decoder of a JSON list response body (`PodList`, `CronTabList`...) that hands
/// out each item as soon as its bytes are complete.
///
/// Feed the body with [`handle_bytes`](Self::handle_bytes) and its end with
/// [`handle_eof`](Self::handle_eof), and call [`poll_item`](Self::poll_item) until it returns
/// [`ListProgress::NeedData`] before feeding more. [`ListProgress::End`] comes only after
/// `handle_eof`, because only then is it known that nothing but whitespace follows the list.
///
/// The buffer holds at most the value being completed (an item, or the metadata) and what was
/// fed and not scanned yet; bytes are dropped once consumed. Every value is limited to
/// `max_item_size` bytes, nesting to [`MAX_DEPTH`] and the top object's keys to
/// [`MAX_KEY_LEN`], each with its own error.
///
/// Every item goes to serde_json alone, from exactly its own bytes, and the rest of the body is
/// checked as strictly as serde_json checks it, so a body decodes to what
/// `serde_json::from_slice::<ObjectList<K>>` gives and a body it refuses is refused here too,
/// with three deliberate differences: the top level must be an object (serde also reads a
/// struct from an array), `"items": null` is an empty list (the API server writes a nil Go slice
/// so; serde refuses it), and nesting is limited to [`MAX_DEPTH`] levels everywhere, also inside
/// values that serde_json skips without a limit.
///
/// ```
/// use klient_proto::api::{ListDecoder, ListProgress};
/// use serde_json::{Value, json};
///
/// let mut decoder = ListDecoder::<Value>::new();
/// decoder.handle_bytes(br#"{"kind":"PodList","items":[{"n":1},{"n"#);
/// assert_eq!(decoder.poll_item(), Ok(ListProgress::Item(json!({"n": 1}))));
/// assert_eq!(decoder.poll_item(), Ok(ListProgress::NeedData));
/// decoder.handle_bytes(br#"":2}],"metadata":{"resourceVersion":"7"}}"#);
/// assert_eq!(decoder.poll_item(), Ok(ListProgress::Item(json!({"n": 2}))));
/// assert_eq!(decoder.poll_item(), Ok(ListProgress::NeedData));
/// decoder.handle_eof();
/// let Ok(ListProgress::End(meta)) = decoder.poll_item() else { panic!() };
/// assert_eq!(meta.resource_version.as_deref(), Some("7"));
/// assert_eq!(decoder.poll_item(), Ok(ListProgress::Finished));
/// ```
pub struct ListDecoder<K> {
    /// Received bytes; `buf[start..]` are not consumed yet.
    buf: Vec<u8>,
    /// Where the unconsumed bytes begin: the first byte of the value being kept, or the scan
    /// position when nothing is kept.
    start: usize,
    /// How far the scan has got (`start <= pos <= buf.len()`).
    pos: usize,
    /// Body offset of `buf[0]`, for error reports.
    offset: u64,
    eof: bool,
    state: State,
    /// The metadata, once decoded; handed out with `End`.
    metadata: Option<ListMeta>,
    seen_metadata: bool,
    seen_items: bool,
    /// Items handed out so far.
    index: usize,
    max_item_size: usize,
    _item: PhantomData<fn() -> K>,
}

impl<K> Default for ListDecoder<K> {
    fn default() -> Self {
        Self::with_max_item_size(DEFAULT_MAX_ITEM_SIZE)
    }
}

impl<K> fmt::Debug for ListDecoder<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Sizes and counts only: the bytes are someone's objects.
        f.debug_struct("ListDecoder")
            .field("state", &self.state.name())
            .field("buffered", &self.buffered())
            .field("items", &self.index)
            .field("seen_metadata", &self.seen_metadata)
            .field("max_item_size", &self.max_item_size)
            .field("eof", &self.eof)
            .finish()
    }
}

impl<K> ListDecoder<K> {
    /// A decoder with the [default item size limit](DEFAULT_MAX_ITEM_SIZE).
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder that refuses an item, metadata or skipped value larger than `max_item_size`
    /// bytes.
    pub fn with_max_item_size(max_item_size: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            pos: 0,
            offset: 0,
            eof: false,
            state: State::Start,
            metadata: None,
            seen_metadata: false,
            seen_items: false,
            index: 0,
            max_item_size,
            _item: PhantomData,
        }
    }

    /// The limit on one item's size.
    pub fn max_item_size(&self) -> usize {
        self.max_item_size
    }

    /// Bytes received and not consumed yet: the incomplete value being kept and what was fed
    /// and not scanned yet.
    pub fn buffered(&self) -> usize {
        self.buf.len().saturating_sub(self.start)
    }

    /// Takes the next piece of the body. The bytes already consumed are dropped first, so the
    /// copy kept is only what is not consumed yet; a piece fed after the end of the body, after
    /// `End` or after an error is ignored.
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        if self.eof || matches!(self.state, State::Finished | State::Failed(_)) {
            return;
        }
        // Dropping here, not after every item: the bytes moved are the incomplete value, which
        // arrived since the last drop, so each byte is moved at most once on average.
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.offset += self.start as u64;
            self.pos -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Takes the end of the body.
    pub fn handle_eof(&mut self) {
        self.eof = true;
    }

    fn malformed_at(&self, index: usize, reason: MalformedReason) -> ListDecodeError {
        ListDecodeError::Malformed {
            offset: self.offset + index as u64,
            reason,
        }
    }

    /// Out of bytes: the end of the body here is an error, otherwise wait for more.
    fn need_data<T>(&self) -> Result<ListProgress<T>, ListDecodeError> {
        if self.eof {
            Err(ListDecodeError::Truncated {
                received: self.offset + self.buf.len() as u64,
            })
        } else {
            Ok(ListProgress::NeedData)
        }
    }

    /// Skips whitespace from `pos` (consuming it) and peeks at the byte after it.
    fn skip_whitespace(&mut self) -> Option<u8> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let skip = rest.iter().position(|byte| !is_whitespace(*byte));
        let next = skip.and_then(|skip| rest.get(skip).copied());
        self.pos += skip.unwrap_or(rest.len());
        self.start = self.pos;
        next
    }

    /// Consumes the byte at `pos` (a structural byte already looked at).
    fn consume_byte(&mut self) {
        self.pos += 1;
        self.start = self.pos;
    }

    /// Starts keeping a value whose first byte, `byte`, is at `pos`.
    fn begin_capture(&mut self, byte: u8) -> Result<Capture, ListDecodeError> {
        self.start = self.pos;
        let capture = match byte {
            b'{' | b'[' => Capture {
                scalar: false,
                depth: 1,
                in_string: false,
            },
            b'"' => Capture {
                scalar: false,
                depth: 0,
                in_string: true,
            },
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                // The first byte is scanned as part of the scalar.
                return Ok(Capture {
                    scalar: true,
                    depth: 0,
                    in_string: false,
                });
            }
            _ => return Err(self.malformed_at(self.pos, MalformedReason::ExpectedValue)),
        };
        self.pos += 1;
        Ok(capture)
    }

    /// Scans the kept value from `pos`, nested `outer` levels deep. `Some(end)` once it is
    /// complete (`buf[start..end]`), `None` when more bytes are needed.
    fn scan_capture(
        &mut self,
        capture: &mut Capture,
        outer: usize,
    ) -> Result<Option<usize>, ListDecodeError> {
        // Never look further than one byte past the limit (the byte that ends a number): what
        // is decided then depends on the bytes alone, not on how they were split.
        let window_end = self
            .buf
            .len()
            .min(self.start.saturating_add(self.max_item_size).saturating_add(1));
        let window = self.buf.get(..window_end).unwrap_or_default();
        let scan = if capture.scalar {
            scan_scalar(window, self.pos)
        } else {
            scan_nested(window, self.pos, capture, outer)
        };
        let max = self.max_item_size;
        match scan {
            Scan::Done(end) => {
                let len = end - self.start;
                if len > max {
                    return Err(ListDecodeError::ItemTooLarge { len, max });
                }
                self.pos = end;
                Ok(Some(end))
            }
            Scan::More(resume) => {
                self.pos = resume;
                let len = self.buffered();
                if len > max {
                    return Err(ListDecodeError::ItemTooLarge { len, max });
                }
                Ok(None)
            }
            Scan::TooDeep(index) => Err(ListDecodeError::TooDeep {
                offset: self.offset + index as u64,
                max: MAX_DEPTH,
            }),
        }
    }

    /// The kept value `buf[start..end]`, consumed.
    fn take_value(&mut self, end: usize) -> &[u8] {
        let value = self.buf.get(self.start..end).unwrap_or_default();
        self.start = end;
        self.pos = end;
        value
    }

    /// Which member a complete key names (its quotes at `start` and `end - 1`).
    fn key_field(&self, end: usize) -> Result<Field, ListDecodeError> {
        let raw = self.buf.get(self.start..end).unwrap_or_default();
        let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default();
        // Keys are plain ASCII in practice; only others go through serde_json, which undoes
        // escapes (`"it\u0065ms"` is `items` to it too) and refuses what is not a valid string.
        let field_of = |key: &[u8]| match key {
            b"metadata" => Field::Metadata,
            b"items" => Field::Items,
            _ => Field::Other,
        };
        if inner
            .iter()
            .all(|&byte| (0x20..0x80).contains(&byte) && byte != b'\\')
        {
            return Ok(field_of(inner));
        }
        match serde_json::from_slice::<String>(raw) {
            Ok(key) => Ok(field_of(key.as_bytes())),
            Err(_) => Err(self.malformed_at(self.start, MalformedReason::InvalidKey)),
        }
    }
}

impl<K: DeserializeOwned> ListDecoder<K> {
    /// Decodes a whole body at once, as `serde_json::from_slice::<ObjectList<K>>` would (with
    /// the three differences the [type's docs](ListDecoder) list), in pieces so that the body is
    /// never copied whole.
    ///
    /// ```
    /// use klient_proto::api::ListDecoder;
    /// let list = ListDecoder::<serde_json::Value>::decode_all(br#"{"items":[1,2]}"#).unwrap();
    /// assert_eq!(list.items, [1, 2]);
    /// ```
    pub fn decode_all(body: &[u8]) -> Result<ObjectList<K>, ListDecodeError> {
        let mut decoder = Self::new();
        let mut items = Vec::new();
        let mut pieces = body.chunks(DECODE_ALL_PIECE);
        loop {
            match decoder.poll_item()? {
                ListProgress::Item(item) => items.push(item),
                ListProgress::NeedData => match pieces.next() {
                    Some(piece) => decoder.handle_bytes(piece),
                    None => decoder.handle_eof(),
                },
                ListProgress::End(metadata) => return Ok(ObjectList { metadata, items }),
                // Not reached: `End` comes first. Answered rather than assumed.
                ListProgress::Finished => {
                    return Ok(ObjectList {
                        metadata: ListMeta::default(),
                        items,
                    });
                }
            }
        }
    }

    /// The next item, [`NeedData`](ListProgress::NeedData) when more bytes (or the end of the
    /// body) are needed, [`End`](ListProgress::End) with the list's metadata once the body
    /// ended after a complete list, and [`Finished`](ListProgress::Finished) on every poll after
    /// that. An error is final: every later poll returns it again.
    #[must_use = "an item, the end of the list or an error is lost unless looked at"]
    pub fn poll_item(&mut self) -> Result<ListProgress<K>, ListDecodeError> {
        match &self.state {
            State::Failed(error) => return Err(error.clone()),
            State::Finished => return Ok(ListProgress::Finished),
            _ => {}
        }
        let progress = self.step();
        if let Err(error) = &progress {
            self.state = State::Failed(error.clone());
            self.buf = Vec::new();
            self.start = 0;
            self.pos = 0;
        }
        progress
    }

    /// Runs the parse until it has something to hand out.
    fn step(&mut self) -> Result<ListProgress<K>, ListDecodeError> {
        use MalformedReason as R;
        loop {
            match self.state.clone() {
                State::Start => {
                    let Some(byte) = self.skip_whitespace() else {
                        return self.need_data();
                    };
                    if byte != b'{' {
                        return Err(self.malformed_at(self.pos, R::NotAnObject));
                    }
                    self.consume_byte();
                    self.state = State::BeforeKey { first: true };
                }
                State::BeforeKey { first } => match self.skip_whitespace() {
                    None => return self.need_data(),
                    Some(b'"') => {
                        self.pos += 1;
                        self.state = State::Key;
                    }
                    Some(b'}') if first => {
                        self.consume_byte();
                        self.state = State::AfterTop;
                    }
                    Some(_) => return Err(self.malformed_at(self.pos, R::ExpectedKey)),
                },
                State::Key => {
                    // The key is kept from its opening quote; a longer one is refused before
                    // more than the limit is buffered.
                    let window_end = self.buf.len().min(self.start + MAX_KEY_LEN + 2);
                    let window = self.buf.get(..window_end).unwrap_or_default();
                    match find_string_end(window, self.pos) {
                        Ok(end) => {
                            let field = self.key_field(end)?;
                            let seen = match field {
                                Field::Metadata => std::mem::replace(&mut self.seen_metadata, true),
                                Field::Items => std::mem::replace(&mut self.seen_items, true),
                                Field::Other => false,
                            };
                            if seen {
                                return Err(self.malformed_at(self.start, R::DuplicateField));
                            }
                            self.take_value(end);
                            self.state = State::Colon(field);
                        }
                        Err(resume) => {
                            self.pos = resume;
                            if self.buffered() >= MAX_KEY_LEN + 2 {
                                return Err(ListDecodeError::KeyTooLong {
                                    offset: self.offset + self.start as u64,
                                    max: MAX_KEY_LEN,
                                });
                            }
                            return self.need_data();
                        }
                    }
                }
                State::Colon(field) => match self.skip_whitespace() {
                    None => return self.need_data(),
                    Some(b':') => {
                        self.consume_byte();
                        self.state = State::BeforeValue(field);
                    }
                    Some(_) => return Err(self.malformed_at(self.pos, R::ExpectedColon)),
                },
                State::BeforeValue(field) => {
                    let Some(byte) = self.skip_whitespace() else {
                        return self.need_data();
                    };
                    self.state = match (field, byte) {
                        (Field::Metadata, _) => State::Metadata(self.begin_capture(byte)?),
                        (Field::Items, b'[') => {
                            self.consume_byte();
                            State::BeforeItem { first: true }
                        }
                        (Field::Items, b'n') => State::ItemsNull(self.begin_capture(byte)?),
                        (Field::Items, _) => return Err(self.malformed_at(self.pos, R::ItemsNotArray)),
                        (Field::Other, _) => State::Skip(Skipper::new()),
                    };
                }
                State::Metadata(mut capture) => match self.scan_capture(&mut capture, 1)? {
                    Some(end) => {
                        let metadata =
                            serde_json::from_slice::<ListMeta>(self.take_value(end)).map_err(|error| {
                                ListDecodeError::Metadata {
                                    reason: error.to_string(),
                                }
                            })?;
                        self.metadata = Some(metadata);
                        self.state = State::AfterMember;
                    }
                    None => {
                        self.state = State::Metadata(capture);
                        return self.need_data();
                    }
                },
                State::ItemsNull(mut capture) => match self.scan_capture(&mut capture, 1)? {
                    Some(end) => {
                        let at = self.start;
                        if self.take_value(end) != b"null" {
                            return Err(self.malformed_at(at, R::ItemsNotArray));
                        }
                        self.state = State::AfterMember;
                    }
                    None => {
                        self.state = State::ItemsNull(capture);
                        return self.need_data();
                    }
                },
                State::BeforeItem { first } => match self.skip_whitespace() {
                    None => return self.need_data(),
                    Some(b']') if first => {
                        self.consume_byte();
                        self.state = State::AfterMember;
                    }
                    Some(byte) => self.state = State::Item(self.begin_capture(byte)?),
                },
                State::Item(mut capture) => match self.scan_capture(&mut capture, 2)? {
                    Some(end) => {
                        let index = self.index;
                        let item = serde_json::from_slice::<K>(self.take_value(end)).map_err(|error| {
                            ListDecodeError::Item {
                                index,
                                reason: error.to_string(),
                            }
                        })?;
                        self.index += 1;
                        self.state = State::AfterItem;
                        return Ok(ListProgress::Item(item));
                    }
                    None => {
                        self.state = State::Item(capture);
                        return self.need_data();
                    }
                },
                State::AfterItem => match self.skip_whitespace() {
                    None => return self.need_data(),
                    Some(b',') => {
                        self.consume_byte();
                        self.state = State::BeforeItem { first: false };
                    }
                    Some(b']') => {
                        self.consume_byte();
                        self.state = State::AfterMember;
                    }
                    Some(_) => return Err(self.malformed_at(self.pos, R::ExpectedCommaOrEnd)),
                },
                State::Skip(mut skipper) => {
                    // Scan no further than one byte past the limit, as for kept values.
                    let allowed =
                        (self.max_item_size - skipper.len.min(self.max_item_size)).saturating_add(1);
                    let window_end = self.buf.len().min(self.pos.saturating_add(allowed));
                    let window = self.buf.get(self.pos..window_end).unwrap_or_default();
                    let step = skipper.scan(window, 1);
                    let max = self.max_item_size;
                    match step {
                        Ok(SkipStep::Done(used)) | Ok(SkipStep::More(used)) => {
                            self.pos += used;
                            self.start = self.pos;
                            skipper.len += used;
                            if skipper.len > max {
                                return Err(ListDecodeError::ItemTooLarge {
                                    len: skipper.len,
                                    max,
                                });
                            }
                            if matches!(step, Ok(SkipStep::Done(_))) {
                                self.state = State::AfterMember;
                            } else {
                                self.state = State::Skip(skipper);
                                return self.need_data();
                            }
                        }
                        Err((index, SkipFault::TooDeep)) => {
                            return Err(ListDecodeError::TooDeep {
                                offset: self.offset + (self.pos + index) as u64,
                                max: MAX_DEPTH,
                            });
                        }
                        Err((index, SkipFault::Malformed(reason))) => {
                            return Err(self.malformed_at(self.pos + index, reason));
                        }
                    }
                }
                State::AfterMember => match self.skip_whitespace() {
                    None => return self.need_data(),
                    Some(b',') => {
                        self.consume_byte();
                        self.state = State::BeforeKey { first: false };
                    }
                    Some(b'}') => {
                        self.consume_byte();
                        self.state = State::AfterTop;
                    }
                    Some(_) => return Err(self.malformed_at(self.pos, R::ExpectedCommaOrEnd)),
                },
                State::AfterTop => match self.skip_whitespace() {
                    None if self.eof => {
                        self.state = State::Finished;
                        self.buf = Vec::new();
                        self.start = 0;
                        self.pos = 0;
                        return Ok(ListProgress::End(self.metadata.take().unwrap_or_default()));
                    }
                    None => return Ok(ListProgress::NeedData),
                    Some(_) => return Err(self.malformed_at(self.pos, R::TrailingData)),
                },
                State::Finished => return Ok(ListProgress::Finished),
                State::Failed(error) => return Err(error),
            }
        }
    }
}

fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// A byte that can continue a number or a literal.
fn is_scalar_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'-' | b'.')
}

/// How far the scan of a kept value got.
enum Scan {
    /// The value ends just before this index.
    Done(usize),
    /// Not complete; resume the scan at this index.
    More(usize),
    /// The bracket at this index nests too deep.
    TooDeep(usize),
}

/// A number or literal from `from`: it ends before the first byte that cannot continue it
/// (serde_json decides whether it is valid).
fn scan_scalar(bytes: &[u8], from: usize) -> Scan {
    let rest = bytes.get(from..).unwrap_or_default();
    match rest.iter().position(|byte| !is_scalar_byte(*byte)) {
        Some(len) => Scan::Done(from + len),
        None => Scan::More(bytes.len()),
    }
}

/// The index of the first `"` or `\` at or after `from`: the bytes that end a string or
/// escape the next one. Most of a list's bytes are inside strings, so this is the scan's hot
/// loop: eight bytes at a time, each word tested for either byte without a branch per byte
/// (the classic "has a zero byte" test on the word XORed with each), the tail byte by byte.
fn find_quote_or_backslash(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    const BACKSLASHES: u64 = u64::from_ne_bytes([b'\\'; 8]);
    let mut index = from;
    while let Some(chunk) = bytes.get(index..).and_then(<[u8]>::first_chunk::<8>) {
        // Little-endian, so the lowest flagged bit is the first matching byte. The test can flag
        // bytes after a match, never before one, so the lowest is exact.
        let word = u64::from_le_bytes(*chunk);
        let quotes = word ^ QUOTES;
        let backslashes = word ^ BACKSLASHES;
        let found =
            ((quotes.wrapping_sub(ONES) & !quotes) | (backslashes.wrapping_sub(ONES) & !backslashes)) & HIGHS;
        if found != 0 {
            return Some(index + (found.trailing_zeros() / 8) as usize);
        }
        index += 8;
    }
    let rest = bytes.get(index..)?;
    rest.iter()
        .position(|&byte| byte == b'"' || byte == b'\\')
        .map(|at| index + at)
}

/// The end of a string whose opening quote is before `from`: `Ok` with the index past its
/// closing quote, or `Err` with where to resume.
fn find_string_end(bytes: &[u8], from: usize) -> Result<usize, usize> {
    let mut index = from;
    loop {
        let Some(at) = find_quote_or_backslash(bytes, index) else {
            return Err(bytes.len());
        };
        if bytes.get(at) == Some(&b'"') {
            return Ok(at + 1);
        }
        if at + 1 >= bytes.len() {
            // The escaped byte has not arrived: resume at the backslash.
            return Err(at);
        }
        index = at + 2;
    }
}

/// Finds the end of an array, object or string kept whole, from `from`, `outer` levels deep,
/// tracking depth outside strings. Only the extent is found here; serde_json checks the value.
fn scan_nested(bytes: &[u8], from: usize, capture: &mut Capture, outer: usize) -> Scan {
    let mut index = from;
    if capture.in_string {
        match find_string_end(bytes, index) {
            Ok(end) => {
                capture.in_string = false;
                if capture.depth == 0 {
                    return Scan::Done(end);
                }
                index = end;
            }
            Err(resume) => return Scan::More(resume),
        }
    }
    // Outside strings a byte at a time: between strings there are only a few bytes (`":`,
    // `,"`, `":{"`), too few for a search to pay for starting.
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'"' => match find_string_end(bytes, index + 1) {
                Ok(end) => {
                    index = end;
                    continue;
                }
                Err(resume) => {
                    capture.in_string = true;
                    return Scan::More(resume);
                }
            },
            b'{' | b'[' => {
                capture.depth += 1;
                if outer + capture.depth > MAX_DEPTH {
                    return Scan::TooDeep(index);
                }
            }
            b'}' | b']' => {
                capture.depth = capture.depth.saturating_sub(1);
                if capture.depth == 0 {
                    return Scan::Done(index + 1);
                }
            }
            _ => {}
        }
        index += 1;
    }
    Scan::More(bytes.len())
}

/// What the scan of a skipped value expects next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// A value (after whitespace).
    Value,
    /// After `[`: a value or `]`.
    FirstInArray,
    /// After `{`: a key or `}`.
    FirstInObject,
    /// After a `,` in an object: a key.
    Key,
    /// After a key: `:`.
    Colon,
    /// After a value inside an array or object: `,` or its end.
    Next,
    /// Inside a string (a key's or a value's).
    Str { key: bool },
    /// After a backslash in a string.
    Escape { key: bool },
    /// Inside `\uXXXX`, `left` hex digits to go.
    Hex { key: bool, left: u8 },
    /// Inside `true`, `false` or `null`: `word` is the rest of it.
    Literal { word: &'static [u8] },
    /// Inside a number.
    Number(Number),
}

/// Where a number stands in JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Number {
    Minus,
    Zero,
    Integer,
    Dot,
    Fraction,
    Exponent,
    ExponentSign,
    ExponentDigits,
}

impl Number {
    /// Whether the number may end here.
    fn complete(self) -> bool {
        matches!(
            self,
            Number::Zero | Number::Integer | Number::Fraction | Number::ExponentDigits
        )
    }

    /// The state after `byte`, or `None` if `byte` cannot continue the number.
    fn next(self, byte: u8) -> Option<Number> {
        use Number::*;
        Some(match (self, byte) {
            (Minus, b'0') => Zero,
            (Minus, b'1'..=b'9') => Integer,
            (Integer, b'0'..=b'9') => Integer,
            (Zero | Integer, b'.') => Dot,
            (Dot | Fraction, b'0'..=b'9') => Fraction,
            (Zero | Integer | Fraction, b'e' | b'E') => Exponent,
            (Exponent, b'+' | b'-') => ExponentSign,
            (Exponent | ExponentSign | ExponentDigits, b'0'..=b'9') => ExponentDigits,
            _ => return None,
        })
    }
}

/// Why a skipped value is refused.
enum SkipFault {
    Malformed(MalformedReason),
    TooDeep,
}

enum SkipStep {
    /// The value is complete after this many bytes.
    Done(usize),
    /// All these bytes belong to the value; it goes on.
    More(usize),
}

/// Checks a value that is not kept (under `kind`, `apiVersion` or an unknown key) byte by byte
/// as it passes, as strictly as serde_json checks a value it ignores: the grammar, escapes and
/// control characters, but not UTF-8 (serde_json does not look at it in skipped strings either).
#[derive(Debug, Clone, Copy)]
struct Skipper {
    /// The open arrays and objects, innermost in bit 0: set for an object.
    open: u128,
    /// How many are open.
    depth: usize,
    token: Token,
    /// Bytes of the value so far.
    len: usize,
}

impl Skipper {
    fn new() -> Self {
        Self {
            open: 0,
            depth: 0,
            token: Token::Value,
            len: 0,
        }
    }

    /// A value ended: the whole skipped value, or one inside it.
    fn value_done(&mut self) -> bool {
        self.token = Token::Next;
        self.depth == 0
    }

    fn innermost_is_object(&self) -> bool {
        self.open & 1 == 1
    }

    /// Scans `bytes`, the next bytes of the value, which sits `outer` levels deep.
    fn scan(&mut self, bytes: &[u8], outer: usize) -> Result<SkipStep, (usize, SkipFault)> {
        use MalformedReason as R;
        let fault = |index: usize, reason| Err((index, SkipFault::Malformed(reason)));
        let mut index = 0;
        while let Some(&byte) = bytes.get(index) {
            match self.token {
                Token::Str { key } => {
                    let rest = bytes.get(index..).unwrap_or_default();
                    let Some(at) = rest
                        .iter()
                        .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
                    else {
                        return Ok(SkipStep::More(bytes.len()));
                    };
                    index += at;
                    match rest.get(at) {
                        Some(b'"') => {
                            index += 1;
                            if key {
                                self.token = Token::Colon;
                            } else if self.value_done() {
                                return Ok(SkipStep::Done(index));
                            }
                        }
                        Some(b'\\') => {
                            index += 1;
                            self.token = Token::Escape { key };
                        }
                        _ => return fault(index, R::ControlCharacter),
                    }
                    continue;
                }
                Token::Escape { key } => match byte {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.token = Token::Str { key },
                    b'u' => self.token = Token::Hex { key, left: 4 },
                    _ => return fault(index, R::InvalidEscape),
                },
                Token::Hex { key, left } => {
                    if !byte.is_ascii_hexdigit() {
                        return fault(index, R::InvalidEscape);
                    }
                    self.token = match left {
                        0 | 1 => Token::Str { key },
                        _ => Token::Hex { key, left: left - 1 },
                    };
                }
                Token::Literal { word } => match word.split_first() {
                    Some((&expected, rest)) if expected == byte => {
                        if rest.is_empty() {
                            if self.value_done() {
                                return Ok(SkipStep::Done(index + 1));
                            }
                        } else {
                            self.token = Token::Literal { word: rest };
                        }
                    }
                    _ => return fault(index, R::InvalidLiteral),
                },
                Token::Number(number) => match number.next(byte) {
                    Some(next) => self.token = Token::Number(next),
                    // A leading zero is refused at the digit after it, as serde_json does.
                    None if number == Number::Zero && byte.is_ascii_digit() => {
                        return fault(index, R::InvalidNumber);
                    }
                    None if number.complete() => {
                        // The byte after a number is not part of it: look at it again as
                        // whatever follows the value.
                        if self.value_done() {
                            return Ok(SkipStep::Done(index));
                        }
                        continue;
                    }
                    None => return fault(index, R::InvalidNumber),
                },
                _ if is_whitespace(byte) => {}
                Token::Value | Token::FirstInArray => match byte {
                    b']' if self.token == Token::FirstInArray => {
                        if self.close() {
                            return Ok(SkipStep::Done(index + 1));
                        }
                    }
                    b'{' | b'[' => {
                        if outer + self.depth + 1 > MAX_DEPTH || self.depth >= 128 {
                            return Err((index, SkipFault::TooDeep));
                        }
                        self.open = (self.open << 1) | u128::from(byte == b'{');
                        self.depth += 1;
                        self.token = if byte == b'{' {
                            Token::FirstInObject
                        } else {
                            Token::FirstInArray
                        };
                    }
                    b'"' => self.token = Token::Str { key: false },
                    b't' => self.token = Token::Literal { word: b"rue" },
                    b'f' => self.token = Token::Literal { word: b"alse" },
                    b'n' => self.token = Token::Literal { word: b"ull" },
                    b'-' => self.token = Token::Number(Number::Minus),
                    b'0' => self.token = Token::Number(Number::Zero),
                    b'1'..=b'9' => self.token = Token::Number(Number::Integer),
                    _ => return fault(index, R::ExpectedValue),
                },
                Token::FirstInObject | Token::Key => match byte {
                    b'"' => self.token = Token::Str { key: true },
                    b'}' if self.token == Token::FirstInObject => {
                        if self.close() {
                            return Ok(SkipStep::Done(index + 1));
                        }
                    }
                    _ => return fault(index, R::ExpectedKey),
                },
                Token::Colon => match byte {
                    b':' => self.token = Token::Value,
                    _ => return fault(index, R::ExpectedColon),
                },
                Token::Next => {
                    let object = self.innermost_is_object();
                    match byte {
                        b',' => self.token = if object { Token::Key } else { Token::Value },
                        b'}' if object => {
                            if self.close() {
                                return Ok(SkipStep::Done(index + 1));
                            }
                        }
                        b']' if !object => {
                            if self.close() {
                                return Ok(SkipStep::Done(index + 1));
                            }
                        }
                        _ => return fault(index, R::ExpectedCommaOrEnd),
                    }
                }
            }
            index += 1;
        }
        Ok(SkipStep::More(bytes.len()))
    }

    /// Closes the innermost array or object, which is a value that ended.
    fn close(&mut self) -> bool {
        self.open >>= 1;
        self.depth = self.depth.saturating_sub(1);
        self.value_done()
    }
}

#[cfg(test)]
mod tests;
