//! permessage-deflate (RFC 7692): the offer, the server's answer, and the per-message codec.
//!
//! The codec's compressor always uses a 32 KiB window (the largest). So we
//! never ask the server for a smaller client window, and if it imposes one anyway we send
//! uncompressed messages (RSV1 clear), which RFC 7692 §6.1 always allows. Inflating handles every
//! window size, and the inflated size is bounded by the message limit as it grows.

use std::fmt;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The extension's registered name.
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The empty stored block that ends every compressed message on the wire (RFC 7692 §7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// Largest LZ77 window, in bits, and the only one our compressor uses.
const MAX_WINDOW_BITS: u8 = 15;

/// What we ask of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeflateOffer {
    /// Ask the server to compress each message on its own, keeping no window between messages.
    pub server_no_context_takeover: bool,
    /// Tell the server we will compress each message on its own.
    pub client_no_context_takeover: bool,
    /// Ask the server to use at most this window (8..=15).
    pub server_max_window_bits: Option<u8>,
}

impl DeflateOffer {
    /// The `Sec-WebSocket-Extensions` value for this offer.
    ///
    /// ```
    /// use klient_proto::ws::deflate::DeflateOffer;
    /// let offer = DeflateOffer { client_no_context_takeover: true, ..Default::default() };
    /// assert_eq!(
    ///     offer.header_value(),
    ///     "permessage-deflate; client_no_context_takeover; client_max_window_bits"
    /// );
    /// ```
    pub fn header_value(&self) -> String {
        let mut value = EXTENSION_NAME.to_owned();
        if self.server_no_context_takeover {
            value.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            value.push_str("; client_no_context_takeover");
        }
        if let Some(bits) = self.server_max_window_bits {
            value.push_str(&format!("; server_max_window_bits={bits}"));
        }
        // Lets the server say which window our compressor may use (RFC 7692 §7.1.2.2).
        value.push_str("; client_max_window_bits");
        value
    }
}

/// Parameters in force after the server accepted permessage-deflate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server resets its compressor after every message.
    pub server_no_context_takeover: bool,
    /// We reset our compressor after every message.
    pub client_no_context_takeover: bool,
    /// Window the server compresses with.
    pub server_max_window_bits: u8,
    /// Window we may compress with; below 15 we send uncompressed (see the module docs).
    pub client_max_window_bits: u8,
}

/// Why the server's permessage-deflate answer is unacceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeflateNegotiationError {
    /// The server accepted permessage-deflate more than once.
    DuplicateExtension,
    /// A parameter RFC 7692 does not define.
    UnknownParameter(String),
    /// A parameter given twice.
    DuplicateParameter(String),
    /// A window-bits parameter without a value in 8..=15, or a flag with a value.
    InvalidValue(String),
    /// A `server_max_window_bits` larger than the one we asked for.
    ServerWindowAboveOffer {
        /// The window we asked for.
        offered: u8,
        /// The window the server answered with.
        answered: u8,
    },
}

impl fmt::Display for DeflateNegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicateExtension => f.write_str("permessage-deflate accepted twice"),
            Self::UnknownParameter(p) => write!(f, "unknown permessage-deflate parameter {p:?}"),
            Self::DuplicateParameter(p) => write!(f, "permessage-deflate parameter {p:?} repeated"),
            Self::InvalidValue(p) => write!(f, "invalid permessage-deflate parameter {p:?}"),
            Self::ServerWindowAboveOffer { offered, answered } => {
                write!(
                    f,
                    "server_max_window_bits={answered} exceeds the {offered} we offered"
                )
            }
        }
    }
}

impl std::error::Error for DeflateNegotiationError {}

impl DeflateParams {
    /// Finds permessage-deflate among the extensions the server enabled and checks its
    /// parameters against `offer`. `Ok(None)` when the server declined it.
    pub fn negotiate(
        offer: &DeflateOffer,
        extensions: &[String],
    ) -> Result<Option<Self>, DeflateNegotiationError> {
        let mut found = None;
        for extension in extensions {
            let mut parts = extension.split(';').map(str::trim);
            if parts.next() != Some(EXTENSION_NAME) {
                continue;
            }
            if found.is_some() {
                return Err(DeflateNegotiationError::DuplicateExtension);
            }
            found = Some(Self::from_parameters(offer, parts)?);
        }
        Ok(found)
    }

    fn from_parameters<'a>(
        offer: &DeflateOffer,
        parameters: impl Iterator<Item = &'a str>,
    ) -> Result<Self, DeflateNegotiationError> {
        let mut params = Self {
            server_no_context_takeover: false,
            client_no_context_takeover: offer.client_no_context_takeover,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
        };
        let mut seen: Vec<&str> = Vec::new();
        for parameter in parameters.filter(|p| !p.is_empty()) {
            let (name, value) = match parameter.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
                None => (parameter, None),
            };
            if seen.contains(&name) {
                return Err(DeflateNegotiationError::DuplicateParameter(name.to_owned()));
            }
            seen.push(name);
            let invalid = || DeflateNegotiationError::InvalidValue(parameter.to_owned());
            match (name, value) {
                ("server_no_context_takeover", None) => params.server_no_context_takeover = true,
                ("client_no_context_takeover", None) => params.client_no_context_takeover = true,
                // RFC 7692 §7.1.2.1: the server may name its window even when the offer did
                // not ask, but never one above what the offer asked for.
                ("server_max_window_bits", Some(v)) => {
                    let answered = window_bits(v).ok_or_else(invalid)?;
                    if let Some(offered) = offer.server_max_window_bits
                        && answered > offered
                    {
                        return Err(DeflateNegotiationError::ServerWindowAboveOffer { offered, answered });
                    }
                    params.server_max_window_bits = answered;
                }
                ("client_max_window_bits", Some(v)) => {
                    params.client_max_window_bits = window_bits(v).ok_or_else(invalid)?;
                }
                (
                    "server_no_context_takeover"
                    | "client_no_context_takeover"
                    | "server_max_window_bits"
                    | "client_max_window_bits",
                    _,
                ) => return Err(invalid()),
                _ => return Err(DeflateNegotiationError::UnknownParameter(name.to_owned())),
            }
        }
        Ok(params)
    }
}

fn window_bits(value: &str) -> Option<u8> {
    // RFC 7692 §7.1.2: 1*DIGIT in 8..15, no leading zeros or signs.
    if value.starts_with('0') || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok().filter(|bits| (8..=15).contains(bits))
}

/// Why an incoming compressed message could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// The inflated message would exceed the limit.
    TooLarge { len: u64 },
    /// The data is not a valid DEFLATE stream.
    Corrupt,
}

/// Inflates incoming messages, keeping the window between messages unless told not to.
pub(crate) struct Inflater {
    raw: Decompress,
    reset_after_message: bool,
    /// The server ended the stream with a BFINAL block: nothing may follow in this message.
    stream_ended: bool,
    scratch: Vec<u8>,
}

impl Inflater {
    pub(crate) fn new(params: &DeflateParams) -> Self {
        Self {
            raw: Decompress::new(false),
            reset_after_message: params.server_no_context_takeover,
            stream_ended: false,
            scratch: vec![0; 32 << 10],
        }
    }

    /// Inflates `input`, a piece of a compressed message, appending to `out`, which may not grow
    /// past `max` bytes.
    pub(crate) fn inflate(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        max: usize,
    ) -> Result<(), InflateError> {
        while !input.is_empty() {
            if self.stream_ended {
                return Err(InflateError::Corrupt);
            }
            let (used, produced, status) = self.step(input, FlushDecompress::None)?;
            input = input.get(used..).unwrap_or_default();
            self.append(produced, out, max)?;
            self.stream_ended = status == Status::StreamEnd;
            if used == 0 && produced == 0 {
                // The inflater keeps what it cannot use yet internally; no progress means corrupt.
                return Err(InflateError::Corrupt);
            }
        }
        Ok(())
    }

    /// Ends a message: feeds the stripped tail so every byte is flushed out.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>, max: usize) -> Result<(), InflateError> {
        if !self.stream_ended {
            let mut tail: &[u8] = &TAIL;
            loop {
                let (used, produced, status) = self.step(tail, FlushDecompress::Sync)?;
                tail = tail.get(used..).unwrap_or_default();
                self.append(produced, out, max)?;
                if status == Status::StreamEnd {
                    self.stream_ended = true;
                }
                if (tail.is_empty() && produced < self.scratch.len()) || (used == 0 && produced == 0) {
                    break;
                }
            }
        }
        if self.reset_after_message || self.stream_ended {
            self.raw.reset(false);
            self.stream_ended = false;
        }
        Ok(())
    }

    fn step(&mut self, input: &[u8], flush: FlushDecompress) -> Result<(usize, usize, Status), InflateError> {
        let (in_before, out_before) = (self.raw.total_in(), self.raw.total_out());
        let status = self
            .raw
            .decompress(input, &mut self.scratch, flush)
            .map_err(|_| InflateError::Corrupt)?;
        let used = (self.raw.total_in() - in_before) as usize;
        let produced = (self.raw.total_out() - out_before) as usize;
        Ok((used, produced, status))
    }

    fn append(&self, produced: usize, out: &mut Vec<u8>, max: usize) -> Result<(), InflateError> {
        let len = out.len() + produced;
        if len > max {
            return Err(InflateError::TooLarge { len: len as u64 });
        }
        out.extend_from_slice(self.scratch.get(..produced).unwrap_or_default());
        Ok(())
    }
}

/// Deflates outgoing messages, or declines when the server allows us only a smaller window.
pub(crate) struct Deflater {
    raw: Compress,
    reset_after_message: bool,
    enabled: bool,
}

impl Deflater {
    pub(crate) fn new(params: &DeflateParams) -> Self {
        Self {
            raw: Compress::new(Compression::default(), false),
            reset_after_message: params.client_no_context_takeover,
            enabled: params.client_max_window_bits == MAX_WINDOW_BITS,
        }
    }

    /// The compressed form of a whole message, tail stripped, or `None` to send it as is.
    pub(crate) fn deflate(&mut self, mut input: &[u8]) -> Option<Vec<u8>> {
        if !self.enabled {
            return None;
        }
        if input.is_empty() {
            // RFC 7692 §7.2.3.6: one empty stored block, stripped of its tail. A sync flush with
            // nothing new would leave zlib nothing to write after the previous message's flush.
            return Some(vec![0x00]);
        }
        let mut out = Vec::with_capacity(input.len() / 2 + 64);
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(64));
            }
            let (in_before, out_before) = (self.raw.total_in(), self.raw.total_out());
            if self
                .raw
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .is_err()
            {
                // Our own compressor failed: start afresh and send this message uncompressed.
                self.raw.reset();
                return None;
            }
            let used = (self.raw.total_in() - in_before) as usize;
            input = input.get(used..).unwrap_or_default();
            // The sync flush is complete when its empty stored block has been written: room left
            // in the buffer is not enough, since a deflater may stop short of the flush after
            // a call that filled the buffer (Autobahn 12.2.14 lost bytes that way).
            if input.is_empty() && out.len() < out.capacity() && out.ends_with(&TAIL) {
                break;
            }
            if used == 0 && self.raw.total_out() == out_before && out.len() < out.capacity() {
                // No progress and no flush: never seen, but do not loop forever or send a
                // truncated message; the peer's window is untouched by what we drop here.
                self.raw.reset();
                return None;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.reset_after_message {
            self.raw.reset();
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }

    fn negotiate(
        offer: DeflateOffer,
        answer: &str,
    ) -> Result<Option<DeflateParams>, DeflateNegotiationError> {
        DeflateParams::negotiate(&offer, &[answer.to_owned()])
    }

    #[test]
    fn offer_lists_requested_parameters() {
        let offer = DeflateOffer {
            server_no_context_takeover: true,
            client_no_context_takeover: false,
            server_max_window_bits: Some(10),
        };
        assert_eq!(
            offer.header_value(),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits"
        );
    }

    #[test]
    fn negotiates_parameters() {
        let offer = DeflateOffer {
            server_max_window_bits: Some(12),
            ..Default::default()
        };
        let got = negotiate(
            offer,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=\"9\"",
        )
        .unwrap()
        .unwrap();
        assert!(got.server_no_context_takeover && got.client_no_context_takeover);
        assert_eq!((got.server_max_window_bits, got.client_max_window_bits), (12, 9));
        assert_eq!(negotiate(offer, "x-other").unwrap(), None);
        assert_eq!(
            negotiate(DeflateOffer::default(), "permessage-deflate").unwrap(),
            Some(params())
        );
    }

    #[test]
    fn server_may_name_its_window_unasked() {
        // Python websockets answers a bare offer like this (RFC 7692 §7.1.2.1 allows it).
        let got = negotiate(
            DeflateOffer::default(),
            "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
        )
        .unwrap()
        .unwrap();
        assert_eq!((got.server_max_window_bits, got.client_max_window_bits), (12, 12));
    }

    /// `len` bytes of 5- or 4-bit pseudo-random values: compressed, they outgrow the buffer
    /// the deflater first allocates (half the input) within the final block.
    fn noise(len: usize, shift: u32, seed: u32) -> Vec<u8> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (state >> shift) as u8
            })
            .collect()
    }

    #[test]
    fn a_full_output_buffer_does_not_cut_the_sync_flush_short() {
        // These sizes made miniz_oxide fill the buffer exactly as the input ran out; the next
        // call emitted the pending bytes but not the final block (Autobahn 12.2.14).
        for (len, shift, seed) in [(61_398, 27, 12_346), (73_215, 28, 12_347)] {
            let message = noise(len, shift, seed);
            let mut deflater = Deflater::new(&params());
            let compressed = deflater.deflate(&message).unwrap();
            let mut inflater = Inflater::new(&params());
            let mut out = Vec::new();
            inflater.inflate(&compressed, &mut out, 1 << 20).unwrap();
            inflater.finish(&mut out, 1 << 20).unwrap();
            assert_eq!(out.len(), message.len(), "{len} bytes");
            assert!(out == message, "{len} bytes differ");
        }
    }

    #[test]
    fn rejects_bad_answers() {
        let d = DeflateOffer::default();
        use DeflateNegotiationError as E;
        assert_eq!(
            negotiate(d, "permessage-deflate; foo"),
            Err(E::UnknownParameter("foo".into()))
        );
        assert_eq!(
            negotiate(
                d,
                "permessage-deflate; client_no_context_takeover; client_no_context_takeover"
            ),
            Err(E::DuplicateParameter("client_no_context_takeover".into()))
        );
        for bad in ["7", "16", "08", "+9", "", "x"] {
            assert!(
                matches!(
                    negotiate(d, &format!("permessage-deflate; client_max_window_bits={bad}")),
                    Err(E::InvalidValue(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            negotiate(d, "permessage-deflate; server_no_context_takeover=1"),
            Err(E::InvalidValue(_))
        ));
        let asked_12 = DeflateOffer {
            server_max_window_bits: Some(12),
            ..d
        };
        assert_eq!(
            negotiate(asked_12, "permessage-deflate; server_max_window_bits=13"),
            Err(E::ServerWindowAboveOffer {
                offered: 12,
                answered: 13
            })
        );
        assert_eq!(
            DeflateParams::negotiate(&d, &["permessage-deflate".into(), "permessage-deflate".into()]),
            Err(E::DuplicateExtension)
        );
    }

    #[test]
    fn round_trips_with_context_takeover() {
        let mut deflater = Deflater::new(&params());
        let mut inflater = Inflater::new(&params());
        let messages: [&[u8]; 4] = [b"hello hello hello", b"", b"hello hello hello", &[7; 100_000]];
        let mut sizes = Vec::new();
        for message in messages {
            let compressed = deflater.deflate(message).unwrap();
            sizes.push(compressed.len());
            let mut out = Vec::new();
            // Inflate in odd pieces to exercise streaming.
            for piece in compressed.chunks(3) {
                inflater.inflate(piece, &mut out, 1 << 20).unwrap();
            }
            inflater.finish(&mut out, 1 << 20).unwrap();
            assert_eq!(out, message);
        }
        assert_eq!(sizes[1], 1, "an empty message is one byte: 0x00");
        assert!(sizes[2] < sizes[0], "the second copy refers to the first");
    }

    #[test]
    fn no_context_takeover_resets_between_messages() {
        let p = DeflateParams {
            client_no_context_takeover: true,
            server_no_context_takeover: true,
            ..params()
        };
        let mut deflater = Deflater::new(&p);
        let first = deflater.deflate(b"abcabcabcabc").unwrap();
        let second = deflater.deflate(b"abcabcabcabc").unwrap();
        assert_eq!(first, second);
        // A fresh inflater must read the second message alone.
        let mut inflater = Inflater::new(&p);
        let mut out = Vec::new();
        inflater.inflate(&first, &mut out, 100).unwrap();
        inflater.finish(&mut out, 100).unwrap();
        out.clear();
        inflater.inflate(&second, &mut out, 100).unwrap();
        inflater.finish(&mut out, 100).unwrap();
        assert_eq!(out, b"abcabcabcabc");
    }

    #[test]
    fn declines_to_compress_with_a_small_client_window() {
        let p = DeflateParams {
            client_max_window_bits: 10,
            ..params()
        };
        assert_eq!(Deflater::new(&p).deflate(b"data"), None);
    }

    #[test]
    fn bounds_the_inflated_size() {
        let mut deflater = Deflater::new(&params());
        let bomb = deflater.deflate(&vec![0; 1 << 20]).unwrap();
        assert!(bomb.len() < 2000);
        let mut inflater = Inflater::new(&params());
        let mut out = Vec::new();
        let result = inflater
            .inflate(&bomb, &mut out, 4096)
            .and_then(|()| inflater.finish(&mut out, 4096));
        assert!(matches!(result, Err(InflateError::TooLarge { len }) if len > 4096));
        assert!(out.len() <= 4096);
    }

    #[test]
    fn rejects_corrupt_data() {
        let mut inflater = Inflater::new(&params());
        let mut out = Vec::new();
        // BTYPE 11 is reserved.
        let result = inflater
            .inflate(&[0xFF, 0xFF, 0xFF], &mut out, 100)
            .and_then(|()| inflater.finish(&mut out, 100));
        assert_eq!(result, Err(InflateError::Corrupt));
    }
}
