//! Read queries of the threats API.

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

fn filtered(tenant: TenantId, f: &Filter) -> SelectStatement {
    let mut q = Query::select();
    q.from(Threats::Table)
        .and_where(Expr::col((Threats::Table, Threats::TenantId)).eq(tenant));
    if !f.asset_keys.is_empty() {
        // Either id form of the asset, as recorded when the threat matched it; driven from
        // the affected-asset index, so a rare asset costs little however many threats exist.
        let sub = Query::select()
            .column(ThreatAssets::ThreatId)
            .from(ThreatAssets::Table)
            .and_where(Expr::col(ThreatAssets::TenantId).eq(tenant))
            .cond_where(
                Cond::any()
                    .add(Expr::col(ThreatAssets::AssetUuid).is_in(f.asset_keys.clone()))
                    .add(Expr::col(ThreatAssets::AssetId).is_in(f.asset_keys.clone())),
            )
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
    let mut count = filtered(tenant, f);
    // COUNT(*), not COUNT(id): the count is then answered from whichever index serves the
    // filters, without reading each row for its id.
    count.expr_as(Expr::col(Asterisk).count(), Alias::new("n"));
    let total = conn.fetch_one::<Count>(&count).await?.n;

    let mut q = filtered(tenant, f);
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
    Ok((conn.fetch_all(&q).await?, total))
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

/// Current summaries of the tenant's assets among `asset_uuids` (deleted ones drop out).
pub async fn asset_summaries(
    conn: &mut Conn,
    tenant: TenantId,
    asset_uuids: &[String],
) -> DbResult<Vec<AssetSummary>> {
    if asset_uuids.is_empty() {
        return Ok(vec![]);
    }
    let q = Query::select()
        .columns(
            [
                "asset_id",
                "name",
                "type",
                "lat",
                "lng",
                "country",
                "address",
                "monitoring_radius_km",
            ]
            .map(Alias::new),
        )
        .from(Alias::new("assets"))
        .and_where(Expr::col(Alias::new("tenant_id")).eq(tenant))
        .and_where(Expr::col(Alias::new("id")).is_in(asset_uuids.to_vec()))
        .order_by(Alias::new("asset_id"), Order::Asc)
        .to_owned();
    conn.fetch_all(&q).await
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
