//! Received ciphertext that rustls could not take yet, with a limit.

use std::io;

/// Bytes received from the network and not yet handed to rustls, oldest first. rustls takes
/// records only while the plaintext before them is being read; what it refuses waits here, up to
/// `limit` bytes.
#[derive(Debug)]
pub(super) struct ReceiveQueue {
    bytes: Vec<u8>,
    /// Bytes before this index were handed over already.
    start: usize,
    limit: usize,
}

impl ReceiveQueue {
    pub(super) fn new(limit: usize) -> Self {
        ReceiveQueue {
            bytes: Vec::new(),
            start: 0,
            limit,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.bytes.len() - self.start
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn limit(&self) -> usize {
        self.limit
    }

    /// How many more bytes fit.
    pub(super) fn capacity(&self) -> usize {
        self.limit.saturating_sub(self.len())
    }

    /// Appends `bytes`, or refuses them all when they do not fit.
    pub(super) fn push(&mut self, bytes: &[u8]) -> Result<(), ()> {
        if bytes.len() > self.capacity() {
            return Err(());
        }
        if self.start > 0 {
            // Move what is left to the front rather than let the buffer grow past the limit.
            self.bytes.drain(..self.start);
            self.start = 0;
        }
        self.bytes.extend_from_slice(bytes);
        Ok(())
    }

    /// The queued bytes as a reader; what it reads is consumed.
    pub(super) fn reader(&mut self) -> QueueReader<'_> {
        QueueReader(self)
    }

    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.start = 0;
    }
}

/// Reads the oldest queued bytes (rustls' `read_tls` takes an [`io::Read`]).
pub(super) struct QueueReader<'a>(&'a mut ReceiveQueue);

impl io::Read for QueueReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let queue = &mut *self.0;
        let n = buf.len().min(queue.len());
        buf[..n].copy_from_slice(&queue.bytes[queue.start..queue.start + n]);
        queue.start += n;
        if queue.start == queue.bytes.len() {
            queue.clear();
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn holds_at_most_its_limit_and_reads_in_order() {
        let mut queue = ReceiveQueue::new(8);
        queue.push(b"abcde").unwrap();
        assert_eq!(queue.capacity(), 3);
        assert!(queue.push(b"fghi").is_err(), "4 bytes do not fit in 3");
        assert_eq!(queue.len(), 5, "a refused push takes nothing");
        let mut two = [0u8; 2];
        assert_eq!(queue.reader().read(&mut two).unwrap(), 2);
        assert_eq!(&two, b"ab");
        queue.push(b"fghij").unwrap();
        assert_eq!(queue.capacity(), 0);
        let mut rest = Vec::new();
        queue.reader().read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"cdefghij");
        assert!(queue.is_empty());
        assert_eq!(queue.capacity(), 8);
    }
}
