//! What the protobuf end-to-end tests share: a client that prefers protobuf, and the checks that
//! the bytes really were protobuf and that kubectl reads in JSON what klient wrote in protobuf.

use std::time::Duration;

use klient_blocking::core::{Format, GetParams, Resource, decode_negotiated};
use klient_blocking::{Api, Client, Config};
use serde::de::DeserializeOwned;

use crate::{Cluster, wait_for};

/// The Content-Type of a protobuf object or list.
pub const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
/// The Content-Type of a protobuf watch stream.
pub const PROTOBUF_WATCH: &str = "application/vnd.kubernetes.protobuf;stream=watch";

/// A client of the cluster admin whose `Api`s prefer protobuf.
pub fn protobuf_client(cluster: &Cluster) -> Client {
    let mut config = Config::from_kubeconfig(cluster.admin_kubeconfig()).expect("admin kubeconfig resolves");
    config.format = Format::Protobuf;
    Client::new(config).expect("admin client")
}

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

/// What klient returned from a protobuf write is what kubectl reads in JSON. When a controller
/// changed the object since (a pod's status, a CRD's conditions), a fresh protobuf read at the
/// version kubectl sees is compared instead.
pub fn assert_kubectl_reads<K>(cluster: &Cluster, api: &Api<K>, resource: &str, returned: &K)
where
    K: Resource + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let name = returned.name().expect("a named object").to_owned();
    let namespace = api.namespace();
    let theirs: K = kubectl_get(cluster, namespace, resource, &name);
    if resource_version(&theirs) == resource_version(returned) {
        assert_eq!(&theirs, returned, "kubectl reads {resource} {name} differently");
        return;
    }
    let (ours, theirs) = wait_for(
        &format!("klient and kubectl to read {resource} {name} at one version"),
        Duration::from_secs(30),
        || {
            let ours = api.get(&name).expect("protobuf get");
            let theirs: K = kubectl_get(cluster, namespace, resource, &name);
            (resource_version(&ours) == resource_version(&theirs)).then_some((ours, theirs))
        },
    );
    assert_eq!(theirs, ours, "kubectl reads {resource} {name} differently");
}

/// A raw GET with the `Api`'s own request: the answer is protobuf on the wire, and decodes to
/// what the `Api` returns.
pub fn assert_protobuf_on_the_wire<K>(api: &Api<K>, name: &str)
where
    K: Resource + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    assert_eq!(api.format(), Format::Protobuf);
    let request = api.request_builder().get(name, &GetParams::default()).unwrap();
    assert_eq!(
        request.headers()["accept"],
        "application/vnd.kubernetes.protobuf, application/json"
    );
    let response = api.client().send(request).unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.content_type(), Some(PROTOBUF));
    assert!(response.body.starts_with(b"k8s\0"), "no protobuf magic");
    let raw: K = decode_negotiated(200, response.content_type(), &response.body).unwrap();
    let typed = api.get(name).unwrap();
    if resource_version(&raw) == resource_version(&typed) {
        assert_eq!(raw, typed);
    }
}
