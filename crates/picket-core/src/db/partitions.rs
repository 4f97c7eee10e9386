//! Time-partitioned tables on PostgreSQL: the big network datasets are split into one table
//! per UTC week, so that retention drops a whole week with `DROP TABLE` instead of deleting its
//! rows one by one (no index maintenance, no dead tuples for vacuum, no WAL per row).
//!
//! A table declared [`Partitioned`] is created on PostgreSQL as `PARTITION BY RANGE (time)`
//! with a `DEFAULT` partition (`{table}_default`) that takes rows no week partition covers.
//! Week partitions are named `{table}_pYYYYMMDD` after their Monday and cover
//! [`SPAN_DAYS`] days from it, in Unix ms. Weeks rather than days: a query whose time range
//! does not narrow the partitions (a list's first page, `about`) opens every partition's
//! indexes, and at a month of data one table a day cost the PostgreSQL list several times
//! what the unpartitioned table did.
//! [`ensure_days`] creates the partitions covering a span of days (moving the rows of those
//! days out of the default partition when it holds any); the maintenance job ([`maintain`])
//! keeps the weeks around today ready and empties the default partition week by week;
//! retention drops whole weeks ([`drop_day`]) and removes their counts with them.
//!
//! SQLite has no partitions: there every function here does nothing, and retention deletes
//! rows. A PostgreSQL database whose tables were created unpartitioned (by an earlier build)
//! keeps them as they are; the functions see that and do nothing either.

use sea_query::Values;

use super::counted::DAY_MS;
pub use super::schema::{default_name, Partitioned};
use super::{Backend, Db, DbResult, Tx};

/// Days one partition covers: a week, Monday to Sunday (UTC).
pub const SPAN_DAYS: i64 = 7;

/// The first day (a Monday) of the partition that holds `day`; 1970-01-05, day 4, was one.
pub fn span_start(day: i64) -> i64 {
    day - (day - 4).rem_euclid(SPAN_DAYS)
}

/// One week partition: its table and the days it covers, `first_day..end_day`.
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

/// Reads `FOR VALUES FROM ('a') TO ('b')` as day numbers, a `MINVALUE` start as `None`; `None`
/// altogether for the default partition or a bound not on whole days.
fn parse_bound(bound: &str) -> Option<(Option<i64>, i64)> {
    let rest = bound.strip_prefix("FOR VALUES FROM (")?;
    let (from, rest) = rest.split_once(") TO (")?;
    let to = rest.strip_suffix(')')?;
    let num = |s: &str| s.trim().trim_matches('\'').parse::<i64>().ok();
    let to = num(to)?;
    if to % DAY_MS != 0 {
        return None;
    }
    if from.trim() == "MINVALUE" {
        return Some((None, to / DAY_MS));
    }
    let from = num(from)?;
    (from % DAY_MS == 0 && from < to).then_some((Some(from / DAY_MS), to / DAY_MS))
}

#[derive(Debug)]
struct Children {
    /// Partitions with both bounds on whole days, oldest first.
    spans: Vec<DayPartition>,
    /// The end day of a partition of everything before it (a converted legacy table).
    legacy_end: Option<i64>,
}

/// The week partitions of `table`, oldest first (empty when it is not partitioned); a legacy
/// partition of everything before some day is not among them.
pub async fn day_partitions(db: &Db, table: &str) -> DbResult<Vec<DayPartition>> {
    Ok(children(db, table).await?.spans)
}

async fn children(db: &Db, table: &str) -> DbResult<Children> {
    if db.backend() != Backend::Postgres {
        return Ok(Children {
            spans: Vec::new(),
            legacy_end: None,
        });
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
    let mut out = Children {
        spans: Vec::new(),
        legacy_end: None,
    };
    for c in children {
        match parse_bound(&c.bound) {
            Some((Some(first_day), end_day)) => out.spans.push(DayPartition {
                name: c.name,
                first_day,
                end_day,
            }),
            Some((None, end_day)) => out.legacy_end = Some(end_day),
            None => {}
        }
    }
    out.spans.sort_by_key(|p| p.first_day);
    Ok(out)
}

/// Creates the week partitions covering `first_day..=last_day` that `p.table` lacks (none over
/// days a legacy partition holds), each in its own short transaction; rows of such a week
/// already in the default partition move into the new partition with it (counted rows stay
/// counted: the rows move between partitions, not through the table, so no count trigger sees
/// them). Returns how many partitions were made.
pub async fn ensure_days(
    db: &Db,
    p: &Partitioned,
    first_day: i64,
    last_day: i64,
) -> DbResult<usize> {
    if !is_partitioned(db, p.table).await? {
        return Ok(0);
    }
    let have = children(db, p.table).await?;
    let mut made = 0;
    let mut start = span_start(first_day);
    while start <= last_day {
        // A week at the edge of the i64 range (a clock gone very wrong) stays in the default
        // partition: its bounds would not fit.
        let fits = start.checked_mul(DAY_MS).is_some()
            && start
                .checked_add(SPAN_DAYS)
                .and_then(|d| d.checked_mul(DAY_MS))
                .is_some();
        let taken = have.legacy_end.is_some_and(|end| start < end)
            || have
                .spans
                .iter()
                .any(|h| h.first_day <= start && start < h.end_day);
        if fits && !taken {
            let mut tx = db.begin().await?;
            create_day(&mut tx, p, start).await?;
            tx.commit().await?;
            made += 1;
        }
        start += SPAN_DAYS;
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

/// Creates the week partition starting on `day` in `tx`, taking that week's rows out of the
/// default partition.
async fn create_day(tx: &mut Tx, p: &Partitioned, day: i64) -> DbResult<()> {
    let (t, time) = (p.table, p.time);
    let name = partition_name(t, day);
    let default = default_name(t);
    let (from, to) = (day * DAY_MS, (day + SPAN_DAYS) * DAY_MS);
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

/// Drops one week partition in `tx`, with its days' count rows (every tenant's: a partition
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

/// Days ahead of today whose partitions are kept ready (the next week's once it is near).
pub const AHEAD_DAYS: i64 = 2;
/// Days found in a default partition that one run moves out per table (their weeks), so one
/// run stays short.
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
        // One call per week: days of the same week share its partition.
        let mut weeks: Vec<i64> = days_in_default(db, p, MOVE_PER_RUN)
            .await?
            .into_iter()
            .map(span_start)
            .collect();
        weeks.dedup();
        for week in weeks {
            out.created += ensure_days(db, p, week, week).await?;
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
            Some((Some(1), 2))
        );
        assert_eq!(
            parse_bound("FOR VALUES FROM ('-86400000') TO ('0')"),
            Some((Some(-1), 0))
        );
        assert_eq!(parse_bound("DEFAULT"), None);
        assert_eq!(
            parse_bound("FOR VALUES FROM (MINVALUE) TO ('0')"),
            Some((None, 0))
        );
        // Weeks start on Mondays: 1970-01-05 (day 4), 2026-11-30 (day 20,787).
        assert_eq!(span_start(4), 4);
        assert_eq!(span_start(10), 4);
        assert_eq!(span_start(3), -3);
        assert_eq!(span_start(20_787 + 6), 20_787);
        assert_eq!(span_start(20_787 + 7), 20_794);
        assert_eq!(parse_bound("FOR VALUES FROM ('1') TO ('86400000')"), None);
        assert_eq!(day_of(-1), -1);
        assert_eq!(day_of(DAY_MS), 1);
    }
}
