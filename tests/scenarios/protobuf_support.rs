//! What the protobuf scenarios share, on the adapter under test: a client that prefers protobuf,
//! and the checks that the bytes really were protobuf and that kubectl reads in JSON what klient
//! wrote in protobuf.

use std::time::Duration;

use klient_e2e::{Cluster, PROTOBUF, kubectl_get, resource_version};
use klient_proto::api::{Format, GetParams, Resource, decode_negotiated};
use serde::de::DeserializeOwned;

use crate::adapter::{Api, Client, Config};

/// A client of the cluster admin whose `Api`s prefer protobuf.
pub fn protobuf_client(cluster: &Cluster) -> Client {
    let mut config = Config::from_kubeconfig(cluster.admin_kubeconfig()).expect("admin kubeconfig resolves");
    config.format = Format::Protobuf;
    Client::try_from(config).expect("admin client")
}

/// What klient returned from a protobuf write is what kubectl reads in JSON. When a controller
/// changed the object since (a pod's status, a CRD's conditions), a fresh protobuf read at the
/// version kubectl sees is compared instead.
pub async fn assert_kubectl_reads<K>(cluster: &Cluster, api: &Api<K>, resource: &str, returned: &K)
where
    K: Resource + DeserializeOwned + PartialEq + std::fmt::Debug + Send + 'static,
{
    let name = returned.name().expect("a named object").to_owned();
    let namespace = api.namespace();
    let theirs: K = kubectl_get(cluster, namespace, resource, &name);
    if resource_version(&theirs) == resource_version(returned) {
        assert_eq!(&theirs, returned, "kubectl reads {resource} {name} differently");
        return;
    }
    let (ours, theirs) = wait_until!(
        format!("klient and kubectl to read {resource} {name} at one version"),
        Duration::from_secs(30),
        {
            let ours = w!(api.get(&name)).expect("protobuf get");
            let theirs: K = kubectl_get(cluster, namespace, resource, &name);
            (resource_version(&ours) == resource_version(&theirs)).then_some((ours, theirs))
        },
    );
    assert_eq!(theirs, ours, "kubectl reads {resource} {name} differently");
}

/// A raw GET with the `Api`'s own request: the answer is protobuf on the wire, and decodes to
/// what the `Api` returns.
pub async fn assert_protobuf_on_the_wire<K>(api: &Api<K>, name: &str)
where
    K: Resource + DeserializeOwned + PartialEq + std::fmt::Debug + Send + 'static,
{
    assert_eq!(api.format(), Format::Protobuf);
    let request = api.request_builder().get(name, &GetParams::default()).unwrap();
    assert_eq!(
        request.headers()["accept"],
        "application/vnd.kubernetes.protobuf, application/json"
    );
    let response = w!(api.client().send(request)).unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.content_type(), Some(PROTOBUF));
    assert!(response.body.starts_with(b"k8s\0"), "no protobuf magic");
    let raw: K = decode_negotiated(200, response.content_type(), &response.body).unwrap();
    let typed = w!(api.get(name)).unwrap();
    if resource_version(&raw) == resource_version(&typed) {
        assert_eq!(raw, typed);
    }
}
