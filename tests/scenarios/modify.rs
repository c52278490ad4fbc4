//! `Api::modify` against the real API server: a custom resource whose schema has fields the Rust
//! type used here lacks (a nested object, a map, fields of list-map items) keeps every one of them
//! through changes made with the typed value, lists included; a write made between the read and
//! the patch is a conflict, and the next attempt sees it.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use klient_e2e::{Cluster, TestNamespace, admin_client};
use klient_proto::api::{ApiResource, DynamicResourceScope, Resource, Scope};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The custom resource as an older program knows it: `spec.owner`, `spec.annotations` and each
/// target's `weight` and `note` are missing.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Gadget {
    #[serde(skip_serializing_if = "Option::is_none")]
    api_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    metadata: ObjectMeta,
    spec: GadgetSpec,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
struct GadgetSpec {
    replicas: i64,
    targets: Vec<Target>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
struct Target {
    host: String,
    port: i64,
}

impl Resource for Gadget {
    type DynamicType = ApiResource;
    type Scope = DynamicResourceScope;

    fn group(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.group)
    }
    fn version(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.version)
    }
    fn kind(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.kind)
    }
    fn plural(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.plural)
    }
    fn scope(dt: &ApiResource) -> Scope {
        dt.scope
    }
    object_meta_accessors!();
}

/// Deletes the CustomResourceDefinition even when the test fails half-way.
struct DeleteCrd(String);

impl Drop for DeleteCrd {
    fn drop(&mut self) {
        let _ = Cluster::get().kubectl_output(&["delete", "crd", &self.0, "--wait=false"], None);
    }
}

/// A target as the server stores it, with the fields the Rust type lacks.
fn target(host: &str, port: i64, weight: i64) -> Value {
    json!({"host": host, "port": port, "weight": weight, "note": format!("{host} note")})
}

/// Creates the CRD (a name of its own per run, as CRDs are deleted lazily) and waits until the
/// API server serves it.
fn gadget_kind(cluster: &Cluster) -> (ApiResource, DeleteCrd) {
    let (resource, cleanup) = gadget_definition(cluster);
    klient_e2e::wait_for("the CRD to be served", Duration::from_secs(60), || {
        let out = cluster.kubectl_output(&["get", &resource.plural, "-A", "-o", "name"], None);
        out.status.success().then_some(())
    });
    (resource, cleanup)
}

/// Creates the CRD, a name of its own per run, without waiting for anything.
fn gadget_definition(cluster: &Cluster) -> (ApiResource, DeleteCrd) {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let suffix = format!("{:08x}", nanos ^ std::process::id().rotate_left(16));
    let (plural, kind) = (format!("gadgets{suffix}"), format!("Gadget{suffix}"));
    let crd_name = format!("{plural}.klient.dev");
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": crd_name},
        "spec": {
            "group": "klient.dev",
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": format!("gadget{suffix}"), "kind": kind},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "replicas": {"type": "integer"},
                        "owner": {"type": "object", "properties": {
                            "name": {"type": "string"},
                            "team": {"type": "object", "properties": {
                                "lead": {"type": "string"},
                                "size": {"type": "integer"},
                            }},
                        }},
                        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                        "targets": {
                            "type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["host", "port"],
                            "items": {"type": "object", "required": ["host", "port"], "properties": {
                                "host": {"type": "string"},
                                "port": {"type": "integer"},
                                "weight": {"type": "integer"},
                                "note": {"type": "string"},
                            }},
                        },
                    }},
                }}},
            }],
        },
    });
    create(cluster, &crd);
    let cleanup = DeleteCrd(crd_name.clone());
    // No wait for the schema in the OpenAPI document: `modify` right after the definition is
    // served waits for it by itself.
    let resource = ApiResource::new("klient.dev", "v1", &kind, &plural, Scope::Namespaced);
    (resource, cleanup)
}

/// Creates `object` with kubectl, as another program would.
fn create(cluster: &Cluster, object: &Value) {
    let out = cluster.kubectl_output(&["create", "-f", "-"], Some(object.to_string().as_bytes()));
    assert!(
        out.status.success(),
        "kubectl create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The object as kubectl reads it: everything the server stores.
fn stored(cluster: &Cluster, namespace: &str, resource: &ApiResource, name: &str) -> Value {
    let out = cluster.kubectl_ok(&["get", "-n", namespace, &resource.plural, name, "-o", "json"]);
    serde_json::from_str(&out).unwrap()
}

#[test]
fn modify_keeps_every_field_the_type_does_not_know_and_retries_a_conflict() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let fixtures = admin_client(&cluster);
        let ns = TestNamespace::create(&fixtures, "modify");
        let (gadgets, _crd) = gadget_kind(&cluster);
        let initial = json!({
            "apiVersion": "klient.dev/v1",
            "kind": gadgets.kind,
            "metadata": {"name": "g1", "namespace": ns.name(), "labels": {"app": "g"}},
            "spec": {
                "replicas": 1,
                "owner": {"name": "ops", "team": {"lead": "ana", "size": 4}},
                "annotations": {"a": "1", "b": "2"},
                "targets": [target("alpha", 80, 1), target("beta", 80, 2), target("gamma", 443, 3)],
            },
        });
        create(&cluster, &initial);
        let api =
            crate::adapter::Api::<Gadget>::namespaced_with(crate::adapter::client(), ns.name(), &gadgets)
                .unwrap();

        // One known field changed: everything else is as it was.
        let before = stored(&cluster, ns.name(), &gadgets, "g1");
        let written = w!(api.modify("g1", |g| g.spec.replicas = 3)).unwrap();
        assert_eq!(written.spec.replicas, 3);
        let after = stored(&cluster, ns.name(), &gadgets, "g1");
        assert_eq!(after["spec"]["replicas"], 3);
        for field in ["owner", "annotations", "targets"] {
            assert_eq!(after["spec"][field], before["spec"][field], "spec.{field}");
        }
        assert_eq!(after["metadata"]["labels"], before["metadata"]["labels"]);

        // Lists: the middle item removed, one inserted before the last, and the last one's key
        // untouched — no other item shifts, and the unknown fields of those kept stay theirs.
        w!(api.modify("g1", |g| {
            g.spec.targets.retain(|t| t.host != "beta");
            g.spec.targets.insert(
                1,
                Target {
                    host: "delta".into(),
                    port: 8080,
                },
            );
        }))
        .unwrap();
        let after = stored(&cluster, ns.name(), &gadgets, "g1");
        assert_eq!(
            after["spec"]["targets"],
            json!([target("alpha", 80, 1), {"host": "delta", "port": 8080}, target("gamma", 443, 3)])
        );
        assert_eq!(after["spec"]["owner"], before["spec"]["owner"]);

        // Nothing changed: nothing sent (the resourceVersion stays).
        let version = after["metadata"]["resourceVersion"].clone();
        let unchanged = w!(api.modify("g1", |_| {})).unwrap();
        assert_eq!(unchanged.metadata.resource_version.as_deref(), version.as_str());
        assert_eq!(
            stored(&cluster, ns.name(), &gadgets, "g1")["metadata"]["resourceVersion"],
            version
        );

        // Someone writes between our read and our patch: a conflict, then a fresh read that sees
        // their write, and our change on top of it.
        let mut attempts = Vec::new();
        let written = w!(api.modify("g1", |g| {
            attempts.push(g.spec.replicas);
            if attempts.len() == 1 {
                cluster.kubectl_ok(&[
                    "patch",
                    "-n",
                    ns.name(),
                    &gadgets.plural,
                    "g1",
                    "--type=merge",
                    "-p",
                    r#"{"spec":{"replicas":10,"owner":{"name":"sre"}}}"#,
                ]);
            }
            g.spec.replicas += 1;
        }))
        .unwrap();
        assert_eq!(attempts, [3, 10], "the second attempt read the concurrent write");
        assert_eq!(written.spec.replicas, 11);
        let after = stored(&cluster, ns.name(), &gadgets, "g1");
        assert_eq!(after["spec"]["replicas"], 11);
        assert_eq!(
            after["spec"]["owner"],
            json!({"name": "sre", "team": {"lead": "ana", "size": 4}})
        );
        assert_eq!(after["spec"]["annotations"], json!({"a": "1", "b": "2"}));

        // With parameters: a dry run changes nothing stored; a field manager is recorded.
        let dry = klient_proto::api::PatchParams {
            dry_run: true,
            ..Default::default()
        };
        let would_be = w!(api.modify_with("g1", &dry, |g| g.spec.replicas = 99)).unwrap();
        assert_eq!(would_be.spec.replicas, 99);
        assert_eq!(
            stored(&cluster, ns.name(), &gadgets, "g1")["spec"]["replicas"],
            11
        );
        let managed = klient_proto::api::PatchParams {
            field_manager: Some("klient-e2e".into()),
            ..Default::default()
        };
        w!(api.modify_with("g1", &managed, |g| g.spec.replicas = 13)).unwrap();
        let after = stored(&cluster, ns.name(), &gadgets, "g1");
        assert_eq!(after["spec"]["replicas"], 13);
        // kubectl hides managedFields unless asked.
        let with_managers: Value = serde_json::from_str(&cluster.kubectl_ok(&[
            "get",
            "-n",
            ns.name(),
            &gadgets.plural,
            "g1",
            "-o",
            "json",
            "--show-managed-fields",
        ]))
        .unwrap();
        let managers: Vec<&str> = with_managers["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|entry| entry["manager"].as_str())
            .collect();
        assert!(managers.contains(&"klient-e2e"), "{managers:?}");

        // For contrast, `replace` with the same type erases what the type does not know.
        let mut current = w!(api.get("g1")).unwrap();
        current.spec.replicas = 12;
        w!(api.replace("g1", &Default::default(), &current)).unwrap();
        let after = stored(&cluster, ns.name(), &gadgets, "g1");
        assert!(
            after["spec"].get("owner").is_none(),
            "replace dropped spec.owner: {after}"
        );
    });
}

/// A ConfigMap as a program built against an older API knows it, in protobuf too: no
/// `binaryData`, no `immutable` (its protobuf decoder skips fields 3 and 4, as any decoder
/// skips fields it does not know).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct SlimConfigMap {
    metadata: ObjectMeta,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<std::collections::BTreeMap<String, String>>,
}

impl klient_proto::protobuf::Message for SlimConfigMap {
    const NAME: &'static str = "k8s.io.api.core.v1.ConfigMap";

    fn empty() -> Self {
        Self::default()
    }

    fn encode_fields(&self, writer: &mut klient_proto::protobuf::Writer) {
        use klient_proto::protobuf::{Value, encode_map};
        if let Some(map) = &self.data {
            encode_map(map, 2, writer);
        }
        self.metadata.encode_field(1, writer);
    }

    fn merge_field(
        &mut self,
        field: u32,
        wire_type: klient_proto::protobuf::WireType,
        reader: &mut klient_proto::protobuf::Reader<'_>,
    ) -> Result<(), klient_proto::protobuf::ProtobufError> {
        use klient_proto::protobuf::{FieldContext, Value, merge_map_entry};
        let context = FieldContext {
            message: Self::NAME,
            field,
        };
        match field {
            1 => self.metadata.merge_value(context, wire_type, reader),
            2 => merge_map_entry(self.data.get_or_insert_default(), context, wire_type, reader),
            _ => reader.skip(wire_type),
        }
    }
}

impl Resource for SlimConfigMap {
    type DynamicType = ();
    type Scope = klient_proto::api::NamespaceResourceScope;

    fn group(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("")
    }
    fn version(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("v1")
    }
    fn kind(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("ConfigMap")
    }
    fn plural(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("configmaps")
    }
    fn scope(_: &()) -> Scope {
        Scope::Namespaced
    }
    object_meta_accessors!();
    fn protobuf() -> Option<klient_proto::api::ProtobufCodec<Self>> {
        Some(klient_proto::api::ProtobufCodec::new("v1", "ConfigMap"))
    }
}

#[test]
fn modify_works_right_after_the_definition_is_served() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let ns = TestNamespace::create(&admin_client(&cluster), "modify-new-crd");
        let (gadgets, _crd) = gadget_definition(&cluster);
        let api =
            crate::adapter::Api::<Gadget>::namespaced_with(crate::adapter::client(), ns.name(), &gadgets)
                .unwrap();
        let gadget = Gadget {
            api_version: Some("klient.dev/v1".into()),
            kind: Some(gadgets.kind.clone()),
            metadata: ObjectMeta {
                name: Some("fresh".into()),
                ..ObjectMeta::default()
            },
            spec: GadgetSpec {
                replicas: 1,
                targets: vec![Target {
                    host: "alpha".into(),
                    port: 80,
                }],
            },
        };
        // Created as soon as the server takes it (tried every 10 ms), and changed at once. The API
        // server here has the schema in its OpenAPI document by then (this passes with
        // `SchemaWait` disabled too); one that publishes it later makes modify wait for it
        // (`SchemaWait`, unit-tested in klient-proto).
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while w!(api.create(&Default::default(), &gadget)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the CRD is not served after 60 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let written = w!(api.modify("fresh", |g| g.spec.replicas = 2)).unwrap();
        assert_eq!(written.spec.replicas, 2);
        assert_eq!(
            stored(&cluster, ns.name(), &gadgets, "fresh")["spec"]["replicas"],
            2
        );
    });
}

#[test]
fn modify_over_protobuf_keeps_the_fields_a_built_in_type_lacks() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let fixtures = admin_client(&cluster);
        let ns = TestNamespace::create(&fixtures, "modify-pb");
        create(
            &cluster,
            &json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": ns.name()},
                "data": {"mode": "slow"},
                "binaryData": {"blob": "AAEC"},
            }),
        );
        let api =
            crate::adapter::Api::<SlimConfigMap>::namespaced(crate::adapter::client(), ns.name()).protobuf();
        assert_eq!(api.format(), klient_proto::api::Format::Protobuf);
        let read = w!(api.get("settings")).unwrap();
        assert_eq!(read.data.as_ref().unwrap()["mode"], "slow");

        let written = w!(api.modify("settings", |cm| {
            cm.data
                .get_or_insert_default()
                .insert("mode".into(), "fast".into());
        }))
        .unwrap();
        assert_eq!(written.data.as_ref().unwrap()["mode"], "fast");
        let out = cluster.kubectl_ok(&["get", "-n", ns.name(), "configmap", "settings", "-o", "json"]);
        let stored: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(stored["data"], json!({"mode": "fast"}));
        assert_eq!(
            stored["binaryData"],
            json!({"blob": "AAEC"}),
            "the field the type lacks survived"
        );
    });
}

#[test]
fn a_change_the_server_cannot_take_alone_is_refused_loudly_not_retried() {
    crate::adapter::run(async move {
        use k8s_openapi::api::core::v1::Service;
        let cluster = Cluster::get();
        let fixtures = admin_client(&cluster);
        let ns = TestNamespace::create(&fixtures, "modify-invalid");
        create(
            &cluster,
            &json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "web", "namespace": ns.name()},
                "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}},
            }),
        );
        let api = crate::adapter::Api::<Service>::namespaced(crate::adapter::client(), ns.name());
        let mut calls = 0;
        // `clusterIP` is tied to `clusterIPs` (and immutable): an older type without `clusterIPs`
        // would send this change alone; the server refuses it rather than lose either.
        let refused = w!(api.modify("web", |svc| {
            calls += 1;
            let spec = svc.spec.get_or_insert_default();
            spec.cluster_ip = Some("None".into());
        }))
        .unwrap_err();
        let api_error = refused
            .api()
            .unwrap_or_else(|| panic!("an API error, got {refused:?}"));
        assert_eq!(
            api_error.reason,
            klient_proto::api::StatusReason::Invalid,
            "{api_error}"
        );
        assert_eq!(calls, 1, "an Invalid answer is not retried");
    });
}
