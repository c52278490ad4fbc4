//! Clients of a port-forward listener whose pod's port is the cluster's echo server: std sockets
//! on threads of their own (what accepts and forwards them is the adapter's), each sending bytes
//! of its own and checking every byte that comes back.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

/// The bytes connection `i` sends: distinct per connection, so a mix-up shows.
pub fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| (j.wrapping_mul(31) ^ i.wrapping_mul(2_654_435_761)) as u8)
        .collect()
}

/// How a client of the listener ends its side.
#[derive(Debug, Clone, Copy)]
pub enum ClientEnd {
    /// It half-closes after sending and reads the echo to its end (the tunnel passes the
    /// half-close on both ways: the echo server ends its side in turn).
    HalfClose,
    /// It reads back exactly what it sent, then closes (the v4 protocol has no half-close).
    ReadBack,
}

/// Starts `connections` clients of the listener at `address` at once, each sending `len` bytes;
/// each thread panics unless every byte came back.
pub fn echo_clients(
    address: SocketAddr,
    connections: usize,
    len: usize,
    end: ClientEnd,
) -> Vec<JoinHandle<()>> {
    (0..connections)
        .map(|i| std::thread::spawn(move || echo_client(address, i, len, end)))
        .collect()
}

fn echo_client(address: SocketAddr, i: usize, len: usize, end: ClientEnd) {
    let mut connection = TcpStream::connect(address).unwrap();
    connection
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let sent = payload(i, len);
    let mut writer = connection.try_clone().unwrap();
    let to_send = sent.clone();
    let sender = std::thread::spawn(move || {
        writer.write_all(&to_send).unwrap();
        if let ClientEnd::HalfClose = end {
            // The pod's side sees the end of input: the echo server then ends its side.
            writer.shutdown(Shutdown::Write).unwrap();
        }
    });
    let mut echoed = Vec::new();
    let read = match end {
        ClientEnd::HalfClose => connection.read_to_end(&mut echoed).map(|_| ()),
        ClientEnd::ReadBack => {
            echoed.resize(len, 0);
            connection.read_exact(&mut echoed)
        }
    };
    if let Err(e) = read {
        panic!("connection {i}: {e} after {} of {len} bytes back", echoed.len());
    }
    sender.join().unwrap();
    assert!(
        echoed == sent,
        "connection {i}: {} bytes back, or different ones",
        echoed.len()
    );
}
