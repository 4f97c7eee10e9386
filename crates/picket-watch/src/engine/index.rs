//! An R-tree of monitorable assets across all tenants, answering "which assets does this event
//! affect, and how far away are they?" with one spatial query per event.
//!
//! The tree holds points in degrees. A query takes the bounding box of the largest radius any
//! asset could use for the event's category, plus how far the event's area or uncertainty
//! reaches (a latitude band widened by `1/cos(lat)` in longitude, clamped at the poles and
//! split at the antimeridian), and then checks each candidate's own effective radius by
//! great-circle distance: from the point, less its uncertainty, or from the edge of its area.

use std::collections::{BTreeMap, HashMap};

use rstar::{RTree, RTreeObject, AABB};

use super::area::distance_to_area_km;
use super::rules;
pub use picket_corpus::grid::distance_km;
use picket_corpus::grid::KM_PER_DEG;
use picket_corpus::taxonomy::Area;

/// An asset as the engine sees it (built from stored assets whose switches are on).
#[derive(Debug, Clone, PartialEq)]
pub struct MonitoredAsset {
    pub tenant_id: i64,
    /// Server id (UUID).
    pub id: String,
    pub asset_id: String,
    pub name: String,
    pub asset_type: String,
    pub lat: f64,
    pub lng: f64,
    pub country: Option<String>,
    pub monitoring_radius_km: Option<f64>,
    /// Both configs' `monitored_event_types`; empty = all.
    pub monitored_types: Vec<String>,
    pub radius_km_by_category: BTreeMap<String, f64>,
    pub max_age_hours_by_category: BTreeMap<String, f64>,
}

/// The facts of an event that decide which assets it affects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Locus<'a> {
    /// The owning tenant of a private event; `None` for the global corpus.
    pub tenant: Option<i64>,
    pub category: &'a str,
    pub event_type: &'a str,
    /// The event's default radius ([`rules::default_radius_km`]); `None` for country matching.
    pub default_km: Option<f64>,
    /// How far beyond its coordinates the event may be: its uncertainty, or its area's reach.
    pub widen_km: f64,
    /// The area the event covers, when it has one: radii are measured from its edge.
    pub area: Option<&'a Area>,
    pub lat: f64,
    pub lng: f64,
    pub country: Option<&'a str>,
    /// Hours since the event was last reported; an asset's maximum age for the category
    /// bounds it.
    pub age_hours: f64,
}

/// One affected asset.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// Index into [`AssetIndex::assets`].
    pub asset: usize,
    pub distance_km: f64,
    /// The effective radius that admitted it (`None` for country matching).
    pub radius_km: Option<f64>,
    /// The distance from the event's area (0 inside it), when it has one.
    pub area_km: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    idx: usize,
    lng: f64,
    lat: f64,
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_point([self.lng, self.lat])
    }
}

/// The index; rebuild it whenever assets change (bulk load is O(n log n)).
#[derive(Debug, Default)]
pub struct AssetIndex {
    assets: Vec<MonitoredAsset>,
    tree: RTree<Entry>,
    by_country: HashMap<String, Vec<usize>>,
    /// The largest `monitoring_radius_km` of any asset: no asset reaches further than this
    /// or its category's radius, unless it overrides the category.
    widest_monitoring_km: f64,
    /// Per category, the largest per-asset radius override.
    widest_override_km: HashMap<String, f64>,
}

impl AssetIndex {
    pub fn new(assets: Vec<MonitoredAsset>) -> AssetIndex {
        let entries = assets
            .iter()
            .enumerate()
            .map(|(idx, a)| Entry {
                idx,
                lng: a.lng,
                lat: a.lat,
            })
            .collect();
        let mut by_country: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, a) in assets.iter().enumerate() {
            if let Some(c) = &a.country {
                by_country.entry(c.clone()).or_default().push(i);
            }
        }
        let mut widest_override_km: HashMap<String, f64> = HashMap::new();
        for (category, r) in assets.iter().flat_map(|a| &a.radius_km_by_category) {
            let w = widest_override_km.entry(category.clone()).or_insert(0.0);
            *w = w.max(*r);
        }
        let widest_monitoring_km = assets
            .iter()
            .filter_map(|a| a.monitoring_radius_km)
            .fold(0.0, f64::max);
        AssetIndex {
            tree: RTree::bulk_load(entries),
            assets,
            by_country,
            widest_monitoring_km,
            widest_override_km,
        }
    }

    /// The furthest any asset can be from an event of this category and magnitude and still
    /// be affected: the search radius of its spatial query.
    fn reach_km(&self, category: &str, default_km: f64) -> f64 {
        let widest = self
            .widest_override_km
            .get(category)
            .copied()
            .unwrap_or(0.0)
            .max(self.widest_monitoring_km)
            .max(default_km);
        widest.min(rules::MAX_RADIUS_KM)
    }

    pub fn assets(&self) -> &[MonitoredAsset] {
        &self.assets
    }

    pub fn len(&self) -> usize {
        self.assets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
    }

    /// Assets an event affects, nearest first: in scope (a private event reaches only its own
    /// tenant), monitoring its category or type, not past their maximum age for it, and within
    /// their effective radius (or, for cyber, in the event's country).
    pub fn matches(&self, ev: &Locus<'_>) -> Vec<Match> {
        let Locus {
            tenant,
            category,
            event_type,
            default_km,
            widen_km,
            area,
            lat,
            lng,
            country,
            age_hours,
        } = *ev;
        let wanted = |a: &MonitoredAsset| {
            tenant.is_none_or(|t| t == a.tenant_id)
                && rules::monitors(&a.monitored_types, category, event_type)
                && age_hours <= rules::max_age_hours(category, &a.max_age_hours_by_category)
        };
        let mut out = Vec::new();
        let widen_km = widen_km.max(0.0);
        if let Some(default_km) = default_km {
            let reach = self.reach_km(category, default_km) + widen_km;
            for env in search_boxes(lat, lng, reach) {
                for e in self.tree.locate_in_envelope_intersecting(&env) {
                    let a = &self.assets[e.idx];
                    if !wanted(a) {
                        continue;
                    }
                    let Some(radius) = rules::effective_radius_km(
                        category,
                        Some(default_km),
                        a.monitoring_radius_km,
                        &a.radius_km_by_category,
                    ) else {
                        continue;
                    };
                    let d = distance_km(lat, lng, a.lat, a.lng);
                    if d > radius + widen_km {
                        continue;
                    }
                    let (from_event, area_km) = match area {
                        Some(area) => {
                            let at = distance_to_area_km(area, a.lat, a.lng);
                            (at, Some(at))
                        }
                        None => ((d - widen_km).max(0.0), None),
                    };
                    if from_event <= radius {
                        out.push(Match {
                            asset: e.idx,
                            distance_km: d,
                            radius_km: Some(radius),
                            area_km,
                        });
                    }
                }
            }
        } else {
            // Country-wide categories (cyber) and unknown categories.
            if category == "cyber_attack" {
                if let Some(list) = country.and_then(|c| self.by_country.get(c)) {
                    for &i in list {
                        let a = &self.assets[i];
                        if wanted(a) {
                            out.push(Match {
                                asset: i,
                                distance_km: distance_km(lat, lng, a.lat, a.lng),
                                radius_km: None,
                                area_km: None,
                            });
                        }
                    }
                }
            }
        }
        out.sort_by(|a, b| {
            a.distance_km
                .total_cmp(&b.distance_km)
                .then(a.asset.cmp(&b.asset))
        });
        out.dedup_by_key(|m| m.asset);
        out
    }
}

/// Boxes (in lng/lat degrees) covering every point within `radius_km` of the centre.
fn search_boxes(lat: f64, lng: f64, radius_km: f64) -> Vec<AABB<[f64; 2]>> {
    let dlat = radius_km / KM_PER_DEG;
    let (min_lat, max_lat) = ((lat - dlat).max(-90.0), (lat + dlat).min(90.0));
    let widest = min_lat.abs().max(max_lat.abs());
    if widest >= 89.0 || dlat >= 90.0 {
        return vec![AABB::from_corners([-180.0, min_lat], [180.0, max_lat])];
    }
    let dlng = dlat / widest.to_radians().cos();
    if dlng >= 180.0 {
        return vec![AABB::from_corners([-180.0, min_lat], [180.0, max_lat])];
    }
    let (w, e) = (lng - dlng, lng + dlng);
    let mut boxes = vec![AABB::from_corners(
        [w.max(-180.0), min_lat],
        [e.min(180.0), max_lat],
    )];
    if w < -180.0 {
        boxes.push(AABB::from_corners([w + 360.0, min_lat], [180.0, max_lat]));
    }
    if e > 180.0 {
        boxes.push(AABB::from_corners([-180.0, min_lat], [e - 360.0, max_lat]));
    }
    boxes
}

#[cfg(test)]
mod tests {
    use super::super::impact::Hazard;
    use super::*;

    fn asset(tenant: i64, id: &str, lat: f64, lng: f64, country: &str) -> MonitoredAsset {
        MonitoredAsset {
            tenant_id: tenant,
            id: id.into(),
            asset_id: id.into(),
            name: id.into(),
            asset_type: "facility".into(),
            lat,
            lng,
            country: Some(country.into()),
            monitoring_radius_km: None,
            monitored_types: vec![],
            radius_km_by_category: BTreeMap::new(),
            max_age_hours_by_category: BTreeMap::new(),
        }
    }

    const LAGOS: (f64, f64) = (6.4541, 3.3947);
    const ABUJA: (f64, f64) = (9.0765, 7.3986);

    fn at(
        tenant: Option<i64>,
        category: &'static str,
        magnitude: Option<f64>,
        lat: f64,
        lng: f64,
        country: Option<&'static str>,
    ) -> Locus<'static> {
        let hazard = match magnitude {
            Some(m) => Hazard::Earthquake {
                magnitude: m,
                depth_km: 10.0,
            },
            None => Hazard::Natural,
        };
        Locus {
            tenant,
            category,
            event_type: "",
            default_km: rules::default_radius_km(category, hazard),
            widen_km: 0.0,
            area: None,
            lat,
            lng,
            country,
            age_hours: 1.0,
        }
    }

    fn index() -> AssetIndex {
        AssetIndex::new(vec![
            asset(1, "lagos", LAGOS.0, LAGOS.1, "NG"),
            asset(1, "abuja", ABUJA.0, ABUJA.1, "NG"),
            asset(2, "lagos-b", LAGOS.0 + 0.01, LAGOS.1, "NG"),
        ])
    }

    #[test]
    fn distances_match_hand_computation() {
        // Haversine on the 6371.0088 km mean sphere, computed independently.
        assert!((distance_km(LAGOS.0, LAGOS.1, ABUJA.0, ABUJA.1) - 528.7617).abs() < 0.01);
        assert!((distance_km(LAGOS.0, LAGOS.1, 6.50, 3.40) - 5.1373).abs() < 0.001);
    }

    #[test]
    fn radius_and_tenant_scope() {
        let idx = index();
        // Unrest 5.1 km from Lagos HQ: inside the 10 km default, for both tenants' Lagos assets.
        let m = idx.matches(&at(None, "civil_unrest", None, 6.50, 3.40, Some("NG")));
        let names: Vec<&str> = m
            .iter()
            .map(|x| idx.assets()[x.asset].id.as_str())
            .collect();
        assert_eq!(names, vec!["lagos-b", "lagos"], "nearest first");
        // A tenant-private event reaches only its tenant.
        let m = idx.matches(&at(Some(1), "civil_unrest", None, 6.50, 3.40, Some("NG")));
        assert_eq!(m.len(), 1);
        assert_eq!(idx.assets()[m[0].asset].id, "lagos");
        assert!((m[0].distance_km - 5.1373).abs() < 0.001);
        assert_eq!(m[0].radius_km, Some(10.0));
        // Crime (5 km) at 5.14 km does not reach Lagos.
        assert!(idx
            .matches(&at(Some(1), "crime_violence", None, 6.50, 3.40, Some("NG")))
            .is_empty());
    }

    #[test]
    fn magnitude_and_country_matching() {
        let idx = index();
        // An earthquake midway: 265 km from both cities; M6 (150 km) reaches neither, M7 (300 km) both.
        let (lat, lng) = ((LAGOS.0 + ABUJA.0) / 2.0, (LAGOS.1 + ABUJA.1) / 2.0);
        assert!(idx
            .matches(&at(Some(1), "geological", Some(6.0), lat, lng, None))
            .is_empty());
        assert_eq!(
            idx.matches(&at(Some(1), "geological", Some(7.0), lat, lng, None))
                .len(),
            2
        );
        // Cyber matches by country, whatever the distance.
        assert_eq!(
            idx.matches(&at(Some(1), "cyber_attack", None, 0.0, 0.0, Some("NG")))
                .len(),
            2
        );
        assert!(idx
            .matches(&at(Some(1), "cyber_attack", None, 0.0, 0.0, Some("GH")))
            .is_empty());
    }

    #[test]
    fn overrides_types_and_age() {
        let mut lagos = asset(1, "lagos", LAGOS.0, LAGOS.1, "NG");
        lagos
            .radius_km_by_category
            .insert("civil_unrest".into(), 3.0);
        lagos
            .max_age_hours_by_category
            .insert("weather".into(), 6.0);
        let mut abuja = asset(1, "abuja", ABUJA.0, ABUJA.1, "NG");
        abuja.monitored_types = vec!["weather".into()];
        let idx = AssetIndex::new(vec![lagos, abuja]);
        // 5.1 km unrest: outside Lagos's 3 km override.
        assert!(idx
            .matches(&at(Some(1), "civil_unrest", None, 6.50, 3.40, None))
            .is_empty());
        // Abuja monitors only weather: unrest next door is ignored, weather is not.
        assert!(idx
            .matches(&at(Some(1), "civil_unrest", None, 9.10, 7.45, None))
            .is_empty());
        assert_eq!(
            idx.matches(&at(Some(1), "weather", None, 9.10, 7.45, None))
                .len(),
            1
        );
        // Weather 10 h old: past Lagos's 6 h override, within the 72 h default elsewhere.
        let old = Locus {
            age_hours: 10.0,
            ..at(Some(1), "weather", None, 6.50, 3.40, None)
        };
        assert!(idx.matches(&old).is_empty());
        let fresh = Locus {
            age_hours: 5.0,
            ..old
        };
        assert_eq!(idx.matches(&fresh).len(), 1);
    }

    #[test]
    fn antimeridian_and_poles() {
        let idx = AssetIndex::new(vec![
            asset(1, "fiji", -17.0, 179.9, "FJ"),
            asset(1, "pole", 89.9, 10.0, "AQ"),
        ]);
        let m = idx.matches(&at(None, "weather", None, -17.0, -179.9, None));
        assert_eq!(m.len(), 1, "found across the antimeridian");
        assert!(m[0].distance_km < 25.0);
        assert_eq!(
            idx.matches(&at(None, "weather", None, 89.9, -170.0, None))
                .len(),
            1
        );
    }

    #[test]
    fn search_reaches_the_widest_radius_any_asset_uses() {
        // Weather's default is 100 km; Abuja widens weather to 400 km, Lagos monitors 350 km,
        // and a second tenant's asset in Abuja keeps the default.
        let mut abuja = asset(1, "abuja", ABUJA.0, ABUJA.1, "NG");
        abuja.radius_km_by_category.insert("weather".into(), 400.0);
        let mut lagos = asset(1, "lagos", LAGOS.0, LAGOS.1, "NG");
        lagos.monitoring_radius_km = Some(350.0);
        let plain = asset(2, "plain", ABUJA.0, ABUJA.1, "NG");
        let idx = AssetIndex::new(vec![abuja, lagos, plain]);
        // 320 km from Abuja, 677 km from Lagos.
        let ev = at(None, "weather", None, ABUJA.0 + 2.7, ABUJA.1 - 1.0, None);
        let near: Vec<&str> = idx
            .matches(&ev)
            .iter()
            .map(|m| idx.assets()[m.asset].id.as_str())
            .collect();
        assert_eq!(near, vec!["abuja"], "only the widened asset reaches 320 km");
        // 271 km from Abuja, 288 km from Lagos.
        let closer = at(None, "weather", None, 8.5, 5.0, None);
        let mut ids: Vec<&str> = idx
            .matches(&closer)
            .iter()
            .map(|m| idx.assets()[m.asset].id.as_str())
            .collect();
        ids.sort_unstable();
        assert_eq!(
            ids,
            vec!["abuja", "lagos"],
            "overrides and monitoring radii both widen"
        );
    }
}
