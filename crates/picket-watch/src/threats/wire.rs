//! Wire types of threats.

use picket_core::time::serde_rfc3339;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::store::{DevelopmentRow, ThreatAssetRow, ThreatRow, VersionRow};
use picket_corpus::taxonomy::Severity;

/// Threat status (§1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[derive(strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum ThreatStatus {
    Active,
    Monitoring,
    Contained,
    Resolved,
    Dismissed,
    Ended,
}

impl ThreatStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Coordinates {
    pub lat: f64,
    pub lng: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct AffectedAsset {
    /// The client's `asset_id`.
    pub asset_id: String,
    pub asset_name: String,
    pub asset_type: String,
    pub distance_km: f64,
}

impl From<&ThreatAssetRow> for AffectedAsset {
    fn from(r: &ThreatAssetRow) -> Self {
        AffectedAsset {
            asset_id: r.asset_id.clone(),
            asset_name: r.asset_name.clone(),
            asset_type: r.asset_type.clone(),
            distance_km: (r.distance_km * 1000.0).round() / 1000.0,
        }
    }
}

/// A threat as the API returns it (§2.2).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Threat {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub severity: Severity,
    pub status: ThreatStatus,
    pub pinned: bool,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
    pub attribution_types: Vec<String>,
    pub sources: Vec<String>,
    /// Nearest first.
    pub affected_assets: Vec<AffectedAsset>,
    pub version_count: i64,
    pub development_count: i64,
    #[serde(serialize_with = "serde_rfc3339::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_version_at: Option<i64>,
    pub latest_development_title: Option<String>,
    pub threat_rationale: String,
    pub threat_type: String,
    pub location: String,
    pub location_country: Option<String>,
    pub coordinates: Coordinates,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub observed_at: i64,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: i64,
    pub likelihood: String,
    pub impact_severity: String,
    pub risk_score: f64,
    pub risk_level: String,
    pub likelihood_rationale: String,
    pub impact_rationale: String,
    pub dismissal_reason: Option<String>,
    pub location_precision_level: String,
    pub location_uncertainty_km: Option<f64>,
}

/// A stored status; an unknown one reads as active.
fn status_of(s: &str) -> ThreatStatus {
    s.parse().unwrap_or(ThreatStatus::Active)
}

impl ThreatRow {
    pub fn to_wire(&self, assets: &[ThreatAssetRow]) -> Threat {
        self.clone().into_wire(assets)
    }

    /// [`ThreatRow::to_wire`] that moves the row's strings instead of copying them (a list page
    /// is a hundred rows of a dozen texts each).
    pub fn into_wire<'a>(self, assets: impl IntoIterator<Item = &'a ThreatAssetRow>) -> Threat {
        Threat {
            severity: Severity::parse(&self.severity).unwrap_or(Severity::Negligible),
            status: status_of(&self.status),
            attribution_types: self.attribution_types.0.clone(),
            sources: self.sources.0.clone(),
            affected_assets: assets.into_iter().map(AffectedAsset::from).collect(),
            id: self.id,
            title: self.title,
            description: self.description,
            pinned: self.pinned,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version_count: self.version_count,
            development_count: self.development_count,
            last_version_at: self.last_version_at,
            latest_development_title: self.latest_development_title,
            threat_rationale: self.threat_rationale,
            threat_type: self.threat_type,
            location: self.location,
            location_country: self.location_country,
            coordinates: Coordinates {
                lat: self.lat,
                lng: self.lng,
            },
            observed_at: self.observed_at,
            expires_at: self.expires_at,
            likelihood: self.likelihood,
            impact_severity: self.impact_severity,
            risk_score: self.risk_score,
            risk_level: self.risk_level,
            likelihood_rationale: self.likelihood_rationale,
            impact_rationale: self.impact_rationale,
            dismissal_reason: self.dismissal_reason,
            location_precision_level: self.location_precision_level,
            location_uncertainty_km: self.location_uncertainty_km,
        }
    }
}

/// A tenant asset referenced by the returned page (§2.2 AssetSummary).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, sqlx::FromRow)]
pub struct AssetSummary {
    pub asset_id: String,
    pub name: String,
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub asset_type: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub country: Option<String>,
    pub address: Option<String>,
    pub monitoring_radius_km: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThreatList {
    pub threats: Vec<Threat>,
    pub total: i64,
    pub assets: Vec<AssetSummary>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum SortField {
    #[default]
    ObservedAt,
    RiskScore,
    UpdatedAt,
    Severity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Affected asset: server `id` or client `asset_id`; repeat for several.
    #[serde(default)]
    pub asset_id: Vec<String>,
    /// Repeat for several.
    #[serde(default)]
    pub severity: Vec<Severity>,
    /// Repeat for several.
    #[serde(default)]
    pub status: Vec<ThreatStatus>,
    #[serde(default)]
    pub threat_type: Vec<String>,
    pub pinned: Option<bool>,
    /// RFC 3339 lower bound on `observed_at`.
    pub observed_from: Option<String>,
    /// RFC 3339 upper bound on `observed_at`.
    pub observed_to: Option<String>,
    /// 1–5000, default 100.
    pub limit: Option<i64>,
    /// ≥ 0, default 0.
    pub offset: Option<i64>,
    /// `observed_at` (default), `risk_score`, `updated_at` or `severity`.
    pub sort: Option<SortField>,
    /// `asc` or `desc` (default).
    pub order: Option<SortOrder>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchThreat {
    pub status: Option<ThreatStatus>,
    pub pinned: Option<bool>,
    /// Required when `status` becomes `dismissed`.
    pub dismissal_reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Version {
    pub version: i64,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub at: i64,
    /// Changed field → `{from, to}`.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
    /// The threat as it was at this version.
    #[schema(value_type = Object)]
    pub snapshot: serde_json::Value,
}

impl Version {
    /// Version 1 of a threat that has not changed materially since it was created.
    pub fn first(row: &ThreatRow, assets: &[ThreatAssetRow]) -> Version {
        Version {
            version: 1,
            at: row.created_at,
            changes: serde_json::Value::Object(Default::default()),
            snapshot: serde_json::to_value(row.to_wire(assets)).unwrap_or_default(),
        }
    }
}

impl From<VersionRow> for Version {
    fn from(r: VersionRow) -> Self {
        Version {
            version: r.version,
            at: r.at,
            changes: r.changes.0,
            snapshot: r.snapshot.0,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionList {
    pub versions: Vec<Version>,
    pub total: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Development {
    pub id: String,
    pub title: String,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub at: i64,
    pub event_id: String,
    pub source: String,
}

impl From<DevelopmentRow> for Development {
    fn from(r: DevelopmentRow) -> Self {
        Development {
            id: r.id,
            title: r.title,
            at: r.at,
            event_id: r.event_id,
            source: r.source,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DevelopmentList {
    pub developments: Vec<Development>,
    pub total: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_back_and_unknown_ones_are_active() {
        for s in [
            ThreatStatus::Active,
            ThreatStatus::Monitoring,
            ThreatStatus::Contained,
            ThreatStatus::Resolved,
            ThreatStatus::Dismissed,
            ThreatStatus::Ended,
        ] {
            assert_eq!(status_of(s.as_str()), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(status_of("archived"), ThreatStatus::Active);
        assert_eq!(status_of("Ended"), ThreatStatus::Active);
    }
}
