//! The pods of a big cluster, as the list benches decode them: `kubectl get pods -A` on 10,000
//! pods.
//!
//! Each pod is a realistic k8s-openapi object (labels, owner references, two containers with env,
//! ports, resources and probes, a projected volume, a status with conditions and container
//! states), built from JSON once so that every bench decodes the same values.

use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

/// How many pods the list holds.
pub const PODS: usize = 10_000;

/// The `i`-th pod: names, addresses and container IDs differ per pod, the rest repeats as it does
/// in a Deployment's pods.
pub fn pod(i: usize) -> Pod {
    let node = i % 50;
    serde_json::from_value(json!({
        "metadata": {
            "name": format!("web-5d8f9c7b6d-{i:05}"),
            "generateName": "web-5d8f9c7b6d-",
            "namespace": format!("team-{}", i % 20),
            "uid": format!("6c1f7e4a-0000-4000-8000-{i:012}"),
            "resourceVersion": (100_000 + i).to_string(),
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": "web", "pod-template-hash": "5d8f9c7b6d", "tier": "frontend"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"},
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d8f9c7b6d",
                "uid": "0a0b0c0d-0000-4000-8000-000000000001", "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "registry.example/web:1.2.3",
                    "args": ["--port=8080", "--log-level=info"],
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                    "env": [
                        {"name": "MODE", "value": "production"},
                        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                    ],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                        "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
                    "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}],
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent",
                },
                {
                    "name": "sidecar",
                    "image": "registry.example/proxy:0.9",
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent",
                },
            ],
            "volumes": [{"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            ]}}],
            "nodeName": format!("node-{node}"),
            "serviceAccountName": "default",
            "restartPolicy": "Always",
            "dnsPolicy": "ClusterFirst",
            "schedulerName": "default-scheduler",
            "terminationGracePeriodSeconds": 30,
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            ],
        },
        "status": {
            "phase": "Running",
            "podIP": format!("10.0.{}.{}", i / 250, i % 250),
            "podIPs": [{"ip": format!("10.0.{}.{}", i / 250, i % 250)}],
            "hostIP": format!("192.168.0.{node}"),
            "startTime": "2026-01-01T00:00:01Z",
            "qosClass": "Burstable",
            "conditions": [
                {"type": "Initialized", "status": "True", "lastTransitionTime": "2026-01-01T00:00:01Z"},
                {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:05Z"},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2026-01-01T00:00:05Z"},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"},
            ],
            // `lastState` is a Go struct (not a pointer): the server always sends it, `{}` when the
            // container never restarted, in JSON as in protobuf.
            "containerStatuses": [
                {"name": "web", "ready": true, "restartCount": 0, "started": true,
                 "image": "registry.example/web:1.2.3", "imageID": "registry.example/web@sha256:0123456789abcdef",
                 "containerID": format!("containerd://{i:064x}"),
                 "state": {"running": {"startedAt": "2026-01-01T00:00:03Z"}}, "lastState": {}},
                {"name": "sidecar", "ready": true, "restartCount": 1, "started": true,
                 "image": "registry.example/proxy:0.9", "imageID": "registry.example/proxy@sha256:fedcba9876543210",
                 "containerID": format!("containerd://{:064x}", i + 1),
                 "state": {"running": {"startedAt": "2026-01-01T00:00:04Z"}},
                 "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                    "startedAt": "2026-01-01T00:00:02Z", "finishedAt": "2026-01-01T00:00:03Z"}}},
            ],
        },
    }))
    .expect("a valid Pod")
}

/// All [`PODS`] pods.
pub fn pods() -> Vec<Pod> {
    (0..PODS).map(pod).collect()
}

/// The JSON body of a `v1` `PodList` holding `pods`, as the API server sends it: items without
/// their own `apiVersion` and `kind`, and a `resourceVersion` in the list metadata.
pub fn pod_list_json(pods: &[Pod]) -> Vec<u8> {
    let items: Vec<Value> = pods
        .iter()
        .map(|pod| {
            let mut item = serde_json::to_value(pod).expect("a Pod serializes");
            let object = item.as_object_mut().expect("a Pod is a JSON object");
            object.remove("apiVersion");
            object.remove("kind");
            item
        })
        .collect();
    serde_json::to_vec(&json!({
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": LIST_RESOURCE_VERSION},
        "items": items,
    }))
    .expect("the list serializes")
}

/// The list's `metadata.resourceVersion`.
pub const LIST_RESOURCE_VERSION: &str = "123456";
