//! When an answer is not the answer yet: `429 Too Many Requests`, `503 Service Unavailable` and
//! `504 Gateway Timeout` ask the client to come back later, the way client-go reads them.

use std::time::Duration;

use http::{HeaderMap, Method, StatusCode, header};

/// How many times, and how long at most, a call waits and tries again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries after the first. Default 3.
    pub max_retries: u32,
    /// The longest `Retry-After` honoured; a server asking for more gets its answer returned.
    /// Default 60 s.
    pub max_wait: Duration,
    /// The wait before the first retry of a read answered without `Retry-After`, doubled for each
    /// further one (up to 32 times). Default 500 ms.
    pub base_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            max_wait: Duration::from_secs(60),
            base_backoff: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// How long to wait before trying again after `status`, when the call should be tried again
    /// at all; `retries` is how many times it was tried again already.
    ///
    /// With `Retry-After` the server says it did not process the request and when to come back:
    /// any method is tried again. A 503/504 without it is tried again only for reads (a write may
    /// have been applied). A 429 without it (an eviction a disruption budget blocks) is an
    /// answer, not a signal to retry.
    pub fn delay(
        &self,
        method: &Method,
        status: StatusCode,
        headers: &HeaderMap,
        retries: u32,
    ) -> Option<Duration> {
        if retries >= self.max_retries {
            return None;
        }
        let retry_after = retry_after(headers);
        let retryable = match status {
            StatusCode::TOO_MANY_REQUESTS => retry_after.is_some(),
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
                retry_after.is_some() || method == Method::GET
            }
            _ => false,
        };
        if !retryable {
            return None;
        }
        let delay = retry_after.unwrap_or_else(|| self.base_backoff.saturating_mul(1 << retries.min(5)));
        (delay <= self.max_wait).then_some(delay)
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

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn retries_follow_retry_after_and_stop_after_max_retries() {
        let policy = RetryPolicy::default();
        let post = Method::POST;
        let delay = |method: &Method, code, after, retries| {
            policy.delay(method, status(code), &headers(after), retries)
        };
        assert_eq!(delay(&post, 429, Some("2"), 0), Some(Duration::from_secs(2)));
        assert_eq!(
            delay(&post, 429, None, 0),
            None,
            "429 without Retry-After is final"
        );
        assert_eq!(delay(&post, 503, Some("1"), 0), Some(Duration::from_secs(1)));
        assert_eq!(
            delay(&post, 503, None, 0),
            None,
            "a write without Retry-After is not repeated"
        );
        assert_eq!(
            delay(&Method::GET, 504, None, 1),
            Some(Duration::from_millis(1000))
        );
        assert_eq!(delay(&Method::GET, 500, Some("1"), 0), None, "500 is an answer");
        assert_eq!(delay(&post, 429, Some("1"), 3), None, "max_retries is 3");
        assert_eq!(
            delay(&post, 429, Some("3600"), 0),
            None,
            "too long a wait is not honoured"
        );
        assert_eq!(
            delay(&post, 429, Some("soon"), 0),
            None,
            "an unreadable Retry-After is none"
        );
    }
}
