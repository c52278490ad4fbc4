//! klient's blocking WebSocket client against two independent servers, Python `websockets` and
//! Node `ws`: echoes at every frame-length boundary up to 16 MiB (byte-exact), fragmented
//! messages, ping/pong, closing from either side, and permessage-deflate.

use klient_blocking::websocket::{CloseFrame, DeflateOffer, Message, Options, WebSocket};
use klient_e2e::{EchoImpl, EchoServer};
use std::net::TcpStream;

/// Payload lengths around each frame-length encoding (7-bit, 16-bit, 64-bit) and large ones.
const SIZES: [usize; 7] = [0, 1, 125, 126, 64 << 10, 1 << 20, 16 << 20];

/// Bytes that differ at every position modulo 251, so a shifted or dropped byte shows.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

/// ASCII text of `len` bytes with the same property.
fn text(len: usize) -> String {
    (0..len).map(|i| char::from(b'a' + (i % 26) as u8)).collect()
}

fn connect(server: &EchoServer, options: Options) -> WebSocket<TcpStream> {
    WebSocket::connect(&server.url("/"), options).unwrap_or_else(|e| panic!("connect: {e}"))
}

/// Reads the next data message, skipping pings and pongs.
fn next_message(ws: &mut WebSocket<TcpStream>) -> Message {
    loop {
        match ws.read().unwrap_or_else(|e| panic!("read: {e}")) {
            Message::Ping(_) | Message::Pong(_) => continue,
            other => return other,
        }
    }
}

fn echo_sizes(server: &EchoServer, options: Options, sizes: &[usize]) {
    let mut ws = connect(server, options);
    for &len in sizes {
        let data = pattern(len, len as u8);
        ws.send_binary(&data).unwrap();
        match next_message(&mut ws) {
            Message::Binary(got) => assert!(got == data, "binary echo of {len} bytes differs"),
            other => panic!("binary echo of {len} bytes: got {:?}", kind(&other)),
        }
        let sent = text(len);
        ws.send_text(&sent).unwrap();
        match next_message(&mut ws) {
            Message::Text(got) => assert!(got == sent, "text echo of {len} bytes differs"),
            other => panic!("text echo of {len} bytes: got {:?}", kind(&other)),
        }
    }
    close_by_client(ws);
}

fn kind(message: &Message) -> String {
    match message {
        Message::Text(t) => format!("Text({} bytes)", t.len()),
        Message::Binary(b) => format!("Binary({} bytes)", b.len()),
        other => format!("{other:?}"),
    }
}

fn close_by_client(mut ws: WebSocket<TcpStream>) {
    ws.close(1000, "done").unwrap();
    // Servers may or may not repeat our reason; the code must come back.
    match next_message(&mut ws) {
        Message::Close(Some(frame)) => assert_eq!(frame.code, 1000),
        other => panic!("expected the server's close, got {other:?}"),
    }
    assert!(ws.read().is_err(), "read after the close handshake must fail");
}

fn fragmented(server: &EchoServer) {
    let mut options = Options::default();
    options.config.fragment_size = Some(1000);
    let mut ws = connect(server, options);
    let data = pattern(10_500, 7);
    ws.send_binary(&data).unwrap();
    assert_eq!(next_message(&mut ws), Message::Binary(data));
    // Fragment boundaries fall inside multi-byte characters: the server must reassemble first.
    let sent = "żółw🐢".repeat(400);
    ws.send_text(&sent).unwrap();
    assert_eq!(next_message(&mut ws), Message::Text(sent));
    close_by_client(ws);
}

fn ping_pong(server: &EchoServer) {
    let mut ws = connect(server, Options::default());
    for payload in [&b""[..], b"x", &[0xA5; 125]] {
        ws.send_ping(payload).unwrap();
        loop {
            match ws.read().unwrap() {
                Message::Pong(got) => {
                    assert_eq!(got, payload);
                    break;
                }
                Message::Ping(_) => continue,
                other => panic!("expected a pong, got {other:?}"),
            }
        }
    }
    close_by_client(ws);
}

fn close_by_server(server: &EchoServer) {
    let mut ws = connect(server, Options::default());
    ws.send_text("before").unwrap();
    assert_eq!(next_message(&mut ws), Message::Text("before".into()));
    ws.send_text("close:4000").unwrap();
    assert_eq!(
        next_message(&mut ws),
        Message::Close(Some(CloseFrame {
            code: 4000,
            reason: "asked to close".into()
        }))
    );
    assert!(ws.read().is_err(), "read after the close handshake must fail");
    assert!(
        ws.send_text("late").is_err(),
        "send after the close handshake must fail"
    );
}

fn deflate(server: &EchoServer) {
    let options = Options {
        deflate: Some(DeflateOffer::default()),
        ..Options::default()
    };
    let ws = connect(server, options.clone());
    assert!(
        ws.negotiated().deflate.is_some(),
        "server declined permessage-deflate"
    );
    drop(ws);
    // Context takeover across messages: repeated payloads compress against earlier ones.
    echo_sizes(server, options, &[0, 1, 125, 126, 64 << 10, 1 << 20, 64 << 10]);
}

fn all(which: EchoImpl) {
    let server = EchoServer::start(which);
    echo_sizes(&server, Options::default(), &SIZES);
    fragmented(&server);
    ping_pong(&server);
    close_by_server(&server);
    deflate(&server);
}

#[test]
fn python_websockets() {
    all(EchoImpl::PythonWebsockets);
}

#[test]
fn node_ws() {
    all(EchoImpl::NodeWs);
}
