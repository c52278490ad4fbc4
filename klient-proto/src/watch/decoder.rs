//! One decoder for a watch response, whichever format the server chose for it.

use serde::de::DeserializeOwned;

use super::event::WatchEvent;
use super::framing::{DEFAULT_MAX_EVENT_SIZE, DecodeError, EventDecoder};
use super::protobuf::ProtobufEventDecoder;
use crate::api::{Format, ProtobufCodec, Resource};

/// The decoder of a watch response, picked by its `Content-Type`: JSON objects back to back
/// ([`EventDecoder`]) or length-prefixed protobuf events ([`ProtobufEventDecoder`]). Both yield
/// the same [`WatchEvent`]s, so the [`Watcher`](super::Watcher) and the [`Store`](super::Store)
/// work the same over either.
///
/// ```
/// use klient_proto::api::{DynamicObject, Format};
/// use klient_proto::watch::{WatchDecoder, WatchEvent};
///
/// // A custom resource watched with protobuf preferred: the server answers JSON.
/// let mut decoder = WatchDecoder::<DynamicObject>::for_resource(Some("application/json")).unwrap();
/// assert_eq!(decoder.format(), Format::Json);
/// decoder.handle_bytes(br#"{"type":"ADDED","object":{"metadata":{"name":"a"}}}"#);
/// assert!(matches!(decoder.poll_event(), Ok(Some(WatchEvent::Added(_)))));
/// ```
#[derive(Debug)]
pub enum WatchDecoder<K> {
    /// `application/json` (or anything that is not protobuf).
    Json(EventDecoder<K>),
    /// `application/vnd.kubernetes.protobuf;stream=watch`.
    Protobuf(ProtobufEventDecoder<K>),
}

impl<K> WatchDecoder<K> {
    /// The decoder for a watch response with this `Content-Type`; protobuf needs the objects'
    /// codec, and without one is [`DecodeError::UnsupportedContentType`].
    pub fn new(
        content_type: Option<&str>,
        codec: Option<ProtobufCodec<K>>,
        max_event_size: usize,
    ) -> Result<Self, DecodeError> {
        match (Format::of_content_type(content_type), codec) {
            (Format::Json, _) => Ok(WatchDecoder::Json(EventDecoder::with_max_event_size(
                max_event_size,
            ))),
            (Format::Protobuf, Some(codec)) => Ok(WatchDecoder::Protobuf(
                ProtobufEventDecoder::with_max_event_size(codec, max_event_size),
            )),
            (Format::Protobuf, None) => Err(DecodeError::UnsupportedContentType {
                content_type: content_type.unwrap_or_default().to_owned(),
            }),
        }
    }

    /// The format of the stream.
    pub fn format(&self) -> Format {
        match self {
            WatchDecoder::Json(_) => Format::Json,
            WatchDecoder::Protobuf(_) => Format::Protobuf,
        }
    }

    /// Takes bytes received from the network.
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        match self {
            WatchDecoder::Json(decoder) => decoder.handle_bytes(bytes),
            WatchDecoder::Protobuf(decoder) => decoder.handle_bytes(bytes),
        }
    }

    /// Takes the end of the stream.
    pub fn handle_eof(&mut self) {
        match self {
            WatchDecoder::Json(decoder) => decoder.handle_eof(),
            WatchDecoder::Protobuf(decoder) => decoder.handle_eof(),
        }
    }

    /// Bytes received and not yet consumed as events.
    pub fn buffered(&self) -> usize {
        match self {
            WatchDecoder::Json(decoder) => decoder.buffered(),
            WatchDecoder::Protobuf(decoder) => decoder.buffered(),
        }
    }

    /// Whether the stream is over (cleanly, or after a fatal error).
    pub fn is_finished(&self) -> bool {
        match self {
            WatchDecoder::Json(decoder) => decoder.is_finished(),
            WatchDecoder::Protobuf(decoder) => decoder.is_finished(),
        }
    }
}

impl<K: Resource> WatchDecoder<K> {
    /// The decoder for a watch of `K` answered with this `Content-Type`, with the
    /// [default event size limit](DEFAULT_MAX_EVENT_SIZE).
    pub fn for_resource(content_type: Option<&str>) -> Result<Self, DecodeError> {
        Self::new(content_type, K::protobuf(), DEFAULT_MAX_EVENT_SIZE)
    }
}

impl<K: DeserializeOwned> WatchDecoder<K> {
    /// The next event, `Ok(None)` when more bytes are needed (or the stream is over), or an
    /// error; see [`EventDecoder::poll_event`].
    pub fn poll_event(&mut self) -> Result<Option<WatchEvent<K>>, DecodeError> {
        match self {
            WatchDecoder::Json(decoder) => decoder.poll_event(),
            WatchDecoder::Protobuf(decoder) => decoder.poll_event(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::format::tests::{Widget, codec, widget};
    use crate::api::{DynamicObject, ListMeta, ObjectList};
    use crate::watch::protobuf::tests::{added, bookmark_object, frame};
    use crate::watch::{Action, ListPage, Store, Watcher, watcher};
    use std::time::Instant;

    fn drain<K: DeserializeOwned>(decoder: &mut WatchDecoder<K>) -> Vec<WatchEvent<K>> {
        let mut events = Vec::new();
        while let Some(event) = decoder.poll_event().unwrap() {
            events.push(event);
        }
        events
    }

    #[test]
    fn the_content_type_picks_the_decoder() {
        let protobuf = Some("application/vnd.kubernetes.protobuf;stream=watch");
        let mut decoder = WatchDecoder::<Widget>::for_resource(protobuf).unwrap();
        assert_eq!(decoder.format(), Format::Protobuf);
        decoder.handle_bytes(&added("a", 1));
        assert_eq!(decoder.buffered(), added("a", 1).len());
        assert_eq!(drain(&mut decoder), [WatchEvent::Added(widget("a", 1))]);
        decoder.handle_eof();
        assert!(decoder.is_finished());

        let mut decoder = WatchDecoder::<Widget>::for_resource(Some("application/json")).unwrap();
        assert_eq!(decoder.format(), Format::Json);
        decoder.handle_bytes(br#"{"type":"ADDED","object":{"name":"a","size":1}}"#);
        decoder.handle_eof();
        assert_eq!(drain(&mut decoder), [WatchEvent::Added(widget("a", 1))]);
        assert!(decoder.is_finished());
    }

    #[test]
    fn protobuf_for_a_kind_without_it_is_refused() {
        let error = WatchDecoder::<DynamicObject>::for_resource(Some(
            "application/vnd.kubernetes.protobuf;stream=watch",
        ))
        .unwrap_err();
        assert_eq!(
            error,
            DecodeError::UnsupportedContentType {
                content_type: "application/vnd.kubernetes.protobuf;stream=watch".into()
            }
        );
        assert!(error.is_fatal());
        let decoder = WatchDecoder::new(None, Some(codec()), 10).unwrap();
        assert_eq!(decoder.format(), Format::Json);
    }

    /// The same changes, once in JSON and once in protobuf, drive a watcher and a store to the
    /// same state.
    #[test]
    fn the_watcher_and_store_see_the_same_events_over_either_format() {
        let json = [
            r#"{"type":"ADDED","object":{"name":"b","size":1}}"#,
            r#"{"type":"MODIFIED","object":{"name":"a","size":5}}"#,
            r#"{"type":"DELETED","object":{"name":"b","size":1}}"#,
            r#"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"20"}}}"#,
        ]
        .concat();
        let protobuf = [
            added("b", 1),
            frame("MODIFIED", &codec().encode(&widget("a", 5))),
            frame("DELETED", &codec().encode(&widget("b", 1))),
            frame("BOOKMARK", &bookmark_object("20", &[])),
        ]
        .concat();
        let mut outcomes = Vec::new();
        for (content_type, bytes) in [
            ("application/json", json.as_bytes()),
            ("application/vnd.kubernetes.protobuf;stream=watch", &protobuf[..]),
        ] {
            let now = Instant::now();
            let mut watcher = Watcher::<Widget>::new(watcher::Config::default(), 1);
            let Some(Action::List { id: list, .. }) = watcher.poll_action(now) else {
                panic!("a list first");
            };
            let initial = ObjectList {
                metadata: ListMeta::default(),
                items: vec![widget("a", 1)],
            };
            let page = ListPage {
                items: initial.items,
                resource_version: "10".into(),
                continue_token: None,
            };
            watcher.handle_list_page(list, page, now).unwrap();
            let Some(Action::Watch { id: watch, .. }) = watcher.poll_action(now) else {
                panic!("a watch after the list");
            };
            let mut decoder = WatchDecoder::<Widget>::for_resource(Some(content_type)).unwrap();
            // Delivered in uneven pieces, as a network would.
            for piece in bytes.chunks(7) {
                decoder.handle_bytes(piece);
                for event in drain(&mut decoder) {
                    watcher.handle_watch_event(watch, event, now).unwrap();
                }
            }
            let mut store = Store::new();
            let mut events = Vec::new();
            while let Some(event) = watcher.poll_event() {
                let event = event.unwrap();
                events.push(format!("{event:?}"));
                store.apply(event);
            }
            assert!(store.is_ready());
            let state: Vec<_> = store.list().cloned().collect();
            outcomes.push((events, state, watcher.resource_version().map(str::to_owned)));
        }
        assert_eq!(outcomes[0], outcomes[1]);
        let (events, state, resource_version) = &outcomes[1];
        assert!(matches!(events.first().map(String::as_str), Some("Init")));
        assert_eq!(events.len(), 6, "{events:?}");
        assert_eq!(state, &[widget("a", 5)]);
        assert_eq!(resource_version.as_deref(), Some("20"));
    }
}
