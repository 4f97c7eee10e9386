//! Port scans (§10.3): one source reaching at least `ports` distinct destination ports, or
//! sweeping at least `hosts` distinct destination hosts, within `window_secs`; one alert per
//! burst. A burst ends when the source has been quiet for a whole window.
//!
//! What counts (see [`contact`]): flows, IDS signature alerts, DNS queries and HTTP requests,
//! by their originator. For the port count every contact counts. For the host sweep only contacts
//! that went unanswered count — flows the responder never answered, and IDS alerts — since
//! a workstation opening a web page reaches dozens of hosts within a minute, all of which
//! answer, while a sweep mostly finds no one home. Replies (a DNS answer from port 53, an
//! alert on a server's answer to an ephemeral port) are not contacts of their sender.
//!
//! Pure state over record times (not the clock). Memory is bounded: before its alert a
//! source keeps fewer than `ports` ports and `hosts` hosts, after it only its last time, and
//! a tenant keeps at most [`MAX_SOURCES`] sources (the quietest are forgotten first).

use std::collections::HashMap;
use std::net::IpAddr;

use super::window::{self, At};
use crate::record::{Endpoints, Record, Transport};

/// Sources kept per tenant before the quietest are forgotten.
pub const MAX_SOURCES: usize = 100_000;
/// Ports and hosts listed in an alert's message.
const LISTED: usize = 30;

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub ports: usize,
    pub hosts: usize,
    pub window_ms: i64,
}

impl Settings {
    pub fn from_config(c: &picket_core::config::PortscanConfig) -> Settings {
        Settings {
            ports: (c.ports as usize).max(1),
            hosts: (c.hosts as usize).max(1),
            window_ms: window::ms(c.window_secs),
        }
    }
}

/// One source reaching one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact<'a> {
    pub ts: i64,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub dst_port: u16,
    pub proto: Transport,
    /// Counts towards the host sweep: the responder did not answer (or an IDS alert).
    pub unanswered: bool,
    pub at: &'a Endpoints,
}

/// Ports below this are services; at or above, ephemeral client ports.
const EPHEMERAL: u16 = 1024;

/// A packet from a service port to a client's ephemeral port: a reply.
fn is_reply(at: &Endpoints) -> bool {
    at.src_port != 0 && at.src_port < EPHEMERAL && at.dst_port >= EPHEMERAL
}

/// The contact a record stands for, if any.
pub fn contact(r: &Record) -> Option<Contact<'_>> {
    let (ts, at, unanswered) = match r {
        Record::Flow(f) => (f.ts, &f.at, !f.established),
        // Decoder anomalies say a packet was malformed, not that anyone was reached.
        Record::Alert(a) if !a.anomaly && !is_reply(&a.at) => (a.ts, &a.at, true),
        Record::Dns(d) if !is_reply(&d.at) => (d.ts, &d.at, false),
        Record::Http(h) => (h.ts, &h.at, false),
        _ => return None,
    };
    Some(Contact {
        ts,
        src: at.src_ip?,
        dst: at.dst_ip?,
        dst_port: at.dst_port,
        proto: at.proto,
        unanswered,
        at,
    })
}

/// A scan that reached a threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    pub ts: i64,
    pub src: IpAddr,
    pub src_mac: Option<String>,
    /// What reached the threshold.
    pub by: Reached,
    /// Distinct destination ports in the window, ascending.
    pub ports: Vec<u16>,
    /// Distinct unanswered destination hosts in the window, ascending.
    pub hosts: Vec<IpAddr>,
    /// The contact that reached the threshold.
    pub last_dst: IpAddr,
    pub last_port: u16,
    pub proto: Transport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    Ports,
    Hosts,
}

#[derive(Debug, Default)]
struct Source {
    last_ts: i64,
    alerted: bool,
    /// The record that made this burst alert, and its scan (to alert again on a retry).
    crossed: Option<(At, Box<Scan>)>,
    /// Distinct ports with the time each was last reached.
    ports: Vec<(u16, i64)>,
    /// Distinct unanswered hosts with the time each was last reached.
    hosts: Vec<(IpAddr, i64)>,
}

impl Source {
    fn prune(&mut self, horizon: i64) {
        self.ports.retain(|(_, t)| *t >= horizon);
        self.hosts.retain(|(_, t)| *t >= horizon);
    }
}

fn touch<K: PartialEq + Copy>(list: &mut Vec<(K, i64)>, key: K, ts: i64) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some((_, t)) => *t = (*t).max(ts),
        None => list.push((key, ts)),
    }
}

/// The port-scan windows of one tenant.
#[derive(Debug, Default)]
pub struct Tracker {
    sources: HashMap<IpAddr, Source>,
    newest: i64,
}

impl Tracker {
    /// Counts `c` (record `at`); returns the scan when this contact makes its source reach a
    /// threshold. Counting is by distinct ports and hosts, so a contact seen again (a retried
    /// batch) changes nothing, and the contact that made a burst alert alerts again.
    pub fn observe(&mut self, s: &Settings, c: &Contact, at: At) -> Option<Scan> {
        self.newest = self.newest.max(c.ts);
        let src = self.sources.entry(c.src).or_default();
        if let Some((crossed, scan)) = &src.crossed {
            if *crossed == at {
                return Some((**scan).clone());
            }
        }
        let known = src.alerted || !src.ports.is_empty();
        if known && c.ts < src.last_ts - s.window_ms {
            return None;
        }
        if src.alerted {
            if c.ts - src.last_ts <= s.window_ms {
                src.last_ts = src.last_ts.max(c.ts);
                return None;
            }
            *src = Source::default();
        }
        src.last_ts = src.last_ts.max(c.ts);
        touch(&mut src.ports, c.dst_port, c.ts);
        if c.unanswered {
            touch(&mut src.hosts, c.dst, c.ts);
        }
        let mut scan = None;
        if src.ports.len() >= s.ports || src.hosts.len() >= s.hosts {
            src.prune(src.last_ts - s.window_ms);
            let by = if src.ports.len() >= s.ports {
                Some(Reached::Ports)
            } else if src.hosts.len() >= s.hosts {
                Some(Reached::Hosts)
            } else {
                None
            };
            if let Some(by) = by {
                let mut ports: Vec<u16> = src.ports.iter().map(|(p, _)| *p).collect();
                ports.sort_unstable();
                let mut hosts: Vec<IpAddr> = src.hosts.iter().map(|(h, _)| *h).collect();
                hosts.sort_unstable();
                let found = Scan {
                    ts: c.ts,
                    src: c.src,
                    src_mac: c.at.src_mac.clone(),
                    by,
                    ports,
                    hosts,
                    last_dst: c.dst,
                    last_port: c.dst_port,
                    proto: c.proto,
                };
                *src = Source {
                    last_ts: src.last_ts,
                    alerted: true,
                    crossed: Some((at, Box::new(found.clone()))),
                    ..Source::default()
                };
                scan = Some(found);
            }
        }
        if self.sources.len() > MAX_SOURCES {
            let horizon = self.newest - s.window_ms;
            self.sources.retain(|_, v| v.last_ts >= horizon);
            window::trim_oldest(&mut self.sources, MAX_SOURCES, |v| v.last_ts);
        }
        scan
    }

    /// How many keys are kept (memory is bounded by this).
    pub fn tracked(&self) -> usize {
        self.sources.len()
    }
}

fn listed<T: ToString>(items: &[T]) -> String {
    let mut s: Vec<String> = items.iter().take(LISTED).map(T::to_string).collect();
    if items.len() > LISTED {
        s.push(format!("… ({} in all)", items.len()));
    }
    s.join(", ")
}

impl Scan {
    /// The alert's subject and message, and its destination (host of a port scan; port of a
    /// host sweep), as `(subject, message, dst_ip, dst_port)`.
    pub fn describe(&self, window_secs: u64) -> (String, String, String, u16) {
        match self.by {
            Reached::Ports => (
                format!("Port scan from {}", self.src),
                format!(
                    "{} reached {} destination ports within {window_secs} s, last {}:{}/{}; ports: {}",
                    self.src,
                    self.ports.len(),
                    self.last_dst,
                    self.last_port,
                    self.proto.as_str(),
                    listed(&self.ports),
                ),
                self.last_dst.to_string(),
                0,
            ),
            Reached::Hosts => (
                format!("Host sweep from {}", self.src),
                format!(
                    "{} reached {} hosts that did not answer within {window_secs} s, last {}:{}/{}; hosts: {}",
                    self.src,
                    self.hosts.len(),
                    self.last_dst,
                    self.last_port,
                    self.proto.as_str(),
                    listed(&self.hosts),
                ),
                String::new(),
                self.last_port,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Dns, Flow, IdsAlert};

    const S: Settings = Settings {
        ports: 20,
        hosts: 20,
        window_ms: 60_000,
    };

    fn at(src: &str, sport: u16, dst: &str, dport: u16, proto: Transport) -> Endpoints {
        Endpoints {
            src_ip: Some(src.parse().unwrap()),
            src_port: sport,
            dst_ip: Some(dst.parse().unwrap()),
            dst_port: dport,
            proto,
            src_mac: Some("08:00:27:aa:bb:cc".into()),
            dst_mac: None,
        }
    }

    fn flow(ts: i64, src: &str, dst: &str, dport: u16, established: bool) -> Record {
        Record::Flow(Flow {
            ts,
            at: at(
                src,
                40_000 + (ts % 20_000) as u16,
                dst,
                dport,
                Transport::Tcp,
            ),
            bytes_out: 60,
            bytes_in: if established { 1200 } else { 0 },
            packets_out: 1,
            packets_in: u8::from(established).into(),
            duration_ms: 0,
            established,
            flow_id: Some(ts),
        })
    }

    fn run(t: &mut Tracker, records: &[Record]) -> Vec<Scan> {
        let batch = window::batch_id(records);
        records
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((i, contact(r)?)))
            .filter_map(|(i, c)| {
                let at = At {
                    batch,
                    index: i as u32,
                };
                t.observe(&S, &c, at)
            })
            .collect()
    }

    #[test]
    fn a_retried_batch_alerts_again_where_it_did_and_nowhere_else() {
        let mut t = Tracker::default();
        let first = syn_scan(0, "192.0.2.9", "10.0.0.7", &TOP_PORTS[..12]);
        assert!(run(&mut t, &first).is_empty());
        assert!(run(&mut t, &first).is_empty(), "twelve ports, counted once");
        let second = syn_scan(5_000, "192.0.2.9", "10.0.0.7", &TOP_PORTS[12..30]);
        let scans = run(&mut t, &second);
        assert_eq!(scans.len(), 1);
        assert_eq!(run(&mut t, &second), scans, "the retry alerts the same");
        let third = syn_scan(10_000, "192.0.2.9", "10.0.0.8", &TOP_PORTS);
        assert!(run(&mut t, &third).is_empty(), "the burst goes on");
    }

    /// nmap's default SYN scan: the top ports of one host, a few hundred ms apart, most
    /// unanswered (closed or filtered), a few open.
    fn syn_scan(start: i64, src: &str, dst: &str, ports: &[u16]) -> Vec<Record> {
        ports
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                flow(
                    start + i as i64 * 150,
                    src,
                    dst,
                    p,
                    [22, 80, 443].contains(&p),
                )
            })
            .collect()
    }

    const TOP_PORTS: [u16; 30] = [
        80, 23, 443, 21, 22, 25, 3389, 110, 445, 139, 143, 53, 135, 3306, 8080, 1723, 111, 995,
        993, 5900, 1025, 587, 8888, 199, 1720, 465, 548, 113, 81, 6001,
    ];

    #[test]
    fn a_syn_scan_of_one_host_is_one_alert() {
        let mut t = Tracker::default();
        let scans = run(
            &mut t,
            &syn_scan(1_000, "192.168.56.20", "10.0.0.5", &TOP_PORTS),
        );
        assert_eq!(scans.len(), 1, "{scans:?}");
        let s = &scans[0];
        assert_eq!(s.by, Reached::Ports);
        assert_eq!(s.src, "192.168.56.20".parse::<IpAddr>().unwrap());
        assert_eq!(s.ports.len(), 20);
        assert_eq!(s.ts, 1_000 + 19 * 150, "the twentieth port");
        assert_eq!(s.src_mac.as_deref(), Some("08:00:27:aa:bb:cc"));
        let (subject, message, dst, port) = s.describe(60);
        assert_eq!(subject, "Port scan from 192.168.56.20");
        assert!(message.starts_with("192.168.56.20 reached 20 destination ports within 60 s, last 10.0.0.5:5900/tcp; ports: 21, 22, 23, 25, 53, 80,"), "{message}");
        assert_eq!((dst.as_str(), port), ("10.0.0.5", 0));
    }

    #[test]
    fn a_sweep_of_one_port_over_many_hosts() {
        let mut t = Tracker::default();
        let records: Vec<Record> = (1..=40)
            .map(|h| {
                flow(
                    h * 100,
                    "203.0.113.66",
                    &format!("10.0.1.{h}"),
                    22,
                    h % 9 == 0,
                )
            })
            .collect();
        let scans = run(&mut t, &records);
        assert_eq!(scans.len(), 1);
        assert_eq!(scans[0].by, Reached::Hosts);
        assert_eq!(scans[0].hosts.len(), 20);
        let (subject, _, dst, port) = scans[0].describe(60);
        assert_eq!(
            (subject.as_str(), dst.as_str(), port),
            ("Host sweep from 203.0.113.66", "", 22)
        );
    }

    #[test]
    fn browsing_is_not_a_scan() {
        // A page load: 45 answered HTTPS connections to distinct hosts, and their DNS.
        let mut t = Tracker::default();
        let mut records = Vec::new();
        for h in 0..45 {
            records.push(flow(
                h * 300,
                "10.0.0.23",
                &format!("198.51.100.{h}"),
                443,
                true,
            ));
            records.push(Record::Dns(Dns {
                ts: h * 300,
                at: at(
                    "10.0.0.23",
                    50_000 + h as u16,
                    "10.0.0.1",
                    53,
                    Transport::Udp,
                ),
                qtype: "A".into(),
                query: format!("cdn{h}.example.net"),
                answer: String::new(),
                rcode: "NOERROR".into(),
            }));
        }
        assert!(run(&mut t, &records).is_empty());
    }

    #[test]
    fn a_resolver_answering_many_clients_is_not_a_scan() {
        let mut t = Tracker::default();
        let answers: Vec<Record> = (0..100)
            .map(|i| {
                Record::Dns(Dns {
                    ts: i * 10,
                    at: at(
                        "10.0.0.1",
                        53,
                        &format!("10.0.0.{}", 10 + i % 50),
                        30_000 + i as u16,
                        Transport::Udp,
                    ),
                    qtype: "A".into(),
                    query: "example.org".into(),
                    answer: "93.184.215.14".into(),
                    rcode: "NOERROR".into(),
                })
            })
            .collect();
        assert!(run(&mut t, &answers).is_empty());
    }

    #[test]
    fn windows_span_batches_but_not_more_than_a_window() {
        let mut t = Tracker::default();
        let first = syn_scan(0, "192.0.2.9", "10.0.0.7", &TOP_PORTS[..10]);
        assert!(run(&mut t, &first).is_empty());
        let second = syn_scan(20_000, "192.0.2.9", "10.0.0.7", &TOP_PORTS[10..20]);
        assert_eq!(
            run(&mut t, &second).len(),
            1,
            "ten ports in each of two batches"
        );

        let mut t = Tracker::default();
        assert!(run(
            &mut t,
            &syn_scan(0, "192.0.2.9", "10.0.0.7", &TOP_PORTS[..10])
        )
        .is_empty());
        let late = syn_scan(70_000, "192.0.2.9", "10.0.0.7", &TOP_PORTS[10..20]);
        assert!(
            run(&mut t, &late).is_empty(),
            "the first ten fell out of the window"
        );
    }

    #[test]
    fn one_alert_per_burst_and_a_new_one_after_quiet() {
        let mut t = Tracker::default();
        let ports: Vec<u16> = (1..=1000).collect();
        // 1,000 ports at 20 ms: one burst of 20 s.
        let burst: Vec<Record> = ports
            .iter()
            .map(|&p| flow(i64::from(p) * 20, "192.0.2.50", "10.0.0.9", p, false))
            .collect();
        assert_eq!(run(&mut t, &burst).len(), 1);
        assert!(t.sources[&"192.0.2.50".parse::<IpAddr>().unwrap()]
            .ports
            .is_empty());
        // A minute and more of quiet, then the scan again.
        let again: Vec<Record> = ports
            .iter()
            .map(|&p| {
                flow(
                    200_000 + i64::from(p) * 20,
                    "192.0.2.50",
                    "10.0.0.9",
                    p,
                    false,
                )
            })
            .collect();
        assert_eq!(run(&mut t, &again).len(), 1);
    }

    #[test]
    fn ids_alerts_count_but_replies_do_not() {
        let alert = |ts: i64, sport: u16, dport: u16| {
            Record::Alert(IdsAlert {
                ts,
                at: at(
                    "198.51.100.200",
                    sport,
                    &format!("10.0.2.{}", ts % 250),
                    dport,
                    Transport::Tcp,
                ),
                severity: Some(2),
                signature: "ET SCAN Potential SSH Scan".into(),
                signature_id: Some(2001219),
                category: "Attempted Information Leak".into(),
                flow_id: None,
                app_proto: String::new(),
                anomaly: false,
            })
        };
        let mut t = Tracker::default();
        let replies: Vec<Record> = (0..30).map(|i| alert(i, 22, 40_000 + i as u16)).collect();
        assert!(run(&mut t, &replies).is_empty());
        let anomalies: Vec<Record> = (0..30)
            .map(|i| match alert(i, 40_000 + i as u16, 22) {
                Record::Alert(a) => Record::Alert(IdsAlert {
                    anomaly: true,
                    severity: None,
                    signature: "decoder.ipv4.trunc_pkt".into(),
                    ..a
                }),
                r => r,
            })
            .collect();
        assert!(
            run(&mut t, &anomalies).is_empty(),
            "decoder anomalies reach no one"
        );
        let probes: Vec<Record> = (0..30).map(|i| alert(i, 40_000 + i as u16, 22)).collect();
        let scans = run(&mut t, &probes);
        assert_eq!(scans.len(), 1);
        assert_eq!(scans[0].by, Reached::Hosts);
    }

    #[test]
    fn memory_stays_bounded() {
        let mut t = Tracker::default();
        let dst = "10.0.0.1";
        for i in 0..(MAX_SOURCES as u32 + 50) {
            let src = IpAddr::from((0xc000_0000u32 + i).to_be_bytes()).to_string();
            let r = flow(i64::from(i), &src, dst, 443, true);
            run(&mut t, &[r]);
        }
        assert!(t.tracked() <= MAX_SOURCES);
    }
}
