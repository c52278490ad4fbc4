//! Port-forward sessions driven by a scripted server, through the real handshake.

use super::*;
use crate::api::{BadSegment, Segment};
use crate::remote::test_util::{client_frames, close, frame, on_channel, upgrade};
use crate::ws::frame::{FrameError, OpCode};
use crate::ws::{self, ProtocolViolation};

const PORTS: [u16; 2] = [8080, 443];

fn ports() -> Ports {
    Ports::new(&PORTS).unwrap()
}

fn session(after: &[u8]) -> PortForward {
    let path = portforward_path("default", "web", &ports()).unwrap();
    let handshake = portforward_handshake("10.0.0.1:6443", &path, [5; 16]);
    let (conn, protocol, leftover) = upgrade(&handshake, Some(V4_CHANNEL), after);
    let mut pf = PortForward::new(conn, protocol.as_deref(), &ports(), PortForwardConfig::default()).unwrap();
    bytes(&mut pf, &leftover).unwrap();
    pf
}

/// The failure a call made, if it made one.
fn new_failure(pf: &PortForward, failed_before: bool) -> Result<(), PortForwardError> {
    match pf.failure() {
        Some(e) if !failed_before => Err(e.clone()),
        _ => Ok(()),
    }
}

/// Feeds `wire` in one call; the failure it caused, if any.
fn bytes(pf: &mut PortForward, wire: &[u8]) -> Result<(), PortForwardError> {
    let failed_before = pf.failure().is_some();
    pf.handle_bytes(wire);
    new_failure(pf, failed_before)
}

fn eof(pf: &mut PortForward) -> Result<(), PortForwardError> {
    let failed_before = pf.failure().is_some();
    pf.handle_eof();
    new_failure(pf, failed_before)
}

/// The server's port-number messages on both channels of every port.
fn prefixes() -> Vec<u8> {
    let mut wire = Vec::new();
    for (i, port) in PORTS.iter().enumerate() {
        let channel = (i * 2) as u8;
        wire.extend(on_channel(channel, &port.to_le_bytes()));
        wire.extend(on_channel(channel + 1, &port.to_le_bytes()));
    }
    wire
}

/// The events queued, up to the first thing that is not one (need-data, the end, a failure).
fn events(pf: &mut PortForward) -> Vec<PortForwardEvent> {
    std::iter::from_fn(|| pf.poll_event().ok().and_then(Progress::event)).collect()
}

fn data(port_index: usize, bytes: &'static [u8]) -> PortForwardEvent {
    PortForwardEvent::Data {
        port_index,
        bytes: Bytes::from_static(bytes),
    }
}

#[test]
fn path_and_handshake() {
    assert_eq!(
        portforward_path("ns", "pod", &ports()).unwrap(),
        "/api/v1/namespaces/ns/pods/pod/portforward?ports=8080&ports=443"
    );
    assert_eq!(Ports::new(&[]), Err(InvalidPorts::NoPorts));
    assert_eq!(
        Ports::new(&[80, 0]),
        Err(InvalidPorts::ZeroPort { port_index: 1 })
    );
    assert_eq!(
        Ports::new(&[1; 129]),
        Err(InvalidPorts::TooManyPorts { count: 129, max: 128 })
    );
    assert!(Ports::new(&[1; 128]).is_ok());
    assert!(matches!(
        portforward_path("", "pod", &Ports::new(&[80]).unwrap()),
        Err(InvalidSegment {
            segment: Segment::Namespace,
            problem: BadSegment::Empty,
            ..
        })
    ));
    let request = portforward_handshake("h", "/p", [0; 16]).request().unwrap();
    assert_eq!(request.headers()["sec-websocket-protocol"], "v4.channel.k8s.io");
}

#[test]
fn data_flows_both_ways_whole_and_byte_at_a_time() {
    let mut wire = prefixes();
    wire.extend(on_channel(0, b"HTTP/1.1 200 OK\r\n"));
    wire.extend(on_channel(2, b"\x16\x03\x01"));
    wire.extend(on_channel(0, b"")); // nothing, nothing delivered
    wire.extend(close(1000));
    for step in [1, 3, wire.len()] {
        let mut pf = session(&[]);
        assert!(!pf.is_confirmed(0));
        for piece in wire.chunks(step) {
            bytes(&mut pf, piece).unwrap();
        }
        assert!(pf.is_confirmed(0) && pf.is_confirmed(1) && !pf.is_confirmed(2));
        assert_eq!(
            events(&mut pf),
            [
                data(0, b"HTTP/1.1 200 OK\r\n"),
                data(1, b"\x16\x03\x01"),
                PortForwardEvent::Closed
            ],
            "step {step}"
        );
        assert!(pf.is_closed());
        eof(&mut pf).unwrap();
    }
}

#[test]
fn prefixes_in_the_101_read_are_checked() {
    let mut wire = prefixes();
    wire.extend(on_channel(2, b"x"));
    let mut pf = session(&wire);
    assert_eq!(events(&mut pf), [data(1, b"x")]);
    assert_eq!(pf.ports().collect::<Vec<_>>(), PORTS);
}

#[test]
fn sends_on_the_data_channel_in_bounded_messages() {
    let mut pf = session(&[]);
    pf.send(1, b"hello").unwrap();
    pf.send(0, &[7; 40_000]).unwrap();
    let frames = client_frames(&pf.poll_transmit().unwrap());
    assert_eq!(frames[0], (OpCode::Binary, b"\x02hello".to_vec()));
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[1].1.len(), 1 + (32 << 10));
    assert_eq!(frames[1].1[0], 0);
    assert_eq!(frames[2].1.len(), 1 + 40_000 - (32 << 10));
    assert_eq!(
        pf.send(2, b"x"),
        Err(PortForwardSendError::NoSuchPort {
            port_index: 2,
            ports: 2
        })
    );
}

#[test]
fn wrong_port_is_a_typed_error() {
    let mut pf = session(&[]);
    let mut wire = on_channel(0, &8080u16.to_le_bytes());
    wire.extend(on_channel(1, &8081u16.to_le_bytes()));
    assert_eq!(
        bytes(&mut pf, &wire),
        Err(PortForwardError::PortMismatch {
            port_index: 0,
            expected: 8080,
            actual: 8081
        })
    );
    assert!(pf.is_closed());
    assert_eq!(
        pf.send(0, b"x"),
        Err(PortForwardSendError::Ws(WsSendError::Closed))
    );
}

#[test]
fn short_prefix_is_a_typed_error() {
    for short in [&b""[..], &b"\x90"[..]] {
        let mut pf = session(&[]);
        assert_eq!(
            bytes(&mut pf, &on_channel(3, short)),
            Err(PortForwardError::ShortPortPrefix {
                port_index: 1,
                channel: 3,
                len: short.len()
            })
        );
    }
}

#[test]
fn data_after_the_prefix_in_one_message_is_kept() {
    let mut pf = session(&[]);
    let mut message = 8080u16.to_le_bytes().to_vec();
    message.extend_from_slice(b"early");
    bytes(&mut pf, &on_channel(0, &message)).unwrap();
    assert_eq!(events(&mut pf), [data(0, b"early")]);
}

#[test]
fn error_channel_text_is_a_port_error() {
    let mut pf = session(&prefixes());
    let text =
        b"error forwarding port 443 to pod web, uid : dial tcp4 127.0.0.1:443: connect: connection refused";
    let mut wire = on_channel(3, text);
    wire.extend(on_channel(0, b"port 0 still works"));
    wire.extend(on_channel(1, b"\xFFbad utf-8"));
    bytes(&mut pf, &wire).unwrap();
    assert_eq!(
        events(&mut pf),
        [
            PortForwardEvent::PortError {
                port_index: 1,
                error: PortError {
                    port: 443,
                    message: String::from_utf8(text.to_vec()).unwrap()
                }
            },
            data(0, b"port 0 still works"),
            PortForwardEvent::PortError {
                port_index: 0,
                error: PortError {
                    port: 8080,
                    message: "\u{FFFD}bad utf-8".into()
                }
            },
        ]
    );
}

#[test]
fn unknown_channels_text_and_eof_are_errors() {
    let mut pf = session(&[]);
    assert_eq!(
        bytes(&mut pf, &on_channel(4, b"\x00\x00")),
        Err(PortForwardError::UnknownChannel(4))
    );
    let mut pf = session(&[]);
    assert_eq!(
        bytes(&mut pf, &on_channel(255, b"")),
        Err(PortForwardError::UnknownChannel(255))
    );
    let mut pf = session(&[]);
    assert_eq!(
        bytes(&mut pf, &frame(OpCode::Text, b"0abc")),
        Err(PortForwardError::TextMessage)
    );
    let mut pf = session(&prefixes());
    assert_eq!(eof(&mut pf), Err(PortForwardError::Ws(WsError::UnexpectedEof)));
}

#[test]
fn session_checks_the_protocol() {
    let conn = || Connection::new(ws::Config::default(), || [0; 4], Instant::now());
    let config = PortForwardConfig::default;
    let ports = Ports::new(&[80]).unwrap();
    assert_eq!(
        PortForward::new(conn(), Some("v5.channel.k8s.io"), &ports, config()).unwrap_err(),
        UnsupportedProtocol(Some("v5.channel.k8s.io".into()))
    );
    assert_eq!(
        PortForward::new(conn(), None, &ports, config()).unwrap_err(),
        UnsupportedProtocol(None)
    );
}

#[test]
fn close_ends_every_port() {
    let mut pf = session(&prefixes());
    let now = Instant::now();
    pf.close(now).unwrap();
    assert_eq!(
        client_frames(&pf.poll_transmit().unwrap()),
        [(OpCode::Close, vec![0x03, 0xE8])]
    );
    bytes(&mut pf, &close(1000)).unwrap();
    assert_eq!(events(&mut pf), [PortForwardEvent::Closed]);
    assert!(pf.is_closed());
    assert_eq!(pf.poll_timeout(), None);
}

#[test]
fn data_then_a_violation_in_one_read_keeps_the_data_and_closes_with_1002() {
    let cases = [
        (
            on_channel(4, b"\x00\x00"),
            PortForwardError::UnknownChannel(4),
            1002,
        ),
        (frame(OpCode::Text, b"0abc"), PortForwardError::TextMessage, 1003),
        (
            [0x83, 0x00].to_vec(),
            PortForwardError::Ws(WsError::Protocol(ProtocolViolation::Frame(
                FrameError::ReservedOpcode(3),
            ))),
            1002,
        ),
    ];
    for (violation, error, code) in cases {
        let code: u16 = code;
        let mut pf = session(&prefixes());
        let mut wire = on_channel(0, b"first");
        wire.extend(on_channel(2, b"second"));
        wire.extend(violation);
        wire.extend(on_channel(0, b"never delivered"));
        pf.handle_bytes(&wire);
        assert_eq!(
            client_frames(&pf.poll_transmit().unwrap()),
            [(OpCode::Close, code.to_be_bytes().to_vec())],
            "{error}"
        );
        assert_eq!(pf.poll_event(), Ok(Progress::Event(data(0, b"first"))));
        assert_eq!(pf.poll_event(), Ok(Progress::Event(data(1, b"second"))));
        assert_eq!(pf.poll_event(), Err(error.clone()));
        assert_eq!(pf.poll_event(), Err(error.clone()), "the failure stays");
        assert_eq!(error.close_code(), Some(ws::CloseCode(code)));
        assert!(pf.is_closed());
        assert_eq!(pf.poll_timeout(), None);
        assert_eq!(
            pf.send(0, b"x"),
            Err(PortForwardSendError::Ws(WsSendError::Closed))
        );
    }
}

#[test]
fn a_clean_end_is_finished_not_need_data() {
    let mut pf = session(&prefixes());
    assert_eq!(pf.poll_event(), Ok(Progress::NeedData));
    pf.handle_bytes(&close(1000));
    assert_eq!(pf.poll_event(), Ok(Progress::Event(PortForwardEvent::Closed)));
    assert_eq!(pf.poll_event(), Ok(Progress::Finished));
}
