//! An exec plugin run as the adapter carries it out, what it reports back, and how that report
//! becomes a credential or an error.

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use crate::config::{
    ClusterConfig, EXEC_INFO_ENV, ExecConfig, ExecEnvVar, ExecPluginError, MAX_EXEC_OUTPUT_LEN, SecretString,
    exec_info_json, exec_interactive, parse_exec_output,
};

use super::config::AuthConfig;
use super::credential::{ClientIdentity, Credential, Generation, Refresh, bearer};
use super::error::{AuthError, PluginFailure};

/// How much of a failing plugin's stderr an error quotes (and the adapter keeps).
pub const MAX_STDERR_QUOTE_LEN: usize = 4096;

/// A plugin process to run: the adapter starts `command` with `args`, its own environment plus
/// `env`, and the stdio that [`stdio`](Self::stdio) says; it kills the process when `timeout`
/// passes, and hands back a [`PluginOutcome`].
#[derive(Clone, PartialEq)]
pub struct PluginRun {
    /// The program.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables to add to the environment: the kubeconfig's `env`, then `KUBERNETES_EXEC_INFO`.
    /// Values may be secrets (`Debug` redacts them).
    pub env: Vec<ExecEnvVar>,
    /// Whether the plugin talks to the user.
    pub stdio: PluginStdio,
    /// Keep at most this many bytes of stdout, plus one to show it was longer; drain the rest.
    pub max_stdout_len: usize,
    /// Keep at most this many bytes of a captured stderr; drain the rest.
    pub max_stderr_len: usize,
    /// Kill the plugin and report [`PluginOutcome::TimedOut`] after this long; `None` for
    /// interactive plugins (and when the configuration asks for no timeout).
    pub timeout: Option<Duration>,
}

/// Debug shows the arguments only by count: they often carry secrets (`--oidc-client-secret=`).
impl std::fmt::Debug for PluginRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginRun")
            .field("command", &self.command)
            .field("args", &format_args!("<{} redacted>", self.args.len()))
            .field("env", &self.env)
            .field("stdio", &self.stdio)
            .field("max_stdout_len", &self.max_stdout_len)
            .field("max_stderr_len", &self.max_stderr_len)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The plugin's stdin and stderr; its stdout is always captured, since it carries the credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginStdio {
    /// stdin and stderr are the process's own (the terminal): the plugin may ask the user for
    /// something (a password, a device-code login). Adapters run such plugins one at a time
    /// across the whole process, since they share the terminal.
    Interactive,
    /// stdin is empty (null) and stderr is captured, to be quoted if the plugin fails.
    Captured,
}

/// What became of a [`PluginRun`].
#[derive(Clone, PartialEq, Eq)]
pub enum PluginOutcome {
    /// The process ended.
    Exited {
        /// How.
        status: PluginExit,
        /// What it wrote to stdout, at most [`PluginRun::max_stdout_len`] + 1 bytes: the secret.
        stdout: Vec<u8>,
        /// What it wrote to stderr when captured, at most [`PluginRun::max_stderr_len`] bytes.
        stderr: Vec<u8>,
    },
    /// The timeout passed; the adapter killed the process.
    TimedOut,
    /// The process could not be started.
    CouldNotStart {
        /// What starting it failed with.
        kind: std::io::ErrorKind,
    },
    /// Waiting for the process or reading its output failed.
    Io {
        /// What failed.
        kind: std::io::ErrorKind,
    },
}

impl PluginOutcome {
    /// The outcome of a process that ended (or whose wait failed) with what its pipes gave:
    /// any failure to wait or to read a pipe is [`PluginOutcome::Io`], waiting's first.
    pub fn finished(
        status: std::io::Result<std::process::ExitStatus>,
        stdout: std::io::Result<Vec<u8>>,
        stderr: std::io::Result<Vec<u8>>,
    ) -> PluginOutcome {
        match (status, stdout, stderr) {
            (Ok(status), Ok(stdout), Ok(stderr)) => PluginOutcome::Exited {
                status: status.into(),
                stdout,
                stderr,
            },
            (Err(e), ..) | (_, Err(e), _) | (.., Err(e)) => PluginOutcome::Io { kind: e.kind() },
        }
    }
}

impl fmt::Debug for PluginOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // stdout holds the credential; its length is all Debug shows.
            Self::Exited {
                status,
                stdout,
                stderr,
            } => f
                .debug_struct("Exited")
                .field("status", status)
                .field("stdout_len", &stdout.len())
                .field("stderr", &String::from_utf8_lossy(stderr))
                .finish(),
            Self::TimedOut => f.write_str("TimedOut"),
            Self::CouldNotStart { kind } => f.debug_struct("CouldNotStart").field("kind", kind).finish(),
            Self::Io { kind } => f.debug_struct("Io").field("kind", kind).finish(),
        }
    }
}

/// How a plugin process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginExit {
    /// It exited with this code; 0 is success.
    Code(i32),
    /// A signal ended it (Unix).
    Signal(i32),
}

impl From<std::process::ExitStatus> for PluginExit {
    fn from(status: std::process::ExitStatus) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            if let Some(signal) = status.signal() {
                return PluginExit::Signal(signal);
            }
        }
        PluginExit::Code(status.code().unwrap_or(-1))
    }
}

impl PluginExit {
    /// Whether it exited with code 0.
    pub fn success(self) -> bool {
        self == Self::Code(0)
    }
}

impl fmt::Display for PluginExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Code(code) => write!(f, "exited with code {code}"),
            Self::Signal(signal) => write!(f, "ended by signal {signal}"),
        }
    }
}

/// The run a plugin configuration asks for, or the protocol error that keeps it from running
/// at all (these do not change with time, so they are worked out once).
pub(super) fn plan_run(
    exec: &ExecConfig,
    cluster: &ClusterConfig,
    ca_pem: &[u8],
    config: &AuthConfig,
) -> Result<PluginRun, ExecPluginError> {
    let interactive = exec_interactive(exec, config.stdin_is_terminal)?;
    let info = exec_info_json(exec, cluster, Some(ca_pem), interactive)?;
    let mut env = exec.env.clone();
    env.push(ExecEnvVar {
        name: EXEC_INFO_ENV.to_owned(),
        value: SecretString::new(info),
    });
    Ok(PluginRun {
        command: exec.command.clone(),
        args: exec.args.clone(),
        env,
        stdio: if interactive {
            PluginStdio::Interactive
        } else {
            PluginStdio::Captured
        },
        max_stdout_len: MAX_EXEC_OUTPUT_LEN,
        max_stderr_len: MAX_STDERR_QUOTE_LEN,
        timeout: if interactive { None } else { config.plugin_timeout },
    })
}

/// What the machine knows about the run it is judging.
pub(super) struct Judged<'a> {
    pub(super) exec: &'a ExecConfig,
    pub(super) timeout: Option<Duration>,
    pub(super) started: Instant,
    pub(super) expiry_margin: Duration,
}

impl Judged<'_> {
    /// The credential a run produced, or why it produced none. `finished` is the wall-clock
    /// time at which the adapter saw the run end, taken at the same moment as `now`: the
    /// plugin's expiry is wall-clock, and is turned into an `Instant` deadline here so that
    /// the machine needs only `Instant`s afterwards.
    pub(super) fn judge(
        &self,
        outcome: PluginOutcome,
        now: Instant,
        finished: SystemTime,
    ) -> Result<Credential, AuthError> {
        let failed = |failure| AuthError::Plugin {
            command: self.exec.command.clone(),
            failure,
        };
        let stdout = match outcome {
            PluginOutcome::Exited { status, stdout, .. } if status.success() => stdout,
            // stdout is dropped unread: it may hold a secret even when the plugin failed.
            PluginOutcome::Exited { status, stderr, .. } => {
                return Err(failed(PluginFailure::Exited {
                    status,
                    stderr: quote(&stderr),
                }));
            }
            PluginOutcome::TimedOut => {
                let after = self.timeout.unwrap_or_else(|| now.duration_since(self.started));
                return Err(failed(PluginFailure::TimedOut { after }));
            }
            PluginOutcome::CouldNotStart { kind } => {
                let install_hint = self.exec.install_hint.clone();
                return Err(failed(PluginFailure::CouldNotStart { kind, install_hint }));
            }
            PluginOutcome::Io { kind } => return Err(failed(PluginFailure::Io { kind })),
        };
        let credential = parse_exec_output(self.exec, &stdout).map_err(AuthError::Exec)?;
        let authorization = match &credential.token {
            Some(token) => Some(bearer(token).ok_or_else(|| failed(PluginFailure::TokenNotHeaderSafe))?),
            None => None,
        };
        let refresh = match credential.expiration {
            None => Refresh::OnUnauthorized,
            Some(expiry) => match expiry.duration_since(finished) {
                Ok(lifetime) if !lifetime.is_zero() => {
                    let margin = self.expiry_margin.min(lifetime / 4);
                    Refresh::At(now + (lifetime - margin))
                }
                _ => return Err(failed(PluginFailure::AlreadyExpired)),
            },
        };
        let identity = credential
            .client_certificate
            .zip(credential.client_key)
            .map(|(certificate, key)| ClientIdentity { certificate, key });
        Ok(Credential {
            authorization,
            identity,
            // Numbered when the machine stores it.
            generation: Generation(0),
            refresh,
            usable_when_stale: false,
        })
    }
}

/// The start of a plugin's stderr as trimmed text (a character cut in half at the limit, or
/// bytes that are not UTF-8, become U+FFFD).
fn quote(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(&stderr[..stderr.len().min(MAX_STDERR_QUOTE_LEN)]);
    text.trim().to_owned()
}
