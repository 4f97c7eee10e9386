//! What the engine decides about one event: for each tenant with affected assets, a threat
//! draft — the affected assets (nearest first), the assessment against the nearest, and the
//! texts that explain it. The jobs that load events and write threats live elsewhere.
//!
//! An event is judged by its last report: a GDACS drought that began months ago but was
//! updated today is current, its age is counted from today's update, and its threat expires a
//! maximum age after it. An event placed only roughly, or covering an area, reaches assets
//! within the radius of anywhere it may be (see [`super::rules`]).

use std::collections::BTreeMap;

use picket_core::identity::TenantId;

use super::area;
use super::impact::{Hazard, Site};
use super::index::{AssetIndex, Locus, Match};
use super::likelihood::SourceKind;
use super::rules;
use super::score::{self, Assessment, EventFacts};
use picket_corpus::taxonomy::{EventAttributes, Severity};

const HOUR_MS: f64 = 3_600_000.0;

/// The facts of a stored event that the engine reads, borrowed from wherever it was loaded.
#[derive(Debug, Clone, Copy)]
pub struct ObservedEvent<'a> {
    pub id: &'a str,
    /// The owning tenant of a private event; `None` for the global corpus.
    pub tenant_id: Option<i64>,
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub category: &'a str,
    pub event_type: Option<&'a str>,
    pub severity: &'a str,
    /// When it happened or began, Unix ms.
    pub occurred_at: i64,
    pub location: Option<&'a str>,
    pub location_country: Option<&'a str>,
    pub lat: f64,
    pub lng: f64,
    pub article_count: i64,
    /// The event's own source: the importer that created it (`usgs`, `gdacs`, `cap`, …) or
    /// `push` for a tenant's report.
    pub source: &'a str,
    pub data_source: &'a str,
    /// The event's attributions as stored (objects with a `source`).
    pub sources: &'a [serde_json::Value],
    /// What the source measured and how exactly it placed the event.
    pub attributes: &'a EventAttributes,
}

/// One affected asset, as matched.
#[derive(Debug, Clone, PartialEq)]
pub struct AffectedDraft {
    pub asset_uuid: String,
    pub asset_id: String,
    pub asset_name: String,
    pub asset_type: String,
    pub distance_km: f64,
}

/// Everything the engine decided about an event for one tenant.
#[derive(Debug, Clone)]
pub struct ThreatDraft {
    pub tenant_id: TenantId,
    pub event_id: String,
    pub title: String,
    pub description: Option<String>,
    pub threat_type: String,
    pub category: String,
    pub location: String,
    pub location_country: Option<String>,
    pub lat: f64,
    pub lng: f64,
    pub observed_at: i64,
    pub expires_at: i64,
    pub sources: Vec<String>,
    pub attribution_types: Vec<String>,
    pub assessment: Assessment,
    pub threat_rationale: String,
    pub location_precision_level: String,
    pub location_uncertainty_km: Option<f64>,
    /// Nearest first; never empty.
    pub affected: Vec<AffectedDraft>,
}

const DAY_MS: i64 = 86_400_000;

/// When the event was last reported going on, Unix ms: the latest of its start, its source's
/// last update of it, and its announced end (a warning stays current until it expires). An
/// event known only by its date (a start at midnight UTC: GDELT, ACLED, pushes) may have
/// happened at any time that day, so it counts from the day's end.
pub fn last_report(e: &ObservedEvent<'_>) -> i64 {
    let start = if e.occurred_at.rem_euclid(DAY_MS) == 0 {
        e.occurred_at + DAY_MS
    } else {
        e.occurred_at
    };
    [e.attributes.reported_at, e.attributes.ends_at]
        .into_iter()
        .flatten()
        .fold(start, i64::max)
}

/// The distinct source names of an event's attributions, in first-seen order; the event's
/// `data_source` when it lists none.
fn source_names(sources: &[serde_json::Value], fallback: &str) -> Vec<String> {
    let v = sources;
    let mut names: Vec<String> = Vec::new();
    for name in v.iter().filter_map(|s| s["source"].as_str()) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    if names.is_empty() {
        names.push(fallback.to_string());
    }
    names
}

/// The drafts of one event, judged at `now`: one per tenant with matching assets, by tenant.
pub fn drafts(index: &AssetIndex, e: &ObservedEvent<'_>, now: i64) -> Vec<ThreatDraft> {
    let last = last_report(e);
    let age_hours = ((now - last) as f64 / HOUR_MS).max(0.0);
    let event_type = e.event_type.unwrap_or("");
    let attrs = e.attributes;
    let kind = SourceKind::of(e.source, e.data_source);
    let hazard = Hazard::of(kind, e.category, event_type, attrs);
    let precision = attrs.precision.unwrap_or_default();
    let (widen_km, uncertainty_km) = match &attrs.area {
        Some(a) => {
            let extent = area::extent_km(a, e.lat, e.lng);
            (extent, extent)
        }
        None => (precision.widening_km(), precision.uncertainty_km()),
    };
    let locus = Locus {
        tenant: e.tenant_id,
        category: e.category,
        event_type,
        default_km: rules::default_radius_km(e.category, hazard),
        widen_km,
        area: attrs.area.as_ref(),
        lat: e.lat,
        lng: e.lng,
        country: e.location_country,
        age_hours,
    };
    let matches = index.matches(&locus);
    if matches.is_empty() {
        return Vec::new();
    }
    let mut by_tenant: BTreeMap<i64, Vec<&Match>> = BTreeMap::new();
    for m in &matches {
        by_tenant
            .entry(index.assets()[m.asset].tenant_id)
            .or_default()
            .push(m);
    }
    let severity = Severity::parse(e.severity).unwrap_or(Severity::Low);
    let source_names = source_names(e.sources, e.data_source);
    let mut out = Vec::with_capacity(by_tenant.len());
    for (tenant, ms) in by_tenant {
        let nearest = ms[0];
        let a = &index.assets()[nearest.asset];
        let max_age = rules::max_age_hours(e.category, &a.max_age_hours_by_category);
        let facts = EventFacts {
            kind,
            hazard,
            category: e.category,
            event_type,
            severity,
            source: e.source,
            distinct_sources: source_names.len() as u32,
            article_count: e.article_count.max(1) as u32,
            age_hours,
            max_age_hours: max_age,
            attributes: attrs,
        };
        let assessment = score::assess(
            &facts,
            &Site {
                name: &a.name,
                asset_type: &a.asset_type,
                distance_km: nearest.distance_km,
                area_km: nearest.area_km,
                radius_km: nearest.radius_km,
            },
        );
        let place = e
            .location
            .map(str::to_string)
            .unwrap_or_else(|| format!("{:.3}, {:.3}", e.lat, e.lng));
        out.push(ThreatDraft {
            tenant_id: TenantId(tenant),
            event_id: e.id.to_string(),
            title: e.title.to_string(),
            description: e.description.map(str::to_string),
            threat_type: if event_type.is_empty() {
                e.category.to_string()
            } else {
                event_type.to_string()
            },
            category: e.category.to_string(),
            location: place.clone(),
            location_country: e.location_country.map(str::to_string),
            lat: e.lat,
            lng: e.lng,
            observed_at: e.occurred_at,
            expires_at: last + (max_age * HOUR_MS) as i64,
            sources: source_names.clone(),
            attribution_types: vec![if e.tenant_id.is_some() {
                "tenant".into()
            } else {
                "feed".into()
            }],
            threat_rationale: format!(
                "{} {} event at {place}, {:.1} km from {} ({} affected asset{}); {} and {}.",
                severity.as_str(),
                e.category.replace('_', " "),
                nearest.distance_km,
                a.name,
                ms.len(),
                if ms.len() == 1 { "" } else { "s" },
                assessment.likelihood.replace('_', " "),
                assessment.impact_severity
            ),
            location_precision_level: precision.as_str().into(),
            location_uncertainty_km: Some(uncertainty_km),
            affected: ms
                .iter()
                .map(|m| {
                    let a = &index.assets()[m.asset];
                    AffectedDraft {
                        asset_uuid: a.id.clone(),
                        asset_id: a.asset_id.clone(),
                        asset_name: a.name.clone(),
                        asset_type: a.asset_type.clone(),
                        distance_km: m.distance_km,
                    }
                })
                .collect(),
            assessment,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_sources_counts_names() {
        let sources = serde_json::json!([{"source":"usgs"},{"source":"gdacs"},{"source":"usgs"}]);
        let names = source_names(sources.as_array().unwrap(), "x");
        assert_eq!(names.len(), 2);
        assert_eq!(names, vec!["usgs", "gdacs"], "first-seen order, no repeats");
        assert_eq!(source_names(&[], "acled"), vec!["acled"]);
    }
}
