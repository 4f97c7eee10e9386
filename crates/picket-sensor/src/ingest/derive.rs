//! Devices and services derived from a batch, and the `new_device` / `new_service` alerts.
//!
//! - Devices: every DHCP lease (EVE or Zeek: MAC, IP, host name) and every MAC the sensor
//!   reports beside an address (`ether` in EVE, `orig_l2_addr` in Zeek). A MAC is paired with
//!   an IP only when the IP is internal (see [`Nets::internal`]): the MAC on traffic to the
//!   Internet is the router's. Broadcast, multicast and all-zero MACs are no devices.
//! - Services: the responder of an established flow (its SYN-ACK seen, or any UDP reply),
//!   when it is internal, with its port and `tcp`/`udp`.
//!
//! Each batch observes every distinct MAC and service once (with the batch's earliest and
//! latest sighting), in a fixed order so that concurrent batches lock rows alike.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::num::NonZeroU16;

use ipnet::IpNet;
use picket_core::db::{DbResult, Tx};
use picket_core::identity::{AgentPrincipal, TenantId};
use picket_netmon::addr::MacAddr;
use picket_netmon::alerts::NewNetworkAlert;
use picket_netmon::devices::{create_missing, observe_devices, DeviceSighting};
use picket_netmon::networks::{all_in, NetworkRow};
use picket_netmon::services::{observe_services, Proto, ServiceSighting};

use crate::record::{Endpoints, Record, Transport};

/// `new_service` alerts' level (§10.3).
pub const NEW_SERVICE_LEVEL: i64 = 20;

/// The tenant's networks: what is internal, and each network's new-device alert level.
pub struct Nets {
    nets: Vec<(IpNet, NetworkRow)>,
}

impl Nets {
    pub async fn load(tx: &mut Tx, tenant: TenantId) -> DbResult<Nets> {
        let rows = all_in(tx, tenant).await?;
        Ok(Nets {
            nets: rows
                .into_iter()
                .filter_map(|r| Some((r.cidr.parse().ok()?, r)))
                .collect(),
        })
    }

    /// The most specific network holding `ip` (the earliest one on a tie).
    pub fn network_of(&self, ip: IpAddr) -> Option<&NetworkRow> {
        let mut best: Option<&(IpNet, NetworkRow)> = None;
        for n in self.nets.iter().filter(|(net, _)| net.contains(&ip)) {
            if best.is_none_or(|b| n.0.prefix_len() > b.0.prefix_len()) {
                best = Some(n);
            }
        }
        best.map(|(_, r)| r)
    }

    /// Inside one of the tenant's networks, or a private (RFC 1918), unique-local (fc00::/7)
    /// or link-local address; never loopback, multicast, broadcast or unspecified.
    pub fn internal(&self, ip: IpAddr) -> bool {
        if ip.is_loopback() || ip.is_multicast() || ip.is_unspecified() {
            return false;
        }
        let private = match ip {
            IpAddr::V4(v4) => {
                if v4.is_broadcast() {
                    return false;
                }
                v4.is_private() || v4.is_link_local()
            }
            IpAddr::V6(v6) => {
                let s = v6.segments()[0];
                (s & 0xfe00) == 0xfc00 || (s & 0xffc0) == 0xfe80
            }
        };
        private || self.network_of(ip).is_some()
    }
}

/// A MAC that can be a device: unicast and not all zeros.
fn device_mac(mac: &str) -> Option<MacAddr> {
    let m = MacAddr::parse(mac).ok()?;
    let first = u8::from_str_radix(&m.as_str()[..2], 16).ok()?;
    (first & 1 == 0 && m.as_str() != "00:00:00:00:00:00").then_some(m)
}

#[derive(Default)]
struct Sighting {
    first: i64,
    last: i64,
    /// The newest host name given (DHCP), with its time.
    hostname: Option<(i64, String)>,
    /// Each IP seen with the MAC: its earliest and latest time.
    ips: BTreeMap<IpAddr, (i64, i64)>,
}

impl Sighting {
    fn saw(&mut self, ts: i64, ip: Option<IpAddr>, hostname: &str) {
        if self.last == 0 && self.first == 0 {
            (self.first, self.last) = (ts, ts);
        }
        self.first = self.first.min(ts);
        self.last = self.last.max(ts);
        if let Some(ip) = ip {
            let (first, last) = self.ips.entry(ip).or_insert((ts, ts));
            *first = (*first).min(ts);
            *last = (*last).max(ts);
        }
        let hostname = hostname.trim();
        if !hostname.is_empty() && self.hostname.as_ref().is_none_or(|(t, _)| ts >= *t) {
            self.hostname = Some((ts, hostname.to_string()));
        }
    }

    /// The newest IP, for the new-device alert.
    fn newest_ip(&self) -> Option<IpAddr> {
        self.ips
            .iter()
            .max_by_key(|(_, (_, last))| *last)
            .map(|(ip, _)| *ip)
    }
}

fn sightings(records: &[Record], nets: &Nets) -> BTreeMap<String, (MacAddr, Sighting)> {
    let mut out: BTreeMap<String, (MacAddr, Sighting)> = BTreeMap::new();
    let mut saw = |mac: &str, ts: i64, ip: Option<IpAddr>, hostname: &str| {
        if let Some(m) = device_mac(mac) {
            let ip = ip.filter(|ip| nets.internal(*ip));
            out.entry(m.as_str().to_string())
                .or_insert_with(|| (m, Sighting::default()))
                .1
                .saw(ts, ip, hostname);
        }
    };
    let mut ends = |ts: i64, at: &Endpoints| {
        if let Some(m) = &at.src_mac {
            saw(m, ts, at.src_ip, "");
        }
        if let Some(m) = &at.dst_mac {
            saw(m, ts, at.dst_ip, "");
        }
    };
    for r in records {
        match r {
            Record::Alert(a) => ends(a.ts, &a.at),
            Record::Flow(f) => ends(f.ts, &f.at),
            Record::Dns(d) => ends(d.ts, &d.at),
            Record::Http(h) => ends(h.ts, &h.at),
            Record::Dhcp(_) | Record::Syslog(_) => {}
        }
    }
    for r in records {
        if let Record::Dhcp(d) = r {
            // A lease is authoritative for its address, internal or not.
            if let Some(m) = device_mac(&d.mac) {
                out.entry(m.as_str().to_string())
                    .or_insert_with(|| (m, Sighting::default()))
                    .1
                    .saw(d.ts, d.ip, &d.hostname);
            }
        }
    }
    out
}

/// Observes the batch's devices; answers the `new_device` alerts of those it created.
pub async fn devices(
    tx: &mut Tx,
    agent: &AgentPrincipal,
    records: &[Record],
    nets: &Nets,
) -> DbResult<Vec<NewNetworkAlert>> {
    let tenant = agent.tenant_id;
    let seen = sightings(records, nets);
    if seen.is_empty() {
        return Ok(Vec::new());
    }
    let first: Vec<(MacAddr, i64)> = seen.values().map(|(m, s)| (m.clone(), s.first)).collect();
    let created = create_missing(tx, tenant, &first).await?;
    let batch: Vec<DeviceSighting> = seen
        .values()
        .map(|(mac, s)| DeviceSighting {
            mac: mac.clone(),
            first: s.first,
            last: s.last,
            hostname: s
                .hostname
                .as_ref()
                .map(|(_, h)| h.clone())
                .unwrap_or_default(),
            ips: s.ips.iter().map(|(ip, (f, l))| (*ip, *f, *l)).collect(),
        })
        .collect();
    observe_devices(tx, tenant, &batch).await?;
    let mut alerts = Vec::new();
    for (mac, s) in seen.values() {
        let hostname = s.hostname.as_ref().map_or("", |(_, h)| h.as_str());
        if !created.contains(mac.as_str()) {
            continue;
        }
        let ip = s.newest_ip();
        let Some(net) = ip.and_then(|ip| nets.network_of(ip)) else {
            continue;
        };
        if net.alert <= 0 {
            continue;
        }
        let vendor = mac.vendor();
        let mut about = vec![format!("network: {}", net.name)];
        if !vendor.is_empty() {
            about.push(format!("vendor: {vendor}"));
        }
        if !hostname.is_empty() {
            about.push(format!("hostname: {hostname}"));
        }
        alerts.push(NewNetworkAlert {
            ts: s.first,
            agent: agent.agent.clone(),
            agent_name: agent.name.clone(),
            src_mac: mac.as_str().to_string(),
            src_ip: ip.map(|ip| ip.to_string()).unwrap_or_default(),
            level: net.alert,
            kind: "new_device".into(),
            subject: format!("New device {}", mac.as_str()),
            message: about.join("; "),
            ..NewNetworkAlert::default()
        });
    }
    Ok(alerts)
}

struct FlowSighting {
    first: i64,
    last: i64,
    /// The client of the earliest flow, named in the alert.
    client: Option<IpAddr>,
}

/// Observes the services the batch's established flows show; answers `new_service` alerts for
/// new ones that no allowed-service entry covers.
pub async fn services(
    tx: &mut Tx,
    agent: &AgentPrincipal,
    records: &[Record],
    nets: &Nets,
) -> DbResult<Vec<NewNetworkAlert>> {
    let tenant = agent.tenant_id;
    let mut seen: BTreeMap<(IpAddr, u16, &'static str), (Proto, FlowSighting)> = BTreeMap::new();
    for r in records {
        let Record::Flow(f) = r else { continue };
        let proto = match f.at.proto {
            Transport::Tcp => Proto::Tcp,
            Transport::Udp => Proto::Udp,
            _ => continue,
        };
        let (Some(ip), true) = (f.at.dst_ip, f.established) else {
            continue;
        };
        if f.at.dst_port == 0 || !nets.internal(ip) {
            continue;
        }
        let (_, s) = seen.entry((ip, f.at.dst_port, proto.as_str())).or_insert((
            proto,
            FlowSighting {
                first: f.ts,
                last: f.ts,
                client: f.at.src_ip,
            },
        ));
        if f.ts < s.first {
            s.first = f.ts;
            s.client = f.at.src_ip;
        }
        s.last = s.last.max(f.ts);
    }
    let mut batch = Vec::with_capacity(seen.len());
    let mut clients = Vec::with_capacity(seen.len());
    for ((ip, port, _), (proto, s)) in seen {
        let Some(port) = NonZeroU16::new(port) else {
            continue;
        };
        batch.push(ServiceSighting {
            ip,
            port,
            proto,
            first: s.first,
            last: s.last,
        });
        clients.push(s.client);
    }
    let mut alerts = Vec::new();
    for created in observe_services(tx, tenant, &batch).await? {
        if created.authorized {
            continue;
        }
        let ServiceSighting {
            ip,
            port,
            proto,
            first,
            ..
        } = batch[created.index];
        let proto = proto.as_str();
        let client = clients[created.index]
            .map(|c| c.to_string())
            .unwrap_or_default();
        alerts.push(NewNetworkAlert {
            ts: first,
            agent: agent.agent.clone(),
            agent_name: agent.name.clone(),
            src_ip: client.clone(),
            dst_ip: ip.to_string(),
            dst_port: i64::from(port.get()),
            level: NEW_SERVICE_LEVEL,
            kind: "new_service".into(),
            subject: format!("New service {}", service_name(ip, port.get(), proto)),
            message: if client.is_empty() {
                "not an allowed service".to_string()
            } else {
                format!("first answered {client}; not an allowed service")
            },
            ..NewNetworkAlert::default()
        });
    }
    Ok(alerts)
}

fn service_name(ip: IpAddr, port: u16, proto: &str) -> String {
    match ip {
        IpAddr::V4(_) => format!("{ip}:{port}/{proto}"),
        IpAddr::V6(_) => format!("[{ip}]:{port}/{proto}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(cidrs: &[(&str, i64)]) -> Nets {
        Nets {
            nets: cidrs
                .iter()
                .enumerate()
                .map(|(i, (c, alert))| {
                    (
                        c.parse().unwrap(),
                        NetworkRow {
                            id: i as i64,
                            name: format!("net{i}"),
                            cidr: c.to_string(),
                            gateway_ip: String::new(),
                            gateway_mac: String::new(),
                            alert: *alert,
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn internal_addresses() {
        let n = nets(&[("203.0.113.0/24", 10), ("203.0.113.128/25", 30)]);
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.9",
            "169.254.3.3",
            "fd00::5",
            "fe80::1",
            "203.0.113.7",
        ] {
            assert!(n.internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "127.0.0.1",
            "224.0.0.251",
            "ff02::fb",
            "255.255.255.255",
            "0.0.0.0",
            "2001:4860::1",
        ] {
            assert!(!n.internal(ip.parse().unwrap()), "{ip}");
        }
        assert_eq!(
            n.network_of("203.0.113.200".parse().unwrap())
                .unwrap()
                .alert,
            30
        );
        assert_eq!(
            n.network_of("203.0.113.2".parse().unwrap()).unwrap().alert,
            10
        );
    }

    #[test]
    fn only_unicast_macs_are_devices() {
        assert!(device_mac("3c:22:fb:01:02:03").is_some());
        assert!(device_mac("ff:ff:ff:ff:ff:ff").is_none());
        assert!(device_mac("01:00:5e:00:00:fb").is_none());
        assert!(device_mac("00:00:00:00:00:00").is_none());
    }
}
