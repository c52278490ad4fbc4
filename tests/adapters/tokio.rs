// What the shared scenarios need of klient-tokio (included by its test binaries).
// `w!`, `next!`, `pause!` and the I/O macros await; `adapter` has its types, an admin
// client and the runner (a multi-threaded tokio runtime per scenario).

use std::future::Future;

macro_rules! w {
    ($call:expr) => {
        $call.await
    };
}

macro_rules! next {
    ($stream:expr) => {
        futures_util::StreamExt::next(&mut $stream).await
    };
}

macro_rules! pause {
    ($duration:expr) => {
        tokio::time::sleep($duration).await
    };
}

/// Reads `reader` to its end.
macro_rules! read_to_end {
    ($reader:expr) => {{
        let mut out = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut $reader, &mut out)
            .await
            .expect("readable to the end");
        out
    }};
}

/// Reads what is there into `buf`: how much.
macro_rules! read_some {
    ($reader:expr, $buf:expr) => {
        tokio::io::AsyncReadExt::read(&mut $reader, $buf)
            .await
            .expect("readable")
    };
}

/// Writes all of `data`.
macro_rules! write_all {
    ($writer:expr, $data:expr) => {
        tokio::io::AsyncWriteExt::write_all(&mut $writer, $data)
            .await
            .expect("writable")
    };
}

/// Runs `$body` beside the scenario (a task here); `join!` gives its value.
macro_rules! spawn {
    ($body:block) => {
        tokio::spawn(async move { $body })
    };
}

/// Runs the blocking `$body` (joining threads, say) where it blocks no worker of the runtime: a
/// task blocked on a worker keeps the task in that worker's LIFO slot from running (no other
/// worker may take it), which stalled the listener it waited for. `join!` gives its value.
#[allow(unused_macros)] // only the listener scenarios wait on threads
macro_rules! spawn_thread {
    ($body:block) => {
        tokio::task::spawn_blocking(move || $body)
    };
}

macro_rules! join {
    ($handle:expr) => {
        $handle.await.expect("the spawned part of the scenario")
    };
}

/// `$wait` while `$listener` forwards connections: its `serve()` is polled beside `$wait` (on
/// tokio that only watches; on the futures-io adapter it is what runs the listener).
macro_rules! while_serving {
    ($listener:expr, $wait:expr) => {{
        let serve = std::pin::pin!($listener.serve());
        let wait = std::pin::pin!(async { $wait });
        match futures_util::future::select(serve, wait).await {
            futures_util::future::Either::Right((value, _)) => value,
            futures_util::future::Either::Left((ended, _)) => panic!("the listener stopped by itself: {ended:?}"),
        }
    }};
}

/// `$listener.serve()` for at most `$timeout`: its outcome, or `None` when it had not ended.
#[allow(unused_macros)] // only the listener scenarios wait for a listener's end
macro_rules! serve_until {
    ($listener:expr, $timeout:expr) => {
        tokio::time::timeout($timeout, $listener.serve()).await.ok()
    };
}

/// A forwarded port's stream as a reader and a writer.
macro_rules! split {
    ($stream:expr) => {
        tokio::io::split($stream)
    };
}

/// Half-closes a writer: the other side reads the end of input.
#[allow(unused_macros)] // only the tunnel scenarios (a binary of their own) half-close
macro_rules! shutdown {
    ($writer:expr) => {
        tokio::io::AsyncWriteExt::shutdown(&mut $writer)
            .await
            .expect("half-closable")
    };
}

/// Reads what is there into `buf`: how much, or the error.
#[allow(unused_macros)] // only the tunnel scenarios (a binary of their own) expect a failure
macro_rules! read_result {
    ($reader:expr, $buf:expr) => {
        tokio::io::AsyncReadExt::read(&mut $reader, $buf).await
    };
}

mod adapter {
    use super::*;

    use klient_e2e::{Cluster, TestNamespace};
    pub use klient_tokio::api::Api;
    pub use klient_tokio::{Client, Config, Discovery, PortForwardListener};
    #[allow(unused_imports)] // only the tunnel scenarios (a binary of their own) use it
    pub use klient_tokio::Tunnel;

    /// A watcher whose objects lose their managedFields before they are handed out.
    #[allow(dead_code)] // only the watch scenarios use it
    pub fn stripped_watcher<K>(
        api: Api<K>,
        config: klient_tokio::runtime::watcher::Config,
    ) -> futures_util::stream::BoxStream<'static, klient_tokio::Result<klient_proto::watch::Event<K>>>
    where
        K: klient_proto::api::Resource
            + klient_proto::api::ResourceExt
            + serde::de::DeserializeOwned
            + Clone
            + Send
            + Sync
            + 'static,
    {
        use klient_tokio::runtime::WatchStreamExt;
        klient_tokio::runtime::watcher(api, config).modify(|object| object.strip_managed_fields())
    }

    /// The watcher of an async adapter.
    pub type Watching<K> = klient_e2e::AsyncWatching<K, klient_tokio::Tokio>;

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

    /// Runs a scenario on a multi-threaded tokio runtime.
    pub fn run(scenario: impl Future<Output = ()>) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(scenario)
    }

    /// What is running in the background: the runtime's alive tasks.
    #[allow(dead_code)] // only the cancellation scenario asks
    pub fn background() -> usize {
        tokio::runtime::Handle::current().metrics().num_alive_tasks()
    }
}
