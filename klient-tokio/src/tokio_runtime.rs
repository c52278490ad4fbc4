//! tokio as a [`Runtime`]: its timer, tasks, resolver, sockets, files and processes.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use klient_async::{AsyncListener, AsyncTcp, BoxFuture, Runtime, Spawned};
use klient_proto::auth::{PluginOutcome, PluginRun, PluginStdio};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The tokio runtime the calling task runs on (its handle is taken from the context, so a
/// client is used from inside a tokio runtime, as with any tokio socket).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tokio;

impl Runtime for Tokio {
    fn sleep_until(&self, at: Instant) -> BoxFuture<()> {
        Box::pin(tokio::time::sleep_until(at.into()))
    }

    fn spawn(&self, future: BoxFuture<()>) -> Spawned {
        tokio::spawn(future);
        Spawned::Running
    }

    fn resolve(&self, host: String, port: u16) -> BoxFuture<io::Result<Vec<SocketAddr>>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), port)).await?.collect()) })
    }

    fn connect(
        &self,
        addr: SocketAddr,
        keepalive: Option<Duration>,
    ) -> BoxFuture<io::Result<Box<dyn AsyncTcp>>> {
        Box::pin(async move {
            let tcp = TcpStream::connect(addr).await?;
            // Requests are written whole; Nagle's delay would only hold them back.
            tcp.set_nodelay(true)?;
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
                socket2::SockRef::from(&tcp).set_tcp_keepalive(&keepalive)?;
            }
            Ok(Box::new(TokioTcp(tcp)) as Box<dyn AsyncTcp>)
        })
    }

    fn listen(&self, addr: SocketAddr) -> io::Result<Box<dyn AsyncListener>> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(Box::new(TokioListener(tokio::net::TcpListener::from_std(
            listener,
        )?)))
    }

    fn read_file(&self, path: PathBuf) -> BoxFuture<io::Result<Vec<u8>>> {
        Box::pin(tokio::fs::read(path))
    }

    fn run_plugin(&self, run: PluginRun) -> BoxFuture<PluginOutcome> {
        Box::pin(run_plugin(run))
    }
}

/// A tokio TCP connection.
#[derive(Debug)]
struct TokioTcp(TcpStream);

impl AsyncTcp for TokioTcp {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        ready!(Pin::new(&mut self.0).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// A tokio TCP listener.
#[derive(Debug)]
struct TokioListener(tokio::net::TcpListener);

impl AsyncListener for TokioListener {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Box<dyn AsyncTcp>>> {
        let (tcp, _) = ready!(self.0.poll_accept(cx))?;
        tcp.set_nodelay(true)?;
        Poll::Ready(Ok(Box::new(TokioTcp(tcp))))
    }
}

/// Runs a plugin as the machine asked: stdio, environment, output limits, timeout. The child is
/// killed at its timeout, and also when the request waiting for it is dropped.
async fn run_plugin(run: PluginRun) -> PluginOutcome {
    let mut command = tokio::process::Command::new(&run.command);
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
        tokio::join!(
            drain(stdout, run.max_stdout_len.saturating_add(1)),
            drain(stderr, run.max_stderr_len),
            child.wait()
        )
    };
    let ended = match run.timeout {
        Some(timeout) => tokio::time::timeout(timeout, finished).await.ok(),
        None => Some(finished.await),
    };
    let Some((stdout, stderr, status)) = ended else {
        let _ = child.kill().await;
        return PluginOutcome::TimedOut;
    };
    PluginOutcome::finished(status, stdout, stderr)
}

/// Reads a pipe to its end, keeping the first `keep` bytes.
async fn drain(pipe: Option<impl AsyncRead + Unpin>, keep: usize) -> io::Result<Vec<u8>> {
    let mut kept = Vec::new();
    if let Some(mut pipe) = pipe {
        (&mut pipe).take(keep as u64).read_to_end(&mut kept).await?;
        tokio::io::copy(&mut pipe, &mut tokio::io::sink()).await?;
    }
    Ok(kept)
}
