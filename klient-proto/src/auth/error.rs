//! Why no credential can be had. Errors name the file or the plugin's command, never a token, a
//! key or a plugin's stdout.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{ExecPluginError, TokenFileError};

use super::plugin::PluginExit;

/// Why a request cannot be authorized.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// The kubeconfig names an `auth-provider`: kubectl dropped them in 1.26, klient never ran
    /// them; an exec plugin replaces each.
    AuthProviderUnsupported {
        /// The provider's `name`.
        name: String,
    },
    /// The kubeconfig's token, user name or password holds bytes an HTTP header cannot carry.
    CredentialNotHeaderSafe,
    /// The token file could not be read.
    TokenFileUnreadable {
        /// The file.
        path: PathBuf,
        /// What the adapter's read failed with.
        kind: io::ErrorKind,
    },
    /// The token file was read, but holds no usable token.
    TokenFileInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with its contents.
        error: TokenFileError,
    },
    /// The exec plugin's configuration or output breaks the `client.authentication.k8s.io`
    /// protocol (an unsupported `apiVersion`, `interactiveMode: Always` without a terminal,
    /// output that is not an `ExecCredential`, ...).
    Exec(ExecPluginError),
    /// The exec plugin did not run to a usable credential.
    Plugin {
        /// The plugin's `command`.
        command: String,
        /// What happened.
        failure: PluginFailure,
    },
}

/// How an exec plugin run failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PluginFailure {
    /// The process could not be started (usually: the command is not installed).
    CouldNotStart {
        /// What starting it failed with.
        kind: io::ErrorKind,
        /// The kubeconfig's `installHint`, shown to the user.
        install_hint: Option<String>,
    },
    /// The plugin ended unsuccessfully.
    Exited {
        /// How it ended.
        status: PluginExit,
        /// The start of what it wrote to stderr (at most
        /// [`MAX_STDERR_QUOTE_LEN`](super::MAX_STDERR_QUOTE_LEN) bytes, trimmed); empty for an
        /// interactive plugin, whose stderr is the user's terminal.
        stderr: String,
    },
    /// The plugin did not finish within its timeout and was killed.
    TimedOut {
        /// The timeout.
        after: Duration,
    },
    /// Waiting for the plugin or reading its output failed.
    Io {
        /// What the adapter's wait or read failed with.
        kind: io::ErrorKind,
    },
    /// `status.token` holds bytes an HTTP header cannot carry.
    TokenNotHeaderSafe,
    /// `status.expirationTimestamp` had already passed when the plugin finished.
    AlreadyExpired,
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AuthProviderUnsupported { name } => write!(
                f,
                "auth-provider {name:?}: removed from kubectl in 1.26; use an exec plugin"
            ),
            Self::CredentialNotHeaderSafe => {
                f.write_str("the credential holds characters not allowed in a header")
            }
            Self::TokenFileUnreadable { path, kind } => {
                write!(f, "reading the token file {}: {kind}", path.display())
            }
            Self::TokenFileInvalid { path, error } => write!(f, "token file {}: {error}", path.display()),
            Self::Exec(error) => write!(f, "{error}"),
            Self::Plugin { command, failure } => write!(f, "exec plugin {command:?}: {failure}"),
        }
    }
}

impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::TokenFileInvalid { error, .. } => Some(error),
            Self::Exec(error) => Some(error),
            _ => None,
        }
    }
}

impl fmt::Display for PluginFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CouldNotStart { kind, install_hint } => {
                write!(f, "cannot start: {kind}")?;
                match install_hint {
                    Some(hint) => write!(f, "\n{hint}"),
                    None => Ok(()),
                }
            }
            Self::Exited { status, stderr } if stderr.is_empty() => write!(f, "{status}"),
            Self::Exited { status, stderr } => write!(f, "{status}; stderr: {stderr:?}"),
            Self::TimedOut { after } => write!(f, "timed out after {after:?} and was killed"),
            Self::Io { kind } => write!(f, "waiting for it failed: {kind}"),
            Self::TokenNotHeaderSafe => f.write_str("status.token holds characters not allowed in a header"),
            Self::AlreadyExpired => f.write_str("status.expirationTimestamp had already passed"),
        }
    }
}
