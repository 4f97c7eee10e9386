//! Storage of allowed-service entries and exclude rules.

use chrono_tz::Tz;
use ipnet::IpNet;
use picket_core::db::table::TenantTable;
use picket_core::db::{DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::{Condition, Expr, OnConflict, Order, Query, SelectStatement};

use super::policy_wire::{AllowedData, AllowedService, ExcludeData, ExcludeRule, Target};
use super::schema::{AllowedServices as A, ServiceExcludeRules as X};
use super::wire::{block_text, Proto};
use crate::clock;
use crate::networks::store::Networks;

const ALLOWED_COLUMNS: [A; 6] = [
    A::Id,
    A::ServiceIp,
    A::ServicePort,
    A::Proto,
    A::Name,
    A::CreatedAt,
];

const EXCLUDE_COLUMNS: [X; 7] = [
    X::Id,
    X::Ip,
    X::PortFrom,
    X::PortTo,
    X::Proto,
    X::Comment,
    X::CreatedAt,
];

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AllowedRow {
    pub id: i64,
    pub service_ip: String,
    pub service_port: i64,
    pub proto: String,
    pub name: String,
    pub created_at: i64,
}

impl AllowedRow {
    pub fn to_wire(&self, tz: Tz) -> AllowedService {
        AllowedService {
            id: self.id,
            service_ip: self.service_ip.clone(),
            service_port: self.service_port,
            proto: self.proto.clone(),
            name: self.name.clone(),
            created_at: clock::format(self.created_at, tz),
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExcludeRow {
    pub id: i64,
    pub ip: String,
    pub port_from: Option<i64>,
    pub port_to: Option<i64>,
    pub proto: Option<String>,
    pub comment: String,
    pub created_at: i64,
}

impl ExcludeRow {
    pub fn to_wire(&self, tz: Tz) -> ExcludeRule {
        ExcludeRule {
            id: self.id,
            ip: self.ip.clone(),
            port_from: self.port_from,
            port_to: self.port_to,
            proto: self.proto.clone(),
            comment: self.comment.clone(),
            created_at: clock::format(self.created_at, tz),
        }
    }
}

fn allowed(tenant: TenantId) -> SelectStatement {
    A::select(tenant)
        .columns(ALLOWED_COLUMNS)
        .order_by(A::Id, Order::Asc)
        .to_owned()
}

fn excludes(tenant: TenantId) -> SelectStatement {
    X::select(tenant)
        .columns(EXCLUDE_COLUMNS)
        .order_by(X::Id, Order::Asc)
        .to_owned()
}

/// The tenant's allowed-service entries and exclude rules, which make its
/// [`Policy`](super::policy::Policy).
pub async fn rules(tx: &mut Tx, tenant: TenantId) -> DbResult<Rules> {
    let a = list_allowed(tx, tenant).await?;
    let x = list_excludes(tx, tenant).await?;
    Ok((a, x))
}

/// Allowed-service entries and exclude rules.
pub type Rules = (Vec<AllowedRow>, Vec<ExcludeRow>);

/// The rules of the tenant that can match one (port, proto): what sensor ingest needs per
/// observation.
pub async fn rules_for_port(
    tx: &mut Tx,
    tenant: TenantId,
    port: i64,
    proto: Proto,
) -> DbResult<Rules> {
    let a: Vec<AllowedRow> = tx
        .fetch_all(
            &allowed(tenant)
                .and_where(Expr::col(A::ServicePort).eq(port))
                .and_where(Expr::col(A::Proto).eq(proto.as_str()))
                .to_owned(),
        )
        .await?;
    let x: Vec<ExcludeRow> = tx
        .fetch_all(
            &excludes(tenant)
                .cond_where(
                    Condition::any()
                        .add(Expr::col(X::Proto).is_null())
                        .add(Expr::col(X::Proto).eq(proto.as_str())),
                )
                .cond_where(
                    Condition::any().add(Expr::col(X::PortFrom).is_null()).add(
                        Condition::all()
                            .add(Expr::col(X::PortFrom).lte(port))
                            .add(Expr::col(X::PortTo).gte(port)),
                    ),
                )
                .to_owned(),
        )
        .await?;
    Ok((a, x))
}

pub async fn list_allowed(tx: &mut Tx, tenant: TenantId) -> DbResult<Vec<AllowedRow>> {
    tx.fetch_all(&allowed(tenant)).await
}

pub async fn list_excludes(tx: &mut Tx, tenant: TenantId) -> DbResult<Vec<ExcludeRow>> {
    tx.fetch_all(&excludes(tenant)).await
}

/// The most specific network of the tenant that holds the whole target; `None` for `*` or a
/// target outside every network.
async fn network_of(tx: &mut Tx, tenant: TenantId, target: Target) -> DbResult<Option<i64>> {
    #[derive(sqlx::FromRow)]
    struct Net {
        id: i64,
        cidr: String,
    }
    let Target::Block(block) = target else {
        return Ok(None);
    };
    let q = Networks::select(tenant)
        .columns([Networks::Id, Networks::Cidr])
        .order_by(Networks::Id, Order::Asc)
        .to_owned();
    let nets: Vec<Net> = tx.fetch_all(&q).await?;
    let mut best: Option<(u8, i64)> = None;
    for n in nets {
        let Ok(net) = n.cidr.parse::<IpNet>() else {
            continue;
        };
        if net.contains(&block) && best.is_none_or(|(len, _)| net.prefix_len() > len) {
            best = Some((net.prefix_len(), n.id));
        }
    }
    Ok(best.map(|(_, id)| id))
}

/// Adds the entry, or finds the existing one for the same (ip, port, proto) and renames it when
/// `d.name` is given. Idempotent and safe under concurrency (the unique index decides).
pub async fn authorize(
    tx: &mut Tx,
    tenant: TenantId,
    d: &AllowedData,
    now: i64,
) -> DbResult<AllowedRow> {
    let ip = d.target.text();
    let network = network_of(tx, tenant, d.target).await?;
    let insert = A::insert(
        tenant,
        vec![
            (A::NetworkId, network.into()),
            (A::ServiceIp, ip.clone().into()),
            (A::ServicePort, d.port.into()),
            (A::Proto, d.proto.as_str().into()),
            (A::Name, d.name.clone().unwrap_or_default().into()),
            (A::CreatedAt, now.into()),
        ],
    )
    .on_conflict(
        OnConflict::columns([A::TenantId, A::ServiceIp, A::ServicePort, A::Proto])
            .do_nothing()
            .to_owned(),
    )
    .to_owned();
    tx.execute(&insert).await?;
    let key = Condition::all()
        .add(Expr::col(A::ServiceIp).eq(ip))
        .add(Expr::col(A::ServicePort).eq(d.port))
        .add(Expr::col(A::Proto).eq(d.proto.as_str()));
    if let Some(name) = &d.name {
        let rename = A::update(tenant)
            .value(A::Name, name.as_str())
            .cond_where(key.clone())
            .to_owned();
        tx.execute(&rename).await?;
    }
    let q = A::select(tenant)
        .columns(ALLOWED_COLUMNS)
        .cond_where(key)
        .to_owned();
    tx.fetch_one(&q).await
}

pub async fn delete_allowed(
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
) -> DbResult<Option<AllowedRow>> {
    let q = A::delete(tenant)
        .and_where(Expr::col(A::Id).eq(id))
        .returning(Query::returning().columns(ALLOWED_COLUMNS))
        .to_owned();
    tx.fetch_optional(&q).await
}

pub async fn insert_exclude(
    tx: &mut Tx,
    tenant: TenantId,
    d: &ExcludeData,
    now: i64,
) -> DbResult<ExcludeRow> {
    let q = X::insert(
        tenant,
        vec![
            (X::Ip, block_text(&d.net).into()),
            (X::PortFrom, d.ports.map(|p| p.0).into()),
            (X::PortTo, d.ports.map(|p| p.1).into()),
            (X::Proto, d.proto.map(|p| p.as_str().to_string()).into()),
            (X::Comment, d.comment.clone().into()),
            (X::CreatedAt, now.into()),
        ],
    )
    .returning(Query::returning().columns(EXCLUDE_COLUMNS))
    .to_owned();
    tx.fetch_one(&q).await
}

pub async fn delete_exclude(
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
) -> DbResult<Option<ExcludeRow>> {
    let q = X::delete(tenant)
        .and_where(Expr::col(X::Id).eq(id))
        .returning(Query::returning().columns(EXCLUDE_COLUMNS))
        .to_owned();
    tx.fetch_optional(&q).await
}
