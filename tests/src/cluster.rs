use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The local control plane started by `tests/cluster/cluster.sh up`, as seen from a test.
#[derive(Debug, Clone)]
pub struct Cluster {
    dir: PathBuf,
    kubectl: PathBuf,
    echo_port: u16,
    apiserver_port: u16,
}

impl Cluster {
    /// Finds the running cluster, or panics with instructions: a test that needs the cluster must fail
    /// loudly when it is missing, never pass by skipping.
    pub fn get() -> Cluster {
        let dir = match std::env::var_os("KLIENT_CLUSTER_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => home_dir().join(".klient/cluster"),
        };
        let ports = std::fs::read_to_string(dir.join("ports.env")).unwrap_or_else(|err| {
            panic!(
                "no local control plane at {} ({err}); start it with `tests/cluster/cluster.sh up` \
                 or run the whole suite with `./dev test`",
                dir.display()
            )
        });
        let value = |key: &str| -> String {
            ports
                .lines()
                .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
                .unwrap_or_else(|| panic!("{} lacks {key}", dir.join("ports.env").display()))
                .to_owned()
        };
        let kubectl = PathBuf::from(value("BIN_DIR")).join("kubectl");
        let echo_port = value("ECHO_PORT").parse().expect("ECHO_PORT is a port number");
        let apiserver_port = value("APISERVER_PORT")
            .parse()
            .expect("APISERVER_PORT is a port number");
        Cluster {
            dir,
            kubectl,
            echo_port,
            apiserver_port,
        }
    }

    /// The kubeconfig of the cluster admin (bearer token).
    pub fn admin_kubeconfig(&self) -> PathBuf {
        self.dir.join("admin.kubeconfig")
    }

    /// The kubeconfig of a service account that may only read pods in namespace `klient-restricted`.
    pub fn restricted_kubeconfig(&self) -> PathBuf {
        self.dir.join("restricted.kubeconfig")
    }

    /// The API server's URL.
    pub fn server_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.apiserver_port)
    }

    /// The API server's port on 127.0.0.1.
    pub fn apiserver_port(&self) -> u16 {
        self.apiserver_port
    }

    /// The CA that signed the API server's certificate (and the admin client certificate).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("pki/ca.crt")
    }

    /// The kubeconfig of the cluster admin authenticated by client certificate.
    pub fn admin_cert_kubeconfig(&self) -> PathBuf {
        self.dir.join("admin-cert.kubeconfig")
    }

    /// The admin's static bearer token.
    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.dir.join("pki/admin.token"))
            .expect("admin token")
            .trim()
            .to_owned()
    }

    /// Compacts etcd's history up to its current revision, as kube-apiserver does every five
    /// minutes: afterwards, resourceVersions and continue tokens from before now are expired (410).
    /// Tests of expiry call it so they do not depend on how long the cluster has been up.
    pub fn compact_etcd(&self) {
        let ports = std::fs::read_to_string(self.dir.join("ports.env")).expect("ports.env");
        let port = ports
            .lines()
            .find_map(|l| l.strip_prefix("ETCD_PORT="))
            .expect("ports.env names ETCD_PORT")
            .to_owned();
        let post = |path: &str, body: &str| -> String {
            let output = Command::new("curl")
                .args([
                    "-sf",
                    "-X",
                    "POST",
                    &format!("http://127.0.0.1:{port}{path}"),
                    "-d",
                    body,
                ])
                .output()
                .expect("curl runs");
            assert!(
                output.status.success(),
                "etcd {path} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8_lossy(&output.stdout).into_owned()
        };
        // Any range answer carries the store's current revision in its header.
        let range = post("/v3/kv/range", r#"{"key":"AA=="}"#);
        let revision = range
            .split("\"revision\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no revision in etcd's answer {range}"))
            .to_owned();
        let answer = post(
            "/v3/kv/compaction",
            &format!(r#"{{"revision":"{revision}","physical":true}}"#),
        );
        assert!(!answer.contains("error"), "etcd refused to compact: {answer}");
    }

    /// The folder holding the cluster's PKI, logs and kubeconfigs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The TCP port of the echo server on 127.0.0.1 that port-forward tests reach.
    pub fn echo_port(&self) -> u16 {
        self.echo_port
    }

    /// A `kubectl` command (the one built with the cluster) already pointed at the admin kubeconfig.
    pub fn kubectl(&self) -> Command {
        let mut command = Command::new(&self.kubectl);
        command.arg("--kubeconfig").arg(self.admin_kubeconfig());
        command
    }

    /// Runs kubectl with `args` and returns its stdout, panicking with its stderr when it fails.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let output = self.kubectl_output(args, None);
        assert!(
            output.status.success(),
            "kubectl {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("kubectl prints UTF-8")
    }

    /// Runs kubectl with `args`, feeding `stdin` when given, and returns everything it did.
    pub fn kubectl_output(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut command = self.kubectl();
        command.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        command.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = command.spawn().expect("kubectl starts");
        if let Some(bytes) = stdin {
            use std::io::Write;
            let mut pipe = child.stdin.take().expect("stdin is piped");
            pipe.write_all(bytes).expect("kubectl takes stdin");
            // Dropping the pipe closes it: that EOF is what ends `cat` on the other side.
        }
        child.wait_with_output().expect("kubectl runs")
    }
}

fn home_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
}
