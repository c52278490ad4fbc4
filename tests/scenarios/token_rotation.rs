// Issue 11: a rotated token file is picked up on a 401 by every kind of request — whole (get),
// streaming (a watcher's reconnect, a followed log) and upgrades (exec, port-forward) — against
// the real API server.
//
// Each test gets a service account of its own and two tokens for it from the TokenRequest API,
// each bound to its own Secret: deleting that Secret makes the API server refuse the token (401).
// The client under test reads its token from a file the test controls. The test starts the client
// on token A, then rotates: writes token B into the file, deletes A's Secret, and waits until
// the server refuses A. The client still holds A (it re-reads the file only every
// [`TOKEN_FILE_REFRESH_INTERVAL`], or on a 401), so its next request goes out with A, is refused,
// and succeeds only if the client renews the token from the file and sends it again. A client
// that does not renew on a 401 for that kind of request hands the 401 to the caller, and the
// test fails. Each test checks that it reached that request within the refresh interval;
// otherwise even such a client would have read the file again on its own, and the test would
// prove nothing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use klient_blocking::Api as FixtureApi;
use klient_e2e::{Cluster, Seen, TestNamespace, admin_client, list_versions, running_pod, unique_name};
use klient_proto::Error;
use klient_proto::api::{DeleteParams, ListParams, LogParams, PostParams};
use klient_proto::remote::{AttachParams, ExitStatus};
use klient_proto::watch::BackoffConfig;
use klient_proto::watch::watcher::Config as WatchConfig;

use crate::adapter::{Api, Client, Config};
use klient_proto::config::TOKEN_FILE_REFRESH_INTERVAL;
use serde_json::json;

const ACCOUNT: &str = "rotor";

/// How long after the client first read its token file a test may make the request that must
/// renew it: well inside [`TOKEN_FILE_REFRESH_INTERVAL`] (a minute), after which any client
/// would have read the file again without being told.
const PROOF_WINDOW: Duration = Duration::from_secs(45);

/// A namespace with a service account allowed what these tests do, two tokens for it (A and B,
/// each bound to its own Secret), a token file holding A, and a kubeconfig that reads it.
struct Rotation {
    cluster: Cluster,
    ns: TestNamespace,
    dir: PathBuf,
    token_file: PathBuf,
    token_a: String,
    token_b: String,
    /// When the client under test was made: its token file was first read after this.
    client_made: Option<Instant>,
}

impl Rotation {
    fn new(prefix: &str) -> Rotation {
        let cluster = Cluster::get();
        let admin = admin_client(&cluster);
        let ns = TestNamespace::create(&admin, prefix);
        let accounts: FixtureApi<ServiceAccount> = ns.api();
        accounts
            .create(
                &PostParams::default(),
                &object(json!({"metadata": {"name": ACCOUNT}})),
            )
            .unwrap();
        let roles: FixtureApi<Role> = ns.api();
        roles
            .create(
                &PostParams::default(),
                &object(json!({
                    "metadata": {"name": ACCOUNT},
                    "rules": [
                        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
                        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
                        // WebSocket upgrades are GETs; since 1.31 the API server also asks for create.
                        {"apiGroups": [""], "resources": ["pods/exec", "pods/portforward"],
                         "verbs": ["get", "create"]},
                        {"apiGroups": [""], "resources": ["configmaps"],
                         "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
                    ],
                })),
            )
            .unwrap();
        let bindings: FixtureApi<RoleBinding> = ns.api();
        bindings
            .create(
                &PostParams::default(),
                &object(json!({
                    "metadata": {"name": ACCOUNT},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ACCOUNT},
                    "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": ns.name()}],
                })),
            )
            .unwrap();
        let token_a = bound_token(&admin, ns.name(), "token-a");
        let token_b = bound_token(&admin, ns.name(), "token-b");
        assert_ne!(token_a, token_b);

        let dir = std::env::temp_dir().join(unique_name("klient-rotation"));
        std::fs::create_dir_all(&dir).unwrap();
        let token_file = dir.join("token");
        std::fs::write(&token_file, &token_a).unwrap();
        let user = format!("    tokenFile: {}", token_file.display());
        std::fs::write(dir.join("config"), kubeconfig(&cluster, ns.name(), &user)).unwrap();

        let rotation = Rotation {
            cluster,
            ns,
            dir,
            token_file,
            token_a,
            token_b,
            client_made: None,
        };
        // RBAC reaches the authorizer through an informer: wait until token A may do what the
        // tests do, so that no test mistakes a late role for a refused token.
        let a = rotation.static_client(&rotation.token_a);
        let pods = FixtureApi::<Pod>::namespaced(a.clone(), rotation.ns.name());
        let cms = FixtureApi::<ConfigMap>::namespaced(a, rotation.ns.name());
        klient_e2e::wait_for("the role of the service account", Duration::from_secs(30), || {
            (pods.list(&ListParams::default()).is_ok() && cms.list(&ListParams::default()).is_ok())
                .then_some(())
        });
        rotation
    }

    /// The client under test: token from the file, renewed on a 401.
    fn client(&mut self) -> Client {
        assert!(self.client_made.is_none(), "one client per test");
        self.client_made = Some(Instant::now());
        let config = Config::from_kubeconfig(self.dir.join("config")).expect("kubeconfig resolves");
        Client::try_from(config).expect("client builds")
    }

    /// A client that sends `token` and nothing else (no file, nothing to renew).
    fn static_client(&self, token: &str) -> klient_blocking::Client {
        let path = self.dir.join("static-config");
        let user = format!("    token: {token}");
        std::fs::write(&path, kubeconfig(&self.cluster, self.ns.name(), &user)).unwrap();
        klient_blocking::Client::new(Config::from_kubeconfig(&path).unwrap()).unwrap()
    }

    /// Token B goes into the file (replaced at once, as the kubelet does), A's Secret goes away,
    /// and this returns once the server refuses A. kube-apiserver caches a token it accepted for
    /// 10 s, so that may take a few seconds.
    fn rotate(&self) {
        let fresh = self.dir.join("token.new");
        std::fs::write(&fresh, &self.token_b).unwrap();
        std::fs::rename(&fresh, &self.token_file).unwrap();
        let admin = admin_client(&self.cluster);
        FixtureApi::<Secret>::namespaced(admin, self.ns.name())
            .delete("token-a", &DeleteParams::default())
            .unwrap();
        let old = FixtureApi::<ConfigMap>::namespaced(self.static_client(&self.token_a), self.ns.name());
        klient_e2e::wait_for(
            "the server to refuse token A",
            Duration::from_secs(40),
            || match old.list(&ListParams::default()) {
                Ok(_) => None,
                Err(e) if e.api().is_some_and(|api| api.code == 401) => Some(()),
                Err(e) => panic!("token A failed otherwise than with 401: {e}"),
            },
        );
    }

    /// Panics when the client may have read its token file again on its own: then the request
    /// about to be made would not show that a 401 makes it read the file.
    fn assert_token_a_still_cached(&self) {
        let made = self.client_made.expect("the client was made");
        let elapsed = made.elapsed();
        assert!(
            elapsed < PROOF_WINDOW,
            "inconclusive: {elapsed:?} passed since the client first read its token file, and it reads \
             it again every {TOKEN_FILE_REFRESH_INTERVAL:?} without a 401; the test was too slow"
        );
    }
}

impl Drop for Rotation {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn object<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("a valid object")
}

fn kubeconfig(cluster: &Cluster, namespace: &str, user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority: {}\n\
         users:\n- name: u\n  user:\n{user}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u, namespace: {namespace}}}\n\
         current-context: x\n",
        cluster.server_url(),
        cluster.ca_file().display()
    )
}

/// A token of the service account from the TokenRequest API (`serviceaccounts/<name>/token`,
/// which klient has no typed call for), bound to a new Secret `secret`: it dies with that Secret.
fn bound_token(admin: &klient_blocking::Client, namespace: &str, secret: &str) -> String {
    let secrets: FixtureApi<Secret> = FixtureApi::namespaced(admin.clone(), namespace);
    let created = secrets
        .create(
            &PostParams::default(),
            &object(json!({"metadata": {"name": secret}})),
        )
        .unwrap();
    let request = json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {
            "expirationSeconds": 3600,
            "boundObjectRef": {
                "apiVersion": "v1", "kind": "Secret", "name": secret,
                "uid": created.metadata.uid.expect("a uid"),
            },
        },
    });
    let request = http::Request::post(format!(
        "/api/v1/namespaces/{namespace}/serviceaccounts/{ACCOUNT}/token"
    ))
    .header("content-type", "application/json")
    .body(serde_json::to_vec(&request).unwrap())
    .unwrap();
    let response = admin.send(request).expect("TokenRequest sent");
    assert_eq!(
        response.status,
        201,
        "TokenRequest: {}",
        String::from_utf8_lossy(&response.body)
    );
    let answer: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    answer["status"]["token"]
        .as_str()
        .expect("the TokenRequest answer holds a token")
        .to_owned()
}

/// The 401 a client that does not renew hands to its caller, explained.
fn refused(what: &str, error: &Error) -> String {
    format!(
        "{what} after the token rotation failed: {error}{}",
        if error.api().is_some_and(|api| api.code == 401) {
            " — the client sent the refused cached token and did not renew it from the file on the 401"
        } else {
            ""
        }
    )
}

fn labelled(name: &str) -> ConfigMap {
    object(json!({"metadata": {"name": name, "labels": {"rotation": "yes"}}, "data": {"v": name}}))
}

fn applied(cm: &ConfigMap) -> Seen {
    Seen::Apply {
        name: cm.metadata.name.clone().unwrap(),
        rv: cm.metadata.resource_version.clone().unwrap(),
    }
}

/// The watcher's reconnect after a rotation: each watch request asks the server to end it after
/// 3 s, so the watcher keeps reconnecting, and the reconnects after the server refused token A go
/// out with the cached A, are refused, and must be renewed from the file. A client that does not
/// renew streaming requests on a 401 makes the watcher report that 401 as a failure.
#[test]
fn a_watcher_reconnects_after_the_token_rotates_without_losing_events() {
    crate::adapter::run(async move {
        let mut rotation = Rotation::new("rotation-watch");
        let admin_cms: FixtureApi<ConfigMap> = rotation.ns.api();
        let pre = admin_cms
            .create(&PostParams::default(), &labelled("pre"))
            .unwrap();
        let cms: Api<ConfigMap> = Api::namespaced(rotation.client(), rotation.ns.name());
        let config = WatchConfig::default()
            .labels("rotation=yes")
            .timeout(3)
            .backoff(BackoffConfig {
                initial: Duration::from_secs(1),
                max: Duration::from_secs(2),
                ..BackoffConfig::default()
            });
        let mut watch = crate::adapter::Watching::start(cms, config);
        w!(watch.until("the initial set", Duration::from_secs(20), |w| w.store.is_ready()));
        assert_eq!(
            watch.seen,
            [
                Seen::Init,
                Seen::InitApply {
                    name: "pre".into(),
                    rv: pre.metadata.resource_version.clone().unwrap(),
                },
                Seen::InitDone,
            ]
        );
        let before = applied(
            &admin_cms
                .create(&PostParams::default(), &labelled("before"))
                .unwrap(),
        );
        w!(watch.until("before", Duration::from_secs(20), |w| w.seen.contains(&before)));

        rotation.rotate();
        rotation.assert_token_a_still_cached();
        // Every watch request now open started after the server refused A: their reconnects
        // went out with the cached A.
        pause!(Duration::from_secs(4));
        let after = applied(
            &admin_cms
                .create(&PostParams::default(), &labelled("after"))
                .unwrap(),
        );
        w!(watch.until("after", Duration::from_secs(20), |w| w.seen.contains(&after)));
        let failures: Vec<&Seen> = watch
            .seen
            .iter()
            .filter(|s| matches!(s, Seen::Failure(_)))
            .collect();
        assert!(
            failures.is_empty(),
            "the watcher's requests after the rotation failed: {failures:?} — a 401 here means the \
             client sent the refused cached token on the watch and did not renew it"
        );
        // Nothing lost, nothing extra: what the watcher holds is what the server holds.
        assert_eq!(watch.store_versions(), list_versions(&admin_cms, "rotation=yes"));
    });
}

/// A new `logs -f` after a rotation: a streaming request, sent with the cached token A. A client
/// that does not renew streaming requests on a 401 returns that 401 from `log_stream`.
#[test]
fn a_followed_log_starts_after_the_token_rotates() {
    crate::adapter::run(async move {
        let mut rotation = Rotation::new("rotation-logs");
        running_pod(&rotation.ns.api(), "talker");
        let pods: Api<Pod> = Api::namespaced(rotation.client(), rotation.ns.name());
        let follow = LogParams {
            follow: true,
            ..LogParams::default()
        };
        let expected = ["klient log line 1", "klient log line 2", "klient log line 3"];
        let mut first = w!(pods.log_stream("talker", &follow)).expect("logs -f on token A");
        let mut text = Vec::new();
        while text.iter().filter(|&&b| b == b'\n').count() < 3 {
            text.extend_from_slice(&next!(first).expect("more of the log").expect("readable"));
        }
        assert_eq!(
            String::from_utf8(text).unwrap().lines().collect::<Vec<_>>(),
            expected
        );

        rotation.rotate();
        rotation.assert_token_a_still_cached();
        let mut second =
            w!(pods.log_stream("talker", &follow)).unwrap_or_else(|e| panic!("{}", refused("logs -f", &e)));
        let mut text = Vec::new();
        while text.iter().filter(|&&b| b == b'\n').count() < 3 {
            text.extend_from_slice(&next!(second).expect("more of the log").expect("readable"));
        }
        assert_eq!(
            String::from_utf8(text).unwrap().lines().collect::<Vec<_>>(),
            expected
        );
    });
}

async fn exec_echo(pods: &Api<Pod>, word: &str) -> Result<Vec<u8>, Error> {
    let mut process = w!(pods.exec("box", &["echo", word], &AttachParams::default()))?;
    let mut stdout = process.take_stdout().expect("stdout was asked for");
    let out = read_to_end!(stdout);
    assert_eq!(w!(process.wait())?, ExitStatus::Success);
    Ok(out)
}

/// exec after a rotation: the WebSocket upgrade request goes out with the cached token A. A
/// client that does not renew upgrades on a 401 fails the handshake with that 401.
#[test]
fn exec_works_after_the_token_rotates() {
    crate::adapter::run(async move {
        let mut rotation = Rotation::new("rotation-exec");
        running_pod(&rotation.ns.api(), "box");
        let pods: Api<Pod> = Api::namespaced(rotation.client(), rotation.ns.name());
        assert_eq!(
            exec_echo(&pods, "before").await.expect("exec on token A"),
            b"before\n"
        );

        rotation.rotate();
        rotation.assert_token_a_still_cached();
        let out = exec_echo(&pods, "after")
            .await
            .unwrap_or_else(|e| panic!("{}", refused("exec", &e)));
        assert_eq!(out, b"after\n");
    });
}

/// Sends bytes through a port-forward to the cluster's echo server and reads them back.
async fn port_forward_round_trip(pods: &Api<Pod>, port: u16) -> Result<(), Error> {
    let mut forwarder = w!(pods.portforward("box", &[port]))?;
    let stream = forwarder.take_stream(port).expect("the forwarded port");
    let payload: Vec<u8> = (0..64 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    let (mut reader, mut writer) = split!(stream);
    let sent = payload.clone();
    let sender = spawn!({ write_all!(writer, &sent) });
    let mut echoed = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    while echoed.len() < payload.len() {
        let n = read_some!(reader, &mut buf);
        assert!(n > 0, "the echo ended after {} bytes", echoed.len());
        echoed.extend_from_slice(&buf[..n]);
    }
    join!(sender);
    assert!(echoed == payload, "the echo differs from what was sent");
    Ok(())
}

/// port-forward after a rotation: an upgrade request, like exec, sent with the cached token A.
#[test]
fn port_forward_works_after_the_token_rotates() {
    crate::adapter::run(async move {
        let mut rotation = Rotation::new("rotation-portforward");
        running_pod(&rotation.ns.api(), "box");
        let port = rotation.cluster.echo_port();
        let pods: Api<Pod> = Api::namespaced(rotation.client(), rotation.ns.name());
        port_forward_round_trip(&pods, port)
            .await
            .expect("port-forward on token A");

        rotation.rotate();
        rotation.assert_token_a_still_cached();
        port_forward_round_trip(&pods, port)
            .await
            .unwrap_or_else(|e| panic!("{}", refused("port-forward", &e)));
    });
}

/// A plain get after a rotation (a whole request). Sanity: klient renewed whole requests on a
/// 401 before issue 11 too (see `auth.rs`); this one rotates by deleting a bound Secret.
#[test]
fn a_get_works_after_the_token_rotates() {
    crate::adapter::run(async move {
        let mut rotation = Rotation::new("rotation-get");
        let admin_cms: FixtureApi<ConfigMap> = rotation.ns.api();
        admin_cms
            .create(&PostParams::default(), &labelled("plain"))
            .unwrap();
        let cms: Api<ConfigMap> = Api::namespaced(rotation.client(), rotation.ns.name());
        assert_eq!(
            w!(cms.get("plain")).expect("get on token A").data,
            labelled("plain").data
        );

        rotation.rotate();
        rotation.assert_token_a_still_cached();
        let cm = w!(cms.get("plain")).unwrap_or_else(|e| panic!("{}", refused("get", &e)));
        assert_eq!(cm.data, labelled("plain").data);
    });
}
