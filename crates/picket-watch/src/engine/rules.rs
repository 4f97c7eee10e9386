//! Matching rules per asset and category.
//!
//! * Radius: `physical_threat_config.radius_km_by_category[category]` when set, otherwise the
//!   larger of the event's default radius and the asset's `monitoring_radius_km` (§10.8). The
//!   default is the category's (§4.1), widened by the event's physical reach: an earthquake
//!   reaches as far as it is expected to shake at intensity IV, a tropical cyclone as far as
//!   its winds reach gale force; at most 1,000 km.
//!   `cyber_attack` has no radius: it matches assets in the event's country.
//! * An event placed only roughly (a city, a region, a country) or covering an area (a
//!   warning's polygon or circle) reaches assets within the radius of anywhere it may be: the
//!   radius is measured from the area's edge, or from the point less its uncertainty.
//! * Maximum age: `max_age_hours_by_category[category]` when set, else the category default;
//!   counted from the event's last report (an ongoing event is judged by its latest update).
//! * Types: empty `monitored_event_types` (on both configs) means every category; otherwise the
//!   event's category or its event type must be listed.

use std::collections::BTreeMap;

use picket_corpus::taxonomy;

use super::impact::Hazard;

/// The largest radius any rule can produce, bounding R-tree queries.
pub const MAX_RADIUS_KM: f64 = 1000.0;

/// The default radius of `category` for an event judged by `hazard`; `None` for country
/// matching (cyber) or an unknown category.
pub fn default_radius_km(category: &str, hazard: Hazard) -> Option<f64> {
    let base = taxonomy::category(category)?.radius_km?;
    Some(hazard.reach_km(base).min(MAX_RADIUS_KM))
}

/// The radius within which an event of `category` whose default radius is `default_km`
/// affects an asset; `None` = country matching (cyber) or an unknown category.
pub fn effective_radius_km(
    category: &str,
    default_km: Option<f64>,
    monitoring_radius_km: Option<f64>,
    overrides: &BTreeMap<String, f64>,
) -> Option<f64> {
    if let Some(r) = overrides.get(category) {
        return Some(*r);
    }
    let d = default_km?;
    Some(monitoring_radius_km.map_or(d, |m| m.max(d)))
}

/// Hours after its last report after which an event of `category` no longer produces or keeps
/// threats.
pub fn max_age_hours(category: &str, overrides: &BTreeMap<String, f64>) -> f64 {
    overrides
        .get(category)
        .copied()
        .or_else(|| taxonomy::category(category).map(|c| c.max_age_hours))
        .unwrap_or(72.0)
}

/// Whether an asset monitoring `types` wants an event of this category and type.
pub fn monitors(types: &[String], category: &str, event_type: &str) -> bool {
    types.is_empty()
        || types
            .iter()
            .any(|t| t == category || (!event_type.is_empty() && t == event_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn quake(m: f64, depth_km: f64) -> Hazard {
        Hazard::Earthquake {
            magnitude: m,
            depth_km,
        }
    }

    #[test]
    fn radius_rules() {
        let none = BTreeMap::new();
        let unrest = default_radius_km("civil_unrest", Hazard::Human);
        assert_eq!(unrest, Some(10.0));
        assert_eq!(
            effective_radius_km("civil_unrest", unrest, None, &none),
            Some(10.0)
        );
        assert_eq!(
            effective_radius_km("civil_unrest", unrest, Some(25.0), &none),
            Some(25.0),
            "larger of default and asset radius"
        );
        let weather = default_radius_km("weather", Hazard::Natural);
        assert_eq!(
            effective_radius_km("weather", weather, Some(25.0), &none),
            Some(100.0)
        );
        assert_eq!(
            effective_radius_km(
                "civil_unrest",
                unrest,
                Some(25.0),
                &map(&[("civil_unrest", 3.0)])
            ),
            Some(3.0),
            "override wins, even when smaller"
        );
        assert_eq!(default_radius_km("cyber_attack", Hazard::Human), None);
        assert_eq!(
            effective_radius_km("cyber_attack", None, Some(25.0), &none),
            None
        );
        assert_eq!(default_radius_km("nonsense", Hazard::Human), None);
    }

    #[test]
    fn physical_reach_widens_the_default() {
        // Small or deep quakes keep the 150 km default; large ones reach as far as they shake
        // at IV, up to 1,000 km.
        assert_eq!(
            default_radius_km("geological", quake(4.5, 10.0)),
            Some(150.0)
        );
        assert_eq!(
            default_radius_km("geological", quake(6.0, 600.0)),
            Some(150.0)
        );
        let m7 = default_radius_km("geological", quake(7.0, 10.0)).unwrap();
        let m8 = default_radius_km("geological", quake(8.0, 10.0)).unwrap();
        assert!(m7 > 400.0 && m7 < m8, "{m7} {m8}");
        assert_eq!(
            default_radius_km("geological", quake(9.5, 10.0)),
            Some(1000.0)
        );
        assert_eq!(
            default_radius_km("geological", Hazard::Natural),
            Some(150.0)
        );
        // A 175.9 km/h storm reaches gale force 311.8 km out.
        let storm = default_radius_km("weather", Hazard::Cyclone { wind_kmh: 175.9 }).unwrap();
        assert!((storm - 311.8).abs() < 0.1, "{storm}");
    }

    #[test]
    fn ages_and_types() {
        assert_eq!(max_age_hours("health", &BTreeMap::new()), 168.0);
        assert_eq!(max_age_hours("weather", &map(&[("weather", 6.0)])), 6.0);
        assert!(monitors(&[], "weather", "blizzard"));
        assert!(monitors(&["weather".into()], "weather", "blizzard"));
        assert!(monitors(&["blizzard".into()], "weather", "blizzard"));
        assert!(!monitors(&["civil_unrest".into()], "weather", "blizzard"));
    }
}
