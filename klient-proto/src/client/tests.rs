//! The call machine against scripted server answers, with simulated time: the retry × renewal ×
//! replay matrix by method and kind of call.

use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use super::*;
use crate::config::{Kubeconfig, ResolvedConfig};
use crate::http::ResponseHead;

fn resolved(server: &str) -> ResolvedConfig {
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: '{server}'}}\n\
         users:\n- name: u\n  user: {{as: alice}}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\n\
         current-context: x\n"
    );
    Kubeconfig::from_bytes(kubeconfig.as_bytes(), None)
        .unwrap()
        .resolve(&Default::default())
        .unwrap()
}

fn settings(renewable_credential: bool) -> CallSettings {
    let config = resolved("https://10.0.0.1:6443/prefix");
    CallSettings {
        identity: RequestIdentity::new(&config).unwrap(),
        host: config.cluster.server.host_header(),
        retry: RetryPolicy::default(),
        renewable_credential,
    }
}

fn request(method: Method) -> http::Request<Vec<u8>> {
    http::Request::builder()
        .method(method)
        .uri("/api/v1/namespaces/ns/pods")
        .body(b"{}".to_vec())
        .unwrap()
}

fn head(code: u16, retry_after: Option<u64>) -> ResponseHead {
    let mut headers = HeaderMap::new();
    if let Some(seconds) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    ResponseHead {
        version: http::Version::HTTP_11,
        status: StatusCode::from_u16(code).unwrap(),
        headers,
    }
}

/// Sends one attempt with `token` and returns the bytes written.
fn send(call: &mut Call, now: Instant, token: &str) -> String {
    let action = call.poll_action(now);
    assert!(matches!(action, Some(CallAction::Send { .. })), "{action:?}");
    let mut out = Vec::new();
    call.encode_attempt(
        Some(&HeaderValue::from_str(&format!("Bearer {token}")).unwrap()),
        &mut out,
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn a_refused_credential_is_renewed_once_and_the_request_is_not_prepared_twice() {
    let now = Instant::now();
    let mut call = Call::new(&settings(true), request(Method::GET), CallKind::Whole, None, now).unwrap();
    let first = send(&mut call, now, "old");
    assert!(
        first.starts_with("GET /prefix/api/v1/namespaces/ns/pods HTTP/1.1\r\n"),
        "{first}"
    );
    assert_eq!(
        call.handle_head(&head(401, None), now),
        Ok(Disposition::RenewCredentialAndRetry)
    );
    let second = send(&mut call, now, "new");
    // The same request, with the new credential only: the base path, User-Agent and
    // Impersonate-User are not added a second time.
    assert!(
        second.starts_with("GET /prefix/api/v1/namespaces/ns/pods HTTP/1.1\r\n"),
        "{second}"
    );
    assert_eq!(second.matches("impersonate-user").count(), 1, "{second}");
    assert_eq!(second.matches("user-agent").count(), 1, "{second}");
    assert!(
        second.contains("authorization: Bearer new\r\n") && !second.contains("old"),
        "{second}"
    );
    assert_eq!(first.replace("Bearer old", "Bearer new"), second);
    // A second 401 is the answer.
    assert_eq!(call.handle_head(&head(401, None), now), Ok(Disposition::ReadBody));
    assert!(call.is_done());
}

#[test]
fn a_fixed_credential_is_not_renewed() {
    let now = Instant::now();
    let mut call = Call::new(&settings(false), request(Method::GET), CallKind::Whole, None, now).unwrap();
    send(&mut call, now, "t");
    assert_eq!(call.handle_head(&head(401, None), now), Ok(Disposition::ReadBody));
}

#[test]
fn streams_and_upgrades_renew_a_refused_credential_too() {
    let now = Instant::now();
    for (kind, success, answer) in [
        (CallKind::Streaming, 200, Disposition::Stream),
        (CallKind::Pieces, 200, Disposition::ReadPieces),
        (CallKind::Upgrade, 101, Disposition::Upgraded),
    ] {
        let mut call = Call::new(&settings(true), request(Method::GET), kind, None, now).unwrap();
        send(&mut call, now, "old");
        assert_eq!(
            call.handle_head(&head(401, None), now),
            Ok(Disposition::RenewCredentialAndRetry)
        );
        send(&mut call, now, "new");
        assert_eq!(
            call.handle_head(&head(success, None), now),
            Ok(answer),
            "{kind:?}"
        );
    }
}

#[test]
fn renewal_then_retry_after_then_answer() {
    let start = Instant::now();
    let mut call = Call::new(
        &settings(true),
        request(Method::POST),
        CallKind::Whole,
        None,
        start,
    )
    .unwrap();
    send(&mut call, start, "old");
    assert_eq!(
        call.handle_head(&head(401, None), start),
        Ok(Disposition::RenewCredentialAndRetry)
    );
    send(&mut call, start, "new");
    assert_eq!(
        call.handle_head(&head(429, Some(2)), start),
        Ok(Disposition::Retry)
    );
    let resume = start + Duration::from_secs(2);
    assert_eq!(call.poll_action(start), Some(CallAction::Wait(resume)));
    send(&mut call, resume, "new");
    assert_eq!(
        call.handle_head(&head(201, None), resume),
        Ok(Disposition::ReadBody)
    );
}

#[test]
fn a_list_read_in_pieces_gets_its_body_only_on_success() {
    let now = Instant::now();
    for (status, answer) in [
        (200, Disposition::ReadPieces),
        (404, Disposition::Error),
        (500, Disposition::Error),
    ] {
        let mut call = Call::new(
            &settings(false),
            request(Method::GET),
            CallKind::Pieces,
            None,
            now,
        )
        .unwrap();
        send(&mut call, now, "t");
        assert_eq!(call.handle_head(&head(status, None), now), Ok(answer), "{status}");
    }
}

#[test]
fn retries_stop_after_max_retries_with_the_last_answer() {
    let mut now = Instant::now();
    let mut call = Call::new(
        &settings(false),
        request(Method::GET),
        CallKind::Streaming,
        None,
        now,
    )
    .unwrap();
    for _ in 0..3 {
        send(&mut call, now, "t");
        assert_eq!(call.handle_head(&head(503, Some(1)), now), Ok(Disposition::Retry));
        now += Duration::from_secs(1);
    }
    send(&mut call, now, "t");
    assert_eq!(call.handle_head(&head(503, Some(1)), now), Ok(Disposition::Error));
}

#[test]
fn failures_are_replayed_only_when_safe() {
    let now = Instant::now();
    let stale_after_writing = AttemptFailure {
        reused: true,
        written: Written::Some,
        cause: FailureCause::Closed,
    };
    let stale_before_writing = AttemptFailure {
        reused: true,
        written: Written::Nothing,
        cause: FailureCause::Closed,
    };
    let new_connection = AttemptFailure {
        reused: false,
        written: Written::Nothing,
        cause: FailureCause::Closed,
    };
    // A pooled connection whose read timed out: the server is slow, maybe still working on it.
    let timed_out = AttemptFailure {
        reused: true,
        written: Written::Some,
        cause: FailureCause::TimedOut,
    };
    for (method, failure, replayed) in [
        (Method::GET, stale_after_writing, true),
        (Method::POST, stale_after_writing, false),
        (Method::PUT, stale_after_writing, false),
        (Method::PATCH, stale_after_writing, false),
        (Method::DELETE, stale_after_writing, false),
        (Method::POST, stale_before_writing, true),
        (Method::GET, new_connection, false),
        (Method::GET, timed_out, false),
    ] {
        let mut call = Call::new(
            &settings(true),
            request(method.clone()),
            CallKind::Whole,
            None,
            now,
        )
        .unwrap();
        send(&mut call, now, "t");
        let outcome = call.handle_failure(failure);
        assert_eq!(
            outcome.is_ok(),
            replayed,
            "{method} after {failure:?}: {outcome:?}"
        );
        if replayed {
            send(&mut call, now, "t");
        } else {
            assert_eq!(outcome, Err(CallError::NotReplayable { failure }));
            assert!(call.is_done());
        }
    }
    let mut keyed = request(Method::POST);
    keyed
        .headers_mut()
        .insert("idempotency-key", HeaderValue::from_static("k1"));
    let mut call = Call::new(&settings(true), keyed, CallKind::Whole, None, now).unwrap();
    send(&mut call, now, "t");
    assert_eq!(call.handle_failure(stale_after_writing), Ok(()));
}

#[test]
fn a_pool_of_dead_connections_ends_the_call() {
    let now = Instant::now();
    let mut call = Call::new(&settings(false), request(Method::GET), CallKind::Whole, None, now).unwrap();
    let stale = AttemptFailure {
        reused: true,
        written: Written::Some,
        cause: FailureCause::Closed,
    };
    let mut outcome = Ok(());
    for _ in 0..=16 {
        send(&mut call, now, "t");
        outcome = call.handle_failure(stale);
    }
    assert_eq!(outcome, Err(CallError::TooManyReplays));
}

#[test]
fn upgrades_take_new_connections_and_plain_requests_refuse_a_switch() {
    let now = Instant::now();
    let mut call = Call::new(
        &settings(false),
        request(Method::GET),
        CallKind::Upgrade,
        None,
        now,
    )
    .unwrap();
    assert_eq!(
        call.poll_action(now),
        Some(CallAction::Send { new_connection: true })
    );
    send(&mut call, now, "t");
    assert_eq!(call.handle_head(&head(403, None), now), Ok(Disposition::Error));

    let mut call = Call::new(&settings(false), request(Method::GET), CallKind::Whole, None, now).unwrap();
    assert_eq!(
        call.poll_action(now),
        Some(CallAction::Send {
            new_connection: false
        })
    );
    send(&mut call, now, "t");
    assert_eq!(
        call.handle_head(&head(101, None), now),
        Err(CallError::UnexpectedUpgrade {
            status: StatusCode::SWITCHING_PROTOCOLS
        })
    );
}

#[test]
fn the_deadline_covers_waits_between_retries() {
    let start = Instant::now();
    let timeout = Duration::from_secs(5);
    let mut call = Call::new(
        &settings(false),
        request(Method::GET),
        CallKind::Whole,
        Some(timeout),
        start,
    )
    .unwrap();
    send(&mut call, start, "t");
    assert_eq!(
        call.handle_head(&head(429, Some(10)), start),
        Ok(Disposition::Retry)
    );
    assert_eq!(call.poll_timeout(), Some(start + timeout));
    // A read may block until the deadline at most, and never for zero time.
    let transport = TransportSettings::default();
    assert_eq!(
        call.wait_limit(&transport, start + Duration::from_secs(1)),
        Duration::from_secs(4)
    );
    assert_eq!(
        call.wait_limit(&transport, start + Duration::from_secs(6)),
        Duration::from_millis(1)
    );
    let short = TransportSettings {
        read_timeout: Duration::from_secs(2),
        ..transport
    };
    assert_eq!(
        call.wait_limit(&short, start + Duration::from_secs(1)),
        Duration::from_secs(2)
    );
    assert_eq!(CallKind::Streaming.body_read_timeout(&transport), None);
    assert_eq!(
        CallKind::Whole.body_read_timeout(&transport),
        Some(transport.read_timeout)
    );
    // A list read item by item waits between bytes as a whole response does.
    assert_eq!(
        CallKind::Pieces.body_read_timeout(&transport),
        Some(transport.read_timeout)
    );
    assert_eq!(
        CallKind::Upgrade.deadline(&TransportSettings::default()),
        Some(Duration::from_secs(30))
    );
    assert_eq!(CallKind::Whole.deadline(&TransportSettings::default()), None);
    assert_eq!(call.handle_timeout(start + Duration::from_secs(4)), Ok(()));
    assert_eq!(
        call.handle_timeout(start + timeout),
        Err(CallError::TimedOut { after: timeout })
    );
    assert_eq!(call.poll_action(start + timeout), None);
    assert_eq!(call.poll_timeout(), None);
}

#[test]
fn out_of_order_inputs_are_refused_not_obeyed() {
    let now = Instant::now();
    let mut call = Call::new(&settings(false), request(Method::GET), CallKind::Whole, None, now).unwrap();
    assert!(matches!(
        call.handle_head(&head(200, None), now),
        Err(CallError::Misuse(_))
    ));
    send(&mut call, now, "t");
    let mut out = Vec::new();
    assert!(matches!(
        call.encode_attempt(None, &mut out),
        Err(CallError::Misuse(_))
    ));
    assert_eq!(call.cancel(), CallError::Cancelled);
    assert_eq!(call.poll_action(now), None);
}

#[test]
fn a_credential_the_caller_set_is_sent_as_is_and_never_renewed() {
    let now = Instant::now();
    let mut given = request(Method::GET);
    given
        .headers_mut()
        .insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer mine"));
    let mut call = Call::new(&settings(true), given, CallKind::Whole, None, now).unwrap();
    let sent = send(&mut call, now, "client");
    assert!(
        sent.contains("authorization: Bearer mine\r\n") && !sent.contains("client"),
        "{sent}"
    );
    assert_eq!(call.handle_head(&head(401, None), now), Ok(Disposition::ReadBody));
}
