//! Arbitrary server bytes into a port-forward session after the handshake, with sends and timers
//! in between. Half the inputs are read as a script of well-formed binary frames so the port
//! checks and the per-port channels are reached often; the other half go in raw. It must never
//! panic, a failed session must stay closed (its failure after its events, then repeated), and
//! events name only requested ports.
#![no_main]

use std::time::{Duration, Instant};

use klient_proto::remote::{PortForward, PortForwardConfig, PortForwardEvent, Ports, Progress};
use klient_proto::ws::frame::{FrameHeader, OpCode};
use klient_proto::ws::{Config, Connection};
use libfuzzer_sys::fuzz_target;

/// Reads `data` as frames: a header byte (top bit: close frame, else a binary message of the low
/// 7 bits' length), then the payload.
fn script(mut data: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    while let Some((&head, rest)) = data.split_first() {
        let (opcode, len) = if head & 0x80 != 0 {
            (OpCode::Close, 0)
        } else {
            (OpCode::Binary, usize::from(head & 0x7F))
        };
        let (payload, rest) = rest.split_at(len.min(rest.len()));
        let payload: &[u8] = if opcode == OpCode::Close {
            &[0x03, 0xE8]
        } else {
            payload
        };
        FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask: None,
            payload_len: payload.len() as u64,
        }
        .write(&mut wire);
        wire.extend_from_slice(payload);
        data = rest;
    }
    wire
}

// Ports whose little-endian bytes are easy to hit: 1 is [1, 0], 0x0101 is [1, 1].
const PORTS: [u16; 3] = [1, 0x0101, 8080];

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let start = Instant::now();
    let config = Config {
        max_message_size: 4096,
        ..Config::default()
    };
    let conn = Connection::new(config, || [1, 2, 3, 4], start);
    let ports = &PORTS[..usize::from(control % 3) + 1];
    let pf_config = PortForwardConfig { max_send_message: 3 };
    let Ok(list) = Ports::new(ports) else {
        panic!("valid ports");
    };
    let Ok(mut pf) = PortForward::new(conn, Some("v4.channel.k8s.io"), &list, pf_config) else {
        panic!("valid ports and protocol");
    };
    let wire = if control & 4 == 0 {
        script(rest)
    } else {
        rest.to_vec()
    };
    let piece = usize::from(control >> 3) + 1;
    let mut now = start;
    let mut closed_seen = false;
    let mut failure = None;
    for head in wire.chunks(piece) {
        pf.handle_bytes(head);
        if pf.failure().is_some() {
            assert!(pf.is_closed());
        }
        let verb = head.first().copied().unwrap_or(0);
        match verb % 16 {
            0 => {
                now += Duration::from_secs(1);
                pf.handle_timeout(now);
            }
            1 => {
                let _ = pf.send(usize::from(verb >> 4), b"fuzzed data");
            }
            2 => {
                let _ = pf.close(now);
            }
            _ => {}
        }
        while pf.poll_transmit().is_some() {}
        loop {
            match pf.poll_event() {
                Ok(Progress::Event(event)) => {
                    assert!(!closed_seen && failure.is_none(), "nothing follows the end");
                    match event {
                        PortForwardEvent::Data { port_index, bytes } => {
                            assert!(port_index < ports.len() && !bytes.is_empty());
                            assert!(pf.ports().len() == ports.len());
                        }
                        PortForwardEvent::PortError { port_index, error } => {
                            assert!(port_index < ports.len() && !error.message.is_empty());
                            assert_eq!(error.port, ports[port_index]);
                        }
                        PortForwardEvent::Closed => closed_seen = true,
                        _ => {}
                    }
                }
                Ok(Progress::NeedData) => break,
                Ok(Progress::Finished) => {
                    assert!(closed_seen && pf.is_closed());
                    break;
                }
                Err(e) => {
                    assert!(pf.is_closed() && !closed_seen);
                    assert!(failure.as_ref().is_none_or(|f| *f == e), "a failure repeats");
                    failure = Some(e);
                    break;
                }
            }
        }
    }
    pf.handle_eof();
    assert!(pf.is_closed());
});
