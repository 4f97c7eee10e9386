//! `/api/v1/data`: export ZIPs read back and compared with the stored rows, CSV quoting, the
//! filters and their Web UI aliases, deletes with their captures and aggregate rebuilds checked
//! against a recomputation from the raw rows, the `all` rule, atomicity, errors and permissions.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use picket_core::db::bulk::insert_rows;
use picket_core::db::{placeholder, Backend};
use picket_core::identity::{Perm, TenantId};
use picket_netmon::data::aggregates;
use reqwest::Method;
use sea_query::{Value as V, Values};
use serde_json::{json, Value};

use crate::helpers::{json, network_error, spawn, spawn_with, TestApp};
use crate::netmon_devices::utc;

pub(crate) async fn tenant(app: &TestApp, name: &str) -> TenantId {
    crate::helpers::tenant_or_create(&app.state.db, name)
        .await
        .id
}

pub(crate) async fn insert(app: &TestApp, table: &str, cols: &[&str], rows: Vec<Vec<V>>) {
    let mut tx = app.state.db.begin().await.unwrap();
    insert_rows(&mut tx, table, cols, rows).await.unwrap();
    tx.commit().await.unwrap();
}

pub(crate) const DNS: &[&str] = &[
    "tenant_id",
    "ts",
    "agent",
    "src_ip",
    "dst_ip",
    "qtype",
    "query",
    "answer",
    "rcode",
];
pub(crate) const TCP: &[&str] = &[
    "tenant_id",
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
pub(crate) const NA: &[&str] = &[
    "tenant_id",
    "ts",
    "agent",
    "agent_name",
    "src_mac",
    "dst_mac",
    "src_ip",
    "dst_ip",
    "src_port",
    "dst_port",
    "level",
    "type",
    "subject",
    "message",
];
pub(crate) const SL: &[&str] = &[
    "tenant_id",
    "ts",
    "agent",
    "agent_name",
    "hostname",
    "level",
    "type",
    "title",
    "line",
];

pub(crate) fn dns(
    t: TenantId,
    ts: i64,
    agent: &str,
    src: &str,
    qtype: &str,
    query: &str,
) -> Vec<V> {
    vec![
        t.0.into(),
        ts.into(),
        agent.into(),
        src.into(),
        "10.0.0.1".into(),
        qtype.into(),
        query.into(),
        "93.184.216.34".into(),
        "NOERROR".into(),
    ]
}

pub(crate) fn tcp(t: TenantId, ts: i64, src: &str, dst: &str, dport: i64, bytes: i64) -> Vec<V> {
    vec![
        t.0.into(),
        ts.into(),
        "a1".into(),
        src.into(),
        50000i64.into(),
        dst.into(),
        dport.into(),
        "tcp".into(),
        bytes.into(),
        (bytes * 2).into(),
        1i64.into(),
        2i64.into(),
        30i64.into(),
    ]
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn alert(
    t: TenantId,
    ts: i64,
    src: &str,
    mac: &str,
    dport: i64,
    level: i64,
    kind: &str,
    msg: &str,
) -> Vec<V> {
    vec![
        t.0.into(),
        ts.into(),
        "agent-hash".into(),
        "Office sensor".into(),
        mac.into(),
        "11:22:33:44:55:66".into(),
        src.into(),
        "10.0.0.50".into(),
        53000i64.into(),
        dport.into(),
        level.into(),
        kind.into(),
        format!("{kind} detected").into(),
        msg.into(),
    ]
}

pub(crate) fn syslog(t: TenantId, ts: i64, host: &str, title: &str, line: &str) -> Vec<V> {
    vec![
        t.0.into(),
        ts.into(),
        "agent-hash".into(),
        "Syslog sensor".into(),
        host.into(),
        20i64.into(),
        "auth".into(),
        title.into(),
        line.into(),
    ]
}

/// POSTs an export and reads the ZIP back: entry name → CSV records (header first).
async fn export(app: &TestApp, body: Value) -> BTreeMap<String, Vec<Vec<String>>> {
    let res = app
        .send_json(Method::POST, "/api/v1/data/export", &body)
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(res.headers()["content-type"], "application/zip");
    unzip(&res.bytes().await.unwrap())
}

fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<Vec<String>>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a valid ZIP");
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        let records = rdr
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        out.insert(f.name().to_string(), records);
    }
    out
}

/// The values of column `name` in a CSV (header first).
fn column(csv: &[Vec<String>], name: &str) -> Vec<String> {
    let i = csv[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("{name} in {:?}", csv[0]));
    csv[1..].iter().map(|r| r[i].clone()).collect()
}

pub(crate) async fn count(app: &TestApp, sql: &str, t: TenantId) -> i64 {
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let sql = sql.replace("$1", &placeholder(app.state.db.backend(), 1));
    let rows: Vec<N> = app
        .state
        .db
        .fetch_all_sql(&sql, Values(vec![t.0.into()]))
        .await
        .unwrap();
    rows[0].n
}

#[tokio::test]
async fn export_holds_every_dataset_with_stored_rows_in_server_time() {
    let app = spawn_with(|c| c.timezone = "Europe/Berlin".into(), None).await;
    let t = tenant(&app, "default").await;
    let other = tenant(&app, "other").await;
    let t0 = utc("2026-06-03 08:00:00"); // 10:00 in Berlin
    insert(
        &app,
        "dns_records",
        DNS,
        vec![
            dns(t, t0, "a1", "10.0.0.5", "A", "www.example.com"),
            dns(t, t0 + 1000, "a1", "10.0.0.6", "AAAA", "api.github.com"),
            dns(other, t0, "a1", "10.9.9.9", "A", "secret.example.com"),
        ],
    )
    .await;
    insert(
        &app,
        "network_alerts",
        NA,
        vec![alert(
            t,
            t0,
            "10.0.0.25",
            "AA:BB:CC:DD:EE:FF",
            3389,
            30,
            "portscan",
            "Port scan",
        )],
    )
    .await;

    let zip = export(
        &app,
        json!({"datasets": ["dns_metadata", "network_alerts", "syslog_alerts",
        "tcp_metadata", "dhcp_metadata", "http_metadata"]}),
    )
    .await;
    let names: Vec<_> = zip.keys().cloned().collect();
    assert_eq!(
        names,
        [
            "dhcpflow.csv",
            "httpflow.csv",
            "metadata_connections.csv",
            "metadata_dns.csv",
            "networkalerts.csv",
            "syslogalerts.csv"
        ]
    );
    let d = &zip["metadata_dns.csv"];
    assert_eq!(
        d[0],
        [
            "id",
            "timestamp",
            "agent",
            "src_ip",
            "dst_ip",
            "qtype",
            "query",
            "answer",
            "rcode"
        ]
    );
    assert_eq!(d.len(), 3, "the other tenant's row stays out: {d:?}");
    assert_eq!(
        column(d, "timestamp"),
        ["2026-06-03 10:00:00", "2026-06-03 10:00:01"]
    );
    assert_eq!(column(d, "query"), ["www.example.com", "api.github.com"]);
    assert_eq!(column(d, "qtype"), ["A", "AAAA"]);
    let na = &zip["networkalerts.csv"];
    assert_eq!(column(na, "src_mac"), ["AA:BB:CC:DD:EE:FF"]);
    assert_eq!(column(na, "dst_port"), ["3389"]);
    assert_eq!(column(na, "level"), ["30"]);
    // Empty datasets still carry their header.
    for (entry, first) in [
        ("dhcpflow.csv", "id"),
        ("httpflow.csv", "id"),
        ("syslogalerts.csv", "id"),
    ] {
        assert_eq!(zip[entry].len(), 1, "{entry}: {:?}", zip[entry]);
        assert_eq!(zip[entry][0][0], first);
    }
    assert!(zip["syslogalerts.csv"][0].contains(&"line".to_string()));
    assert!(zip["metadata_connections.csv"][0].contains(&"bytes_out".to_string()));

    // `table` and `tables` are accepted too.
    let one = export(&app, json!({"table": "dns_metadata"})).await;
    assert_eq!(one.keys().collect::<Vec<_>>(), ["metadata_dns.csv"]);
    let two = export(&app, json!({"tables": ["tcp_metadata"]})).await;
    assert_eq!(two.keys().collect::<Vec<_>>(), ["metadata_connections.csv"]);
}

#[tokio::test]
async fn csv_quotes_commas_quotes_and_newlines() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let tricky = "sshd[100]: Failed password for \"root\", from 10.0.0.25\nport 22, ssh2";
    insert(
        &app,
        "server_alerts",
        SL,
        vec![syslog(
            t,
            utc("2026-06-03 10:00:00"),
            "db,01",
            "Failed \"password\"",
            tricky,
        )],
    )
    .await;
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/data/export",
            &json!({"table": "syslog_alerts"}),
        )
        .await;
    let bytes = res.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(Cursor::new(&bytes[..])).unwrap();
    let mut raw = String::new();
    zip.by_name("syslogalerts.csv")
        .unwrap()
        .read_to_string(&mut raw)
        .unwrap();
    assert!(raw.contains("\"db,01\""), "{raw}");
    assert!(raw.contains("\"Failed \"\"password\"\"\""), "{raw}");
    assert!(raw.ends_with("\r\n"), "RFC 4180 line ends: {raw:?}");
    let csv = &unzip(&bytes)["syslogalerts.csv"];
    assert_eq!(column(csv, "line"), [tricky]);
    assert_eq!(column(csv, "hostname"), ["db,01"]);
    assert_eq!(column(csv, "title"), ["Failed \"password\""]);
}

#[tokio::test]
async fn export_filters_and_their_aliases() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let d1 = utc("2026-06-02 23:59:59");
    let d2 = utc("2026-06-03 12:00:00");
    let d3 = utc("2026-06-04 00:00:00");
    insert(
        &app,
        "dns_records",
        DNS,
        vec![
            dns(t, d1, "a1", "10.0.0.5", "A", "www.example.com"),
            dns(t, d2, "a1", "10.0.0.5", "A", "mail.example.com"),
            dns(t, d2, "a2", "10.0.0.6", "MX", "example.org"),
            dns(t, d3, "a1", "10.0.0.7", "A", "cdn.example.com"),
        ],
    )
    .await;
    insert(
        &app,
        "network_alerts",
        NA,
        vec![
            alert(
                t,
                d2,
                "10.0.0.25",
                "AA:BB:CC:DD:EE:01",
                443,
                30,
                "ids",
                "ET MALWARE beacon",
            ),
            alert(
                t,
                d2,
                "10.0.1.25",
                "AA:BB:CC:DD:EE:02",
                443,
                20,
                "ids",
                "ET MALWARE beacon",
            ),
            alert(
                t,
                d2,
                "10.0.0.26",
                "AA:BB:CC:DD:EE:03",
                22,
                30,
                "portscan",
                "Port scan",
            ),
        ],
    )
    .await;
    let queries =
        |zip: &BTreeMap<String, Vec<Vec<String>>>| column(&zip["metadata_dns.csv"], "query");

    let z = export(&app, json!({"datasets": ["dns_metadata"], "filters": {"dns_metadata": {"query": "%.example.com"}}})).await;
    assert_eq!(
        queries(&z),
        ["www.example.com", "mail.example.com", "cdn.example.com"]
    );
    // A date-only `to` covers the whole day; `from` is inclusive.
    let z = export(&app, json!({"datasets": ["dns_metadata"], "filters": {"from": "2026-06-03", "to": "2026-06-03"}})).await;
    assert_eq!(queries(&z), ["mail.example.com", "example.org"]);
    let z = export(&app, json!({"datasets": ["dns_metadata"], "filters": {"from": "2026-06-02 23:59:59", "to": "2026-06-03 12:00"}})).await;
    assert_eq!(
        queries(&z),
        ["www.example.com", "mail.example.com", "example.org"]
    );
    // The Web UI's field names, prefixed, at the top of `filters`.
    let z = export(&app, json!({"datasets": ["dns_metadata"], "filters": {"dns_query": "%.EXAMPLE.com", "dns_srcip": "10.0.0.5"}})).await;
    assert_eq!(queries(&z), ["www.example.com", "mail.example.com"]);
    let z = export(
        &app,
        json!({"datasets": ["dns_metadata"], "filters": {"agent_id": "a2"}}),
    )
    .await;
    assert_eq!(queries(&z), ["example.org"]);
    let z = export(&app, json!({"datasets": ["dns_metadata"], "filters": {"agent": "all", "dns_metadata": {"qtype": "mx"}}})).await;
    assert_eq!(queries(&z), ["example.org"]);

    let sources =
        |zip: &BTreeMap<String, Vec<Vec<String>>>| column(&zip["networkalerts.csv"], "src_ip");
    let z = export(
        &app,
        json!({"datasets": ["network_alerts"], "filters": {"na_srcip": "10.0.0.%"}}),
    )
    .await;
    assert_eq!(sources(&z), ["10.0.0.25", "10.0.0.26"]);
    // Strings or numbers, `type` or `alert_type`, `destination_port` or `dst_port`.
    let z = export(&app, json!({"datasets": ["network_alerts"], "filters": {"network_alerts": {"level": "30", "dst_port": 443}}})).await;
    assert_eq!(sources(&z), ["10.0.0.25"]);
    let z = export(&app, json!({"datasets": ["network_alerts"], "filters": {"network_alerts": {"alert_type": "portscan"}}})).await;
    assert_eq!(sources(&z), ["10.0.0.26"]);
    let z = export(&app, json!({"datasets": ["network_alerts"], "filters": {"network_alerts": {"search": "malware", "level": 20}}})).await;
    assert_eq!(sources(&z), ["10.0.1.25"]);
    // `source` matches a MAC in any notation as well as an IP.
    let z = export(&app, json!({"datasets": ["network_alerts"], "filters": {"network_alerts": {"source": "aa-bb-cc-dd-ee-03"}}})).await;
    assert_eq!(sources(&z), ["10.0.0.26"]);
    // A filter for a dataset not exported is checked but changes nothing.
    let z = export(
        &app,
        json!({"datasets": ["network_alerts"], "filters": {"dns_query": "nothing"}}),
    )
    .await;
    assert_eq!(sources(&z).len(), 3);
}

#[tokio::test]
async fn seed_examples_run_as_written() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let d = utc("2026-06-03 10:30:00");
    insert(
        &app,
        "dns_records",
        DNS,
        vec![
            dns(t, d, "a1", "10.0.0.5", "A", "www.example.com"),
            dns(t, d, "a1", "10.0.0.5", "A", "www.example.net"),
        ],
    )
    .await;
    insert(
        &app,
        "network_alerts",
        NA,
        vec![
            alert(t, d, "10.0.0.25", "", 443, 30, "ids", "malware callback"),
            alert(t, d, "10.0.0.26", "", 443, 20, "ids", "malware callback"),
        ],
    )
    .await;
    insert(
        &app,
        "server_alerts",
        SL,
        vec![
            syslog(
                t,
                d,
                "server-01",
                "Failed password",
                "sshd[100]: Failed password for root from 10.0.0.25",
            ),
            syslog(
                t,
                d,
                "server-01",
                "Accepted",
                "sshd[100]: Accepted publickey for root",
            ),
        ],
    )
    .await;

    // curl … -d '{"datasets":["dns_metadata"],"filters":{"from":"2026-06-03","dns_metadata":{"query":"%.example.com"}}}'
    let raw = r#"{"datasets":["dns_metadata"],"filters":{"from":"2026-06-03","dns_metadata":{"query":"%.example.com"}}}"#;
    let res = app
        .req(Method::POST, "/api/v1/data/export")
        .header("Content-Type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let z = unzip(&res.bytes().await.unwrap());
    assert_eq!(column(&z["metadata_dns.csv"], "query"), ["www.example.com"]);

    // The same with `curl --compressed`: the compressed body arrives whole.
    let res = app
        .req(Method::POST, "/api/v1/data/export")
        .header("Content-Type", "application/json")
        .header("Accept-Encoding", "gzip")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let body = res.bytes().await.expect("a whole compressed body");
    assert!(body.starts_with(&[0x1f, 0x8b]), "gzip magic");

    // The export request body of the docs.
    let z = export(
        &app,
        json!({
            "datasets": ["network_alerts", "syslog_alerts"],
            "filters": {
                "from": "2026-06-03 00:00", "to": "2026-06-04 00:00", "agent_id": "agent-hash",
                "network_alerts": {"search": "malware", "level": "30"},
                "syslog_alerts": {"search": "Failed password"}
            }
        }),
    )
    .await;
    assert_eq!(column(&z["networkalerts.csv"], "src_ip"), ["10.0.0.25"]);
    assert_eq!(column(&z["syslogalerts.csv"], "title"), ["Failed password"]);

    // The delete request body of the docs, with the documented response.
    insert(
        &app,
        "network_alerts",
        NA,
        vec![alert(t, d, "10.0.0.27", "", 443, 30, "ids", "x")],
    )
    .await;
    let body = json!({
        "table": "network_alerts",
        "filters": {
            "from": "2026-06-03 00:00", "to": "2026-06-04 00:00",
            "network_alerts": {"source": "10.0.0.%", "destination_port": "443", "level": "30"}
        }
    });
    let r = json(
        app.send_json(Method::POST, "/api/v1/data/delete", &body)
            .await,
        200,
    )
    .await;
    assert_eq!(
        r,
        json!({"table": "network_alerts", "label": "network alerts", "deleted_rows": 2, "network_pcaps_deleted": true})
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM network_alerts WHERE tenant_id = $1",
            t
        )
        .await,
        1
    );
}

/// The aggregate rows of `table` as comparable tuples, and the same computed from the raw rows.
pub(crate) async fn aggregates_match_raw(app: &TestApp, t: TenantId) {
    #[derive(sqlx::FromRow, Debug, PartialEq, PartialOrd, Ord, Eq)]
    struct Dns {
        bucket: i64,
        agent: String,
        src_ip: String,
        dst_ip: String,
        qtype: String,
        query: String,
        count: i64,
    }
    #[derive(sqlx::FromRow, Debug, PartialEq, PartialOrd, Ord, Eq)]
    struct Tcp {
        bucket: i64,
        src_ip: String,
        dst_ip: String,
        dst_port: i64,
        count: i64,
        bytes_out: i64,
        bytes_in: i64,
    }
    let db = &app.state.db;
    let p1 = placeholder(db.backend(), 1);
    let mut stored: Vec<Dns> = db
        .fetch_all_sql(&format!("SELECT bucket, agent, src_ip, dst_ip, qtype, query, count FROM dns_aggregates WHERE tenant_id = {p1}"), Values(vec![t.0.into()]))
        .await
        .unwrap();
    #[derive(sqlx::FromRow)]
    struct RawDns {
        ts: i64,
        agent: String,
        src_ip: String,
        dst_ip: String,
        qtype: String,
        query: String,
    }
    let raw: Vec<RawDns> = db
        .fetch_all_sql(&format!("SELECT ts, agent, src_ip, dst_ip, qtype, query FROM dns_records WHERE tenant_id = {p1}"), Values(vec![t.0.into()]))
        .await
        .unwrap();
    let mut expect: BTreeMap<(i64, String, String, String, String, String), i64> = BTreeMap::new();
    for r in raw {
        *expect
            .entry((
                aggregates::bucket(r.ts),
                r.agent,
                r.src_ip,
                r.dst_ip,
                r.qtype,
                r.query,
            ))
            .or_default() += 1;
    }
    let mut expect: Vec<Dns> = expect
        .into_iter()
        .map(
            |((bucket, agent, src_ip, dst_ip, qtype, query), count)| Dns {
                bucket,
                agent,
                src_ip,
                dst_ip,
                qtype,
                query,
                count,
            },
        )
        .collect();
    stored.sort();
    expect.sort();
    assert_eq!(stored, expect);

    let mut stored: Vec<Tcp> = db
        .fetch_all_sql(&format!("SELECT bucket, src_ip, dst_ip, dst_port, count, bytes_out, bytes_in FROM tcp_aggregates WHERE tenant_id = {p1}"), Values(vec![t.0.into()]))
        .await
        .unwrap();
    #[derive(sqlx::FromRow)]
    struct RawTcp {
        ts: i64,
        src_ip: String,
        dst_ip: String,
        dst_port: i64,
        bytes_out: i64,
        bytes_in: i64,
    }
    let raw: Vec<RawTcp> = db
        .fetch_all_sql(&format!("SELECT ts, src_ip, dst_ip, dst_port, bytes_out, bytes_in FROM tcp_records WHERE tenant_id = {p1}"), Values(vec![t.0.into()]))
        .await
        .unwrap();
    // (bucket, src_ip, dst_ip, dst_port) → (count, bytes_out, bytes_in)
    type Key = (i64, String, String, i64);
    let mut expect: BTreeMap<Key, (i64, i64, i64)> = BTreeMap::new();
    for r in raw {
        let e = expect
            .entry((aggregates::bucket(r.ts), r.src_ip, r.dst_ip, r.dst_port))
            .or_default();
        e.0 += 1;
        e.1 += r.bytes_out;
        e.2 += r.bytes_in;
    }
    let mut expect: Vec<Tcp> = expect
        .into_iter()
        .map(
            |((bucket, src_ip, dst_ip, dst_port), (count, bytes_out, bytes_in))| Tcp {
                bucket,
                src_ip,
                dst_ip,
                dst_port,
                count,
                bytes_out,
                bytes_in,
            },
        )
        .collect();
    stored.sort();
    expect.sort();
    assert_eq!(stored, expect);
}

#[tokio::test]
async fn deletes_rebuild_the_aggregates_of_the_buckets_they_touch() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let other = tenant(&app, "other").await;
    let base = utc("2026-06-03 10:00:00");
    let m = 60_000;
    // Rows every 7 minutes over three hours: buckets hold 2–3 rows, some split by the filters.
    let mut d = Vec::new();
    let mut c = Vec::new();
    for i in 0..26 {
        let ts = base + i * 7 * m;
        let src = if i % 3 == 0 { "10.0.0.5" } else { "10.0.0.6" };
        d.push(dns(
            t,
            ts,
            "a1",
            src,
            "A",
            if i % 2 == 0 {
                "www.example.com"
            } else {
                "api.example.com"
            },
        ));
        c.push(tcp(
            t,
            ts,
            src,
            "93.184.216.34",
            if i % 4 == 0 { 22 } else { 443 },
            100 + i,
        ));
    }
    d.push(dns(other, base, "a1", "10.0.0.5", "A", "www.example.com"));
    insert(&app, "dns_records", DNS, d).await;
    insert(&app, "tcp_records", TCP, c).await;
    {
        let mut tx = app.state.db.begin().await.unwrap();
        for agg in aggregates::ALL {
            for tenant in [t, other] {
                aggregates::rebuild(&mut tx, agg, tenant, base - 86_400_000, base + 86_400_000)
                    .await
                    .unwrap();
            }
        }
        tx.commit().await.unwrap();
    }
    aggregates_match_raw(&app, t).await;
    let others = count(
        &app,
        "SELECT COUNT(*) AS n FROM dns_aggregates WHERE tenant_id = $1",
        other,
    )
    .await;
    assert_eq!(others, 1);

    // A time range that starts and ends inside buckets, and a filter on top.
    let body = json!({"table": "dns_metadata", "filters": {"from": "2026-06-03 10:20", "to": "2026-06-03 11:40",
        "dns_metadata": {"source": "10.0.0.6"}}});
    let r = json(
        app.send_json(Method::POST, "/api/v1/data/delete", &body)
            .await,
        200,
    )
    .await;
    assert_eq!(r["table"], "dns_metadata");
    assert_eq!(r["label"], "DNS metadata");
    assert_eq!(r["dns_aggregates_rebuilt"], true);
    assert!(r.get("network_pcaps_deleted").is_none(), "{r}");
    assert!(r["deleted_rows"].as_u64().unwrap() > 3, "{r}");
    aggregates_match_raw(&app, t).await;

    // DELETE /api/v1/data takes the same body; a filter without a time bound touches buckets
    // all over the range.
    let body = json!({"table": "tcp_metadata", "filters": {"tcp_dport": "22"}});
    let res = app
        .req(Method::DELETE, "/api/v1/data")
        .json(&body)
        .send()
        .await
        .unwrap();
    let r = json(res, 200).await;
    assert_eq!(
        r,
        json!({"table": "tcp_metadata", "label": "TCP metadata", "deleted_rows": 7, "tcp_aggregates_rebuilt": true})
    );
    aggregates_match_raw(&app, t).await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM tcp_records WHERE tenant_id = $1 AND dst_port = 22",
            t
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM dns_aggregates WHERE tenant_id = $1",
            other
        )
        .await,
        1,
        "other tenants untouched"
    );
}

#[tokio::test]
async fn an_unbounded_delete_needs_all_true() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let d = utc("2026-06-03 10:00:00");
    insert(
        &app,
        "server_alerts",
        SL,
        vec![syslog(t, d, "h1", "x", "y"), syslog(t, d, "h2", "x", "y")],
    )
    .await;
    for body in [
        json!({"table": "syslog_alerts"}),
        json!({"table": "syslog_alerts", "filters": {}}),
        json!({"table": "syslog_alerts", "all": false, "filters": {"agent_id": "all"}}),
    ] {
        network_error(
            app.send_json(Method::POST, "/api/v1/data/delete", &body)
                .await,
            400,
            "all",
        )
        .await;
    }
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM server_alerts WHERE tenant_id = $1",
            t
        )
        .await,
        2
    );
    let r = json(
        app.send_json(
            Method::POST,
            "/api/v1/data/delete",
            &json!({"table": "syslog_alerts", "all": true}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        r,
        json!({"table": "syslog_alerts", "label": "server alerts", "deleted_rows": 2})
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM server_alerts WHERE tenant_id = $1",
            t
        )
        .await,
        0
    );
}

#[tokio::test]
async fn network_alert_deletes_take_their_captures() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let d = utc("2026-06-03 10:00:00");
    insert(
        &app,
        "network_alerts",
        NA,
        vec![
            alert(t, d, "10.0.0.25", "", 443, 30, "ids", "a"),
            alert(t, d, "10.0.0.26", "", 443, 30, "ids", "b"),
        ],
    )
    .await;
    #[derive(sqlx::FromRow)]
    struct Id {
        id: i64,
    }
    let ids: Vec<Id> = app
        .state
        .db
        .fetch_all_sql("SELECT id FROM network_alerts ORDER BY id", Values(vec![]))
        .await
        .unwrap();
    let caps: Vec<Vec<V>> = ids
        .iter()
        .map(|i| {
            vec![
                t.0.into(),
                i.id.into(),
                V::Bytes(Some(Box::new(vec![0xd4, 0xc3, 0xb2, 0xa1]))),
                d.into(),
            ]
        })
        .collect();
    insert(
        &app,
        "network_pcaps",
        &["tenant_id", "alert_id", "data", "created_at"],
        caps,
    )
    .await;

    let body = json!({"table": "network_alerts", "filters": {"na_source": "10.0.0.25"}});
    let r = json(
        app.send_json(Method::POST, "/api/v1/data/delete", &body)
            .await,
        200,
    )
    .await;
    assert_eq!(r["deleted_rows"], 1);
    assert_eq!(r["network_pcaps_deleted"], true);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM network_pcaps WHERE tenant_id = $1",
            t
        )
        .await,
        1
    );
    let left = count(
        &app,
        &format!(
            "SELECT COUNT(*) AS n FROM network_pcaps WHERE tenant_id = $1 AND alert_id = {}",
            ids[1].id
        ),
        t,
    )
    .await;
    assert_eq!(left, 1, "the other alert keeps its capture");

    // The day's last alert goes: its count row goes too instead of staying at zero.
    let body = json!({"table": "network_alerts", "filters": {"na_source": "10.0.0.26"}});
    let r = json(
        app.send_json(Method::POST, "/api/v1/data/delete", &body)
            .await,
        200,
    )
    .await;
    assert_eq!(r["deleted_rows"], 1);
    let counts = |sql: &'static str| count(&app, sql, t);
    assert_eq!(
        counts("SELECT COUNT(*) AS n FROM row_counts WHERE tenant_id = $1").await,
        0
    );
    assert_eq!(
        counts("SELECT COUNT(*) AS n FROM row_counts_hourly WHERE tenant_id = $1").await,
        0
    );
    let list = json(app.get("/api/v1/networkalerts").await, 200).await;
    assert_eq!(list["total_rows"], 0);
}

#[tokio::test]
async fn a_failed_delete_changes_nothing() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let d = utc("2026-06-03 10:00:00");
    insert(
        &app,
        "tcp_records",
        TCP,
        vec![
            tcp(t, d, "10.0.0.5", "1.1.1.1", 443, 10),
            tcp(t, d + 1, "10.0.0.6", "1.1.1.1", 443, 20),
        ],
    )
    .await;
    // The aggregate rebuild, the last step of the transaction, is made to fail.
    let db = &app.state.db;
    match db.backend() {
        Backend::Sqlite => db.execute_sql("CREATE TRIGGER refuse BEFORE INSERT ON tcp_aggregates BEGIN SELECT RAISE(ABORT, 'refused'); END", Values(vec![])).await.unwrap(),
        Backend::Postgres => {
            db.execute_sql("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql", Values(vec![])).await.unwrap();
            db.execute_sql("CREATE TRIGGER refuse BEFORE INSERT ON tcp_aggregates FOR EACH ROW EXECUTE FUNCTION refuse()", Values(vec![])).await.unwrap()
        }
    };
    let body =
        json!({"table": "tcp_metadata", "filters": {"tcp_metadata": {"source": "10.0.0.5"}}});
    let res = app
        .send_json(Method::POST, "/api/v1/data/delete", &body)
        .await;
    assert_eq!(res.status(), 500);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM tcp_records WHERE tenant_id = $1",
            t
        )
        .await,
        2
    );
}

#[tokio::test]
async fn bad_input_is_400_naming_the_field() {
    let app = spawn().await;
    let cases = [
        ("/api/v1/data/export", json!({}), "datasets"),
        ("/api/v1/data/export", json!({"datasets": []}), "datasets"),
        ("/api/v1/data/export", json!({"datasets": ["dns"]}), "dns"),
        (
            "/api/v1/data/export",
            json!({"datasets": ["dns_metadata"], "table": "dns_metadata"}),
            "table",
        ),
        (
            "/api/v1/data/export",
            json!({"datasets": "dns_metadata"}),
            "datasets",
        ),
        (
            "/api/v1/data/export",
            json!({"datasets": ["dns_metadata"], "colour": 1}),
            "colour",
        ),
        (
            "/api/v1/data/export",
            json!({"table": "dns_metadata", "filters": {"from": "yesterday"}}),
            "filters.from",
        ),
        (
            "/api/v1/data/export",
            json!({"table": "dns_metadata", "filters": {"dns_metadata": {"colour": "x"}}}),
            "filters.dns_metadata.colour",
        ),
        (
            "/api/v1/data/export",
            json!({"table": "dns_metadata", "filters": {"xyz_query": "x"}}),
            "filters.xyz_query",
        ),
        (
            "/api/v1/data/export",
            json!({"table": "network_alerts", "filters": {"network_alerts": {"level": "high"}}}),
            "filters.network_alerts.level",
        ),
        (
            "/api/v1/data/export",
            json!({"table": "tcp_metadata", "filters": {"tcp_metadata": {"geoip": "DE"}}}),
            "geoip",
        ),
        (
            "/api/v1/data/export",
            json!({"table": "dns_metadata", "filters": {"dns_metadata": {"query": ["a", "b"]}}}),
            "filters.dns_metadata.query",
        ),
        ("/api/v1/data/delete", json!({}), "table"),
        (
            "/api/v1/data/delete",
            json!({"table": "everything", "all": true}),
            "everything",
        ),
        (
            "/api/v1/data/delete",
            json!({"datasets": ["dns_metadata"]}),
            "datasets",
        ),
        (
            "/api/v1/data/delete",
            json!({"table": "dns_metadata", "all": "yes"}),
            "all",
        ),
        (
            "/api/v1/data/delete",
            json!({"table": "dns_metadata", "filters": {"to": "2026-13-01"}}),
            "filters.to",
        ),
    ];
    for (path, body, needle) in cases {
        network_error(app.send_json(Method::POST, path, &body).await, 400, needle).await;
    }
    let res = app
        .req(Method::POST, "/api/v1/data/export")
        .header("Content-Type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    network_error(res, 400, "JSON").await;
    network_error(app.get("/api/v1/data/export").await, 405, "").await;
}

#[tokio::test]
async fn permissions_are_data_read_and_data_write() {
    let app = spawn().await;
    let devices = app.tenant_key("default", Some(&[Perm::DevicesR])).await;
    let reader = app.tenant_key("default", Some(&[Perm::DataR])).await;
    let export = json!({"table": "dns_metadata"});
    let delete = json!({"table": "dns_metadata", "all": true});
    let send = |key: &str, method: Method, path: &str, body: &Value| {
        app.req_as(key, method, path).json(body).send()
    };
    network_error(
        send(&devices, Method::POST, "/api/v1/data/export", &export)
            .await
            .unwrap(),
        403,
        "perm_data_r",
    )
    .await;
    network_error(
        send(&devices, Method::POST, "/api/v1/data/delete", &delete)
            .await
            .unwrap(),
        403,
        "perm_data_w",
    )
    .await;
    network_error(
        send(&devices, Method::DELETE, "/api/v1/data", &delete)
            .await
            .unwrap(),
        403,
        "perm_data_w",
    )
    .await;
    network_error(
        send(&reader, Method::POST, "/api/v1/data/delete", &delete)
            .await
            .unwrap(),
        403,
        "perm_data_w",
    )
    .await;
    assert_eq!(
        send(&reader, Method::POST, "/api/v1/data/export", &export)
            .await
            .unwrap()
            .status(),
        200
    );
    network_error(
        send("nope", Method::POST, "/api/v1/data/export", &export)
            .await
            .unwrap(),
        401,
        "",
    )
    .await;
}

#[tokio::test]
async fn generated_data_fills_the_aggregates_and_exports_whole() {
    use picket_netmon::generate::{generate, Volume};
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let volume = Volume {
        dns: 20_000,
        tcp: 3_000,
        days: 2,
        seed: 7,
        ..Volume::default()
    };
    generate(&app.state.db, t, &volume, |_, _| {})
        .await
        .unwrap();
    aggregates_match_raw(&app, t).await;
    // Many CSV chunks and ZIP pieces: every row arrives once, in time order.
    let z = export(&app, json!({"datasets": ["dns_metadata", "tcp_metadata"]})).await;
    let dns = &z["metadata_dns.csv"];
    assert_eq!(dns.len(), 20_001);
    let times = column(dns, "timestamp");
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(z["metadata_connections.csv"].len(), 3_001);
}

/// A date-only bound is the calendar day in the server timezone, also on the days clocks
/// change: 23 hours on 29 March 2026 in Berlin, 25 hours on 25 October.
#[tokio::test]
async fn a_date_selects_one_local_day_on_daylight_saving_days() {
    let app = spawn_with(|c| c.timezone = "Europe/Berlin".into(), None).await;
    let t = tenant(&app, "default").await;
    let row = |ts: &str, query: &str| dns(t, utc(ts), "a1", "10.0.0.5", "A", query);
    insert(
        &app,
        "dns_records",
        DNS,
        vec![
            // Around 29 March: CET (+1) until 02:00, CEST (+2) after.
            row("2026-03-28 22:59:59", "march-28.example"), // 23:59:59 on the 28th
            row("2026-03-28 23:00:00", "march-29-start.example"), // 00:00 on the 29th
            row("2026-03-29 21:59:59", "march-29-end.example"), // 23:59:59 on the 29th
            row("2026-03-29 22:30:00", "march-30.example"), // 00:30 on the 30th
            // Around 25 October: CEST (+2) until 03:00, CET (+1) after.
            row("2026-10-24 21:59:59", "october-24.example"), // 23:59:59 on the 24th
            row("2026-10-24 22:00:00", "october-25-start.example"), // 00:00 on the 25th
            row("2026-10-25 22:30:00", "october-25-late.example"), // 23:30 on the 25th
            row("2026-10-25 23:00:00", "october-26.example"), // 00:00 on the 26th
        ],
    )
    .await;

    let z = export(
        &app,
        json!({"datasets": ["dns_metadata"], "filters": {"from": "2026-03-29", "to": "2026-03-29"}}),
    )
    .await;
    assert_eq!(
        column(&z["metadata_dns.csv"], "query"),
        ["march-29-start.example", "march-29-end.example"]
    );
    assert_eq!(
        column(&z["metadata_dns.csv"], "timestamp"),
        ["2026-03-29 00:00:00", "2026-03-29 23:59:59"]
    );

    let body =
        json!({"table": "dns_metadata", "filters": {"from": "2026-10-25", "to": "2026-10-25"}});
    let r = json(
        app.send_json(Method::POST, "/api/v1/data/delete", &body)
            .await,
        200,
    )
    .await;
    assert_eq!(r["deleted_rows"], 2, "{r}");
    let z = export(
        &app,
        json!({"datasets": ["dns_metadata"], "filters": {"from": "2026-10-24", "to": "2026-10-26"}}),
    )
    .await;
    assert_eq!(
        column(&z["metadata_dns.csv"], "query"),
        ["october-24.example", "october-26.example"]
    );
}

/// `agent_id` and a network alert's `search` (which also looks in `dst_ip:dst_port`) find the
/// same rows in network-alert search, data export and data delete, whatever the agent's case.
#[tokio::test]
async fn agents_and_search_match_alike_in_search_export_and_delete() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let ts = utc("2026-06-03 08:00:00");
    let mut elsewhere = alert(t, ts + 2000, "10.0.0.27", "", 3389, 30, "ids", "x");
    elsewhere[2] = "other-agent".into();
    insert(
        &app,
        "network_alerts",
        NA,
        vec![
            alert(t, ts, "10.0.0.25", "", 3389, 30, "portscan", "Port scan"),
            alert(t, ts + 1000, "10.0.0.26", "", 443, 20, "ids", "x"),
            elsewhere,
        ],
    )
    .await;
    let searched = |filters: Value| {
        let app = &app;
        async move {
            let body = json!({ "filters": filters });
            let r = json(
                app.send_json(Method::POST, "/api/v1/networkalerts/search", &body)
                    .await,
                200,
            )
            .await;
            let mut ips: Vec<String> = r["network_alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["src_ip"].as_str().unwrap().to_string())
                .collect();
            ips.sort();
            ips
        }
    };
    let exported = |filters: Value| {
        let app = &app;
        async move {
            let z = export(
                app,
                json!({"datasets": ["network_alerts"], "filters": filters}),
            )
            .await;
            let mut ips = column(&z["networkalerts.csv"], "src_ip");
            ips.sort();
            ips
        }
    };

    let agent = ["10.0.0.25", "10.0.0.26"];
    assert_eq!(searched(json!({"agent_id": "AGENT-HASH"})).await, agent);
    assert_eq!(exported(json!({"agent_id": "AGENT-HASH"})).await, agent);
    assert_eq!(exported(json!({"agent": "Agent-Hash"})).await, agent);

    let endpoint = ["10.0.0.25", "10.0.0.27"];
    assert_eq!(
        searched(json!({"search": "10.0.0.50:3389"})).await,
        endpoint
    );
    assert_eq!(
        exported(json!({"network_alerts": {"search": "10.0.0.50:3389"}})).await,
        endpoint
    );
    assert_eq!(exported(json!({"na_search": "0.50:33"})).await, endpoint);

    let body = json!({"table": "network_alerts", "filters": {"agent_id": "AGENT-HASH"}});
    let r = json(
        app.send_json(Method::POST, "/api/v1/data/delete", &body)
            .await,
        200,
    )
    .await;
    assert_eq!(r["deleted_rows"], 2, "{r}");
    assert_eq!(searched(json!({})).await, ["10.0.0.27"]);
}
