//! The metadata datasets of a batch: DNS, TCP/netflow, HTTP and DHCP rows in multi-row inserts,
//! every row with the agent's hash, and the batch's counts added to the 15-minute DNS and TCP
//! aggregates of exactly the buckets its rows fall in (summed in memory first: one upsert row
//! per bucket and key).

use std::collections::HashMap;
use std::net::IpAddr;

use picket_core::db::bulk::insert_owned_rows;
use picket_core::db::{DbResult, Tx};
use picket_core::identity::TenantId;
use picket_netmon::data::aggregates::{self, bucket, Increment};
use picket_netmon::datasets::{DhcpRecords, DnsRecords, HttpRecords, TcpRecords};
use sea_query::Value;

use crate::record::Record;

fn ip(v: Option<IpAddr>) -> String {
    v.map(|ip| ip.to_string()).unwrap_or_default()
}

const DNS: &[&str] = &[
    "ts", "agent", "src_ip", "dst_ip", "qtype", "query", "answer", "rcode",
];
const TCP: &[&str] = &[
    "ts",
    "agent",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "proto",
    "bytes_out",
    "bytes_in",
    "packets_out",
    "packets_in",
    "duration_ms",
];
const HTTP: &[&str] = &[
    "ts",
    "agent",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "method",
    "host",
    "uri",
    "user_agent",
    "status",
];
const DHCP: &[&str] = &["ts", "agent", "mac", "ip", "hostname"];

/// Rows written per dataset, for the caller's bookkeeping.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub dns: u64,
    pub tcp: u64,
    pub http: u64,
    pub dhcp: u64,
}

type DnsKey = (i64, String, String, String, String);
type TcpKey = (i64, String, String, i64, &'static str);

/// Writes the batch's metadata rows and their aggregate counts.
pub async fn write(
    tx: &mut Tx,
    tenant: TenantId,
    agent: &str,
    records: &[Record],
) -> DbResult<Counts> {
    let mut dns = Vec::new();
    let mut tcp = Vec::new();
    let mut http = Vec::new();
    let mut dhcp = Vec::new();
    let mut dns_agg: HashMap<DnsKey, i64> = HashMap::new();
    let mut tcp_agg: HashMap<TcpKey, [i64; 5]> = HashMap::new();
    let a = || Value::from(agent.to_string());
    for r in records {
        match r {
            Record::Dns(d) => {
                let (src, dst) = (ip(d.at.src_ip), ip(d.at.dst_ip));
                *dns_agg
                    .entry((
                        bucket(d.ts),
                        src.clone(),
                        dst.clone(),
                        d.qtype.clone(),
                        d.query.clone(),
                    ))
                    .or_default() += 1;
                dns.push(vec![
                    d.ts.into(),
                    a(),
                    src.into(),
                    dst.into(),
                    d.qtype.clone().into(),
                    d.query.clone().into(),
                    d.answer.clone().into(),
                    d.rcode.clone().into(),
                ]);
            }
            Record::Flow(f) => {
                let (src, dst) = (ip(f.at.src_ip), ip(f.at.dst_ip));
                let proto = f.at.proto.as_str();
                let sums = tcp_agg
                    .entry((
                        bucket(f.ts),
                        src.clone(),
                        dst.clone(),
                        i64::from(f.at.dst_port),
                        proto,
                    ))
                    .or_default();
                for (s, v) in
                    sums.iter_mut()
                        .zip([1, f.bytes_out, f.bytes_in, f.packets_out, f.packets_in])
                {
                    *s += v;
                }
                tcp.push(vec![
                    f.ts.into(),
                    a(),
                    src.into(),
                    i64::from(f.at.src_port).into(),
                    dst.into(),
                    i64::from(f.at.dst_port).into(),
                    proto.into(),
                    f.bytes_out.into(),
                    f.bytes_in.into(),
                    f.packets_out.into(),
                    f.packets_in.into(),
                    f.duration_ms.into(),
                ]);
            }
            Record::Http(h) => http.push(vec![
                h.ts.into(),
                a(),
                ip(h.at.src_ip).into(),
                i64::from(h.at.src_port).into(),
                ip(h.at.dst_ip).into(),
                i64::from(h.at.dst_port).into(),
                h.method.clone().into(),
                h.host.clone().into(),
                h.uri.clone().into(),
                h.user_agent.clone().into(),
                h.status.into(),
            ]),
            Record::Dhcp(d) => dhcp.push(vec![
                d.ts.into(),
                a(),
                d.mac.clone().into(),
                ip(d.ip).into(),
                d.hostname.clone().into(),
            ]),
            Record::Alert(_) | Record::Syslog(_) => {}
        }
    }
    let counts = Counts {
        dns: dns.len() as u64,
        tcp: tcp.len() as u64,
        http: http.len() as u64,
        dhcp: dhcp.len() as u64,
    };
    for (table, columns, rows) in [
        (&DnsRecords::DECLARED, DNS, dns),
        (&TcpRecords::DECLARED, TCP, tcp),
        (&HttpRecords::DECLARED, HTTP, http),
        (&DhcpRecords::DECLARED, DHCP, dhcp),
    ] {
        if !rows.is_empty() {
            insert_owned_rows(tx, tenant, table, columns, rows).await?;
        }
    }
    // Sorted, so that concurrent batches touch aggregate rows in one order (no deadlocks).
    let mut dns_inc: Vec<(DnsKey, i64)> = dns_agg.into_iter().collect();
    dns_inc.sort_unstable();
    let dns_inc: Vec<Increment> = dns_inc
        .into_iter()
        .map(|((b, src, dst, qtype, query), count)| Increment {
            bucket: b,
            keys: vec![a(), src.into(), dst.into(), qtype.into(), query.into()],
            count,
            sums: Vec::new(),
        })
        .collect();
    aggregates::add(tx, &aggregates::DNS, tenant, &dns_inc).await?;
    let mut tcp_inc: Vec<(TcpKey, [i64; 5])> = tcp_agg.into_iter().collect();
    tcp_inc.sort_unstable();
    let tcp_inc: Vec<Increment> = tcp_inc
        .into_iter()
        .map(
            |((b, src, dst, port, proto), [count, sums @ ..])| Increment {
                bucket: b,
                keys: vec![a(), src.into(), dst.into(), port.into(), proto.into()],
                count,
                sums: sums.to_vec(),
            },
        )
        .collect();
    aggregates::add(tx, &aggregates::TCP, tenant, &tcp_inc).await?;
    Ok(counts)
}
