//! WebSocket masking, frame encoding and message decoding, side by side with peer crates.
//!
//! - `ws_mask`: klient's `apply_mask` against a plain `copy_from_slice` (memcpy, the floor for a
//!   pass over the bytes) and fastwebsockets' exported `unmask`. tungstenite keeps its
//!   `apply_mask` private, so it is measured through its public frame encoder below.
//! - `ws_encode`: one masked binary frame, header + copy + mask: klient's `encode_frame` against
//!   tungstenite's `Frame::format` with a masked header.
//! - `ws_decode`: one binary server frame to an owned message: klient's `Connection` against
//!   tungstenite's `WebSocket::read` (client role) on an in-memory stream.

use std::hint::black_box;
use std::io::{self, Read, Write};
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use klient_proto::ws::encoder::encode_frame;
use klient_proto::ws::frame::{FrameHeader, OpCode};
use klient_proto::ws::mask::apply_mask;
use klient_proto::ws::{Config, Connection, Progress, WsEvent};
use tungstenite::protocol::frame::coding::{Data, OpCode as TOpCode};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31) as u8).collect()
}

fn mask(c: &mut Criterion) {
    let mut group = c.benchmark_group("ws_mask");
    for len in [16usize, 128, 1024, 16 << 10, 64 << 10, 1 << 20] {
        group.throughput(Throughput::Bytes(len as u64));
        let src = payload(len);
        let mut buf = src.clone();
        group.bench_with_input(BenchmarkId::new("klient", len), &len, |b, _| {
            b.iter(|| apply_mask(black_box(&mut buf), black_box(KEY), 0))
        });
        group.bench_with_input(BenchmarkId::new("memcpy", len), &len, |b, _| {
            b.iter(|| black_box(&mut buf).copy_from_slice(black_box(&src)))
        });
        group.bench_with_input(BenchmarkId::new("fastwebsockets", len), &len, |b, _| {
            b.iter(|| fastwebsockets::unmask(black_box(&mut buf), black_box(KEY)))
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("ws_encode");
    for len in [125usize, 16 << 10, 1 << 20] {
        group.throughput(Throughput::Bytes(len as u64));
        let data = payload(len);
        let bytes = bytes::Bytes::from(data.clone());
        let mut out = Vec::with_capacity(len + 14);
        group.bench_with_input(BenchmarkId::new("klient", len), &len, |b, _| {
            b.iter(|| {
                out.clear();
                encode_frame(&mut out, OpCode::Binary, true, 0, black_box(&data), KEY);
                black_box(&out);
            })
        });
        group.bench_with_input(BenchmarkId::new("tungstenite", len), &len, |b, _| {
            b.iter(|| {
                out.clear();
                let mut frame = tungstenite::protocol::frame::Frame::message(
                    black_box(bytes.clone()),
                    TOpCode::Data(Data::Binary),
                    true,
                );
                frame.header_mut().mask = Some(KEY);
                frame.format(&mut out).unwrap();
                black_box(&out);
            })
        });
    }
    group.finish();
}

/// An endless stream repeating one frame; writes are discarded.
struct Repeating {
    wire: Vec<u8>,
    pos: usize,
}

impl Read for Repeating {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.wire[self.pos..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos = (self.pos + n) % self.wire.len();
        Ok(n)
    }
}

impl Write for Repeating {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("ws_decode");
    for len in [125usize, 16 << 10, 1 << 20] {
        group.throughput(Throughput::Bytes(len as u64));
        let mut wire = Vec::new();
        FrameHeader {
            fin: true,
            rsv: 0,
            opcode: OpCode::Binary,
            mask: None,
            payload_len: len as u64,
        }
        .write(&mut wire);
        wire.extend(payload(len));

        let mut conn = Connection::new(Config::default(), || KEY, Instant::now());
        group.bench_with_input(BenchmarkId::new("klient", len), &len, |b, _| {
            b.iter(|| {
                conn.handle_bytes(black_box(&wire));
                match conn.poll_event() {
                    Ok(Progress::Event(WsEvent::Message(m))) => black_box(m),
                    other => panic!("unexpected {other:?}"),
                };
            })
        });

        let stream = Repeating {
            wire: wire.clone(),
            pos: 0,
        };
        let mut socket =
            tungstenite::WebSocket::from_raw_socket(stream, tungstenite::protocol::Role::Client, None);
        group.bench_with_input(BenchmarkId::new("tungstenite", len), &len, |b, _| {
            b.iter(|| black_box(socket.read().unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, mask, encode, decode);
criterion_main!(benches);
