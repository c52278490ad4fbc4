//! Why a WebSocket connection failed ([`WsError`]) and why a verb was refused ([`WsSendError`]).

use std::fmt;
use std::time::Duration;

use super::close::{CloseCode, ClosePayloadError, MAX_CLOSE_REASON};
use super::encoder::MaskKeyError;
use super::frame::FrameError;

/// Why a [`Connection`](super::Connection) failed: handed out by
/// [`poll_event`](super::Connection::poll_event) after every event decoded before it, and
/// again on every later call. Where the RFC asks for it, a close frame with
/// [`close_code`](Self::close_code) is queued for [`poll_transmit`](super::Connection::poll_transmit).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WsError {
    /// The server broke a rule of RFC 6455 or RFC 7692.
    Protocol(ProtocolViolation),
    /// The server sent a frame or message larger than a configured limit (close code 1009).
    LimitExceeded {
        /// Which limit.
        limit: SizeLimit,
        /// Bytes the frame or message had at least (a compressed message: once inflated).
        len: u64,
        /// The configured limit.
        max: u64,
    },
    /// A deadline passed without the server's answer.
    Timeout(Deadline),
    /// The transport ended before the close handshake.
    UnexpectedEof,
    /// The [`MaskKeys`](super::MaskKeys) source had no key for a frame we had to send (a pong,
    /// a keepalive ping, the answer to the server's close). Nothing can be sent unmasked or with a
    /// predictable key, not even a close frame: close the transport.
    MaskKey(MaskKeyError),
}

/// The rule of RFC 6455 (or RFC 7692, permessage-deflate) a server broke.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolViolation {
    /// A malformed frame header. (Never [`FrameError::FrameTooLarge`]: that is
    /// [`WsError::LimitExceeded`].)
    Frame(FrameError),
    /// A continuation frame with no message in progress.
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message was still in progress.
    ExpectedContinuation,
    /// A text message, or a close reason, that is not UTF-8.
    InvalidUtf8,
    /// RSV1 (compressed) on a continuation or control frame (RFC 7692 §6.1).
    UnexpectedRsv1,
    /// A compressed message that does not inflate.
    InvalidCompressedData,
    /// A close frame with a malformed payload.
    InvalidClose(ClosePayloadError),
}

/// The size limit a frame or message exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SizeLimit {
    /// [`Config::max_frame_size`](super::Config::max_frame_size): one frame's payload.
    Frame,
    /// [`Config::max_message_size`](super::Config::max_message_size): a message, all fragments
    /// together (inflated, if compressed).
    Message,
}

/// The deadline that passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Deadline {
    /// No pong came back within [`Keepalive::timeout`](super::Keepalive::timeout) of a ping:
    /// the server or the path to it is gone.
    Pong {
        /// The keepalive timeout.
        after: Duration,
    },
    /// The server did not answer our close frame within
    /// [`Config::close_timeout`](super::Config::close_timeout).
    Close {
        /// The close timeout.
        after: Duration,
    },
}

impl WsError {
    /// The close code sent to the server for this failure, if one is sent.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Self::Protocol(violation) => Some(violation.close_code()),
            Self::LimitExceeded { .. } => Some(CloseCode::MESSAGE_TOO_BIG),
            Self::Timeout(_) | Self::UnexpectedEof | Self::MaskKey(_) => None,
        }
    }

    /// Whether a deadline passed ([`WsError::Timeout`]).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
    }
}

impl ProtocolViolation {
    /// The close code RFC 6455 §7.4.1 gives this violation: 1007 for data inconsistent with its
    /// type, 1002 otherwise.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::InvalidUtf8
            | Self::InvalidCompressedData
            | Self::InvalidClose(ClosePayloadError::InvalidReason) => CloseCode::INVALID_PAYLOAD,
            Self::Frame(FrameError::FrameTooLarge { .. }) => CloseCode::MESSAGE_TOO_BIG,
            Self::Frame(_)
            | Self::UnexpectedContinuation
            | Self::ExpectedContinuation
            | Self::UnexpectedRsv1
            | Self::InvalidClose(_) => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol(violation) => write!(f, "protocol violation: {violation}"),
            Self::LimitExceeded { limit, len, max } => {
                write!(f, "{limit} of at least {len} bytes exceeds the limit of {max}")
            }
            Self::Timeout(deadline) => deadline.fmt(f),
            Self::UnexpectedEof => f.write_str("connection ended before the close handshake"),
            Self::MaskKey(e) => write!(f, "cannot send: {e}"),
        }
    }
}

impl fmt::Display for ProtocolViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Frame(e) => write!(f, "invalid frame: {e}"),
            Self::UnexpectedContinuation => f.write_str("continuation frame with no message"),
            Self::ExpectedContinuation => f.write_str("new message started before the previous one ended"),
            Self::InvalidUtf8 => f.write_str("text is not valid UTF-8"),
            Self::UnexpectedRsv1 => f.write_str("RSV1 set on a continuation or control frame"),
            Self::InvalidCompressedData => f.write_str("compressed message does not inflate"),
            Self::InvalidClose(e) => write!(f, "invalid close frame: {e}"),
        }
    }
}

impl fmt::Display for SizeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Frame => "frame payload",
            Self::Message => "message",
        })
    }
}

impl fmt::Display for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pong { after } => write!(f, "no pong within {after:?} of a keepalive ping"),
            Self::Close { after } => write!(f, "server did not answer our close within {after:?}"),
        }
    }
}

impl std::error::Error for WsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Protocol(e) => Some(e),
            Self::MaskKey(e) => Some(e),
            _ => None,
        }
    }
}

impl std::error::Error for ProtocolViolation {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Frame(e) => Some(e),
            Self::InvalidClose(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a verb of a [`Connection`](super::Connection) was refused. Apart from
/// [`MaskKey`](Self::MaskKey) these are the caller's mistakes (or a race with the server's
/// close) and leave the connection as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WsSendError {
    /// We sent a close frame or the connection ended; nothing more may be sent.
    Closed,
    /// A ping payload over 125 bytes.
    ControlPayloadTooLong {
        /// The payload length.
        len: usize,
    },
    /// A close code that may not be sent (1005, 1006, 1015, unassigned ranges).
    InvalidCloseCode(CloseCode),
    /// A close reason over 123 bytes.
    CloseReasonTooLong {
        /// The reason's length in bytes.
        len: usize,
    },
    /// The [`MaskKeys`](super::MaskKeys) source had no key for the frame: nothing of it was
    /// queued and the connection has failed (with [`WsError::MaskKey`]), without a close frame,
    /// which would need a key too. Close the transport.
    MaskKey(MaskKeyError),
}

impl fmt::Display for WsSendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("the connection is closing or closed"),
            Self::ControlPayloadTooLong { len } => {
                write!(f, "control payload of {len} bytes exceeds 125")
            }
            Self::InvalidCloseCode(c) => write!(f, "close code {c} may not be sent"),
            Self::CloseReasonTooLong { len } => {
                write!(f, "close reason of {len} bytes exceeds {MAX_CLOSE_REASON}")
            }
            Self::MaskKey(e) => write!(f, "the connection failed: {e}"),
        }
    }
}

impl std::error::Error for WsSendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::MaskKey(e) => Some(e),
            _ => None,
        }
    }
}
