//! Row counts kept with the rows, so a list answers its exact total without reading every
//! matching index entry.
//!
//! A table that declares itself [`Counted`] gets database triggers (rendered for both backends
//! in [`super::counted`]) that keep `row_counts` in step with every insert, delete and update
//! of the rows, in the writing transaction: per tenant, per UTC day of the row's time column,
//! and per up to two dimensions (an integer and a text column, e.g. alert level and type).
//! Because the database keeps them, no write path (ingest, the generator, retention, data
//! delete, the engine, a tenant's cascade) can forget to.
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
use super::{DbResult, Tx};
use crate::ids::TenantId;

pub use super::counted::{Counted, DAY_MS};

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

/// Deletes the tenant's count rows of `dataset` that count nothing any more (their rows were
/// deleted: retention, data delete), so that they do not pile up day after day. Returns how
/// many went. A writer that counts into such a row at the same moment recreates it (its
/// upsert inserts), and on PostgreSQL the delete re-checks `n = 0` against a row a concurrent
/// writer updated, so no count is lost.
pub async fn forget_empty(tx: &mut Tx, tenant: TenantId, dataset: &str) -> DbResult<u64> {
    let q = RowCounts::delete(tenant)
        .and_where(Expr::col(RowCounts::col(RowCounts::Dataset)).eq(dataset))
        .and_where(Expr::col(RowCounts::col(RowCounts::N)).eq(0))
        .to_owned();
    tx.execute(&q).await
}

/// Deletes every tenant's count rows of `dataset` for the days `first_day..end_day` and returns
/// how many rows they counted: for a day partition that is dropped whole (its rows leave
/// without the delete triggers seeing them), which holds every tenant's rows of those days.
pub async fn forget_days(
    tx: &mut Tx,
    dataset: &str,
    first_day: i64,
    end_day: i64,
) -> DbResult<u64> {
    // Across tenants: a day partition holds the rows of every tenant, and goes for all of them.
    let table = RowCounts::across_tenants();
    let days = || {
        Condition::all()
            .add(Expr::col(RowCounts::Dataset).eq(dataset))
            .add(Expr::col(RowCounts::Day).gte(first_day))
            .add(Expr::col(RowCounts::Day).lt(end_day))
    };
    let counted: Sum = tx
        .fetch_one(
            &sea_query::Query::select()
                .expr_as(sum_expr(), Alias::new("n"))
                .from(table)
                .cond_where(days())
                .to_owned(),
        )
        .await?;
    tx.execute(
        &sea_query::Query::delete()
            .from_table(table)
            .cond_where(days())
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
}
