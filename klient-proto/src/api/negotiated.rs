//! Decoding a response in the format the server chose, read from its `Content-Type`: JSON, or
//! protobuf for the types that have a protobuf form.

use serde::de::DeserializeOwned;

use super::error::ResponseError;
use super::format::Format;
use super::messages::{decode_status, decode_status_envelope, is_status};
use super::resource::Resource;
use super::response::{Deleted, ObjectList, decode, decode_delete, decode_error, is_success};
use super::status::Status;
use crate::protobuf::{Envelope, ProtobufError};

/// A type a response body decodes into: from JSON always, from protobuf when it has a protobuf
/// form.
///
/// Implemented for every [`Resource`] (protobuf when [`Resource::protobuf`] says so), for an
/// [`ObjectList`] of one, and for [`Status`].
pub trait Decodable: DeserializeOwned {
    /// Decodes an enveloped protobuf body (magic included), or `None` when this type has no
    /// protobuf form.
    fn decode_protobuf(body: &[u8]) -> Option<Result<Self, ProtobufError>>;
}

impl<K: Resource + DeserializeOwned> Decodable for K {
    fn decode_protobuf(body: &[u8]) -> Option<Result<Self, ProtobufError>> {
        K::protobuf().map(|codec| codec.decode(body))
    }
}

impl<K: Resource + DeserializeOwned> Decodable for ObjectList<K> {
    fn decode_protobuf(body: &[u8]) -> Option<Result<Self, ProtobufError>> {
        K::protobuf().map(|codec| codec.decode_list(body))
    }
}

impl Decodable for Status {
    fn decode_protobuf(body: &[u8]) -> Option<Result<Self, ProtobufError>> {
        Some(decode_status(body))
    }
}

fn decode_protobuf<T: Decodable>(
    code: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<T, ResponseError> {
    match T::decode_protobuf(body) {
        Some(result) => result.map_err(|error| ResponseError::Protobuf { code, error }),
        None => Err(ResponseError::UnexpectedContentType {
            code,
            content_type: content_type.unwrap_or_default().to_owned(),
        }),
    }
}

/// Decodes a response in the format its `Content-Type` names: the body as `T` on 2xx, otherwise
/// the error it describes (a `Status` in JSON or protobuf).
///
/// A request that preferred protobuf may still be answered in JSON (custom resources have no
/// protobuf): that is decoded as JSON, transparently.
///
/// ```
/// use klient_proto::api::{decode_negotiated, DynamicObject};
/// let body = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#;
/// let object: DynamicObject = decode_negotiated(200, Some("application/json"), body).unwrap();
/// assert_eq!(object.metadata.name.as_deref(), Some("c"));
/// ```
pub fn decode_negotiated<T: Decodable>(
    code: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<T, ResponseError> {
    if !is_success(code) {
        return Err(decode_error(code, body));
    }
    match Format::of_content_type(content_type) {
        Format::Json => decode(code, body),
        Format::Protobuf => decode_protobuf(code, content_type, body),
    }
}

/// [`decode_negotiated`] for the answer to a delete: the object (or list, for a collection), or
/// a `Status` saying it is gone.
pub fn decode_delete_negotiated<T: Decodable>(
    code: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Deleted<T>, ResponseError> {
    if !is_success(code) {
        return Err(decode_error(code, body));
    }
    if Format::of_content_type(content_type) == Format::Json {
        return decode_delete(code, body);
    }
    let envelope = Envelope::decode(body).map_err(|error| ResponseError::Protobuf { code, error })?;
    if is_status(&envelope) {
        let status =
            decode_status_envelope(&envelope).map_err(|error| ResponseError::Protobuf { code, error })?;
        return Ok(Deleted::Status(Box::new(status)));
    }
    decode_protobuf(code, content_type, body).map(Deleted::Object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::format::tests::{Widget, codec, widget, widget_list_body};
    use crate::api::messages::encode_status;
    use crate::api::status::StatusReason;
    use crate::api::{DynamicObject, ListMeta};

    const PROTOBUF: Option<&str> = Some("application/vnd.kubernetes.protobuf");
    const JSON: Option<&str> = Some("application/json");

    fn status(code: u16, reason: &str, message: &str) -> Status {
        Status {
            status: Some(if code < 300 { "Success" } else { "Failure" }.into()),
            message: Some(message.into()),
            reason: Some(reason.into()).filter(|r: &String| !r.is_empty()),
            details: None,
            code: Some(code),
        }
    }

    #[test]
    fn objects_decode_by_content_type() {
        let body = codec().encode(&widget("a", 2));
        assert_eq!(
            decode_negotiated::<Widget>(200, PROTOBUF, &body).unwrap(),
            widget("a", 2)
        );
        // The same request answered in JSON (a server without protobuf for the kind).
        let json = br#"{"name":"a","size":2}"#;
        assert_eq!(
            decode_negotiated::<Widget>(200, JSON, json).unwrap(),
            widget("a", 2)
        );
        assert_eq!(
            decode_negotiated::<Widget>(201, None, json).unwrap(),
            widget("a", 2)
        );
    }

    #[test]
    fn lists_decode_by_content_type() {
        let meta = ListMeta {
            resource_version: Some("5".into()),
            ..ListMeta::default()
        };
        let body = widget_list_body(&[widget("a", 1), widget("b", 2)], &meta);
        let list: ObjectList<Widget> = decode_negotiated(200, PROTOBUF, &body).unwrap();
        assert_eq!(list.items, [widget("a", 1), widget("b", 2)]);
        assert_eq!(list.metadata, meta);
        // A list body is not an object, and an object body is not a list.
        assert!(matches!(
            decode_negotiated::<Widget>(200, PROTOBUF, &body),
            Err(ResponseError::Protobuf {
                code: 200,
                error: ProtobufError::UnexpectedKind { .. }
            })
        ));
        let object = codec().encode(&widget("a", 1));
        assert!(matches!(
            decode_negotiated::<ObjectList<Widget>>(200, PROTOBUF, &object),
            Err(ResponseError::Protobuf { .. })
        ));
    }

    #[test]
    fn protobuf_errors_become_the_same_api_error_as_json() {
        let not_found = status(404, "NotFound", "widgets \"a\" not found");
        let mut json_body = serde_json::to_value(&not_found).unwrap();
        json_body["kind"] = "Status".into();
        let json_body = serde_json::to_vec(&json_body).unwrap();
        let from_protobuf = decode_negotiated::<Widget>(404, PROTOBUF, &encode_status(&not_found));
        let from_json = decode_negotiated::<Widget>(404, JSON, &json_body);
        let (Err(ResponseError::Api(from_protobuf)), Err(ResponseError::Api(from_json))) =
            (from_protobuf, from_json)
        else {
            panic!("both must be API errors");
        };
        assert_eq!(from_protobuf, from_json);
        assert!(from_protobuf.is_not_found());
        assert_eq!(from_protobuf.message, "widgets \"a\" not found");
        // Without a Content-Type (a streaming request's error), the magic still identifies it.
        let error = decode_error(410, &encode_status(&status(410, "Expired", "too old")));
        assert_eq!(error.api().map(|e| &e.reason), Some(&StatusReason::Expired));
    }

    #[test]
    fn a_corrupt_protobuf_error_keeps_code_and_snippet() {
        let mut body = encode_status(&status(500, "InternalError", "boom"));
        body.truncate(body.len() - 3);
        let error = decode_negotiated::<Widget>(500, PROTOBUF, &body).unwrap_err();
        assert!(
            matches!(error, ResponseError::Unexpected { code: 500, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn protobuf_for_a_type_without_protobuf_is_a_typed_error() {
        let body = codec().encode(&widget("a", 1));
        let error = decode_negotiated::<DynamicObject>(200, PROTOBUF, &body).unwrap_err();
        match &error {
            ResponseError::UnexpectedContentType { code, content_type } => {
                assert_eq!(
                    (*code, content_type.as_str()),
                    (200, "application/vnd.kubernetes.protobuf")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(error.to_string().contains("application/vnd.kubernetes.protobuf"));
    }

    #[test]
    fn malformed_protobuf_never_panics_and_never_shows_the_bytes() {
        let body = codec().encode(&widget("secret-value", 1));
        let mut whole = Vec::new();
        for len in 0..body.len() {
            match decode_negotiated::<Widget>(200, PROTOBUF, &body[..len]) {
                // Cut right after the envelope's type: an envelope without an object, as protobuf
                // reads a missing field.
                Ok(decoded) if decoded == Widget::default() => {}
                Ok(decoded) => {
                    assert_eq!(decoded, widget("secret-value", 1));
                    whole.push(len);
                }
                Err(error) => assert!(!format!("{error} {error:?}").contains("secret"), "{error}"),
            }
        }
        // Only cutting the envelope's two empty trailing fields leaves a whole object.
        assert_eq!(whole, [body.len() - 4, body.len() - 2]);
    }

    #[test]
    fn deletes_answer_an_object_or_a_status() {
        let body = codec().encode(&widget("a", 1));
        assert_eq!(
            decode_delete_negotiated::<Widget>(200, PROTOBUF, &body).unwrap(),
            Deleted::Object(widget("a", 1))
        );
        let gone = status(200, "", "");
        match decode_delete_negotiated::<Widget>(200, PROTOBUF, &encode_status(&gone)).unwrap() {
            Deleted::Status(status) => assert!(status.is_success()),
            other => panic!("{other:?}"),
        }
        let list = widget_list_body(&[widget("a", 1)], &ListMeta::default());
        match decode_delete_negotiated::<ObjectList<Widget>>(200, PROTOBUF, &list).unwrap() {
            Deleted::Object(list) => assert_eq!(list.items, [widget("a", 1)]),
            other => panic!("{other:?}"),
        }
        let missing = encode_status(&status(404, "NotFound", "gone already"));
        assert!(
            decode_delete_negotiated::<Widget>(404, PROTOBUF, &missing)
                .unwrap_err()
                .api()
                .is_some_and(|e| e.is_not_found())
        );
        assert!(matches!(
            decode_delete_negotiated::<Widget>(200, PROTOBUF, b"not protobuf"),
            Err(ResponseError::Protobuf {
                error: ProtobufError::MissingMagic,
                ..
            })
        ));
        // JSON answers go the JSON way.
        let json = br#"{"kind":"Status","apiVersion":"v1","status":"Success"}"#;
        assert!(matches!(
            decode_delete_negotiated::<Widget>(200, JSON, json),
            Ok(Deleted::Status(_))
        ));
    }

    #[test]
    fn evictions_answer_a_status_in_either_format() {
        let created = status(201, "", "evicted");
        let from_protobuf: Status = decode_negotiated(201, PROTOBUF, &encode_status(&created)).unwrap();
        assert_eq!(from_protobuf, created);
        let from_json: Status = decode_negotiated(201, JSON, &serde_json::to_vec(&created).unwrap()).unwrap();
        assert_eq!(from_json, created);
    }
}
