//! Service rows as answered: the single row, and the list grouped by IP (§9): groups in order of
//! their IP's first appearance in the sorted rows, ports inside a group by port.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono_tz::Tz;

use super::policy::Policy;
use super::store::ServiceRow;
use super::wire::{Proto, Service, ServiceGroup, ServicePort};
use crate::clock;

/// A row with its computed values.
struct Seen<'a> {
    row: &'a ServiceRow,
    authorized: bool,
    /// The allowed-service entry's name, if one names the port.
    allowed_name: Option<&'a str>,
}

fn seen<'a>(row: &'a ServiceRow, policy: &'a Policy) -> Seen<'a> {
    let parsed = row
        .service_ip
        .parse::<IpAddr>()
        .ok()
        .zip(Proto::parse(&row.proto).ok());
    let (authorized, allowed_name) = match parsed {
        Some((ip, proto)) => (
            policy.authorized(ip, row.service_port, proto),
            policy.name(ip, row.service_port, proto),
        ),
        None => (false, None),
    };
    Seen {
        row,
        authorized,
        allowed_name,
    }
}

pub fn service(row: &ServiceRow, policy: &Policy, tz: Tz) -> Service {
    let s = seen(row, policy);
    Service {
        id: row.id,
        service_ip: row.service_ip.clone(),
        service_port: row.service_port,
        proto: row.proto.clone(),
        name: s
            .allowed_name
            .map_or_else(|| row.device_name.clone(), str::to_string),
        authorized: s.authorized,
        first_seen: clock::format(row.first_seen, tz),
        last_seen: clock::format(row.last_seen, tz),
    }
}

/// Groups sorted rows by IP, keeping only ports whose computed `authorized` is one of
/// `authorized` (all ports when it is empty).
pub fn groups(
    rows: &[ServiceRow],
    policy: &Policy,
    authorized: &[bool],
    tz: Tz,
) -> Vec<ServiceGroup> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_ip: HashMap<&str, Vec<Seen>> = HashMap::new();
    for row in rows {
        let s = seen(row, policy);
        if !authorized.is_empty() && !authorized.contains(&s.authorized) {
            continue;
        }
        let ip = row.service_ip.as_str();
        by_ip
            .entry(ip)
            .or_insert_with(|| {
                order.push(ip);
                Vec::new()
            })
            .push(s);
    }
    order
        .into_iter()
        .filter_map(|ip| by_ip.remove(ip))
        .map(|mut ports| {
            ports.sort_by(|a, b| {
                (a.row.service_port, &a.row.proto).cmp(&(b.row.service_port, &b.row.proto))
            });
            group(ports, tz)
        })
        .collect()
}

fn group(ports: Vec<Seen>, tz: Tz) -> ServiceGroup {
    let first = &ports[0].row;
    let name = ports
        .iter()
        .find_map(|p| p.allowed_name)
        .map_or_else(|| first.device_name.clone(), str::to_string);
    let first_seen = ports.iter().map(|p| p.row.first_seen).min().unwrap_or(0);
    let last_seen = ports.iter().map(|p| p.row.last_seen).max().unwrap_or(0);
    let port = |p: &Seen| ServicePort {
        id: p.row.id,
        port: p.row.service_port,
        proto: p.row.proto.clone(),
        authorized: p.authorized,
        first_seen: clock::format(p.row.first_seen, tz),
        last_seen: clock::format(p.row.last_seen, tz),
    };
    ServiceGroup {
        service_ip: first.service_ip.clone(),
        name,
        authorized: ports.iter().all(|p| p.authorized),
        first_seen: clock::format(first_seen, tz),
        last_seen: clock::format(last_seen, tz),
        tcp_ports: ports
            .iter()
            .filter(|p| p.row.proto == "tcp")
            .map(port)
            .collect(),
        udp_ports: ports
            .iter()
            .filter(|p| p.row.proto == "udp")
            .map(port)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::policy_store::AllowedRow;

    fn row(id: i64, ip: &str, port: i64, proto: &str, first: i64, last: i64) -> ServiceRow {
        ServiceRow {
            id,
            service_ip: ip.into(),
            service_port: port,
            proto: proto.into(),
            first_seen: first,
            last_seen: last,
            device_name: format!("host-{ip}"),
        }
    }

    #[test]
    fn groups_keep_first_appearance_and_sort_ports() {
        let rows = [
            row(1, "10.0.0.2", 443, "tcp", 5_000, 9_000),
            row(2, "10.0.0.1", 53, "udp", 1_000, 2_000),
            row(3, "10.0.0.2", 22, "tcp", 3_000, 4_000),
            row(4, "10.0.0.2", 53, "udp", 7_000, 8_000),
        ];
        let policy = Policy::new(
            &[AllowedRow {
                id: 1,
                service_ip: "10.0.0.2".into(),
                service_port: 443,
                proto: "tcp".into(),
                name: "Web".into(),
                created_at: 0,
            }],
            &[],
        );
        let g = groups(&rows, &policy, &[], chrono_tz::UTC);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].service_ip, "10.0.0.2");
        assert_eq!(g[0].name, "Web");
        assert!(!g[0].authorized);
        let tcp: Vec<i64> = g[0].tcp_ports.iter().map(|p| p.port).collect();
        assert_eq!(tcp, [22, 443]);
        assert_eq!(g[0].udp_ports[0].id, 4);
        assert_eq!(g[0].first_seen, "1970-01-01 00:00:03");
        assert_eq!(g[0].last_seen, "1970-01-01 00:00:09");
        assert_eq!(g[1].name, "host-10.0.0.1");
        assert!(g[1].tcp_ports.is_empty());

        let only = groups(&rows, &policy, &[true], chrono_tz::UTC);
        assert_eq!(only.len(), 1);
        assert!(only[0].authorized);
        assert_eq!(only[0].tcp_ports.len(), 1);
        assert_eq!(
            service(&rows[2], &policy, chrono_tz::UTC).name,
            "host-10.0.0.2"
        );
    }
}
