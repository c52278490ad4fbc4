//! What the three comparison programs share: the command line and the port-forward data.
//! Each program includes this file with `#[path]` (not as a crate, so the build-cost
//! comparison counts only the client libraries and their dependencies).

use std::process::exit;

/// One run of a program: what `run.sh` asks it to do.
pub enum Command {
    /// The build-cost program: list pods, watch them until the initial list is complete, exec
    /// `true` in POD and wait for its exit status.
    BuildDemo { namespace: String, pod: String },
    /// Runs `true` in POD and waits for its exit status.
    ExecTrue { namespace: String, pod: String },
    /// Runs `head -c BYTES /dev/zero` in POD and reads its stdout to the end (exec output).
    ExecOut {
        namespace: String,
        pod: String,
        bytes: u64,
    },
    /// Runs `wc -c` in POD, writes BYTES to its stdin, closes it, and checks the count it prints
    /// (exec input).
    ExecIn {
        namespace: String,
        pod: String,
        bytes: u64,
    },
    /// Lists the pods of NAMESPACE and prints how many there are.
    List { namespace: String },
    /// Forwards every connection to LOCAL (an address) to PORT of POD, like `kubectl
    /// port-forward`, until killed; prints `listening` once it accepts.
    Listen {
        namespace: String,
        pod: String,
        port: u16,
        local: std::net::SocketAddr,
    },
    /// Pushes BYTES through PORT of POD (forwarded) and checks that they all come back.
    PortForward {
        namespace: String,
        pod: String,
        port: u16,
        bytes: u64,
    },
}

const USAGE: &str = "usage: PROGRAM build-demo NAMESPACE POD | exec-true NAMESPACE POD | exec-out NAMESPACE POD BYTES | \
                     exec-in NAMESPACE POD BYTES | list NAMESPACE | \
                     port-forward NAMESPACE POD PORT BYTES | listen NAMESPACE POD PORT LOCAL";

impl Command {
    /// The command named on the command line, or the usage and exit code 2.
    pub fn from_args() -> Command {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let owned = |s: &str| s.to_owned();
        match args.as_slice() {
            ["build-demo", ns, pod] => Command::BuildDemo {
                namespace: owned(ns),
                pod: owned(pod),
            },
            ["exec-true", ns, pod] => Command::ExecTrue {
                namespace: owned(ns),
                pod: owned(pod),
            },
            ["exec-out", ns, pod, bytes] => match bytes.parse() {
                Ok(bytes) => Command::ExecOut {
                    namespace: owned(ns),
                    pod: owned(pod),
                    bytes,
                },
                _ => usage(),
            },
            ["exec-in", ns, pod, bytes] => match bytes.parse() {
                Ok(bytes) => Command::ExecIn {
                    namespace: owned(ns),
                    pod: owned(pod),
                    bytes,
                },
                _ => usage(),
            },
            ["list", ns] => Command::List { namespace: owned(ns) },
            ["port-forward", ns, pod, port, bytes] => match (port.parse(), bytes.parse()) {
                (Ok(port), Ok(bytes)) => Command::PortForward {
                    namespace: owned(ns),
                    pod: owned(pod),
                    port,
                    bytes,
                },
                _ => usage(),
            },
            ["listen", ns, pod, port, local] => match (port.parse(), local.parse()) {
                (Ok(port), Ok(local)) => Command::Listen {
                    namespace: owned(ns),
                    pod: owned(pod),
                    port,
                    local,
                },
                _ => usage(),
            },
            _ => usage(),
        }
    }
}

fn usage() -> ! {
    eprintln!("{USAGE}");
    exit(2)
}

/// The most a program hands to a port stream in one write.
pub const CHUNK: usize = 256 * 1024;

/// The bytes pushed through a forwarded port: byte `i` is `pattern[i % PERIOD]`. The period is
/// prime, so a chunk lost, repeated or reordered shows as a mismatch, and any stretch of up to
/// CHUNK bytes is one contiguous slice (no per-byte work that would add to the timing).
pub struct Pattern(Vec<u8>);

const PERIOD: usize = 1_000_003;

impl Pattern {
    pub fn new() -> Pattern {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut bytes: Vec<u8> = (0..PERIOD)
            .map(|_| {
                // xorshift: cheap bytes that do not compress (WebSocket deflate stays honest).
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 32) as u8
            })
            .collect();
        // One period plus its first CHUNK bytes again, so a slice may run past the period's end.
        bytes.extend_from_within(..CHUNK);
        Pattern(bytes)
    }

    /// The `len` (at most CHUNK) bytes that start at `offset` of the stream.
    pub fn at(&self, offset: u64, len: usize) -> &[u8] {
        let start = (offset % PERIOD as u64) as usize;
        &self.0[start..start + len]
    }

    /// The next chunk to send after `sent` of `total` bytes.
    pub fn next_chunk(&self, sent: u64, total: u64) -> &[u8] {
        self.at(sent, (total - sent).min(CHUNK as u64) as usize)
    }

    /// Checks bytes read back at `offset`, or says where they differ.
    pub fn check(&self, offset: u64, got: &[u8]) -> Result<(), String> {
        if got == self.at(offset, got.len()) {
            Ok(())
        } else {
            Err(format!(
                "the bytes read back at offset {offset} differ from those sent"
            ))
        }
    }
}

/// The command of `exec-out`: BYTES zeros on stdout.
/// The tunnel carriers a klient listener is to try, from `KLIENT_CARRIERS` (`websocket`, `spdy`,
/// comma-separated, in order; `v4` or nothing for none: one v4 session per connection), built
/// from the adapter's own two carrier values; `None` when the variable is unset (the default).
/// Lets `listeners.sh` measure each fallback through the same program.
pub fn carriers_from_env<C: Copy>(websocket: C, spdy: C) -> Option<Vec<C>> {
    let list = std::env::var("KLIENT_CARRIERS").ok()?;
    let carriers = list
        .split(',')
        .filter_map(|name| match name.trim() {
            "websocket" => Some(websocket),
            "spdy" => Some(spdy),
            "v4" | "" => None,
            other => {
                eprintln!("KLIENT_CARRIERS: unknown carrier {other:?}");
                exit(2)
            }
        })
        .collect();
    Some(carriers)
}

pub fn exec_out_command(bytes: u64) -> Vec<String> {
    vec!["head".into(), "-c".into(), bytes.to_string(), "/dev/zero".into()]
}

/// The command of `exec-in`: count stdin.
pub const EXEC_IN_COMMAND: [&str; 2] = ["wc", "-c"];

/// Checks what `wc -c` printed against the bytes sent.
pub fn check_count(printed: &[u8], sent: u64) -> Result<(), String> {
    let text = String::from_utf8_lossy(printed);
    match text.trim().parse::<u64>() {
        Ok(n) if n == sent => Ok(()),
        _ => Err(format!("`wc -c` printed {text:?} for {sent} bytes sent")),
    }
}
