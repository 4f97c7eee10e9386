//! Row counts kept with the rows, so a list answers its exact total without reading every
//! matching index entry.
//!
//! A table that declares itself [`Counted`] gets database triggers (rendered here for both
//! backends) that keep `row_counts` in step with every insert, delete and update of the rows,
//! in the writing transaction: per tenant, per UTC day of the row's time column, and per up to
//! two dimensions (an integer and a text column, e.g. alert level and type). Because the
//! database keeps them, no write path (ingest, the generator, retention, data delete, the
//! engine, a tenant's cascade) can forget to.
//!
//! A filtered total is the sum of the counts of the whole days inside the time range plus an
//! indexed count of the rows in the partial days at its edges ([`split_days`]); filters the
//! counts cannot answer are counted by the caller as before.
//!
//! On PostgreSQL the insert and delete triggers run once per statement over its transition
//! table, so a bulk insert of 1,000 rows upserts one count row per (day, dimension) it touches,
//! not 1,000; concurrent writers still serialise on the count rows they share until commit.
//! SQLite has only row triggers, and one writer at a time anyway.

use sea_query::{Alias, Condition, Expr, Order, SimpleExpr};

use super::schema::{OnDelete, Table};
use super::table::TenantTable;
use super::{Backend, DbResult, Tx};
use crate::ids::TenantId;

/// A UTC day in Unix ms: the counts' time bucket.
pub const DAY_MS: i64 = 86_400_000;

crate::table! {
    /// Rows per tenant, dataset (table), UTC day and dimension values, kept by triggers.
    pub enum RowCounts in "row_counts", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Dataset: Text,
        Day: BigInt,
        KInt: BigInt .default("0"),
        KText: Text .default("''"),
        N: BigInt .default("0"),
    }
    indexes {
        unique row_counts_key (TenantId, Dataset, Day, KInt, KText),
    }
}

pub const TABLES: &[Table] = &[RowCounts::DECLARED];

/// A table whose rows are counted in `row_counts`, under the table's name as the dataset.
#[derive(Debug, Clone, Copy)]
pub struct Counted {
    pub table: &'static str,
    /// The time column (Unix ms) the days are taken from.
    pub time: &'static str,
    /// An integer column counted apart (e.g. `level`), or none.
    pub int_key: Option<&'static str>,
    /// A text column counted apart (e.g. `type`), or none.
    pub text_key: Option<&'static str>,
}

/// `floor(col / DAY_MS)` on both backends (integer division truncates toward zero).
fn day_of(col: &str) -> String {
    format!(
        "(CASE WHEN {col} < 0 AND {col} % {DAY_MS} <> 0 THEN {col} / {DAY_MS} - 1 \
         ELSE {col} / {DAY_MS} END)"
    )
}

impl Counted {
    fn int_of(&self, row: &str) -> String {
        self.int_key
            .map_or("0".to_string(), |c| format!("{row}{c}"))
    }
    fn text_of(&self, row: &str) -> String {
        self.text_key
            .map_or("''".to_string(), |c| format!("{row}{c}"))
    }
    /// The columns an update must change to move a row between counts.
    fn watched(&self) -> Vec<&'static str> {
        let mut v = vec![self.time];
        v.extend(self.int_key);
        v.extend(self.text_key);
        v
    }
    fn changed(&self, distinct: &str) -> String {
        self.watched()
            .iter()
            .map(|c| format!("OLD.{c} {distinct} NEW.{c}"))
            .collect::<Vec<_>>()
            .join(" OR ")
    }
    fn key_match(&self, row: &str) -> String {
        format!(
            "tenant_id = {row}tenant_id AND dataset = '{t}' AND day = {day} AND k_int = {ki} \
             AND k_text = {kt}",
            t = self.table,
            day = day_of(&format!("{row}{}", self.time)),
            ki = self.int_of(row),
            kt = self.text_of(row),
        )
    }
    fn upsert_one(&self, row: &str, n: &str) -> String {
        format!(
            "INSERT INTO row_counts (tenant_id, dataset, day, k_int, k_text, n) \
             VALUES ({row}tenant_id, '{t}', {day}, {ki}, {kt}, {n}) \
             ON CONFLICT (tenant_id, dataset, day, k_int, k_text) DO UPDATE SET n = row_counts.n + {n}",
            t = self.table,
            day = day_of(&format!("{row}{}", self.time)),
            ki = self.int_of(row),
            kt = self.text_of(row),
        )
    }
    /// `SELECT tenant_id, day, k_int, k_text, COUNT(*)` of `source`, grouped.
    fn grouped(&self, source: &str) -> String {
        format!(
            "SELECT tenant_id, {day} AS day, {ki} AS k_int, {kt} AS k_text, COUNT(*) AS n \
             FROM {source} GROUP BY 1, 2, 3, 4",
            day = day_of(self.time),
            ki = self.int_of(""),
            kt = self.text_of(""),
        )
    }

    /// Drops and creates the triggers (idempotent).
    pub fn trigger_ddl(&self, backend: Backend) -> String {
        let t = self.table;
        match backend {
            Backend::Sqlite => format!(
                "DROP TRIGGER IF EXISTS {t}_count_ins;\n\
                 DROP TRIGGER IF EXISTS {t}_count_del;\n\
                 DROP TRIGGER IF EXISTS {t}_count_upd;\n\
                 CREATE TRIGGER {t}_count_ins AFTER INSERT ON {t} BEGIN {ins}; END;\n\
                 CREATE TRIGGER {t}_count_del AFTER DELETE ON {t} BEGIN \
                   UPDATE row_counts SET n = n - 1 WHERE {old}; END;\n\
                 CREATE TRIGGER {t}_count_upd AFTER UPDATE OF {cols} ON {t} WHEN {changed} BEGIN \
                   UPDATE row_counts SET n = n - 1 WHERE {old}; {ins}; END;\n",
                ins = self.upsert_one("NEW.", "1"),
                old = self.key_match("OLD."),
                cols = self.watched().join(", "),
                changed = self.changed("IS NOT"),
            ),
            Backend::Postgres => format!(
                "CREATE OR REPLACE FUNCTION picket_{t}_count_ins() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN \
                   INSERT INTO row_counts (tenant_id, dataset, day, k_int, k_text, n) \
                   SELECT tenant_id, '{t}', day, k_int, k_text, n FROM ({new_rows}) g ORDER BY 1, 3, 4, 5 \
                   ON CONFLICT (tenant_id, dataset, day, k_int, k_text) DO UPDATE SET n = row_counts.n + EXCLUDED.n; \
                   RETURN NULL; END $f$;\n\
                 CREATE OR REPLACE FUNCTION picket_{t}_count_del() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN \
                   UPDATE row_counts c SET n = c.n - g.n FROM ({old_rows}) g \
                   WHERE c.tenant_id = g.tenant_id AND c.dataset = '{t}' AND c.day = g.day \
                   AND c.k_int = g.k_int AND c.k_text = g.k_text; \
                   RETURN NULL; END $f$;\n\
                 CREATE OR REPLACE FUNCTION picket_{t}_count_upd() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN \
                   UPDATE row_counts SET n = n - 1 WHERE {old}; {ins}; \
                   RETURN NULL; END $f$;\n\
                 DROP TRIGGER IF EXISTS {t}_count_ins ON {t};\n\
                 DROP TRIGGER IF EXISTS {t}_count_del ON {t};\n\
                 DROP TRIGGER IF EXISTS {t}_count_upd ON {t};\n\
                 CREATE TRIGGER {t}_count_ins AFTER INSERT ON {t} REFERENCING NEW TABLE AS picket_new \
                   FOR EACH STATEMENT EXECUTE FUNCTION picket_{t}_count_ins();\n\
                 CREATE TRIGGER {t}_count_del AFTER DELETE ON {t} REFERENCING OLD TABLE AS picket_old \
                   FOR EACH STATEMENT EXECUTE FUNCTION picket_{t}_count_del();\n\
                 CREATE TRIGGER {t}_count_upd AFTER UPDATE OF {cols} ON {t} FOR EACH ROW \
                   WHEN ({changed}) EXECUTE FUNCTION picket_{t}_count_upd();\n",
                new_rows = self.grouped("picket_new"),
                old_rows = self.grouped("picket_old"),
                old = self.key_match("OLD."),
                ins = self.upsert_one("NEW.", "1"),
                cols = self.watched().join(", "),
                changed = self.changed("IS DISTINCT FROM"),
            ),
        }
    }

    /// Recounts the table's rows into `row_counts` (a migration that adds the triggers).
    pub fn backfill_sql(&self) -> String {
        let t = self.table;
        format!(
            "DELETE FROM row_counts WHERE dataset = '{t}';\n\
             INSERT INTO row_counts (tenant_id, dataset, day, k_int, k_text, n) \
             SELECT tenant_id, '{t}', day, k_int, k_text, n FROM ({rows}) g;\n",
            rows = self.grouped(t),
        )
    }

    /// The name of the insert trigger, whose presence says the counts are kept.
    pub fn insert_trigger(&self) -> String {
        format!("{}_count_ins", self.table)
    }
}

/// A time range split for counting: whole days the counts answer, and the partial edges that
/// must be counted from the rows (both inclusive Unix-ms ranges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaySplit {
    /// Whole days `lo..=hi` (either end open), or `None` when the range holds no whole day.
    pub days: Option<(Option<i64>, Option<i64>)>,
    /// Rows to count from the table: at most two ranges, each inside one day or two.
    pub edges: [Option<(i64, i64)>; 2],
}

fn floor_day(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// Splits the inclusive range `from..=to` (either end open) into whole days and edges.
pub fn split_days(from: Option<i64>, to: Option<i64>) -> DaySplit {
    // First whole day: the day of `from` when it starts there, else the next.
    let lo = from.map(|f| {
        let d = floor_day(f);
        if f == d * DAY_MS {
            d
        } else {
            d + 1
        }
    });
    // Last whole day: the day of `to` when it ends there, else the one before.
    let hi = to.map(|t| {
        let d = floor_day(t);
        if t == (d + 1) * DAY_MS - 1 {
            d
        } else {
            d - 1
        }
    });
    if let (Some(l), Some(h)) = (lo, hi) {
        if l > h {
            // No whole day: the range is one edge (or empty).
            let (f, t) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
            return DaySplit {
                days: None,
                edges: [(f <= t).then_some((f, t)), None],
            };
        }
    }
    let low_edge = match (from, lo) {
        (Some(f), Some(l)) if f < l * DAY_MS => Some((f, l * DAY_MS - 1)),
        _ => None,
    };
    let high_edge = match (to, hi) {
        (Some(t), Some(h)) if t >= (h + 1) * DAY_MS => Some(((h + 1) * DAY_MS, t)),
        _ => None,
    };
    DaySplit {
        days: Some((lo, hi)),
        edges: [low_edge, high_edge],
    }
}

/// Which counts to add up: a dataset, whole days, and the dimension values allowed.
#[derive(Debug, Clone, Default)]
pub struct CountFilter {
    pub dataset: &'static str,
    pub days: (Option<i64>, Option<i64>),
    /// `k_int IN (…)`; empty for any.
    pub ints: Vec<i64>,
    /// `k_text IN (…)` (or `NOT IN` with `exclude_texts`); empty for any.
    pub texts: Vec<String>,
    pub exclude_texts: bool,
}

impl CountFilter {
    fn condition(&self) -> Condition {
        let col = |c: RowCounts| Expr::col(RowCounts::col(c));
        let mut cond = Condition::all().add(col(RowCounts::Dataset).eq(self.dataset));
        if let Some(lo) = self.days.0 {
            cond = cond.add(col(RowCounts::Day).gte(lo));
        }
        if let Some(hi) = self.days.1 {
            cond = cond.add(col(RowCounts::Day).lte(hi));
        }
        if !self.ints.is_empty() {
            cond = cond.add(col(RowCounts::KInt).is_in(self.ints.iter().copied()));
        }
        if !self.texts.is_empty() {
            let v = self.texts.iter().cloned();
            cond = cond.add(if self.exclude_texts {
                col(RowCounts::KText).is_not_in(v)
            } else {
                col(RowCounts::KText).is_in(v)
            });
        }
        cond
    }
}

#[derive(sqlx::FromRow)]
struct Sum {
    n: i64,
}

fn sum_expr() -> SimpleExpr {
    Expr::cust("CAST(COALESCE(SUM(n), 0) AS BIGINT)")
}

/// The tenant's rows under `f`, from the counts alone.
pub async fn sum(conn: &mut impl CountSession, tenant: TenantId, f: &CountFilter) -> DbResult<i64> {
    let q = RowCounts::select(tenant)
        .expr_as(sum_expr(), Alias::new("n"))
        .cond_where(f.condition())
        .to_owned();
    Ok(conn.fetch_one_stmt::<Sum>(&q).await?.n)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct DayCount {
    pub day: i64,
    pub n: i64,
}

/// The tenant's rows under `f` per day, the days in `order`; days without rows are left out.
pub async fn per_day(
    conn: &mut impl CountSession,
    tenant: TenantId,
    f: &CountFilter,
    order: Order,
) -> DbResult<Vec<DayCount>> {
    let q = RowCounts::select(tenant)
        .column(RowCounts::col(RowCounts::Day))
        .expr_as(sum_expr(), Alias::new("n"))
        .cond_where(f.condition())
        .group_by_col(RowCounts::col(RowCounts::Day))
        .and_having(Expr::cust("SUM(n) <> 0"))
        .order_by(RowCounts::col(RowCounts::Day), order)
        .to_owned();
    conn.fetch_all_stmt(&q).await
}

/// Rows per dataset of the tenant, from the counts (for `about`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DatasetCount {
    pub dataset: String,
    pub n: i64,
}

pub async fn per_dataset(
    conn: &mut impl CountSession,
    tenant: TenantId,
    datasets: &[&str],
) -> DbResult<Vec<DatasetCount>> {
    let q = RowCounts::select(tenant)
        .column(RowCounts::col(RowCounts::Dataset))
        .expr_as(sum_expr(), Alias::new("n"))
        .and_where(Expr::col(RowCounts::col(RowCounts::Dataset)).is_in(datasets.iter().copied()))
        .group_by_col(RowCounts::col(RowCounts::Dataset))
        .to_owned();
    conn.fetch_all_stmt(&q).await
}

/// Where the count statements run: a pooled connection, a transaction or the pool.
#[allow(async_fn_in_trait)]
pub trait CountSession {
    async fn fetch_one_stmt<T: super::DbRow>(
        &mut self,
        stmt: &sea_query::SelectStatement,
    ) -> DbResult<T>;
    async fn fetch_all_stmt<T: super::DbRow>(
        &mut self,
        stmt: &sea_query::SelectStatement,
    ) -> DbResult<Vec<T>>;
}

impl CountSession for super::Conn {
    async fn fetch_one_stmt<T: super::DbRow>(
        &mut self,
        stmt: &sea_query::SelectStatement,
    ) -> DbResult<T> {
        self.fetch_one(stmt).await
    }
    async fn fetch_all_stmt<T: super::DbRow>(
        &mut self,
        stmt: &sea_query::SelectStatement,
    ) -> DbResult<Vec<T>> {
        self.fetch_all(stmt).await
    }
}

impl CountSession for Tx {
    async fn fetch_one_stmt<T: super::DbRow>(
        &mut self,
        stmt: &sea_query::SelectStatement,
    ) -> DbResult<T> {
        self.fetch_one(stmt).await
    }
    async fn fetch_all_stmt<T: super::DbRow>(
        &mut self,
        stmt: &sea_query::SelectStatement,
    ) -> DbResult<Vec<T>> {
        self.fetch_all(stmt).await
    }
}

impl CountSession for &super::Db {
    async fn fetch_one_stmt<T: super::DbRow>(
        &mut self,
        stmt: &sea_query::SelectStatement,
    ) -> DbResult<T> {
        self.fetch_one(stmt).await
    }
    async fn fetch_all_stmt<T: super::DbRow>(
        &mut self,
        stmt: &sea_query::SelectStatement,
    ) -> DbResult<Vec<T>> {
        self.fetch_all(stmt).await
    }
}

/// A stretch of the time axis and the matching rows in it: a whole day from the counts, or a
/// partial day counted from the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Inclusive Unix-ms bounds.
    pub from: i64,
    pub to: i64,
    pub n: i64,
}

/// The matching rows of a time range, as segments in ascending time order that partition it,
/// and their total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segments {
    pub total: i64,
    pub parts: Vec<Segment>,
}

impl Segments {
    /// Where the rows after the first `skip` (in time order `order`) start: a time bound for the
    /// seek (`ts <= bound` descending, `ts >= bound` ascending) and the rows still to skip past
    /// it. `None` when `skip` is at or past the total.
    pub fn seek(&self, skip: i64, order: &Order) -> Option<(i64, i64)> {
        let desc = matches!(order, Order::Desc);
        let mut before = 0;
        let walk: Box<dyn Iterator<Item = &Segment>> = if desc {
            Box::new(self.parts.iter().rev())
        } else {
            Box::new(self.parts.iter())
        };
        for seg in walk {
            if before + seg.n > skip {
                let bound = if desc { seg.to } else { seg.from };
                return Some((bound, skip - before));
            }
            before += seg.n;
        }
        None
    }
}

#[derive(sqlx::FromRow)]
struct EdgeCount {
    n: i64,
}

/// The exact number of the tenant's rows under `f` with times in `from..=to`, as segments:
/// whole days from the counts, and the partial days at the edges counted with
/// `count_rows(lo, hi)`, a statement answering `n` for the caller's own filter restricted to
/// times `lo..=hi` (its indexes bound the rows it reads to those days).
pub async fn segments<S: CountSession>(
    session: &mut S,
    tenant: TenantId,
    f: &CountFilter,
    from: Option<i64>,
    to: Option<i64>,
    count_rows: impl Fn(i64, i64) -> sea_query::SelectStatement,
) -> DbResult<Segments> {
    let split = split_days(from, to);
    let mut parts = Vec::new();
    if let Some((a, b)) = split.edges[0] {
        let n = session
            .fetch_one_stmt::<EdgeCount>(&count_rows(a, b))
            .await?
            .n;
        parts.push(Segment { from: a, to: b, n });
    }
    if let Some(days) = split.days {
        let f = CountFilter { days, ..f.clone() };
        for d in per_day(session, tenant, &f, Order::Asc).await? {
            parts.push(Segment {
                from: d.day * DAY_MS,
                to: (d.day + 1) * DAY_MS - 1,
                n: d.n,
            });
        }
    }
    if let Some((a, b)) = split.edges[1] {
        let n = session
            .fetch_one_stmt::<EdgeCount>(&count_rows(a, b))
            .await?
            .n;
        parts.push(Segment { from: a, to: b, n });
    }
    parts.retain(|p| p.n != 0);
    Ok(Segments {
        total: parts.iter().map(|p| p.n).sum(),
        parts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_ranges_into_whole_days_and_edges() {
        let d = DAY_MS;
        // Open range: every day.
        assert_eq!(
            split_days(None, None),
            DaySplit {
                days: Some((None, None)),
                edges: [None, None]
            }
        );
        // Exactly days 2..=4.
        assert_eq!(
            split_days(Some(2 * d), Some(5 * d - 1)),
            DaySplit {
                days: Some((Some(2), Some(4))),
                edges: [None, None]
            }
        );
        // Partial both ends.
        let s = split_days(Some(2 * d + 5), Some(5 * d + 7));
        assert_eq!(s.days, Some((Some(3), Some(4))));
        assert_eq!(
            s.edges,
            [Some((2 * d + 5, 3 * d - 1)), Some((5 * d, 5 * d + 7))]
        );
        // Inside one day: one edge, no days.
        let s = split_days(Some(2 * d + 5), Some(2 * d + 9));
        assert_eq!(s.days, None);
        assert_eq!(s.edges, [Some((2 * d + 5, 2 * d + 9)), None]);
        // Reversed: nothing.
        assert_eq!(split_days(Some(9), Some(3)).edges, [None, None]);
        // Negative times floor.
        let s = split_days(Some(-d - 1), None);
        assert_eq!(s.days, Some((Some(-1), None)));
        assert_eq!(s.edges[0], Some((-d - 1, -d - 1)));
    }

    #[test]
    fn triggers_render_for_both_backends() {
        let c = Counted {
            table: "alerts",
            time: "ts",
            int_key: Some("level"),
            text_key: Some("type"),
        };
        let s = c.trigger_ddl(Backend::Sqlite);
        assert!(
            s.contains("AFTER UPDATE OF ts, level, type ON alerts"),
            "{s}"
        );
        let p = c.trigger_ddl(Backend::Postgres);
        assert!(p.contains("REFERENCING NEW TABLE AS picket_new"), "{p}");
        assert!(c.backfill_sql().contains("GROUP BY 1, 2, 3, 4"));
    }
}
