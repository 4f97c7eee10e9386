//! The corpus as a change feed: events in `(updated_at, id)` order after a cursor, with the
//! columns the threat engine reads. The jobs that keep threats up to date with the corpus
//! page through it.

use picket_core::db::json::JsonText;
use picket_core::db::{Db, DbResult};
use picket_core::identity::TenantId;
use sea_query::{Cond, Expr, Order, Query};

use super::store::Events;

/// The columns of a changed event that the threat engine reads.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChangedEvent {
    pub id: String,
    pub tenant_id: Option<i64>,
    pub title: String,
    pub description: Option<String>,
    pub event_category: String,
    pub event_type: Option<String>,
    pub severity: String,
    pub occurred_at: i64,
    pub location: Option<String>,
    pub location_country: Option<String>,
    pub lat: f64,
    pub lng: f64,
    pub article_count: i64,
    pub data_source: String,
    pub sources: JsonText<Vec<serde_json::Value>>,
    pub updated_at: i64,
}

const COLUMNS: [Events; 16] = [
    Events::Id,
    Events::TenantId,
    Events::Title,
    Events::Description,
    Events::EventCategory,
    Events::EventType,
    Events::Severity,
    Events::OccurredAt,
    Events::Location,
    Events::LocationCountry,
    Events::Lat,
    Events::Lng,
    Events::ArticleCount,
    Events::DataSource,
    Events::Sources,
    Events::UpdatedAt,
];

/// Up to `limit` events of every scope changed after `after` (`(updated_at, id)`).
pub async fn changed_after(db: &Db, after: (i64, &str), limit: u64) -> DbResult<Vec<ChangedEvent>> {
    events_after(db, after, None, limit).await
}

/// Up to `limit` events of `tenant`'s view (global plus its own) that occurred since `since`,
/// after `after` in `(updated_at, id)` order.
pub async fn visible_since(
    db: &Db,
    tenant: TenantId,
    since: i64,
    after: (i64, &str),
    limit: u64,
) -> DbResult<Vec<ChangedEvent>> {
    let scope = Cond::all()
        .add(
            Cond::any()
                .add(Expr::col(Events::TenantId).is_null())
                .add(Expr::col(Events::TenantId).eq(tenant)),
        )
        .add(Expr::col(Events::OccurredAt).gte(since));
    events_after(db, after, Some(scope), limit).await
}

/// Events of a scope, keyset-paged by `(updated_at, id)` after `after`.
async fn events_after(
    db: &Db,
    after: (i64, &str),
    extra: Option<Cond>,
    limit: u64,
) -> DbResult<Vec<ChangedEvent>> {
    let mut q = Query::select();
    q.columns(COLUMNS)
        .from(Events::table())
        // A row-value comparison, which both databases answer with one range scan of the
        // (updated_at, id) index; the equivalent OR made SQLite sort everything after the
        // cursor for every batch.
        .and_where(
            Expr::tuple([
                Expr::col(Events::UpdatedAt).into(),
                Expr::col(Events::Id).into(),
            ])
            .gt(Expr::tuple([after.0.into(), after.1.into()])),
        )
        .order_by(Events::UpdatedAt, Order::Asc)
        .order_by(Events::Id, Order::Asc)
        .limit(limit);
    if let Some(c) = extra {
        q.cond_where(c);
    }
    db.fetch_all(&q).await
}
