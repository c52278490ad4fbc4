//! kubectl's port-forward tunnel on klient-blocking, against the real API server and the
//! harness's kubelet (k8s.io's own streaming library): every connection over one upgrade, the
//! SPDY session inside a WebSocket or directly on SPDY, each connection's bytes intact and its
//! half-close real, and a connection dropped halfway ending alone.
//!
//! The upgrades are counted by the API server itself (`apiserver_request_total` for CONNECT on
//! `pods/portforward`), so the tests in this file run one at a time.

use std::io::{Read, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use klient_blocking::{Api, Client, Tunnel, TunnelCarrier};
use klient_e2e::{Cluster, TestNamespace, admin_client, running_pod};

/// Serializes the tests of this file, whose upgrade counts would see each other's.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// CONNECT requests on `pods/portforward` the API server has counted, every status summed.
fn portforward_upgrades(client: &Client) -> u64 {
    let response = client
        .send(http::Request::get("/metrics").body(Vec::new()).unwrap())
        .expect("the API server's metrics");
    let text = String::from_utf8(response.body.to_vec()).expect("metrics are text");
    text.lines()
        .filter(|line| {
            line.starts_with("apiserver_request_total{")
                && line.contains("subresource=\"portforward\"")
                && line.contains("verb=\"CONNECT\"")
        })
        .map(|line| line.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64)
        .sum()
}

/// Waits until the API server has counted `expected` upgrades, then checks that no more come.
fn assert_upgrades(client: &Client, expected: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while portforward_upgrades(client) < expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        portforward_upgrades(client),
        expected,
        "upgrades counted by the API server"
    );
}

/// A namespace with one Running pod `box` on the harness's kubelet.
fn sandbox(client: &Client, prefix: &str) -> (TestNamespace, Api<Pod>) {
    let namespace = TestNamespace::create(client, prefix);
    let pods: Api<Pod> = namespace.api();
    running_pod(&pods, "box");
    (namespace, pods)
}

/// The bytes connection `i` sends: distinct per connection, so a mix-up shows.
fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| (j.wrapping_mul(31) ^ i.wrapping_mul(2_654_435_761)) as u8)
        .collect()
}

/// Opens `connections` connections to the echo server through `tunnel` at once; each sends its
/// payload from a writer thread, half-closes, and reads until the echo server's half-close.
fn echo_through(tunnel: &Tunnel, port: u16, connections: usize, len: usize) {
    let streams: Vec<_> = (0..connections).map(|_| tunnel.connect(port).unwrap()).collect();
    std::thread::scope(|scope| {
        for (i, mut stream) in streams.into_iter().enumerate() {
            scope.spawn(move || {
                let sent = payload(i, len);
                let mut writer = stream.writer();
                let to_send = sent.clone();
                let pusher = std::thread::spawn(move || {
                    for chunk in to_send.chunks(100_000) {
                        writer.write_all(chunk).unwrap();
                    }
                    writer.shutdown_write().unwrap();
                });
                let mut echoed = Vec::with_capacity(len);
                stream.read_to_end(&mut echoed).unwrap();
                pusher.join().unwrap();
                assert_eq!(echoed.len(), len, "connection {i}: bytes echoed");
                assert!(echoed == sent, "connection {i}: the echo differs");
            });
        }
    });
}

fn every_connection_over_one_upgrade(
    carriers: &[TunnelCarrier],
    expected: TunnelCarrier,
    connections: usize,
) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = Cluster::get();
    let client = admin_client(&cluster);
    let (namespace, _pods) = sandbox(&client, "tunnel");
    let before = portforward_upgrades(&client);
    let tunnel = client
        .portforward_tunnel_over(namespace.name(), "box", carriers)
        .unwrap();
    assert_eq!(tunnel.carrier(), expected);
    // Two rounds: connections come and go on the same tunnel.
    echo_through(&tunnel, cluster.echo_port(), connections, 1 << 20);
    echo_through(&tunnel, cluster.echo_port(), connections / 4, 4 << 20);
    tunnel.close();
    assert_upgrades(&client, before + 1);
}

#[test]
fn a_hundred_connections_share_one_websocket_tunnel() {
    every_connection_over_one_upgrade(
        &[TunnelCarrier::WebSocket, TunnelCarrier::Spdy],
        TunnelCarrier::WebSocket,
        100,
    );
}

#[test]
fn sixteen_connections_share_one_direct_spdy_upgrade() {
    every_connection_over_one_upgrade(&[TunnelCarrier::Spdy], TunnelCarrier::Spdy, 16);
}

#[test]
fn a_dropped_connection_resets_alone_and_the_tunnel_goes_on() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = Cluster::get();
    let client = admin_client(&cluster);
    let (_namespace, pods) = sandbox(&client, "tunnel-dropped");
    let before = portforward_upgrades(&client);
    let tunnel = pods.portforward_tunnel("box").unwrap();
    assert_eq!(tunnel.carrier(), TunnelCarrier::WebSocket);
    let mut good = tunnel.connect(cluster.echo_port()).unwrap();
    good.write_all(b"before").unwrap();
    let mut buf = [0u8; 6];
    good.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"before");
    // A connection dropped halfway resets its streams; the tunnel and the other connection go on.
    let dropped = tunnel.connect(cluster.echo_port()).unwrap();
    drop(dropped);
    good.write_all(b"after!").unwrap();
    good.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"after!");
    good.shutdown_write().unwrap();
    let mut rest = Vec::new();
    good.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    tunnel.close();
    // Counted once the server's side ends, which the next test must not see.
    assert_upgrades(&client, before + 1);
}
