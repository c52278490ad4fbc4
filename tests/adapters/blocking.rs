// What the shared scenarios need of klient-blocking (included by its test binaries).
// `w!`, `next!`, `pause!` and the I/O macros are the identity or std's blocking calls;
// `adapter` has its types, an admin client and the runner.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

macro_rules! w {
    ($call:expr) => {
        $call
    };
}

macro_rules! next {
    ($stream:expr) => {
        Iterator::next(&mut $stream)
    };
}

macro_rules! pause {
    ($duration:expr) => {
        std::thread::sleep($duration)
    };
}

/// Reads `reader` to its end.
macro_rules! read_to_end {
    ($reader:expr) => {{
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut $reader, &mut out).expect("readable to the end");
        out
    }};
}

/// Reads what is there into `buf`: how much.
macro_rules! read_some {
    ($reader:expr, $buf:expr) => {
        std::io::Read::read(&mut $reader, $buf).expect("readable")
    };
}

/// Writes all of `data`.
macro_rules! write_all {
    ($writer:expr, $data:expr) => {
        std::io::Write::write_all(&mut $writer, $data).expect("writable")
    };
}

/// Runs `$body` beside the scenario (a thread here); `join!` gives its value.
macro_rules! spawn {
    ($body:block) => {
        std::thread::spawn(move || $body)
    };
}

/// Runs the blocking `$body` (joining threads, say) on a thread of its own; `join!` gives its value.
#[allow(unused_macros)] // only the listener scenarios wait on threads
macro_rules! spawn_thread {
    ($body:block) => {
        std::thread::spawn(move || $body)
    };
}

macro_rules! join {
    ($handle:expr) => {
        $handle.join().expect("the spawned part of the scenario")
    };
}

/// `$wait` while `$listener` forwards connections (it has threads of its own here).
macro_rules! while_serving {
    ($listener:expr, $wait:expr) => {{
        let _ = &$listener;
        $wait
    }};
}

/// `$listener.serve()` (the listener in an `Arc`) for at most `$timeout`: its outcome, or `None`
/// when it had not ended.
#[allow(unused_macros)] // only the listener scenarios wait for a listener's end
macro_rules! serve_until {
    ($listener:expr, $timeout:expr) => {{
        let listener = std::sync::Arc::clone(&$listener);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(listener.serve());
        });
        rx.recv_timeout($timeout).ok()
    }};
}

/// A forwarded port's stream as a reader and a writer.
macro_rules! split {
    ($stream:expr) => {{
        let stream = $stream;
        let writer = stream.writer();
        (stream, writer)
    }};
}

/// Half-closes a writer: the other side reads the end of input.
#[allow(unused_macros)] // only the tunnel scenarios (a binary of their own) half-close
macro_rules! shutdown {
    ($writer:expr) => {
        $writer.shutdown_write().expect("half-closable")
    };
}

/// Reads what is there into `buf`: how much, or the error.
#[allow(unused_macros)] // only the tunnel scenarios (a binary of their own) expect a failure
macro_rules! read_result {
    ($reader:expr, $buf:expr) => {
        std::io::Read::read(&mut $reader, $buf)
    };
}

mod adapter {
    use super::*;

    pub use klient_blocking::{Api, Client, Config, Discovery, PortForwardListener};

    /// A watcher whose objects lose their managedFields before they are handed out.
    #[allow(dead_code)] // only the watch scenarios use it
    pub fn stripped_watcher<K>(
        api: Api<K>,
        config: klient_blocking::WatchConfig,
    ) -> impl Iterator<Item = klient_blocking::Result<klient_proto::watch::Event<K>>>
    where
        K: klient_proto::api::Resource + klient_proto::api::ResourceExt + serde::de::DeserializeOwned,
    {
        klient_blocking::watcher(api, config).modify(|object| object.strip_managed_fields())
    }
    #[allow(unused_imports)] // only the tunnel scenarios (a binary of their own) use it
    pub use klient_blocking::Tunnel;
    use klient_e2e::{Cluster, TestNamespace};

    /// The watcher of the blocking adapter, on a thread of its own.
    pub type Watching<K> = klient_e2e::BackgroundWatcher<K>;

    /// A client for the cluster admin.
    pub fn client() -> Client {
        let config = Config::from_kubeconfig(Cluster::get().admin_kubeconfig()).expect("admin kubeconfig");
        Client::try_from(config).expect("admin client")
    }

    /// An `Api` of the admin client in `namespace`.
    pub fn api<K>(namespace: &TestNamespace) -> Api<K>
    where
        K: klient_proto::api::Resource<DynamicType = (), Scope = klient_proto::api::NamespaceResourceScope>,
    {
        Api::namespaced(client(), namespace.name())
    }

    /// Runs a scenario: on this adapter its future never waits, so one poll finishes it.
    pub fn run(scenario: impl Future<Output = ()>) {
        let mut scenario = pin!(scenario);
        match scenario.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(()) => {}
            Poll::Pending => panic!("a klient-blocking scenario waited on a future"),
        }
    }
}

