//! Every error reason the server can be made to give, as klient's typed `StatusReason` and code.

use std::time::Duration;

use crate::adapter::{Api, Client, Config};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use klient_e2e::{Cluster, TestNamespace, admin_client, api_error, running_pod, unique_name};
use klient_proto::api::{EvictParams, ListParams, PostParams, StatusReason, decode_error};
use serde_json::json;

fn config_map(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}})).unwrap()
}

#[test]
fn not_found_already_exists_conflict_invalid_bad_request() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let client = crate::adapter::client();
        let ns = TestNamespace::create(&fixtures, "errors-basic");
        let cms: Api<ConfigMap> = crate::adapter::api(&ns);

        assert_eq!(api_error(w!(cms.get("absent"))), (StatusReason::NotFound, 404));
        let nowhere: Api<ConfigMap> = Api::namespaced(client.clone(), "no-such-namespace-klient");
        assert_eq!(
            api_error(w!(nowhere.create(&PostParams::default(), &config_map("x")))),
            (StatusReason::NotFound, 404)
        );

        let created = w!(cms.create(&PostParams::default(), &config_map("once"))).unwrap();
        let err = w!(cms.create(&PostParams::default(), &config_map("once"))).unwrap_err();
        let api = err.api().unwrap();
        assert_eq!((api.reason.clone(), api.code), (StatusReason::AlreadyExists, 409));
        assert!(api.is_already_exists());
        assert_eq!(api.details.as_ref().unwrap().name.as_deref(), Some("once"));

        let mut newer = created.clone();
        newer.data = Some([("k".to_owned(), "newer".to_owned())].into());
        w!(cms.replace("once", &PostParams::default(), &newer)).unwrap();
        // `created` now holds an outdated resourceVersion.
        let err = w!(cms.replace("once", &PostParams::default(), &created)).unwrap_err();
        assert!(err.api().unwrap().is_conflict(), "{err}");
        assert_eq!(err.api().unwrap().code, 409);

        // An invalid name: 422 with the offending field among the causes.
        let err = w!(cms.create(&PostParams::default(), &config_map("Not_A_Valid_Name"))).unwrap_err();
        let api = err.api().unwrap();
        assert_eq!((api.reason.clone(), api.code), (StatusReason::Invalid, 422));
        assert!(
            api.causes()
                .iter()
                .any(|c| c.field.as_deref() == Some("metadata.name")
                    && c.reason.as_deref() == Some("FieldValueInvalid")),
            "{api:?}"
        );

        // Malformed selectors are the request's fault: 400.
        assert_eq!(
            api_error(w!(cms.list(&ListParams::default().labels("a b!")))),
            (StatusReason::BadRequest, 400)
        );
        assert_eq!(
            api_error(w!(cms.list(&ListParams::default().fields("spec.unknown=1")))),
            (StatusReason::BadRequest, 400)
        );
    });
}

#[test]
fn forbidden_for_the_restricted_account_and_unauthorized_with_a_bad_token() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let restricted =
            Client::try_from(Config::from_kubeconfig(cluster.restricted_kubeconfig()).unwrap()).unwrap();
        assert_eq!(restricted.default_namespace(), "klient-restricted");
        // What it may do works...
        let own: Api<Pod> = Api::default_namespaced(restricted.clone());
        w!(own.list(&ListParams::default())).unwrap();
        // ...what it may not is Forbidden.
        let elsewhere: Api<Pod> = Api::namespaced(restricted.clone(), "default");
        let err = w!(elsewhere.list(&ListParams::default())).unwrap_err();
        let api = err.api().unwrap();
        assert_eq!((api.reason.clone(), api.code), (StatusReason::Forbidden, 403));
        assert!(api.message.contains("klient-restricted"), "{}", api.message);
        let cms: Api<ConfigMap> = Api::default_namespaced(restricted);
        assert_eq!(
            api_error(w!(cms.create(&PostParams::default(), &config_map("nope")))),
            (StatusReason::Forbidden, 403)
        );

        // A copy of the admin kubeconfig whose token the server does not know.
        let admin = std::fs::read_to_string(cluster.admin_kubeconfig()).unwrap();
        assert!(
            admin.contains("token: "),
            "the admin kubeconfig carries a bearer token"
        );
        let forged: String = admin
            .lines()
            .map(|line| match line.find("token: ") {
                Some(at) => format!("{}token: klient-not-a-real-token", &line[..at]),
                None => line.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let path = std::env::temp_dir().join(format!("{}.kubeconfig", unique_name("klient-bad-token")));
        std::fs::write(&path, forged).unwrap();
        let config = Config::from_kubeconfig(&path);
        std::fs::remove_file(&path).unwrap();
        let unknown = Client::try_from(config.unwrap()).unwrap();
        let pods: Api<Pod> = Api::namespaced(unknown, "default");
        assert_eq!(
            api_error(w!(pods.list(&ListParams::default()))),
            (StatusReason::Unauthorized, 401)
        );
    });
}

#[test]
fn expired_resource_version() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let fixtures = admin_client(&cluster);
        let ns = TestNamespace::create(&fixtures, "errors-expired");
        let cms: Api<ConfigMap> = crate::adapter::api(&ns);
        // Expired (410) from a resourceVersion older than the server keeps: a watch from revision 2,
        // which the watch cache of any running cluster has left behind. (Lists with old continue tokens
        // are answered from the cache's snapshots on a young cluster, so they are not a reliable probe.)
        cluster.compact_etcd();
        klient_e2e::age_configmap_watch_cache(&fixtures, ns.name());
        let mut stream = w!(cms.watch(&klient_proto::api::WatchParams {
            resource_version: Some("2".into()),
            ..Default::default()
        }))
        .unwrap();
        match next!(stream) {
            Some(Ok(klient_proto::watch::WatchEvent::Error(status))) => {
                assert_eq!(
                    (status.code, status.reason.as_str()),
                    (410, "Expired"),
                    "{status:?}"
                );
            }
            other => panic!("a watch from resourceVersion 2 did not start with a 410 ERROR event: {other:?}"),
        }
    });
}

#[test]
fn method_not_allowed_on_a_collection_put() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let client = crate::adapter::client();
        let ns = TestNamespace::create(&fixtures, "errors-method");
        // No Api verb makes this request: PUT is only served on a named object.
        let request = http::Request::put(format!("/api/v1/namespaces/{}/configmaps", ns.name()))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&config_map("x")).unwrap())
            .unwrap();
        let response = w!(client.send(request)).unwrap();
        let err = decode_error(response.status.as_u16(), &response.body);
        let api = err.api().unwrap_or_else(|| panic!("not a Status: {err}"));
        assert_eq!(
            (api.reason.clone(), api.code),
            (StatusReason::MethodNotAllowed, 405)
        );
    });
}

#[test]
fn too_many_requests_when_a_disruption_budget_blocks_eviction() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let fixtures = admin_client(&cluster);
        let ns = TestNamespace::create(&fixtures, "errors-pdb");
        running_pod(&ns.api(), "protected");
        let budgets: Api<PodDisruptionBudget> = crate::adapter::api(&ns);
        let pdb: PodDisruptionBudget = serde_json::from_value(json!({
            "metadata": {"name": "none-may-go"},
            "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "protected"}}},
        }))
        .unwrap();
        w!(budgets.create(&PostParams::default(), &pdb)).unwrap();
        wait_until!(
            "the disruption controller to observe the budget",
            Duration::from_secs(30),
            {
                // Bare pods have no scale to count against maxUnavailable: none may go either way.
                let status = w!(budgets.get_status("none-may-go")).ok()?.status?;
                (status.observed_generation == Some(1) && status.disruptions_allowed == Some(0)).then_some(())
            },
        );

        // The default client retries every 429 (0.5 + 1 + 2 s without Retry-After) before it gives
        // up; this test is about the error, so its client does not retry.
        let mut config = Config::from_kubeconfig(cluster.admin_kubeconfig()).unwrap();
        config.max_retries = 0;
        let pods: Api<Pod> = Api::namespaced(Client::try_from(config).unwrap(), ns.name());
        let err = w!(pods.evict("protected", &EvictParams::default())).unwrap_err();
        let api = err.api().unwrap();
        assert_eq!(
            (api.reason.clone(), api.code),
            (StatusReason::TooManyRequests, 429)
        );
        assert!(api.message.contains("disruption budget"), "{}", api.message);
        assert!(
            api.causes()
                .iter()
                .any(|c| c.reason.as_deref() == Some("DisruptionBudget")),
            "{api:?}"
        );
        // A budget that forbids eviction sends no Retry-After: it is not a rate limit.
        assert_eq!(api.retry_after_seconds(), None);
        assert!(
            w!(pods.get_opt("protected")).unwrap().is_some(),
            "the pod survived"
        );
    });
}
