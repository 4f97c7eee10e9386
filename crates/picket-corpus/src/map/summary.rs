//! Country summaries and the GeoJSON layer from the map's index (pure).

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

use super::points::{date_of, MapPoint, Matcher, Snapshot, SEVERITIES};
use crate::wire::{CountrySummary, GeoFeature, GeoJson, GeoPoint, GeoProperties};

/// The most features the GeoJSON layer answers (contract §8.7).
pub const GEOJSON_MAX_FEATURES: usize = 10_000;

#[derive(Default)]
struct Tally {
    total: u64,
    by_severity: [u64; 5],
    by_category: HashMap<u32, u64>,
    latest: i32,
}

/// One summary per country of the matching events, most events first, then by code.
pub fn countries(s: &Snapshot, m: &Matcher) -> Vec<CountrySummary> {
    let mut tallies: HashMap<u32, Tally> = HashMap::new();
    for p in s.matching(m).filter(|p| p.country != 0) {
        let t = tallies.entry(p.country).or_insert_with(|| Tally {
            latest: i32::MIN,
            ..Tally::default()
        });
        t.total += 1;
        t.by_severity[usize::from(p.severity)] += 1;
        *t.by_category.entry(p.category).or_default() += 1;
        t.latest = t.latest.max(p.day);
    }
    let mut out: Vec<CountrySummary> = tallies
        .into_iter()
        .map(|(country, t)| CountrySummary {
            country: s.countries.name(country).unwrap_or_default().to_string(),
            total: t.total,
            by_severity: SEVERITIES
                .iter()
                .zip(t.by_severity)
                .map(|(name, n)| (name.to_string(), n))
                .collect(),
            by_category: t
                .by_category
                .into_iter()
                .map(|(c, n)| (s.categories.name(c).unwrap_or_default().to_string(), n))
                .collect::<BTreeMap<_, _>>(),
            latest_event_date: date_of(t.latest).to_string(),
        })
        .collect();
    out.sort_by(|a, b| {
        b.total
            .cmp(&a.total)
            .then_with(|| a.country.cmp(&b.country))
    });
    out
}

/// The matching events as GeoJSON: the most severe, then the newest, then by id, at most
/// [`GEOJSON_MAX_FEATURES`].
pub fn geojson(s: &Snapshot, m: &Matcher) -> GeoJson {
    let mut points: Vec<&MapPoint> = s.matching(m).collect();
    let total = points.len();
    fn key(p: &MapPoint) -> (Reverse<u8>, Reverse<i32>, &str) {
        (Reverse(p.severity), Reverse(p.day), &p.id)
    }
    let order = |a: &&MapPoint, b: &&MapPoint| key(a).cmp(&key(b));
    if points.len() > GEOJSON_MAX_FEATURES {
        points.select_nth_unstable_by(GEOJSON_MAX_FEATURES, order);
        points.truncate(GEOJSON_MAX_FEATURES);
    }
    points.sort_unstable_by(order);
    let features = points
        .into_iter()
        .map(|p| GeoFeature {
            kind: "Feature",
            id: p.id.to_string(),
            geometry: GeoPoint {
                kind: "Point",
                coordinates: [p.lng, p.lat],
            },
            properties: GeoProperties {
                id: p.id.to_string(),
                title: p.title.to_string(),
                event_category: s
                    .categories
                    .name(p.category)
                    .unwrap_or_default()
                    .to_string(),
                event_type: s.kinds.name(p.kind).map(str::to_string),
                severity: SEVERITIES[usize::from(p.severity)].to_string(),
                event_date: date_of(p.day).to_string(),
                location_country: s.countries.name(p.country).map(str::to_string),
            },
        })
        .collect();
    GeoJson {
        kind: "FeatureCollection",
        features,
        total,
        truncated: total > GEOJSON_MAX_FEATURES,
        limit: GEOJSON_MAX_FEATURES,
    }
}
