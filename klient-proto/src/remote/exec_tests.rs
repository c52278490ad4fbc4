//! Exec sessions driven by a scripted server, through the real handshake, whole and byte at a time.

use std::time::Duration;

use super::*;
use crate::api::{BadSegment, Segment, StatusReason};
use crate::remote::test_util::{client_frames, close, frame, on_channel, upgrade};
use crate::ws::frame::{FrameError, OpCode};
use crate::ws::{self, Deadline, ProtocolViolation};

const SUCCESS: &[u8] = br#"{"metadata":{},"status":"Success"}"#;
const EXIT_3: &[u8] = br#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#;

fn handshake() -> ClientHandshake {
    let path = exec_path("default", "web", &["sh", "-c", "cat"], &AttachParams::default()).unwrap();
    exec_handshake("10.0.0.1:6443", &path, [3; 16])
}

/// A session after a 101 choosing `protocol`; `after` rides in the same read as the 101 head.
fn session(protocol: &str, after: &[u8]) -> (ExecSession, Vec<u8>) {
    let (conn, negotiated, leftover) = upgrade(&handshake(), Some(protocol), after);
    assert_eq!(negotiated.as_deref(), Some(protocol));
    let exec = ExecSession::new(conn, negotiated.as_deref(), ExecSessionConfig::default()).unwrap();
    (exec, leftover)
}

/// The events queued, up to the first thing that is not one (need-data, the end, a failure).
fn events(exec: &mut ExecSession) -> Vec<ExecEvent> {
    std::iter::from_fn(|| exec.poll_event().ok().and_then(Progress::event)).collect()
}

/// The failure a call made, if it made one.
fn new_failure(exec: &ExecSession, failed_before: bool) -> Result<(), ExecError> {
    match exec.failure() {
        Some(e) if !failed_before => Err(e.clone()),
        _ => Ok(()),
    }
}

/// Feeds `wire` in one call; the failure it caused, if any.
fn bytes(exec: &mut ExecSession, wire: &[u8]) -> Result<(), ExecError> {
    let failed_before = exec.failure().is_some();
    exec.handle_bytes(wire);
    new_failure(exec, failed_before)
}

fn eof(exec: &mut ExecSession) -> Result<(), ExecError> {
    let failed_before = exec.failure().is_some();
    exec.handle_eof();
    new_failure(exec, failed_before)
}

fn tick(exec: &mut ExecSession, now: Instant) -> Result<(), ExecError> {
    let failed_before = exec.failure().is_some();
    exec.handle_timeout(now);
    new_failure(exec, failed_before)
}

fn sent(exec: &mut ExecSession) -> Vec<(OpCode, Vec<u8>)> {
    client_frames(&exec.poll_transmit().unwrap_or_default())
}

/// Feeds `wire` in pieces of `step` bytes, stopping at the first error.
fn feed(exec: &mut ExecSession, wire: &[u8], step: usize) -> Result<(), ExecError> {
    wire.chunks(step).try_for_each(|piece| bytes(exec, piece))
}

fn typical_run() -> Vec<u8> {
    let mut wire = on_channel(STDOUT, b""); // the server's "ready" message
    wire.extend(on_channel(STDOUT, b"hello\n"));
    wire.extend(on_channel(STDERR, b"warn\n"));
    wire.extend(on_channel(ERROR, EXIT_3));
    wire.extend(close(1000));
    wire
}

#[test]
fn paths_carry_every_parameter() {
    let params = AttachParams {
        container: Some("app".into()),
        stdin: true,
        stdout: true,
        stderr: false,
        tty: true,
    };
    assert_eq!(
        exec_path("kube-system", "dns-1", &["ls", "-l", "/a b&c"], &params).unwrap(),
        "/api/v1/namespaces/kube-system/pods/dns-1/exec?command=ls&command=-l&command=%2Fa+b%26c\
         &container=app&stdin=true&stdout=true&stderr=false&tty=true"
    );
    assert_eq!(
        attach_path("ns", "p", &params).unwrap(),
        "/api/v1/namespaces/ns/pods/p/attach?container=app&stdin=true&stdout=true&stderr=false&tty=true"
    );
    assert!(matches!(
        exec_path::<&str>("ns", "a/b", &[], &params),
        Err(InvalidSegment {
            segment: Segment::Name,
            problem: BadSegment::ContainsSlash,
            ..
        })
    ));
}

#[test]
fn handshake_offers_v5_then_v4() {
    let request = handshake().request().unwrap();
    assert_eq!(
        request.headers()["sec-websocket-protocol"],
        "v5.channel.k8s.io, v4.channel.k8s.io"
    );
    assert!(request.uri().path().ends_with("/pods/web/exec"));
}

#[test]
fn demultiplexes_whole_and_byte_at_a_time() {
    let wire = typical_run();
    let expected = vec![
        ExecEvent::Stdout(Bytes::from_static(b"hello\n")),
        ExecEvent::Stderr(Bytes::from_static(b"warn\n")),
        ExecEvent::Exit(ExitStatus::Code(3)),
        ExecEvent::Closed,
    ];
    for step in [1, 2, 7, wire.len()] {
        let (mut exec, leftover) = session(V5_CHANNEL, &[]);
        assert!(leftover.is_empty());
        assert_eq!(exec.protocol(), ChannelProtocol::V5);
        feed(&mut exec, &wire, step).unwrap();
        assert_eq!(events(&mut exec), expected, "step {step}");
        assert_eq!(exec.exit_status(), Some(&ExitStatus::Code(3)));
        assert!(exec.is_closed());
        // Our close reply, echoing 1000.
        assert_eq!(sent(&mut exec), [(OpCode::Close, vec![0x03, 0xE8])]);
        eof(&mut exec).unwrap();
    }
}

#[test]
fn messages_in_the_101_read_are_not_lost() {
    let wire = typical_run();
    let (mut exec, leftover) = session(V4_CHANNEL, &wire);
    assert_eq!(leftover, wire);
    bytes(&mut exec, &leftover).unwrap();
    assert_eq!(events(&mut exec).len(), 4);
    assert_eq!(exec.protocol(), ChannelProtocol::V4);
}

#[test]
fn initial_empty_messages_on_any_channel_are_ignored() {
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    let mut wire = on_channel(STDERR, b"");
    wire.extend(on_channel(ERROR, b""));
    wire.extend(frame(OpCode::Binary, b"")); // no channel byte at all
    wire.extend(frame(OpCode::Ping, b"p"));
    bytes(&mut exec, &wire).unwrap();
    assert_eq!(events(&mut exec), []);
    assert_eq!(sent(&mut exec), [(OpCode::Pong, b"p".to_vec())]);
}

#[test]
fn output_after_the_status_is_delivered() {
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    let mut wire = on_channel(ERROR, SUCCESS);
    wire.extend(on_channel(STDOUT, b"late"));
    wire.extend(on_channel(ERROR, b"\n"));
    wire.extend(close(1000));
    bytes(&mut exec, &wire).unwrap();
    assert_eq!(
        events(&mut exec),
        [
            ExecEvent::Exit(ExitStatus::Success),
            ExecEvent::Stdout(Bytes::from_static(b"late")),
            ExecEvent::Closed
        ]
    );
}

#[test]
fn status_split_across_messages_is_read_whole() {
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    let (a, b) = EXIT_3.split_at(20);
    bytes(&mut exec, &on_channel(ERROR, a)).unwrap();
    assert_eq!(events(&mut exec), []);
    bytes(&mut exec, &on_channel(ERROR, b)).unwrap();
    assert_eq!(events(&mut exec), [ExecEvent::Exit(ExitStatus::Code(3))]);
}

#[test]
fn internal_error_status_is_a_failure_exit() {
    let json = br#"{"metadata":{},"status":"Failure","message":"Internal error occurred: pod not running","reason":"InternalError","code":500}"#;
    let (mut exec, _) = session(V4_CHANNEL, &[]);
    bytes(&mut exec, &on_channel(ERROR, json)).unwrap();
    assert_eq!(
        events(&mut exec),
        [ExecEvent::Exit(ExitStatus::Failure {
            reason: StatusReason::InternalError,
            message: "Internal error occurred: pod not running".into()
        })]
    );
}

#[test]
fn bad_statuses_are_typed_errors() {
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    let mut wire = on_channel(STDOUT, b"kept");
    wire.extend(on_channel(ERROR, b"garbage"));
    wire.extend(on_channel(STDOUT, b"after the failure"));
    assert!(matches!(
        bytes(&mut exec, &wire),
        Err(ExecError::Status(StatusError::Malformed { .. }))
    ));
    assert_eq!(
        events(&mut exec),
        [ExecEvent::Stdout(Bytes::from_static(b"kept"))]
    );
    assert!(exec.is_closed());
    assert_eq!(bytes(&mut exec, &on_channel(STDOUT, b"x")), Ok(()));
    assert_eq!(events(&mut exec), []);
    assert_eq!(exec.send_stdin(b"x"), Err(ExecSendError::Ws(WsSendError::Closed)));

    let (mut exec, _) = session(V5_CHANNEL, &[]);
    let status = br#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[]}}"#;
    assert_eq!(
        bytes(&mut exec, &on_channel(ERROR, status)),
        Err(ExecError::Status(StatusError::MissingExitCode))
    );

    let (mut exec, _) = session(V5_CHANNEL, &[]);
    let mut wire = on_channel(ERROR, SUCCESS);
    wire.extend(on_channel(ERROR, SUCCESS));
    assert_eq!(bytes(&mut exec, &wire), Err(ExecError::DataAfterStatus));
}

#[test]
fn truncated_status_at_close_is_malformed() {
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    let mut wire = on_channel(ERROR, &SUCCESS[..10]);
    wire.extend(close(1000));
    assert!(matches!(
        bytes(&mut exec, &wire),
        Err(ExecError::Status(StatusError::Malformed { .. }))
    ));

    let (mut exec, _) = session(V5_CHANNEL, &[]);
    bytes(&mut exec, &on_channel(ERROR, &SUCCESS[..10])).unwrap();
    assert!(matches!(
        eof(&mut exec),
        Err(ExecError::Status(StatusError::Malformed { .. }))
    ));
}

#[test]
fn oversized_status_is_refused() {
    let (conn, protocol, _) = upgrade(&handshake(), Some(V5_CHANNEL), &[]);
    let config = ExecSessionConfig {
        max_status_len: 16,
        ..ExecSessionConfig::default()
    };
    let mut exec = ExecSession::new(conn, protocol.as_deref(), config).unwrap();
    let mut wire = on_channel(ERROR, b"{\"status\":");
    wire.extend(on_channel(ERROR, b"\"Success\"   }"));
    assert_eq!(
        feed(&mut exec, &wire, 1),
        Err(ExecError::StatusTooLarge { len: 23, max: 16 })
    );
}

#[test]
fn unknown_channels_and_text_are_errors() {
    for channel in [STDIN, RESIZE, 5, 255] {
        let (mut exec, _) = session(V5_CHANNEL, &[]);
        assert_eq!(
            bytes(&mut exec, &on_channel(channel, b"x")),
            Err(ExecError::UnknownChannel(channel))
        );
    }
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    assert_eq!(
        bytes(&mut exec, &frame(OpCode::Text, b"1hello")),
        Err(ExecError::TextMessage)
    );
}

#[test]
fn end_without_status_is_distinct_from_success() {
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    let mut wire = on_channel(STDOUT, b"partial");
    wire.extend(close(1011));
    assert_eq!(
        bytes(&mut exec, &wire),
        Err(ExecError::NoExitStatus {
            close: Some(CloseFrame {
                code: Some(CloseCode::INTERNAL_ERROR),
                reason: String::new()
            })
        })
    );
    assert_eq!(
        events(&mut exec),
        [ExecEvent::Stdout(Bytes::from_static(b"partial"))]
    );

    let (mut exec, _) = session(V5_CHANNEL, &[]);
    bytes(&mut exec, &on_channel(STDOUT, b"partial")).unwrap();
    assert_eq!(eof(&mut exec), Err(ExecError::NoExitStatus { close: None }));
    assert!(exec.is_closed());

    // With the status in, a cut transport is still reported: output may be missing.
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    bytes(&mut exec, &on_channel(ERROR, SUCCESS)).unwrap();
    assert_eq!(eof(&mut exec), Err(ExecError::Ws(WsError::UnexpectedEof)));
    assert_eq!(events(&mut exec), [ExecEvent::Exit(ExitStatus::Success)]);
}

#[test]
fn an_exit_status_then_a_broken_frame_in_one_read_keeps_the_status() {
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    let mut wire = on_channel(STDOUT, b"ok");
    wire.extend(on_channel(ERROR, EXIT_3));
    wire.extend([0x83, 0x00]); // reserved opcode
    exec.handle_bytes(&wire);
    // The WebSocket's own close frame (1002) is queued for the server.
    assert_eq!(sent(&mut exec), [(OpCode::Close, vec![0x03, 0xEA])]);
    assert!(exec.is_closed());
    assert_eq!(
        exec.poll_event(),
        Ok(Progress::Event(ExecEvent::Stdout(Bytes::from_static(b"ok"))))
    );
    assert_eq!(
        exec.poll_event(),
        Ok(Progress::Event(ExecEvent::Exit(ExitStatus::Code(3))))
    );
    let failure = ExecError::Ws(WsError::Protocol(ProtocolViolation::Frame(
        FrameError::ReservedOpcode(3),
    )));
    assert_eq!(exec.poll_event(), Err(failure.clone()));
    assert_eq!(exec.poll_event(), Err(failure), "the failure stays");
    assert_eq!(exec.exit_status(), Some(&ExitStatus::Code(3)));
    assert_eq!(exec.poll_timeout(), None);
}

#[test]
fn a_channel_violation_after_output_closes_the_websocket_with_its_code() {
    let cases = [
        (on_channel(RESIZE, b"x"), ExecError::UnknownChannel(RESIZE), 1002),
        (frame(OpCode::Text, b"1hello"), ExecError::TextMessage, 1003),
        (
            [on_channel(ERROR, SUCCESS), on_channel(ERROR, b"more")].concat(),
            ExecError::DataAfterStatus,
            1002,
        ),
        (
            on_channel(ERROR, b"garbage"),
            ExecError::Status(StatusError::Malformed {
                detail: "expected value at line 1 column 1".into(),
            }),
            1007,
        ),
    ];
    for (violation, error, code) in cases {
        let (mut exec, _) = session(V5_CHANNEL, &[]);
        let mut wire = on_channel(STDERR, b"warn");
        wire.extend(violation);
        wire.extend(on_channel(STDOUT, b"never delivered"));
        exec.handle_bytes(&wire);
        assert_eq!(sent(&mut exec), [(OpCode::Close, code_bytes(code))], "{error}");
        let mut got = events(&mut exec);
        assert_eq!(got.remove(0), ExecEvent::Stderr(Bytes::from_static(b"warn")));
        assert!(got.iter().all(|e| matches!(e, ExecEvent::Exit(_))), "{got:?}");
        assert_eq!(exec.poll_event(), Err(error.clone()));
        assert_eq!(error.close_code(), Some(CloseCode(code)));
        assert!(exec.is_closed());
        // The session does not wait for the server's answer to a failure.
        assert_eq!(exec.poll_timeout(), None);
        exec.handle_bytes(&close(1000));
        assert_eq!(exec.poll_event(), Err(error));
        assert!(exec.poll_transmit().is_none());
    }
}

fn code_bytes(code: u16) -> Vec<u8> {
    code.to_be_bytes().to_vec()
}

#[test]
fn a_clean_end_is_finished_not_need_data() {
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    assert_eq!(exec.poll_event(), Ok(Progress::NeedData));
    exec.handle_bytes(&typical_run());
    assert_eq!(events(&mut exec).len(), 4);
    assert_eq!(exec.poll_event(), Ok(Progress::Finished));
    exec.handle_eof();
    assert_eq!(exec.poll_event(), Ok(Progress::Finished));
}

#[test]
fn stdin_is_framed_on_channel_0_in_bounded_messages() {
    let (conn, protocol, _) = upgrade(&handshake(), Some(V5_CHANNEL), &[]);
    let config = ExecSessionConfig {
        max_stdin_message: 4,
        ..ExecSessionConfig::default()
    };
    let mut exec = ExecSession::new(conn, protocol.as_deref(), config).unwrap();
    exec.send_stdin(b"0123456789").unwrap();
    exec.send_stdin(b"").unwrap();
    assert_eq!(
        sent(&mut exec),
        [
            (OpCode::Binary, b"\x000123".to_vec()),
            (OpCode::Binary, b"\x004567".to_vec()),
            (OpCode::Binary, b"\x0089".to_vec()),
        ]
    );
}

#[test]
fn v5_stdin_close_is_exactly_255_0() {
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    exec.send_stdin(b"last").unwrap();
    assert_eq!(exec.close_stdin(), Ok(StdinClose::Signalled));
    assert_eq!(
        sent(&mut exec),
        [
            (OpCode::Binary, b"\x00last".to_vec()),
            (OpCode::Binary, vec![255, 0])
        ]
    );
    assert_eq!(exec.send_stdin(b"more"), Err(ExecSendError::StdinClosed));
    assert_eq!(exec.close_stdin(), Err(ExecSendError::StdinClosed));
    assert!(exec.poll_transmit().is_none());
    // Output keeps flowing after the half-close.
    bytes(&mut exec, &on_channel(STDOUT, b"tsal")).unwrap();
    assert_eq!(
        events(&mut exec),
        [ExecEvent::Stdout(Bytes::from_static(b"tsal"))]
    );
}

#[test]
fn v4_stdin_close_asks_the_caller_to_close_the_socket() {
    let (mut exec, _) = session(V4_CHANNEL, &[]);
    assert_eq!(exec.close_stdin(), Ok(StdinClose::NeedsSocketClose));
    assert!(exec.poll_transmit().is_none(), "v4 has no close signal");
    assert_eq!(exec.send_stdin(b"more"), Err(ExecSendError::StdinClosed));
    let now = Instant::now();
    exec.close(now).unwrap();
    assert_eq!(sent(&mut exec), [(OpCode::Close, vec![0x03, 0xE8])]);
    assert!(exec.poll_timeout().is_some(), "waits for the server's close");
    // The server answers the close without a status.
    assert_eq!(
        bytes(&mut exec, &close(1000)),
        Err(ExecError::NoExitStatus {
            close: Some(CloseFrame {
                code: Some(CloseCode::NORMAL),
                reason: String::new()
            })
        })
    );
}

#[test]
fn resize_json_is_exact() {
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    exec.resize(80, 24).unwrap();
    exec.resize(u16::MAX, 0).unwrap();
    assert_eq!(
        sent(&mut exec),
        [
            (OpCode::Binary, b"\x04{\"Width\":80,\"Height\":24}".to_vec()),
            (OpCode::Binary, b"\x04{\"Width\":65535,\"Height\":0}".to_vec()),
        ]
    );
}

#[test]
fn unsupported_protocols_are_refused() {
    for protocol in [None, Some("channel.k8s.io")] {
        let conn = Connection::new(ws::Config::default(), || [0; 4], Instant::now());
        assert_eq!(
            ExecSession::new(conn, protocol, ExecSessionConfig::default()).unwrap_err(),
            UnsupportedProtocol(protocol.map(str::to_owned))
        );
    }
}

#[test]
fn errors_display_their_input() {
    assert_eq!(
        ExecError::StatusTooLarge { len: 9, max: 8 }.to_string(),
        "error channel of 9 bytes exceeds the limit of 8"
    );
    assert_eq!(
        ExecError::UnknownChannel(7).to_string(),
        "server wrote on channel 7, which it never writes"
    );
    assert_eq!(
        ExecError::NoExitStatus {
            close: Some(CloseFrame {
                code: Some(CloseCode::NORMAL),
                reason: "bye".into()
            })
        }
        .to_string(),
        "server closed (close code 1000, reason \"bye\") without an exit status"
    );
}

#[test]
fn keepalive_and_deadlines_pass_through() {
    let start = Instant::now();
    let config = ws::Config {
        keepalive: Some(ws::Keepalive {
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
        }),
        ..ws::Config::default()
    };
    let conn = Connection::new(config, || [1; 4], start);
    let mut exec = ExecSession::new(conn, Some(V5_CHANNEL), ExecSessionConfig::default()).unwrap();
    let ping_at = exec.poll_timeout().unwrap();
    assert_eq!(ping_at, start + Duration::from_secs(5));
    tick(&mut exec, ping_at).unwrap();
    assert_eq!(sent(&mut exec), [(OpCode::Ping, vec![])]);
    let deadline = exec.poll_timeout().unwrap();
    assert_eq!(
        tick(&mut exec, deadline),
        Err(ExecError::Ws(WsError::Timeout(Deadline::Pong {
            after: Duration::from_secs(2)
        })))
    );
    assert!(exec.is_closed());
    assert_eq!(exec.poll_timeout(), None);
    assert_eq!(exec.resize(1, 1), Err(ExecSendError::Ws(WsSendError::Closed)));
}

#[test]
fn verbs_after_a_clean_end_are_refused() {
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    bytes(&mut exec, &typical_run()).unwrap();
    assert_eq!(events(&mut exec).last(), Some(&ExecEvent::Closed));
    assert_eq!(exec.send_stdin(b"x"), Err(ExecSendError::Ws(WsSendError::Closed)));
    assert_eq!(exec.close_stdin(), Err(ExecSendError::Ws(WsSendError::Closed)));
    assert_eq!(
        exec.close(Instant::now()),
        Err(ExecSendError::Ws(WsSendError::Closed))
    );
    // Bytes after the close are ignored, as RFC 6455 asks.
    bytes(&mut exec, &on_channel(STDOUT, b"ghost")).unwrap();
    assert_eq!(events(&mut exec), []);
}
