//! An incident report: the incident, how its status moved, the threats it links, and its
//! timeline of links, unlinks and threat versions.

use std::collections::HashMap;

use picket_report_render::content::{Body, Content, MapAsset, MapData, MapThreat, Section};
use serde_json::{json, Value};

use super::{fact, opt_time, rounded, row, table, time};
use crate::incidents::store::{IncidentRow, LinkRow};
use crate::incidents::wire::{ActivityItem, ActivityKind};
use crate::threats::store::{AssetSummaryRow, ThreatRow};

/// Everything an incident report is made from.
pub struct IncidentData {
    pub incident: IncidentRow,
    /// Oldest link first.
    pub links: Vec<LinkRow>,
    /// The threats the timeline names (linked now or before), by id.
    pub threats: HashMap<String, ThreatRow>,
    /// Oldest first.
    pub timeline: Vec<ActivityItem>,
    /// The assets the linked threats affect, with their current coordinates.
    pub assets: Vec<AssetSummaryRow>,
}

/// The status changes an incident's row records: opened when created, resolved at
/// `resolved_at`, closed at its last change when it is closed now.
fn status_history(i: &IncidentRow) -> Vec<serde_json::Map<String, Value>> {
    let mut rows = vec![row([
        ("at", time(i.created_at)),
        ("status", json!("open")),
        ("note", json!("Incident opened")),
    ])];
    if let Some(at) = i.resolved_at {
        rows.push(row([
            ("at", time(at)),
            ("status", json!("resolved")),
            ("note", json!("The situation is over")),
        ]));
    }
    if i.status == "closed" {
        rows.push(row([
            ("at", time(i.updated_at)),
            ("status", json!("closed")),
            (
                "note",
                json!("Closed without resolution (time of the incident's last change)"),
            ),
        ]));
    }
    rows
}

pub fn build(d: &IncidentData) -> Content {
    let i = &d.incident;
    let linked: Vec<&ThreatRow> = d
        .links
        .iter()
        .filter_map(|l| d.threats.get(&l.threat_id))
        .collect();
    let most_severe = linked
        .iter()
        .min_by_key(|t| crate::threats::store::severity_rank(&t.severity))
        .map(|t| json!(t.severity))
        .unwrap_or(Value::Null);
    let mut summary = serde_json::Map::new();
    summary.insert("status".into(), json!(i.status));
    summary.insert("scope".into(), json!(i.scope));
    summary.insert("linked_threats".into(), json!(d.links.len()));
    summary.insert("timeline_items".into(), json!(d.timeline.len()));
    summary.insert("most_severe".into(), most_severe);
    summary.insert("started_at".into(), opt_time(i.started_at));
    summary.insert("resolved_at".into(), opt_time(i.resolved_at));

    let overview = vec![
        fact("Title", i.title.clone()),
        fact(
            "Description",
            i.description
                .clone()
                .map(Value::String)
                .unwrap_or(Value::Null),
        ),
        fact("Status", i.status.clone()),
        fact("Scope", i.scope.clone()),
        fact("Created", time(i.created_at)),
        fact("Started", opt_time(i.started_at)),
        fact("Resolved", opt_time(i.resolved_at)),
        fact("Last updated", time(i.updated_at)),
    ];
    let threat_rows = d
        .links
        .iter()
        .filter_map(|l| {
            let t = d.threats.get(&l.threat_id)?;
            Some(row([
                ("title", json!(t.title)),
                ("severity", json!(t.severity)),
                ("risk_score", rounded(t.risk_score, 1)),
                ("threat_type", json!(t.threat_type)),
                ("location", json!(t.location)),
                ("observed_at", time(t.observed_at)),
                ("added_at", time(l.added_at)),
                ("threat_id", json!(t.id)),
            ]))
        })
        .collect();
    let title_of = |id: &str| {
        d.threats
            .get(id)
            .map(|t| t.title.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let timeline_rows = d
        .timeline
        .iter()
        .map(|item| {
            let (what, detail) = match item.kind {
                ActivityKind::ThreatLinked => ("Threat linked", String::new()),
                ActivityKind::ThreatUnlinked => ("Threat unlinked", String::new()),
                ActivityKind::ThreatVersion => {
                    let v = item.threat_version.as_ref();
                    let n = v.map(|v| v.version).unwrap_or_default();
                    let fields: Vec<String> = v
                        .and_then(|v| v.changes.as_object())
                        .map(|c| c.keys().cloned().collect())
                        .unwrap_or_default();
                    (
                        "Threat version",
                        if fields.is_empty() {
                            format!("version {n}")
                        } else {
                            format!("version {n}: {} changed", fields.join(", "))
                        },
                    )
                }
            };
            row([
                ("at", time(item.at)),
                ("kind", json!(what)),
                ("threat", json!(title_of(&item.threat_id))),
                ("detail", json!(detail)),
                ("threat_id", json!(item.threat_id)),
            ])
        })
        .collect();
    let map = MapData {
        threats: linked
            .iter()
            .map(|t| MapThreat {
                lat: t.lat,
                lng: t.lng,
                severity: t.severity.clone(),
                title: t.title.clone(),
            })
            .collect(),
        assets: d
            .assets
            .iter()
            .filter_map(|a| {
                Some(MapAsset {
                    lat: a.lat?,
                    lng: a.lng?,
                    asset_id: a.asset_id.clone(),
                    name: a.name.clone(),
                })
            })
            .collect(),
    };
    Content {
        summary,
        sections: vec![
            Section {
                title: "Overview".into(),
                body: Body::Facts { items: overview },
            },
            Section {
                title: "Status history".into(),
                body: Body::Table(table(
                    &[
                        ("at", "At", 1.2),
                        ("status", "Status", 0.8),
                        ("note", "Note", 2.4),
                    ],
                    status_history(i),
                    "No status changes.",
                )),
            },
            Section {
                title: "Linked threats".into(),
                body: Body::Table(table(
                    &[
                        ("title", "Threat", 2.2),
                        ("severity", "Severity", 0.8),
                        ("risk_score", "Risk", 0.5),
                        ("threat_type", "Type", 1.0),
                        ("location", "Location", 1.2),
                        ("observed_at", "Observed", 1.2),
                        ("added_at", "Linked", 1.2),
                    ],
                    threat_rows,
                    "No threat is linked.",
                )),
            },
            Section {
                title: "Timeline".into(),
                body: Body::Table(table(
                    &[
                        ("at", "At", 1.2),
                        ("kind", "What", 1.0),
                        ("threat", "Threat", 2.0),
                        ("detail", "Detail", 2.0),
                    ],
                    timeline_rows,
                    "Nothing has happened yet.",
                )),
            },
            Section {
                title: "Map".into(),
                body: Body::Map(map),
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_follows_the_row() {
        let mut i = IncidentRow {
            id: "i".into(),
            title: "t".into(),
            description: None,
            status: "open".into(),
            scope: "investigation".into(),
            created_at: 1,
            updated_at: 5,
            started_at: None,
            resolved_at: None,
        };
        assert_eq!(status_history(&i).len(), 1);
        i.status = "resolved".into();
        i.resolved_at = Some(4);
        let h = status_history(&i);
        assert_eq!(h[1]["status"], "resolved");
        i.status = "closed".into();
        i.resolved_at = None;
        assert_eq!(status_history(&i)[1]["status"], "closed");
    }
}
