//! Country summaries, heatmaps and the GeoJSON layer from the map's index (pure).

use std::cmp::Reverse;
use std::collections::BTreeMap;

use super::points::{date_of, MapPoint, Matcher, Snapshot, SEVERITIES};
use crate::wire::{CountrySummary, GeoFeature, GeoJson, GeoPoint, GeoProperties};

/// The most points a heatmap answers (contract §8.3); `total` still counts every match.
pub const HEATMAP_MAX_POINTS: usize = 100_000;

/// A heatmap weight by severity rank: 2 for high or critical, 1 for medium, 0 for low or
/// negligible.
pub fn heat_weight(severity: u8) -> u8 {
    match severity {
        3.. => 2,
        2 => 1,
        _ => 0,
    }
}

/// The most severe, then newest, then by id: which points a capped answer keeps.
fn keep_order(a: &&MapPoint, b: &&MapPoint) -> std::cmp::Ordering {
    fn key(p: &MapPoint) -> (Reverse<u8>, Reverse<i32>, &str) {
        (Reverse(p.severity), Reverse(p.day), &p.id)
    }
    key(a).cmp(&key(b))
}

/// The matching points, at most `cap`, the most severe then the newest first, and how many
/// matched.
fn capped<'a>(s: &'a Snapshot, m: &'a Matcher, cap: usize) -> (Vec<&'a MapPoint>, usize) {
    let mut points: Vec<&MapPoint> = s.matching(m).collect();
    let total = points.len();
    if points.len() > cap {
        points.select_nth_unstable_by(cap, keep_order);
        points.truncate(cap);
    }
    points.sort_unstable_by(keep_order);
    (points, total)
}

/// `[lng, lat, weight]` of the matching events, at most [`HEATMAP_MAX_POINTS`] (the most
/// severe, then the newest, as the contract settles), and how many matched.
pub fn heatmap(s: &Snapshot, m: &Matcher) -> (Vec<(f64, f64, u8)>, usize) {
    let (points, total) = capped(s, m, HEATMAP_MAX_POINTS);
    let points = points
        .into_iter()
        .map(|p| (p.lng, p.lat, heat_weight(p.severity)))
        .collect();
    (points, total)
}

/// The most features the GeoJSON layer answers (contract §8.7).
pub const GEOJSON_MAX_FEATURES: usize = 10_000;

#[derive(Clone)]
struct Tally {
    total: u64,
    by_severity: [u64; 5],
    latest: i32,
}

/// One summary per country of the matching events, most events first, then by code. Countries
/// and categories are the index's numbers, so the tallies are arrays, not maps.
pub fn countries(s: &Snapshot, m: &Matcher) -> Vec<CountrySummary> {
    let (countries, categories) = (s.countries.len() + 1, s.categories.len() + 1);
    let mut tallies = vec![
        Tally {
            total: 0,
            by_severity: [0; 5],
            latest: i32::MIN,
        };
        countries
    ];
    let mut by_category = vec![0u64; countries * categories];
    for p in s.matching(m).filter(|p| p.country != 0) {
        let (c, t) = (p.country as usize, &mut tallies[p.country as usize]);
        t.total += 1;
        t.by_severity[usize::from(p.severity)] += 1;
        t.latest = t.latest.max(p.day);
        by_category[c * categories + p.category as usize] += 1;
    }
    let mut out: Vec<CountrySummary> = tallies
        .into_iter()
        .enumerate()
        .filter(|(_, t)| t.total > 0)
        .map(|(country, t)| CountrySummary {
            country: s
                .countries
                .name(country as u32)
                .unwrap_or_default()
                .to_string(),
            total: t.total,
            by_severity: SEVERITIES
                .iter()
                .zip(t.by_severity)
                .map(|(name, n)| (name.to_string(), n))
                .collect(),
            by_category: by_category[country * categories..(country + 1) * categories]
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(c, n)| {
                    (
                        s.categories.name(c as u32).unwrap_or_default().to_string(),
                        *n,
                    )
                })
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

pub fn geojson(s: &Snapshot, m: &Matcher) -> GeoJson {
    let (points, total) = capped(s, m, GEOJSON_MAX_FEATURES);
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

#[cfg(test)]
mod tests {
    #[test]
    fn heat_weights_follow_the_documented_bands() {
        let w = |name: &str| super::heat_weight(super::super::points::severity_rank(name));
        assert_eq!(
            ["critical", "high", "medium", "low", "negligible", "?"].map(w),
            [2, 2, 1, 0, 0, 0]
        );
    }
}
