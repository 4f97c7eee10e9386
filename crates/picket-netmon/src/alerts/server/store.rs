//! Server alert storage: the `server_alerts` table.

use picket_core::db::table::TenantTable;
use picket_core::db::text::Rarity;
use picket_core::db::{Backend, Db, DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::{Alias, Condition, Expr, Func, Query, SelectStatement, SimpleExpr};

use super::wire::{ServerAlertSort, ServerQuery};
use crate::alerts::filters::{any_agent, contains, fetch_counted_page, fetch_page, Counting};
use crate::datasets::ServerAlerts;
use crate::listing::matching;
use crate::listing::{PageInfo, PageRequest, Sort};

use ServerAlerts as S;

const COLUMNS: [ServerAlerts; 9] = [
    S::Id,
    S::Ts,
    S::Agent,
    S::AgentName,
    S::Hostname,
    S::Level,
    S::Type,
    S::Title,
    S::Line,
];

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServerAlertRow {
    pub id: i64,
    pub ts: i64,
    pub agent: String,
    pub agent_name: String,
    pub hostname: String,
    pub level: i64,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub title: String,
    pub line: String,
}

fn col(c: ServerAlerts) -> Expr {
    Expr::col(S::col(c))
}

fn select(tenant: TenantId) -> SelectStatement {
    S::select(tenant).columns(COLUMNS.map(S::col)).to_owned()
}

fn filter(q: &ServerQuery, backend: Backend, rarity: &Rarity) -> Condition {
    let mut c = Condition::all().add(q.time.condition(col(S::Ts)));
    c = c.add_option(any_agent(col(S::Agent), &q.agents));
    if !q.types.is_empty() {
        c = c.add(col(S::Type).is_in(q.types.iter().cloned()));
    }
    c = c.add_option(matching::any_int(col(S::Level), &q.levels));
    c = c.add_option(matching::any_text(col(S::Hostname), &q.hostnames, backend));
    c = c.add_option(matching::any_text(col(S::Title), &q.titles, backend));
    let lines: Vec<String> = q.search.iter().map(|s| contains(s)).collect();
    c = c.add_option(matching::any_text(col(S::Line), &lines, backend));
    // The line's trigram index narrows the rows the LIKE above then decides on.
    let [index] = S::DECLARED.text_indexes else {
        return c;
    };
    c.add_option(matching::text_prefilter(
        index,
        S::DECLARED.name,
        col(S::Id),
        &lines,
        backend,
        q.text_path,
        rarity,
    ))
}

/// The trigram counts the `search` filter chooses by, read once per request.
async fn search_rarity(db: &Db, q: &ServerQuery) -> DbResult<Rarity> {
    let [index] = S::DECLARED.text_indexes else {
        return Ok(Rarity::default());
    };
    let lines: Vec<String> = q.search.iter().map(|s| contains(s)).collect();
    matching::text_rarity(db, index, &lines, q.text_path).await
}

/// The part of `q` the kept counts answer (level and type per day), when that is all of it.
fn counting(q: &ServerQuery) -> Option<Counting> {
    let counted =
        q.agents.is_empty() && q.hostnames.is_empty() && q.titles.is_empty() && q.search.is_empty();
    counted.then(|| Counting {
        filter: picket_core::db::counts::CountFilter {
            dataset: ServerAlerts::DECLARED.name,
            ints: q.levels.clone(),
            texts: q.types.clone(),
            ..Default::default()
        },
        time: q.time,
    })
}

/// The sort columns before the final `id`; each `(tenant_id, …, ts)` index yields this order.
fn order_columns(field: ServerAlertSort) -> &'static [ServerAlerts] {
    use ServerAlertSort as F;
    match field {
        F::Id => &[],
        F::Timestamp => &[S::Ts],
        F::Source => &[S::Hostname, S::Ts],
        F::Agent => &[S::Agent, S::Ts],
        F::Type => &[S::Type, S::Ts],
        F::Title => &[S::Title, S::Ts],
        F::Level => &[S::Level, S::Ts],
        // No index: log lines are long (and may exceed a B-tree entry on PostgreSQL).
        F::Log => &[S::Line],
    }
}

/// One page of the tenant's server alerts matching `q`, `id` the last tiebreaker.
pub async fn search(
    db: &Db,
    tenant: TenantId,
    q: &ServerQuery,
    sort: Sort<ServerAlertSort>,
    page: PageRequest,
) -> DbResult<(PageInfo, Vec<ServerAlertRow>)> {
    let rarity = search_rarity(db, q).await?;
    let cond = filter(q, db.backend(), &rarity);
    if let Some(counting) = counting(q) {
        let scoped = S::select(tenant).cond_where(cond.clone()).to_owned();
        let rows = select(tenant).cond_where(cond).to_owned();
        let order = order_columns(sort.field).iter().chain([&S::Id]);
        return fetch_counted_page(
            db,
            tenant,
            &counting,
            &scoped,
            S::col(S::Ts),
            rows,
            order.map(|c| S::col(*c)),
            sort.order,
            page,
            matches!(sort.field, ServerAlertSort::Timestamp),
        )
        .await;
    }
    let count = S::select(tenant)
        .expr_as(Func::count(col(S::Id)), Alias::new("n"))
        .cond_where(cond.clone())
        .to_owned();
    let rows = select(tenant).cond_where(cond).to_owned();
    let order = order_columns(sort.field).iter().chain([&S::Id]);
    fetch_page(
        db,
        &count,
        rows,
        order.map(|c| S::col(*c)),
        sort.order,
        page,
    )
    .await
}

/// Deletes the tenant's alert `id`; answers it as it was.
pub async fn delete(tx: &mut Tx, tenant: TenantId, id: i64) -> DbResult<Option<ServerAlertRow>> {
    let q = S::delete(tenant)
        .and_where(Expr::col(S::Id).eq(id))
        .returning(Query::returning().columns(COLUMNS))
        .to_owned();
    tx.fetch_optional(&q).await
}

/// A server alert as a syslog detection reports it.
#[derive(Debug, Clone, Default)]
pub struct NewServerAlert {
    /// Unix ms.
    pub ts: i64,
    pub agent: String,
    pub agent_name: String,
    pub hostname: String,
    pub level: i64,
    pub kind: String,
    pub title: String,
    pub line: String,
}

#[derive(sqlx::FromRow)]
struct IdRow {
    id: i64,
}

fn alert_values(a: &NewServerAlert) -> Vec<(ServerAlerts, SimpleExpr)> {
    vec![
        (S::Ts, a.ts.into()),
        (S::Agent, a.agent.trim().to_lowercase().into()),
        (S::AgentName, a.agent_name.clone().into()),
        (S::Hostname, a.hostname.trim().to_string().into()),
        (S::Level, a.level.into()),
        (S::Type, a.kind.trim().to_lowercase().into()),
        (S::Title, a.title.clone().into()),
        (S::Line, a.line.clone().into()),
    ]
}

/// Stores a server alert (agent hash and type in lower case, as the filters expect); returns
/// its id.
pub async fn insert_server_alert(
    tx: &mut Tx,
    tenant: TenantId,
    a: &NewServerAlert,
) -> DbResult<i64> {
    let q = S::insert(tenant, alert_values(a))
        .returning_col(S::Id)
        .to_owned();
    Ok(tx.fetch_one::<IdRow>(&q).await?.id)
}

/// [`insert_server_alert`] for many alerts, in multi-row statements (sensor ingest stores a
/// batch's alerts at once); answers the stored rows, in no particular order.
pub async fn insert_server_alerts(
    tx: &mut Tx,
    tenant: TenantId,
    alerts: &[NewServerAlert],
) -> DbResult<Vec<ServerAlertRow>> {
    let mut out = Vec::with_capacity(alerts.len());
    for chunk in alerts.chunks(500) {
        let mut q = S::insert(tenant, alert_values(&chunk[0]));
        for a in &chunk[1..] {
            let mut row: Vec<SimpleExpr> = vec![tenant.0.into()];
            row.extend(alert_values(a).into_iter().map(|(_, v)| v));
            q.values_panic(row);
        }
        q.returning(Query::returning().columns(COLUMNS));
        out.extend(tx.fetch_all::<ServerAlertRow>(&q).await?);
    }
    Ok(out)
}
