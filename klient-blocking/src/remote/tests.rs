//! The pump over a loopback socket, against a scripted server that writes WebSocket frames as
//! they would follow the 101 (the sessions start after the handshake, so no API server is needed).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;

use klient_proto::remote::{ExecError, PortError, V4_CHANNEL, V5_CHANNEL};
use klient_proto::ws::frame::FrameError;
use klient_proto::ws::{Connection, ProtocolViolation, WsError};

use super::*;

const EXIT_3: &[u8] = br#"{"metadata":{},"status":"Failure","message":"exit status 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#;

/// An unmasked binary message on `channel`.
fn on_channel(channel: u8, data: &[u8]) -> Vec<u8> {
    let len = data.len() + 1;
    let mut frame = match u8::try_from(len) {
        Ok(short) if short < 126 => vec![0x82, short],
        _ => [&[0x82, 126][..], &u16::try_from(len).unwrap().to_be_bytes()].concat(),
    };
    frame.push(channel);
    frame.extend_from_slice(data);
    frame
}

/// A frame with a reserved opcode: the server breaks RFC 6455.
const BROKEN_FRAME: [u8; 2] = [0x83, 0x00];

/// The client frames in `wire`, unmasked: (opcode, payload).
fn client_frames(mut wire: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while wire.len() >= 6 {
        let len = usize::from(wire[1] & 0x7F);
        assert!(wire[1] & 0x80 != 0 && len < 126, "short masked frames only");
        let key = [wire[2], wire[3], wire[4], wire[5]];
        let payload = wire[6..6 + len]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ key[i % 4])
            .collect();
        frames.push((wire[0] & 0x0F, payload));
        wire = &wire[6 + len..];
    }
    frames
}

/// A loopback server that writes `wire` at once, then reads what the client sends until the
/// client closes the connection.
fn serve(wire: Vec<u8>) -> (TcpStream, thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        socket.write_all(&wire).unwrap();
        let mut received = Vec::new();
        socket.read_to_end(&mut received).unwrap();
        received
    });
    (TcpStream::connect(address).unwrap(), server)
}

/// What a pump over `client` sleeps on (the waker is not needed: these callers never write).
fn waiting_on(client: &TcpStream) -> Waiting {
    Waiting::for_stream(client).unwrap().0
}

/// Everything queued for a reader whose pump is over.
fn drain<T>(chunks: &Chunks<T>) -> Vec<T> {
    std::iter::from_fn(|| chunks.recv()).collect()
}

fn connection() -> Connection {
    Connection::new(channel_ws_config(), || [1, 2, 3, 4], Instant::now())
}

#[test]
fn output_and_exit_status_before_a_broken_frame_are_delivered_then_the_failure() {
    let mut wire = on_channel(1, b"hello");
    wire.extend(on_channel(3, EXIT_3));
    wire.extend(BROKEN_FRAME);
    let (client, server) = serve(wire);
    let session = ExecSession::new(connection(), Some(V5_CHANNEL), ExecSessionConfig::default()).unwrap();
    // The caller stays: the pump must end by itself.
    let (_commands, command_rx) = mpsc::sync_channel(1);
    let mut events = Vec::new();
    let waiting = waiting_on(&client);
    let result = pump(client, waiting, session, command_rx, |event| {
        events.push(event);
        Ok(())
    });

    assert_eq!(
        events,
        [
            ExecEvent::Stdout(Bytes::from_static(b"hello")),
            ExecEvent::Exit(ExitStatus::Code(3))
        ]
    );
    let failure = ExecError::Ws(WsError::Protocol(ProtocolViolation::Frame(
        FrameError::ReservedOpcode(3),
    )));
    assert!(
        matches!(&result, Err(PumpError::Session(e)) if *e == failure),
        "{result:?}"
    );
    // The close frame the RFC asks for (1002) reached the server before the socket closed.
    let sent = client_frames(&server.join().unwrap());
    assert_eq!(sent, [(0x8, 1002u16.to_be_bytes().to_vec())]);
}

#[test]
fn wait_gets_the_exit_status_that_came_before_a_failure() {
    let mut wire = on_channel(1, b"out");
    wire.extend(on_channel(3, EXIT_3));
    wire.extend(on_channel(4, b"a channel the server never writes"));
    let (client, server) = serve(wire);
    let session = ExecSession::new(connection(), Some(V4_CHANNEL), ExecSessionConfig::default()).unwrap();
    let (_commands, command_rx) = mpsc::sync_channel(1);
    let (waiting, waker) = Waiting::for_stream(&client).unwrap();
    let (stdout_tx, stdout) = Room::new(waker).queue();
    let status = run_exec(client, waiting, session, command_rx, Some(stdout_tx), None).unwrap();
    assert_eq!(status, ExitStatus::Code(3));
    assert_eq!(drain(&stdout), [Bytes::from_static(b"out")]);
    // The session, not the WebSocket, found the violation, and closed with 1002 all the same.
    let sent = client_frames(&server.join().unwrap());
    assert_eq!(sent, [(0x8, 1002u16.to_be_bytes().to_vec())]);
}

#[test]
fn without_an_exit_status_wait_reports_the_typed_failure() {
    let mut wire = on_channel(1, b"out");
    wire.extend(BROKEN_FRAME);
    let (client, server) = serve(wire);
    let session = ExecSession::new(connection(), Some(V5_CHANNEL), ExecSessionConfig::default()).unwrap();
    let (_commands, command_rx) = mpsc::sync_channel(1);
    let (waiting, waker) = Waiting::for_stream(&client).unwrap();
    let (stdout_tx, stdout) = Room::new(waker).queue();
    let err = run_exec(client, waiting, session, command_rx, Some(stdout_tx), None).unwrap_err();
    assert!(
        matches!(
            err,
            Error::WebSocket(WsError::Protocol(ProtocolViolation::Frame(_)))
        ),
        "{err}"
    );
    assert_eq!(drain(&stdout), [Bytes::from_static(b"out")]);
    server.join().unwrap();

    // A server that closes before the status: the close code and reason are in the error.
    let mut wire = on_channel(1, b"out");
    wire.extend([0x88, 0x06, 0x03, 0xF3, b'g', b'o', b'n', b'e']); // 1011 "gone"
    let (client, server) = serve(wire);
    let session = ExecSession::new(connection(), Some(V5_CHANNEL), ExecSessionConfig::default()).unwrap();
    let (_commands, command_rx) = mpsc::sync_channel(1);
    let waiting = waiting_on(&client);
    let err = run_exec(client, waiting, session, command_rx, None, None).unwrap_err();
    let Error::Exec(ExecError::NoExitStatus { close: Some(close) }) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(
        (close.code.map(|c| c.0), close.reason.as_str()),
        (Some(1011), "gone")
    );
    // Our answer to the server's close echoes its code.
    let sent = client_frames(&server.join().unwrap());
    assert_eq!(sent, [(0x8, 1011u16.to_be_bytes().to_vec())]);
}

#[test]
fn port_readers_get_the_data_then_a_typed_failure() {
    let port = 8080u16.to_le_bytes();
    let mut wire = on_channel(0, &port);
    wire.extend(on_channel(1, &port));
    wire.extend(on_channel(0, b"data"));
    wire.extend(on_channel(1, b"refused"));
    wire.extend(on_channel(9, b"no such port"));
    let (client, server) = serve(wire);
    let ports = Ports::new(&[8080]).unwrap();
    let session = PortForward::new(
        connection(),
        Some(V4_CHANNEL),
        &ports,
        PortForwardConfig::default(),
    )
    .unwrap();
    let (_commands, command_rx) = mpsc::sync_channel(1);
    let (waiting, waker) = Waiting::for_stream(&client).unwrap();
    let (tx, rx) = Room::new(waker).queue();
    run_portforward(client, waiting, session, command_rx, vec![tx]);

    let mut received = drain(&rx).into_iter();
    assert_eq!(received.next().unwrap().unwrap(), Bytes::from_static(b"data"));
    let refused = received.next().unwrap().unwrap_err();
    let port_error = refused
        .get_ref()
        .and_then(|e| e.downcast_ref::<PortError>())
        .unwrap();
    assert_eq!((port_error.port, port_error.message.as_str()), (8080, "refused"));
    let failed = received.next().unwrap().unwrap_err();
    assert_eq!(failed.kind(), io::ErrorKind::ConnectionAborted);
    let error = failed.get_ref().and_then(|e| e.downcast_ref::<Error>()).unwrap();
    assert!(
        matches!(error, Error::PortForward(PortForwardError::UnknownChannel(9))),
        "{error}"
    );
    assert!(received.next().is_none());
    let sent = client_frames(&server.join().unwrap());
    assert_eq!(sent, [(0x8, 1002u16.to_be_bytes().to_vec())]);
}

/// A caller that queues a request and drops its last handle at once, while the pump sleeps:
/// the pump must wake and carry out the request. (The waker's eventfd used to close with the
/// last handle, which took the pending wake-up out of the poll: the pump slept on until the
/// session's next deadline, 10 s for a tunnel's ping.)
#[test]
fn the_last_handle_dropped_right_after_a_request_still_wakes_the_pump() {
    for round in 0..20 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        server.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let session = ExecSession::new(connection(), Some(V5_CHANNEL), ExecSessionConfig::default()).unwrap();
        let (waiting, waker) = Waiting::for_stream(&client).unwrap();
        let (commands, command_rx) = mpsc::sync_channel(QUEUED_WRITES);
        let handle = ToPump::new(commands, waker);
        let pump = thread::spawn(move || pump(client, waiting, session, command_rx, |_| Ok(())));
        // Let the pump fall asleep: it has nothing to do.
        thread::sleep(Duration::from_millis(20));
        handle.send(ExecCommand::Stdin(b"x".to_vec())).unwrap();
        drop(handle);
        let mut first = [0u8; 2];
        let woke = server.read_exact(&mut first);
        // Ends the pump either way (it reads the end of the connection).
        drop(server);
        let _ = pump.join();
        woke.unwrap_or_else(|e| panic!("round {round}: the pump did not send the request: {e}"));
        assert_eq!(first[0], 0x82, "round {round}: a binary frame first");
    }
}

/// Output nobody reads yet fills its queue like a pipe: the pump holds the next message and does
/// not get to the exit status behind it (with an unbounded queue it would finish at once), stdin
/// still goes out meanwhile, and once the reader catches up every message arrives, in order.
#[test]
fn a_full_output_holds_the_session_but_not_its_stdin_and_loses_nothing() {
    const MESSAGES: u8 = 40;
    let mut wire = Vec::new();
    for i in 0..MESSAGES {
        wire.extend(on_channel(1, &[i; 100]));
    }
    wire.extend(on_channel(3, EXIT_3));
    wire.extend(BROKEN_FRAME);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (stdin_seen, stdin_seen_rx) = mpsc::channel();
    let server = thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        socket.write_all(&wire).unwrap();
        let mut first = [0u8; 1];
        socket.read_exact(&mut first).unwrap();
        stdin_seen.send(first[0]).unwrap();
        let mut rest = Vec::new();
        let _ = socket.read_to_end(&mut rest);
    });
    let session = ExecSession::new(connection(), Some(V5_CHANNEL), ExecSessionConfig::default()).unwrap();
    let (waiting, waker) = Waiting::for_stream(&client).unwrap();
    let (stdout_tx, stdout) = Room::new(waker.clone()).queue();
    let (commands, command_rx) = mpsc::sync_channel(QUEUED_WRITES);
    let commands = ToPump::new(commands, waker);
    let pump = thread::spawn(move || run_exec(client, waiting, session, command_rx, Some(stdout_tx), None));

    commands.send(ExecCommand::Stdin(b"hi".to_vec())).unwrap();
    let first = stdin_seen_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("stdin goes out while the output is full");
    assert_eq!(first, 0x82, "a binary frame");
    thread::sleep(Duration::from_millis(300));
    assert!(
        !pump.is_finished(),
        "the pump went past a full output to the exit status"
    );

    for i in 0..MESSAGES {
        assert_eq!(stdout.recv(), Some(Bytes::from(vec![i; 100])), "message {i}");
    }
    drop(commands);
    assert_eq!(pump.join().unwrap().unwrap(), ExitStatus::Code(3));
    assert_eq!(stdout.recv(), None);
    server.join().unwrap();
}

/// A reader that pauses longer than the keepalive's pong timeout does not fail its session: the
/// pong sits unread behind the output while the pump holds back, so the deadline waits (here the
/// server never answers pings at all, and the session still ends with its exit status once the
/// reader catches up within a timeout).
#[test]
fn a_reader_pausing_longer_than_the_pong_timeout_keeps_its_session() {
    use klient_proto::ws::{Config as WsConfig, Keepalive};

    let mut output = Vec::new();
    for i in 0..40u8 {
        output.extend(on_channel(1, &[i; 100]));
    }
    let mut end = on_channel(3, EXIT_3);
    end.extend(BROKEN_FRAME);
    // The exit status comes while the pump holds back: it waits unread in the socket.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let server = thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        socket.write_all(&output).unwrap();
        thread::sleep(Duration::from_millis(200));
        socket.write_all(&end).unwrap();
        let mut received = Vec::new();
        let _ = socket.read_to_end(&mut received);
    });
    let config = WsConfig {
        keepalive: Some(Keepalive {
            interval: Duration::from_millis(50),
            timeout: Duration::from_millis(400),
        }),
        ..channel_ws_config()
    };
    let conn = Connection::new(config, || [1, 2, 3, 4], Instant::now());
    let session = ExecSession::new(conn, Some(V5_CHANNEL), ExecSessionConfig::default()).unwrap();
    let (waiting, waker) = Waiting::for_stream(&client).unwrap();
    let (stdout_tx, stdout) = Room::new(waker).queue();
    let (_commands, command_rx) = mpsc::sync_channel(1);
    let pump = thread::spawn(move || run_exec(client, waiting, session, command_rx, Some(stdout_tx), None));
    // Five pong timeouts without reading.
    thread::sleep(Duration::from_millis(2000));
    for i in 0..40u8 {
        assert_eq!(stdout.recv(), Some(Bytes::from(vec![i; 100])), "message {i}");
    }
    assert_eq!(pump.join().unwrap().unwrap(), ExitStatus::Code(3));
    let _ = server.join();
}
