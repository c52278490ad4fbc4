// An async adapter under load and cancellation, against the real API server: one client shared
// by a thousand concurrent gets never holds more connections than its limit, and a future,
// stream or session (exec, port-forward, listener) dropped at any await leaves no socket and no
// task or thread behind. Written once for every async adapter (`tests/cancellation.rs` runs it
// on each in turn: it counts this process's sockets, which other tests would disturb).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::select;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use klient_e2e::{Cluster, TestNamespace, admin_client, running_pod};
use klient_proto::api::{ListParams, PostParams, WatchParams};
use klient_proto::remote::AttachParams;
use serde_json::json;

use super::adapter::{Api, Client, Config, PortForwardListener};

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
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SocketSampler {
    fn start() -> SocketSampler {
        let peak = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(open_sockets(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        SocketSampler {
            peak,
            stop,
            thread: Some(thread),
        }
    }

    fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }
}

impl Drop for SocketSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn client(max_connections: usize) -> Client {
    let mut config = Config::from_kubeconfig(Cluster::get().admin_kubeconfig()).expect("admin kubeconfig");
    config.max_connections = max_connections;
    Client::try_from(config).expect("admin client")
}

/// Runs the scenario on this adapter.
pub fn a_thousand_concurrent_gets_within_the_limit_and_nothing_left_after_drops() {
    let fixtures = admin_client(&Cluster::get());
    let ns = TestNamespace::create(&fixtures, "async-load");
    running_pod(&ns.api(), "box");
    let namespace = ns.name().to_owned();
    super::adapter::run(async move {
        const LIMIT: usize = 8;
        let client = client(LIMIT);
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
        for i in 0..50 {
            let cm: ConfigMap = serde_json::from_value(
                json!({"metadata": {"name": format!("cm-{i}")}, "data": {"k": "x".repeat(2000)}}),
            )
            .unwrap();
            w!(cms.create(&PostParams::default(), &cm)).unwrap();
        }

        // 1,000 gets at once from one client (futures of one task, so that every executor runs
        // them alike): every one answered, never more than LIMIT sockets.
        let before = open_sockets();
        let sampler = SocketSampler::start();
        let gets = (0..1000).map(|i| {
            let cms = cms.clone();
            async move { cms.get(&format!("cm-{}", i % 50)).await }
        });
        let results = w!(futures_util::future::join_all(gets));
        let peak = sampler.peak();
        drop(sampler);
        let ok = results.into_iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1000, "every get answered");
        assert!(
            peak <= before + LIMIT,
            "at most {LIMIT} connections at once: {peak} sockets at the peak, {before} before"
        );
        assert!(peak > before, "the sampler saw the connections");

        // Drops at every kind of await; after each, the client still works and nothing is left.
        let settled = open_sockets();
        let background = super::adapter::background();
        // Mid-body: a list of 50 ConfigMaps of 2 kB, dropped as soon as it has started.
        let everything = ListParams::default();
        for _ in 0..20 {
            let list = std::pin::pin!(cms.list(&everything));
            let soon = std::pin::pin!(async { pause!(Duration::from_micros(300)) });
            let _ = w!(select(list, soon));
        }
        // Mid-watch: a stream dropped after its first event.
        let mut watch = w!(cms.watch(&WatchParams::default())).unwrap();
        assert!(next!(watch).is_some(), "a first event");
        drop(watch);
        // Mid-watcher: dropped during its initial list, and again once it is watching.
        let mut view = Box::pin(klient_async::watcher(cms.clone(), Default::default()));
        let _ = next!(view);
        drop(view);
        let mut view = Box::pin(klient_async::watcher(cms.clone(), Default::default()));
        for _ in 0..52 {
            next!(view).unwrap().unwrap();
        }
        drop(view);
        // Mid-exec: a command still running, its process dropped (the session is closed).
        let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
        let process = w!(pods.exec("box", &["sh", "-c", "sleep 30"], &AttachParams::default())).unwrap();
        pause!(Duration::from_millis(200));
        drop(process);
        // Mid-port-forward: bytes in flight both ways, everything dropped.
        let port = Cluster::get().echo_port();
        let mut forwarder = w!(pods.portforward("box", &[port])).unwrap();
        let mut stream = forwarder.take_stream(port).unwrap();
        write_all!(stream, &[7u8; 100_000]);
        let mut some = [0u8; 1000];
        let mut got = 0;
        while got < some.len() {
            got += read_some!(stream, &mut some[got..]);
        }
        drop((forwarder, stream));
        // A listener with a connection forwarding, dropped.
        let listener = w!(PortForwardListener::bind(
            &client,
            &namespace,
            "box",
            port,
            "127.0.0.1:0".parse().unwrap()
        ))
        .unwrap();
        let address = listener.local_addr();
        // The local end is the test's own: a std socket on a thread, answering through a channel
        // that any executor can await.
        let (answer, pinged) = futures_channel::oneshot::channel();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            let mut local = std::net::TcpStream::connect(address).unwrap();
            local.write_all(b"ping").unwrap();
            let mut pong = [0u8; 4];
            local.read_exact(&mut pong).unwrap();
            // Sent with the pong: the connection stays open while the listener is dropped.
            let _ = answer.send((pong, local));
        });
        let (pong, local) = while_serving!(listener, pinged.await.expect("the local connection"));
        assert_eq!(&pong, b"ping");
        drop(listener);
        drop(local);
        // The next request on the same client succeeds...
        assert_eq!(
            w!(cms.get("cm-7")).unwrap().metadata.name.as_deref(),
            Some("cm-7")
        );
        // ... and once the dropped connections are closed, no more sockets, tasks or threads
        // than before.
        for _ in 0..50 {
            if open_sockets() <= settled && super::adapter::background() <= background {
                break;
            }
            pause!(Duration::from_millis(100));
        }
        let now = open_sockets();
        assert!(
            now <= settled,
            "{now} sockets open after the drops, {settled} before"
        );
        assert_eq!(
            super::adapter::background(),
            background,
            "no task or thread left running"
        );
    });
}
