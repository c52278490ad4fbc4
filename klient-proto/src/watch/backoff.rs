//! Exponential backoff with jitter, as a pure computation: the caller supplies the randomness
//! and adds the delay to its own `now`.

use std::time::Duration;

/// How retry delays grow.
#[derive(Debug, Clone, PartialEq)]
pub struct BackoffConfig {
    /// Delay before the first retry (before jitter).
    pub initial: Duration,
    /// Upper bound on any delay.
    pub max: Duration,
    /// Growth factor between consecutive failures.
    pub factor: u32,
    /// Fraction of the delay taken off at random, in `0.0..=1.0`: a delay `d` becomes a value
    /// in `[d * (1 - jitter), d]`, so that many clients do not retry in lockstep.
    pub jitter: f64,
}

impl Default for BackoffConfig {
    /// 0.8 s doubling up to 30 s, with up to half of each delay taken off at random.
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(800),
            max: Duration::from_secs(30),
            factor: 2,
            jitter: 0.5,
        }
    }
}

/// The state of a backoff schedule: how many failures in a row it has seen.
///
/// ```
/// use std::time::Duration;
/// use klient_proto::watch::{Backoff, BackoffConfig};
///
/// let mut backoff = Backoff::new(BackoffConfig { jitter: 0.0, ..BackoffConfig::default() });
/// assert_eq!(backoff.next_delay(0), Duration::from_millis(800));
/// assert_eq!(backoff.next_delay(0), Duration::from_millis(1600));
/// backoff.reset();
/// assert_eq!(backoff.next_delay(0), Duration::from_millis(800));
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    config: BackoffConfig,
    failures: u32,
}

impl Backoff {
    /// A schedule that has seen no failure.
    pub fn new(config: BackoffConfig) -> Self {
        Self { config, failures: 0 }
    }

    /// The configuration.
    pub fn config(&self) -> &BackoffConfig {
        &self.config
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The delay before the current attempt's nominal retry, before jitter.
    fn nominal(&self) -> Duration {
        let mut delay = self.config.initial.min(self.config.max);
        for _ in 0..self.failures {
            match delay.checked_mul(self.config.factor) {
                Some(next) if next < self.config.max => delay = next,
                _ => return self.config.max,
            }
        }
        delay
    }

    /// Records one more failure and returns how long to wait before retrying, using `random`
    /// (any 64 random bits) for the jitter.
    pub fn next_delay(&mut self, random: u64) -> Duration {
        let nominal = self.nominal();
        if nominal < self.config.max {
            self.failures = self.failures.saturating_add(1);
        }
        let jitter = if self.config.jitter.is_finite() {
            self.config.jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        // 53 random bits give a uniform fraction in [0, 1); integer arithmetic on nanoseconds
        // keeps every representable Duration (even Duration::MAX) in range.
        let fraction = (random >> 11) as f64 / (1u64 << 53) as f64;
        let take_off = (jitter * fraction * (1u64 << 32) as f64) as u128;
        let reduction = (nominal.as_nanos() * take_off) >> 32;
        let reduction = Duration::new(
            (reduction / 1_000_000_000) as u64,
            (reduction % 1_000_000_000) as u32,
        );
        nominal.saturating_sub(reduction)
    }

    /// Forgets past failures, after the server answered well again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// A small deterministic generator (SplitMix64) that turns one injected seed into the stream of
/// random numbers the jitter needs.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact() -> Backoff {
        Backoff::new(BackoffConfig {
            jitter: 0.0,
            ..BackoffConfig::default()
        })
    }

    #[test]
    fn doubles_up_to_the_cap() {
        let mut backoff = exact();
        let delays: Vec<u64> = (0..9)
            .map(|_| backoff.next_delay(u64::MAX).as_millis() as u64)
            .collect();
        assert_eq!(delays, [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000]);
    }

    #[test]
    fn jitter_stays_in_range() {
        let mut random = SplitMix64::new(7);
        let mut backoff = Backoff::new(BackoffConfig::default());
        let mut seen_low = false;
        let mut seen_high = false;
        for _ in 0..200 {
            backoff.reset();
            let delay = backoff.next_delay(random.next_u64());
            assert!(delay >= Duration::from_millis(400) && delay <= Duration::from_millis(800));
            seen_low |= delay < Duration::from_millis(500);
            seen_high |= delay > Duration::from_millis(700);
        }
        assert!(seen_low && seen_high, "jitter should spread delays");
        // Extreme random values stay inside the range too.
        backoff.reset();
        assert_eq!(backoff.next_delay(0), Duration::from_millis(800));
        backoff.reset();
        assert!(backoff.next_delay(u64::MAX) >= Duration::from_millis(400));
    }

    #[test]
    fn odd_configurations_do_not_panic() {
        for (initial, max, factor, jitter) in [
            (Duration::MAX, Duration::MAX, u32::MAX, f64::NAN),
            (Duration::ZERO, Duration::ZERO, 0, -3.0),
            (Duration::from_secs(60), Duration::from_secs(1), 2, 7.0),
        ] {
            let mut backoff = Backoff::new(BackoffConfig {
                initial,
                max,
                factor,
                jitter,
            });
            for _ in 0..100 {
                assert!(backoff.next_delay(u64::MAX / 3) <= max);
            }
        }
    }
}
