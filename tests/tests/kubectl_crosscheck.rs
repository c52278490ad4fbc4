//! klient and the upstream kubectl read the same objects the same way: what klient writes kubectl
//! reads back identically, and what kubectl writes klient reads back identically.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use klient_blocking::Api;
use klient_blocking::core::PostParams;
use klient_e2e::{Cluster, TestNamespace, admin_client};
use serde::Serialize;
use serde_json::{Value, json};

/// `kubectl get -o json` of one object, without managedFields (kubectl hides them by default).
fn kubectl_json(cluster: &Cluster, namespace: &str, kind: &str, name: &str) -> Value {
    let out = cluster.kubectl_ok(&["get", "-n", namespace, kind, name, "-o", "json"]);
    let mut value: Value = serde_json::from_str(&out).expect("kubectl prints JSON");
    strip_managed_fields(&mut value);
    value
}

fn strip_managed_fields(value: &mut Value) {
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
}

/// klient's typed object re-serialized, comparable with kubectl's JSON.
fn as_json<K: Serialize>(object: &K) -> Value {
    let mut value = serde_json::to_value(object).unwrap();
    strip_managed_fields(&mut value);
    value
}

fn odd_data() -> (BTreeMap<String, String>, BTreeMap<String, ByteString>) {
    let long: String = (0..5000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    let data = BTreeMap::from([
        ("empty".to_owned(), String::new()),
        (
            "unicode".to_owned(),
            "grüße, 日本語, emoji 🦀, rtl שלום".to_owned(),
        ),
        (
            "multi.line".to_owned(),
            "line one\nline two\r\n\ttabbed\n".to_owned(),
        ),
        (
            "json-looking".to_owned(),
            r#"{"a": [1, 2, {"b": null}]}"#.to_owned(),
        ),
        (
            "yaml_looking".to_owned(),
            "key: value\n- item\n--- \n...".to_owned(),
        ),
        (
            "quotes".to_owned(),
            r#"she said "hi" \ and 'bye' \u0041"#.to_owned(),
        ),
        ("spaces".to_owned(), "  leading and trailing  ".to_owned()),
        ("null".to_owned(), "null".to_owned()),
        ("number".to_owned(), "007".to_owned()),
        ("control".to_owned(), "bell\u{7} nul\u{0} esc\u{1b}".to_owned()),
        ("long".to_owned(), long),
    ]);
    let binary = BTreeMap::from([
        ("all-bytes".to_owned(), ByteString((0..=255u8).collect())),
        ("empty-bytes".to_owned(), ByteString(Vec::new())),
    ]);
    (data, binary)
}

#[test]
fn kubectl_reads_a_config_map_with_odd_data_as_klient_wrote_it() {
    let cluster = Cluster::get();
    let client = admin_client(&cluster);
    let ns = TestNamespace::create(&client, "kubectl-cm");
    let cms: Api<ConfigMap> = ns.api();
    let (data, binary) = odd_data();
    let cm = ConfigMap {
        metadata: serde_json::from_value(json!({
            "name": "odd",
            "labels": {"app.kubernetes.io/name": "klient", "x": ""},
            "annotations": {"note": "multi\nline \"quoted\" 🦀"},
        }))
        .unwrap(),
        data: Some(data.clone()),
        binary_data: Some(binary.clone()),
        ..ConfigMap::default()
    };
    let created = cms.create(&PostParams::default(), &cm).unwrap();
    assert_eq!(created.data.as_ref(), Some(&data));
    assert_eq!(created.binary_data.as_ref(), Some(&binary));

    let seen_by_kubectl = kubectl_json(&cluster, ns.name(), "configmap", "odd");
    assert_eq!(seen_by_kubectl, as_json(&cms.get("odd").unwrap()));
    // And the values themselves, decoded by kubectl's side independently of k8s-openapi.
    for (key, value) in &data {
        assert_eq!(
            seen_by_kubectl["data"][key].as_str(),
            Some(value.as_str()),
            "{key}"
        );
    }
    assert_eq!(
        seen_by_kubectl["binaryData"]["all-bytes"].as_str().unwrap().len(),
        344,
        "256 bytes in base64"
    );
}

const DEPLOYMENT_YAML: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: from-yaml
  labels: {app: from-yaml, tier: "backend"}
  annotations:
    description: |
      A deployment written in YAML,
      with a block scalar.
spec:
  replicas: 0
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      app: from-yaml
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: "50%", maxUnavailable: 1}
  template:
    metadata:
      labels:
        app: from-yaml
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: main
          image: busybox:1.37
          args: ["sh", "-c", "echo 'hello'; sleep 3600"]
          env:
            - name: GREETING
              value: "héllo: world"
            - name: EMPTY
              value: ""
          ports:
            - {name: http, containerPort: 8080, protocol: TCP}
          resources:
            requests: {cpu: 100m, memory: 64Mi}
            limits: {memory: 128Mi}
        - name: sidecar
          image: busybox:1.37
          readinessProbe:
            exec: {command: ["true"]}
            periodSeconds: 7
"#;

#[test]
fn kubectl_reads_a_deployment_klient_created_from_yaml_as_klient_does() {
    let cluster = Cluster::get();
    let client = admin_client(&cluster);
    let ns = TestNamespace::create(&client, "kubectl-deploy");
    let deployments: Api<Deployment> = ns.api();
    let parsed: Deployment = serde_saphyr::from_str(DEPLOYMENT_YAML).expect("the YAML parses");
    let created = deployments.create(&PostParams::default(), &parsed).unwrap();

    // What the YAML said survived the trip (the server adds defaults around it).
    let spec = created.spec.clone();
    let containers = &spec.template.spec.as_ref().unwrap().containers;
    assert_eq!(containers.len(), 2);
    let env = containers[0].env.as_ref().unwrap();
    assert_eq!(env[0].value.as_deref(), Some("héllo: world"));
    assert_eq!(env[1].value.as_deref(), None, "the server drops an empty value");
    assert_eq!(
        created.metadata.annotations.as_ref().unwrap()["description"],
        "A deployment written in YAML,\nwith a block scalar.\n"
    );

    let seen_by_kubectl = kubectl_json(&cluster, ns.name(), "deployment", "from-yaml");
    let seen_by_klient = as_json(&deployments.get("from-yaml").unwrap());
    assert_eq!(seen_by_kubectl["spec"], seen_by_klient["spec"]);
    assert_eq!(seen_by_kubectl["metadata"], seen_by_klient["metadata"]);
    // The YAML document itself, parsed as plain JSON values, is contained in what kubectl shows.
    let yaml: Value = serde_saphyr::from_str(DEPLOYMENT_YAML).unwrap();
    assert_contains(&seen_by_kubectl["spec"], &yaml["spec"], "spec");
}

/// Every field of `part` is in `whole` with the same value (lists element by element).
fn assert_contains(whole: &Value, part: &Value, path: &str) {
    match (whole, part) {
        (Value::Object(w), Value::Object(p)) => {
            for (key, value) in p {
                // An empty env value is dropped by the server; nothing else may be.
                if key == "value" && value == "" && !w.contains_key(key) {
                    continue;
                }
                let at = format!("{path}.{key}");
                assert_contains(w.get(key).unwrap_or(&Value::Null), value, &at);
            }
        }
        (Value::Array(w), Value::Array(p)) => {
            assert_eq!(w.len(), p.len(), "{path}");
            for (i, (w, p)) in w.iter().zip(p).enumerate() {
                assert_contains(w, p, &format!("{path}[{i}]"));
            }
        }
        // Quantities and ports may be written as numbers or strings; compare their text.
        (w, p) => assert_eq!(text(w), text(p), "{path}"),
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn klient_reads_objects_kubectl_created_as_kubectl_does() {
    let cluster = Cluster::get();
    let client = admin_client(&cluster);
    let ns = TestNamespace::create(&client, "kubectl-made");
    let manifest = format!(
        r#"
apiVersion: v1
kind: Secret
metadata:
  name: made-by-kubectl
  namespace: {ns}
type: Opaque
stringData:
  password: "s3cr3t: with colon"
data:
  raw: AAEC/f7/
---
apiVersion: v1
kind: Service
metadata:
  name: made-by-kubectl
  namespace: {ns}
  annotations: {{note: "ünïcode"}}
spec:
  selector: {{app: web}}
  ports:
    - {{name: http, port: 80, targetPort: http}}
    - {{name: metrics, port: 9090, targetPort: 9091, protocol: UDP}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: made-by-kubectl
  namespace: {ns}
data:
  config.yaml: |
    nested:
      key: value
binaryData:
  blob: AP8=
"#,
        ns = ns.name()
    );
    let output = cluster.kubectl_output(&["apply", "-f", "-"], Some(manifest.as_bytes()));
    assert!(
        output.status.success(),
        "kubectl apply failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let secrets: Api<Secret> = ns.api();
    let secret = secrets.get("made-by-kubectl").unwrap();
    let data = secret.data.as_ref().unwrap();
    assert_eq!(data["password"].0, b"s3cr3t: with colon");
    assert_eq!(data["raw"].0, [0, 1, 2, 0xfd, 0xfe, 0xff]);
    assert_eq!(
        kubectl_json(&cluster, ns.name(), "secret", "made-by-kubectl"),
        as_json(&secret)
    );

    let services: Api<Service> = ns.api();
    let service = services.get("made-by-kubectl").unwrap();
    let ports = service.spec.as_ref().unwrap().ports.as_ref().unwrap();
    assert_eq!(ports.len(), 2);
    assert_eq!(
        ports[0].target_port,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(
            "http".into()
        ))
    );
    assert_eq!(
        kubectl_json(&cluster, ns.name(), "service", "made-by-kubectl"),
        as_json(&service)
    );

    let cms: Api<ConfigMap> = ns.api();
    let cm = cms.get("made-by-kubectl").unwrap();
    assert_eq!(
        cm.data.as_ref().unwrap()["config.yaml"],
        "nested:\n  key: value\n"
    );
    assert_eq!(cm.binary_data.as_ref().unwrap()["blob"].0, [0, 0xff]);
    assert_eq!(
        kubectl_json(&cluster, ns.name(), "configmap", "made-by-kubectl"),
        as_json(&cm)
    );
}
