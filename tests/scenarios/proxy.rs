//! Reaching the API server through a real HTTP proxy (tinyproxy on loopback) with `CONNECT`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use klient_proto::api::ListParams;

use crate::adapter::{Api, Client, Config};
use klient_e2e::Cluster;

/// tinyproxy on 127.0.0.1 requiring basic auth, logging every connection; stopped on drop.
struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
    dir: PathBuf,
}

impl Tinyproxy {
    fn start() -> Tinyproxy {
        let binary = ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("tinyproxy is not installed: `./dev test` installs it (apt-get install tinyproxy)");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("klient-proxy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("tinyproxy.log");
        let conf = dir.join("tinyproxy.conf");
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 60\nLogFile \"{}\"\nLogLevel Connect\n\
                 BasicAuth klient pr0xy-pass\nMaxClients 20\n",
                log.display()
            ),
        )
        .unwrap();
        let child = Command::new(binary)
            .args(["-d", "-c"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tinyproxy starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tinyproxy never listened on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Tinyproxy {
            child,
            port,
            log,
            dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn client_through(cluster: &Cluster, proxy_url: &str) -> Client {
    let kubeconfig = std::fs::read_to_string(cluster.admin_kubeconfig()).unwrap();
    let with_proxy = kubeconfig.replacen(
        "    certificate-authority:",
        &format!("    proxy-url: {proxy_url}\n    certificate-authority:"),
        1,
    );
    let path = std::env::temp_dir().join(format!(
        "klient-proxy-config-{}-{}",
        std::process::id(),
        proxy_url.len()
    ));
    std::fs::write(&path, with_proxy).unwrap();
    let client = Client::try_from(Config::from_kubeconfig(&path).unwrap()).unwrap();
    let _ = std::fs::remove_file(path);
    client
}

#[test]
fn requests_go_through_the_proxy_tunnel() {
    crate::adapter::run(async move {
        let cluster = Cluster::get();
        let proxy = Tinyproxy::start();
        let client = client_through(
            &cluster,
            &format!("http://klient:pr0xy-pass@127.0.0.1:{}", proxy.port),
        );
        let namespaces: Api<Namespace> = Api::all(client);
        assert!(
            !w!(namespaces.list(&ListParams::default()))
                .unwrap()
                .items
                .is_empty()
        );
        let target = format!("127.0.0.1:{}", cluster.apiserver_port());
        let log = proxy.log();
        assert!(
            log.contains("CONNECT") && log.contains(&target),
            "the proxy did not carry the request:\n{log}"
        );

        // Wrong proxy credentials: the proxy refuses the tunnel, and the error says so without the password.
        let client = client_through(
            &cluster,
            &format!("http://klient:wrong-pass@127.0.0.1:{}", proxy.port),
        );
        let namespaces: Api<Namespace> = Api::all(client);
        let err = w!(namespaces.list(&ListParams::default()))
            .unwrap_err()
            .to_string();
        // tinyproxy answers 401 rather than 407 to bad credentials; either way the tunnel is refused.
        assert!(err.contains("refused") && err.contains("proxy"), "{err}");
        assert!(!err.contains("wrong-pass"), "{err}");
    });
}
