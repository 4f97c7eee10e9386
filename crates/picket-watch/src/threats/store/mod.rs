//! Threat storage: the tables, their row types, and every statement on them — the list and
//! reads of the API ([`list`], [`read`]), analysts' triage and expiry ([`triage`]), and the
//! engine's writes ([`write`], [`follow_up`]).

mod follow_up;
mod list;
mod read;
mod triage;
mod write;

pub(crate) use follow_up::GRID;
pub use follow_up::{open_parents, Links, Nearby, Parent};
pub use list::{list, Filter, Sort};
pub use read::{
    affected, affected_and_summaries, affected_on, developments, get, get_on, threatened_events,
    AssetSummaryRow,
};
pub(crate) use read::{affected_tx, affecting_assets, earliest_observed, rows_in, versions_in};
pub use triage::{expire, triage, Triage};
pub use write::{
    add_development, affected_in, count_developments, existing, insert, insert_developments,
    insert_versions, replace_assets, update, with_first_version, NewDevelopment, NewVersion,
};

/// Ids (or cells) per lookup statement.
pub(crate) const LOOKUP_CHUNK: usize = 500;

use picket_core::db::counts::{Counted, TextKey};
use picket_core::db::json::JsonText;
use picket_core::db::schema::{OnDelete, Table};
use sea_query::{Expr, Order, SelectStatement};

picket_core::table! {
    pub(crate) enum Threats in "threats", tenant_owned {
        Id: Text .primary_key(),
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        EventId: Text,
        Title: Text,
        Description: Text .nullable(),
        Severity: Text,
        // 0 = critical … 4 = negligible: sorts by severity without a CASE.
        SeverityRank: BigInt,
        Status: Text,
        Pinned: Bool .default("FALSE"),
        CreatedAt: BigInt,
        UpdatedAt: BigInt,
        AttributionTypes: Text,
        Sources: Text,
        VersionCount: BigInt .default("0"),
        DevelopmentCount: BigInt .default("0"),
        LastVersionAt: BigInt .nullable(),
        LatestDevelopmentTitle: Text .nullable(),
        ThreatRationale: Text,
        ThreatType: Text,
        Category: Text,
        Location: Text,
        LocationCountry: Text .nullable(),
        Lat: Double,
        Lng: Double,
        ObservedAt: BigInt,
        ExpiresAt: BigInt,
        Likelihood: Text,
        ImpactSeverity: Text,
        RiskScore: Double,
        RiskLevel: Text,
        LikelihoodRationale: Text,
        ImpactRationale: Text,
        DismissalReason: Text .nullable(),
        LocationPrecisionLevel: Text,
        LocationUncertaintyKm: Double .nullable(),
        // Threats stored before this column existed have none and are never follow-up
        // parents.
        Cell: BigInt .nullable(),
    }
    indexes {
        unique threats_tenant_event (TenantId, EventId),
        // Each list sort ends in `id` (the tie-break of `list::list`), so a page is read
        // straight off the index in order and stops at `limit`, instead of fetching every
        // row of the tenant and sorting them (threats of events dated by the day share
        // one `observed_at`). New names, so that existing databases get them created.
        // The default sort's index also carries severity and status, which the list filters
        // by most: a filtered page tests them on the index entries it walks and reads only the
        // rows it returns (a tenth of the threats are high or critical, so a page of them
        // used to read ten rows for each one returned).
        index threats_tenant_observed_filter (TenantId, ObservedAt, Id, SeverityRank, Status),
        index threats_tenant_updated_id (TenantId, UpdatedAt, Id),
        index threats_tenant_risk_id (TenantId, RiskScore, Id),
        // `sort=severity` reads its order here. A status filter has no index of its own: the
        // default sort's index tests status on its entries, `row_counts` answers the total,
        // and an index entry on every threat written cost the engine more (4-5 µs a threat)
        // than it saved a page filtered by a rare status.
        index threats_tenant_severity (TenantId, SeverityRank, ObservedAt),
        index threats_status_expires (Status, ExpiresAt),
        index threats_tenant_category_cell (TenantId, Category, Cell),
    }
}

/// Threats are counted per tenant, day observed, severity and status (`row_counts`), so a list
/// filtered by those answers its total without reading the matching rows.
pub const COUNTED: &[Counted] = &[Counted {
    table: Threats::DECLARED.name,
    dataset: Threats::DECLARED.name,
    time: "observed_at",
    int_key: Some("severity_rank"),
    text_key: Some(TextKey::Column("status")),
}];

picket_core::table! {
    pub(crate) enum ThreatAssets in "threat_assets", tenant_owned {
        Id: Serial,
        ThreatId: Text .references("threats", "id", OnDelete::Cascade),
        TenantId: BigInt,
        // No foreign key: a deleted asset's threats keep their history.
        AssetUuid: Text,
        AssetId: Text,
        AssetName: Text,
        AssetType: Text,
        DistanceKm: Double,
    }
    indexes {
        unique threat_assets_threat_asset (ThreatId, AssetUuid),
        index threat_assets_tenant_asset (TenantId, AssetUuid),
        index threat_assets_tenant_asset_id (TenantId, AssetId),
    }
}

picket_core::table! {
    pub(crate) enum ThreatVersions in "threat_versions" {
        Id: Serial,
        ThreatId: Text .references("threats", "id", OnDelete::Cascade),
        Version: BigInt,
        At: BigInt,
        Changes: Text,
        Snapshot: Text,
    }
    indexes {
        unique threat_versions_threat_version (ThreatId, Version),
    }
}

picket_core::table! {
    pub(crate) enum ThreatDevelopments in "threat_developments" {
        Id: Text .primary_key(),
        ThreatId: Text .references("threats", "id", OnDelete::Cascade),
        Title: Text,
        At: BigInt,
        EventId: Text,
        Source: Text,
    }
    indexes {
        index threat_developments_threat_at (ThreatId, At),
    }
}

pub const TABLES: &[Table] = &[
    Threats::DECLARED,
    ThreatAssets::DECLARED,
    ThreatVersions::DECLARED,
    ThreatDevelopments::DECLARED,
];

pub(crate) const THREAT_COLUMNS: [Threats; 35] = [
    Threats::Id,
    Threats::TenantId,
    Threats::EventId,
    Threats::Title,
    Threats::Description,
    Threats::Severity,
    Threats::SeverityRank,
    Threats::Status,
    Threats::Pinned,
    Threats::CreatedAt,
    Threats::UpdatedAt,
    Threats::AttributionTypes,
    Threats::Sources,
    Threats::VersionCount,
    Threats::DevelopmentCount,
    Threats::LastVersionAt,
    Threats::LatestDevelopmentTitle,
    Threats::ThreatRationale,
    Threats::ThreatType,
    Threats::Category,
    Threats::Location,
    Threats::LocationCountry,
    Threats::Lat,
    Threats::Lng,
    Threats::ObservedAt,
    Threats::ExpiresAt,
    Threats::Likelihood,
    Threats::ImpactSeverity,
    Threats::RiskScore,
    Threats::RiskLevel,
    Threats::LikelihoodRationale,
    Threats::ImpactRationale,
    Threats::DismissalReason,
    Threats::LocationPrecisionLevel,
    Threats::LocationUncertaintyKm,
];

/// A threat row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ThreatRow {
    pub id: String,
    pub tenant_id: i64,
    pub event_id: String,
    pub title: String,
    pub description: Option<String>,
    pub severity: String,
    pub severity_rank: i64,
    pub status: String,
    pub pinned: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub attribution_types: JsonText<Vec<String>>,
    pub sources: JsonText<Vec<String>>,
    pub version_count: i64,
    pub development_count: i64,
    pub last_version_at: Option<i64>,
    pub latest_development_title: Option<String>,
    pub threat_rationale: String,
    pub threat_type: String,
    pub category: String,
    pub location: String,
    pub location_country: Option<String>,
    pub lat: f64,
    pub lng: f64,
    pub observed_at: i64,
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

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ThreatAssetRow {
    pub threat_id: String,
    pub asset_uuid: String,
    pub asset_id: String,
    pub asset_name: String,
    pub asset_type: String,
    pub distance_km: f64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionRow {
    pub version: i64,
    pub at: i64,
    pub changes: JsonText<serde_json::Value>,
    pub snapshot: JsonText<serde_json::Value>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DevelopmentRow {
    pub id: String,
    pub title: String,
    pub at: i64,
    pub event_id: String,
    pub source: String,
}

/// Affected assets of the given threats, nearest first within each (the one order the API,
/// version snapshots and the writer all use).
/// `from` is a statement started on `threat_assets` ([`ThreatAssets::select_by_key`] for a
/// tenant, so that the ids, not the tenant, choose the index).
pub(crate) fn affected_select(
    mut from: SelectStatement,
    threat_ids: Vec<String>,
) -> SelectStatement {
    from.columns([
        ThreatAssets::ThreatId,
        ThreatAssets::AssetUuid,
        ThreatAssets::AssetId,
        ThreatAssets::AssetName,
        ThreatAssets::AssetType,
        ThreatAssets::DistanceKm,
    ])
    .and_where(Expr::col(ThreatAssets::ThreatId).is_in(threat_ids))
    .order_by(ThreatAssets::DistanceKm, Order::Asc)
    .order_by(ThreatAssets::AssetId, Order::Asc)
    .to_owned()
}

/// A severity's rank, stored in `severity_rank`: 0 = critical … 4 = negligible or unknown.
pub fn severity_rank(s: &str) -> i64 {
    match s {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        _ => 4,
    }
}
