//! The settings of an [`Authenticator`](super::Authenticator): timeouts, margins, and the one
//! fact about its surroundings it cannot learn itself (whether there is a terminal).

use std::time::Duration;

use crate::config::TOKEN_FILE_REFRESH_INTERVAL;

/// How long a non-interactive exec plugin may run before it is killed. client-go waits forever,
/// and one hung plugin then stalls every request; real plugins answer in seconds, and a minute
/// leaves room for a slow identity provider.
pub const DEFAULT_PLUGIN_TIMEOUT: Duration = Duration::from_secs(60);

/// How long before its `expirationTimestamp` an exec credential is fetched again (see
/// [`AuthConfig::expiry_margin`]).
pub const DEFAULT_EXPIRY_MARGIN: Duration = Duration::from_secs(10);

/// How long a failed fetch is reported to every request before one tries again.
pub const DEFAULT_RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Settings of an [`Authenticator`](super::Authenticator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthConfig {
    /// How long a non-interactive exec plugin may run; `None` waits for it forever (client-go's
    /// behaviour). Interactive plugins never time out: a person may be typing.
    pub plugin_timeout: Option<Duration>,
    /// An exec credential is fetched again this long before it expires, so that a request does
    /// not reach the server just after its token lapsed (a 401 and a second round trip). For
    /// short-lived credentials the margin shrinks to a quarter of the lifetime the plugin gave,
    /// so they are still used for most of it instead of being fetched for every request.
    pub expiry_margin: Duration,
    /// How often a token file is read again; kubelet rotates service account tokens well
    /// before they expire.
    pub token_file_refresh: Duration,
    /// After a failed fetch, every request gets its error for this long before a new fetch is
    /// tried: requests that waited for a plugin that timed out fail together, and a broken
    /// plugin is not started again for each of a burst of requests.
    pub retry_after_failure: Duration,
    /// Whether the process's stdin is a terminal (the adapter checks): decides, with the
    /// plugin's `interactiveMode`, whether an exec plugin may talk to the user.
    pub stdin_is_terminal: bool,
}

impl Default for AuthConfig {
    /// A 60 s plugin timeout, a 10 s expiry margin, token files read every minute, 1 s between a
    /// failure and the next try, no terminal.
    fn default() -> Self {
        Self {
            plugin_timeout: Some(DEFAULT_PLUGIN_TIMEOUT),
            expiry_margin: DEFAULT_EXPIRY_MARGIN,
            token_file_refresh: TOKEN_FILE_REFRESH_INTERVAL,
            retry_after_failure: DEFAULT_RETRY_AFTER_FAILURE,
            stdin_is_terminal: false,
        }
    }
}
