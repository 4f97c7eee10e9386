//! Per-key token-bucket rate limit (default 50 requests/s, burst 100). Kept in process memory:
//! each server limits the keys it sees, which bounds a key at N × the rate behind N servers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::config::RateLimit;

#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<i64, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets idle this long are forgotten (they would be full again anyway).
const IDLE_SECS: f64 = 300.0;

impl RateLimiter {
    pub fn new(cfg: &RateLimit) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(cfg.per_second),
            burst: f64::from(cfg.burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; `Err(seconds)` says how long until one is available.
    pub fn check(&self, key: i64) -> Result<(), u64> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: i64, now: Instant) -> Result<(), u64> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 10_000 {
            buckets.retain(|_, b| now.duration_since(b.at).as_secs_f64() < IDLE_SECS);
        }
        let b = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_second).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / self.per_second).ceil() as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill() {
        let r = RateLimiter::new(&RateLimit {
            per_second: 10,
            burst: 3,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(r.check_at(1, t0).is_ok());
        }
        assert_eq!(r.check_at(1, t0), Err(1));
        assert!(r.check_at(2, t0).is_ok(), "keys have separate buckets");
        assert!(r.check_at(1, t0 + Duration::from_millis(150)).is_ok());
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
