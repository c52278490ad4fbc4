//! Incremental decoding of server frames from byte slices of any size.
//!
//! The decoder never copies payload: it hands back sub-slices of the input, so a large binary
//! message is copied once, into the message being assembled. Only a header split across two inputs
//! is buffered, in 14 bytes.

use super::frame::{FrameError, FrameHeader, MAX_HEADER_LEN};

/// One step of decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A complete, validated header. When its `payload_len` is 0 the frame is already complete.
    Header(FrameHeader),
    /// Part of the current frame's payload, borrowed from the input.
    Payload {
        /// The bytes (server frames are never masked, so they are already plain).
        data: &'a [u8],
        /// Whether this piece ends the frame.
        end: bool,
    },
}

/// Splits a stream of server bytes into frame headers and payload pieces.
///
/// ```
/// use klient_proto::ws::decoder::{Decoded, FrameDecoder};
/// let mut decoder = FrameDecoder::new(1 << 20);
/// let input = [0x82, 0x02, 0xAA, 0xBB];
/// let (used, step) = decoder.decode(&input).unwrap();
/// assert!(matches!(step, Some(Decoded::Header(h)) if h.payload_len == 2));
/// let (_, step) = decoder.decode(&input[used..]).unwrap();
/// assert_eq!(step, Some(Decoded::Payload { data: &[0xAA, 0xBB], end: true }));
/// ```
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    header_buf: [u8; MAX_HEADER_LEN],
    header_fill: usize,
    payload_left: u64,
    allowed_rsv: u8,
    max_frame_size: u64,
}

impl FrameDecoder {
    /// A decoder that rejects payloads longer than `max_frame_size` bytes and any RSV bit.
    pub fn new(max_frame_size: u64) -> Self {
        Self {
            header_buf: [0; MAX_HEADER_LEN],
            header_fill: 0,
            payload_left: 0,
            allowed_rsv: 0,
            max_frame_size,
        }
    }

    /// Lets the RSV bits in `rsv` (as `0b0000_0RRR`) through, for a negotiated extension.
    pub fn allow_rsv(&mut self, rsv: u8) {
        self.allowed_rsv = rsv & 0x7;
    }

    /// Whether the decoder stands between frames (no partial header or payload pending).
    pub fn is_at_frame_boundary(&self) -> bool {
        self.header_fill == 0 && self.payload_left == 0
    }

    /// Decodes the next step from `input`.
    ///
    /// Returns how many bytes of `input` were consumed and the step, if one completed; call again
    /// with the rest of the input until it is consumed. `(n, None)` means those `n` bytes went into
    /// a partial header and more input is needed. After an error the stream is unusable.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<Decoded<'a>>), FrameError> {
        if self.payload_left > 0 {
            let take = usize::try_from(self.payload_left)
                .unwrap_or(usize::MAX)
                .min(input.len());
            if take == 0 {
                return Ok((0, None));
            }
            self.payload_left -= take as u64;
            let data = &input[..take];
            let end = self.payload_left == 0;
            return Ok((take, Some(Decoded::Payload { data, end })));
        }
        if self.header_fill == 0 {
            // Fast path: the whole header sits in this input.
            return match FrameHeader::parse(input)? {
                Some((header, len)) => Ok((len, Some(Decoded::Header(self.accept(header)?)))),
                None => Ok((self.buffer_header(input), None)),
            };
        }
        let before = self.header_fill;
        let copied = self.buffer_header(input);
        match FrameHeader::parse(&self.header_buf[..self.header_fill])? {
            Some((header, len)) => {
                self.header_fill = 0;
                Ok((len - before, Some(Decoded::Header(self.accept(header)?))))
            }
            None => Ok((copied, None)),
        }
    }

    fn buffer_header(&mut self, input: &[u8]) -> usize {
        let room = &mut self.header_buf[self.header_fill..];
        let copied = room.len().min(input.len());
        room[..copied].copy_from_slice(&input[..copied]);
        self.header_fill += copied;
        copied
    }

    fn accept(&mut self, header: FrameHeader) -> Result<FrameHeader, FrameError> {
        if header.mask.is_some() {
            return Err(FrameError::MaskedServerFrame);
        }
        if header.rsv & !self.allowed_rsv != 0 {
            return Err(FrameError::ReservedBitsSet { rsv: header.rsv });
        }
        if header.payload_len > self.max_frame_size {
            return Err(FrameError::FrameTooLarge {
                len: header.payload_len,
                max: self.max_frame_size,
            });
        }
        self.payload_left = header.payload_len;
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::frame::OpCode;

    /// Feeds `input` in pieces of `step` bytes and collects (header, payload) pairs.
    fn decode_all(input: &[u8], step: usize, max: u64) -> Result<Vec<(FrameHeader, Vec<u8>)>, FrameError> {
        let mut decoder = FrameDecoder::new(max);
        let mut frames: Vec<(FrameHeader, Vec<u8>)> = Vec::new();
        for piece in input.chunks(step) {
            let mut rest = piece;
            while !rest.is_empty() {
                let (used, decoded) = decoder.decode(rest)?;
                rest = &rest[used..];
                match decoded {
                    Some(Decoded::Header(h)) => frames.push((h, Vec::new())),
                    Some(Decoded::Payload { data, .. }) => {
                        frames.last_mut().unwrap().1.extend_from_slice(data)
                    }
                    None => assert!(rest.is_empty(), "partial header left input unconsumed"),
                }
            }
        }
        assert!(decoder.is_at_frame_boundary());
        Ok(frames)
    }

    fn server_frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask: None,
            payload_len: payload.len() as u64,
        }
        .write(&mut out);
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn decodes_all_length_forms_in_any_split() {
        for len in [0usize, 125, 126, 65535, 65536] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut wire = server_frame(OpCode::Binary, &payload);
            wire.extend(server_frame(OpCode::Ping, b"p"));
            let steps: &[usize] = if len > 1000 {
                &[1, 7, 4096]
            } else {
                &[1, 2, 3, 5, 13, 1000]
            };
            for &step in steps {
                let frames = decode_all(&wire, step, 1 << 20).unwrap();
                assert_eq!(frames.len(), 2, "len {len} step {step}");
                assert_eq!(frames[0].0.payload_len, len as u64);
                assert_eq!(frames[0].1, payload);
                assert_eq!(frames[1].1, b"p");
            }
        }
    }

    #[test]
    fn rejects_masked_server_frames() {
        let wire = [0x82, 0x80 | 1, 1, 2, 3, 4, 0];
        assert_eq!(decode_all(&wire, 1, 100), Err(FrameError::MaskedServerFrame));
    }

    #[test]
    fn rejects_rsv_unless_allowed() {
        let wire = [0xC2, 0];
        assert_eq!(
            decode_all(&wire, 2, 100),
            Err(FrameError::ReservedBitsSet { rsv: 0b100 })
        );
        let mut decoder = FrameDecoder::new(100);
        decoder.allow_rsv(0b100);
        assert!(matches!(decoder.decode(&wire), Ok((2, Some(Decoded::Header(_))))));
    }

    #[test]
    fn rejects_frames_over_the_limit_before_reading_payload() {
        let wire = [0x82, 126, 0x01, 0x00];
        assert_eq!(
            decode_all(&wire, 1, 255),
            Err(FrameError::FrameTooLarge { len: 256, max: 255 })
        );
    }

    #[test]
    fn empty_input_is_no_progress() {
        let mut decoder = FrameDecoder::new(10);
        assert_eq!(decoder.decode(&[]), Ok((0, None)));
        decoder.decode(&[0x82, 3]).unwrap();
        assert_eq!(decoder.decode(&[]), Ok((0, None)));
        assert!(!decoder.is_at_frame_boundary());
    }
}
