//! The fields an alert derives at read time (§11.8): the devices holding its addresses, the
//! networks containing them, and whether each address is public. A page of alerts costs two
//! queries: the tenant's networks and the devices that have held the page's addresses.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono_tz::Tz;
use picket_core::db::table::TenantTable;
use picket_core::db::{Db, DbResult, Tx};
use picket_core::identity::TenantId;
use sea_query::{Condition, Expr, JoinType, SelectStatement};

use super::store::NetworkAlertRow;
use super::wire::NetworkAlert;
use crate::clock;
use crate::devices::derive::NetworkIndex;
use crate::devices::store::{DeviceIps, Devices};
use crate::networks;

#[derive(Debug, Clone, sqlx::FromRow)]
struct DeviceAt {
    ip: String,
    last_ip: String,
    hostname: String,
    friendly_name: String,
    last_seen: i64,
}

/// What one page of alerts needs to know about the tenant's devices and networks.
pub struct Enricher {
    nets: NetworkIndex,
    /// IP → (hostname, device name).
    devices: HashMap<String, (String, String)>,
    tz: Tz,
}

impl Enricher {
    pub async fn load(
        db: &Db,
        tenant: TenantId,
        rows: &[NetworkAlertRow],
        tz: Tz,
    ) -> DbResult<Enricher> {
        let nets = NetworkIndex::new(&networks::all(db, tenant).await?);
        let found = match devices_query(tenant, rows) {
            Some(q) => db.fetch_all(&q).await?,
            None => Vec::new(),
        };
        Ok(Enricher::new(nets, found, tz))
    }

    /// [`Enricher::load`] inside a transaction: sensor ingest describes the alerts it stores
    /// with the devices of the same batch.
    pub async fn load_in(
        tx: &mut Tx,
        tenant: TenantId,
        rows: &[NetworkAlertRow],
        tz: Tz,
    ) -> DbResult<Enricher> {
        let nets = NetworkIndex::new(&networks::all_in(tx, tenant).await?);
        let found = match devices_query(tenant, rows) {
            Some(q) => tx.fetch_all(&q).await?,
            None => Vec::new(),
        };
        Ok(Enricher::new(nets, found, tz))
    }

    fn new(nets: NetworkIndex, found: Vec<DeviceAt>, tz: Tz) -> Enricher {
        // The device that holds the address now wins; else the one that held it last.
        let mut best: HashMap<String, DeviceAt> = HashMap::new();
        for f in found {
            let rank = |x: &DeviceAt| (x.last_ip == x.ip, x.last_seen);
            if best.get(&f.ip).is_none_or(|b| rank(&f) > rank(b)) {
                best.insert(f.ip.clone(), f);
            }
        }
        let mut devices = HashMap::new();
        for (ip, f) in best {
            let name = if f.friendly_name.is_empty() {
                f.hostname.clone()
            } else {
                f.friendly_name
            };
            devices.insert(ip, (f.hostname, name));
        }
        Enricher { nets, devices, tz }
    }

    pub fn alert(&self, r: &NetworkAlertRow) -> NetworkAlert {
        let names = |ip: &str| self.devices.get(ip).cloned().unwrap_or_default();
        let (src_hostname, src_device_name) = names(&r.src_ip);
        let (dst_hostname, dst_device_name) = names(&r.dst_ip);
        NetworkAlert {
            id: r.id,
            timestamp: clock::format(r.ts, self.tz),
            agent: r.agent.clone(),
            agent_name: r.agent_name.clone(),
            src_mac: r.src_mac.clone(),
            dst_mac: r.dst_mac.clone(),
            src_ip: r.src_ip.clone(),
            dst_ip: r.dst_ip.clone(),
            src_port: r.src_port,
            dst_port: r.dst_port,
            src_hostname,
            dst_hostname,
            level: r.level,
            kind: r.kind.clone(),
            subject: r.subject.clone(),
            message: r.message.clone(),
            pcap_id: r.pcap_id,
            src_device_name,
            dst_device_name,
            src_network_name: self.nets.network_of(&r.src_ip),
            dst_network_name: self.nets.network_of(&r.dst_ip),
            is_src_public_ip: is_public_ip(&r.src_ip),
            is_dst_public_ip: is_public_ip(&r.dst_ip),
        }
    }
}

/// The devices that have held the addresses of `rows`; `None` when the rows name none.
fn devices_query(tenant: TenantId, rows: &[NetworkAlertRow]) -> Option<SelectStatement> {
    let mut ips: Vec<String> = rows
        .iter()
        .flat_map(|r| [r.src_ip.clone(), r.dst_ip.clone()])
        .filter(|ip| !ip.is_empty())
        .collect();
    ips.sort_unstable();
    ips.dedup();
    if ips.is_empty() {
        return None;
    }
    let mut q = DeviceIps::select(tenant)
        .column(DeviceIps::col(DeviceIps::Ip))
        .column(DeviceIps::col(DeviceIps::LastSeen))
        .columns([Devices::LastIp, Devices::Hostname, Devices::FriendlyName].map(Devices::col))
        .and_where(Expr::col(DeviceIps::col(DeviceIps::Ip)).is_in(ips))
        .to_owned();
    Devices::join(
        &mut q,
        JoinType::InnerJoin,
        tenant,
        Condition::all()
            .add(Expr::col(Devices::col(Devices::Id)).equals(DeviceIps::col(DeviceIps::DeviceId))),
    );
    Some(q)
}

/// False for anything that is not a globally routed address: private, loopback, link-local,
/// CGNAT, multicast, documentation, unspecified and broadcast ranges (and non-addresses).
pub fn is_public_ip(ip: &str) -> bool {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => public_v4(v4),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(v6),
        },
        Err(_) => false,
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let cgnat = a == 100 && (64..128).contains(&b);
    let documentation = matches!((a, b, c), (192, 0, 2) | (198, 51, 100) | (203, 0, 113));
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || cgnat
        || documentation
        || a == 0)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let unique_local = (s[0] & 0xfe00) == 0xfc00;
    let link_local = (s[0] & 0xffc0) == 0xfe80;
    let documentation = s[0] == 0x2001 && s[1] == 0x0db8;
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || unique_local
        || link_local
        || documentation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_means_globally_routed() {
        for ip in [
            "8.8.8.8",
            "140.82.112.3",
            "2606:4700:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(is_public_ip(ip), "{ip}");
        }
        for ip in [
            "10.0.0.25",
            "172.16.5.4",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.251",
            "192.0.2.7",
            "198.51.100.1",
            "203.0.113.9",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "",
            "not-an-ip",
        ] {
            assert!(!is_public_ip(ip), "{ip}");
        }
        assert!(is_public_ip("100.128.0.1"));
    }
}
