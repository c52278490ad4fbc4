//! The `Authorization` header and client certificate for each request: klient-proto's
//! [`Authenticator`] decides when a token file is read, when an exec plugin runs and for how
//! long, how long a credential serves and what a 401 means; this file reads the files, runs the
//! processes (killing them at their timeout) and reads the clock.

use std::io::{self, IsTerminal, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use http::HeaderValue;
use klient_proto::auth::{
    Action, AuthConfig, AuthError, Authenticator, FetchId, Generation, Next, PluginOutcome, PluginRun,
    PluginStdio,
};
use klient_proto::config::{Auth, ClusterConfig, SecretBytes};

use crate::{Error, Result};

/// How often a running plugin is checked for having ended or outlived its timeout.
const PLUGIN_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Interactive plugins share the terminal, so they run one at a time across the process.
static TERMINAL: Mutex<()> = Mutex::new(());

/// The credentials of one client, shared by all its requests.
pub(crate) struct Authorizer {
    machine: Mutex<Authenticator>,
    /// Wakes the requests waiting for a fetch when its result is handed back.
    fetched: Condvar,
}

/// What a request is sent with.
pub(crate) struct Credential {
    pub(crate) authorization: Option<HeaderValue>,
    pub(crate) identity: Option<(Vec<u8>, SecretBytes)>,
    /// For [`Authorizer::unauthorized`] after a 401: the credential this request was sent with.
    pub(crate) generation: Generation,
}

impl Authorizer {
    pub(crate) fn new(auth: &Auth, cluster: &ClusterConfig, ca_pem: &[u8]) -> Result<Authorizer> {
        let config = AuthConfig {
            stdin_is_terminal: io::stdin().is_terminal(),
            ..AuthConfig::default()
        };
        Authorizer::with_config(auth, cluster, ca_pem, config)
    }

    pub(crate) fn with_config(
        auth: &Auth,
        cluster: &ClusterConfig,
        ca_pem: &[u8],
        config: AuthConfig,
    ) -> Result<Authorizer> {
        let machine = Authenticator::new(auth, cluster, ca_pem, config).map_err(into_error)?;
        Ok(Authorizer {
            machine: Mutex::new(machine),
            fetched: Condvar::new(),
        })
    }

    /// The client certificate and key an exec plugin returned, if it returned one.
    pub(crate) fn identity(&self) -> Result<Option<(Vec<u8>, SecretBytes)>> {
        Ok(self.credential().map_err(into_error)?.identity)
    }

    /// Whether a 401 may be cured by fetching the credential again.
    pub(crate) fn can_refresh(&self) -> bool {
        self.lock().is_refreshable()
    }

    /// A request sent with the credential of `generation` was answered 401: whether sending it
    /// again with a fresh credential may help.
    pub(crate) fn unauthorized(&self, generation: Generation) -> bool {
        self.lock().handle_unauthorized(generation)
    }

    /// The credential for a request made now, after reading the file or running the plugin
    /// when the machine asks, or waiting for the request that does.
    pub(crate) fn credential(&self) -> Result<Credential, AuthError> {
        let mut machine = self.lock();
        let mut next = machine.poll_action(Instant::now());
        loop {
            next = match next {
                Next::Ready => {
                    return Ok(Credential {
                        authorization: machine.authorization().cloned(),
                        identity: machine
                            .client_identity()
                            .map(|identity| (identity.certificate.clone(), identity.key.clone())),
                        generation: machine.generation(),
                    });
                }
                Next::Failed(error) => return Err(error),
                Next::Wait(fetch) => {
                    machine = match machine.poll_timeout() {
                        Some(deadline) => {
                            let wait = deadline.saturating_duration_since(Instant::now());
                            let woken = self.fetched.wait_timeout(machine, wait);
                            woken.unwrap_or_else(|poisoned| poisoned.into_inner()).0
                        }
                        None => self
                            .fetched
                            .wait(machine)
                            .unwrap_or_else(|poisoned| poisoned.into_inner()),
                    };
                    machine.poll_after_fetch(fetch, Instant::now())
                }
                Next::Fetch(id, action) => {
                    drop(machine);
                    machine = self.fetch(id, action);
                    machine.poll_after_fetch(id, Instant::now())
                }
            };
        }
    }

    /// Carries out one fetch without holding the lock, hands its result back, and wakes the
    /// requests waiting for it.
    fn fetch(&self, id: FetchId, action: Action) -> MutexGuard<'_, Authenticator> {
        let mut abandon = AbandonOnUnwind {
            authorizer: self,
            id: Some(id),
        };
        let machine = match action {
            Action::ReadTokenFile { path } => {
                let contents = std::fs::read(&path).map_err(|e| e.kind());
                let mut machine = self.lock();
                // NotCurrent is the only refusal possible here, and means the result is no
                // longer wanted: the machine has already told the waiters.
                let _ = machine.handle_token_file(id, contents, Instant::now());
                machine
            }
            Action::RunPlugin(run) => {
                let outcome = run_plugin(&run);
                let (now, finished) = (Instant::now(), SystemTime::now());
                let mut machine = self.lock();
                // NotCurrent: the machine timed the run out itself and failed the waiters.
                let _ = machine.handle_plugin_outcome(id, outcome, now, finished);
                machine
            }
        };
        abandon.id = None;
        self.fetched.notify_all();
        machine
    }

    fn lock(&self) -> MutexGuard<'_, Authenticator> {
        self.machine
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// If a fetch panics, the machine hears that it will not be reported, so the next request can
/// start another instead of waiting forever.
struct AbandonOnUnwind<'a> {
    authorizer: &'a Authorizer,
    id: Option<FetchId>,
}

impl Drop for AbandonOnUnwind<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            let _ = self.authorizer.lock().abandon_fetch(id);
            self.authorizer.fetched.notify_all();
        }
    }
}

/// Runs a plugin as the machine asked: stdio, environment, output limits, timeout.
fn run_plugin(run: &PluginRun) -> PluginOutcome {
    let interactive = run.stdio == PluginStdio::Interactive;
    let _terminal = interactive.then(|| TERMINAL.lock().unwrap_or_else(|p| p.into_inner()));
    let mut command = Command::new(&run.command);
    command.args(&run.args);
    for var in &run.env {
        command.env(&var.name, var.value.expose());
    }
    let (stdin, stderr) = match run.stdio {
        PluginStdio::Interactive => (Stdio::inherit(), Stdio::inherit()),
        PluginStdio::Captured => (Stdio::null(), Stdio::piped()),
    };
    command.stdin(stdin).stdout(Stdio::piped()).stderr(stderr);
    let deadline = run.timeout.map(|timeout| Instant::now() + timeout);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return PluginOutcome::CouldNotStart { kind: e.kind() },
    };
    // Threads drain the pipes, so a plugin never blocks on a full one, and keep what the limits
    // allow (one byte over the stdout limit shows that the output was too large).
    let stdout = child
        .stdout
        .take()
        .map(|pipe| drain(pipe, run.max_stdout_len.saturating_add(1)));
    let stderr = child.stderr.take().map(|pipe| drain(pipe, run.max_stderr_len));
    let done = |pipe: &Option<JoinHandle<_>>| pipe.as_ref().is_none_or(JoinHandle::is_finished);
    let mut exited = None;
    let status = loop {
        if exited.is_none() {
            match child.try_wait() {
                Ok(status) => exited = status,
                Err(e) => {
                    kill(&mut child);
                    return PluginOutcome::Io { kind: e.kind() };
                }
            }
        }
        // A process the plugin left behind may hold the pipes open: the timeout covers that too.
        if let Some(status) = exited
            && done(&stdout)
            && done(&stderr)
        {
            break status;
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            kill(&mut child);
            return PluginOutcome::TimedOut;
        }
        std::thread::sleep(PLUGIN_POLL_INTERVAL);
    };
    let pipe = |drained| collect(drained).map_err(io::Error::from);
    PluginOutcome::finished(Ok(status), pipe(stdout), pipe(stderr))
}

fn drain(mut pipe: impl Read + Send + 'static, keep: usize) -> JoinHandle<io::Result<Vec<u8>>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        pipe.by_ref().take(keep as u64).read_to_end(&mut kept)?;
        io::copy(&mut pipe, &mut io::sink())?;
        Ok(kept)
    })
}

fn collect(pipe: Option<JoinHandle<io::Result<Vec<u8>>>>) -> Result<Vec<u8>, io::ErrorKind> {
    match pipe {
        None => Ok(Vec::new()),
        Some(thread) => match thread.join() {
            Ok(read) => read.map_err(|e| e.kind()),
            Err(_) => Err(io::ErrorKind::Other),
        },
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// klient-blocking's error for a credential failure; the typed [`AuthError`] is in its text
/// until `Error` has a variant for it.
fn into_error(error: AuthError) -> Error {
    Error::from(error)
}

#[cfg(all(test, unix))]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use klient_proto::auth::{PluginExit, PluginFailure};
    use klient_proto::config::{ExecConfig, InteractiveMode, ServerUrl};

    use super::*;

    /// A scratch folder for scripts and files, removed at the end.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("klient-authorizer-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn path(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }

        fn script(&self, body: &str) -> PathBuf {
            use std::os::unix::fs::PermissionsExt;
            let path = self.path("plugin");
            std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            path
        }

        fn runs(&self) -> usize {
            std::fs::read_to_string(self.path("runs")).map_or(0, |text| text.lines().count())
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn cluster() -> ClusterConfig {
        ClusterConfig {
            server: ServerUrl::parse("https://127.0.0.1:6443").unwrap(),
            certificate_authority: None,
            tls_server_name: None,
            insecure_skip_tls_verify: false,
            proxy_url: None,
            disable_compression: false,
            exec_extension: None,
        }
    }

    fn plugin(command: &Path, config: AuthConfig) -> Authorizer {
        let exec = ExecConfig {
            command: command.display().to_string(),
            api_version: Some("client.authentication.k8s.io/v1".into()),
            interactive_mode: Some(InteractiveMode::Never),
            ..ExecConfig::default()
        };
        Authorizer::with_config(&Auth::Exec(exec), &cluster(), b"", config).unwrap()
    }

    const CREDENTIAL: &str =
        r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}"#;

    /// A 401 answered a request made with the credential held now.
    fn refused(authorizer: &Authorizer) {
        let generation = authorizer.credential().unwrap().generation;
        assert!(authorizer.unauthorized(generation));
    }

    /// The Authorization value a request made now would carry.
    fn header(authorizer: &Authorizer) -> Result<Option<HeaderValue>, AuthError> {
        authorizer.credential().map(|credential| credential.authorization)
    }

    #[test]
    fn a_hung_plugin_is_killed_at_its_timeout_and_a_later_run_is_used() {
        let scratch = Scratch::new("hung");
        let dir = scratch.0.display();
        // The first run records its pid and hangs; the ones after it answer.
        let plugin_path = scratch.script(&format!(
            "echo run >> {dir}/runs\n\
             if [ ! -e {dir}/pid ]; then echo $$ > {dir}/pid; exec sleep 1000; fi\n\
             printf '{CREDENTIAL}' after-the-hang\n"
        ));
        let timeout = Duration::from_secs(1);
        let config = AuthConfig {
            plugin_timeout: Some(timeout),
            retry_after_failure: Duration::ZERO,
            ..AuthConfig::default()
        };
        let authorizer = Arc::new(plugin(&plugin_path, config));

        // Two requests at once: one runs the plugin, the other waits for that run; both fail
        // with the timeout, within the timeout and some slack for a busy machine.
        let started = Instant::now();
        let results: Vec<_> = std::thread::scope(|s| {
            let requests: Vec<_> = (0..2).map(|_| s.spawn(|| authorizer.credential())).collect();
            requests.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let elapsed = started.elapsed();
        for result in results {
            let error = result.err().expect("the hung plugin gives no credential");
            assert_eq!(
                error,
                AuthError::Plugin {
                    command: plugin_path.display().to_string(),
                    failure: PluginFailure::TimedOut { after: timeout }
                }
            );
        }
        assert!(
            elapsed >= timeout && elapsed < timeout + Duration::from_secs(5),
            "{elapsed:?}"
        );
        assert_eq!(scratch.runs(), 1, "the waiting request started no run of its own");
        #[cfg(target_os = "linux")]
        {
            let pid = std::fs::read_to_string(scratch.path("pid")).unwrap();
            assert!(
                !Path::new(&format!("/proc/{}", pid.trim())).exists(),
                "the plugin was not killed and reaped"
            );
        }

        let err = header(&authorizer);
        assert_eq!(scratch.runs(), 2);
        let header = err.expect("a later request runs the plugin again").unwrap();
        assert_eq!(header, "Bearer after-the-hang");
        assert!(header.is_sensitive());
    }

    #[test]
    fn requests_that_arrive_during_a_run_wait_for_it() {
        let scratch = Scratch::new("concurrent");
        let dir = scratch.0.display();
        let plugin_path = scratch.script(&format!(
            "echo run >> {dir}/runs\nsleep 0.3\nprintf '{CREDENTIAL}' shared\n"
        ));
        let authorizer = plugin(&plugin_path, AuthConfig::default());
        let headers: Vec<_> = std::thread::scope(|s| {
            let requests: Vec<_> = (0..4).map(|_| s.spawn(|| header(&authorizer))).collect();
            requests.into_iter().map(|r| r.join().unwrap().unwrap()).collect()
        });
        assert!(headers.iter().all(|h| h.as_ref().unwrap() == "Bearer shared"));
        assert_eq!(scratch.runs(), 1);
        // A 401 makes the plugin run again, once.
        assert!(authorizer.can_refresh());
        let generation = authorizer.credential().unwrap().generation;
        assert!(authorizer.unauthorized(generation));
        header(&authorizer).unwrap();
        header(&authorizer).unwrap();
        assert_eq!(scratch.runs(), 2);
    }

    #[test]
    fn failures_are_typed_and_quote_stderr_but_never_stdout() {
        let scratch = Scratch::new("failing");
        let plugin_path = scratch.script("echo 'token=s3cret'\necho 'identity provider down' >&2\nexit 4\n");
        let error = plugin(&plugin_path, AuthConfig::default())
            .credential()
            .err()
            .unwrap();
        let AuthError::Plugin {
            failure: PluginFailure::Exited { status, stderr },
            ..
        } = &error
        else {
            panic!("{error:?}")
        };
        assert_eq!(*status, PluginExit::Code(4));
        assert_eq!(stderr, "identity provider down");
        assert!(!format!("{error} {error:?}").contains("s3cret"));

        // Output far past the limit is drained (the plugin does not hang on a full pipe) and refused.
        let flood = scratch.script("head -c 3000000 /dev/zero | tr '\\0' ' '\n");
        let error = plugin(&flood, AuthConfig::default()).credential().err().unwrap();
        assert!(error.to_string().contains("more than"), "{error}");

        let missing = plugin(&scratch.path("no-such-plugin"), AuthConfig::default());
        let error = missing.credential().err().unwrap();
        assert!(matches!(
            error,
            AuthError::Plugin {
                failure: PluginFailure::CouldNotStart {
                    kind: io::ErrorKind::NotFound,
                    ..
                },
                ..
            }
        ));
    }

    #[test]
    fn a_token_file_is_read_again_after_a_401() {
        let scratch = Scratch::new("token-file");
        let path = scratch.path("token");
        std::fs::write(&path, "first\n").unwrap();
        let auth = Auth::TokenFile {
            path: path.clone(),
            initial: None,
        };
        let authorizer = Authorizer::new(&auth, &cluster(), b"").unwrap();
        assert_eq!(header(&authorizer).unwrap().unwrap(), "Bearer first");
        std::fs::write(&path, "second\n").unwrap();
        assert_eq!(header(&authorizer).unwrap().unwrap(), "Bearer first", "cached");
        refused(&authorizer);
        assert_eq!(header(&authorizer).unwrap().unwrap(), "Bearer second");
        std::fs::remove_file(&path).unwrap();
        refused(&authorizer);
        match header(&authorizer).map_err(Error::from) {
            Err(Error::ReadFile {
                path: missing,
                source,
            }) => {
                assert_eq!(missing, path);
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
            }
            other => panic!("{other:?}"),
        }
    }
}
