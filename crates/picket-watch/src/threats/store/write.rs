//! The engine's writes: threats created and updated in bulk, their affected assets, versions
//! and developments. What to write is decided in [`crate::threats::writer`].

use std::collections::{BTreeMap, HashMap, HashSet};

use picket_core::db::bulk::insert_rows;
use picket_core::db::json::JsonText;
use picket_core::db::table::TenantTable;
use picket_core::db::{DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::{Expr, Iden, Query, SimpleExpr, Value as SeaValue};

use super::follow_up::GRID;
use super::{
    affected_select, ThreatAssetRow, ThreatAssets, ThreatDevelopments, ThreatRow, ThreatVersions,
    Threats, LOOKUP_CHUNK, THREAT_COLUMNS,
};

/// A version row to write.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub threat_id: String,
    pub version: i64,
    pub at: i64,
    /// `{field: {from, to}}` as JSON text.
    pub changes: String,
    /// The threat as it stood at this version, as JSON text.
    pub snapshot: String,
}

/// A development row to write (its id is made when it is written).
#[derive(Debug, Clone)]
pub struct NewDevelopment {
    pub threat_id: String,
    pub title: String,
    pub at: i64,
    pub event_id: String,
    pub source: String,
}

/// Stored threats of the given events, per tenant, keyed by (tenant, event). One lookup per
/// tenant (and 500 events), each a seek in the `(tenant_id, event_id)` index: SQLite answers
/// a row-value `IN` list with a scan of the whole table.
pub async fn existing(
    tx: &mut Tx,
    events_by_tenant: &BTreeMap<i64, Vec<String>>,
) -> DbResult<HashMap<(i64, String), ThreatRow>> {
    let mut found = HashMap::new();
    for (tenant, events) in events_by_tenant {
        for chunk in events.chunks(LOOKUP_CHUNK) {
            let q = Threats::select(TenantId(*tenant))
                .columns(THREAT_COLUMNS)
                .and_where(Expr::col(Threats::EventId).is_in(chunk.iter().cloned()))
                .to_owned();
            for row in tx.fetch_all::<ThreatRow>(&q).await? {
                found.insert((row.tenant_id, row.event_id.clone()), row);
            }
        }
    }
    Ok(found)
}

/// A row's values in [`THREAT_COLUMNS`] order.
pub(crate) fn row_values(r: &ThreatRow) -> Vec<SeaValue> {
    vec![
        r.id.clone().into(),
        r.tenant_id.into(),
        r.event_id.clone().into(),
        r.title.clone().into(),
        r.description.clone().into(),
        r.severity.clone().into(),
        r.severity_rank.into(),
        r.status.clone().into(),
        r.pinned.into(),
        r.created_at.into(),
        r.updated_at.into(),
        JsonText::encode(&r.attribution_types.0).into(),
        JsonText::encode(&r.sources.0).into(),
        r.version_count.into(),
        r.development_count.into(),
        r.last_version_at.into(),
        r.latest_development_title.clone().into(),
        r.threat_rationale.clone().into(),
        r.threat_type.clone().into(),
        r.category.clone().into(),
        r.location.clone().into(),
        r.location_country.clone().into(),
        r.lat.into(),
        r.lng.into(),
        r.observed_at.into(),
        r.expires_at.into(),
        r.likelihood.clone().into(),
        r.impact_severity.clone().into(),
        r.risk_score.into(),
        r.risk_level.clone().into(),
        r.likelihood_rationale.clone().into(),
        r.impact_rationale.clone().into(),
        r.dismissal_reason.clone().into(),
        r.location_precision_level.clone().into(),
        r.location_uncertainty_km.into(),
    ]
}

/// Writes an existing threat's row as it now is (its grid cell included).
pub async fn update(tx: &mut Tx, row: &ThreatRow) -> DbResult<()> {
    let mut values: Vec<(Threats, SimpleExpr)> = THREAT_COLUMNS
        .into_iter()
        .zip(row_values(row))
        .skip(1)
        .map(|(c, v)| (c, v.into()))
        .collect();
    values.push((Threats::Cell, GRID.cell(row.lat, row.lng).into()));
    tx.execute(
        &Threats::update(TenantId(row.tenant_id))
            .values(values)
            .and_where(Expr::col(Threats::Id).eq(row.id.clone()))
            .to_owned(),
    )
    .await
    .map(|_| ())
}

/// Inserts new threats, with multi-row statements.
pub async fn insert(tx: &mut Tx, rows: &[ThreatRow]) -> DbResult<()> {
    let mut columns: Vec<String> = THREAT_COLUMNS.iter().map(Iden::to_string).collect();
    columns.push(Threats::Cell.to_string());
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    let values: Vec<Vec<SeaValue>> = rows
        .iter()
        .map(|row| {
            let mut values = row_values(row);
            values.push(GRID.cell(row.lat, row.lng).into());
            values
        })
        .collect();
    // Across tenants: one engine batch writes threats of many tenants, each row with its own.
    insert_rows(tx, Threats::across_tenants().as_str(), &columns, values)
        .await
        .map(|_| ())
}

/// Replaces the affected assets of the given threats: the rows of `replaced` threats are
/// deleted, then `assets` (each with its tenant) inserted.
pub async fn replace_assets(
    tx: &mut Tx,
    replaced: &[String],
    assets: &[(i64, ThreatAssetRow)],
) -> DbResult<()> {
    for chunk in replaced.chunks(LOOKUP_CHUNK) {
        tx.execute(
            // Across tenants: the engine replaces the assets of threats of every tenant in its
            // batch; the ids are of threats it has just written.
            &Query::delete()
                .from_table(ThreatAssets::across_tenants())
                .and_where(Expr::col(ThreatAssets::ThreatId).is_in(chunk.iter().cloned()))
                .to_owned(),
        )
        .await?;
    }
    let values: Vec<Vec<SeaValue>> = assets
        .iter()
        .map(|(tenant, a)| {
            vec![
                a.threat_id.clone().into(),
                (*tenant).into(),
                a.asset_uuid.clone().into(),
                a.asset_id.clone().into(),
                a.asset_name.clone().into(),
                a.asset_type.clone().into(),
                a.distance_km.into(),
            ]
        })
        .collect();
    // Across tenants: each row carries the tenant of its threat.
    insert_rows(
        tx,
        ThreatAssets::across_tenants().as_str(),
        &[
            "threat_id",
            "tenant_id",
            "asset_uuid",
            "asset_id",
            "asset_name",
            "asset_type",
            "distance_km",
        ],
        values,
    )
    .await
    .map(|_| ())
}

/// Affected assets of the given threats as stored, nearest first within each.
pub async fn affected_in(tx: &mut Tx, threat_ids: Vec<String>) -> DbResult<Vec<ThreatAssetRow>> {
    // Across tenants: the engine updates threats of every tenant in one batch; the ids are
    // those it has just read for their events.
    let from = Query::select()
        .from(ThreatAssets::across_tenants())
        .to_owned();
    tx.fetch_all(&affected_select(from, threat_ids)).await
}

/// Which of the given threats have a stored version 1.
pub async fn with_first_version(tx: &mut Tx, threat_ids: Vec<String>) -> DbResult<HashSet<String>> {
    #[derive(sqlx::FromRow)]
    struct Stored {
        threat_id: String,
    }
    Ok(tx
        .fetch_all::<Stored>(
            &Query::select()
                .column(ThreatVersions::ThreatId)
                .from(ThreatVersions::table())
                .and_where(Expr::col(ThreatVersions::ThreatId).is_in(threat_ids))
                .and_where(Expr::col(ThreatVersions::Version).eq(1))
                .to_owned(),
        )
        .await?
        .into_iter()
        .map(|s| s.threat_id)
        .collect())
}

pub async fn insert_versions(tx: &mut Tx, versions: Vec<NewVersion>) -> DbResult<()> {
    insert_rows(
        tx,
        ThreatVersions::table().as_str(),
        &["threat_id", "version", "at", "changes", "snapshot"],
        versions
            .into_iter()
            .map(|v| -> Vec<SeaValue> {
                vec![
                    v.threat_id.into(),
                    v.version.into(),
                    v.at.into(),
                    v.changes.into(),
                    v.snapshot.into(),
                ]
            })
            .collect::<Vec<_>>(),
    )
    .await
    .map(|_| ())
}

pub async fn insert_developments(tx: &mut Tx, developments: Vec<NewDevelopment>) -> DbResult<()> {
    insert_rows(
        tx,
        ThreatDevelopments::table().as_str(),
        &["id", "threat_id", "title", "at", "event_id", "source"],
        developments
            .into_iter()
            .map(|d| -> Vec<SeaValue> {
                vec![
                    uuid::Uuid::now_v7().to_string().into(),
                    d.threat_id.into(),
                    d.title.into(),
                    d.at.into(),
                    d.event_id.into(),
                    d.source.into(),
                ]
            })
            .collect::<Vec<_>>(),
    )
    .await
    .map(|_| ())
}

/// Counts `n` more developments on a threat, the latest titled `title`.
pub async fn count_developments(
    tx: &mut Tx,
    threat_id: &str,
    n: i64,
    title: &str,
    now: i64,
) -> DbResult<()> {
    tx.execute(
        &Query::update()
            // Across tenants: the engine's follow-up step, by the id of a threat it just read.
            .table(Threats::across_tenants())
            .value(
                Threats::DevelopmentCount,
                Expr::col(Threats::DevelopmentCount).add(n),
            )
            .value(Threats::LatestDevelopmentTitle, title)
            .value(Threats::UpdatedAt, now)
            .and_where(Expr::col(Threats::Id).eq(threat_id))
            .to_owned(),
    )
    .await
    .map(|_| ())
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
        .into_table(ThreatDevelopments::table())
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
        // Across tenants: the engine's follow-up step, by the id of a threat it just read.
        .table(Threats::across_tenants())
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
