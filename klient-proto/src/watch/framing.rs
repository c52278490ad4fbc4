//! Splitting a JSON watch stream into events.
//!
//! The API server writes JSON objects back to back, usually with a newline after each. When an
//! event is already whole in the buffer serde_json parses it and finds its end in one pass;
//! otherwise the decoder finds where it ends by tracking brace depth outside strings, keeping
//! its scan position between calls so that each byte is scanned once however the stream is
//! sliced, then hands the complete object to serde_json.

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use super::event::{EventError, WatchEvent, decode_event};
use super::stream_buffer::StreamBuffer;

/// Default limit on one event's size: far above the API server's own object size limits.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;

/// An incremental decoder for a JSON watch stream.
///
/// Feed bytes with [`handle_bytes`](Self::handle_bytes) and the end of the stream with
/// [`handle_eof`](Self::handle_eof); drain events with [`poll_event`](Self::poll_event) until it
/// returns `Ok(None)` (more bytes needed, or the stream is over).
///
/// ```
/// use klient_proto::watch::{EventDecoder, WatchEvent};
///
/// let mut decoder = EventDecoder::<serde_json::Value>::new();
/// decoder.handle_bytes(br#"{"type":"ADDED","object":{"n":1}}"#);
/// decoder.handle_bytes(b"\n{\"type\":\"DELE");
/// assert!(matches!(decoder.poll_event(), Ok(Some(WatchEvent::Added(_)))));
/// assert!(matches!(decoder.poll_event(), Ok(None)));
/// decoder.handle_bytes(br#"TED","object":{"n":1}}"#);
/// assert!(matches!(decoder.poll_event(), Ok(Some(WatchEvent::Deleted(_)))));
/// ```
pub struct EventDecoder<K> {
    /// Received bytes; `input.start` is where the current object (or whitespace before it) begins.
    input: StreamBuffer,
    /// How far the current object has been scanned.
    scanned: usize,
    /// Brace depth of the current object; 0 between objects.
    depth: usize,
    in_string: bool,
    /// A backslash inside a string was the last byte seen: the next byte is escaped.
    escape_pending: bool,
    /// Stream offset of `buffer[0]`, for error reports.
    offset: u64,
    max_event_size: usize,
    _event: PhantomData<fn() -> K>,
}

/// Why a watch stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// One event is larger than the limit. The stream cannot be resynchronised: fatal.
    EventTooLarge {
        /// Bytes of the event seen so far.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A byte other than whitespace or `{` between events. Fatal.
    NotAnObject {
        /// Offset of the byte in the stream.
        offset: u64,
        /// The byte.
        byte: u8,
    },
    /// The stream ended inside an event. Fatal.
    Truncated {
        /// Bytes of the incomplete event.
        len: usize,
    },
    /// A complete object could not be turned into an event. The decoder goes on with the next.
    Event(EventError),
    /// A protobuf frame's length prefix announces more than the limit. Fatal: refused before
    /// its bytes are buffered.
    FrameTooLarge {
        /// The length the frame announces.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The server answered the watch in a media type the objects cannot be read from
    /// (protobuf for a kind without a protobuf form). Fatal.
    UnsupportedContentType {
        /// The response's `Content-Type`.
        content_type: String,
    },
}

impl DecodeError {
    /// Whether the decoder gave up on the stream: it yields nothing more.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, Self::Event(_))
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EventTooLarge { len, max } => {
                write!(
                    f,
                    "watch event of at least {len} bytes exceeds the limit of {max}"
                )
            }
            Self::NotAnObject { offset, byte } => write!(
                f,
                "watch stream has byte 0x{byte:02x} at offset {offset} where an object must start"
            ),
            Self::Truncated { len } => {
                write!(f, "watch stream ended inside an event ({len} bytes)")
            }
            Self::Event(error) => error.fmt(f),
            Self::FrameTooLarge { len, max } => write!(
                f,
                "protobuf watch frame of {len} bytes exceeds the limit of {max}"
            ),
            Self::UnsupportedContentType { content_type } => write!(
                f,
                "watch stream is {content_type:?}, which the watched objects cannot be read from"
            ),
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Event(error) => Some(error),
            _ => None,
        }
    }
}

impl<K> Default for EventDecoder<K> {
    fn default() -> Self {
        Self::with_max_event_size(DEFAULT_MAX_EVENT_SIZE)
    }
}

impl<K> fmt::Debug for EventDecoder<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventDecoder")
            .field("buffered", &self.buffered())
            .field("depth", &self.depth)
            .field("max_event_size", &self.max_event_size)
            .field("eof", &self.input.eof)
            .field("failed", &self.input.failed)
            .finish()
    }
}

impl<K> EventDecoder<K> {
    /// A decoder with the [default event size limit](DEFAULT_MAX_EVENT_SIZE).
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder that rejects events larger than `max_event_size` bytes.
    pub fn with_max_event_size(max_event_size: usize) -> Self {
        Self {
            input: StreamBuffer::default(),
            scanned: 0,
            depth: 0,
            in_string: false,
            escape_pending: false,
            offset: 0,
            max_event_size,
            _event: PhantomData,
        }
    }

    /// The limit on one event's size.
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
        self.scanned = 0;
        Err(error)
    }

    /// Drops consumed bytes so the buffer holds at most one partial event.
    fn compact(&mut self) {
        let dropped = self.input.drop_consumed();
        self.offset += dropped as u64;
        self.scanned -= dropped;
    }

    /// Scans from `self.scanned` for the end of the current object, returning the index just
    /// past its closing brace. A plain byte loop: JSON from the API server has a quote every few
    /// bytes, too dense for a vectorised search to pay for its per-call setup.
    fn find_object_end(&mut self) -> Option<usize> {
        let from = self.scanned;
        let rest = self.input.bytes.get(from..).unwrap_or_default();
        let (mut depth, mut in_string, mut escape) = (self.depth, self.in_string, self.escape_pending);
        let mut end = None;
        for (index, &byte) in rest.iter().enumerate() {
            if escape {
                escape = false;
            } else if in_string {
                match byte {
                    b'"' => in_string = false,
                    b'\\' => escape = true,
                    _ => {}
                }
            } else {
                match byte {
                    b'"' => in_string = true,
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(from + index + 1);
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        (self.depth, self.in_string, self.escape_pending) = (depth, in_string, escape);
        self.scanned = end.unwrap_or(self.input.bytes.len());
        end
    }
}

impl<K: DeserializeOwned> EventDecoder<K> {
    /// The fast path, tried once per event: when the buffer already holds the whole event,
    /// serde_json parses it and finds its end in the same pass. Anything else (incomplete,
    /// invalid) returns `None` and the scanner takes over, so errors are always decided on the
    /// scanned frame and do not depend on how the stream was split.
    fn parse_complete_event(&mut self) -> Result<Option<WatchEvent<K>>, DecodeError> {
        let rest = self.input.bytes.get(self.input.start..).unwrap_or_default();
        let mut events = serde_json::Deserializer::from_slice(rest).into_iter::<WatchEvent<K>>();
        let Some(Ok(event)) = events.next() else {
            return Ok(None);
        };
        let len = events.byte_offset();
        if len > self.max_event_size {
            let max = self.max_event_size;
            return self.fatal(DecodeError::EventTooLarge { len, max });
        }
        self.input.start += len;
        self.scanned = self.input.start;
        Ok(Some(event))
    }

    /// The next event, `Ok(None)` when more bytes are needed (or the stream is over), or an
    /// error. After a [fatal](DecodeError::is_fatal) error it returns `Ok(None)` for good.
    pub fn poll_event(&mut self) -> Result<Option<WatchEvent<K>>, DecodeError> {
        if self.input.failed {
            return Ok(None);
        }
        if self.depth == 0 {
            // Between objects: skip whitespace, then expect an object to open.
            let rest = self.input.bytes.get(self.input.start..).unwrap_or_default();
            let skipped = rest
                .iter()
                .position(|byte| !matches!(byte, b' ' | b'\t' | b'\n' | b'\r'));
            match skipped {
                None => {
                    self.input.start = self.input.bytes.len();
                    self.scanned = self.input.start;
                    self.compact();
                    return Ok(None);
                }
                Some(skip) => {
                    self.input.start += skip;
                    match rest.get(skip) {
                        Some(b'{') => {
                            if let Some(event) = self.parse_complete_event()? {
                                return Ok(Some(event));
                            }
                            // Incomplete or invalid: find where it ends, bytes as they come.
                            self.depth = 1;
                            self.in_string = false;
                            self.escape_pending = false;
                            self.scanned = self.input.start + 1;
                        }
                        byte => {
                            let error = DecodeError::NotAnObject {
                                offset: self.offset + self.input.start as u64,
                                byte: byte.copied().unwrap_or_default(),
                            };
                            return self.fatal(error);
                        }
                    }
                }
            }
        }
        match self.find_object_end() {
            Some(end) => {
                let len = end - self.input.start;
                if len > self.max_event_size {
                    let max = self.max_event_size;
                    return self.fatal(DecodeError::EventTooLarge { len, max });
                }
                let frame = self.input.bytes.get(self.input.start..end).unwrap_or_default();
                let event = decode_event(frame).map_err(DecodeError::Event);
                self.input.start = end;
                event.map(Some)
            }
            None => {
                let len = self.input.bytes.len() - self.input.start;
                if len > self.max_event_size {
                    let max = self.max_event_size;
                    return self.fatal(DecodeError::EventTooLarge { len, max });
                }
                if self.input.eof {
                    return self.fatal(DecodeError::Truncated { len });
                }
                self.compact();
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ApiError;
    use crate::watch::event::EventType;
    use serde_json::{Value, json};

    fn event(kind: &str, name: &str) -> String {
        format!(r#"{{"type":"{kind}","object":{{"metadata":{{"name":"{name}","note":"a \"}}{{\" \\"}}}}}}"#)
    }

    fn drain(decoder: &mut EventDecoder<Value>) -> Vec<Result<WatchEvent<Value>, DecodeError>> {
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

    fn name(event: &WatchEvent<Value>) -> &str {
        match event {
            WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => {
                o["metadata"]["name"].as_str().unwrap_or("?")
            }
            _ => "-",
        }
    }

    fn stream() -> String {
        [
            event("ADDED", "a"),
            "\n".into(),
            event("MODIFIED", "b"),
            event("DELETED", "c"),
            " \r\n\t ".into(),
            r#"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}"#.into(),
            "\n".into(),
        ]
        .concat()
    }

    fn names(events: &[Result<WatchEvent<Value>, DecodeError>]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                Ok(event) => name(event).to_owned(),
                Err(error) => format!("error: {error}"),
            })
            .collect()
    }

    #[test]
    fn several_events_in_one_slice() {
        let mut decoder = EventDecoder::new();
        decoder.handle_bytes(stream().as_bytes());
        decoder.handle_eof();
        let events = drain(&mut decoder);
        assert_eq!(names(&events), ["a", "b", "c", "-"]);
        assert!(matches!(&events[1], Ok(WatchEvent::Modified(_))));
        assert!(matches!(&events[3], Ok(WatchEvent::Bookmark(b)) if b.resource_version == "9"));
        assert!(decoder.is_finished());
    }

    #[test]
    fn byte_at_a_time_matches_one_slice() {
        let text = stream();
        let mut decoder = EventDecoder::new();
        let mut events = Vec::new();
        for byte in text.as_bytes() {
            decoder.handle_bytes(std::slice::from_ref(byte));
            events.extend(drain(&mut decoder));
            // Between events only the partial event is kept.
            assert!(decoder.buffered() <= event("MODIFIED", "b").len() + 4);
        }
        decoder.handle_eof();
        events.extend(drain(&mut decoder));
        assert_eq!(names(&events), ["a", "b", "c", "-"]);
        assert!(decoder.is_finished());
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let text = stream();
        for split in 0..=text.len() {
            let (head, tail) = text.as_bytes().split_at(split);
            let mut decoder = EventDecoder::new();
            decoder.handle_bytes(head);
            let mut events = drain(&mut decoder);
            decoder.handle_bytes(tail);
            decoder.handle_eof();
            events.extend(drain(&mut decoder));
            assert_eq!(names(&events), ["a", "b", "c", "-"], "split at {split}");
        }
    }

    #[test]
    fn event_over_the_limit_is_fatal() {
        let big = format!(r#"{{"type":"ADDED","object":{{"data":"{}"}}}}"#, "x".repeat(2000));
        // All at once.
        let mut decoder = EventDecoder::<Value>::with_max_event_size(1000);
        decoder.handle_bytes(big.as_bytes());
        assert!(matches!(
            decoder.poll_event(),
            Err(DecodeError::EventTooLarge { max: 1000, len }) if len > 1000
        ));
        assert!(matches!(decoder.poll_event(), Ok(None)));
        assert!(decoder.is_finished());
        // In small pieces: reported as soon as the partial event passes the limit.
        let mut decoder = EventDecoder::<Value>::with_max_event_size(1000);
        let mut error = None;
        for chunk in big.as_bytes().chunks(7) {
            decoder.handle_bytes(chunk);
            if let Err(e) = decoder.poll_event() {
                error = Some(e);
                break;
            }
            assert!(decoder.buffered() <= 1000);
        }
        assert!(matches!(error, Some(DecodeError::EventTooLarge { len, max: 1000 }) if len <= 1007));
        // Exactly at the limit passes.
        let mut decoder = EventDecoder::<Value>::with_max_event_size(big.len());
        decoder.handle_bytes(big.as_bytes());
        assert!(matches!(decoder.poll_event(), Ok(Some(_))));
    }

    #[test]
    fn malformed_event_is_reported_and_skipped() {
        let mut decoder = EventDecoder::<Value>::new();
        decoder.handle_bytes(br#"{"type":"ADDED","object":{"a":tru}}"#);
        decoder.handle_bytes(br#"{"type":"SPLIT","object":{}}"#);
        decoder.handle_bytes(event("ADDED", "ok").as_bytes());
        let events = drain(&mut decoder);
        assert!(matches!(
            &events[0],
            Err(DecodeError::Event(EventError::Malformed { .. }))
        ));
        assert!(matches!(
            &events[1],
            Err(DecodeError::Event(EventError::UnknownType { event_type })) if event_type == "SPLIT"
        ));
        assert_eq!(names(&events[2..]), ["ok"]);
    }

    #[test]
    fn object_that_does_not_fit_is_typed() {
        #[derive(serde::Deserialize, Debug)]
        struct Named {
            #[allow(dead_code)]
            name: String,
        }
        let mut decoder = EventDecoder::<Named>::new();
        decoder.handle_bytes(br#"{"type":"ADDED","object":{"name":5}}"#);
        assert!(matches!(
            decoder.poll_event(),
            Err(DecodeError::Event(EventError::InvalidObject {
                event_type: EventType::Added,
                ..
            }))
        ));
        decoder.handle_bytes(br#"{"type":"ERROR","object":{"code":500}}"#);
        assert!(matches!(
            decoder.poll_event(),
            Ok(Some(WatchEvent::Error(ApiError { code: 500, .. })))
        ));
    }

    #[test]
    fn non_object_at_top_level_is_fatal() {
        for (input, byte, offset) in [
            (&b"[1]"[..], b'[', 0u64),
            (b"  \n\"x\"", b'"', 3),
            (b"{\"type\":\"ADDED\",\"object\":{}} 5", b'5', 29),
            (b"{\"a\":1}}", b'}', 7),
        ] {
            let mut decoder = EventDecoder::<Value>::new();
            let mut errors = Vec::new();
            for b in input {
                decoder.handle_bytes(std::slice::from_ref(b));
                errors.extend(
                    drain(&mut decoder)
                        .into_iter()
                        .filter_map(Result::err)
                        .filter(DecodeError::is_fatal),
                );
            }
            let error = errors.pop();
            assert!(errors.is_empty());
            assert_eq!(error, Some(DecodeError::NotAnObject { offset, byte }));
            // Bytes after a fatal error are ignored.
            decoder.handle_bytes(event("ADDED", "late").as_bytes());
            assert_eq!(decoder.poll_event(), Ok(None));
        }
    }

    #[test]
    fn truncated_stream_is_its_own_error() {
        let text = event("ADDED", "a");
        let mut decoder = EventDecoder::<Value>::new();
        decoder.handle_bytes(&text.as_bytes()[..text.len() - 1]);
        assert_eq!(decoder.poll_event(), Ok(None));
        decoder.handle_eof();
        assert_eq!(
            decoder.poll_event(),
            Err(DecodeError::Truncated { len: text.len() - 1 })
        );
        assert!(decoder.is_finished());
        // A stream that ends between events is not truncated.
        let mut decoder = EventDecoder::<Value>::new();
        decoder.handle_bytes(format!("{text}\n  ").as_bytes());
        decoder.handle_eof();
        assert!(matches!(decoder.poll_event(), Ok(Some(_))));
        assert_eq!(decoder.poll_event(), Ok(None));
        assert!(decoder.is_finished());
        // Truncated inside a string right after a backslash.
        let mut decoder = EventDecoder::<Value>::new();
        decoder.handle_bytes(br#"{"type":"ADDED","object":{"a":"\"#);
        decoder.handle_eof();
        assert!(matches!(decoder.poll_event(), Err(DecodeError::Truncated { .. })));
    }

    #[test]
    fn braces_inside_strings_and_escapes() {
        let text = r#"{"type":"ADDED","object":{"k":"}}}\\","l":"\\\"{{","m":["}"]}}"#;
        for chunk in 1..text.len() {
            let mut decoder = EventDecoder::<Value>::new();
            let mut events = Vec::new();
            for piece in text.as_bytes().chunks(chunk) {
                decoder.handle_bytes(piece);
                events.extend(drain(&mut decoder));
            }
            assert_eq!(
                events,
                [Ok(WatchEvent::Added(
                    json!({"k": "}}}\\", "l": "\\\"{{", "m": ["}"]})
                ))],
                "chunk size {chunk}"
            );
        }
    }
}
