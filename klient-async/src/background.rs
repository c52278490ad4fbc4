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
    /// Set by every handle before it tries to poll the work: when another handle holds it, the
    /// holder polls again after its poll, so that what woke the first is not lost.
    wanted: AtomicBool,
    /// Set when the last handle went while the work was being polled: its poller drops it.
    abandoned: AtomicBool,
}

impl Background {
    /// Starts `work`: as a task of `runtime` when it runs tasks, else driven by the handles.
    pub(crate) fn start<R: Runtime>(runtime: &R, work: BoxFuture<()>) -> Background {
        Background::start_with(|task| runtime.spawn(task), work)
    }

    /// [`start`](Self::start) with `spawn` for the runtime's.
    fn start_with(spawn: impl FnOnce(BoxFuture<()>) -> Spawned, work: BoxFuture<()>) -> Background {
        let shared = Arc::new(Shared {
            work: Mutex::new(None),
            finished: AtomicBool::new(false),
            waiting: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
            handles: AtomicUsize::new(0),
            wanted: AtomicBool::new(false),
            abandoned: AtomicBool::new(false),
        });
        *lock(&shared.work) = Some(work);
        let mut caller = Background::new(&shared, false);
        let task = Background::new(&shared, true);
        let driving = Box::pin(std::future::poll_fn(move |cx| task.poll_finished(cx)));
        if let Spawned::Declined(_) = spawn(driving) {
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
        // Wakers are dropped outside the lock: dropping one may drop other work, and handles.
        let mine: Vec<_> = {
            let mut waiting = lock(&self.shared.waiting);
            let (mine, others) = std::mem::take(&mut *waiting)
                .into_iter()
                .partition(|((id, _), _)| *id == self.id);
            *waiting = others;
            mine
        };
        drop(mine);
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Nobody can poll it any more: drop it now, or leave that to whoever is polling it.
            match self.shared.work.try_lock() {
                Ok(mut work) => {
                    let work = work.take();
                    drop(work);
                }
                Err(_) => self.shared.abandoned.store(true, Ordering::Release),
            }
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
    /// Polls the work unless another handle is polling it right now; then that one polls it
    /// once more when it is done.
    fn poll_work(self: &Arc<Self>) {
        self.wanted.store(true, Ordering::SeqCst);
        loop {
            let Ok(mut work) = self.work.try_lock() else {
                return;
            };
            // Nobody asked since the last poll (which saw everything that woke them).
            if !self.wanted.swap(false, Ordering::SeqCst) {
                return;
            }
            let Some(future) = work.as_mut() else {
                return;
            };
            let waker = Waker::from(self.clone());
            let ready = future.as_mut().poll(&mut Context::from_waker(&waker)).is_ready();
            if ready || self.abandoned.load(Ordering::Acquire) {
                let ended = work.take();
                drop(work);
                drop(ended);
                if ready {
                    self.finished.store(true, Ordering::Release);
                    self.wake_all();
                }
                return;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use futures_channel::oneshot;
    use std::future::Future;
    use std::sync::atomic::AtomicUsize;

    /// A waker that counts its wake-ups.
    #[derive(Default)]
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Counter>, Waker) {
        let counter = Arc::new(Counter::default());
        (counter.clone(), Waker::from(counter))
    }

    fn woken(counter: &Counter) -> usize {
        counter.0.load(Ordering::SeqCst)
    }

    /// Sets its flag when dropped.
    struct DropFlag(Arc<AtomicBool>);

    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// Work that ends when `go` fires, counting its polls.
    fn work_until(go: oneshot::Receiver<()>, polls: Arc<AtomicUsize>) -> BoxFuture<()> {
        let mut go = go;
        Box::pin(std::future::poll_fn(move |cx| {
            polls.fetch_add(1, Ordering::SeqCst);
            std::pin::Pin::new(&mut go).poll(cx).map(|_| ())
        }))
    }

    #[test]
    fn declined_work_is_driven_by_whichever_handle_is_polled_and_wakes_them_all() {
        let (go, went) = oneshot::channel();
        let polls = Arc::new(AtomicUsize::new(0));
        let reader = Background::start_with(Spawned::Declined, work_until(went, polls.clone()));
        let writer = reader.handle();
        let (read_count, read_waker) = counter();
        let (write_count, write_waker) = counter();
        reader.drive(&mut Context::from_waker(&read_waker));
        writer.drive_writing(&mut Context::from_waker(&write_waker));
        assert_eq!(
            polls.load(Ordering::SeqCst),
            2,
            "each handle's poll drove the work"
        );
        go.send(()).unwrap();
        assert_eq!(
            (woken(&read_count), woken(&write_count)),
            (1, 1),
            "both heard of it"
        );
        assert!(
            writer
                .poll_finished(&mut Context::from_waker(&write_waker))
                .is_ready()
        );
        assert!(
            reader
                .poll_finished(&mut Context::from_waker(&read_waker))
                .is_ready()
        );
    }

    #[test]
    fn one_handle_read_and_written_from_two_tasks_wakes_both() {
        let (go, went) = oneshot::channel();
        let stream = Background::start_with(Spawned::Declined, work_until(went, Arc::default()));
        let (read_count, read_waker) = counter();
        let (write_count, write_waker) = counter();
        // The halves of one split stream: the same handle, two tasks.
        stream.drive(&mut Context::from_waker(&read_waker));
        stream.drive_writing(&mut Context::from_waker(&write_waker));
        go.send(()).unwrap();
        assert_eq!((woken(&read_count), woken(&write_count)), (1, 1));
    }

    #[test]
    fn the_last_handle_dropped_drops_declined_work_even_when_it_holds_its_own_waker() {
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = DropFlag(dropped.clone());
        // The work keeps the sender of the channel it waits on: the channel then holds the
        // work's waker, which points back at the work.
        let (go, mut went) = oneshot::channel::<()>();
        let work: BoxFuture<()> = Box::pin(std::future::poll_fn(move |cx| {
            let _keep = (&flag, &go);
            std::pin::Pin::new(&mut went).poll(cx).map(|_| ())
        }));
        let first = Background::start_with(Spawned::Declined, work);
        let second = first.handle();
        let (_, waker) = counter();
        first.drive(&mut Context::from_waker(&waker));
        drop(first);
        assert!(!dropped.load(Ordering::SeqCst), "a handle is still there");
        drop(second);
        assert!(
            dropped.load(Ordering::SeqCst),
            "the work went with the last handle"
        );
    }

    #[test]
    fn spawned_work_is_left_to_its_task_and_the_handles_hear_its_end() {
        let (go, went) = oneshot::channel();
        let polls = Arc::new(AtomicUsize::new(0));
        let mut task = None;
        let handle = Background::start_with(
            |driving| {
                task = Some(driving);
                Spawned::Running
            },
            work_until(went, polls.clone()),
        );
        let mut task = task.expect("the work was spawned");
        let (count, waker) = counter();
        handle.drive(&mut Context::from_waker(&waker));
        assert!(
            handle
                .poll_finished(&mut Context::from_waker(&waker))
                .is_pending()
        );
        assert_eq!(
            polls.load(Ordering::SeqCst),
            0,
            "a handle never polls a task's work"
        );
        let (_, task_waker) = counter();
        assert!(
            task.as_mut()
                .poll(&mut Context::from_waker(&task_waker))
                .is_pending()
        );
        go.send(()).unwrap();
        assert!(
            task.as_mut()
                .poll(&mut Context::from_waker(&task_waker))
                .is_ready()
        );
        assert!(woken(&count) >= 1, "the waiting handle was woken");
        assert!(handle.poll_finished(&mut Context::from_waker(&waker)).is_ready());
    }
}
