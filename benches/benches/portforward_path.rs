//! The port-forward data path through klient-proto, both directions: kubectl's tunnel (SPDY/3.1
//! data frames inside WebSocket messages, [`PortTunnel`]) against the v4 channel protocol
//! ([`PortForward`], one WebSocket message per chunk with a channel byte), with a plain copy of
//! the bytes as the floor. No Rust crate speaks Kubernetes' SPDY, so the channel protocol, which
//! every other client uses, is the peer.
//!
//! - `pf_send`: 1 MiB handed over in chunks of 32 KiB (what `io::copy` reads) and 256 KiB (what
//!   the listeners read), to the bytes on the wire (frames built and masked).
//! - `pf_receive`: 1 MiB arriving as the kubelet writes it (32 KiB data frames, one WebSocket
//!   message each, through the apiserver), to the events handed out.

use std::hint::black_box;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use klient_proto::remote::{
    PortForward, PortForwardConfig, PortTunnel, Ports, Progress, TunnelCommand, V4_CHANNEL, tunnel_ws_config,
};
use klient_proto::spdy::SessionConfig;
use klient_proto::spdy::frame::data;
use klient_proto::ws::{Config, Connection};

const TOTAL: usize = 1 << 20;

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31) as u8).collect()
}

/// An unmasked binary server message.
fn server_message(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x82];
    if payload.len() < 126 {
        out.push(payload.len() as u8);
    } else if payload.len() <= 0xFFFF {
        out.push(126);
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    }
    out.extend_from_slice(payload);
    out
}

fn tunnel(now: Instant) -> PortTunnel {
    let quiet = SessionConfig {
        ping_interval: None,
        ..SessionConfig::default()
    };
    let mut tunnel = PortTunnel::over_websocket(
        Connection::new(tunnel_ws_config(), || [1, 2, 3, 4], now),
        quiet,
        now,
    );
    tunnel.command(TunnelCommand::Open { conn: 0, port: 8080 }, now);
    while tunnel.poll_transmit().is_some() {}
    tunnel
}

fn channels(now: Instant) -> PortForward {
    let conn = Connection::new(Config::default(), || [1, 2, 3, 4], now);
    let config = PortForwardConfig {
        max_send_message: 256 << 10,
    };
    let mut pf = PortForward::new(conn, Some(V4_CHANNEL), &Ports::new(&[8080]).unwrap(), config).unwrap();
    // The server's port prefixes on the data and error channels.
    for channel in [0u8, 1] {
        pf.handle_bytes(&server_message(&[channel, 0x90, 0x1F]));
    }
    while let Ok(Progress::Event(_)) = pf.poll_event() {}
    pf
}

fn send(c: &mut Criterion) {
    let mut group = c.benchmark_group("pf_send");
    group.throughput(Throughput::Bytes(TOTAL as u64));
    let now = Instant::now();
    for chunk in [32usize << 10, 256 << 10] {
        let data = payload(chunk);
        group.bench_with_input(BenchmarkId::new("tunnel", chunk), &chunk, |b, _| {
            let mut tunnel = tunnel(now);
            b.iter(|| {
                for _ in 0..TOTAL / chunk {
                    tunnel.command(TunnelCommand::Send(0, black_box(&data).clone()), now);
                    while let Some(wire) = tunnel.poll_transmit() {
                        black_box(wire);
                    }
                }
            })
        });
        group.bench_with_input(BenchmarkId::new("v4_channels", chunk), &chunk, |b, _| {
            let mut pf = channels(now);
            b.iter(|| {
                for _ in 0..TOTAL / chunk {
                    pf.send(0, black_box(&data)).unwrap();
                    while let Some(wire) = pf.poll_transmit() {
                        black_box(wire);
                    }
                }
            })
        });
        group.bench_with_input(BenchmarkId::new("copy", chunk), &chunk, |b, _| {
            b.iter(|| {
                for _ in 0..TOTAL / chunk {
                    black_box(black_box(&data).clone());
                }
            })
        });
    }
    group.finish();
}

fn receive(c: &mut Criterion) {
    let mut group = c.benchmark_group("pf_receive");
    group.throughput(Throughput::Bytes(TOTAL as u64));
    let now = Instant::now();
    let chunk = payload(32 << 10);
    let mut spdy_wire = Vec::new();
    let mut v4_wire = Vec::new();
    for _ in 0..TOTAL / chunk.len() {
        let mut frame = Vec::new();
        data(&mut frame, 3, &chunk, false);
        spdy_wire.extend_from_slice(&server_message(&frame));
        let mut message = vec![0u8];
        message.extend_from_slice(&chunk);
        v4_wire.extend_from_slice(&server_message(&message));
    }
    let reply = {
        let mut encoder = klient_proto::spdy::FrameEncoder::new();
        let mut out = Vec::new();
        for stream in [1, 3] {
            encoder.syn_reply(&mut out, stream, false, &klient_proto::spdy::Headers::new());
        }
        server_message(&out)
    };
    group.bench_function("tunnel", |b| {
        let mut tunnel = tunnel(now);
        tunnel.handle_bytes(&reply);
        b.iter(|| {
            let mut got = 0;
            // The transport reads 64 KiB at a time.
            for piece in spdy_wire.chunks(64 << 10) {
                tunnel.handle_bytes(black_box(piece));
                while let Ok(Progress::Event(event)) = tunnel.poll_event() {
                    if let klient_proto::remote::TunnelEvent::Data(_, bytes) = event {
                        got += bytes.len();
                    }
                }
            }
            assert_eq!(got, TOTAL);
        })
    });
    group.bench_function("v4_channels", |b| {
        let mut pf = channels(now);
        b.iter(|| {
            let mut got = 0;
            for piece in v4_wire.chunks(64 << 10) {
                pf.handle_bytes(black_box(piece));
                while let Ok(Progress::Event(event)) = pf.poll_event() {
                    if let klient_proto::remote::PortForwardEvent::Data { bytes, .. } = event {
                        got += bytes.len();
                    }
                }
            }
            assert_eq!(got, TOTAL);
        })
    });
    group.finish();
}

criterion_group!(benches, send, receive);
criterion_main!(benches);
