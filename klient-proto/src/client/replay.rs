//! Whether a request whose connection failed may be sent again on another one.
//!
//! A connection taken from the pool may have been closed by the server while it sat idle
//! (kube-apiserver closes idle connections after about 90 s): the request then fails although the
//! server never saw it, and sending it again is what the user wants. But a failure after the
//! request was written can also mean the server received and applied it; sending a create again
//! then makes two objects (`generateName`). So, as Go's `net/http` transport decides: a request
//! goes out again only when none of it was written, or when sending it twice does no harm
//! (GET, HEAD, OPTIONS, TRACE, or a request carrying an `Idempotency-Key`). A connection that
//! merely waited too long is not a closed one: the server may still be working on the request,
//! and sending it again would only add load, so a timeout is never replayed (Go does not either).

use http::{HeaderMap, Method};

/// How much of a request reached the connection before it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Not a byte: the server cannot have seen it.
    Nothing,
    /// Some or all of it: the server may have acted on it.
    Some,
}

/// How a connection failed an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureCause {
    /// The connection closed or broke (end of stream, reset, any other socket error).
    Closed,
    /// A read or write waited longer than the transport allows: the server is slow, not gone.
    TimedOut,
}

/// How an attempt failed on its connection, before any byte of a response arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptFailure {
    /// The connection came from the pool (it served an earlier request), rather than being new.
    pub reused: bool,
    /// How much of the request was written.
    pub written: Written,
    /// What happened to the connection.
    pub cause: FailureCause,
}

/// Whether the request may be sent again after `failure`.
///
/// Only failures of reused connections are replayed: a new connection that fails is a real
/// network error, reported to the caller.
pub fn may_replay(method: &Method, headers: &HeaderMap, failure: AttemptFailure) -> bool {
    failure.reused
        && failure.cause == FailureCause::Closed
        && (failure.written == Written::Nothing || is_replayable(method, headers))
}

/// Sending it twice does no harm.
pub fn is_replayable(method: &Method, headers: &HeaderMap) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) || headers.contains_key("idempotency-key")
        || headers.contains_key("x-idempotency-key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_harmless_or_unsent_requests_on_reused_connections_go_out_again() {
        let plain = HeaderMap::new();
        let mut keyed = HeaderMap::new();
        keyed.insert("idempotency-key", "abc".parse().unwrap());
        let stale = |written| AttemptFailure {
            reused: true,
            written,
            cause: FailureCause::Closed,
        };
        let fresh = |written| AttemptFailure {
            reused: false,
            written,
            cause: FailureCause::Closed,
        };
        let slow = AttemptFailure {
            reused: true,
            written: Written::Some,
            cause: FailureCause::TimedOut,
        };

        assert!(may_replay(&Method::GET, &plain, stale(Written::Some)));
        assert!(may_replay(&Method::POST, &plain, stale(Written::Nothing)));
        assert!(
            !may_replay(&Method::POST, &plain, stale(Written::Some)),
            "a create may have happened"
        );
        assert!(!may_replay(&Method::PATCH, &plain, stale(Written::Some)));
        assert!(!may_replay(&Method::DELETE, &plain, stale(Written::Some)));
        assert!(may_replay(&Method::POST, &keyed, stale(Written::Some)));
        assert!(
            !may_replay(&Method::GET, &plain, fresh(Written::Nothing)),
            "a new connection's failure is real"
        );
        assert!(
            !may_replay(&Method::GET, &plain, slow),
            "a slow server is not a closed connection"
        );
    }
}
