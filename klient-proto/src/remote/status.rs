//! The exit status of a remote command: the `metav1.Status` the server writes on the error channel.

use std::fmt;

use crate::api::{Status, StatusReason};

/// The `reason` of a Status for a command that exited with a non-zero code.
pub const NON_ZERO_EXIT_CODE: &str = "NonZeroExitCode";
/// The `reason` of the cause that carries the exit code, in decimal, as its `message`.
pub const EXIT_CODE_CAUSE: &str = "ExitCode";

/// How a remote command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitStatus {
    /// The command exited with code 0.
    Success,
    /// The command exited with this non-zero code.
    Code(i32),
    /// The command could not run or was cut short (container gone, executable not found...).
    Failure {
        /// The server's machine-readable reason, usually `InternalError`.
        reason: StatusReason,
        /// The server's description.
        message: String,
    },
}

impl ExitStatus {
    /// Decodes the error channel's content.
    ///
    /// ```
    /// use klient_proto::remote::ExitStatus;
    ///
    /// let json = br#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#;
    /// assert_eq!(ExitStatus::from_json(json).unwrap(), ExitStatus::Code(3));
    /// assert_eq!(ExitStatus::from_json(br#"{"status":"Success"}"#).unwrap(), ExitStatus::Success);
    /// ```
    pub fn from_json(json: &[u8]) -> Result<Self, StatusError> {
        let status: Status = serde_json::from_slice(json).map_err(|e| StatusError::Malformed {
            detail: e.to_string(),
        })?;
        Self::from_status(status)
    }

    /// Interprets a decoded Status.
    pub fn from_status(status: Status) -> Result<Self, StatusError> {
        match status.status.as_deref() {
            Some("Success") => return Ok(Self::Success),
            Some("Failure") => {}
            other => return Err(StatusError::UnknownStatus(other.map(str::to_owned))),
        }
        if status.reason.as_deref() != Some(NON_ZERO_EXIT_CODE) {
            return Ok(Self::Failure {
                reason: StatusReason::parse(status.reason.as_deref().unwrap_or_default()),
                message: status.message.unwrap_or_default(),
            });
        }
        let cause = status
            .details
            .iter()
            .flat_map(|d| &d.causes)
            .find(|c| c.reason.as_deref() == Some(EXIT_CODE_CAUSE))
            .ok_or(StatusError::MissingExitCode)?;
        let text = cause.message.as_deref().unwrap_or_default();
        let code = text
            .parse::<i32>()
            .map_err(|_| StatusError::InvalidExitCode(text.to_owned()))?;
        Ok(Self::Code(code))
    }

    /// Whether the command exited with code 0.
    pub fn success(&self) -> bool {
        *self == Self::Success
    }

    /// The exit code, when the command ran to its end (0 for success).
    pub fn code(&self) -> Option<i32> {
        match self {
            Self::Success => Some(0),
            Self::Code(code) => Some(*code),
            Self::Failure { .. } => None,
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Success => f.write_str("exited with code 0"),
            Self::Code(code) => write!(f, "exited with code {code}"),
            Self::Failure { reason, message } => write!(f, "failed ({reason}): {message}"),
        }
    }
}

/// Why the error channel's content is not a usable Status.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusError {
    /// Not a JSON Status object.
    Malformed {
        /// What the JSON parser said.
        detail: String,
    },
    /// `status` is neither `Success` nor `Failure` (`None`: missing).
    UnknownStatus(Option<String>),
    /// Reason `NonZeroExitCode` without an `ExitCode` cause.
    MissingExitCode,
    /// The `ExitCode` cause's message is not a decimal integer.
    InvalidExitCode(String),
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { detail } => write!(f, "error channel is not a JSON Status: {detail}"),
            Self::UnknownStatus(Some(s)) => write!(f, "Status has unknown status {s:?}"),
            Self::UnknownStatus(None) => f.write_str("Status lacks its status field"),
            Self::MissingExitCode => f.write_str("NonZeroExitCode Status without an ExitCode cause"),
            Self::InvalidExitCode(s) => write!(f, "exit code {s:?} is not an integer"),
        }
    }
}

impl std::error::Error for StatusError {}

#[cfg(test)]
mod tests {
    use super::*;

    // As written by the API server (v5) and the kubelet (v4) for real commands.
    const SUCCESS: &[u8] = br#"{"metadata":{},"status":"Success"}"#;
    const EXIT_3: &[u8] = br#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#;
    const INTERNAL: &[u8] = br#"{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: failed to exec in container: failed to start exec \"4f1\": OCI runtime exec failed: exec failed: unable to start container process: exec: \"nope\": executable file not found in $PATH: unknown","reason":"InternalError","details":{"causes":[{"message":"error executing command in container: failed to exec in container"}]},"code":500}"#;

    #[test]
    fn real_samples() {
        assert_eq!(ExitStatus::from_json(SUCCESS), Ok(ExitStatus::Success));
        assert_eq!(ExitStatus::from_json(EXIT_3), Ok(ExitStatus::Code(3)));
        match ExitStatus::from_json(INTERNAL).unwrap() {
            ExitStatus::Failure { reason, message } => {
                assert_eq!(reason, StatusReason::InternalError);
                assert!(message.starts_with("Internal error occurred: error executing command"));
                assert!(message.contains("executable file not found"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn exit_code_cause_is_found_among_others() {
        let json = br#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"Other","message":"x"},{"reason":"ExitCode","message":"137"}]}}"#;
        let status = ExitStatus::from_json(json).unwrap();
        assert_eq!(status.code(), Some(137));
        assert!(!status.success());
        assert_eq!(status.to_string(), "exited with code 137");
    }

    #[test]
    fn garbage_and_broken_statuses() {
        assert!(matches!(
            ExitStatus::from_json(b"garbage"),
            Err(StatusError::Malformed { .. })
        ));
        assert!(matches!(
            ExitStatus::from_json(b""),
            Err(StatusError::Malformed { .. })
        ));
        assert!(matches!(
            ExitStatus::from_json(b"[1,2]"),
            Err(StatusError::Malformed { .. })
        ));
        assert!(matches!(
            ExitStatus::from_json(br#"{"status":"Success"} trailing"#),
            Err(StatusError::Malformed { .. })
        ));
        assert_eq!(
            ExitStatus::from_json(br#"{"status":"Pending"}"#),
            Err(StatusError::UnknownStatus(Some("Pending".into())))
        );
        assert_eq!(
            ExitStatus::from_json(b"{}"),
            Err(StatusError::UnknownStatus(None))
        );
        assert_eq!(
            ExitStatus::from_json(br#"{"status":"Failure","reason":"NonZeroExitCode"}"#),
            Err(StatusError::MissingExitCode)
        );
        assert_eq!(
            ExitStatus::from_json(
                br#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"three"}]}}"#
            ),
            Err(StatusError::InvalidExitCode("three".into()))
        );
        assert_eq!(
            ExitStatus::from_json(
                br#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"99999999999"}]}}"#
            ),
            Err(StatusError::InvalidExitCode("99999999999".into()))
        );
    }

    #[test]
    fn failure_without_reason_keeps_the_message() {
        assert_eq!(
            ExitStatus::from_json(br#"{"status":"Failure","message":"boom"}"#),
            Ok(ExitStatus::Failure {
                reason: StatusReason::Unknown(String::new()),
                message: "boom".into()
            })
        );
    }
}
