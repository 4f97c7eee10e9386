//! A threat report: what the threat is, its score and why, the assets it affects (nearest
//! first, with their instructions), how it changed, and where it came from.

use picket_report_render::content::{Body, Content, MapAsset, MapData, MapThreat, Section};
use serde_json::{json, Value};

use super::{fact, opt_time, rounded, row, table, time};
use crate::assets::store::AssetRow;
use crate::threats::store::{DevelopmentRow, ThreatAssetRow, ThreatRow};
use crate::threats::wire::Version;

/// Everything a threat report is made from.
pub struct ThreatData {
    pub threat: ThreatRow,
    /// Nearest first.
    pub affected: Vec<ThreatAssetRow>,
    /// The current rows of the affected assets the tenant still has (by server id).
    pub assets: Vec<AssetRow>,
    /// Oldest first.
    pub versions: Vec<Version>,
    pub developments: Vec<DevelopmentRow>,
}

/// The instructions an asset carries for threats, general and physical, joined.
pub(crate) fn instructions(asset: Option<&AssetRow>) -> Value {
    let Some(a) = asset else { return Value::Null };
    let parts: Vec<&str> = [
        a.threat_config.0.custom_instructions.as_deref(),
        a.physical_threat_config.0.custom_instructions.as_deref(),
    ]
    .into_iter()
    .flatten()
    .map(str::trim)
    .filter(|s| !s.is_empty())
    .collect();
    if parts.is_empty() {
        Value::Null
    } else {
        Value::String(parts.join("\n"))
    }
}

/// `status: active → resolved; risk_score: 41 → 63` from a version's `changes`.
fn changes_text(changes: &Value) -> String {
    let Some(map) = changes.as_object() else {
        return String::new();
    };
    if map.is_empty() {
        return "first version".into();
    }
    let short = |v: Option<&Value>| -> String {
        match v {
            Some(Value::String(s)) => picket_report_render::content::cell_text(Some(
                &Value::String(super::super::request::clipped(s, 60)),
            )),
            Some(Value::Array(a)) => format!("{} items", a.len()),
            Some(Value::Object(_)) => "…".into(),
            other => picket_report_render::content::cell_text(other),
        }
    };
    map.iter()
        .map(|(field, c)| format!("{field}: {} → {}", short(c.get("from")), short(c.get("to"))))
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn build(d: &ThreatData) -> Content {
    let t = &d.threat;
    let mut summary = serde_json::Map::new();
    summary.insert("risk_score".into(), rounded(t.risk_score, 1));
    summary.insert("risk_level".into(), json!(t.risk_level));
    summary.insert("severity".into(), json!(t.severity));
    summary.insert("status".into(), json!(t.status));
    summary.insert("affected_assets".into(), json!(d.affected.len()));
    summary.insert("versions".into(), json!(d.versions.len()));
    summary.insert("developments".into(), json!(d.developments.len()));

    let place = match &t.location_country {
        Some(c) => format!("{} ({c})", t.location),
        None => t.location.clone(),
    };
    let mut overview = vec![format!(
        "{} threat ({}), observed {} at {}.",
        picket_report_render::content::label_of(&t.severity),
        t.threat_type,
        picket_core::time::rfc3339(t.observed_at),
        place
    )];
    if let Some(desc) = t.description.as_deref().filter(|d| !d.trim().is_empty()) {
        overview.push(desc.trim().to_string());
    }
    let details = vec![
        fact("Title", t.title.clone()),
        fact("Type", t.threat_type.clone()),
        fact("Category", t.category.clone()),
        fact("Status", t.status.clone()),
        fact("Pinned", t.pinned),
        fact("Location", place.clone()),
        fact("Coordinates", format!("{:.4}, {:.4}", t.lat, t.lng)),
        fact("Location precision", t.location_precision_level.clone()),
        fact(
            "Location uncertainty (km)",
            t.location_uncertainty_km
                .map(|u| rounded(u, 1))
                .unwrap_or(Value::Null),
        ),
        fact("Observed", time(t.observed_at)),
        fact("Expires", time(t.expires_at)),
        fact("Last updated", time(t.updated_at)),
        fact(
            "Dismissal reason",
            t.dismissal_reason
                .clone()
                .map(Value::String)
                .unwrap_or(Value::Null),
        ),
    ];
    let score = vec![
        fact(
            "Risk score",
            format!("{:.1} of 100 ({})", t.risk_score, t.risk_level),
        ),
        fact("Severity", t.severity.clone()),
        fact(
            "Likelihood",
            format!("{}: {}", t.likelihood, t.likelihood_rationale),
        ),
        fact(
            "Impact",
            format!("{}: {}", t.impact_severity, t.impact_rationale),
        ),
        fact("Rationale", t.threat_rationale.clone()),
    ];
    let current = |uuid: &str| d.assets.iter().find(|a| a.id == uuid);
    let affected_rows = d
        .affected
        .iter()
        .map(|a| {
            let cur = current(&a.asset_uuid);
            row([
                ("asset_id", json!(a.asset_id)),
                ("asset_name", json!(a.asset_name)),
                ("asset_type", json!(a.asset_type)),
                ("distance_km", rounded(a.distance_km, 1)),
                ("custom_instructions", instructions(cur)),
            ])
        })
        .collect();
    let map = MapData {
        threats: vec![MapThreat {
            lat: t.lat,
            lng: t.lng,
            severity: t.severity.clone(),
            title: t.title.clone(),
        }],
        assets: d
            .affected
            .iter()
            .filter_map(|a| {
                let cur = current(&a.asset_uuid)?;
                Some(MapAsset {
                    lat: cur.lat?,
                    lng: cur.lng?,
                    asset_id: cur.asset_id.clone(),
                    name: cur.name.clone(),
                })
            })
            .collect(),
    };
    let versions = d
        .versions
        .iter()
        .map(|v| {
            row([
                ("version", json!(v.version)),
                ("at", time(v.at)),
                ("changes", json!(changes_text(&v.changes))),
            ])
        })
        .collect();
    let developments = d
        .developments
        .iter()
        .map(|v| {
            row([
                ("at", time(v.at)),
                ("title", json!(v.title)),
                ("source", json!(v.source)),
                ("event_id", json!(v.event_id)),
            ])
        })
        .collect();
    let sources = vec![
        fact("Sources", json!(t.sources.0)),
        fact("Attribution", json!(t.attribution_types.0)),
        fact("Event", t.event_id.clone()),
        fact("Latest development", opt_str(&t.latest_development_title)),
        fact("Last version", opt_time(t.last_version_at)),
    ];
    Content {
        summary,
        sections: vec![
            Section {
                title: "Overview".into(),
                body: Body::Text {
                    paragraphs: overview,
                },
            },
            Section {
                title: "Details".into(),
                body: Body::Facts { items: details },
            },
            Section {
                title: "Score and rationale".into(),
                body: Body::Facts { items: score },
            },
            Section {
                title: "Affected assets".into(),
                body: Body::Table(table(
                    &[
                        ("asset_id", "Asset", 1.0),
                        ("asset_name", "Name", 1.4),
                        ("asset_type", "Type", 0.8),
                        ("distance_km", "Distance (km)", 0.8),
                        ("custom_instructions", "Instructions", 2.2),
                    ],
                    affected_rows,
                    "No asset is affected.",
                )),
            },
            Section {
                title: "Map".into(),
                body: Body::Map(map),
            },
            Section {
                title: "Versions".into(),
                body: Body::Table(table(
                    &[
                        ("version", "Version", 0.6),
                        ("at", "At", 1.2),
                        ("changes", "Changes", 3.0),
                    ],
                    versions,
                    "No versions.",
                )),
            },
            Section {
                title: "Developments".into(),
                body: Body::Table(table(
                    &[
                        ("at", "At", 1.2),
                        ("title", "Development", 2.4),
                        ("source", "Source", 0.8),
                        ("event_id", "Event", 1.0),
                    ],
                    developments,
                    "No developments.",
                )),
            },
            Section {
                title: "Sources".into(),
                body: Body::Facts { items: sources },
            },
        ],
    }
}

fn opt_str(s: &Option<String>) -> Value {
    s.clone().map(Value::String).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_as_from_and_to() {
        assert_eq!(changes_text(&json!({})), "first version");
        assert_eq!(
            changes_text(&json!({"status": {"from": "active", "to": "resolved"}})),
            "status: active → resolved"
        );
    }
}
