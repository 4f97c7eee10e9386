//! What the windowed detections share: window lengths in ms and the bound on how many
//! sources a tenant's tracker keeps.

use std::collections::HashMap;
use std::hash::Hash;

/// A window of `secs` seconds in ms (at least one second).
pub fn ms(secs: u64) -> i64 {
    (secs.max(1) as i64).saturating_mul(1000)
}

/// Keeps `map` under `max` entries by dropping those with the oldest `last`, down to nine
/// tenths of `max` so that the next trims are far apart.
pub fn trim_oldest<K: Hash + Eq + Clone, V>(
    map: &mut HashMap<K, V>,
    max: usize,
    last: impl Fn(&V) -> i64,
) {
    if map.len() <= max {
        return;
    }
    let keep = max / 10 * 9;
    let mut ages: Vec<i64> = map.values().map(&last).collect();
    let cut = ages.len() - keep;
    let (_, &mut nth, _) = ages.select_nth_unstable(cut);
    // Ties at the cut may keep a few more than `keep`; never more than the map had.
    map.retain(|_, v| last(v) >= nth);
    if map.len() > max {
        let doomed: Vec<K> = map
            .iter()
            .filter(|(_, v)| last(v) == nth)
            .map(|(k, _)| k.clone())
            .take(map.len() - keep)
            .collect();
        for k in doomed {
            map.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_the_oldest_to_nine_tenths() {
        let mut m: HashMap<u32, i64> = (0..1000).map(|i| (i, i64::from(i))).collect();
        trim_oldest(&mut m, 500, |v| *v);
        assert_eq!(m.len(), 450);
        assert!(m.keys().all(|k| *k >= 550));
        let mut same: HashMap<u32, i64> = (0..1000).map(|i| (i, 7)).collect();
        trim_oldest(&mut same, 500, |v| *v);
        assert!(same.len() <= 500, "{}", same.len());
        let mut small: HashMap<u32, i64> = (0..10).map(|i| (i, 7)).collect();
        trim_oldest(&mut small, 500, |v| *v);
        assert_eq!(small.len(), 10);
    }
}
