// kubectl's port-forward tunnel against the real API server and the harness's kubelet (k8s.io's
// own streaming library): every connection over one upgrade — the SPDY session inside a
// WebSocket, or directly on SPDY — each connection's bytes intact and its half-close real, and a
// connection dropped halfway ending alone; SPDY pings keep an idle tunnel through a proxy that
// closes idle connections, and a frozen kubelet is noticed within the deadline.
//
// The upgrades are counted by the API server itself (`apiserver_request_total` for CONNECT on
// `pods/portforward`), so these scenarios run in a binary of their own, one at a time
// (`crate::ONE_AT_A_TIME`), and each waits until the server has counted every upgrade it made
// (the server counts one when it ends) before it lets the next one start.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use klient_e2e::{ClientEnd, Cluster, IdleProxy, TestNamespace, admin_client, echo_clients, payload, running_pod};
use klient_proto::remote::{TunnelCarrier, TunnelOptions};
use klient_proto::spdy::SessionConfig;

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

fn every_connection_over_one_upgrade(carriers: &[TunnelCarrier], expected: TunnelCarrier, connections: usize) {
    let options = TunnelOptions {
        carriers: carriers.to_vec(),
        ..TunnelOptions::default()
    };
    let _serial = crate::ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    adapter::run(async move {
        let cluster = Cluster::get();
        let fixtures = admin_client(&cluster);
        let namespace = sandbox(&fixtures, "tunnel");
        let before = portforward_upgrades(&fixtures);
        let tunnel = w!(adapter::client().portforward_tunnel_with(namespace.name(), "box", &options)).unwrap();
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

/// Sends `message` on a new connection through `tunnel` and reads the echo: the error of the
/// first step that failed, if one did.
async fn echo_once(tunnel: &adapter::Tunnel, port: u16, message: &[u8]) -> std::io::Result<()> {
    let stream = w!(tunnel.connect(port))?;
    let (mut reader, mut writer) = split!(stream);
    write_all!(writer, message);
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while got.len() < message.len() {
        match read_result!(reader, &mut buf)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => got.extend_from_slice(&buf[..n]),
        }
    }
    assert_eq!(got, message);
    Ok(())
}

/// A client of the admin credentials that reaches the API server through `proxy`.
fn client_through(cluster: &Cluster, proxy: &IdleProxy) -> adapter::Client {
    let kubeconfig = std::fs::read_to_string(cluster.admin_kubeconfig()).expect("the admin kubeconfig");
    let through = kubeconfig.replace(&cluster.server_url(), &format!("https://{}", proxy.addr()));
    assert_ne!(through, kubeconfig, "the kubeconfig names the API server's URL");
    let path = std::env::temp_dir().join(format!("klient-idle-proxy-{}.kubeconfig", klient_e2e::unique_name("cfg")));
    std::fs::write(&path, through).expect("a temporary kubeconfig");
    let config = adapter::Config::from_kubeconfig(&path).expect("the proxied kubeconfig");
    let _ = std::fs::remove_file(&path);
    adapter::Client::try_from(config).expect("a client through the proxy")
}

#[test]
fn pings_keep_an_idle_tunnel_open_through_a_proxy_that_drops_idle_connections() {
    let _serial = crate::ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    adapter::run(async move {
        let cluster = Cluster::get();
        let fixtures = admin_client(&cluster);
        let namespace = sandbox(&fixtures, "tunnel-idle");
        let apiserver = format!("127.0.0.1:{}", cluster.apiserver_port()).parse().unwrap();
        let proxy = IdleProxy::start(apiserver, Duration::from_secs(2));
        let client = client_through(&cluster, &proxy);
        let port = cluster.echo_port();
        let pinging = TunnelOptions {
            session: SessionConfig {
                ping_interval: Some(Duration::from_millis(500)),
                ..SessionConfig::default()
            },
            ..TunnelOptions::default()
        };
        let silent = TunnelOptions {
            session: SessionConfig {
                ping_interval: None,
                ..SessionConfig::default()
            },
            ..TunnelOptions::default()
        };
        let before = portforward_upgrades(&fixtures);
        let kept = w!(client.portforward_tunnel_with(namespace.name(), "box", &pinging)).unwrap();
        let dropped = w!(client.portforward_tunnel_with(namespace.name(), "box", &silent)).unwrap();
        echo_once(&kept, port, b"before the pause").await.unwrap();
        echo_once(&dropped, port, b"before the pause").await.unwrap();
        // Idle for more than twice the proxy's limit. Where the runtime has no tasks the tunnel
        // pings only while polled, so the tunnel is driven while the scenario waits.
        while_serving!(kept, pause!(Duration::from_secs(5)));
        // Without pings the proxy closed that tunnel; with them it kept the other.
        assert_eq!(proxy.idle_closes(), 1, "the proxy closed exactly the silent tunnel");
        assert!(echo_once(&dropped, port, b"after").await.is_err(), "the silent tunnel survived the proxy");
        echo_once(&kept, port, b"after the pause").await.unwrap();
        w!(kept.close());
        w!(dropped.close());
        // Both counted once their server side ends, which the next scenario must not see.
        assert_upgrades(&fixtures, before + 2);
    });
}

#[test]
fn a_frozen_kubelet_fails_the_tunnel_within_the_deadline() {
    let _serial = crate::ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    adapter::run(async move {
        let cluster = Cluster::get();
        let fixtures = admin_client(&cluster);
        let namespace = sandbox(&fixtures, "tunnel-frozen");
        let port = cluster.echo_port();
        let options = TunnelOptions {
            session: SessionConfig {
                ping_interval: Some(Duration::from_millis(500)),
                peer_timeout: Duration::from_secs(2),
                ..SessionConfig::default()
            },
            ..TunnelOptions::default()
        };
        let before = portforward_upgrades(&fixtures);
        let tunnel = w!(adapter::client().portforward_tunnel_with(namespace.name(), "box", &options)).unwrap();
        let stream = w!(tunnel.connect(port)).unwrap();
        let (mut reader, mut writer) = split!(stream);
        write_all!(writer, b"ping");
        let mut buf = [0u8; 64];
        assert_eq!(read_result!(reader, &mut buf).unwrap(), 4);
        let frozen = Frozen::kubelet(&cluster);
        let started = Instant::now();
        // The kubelet's socket stays open, so only the unanswered pings can tell.
        write_all!(writer, b"lost");
        let failure = read_result!(reader, &mut buf).expect_err("a read from a frozen kubelet fails");
        let after = started.elapsed();
        drop(frozen);
        assert_eq!(failure.kind(), std::io::ErrorKind::TimedOut, "{failure}");
        assert!(after >= Duration::from_secs(2) && after < Duration::from_secs(6), "noticed after {after:?}");
        assert!(w!(tunnel.connect(port)).is_err(), "the failed tunnel takes no new connection");
        // The thawed kubelet serves a new tunnel.
        let fresh = w!(adapter::client().portforward_tunnel_with(namespace.name(), "box", &options)).unwrap();
        echo_once(&fresh, port, b"thawed").await.unwrap();
        drop((reader, writer));
        w!(tunnel.close());
        w!(fresh.close());
        // Both counted once their server side ends, which the next scenario must not see.
        assert_upgrades(&fixtures, before + 2);
    });
}

/// The harness's kubelet (kubelet-streams) stopped with SIGSTOP until this is dropped.
struct Frozen(String);

impl Frozen {
    fn kubelet(cluster: &Cluster) -> Frozen {
        let pid = std::fs::read_to_string(cluster.dir().join("kubelet-streams.pid")).expect("kubelet-streams.pid");
        let pid = pid.trim().to_owned();
        let status = std::process::Command::new("kill").args(["-STOP", &pid]).status().unwrap();
        assert!(status.success(), "SIGSTOP to kubelet-streams");
        Frozen(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-CONT", &self.0]).status();
    }
}

/// `connections` clients at once through a `PortForwardListener`, each sending 256 KiB, then
/// half-closing, then reading the echo to its end: every byte back, and one upgrade for all.
fn a_listener_carries_every_connection_over_one_upgrade(connections: usize) {
    let _serial = crate::ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    adapter::run(async move {
        let cluster = Cluster::get();
        let fixtures = admin_client(&cluster);
        let namespace = sandbox(&fixtures, "tunnel-listener");
        let before = portforward_upgrades(&fixtures);
        let listener = w!(adapter::PortForwardListener::bind(
            &adapter::client(),
            namespace.name(),
            "box",
            cluster.echo_port(),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .unwrap();
        let address = listener.local_addr();
        let workers = echo_clients(address, connections, 256 * 1024, ClientEnd::HalfClose);
        let all_done = spawn_thread!({
            for worker in workers {
                worker.join().expect("a forwarded connection failed");
            }
        });
        // On an adapter without tasks of its own the listener works while it is served.
        while_serving!(listener, join!(all_done));
        listener.stop();
        assert_upgrades(&fixtures, before + 1);
    });
}

#[test]
fn a_listener_carries_sixteen_connections_over_one_upgrade() {
    a_listener_carries_every_connection_over_one_upgrade(16);
}

#[test]
fn a_listener_carries_a_hundred_connections_over_one_upgrade() {
    a_listener_carries_every_connection_over_one_upgrade(100);
}

/// A connection whose reader stops taking bytes holds the whole tunnel back once its bounded
/// queue is full — another connection's echo waits — and, once it reads again, every byte of
/// both arrives: back-pressure instead of unbounded memory, and nothing dropped.
#[test]
fn a_reader_that_stops_holds_the_tunnel_back_and_loses_nothing() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let _serial = crate::ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    adapter::run(async move {
        let cluster = Cluster::get();
        let fixtures = admin_client(&cluster);
        let namespace = sandbox(&fixtures, "tunnel-held");
        let before = portforward_upgrades(&fixtures);
        let tunnel = w!(adapter::client().portforward_tunnel(namespace.name(), "box")).unwrap();
        let port = cluster.echo_port();

        // A sends 8 MiB and leaves its echo unread for now.
        let (mut a_reader, mut a_writer) = split!(w!(tunnel.connect(port)).unwrap());
        let sent_a = payload(0, 8 << 20);
        let to_send = sent_a.clone();
        let a_pusher = spawn!({
            for chunk in to_send.chunks(100_000) {
                write_all!(a_writer, chunk);
            }
            shutdown!(a_writer);
        });
        pause!(Duration::from_secs(2));

        // B's echo cannot come through while A's queue is full.
        let (mut b_reader, mut b_writer) = split!(w!(tunnel.connect(port)).unwrap());
        let b_done = Arc::new(AtomicBool::new(false));
        let done = b_done.clone();
        let b_part = spawn!({
            write_all!(b_writer, b"hello");
            shutdown!(b_writer);
            let echoed = read_to_end!(b_reader);
            done.store(true, Ordering::SeqCst);
            echoed
        });
        pause!(Duration::from_secs(2));
        assert!(
            !b_done.load(Ordering::SeqCst),
            "B's echo came through while A's reader held the tunnel"
        );

        let echoed_a = read_to_end!(a_reader);
        join!(a_pusher);
        assert!(echoed_a == sent_a, "A: {} bytes back, or different ones", echoed_a.len());
        assert_eq!(join!(b_part), b"hello");
        drop(a_reader);
        w!(tunnel.close());
        assert_upgrades(&fixtures, before + 1);
    });
}

/// A local port nothing listens on: the harness's kubelet dials the pod's ports on this
/// machine's loopback, so a connection to it is refused there, as a real pod refuses a port its
/// containers do not serve.
fn a_closed_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// The kubelet refusing one connection (its error stream says why) fails that connection alone:
/// the same tunnel then carries other connections, over the one upgrade.
#[test]
fn a_port_the_pod_refuses_fails_that_connection_alone() {
    let _serial = crate::ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    adapter::run(async move {
        let cluster = Cluster::get();
        let fixtures = admin_client(&cluster);
        let namespace = sandbox(&fixtures, "tunnel-refused");
        let before = portforward_upgrades(&fixtures);
        let tunnel = w!(adapter::client().portforward_tunnel(namespace.name(), "box")).unwrap();
        let tunnel = std::sync::Arc::new(tunnel);
        let closed = a_closed_port();
        for _ in 0..2 {
            let (mut reader, _writer) = split!(w!(tunnel.connect(closed)).expect("the streams open first"));
            let mut buf = [0u8; 16];
            let failure = read_result!(reader, &mut buf).expect_err("a port nothing listens on");
            assert!(
                failure.to_string().contains(&closed.to_string()),
                "the kubelet's reason names the port: {failure}"
            );
        }
        echo_through(&tunnel, cluster.echo_port(), 4, 256 * 1024).await;
        let tunnel = std::sync::Arc::into_inner(tunnel).expect("no connection holds the tunnel");
        w!(tunnel.close());
        assert_upgrades(&fixtures, before + 1);
    });
}

/// A listener outlives connections its pod refuses, and ends when the pod is gone: after the
/// pod is deleted, the next failed connection makes it read the pod, and `serve` ends with
/// `PodUnavailable`; the local port then refuses connections. (The harness's kubelet does not
/// know pods are deleted, so the connections fail on a closed port, as a real kubelet's fail
/// once their pod is gone.)
#[test]
fn a_listener_outlives_refused_connections_and_ends_when_its_pod_is_gone() {
    use std::io::Read;
    use std::net::TcpStream;

    use klient_proto::api::DeleteParams;
    use klient_proto::remote::Unavailability;

    /// Connects to the listener and reads until the forwarded connection is closed: how many bytes
    /// came (none should).
    fn refused_through(address: std::net::SocketAddr) -> usize {
        drain_closed(TcpStream::connect(address).expect("the listener accepts"))
    }

    /// Reads until the forwarded connection is closed: how many bytes came.
    fn drain_closed(mut connection: TcpStream) -> usize {
        connection.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut got = Vec::new();
        match connection.read_to_end(&mut got) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("the refused connection was not closed: {e}"),
        }
        got.len()
    }

    let _serial = crate::ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    adapter::run(async move {
        let cluster = Cluster::get();
        let fixtures = admin_client(&cluster);
        let namespace = sandbox(&fixtures, "listener-gone");
        let before = portforward_upgrades(&fixtures);
        let closed = a_closed_port();
        let listener = std::sync::Arc::new(
            w!(adapter::PortForwardListener::bind(
                &adapter::client(),
                namespace.name(),
                "box",
                closed,
                "127.0.0.1:0".parse().unwrap(),
            ))
            .unwrap(),
        );
        let address = listener.local_addr();
        // Refused connections close alone; the listener goes on (`while_serving!` fails if it ends).
        let refused = spawn_thread!({ (0..3).map(|_| refused_through(address)).sum::<usize>() });
        assert_eq!(while_serving!(listener, join!(refused)), 0, "bytes from a refused port");
        let still = spawn_thread!({ refused_through(address) });
        assert_eq!(while_serving!(listener, join!(still)), 0, "the listener still accepts");

        namespace
            .api::<Pod>()
            .delete("box", &DeleteParams::default().grace_period(0))
            .expect("deleting the pod");
        klient_e2e::wait_for("pod box gone", Duration::from_secs(30), || {
            namespace.api::<Pod>().get("box").is_err().then_some(())
        });
        // The next failed connection makes the listener read the pod. (A read still out for the
        // connections before may find it gone first: then the listener refuses this one.)
        let after = spawn_thread!({
            match TcpStream::connect(address) {
                Ok(connection) => drain_closed(connection),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => 0,
                Err(e) => panic!("connecting to the listener: {e}"),
            }
        });
        let ended = serve_until!(listener, Duration::from_secs(30)).expect("the listener ends by itself");
        assert_eq!(join!(after), 0);
        match ended {
            Err(klient_proto::Error::PodUnavailable(why)) => {
                // Gone for good, or still being deleted when a read already out saw it.
                assert!(
                    matches!(why.reason, Unavailability::NotFound | Unavailability::Deleting),
                    "{why}"
                );
                assert_eq!((why.namespace.as_str(), why.name.as_str()), (namespace.name(), "box"));
            }
            other => panic!("the listener ended with {other:?}"),
        }
        let refused = TcpStream::connect(address);
        assert!(refused.is_err(), "an ended listener still accepts connections");
        drop(listener);
        assert_upgrades(&fixtures, before + 1);
    });
}

/// A listener with no tunnel carrier (as against a server that offers no tunnel) forwards each
/// connection over a v4 WebSocket session of its own: every byte back, one upgrade per connection.
#[test]
fn a_listener_without_a_tunnel_gives_each_connection_a_session_of_its_own() {
    const CONNECTIONS: usize = 8;
    let _serial = crate::ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    adapter::run(async move {
        let cluster = Cluster::get();
        let fixtures = admin_client(&cluster);
        let namespace = sandbox(&fixtures, "listener-v4");
        let before = portforward_upgrades(&fixtures);
        let options = TunnelOptions {
            carriers: Vec::new(),
            ..TunnelOptions::default()
        };
        let listener = w!(adapter::PortForwardListener::bind_with(
            &adapter::client(),
            namespace.name(),
            "box",
            cluster.echo_port(),
            "127.0.0.1:0".parse().unwrap(),
            &options,
        ))
        .unwrap();
        let address = listener.local_addr();
        let workers = echo_clients(address, CONNECTIONS, 256 * 1024, ClientEnd::ReadBack);
        let all_done = spawn_thread!({
            for worker in workers {
                worker.join().expect("a forwarded connection failed");
            }
        });
        while_serving!(listener, join!(all_done));
        listener.stop();
        assert_upgrades(&fixtures, before + CONNECTIONS as u64);
    });
}
