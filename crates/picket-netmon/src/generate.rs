//! Synthetic network data in volume (`picket admin generate network`), for benchmarks and
//! demos — never for tests that assert exact values. Deterministic for a given seed.
//!
//! One site: an office LAN, a server subnet and a guest network, a few hundred hosts with MAC
//! addresses under real vendor prefixes, talking to real public services. Alerts follow a
//! plausible mix of types and levels; times spread evenly over the last `days`, in id order as
//! ingest would write them. The DNS and TCP 15-minute aggregates are rebuilt from the rows
//! afterwards, set-based, a day at a time.

use picket_core::db::bulk::insert_owned_rows;
use picket_core::db::partitions;
use picket_core::db::schema::Table;
use picket_core::db::{Db, DbResult};
use picket_core::identity::TenantId;
use picket_core::time::now_ms;
use sea_query::{Iden, Value, Values};

use crate::data::aggregates::{self, Aggregate};
use crate::datasets::{
    DhcpRecords, DnsRecords, HttpRecords, NetworkAlerts, ServerAlerts, TcpRecords,
};

/// How many rows of each dataset to create.
#[derive(Debug, Clone, Default)]
pub struct Volume {
    pub network_alerts: u64,
    pub server_alerts: u64,
    pub dns: u64,
    pub tcp: u64,
    pub dhcp: u64,
    pub http: u64,
    pub days: u32,
    pub seed: u64,
}

/// Rows written per transaction: large enough to amortise commits, small enough to keep
/// transactions short on a busy database.
const ROWS_PER_TX: u64 = 50_000;

/// Real OUI prefixes (IEEE registry) and their vendors.
const VENDOR_PREFIXES: &[&str] = &[
    "00:50:56", // VMware
    "00:0C:29", // VMware
    "B8:27:EB", // Raspberry Pi Foundation
    "DC:A6:32", // Raspberry Pi Trading
    "00:1B:21", // Intel Corporate
    "00:17:88", // Philips Lighting
    "18:B4:30", // Nest Labs
    "F0:9F:C2", // Ubiquiti Networks
    "00:04:F2", // Polycom
    "00:1A:11", // Google
];

const SUBNETS: &[&str] = &["10.10.0", "10.20.0", "192.168.50"];
const HOST_ROLES: &[&str] = &[
    "ws", "laptop", "printer", "nas", "cam", "voip", "srv", "db", "web", "kiosk",
];

/// Public services the site talks to.
const REMOTE_IPS: &[&str] = &[
    "8.8.8.8",
    "1.1.1.1",
    "9.9.9.9",
    "140.82.112.3",
    "151.101.1.69",
    "142.250.74.46",
    "13.107.42.14",
    "104.16.132.229",
    "185.199.108.153",
    "52.95.110.1",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
];
const DOMAINS: &[&str] = &[
    "github.com",
    "fastly.net",
    "googleapis.com",
    "microsoft.com",
    "windowsupdate.com",
    "office.com",
    "slack.com",
    "zoom.us",
    "cloudflare.com",
    "amazonaws.com",
    "ubuntu.com",
    "debian.org",
    "crates.io",
    "npmjs.org",
    "example.com",
];
const SUBDOMAINS: &[&str] = &[
    "www", "api", "cdn", "login", "static", "updates", "mail", "edge", "files", "ws",
];
const QTYPES: &[(&str, u32)] = &[
    ("A", 60),
    ("AAAA", 25),
    ("HTTPS", 6),
    ("CNAME", 3),
    ("TXT", 2),
    ("MX", 2),
    ("PTR", 2),
];
const SIGNATURES: &[&str] = &[
    "ET SCAN Nmap Scripting Engine User-Agent Detected",
    "ET POLICY curl User-Agent Outbound",
    "ET INFO Observed DNS Query to .cloud TLD",
    "GPL ICMP_INFO PING *NIX",
    "ET POLICY SSH session in progress on Unusual Port",
    "ET MALWARE Possible Windows executable sent when remote host claims to send a Text File",
    "ET WEB_SERVER Possible SQL Injection Attempt UNION SELECT",
];
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (X11; Linux x86_64)",
    "curl/8.5.0",
    "Go-http-client/1.1",
    "python-requests/2.31",
    "Microsoft-CryptoAPI/10.0",
];

struct Site {
    rng: fastrand::Rng,
    hosts: Vec<(String, String, String)>, // ip, mac, hostname
    start: i64,
    span: i64,
}

impl Site {
    fn new(seed: u64, days: u32) -> Site {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut hosts = Vec::new();
        for (s, subnet) in SUBNETS.iter().enumerate() {
            for h in 0..(60 + s * 40) {
                let prefix = VENDOR_PREFIXES[rng.usize(..VENDOR_PREFIXES.len())];
                let mac = format!(
                    "{prefix}:{:02X}:{:02X}:{:02X}",
                    rng.u8(..),
                    rng.u8(..),
                    rng.u8(..)
                );
                let role = HOST_ROLES[rng.usize(..HOST_ROLES.len())];
                hosts.push((
                    format!("{subnet}.{}", h + 10),
                    mac,
                    format!("{role}-{s}{h:03}"),
                ));
            }
        }
        let span = i64::from(days.max(1)) * 86_400_000;
        Site {
            rng,
            hosts,
            start: now_ms() - span,
            span,
        }
    }

    /// The `i`th of `n` times, evenly spread with a little jitter.
    fn time(&mut self, i: u64, n: u64) -> i64 {
        let step = self.span / n.max(1) as i64;
        self.start + i as i64 * step + self.rng.i64(0..step.max(1))
    }

    fn host(&mut self) -> (String, String, String) {
        self.hosts[self.rng.usize(..self.hosts.len())].clone()
    }

    fn remote(&mut self) -> &'static str {
        REMOTE_IPS[self.rng.usize(..REMOTE_IPS.len())]
    }

    fn domain(&mut self) -> String {
        format!(
            "{}.{}",
            SUBDOMAINS[self.rng.usize(..SUBDOMAINS.len())],
            DOMAINS[self.rng.usize(..DOMAINS.len())]
        )
    }

    fn weighted<'a>(&mut self, choices: &'a [(&'a str, u32)]) -> &'a str {
        let total: u32 = choices.iter().map(|c| c.1).sum();
        let mut pick = self.rng.u32(..total);
        for (v, w) in choices {
            if pick < *w {
                return v;
            }
            pick -= w;
        }
        choices[0].0
    }
}

const AGENT: &str = "5e1f0c0ffee0beef";
const AGENT_NAME: &str = "sensor-1";

fn network_alert(site: &mut Site, ts: i64) -> Vec<Value> {
    let (src_ip, src_mac, _) = site.host();
    let kind = site.weighted(&[
        ("ids", 60),
        ("portscan", 10),
        ("new_device", 5),
        ("new_service", 5),
        ("tor", 10),
        ("misp_ip", 5),
        ("misp_dns", 5),
    ]);
    let dst_ip = site.remote().to_string();
    let dst_port = [443i64, 80, 22, 53, 3389, 445, 8080][site.rng.usize(..7)];
    let (level, subject, message) = match kind {
        "ids" => {
            let sig = SIGNATURES[site.rng.usize(..SIGNATURES.len())];
            (
                [10i64, 20, 30][site.rng.usize(..3)],
                sig.to_string(),
                format!("{sig} {src_ip} -> {dst_ip}:{dst_port}"),
            )
        }
        "portscan" => (
            30,
            "Port scan".to_string(),
            format!("{src_ip} probed {} ports in 60 s", 20 + site.rng.u32(..400)),
        ),
        "new_device" => (
            20,
            "New device".to_string(),
            format!("{src_mac} appeared at {src_ip}"),
        ),
        "new_service" => (
            20,
            "New service".to_string(),
            format!("{src_ip}:{dst_port}/tcp answered"),
        ),
        "tor" => (
            20,
            "Traffic to a Tor relay".to_string(),
            format!("{src_ip} -> {dst_ip}:{dst_port}"),
        ),
        "misp_ip" => (
            30,
            "MISP IP indicator".to_string(),
            format!("{dst_ip} is listed"),
        ),
        _ => (
            30,
            "MISP domain indicator".to_string(),
            format!("{} is listed", site.domain()),
        ),
    };
    vec![
        ts.into(),
        AGENT.into(),
        AGENT_NAME.into(),
        src_mac.into(),
        "".into(),
        crate::addr::ip_sort_key(&src_ip).into(),
        crate::addr::ip_sort_key(&dst_ip).into(),
        src_ip.into(),
        dst_ip.into(),
        i64::from(site.rng.u16(1024..)).into(),
        dst_port.into(),
        level.into(),
        kind.into(),
        subject.into(),
        message.into(),
    ]
}

const NETWORK_ALERT_COLS: &[NetworkAlerts] = &[
    NetworkAlerts::Ts,
    NetworkAlerts::Agent,
    NetworkAlerts::AgentName,
    NetworkAlerts::SrcMac,
    NetworkAlerts::DstMac,
    NetworkAlerts::SrcIpKey,
    NetworkAlerts::DstIpKey,
    NetworkAlerts::SrcIp,
    NetworkAlerts::DstIp,
    NetworkAlerts::SrcPort,
    NetworkAlerts::DstPort,
    NetworkAlerts::Level,
    NetworkAlerts::Type,
    NetworkAlerts::Subject,
    NetworkAlerts::Message,
];

fn server_alert(site: &mut Site, ts: i64) -> Vec<Value> {
    let host = format!("srv-{:02}", site.rng.u8(1..12));
    let attacker = format!("203.0.113.{}", site.rng.u8(1..255));
    let user = ["root", "admin", "ubuntu", "oracle", "test", "git"][site.rng.usize(..6)];
    let (kind, level, title, line) = match site.rng.u8(..10) {
        0..=5 => ("auth", 20, "sshd: failed password", format!("sshd[{}]: Failed password for {user} from {attacker} port {} ssh2", site.rng.u32(1000..60000), site.rng.u16(1024..))),
        6..=7 => ("auth", 20, "sshd: invalid user", format!("sshd[{}]: Invalid user {user} from {attacker} port {}", site.rng.u32(1000..60000), site.rng.u16(1024..))),
        8 => ("sudo", 30, "sudo: authentication failure", format!("sudo: pam_unix(sudo:auth): authentication failure; logname={user} uid=1000 euid=0 tty=/dev/pts/0 ruser={user} rhost=  user={user}")),
        _ => ("bruteforce", 30, "Brute force", format!("5 failed logins from {attacker} within 5 minutes")),
    };
    vec![
        ts.into(),
        AGENT.into(),
        AGENT_NAME.into(),
        host.into(),
        i64::from(level).into(),
        kind.into(),
        title.into(),
        line.into(),
    ]
}

const SERVER_ALERT_COLS: &[ServerAlerts] = &[
    ServerAlerts::Ts,
    ServerAlerts::Agent,
    ServerAlerts::AgentName,
    ServerAlerts::Hostname,
    ServerAlerts::Level,
    ServerAlerts::Type,
    ServerAlerts::Title,
    ServerAlerts::Line,
];

fn dns(site: &mut Site, ts: i64) -> Vec<Value> {
    let (src, _, _) = site.host();
    let qtype = site.weighted(QTYPES);
    let answer = if qtype == "AAAA" {
        "2606:4700:4700::1111".to_string()
    } else {
        site.remote().to_string()
    };
    vec![
        ts.into(),
        AGENT.into(),
        src.into(),
        "10.10.0.1".into(),
        qtype.into(),
        site.domain().into(),
        answer.into(),
        "NOERROR".into(),
    ]
}

const DNS_COLS: &[DnsRecords] = &[
    DnsRecords::Ts,
    DnsRecords::Agent,
    DnsRecords::SrcIp,
    DnsRecords::DstIp,
    DnsRecords::Qtype,
    DnsRecords::Query,
    DnsRecords::Answer,
    DnsRecords::Rcode,
];

fn tcp(site: &mut Site, ts: i64) -> Vec<Value> {
    let (src, _, _) = site.host();
    let dst = site.remote();
    let port = [443i64, 443, 443, 80, 22, 53, 123, 993][site.rng.usize(..8)];
    let proto = if port == 53 || port == 123 {
        "udp"
    } else {
        "tcp"
    };
    let out = i64::from(site.rng.u32(60..200_000));
    vec![
        ts.into(),
        AGENT.into(),
        src.into(),
        i64::from(site.rng.u16(1024..)).into(),
        dst.into(),
        port.into(),
        proto.into(),
        out.into(),
        (out * i64::from(site.rng.u32(1..20))).into(),
        (out / 900 + 1).into(),
        (out / 700 + 1).into(),
        i64::from(site.rng.u32(5..120_000)).into(),
    ]
}

const TCP_COLS: &[TcpRecords] = &[
    TcpRecords::Ts,
    TcpRecords::Agent,
    TcpRecords::SrcIp,
    TcpRecords::SrcPort,
    TcpRecords::DstIp,
    TcpRecords::DstPort,
    TcpRecords::Proto,
    TcpRecords::BytesOut,
    TcpRecords::BytesIn,
    TcpRecords::PacketsOut,
    TcpRecords::PacketsIn,
    TcpRecords::DurationMs,
];

fn dhcp(site: &mut Site, ts: i64) -> Vec<Value> {
    let (ip, mac, hostname) = site.host();
    vec![
        ts.into(),
        AGENT.into(),
        mac.into(),
        ip.into(),
        hostname.into(),
    ]
}

const DHCP_COLS: &[DhcpRecords] = &[
    DhcpRecords::Ts,
    DhcpRecords::Agent,
    DhcpRecords::Mac,
    DhcpRecords::Ip,
    DhcpRecords::Hostname,
];

fn http(site: &mut Site, ts: i64) -> Vec<Value> {
    let (src, _, _) = site.host();
    let host = site.domain();
    let uri = [
        "/",
        "/index.html",
        "/api/v1/status",
        "/login",
        "/static/app.js",
        "/favicon.ico",
    ][site.rng.usize(..6)];
    let status = [200i64, 200, 200, 304, 301, 404, 500][site.rng.usize(..7)];
    vec![
        ts.into(),
        AGENT.into(),
        src.into(),
        i64::from(site.rng.u16(1024..)).into(),
        site.remote().into(),
        80i64.into(),
        ["GET", "GET", "GET", "POST"][site.rng.usize(..4)].into(),
        host.into(),
        uri.into(),
        USER_AGENTS[site.rng.usize(..USER_AGENTS.len())].into(),
        status.into(),
    ]
}

const HTTP_COLS: &[HttpRecords] = &[
    HttpRecords::Ts,
    HttpRecords::Agent,
    HttpRecords::SrcIp,
    HttpRecords::SrcPort,
    HttpRecords::DstIp,
    HttpRecords::DstPort,
    HttpRecords::Method,
    HttpRecords::Host,
    HttpRecords::Uri,
    HttpRecords::UserAgent,
    HttpRecords::Status,
];

type RowFn = fn(&mut Site, i64) -> Vec<Value>;

/// Rows written per dataset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub rows: Vec<(&'static str, u64)>,
}

/// Fills `tenant` with the requested volume; `progress(table, rows_so_far)` after each chunk.
pub async fn generate(
    db: &Db,
    tenant: TenantId,
    v: &Volume,
    mut progress: impl FnMut(&str, u64),
) -> DbResult<Report> {
    let mut site = Site::new(v.seed, v.days);
    // Each dataset's columns by name, in the order its row function writes them.
    fn names<C: Iden>(columns: &[C]) -> Vec<String> {
        columns.iter().map(Iden::to_string).collect()
    }
    let plan: [(Table, Vec<String>, u64, RowFn); 6] = [
        (
            NetworkAlerts::DECLARED,
            names(NETWORK_ALERT_COLS),
            v.network_alerts,
            network_alert,
        ),
        (
            ServerAlerts::DECLARED,
            names(SERVER_ALERT_COLS),
            v.server_alerts,
            server_alert,
        ),
        (DnsRecords::DECLARED, names(DNS_COLS), v.dns, dns),
        (TcpRecords::DECLARED, names(TCP_COLS), v.tcp, tcp),
        (DhcpRecords::DECLARED, names(DHCP_COLS), v.dhcp, dhcp),
        (HttpRecords::DECLARED, names(HTTP_COLS), v.http, http),
    ];
    let mut report = Report::default();
    // On PostgreSQL the days the rows fall on get their partitions first, so that the rows
    // go straight to them rather than through the default partition.
    for (table, _, n, _) in &plan {
        if let (Some(p), true) = (crate::datasets::partitioning(table.name), *n > 0) {
            let today = partitions::day_of(now_ms());
            partitions::ensure_days(db, p, partitions::day_of(site.start), today).await?;
        }
    }
    for (table, cols, n, make) in plan {
        let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
        let mut done = 0;
        while done < n {
            let end = (done + ROWS_PER_TX).min(n);
            let rows: Vec<Vec<Value>> = (done..end)
                .map(|i| {
                    let ts = site.time(i, n);
                    make(&mut site, ts)
                })
                .collect();
            let mut tx = db.begin().await?;
            insert_owned_rows(&mut tx, tenant, &table, &cols, rows).await?;
            tx.commit().await?;
            done = end;
            progress(table.name, done);
        }
        report.rows.push((table.name, n));
    }
    for agg in aggregates::ALL {
        fill_aggregate(db, tenant, agg).await?;
    }
    Ok(report)
}

#[derive(sqlx::FromRow)]
struct Span {
    first: Option<i64>,
    last: Option<i64>,
}

/// Rebuilds `agg` over every row `tenant` has, one day per transaction so that no statement
/// groups more than a day of rows at once.
async fn fill_aggregate(db: &Db, tenant: TenantId, agg: &Aggregate) -> DbResult<()> {
    let p = picket_core::db::placeholder(db.backend(), 1);
    let span: Option<Span> = db
        .fetch_optional_sql(
            &format!(
                "SELECT MIN(ts) AS first, MAX(ts) AS last FROM {} WHERE tenant_id = {p}",
                agg.raw
            ),
            Values(vec![tenant.0.into()]),
        )
        .await?;
    let Some(Span {
        first: Some(first),
        last: Some(last),
    }) = span
    else {
        return Ok(());
    };
    const DAY: i64 = 86_400_000;
    let mut from = aggregates::bucket(first);
    while from <= last {
        let to = (from + DAY - 1).min(last);
        let mut tx = db.begin().await?;
        aggregates::rebuild(&mut tx, agg, tenant, from, to).await?;
        tx.commit().await?;
        from = aggregates::bucket(to) + aggregates::BUCKET_MS;
    }
    Ok(())
}
