//! What the protobuf end-to-end scenarios share that does not depend on the adapter: the
//! Content-Types, fixtures from JSON, and kubectl's reading of an object (the adapter-side checks
//! are in `tests/scenarios/protobuf_support.rs`).

use klient_proto::api::Resource;
use serde::de::DeserializeOwned;

use crate::Cluster;

/// The Content-Type of a protobuf object or list.
pub const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
/// The Content-Type of a protobuf watch stream.
pub const PROTOBUF_WATCH: &str = "application/vnd.kubernetes.protobuf;stream=watch";

/// A typed object from its JSON form (test fixtures are easiest to read as JSON).
pub fn object_from<K: DeserializeOwned>(value: serde_json::Value) -> K {
    serde_json::from_value(value).expect("a valid object")
}

/// The object's resourceVersion, empty when unset.
pub fn resource_version<K: Resource>(object: &K) -> String {
    object.resource_version().unwrap_or_default().to_owned()
}

/// kubectl's JSON of one object (managedFields included), decoded into the k8s-openapi type.
pub fn kubectl_get<K: DeserializeOwned>(
    cluster: &Cluster,
    namespace: Option<&str>,
    resource: &str,
    name: &str,
) -> K {
    let mut args = vec!["get", resource, name, "-o", "json", "--show-managed-fields"];
    if let Some(namespace) = namespace {
        args.extend(["-n", namespace]);
    }
    let out = cluster.kubectl_ok(&args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("kubectl's {resource} {name} as k8s-openapi: {e}"))
}
