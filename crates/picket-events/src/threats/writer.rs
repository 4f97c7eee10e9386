//! How the engine records threats: one per (tenant, event), created or updated in the caller's
//! transaction, with a version on every material change and developments for follow-ups.
//!
//! Material fields are severity, risk score, title, location (place or coordinates) and the
//! source list. Analysts' triage survives updates: a dismissed, contained or resolved threat
//! keeps its status and a pinned one stays pinned; only an `ended` threat whose event gained a
//! later expiry becomes `active` again.

use picket_core::db::{DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::{Expr, Query};
use serde_json::{json, Map, Value};

use super::store::{
    ThreatAssetRow, ThreatAssets, ThreatDevelopments, ThreatRow, ThreatVersions, Threats,
    THREAT_COLUMNS,
};
use super::wire::ThreatStatus;
use crate::engine::Assessment;

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

#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    Created(String),
    /// The threat changed; the names of the material fields that did (empty: only scores,
    /// rationales or affected assets moved, no new version).
    Updated(String, Vec<String>),
}

fn severity_rank(s: &str) -> i64 {
    match s {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        _ => 4,
    }
}

async fn find(tx: &mut Tx, tenant: TenantId, event_id: &str) -> DbResult<Option<ThreatRow>> {
    let q = Query::select()
        .columns(THREAT_COLUMNS)
        .from(Threats::Table)
        .and_where(Expr::col(Threats::TenantId).eq(tenant))
        .and_where(Expr::col(Threats::EventId).eq(event_id))
        .to_owned();
    tx.fetch_optional(&q).await
}

fn draft_values(d: &ThreatDraft) -> Vec<(Threats, sea_query::SimpleExpr)> {
    let a = &d.assessment;
    vec![
        (Threats::Title, d.title.clone().into()),
        (Threats::Description, d.description.clone().into()),
        (Threats::Severity, a.severity.as_str().into()),
        (
            Threats::SeverityRank,
            severity_rank(a.severity.as_str()).into(),
        ),
        (
            Threats::AttributionTypes,
            json!(d.attribution_types).to_string().into(),
        ),
        (Threats::Sources, json!(d.sources).to_string().into()),
        (Threats::ThreatRationale, d.threat_rationale.clone().into()),
        (Threats::ThreatType, d.threat_type.clone().into()),
        (Threats::Category, d.category.clone().into()),
        (Threats::Location, d.location.clone().into()),
        (Threats::LocationCountry, d.location_country.clone().into()),
        (Threats::Lat, d.lat.into()),
        (Threats::Lng, d.lng.into()),
        (Threats::ObservedAt, d.observed_at.into()),
        (Threats::ExpiresAt, d.expires_at.into()),
        (Threats::Likelihood, a.likelihood.into()),
        (Threats::ImpactSeverity, a.impact_severity.into()),
        (Threats::RiskScore, a.risk_score.into()),
        (Threats::RiskLevel, a.severity.as_str().into()),
        (
            Threats::LikelihoodRationale,
            a.likelihood_rationale.clone().into(),
        ),
        (Threats::ImpactRationale, a.impact_rationale.clone().into()),
        (
            Threats::LocationPrecisionLevel,
            d.location_precision_level.clone().into(),
        ),
        (
            Threats::LocationUncertaintyKm,
            d.location_uncertainty_km.into(),
        ),
    ]
}

/// Material differences between the stored threat and the draft, as `{field: {from, to}}`.
fn material_changes(old: &ThreatRow, d: &ThreatDraft) -> Map<String, Value> {
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
    let old_sources: Vec<String> = serde_json::from_str(&old.sources).unwrap_or_default();
    diff("sources", json!(old_sources), json!(d.sources));
    c
}

async fn replace_assets(tx: &mut Tx, threat_id: &str, d: &ThreatDraft) -> DbResult<()> {
    tx.execute(
        &Query::delete()
            .from_table(ThreatAssets::Table)
            .and_where(Expr::col(ThreatAssets::ThreatId).eq(threat_id))
            .to_owned(),
    )
    .await?;
    let mut q = Query::insert();
    q.into_table(ThreatAssets::Table).columns([
        ThreatAssets::ThreatId,
        ThreatAssets::TenantId,
        ThreatAssets::AssetUuid,
        ThreatAssets::AssetId,
        ThreatAssets::AssetName,
        ThreatAssets::AssetType,
        ThreatAssets::DistanceKm,
    ]);
    for a in &d.affected {
        q.values_panic([
            threat_id.into(),
            d.tenant_id.into(),
            a.asset_uuid.clone().into(),
            a.asset_id.clone().into(),
            a.asset_name.clone().into(),
            a.asset_type.clone().into(),
            a.distance_km.into(),
        ]);
    }
    if !d.affected.is_empty() {
        tx.execute(&q).await?;
    }
    Ok(())
}

async fn add_version(
    tx: &mut Tx,
    threat_id: &str,
    version: i64,
    at: i64,
    changes: &Map<String, Value>,
) -> DbResult<()> {
    let row = reread(tx, threat_id).await?;
    let assets = assets_of(tx, threat_id).await?;
    let snapshot = serde_json::to_value(row.to_wire(&assets)).unwrap_or(Value::Null);
    let q = Query::insert()
        .into_table(ThreatVersions::Table)
        .columns([
            ThreatVersions::ThreatId,
            ThreatVersions::Version,
            ThreatVersions::At,
            ThreatVersions::Changes,
            ThreatVersions::Snapshot,
        ])
        .values_panic([
            threat_id.into(),
            version.into(),
            at.into(),
            Value::Object(changes.clone()).to_string().into(),
            snapshot.to_string().into(),
        ])
        .to_owned();
    tx.execute(&q).await?;
    Ok(())
}

async fn reread(tx: &mut Tx, threat_id: &str) -> DbResult<ThreatRow> {
    let q = Query::select()
        .columns(THREAT_COLUMNS)
        .from(Threats::Table)
        .and_where(Expr::col(Threats::Id).eq(threat_id))
        .to_owned();
    tx.fetch_one(&q).await
}

async fn assets_of(tx: &mut Tx, threat_id: &str) -> DbResult<Vec<ThreatAssetRow>> {
    tx.fetch_all(&super::store::affected_select(vec![threat_id.to_string()]))
        .await
}

/// Creates or updates the tenant's threat for the draft's event.
pub async fn upsert(tx: &mut Tx, d: &ThreatDraft, now: i64) -> DbResult<Written> {
    match find(tx, d.tenant_id, &d.event_id).await? {
        None => {
            let id = uuid::Uuid::now_v7().to_string();
            let mut cols = vec![
                Threats::Id,
                Threats::TenantId,
                Threats::EventId,
                Threats::Status,
                Threats::Pinned,
                Threats::CreatedAt,
                Threats::UpdatedAt,
                Threats::VersionCount,
                Threats::DevelopmentCount,
                Threats::LastVersionAt,
            ];
            let mut vals: Vec<sea_query::SimpleExpr> = vec![
                id.clone().into(),
                d.tenant_id.into(),
                d.event_id.clone().into(),
                ThreatStatus::Active.as_str().into(),
                false.into(),
                now.into(),
                now.into(),
                1i64.into(),
                0i64.into(),
                now.into(),
            ];
            for (c, v) in draft_values(d) {
                cols.push(c);
                vals.push(v);
            }
            tx.execute(
                &Query::insert()
                    .into_table(Threats::Table)
                    .columns(cols)
                    .values_panic(vals)
                    .to_owned(),
            )
            .await?;
            replace_assets(tx, &id, d).await?;
            add_version(tx, &id, 1, now, &Map::new()).await?;
            Ok(Written::Created(id))
        }
        Some(old) => {
            let changes = material_changes(&old, d);
            let mut values = draft_values(d);
            values.push((Threats::UpdatedAt, now.into()));
            if old.status == ThreatStatus::Ended.as_str() && d.expires_at > now {
                values.push((Threats::Status, ThreatStatus::Active.as_str().into()));
            }
            let version = old.version_count + 1;
            if !changes.is_empty() {
                values.push((Threats::VersionCount, version.into()));
                values.push((Threats::LastVersionAt, now.into()));
            }
            tx.execute(
                &Query::update()
                    .table(Threats::Table)
                    .values(values)
                    .and_where(Expr::col(Threats::Id).eq(old.id.clone()))
                    .to_owned(),
            )
            .await?;
            replace_assets(tx, &old.id, d).await?;
            if !changes.is_empty() {
                add_version(tx, &old.id, version, now, &changes).await?;
            }
            Ok(Written::Updated(old.id, changes.keys().cloned().collect()))
        }
    }
}

/// Records a follow-up event on an existing threat.
pub async fn add_development(
    tx: &mut Tx,
    threat_id: &str,
    title: &str,
    at: i64,
    event_id: &str,
    source: &str,
) -> DbResult<String> {
    let id = uuid::Uuid::now_v7().to_string();
    let q = Query::insert()
        .into_table(ThreatDevelopments::Table)
        .columns([
            ThreatDevelopments::Id,
            ThreatDevelopments::ThreatId,
            ThreatDevelopments::Title,
            ThreatDevelopments::At,
            ThreatDevelopments::EventId,
            ThreatDevelopments::Source,
        ])
        .values_panic([
            id.clone().into(),
            threat_id.into(),
            title.into(),
            at.into(),
            event_id.into(),
            source.into(),
        ])
        .to_owned();
    tx.execute(&q).await?;
    let q = Query::update()
        .table(Threats::Table)
        .value(
            Threats::DevelopmentCount,
            Expr::col(Threats::DevelopmentCount).add(1),
        )
        .value(Threats::LatestDevelopmentTitle, title)
        .value(Threats::UpdatedAt, at)
        .and_where(Expr::col(Threats::Id).eq(threat_id))
        .to_owned();
    tx.execute(&q).await?;
    Ok(id)
}
