//! One API call from first attempt to answer: which connection each attempt goes on, when to try
//! again and after how long, when a refused credential is renewed, whether a failed attempt may be
//! sent again, and when the call has taken too long.
//!
//! The adapter drives it like every machine of this crate:
//!
//! 1. [`Call::poll_action`] says what to do next: send an attempt ([`CallAction::Send`], on a
//!    pooled or a new connection), or wait ([`CallAction::Wait`]).
//! 2. For a send, [`Call::encode_attempt`] writes the request with the credential of the moment.
//! 3. What happened goes back in: [`Call::handle_head`] with the response head, which answers with
//!    a [`Disposition`] (hand it to the caller, or read it off and try again), or
//!    [`Call::handle_failure`] when the connection failed before a response began.
//! 4. [`Call::poll_timeout`] / [`Call::handle_timeout`] end a call that outlives its deadline.
//!
//! Whole requests, streaming requests (watches, followed logs) and protocol upgrades (exec,
//! attach, port-forward) all go through it, so each gets the same retries and the same renewal
//! of a credential the server refused.

use std::fmt;
use std::time::{Duration, Instant};

use http::header::{self, HeaderValue};
use http::{Method, StatusCode};

use super::identity::{IdentityError, RequestIdentity};
use super::replay::{AttemptFailure, FailureCause, Written, may_replay};
use super::retry::RetryPolicy;
use super::transport::TransportSettings;
use super::warning::{Warning, warnings};
use crate::http::{EncodeError, Exchange, Limits, ResponseHead, encode_request};

/// How many times one call may meet a pooled connection the server had closed. Each such
/// attempt takes another pooled connection or a new one; this bounds a pool full of dead ones.
const MAX_REPLAYS: u32 = 16;

/// What the caller waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// The whole response (get, list, create, delete ...), whatever its status.
    Whole,
    /// A body read as it arrives (a watch, followed logs); an error status is read whole.
    Streaming,
    /// A whole response whose body is consumed as it arrives (a list decoded item by item, so
    /// the body is never held whole): an error status is read whole; a success keeps the whole
    /// response's read timeout and body limits.
    Pieces,
    /// A protocol switch (`101 Switching Protocols`: WebSocket); anything else is read whole.
    Upgrade,
}

impl CallKind {
    /// How long this kind of call may take up to its answer's head, retries and waits included:
    /// an upgrade the transport's upgrade timeout; the others have no such deadline (a whole
    /// request is bounded between bytes by the read timeout, a stream runs as long as it flows).
    pub fn deadline(self, transport: &TransportSettings) -> Option<Duration> {
        match self {
            CallKind::Upgrade => Some(transport.upgrade_timeout),
            CallKind::Whole | CallKind::Streaming | CallKind::Pieces => None,
        }
    }

    /// How long this kind of call may wait between bytes once its answer is being read: the
    /// transport's read timeout, except for a stream, which waits as long as the server streams
    /// (a watch has its own stall deadline, a followed log follows for as long as the caller
    /// reads). Until the answer's head every kind waits at most the read timeout
    /// ([`Call::wait_limit`]).
    pub fn body_read_timeout(self, transport: &TransportSettings) -> Option<Duration> {
        match self {
            CallKind::Streaming => None,
            CallKind::Whole | CallKind::Pieces | CallKind::Upgrade => Some(transport.read_timeout),
        }
    }
}

/// What the settings of one client say about every call it makes.
#[derive(Debug, Clone)]
pub struct CallSettings {
    /// Base path, User-Agent, impersonation, gzip.
    pub identity: RequestIdentity,
    /// The `Host` header: the server's authority.
    pub host: String,
    /// Retries after 429/503/504.
    pub retry: RetryPolicy,
    /// Whether the client's credential can be renewed when the server refuses it (a token file
    /// that rotates, an exec plugin): then a 401 is answered by renewing it and trying once more.
    pub renewable_credential: bool,
}

/// What the adapter does next for a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum CallAction {
    /// Send the next attempt (written by [`Call::encode_attempt`]) and report its head or failure.
    Send {
        /// On a new connection; otherwise a pooled one may be used (or a new one if none is idle).
        /// Upgrades always take a new connection: it stops speaking HTTP afterwards.
        new_connection: bool,
    },
    /// Nothing to do until then (a server asked to come back later); then poll again.
    Wait(Instant),
}

/// What to do with a response whose head arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Disposition {
    /// The answer: read the whole body and hand status, headers and body to the caller.
    ReadBody,
    /// The answer of a streaming call: hand the body to the caller as it arrives, after
    /// [`Exchange::open_stream`] (which lifts the whole-body limits: each event or chunk is bounded
    /// where it is consumed) and with [`CallKind::body_read_timeout`] between bytes.
    Stream,
    /// The answer of a [`CallKind::Pieces`] call: hand the body to the caller as it arrives, with
    /// the whole response's read timeout and limits.
    ReadPieces,
    /// The answer of an upgrade: the connection speaks the new protocol now, beginning with the
    /// bytes that followed the head.
    Upgraded,
    /// The answer is an error: read the whole body, which holds the API's `Status`.
    Error,
    /// Not the answer: read the body off (so the connection can serve again) and poll the call
    /// again, which says when to try again.
    Retry,
    /// The server refused the credential, and it can be renewed: tell the credentials that it
    /// was refused, drop the pooled connections (they may carry the refused client
    /// certificate), read the body off, and poll again.
    RenewCredentialAndRetry,
}

/// Why a call ended without an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallError {
    /// The request could not be prepared for this server.
    Identity(IdentityError),
    /// The request could not be written as HTTP/1.1.
    Encode(EncodeError),
    /// The connection failed and the request may not be sent again (it may have been applied).
    NotReplayable {
        /// How the attempt failed.
        failure: AttemptFailure,
    },
    /// Pooled connections kept failing: more than 16 attempts of one call met a connection the
    /// server had closed.
    TooManyReplays,
    /// The server switched protocols for a request that did not ask for it.
    UnexpectedUpgrade {
        /// The status it answered with.
        status: StatusCode,
    },
    /// The call outlived its deadline.
    TimedOut {
        /// The deadline it was given.
        after: Duration,
    },
    /// The caller cancelled it.
    Cancelled,
    /// An input the call cannot take in its state (a bug in the adapter driving it).
    Misuse(&'static str),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Identity(e) => e.fmt(f),
            CallError::Encode(e) => write!(f, "cannot encode the request: {e}"),
            CallError::NotReplayable { failure } => match (failure.cause, failure.written) {
                (FailureCause::TimedOut, _) => f.write_str("no answer within the read timeout"),
                (_, Written::Nothing) => f.write_str("the connection failed before the request was sent"),
                (_, Written::Some) => f.write_str(
                    "the connection failed after the request was sent, and it is not safe to send again",
                ),
            },
            CallError::TooManyReplays => f.write_str("every pooled connection failed"),
            CallError::UnexpectedUpgrade { status } => {
                write!(f, "the server switched protocols ({status}) for a plain request")
            }
            CallError::TimedOut { after } => write!(f, "no answer within {after:?}"),
            CallError::Cancelled => f.write_str("cancelled"),
            CallError::Misuse(what) => write!(f, "call driven out of order: {what}"),
        }
    }
}

impl std::error::Error for CallError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The next attempt may go out.
    Ready { new_connection: bool },
    /// Waiting for a server that asked us to come back.
    Waiting { until: Instant },
    /// An attempt is out; its head or failure is awaited.
    InFlight,
    /// Answered, failed, timed out or cancelled.
    Done,
}

/// One call's life. See the [module docs](crate::client) for how an adapter drives it.
#[derive(Debug)]
pub struct Call {
    request: http::Request<Vec<u8>>,
    kind: CallKind,
    host: String,
    retry: RetryPolicy,
    renewable_credential: bool,
    state: State,
    retries: u32,
    renewed: bool,
    replays: u32,
    deadline: Option<(Instant, Duration)>,
    warnings: Vec<Warning>,
}

impl Call {
    /// A call of `request` (as `klient_proto::api` builds them) made at `now`. `timeout` bounds
    /// the whole call, retries and waits included, up to its answer's head.
    pub fn new(
        settings: &CallSettings,
        request: http::Request<Vec<u8>>,
        kind: CallKind,
        timeout: Option<Duration>,
        now: Instant,
    ) -> Result<Self, CallError> {
        let mut request = settings.identity.prepare(request).map_err(CallError::Identity)?;
        // The credential is added to each attempt; one the caller set is taken as given.
        let fixed_authorization = request.headers().contains_key(header::AUTHORIZATION);
        if let Some(value) = request.headers_mut().get_mut(header::AUTHORIZATION) {
            value.set_sensitive(true);
        }
        Ok(Call {
            request,
            kind,
            host: settings.host.clone(),
            retry: settings.retry,
            renewable_credential: settings.renewable_credential && !fixed_authorization,
            state: State::Ready {
                new_connection: kind == CallKind::Upgrade,
            },
            retries: 0,
            renewed: false,
            replays: 0,
            // A timeout too long to represent is no deadline.
            deadline: timeout.and_then(|after| Some((now.checked_add(after)?, after))),
            warnings: Vec::new(),
        })
    }

    /// The request as it goes out (prepared, without the credential).
    pub fn request(&self) -> &http::Request<Vec<u8>> {
        &self.request
    }

    /// What kind of call this is.
    pub fn kind(&self) -> CallKind {
        self.kind
    }

    /// Whether the call is over (answered, failed, timed out or cancelled).
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// What to do next, `None` while an attempt is in flight or once the call is over.
    pub fn poll_action(&mut self, now: Instant) -> Option<CallAction> {
        match self.state {
            State::Ready { new_connection } => Some(CallAction::Send { new_connection }),
            State::Waiting { until } if until <= now => {
                self.state = State::Ready {
                    new_connection: self.kind == CallKind::Upgrade,
                };
                self.poll_action(now)
            }
            State::Waiting { until } => Some(CallAction::Wait(until)),
            State::InFlight | State::Done => None,
        }
    }

    /// How long the adapter may block waiting for the server now, until the answer's head: the
    /// transport's read timeout, shortened to what is left of the call's deadline (never zero,
    /// which sockets refuse: past the deadline, [`Call::handle_timeout`] ends the call).
    pub fn wait_limit(&self, transport: &TransportSettings, now: Instant) -> Duration {
        match self.poll_timeout() {
            Some(at) => at
                .saturating_duration_since(now)
                .max(Duration::from_millis(1))
                .min(transport.read_timeout),
            None => transport.read_timeout,
        }
    }

    /// The instant [`Call::handle_timeout`] must be called at: the deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Done => None,
            _ => self.deadline.map(|(at, _)| at),
        }
    }

    /// The deadline check: past it, the call ends with [`CallError::TimedOut`] (the adapter drops
    /// the attempt's connection).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), CallError> {
        match self.deadline {
            Some((at, after)) if at <= now && self.state != State::Done => {
                self.state = State::Done;
                Err(CallError::TimedOut { after })
            }
            _ => Ok(()),
        }
    }

    /// The caller gave up; the adapter drops the attempt's connection.
    pub fn cancel(&mut self) -> CallError {
        self.state = State::Done;
        CallError::Cancelled
    }

    /// Writes the next attempt into `out` with `authorization` (the credential of the moment,
    /// `None` for none), and marks it in flight.
    pub fn encode_attempt(
        &mut self,
        authorization: Option<&HeaderValue>,
        out: &mut Vec<u8>,
    ) -> Result<(), CallError> {
        if !matches!(self.state, State::Ready { .. }) {
            return Err(CallError::Misuse("encode_attempt without CallAction::Send"));
        }
        let result = match authorization {
            Some(value) if !self.request.headers().contains_key(header::AUTHORIZATION) => {
                let mut value = value.clone();
                value.set_sensitive(true);
                self.request.headers_mut().insert(header::AUTHORIZATION, value);
                let result = encode_request(&self.request, &self.host, out);
                self.request.headers_mut().remove(header::AUTHORIZATION);
                result
            }
            _ => encode_request(&self.request, &self.host, out),
        };
        result.map_err(|e| {
            self.state = State::Done;
            CallError::Encode(e)
        })?;
        self.state = State::InFlight;
        Ok(())
    }

    /// Writes the next attempt with `authorization` (the credential of the moment) and returns the
    /// exchange that carries it on a connection that is `reused` (from the pool) or new, with
    /// `limits` (a whole response's: a stream lifts them only once its answer is a success, see
    /// [`Disposition::Stream`]) and, for an upgrade, the protocol switch.
    pub fn start_attempt(
        &mut self,
        authorization: Option<&HeaderValue>,
        limits: Limits,
        reused: bool,
    ) -> Result<Exchange, CallError> {
        let mut request = Vec::new();
        self.encode_attempt(authorization, &mut request)?;
        let upgrade = self.kind == CallKind::Upgrade;
        Ok(Exchange::new(
            request,
            self.request.method(),
            limits,
            reused,
            upgrade,
        ))
    }

    /// The head of the attempt's response arrived (1xx interim heads are not reported): what to
    /// do with it.
    pub fn handle_head(&mut self, head: &ResponseHead, now: Instant) -> Result<Disposition, CallError> {
        if self.state != State::InFlight {
            return Err(CallError::Misuse("a response head without an attempt in flight"));
        }
        self.warnings.extend(warnings(&head.headers));
        let status = head.status;
        if status == StatusCode::SWITCHING_PROTOCOLS {
            self.state = State::Done;
            return match self.kind {
                CallKind::Upgrade => Ok(Disposition::Upgraded),
                _ => Err(CallError::UnexpectedUpgrade { status }),
            };
        }
        if status == StatusCode::UNAUTHORIZED && self.renewable_credential && !self.renewed {
            // A rotated token file or an expired plugin credential: renew it and try once more.
            self.renewed = true;
            self.state = State::Ready {
                new_connection: self.kind == CallKind::Upgrade,
            };
            return Ok(Disposition::RenewCredentialAndRetry);
        }
        // A wait too long to represent (a max_wait of Duration::MAX) is not waited for.
        let retry_at = self
            .retry
            .delay(status, &head.headers, self.retries)
            .and_then(|delay| now.checked_add(delay));
        if let Some(until) = retry_at {
            self.retries += 1;
            self.state = State::Waiting { until };
            return Ok(Disposition::Retry);
        }
        self.state = State::Done;
        Ok(match self.kind {
            CallKind::Whole => Disposition::ReadBody,
            CallKind::Streaming if status.is_success() => Disposition::Stream,
            CallKind::Pieces if status.is_success() => Disposition::ReadPieces,
            CallKind::Streaming | CallKind::Pieces | CallKind::Upgrade => Disposition::Error,
        })
    }

    /// The attempt's connection failed before a response head arrived (`failure` says how much was
    /// written, and whether the connection was a pooled one). `Ok` means the call goes on: poll
    /// it again for the next attempt.
    pub fn handle_failure(&mut self, failure: AttemptFailure) -> Result<(), CallError> {
        if self.state != State::InFlight {
            return Err(CallError::Misuse("a failure without an attempt in flight"));
        }
        if !may_replay(self.request.method(), self.request.headers(), failure) {
            self.state = State::Done;
            return Err(CallError::NotReplayable { failure });
        }
        self.replays += 1;
        if self.replays > MAX_REPLAYS {
            self.state = State::Done;
            return Err(CallError::TooManyReplays);
        }
        self.state = State::Ready {
            new_connection: self.kind == CallKind::Upgrade,
        };
        Ok(())
    }

    /// The server's warnings from every response this call received so far (retried ones
    /// included), for the application to see; each is handed out once.
    pub fn take_warnings(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings)
    }

    /// The method of the call.
    pub fn method(&self) -> &Method {
        self.request.method()
    }
}
