//! Feeds arbitrary bytes, split at arbitrary points and under arbitrary limits, to the HTTP
//! response decoder. It must never panic, never emit empty data, respect its body limits, and
//! decode a valid stream the same way whatever the split.
#![no_main]

use klient_proto::http::{HttpEvent, HttpError, Limits, Progress, ResponseDecoder};
use libfuzzer_sys::fuzz_target;

/// Everything a run produced, with adjacent data merged.
#[derive(Debug, PartialEq)]
struct Outcome {
    events: Vec<String>,
    body: Vec<u8>,
    result: Result<(), HttpError>,
}

fuzz_target!(|data: &[u8]| {
    let Some((&[mode, a, b, c, d, seed], input)) = data.split_first_chunk::<6>() else {
        return;
    };
    let method = match mode % 4 {
        0 => http::Method::HEAD,
        1 => http::Method::CONNECT,
        _ => http::Method::GET,
    };
    let body_limit = |x: u8| if x == 255 { u64::MAX } else { u64::from(x) * 97 };
    let limits = Limits {
        max_head_bytes: usize::from(a) * 16,
        max_headers: usize::from(b % 40),
        max_line_bytes: usize::from(c) * 4,
        max_body_bytes: body_limit(d),
        max_decompressed_bytes: body_limit(d.rotate_left(4)),
    };
    let eof = mode & 0x80 != 0;
    let upgrade = mode & 0x40 != 0;

    let whole = run(input, &method, limits, eof, upgrade, Mode::Events, &mut Splits::whole());
    let split = run(input, &method, limits, eof, upgrade, Mode::Events, &mut Splits::new(seed));
    if whole.result.is_ok() {
        assert_eq!(whole, split, "a valid stream must decode the same at any split");
    }
    // Collecting the body into a vector sees exactly what the Data events carry, whether the
    // reads are fed first (read_body_into) or handed over with the call (read_body_from).
    let into = run(input, &method, limits, eof, upgrade, Mode::Into, &mut Splits::new(seed));
    assert_eq!(split, into, "read_body_into differs from poll_event");
    let from = run(input, &method, limits, eof, upgrade, Mode::From, &mut Splits::new(seed));
    assert_eq!(split, from, "read_body_from differs from poll_event");
});

/// How a run takes the body out of the decoder.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// `handle_bytes`, then `Data` events from `poll_event`.
    Events,
    /// `handle_bytes`, then `read_body_into`.
    Into,
    /// `read_body_from` with each read, then `read_body_into`.
    From,
}

/// Piece lengths from a small xorshift generator: mostly short, sometimes long.
struct Splits(u32);

impl Splits {
    fn whole() -> Self {
        Splits(0)
    }

    fn new(seed: u8) -> Self {
        Splits(u32::from(seed) | 0x100)
    }

    fn next(&mut self, left: usize) -> usize {
        if self.0 == 0 {
            return left;
        }
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        let len = if self.0 % 8 == 0 {
            self.0 as usize % 4096
        } else {
            self.0 as usize % 4
        };
        len.clamp(1, left.max(1))
    }
}

fn run(
    input: &[u8],
    method: &http::Method,
    limits: Limits,
    eof: bool,
    upgrade: bool,
    mode: Mode,
    splits: &mut Splits,
) -> Outcome {
    let mut decoder = ResponseDecoder::new(method, limits);
    if upgrade {
        decoder = decoder.with_upgrade();
    }
    let mut out = Outcome {
        events: Vec::new(),
        body: Vec::new(),
        result: Ok(()),
    };
    let mut rest = input;
    let mut body_len = 0u64;
    loop {
        let done_feeding = rest.is_empty();
        let mut read = None;
        if done_feeding && eof {
            decoder.handle_eof();
        } else if !done_feeding {
            let (piece, tail) = rest.split_at(splits.next(rest.len()));
            if mode == Mode::From {
                read = Some(piece);
            } else {
                decoder.handle_bytes(piece);
            }
            rest = tail;
        }
        loop {
            let progress = if mode != Mode::Events {
                let before = out.body.len();
                let progress = match read.take() {
                    Some(piece) => decoder.read_body_from(piece, &mut out.body),
                    None => decoder.read_body_into(&mut out.body),
                };
                body_len += (out.body.len() - before) as u64;
                assert!(body_len <= limits.max_body_bytes.max(limits.max_decompressed_bytes));
                progress
            } else {
                decoder.poll_event()
            };
            match progress {
                Ok(Progress::NeedData) => break,
                Ok(Progress::Finished) => {
                    assert_eq!(decoder.poll_event(), Ok(Progress::Finished), "finished stays finished");
                    break;
                }
                Ok(Progress::Event(HttpEvent::Data(data))) => {
                    assert!(mode == Mode::Events, "a body read into a vector came as a Data event");
                    assert!(!data.is_empty());
                    body_len += data.len() as u64;
                    assert!(body_len <= limits.max_body_bytes.max(limits.max_decompressed_bytes));
                    out.body.extend_from_slice(&data);
                }
                Ok(Progress::Event(HttpEvent::End { keep_alive })) => {
                    out.events.push(format!("end {keep_alive}"));
                    body_len = 0;
                    if keep_alive {
                        // Decode whatever follows as the next response on the connection.
                        decoder
                            .next_response(&http::Method::GET)
                            .expect("reusable after keep-alive End");
                    }
                }
                Ok(Progress::Event(HttpEvent::Upgraded { head, leftover })) => {
                    out.events.push(format!("upgraded {}", head.status));
                    out.body.extend_from_slice(&leftover);
                }
                Ok(Progress::Event(event)) => out.events.push(format!("{event:?}")),
                Err(e) => {
                    assert_eq!(decoder.poll_event(), Err(e.clone()));
                    out.result = Err(e);
                    return out;
                }
            }
        }
        if done_feeding {
            // Bytes after an upgrade or a final response belong to someone else.
            out.body.extend_from_slice(&decoder.take_buffered());
            return out;
        }
    }
}
