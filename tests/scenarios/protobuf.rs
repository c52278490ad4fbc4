// Protobuf on the wire, end to end: the same k8s-openapi values klient reads and writes as JSON
// go over the wire as Kubernetes protobuf when a client prefers it. For every kind the verbs
// work, the bytes really are protobuf (Content-Type and `k8s\0` magic observed), and what klient
// wrote in protobuf the cluster's kubectl reads back identically in JSON. Custom resources, which
// the server cannot send in protobuf, fall back to JSON transparently.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod, Secret, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use klient_e2e::{
    Cluster, PROTOBUF, PROTOBUF_WATCH, Seen, TestNamespace, admin_client, age_configmap_watch_cache,
    kwok_pod, list_versions, object_from, resource_version, unique_name,
};
use klient_proto::api::{
    ApiResource, DeleteParams, Deleted, DynamicObject, Format, GetParams, ListParams, NamespaceResourceScope,
    PostParams, ProtobufCodec, Resource, Scope, StatusReason, WatchParams, decode_error,
};
use klient_proto::watch::WatchEvent;
use klient_proto::watch::watcher::Config as WatchConfig;

use super::protobuf_support::{assert_kubectl_reads, assert_protobuf_on_the_wire, protobuf_client};
use crate::adapter::Api;
use klient_proto::protobuf::{Message, ProtobufError, Reader, WireType, Writer};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

/// The JSON twin of `assert_protobuf_on_the_wire`, for the fallbacks.
async fn assert_json_on_the_wire<K: Resource + DeserializeOwned>(api: &Api<K>, name: &str) {
    let request = api.request_builder().get(name, &GetParams::default()).unwrap();
    let response = w!(api.client().send(request)).unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.content_type(), Some("application/json"));
}

#[test]
fn config_maps_and_secrets_round_trip_in_protobuf() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let client = protobuf_client(&cluster);
        let ns = TestNamespace::create(&admin_client(&cluster), "pb-data");
        let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
        let secrets: Api<Secret> = Api::namespaced(client.clone(), ns.name());
        assert_eq!(configmaps.format(), Format::Protobuf);

        let data = BTreeMap::from([
            ("empty".to_owned(), String::new()),
            ("unicode".to_owned(), "grüße, 日本語, 🦀, שלום".to_owned()),
            (
                "control".to_owned(),
                "bell\u{7} nul\u{0} esc\u{1b}\r\n".to_owned(),
            ),
            ("long".to_owned(), "x".repeat(70_000)),
        ]);
        let all_bytes = ByteString((0..=255u8).collect());
        let cm = ConfigMap {
            metadata: object_from(json!({
                "name": "odd",
                "labels": {"app": "klient", "empty": ""},
                "annotations": {"note": "multi\nline \"quoted\""},
            })),
            data: Some(data.clone()),
            binary_data: Some(BTreeMap::from([
                ("all-bytes".to_owned(), all_bytes.clone()),
                ("empty-bytes".to_owned(), ByteString(Vec::new())),
            ])),
            immutable: Some(false),
        };
        // The create request itself is protobuf: the Api's typed body, seen on the wire.
        let request = configmaps
            .request_builder()
            .create_object(&PostParams::default(), &cm)
            .unwrap();
        assert_eq!(request.headers()["content-type"], PROTOBUF);
        assert!(request.body().starts_with(b"k8s\0"));
        let created = w!(configmaps.create(&PostParams::default(), &cm)).unwrap();
        assert_eq!(created.data.as_ref(), Some(&data));
        assert_eq!(created.binary_data.as_ref().unwrap()["all-bytes"], all_bytes);
        assert!(created.metadata.creation_timestamp.is_some());
        assert!(created.metadata.managed_fields.is_some());
        assert_kubectl_reads(&cluster, &configmaps, "configmaps", &created).await;
        assert_protobuf_on_the_wire(&configmaps, "odd").await;

        let mut changed = w!(configmaps.get("odd")).unwrap();
        assert_eq!(changed, created);
        changed
            .data
            .get_or_insert_default()
            .insert("added".into(), "yes".into());
        changed.metadata.labels.get_or_insert_default().remove("empty");
        let replaced = w!(configmaps.replace("odd", &PostParams::default(), &changed)).unwrap();
        assert_eq!(replaced.data.as_ref().unwrap()["added"], "yes");
        assert_ne!(resource_version(&replaced), resource_version(&created));
        assert_kubectl_reads(&cluster, &configmaps, "configmaps", &replaced).await;

        let secret = Secret {
            metadata: object_from(json!({"name": "s"})),
            data: Some(BTreeMap::from([("key".to_owned(), all_bytes.clone())])),
            string_data: Some(BTreeMap::from([("text".to_owned(), "plain ✓".to_owned())])),
            type_: Some("Opaque".into()),
            ..Secret::default()
        };
        let created = w!(secrets.create(&PostParams::default(), &secret)).unwrap();
        let stored = created.data.as_ref().unwrap();
        assert_eq!(stored["key"], all_bytes);
        assert_eq!(stored["text"].0, "plain ✓".as_bytes());
        assert_kubectl_reads(&cluster, &secrets, "secrets", &created).await;
        assert_protobuf_on_the_wire(&secrets, "s").await;

        match w!(configmaps.delete("odd", &DeleteParams::default())).unwrap() {
            Deleted::Status(status) => assert!(status.is_success(), "{status:?}"),
            Deleted::Object(object) => assert_eq!(object.metadata.name.as_deref(), Some("odd")),
        }
        assert!(w!(configmaps.get_opt("odd")).unwrap().is_none());
        assert!(w!(secrets.delete("s", &DeleteParams::default())).is_ok());
    });
}

#[test]
fn a_missing_object_is_not_found_through_a_protobuf_status() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let client = protobuf_client(&cluster);
        let ns = TestNamespace::create(&admin_client(&cluster), "pb-errors");
        let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());

        let error = w!(configmaps.get("missing")).unwrap_err();
        let api = error.api().expect("an API error");
        assert!(api.is_not_found(), "{api:?}");
        assert_eq!(api.code, 404);
        assert!(api.message.contains("\"missing\""), "{}", api.message);
        assert_eq!(
            api.details.as_ref().and_then(|d| d.name.as_deref()),
            Some("missing")
        );

        // The server did answer in protobuf, and the same bytes give the same error.
        let request = configmaps
            .request_builder()
            .get("missing", &GetParams::default())
            .unwrap();
        let response = w!(client.send(request)).unwrap();
        assert_eq!(response.status, 404);
        assert_eq!(response.content_type(), Some(PROTOBUF));
        assert!(response.body.starts_with(b"k8s\0"));
        assert_eq!(decode_error(404, &response.body).api(), Some(api));

        // Creating an existing object: AlreadyExists, also from a protobuf Status.
        let cm: ConfigMap = object_from(json!({"metadata": {"name": "twice"}}));
        w!(configmaps.create(&PostParams::default(), &cm)).unwrap();
        let error = w!(configmaps.create(&PostParams::default(), &cm)).unwrap_err();
        assert_eq!(error.api().map(|e| &e.reason), Some(&StatusReason::AlreadyExists));
        // Deleting a missing object.
        let error = w!(configmaps.delete("missing", &DeleteParams::default())).unwrap_err();
        assert!(error.api().is_some_and(|e| e.is_not_found()));
    });
}

#[test]
fn lists_page_in_protobuf() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let client = protobuf_client(&cluster);
        let ns = TestNamespace::create(&admin_client(&cluster), "pb-pages");
        let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
        let mut names = Vec::new();
        for i in 0..7 {
            let name = format!("page-{i}");
            let cm: ConfigMap = object_from(json!({
                "metadata": {"name": name, "labels": {"set": "pages"}},
                "data": {"i": i.to_string()},
            }));
            w!(configmaps.create(&PostParams::default(), &cm)).unwrap();
            names.push(name);
        }

        // No selector, so that the server counts what is left (it does not under a selector); the
        // namespace also holds its kube-root-ca.crt.
        let mut params = ListParams::default().limit(3);
        let mut pages = Vec::new();
        let mut seen = Vec::new();
        loop {
            // Every page is protobuf on the wire.
            let request = configmaps.request_builder().list(&params).unwrap();
            let response = w!(client.send(request)).unwrap();
            assert_eq!(response.content_type(), Some(PROTOBUF));
            assert!(response.body.starts_with(b"k8s\0"));
            let page = w!(configmaps.list(&params)).unwrap();
            assert!(page.metadata.resource_version.is_some());
            pages.push(page.items.len());
            seen.extend(page.items.iter().filter_map(|cm| cm.metadata.name.clone()));
            params.continue_token = page.next_page().map(str::to_owned);
            let remaining = page.metadata.remaining_item_count;
            if params.continue_token.is_none() {
                assert_eq!(remaining, None);
                break;
            }
            assert_eq!(remaining, Some(8 - seen.len() as i64), "{seen:?}");
        }
        assert_eq!(pages, [3, 3, 2]);
        assert!(seen.contains(&"kube-root-ca.crt".to_owned()));

        let selection = ListParams::default().labels("set=pages").limit(2);
        let mut all = Vec::new();
        let mut pages = configmaps.list_pages(&selection);
        while let Some(cm) = next!(pages) {
            all.push(cm.unwrap().metadata.name.unwrap());
        }
        assert_eq!(all, names);
        assert_eq!(list_versions(&ns.api::<ConfigMap>(), "set=pages").len(), 7);
    });
}

#[test]
fn pods_round_trip_in_protobuf() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let client = protobuf_client(&cluster);
        let ns = TestNamespace::create(&admin_client(&cluster), "pb-pods");
        let pods: Api<Pod> = Api::namespaced(client.clone(), ns.name());
        let mut pod = kwok_pod("web", json!({"app": "web"}));
        let spec = pod.spec.as_mut().unwrap();
        spec.containers[0] = object_from(json!({
            "name": "main",
            "image": "busybox",
            "command": ["sh", "-c", "sleep 3600"],
            "env": [{"name": "A", "value": "1"}, {"name": "EMPTY", "value": ""}],
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
            "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5},
            "livenessProbe": {"tcpSocket": {"port": 8080}},
        }));
        let created = w!(pods.create(&PostParams::default(), &pod)).unwrap();
        let container = &created.spec.as_ref().unwrap().containers[0];
        assert_eq!(
            container.resources.as_ref().unwrap().requests.as_ref().unwrap()["cpu"].0,
            "250m"
        );
        assert_kubectl_reads(&cluster, &pods, "pods", &created).await;

        let running = wait_until!("pod web Running", Duration::from_secs(60), {
            let pod = w!(pods.get("web")).ok()?;
            (pod.status.as_ref()?.phase.as_deref()? == "Running").then_some(pod)
        });
        assert!(running.status.as_ref().unwrap().start_time.is_some());
        assert_kubectl_reads(&cluster, &pods, "pods", &running).await;
        assert_protobuf_on_the_wire(&pods, "web").await;

        // Replace (a label), with the conflict guard of the resourceVersion.
        let replaced = wait_until!("a replace without conflict", Duration::from_secs(30), {
            let mut latest = w!(pods.get("web")).unwrap();
            latest
                .metadata
                .labels
                .get_or_insert_default()
                .insert("tier".into(), "front".into());
            match w!(pods.replace("web", &PostParams::default(), &latest)) {
                Ok(pod) => Some(pod),
                Err(e) if e.api().is_some_and(|e| e.is_conflict()) => None,
                Err(e) => panic!("replace: {e}"),
            }
        });
        assert_eq!(replaced.metadata.labels.as_ref().unwrap()["tier"], "front");
        assert_kubectl_reads(&cluster, &pods, "pods", &replaced).await;

        let listed = w!(pods.list(&ListParams::default().labels("app=web"))).unwrap();
        assert_eq!(listed.items.len(), 1);
        assert_eq!(listed.items[0].metadata.name.as_deref(), Some("web"));

        match w!(pods.delete("web", &DeleteParams::default().grace_period(0))).unwrap() {
            Deleted::Object(pod) => assert_eq!(pod.metadata.name.as_deref(), Some("web")),
            Deleted::Status(status) => assert!(status.is_success()),
        }
        wait_until!("pod web gone", Duration::from_secs(60), {
            w!(pods.get_opt("web")).unwrap().is_none().then_some(())
        });
    });
}

#[test]
fn deployments_and_their_scale_round_trip_in_protobuf() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let client = protobuf_client(&cluster);
        let ns = TestNamespace::create(&admin_client(&cluster), "pb-deploy");
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
        let deployment: Deployment = object_from(json!({
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "replicas": 0,
                "revisionHistoryLimit": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": 1}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [{
                            "name": "main",
                            "image": "busybox",
                            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                        }],
                        "nodeSelector": {"type": "kwok"},
                    },
                },
            },
        }));
        let created = w!(deployments.create(&PostParams::default(), &deployment)).unwrap();
        assert_eq!(created.spec.replicas, Some(0));
        assert_kubectl_reads(&cluster, &deployments, "deployments.apps", &created).await;
        assert_protobuf_on_the_wire(&deployments, "web").await;

        // The scale subresource, read and written as an autoscaling/v1 Scale in protobuf.
        let mut scale: Scale = w!(deployments.get_scale("web")).unwrap();
        // Zero replicas is Go's zero value of a plain field: absent, in protobuf as in JSON.
        let json_scale: Scale = w!(deployments.clone().json().get_scale("web")).unwrap();
        assert_eq!(scale.spec, json_scale.spec);
        assert_eq!(scale.spec.as_ref().and_then(|s| s.replicas), None);
        let request = deployments.request_builder().get_scale("web").unwrap();
        let response = w!(client.send(request)).unwrap();
        assert_eq!(response.content_type(), Some(PROTOBUF));
        // The deployment controller writes the Deployment too: a stale resourceVersion is a
        // Conflict, and the Scale is read again.
        let scaled: Scale = wait_until!("a scale replace without conflict", Duration::from_secs(30), {
            scale.spec.get_or_insert_default().replicas = Some(2);
            match w!(deployments.replace_scale("web", &PostParams::default(), &scale)) {
                Ok(scaled) => Some(scaled),
                Err(e) if e.api().is_some_and(|e| e.is_conflict()) => {
                    scale = w!(deployments.get_scale("web")).unwrap();
                    None
                }
                Err(e) => panic!("replace scale: {e}"),
            }
        });
        assert_eq!(scaled.spec.unwrap().replicas, Some(2));

        let replaced = wait_until!("a replace without conflict", Duration::from_secs(30), {
            let mut latest = w!(deployments.get("web")).unwrap();
            assert_eq!(latest.spec.replicas, Some(2));
            latest.spec.replicas = Some(0);
            latest
                .metadata
                .annotations
                .get_or_insert_default()
                .insert("note".into(), "replaced".into());
            match w!(deployments.replace("web", &PostParams::default(), &latest)) {
                Ok(deployment) => Some(deployment),
                Err(e) if e.api().is_some_and(|e| e.is_conflict()) => None,
                Err(e) => panic!("replace: {e}"),
            }
        });
        assert_eq!(
            replaced.metadata.annotations.as_ref().unwrap()["note"],
            "replaced"
        );
        assert_kubectl_reads(&cluster, &deployments, "deployments.apps", &replaced).await;
        // The status subresource, protobuf as well.
        let status = w!(deployments.get_status("web")).unwrap();
        assert_eq!(status.metadata.name.as_deref(), Some("web"));

        assert_eq!(
            w!(deployments.list(&ListParams::default())).unwrap().items.len(),
            1
        );
        assert!(w!(deployments.delete("web", &DeleteParams::background())).is_ok());
    });
}

#[test]
fn services_and_leases_round_trip_in_protobuf() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let client = protobuf_client(&cluster);
        let ns = TestNamespace::create(&admin_client(&cluster), "pb-svc");
        let services: Api<Service> = Api::namespaced(client.clone(), ns.name());
        let service: Service = object_from(json!({
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"app": "web"},
                "ports": [
                    {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
                    {"name": "metrics", "port": 9090, "targetPort": 9091},
                ],
                "sessionAffinity": "ClientIP",
            },
        }));
        let created = w!(services.create(&PostParams::default(), &service)).unwrap();
        assert!(created.spec.as_ref().unwrap().cluster_ip.is_some());
        assert_kubectl_reads(&cluster, &services, "services", &created).await;
        assert_protobuf_on_the_wire(&services, "web").await;
        let mut changed = created.clone();
        changed.spec.as_mut().unwrap().ports.as_mut().unwrap()[1].port = 9100;
        let replaced = w!(services.replace("web", &PostParams::default(), &changed)).unwrap();
        assert_eq!(
            replaced.spec.as_ref().unwrap().ports.as_ref().unwrap()[1].port,
            9100
        );
        assert_kubectl_reads(&cluster, &services, "services", &replaced).await;
        assert_eq!(w!(services.list(&ListParams::default())).unwrap().items.len(), 1);
        assert!(w!(services.delete("web", &DeleteParams::default())).is_ok());

        // Leases carry MicroTime: microseconds must survive protobuf both ways.
        let leases: Api<Lease> = Api::namespaced(client.clone(), ns.name());
        let lease: Lease = object_from(json!({
            "metadata": {"name": "leader"},
            "spec": {
                "holderIdentity": "klient-e2e",
                "leaseDurationSeconds": 15,
                "acquireTime": "2026-01-02T03:04:05.123456Z",
                "renewTime": "2026-01-02T03:04:06.000001Z",
                "leaseTransitions": 0,
            },
        }));
        let created = w!(leases.create(&PostParams::default(), &lease)).unwrap();
        assert_eq!(created.spec, lease.spec);
        assert_kubectl_reads(&cluster, &leases, "leases.coordination.k8s.io", &created).await;
        assert_protobuf_on_the_wire(&leases, "leader").await;
        let mut renewed = created.clone();
        renewed.spec.as_mut().unwrap().renew_time = object_from(json!("2026-01-02T03:04:21.654321Z"));
        let replaced = w!(leases.replace("leader", &PostParams::default(), &renewed)).unwrap();
        assert_eq!(replaced.spec, renewed.spec);
        assert_kubectl_reads(&cluster, &leases, "leases.coordination.k8s.io", &replaced).await;
        assert!(w!(leases.delete("leader", &DeleteParams::default())).is_ok());
        assert!(w!(leases.list(&ListParams::default())).unwrap().items.is_empty());
    });
}

#[test]
fn nodes_read_watch_and_replace_a_label_in_protobuf() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let client = protobuf_client(&cluster);
        let nodes: Api<Node> = Api::all(client.clone());
        let list = w!(nodes.list(&ListParams::default())).unwrap();
        assert!(!list.items.is_empty());
        let node = w!(nodes.get("kwok-node-0")).unwrap();
        assert!(node.status.as_ref().unwrap().capacity.is_some());
        assert_protobuf_on_the_wire(&nodes, "kwok-node-0").await;

        let label = unique_name("pb-label");
        let mut stream = w!(nodes.watch(
            &WatchParams::default()
                .fields("metadata.name=kwok-node-0")
                .at(&resource_version(&node)),
        ))
        .unwrap();
        assert_eq!(stream.content_type(), Some(PROTOBUF_WATCH));
        assert_eq!(stream.format(), Format::Protobuf);

        let set_label = async |value: Option<&str>| {
            wait_until!("a node replace without conflict", Duration::from_secs(30), {
                let mut latest = w!(nodes.get("kwok-node-0")).unwrap();
                let labels = latest.metadata.labels.get_or_insert_default();
                match value {
                    Some(value) => labels.insert(label.clone(), value.to_owned()),
                    None => labels.remove(&label),
                };
                match w!(nodes.replace("kwok-node-0", &PostParams::default(), &latest)) {
                    Ok(node) => Some(node),
                    Err(e) if e.api().is_some_and(|e| e.is_conflict()) => None,
                    Err(e) => panic!("replace node: {e}"),
                }
            })
        };
        let labelled = set_label(Some("yes")).await;
        assert_eq!(labelled.metadata.labels.as_ref().unwrap()[&label], "yes");
        assert_kubectl_reads(&cluster, &nodes, "nodes", &labelled).await;

        let seen = wait_until!(
            "the labelled node in the protobuf watch",
            Duration::from_secs(30),
            match next!(stream)?.expect("a protobuf watch event") {
                WatchEvent::Modified(node) if node.metadata.labels.as_ref()?.contains_key(&label) =>
                    Some(node),
                _ => None,
            },
        );
        assert_eq!(seen.metadata.labels.as_ref().unwrap()[&label], "yes");
        let cleaned = set_label(None).await;
        assert!(!cleaned.metadata.labels.unwrap_or_default().contains_key(&label));
    });
}

/// A custom resource type that claims a protobuf form. The server has none for custom resources,
/// so a protobuf-preferring `Api` asks for protobuf and gets JSON, which klient reads
/// transparently. (Its message reads nothing: were protobuf ever decoded, the test would see
/// empty objects.)
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
struct Widget {
    #[serde(rename = "apiVersion", default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    spec: Option<serde_json::Value>,
}

static WIDGET_GROUP: OnceLock<String> = OnceLock::new();
static WIDGET_API_VERSION: OnceLock<String> = OnceLock::new();

/// The group of this run's test CRD (unique, so that runs never share it).
fn widget_group() -> &'static str {
    WIDGET_GROUP.get_or_init(|| format!("{}.klient.test", unique_name("pb")))
}

impl Message for Widget {
    const NAME: &'static str = "test.Widget";
    fn empty() -> Self {
        Widget::default()
    }
    fn encode_fields(&self, _: &mut Writer) {}
    fn merge_field(
        &mut self,
        _: u32,
        wire_type: WireType,
        reader: &mut Reader<'_>,
    ) -> Result<(), ProtobufError> {
        reader.skip(wire_type)
    }
}

impl Resource for Widget {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;
    fn group(_: &()) -> Cow<'_, str> {
        widget_group().into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        "v1".into()
    }
    fn kind(_: &()) -> Cow<'_, str> {
        "Widget".into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "widgets".into()
    }
    fn scope(_: &()) -> Scope {
        Scope::Namespaced
    }
    object_meta_accessors!();
    fn protobuf() -> Option<ProtobufCodec<Self>> {
        let api_version = WIDGET_API_VERSION.get_or_init(|| format!("{}/v1", widget_group()));
        Some(ProtobufCodec::new(api_version, "Widget"))
    }
}

#[test]
fn custom_resource_definitions_in_protobuf_and_custom_resources_fall_back_to_json() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let client = protobuf_client(&cluster);
        let group = widget_group();
        let crd_name = format!("widgets.{group}");
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        let crd: CustomResourceDefinition = object_from(json!({
            "metadata": {"name": crd_name},
            "spec": {
                "group": group,
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                "scope": "Namespaced",
                "versions": [{
                    "name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {
                        "type": "object",
                        "properties": {"spec": {
                            "type": "object",
                            "required": ["size"],
                            "properties": {
                                "size": {"type": "integer", "minimum": 0, "maximum": 100, "default": 1},
                                "color": {"type": "string", "enum": ["red", "blue"]},
                                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
                                "extra": {"type": "object", "additionalProperties": {"type": "string"}},
                                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                                "either": {"x-kubernetes-int-or-string": true},
                            },
                        }},
                    }},
                    "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                }],
            },
        }));
        let created = w!(crds.create(&PostParams::default(), &crd)).unwrap();
        assert_eq!(created.spec.versions[0].name, "v1");
        assert_kubectl_reads(
            &cluster,
            &crds,
            "customresourcedefinitions.apiextensions.k8s.io",
            &created,
        )
        .await;
        assert_protobuf_on_the_wire(&crds, &crd_name).await;
        let established = wait_until!("the CRD Established", Duration::from_secs(30), {
            let crd = w!(crds.get(&crd_name)).unwrap();
            let conditions = crd.status.as_ref()?.conditions.as_ref()?;
            conditions
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
                .then_some(crd)
        });
        assert_kubectl_reads(
            &cluster,
            &crds,
            "customresourcedefinitions.apiextensions.k8s.io",
            &established,
        )
        .await;
        let listed = w!(crds.list(&ListParams::default())).unwrap();
        assert!(
            listed
                .items
                .iter()
                .any(|c| c.metadata.name.as_deref() == Some(crd_name.as_str()))
        );

        let ns = TestNamespace::create(&admin_client(&cluster), "pb-cr");
        // Dynamic objects never ask for protobuf.
        let resource = ApiResource::new(group, "v1", "Widget", "widgets", Scope::Namespaced);
        let dynamic = Api::<DynamicObject>::namespaced_with(client.clone(), ns.name(), &resource).unwrap();
        assert_eq!(dynamic.format(), Format::Json);
        let object = DynamicObject::new("one", &resource)
            .within(ns.name())
            .data(json!({"spec": {"size": 3, "color": "red"}}));
        let made = wait_until!("the widget kind served", Duration::from_secs(30), {
            w!(dynamic.create(&PostParams::default(), &object)).ok()
        });
        assert_eq!(made.data["spec"]["size"], 3);

        // A typed custom resource that claims protobuf: asked for, answered in JSON, read all the same.
        let widgets: Api<Widget> = Api::namespaced(client.clone(), ns.name());
        assert_eq!(widgets.format(), Format::Protobuf);
        let request = widgets
            .request_builder()
            .get("one", &GetParams::default())
            .unwrap();
        assert_eq!(
            request.headers()["accept"],
            "application/vnd.kubernetes.protobuf, application/json"
        );
        assert_json_on_the_wire(&widgets, "one").await;
        let one = w!(widgets.get("one")).unwrap();
        assert_eq!(one.metadata.name.as_deref(), Some("one"));
        assert_eq!(one.spec.as_ref().unwrap()["color"], "red");
        let listed = w!(widgets.list(&ListParams::default())).unwrap();
        assert_eq!(listed.items.len(), 1);
        assert_eq!(listed.items[0].spec.as_ref().unwrap()["size"], 3);
        let mut stream = w!(widgets.watch(&WatchParams::default().at(&resource_version(&one)))).unwrap();
        assert_eq!(stream.format(), Format::Json);
        assert_eq!(stream.content_type(), Some("application/json"));
        let two = DynamicObject::new("two", &resource)
            .within(ns.name())
            .data(json!({"spec": {"size": 4}}));
        w!(dynamic.create(&PostParams::default(), &two)).unwrap();
        let added = wait_until!(
            "the new widget in the JSON watch",
            Duration::from_secs(30),
            match next!(stream)?.expect("a watch event") {
                WatchEvent::Added(widget) => Some(widget),
                _ => None,
            },
        );
        assert_eq!(added.metadata.name.as_deref(), Some("two"));
        assert_eq!(added.spec.as_ref().unwrap()["size"], 4);
        match w!(widgets.delete("two", &DeleteParams::default())).unwrap() {
            Deleted::Object(widget) => assert_eq!(widget.metadata.name.as_deref(), Some("two")),
            Deleted::Status(status) => assert!(status.is_success()),
        }

        match w!(crds.delete(&crd_name, &DeleteParams::default())).unwrap() {
            Deleted::Object(crd) => assert_eq!(crd.metadata.name.as_deref(), Some(crd_name.as_str())),
            Deleted::Status(status) => assert!(status.is_success()),
        }
    });
}

#[test]
fn watch_events_arrive_in_protobuf() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let client = protobuf_client(&cluster);
        let ns = TestNamespace::create(&admin_client(&cluster), "pb-watch");
        let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
        let start = w!(configmaps.list(&ListParams::default())).unwrap();
        let mut stream =
            w!(configmaps
                .watch(&WatchParams::default().at(start.metadata.resource_version.as_deref().unwrap())))
            .unwrap();
        assert_eq!(stream.content_type(), Some(PROTOBUF_WATCH));

        let cm: ConfigMap = object_from(json!({"metadata": {"name": "w"}, "data": {"n": "1"}}));
        let created = w!(configmaps.create(&PostParams::default(), &cm)).unwrap();
        let mut changed = created.clone();
        changed
            .data
            .get_or_insert_default()
            .insert("n".into(), "2".into());
        let replaced = w!(configmaps.replace("w", &PostParams::default(), &changed)).unwrap();
        w!(configmaps.delete("w", &DeleteParams::default())).unwrap();

        let mut events = Vec::new();
        while events.len() < 3 {
            match next!(stream)
                .expect("the watch goes on")
                .expect("a protobuf event")
            {
                WatchEvent::Bookmark(_) => {}
                event => events.push(event),
            }
        }
        assert_eq!(events[0], WatchEvent::Added(created));
        assert_eq!(events[1], WatchEvent::Modified(replaced.clone()));
        let WatchEvent::Deleted(deleted) = &events[2] else {
            panic!("expected DELETED, got {:?}", events[2]);
        };
        assert_eq!(deleted.data, replaced.data);
    });
}

#[test]
fn an_expired_watch_ends_with_a_protobuf_error_event() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let client = protobuf_client(&cluster);
        let ns = TestNamespace::create(&admin_client(&cluster), "pb-expired");
        // Makes resourceVersion 2 too old for the watch cache.
        age_configmap_watch_cache(&admin_client(&cluster), ns.name());
        let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
        let mut stream = w!(configmaps.watch(&WatchParams::default().at("2").timeout(5))).unwrap();
        assert_eq!(stream.content_type(), Some(PROTOBUF_WATCH));
        match next!(stream) {
            Some(Ok(WatchEvent::Error(status))) => {
                assert_eq!(status.code, 410, "{status}");
                assert_eq!(status.reason, StatusReason::Expired, "{status}");
                assert!(status.is_expired());
                assert!(!status.message.is_empty());
            }
            other => panic!("expected an ERROR event, got {other:?}"),
        }
    });
}

#[test]
fn watchers_and_stores_work_over_protobuf() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let client = protobuf_client(&cluster);
        let ns = TestNamespace::create(&admin_client(&cluster), "pb-watcher");
        let pods: Api<Pod> = Api::namespaced(client.clone(), ns.name());
        let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
        assert_eq!(
            (pods.format(), configmaps.format()),
            (Format::Protobuf, Format::Protobuf)
        );
        w!(pods.create(&PostParams::default(), &kwok_pod("before", json!({"set": "w"})))).unwrap();

        // List-then-watch over protobuf, pages of one.
        let config = WatchConfig::default().labels("set=w").page_size(1);
        let mut watcher = crate::adapter::Watching::start(pods.clone(), config);
        w!(watcher.until("the initial list", Duration::from_secs(30), |w| {
            w.store.is_ready()
        }));
        assert!(
            watcher
                .store
                .list()
                .any(|pod| pod.metadata.name.as_deref() == Some("before"))
        );
        w!(pods.create(&PostParams::default(), &kwok_pod("after", json!({"set": "w"})))).unwrap();
        w!(
            watcher.until("pod after and its status", Duration::from_secs(60), |w| {
                list_versions(&ns.api::<Pod>(), "set=w") == w.store_versions()
            })
        );
        w!(pods.delete("before", &DeleteParams::default().grace_period(0))).unwrap();
        w!(
            watcher.until("pod before gone from the store", Duration::from_secs(60), |w| {
                list_versions(&ns.api::<Pod>(), "set=w") == w.store_versions()
                    && w.seen.contains(&Seen::Delete {
                        name: "before".into(),
                    })
            })
        );
        assert!(
            !watcher.seen.iter().any(|s| matches!(s, Seen::Failure(_))),
            "{:?}",
            watcher.seen
        );

        // A streaming list: its initial set ends with the protobuf bookmark carrying the
        // initial-events-end annotation.
        for i in 0..3 {
            let cm: ConfigMap =
                object_from(json!({"metadata": {"name": format!("s-{i}"), "labels": {"set": "s"}}}));
            w!(configmaps.create(&PostParams::default(), &cm)).unwrap();
        }
        let config = WatchConfig::default().labels("set=s").streaming_lists();
        let mut streaming = crate::adapter::Watching::start(configmaps.clone(), config);
        w!(
            streaming.until("the streamed initial set", Duration::from_secs(30), |w| {
                w.store.is_ready()
            })
        );
        assert_eq!(streaming.store.len(), 3);
        assert_eq!(
            streaming.store_versions(),
            list_versions(&ns.api::<ConfigMap>(), "set=s")
        );
        assert!(
            !streaming.seen.iter().any(|s| matches!(s, Seen::Failure(_))),
            "{:?}",
            streaming.seen
        );
    });
}

/// JSON stays the default, and an `Api` can switch either way.
#[test]
fn json_by_default_and_per_api_switches() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let json_client = klient_e2e::admin_client(&cluster);
        let ns = TestNamespace::create(&json_client, "pb-switch");
        let configmaps: Api<ConfigMap> = crate::adapter::api(&ns);
        assert_eq!(configmaps.format(), Format::Json);
        let cm: ConfigMap = object_from(json!({"metadata": {"name": "c"}, "data": {"k": "v"}}));
        let created = w!(configmaps.create(&PostParams::default(), &cm)).unwrap();
        assert_json_on_the_wire(&configmaps, "c").await;

        let protobuf = configmaps.clone().protobuf();
        assert_protobuf_on_the_wire(&protobuf, "c").await;
        assert_eq!(w!(protobuf.get("c")).unwrap(), created);
        let back = protobuf.json();
        assert_eq!(back.format(), Format::Json);
        assert_json_on_the_wire(&back, "c").await;
    });
}
