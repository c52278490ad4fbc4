//! Randomness for the handshake key and the frame masks, drawn from the operating system.
//!
//! RFC 6455 wants both unpredictable (§4.1, §5.3). Bytes come from the OS generator through
//! `getrandom`, fetched in blocks so that masking many small frames costs one system call per
//! 64 keys rather than one per frame.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;

use klient_proto::ws::MaskKeys;

/// Bytes fetched from the OS at a time.
const BLOCK: usize = 256;

/// A buffered reader of OS randomness.
pub(crate) struct OsRandom {
    block: [u8; BLOCK],
    used: usize,
    /// Used only if the OS generator fails after it once worked, which Linux, macOS and
    /// Windows never do in practice: std's per-process random SipHash keys, hashing a counter.
    fallback: RandomState,
    counter: u64,
}

impl OsRandom {
    /// A source whose first block is already fetched, so that an unusable OS generator is
    /// reported here, when connecting, and not hidden later.
    pub(crate) fn new() -> io::Result<Self> {
        let mut block = [0; BLOCK];
        getrandom::getrandom(&mut block)
            .map_err(|e| io::Error::other(format!("OS random generator: {e}")))?;
        Ok(Self {
            block,
            used: 0,
            fallback: RandomState::new(),
            counter: 0,
        })
    }

    /// Fills `out` with random bytes.
    pub(crate) fn fill(&mut self, out: &mut [u8]) {
        for byte in out {
            if self.used == BLOCK {
                self.refill();
            }
            *byte = self.block[self.used];
            self.used += 1;
        }
    }

    fn refill(&mut self) {
        if getrandom::getrandom(&mut self.block).is_err() {
            self.refill_from_fallback();
        }
        self.used = 0;
    }

    fn refill_from_fallback(&mut self) {
        for chunk in self.block.chunks_mut(8) {
            self.counter = self.counter.wrapping_add(1);
            let mut hasher = self.fallback.build_hasher();
            hasher.write_u64(self.counter);
            chunk.copy_from_slice(&hasher.finish().to_le_bytes()[..chunk.len()]);
        }
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
    fn keys_differ_across_blocks() {
        let mut random = OsRandom::new().unwrap();
        let keys: Vec<[u8; 4]> = (0..200).map(|_| random.next_key()).collect();
        let mut distinct = keys.clone();
        distinct.sort();
        distinct.dedup();
        // 200 draws from 2^32 values collide with probability below 1e-5.
        assert_eq!(distinct.len(), keys.len());
    }

    #[test]
    fn fallback_block_is_not_constant() {
        let mut random = OsRandom::new().unwrap();
        random.refill_from_fallback();
        let first = random.block;
        random.refill_from_fallback();
        assert_ne!(first, random.block);
        let words: Vec<&[u8]> = first.chunks(8).collect();
        assert!(words.windows(2).all(|w| w[0] != w[1]), "fallback repeats itself");
    }
}
