//! Wire types of incidents (§2.3, §2.4, §5).

use picket_core::time::serde_rfc3339;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::store::{IncidentRow, LinkRow};
use crate::threats::store::ThreatRow;
use crate::threats::wire::{Coordinates, Version};
use picket_corpus::taxonomy::Severity;

/// Incident status (§1.8): `resolved` = the situation is over; `closed` = closed without
/// resolution (false alarm, merged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[derive(strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum IncidentStatus {
    Open,
    Closed,
    Resolved,
}

impl IncidentStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Incident scope (§1.8): `aggregate` incidents group related threats (the engine opens them
/// itself); `investigation` incidents are analysts' own, never touched by the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
#[derive(strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum IncidentScope {
    Investigation,
    #[default]
    Aggregate,
}

impl IncidentScope {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The linked threat, summarised.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ThreatSummary {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub threat_type: String,
    pub location: String,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub observed_at: i64,
    pub coordinates: Coordinates,
}

impl From<&ThreatRow> for ThreatSummary {
    fn from(r: &ThreatRow) -> Self {
        ThreatSummary {
            id: r.id.clone(),
            title: r.title.clone(),
            severity: Severity::parse(&r.severity).unwrap_or(Severity::Negligible),
            threat_type: r.threat_type.clone(),
            location: r.location.clone(),
            observed_at: r.observed_at,
            coordinates: Coordinates {
                lat: r.lat,
                lng: r.lng,
            },
        }
    }
}

/// A threat linked to an incident.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ThreatLink {
    /// The link's id.
    pub id: String,
    pub threat_id: String,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub added_at: i64,
    pub threat: ThreatSummary,
}

impl ThreatLink {
    pub fn new(link: &LinkRow, threat: &ThreatRow) -> ThreatLink {
        ThreatLink {
            id: link.id.clone(),
            threat_id: link.threat_id.clone(),
            added_at: link.added_at,
            threat: threat.into(),
        }
    }
}

/// An incident as the API returns it (§2.3).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Incident {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub status: IncidentStatus,
    pub scope: IncidentScope,
    /// Oldest link first.
    pub threat_links: Vec<ThreatLink>,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
    /// The earliest `observed_at` of the linked threats; null without links.
    #[serde(serialize_with = "serde_rfc3339::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<i64>,
    /// When the status last moved to `resolved`; null unless resolved.
    #[serde(serialize_with = "serde_rfc3339::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<i64>,
}

impl Incident {
    pub fn new(row: IncidentRow, threat_links: Vec<ThreatLink>) -> Incident {
        Incident {
            status: row.status.parse().unwrap_or(IncidentStatus::Open),
            scope: row.scope.parse().unwrap_or(IncidentScope::Aggregate),
            id: row.id,
            title: row.title,
            description: row.description,
            threat_links,
            created_at: row.created_at,
            updated_at: row.updated_at,
            started_at: row.started_at,
            resolved_at: row.resolved_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentList {
    pub incidents: Vec<Incident>,
    pub total: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub status: Option<IncidentStatus>,
    pub scope: Option<IncidentScope>,
    /// Incidents with linked threats affecting this asset: server `id` or client `asset_id`;
    /// repeat for several.
    #[serde(default)]
    pub asset_id: Vec<String>,
    /// 1–5000, default 100.
    pub limit: Option<i64>,
    /// ≥ 0, default 0.
    pub offset: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIncident {
    pub title: String,
    pub description: Option<String>,
    /// Default `aggregate`.
    pub scope: Option<IncidentScope>,
    /// Threats to link; an unknown id is 400 naming it.
    #[serde(default)]
    pub threat_ids: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchIncident {
    pub title: Option<String>,
    pub description: Option<String>,
    /// Moving to `resolved` sets `resolved_at`.
    pub status: Option<IncidentStatus>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkThreats {
    /// Threats to link; already linked ones stay linked once.
    pub threat_ids: Vec<String>,
}

/// Activity kind (§1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    ThreatLinked,
    ThreatUnlinked,
    ThreatVersion,
}

/// One item of an incident's timeline (§2.4).
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityItem {
    pub kind: ActivityKind,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub at: i64,
    pub threat_id: String,
    /// The link the item belongs to (for a version: the threat's current link).
    pub link_id: String,
    /// For `threat_version`: the version (`version`, `at`, `changes`, `snapshot`) as
    /// `/v1/threats/{id}/versions` shows it; null otherwise.
    pub threat_version: Option<Version>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityList {
    pub items: Vec<ActivityItem>,
    pub total: usize,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Also the linked threats' versions from before they were linked (default false).
    pub include_versions_before_link: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_read_back() {
        for s in [
            IncidentStatus::Open,
            IncidentStatus::Closed,
            IncidentStatus::Resolved,
        ] {
            assert_eq!(s.as_str().parse::<IncidentStatus>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in [IncidentScope::Investigation, IncidentScope::Aggregate] {
            assert_eq!(s.as_str().parse::<IncidentScope>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(
            serde_json::to_value(ActivityKind::ThreatUnlinked).unwrap(),
            "threat_unlinked"
        );
    }
}
