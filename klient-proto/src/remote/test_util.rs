//! A scripted server for the session tests: the 101 response, unmasked frames, and a reader of
//! what the client wrote.

use std::time::Instant;

use http::Method;

use crate::http::{HttpEvent, Limits, Progress, ResponseDecoder};
use crate::ws::frame::{FrameHeader, OpCode};
use crate::ws::mask::apply_mask;
use crate::ws::{ClientHandshake, Config, Connection};

/// A server frame: unmasked, FIN set.
pub(crate) fn frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    FrameHeader {
        fin: true,
        rsv: 0,
        opcode,
        mask: None,
        payload_len: payload.len() as u64,
    }
    .write(&mut out);
    out.extend_from_slice(payload);
    out
}

/// A binary message on `channel`.
pub(crate) fn on_channel(channel: u8, data: &[u8]) -> Vec<u8> {
    let mut payload = vec![channel];
    payload.extend_from_slice(data);
    frame(OpCode::Binary, &payload)
}

/// A close frame with a code and no reason.
pub(crate) fn close(code: u16) -> Vec<u8> {
    frame(OpCode::Close, &code.to_be_bytes())
}

/// Runs the opening handshake against a scripted 101 choosing `protocol`, with `after` sent in
/// the same read as the head. Returns the connection, the negotiated protocol and the leftover
/// bytes the session must be fed first.
pub(crate) fn upgrade(
    handshake: &ClientHandshake,
    protocol: Option<&str>,
    after: &[u8],
) -> (Connection, Option<String>, Vec<u8>) {
    let request = handshake.request().unwrap();
    assert_eq!(request.method(), Method::GET);
    let mut response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n",
        handshake.expected_accept()
    );
    if let Some(p) = protocol {
        response.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    response.push_str("\r\n");
    let mut wire = response.into_bytes();
    wire.extend_from_slice(after);

    let mut decoder = ResponseDecoder::new(&Method::GET, Limits::default()).with_upgrade();
    // Byte at a time, as a slow network would deliver it.
    let mut upgraded = None;
    for (i, byte) in wire.iter().enumerate() {
        decoder.handle_bytes(std::slice::from_ref(byte));
        if let Progress::Event(HttpEvent::Upgraded { head, leftover }) = decoder.poll_event().unwrap() {
            // The decoder's leftover, then what it was never fed.
            let mut rest = leftover.to_vec();
            rest.extend_from_slice(&wire[i + 1..]);
            upgraded = Some((head, rest));
            break;
        }
    }
    let (head, rest) = upgraded.expect("a 101");
    let negotiated = handshake.check_response(head.status, &head.headers).unwrap();
    let conn = Connection::new(Config::default(), || [0x5A, 0xA5, 0x0F, 0xF0], Instant::now());
    (conn, negotiated.protocol, rest)
}

/// What the client wrote, as (opcode, unmasked payload) per frame; every frame must be masked.
pub(crate) fn client_frames(mut wire: &[u8]) -> Vec<(OpCode, Vec<u8>)> {
    let mut frames = Vec::new();
    while !wire.is_empty() {
        let (header, len) = FrameHeader::parse(wire).unwrap().unwrap();
        let key = header.mask.expect("client frames are masked");
        assert!(header.fin);
        let end = len + header.payload_len as usize;
        let mut payload = wire[len..end].to_vec();
        apply_mask(&mut payload, key, 0);
        frames.push((header.opcode, payload));
        wire = &wire[end..];
    }
    frames
}
