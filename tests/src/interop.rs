//! Independent WebSocket servers for interop tests: echo servers on Python `websockets` and Node
//! `ws`, installed on first use into a cache outside the repository (`tests/interop/install.sh`).
//!
//! Missing tools or registries make the tests fail with the installer's message; they never skip.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

/// Serialises installs: tests of one binary run on parallel threads.
static INSTALL: Mutex<()> = Mutex::new(());

/// Which library serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EchoImpl {
    /// Python `websockets` (pip).
    PythonWebsockets,
    /// Node `ws` (npm).
    NodeWs,
}

/// A running echo server on a loopback port, stopped when dropped.
///
/// It echoes every text and binary message; the text `close:4000` makes it close the connection
/// with code 4000 and reason `asked to close`.
#[derive(Debug)]
pub struct EchoServer {
    child: Child,
    port: u16,
}

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Installs the library if needed and returns the cache directory.
fn install(which: &str) -> PathBuf {
    let _guard = INSTALL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let output = Command::new(interop_dir().join("install.sh"))
        .arg(which)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run tests/interop/install.sh: {e}"));
    assert!(
        output.status.success(),
        "installing the {which} WebSocket server library failed (see the output above)"
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

impl EchoServer {
    /// Installs (if needed) and starts the server.
    pub fn start(which: EchoImpl) -> Self {
        let mut command = match which {
            EchoImpl::PythonWebsockets => {
                let cache = install("python");
                let mut c = Command::new("python3");
                c.arg(interop_dir().join("python_echo.py"))
                    .env("PYTHONPATH", cache.join("python"));
                c
            }
            EchoImpl::NodeWs => {
                let cache = install("node");
                let mut c = Command::new("node");
                c.arg(interop_dir().join("node_echo.js"))
                    .env("NODE_PATH", cache.join("node/node_modules"));
                c
            }
        };
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {which:?} echo server: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let port = match (read, line.trim().parse()) {
            (Ok(_), Ok(port)) => port,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the {which:?} echo server did not print its port (got {line:?})");
            }
        };
        Self { child, port }
    }

    /// `ws://127.0.0.1:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
