//! Holding back repeats: traffic between a host and a listed address goes on for as long as
//! the conversation lasts, so the Tor and MISP detections raise one alert per pair and hour
//! (of record time), not one per flow.

use std::collections::HashMap;

use super::window::{self, At};

/// How long a pair's repeats are held back, ms.
pub const HOLD_MS: i64 = 3_600_000;
/// Pairs remembered per tenant before the oldest are forgotten.
pub const MAX_PAIRS: usize = 100_000;

/// `(detection, local side, listed side)`.
pub type Key = (&'static str, String, String);

#[derive(Debug, Default)]
pub struct HoldBack {
    /// Each pair's last alert: its time and record.
    last: HashMap<Key, (i64, At)>,
    newest: i64,
}

impl HoldBack {
    /// Whether an alert for `key` at `ts` (record `at`) is new: none was raised within
    /// [`HOLD_MS`] of it, or it is the very record that raised it (a retried batch).
    pub fn admit(&mut self, key: Key, ts: i64, at: At) -> bool {
        self.newest = self.newest.max(ts);
        let fresh = match self.last.get(&key) {
            Some(&(t, a)) => a == at || (ts - t).abs() >= HOLD_MS,
            None => true,
        };
        if fresh {
            self.last.insert(key, (ts, at));
            if self.last.len() > MAX_PAIRS {
                let horizon = self.newest - HOLD_MS;
                self.last.retain(|_, (t, _)| *t >= horizon);
                window::trim_oldest(&mut self.last, MAX_PAIRS, |(t, _)| *t);
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

    fn at(index: u32) -> At {
        At { batch: 7, index }
    }

    #[test]
    fn one_alert_per_pair_and_hour() {
        let mut h = HoldBack::default();
        assert!(h.admit(key("10.0.0.5"), 1_000, at(0)));
        assert!(!h.admit(key("10.0.0.5"), 1_000 + 60_000, at(1)));
        assert!(
            h.admit(key("10.0.0.6"), 1_000 + 60_000, at(2)),
            "another host"
        );
        assert!(h.admit(key("10.0.0.5"), 1_000 + HOLD_MS, at(3)));
        assert!(!h.admit(key("10.0.0.5"), 1_000 + HOLD_MS + 5, at(4)));
        assert!(
            h.admit(key("10.0.0.5"), 1_000 + HOLD_MS, at(3)),
            "a retry of the record"
        );
    }

    #[test]
    fn bounded() {
        let mut h = HoldBack::default();
        for i in 0..(MAX_PAIRS as i64 + 10) {
            h.admit(key(&i.to_string()), i, at(i as u32));
        }
        assert!(h.tracked() <= MAX_PAIRS);
    }
}
