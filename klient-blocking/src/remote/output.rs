//! The queues from a session's pump to its readers (exec stdout and stderr, forwarded ports,
//! tunnel connections). They are bounded, like pipes. When one is full the pump holds the event
//! and stops reading the socket, so the server is slowed through TCP as a full pipe slows a
//! writer. It goes on with everything else meanwhile: the caller's writes and the session's
//! deadlines. The reader that makes room wakes it. Nothing is dropped, except for a reader that is
//! gone, which wants nothing more. klient's async adapters do the same, with the same bound.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};

use bytes::Bytes;

/// Chunks (one message's data each) queued for one reader at most.
pub(crate) const OUTPUT_QUEUE: usize = 16;

/// What one pump's queues share: whether the pump waits for room, and how to wake it.
#[derive(Clone)]
pub(crate) struct Room {
    pump_waits: Arc<AtomicBool>,
    waker: Arc<mio::Waker>,
}

impl Room {
    /// The room of the queues of the pump that `waker` wakes.
    pub(crate) fn new(waker: Arc<mio::Waker>) -> Room {
        Room {
            pump_waits: Arc::new(AtomicBool::new(false)),
            waker,
        }
    }

    /// A new queue from the pump to one reader.
    pub(crate) fn queue<T>(&self) -> (OutputSender<T>, Chunks<T>) {
        let (tx, rx) = mpsc::sync_channel(OUTPUT_QUEUE);
        (
            OutputSender {
                tx,
                pump_waits: self.pump_waits.clone(),
            },
            Chunks {
                rx,
                room: self.clone(),
            },
        )
    }

    /// A reader took an item: the pump, if it waits for room, may go on.
    fn taken(&self) {
        if self.pump_waits.swap(false, Ordering::SeqCst) {
            let _ = self.waker.wake();
        }
    }
}

/// The pump's end of a queue.
pub(crate) struct OutputSender<T> {
    tx: SyncSender<T>,
    pump_waits: Arc<AtomicBool>,
}

impl<T> Clone for OutputSender<T> {
    fn clone(&self) -> Self {
        OutputSender {
            tx: self.tx.clone(),
            pump_waits: self.pump_waits.clone(),
        }
    }
}

impl<T> OutputSender<T> {
    /// Queues `item`, or gives it back when the queue is full; the reader that makes room then
    /// wakes the pump. An item for a reader that is gone counts as handed over.
    pub(crate) fn offer(&self, item: T) -> Result<(), T> {
        // Raised before the attempt: a reader taking an item after the attempt found the queue
        // full sees it and wakes the pump. (The pump holds one item at a time, so no other
        // queue's success lowers it while one waits.)
        self.pump_waits.store(true, Ordering::SeqCst);
        match self.tx.try_send(item) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {
                self.pump_waits.store(false, Ordering::SeqCst);
                Ok(())
            }
            Err(TrySendError::Full(item)) => Err(item),
        }
    }
}

impl<T> OutputSender<T> {
    /// Queues `item` once the pump is over, waiting for room as long as the reader is there (its
    /// last item, such as why the session ended, is never dropped for want of room).
    pub(crate) fn hand_over(&self, item: T) {
        let _ = self.tx.send(item);
    }
}

/// A reader's end of a queue.
pub(crate) struct Chunks<T> {
    rx: Receiver<T>,
    room: Room,
}

impl<T> Chunks<T> {
    /// The next item, waiting for it; `None` once the pump is done with this queue.
    pub(crate) fn recv(&self) -> Option<T> {
        let item = self.rx.recv().ok()?;
        self.room.taken();
        Some(item)
    }
}

/// Reads from a queue of chunks (and the error that ends it) into `buf`; `Ok(0)` once the queue
/// has ended.
pub(crate) fn read_chunks(
    chunks: &Chunks<io::Result<Bytes>>,
    current: &mut Bytes,
    buf: &mut [u8],
) -> io::Result<usize> {
    while current.is_empty() {
        match chunks.recv() {
            Some(Ok(chunk)) => *current = chunk,
            Some(Err(error)) => return Err(error),
            None => return Ok(0),
        }
    }
    let n = buf.len().min(current.len());
    buf[..n].copy_from_slice(&current.split_to(n));
    Ok(n)
}
