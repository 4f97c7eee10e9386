//! Network alert storage: the `network_alerts` table and the alert-owned `network_pcaps`.
//! `src_ip_key` / `dst_ip_key` hold [`ip_sort_key`]s written with the row, so the numeric IP
//! sorts read an index; the IP filters compare the canonical text in `src_ip` / `dst_ip`.

use std::sync::Arc;

use picket_core::db::counts::{endpoint_parts, CountFilter, TextMatch};
use picket_core::db::table::TenantTable;
use picket_core::db::text::Rarity;
use picket_core::db::{Backend, Db, DbResult, Tx};
use picket_core::identity::TenantId;
use picket_core::time::now_ms;
use sea_query::{
    Alias, Condition, Expr, Func, JoinType, Query, SelectStatement, SimpleExpr, Value,
};

use super::wire::{Endpoint, NetworkAlertSort, NetworkQuery, Unique};
use crate::addr::{canonical_ip, ip_sort_key, MacAddr};
use crate::alerts::filters::{
    any_agent, fetch_counted_page, fetch_page, network_search, network_search_rarity, Counting,
};
use crate::datasets::{NetworkAlerts, NetworkPcaps, NETWORK_ALERTS_BY_SOURCE};
use crate::devices::store::{DeviceIps, Devices};
use crate::listing::matching::{self, Pattern};
use crate::listing::{PageInfo, PageRequest, Sort};

use NetworkAlerts as A;

const COLUMNS: [NetworkAlerts; 14] = [
    A::Id,
    A::Ts,
    A::Agent,
    A::AgentName,
    A::SrcMac,
    A::DstMac,
    A::SrcIp,
    A::DstIp,
    A::SrcPort,
    A::DstPort,
    A::Level,
    A::Type,
    A::Subject,
    A::Message,
];

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NetworkAlertRow {
    pub id: i64,
    pub ts: i64,
    pub agent: String,
    pub agent_name: String,
    pub src_mac: String,
    pub dst_mac: String,
    pub src_ip: String,
    pub dst_ip: String,
    pub src_port: i64,
    pub dst_port: i64,
    pub level: i64,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub subject: String,
    pub message: String,
    pub pcap_id: Option<i64>,
}

fn col(c: NetworkAlerts) -> Expr {
    Expr::col(A::col(c))
}

/// The alert columns and its capture's id, for one tenant.
fn select(tenant: TenantId) -> SelectStatement {
    let mut q = A::select(tenant)
        .columns(COLUMNS.map(A::col))
        .expr_as(
            Expr::col(NetworkPcaps::col(NetworkPcaps::Id)),
            Alias::new("pcap_id"),
        )
        .to_owned();
    NetworkPcaps::join(
        &mut q,
        JoinType::LeftJoin,
        tenant,
        Condition::all()
            .add(Expr::col(NetworkPcaps::col(NetworkPcaps::AlertId)).equals(A::col(A::Id))),
    );
    q
}

/// Devices of the tenant whose hostname or friendly name matches `term` (§1.7: names resolve).
fn named_devices(tenant: TenantId, term: &str, backend: Backend) -> SelectStatement {
    let values = [term.to_string()];
    let by_name = |c: Devices| {
        matching::any_text(Expr::col(Devices::col(c)), &values, backend)
            .unwrap_or_else(Condition::all)
    };
    Devices::select(tenant)
        .column(Devices::col(Devices::Id))
        .cond_where(
            Condition::any()
                .add(by_name(Devices::Hostname))
                .add(by_name(Devices::FriendlyName)),
        )
        .to_owned()
}

/// Any of `terms` matches the IP or MAC of one side (the alert's columns, or the parts of a
/// count's key), directly or through a device name.
fn endpoint_cond(
    tenant: TenantId,
    terms: &[Endpoint],
    ip: SimpleExpr,
    mac: SimpleExpr,
    backend: Backend,
) -> Option<Condition> {
    if terms.is_empty() {
        return None;
    }
    let mut any = Condition::any();
    for term in terms {
        match term {
            Endpoint::Ip(s) => any = any.add(Expr::expr(ip.clone()).eq(s.as_str())),
            Endpoint::Mac(m) => any = any.add(Expr::expr(mac.clone()).eq(m.as_str())),
            Endpoint::Other(v) => {
                let values = [v.clone()];
                if matches!(Pattern::parse(v), Pattern::Like(_)) {
                    any = any.add_option(matching::any_text(ip.clone(), &values, backend));
                    any = any.add_option(matching::any_mac(mac.clone(), &values, backend));
                }
                let ips = DeviceIps::select(tenant)
                    .column(DeviceIps::col(DeviceIps::Ip))
                    .and_where(
                        Expr::col(DeviceIps::col(DeviceIps::DeviceId))
                            .in_subquery(named_devices(tenant, v, backend)),
                    )
                    .to_owned();
                let macs = Devices::select(tenant)
                    .column(Devices::col(Devices::Mac))
                    .and_where(
                        Expr::col(Devices::col(Devices::Id))
                            .in_subquery(named_devices(tenant, v, backend)),
                    )
                    .to_owned();
                any = any
                    .add(Expr::expr(ip.clone()).in_subquery(ips))
                    .add(Expr::expr(mac.clone()).in_subquery(macs));
            }
        }
    }
    Some(any)
}

fn filter(q: &NetworkQuery, tenant: TenantId, backend: Backend, rarity: &Rarity) -> Condition {
    let mut c = Condition::all().add(q.time.condition(col(A::Ts)));
    c = c.add_option(any_agent(col(A::Agent), &q.agents));
    c = c.add_option(matching::any_int(col(A::Level), &q.levels));
    if !q.types.is_empty() {
        let types = q.types.iter().cloned();
        c = c.add(if q.exclude_types {
            col(A::Type).is_not_in(types)
        } else {
            col(A::Type).is_in(types)
        });
    }
    let side =
        |terms, ip, mac| endpoint_cond(tenant, terms, col(ip).into(), col(mac).into(), backend);
    c = c.add_option(side(&q.sources, A::SrcIp, A::SrcMac));
    c = c.add_option(side(&q.destinations, A::DstIp, A::DstMac));
    c = c.add_option(matching::any_int(col(A::DstPort), &q.dst_ports));
    c = c.add_option(network_search(&q.search, backend, q.text_path, rarity));
    c
}

/// The part of `q` the kept counts answer, when that is all of it: level and type per day, or
/// level and source endpoint ([`NETWORK_ALERTS_BY_SOURCE`]), the source terms evaluated on the
/// IP and MAC each count is kept for, as on an alert's columns.
fn counting(q: &NetworkQuery, tenant: TenantId, backend: Backend) -> Option<Counting> {
    let counted = q.agents.is_empty()
        && q.destinations.is_empty()
        && q.dst_ports.is_empty()
        && q.search.is_empty()
        && q.unique.is_none();
    if !counted {
        return None;
    }
    let filter = if q.sources.is_empty() {
        CountFilter {
            dataset: NetworkAlerts::DECLARED.name,
            ints: q.levels.clone(),
            texts: q.types.clone(),
            exclude_texts: q.exclude_types,
            ..Default::default()
        }
    } else if q.types.is_empty() {
        let sources = q.sources.clone();
        CountFilter {
            dataset: NETWORK_ALERTS_BY_SOURCE,
            ints: q.levels.clone(),
            text_match: Some(TextMatch(Arc::new(move |table: &str| {
                let (ip, mac) = endpoint_parts(backend, table, NETWORK_ALERTS_BY_SOURCE);
                endpoint_cond(tenant, &sources, Expr::cust(ip), Expr::cust(mac), backend)
                    .unwrap_or_else(Condition::all)
            }))),
            ..Default::default()
        }
    } else {
        return None;
    };
    Some(Counting {
        filter,
        time: q.time,
    })
}

/// The sort columns before the final `id`: each `(tenant_id, …, ts)` index yields this order.
fn order_columns(field: NetworkAlertSort) -> &'static [NetworkAlerts] {
    use NetworkAlertSort as S;
    match field {
        S::Id => &[],
        S::Timestamp => &[A::Ts],
        S::Agent => &[A::Agent, A::Ts],
        S::Source | S::SrcIp => &[A::SrcIpKey, A::SrcMac, A::Ts],
        S::Destination | S::DstIp => &[A::DstIpKey, A::DstMac, A::Ts],
        S::DstPort => &[A::DstPort, A::Ts],
        S::Type => &[A::Type, A::Ts],
        S::Level => &[A::Level, A::Ts],
        S::Subject => &[A::Subject, A::Ts],
        // No index: messages are long free text (and may exceed a B-tree entry on PostgreSQL).
        S::Message => &[A::Message],
    }
}

fn group_columns(u: Unique) -> &'static [NetworkAlerts] {
    match u {
        Unique::Source => &[A::SrcIp],
        Unique::Destination => &[A::DstIp],
        Unique::DestinationPort => &[A::DstIp, A::DstPort],
        Unique::Pair => &[A::SrcIp, A::DstIp],
    }
}

/// One page of the tenant's alerts matching `q`, sorted with `id` as the last tiebreaker. With
/// `unique`, the newest alert (highest id) of each group stands for it and groups are counted.
pub async fn search(
    db: &Db,
    tenant: TenantId,
    q: &NetworkQuery,
    sort: Sort<NetworkAlertSort>,
    page: PageRequest,
) -> DbResult<(PageInfo, Vec<NetworkAlertRow>)> {
    let rarity = network_search_rarity(db, &q.search, q.text_path).await?;
    let cond = filter(q, tenant, db.backend(), &rarity);
    let scoped = A::select(tenant).cond_where(cond.clone()).to_owned();
    let order = order_columns(sort.field).iter().chain([&A::Id]);
    if let Some(counting) = counting(q, tenant, db.backend()) {
        let rows = select(tenant).cond_where(cond).to_owned();
        let by_time = matches!(sort.field, NetworkAlertSort::Timestamp);
        return fetch_counted_page(
            db,
            tenant,
            &counting,
            &scoped,
            A::col(A::Ts),
            rows,
            order.map(|c| A::col(*c)),
            sort.order,
            page,
            by_time,
        )
        .await;
    }
    let (count, rows_cond) = match q.unique {
        None => {
            let count = scoped
                .clone()
                .expr_as(Func::count(col(A::Id)), Alias::new("n"))
                .to_owned();
            (count, cond)
        }
        Some(u) => {
            let groups = scoped
                .clone()
                .expr_as(Func::max(col(A::Id)), Alias::new("id"))
                .group_by_columns(group_columns(u).iter().map(|c| A::col(*c)))
                .to_owned();
            let count = Query::select()
                .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
                .from_subquery(groups.clone(), Alias::new("g"))
                .to_owned();
            (count, Condition::all().add(col(A::Id).in_subquery(groups)))
        }
    };
    let rows = select(tenant).cond_where(rows_cond).to_owned();
    fetch_page(
        db,
        &count,
        rows,
        order.map(|c| A::col(*c)),
        sort.order,
        page,
    )
    .await
}

pub async fn find(tx: &mut Tx, tenant: TenantId, id: i64) -> DbResult<Option<NetworkAlertRow>> {
    let q = select(tenant).and_where(col(A::Id).eq(id)).to_owned();
    tx.fetch_optional(&q).await
}

/// Deletes the alert and its capture; answers the alert as it was.
pub async fn delete(tx: &mut Tx, tenant: TenantId, id: i64) -> DbResult<Option<NetworkAlertRow>> {
    let Some(row) = find(tx, tenant, id).await? else {
        return Ok(None);
    };
    let pcaps = NetworkPcaps::delete(tenant)
        .and_where(Expr::col(NetworkPcaps::AlertId).eq(id))
        .to_owned();
    tx.execute(&pcaps).await?;
    let alert = A::delete(tenant)
        .and_where(Expr::col(A::Id).eq(id))
        .to_owned();
    tx.execute(&alert).await?;
    Ok(Some(row))
}

/// An alert of one sensor flow, and whether it has its capture yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct FlowAlert {
    pub id: i64,
    pub flow_id: i64,
    pub has_pcap: bool,
}

/// The tenant's alerts from `agent` (hash, any case) whose sensor flow id is one of `flow_ids`.
pub async fn flow_alerts(
    tx: &mut Tx,
    tenant: TenantId,
    agent: &str,
    flow_ids: &[i64],
) -> DbResult<Vec<FlowAlert>> {
    if flow_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = A::select(tenant)
        .column(A::col(A::Id))
        .column(A::col(A::FlowId))
        .expr_as(
            Expr::col(NetworkPcaps::col(NetworkPcaps::Id)).is_not_null(),
            Alias::new("has_pcap"),
        )
        .and_where(col(A::Agent).eq(agent.trim().to_lowercase()))
        .and_where(col(A::FlowId).is_in(flow_ids.iter().copied()))
        .order_by(A::col(A::Id), sea_query::Order::Asc)
        .to_owned();
    NetworkPcaps::join(
        &mut q,
        JoinType::LeftJoin,
        tenant,
        Condition::all()
            .add(Expr::col(NetworkPcaps::col(NetworkPcaps::AlertId)).equals(A::col(A::Id))),
    );
    tx.fetch_all(&q).await
}

/// The tenant's alerts `ids` as stored (with their capture ids), inside a transaction.
pub async fn find_many(
    tx: &mut Tx,
    tenant: TenantId,
    ids: &[i64],
) -> DbResult<Vec<NetworkAlertRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let q = select(tenant)
        .and_where(col(A::Id).is_in(ids.iter().copied()))
        .order_by(A::col(A::Id), sea_query::Order::Asc)
        .to_owned();
    tx.fetch_all(&q).await
}

/// A stored capture: its id and size in bytes.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct PcapInfo {
    pub id: i64,
    pub size: i64,
}

/// The capture of the tenant's alert `alert_id`, if both exist.
pub async fn pcap_info(db: &Db, tenant: TenantId, alert_id: i64) -> DbResult<Option<PcapInfo>> {
    let q = NetworkPcaps::select(tenant)
        .column(NetworkPcaps::Id)
        .expr_as(
            Expr::expr(
                Func::cust(Alias::new("LENGTH"))
                    .arg(Expr::col(NetworkPcaps::col(NetworkPcaps::Data))),
            )
            .cast_as(Alias::new("BIGINT")),
            Alias::new("size"),
        )
        .and_where(Expr::col(NetworkPcaps::AlertId).eq(alert_id))
        .to_owned();
    db.fetch_optional(&q).await
}

#[derive(sqlx::FromRow)]
struct Chunk {
    chunk: Vec<u8>,
}

/// `len` bytes of capture `id` from byte `offset` (0-based); `None` once the row is gone.
/// `SUBSTR` works on SQLite blobs and PostgreSQL `bytea` alike, so a capture is never read
/// into memory whole.
pub async fn pcap_chunk(
    db: &Db,
    tenant: TenantId,
    id: i64,
    offset: i64,
    len: i32,
) -> DbResult<Option<Vec<u8>>> {
    let start = i32::try_from(offset + 1).unwrap_or(i32::MAX);
    let q = NetworkPcaps::select(tenant)
        .expr_as(
            Func::cust(Alias::new("SUBSTR"))
                .arg(Expr::col(NetworkPcaps::Data))
                .arg(Value::Int(Some(start)))
                .arg(Value::Int(Some(len))),
            Alias::new("chunk"),
        )
        .and_where(Expr::col(NetworkPcaps::Id).eq(id))
        .to_owned();
    Ok(db.fetch_optional::<Chunk>(&q).await?.map(|c| c.chunk))
}

/// A network alert as a detection reports it.
#[derive(Debug, Clone, Default)]
pub struct NewNetworkAlert {
    /// Unix ms.
    pub ts: i64,
    pub agent: String,
    pub agent_name: String,
    pub src_mac: String,
    pub dst_mac: String,
    pub src_ip: String,
    pub dst_ip: String,
    pub src_port: i64,
    pub dst_port: i64,
    pub level: i64,
    pub kind: String,
    pub subject: String,
    pub message: String,
    /// The sensor's flow id, which a later capture upload names.
    pub flow_id: Option<i64>,
}

fn ip_text(s: &str) -> String {
    canonical_ip(s).unwrap_or_else(|| s.trim().to_string())
}

fn mac_text(s: &str) -> String {
    MacAddr::parse(s)
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|_| s.trim().to_string())
}

fn alert_values(a: &NewNetworkAlert) -> Vec<(NetworkAlerts, SimpleExpr)> {
    let (src_ip, dst_ip) = (ip_text(&a.src_ip), ip_text(&a.dst_ip));
    vec![
        (A::Ts, a.ts.into()),
        (A::Agent, a.agent.trim().to_lowercase().into()),
        (A::AgentName, a.agent_name.clone().into()),
        (A::SrcMac, mac_text(&a.src_mac).into()),
        (A::DstMac, mac_text(&a.dst_mac).into()),
        (A::SrcIpKey, ip_sort_key(&src_ip).into()),
        (A::DstIpKey, ip_sort_key(&dst_ip).into()),
        (A::SrcIp, src_ip.into()),
        (A::DstIp, dst_ip.into()),
        (A::SrcPort, a.src_port.into()),
        (A::DstPort, a.dst_port.into()),
        (A::Level, a.level.into()),
        (A::Type, a.kind.trim().to_lowercase().into()),
        (A::Subject, a.subject.clone().into()),
        (A::Message, a.message.clone().into()),
        (A::FlowId, a.flow_id.into()),
    ]
}

/// Stores an alert in the one spelling the filters expect (canonical IPs and MACs, lower-case
/// agent and type) with the IP sort keys; returns its id.
pub async fn insert_network_alert(
    tx: &mut Tx,
    tenant: TenantId,
    a: &NewNetworkAlert,
) -> DbResult<i64> {
    let q = A::insert(tenant, alert_values(a))
        .returning_col(A::Id)
        .to_owned();
    Ok(tx.fetch_one::<IdRow>(&q).await?.id)
}

/// An alert as [`insert_network_alerts`] stored it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InsertedAlert {
    pub id: i64,
    pub flow_id: Option<i64>,
    pub level: i64,
    #[sqlx(rename = "type")]
    pub kind: String,
}

/// [`insert_network_alert`] for many alerts, in multi-row statements (sensor ingest stores a
/// batch's alerts at once); answers what was stored, in no particular order.
pub async fn insert_network_alerts(
    tx: &mut Tx,
    tenant: TenantId,
    alerts: &[NewNetworkAlert],
) -> DbResult<Vec<InsertedAlert>> {
    let mut out = Vec::with_capacity(alerts.len());
    for chunk in alerts.chunks(500) {
        let mut q = A::insert(tenant, alert_values(&chunk[0]));
        for a in &chunk[1..] {
            let mut row: Vec<SimpleExpr> = vec![tenant.0.into()];
            row.extend(alert_values(a).into_iter().map(|(_, v)| v));
            q.values_panic(row);
        }
        q.returning(Query::returning().columns([A::Id, A::FlowId, A::Level, A::Type]));
        out.extend(tx.fetch_all::<InsertedAlert>(&q).await?);
    }
    Ok(out)
}

#[derive(sqlx::FromRow)]
struct IdRow {
    id: i64,
}

/// Attaches a capture to an alert (one per alert); returns the capture's id.
pub async fn insert_pcap(
    tx: &mut Tx,
    tenant: TenantId,
    alert_id: i64,
    data: &[u8],
) -> DbResult<i64> {
    let q = NetworkPcaps::insert(
        tenant,
        vec![
            (NetworkPcaps::AlertId, alert_id.into()),
            (NetworkPcaps::Data, data.to_vec().into()),
            (NetworkPcaps::CreatedAt, now_ms().into()),
        ],
    )
    .returning_col(NetworkPcaps::Id)
    .to_owned();
    Ok(tx.fetch_one::<IdRow>(&q).await?.id)
}
