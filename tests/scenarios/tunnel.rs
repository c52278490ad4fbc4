// kubectl's port-forward tunnel against the real API server and the harness's kubelet (k8s.io's
// own streaming library): every connection over one upgrade — the SPDY session inside a
// WebSocket, or directly on SPDY — each connection's bytes intact and its half-close real, and a
// connection dropped halfway ending alone.
//
// The upgrades are counted by the API server itself (`apiserver_request_total` for CONNECT on
// `pods/portforward`), so these scenarios run in a binary of their own, one at a time
// (`crate::ONE_AT_A_TIME`).

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use klient_e2e::{Cluster, TestNamespace, admin_client, running_pod};
use klient_proto::remote::TunnelCarrier;

use super::adapter;

/// CONNECT requests on `pods/portforward` the API server has counted, every status summed.
fn portforward_upgrades(fixtures: &klient_blocking::Client) -> u64 {
    let response = fixtures
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

/// Waits until the API server has counted `expected` upgrades (it counts one when it ends),
/// then checks that no more come.
fn assert_upgrades(fixtures: &klient_blocking::Client, expected: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while portforward_upgrades(fixtures) < expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(portforward_upgrades(fixtures), expected, "upgrades counted by the API server");
}

/// A namespace with one Running pod `box` on the harness's kubelet.
fn sandbox(fixtures: &klient_blocking::Client, prefix: &str) -> TestNamespace {
    let namespace = TestNamespace::create(fixtures, prefix);
    running_pod(&namespace.api::<Pod>(), "box");
    namespace
}

/// The bytes connection `i` sends: distinct per connection, so a mix-up shows.
fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| (j.wrapping_mul(31) ^ i.wrapping_mul(2_654_435_761)) as u8)
        .collect()
}

/// Opens `connections` connections to the echo server through `tunnel` at once; each sends its
/// payload, half-closes, and reads until the echo server's half-close, every byte checked.
async fn echo_through(tunnel: &std::sync::Arc<adapter::Tunnel>, port: u16, connections: usize, len: usize) {
    let mut parts = Vec::new();
    for i in 0..connections {
        let stream = w!(tunnel.connect(port)).expect("a connection through the tunnel");
        parts.push(spawn!({
            let (mut reader, mut writer) = split!(stream);
            let sent = payload(i, len);
            let to_send = sent.clone();
            let pusher = spawn!({
                for chunk in to_send.chunks(100_000) {
                    write_all!(writer, chunk);
                }
                shutdown!(writer);
            });
            let echoed = read_to_end!(reader);
            join!(pusher);
            assert_eq!(echoed.len(), len, "connection {i}: bytes echoed");
            assert!(echoed == sent, "connection {i}: the echo differs");
        }));
    }
    for part in parts {
        join!(part);
    }
}

fn every_connection_over_one_upgrade(carriers: &'static [TunnelCarrier], expected: TunnelCarrier, connections: usize) {
    let _serial = crate::ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    adapter::run(async move {
        let cluster = Cluster::get();
        let fixtures = admin_client(&cluster);
        let namespace = sandbox(&fixtures, "tunnel");
        let before = portforward_upgrades(&fixtures);
        let tunnel = w!(adapter::client().portforward_tunnel_over(namespace.name(), "box", carriers)).unwrap();
        assert_eq!(tunnel.carrier(), expected);
        let tunnel = std::sync::Arc::new(tunnel);
        // Two rounds: connections come and go on the same tunnel.
        echo_through(&tunnel, cluster.echo_port(), connections, 1 << 20).await;
        echo_through(&tunnel, cluster.echo_port(), connections / 4, 4 << 20).await;
        let tunnel = std::sync::Arc::into_inner(tunnel).expect("no connection holds the tunnel");
        w!(tunnel.close());
        assert_upgrades(&fixtures, before + 1);
    });
}

#[test]
fn a_hundred_connections_share_one_websocket_tunnel() {
    every_connection_over_one_upgrade(&klient_proto::remote::TUNNEL_CARRIERS, TunnelCarrier::WebSocket, 100);
}

#[test]
fn sixteen_connections_share_one_direct_spdy_upgrade() {
    every_connection_over_one_upgrade(&[TunnelCarrier::Spdy], TunnelCarrier::Spdy, 16);
}

#[test]
fn a_dropped_connection_resets_alone_and_the_tunnel_goes_on() {
    let _serial = crate::ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    adapter::run(async move {
        let cluster = Cluster::get();
        let fixtures = admin_client(&cluster);
        let namespace = sandbox(&fixtures, "tunnel-dropped");
        let before = portforward_upgrades(&fixtures);
        let pods: adapter::Api<Pod> = adapter::api(&namespace);
        let tunnel = w!(pods.portforward_tunnel("box")).unwrap();
        assert_eq!(tunnel.carrier(), TunnelCarrier::WebSocket);
        let good = w!(tunnel.connect(cluster.echo_port())).unwrap();
        let (mut reader, mut writer) = split!(good);
        let mut buf = [0u8; 64];
        write_all!(writer, b"before");
        let mut got = Vec::new();
        while got.len() < 6 {
            let n = read_some!(reader, &mut buf);
            assert!(n > 0, "the echo ended early");
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"before");
        // A connection dropped halfway resets its streams; the tunnel and the other connection go on.
        let mut dropped = w!(tunnel.connect(cluster.echo_port())).unwrap();
        write_all!(dropped, b"lost");
        drop(dropped);
        write_all!(writer, b"after!");
        shutdown!(writer);
        assert_eq!(read_to_end!(reader), b"after!");
        w!(tunnel.close());
        // Counted once the server's side ends, which the next scenario must not see.
        assert_upgrades(&fixtures, before + 1);
    });
}
