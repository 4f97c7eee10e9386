//! Device storage: one row per (tenant, MAC) and its IP history. `last_ip_key` sorts IPs
//! numerically and `ip_count` (distinct IPs seen) is kept up to date by [`observe_device`], so
//! every documented sort reads an index.

use std::net::IpAddr;

use picket_core::db::schema::{ColType, Column, Index, OnDelete, Table};
use picket_core::db::{Backend, Db, DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::{
    Alias, Condition, Expr, Func, Iden, OnConflict, Query, SelectStatement, SimpleExpr,
};

use super::wire::{DeviceFilters, DeviceSort};
use crate::addr::{canonical_ip, ip_sort_key, MacAddr};
use crate::listing::{matching, PageInfo, PageRequest, Sort};

#[derive(Iden, Clone, Copy)]
enum Devices {
    Table,
    Id,
    TenantId,
    Mac,
    LastIp,
    LastIpKey,
    Hostname,
    FriendlyName,
    Vendor,
    IpCount,
    FirstSeen,
    LastSeen,
}

#[derive(Iden, Clone, Copy)]
enum DeviceIps {
    Table,
    TenantId,
    DeviceId,
    Ip,
    FirstSeen,
    LastSeen,
}

const fn tenant() -> Column {
    Column::new("tenant_id", ColType::BigInt).references("tenants", "id", OnDelete::Cascade)
}

pub const TABLES: &[Table] = &[
    Table {
        name: "devices",
        columns: &[
            Column::serial("id"),
            tenant(),
            Column::new("mac", ColType::Text),
            Column::new("last_ip", ColType::Text).default("''"),
            Column::new("last_ip_key", ColType::Text).default("''"),
            Column::new("hostname", ColType::Text).default("''"),
            Column::new("friendly_name", ColType::Text).default("''"),
            Column::new("vendor", ColType::Text).default("''"),
            Column::new("ip_count", ColType::BigInt).default("0"),
            Column::new("first_seen", ColType::BigInt),
            Column::new("last_seen", ColType::BigInt),
        ],
        indexes: &[
            Index::unique("devices_tenant_mac", &["tenant_id", "mac"]),
            Index::new("devices_tenant_last_ip", &["tenant_id", "last_ip"]),
            Index::new("devices_tenant_last_ip_key", &["tenant_id", "last_ip_key"]),
            Index::new("devices_tenant_hostname", &["tenant_id", "hostname"]),
            Index::new(
                "devices_tenant_friendly_name",
                &["tenant_id", "friendly_name"],
            ),
            Index::new("devices_tenant_vendor", &["tenant_id", "vendor"]),
            Index::new("devices_tenant_ip_count", &["tenant_id", "ip_count"]),
            Index::new("devices_tenant_first_seen", &["tenant_id", "first_seen"]),
            Index::new("devices_tenant_last_seen", &["tenant_id", "last_seen"]),
        ],
    },
    Table {
        name: "device_ips",
        columns: &[
            Column::serial("id"),
            tenant(),
            Column::new("device_id", ColType::BigInt).references(
                "devices",
                "id",
                OnDelete::Cascade,
            ),
            Column::new("ip", ColType::Text),
            Column::new("first_seen", ColType::BigInt),
            Column::new("last_seen", ColType::BigInt),
        ],
        indexes: &[
            Index::unique("device_ips_device_ip", &["device_id", "ip"]),
            // Alert enrichment looks devices up by any IP they have held.
            Index::new("device_ips_tenant_ip", &["tenant_id", "ip"]),
        ],
    },
];

const COLUMNS: [Devices; 10] = [
    Devices::Id,
    Devices::Mac,
    Devices::LastIp,
    Devices::Hostname,
    Devices::FriendlyName,
    Devices::Vendor,
    Devices::IpCount,
    Devices::FirstSeen,
    Devices::LastSeen,
    Devices::TenantId,
];

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeviceRow {
    pub id: i64,
    pub tenant_id: i64,
    pub mac: String,
    pub last_ip: String,
    pub hostname: String,
    pub friendly_name: String,
    pub vendor: String,
    pub ip_count: i64,
    pub first_seen: i64,
    pub last_seen: i64,
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

fn select(tenant: TenantId) -> SelectStatement {
    Query::select()
        .columns(COLUMNS.map(|c| (Devices::Table, c)))
        .from(Devices::Table)
        .and_where(Expr::col((Devices::Table, Devices::TenantId)).eq(tenant))
        .to_owned()
}

fn filter(f: &DeviceFilters, backend: Backend) -> Condition {
    let col = |c: Devices| Expr::col((Devices::Table, c));
    let mut cond = Condition::all();
    if let Some(m) = matching::any_mac(col(Devices::Mac), &f.mac.0, backend) {
        cond = cond.add(m);
    }
    if let Some(m) = matching::any_canonical(col(Devices::LastIp), &f.ip.0, backend, canonical_ip) {
        cond = cond.add(m);
    }
    for (c, values) in [
        (Devices::Vendor, &f.vendor.0),
        (Devices::Hostname, &f.hostname.0),
        (Devices::FriendlyName, &f.friendly_name.0),
    ] {
        if let Some(m) = matching::any_text(col(c), values, backend) {
            cond = cond.add(m);
        }
    }
    cond
}

/// `EXISTS` a network of the device's tenant whose gateway is the device's last IP.
fn is_gateway() -> SimpleExpr {
    let n = Alias::new("n");
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from_as(Alias::new("networks"), n.clone())
            .and_where(
                Expr::col((n.clone(), Alias::new("tenant_id")))
                    .equals((Devices::Table, Devices::TenantId)),
            )
            .and_where(
                Expr::col((n.clone(), Alias::new("gateway_ip")))
                    .equals((Devices::Table, Devices::LastIp)),
            )
            .and_where(Expr::col((n, Alias::new("gateway_ip"))).ne(""))
            .to_owned(),
    )
}

/// One page of the tenant's devices matching `filters`, sorted with `id` as the last tiebreaker.
pub async fn search(
    db: &Db,
    tenant: TenantId,
    filters: &DeviceFilters,
    sort: Sort<DeviceSort>,
    page: PageRequest,
) -> DbResult<(PageInfo, Vec<DeviceRow>)> {
    let count = Query::select()
        .expr_as(
            Func::count(Expr::col((Devices::Table, Devices::Id))),
            Alias::new("n"),
        )
        .from(Devices::Table)
        .and_where(Expr::col((Devices::Table, Devices::TenantId)).eq(tenant))
        .cond_where(filter(filters, db.backend()))
        .to_owned();
    let total = db.fetch_one::<Count>(&count).await?.n;
    let (info, skip) = page.serve(total);
    if total == 0 {
        return Ok((info, Vec::new()));
    }
    let key: SimpleExpr = match sort.field {
        DeviceSort::Gateway => is_gateway(),
        f => Expr::col((
            Devices::Table,
            match f {
                DeviceSort::LastIp => Devices::LastIpKey,
                DeviceSort::Hostname => Devices::Hostname,
                DeviceSort::FriendlyName => Devices::FriendlyName,
                DeviceSort::Mac => Devices::Mac,
                DeviceSort::Vendor => Devices::Vendor,
                DeviceSort::IpCount => Devices::IpCount,
                DeviceSort::FirstSeen => Devices::FirstSeen,
                DeviceSort::LastSeen | DeviceSort::Gateway => Devices::LastSeen,
            },
        ))
        .into(),
    };
    let q = select(tenant)
        .cond_where(filter(filters, db.backend()))
        .order_by_expr(key, sort.order.clone())
        .order_by((Devices::Table, Devices::Id), sort.order)
        .limit(info.page_size as u64)
        .offset(skip)
        .to_owned();
    Ok((info, db.fetch_all(&q).await?))
}

pub async fn find(tx: &mut Tx, tenant: TenantId, id: i64) -> DbResult<Option<DeviceRow>> {
    let q = select(tenant)
        .and_where(Expr::col((Devices::Table, Devices::Id)).eq(id))
        .to_owned();
    tx.fetch_optional(&q).await
}

/// Sets the user-editable names.
pub async fn set_names(
    tx: &mut Tx,
    tenant: TenantId,
    id: i64,
    hostname: &str,
    friendly_name: &str,
) -> DbResult<Option<DeviceRow>> {
    let q = Query::update()
        .table(Devices::Table)
        .values([
            (Devices::Hostname, hostname.into()),
            (Devices::FriendlyName, friendly_name.into()),
        ])
        .and_where(Expr::col(Devices::TenantId).eq(tenant))
        .and_where(Expr::col(Devices::Id).eq(id))
        .returning(Query::returning().columns(COLUMNS))
        .to_owned();
    tx.fetch_optional(&q).await
}

/// Records that `mac` was seen at `at_ms`, with `ip` and `hostname` when the sensor saw them:
/// creates the device on first sight (vendor from the offline OUI table), keeps the earliest
/// first and latest last sighting, takes IP and hostname from the newest sighting (an older,
/// late-arriving one only fills blanks), and adds the IP to the device's history. A blank
/// hostname never erases a known one; `friendly_name` is the user's and is never touched.
pub async fn observe_device(
    tx: &mut Tx,
    tenant: TenantId,
    mac: &MacAddr,
    ip: Option<IpAddr>,
    hostname: &str,
    at_ms: i64,
) -> DbResult<DeviceRow> {
    let insert = Query::insert()
        .into_table(Devices::Table)
        .columns([
            Devices::TenantId,
            Devices::Mac,
            Devices::Vendor,
            Devices::FirstSeen,
            Devices::LastSeen,
        ])
        .values_panic([
            tenant.0.into(),
            mac.as_str().into(),
            mac.vendor().into(),
            at_ms.into(),
            at_ms.into(),
        ])
        .on_conflict(
            OnConflict::columns([Devices::TenantId, Devices::Mac])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    tx.execute(&insert).await?;
    let q = select(tenant)
        .and_where(Expr::col((Devices::Table, Devices::Mac)).eq(mac.as_str()))
        .to_owned();
    let cur: DeviceRow = tx.fetch_one(&q).await?;

    // Every value is computed in SQL from the row as the UPDATE finds it, so two sensors
    // reporting the same device at once cannot undo each other's newer sighting.
    let newest = Expr::col(Devices::LastSeen).lte(at_ms);
    let keep_or = |col: Devices, blank: bool, value: SimpleExpr| -> SimpleExpr {
        let mut when = Condition::any().add(newest.clone());
        if blank {
            when = when.add(Expr::col(col).eq(""));
        }
        Expr::case(when, value).finally(Expr::col(col)).into()
    };
    let mut values: Vec<(Devices, SimpleExpr)> = vec![
        (
            Devices::FirstSeen,
            Expr::case(Expr::col(Devices::FirstSeen).gt(at_ms), at_ms)
                .finally(Expr::col(Devices::FirstSeen))
                .into(),
        ),
        (
            Devices::LastSeen,
            keep_or(Devices::LastSeen, false, at_ms.into()),
        ),
    ];
    let hostname = hostname.trim();
    if !hostname.is_empty() {
        values.push((
            Devices::Hostname,
            keep_or(Devices::Hostname, true, hostname.into()),
        ));
    }
    if let Some(ip) = ip {
        let ip = ip.to_string();
        // Both IP columns follow one condition on `last_ip`, so the key always matches the IP.
        let when = Condition::any()
            .add(newest.clone())
            .add(Expr::col(Devices::LastIp).eq(""));
        for (col, v) in [
            (Devices::LastIpKey, ip_sort_key(&ip)),
            (Devices::LastIp, ip.clone()),
        ] {
            let e: SimpleExpr = Expr::case(when.clone(), v).finally(Expr::col(col)).into();
            values.push((col, e));
        }
        if record_ip(tx, tenant, cur.id, &ip, at_ms).await? {
            values.push((Devices::IpCount, Expr::col(Devices::IpCount).add(1)));
        }
    }
    let update = Query::update()
        .table(Devices::Table)
        .values(values)
        .and_where(Expr::col(Devices::Id).eq(cur.id))
        .returning(Query::returning().columns(COLUMNS))
        .to_owned();
    tx.fetch_one(&update).await
}

/// Adds `ip` to the device's history or widens its seen interval; true when the IP is new.
async fn record_ip(
    tx: &mut Tx,
    tenant: TenantId,
    device: i64,
    ip: &str,
    at: i64,
) -> DbResult<bool> {
    let insert = Query::insert()
        .into_table(DeviceIps::Table)
        .columns([
            DeviceIps::TenantId,
            DeviceIps::DeviceId,
            DeviceIps::Ip,
            DeviceIps::FirstSeen,
            DeviceIps::LastSeen,
        ])
        .values_panic([
            tenant.0.into(),
            device.into(),
            ip.into(),
            at.into(),
            at.into(),
        ])
        .on_conflict(
            OnConflict::columns([DeviceIps::DeviceId, DeviceIps::Ip])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    if tx.execute(&insert).await? > 0 {
        return Ok(true);
    }
    for (col, widen) in [
        (DeviceIps::FirstSeen, Expr::col(DeviceIps::FirstSeen).gt(at)),
        (DeviceIps::LastSeen, Expr::col(DeviceIps::LastSeen).lt(at)),
    ] {
        let q = Query::update()
            .table(DeviceIps::Table)
            .value(col, at)
            .and_where(Expr::col(DeviceIps::DeviceId).eq(device))
            .and_where(Expr::col(DeviceIps::Ip).eq(ip))
            .and_where(widen)
            .to_owned();
        tx.execute(&q).await?;
    }
    Ok(false)
}
