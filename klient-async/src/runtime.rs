//! What an async runtime provides to klient: a timer, background tasks, name resolution, TCP
//! connections, file reads and exec-plugin processes. Every protocol rule and every decision
//! about a request's life is klient-proto's; the async loop over them is this crate's, the same
//! for every runtime. `klient-tokio` implements [`Runtime`] with tokio, `klient-async-std` with
//! `async-io`, `async-net` and `async-process`; another runtime needs only this trait.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use klient_proto::auth::{PluginOutcome, PluginRun};

/// A boxed, sendable future, as a [`Runtime`] hands them out.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// An async runtime, as klient uses it. A value is cheap to clone (usually zero-sized) and
/// `Default` gives the one the adapter's `Client::try_default` runs on.
pub trait Runtime: Clone + Default + Send + Sync + Unpin + fmt::Debug + 'static {
    /// Ready at `at`.
    fn sleep_until(&self, at: Instant) -> BoxFuture<()>;

    /// Runs `future` to its end as a task of the runtime (a session's loop, a port-forward
    /// listener), or gives it back when the runtime runs no tasks of its own: then the handles
    /// the caller holds (stdio, port streams, the exit status, the listener's `serve`) drive it
    /// as they are polled, on whatever executor polls them.
    fn spawn(&self, future: BoxFuture<()>) -> Spawned;

    /// The socket addresses `host` (a name or an address literal, IPv6 without brackets)
    /// resolves to, with `port`.
    fn resolve(&self, host: String, port: u16) -> BoxFuture<io::Result<Vec<SocketAddr>>>;

    /// A TCP connection to `addr`, with Nagle's delay off and TCP keepalive after `keepalive`
    /// of silence (when given).
    fn connect(
        &self,
        addr: SocketAddr,
        keepalive: Option<Duration>,
    ) -> BoxFuture<io::Result<Box<dyn AsyncTcp>>>;

    /// A TCP listener bound to `addr` (a port-forward listener's local end). Called from a task
    /// of the runtime.
    fn listen(&self, addr: SocketAddr) -> io::Result<Box<dyn AsyncListener>>;

    /// A file's contents (a token file, a certificate), read without blocking the runtime.
    fn read_file(&self, path: PathBuf) -> BoxFuture<io::Result<Vec<u8>>>;

    /// Runs an exec credential plugin as `run` says (environment, stdio, output limits, its
    /// timeout, after which the process is killed) without blocking the runtime.
    fn run_plugin(&self, run: PluginRun) -> BoxFuture<PluginOutcome>;
}

/// What [`Runtime::spawn`] did with a future.
#[must_use]
pub enum Spawned {
    /// A task of the runtime runs it.
    Running,
    /// The runtime runs no tasks of its own: here it is back, to be driven by its handles.
    Declined(BoxFuture<()>),
}

impl fmt::Debug for Spawned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Spawned::Running => "Running",
            Spawned::Declined(_) => "Declined",
        })
    }
}

/// A TCP connection of the runtime: bytes both ways and a half-close.
pub trait AsyncTcp: Send + Sync + fmt::Debug {
    /// Reads into `buf`; `Ok(0)` is the end of the stream.
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;

    /// Writes from `buf`, returning how much the connection took.
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;

    /// Flushes what the connection buffers.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Closes the write side: the peer reads the end of the stream.
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// A TCP listener of the runtime.
pub trait AsyncListener: Send + Sync + fmt::Debug {
    /// The address it listens on (with the port the system chose for port 0).
    fn local_addr(&self) -> io::Result<SocketAddr>;

    /// The next connection.
    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Box<dyn AsyncTcp>>>;
}
