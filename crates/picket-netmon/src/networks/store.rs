//! Network storage. IP-valued columns carry a sort key beside them (see
//! [`crate::addr::ip_sort_key`]) so CIDR and gateway sorts are numeric on both backends.

use picket_core::db::schema::{OnDelete, Table};
use picket_core::db::table::TenantTable;
use picket_core::db::{Backend, Db, DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::{Condition, Expr, Order, Query, SelectStatement, SimpleExpr};

use super::wire::{Network, NetworkData, NetworkFilters, NetworkSort};
use crate::addr::{canonical_ip, cidr_sort_key, ip_sort_key, parse_cidr};
use crate::listing::{matching, Sort};

picket_core::table! {
    pub(crate) enum Networks in "networks", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Name: Text,
        Cidr: Text,
        CidrKey: Text,
        GatewayIp: Text .default("''"),
        GatewayIpKey: Text .default("''"),
        GatewayMac: Text .default("''"),
        Alert: BigInt .default("0"),
    }
    indexes {
        unique networks_tenant_name (TenantId, Name),
        unique networks_tenant_cidr (TenantId, Cidr),
        index networks_tenant_cidr_key (TenantId, CidrKey),
        // Serves the devices' `is_gateway` sort (an EXISTS on gateway_ip) and its filter.
        index networks_tenant_gateway_ip (TenantId, GatewayIp),
        index networks_tenant_gateway_ip_key (TenantId, GatewayIpKey),
        index networks_tenant_gateway_mac (TenantId, GatewayMac),
        index networks_tenant_alert (TenantId, Alert),
    }
}

pub const TABLES: &[Table] = &[Networks::DECLARED];

const COLUMNS: [Networks; 6] = [
    Networks::Id,
    Networks::Name,
    Networks::Cidr,
    Networks::GatewayIp,
    Networks::GatewayMac,
    Networks::Alert,
];

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NetworkRow {
    pub id: i64,
    pub name: String,
    pub cidr: String,
    pub gateway_ip: String,
    pub gateway_mac: String,
    pub alert: i64,
}

impl NetworkRow {
    pub fn to_wire(&self) -> Network {
        Network {
            id: self.id,
            name: self.name.clone(),
            cidr: self.cidr.clone(),
            gateway_ip: self.gateway_ip.clone(),
            gateway_mac: self.gateway_mac.clone(),
            alert: self.alert,
        }
    }
}

fn select(tenant: TenantId) -> SelectStatement {
    Networks::select(tenant).columns(COLUMNS).to_owned()
}

fn filter(f: &NetworkFilters, backend: Backend) -> Condition {
    let mut c = Condition::all();
    if let Some(m) = matching::any_text(Expr::col(Networks::Name), &f.name.0, backend) {
        c = c.add(m);
    }
    let cidr = |s: &str| parse_cidr(s).ok().map(|n| n.to_string());
    if let Some(m) = matching::any_canonical(Expr::col(Networks::Cidr), &f.cidr.0, backend, cidr) {
        c = c.add(m);
    }
    let gw = &f.gateway_ip.0;
    if let Some(m) =
        matching::any_canonical(Expr::col(Networks::GatewayIp), gw, backend, canonical_ip)
    {
        c = c.add(m);
    }
    if let Some(m) = matching::any_mac(Expr::col(Networks::GatewayMac), &f.gateway_mac.0, backend) {
        c = c.add(m);
    }
    if let Some(m) = matching::any_int(Expr::col(Networks::Alert), &f.alert.0) {
        c = c.add(m);
    }
    c
}

/// The tenant's networks matching `filters`, sorted, `id` last.
pub async fn search(
    db: &Db,
    tenant: TenantId,
    filters: &NetworkFilters,
    sort: Sort<NetworkSort>,
) -> DbResult<Vec<NetworkRow>> {
    let col = match sort.field {
        NetworkSort::Id => Networks::Id,
        NetworkSort::Name => Networks::Name,
        NetworkSort::Cidr => Networks::CidrKey,
        NetworkSort::GatewayIp => Networks::GatewayIpKey,
        NetworkSort::GatewayMac => Networks::GatewayMac,
        NetworkSort::Alert => Networks::Alert,
    };
    let q = select(tenant)
        .cond_where(filter(filters, db.backend()))
        .order_by(col, sort.order.clone())
        .order_by(Networks::Id, sort.order)
        .to_owned();
    db.fetch_all(&q).await
}

/// Every network of the tenant, for deriving devices' `network` and `is_gateway`.
pub async fn all(db: &Db, tenant: TenantId) -> DbResult<Vec<NetworkRow>> {
    db.fetch_all(&select(tenant).order_by(Networks::Id, Order::Asc).to_owned())
        .await
}

/// [`all`] inside a transaction (sensor ingest reads them with the batch it writes).
pub async fn all_in(tx: &mut Tx, tenant: TenantId) -> DbResult<Vec<NetworkRow>> {
    tx.fetch_all(&select(tenant).order_by(Networks::Id, Order::Asc).to_owned())
        .await
}

pub async fn find(tx: &mut Tx, tenant: TenantId, id: i64) -> DbResult<Option<NetworkRow>> {
    tx.fetch_optional(
        &select(tenant)
            .and_where(Expr::col(Networks::Id).eq(id))
            .to_owned(),
    )
    .await
}

/// Which unique value of `d` another network of the tenant already holds, for a 409 that says
/// which one; the unique indexes still decide under concurrency.
pub async fn clash(
    tx: &mut Tx,
    tenant: TenantId,
    d: &NetworkData,
    except: Option<i64>,
) -> DbResult<Option<String>> {
    let mut q = select(tenant)
        .cond_where(
            Condition::any()
                .add(Expr::col(Networks::Name).eq(d.name.as_str()))
                .add(Expr::col(Networks::Cidr).eq(d.cidr.to_string())),
        )
        .to_owned();
    if let Some(id) = except {
        q.and_where(Expr::col(Networks::Id).ne(id));
    }
    let rows: Vec<NetworkRow> = tx.fetch_all(&q).await?;
    Ok(rows.first().map(|r| {
        if r.name == d.name {
            format!("a network named `{}` already exists", d.name)
        } else {
            format!("a network with CIDR `{}` already exists", d.cidr)
        }
    }))
}

fn values(d: &NetworkData) -> Vec<(Networks, SimpleExpr)> {
    vec![
        (Networks::Name, d.name.clone().into()),
        (Networks::Cidr, d.cidr.to_string().into()),
        (Networks::CidrKey, cidr_sort_key(&d.cidr).into()),
        (Networks::GatewayIp, d.gateway_ip.clone().into()),
        (Networks::GatewayIpKey, ip_sort_key(&d.gateway_ip).into()),
        (Networks::GatewayMac, d.gateway_mac.clone().into()),
        (Networks::Alert, d.alert.into()),
    ]
}

pub async fn insert(tx: &mut Tx, tenant: TenantId, d: &NetworkData) -> DbResult<NetworkRow> {
    let q = Networks::insert(tenant, values(d))
        .returning(Query::returning().columns(COLUMNS))
        .to_owned();
    tx.fetch_one(&q).await
}

pub async fn update(
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
    d: &NetworkData,
) -> DbResult<Option<NetworkRow>> {
    let q = Networks::update(tenant)
        .values(values(d))
        .and_where(Expr::col(Networks::Id).eq(id))
        .returning(Query::returning().columns(COLUMNS))
        .to_owned();
    tx.fetch_optional(&q).await
}

/// Deletes the network. Allowed-service entries scoped to it go in the same statement: their
/// `network_id` references it with `ON DELETE CASCADE` (see `services::TABLES`).
pub async fn delete(tx: &mut Tx, tenant: TenantId, id: i64) -> DbResult<Option<NetworkRow>> {
    let q = Networks::delete(tenant)
        .and_where(Expr::col(Networks::Id).eq(id))
        .returning(Query::returning().columns(COLUMNS))
        .to_owned();
    tx.fetch_optional(&q).await
}
