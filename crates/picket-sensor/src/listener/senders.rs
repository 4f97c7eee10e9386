//! The listener's settings, parsed: which sockets to open (`udp://ADDR:PORT,tcp://ADDR:PORT`)
//! and which agent each sender's address stands for (`[[syslog.agents]]`).

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use picket_core::config::SyslogAgent;
use picket_core::ids::AgentId;

/// The transport of a listening socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

/// Parses `udp://ADDR:PORT,tcp://ADDR:PORT` (either, both, or several of each).
pub fn parse_listen(spec: &str) -> Result<Vec<(Transport, SocketAddr)>, String> {
    let mut out = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (transport, addr) = if let Some(a) = item.strip_prefix("udp://") {
            (Transport::Udp, a)
        } else if let Some(a) = item.strip_prefix("tcp://") {
            (Transport::Tcp, a)
        } else {
            return Err(format!(
                "syslog listen address `{item}` must start with udp:// or tcp://"
            ));
        };
        let addr: SocketAddr = addr.parse().map_err(|_| {
            format!(
                "syslog listen address `{item}`: expected udp:// or tcp:// then an IP address and a \
                 port, e.g. udp://0.0.0.0:514 or tcp://[::]:601"
            )
        })?;
        if out.contains(&(transport, addr)) {
            return Err(format!("syslog listen address `{item}` is given twice"));
        }
        out.push((transport, addr));
    }
    if out.is_empty() {
        return Err("syslog listen: no address given".into());
    }
    Ok(out)
}

/// Sender address → agent, most specific block first.
#[derive(Debug, Clone, Default)]
pub struct SenderMap {
    entries: Vec<(IpNet, AgentId)>,
}

impl SenderMap {
    /// From `[[syslog.agents]]`: `source` is an address or a CIDR block.
    pub fn new(agents: &[SyslogAgent]) -> Result<SenderMap, String> {
        let mut entries = Vec::with_capacity(agents.len());
        for (i, a) in agents.iter().enumerate() {
            let src = a.source.trim();
            let net = match src.parse::<IpNet>() {
                Ok(n) => n.trunc(),
                Err(_) => match src.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip.to_canonical()),
                    Err(_) => {
                        return Err(format!(
                        "syslog.agents[{i}]: `source` `{}` is not an IP address or a CIDR block",
                        a.source
                    ))
                    }
                },
            };
            if entries.iter().any(|(n, _)| *n == net) {
                return Err(format!(
                    "syslog.agents[{i}]: `source` `{}` is given twice",
                    a.source
                ));
            }
            entries.push((net, AgentId(a.agent_id)));
        }
        // The longest prefix wins, as in routing.
        entries.sort_by_key(|(n, _)| std::cmp::Reverse(n.prefix_len()));
        Ok(SenderMap { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The agents named (each once).
    pub fn agents(&self) -> Vec<AgentId> {
        let mut ids: Vec<AgentId> = self.entries.iter().map(|(_, a)| *a).collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// The agent a sender stands for; an IPv4 sender seen on an IPv6 socket counts as IPv4.
    pub fn agent_for(&self, ip: IpAddr) -> Option<AgentId> {
        let ip = ip.to_canonical();
        self.entries
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .map(|(_, a)| *a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(source: &str, agent_id: i64) -> SyslogAgent {
        SyslogAgent {
            source: source.into(),
            agent_id,
        }
    }

    #[test]
    fn listen_specs() {
        assert_eq!(
            parse_listen("udp://127.0.0.1:514, tcp://[::1]:601").unwrap(),
            vec![
                (Transport::Udp, "127.0.0.1:514".parse().unwrap()),
                (Transport::Tcp, "[::1]:601".parse().unwrap()),
            ]
        );
        for bad in [
            "127.0.0.1:514",
            "udp://localhost:514",
            "tcp://1.2.3.4",
            "",
            " , ",
        ] {
            assert!(parse_listen(bad).is_err(), "{bad}");
        }
        assert!(parse_listen("udp://0.0.0.0:514,udp://0.0.0.0:514")
            .unwrap_err()
            .contains("twice"));
    }

    #[test]
    fn most_specific_block_wins() {
        let m = SenderMap::new(&[
            agent("10.0.0.0/8", 1),
            agent("10.1.2.3", 2),
            agent("10.1.0.0/16", 3),
            agent("2001:db8::/32", 4),
        ])
        .unwrap();
        let id = |s: &str| m.agent_for(s.parse().unwrap()).map(|a| a.0);
        assert_eq!(id("10.1.2.3"), Some(2));
        assert_eq!(id("10.1.9.9"), Some(3));
        assert_eq!(id("10.200.0.1"), Some(1));
        assert_eq!(id("::ffff:10.1.2.3"), Some(2), "IPv4-mapped senders");
        assert_eq!(id("2001:db8::5"), Some(4));
        assert_eq!(id("192.168.1.1"), None);
        assert_eq!(m.agents().len(), 4);
    }

    #[test]
    fn bad_sources_are_named() {
        let e = SenderMap::new(&[agent("10.0.0.0/33", 1)]).unwrap_err();
        assert!(
            e.contains("syslog.agents[0]") && e.contains("10.0.0.0/33"),
            "{e}"
        );
        let e = SenderMap::new(&[agent("10.0.0.1", 1), agent("10.0.0.1/32", 2)]).unwrap_err();
        assert!(e.contains("syslog.agents[1]") && e.contains("twice"), "{e}");
    }
}
