//! The life of a request against a scripted HTTP server on loopback: what the client sends when a
//! credential is refused, when a pooled connection dies, when the server closed it while idle.
//! (These test the client's transport decisions; the API itself is tested against the real
//! kube-apiserver in tests/.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use klient_blocking::{Client, Config};
use klient_proto::config::Kubeconfig;

/// One request as the server read it.
#[derive(Debug, Clone)]
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
    connection: usize,
}

impl Seen {
    fn count(&self, name: &str) -> usize {
        self.headers.iter().filter(|(n, _)| n == name).count()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with the `n`th request (counted from 0 over all connections).
enum Reply {
    /// Answer with this status and JSON body, keeping the connection open.
    Answer(u16, &'static str),
    /// Answer with a `Warning` field as well.
    AnswerWarning(u16, &'static str, &'static str),
    /// Answer, then close the connection at once (as a server closing an idle connection).
    AnswerAndClose(u16, &'static str),
    /// Read the request, then close without answering.
    Close,
    /// Read the request, then say nothing for this long before closing.
    Silence(Duration),
}

/// Serves requests on loopback with `script` choosing each reply; returns the address and the
/// requests seen.
fn serve(script: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(script);
    let log = seen.clone();
    thread::spawn(move || {
        for (connection, stream) in listener.incoming().enumerate() {
            let (log, script) = (log.clone(), script.clone());
            thread::spawn(move || serve_connection(stream.unwrap(), connection, &log, &*script));
        }
    });
    (address, seen)
}

fn serve_connection(
    stream: TcpStream,
    connection: usize,
    log: &Mutex<Vec<Seen>>,
    script: &dyn Fn(usize, &Seen) -> Reply,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut field = String::new();
            reader.read_line(&mut field).unwrap();
            let field = field.trim_end();
            if field.is_empty() {
                break;
            }
            let (name, value) = field.split_once(':').unwrap();
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let seen = Seen {
            line: line.trim_end().to_owned(),
            headers,
            connection,
        };
        let n = {
            let mut log = log.lock().unwrap();
            log.push(seen.clone());
            log.len() - 1
        };
        let (status, body, close, warning) = match script(n, &seen) {
            Reply::Answer(status, body) => (status, body, false, ""),
            Reply::AnswerWarning(status, body, warning) => (status, body, false, warning),
            Reply::AnswerAndClose(status, body) => (status, body, true, ""),
            Reply::Close => return,
            Reply::Silence(how_long) => {
                thread::sleep(how_long);
                return;
            }
        };
        let warning = if warning.is_empty() {
            String::new()
        } else {
            format!("Warning: {warning}\r\n")
        };
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{warning}Content-Length: {}\r\n\r\n",
            body.len()
        );
        writer.write_all(head.as_bytes()).unwrap();
        writer.write_all(body.as_bytes()).unwrap();
        if close {
            return;
        }
    }
}

fn client(server: &str, user: &str) -> Client {
    Client::new(config(server, user)).unwrap()
}

fn config(server: &str, user: &str) -> Config {
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: '{server}'}}\n\
         users:\n- name: u\n  user: {{{user}}}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\n\
         current-context: x\n"
    );
    let resolved = Kubeconfig::from_bytes(kubeconfig.as_bytes(), None)
        .unwrap()
        .resolve(&Default::default())
        .unwrap();
    Config::new(resolved)
}

fn get(path: &str) -> http::Request<Vec<u8>> {
    http::Request::get(path).body(Vec::new()).unwrap()
}

fn post(path: &str) -> http::Request<Vec<u8>> {
    http::Request::post(path)
        .header("content-type", "application/json")
        .body(br#"{"metadata":{"generateName":"x-"}}"#.to_vec())
        .unwrap()
}

const NAMESPACE: &str = r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}"#;
const UNAUTHORIZED: &str =
    r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Unauthorized","code":401}"#;

fn token_file(name: &str, token: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("klient-request-life-{}-{name}", std::process::id()));
    std::fs::write(&path, token).unwrap();
    path
}

#[test]
fn a_rotated_token_is_read_again_on_401_and_the_request_keeps_one_base_path() {
    let path = token_file("rotated", "old-token");
    let rotated = path.clone();
    let (address, seen) = serve(move |n, _| {
        if n == 0 {
            // The token rotates; the client still holds the old one.
            std::fs::write(&rotated, "new-token").unwrap();
            Reply::Answer(401, UNAUTHORIZED)
        } else {
            Reply::Answer(200, NAMESPACE)
        }
    });
    let client = client(
        &format!("http://{address}/prefix"),
        &format!("tokenFile: '{}'", path.display()),
    );
    let response = client.send(get("/api/v1/namespaces/x")).unwrap();
    assert_eq!(response.status, 200);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for request in &seen {
        assert_eq!(request.line, "GET /prefix/api/v1/namespaces/x HTTP/1.1");
        assert_eq!(request.count("user-agent"), 1, "{request:?}");
        assert_eq!(request.count("authorization"), 1, "{request:?}");
    }
    assert_eq!(seen[0].header("authorization"), Some("Bearer old-token"));
    assert_eq!(seen[1].header("authorization"), Some("Bearer new-token"));
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_post_whose_connection_dies_after_it_was_sent_is_not_sent_again() {
    let (address, seen) = serve(|n, seen| match n {
        0 => Reply::Answer(200, NAMESPACE),
        // The POST arrived on the pooled connection, which then dies without an answer.
        1 => Reply::Close,
        // A second POST would be a second object.
        _ if seen.line.starts_with("POST") => Reply::Answer(201, NAMESPACE),
        _ => Reply::Answer(200, NAMESPACE),
    });
    let client = client(&format!("http://{address}"), "token: t");
    client.send(get("/api/v1/namespaces/x")).unwrap();
    let error = client.send(post("/api/v1/namespaces")).unwrap_err();
    assert!(matches!(error, klient_blocking::Error::Io(_)), "{error:?}");
    let posts = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.line.starts_with("POST"))
        .count();
    assert_eq!(posts, 1, "the create went out twice");
}

#[test]
fn a_get_whose_pooled_connection_dies_is_sent_again_on_a_new_one() {
    let (address, seen) = serve(|n, _| match n {
        1 => Reply::Close,
        _ => Reply::Answer(200, NAMESPACE),
    });
    let client = client(&format!("http://{address}"), "token: t");
    client.send(get("/api/v1/namespaces/x")).unwrap();
    client.send(get("/api/v1/namespaces/x")).unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert_eq!((seen[1].connection, seen[2].connection), (0, 1));
}

#[test]
fn a_connection_the_server_closed_while_idle_is_not_used_for_a_post() {
    let (address, seen) = serve(|n, _| match n {
        // As kube-apiserver does with an idle connection: it closes it.
        0 => Reply::AnswerAndClose(200, NAMESPACE),
        _ => Reply::Answer(201, NAMESPACE),
    });
    let client = client(&format!("http://{address}"), "token: t");
    client.send(get("/api/v1/namespaces/x")).unwrap();
    thread::sleep(Duration::from_millis(100));
    let response = client.send(post("/api/v1/namespaces")).unwrap();
    assert_eq!(response.status, 201);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].connection, 1, "the POST went on a new connection");
}

#[test]
fn the_servers_warnings_reach_the_application_once_per_response() {
    let (address, _) = serve(|n, _| match n {
        0 => Reply::AnswerWarning(429, UNAUTHORIZED, r#"299 - "slow down", 299 - "really""#),
        _ => Reply::AnswerWarning(200, NAMESPACE, r#"299 - "v1beta1 is deprecated""#),
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let mut config = config(&format!("http://{address}"), "token: t");
    config.on_warning =
        klient_blocking::WarningHandler::new(move |warning| sink.lock().unwrap().push(warning.text.clone()));
    let client = Client::new(config).unwrap();
    // The 429 has no Retry-After, so it is the answer; the next request's warning follows.
    assert_eq!(client.send(get("/api/v1/namespaces/x")).unwrap().status, 429);
    assert_eq!(client.send(get("/api/v1/namespaces/x")).unwrap().status, 200);
    assert_eq!(
        *seen.lock().unwrap(),
        ["slow down", "really", "v1beta1 is deprecated"]
    );
}

#[test]
fn an_upgrade_the_server_never_answers_fails_at_the_upgrade_deadline() {
    let (address, seen) = serve(|_, _| Reply::Silence(Duration::from_secs(20)));
    let mut config = config(&format!("http://{address}"), "token: t");
    config.transport.upgrade_timeout = Duration::from_millis(500);
    let client = Client::new(config).unwrap();
    let started = std::time::Instant::now();
    let params = klient_blocking::AttachParams::default();
    let error = match client.exec("ns", "pod", &["true"], &params) {
        Err(error) => error,
        Ok(_) => panic!("a silent server gave an exec session"),
    };
    let took = started.elapsed();
    assert!(
        matches!(
            error,
            klient_blocking::Error::Call(klient_proto::client::CallError::TimedOut { .. })
        ),
        "{error:?}"
    );
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert!(
        seen.lock().unwrap()[0]
            .line
            .starts_with("GET /api/v1/namespaces/ns/pods/pod/exec?")
    );
}
