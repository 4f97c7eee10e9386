//! Which ports are authorized (§2.4, §11.2–3): a port is authorized when an allowed-service
//! entry matches its (ip, port, proto) and no exclude rule matches it. A tenant has few
//! entries and rules, so they are read once per request and matched in memory.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::policy_store::{AllowedRow, ExcludeRow};
use super::policy_wire::Target;
use super::wire::{parse_ip_or_cidr, Proto};

/// The tenant's allowed-service entries and exclude rules, parsed.
#[derive(Debug, Default)]
pub struct Policy {
    /// Entries by (port, proto): their address target and name.
    allowed: HashMap<(i64, Proto), Vec<(Target, String)>>,
    excludes: Vec<Exclude>,
}

#[derive(Debug)]
struct Exclude {
    net: IpNet,
    ports: Option<(i64, i64)>,
    proto: Option<Proto>,
}

impl Policy {
    pub fn new(allowed: &[AllowedRow], excludes: &[ExcludeRow]) -> Policy {
        let mut p = Policy::default();
        for a in allowed {
            let (Ok(target), Ok(proto)) = (Target::parse(&a.service_ip), Proto::parse(&a.proto))
            else {
                continue;
            };
            p.allowed
                .entry((a.service_port, proto))
                .or_default()
                .push((target, a.name.clone()));
        }
        for r in excludes {
            let Ok(net) = parse_ip_or_cidr(&r.ip) else {
                continue;
            };
            let proto = match &r.proto {
                None => None,
                Some(s) => match Proto::parse(s) {
                    Ok(p) => Some(p),
                    Err(_) => continue,
                },
            };
            let ports = match (r.port_from, r.port_to) {
                (Some(f), Some(t)) => Some((f, t)),
                (Some(p), None) | (None, Some(p)) => Some((p, p)),
                (None, None) => None,
            };
            p.excludes.push(Exclude { net, ports, proto });
        }
        p
    }

    /// The entries matching (ip, port, proto), with their specificity: `*` below any block,
    /// longer prefixes above shorter ones.
    fn entries(
        &self,
        ip: IpAddr,
        port: i64,
        proto: Proto,
    ) -> impl Iterator<Item = (i16, &str)> + '_ {
        self.allowed
            .get(&(port, proto))
            .into_iter()
            .flatten()
            .filter_map(move |(target, name)| match target {
                Target::Any => Some((-1, name.as_str())),
                Target::Block(net) if net.contains(&ip) => {
                    Some((i16::from(net.prefix_len()), name.as_str()))
                }
                Target::Block(_) => None,
            })
    }

    fn excluded(&self, ip: IpAddr, port: i64, proto: Proto) -> bool {
        self.excludes.iter().any(|r| {
            r.net.contains(&ip)
                && r.proto.is_none_or(|p| p == proto)
                && r.ports.is_none_or(|(f, t)| (f..=t).contains(&port))
        })
    }

    pub fn authorized(&self, ip: IpAddr, port: i64, proto: Proto) -> bool {
        self.entries(ip, port, proto).next().is_some() && !self.excluded(ip, port, proto)
    }

    /// The name of the most specific matching entry that has one; an exclude rule does not
    /// hide it (it says what the port is, not whether it is allowed).
    pub fn name(&self, ip: IpAddr, port: i64, proto: Proto) -> Option<&str> {
        self.entries(ip, port, proto)
            .filter(|(_, name)| !name.is_empty())
            .max_by_key(|(rank, _)| *rank)
            .map(|(_, name)| name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(ip: &str, port: i64, proto: &str, name: &str) -> AllowedRow {
        AllowedRow {
            id: 0,
            service_ip: ip.into(),
            service_port: port,
            proto: proto.into(),
            name: name.into(),
            created_at: 0,
        }
    }

    fn exclude(ip: &str, ports: (Option<i64>, Option<i64>), proto: Option<&str>) -> ExcludeRow {
        ExcludeRow {
            id: 0,
            ip: ip.into(),
            port_from: ports.0,
            port_to: ports.1,
            proto: proto.map(Into::into),
            comment: String::new(),
            created_at: 0,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn entries_match_by_address_block_or_star_and_exact_port_and_proto() {
        let p = Policy::new(
            &[
                allowed("10.0.0.25", 443, "tcp", "Web Server"),
                allowed("10.0.0.0/24", 22, "tcp", "SSH"),
                allowed("*", 53, "udp", ""),
            ],
            &[],
        );
        assert!(p.authorized(ip("10.0.0.25"), 443, Proto::Tcp));
        assert!(!p.authorized(ip("10.0.0.26"), 443, Proto::Tcp));
        assert!(!p.authorized(ip("10.0.0.25"), 443, Proto::Udp));
        assert!(!p.authorized(ip("10.0.0.25"), 8443, Proto::Tcp));
        assert!(p.authorized(ip("10.0.0.99"), 22, Proto::Tcp));
        assert!(!p.authorized(ip("10.0.1.1"), 22, Proto::Tcp));
        assert!(p.authorized(ip("2001:db8::1"), 53, Proto::Udp));
        assert_eq!(p.name(ip("10.0.0.25"), 443, Proto::Tcp), Some("Web Server"));
        assert_eq!(p.name(ip("10.0.0.25"), 53, Proto::Udp), None);
        assert_eq!(p.name(ip("10.0.0.26"), 443, Proto::Tcp), None);
    }

    #[test]
    fn exclude_rules_carve_out_by_block_port_range_and_proto() {
        let p = Policy::new(
            &[
                allowed("*", 22, "tcp", ""),
                allowed("*", 8080, "tcp", ""),
                allowed("*", 8080, "udp", ""),
            ],
            &[
                exclude("10.0.5.0/24", (None, None), None),
                exclude("10.0.6.7", (Some(8000), Some(8100)), Some("tcp")),
            ],
        );
        assert!(!p.authorized(ip("10.0.5.1"), 22, Proto::Tcp));
        assert!(p.authorized(ip("10.0.6.7"), 22, Proto::Tcp));
        assert!(!p.authorized(ip("10.0.6.7"), 8080, Proto::Tcp));
        assert!(p.authorized(ip("10.0.6.7"), 8080, Proto::Udp));
        assert!(p.authorized(ip("10.0.6.8"), 8080, Proto::Tcp));
    }

    #[test]
    fn the_most_specific_named_entry_names_the_port() {
        let p = Policy::new(
            &[
                allowed("*", 443, "tcp", "HTTPS"),
                allowed("10.0.0.0/8", 443, "tcp", "Internal HTTPS"),
                allowed("10.1.0.0/16", 443, "tcp", ""),
                allowed("10.1.2.3", 443, "tcp", "Portal"),
            ],
            &[exclude("10.1.2.3", (None, None), None)],
        );
        assert_eq!(p.name(ip("10.1.2.3"), 443, Proto::Tcp), Some("Portal"));
        assert_eq!(
            p.name(ip("10.1.2.4"), 443, Proto::Tcp),
            Some("Internal HTTPS")
        );
        assert_eq!(p.name(ip("192.0.2.1"), 443, Proto::Tcp), Some("HTTPS"));
        assert!(!p.authorized(ip("10.1.2.3"), 443, Proto::Tcp));
    }
}
