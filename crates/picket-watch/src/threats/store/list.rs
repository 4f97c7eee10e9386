//! `GET /v1/threats`: one page of a tenant's threats under filters, and the count of all.

use picket_core::db::counts::{self, CountFilter};
use picket_core::db::table::TenantTable;
use picket_core::db::{Conn, DbResult};
use picket_core::identity::TenantId;
use sea_query::{Alias, Asterisk, Cond, Expr, Order, SelectStatement};

use super::{severity_rank, ThreatAssets, ThreatRow, Threats, THREAT_COLUMNS};

/// The sort fields of a threat list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    ObservedAt,
    RiskScore,
    UpdatedAt,
    /// By severity, most severe first when descending.
    Severity,
}

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
    pub sort: Sort,
    pub descending: bool,
}

/// The assets a filter's `asset_id` values name: the server ids of the tenant's current assets
/// (so a renamed asset's older threats are found by its new `asset_id`), and the keys that name
/// no current asset, matched against the ids recorded on the threats (a deleted asset's).
#[derive(Debug, Default)]
struct AssetKeys {
    uuids: Vec<String>,
    recorded: Vec<String>,
}

async fn asset_keys(
    conn: &mut Conn,
    tenant: TenantId,
    asset_keys: &[String],
) -> DbResult<AssetKeys> {
    let mut keys = AssetKeys::default();
    let resolved = crate::assets::store::resolve_keys(conn, tenant, asset_keys).await?;
    for (key, uuid) in asset_keys.iter().zip(resolved) {
        match uuid {
            Some(uuid) => keys.uuids.push(uuid),
            None => keys.recorded.push(key.clone()),
        }
    }
    Ok(keys)
}

/// The ids of threats affecting the named assets. Driven from the affected-asset index, so a
/// rare asset costs little however many threats exist.
fn affecting_select(tenant: TenantId, assets: &AssetKeys) -> SelectStatement {
    let mut uuids = assets.uuids.clone();
    uuids.extend(assets.recorded.iter().cloned());
    let mut which = Cond::any().add(Expr::col(ThreatAssets::AssetUuid).is_in(uuids));
    if !assets.recorded.is_empty() {
        which = which.add(Expr::col(ThreatAssets::AssetId).is_in(assets.recorded.clone()));
    }
    ThreatAssets::select(tenant)
        .column(ThreatAssets::ThreatId)
        .cond_where(which)
        .to_owned()
}

/// The ids of the tenant's threats affecting the assets `keys` name, as a subquery.
pub(super) async fn affecting(
    conn: &mut Conn,
    tenant: TenantId,
    keys: &[String],
) -> DbResult<SelectStatement> {
    let assets = asset_keys(conn, tenant, keys).await?;
    Ok(affecting_select(tenant, &assets))
}

fn filtered(tenant: TenantId, f: &Filter, assets: &AssetKeys) -> SelectStatement {
    let mut q = Threats::select(tenant);
    if !f.asset_keys.is_empty() {
        let sub = affecting_select(tenant, assets);
        q.and_where(Expr::col(Threats::col(Threats::Id)).in_subquery(sub));
    }
    if !f.severities.is_empty() {
        // Through `severity_rank`, which leads the (tenant_id, severity_rank, observed_at)
        // index, instead of reading every row of the tenant for its severity text.
        let ranks: Vec<i64> = f.severities.iter().map(|s| severity_rank(s)).collect();
        q.and_where(Expr::col(Threats::col(Threats::SeverityRank)).is_in(ranks));
    }
    if !f.statuses.is_empty() {
        q.and_where(Expr::col(Threats::col(Threats::Status)).is_in(f.statuses.clone()));
    }
    if !f.threat_types.is_empty() {
        q.and_where(Expr::col(Threats::col(Threats::ThreatType)).is_in(f.threat_types.clone()));
    }
    if let Some(p) = f.pinned {
        q.and_where(Expr::col(Threats::col(Threats::Pinned)).eq(p));
    }
    if let Some(t) = f.observed_from {
        q.and_where(Expr::col(Threats::col(Threats::ObservedAt)).gte(t));
    }
    if let Some(t) = f.observed_to {
        q.and_where(Expr::col(Threats::col(Threats::ObservedAt)).lte(t));
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
    let assets = asset_keys(conn, tenant, &f.asset_keys).await?;
    let mut q = filtered(tenant, f, &assets);
    q.columns(THREAT_COLUMNS.map(Threats::col));
    let desc = f.descending;
    let dir = if desc { Order::Desc } else { Order::Asc };
    let counted = f.asset_keys.is_empty() && f.threat_types.is_empty() && f.pinned.is_none();
    // Severity, status and the observed range: the counts kept with the threats answer whole
    // days, and the partial days at the range's edges are counted from the rows.
    let counting = CountFilter {
        dataset: Threats::DECLARED.name,
        ints: f.severities.iter().map(|s| severity_rank(s)).collect(),
        texts: f.statuses.clone(),
        ..Default::default()
    };
    let segments = if counted {
        let edge = |a: i64, b: i64| {
            filtered(tenant, f, &assets)
                .expr_as(Expr::col(Asterisk).count(), Alias::new("n"))
                .and_where(Expr::col(Threats::col(Threats::ObservedAt)).between(a, b))
                .to_owned()
        };
        Some(
            counts::segments(
                conn,
                tenant,
                &counting,
                f.observed_from,
                f.observed_to,
                edge,
            )
            .await?,
        )
    } else {
        None
    };
    // The counts say the page is empty (no match, or a page past the last): no rows to read.
    // A filter by a rare status walks the default sort's index until the page is full, which
    // with no match at all is every threat of the tenant.
    if let Some(s) = segments
        .as_ref()
        .filter(|s| f.offset >= s.total.max(0) as u64)
    {
        return Ok((vec![], s.total));
    }
    let mut offset = f.offset;
    match f.sort {
        Sort::ObservedAt => {
            // A deep page by time seeks to the hour it starts in instead of skipping rows.
            let seek = match segments.as_ref().filter(|_| f.offset > 0) {
                Some(s) => {
                    s.seek_by_hour(conn, tenant, &counting, f.offset as i64, &dir)
                        .await?
                }
                None => None,
            };
            if let Some(seek) = seek {
                let at = Expr::col(Threats::col(Threats::ObservedAt));
                q.and_where(if desc { at.lte(seek.0) } else { at.gte(seek.0) });
                offset = seek.1 as u64;
            }
            q.order_by(Threats::col(Threats::ObservedAt), dir.clone())
        }
        Sort::RiskScore => q.order_by(Threats::col(Threats::RiskScore), dir.clone()),
        Sort::UpdatedAt => q.order_by(Threats::col(Threats::UpdatedAt), dir.clone()),
        // Rank 0 is critical: "descending severity" is ascending rank.
        Sort::Severity => q.order_by(
            Threats::col(Threats::SeverityRank),
            if desc { Order::Asc } else { Order::Desc },
        ),
    };
    q.order_by(Threats::col(Threats::Id), dir)
        .limit(f.limit)
        .offset(offset);
    let rows: Vec<ThreatRow> = conn.fetch_all(&q).await?;
    if let Some(s) = segments {
        return Ok((rows, s.total));
    }

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
