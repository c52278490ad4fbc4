//! Discovery against the real API server: aggregated and legacy discovery, name resolution, and a
//! CustomResourceDefinition created, discovered and driven dynamically.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::adapter::{Client, Config, Discovery};
use klient_e2e::Cluster;
use klient_proto::api::{
    ApiCatalog, DeleteParams, DiscoveryMode, DiscoveryRun, DynamicObject, ListParams, Patch, PatchParams,
    PostParams, ResponseFormat, Scope,
};
use serde_json::json;

fn client() -> Client {
    let cluster = Cluster::get();
    Client::try_from(Config::from_kubeconfig(cluster.admin_kubeconfig()).unwrap()).unwrap()
}

/// Drives a discovery run by hand, to see what the server answered: the number of requests and
/// the formats of the answers to `/api` and `/apis`.
async fn run_by_hand(client: &Client, mode: DiscoveryMode) -> (ApiCatalog, usize, Vec<ResponseFormat>) {
    let mut run = DiscoveryRun::new(mode);
    let (mut requests, mut root_formats) = (0, Vec::new());
    while let Some(next) = run.poll_request() {
        requests += 1;
        let is_root = matches!(next.request.uri().path(), "/api" | "/apis");
        let response = w!(client.send(next.request)).unwrap();
        let content_type = response
            .headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        if is_root {
            root_formats.push(ResponseFormat::of(content_type.as_deref()));
        }
        run.handle_response(
            &next.target,
            response.status.as_u16(),
            content_type.as_deref(),
            &response.body,
        )
        .unwrap();
    }
    (run.finish().unwrap(), requests, root_formats)
}

/// Built-in groups: those no test's CustomResourceDefinition can add to while the test runs.
fn is_builtin(group: &str) -> bool {
    group.is_empty() || !group.contains('.') || group.ends_with(".k8s.io")
}

#[test]
fn discovery_lists_builtins_and_resolves_short_names() {
    crate::adapter::run(async move {
        let client = client();
        let discovery = w!(Discovery::run(&client)).unwrap();
        let core = &discovery.groups()[0];
        assert!(core.is_core());
        let pods = discovery.catalog().find("", "v1", "pods").unwrap();
        assert_eq!((pods.kind.as_str(), pods.scope), ("Pod", Scope::Namespaced));
        assert!(pods.subresource("log").is_some() && pods.subresource("exec").is_some());
        let deployments = discovery.catalog().find("apps", "v1", "deployments").unwrap();
        assert!(deployments.short_names.contains(&"deploy".to_owned()));
        assert_eq!(
            discovery.group("apps").unwrap().preferred_version.as_deref(),
            Some("v1")
        );

        for (name, api_version, plural) in [
            ("po", "v1", "pods"),
            ("deploy", "apps/v1", "deployments"),
            ("svc", "v1", "services"),
            ("crd", "apiextensions.k8s.io/v1", "customresourcedefinitions"),
            ("Deployment", "apps/v1", "deployments"),
            ("deployments.apps", "apps/v1", "deployments"),
            ("events", "v1", "events"),
            ("hpa", "autoscaling/v2", "horizontalpodautoscalers"),
        ] {
            let ar = discovery.resolve(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                (ar.api_version.as_str(), ar.plural.as_str()),
                (api_version, plural),
                "{name}"
            );
        }
        let err = discovery.resolve("pods/log").unwrap_err();
        assert!(matches!(err, klient_blocking::Error::Lookup(_)), "{err}");
        assert!(discovery.resolve("no-such-things").is_err());

        // A dynamic API straight from a short name.
        let namespaces = discovery.api(client, "ns", None).unwrap();
        let list = w!(namespaces.list(&ListParams::default())).unwrap();
        assert!(
            list.items
                .iter()
                .any(|n| n.metadata.name.as_deref() == Some("default"))
        );
    });
}

#[test]
fn aggregated_takes_two_requests_and_legacy_agrees_with_it() {
    crate::adapter::run(async move {
        let client = client();
        let (aggregated, requests, formats) = run_by_hand(&client, DiscoveryMode::Aggregated).await;
        assert_eq!(requests, 2);
        assert_eq!(
            formats,
            [ResponseFormat::AggregatedV2, ResponseFormat::AggregatedV2]
        );

        let (legacy, requests, formats) = run_by_hand(&client, DiscoveryMode::Legacy).await;
        assert_eq!(formats, [ResponseFormat::LegacyJson, ResponseFormat::LegacyJson]);
        assert!(requests > 20, "one request per group-version, not {requests}");
        assert!(legacy.failures().is_empty(), "{:?}", legacy.failures());

        // The same built-in groups, versions and resources either way.
        let mut compared = 0;
        for group in aggregated.groups().iter().filter(|g| is_builtin(&g.name)) {
            let other = legacy
                .group(&group.name)
                .unwrap_or_else(|| panic!("{}", group.name));
            assert_eq!(group.preferred_version, other.preferred_version, "{}", group.name);
            for version in &group.versions {
                let other = other.version(&version.version).unwrap();
                let mut a: Vec<_> = version.resources.iter().map(|r| &r.plural).collect();
                let mut l: Vec<_> = other.resources.iter().map(|r| &r.plural).collect();
                a.sort();
                l.sort();
                assert_eq!(a, l, "{}/{}", group.name, version.version);
                for r in &version.resources {
                    let o = other.resources.iter().find(|o| o.plural == r.plural).unwrap();
                    assert_eq!(
                        (&r.kind, r.scope, &r.short_names, &r.singular),
                        (&o.kind, o.scope, &o.short_names, &o.singular)
                    );
                    compared += 1;
                }
            }
        }
        assert!(compared > 50, "{compared}");
        // And the blocking wrapper forces the same legacy path.
        let discovery = w!(Discovery::run_with(&client, DiscoveryMode::Legacy)).unwrap();
        assert_eq!(discovery.resolve("deploy").unwrap().api_version, "apps/v1");
    });
}

/// Deletes the CustomResourceDefinition even when the test fails half-way.
struct DeleteCrd {
    name: String,
}

impl Drop for DeleteCrd {
    fn drop(&mut self) {
        let _ = Cluster::get().kubectl_output(&["delete", "crd", &self.name, "--wait=false"], None);
    }
}

#[test]
fn a_custom_resource_is_discovered_and_driven_dynamically() {
    crate::adapter::run(async move {
        let client = client();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let suffix = format!("{:08x}", nanos ^ std::process::id().rotate_left(16));
        let (plural, kind, short) = (
            format!("widgets{suffix}"),
            format!("Widget{suffix}"),
            format!("wg{suffix}"),
        );
        let crd_name = format!("{plural}.klient.dev");

        let discovery = w!(Discovery::run(&client)).unwrap();
        let crds = discovery.api(client.clone(), "crd", None).unwrap();
        let crd_resource = discovery.resolve("crd").unwrap();
        let crd = DynamicObject::new(&crd_name, &crd_resource).data(json!({
            "spec": {
                "group": "klient.dev",
                "scope": "Namespaced",
                "names": {
                    "plural": plural,
                    "singular": format!("widget{suffix}"),
                    "kind": kind,
                    "shortNames": [short],
                    "categories": ["klient"],
                },
                "versions": [{
                    "name": "v1",
                    "served": true,
                    "storage": true,
                    "subresources": { "status": {} },
                    "schema": { "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": { "type": "object", "properties": {
                                "size": { "type": "integer" },
                                "color": { "type": "string" },
                            }},
                            "status": { "type": "object", "properties": {
                                "phase": { "type": "string" },
                            }},
                        },
                    }},
                }],
            },
        }));
        w!(crds.create(&PostParams::default(), &crd)).unwrap();
        let _cleanup = DeleteCrd {
            name: crd_name.clone(),
        };

        wait_until!("the CRD to be Established", Duration::from_secs(60), {
            let crd = w!(crds.get(&crd_name)).unwrap();
            let conditions = crd.data["status"]["conditions"].as_array()?.clone();
            conditions
                .iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
                .then_some(())
        });

        // Aggregated discovery learns of the new resource shortly after.
        let discovery = wait_until!("the resource in discovery", Duration::from_secs(60), {
            let discovery = w!(Discovery::run(&client)).unwrap();
            discovery.resolve(&kind).is_ok().then_some(discovery)
        });
        let widgets = discovery.resolve(&kind).unwrap();
        assert_eq!(
            (
                widgets.group.as_str(),
                widgets.version.as_str(),
                widgets.plural.as_str()
            ),
            ("klient.dev", "v1", plural.as_str())
        );
        assert_eq!(widgets.kind, kind);
        assert!(widgets.is_namespaced());
        assert_eq!(discovery.resolve(&short).unwrap(), widgets);
        assert_eq!(
            discovery.resolve(&format!("{plural}.klient.dev")).unwrap(),
            widgets
        );
        assert_eq!(discovery.resolve(&kind.to_lowercase()).unwrap(), widgets);
        let described = discovery.catalog().find("klient.dev", "v1", &plural).unwrap();
        assert!(described.subresource("status").is_some());
        assert_eq!(described.categories, ["klient"]);

        // Legacy discovery sees it too.
        let legacy = wait_until!("the resource in legacy discovery", Duration::from_secs(60), {
            let discovery = w!(Discovery::run_with(&client, DiscoveryMode::Legacy)).unwrap();
            discovery.resolve(&short).is_ok().then_some(discovery)
        });
        assert_eq!(legacy.resolve(&short).unwrap(), widgets);

        // Its objects, driven with nothing but the discovered description.
        let api = discovery.api(client.clone(), &short, Some("default")).unwrap();
        let widget = DynamicObject::new("w1", &widgets)
            .within("default")
            .data(json!({ "spec": { "size": 1, "color": "red" } }));
        let created = w!(api.create(&PostParams::default(), &widget)).unwrap();
        assert_eq!(created.data["spec"]["color"], "red");
        let got = w!(api.get("w1")).unwrap();
        assert_eq!(got.metadata.uid, created.metadata.uid);
        assert_eq!(got.types.as_ref().unwrap().kind, kind);
        let list = w!(api.list(&ListParams::default())).unwrap();
        assert_eq!(list.items.len(), 1);
        assert_eq!(list.items[0].metadata.name.as_deref(), Some("w1"));

        let patched = w!(api.patch(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "size": 2 } })),
        ))
        .unwrap();
        assert_eq!(patched.data["spec"]["size"], 2);
        assert_eq!(patched.data["spec"]["color"], "red");
        // With the status subresource enabled, the main endpoint ignores status...
        let ignored = w!(api.patch(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": { "phase": "Ignored" } })),
        ))
        .unwrap();
        assert!(ignored.data.get("status").is_none(), "{:?}", ignored.data);
        // ... and the status subresource sets it.
        let status = w!(api.patch_status(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": { "phase": "Ready" } })),
        ))
        .unwrap();
        assert_eq!(status.data["status"]["phase"], "Ready");
        assert_eq!(w!(api.get_status("w1")).unwrap().data["status"]["phase"], "Ready");
        assert_eq!(w!(api.get("w1")).unwrap().data["spec"]["size"], 2);

        w!(api.delete("w1", &DeleteParams::default())).unwrap();
        wait_until!("the widget to be gone", Duration::from_secs(60), {
            w!(api.get_opt("w1")).unwrap().is_none().then_some(())
        });

        w!(crds.delete(&crd_name, &DeleteParams::default())).unwrap();
        wait_until!("the CRD to be gone", Duration::from_secs(60), {
            w!(crds.get_opt(&crd_name)).unwrap().is_none().then_some(())
        });
    });
}

#[test]
fn a_restricted_service_account_can_still_discover() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let config = Config::from_kubeconfig(cluster.restricted_kubeconfig()).unwrap();
        let client = Client::try_from(config).unwrap();
        // Discovery is open to every authenticated user (system:discovery), unlike the objects.
        let discovery = w!(Discovery::run(&client)).unwrap();
        assert_eq!(discovery.resolve("po").unwrap().plural, "pods");
        let nodes = discovery.api(client, "no", None).unwrap();
        let err = w!(nodes.list(&ListParams::default())).unwrap_err();
        assert_eq!(err.api().unwrap().code, 403, "{err}");
    });
}
