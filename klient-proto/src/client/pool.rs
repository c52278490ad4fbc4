//! Which idle connection a request reuses, and when an idle connection is too old to trust.
//!
//! kube-apiserver closes a connection that sat idle for about 90 s. A request written on such a
//! connection meets a closed socket; for a request that must not be sent twice (a create) that is
//! an error the user sees. So idle connections are retired well before the server would close
//! them, and the most recently used one is taken first (the one most likely still open). The
//! adapter still checks that a connection it takes has not been closed since (a read that would
//! block means open), since the server may close earlier, for instance when it restarts.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How many connections may sit idle, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Idle connections kept; more concurrent requests open more, closed after use. Default 8.
    pub max_idle: usize,
    /// How long a connection may sit idle before it is closed. Default 50 s, well under the API
    /// server's 90 s.
    pub idle_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_idle: 8,
            idle_timeout: Duration::from_secs(50),
        }
    }
}

/// Idle connections of one client, generic over what the adapter keeps per connection (its
/// socket and the connection's machine). Dropping one closes it.
#[derive(Debug)]
pub struct Pool<T> {
    settings: PoolSettings,
    /// Oldest first.
    idle: VecDeque<(T, Instant)>,
}

impl<T> Pool<T> {
    /// An empty pool.
    pub fn new(settings: PoolSettings) -> Self {
        Pool {
            settings,
            idle: VecDeque::new(),
        }
    }

    /// The settings.
    pub fn settings(&self) -> PoolSettings {
        self.settings
    }

    /// Connections idle now.
    pub fn len(&self) -> usize {
        self.idle.len()
    }

    /// Whether no connection is idle.
    pub fn is_empty(&self) -> bool {
        self.idle.is_empty()
    }

    /// The most recently used idle connection, after retiring those idle too long.
    pub fn take(&mut self, now: Instant) -> Option<T> {
        self.handle_timeout(now);
        self.idle.pop_back().map(|(connection, _)| connection)
    }

    /// A connection whose response ended with the connection still usable, idle from `now`.
    /// Past [`PoolSettings::max_idle`], the oldest is closed.
    pub fn put(&mut self, connection: T, now: Instant) {
        if self.settings.max_idle == 0 {
            return;
        }
        if self.idle.len() == self.settings.max_idle {
            self.idle.pop_front();
        }
        self.idle.push_back((connection, now));
    }

    /// Closes every idle connection (after a credential was refused: they may carry it).
    pub fn clear(&mut self) {
        self.idle.clear();
    }

    /// When the oldest idle connection must be retired; an adapter that keeps a timer calls
    /// [`Pool::handle_timeout`] then (otherwise [`Pool::take`] retires it when it is next asked).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.idle
            .front()
            .map(|(_, since)| *since + self.settings.idle_timeout)
    }

    /// Retires the connections idle for [`PoolSettings::idle_timeout`] or longer.
    pub fn handle_timeout(&mut self, now: Instant) {
        let timeout = self.settings.idle_timeout;
        while self
            .idle
            .front()
            .is_some_and(|(_, since)| now.saturating_duration_since(*since) >= timeout)
        {
            self.idle.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_and_old_ones_retired() {
        let start = Instant::now();
        let mut pool = Pool::new(PoolSettings {
            max_idle: 2,
            idle_timeout: Duration::from_secs(50),
        });
        pool.put("a", start);
        pool.put("b", start + Duration::from_secs(10));
        pool.put("c", start + Duration::from_secs(20));
        assert_eq!(pool.len(), 2, "the oldest goes past max_idle");
        assert_eq!(pool.poll_timeout(), Some(start + Duration::from_secs(60)));
        assert_eq!(pool.take(start + Duration::from_secs(30)), Some("c"));
        assert_eq!(
            pool.take(start + Duration::from_secs(60)),
            None,
            "b sat idle for 50 s"
        );
        assert!(pool.is_empty());
    }
}
