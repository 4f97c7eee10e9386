//! Holding back repeats: traffic between a host and a listed address goes on for as long as
//! the conversation lasts, so the Tor and MISP detections raise one alert per pair and hour
//! (of record time), not one per flow.

use std::collections::HashMap;

use super::window;

/// How long a pair's repeats are held back, ms.
pub const HOLD_MS: i64 = 3_600_000;
/// Pairs remembered per tenant before the oldest are forgotten.
pub const MAX_PAIRS: usize = 100_000;

/// `(detection, local side, listed side)`.
pub type Key = (&'static str, String, String);

#[derive(Debug, Default)]
pub struct HoldBack {
    last: HashMap<Key, i64>,
    newest: i64,
}

impl HoldBack {
    /// Whether an alert for `key` at `ts` is new: none was raised within [`HOLD_MS`] of it.
    pub fn admit(&mut self, key: Key, ts: i64) -> bool {
        self.newest = self.newest.max(ts);
        let fresh = match self.last.get(&key) {
            Some(&t) => (ts - t).abs() >= HOLD_MS,
            None => true,
        };
        if fresh {
            self.last.insert(key, ts);
            if self.last.len() > MAX_PAIRS {
                let horizon = self.newest - HOLD_MS;
                self.last.retain(|_, t| *t >= horizon);
                window::trim_oldest(&mut self.last, MAX_PAIRS, |t| *t);
            }
        }
        fresh
    }

    /// How many keys are kept (memory is bounded by this).
    pub fn tracked(&self) -> usize {
        self.last.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(a: &str) -> Key {
        ("tor", a.into(), "198.51.100.7".into())
    }

    #[test]
    fn one_alert_per_pair_and_hour() {
        let mut h = HoldBack::default();
        assert!(h.admit(key("10.0.0.5"), 1_000));
        assert!(!h.admit(key("10.0.0.5"), 1_000 + 60_000));
        assert!(h.admit(key("10.0.0.6"), 1_000 + 60_000), "another host");
        assert!(h.admit(key("10.0.0.5"), 1_000 + HOLD_MS));
        assert!(!h.admit(key("10.0.0.5"), 1_000 + HOLD_MS + 5));
    }

    #[test]
    fn bounded() {
        let mut h = HoldBack::default();
        for i in 0..(MAX_PAIRS as i64 + 10) {
            h.admit(key(&i.to_string()), i);
        }
        assert!(h.tracked() <= MAX_PAIRS);
    }
}
