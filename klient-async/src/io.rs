//! Small futures over a connection and the runtime's timer, so that the rest of the crate reads
//! as plain `async` code.

use std::future::{Future, poll_fn};
use std::io;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::runtime::{AsyncTcp, Runtime};

/// Reads into `buf`.
pub(crate) async fn read(tcp: &mut dyn AsyncTcp, buf: &mut [u8]) -> io::Result<usize> {
    poll_fn(|cx| tcp.poll_read(cx, buf)).await
}

/// Writes all of `buf`.
pub(crate) async fn write_all(tcp: &mut dyn AsyncTcp, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match poll_fn(|cx| tcp.poll_write(cx, buf)).await? {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => buf = &buf[n..],
        }
    }
    Ok(())
}

/// `future`'s output, or `Err(Elapsed)` if `deadline` comes first (`None`: no deadline).
pub(crate) async fn until<R: Runtime, F: Future>(
    runtime: &R,
    deadline: Option<Instant>,
    future: F,
) -> Result<F::Output, Elapsed> {
    let mut future = pin!(future);
    let Some(deadline) = deadline else {
        return Ok(future.await);
    };
    let mut timer = runtime.sleep_until(deadline);
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        timer.as_mut().poll(cx).map(|()| Err(Elapsed))
    })
    .await
}

/// An I/O future that must finish within `limit` (`None`: no limit); running out is
/// [`io::ErrorKind::TimedOut`].
pub(crate) async fn within<R: Runtime, T>(
    runtime: &R,
    limit: Option<Duration>,
    what: &'static str,
    future: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let deadline = limit.and_then(|limit| Instant::now().checked_add(limit));
    match until(runtime, deadline, future).await {
        Ok(result) => result,
        Err(Elapsed) => Err(io::Error::new(io::ErrorKind::TimedOut, what)),
    }
}

/// A deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Elapsed;
