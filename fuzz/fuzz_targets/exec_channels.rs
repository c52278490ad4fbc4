//! Arbitrary server bytes into an exec session after the handshake, under v5 or v4, with user
//! verbs and timers in between. Half the inputs are read as a script of well-formed frames so
//! the channel demultiplexer and the Status decoder are reached often; the other half go in raw.
//! It must never panic, output events are never empty, and the end comes last: nothing follows
//! `Closed`, and a failure, handed out after the events before it, stays closed and repeats.
#![no_main]

use std::time::{Duration, Instant};

use klient_proto::remote::{ExecSessionConfig, ExecEvent, ExecSession, Progress};
use klient_proto::ws::frame::{FrameHeader, OpCode};
use klient_proto::ws::{Config, Connection, Keepalive};
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

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let start = Instant::now();
    let config = Config {
        max_message_size: 4096,
        keepalive: Some(Keepalive {
            interval: Duration::from_secs(3),
            timeout: Duration::from_secs(2),
        }),
        ..Config::default()
    };
    let conn = Connection::new(config, || [1, 2, 3, 4], start);
    let protocol = if control & 1 == 0 {
        "v5.channel.k8s.io"
    } else {
        "v4.channel.k8s.io"
    };
    let exec_config = ExecSessionConfig {
        max_stdin_message: 5,
        max_status_len: 512,
    };
    let Ok(mut exec) = ExecSession::new(conn, Some(protocol), exec_config) else {
        panic!("both protocols are supported");
    };
    let wire = if control & 2 == 0 {
        script(rest)
    } else {
        rest.to_vec()
    };
    let piece = usize::from(control >> 3) + 1;
    let mut now = start;
    let mut closed_seen = false;
    let mut failure = None;
    for head in wire.chunks(piece) {
        exec.handle_bytes(head);
        if exec.failure().is_some() {
            assert!(exec.is_closed());
        }
        match head.first().copied().unwrap_or(0) % 16 {
            0 => {
                now += Duration::from_secs(1);
                exec.handle_timeout(now);
                if exec.failure().is_some() {
                    assert!(exec.is_closed());
                }
            }
            1 => {
                let _ = exec.send_stdin(b"fuzzed stdin");
            }
            2 => {
                let _ = exec.close_stdin();
            }
            3 => {
                let _ = exec.resize(80, 24);
            }
            4 => {
                let _ = exec.close(now);
            }
            _ => {}
        }
        while exec.poll_transmit().is_some() {}
        loop {
            match exec.poll_event() {
                Ok(Progress::Event(event)) => {
                    assert!(!closed_seen && failure.is_none(), "nothing follows the end");
                    match event {
                        ExecEvent::Stdout(b) | ExecEvent::Stderr(b) => assert!(!b.is_empty()),
                        ExecEvent::Exit(_) => assert!(exec.exit_status().is_some()),
                        ExecEvent::Closed => closed_seen = true,
                        _ => {}
                    }
                }
                Ok(Progress::NeedData) => {
                    assert!(!closed_seen && failure.is_none(), "the end stays");
                    break;
                }
                Ok(Progress::Finished) => {
                    assert!(closed_seen && exec.is_closed());
                    break;
                }
                Err(e) => {
                    assert!(exec.is_closed() && !closed_seen);
                    assert!(failure.as_ref().is_none_or(|f| *f == e), "a failure repeats");
                    failure = Some(e);
                    break;
                }
            }
        }
        let _ = exec.poll_timeout();
    }
    exec.handle_eof();
    assert!(exec.is_closed());
    assert_eq!(exec.poll_timeout(), None);
});
