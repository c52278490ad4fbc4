//! UTF-8 validation of a text message as its bytes arrive.
//!
//! RFC 6455 §8.1 lets an endpoint fail a connection as soon as a text message cannot be valid
//! UTF-8; checking only at the end would let a hostile peer make us buffer a whole bad message.

/// Tracks how much of a growing buffer is known to be valid UTF-8.
#[derive(Debug, Clone, Default)]
pub(crate) struct IncrementalUtf8 {
    valid_up_to: usize,
}

/// The buffer holds a byte sequence that no continuation can make valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidUtf8;

impl IncrementalUtf8 {
    /// Checks the bytes appended to `buf` since the last call. An incomplete sequence at the end
    /// is accepted: the next bytes may complete it.
    pub(crate) fn check(&mut self, buf: &[u8]) -> Result<(), InvalidUtf8> {
        let fresh = buf.get(self.valid_up_to..).unwrap_or_default();
        match std::str::from_utf8(fresh) {
            Ok(_) => {
                self.valid_up_to = buf.len();
                Ok(())
            }
            Err(e) if e.error_len().is_none() => {
                self.valid_up_to += e.valid_up_to();
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Whether `buf`, now complete, ends on a whole character.
    pub(crate) fn is_complete(&self, buf: &[u8]) -> bool {
        self.valid_up_to == buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_sequences_split_at_every_byte() {
        let text = "añ€𝄞z".as_bytes();
        let mut v = IncrementalUtf8::default();
        let mut buf = Vec::new();
        for &b in text {
            buf.push(b);
            v.check(&buf).unwrap();
        }
        assert!(v.is_complete(&buf));
    }

    #[test]
    fn incomplete_tail_is_not_complete() {
        let mut v = IncrementalUtf8::default();
        let buf = [b'a', 0xE2, 0x82];
        v.check(&buf).unwrap();
        assert!(!v.is_complete(&buf));
    }

    #[test]
    fn fails_on_the_first_impossible_byte() {
        let mut v = IncrementalUtf8::default();
        let mut buf = vec![b'o', b'k', 0xF4];
        v.check(&buf).unwrap();
        // 0xF4 0x90 would encode a code point above U+10FFFF.
        buf.push(0x90);
        assert_eq!(v.check(&buf), Err(InvalidUtf8));
        let mut v = IncrementalUtf8::default();
        assert_eq!(v.check(&[0xFF]), Err(InvalidUtf8));
        let mut v = IncrementalUtf8::default();
        assert_eq!(v.check(&[0xED, 0xA0]), Err(InvalidUtf8), "surrogate");
    }
}
