//! Delivery rows: one per (notice, channel, target), `pending` until sent (`delivered`) or out
//! of attempts (`failed`), with `attempts`, `last_error` and `next_attempt_at`. The rows are
//! the durable part of retrying: a worker claims due rows by moving their `next_attempt_at`
//! past a lease, so two workers never send the same row, and a worker that dies leaves its
//! rows to be claimed again when the lease runs out.

use std::collections::HashMap;

use picket_core::db::schema::{OnDelete, Table};
use picket_core::db::table::TenantTable;
use picket_core::db::{Db, DbResult, Tx};
use picket_core::identity::TenantId;
use picket_core::time::serde_rfc3339;
use sea_query::{Expr, Order, Query};
use serde::Serialize;
use utoipa::ToSchema;

picket_core::table! {
    pub(crate) enum Deliveries in "deliveries", tenant_owned {
        Id: Text .primary_key(),
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        // What it is about (alert, incident, network alert, or the webhook for a ping).
        Subject: Text,
        EventType: Text,
        // `webhook`, `slack`, `email`, `sms`.
        Channel: Text,
        // The webhook id, the Slack URL, the e-mail address or the phone number.
        Target: Text,
        // What is sent: the webhook envelope, the Slack message, the e-mail or SMS text.
        Body: Text,
        Status: Text,
        Attempts: BigInt .default("0"),
        LastError: Text .nullable(),
        NextAttemptAt: BigInt,
        CreatedAt: BigInt,
        UpdatedAt: BigInt,
    }
    indexes {
        index deliveries_tenant_subject (TenantId, Subject),
        index deliveries_due (Status, NextAttemptAt),
    }
}

pub const TABLES: &[Table] = &[Deliveries::DECLARED];

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

/// How long a claimed row is left to its worker before another may claim it.
const LEASE_MS: i64 = 10 * 60 * 1000;

/// Delays before each retry: after the first failure 1 min, then 5 min, 30 min, 2 h, 12 h;
/// a sixth failure is final.
pub const RETRY_DELAYS_MS: [i64; 5] = [60_000, 300_000, 1_800_000, 7_200_000, 43_200_000];

/// When to try again after `attempts` attempts have failed, or `None` when that was the last.
pub fn next_retry(attempts: i64, now: i64) -> Option<i64> {
    let i = usize::try_from(attempts.max(1) - 1).ok()?;
    RETRY_DELAYS_MS.get(i).map(|d| now + d)
}

/// A delivery to write.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: String,
    pub tenant: TenantId,
    pub subject: String,
    pub event_type: String,
    pub channel: &'static str,
    pub target: String,
    pub body: String,
}

/// Rows per INSERT (13 parameters a row stays far below either backend's limit).
const INSERT_CHUNK: usize = 200;

/// Writes `rows` in the caller's transaction, due at `now`: one multi-row INSERT per tenant
/// and chunk.
pub async fn insert(tx: &mut Tx, rows: &[NewDelivery], now: i64) -> DbResult<()> {
    let mut by_tenant: Vec<(TenantId, Vec<&NewDelivery>)> = Vec::new();
    for r in rows {
        match by_tenant.iter_mut().find(|(t, _)| *t == r.tenant) {
            Some((_, v)) => v.push(r),
            None => by_tenant.push((r.tenant, vec![r])),
        }
    }
    for (tenant, rows) in by_tenant {
        for chunk in rows.chunks(INSERT_CHUNK) {
            let values = |r: &NewDelivery| {
                vec![
                    (Deliveries::Id, r.id.clone().into()),
                    (Deliveries::Subject, r.subject.clone().into()),
                    (Deliveries::EventType, r.event_type.clone().into()),
                    (Deliveries::Channel, r.channel.into()),
                    (Deliveries::Target, r.target.clone().into()),
                    (Deliveries::Body, r.body.clone().into()),
                    (Deliveries::Status, PENDING.into()),
                    (Deliveries::Attempts, 0i64.into()),
                    (Deliveries::NextAttemptAt, now.into()),
                    (Deliveries::CreatedAt, now.into()),
                    (Deliveries::UpdatedAt, now.into()),
                ]
            };
            let mut q = Deliveries::insert(tenant, values(chunk[0]));
            for r in &chunk[1..] {
                let mut row: Vec<sea_query::SimpleExpr> = vec![tenant.0.into()];
                row.extend(values(r).into_iter().map(|(_, v)| v));
                q.values_panic(row);
            }
            tx.execute(&q).await?;
        }
    }
    Ok(())
}

/// A claimed row, ready to send.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: String,
    pub tenant_id: i64,
    pub subject: String,
    pub event_type: String,
    pub channel: String,
    pub target: String,
    pub body: String,
    pub attempts: i64,
    pub created_at: i64,
}

/// Claims up to `limit` due rows of every tenant for this worker until the lease runs out.
pub async fn claim(db: &Db, now: i64, limit: u64) -> DbResult<Vec<Claimed>> {
    // Across tenants: the delivery worker sends every tenant's due rows; each row carries its
    // tenant, and what it sends was chosen for that tenant when it was enqueued.
    let table = Deliveries::across_tenants();
    let due = Query::select()
        .column(Deliveries::Id)
        .from(table)
        .and_where(Expr::col(Deliveries::Status).eq(PENDING))
        .and_where(Expr::col(Deliveries::NextAttemptAt).lte(now))
        .order_by(Deliveries::NextAttemptAt, Order::Asc)
        .order_by(Deliveries::Id, Order::Asc)
        .limit(limit)
        .to_owned();
    let ids: Vec<(String,)> = db.fetch_all(&due).await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // The due condition again: a row another worker claimed meanwhile is no longer due, so
    // this UPDATE skips it (PostgreSQL re-checks the condition on the row it waited for).
    let q = Query::update()
        .table(table)
        .values([
            (Deliveries::NextAttemptAt, (now + LEASE_MS).into()),
            (Deliveries::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Deliveries::Id).is_in(ids.into_iter().map(|r| r.0)))
        .and_where(Expr::col(Deliveries::Status).eq(PENDING))
        .and_where(Expr::col(Deliveries::NextAttemptAt).lte(now))
        .returning(Query::returning().columns([
            Deliveries::Id,
            Deliveries::TenantId,
            Deliveries::Subject,
            Deliveries::EventType,
            Deliveries::Channel,
            Deliveries::Target,
            Deliveries::Body,
            Deliveries::Attempts,
            Deliveries::CreatedAt,
        ]))
        .to_owned();
    db.fetch_all(&q).await
}

/// How long finished rows (delivered or failed) are kept: an alert's `deliveries` shows its
/// outcomes for this long after the last attempt.
pub const KEEP_FINISHED_MS: i64 = 90 * 86_400_000;

/// Rows deleted per statement by [`prune`], so pruning never holds the writer for long.
const PRUNE_BATCH: u64 = 5_000;

/// Deletes finished rows whose last attempt is older than `before` (Unix ms), in batches;
/// returns how many went. Pending rows are never pruned.
pub async fn prune(db: &Db, before: i64) -> DbResult<u64> {
    let mut total = 0;
    loop {
        // Across tenants: retention is the operator's, the same for every tenant.
        let old = Query::select()
            .column(Deliveries::Id)
            .from(Deliveries::across_tenants())
            .and_where(Expr::col(Deliveries::Status).is_in([DELIVERED, FAILED]))
            .and_where(Expr::col(Deliveries::UpdatedAt).lt(before))
            .limit(PRUNE_BATCH)
            .to_owned();
        let ids: Vec<(String,)> = db.fetch_all(&old).await?;
        if ids.is_empty() {
            return Ok(total);
        }
        let q = Query::delete()
            .from_table(Deliveries::across_tenants())
            .and_where(Expr::col(Deliveries::Id).is_in(ids.into_iter().map(|r| r.0)))
            .and_where(Expr::col(Deliveries::Status).is_in([DELIVERED, FAILED]))
            .to_owned();
        total += db.execute(&q).await?;
    }
}

/// Marks rows delivered (one attempt more each).
pub async fn delivered(db: &Db, ids: &[String], now: i64) -> DbResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    // Across tenants: the worker records the outcome of rows it claimed, by their ids.
    let q = Query::update()
        .table(Deliveries::across_tenants())
        .values([
            (Deliveries::Status, DELIVERED.into()),
            (Deliveries::Attempts, Expr::col(Deliveries::Attempts).add(1)),
            (Deliveries::LastError, Option::<String>::None.into()),
            (Deliveries::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Deliveries::Id).is_in(ids.iter().cloned()))
        .to_owned();
    db.execute(&q).await.map(|_| ())
}

/// Records a failed attempt: pending again at `retry_at`, or `failed` when `None`.
pub async fn attempt_failed(
    db: &Db,
    id: &str,
    attempts: i64,
    error: &str,
    retry_at: Option<i64>,
    now: i64,
) -> DbResult<()> {
    let (status, next) = match retry_at {
        Some(at) => (PENDING, at),
        None => (FAILED, now),
    };
    // Across tenants: the worker records the outcome of a row it claimed, by its id.
    let q = Query::update()
        .table(Deliveries::across_tenants())
        .values([
            (Deliveries::Status, status.into()),
            (Deliveries::Attempts, attempts.into()),
            (
                Deliveries::LastError,
                error.chars().take(1000).collect::<String>().into(),
            ),
            (Deliveries::NextAttemptAt, next.into()),
            (Deliveries::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Deliveries::Id).eq(id))
        .to_owned();
    db.execute(&q).await.map(|_| ())
}

/// One delivery's outcome, as an alert's `deliveries` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DeliveryView {
    /// `webhook`, `slack`, `email` or `sms`.
    pub channel: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ViewRow {
    id: String,
    subject: String,
    event_type: String,
    channel: String,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    next_attempt_at: i64,
    created_at: i64,
    updated_at: i64,
}

const VIEW_COLUMNS: [Deliveries; 10] = [
    Deliveries::Id,
    Deliveries::Subject,
    Deliveries::EventType,
    Deliveries::Channel,
    Deliveries::Status,
    Deliveries::Attempts,
    Deliveries::LastError,
    Deliveries::NextAttemptAt,
    Deliveries::CreatedAt,
    Deliveries::UpdatedAt,
];

async fn rows_for(db: &Db, tenant: TenantId, subjects: &[String]) -> DbResult<Vec<ViewRow>> {
    let mut out = Vec::new();
    for chunk in subjects.chunks(500) {
        let q = Deliveries::select(tenant)
            .columns(VIEW_COLUMNS)
            .and_where(Expr::col(Deliveries::Subject).is_in(chunk.iter().cloned()))
            .order_by(Deliveries::CreatedAt, Order::Asc)
            .order_by(Deliveries::Id, Order::Asc)
            .to_owned();
        out.extend(db.fetch_all::<ViewRow>(&q).await?);
    }
    Ok(out)
}

/// The deliveries of each of `subjects` (of `tenant`), oldest first; subjects without any
/// are absent from the map.
pub async fn views(
    db: &Db,
    tenant: TenantId,
    subjects: &[String],
) -> DbResult<HashMap<String, Vec<DeliveryView>>> {
    let mut out: HashMap<String, Vec<DeliveryView>> = HashMap::new();
    for r in rows_for(db, tenant, subjects).await? {
        out.entry(r.subject).or_default().push(DeliveryView {
            channel: r.channel,
            status: r.status,
            attempts: r.attempts,
            last_error: r.last_error,
        });
    }
    Ok(out)
}

/// A delivery in full, as `GET /v1/webhooks/{id}/deliveries` lists them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryRecord {
    pub id: String,
    pub event_type: String,
    pub channel: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// When the next attempt is due (pending deliveries only).
    #[serde(serialize_with = "serde_rfc3339::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<i64>,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[serde(serialize_with = "serde_rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

/// A webhook's deliveries, newest first, at most `limit`.
pub async fn of_webhook(
    db: &Db,
    tenant: TenantId,
    webhook_id: &str,
    limit: u64,
) -> DbResult<Vec<DeliveryRecord>> {
    let q = Deliveries::select(tenant)
        .columns(VIEW_COLUMNS)
        .and_where(Expr::col(Deliveries::Channel).eq("webhook"))
        .and_where(Expr::col(Deliveries::Target).eq(webhook_id))
        .order_by(Deliveries::CreatedAt, Order::Desc)
        .order_by(Deliveries::Id, Order::Desc)
        .limit(limit)
        .to_owned();
    let rows: Vec<ViewRow> = db.fetch_all(&q).await?;
    Ok(rows
        .into_iter()
        .map(|r| DeliveryRecord {
            next_attempt_at: (r.status == PENDING).then_some(r.next_attempt_at),
            id: r.id,
            event_type: r.event_type,
            channel: r.channel,
            status: r.status,
            attempts: r.attempts,
            last_error: r.last_error,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_schedule_then_stop() {
        let mins = |a| next_retry(a, 0).map(|t| t / 60_000);
        assert_eq!(mins(1), Some(1));
        assert_eq!(mins(2), Some(5));
        assert_eq!(mins(3), Some(30));
        assert_eq!(mins(4), Some(120));
        assert_eq!(mins(5), Some(720));
        assert_eq!(mins(6), None);
    }
}
