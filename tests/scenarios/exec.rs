//! exec, attach and port-forward against the real API server and the harness's kubelet
//! (commands run on this machine), cross-checked with kubectl.

use k8s_openapi::api::core::v1::{Namespace, Pod};
use klient_proto::Error;
use klient_proto::api::{DeleteParams, PostParams, RequestError, StatusReason};
use klient_proto::remote::{AttachParams, ExitStatus, InvalidPorts};

use crate::adapter::{Api, Client, Config};
use klient_e2e::Cluster;

/// A namespace with one Running pod `box`, deleted at the end.
struct Sandbox {
    fixtures: klient_blocking::Client,
    client: Client,
    namespace: String,
}

impl Sandbox {
    fn new(cluster: &Cluster, prefix: &str) -> Sandbox {
        let fixtures = klient_e2e::admin_client(cluster);
        let client = crate::adapter::client();
        let namespace = format!("{prefix}-{}", std::process::id());
        let ns: Namespace =
            serde_json::from_value(serde_json::json!({"metadata": {"name": namespace}})).unwrap();
        klient_blocking::Api::<Namespace>::all(fixtures.clone())
            .create(&PostParams::default(), &ns)
            .unwrap();
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "box"},
            "spec": {"nodeName": "kwok-node-0", "containers": [{"name": "main", "image": "busybox"}]}
        }))
        .unwrap();
        klient_blocking::Api::<Pod>::namespaced(fixtures.clone(), &namespace)
            .create(&PostParams::default(), &pod)
            .unwrap();
        cluster.kubectl_ok(&[
            "wait",
            "--for=jsonpath={.status.phase}=Running",
            "-n",
            &namespace,
            "pod/box",
            "--timeout=60s",
        ]);
        Sandbox {
            fixtures,
            client,
            namespace,
        }
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = klient_blocking::Api::<Namespace>::all(self.fixtures.clone())
            .delete(&self.namespace, &DeleteParams::default());
    }
}

#[test]
fn exec_keeps_stdout_and_stderr_apart_and_reports_exit_codes() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let sandbox = Sandbox::new(&cluster, "exec-basic");
        let pods = sandbox.pods();
        let command = ["sh", "-c", "echo out; echo err >&2; exit 0"];
        let mut process = w!(pods.exec("box", &command, &AttachParams::default())).unwrap();
        let (mut stdout, mut stderr) = (process.take_stdout().unwrap(), process.take_stderr().unwrap());
        let out = read_to_end!(stdout);
        let err = read_to_end!(stderr);
        assert_eq!(w!(process.wait()).unwrap(), ExitStatus::Success);
        assert_eq!(out, b"out\n");
        assert_eq!(err, b"err\n");

        let process = w!(pods.exec("box", &["sh", "-c", "exit 42"], &AttachParams::default())).unwrap();
        assert_eq!(w!(process.wait()).unwrap(), ExitStatus::Code(42));

        // The same through kubectl, for comparison.
        let output = cluster.kubectl_output(
            &[
                "exec",
                "-n",
                &sandbox.namespace,
                "box",
                "--",
                "sh",
                "-c",
                "exit 42",
            ],
            None,
        );
        assert_eq!(output.status.code(), Some(42));
    });
}

#[test]
fn stdin_is_streamed_and_closed_so_cat_returns() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let sandbox = Sandbox::new(&cluster, "exec-stdin");
        let params = AttachParams {
            stdin: true,
            stderr: false,
            ..AttachParams::default()
        };
        let mut process = w!(sandbox.pods().exec("box", &["cat"], &params)).unwrap();
        let input: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut stdin = process.take_stdin().unwrap();
        let mut stdout = process.take_stdout().unwrap();
        let sent = input.clone();
        let writer = spawn!({
            write_all!(stdin, &sent);
            // Dropping stdin closes it: cat sees end of file and exits.
            drop(stdin);
        });
        let echoed = read_to_end!(stdout);
        join!(writer);
        assert_eq!(w!(process.wait()).unwrap(), ExitStatus::Success);
        assert!(
            echoed == input,
            "cat returned {} bytes, sent {}",
            echoed.len(),
            input.len()
        );
    });
}

#[test]
fn ten_mebibytes_of_output_arrive_intact() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let sandbox = Sandbox::new(&cluster, "exec-big");
        let command = [
            "sh",
            "-c",
            "f=$(mktemp); head -c 10485760 /dev/urandom > \"$f\"; cat \"$f\"; cat \"$f\" >&2; sha256sum < \"$f\" >&2; rm -f \"$f\"",
        ];
        // stdout carries the bytes; stderr the same bytes followed by their checksum line.
        let mut process = w!(sandbox.pods().exec("box", &command, &AttachParams::default())).unwrap();
        let (mut stdout, mut stderr) = (process.take_stdout().unwrap(), process.take_stderr().unwrap());
        let stderr_reader = spawn!({ read_to_end!(stderr) });
        let data = read_to_end!(stdout);
        let stderr = join!(stderr_reader);
        assert_eq!(w!(process.wait()).unwrap(), ExitStatus::Success);
        assert_eq!(data.len(), 10 << 20);
        let (copy, checksum_line) = stderr.split_at(10 << 20);
        assert!(copy == data.as_slice(), "stdout and stderr copies differ");
        let expected = String::from_utf8_lossy(checksum_line);
        let actual = sha256_hex(&data);
        assert!(
            expected.starts_with(&actual),
            "sha256 {actual} but the pod computed {expected}"
        );
    });
}

fn sha256_hex(data: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn tty_with_resize() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let sandbox = Sandbox::new(&cluster, "exec-tty");
        let params = AttachParams {
            stdin: true,
            stdout: true,
            stderr: false,
            tty: true,
            ..AttachParams::default()
        };
        let mut process = w!(sandbox
            .pods()
            .exec("box", &["sh", "-c", "sleep 1; stty size"], &params))
        .unwrap();
        process.resize(123, 45).unwrap();
        let mut stdout = process.take_stdout().unwrap();
        drop(process.take_stdin());
        let output = String::from_utf8_lossy(&read_to_end!(stdout)).into_owned();
        assert_eq!(w!(process.wait()).unwrap(), ExitStatus::Success);
        assert!(output.contains("45 123"), "stty saw {output:?}");
    });
}

#[test]
fn attach_echoes_through_the_main_process() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let sandbox = Sandbox::new(&cluster, "attach");
        let params = AttachParams {
            container: Some("main".into()),
            stdin: true,
            stderr: false,
            ..AttachParams::default()
        };
        let mut process = w!(sandbox.pods().attach("box", &params)).unwrap();
        let mut stdout = process.take_stdout().unwrap();
        let mut stdin = process.take_stdin().unwrap();
        write_all!(stdin, b"hello through attach\n");
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        while !String::from_utf8_lossy(&seen).contains("hello through attach") {
            let n = read_some!(stdout, &mut buf);
            assert!(
                n > 0,
                "attach ended before the echo; saw {:?}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&buf[..n]);
        }
    });
}

#[test]
fn port_forward_round_trips_100_mebibytes() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let sandbox = Sandbox::new(&cluster, "portforward");
        let port = cluster.echo_port();
        let mut forwarder = w!(sandbox.pods().portforward("box", &[port])).unwrap();
        let stream = forwarder.take_stream(port).unwrap();
        let total = 100usize << 20;
        let (mut reader, mut writer) = split!(stream);
        let block: Vec<u8> = (0..1 << 20)
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let sent = block.clone();
        let sender = spawn!({
            for round in 0..100u8 {
                let mut chunk = sent.clone();
                chunk[0] = round;
                write_all!(writer, &chunk);
            }
        });
        let mut received = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        let mut hasher_input = Vec::with_capacity(1 << 20);
        while received < total {
            let n = read_some!(reader, &mut buf);
            assert!(n > 0, "the tunnel ended after {received} bytes");
            hasher_input.extend_from_slice(&buf[..n]);
            while hasher_input.len() >= 1 << 20 {
                let round = received >> 20;
                let mut expected = block.clone();
                expected[0] = round as u8;
                assert!(hasher_input[..1 << 20] == expected[..], "block {round} differs");
                hasher_input.drain(..1 << 20);
                received += 1 << 20;
            }
        }
        join!(sender);
        assert_eq!(received, total);
    });
}

#[test]
fn kubectl_and_klient_agree_on_exec_output() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let sandbox = Sandbox::new(&cluster, "exec-crosscheck");
        let script = "printf 'a\\nb\\n'; printf 'warn' >&2; exit 0";
        let mut process = w!(sandbox
            .pods()
            .exec("box", &["sh", "-c", script], &AttachParams::default()))
        .unwrap();
        let (mut stdout, mut stderr) = (process.take_stdout().unwrap(), process.take_stderr().unwrap());
        let out = read_to_end!(stdout);
        let err = read_to_end!(stderr);
        w!(process.wait()).unwrap();
        let output = cluster.kubectl_output(
            &["exec", "-n", &sandbox.namespace, "box", "--", "sh", "-c", script],
            None,
        );
        assert_eq!(out, output.stdout);
        assert_eq!(err, output.stderr);
    });
}

#[test]
fn refusals_are_api_errors_and_mistakes_are_typed() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let sandbox = Sandbox::new(&cluster, "klient-exec-errors");
        fn api_error<T>(result: Result<T, Error>) -> (StatusReason, u16) {
            match result {
                Err(Error::Api(e)) => (e.reason.clone(), e.code),
                Err(other) => panic!("not an API error: {other:?}"),
                Ok(_) => panic!("the server accepted it"),
            }
        }
        // The restricted account may read pods in its own namespace only: pods/exec is Forbidden.
        let restricted =
            Client::try_from(Config::from_kubeconfig(cluster.restricted_kubeconfig()).unwrap()).unwrap();
        let params = AttachParams::default();
        assert_eq!(
            api_error(w!(restricted.exec(&sandbox.namespace, "box", &["true"], &params))),
            (StatusReason::Forbidden, 403)
        );
        assert_eq!(
            api_error(w!(restricted.portforward(&sandbox.namespace, "box", &[80]))),
            (StatusReason::Forbidden, 403)
        );
        // A pod that does not exist is NotFound, as for any request.
        assert_eq!(
            api_error(w!(sandbox.pods().exec("no-such-pod", &["true"], &params))),
            (StatusReason::NotFound, 404)
        );
        // The caller's mistakes never reach the server.
        assert!(matches!(
            w!(sandbox.pods().portforward("box", &[80, 0])),
            Err(Error::InvalidPorts(InvalidPorts::ZeroPort { port_index: 1 }))
        ));
        assert!(matches!(
            w!(Api::<Pod>::all(sandbox.client.clone()).exec("box", &["true"], &params)),
            Err(Error::Request(RequestError::NamespaceRequired { .. }))
        ));
        assert!(matches!(
            w!(sandbox.pods().exec("a/b", &["true"], &params)),
            Err(Error::Request(RequestError::InvalidSegment { .. }))
        ));
    });
}

#[test]
fn listener_forwards_many_concurrent_connections() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let sandbox = Sandbox::new(&cluster, "pf-listener");
        let listener = w!(crate::adapter::PortForwardListener::bind(
            &sandbox.client,
            &sandbox.namespace,
            "box",
            cluster.echo_port(),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .unwrap();
        let address = listener.local_addr();
        let workers = klient_e2e::echo_clients(address, 16, 256 * 1024, klient_e2e::ClientEnd::ReadBack);
        let all_done = spawn_thread!({
            for worker in workers {
                worker.join().expect("a forwarded connection failed");
            }
        });
        // On an adapter without tasks of its own the listener works while it is served.
        while_serving!(listener, join!(all_done));
        listener.stop();
    });
}
