//! Per-key rate limit (default 50 requests/s, burst 100), through `governor`'s keyed GCRA
//! limiter: the same answers as a token bucket that holds `burst` tokens and gains `per_second`
//! a second. Kept in process memory: each server limits the keys it sees, which bounds a key at
//! N × the rate behind N servers.

use std::num::NonZeroU32;

use governor::clock::{Clock, MonotonicClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::Quota;

use crate::config::RateLimit;

/// One limiter for every key of a server; `per_second = 0` turns it off.
#[derive(Debug)]
pub struct RateLimiter<C: Clock = MonotonicClock> {
    keys: Option<Keyed<C>>,
}

type Keyed<C> =
    governor::RateLimiter<i64, HashMapStateStore<i64>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// Past this many remembered keys, the ones whose allowance is full again are forgotten.
const FORGET_ABOVE: usize = 10_000;

impl RateLimiter {
    pub fn new(cfg: &RateLimit) -> RateLimiter {
        RateLimiter::with_clock(cfg, MonotonicClock)
    }
}

impl<C: Clock> RateLimiter<C> {
    fn with_clock(cfg: &RateLimit, clock: C) -> RateLimiter<C> {
        let keys = NonZeroU32::new(cfg.per_second).map(|rate| {
            let burst = NonZeroU32::new(cfg.burst).unwrap_or(NonZeroU32::MIN);
            let quota = Quota::per_second(rate).allow_burst(burst);
            governor::RateLimiter::hashmap_with_clock(quota, clock)
        });
        RateLimiter { keys }
    }

    /// Takes one request's allowance for `key`; `Err(seconds)` says how long until the next
    /// one is allowed, rounded up (the `Retry-After` value).
    pub fn check(&self, key: i64) -> Result<(), u64> {
        let Some(keys) = &self.keys else {
            return Ok(());
        };
        if keys.len() > FORGET_ABOVE {
            keys.retain_recent();
        }
        keys.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(keys.clock().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use std::time::Duration;

    #[test]
    fn burst_then_refill() {
        let clock = FakeRelativeClock::default();
        let cfg = RateLimit {
            per_second: 10,
            burst: 3,
        };
        let r = RateLimiter::with_clock(&cfg, clock.clone());
        for _ in 0..3 {
            assert!(r.check(1).is_ok());
        }
        assert_eq!(r.check(1), Err(1));
        assert!(r.check(2).is_ok(), "keys have separate allowances");
        clock.advance(Duration::from_millis(150));
        assert!(r.check(1).is_ok());
        assert_eq!(r.check(1), Err(1));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let clock = FakeRelativeClock::default();
        let cfg = RateLimit {
            per_second: 1,
            burst: 0,
        };
        let r = RateLimiter::with_clock(&cfg, clock.clone());
        assert!(r.check(7).is_ok(), "a burst of 0 still allows one request");
        assert_eq!(r.check(7), Err(1));
        clock.advance(Duration::from_millis(1000));
        assert!(r.check(7).is_ok());

        let slow = RateLimiter::with_clock(
            &RateLimit {
                per_second: 1,
                burst: 5,
            },
            clock.clone(),
        );
        for _ in 0..5 {
            assert!(slow.check(7).is_ok());
        }
        assert_eq!(slow.check(7), Err(1));
        clock.advance(Duration::from_millis(400));
        assert_eq!(slow.check(7), Err(1), "0.6 s left is answered as 1 s");
    }

    #[test]
    fn zero_rate_disables() {
        let r = RateLimiter::new(&RateLimit {
            per_second: 0,
            burst: 0,
        });
        for _ in 0..1000 {
            assert!(r.check(1).is_ok());
        }
    }
}
