//! Matching rules per asset and category.
//!
//! * Radius: `physical_threat_config.radius_km_by_category[category]` when set, otherwise the
//!   larger of the category default and the asset's `monitoring_radius_km` (§10.8).
//!   Geological events scale the default with magnitude: 150 km up to M6, doubling per
//!   magnitude above it, capped at 1,000 km (a M7 reaches 300 km, a M8 600 km).
//!   `cyber_attack` has no radius: it matches assets in the event's country.
//! * Maximum age: `max_age_hours_by_category[category]` when set, else the category default.
//! * Types: empty `monitored_event_types` (on both configs) means every category; otherwise the
//!   event's category or its event type must be listed.

use std::collections::BTreeMap;

use picket_corpus::taxonomy;

/// The largest radius any rule can produce, bounding R-tree queries.
pub const MAX_RADIUS_KM: f64 = 1000.0;

/// Default radius of `category` for an event of `magnitude` (geological only).
pub fn default_radius_km(category: &str, magnitude: Option<f64>) -> Option<f64> {
    let c = taxonomy::category(category)?;
    let base = c.radius_km?;
    if category == "geological" {
        if let Some(m) = magnitude.filter(|m| m.is_finite()) {
            return Some((base * 2f64.powf((m - 6.0).max(0.0))).min(MAX_RADIUS_KM));
        }
    }
    Some(base)
}

/// The radius within which an event of `category` affects an asset; `None` = country matching
/// (cyber) or an unknown category.
pub fn effective_radius_km(
    category: &str,
    magnitude: Option<f64>,
    monitoring_radius_km: Option<f64>,
    overrides: &BTreeMap<String, f64>,
) -> Option<f64> {
    if let Some(r) = overrides.get(category) {
        return Some(*r);
    }
    let d = default_radius_km(category, magnitude)?;
    Some(monitoring_radius_km.map_or(d, |m| m.max(d)))
}

/// Hours after which an event of `category` no longer produces or keeps threats.
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

    #[test]
    fn radius_rules() {
        let none = BTreeMap::new();
        assert_eq!(
            effective_radius_km("civil_unrest", None, None, &none),
            Some(10.0)
        );
        assert_eq!(
            effective_radius_km("civil_unrest", None, Some(25.0), &none),
            Some(25.0),
            "larger of default and asset radius"
        );
        assert_eq!(
            effective_radius_km("weather", None, Some(25.0), &none),
            Some(100.0)
        );
        assert_eq!(
            effective_radius_km(
                "civil_unrest",
                None,
                Some(25.0),
                &map(&[("civil_unrest", 3.0)])
            ),
            Some(3.0),
            "override wins, even when smaller"
        );
        assert_eq!(
            effective_radius_km("cyber_attack", None, Some(25.0), &none),
            None
        );
        assert_eq!(
            effective_radius_km("nonsense", None, Some(25.0), &none),
            None
        );
    }

    #[test]
    fn geological_radius_scales_with_magnitude() {
        assert_eq!(default_radius_km("geological", Some(4.5)), Some(150.0));
        assert_eq!(default_radius_km("geological", Some(6.0)), Some(150.0));
        assert_eq!(default_radius_km("geological", Some(7.0)), Some(300.0));
        assert_eq!(default_radius_km("geological", Some(8.0)), Some(600.0));
        assert_eq!(default_radius_km("geological", Some(9.5)), Some(1000.0));
        assert_eq!(default_radius_km("geological", None), Some(150.0));
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
