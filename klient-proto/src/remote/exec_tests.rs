//! Exec sessions driven by a scripted server, through the real handshake, whole and byte at a time.

use super::*;
use crate::api::{BadSegment, Segment, StatusReason};
use crate::remote::test_util::{client_frames, close, frame, on_channel, upgrade};
use crate::ws::frame::OpCode;

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
    let exec = ExecSession::new(conn, negotiated.as_deref(), ExecConfig::default()).unwrap();
    (exec, leftover)
}

fn events(exec: &mut ExecSession) -> Vec<ExecEvent> {
    std::iter::from_fn(|| exec.poll_event()).collect()
}

fn sent(exec: &mut ExecSession) -> Vec<(OpCode, Vec<u8>)> {
    client_frames(&exec.poll_transmit().unwrap_or_default())
}

/// Feeds `wire` in pieces of `step` bytes, stopping at the first error.
fn feed(exec: &mut ExecSession, wire: &[u8], step: usize) -> Result<(), ExecError> {
    wire.chunks(step).try_for_each(|piece| exec.handle_bytes(piece))
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
        exec.handle_eof().unwrap();
    }
}

#[test]
fn messages_in_the_101_read_are_not_lost() {
    let wire = typical_run();
    let (mut exec, leftover) = session(V4_CHANNEL, &wire);
    assert_eq!(leftover, wire);
    exec.handle_bytes(&leftover).unwrap();
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
    exec.handle_bytes(&wire).unwrap();
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
    exec.handle_bytes(&wire).unwrap();
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
    exec.handle_bytes(&on_channel(ERROR, a)).unwrap();
    assert_eq!(events(&mut exec), []);
    exec.handle_bytes(&on_channel(ERROR, b)).unwrap();
    assert_eq!(events(&mut exec), [ExecEvent::Exit(ExitStatus::Code(3))]);
}

#[test]
fn internal_error_status_is_a_failure_exit() {
    let json = br#"{"metadata":{},"status":"Failure","message":"Internal error occurred: pod not running","reason":"InternalError","code":500}"#;
    let (mut exec, _) = session(V4_CHANNEL, &[]);
    exec.handle_bytes(&on_channel(ERROR, json)).unwrap();
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
        exec.handle_bytes(&wire),
        Err(ExecError::Status(StatusError::Malformed { .. }))
    ));
    assert_eq!(
        events(&mut exec),
        [ExecEvent::Stdout(Bytes::from_static(b"kept"))]
    );
    assert!(exec.is_closed());
    assert_eq!(exec.handle_bytes(&on_channel(STDOUT, b"x")), Ok(()));
    assert_eq!(events(&mut exec), []);
    assert_eq!(
        exec.send_stdin(b"x"),
        Err(ExecSendError::Ws(ws::SendError::Closed))
    );

    let (mut exec, _) = session(V5_CHANNEL, &[]);
    let status = br#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[]}}"#;
    assert_eq!(
        exec.handle_bytes(&on_channel(ERROR, status)),
        Err(ExecError::Status(StatusError::MissingExitCode))
    );

    let (mut exec, _) = session(V5_CHANNEL, &[]);
    let mut wire = on_channel(ERROR, SUCCESS);
    wire.extend(on_channel(ERROR, SUCCESS));
    assert_eq!(exec.handle_bytes(&wire), Err(ExecError::DataAfterStatus));
}

#[test]
fn truncated_status_at_close_is_malformed() {
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    let mut wire = on_channel(ERROR, &SUCCESS[..10]);
    wire.extend(close(1000));
    assert!(matches!(
        exec.handle_bytes(&wire),
        Err(ExecError::Status(StatusError::Malformed { .. }))
    ));

    let (mut exec, _) = session(V5_CHANNEL, &[]);
    exec.handle_bytes(&on_channel(ERROR, &SUCCESS[..10])).unwrap();
    assert!(matches!(
        exec.handle_eof(),
        Err(ExecError::Status(StatusError::Malformed { .. }))
    ));
}

#[test]
fn oversized_status_is_refused() {
    let (conn, protocol, _) = upgrade(&handshake(), Some(V5_CHANNEL), &[]);
    let config = ExecConfig {
        max_status_len: 16,
        ..ExecConfig::default()
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
            exec.handle_bytes(&on_channel(channel, b"x")),
            Err(ExecError::UnknownChannel(channel))
        );
    }
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    assert_eq!(
        exec.handle_bytes(&frame(OpCode::Text, b"1hello")),
        Err(ExecError::TextMessage)
    );
}

#[test]
fn end_without_status_is_distinct_from_success() {
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    let mut wire = on_channel(STDOUT, b"partial");
    wire.extend(close(1011));
    assert_eq!(
        exec.handle_bytes(&wire),
        Err(ExecError::NoExitStatus {
            close: Some((Some(CloseCode::INTERNAL_ERROR), String::new()))
        })
    );
    assert_eq!(
        events(&mut exec),
        [ExecEvent::Stdout(Bytes::from_static(b"partial"))]
    );

    let (mut exec, _) = session(V5_CHANNEL, &[]);
    exec.handle_bytes(&on_channel(STDOUT, b"partial")).unwrap();
    assert_eq!(exec.handle_eof(), Err(ExecError::NoExitStatus { close: None }));
    assert!(exec.is_closed());

    // With the status in, a cut transport is still reported: output may be missing.
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    exec.handle_bytes(&on_channel(ERROR, SUCCESS)).unwrap();
    assert_eq!(exec.handle_eof(), Err(ExecError::Ws(ws::Error::UnexpectedEof)));
    assert_eq!(events(&mut exec), [ExecEvent::Exit(ExitStatus::Success)]);
}

#[test]
fn websocket_errors_come_after_the_events_before_them() {
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    let mut wire = on_channel(STDOUT, b"ok");
    wire.extend([0x83, 0x00]); // reserved opcode
    assert!(matches!(
        exec.handle_bytes(&wire),
        Err(ExecError::Ws(ws::Error::Frame(_)))
    ));
    assert_eq!(events(&mut exec), [ExecEvent::Stdout(Bytes::from_static(b"ok"))]);
    // The WebSocket's own close frame (1002) is queued for the server.
    assert_eq!(sent(&mut exec), [(OpCode::Close, vec![0x03, 0xEA])]);
}

#[test]
fn stdin_is_framed_on_channel_0_in_bounded_messages() {
    let (conn, protocol, _) = upgrade(&handshake(), Some(V5_CHANNEL), &[]);
    let config = ExecConfig {
        max_stdin_message: 4,
        ..ExecConfig::default()
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
    exec.handle_bytes(&on_channel(STDOUT, b"tsal")).unwrap();
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
        exec.handle_bytes(&close(1000)),
        Err(ExecError::NoExitStatus {
            close: Some((Some(CloseCode::NORMAL), String::new()))
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
            ExecSession::new(conn, protocol, ExecConfig::default()).unwrap_err(),
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
            close: Some((Some(CloseCode::NORMAL), "bye".into()))
        }
        .to_string(),
        "server closed (code 1000, reason \"bye\") without an exit status"
    );
}

#[test]
fn keepalive_and_deadlines_pass_through() {
    let start = Instant::now();
    let config = ws::Config {
        keepalive: Some(ws::Keepalive {
            interval: std::time::Duration::from_secs(5),
            timeout: std::time::Duration::from_secs(2),
        }),
        ..ws::Config::default()
    };
    let conn = Connection::new(config, || [1; 4], start);
    let mut exec = ExecSession::new(conn, Some(V5_CHANNEL), ExecConfig::default()).unwrap();
    let ping_at = exec.poll_timeout().unwrap();
    assert_eq!(ping_at, start + std::time::Duration::from_secs(5));
    exec.handle_timeout(ping_at).unwrap();
    assert_eq!(sent(&mut exec), [(OpCode::Ping, vec![])]);
    let deadline = exec.poll_timeout().unwrap();
    assert_eq!(
        exec.handle_timeout(deadline),
        Err(ExecError::Ws(ws::Error::PongTimeout))
    );
    assert!(exec.is_closed());
    assert_eq!(exec.poll_timeout(), None);
    assert_eq!(exec.resize(1, 1), Err(ExecSendError::Ws(ws::SendError::Closed)));
}

#[test]
fn verbs_after_a_clean_end_are_refused() {
    let (mut exec, _) = session(V5_CHANNEL, &[]);
    exec.handle_bytes(&typical_run()).unwrap();
    assert_eq!(events(&mut exec).last(), Some(&ExecEvent::Closed));
    assert_eq!(
        exec.send_stdin(b"x"),
        Err(ExecSendError::Ws(ws::SendError::Closed))
    );
    assert_eq!(exec.close_stdin(), Err(ExecSendError::Ws(ws::SendError::Closed)));
    assert_eq!(
        exec.close(Instant::now()),
        Err(ExecSendError::Ws(ws::SendError::Closed))
    );
    // Bytes after the close are ignored, as RFC 6455 asks.
    exec.handle_bytes(&on_channel(STDOUT, b"ghost")).unwrap();
    assert_eq!(events(&mut exec), []);
}
