//! SPDY/3 header blocks: the name/value list of SYN_STREAM, SYN_REPLY and HEADERS frames, and the
//! one zlib stream per direction that compresses every block of a session.
//!
//! A block is a 32-bit count, then for each pair a 32-bit length and the lowercase name, a 32-bit
//! length and the value (several values of one name joined by NUL). Each block is compressed with a
//! sync flush, so it can be inflated as soon as its frame is complete; the stream itself never
//! ends and carries its window from block to block, so blocks must be inflated in the order they
//! arrived, including those of frames the session then ignores.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::dictionary::{DICTIONARY_ADLER32, dictionary};
use super::error::SpdyError;

/// Most name/value pairs accepted in one block.
pub const MAX_PAIRS: usize = 256;

/// A header block's pairs, in wire order. Names are lowercase; a value may hold several values
/// joined by NUL, which [`Headers::get`] returns as they are.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// No pairs.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a pair; the name is lowercased, as SPDY/3 requires.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// The value of `name` (lowercase), if the block has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The pairs, in wire order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// How many pairs the block has.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the block has no pair.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The uncompressed block.
    fn encode(&self) -> Vec<u8> {
        let size = 4 + self.0.iter().map(|(n, v)| 8 + n.len() + v.len()).sum::<usize>();
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(&(self.0.len() as u32).to_be_bytes());
        for (name, value) in &self.0 {
            out.extend_from_slice(&(name.len() as u32).to_be_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(value.len() as u32).to_be_bytes());
            out.extend_from_slice(value.as_bytes());
        }
        out
    }

    /// Parses an uncompressed block. Names must be non-empty lowercase text and appear once;
    /// values must be text.
    pub fn parse(block: &[u8]) -> Result<Self, SpdyError> {
        let mut rest = block;
        let count = take_u32(&mut rest)? as usize;
        if count > MAX_PAIRS {
            return Err(SpdyError::TooManyHeaders {
                count,
                max: MAX_PAIRS,
            });
        }
        let mut pairs: Vec<(String, String)> = Vec::with_capacity(count);
        for _ in 0..count {
            let name = take_text(&mut rest)?;
            if name.is_empty() || name.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(SpdyError::InvalidHeaderBlock(
                    "a header name is empty or not lowercase",
                ));
            }
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(SpdyError::InvalidHeaderBlock("a header name appears twice"));
            }
            let value = take_text(&mut rest)?;
            pairs.push((name, value));
        }
        if !rest.is_empty() {
            return Err(SpdyError::InvalidHeaderBlock("bytes after the last header"));
        }
        Ok(Self(pairs))
    }
}

/// Header values can carry credentials in other uses of SPDY; only the names are shown.
impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|(n, _)| n)).finish()
    }
}

fn take_u32(rest: &mut &[u8]) -> Result<u32, SpdyError> {
    let Some((head, tail)) = rest.split_first_chunk::<4>() else {
        return Err(SpdyError::InvalidHeaderBlock("the block ends inside a length"));
    };
    *rest = tail;
    Ok(u32::from_be_bytes(*head))
}

fn take_text(rest: &mut &[u8]) -> Result<String, SpdyError> {
    let len = take_u32(rest)? as usize;
    if len > rest.len() {
        return Err(SpdyError::InvalidHeaderBlock("a length runs past the block"));
    }
    let (text, tail) = rest.split_at(len);
    *rest = tail;
    String::from_utf8(text.to_vec())
        .map_err(|_| SpdyError::InvalidHeaderBlock("a name or value is not UTF-8"))
}

/// The compressing side: one zlib stream, preset with the SPDY/3 dictionary, for every block this
/// end sends.
pub struct HeaderCompressor {
    deflate: Compress,
}

impl HeaderCompressor {
    /// A fresh stream.
    pub fn new() -> Self {
        let mut deflate = Compress::new(Compression::default(), true);
        // Fails only when called after compressing started, which cannot be the case here.
        deflate
            .set_dictionary(dictionary())
            .expect("a fresh zlib stream takes a dictionary");
        Self { deflate }
    }

    /// `headers` compressed, ending on a sync flush so the peer can inflate it whole.
    pub fn compress(&mut self, headers: &Headers) -> Vec<u8> {
        let raw = headers.encode();
        let mut out = Vec::with_capacity(raw.len() / 2 + 64);
        let mut consumed = 0;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(256);
            }
            let before = self.deflate.total_in();
            // Compressing into a Vec with room never fails: the stream is ours and never ended.
            self.deflate
                .compress_vec(&raw[consumed..], &mut out, FlushCompress::Sync)
                .expect("deflate of a live stream");
            consumed += (self.deflate.total_in() - before) as usize;
            // A sync flush is complete once all input is in and the output did not fill up.
            if consumed == raw.len() && out.len() < out.capacity() {
                return out;
            }
        }
    }
}

impl Default for HeaderCompressor {
    fn default() -> Self {
        Self::new()
    }
}

/// The inflating side: the peer's zlib stream, which names the SPDY/3 dictionary at its start.
pub struct HeaderDecompressor {
    inflate: Decompress,
    max_block: usize,
}

impl HeaderDecompressor {
    /// A fresh stream whose blocks may inflate to at most `max_block` bytes each.
    pub fn new(max_block: usize) -> Self {
        Self {
            inflate: Decompress::new(true),
            max_block,
        }
    }

    /// Inflates and parses the next block, which is all of `compressed`.
    pub fn decompress(&mut self, compressed: &[u8]) -> Result<Headers, SpdyError> {
        let mut out = Vec::with_capacity((compressed.len() * 4).clamp(64, 4096));
        let mut consumed = 0;
        loop {
            if out.len() == out.capacity() {
                out.reserve(4096);
            }
            let (in_before, out_before) = (self.inflate.total_in(), out.len());
            let result =
                self.inflate
                    .decompress_vec(&compressed[consumed..], &mut out, FlushDecompress::Sync);
            let read = (self.inflate.total_in() - in_before) as usize;
            consumed += read;
            match result {
                Ok(Status::StreamEnd) => return Err(SpdyError::Compression("the header stream ended")),
                Ok(_) => {}
                Err(e) => match e.needs_dictionary() {
                    Some(DICTIONARY_ADLER32) => {
                        self.inflate
                            .set_dictionary(dictionary())
                            .map_err(|_| SpdyError::Compression("the dictionary was refused"))?;
                        continue;
                    }
                    Some(_) => return Err(SpdyError::Compression("the peer names another dictionary")),
                    None => return Err(SpdyError::Compression("corrupt header block")),
                },
            }
            if out.len() > self.max_block {
                return Err(SpdyError::HeaderBlockTooLarge { max: self.max_block });
            }
            // A sync-flushed block is whole once all of it is in and the output did not fill up.
            if consumed == compressed.len() && out.len() < out.capacity() {
                return Headers::parse(&out);
            }
            if read == 0 && out.len() == out_before {
                return Err(SpdyError::Compression("corrupt header block"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(pairs: &[(&str, &str)]) -> Headers {
        pairs.iter().fold(Headers::new(), |h, (n, v)| h.with(n, *v))
    }

    #[test]
    fn blocks_round_trip_through_one_stream_per_direction() {
        let mut out = HeaderCompressor::new();
        let mut inn = HeaderDecompressor::new(64 * 1024);
        for i in 0..50 {
            let headers = block(&[
                ("streamtype", "data"),
                ("port", "8080"),
                ("requestid", &i.to_string()),
            ]);
            let wire = out.compress(&headers);
            assert_eq!(inn.decompress(&wire).unwrap(), headers);
        }
        // The shared window makes later blocks small.
        let wire = out.compress(&block(&[
            ("streamtype", "error"),
            ("port", "8080"),
            ("requestid", "7"),
        ]));
        assert!(wire.len() < 20, "{} bytes", wire.len());
    }

    #[test]
    fn names_are_lowercased_and_values_kept() {
        let headers = Headers::new().with("StreamType", "Error").with("x", "a\0b");
        assert_eq!(headers.get("streamtype"), Some("Error"));
        assert_eq!(headers.get("x"), Some("a\0b"));
        assert_eq!(format!("{headers:?}"), r#"["streamtype", "x"]"#);
    }

    #[test]
    fn an_empty_block_round_trips() {
        let mut out = HeaderCompressor::new();
        let mut inn = HeaderDecompressor::new(1024);
        assert!(inn.decompress(&out.compress(&Headers::new())).unwrap().is_empty());
    }

    #[test]
    fn bad_blocks_are_errors() {
        let raw = |pairs: &[(&[u8], &[u8])]| {
            let mut out = (pairs.len() as u32).to_be_bytes().to_vec();
            for (n, v) in pairs {
                out.extend_from_slice(&(n.len() as u32).to_be_bytes());
                out.extend_from_slice(n);
                out.extend_from_slice(&(v.len() as u32).to_be_bytes());
                out.extend_from_slice(v);
            }
            out
        };
        let invalid = |bytes: &[u8]| matches!(Headers::parse(bytes), Err(SpdyError::InvalidHeaderBlock(_)));
        assert!(invalid(&raw(&[(b"Port", b"1")])));
        assert!(invalid(&raw(&[(b"", b"1")])));
        assert!(invalid(&raw(&[(b"port", b"1"), (b"port", b"2")])));
        assert!(invalid(&raw(&[(b"port", b"\xff")])));
        assert!(invalid(&[0, 0, 0, 1, 0, 0, 0, 9, b'p']));
        assert!(invalid(&[0, 0]));
        let mut trailing = raw(&[(b"port", b"1")]);
        trailing.push(0);
        assert!(invalid(&trailing));
        assert!(matches!(
            Headers::parse(&[0, 0, 1, 0]),
            Err(SpdyError::TooManyHeaders { count: 256, .. }) | Err(SpdyError::InvalidHeaderBlock(_))
        ));
        assert!(matches!(
            Headers::parse(&[0, 1, 0, 0]),
            Err(SpdyError::TooManyHeaders { count: 65536, .. })
        ));
    }

    #[test]
    fn a_block_inflating_past_the_limit_is_refused() {
        let mut out = HeaderCompressor::new();
        let big = "x".repeat(100_000);
        let wire = out.compress(&Headers::new().with("big", big));
        let mut inn = HeaderDecompressor::new(64 * 1024);
        assert_eq!(
            inn.decompress(&wire),
            Err(SpdyError::HeaderBlockTooLarge { max: 64 * 1024 })
        );
    }

    #[test]
    fn garbage_and_foreign_dictionaries_are_errors() {
        let mut inn = HeaderDecompressor::new(1024);
        assert!(matches!(
            inn.decompress(&[1, 2, 3, 4, 5, 6]),
            Err(SpdyError::Compression(_))
        ));
        let mut foreign = Compress::new(Compression::default(), true);
        foreign.set_dictionary(b"another dictionary").unwrap();
        let mut wire = Vec::with_capacity(256);
        foreign
            .compress_vec(&[0, 0, 0, 0], &mut wire, FlushCompress::Sync)
            .unwrap();
        let mut inn = HeaderDecompressor::new(1024);
        assert!(matches!(inn.decompress(&wire), Err(SpdyError::Compression(_))));
    }

    #[test]
    fn a_block_split_from_a_stream_without_dictionary_still_inflates() {
        // A peer that compresses without the dictionary is not SPDY/3, but must not panic us.
        let mut plain = Compress::new(Compression::default(), true);
        let mut wire = Vec::with_capacity(256);
        plain
            .compress_vec(&block(&[("a", "b")]).encode(), &mut wire, FlushCompress::Sync)
            .unwrap();
        let mut inn = HeaderDecompressor::new(1024);
        assert_eq!(inn.decompress(&wire).unwrap(), block(&[("a", "b")]));
    }
}
