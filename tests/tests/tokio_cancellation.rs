//! klient-tokio under load and cancellation, against the real API server: one client shared by a
//! thousand concurrent gets never holds more connections than its limit, and a future, stream or
//! session (exec, port-forward, listener) dropped at any await leaves no socket and no task behind.
//!
//! One test per binary: it counts this process's sockets, which other tests would disturb.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use klient_e2e::{Cluster, TestNamespace, admin_client, running_pod};
use klient_proto::api::{ListParams, PostParams, WatchParams};
use klient_tokio::api::Api;
use klient_tokio::runtime::watcher;
use klient_tokio::{AttachParams, Client, Config, PortForwardListener};
use serde_json::json;

/// This process's open sockets (Linux: the fds that link to `socket:[…]`).
fn open_sockets() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd (these tests need Linux)")
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

/// Samples [`open_sockets`] every millisecond on a thread until dropped; `peak` is the most seen.
struct SocketSampler {
    peak: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl SocketSampler {
    fn start() -> SocketSampler {
        let peak = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(open_sockets(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        SocketSampler { peak, stop }
    }

    fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }
}

impl Drop for SocketSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn client(max_connections: usize) -> Client {
    let mut config = Config::from_kubeconfig(Cluster::get().admin_kubeconfig()).expect("admin kubeconfig");
    config.max_connections = max_connections;
    Client::try_from(config).expect("admin client")
}

#[test]
fn a_thousand_concurrent_gets_within_the_limit_and_nothing_left_after_drops() {
    let fixtures = admin_client(&Cluster::get());
    let ns = TestNamespace::create(&fixtures, "tokio-load");
    running_pod(&ns.api(), "box");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        const LIMIT: usize = 8;
        let client = client(LIMIT);
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
        for i in 0..50 {
            let cm: ConfigMap = serde_json::from_value(
                json!({"metadata": {"name": format!("cm-{i}")}, "data": {"k": "x".repeat(2000)}}),
            )
            .unwrap();
            cms.create(&PostParams::default(), &cm).await.unwrap();
        }

        // 1,000 gets at once from one client: every one answered, never more than LIMIT sockets.
        let before = open_sockets();
        let sampler = SocketSampler::start();
        let gets = (0..1000).map(|i| {
            let cms = cms.clone();
            tokio::spawn(async move { cms.get(&format!("cm-{}", i % 50)).await })
        });
        let results = futures_util::future::join_all(gets).await;
        let peak = sampler.peak();
        drop(sampler);
        let ok = results.into_iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
        assert_eq!(ok, 1000, "every get answered");
        assert!(
            peak <= before + LIMIT,
            "at most {LIMIT} connections at once: {peak} sockets at the peak, {before} before"
        );
        assert!(peak > before, "the sampler saw the connections");

        // Drops at every kind of await; after each, the client still works and nothing is left.
        let settled = open_sockets();
        let tasks = tokio::runtime::Handle::current().metrics().num_alive_tasks();
        assert_eq!(tasks, 0, "the gets' tasks have ended");
        // Mid-body: a list of 50 ConfigMaps of 2 kB, dropped as soon as it has started.
        let everything = ListParams::default();
        for _ in 0..20 {
            let list = cms.list(&everything);
            let _ = tokio::time::timeout(Duration::from_micros(300), list).await;
        }
        // Mid-watch: a stream dropped after its first event.
        let mut watch = cms.watch(&WatchParams::default()).await.unwrap();
        assert!(watch.next().await.is_some(), "a first event");
        drop(watch);
        // Mid-watcher: dropped during its initial list, and again once it is watching.
        let mut view = watcher(cms.clone(), Default::default());
        let _ = view.next().await;
        drop(view);
        let mut view = watcher(cms.clone(), Default::default());
        for _ in 0..52 {
            view.next().await.unwrap().unwrap();
        }
        drop(view);
        // Mid-exec: a command still running, its process dropped (the session is closed).
        let pods: Api<Pod> = Api::namespaced(client.clone(), ns.name());
        let params = AttachParams::default();
        let process = pods
            .exec("box", &["sh", "-c", "sleep 30"], &params)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(process);
        // Mid-port-forward: bytes in flight both ways, everything dropped.
        let port = Cluster::get().echo_port();
        let mut forwarder = pods.portforward("box", &[port]).await.unwrap();
        let mut stream = forwarder.take_stream(port).unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stream, &[7u8; 100_000])
            .await
            .unwrap();
        let mut some = [0u8; 1000];
        tokio::io::AsyncReadExt::read_exact(&mut stream, &mut some)
            .await
            .unwrap();
        drop((forwarder, stream));
        // A listener with a connection forwarding, dropped.
        let listener =
            PortForwardListener::bind(&client, ns.name(), "box", port, "127.0.0.1:0".parse().unwrap())
                .await
                .unwrap();
        let mut local = tokio::net::TcpStream::connect(listener.local_addr())
            .await
            .unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut local, b"ping")
            .await
            .unwrap();
        let mut pong = [0u8; 4];
        tokio::io::AsyncReadExt::read_exact(&mut local, &mut pong)
            .await
            .unwrap();
        assert_eq!(&pong, b"ping");
        drop(listener);
        drop(local);
        // The next request on the same client succeeds...
        assert_eq!(
            cms.get("cm-7").await.unwrap().metadata.name.as_deref(),
            Some("cm-7")
        );
        // ... and once the dropped connections are closed, no more sockets and tasks than before.
        let mut now = open_sockets();
        for _ in 0..50 {
            if now <= settled {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            now = open_sockets();
        }
        assert!(
            now <= settled,
            "{now} sockets open after the drops, {settled} before"
        );
        assert_eq!(
            tokio::runtime::Handle::current().metrics().num_alive_tasks(),
            tasks,
            "no task left running"
        );
    });
}
