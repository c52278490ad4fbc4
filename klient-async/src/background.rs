//! Work that goes on while its caller does other things — a session's loop, a port-forward
//! listener — on any executor. A runtime with tasks of its own (tokio) runs it as a task; a
//! runtime without (the futures-io adapter, which must run on whatever executor polls it and
//! start no threads) hands it back, and then the caller's handles drive it: each poll of a
//! stdout reader, a stdin writer, a port stream or an exit-status future first polls the shared
//! work, so the session moves whenever its caller waits on any part of it.
//!
//! The work is polled with a waker that wakes every handle waiting on it, so that whichever of
//! them the executor polls next takes the work further, on whichever thread; at most one polls
//! it at a time, the others find it busy and rely on that one (their wakers are registered
//! before they look, so no wake-up is lost).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use crate::runtime::{BoxFuture, Runtime, Spawned};

/// One caller's hold on a piece of background work. The work ends on its own; when it was not
/// given to a runtime's task, it is dropped with the last handle.
pub(crate) struct Background {
    shared: Arc<Shared>,
    /// This handle's place among the waiting wakers.
    id: u64,
    /// Whether this handle's polls drive the work (when no task of the runtime does).
    drives: bool,
}

/// Which of a handle's uses polled: a handle split into a reader and a writer is polled by two
/// tasks, and both must be woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Reading,
    Writing,
}

struct Shared {
    work: Mutex<Option<BoxFuture<()>>>,
    finished: AtomicBool,
    /// The waker of each handle's latest poll, per side.
    waiting: Mutex<Vec<((u64, Side), Waker)>>,
    next_id: AtomicU64,
    /// Handles alive; the work is dropped with the last (its wakers point back here, so it would
    /// otherwise keep itself alive).
    handles: AtomicUsize,
}

impl Background {
    /// Starts `work`: as a task of `runtime` when it runs tasks, else driven by the handles.
    pub(crate) fn start<R: Runtime>(runtime: &R, work: BoxFuture<()>) -> Background {
        let shared = Arc::new(Shared {
            work: Mutex::new(None),
            finished: AtomicBool::new(false),
            waiting: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
            handles: AtomicUsize::new(0),
        });
        *lock(&shared.work) = Some(work);
        let mut caller = Background::new(&shared, false);
        let task = Background::new(&shared, true);
        let driving = Box::pin(std::future::poll_fn(move |cx| task.poll_finished(cx)));
        if let Spawned::Declined(_) = runtime.spawn(driving) {
            caller.drives = true;
        }
        caller
    }

    fn new(shared: &Arc<Shared>, drives: bool) -> Background {
        shared.handles.fetch_add(1, Ordering::Relaxed);
        Background {
            shared: shared.clone(),
            id: shared.next_id.fetch_add(1, Ordering::Relaxed),
            drives,
        }
    }

    /// Another handle on the same work (for another part of the caller's API).
    pub(crate) fn handle(&self) -> Background {
        Background::new(&self.shared, self.drives)
    }

    /// Takes the work as far as it goes now, when the handles drive it; a handle calls this
    /// before it looks at its own queue (to read, or for anything but writing).
    pub(crate) fn drive(&self, cx: &mut Context<'_>) {
        self.drive_as(cx, Side::Reading);
    }

    /// As [`drive`](Self::drive), for a write: a stream split into halves is read by one task
    /// and written by another, and each must hear of progress.
    pub(crate) fn drive_writing(&self, cx: &mut Context<'_>) {
        self.drive_as(cx, Side::Writing);
    }

    fn drive_as(&self, cx: &mut Context<'_>, side: Side) {
        if self.drives && !self.shared.finished.load(Ordering::Acquire) {
            self.register(cx.waker(), side);
            self.shared.poll_work();
        }
    }

    /// Ready once the work has ended.
    pub(crate) fn poll_finished(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.shared.finished.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        self.register(cx.waker(), Side::Reading);
        if self.drives {
            self.shared.poll_work();
        }
        // Finished while registering: the wake-up may have gone to the old waker.
        if self.shared.finished.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        Poll::Pending
    }

    fn register(&self, waker: &Waker, side: Side) {
        let key = (self.id, side);
        let mut waiting = lock(&self.shared.waiting);
        match waiting.iter_mut().find(|(k, _)| *k == key) {
            Some((_, known)) if known.will_wake(waker) => {}
            Some((_, known)) => *known = waker.clone(),
            None => waiting.push((key, waker.clone())),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        lock(&self.shared.waiting).retain(|((id, _), _)| *id != self.id);
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Nobody can poll it any more.
            let work = lock(&self.shared.work).take();
            drop(work);
        }
    }
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background")
            .field("finished", &self.shared.finished.load(Ordering::Relaxed))
            .field("driven_by_handles", &self.drives)
            .finish()
    }
}

impl Shared {
    /// Polls the work unless another handle is polling it right now.
    fn poll_work(self: &Arc<Self>) {
        let Ok(mut work) = self.work.try_lock() else {
            return;
        };
        let Some(future) = work.as_mut() else {
            return;
        };
        let waker = Waker::from(self.clone());
        if future.as_mut().poll(&mut Context::from_waker(&waker)).is_ready() {
            *work = None;
            self.finished.store(true, Ordering::Release);
            drop(work);
            self.wake_all();
        }
    }

    fn wake_all(&self) {
        let wakers: Vec<Waker> = lock(&self.waiting).iter().map(|(_, w)| w.clone()).collect();
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// The work is ready to go on: every waiting handle hears it.
impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_all();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_all();
    }
}

/// A lock of a mutex that a panic elsewhere cannot make unusable (the data are wakers and a
/// future whose own state says what it is).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
