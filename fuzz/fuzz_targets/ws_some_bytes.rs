//! `Connection::handle_some_bytes` fed piece by piece (the blocking client's way) must behave
//! exactly like `handle_bytes` given everything at once: the same events, the same bytes to
//! transmit, the same failure after them, and it must always make progress.
#![no_main]

use std::time::Instant;

use klient_proto::ws::{Config, Connection, DeflateParams, Progress, WsError, WsEvent};
use libfuzzer_sys::fuzz_target;

fn machine(control: u8, now: Instant) -> Connection {
    let config = Config {
        max_frame_size: 4096,
        max_message_size: 8192,
        deflate: (control & 0x80 != 0).then_some(DeflateParams {
            server_no_context_takeover: control & 0x40 != 0,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }),
        ..Config::default()
    };
    Connection::new(config, || [1, 2, 3, 4], now)
}

/// Moves the queued events into `into`; what came after them (need-data, the end, a failure).
fn drain_events(conn: &mut Connection, into: &mut Vec<WsEvent>) -> Result<Progress<WsEvent>, WsError> {
    loop {
        match conn.poll_event() {
            Ok(Progress::Event(event)) => into.push(event),
            other => return other,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let now = Instant::now();

    let mut whole = machine(control, now);
    whole.handle_bytes(input);
    let mut whole_events = Vec::new();
    let whole_result = drain_events(&mut whole, &mut whole_events);

    let mut lazy = machine(control, now);
    let mut lazy_events = Vec::new();
    let mut rest = input;
    while !rest.is_empty() && !lazy.is_closed() {
        let used = lazy.handle_some_bytes(rest);
        // A header that fails the connection is not counted as used.
        assert!(used > 0 || lazy.is_closed(), "no progress on {} bytes", rest.len());
        rest = &rest[used..];
        let _ = drain_events(&mut lazy, &mut lazy_events);
    }
    let lazy_result = drain_events(&mut lazy, &mut lazy_events);

    assert_eq!(whole_result, lazy_result);
    assert_eq!(whole_events, lazy_events);
    assert_eq!(whole.poll_transmit(), lazy.poll_transmit());
    assert_eq!(whole.is_closed(), lazy.is_closed());
});
