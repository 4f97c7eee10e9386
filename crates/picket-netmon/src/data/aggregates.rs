//! 15-minute DNS and TCP aggregates (§10.2): per bucket, tenant and the columns the data filters
//! use, the row count (and for TCP the byte and packet sums). They are never patched row by row:
//! [`rebuild`] recomputes whole buckets from the raw rows with one `INSERT … SELECT … GROUP BY`,
//! so a range's edge buckets come out right whatever part of them changed. Sensor ingest adds
//! each batch's counts to its buckets instead ([`add`]): one row per bucket and key (a unique
//! index), so an upsert adds to it, concurrent batches included, and a rebuild of the same
//! bucket gives the same rows.

use picket_core::db::schema::{OnDelete, Table};
use picket_core::db::{placeholder, Backend, DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::Values;

use crate::datasets::{DnsRecords, TcpRecords};

/// Bucket width, ms.
pub const BUCKET_MS: i64 = 15 * 60 * 1000;

/// The bucket holding `ts`.
pub fn bucket(ts: i64) -> i64 {
    ts.div_euclid(BUCKET_MS) * BUCKET_MS
}

/// One aggregate table and how it is computed from its raw table.
#[derive(Debug, Clone, Copy)]
pub struct Aggregate {
    pub table: &'static str,
    pub raw: &'static str,
    /// Grouping columns, named alike in both tables.
    pub keys: &'static [&'static str],
    /// Summed columns, named alike in both tables.
    pub sums: &'static [&'static str],
}

pub const DNS: Aggregate = Aggregate {
    table: DnsAggregates::DECLARED.name,
    raw: DnsRecords::DECLARED.name,
    keys: &["agent", "src_ip", "dst_ip", "qtype", "query"],
    sums: &[],
};

pub const TCP: Aggregate = Aggregate {
    table: TcpAggregates::DECLARED.name,
    raw: TcpRecords::DECLARED.name,
    keys: &["agent", "src_ip", "dst_ip", "dst_port", "proto"],
    sums: &["bytes_out", "bytes_in", "packets_out", "packets_in"],
};

pub const ALL: &[Aggregate] = &[DNS, TCP];

picket_core::table! {
    pub enum DnsAggregates in "dns_aggregates", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Bucket: BigInt,
        Agent: Text .default("''"),
        SrcIp: Text .default("''"),
        DstIp: Text .default("''"),
        Qtype: Text .default("''"),
        Query: Text .default("''"),
        Count: BigInt .default("0"),
    }
    indexes {
        index dns_aggregates_tenant_bucket (TenantId, Bucket),
        // One row per bucket and key: ingest's upsert adds to it.
        unique dns_aggregates_tenant_bucket_key (TenantId, Bucket, Agent, SrcIp, DstIp, Qtype, Query),
    }
}

picket_core::table! {
    pub enum TcpAggregates in "tcp_aggregates", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Bucket: BigInt,
        Agent: Text .default("''"),
        SrcIp: Text .default("''"),
        DstIp: Text .default("''"),
        DstPort: BigInt .default("0"),
        Proto: Text .default("''"),
        Count: BigInt .default("0"),
        BytesOut: BigInt .default("0"),
        BytesIn: BigInt .default("0"),
        PacketsOut: BigInt .default("0"),
        PacketsIn: BigInt .default("0"),
    }
    indexes {
        index tcp_aggregates_tenant_bucket (TenantId, Bucket),
        // One row per bucket and key: ingest's upsert adds to it.
        unique tcp_aggregates_tenant_bucket_key (TenantId, Bucket, Agent, SrcIp, DstIp, DstPort, Proto),
    }
}

pub const TABLES: &[Table] = &[DnsAggregates::DECLARED, TcpAggregates::DECLARED];

/// Recomputes every bucket of `agg` that overlaps `[from, to]` (Unix ms) for `tenant`, inside
/// the caller's transaction: the buckets' rows are deleted and regrouped from the raw table.
/// The SQL is the same on both backends (integer `%` on a `BIGINT`). It is written by hand
/// (an `INSERT … SELECT … GROUP BY` over a computed bucket) rather than through `TenantTable`,
/// so each statement binds `tenant_id` itself, on both tables.
pub async fn rebuild(
    tx: &mut Tx,
    agg: &Aggregate,
    tenant: TenantId,
    from: i64,
    to: i64,
) -> DbResult<()> {
    if from > to {
        return Ok(());
    }
    let b = tx.backend();
    let (p1, p2, p3) = (placeholder(b, 1), placeholder(b, 2), placeholder(b, 3));
    let (first, last) = (bucket(from), bucket(to));
    tx.execute_sql(
        &format!(
            "DELETE FROM {} WHERE tenant_id = {p1} AND bucket >= {p2} AND bucket <= {p3}",
            agg.table
        ),
        Values(vec![tenant.0.into(), first.into(), last.into()]),
    )
    .await?;
    let bucket_expr = format!("ts - (ts % {BUCKET_MS})");
    let keys = agg.keys.join(", ");
    let sums: String = agg.sums.iter().map(|s| format!(", SUM({s})")).collect();
    let sum_cols: String = agg.sums.iter().map(|s| format!(", {s}")).collect();
    let sql = format!(
        "INSERT INTO {table} (tenant_id, bucket, {keys}, count{sum_cols}) \
         SELECT tenant_id, {bucket_expr}, {keys}, COUNT(*){sums} FROM {raw} \
         WHERE tenant_id = {p1} AND ts >= {p2} AND ts <= {p3} \
         GROUP BY tenant_id, {bucket_expr}, {keys}",
        table = agg.table,
        raw = agg.raw,
    );
    let end = last + BUCKET_MS - 1;
    tx.execute_sql(
        &sql,
        Values(vec![tenant.0.into(), first.into(), end.into()]),
    )
    .await?;
    Ok(())
}

/// Deletes every tenant's buckets of `agg` inside the whole days `first_day..end_day`, in the
/// caller's transaction: for a week partition of the raw table that is dropped whole (it holds
/// every tenant's rows of those days, so nothing is left to regroup).
pub async fn forget_days(
    tx: &mut Tx,
    agg: &Aggregate,
    first_day: i64,
    end_day: i64,
) -> DbResult<u64> {
    const DAY_MS: i64 = 86_400_000;
    let b = tx.backend();
    // Across tenants on purpose (a dropped day is every tenant's); no tenant to bind.
    tx.execute_sql(
        &format!(
            "DELETE FROM {} WHERE bucket >= {} AND bucket < {}",
            agg.table,
            placeholder(b, 1),
            placeholder(b, 2)
        ),
        Values(vec![(first_day * DAY_MS).into(), (end_day * DAY_MS).into()]),
    )
    .await
}

/// One bucket's counts for one key of an aggregate, as a batch of new raw rows adds them.
#[derive(Debug, Clone, PartialEq)]
pub struct Increment {
    /// Bucket start (see [`bucket`]).
    pub bucket: i64,
    /// The values of `agg.keys`, in order.
    pub keys: Vec<sea_query::Value>,
    pub count: i64,
    /// The values of `agg.sums`, in order.
    pub sums: Vec<i64>,
}

/// Adds `increments` (one per bucket and key: sum a batch's rows in memory first) to `agg` for
/// `tenant`, inside the caller's transaction: a missing row is inserted, an existing one grows.
/// The result equals a [`rebuild`] of those buckets once the raw rows are in. Multi-row upserts
/// (`INSERT … ON CONFLICT … DO UPDATE`), the same SQL on both backends; the tenant is
/// written by this function, never taken from input.
pub async fn add(
    tx: &mut Tx,
    agg: &Aggregate,
    tenant: TenantId,
    increments: &[Increment],
) -> DbResult<()> {
    if increments.is_empty() {
        return Ok(());
    }
    let b = tx.backend();
    let width = 3 + agg.keys.len() + agg.sums.len();
    // Well under both backends' bound-parameter limits.
    let per_statement = (30_000 / width).clamp(1, 1_000);
    let mut columns = vec!["tenant_id", "bucket"];
    columns.extend(agg.keys);
    columns.push("count");
    columns.extend(agg.sums);
    let mut conflict = vec!["tenant_id", "bucket"];
    conflict.extend(agg.keys);
    let updates: Vec<String> = std::iter::once("count")
        .chain(agg.sums.iter().copied())
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}", table = agg.table))
        .collect();
    for chunk in increments.chunks(per_statement) {
        let mut sql = format!("INSERT INTO {} ({}) VALUES ", agg.table, columns.join(", "));
        let mut values: Vec<sea_query::Value> = Vec::with_capacity(chunk.len() * width);
        let mut n = 0;
        for (i, inc) in chunk.iter().enumerate() {
            debug_assert_eq!(inc.keys.len(), agg.keys.len());
            debug_assert_eq!(inc.sums.len(), agg.sums.len());
            sql.push_str(if i == 0 { "(" } else { ", (" });
            values.push(tenant.0.into());
            values.push(inc.bucket.into());
            values.extend(inc.keys.iter().cloned());
            values.push(inc.count.into());
            values.extend(inc.sums.iter().map(|s| sea_query::Value::from(*s)));
            for c in 0..width {
                n += 1;
                if c > 0 {
                    sql.push_str(", ");
                }
                // Anonymous `?` on SQLite, as in bulk loads: numbered ones cost sqlx a lookup
                // per parameter.
                match b {
                    Backend::Sqlite => sql.push('?'),
                    Backend::Postgres => sql.push_str(&placeholder(b, n)),
                }
            }
            sql.push(')');
        }
        sql.push_str(&format!(
            " ON CONFLICT ({}) DO UPDATE SET {}",
            conflict.join(", "),
            updates.join(", ")
        ));
        tx.execute_sql(&sql, Values(values)).await?;
    }
    Ok(())
}

/// Rebuilds the buckets in `buckets` (sorted bucket starts), one statement pair per run of
/// adjacent buckets.
pub async fn rebuild_buckets(
    tx: &mut Tx,
    agg: &Aggregate,
    tenant: TenantId,
    buckets: &[i64],
) -> DbResult<()> {
    for (start, end) in runs(buckets) {
        rebuild(tx, agg, tenant, start, end + BUCKET_MS - 1).await?;
    }
    Ok(())
}

/// Sorted bucket starts as inclusive `(first, last)` runs of adjacent buckets.
fn runs(buckets: &[i64]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &b in buckets {
        match out.last_mut() {
            Some((_, last)) if b <= *last + BUCKET_MS => *last = (*last).max(b),
            _ => out.push((b, b)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_runs() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(BUCKET_MS - 1), 0);
        assert_eq!(bucket(BUCKET_MS * 3 + 5), BUCKET_MS * 3);
        let m = BUCKET_MS;
        assert_eq!(
            runs(&[0, m, 2 * m, 5 * m, 7 * m, 8 * m]),
            vec![(0, 2 * m), (5 * m, 5 * m), (7 * m, 8 * m)]
        );
        assert!(runs(&[]).is_empty());
    }
}
