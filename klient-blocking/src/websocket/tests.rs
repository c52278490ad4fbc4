//! The driver against a scripted in-memory server.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::time::Duration;

use base64::Engine as _;

use super::*;

/// What the fake server does on one read.
enum Step {
    /// The 101 answer to the request written so far, followed by these bytes.
    Accept(Vec<u8>),
    Bytes(Vec<u8>),
    /// Waits this long, then reports a read timeout.
    Timeout(Duration),
}

#[derive(Default)]
struct Fake {
    steps: VecDeque<Step>,
    written: Vec<u8>,
    timeouts: Vec<Option<Duration>>,
}

impl Read for Fake {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let bytes = match self.steps.pop_front() {
            None => return Ok(0),
            Some(Step::Timeout(d)) => {
                std::thread::sleep(d);
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Some(Step::Bytes(b)) => b,
            Some(Step::Accept(rest)) => {
                let request = String::from_utf8_lossy(&self.written).into_owned();
                let key = request
                    .lines()
                    .find_map(|l| l.strip_prefix("sec-websocket-key: "))
                    .expect("request has a key");
                let mut sha = sha1_smol::Sha1::new();
                sha.update(key.as_bytes());
                sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
                let accept = base64::engine::general_purpose::STANDARD.encode(sha.digest().bytes());
                let mut b = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                     Sec-WebSocket-Accept: {accept}\r\n\r\n"
                )
                .into_bytes();
                b.extend(rest);
                b
            }
        };
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        if n < bytes.len() {
            self.steps.push_front(Step::Bytes(bytes[n..].to_vec()));
        }
        Ok(n)
    }
}

impl Write for Fake {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Fake {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.push(timeout);
        Ok(())
    }
}

/// An unmasked server frame with a short payload.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut f = vec![0x80 | opcode, payload.len() as u8];
    f.extend_from_slice(payload);
    f
}

/// The client frames written after the handshake, unmasked: (opcode, payload).
fn client_frames(written: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let start = written.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut rest = &written[start..];
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let len = usize::from(rest[1] & 0x7f);
        assert!(len < 126, "test frames are short");
        let key = [rest[2], rest[3], rest[4], rest[5]];
        let payload = rest[6..6 + len]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ key[i % 4])
            .collect();
        frames.push((rest[0] & 0x0f, payload));
        rest = &rest[6 + len..];
    }
    frames
}

fn open(steps: Vec<Step>, options: Options) -> WebSocket<Fake> {
    let fake = Fake {
        steps: steps.into(),
        ..Fake::default()
    };
    WebSocket::client(fake, "example.com", "/chat", options).unwrap()
}

#[test]
fn frames_right_behind_the_101_are_delivered() {
    let mut ws = open(vec![Step::Accept(frame(1, b"hi"))], Options::default());
    assert_eq!(ws.read().unwrap(), Message::Text("hi".into()));
    let request = String::from_utf8_lossy(&ws.get_ref().written).into_owned();
    assert!(
        request.starts_with("GET /chat HTTP/1.1\r\nHost: example.com\r\n"),
        "{request}"
    );
}

#[test]
fn ping_is_answered_and_server_close_completes() {
    let mut close = 1000u16.to_be_bytes().to_vec();
    close.extend_from_slice(b"bye");
    let mut ws = open(
        vec![Step::Accept(frame(9, b"p")), Step::Bytes(frame(8, &close))],
        Options::default(),
    );
    assert_eq!(ws.read().unwrap(), Message::Ping(b"p".to_vec()));
    assert_eq!(client_frames(&ws.get_ref().written), [(0xA, b"p".to_vec())]);
    let expected = CloseFrame {
        code: 1000,
        reason: "bye".into(),
    };
    assert_eq!(ws.read().unwrap(), Message::Close(Some(expected)));
    let frames = client_frames(&ws.get_ref().written);
    assert_eq!(frames[1], (8, 1000u16.to_be_bytes().to_vec()));
    assert!(matches!(ws.read(), Err(Error::AlreadyClosed)));
    assert!(matches!(
        ws.send_text("late"),
        Err(Error::Send(WsSendError::Closed))
    ));
}

#[test]
fn a_message_before_a_bad_frame_can_be_answered_first() {
    let mut wire = frame(1, b"a");
    wire.extend([0x83, 0x00]); // reserved opcode
    let mut ws = open(vec![Step::Accept(wire)], Options::default());
    assert_eq!(ws.read().unwrap(), Message::Text("a".into()));
    ws.send_text("a").unwrap();
    assert!(matches!(ws.read(), Err(Error::Failed(WsError::Protocol(_)))));
    let frames = client_frames(&ws.get_ref().written);
    assert_eq!(frames, [(1, b"a".to_vec()), (8, 1002u16.to_be_bytes().to_vec())]);
    assert!(matches!(ws.read(), Err(Error::AlreadyClosed)));
}

#[test]
fn keepalive_pings_when_the_read_times_out() {
    let mut options = Options::default();
    options.config.keepalive = Some(Keepalive {
        interval: Duration::from_millis(20),
        timeout: Duration::from_secs(5),
    });
    let steps = vec![
        Step::Accept(Vec::new()),
        Step::Timeout(Duration::from_millis(30)),
        Step::Bytes(frame(0xA, b"")),
    ];
    let mut ws = open(steps, options);
    assert_eq!(ws.read().unwrap(), Message::Pong(Vec::new()));
    assert_eq!(client_frames(&ws.get_ref().written), [(9, Vec::new())]);
    // The read was armed with the keepalive deadline, not left to block forever.
    let armed = ws.get_ref().timeouts.last().copied().flatten().unwrap();
    assert!(armed <= Duration::from_secs(5), "{armed:?}");
}

#[test]
fn eof_before_the_close_handshake_is_an_error() {
    let mut ws = open(vec![Step::Accept(Vec::new())], Options::default());
    assert!(matches!(ws.read(), Err(Error::Failed(WsError::UnexpectedEof))));
}

#[test]
fn refused_upgrade_reports_the_status_and_body() {
    let status = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403}"#;
    let mut answer = format!(
        "HTTP/1.1 403 Forbidden\r\nContent-Length: {}\r\n\r\n",
        status.len()
    )
    .into_bytes();
    answer.extend_from_slice(status);
    let fake = Fake {
        // The body arrives in a second read.
        steps: vec![
            Step::Bytes(answer[..answer.len() - 10].to_vec()),
            Step::Bytes(answer[answer.len() - 10..].to_vec()),
        ]
        .into(),
        ..Fake::default()
    };
    let err = WebSocket::client(fake, "h", "/", Options::default()).unwrap_err();
    assert!(
        matches!(&err, Error::Refused { status: s, body } if *s == 403 && body[..] == status[..]),
        "{err}"
    );
    let fake = Fake {
        steps: vec![Step::Timeout(Duration::ZERO)].into(),
        ..Fake::default()
    };
    let options = Options {
        handshake_timeout: Duration::from_millis(5),
        ..Options::default()
    };
    assert!(matches!(
        WebSocket::client(fake, "h", "/", options),
        Err(Error::HandshakeTimeout { after }) if after == Duration::from_millis(5)
    ));
    let fake = Fake::default();
    assert!(matches!(
        WebSocket::client(fake, "h", "/", Options::default()),
        Err(Error::HandshakeEof)
    ));
}

#[test]
fn connect_rejects_wss_and_bad_urls_before_connecting() {
    assert!(matches!(
        WebSocket::connect("wss://example.com/", Options::default()),
        Err(Error::InvalidUrl(_))
    ));
    assert!(matches!(
        WebSocket::connect("ws://:80/", Options::default()),
        Err(Error::InvalidUrl(_))
    ));
}
