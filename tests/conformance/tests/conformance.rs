//! Every kind of the upstream k8s.io/api round-trip fixtures (`<group>.<version>.<Kind>.{json,yaml,pb}`)
//! that k8s-openapi has a type for: protobuf, JSON and YAML decode to the same value, protobuf
//! re-encodes byte-identical, JSON and YAML re-encode to values equal to the fixture documents.
//! Kinds without a type are counted and listed. Fixtures: `KLIENT_CONFORMANCE_DIR`, by default
//! `shared/conformance/k8s-api-v0.36.3` beside the repository.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::path::{Path, PathBuf};

use klient_proto::protobuf::{Envelope, Message, ResourceVisitor, Value, decode_message, encode_enveloped};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn fixture_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KLIENT_CONFORMANCE_DIR") {
        return dir.into();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/k8s-api-v0.36.3")
}

/// Collects one check per resource type that has a fixture.
struct Runner {
    dir: PathBuf,
    fixtures: BTreeSet<String>,
    checked: Vec<String>,
    protobuf_only: Vec<String>,
    types_without_fixture: Vec<String>,
    failures: Vec<String>,
}

impl ResourceVisitor for Runner {
    fn visit<K>(&mut self)
    where
        K: Message
            + Value
            + k8s_openapi::Resource
            + Serialize
            + DeserializeOwned
            + Clone
            + PartialEq
            + Debug
            + 'static,
    {
        let group = if K::GROUP.is_empty() { "core" } else { K::GROUP };
        let name = format!("{group}.{}.{}", K::VERSION, K::KIND);
        if !self.fixtures.remove(&name) {
            self.types_without_fixture.push(name);
            return;
        }
        match check::<K>(&self.dir.join(&name)) {
            Ok(()) => self.checked.push(name),
            Err(note) if note.starts_with(PROTOBUF_ONLY) => {
                self.protobuf_only.push(format!("{name}: {note}"))
            }
            Err(failure) => self.failures.push(format!("{name}: {failure}")),
        }
    }
}

/// Fixtures whose JSON k8s-openapi cannot hold, with the reason. For these only the protobuf
/// checks apply (decode, byte-identical re-encode); they are counted and printed apart.
const JSON_NOT_REPRESENTABLE: &[(&str, &str)] = &[(
    "policy.v1.PodDisruptionBudget",
    "status.disruptedPods maps to a zero time, which Go writes as null; k8s-openapi's BTreeMap<String, Time> has no null",
)];

/// Prefix of a check result that is not a failure: protobuf passed, JSON cannot be represented.
const PROTOBUF_ONLY: &str = "protobuf only: ";

fn check<K>(base: &Path) -> Result<(), String>
where
    K: Message + k8s_openapi::Resource + Serialize + DeserializeOwned + PartialEq + Debug,
{
    let read = |extension: &str| {
        let mut path = base.as_os_str().to_owned();
        path.push(format!(".{extension}"));
        std::fs::read(&path).map_err(|error| format!("{extension}: {error}"))
    };
    let (pb, json, yaml) = (read("pb")?, read("json")?, read("yaml")?);

    let envelope = Envelope::decode(&pb).map_err(|error| format!("pb envelope: {error}"))?;
    envelope
        .expect_kind(K::API_VERSION, K::KIND)
        .map_err(|error| error.to_string())?;
    let from_pb: K = decode_message(envelope.raw).map_err(|error| format!("pb decode: {error}"))?;
    let encoded = encode_enveloped(K::API_VERSION, K::KIND, |writer| from_pb.encode_fields(writer));
    if encoded != pb {
        let at = encoded
            .iter()
            .zip(&pb)
            .position(|(a, b)| a != b)
            .unwrap_or(encoded.len().min(pb.len()));
        return Err(format!(
            "protobuf re-encodes differently ({} bytes vs {}), first difference at byte {at}:\n  ours:     {:02x?}\n  fixture:  {:02x?}",
            encoded.len(),
            pb.len(),
            &encoded[at.saturating_sub(8)..(at + 24).min(encoded.len())],
            &pb[at.saturating_sub(8)..(at + 24).min(pb.len())],
        ));
    }

    let from_json: K = match serde_json::from_slice(&json) {
        Ok(value) => value,
        Err(error) => {
            let message = format!("json decode: {error}");
            return match JSON_NOT_REPRESENTABLE
                .iter()
                .find(|(kind, _)| base.ends_with(kind))
            {
                Some((_, why)) => Err(format!("{PROTOBUF_ONLY}{message} ({why})")),
                None => Err(message),
            };
        }
    };
    let yaml_text = String::from_utf8(yaml).map_err(|error| format!("yaml: {error}"))?;
    let from_yaml: K = serde_saphyr::from_str(&yaml_text).map_err(|error| format!("yaml decode: {error}"))?;
    if from_pb != from_json {
        return Err(format!(
            "protobuf and JSON decode differently:\n  pb:   {from_pb:?}\n  json: {from_json:?}"
        ));
    }
    if from_yaml != from_json {
        return Err("YAML and JSON decode differently".into());
    }

    let json_document: serde_json::Value =
        serde_json::from_slice(&json).map_err(|error| error.to_string())?;
    let json_again = serde_json::to_value(&from_json).map_err(|error| format!("json encode: {error}"))?;
    if let Some(difference) = first_difference(&json_again, &json_document, "") {
        return Err(format!("JSON re-encodes to another document: {difference}"));
    }
    let yaml_document: serde_json::Value =
        serde_saphyr::from_str(&yaml_text).map_err(|error| error.to_string())?;
    let yaml_again_text =
        serde_saphyr::to_string(&from_yaml).map_err(|error| format!("yaml encode: {error}"))?;
    let yaml_again: serde_json::Value =
        serde_saphyr::from_str(&yaml_again_text).map_err(|error| format!("yaml re-read: {error}"))?;
    if let Some(difference) = first_difference(&yaml_again, &yaml_document, "") {
        return Err(format!("YAML re-encodes to another document: {difference}"));
    }
    Ok(())
}

/// The first place two JSON documents differ; numbers compare by value (`1` equals `1.0`).
fn first_difference(ours: &serde_json::Value, theirs: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value::{Array, Number, Object};
    match (ours, theirs) {
        (Object(a), Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|key| match (a.get(key), b.get(key)) {
                (Some(x), Some(y)) => first_difference(x, y, &format!("{path}.{key}")),
                // k8s-openapi writes apiVersion/kind for every object whose type is a kind, also when
                // embedded (a StatefulSet's volumeClaimTemplates); Go leaves them out there.
                (Some(_), None) if !path.is_empty() && (key == "apiVersion" || key == "kind") => None,
                (x, y) => Some(format!("{path}.{key}: ours {x:?}, fixture {y:?}")),
            })
        }
        (Array(a), Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y, &format!("{path}[{i}]"))),
        (Number(a), Number(b)) if a.as_f64() == b.as_f64() => None,
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path}: ours {a}, fixture {b}")),
    }
}

fn main() {
    let dir = fixture_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|error| {
        panic!(
            "conformance fixtures not found at {} ({error}); set KLIENT_CONFORMANCE_DIR",
            dir.display()
        )
    });
    let mut by_kind: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in entries.filter_map(Result::ok) {
        let file = entry.file_name().to_string_lossy().into_owned();
        if let Some((kind, extension)) = file.rsplit_once('.') {
            by_kind
                .entry(kind.to_owned())
                .or_default()
                .insert(extension.to_owned());
        }
    }
    let incomplete: Vec<&String> = by_kind
        .iter()
        .filter(|(_, e)| e.len() != 3)
        .map(|(k, _)| k)
        .collect();
    assert!(
        incomplete.is_empty(),
        "fixtures without all of .json/.yaml/.pb: {incomplete:?}"
    );

    let mut runner = Runner {
        dir,
        fixtures: by_kind.keys().cloned().collect(),
        checked: Vec::new(),
        protobuf_only: Vec::new(),
        types_without_fixture: Vec::new(),
        failures: Vec::new(),
    };
    klient_proto::protobuf::visit_resources(&mut runner);

    println!("conformance: {} fixture kinds", by_kind.len());
    let with_type = runner.checked.len() + runner.protobuf_only.len() + runner.failures.len();
    println!("  {with_type} kinds with a k8s-openapi (v1_36) type checked:");
    println!(
        "    {} passed every check (pb = json = yaml, pb byte-identical, json/yaml documents equal)",
        runner.checked.len()
    );
    println!(
        "    {} passed the protobuf checks; their JSON cannot be held by k8s-openapi:",
        runner.protobuf_only.len()
    );
    for note in &runner.protobuf_only {
        println!("      {note}");
    }
    println!("    {} failed", runner.failures.len());
    println!(
        "  {} kinds without a k8s-openapi type (not checked):",
        runner.fixtures.len()
    );
    for kind in &runner.fixtures {
        println!("    {kind}");
    }
    if !runner.types_without_fixture.is_empty() {
        println!(
            "  {} k8s-openapi resource types without a fixture: {:?}",
            runner.types_without_fixture.len(),
            runner.types_without_fixture
        );
    }
    for failure in &runner.failures {
        println!("FAILED {failure}");
    }
    assert!(
        runner.failures.is_empty(),
        "{} of {with_type} kinds failed",
        runner.failures.len()
    );
    assert!(!runner.checked.is_empty(), "no kind was checked");
}
