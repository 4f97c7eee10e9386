//! Time-partitioned tables on PostgreSQL: the big network datasets are split into one table
//! per UTC day, so that retention drops a whole day with `DROP TABLE` instead of deleting its
//! rows one by one (no index maintenance, no dead tuples for vacuum, no WAL per row).
//!
//! A table declared [`Partitioned`] is created on PostgreSQL as `PARTITION BY RANGE (time)`
//! with a `DEFAULT` partition (`{table}_default`) that takes rows no day partition covers.
//! Day partitions are named `{table}_pYYYYMMDD` and cover `[day, day + 1)` in Unix ms.
//! [`ensure_days`] creates the partitions of a span of days (moving the rows of those days
//! out of the default partition when it holds any); the maintenance job ([`maintain`]) keeps
//! the days around today ready and empties the default partition day by day; retention drops
//! whole days ([`drop_day`]) and removes their counts with them.
//!
//! SQLite has no partitions: there every function here does nothing, and retention deletes
//! rows. A PostgreSQL database whose tables were created unpartitioned (by an earlier build)
//! keeps them as they are; the functions see that and do nothing either.

use sea_query::Values;

use super::counted::DAY_MS;
pub use super::schema::{default_name, Partitioned};
use super::{Backend, Db, DbResult, Tx};

/// One day partition: its table and the days it covers, `first_day..end_day`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayPartition {
    pub name: String,
    pub first_day: i64,
    pub end_day: i64,
}

/// The UTC day holding `ms` (days since the epoch).
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// `{table}_pYYYYMMDD`; a day outside the years 1000 to 9999 (a sensor's clock gone wrong) is
/// named by its number instead (`{table}_pd<day>`, `{table}_pdm<-day>` before 1970), so the
/// name stays a plain identifier.
pub fn partition_name(table: &str, day: i64) -> String {
    use chrono::Datelike;
    match chrono::DateTime::from_timestamp_millis(day.saturating_mul(DAY_MS)) {
        Some(d) if (1000..=9999).contains(&d.year()) => {
            format!("{table}_p{}", d.format("%Y%m%d"))
        }
        _ if day < 0 => format!("{table}_pdm{}", day.unsigned_abs()),
        _ => format!("{table}_pd{day}"),
    }
}

#[derive(sqlx::FromRow)]
struct Flag {
    n: i64,
}

#[derive(sqlx::FromRow)]
struct Child {
    name: String,
    bound: String,
}

/// The tables of the current schema that are partitioned (none on SQLite).
pub(crate) async fn partitioned_tables(tx: &mut Tx) -> DbResult<Vec<String>> {
    #[derive(sqlx::FromRow)]
    struct Name {
        name: String,
    }
    if tx.backend() != Backend::Postgres {
        return Ok(Vec::new());
    }
    let rows: Vec<Name> = tx
        .fetch_all_sql(
            "SELECT c.relname::text AS name FROM pg_partitioned_table p \
             JOIN pg_class c ON c.oid = p.partrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema()",
            Values(vec![]),
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

/// Whether `table` is partitioned in this database (never on SQLite).
pub async fn is_partitioned(db: &Db, table: &str) -> DbResult<bool> {
    if db.backend() != Backend::Postgres {
        return Ok(false);
    }
    let row: Option<Flag> = db
        .fetch_optional_sql(
            "SELECT COUNT(*)::bigint AS n FROM pg_partitioned_table p \
             JOIN pg_class c ON c.oid = p.partrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname = $1 AND n.nspname = current_schema()",
            Values(vec![table.into()]),
        )
        .await?;
    Ok(row.is_some_and(|r| r.n > 0))
}

/// Reads `FOR VALUES FROM ('a') TO ('b')` as day numbers; `None` for the default partition,
/// a bound that is not on whole days, or `MINVALUE`/`MAXVALUE`.
fn parse_bound(bound: &str) -> Option<(i64, i64)> {
    let rest = bound.strip_prefix("FOR VALUES FROM (")?;
    let (from, rest) = rest.split_once(") TO (")?;
    let to = rest.strip_suffix(')')?;
    let num = |s: &str| s.trim().trim_matches('\'').parse::<i64>().ok();
    let (from, to) = (num(from)?, num(to)?);
    (from % DAY_MS == 0 && to % DAY_MS == 0 && from < to).then_some((from / DAY_MS, to / DAY_MS))
}

/// The day partitions of `table`, oldest first (empty when it is not partitioned).
pub async fn day_partitions(db: &Db, table: &str) -> DbResult<Vec<DayPartition>> {
    if db.backend() != Backend::Postgres {
        return Ok(Vec::new());
    }
    let children: Vec<Child> = db
        .fetch_all_sql(
            "SELECT c.relname::text AS name, pg_get_expr(c.relpartbound, c.oid) AS bound \
             FROM pg_inherits i \
             JOIN pg_class c ON c.oid = i.inhrelid \
             JOIN pg_class p ON p.oid = i.inhparent \
             JOIN pg_namespace n ON n.oid = p.relnamespace \
             WHERE p.relname = $1 AND n.nspname = current_schema()",
            Values(vec![table.into()]),
        )
        .await?;
    let mut out: Vec<DayPartition> = children
        .into_iter()
        .filter_map(|c| {
            parse_bound(&c.bound).map(|(first_day, end_day)| DayPartition {
                name: c.name,
                first_day,
                end_day,
            })
        })
        .collect();
    out.sort_by_key(|p| p.first_day);
    Ok(out)
}

/// Creates the day partitions of `first_day..=last_day` that `p.table` lacks, each in its own
/// short transaction; rows of such a day already in the default partition move into the new
/// partition with it (counted rows stay counted: the rows move between partitions, not
/// through the table, so no count trigger sees them). Returns how many partitions were made.
pub async fn ensure_days(
    db: &Db,
    p: &Partitioned,
    first_day: i64,
    last_day: i64,
) -> DbResult<usize> {
    if !is_partitioned(db, p.table).await? {
        return Ok(0);
    }
    let have = day_partitions(db, p.table).await?;
    let mut made = 0;
    for day in first_day..=last_day {
        // A day at the edge of the i64 range (a clock gone very wrong) stays in the default
        // partition: its bounds would not fit.
        let fits = day.checked_mul(DAY_MS).is_some()
            && day
                .checked_add(1)
                .and_then(|d| d.checked_mul(DAY_MS))
                .is_some();
        if !fits || have.iter().any(|h| h.first_day <= day && day < h.end_day) {
            continue;
        }
        let mut tx = db.begin().await?;
        create_day(&mut tx, p, day).await?;
        tx.commit().await?;
        made += 1;
    }
    Ok(made)
}

/// Takes the migration's advisory lock for the rest of `tx`: creating or dropping a partition
/// locks the table, its partitions and what its foreign keys name (`tenants`), which a
/// migration running at the same moment locks in another order.
async fn wait_for_migrations(tx: &mut Tx) -> DbResult<()> {
    tx.execute_sql(
        "SELECT pg_advisory_xact_lock($1)",
        Values(vec![super::MIGRATION_LOCK.into()]),
    )
    .await?;
    Ok(())
}

/// Creates one day's partition in `tx`, taking that day's rows out of the default partition.
async fn create_day(tx: &mut Tx, p: &Partitioned, day: i64) -> DbResult<()> {
    let (t, time) = (p.table, p.time);
    let name = partition_name(t, day);
    let default = default_name(t);
    let (from, to) = (day * DAY_MS, (day + 1) * DAY_MS);
    wait_for_migrations(tx).await?;
    // Writers of the table wait until this commits (readers go on), so no row of the day can
    // slip into the default partition between the move and the attach. The table is locked
    // before its partitions, in the order every statement on it takes them: a writer holds the
    // table when it waits for a partition, so locking the default partition first could
    // deadlock with it.
    tx.execute_sql(
        &format!("LOCK TABLE {t} IN SHARE ROW EXCLUSIVE MODE"),
        Values(vec![]),
    )
    .await?;
    let waiting: Option<Flag> = tx
        .fetch_optional_sql(
            &format!(
                "SELECT COUNT(*)::bigint AS n FROM (SELECT 1 FROM {default} \
                 WHERE {time} >= {from} AND {time} < {to} LIMIT 1) x"
            ),
            Values(vec![]),
        )
        .await?;
    if waiting.is_none_or(|w| w.n == 0) {
        tx.execute_sql(
            &format!(
                "CREATE TABLE IF NOT EXISTS {name} PARTITION OF {t} \
                 FOR VALUES FROM ({from}) TO ({to})"
            ),
            Values(vec![]),
        )
        .await?;
        return Ok(());
    }
    // The day's rows are in the default partition: move them into a table of their own, then
    // attach it (which builds its indexes over the rows at once and checks that the default
    // partition holds none of the day any more).
    // (One statement per call: `execute_script`'s future is not `Send` in a job.)
    for stmt in [
        format!("CREATE TABLE {name} (LIKE {t} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"),
        format!(
            "WITH moved AS (DELETE FROM {default} WHERE {time} >= {from} AND {time} < {to} \
             RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        ),
        format!("ALTER TABLE {t} ATTACH PARTITION {name} FOR VALUES FROM ({from}) TO ({to})"),
    ] {
        tx.execute_sql(&stmt, Values(vec![])).await?;
    }
    Ok(())
}

/// Days the default partition of `p.table` holds rows of, most recent first, at most `limit`
/// (reads the whole default partition, which the maintenance keeps small).
pub async fn days_in_default(db: &Db, p: &Partitioned, limit: i64) -> DbResult<Vec<i64>> {
    #[derive(sqlx::FromRow)]
    struct Day {
        day: i64,
    }
    if !is_partitioned(db, p.table).await? {
        return Ok(Vec::new());
    }
    let rows: Vec<Day> = db
        .fetch_all_sql(
            &format!(
                "SELECT DISTINCT FLOOR({time}::numeric / {DAY_MS})::bigint AS day FROM {d} \
                 ORDER BY day DESC LIMIT {limit}",
                time = p.time,
                d = default_name(p.table)
            ),
            Values(vec![]),
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.day).collect())
}

/// Drops one day partition in `tx`, with its days' count rows (every tenant's: a partition
/// holds them all), and returns how many rows it held (from those counts). What else hangs on
/// the rows (captures, aggregates) the caller removes first, in the same transaction.
pub async fn drop_day(tx: &mut Tx, table: &str, part: &DayPartition) -> DbResult<u64> {
    wait_for_migrations(tx).await?;
    let n = super::counts::forget_days(tx, table, part.first_day, part.end_day).await?;
    tx.execute_sql(&format!("DROP TABLE {}", part.name), Values(vec![]))
        .await?;
    Ok(n)
}

/// What one run of [`maintain`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Maintained {
    /// Partitions created (around today, or for days taken out of the default partition).
    pub created: usize,
}

/// Days ahead of today whose partitions are kept ready.
pub const AHEAD_DAYS: i64 = 2;
/// Days moved out of a default partition per table and run, so one run stays short.
pub const MOVE_PER_RUN: i64 = 14;

/// Keeps the partitions of `tables` ready: yesterday through [`AHEAD_DAYS`] after `now`, and
/// up to [`MOVE_PER_RUN`] days the default partition holds rows of (most recent first).
pub async fn maintain(db: &Db, tables: &[Partitioned], now_ms: i64) -> DbResult<Maintained> {
    let mut out = Maintained::default();
    if db.backend() != Backend::Postgres {
        return Ok(out);
    }
    let today = day_of(now_ms);
    for p in tables {
        out.created += ensure_days(db, p, today - 1, today + AHEAD_DAYS).await?;
        for day in days_in_default(db, p, MOVE_PER_RUN).await? {
            out.created += ensure_days(db, p, day, day).await?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bounds() {
        assert_eq!(partition_name("t", 0), "t_p19700101");
        assert_eq!(partition_name("t", 20_423), "t_p20251201");
        assert_eq!(partition_name("t", -800_000), "t_pdm800000");
        assert_eq!(partition_name("t", 3_000_000), "t_pd3000000");
        assert_eq!(
            parse_bound("FOR VALUES FROM ('86400000') TO ('172800000')"),
            Some((1, 2))
        );
        assert_eq!(
            parse_bound("FOR VALUES FROM ('-86400000') TO ('0')"),
            Some((-1, 0))
        );
        assert_eq!(parse_bound("DEFAULT"), None);
        assert_eq!(parse_bound("FOR VALUES FROM (MINVALUE) TO ('0')"), None);
        assert_eq!(parse_bound("FOR VALUES FROM ('1') TO ('86400000')"), None);
        assert_eq!(day_of(-1), -1);
        assert_eq!(day_of(DAY_MS), 1);
    }
}
