//! Traffic meeting the intel lists: `tor` (to or from a Tor relay, level 20), `misp_ip` (to or
//! from a MISP address indicator, 30) and `misp_dns` (a DNS query for a MISP domain or host
//! name indicator, 30). Pure: [`keys`] says what one batch asks the lists about (one lookup
//! per batch, see [`crate::intel::lookup`]), [`matches`] turns the answer into findings.

use std::collections::HashSet;
use std::net::IpAddr;

use super::{Finding, Side};
use crate::intel::{Listed, MispHit};
use crate::record::{Endpoints, Record};

pub const TOR_LEVEL: i64 = 20;
pub const MISP_LEVEL: i64 = 30;
/// Labels of a name looked up, from the right (`a.b.c.example.com` asks about at most this
/// many of its parents).
const MAX_LABELS: usize = 10;

/// What a batch asks the lists about.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Keys {
    pub ips: Vec<IpAddr>,
    pub names: Vec<String>,
}

impl Keys {
    pub fn is_empty(&self) -> bool {
        self.ips.is_empty() && self.names.is_empty()
    }
}

/// The endpoints and time of a record that carries them.
pub(crate) fn endpoints(r: &Record) -> Option<(i64, &Endpoints)> {
    match r {
        Record::Flow(f) => Some((f.ts, &f.at)),
        Record::Alert(a) => Some((a.ts, &a.at)),
        Record::Dns(d) => Some((d.ts, &d.at)),
        Record::Http(h) => Some((h.ts, &h.at)),
        Record::Dhcp(_) | Record::Syslog(_) => None,
    }
}

/// Addresses no public list names (private, loopback, link-local, multicast, …) are not
/// looked up: most of a network's traffic has one.
fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified())
        }
        IpAddr::V6(v6) => {
            let seg0 = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_multicast()
                || v6.is_unspecified()
                || (seg0 & 0xfe00) == 0xfc00
                || (seg0 & 0xffc0) == 0xfe80)
        }
    }
}

/// A queried name as stored in the lists: lower case, no trailing dot; `None` for what no
/// list holds (single labels, reverse lookups, `.local`).
pub fn normalise(query: &str) -> Option<String> {
    let name = query.trim().trim_end_matches('.').to_ascii_lowercase();
    let useless = name.is_empty()
        || !name.contains('.')
        || name.ends_with(".arpa")
        || name.ends_with(".local")
        || name.contains(char::is_whitespace);
    (!useless).then_some(name)
}

/// `name` and its parent domains of two labels or more, most specific first.
pub fn candidates(name: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = name;
    let labels = name.split('.').count();
    let skip = labels.saturating_sub(MAX_LABELS);
    for _ in 0..skip {
        rest = rest.split_once('.').map_or(rest, |(_, r)| r);
    }
    loop {
        if !rest.contains('.') {
            break;
        }
        out.push(rest);
        match rest.split_once('.') {
            Some((_, r)) => rest = r,
            None => break,
        }
    }
    out
}

pub fn keys(records: &[Record]) -> Keys {
    let mut ips = HashSet::new();
    let mut names = HashSet::new();
    for r in records {
        let Some((_, at)) = endpoints(r) else {
            continue;
        };
        for ip in [at.src_ip, at.dst_ip].into_iter().flatten() {
            let ip = ip.to_canonical();
            if public(ip) {
                ips.insert(ip);
            }
        }
        if let Record::Dns(d) = r {
            if let Some(name) = normalise(&d.query) {
                for c in candidates(&name) {
                    names.insert(c.to_string());
                }
            }
        }
    }
    let mut ips: Vec<IpAddr> = ips.into_iter().collect();
    ips.sort_unstable();
    let mut names: Vec<String> = names.into_iter().collect();
    names.sort_unstable();
    Keys { ips, names }
}

fn side(ip: Option<IpAddr>, port: u16, mac: &Option<String>) -> Side {
    Side {
        ip: ip.map(|i| i.to_string()).unwrap_or_default(),
        port,
        mac: mac.clone().unwrap_or_default(),
    }
}

fn flow_text(at: &Endpoints) -> String {
    let ip = |i: Option<IpAddr>| i.map(|i| i.to_string()).unwrap_or_else(|| "?".into());
    format!(
        "{}:{} → {}:{}/{}",
        ip(at.src_ip),
        at.src_port,
        ip(at.dst_ip),
        at.dst_port,
        at.proto.as_str()
    )
}

fn misp_text(h: &MispHit) -> String {
    let mut s = if h.event.is_empty() {
        "MISP".to_string()
    } else {
        format!("MISP event {}", h.event)
    };
    if !h.info.is_empty() {
        s.push_str(&format!(": {}", h.info));
    }
    let detail: Vec<&str> = [h.category.as_str(), h.kind.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    if !detail.is_empty() {
        s.push_str(&format!(" ({})", detail.join(", ")));
    }
    s
}

/// The listed address of a record's endpoints, preferring its destination, and whether it
/// was the destination.
fn listed_side<T>(at: &Endpoints, find: impl Fn(IpAddr) -> Option<T>) -> Option<(IpAddr, T, bool)> {
    let probe = |ip: Option<IpAddr>| {
        ip.map(|i| i.to_canonical())
            .and_then(|i| Some((i, find(i)?)))
    };
    if let Some((ip, t)) = probe(at.dst_ip) {
        return Some((ip, t, true));
    }
    probe(at.src_ip).map(|(ip, t)| (ip, t, false))
}

/// The findings of one batch against the lists' answer, each with the index of its record.
pub fn matches(records: &[Record], listed: &Listed) -> Vec<(usize, Finding)> {
    let mut out = Vec::new();
    if listed.is_empty() {
        return out;
    }
    for (i, r) in records.iter().enumerate() {
        let mut push = |f: Finding| out.push((i, f));
        let Some((ts, at)) = endpoints(r) else {
            continue;
        };
        let src = side(at.src_ip, at.src_port, &at.src_mac);
        let dst = side(at.dst_ip, at.dst_port, &at.dst_mac);
        let other = |to: bool| if to { src.ip.clone() } else { dst.ip.clone() };
        if let Some((ip, relay, to)) = listed_side(at, |ip| listed.tor.get(&ip)) {
            let what = if relay.exit {
                "Tor exit relay"
            } else {
                "Tor relay"
            };
            let mut name = String::new();
            if !relay.nickname.is_empty() {
                name.push_str(&format!(" {}", relay.nickname));
            }
            if !relay.fingerprint.is_empty() {
                name.push_str(&format!(" ({})", relay.fingerprint));
            }
            push(Finding {
                ts,
                kind: "tor",
                level: TOR_LEVEL,
                src: src.clone(),
                dst: dst.clone(),
                subject: format!("Traffic {} {what} {ip}", if to { "to" } else { "from" }),
                message: format!("{}: {ip} is a {what}{name}", flow_text(at)),
                hold: Some(("tor", other(to), ip.to_string())),
            });
        }
        if let Some((ip, hit, to)) = listed_side(at, |ip| listed.misp_ips.get(&ip)) {
            push(Finding {
                ts,
                kind: "misp_ip",
                level: MISP_LEVEL,
                src: src.clone(),
                dst: dst.clone(),
                subject: format!(
                    "Traffic {} MISP indicator {ip}",
                    if to { "to" } else { "from" }
                ),
                message: format!("{}: {ip} is listed in {}", flow_text(at), misp_text(hit)),
                hold: Some(("misp_ip", other(to), ip.to_string())),
            });
        }
        if let Record::Dns(d) = r {
            let Some(name) = normalise(&d.query) else {
                continue;
            };
            let hit = candidates(&name).into_iter().find_map(|c| {
                let h = listed.misp_domains.get(c)?;
                (c == name || h.subdomains).then_some(h)
            });
            if let Some(hit) = hit {
                // The client asked; an answer travels from the resolver back to it.
                let reply = at.src_port != 0 && at.src_port < 1024 && at.dst_port >= 1024;
                let (client, server) = if reply { (&dst, &src) } else { (&src, &dst) };
                let qtype = if d.qtype.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", d.qtype)
                };
                let matched = if hit.value == name {
                    String::new()
                } else {
                    format!(", a name under {}", hit.value)
                };
                push(Finding {
                    ts,
                    kind: "misp_dns",
                    level: MISP_LEVEL,
                    src: client.clone(),
                    dst: server.clone(),
                    subject: format!("DNS query for MISP indicator {name}"),
                    message: format!(
                        "{} asked {} for {name}{qtype}{matched}; listed in {}",
                        client.ip,
                        server.ip,
                        misp_text(hit)
                    ),
                    hold: Some(("misp_dns", client.ip.clone(), hit.value.clone())),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::TorRelay;
    use crate::record::{Dns, Flow, Transport};

    fn at(src: &str, sport: u16, dst: &str, dport: u16) -> Endpoints {
        Endpoints {
            src_ip: Some(src.parse().unwrap()),
            src_port: sport,
            dst_ip: Some(dst.parse().unwrap()),
            dst_port: dport,
            proto: Transport::Tcp,
            src_mac: None,
            dst_mac: None,
        }
    }

    fn flow(src: &str, dst: &str, dport: u16) -> Record {
        Record::Flow(Flow {
            ts: 5,
            at: at(src, 50_000, dst, dport),
            bytes_out: 1,
            bytes_in: 1,
            packets_out: 1,
            packets_in: 1,
            duration_ms: 1,
            established: true,
            flow_id: None,
        })
    }

    fn dns(src: &str, sport: u16, dst: &str, dport: u16, query: &str) -> Record {
        Record::Dns(Dns {
            ts: 7,
            at: Endpoints {
                proto: Transport::Udp,
                ..at(src, sport, dst, dport)
            },
            qtype: "A".into(),
            query: query.into(),
            answer: String::new(),
            rcode: String::new(),
        })
    }

    #[test]
    fn keys_are_public_addresses_and_names_with_their_parents() {
        let records = [
            flow("10.0.0.5", "198.51.100.7", 9001),
            flow("10.0.0.5", "198.51.100.7", 443),
            flow("fe80::1", "::ffff:203.0.113.9", 80),
            dns("10.0.0.5", 40000, "10.0.0.1", 53, "WWW.Login.Evil.Test."),
            dns("10.0.0.5", 40001, "10.0.0.1", 53, "1.0.0.10.in-addr.arpa"),
            dns("10.0.0.5", 40002, "10.0.0.1", 53, "printer"),
        ];
        let k = keys(&records);
        let ips: Vec<String> = k.ips.iter().map(|i| i.to_string()).collect();
        assert_eq!(ips, ["198.51.100.7", "203.0.113.9"]);
        assert_eq!(
            k.names,
            ["evil.test", "login.evil.test", "www.login.evil.test"]
        );
        assert_eq!(candidates("a.b"), ["a.b"]);
        let deep = (0..20)
            .map(|i| format!("l{i}"))
            .collect::<Vec<_>>()
            .join(".");
        assert_eq!(candidates(&deep).len(), MAX_LABELS - 1);
    }

    fn hit(value: &str, subdomains: bool) -> MispHit {
        MispHit {
            value: value.into(),
            kind: if subdomains { "domain" } else { "hostname" }.into(),
            event: "1207".into(),
            info: "Phishing campaign".into(),
            category: "Network activity".into(),
            subdomains,
        }
    }

    #[test]
    fn tor_misp_and_dns_findings() {
        let mut listed = Listed::default();
        listed.tor.insert(
            "198.51.100.7".parse().unwrap(),
            TorRelay {
                nickname: "moria1".into(),
                fingerprint: "9695DFC35FFEB861329B9F1AB04C46397020CE31".into(),
                exit: false,
            },
        );
        listed
            .misp_ips
            .insert("203.0.113.80".parse().unwrap(), hit("203.0.113.80", false));
        listed
            .misp_domains
            .insert("evil.test".into(), hit("evil.test", true));
        listed
            .misp_domains
            .insert("exact.test".into(), hit("exact.test", false));
        let records = [
            flow("10.0.0.5", "198.51.100.7", 9001),
            flow("203.0.113.80", "10.0.0.8", 22),
            dns("10.0.0.5", 40000, "10.0.0.1", 53, "www.evil.test"),
            dns("10.0.0.1", 53, "10.0.0.6", 40001, "exact.test."),
            dns("10.0.0.5", 40002, "10.0.0.1", 53, "sub.exact.test"),
        ];
        let f: Vec<Finding> = matches(&records, &listed)
            .into_iter()
            .map(|(_, f)| f)
            .collect();
        let got: Vec<(&str, &str, &str, &str)> = f
            .iter()
            .map(|f| {
                (
                    f.kind,
                    f.src.ip.as_str(),
                    f.dst.ip.as_str(),
                    f.subject.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "tor",
                    "10.0.0.5",
                    "198.51.100.7",
                    "Traffic to Tor relay 198.51.100.7"
                ),
                (
                    "misp_ip",
                    "203.0.113.80",
                    "10.0.0.8",
                    "Traffic from MISP indicator 203.0.113.80"
                ),
                (
                    "misp_dns",
                    "10.0.0.5",
                    "10.0.0.1",
                    "DNS query for MISP indicator www.evil.test"
                ),
                (
                    "misp_dns",
                    "10.0.0.6",
                    "10.0.0.1",
                    "DNS query for MISP indicator exact.test"
                ),
            ]
        );
        assert_eq!(
            f[0].message,
            "10.0.0.5:50000 → 198.51.100.7:9001/tcp: 198.51.100.7 is a Tor relay moria1 (9695DFC35FFEB861329B9F1AB04C46397020CE31)"
        );
        assert_eq!(
            f[1].message,
            "203.0.113.80:50000 → 10.0.0.8:22/tcp: 203.0.113.80 is listed in MISP event 1207: Phishing campaign (Network activity, hostname)"
        );
        assert_eq!(
            f[2].message,
            "10.0.0.5 asked 10.0.0.1 for www.evil.test (A), a name under evil.test; listed in MISP event 1207: Phishing campaign (Network activity, domain)"
        );
        assert_eq!((f[0].level, f[1].level, f[2].level), (20, 30, 30));
        assert_eq!(
            f[0].hold,
            Some(("tor", "10.0.0.5".into(), "198.51.100.7".into()))
        );
        assert_eq!(
            f[3].hold,
            Some(("misp_dns", "10.0.0.6".into(), "exact.test".into()))
        );
        assert_eq!(f[3].src.port, 40001);
    }
}
