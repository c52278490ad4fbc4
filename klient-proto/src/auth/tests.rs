//! The credentials machine with simulated time: every rule, no file and no process.

use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use crate::config::{
    Auth, AuthProviderConfig, ClusterConfig, EXEC_INFO_ENV, ExecConfig, ExecPluginErrorKind, InteractiveMode,
    MAX_EXEC_OUTPUT_LEN, SecretString, ServerUrl, TokenFileError,
};

use super::*;

const MINUTE: Duration = Duration::from_secs(60);
const SECOND: Duration = Duration::from_secs(1);
/// 2027-01-15T08:00:00Z, the expiry the plugin outputs below name.
const EXPIRY_TEXT: &str = "2027-01-15T08:00:00Z";

fn expiry() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn cluster() -> ClusterConfig {
    ClusterConfig {
        server: ServerUrl::parse("https://10.0.0.1:6443").unwrap(),
        certificate_authority: None,
        tls_server_name: None,
        insecure_skip_tls_verify: false,
        proxy_url: None,
        disable_compression: false,
        exec_extension: None,
    }
}

fn machine(auth: Auth) -> Authenticator {
    Authenticator::new(&auth, &cluster(), b"CA PEM", AuthConfig::default()).unwrap()
}

fn token_file() -> Authenticator {
    machine(Auth::TokenFile {
        path: PathBuf::from("/run/token"),
        initial: None,
    })
}

fn exec_config(mode: InteractiveMode) -> ExecConfig {
    ExecConfig {
        command: "/usr/bin/cred-helper".into(),
        args: vec!["get-token".into()],
        api_version: Some("client.authentication.k8s.io/v1".into()),
        install_hint: Some("install cred-helper from the vendor".into()),
        provide_cluster_info: true,
        interactive_mode: Some(mode),
        ..ExecConfig::default()
    }
}

fn plugin() -> Authenticator {
    machine(Auth::Exec(exec_config(InteractiveMode::Never)))
}

fn header(auth: &Authenticator) -> Option<&str> {
    auth.authorization().map(|v| v.to_str().unwrap())
}

/// A plugin's successful output with a token, expiring at [`EXPIRY_TEXT`] when `expires`.
fn token_output(token: &str, expires: bool) -> PluginOutcome {
    let expiry = if expires {
        format!(r#","expirationTimestamp":"{EXPIRY_TEXT}""#)
    } else {
        String::new()
    };
    let stdout = format!(
        r#"{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{{"token":"{token}"{expiry}}}}}"#
    );
    PluginOutcome::Exited {
        status: PluginExit::Code(0),
        stdout: stdout.into_bytes(),
        stderr: Vec::new(),
    }
}

#[track_caller]
fn expect_fetch(auth: &mut Authenticator, now: Instant) -> (FetchId, Action) {
    match auth.poll_action(now) {
        Next::Fetch(id, action) => (id, action),
        other => panic!("expected a fetch, got {other:?}"),
    }
}

#[track_caller]
fn expect_ready(auth: &mut Authenticator, now: Instant) {
    let next = auth.poll_action(now);
    assert!(matches!(next, Next::Ready), "expected Ready, got {next:?}");
}

#[track_caller]
fn expect_failed(auth: &mut Authenticator, now: Instant) -> AuthError {
    match auth.poll_action(now) {
        Next::Failed(error) => error,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[track_caller]
fn expect_run(auth: &mut Authenticator, now: Instant) -> (FetchId, PluginRun) {
    match expect_fetch(auth, now) {
        (id, Action::RunPlugin(run)) => (id, run),
        other => panic!("expected a plugin run, got {other:?}"),
    }
}

#[test]
fn no_credential_fixed_token_and_basic_are_ready_at_once_and_not_refreshable() {
    let now = Instant::now();
    let mut none = machine(Auth::None);
    expect_ready(&mut none, now);
    assert_eq!(header(&none), None);
    assert!(!none.handle_unauthorized(none.generation()));

    let mut fixed = machine(Auth::BearerToken(SecretString::new("s3cret")));
    expect_ready(&mut fixed, now);
    assert_eq!(header(&fixed), Some("Bearer s3cret"));
    assert!(fixed.authorization().unwrap().is_sensitive());
    assert!(!fixed.is_refreshable());
    // A 401 on a fixed token stands, and the token stays.
    assert!(!fixed.handle_unauthorized(fixed.generation()));
    expect_ready(&mut fixed, now + 100 * MINUTE);
    assert_eq!(header(&fixed), Some("Bearer s3cret"));
    assert_eq!(fixed.poll_timeout(), None);
    assert!(!format!("{fixed:?}").contains("s3cret"));

    let mut basic = machine(Auth::Basic {
        username: "admin".into(),
        password: SecretString::new("hunter2"),
    });
    expect_ready(&mut basic, now);
    assert_eq!(header(&basic), Some("Basic YWRtaW46aHVudGVyMg=="));
    assert!(!basic.handle_unauthorized(basic.generation()));
}

#[test]
fn unusable_configurations_are_refused_when_built() {
    let bad = Auth::BearerToken(SecretString::new("line\nbreak"));
    let err = Authenticator::new(&bad, &cluster(), b"", AuthConfig::default()).unwrap_err();
    assert_eq!(err, AuthError::CredentialNotHeaderSafe);
    assert!(!format!("{err} {err:?}").contains("break"));
    let provider = Auth::AuthProvider(AuthProviderConfig {
        name: "gcp".into(),
        ..Default::default()
    });
    let err = Authenticator::new(&provider, &cluster(), b"", AuthConfig::default()).unwrap_err();
    assert_eq!(err, AuthError::AuthProviderUnsupported { name: "gcp".into() });
}

#[test]
fn a_token_file_is_read_first_then_cached_for_the_refresh_interval() {
    let t0 = Instant::now();
    let mut auth = token_file();
    assert!(auth.is_refreshable());
    let (id, action) = expect_fetch(&mut auth, t0);
    assert_eq!(
        action,
        Action::ReadTokenFile {
            path: "/run/token".into()
        }
    );
    // A second request waits for the read instead of starting another.
    assert!(matches!(auth.poll_action(t0), Next::Wait(_)));
    assert_eq!(auth.fetch_in_flight(), Some(id));
    assert_eq!(auth.poll_timeout(), None, "a file read has no timeout");
    auth.handle_token_file(id, Ok(b"first\n".to_vec()), t0).unwrap();
    expect_ready(&mut auth, t0);
    assert_eq!(header(&auth), Some("Bearer first"));
    let first = auth.generation();

    expect_ready(&mut auth, t0 + MINUTE - SECOND);
    // Due for a re-read: one request reads, the others keep using the token meanwhile.
    let (id, _) = expect_fetch(&mut auth, t0 + MINUTE);
    expect_ready(&mut auth, t0 + MINUTE);
    assert_eq!(header(&auth), Some("Bearer first"));
    auth.handle_token_file(id, Ok(b"second".to_vec()), t0 + MINUTE)
        .unwrap();
    expect_ready(&mut auth, t0 + MINUTE);
    assert_eq!(header(&auth), Some("Bearer second"));
    assert!(auth.generation() > first);
    assert!(!format!("{auth:?}").contains("second"));
}

#[test]
fn a_token_given_beside_the_file_serves_until_the_first_re_read() {
    let t0 = Instant::now();
    let mut auth = machine(Auth::TokenFile {
        path: PathBuf::from("/run/token"),
        initial: Some(SecretString::new("inline")),
    });
    // The interval counts from the first request, not from when the machine was built.
    let first_use = t0 + 10 * MINUTE;
    expect_ready(&mut auth, first_use);
    assert_eq!(header(&auth), Some("Bearer inline"));
    expect_ready(&mut auth, first_use + MINUTE - SECOND);
    let (id, _) = expect_fetch(&mut auth, first_use + MINUTE);
    auth.handle_token_file(id, Ok(b"from-file".to_vec()), first_use + MINUTE)
        .unwrap();
    expect_ready(&mut auth, first_use + MINUTE);
    assert_eq!(header(&auth), Some("Bearer from-file"));
}

#[test]
fn a_missing_token_file_is_a_typed_error_for_a_while_then_read_again() {
    let t0 = Instant::now();
    let mut auth = token_file();
    let (id, _) = expect_fetch(&mut auth, t0);
    assert!(matches!(auth.poll_action(t0), Next::Wait(_)));
    auth.handle_token_file(id, Err(io::ErrorKind::NotFound), t0)
        .unwrap();
    let expected = AuthError::TokenFileUnreadable {
        path: "/run/token".into(),
        kind: io::ErrorKind::NotFound,
    };
    // The waiting request and those that come within the retry delay all get the error.
    assert_eq!(expect_failed(&mut auth, t0), expected);
    assert_eq!(expect_failed(&mut auth, t0 + SECOND / 2), expected);
    assert!(expected.to_string().contains("/run/token"), "{expected}");
    // Then one tries again.
    let (id, _) = expect_fetch(&mut auth, t0 + SECOND);
    auth.handle_token_file(id, Ok(b" \n".to_vec()), t0 + SECOND)
        .unwrap();
    assert_eq!(
        expect_failed(&mut auth, t0 + SECOND),
        AuthError::TokenFileInvalid {
            path: "/run/token".into(),
            error: TokenFileError::Empty
        }
    );
    let (id, _) = expect_fetch(&mut auth, t0 + 2 * SECOND);
    auth.handle_token_file(id, Ok(b"back".to_vec()), t0 + 2 * SECOND)
        .unwrap();
    expect_ready(&mut auth, t0 + 2 * SECOND);
    assert_eq!(header(&auth), Some("Bearer back"));
}

#[test]
fn a_token_file_that_vanishes_on_a_re_read_keeps_its_last_token_until_a_401() {
    let t0 = Instant::now();
    let mut auth = token_file();
    let (id, _) = expect_fetch(&mut auth, t0);
    auth.handle_token_file(id, Ok(b"kept".to_vec()), t0).unwrap();
    let (id, _) = expect_fetch(&mut auth, t0 + MINUTE);
    auth.handle_token_file(id, Err(io::ErrorKind::NotFound), t0 + MINUTE)
        .unwrap();
    // The token was only due for a re-read, not refused: it serves on (the reader's own
    // request included), and the read is retried.
    assert!(matches!(auth.poll_after_fetch(id, t0 + MINUTE), Next::Ready));
    expect_ready(&mut auth, t0 + MINUTE);
    assert_eq!(header(&auth), Some("Bearer kept"));
    let (id, _) = expect_fetch(&mut auth, t0 + MINUTE + SECOND);
    auth.handle_token_file(id, Err(io::ErrorKind::NotFound), t0 + MINUTE + SECOND)
        .unwrap();
    // Once the server refuses it, the error is the answer.
    assert!(auth.handle_unauthorized(auth.generation()));
    assert!(matches!(
        expect_failed(&mut auth, t0 + MINUTE + SECOND),
        AuthError::TokenFileUnreadable { .. }
    ));
}

#[test]
fn a_401_makes_the_token_file_be_read_again_once_per_generation() {
    let t0 = Instant::now();
    let mut auth = token_file();
    let (id, _) = expect_fetch(&mut auth, t0);
    auth.handle_token_file(id, Ok(b"old".to_vec()), t0).unwrap();
    expect_ready(&mut auth, t0);
    let old = auth.generation();

    // Two requests sent with the old token both get 401: the token is forgotten once.
    assert!(auth.handle_unauthorized(old));
    assert!(auth.handle_unauthorized(old));
    let (id, _) = expect_fetch(&mut auth, t0 + SECOND);
    assert!(matches!(auth.poll_action(t0 + SECOND), Next::Wait(_)));
    auth.handle_token_file(id, Ok(b"new".to_vec()), t0 + SECOND)
        .unwrap();
    expect_ready(&mut auth, t0 + SECOND);
    assert_eq!(header(&auth), Some("Bearer new"));

    // A late 401 for the old token does not throw the new one away...
    assert!(
        auth.handle_unauthorized(old),
        "the request may retry with the new token"
    );
    expect_ready(&mut auth, t0 + SECOND);
    assert_eq!(header(&auth), Some("Bearer new"));
    // ...but a 401 for the new one does.
    assert!(auth.handle_unauthorized(auth.generation()));
    assert!(matches!(auth.poll_action(t0 + SECOND), Next::Fetch(..)));
}

#[test]
fn an_exec_plugin_runs_with_its_environment_stdio_limits_and_timeout() {
    let t0 = Instant::now();
    let mut auth = plugin();
    let (id, run) = expect_run(&mut auth, t0);
    assert_eq!(run.command, "/usr/bin/cred-helper");
    assert_eq!(run.args, ["get-token"]);
    assert_eq!(run.stdio, PluginStdio::Captured);
    assert_eq!(run.timeout, Some(DEFAULT_PLUGIN_TIMEOUT));
    assert_eq!(run.max_stdout_len, MAX_EXEC_OUTPUT_LEN);
    assert_eq!(run.max_stderr_len, MAX_STDERR_QUOTE_LEN);
    let info = run.env.iter().find(|v| v.name == EXEC_INFO_ENV).unwrap();
    let info: serde_json::Value = serde_json::from_str(info.value.expose()).unwrap();
    assert_eq!(info["spec"]["interactive"], false);
    assert_eq!(info["spec"]["cluster"]["server"], "https://10.0.0.1:6443");
    assert_eq!(info["spec"]["cluster"]["certificate-authority-data"], "Q0EgUEVN");
    // Waiters are told when to stop waiting at the latest.
    assert!(matches!(auth.poll_action(t0), Next::Wait(_)));
    assert_eq!(auth.poll_timeout(), Some(t0 + DEFAULT_PLUGIN_TIMEOUT));
    auth.handle_plugin_outcome(id, token_output("s3cret", false), t0, expiry())
        .unwrap();
    assert_eq!(auth.poll_timeout(), None);
    expect_ready(&mut auth, t0);
    assert_eq!(header(&auth), Some("Bearer s3cret"));
    assert_eq!(auth.client_identity(), None);
    assert!(!format!("{auth:?}").contains("s3cret"));
}

#[test]
fn an_exec_credential_is_cached_until_shortly_before_it_expires() {
    let t0 = Instant::now();
    let mut auth = plugin();
    let (id, _) = expect_run(&mut auth, t0);
    // The plugin finished one hour (wall clock) before its credential expires.
    let finished = expiry() - 60 * MINUTE;
    auth.handle_plugin_outcome(id, token_output("hour", true), t0, finished)
        .unwrap();
    expect_ready(&mut auth, t0);
    // Used until DEFAULT_EXPIRY_MARGIN before the expiry, then the plugin runs again and
    // requests wait for it: an expired credential is not used meanwhile.
    let refresh = t0 + 60 * MINUTE - DEFAULT_EXPIRY_MARGIN;
    expect_ready(&mut auth, refresh - Duration::from_millis(1));
    let (id, _) = expect_run(&mut auth, refresh);
    assert!(matches!(auth.poll_action(refresh), Next::Wait(_)));
    assert_eq!(auth.authorization(), None);
    auth.handle_plugin_outcome(id, token_output("next", false), refresh, finished)
        .unwrap();
    expect_ready(&mut auth, refresh);
    assert_eq!(header(&auth), Some("Bearer next"));
    // Without an expiry, it serves until a 401.
    expect_ready(&mut auth, refresh + 1000 * MINUTE);
}

#[test]
fn a_short_lived_exec_credential_is_used_for_three_quarters_of_its_life() {
    let t0 = Instant::now();
    let mut auth = plugin();
    let (id, _) = expect_run(&mut auth, t0);
    let finished = expiry() - 8 * SECOND;
    auth.handle_plugin_outcome(id, token_output("brief", true), t0, finished)
        .unwrap();
    expect_ready(&mut auth, t0 + 6 * SECOND - Duration::from_millis(1));
    let _ = expect_run(&mut auth, t0 + 6 * SECOND);
}

#[test]
fn a_credential_expired_on_arrival_is_an_error() {
    let t0 = Instant::now();
    let mut auth = plugin();
    let (id, _) = expect_run(&mut auth, t0);
    auth.handle_plugin_outcome(id, token_output("late", true), t0, expiry() + SECOND)
        .unwrap();
    assert!(matches!(
        expect_failed(&mut auth, t0),
        AuthError::Plugin {
            failure: PluginFailure::AlreadyExpired,
            ..
        }
    ));
}

#[test]
fn a_401_makes_the_plugin_run_again_once_per_generation() {
    let t0 = Instant::now();
    let mut auth = plugin();
    let (id, _) = expect_run(&mut auth, t0);
    auth.handle_plugin_outcome(id, token_output("one", false), t0, expiry())
        .unwrap();
    expect_ready(&mut auth, t0);
    let used = auth.generation();
    assert!(auth.handle_unauthorized(used));
    assert!(auth.handle_unauthorized(used));
    let (id, _) = expect_run(&mut auth, t0);
    assert!(matches!(auth.poll_action(t0), Next::Wait(_)), "one run only");
    auth.handle_plugin_outcome(id, token_output("two", false), t0, expiry())
        .unwrap();
    assert!(auth.handle_unauthorized(used));
    expect_ready(&mut auth, t0);
    assert_eq!(header(&auth), Some("Bearer two"));
}

#[test]
fn a_plugin_that_times_out_fails_its_waiters_and_may_run_again_later() {
    let t0 = Instant::now();
    let mut auth = plugin();
    let (id, _) = expect_run(&mut auth, t0);
    assert!(matches!(auth.poll_action(t0 + SECOND), Next::Wait(_)));
    // The adapter killed it at the timeout.
    let at = t0 + DEFAULT_PLUGIN_TIMEOUT;
    auth.handle_plugin_outcome(id, PluginOutcome::TimedOut, at, expiry())
        .unwrap();
    let timed_out = AuthError::Plugin {
        command: "/usr/bin/cred-helper".into(),
        failure: PluginFailure::TimedOut {
            after: DEFAULT_PLUGIN_TIMEOUT,
        },
    };
    assert!(matches!(auth.poll_after_fetch(id, at), Next::Failed(e) if e == timed_out));
    assert_eq!(expect_failed(&mut auth, at), timed_out);
    assert!(timed_out.to_string().contains("timed out"), "{timed_out}");
    // A later request runs it again, and its credential is used.
    let (id, _) = expect_run(&mut auth, at + DEFAULT_RETRY_AFTER_FAILURE);
    let later = at + DEFAULT_RETRY_AFTER_FAILURE;
    auth.handle_plugin_outcome(id, token_output("finally", false), later, expiry())
        .unwrap();
    expect_ready(&mut auth, later);
    assert_eq!(header(&auth), Some("Bearer finally"));
}

#[test]
fn requests_that_waited_for_a_failed_run_fail_with_it_even_without_a_retry_delay() {
    let t0 = Instant::now();
    let no_delay = AuthConfig {
        retry_after_failure: Duration::ZERO,
        ..AuthConfig::default()
    };
    let exec = Auth::Exec(exec_config(InteractiveMode::Never));
    let mut auth = Authenticator::new(&exec, &cluster(), b"", no_delay).unwrap();
    let (id, _) = expect_run(&mut auth, t0);
    let Next::Wait(waited_for) = auth.poll_action(t0) else {
        panic!("a second request waits")
    };
    assert_eq!(waited_for, id);
    let at = t0 + DEFAULT_PLUGIN_TIMEOUT;
    auth.handle_plugin_outcome(id, PluginOutcome::TimedOut, at, expiry())
        .unwrap();
    // The waiter, however late it wakes, gets the run's error instead of starting a run...
    let late = at + 10 * SECOND;
    let next = auth.poll_after_fetch(waited_for, late);
    assert!(
        matches!(
            next,
            Next::Failed(AuthError::Plugin {
                failure: PluginFailure::TimedOut { .. },
                ..
            })
        ),
        "{next:?}"
    );
    // ...while a new request tries again at once, and whoever waited for that one gets its
    // credential.
    let (again, _) = expect_run(&mut auth, late);
    let Next::Wait(second_wait) = auth.poll_action(late) else {
        panic!("waits for the new run")
    };
    auth.handle_plugin_outcome(again, token_output("ok", false), late, expiry())
        .unwrap();
    assert!(matches!(auth.poll_after_fetch(waited_for, late), Next::Ready));
    assert!(matches!(auth.poll_after_fetch(second_wait, late), Next::Ready));
    assert_eq!(header(&auth), Some("Bearer ok"));
}

#[test]
fn waiters_stop_waiting_at_the_timeout_even_if_the_runner_never_reports() {
    let t0 = Instant::now();
    let mut auth = plugin();
    let (id, _) = expect_run(&mut auth, t0);
    let deadline = auth.poll_timeout().unwrap();
    let Next::Wait(waited_for) = auth.poll_action(deadline - SECOND) else {
        panic!("waits")
    };
    assert!(matches!(
        auth.poll_after_fetch(waited_for, deadline),
        Next::Failed(AuthError::Plugin {
            failure: PluginFailure::TimedOut { .. },
            ..
        })
    ));
    assert!(matches!(
        expect_failed(&mut auth, deadline),
        AuthError::Plugin {
            failure: PluginFailure::TimedOut { .. },
            ..
        }
    ));
    // The runner's late report is no longer wanted.
    let late = auth.handle_plugin_outcome(id, token_output("late", false), deadline, expiry());
    assert_eq!(late, Err(InputError::NotCurrent { id }));
    assert_eq!(auth.authorization(), None);
}

#[test]
fn an_abandoned_fetch_lets_the_next_request_start_another() {
    let t0 = Instant::now();
    let mut auth = plugin();
    let (id, _) = expect_run(&mut auth, t0);
    auth.abandon_fetch(id).unwrap();
    let (again, _) = expect_run(&mut auth, t0);
    assert_ne!(again, id);
    assert_eq!(
        auth.handle_plugin_outcome(id, PluginOutcome::TimedOut, t0, expiry()),
        Err(InputError::NotCurrent { id })
    );
    assert_eq!(
        auth.handle_token_file(again, Ok(b"x".to_vec()), t0),
        Err(InputError::WrongResult { id: again })
    );
    assert_eq!(
        auth.fetch_in_flight(),
        Some(again),
        "a wrong result changes nothing"
    );
}

#[test]
fn a_failing_plugin_quotes_a_bounded_part_of_its_stderr_and_never_its_stdout() {
    let t0 = Instant::now();
    let mut auth = plugin();
    let (id, _) = expect_run(&mut auth, t0);
    let mut stderr = b"  cannot reach the identity provider\n".to_vec();
    stderr.resize(2 * MAX_STDERR_QUOTE_LEN, b'x');
    let outcome = PluginOutcome::Exited {
        status: PluginExit::Code(3),
        stdout: br#"{"status":{"token":"s3cret"}}"#.to_vec(),
        stderr,
    };
    assert!(!format!("{outcome:?}").contains("s3cret"));
    auth.handle_plugin_outcome(id, outcome, t0, expiry()).unwrap();
    let error = expect_failed(&mut auth, t0);
    let AuthError::Plugin {
        failure: PluginFailure::Exited { status, stderr },
        ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(*status, PluginExit::Code(3));
    assert!(stderr.starts_with("cannot reach the identity provider"));
    assert!(stderr.len() <= MAX_STDERR_QUOTE_LEN);
    let text = format!("{error} {error:?}");
    assert!(text.contains("exited with code 3") && text.contains("/usr/bin/cred-helper"));
    assert!(!text.contains("s3cret"), "{text}");
}

#[test]
fn bad_output_missing_command_and_bad_tokens_are_typed() {
    let t0 = Instant::now();
    let mut auth = plugin();
    let (id, _) = expect_run(&mut auth, t0);
    let garbage = PluginOutcome::Exited {
        status: PluginExit::Code(0),
        stdout: b"token=s3cret".to_vec(),
        stderr: Vec::new(),
    };
    auth.handle_plugin_outcome(id, garbage, t0, expiry()).unwrap();
    let error = expect_failed(&mut auth, t0);
    assert!(matches!(&error, AuthError::Exec(e) if matches!(e.kind, ExecPluginErrorKind::InvalidOutput(_))));
    assert!(!format!("{error} {error:?}").contains("s3cret"));

    let (id, _) = expect_run(&mut auth, t0 + SECOND);
    let missing = PluginOutcome::CouldNotStart {
        kind: io::ErrorKind::NotFound,
    };
    auth.handle_plugin_outcome(id, missing, t0 + SECOND, expiry())
        .unwrap();
    let error = expect_failed(&mut auth, t0 + SECOND).to_string();
    assert!(
        error.contains("/usr/bin/cred-helper") && error.contains("install cred-helper from the vendor"),
        "{error}"
    );

    let (id, _) = expect_run(&mut auth, t0 + 2 * SECOND);
    auth.handle_plugin_outcome(
        id,
        token_output("bad\\u0007token", false),
        t0 + 2 * SECOND,
        expiry(),
    )
    .unwrap();
    assert!(matches!(
        expect_failed(&mut auth, t0 + 2 * SECOND),
        AuthError::Plugin {
            failure: PluginFailure::TokenNotHeaderSafe,
            ..
        }
    ));
}

#[test]
fn an_exec_plugin_may_return_a_client_certificate() {
    let t0 = Instant::now();
    let mut auth = plugin();
    let (id, _) = expect_run(&mut auth, t0);
    let stdout = br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
        "status":{"clientCertificateData":"CERT","clientKeyData":"KEY s3cret"}}"#;
    let outcome = PluginOutcome::Exited {
        status: PluginExit::Code(0),
        stdout: stdout.to_vec(),
        stderr: Vec::new(),
    };
    auth.handle_plugin_outcome(id, outcome, t0, expiry()).unwrap();
    expect_ready(&mut auth, t0);
    assert_eq!(auth.authorization(), None);
    let identity = auth.client_identity().unwrap();
    assert_eq!(identity.certificate, b"CERT");
    assert_eq!(identity.key.expose(), b"KEY s3cret");
    assert!(!format!("{auth:?}").contains("s3cret"));
}

#[test]
fn interactive_plugins_get_the_terminal_and_no_timeout() {
    let t0 = Instant::now();
    let with_terminal = AuthConfig {
        stdin_is_terminal: true,
        ..AuthConfig::default()
    };
    let auth = Auth::Exec(exec_config(InteractiveMode::IfAvailable));
    let mut interactive = Authenticator::new(&auth, &cluster(), b"", with_terminal.clone()).unwrap();
    let (_, run) = expect_run(&mut interactive, t0);
    assert_eq!(run.stdio, PluginStdio::Interactive);
    assert_eq!(run.timeout, None);
    let info = &run.env.iter().find(|v| v.name == EXEC_INFO_ENV).unwrap().value;
    assert!(info.expose().contains(r#""interactive":true"#));
    // Others wait for as long as the person takes.
    assert!(matches!(interactive.poll_action(t0 + 60 * MINUTE), Next::Wait(_)));
    assert_eq!(interactive.poll_timeout(), None);

    // Without a terminal the same plugin is captured and timed.
    let (_, run) = expect_run(&mut machine(auth), t0);
    assert_eq!(run.stdio, PluginStdio::Captured);
    assert_eq!(run.timeout, Some(DEFAULT_PLUGIN_TIMEOUT));

    // A plugin that insists on a terminal fails without running when there is none.
    let mut always = machine(Auth::Exec(exec_config(InteractiveMode::Always)));
    let error = expect_failed(&mut always, t0);
    assert!(matches!(&error, AuthError::Exec(e) if e.kind == ExecPluginErrorKind::InteractiveRequired));
    assert_eq!(always.fetch_in_flight(), None);

    // `Never` never gets the terminal, even when there is one.
    let never = Auth::Exec(exec_config(InteractiveMode::Never));
    let (_, run) = expect_run(
        &mut Authenticator::new(&never, &cluster(), b"", with_terminal).unwrap(),
        t0,
    );
    assert_eq!(run.stdio, PluginStdio::Captured);
}

#[test]
fn the_plugin_timeout_is_configurable() {
    let t0 = Instant::now();
    let auth = Auth::Exec(exec_config(InteractiveMode::Never));
    let quick = AuthConfig {
        plugin_timeout: Some(5 * SECOND),
        ..AuthConfig::default()
    };
    let mut timed = Authenticator::new(&auth, &cluster(), b"", quick).unwrap();
    assert_eq!(expect_run(&mut timed, t0).1.timeout, Some(5 * SECOND));
    assert_eq!(timed.poll_timeout(), Some(t0 + 5 * SECOND));
    let patient = AuthConfig {
        plugin_timeout: None,
        ..AuthConfig::default()
    };
    let mut untimed = Authenticator::new(&auth, &cluster(), b"", patient).unwrap();
    assert_eq!(expect_run(&mut untimed, t0).1.timeout, None);
    assert!(matches!(untimed.poll_action(t0 + 600 * MINUTE), Next::Wait(_)));
}

#[test]
fn plugin_arguments_never_reach_debug() {
    let exec = crate::config::ExecConfig {
        command: "kubectl".into(),
        args: vec!["oidc-login".into(), "--oidc-client-secret=TOPSECRET".into()],
        ..crate::config::ExecConfig::default()
    };
    let shown = format!("{exec:?}");
    assert!(
        !shown.contains("TOPSECRET") && shown.contains("<2 redacted>"),
        "{shown}"
    );
    let run = PluginRun {
        command: exec.command.clone(),
        args: exec.args.clone(),
        env: Vec::new(),
        stdio: crate::auth::PluginStdio::Captured,
        max_stdout_len: 1,
        max_stderr_len: 1,
        timeout: None,
    };
    let shown = format!("{run:?}");
    assert!(
        !shown.contains("TOPSECRET") && shown.contains("<2 redacted>"),
        "{shown}"
    );
}

#[cfg(unix)]
#[test]
fn a_finished_plugin_is_exited_unless_waiting_or_a_pipe_failed() {
    use std::os::unix::process::ExitStatusExt;
    let status = || Ok(std::process::ExitStatus::from_raw(3 << 8));
    assert_eq!(
        PluginOutcome::finished(status(), Ok(b"out".to_vec()), Ok(Vec::new())),
        PluginOutcome::Exited {
            status: PluginExit::Code(3),
            stdout: b"out".to_vec(),
            stderr: Vec::new(),
        }
    );
    fn failed<T>(kind: io::ErrorKind) -> io::Result<T> {
        Err(io::Error::from(kind))
    }
    assert_eq!(
        PluginOutcome::finished(
            failed(io::ErrorKind::Interrupted),
            failed(io::ErrorKind::BrokenPipe),
            Ok(Vec::new())
        ),
        PluginOutcome::Io {
            kind: io::ErrorKind::Interrupted
        }
    );
    assert_eq!(
        PluginOutcome::finished(status(), Ok(Vec::new()), failed(io::ErrorKind::BrokenPipe)),
        PluginOutcome::Io {
            kind: io::ErrorKind::BrokenPipe
        }
    );
}
