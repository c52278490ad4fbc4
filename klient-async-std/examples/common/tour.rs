//! The klient tour on `async-io`: what the async client does against a real cluster, step by
//! step — the same steps as klient-blocking's tour. `smol-tour` runs it under `smol::block_on`,
//! `async-std-tour` under `async_std::task::block_on`; the tour itself spawns nothing, so any
//! executor runs it.
//!
//! Run it with `./dev tour`, which starts the local control plane first and runs every adapter's
//! tour. It is written for that cluster: its pods run on the kwok node `kwok-node-0`, exec and
//! port-forward for them run commands and dial ports on this machine, and the port-forward step
//! reaches the cluster's echo server (`ECHO_PORT`, from the environment or from `ports.env` in
//! `$KLIENT_CLUSTER_DIR`, default `~/.klient/cluster`). It uses the default kubeconfig chain.
//!
//! Every step checks what it shows and fails the tour otherwise, so it doubles as a smoke test.
//! Everything it creates lives in a namespace of its own, deleted at the end.

use std::error::Error;
use std::path::PathBuf;
use std::time::Duration;

use std::future::Future;

use async_io::Timer;
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod};
use klient_async_std::api::{
    Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams, ResourceExt,
};
use klient_async_std::runtime::watcher;
use klient_async_std::runtime::{Store, WatchStreamExt, await_condition};
use klient_async_std::{AttachParams, Client, Error as KlientError, ExitStatus, Format};
use serde_json::json;

pub type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

/// Fails the step with a message unless `$condition` holds.
macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err(format!($($message)+).into());
        }
    };
}

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

/// How long the whole tour may take: a step that hangs ends it with an error (and the namespace
/// deleted) instead of waiting forever.
const BUDGET: Duration = Duration::from_secs(300);

fn step(text: &str) {
    println!("\n== {text}");
}

/// `future`'s output, or `None` after `limit`.
async fn timeout<T>(limit: Duration, future: impl Future<Output = T>) -> Option<T> {
    let expired = async {
        Timer::after(limit).await;
        None
    };
    futures_lite::future::or(async { Some(future.await) }, expired).await
}

/// The whole tour.
pub async fn run() -> Result {
    let client = Client::try_default()?;
    step("nodes");
    let nodes: Api<Node> = Api::all(client.clone());
    let names: Vec<String> = nodes
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .map(|n| n.name_any())
        .collect();
    ensure!(!names.is_empty(), "the cluster has no nodes");
    println!("{} at {}: {names:?}", client.default_namespace(), client.server());

    step("a namespace of our own");
    let ns = format!("klient-async-std-tour-{}", std::process::id());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}}))?,
        )
        .await?;
    println!("namespace/{ns}");
    let outcome = match timeout(BUDGET, tour_in_namespace(&client, &ns)).await {
        Some(outcome) => outcome,
        None => Err(format!("the tour took longer than {BUDGET:?}").into()),
    };
    step("cleaning up");
    namespaces.delete(&ns, &DeleteParams::background()).await?;
    println!("namespace/{ns} deleted");
    outcome
}

async fn tour_in_namespace(client: &Client, ns: &str) -> Result {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);

    step("a Deployment from YAML");
    let manifest = klient_async_std::yaml::read_document(DEPLOYMENT.as_bytes(), &Default::default())?;
    let deployment: Deployment = serde_json::from_value(manifest)?;
    let created = deployments.create(&PostParams::default(), &deployment).await?;
    println!(
        "created deployment/hello (uid {})",
        created.metadata.uid.unwrap_or_default()
    );

    step("watching its pod turn Running");
    let config = watcher::Config::default().labels("app=hello").streaming_lists();
    let mut applied = watcher(pods.clone(), config).applied_objects();
    let pod = loop {
        let pod = applied.try_next().await?.ok_or("the watcher ended")?;
        let phase = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Pending".into());
        println!("pod/{}: {phase}", pod.name_any());
        if phase == "Running" {
            break pod.name_any();
        }
    };
    drop(applied);

    step("a merge patch: a label");
    let patch = json!({"metadata": {"labels": {"tour": "merged"}}});
    let patched = deployments
        .patch("hello", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    ensure!(
        patched.labels().get("tour").map(String::as_str) == Some("merged"),
        "the label is missing"
    );
    println!("labels now {:?}", patched.labels());

    step("server-side apply: an annotation owned by field manager \"klient-tour\"");
    let applied = deployments
        .patch(
            "hello",
            &PatchParams::apply("klient-tour").force(),
            &Patch::Apply(json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "hello", "annotations": {"klient.dev/tour": "applied"}},
            })),
        )
        .await?;
    let managers: Vec<String> = applied
        .metadata
        .managed_fields
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    ensure!(
        applied.annotations().get("klient.dev/tour").map(String::as_str) == Some("applied")
            && managers.iter().any(|m| m == "klient-tour"),
        "the apply did not take: field managers {managers:?}"
    );
    println!(
        "annotations {:?}, field managers {managers:?}",
        applied.annotations()
    );

    step("scaling to 3 replicas through the scale subresource");
    let scale: Scale = deployments
        .patch_scale(
            "hello",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await?;
    ensure!(
        scale.spec.and_then(|s| s.replicas) == Some(3),
        "scale.spec.replicas is not 3"
    );
    let three_ready = |d: Option<&Deployment>| d.and_then(|d| d.status.as_ref()?.ready_replicas) == Some(3);
    timeout(
        Duration::from_secs(60),
        await_condition(deployments.clone(), "hello", three_ready),
    )
    .await
    .ok_or("3 replicas not ready within a minute")??;
    println!("3 of 3 replicas ready");

    step(&format!("logs of pod/{pod}"));
    let whole = pods.logs(&pod, &LogParams::default()).await?;
    ensure!(!whole.is_empty(), "pod/{pod} has an empty log");
    print!("{whole}");
    let mut tail = pods
        .log_stream(
            &pod,
            &LogParams {
                tail_lines: Some(1),
                ..LogParams::default()
            },
        )
        .await?;
    let mut last = Vec::new();
    while let Some(chunk) = tail.try_next().await? {
        last.extend_from_slice(&chunk);
    }
    ensure!(
        whole.ends_with(String::from_utf8_lossy(&last).as_ref()),
        "the tail is not the log's end"
    );
    println!(
        "(its last line again, streamed: {:?})",
        String::from_utf8_lossy(&last).trim_end()
    );

    step(&format!(
        "exec in pod/{pod}: stdout and stderr apart, and the exit code"
    ));
    let command = ["sh", "-c", "echo to stdout; echo to stderr >&2; exit 3"];
    let mut process = pods.exec(&pod, &command, &AttachParams::default()).await?;
    let (mut stdout, mut stderr) = (
        process.take_stdout().ok_or("no stdout")?,
        process.take_stderr().ok_or("no stderr")?,
    );
    let (mut out, mut err) = (String::new(), String::new());
    stdout.read_to_string(&mut out).await?;
    stderr.read_to_string(&mut err).await?;
    let status = process.wait().await?;
    ensure!(
        out == "to stdout\n" && err == "to stderr\n" && status == ExitStatus::Code(3),
        "exec gave {out:?} / {err:?} / {status:?}"
    );
    println!("stdout {out:?}, stderr {err:?}, {status:?}");

    step(&format!("a terminal in pod/{pod}, resized to 100x30"));
    let params = AttachParams {
        stdin: true,
        stderr: false,
        tty: true,
        ..AttachParams::default()
    };
    let mut process = pods
        .exec(&pod, &["sh", "-c", "sleep 1; stty size"], &params)
        .await?;
    process.resize(100, 30)?;
    drop(process.take_stdin());
    let mut size = String::new();
    process
        .take_stdout()
        .ok_or("no stdout")?
        .read_to_string(&mut size)
        .await?;
    process.wait().await?;
    ensure!(size.contains("30 100"), "stty saw {size:?}");
    println!("stty size: {}", size.trim());

    let port = echo_port()?;
    step(&format!("port-forward through pod/{pod} to the echo server"));
    let mut forwarder = pods.portforward(&pod, &[port]).await?;
    let stream = forwarder.take_stream(port).ok_or("no stream for the port")?;
    let (mut reader, mut writer) = stream.split();
    let payload: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut echoed = vec![0u8; payload.len()];
    // Both ways at once, in this one task: no executor needed beyond the one running the tour.
    let (sent, read) =
        futures_util::future::join(writer.write_all(&payload), reader.read_exact(&mut echoed)).await;
    sent?;
    read?;
    ensure!(echoed == payload, "the echo differs");
    println!("1 MiB there and back");

    step("one list of pods, in protobuf and in JSON");
    for format in [Format::Protobuf, Format::Json] {
        let list = pods
            .clone()
            .with_format(format)
            .list(&ListParams::default())
            .await?;
        ensure!(list.items.len() == 3, "{format:?}: {} pods", list.items.len());
        println!("{format:?}: {} pods", list.items.len());
    }

    step("a watcher-backed store following creates, updates and deletes");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let mut store = Store::new();
    let mut events = watcher(cms.clone(), watcher::Config::default().labels("tour=store")).boxed();
    let mut take = async |store: &mut Store<ConfigMap>| -> Result {
        let event = events.try_next().await?.ok_or("the watcher ended")?;
        store.apply(event);
        Ok(())
    };
    while !store.is_ready() {
        take(&mut store).await?;
    }
    for name in ["a", "b", "c"] {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": name, "labels": {"tour": "store"}}}))?;
        cms.create(&PostParams::default(), &cm).await?;
    }
    cms.patch(
        "b",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v"}})),
    )
    .await?;
    cms.delete("c", &DeleteParams::default()).await?;
    let expected = vec!["a".to_owned(), "b".to_owned()];
    let mut taken = 0;
    loop {
        let mut names: Vec<String> = store.list().map(|cm| cm.name_any()).collect();
        names.sort();
        let b_changed = store.list().any(|cm| cm.name_any() == "b" && cm.data.is_some());
        if names == expected && b_changed && taken >= 5 {
            println!("after {taken} events the store holds {names:?}");
            break;
        }
        take(&mut store).await?;
        taken += 1;
    }

    step("a typed error");
    match pods.get("no-such-pod").await {
        Err(KlientError::Api(e)) if e.is_not_found() => println!("{} {}: {}", e.code, e.reason, e.message),
        other => return Err(format!("expected NotFound, got {other:?}").into()),
    }
    Ok(())
}

/// The port of the local cluster's echo server: `ECHO_PORT`, else the cluster's `ports.env`.
fn echo_port() -> Result<u16> {
    if let Ok(port) = std::env::var("ECHO_PORT") {
        return Ok(port.parse()?);
    }
    let dir = match std::env::var_os("KLIENT_CLUSTER_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").ok_or("HOME is not set")?).join(".klient/cluster"),
    };
    let ports_env = dir.join("ports.env");
    let ports = std::fs::read_to_string(&ports_env).map_err(|e| {
        format!(
            "{}: {e} (set ECHO_PORT to the echo server's port)",
            ports_env.display()
        )
    })?;
    let port = ports
        .lines()
        .find_map(|line| line.strip_prefix("ECHO_PORT="))
        .ok_or_else(|| format!("{} names no ECHO_PORT", ports_env.display()))?;
    Ok(port.trim().parse()?)
}
