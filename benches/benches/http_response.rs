//! The HTTP path of a large API-server response, klient against a minimal floor doing the same
//! framing (httparse for the head, a hand-written chunk loop for the body):
//!
//! - `whole_response`: what a get or a list does — encode the request, decode the response, and
//!   collect the body into one buffer (klient: `encode_request` and the `Exchange` machine with
//!   `read_body_from`, as the adapters read a whole body);
//! - `streamed_body`: what a watch or followed log does — hand each piece of body to the consumer
//!   as it arrives, without collecting it (klient: `ResponseDecoder` `Data` events).
//!
//! The response is a 1 MiB JSON list sent with `Transfer-Encoding: chunked` in 8 KiB chunks and
//! the headers a kube-apiserver sends. Both sides are fed 16 KiB reads, the size of a TLS record.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::header::{self, HeaderValue};
use klient_proto::http::{Exchange, HttpEvent, Limits, Progress, ResponseDecoder, encode_request};

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

/// The request a client sends for the list.
fn list_request() -> http::Request<Vec<u8>> {
    let mut request = http::Request::get("/api/v1/namespaces/default/pods?limit=500")
        .body(Vec::new())
        .unwrap();
    let headers = request.headers_mut();
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(header::USER_AGENT, HeaderValue::from_static("klient/0.1.0"));
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("Bearer 0123456789abcdef0123456789abcdef"),
    );
    headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
    request
}

/// klient, whole: encode the request, then the exchange machine collects the body.
fn klient_whole(request: &http::Request<Vec<u8>>, wire: &[u8]) -> (usize, Vec<u8>) {
    let mut encoded = Vec::with_capacity(256);
    encode_request(request, "10.0.0.1:6443", &mut encoded).unwrap();
    let sent = encoded.len();
    let mut exchange = Exchange::new(encoded, request.method(), Limits::default(), false, false);
    exchange.handle_written(black_box(exchange.poll_transmit()).len());
    let mut body = Vec::new();
    for read in wire.chunks(READ) {
        // Each read goes in with the call that takes the body out, as klient-blocking does.
        let mut step = exchange.read_body_from(read, &mut body).unwrap();
        loop {
            match step {
                Progress::Event(HttpEvent::End { .. }) => return (sent, body),
                Progress::Event(_) => step = exchange.read_body_into(&mut body).unwrap(),
                Progress::NeedData => break,
                Progress::Finished => unreachable!("the response ended without End"),
            }
        }
    }
    unreachable!("response did not end")
}

/// The floor, whole: the request line and fields written by hand, then httparse and a chunk loop
/// copying the body into one buffer; `straight`: from each read where it lies.
fn peer_whole(request: &http::Request<Vec<u8>>, wire: &[u8], straight: bool) -> (usize, Vec<u8>) {
    let mut encoded = Vec::with_capacity(256);
    encoded.extend_from_slice(request.method().as_str().as_bytes());
    encoded.push(b' ');
    encoded.extend_from_slice(request.uri().path_and_query().unwrap().as_str().as_bytes());
    encoded.extend_from_slice(b" HTTP/1.1\r\nhost: 10.0.0.1:6443\r\n");
    for (name, value) in request.headers() {
        encoded.extend_from_slice(name.as_str().as_bytes());
        encoded.extend_from_slice(b": ");
        encoded.extend_from_slice(value.as_bytes());
        encoded.extend_from_slice(b"\r\n");
    }
    encoded.extend_from_slice(b"\r\n");
    let sent = black_box(&encoded).len();
    let mut body = Vec::new();
    peer_frames(wire, straight, |piece| body.extend_from_slice(piece));
    (sent, body)
}

/// klient: feed each read, drain the events.
fn klient(wire: &[u8]) -> usize {
    let mut decoder = ResponseDecoder::new(&http::Method::GET, Limits::default());
    let mut body = 0;
    for read in wire.chunks(READ) {
        decoder.handle_bytes(read);
        while let Progress::Event(event) = decoder.poll_event().unwrap() {
            match event {
                HttpEvent::Data(data) => body += black_box(&data).len(),
                HttpEvent::End { .. } => return body,
                _ => {}
            }
        }
    }
    unreachable!("response did not end")
}

/// The floor, streamed: the body pieces are counted as they come.
fn peer(wire: &[u8]) -> usize {
    let mut body = 0;
    peer_frames(wire, false, |piece| body += black_box(piece).len());
    body
}

/// httparse for the head, then a plain chunk loop handing each piece of body to `sink`. Reads
/// go through a growable buffer; with `straight`, a read is parsed where it lies whenever nothing
/// is left over from the one before, and only its undecoded tail is kept (what klient's
/// `read_body_from` does).
fn peer_frames(wire: &[u8], straight: bool, mut sink: impl FnMut(&[u8])) {
    let mut buf: Vec<u8> = Vec::with_capacity(2 * READ);
    let mut parser = PeerParser {
        in_head: true,
        chunk_left: None,
    };
    for read in wire.chunks(READ) {
        if straight && buf.is_empty() {
            match parser.parse(read, &mut sink) {
                Some(used) => buf.extend_from_slice(&read[used..]),
                None => return,
            }
        } else {
            buf.extend_from_slice(read);
            match parser.parse(&buf, &mut sink) {
                Some(used) => drop(buf.drain(..used)),
                None => return,
            }
        }
    }
    unreachable!("response did not end")
}

/// Where the floor's parser is between reads.
struct PeerParser {
    in_head: bool,
    chunk_left: Option<usize>,
}

impl PeerParser {
    /// Parses what it can of `data`: how many bytes it used, or `None` at the end of the body.
    fn parse(&mut self, data: &[u8], sink: &mut impl FnMut(&[u8])) -> Option<usize> {
        let mut pos = 0;
        loop {
            let rest = &data[pos..];
            if self.in_head {
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
                        self.in_head = false;
                    }
                    httparse::Status::Partial => return Some(pos),
                }
                continue;
            }
            match self.chunk_left {
                None => {
                    let Some(lf) = rest.iter().position(|b| *b == b'\n') else {
                        return Some(pos);
                    };
                    let line = std::str::from_utf8(&rest[..lf - 1]).unwrap();
                    let size = usize::from_str_radix(line.split(';').next().unwrap().trim(), 16).unwrap();
                    pos += lf + 1;
                    if size == 0 {
                        return None; // no trailers in this response
                    }
                    self.chunk_left = Some(size);
                }
                Some(0) => {
                    if rest.len() < 2 {
                        return Some(pos);
                    }
                    assert_eq!(&rest[..2], b"\r\n");
                    pos += 2;
                    self.chunk_left = None;
                }
                Some(left) => {
                    if rest.is_empty() {
                        return Some(pos);
                    }
                    let n = left.min(rest.len());
                    sink(&rest[..n]);
                    pos += n;
                    self.chunk_left = Some(left - n);
                }
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    let wire = api_server_response();
    let request = list_request();
    let (sent, body) = klient_whole(&request, &wire);
    for straight in [false, true] {
        let (peer_sent, peer_body) = peer_whole(&request, &wire, straight);
        assert_eq!((sent, &body), (peer_sent, &peer_body));
    }
    let mut whole = c.benchmark_group("whole_response_1MiB_chunked");
    whole.throughput(Throughput::Bytes(wire.len() as u64));
    whole.bench_function("klient", |b| {
        b.iter(|| {
            assert_eq!(
                klient_whole(black_box(&request), black_box(&wire)).1.len(),
                body.len()
            )
        })
    });
    // Two floors: the usual loop through a buffer, and one that skips the buffer as klient does.
    whole.bench_function("httparse+chunk_loop", |b| {
        b.iter(|| {
            assert_eq!(
                peer_whole(black_box(&request), black_box(&wire), false).1.len(),
                body.len()
            )
        })
    });
    whole.bench_function("httparse+chunk_loop_straight", |b| {
        b.iter(|| {
            assert_eq!(
                peer_whole(black_box(&request), black_box(&wire), true).1.len(),
                body.len()
            )
        })
    });
    whole.finish();

    let expected = klient(&wire);
    assert_eq!(expected, peer(&wire));
    let mut streamed = c.benchmark_group("streamed_body_1MiB_chunked");
    streamed.throughput(Throughput::Bytes(wire.len() as u64));
    streamed.bench_function("klient", |b| {
        b.iter(|| assert_eq!(klient(black_box(&wire)), expected))
    });
    streamed.bench_function("httparse+chunk_loop", |b| {
        b.iter(|| assert_eq!(peer(black_box(&wire)), expected))
    });
    streamed.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
