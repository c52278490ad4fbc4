// What the shared scenarios need of klient-async-std (included by its test binaries, after they
// name the executor: `use klient_e2e::executors::<one> as executor;`). `w!`, `next!`, `pause!`
// and the I/O macros await with futures-io's traits and async-io's timer; `adapter` has its
// types, an admin client and the runner (the chosen executor).

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
        async_io::Timer::after($duration).await
    };
}

/// Reads `reader` to its end.
macro_rules! read_to_end {
    ($reader:expr) => {{
        let mut out = Vec::new();
        futures_util::io::AsyncReadExt::read_to_end(&mut $reader, &mut out)
            .await
            .expect("readable to the end");
        out
    }};
}

/// Reads what is there into `buf`: how much.
macro_rules! read_some {
    ($reader:expr, $buf:expr) => {
        futures_util::io::AsyncReadExt::read(&mut $reader, $buf)
            .await
            .expect("readable")
    };
}

/// Writes all of `data`.
macro_rules! write_all {
    ($writer:expr, $data:expr) => {
        futures_util::io::AsyncWriteExt::write_all(&mut $writer, $data)
            .await
            .expect("writable")
    };
}

/// Runs `$body` beside the scenario (as the executor spawns); `join!` gives its value.
macro_rules! spawn {
    ($body:block) => {
        crate::adapter::spawn_part(async move { $body })
    };
}

/// Runs the blocking `$body` (joining threads, say) on a thread of smol's blocking pool, so that no
/// executor thread blocks; `join!` gives its value.
#[allow(unused_macros)] // only the listener scenarios wait on threads
macro_rules! spawn_thread {
    ($body:block) => {
        smol::unblock(move || $body)
    };
}

macro_rules! join {
    ($handle:expr) => {
        $handle.await
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
    ($listener:expr, $timeout:expr) => {{
        let serve = std::pin::pin!($listener.serve());
        let timer = std::pin::pin!(async_io::Timer::after($timeout));
        match futures_util::future::select(serve, timer).await {
            futures_util::future::Either::Left((ended, _)) => Some(ended),
            futures_util::future::Either::Right(_) => None,
        }
    }};
}

/// A forwarded port's stream as a reader and a writer.
macro_rules! split {
    ($stream:expr) => {
        futures_util::io::AsyncReadExt::split($stream)
    };
}

/// Half-closes a writer: the other side reads the end of input.
#[allow(unused_macros)] // only the tunnel scenarios (a binary of their own) half-close
macro_rules! shutdown {
    ($writer:expr) => {
        futures_util::io::AsyncWriteExt::close(&mut $writer)
            .await
            .expect("half-closable")
    };
}

/// Reads what is there into `buf`: how much, or the error.
#[allow(unused_macros)] // only the tunnel scenarios (a binary of their own) expect a failure
macro_rules! read_result {
    ($reader:expr, $buf:expr) => {
        futures_util::io::AsyncReadExt::read(&mut $reader, $buf).await
    };
}

mod adapter {
    use super::*;

    pub use klient_async_std::api::Api;
    pub use klient_async_std::{Client, Config, Discovery, PortForwardListener};
    #[allow(unused_imports)] // only the tunnel scenarios (a binary of their own) use it
    pub use klient_async_std::Tunnel;
    use klient_e2e::{Cluster, TestNamespace};

    /// A watcher whose objects lose their managedFields before they are handed out.
    #[allow(dead_code)] // only the watch scenarios use it
    pub fn stripped_watcher<K>(
        api: Api<K>,
        config: klient_async_std::runtime::watcher::Config,
    ) -> futures_util::stream::BoxStream<'static, klient_async_std::Result<klient_proto::watch::Event<K>>>
    where
        K: klient_proto::api::Resource
            + klient_proto::api::ResourceExt
            + serde::de::DeserializeOwned
            + Clone
            + Send
            + Sync
            + 'static,
    {
        use klient_async_std::runtime::WatchStreamExt;
        klient_async_std::runtime::watcher(api, config).modify(|object| object.strip_managed_fields())
    }

    /// The watcher of an async adapter.
    pub type Watching<K> = klient_e2e::AsyncWatching<K, klient_async_std::AsyncIo>;

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

    /// Runs a scenario on the binary's executor.
    pub fn run(scenario: impl Future<Output = ()> + Send + 'static) {
        super::executor::run(scenario)
    }

    /// Runs a part of a scenario beside it.
    pub fn spawn_part<T: Send + 'static>(
        part: impl Future<Output = T> + Send + 'static,
    ) -> klient_e2e::executors::Part<T> {
        super::executor::spawn(part)
    }

    /// What is running in the background: this adapter has no tasks, so this process's threads
    /// (none of which may be klient's).
    #[allow(dead_code)] // only the cancellation scenario asks
    pub fn background() -> usize {
        std::fs::read_dir("/proc/self/task")
            .expect("/proc/self/task (these tests need Linux)")
            .count()
    }
}
