//! What most end-to-end tests start with: a client for the admin kubeconfig and a namespace of
//! their own, deleted when the test ends.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use klient_blocking::core::{DeleteParams, PostParams};
use klient_blocking::{Api, Client, Config};

use crate::Cluster;

/// A client for the cluster admin (bearer token).
pub fn admin_client(cluster: &Cluster) -> Client {
    let config = Config::from_kubeconfig(cluster.admin_kubeconfig()).expect("admin kubeconfig resolves");
    Client::new(config).expect("admin client")
}

/// A name no other test (or earlier run) uses: `prefix`, the process id and a per-process counter.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .subsec_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}-{}", std::process::id(), nanos % 100_000)
}

/// A namespace created through klient with a unique name and ready for pods (its default service
/// account exists), deleted (without waiting) on drop.
pub struct TestNamespace {
    client: Client,
    name: String,
}

impl TestNamespace {
    /// Creates `<prefix>-<pid>-<n>-<nanos>`.
    pub fn create(client: &Client, prefix: &str) -> TestNamespace {
        let namespace = TestNamespace::create_for_objects(client, prefix);
        // Pods are refused until the controller manager has made the namespace's default
        // service account; wait for it so that no test races it.
        let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &namespace.name);
        wait_for(
            &format!("the default service account of {}", namespace.name),
            Duration::from_secs(30),
            || accounts.get_opt("default").ok().flatten(),
        );
        namespace
    }

    /// Creates `<prefix>-<pid>-<n>-<nanos>` for objects other than pods, without waiting for the
    /// controller manager (which may still be reconnecting after an API server restart).
    pub fn create_for_objects(client: &Client, prefix: &str) -> TestNamespace {
        let name = unique_name(prefix);
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let ns: Namespace =
            serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).expect("a Namespace");
        namespaces
            .create(&PostParams::default(), &ns)
            .unwrap_or_else(|e| panic!("creating namespace {name}: {e}"));
        TestNamespace {
            client: client.clone(),
            name,
        }
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// An `Api` of the namespaced kind `K` in this namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: klient_blocking::core::Resource<
                DynamicType = (),
                Scope = klient_blocking::core::NamespaceResourceScope,
            >,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let _ = namespaces.delete(&self.name, &DeleteParams::background());
    }
}

/// A pod bound to the kwok node (so it turns Running), one container `main`, optional labels.
pub fn kwok_pod(name: &str, labels: serde_json::Value) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "nodeName": "kwok-node-0",
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "main", "image": "busybox"}],
        },
    }))
    .expect("a Pod")
}

/// Polls `check` every 100 ms until it returns `Some`, panicking with `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Creates a kwok pod and waits until it is Running.
pub fn running_pod(pods: &Api<Pod>, name: &str) -> Pod {
    pods.create(
        &PostParams::default(),
        &kwok_pod(name, serde_json::json!({"app": name})),
    )
    .unwrap_or_else(|e| panic!("creating pod {name}: {e}"));
    wait_for(&format!("pod {name} Running"), Duration::from_secs(60), || {
        let pod = pods.get(name).ok()?;
        let phase = pod.status.as_ref()?.phase.as_deref()?;
        (phase == "Running").then_some(pod)
    })
}

/// The reason and code of a call that must fail with an API error; panics when it succeeded or
/// failed some other way.
pub fn api_error<T: std::fmt::Debug>(
    result: klient_blocking::Result<T>,
) -> (klient_blocking::core::StatusReason, u16) {
    let err = result.expect_err("the call should have failed");
    let api = err.api().unwrap_or_else(|| panic!("not an API error: {err}"));
    (api.reason.clone(), api.code)
}

/// Makes sure a watch of ConfigMaps from resourceVersion 2 is answered with 410 Expired, as on any
/// cluster that has run a while: a young kube-apiserver's watch cache still replays from its start,
/// so ConfigMap churn is made in `namespace` until the cache has dropped its oldest events
/// (it keeps events younger than about 75 s). Fails loudly after 4 minutes.
pub fn age_configmap_watch_cache(client: &Client, namespace: &str) {
    use k8s_openapi::api::core::v1::ConfigMap;
    use klient_blocking::core::WatchParams;
    use klient_blocking::watch_core::WatchEvent;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let expired = || {
        let params = WatchParams {
            resource_version: Some("2".into()),
            timeout_seconds: Some(1),
            ..Default::default()
        };
        matches!(cms.watch(&params).ok().and_then(|mut s| s.next()), Some(Ok(WatchEvent::Error(status))) if status.code == 410)
    };
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut round = 0u32;
    while !expired() {
        assert!(
            Instant::now() < deadline,
            "the watch cache still serves resourceVersion 2 after 4 minutes of churn"
        );
        for _ in 0..20 {
            round += 1;
            let cm: ConfigMap =
                serde_json::from_value(serde_json::json!({"metadata": {"name": format!("churn-{round}")}}))
                    .unwrap();
            let _ = cms.create(&PostParams::default(), &cm);
            let _ = cms.delete(&format!("churn-{round}"), &DeleteParams::default());
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}
