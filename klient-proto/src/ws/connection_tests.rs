//! Tests of the connection machine, driven in memory with a simulated clock.

use super::*;
use crate::ws::close::ClosePayloadError;
use crate::ws::mask::apply_mask;

const KEY: [u8; 4] = [0x11, 0x22, 0x33, 0x44];

fn conn_with(config: Config, now: Instant) -> Connection {
    Connection::new(config, || KEY, now)
}

fn conn() -> Connection {
    conn_with(Config::default(), Instant::now())
}

fn server_frame(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    FrameHeader {
        fin,
        rsv: 0,
        opcode,
        mask: None,
        payload_len: payload.len() as u64,
    }
    .write(&mut out);
    out.extend_from_slice(payload);
    out
}

fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

/// Splits what the client wrote into (header, unmasked payload), checking every frame is masked.
fn client_frames(mut wire: &[u8]) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut frames = Vec::new();
    while !wire.is_empty() {
        let (header, len) = FrameHeader::parse(wire).unwrap().unwrap();
        let key = header.mask.expect("client frames are masked");
        let end = len + header.payload_len as usize;
        let mut payload = wire[len..end].to_vec();
        apply_mask(&mut payload, key, 0);
        frames.push((header, payload));
        wire = &wire[end..];
    }
    frames
}

fn transmitted(c: &mut Connection) -> Vec<(FrameHeader, Vec<u8>)> {
    client_frames(&c.poll_transmit().unwrap_or_default())
}

/// The events queued, up to the first thing that is not one (need-data, the end, a failure).
fn events(c: &mut Connection) -> Vec<WsEvent> {
    std::iter::from_fn(|| c.poll_event().ok().and_then(Progress::event)).collect()
}

/// The failure a call made, if it made one: the one `poll_event` hands out once the events
/// before it are drained.
fn new_failure(c: &Connection, failed_before: bool) -> Result<(), WsError> {
    match c.failure() {
        Some(e) if !failed_before => Err(e.clone()),
        _ => Ok(()),
    }
}

fn feed(c: &mut Connection, input: &[u8]) -> Result<(), WsError> {
    let failed_before = c.failure().is_some();
    c.handle_bytes(input);
    new_failure(c, failed_before)
}

fn feed_some(c: &mut Connection, input: &[u8]) -> Result<usize, WsError> {
    let failed_before = c.failure().is_some();
    let used = c.handle_some_bytes(input);
    new_failure(c, failed_before).map(|()| used)
}

fn eof(c: &mut Connection) -> Result<(), WsError> {
    let failed_before = c.failure().is_some();
    c.handle_eof();
    new_failure(c, failed_before)
}

fn tick(c: &mut Connection, now: Instant) -> Result<(), WsError> {
    let failed_before = c.failure().is_some();
    c.handle_timeout(now);
    new_failure(c, failed_before)
}

#[test]
fn receives_binary_frames_of_every_length_form_whole_and_byte_at_a_time() {
    for len in [0usize, 125, 126, 65535, 65536] {
        let payload: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let wire = server_frame(OpCode::Binary, true, &payload);
        let expected = vec![WsEvent::Message(Message::Binary(payload.clone()))];

        let mut whole = conn();
        feed(&mut whole, &wire).unwrap();
        assert_eq!(events(&mut whole), expected, "len {len} whole");

        let mut bytewise = conn();
        for byte in &wire {
            feed(&mut bytewise, std::slice::from_ref(byte)).unwrap();
        }
        assert_eq!(events(&mut bytewise), expected, "len {len} byte at a time");
        assert!(bytewise.poll_transmit().is_none());
    }
}

#[test]
fn several_messages_in_one_input() {
    let mut wire = server_frame(OpCode::Text, true, b"one");
    wire.extend(server_frame(OpCode::Binary, true, b"two"));
    let mut c = conn();
    feed(&mut c, &wire).unwrap();
    assert_eq!(
        events(&mut c),
        [
            WsEvent::Message(Message::Text("one".into())),
            WsEvent::Message(Message::Binary(b"two".to_vec()))
        ]
    );
}

#[test]
fn fragmented_text_with_a_ping_in_between() {
    let mut wire = server_frame(OpCode::Text, false, "Hel".as_bytes());
    wire.extend(server_frame(OpCode::Ping, true, b"are you there"));
    // "€" is E2 82 AC: split it across fragments to check boundaries are fine mid-character.
    wire.extend(server_frame(OpCode::Continuation, false, b"lo \xE2\x82"));
    wire.extend(server_frame(OpCode::Continuation, true, b"\xAC!"));
    for step in [1, 3, wire.len()] {
        let mut c = conn();
        for piece in wire.chunks(step) {
            feed(&mut c, piece).unwrap();
        }
        assert_eq!(
            events(&mut c),
            [
                WsEvent::Ping(b"are you there".to_vec()),
                WsEvent::Message(Message::Text("Hello €!".into())),
            ]
        );
        let pongs = transmitted(&mut c);
        assert_eq!(pongs.len(), 1);
        assert_eq!(pongs[0].0.opcode, OpCode::Pong);
        assert_eq!(pongs[0].1, b"are you there");
    }
}

#[test]
fn invalid_utf8_fails_before_the_frame_ends() {
    let mut c = conn();
    // A 100-byte text frame whose third byte can never start a character.
    let mut wire = vec![0x81, 100];
    wire.extend_from_slice(b"ab\xFF");
    assert_eq!(
        feed(&mut c, &wire),
        Err(WsError::Protocol(ProtocolViolation::InvalidUtf8))
    );
    let close = transmitted(&mut c);
    assert_eq!(close[0].1, close_payload(1007, b""));
    assert!(c.is_closed());
}

#[test]
fn invalid_utf8_in_an_early_fragment_fails_at_once() {
    let mut c = conn();
    let wire = server_frame(OpCode::Text, false, b"ok\xC0\xAF");
    assert_eq!(
        feed(&mut c, &wire),
        Err(WsError::Protocol(ProtocolViolation::InvalidUtf8))
    );
}

#[test]
fn incomplete_character_at_the_end_of_the_message_fails() {
    let mut c = conn();
    let mut wire = server_frame(OpCode::Text, false, b"a\xE2");
    feed(&mut c, &wire).unwrap();
    wire = server_frame(OpCode::Continuation, true, b"\x82");
    assert_eq!(
        feed(&mut c, &wire),
        Err(WsError::Protocol(ProtocolViolation::InvalidUtf8))
    );
}

fn small_limits() -> Config {
    Config {
        max_frame_size: 10,
        max_message_size: 15,
        ..Config::default()
    }
}

#[test]
fn every_violation_sends_its_close_code() {
    let cases: Vec<(&str, Vec<u8>, WsError, u16)> = vec![
        (
            "reserved opcode",
            vec![0x83, 0],
            WsError::Protocol(ProtocolViolation::Frame(FrameError::ReservedOpcode(3))),
            1002,
        ),
        (
            "rsv bit",
            vec![0x92, 0],
            WsError::Protocol(ProtocolViolation::Frame(FrameError::ReservedBitsSet { rsv: 1 })),
            1002,
        ),
        (
            "masked",
            vec![0x82, 0x81, 1, 2, 3, 4, 9],
            WsError::Protocol(ProtocolViolation::Frame(FrameError::MaskedServerFrame)),
            1002,
        ),
        (
            "long ping",
            vec![0x89, 126, 0, 126],
            WsError::Protocol(ProtocolViolation::Frame(FrameError::ControlFrameTooLong {
                len: 126,
            })),
            1002,
        ),
        (
            "fragmented ping",
            vec![0x09, 0],
            WsError::Protocol(ProtocolViolation::Frame(FrameError::FragmentedControlFrame)),
            1002,
        ),
        (
            "length high bit",
            vec![0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0],
            WsError::Protocol(ProtocolViolation::Frame(FrameError::LengthHighBitSet)),
            1002,
        ),
        (
            "stray continuation",
            vec![0x80, 0],
            WsError::Protocol(ProtocolViolation::UnexpectedContinuation),
            1002,
        ),
        (
            "interleaved message",
            [
                server_frame(OpCode::Text, false, b"a"),
                server_frame(OpCode::Text, true, b"b"),
            ]
            .concat(),
            WsError::Protocol(ProtocolViolation::ExpectedContinuation),
            1002,
        ),
        (
            "frame too large",
            server_frame(OpCode::Binary, true, &[0; 11]),
            WsError::LimitExceeded {
                limit: SizeLimit::Frame,
                len: 11,
                max: 10,
            },
            1009,
        ),
        (
            "message too large",
            [
                server_frame(OpCode::Binary, false, &[0; 10]),
                server_frame(OpCode::Continuation, true, &[0; 6]),
            ]
            .concat(),
            WsError::LimitExceeded {
                limit: SizeLimit::Message,
                len: 16,
                max: 15,
            },
            1009,
        ),
        (
            "1-byte close",
            server_frame(OpCode::Close, true, &[3]),
            WsError::Protocol(ProtocolViolation::InvalidClose(ClosePayloadError::Truncated)),
            1002,
        ),
        (
            "close code 1005",
            server_frame(OpCode::Close, true, &close_payload(1005, b"")),
            WsError::Protocol(ProtocolViolation::InvalidClose(ClosePayloadError::InvalidCode(
                1005,
            ))),
            1002,
        ),
        (
            "close code 999",
            server_frame(OpCode::Close, true, &close_payload(999, b"")),
            WsError::Protocol(ProtocolViolation::InvalidClose(ClosePayloadError::InvalidCode(
                999,
            ))),
            1002,
        ),
        (
            "close code 5000",
            server_frame(OpCode::Close, true, &close_payload(5000, b"")),
            WsError::Protocol(ProtocolViolation::InvalidClose(ClosePayloadError::InvalidCode(
                5000,
            ))),
            1002,
        ),
        (
            "close reason not UTF-8",
            server_frame(OpCode::Close, true, &close_payload(1000, b"\xFF")),
            WsError::Protocol(ProtocolViolation::InvalidClose(ClosePayloadError::InvalidReason)),
            1007,
        ),
        (
            "invalid text",
            server_frame(OpCode::Text, true, b"\xFF"),
            WsError::Protocol(ProtocolViolation::InvalidUtf8),
            1007,
        ),
    ];
    for (name, wire, error, code) in cases {
        for step in [1, wire.len()] {
            let mut c = conn_with(small_limits(), Instant::now());
            let result = wire
                .chunks(step)
                .map(|piece| feed(&mut c, piece))
                .find(Result::is_err);
            assert_eq!(result, Some(Err(error.clone())), "{name} step {step}");
            assert_eq!(error.close_code(), Some(CloseCode(code)), "{name}");
            let sent = transmitted(&mut c);
            assert_eq!(sent.len(), 1, "{name}");
            assert_eq!(sent[0].0.opcode, OpCode::Close, "{name}");
            assert_eq!(sent[0].1, close_payload(code, b""), "{name}");
            assert!(c.is_closed(), "{name}");
            assert_eq!(c.send_text("late"), Err(WsSendError::Closed), "{name}");
            // Nothing more is read or written after failing.
            feed(&mut c, &server_frame(OpCode::Ping, true, b"x")).unwrap();
            assert!(c.poll_transmit().is_none(), "{name}");
        }
    }
}

#[test]
fn a_failure_is_drained_after_the_events_before_it_with_the_close_frame_queued() {
    // A message, a ping, then a frame with a reserved opcode, in one read.
    let mut wire = server_frame(OpCode::Binary, true, b"fine");
    wire.extend(server_frame(OpCode::Ping, true, b"p"));
    wire.extend([0x83, 0]);
    let mut c = conn();
    c.handle_bytes(&wire);
    let failure = WsError::Protocol(ProtocolViolation::Frame(FrameError::ReservedOpcode(3)));
    assert_eq!(c.failure(), Some(&failure));
    assert!(c.is_closed());
    // The pong for the ping, then the close frame, are queued in the order they arose.
    let sent: Vec<_> = transmitted(&mut c)
        .into_iter()
        .map(|(h, p)| (h.opcode, p))
        .collect();
    assert_eq!(
        sent,
        [
            (OpCode::Pong, b"p".to_vec()),
            (OpCode::Close, close_payload(1002, b""))
        ]
    );
    assert_eq!(
        c.poll_event(),
        Ok(Progress::Event(WsEvent::Message(Message::Binary(
            b"fine".to_vec()
        ))))
    );
    assert_eq!(c.poll_event(), Ok(Progress::Event(WsEvent::Ping(b"p".to_vec()))));
    assert_eq!(c.poll_event(), Err(failure.clone()));
    assert_eq!(c.poll_event(), Err(failure), "the failure stays");
    // Nothing more is read, sent or timed.
    c.handle_bytes(&server_frame(OpCode::Text, true, b"late"));
    assert!(events(&mut c).is_empty());
    assert!(c.poll_transmit().is_none());
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn need_data_and_finished_are_told_apart() {
    let mut c = conn();
    assert_eq!(c.poll_event(), Ok(Progress::NeedData));
    c.handle_bytes(&server_frame(OpCode::Text, false, b"part"));
    assert_eq!(c.poll_event(), Ok(Progress::NeedData));
    c.handle_bytes(&server_frame(OpCode::Close, true, &close_payload(1000, b"")));
    assert!(matches!(c.poll_event(), Ok(Progress::Event(WsEvent::Closed(_)))));
    assert_eq!(c.poll_event(), Ok(Progress::Finished));
    c.handle_eof();
    assert_eq!(
        c.poll_event(),
        Ok(Progress::Finished),
        "EOF after the close handshake is fine"
    );
}

#[test]
fn a_protocol_on_top_fails_the_connection_with_its_close_code() {
    let mut c = conn();
    c.handle_bytes(&server_frame(OpCode::Text, true, b"hi"));
    assert_eq!(
        c.fail(CloseCode(1005), ""),
        Err(WsSendError::InvalidCloseCode(CloseCode(1005))),
        "a code that may not be sent changes nothing"
    );
    assert!(c.is_open());
    c.fail(CloseCode::UNSUPPORTED_DATA, "text").unwrap();
    assert!(c.is_closed());
    assert_eq!(transmitted(&mut c)[0].1, close_payload(1003, b"text"));
    // Events decoded before stay; then the end, without a failure of the connection's own.
    assert_eq!(events(&mut c), [WsEvent::Message(Message::Text("hi".into()))]);
    assert_eq!(c.poll_event(), Ok(Progress::Finished));
    assert_eq!(c.failure(), None);
    assert_eq!(c.poll_timeout(), None, "no wait for the server's close");
    c.fail(CloseCode::PROTOCOL_ERROR, "").unwrap();
    assert!(c.poll_transmit().is_none(), "one close frame only");
}

#[test]
fn server_initiated_close_is_echoed() {
    let mut c = conn();
    let wire = server_frame(OpCode::Close, true, &close_payload(1001, b"bye"));
    feed(&mut c, &wire).unwrap();
    assert_eq!(
        events(&mut c),
        [WsEvent::Closed(CloseFrame {
            code: Some(CloseCode::GOING_AWAY),
            reason: "bye".into()
        })]
    );
    let reply = transmitted(&mut c);
    assert_eq!(reply.len(), 1);
    assert_eq!(reply[0].0.opcode, OpCode::Close);
    assert_eq!(reply[0].1, close_payload(1001, b""));
    assert!(c.is_closed());
    assert_eq!(c.poll_timeout(), None);
    assert_eq!(c.send_binary(b"x"), Err(WsSendError::Closed));
    assert_eq!(eof(&mut c), Ok(()));
}

#[test]
fn empty_close_is_answered_with_empty_close() {
    let mut c = conn();
    feed(&mut c, &[0x88, 0]).unwrap();
    assert_eq!(
        events(&mut c),
        [WsEvent::Closed(CloseFrame {
            code: None,
            reason: String::new()
        })]
    );
    let reply = transmitted(&mut c);
    assert_eq!(reply[0].1, b"");
}

#[test]
fn client_initiated_close_waits_for_the_server() {
    let t0 = Instant::now();
    let mut c = conn_with(Config::default(), t0);
    c.close(t0, CloseCode::NORMAL, "done").unwrap();
    let sent = transmitted(&mut c);
    assert_eq!(sent[0].0.opcode, OpCode::Close);
    assert_eq!(sent[0].1, close_payload(1000, b"done"));
    assert!(!c.is_open());
    assert!(!c.is_closed());
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    assert_eq!(c.send_text("x"), Err(WsSendError::Closed));
    assert_eq!(c.close(t0, CloseCode::NORMAL, ""), Err(WsSendError::Closed));

    // Data still in flight is delivered; pings are not answered after our close.
    let mut wire = server_frame(OpCode::Text, true, b"late");
    wire.extend(server_frame(OpCode::Ping, true, b""));
    wire.extend(server_frame(OpCode::Close, true, &close_payload(1000, b"")));
    feed(&mut c, &wire).unwrap();
    assert_eq!(
        events(&mut c),
        [
            WsEvent::Message(Message::Text("late".into())),
            WsEvent::Ping(Vec::new()),
            WsEvent::Closed(CloseFrame {
                code: Some(CloseCode::NORMAL),
                reason: String::new()
            }),
        ]
    );
    assert!(c.poll_transmit().is_none());
    assert!(c.is_closed());
    assert_eq!(tick(&mut c, t0 + Duration::from_secs(60)), Ok(()));
}

#[test]
fn close_times_out_without_the_servers_close() {
    let t0 = Instant::now();
    let mut c = conn_with(Config::default(), t0);
    c.close(t0, CloseCode(4000), "").unwrap();
    c.poll_transmit().unwrap();
    assert_eq!(tick(&mut c, t0 + Duration::from_secs(9)), Ok(()));
    assert_eq!(
        tick(&mut c, t0 + Duration::from_secs(10)),
        Err(WsError::Timeout(Deadline::Close {
            after: Duration::from_secs(10)
        }))
    );
    assert!(c.is_closed());
    assert!(c.poll_transmit().is_none(), "no second close frame");
}

#[test]
fn close_verb_checks_its_arguments() {
    let t0 = Instant::now();
    let mut c = conn_with(Config::default(), t0);
    for code in [1005, 1006, 1015, 2000] {
        assert_eq!(
            c.close(t0, CloseCode(code), ""),
            Err(WsSendError::InvalidCloseCode(CloseCode(code)))
        );
    }
    let long = "x".repeat(124);
    assert_eq!(
        c.close(t0, CloseCode::NORMAL, &long),
        Err(WsSendError::CloseReasonTooLong { len: 124 })
    );
    assert!(c.close(t0, CloseCode::NORMAL, &long[..123]).is_ok());
}

#[test]
fn eof_before_close_is_an_error() {
    let mut c = conn();
    assert_eq!(eof(&mut c), Err(WsError::UnexpectedEof));
    assert!(c.is_closed());
    assert!(c.poll_transmit().is_none());
}

#[test]
fn sends_masked_frames_with_fresh_keys() {
    let mut n = 0u8;
    let mut c = Connection::new(
        Config::default(),
        move || {
            n += 1;
            [n, n, n, n]
        },
        Instant::now(),
    );
    c.send_text("a").unwrap();
    c.send_binary(b"b").unwrap();
    c.send_ping(b"c").unwrap();
    let sent = transmitted(&mut c);
    let summary: Vec<_> = sent
        .iter()
        .map(|(h, p)| (h.opcode, h.fin, h.mask, p.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (OpCode::Text, true, Some([1; 4]), b"a".to_vec()),
            (OpCode::Binary, true, Some([2; 4]), b"b".to_vec()),
            (OpCode::Ping, true, Some([3; 4]), b"c".to_vec()),
        ]
    );
    assert_eq!(
        c.send_ping(&[0; 126]),
        Err(WsSendError::ControlPayloadTooLong { len: 126 })
    );
}

#[test]
fn fragments_large_messages() {
    let config = Config {
        fragment_size: Some(4),
        ..Config::default()
    };
    let mut c = conn_with(config, Instant::now());
    c.send_text("hello world").unwrap();
    c.send_binary(b"1234").unwrap();
    c.send_binary(b"").unwrap();
    let sent = transmitted(&mut c);
    let summary: Vec<_> = sent.iter().map(|(h, p)| (h.opcode, h.fin, p.clone())).collect();
    assert_eq!(
        summary,
        [
            (OpCode::Text, false, b"hell".to_vec()),
            (OpCode::Continuation, false, b"o wo".to_vec()),
            (OpCode::Continuation, true, b"rld".to_vec()),
            (OpCode::Binary, true, b"1234".to_vec()),
            (OpCode::Binary, true, Vec::new()),
        ]
    );
}

#[test]
fn keepalive_pings_and_pong_deadline() {
    let t0 = Instant::now();
    let secs = Duration::from_secs;
    let config = Config {
        keepalive: Some(Keepalive {
            interval: secs(30),
            timeout: secs(10),
        }),
        ..Config::default()
    };
    let mut c = conn_with(config, t0);
    assert_eq!(c.poll_timeout(), Some(t0 + secs(30)));
    tick(&mut c, t0 + secs(29)).unwrap();
    assert!(c.poll_transmit().is_none());

    tick(&mut c, t0 + secs(30)).unwrap();
    let ping = transmitted(&mut c);
    assert_eq!(ping.len(), 1);
    assert_eq!(ping[0].0.opcode, OpCode::Ping);
    assert_eq!(c.poll_timeout(), Some(t0 + secs(40)), "pong deadline");

    feed(&mut c, &server_frame(OpCode::Pong, true, b"")).unwrap();
    assert_eq!(events(&mut c), [WsEvent::Pong(Vec::new())]);
    assert_eq!(c.poll_timeout(), Some(t0 + secs(60)), "next ping");

    tick(&mut c, t0 + secs(60)).unwrap();
    assert_eq!(transmitted(&mut c)[0].0.opcode, OpCode::Ping);
    tick(&mut c, t0 + secs(69)).unwrap();
    assert_eq!(
        tick(&mut c, t0 + secs(70)),
        Err(WsError::Timeout(Deadline::Pong { after: secs(10) }))
    );
    assert!(c.is_closed());
    assert_eq!(c.poll_timeout(), None);
}

/// A caller that stops reading (its own reader has no room) cannot see a pong: the deadline
/// waits while reading is paused, and starts afresh when it resumes; pings still go out.
#[test]
fn the_pong_deadline_waits_while_reading_is_paused() {
    let t0 = Instant::now();
    let secs = Duration::from_secs;
    let config = Config {
        keepalive: Some(Keepalive {
            interval: secs(30),
            timeout: secs(10),
        }),
        ..Config::default()
    };
    let mut c = conn_with(config, t0);
    tick(&mut c, t0 + secs(30)).unwrap();
    assert_eq!(transmitted(&mut c)[0].0.opcode, OpCode::Ping);
    c.pause_reading(true, t0 + secs(35));
    assert_eq!(c.poll_timeout(), Some(t0 + secs(60)), "the next ping only");
    tick(&mut c, t0 + secs(45)).unwrap();
    tick(&mut c, t0 + secs(60)).unwrap();
    assert_eq!(transmitted(&mut c)[0].0.opcode, OpCode::Ping, "pings go on");
    assert!(!c.is_closed());
    c.pause_reading(false, t0 + secs(85));
    assert_eq!(c.poll_timeout(), Some(t0 + secs(90)), "the next ping");
    tick(&mut c, t0 + secs(90)).unwrap();
    assert_eq!(
        c.poll_timeout(),
        Some(t0 + secs(95)),
        "a whole timeout from the resume"
    );
    tick(&mut c, t0 + secs(94)).unwrap();
    assert_eq!(
        tick(&mut c, t0 + secs(95)),
        Err(WsError::Timeout(Deadline::Pong { after: secs(10) }))
    );
}

#[test]
fn no_timeout_without_keepalive() {
    let c = conn();
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn bytes_after_the_servers_close_are_ignored() {
    let mut wire = server_frame(OpCode::Close, true, &close_payload(1000, b""));
    wire.extend(server_frame(OpCode::Text, true, b"after"));
    let mut c = conn();
    feed(&mut c, &wire).unwrap();
    assert_eq!(events(&mut c).len(), 1);
}

mod deflate {
    use super::*;
    use crate::ws::deflate::{DeflateParams, Deflater, Inflater};

    fn params() -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }

    fn deflate_conn(max_message_size: usize, fragment_size: Option<usize>) -> Connection {
        let config = Config {
            deflate: Some(params()),
            max_message_size,
            fragment_size,
            ..Config::default()
        };
        conn_with(config, Instant::now())
    }

    fn compressed_frame(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut frame = server_frame(opcode, fin, payload);
        frame[0] |= 0x40;
        frame
    }

    #[test]
    fn inflates_messages_with_context_takeover_byte_at_a_time() {
        let mut server = Deflater::new(&params());
        let text = "compress me, compress me, compress me";
        let first = server.deflate(text.as_bytes()).unwrap();
        let second = server.deflate(text.as_bytes()).unwrap();
        // The second message is split in two fragments with a ping between them.
        let (a, b) = second.split_at(second.len() / 2);
        let mut wire = compressed_frame(OpCode::Text, true, &first);
        wire.extend(compressed_frame(OpCode::Binary, false, a));
        wire.extend(server_frame(OpCode::Ping, true, b"p"));
        wire.extend(server_frame(OpCode::Continuation, true, b));
        wire.extend(server_frame(OpCode::Text, true, b"plain"));
        let mut c = deflate_conn(1 << 20, None);
        for byte in &wire {
            feed(&mut c, std::slice::from_ref(byte)).unwrap();
        }
        assert_eq!(
            events(&mut c),
            [
                WsEvent::Message(Message::Text(text.into())),
                WsEvent::Ping(b"p".to_vec()),
                WsEvent::Message(Message::Binary(text.as_bytes().to_vec())),
                WsEvent::Message(Message::Text("plain".into())),
            ]
        );
    }

    #[test]
    fn compresses_sent_messages() {
        let mut c = deflate_conn(1 << 20, Some(8));
        let text = "x".repeat(1000);
        c.send_text(&text).unwrap();
        let frames = transmitted(&mut c);
        assert!(frames.len() > 1, "fragmented");
        assert_eq!(frames[0].0.rsv, 0b100);
        assert!(
            frames[1..]
                .iter()
                .all(|(h, _)| h.rsv == 0 && h.opcode == OpCode::Continuation)
        );
        let compressed: Vec<u8> = frames.iter().flat_map(|(_, p)| p.clone()).collect();
        assert!(compressed.len() < 100);
        let mut inflater = Inflater::new(&params());
        let mut out = Vec::new();
        inflater.inflate(&compressed, &mut out, 4096).unwrap();
        inflater.finish(&mut out, 4096).unwrap();
        assert_eq!(out, text.as_bytes());
    }

    #[test]
    fn violations_send_their_close_codes() {
        let mut server = Deflater::new(&params());
        let bomb = server.deflate(&[0; 1 << 20]).unwrap();
        let mut server = Deflater::new(&params());
        let bad_text = server.deflate(b"ok \xFF").unwrap();
        let cases: Vec<(&str, Vec<u8>, WsError, u16)> = vec![
            (
                "rsv1 on continuation",
                [
                    compressed_frame(OpCode::Text, false, &bad_text[..1]),
                    compressed_frame(OpCode::Continuation, true, &bad_text[1..]),
                ]
                .concat(),
                WsError::Protocol(ProtocolViolation::UnexpectedRsv1),
                1002,
            ),
            (
                "rsv1 on ping",
                compressed_frame(OpCode::Ping, true, b""),
                WsError::Protocol(ProtocolViolation::UnexpectedRsv1),
                1002,
            ),
            (
                "inflated size over the limit",
                compressed_frame(OpCode::Binary, true, &bomb),
                WsError::LimitExceeded {
                    limit: SizeLimit::Message,
                    len: 0,
                    max: 4096,
                },
                1009,
            ),
            (
                "corrupt",
                compressed_frame(OpCode::Binary, true, &[0xFF, 0xFF]),
                WsError::Protocol(ProtocolViolation::InvalidCompressedData),
                1007,
            ),
            (
                "invalid UTF-8 inside",
                compressed_frame(OpCode::Text, true, &bad_text),
                WsError::Protocol(ProtocolViolation::InvalidUtf8),
                1007,
            ),
        ];
        for (name, wire, error, code) in cases {
            let mut c = deflate_conn(4096, None);
            let got = feed(&mut c, &wire).unwrap_err();
            match (&got, &error) {
                (WsError::LimitExceeded { len, max, .. }, WsError::LimitExceeded { max: want, .. }) => {
                    assert!(*len > 4096 && max == want, "{name}: {got:?}")
                }
                _ => assert_eq!(got, error, "{name}"),
            }
            assert_eq!(got.close_code(), Some(CloseCode(code)), "{name}");
            assert_eq!(transmitted(&mut c)[0].1, close_payload(code, b""), "{name}");
        }
    }
}

#[test]
fn huge_durations_mean_no_deadline() {
    let t0 = Instant::now();
    let config = Config {
        close_timeout: Duration::MAX,
        keepalive: Some(Keepalive {
            interval: Duration::MAX,
            timeout: Duration::MAX,
        }),
        ..Config::default()
    };
    let mut c = conn_with(config, t0);
    assert_eq!(c.poll_timeout(), None);
    c.close(t0, CloseCode::NORMAL, "").unwrap();
    assert_eq!(c.poll_timeout(), None);
    assert_eq!(tick(&mut c, t0 + Duration::from_secs(1 << 20)), Ok(()));
}

#[test]
fn handshake_then_leftover_bytes_feed_the_connection() {
    use crate::ws::{ClientHandshake, DeflateOffer};
    use http::{HeaderMap, HeaderValue, StatusCode};

    let handshake = ClientHandshake::new("h", "/", [3; 16])
        .protocols(["v5.channel.k8s.io"])
        .permessage_deflate(DeflateOffer::default());
    let mut headers = HeaderMap::new();
    headers.insert("upgrade", HeaderValue::from_static("websocket"));
    headers.insert("connection", HeaderValue::from_static("upgrade"));
    headers.insert(
        "sec-websocket-accept",
        handshake.expected_accept().parse().unwrap(),
    );
    headers.insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("v5.channel.k8s.io"),
    );
    headers.insert(
        "sec-websocket-extensions",
        HeaderValue::from_static("permessage-deflate; client_no_context_takeover"),
    );
    let negotiated = handshake
        .check_response(StatusCode::SWITCHING_PROTOCOLS, &headers)
        .unwrap();
    let config = Config {
        deflate: negotiated.deflate,
        ..Config::default()
    };
    let mut c = conn_with(config, Instant::now());
    // The server's first message arrived in the same read as the 101 head.
    let leftover = server_frame(OpCode::Binary, true, &[1]);
    feed(&mut c, &leftover).unwrap();
    assert_eq!(events(&mut c), [WsEvent::Message(Message::Binary(vec![1]))]);
    c.send_binary(&[0; 64]).unwrap();
    assert_eq!(transmitted(&mut c)[0].0.rsv, 0b100, "compressed");
}

#[test]
fn a_ping_flood_is_answered_once_per_transmit() {
    let mut wire = Vec::new();
    for i in 0..100u8 {
        wire.extend(server_frame(OpCode::Ping, true, &[i]));
    }
    let mut c = conn();
    feed(&mut c, &wire).unwrap();
    assert_eq!(events(&mut c).len(), 100);
    let pongs = transmitted(&mut c);
    assert_eq!(pongs.len(), 1);
    assert_eq!(pongs[0].1, [99]);
}

#[test]
fn a_pending_pong_is_sent_before_our_close_reply() {
    let mut wire = server_frame(OpCode::Ping, true, b"p");
    wire.extend(server_frame(OpCode::Close, true, &close_payload(1000, b"")));
    let mut c = conn();
    feed(&mut c, &wire).unwrap();
    let sent = transmitted(&mut c);
    let opcodes: Vec<_> = sent.iter().map(|(h, _)| h.opcode).collect();
    assert_eq!(opcodes, [OpCode::Pong, OpCode::Close]);
}

#[test]
fn no_pong_after_eof() {
    let mut c = conn();
    feed(&mut c, &server_frame(OpCode::Ping, true, b"p")).unwrap();
    assert_eq!(eof(&mut c), Err(WsError::UnexpectedEof));
    assert!(c.poll_transmit().is_none());
}

#[test]
fn handle_some_bytes_stops_after_each_event() {
    let mut wire = server_frame(OpCode::Text, true, b"first");
    let first_len = wire.len();
    wire.extend(server_frame(OpCode::Ping, true, b"p"));
    // A reserved opcode: fails the connection once it is looked at.
    wire.extend([0x83, 0x00]);
    let mut c = conn();
    assert_eq!(feed_some(&mut c, &wire), Ok(first_len));
    assert_eq!(events(&mut c), [WsEvent::Message(Message::Text("first".into()))]);
    // The caller can still answer the message: the failure has not been seen yet.
    c.send_text("first").unwrap();
    let used = feed_some(&mut c, &wire[first_len..]).unwrap();
    assert_eq!(events(&mut c), [WsEvent::Ping(b"p".to_vec())]);
    assert!(feed_some(&mut c, &wire[first_len + used..]).is_err());
    let opcodes: Vec<_> = transmitted(&mut c).iter().map(|(h, _)| h.opcode).collect();
    assert_eq!(opcodes, [OpCode::Text, OpCode::Pong, OpCode::Close]);
}

#[test]
fn handle_some_bytes_without_events_uses_everything() {
    let wire = server_frame(OpCode::Binary, false, &[7; 300]);
    let mut c = conn();
    // A partial message is consumed whole, and byte at a time too.
    assert_eq!(feed_some(&mut c, &wire[..10]), Ok(10));
    for byte in &wire[10..] {
        assert_eq!(feed_some(&mut c, std::slice::from_ref(byte)), Ok(1));
    }
    assert_eq!(feed_some(&mut c, &[]), Ok(0));
    assert!(events(&mut c).is_empty());
}

/// Keys `[1; 4]`, `[2; 4]`, ... until `left` of them were handed out; then the random
/// generator behind it has failed.
struct FailingKeys {
    left: u8,
    handed_out: u8,
}

impl MaskKeys for FailingKeys {
    fn next_key(&mut self) -> Result<[u8; 4], MaskKeyError> {
        if self.left == 0 {
            return Err(MaskKeyError::new("entropy source unavailable"));
        }
        self.left -= 1;
        self.handed_out += 1;
        Ok([self.handed_out; 4])
    }
}

fn conn_with_keys(config: Config, keys: u8, now: Instant) -> Connection {
    let keys = FailingKeys {
        left: keys,
        handed_out: 0,
    };
    Connection::new(config, keys, now)
}

fn no_key() -> MaskKeyError {
    MaskKeyError::new("entropy source unavailable")
}

#[test]
fn a_verb_without_a_mask_key_fails_the_connection_and_sends_nothing_of_it() {
    let config = Config {
        fragment_size: Some(2),
        ..Config::default()
    };
    let mut c = conn_with_keys(config, 3, Instant::now());
    c.send_text("a").unwrap();
    // Three fragments, two keys left: none of the message goes out.
    assert_eq!(c.send_text("abcde"), Err(WsSendError::MaskKey(no_key())));
    assert!(c.is_closed() && !c.is_open());
    let sent = transmitted(&mut c);
    assert_eq!(sent.len(), 1, "only the message sent before: {sent:?}");
    assert_eq!((sent[0].0.mask, sent[0].1.as_slice()), (Some([1; 4]), &b"a"[..]));
    assert_eq!(c.send_text("b"), Err(WsSendError::Closed));
    assert_eq!(eof(&mut c), Ok(()), "already failed");

    for verb in [
        |c: &mut Connection| c.send_binary(b"x"),
        |c: &mut Connection| c.send_ping(b"x"),
        |c: &mut Connection| c.close(Instant::now(), CloseCode::NORMAL, "bye"),
    ] {
        let mut c = conn_with_keys(Config::default(), 0, Instant::now());
        assert_eq!(verb(&mut c), Err(WsSendError::MaskKey(no_key())));
        assert!(c.is_closed());
        assert!(c.poll_transmit().is_none(), "nothing masked with a made-up key");
        assert_eq!(c.poll_timeout(), None);
    }
    let err = WsSendError::MaskKey(no_key());
    assert_eq!(
        err.to_string(),
        "the connection failed: no random masking key: entropy source unavailable"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn frames_the_machine_sends_itself_fail_the_connection_without_a_mask_key() {
    let t0 = Instant::now();
    let ping = server_frame(OpCode::Ping, true, b"p");
    let close = server_frame(OpCode::Close, true, &close_payload(1000, b""));
    // The pong, and the answer to the server's close, fail handle_bytes.
    for frame in [&ping, &close] {
        let mut c = conn_with_keys(Config::default(), 0, t0);
        assert_eq!(feed(&mut c, frame), Err(WsError::MaskKey(no_key())));
        assert!(c.is_closed());
        assert!(c.poll_transmit().is_none());
        assert!(events(&mut c).is_empty());
    }
    // A pong keeps the key drawn for it when the ping arrived.
    let mut c = conn_with_keys(Config::default(), 1, t0);
    feed(&mut c, &ping).unwrap();
    let pong = transmitted(&mut c);
    assert_eq!((pong[0].0.opcode, pong[0].0.mask), (OpCode::Pong, Some([1; 4])));
    // A keepalive ping fails handle_timeout.
    let config = Config {
        keepalive: Some(Keepalive {
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
        }),
        ..Config::default()
    };
    let mut c = conn_with_keys(config, 0, t0);
    let err = tick(&mut c, t0 + Duration::from_secs(5)).unwrap_err();
    assert_eq!(err, WsError::MaskKey(no_key()));
    assert_eq!(err.close_code(), None, "a close frame would need a key too");
    assert_eq!(
        err.to_string(),
        "cannot send: no random masking key: entropy source unavailable"
    );
    assert!(c.is_closed() && c.poll_transmit().is_none());
    // A protocol error still reports itself when its close frame finds no key.
    let mut c = conn_with_keys(Config::default(), 0, t0);
    assert!(matches!(
        feed(&mut c, &[0x83, 0x00]),
        Err(WsError::Protocol(ProtocolViolation::Frame(_)))
    ));
    assert!(c.is_closed() && c.poll_transmit().is_none());
}
