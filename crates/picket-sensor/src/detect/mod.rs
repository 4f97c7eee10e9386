//! Detections over an ingest batch (§10.3): port scans, Tor relays, MISP indicators, the
//! syslog rule pack and brute force. (`new_device` and `new_service` are found where devices
//! and services are derived, in the batch writer.) They run inside the batch's transaction,
//! so an alert exists exactly when the rows it was found in do.
//!
//! The logic is pure ([`rules`], [`portscan`], [`bruteforce`], [`indicators`], [`recent`]):
//! records in, findings out. [`run`] adds what it needs from outside: the intel lists' answer
//! for the whole batch (checked against the keys kept in memory, then one lookup for what
//! matched, see [`crate::intel::cache`]), and the tenant's windows, kept in memory in the app
//! state between batches. Windows go by record time, so a batch replayed from an agent's
//! spool counts as it happened. A restart forgets partial windows (a scan or burst that
//! straddles it is counted from the restart on), and each server process keeps its own
//! windows, so with several servers an agent's batches should reach the same one. The batch
//! writer retries a batch whose transaction failed for a transient reason; the windows
//! remember which record of which batch they counted and alerted on ([`window::At`]), so a
//! retry counts nothing twice and finds the same alerts as the failed attempt.

pub mod bruteforce;
pub mod indicators;
pub mod portscan;
pub mod recent;
pub mod rules;
pub mod window;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use picket_core::config::DetectConfig;
use picket_core::db::{DbResult, Tx};
use picket_core::identity::{AgentPrincipal, TenantId};
use picket_core::AppState;
use picket_netmon::alerts::{NewNetworkAlert, NewServerAlert};

use crate::record::Record;

pub const PORTSCAN_LEVEL: i64 = 30;
pub const BRUTEFORCE_LEVEL: i64 = 30;

/// State kept between batches (windows of the port-scan and brute-force detections).
pub fn extensions(ext: &mut axum::http::Extensions) {
    ext.insert(Windows::default());
}

/// What the detections found in one batch; the batch writer stores them with it.
#[derive(Debug, Default)]
pub struct Found {
    pub network: Vec<NewNetworkAlert>,
    pub server: Vec<NewServerAlert>,
}

/// Runs every detection over `records` of one batch from `agent`.
pub async fn run(
    tx: &mut Tx,
    state: &AppState,
    agent: &AgentPrincipal,
    records: &[Record],
) -> DbResult<Found> {
    let keys = indicators::keys(records);
    let listed = if keys.is_empty() {
        crate::intel::Listed::default()
    } else {
        let cache = state.ext::<crate::intel::KeyCache>();
        cache.lookup(tx, &keys.ips, &keys.names).await?
    };
    let settings = Settings::from_config(&state.config.detect);
    let windows = state.ext::<Windows>().tenant(agent.tenant_id);
    let found = {
        let mut w = windows.lock().unwrap_or_else(PoisonError::into_inner);
        detect(&mut w, &settings, &Who::of(agent), records, &listed)
    };
    Ok(found)
}

/// The detections' settings, from `[detect]`.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub portscan: portscan::Settings,
    pub bruteforce: bruteforce::Settings,
    portscan_window_secs: u64,
    bruteforce_window_secs: u64,
}

impl Settings {
    pub fn from_config(c: &DetectConfig) -> Settings {
        Settings {
            portscan: portscan::Settings::from_config(&c.portscan),
            bruteforce: bruteforce::Settings::from_config(&c.bruteforce),
            portscan_window_secs: c.portscan.window_secs.max(1),
            bruteforce_window_secs: c.bruteforce.window_secs.max(1),
        }
    }
}

/// The agent a batch came from, as its alerts show it.
#[derive(Debug, Clone)]
pub struct Who {
    pub agent: String,
    pub agent_name: String,
}

impl Who {
    pub fn of(a: &AgentPrincipal) -> Who {
        Who {
            agent: a.agent.clone(),
            agent_name: a.name.clone(),
        }
    }
}

/// One tenant's state between batches.
#[derive(Debug, Default)]
pub struct TenantWindows {
    pub portscan: portscan::Tracker,
    pub bruteforce: bruteforce::Tracker,
    pub recent: recent::HoldBack,
}

/// Every tenant's windows; each tenant has its own lock, so tenants never wait on each other.
#[derive(Debug, Default, Clone)]
pub struct Windows(Arc<Mutex<HashMap<TenantId, Arc<Mutex<TenantWindows>>>>>);

impl Windows {
    pub fn tenant(&self, tenant: TenantId) -> Arc<Mutex<TenantWindows>> {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        all.entry(tenant).or_default().clone()
    }
}

/// One end of a network finding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Side {
    pub ip: String,
    pub port: u16,
    pub mac: String,
}

/// A network alert before it is tied to its agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub ts: i64,
    pub kind: &'static str,
    pub level: i64,
    pub src: Side,
    pub dst: Side,
    pub subject: String,
    pub message: String,
    /// Repeats of this key are held back ([`recent`]); `None` alerts every time.
    pub hold: Option<recent::Key>,
}

impl Finding {
    fn alert(self, who: &Who) -> NewNetworkAlert {
        NewNetworkAlert {
            ts: self.ts,
            agent: who.agent.clone(),
            agent_name: who.agent_name.clone(),
            src_mac: self.src.mac,
            dst_mac: self.dst.mac,
            src_ip: self.src.ip,
            dst_ip: self.dst.ip,
            src_port: self.src.port.into(),
            dst_port: self.dst.port.into(),
            level: self.level,
            kind: self.kind.to_string(),
            subject: self.subject,
            message: self.message,
            flow_id: None,
        }
    }
}

/// The detections of one batch, pure: records, the tenant's windows and the batch's intel
/// answer in, alerts out (in record order, each detection's where they tie).
pub fn detect(
    w: &mut TenantWindows,
    s: &Settings,
    who: &Who,
    records: &[Record],
    listed: &crate::intel::Listed,
) -> Found {
    let mut found = Found::default();
    let batch = window::batch_id(records);
    let at = |index: usize| window::At {
        batch,
        index: index as u32,
    };
    for (i, r) in records.iter().enumerate() {
        if let Some(c) = portscan::contact(r) {
            if let Some(scan) = w.portscan.observe(&s.portscan, &c, at(i)) {
                let (subject, message, dst_ip, dst_port) = scan.describe(s.portscan_window_secs);
                let f = Finding {
                    ts: scan.ts,
                    kind: "portscan",
                    level: PORTSCAN_LEVEL,
                    src: Side {
                        ip: scan.src.to_string(),
                        port: 0,
                        mac: scan.src_mac.clone().unwrap_or_default(),
                    },
                    dst: Side {
                        ip: dst_ip,
                        port: dst_port,
                        mac: String::new(),
                    },
                    subject,
                    message,
                    hold: None,
                };
                found.network.push(f.alert(who));
            }
        }
        if let Record::Syslog(line) = r {
            syslog(w, s, who, line, at(i), &mut found);
        }
    }
    for (i, f) in indicators::matches(records, listed) {
        let admit = match &f.hold {
            Some(key) => w.recent.admit(key.clone(), f.ts, at(i)),
            None => true,
        };
        if admit {
            found.network.push(f.alert(who));
        }
    }
    found
}

fn syslog(
    w: &mut TenantWindows,
    s: &Settings,
    who: &Who,
    line: &crate::record::Syslog,
    at: window::At,
    found: &mut Found,
) {
    let Some(hit) = rules::classify(line) else {
        return;
    };
    let server = |kind: &str, level: i64, title: String| NewServerAlert {
        ts: line.ts,
        agent: who.agent.clone(),
        agent_name: who.agent_name.clone(),
        hostname: line.hostname.clone(),
        level,
        kind: kind.to_string(),
        title,
        line: line.line.clone(),
    };
    found
        .server
        .push(server(hit.rule.kind, hit.rule.level, hit.title.clone()));
    let Some(attempt) = &hit.attempt else {
        return;
    };
    let failure = bruteforce::Failure {
        ts: line.ts,
        hostname: &line.hostname,
        attempt,
    };
    if let Some(b) = w.bruteforce.observe(&s.bruteforce, &failure, at) {
        let mut title = format!(
            "Brute force from {}: {} authentication failures within {} s",
            b.source, b.failures, s.bruteforce_window_secs
        );
        if !b.users.is_empty() {
            title.push_str(&format!(" (users {})", b.users.join(", ")));
        }
        if b.hosts.len() > 1 {
            title.push_str(&format!(" on {}", b.hosts.join(", ")));
        }
        found
            .server
            .push(server("bruteforce", BRUTEFORCE_LEVEL, title));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::from_config(&DetectConfig::default())
    }

    fn who() -> Who {
        Who {
            agent: "9c41e0d27ab35f18".into(),
            agent_name: "sensor-office".into(),
        }
    }

    /// The real auth sample, as the syslog parser makes it (times a second apart).
    fn sample() -> Vec<Record> {
        include_str!("../../../picket/tests/fixtures/network/auth-beats.log")
            .lines()
            .enumerate()
            .map(|(i, l)| {
                let mut s = rules::tests::syslog(l);
                s.ts = 1_700_000_000_000 + i as i64 * 1000;
                Record::Syslog(s)
            })
            .collect()
    }

    #[test]
    fn the_auth_sample_makes_server_alerts_with_host_title_and_line() {
        let mut w = TenantWindows::default();
        let f = detect(&mut w, &settings(), &who(), &sample(), &Default::default());
        assert!(f.network.is_empty());
        let got: Vec<(&str, i64, &str)> = f
            .server
            .iter()
            .map(|a| (a.kind.as_str(), a.level, a.hostname.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("sshd_invalid_user", 10, "localhost"),
                ("sshd_failed_password", 10, "slave22"),
                ("sshd_no_identification", 10, "slave22"),
                ("sudo_not_in_sudoers", 30, "precise32"),
                ("group_created", 10, "localhost"),
                ("user_created", 20, "localhost"),
            ]
        );
        let a = &f.server[1];
        assert_eq!(a.title, "SSH failed password for root from 216.160.83.57");
        assert_eq!(
            a.line,
            "Feb 20 08:35:22 slave22 sshd[5774]: Failed password for root from 216.160.83.57 port 29160 ssh2"
        );
        assert_eq!(
            (a.agent.as_str(), a.agent_name.as_str()),
            ("9c41e0d27ab35f18", "sensor-office")
        );
        assert_eq!(a.ts, 1_700_000_000_000 + 3000);
    }

    #[test]
    fn the_sample_failed_password_five_times_is_a_brute_force_once() {
        let line = include_str!("../../../picket/tests/fixtures/network/auth-beats.log")
            .lines()
            .nth(3)
            .unwrap();
        let records: Vec<Record> = (0..7)
            .map(|i| {
                let mut s = rules::tests::syslog(line);
                s.ts = 1_700_000_000_000 + i * 30_000;
                Record::Syslog(s)
            })
            .collect();
        let mut w = TenantWindows::default();
        let (first, second) = records.split_at(3);
        let s = settings();
        let f1 = detect(&mut w, &s, &who(), first, &Default::default());
        assert_eq!(f1.server.len(), 3);
        let f2 = detect(&mut w, &s, &who(), second, &Default::default());
        let brute: Vec<&NewServerAlert> = f2
            .server
            .iter()
            .filter(|a| a.kind == "bruteforce")
            .collect();
        assert_eq!(brute.len(), 1, "one per burst, across batches");
        assert_eq!(
            brute[0].title,
            "Brute force from 216.160.83.57: 5 authentication failures within 300 s (users root)"
        );
        assert_eq!(
            (brute[0].level, brute[0].hostname.as_str()),
            (30, "slave22")
        );
        assert_eq!(brute[0].ts, 1_700_000_000_000 + 4 * 30_000);
        assert_eq!(brute[0].line, line);
    }

    #[test]
    fn a_scan_is_one_network_alert_and_intel_repeats_are_held_back() {
        use crate::record::{Endpoints, Flow, Transport};
        let flow = |ts: i64, dst: &str, port: u16| {
            Record::Flow(Flow {
                ts,
                at: Endpoints {
                    src_ip: Some("192.168.56.20".parse().unwrap()),
                    src_port: 45_000,
                    dst_ip: Some(dst.parse().unwrap()),
                    dst_port: port,
                    proto: Transport::Tcp,
                    src_mac: Some("08:00:27:aa:bb:cc".into()),
                    dst_mac: None,
                },
                bytes_out: 60,
                bytes_in: 0,
                packets_out: 1,
                packets_in: 0,
                duration_ms: 0,
                established: false,
                flow_id: Some(ts),
            })
        };
        let scan: Vec<Record> = (1..=100)
            .map(|p| flow(p as i64 * 10, "10.0.0.5", p))
            .collect();
        let mut w = TenantWindows::default();
        let f = detect(&mut w, &settings(), &who(), &scan, &Default::default());
        assert_eq!(f.network.len(), 1);
        let a = &f.network[0];
        assert_eq!((a.kind.as_str(), a.level), ("portscan", 30));
        assert_eq!(
            (a.src_ip.as_str(), a.src_mac.as_str(), a.dst_ip.as_str()),
            ("192.168.56.20", "08:00:27:aa:bb:cc", "10.0.0.5")
        );
        assert_eq!(a.subject, "Port scan from 192.168.56.20");

        let mut listed = crate::intel::Listed::default();
        listed.tor.insert(
            "198.51.100.7".parse().unwrap(),
            crate::intel::TorRelay {
                nickname: "relay".into(),
                fingerprint: String::new(),
                exit: true,
            },
        );
        let tor: Vec<Record> = (0..5)
            .map(|i| flow(10_000 + i * 60_000, "198.51.100.7", 443))
            .collect();
        let f = detect(&mut w, &settings(), &who(), &tor, &listed);
        assert_eq!(f.network.len(), 1, "{:?}", f.network);
        assert_eq!(
            f.network[0].subject,
            "Traffic to Tor exit relay 198.51.100.7"
        );
        let later = [flow(10_000 + 3_600_000, "198.51.100.7", 443)];
        assert_eq!(
            detect(&mut w, &settings(), &who(), &later, &listed)
                .network
                .len(),
            1
        );
    }

    /// What a batch's alerts say, to compare two runs.
    fn summary(f: &Found) -> Vec<String> {
        let n = f
            .network
            .iter()
            .map(|a| format!("{} {} {} {}", a.ts, a.kind, a.src_ip, a.subject));
        let s = f
            .server
            .iter()
            .map(|a| format!("{} {} {}", a.ts, a.kind, a.title));
        n.chain(s).collect()
    }

    #[test]
    fn a_retried_batch_finds_the_same_alerts() {
        use crate::record::{Endpoints, Flow, Transport};
        let flow = |ts: i64, dst: &str, port: u16| {
            Record::Flow(Flow {
                ts,
                at: Endpoints {
                    src_ip: Some("192.168.56.20".parse().unwrap()),
                    src_port: 45_000,
                    dst_ip: Some(dst.parse().unwrap()),
                    dst_port: port,
                    proto: Transport::Tcp,
                    src_mac: None,
                    dst_mac: None,
                },
                bytes_out: 60,
                bytes_in: 0,
                packets_out: 1,
                packets_in: 0,
                duration_ms: 0,
                established: false,
                flow_id: None,
            })
        };
        let line = include_str!("../../../picket/tests/fixtures/network/auth-beats.log")
            .lines()
            .nth(3)
            .unwrap();
        let mut records: Vec<Record> = (1..=30)
            .map(|p| flow(p as i64 * 10, "10.0.0.5", p))
            .collect();
        records.extend((0..6).map(|i| {
            let mut s = rules::tests::syslog(line);
            s.ts = 1_000 + i;
            Record::Syslog(s)
        }));
        records.push(flow(2_000, "198.51.100.7", 443));
        let mut listed = crate::intel::Listed::default();
        listed.tor.insert(
            "198.51.100.7".parse().unwrap(),
            crate::intel::TorRelay {
                nickname: "relay".into(),
                fingerprint: String::new(),
                exit: true,
            },
        );
        let mut w = TenantWindows::default();
        let s = settings();
        let first = detect(&mut w, &s, &who(), &records, &listed);
        let kinds: Vec<&str> = first
            .network
            .iter()
            .map(|a| a.kind.as_str())
            .chain(first.server.iter().map(|a| a.kind.as_str()))
            .filter(|k| *k != "sshd_failed_password")
            .collect();
        assert_eq!(kinds, ["portscan", "tor", "bruteforce"]);
        // The transaction failed; the writer runs the batch again.
        let retry = detect(&mut w, &s, &who(), &records, &listed);
        assert_eq!(summary(&retry), summary(&first));
        // The next batch carries on from the first: no new burst, no repeat.
        let next = vec![
            flow(3_000, "10.0.0.5", 31),
            flow(3_001, "198.51.100.7", 443),
        ];
        assert!(detect(&mut w, &s, &who(), &next, &listed)
            .network
            .is_empty());
    }
}
