//! A first pass of klient-blocking against the real API server: connect, list, create, read.

use k8s_openapi::api::core::v1::{Namespace, Node};
use klient_blocking::core::{DeleteParams, ListParams, PostParams};
use klient_blocking::{Api, Client, Config};
use klient_e2e::Cluster;

#[test]
fn lists_nodes_and_round_trips_a_namespace() {
    let cluster = Cluster::get();
    let client = Client::new(Config::from_kubeconfig(cluster.admin_kubeconfig()).unwrap()).unwrap();
    let nodes: Api<Node> = Api::all(client.clone());
    let list = nodes.list(&ListParams::default()).unwrap();
    assert!(
        list.items
            .iter()
            .any(|n| n.metadata.name.as_deref() == Some("kwok-node-0"))
    );

    let namespaces: Api<Namespace> = Api::all(client);
    let name = format!("smoke-{}", std::process::id());
    let ns: Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).unwrap();
    let created = namespaces.create(&PostParams::default(), &ns).unwrap();
    assert_eq!(created.metadata.name.as_deref(), Some(name.as_str()));
    let got = namespaces.get(&name).unwrap();
    assert_eq!(got.metadata.uid, created.metadata.uid);
    let err = namespaces.create(&PostParams::default(), &ns).unwrap_err();
    assert!(err.api().unwrap().is_already_exists(), "{err}");
    namespaces.delete(&name, &DeleteParams::default()).unwrap();
}
