//! Device storage: one row per (tenant, MAC) and its IP history. `last_ip_key` sorts IPs
//! numerically and `ip_count` (distinct IPs seen) is kept up to date by [`observe_device`], so
//! every documented sort reads an index.

use std::net::IpAddr;

use picket_core::db::schema::{OnDelete, Table};
use picket_core::db::table::TenantTable;
use picket_core::db::{Backend, Db, DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::{Alias, Condition, Expr, Func, OnConflict, Query, SelectStatement, SimpleExpr};

use super::wire::{DeviceFilters, DeviceSort};
use crate::addr::{canonical_ip, ip_sort_key, MacAddr};
use crate::listing::{matching, PageInfo, PageRequest, Sort};
use crate::networks::store::Networks;

picket_core::table! {
    pub(crate) enum Devices in "devices", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Mac: Text,
        LastIp: Text .default("''"),
        LastIpKey: Text .default("''"),
        Hostname: Text .default("''"),
        FriendlyName: Text .default("''"),
        Vendor: Text .default("''"),
        IpCount: BigInt .default("0"),
        FirstSeen: BigInt,
        LastSeen: BigInt,
    }
    indexes {
        unique devices_tenant_mac (TenantId, Mac),
        index devices_tenant_last_ip (TenantId, LastIp),
        index devices_tenant_last_ip_key (TenantId, LastIpKey),
        index devices_tenant_hostname (TenantId, Hostname),
        index devices_tenant_friendly_name (TenantId, FriendlyName),
        index devices_tenant_vendor (TenantId, Vendor),
        index devices_tenant_ip_count (TenantId, IpCount),
        index devices_tenant_first_seen (TenantId, FirstSeen),
        index devices_tenant_last_seen (TenantId, LastSeen),
    }
}

picket_core::table! {
    pub(crate) enum DeviceIps in "device_ips", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        DeviceId: BigInt .references("devices", "id", OnDelete::Cascade),
        Ip: Text,
        FirstSeen: BigInt,
        LastSeen: BigInt,
    }
    indexes {
        unique device_ips_device_ip (DeviceId, Ip),
        // Alert enrichment looks devices up by any IP they have held.
        index device_ips_tenant_ip (TenantId, Ip),
    }
}

pub const TABLES: &[Table] = &[Devices::DECLARED, DeviceIps::DECLARED];

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

#[derive(sqlx::FromRow)]
struct DeviceCount {
    device_id: i64,
    n: i64,
}

fn select(tenant: TenantId) -> SelectStatement {
    Devices::select(tenant)
        .columns(COLUMNS.map(Devices::col))
        .to_owned()
}

fn filter(f: &DeviceFilters, backend: Backend) -> Condition {
    let col = |c: Devices| Expr::col(Devices::col(c));
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

/// `EXISTS` a network of the tenant whose gateway is the device's last IP.
fn is_gateway(tenant: TenantId) -> SimpleExpr {
    Expr::exists(
        Networks::select(tenant)
            .expr(Expr::val(1))
            .and_where(
                Expr::col(Networks::col(Networks::GatewayIp)).equals(Devices::col(Devices::LastIp)),
            )
            .and_where(Expr::col(Networks::col(Networks::GatewayIp)).ne(""))
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
    let count = Devices::select(tenant)
        .expr_as(
            Func::count(Expr::col(Devices::col(Devices::Id))),
            Alias::new("n"),
        )
        .cond_where(filter(filters, db.backend()))
        .to_owned();
    let total = db.fetch_one::<Count>(&count).await?.n;
    let (info, skip) = page.serve(total);
    if total == 0 {
        return Ok((info, Vec::new()));
    }
    let key: SimpleExpr = match sort.field {
        DeviceSort::Gateway => is_gateway(tenant),
        f => Expr::col(Devices::col(match f {
            DeviceSort::LastIp => Devices::LastIpKey,
            DeviceSort::Hostname => Devices::Hostname,
            DeviceSort::FriendlyName => Devices::FriendlyName,
            DeviceSort::Mac => Devices::Mac,
            DeviceSort::Vendor => Devices::Vendor,
            DeviceSort::IpCount => Devices::IpCount,
            DeviceSort::FirstSeen => Devices::FirstSeen,
            DeviceSort::LastSeen | DeviceSort::Gateway => Devices::LastSeen,
        }))
        .into(),
    };
    let q = select(tenant)
        .cond_where(filter(filters, db.backend()))
        .order_by_expr(key, sort.order.clone())
        .order_by(Devices::col(Devices::Id), sort.order)
        .limit(info.page_size as u64)
        .offset(skip)
        .to_owned();
    Ok((info, db.fetch_all(&q).await?))
}

pub async fn find(tx: &mut Tx, tenant: TenantId, id: i64) -> DbResult<Option<DeviceRow>> {
    let q = select(tenant)
        .and_where(Expr::col(Devices::col(Devices::Id)).eq(id))
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
    let q = Devices::update(tenant)
        .values([
            (Devices::Hostname, hostname.into()),
            (Devices::FriendlyName, friendly_name.into()),
        ])
        .and_where(Expr::col(Devices::Id).eq(id))
        .returning(Query::returning().columns(COLUMNS))
        .to_owned();
    tx.fetch_optional(&q).await
}

/// Creates a device for each of `macs` (first sighting, Unix ms) the tenant has none for yet,
/// vendor from the offline OUI table, in multi-row statements; answers the MACs it created.
/// Sensor ingest calls it before [`observe_device`] to tell new devices: a MAC another
/// transaction creates at the same moment is that one's (the insert waits for it), never both.
pub async fn create_missing(
    tx: &mut Tx,
    tenant: TenantId,
    macs: &[(MacAddr, i64)],
) -> DbResult<std::collections::HashSet<String>> {
    #[derive(sqlx::FromRow)]
    struct Mac {
        mac: String,
    }
    let mut created = std::collections::HashSet::new();
    for chunk in macs.chunks(500) {
        let row = |(mac, at): &(MacAddr, i64)| -> Vec<(Devices, SimpleExpr)> {
            vec![
                (Devices::Mac, mac.as_str().into()),
                (Devices::Vendor, mac.vendor().into()),
                (Devices::FirstSeen, (*at).into()),
                (Devices::LastSeen, (*at).into()),
            ]
        };
        let Some(mut q) = Devices::insert_rows(tenant, chunk.iter().map(row)) else {
            continue;
        };
        q.on_conflict(
            OnConflict::columns([Devices::TenantId, Devices::Mac])
                .do_nothing()
                .to_owned(),
        )
        .returning(Query::returning().column(Devices::Mac));
        created.extend(tx.fetch_all::<Mac>(&q).await?.into_iter().map(|m| m.mac));
    }
    Ok(created)
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
    let insert = Devices::insert(
        tenant,
        vec![
            (Devices::Mac, mac.as_str().into()),
            (Devices::Vendor, mac.vendor().into()),
            (Devices::FirstSeen, at_ms.into()),
            (Devices::LastSeen, at_ms.into()),
        ],
    )
    .on_conflict(
        OnConflict::columns([Devices::TenantId, Devices::Mac])
            .do_nothing()
            .to_owned(),
    )
    .to_owned();
    tx.execute(&insert).await?;
    let q = select(tenant)
        .and_where(Expr::col(Devices::col(Devices::Mac)).eq(mac.as_str()))
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
    let update = Devices::update(tenant)
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
    let insert = DeviceIps::insert(
        tenant,
        vec![
            (DeviceIps::DeviceId, device.into()),
            (DeviceIps::Ip, ip.into()),
            (DeviceIps::FirstSeen, at.into()),
            (DeviceIps::LastSeen, at.into()),
        ],
    )
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
        let q = DeviceIps::update(tenant)
            .value(col, at)
            .and_where(Expr::col(DeviceIps::DeviceId).eq(device))
            .and_where(Expr::col(DeviceIps::Ip).eq(ip))
            .and_where(widen)
            .to_owned();
        tx.execute(&q).await?;
    }
    Ok(false)
}

/// One device's sightings in a sensor batch: its earliest and latest time, the newest host
/// name given (blank for none), and each IP seen with it (first and last time).
#[derive(Debug, Clone)]
pub struct DeviceSighting {
    pub mac: MacAddr,
    pub first: i64,
    pub last: i64,
    pub hostname: String,
    pub ips: Vec<(IpAddr, i64, i64)>,
}

/// Devices per multi-row statement: 9 values a row stays well below every backend's limit
/// on bound parameters.
const DEVICES_PER_STATEMENT: usize = 400;

/// Records a batch of sightings (distinct MACs) in a few multi-row statements per
/// [`DEVICES_PER_STATEMENT`] devices instead of several statements per device, with the
/// rules of [`observe_device`]: the earliest first and latest last sighting; host name and
/// `last_ip` taken from the batch when it is newer than what the row holds (or the row has
/// none); every IP added to the history or its interval widened; `ip_count` recounted from
/// the history. Each value is computed in SQL from the row as the upsert finds it, so
/// concurrent batches cannot undo each other's newer sighting; rows are written in MAC order
/// so that they lock alike.
pub async fn observe_devices(
    tx: &mut Tx,
    tenant: TenantId,
    sightings: &[DeviceSighting],
) -> DbResult<()> {
    #[derive(sqlx::FromRow)]
    struct IdMac {
        id: i64,
        mac: String,
    }
    let mut sorted: Vec<&DeviceSighting> = sightings.iter().collect();
    sorted.sort_by(|a, b| a.mac.as_str().cmp(b.mac.as_str()));
    let excluded = |c: Devices| Expr::col((Alias::new("excluded"), c));
    let current = |c: Devices| Expr::col(Devices::col(c));
    // The batch is at least as new as the row, or the row has nothing yet.
    let newer_or_blank = |c: Devices| {
        Condition::all().add(excluded(c).ne("")).add(
            Condition::any()
                .add(excluded(Devices::LastSeen).gte(current(Devices::LastSeen)))
                .add(current(c).eq("")),
        )
    };
    let take = |c: Devices, when: Condition| -> SimpleExpr {
        Expr::case(when, excluded(c)).finally(current(c)).into()
    };
    for chunk in sorted.chunks(DEVICES_PER_STATEMENT) {
        let row = |s: &DeviceSighting| -> Vec<(Devices, SimpleExpr)> {
            let newest_ip = s
                .ips
                .iter()
                .max_by_key(|(_, _, last)| *last)
                .map(|(ip, _, _)| ip.to_string())
                .unwrap_or_default();
            vec![
                (Devices::Mac, s.mac.as_str().into()),
                (Devices::Vendor, s.mac.vendor().into()),
                (Devices::FirstSeen, s.first.into()),
                (Devices::LastSeen, s.last.into()),
                (Devices::Hostname, s.hostname.trim().into()),
                (Devices::LastIpKey, ip_sort_key(&newest_ip).into()),
                (Devices::LastIp, newest_ip.into()),
            ]
        };
        let Some(mut q) = Devices::insert_rows(tenant, chunk.iter().map(|s| row(s))) else {
            continue;
        };
        q.on_conflict(
            OnConflict::columns([Devices::TenantId, Devices::Mac])
                .values([
                    (
                        Devices::FirstSeen,
                        take(
                            Devices::FirstSeen,
                            Condition::all()
                                .add(excluded(Devices::FirstSeen).lt(current(Devices::FirstSeen))),
                        ),
                    ),
                    (
                        Devices::LastSeen,
                        take(
                            Devices::LastSeen,
                            Condition::all()
                                .add(excluded(Devices::LastSeen).gt(current(Devices::LastSeen))),
                        ),
                    ),
                    (
                        Devices::Hostname,
                        take(Devices::Hostname, newer_or_blank(Devices::Hostname)),
                    ),
                    // Both IP columns follow one condition on `last_ip`, so the key always
                    // matches the IP.
                    (
                        Devices::LastIpKey,
                        take(Devices::LastIpKey, newer_or_blank(Devices::LastIp)),
                    ),
                    (
                        Devices::LastIp,
                        take(Devices::LastIp, newer_or_blank(Devices::LastIp)),
                    ),
                ])
                .to_owned(),
        )
        .returning(Query::returning().columns([Devices::Id, Devices::Mac]));
        let ids: std::collections::HashMap<String, i64> = tx
            .fetch_all::<IdMac>(&q)
            .await?
            .into_iter()
            .map(|r| (r.mac, r.id))
            .collect();

        let mut history: Vec<(i64, String, i64, i64)> = Vec::new();
        for s in chunk {
            let Some(&id) = ids.get(s.mac.as_str()) else {
                continue;
            };
            for (ip, first, last) in &s.ips {
                history.push((id, ip.to_string(), *first, *last));
            }
        }
        if history.is_empty() {
            continue;
        }
        history.sort();
        history.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        record_ips(tx, tenant, &history).await?;
        // `ip_count` recounted from the history of the devices this batch gave IPs, then
        // set by MAC. (A correlated subquery here made SQLite, without statistics, search
        // the history by its tenant index, reading the tenant's whole history per device.)
        let mut touched: Vec<i64> = history.iter().map(|h| h.0).collect();
        touched.dedup();
        let counted = DeviceIps::select(tenant)
            .column(DeviceIps::col(DeviceIps::DeviceId))
            .expr_as(
                Func::count(Expr::col(DeviceIps::col(DeviceIps::Id))),
                Alias::new("n"),
            )
            .and_where(Expr::col(DeviceIps::col(DeviceIps::DeviceId)).is_in(touched))
            .group_by_col(DeviceIps::col(DeviceIps::DeviceId))
            .to_owned();
        let macs: std::collections::HashMap<i64, &str> =
            ids.iter().map(|(mac, id)| (*id, mac.as_str())).collect();
        let counts: Vec<(&str, i64)> = tx
            .fetch_all::<DeviceCount>(&counted)
            .await?
            .into_iter()
            .filter_map(|c| Some((*macs.get(&c.device_id)?, c.n)))
            .collect();
        let Some(((mac0, n0), rest)) = counts.split_first() else {
            continue;
        };
        let mut by_mac = Expr::case(Expr::col(Devices::Mac).eq(*mac0), *n0);
        for (mac, n) in rest {
            by_mac = by_mac.case(Expr::col(Devices::Mac).eq(*mac), *n);
        }
        let recount = Devices::update(tenant)
            .value(
                Devices::IpCount,
                by_mac.finally(Expr::col(Devices::IpCount)),
            )
            .and_where(Expr::col(Devices::Mac).is_in(counts.iter().map(|(m, _)| *m)))
            .to_owned();
        tx.execute(&recount).await?;
    }
    Ok(())
}

/// Adds each (device, ip, first, last) to the IP history or widens its interval, in one
/// multi-row upsert per chunk (rows sorted and distinct per (device, ip)).
async fn record_ips(
    tx: &mut Tx,
    tenant: TenantId,
    history: &[(i64, String, i64, i64)],
) -> DbResult<()> {
    let excluded = |c: DeviceIps| Expr::col((Alias::new("excluded"), c));
    let current = |c: DeviceIps| Expr::col(DeviceIps::col(c));
    for chunk in history.chunks(DEVICES_PER_STATEMENT) {
        let row =
            |(device, ip, first, last): &(i64, String, i64, i64)| -> Vec<(DeviceIps, SimpleExpr)> {
                vec![
                    (DeviceIps::DeviceId, (*device).into()),
                    (DeviceIps::Ip, ip.as_str().into()),
                    (DeviceIps::FirstSeen, (*first).into()),
                    (DeviceIps::LastSeen, (*last).into()),
                ]
            };
        let Some(mut q) = DeviceIps::insert_rows(tenant, chunk.iter().map(row)) else {
            continue;
        };
        let widen = |c: DeviceIps, when: SimpleExpr| -> (DeviceIps, SimpleExpr) {
            (c, Expr::case(when, excluded(c)).finally(current(c)).into())
        };
        q.on_conflict(
            OnConflict::columns([DeviceIps::DeviceId, DeviceIps::Ip])
                .values([
                    widen(
                        DeviceIps::FirstSeen,
                        excluded(DeviceIps::FirstSeen).lt(current(DeviceIps::FirstSeen)),
                    ),
                    widen(
                        DeviceIps::LastSeen,
                        excluded(DeviceIps::LastSeen).gt(current(DeviceIps::LastSeen)),
                    ),
                ])
                .to_owned(),
        );
        tx.execute(&q).await?;
    }
    Ok(())
}
