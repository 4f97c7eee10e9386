//! What the windowed detections share: which record of which batch an observation is (so a
//! retried batch observes nothing twice), window lengths in ms, and the bound on how many
//! sources a tenant's tracker keeps.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::record::Record;

/// One record of one batch. The batch writer retries a batch whose transaction failed for a
/// transient reason, and the detections run again on the same records: each tracker keeps the
/// `At` of what it counted and of the record that made it alert, so a retry counts nothing
/// twice and alerts again exactly where the failed attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct At {
    pub batch: u64,
    pub index: u32,
}

/// A batch's identity: a hash of its records' times and the fields that tell records apart
/// (addresses, ports, flow ids, names, whole syslog lines). The same records give the same
/// identity; two batches that differ in any of these, another.
pub fn batch_id(records: &[Record]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    records.len().hash(&mut h);
    for r in records {
        match r {
            Record::Flow(f) => {
                (0u8, f.ts, f.flow_id, f.bytes_out, f.bytes_in).hash(&mut h);
                endpoints(&f.at, &mut h);
            }
            Record::Alert(a) => {
                (1u8, a.ts, a.flow_id, a.signature_id, &a.signature).hash(&mut h);
                endpoints(&a.at, &mut h);
            }
            Record::Dns(d) => {
                (2u8, d.ts, &d.query, &d.qtype, &d.answer).hash(&mut h);
                endpoints(&d.at, &mut h);
            }
            Record::Http(x) => {
                (3u8, x.ts, &x.host, &x.uri).hash(&mut h);
                endpoints(&x.at, &mut h);
            }
            Record::Dhcp(d) => (4u8, d.ts, &d.mac, d.ip).hash(&mut h),
            Record::Syslog(s) => (5u8, s.ts, &s.line).hash(&mut h),
        }
    }
    h.finish()
}

fn endpoints(at: &crate::record::Endpoints, h: &mut impl Hasher) {
    (at.src_ip, at.src_port, at.dst_ip, at.dst_port).hash(h);
}

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
