//! The reads a landscape report is made from: a tenant's threats of a window (streamed in
//! pages), their counts per affected asset, and the incidents opened or resolved in it. These
//! aggregate over the threat and incident tables in ways no API read does, so they live with
//! the report that needs them; each statement starts from the tenant-scoped tables.

use picket_core::db::table::TenantTable;
use picket_core::db::{Db, DbResult};
use picket_core::identity::TenantId;
use sea_query::{Alias, Asterisk, Cond, Expr, Func, JoinType, Order, SelectStatement};

use crate::incidents::store::{IncidentThreats, Incidents};
use crate::threats::store::{ThreatAssets, Threats};

/// Threats read per statement.
const PAGE: u64 = 10_000;

/// What a landscape needs of one threat.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WindowThreat {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub category: String,
    pub threat_type: String,
    pub status: String,
    pub location: String,
    pub location_country: Option<String>,
    pub observed_at: i64,
    pub lat: f64,
    pub lng: f64,
    pub risk_score: f64,
}

/// The window and scope of a landscape: threats observed in `[from, to]`, not dismissed,
/// affecting any asset (`assets` is `None`) or one of the given assets (server ids).
#[derive(Debug, Clone)]
pub struct Window<'a> {
    pub from: i64,
    pub to: i64,
    pub assets: Option<&'a [String]>,
}

impl Window<'_> {
    /// The ids of the threats affecting the scoped assets.
    fn scoped_threats(&self, tenant: TenantId, assets: &[String]) -> SelectStatement {
        ThreatAssets::select(tenant)
            .column(ThreatAssets::ThreatId)
            .and_where(Expr::col(ThreatAssets::AssetUuid).is_in(assets.iter().cloned()))
            .to_owned()
    }

    fn threats(&self, tenant: TenantId) -> SelectStatement {
        let mut q = Threats::select(tenant);
        q.and_where(Expr::col(Threats::col(Threats::ObservedAt)).gte(self.from))
            .and_where(Expr::col(Threats::col(Threats::ObservedAt)).lte(self.to))
            .and_where(Expr::col(Threats::col(Threats::Status)).ne("dismissed"));
        if let Some(assets) = self.assets {
            q.and_where(
                Expr::col(Threats::col(Threats::Id))
                    .in_subquery(self.scoped_threats(tenant, assets)),
            );
        }
        q
    }
}

/// Calls `each` with every threat of the window, oldest first, a page at a time (a landscape
/// may cover a hundred thousand threats; only the aggregates are kept).
pub async fn each_threat(
    db: &Db,
    tenant: TenantId,
    window: &Window<'_>,
    mut each: impl FnMut(WindowThreat),
) -> DbResult<u64> {
    let mut after: Option<(i64, String)> = None;
    let mut n = 0;
    loop {
        let mut q = window.threats(tenant);
        q.columns(
            [
                Threats::Id,
                Threats::Title,
                Threats::Severity,
                Threats::Category,
                Threats::ThreatType,
                Threats::Status,
                Threats::Location,
                Threats::LocationCountry,
                Threats::ObservedAt,
                Threats::Lat,
                Threats::Lng,
                Threats::RiskScore,
            ]
            .map(Threats::col),
        );
        if let Some((at, id)) = &after {
            q.cond_where(
                Cond::any()
                    .add(Expr::col(Threats::col(Threats::ObservedAt)).gt(*at))
                    .add(
                        Cond::all()
                            .add(Expr::col(Threats::col(Threats::ObservedAt)).eq(*at))
                            .add(Expr::col(Threats::col(Threats::Id)).gt(id.clone())),
                    ),
            );
        }
        q.order_by(Threats::col(Threats::ObservedAt), Order::Asc)
            .order_by(Threats::col(Threats::Id), Order::Asc)
            .limit(PAGE);
        let rows: Vec<WindowThreat> = db.fetch_all(&q).await?;
        let len = rows.len() as u64;
        if let Some(last) = rows.last() {
            after = Some((last.observed_at, last.id.clone()));
        }
        for r in rows {
            each(r);
        }
        n += len;
        if len < PAGE {
            return Ok(n);
        }
    }
}

/// Threats of the window affecting one asset, of one severity and category.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssetCount {
    pub asset_uuid: String,
    pub asset_id: String,
    pub asset_name: String,
    pub severity: String,
    pub category: String,
    pub n: i64,
}

/// Counts of the window's threats per affected asset, severity and category (a threat
/// affecting three assets counts once for each).
pub async fn asset_counts(
    db: &Db,
    tenant: TenantId,
    window: &Window<'_>,
) -> DbResult<Vec<AssetCount>> {
    let ta = ThreatAssets::col;
    let th = Threats::col;
    let mut q = ThreatAssets::select(tenant);
    q.column(ta(ThreatAssets::AssetUuid))
        .expr_as(
            Func::max(Expr::col(ta(ThreatAssets::AssetId))),
            Alias::new("asset_id"),
        )
        .expr_as(
            Func::max(Expr::col(ta(ThreatAssets::AssetName))),
            Alias::new("asset_name"),
        )
        .column(th(Threats::Severity))
        .column(th(Threats::Category))
        .expr_as(Expr::col(Asterisk).count(), Alias::new("n"));
    Threats::join(
        &mut q,
        JoinType::InnerJoin,
        tenant,
        Cond::all().add(Expr::col(th(Threats::Id)).equals(ta(ThreatAssets::ThreatId))),
    );
    q.and_where(Expr::col(th(Threats::ObservedAt)).gte(window.from))
        .and_where(Expr::col(th(Threats::ObservedAt)).lte(window.to))
        .and_where(Expr::col(th(Threats::Status)).ne("dismissed"));
    if let Some(assets) = window.assets {
        q.and_where(Expr::col(ta(ThreatAssets::AssetUuid)).is_in(assets.iter().cloned()));
    }
    q.group_by_col(ta(ThreatAssets::AssetUuid))
        .group_by_col(th(Threats::Severity))
        .group_by_col(th(Threats::Category));
    db.fetch_all(&q).await
}

/// An incident opened or resolved in a window.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WindowIncident {
    pub id: String,
    pub title: String,
    pub status: String,
    pub scope: String,
    pub created_at: i64,
    pub resolved_at: Option<i64>,
}

/// The tenant's incidents created or resolved in the window, newest first; with a scope,
/// only those linking a threat that affects a scoped asset.
pub async fn incidents(
    db: &Db,
    tenant: TenantId,
    window: &Window<'_>,
) -> DbResult<Vec<WindowIncident>> {
    let ic = Incidents::col;
    let mut q = Incidents::select(tenant);
    q.columns(
        [
            Incidents::Id,
            Incidents::Title,
            Incidents::Status,
            Incidents::Scope,
            Incidents::CreatedAt,
            Incidents::ResolvedAt,
        ]
        .map(ic),
    )
    .cond_where(
        Cond::any()
            .add(
                Cond::all()
                    .add(Expr::col(ic(Incidents::CreatedAt)).gte(window.from))
                    .add(Expr::col(ic(Incidents::CreatedAt)).lte(window.to)),
            )
            .add(
                Cond::all()
                    .add(Expr::col(ic(Incidents::ResolvedAt)).gte(window.from))
                    .add(Expr::col(ic(Incidents::ResolvedAt)).lte(window.to)),
            ),
    );
    if let Some(assets) = window.assets {
        let linked = IncidentThreats::select(tenant)
            .column(IncidentThreats::IncidentId)
            .and_where(
                Expr::col(IncidentThreats::ThreatId)
                    .in_subquery(window.scoped_threats(tenant, assets)),
            )
            .to_owned();
        q.and_where(Expr::col(ic(Incidents::Id)).in_subquery(linked));
    }
    q.order_by(ic(Incidents::CreatedAt), Order::Desc)
        .order_by(ic(Incidents::Id), Order::Desc);
    db.fetch_all(&q).await
}
