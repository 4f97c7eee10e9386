//! What both alert searches share: filter values checked at the edge (time bounds in the
//! server timezone, alert levels, identifiers stored in lower case, "contains" patterns) and
//! reading one page of rows. The data filters (§8) match agents and a network alert's
//! `search` through the same functions, so a value finds the same rows in search, export and
//! delete.

use chrono_tz::Tz;
use picket_core::db::counts::{self, CountFilter};
use picket_core::db::table::TenantTable;
use picket_core::db::{Backend, Db, DbResult, DbRow};
use picket_core::identity::TenantId;
use picket_core::ApiError;
use sea_query::{
    Alias, Asterisk, BinOper, ColumnRef, Condition, Expr, IntoColumnRef, Order, SelectStatement,
    SimpleExpr,
};

use crate::clock::{self, Bound};
use crate::datasets::NetworkAlerts;
use crate::listing::matching::{self, TextPath};
use crate::listing::{PageInfo, PageRequest};
use picket_core::db::text::Rarity;

pub const LEVELS: [i64; 3] = [10, 20, 30];

pub fn invalid(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("invalid field `filters.{field}`: {why}"))
}

/// Inclusive bounds in Unix ms; a date-only or `HH:MM` upper bound covers its whole day or minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl TimeRange {
    pub fn parse(from: Option<&str>, to: Option<&str>, tz: Tz) -> Result<TimeRange, ApiError> {
        let one = |field: &str, v: Option<&str>, bound| match v.map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => clock::parse(s, tz, bound)
                .map(Some)
                .map_err(|e| invalid(field, e)),
        };
        Ok(TimeRange {
            from: one("from", from, Bound::Lower)?,
            to: one("to", to, Bound::Upper)?,
        })
    }

    /// `from <= col <= to` for the bounds given; `from` later than `to` simply matches nothing.
    pub fn condition(&self, col: impl Into<SimpleExpr> + Clone) -> Condition {
        let mut c = Condition::all();
        if let Some(from) = self.from {
            c = c.add(Expr::expr(col.clone().into()).gte(from));
        }
        if let Some(to) = self.to {
            c = c.add(Expr::expr(col.into()).lte(to));
        }
        c
    }
}

/// Levels are 10, 20 and 30; anything else is a mistake worth reporting, not an empty result.
pub fn levels(values: &[i64]) -> Result<Vec<i64>, ApiError> {
    match values.iter().find(|l| !LEVELS.contains(l)) {
        Some(bad) => Err(invalid(
            "level",
            format!("{bad} is not an alert level; use 10, 20 or 30"),
        )),
        None => Ok(values.to_vec()),
    }
}

/// Agent hashes (hex) and alert types are stored in lower case; comparing the lower-cased
/// value with the column keeps the column's index usable.
pub fn lowered(values: &[String]) -> Vec<String> {
    values
        .iter()
        .map(|v| v.trim().to_lowercase())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Any of the agents `values`, compared lower-cased with `col`, where agents are stored in lower
/// case; `None` when no value is left.
pub fn any_agent(col: impl Into<SimpleExpr>, values: &[String]) -> Option<Condition> {
    let agents = lowered(values);
    if agents.is_empty() {
        return None;
    }
    Some(Condition::all().add(Expr::expr(col.into()).is_in(agents)))
}

/// The trigram counts [`network_search`] chooses by, read once per request.
pub async fn network_search_rarity(db: &Db, values: &[String], path: TextPath) -> DbResult<Rarity> {
    let Some(index) = NetworkAlerts::DECLARED.text_indexes.first() else {
        return Ok(Rarity::default());
    };
    let patterns: Vec<String> = values.iter().map(|v| contains(v)).collect();
    matching::text_rarity(db, index, &patterns, path).await
}

/// A network alert's `search`: any of `values` contained in its destination IP, subject,
/// message or `dst_ip:dst_port`. The columns are qualified with the table, so the condition
/// also holds in a query that joins others.
pub fn network_search(
    values: &[String],
    backend: Backend,
    path: TextPath,
    rarity: &Rarity,
) -> Option<Condition> {
    if values.is_empty() {
        return None;
    }
    let patterns: Vec<String> = values.iter().map(|v| contains(v)).collect();
    let col = |c: NetworkAlerts| Expr::col(NetworkAlerts::col(c));
    // `dst_ip || ':' || CAST(dst_port AS TEXT)`, built from parts: a custom expression's
    // placeholders differ per backend.
    let endpoint = col(NetworkAlerts::DstIp)
        .binary(BinOper::Custom("||"), Expr::cust("':'"))
        .binary(
            BinOper::Custom("||"),
            col(NetworkAlerts::DstPort).cast_as(Alias::new("TEXT")),
        );
    let fields: [SimpleExpr; 4] = [
        col(NetworkAlerts::DstIp).into(),
        col(NetworkAlerts::Subject).into(),
        col(NetworkAlerts::Message).into(),
        endpoint,
    ];
    let matches = fields.into_iter().fold(Condition::any(), |any, field| {
        any.add_option(matching::any_text(field, &patterns, backend))
    });
    // The trigram index over the endpoint, subject and message narrows the rows `matches`
    // decides on (the endpoint contains the destination IP).
    let narrowed = NetworkAlerts::DECLARED
        .text_indexes
        .first()
        .and_then(|index| {
            matching::text_prefilter(
                index,
                NetworkAlerts::DECLARED.name,
                col(NetworkAlerts::Id),
                &patterns,
                backend,
                path,
                rarity,
            )
        });
    Some(Condition::all().add(matches).add_option(narrowed))
}

/// A "contains" pattern: the value, whose own `%`, `_` and `\` keep their meaning, inside `%…%`.
pub fn contains(value: &str) -> String {
    let mut inner = value.to_string();
    // A trailing lone `\` is a literal backslash; escape it so it does not swallow the `%`.
    let trailing = inner.chars().rev().take_while(|c| *c == '\\').count();
    if trailing % 2 == 1 {
        inner.push('\\');
    }
    format!("%{inner}%")
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

/// Runs `count` (a query answering `n`), then reads the page served of `rows` ordered by
/// `order` (which ends with the `id` tiebreaker), all in direction `dir`.
pub async fn fetch_page<T: DbRow, C: IntoColumnRef>(
    db: &Db,
    count: &SelectStatement,
    mut rows: SelectStatement,
    order: impl IntoIterator<Item = C>,
    dir: Order,
    page: PageRequest,
) -> DbResult<(PageInfo, Vec<T>)> {
    let total = db.fetch_one::<Count>(count).await?.n;
    let (info, skip) = page.serve(total);
    if total == 0 {
        return Ok((info, Vec::new()));
    }
    for c in order {
        rows.order_by(c, dir.clone());
    }
    rows.limit(info.page_size as u64).offset(skip);
    Ok((info, db.fetch_all(&rows).await?))
}

/// A search whose every filter the kept counts answer (a time range and the counted
/// dimensions): its total comes from `row_counts` plus the partial days at the range's edges.
#[derive(Debug, Clone)]
pub struct Counting {
    /// The dataset and dimension values; its days are set from `time`.
    pub filter: CountFilter,
    pub time: TimeRange,
}

/// [`fetch_page`] for a search the counts answer. `scoped` is the tenant's rows under the whole
/// filter (no columns yet), from which the edges are counted; `ts` the time column. With
/// `by_time` (the sort is the time column, then `id`), a deep page seeks: the counts say in
/// which day, and then which hour, the page starts, so the rows before that hour are never
/// read.
#[allow(clippy::too_many_arguments)]
pub async fn fetch_counted_page<T: DbRow, C: IntoColumnRef>(
    db: &Db,
    tenant: TenantId,
    counting: &Counting,
    scoped: &SelectStatement,
    ts: ColumnRef,
    mut rows: SelectStatement,
    order: impl IntoIterator<Item = C>,
    dir: Order,
    page: PageRequest,
    by_time: bool,
) -> DbResult<(PageInfo, Vec<T>)> {
    let edge = |a: i64, b: i64| {
        scoped
            .clone()
            .expr_as(Expr::col(Asterisk).count(), Alias::new("n"))
            .and_where(Expr::col(ts.clone()).between(a, b))
            .to_owned()
    };
    let segments = counts::segments(
        &mut &*db,
        tenant,
        &counting.filter,
        counting.time.from,
        counting.time.to,
        edge,
    )
    .await?;
    let (info, skip) = page.serve(segments.total);
    if segments.total == 0 {
        return Ok((info, Vec::new()));
    }
    let mut offset = skip;
    if by_time && skip > 0 {
        let seek = segments
            .seek_by_hour(&mut &*db, tenant, &counting.filter, skip as i64, &dir)
            .await?;
        if let Some((bound, rest)) = seek {
            rows.and_where(match dir {
                Order::Desc => Expr::col(ts.clone()).lte(bound),
                _ => Expr::col(ts.clone()).gte(bound),
            });
            offset = rest as u64;
        }
    }
    for c in order {
        rows.order_by(c, dir.clone());
    }
    rows.limit(info.page_size as u64).offset(offset);
    Ok((info, db.fetch_all(&rows).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::matching::Pattern;

    #[test]
    fn contains_keeps_wildcards_and_escapes() {
        assert_eq!(contains("Port scan"), "%Port scan%");
        assert_eq!(
            Pattern::parse(&contains("50\\%")),
            Pattern::Like("%50\\%%".into())
        );
        assert_eq!(
            Pattern::parse(&contains("end\\")),
            Pattern::Like("%end\\\\%".into())
        );
    }

    #[test]
    fn bounds_and_levels() {
        let tz = chrono_tz::Europe::Berlin;
        let r = TimeRange::parse(Some("2026-06-03 00:00"), Some("2026-06-03"), tz).unwrap();
        assert_eq!(r.to.unwrap() - r.from.unwrap(), 86_400_000 - 1);
        let e = TimeRange::parse(None, Some("yesterday"), tz).unwrap_err();
        assert!(e.message.contains("`filters.to`"), "{}", e.message);
        assert!(levels(&[10, 30]).is_ok());
        let e = levels(&[10, 15]).unwrap_err();
        assert!(e.message.contains("filters.level") && e.message.contains("15"));
    }
}
