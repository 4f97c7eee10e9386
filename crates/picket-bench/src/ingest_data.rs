//! Realistic sensor files for the ingest benchmark, deterministic for a seed: a Suricata EVE
//! file shaped like a small enterprise's sensor (mostly flows and DNS, some HTTP, TLS and DHCP,
//! a few percent alerts; hundreds of internal hosts, thousands of remote addresses, many
//! ports), and a syslog file of a Linux fleet (sshd, sudo, cron, systemd, kernel, with
//! authentication failures among them), written in the field layout real sensors use.

use std::io::{BufWriter, Write};
use std::path::Path;

/// How many events of each kind a generated EVE file holds.
#[derive(Debug, Default, Clone)]
pub struct EveMix {
    pub flow: u64,
    pub dns: u64,
    pub http: u64,
    pub tls: u64,
    pub dhcp: u64,
    pub alert: u64,
}

impl EveMix {
    pub fn total(&self) -> u64 {
        self.flow + self.dns + self.http + self.tls + self.dhcp + self.alert
    }

    /// Events Picket stores (TLS is counted as skipped).
    pub fn stored(&self) -> u64 {
        self.total() - self.tls
    }
}

const SIGNATURES: &[(i64, &str, &str, u8)] = &[
    (
        2013504,
        "ET POLICY GNU/Linux APT User-Agent Outbound likely related to package management",
        "Not Suspicious Traffic",
        3,
    ),
    (
        2010935,
        "ET SCAN Suspicious inbound to MSSQL port 1433",
        "Potentially Bad Traffic",
        2,
    ),
    (
        2001219,
        "ET SCAN Potential SSH Scan",
        "Attempted Information Leak",
        2,
    ),
    (
        2024897,
        "ET USER_AGENTS Go HTTP Client User-Agent",
        "Misc activity",
        3,
    ),
    (
        2027865,
        "ET INFO Observed DNS Query to .cloud TLD",
        "Potentially Bad Traffic",
        2,
    ),
    (
        2018959,
        "ET POLICY PE EXE or DLL Windows file download HTTP",
        "Potential Corporate Privacy Violation",
        1,
    ),
    (
        2008581,
        "ET P2P BitTorrent DHT ping request",
        "Potential Corporate Privacy Violation",
        3,
    ),
];

const DOMAINS: &[&str] = &[
    "deb.debian.org",
    "security.debian.org",
    "www.google.com",
    "outlook.office365.com",
    "api.github.com",
    "slack.com",
    "zoom.us",
    "update.microsoft.com",
    "cdn.jsdelivr.net",
    "time.cloudflare.com",
    "s3.amazonaws.com",
    "login.microsoftonline.com",
];

const SERVER_PORTS: &[u16] = &[
    443, 443, 443, 443, 80, 80, 53, 22, 25, 587, 993, 3389, 445, 8080, 8443, 123, 5432, 3306,
];

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Debian APT-HTTP/1.3 (2.6.1)",
    "curl/8.4.0",
    "Go-http-client/1.1",
];

struct Net {
    rng: fastrand::Rng,
    start_ms: i64,
    step_ms: f64,
    i: u64,
}

impl Net {
    /// An internal host: 10.1.x.y over 4 subnets of 250 hosts, with a MAC under a real OUI.
    fn host(&mut self) -> (String, String) {
        let n = self.rng.u32(..1000);
        let (subnet, host) = (n / 250, n % 250 + 2);
        let oui = ["00:50:56", "b8:27:eb", "00:1b:21", "f0:9f:c2", "3c:22:fb"][(n % 5) as usize];
        (
            format!("10.1.{subnet}.{host}"),
            format!("{oui}:{:02x}:{:02x}:{:02x}", subnet, host, n % 7),
        )
    }

    fn remote(&mut self) -> String {
        // 5,000 remote addresses in public space.
        let n = self.rng.u32(..5000);
        format!(
            "{}.{}.{}.{}",
            [34, 52, 104, 142, 151, 185][(n % 6) as usize],
            (n / 6) % 250 + 1,
            n % 199 + 1,
            n % 251 + 3
        )
    }

    fn timestamp(&mut self) -> String {
        let ms = self.start_ms + (self.i as f64 * self.step_ms) as i64;
        self.i += 1;
        let t = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
        t.format("%Y-%m-%dT%H:%M:%S%.6f+0000").to_string()
    }

    fn flow_id(&mut self) -> u64 {
        self.rng.u64(1..(1 << 52))
    }
}

/// Writes `total` EVE events spread over the hour before `end_ms`; returns the mix written.
pub fn write_eve(path: &Path, total: u64, end_ms: i64, seed: u64) -> std::io::Result<EveMix> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let span_ms = 3_600_000.0;
    let mut net = Net {
        rng: fastrand::Rng::with_seed(seed),
        start_ms: end_ms - span_ms as i64,
        step_ms: span_ms / total.max(1) as f64,
        i: 0,
    };
    let mut mix = EveMix::default();
    for _ in 0..total {
        let ts = net.timestamp();
        let roll = net.rng.u32(..1000);
        let (src, mac) = net.host();
        let sport = net.rng.u16(1024..65535);
        let fid = net.flow_id();
        match roll {
            0..=549 => {
                mix.flow += 1;
                // Mostly outbound; one flow in ten between internal hosts (services inside).
                let (dst, dport) = if net.rng.u32(..10) == 0 {
                    (
                        net.host().0,
                        SERVER_PORTS[net.rng.usize(..SERVER_PORTS.len())],
                    )
                } else {
                    (
                        net.remote(),
                        SERVER_PORTS[net.rng.usize(..SERVER_PORTS.len())],
                    )
                };
                let proto = if dport == 53 || dport == 123 {
                    "UDP"
                } else {
                    "TCP"
                };
                let (po, pi) = (net.rng.u32(1..200), net.rng.u32(0..400));
                let (bo, bi) = (po * net.rng.u32(60..900), pi * net.rng.u32(60..1400));
                let state = if pi == 0 { "new" } else { "closed" };
                writeln!(
                    out,
                    r#"{{"timestamp":"{ts}","flow_id":{fid},"in_iface":"eth0","event_type":"flow","src_ip":"{src}","src_port":{sport},"dest_ip":"{dst}","dest_port":{dport},"proto":"{proto}","ether":{{"src_mac":"{mac}","dest_mac":"00:00:5e:00:01:01"}},"flow":{{"pkts_toserver":{po},"pkts_toclient":{pi},"bytes_toserver":{bo},"bytes_toclient":{bi},"start":"{ts}","end":"{ts}","age":{},"state":"{state}","reason":"timeout","alerted":false}},"tcp":{{"tcp_flags":"1b","tcp_flags_ts":"1b","tcp_flags_tc":"1b","syn":true,"fin":true,"psh":true,"ack":true,"state":"closed"}}}}"#,
                    net.rng.u32(0..120)
                )?;
            }
            550..=849 => {
                mix.dns += 1;
                let q = DOMAINS[net.rng.usize(..DOMAINS.len())];
                let rrtype = ["A", "A", "AAAA", "HTTPS", "PTR"][net.rng.usize(..5)];
                if net.rng.bool() {
                    writeln!(
                        out,
                        r#"{{"timestamp":"{ts}","flow_id":{fid},"in_iface":"eth0","event_type":"dns","src_ip":"{src}","src_port":{sport},"dest_ip":"10.1.0.1","dest_port":53,"proto":"UDP","dns":{{"type":"query","id":{},"rrname":"{q}","rrtype":"{rrtype}","tx_id":0}}}}"#,
                        net.rng.u16(..)
                    )?;
                } else {
                    let ans = net.remote();
                    writeln!(
                        out,
                        r#"{{"timestamp":"{ts}","flow_id":{fid},"in_iface":"eth0","event_type":"dns","src_ip":"10.1.0.1","src_port":53,"dest_ip":"{src}","dest_port":{sport},"proto":"UDP","dns":{{"version":2,"type":"answer","id":{},"flags":"8180","qr":true,"rd":true,"ra":true,"rrname":"{q}","rrtype":"{rrtype}","rcode":"NOERROR","answers":[{{"rrname":"{q}","rrtype":"A","ttl":300,"rdata":"{ans}"}}]}}}}"#,
                        net.rng.u16(..)
                    )?;
                }
            }
            850..=909 => {
                mix.http += 1;
                let host = DOMAINS[net.rng.usize(..DOMAINS.len())];
                let dst = net.remote();
                let ua = USER_AGENTS[net.rng.usize(..USER_AGENTS.len())];
                let status = [200, 200, 200, 301, 304, 404][net.rng.usize(..6)];
                writeln!(
                    out,
                    r#"{{"timestamp":"{ts}","flow_id":{fid},"in_iface":"eth0","event_type":"http","src_ip":"{src}","src_port":{sport},"dest_ip":"{dst}","dest_port":80,"proto":"TCP","tx_id":0,"http":{{"hostname":"{host}","url":"/pool/{}/index.html","http_user_agent":"{ua}","http_content_type":"text/html","http_method":"GET","protocol":"HTTP/1.1","status":{status},"length":{}}}}}"#,
                    net.rng.u32(..100_000),
                    net.rng.u32(100..100_000)
                )?;
            }
            910..=949 => {
                mix.tls += 1;
                let host = DOMAINS[net.rng.usize(..DOMAINS.len())];
                let dst = net.remote();
                writeln!(
                    out,
                    r#"{{"timestamp":"{ts}","flow_id":{fid},"in_iface":"eth0","event_type":"tls","src_ip":"{src}","src_port":{sport},"dest_ip":"{dst}","dest_port":443,"proto":"TCP","tls":{{"sni":"{host}","version":"TLS 1.3","ja3":{{"hash":"{:032x}"}}}}}}"#,
                    net.rng.u128(..)
                )?;
            }
            950..=969 => {
                mix.dhcp += 1;
                let host = src.rsplit('.').next().unwrap_or("0").to_string();
                writeln!(
                    out,
                    r#"{{"timestamp":"{ts}","flow_id":{fid},"in_iface":"eth0","event_type":"dhcp","src_ip":"10.1.0.1","src_port":67,"dest_ip":"{src}","dest_port":68,"proto":"UDP","dhcp":{{"type":"reply","id":{},"client_mac":"{mac}","assigned_ip":"{src}","client_ip":"0.0.0.0","dhcp_type":"ack","lease_time":86400,"hostname":"host-{host}"}}}}"#,
                    net.rng.u32(..)
                )?;
            }
            _ => {
                mix.alert += 1;
                let (sid, sig, cat, sev) = SIGNATURES[net.rng.usize(..SIGNATURES.len())];
                let dst = net.remote();
                let dport = SERVER_PORTS[net.rng.usize(..SERVER_PORTS.len())];
                writeln!(
                    out,
                    r#"{{"timestamp":"{ts}","flow_id":{fid},"in_iface":"eth0","event_type":"alert","src_ip":"{src}","src_port":{sport},"dest_ip":"{dst}","dest_port":{dport},"proto":"TCP","ether":{{"src_mac":"{mac}","dest_mac":"00:00:5e:00:01:01"}},"tx_id":0,"alert":{{"action":"allowed","gid":1,"signature_id":{sid},"rev":5,"signature":"{sig}","category":"{cat}","severity":{sev}}},"app_proto":"http"}}"#
                )?;
            }
        }
    }
    out.flush()?;
    Ok(mix)
}

/// Writes `total` RFC 3164 syslog lines of a small Linux fleet over the hour before `end_ms`;
/// returns how many are authentication failures (what the rule pack alerts on).
pub fn write_syslog(path: &Path, total: u64, end_ms: i64, seed: u64) -> std::io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut rng = fastrand::Rng::with_seed(seed);
    let span_ms = 3_600_000.0;
    let step = span_ms / total.max(1) as f64;
    let start = end_ms - span_ms as i64;
    let mut failures = 0;
    for i in 0..total {
        let ms = start + (i as f64 * step) as i64;
        let t = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
        let stamp = t.format("%b %e %H:%M:%S");
        let host = format!("srv{:02}", rng.u32(..40));
        let pid = rng.u32(300..60_000);
        let attacker = format!("203.0.113.{}", rng.u32(1..255));
        match rng.u32(..100) {
            0..=29 => writeln!(out, "<86>{stamp} {host} CRON[{pid}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)")?,
            30..=49 => writeln!(out, "<30>{stamp} {host} systemd[1]: Started Session {pid} of User deploy.")?,
            50..=64 => writeln!(out, "<6>{stamp} {host} kernel: [UFW BLOCK] IN=eth0 OUT= SRC={attacker} DST=10.1.0.5 PROTO=TCP SPT={} DPT=23", rng.u16(1024..))?,
            65..=79 => writeln!(out, "<38>{stamp} {host} sshd[{pid}]: Accepted publickey for deploy from 10.1.0.{} port {} ssh2: ED25519 SHA256:kq3Jm0b", rng.u32(2..250), rng.u16(1024..))?,
            80..=87 => {
                failures += 1;
                writeln!(out, "<38>{stamp} {host} sshd[{pid}]: Failed password for root from {attacker} port {} ssh2", rng.u16(1024..))?
            }
            88..=92 => {
                failures += 1;
                writeln!(out, "<38>{stamp} {host} sshd[{pid}]: Invalid user admin from {attacker} port {}", rng.u16(1024..))?
            }
            93..=97 => writeln!(out, "<85>{stamp} {host} sudo:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx")?,
            _ => {
                failures += 1;
                writeln!(out, "<85>{stamp} {host} sudo: pam_unix(sudo:auth): authentication failure; logname=deploy uid=1000 euid=0 tty=/dev/pts/0 ruser=deploy rhost=  user=deploy")?
            }
        }
    }
    out.flush()?;
    Ok(failures)
}
