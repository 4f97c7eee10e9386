//! Sensor ingest end to end: batches posted to `/api/agent/v1/{eve,zeek,syslog,pcap}` with an
//! agent token, read back through the documented `/api/v1` endpoints (alerts, devices,
//! services, the data export) as a user would. The real Suricata EVE sample and syslog auth
//! lines, and Zeek log lines written from Zeek's documented fields (see the fixtures'
//! SOURCES.md).

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use picket_core::db::placeholder;
use picket_core::identity::{store, Perm, TenantId};
use picket_core::jobs::run_pending_jobs;
use picket_netmon::data::aggregates;
use reqwest::{Method, Response};
use sea_query::Values;
use serde_json::{json, Value};

use crate::helpers::{json, network_error, spawn_with, TestApp};

const EVE: &str = include_str!("../fixtures/network/suricata-eve-surevego.json");
const AUTH: &str = include_str!("../fixtures/network/auth-beats.log");
const ZEEK: &str = include_str!("../fixtures/network/zeek-logs.json");
const PCAP: &[u8] = include_bytes!("../fixtures/alerts/zeek-nmap-vsn.pcap");

/// The EVE sample's one alerting flow (68 alerts, severity 3).
const SAMPLE_FLOW: i64 = 1501577875823823;

/// A registered sensor of a tenant.
struct Sensor {
    token: String,
    /// Public agent hash.
    agent: String,
    name: String,
    tenant: TenantId,
}

async fn app() -> TestApp {
    spawn_with(
        |c| {
            c.rate_limit.per_second = 0;
            c.delivery.allow_private_targets = true;
        },
        None,
    )
    .await
}

async fn sensor(app: &TestApp, tenant: &str, name: &str) -> Sensor {
    let db = &app.state.db;
    let t = crate::helpers::tenant_or_create(db, tenant).await;
    let (agent, token) = store::create_agent(db, t.id, name).await.unwrap();
    Sensor {
        token,
        agent: agent.agent,
        name: name.to_string(),
        tenant: t.id,
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

async fn post_with(
    app: &TestApp,
    s: &Sensor,
    path: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> Response {
    let mut req = app
        .req_as(&s.token, Method::POST, &format!("/api/agent/v1/{path}"))
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

async fn post(app: &TestApp, s: &Sensor, path: &str, body: &str) -> Value {
    json(
        post_with(app, s, path, body.as_bytes().to_vec(), &[]).await,
        200,
    )
    .await
}

fn counts(r: &Value) -> (u64, u64, u64) {
    (
        r["accepted"].as_u64().unwrap(),
        r["skipped"].as_u64().unwrap(),
        r["rejected"].as_u64().unwrap(),
    )
}

async fn get(app: &TestApp, key: &str, path: &str) -> Value {
    json(
        app.req_as(key, Method::GET, path).send().await.unwrap(),
        200,
    )
    .await
}

async fn alerts(app: &TestApp, key: &str) -> Vec<Value> {
    let body = json(
        app.req_as(key, Method::POST, "/api/v1/networkalerts/search")
            .json(&json!({"page_size": 1000, "sort": {"field": "id", "order": "asc"}}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    body["network_alerts"].as_array().unwrap().clone()
}

/// POSTs an export and reads the ZIP back: entry name → CSV records (header first).
async fn export(app: &TestApp, key: &str, datasets: &[&str]) -> BTreeMap<String, Vec<Vec<String>>> {
    let res = app
        .req_as(key, Method::POST, "/api/v1/data/export")
        .json(&json!({ "datasets": datasets }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        let rows = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        out.insert(f.name().to_string(), rows);
    }
    out
}

fn column(csv: &[Vec<String>], name: &str) -> Vec<String> {
    let i = csv[0].iter().position(|h| h == name).unwrap();
    csv[1..].iter().map(|r| r[i].clone()).collect()
}

#[derive(sqlx::FromRow, Debug, PartialEq, PartialOrd)]
struct AggRow {
    bucket: i64,
    agent: String,
    src_ip: String,
    dst_ip: String,
    key: String,
    count: i64,
    bytes_out: i64,
}

/// A tenant's aggregate rows of one kind, sorted.
async fn aggregate_rows(app: &TestApp, t: TenantId, dns: bool) -> Vec<AggRow> {
    let p1 = placeholder(app.state.db.backend(), 1);
    let sql = if dns {
        format!("SELECT bucket, agent, src_ip, dst_ip, query AS key, count, CAST(0 AS BIGINT) AS bytes_out FROM dns_aggregates WHERE tenant_id = {p1}")
    } else {
        format!("SELECT bucket, agent, src_ip, dst_ip, proto || ':' || CAST(dst_port AS TEXT) AS key, count, bytes_out FROM tcp_aggregates WHERE tenant_id = {p1}")
    };
    let mut rows: Vec<AggRow> = app
        .state
        .db
        .fetch_all_sql(&sql, Values(vec![t.0.into()]))
        .await
        .unwrap();
    rows.sort_by(|a, b| a.partial_cmp(b).unwrap());
    rows
}

async fn admin_of(app: &TestApp, tenant: &str) -> String {
    app.tenant_key(tenant, None).await
}

#[tokio::test]
async fn the_real_eve_sample_reads_back_through_the_api() {
    let app = app().await;
    let s = sensor(&app, "default", "office-suricata").await;
    let r = post(&app, &s, "eve", EVE).await;
    // 68 alerts, 68 http, 48 dns, 13 flows stored; 68 fileinfo and a stats event skipped.
    assert_eq!(counts(&r), (197, 69, 0));
    assert_eq!(r["duplicate"], false);
    assert_eq!(r["errors"], json!([]));

    let all = alerts(&app, &app.key).await;
    let list: Vec<&Value> = all.iter().filter(|a| a["type"] == "ids").collect();
    assert_eq!(list.len(), 68);
    let a = list[0];
    assert_eq!(a["level"], 10, "Suricata severity 3 is low");
    assert_eq!(a["agent"], s.agent.to_lowercase());
    assert_eq!(a["agent_name"], "office-suricata");
    assert_eq!(
        a["subject"],
        "ET POLICY GNU/Linux APT User-Agent Outbound likely related to package management"
    );
    let msg = a["message"].as_str().unwrap();
    for needle in [
        "category: Not Suspicious Traffic",
        "proto: tcp",
        "flow_id: 1501577875823823",
        "signature_id: 2013504",
    ] {
        assert!(msg.contains(needle), "{needle} in {msg}");
    }
    assert_eq!(
        (&a["src_ip"], &a["src_port"], &a["dst_ip"], &a["dst_port"]),
        (
            &json!("172.17.0.2"),
            &json!(41402),
            &json!("54.230.202.37"),
            &json!(80)
        )
    );
    assert_eq!(a["is_dst_public_ip"], true);
    assert_eq!(a["pcap_id"], Value::Null);
    // The first alert's time, +0100 in the sample, in the server's timezone (UTC).
    assert_eq!(a["timestamp"], "2017-01-30 15:12:36");
    // Search by the documented filters finds them.
    let found = json(
        app.req(Method::POST, "/api/v1/networkalerts/search")
            .json(
                &json!({"filters": {"agent": [s.agent], "type": ["ids"], "level": [10],
                "from": "2017-01-30 15:00", "to": "2017-01-30 16:00"}}),
            )
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(found["total_rows"], 68);

    // The DNS server answered over UDP: an internal service, new and not allowed, so a
    // `new_service` alert too. The web servers are on the Internet, the multicast flows had no
    // reply: no services.
    let new: Vec<&Value> = all.iter().filter(|a| a["type"] != "ids").collect();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0]["type"], "new_service");
    assert_eq!(new[0]["level"], 20);
    assert_eq!(new[0]["subject"], "New service 172.21.3.254:53/udp");
    assert_eq!(new[0]["dst_ip"], "172.21.3.254");
    assert_eq!(new[0]["src_ip"], "172.17.0.2");
    let services = get(&app, &app.key, "/api/v1/services").await;
    let services = services["services"].as_array().unwrap();
    assert_eq!(services.len(), 1, "{services:?}");
    assert_eq!(services[0]["service_ip"], "172.21.3.254");
    assert_eq!(services[0]["udp_ports"][0]["port"], 53);
    assert_eq!(services[0]["tcp_ports"], json!([]));
    assert_eq!(services[0]["first_seen"], "2017-01-30 15:12:26");

    // Metadata through the export, every row with the agent.
    let zip = export(
        &app,
        &app.key,
        &["dns_metadata", "http_metadata", "tcp_metadata"],
    )
    .await;
    let dns = &zip["metadata_dns.csv"];
    let http = &zip["httpflow.csv"];
    let tcp = &zip["metadata_connections.csv"];
    assert_eq!((dns.len() - 1, http.len() - 1, tcp.len() - 1), (48, 68, 13));
    for csv in [dns, http, tcp] {
        assert!(column(csv, "agent")
            .iter()
            .all(|a| *a == s.agent.to_lowercase()));
    }
    assert!(column(dns, "query").contains(&"prod.debian.map.fastly.net".to_string()));
    assert!(column(dns, "answer").contains(&"151.101.12.204".to_string()));
    assert!(column(http, "host").iter().all(|h| h == "deb.debian.org"));
    assert!(column(http, "user_agent")[0].starts_with("Debian APT-HTTP/1.3"));
    assert!(column(tcp, "src_ip").contains(&"fe80::42:95ff:fea2:534a".to_string()));
    let bytes: i64 = column(tcp, "bytes_in")
        .iter()
        .map(|b| b.parse::<i64>().unwrap())
        .sum();
    assert!(bytes > 10_000_000, "{bytes}");

    // The 15-minute aggregates kept live equal a rebuild from the raw rows.
    for dns in [true, false] {
        let live = aggregate_rows(&app, s.tenant, dns).await;
        assert!(!live.is_empty());
        let mut tx = app.state.db.begin().await.unwrap();
        let agg = if dns {
            &aggregates::DNS
        } else {
            &aggregates::TCP
        };
        aggregates::rebuild(&mut tx, agg, s.tenant, 0, i64::MAX / 2)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(live, aggregate_rows(&app, s.tenant, dns).await);
    }
}

#[tokio::test]
async fn zeek_logs_fill_datasets_devices_and_services() {
    let app = app().await;
    let s = sensor(&app, "default", "zeek-1").await;
    let r = post(&app, &s, "zeek", ZEEK).await;
    assert_eq!(counts(&r), (7, 2, 0));

    let devices = get(&app, &app.key, "/api/v1/devices?sort=mac").await;
    let devices = devices["devices"].as_array().unwrap().clone();
    assert_eq!(devices.len(), 2, "{devices:?}");
    // The DHCP client, named by its lease.
    let desk = &devices[0];
    assert_eq!(desk["mac"], "00:0C:29:E8:A4:11");
    assert_eq!(desk["last_ip"], "192.168.4.76");
    assert_eq!(desk["hostname"], "ubuntu-desk");
    assert_eq!(desk["vendor"], "VMware, Inc.");
    assert_eq!(desk["first_seen"], "2020-06-05 14:39:50");
    // The router, from the link-layer addresses Zeek logged on a connection.
    let router = &devices[1];
    assert_eq!(router["mac"], "00:1B:21:3A:4F:01");
    assert_eq!(router["last_ip"], "192.168.4.1");
    assert_eq!(router["vendor"], "Intel Corporate");

    // 22/tcp and 53/udp answered; 23/tcp did not (S0); 80/tcp is on the Internet.
    let services = get(&app, &app.key, "/api/v1/services").await;
    let services = services["services"].as_array().unwrap();
    assert_eq!(services.len(), 1);
    assert_eq!(services[0]["service_ip"], "192.168.4.1");
    let ports = |p: &str| -> Vec<i64> {
        services[0][p]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["port"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        (ports("tcp_ports"), ports("udp_ports")),
        (vec![22], vec![53])
    );

    let zip = export(
        &app,
        &app.key,
        &[
            "dns_metadata",
            "http_metadata",
            "tcp_metadata",
            "dhcp_metadata",
        ],
    )
    .await;
    assert_eq!(column(&zip["metadata_dns.csv"], "query"), ["testmyids.com"]);
    assert_eq!(column(&zip["metadata_dns.csv"], "qtype"), ["A"]);
    assert_eq!(column(&zip["httpflow.csv"], "uri"), ["/"]);
    assert_eq!(column(&zip["httpflow.csv"], "status"), ["200"]);
    assert_eq!(column(&zip["dhcpflow.csv"], "hostname"), ["ubuntu-desk"]);
    assert_eq!(column(&zip["dhcpflow.csv"], "mac"), ["00:0C:29:E8:A4:11"]);
    let tcp = &zip["metadata_connections.csv"];
    assert_eq!(tcp.len() - 1, 4);
    assert!(column(tcp, "proto").contains(&"udp".to_string()));
    assert!(column(tcp, "duration_ms").contains(&"12482".to_string()));
}

#[tokio::test]
async fn syslog_lines_of_both_rfcs_are_accepted() {
    let app = app().await;
    let s = sensor(&app, "default", "relay").await;
    let mut body = AUTH.to_string();
    body.push_str("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick on /dev/pts/8\n");
    body.push_str("this is not a syslog line\n");
    let r = post(&app, &s, "syslog", &body).await;
    assert_eq!(counts(&r), (11, 0, 1));
    assert_eq!(r["errors"][0]["line"], 12);
    assert!(r["errors"][0]["error"]
        .as_str()
        .unwrap()
        .contains("not a syslog line"));
}

#[tokio::test]
async fn gzip_bodies_and_their_limits() {
    let app = spawn_with(|c| c.body_limit_bytes = 64 * 1024, None).await;
    let s = sensor(&app, "default", "s1").await;
    let zipped = gzip(ZEEK.as_bytes());
    let r = json(
        post_with(&app, &s, "zeek", zipped, &[("content-encoding", "gzip")]).await,
        200,
    )
    .await;
    assert_eq!(counts(&r), (7, 2, 0));

    // A bomb: a valid first member, then 1 GiB of zeros as a thousand small members. The
    // body is ~1 MB on the wire; decoding stops at the limit: 413, and nothing is stored.
    let line = r#"{"timestamp":"2024-01-01T00:00:00Z","event_type":"http","src_ip":"10.9.9.9","http":{"hostname":"bomb.example"}}"#;
    let mut bomb = gzip(format!("{line}\n").as_bytes());
    let zeros = {
        let mut e = GzEncoder::new(Vec::new(), Compression::best());
        e.write_all(&vec![0u8; 1 << 20]).unwrap();
        e.finish().unwrap()
    };
    for _ in 0..1024 {
        bomb.extend_from_slice(&zeros);
    }
    let limit = 2 * 1024 * 1024;
    let app2 = spawn_with(move |c| c.body_limit_bytes = limit, None).await;
    let s2 = sensor(&app2, "default", "s2").await;
    assert!(bomb.len() < limit, "the compressed bomb fits the limit");
    let res = post_with(&app2, &s2, "eve", bomb, &[("content-encoding", "gzip")]).await;
    network_error(res, 413, "after decompression").await;
    let zip = export(&app2, &app2.key, &["http_metadata"]).await;
    assert_eq!(zip["httpflow.csv"].len(), 1, "only the header");

    // Too large as sent; an encoding Picket does not read; gzip that is not.
    let big = "x".repeat(65 * 1024);
    network_error(
        post_with(&app, &s, "syslog", big.into_bytes(), &[]).await,
        413,
        "limit",
    )
    .await;
    network_error(
        post_with(
            &app,
            &s,
            "eve",
            b"{}".to_vec(),
            &[("content-encoding", "br")],
        )
        .await,
        415,
        "content-encoding",
    )
    .await;
    network_error(
        post_with(
            &app,
            &s,
            "eve",
            b"{}\n".to_vec(),
            &[("content-encoding", "gzip")],
        )
        .await,
        400,
        "gzip",
    )
    .await;
}

#[tokio::test]
async fn bad_lines_are_rejected_one_by_one_and_the_good_kept() {
    let app = app().await;
    let s = sensor(&app, "default", "s").await;
    let good = |host: &str| {
        format!(
            r#"{{"timestamp":"2024-01-01T00:00:00Z","event_type":"http","src_ip":"10.0.0.9","dest_ip":"93.184.216.34","dest_port":80,"http":{{"hostname":"{host}","url":"/"}}}}"#
        )
    };
    let body = [
        good("one.example"),
        "{\"event_type\":".to_string(),
        good("two.example"),
        r#"{"timestamp":"2024-01-01T00:00:00Z","event_type":"http","src_ip":"not-an-ip","http":{}}"#.to_string(),
        r#"{"timestamp":"yesterday","event_type":"dns","dns":{}}"#.to_string(),
        r#"{"timestamp":"2024-01-01T00:00:00Z","event_type":"tls","tls":{"sni":"x"}}"#.to_string(),
        good("three.example"),
    ]
    .join("\n");
    let r = post(&app, &s, "eve", &body).await;
    assert_eq!(counts(&r), (3, 1, 3));
    let errors = r["errors"].as_array().unwrap();
    let lines: Vec<i64> = errors.iter().map(|e| e["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, [2, 4, 5]);
    assert!(errors[0]["error"]
        .as_str()
        .unwrap()
        .contains("not valid EVE JSON"));
    assert!(errors[1]["error"]
        .as_str()
        .unwrap()
        .contains("`src_ip` is not an IP address"));
    assert!(errors[2]["error"].as_str().unwrap().contains("`timestamp`"));
    let zip = export(&app, &app.key, &["http_metadata"]).await;
    let mut hosts = column(&zip["httpflow.csv"], "host");
    hosts.sort();
    assert_eq!(hosts, ["one.example", "three.example", "two.example"]);

    // However many lines are bad, the answer lists 100 and counts them all.
    let bad = "nope\n".repeat(150);
    let r = post(&app, &s, "eve", &bad).await;
    assert_eq!(counts(&r), (0, 0, 150));
    assert_eq!(r["errors"].as_array().unwrap().len(), 100);
    assert_eq!(r["errors"][99]["line"], 100);
}

#[tokio::test]
async fn a_retried_batch_is_stored_once() {
    let app = app().await;
    let s = sensor(&app, "default", "s").await;
    let other = sensor(&app, "default", "other").await;
    let alert = r#"{"timestamp":"2024-01-01T00:00:00Z","flow_id":5,"event_type":"alert","src_ip":"10.0.0.9","src_port":4444,"dest_ip":"10.0.0.5","dest_port":445,"proto":"TCP","alert":{"signature":"ET EXPLOIT probe","signature_id":1,"category":"Attempted Administrator Privilege Gain","severity":1}}
not json"#;
    let key = [("idempotency-key", "spool-7:inode-42:0-1234")];
    let first = json(post_with(&app, &s, "eve", alert.into(), &key).await, 200).await;
    assert_eq!(counts(&first), (1, 0, 1));
    assert_eq!(first["duplicate"], false);
    for _ in 0..2 {
        let again = json(post_with(&app, &s, "eve", alert.into(), &key).await, 200).await;
        assert_eq!(again["duplicate"], true);
        assert_eq!(counts(&again), (1, 0, 1));
        assert_eq!(again["errors"], first["errors"]);
    }
    let list = alerts(&app, &app.key).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["level"], 30, "severity 1 is high");
    // The key is the sending agent's: another agent's batch with it is its own.
    let theirs = json(
        post_with(&app, &other, "eve", alert.into(), &key).await,
        200,
    )
    .await;
    assert_eq!(theirs["duplicate"], false);
    assert_eq!(alerts(&app, &app.key).await.len(), 2);
    // A key that is no key.
    let long = "k".repeat(201);
    network_error(
        post_with(
            &app,
            &s,
            "eve",
            alert.into(),
            &[("idempotency-key", long.as_str())],
        )
        .await,
        400,
        "Idempotency-Key",
    )
    .await;
}

#[tokio::test]
async fn only_agent_tokens_reach_ingest_and_only_there() {
    let app = app().await;
    let s = sensor(&app, "default", "s").await;
    let line = r#"{"timestamp":"2024-01-01T00:00:00Z","event_type":"http","http":{}}"#;
    for path in ["eve", "zeek", "syslog", "pcap?flow_id=1"] {
        let url = app.url(&format!("/api/agent/v1/{path}"));
        let res = app.client.post(&url).body(line).send().await.unwrap();
        network_error(res, 401, "agent token").await;
        let res = app
            .client
            .post(&url)
            .bearer_auth(&app.key)
            .body(line)
            .send()
            .await
            .unwrap();
        network_error(res, 401, "invalid").await;
    }
    // The agent token on the public surfaces.
    let res = app
        .req_as(&s.token, Method::GET, "/api/v1/devices")
        .send()
        .await
        .unwrap();
    network_error(res, 401, "").await;
    let res = app
        .req_as(&s.token, Method::GET, "/v1/assets")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // Revoked: refused from then on.
    post(&app, &s, "eve", line).await;
    let agents = store::list_agents(&app.state.db, Some(s.tenant))
        .await
        .unwrap();
    let id = agents.iter().find(|a| a.name == s.name).unwrap().id;
    assert!(store::revoke_agent(&app.state.db, id).await.unwrap());
    network_error(
        post_with(&app, &s, "eve", line.into(), &[]).await,
        401,
        "revoked",
    )
    .await;
}

fn eve_alert(flow: i64, sid: i64) -> String {
    format!(
        r#"{{"timestamp":"2024-03-01T10:00:0{sid}Z","flow_id":{flow},"event_type":"alert","src_ip":"10.0.0.9","src_port":51000,"dest_ip":"198.51.100.7","dest_port":80,"proto":"TCP","app_proto":"http","alert":{{"signature":"Test signature {sid}","signature_id":{sid},"category":"Misc activity","severity":2}}}}"#
    )
}

async fn download(app: &TestApp, alert: i64) -> Vec<u8> {
    let res = app
        .get(&format!("/api/v1/networkalerts/{alert}/pcap"))
        .await;
    assert_eq!(res.status(), 200);
    res.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn captures_attach_whether_they_come_before_or_after_the_alert() {
    let app = app().await;
    let s = sensor(&app, "default", "s").await;
    let other = sensor(&app, "default", "other").await;

    // After: the flow's alerts are there; the capture goes to its first one, once.
    post(
        &app,
        &s,
        "eve",
        &format!("{}\n{}", eve_alert(77, 1), eve_alert(77, 2)),
    )
    .await;
    let up = json(
        post_with(&app, &s, "pcap?flow_id=77", PCAP.to_vec(), &[]).await,
        200,
    )
    .await;
    let list = alerts(&app, &app.key).await;
    let first = list[0]["id"].as_i64().unwrap();
    assert_eq!(
        up,
        json!({"flow_id": 77, "attached": [first], "pending": false})
    );
    assert_eq!(download(&app, first).await, PCAP);
    let again = json(
        post_with(&app, &s, "pcap?flow_id=77", PCAP.to_vec(), &[]).await,
        200,
    )
    .await;
    assert_eq!(again["attached"], json!([]));
    let list = alerts(&app, &app.key).await;
    assert!(list[0]["pcap_id"].is_i64() && list[1]["pcap_id"].is_null());

    // Before: the capture waits (gzip on the wire), and the alert finds it when it arrives;
    // another agent's alert of the same flow id does not.
    let up = json(
        post_with(
            &app,
            &s,
            &format!("pcap?flow_id={SAMPLE_FLOW}"),
            gzip(PCAP),
            &[("content-encoding", "gzip")],
        )
        .await,
        200,
    )
    .await;
    assert_eq!(up["pending"], true);
    post(&app, &other, "eve", &eve_alert(SAMPLE_FLOW, 3)).await;
    post(&app, &s, "eve", EVE).await;
    let list = alerts(&app, &app.key).await;
    let theirs = list.iter().find(|a| a["agent_name"] == "other").unwrap();
    assert!(theirs["pcap_id"].is_null());
    let sample: Vec<&Value> = list
        .iter()
        .filter(|a| {
            a["agent_name"] == "s" && a["subject"].as_str().unwrap().starts_with("ET POLICY")
        })
        .collect();
    assert_eq!(sample.len(), 68);
    let with: Vec<&&Value> = sample.iter().filter(|a| a["pcap_id"].is_i64()).collect();
    assert_eq!(with.len(), 1, "one capture for the flow");
    assert_eq!(download(&app, with[0]["id"].as_i64().unwrap()).await, PCAP);

    // Refusals.
    network_error(
        post_with(&app, &s, "pcap", PCAP.to_vec(), &[]).await,
        400,
        "flow_id",
    )
    .await;
    network_error(
        post_with(&app, &s, "pcap?flow_id=abc", PCAP.to_vec(), &[]).await,
        400,
        "flow_id",
    )
    .await;
    network_error(
        post_with(
            &app,
            &s,
            "pcap?flow_id=1",
            b"GIF89a not a capture at all".to_vec(),
            &[],
        )
        .await,
        400,
        "packet capture",
    )
    .await;
}

fn dhcp_ack(mac: &str, ip: &str, host: &str, at: &str) -> String {
    format!(
        r#"{{"timestamp":"{at}","event_type":"dhcp","src_ip":"10.0.0.1","dest_ip":"{ip}","proto":"UDP","dhcp":{{"type":"reply","client_mac":"{mac}","assigned_ip":"{ip}","client_ip":"0.0.0.0","dhcp_type":"ack","hostname":"{host}"}}}}"#
    )
}

#[tokio::test]
async fn new_devices_alert_at_their_networks_level() {
    let app = app().await;
    let s = sensor(&app, "default", "s").await;
    for (name, cidr, alert) in [
        ("Office LAN", "10.0.0.0/24", 30),
        ("Guests", "10.0.9.0/24", 0),
    ] {
        let res = app
            .send_json(
                Method::POST,
                "/api/v1/networks",
                &json!({"name": name, "cidr": cidr, "alert": alert}),
            )
            .await;
        json(res, 201).await;
    }
    let body = [
        dhcp_ack(
            "3c:22:fb:01:02:03",
            "10.0.0.23",
            "laptop-7",
            "2024-05-01T10:00:00Z",
        ),
        dhcp_ack(
            "3c:22:fb:01:02:99",
            "10.0.9.50",
            "visitor",
            "2024-05-01T10:01:00Z",
        ),
        dhcp_ack(
            "3c:22:fb:01:02:77",
            "192.168.50.2",
            "elsewhere",
            "2024-05-01T10:02:00Z",
        ),
    ]
    .join("\n");
    assert_eq!(counts(&post(&app, &s, "eve", &body).await), (3, 0, 0));
    let list = alerts(&app, &app.key).await;
    assert_eq!(
        list.len(),
        1,
        "Guests alert at 0, no network: no alert; {list:?}"
    );
    let a = &list[0];
    assert_eq!(a["type"], "new_device");
    assert_eq!(a["level"], 30);
    assert_eq!(a["src_mac"], "3C:22:FB:01:02:03");
    assert_eq!(a["src_ip"], "10.0.0.23");
    assert_eq!(a["src_hostname"], "laptop-7");
    assert_eq!(a["src_network_name"], "Office LAN");
    assert_eq!(a["timestamp"], "2024-05-01 10:00:00");
    assert!(a["message"]
        .as_str()
        .unwrap()
        .contains("hostname: laptop-7"));
    // Seen again, with a new address: the same device, no new alert.
    post(
        &app,
        &s,
        "eve",
        &dhcp_ack(
            "3c:22:fb:01:02:03",
            "10.0.0.24",
            "laptop-7",
            "2024-05-02T09:00:00Z",
        ),
    )
    .await;
    assert_eq!(alerts(&app, &app.key).await.len(), 1);
    let devices = get(&app, &app.key, "/api/v1/devices?sort=mac").await;
    let d = &devices["devices"][0];
    assert_eq!(d["last_ip"], "10.0.0.24");
    assert_eq!(d["first_seen"], "2024-05-01 10:00:00");
    assert_eq!(d["last_seen"], "2024-05-02 09:00:00");
    assert_eq!(devices["total_rows"], 3);
}

fn conn(resp: &str, port: u16, ts: f64) -> String {
    format!(
        r#"{{"_path":"conn","ts":{ts},"uid":"C{port}","id.orig_h":"10.0.0.9","id.orig_p":50000,"id.resp_h":"{resp}","id.resp_p":{port},"proto":"tcp","duration":1.5,"orig_bytes":100,"resp_bytes":200,"conn_state":"SF","history":"ShADadFf","orig_pkts":5,"resp_pkts":5}}"#
    )
}

#[tokio::test]
async fn new_services_alert_unless_allowed() {
    let app = app().await;
    let s = sensor(&app, "default", "s").await;
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/services/authorize",
            &json!({"service_ip": "10.0.0.6", "service_port": 443, "proto": "tcp", "name": "intranet"}),
        )
        .await;
    json(res, 200).await;
    let body = [
        conn("10.0.0.5", 22, 1714557600.0),
        conn("10.0.0.5", 22, 1714557700.0),
        conn("10.0.0.6", 443, 1714557650.0),
    ]
    .join("\n");
    post(&app, &s, "zeek", &body).await;
    let list = alerts(&app, &app.key).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let a = &list[0];
    assert_eq!(a["type"], "new_service");
    assert_eq!(a["level"], 20);
    assert_eq!(
        (&a["dst_ip"], &a["dst_port"]),
        (&json!("10.0.0.5"), &json!(22))
    );
    assert_eq!(a["src_ip"], "10.0.0.9");
    assert_eq!(a["subject"], "New service 10.0.0.5:22/tcp");
    let services = get(&app, &app.key, "/api/v1/services").await;
    let groups = services["services"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["first_seen"], "2024-05-01 10:00:00");
    assert_eq!(groups[0]["last_seen"], "2024-05-01 10:01:40");
    assert_eq!(groups[1]["authorized"], true);
    // Seen again later: known, no second alert.
    post(&app, &s, "zeek", &conn("10.0.0.5", 22, 1714560000.0)).await;
    assert_eq!(alerts(&app, &app.key).await.len(), 1);
}

// A local HTTP sink that records the webhooks it receives.
#[derive(Clone, Default)]
struct Sink {
    got: Arc<Mutex<Vec<Value>>>,
}

impl Sink {
    async fn start(&self) -> SocketAddr {
        let got = self.got.clone();
        let app = axum::Router::new().fallback(move |body: Bytes| {
            let got = got.clone();
            async move {
                got.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap());
                axum::http::StatusCode::OK
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }
}

#[tokio::test]
async fn a_subscribed_webhook_hears_of_ingested_alerts() {
    let app = app().await;
    let s = sensor(&app, "default", "office").await;
    let sink = Sink::default();
    let addr = sink.start().await;
    let res = app
        .send_json(
            Method::POST,
            "/v1/webhooks",
            &json!({"url": format!("http://{addr}/net"), "secret": "whsec-0123456789abcdef",
                "event_types": ["network_alert.created"], "min_level": 20}),
        )
        .await;
    json(res, 201).await;
    let low = r#"{"timestamp":"2024-01-01T00:00:00Z","event_type":"anomaly","src_ip":"10.0.0.9","dest_ip":"10.0.0.5","proto":"TCP","anomaly":{"type":"stream","event":"STREAM_FIN_OUT_OF_WINDOW","layer":"ltcp"}}"#;
    let body = format!("{}\n{low}", eve_alert(9, 2));
    post(&app, &s, "eve", &body).await;
    run_pending_jobs(&app.state).await.unwrap();
    let got = sink.got.lock().unwrap().clone();
    assert_eq!(
        got.len(),
        1,
        "the level-10 anomaly is under the hook's minimum: {got:?}"
    );
    assert_eq!(got[0]["type"], "network_alert.created");
    let data = &got[0]["data"];
    let list = alerts(&app, &app.key).await;
    let stored = list.iter().find(|a| a["type"] == "ids").unwrap();
    assert_eq!(
        data, stored,
        "the webhook gets the alert as the API answers it"
    );
    assert_eq!(data["agent_name"], "office");
    let anomaly = list.iter().find(|a| a["type"] == "anomaly").unwrap();
    assert_eq!(anomaly["level"], 10);
    assert_eq!(
        anomaly["subject"],
        "stream anomaly: STREAM_FIN_OUT_OF_WINDOW"
    );
}

#[tokio::test]
async fn metrics_count_lines_alerts_and_spool_depth() {
    let app = app().await;
    let s = sensor(&app, "default", "s").await;
    let res = post_with(
        &app,
        &s,
        "eve",
        EVE.as_bytes().to_vec(),
        &[("x-picket-spool-depth", "17")],
    )
    .await;
    json(res, 200).await;
    post(&app, &s, "syslog", "nonsense\n").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    for line in [
        r#"picket_ingest_lines_total{source="eve",outcome="accepted"} 197"#,
        r#"picket_ingest_lines_total{source="eve",outcome="skipped"} 69"#,
        r#"picket_ingest_lines_total{source="syslog",outcome="rejected"} 1"#,
        r#"picket_ingest_alerts_total{surface="network",alert_type="ids"} 68"#,
        r#"picket_ingest_batches_total{source="eve",outcome="stored"} 1"#,
        r#"picket_ingest_batch_duration_seconds_count{source="eve"} 1"#,
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    let spool = format!(r#"picket_ingest_spool_depth{{agent="{}"}} 17"#, s.agent);
    assert!(text.contains(&spool), "{spool}");
}

#[tokio::test]
async fn another_tenant_sees_none_of_it() {
    let app = app().await;
    let alpha = sensor(&app, "alpha", "alpha-sensor").await;
    let alpha_key = admin_of(&app, "alpha").await;
    let bravo_key = app
        .tenant_key("bravo", Some(&[Perm::AlertsR, Perm::DevicesR, Perm::DataR]))
        .await;
    post(&app, &alpha, "eve", EVE).await;
    post(&app, &alpha, "zeek", ZEEK).await;
    // The sample's 68 signature alerts and three new services (one from EVE, two from Zeek).
    assert_eq!(alerts(&app, &alpha_key).await.len(), 71);
    assert!(alerts(&app, &bravo_key).await.is_empty());
    assert!(
        alerts(&app, &app.key).await.is_empty(),
        "nor the default tenant"
    );
    let devices = get(&app, &bravo_key, "/api/v1/devices").await;
    assert_eq!(devices["total_rows"], 0);
    let services = get(&app, &bravo_key, "/api/v1/services").await;
    assert_eq!(services["services"], json!([]));
    let zip = export(
        &app,
        &bravo_key,
        &[
            "dns_metadata",
            "http_metadata",
            "tcp_metadata",
            "dhcp_metadata",
        ],
    )
    .await;
    assert!(zip.values().all(|csv| csv.len() == 1), "headers only");
    let alpha_devices = get(&app, &alpha_key, "/api/v1/devices").await;
    assert_eq!(alpha_devices["total_rows"], 2);
    // A capture from bravo's sensor naming alpha's flow waits for bravo's own alert.
    let bravo = sensor(&app, "bravo", "bravo-sensor").await;
    let up = json(
        post_with(
            &app,
            &bravo,
            &format!("pcap?flow_id={SAMPLE_FLOW}"),
            PCAP.to_vec(),
            &[],
        )
        .await,
        200,
    )
    .await;
    assert_eq!(up["pending"], true);
    assert!(alerts(&app, &alpha_key)
        .await
        .iter()
        .all(|a| a["pcap_id"].is_null()));
    // And a retried batch key of alpha's is no duplicate for bravo.
    let key = [("idempotency-key", "same-key")];
    let a = json(
        post_with(&app, &alpha, "syslog", AUTH.into(), &key).await,
        200,
    )
    .await;
    let b = json(
        post_with(&app, &bravo, "syslog", AUTH.into(), &key).await,
        200,
    )
    .await;
    assert_eq!(
        (&a["duplicate"], &b["duplicate"]),
        (&json!(false), &json!(false))
    );
}
