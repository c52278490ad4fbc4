//! SPDY/3 frames: the incremental decoder and the encoder.
//!
//! A control frame starts with its control bit, the version (3) and the type, then 8 bits of flags
//! and a 24-bit payload length; a data frame starts with a 31-bit stream id, then flags and length.
//! The decoder takes bytes in any pieces (a tunnel splits frames across WebSocket messages
//! anywhere) and hands out whole frames; header blocks come out inflated, in order, since one zlib
//! stream runs through them all.

use bytes::{Buf, Bytes, BytesMut};

use super::error::SpdyError;
use super::header_block::{HeaderCompressor, HeaderDecompressor, Headers};

/// The protocol version this module speaks.
pub const VERSION: u16 = 3;
/// Largest payload the 24-bit length can describe.
pub const MAX_PAYLOAD: usize = (1 << 24) - 1;
/// Flag of SYN_STREAM, SYN_REPLY, HEADERS and DATA: the sender's last frame on this stream.
pub const FLAG_FIN: u8 = 0x01;
/// Flag of SYN_STREAM: the receiver must not send on this stream.
pub const FLAG_UNIDIRECTIONAL: u8 = 0x02;

const TYPE_SYN_STREAM: u16 = 1;
const TYPE_SYN_REPLY: u16 = 2;
const TYPE_RST_STREAM: u16 = 3;
const TYPE_SETTINGS: u16 = 4;
const TYPE_PING: u16 = 6;
const TYPE_GOAWAY: u16 = 7;
const TYPE_HEADERS: u16 = 8;
const TYPE_WINDOW_UPDATE: u16 = 9;

/// A stream's number: odd when the client opened it, even when the server did.
pub type StreamId = u32;

/// RST_STREAM status codes (SPDY/3 §2.4.2) this crate sends or names.
pub mod rst {
    /// Generic error.
    pub const PROTOCOL_ERROR: u32 = 1;
    /// A frame for a stream that is not open.
    pub const INVALID_STREAM: u32 = 2;
    /// The stream was refused before any processing.
    pub const REFUSED_STREAM: u32 = 3;
    /// The stream is no longer needed.
    pub const CANCEL: u32 = 5;
    /// The endpoint failed internally.
    pub const INTERNAL_ERROR: u32 = 6;
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The peer opens a stream.
    SynStream {
        /// The new stream.
        stream_id: StreamId,
        /// The stream it is associated with (0 for none).
        associated_to: StreamId,
        /// 0 (highest) to 7.
        priority: u8,
        /// [`FLAG_FIN`] and [`FLAG_UNIDIRECTIONAL`].
        flags: u8,
        /// The stream's headers.
        headers: Headers,
    },
    /// The peer accepts a stream this end opened.
    SynReply {
        /// The stream.
        stream_id: StreamId,
        /// The peer's last frame on it.
        fin: bool,
        /// The reply's headers.
        headers: Headers,
    },
    /// A stream ends abnormally.
    RstStream {
        /// The stream.
        stream_id: StreamId,
        /// One of [`rst`]'s codes, or another.
        status: u32,
    },
    /// Settings, which Kubernetes' SPDY library ignores and so does this one.
    Settings,
    /// A ping or the answer to one.
    Ping {
        /// Odd when the client sent the ping, even when the server did.
        id: u32,
    },
    /// The peer will accept no new stream.
    GoAway {
        /// The last stream it processed.
        last_good_stream_id: StreamId,
        /// 0 OK, 1 protocol error, 2 internal error.
        status: u32,
    },
    /// More headers on a stream.
    Headers {
        /// The stream.
        stream_id: StreamId,
        /// The peer's last frame on it.
        fin: bool,
        /// The headers.
        headers: Headers,
    },
    /// Flow control, which Kubernetes' SPDY library ignores and so does this one.
    WindowUpdate {
        /// The stream.
        stream_id: StreamId,
        /// Bytes more the peer accepts.
        delta: u32,
    },
    /// Stream data.
    Data {
        /// The stream.
        stream_id: StreamId,
        /// The peer's last frame on it.
        fin: bool,
        /// The payload.
        data: Bytes,
    },
    /// A control frame of a type SPDY/3 does not define, which a receiver ignores.
    Unknown {
        /// Its type number.
        frame_type: u16,
    },
}

/// How large a frame the decoder accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Largest DATA payload.
    pub max_data: usize,
    /// Largest control frame payload (compressed header block included).
    pub max_control: usize,
    /// Largest inflated header block.
    pub max_header_block: usize,
}

impl Default for FrameLimits {
    /// 1 MiB of data per frame (Kubernetes' peers write at most 32 KiB), 64 KiB of control frame
    /// and of inflated header block.
    fn default() -> Self {
        Self {
            max_data: 1 << 20,
            max_control: 64 * 1024,
            max_header_block: 64 * 1024,
        }
    }
}

/// Turns the peer's bytes into frames.
pub struct FrameDecoder {
    buffer: BytesMut,
    limits: FrameLimits,
    headers: HeaderDecompressor,
}

impl FrameDecoder {
    /// A decoder at the start of a session.
    pub fn new(limits: FrameLimits) -> Self {
        Self {
            buffer: BytesMut::new(),
            limits,
            headers: HeaderDecompressor::new(limits.max_header_block),
        }
    }

    /// Bytes from the peer, in any pieces.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes from the peer that the caller owns: taken without a copy when nothing is waiting
    /// (a tunnel's WebSocket messages arrive as whole vectors).
    pub fn push_owned(&mut self, bytes: Vec<u8>) {
        if self.buffer.is_empty() {
            self.buffer = BytesMut::from(Bytes::from(bytes));
        } else {
            self.buffer.extend_from_slice(&bytes);
        }
    }

    /// Whether bytes of an unfinished frame are waiting (at the end of the transport, the session
    /// was cut inside a frame).
    pub fn has_partial_frame(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// The next whole frame, `None` until more bytes arrive, or why the bytes are not SPDY/3.
    /// After an error the decoder must not be used again.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, SpdyError> {
        let Some(head) = self.buffer.first_chunk::<8>() else {
            return Ok(None);
        };
        let first = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let flags = head[4];
        let length = u32::from_be_bytes([0, head[5], head[6], head[7]]) as usize;
        let control = first & 0x8000_0000 != 0;
        let max = if control {
            self.limits.max_control
        } else {
            self.limits.max_data
        };
        if length > max {
            return Err(SpdyError::FrameTooLarge { length, max });
        }
        if self.buffer.len() < 8 + length {
            self.buffer.reserve(8 + length - self.buffer.len());
            return Ok(None);
        }
        self.buffer.advance(8);
        let payload = self.buffer.split_to(length).freeze();
        if !control {
            return Ok(Some(Frame::Data {
                stream_id: first & 0x7FFF_FFFF,
                fin: flags & FLAG_FIN != 0,
                data: payload,
            }));
        }
        let version = ((first >> 16) & 0x7FFF) as u16;
        if version != VERSION {
            return Err(SpdyError::UnsupportedVersion(version));
        }
        self.control_frame(first as u16, flags, payload).map(Some)
    }

    fn control_frame(&mut self, frame_type: u16, flags: u8, payload: Bytes) -> Result<Frame, SpdyError> {
        let invalid = |reason| SpdyError::InvalidFrame { frame_type, reason };
        let word =
            |at: usize| u32::from_be_bytes([payload[at], payload[at + 1], payload[at + 2], payload[at + 3]]);
        let stream = |at: usize| word(at) & 0x7FFF_FFFF;
        Ok(match frame_type {
            TYPE_SYN_STREAM => {
                if payload.len() < 10 {
                    return Err(invalid("shorter than 10 bytes"));
                }
                let stream_id = stream(0);
                if stream_id == 0 {
                    return Err(invalid("stream 0"));
                }
                Frame::SynStream {
                    stream_id,
                    associated_to: stream(4),
                    priority: payload[8] >> 5,
                    flags,
                    headers: self.headers.decompress(&payload[10..])?,
                }
            }
            TYPE_SYN_REPLY | TYPE_HEADERS => {
                if payload.len() < 4 {
                    return Err(invalid("shorter than 4 bytes"));
                }
                let stream_id = stream(0);
                if stream_id == 0 {
                    return Err(invalid("stream 0"));
                }
                let headers = self.headers.decompress(&payload[4..])?;
                let fin = flags & FLAG_FIN != 0;
                if frame_type == TYPE_SYN_REPLY {
                    Frame::SynReply {
                        stream_id,
                        fin,
                        headers,
                    }
                } else {
                    Frame::Headers {
                        stream_id,
                        fin,
                        headers,
                    }
                }
            }
            TYPE_RST_STREAM => {
                if payload.len() != 8 || flags != 0 {
                    return Err(invalid("not 8 bytes without flags"));
                }
                Frame::RstStream {
                    stream_id: stream(0),
                    status: word(4),
                }
            }
            TYPE_SETTINGS => {
                if payload.len() < 4 || (payload.len() - 4) as u64 != u64::from(word(0)) * 8 {
                    return Err(invalid("length does not match the entry count"));
                }
                Frame::Settings
            }
            TYPE_PING => {
                if payload.len() != 4 {
                    return Err(invalid("not 4 bytes"));
                }
                Frame::Ping { id: word(0) }
            }
            TYPE_GOAWAY => {
                if payload.len() != 8 {
                    return Err(invalid("not 8 bytes"));
                }
                Frame::GoAway {
                    last_good_stream_id: stream(0),
                    status: word(4),
                }
            }
            TYPE_WINDOW_UPDATE => {
                if payload.len() != 8 {
                    return Err(invalid("not 8 bytes"));
                }
                Frame::WindowUpdate {
                    stream_id: stream(0),
                    delta: word(4) & 0x7FFF_FFFF,
                }
            }
            other => Frame::Unknown { frame_type: other },
        })
    }
}

/// Writes this end's frames; header blocks go through this end's one zlib stream.
#[derive(Default)]
pub struct FrameEncoder {
    headers: HeaderCompressor,
}

impl FrameEncoder {
    /// An encoder at the start of a session.
    pub fn new() -> Self {
        Self::default()
    }

    /// SYN_STREAM opening `stream_id` (priority 0, no association).
    pub fn syn_stream(&mut self, out: &mut Vec<u8>, stream_id: StreamId, flags: u8, headers: &Headers) {
        let block = self.headers.compress(headers);
        control_head(out, TYPE_SYN_STREAM, flags, 10 + block.len());
        out.extend_from_slice(&(stream_id & 0x7FFF_FFFF).to_be_bytes());
        out.extend_from_slice(&[0; 6]);
        out.extend_from_slice(&block);
    }

    /// SYN_REPLY accepting the peer's `stream_id`.
    pub fn syn_reply(&mut self, out: &mut Vec<u8>, stream_id: StreamId, fin: bool, headers: &Headers) {
        let block = self.headers.compress(headers);
        control_head(
            out,
            TYPE_SYN_REPLY,
            if fin { FLAG_FIN } else { 0 },
            4 + block.len(),
        );
        out.extend_from_slice(&(stream_id & 0x7FFF_FFFF).to_be_bytes());
        out.extend_from_slice(&block);
    }
}

/// RST_STREAM of `stream_id` with `status`.
pub fn rst_stream(out: &mut Vec<u8>, stream_id: StreamId, status: u32) {
    control_head(out, TYPE_RST_STREAM, 0, 8);
    out.extend_from_slice(&(stream_id & 0x7FFF_FFFF).to_be_bytes());
    out.extend_from_slice(&status.to_be_bytes());
}

/// PING with `id`.
pub fn ping(out: &mut Vec<u8>, id: u32) {
    control_head(out, TYPE_PING, 0, 4);
    out.extend_from_slice(&id.to_be_bytes());
}

/// GOAWAY naming the last stream this end processed.
pub fn go_away(out: &mut Vec<u8>, last_good_stream_id: StreamId, status: u32) {
    control_head(out, TYPE_GOAWAY, 0, 8);
    out.extend_from_slice(&(last_good_stream_id & 0x7FFF_FFFF).to_be_bytes());
    out.extend_from_slice(&status.to_be_bytes());
}

/// DATA frames carrying `data` on `stream_id`, split at [`MAX_PAYLOAD`]; `fin` marks the last
/// (an empty `data` with `fin` is one empty frame, the usual half-close).
pub fn data(out: &mut Vec<u8>, stream_id: StreamId, data: &[u8], fin: bool) {
    let mut chunks = data.chunks(MAX_PAYLOAD).peekable();
    if chunks.peek().is_none() {
        data_head(out, stream_id, fin, 0);
        return;
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        data_head(out, stream_id, fin && last, chunk.len());
        out.extend_from_slice(chunk);
    }
}

/// The 8-byte head of a DATA frame, for callers that write the payload themselves.
pub fn data_head(out: &mut Vec<u8>, stream_id: StreamId, fin: bool, length: usize) {
    debug_assert!(length <= MAX_PAYLOAD);
    out.extend_from_slice(&(stream_id & 0x7FFF_FFFF).to_be_bytes());
    out.push(if fin { FLAG_FIN } else { 0 });
    out.extend_from_slice(&(length as u32).to_be_bytes()[1..]);
}

fn control_head(out: &mut Vec<u8>, frame_type: u16, flags: u8, length: usize) {
    debug_assert!(length <= MAX_PAYLOAD);
    out.extend_from_slice(&(0x8000 | VERSION).to_be_bytes());
    out.extend_from_slice(&frame_type.to_be_bytes());
    out.push(flags);
    out.extend_from_slice(&(length as u32).to_be_bytes()[1..]);
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
