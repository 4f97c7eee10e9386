//! Changes to threats besides the engine's: analysts' triage and the end of a threat's window.

use picket_core::db::table::TenantTable;
use picket_core::db::{Db, DbResult};
use picket_core::identity::TenantId;
use sea_query::{Expr, Query};

use super::Threats;

/// What `PATCH /v1/threats/{id}` changes; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct Triage<'a> {
    pub status: Option<&'a str>,
    /// `Some(None)` clears the reason.
    pub dismissal_reason: Option<Option<&'a str>>,
    pub pinned: Option<bool>,
}

/// Applies triage to a tenant's threat.
pub async fn triage(
    db: &Db,
    tenant: TenantId,
    id: &str,
    change: &Triage<'_>,
    now: i64,
) -> DbResult<()> {
    let mut q = Threats::update(tenant);
    q.value(Threats::UpdatedAt, now)
        .and_where(Expr::col(Threats::Id).eq(id));
    if let Some(status) = change.status {
        q.value(Threats::Status, status);
    }
    if let Some(reason) = change.dismissal_reason {
        q.value(Threats::DismissalReason, reason.map(str::to_string));
    }
    if let Some(pinned) = change.pinned {
        q.value(Threats::Pinned, pinned);
    }
    db.execute(&q).await.map(|_| ())
}

/// Ends active threats whose window has passed; returns how many.
pub async fn expire(db: &Db, now: i64) -> DbResult<u64> {
    let q = Query::update()
        // Across tenants: expiry is a periodic job over every tenant's threats, by time alone.
        .table(Threats::across_tenants())
        .value(Threats::Status, "ended")
        .value(Threats::UpdatedAt, now)
        .and_where(Expr::col(Threats::Status).is_in(["active", "monitoring"]))
        .and_where(Expr::col(Threats::ExpiresAt).lt(now))
        .to_owned();
    db.execute(&q).await
}
