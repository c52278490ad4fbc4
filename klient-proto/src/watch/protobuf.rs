//! Splitting a protobuf watch stream (`application/vnd.kubernetes.protobuf;stream=watch`) into
//! events.
//!
//! Each frame is a 4-byte big-endian length, then that many bytes of a bare `metav1.WatchEvent`
//! (no magic, no envelope: the server writes events with its raw protobuf serializer):
//!
//! ```text
//! message WatchEvent { string type = 1; runtime.RawExtension object = 2; }
//! message RawExtension { bytes raw = 1; }
//! ```
//!
//! `object.raw` holds the object enveloped as a whole response body is (magic `k8s\0` and
//! `runtime.Unknown`), written by the server's regular protobuf serializer: a `Pod` for ADDED,
//! MODIFIED, DELETED and BOOKMARK, a `Status` for ERROR.

use std::collections::BTreeMap;
use std::fmt;

use super::event::{Bookmark, EventError, EventType, WatchEvent, error_event, unknown_type};
use super::framing::{DEFAULT_MAX_EVENT_SIZE, DecodeError};
use super::stream_buffer::StreamBuffer;
use crate::api::ProtobufCodec;
use crate::api::messages::decode_status_envelope;
use crate::protobuf::{Envelope, FieldContext, ProtobufError, Reader, Value, WireType, merge_map_entry};

/// Bytes of the length prefix of each frame.
const LENGTH_PREFIX: usize = 4;

/// An incremental decoder for a protobuf watch stream, objects decoded with `K`'s
/// [`ProtobufCodec`].
///
/// Same shape as the JSON [`EventDecoder`](super::EventDecoder): feed bytes with
/// [`handle_bytes`](Self::handle_bytes) and the end of the stream with
/// [`handle_eof`](Self::handle_eof), drain events with [`poll_event`](Self::poll_event) until it
/// returns `Ok(None)`. A frame whose length exceeds the limit is fatal
/// ([`DecodeError::FrameTooLarge`]), found from its prefix before its bytes are buffered; a frame
/// that does not decode is reported and the stream goes on with the next one.
pub struct ProtobufEventDecoder<K> {
    /// Received bytes; `input.start` is where the current frame begins.
    input: StreamBuffer,
    codec: ProtobufCodec<K>,
    max_event_size: usize,
}

impl<K> fmt::Debug for ProtobufEventDecoder<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtobufEventDecoder")
            .field("kind", &self.codec.kind())
            .field("buffered", &self.buffered())
            .field("max_event_size", &self.max_event_size)
            .field("eof", &self.input.eof)
            .field("failed", &self.input.failed)
            .finish()
    }
}

impl<K> ProtobufEventDecoder<K> {
    /// A decoder with the [default event size limit](DEFAULT_MAX_EVENT_SIZE).
    pub fn new(codec: ProtobufCodec<K>) -> Self {
        Self::with_max_event_size(codec, DEFAULT_MAX_EVENT_SIZE)
    }

    /// A decoder that rejects frames longer than `max_event_size` bytes.
    pub fn with_max_event_size(codec: ProtobufCodec<K>, max_event_size: usize) -> Self {
        ProtobufEventDecoder {
            input: StreamBuffer::default(),
            codec,
            max_event_size,
        }
    }

    /// The limit on one frame's length.
    pub fn max_event_size(&self) -> usize {
        self.max_event_size
    }

    /// Bytes received and not yet consumed as events.
    pub fn buffered(&self) -> usize {
        self.input.buffered()
    }

    /// Whether the stream is over: it ended cleanly and every event was polled, or a fatal
    /// error was reported.
    pub fn is_finished(&self) -> bool {
        self.input.is_finished()
    }

    /// Takes bytes received from the network. Bytes after the end of the stream or after a
    /// fatal error are ignored.
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        self.input.push(bytes);
    }

    /// Takes the end of the stream.
    pub fn handle_eof(&mut self) {
        self.input.eof = true;
    }

    fn fatal(&mut self, error: DecodeError) -> Result<Option<WatchEvent<K>>, DecodeError> {
        self.input.fail();
        Err(error)
    }

    /// Drops consumed bytes, so the buffer holds at most the current frame.
    fn compact(&mut self) {
        self.input.drop_consumed();
    }

    /// More bytes are needed for the current frame: wait for them, or fail at the end of stream.
    fn need_more(&mut self) -> Result<Option<WatchEvent<K>>, DecodeError> {
        let len = self.buffered();
        if self.input.eof && len > 0 {
            return self.fatal(DecodeError::Truncated { len });
        }
        self.compact();
        Ok(None)
    }

    /// The next event, `Ok(None)` when more bytes are needed (or the stream is over), or an
    /// error. After a [fatal](DecodeError::is_fatal) error it returns `Ok(None)` for good.
    pub fn poll_event(&mut self) -> Result<Option<WatchEvent<K>>, DecodeError> {
        if self.input.failed {
            return Ok(None);
        }
        let rest = self.input.bytes.get(self.input.start..).unwrap_or_default();
        let Some((prefix, after)) = rest.split_first_chunk::<LENGTH_PREFIX>() else {
            return self.need_more();
        };
        let declared = u32::from_be_bytes(*prefix);
        let len = usize::try_from(declared).unwrap_or(usize::MAX);
        if len > self.max_event_size {
            let max = self.max_event_size;
            return self.fatal(DecodeError::FrameTooLarge { len, max });
        }
        let Some(frame) = after.get(..len) else {
            return self.need_more();
        };
        let event = decode_event_frame(frame, &self.codec);
        self.input.start += LENGTH_PREFIX + len;
        event.map(Some).map_err(DecodeError::Event)
    }
}

/// Decodes one frame's `WatchEvent`, its object decoded with `codec`.
pub fn decode_event_frame<K>(frame: &[u8], codec: &ProtobufCodec<K>) -> Result<WatchEvent<K>, EventError> {
    let (event_type, raw) = split_event(frame).map_err(malformed)?;
    let event_type = event_type.ok_or(EventError::MissingField { field: "type" })?;
    let event_type = EventType::parse(event_type).ok_or_else(|| unknown_type(event_type))?;
    let raw = raw.ok_or(EventError::MissingField { field: "object" })?;
    let invalid = |error: ProtobufError| EventError::InvalidObject {
        event_type,
        reason: error.to_string(),
    };
    Ok(match event_type {
        EventType::Added => WatchEvent::Added(codec.decode(raw).map_err(invalid)?),
        EventType::Modified => WatchEvent::Modified(codec.decode(raw).map_err(invalid)?),
        EventType::Deleted => WatchEvent::Deleted(codec.decode(raw).map_err(invalid)?),
        EventType::Bookmark => WatchEvent::Bookmark(decode_bookmark(raw).map_err(invalid)?),
        EventType::Error => {
            let status = Envelope::decode(raw)
                .and_then(|envelope| decode_status_envelope(&envelope))
                .map_err(invalid)?;
            error_event(status)
        }
    })
}

fn malformed(error: ProtobufError) -> EventError {
    EventError::Malformed {
        reason: error.to_string(),
    }
}

/// The event's type and its object's raw (enveloped) bytes, each `None` when absent.
fn split_event(frame: &[u8]) -> Result<(Option<&str>, Option<&[u8]>), ProtobufError> {
    let (mut event_type, mut raw) = (None, None);
    let mut reader = Reader::new(frame);
    while let Some((field, wire_type)) = reader.next_tag()? {
        match (field, wire_type) {
            (1, WireType::Len) => {
                let text =
                    std::str::from_utf8(reader.len_delimited()?).map_err(|_| ProtobufError::InvalidUtf8 {
                        message: "metav1.WatchEvent",
                        field,
                    })?;
                event_type = Some(text);
            }
            (2, WireType::Len) => {
                let mut extension = reader.nested()?;
                while let Some((field, wire_type)) = extension.next_tag()? {
                    match (field, wire_type) {
                        (1, WireType::Len) => raw = Some(extension.len_delimited()?),
                        (1, _) => return Err(wrong_wire_type("runtime.RawExtension", field, wire_type)),
                        _ => extension.skip(wire_type)?,
                    }
                }
            }
            (1 | 2, _) => return Err(wrong_wire_type("metav1.WatchEvent", field, wire_type)),
            _ => reader.skip(wire_type)?,
        }
    }
    Ok((event_type, raw))
}

fn wrong_wire_type(message: &'static str, field: u32, wire_type: WireType) -> ProtobufError {
    ProtobufError::WrongWireType {
        message,
        field,
        wire_type: wire_type as u8,
    }
}

/// A bookmark's object is an object of the watched kind holding only `metadata.resourceVersion`
/// (and annotations). Every kind's message has `ObjectMeta metadata = 1`, so it is read from
/// there, whatever the kind:
/// `message ObjectMeta { ...; string resourceVersion = 6; ...; map<string, string> annotations = 12; ... }`.
fn decode_bookmark(raw: &[u8]) -> Result<Bookmark, ProtobufError> {
    let envelope = Envelope::decode(raw)?;
    let mut resource_version = None;
    let mut annotations = BTreeMap::new();
    let mut object = Reader::new(envelope.raw);
    while let Some((field, wire_type)) = object.next_tag()? {
        if field != 1 {
            object.skip(wire_type)?;
            continue;
        }
        if wire_type != WireType::Len {
            return Err(wrong_wire_type("bookmark object", field, wire_type));
        }
        let mut metadata = object.nested()?;
        while let Some((field, wire_type)) = metadata.next_tag()? {
            let context = FieldContext {
                message: "metav1.ObjectMeta",
                field,
            };
            match field {
                6 => resource_version = Some(String::decode_value(context, wire_type, &mut metadata)?),
                12 => merge_map_entry(&mut annotations, context, wire_type, &mut metadata)?,
                _ => metadata.skip(wire_type)?,
            }
        }
    }
    // As in JSON, a bookmark without a resourceVersion is no bookmark.
    let resource_version = resource_version.ok_or_else(|| ProtobufError::InvalidValue {
        type_name: "bookmark",
        reason: "metadata.resourceVersion is missing".into(),
    })?;
    Ok(Bookmark {
        resource_version,
        annotations,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::api::format::tests::{Widget, codec, widget};
    use crate::api::{Status as ApiStatus, encode_status};
    use crate::protobuf::{Writer, encode_enveloped};

    /// One frame of a protobuf watch stream, as the server writes it.
    pub(crate) fn frame(event_type: &str, object: &[u8]) -> Vec<u8> {
        let mut writer = Writer::new();
        writer.put_nested(2, |writer| writer.put_bytes_field(1, object));
        writer.put_bytes_field(1, event_type.as_bytes());
        let event = writer.into_vec();
        let mut frame = (event.len() as u32).to_be_bytes().to_vec();
        frame.extend(event);
        frame
    }

    /// A bookmark's object: a Widget-kind envelope whose message holds only ObjectMeta.
    pub(crate) fn bookmark_object(resource_version: &str, annotations: &[(&str, &str)]) -> Vec<u8> {
        encode_enveloped("example.com/v1", "Widget", |writer| {
            writer.put_nested(1, |writer| {
                for (key, value) in annotations.iter().rev() {
                    writer.put_nested(12, |writer| {
                        writer.put_bytes_field(2, value.as_bytes());
                        writer.put_bytes_field(1, key.as_bytes());
                    });
                }
                writer.put_bytes_field(6, resource_version.as_bytes());
                writer.put_bytes_field(1, b"");
            })
        })
    }

    pub(crate) fn added(name: &str, size: i64) -> Vec<u8> {
        frame("ADDED", &codec().encode(&widget(name, size)))
    }

    fn expired_status() -> ApiStatus {
        ApiStatus {
            status: Some("Failure".into()),
            message: Some("too old resource version: 1 (5)".into()),
            reason: Some("Expired".into()),
            details: None,
            code: Some(410),
        }
    }

    fn expired() -> Vec<u8> {
        frame("ERROR", &encode_status(&expired_status()))
    }

    fn stream() -> Vec<u8> {
        [
            added("a", 1),
            frame("MODIFIED", &codec().encode(&widget("a", 2))),
            frame("DELETED", &codec().encode(&widget("a", 2))),
            frame(
                "BOOKMARK",
                &bookmark_object("77", &[("k8s.io/initial-events-end", "true")]),
            ),
            expired(),
        ]
        .concat()
    }

    fn expected() -> Vec<WatchEvent<Widget>> {
        vec![
            WatchEvent::Added(widget("a", 1)),
            WatchEvent::Modified(widget("a", 2)),
            WatchEvent::Deleted(widget("a", 2)),
            WatchEvent::Bookmark(Bookmark {
                resource_version: "77".into(),
                annotations: [("k8s.io/initial-events-end".to_owned(), "true".to_owned())].into(),
            }),
            WatchEvent::Error(crate::api::ApiError::from_status(0, expired_status())),
        ]
    }

    fn drain(decoder: &mut ProtobufEventDecoder<Widget>) -> Vec<Result<WatchEvent<Widget>, DecodeError>> {
        let mut out = Vec::new();
        loop {
            match decoder.poll_event() {
                Ok(None) => return out,
                Ok(Some(event)) => out.push(Ok(event)),
                Err(error) => {
                    let fatal = error.is_fatal();
                    out.push(Err(error));
                    if fatal {
                        return out;
                    }
                }
            }
        }
    }

    #[test]
    fn every_event_type_decodes() {
        let mut decoder = ProtobufEventDecoder::new(codec());
        decoder.handle_bytes(&stream());
        decoder.handle_eof();
        let events: Vec<_> = drain(&mut decoder).into_iter().map(Result::unwrap).collect();
        assert_eq!(events, expected());
        let WatchEvent::Bookmark(bookmark) = &events[3] else {
            panic!("not a bookmark");
        };
        assert!(bookmark.is_initial_events_end());
        assert!(matches!(&events[4], WatchEvent::Error(error) if error.is_expired() && error.code == 410));
        assert!(decoder.is_finished());
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let bytes = stream();
        for split in 0..=bytes.len() {
            let (head, tail) = bytes.split_at(split);
            let mut decoder = ProtobufEventDecoder::new(codec());
            decoder.handle_bytes(head);
            let mut events = drain(&mut decoder);
            decoder.handle_bytes(tail);
            decoder.handle_eof();
            events.extend(drain(&mut decoder));
            let events: Vec<_> = events.into_iter().map(Result::unwrap).collect();
            assert_eq!(events, expected(), "split at {split}");
        }
    }

    #[test]
    fn byte_by_byte_keeps_only_the_current_frame() {
        let bytes = stream();
        let longest = [added("a", 1), expired()]
            .iter()
            .map(Vec::len)
            .max()
            .unwrap_or(0)
            .max(64);
        let mut decoder = ProtobufEventDecoder::new(codec());
        let mut events = Vec::new();
        for byte in &bytes {
            decoder.handle_bytes(std::slice::from_ref(byte));
            events.extend(drain(&mut decoder).into_iter().map(Result::unwrap));
            assert!(decoder.buffered() <= longest, "{}", decoder.buffered());
        }
        assert_eq!(events, expected());
        assert!(!decoder.is_finished());
        decoder.handle_eof();
        assert!(drain(&mut decoder).is_empty());
        assert!(decoder.is_finished());
    }

    #[test]
    fn a_frame_over_the_limit_is_fatal_before_it_is_buffered() {
        let big = frame("ADDED", &codec().encode(&widget(&"x".repeat(2000), 1)));
        let mut decoder = ProtobufEventDecoder::with_max_event_size(codec(), 1000);
        assert_eq!(decoder.max_event_size(), 1000);
        // Only the length prefix has arrived: that is enough to know.
        decoder.handle_bytes(&big[..4]);
        let declared = big.len() - 4;
        assert_eq!(
            decoder.poll_event(),
            Err(DecodeError::FrameTooLarge {
                len: declared,
                max: 1000
            })
        );
        assert!(decoder.is_finished());
        decoder.handle_bytes(&added("late", 1));
        assert_eq!(decoder.poll_event(), Ok(None));
        assert_eq!(decoder.buffered(), 0);
        // A hostile prefix announcing 4 GiB is refused the same way.
        let mut decoder = ProtobufEventDecoder::new(codec());
        decoder.handle_bytes(&[0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(
            decoder.poll_event(),
            Err(DecodeError::FrameTooLarge { .. })
        ));
        // Exactly at the limit passes.
        let mut decoder = ProtobufEventDecoder::with_max_event_size(codec(), declared);
        decoder.handle_bytes(&big);
        assert!(matches!(decoder.poll_event(), Ok(Some(WatchEvent::Added(_)))));
    }

    #[test]
    fn a_stream_cut_inside_a_frame_is_truncated() {
        let one = added("a", 1);
        for cut in 1..one.len() {
            let mut decoder = ProtobufEventDecoder::new(codec());
            decoder.handle_bytes(&one[..cut]);
            assert_eq!(decoder.poll_event(), Ok(None));
            decoder.handle_eof();
            assert_eq!(decoder.poll_event(), Err(DecodeError::Truncated { len: cut }));
            assert!(decoder.is_finished());
        }
    }

    #[test]
    fn a_bad_frame_is_reported_and_the_stream_goes_on() {
        let gadget = encode_enveloped("example.com/v1", "Gadget", |_| {});
        let mut not_utf8 = frame("ADDED", b"");
        not_utf8[6] = 0xff;
        let bytes = [
            frame("RENAMED", &codec().encode(&widget("a", 1))),
            frame("ADDED", &gadget),
            frame("BOOKMARK", &bookmark_object("", &[])[..8]),
            frame("", &[]),
            (3u32.to_be_bytes().iter().chain(&[0x0a, 0x05, b'A']))
                .copied()
                .collect(),
            not_utf8,
            added("b", 2),
        ]
        .concat();
        let mut decoder = ProtobufEventDecoder::new(codec());
        decoder.handle_bytes(&bytes);
        let events = drain(&mut decoder);
        assert_eq!(events.len(), 7, "{events:?}");
        assert!(
            matches!(&events[0], Err(DecodeError::Event(EventError::UnknownType { event_type })) if event_type == "RENAMED")
        );
        assert!(matches!(
            &events[1],
            Err(DecodeError::Event(EventError::InvalidObject {
                event_type: EventType::Added,
                ..
            }))
        ));
        assert!(matches!(
            &events[2],
            Err(DecodeError::Event(EventError::InvalidObject {
                event_type: EventType::Bookmark,
                ..
            }))
        ));
        assert!(matches!(
            &events[3],
            Err(DecodeError::Event(EventError::UnknownType { .. }))
        ));
        assert!(matches!(
            &events[4],
            Err(DecodeError::Event(EventError::Malformed { .. }))
        ));
        assert!(matches!(
            &events[5],
            Err(DecodeError::Event(EventError::Malformed { .. }))
        ));
        assert_eq!(events[6], Ok(WatchEvent::Added(widget("b", 2))));
        assert!(
            events[..6]
                .iter()
                .all(|e| e.as_ref().is_err_and(|e| !e.is_fatal()))
        );
    }

    #[test]
    fn missing_fields_are_named() {
        let mut writer = Writer::new();
        writer.put_bytes_field(1, b"ADDED");
        assert_eq!(
            decode_event_frame(&writer.into_vec(), &codec()),
            Err(EventError::MissingField { field: "object" })
        );
        let mut writer = Writer::new();
        writer.put_nested(2, |writer| writer.put_bytes_field(1, b"x"));
        assert_eq!(
            decode_event_frame(&writer.into_vec(), &codec()),
            Err(EventError::MissingField { field: "type" })
        );
        // Unknown fields of the event and of the extension are skipped.
        let object = codec().encode(&widget("a", 1));
        let mut writer = Writer::new();
        writer.put_bytes_field(9, b"future");
        writer.put_nested(2, |writer| {
            writer.put_bytes_field(2, b"future");
            writer.put_bytes_field(1, &object);
        });
        writer.put_bytes_field(1, b"ADDED");
        assert_eq!(
            decode_event_frame(&writer.into_vec(), &codec()),
            Ok(WatchEvent::Added(widget("a", 1)))
        );
    }
}
