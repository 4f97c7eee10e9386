//! Threat storage: the tables, their row types, and every statement on them — the list and
//! reads of the API ([`list`], [`read`]), analysts' triage and expiry ([`triage`]), and the
//! engine's writes ([`write`], [`follow_up`]).

mod follow_up;
mod list;
mod read;
mod triage;
mod write;

pub(crate) use follow_up::GRID;
pub use follow_up::{open_parents, Parent};
pub use list::{list, Filter, Sort};
pub use read::{
    affected, affected_and_summaries, affected_on, developments, get, get_on, versions,
    AssetSummaryRow,
};
pub use triage::{expire, triage, Triage};
pub use write::{
    add_development, affected_in, count_developments, existing, insert, insert_developments,
    insert_versions, replace_assets, update, with_first_version, NewDevelopment, NewVersion,
};

/// Ids (or cells) per lookup statement.
pub(crate) const LOOKUP_CHUNK: usize = 500;

use picket_core::db::schema::{ColType, Column, Index, OnDelete, Table};
use sea_query::{Expr, Iden, Order, Query, SelectStatement};

#[derive(Iden, Clone, Copy)]
pub(crate) enum Threats {
    Table,
    Id,
    TenantId,
    EventId,
    Title,
    Description,
    Severity,
    SeverityRank,
    Status,
    Pinned,
    CreatedAt,
    UpdatedAt,
    AttributionTypes,
    Sources,
    VersionCount,
    DevelopmentCount,
    LastVersionAt,
    LatestDevelopmentTitle,
    ThreatRationale,
    ThreatType,
    Category,
    Location,
    LocationCountry,
    Lat,
    Lng,
    ObservedAt,
    ExpiresAt,
    Likelihood,
    ImpactSeverity,
    RiskScore,
    RiskLevel,
    LikelihoodRationale,
    ImpactRationale,
    DismissalReason,
    LocationPrecisionLevel,
    LocationUncertaintyKm,
    /// Grid cell of the coordinates ([`GRID`]), for follow-up lookups; written by
    /// the engine, never read by the API.
    Cell,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum ThreatAssets {
    Table,
    ThreatId,
    TenantId,
    AssetUuid,
    AssetId,
    AssetName,
    AssetType,
    DistanceKm,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum ThreatVersions {
    Table,
    ThreatId,
    Version,
    At,
    Changes,
    Snapshot,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum ThreatDevelopments {
    Table,
    Id,
    ThreatId,
    Title,
    At,
    EventId,
    Source,
}

const fn text(name: &'static str) -> Column {
    Column::new(name, ColType::Text)
}

pub const TABLES: &[Table] = &[
    Table {
        name: "threats",
        columns: &[
            text("id").primary_key(),
            Column::new("tenant_id", ColType::BigInt).references(
                "tenants",
                "id",
                OnDelete::Cascade,
            ),
            text("event_id"),
            text("title"),
            text("description").nullable(),
            text("severity"),
            // 0 = critical … 4 = negligible: sorts by severity without a CASE.
            Column::new("severity_rank", ColType::BigInt),
            text("status"),
            Column::new("pinned", ColType::Bool).default("FALSE"),
            Column::new("created_at", ColType::BigInt),
            Column::new("updated_at", ColType::BigInt),
            text("attribution_types"),
            text("sources"),
            Column::new("version_count", ColType::BigInt).default("0"),
            Column::new("development_count", ColType::BigInt).default("0"),
            Column::new("last_version_at", ColType::BigInt).nullable(),
            text("latest_development_title").nullable(),
            text("threat_rationale"),
            text("threat_type"),
            text("category"),
            text("location"),
            text("location_country").nullable(),
            Column::new("lat", ColType::Double),
            Column::new("lng", ColType::Double),
            Column::new("observed_at", ColType::BigInt),
            Column::new("expires_at", ColType::BigInt),
            text("likelihood"),
            text("impact_severity"),
            Column::new("risk_score", ColType::Double),
            text("risk_level"),
            text("likelihood_rationale"),
            text("impact_rationale"),
            text("dismissal_reason").nullable(),
            text("location_precision_level"),
            Column::new("location_uncertainty_km", ColType::Double).nullable(),
            // Threats stored before this column existed have none and are never follow-up
            // parents.
            Column::new("cell", ColType::BigInt).nullable(),
        ],
        indexes: &[
            Index::unique("threats_tenant_event", &["tenant_id", "event_id"]),
            // Each list sort ends in `id` (the tie-break of `list::list`), so a page is read
            // straight off the index in order and stops at `limit`, instead of fetching every
            // row of the tenant and sorting them (threats of events dated by the day share
            // one `observed_at`). New names, so that existing databases get them created.
            Index::new(
                "threats_tenant_observed_id",
                &["tenant_id", "observed_at", "id"],
            ),
            Index::new(
                "threats_tenant_updated_id",
                &["tenant_id", "updated_at", "id"],
            ),
            Index::new("threats_tenant_risk_id", &["tenant_id", "risk_score", "id"]),
            Index::new(
                "threats_tenant_severity",
                &["tenant_id", "severity_rank", "observed_at"],
            ),
            Index::new(
                "threats_tenant_status",
                &["tenant_id", "status", "observed_at"],
            ),
            Index::new("threats_status_expires", &["status", "expires_at"]),
            Index::new(
                "threats_tenant_category_cell",
                &["tenant_id", "category", "cell"],
            ),
        ],
    },
    Table {
        name: "threat_assets",
        columns: &[
            Column::serial("id"),
            text("threat_id").references("threats", "id", OnDelete::Cascade),
            Column::new("tenant_id", ColType::BigInt),
            // No foreign key: a deleted asset's threats keep their history.
            text("asset_uuid"),
            text("asset_id"),
            text("asset_name"),
            text("asset_type"),
            Column::new("distance_km", ColType::Double),
        ],
        indexes: &[
            Index::unique("threat_assets_threat_asset", &["threat_id", "asset_uuid"]),
            Index::new("threat_assets_tenant_asset", &["tenant_id", "asset_uuid"]),
            Index::new("threat_assets_tenant_asset_id", &["tenant_id", "asset_id"]),
        ],
    },
    Table {
        name: "threat_versions",
        columns: &[
            Column::serial("id"),
            text("threat_id").references("threats", "id", OnDelete::Cascade),
            Column::new("version", ColType::BigInt),
            Column::new("at", ColType::BigInt),
            text("changes"),
            text("snapshot"),
        ],
        indexes: &[Index::unique(
            "threat_versions_threat_version",
            &["threat_id", "version"],
        )],
    },
    Table {
        name: "threat_developments",
        columns: &[
            text("id").primary_key(),
            text("threat_id").references("threats", "id", OnDelete::Cascade),
            text("title"),
            Column::new("at", ColType::BigInt),
            text("event_id"),
            text("source"),
        ],
        indexes: &[Index::new(
            "threat_developments_threat_at",
            &["threat_id", "at"],
        )],
    },
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
    pub attribution_types: String,
    pub sources: String,
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
    pub changes: String,
    pub snapshot: String,
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
pub(crate) fn affected_select(threat_ids: Vec<String>) -> SelectStatement {
    Query::select()
        .columns([
            ThreatAssets::ThreatId,
            ThreatAssets::AssetUuid,
            ThreatAssets::AssetId,
            ThreatAssets::AssetName,
            ThreatAssets::AssetType,
            ThreatAssets::DistanceKm,
        ])
        .from(ThreatAssets::Table)
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
