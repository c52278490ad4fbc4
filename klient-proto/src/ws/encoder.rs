//! Encoding of client frames, which are always masked (RFC 6455 §5.3).

use std::fmt;

use super::frame::{FrameHeader, OpCode};
use super::mask::apply_mask;

/// A source of masking keys. RFC 6455 §5.3 wants each key unpredictable, so the caller supplies
/// randomness (klient-proto reads no global RNG); any `FnMut() -> [u8; 4]` is one that cannot
/// fail.
///
/// A source whose random generator fails returns [`MaskKeyError`] instead of a key: the
/// [`Connection`](super::Connection) then fails rather than mask with predictable bytes.
pub trait MaskKeys {
    /// The key for the next frame, or why no unpredictable key can be had.
    fn next_key(&mut self) -> Result<[u8; 4], MaskKeyError>;
}

impl<F: FnMut() -> [u8; 4]> MaskKeys for F {
    fn next_key(&mut self) -> Result<[u8; 4], MaskKeyError> {
        Ok(self())
    }
}

/// A [`MaskKeys`] source could not produce a key: its random generator failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskKeyError {
    reason: String,
}

impl MaskKeyError {
    /// An error saying why the source has no key (for example the operating system's error).
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// Why the source has no key.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for MaskKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no random masking key: {}", self.reason)
    }
}

impl std::error::Error for MaskKeyError {}

/// Appends one masked frame to `out`.
///
/// ```
/// use klient_proto::ws::encoder::encode_frame;
/// use klient_proto::ws::frame::OpCode;
/// let mut out = Vec::new();
/// encode_frame(&mut out, OpCode::Text, true, 0, b"Hi", [0, 1, 0, 0]);
/// assert_eq!(out, [0x81, 0x82, 0, 1, 0, 0, b'H', b'i' ^ 1]);
/// ```
pub fn encode_frame(out: &mut Vec<u8>, opcode: OpCode, fin: bool, rsv: u8, payload: &[u8], key: [u8; 4]) {
    let header = FrameHeader {
        fin,
        rsv,
        opcode,
        mask: Some(key),
        payload_len: payload.len() as u64,
    };
    out.reserve(payload.len() + 14);
    header.write(out);
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], key, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_masked_frames_that_parse_back() {
        for len in [0usize, 125, 126, 65535, 65536] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let key = [0x12, 0x34, 0x56, 0x78];
            let mut out = Vec::new();
            encode_frame(&mut out, OpCode::Binary, false, 0, &payload, key);
            let (header, header_len) = FrameHeader::parse(&out).unwrap().unwrap();
            assert_eq!(header.mask, Some(key));
            assert_eq!(header.payload_len, len as u64);
            assert!(!header.fin);
            let mut body = out[header_len..].to_vec();
            apply_mask(&mut body, key, 0);
            assert_eq!(body, payload);
        }
    }

    #[test]
    fn closures_are_key_sources() {
        let mut n = 0u8;
        let mut keys = move || {
            n += 1;
            [n; 4]
        };
        assert_eq!(keys.next_key(), Ok([1; 4]));
        assert_eq!(keys.next_key(), Ok([2; 4]));
    }
}
