//! The byte buffer both watch stream decoders (JSON and protobuf) keep between calls: bytes
//! received and not yet consumed as events, and whether the stream ended or failed.

/// Received bytes of a watch stream and where the unconsumed ones begin.
#[derive(Debug, Default)]
pub(super) struct StreamBuffer {
    /// Received bytes; `bytes[start..]` are not consumed yet.
    pub(super) bytes: Vec<u8>,
    /// Where the unconsumed bytes (the current event) begin.
    pub(super) start: usize,
    /// The end of the stream was seen.
    pub(super) eof: bool,
    /// A fatal error was reported; nothing more is decoded.
    pub(super) failed: bool,
}

impl StreamBuffer {
    /// Bytes received and not yet consumed as events.
    pub(super) fn buffered(&self) -> usize {
        self.bytes.len().saturating_sub(self.start)
    }

    /// The stream ended cleanly and every event was consumed, or it failed.
    pub(super) fn is_finished(&self) -> bool {
        self.failed || (self.eof && self.buffered() == 0)
    }

    /// Appends received bytes, unless the stream already ended or failed.
    pub(super) fn push(&mut self, bytes: &[u8]) {
        if !self.eof && !self.failed {
            self.bytes.extend_from_slice(bytes);
        }
    }

    /// Marks the stream failed and lets go of its bytes.
    pub(super) fn fail(&mut self) {
        self.failed = true;
        self.bytes = Vec::new();
        self.start = 0;
    }

    /// Drops the consumed bytes, returning how many, so the buffer holds only the current event.
    pub(super) fn drop_consumed(&mut self) -> usize {
        let consumed = self.start;
        if consumed > 0 {
            self.bytes.drain(..consumed);
            self.start = 0;
        }
        consumed
    }
}
