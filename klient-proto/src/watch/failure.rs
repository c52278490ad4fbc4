//! How a watch's requests fail: what an adapter reports ([`RequestFailure`]) and what the watcher
//! reports to its user ([`Failure`]).

use std::fmt;
use std::time::Duration;

use super::event::EventError;
use super::framing::DecodeError;
use crate::api::{ApiError, ResponseError, Status};

/// How a request went wrong, as the adapter saw it; classified by variant, never by reading text.
///
/// Adapters build it from their own errors: [`ApiError`] and [`ResponseError`] convert with
/// `From` (an error status whose body is not a `Status` becomes an [`ApiError`] with the reason
/// its code implies, as client-go does), anything else is [`Transport`](Self::Transport).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestFailure {
    /// The server refused the request with an HTTP error status (boxed, as everywhere: it is
    /// large).
    Api(Box<ApiError>),
    /// The request got no usable answer: connecting, TLS, I/O or HTTP framing failed, or a
    /// success response's body could not be read.
    Transport {
        /// The adapter's description of what went wrong.
        description: String,
    },
}

impl From<ApiError> for RequestFailure {
    fn from(error: ApiError) -> Self {
        RequestFailure::Api(Box::new(error))
    }
}

impl From<ResponseError> for RequestFailure {
    fn from(error: ResponseError) -> Self {
        match error {
            ResponseError::Api(api) => RequestFailure::Api(api),
            // A proxy's page or a bare status: the code still says what happened (a 410 still
            // means "relist").
            ResponseError::Unexpected { code, body } => {
                let status = Status {
                    message: Some(body.text().to_owned()),
                    ..Status::default()
                };
                RequestFailure::Api(Box::new(ApiError::from_status(code, status)))
            }
            other => RequestFailure::Transport {
                description: other.to_string(),
            },
        }
    }
}

/// Why the watcher could not deliver events for a while, or skipped one; yielded to the user in
/// order with the events. The watcher recovers from every one of them by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The server refused a request or ended a watch with an ERROR event. An expired
    /// resourceVersion ([`ApiError::is_expired`]) makes the watcher list again at once; anything
    /// else is retried after a backoff.
    Api(Box<ApiError>),
    /// A request got no usable answer; retried after a backoff.
    Transport {
        /// The adapter's description of what went wrong.
        description: String,
    },
    /// A watch stream broke its framing (or could not be read at all): the stream is abandoned
    /// and the watch resumed after a backoff.
    Decode(DecodeError),
    /// A watch outlived its `timeoutSeconds` by the grace period without ending: the connection
    /// is presumed dead, abandoned, and the watch resumed after a backoff.
    Stalled {
        /// The watch's `timeoutSeconds`.
        timeout_seconds: u32,
        /// How long past it the driver waited.
        grace: Duration,
    },
    /// A watch ended cleanly, without any event, less than a second after it was opened: a
    /// server that closes watches at once must not make the watcher spin.
    WatchClosedEarly,
    /// A streaming list ended before its initial-events-end bookmark.
    InitialEventsIncomplete,
    /// One event of a watch could not be read into the object type; it was skipped and the
    /// stream goes on (the resourceVersion moves on with the next event or bookmark).
    UndecodableEvent(EventError),
}

impl Failure {
    /// Whether the server said the resourceVersion is too old: the watcher lists again.
    pub fn is_expired(&self) -> bool {
        matches!(self, Failure::Api(error) if error.is_expired())
    }
}

impl From<RequestFailure> for Failure {
    fn from(failure: RequestFailure) -> Self {
        match failure {
            RequestFailure::Api(error) => Failure::Api(error),
            RequestFailure::Transport { description } => Failure::Transport { description },
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Api(error) => error.fmt(f),
            Self::Transport { description } => write!(f, "transport error: {description}"),
            Self::Decode(error) => write!(f, "watch stream abandoned: {error}"),
            Self::Stalled {
                timeout_seconds,
                grace,
            } => write!(
                f,
                "watch still open {}s after its timeoutSeconds of {timeout_seconds}: abandoned",
                grace.as_secs()
            ),
            Self::WatchClosedEarly => f.write_str("watch closed at once without events"),
            Self::InitialEventsIncomplete => {
                f.write_str("streaming list ended before the initial-events-end bookmark")
            }
            Self::UndecodableEvent(error) => write!(f, "watch event skipped: {error}"),
        }
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Api(error) => Some(error.as_ref()),
            Self::Decode(error) => Some(error),
            Self::UndecodableEvent(error) => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{BodySnippet, StatusReason, decode_error};

    #[test]
    fn response_errors_are_classified_by_what_the_server_said() {
        let expired =
            br#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410}"#;
        let failure = Failure::from(RequestFailure::from(decode_error(410, expired)));
        assert!(failure.is_expired(), "{failure:?}");
        // A proxy's 410 page: no Status, but the code still means "relist".
        let page = RequestFailure::from(ResponseError::Unexpected {
            code: 410,
            body: BodySnippet::new(b"<html>gone</html>"),
        });
        let RequestFailure::Api(error) = &page else {
            panic!("{page:?}")
        };
        assert_eq!((error.code, &error.reason), (410, &StatusReason::Gone));
        assert!(Failure::from(page).is_expired());
        let unreadable = RequestFailure::from(ResponseError::UnexpectedContentType {
            code: 200,
            content_type: "text/html".into(),
        });
        assert!(matches!(unreadable, RequestFailure::Transport { .. }));
        assert!(!Failure::from(unreadable).is_expired());
    }
}
