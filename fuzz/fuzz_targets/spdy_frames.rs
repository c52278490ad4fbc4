//! Bytes from a kubelet, through kube-apiserver's tunnel or a direct SPDY upgrade, must never
//! panic the SPDY frame decoder, the client session or the port-forward tunnel, in whatever pieces
//! they arrive; failures are errors handed out in order.
#![no_main]

use std::time::{Duration, Instant};

use klient_proto::remote::{PortTunnel, TunnelCommand, tunnel_ws_config};
use klient_proto::spdy::{ClientSession, FrameDecoder, FrameLimits, Headers, SessionConfig};
use klient_proto::ws::Connection;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&piece, bytes)) = data.split_first() else {
        return;
    };
    let piece = usize::from(piece).max(1);
    let limits = FrameLimits {
        max_data: 4096,
        max_control: 2048,
        max_header_block: 4096,
    };

    let mut decoder = FrameDecoder::new(limits);
    'decode: for chunk in bytes.chunks(piece) {
        decoder.push(chunk);
        loop {
            match decoder.next_frame() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    let _ = e.to_string();
                    break 'decode;
                }
            }
        }
    }

    let now = Instant::now();
    let config = SessionConfig {
        limits,
        ..SessionConfig::default()
    };
    let mut session = ClientSession::new(config, now);
    let _ = session.open(&Headers::new().with("streamtype", "error"), true, now);
    let _ = session.open(&Headers::new().with("streamtype", "data"), false, now);
    for chunk in bytes.chunks(piece) {
        session.handle_bytes(chunk);
        let _ = session.poll_transmit();
        while let Ok(klient_proto::ws::Progress::Event(_)) = session.poll_event() {}
    }
    session.handle_eof();
    let _ = session.poll_event();

    for over_ws in [false, true] {
        let mut tunnel = if over_ws {
            PortTunnel::over_websocket(Connection::new(tunnel_ws_config(), || [1, 2, 3, 4], now), config, now)
        } else {
            PortTunnel::direct(config, now)
        };
        tunnel.command(TunnelCommand::Open { conn: 0, port: 80 }, now);
        tunnel.command(TunnelCommand::Open { conn: 1, port: 443 }, now);
        for (i, chunk) in bytes.chunks(piece).enumerate() {
            tunnel.handle_bytes(chunk);
            tunnel.command(TunnelCommand::Send(i as u32 % 2, chunk.to_vec()), now);
            while tunnel.poll_transmit().is_some() {}
            while let Ok(klient_proto::ws::Progress::Event(_)) = tunnel.poll_event() {}
        }
        tunnel.handle_timeout(now + Duration::from_secs(60));
        tunnel.handle_eof();
        while let Ok(klient_proto::ws::Progress::Event(_)) = tunnel.poll_event() {}
        if let Err(e) = tunnel.poll_event() {
            let _ = (e.to_string(), e.io_error_kind());
        }
    }
});
