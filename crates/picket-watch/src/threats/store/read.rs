//! Reading threats one at a time: a threat, its affected assets, versions and developments.

use std::collections::BTreeMap;

use picket_core::db::table::TenantTable;
use picket_core::db::{Conn, Db, DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::{Alias, Cond, Expr, JoinType, Order, Query};

use crate::assets::store::Assets;

use super::{
    affected_select, DevelopmentRow, ThreatAssetRow, ThreatAssets, ThreatDevelopments, ThreatRow,
    ThreatVersions, Threats, VersionRow, LOOKUP_CHUNK, THREAT_COLUMNS,
};

/// The distinct events that have threats, of every tenant, in id order: what re-scoring
/// evaluates again after the scoring model changes.
pub async fn threatened_events(db: &Db) -> DbResult<Vec<String>> {
    #[derive(sqlx::FromRow)]
    struct Event {
        event_id: String,
    }
    let q = Query::select()
        .distinct()
        .column(Threats::EventId)
        // Across tenants: re-scoring after a model change covers every tenant's threats.
        .from(Threats::across_tenants())
        .order_by(Threats::EventId, Order::Asc)
        .to_owned();
    Ok(db
        .fetch_all::<Event>(&q)
        .await?
        .into_iter()
        .map(|e| e.event_id)
        .collect())
}

/// A tenant's threat.
pub async fn get(db: &Db, tenant: TenantId, id: &str) -> DbResult<Option<ThreatRow>> {
    get_on(&mut db.conn().await?, tenant, id).await
}

/// [`get`] on a connection the caller already holds.
pub async fn get_on(conn: &mut Conn, tenant: TenantId, id: &str) -> DbResult<Option<ThreatRow>> {
    let q = Threats::select(tenant)
        .columns(THREAT_COLUMNS)
        .and_where(Expr::col(Threats::Id).eq(id))
        .to_owned();
    conn.fetch_optional(&q).await
}

/// Affected assets of the given threats, nearest first within each.
pub async fn affected(
    db: &Db,
    tenant: TenantId,
    threat_ids: &[String],
) -> DbResult<Vec<ThreatAssetRow>> {
    if threat_ids.is_empty() {
        return Ok(vec![]);
    }
    affected_on(&mut db.conn().await?, tenant, threat_ids).await
}

/// [`affected`] on a connection the caller already holds.
pub async fn affected_on(
    conn: &mut Conn,
    tenant: TenantId,
    threat_ids: &[String],
) -> DbResult<Vec<ThreatAssetRow>> {
    if threat_ids.is_empty() {
        return Ok(vec![]);
    }
    let from = ThreatAssets::select_by_key(tenant);
    conn.fetch_all(&affected_select(from, threat_ids.to_vec()))
        .await
}

/// The current details of an asset a threat affects (`AssetSummary` on the wire).
#[derive(Debug, Clone)]
pub struct AssetSummaryRow {
    pub asset_id: String,
    pub name: String,
    pub asset_type: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub country: Option<String>,
    pub address: Option<String>,
    pub monitoring_radius_km: Option<f64>,
}

/// An affected asset of a threat with its current details, if the tenant still has it.
#[derive(sqlx::FromRow)]
struct AffectedJoin {
    threat_id: String,
    asset_uuid: String,
    asset_id: String,
    asset_name: String,
    asset_type: String,
    distance_km: f64,
    cur_asset_id: Option<String>,
    cur_name: Option<String>,
    cur_type: Option<String>,
    cur_lat: Option<f64>,
    cur_lng: Option<f64>,
    cur_country: Option<String>,
    cur_address: Option<String>,
    cur_radius_km: Option<f64>,
}

/// Affected assets of the given threats (nearest first within each) and the current summaries
/// of the tenant's assets among them, ordered by `asset_id` (deleted assets drop out): one
/// statement where a page used to need two.
pub async fn affected_and_summaries(
    conn: &mut Conn,
    tenant: TenantId,
    threat_ids: &[String],
) -> DbResult<(Vec<ThreatAssetRow>, Vec<AssetSummaryRow>)> {
    if threat_ids.is_empty() {
        return Ok((vec![], vec![]));
    }
    let cur = |c: Assets, alias: &str| (Expr::col(Assets::col(c)), Alias::new(alias));
    // `store::affected_select`'s columns and order, qualified: both tables have `asset_id`.
    let ta = |c: ThreatAssets| ThreatAssets::col(c);
    let mut q = ThreatAssets::select_by_key(tenant);
    q.columns([
        ta(ThreatAssets::ThreatId),
        ta(ThreatAssets::AssetUuid),
        ta(ThreatAssets::AssetId),
        ta(ThreatAssets::AssetName),
        ta(ThreatAssets::AssetType),
        ta(ThreatAssets::DistanceKm),
    ])
    .and_where(Expr::col(ta(ThreatAssets::ThreatId)).is_in(threat_ids.to_vec()))
    .order_by(ta(ThreatAssets::DistanceKm), Order::Asc)
    .order_by(ta(ThreatAssets::AssetId), Order::Asc);
    for (expr, alias) in [
        cur(Assets::AssetId, "cur_asset_id"),
        cur(Assets::Name, "cur_name"),
        cur(Assets::Type, "cur_type"),
        cur(Assets::Lat, "cur_lat"),
        cur(Assets::Lng, "cur_lng"),
        cur(Assets::Country, "cur_country"),
        cur(Assets::Address, "cur_address"),
        cur(Assets::MonitoringRadiusKm, "cur_radius_km"),
    ] {
        q.expr_as(expr, alias);
    }
    Assets::join(
        &mut q,
        JoinType::LeftJoin,
        tenant,
        Cond::all().add(
            Expr::col(Assets::col(Assets::Id)).equals(ThreatAssets::col(ThreatAssets::AssetUuid)),
        ),
    );
    let rows: Vec<AffectedJoin> = conn.fetch_all(&q).await?;

    let mut summaries: BTreeMap<String, AssetSummaryRow> = BTreeMap::new();
    let mut affected = Vec::with_capacity(rows.len());
    for r in rows {
        if let (Some(asset_id), Some(name), Some(asset_type)) =
            (r.cur_asset_id, r.cur_name, r.cur_type)
        {
            summaries
                .entry(r.asset_uuid.clone())
                .or_insert(AssetSummaryRow {
                    asset_id,
                    name,
                    asset_type,
                    lat: r.cur_lat,
                    lng: r.cur_lng,
                    country: r.cur_country,
                    address: r.cur_address,
                    monitoring_radius_km: r.cur_radius_km,
                });
        }
        affected.push(ThreatAssetRow {
            threat_id: r.threat_id,
            asset_uuid: r.asset_uuid,
            asset_id: r.asset_id,
            asset_name: r.asset_name,
            asset_type: r.asset_type,
            distance_km: r.distance_km,
        });
    }
    let mut summaries: Vec<AssetSummaryRow> = summaries.into_values().collect();
    summaries.sort_by(|a, b| a.asset_id.cmp(&b.asset_id));
    Ok((affected, summaries))
}

/// `threat_id`, if the tenant owns it: the versions and developments tables hang off
/// `threats` and carry no tenant of their own, so they are reached through their threat.
fn owned_threat(tenant: TenantId, threat_id: &str) -> sea_query::SelectStatement {
    Threats::select(tenant)
        .column(Threats::Id)
        .and_where(Expr::col(Threats::Id).eq(threat_id))
        .to_owned()
}

pub async fn developments(
    db: &Db,
    tenant: TenantId,
    threat_id: &str,
) -> DbResult<Vec<DevelopmentRow>> {
    let q = Query::select()
        .columns([
            ThreatDevelopments::Id,
            ThreatDevelopments::Title,
            ThreatDevelopments::At,
            ThreatDevelopments::EventId,
            ThreatDevelopments::Source,
        ])
        .from(ThreatDevelopments::table())
        .and_where(
            Expr::col(ThreatDevelopments::ThreatId).in_subquery(owned_threat(tenant, threat_id)),
        )
        .order_by(ThreatDevelopments::At, Order::Asc)
        .order_by(ThreatDevelopments::Id, Order::Asc)
        .to_owned();
    db.fetch_all(&q).await
}

/// The tenant's threats among `ids` (unknown and other tenants' ids are left out), in no
/// particular order: one statement per [`LOOKUP_CHUNK`] ids, inside the caller's transaction
/// (incidents read the threats they link this way).
pub(crate) async fn rows_in(
    tx: &mut Tx,
    tenant: TenantId,
    ids: &[String],
) -> DbResult<Vec<ThreatRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let q = Threats::select(tenant)
            .columns(THREAT_COLUMNS)
            .and_where(Expr::col(Threats::Id).is_in(chunk.iter().cloned()))
            .to_owned();
        out.extend(tx.fetch_all::<ThreatRow>(&q).await?);
    }
    Ok(out)
}

/// [`affected`] inside the caller's transaction.
pub(crate) async fn affected_tx(
    tx: &mut Tx,
    tenant: TenantId,
    threat_ids: &[String],
) -> DbResult<Vec<ThreatAssetRow>> {
    let mut out = Vec::new();
    for chunk in threat_ids.chunks(LOOKUP_CHUNK) {
        let from = ThreatAssets::select_by_key(tenant);
        out.extend(tx.fetch_all(&affected_select(from, chunk.to_vec())).await?);
    }
    Ok(out)
}

/// A stored version of one of several threats.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ThreatVersionRow {
    pub threat_id: String,
    #[sqlx(flatten)]
    pub version: VersionRow,
}

/// The stored versions of the tenant's threats among `ids`, by threat, oldest first.
pub(crate) async fn versions_in(
    tx: &mut Tx,
    tenant: TenantId,
    ids: &[String],
) -> DbResult<Vec<ThreatVersionRow>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let owned = Threats::select(tenant)
            .column(Threats::Id)
            .and_where(Expr::col(Threats::Id).is_in(chunk.iter().cloned()))
            .to_owned();
        let q = Query::select()
            .columns([
                ThreatVersions::ThreatId,
                ThreatVersions::Version,
                ThreatVersions::At,
                ThreatVersions::Changes,
                ThreatVersions::Snapshot,
            ])
            .from(ThreatVersions::table())
            .and_where(Expr::col(ThreatVersions::ThreatId).in_subquery(owned))
            .order_by(ThreatVersions::ThreatId, Order::Asc)
            .order_by(ThreatVersions::Version, Order::Asc)
            .to_owned();
        out.extend(tx.fetch_all::<ThreatVersionRow>(&q).await?);
    }
    Ok(out)
}

/// The ids of the tenant's threats that affect the assets `keys` name (server `id` or client
/// `asset_id`, read as `GET /v1/threats?asset_id=` reads them), as a subquery for other
/// modules' filters.
pub(crate) async fn affecting_assets(
    conn: &mut Conn,
    tenant: TenantId,
    keys: &[String],
) -> DbResult<sea_query::SelectStatement> {
    super::list::affecting(conn, tenant, keys).await
}

/// `SELECT MIN(observed_at)` of the tenant's threats that `links` names in `threat_id`: a
/// scalar subquery (incidents start when their earliest linked threat was observed). `links`
/// is a select of link rows with its conditions and no columns; the threats are joined to it
/// by id, so the few links drive the read. (As `id IN (links)`, SQLite without planner
/// statistics read every threat of the tenant through its tenant index and probed the links
/// for each: the engine's incident upkeep took most of its time at 90,000 threats.)
pub(crate) fn earliest_observed(
    tenant: TenantId,
    mut links: sea_query::SelectStatement,
    threat_id: sea_query::ColumnRef,
) -> sea_query::SelectStatement {
    Threats::join(
        &mut links,
        JoinType::InnerJoin,
        tenant,
        Cond::all().add(Expr::col(Threats::col(Threats::Id)).equals(threat_id)),
    );
    links
        .expr(Expr::col(Threats::col(Threats::ObservedAt)).min())
        .to_owned()
}
