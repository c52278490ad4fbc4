//! The channel framing shared by exec, attach and port-forward: one channel byte, then data.
//!
//! Every binary WebSocket message of the `channel.k8s.io` protocols starts with the number of the
//! channel it belongs to; the rest of the message is that channel's data. This module holds the
//! subprotocol names, the request-path helpers, and the framing in both directions.

use std::fmt;

use bytes::Bytes;
use percent_encoding::utf8_percent_encode;

use crate::api::PATH_SEGMENT;
use crate::api::{BadSegment, RequestError, Segment};
use crate::ws;

/// The subprotocol with the stream-close signal (Kubernetes ≥ 1.30 terminates it in the API server).
pub const V5_CHANNEL: &str = "v5.channel.k8s.io";
/// The older subprotocol, proxied to the kubelet unchanged; it has no half-close.
pub const V4_CHANNEL: &str = "v4.channel.k8s.io";

/// First byte of the v5 stream-close signal; the second byte names the channel closed.
pub const CLOSE_SIGNAL: u8 = 255;

/// The channel protocol version the server chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelProtocol {
    /// `v4.channel.k8s.io`: channels, no half-close.
    V4,
    /// `v5.channel.k8s.io`: v4 plus the `[255, channel]` close signal.
    V5,
}

impl ChannelProtocol {
    /// The protocol the handshake negotiated ([`Negotiated::protocol`](ws::Negotiated::protocol)).
    pub fn from_negotiated(protocol: Option<&str>) -> Result<Self, UnsupportedProtocol> {
        match protocol {
            Some(V5_CHANNEL) => Ok(Self::V5),
            Some(V4_CHANNEL) => Ok(Self::V4),
            other => Err(UnsupportedProtocol(other.map(str::to_owned))),
        }
    }

    /// The subprotocol name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Self::V4 => V4_CHANNEL,
            Self::V5 => V5_CHANNEL,
        }
    }
}

/// The server chose no subprotocol, or one these machines do not speak (`None`: none chosen,
/// which means the pre-v4 format whose errors are not JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedProtocol(pub Option<String>);

impl fmt::Display for UnsupportedProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(p) => write!(
                f,
                "server chose subprotocol {p:?}, not a channel.k8s.io version we speak"
            ),
            None => f.write_str("server chose no subprotocol; v4 or v5.channel.k8s.io is required"),
        }
    }
}

impl std::error::Error for UnsupportedProtocol {}

/// Splits a received binary message into its channel and data, sharing the message's storage.
/// `None` for an empty message, which carries no channel.
pub(crate) fn split(message: Vec<u8>) -> Option<(u8, Bytes)> {
    let channel = *message.first()?;
    Some((channel, Bytes::from(message).slice(1..)))
}

/// Queues `data` on `channel` as messages of at most `max_payload` data bytes each (at least one).
/// Nothing is queued for empty data: an empty message means nothing to the server.
pub(crate) fn send(
    conn: &mut ws::Connection,
    channel: u8,
    data: &[u8],
    max_payload: usize,
) -> Result<(), ws::WsSendError> {
    let mut message = Vec::with_capacity(data.len().min(max_payload.max(1)) + 1);
    for chunk in data.chunks(max_payload.max(1)) {
        message.clear();
        message.push(channel);
        message.extend_from_slice(chunk);
        conn.send_binary(&message)?;
    }
    Ok(())
}

/// A query serializer that appends to `path` after a `?`.
pub(crate) fn query_after(mut path: String) -> form_urlencoded::Serializer<'static, String> {
    path.push('?');
    let start = path.len();
    form_urlencoded::Serializer::for_suffix(path, start)
}

/// A namespace or pod name that cannot be placed in a request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSegment {
    /// Which one.
    pub segment: Segment,
    /// The rejected value.
    pub value: String,
    /// What is wrong with it.
    pub problem: BadSegment,
}

impl fmt::Display for InvalidSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} {:?}: it {}",
            self.segment, self.value, self.problem
        )
    }
}

impl std::error::Error for InvalidSegment {}

impl From<InvalidSegment> for RequestError {
    fn from(e: InvalidSegment) -> Self {
        RequestError::InvalidSegment {
            segment: e.segment,
            value: e.value,
            problem: e.problem,
        }
    }
}

/// `/api/v1/namespaces/{namespace}/pods/{pod}/{subresource}`, with both names checked and encoded.
pub(crate) fn pod_path(namespace: &str, pod: &str, subresource: &str) -> Result<String, InvalidSegment> {
    check_segment(Segment::Namespace, namespace)?;
    check_segment(Segment::Name, pod)?;
    let mut path = String::from("/api/v1/namespaces/");
    path.extend(utf8_percent_encode(namespace, PATH_SEGMENT));
    path.push_str("/pods/");
    path.extend(utf8_percent_encode(pod, PATH_SEGMENT));
    path.push('/');
    path.push_str(subresource);
    Ok(path)
}

fn check_segment(segment: Segment, value: &str) -> Result<(), InvalidSegment> {
    let problem = if value.is_empty() {
        BadSegment::Empty
    } else if value.contains('/') {
        BadSegment::ContainsSlash
    } else if value.contains('%') {
        BadSegment::ContainsPercent
    } else if value == "." || value == ".." {
        BadSegment::DotSegment
    } else {
        return Ok(());
    };
    Err(InvalidSegment {
        segment,
        value: value.to_owned(),
        problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiated_protocols() {
        assert_eq!(
            ChannelProtocol::from_negotiated(Some(V5_CHANNEL)),
            Ok(ChannelProtocol::V5)
        );
        assert_eq!(
            ChannelProtocol::from_negotiated(Some(V4_CHANNEL)),
            Ok(ChannelProtocol::V4)
        );
        assert_eq!(
            ChannelProtocol::from_negotiated(None),
            Err(UnsupportedProtocol(None))
        );
        assert_eq!(
            ChannelProtocol::from_negotiated(Some("channel.k8s.io")),
            Err(UnsupportedProtocol(Some("channel.k8s.io".into())))
        );
        assert_eq!(ChannelProtocol::V5.name(), V5_CHANNEL);
    }

    #[test]
    fn split_shares_and_rejects_empty() {
        assert_eq!(split(vec![]), None);
        assert_eq!(split(vec![1]), Some((1, Bytes::new())));
        assert_eq!(split(vec![2, b'a', b'b']), Some((2, Bytes::from_static(b"ab"))));
    }

    #[test]
    fn pod_paths_are_checked_and_encoded() {
        assert_eq!(
            pod_path("default", "web 1", "exec").unwrap(),
            "/api/v1/namespaces/default/pods/web%201/exec"
        );
        assert!(matches!(
            pod_path("", "web", "exec"),
            Err(InvalidSegment {
                segment: Segment::Namespace,
                problem: BadSegment::Empty,
                ..
            })
        ));
        assert!(matches!(
            pod_path("ns", "a/b", "exec"),
            Err(InvalidSegment {
                segment: Segment::Name,
                problem: BadSegment::ContainsSlash,
                ..
            })
        ));
        assert!(matches!(
            pod_path("ns", "..", "exec"),
            Err(InvalidSegment {
                problem: BadSegment::DotSegment,
                ..
            })
        ));
        assert!(matches!(
            pod_path("ns", "%2F", "exec"),
            Err(InvalidSegment {
                problem: BadSegment::ContainsPercent,
                ..
            })
        ));
        let e = pod_path("ns", "", "exec").unwrap_err();
        assert_eq!(e.to_string(), "invalid name \"\": it is empty");
        assert!(matches!(
            RequestError::from(e),
            RequestError::InvalidSegment {
                segment: Segment::Name,
                ..
            }
        ));
    }
}
