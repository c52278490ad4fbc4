//! Request credentials as a sans-IO machine.
//!
//! [`Authenticator`](crate::auth::Authenticator) holds the credential a client's requests carry
//! (a bearer token, user name and password, a token file's token, an exec plugin's token or
//! client certificate) and decides when it must be fetched again: a token file every
//! [`AuthConfig::token_file_refresh`](crate::auth::AuthConfig::token_file_refresh), a plugin's
//! credential shortly before it expires, either after a 401. It asks the adapter, through
//! [`Action`](crate::auth::Action)s, to read the file or to run the plugin (with its
//! environment, stdio, output limits and timeout), and turns what the adapter reports into a
//! credential or a typed [`AuthError`](crate::auth::AuthError).
//!
//! The protocol pieces it builds on stay in [`config`](crate::config): the exec plugin's
//! input and output (`exec_info_json`, `parse_exec_output`) and token file contents
//! (`token_from_file`).

mod authenticator;
mod config;
mod credential;
mod error;
mod plugin;

#[cfg(test)]
mod tests;

pub use authenticator::{Action, Authenticator, FetchId, InputError, Next};
pub use config::{AuthConfig, DEFAULT_EXPIRY_MARGIN, DEFAULT_PLUGIN_TIMEOUT, DEFAULT_RETRY_AFTER_FAILURE};
pub use credential::{ClientIdentity, Generation};
pub use error::{AuthError, PluginFailure};
pub use plugin::{MAX_STDERR_QUOTE_LEN, PluginExit, PluginOutcome, PluginRun, PluginStdio};
