//! Kinds described at run time: `ApiResource` + `DynamicObject` against built-in kinds (custom
//! resources arrive with issue 4), checked against the typed API.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use std::time::Duration;

use crate::adapter::Api;
use klient_e2e::{Cluster, Seen, TestNamespace, admin_client, api_error};
use klient_proto::api::{
    ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, Scope,
    StatusReason, WatchParams,
};
use klient_proto::watch::watcher::Config as WatchConfig;
use klient_proto::watch::{ObjectKey, WatchEvent};
use serde_json::json;

#[test]
fn a_config_map_through_the_dynamic_api() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let client = crate::adapter::client();
        let ns = TestNamespace::create(&fixtures, "dynamic-cm");
        let resource = ApiResource::new("", "v1", "ConfigMap", "configmaps", Scope::Namespaced);
        assert_eq!(resource, ApiResource::erase::<ConfigMap>(&()));
        let api = Api::<DynamicObject>::namespaced_with(client.clone(), ns.name(), &resource).unwrap();

        let object = DynamicObject::new("dyn", &resource)
            .within(ns.name())
            .data(json!({"data": {"greeting": "hello", "unicode": "🦀"}}));
        let created = w!(api.create(&PostParams::default(), &object)).unwrap();
        assert_eq!(created.metadata.name.as_deref(), Some("dyn"));
        assert!(created.metadata.uid.is_some());
        assert_eq!(created.data["data"]["greeting"], "hello");
        let types = created.types.as_ref().unwrap();
        assert_eq!(
            (types.api_version.as_str(), types.kind.as_str()),
            ("v1", "ConfigMap")
        );

        // The typed API sees the same object.
        let typed: Api<ConfigMap> = crate::adapter::api(&ns);
        let cm = w!(typed.get("dyn")).unwrap();
        assert_eq!(cm.metadata.uid, created.metadata.uid);
        assert_eq!(cm.data.unwrap()["unicode"], "🦀");

        let patched = w!(api.patch(
            "dyn",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"via": "dynamic"}}, "data": {"greeting": "hi"}})),
        ))
        .unwrap();
        assert_eq!(patched.data["data"]["greeting"], "hi");
        assert_eq!(patched.metadata.labels.as_ref().unwrap()["via"], "dynamic");

        let mut replaced = w!(api.get("dyn")).unwrap();
        replaced.data["data"]["added"] = json!("by replace");
        let replaced = w!(api.replace("dyn", &PostParams::default(), &replaced)).unwrap();
        assert_eq!(replaced.data["data"]["added"], "by replace");

        let listed = w!(api.list(&ListParams::default().labels("via=dynamic"))).unwrap();
        assert_eq!(listed.items.len(), 1);
        assert_eq!(listed.items[0].metadata.name.as_deref(), Some("dyn"));
        assert_eq!(listed.items[0].data["data"]["added"], "by replace");

        let applied = w!(api.patch(
            "dyn-applied",
            &PatchParams::apply("klient-dynamic"),
            &Patch::Apply(DynamicObject::new("dyn-applied", &resource).data(json!({"data": {"k": "v"}}))),
        ))
        .unwrap();
        assert_eq!(applied.data["data"]["k"], "v");

        // A raw watch decodes dynamic objects too.
        let rv = listed.metadata.resource_version.unwrap();
        w!(api.delete("dyn", &DeleteParams::default())).unwrap();
        let mut stream =
            w!(api.watch(&WatchParams::default().labels("via=dynamic").at(&rv).timeout(10))).unwrap();
        match next!(stream) {
            Some(Ok(WatchEvent::Deleted(gone))) => assert_eq!(gone.metadata.name.as_deref(), Some("dyn")),
            other => panic!("expected the DELETED event, got {other:?}"),
        }
        assert_eq!(api_error(w!(api.get("dyn"))), (StatusReason::NotFound, 404));
    });
}

#[test]
fn a_grouped_kind_through_the_dynamic_api() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let client = crate::adapter::client();
        let ns = TestNamespace::create(&fixtures, "dynamic-deploy");
        let resource = ApiResource::new("apps", "v1", "Deployment", "deployments", Scope::Namespaced);
        let api = Api::<DynamicObject>::namespaced_with(client.clone(), ns.name(), &resource).unwrap();
        let object = DynamicObject::new("web", &resource).data(json!({"spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "main", "image": "busybox"}]},
            },
        }}));
        let created = w!(api.create(&PostParams::default(), &object)).unwrap();
        assert_eq!(created.types.unwrap().api_version, "apps/v1");
        let typed: Api<Deployment> = crate::adapter::api(&ns);
        let deployment = w!(typed.get("web")).unwrap();
        assert_eq!(deployment.spec.replicas, Some(0));
        assert_eq!(deployment.metadata.uid, created.metadata.uid);
        // Cluster-wide (all namespaces) works for a namespaced kind.
        let everywhere = Api::<DynamicObject>::all_with(client, &resource).unwrap();
        let all =
            w!(everywhere.list(&ListParams::default().fields(&format!("metadata.namespace={}", ns.name()))))
                .unwrap();
        assert_eq!(all.items.len(), 1);
    });
}

#[test]
fn a_watcher_and_store_over_dynamic_objects() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let client = crate::adapter::client();
        let ns = TestNamespace::create(&fixtures, "dynamic-watch");
        let resource = ApiResource::erase::<ConfigMap>(&());
        let api = Api::<DynamicObject>::dynamic(client, &resource, Some(ns.name())).unwrap();
        let make = |name: &str| {
            DynamicObject::new(name, &resource).data(json!({"metadata": {}, "data": {"k": name}}))
        };
        let labelled = |name: &str| {
            let mut object = make(name);
            object.metadata.labels = Some([("dyn".to_owned(), "yes".to_owned())].into());
            object
        };
        w!(api.create(&PostParams::default(), &labelled("first"))).unwrap();
        let config = WatchConfig {
            label_selector: Some("dyn=yes".into()),
            ..WatchConfig::default()
        };
        let mut watching = crate::adapter::Watching::start(api.clone(), config);
        w!(watching.until("the initial set", Duration::from_secs(20), |w| w.store.is_ready()));
        assert_eq!(watching.store.len(), 1);
        let second = w!(api.create(&PostParams::default(), &labelled("second"))).unwrap();
        let applied = Seen::Apply {
            name: "second".into(),
            rv: second.metadata.resource_version.clone().unwrap(),
        };
        w!(
            watching.until("the Apply of the new object", Duration::from_secs(20), |w| {
                w.seen.last() == Some(&applied)
            })
        );
        w!(api.delete("first", &DeleteParams::default())).unwrap();
        let deleted = Seen::Delete { name: "first".into() };
        w!(
            watching.until("the Delete of the first object", Duration::from_secs(20), |w| {
                w.seen.last() == Some(&deleted)
            })
        );
        let store = &watching.store;
        assert!(
            !watching.seen.iter().any(|seen| matches!(seen, Seen::Failure(_))),
            "{:?}",
            watching.seen
        );
        let key = ObjectKey::namespaced(ns.name(), "second");
        assert_eq!(store.get(&key).unwrap().data["data"]["k"], "second");
        assert_eq!(store.len(), 1);
    });
}
