//! The rows a draft makes: a new threat's, an existing threat's after the engine's update, and
//! its affected assets; and the material changes between a stored threat and a draft.

use serde_json::{json, Map, Value};

use picket_core::db::json::JsonText;

use crate::engine::ThreatDraft;
use crate::threats::store::{severity_rank, ThreatAssetRow, ThreatRow};
use crate::threats::wire::ThreatStatus;

/// The row a draft makes of a new threat.
pub(super) fn created_row(d: &ThreatDraft, now: i64) -> ThreatRow {
    let mut row = ThreatRow {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: d.tenant_id.0,
        event_id: d.event_id.clone(),
        status: ThreatStatus::Active.as_str().into(),
        pinned: false,
        created_at: now,
        updated_at: now,
        version_count: 1,
        development_count: 0,
        last_version_at: Some(now),
        latest_development_title: None,
        dismissal_reason: None,
        // Overwritten from the draft below.
        title: String::new(),
        description: None,
        severity: String::new(),
        severity_rank: 0,
        attribution_types: JsonText::default(),
        sources: JsonText::default(),
        threat_rationale: String::new(),
        threat_type: String::new(),
        category: String::new(),
        location: String::new(),
        location_country: None,
        lat: 0.0,
        lng: 0.0,
        observed_at: 0,
        expires_at: 0,
        likelihood: String::new(),
        impact_severity: String::new(),
        risk_score: 0.0,
        risk_level: String::new(),
        likelihood_rationale: String::new(),
        impact_rationale: String::new(),
        location_precision_level: String::new(),
        location_uncertainty_km: None,
    };
    apply_draft(&mut row, d);
    row
}

/// Copies what the engine decides onto a stored row; triage fields stay as they are.
pub(super) fn apply_draft(row: &mut ThreatRow, d: &ThreatDraft) {
    let a = &d.assessment;
    row.title = d.title.clone();
    row.description = d.description.clone();
    row.severity = a.severity.as_str().into();
    row.severity_rank = severity_rank(a.severity.as_str());
    row.attribution_types = JsonText(d.attribution_types.clone());
    row.sources = JsonText(d.sources.clone());
    row.threat_rationale = d.threat_rationale.clone();
    row.threat_type = d.threat_type.clone();
    row.category = d.category.clone();
    row.location = d.location.clone();
    row.location_country = d.location_country.clone();
    row.lat = d.lat;
    row.lng = d.lng;
    row.observed_at = d.observed_at;
    row.expires_at = d.expires_at;
    row.likelihood = a.likelihood.into();
    row.impact_severity = a.impact_severity.into();
    row.risk_score = a.risk_score;
    row.risk_level = a.severity.as_str().into();
    row.likelihood_rationale = a.likelihood_rationale.clone();
    row.impact_rationale = a.impact_rationale.clone();
    row.location_precision_level = d.location_precision_level.clone();
    row.location_uncertainty_km = d.location_uncertainty_km;
}

/// Material differences between the stored threat and the draft, as `{field: {from, to}}`.
pub(super) fn material_changes(old: &ThreatRow, d: &ThreatDraft) -> Map<String, Value> {
    let mut c = Map::new();
    let mut diff = |field: &str, from: Value, to: Value| {
        if from != to {
            c.insert(field.to_string(), json!({"from": from, "to": to}));
        }
    };
    diff(
        "severity",
        json!(old.severity),
        json!(d.assessment.severity.as_str()),
    );
    if (old.risk_score - d.assessment.risk_score).abs() >= 0.1 {
        diff(
            "risk_score",
            json!(old.risk_score),
            json!(d.assessment.risk_score),
        );
    }
    diff("title", json!(old.title), json!(d.title));
    diff("location", json!(old.location), json!(d.location));
    if (old.lat - d.lat).abs() > 1e-6 || (old.lng - d.lng).abs() > 1e-6 {
        diff(
            "coordinates",
            json!({"lat": old.lat, "lng": old.lng}),
            json!({"lat": d.lat, "lng": d.lng}),
        );
    }
    diff("sources", json!(old.sources.0), json!(d.sources));
    c
}

/// A draft's affected assets as stored rows, in the order [`crate::threats::store::affected_select`]
/// reads them back (distance, then asset id).
pub(super) fn asset_rows(threat_id: &str, d: &ThreatDraft) -> Vec<ThreatAssetRow> {
    let mut rows: Vec<ThreatAssetRow> = d
        .affected
        .iter()
        .map(|a| ThreatAssetRow {
            threat_id: threat_id.to_string(),
            asset_uuid: a.asset_uuid.clone(),
            asset_id: a.asset_id.clone(),
            asset_name: a.asset_name.clone(),
            asset_type: a.asset_type.clone(),
            distance_km: a.distance_km,
        })
        .collect();
    rows.sort_by(|x, y| {
        x.distance_km
            .total_cmp(&y.distance_km)
            .then_with(|| x.asset_id.cmp(&y.asset_id))
    });
    rows
}
