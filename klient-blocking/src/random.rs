//! Randomness for WebSocket handshake keys and frame masks, from the operating system.
//!
//! Mask keys only need to be unpredictable to scripts in the path (RFC 6455 §10.3), but they
//! must not repeat in patterns, so they come from the OS generator, read in blocks so that
//! masking many small frames does not cost a system call each.

use std::io;

use klient_proto::ws::MaskKeys;

const BLOCK: usize = 256;

/// A buffered reader of the OS random generator.
pub(crate) struct OsRandom {
    block: [u8; BLOCK],
    used: usize,
}

impl OsRandom {
    pub(crate) fn new() -> io::Result<Self> {
        let mut random = OsRandom {
            block: [0; BLOCK],
            used: BLOCK,
        };
        random.refill()?;
        Ok(random)
    }

    fn refill(&mut self) -> io::Result<()> {
        getrandom::getrandom(&mut self.block)
            .map_err(|e| io::Error::other(format!("OS random generator: {e}")))?;
        self.used = 0;
        Ok(())
    }

    pub(crate) fn fill(&mut self, out: &mut [u8]) {
        for byte in out {
            if self.used == BLOCK && self.refill().is_err() {
                // The generator worked when this was made; should it fail later, keep going
                // with the previous block stirred rather than stop a live connection.
                self.block.rotate_left(1);
                self.block
                    .iter_mut()
                    .enumerate()
                    .for_each(|(i, b)| *b = b.wrapping_mul(31).wrapping_add(i as u8));
                self.used = 0;
            }
            *byte = self.block[self.used];
            self.used += 1;
        }
    }

    /// The 16 random bytes of a `Sec-WebSocket-Key`.
    pub(crate) fn key16(&mut self) -> [u8; 16] {
        let mut key = [0; 16];
        self.fill(&mut key);
        key
    }
}

impl MaskKeys for OsRandom {
    fn next_key(&mut self) -> [u8; 4] {
        let mut key = [0; 4];
        self.fill(&mut key);
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_across_many_blocks() {
        let mut random = OsRandom::new().unwrap();
        let keys: std::collections::HashSet<[u8; 16]> = (0..1000).map(|_| random.key16()).collect();
        assert_eq!(keys.len(), 1000, "repeated 128-bit keys");
    }
}
