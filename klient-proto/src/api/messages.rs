//! The protobuf form of klient's own response types: list metadata, lists of any kind, and the
//! `metav1.Status` of errors and deletes. These do not need the k8s-openapi types, so protobuf
//! errors decode whatever kinds a program uses.
//!
//! ```text
//! message ListMeta { string selfLink = 1; string resourceVersion = 2; string continue = 3;
//!                    int64 remainingItemCount = 4; ShardInfo shardInfo = 5; }
//! message XxxList { ListMeta metadata = 1; repeated Xxx items = 2; }     (every list kind)
//! message Status { ListMeta metadata = 1; string status = 2; string message = 3; string reason = 4;
//!                  StatusDetails details = 5; int32 code = 6; }
//! message StatusDetails { string name = 1; string group = 2; string kind = 3; repeated StatusCause causes = 4;
//!                         int32 retryAfterSeconds = 5; string uid = 6; }
//! message StatusCause { string reason = 1; string message = 2; string field = 3; }
//! ```
//!
//! Go writes its plain (non-pointer) fields even when empty; klient holds them as `Option` and
//! reads an empty value as `None`, as the same object's JSON (`omitempty`) would read.

use super::response::{ListMeta, ObjectList};
use super::status::{Status, StatusCause, StatusDetails};
use crate::impl_message_value;
use crate::protobuf::{
    Envelope, FieldContext, Message, ProtobufError, Reader, Value, WireType, Writer, decode_message,
    encode_optional, encode_or_zero, encode_repeated, merge_nested, merge_omit_zero, merge_optional,
};

fn context(message: &'static str, field: u32) -> FieldContext {
    FieldContext { message, field }
}

impl Message for ListMeta {
    const NAME: &'static str = "metav1.ListMeta";

    fn empty() -> Self {
        ListMeta::default()
    }

    fn encode_fields(&self, writer: &mut Writer) {
        encode_optional(&self.remaining_item_count, 4, writer);
        encode_or_zero(&self.continue_token, 3, writer);
        encode_or_zero(&self.resource_version, 2, writer);
        // selfLink: gone from the API since 1.20, still written (empty) by Go.
        String::new().encode_field(1, writer);
    }

    fn merge_field(
        &mut self,
        field: u32,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        let context = context(Self::NAME, field);
        match field {
            2 => merge_omit_zero(&mut self.resource_version, context, wire_type, reader),
            3 => merge_omit_zero(&mut self.continue_token, context, wire_type, reader),
            4 => merge_optional(&mut self.remaining_item_count, context, wire_type, reader),
            _ => reader.skip(wire_type),
        }
    }
}

impl_message_value!(ListMeta);

/// Writes a list message: `ListMeta metadata = 1; repeated Item items = 2`.
fn encode_list<K: Message, M: Value>(items: &[K], metadata: &M, writer: &mut Writer) {
    for item in items.iter().rev() {
        writer.put_nested(2, |writer| item.encode_fields(writer));
    }
    metadata.encode_field(1, writer);
}

/// Reads one field of a list message.
pub(crate) fn merge_list_field<K: Message, M: Value>(
    items: &mut Vec<K>,
    metadata: &mut M,
    field: u32,
    wire_type: WireType,
    reader: &mut Reader<'_>,
) -> Result<(), ProtobufError> {
    let context = context("List", field);
    match field {
        1 => metadata.merge_value(context, wire_type, reader),
        2 => {
            let mut item = K::empty();
            merge_nested(&mut item, context, wire_type, reader)?;
            items.push(item);
            Ok(())
        }
        _ => reader.skip(wire_type),
    }
}

/// Every Kubernetes list kind (`PodList`, `DeploymentList`, ...) is this message.
impl<K: Message> Message for ObjectList<K> {
    const NAME: &'static str = "List";

    fn empty() -> Self {
        ObjectList::default()
    }

    fn encode_fields(&self, writer: &mut Writer) {
        encode_list(&self.items, &self.metadata, writer);
    }

    fn merge_field(
        &mut self,
        field: u32,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        merge_list_field(&mut self.items, &mut self.metadata, field, wire_type, reader)
    }
}

/// k8s-openapi's own list type is the same message, for programs that use it.
#[cfg(all(feature = "k8s-openapi", feature = "protobuf"))]
impl<K> Message for k8s_openapi::List<K>
where
    K: Message + k8s_openapi::ListableResource,
{
    const NAME: &'static str = "List";

    fn empty() -> Self {
        k8s_openapi::List {
            items: Vec::new(),
            metadata: Message::empty(),
        }
    }

    fn encode_fields(&self, writer: &mut Writer) {
        encode_list(&self.items, &self.metadata, writer);
    }

    fn merge_field(
        &mut self,
        field: u32,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        merge_list_field(&mut self.items, &mut self.metadata, field, wire_type, reader)
    }
}

impl Message for StatusCause {
    const NAME: &'static str = "metav1.StatusCause";

    fn empty() -> Self {
        StatusCause::default()
    }

    fn encode_fields(&self, writer: &mut Writer) {
        encode_or_zero(&self.field, 3, writer);
        encode_or_zero(&self.message, 2, writer);
        encode_or_zero(&self.reason, 1, writer);
    }

    fn merge_field(
        &mut self,
        field: u32,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        let context = context(Self::NAME, field);
        match field {
            1 => merge_omit_zero(&mut self.reason, context, wire_type, reader),
            2 => merge_omit_zero(&mut self.message, context, wire_type, reader),
            3 => merge_omit_zero(&mut self.field, context, wire_type, reader),
            _ => reader.skip(wire_type),
        }
    }
}

impl_message_value!(StatusCause);

impl Message for StatusDetails {
    const NAME: &'static str = "metav1.StatusDetails";

    fn empty() -> Self {
        StatusDetails::default()
    }

    fn encode_fields(&self, writer: &mut Writer) {
        encode_or_zero(&self.uid, 6, writer);
        let retry_after = self
            .retry_after_seconds
            .map(|s| i32::try_from(s).unwrap_or(i32::MAX));
        encode_or_zero(&retry_after, 5, writer);
        encode_repeated(&self.causes, 4, writer);
        encode_or_zero(&self.kind, 3, writer);
        encode_or_zero(&self.group, 2, writer);
        encode_or_zero(&self.name, 1, writer);
    }

    fn merge_field(
        &mut self,
        field: u32,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        let context = context(Self::NAME, field);
        match field {
            1 => merge_omit_zero(&mut self.name, context, wire_type, reader),
            2 => merge_omit_zero(&mut self.group, context, wire_type, reader),
            3 => merge_omit_zero(&mut self.kind, context, wire_type, reader),
            4 => StatusCause::merge_repeated(&mut self.causes, context, wire_type, reader),
            5 => {
                let seconds = i32::decode_value(context, wire_type, reader)?;
                // Negative advice means none, as zero does.
                self.retry_after_seconds = u32::try_from(seconds).ok().filter(|s| *s != 0);
                Ok(())
            }
            6 => merge_omit_zero(&mut self.uid, context, wire_type, reader),
            _ => reader.skip(wire_type),
        }
    }
}

impl_message_value!(StatusDetails);

impl Message for Status {
    const NAME: &'static str = "metav1.Status";

    fn empty() -> Self {
        Status::default()
    }

    fn encode_fields(&self, writer: &mut Writer) {
        i32::from(self.code.unwrap_or(0)).encode_field(6, writer);
        encode_optional(&self.details, 5, writer);
        encode_or_zero(&self.reason, 4, writer);
        encode_or_zero(&self.message, 3, writer);
        encode_or_zero(&self.status, 2, writer);
        ListMeta::default().encode_field(1, writer);
    }

    fn merge_field(
        &mut self,
        field: u32,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        let context = context(Self::NAME, field);
        match field {
            2 => merge_omit_zero(&mut self.status, context, wire_type, reader),
            3 => merge_omit_zero(&mut self.message, context, wire_type, reader),
            4 => merge_omit_zero(&mut self.reason, context, wire_type, reader),
            5 => merge_optional(&mut self.details, context, wire_type, reader),
            6 => {
                let code = i32::decode_value(context, wire_type, reader)?;
                // Not an HTTP code (zero, negative, huge): as if absent, the response's code counts.
                self.code = u16::try_from(code).ok().filter(|c| *c != 0);
                Ok(())
            }
            // The list metadata of a Status carries nothing klient uses.
            _ => reader.skip(wire_type),
        }
    }
}

/// The `apiVersion` and `kind` the server's envelope gives a Status.
const STATUS_API_VERSION: &str = "v1";
const STATUS_KIND: &str = "Status";

/// Whether an envelope holds a `Status` (delete answers, watch ERROR events).
pub(crate) fn is_status(envelope: &Envelope<'_>) -> bool {
    envelope.kind == STATUS_KIND
}

/// Decodes an enveloped `Status` (a protobuf error body, a delete's answer).
pub(crate) fn decode_status(body: &[u8]) -> Result<Status, ProtobufError> {
    let envelope = Envelope::decode(body)?;
    decode_status_envelope(&envelope)
}

/// Decodes the Status inside an envelope, checking that it is one.
pub(crate) fn decode_status_envelope(envelope: &Envelope<'_>) -> Result<Status, ProtobufError> {
    if !is_status(envelope) {
        return Err(ProtobufError::UnexpectedKind {
            expected: format!("{STATUS_API_VERSION} {STATUS_KIND}"),
            found: format!("{} {}", envelope.api_version, envelope.kind),
        });
    }
    decode_message(envelope.raw)
}

/// Encodes a Status as the server does, enveloped (tests and fake servers).
pub fn encode_status(status: &Status) -> Vec<u8> {
    crate::protobuf::encode_enveloped(STATUS_API_VERSION, STATUS_KIND, |writer| {
        status.encode_fields(writer)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protobuf::encode_message;

    fn not_found() -> Status {
        Status {
            status: Some("Failure".into()),
            message: Some("pods \"web\" not found".into()),
            reason: Some("NotFound".into()),
            details: Some(StatusDetails {
                name: Some("web".into()),
                kind: Some("pods".into()),
                ..StatusDetails::default()
            }),
            code: Some(404),
        }
    }

    #[test]
    fn status_round_trips_with_go_field_layout() {
        let status = not_found();
        let bytes = encode_message(&status);
        // metadata first (an empty ListMeta, its three strings written empty), code last.
        assert!(bytes.starts_with(b"\x0a\x06\x0a\x00\x12\x00\x1a\x00\x12\x07Failure"));
        assert!(bytes.ends_with(b"\x30\x94\x03"));
        assert_eq!(decode_message::<Status>(&bytes), Ok(status));
    }

    #[test]
    fn status_details_with_causes_and_retry_after() {
        let status = Status {
            status: Some("Failure".into()),
            reason: Some("Invalid".into()),
            details: Some(StatusDetails {
                name: Some("web".into()),
                group: Some("apps".into()),
                kind: Some("Deployment".into()),
                uid: Some("u-1".into()),
                causes: vec![
                    StatusCause {
                        reason: Some("FieldValueInvalid".into()),
                        message: Some("must be >= 0".into()),
                        field: Some("spec.replicas".into()),
                    },
                    StatusCause {
                        reason: Some("FieldValueRequired".into()),
                        message: None,
                        field: Some("spec.template".into()),
                    },
                ],
                retry_after_seconds: Some(3),
            }),
            code: Some(422),
            message: None,
        };
        let decoded = decode_message::<Status>(&encode_message(&status)).unwrap();
        assert_eq!(decoded, status);
    }

    #[test]
    fn out_of_range_codes_and_retry_advice_are_absent() {
        let mut writer = Writer::new();
        (-5i32).encode_field(5, &mut writer);
        let details = writer.into_vec();
        let mut writer = Writer::new();
        70_000i32.encode_field(6, &mut writer);
        writer.put_bytes_field(5, &details);
        let status = decode_message::<Status>(&writer.into_vec()).unwrap();
        assert_eq!(status.code, None);
        assert_eq!(status.details.unwrap().retry_after_seconds, None);
    }

    #[test]
    fn enveloped_status_checks_the_kind() {
        let body = encode_status(&not_found());
        assert_eq!(decode_status(&body), Ok(not_found()));
        let pod = crate::protobuf::encode_enveloped("v1", "Pod", |_| {});
        assert!(matches!(
            decode_status(&pod),
            Err(ProtobufError::UnexpectedKind { .. })
        ));
        assert_eq!(decode_status(b"{}"), Err(ProtobufError::MissingMagic));
    }

    #[test]
    fn list_meta_reads_empty_strings_as_absent_and_skips_shard_info() {
        let mut writer = Writer::new();
        writer.put_bytes_field(5, b"\x0a\x01x");
        writer.put_bytes_field(3, b"");
        writer.put_bytes_field(2, b"9");
        writer.put_bytes_field(1, b"");
        let meta = decode_message::<ListMeta>(&writer.into_vec()).unwrap();
        assert_eq!(
            meta,
            ListMeta {
                resource_version: Some("9".into()),
                ..ListMeta::default()
            }
        );
        // Go writes selfLink, resourceVersion and continue even when empty.
        assert_eq!(encode_message(&ListMeta::default()), b"\x0a\x00\x12\x00\x1a\x00");
    }

    #[cfg(all(feature = "k8s-openapi", feature = "protobuf"))]
    #[test]
    fn object_lists_and_k8s_openapi_lists_are_the_same_message() {
        use k8s_openapi::api::core::v1::Pod;
        let pods: Vec<Pod> = ["a", "b"]
            .iter()
            .map(|name| serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).unwrap())
            .collect();
        let ours = ObjectList {
            metadata: ListMeta {
                continue_token: Some("c".into()),
                resource_version: Some("7".into()),
                remaining_item_count: Some(3),
            },
            items: pods.clone(),
        };
        let theirs = k8s_openapi::List::<Pod> {
            metadata: serde_json::from_value(
                serde_json::json!({"continue": "c", "resourceVersion": "7", "remainingItemCount": 3}),
            )
            .unwrap(),
            items: pods,
        };
        let bytes = encode_message(&ours);
        assert_eq!(bytes, encode_message(&theirs));
        // (Pods come back with their spec and status present: Go writes those value fields.)
        let theirs = decode_message::<k8s_openapi::List<Pod>>(&bytes).unwrap();
        let ours = decode_message::<ObjectList<Pod>>(&bytes).unwrap();
        assert_eq!(theirs.items, ours.items);
        let names: Vec<_> = ours
            .items
            .iter()
            .filter_map(|pod| pod.metadata.name.as_deref())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(theirs.metadata.continue_.as_deref(), Some("c"));
        assert_eq!(theirs.metadata.remaining_item_count, Some(3));
        assert_eq!(ours.metadata.resource_version.as_deref(), Some("7"));
    }

    #[test]
    fn truncated_status_at_every_length_is_an_error_not_a_panic() {
        let body = encode_status(&not_found());
        for len in 0..body.len() {
            let _ = decode_status(&body[..len]);
        }
        // A prefix cut between fields decodes, but never to the whole Status (the code comes last).
        let full = encode_message(&not_found());
        for len in 0..full.len() {
            if let Ok(status) = decode_message::<Status>(&full[..len]) {
                assert_ne!(status, not_found(), "{len}");
            }
        }
    }
}
