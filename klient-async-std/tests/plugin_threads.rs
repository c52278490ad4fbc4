//! Exec credential plugins on `async-io` start no thread: the run drives async-process's reaper
//! itself (polled first, dropped last), for a plugin that ends, one killed at its timeout and one
//! whose run is dropped halfway. Linux only (threads are read from /proc); one test, since it
//! looks at this process's threads.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use klient_async::Runtime;
use klient_async_std::AsyncIo;
use klient_proto::auth::{PluginExit, PluginOutcome, PluginRun, PluginStdio};

/// The names of this process's threads.
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task (this test needs Linux)")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect()
}

fn shell(script: &str, timeout: Option<Duration>) -> PluginRun {
    PluginRun {
        command: "sh".into(),
        args: vec!["-c".into(), script.into()],
        env: Vec::new(),
        stdio: PluginStdio::Captured,
        max_stdout_len: 1 << 20,
        max_stderr_len: 4096,
        timeout,
    }
}

/// Whether a process with exactly this command line is still running.
fn running(cmdline: &str) -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| std::fs::read(entry.ok()?.path().join("cmdline")).ok())
        .any(|line| {
            line.split(|b| *b == 0)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(&b' ')
                == cmdline.as_bytes()
        })
}

#[test]
fn plugins_that_end_time_out_or_are_dropped_start_no_thread() {
    let runtime = AsyncIo;
    smol::block_on(async {
        let outcome = runtime.run_plugin(shell("echo token", None)).await;
        match outcome {
            PluginOutcome::Exited { status, stdout, .. } => {
                assert_eq!(status, PluginExit::Code(0));
                assert_eq!(stdout, b"token\n");
            }
            other => panic!("{other:?}"),
        }

        // This process's id in the duration tells its plugins apart from any other `sleep`.
        let sleeper = format!("sleep 30.{}", std::process::id());
        let started = Instant::now();
        let outcome = runtime
            .run_plugin(shell(
                &format!("exec {sleeper}"),
                Some(Duration::from_millis(300)),
            ))
            .await;
        assert_eq!(outcome, PluginOutcome::TimedOut);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "killed at its timeout"
        );
        assert!(!running(&sleeper), "the timed-out plugin was killed");
    });

    // A run dropped while its plugin runs: the child is killed, and reaped without a thread.
    let marker = format!("sleep 31.{}", std::process::id());
    {
        let mut run = pin!(runtime.run_plugin(shell(&format!("exec {marker}"), None)));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(run.as_mut().poll(&mut cx).is_pending());
        let deadline = Instant::now() + Duration::from_secs(5);
        while !running(&marker) {
            assert!(Instant::now() < deadline, "the plugin never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(matches!(run.as_mut().poll(&mut cx), Poll::Pending));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while running(&marker) {
        assert!(
            Instant::now() < deadline,
            "the dropped run's plugin is still running"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // A reaper thread would start just after the drop: give it the time to show.
    std::thread::sleep(Duration::from_millis(300));
    let names = thread_names();
    assert!(
        !names
            .iter()
            .any(|name| name.contains("async-process") || name.starts_with("blocking")),
        "threads: {names:?}"
    );
}
