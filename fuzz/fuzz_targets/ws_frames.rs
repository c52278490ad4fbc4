//! Arbitrary server bytes into the WebSocket connection machine, in pieces of varying size, with
//! timers and user verbs in between, with and without permessage-deflate. It must never panic,
//! a failed connection must stay closed, and its failure comes after its events, then repeats.
#![no_main]

use std::time::{Duration, Instant};

use klient_proto::ws::{CloseCode, Config, Connection, DeflateParams, Keepalive, Progress};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&control, mut rest)) = data.split_first() else {
        return;
    };
    let start = Instant::now();
    let config = Config {
        max_frame_size: 4096,
        max_message_size: 8192,
        fragment_size: Some(7),
        close_timeout: Duration::from_secs(5),
        keepalive: Some(Keepalive {
            interval: Duration::from_secs(3),
            timeout: Duration::from_secs(2),
        }),
        // The top bit of the first byte turns permessage-deflate on, so inflating is fuzzed too.
        deflate: (control & 0x80 != 0).then_some(DeflateParams {
            server_no_context_takeover: control & 0x40 != 0,
            client_no_context_takeover: control & 0x20 != 0,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }),
    };
    let mut conn = Connection::new(config, || [0xA5, 0x5A, 0x3C, 0xC3], start);
    let mut now = start;
    // The first byte picks the piece size, so the same frames are also cut in odd places.
    let piece = usize::from(control & 0x1F) + 1;
    while !rest.is_empty() {
        let (head, tail) = rest.split_at(piece.min(rest.len()));
        rest = tail;
        conn.handle_bytes(head);
        if conn.failure().is_some() {
            assert!(conn.is_closed());
        }
        // Let time and the user act now and then, driven by the data itself.
        match head.first().copied().unwrap_or(0) % 8 {
            0 => {
                now += Duration::from_secs(1);
                conn.handle_timeout(now);
            }
            1 => {
                let _ = conn.send_text("fuzz text message");
            }
            2 => {
                let _ = conn.close(now, CloseCode::NORMAL, "bye");
            }
            _ => {}
        }
        while conn.poll_transmit().is_some() {}
        while let Ok(Progress::Event(_)) = conn.poll_event() {}
        if let Err(e) = conn.poll_event() {
            assert!(conn.is_closed());
            assert_eq!(conn.poll_event(), Err(e), "a failure repeats");
        }
        let _ = conn.poll_timeout();
    }
    conn.handle_eof();
    assert!(conn.is_closed());
});
