//! Detections over ingest batches (§10.3), run the way the batch writer runs them: records
//! of one batch through `picket_sensor::detect::run` inside the batch's transaction, the
//! alerts found stored with it, then read back through `/api/v1/networkalerts` and
//! `/api/v1/serveralerts`. The syslog lines are the real auth sample
//! (`tests/fixtures/network/SOURCES.md`); flows are shaped like an nmap SYN scan and ordinary
//! browsing. Windows span batches, stay per tenant, and each burst alerts once.

use picket_core::identity::{store, AgentPrincipal};
use picket_netmon::alerts::{insert_network_alert, insert_server_alert};
use picket_sensor::detect;
use picket_sensor::record::{Dns, Endpoints, Flow, Record, Syslog, Transport};
use serde_json::Value;

use crate::helpers::{json, spawn, spawn_with, TestApp};
use crate::netmon_devices::utc;

pub(crate) const AUTH_LOG: &str = include_str!("../fixtures/network/auth-beats.log");

/// A registered sensor of `tenant` (created if needed), as ingest authenticates it.
pub(crate) async fn agent(app: &TestApp, tenant: &str, name: &str) -> AgentPrincipal {
    let db = &app.state.db;
    let t = crate::helpers::tenant_or_create(db, tenant).await;
    let (a, _token) = store::create_agent(db, t.id, name).await.unwrap();
    AgentPrincipal {
        id: a.id,
        tenant_id: a.tenant_id,
        name: a.name,
        agent: a.agent,
    }
}

/// What the batch writer does with detections: run them in the batch's transaction and store
/// what they found with it. Returns (network, server) alerts stored.
pub(crate) async fn batch(
    app: &TestApp,
    agent: &AgentPrincipal,
    records: &[Record],
) -> (usize, usize) {
    let mut tx = app.state.db.begin().await.unwrap();
    let found = detect::run(&mut tx, &app.state, agent, records)
        .await
        .unwrap();
    for a in &found.network {
        insert_network_alert(&mut tx, agent.tenant_id, a)
            .await
            .unwrap();
    }
    for a in &found.server {
        insert_server_alert(&mut tx, agent.tenant_id, a)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    (found.network.len(), found.server.len())
}

/// An RFC 3164 line as the syslog parser makes it (`MMM dd hh:mm:ss host tag[pid]: msg`),
/// at `ts`.
pub(crate) fn syslog(line: &str, ts: i64) -> Record {
    let rest = &line[16..];
    let (hostname, rest) = rest.split_once(' ').unwrap();
    let (tag, message) = rest.split_once(": ").unwrap();
    let (app, pid) = match tag.split_once('[') {
        Some((app, pid)) => (app, pid.trim_end_matches(']').parse().ok()),
        None => (tag, None),
    };
    Record::Syslog(Syslog {
        ts,
        hostname: hostname.into(),
        app: app.into(),
        pid,
        message: message.into(),
        line: line.into(),
    })
}

pub(crate) fn endpoints(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    proto: Transport,
) -> Endpoints {
    Endpoints {
        src_ip: Some(src.parse().unwrap()),
        src_port: sport,
        dst_ip: Some(dst.parse().unwrap()),
        dst_port: dport,
        proto,
        src_mac: None,
        dst_mac: None,
    }
}

pub(crate) fn flow(ts: i64, src: &str, dst: &str, dport: u16, established: bool) -> Record {
    Record::Flow(Flow {
        ts,
        at: endpoints(
            src,
            40_000 + (ts % 20_000) as u16,
            dst,
            dport,
            Transport::Tcp,
        ),
        bytes_out: 74,
        bytes_in: if established { 5_120 } else { 60 },
        packets_out: 1,
        packets_in: i64::from(established) * 4 + 1,
        duration_ms: 2,
        established,
        flow_id: Some(1_000_000 + ts),
    })
}

pub(crate) fn dns_query(ts: i64, client: &str, resolver: &str, query: &str) -> Record {
    Record::Dns(Dns {
        ts,
        at: endpoints(client, 50_000, resolver, 53, Transport::Udp),
        qtype: "A".into(),
        query: query.into(),
        answer: String::new(),
        rcode: String::new(),
    })
}

async fn list(app: &TestApp, key: &str, path: &str) -> Vec<Value> {
    json(
        app.get(&format!("{path}?page_size=500&sort=id&order=asc"))
            .await,
        200,
    )
    .await[key]
        .as_array()
        .unwrap()
        .clone()
}

pub(crate) async fn network_alerts(app: &TestApp) -> Vec<Value> {
    list(app, "network_alerts", "/api/v1/networkalerts").await
}

pub(crate) async fn server_alerts(app: &TestApp) -> Vec<Value> {
    list(app, "server_alerts", "/api/v1/serveralerts").await
}

/// The 10 sample lines a second apart from 2026-02-20 08:00 UTC.
fn auth_sample() -> Vec<Record> {
    let start = utc("2026-02-20 08:00:00");
    AUTH_LOG
        .lines()
        .enumerate()
        .map(|(i, l)| syslog(l, start + i as i64 * 1000))
        .collect()
}

#[tokio::test]
async fn the_auth_sample_becomes_server_alerts() {
    let app = spawn().await;
    let sensor = agent(&app, "default", "syslog-relay").await;
    assert_eq!(batch(&app, &sensor, &auth_sample()).await, (0, 6));
    let alerts = server_alerts(&app).await;
    let got: Vec<(&str, i64, &str, &str)> = alerts
        .iter()
        .map(|a| {
            (
                a["type"].as_str().unwrap(),
                a["level"].as_i64().unwrap(),
                a["hostname"].as_str().unwrap(),
                a["title"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "sshd_invalid_user",
                10,
                "localhost",
                "SSH login for invalid user test from 10.0.2.2"
            ),
            (
                "sshd_failed_password",
                10,
                "slave22",
                "SSH failed password for root from 216.160.83.57"
            ),
            (
                "sshd_no_identification",
                10,
                "slave22",
                "SSH connection from 2.125.160.217 sent no identification string"
            ),
            (
                "sudo_not_in_sudoers",
                30,
                "precise32",
                "sudo: tsg is not in sudoers (as root): /bin/ls"
            ),
            (
                "group_created",
                10,
                "localhost",
                "New group apache (GID 48)"
            ),
            ("user_created", 20, "localhost", "New user apache (UID 48)"),
        ]
    );
    let a = &alerts[1];
    assert_eq!(a["timestamp"], "2026-02-20 08:00:03");
    assert_eq!(a["agent"], sensor.agent.as_str());
    assert_eq!(a["agent_name"], "syslog-relay");
    assert_eq!(a["line"], AUTH_LOG.lines().nth(3).unwrap());
    // The rule pack's types are searchable like any other.
    let res = app
        .send_json(
            reqwest::Method::POST,
            "/api/v1/serveralerts/search",
            &serde_json::json!({"filters": {"type": ["sudo_not_in_sudoers", "user_created"]}}),
        )
        .await;
    assert_eq!(json(res, 200).await["total_rows"], 2);
}

#[tokio::test]
async fn failed_passwords_from_one_source_are_one_brute_force_per_burst() {
    let app = spawn().await;
    let sensor = agent(&app, "default", "syslog-relay").await;
    let line = AUTH_LOG.lines().nth(3).unwrap();
    let start = utc("2026-02-20 08:35:22");
    // Twelve failures 20 s apart, over three batches: one burst.
    for chunk in (0..12).collect::<Vec<i64>>().chunks(4) {
        let records: Vec<Record> = chunk
            .iter()
            .map(|i| syslog(line, start + i * 20_000))
            .collect();
        batch(&app, &sensor, &records).await;
    }
    // Ten minutes of quiet, then five more: a second burst.
    let later = start + 11 * 20_000 + 600_000;
    let records: Vec<Record> = (0..5).map(|i| syslog(line, later + i * 1000)).collect();
    batch(&app, &sensor, &records).await;

    let alerts = server_alerts(&app).await;
    let brute: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["type"] == "bruteforce")
        .collect();
    assert_eq!(brute.len(), 2, "{alerts:#?}");
    assert_eq!(
        brute[0]["title"],
        "Brute force from 216.160.83.57: 5 authentication failures within 300 s (users root)"
    );
    assert_eq!(brute[0]["level"], 30);
    assert_eq!(brute[0]["hostname"], "slave22");
    assert_eq!(
        brute[0]["timestamp"], "2026-02-20 08:36:42",
        "the fifth failure"
    );
    assert_eq!(brute[0]["line"], line);
    assert_eq!(
        alerts
            .iter()
            .filter(|a| a["type"] == "sshd_failed_password")
            .count(),
        17
    );

    // Fewer than five within five minutes from another source: none.
    let other = line.replace("216.160.83.57", "198.51.100.23");
    let slow: Vec<Record> = (0..6).map(|i| syslog(&other, later + i * 90_000)).collect();
    batch(&app, &sensor, &slow).await;
    let brute = server_alerts(&app)
        .await
        .iter()
        .filter(|a| a["type"] == "bruteforce")
        .count();
    assert_eq!(brute, 2);
}

/// nmap's SYN scan of one host's 100 lowest ports, 20 ms apart; 22 and 80 answer.
fn syn_scan(start: i64, src: &str, dst: &str) -> Vec<Record> {
    (1..=100u16)
        .map(|p| {
            flow(
                start + i64::from(p) * 20,
                src,
                dst,
                p,
                [22, 80].contains(&p),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_port_scan_is_one_network_alert_and_browsing_is_none() {
    let app = spawn().await;
    let sensor = agent(&app, "default", "sensor-office").await;
    let start = utc("2026-06-03 10:30:00");
    let scan = syn_scan(start, "192.168.56.20", "10.0.0.5");
    // Split over two batches: the window spans them.
    batch(&app, &sensor, &scan[..10]).await;
    batch(&app, &sensor, &scan[10..]).await;
    // A workstation opening a page: 40 answered connections to 40 hosts, and their lookups.
    let mut browsing = Vec::new();
    for h in 0..40 {
        browsing.push(dns_query(
            start + h * 100,
            "10.0.0.23",
            "10.0.0.1",
            &format!("cdn{h}.example.net"),
        ));
        browsing.push(flow(
            start + h * 100 + 5,
            "10.0.0.23",
            &format!("198.51.100.{h}"),
            443,
            true,
        ));
    }
    batch(&app, &sensor, &browsing).await;

    let alerts = network_alerts(&app).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    assert_eq!(a["type"], "portscan");
    assert_eq!(a["level"], 30);
    assert_eq!(a["src_ip"], "192.168.56.20");
    assert_eq!(a["dst_ip"], "10.0.0.5");
    assert_eq!(
        a["timestamp"], "2026-06-03 10:30:00",
        "the 20th port, 400 ms in"
    );
    assert_eq!(a["subject"], "Port scan from 192.168.56.20");
    let message = a["message"].as_str().unwrap();
    assert!(
        message.starts_with("192.168.56.20 reached 20 destination ports within 60 s, last 10.0.0.5:20/tcp; ports: 1, 2, 3,"),
        "{message}"
    );
    assert_eq!(a["agent_name"], "sensor-office");
    assert_eq!(
        (a["is_src_public_ip"].as_bool(), a["pcap_id"].is_null()),
        (Some(false), true)
    );

    // The same scan an hour later is a new burst.
    batch(
        &app,
        &sensor,
        &syn_scan(start + 3_600_000, "192.168.56.20", "10.0.0.5"),
    )
    .await;
    assert_eq!(network_alerts(&app).await.len(), 2);
}

#[tokio::test]
async fn windows_are_kept_per_tenant() {
    let app = spawn().await;
    let a = agent(&app, "acme", "sensor-a").await;
    let b = agent(&app, "globex", "sensor-b").await;
    let start = utc("2026-06-03 10:30:00");
    let scan = syn_scan(start, "203.0.113.66", "10.0.0.5");
    // Half of the ports in each tenant: neither saw a scan.
    batch(&app, &a, &scan[..15]).await;
    batch(&app, &b, &scan[15..30]).await;
    let line = AUTH_LOG.lines().nth(3).unwrap();
    batch(
        &app,
        &a,
        &(0..3).map(|i| syslog(line, start + i)).collect::<Vec<_>>(),
    )
    .await;
    batch(
        &app,
        &b,
        &(3..6).map(|i| syslog(line, start + i)).collect::<Vec<_>>(),
    )
    .await;
    let key_a = app.tenant_key("acme", None).await;
    let key_b = app.tenant_key("globex", None).await;
    for key in [key_a.clone(), key_b.clone()] {
        let n = json(
            app.req_as(&key, reqwest::Method::GET, "/api/v1/networkalerts")
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        assert_eq!(n["total_rows"], 0);
        let s = json(
            app.req_as(&key, reqwest::Method::GET, "/api/v1/serveralerts")
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        assert_eq!(s["total_rows"], 3, "three failed passwords, no brute force");
    }
    // The rest of the scan in tenant A: A's alert, in A only.
    batch(&app, &a, &scan[30..]).await;
    let get = |key: String| {
        let app = &app;
        async move {
            json(
                app.req_as(&key, reqwest::Method::GET, "/api/v1/networkalerts")
                    .send()
                    .await
                    .unwrap(),
                200,
            )
            .await
        }
    };
    assert_eq!(get(key_a).await["total_rows"], 1);
    assert_eq!(get(key_b).await["total_rows"], 0);
}

#[tokio::test]
async fn port_scan_and_brute_force_settings_are_honoured() {
    let app = spawn_with(
        |c| {
            c.detect.portscan.ports = 5;
            c.detect.portscan.window_secs = 10;
            c.detect.bruteforce.failures = 3;
            c.detect.bruteforce.window_secs = 30;
        },
        None,
    )
    .await;
    let sensor = agent(&app, "default", "sensor").await;
    let start = utc("2026-06-03 10:30:00");
    // Five ports within ten seconds: a scan; five ports over 20 s from another source: none.
    let fast: Vec<Record> = (1..=5u16)
        .map(|p| {
            flow(
                start + i64::from(p) * 1000,
                "192.0.2.1",
                "10.0.0.5",
                p,
                false,
            )
        })
        .collect();
    let slow: Vec<Record> = (1..=5u16)
        .map(|p| {
            flow(
                start + i64::from(p) * 4000,
                "192.0.2.2",
                "10.0.0.5",
                p,
                false,
            )
        })
        .collect();
    batch(&app, &sensor, &[fast, slow].concat()).await;
    let line = AUTH_LOG.lines().nth(3).unwrap();
    batch(
        &app,
        &sensor,
        &(0..3)
            .map(|i| syslog(line, start + i * 10_000))
            .collect::<Vec<_>>(),
    )
    .await;
    let n = network_alerts(&app).await;
    assert_eq!(n.len(), 1);
    assert_eq!(n[0]["src_ip"], "192.0.2.1");
    assert!(n[0]["message"].as_str().unwrap().contains("within 10 s"));
    let brute: Vec<Value> = server_alerts(&app)
        .await
        .into_iter()
        .filter(|a| a["type"] == "bruteforce")
        .collect();
    assert_eq!(brute.len(), 1);
    assert_eq!(
        brute[0]["title"],
        "Brute force from 216.160.83.57: 3 authentication failures within 30 s (users root)"
    );
}
