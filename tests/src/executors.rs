//! The executors the futures-io adapter's scenarios run on. Each offers `run` (one scenario to
//! its end) and `spawn` (a part of a scenario beside it, awaited for its value): the adapter
//! itself starts no task and no thread, so these are the test's own.

use std::future::Future;
use std::pin::Pin;

/// A part of a scenario running beside it; awaiting it gives its value (and its panic).
pub type Part<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Panics with the spawned part's own panic message when it panicked.
async fn joined<T: Send + 'static>(
    receiver: futures_channel::oneshot::Receiver<std::thread::Result<T>>,
) -> T {
    match receiver.await {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("the spawned part of the scenario vanished"),
    }
}

/// smol's `block_on` on the test's thread; a spawned part gets a thread with a `block_on` of its
/// own.
pub mod smol_block_on {
    use super::*;

    /// Runs `scenario` to its end on this thread.
    pub fn run(scenario: impl Future<Output = ()>) {
        smol::block_on(scenario)
    }

    /// Runs `part` on a thread of its own.
    pub fn spawn<T: Send + 'static>(part: impl Future<Output = T> + Send + 'static) -> Part<T> {
        let (tx, rx) = futures_channel::oneshot::channel();
        std::thread::spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| smol::block_on(part)));
            let _ = tx.send(outcome);
        });
        Box::pin(joined(rx))
    }
}

/// async-std's `task::block_on`; a spawned part is an async-std task (on its executor's threads).
pub mod async_std_block_on {
    use super::*;

    /// Runs `scenario` to its end with `async_std::task::block_on`.
    pub fn run(scenario: impl Future<Output = ()>) {
        async_std::task::block_on(scenario)
    }

    /// Runs `part` as an async-std task.
    pub fn spawn<T: Send + 'static>(part: impl Future<Output = T> + Send + 'static) -> Part<T> {
        Box::pin(async_std::task::spawn(part))
    }
}

/// One `smol::Executor` driven by three threads: the scenario is a task of it, so it moves
/// between threads at every wake-up, and so do the parts it spawns.
pub mod smol_threads {
    use super::*;
    use std::sync::LazyLock;

    static EXECUTOR: LazyLock<&'static smol::Executor<'static>> = LazyLock::new(|| {
        let executor: &'static smol::Executor<'static> = Box::leak(Box::new(smol::Executor::new()));
        for n in 0..3 {
            std::thread::Builder::new()
                .name(format!("smol-worker-{n}"))
                .spawn(move || smol::block_on(executor.run(std::future::pending::<()>())))
                .expect("an executor thread");
        }
        executor
    });

    /// Runs `scenario` as a task of the shared executor and waits for it on this thread.
    pub fn run(scenario: impl Future<Output = ()> + Send + 'static) {
        smol::block_on(EXECUTOR.spawn(scenario))
    }

    /// Runs `part` as another task of the shared executor.
    pub fn spawn<T: Send + 'static>(part: impl Future<Output = T> + Send + 'static) -> Part<T> {
        Box::pin(EXECUTOR.spawn(part))
    }
}
