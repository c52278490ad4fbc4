use std::time::Duration;

use super::*;
use crate::spdy::frame::{self, FLAG_FIN, Frame, FrameDecoder, FrameEncoder, FrameLimits};

/// The kubelet's end of the session.
struct Kubelet {
    encoder: FrameEncoder,
    decoder: FrameDecoder,
    /// Over the tunnel: the WebSocket bytes not yet unframed.
    ws_pending: Vec<u8>,
    over_ws: bool,
}

impl Kubelet {
    fn new(over_ws: bool) -> Self {
        Self {
            encoder: FrameEncoder::new(),
            decoder: FrameDecoder::new(FrameLimits::default()),
            ws_pending: Vec::new(),
            over_ws,
        }
    }

    /// Everything the tunnel wrote, as SPDY frames.
    fn receive(&mut self, tunnel: &mut PortTunnel) -> Vec<Frame> {
        while let Some(bytes) = tunnel.poll_transmit() {
            if self.over_ws {
                self.ws_pending.extend_from_slice(&bytes);
                while let Some(payload) = unframe_client_message(&mut self.ws_pending) {
                    self.decoder.push(&payload);
                }
            } else {
                self.decoder.push(&bytes);
            }
        }
        let mut frames = Vec::new();
        while let Some(frame) = self.decoder.next_frame().unwrap() {
            frames.push(frame);
        }
        frames
    }

    /// Sends SPDY bytes to the tunnel, in WebSocket messages of `piece` bytes when tunnelled.
    fn send(&self, tunnel: &mut PortTunnel, spdy: &[u8], piece: usize) {
        if self.over_ws {
            for chunk in spdy.chunks(piece) {
                tunnel.handle_bytes(&server_message(0x2, chunk));
            }
        } else {
            for chunk in spdy.chunks(piece) {
                tunnel.handle_bytes(chunk);
            }
        }
    }
}

/// An unmasked server frame with FIN set.
fn server_message(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= 0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// Takes one whole masked client frame off the front of `wire` and returns its payload.
fn unframe_client_message(wire: &mut Vec<u8>) -> Option<Vec<u8>> {
    if wire.len() < 2 {
        return None;
    }
    let (len, mut at) = match wire[1] & 0x7F {
        126 => (u16::from_be_bytes([wire[2], wire[3]]) as usize, 4),
        127 => (u64::from_be_bytes(wire[2..10].try_into().unwrap()) as usize, 10),
        n => (n as usize, 2),
    };
    assert_eq!(wire[1] & 0x80, 0x80, "client frames are masked");
    if wire.len() < at + 4 + len {
        return None;
    }
    let mask = [wire[at], wire[at + 1], wire[at + 2], wire[at + 3]];
    at += 4;
    let payload: Vec<u8> = wire[at..at + len]
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ mask[i % 4])
        .collect();
    let opcode = wire[0] & 0x0F;
    wire.drain(..at + len);
    (opcode == 0x2).then_some(payload)
}

fn quiet() -> SessionConfig {
    SessionConfig {
        ping_interval: None,
        ..SessionConfig::default()
    }
}

fn tunnel(over_ws: bool, config: SessionConfig, now: Instant) -> PortTunnel {
    if over_ws {
        PortTunnel::over_websocket(
            Connection::new(tunnel_ws_config(), || [9, 8, 7, 6], now),
            config,
            now,
        )
    } else {
        PortTunnel::direct(config, now)
    }
}

fn events(tunnel: &mut PortTunnel) -> Vec<TunnelEvent> {
    let mut out = Vec::new();
    while let Ok(Progress::Event(event)) = tunnel.poll_event() {
        out.push(event);
    }
    out
}

/// The kubelet's reply to both streams of a connection opened first on a fresh session.
fn replies(kubelet: &mut Kubelet, streams: &[StreamId]) -> Vec<u8> {
    let mut wire = Vec::new();
    for &stream in streams {
        kubelet
            .encoder
            .syn_reply(&mut wire, stream, false, &Headers::new());
    }
    wire
}

fn a_connection_opens_two_streams_and_carries_bytes_and_half_closes(over_ws: bool) {
    let now = Instant::now();
    let mut tunnel = tunnel(over_ws, quiet(), now);
    let mut kubelet = Kubelet::new(over_ws);
    tunnel.command(TunnelCommand::Open { conn: 7, port: 8080 }, now);
    tunnel.command(TunnelCommand::Send(7, b"request".to_vec()), now);
    let frames = kubelet.receive(&mut tunnel);
    let header = |f: &Frame, name: &str| match f {
        Frame::SynStream { headers, .. } => headers.get(name).map(str::to_owned),
        _ => None,
    };
    assert!(
        matches!(
            frames[0],
            Frame::SynStream {
                stream_id: 1,
                flags: FLAG_FIN,
                ..
            }
        ),
        "{frames:?}"
    );
    assert!(
        matches!(
            frames[1],
            Frame::SynStream {
                stream_id: 3,
                flags: 0,
                ..
            }
        ),
        "{frames:?}"
    );
    assert_eq!(header(&frames[0], "streamtype").as_deref(), Some("error"));
    assert_eq!(header(&frames[1], "streamtype").as_deref(), Some("data"));
    for f in &frames[..2] {
        assert_eq!(header(f, "port").as_deref(), Some("8080"));
        assert_eq!(header(f, "requestid").as_deref(), Some("7"));
    }
    assert_eq!(
        frames[2],
        Frame::Data {
            stream_id: 3,
            fin: false,
            data: Bytes::from_static(b"request")
        }
    );

    let mut wire = replies(&mut kubelet, &[1, 3]);
    frame::data(&mut wire, 3, b"response", false);
    frame::data(&mut wire, 3, b"", true);
    kubelet.send(&mut tunnel, &wire, 3);
    assert_eq!(
        events(&mut tunnel),
        [
            TunnelEvent::Data(7, Bytes::from_static(b"response")),
            TunnelEvent::Eof(7)
        ]
    );
    // Half-closed by the pod, the connection still carries bytes to it.
    tunnel.command(TunnelCommand::Send(7, b"more".to_vec()), now);
    tunnel.command(TunnelCommand::CloseWrite(7), now);
    assert_eq!(
        kubelet.receive(&mut tunnel),
        [
            Frame::Data {
                stream_id: 3,
                fin: false,
                data: Bytes::from_static(b"more")
            },
            Frame::Data {
                stream_id: 3,
                fin: true,
                data: Bytes::new()
            },
        ]
    );
    assert_eq!(tunnel.open_connections(), 1, "the error stream is still open");
    let mut wire = Vec::new();
    frame::data(&mut wire, 1, b"", true);
    kubelet.send(&mut tunnel, &wire, 100);
    assert_eq!(events(&mut tunnel), [TunnelEvent::Closed(7)]);
    assert_eq!(tunnel.open_connections(), 0);
    // The id can be used again.
    tunnel.command(TunnelCommand::Open { conn: 7, port: 8080 }, now);
    assert!(matches!(
        kubelet.receive(&mut tunnel)[..],
        [
            Frame::SynStream { stream_id: 5, .. },
            Frame::SynStream { stream_id: 7, .. }
        ]
    ));
}

#[test]
fn a_connection_carries_bytes_and_half_closes_directly_on_spdy() {
    a_connection_opens_two_streams_and_carries_bytes_and_half_closes(false);
}

#[test]
fn a_connection_carries_bytes_and_half_closes_through_the_tunnel_split_anywhere() {
    a_connection_opens_two_streams_and_carries_bytes_and_half_closes(true);
}

#[test]
fn the_kubelets_error_text_fails_that_connection_only() {
    let now = Instant::now();
    let mut tunnel = tunnel(true, quiet(), now);
    let mut kubelet = Kubelet::new(true);
    tunnel.command(TunnelCommand::Open { conn: 0, port: 81 }, now);
    tunnel.command(TunnelCommand::Open { conn: 1, port: 80 }, now);
    kubelet.receive(&mut tunnel);
    let mut wire = replies(&mut kubelet, &[1, 3, 5, 7]);
    frame::data(&mut wire, 1, b"error forwarding port 81: connection ", false);
    frame::data(&mut wire, 1, b"refused", true);
    frame::data(&mut wire, 7, b"fine", false);
    kubelet.send(&mut tunnel, &wire, 1000);
    assert_eq!(
        events(&mut tunnel),
        [
            TunnelEvent::Failed(0, "error forwarding port 81: connection refused".into()),
            TunnelEvent::Closed(0),
            TunnelEvent::Data(1, Bytes::from_static(b"fine")),
        ]
    );
    // The failed connection's data stream is reset; the other goes on.
    assert_eq!(
        kubelet.receive(&mut tunnel),
        [Frame::RstStream {
            stream_id: 3,
            status: rst::CANCEL
        }]
    );
    tunnel.command(TunnelCommand::Send(1, b"still".to_vec()), now);
    tunnel.command(TunnelCommand::Send(0, b"dropped".to_vec()), now);
    assert_eq!(
        kubelet.receive(&mut tunnel),
        [Frame::Data {
            stream_id: 7,
            fin: false,
            data: Bytes::from_static(b"still")
        }]
    );
}

/// A kubelet that cannot reach the port writes why on the error stream and resets both streams
/// (k8s.io/cri-streaming's port-forward handler), or resets the data stream first and ends the
/// error stream later: either way the reason is what the connection fails with, not the reset.
#[test]
fn the_kubelets_reason_is_the_failure_whatever_resets_come_with_it() {
    const WHY: &[u8] = b"error forwarding port 81: connection refused";
    type Script = fn(&mut Vec<u8>);
    let scripts: [(&str, Script, Script); 2] = [
        (
            "text, then both streams reset",
            |w| {
                frame::data(w, 1, WHY, false);
                frame::rst_stream(w, 3, rst::CANCEL);
            },
            |w| frame::rst_stream(w, 1, rst::CANCEL),
        ),
        (
            "data stream reset, then text and the error stream's end",
            |w| frame::rst_stream(w, 3, rst::CANCEL),
            |w| frame::data(w, 1, WHY, true),
        ),
    ];
    for (what, first, last) in scripts {
        let now = Instant::now();
        let mut tunnel = tunnel(true, quiet(), now);
        let mut kubelet = Kubelet::new(true);
        tunnel.command(TunnelCommand::Open { conn: 0, port: 81 }, now);
        kubelet.receive(&mut tunnel);
        let mut wire = replies(&mut kubelet, &[1, 3]);
        first(&mut wire);
        kubelet.send(&mut tunnel, &wire, 1000);
        assert_eq!(events(&mut tunnel), [], "{what}: the error stream decides");
        let mut wire = Vec::new();
        last(&mut wire);
        kubelet.send(&mut tunnel, &wire, 7);
        assert_eq!(
            events(&mut tunnel),
            [
                TunnelEvent::Failed(0, String::from_utf8(WHY.to_vec()).unwrap()),
                TunnelEvent::Closed(0),
            ],
            "{what}"
        );
        assert_eq!(
            kubelet.receive(&mut tunnel),
            [],
            "{what}: both streams were over already"
        );
        assert_eq!(tunnel.open_connections(), 0, "{what}");
    }
}

#[test]
fn many_connections_share_one_session_and_keep_their_bytes_apart() {
    let now = Instant::now();
    let mut tunnel = tunnel(true, quiet(), now);
    let mut kubelet = Kubelet::new(true);
    for conn in 0..100 {
        tunnel.command(TunnelCommand::Open { conn, port: 9000 }, now);
        tunnel.command(TunnelCommand::Send(conn, format!("to {conn}").into_bytes()), now);
    }
    let frames = kubelet.receive(&mut tunnel);
    let mut wire = Vec::new();
    let mut data_streams = Vec::new();
    for f in &frames {
        match f {
            Frame::SynStream {
                stream_id, headers, ..
            } if headers.get("streamtype") == Some("data") => {
                kubelet
                    .encoder
                    .syn_reply(&mut wire, *stream_id, false, &Headers::new());
                data_streams.push((
                    *stream_id,
                    headers.get("requestid").unwrap().parse::<u32>().unwrap(),
                ));
            }
            Frame::Data { stream_id, data, .. } => {
                let conn = data_streams.iter().find(|(s, _)| s == stream_id).unwrap().1;
                assert_eq!(data, format!("to {conn}").as_bytes());
                frame::data(&mut wire, *stream_id, format!("from {conn}").as_bytes(), true);
            }
            _ => {}
        }
    }
    assert_eq!(data_streams.len(), 100);
    kubelet.send(&mut tunnel, &wire, 7);
    let got = events(&mut tunnel);
    for conn in 0..100u32 {
        let data = TunnelEvent::Data(conn, Bytes::from(format!("from {conn}").into_bytes()));
        let at = got
            .iter()
            .position(|e| *e == data)
            .unwrap_or_else(|| panic!("{conn}: {got:?}"));
        assert_eq!(got[at + 1], TunnelEvent::Eof(conn));
    }
}

#[test]
fn a_reset_from_the_kubelet_ends_the_connection_and_a_caller_reset_cancels_both_streams() {
    let now = Instant::now();
    let mut tunnel = tunnel(false, quiet(), now);
    let mut kubelet = Kubelet::new(false);
    tunnel.command(TunnelCommand::Open { conn: 1, port: 80 }, now);
    tunnel.command(TunnelCommand::Open { conn: 2, port: 80 }, now);
    kubelet.receive(&mut tunnel);
    let mut wire = Vec::new();
    frame::rst_stream(&mut wire, 3, rst::INTERNAL_ERROR);
    kubelet.send(&mut tunnel, &wire, 100);
    // The reason, if any, would come on the error stream: its end decides.
    assert_eq!(events(&mut tunnel), []);
    tunnel.command(TunnelCommand::Send(1, b"dropped".to_vec()), now);
    assert_eq!(kubelet.receive(&mut tunnel), [], "the data stream is over");
    let mut wire = Vec::new();
    frame::data(&mut wire, 1, b"", true);
    kubelet.send(&mut tunnel, &wire, 100);
    assert_eq!(
        events(&mut tunnel),
        [TunnelEvent::Reset(1), TunnelEvent::Closed(1)]
    );
    assert_eq!(kubelet.receive(&mut tunnel), []);
    tunnel.command(TunnelCommand::Reset(2), now);
    assert_eq!(events(&mut tunnel), [TunnelEvent::Closed(2)]);
    assert_eq!(
        kubelet.receive(&mut tunnel),
        [
            Frame::RstStream {
                stream_id: 7,
                status: rst::CANCEL
            },
            Frame::RstStream {
                stream_id: 5,
                status: rst::CANCEL
            },
        ]
    );
}

#[test]
fn closing_resets_every_connection_then_goes_away_and_closes_the_websocket() {
    let now = Instant::now();
    let mut tunnel = tunnel(true, quiet(), now);
    let mut kubelet = Kubelet::new(true);
    tunnel.command(TunnelCommand::Open { conn: 1, port: 80 }, now);
    kubelet.receive(&mut tunnel);
    tunnel.command(TunnelCommand::Close, now);
    assert_eq!(events(&mut tunnel), [TunnelEvent::Closed(1)]);
    let mut wire = Vec::new();
    while let Some(bytes) = tunnel.poll_transmit() {
        wire.extend_from_slice(&bytes);
    }
    // Two resets and a GOAWAY in one binary message, then the close frame.
    let spdy = unframe_client_message(&mut wire).unwrap();
    assert_eq!(wire[0], 0x88, "a close frame follows");
    let mut decoder = FrameDecoder::new(FrameLimits::default());
    decoder.push(&spdy);
    let mut frames = Vec::new();
    while let Some(f) = decoder.next_frame().unwrap() {
        frames.push(f);
    }
    assert_eq!(frames.len(), 3);
    assert_eq!(
        frames[2],
        Frame::GoAway {
            last_good_stream_id: 0,
            status: 0
        }
    );
    tunnel.handle_bytes(&server_message(0x8, &[0x03, 0xE8]));
    assert_eq!(tunnel.poll_event(), Ok(Progress::Finished));
}

#[test]
fn a_text_message_or_broken_spdy_fails_the_tunnel() {
    let now = Instant::now();
    let mut t = tunnel(true, quiet(), now);
    t.handle_bytes(&server_message(0x1, b"hello"));
    assert_eq!(t.poll_event(), Err(PortTunnelError::TextMessage));

    let mut t = tunnel(true, quiet(), now);
    t.handle_bytes(&server_message(
        0x2,
        &[0x80, 0x02, 0x00, 0x06, 0, 0, 0, 4, 0, 0, 0, 1],
    ));
    assert_eq!(
        t.poll_event(),
        Err(PortTunnelError::Spdy(SpdyError::UnsupportedVersion(2)))
    );
    assert_eq!(
        t.poll_event().unwrap_err().io_error_kind(),
        std::io::ErrorKind::ConnectionAborted
    );
}

#[test]
fn a_kubelet_that_stops_answering_pings_fails_the_tunnel_in_time() {
    let start = Instant::now();
    let config = SessionConfig {
        ping_interval: Some(Duration::from_secs(10)),
        peer_timeout: Duration::from_secs(30),
        ..SessionConfig::default()
    };
    let mut t = tunnel(true, config, start);
    let mut kubelet = Kubelet::new(true);
    let mut now = start;
    let mut pings = 0;
    while let Some(at) = t.poll_timeout() {
        assert!(
            at <= start + Duration::from_secs(40),
            "still waiting at {:?}",
            at - start
        );
        now = at;
        t.handle_timeout(now);
        pings += kubelet
            .receive(&mut t)
            .iter()
            .filter(|f| matches!(f, Frame::Ping { .. }))
            .count();
        if t.poll_event().is_err() {
            break;
        }
    }
    assert_eq!(
        now - start,
        Duration::from_secs(40),
        "first ping at 10 s, dead 30 s later"
    );
    let failure = t.poll_event().unwrap_err();
    assert_eq!(
        failure,
        PortTunnelError::Spdy(SpdyError::PeerSilent(Duration::from_secs(30)))
    );
    assert_eq!(failure.io_error_kind(), std::io::ErrorKind::TimedOut);
    assert_eq!(pings, 3, "at 10, 20 and 30 s");
}

#[test]
fn the_paths_and_handshake_name_the_tunnel() {
    assert_eq!(
        tunnel_path("ns", "pod").unwrap(),
        "/api/v1/namespaces/ns/pods/pod/portforward"
    );
    let request = tunnel_handshake("h", "/p", [0; 16]).request().unwrap();
    assert_eq!(request.headers()["sec-websocket-protocol"], TUNNEL_PROTOCOL);
}

#[test]
fn the_direct_spdy_upgrade_asks_for_port_forward_and_checks_the_answer() {
    let request = spdy_upgrade_request("/api/v1/namespaces/ns/pods/p/portforward");
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(request.headers()["upgrade"], "SPDY/3.1");
    assert_eq!(
        request.headers()["x-stream-protocol-version"],
        "portforward.k8s.io"
    );
    let answer = |status: u16, pairs: &[(&str, &str)]| {
        let mut headers = http::HeaderMap::new();
        for (n, v) in pairs {
            headers.insert(
                http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        check_spdy_upgrade(http::StatusCode::from_u16(status).unwrap(), &headers)
    };
    let good = [
        ("upgrade", "spdy/3.1"),
        ("x-stream-protocol-version", "portforward.k8s.io"),
    ];
    assert_eq!(answer(101, &good), Ok(()));
    assert_eq!(answer(400, &good), Err(SpdyUpgradeError::Status(400)));
    assert_eq!(answer(101, &good[1..]), Err(SpdyUpgradeError::NotSpdy));
    assert_eq!(answer(101, &good[..1]), Err(SpdyUpgradeError::Protocol(None)));
    assert_eq!(
        answer(
            101,
            &[
                ("upgrade", "SPDY/3.1"),
                ("x-stream-protocol-version", "v4.channel.k8s.io")
            ]
        ),
        Err(SpdyUpgradeError::Protocol(Some("v4.channel.k8s.io".into())))
    );
}

#[test]
fn carriers_are_tried_in_turn_only_while_the_server_does_not_switch() {
    use crate::api::{ApiError, Status};
    let api = |code: u16| crate::Error::Api(Box::new(ApiError::from_status(code, Status::default())));
    let mut attempts = CarrierAttempts::new(&TunnelOptions::default());
    assert_eq!(attempts.next_carrier().unwrap(), TunnelCarrier::WebSocket);
    assert!(attempts.failed(TunnelCarrier::WebSocket, api(400)).is_ok());
    assert_eq!(attempts.next_carrier().unwrap(), TunnelCarrier::Spdy);
    let refused = crate::Error::SpdyUpgrade(SpdyUpgradeError::Status(400));
    assert!(attempts.failed(TunnelCarrier::Spdy, refused).is_ok());
    assert!(
        matches!(attempts.next_carrier(), Err(crate::Error::SpdyUpgrade(_))),
        "the last refusal"
    );

    let mut attempts = CarrierAttempts::new(&TunnelOptions::default());
    attempts.next_carrier().unwrap();
    for code in [401, 403, 404] {
        assert!(
            attempts.failed(TunnelCarrier::WebSocket, api(code)).is_err(),
            "{code} fails every carrier"
        );
    }
    let mut none = CarrierAttempts::new(&TunnelOptions {
        carriers: vec![],
        ..TunnelOptions::default()
    });
    assert!(matches!(none.next_carrier(), Err(crate::Error::Io(_))));
}

/// A listener keeps its tunnel, falls back to v4 sessions when the server switched to no
/// carrier, and fails on what would fail any protocol.
#[test]
fn a_listener_falls_back_to_channels_only_when_the_server_did_not_switch() {
    use crate::api::{ApiError, Status};
    let api = |code: u16| crate::Error::Api(Box::new(ApiError::from_status(code, Status::default())));
    assert!(matches!(
        tunnel_or_channels(Ok::<_, crate::Error>(7)),
        Ok(Some(7))
    ));
    let not_switched = crate::Error::SpdyUpgrade(SpdyUpgradeError::Status(400));
    assert!(matches!(tunnel_or_channels::<u8>(Err(not_switched)), Ok(None)));
    assert!(matches!(tunnel_or_channels::<u8>(Err(api(400))), Ok(None)));
    for code in [401, 403, 404] {
        assert!(tunnel_or_channels::<u8>(Err(api(code))).is_err(), "{code}");
    }
}

#[test]
fn each_event_reaches_its_reader_as_every_adapter_reports_it() {
    use std::io::ErrorKind;
    let data = TunnelEvent::Data(3, Bytes::from_static(b"abc"));
    assert_eq!(data.conn(), 3);
    assert_eq!(
        data.into_read_item().unwrap().unwrap(),
        Bytes::from_static(b"abc")
    );
    let failed = TunnelEvent::Failed(4, "port 9 refused".into());
    assert_eq!(failed.conn(), 4);
    let e = failed.into_read_item().unwrap().unwrap_err();
    assert_eq!(
        (e.kind(), e.to_string()),
        (ErrorKind::Other, "port 9 refused".to_owned())
    );
    let reset = TunnelEvent::Reset(5).into_read_item().unwrap().unwrap_err();
    assert_eq!(reset.kind(), ErrorKind::ConnectionReset);
    assert!(TunnelEvent::Eof(6).into_read_item().is_none());
    assert!(TunnelEvent::Closed(7).into_read_item().is_none());
}

#[test]
fn a_failed_tunnel_reads_as_its_kind_with_its_text() {
    let silent = PortTunnelError::Spdy(SpdyError::PeerSilent(std::time::Duration::from_secs(30)));
    let text = silent.to_string();
    let e = std::io::Error::from(silent);
    assert_eq!((e.kind(), e.to_string()), (std::io::ErrorKind::TimedOut, text));
}

#[test]
fn a_connection_whose_streams_the_kubelet_never_accepts_fails_alone_in_time() {
    let now = Instant::now();
    let mut tunnel = tunnel(true, quiet(), now);
    let mut kubelet = Kubelet::new(true);
    tunnel.command(TunnelCommand::Open { conn: 0, port: 80 }, now);
    tunnel.command(TunnelCommand::Open { conn: 1, port: 80 }, now);
    kubelet.receive(&mut tunnel);
    // Connection 1's error stream is accepted, its data stream never is; connection 0 is fine.
    let wire = replies(&mut kubelet, &[1, 3, 5]);
    kubelet.send(&mut tunnel, &wire, 1000);
    assert!(events(&mut tunnel).is_empty());
    let deadline = now + SessionConfig::default().reply_timeout;
    assert_eq!(tunnel.poll_timeout(), Some(deadline));
    tunnel.handle_timeout(deadline);
    assert_eq!(
        events(&mut tunnel),
        [
            TunnelEvent::Failed(
                1,
                "the kubelet did not accept the connection's data stream within 30s".into()
            ),
            TunnelEvent::Closed(1),
        ]
    );
    let mut reset: Vec<StreamId> = kubelet
        .receive(&mut tunnel)
        .into_iter()
        .map(|frame| match frame {
            Frame::RstStream {
                stream_id,
                status: rst::CANCEL,
            } => stream_id,
            other => panic!("expected only resets, got {other:?}"),
        })
        .collect();
    reset.sort_unstable();
    assert_eq!(
        reset,
        [5, 7],
        "both streams of the failed connection, nothing of the other"
    );
    tunnel.command(TunnelCommand::Send(0, b"on".to_vec()), deadline);
    assert_eq!(
        kubelet.receive(&mut tunnel),
        [Frame::Data {
            stream_id: 3,
            fin: false,
            data: Bytes::from_static(b"on")
        }]
    );
}
