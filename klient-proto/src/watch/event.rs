//! One watch event as the API server writes it: `{"type":"ADDED","object":{...}}`.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use crate::api::{ApiError, Status};

use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// The annotation on the BOOKMARK that closes the initial set of a streaming list.
pub const INITIAL_EVENTS_END_ANNOTATION: &str = "k8s.io/initial-events-end";

/// Longest prefix of an unknown event type kept in an error, so a hostile peer cannot make
/// errors as large as events.
const MAX_REPORTED_TYPE_LEN: usize = 64;

/// One event of a watch stream, with objects decoded into `K`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WatchEvent<K> {
    /// `ADDED`: the object was created (or is part of a streaming list's initial set).
    Added(K),
    /// `MODIFIED`: the object changed.
    Modified(K),
    /// `DELETED`: the object was removed; this is its last state.
    Deleted(K),
    /// `BOOKMARK`: the server's progress marker; carries only a resourceVersion.
    Bookmark(Bookmark),
    /// `ERROR`: the server ended the watch with a `metav1.Status`
    /// ([`is_expired`](ApiError::is_expired): the resourceVersion is too old and the client must
    /// list again).
    Error(ApiError),
}

/// The content of a `BOOKMARK` event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bookmark {
    /// The resourceVersion the watch has reached.
    pub resource_version: String,
    /// The bookmark object's annotations (e.g. [`INITIAL_EVENTS_END_ANNOTATION`]).
    pub annotations: BTreeMap<String, String>,
}

impl Bookmark {
    /// Whether this bookmark closes the initial set of a streaming list
    /// (annotation `k8s.io/initial-events-end: "true"`).
    pub fn is_initial_events_end(&self) -> bool {
        self.annotations
            .get(INITIAL_EVENTS_END_ANNOTATION)
            .is_some_and(|value| value == "true")
    }
}

/// The event types the API server writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventType {
    /// `ADDED`
    Added,
    /// `MODIFIED`
    Modified,
    /// `DELETED`
    Deleted,
    /// `BOOKMARK`
    Bookmark,
    /// `ERROR`
    Error,
}

impl EventType {
    pub(super) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "ADDED" => Self::Added,
            "MODIFIED" => Self::Modified,
            "DELETED" => Self::Deleted,
            "BOOKMARK" => Self::Bookmark,
            "ERROR" => Self::Error,
            _ => return None,
        })
    }

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
            Self::Bookmark => "BOOKMARK",
            Self::Error => "ERROR",
        }
    }
}

/// Why one complete JSON object could not be turned into a [`WatchEvent`].
///
/// These errors concern a single event: a decoder that reports one can go on with the next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventError {
    /// The bytes are not valid JSON (syntax error, bad UTF-8, nesting too deep).
    Malformed {
        /// serde_json's description, with line and column.
        reason: String,
    },
    /// The JSON value at the top level is not an object.
    NotAnObject,
    /// The `type` field names no known event type.
    UnknownType {
        /// The type as sent (its first 64 bytes at most).
        event_type: String,
    },
    /// A required field (`type` or `object`) is absent, or appears twice.
    MissingField {
        /// The field's name.
        field: &'static str,
    },
    /// A field appears twice in the event.
    DuplicateField {
        /// The field's name.
        field: &'static str,
    },
    /// `type` is not a string.
    InvalidType {
        /// serde_json's description.
        reason: String,
    },
    /// The `object` does not fit the expected shape for this event type.
    InvalidObject {
        /// The event's type.
        event_type: EventType,
        /// serde_json's description.
        reason: String,
    },
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { reason } => write!(f, "watch event is not valid JSON: {reason}"),
            Self::NotAnObject => write!(f, "watch event is not a JSON object"),
            Self::UnknownType { event_type } => {
                write!(f, "unknown watch event type {event_type:?}")
            }
            Self::MissingField { field } => write!(f, "watch event has no {field:?} field"),
            Self::DuplicateField { field } => write!(f, "watch event has {field:?} twice"),
            Self::InvalidType { reason } => write!(f, "watch event type is invalid: {reason}"),
            Self::InvalidObject { event_type, reason } => write!(
                f,
                "object of {} watch event does not fit: {reason}",
                event_type.as_str()
            ),
        }
    }
}

impl std::error::Error for EventError {}

/// Decodes one complete watch event from its JSON bytes.
///
/// ```
/// use klient_proto::watch::{decode_event, WatchEvent};
/// let event: WatchEvent<serde_json::Value> =
///     decode_event(br#"{"type":"DELETED","object":{"kind":"Pod"}}"#).unwrap();
/// assert!(matches!(event, WatchEvent::Deleted(_)));
/// ```
pub fn decode_event<K: DeserializeOwned>(bytes: &[u8]) -> Result<WatchEvent<K>, EventError> {
    let mut problem = None;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let seed = EventSeed::<K> {
        problem: &mut problem,
        _object: PhantomData,
    };
    let result = seed
        .deserialize(&mut deserializer)
        .and_then(|event| deserializer.end().map(|()| event));
    result.map_err(|error| match error.classify() {
        serde_json::error::Category::Data => problem.unwrap_or(EventError::Malformed {
            reason: error.to_string(),
        }),
        _ => EventError::Malformed {
            reason: error.to_string(),
        },
    })
}

impl<'de, K: DeserializeOwned> Deserialize<'de> for WatchEvent<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut problem = None;
        EventSeed {
            problem: &mut problem,
            _object: PhantomData,
        }
        .deserialize(deserializer)
    }
}

/// Deserializes an event and records a typed reason for a failure in `problem`, because serde's
/// error type can only carry text.
struct EventSeed<'p, K> {
    problem: &'p mut Option<EventError>,
    _object: PhantomData<fn() -> K>,
}

impl<'de, K: DeserializeOwned> DeserializeSeed<'de> for EventSeed<'_, K> {
    type Value = WatchEvent<K>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, K: DeserializeOwned> Visitor<'de> for EventSeed<'_, K> {
    type Value = WatchEvent<K>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a watch event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let problem = self.problem;
        let mut event_type: Option<EventType> = None;
        let mut event: Option<WatchEvent<K>> = None;
        // The object came before the type: keep its raw text until the type is known.
        let mut raw_object: Option<&'de RawValue> = None;
        let mut seen_object = false;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Type => {
                    if event_type.is_some() {
                        return Err(fail(problem, EventError::DuplicateField { field: "type" }));
                    }
                    let text = map.next_value::<TypeName<'de>>().inspect_err(|error| {
                        *problem = Some(EventError::InvalidType {
                            reason: error.to_string(),
                        });
                    })?;
                    let parsed = EventType::parse(text.as_str())
                        .ok_or_else(|| fail(problem, unknown_type(text.as_str())))?;
                    event_type = Some(parsed);
                }
                Field::Object => {
                    if seen_object {
                        return Err(fail(problem, EventError::DuplicateField { field: "object" }));
                    }
                    seen_object = true;
                    match event_type {
                        Some(kind) => {
                            event = Some(map.next_value_seed(ObjectSeed::<K> {
                                kind,
                                problem: &mut *problem,
                                _object: PhantomData,
                            })?);
                        }
                        None => raw_object = Some(map.next_value()?),
                    }
                }
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let Some(kind) = event_type else {
            return Err(fail(problem, EventError::MissingField { field: "type" }));
        };
        if let Some(event) = event {
            return Ok(event);
        }
        let Some(raw) = raw_object else {
            return Err(fail(problem, EventError::MissingField { field: "object" }));
        };
        // From a slice, as every other object is read: a second reader type would compile the
        // whole decoder of `K` a second time into every program.
        let mut deserializer = serde_json::Deserializer::from_slice(raw.get().as_bytes());
        ObjectSeed::<K> {
            kind,
            problem: &mut *problem,
            _object: PhantomData,
        }
        .deserialize(&mut deserializer)
        .map_err(de::Error::custom)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _seq: A) -> Result<Self::Value, A::Error> {
        Err(fail(self.problem, EventError::NotAnObject))
    }

    fn visit_str<E: de::Error>(self, _v: &str) -> Result<Self::Value, E> {
        Err(fail(self.problem, EventError::NotAnObject))
    }

    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<Self::Value, E> {
        Err(fail(self.problem, EventError::NotAnObject))
    }

    fn visit_i64<E: de::Error>(self, _v: i64) -> Result<Self::Value, E> {
        Err(fail(self.problem, EventError::NotAnObject))
    }

    fn visit_u64<E: de::Error>(self, _v: u64) -> Result<Self::Value, E> {
        Err(fail(self.problem, EventError::NotAnObject))
    }

    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Self::Value, E> {
        Err(fail(self.problem, EventError::NotAnObject))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(fail(self.problem, EventError::NotAnObject))
    }
}

/// Records `error` as the typed reason and returns a serde error carrying its text.
fn fail<E: de::Error>(problem: &mut Option<EventError>, error: EventError) -> E {
    let text = error.to_string();
    *problem = Some(error);
    E::custom(text)
}

pub(super) fn unknown_type(text: &str) -> EventError {
    let mut end = text.len().min(MAX_REPORTED_TYPE_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    EventError::UnknownType {
        event_type: text.get(..end).unwrap_or_default().to_owned(),
    }
}

/// The ERROR event carrying `status`. The event has no HTTP status of its own (it arrives inside a
/// 200 stream), so the code is the Status's, 0 when it has none.
pub(super) fn error_event<K>(status: Status) -> WatchEvent<K> {
    WatchEvent::Error(ApiError::from_status(0, status))
}

/// Deserializes the `object` field into the shape its event type calls for.
struct ObjectSeed<'p, K> {
    kind: EventType,
    problem: &'p mut Option<EventError>,
    _object: PhantomData<fn() -> K>,
}

impl<'de, K: DeserializeOwned> DeserializeSeed<'de> for ObjectSeed<'_, K> {
    type Value = WatchEvent<K>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let kind = self.kind;
        let result = match kind {
            EventType::Added => K::deserialize(deserializer).map(WatchEvent::Added),
            EventType::Modified => K::deserialize(deserializer).map(WatchEvent::Modified),
            EventType::Deleted => K::deserialize(deserializer).map(WatchEvent::Deleted),
            EventType::Bookmark => BookmarkObject::deserialize(deserializer).map(|object| {
                WatchEvent::Bookmark(Bookmark {
                    resource_version: object.metadata.resource_version,
                    annotations: object.metadata.annotations.unwrap_or_default(),
                })
            }),
            EventType::Error => Status::deserialize(deserializer).map(error_event),
        };
        result.inspect_err(|error| {
            *self.problem = Some(EventError::InvalidObject {
                event_type: kind,
                reason: error.to_string(),
            });
        })
    }
}

#[derive(Deserialize)]
struct BookmarkObject {
    metadata: BookmarkMetadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BookmarkMetadata {
    resource_version: String,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

/// The top-level keys of an event; other keys are skipped.
enum Field {
    Type,
    Object,
    Other,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
                Ok(match v {
                    "type" => Field::Type,
                    "object" => Field::Object,
                    _ => Field::Other,
                })
            }
        }
        deserializer.deserialize_identifier(FieldVisitor)
    }
}

/// The `type` string, borrowed from the input unless it contains escapes.
enum TypeName<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl TypeName<'_> {
    fn as_str(&self) -> &str {
        match self {
            Self::Borrowed(text) => text,
            Self::Owned(text) => text,
        }
    }
}

impl<'de> Deserialize<'de> for TypeName<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TypeVisitor;
        impl<'de> Visitor<'de> for TypeVisitor {
            type Value = TypeName<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event type string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(TypeName::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(TypeName::Owned(v.to_owned()))
            }
        }
        deserializer.deserialize_str(TypeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn decode(text: &str) -> Result<WatchEvent<Value>, EventError> {
        decode_event(text.as_bytes())
    }

    #[test]
    fn decodes_each_type() {
        let pod = json!({"metadata": {"name": "a"}});
        assert_eq!(
            decode(r#"{"type":"ADDED","object":{"metadata":{"name":"a"}}}"#),
            Ok(WatchEvent::Added(pod.clone()))
        );
        assert_eq!(
            decode(r#"{"type":"MODIFIED","object":{"metadata":{"name":"a"}}}"#),
            Ok(WatchEvent::Modified(pod.clone()))
        );
        assert_eq!(
            decode(r#"{"object":{"metadata":{"name":"a"}},"type":"DELETED"}"#),
            Ok(WatchEvent::Deleted(pod))
        );
        assert_eq!(
            decode(
                r#"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}}"#
            ),
            Ok(WatchEvent::Error(ApiError::from_status(
                0,
                Status {
                    code: Some(410),
                    reason: Some("Expired".into()),
                    message: Some("too old".into()),
                    ..Status::default()
                }
            )))
        );
        let Ok(WatchEvent::Error(error)) =
            decode(r#"{"type":"ERROR","object":{"kind":"Status","code":410}}"#)
        else {
            panic!("an ERROR event");
        };
        assert!(error.is_expired());
        assert_eq!(error.reason, crate::api::StatusReason::Gone);
    }

    #[test]
    fn decodes_bookmark_with_end_marker() {
        let event = decode(
            r#"{"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"42","annotations":{"k8s.io/initial-events-end":"true"}}}}"#,
        );
        let Ok(WatchEvent::Bookmark(bookmark)) = event else {
            panic!("not a bookmark: {event:?}");
        };
        assert_eq!(bookmark.resource_version, "42");
        assert!(bookmark.is_initial_events_end());
        let plain = decode(r#"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"7"}}}"#);
        assert!(matches!(plain, Ok(WatchEvent::Bookmark(b)) if !b.is_initial_events_end()));
    }

    #[test]
    fn typed_errors() {
        assert_eq!(
            decode(r#"{"type":"RENAMED","object":{}}"#),
            Err(EventError::UnknownType {
                event_type: "RENAMED".into()
            })
        );
        assert_eq!(
            decode(r#"{"object":{}}"#),
            Err(EventError::MissingField { field: "type" })
        );
        assert_eq!(
            decode(r#"{"type":"ADDED"}"#),
            Err(EventError::MissingField { field: "object" })
        );
        assert_eq!(
            decode(r#"{"type":"ADDED","type":"ADDED","object":{}}"#),
            Err(EventError::DuplicateField { field: "type" })
        );
        assert_eq!(decode("[1,2]"), Err(EventError::NotAnObject));
        assert!(matches!(
            decode(r#"{"type":5,"object":{}}"#),
            Err(EventError::InvalidType { .. })
        ));
        assert!(matches!(
            decode(r#"{"type":"ADDED","object":{"a":tru}}"#),
            Err(EventError::Malformed { .. })
        ));
        assert!(matches!(
            decode(r#"{"type":"BOOKMARK","object":{"metadata":{}}}"#),
            Err(EventError::InvalidObject {
                event_type: EventType::Bookmark,
                ..
            })
        ));
        assert!(matches!(
            decode(r#"{"object":{"metadata":{}},"type":"BOOKMARK"}"#),
            Err(EventError::InvalidObject {
                event_type: EventType::Bookmark,
                ..
            })
        ));
        assert!(matches!(
            decode(r#"{"type":"ADDED","object":{}} x"#),
            Err(EventError::Malformed { .. })
        ));
    }

    #[test]
    fn unknown_type_is_truncated() {
        let long = "é".repeat(100);
        let Err(EventError::UnknownType { event_type }) =
            decode(&format!(r#"{{"type":"{long}","object":{{}}}}"#))
        else {
            panic!("expected UnknownType");
        };
        assert!(event_type.len() <= MAX_REPORTED_TYPE_LEN);
        assert!(long.starts_with(&event_type));
    }

    #[test]
    fn escaped_type_is_accepted() {
        assert!(matches!(
            decode(r#"{"type":"ADD\u0045D","object":1}"#),
            Ok(WatchEvent::Added(Value::Number(_)))
        ));
    }
}
