//! When an answer is not the answer yet. As client-go reads it (`checkWait` in its REST client),
//! a `429 Too Many Requests` or any 5xx that carries `Retry-After` says the server did not
//! process the request and when to come back, so the request goes out again, whatever its method.
//! Without `Retry-After` the status is the answer: a 429 from an eviction that a disruption budget
//! blocks, a 503 from an aggregated API that is down.

use std::time::Duration;

use http::{HeaderMap, StatusCode, header};

/// How many times, and how long at most, a call waits and tries again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries after the first. Default 3.
    pub max_retries: u32,
    /// The longest `Retry-After` honoured; a server asking for more gets its answer returned.
    /// Default 60 s.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            max_wait: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// How long to wait before trying again after `status`, when the call should be tried again
    /// at all; `retries` is how many times it was tried again already.
    pub fn delay(&self, status: StatusCode, headers: &HeaderMap, retries: u32) -> Option<Duration> {
        if retries >= self.max_retries {
            return None;
        }
        if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
            return None;
        }
        retry_after(headers).filter(|delay| *delay <= self.max_wait)
    }
}

/// `Retry-After` in seconds (the API server never sends the HTTP-date form).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(retry_after: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn retries_follow_retry_after_and_stop_after_max_retries() {
        let policy = RetryPolicy::default();
        let delay = |code, after, retries| {
            policy.delay(StatusCode::from_u16(code).unwrap(), &headers(after), retries)
        };
        assert_eq!(delay(429, Some("2"), 0), Some(Duration::from_secs(2)));
        assert_eq!(delay(429, None, 0), None, "429 without Retry-After is final");
        assert_eq!(delay(503, Some("1"), 0), Some(Duration::from_secs(1)));
        assert_eq!(
            delay(500, Some("1"), 0),
            Some(Duration::from_secs(1)),
            "a ServerTimeout"
        );
        assert_eq!(
            delay(503, None, 0),
            None,
            "an aggregated API that is down answers"
        );
        assert_eq!(delay(504, None, 1), None);
        assert_eq!(delay(409, Some("1"), 0), None, "a conflict is an answer");
        assert_eq!(delay(429, Some("1"), 3), None, "max_retries is 3");
        assert_eq!(
            delay(429, Some("3600"), 0),
            None,
            "too long a wait is not honoured"
        );
        assert_eq!(
            delay(429, Some("soon"), 0),
            None,
            "an unreadable Retry-After is none"
        );
    }
}
