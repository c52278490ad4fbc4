//! The control-plane harness proves itself with the upstream kubectl before any klient code relies on
//! it: pods turn Running, exec runs a real local command, logs and port-forward reach real files and
//! sockets, and namespace deletion completes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use klient_e2e::Cluster;

/// A namespace with a unique name, deleted (and waited for) when the test ends.
struct TestNamespace<'a> {
    cluster: &'a Cluster,
    name: String,
}

impl<'a> TestNamespace<'a> {
    fn create(cluster: &'a Cluster, prefix: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .subsec_nanos();
        let name = format!("{prefix}-{}-{nanos}", std::process::id());
        cluster.kubectl_ok(&["create", "namespace", &name]);
        TestNamespace { cluster, name }
    }
}

impl Drop for TestNamespace<'_> {
    fn drop(&mut self) {
        let _ = self
            .cluster
            .kubectl_output(&["delete", "namespace", &self.name, "--wait=false"], None);
    }
}

fn pod_manifest(namespace: &str, name: &str) -> String {
    format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}","namespace":"{namespace}"}},
        "spec":{{"nodeName":"kwok-node-0","containers":[{{"name":"main","image":"busybox"}}]}}}}"#
    )
}

fn create_running_pod(cluster: &Cluster, namespace: &str, name: &str) {
    let output = cluster.kubectl_output(
        &["apply", "-f", "-"],
        Some(pod_manifest(namespace, name).as_bytes()),
    );
    assert!(
        output.status.success(),
        "creating the pod failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    cluster.kubectl_ok(&[
        "wait",
        "--for=jsonpath={.status.phase}=Running",
        "-n",
        namespace,
        &format!("pod/{name}"),
        "--timeout=60s",
    ]);
}

#[test]
fn pods_run_and_exec_logs_portforward_work() {
    let cluster = Cluster::get();
    let ns = TestNamespace::create(&cluster, "harness");
    create_running_pod(&cluster, &ns.name, "box");

    // exec runs a real local command, with stdin streamed in.
    let output = cluster.kubectl_output(
        &["exec", "-i", "-n", &ns.name, "box", "--", "head", "-c", "11"],
        Some(b"hello world and more"),
    );
    assert!(
        output.status.success(),
        "exec failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "hello world");

    // stdout and stderr arrive apart.
    let output = cluster.kubectl_output(
        &[
            "exec",
            "-n",
            &ns.name,
            "box",
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2",
        ],
        None,
    );
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "err\n");

    // stdin's EOF reaches the command: `cat` returns with everything it was given.
    let input: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let output = cluster.kubectl_output(&["exec", "-i", "-n", &ns.name, "box", "--", "cat"], Some(&input));
    assert!(
        output.status.success(),
        "exec cat failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stdout == input,
        "cat returned {} bytes, not the {} sent",
        output.stdout.len(),
        input.len()
    );

    // The command's exit code comes back as kubectl's.
    let output = cluster.kubectl_output(&["exec", "-n", &ns.name, "box", "--", "sh", "-c", "exit 3"], None);
    assert_eq!(
        output.status.code(),
        Some(3),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    // logs serve the pod's log file.
    let logs = cluster.kubectl_ok(&["logs", "-n", &ns.name, "box"]);
    assert_eq!(logs, "klient log line 1\nklient log line 2\nklient log line 3\n");
    let tail = cluster.kubectl_ok(&["logs", "-n", &ns.name, "box", "--tail=1"]);
    assert_eq!(tail, "klient log line 3\n");

    follow_logs(&cluster, &ns.name, "box");
    attach_echoes_stdin(&cluster, &ns.name, "box");
    port_forward_round_trip(&cluster, &ns.name, "box");
}

/// `kubectl logs -f` streams the log and stays open (the container is still running).
fn follow_logs(cluster: &Cluster, namespace: &str, pod: &str) {
    let mut child = cluster
        .kubectl()
        .args(["logs", "-f", "-n", namespace, pod])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl logs -f starts");
    let mut stdout = child.stdout.take().unwrap();
    let expected = "klient log line 1\nklient log line 2\nklient log line 3\n";
    let mut seen = vec![0u8; expected.len()];
    stdout
        .read_exact(&mut seen)
        .expect("the followed log delivers its lines");
    assert_eq!(String::from_utf8_lossy(&seen), expected);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "kubectl logs -f ended instead of following"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// The container's main process echoes what an attached client writes.
fn attach_echoes_stdin(cluster: &Cluster, namespace: &str, pod: &str) {
    let mut child = cluster
        .kubectl()
        .args(["attach", "-i", "-n", namespace, pod, "-c", "main"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl attach starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while !String::from_utf8_lossy(&seen).contains("attached hello") {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        seen
    });
    // kubectl attaches asynchronously; keep writing until the echo shows up or the reader gives up.
    for _ in 0..20 {
        if reader.is_finished() || stdin.write_all(b"attached hello\n").is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = child.kill();
    let _ = child.wait();
    let seen = reader.join().unwrap();
    assert!(
        String::from_utf8_lossy(&seen).contains("attached hello"),
        "attach never echoed; saw {:?}",
        String::from_utf8_lossy(&seen)
    );
}

/// Runs `kubectl port-forward` to the pod and sends bytes through it to the harness's echo server.
fn port_forward_round_trip(cluster: &Cluster, namespace: &str, pod: &str) {
    let remote = cluster.echo_port().to_string();
    let mut child: Child = cluster
        .kubectl()
        .args(["port-forward", "-n", namespace, pod, &format!(":{remote}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl port-forward starts");
    let local_port = read_forwarded_port(&mut child);
    let payload: Vec<u8> = (0..256 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let mut stream = TcpStream::connect(("127.0.0.1", local_port)).expect("connect to the forwarded port");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        let payload = payload.clone();
        std::thread::spawn(move || stream.write_all(&payload).expect("send through the tunnel"))
    };
    let mut echoed = vec![0u8; payload.len()];
    stream
        .read_exact(&mut echoed)
        .expect("echo comes back through the tunnel");
    writer.join().unwrap();
    assert!(echoed == payload, "the echo differs from what was sent");
    let _ = child.kill();
    let _ = child.wait();
}

/// kubectl prints "Forwarding from 127.0.0.1:PORT -> REMOTE" once the listener is up.
fn read_forwarded_port(child: &mut Child) -> u16 {
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while Instant::now() < deadline {
        match stdout.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => seen.push(byte[0]),
            Err(err) => panic!("reading kubectl port-forward output: {err}"),
        }
        if byte[0] == b'\n' {
            let text = String::from_utf8_lossy(&seen).to_string();
            if let Some(rest) = text
                .lines()
                .find_map(|l| l.strip_prefix("Forwarding from 127.0.0.1:"))
            {
                let port = rest.split_whitespace().next().unwrap_or_default();
                // Keep draining stdout so kubectl never blocks on a full pipe.
                std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
                return port.parse().expect("kubectl prints a port number");
            }
        }
    }
    let mut stderr = String::new();
    let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut stderr));
    panic!("kubectl port-forward never reported its port; output {seen:?}, stderr {stderr}");
}

#[test]
fn namespace_deletion_completes() {
    let cluster = Cluster::get();
    let ns = TestNamespace::create(&cluster, "harness-delete");
    create_running_pod(&cluster, &ns.name, "doomed");
    cluster.kubectl_ok(&["delete", "namespace", &ns.name, "--timeout=90s"]);
    let output = cluster.kubectl_output(&["get", "namespace", &ns.name], None);
    assert!(
        !output.status.success(),
        "the namespace is still there after deletion"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("NotFound"));
}

#[test]
fn restricted_kubeconfig_is_narrow() {
    let cluster = Cluster::get();
    let restricted = cluster.restricted_kubeconfig();
    let restricted = restricted.to_str().expect("UTF-8 path");
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(cluster.kubectl().get_program());
        command.arg("--kubeconfig").arg(restricted).args(args);
        command.output().expect("kubectl runs")
    };
    let allowed = run(&["get", "pods", "-n", "klient-restricted"]);
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    let denied = run(&["get", "pods", "-n", "default"]);
    assert!(!denied.status.success());
    assert!(String::from_utf8_lossy(&denied.stderr).contains("Forbidden"));
}
