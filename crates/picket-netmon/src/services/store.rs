//! Storage of discovered services: one row per (tenant, ip, port, proto). Rows are read with
//! the name of the device holding the IP, for the `name` rule of §2.3.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU16;

use picket_core::db::table::TenantTable;
use picket_core::db::{Backend, DbError, DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::{Condition, Expr, OnConflict, Order, Query, SelectStatement, SimpleExpr};

use super::policy::Policy;
use super::policy_store;
use super::schema::Services as S;
use super::wire::{Proto, ServiceData, ServiceFilters, ServiceSort};
use crate::addr::{canonical_ip, ip_sort_key};
use crate::devices::store::Devices;
use crate::listing::{matching, Sort};

const COLUMNS: [S; 6] = [
    S::Id,
    S::ServiceIp,
    S::ServicePort,
    S::Proto,
    S::FirstSeen,
    S::LastSeen,
];

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServiceRow {
    pub id: i64,
    pub service_ip: String,
    pub service_port: i64,
    pub proto: String,
    pub first_seen: i64,
    pub last_seen: i64,
    /// Friendly name, else hostname, of the newest-seen device whose `last_ip` is the
    /// service's IP; `""` when none. Filled by [`fill_device_names`].
    #[sqlx(skip)]
    pub device_name: String,
}

impl ServiceRow {
    /// The stored values as validated data (the base an update applies to).
    pub fn data(&self) -> Option<ServiceData> {
        Some(ServiceData {
            ip: self.service_ip.parse().ok()?,
            port: self.service_port,
            proto: Proto::parse(&self.proto).ok()?,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
        })
    }
}

#[derive(sqlx::FromRow)]
struct DeviceName {
    last_ip: String,
    friendly_name: String,
    hostname: String,
}

/// IPs per devices query: well below every backend's limit on bound parameters.
const IPS_PER_QUERY: usize = 1000;

/// Fills each row's `device_name`: the friendly name, else the hostname, of the newest-seen
/// device whose `last_ip` is the row's IP. One indexed `IN` lookup per batch of distinct IPs
/// (a correlated subquery per row made SQLite walk a whole index per row, preferring the
/// `last_seen` index its `ORDER BY … LIMIT 1` could read in order).
async fn fill_device_names(tx: &mut Tx, tenant: TenantId, rows: &mut [ServiceRow]) -> DbResult<()> {
    let mut ips: Vec<&str> = rows.iter().map(|r| r.service_ip.as_str()).collect();
    ips.sort_unstable();
    ips.dedup();
    let mut names: HashMap<String, String> = HashMap::new();
    for chunk in ips.chunks(IPS_PER_QUERY) {
        let q = Devices::select(tenant)
            .columns([Devices::LastIp, Devices::FriendlyName, Devices::Hostname])
            .and_where(Expr::col(Devices::LastIp).is_in(chunk.iter().copied()))
            // The newest device last, so it wins the insert below.
            .order_by(Devices::LastSeen, Order::Asc)
            .order_by(Devices::Id, Order::Asc)
            .to_owned();
        for d in tx.fetch_all::<DeviceName>(&q).await? {
            let name = if d.friendly_name.is_empty() {
                d.hostname
            } else {
                d.friendly_name
            };
            names.insert(d.last_ip, name);
        }
    }
    for r in rows.iter_mut() {
        r.device_name = names.get(&r.service_ip).cloned().unwrap_or_default();
    }
    Ok(())
}

fn select(tenant: TenantId) -> SelectStatement {
    S::select(tenant).columns(COLUMNS.map(S::col)).to_owned()
}

fn filter(f: &ServiceFilters, backend: Backend) -> Condition {
    let col = |c: S| Expr::col(S::col(c));
    let mut cond = Condition::all();
    if let Some(m) =
        matching::any_canonical(col(S::ServiceIp), &f.service_ip.0, backend, canonical_ip)
    {
        cond = cond.add(m);
    }
    if !f.proto.0.is_empty() {
        let protos = f.proto.0.iter().map(|p| p.trim().to_lowercase());
        cond = cond.add(col(S::Proto).is_in(protos));
    }
    if let Some(m) = matching::any_int(col(S::ServicePort), &f.service_port.0) {
        cond = cond.add(m);
    }
    cond
}

/// The tenant's services matching `filters` (all but the computed `authorized`), sorted,
/// `id` last.
pub async fn search(
    tx: &mut Tx,
    tenant: TenantId,
    filters: &ServiceFilters,
    sort: Sort<ServiceSort>,
) -> DbResult<Vec<ServiceRow>> {
    let key = match sort.field {
        ServiceSort::Id => S::Id,
        ServiceSort::ServiceIp => S::ServiceIpKey,
        ServiceSort::Proto => S::Proto,
        ServiceSort::ServicePort => S::ServicePort,
        ServiceSort::FirstSeen => S::FirstSeen,
        ServiceSort::LastSeen => S::LastSeen,
    };
    let backend = tx.backend();
    let q = select(tenant)
        .cond_where(filter(filters, backend))
        .order_by(S::col(key), sort.order.clone())
        .order_by(S::col(S::Id), sort.order)
        .to_owned();
    let mut rows = tx.fetch_all(&q).await?;
    fill_device_names(tx, tenant, &mut rows).await?;
    Ok(rows)
}

pub async fn find(tx: &mut Tx, tenant: TenantId, id: i64) -> DbResult<Option<ServiceRow>> {
    let q = select(tenant)
        .and_where(Expr::col(S::col(S::Id)).eq(id))
        .to_owned();
    let Some(row) = tx.fetch_optional::<ServiceRow>(&q).await? else {
        return Ok(None);
    };
    let mut rows = [row];
    fill_device_names(tx, tenant, &mut rows).await?;
    let [row] = rows;
    Ok(Some(row))
}

fn key(ip: &str, port: i64, proto: Proto) -> Condition {
    Condition::all()
        .add(Expr::col(S::col(S::ServiceIp)).eq(ip))
        .add(Expr::col(S::col(S::ServicePort)).eq(port))
        .add(Expr::col(S::col(S::Proto)).eq(proto.as_str()))
}

/// Whether another row of the tenant has `d`'s (ip, port, proto), for a 409 before writing;
/// the unique index still decides under concurrency.
pub async fn clash(
    tx: &mut Tx,
    tenant: TenantId,
    d: &ServiceData,
    except: Option<i64>,
) -> DbResult<bool> {
    let mut q = select(tenant)
        .cond_where(key(&d.ip.to_string(), d.port, d.proto))
        .to_owned();
    if let Some(id) = except {
        q.and_where(Expr::col(S::col(S::Id)).ne(id));
    }
    Ok(tx.fetch_optional::<ServiceRow>(&q).await?.is_some())
}

fn values(d: &ServiceData) -> Vec<(S, SimpleExpr)> {
    let ip = d.ip.to_string();
    vec![
        (S::ServiceIpKey, ip_sort_key(&ip).into()),
        (S::ServiceIp, ip.into()),
        (S::ServicePort, d.port.into()),
        (S::Proto, d.proto.as_str().into()),
        (S::FirstSeen, d.first_seen.into()),
        (S::LastSeen, d.last_seen.into()),
    ]
}

#[derive(sqlx::FromRow)]
struct Id {
    id: i64,
}

/// Inserts the row; the caller checked [`clash`] (a race still fails on the unique index).
pub async fn insert(tx: &mut Tx, tenant: TenantId, d: &ServiceData) -> DbResult<ServiceRow> {
    let q = S::insert(tenant, values(d))
        .returning(Query::returning().column(S::Id))
        .to_owned();
    let id: Id = tx.fetch_one(&q).await?;
    find(tx, tenant, id.id).await?.ok_or_else(gone)
}

/// A row this transaction just wrote is not there: a storage fault, never a 404.
fn gone() -> DbError {
    DbError::Sqlx(sqlx::Error::RowNotFound)
}

pub async fn update(
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
    d: &ServiceData,
) -> DbResult<Option<ServiceRow>> {
    let q = S::update(tenant)
        .values(values(d))
        .and_where(Expr::col(S::Id).eq(id))
        .to_owned();
    if tx.execute(&q).await? == 0 {
        return Ok(None);
    }
    find(tx, tenant, id).await
}

pub async fn delete(tx: &mut Tx, tenant: TenantId, id: i64) -> DbResult<u64> {
    let q = S::delete(tenant)
        .and_where(Expr::col(S::Id).eq(id))
        .to_owned();
    tx.execute(&q).await
}

/// What [`observe_service`] found.
#[derive(Debug, Clone)]
pub struct ObservedService {
    /// The service row id.
    pub id: i64,
    /// The service was not known before this sighting.
    pub created: bool,
    /// Computed with the tenant's allowed-service entries and exclude rules: an excluded port
    /// is not authorized even when an entry allows it.
    pub authorized: bool,
}

/// Records that a sensor saw `ip:port/proto` answer at `at_ms` (port 0 is no service, so the
/// type rules it out): creates the row on first sight, otherwise keeps the earliest first and
/// latest last sighting (computed in SQL from the row the UPDATE finds, so concurrent
/// sightings cannot undo each other). Tells whether the service is new and whether it is
/// authorized, which is what the `new_service` detection needs: a new, unauthorized service.
/// Three statements per sighting: insert or widen, and the policy for this port.
pub async fn observe_service(
    tx: &mut Tx,
    tenant: TenantId,
    ip: IpAddr,
    port: NonZeroU16,
    proto: Proto,
    at_ms: i64,
) -> DbResult<ObservedService> {
    let port = i64::from(port.get());
    let d = ServiceData {
        ip,
        port,
        proto,
        first_seen: at_ms,
        last_seen: at_ms,
    };
    let insert = S::insert(tenant, values(&d))
        .on_conflict(
            OnConflict::columns([S::TenantId, S::ServiceIp, S::ServicePort, S::Proto])
                .do_nothing()
                .to_owned(),
        )
        .returning(Query::returning().column(S::Id))
        .to_owned();
    let inserted: Option<Id> = tx.fetch_optional(&insert).await?;
    let created = inserted.is_some();
    let id = match inserted {
        Some(Id { id }) => id,
        None => {
            let widen = |col: S, newer: SimpleExpr| -> SimpleExpr {
                Expr::case(newer, at_ms).finally(Expr::col(col)).into()
            };
            let q = S::update(tenant)
                .values([
                    (
                        S::FirstSeen,
                        widen(S::FirstSeen, Expr::col(S::FirstSeen).gt(at_ms)),
                    ),
                    (
                        S::LastSeen,
                        widen(S::LastSeen, Expr::col(S::LastSeen).lt(at_ms)),
                    ),
                ])
                .cond_where(key(&ip.to_string(), port, proto))
                .returning(Query::returning().column(S::Id))
                .to_owned();
            tx.fetch_one::<Id>(&q).await?.id
        }
    };
    let (allowed, excluded) = policy_store::rules_for_port(tx, tenant, port, proto).await?;
    let policy = Policy::new(&allowed, &excluded);
    Ok(ObservedService {
        id,
        created,
        authorized: policy.authorized(ip, port, proto),
    })
}

/// One service a sensor batch saw answer: its earliest and latest time.
#[derive(Debug, Clone)]
pub struct ServiceSighting {
    pub ip: IpAddr,
    pub port: NonZeroU16,
    pub proto: Proto,
    pub first: i64,
    pub last: i64,
}

/// Services per multi-row statement (7 values a row).
const SERVICES_PER_STATEMENT: usize = 400;

/// Records a batch of distinct sightings with the rules of [`observe_service`] in two
/// multi-row statements per [`SERVICES_PER_STATEMENT`]: one creates the services not known
/// yet (and tells which), one widens every row's first and last sighting. Answers the
/// services it created, each with whether it is authorized (what `new_service` asks).
pub async fn observe_services(
    tx: &mut Tx,
    tenant: TenantId,
    sightings: &[ServiceSighting],
) -> DbResult<Vec<CreatedService>> {
    #[derive(sqlx::FromRow)]
    struct Key {
        id: i64,
        service_ip: String,
        service_port: i64,
        proto: String,
    }
    let data = |s: &ServiceSighting| ServiceData {
        ip: s.ip,
        port: i64::from(s.port.get()),
        proto: s.proto,
        first_seen: s.first,
        last_seen: s.last,
    };
    let key_of = |ip: &str, port: i64, proto: &str| (ip.to_string(), port, proto.to_string());
    let mut order: Vec<usize> = (0..sightings.len()).collect();
    order.sort_by_key(|&i| {
        let s = &sightings[i];
        (s.ip, s.port, s.proto.as_str())
    });
    let excluded = |c: S| Expr::col((sea_query::Alias::new("excluded"), c));
    let current = |c: S| Expr::col(S::col(c));
    let mut created = std::collections::HashSet::new();
    let mut ids = HashMap::new();
    for chunk in order.chunks(SERVICES_PER_STATEMENT) {
        let build = || S::insert_rows(tenant, chunk.iter().map(|&i| values(&data(&sightings[i]))));
        let (Some(mut create), Some(mut upsert)) = (build(), build()) else {
            continue;
        };
        create
            .on_conflict(
                OnConflict::columns([S::TenantId, S::ServiceIp, S::ServicePort, S::Proto])
                    .do_nothing()
                    .to_owned(),
            )
            .returning(Query::returning().columns([S::Id, S::ServiceIp, S::ServicePort, S::Proto]));
        for k in tx.fetch_all::<Key>(&create).await? {
            created.insert(key_of(&k.service_ip, k.service_port, &k.proto));
        }
        let widen = |c: S, when: SimpleExpr| -> (S, SimpleExpr) {
            (c, Expr::case(when, excluded(c)).finally(current(c)).into())
        };
        upsert
            .on_conflict(
                OnConflict::columns([S::TenantId, S::ServiceIp, S::ServicePort, S::Proto])
                    .values([
                        widen(
                            S::FirstSeen,
                            excluded(S::FirstSeen).lt(current(S::FirstSeen)),
                        ),
                        widen(S::LastSeen, excluded(S::LastSeen).gt(current(S::LastSeen))),
                    ])
                    .to_owned(),
            )
            .returning(Query::returning().columns([S::Id, S::ServiceIp, S::ServicePort, S::Proto]));
        for k in tx.fetch_all::<Key>(&upsert).await? {
            ids.insert(key_of(&k.service_ip, k.service_port, &k.proto), k.id);
        }
    }
    let mut out = Vec::new();
    for (index, s) in sightings.iter().enumerate() {
        let port = i64::from(s.port.get());
        let key = key_of(&s.ip.to_string(), port, s.proto.as_str());
        if !created.contains(&key) {
            continue;
        }
        let id = ids.get(&key).copied().ok_or_else(gone)?;
        let (allowed, excluded) = policy_store::rules_for_port(tx, tenant, port, s.proto).await?;
        out.push(CreatedService {
            index,
            id,
            authorized: Policy::new(&allowed, &excluded).authorized(s.ip, port, s.proto),
        });
    }
    Ok(out)
}

/// A service [`observe_services`] created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedService {
    /// Its sighting's position in the batch given.
    pub index: usize,
    /// The new service row's id.
    pub id: i64,
    /// Computed with the tenant's allowed-service entries and exclude rules, as in
    /// [`ObservedService`].
    pub authorized: bool,
}
