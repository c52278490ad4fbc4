//! Every shared end-to-end scenario (`tests/scenarios/`) on klient-tokio, each on a
//! multi-threaded tokio runtime of its own.

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

mod adapter {
    use super::*;

    use klient_e2e::{Cluster, TestNamespace};
    pub use klient_tokio::api::Api;
    pub use klient_tokio::{Client, Config, Discovery};

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
}

#[path = "../scenarios/mod.rs"]
mod scenarios;
