//! The klient tour: what the blocking client does against a real cluster, step by step.
//!
//! Run it with `./dev tour`, which starts the local control plane first. The tour is written for
//! that cluster: its pods run on the kwok node `kwok-node-0`, exec and port-forward for them run
//! commands and dial ports on this machine, and the port-forward step reaches the
//! cluster's echo server (`ECHO_PORT`, from the environment or from `ports.env` in
//! `$KLIENT_CLUSTER_DIR`, default `~/.klient/cluster`). It uses the default kubeconfig chain
//! (KUBECONFIG, then ~/.kube/config).
//!
//! Every step checks what it shows and fails the tour otherwise, so it doubles as a smoke test.
//! Everything it creates lives in a namespace of its own, deleted at the end.

use std::error::Error;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod};
use klient_blocking::core::{
    DeleteParams, Deleted, Format, ListParams, LogParams, ObjectList, Patch, PatchParams, PostParams,
    Resource, ResourceVersionMatch, StatusReason, decode_negotiated,
};
use klient_blocking::watch_core::{Event, Store};
use klient_blocking::{Api, AttachParams, Client, ExitStatus, OutputReader, WatchConfig, watcher};
use serde::de::DeserializeOwned;
use serde_json::json;

type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

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

/// The step under way, for the watchdog's message.
static CURRENT_STEP: Mutex<String> = Mutex::new(String::new());

fn step(text: &str) {
    println!("\n== {text}");
    *CURRENT_STEP.lock().unwrap_or_else(|p| p.into_inner()) = text.to_owned();
}

fn current_step() -> String {
    CURRENT_STEP.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

fn main() -> ExitCode {
    match tour() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nthe tour failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn tour() -> Result {
    let client = Client::try_default()?;
    println!("klient tour against {}", client.server());

    step("nodes");
    nodes(&client)?;

    step("a namespace of our own");
    let ns = format!("klient-tour-{}", std::process::id());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": ns}}))?,
    )?;
    println!("created namespace {ns}");
    watchdog(client.clone(), ns.clone());
    let result = tour_in_namespace(&client, &ns);
    let last_step = current_step();

    step("cleaning up");
    delete_namespace(&namespaces, &ns)?;
    result.map_err(|e| format!("at step {last_step:?}: {e}").into())
}

fn tour_in_namespace(client: &Client, ns: &str) -> Result {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);

    step("a Deployment from YAML");
    create_deployment(&deployments)?;

    step("watching its pod turn Running");
    let pod = wait_for_running_pod(&pods)?;

    step("a merge patch: a label");
    merge_patch(&deployments)?;

    step("server-side apply: an annotation owned by field manager \"klient-tour\"");
    server_side_apply(&deployments)?;

    step("scaling to 3 replicas through the scale subresource");
    scale_to_three(&deployments)?;

    step(&format!("logs of pod/{pod}"));
    logs(&pods, &pod)?;

    step(&format!(
        "exec in pod/{pod}: stdout and stderr apart, and the exit code"
    ));
    exec_split_streams(client, ns, &pod)?;

    step(&format!(
        "exec with a terminal in pod/{pod}, resized while it runs"
    ));
    tty_with_resize(client, ns, &pod)?;

    step(&format!("port-forward through pod/{pod} to the echo server"));
    port_forward_round_trip(client, ns, &pod, echo_port()?)?;

    step("one list of pods, in protobuf and in JSON");
    protobuf_and_json(&pods)?;

    step("a watcher-backed store following creates, updates and deletes");
    store_stays_in_sync(client, ns)?;

    step("a typed error");
    typed_error(&pods)
}

fn nodes(client: &Client) -> Result {
    let nodes: Api<Node> = Api::all(client.clone());
    let list = nodes.list(&ListParams::default())?.items;
    ensure!(!list.is_empty(), "the cluster has no nodes");
    for node in list {
        let ready = node
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.type_ == "Ready")
            .map_or("Unknown".to_owned(), |c| c.status);
        println!("{:<20} Ready={ready}", node.metadata.name.unwrap_or_default());
    }
    Ok(())
}

/// Deletes the namespace and ends the process if the tour outlasts its [`BUDGET`].
fn watchdog(client: Client, ns: String) {
    std::thread::spawn(move || {
        std::thread::sleep(BUDGET);
        eprintln!(
            "\nthe tour failed: still at step {:?} after {BUDGET:?}; deleting namespace {ns}",
            current_step()
        );
        let _ = Api::<Namespace>::all(client).delete(&ns, &DeleteParams::default());
        std::process::exit(1);
    });
}

fn create_deployment(deployments: &Api<Deployment>) -> Result {
    let manifest = klient_blocking::yaml::read_document(DEPLOYMENT.as_bytes(), &Default::default())?;
    let deployment: Deployment = serde_json::from_value(manifest)?;
    let created = deployments.create(&PostParams::default(), &deployment)?;
    let uid = created.metadata.uid.ok_or("the created deployment has no uid")?;
    println!("created deployment/hello (uid {uid})");
    Ok(())
}

/// Watches the Deployment's pods (a streaming list, then the watch) until one runs; its name.
fn wait_for_running_pod(pods: &Api<Pod>) -> Result<String> {
    let config = WatchConfig::default().labels("app=hello").streaming_lists();
    let deadline = Instant::now() + Duration::from_secs(120);
    for event in watcher(pods.clone(), config) {
        let (Event::Apply(pod) | Event::InitApply(pod)) = event? else {
            continue;
        };
        let name = pod.metadata.name.clone().unwrap_or_default();
        let phase = pod
            .status
            .and_then(|s| s.phase)
            .unwrap_or_else(|| "Pending".into());
        println!("pod/{name}: {phase}");
        if phase == "Running" {
            return Ok(name);
        }
        ensure!(
            Instant::now() < deadline,
            "the pod did not turn Running within 2 minutes"
        );
    }
    Err("the watch ended before the pod ran".into())
}

fn merge_patch(deployments: &Api<Deployment>) -> Result {
    let patched = deployments.patch(
        "hello",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"tour": "merged"}}})),
    )?;
    let labels = patched.metadata.labels.unwrap_or_default();
    ensure!(
        labels.get("tour").map(String::as_str) == Some("merged"),
        "the label is missing: {labels:?}"
    );
    println!("labels now {labels:?}");
    Ok(())
}

fn server_side_apply(deployments: &Api<Deployment>) -> Result {
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
    let annotations = applied.metadata.annotations.unwrap_or_default();
    ensure!(
        annotations.get("klient.dev/tour").map(String::as_str) == Some("applied")
            && managers.iter().any(|m| m == "klient-tour"),
        "the apply did not take: annotations {annotations:?}, field managers {managers:?}"
    );
    println!("annotations {annotations:?}, field managers {managers:?}");
    Ok(())
}

fn scale_to_three(deployments: &Api<Deployment>) -> Result {
    let scale: Scale = deployments.patch_scale(
        "hello",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 3}})),
    )?;
    let replicas = scale.spec.and_then(|s| s.replicas);
    ensure!(replicas == Some(3), "scale.spec.replicas is {replicas:?}");
    println!("scale.spec.replicas = 3");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = deployments
            .get_status("hello")?
            .status
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0);
        println!("ready replicas: {ready}");
        if ready == 3 {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "only {ready} of 3 replicas ready after a minute"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The whole log, then its last line again as a stream.
fn logs(pods: &Api<Pod>, pod: &str) -> Result {
    let whole = pods.logs(pod, &LogParams::default())?;
    ensure!(!whole.is_empty(), "pod/{pod} has an empty log");
    print!("{whole}");
    let stream = pods.log_stream(
        pod,
        &LogParams {
            tail_lines: Some(1),
            ..LogParams::default()
        },
    )?;
    let streamed = BufReader::new(stream)
        .lines()
        .collect::<std::io::Result<Vec<_>>>()?;
    ensure!(
        streamed.len() == 1 && whole.lines().last() == Some(streamed[0].as_str()),
        "tailing one line streamed {streamed:?}"
    );
    println!("(streamed) {}", streamed[0]);
    Ok(())
}

fn exec_split_streams(client: &Client, ns: &str, pod: &str) -> Result {
    let script = "echo hello from stdout; echo hello from stderr >&2; exit 3";
    let mut process = client.exec(ns, pod, &["sh", "-c", script], &AttachParams::default())?;
    let (stdout, stderr) = (process.take_stdout(), process.take_stderr());
    // Output is read before waiting, as from a child process's pipes: only so much of it waits
    // unread. (For output larger than a few messages, read stderr on a thread of its own.)
    let (stdout, stderr) = (read_to_string(stdout)?, read_to_string(stderr)?);
    let status = process.wait()?;
    ensure!(
        stdout == "hello from stdout\n" && stderr == "hello from stderr\n" && status == ExitStatus::Code(3),
        "sh -c {script:?} gave stdout {stdout:?}, stderr {stderr:?}, {status:?}"
    );
    println!(
        "stdout: {:?}, stderr: {:?}, exit code 3",
        stdout.trim_end(),
        stderr.trim_end()
    );
    Ok(())
}

/// `stty size` in a terminal, before and after a resize (it prints rows, then columns).
fn tty_with_resize(client: &Client, ns: &str, pod: &str) -> Result {
    let params = AttachParams {
        stdin: true,
        stderr: false,
        tty: true,
        ..AttachParams::default()
    };
    // Each `read` waits for a line from us, so each `stty size` runs after the resize before it.
    let script = "read _; stty size; read _; stty size";
    let mut process = client.exec(ns, pod, &["sh", "-c", script], &params)?;
    let mut stdin = process.take_stdin().ok_or("no stdin")?;
    let mut stdout = process.take_stdout().ok_or("no stdout")?;
    process.resize(80, 24)?;
    stdin.write_all(b"\n")?;
    let before = read_line(&mut stdout)?;
    process.resize(132, 43)?;
    stdin.write_all(b"\n")?;
    drop(stdin);
    let after = read_line(&mut stdout)?;
    let status = process.wait()?;
    ensure!(
        before == "24 80" && after == "43 132" && status == ExitStatus::Success,
        "the terminal said {before:?}, then {after:?}, {status:?}"
    );
    println!("stty size says \"24 80\" after resize(80, 24), then \"43 132\" after resize(132, 43)");
    Ok(())
}

/// A short message, then a mebibyte, to the echo server on `port` through the pod and back.
fn port_forward_round_trip(client: &Client, ns: &str, pod: &str, port: u16) -> Result {
    let started = Instant::now();
    let mut forwarder = client.portforward(ns, pod, &[port])?;
    let mut stream = forwarder.take_stream(port).ok_or("no stream for the port")?;
    let mut round_trip = |payload: &[u8]| -> Result<Duration> {
        let sent = Instant::now();
        stream.write_all(payload)?;
        let mut echoed = vec![0; payload.len()];
        stream.read_exact(&mut echoed)?;
        ensure!(echoed == payload, "{} bytes came back different", payload.len());
        Ok(sent.elapsed())
    };
    let message = b"hello through port-forward";
    let hello = round_trip(message)?;
    let mebibyte: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    let big = round_trip(&mebibyte)?;
    let total = started.elapsed();
    forwarder.close();
    println!(
        "port {port}: {} bytes echoed in {:.1} ms, 1 MiB in {:.1} ms, intact ({:.0} ms with the session's setup)",
        message.len(),
        millis(hello),
        millis(big),
        millis(total)
    );
    Ok(())
}

/// The same list fetched once as protobuf and once as JSON, at the same resourceVersion, through
/// the Api's own list request sent raw, so that the body sizes can be seen.
fn protobuf_and_json(pods: &Api<Pod>) -> Result {
    let (pb_bytes, pb_list) =
        list_with_size(&pods.clone().protobuf(), &ListParams::default(), Format::Protobuf)?;
    let version = pb_list
        .metadata
        .resource_version
        .clone()
        .ok_or("no list resourceVersion")?;
    let at_same_version = ListParams::default().at(&version, ResourceVersionMatch::Exact);
    let (json_bytes, json_list) = list_with_size(&pods.clone().json(), &at_same_version, Format::Json)?;
    ensure!(
        !pb_list.items.is_empty() && pb_list.items == json_list.items,
        "protobuf gave {} pods, JSON {}, and they differ",
        pb_list.items.len(),
        json_list.items.len()
    );
    println!(
        "protobuf {pb_bytes} bytes, JSON {json_bytes} bytes ({:.0}%), the same {} pods",
        100.0 * pb_bytes as f64 / json_bytes as f64,
        pb_list.items.len()
    );
    Ok(())
}

/// Lists with `api`'s request, checks the answer came in `format`, and returns the body's size
/// (after any gzip) and the decoded list.
fn list_with_size<K: Resource + DeserializeOwned>(
    api: &Api<K>,
    params: &ListParams,
    format: Format,
) -> Result<(usize, ObjectList<K>)> {
    let response = api.client().send(api.request_builder().list(params)?)?;
    let list = decode_negotiated(response.status.as_u16(), response.content_type(), &response.body)?;
    ensure!(
        Format::of_content_type(response.content_type()) == format,
        "asked for {format:?}, got Content-Type {:?}",
        response.content_type()
    );
    Ok((response.body.len(), list))
}

/// A watcher on its own thread feeds a Store while this thread creates, changes and deletes
/// ConfigMaps; the store ends up holding exactly what a fresh list holds.
fn store_stays_in_sync(client: &Client, ns: &str) -> Result {
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let selector = "tour=store";
    let (sender, events) = channel();
    let config = WatchConfig::default().labels(selector);
    let watched = configmaps.clone();
    std::thread::spawn(move || {
        for event in watcher(watched, config) {
            if sender.send(event).is_err() {
                break;
            }
        }
    });
    let mut store = Store::new();
    let mut taken = 0;
    follow(&events, &mut store, &mut taken, |store| store.is_ready())?;

    for (name, colour) in [("red", "#f00"), ("green", "#0f0"), ("blue", "#00f")] {
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"tour": "store"}},
            "data": {"colour": colour},
        }))?;
        configmaps.create(&PostParams::default(), &cm)?;
    }
    configmaps.patch(
        "green",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"colour": "lime"}})),
    )?;
    configmaps.delete("red", &DeleteParams::default())?;

    let fresh: Vec<(String, String)> = configmaps
        .list(&ListParams::default().labels(selector))?
        .items
        .iter()
        .map(name_and_version)
        .collect();
    follow(&events, &mut store, &mut taken, |store| {
        store.list().map(name_and_version).collect::<Vec<_>>() == fresh
    })?;
    let green = store
        .list()
        .find(|cm| cm.metadata.name.as_deref() == Some("green"));
    let colour = green.and_then(|cm| cm.data.as_ref()?.get("colour").cloned());
    ensure!(
        colour.as_deref() == Some("lime"),
        "the store's green is {colour:?}"
    );
    let names: Vec<&str> = fresh.iter().map(|(name, _)| name.as_str()).collect();
    println!(
        "3 created, 1 changed, 1 deleted: after {taken} watch events the store holds {names:?}, \
         the names and resourceVersions of a fresh list"
    );
    Ok(())
}

/// Takes watcher events into `store` until `done` holds, for at most 30 seconds.
fn follow<K: klient_blocking::core::Resource + Clone>(
    events: &Receiver<klient_blocking::Result<Event<K>>>,
    store: &mut Store<K>,
    taken: &mut usize,
    mut done: impl FnMut(&Store<K>) -> bool,
) -> Result {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(store) {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(event) => {
                store.apply(event?);
                *taken += 1;
            }
            Err(RecvTimeoutError::Timeout) => return Err("the store did not catch up within 30 s".into()),
            Err(RecvTimeoutError::Disconnected) => return Err("the watcher ended".into()),
        }
    }
    Ok(())
}

fn name_and_version(cm: &ConfigMap) -> (String, String) {
    let meta = &cm.metadata;
    (
        meta.name.clone().unwrap_or_default(),
        meta.resource_version.clone().unwrap_or_default(),
    )
}

fn typed_error(pods: &Api<Pod>) -> Result {
    match pods.get("no-such-pod") {
        Err(e) if e.api().is_some_and(|api| api.reason == StatusReason::NotFound) => {
            println!("NotFound, as expected: {e}");
            Ok(())
        }
        other => Err(format!("expected NotFound, got {other:?}").into()),
    }
}

/// Deletes the namespace: it turns Terminating, and the controller manager removes what it holds.
fn delete_namespace(namespaces: &Api<Namespace>, ns: &str) -> Result {
    let phase = match namespaces.delete(ns, &DeleteParams::default())? {
        Deleted::Object(namespace) => namespace.status.and_then(|s| s.phase),
        Deleted::Status(_) => Some("gone".to_owned()),
    };
    ensure!(
        matches!(phase.as_deref(), Some("Terminating" | "gone")),
        "namespace {ns} is {phase:?} after its deletion"
    );
    println!(
        "namespace {ns} is {} (the controller manager removes what it holds)",
        phase.unwrap_or_default()
    );
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

fn read_to_string(reader: Option<OutputReader>) -> Result<String> {
    let mut text = String::new();
    reader
        .ok_or("the stream was not requested")?
        .read_to_string(&mut text)?;
    Ok(text)
}

/// The next line of terminal output that is not blank (the terminal echoes our empty lines).
fn read_line(terminal: &mut impl Read) -> Result<String> {
    let mut line = Vec::new();
    let mut byte = [0];
    loop {
        ensure!(
            terminal.read(&mut byte)? == 1,
            "the terminal ended; last read {:?}",
            String::from_utf8_lossy(&line)
        );
        match byte[0] {
            b'\n' if !line.trim_ascii().is_empty() => {
                return Ok(String::from_utf8_lossy(&line).trim().to_owned());
            }
            b'\n' => line.clear(),
            other => line.push(other),
        }
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
