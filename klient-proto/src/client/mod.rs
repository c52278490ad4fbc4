//! The life of a request: the decisions around each call that every adapter would otherwise
//! make for itself.
//!
//! - [`Call`]: one call from its first attempt to its answer: which connection an attempt takes,
//!   retries after 429/503/504 as the server's `Retry-After` asks ([`RetryPolicy`]), renewing a
//!   refused credential once on 401, sending a request again after a pooled connection failed
//!   only when that is safe ([`may_replay`]), a deadline. The same for whole, streaming and
//!   upgrade requests.
//! - [`RequestIdentity`]: what every request to a server carries (base path, User-Agent,
//!   impersonation, gzip), applied once per call.
//! - [`Pool`]: which idle connection to reuse, and when one is too old to trust.
//! - [`TransportSettings`]: how long connecting, waiting for an answer and writing may take, and
//!   TCP keepalive.
//! - [`warnings`]: the server's `Warning` headers, which [`Call::take_warnings`] hands out for
//!   every response the call received, so that the application sees them (kubectl prints them).
//!
//! An adapter keeps the sockets, the clock and the threads or tasks; it asks these machines what
//! to do, does it, and reports what happened.

mod call;
mod identity;
mod pool;
mod replay;
mod retry;
mod setup;
#[cfg(test)]
mod tests;
mod transport;
mod warning;

pub use call::{Call, CallAction, CallError, CallKind, CallSettings, Disposition};
pub use identity::{IdentityError, RequestIdentity, USER_AGENT};
pub use pool::{Pool, PoolSettings};
pub use replay::{AttemptFailure, FailureCause, Written, is_replayable, may_replay};
pub use retry::{RetryPolicy, retry_after};
pub use setup::ClientSetup;
pub use transport::TransportSettings;
pub use warning::{Warning, warnings};
