//! Storage of discovered services: one row per (tenant, ip, port, proto). Rows are read with
//! the name of the device holding the IP, for the `name` rule of §2.3.

use std::net::IpAddr;
use std::num::NonZeroU16;

use picket_core::db::{Backend, DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::{
    Alias, Condition, Expr, Func, OnConflict, Order, Query, SelectStatement, SimpleExpr,
};

use super::policy_store;
use super::schema::Services as S;
use super::wire::{Proto, ServiceData, ServiceFilters, ServiceSort};
use crate::addr::{canonical_ip, ip_sort_key};
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
    /// service's IP; `""` when none.
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

/// `(SELECT friendly name or hostname FROM devices … LIMIT 1)`, `""` when no device holds
/// the IP. Reads the devices' `(tenant_id, last_ip)` index.
fn device_name() -> SimpleExpr {
    let d = Alias::new("d");
    let col = |c: &str| Expr::col((d.clone(), Alias::new(c)));
    let name =
        Expr::case(col("friendly_name").ne(""), col("friendly_name")).finally(col("hostname"));
    let sub = Query::select()
        .expr(name)
        .from_as(Alias::new("devices"), d.clone())
        .and_where(col("tenant_id").equals((S::Table, S::TenantId)))
        .and_where(col("last_ip").equals((S::Table, S::ServiceIp)))
        .order_by((d.clone(), Alias::new("last_seen")), Order::Desc)
        .order_by((d, Alias::new("id")), Order::Desc)
        .limit(1)
        .to_owned();
    Func::coalesce([
        SimpleExpr::SubQuery(None, Box::new(sub.into_sub_query_statement())),
        Expr::val("").into(),
    ])
    .into()
}

fn select(tenant: TenantId) -> SelectStatement {
    Query::select()
        .columns(COLUMNS.map(|c| (S::Table, c)))
        .expr_as(device_name(), Alias::new("device_name"))
        .from(S::Table)
        .and_where(Expr::col((S::Table, S::TenantId)).eq(tenant))
        .to_owned()
}

fn filter(f: &ServiceFilters, backend: Backend) -> Condition {
    let col = |c: S| Expr::col((S::Table, c));
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
        .order_by((S::Table, key), sort.order.clone())
        .order_by((S::Table, S::Id), sort.order)
        .to_owned();
    tx.fetch_all(&q).await
}

pub async fn find(tx: &mut Tx, tenant: TenantId, id: i64) -> DbResult<Option<ServiceRow>> {
    let q = select(tenant)
        .and_where(Expr::col((S::Table, S::Id)).eq(id))
        .to_owned();
    tx.fetch_optional(&q).await
}

fn key(ip: &str, port: i64, proto: Proto) -> Condition {
    Condition::all()
        .add(Expr::col((S::Table, S::ServiceIp)).eq(ip))
        .add(Expr::col((S::Table, S::ServicePort)).eq(port))
        .add(Expr::col((S::Table, S::Proto)).eq(proto.as_str()))
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
        q.and_where(Expr::col((S::Table, S::Id)).ne(id));
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
    let (mut cols, mut vals): (Vec<S>, Vec<SimpleExpr>) = values(d).into_iter().unzip();
    cols.push(S::TenantId);
    vals.push(tenant.0.into());
    let q = Query::insert()
        .into_table(S::Table)
        .columns(cols)
        .values_panic(vals)
        .returning(Query::returning().column(S::Id))
        .to_owned();
    let id: Id = tx.fetch_one(&q).await?;
    reread(tx, tenant, id.id).await
}

async fn reread(tx: &mut Tx, tenant: TenantId, id: i64) -> DbResult<ServiceRow> {
    find(tx, tenant, id)
        .await?
        .ok_or(picket_core::db::DbError::Sqlx(sqlx::Error::RowNotFound))
}

pub async fn update(
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
    d: &ServiceData,
) -> DbResult<Option<ServiceRow>> {
    let q = Query::update()
        .table(S::Table)
        .values(values(d))
        .and_where(Expr::col(S::TenantId).eq(tenant))
        .and_where(Expr::col(S::Id).eq(id))
        .to_owned();
    if tx.execute(&q).await? == 0 {
        return Ok(None);
    }
    find(tx, tenant, id).await
}

pub async fn delete(tx: &mut Tx, tenant: TenantId, id: i64) -> DbResult<u64> {
    let q = Query::delete()
        .from_table(S::Table)
        .and_where(Expr::col(S::TenantId).eq(tenant))
        .and_where(Expr::col(S::Id).eq(id))
        .to_owned();
    tx.execute(&q).await
}

/// What [`observe_service`] found.
#[derive(Debug, Clone)]
pub struct ObservedService {
    pub row: ServiceRow,
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
    let (mut cols, mut vals): (Vec<S>, Vec<SimpleExpr>) = values(&d).into_iter().unzip();
    cols.push(S::TenantId);
    vals.push(tenant.0.into());
    let insert = Query::insert()
        .into_table(S::Table)
        .columns(cols)
        .values_panic(vals)
        .on_conflict(
            OnConflict::columns([S::TenantId, S::ServiceIp, S::ServicePort, S::Proto])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    let created = tx.execute(&insert).await? > 0;
    let ip_text = ip.to_string();
    if !created {
        let widen = |col: S, newer: SimpleExpr| -> SimpleExpr {
            Expr::case(newer, at_ms).finally(Expr::col(col)).into()
        };
        let q = Query::update()
            .table(S::Table)
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
            .and_where(Expr::col(S::TenantId).eq(tenant))
            .and_where(Expr::col(S::ServiceIp).eq(ip_text.as_str()))
            .and_where(Expr::col(S::ServicePort).eq(port))
            .and_where(Expr::col(S::Proto).eq(proto.as_str()))
            .to_owned();
        tx.execute(&q).await?;
    }
    let q = select(tenant)
        .cond_where(key(&ip_text, port, proto))
        .to_owned();
    let row: ServiceRow = tx.fetch_one(&q).await?;
    let policy = policy_store::load_for_port(tx, tenant, port, proto).await?;
    Ok(ObservedService {
        authorized: policy.authorized(ip, port, proto),
        row,
        created,
    })
}
