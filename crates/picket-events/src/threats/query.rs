//! Read queries of the threats API.

use std::collections::BTreeMap;

use chrono::DateTime;
use picket_core::db::{Conn, Db, DbResult};
use picket_core::identity::TenantId;
use picket_core::ApiError;
use sea_query::{Alias, Asterisk, Cond, Expr, Order, Query, SelectStatement};

use super::store::{
    DevelopmentRow, ThreatAssetRow, ThreatAssets, ThreatDevelopments, ThreatRow, ThreatVersions,
    Threats, VersionRow, THREAT_COLUMNS,
};
use super::wire::{AssetSummary, ListQuery, SortField, SortOrder};

/// A validated `GET /v1/threats` query.
#[derive(Debug)]
pub struct Filter {
    pub asset_keys: Vec<String>,
    pub severities: Vec<String>,
    pub statuses: Vec<String>,
    pub threat_types: Vec<String>,
    pub pinned: Option<bool>,
    pub observed_from: Option<i64>,
    pub observed_to: Option<i64>,
    pub limit: u64,
    pub offset: u64,
    pub sort: SortField,
    pub order: SortOrder,
}

fn timestamp(name: &str, value: &Option<String>) -> Result<Option<i64>, ApiError> {
    value
        .as_deref()
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.timestamp_millis())
                .map_err(|e| ApiError::bad_request(format!("invalid query parameter `{name}`: `{v}` is not an RFC 3339 timestamp ({e})")))
        })
        .transpose()
}

impl TryFrom<ListQuery> for Filter {
    type Error = ApiError;

    fn try_from(q: ListQuery) -> Result<Filter, ApiError> {
        let limit = q.limit.unwrap_or(100);
        if !(1..=5000).contains(&limit) {
            return Err(ApiError::bad_request(
                "invalid query parameter `limit`: must be between 1 and 5000",
            ));
        }
        let offset = q.offset.unwrap_or(0);
        if offset < 0 {
            return Err(ApiError::bad_request(
                "invalid query parameter `offset`: must be ≥ 0",
            ));
        }
        Ok(Filter {
            observed_from: timestamp("observed_from", &q.observed_from)?,
            observed_to: timestamp("observed_to", &q.observed_to)?,
            asset_keys: q.asset_id,
            severities: q.severity.iter().map(|s| s.as_str().to_string()).collect(),
            statuses: q.status.iter().map(|s| s.as_str().to_string()).collect(),
            threat_types: q.threat_type,
            pinned: q.pinned,
            limit: limit as u64,
            offset: offset as u64,
            sort: q.sort.unwrap_or_default(),
            order: q.order.unwrap_or_default(),
        })
    }
}

/// The assets a filter's `asset_id` values name: the server ids of the tenant's current assets
/// (so a renamed asset's older threats are found by its new `asset_id`), and the keys that name
/// no current asset, matched against the ids recorded on the threats (a deleted asset's).
#[derive(Debug, Default)]
struct AssetKeys {
    uuids: Vec<String>,
    recorded: Vec<String>,
}

async fn asset_keys(conn: &mut Conn, tenant: TenantId, f: &Filter) -> DbResult<AssetKeys> {
    let mut keys = AssetKeys::default();
    let resolved = crate::assets::store::resolve_keys(conn, tenant, &f.asset_keys).await?;
    for (key, uuid) in f.asset_keys.iter().zip(resolved) {
        match uuid {
            Some(uuid) => keys.uuids.push(uuid),
            None => keys.recorded.push(key.clone()),
        }
    }
    Ok(keys)
}

fn filtered(tenant: TenantId, f: &Filter, assets: &AssetKeys) -> SelectStatement {
    let mut q = Query::select();
    q.from(Threats::Table)
        .and_where(Expr::col((Threats::Table, Threats::TenantId)).eq(tenant));
    if !f.asset_keys.is_empty() {
        // Driven from the affected-asset index, so a rare asset costs little however many
        // threats exist.
        let mut uuids = assets.uuids.clone();
        uuids.extend(assets.recorded.iter().cloned());
        let mut which = Cond::any().add(Expr::col(ThreatAssets::AssetUuid).is_in(uuids));
        if !assets.recorded.is_empty() {
            which = which.add(Expr::col(ThreatAssets::AssetId).is_in(assets.recorded.clone()));
        }
        let sub = Query::select()
            .column(ThreatAssets::ThreatId)
            .from(ThreatAssets::Table)
            .and_where(Expr::col(ThreatAssets::TenantId).eq(tenant))
            .cond_where(which)
            .to_owned();
        q.and_where(Expr::col((Threats::Table, Threats::Id)).in_subquery(sub));
    }
    if !f.severities.is_empty() {
        // Through `severity_rank`, which leads the (tenant_id, severity_rank, observed_at)
        // index, instead of reading every row of the tenant for its severity text.
        let ranks: Vec<i64> = f
            .severities
            .iter()
            .map(|s| super::writer::severity_rank(s))
            .collect();
        q.and_where(Expr::col((Threats::Table, Threats::SeverityRank)).is_in(ranks));
    }
    if !f.statuses.is_empty() {
        q.and_where(Expr::col((Threats::Table, Threats::Status)).is_in(f.statuses.clone()));
    }
    if !f.threat_types.is_empty() {
        q.and_where(Expr::col((Threats::Table, Threats::ThreatType)).is_in(f.threat_types.clone()));
    }
    if let Some(p) = f.pinned {
        q.and_where(Expr::col((Threats::Table, Threats::Pinned)).eq(p));
    }
    if let Some(t) = f.observed_from {
        q.and_where(Expr::col((Threats::Table, Threats::ObservedAt)).gte(t));
    }
    if let Some(t) = f.observed_to {
        q.and_where(Expr::col((Threats::Table, Threats::ObservedAt)).lte(t));
    }
    q
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

/// One page of threats and the number of all matches.
pub async fn list(
    conn: &mut Conn,
    tenant: TenantId,
    f: &Filter,
) -> DbResult<(Vec<ThreatRow>, i64)> {
    let assets = asset_keys(conn, tenant, f).await?;
    let mut q = filtered(tenant, f, &assets);
    q.columns(THREAT_COLUMNS.map(|c| (Threats::Table, c)));
    let desc = f.order == SortOrder::Desc;
    let dir = if desc { Order::Desc } else { Order::Asc };
    match f.sort {
        SortField::ObservedAt => q.order_by((Threats::Table, Threats::ObservedAt), dir.clone()),
        SortField::RiskScore => q.order_by((Threats::Table, Threats::RiskScore), dir.clone()),
        SortField::UpdatedAt => q.order_by((Threats::Table, Threats::UpdatedAt), dir.clone()),
        // Rank 0 is critical: "descending severity" is ascending rank.
        SortField::Severity => q.order_by(
            (Threats::Table, Threats::SeverityRank),
            if desc { Order::Asc } else { Order::Desc },
        ),
    };
    q.order_by((Threats::Table, Threats::Id), dir)
        .limit(f.limit)
        .offset(f.offset);
    let rows: Vec<ThreatRow> = conn.fetch_all(&q).await?;

    // A short page that starts inside the matches ends them: its end is the total, and the
    // COUNT statement is not needed (filtered lists are usually a single short page).
    let len = rows.len() as u64;
    if len < f.limit && (len > 0 || f.offset == 0) {
        return Ok((rows, (f.offset + len) as i64));
    }
    let mut count = filtered(tenant, f, &assets);
    // COUNT(*), not COUNT(id): the count is then answered from whichever index serves the
    // filters, without reading each row for its id.
    count.expr_as(Expr::col(Asterisk).count(), Alias::new("n"));
    let total = conn.fetch_one::<Count>(&count).await?.n;
    Ok((rows, total))
}

pub async fn get(db: &Db, tenant: TenantId, id: &str) -> DbResult<Option<ThreatRow>> {
    get_on(&mut db.conn().await?, tenant, id).await
}

pub async fn get_on(conn: &mut Conn, tenant: TenantId, id: &str) -> DbResult<Option<ThreatRow>> {
    let q = Query::select()
        .columns(THREAT_COLUMNS)
        .from(Threats::Table)
        .and_where(Expr::col(Threats::TenantId).eq(tenant))
        .and_where(Expr::col(Threats::Id).eq(id))
        .to_owned();
    conn.fetch_optional(&q).await
}

/// Affected assets of the given threats, nearest first within each.
pub async fn affected(db: &Db, threat_ids: &[String]) -> DbResult<Vec<ThreatAssetRow>> {
    if threat_ids.is_empty() {
        return Ok(vec![]);
    }
    affected_on(&mut db.conn().await?, threat_ids).await
}

/// [`affected`] on a connection the caller already holds.
pub async fn affected_on(conn: &mut Conn, threat_ids: &[String]) -> DbResult<Vec<ThreatAssetRow>> {
    if threat_ids.is_empty() {
        return Ok(vec![]);
    }
    conn.fetch_all(&super::store::affected_select(threat_ids.to_vec()))
        .await
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
) -> DbResult<(Vec<ThreatAssetRow>, Vec<AssetSummary>)> {
    if threat_ids.is_empty() {
        return Ok((vec![], vec![]));
    }
    let assets = Alias::new("assets");
    let cur = |c: &str, alias: &str| {
        (
            Expr::col((assets.clone(), Alias::new(c))),
            Alias::new(alias),
        )
    };
    // `store::affected_select`'s columns and order, qualified: both tables have `asset_id`.
    let ta = |c: ThreatAssets| (ThreatAssets::Table, c);
    let mut q = Query::select();
    q.columns([
        ta(ThreatAssets::ThreatId),
        ta(ThreatAssets::AssetUuid),
        ta(ThreatAssets::AssetId),
        ta(ThreatAssets::AssetName),
        ta(ThreatAssets::AssetType),
        ta(ThreatAssets::DistanceKm),
    ])
    .from(ThreatAssets::Table)
    .and_where(Expr::col(ta(ThreatAssets::ThreatId)).is_in(threat_ids.to_vec()))
    .order_by(ta(ThreatAssets::DistanceKm), Order::Asc)
    .order_by(ta(ThreatAssets::AssetId), Order::Asc);
    for (expr, alias) in [
        cur("asset_id", "cur_asset_id"),
        cur("name", "cur_name"),
        cur("type", "cur_type"),
        cur("lat", "cur_lat"),
        cur("lng", "cur_lng"),
        cur("country", "cur_country"),
        cur("address", "cur_address"),
        cur("monitoring_radius_km", "cur_radius_km"),
    ] {
        q.expr_as(expr, alias);
    }
    q.left_join(
        assets.clone(),
        Cond::all()
            .add(
                Expr::col((assets.clone(), Alias::new("id")))
                    .equals((ThreatAssets::Table, ThreatAssets::AssetUuid)),
            )
            .add(Expr::col((assets.clone(), Alias::new("tenant_id"))).eq(tenant)),
    );
    let rows: Vec<AffectedJoin> = conn.fetch_all(&q).await?;

    let mut summaries: BTreeMap<String, AssetSummary> = BTreeMap::new();
    let mut affected = Vec::with_capacity(rows.len());
    for r in rows {
        if let (Some(asset_id), Some(name), Some(asset_type)) =
            (r.cur_asset_id, r.cur_name, r.cur_type)
        {
            summaries
                .entry(r.asset_uuid.clone())
                .or_insert(AssetSummary {
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
    let mut summaries: Vec<AssetSummary> = summaries.into_values().collect();
    summaries.sort_by(|a, b| a.asset_id.cmp(&b.asset_id));
    Ok((affected, summaries))
}

pub async fn versions(db: &Db, threat_id: &str) -> DbResult<Vec<VersionRow>> {
    let q = Query::select()
        .columns([
            ThreatVersions::Version,
            ThreatVersions::At,
            ThreatVersions::Changes,
            ThreatVersions::Snapshot,
        ])
        .from(ThreatVersions::Table)
        .and_where(Expr::col(ThreatVersions::ThreatId).eq(threat_id))
        .order_by(ThreatVersions::Version, Order::Asc)
        .to_owned();
    db.fetch_all(&q).await
}

pub async fn developments(db: &Db, threat_id: &str) -> DbResult<Vec<DevelopmentRow>> {
    let q = Query::select()
        .columns([
            ThreatDevelopments::Id,
            ThreatDevelopments::Title,
            ThreatDevelopments::At,
            ThreatDevelopments::EventId,
            ThreatDevelopments::Source,
        ])
        .from(ThreatDevelopments::Table)
        .and_where(Expr::col(ThreatDevelopments::ThreatId).eq(threat_id))
        .order_by(ThreatDevelopments::At, Order::Asc)
        .order_by(ThreatDevelopments::Id, Order::Asc)
        .to_owned();
    db.fetch_all(&q).await
}
