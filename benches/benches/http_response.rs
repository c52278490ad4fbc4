//! Decoding a large API-server response: klient's `ResponseDecoder` against a straightforward
//! peer (httparse for the head, a hand-written chunk loop for the body) doing the same framing.
//!
//! The response is a 1 MiB JSON list sent with `Transfer-Encoding: chunked` in 8 KiB chunks and
//! the headers a kube-apiserver sends. Both decoders are fed 16 KiB reads, the size of a TLS
//! record, and hand every body byte to the consumer without copying it into a body buffer.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use klient_proto::http::{Event, Limits, Progress, ResponseDecoder};

const READ: usize = 16 * 1024;

fn api_server_response() -> Vec<u8> {
    let mut body = b"{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"123456\"},\"items\":[".to_vec();
    let mut i = 0;
    while body.len() < 1024 * 1024 {
        body.extend_from_slice(
            format!(
                "{{\"metadata\":{{\"name\":\"web-{i}\",\"namespace\":\"default\",\"uid\":\"6f1c2e4a-{i:04}-4d6b-9a1e-0c2b7f3e9d10\",\
                 \"labels\":{{\"app\":\"web\"}}}},\"spec\":{{\"containers\":[{{\"name\":\"nginx\",\"image\":\"nginx:1.27\"}}]}},\
                 \"status\":{{\"phase\":\"Running\",\"podIP\":\"10.244.0.{}\"}}}},",
                i % 250
            )
            .as_bytes(),
        );
        i += 1;
    }
    body.extend_from_slice(b"{}]}");
    let mut wire = b"HTTP/1.1 200 OK\r\n\
        Audit-Id: 0f3c9a52-7a0e-4c43-9d0b-1a2b3c4d5e6f\r\n\
        Cache-Control: no-cache, private\r\n\
        Content-Type: application/json\r\n\
        X-Kubernetes-Pf-Flowschema-Uid: 2a4b6c8d-0e1f-4a3b-8c5d-6e7f8091a2b3\r\n\
        X-Kubernetes-Pf-Prioritylevel-Uid: 9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a\r\n\
        Date: Wed, 25 Nov 2026 22:00:00 GMT\r\n\
        Transfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    for chunk in body.chunks(8192) {
        wire.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        wire.extend_from_slice(chunk);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    wire
}

/// klient: feed each read, drain the events.
fn klient(wire: &[u8]) -> usize {
    let mut decoder = ResponseDecoder::new(&http::Method::GET, Limits::default());
    let mut body = 0;
    for read in wire.chunks(READ) {
        decoder.handle_bytes(read);
        while let Progress::Event(event) = decoder.poll_event().unwrap() {
            match event {
                Event::Data(data) => body += black_box(&data).len(),
                Event::End { .. } => return body,
                _ => {}
            }
        }
    }
    unreachable!("response did not end")
}

/// The peer: a growable buffer, httparse for the head, then a plain chunk loop.
fn peer(wire: &[u8]) -> usize {
    let mut buf: Vec<u8> = Vec::with_capacity(2 * READ);
    let mut in_head = true;
    let mut chunk_left: Option<usize> = None;
    let mut body = 0;
    for read in wire.chunks(READ) {
        buf.extend_from_slice(read);
        let mut pos = 0;
        loop {
            let rest = &buf[pos..];
            if in_head {
                let mut headers = [httparse::EMPTY_HEADER; 100];
                let mut response = httparse::Response::new(&mut headers);
                match response.parse(rest).unwrap() {
                    httparse::Status::Complete(n) => {
                        let chunked = response.headers.iter().any(|h| {
                            h.name.eq_ignore_ascii_case("transfer-encoding")
                                && h.value.eq_ignore_ascii_case(b"chunked")
                        });
                        assert!(chunked);
                        pos += n;
                        in_head = false;
                    }
                    httparse::Status::Partial => break,
                }
                continue;
            }
            match chunk_left {
                None => {
                    let Some(lf) = rest.iter().position(|b| *b == b'\n') else {
                        break;
                    };
                    let line = std::str::from_utf8(&rest[..lf - 1]).unwrap();
                    let size = usize::from_str_radix(line.split(';').next().unwrap().trim(), 16).unwrap();
                    pos += lf + 1;
                    if size == 0 {
                        return body; // no trailers in this response
                    }
                    chunk_left = Some(size);
                }
                Some(0) => {
                    if rest.len() < 2 {
                        break;
                    }
                    assert_eq!(&rest[..2], b"\r\n");
                    pos += 2;
                    chunk_left = None;
                }
                Some(left) => {
                    if rest.is_empty() {
                        break;
                    }
                    let n = left.min(rest.len());
                    body += black_box(&rest[..n]).len();
                    pos += n;
                    chunk_left = Some(left - n);
                }
            }
        }
        buf.drain(..pos);
    }
    unreachable!("response did not end")
}

fn bench(c: &mut Criterion) {
    let wire = api_server_response();
    let expected = klient(&wire);
    assert_eq!(expected, peer(&wire));
    let mut group = c.benchmark_group("http_response_1MiB_chunked");
    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_function("klient", |b| {
        b.iter(|| assert_eq!(klient(black_box(&wire)), expected))
    });
    group.bench_function("httparse+chunk_loop", |b| {
        b.iter(|| assert_eq!(peer(black_box(&wire)), expected))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
