//! Every shared end-to-end scenario (`tests/scenarios/`) on klient-blocking.

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

mod adapter {
    use super::*;

    pub use klient_blocking::{Api, Client, Config, Discovery};
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

#[path = "../scenarios/mod.rs"]
mod scenarios;
