//! End-to-end tests of the response decoder: every case is fed whole, in odd-sized pieces and
//! one byte at a time, and must decode the same way each time.

use std::io::Write;

use flate2::{Compression, write::GzEncoder};
use http::{Method, StatusCode, Version};

use super::*;

/// What a run saw, with adjacent `Data` merged so that runs with different splits compare equal.
#[derive(Debug, PartialEq)]
enum Seen {
    Info(StatusCode),
    Head(ResponseHead),
    Body(Vec<u8>),
    End { keep_alive: bool },
    Upgraded { head: ResponseHead, after: Vec<u8> },
    Error(HttpError),
}

/// How a run takes the body out of the decoder.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// `handle_bytes`, then `poll_event` hands out `Data` events.
    Events,
    /// `handle_bytes`, then `read_body_into` appends the body to a vector.
    Into,
    /// `read_body_from` takes each read and appends the body to a vector.
    From,
}

/// Decodes `input` fed in pieces of `step` in each [`Mode`], which must all see the same.
fn run(input: &[u8], method: &Method, limits: Limits, step: usize, eof: bool) -> Vec<Seen> {
    let by_events = run_with(input, method, limits, step, eof, Mode::Events);
    let into_a_vec = run_with(input, method, limits, step, eof, Mode::Into);
    assert_eq!(by_events, into_a_vec, "read_body_into differs from poll_event");
    let from_reads = run_with(input, method, limits, step, eof, Mode::From);
    assert_eq!(by_events, from_reads, "read_body_from differs from poll_event");
    by_events
}

fn run_with(input: &[u8], method: &Method, limits: Limits, step: usize, eof: bool, mode: Mode) -> Vec<Seen> {
    // Every case may switch protocols; a 101 nobody asked for is tested on its own.
    let mut decoder = ResponseDecoder::new(method, limits).with_upgrade();
    let mut seen = Vec::new();
    for piece in input.chunks(step) {
        let upgraded = matches!(seen.last(), Some(Seen::Upgraded { .. }));
        let read = if mode == Mode::From && !upgraded {
            Some(piece)
        } else {
            decoder.handle_bytes(piece);
            None
        };
        if drain(&mut decoder, &mut seen, mode, read) && !matches!(seen.last(), Some(Seen::Upgraded { .. })) {
            return seen;
        }
    }
    if eof {
        decoder.handle_eof();
        drain(&mut decoder, &mut seen, mode, None);
    }
    seen
}

/// Polls until "need data"; true once the decoder is finished (error or upgrade). Body bytes
/// come as `mode` says; `read`, when given, is fed by the first `read_body_from`.
fn drain(decoder: &mut ResponseDecoder, seen: &mut Vec<Seen>, mode: Mode, mut read: Option<&[u8]>) -> bool {
    // Bytes fed after an upgrade are the new protocol's: collect them like leftover.
    if let Some(Seen::Upgraded { after, .. }) = seen.last_mut() {
        after.extend_from_slice(&decoder.take_buffered());
        assert_eq!(
            decoder.poll_event(),
            Ok(Progress::Finished),
            "events after Upgraded"
        );
        return true;
    }
    loop {
        let mut body = Vec::new();
        let progress = match (mode, read.take()) {
            (Mode::Events, _) => decoder.poll_event(),
            (_, Some(read)) => decoder.read_body_from(read, &mut body),
            (_, None) => decoder.read_body_into(&mut body),
        };
        if !body.is_empty() {
            match seen.last_mut() {
                Some(Seen::Body(seen_body)) => seen_body.extend_from_slice(&body),
                _ => seen.push(Seen::Body(body)),
            }
        }
        let event = match progress {
            Ok(Progress::NeedData | Progress::Finished) => return false,
            Ok(Progress::Event(event)) => event,
            Err(e) => {
                assert_eq!(decoder.poll_event(), Err(e.clone()), "errors are sticky");
                seen.push(Seen::Error(e));
                return true;
            }
        };
        match event {
            HttpEvent::Informational(head) => seen.push(Seen::Info(head.status)),
            HttpEvent::Head(head) => seen.push(Seen::Head(head)),
            HttpEvent::Data(data) => {
                assert!(!data.is_empty(), "empty Data event");
                assert!(
                    mode == Mode::Events,
                    "a body read into a vector came as a Data event"
                );
                match seen.last_mut() {
                    Some(Seen::Body(body)) => body.extend_from_slice(&data),
                    _ => seen.push(Seen::Body(data.to_vec())),
                }
            }
            HttpEvent::End { keep_alive } => seen.push(Seen::End { keep_alive }),
            HttpEvent::Upgraded { head, leftover } => {
                seen.push(Seen::Upgraded {
                    head,
                    after: leftover.to_vec(),
                });
                return true;
            }
        }
    }
}

/// Decodes with several splits, checks they agree, and returns what was seen.
fn decode_with(input: &[u8], method: &Method, limits: Limits, eof: bool) -> Vec<Seen> {
    let whole = run(input, method, limits, input.len().max(1), eof);
    for step in [1, 2, 7, 4096] {
        let split = run(input, method, limits, step, eof);
        assert_eq!(whole, split, "split into pieces of {step}");
    }
    whole
}

fn decode(input: &[u8]) -> Vec<Seen> {
    decode_with(input, &Method::GET, Limits::default(), true)
}

fn head(status: u16, version: Version, fields: &[(&str, &str)]) -> Seen {
    let mut headers = http::HeaderMap::new();
    for (name, value) in fields {
        headers.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    Seen::Head(ResponseHead {
        version,
        status: StatusCode::from_u16(status).unwrap(),
        headers,
    })
}

fn body(bytes: &[u8]) -> Seen {
    Seen::Body(bytes.to_vec())
}

fn error(e: HttpError) -> Seen {
    Seen::Error(e)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn chunked(data: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in data.chunks(chunk) {
        write!(out, "{:x}\r\n", piece.len()).unwrap();
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

const HTTP11: Version = Version::HTTP_11;
const HTTP10: Version = Version::HTTP_10;

#[test]
fn content_length_body() {
    assert_eq!(
        decode(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"kind\":\"x\"}\n"),
        [
            head(200, HTTP11, &[("content-type", "application/json"), ("content-length", "13")]),
            body(b"{\"kind\":\"x\"}\n"),
            Seen::End { keep_alive: true },
        ]
    );
}

#[test]
fn chunked_body_with_extensions_and_trailers() {
    assert_eq!(
        decode(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nwatc\r\n2\r\nh!\r\n0\r\nX-T: 1\r\n\r\n"),
        [head(200, HTTP11, &[("transfer-encoding", "chunked")]), body(b"watch!"), Seen::End { keep_alive: true }]
    );
}

#[test]
fn close_delimited_body() {
    assert_eq!(
        decode(b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\nuntil the end"),
        [
            head(200, HTTP11, &[("connection", "keep-alive")]),
            body(b"until the end"),
            Seen::End { keep_alive: false }
        ]
    );
    assert_eq!(
        decode(b"HTTP/1.0 200 OK\r\n\r\n"),
        [head(200, HTTP10, &[]), Seen::End { keep_alive: false }]
    );
}

#[test]
fn bodiless_responses() {
    let head_request = decode_with(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
        &Method::HEAD,
        Limits::default(),
        false,
    );
    assert_eq!(
        head_request,
        [
            head(200, HTTP11, &[("content-length", "100")]),
            Seen::End { keep_alive: true }
        ]
    );
    for status in [204, 304] {
        let input = format!("HTTP/1.1 {status} X\r\nContent-Length: 7\r\nContent-Encoding: br\r\n\r\n");
        let seen = decode_with(input.as_bytes(), &Method::GET, Limits::default(), false);
        assert_eq!(
            seen,
            [
                head(
                    status,
                    HTTP11,
                    &[("content-length", "7"), ("content-encoding", "br")]
                ),
                Seen::End { keep_alive: true }
            ]
        );
    }
}

#[test]
fn keep_alive_decision() {
    let ka = |input: &[u8]| {
        decode(input).into_iter().find_map(|s| match s {
            Seen::End { keep_alive } => Some(keep_alive),
            _ => None,
        })
    };
    assert_eq!(ka(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), Some(true));
    assert_eq!(
        ka(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
        Some(false)
    );
    assert_eq!(ka(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"), Some(false));
    assert_eq!(
        ka(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"),
        Some(true)
    );
}

#[test]
fn informational_then_final() {
    assert_eq!(
        decode(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}"),
        [
            Seen::Info(StatusCode::CONTINUE),
            Seen::Info(StatusCode::PROCESSING),
            Seen::Info(StatusCode::from_u16(103).unwrap()),
            head(201, HTTP11, &[("content-length", "2")]),
            body(b"{}"),
            Seen::End { keep_alive: true },
        ]
    );
    // A close after an interim response is a truncated exchange, not an idle close.
    assert_eq!(
        decode(b"HTTP/1.1 100 Continue\r\n\r\n"),
        [Seen::Info(StatusCode::CONTINUE), error(HttpError::UnexpectedEof)]
    );
}

#[test]
fn switching_protocols_hands_over_leftover() {
    let input = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                  Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n\x82\x02\x01x";
    let fields = [
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-protocol", "v5.channel.k8s.io"),
    ];
    let Seen::Head(expected) = head(101, HTTP11, &fields) else {
        unreachable!()
    };
    for step in [1, 3, input.len()] {
        let seen = run(input, &Method::GET, Limits::default(), step, false);
        assert_eq!(
            seen,
            [Seen::Upgraded {
                head: expected.clone(),
                after: b"\x82\x02\x01x".to_vec()
            }],
            "step {step}"
        );
    }
    // Leftover is exactly what followed the head, even when it arrived in the same read.
    let mut decoder = ResponseDecoder::new(&Method::GET, Limits::default()).with_upgrade();
    decoder.handle_bytes(input);
    let Ok(Progress::Event(HttpEvent::Upgraded { leftover, .. })) = decoder.poll_event() else {
        panic!()
    };
    assert_eq!(&leftover[..], b"\x82\x02\x01x");
    assert_eq!(decoder.next_response(&Method::GET), Err(HttpError::NotReusable));

    // A request that did not ask to switch protocols does not get switched.
    let mut decoder = ResponseDecoder::new(&Method::GET, Limits::default());
    decoder.handle_bytes(input);
    assert_eq!(decoder.poll_event(), Err(HttpError::UnexpectedUpgrade));
}

#[test]
fn endless_interim_responses_are_refused() {
    let five = "HTTP/1.1 103 Early Hints\r\n\r\n".repeat(MAX_INTERIM_RESPONSES);
    let ok = format!("{five}HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert!(matches!(decode(ok.as_bytes()).last(), Some(Seen::End { .. })));
    let six = format!("{five}HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(
        decode(six.as_bytes()).last(),
        Some(&error(HttpError::TooManyInterimResponses {
            max: MAX_INTERIM_RESPONSES
        }))
    );
}

#[test]
fn need_data_and_finished_are_told_apart() {
    let mut decoder = ResponseDecoder::new(&Method::GET, Limits::default());
    assert_eq!(decoder.poll_event(), Ok(Progress::NeedData));
    decoder.handle_bytes(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert!(matches!(
        decoder.poll_event(),
        Ok(Progress::Event(HttpEvent::Head(_)))
    ));
    assert_eq!(
        decoder.poll_event(),
        Ok(Progress::Event(HttpEvent::End { keep_alive: true }))
    );
    assert_eq!(decoder.poll_event(), Ok(Progress::Finished));
    decoder.next_response(&Method::GET).unwrap();
    assert_eq!(decoder.poll_event(), Ok(Progress::NeedData));
}

#[test]
fn connect_tunnel() {
    let seen = run(
        b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01",
        &Method::CONNECT,
        Limits::default(),
        100,
        false,
    );
    let Seen::Head(expected) = head(200, HTTP11, &[]) else {
        unreachable!()
    };
    assert_eq!(
        seen,
        [Seen::Upgraded {
            head: expected,
            after: b"\x16\x03\x01".to_vec()
        }]
    );
    let refused = decode_with(
        b"HTTP/1.1 407 Auth\r\nContent-Length: 0\r\n\r\n",
        &Method::CONNECT,
        Limits::default(),
        false,
    );
    assert_eq!(
        refused,
        [
            head(407, HTTP11, &[("content-length", "0")]),
            Seen::End { keep_alive: true }
        ]
    );
}

#[test]
fn pipelined_responses_on_one_connection() {
    let first = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none";
    let second = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
    let third = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n";
    let wire = [&first[..], second, third].concat();
    for step in [1, 5, wire.len()] {
        let mut decoder = ResponseDecoder::new(&Method::GET, Limits::default());
        let mut seen = Vec::new();
        let mut methods = [Method::HEAD, Method::GET].into_iter();
        for piece in wire.chunks(step) {
            decoder.handle_bytes(piece);
            drain(&mut decoder, &mut seen, Mode::Events, None);
            while decoder.is_reusable() {
                let Some(method) = methods.next() else { break };
                decoder.next_response(&method).unwrap();
                drain(&mut decoder, &mut seen, Mode::Events, None);
            }
        }
        assert_eq!(
            seen,
            [
                head(200, HTTP11, &[("content-length", "3")]),
                body(b"one"),
                Seen::End { keep_alive: true },
                head(200, HTTP11, &[("content-length", "99")]),
                Seen::End { keep_alive: true },
                head(404, HTTP11, &[("transfer-encoding", "chunked")]),
                body(b"two"),
                Seen::End { keep_alive: true },
            ],
            "step {step}"
        );
        assert_eq!(decoder.buffered_len(), 0);
    }
}

#[test]
fn next_response_needs_a_finished_keep_alive_response() {
    let mut decoder = ResponseDecoder::new(&Method::GET, Limits::default());
    assert_eq!(decoder.next_response(&Method::GET), Err(HttpError::NotReusable));
    decoder.handle_bytes(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\nextra");
    let mut seen = Vec::new();
    drain(&mut decoder, &mut seen, Mode::Events, None);
    assert_eq!(seen.last(), Some(&Seen::End { keep_alive: false }));
    assert_eq!(decoder.next_response(&Method::GET), Err(HttpError::NotReusable));
    assert_eq!(
        &decoder.take_buffered()[..],
        b"extra",
        "bytes after a final response are not lost"
    );
}

#[test]
fn gzip_body_is_decoded() {
    let json: Vec<u8> = (0..2000)
        .flat_map(|i| format!("{{\"name\":\"pod-{i}\"}},").into_bytes())
        .collect();
    let wire = [
        &b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
        &chunked(&gzip(&json), 100),
    ]
    .concat();
    assert_eq!(
        decode(&wire),
        [
            head(200, HTTP11, &[("transfer-encoding", "chunked")]),
            body(&json),
            Seen::End { keep_alive: true }
        ]
    );

    let z = gzip(b"{}");
    let wire = [
        format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            z.len()
        )
        .as_bytes(),
        &z,
    ]
    .concat();
    assert_eq!(
        decode(&wire),
        [
            head(200, HTTP11, &[]),
            body(b"{}"),
            Seen::End { keep_alive: true }
        ]
    );
}

#[test]
fn gzip_errors() {
    let z = gzip(b"{\"kind\":\"Status\"}");
    let cut = &z[..z.len() - 3];
    let wire = [
        format!(
            "HTTP/1.1 500 X\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            cut.len()
        )
        .as_bytes(),
        cut,
    ]
    .concat();
    assert_eq!(
        decode(&wire).last(),
        Some(&error(HttpError::Gzip(GzipError::Truncated)))
    );
    let wire = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n{}{}";
    assert_eq!(
        decode(wire).last(),
        Some(&error(HttpError::Gzip(GzipError::BadHeader)))
    );
    let wire = b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 4\r\n\r\n{}{}";
    assert_eq!(decode(wire), [error(HttpError::UnsupportedContentEncoding)]);
}

#[test]
fn gzip_bomb_hits_the_limit() {
    let bomb = gzip(&vec![b' '; 50 * 1024 * 1024]);
    let wire = [
        &b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
        &chunked(&bomb, 8192),
    ]
    .concat();
    let limits = Limits {
        max_decompressed_bytes: 1024 * 1024,
        ..Limits::default()
    };
    let seen = run(&wire, &Method::GET, limits, 16 * 1024, true);
    let Some(Seen::Error(HttpError::DecompressedBodyTooLarge { len, max })) = seen.last() else {
        panic!("{seen:?}")
    };
    assert_eq!(*max, 1024 * 1024);
    assert!(*len <= max + 32 * 1024, "stopped promptly: {len}");
    let Some(Seen::Body(body)) = seen.get(1) else {
        panic!()
    };
    assert!(body.len() as u64 <= *max);
}

#[test]
fn eof_handling() {
    assert_eq!(decode(b""), [error(HttpError::ClosedBeforeResponse)]);
    assert_eq!(
        decode(b"HTTP/1.1 200 OK\r\nContent-"),
        [error(HttpError::UnexpectedEof)]
    );
    assert_eq!(
        decode(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"),
        [
            head(200, HTTP11, &[("content-length", "10")]),
            body(b"short"),
            error(HttpError::UnexpectedEof)
        ]
    );
    let truncated_chunked = decode(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
    assert_eq!(truncated_chunked.last(), Some(&error(HttpError::UnexpectedEof)));
}

#[test]
fn malformed_heads() {
    let malformed = |reason| [error(HttpError::MalformedHead { reason })];
    assert_eq!(
        decode(b"HTTP/1.1 20 OK\r\n\r\n"),
        malformed("invalid status code")
    );
    assert_eq!(
        decode(b"HTTP/1.1 099 Low\r\n\r\n"),
        malformed("invalid status code")
    );
    assert_eq!(
        decode(b"HTTP/1.2 200 OK\r\n\r\n"),
        malformed("unsupported HTTP version")
    );
    assert_eq!(
        decode(b"HTTP/2 200\r\n\r\n"),
        malformed("not an HTTP/1.x response")
    );
    assert_eq!(
        decode(b"\x15\x03\x03\x00\x02\x02\x28"),
        malformed("not an HTTP/1.x response")
    );
    assert_eq!(
        decode(b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n"),
        malformed("invalid header name")
    );
    // Header injection shapes: obsolete line folding, bare CR, NUL.
    assert_eq!(
        decode(b"HTTP/1.1 200 OK\r\nX: a\r\n Evil: 1\r\n\r\n"),
        malformed("invalid header name")
    );
    assert_eq!(
        decode(b"HTTP/1.1 200 OK\r\nX: a\rEvil: 1\r\n\r\n"),
        malformed("invalid header value")
    );
    assert_eq!(
        decode(b"HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n"),
        malformed("invalid header value")
    );
}

#[test]
fn framing_conflicts() {
    let conflicts = [
        (
            &b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"[..],
            HttpError::ConflictingContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
            HttpError::InvalidContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
            HttpError::ContentLengthWithTransferEncoding,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            HttpError::UnsupportedTransferEncoding,
        ),
    ];
    for (input, expected) in conflicts {
        assert_eq!(decode(input), [error(expected)]);
    }
    let bad_chunks = [
        &b"zz\r\n"[..],
        b"-5\r\n",
        b"11111111111111111\r\n",
        b"5\r\nhelloXY0\r\n\r\n",
    ];
    for chunks in bad_chunks {
        let input = [
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            chunks,
        ]
        .concat();
        let seen = decode(&input);
        assert!(
            matches!(seen.last(), Some(Seen::Error(HttpError::MalformedChunk { .. }))),
            "{seen:?}"
        );
    }
}

#[test]
fn limits_are_enforced() {
    let small = Limits {
        max_head_bytes: 64,
        max_headers: 2,
        max_line_bytes: 24,
        max_body_bytes: 8,
        max_decompressed_bytes: 8,
    };
    let check = |input: &[u8], expected: HttpError| {
        let seen = decode_with(input, &Method::GET, small, true);
        assert_eq!(seen.last(), Some(&error(expected)), "{seen:?}");
    };
    check(
        b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
        HttpError::TooManyHeaders { count: 3, max: 2 },
    );
    check(
        b"HTTP/1.1 200 OK\r\nA: 01234567890123456789012345678901234567890\r\n\r\n",
        HttpError::HeadTooLarge { len: 65, max: 64 },
    );
    check(
        b"HTTP/1.1 200 OK\r\nA: 012345678901234567890123456789012345678901\r\n\r\n",
        HttpError::HeadTooLarge { len: 65, max: 64 },
    );
    check(
        b"HTTP/1.1 200 A very long reason phrase\r\n\r\n",
        HttpError::LineTooLong {
            kind: LineKind::StatusLine,
            len: 25,
            max: 24,
        },
    );
    check(
        b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n123456789",
        HttpError::BodyTooLarge { len: 9, max: 8 },
    );
    check(
        b"HTTP/1.1 200 OK\r\n\r\n123456789",
        HttpError::BodyTooLarge { len: 9, max: 8 },
    );
    check(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n",
        HttpError::BodyTooLarge { len: 9, max: 8 },
    );
    check(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;0123456789012345678901234\r\n",
        HttpError::LineTooLong {
            kind: LineKind::ChunkSize,
            len: 26,
            max: 24,
        },
    );
    let z = gzip(b"0123456789");
    let wire = [
        format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            z.len()
        )
        .as_bytes(),
        &z,
    ]
    .concat();
    let roomy = Limits {
        max_body_bytes: 1000,
        ..small
    };
    let seen = decode_with(&wire, &Method::GET, roomy, true);
    assert_eq!(
        seen.last(),
        Some(&error(HttpError::DecompressedBodyTooLarge { len: 9, max: 8 }))
    );
    // At the limits exactly, everything passes.
    let exact = b"HTTP/1.1 200 OK\r\nA: 1\r\nContent-Length: 8\r\n\r\n12345678";
    assert_eq!(
        decode_with(exact, &Method::GET, small, true).last(),
        Some(&Seen::End { keep_alive: true })
    );
}

#[test]
fn huge_limits_do_not_allocate_up_front() {
    let huge = Limits {
        max_head_bytes: usize::MAX,
        max_headers: usize::MAX,
        max_line_bytes: usize::MAX,
        max_body_bytes: u64::MAX,
        max_decompressed_bytes: u64::MAX,
    };
    let seen = decode_with(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
        &Method::GET,
        huge,
        true,
    );
    assert_eq!(seen.last(), Some(&Seen::End { keep_alive: true }));
}

#[test]
fn lenient_but_unambiguous_heads() {
    // No reason phrase, and bare LF line endings, are both unambiguous and seen in the wild.
    assert_eq!(
        decode(b"HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx"),
        [
            head(200, HTTP11, &[("content-length", "1")]),
            body(b"x"),
            Seen::End { keep_alive: true }
        ]
    );
    assert_eq!(
        decode(b"HTTP/1.1 200 OK\nContent-Length: 1\n\nx"),
        [
            head(200, HTTP11, &[("content-length", "1")]),
            body(b"x"),
            Seen::End { keep_alive: true }
        ]
    );
    assert_eq!(
        decode(b"HTTP/1.1 200 OK\r\nX-Empty:\r\nContent-Length: 0\r\n\r\n"),
        [
            head(200, HTTP11, &[("x-empty", ""), ("content-length", "0")]),
            Seen::End { keep_alive: true }
        ]
    );
}
