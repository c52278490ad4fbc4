//! The generated codecs on k8s-openapi values: Go's presence rules, unknown fields, malformed input.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::*;

fn config_map() -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some("settings".into()),
            labels: Some(BTreeMap::from([
                ("b".into(), "2".into()),
                ("a".into(), "1".into()),
            ])),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([("key".into(), "value".into())])),
        immutable: Some(false),
        ..ConfigMap::default()
    }
}

#[test]
fn value_fields_are_always_written_and_pointers_only_when_set() {
    let bytes = encode_message(&ConfigMap::default());
    // metadata (field 1) is a Go value field: written even when empty, with every string field of
    // ObjectMeta present as "" and its zero creationTimestamp as an empty message; immutable (a Go
    // *bool) is not written at all.
    assert_eq!(bytes[0], 0x0a);
    let metadata = &bytes[2..];
    assert_eq!(bytes[1] as usize, metadata.len());
    assert!(
        metadata.starts_with(&[0x0a, 0x00, 0x12, 0x00, 0x1a, 0x00]),
        "{metadata:02x?}"
    );
    assert!(!bytes.windows(2).any(|pair| pair == [0x20, 0x00]));
}

/// Go skips a nil `[]byte`; k8s-openapi holds a required one as `ByteString`, empty when the field
/// was absent. An absent field must stay absent (an object an older release wrote, re-encoded by a
/// client on newer types, is byte-identical, as upstream's round-trip fixtures require).
#[cfg(any(klient_k8s = "1.36", klient_k8s = "1.37"))]
#[test]
fn an_absent_byte_slice_stays_absent_and_a_set_one_is_written() {
    use k8s_openapi::ByteString;
    use k8s_openapi::api::certificates::v1beta1::PodCertificateRequestSpec;

    let absent = encode_message(&PodCertificateRequestSpec::default());
    let decoded: PodCertificateRequestSpec = decode_message(&absent).unwrap();
    assert_eq!(decoded.stub_pkc_s10_request, ByteString(Vec::new()));
    // Field 12, wire type 2: tag 0x62.
    assert!(
        !absent.windows(2).any(|pair| pair == [0x62, 0x00]),
        "{absent:02x?}"
    );
    assert_eq!(encode_message(&decoded), absent);

    let set = PodCertificateRequestSpec {
        stub_pkc_s10_request: ByteString(vec![0x0c]),
        ..PodCertificateRequestSpec::default()
    };
    let bytes = encode_message(&set);
    assert!(bytes.windows(3).any(|w| w == [0x62, 0x01, 0x0c]), "{bytes:02x?}");
    assert_eq!(decode_message::<PodCertificateRequestSpec>(&bytes).unwrap(), set);
}

#[test]
fn zero_values_of_omitempty_fields_decode_as_none_like_json() {
    let decoded: ConfigMap = decode_message(&encode_message(&ConfigMap::default())).unwrap();
    assert_eq!(decoded, ConfigMap::default());
    let from_json: ConfigMap = serde_json::from_str(r#"{"metadata":{}}"#).unwrap();
    assert_eq!(decoded, from_json);
}

#[test]
fn values_round_trip_and_maps_are_sorted() {
    let original = config_map();
    let bytes = encode_message(&original);
    let decoded: ConfigMap = decode_message(&bytes).unwrap();
    assert_eq!(decoded, original);
    let a = bytes.windows(5).position(|w| w == b"\x0a\x01a\x12\x01").unwrap();
    let b = bytes.windows(5).position(|w| w == b"\x0a\x01b\x12\x01").unwrap();
    assert!(a < b, "map entries in key order");
}

#[test]
fn unknown_fields_from_a_newer_server_are_skipped() {
    let mut bytes = encode_message(&config_map());
    let mut extra = Writer::new();
    extra.put_bytes_field(999, b"from the future");
    99i64.encode_field(998, &mut extra);
    bytes.extend(extra.into_vec());
    let decoded: ConfigMap = decode_message(&bytes).unwrap();
    assert_eq!(decoded, config_map());
}

#[test]
fn malformed_input_is_a_typed_error_at_every_truncation() {
    let pod = Pod {
        metadata: ObjectMeta {
            name: Some("p".into()),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "c".into(),
                image: Some("busybox".into()),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        ..Pod::default()
    };
    let bytes = encode_message(&pod);
    // Go holds a pod's status and a container's resources as value structs: protobuf always carries
    // them, and Go's JSON always writes them (`{}`), so they come back as `Some(empty)`, exactly as
    // the same object read from the API server as JSON would.
    let mut expected = pod.clone();
    expected.status = Some(Default::default());
    expected.spec.as_mut().unwrap().containers[0].resources = Some(Default::default());
    assert_eq!(decode_message::<Pod>(&bytes).unwrap(), expected);
    assert_eq!(encode_message(&expected), bytes);
    for end in 0..bytes.len() {
        // Every prefix either decodes (it ends on a field boundary) or fails with an error.
        let _ = decode_message::<Pod>(&bytes[..end]);
    }
    assert_eq!(
        decode_message::<Pod>(&bytes[..bytes.len() - 1]),
        Err(ProtobufError::Truncated)
    );
    // A string field arriving as a varint.
    assert!(matches!(
        decode_message::<Pod>(&[0x0a, 0x02, 0x08, 0x01]),
        Err(ProtobufError::WrongWireType { .. })
    ));
}

#[test]
fn nesting_deeper_than_the_limit_is_an_error_not_a_stack_overflow() {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
    // A schema nested through `not` deeper than the decoder allows.
    let mut schema = JSONSchemaProps::default();
    for _ in 0..MAX_DEPTH + 5 {
        schema = JSONSchemaProps {
            not: Some(Box::new(schema)),
            ..JSONSchemaProps::default()
        };
    }
    let bytes = encode_message(&schema);
    assert_eq!(
        decode_message::<JSONSchemaProps>(&bytes),
        Err(ProtobufError::TooDeep)
    );
}
