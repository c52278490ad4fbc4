//! What must hold for one kind in one folder, the checks upstream's own round-trip test makes
//! (`k8s.io/apimachinery/pkg/api/apitesting/roundtrip`), on klient's codecs and k8s-openapi's types:
//!
//! - the `.pb`, `.json` and `.yaml` files decode to equal values (YAML through klient's reader,
//!   `klient_proto::yaml`);
//! - protobuf re-encodes byte for byte to the `.pb` file, or to its `.after_roundtrip.pb` where the
//!   folder has one (what the newer Go types write for older bytes);
//! - JSON and YAML re-encode to the same documents (compared by meaning, see [`crate::document`]),
//!   or to their `.after_roundtrip` documents.

use std::fmt::{self, Debug};
use std::path::Path;

use klient_proto::protobuf::{Envelope, Message, decode_message, encode_enveloped};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::document::first_difference;
use crate::fixtures::{Encodings, Fixture};

/// The checks in the order they run; the first that fails stops the kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// A `.json`, `.yaml` or `.pb` file is missing or unreadable.
    Read,
    /// The envelope or the message does not decode, or names another kind.
    ProtobufDecode,
    /// Protobuf does not re-encode to the expected bytes.
    ProtobufReencode,
    /// The JSON file does not decode into the type.
    JsonDecode,
    /// The YAML file does not decode into the type.
    YamlDecode,
    /// The three decoded values are not equal.
    DecodedValuesDiffer,
    /// JSON does not re-encode to the expected document.
    JsonReencode,
    /// YAML does not re-encode to the expected document.
    YamlReencode,
}

/// A check that failed, with what it saw.
#[derive(Debug)]
pub struct Failure {
    /// Which check.
    pub step: Step,
    /// What differed or which error came back.
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.step, self.detail)
    }
}

fn fail<T>(step: Step, detail: impl Into<String>) -> Result<T, Failure> {
    Err(Failure {
        step,
        detail: detail.into(),
    })
}

/// Runs every check on `fixture` with the type `K`.
pub fn check_kind<K>(fixture: &Fixture) -> Result<(), Failure>
where
    K: Message + k8s_openapi::Resource + Serialize + DeserializeOwned + PartialEq + Debug,
{
    let written = read_all(&fixture.written)?;
    let after = read_present(&fixture.after_roundtrip)?;

    let envelope =
        Envelope::decode(&written.pb).or_else(|e| fail(Step::ProtobufDecode, format!("envelope: {e}")))?;
    if let Err(error) = envelope.expect_kind(K::API_VERSION, K::KIND) {
        return fail(Step::ProtobufDecode, error.to_string());
    }
    let from_pb: K = decode_message(envelope.raw).or_else(|e| fail(Step::ProtobufDecode, e.to_string()))?;
    let encoded = encode_enveloped(K::API_VERSION, K::KIND, |writer| from_pb.encode_fields(writer));
    let expected_pb = after.pb.as_deref().unwrap_or(&written.pb);
    if encoded != expected_pb {
        return fail(Step::ProtobufReencode, byte_difference(&encoded, expected_pb));
    }

    let from_json: K =
        serde_json::from_slice(&written.json).or_else(|e| fail(Step::JsonDecode, e.to_string()))?;
    let yaml_tree = read_yaml(&written.yaml).or_else(|e| fail(Step::YamlDecode, e))?;
    let from_yaml: K =
        serde_json::from_value(yaml_tree).or_else(|e| fail(Step::YamlDecode, e.to_string()))?;
    if from_pb != from_json {
        return fail(
            Step::DecodedValuesDiffer,
            format!("protobuf and JSON differ:\n  pb:   {from_pb:?}\n  json: {from_json:?}"),
        );
    }
    if from_yaml != from_json {
        return fail(Step::DecodedValuesDiffer, "YAML and JSON differ");
    }

    let expected_json = after.json.as_deref().unwrap_or(&written.json);
    let expected_json: serde_json::Value = serde_json::from_slice(expected_json)
        .or_else(|e| fail(Step::JsonReencode, format!("fixture: {e}")))?;
    let json_again = serde_json::to_value(&from_json).or_else(|e| fail(Step::JsonReencode, e.to_string()))?;
    if let Some(difference) = first_difference(&json_again, &expected_json) {
        return fail(Step::JsonReencode, difference);
    }

    let expected_yaml = after.yaml.as_deref().unwrap_or(&written.yaml);
    let expected_yaml =
        read_yaml(expected_yaml).or_else(|e| fail(Step::YamlReencode, format!("fixture: {e}")))?;
    // klient reads YAML but does not write it; serde-saphyr writes, and klient reads that back.
    let yaml_again =
        serde_saphyr::to_string(&from_yaml).or_else(|e| fail(Step::YamlReencode, e.to_string()))?;
    let yaml_again =
        read_yaml(yaml_again.as_bytes()).or_else(|e| fail(Step::YamlReencode, format!("re-read: {e}")))?;
    match first_difference(&yaml_again, &expected_yaml) {
        Some(difference) => fail(Step::YamlReencode, difference),
        None => Ok(()),
    }
}

struct Bytes {
    json: Vec<u8>,
    yaml: Vec<u8>,
    pb: Vec<u8>,
}

struct PresentBytes {
    json: Option<Vec<u8>>,
    yaml: Option<Vec<u8>>,
    pb: Option<Vec<u8>>,
}

fn read_all(encodings: &Encodings) -> Result<Bytes, Failure> {
    let present = read_present(encodings)?;
    match present {
        PresentBytes {
            json: Some(json),
            yaml: Some(yaml),
            pb: Some(pb),
        } => Ok(Bytes { json, yaml, pb }),
        _ => fail(Step::Read, "the .json, .yaml and .pb files are not all there"),
    }
}

fn read_present(encodings: &Encodings) -> Result<PresentBytes, Failure> {
    let read = |path: &Option<std::path::PathBuf>| -> Result<Option<Vec<u8>>, Failure> {
        path.as_deref().map(read_file).transpose()
    };
    Ok(PresentBytes {
        json: read(&encodings.json)?,
        yaml: read(&encodings.yaml)?,
        pb: read(&encodings.pb)?,
    })
}

fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).or_else(|e| fail(Step::Read, format!("{}: {e}", path.display())))
}

/// Where two encodings part, with a few bytes of context on each side.
fn byte_difference(ours: &[u8], expected: &[u8]) -> String {
    let at = ours
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .unwrap_or(ours.len().min(expected.len()));
    let around = |bytes: &[u8]| {
        format!(
            "{:02x?}",
            &bytes[at.saturating_sub(8)..(at + 24).min(bytes.len())]
        )
    };
    format!(
        "{} bytes vs {} expected, first difference at byte {at}:\n  ours:     {}\n  expected: {}",
        ours.len(),
        expected.len(),
        around(ours),
        around(expected)
    )
}

/// A YAML document as klient reads it (kubeconfigs, manifests): into a JSON tree.
fn read_yaml(bytes: &[u8]) -> Result<serde_json::Value, String> {
    klient_proto::yaml::read_document(bytes, &klient_proto::yaml::YamlLimits::default())
        .map_err(|e| e.to_string())
}
