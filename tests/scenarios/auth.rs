//! Every way a kubeconfig authenticates, against the real API server: bearer token, client
//! certificate, token file with rotation, exec plugins (token and certificate, expiry, failures),
//! in-cluster service accounts. The proxy test is in `proxy.rs`.

use std::path::{Path, PathBuf};

use crate::adapter::{Api, Client, Config};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use klient_e2e::Cluster;
use klient_proto::Error;
use klient_proto::api::{ListParams, PostParams};
use klient_proto::tls::{CertificateError, TlsError};

/// A scratch folder for kubeconfigs, scripts and tokens, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("klient-auth-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.write(name, &format!("#!/bin/sh\n{body}"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn kubeconfig(cluster: &Cluster, user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority: {}\n\
         users:\n- name: u\n  user:\n{user}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n",
        cluster.server_url(),
        cluster.ca_file().display()
    )
}

fn client_from(path: &Path) -> Client {
    Client::try_from(Config::from_kubeconfig(path).expect("kubeconfig resolves")).expect("client builds")
}

async fn can_list_namespaces(client: &Client) -> Result<usize, Error> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    Ok(w!(namespaces.list(&ListParams::default()))?.items.len())
}

#[test]
fn bearer_token_and_client_certificate() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        assert!(
            can_list_namespaces(&client_from(&cluster.admin_kubeconfig()))
                .await
                .unwrap()
                > 0
        );
        assert!(
            can_list_namespaces(&client_from(&cluster.admin_cert_kubeconfig()))
                .await
                .unwrap()
                > 0
        );
    });
}

#[test]
fn a_wrong_token_is_unauthorized_and_the_token_stays_secret() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let scratch = Scratch::new("bad-token");
        let path = scratch.write(
            "config",
            &kubeconfig(&cluster, "    token: not-a-valid-token-s3cr3t"),
        );
        let config = Config::from_kubeconfig(&path).unwrap();
        assert!(
            !format!("{config:?}").contains("s3cr3t"),
            "Debug of the config shows the token"
        );
        let client = Client::try_from(config).unwrap();
        let err = can_list_namespaces(&client).await.unwrap_err();
        assert_eq!(err.api().map(|e| e.code), Some(401), "{err}");
        assert!(!err.to_string().contains("s3cr3t"));
        assert!(!format!("{client:?}").contains("s3cr3t"));
    });
}

/// A service account with cluster-wide read access to namespaces, and tokens minted for it.
struct Reader<'a> {
    cluster: &'a Cluster,
    namespace: String,
}

impl<'a> Reader<'a> {
    fn create(cluster: &'a Cluster, name: &str) -> Reader<'a> {
        let namespace = format!("{name}-{}", std::process::id());
        cluster.kubectl_ok(&["create", "namespace", &namespace]);
        cluster.kubectl_ok(&["create", "serviceaccount", "reader", "-n", &namespace]);
        cluster.kubectl_ok(&[
            "create",
            "clusterrolebinding",
            &namespace,
            "--clusterrole=view",
            &format!("--serviceaccount={namespace}:reader"),
        ]);
        Reader { cluster, namespace }
    }

    fn token(&self) -> String {
        self.cluster
            .kubectl_ok(&["create", "token", "reader", "-n", &self.namespace])
            .trim()
            .to_owned()
    }

    /// Deletes and recreates the service account: tokens of the old one stop working.
    fn recreate(&self) {
        let api: klient_blocking::Api<ServiceAccount> =
            klient_blocking::Api::namespaced(klient_e2e::admin_client(self.cluster), &self.namespace);
        api.delete("reader", &Default::default()).unwrap();
        let account: ServiceAccount =
            serde_json::from_value(serde_json::json!({"metadata": {"name": "reader"}})).unwrap();
        // The delete may take a moment to finish; AlreadyExists means try again.
        for _ in 0..50 {
            match api.create(&PostParams::default(), &account) {
                Ok(_) => return,
                Err(e) if e.api().is_some_and(|a| a.is_already_exists()) => {
                    std::thread::sleep(std::time::Duration::from_millis(100))
                }
                Err(e) => panic!("recreating the service account: {e}"),
            }
        }
        panic!("the service account never went away");
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        let _ = self
            .cluster
            .kubectl_output(&["delete", "clusterrolebinding", &self.namespace], None);
        let _ = self
            .cluster
            .kubectl_output(&["delete", "namespace", &self.namespace, "--wait=false"], None);
    }
}

#[test]
fn token_file_is_read_again_when_the_token_rotates() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let reader = Reader::create(&cluster, "auth-token-file");
        let scratch = Scratch::new("token-file");
        let token_path = scratch.write("token", &reader.token());
        let config_path = scratch.write(
            "config",
            &kubeconfig(&cluster, &format!("    tokenFile: {}", token_path.display())),
        );
        let client = client_from(&config_path);
        assert!(can_list_namespaces(&client).await.unwrap() > 0);

        // The old token dies with its service account; the file now holds a new one. The client
        // gets a 401 with its cached token, reads the file again and succeeds.
        reader.recreate();
        std::fs::write(&token_path, reader.token()).unwrap();
        assert!(can_list_namespaces(&client).await.unwrap() > 0);
    });
}

#[test]
fn exec_plugin_token_is_cached_until_it_expires() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let scratch = Scratch::new("exec-token");
        let count = scratch.0.join("runs");
        // Each run appends a line to `runs` and hands out the admin token valid for 3 seconds.
        let plugin = scratch.script(
            "plugin",
            &format!(
                "echo run >> {count}\n\
             test -n \"$KUBERNETES_EXEC_INFO\" || exit 9\n\
             expiry=$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%SZ)\n\
             printf '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\
             \"status\":{{\"token\":\"{token}\",\"expirationTimestamp\":\"%s\"}}}}' \"$expiry\"\n",
                count = count.display(),
                token = cluster.admin_token()
            ),
        );
        let user = format!(
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
            plugin.display()
        );
        let client = client_from(&scratch.write("config", &kubeconfig(&cluster, &user)));
        let runs = || {
            std::fs::read_to_string(&count)
                .unwrap_or_default()
                .lines()
                .count()
        };
        for _ in 0..3 {
            assert!(can_list_namespaces(&client).await.unwrap() > 0);
        }
        assert_eq!(runs(), 1, "the credential is cached while it is valid");
        std::thread::sleep(std::time::Duration::from_secs(4));
        assert!(can_list_namespaces(&client).await.unwrap() > 0);
        assert_eq!(runs(), 2, "an expired credential makes the plugin run again");
    });
}

#[test]
fn exec_plugin_client_certificate() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let scratch = Scratch::new("exec-cert");
        let pem_json =
            |path: PathBuf| serde_json::to_string(&std::fs::read_to_string(path).unwrap()).unwrap();
        let credential = format!(
            r#"{{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{{"clientCertificateData":{},"clientKeyData":{}}}}}"#,
            pem_json(cluster.dir().join("pki/admin.crt")),
            pem_json(cluster.dir().join("pki/admin.key"))
        );
        let output = scratch.write("credential.json", &credential);
        let plugin = scratch.script("plugin", &format!("cat {}\n", output.display()));
        let user = format!(
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: {}\n",
            plugin.display()
        );
        let client = client_from(&scratch.write("config", &kubeconfig(&cluster, &user)));
        assert!(can_list_namespaces(&client).await.unwrap() > 0);
    });
}

#[test]
fn failing_exec_plugins_get_clear_errors_without_secrets() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let scratch = Scratch::new("exec-fail");
        let cases = [
            (
                "echo 'cannot reach the identity provider' >&2; exit 3",
                "cannot reach the identity provider",
            ),
            ("echo 'not json at all, token=s3cr3t'", "exec plugin"),
            (
                r#"echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}'"#,
                "exec plugin",
            ),
        ];
        for (index, (body, expected)) in cases.into_iter().enumerate() {
            let plugin = scratch.script(&format!("plugin{index}"), &format!("{body}\n"));
            let user = format!(
                "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
                plugin.display()
            );
            let client = client_from(&scratch.write(&format!("config{index}"), &kubeconfig(&cluster, &user)));
            let err = can_list_namespaces(&client).await.unwrap_err().to_string();
            assert!(err.contains(expected), "case {index}: {err}");
            assert!(
                err.contains("plugin"),
                "case {index} does not name the plugin: {err}"
            );
            assert!(
                !err.contains("s3cr3t"),
                "case {index} leaks the plugin's output: {err}"
            );
        }
        let missing = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /no/such/plugin\n      \
                   interactiveMode: Never\n      installHint: install it from the vendor\n";
        let client = client_from(&scratch.write("config-missing", &kubeconfig(&cluster, missing)));
        let err = can_list_namespaces(&client).await.unwrap_err().to_string();
        assert!(
            err.contains("/no/such/plugin") && err.contains("install it from the vendor"),
            "{err}"
        );
    });
}

#[test]
fn in_cluster_service_account() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let reader = Reader::create(&cluster, "auth-in-cluster");
        let scratch = Scratch::new("in-cluster");
        scratch.write("token", &reader.token());
        std::fs::copy(cluster.ca_file(), scratch.0.join("ca.crt")).unwrap();
        scratch.write("namespace", &reader.namespace);
        let port = cluster.apiserver_port().to_string();
        let config = Config::in_cluster_from(&scratch.0, Some("127.0.0.1"), Some(&port)).unwrap();
        assert_eq!(config.default_namespace(), reader.namespace);
        let client = Client::try_from(config).unwrap();
        assert!(can_list_namespaces(&client).await.unwrap() > 0);

        // Without the service-host variables there is no in-cluster config, and the error says so.
        let err = Config::in_cluster_from(&scratch.0, None, Some(&port)).unwrap_err();
        assert!(err.to_string().contains("KUBERNETES_SERVICE_HOST"), "{err}");
    });
}

#[test]
fn tls_server_name_and_insecure_skip_verify() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let scratch = Scratch::new("tls");
        let token = format!("    token: {}", cluster.admin_token());
        let base = kubeconfig(&cluster, &token);
        let with = |extra: &str| {
            base.replacen(
                "    certificate-authority:",
                &format!("    {extra}\n    certificate-authority:"),
                1,
            )
        };

        // The certificate names localhost: asking for that name works, another name fails verification.
        let good = client_from(&scratch.write("good", &with("tls-server-name: localhost")));
        assert!(can_list_namespaces(&good).await.unwrap() > 0);
        let bad = client_from(&scratch.write("bad", &with("tls-server-name: not-the-server.example")));
        let err = can_list_namespaces(&bad).await.unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Tls { error: TlsError::Certificate(CertificateError::NotValidForName { expected, .. }), .. }
                    if expected == "not-the-server.example"
            ),
            "{err:?}"
        );

        // Without the CA, verification fails, unless the kubeconfig explicitly turns it off.
        let no_ca: String = base
            .lines()
            .filter(|l| !l.contains("certificate-authority"))
            .map(|l| format!("{l}\n"))
            .collect();
        let unverified = client_from(&scratch.write("no-ca", &no_ca));
        let err = can_list_namespaces(&unverified).await.unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Tls {
                    error: TlsError::Certificate(CertificateError::UnknownIssuer),
                    ..
                }
            ),
            "{err:?}"
        );
        let insecure = no_ca.replacen(
            "    server:",
            "    insecure-skip-tls-verify: true\n    server:",
            1,
        );
        let insecure = client_from(&scratch.write("insecure", &insecure));
        assert!(can_list_namespaces(&insecure).await.unwrap() > 0);
    });
}

/// `HTTPS_PROXY` is read from the process environment, so the check runs in a child process
/// (tests share one environment and run in parallel).
#[test]
fn https_proxy_and_no_proxy_from_the_environment() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead_proxy = format!("http://{}", listener.local_addr().unwrap());
        drop(listener); // nothing listens there: a request that uses the proxy fails to connect
        let run = |no_proxy: &str| {
            std::process::Command::new(env!("CARGO_BIN_EXE_list_namespaces"))
                .env("KUBECONFIG", cluster.admin_kubeconfig())
                .env("HTTPS_PROXY", &dead_proxy)
                .env("NO_PROXY", no_proxy)
                .output()
                .unwrap()
        };
        let through_proxy = run("");
        assert!(
            !through_proxy.status.success(),
            "the request did not use HTTPS_PROXY"
        );
        let stderr = String::from_utf8_lossy(&through_proxy.stderr);
        assert!(stderr.contains("proxy"), "{stderr}");
        let exempted = run("localhost,127.0.0.0/8");
        assert!(
            exempted.status.success(),
            "NO_PROXY did not exempt the server: {}",
            String::from_utf8_lossy(&exempted.stderr)
        );
    });
}
