//! A TCP proxy that closes a connection once no byte has crossed it, either way, for a while — as
//! load balancers, NATs and cloud proxies do. A long-lived session's keepalive must get through it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often a copy looks at the clock while nothing arrives.
const TICK: Duration = Duration::from_millis(50);

/// The proxy; stops accepting when dropped (connections already made run to their end).
pub struct IdleProxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    idle_closes: Arc<AtomicUsize>,
    accept: Option<JoinHandle<()>>,
}

impl IdleProxy {
    /// Listens on a free port of 127.0.0.1 and forwards each connection to `target`, closing it
    /// after `idle` without a byte either way.
    pub fn start(target: SocketAddr, idle: Duration) -> IdleProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let addr = listener.local_addr().expect("the proxy's address");
        let stop = Arc::new(AtomicBool::new(false));
        let idle_closes = Arc::new(AtomicUsize::new(0));
        let (stopping, closes) = (stop.clone(), idle_closes.clone());
        let accept = std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let closes = closes.clone();
                std::thread::spawn(move || relay(client, server, idle, &closes));
            }
        });
        IdleProxy {
            addr,
            stop,
            idle_closes,
            accept: Some(accept),
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections the proxy closed for being idle.
    pub fn idle_closes(&self) -> usize {
        self.idle_closes.load(Ordering::SeqCst)
    }
}

impl Drop for IdleProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Copies both ways until either side ends or the connection has been idle for `idle`.
fn relay(client: TcpStream, server: TcpStream, idle: Duration, closes: &AtomicUsize) {
    let last = Arc::new(Mutex::new(Instant::now()));
    let done = Arc::new(AtomicBool::new(false));
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let copy = |from: TcpStream, to: TcpStream, last: Arc<Mutex<Instant>>, done: Arc<AtomicBool>| {
        std::thread::spawn(move || {
            let _ = copy_until_done(from, to, &last, &done);
            done.store(true, Ordering::SeqCst);
        })
    };
    let up = copy(client, server2, last.clone(), done.clone());
    let down = copy(server, client2, last.clone(), done.clone());
    let idle_closed = loop {
        std::thread::sleep(TICK);
        if done.load(Ordering::SeqCst) {
            break false;
        }
        if last.lock().unwrap().elapsed() >= idle {
            done.store(true, Ordering::SeqCst);
            break true;
        }
    };
    let _ = up.join();
    let _ = down.join();
    if idle_closed {
        closes.fetch_add(1, Ordering::SeqCst);
    }
}

fn copy_until_done(
    mut from: TcpStream,
    mut to: TcpStream,
    last: &Mutex<Instant>,
    done: &AtomicBool,
) -> io::Result<()> {
    from.set_read_timeout(Some(TICK))?;
    let mut buf = vec![0u8; 64 * 1024];
    let result = loop {
        if done.load(Ordering::SeqCst) {
            break Ok(());
        }
        match from.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                *last.lock().unwrap() = Instant::now();
                if let Err(e) = to.write_all(&buf[..n]) {
                    break Err(e);
                }
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) => break Err(e),
        }
    };
    // Either end closing, or the idle deadline, closes both sockets.
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
    result
}
