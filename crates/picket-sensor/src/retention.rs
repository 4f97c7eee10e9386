//! Retention (§10.4): a periodic job deletes rows older than each dataset's `[retention]`
//! days in bounded batches and rebuilds the aggregates they touched.
//!
//! * `metadata_days`: DNS, TCP, DHCP and HTTP metadata, by record time; the 15-minute DNS
//!   and TCP aggregate buckets the deleted rows fell in are recomputed from the rows left.
//! * `alerts_days`: network alerts (with their captures) and server alerts, by alert time.
//! * `captures_days`: captures, by when they were stored, whatever their alert's age.
//!
//! On PostgreSQL, where the datasets are split into one table per UTC week
//! (`picket_core::db::partitions`), retention works in whole weeks: a week's partition is
//! dropped, with its counts, captures and aggregates, once the whole week is older than the
//! dataset's days, so rows stay up to a week longer than on SQLite, where they are deleted to
//! the millisecond. Rows of days without a partition (in the default partition) are deleted
//! to the millisecond there too.
//!
//! `0` keeps a dataset forever. Each tenant's rows go oldest first, at most [`BATCH`] rows per
//! transaction, so a first run over a year of data never holds a long lock, and whatever the
//! job has committed is consistent: the aggregates of a committed batch match its raw rows,
//! as after a data-delete request. The job runs every [`EVERY`], one run at a time across
//! servers (the job queue's dedupe key).

use std::time::Duration;

use picket_core::db::table::{OwnedTable, TenantTable};
use picket_core::db::{counts, partitions, Db, DbResult};
use picket_core::identity::{store, TenantId};
use picket_core::jobs::{JobRegistry, NewJob};
use picket_core::time::now_ms;
use picket_netmon::data::aggregates::{self, Aggregate};
use picket_netmon::datasets::{
    DhcpRecords, DnsRecords, HttpRecords, NetworkAlerts, NetworkPcaps, ServerAlerts, TcpRecords,
    PARTITIONED,
};
use sea_query::{Alias, Expr, Order, Query};

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
    r.register(PARTITIONS, |s, _| async move {
        let done = partitions::maintain(&s.db, PARTITIONED, now_ms()).await?;
        if done.created > 0 {
            tracing::info!(created = done.created, "week partitions made ready");
        }
        Ok(())
    });
    r.every(PARTITIONS, PARTITIONS_EVERY);
}

/// The job that keeps the datasets' week partitions ready on PostgreSQL (this week's and the
/// next, and those of days the default partition holds rows of); nothing on SQLite.
pub const PARTITIONS: &str = "partitions.maintain";
/// How often it runs.
pub const PARTITIONS_EVERY: Duration = Duration::from_secs(3600);

/// The partition job, for an operator or a test to enqueue now.
pub fn partitions_job() -> NewJob {
    NewJob::new(PARTITIONS, serde_json::json!({})).dedupe(PARTITIONS)
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
    let mut plan: Vec<(&'static Set, u32)> = Vec::new();
    plan.extend(METADATA.iter().map(|s| (s, days.metadata_days)));
    plan.extend(ALERTS.iter().map(|s| (s, days.alerts_days)));
    plan.push((&CAPTURES, days.captures_days));
    plan.retain(|(_, d)| *d > 0);
    let mut out = Pruned::default();
    if plan.is_empty() {
        return Ok(out);
    }
    // Each dataset's cutoff: to the millisecond, or to the day where its days are partitions,
    // whose whole days older than that go at once.
    let mut cutoffs = Vec::with_capacity(plan.len());
    for &(set, d) in plan.iter() {
        let cutoff = now - i64::from(d) * DAY_MS;
        if !partitions::is_partitioned(db, set.table.name).await? {
            cutoffs.push(cutoff);
            continue;
        }
        let day = partitions::day_of(cutoff);
        let n = drop_days(db, set, day).await?;
        out.deleted.push((set.key, n));
        // The partition of the cutoff's day keeps its rows until all of it has aged out; rows
        // of days without a partition (in the default partition) go to the millisecond.
        let parts = partitions::day_partitions(db, set.table.name).await?;
        let straddled = parts.iter().find(|p| p.first_day <= day && day < p.end_day);
        cutoffs.push(straddled.map_or(cutoff, |p| p.first_day * DAY_MS));
    }
    for tenant in store::list_tenants(db).await? {
        for (i, &(set, _)) in plan.iter().enumerate() {
            let n = prune_set(db, set, tenant.id, cutoffs[i]).await?;
            out.deleted.push((set.key, n));
        }
    }
    Ok(out)
}

/// Drops the week partitions of `set` that end by `end_day` (every tenant's rows of those
/// days), each with what hangs on its rows, one transaction per day. Returns the rows dropped.
async fn drop_days(db: &Db, set: &'static Set, end_day: i64) -> DbResult<u64> {
    let mut total = 0;
    for part in partitions::day_partitions(db, set.table.name).await? {
        if part.end_day > end_day {
            break;
        }
        let mut tx = db.begin().await?;
        if set.owns_captures {
            // Across tenants: the partition holds every tenant's alerts of those days.
            let alerts = Query::select()
                .column(Alias::new("id"))
                .from(Alias::new(part.name.as_str()))
                .to_owned();
            tx.execute(
                Query::delete()
                    .from_table(NetworkPcaps::across_tenants())
                    .and_where(Expr::col(NetworkPcaps::AlertId).in_subquery(alerts)),
            )
            .await?;
        }
        if let Some(agg) = &set.aggregate {
            aggregates::forget_days(&mut tx, agg, part.first_day, part.end_day).await?;
        }
        total += partitions::drop_day(&mut tx, set.table.name, &part).await?;
        tx.commit().await?;
        tracing::info!(partition = %part.name, "retention dropped a week partition");
    }
    Ok(total)
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
