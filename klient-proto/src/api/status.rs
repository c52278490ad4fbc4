//! The API server's `metav1.Status`, and the typed [`ApiError`] made from a failed one.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an API call failed, as the server's machine-readable `reason`.
///
/// Reasons the server may add later land in [`StatusReason::Unknown`] with the raw string.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StatusReason {
    /// 401: the request carried no valid credentials.
    Unauthorized,
    /// 403: the caller may not do this.
    Forbidden,
    /// 404: the object (or namespace, or kind) does not exist.
    NotFound,
    /// 409: create of an object that already exists.
    AlreadyExists,
    /// 409: the write lost an optimistic-concurrency race or conflicts with another field manager.
    Conflict,
    /// 410: the resource is gone (older servers use it where newer ones say `Expired`).
    Gone,
    /// 410: the resourceVersion asked for is too old; relist.
    Expired,
    /// 422: the object failed validation; see the details' causes.
    Invalid,
    /// 504 or 500: the server could not finish in time and the client may retry.
    ServerTimeout,
    /// 500: the storage layer could not read the object.
    StoreReadError,
    /// 504: the request's own timeout ran out.
    Timeout,
    /// 429: rate limited; details may say when to retry.
    TooManyRequests,
    /// 400: malformed request.
    BadRequest,
    /// 405: the verb is not served on this URL.
    MethodNotAllowed,
    /// 406: none of the accepted media types can be produced.
    NotAcceptable,
    /// 413: request body too large.
    RequestEntityTooLarge,
    /// 415: the request body's content type is not supported.
    UnsupportedMediaType,
    /// 500: an internal error.
    InternalError,
    /// 503: the service is unavailable.
    ServiceUnavailable,
    /// Any other reason, kept verbatim (empty when the server gave none and the code says nothing).
    Unknown(String),
}

impl StatusReason {
    /// Parses the `reason` string of a Status.
    pub fn parse(reason: &str) -> Self {
        match reason {
            "Unauthorized" => StatusReason::Unauthorized,
            "Forbidden" => StatusReason::Forbidden,
            "NotFound" => StatusReason::NotFound,
            "AlreadyExists" => StatusReason::AlreadyExists,
            "Conflict" => StatusReason::Conflict,
            "Gone" => StatusReason::Gone,
            "Expired" => StatusReason::Expired,
            "Invalid" => StatusReason::Invalid,
            "ServerTimeout" => StatusReason::ServerTimeout,
            "StorageReadError" => StatusReason::StoreReadError,
            "Timeout" => StatusReason::Timeout,
            "TooManyRequests" => StatusReason::TooManyRequests,
            "BadRequest" => StatusReason::BadRequest,
            "MethodNotAllowed" => StatusReason::MethodNotAllowed,
            "NotAcceptable" => StatusReason::NotAcceptable,
            "RequestEntityTooLarge" => StatusReason::RequestEntityTooLarge,
            "UnsupportedMediaType" => StatusReason::UnsupportedMediaType,
            "InternalError" => StatusReason::InternalError,
            "ServiceUnavailable" => StatusReason::ServiceUnavailable,
            other => StatusReason::Unknown(other.to_string()),
        }
    }

    /// The reason a bare HTTP status code implies, for errors whose body gave none (the same
    /// mapping the Go client applies).
    pub fn from_code(code: u16) -> Self {
        match code {
            400 => StatusReason::BadRequest,
            401 => StatusReason::Unauthorized,
            403 => StatusReason::Forbidden,
            404 => StatusReason::NotFound,
            405 => StatusReason::MethodNotAllowed,
            406 => StatusReason::NotAcceptable,
            409 => StatusReason::Conflict,
            410 => StatusReason::Gone,
            413 => StatusReason::RequestEntityTooLarge,
            415 => StatusReason::UnsupportedMediaType,
            422 => StatusReason::Invalid,
            429 => StatusReason::TooManyRequests,
            500 => StatusReason::InternalError,
            503 => StatusReason::ServiceUnavailable,
            504 => StatusReason::ServerTimeout,
            _ => StatusReason::Unknown(String::new()),
        }
    }

    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            StatusReason::Unauthorized => "Unauthorized",
            StatusReason::Forbidden => "Forbidden",
            StatusReason::NotFound => "NotFound",
            StatusReason::AlreadyExists => "AlreadyExists",
            StatusReason::Conflict => "Conflict",
            StatusReason::Gone => "Gone",
            StatusReason::Expired => "Expired",
            StatusReason::Invalid => "Invalid",
            StatusReason::ServerTimeout => "ServerTimeout",
            StatusReason::StoreReadError => "StorageReadError",
            StatusReason::Timeout => "Timeout",
            StatusReason::TooManyRequests => "TooManyRequests",
            StatusReason::BadRequest => "BadRequest",
            StatusReason::MethodNotAllowed => "MethodNotAllowed",
            StatusReason::NotAcceptable => "NotAcceptable",
            StatusReason::RequestEntityTooLarge => "RequestEntityTooLarge",
            StatusReason::UnsupportedMediaType => "UnsupportedMediaType",
            StatusReason::InternalError => "InternalError",
            StatusReason::ServiceUnavailable => "ServiceUnavailable",
            StatusReason::Unknown(raw) => raw,
        }
    }
}

impl fmt::Display for StatusReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason a request failed, usually one invalid field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCause {
    /// Machine-readable cause (`FieldValueInvalid`, `FieldValueRequired`, `ExitCode`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Path of the offending field (`spec.containers[0].image`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Extra data about a failure: which object, which fields, when to retry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDetails {
    /// Name of the object concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Group of the object concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind of the object concerned (may be a plural resource name instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// UID of the object concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Individual causes, e.g. one per invalid field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<StatusCause>,
    /// Seconds the client should wait before retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u32>,
}

/// A `metav1.Status` object: the result of an operation that returns no object (some deletes),
/// and the body of almost every failure.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// `Success` or `Failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Machine-readable reason (see [`StatusReason`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Extra data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<StatusDetails>,
    /// The HTTP status code the server meant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

impl Status {
    /// Whether `status` is `Success`.
    pub fn is_success(&self) -> bool {
        self.status.as_deref() == Some("Success")
    }
}

/// A failed API call, as the server described it in a `metav1.Status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status code (the Status's `code`, or the response's when the body had none).
    pub code: u16,
    /// The Status's `status` field, normally `Failure`.
    pub status: String,
    /// Machine-readable reason; inferred from `code` when the body gave none.
    pub reason: StatusReason,
    /// Human-readable description.
    pub message: String,
    /// Extra data, when the server sent some.
    pub details: Option<StatusDetails>,
}

impl ApiError {
    /// Builds the error from a Status body and the response's HTTP status code.
    pub fn from_status(http_code: u16, status: Status) -> Self {
        let code = status.code.filter(|c| *c != 0).unwrap_or(http_code);
        let reason = match status.reason.as_deref() {
            Some(raw) if !raw.is_empty() => StatusReason::parse(raw),
            _ => StatusReason::from_code(code),
        };
        ApiError {
            code,
            status: status.status.unwrap_or_default(),
            reason,
            message: status.message.unwrap_or_default(),
            details: status.details,
        }
    }

    /// 404 NotFound.
    pub fn is_not_found(&self) -> bool {
        self.reason == StatusReason::NotFound
    }

    /// 409 AlreadyExists.
    pub fn is_already_exists(&self) -> bool {
        self.reason == StatusReason::AlreadyExists
    }

    /// 409 Conflict (a stale resourceVersion or a field-manager conflict).
    pub fn is_conflict(&self) -> bool {
        self.reason == StatusReason::Conflict
    }

    /// 410 Gone / Expired: a watch or list must start over from a fresh list.
    pub fn is_expired(&self) -> bool {
        matches!(self.reason, StatusReason::Gone | StatusReason::Expired) || self.code == 410
    }

    /// The server's advice on when to retry, in seconds.
    pub fn retry_after_seconds(&self) -> Option<u32> {
        self.details.as_ref()?.retry_after_seconds
    }

    /// The individual causes (e.g. one per invalid field); empty when none were sent.
    pub fn causes(&self) -> &[StatusCause] {
        self.details.as_ref().map_or(&[], |d| d.causes.as_slice())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "API error {} {}: {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_reason_round_trips() {
        for raw in [
            "Unauthorized",
            "Forbidden",
            "NotFound",
            "AlreadyExists",
            "Conflict",
            "Gone",
            "Expired",
            "Invalid",
            "ServerTimeout",
            "StorageReadError",
            "Timeout",
            "TooManyRequests",
            "BadRequest",
            "MethodNotAllowed",
            "NotAcceptable",
            "RequestEntityTooLarge",
            "UnsupportedMediaType",
            "InternalError",
            "ServiceUnavailable",
        ] {
            let reason = StatusReason::parse(raw);
            assert!(!matches!(reason, StatusReason::Unknown(_)), "{raw}");
            assert_eq!(reason.as_str(), raw);
        }
        assert_eq!(
            StatusReason::parse("SomethingNew"),
            StatusReason::Unknown("SomethingNew".into())
        );
    }

    #[test]
    fn missing_reason_and_code_fall_back_to_http() {
        let err = ApiError::from_status(404, Status::default());
        assert_eq!(err.code, 404);
        assert!(err.is_not_found());
        let err = ApiError::from_status(418, Status::default());
        assert_eq!(err.reason, StatusReason::Unknown(String::new()));
    }

    #[test]
    fn display_names_code_reason_message() {
        let err = ApiError::from_status(
            409,
            Status {
                reason: Some("Conflict".into()),
                message: Some("the object has been modified".into()),
                ..Status::default()
            },
        );
        assert_eq!(
            err.to_string(),
            "API error 409 Conflict: the object has been modified"
        );
        assert!(err.is_conflict());
        assert!(err.causes().is_empty());
    }
}
