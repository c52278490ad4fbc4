//! The klient tour: what the blocking client does against a real cluster, step by step.
//!
//! Run it with `./dev tour`, which starts the local control plane first, or point it at any
//! cluster you may create namespaces in: `cargo run -p klient-blocking --example tour`.
//! It uses the default kubeconfig chain (KUBECONFIG, then ~/.kube/config).

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use klient_blocking::core::{
    DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams, StatusReason,
};
use klient_blocking::watch_core::{Event, InitialListMode, WatcherConfig};
use klient_blocking::{Api, Client, WatchConfig, watcher};
use serde_json::json;

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
  labels: {app: hello}
spec:
  replicas: 1
  selector:
    matchLabels: {app: hello}
  template:
    metadata:
      labels: {app: hello}
    spec:
      # kwok's node runs the pods; a real cluster would schedule them itself.
      nodeName: kwok-node-0
      containers:
      - name: main
        image: registry.k8s.io/pause:3.10
"#;

fn step(text: &str) {
    println!("\n== {text}");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::try_default()?;
    println!("klient tour against {}", client.server());

    step("nodes");
    let nodes: Api<Node> = Api::all(client.clone());
    for node in nodes.list(&ListParams::default())?.items {
        let ready = node
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.type_ == "Ready")
            .map_or("Unknown".to_owned(), |c| c.status);
        println!("{:<20} Ready={ready}", node.metadata.name.unwrap_or_default());
    }

    step("a namespace of our own");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns_name = format!("klient-tour-{}", std::process::id());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": ns_name}}))?;
    namespaces.create(&PostParams::default(), &ns)?;
    println!("created namespace {ns_name}");
    let result = tour_in_namespace(&client, &ns_name);

    step("cleaning up");
    namespaces.delete(&ns_name, &DeleteParams::default())?;
    println!("deleting namespace {ns_name} (the controller manager removes what it holds)");
    result
}

fn tour_in_namespace(client: &Client, ns: &str) -> Result<(), Box<dyn std::error::Error>> {
    step("a Deployment from YAML");
    let deployment: Deployment = serde_saphyr::from_str(DEPLOYMENT)?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let created = deployments.create(&PostParams::default(), &deployment)?;
    let uid = created.metadata.uid.unwrap_or_default();
    println!("created deployment/hello (uid {uid})");

    step("watching its pod turn Running");
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let config = WatchConfig {
        label_selector: Some("app=hello".into()),
        machine: WatcherConfig {
            initial_list: InitialListMode::StreamingList,
            ..WatcherConfig::default()
        },
        ..WatchConfig::default()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut running_pod = None;
    for event in watcher(pods.clone(), config) {
        let (Event::Apply(pod) | Event::InitApply(pod)) = event? else {
            continue;
        };
        let name = pod.metadata.name.clone().unwrap_or_default();
        let phase = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Pending".into());
        println!("pod/{name}: {phase}");
        if phase == "Running" {
            running_pod = Some(name);
            break;
        }
        if Instant::now() > deadline {
            return Err("the pod did not turn Running within 2 minutes".into());
        }
    }
    let pod_name = running_pod.ok_or("the watch ended before the pod ran")?;

    step("a merge patch: a label");
    let patched = deployments.patch(
        "hello",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"tour": "merged"}}})),
    )?;
    println!("labels now {:?}", patched.metadata.labels.unwrap_or_default());

    step("server-side apply: an annotation owned by field manager \"klient-tour\"");
    let applied = deployments.patch(
        "hello",
        &PatchParams::apply("klient-tour").force(),
        &Patch::Apply(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "hello", "annotations": {"klient.dev/tour": "applied"}},
        })),
    )?;
    let managers: Vec<String> = applied
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    println!(
        "annotations {:?}, field managers {managers:?}",
        applied.metadata.annotations.unwrap_or_default()
    );

    step("scaling to 3 replicas through the scale subresource");
    let scale: Scale = deployments.patch_scale(
        "hello",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 3}})),
    )?;
    println!("scale.spec.replicas = {:?}", scale.spec.and_then(|s| s.replicas));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = deployments
            .get_status("hello")?
            .status
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0);
        println!("ready replicas: {ready}");
        if ready == 3 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }

    step(&format!("logs of pod/{pod_name}"));
    print!("{}", pods.logs(&pod_name, &LogParams::default())?);
    let stream = pods.log_stream(
        &pod_name,
        &LogParams {
            tail_lines: Some(1),
            ..LogParams::default()
        },
    )?;
    for line in BufReader::new(stream).lines() {
        println!("(streamed) {}", line?);
    }

    step("a typed error");
    match pods.get("no-such-pod") {
        Err(e) if e.api().is_some_and(|api| api.reason == StatusReason::NotFound) => {
            println!("NotFound, as expected: {e}");
        }
        other => return Err(format!("expected NotFound, got {other:?}").into()),
    }
    Ok(())
}
