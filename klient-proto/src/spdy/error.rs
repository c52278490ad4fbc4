//! Why a SPDY session cannot go on.

use std::fmt;

/// A broken SPDY session: bytes that are not SPDY/3, a limit passed, or a peer gone silent.
/// Every one ends the whole session (a problem of one stream is a reset, not an error).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpdyError {
    /// A control frame of another SPDY version.
    UnsupportedVersion(u16),
    /// A control frame whose length or flags do not fit its type.
    InvalidFrame {
        /// The frame's type number.
        frame_type: u16,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A frame longer than this end accepts.
    FrameTooLarge {
        /// The frame's payload length.
        length: usize,
        /// The limit it passed.
        max: usize,
    },
    /// A header block that inflates to more than this end accepts.
    HeaderBlockTooLarge {
        /// The limit it passed.
        max: usize,
    },
    /// A header block with more pairs than this end accepts.
    TooManyHeaders {
        /// Pairs the block announces.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A header block that is not a valid name/value list.
    InvalidHeaderBlock(&'static str),
    /// The zlib stream of the peer's header blocks is broken.
    Compression(&'static str),
    /// The peer did something SPDY/3 forbids of it.
    Protocol(&'static str),
    /// Nothing came from the peer for this long, pings included.
    PeerSilent(std::time::Duration),
    /// The transport ended in the middle of a frame.
    Truncated,
}

impl fmt::Display for SpdyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedVersion(v) => write!(f, "SPDY: a control frame of version {v}, not 3"),
            Self::InvalidFrame { frame_type, reason } => {
                write!(f, "SPDY: invalid control frame of type {frame_type}: {reason}")
            }
            Self::FrameTooLarge { length, max } => {
                write!(f, "SPDY: a frame of {length} bytes, more than the {max} accepted")
            }
            Self::HeaderBlockTooLarge { max } => {
                write!(f, "SPDY: a header block inflating to more than {max} bytes")
            }
            Self::TooManyHeaders { count, max } => {
                write!(
                    f,
                    "SPDY: a header block of {count} pairs, more than the {max} accepted"
                )
            }
            Self::InvalidHeaderBlock(reason) => write!(f, "SPDY: invalid header block: {reason}"),
            Self::Compression(reason) => write!(f, "SPDY: header compression: {reason}"),
            Self::Protocol(reason) => write!(f, "SPDY: protocol error: {reason}"),
            Self::PeerSilent(after) => write!(f, "SPDY: nothing from the peer for {after:?}, pings included"),
            Self::Truncated => f.write_str("SPDY: the connection ended inside a frame"),
        }
    }
}

impl std::error::Error for SpdyError {}
