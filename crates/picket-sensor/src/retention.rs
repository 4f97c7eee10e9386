//! Retention (§10.4): a periodic job deletes rows older than each dataset's `[retention]`
//! days in bounded batches and rebuilds the aggregates they touched.
//!
//! * `metadata_days`: DNS, TCP, DHCP and HTTP metadata, by record time; the 15-minute DNS
//!   and TCP aggregate buckets the deleted rows fell in are recomputed from the rows left.
//! * `alerts_days`: network alerts (with their captures) and server alerts, by alert time.
//! * `captures_days`: captures, by when they were stored, whatever their alert's age.
//!
//! `0` keeps a dataset forever. Each tenant's rows go oldest first, at most [`BATCH`] rows per
//! transaction, so a first run over a year of data never holds a long lock, and whatever the
//! job has committed is consistent: the aggregates of a committed batch match its raw rows,
//! as after a data-delete request. The job runs every [`EVERY`], one run at a time across
//! servers (the job queue's dedupe key).

use std::time::Duration;

use picket_core::db::table::{OwnedTable, TenantTable};
use picket_core::db::{counts, Db, DbResult};
use picket_core::identity::{store, TenantId};
use picket_core::jobs::{JobRegistry, NewJob};
use picket_core::time::now_ms;
use picket_netmon::data::aggregates::{self, Aggregate};
use picket_netmon::datasets::{
    DhcpRecords, DnsRecords, HttpRecords, NetworkAlerts, NetworkPcaps, ServerAlerts, TcpRecords,
};
use sea_query::{Alias, Expr, Order};

/// The job kind.
pub const PRUNE: &str = "retention.prune";
/// How often the job runs.
pub const EVERY: Duration = Duration::from_secs(15 * 60);
/// Rows deleted per transaction.
pub const BATCH: u64 = 10_000;
const DAY_MS: i64 = 86_400_000;

pub fn register_jobs(r: &mut JobRegistry) {
    r.register(PRUNE, |s, _| async move {
        let report = prune(&s.db, &s.config.retention, now_ms()).await?;
        for (key, n) in &report.deleted {
            if *n > 0 {
                tracing::info!(dataset = key, rows = n, "retention deleted old rows");
            }
        }
        Ok(())
    });
    r.every(PRUNE, EVERY);
}

/// The job, for an operator or a test to enqueue now.
pub fn prune_job() -> NewJob {
    NewJob::new(PRUNE, serde_json::json!({})).dedupe(PRUNE)
}

/// One pruned dataset: its table, what its age is read from, and its aggregate.
struct Set {
    /// The data-management dataset key (`captures` for captures).
    key: &'static str,
    table: &'static picket_core::db::schema::Table,
    time: &'static str,
    aggregate: Option<Aggregate>,
    /// Network alerts take their captures along.
    owns_captures: bool,
}

const METADATA: [Set; 4] = [
    Set {
        key: "dns_metadata",
        table: &DnsRecords::DECLARED,
        time: "ts",
        aggregate: Some(aggregates::DNS),
        owns_captures: false,
    },
    Set {
        key: "tcp_metadata",
        table: &TcpRecords::DECLARED,
        time: "ts",
        aggregate: Some(aggregates::TCP),
        owns_captures: false,
    },
    Set {
        key: "dhcp_metadata",
        table: &DhcpRecords::DECLARED,
        time: "ts",
        aggregate: None,
        owns_captures: false,
    },
    Set {
        key: "http_metadata",
        table: &HttpRecords::DECLARED,
        time: "ts",
        aggregate: None,
        owns_captures: false,
    },
];

const ALERTS: [Set; 2] = [
    Set {
        key: "network_alerts",
        table: &NetworkAlerts::DECLARED,
        time: "ts",
        aggregate: None,
        owns_captures: true,
    },
    Set {
        key: "syslog_alerts",
        table: &ServerAlerts::DECLARED,
        time: "ts",
        aggregate: None,
        owns_captures: false,
    },
];

const CAPTURES: Set = Set {
    key: "captures",
    table: &NetworkPcaps::DECLARED,
    time: "created_at",
    aggregate: None,
    owns_captures: false,
};

/// Rows deleted per dataset by one run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub deleted: Vec<(&'static str, u64)>,
}

impl Pruned {
    pub fn of(&self, key: &str) -> u64 {
        self.deleted
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, n)| n)
            .sum()
    }
}

/// Deletes what `[retention]` no longer keeps as of `now` (Unix ms), tenant by tenant.
pub async fn prune(
    db: &Db,
    days: &picket_core::config::RetentionConfig,
    now: i64,
) -> DbResult<Pruned> {
    let mut plan: Vec<(&Set, u32)> = Vec::new();
    plan.extend(METADATA.iter().map(|s| (s, days.metadata_days)));
    plan.extend(ALERTS.iter().map(|s| (s, days.alerts_days)));
    plan.push((&CAPTURES, days.captures_days));
    plan.retain(|(_, d)| *d > 0);
    let mut out = Pruned::default();
    if plan.is_empty() {
        return Ok(out);
    }
    for tenant in store::list_tenants(db).await? {
        for (set, d) in &plan {
            let cutoff = now - i64::from(*d) * DAY_MS;
            let n = prune_set(db, set, tenant.id, cutoff).await?;
            out.deleted.push((set.key, n));
        }
    }
    Ok(out)
}

#[derive(sqlx::FromRow)]
struct Doomed {
    id: i64,
    t: i64,
}

/// Deletes the tenant's rows of `set` older than `cutoff`, [`BATCH`] per transaction.
async fn prune_set(db: &Db, set: &Set, tenant: TenantId, cutoff: i64) -> DbResult<u64> {
    let table = OwnedTable::new(set.table);
    let mut total = 0;
    loop {
        let mut tx = db.begin().await?;
        // The oldest rows first, over the `(tenant_id, ts)` index.
        let pick = table
            .select(tenant)
            .column(table.col("id"))
            .expr_as(Expr::col(table.col(set.time)), Alias::new("t"))
            .and_where(Expr::col(table.col(set.time)).lt(cutoff))
            .order_by(table.col(set.time), Order::Asc)
            .limit(BATCH)
            .to_owned();
        let rows: Vec<Doomed> = tx.fetch_all(&pick).await?;
        if rows.is_empty() {
            // Ended, not dropped: a dropped transaction stays open on its pooled connection
            // (holding its locks) until that connection is next used.
            tx.commit().await?;
            break;
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        if set.owns_captures {
            tx.execute(
                NetworkPcaps::delete(tenant)
                    .and_where(Expr::col(NetworkPcaps::AlertId).is_in(ids.iter().copied())),
            )
            .await?;
        }
        let n = tx
            .execute(
                table
                    .delete(tenant)
                    .and_where(Expr::col(table.col("id")).is_in(ids.iter().copied())),
            )
            .await?;
        if let Some(agg) = &set.aggregate {
            let (from, to) = (rows[0].t, rows[rows.len() - 1].t);
            aggregates::rebuild(&mut tx, agg, tenant, from, to).await?;
        }
        tx.commit().await?;
        total += n;
        if (rows.len() as u64) < BATCH {
            break;
        }
    }
    if total > 0 {
        // The deleted days' count rows are left at zero by the count triggers.
        let mut tx = db.begin().await?;
        counts::forget_empty(&mut tx, tenant, set.table.name).await?;
        tx.commit().await?;
    }
    Ok(total)
}
