//! Randomness for WebSocket handshake keys and frame masks, from the operating system.
//!
//! Mask keys only need to be unpredictable to scripts in the path (RFC 6455 §10.3), but they
//! must not repeat in patterns, so they come from the OS generator, read in blocks so that
//! masking many small frames does not cost a system call each. When the generator fails there
//! is no fallback: the caller gets the error, and a WebSocket session fails rather than mask
//! with predictable bytes.

use std::io;

use super::{MaskKeyError, MaskKeys};

const BLOCK: usize = 256;

/// Fills a buffer with random bytes, or says why it cannot.
type Source = fn(&mut [u8]) -> io::Result<()>;

/// The operating system's generator. Its error keeps the OS error code (`raw_os_error`, and the
/// `ErrorKind` that follows from it) when there is one.
fn os_source(buf: &mut [u8]) -> io::Result<()> {
    getrandom::getrandom(buf).map_err(|e| match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::other(format!("OS random generator: {e}")),
    })
}

/// A buffered reader of the OS random generator.
pub struct OsRandom {
    block: [u8; BLOCK],
    used: usize,
    source: Source,
}

impl OsRandom {
    /// A reader with its first block already read: an error here means the generator does not
    /// work at all.
    pub fn new() -> io::Result<Self> {
        Self::with_source(os_source)
    }

    fn with_source(source: Source) -> io::Result<Self> {
        let mut random = OsRandom {
            block: [0; BLOCK],
            used: BLOCK,
            source,
        };
        random.refill()?;
        Ok(random)
    }

    fn refill(&mut self) -> io::Result<()> {
        (self.source)(&mut self.block)?;
        self.used = 0;
        Ok(())
    }

    /// Fills `out` with random bytes, or fails when the generator does; `out` is then left
    /// partly written and must not be used.
    pub fn fill(&mut self, out: &mut [u8]) -> io::Result<()> {
        for byte in out {
            if self.used == BLOCK {
                self.refill()?;
            }
            *byte = self.block[self.used];
            self.used += 1;
        }
        Ok(())
    }

    /// The 16 random bytes of a `Sec-WebSocket-Key`.
    pub fn key16(&mut self) -> io::Result<[u8; 16]> {
        let mut key = [0; 16];
        self.fill(&mut key)?;
        Ok(key)
    }
}

impl MaskKeys for OsRandom {
    fn next_key(&mut self) -> Result<[u8; 4], MaskKeyError> {
        let mut key = [0; 4];
        self.fill(&mut key)
            .map_err(|e| MaskKeyError::new(format!("OS random generator: {e}")))?;
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::{Config, Connection, WsSendError};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    #[test]
    fn keys_differ_across_many_blocks() {
        let mut random = OsRandom::new().unwrap();
        let keys: std::collections::HashSet<[u8; 16]> = (0..1000).map(|_| random.key16().unwrap()).collect();
        assert_eq!(keys.len(), 1000, "repeated 128-bit keys");
    }

    fn broken(_: &mut [u8]) -> io::Result<()> {
        Err(io::Error::from_raw_os_error(38)) // ENOSYS: no getrandom on this kernel
    }

    #[test]
    fn a_generator_that_never_works_fails_construction() {
        let err = OsRandom::with_source(broken)
            .err()
            .expect("no OsRandom without randomness");
        assert_eq!(err.raw_os_error(), Some(38));
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    }

    /// Works for its first two blocks, then fails for good (one generator per test).
    fn fails_after_two_blocks(buf: &mut [u8]) -> io::Result<()> {
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        if CALLS.fetch_add(1, Ordering::SeqCst) >= 2 {
            return Err(io::Error::from_raw_os_error(5)); // EIO
        }
        buf.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8 | 1);
        Ok(())
    }

    #[test]
    fn a_generator_that_stops_working_fails_the_websocket_session() {
        let mut random = OsRandom::with_source(fails_after_two_blocks).unwrap();
        // What a session draws first: the handshake key, then one mask key per frame.
        random.key16().unwrap();
        let mut connection = Connection::new(Config::default(), random, Instant::now());
        let mut sent = 0;
        let err = loop {
            match connection.send_binary(b"x") {
                Ok(()) => sent += 1,
                Err(e) => break e,
            }
            assert!(
                sent <= 2 * BLOCK / 4,
                "masked with bytes the generator never gave"
            );
        };
        // 512 bytes from the generator: 16 for the handshake key, 124 mask keys.
        assert_eq!(sent, (2 * BLOCK - 16) / 4);
        let WsSendError::MaskKey(e) = &err else {
            panic!("not a key failure: {err:?}");
        };
        assert!(e.reason().contains("OS random generator"), "{e}");
        assert!(connection.is_closed(), "the session has failed");
        assert_eq!(connection.send_binary(b"x"), Err(WsSendError::Closed));
    }
}
