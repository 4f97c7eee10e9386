//! Row counts kept with the rows, so a list answers its exact total without reading every
//! matching index entry.
//!
//! A table that declares itself [`Counted`] gets database triggers (rendered for both backends
//! in [`super::counted`]) that keep `row_counts` and `row_counts_hourly` in step with every
//! insert, delete and update of the rows, in the writing transaction: per tenant, per UTC day
//! (and per hour) of the row's time column, and per up to two dimensions (an integer and a text
//! column, e.g. alert level and type). Because the database keeps them, no write path (ingest,
//! the generator, retention, data delete, the engine, a tenant's cascade) can forget to.
//!
//! A filtered total is the sum of the daily counts of the whole days inside the time range,
//! the hourly counts of the whole hours inside the partial days at its edges, and an indexed
//! count of the rows in the partial hours at its edges ([`split`]); filters the counts cannot
//! answer are counted by the caller as before. Whole-range totals (an unfiltered list,
//! `about`) read only the daily rows, 24 times fewer than the hourly ones.
//!
//! On PostgreSQL the insert and delete triggers run once per statement over its transition
//! table, so a bulk insert of 1,000 rows upserts one count row per (day or hour, dimension) it
//! touches, not 1,000; concurrent writers still serialise on the count rows they share until
//! commit. SQLite has only row triggers (two upserts per inserted row), and one writer at a
//! time anyway.

use sea_query::{Alias, Condition, Expr, Func, Order, SimpleExpr};

use super::counted::Grain;
use super::schema::{OnDelete, Table};
use super::table::{OwnedTable, TenantTable};
use super::{DbResult, Tx};
use crate::ids::TenantId;

pub use super::counted::{endpoint_parts, Counted, TextKey, DAY_MS, HOUR_MS};

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

crate::table! {
    /// The same counts per hour (`floor(time / HOUR_MS)`), kept by the same triggers; read
    /// only for the whole hours inside the partial days at a time range's edges.
    pub enum RowCountsHourly in "row_counts_hourly", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Dataset: Text,
        Hour: BigInt,
        KInt: BigInt .default("0"),
        KText: Text .default("''"),
        N: BigInt .default("0"),
    }
    indexes {
        unique row_counts_hourly_key (TenantId, Dataset, Hour, KInt, KText),
    }
}

pub const TABLES: &[Table] = &[RowCounts::DECLARED, RowCountsHourly::DECLARED];

/// The table of a grain's counts.
fn counts_table(g: Grain) -> OwnedTable {
    match g {
        Grain::Day => OwnedTable::new(&RowCounts::DECLARED),
        Grain::Hour => OwnedTable::new(&RowCountsHourly::DECLARED),
    }
}

/// A time range split for counting, in units of `DAY_MS` ([`split_days`]) or `HOUR_MS`: whole
/// units the counts answer, and the partial edges (inclusive Unix-ms ranges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaySplit {
    /// Whole units `lo..=hi` (either end open), or `None` when the range holds no whole unit.
    pub days: Option<(Option<i64>, Option<i64>)>,
    /// The rest: at most two ranges, each inside one unit or, when the range holds no whole
    /// unit, the ends of two adjacent ones.
    pub edges: [Option<(i64, i64)>; 2],
}

/// Splits the inclusive range `from..=to` (either end open) into whole units of `unit` ms and
/// edges.
fn split_units(from: Option<i64>, to: Option<i64>, unit: i64) -> DaySplit {
    // First whole unit: the unit of `from` when it starts there, else the next.
    let lo = from.map(|f| {
        let d = f.div_euclid(unit);
        if f == d * unit {
            d
        } else {
            d + 1
        }
    });
    // Last whole unit: the unit of `to` when it ends there, else the one before.
    let hi = to.map(|t| {
        let d = t.div_euclid(unit);
        if t == (d + 1) * unit - 1 {
            d
        } else {
            d - 1
        }
    });
    if let (Some(l), Some(h)) = (lo, hi) {
        if l > h {
            // No whole unit: the range is one edge (or empty).
            let (f, t) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
            return DaySplit {
                days: None,
                edges: [(f <= t).then_some((f, t)), None],
            };
        }
    }
    let low_edge = match (from, lo) {
        (Some(f), Some(l)) if f < l * unit => Some((f, l * unit - 1)),
        _ => None,
    };
    let high_edge = match (to, hi) {
        (Some(t), Some(h)) if t >= (h + 1) * unit => Some(((h + 1) * unit, t)),
        _ => None,
    };
    DaySplit {
        days: Some((lo, hi)),
        edges: [low_edge, high_edge],
    }
}

/// Splits the inclusive range `from..=to` (either end open) into whole UTC days and edges.
pub fn split_days(from: Option<i64>, to: Option<i64>) -> DaySplit {
    split_units(from, to, DAY_MS)
}

/// One stretch of a range split by [`split`], and where its count comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// Whole days `lo..=hi` (day numbers, either end open): `row_counts`.
    Days(Option<i64>, Option<i64>),
    /// Whole hours `lo..=hi` (hour numbers) inside the partial days: `row_counts_hourly`.
    Hours(i64, i64),
    /// The rows with times `from..=to` (Unix ms), which hold no whole hour: counted from the
    /// table.
    Rows(i64, i64),
}

/// Splits the inclusive range `from..=to` (either end open) into pieces in ascending time
/// order that partition it: at most one run of whole days, at most two runs of whole hours
/// (the partial days at the edges; one when the range holds no whole day), and at most two
/// partial-hour ranges of rows (each inside one hour, or the ends of two adjacent hours when
/// the range holds no whole hour). A reversed range has no pieces.
pub fn split(from: Option<i64>, to: Option<i64>) -> Vec<Piece> {
    let days = split_days(from, to);
    let mut out = Vec::with_capacity(5);
    let edge = |(a, b): (i64, i64), out: &mut Vec<Piece>| {
        let hours = split_units(Some(a), Some(b), HOUR_MS);
        if let Some((a, b)) = hours.edges[0] {
            out.push(Piece::Rows(a, b));
        }
        if let Some((Some(lo), Some(hi))) = hours.days {
            out.push(Piece::Hours(lo, hi));
        }
        if let Some((a, b)) = hours.edges[1] {
            out.push(Piece::Rows(a, b));
        }
    };
    if let Some(e) = days.edges[0] {
        edge(e, &mut out);
    }
    if let Some((lo, hi)) = days.days {
        out.push(Piece::Days(lo, hi));
    }
    if let Some(e) = days.edges[1] {
        edge(e, &mut out);
    }
    out
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
    /// A condition on `k_text` beyond `texts`, built for the counts table it is given
    /// (`row_counts` or `row_counts_hourly`).
    pub text_match: Option<TextMatch>,
}

/// A condition on the `k_text` column of a set of counts, given the counts table's name.
#[derive(Clone)]
pub struct TextMatch(pub std::sync::Arc<dyn Fn(&str) -> Condition + Send + Sync>);

impl std::fmt::Debug for TextMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TextMatch(..)")
    }
}

impl CountFilter {
    /// The filter on `grain`'s table, its buckets `lo..=hi` (either end open).
    fn condition_in(&self, g: Grain, (lo, hi): (Option<i64>, Option<i64>)) -> Condition {
        let table = counts_table(g);
        let col = |c: &str| Expr::col(table.col(c));
        let mut cond = Condition::all().add(col("dataset").eq(self.dataset));
        if let Some(lo) = lo {
            cond = cond.add(col(g.column()).gte(lo));
        }
        if let Some(hi) = hi {
            cond = cond.add(col(g.column()).lte(hi));
        }
        if !self.ints.is_empty() {
            cond = cond.add(col("k_int").is_in(self.ints.iter().copied()));
        }
        if !self.texts.is_empty() {
            let v = self.texts.iter().cloned();
            cond = cond.add(if self.exclude_texts {
                col("k_text").is_not_in(v)
            } else {
                col("k_text").is_in(v)
            });
        }
        if let Some(m) = &self.text_match {
            cond = cond.add((m.0)(g.table()));
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
    sum_in(conn, tenant, f, Grain::Day, f.days).await
}

/// The tenant's rows under `f` in the buckets `lo..=hi` of `grain` (either end open), from the
/// counts.
async fn sum_in(
    conn: &mut impl CountSession,
    tenant: TenantId,
    f: &CountFilter,
    g: Grain,
    range: (Option<i64>, Option<i64>),
) -> DbResult<i64> {
    let q = counts_table(g)
        .select(tenant)
        .expr_as(sum_expr(), Alias::new("n"))
        .cond_where(f.condition_in(g, range))
        .to_owned();
    Ok(conn.fetch_one_stmt::<Sum>(&q).await?.n)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct DayCount {
    pub day: i64,
    pub n: i64,
}

/// The tenant's rows under `f` per bucket of `grain` (`lo..=hi`, either end open), the
/// buckets in `order`; buckets without rows are left out. `day` is the bucket's number.
async fn per_bucket(
    conn: &mut impl CountSession,
    tenant: TenantId,
    f: &CountFilter,
    g: Grain,
    range: (Option<i64>, Option<i64>),
    order: Order,
) -> DbResult<Vec<DayCount>> {
    let table = counts_table(g);
    let bucket = table.col(g.column());
    let q = table
        .select(tenant)
        .expr_as(Expr::col(bucket.clone()), Alias::new("day"))
        .expr_as(sum_expr(), Alias::new("n"))
        .cond_where(f.condition_in(g, range))
        .group_by_col(bucket.clone())
        .and_having(Expr::cust("SUM(n) <> 0"))
        .order_by(bucket, order)
        .to_owned();
    conn.fetch_all_stmt(&q).await
}

/// The tenant's rows under `f` per day, the days in `order`; days without rows are left out.
pub async fn per_day(
    conn: &mut impl CountSession,
    tenant: TenantId,
    f: &CountFilter,
    order: Order,
) -> DbResult<Vec<DayCount>> {
    per_bucket(conn, tenant, f, Grain::Day, f.days, order).await
}

/// `col` names `dataset` or one of its further sets of counts (`{dataset}.…`, see [`Counted`]).
/// The prefix is compared for equality, not as a range: a range of text follows the
/// database's collation, which on PostgreSQL may order punctuation in any way.
fn dataset_or_its_sets(col: impl Fn() -> Expr, dataset: &str) -> Condition {
    let prefix = format!("{dataset}.");
    let head = Func::cust(Alias::new("SUBSTR"))
        .arg(col())
        .arg(1)
        .arg(i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX));
    Condition::any()
        .add(col().eq(dataset))
        .add(Expr::expr(head).eq(prefix))
}

/// Deletes the tenant's count rows of `dataset` and its further sets of counts (daily and
/// hourly) that count nothing any more
/// (their rows were deleted: retention, data delete), so that they do not pile up day after
/// day. Returns how many went. A writer that counts into such a row at the same moment
/// recreates it (its upsert inserts), and on PostgreSQL the delete re-checks `n = 0` against a
/// row a concurrent writer updated, so no count is lost.
pub async fn forget_empty(tx: &mut Tx, tenant: TenantId, dataset: &str) -> DbResult<u64> {
    let mut gone = 0;
    for g in Grain::ALL {
        let table = counts_table(g);
        let q = table
            .delete(tenant)
            .cond_where(dataset_or_its_sets(
                || Expr::col(table.col("dataset")),
                dataset,
            ))
            .and_where(Expr::col(table.col("n")).eq(0))
            .to_owned();
        gone += tx.execute(&q).await?;
    }
    Ok(gone)
}

/// Deletes every tenant's count rows (daily and hourly) of `dataset` and its further sets of
/// counts for the days `first_day..end_day` and returns how many rows they counted: for a week
/// partition that is dropped whole (its rows leave without the delete triggers seeing them),
/// which holds every tenant's rows of those days.
pub async fn forget_days(
    tx: &mut Tx,
    dataset: &str,
    first_day: i64,
    end_day: i64,
) -> DbResult<u64> {
    // Across tenants: a partition holds the rows of every tenant, and goes for all of them.
    let table = RowCounts::across_tenants();
    let days = || {
        Condition::all()
            .add(Expr::col(RowCounts::Day).gte(first_day))
            .add(Expr::col(RowCounts::Day).lt(end_day))
    };
    // The rows once: the dataset's own counts, not its further sets.
    let counted: Sum = tx
        .fetch_one(
            &sea_query::Query::select()
                .expr_as(sum_expr(), Alias::new("n"))
                .from(table)
                .cond_where(days().add(Expr::col(RowCounts::Dataset).eq(dataset)))
                .to_owned(),
        )
        .await?;
    tx.execute(
        &sea_query::Query::delete()
            .from_table(table)
            .cond_where(days().add(dataset_or_its_sets(
                || Expr::col(RowCounts::Dataset),
                dataset,
            )))
            .to_owned(),
    )
    .await?;
    // The same days' hourly rows.
    let per_day = super::counted::DAY_MS / super::counted::HOUR_MS;
    tx.execute(
        &sea_query::Query::delete()
            .from_table(RowCountsHourly::across_tenants())
            .cond_where(
                Condition::all()
                    .add(dataset_or_its_sets(
                        || Expr::col(RowCountsHourly::Dataset),
                        dataset,
                    ))
                    .add(Expr::col(RowCountsHourly::Hour).gte(first_day * per_day))
                    .add(Expr::col(RowCountsHourly::Hour).lt(end_day * per_day)),
            )
            .to_owned(),
    )
    .await?;
    Ok(u64::try_from(counted.n).unwrap_or(0))
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

/// The three sessions run statements alike: each impl forwards to its own methods.
macro_rules! count_session {
    ($($session:ty),*) => {$(
        impl CountSession for $session {
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
    )*};
}

count_session!(super::Conn, Tx, &super::Db);

/// Hours in a UTC day.
const HOURS_A_DAY: i64 = DAY_MS / HOUR_MS;

/// The longest run of whole hours inside one day that is counted hour by hour; a longer one is
/// its day's count less the day's hours outside it, which reads fewer count rows (at most
/// eight hours and one day instead of up to 23 hours: where every hour holds many count rows,
/// as with the counts by source endpoint, that is most of a search's time).
const HOURS_COUNTED_ONE_BY_ONE: i64 = 15;

/// The day of the whole hours `lo..=hi` when they lie in one day and are counted as that day
/// less its other hours.
fn complement_day(lo: i64, hi: i64) -> Option<i64> {
    let day = lo.div_euclid(HOURS_A_DAY);
    (hi.div_euclid(HOURS_A_DAY) == day && hi - lo + 1 > HOURS_COUNTED_ONE_BY_ONE).then_some(day)
}

/// A stretch of the time axis and the matching rows in it: a whole day or hour from the
/// counts, a run of whole hours inside one day (its day less the day's other hours), or a
/// partial hour counted from the rows.
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

impl Segment {
    /// Bucket `b` of `ms` milliseconds and its `n` rows.
    fn bucket(b: i64, ms: i64, n: i64) -> Segment {
        Segment {
            from: b * ms,
            to: (b + 1) * ms - 1,
            n,
        }
    }

    /// The time a seek into this segment starts from: `ts <= to` descending, `ts >= from`
    /// ascending.
    fn bound(&self, desc: bool) -> i64 {
        if desc {
            self.to
        } else {
            self.from
        }
    }
}

impl Segments {
    /// The segment the rows after the first `skip` (in time order, descending with `desc`)
    /// start in, and how many of its rows come before them. `None` when `skip` is at or past
    /// the total.
    fn starting(&self, skip: i64, desc: bool) -> Option<(&Segment, i64)> {
        let mut before = 0;
        let walk: Box<dyn Iterator<Item = &Segment>> = if desc {
            Box::new(self.parts.iter().rev())
        } else {
            Box::new(self.parts.iter())
        };
        for seg in walk {
            if before + seg.n > skip {
                return Some((seg, skip - before));
            }
            before += seg.n;
        }
        None
    }

    /// Where the rows after the first `skip` (in time order `order`) start: a time bound for
    /// the seek (`ts <= bound` descending, `ts >= bound` ascending) and the rows still to skip
    /// past it; `None` when `skip` is at or past the total. When the page starts inside a
    /// whole day, that day's hourly counts (at most 24 buckets) say in which hour, so the rows
    /// still to skip are at most an hour's instead of a day's. `f` is the filter the segments
    /// were counted under. The day is the bound when its hours do not add up to what its
    /// segment holds (rows written or removed between the two reads).
    pub async fn seek_by_hour<S: CountSession>(
        &self,
        session: &mut S,
        tenant: TenantId,
        f: &CountFilter,
        skip: i64,
        order: &Order,
    ) -> DbResult<Option<(i64, i64)>> {
        let desc = matches!(order, Order::Desc);
        let Some((seg, rest)) = self.starting(skip, desc) else {
            return Ok(None);
        };
        let day = seg.from.div_euclid(DAY_MS);
        if rest > 0 && *seg == Segment::bucket(day, DAY_MS, seg.n) {
            let range = (Some(day * HOURS_A_DAY), Some((day + 1) * HOURS_A_DAY - 1));
            let per_hour = per_bucket(session, tenant, f, Grain::Hour, range, Order::Asc).await?;
            let hours = Segments {
                total: per_hour.iter().map(|h| h.n).sum(),
                parts: per_hour
                    .into_iter()
                    .map(|h| Segment::bucket(h.day, HOUR_MS, h.n))
                    .collect(),
            };
            if hours.total == seg.n {
                if let Some((hour, rest)) = hours.starting(rest, desc) {
                    return Ok(Some((hour.bound(desc), rest)));
                }
            }
        }
        Ok(Some((seg.bound(desc), rest)))
    }
}

#[derive(sqlx::FromRow)]
struct EdgeCount {
    n: i64,
}

/// The exact number of the tenant's rows under `f` with times in `from..=to`, as segments:
/// whole days from `row_counts`, whole hours of the partial days at the edges from
/// `row_counts_hourly` (a run of more than 15 hours as its day from `row_counts` less the
/// day's other hours), and the partial hours at the edges counted with `count_rows(lo, hi)`, a
/// statement answering `n` for the caller's own filter restricted to times `lo..=hi` (its
/// indexes bound the rows it reads to those hours). See [`split`].
pub async fn segments<S: CountSession>(
    session: &mut S,
    tenant: TenantId,
    f: &CountFilter,
    from: Option<i64>,
    to: Option<i64>,
    count_rows: impl Fn(i64, i64) -> sea_query::SelectStatement,
) -> DbResult<Segments> {
    let mut parts = Vec::new();
    for piece in split(from, to) {
        let (g, range) = match piece {
            Piece::Rows(a, b) => {
                let n = session
                    .fetch_one_stmt::<EdgeCount>(&count_rows(a, b))
                    .await?
                    .n;
                parts.push(Segment { from: a, to: b, n });
                continue;
            }
            Piece::Days(lo, hi) => (Grain::Day, (lo, hi)),
            Piece::Hours(lo, hi) => {
                if let Some(day) = complement_day(lo, hi) {
                    // The day's count less its hours outside the run.
                    let whole =
                        sum_in(session, tenant, f, Grain::Day, (Some(day), Some(day))).await?;
                    let mut outside = 0;
                    for (a, b) in [
                        (day * HOURS_A_DAY, lo - 1),
                        (hi + 1, (day + 1) * HOURS_A_DAY - 1),
                    ] {
                        if a <= b {
                            outside +=
                                sum_in(session, tenant, f, Grain::Hour, (Some(a), Some(b))).await?;
                        }
                    }
                    parts.push(Segment {
                        from: lo * HOUR_MS,
                        to: (hi + 1) * HOUR_MS - 1,
                        n: whole - outside,
                    });
                    continue;
                }
                (Grain::Hour, (Some(lo), Some(hi)))
            }
        };
        for d in per_bucket(session, tenant, f, g, range, Order::Asc).await? {
            parts.push(Segment::bucket(d.day, g.ms(), d.n));
        }
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
    fn seek_finds_the_segment_a_page_starts_in_from_either_end() {
        let seg = |day: i64, n: i64| Segment::bucket(day, DAY_MS, n);
        let s = Segments {
            total: 10,
            parts: vec![seg(1, 3), seg(2, 0), seg(3, 7)],
        };
        let seek = |skip: i64, desc: bool| {
            s.starting(skip, desc)
                .map(|(seg, rest)| (seg.bound(desc), rest))
        };
        // Ascending: 3 rows in day 1, then day 3 (day 2 holds none).
        assert_eq!(seek(0, false), Some((DAY_MS, 0)));
        assert_eq!(seek(2, false), Some((DAY_MS, 2)));
        assert_eq!(seek(3, false), Some((3 * DAY_MS, 0)));
        assert_eq!(seek(9, false), Some((3 * DAY_MS, 6)));
        // Descending: day 3's 7 rows first, from its last millisecond.
        assert_eq!(seek(6, true), Some((4 * DAY_MS - 1, 6)));
        assert_eq!(seek(7, true), Some((2 * DAY_MS - 1, 0)));
        assert_eq!(seek(10, true), None);
        assert_eq!(seek(10, false), None);
    }

    #[test]
    fn long_runs_of_hours_inside_one_day_count_as_the_day_less_its_other_hours() {
        let day = 20_000;
        let h = |i: i64| day * HOURS_A_DAY + i;
        assert_eq!(complement_day(h(0), h(15)), Some(day));
        assert_eq!(complement_day(h(8), h(23)), Some(day));
        assert_eq!(
            complement_day(h(0), h(14)),
            None,
            "15 hours are read one by one"
        );
        // Across midnight (a range without a whole day): hour by hour.
        assert_eq!(complement_day(h(4), h(24 + 3)), None);
        // Before 1970 the day is still the floor.
        assert_eq!(complement_day(-24, -1), Some(-1));
    }

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
    fn splits_edge_days_into_hours_and_partial_hours() {
        let (d, h) = (DAY_MS, HOUR_MS);
        use Piece::*;
        // Whole days only: no hours, no rows.
        assert_eq!(
            split(Some(2 * d), Some(5 * d - 1)),
            [Days(Some(2), Some(4))]
        );
        assert_eq!(split(None, None), [Days(None, None)]);
        // Partial days at both ends: their whole hours, then the partial hours from rows.
        assert_eq!(
            split(Some(2 * d + 5 * h + 7), Some(5 * d + 3 * h + 9)),
            [
                Rows(2 * d + 5 * h + 7, 2 * d + 6 * h - 1),
                Hours(2 * 24 + 6, 2 * 24 + 23),
                Days(Some(3), Some(4)),
                Hours(5 * 24, 5 * 24 + 2),
                Rows(5 * d + 3 * h, 5 * d + 3 * h + 9),
            ]
        );
        // Edges on hour boundaries: no rows at all.
        assert_eq!(
            split(Some(2 * d + 5 * h), Some(5 * d + 3 * h - 1)),
            [
                Hours(2 * 24 + 5, 2 * 24 + 23),
                Days(Some(3), Some(4)),
                Hours(5 * 24, 5 * 24 + 2),
            ]
        );
        // Inside one day: hours and the two partial hours.
        assert_eq!(
            split(Some(2 * d + 5 * h + 7), Some(2 * d + 9 * h + 9)),
            [
                Rows(2 * d + 5 * h + 7, 2 * d + 6 * h - 1),
                Hours(2 * 24 + 6, 2 * 24 + 8),
                Rows(2 * d + 9 * h, 2 * d + 9 * h + 9),
            ]
        );
        // Across midnight without a whole day: the hours run over the day boundary.
        assert_eq!(
            split(Some(3 * d - 2 * h - 1), Some(3 * d + 2 * h)),
            [
                Rows(3 * d - 2 * h - 1, 3 * d - 2 * h - 1),
                Hours(3 * 24 - 2, 3 * 24 + 1),
                Rows(3 * d + 2 * h, 3 * d + 2 * h),
            ]
        );
        // Inside one hour, and across one hour boundary without a whole hour: one row range.
        assert_eq!(split(Some(d + 5), Some(d + 9)), [Rows(d + 5, d + 9)]);
        assert_eq!(split(Some(d - 5), Some(d + 9)), [Rows(d - 5, d + 9)]);
        // A single millisecond, a single whole hour, reversed.
        assert_eq!(split(Some(7), Some(7)), [Rows(7, 7)]);
        assert_eq!(split(Some(h), Some(2 * h - 1)), [Hours(1, 1)]);
        assert_eq!(split(Some(9), Some(3)), []);
        // Open ends with a partial day: the hours and rows on the closed side only.
        assert_eq!(
            split(None, Some(-d + h + 1)),
            [
                Days(None, Some(-2)),
                Hours(-24, -24),
                Rows(-d + h, -d + h + 1)
            ]
        );
        assert_eq!(split(Some(-1), None), [Rows(-1, -1), Days(Some(0), None)]);
    }

    /// Every pair of times around day and hour boundaries (negative ones too, and open ends):
    /// the pieces partition the range in order, days are whole days, hours whole hours that
    /// hold no whole day, rows hold no whole hour, and there are at most one run of days, two
    /// of hours and two of rows.
    #[test]
    fn split_is_exact_at_every_boundary() {
        let (d, h) = (DAY_MS, HOUR_MS);
        let mut times = Vec::new();
        for day in -2..=2 {
            for off in [
                -h - 1,
                -h,
                -h + 1,
                -1,
                0,
                1,
                h - 1,
                h,
                h + 1,
                5 * h + 17,
                d / 2,
            ] {
                times.push(day * d + off);
            }
        }
        let ends: Vec<Option<i64>> = std::iter::once(None)
            .chain(times.iter().copied().map(Some))
            .collect();
        // Whether `a..=b` holds a whole unit of `unit` ms.
        let holds_whole = |a: i64, b: i64, unit: i64| {
            let first = a.div_euclid(unit) + i64::from(a.rem_euclid(unit) != 0);
            first * unit + unit - 1 <= b
        };
        for &from in &ends {
            for &to in &ends {
                let pieces = split(from, to);
                let (lo, hi) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
                if lo > hi {
                    assert!(pieces.is_empty(), "{from:?}..{to:?}: {pieces:?}");
                    continue;
                }
                let ctx = format!("{from:?}..{to:?}: {pieces:?}");
                let mut next = lo;
                let (mut days, mut hours, mut rows) = (0, 0, 0);
                for (i, p) in pieces.iter().enumerate() {
                    let (a, b) = match *p {
                        Piece::Days(a, b) => {
                            days += 1;
                            let a = a.map_or(i64::MIN, |a| a * d);
                            let b = b.map_or(i64::MAX, |b| (b + 1) * d - 1);
                            assert!(a <= b, "{ctx}");
                            (a, b)
                        }
                        Piece::Hours(a, b) => {
                            hours += 1;
                            let (a, b) = (a * h, (b + 1) * h - 1);
                            assert!(a <= b && !holds_whole(a, b, d), "{ctx}");
                            (a, b)
                        }
                        Piece::Rows(a, b) => {
                            rows += 1;
                            assert!(a <= b && !holds_whole(a, b, h), "{ctx}");
                            (a, b)
                        }
                    };
                    assert_eq!(a, next, "{ctx}: piece {i} does not follow on");
                    if b == hi {
                        assert_eq!(i, pieces.len() - 1, "{ctx}");
                    } else {
                        next = b + 1;
                    }
                }
                assert_eq!(
                    pieces.last().map(|p| match *p {
                        Piece::Days(_, b) => b.map_or(i64::MAX, |b| (b + 1) * d - 1),
                        Piece::Hours(_, b) => (b + 1) * h - 1,
                        Piece::Rows(_, b) => b,
                    }),
                    Some(hi),
                    "{ctx}"
                );
                assert!(days <= 1 && hours <= 2 && rows <= 2, "{ctx}");
                // Whole days never come from the hours: a range holding one has its days run.
                if holds_whole(lo.max(-10 * d), hi.min(10 * d), d) {
                    assert_eq!(days, 1, "{ctx}");
                }
            }
        }
    }
}
