//! klient-blocking's `PortForwardListener` (a local port whose connections are forwarded to a
//! pod) against the real API server and the harness's kubelet. The async adapters have no
//! listener yet; when they do, this becomes a shared scenario.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use klient_blocking::core::{DeleteParams, PostParams};
use klient_blocking::{Api, Client, Config};
use klient_e2e::Cluster;

/// A namespace with one Running pod `box`, deleted at the end.
struct Sandbox {
    client: Client,
    namespace: String,
}

impl Sandbox {
    fn new(cluster: &Cluster, prefix: &str) -> Sandbox {
        let client = Client::new(Config::from_kubeconfig(cluster.admin_kubeconfig()).unwrap()).unwrap();
        let namespace = format!("{prefix}-{}", std::process::id());
        let ns: Namespace =
            serde_json::from_value(serde_json::json!({"metadata": {"name": namespace}})).unwrap();
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .unwrap();
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "box"},
            "spec": {"nodeName": "kwok-node-0", "containers": [{"name": "main", "image": "busybox"}]}
        }))
        .unwrap();
        Api::<Pod>::namespaced(client.clone(), &namespace)
            .create(&PostParams::default(), &pod)
            .unwrap();
        cluster.kubectl_ok(&[
            "wait",
            "--for=jsonpath={.status.phase}=Running",
            "-n",
            &namespace,
            "pod/box",
            "--timeout=60s",
        ]);
        Sandbox { client, namespace }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = Api::<Namespace>::all(self.client.clone()).delete(&self.namespace, &DeleteParams::default());
    }
}

#[test]
fn listener_forwards_many_concurrent_connections() {
    let cluster = Cluster::get();
    let sandbox = Sandbox::new(&cluster, "pf-listener");
    let listener = klient_blocking::PortForwardListener::bind(
        &sandbox.client,
        &sandbox.namespace,
        "box",
        cluster.echo_port(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap();
    let address = listener.local_addr();
    let workers: Vec<_> = (0..16u8)
        .map(|id| {
            std::thread::spawn(move || {
                let mut connection = TcpStream::connect(address).unwrap();
                connection
                    .set_read_timeout(Some(Duration::from_secs(60)))
                    .unwrap();
                let payload: Vec<u8> = (0..256 * 1024u32).map(|i| (i as u8) ^ id).collect();
                let mut writer = connection.try_clone().unwrap();
                let sent = payload.clone();
                let sender = std::thread::spawn(move || writer.write_all(&sent).unwrap());
                let mut echoed = vec![0u8; payload.len()];
                connection.read_exact(&mut echoed).unwrap();
                sender.join().unwrap();
                assert!(echoed == payload, "connection {id} got different bytes back");
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a forwarded connection failed");
    }
    listener.stop();
}
