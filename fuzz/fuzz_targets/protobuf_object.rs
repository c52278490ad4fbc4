//! Arbitrary bytes as a Kubernetes protobuf body: the envelope and the generated decoders of a few
//! rich k8s-openapi types must never panic, and whatever decodes must survive a round trip.
//!
//! Bytes that start with the `k8s\0` magic go through `Envelope::decode` (which must re-encode to
//! the same `apiVersion`, `kind` and raw object), then its raw object is decoded as each type;
//! other bytes are decoded as each type directly, so that the fuzzer reaches the decoders without
//! having to find the envelope first.
//!
//! The round trip, for a value `v1` decoded from the input: `b1 = encode(v1)` must decode (to
//! `v2`), re-encode to exactly `b1`, and `v2` must equal `v1` except where the input left out a
//! field that Go always writes (a struct held by value, such as `Pod.spec`): klient decodes the
//! missing field as `None` and encodes `None` as Go's zero value, which then decodes as
//! `Some(zero)`. Go never writes such bytes; the check allows exactly that difference.
//!
//! Seeds: the `.pb` files of the API conformance data (`core.v1.Pod.pb`, `apps.v1.Deployment.pb`,
//! `core.v1.ConfigMap.pb`, `core.v1.Status.pb`) copied into `corpus/protobuf_object/`.
#![no_main]

use std::fmt::Debug;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use klient_proto::protobuf::{Envelope, MAGIC, Message, decode_message, encode_enveloped, encode_message};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde_json::Value as Json;

fuzz_target!(|data: &[u8]| {
    let object = if data.starts_with(MAGIC) {
        let Ok(envelope) = Envelope::decode(data) else {
            return;
        };
        envelope_round_trip(&envelope);
        envelope.raw
    } else {
        data
    };
    round_trip::<Pod>(object);
    round_trip::<Deployment>(object);
    round_trip::<CustomResourceDefinition>(object);
    round_trip::<ConfigMap>(object);
    round_trip::<Status>(object);
});

fn envelope_round_trip(envelope: &Envelope<'_>) {
    let body = encode_enveloped(&envelope.api_version, &envelope.kind, |writer| {
        writer.put_slice(envelope.raw)
    });
    let again = Envelope::decode(&body).expect("klient decodes the envelope it wrote");
    assert_eq!(
        (again.api_version.as_str(), again.kind.as_str(), again.raw),
        (
            envelope.api_version.as_str(),
            envelope.kind.as_str(),
            envelope.raw
        )
    );
}

fn round_trip<M: Message + PartialEq + Debug + Serialize>(bytes: &[u8]) {
    let Ok(v1) = decode_message::<M>(bytes) else {
        return;
    };
    let b1 = encode_message(&v1);
    let v2 = decode_message::<M>(&b1).expect("klient decodes what it encoded");
    let b2 = encode_message(&v2);
    assert!(b1 == b2, "{}: re-encoding changed the bytes", M::NAME);
    if v1 == v2 {
        return;
    }
    // Not equal: a float that is NaN (never equal to itself), or a by-value struct the input
    // left out. Compare the JSON forms (NaN is `null` there) with that allowance.
    let (Ok(j1), Ok(j2)) = (serde_json::to_value(&v1), serde_json::to_value(&v2)) else {
        panic!("{}: values differ and do not serialize\n{v1:?}\n{v2:?}", M::NAME);
    };
    assert!(
        same_but_filled(&j1, &j2),
        "{}: round trip changed the value\nbefore: {j1}\nafter:  {j2}",
        M::NAME
    );
}

/// Whether `after` is `before` with, at most, keys added whose values are zero values.
fn same_but_filled(before: &Json, after: &Json) -> bool {
    match (before, after) {
        (Json::Object(before), Json::Object(after)) => {
            before.keys().all(|key| after.contains_key(key))
                && after.iter().all(|(key, value)| match before.get(key) {
                    Some(old) => same_but_filled(old, value),
                    None => is_zero(value),
                })
        }
        (Json::Array(before), Json::Array(after)) => {
            before.len() == after.len() && before.iter().zip(after).all(|(b, a)| same_but_filled(b, a))
        }
        _ => before == after,
    }
}

/// Go's zero value as k8s-openapi serializes it: empty or zero scalars, `"0"` (a quantity), and
/// objects of those.
fn is_zero(value: &Json) -> bool {
    match value {
        Json::Null | Json::Bool(false) => true,
        Json::Number(n) => n.as_f64() == Some(0.0),
        Json::String(s) => s.is_empty() || s == "0",
        Json::Array(items) => items.is_empty(),
        Json::Object(fields) => fields.values().all(is_zero),
        Json::Bool(true) => false,
    }
}
