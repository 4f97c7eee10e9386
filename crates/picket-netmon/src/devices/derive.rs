//! The fields a device derives from the tenant's networks: `network` (the most specific CIDR
//! holding `last_ip`) and `is_gateway` (`last_ip` is a network's gateway). A tenant has few
//! networks, so a page of devices is matched in memory against all of them.

use std::net::IpAddr;

use chrono_tz::Tz;
use ipnet::IpNet;

use super::store::DeviceRow;
use super::wire::Device;
use crate::clock;
use crate::networks::NetworkRow;

/// The tenant's networks, parsed once per request.
pub struct NetworkIndex {
    nets: Vec<(IpNet, String)>,
    gateways: Vec<IpAddr>,
}

impl NetworkIndex {
    pub fn new(rows: &[NetworkRow]) -> NetworkIndex {
        NetworkIndex {
            nets: rows
                .iter()
                .filter_map(|r| Some((r.cidr.parse().ok()?, r.name.clone())))
                .collect(),
            gateways: rows
                .iter()
                .filter_map(|r| r.gateway_ip.parse().ok())
                .collect(),
        }
    }

    /// Name of the longest-prefix network holding `ip`; the earliest network wins a tie.
    pub fn network_of(&self, ip: &str) -> String {
        let Ok(ip) = ip.parse::<IpAddr>() else {
            return String::new();
        };
        let mut best: Option<&(IpNet, String)> = None;
        for n in self.nets.iter().filter(|(net, _)| net.contains(&ip)) {
            if best.is_none_or(|b| n.0.prefix_len() > b.0.prefix_len()) {
                best = Some(n);
            }
        }
        best.map(|(_, name)| name.clone()).unwrap_or_default()
    }

    pub fn is_gateway(&self, ip: &str) -> bool {
        ip.parse::<IpAddr>()
            .is_ok_and(|ip| self.gateways.contains(&ip))
    }

    pub fn device(&self, row: &DeviceRow, tz: Tz) -> Device {
        Device {
            id: row.id,
            mac: row.mac.clone(),
            last_ip: row.last_ip.clone(),
            hostname: row.hostname.clone(),
            friendly_name: row.friendly_name.clone(),
            vendor: row.vendor.clone(),
            network: self.network_of(&row.last_ip),
            is_gateway: self.is_gateway(&row.last_ip),
            first_seen: clock::format(row.first_seen, tz),
            last_seen: clock::format(row.last_seen, tz),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(id: i64, name: &str, cidr: &str, gw: &str) -> NetworkRow {
        NetworkRow {
            id,
            name: name.into(),
            cidr: cidr.into(),
            gateway_ip: gw.into(),
            gateway_mac: String::new(),
            alert: 0,
        }
    }

    #[test]
    fn most_specific_network_and_gateway() {
        let idx = NetworkIndex::new(&[
            net(1, "Campus", "10.0.0.0/16", ""),
            net(2, "Office LAN", "10.0.1.0/24", "10.0.1.1"),
            net(3, "V6", "2001:db8::/32", "2001:db8::1"),
        ]);
        assert_eq!(idx.network_of("10.0.1.7"), "Office LAN");
        assert_eq!(idx.network_of("10.0.2.7"), "Campus");
        assert_eq!(idx.network_of("192.168.1.1"), "");
        assert_eq!(idx.network_of(""), "");
        assert_eq!(idx.network_of("2001:db8::5"), "V6");
        assert!(idx.is_gateway("10.0.1.1"));
        assert!(idx.is_gateway("2001:db8:0::1"));
        assert!(!idx.is_gateway("10.0.1.2"));
        assert!(!idx.is_gateway(""));
    }
}
