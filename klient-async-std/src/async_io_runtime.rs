//! `async-io` as a [`Runtime`]: its reactor's sockets and timers, `async-process` for exec
//! plugins — and no tasks and no threads of klient's own. [`Runtime::spawn`] declines, so a
//! session's loop and a port-forward listener are driven by the handles the caller polls, on
//! whatever executor polls them (smol, async-std, `futures::executor`, several threads or one).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use async_io::{Async, Timer};
use futures_lite::future;
use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use klient_async::{AsyncListener, AsyncTcp, BoxFuture, Runtime, Spawned};
use klient_proto::auth::{PluginOutcome, PluginRun, PluginStdio};

/// The `async-io` reactor that smol and async-std share. It needs no handle: any executor can
/// poll klient's futures, and the reactor runs beside it (on the thread of `block_on`, or on
/// `async-io`'s own thread when something else polls).
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncIo;

impl Runtime for AsyncIo {
    fn sleep_until(&self, at: Instant) -> BoxFuture<()> {
        let timer = Timer::at(at);
        Box::pin(async move {
            timer.await;
        })
    }

    fn spawn(&self, future: BoxFuture<()>) -> Spawned {
        // Which executor runs the program is the program's choice: the work is driven by the
        // handles the program polls instead.
        Spawned::Declined(future)
    }

    fn resolve(&self, host: String, port: u16) -> BoxFuture<io::Result<Vec<SocketAddr>>> {
        // An address needs no lookup; a host name needs getaddrinfo, which blocks, so it runs on
        // the `blocking` pool (as async-net's `resolve` does).
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Box::pin(future::ready(Ok(vec![SocketAddr::new(ip, port)])));
        }
        Box::pin(blocking::unblock(move || {
            Ok((host.as_str(), port).to_socket_addrs()?.collect())
        }))
    }

    fn connect(
        &self,
        addr: SocketAddr,
        keepalive: Option<Duration>,
    ) -> BoxFuture<io::Result<Box<dyn AsyncTcp>>> {
        Box::pin(async move {
            let tcp = Async::<TcpStream>::connect(addr).await?;
            // Requests are written whole; Nagle's delay would only hold them back.
            tcp.get_ref().set_nodelay(true)?;
            if let Some(idle) = keepalive {
                let keepalive = socket2::TcpKeepalive::new().with_time(idle);
                #[cfg(any(
                    target_os = "linux",
                    target_os = "android",
                    target_os = "macos",
                    target_os = "ios",
                    target_os = "freebsd",
                    target_os = "windows"
                ))]
                let keepalive = keepalive.with_interval(idle);
                socket2::SockRef::from(tcp.get_ref()).set_tcp_keepalive(&keepalive)?;
            }
            Ok(Box::new(AsyncIoTcp(tcp)) as Box<dyn AsyncTcp>)
        })
    }

    fn listen(&self, addr: SocketAddr) -> io::Result<Box<dyn AsyncListener>> {
        Ok(Box::new(AsyncIoListener(Async::<TcpListener>::bind(addr)?)))
    }

    fn read_file(&self, path: PathBuf) -> BoxFuture<io::Result<Vec<u8>>> {
        // Token files and certificates are small local files, read at most once a minute: read
        // in place rather than on a thread (async-fs would use the `blocking` pool).
        Box::pin(async move { std::fs::read(path) })
    }

    fn run_plugin(&self, run: PluginRun) -> BoxFuture<PluginOutcome> {
        Box::pin(WithReaper {
            plugin: Box::pin(run_plugin(run)),
            reaper: Box::pin(async_process::driver()),
        })
    }
}

/// A plugin's run beside async-process's reaper. async-process reaps children on a thread of
/// its own unless a future drives its reaper: this one does, for as long as the plugin runs. The
/// reaper is polled first (so it is driven before the child exists) and dropped last (so a run
/// dropped halfway drops its child, killed on drop, while the reaper is still driven: on Linux,
/// where children are watched through pidfds, no thread is ever started).
struct WithReaper {
    // Field order is drop order: the plugin, with its child, goes first.
    plugin: BoxFuture<PluginOutcome>,
    reaper: Pin<Box<dyn Future<Output = Infallible> + Send>>,
}

impl Future for WithReaper {
    type Output = PluginOutcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<PluginOutcome> {
        // The reaper never ends.
        let _ = self.reaper.as_mut().poll(cx);
        self.plugin.as_mut().poll(cx)
    }
}

/// An `async-io` TCP connection.
#[derive(Debug)]
struct AsyncIoTcp(Async<TcpStream>);

impl AsyncTcp for AsyncIoTcp {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.0.get_ref().shutdown(Shutdown::Write))
    }
}

/// An `async-io` TCP listener.
#[derive(Debug)]
struct AsyncIoListener(Async<TcpListener>);

impl AsyncListener for AsyncIoListener {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().local_addr()
    }

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Box<dyn AsyncTcp>>> {
        loop {
            match self.0.get_ref().accept() {
                Ok((tcp, _)) => {
                    tcp.set_nodelay(true)?;
                    return Poll::Ready(Ok(Box::new(AsyncIoTcp(Async::new(tcp)?))));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready!(self.0.poll_readable(cx))?,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

/// Runs a plugin as the machine asked: stdio, environment, output limits, timeout. The child is
/// killed at its timeout, and also when the request waiting for it is dropped.
async fn run_plugin(run: PluginRun) -> PluginOutcome {
    let mut command = async_process::Command::new(&run.command);
    command.args(&run.args).kill_on_drop(true);
    for var in &run.env {
        command.env(&var.name, var.value.expose());
    }
    let (stdin, stderr) = match run.stdio {
        PluginStdio::Interactive => (Stdio::inherit(), Stdio::inherit()),
        PluginStdio::Captured => (Stdio::null(), Stdio::piped()),
    };
    command.stdin(stdin).stdout(Stdio::piped()).stderr(stderr);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return PluginOutcome::CouldNotStart { kind: e.kind() },
    };
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    // The pipes are drained while the process runs, so it never blocks on a full one; one byte
    // over the stdout limit shows that the output was too large. A process the plugin left
    // behind may hold the pipes open: the timeout covers that too.
    let finished = async {
        let (stdout, (stderr, status)) = future::zip(
            drain(stdout, run.max_stdout_len.saturating_add(1)),
            future::zip(drain(stderr, run.max_stderr_len), child.status()),
        )
        .await;
        Some((stdout, stderr, status))
    };
    let ended = match run.timeout {
        Some(timeout) => {
            let expired = async {
                Timer::after(timeout).await;
                None
            };
            future::or(finished, expired).await
        }
        None => finished.await,
    };
    let Some((stdout, stderr, status)) = ended else {
        let _ = child.kill();
        // Reaped here, while this future still drives the reaper.
        let _ = child.status().await;
        return PluginOutcome::TimedOut;
    };
    PluginOutcome::finished(status, stdout, stderr)
}

/// Reads a pipe to its end, keeping the first `keep` bytes.
async fn drain(pipe: Option<impl AsyncRead + Unpin>, keep: usize) -> io::Result<Vec<u8>> {
    let mut kept = Vec::new();
    if let Some(mut pipe) = pipe {
        (&mut pipe).take(keep as u64).read_to_end(&mut kept).await?;
        futures_lite::io::copy(&mut pipe, futures_lite::io::sink()).await?;
    }
    Ok(kept)
}
