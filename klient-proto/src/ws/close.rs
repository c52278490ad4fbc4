//! Close status codes (RFC 6455 §7.4) and the close frame's payload.

use std::fmt;

/// Longest close reason: a control payload is at most 125 bytes and the code takes 2.
pub const MAX_CLOSE_REASON: usize = 123;

/// A close status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection is fulfilled.
    pub const NORMAL: Self = Self(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: Self = Self(1003);
    /// 1007: a message's payload is inconsistent with its type (invalid UTF-8 in text).
    pub const INVALID_PAYLOAD: Self = Self(1007);
    /// 1008: a message violates the endpoint's policy.
    pub const POLICY_VIOLATION: Self = Self(1008);
    /// 1009: a frame or message is too big to process.
    pub const MESSAGE_TOO_BIG: Self = Self(1009);
    /// 1010: the client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: Self = Self(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: Self = Self(1011);

    /// Whether this code may appear in a close frame.
    ///
    /// 1000–1003 and 1007–1011 are defined for the wire, 3000–4999 are for libraries and
    /// applications; 1004, 1005, 1006 and 1015 are reserved for local use and everything else
    /// is unassigned.
    pub fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1011 | 3000..=4999)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a close frame said: its code and reason. `code` is `None` when the frame had no
/// payload (and then the reason is empty).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CloseFrame {
    /// The close code.
    pub code: Option<CloseCode>,
    /// The reason, possibly empty.
    pub reason: String,
}

impl fmt::Display for CloseFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.reason.as_str()) {
            (None, _) => f.write_str("no close code"),
            (Some(code), "") => write!(f, "close code {code}"),
            (Some(code), reason) => write!(f, "close code {code}, reason {reason:?}"),
        }
    }
}

/// Why a received close frame's payload is malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClosePayloadError {
    /// A 1-byte payload: too short for a code, too long for none.
    Truncated,
    /// A code that may not be sent on the wire.
    InvalidCode(u16),
    /// A reason that is not UTF-8.
    InvalidReason,
}

impl fmt::Display for ClosePayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("1-byte close payload"),
            Self::InvalidCode(c) => write!(f, "close code {c} is not valid on the wire"),
            Self::InvalidReason => f.write_str("close reason is not valid UTF-8"),
        }
    }
}

impl std::error::Error for ClosePayloadError {}

/// Splits a close payload into its code and reason; an empty payload has neither.
pub fn parse_close_payload(payload: &[u8]) -> Result<Option<(CloseCode, String)>, ClosePayloadError> {
    match payload {
        [] => Ok(None),
        [_] => Err(ClosePayloadError::Truncated),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_valid_on_wire() {
                return Err(ClosePayloadError::InvalidCode(code.0));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| ClosePayloadError::InvalidReason)?;
            Ok(Some((code, reason.to_owned())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_validity_follows_the_registry() {
        for code in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999] {
            assert!(CloseCode(code).is_valid_on_wire(), "{code}");
        }
        for code in [0, 999, 1004, 1005, 1006, 1012, 1015, 1016, 2999, 5000, 65535] {
            assert!(!CloseCode(code).is_valid_on_wire(), "{code}");
        }
    }

    #[test]
    fn parses_payloads() {
        assert_eq!(parse_close_payload(&[]), Ok(None));
        assert_eq!(
            parse_close_payload(&[0x03, 0xE8, b'o', b'k']),
            Ok(Some((CloseCode::NORMAL, "ok".to_owned())))
        );
        assert_eq!(parse_close_payload(&[0x03]), Err(ClosePayloadError::Truncated));
        assert_eq!(
            parse_close_payload(&[0x03, 0xED]),
            Err(ClosePayloadError::InvalidCode(1005))
        );
        assert_eq!(
            parse_close_payload(&[0x03, 0xE8, 0xFF]),
            Err(ClosePayloadError::InvalidReason)
        );
    }
}
