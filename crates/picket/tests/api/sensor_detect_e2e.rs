//! Detections end to end: EVE, Zeek and syslog batches posted to `/api/agent/v1/…` with an
//! agent token, the alerts read back through `/api/v1/networkalerts` and
//! `/api/v1/serveralerts`.

use picket_core::identity::store;
use picket_sensor::intel::{self, Format};
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{json, spawn_with, TestApp};

const AUTH: &str = include_str!("../fixtures/network/auth-beats.log");

async fn app() -> TestApp {
    spawn_with(|c| c.rate_limit.per_second = 0, None).await
}

/// A registered sensor's token in the default tenant.
async fn token(app: &TestApp) -> String {
    let db = &app.state.db;
    let t = crate::helpers::tenant(db, "default").await;
    store::create_agent(db, t.id, "sensor-office")
        .await
        .unwrap()
        .1
}

async fn post(app: &TestApp, token: &str, path: &str, body: String) -> Value {
    let res = app
        .req_as(token, Method::POST, &format!("/api/agent/v1/{path}"))
        .body(body)
        .send()
        .await
        .unwrap();
    let r = json(res, 200).await;
    assert_eq!(r["rejected"], 0, "{r}");
    r
}

async fn list(app: &TestApp, path: &str, key: &str) -> Vec<Value> {
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

fn eve_flow(second: u32, src: &str, dst: &str, port: u16, answered: bool) -> String {
    let (back, flags) = if answered { (4, "1b") } else { (1, "14") };
    format!(
        r#"{{"timestamp":"2026-06-03T10:30:{second:02}.000000+0000","flow_id":{id},"event_type":"flow","src_ip":"{src}","src_port":45000,"dest_ip":"{dst}","dest_port":{port},"proto":"TCP","flow":{{"pkts_toserver":1,"pkts_toclient":{back},"bytes_toserver":60,"bytes_toclient":54,"start":"2026-06-03T10:30:{second:02}.000000+0000","end":"2026-06-03T10:30:{second:02}.100000+0000","age":0,"state":"closed","reason":"timeout"}},"tcp":{{"tcp_flags":"16","tcp_flags_ts":"02","tcp_flags_tc":"{flags}"}}}}"#,
        id = 1_000_000 + u64::from(port) * 100 + u64::from(second),
    )
}

fn eve_dns(second: u32, client: &str, name: &str) -> String {
    format!(
        r#"{{"timestamp":"2026-06-03T10:31:{second:02}.000000+0000","flow_id":{second},"event_type":"dns","src_ip":"{client}","src_port":50000,"dest_ip":"10.0.0.1","dest_port":53,"proto":"UDP","dns":{{"type":"query","id":1,"rrname":"{name}","rrtype":"A","tx_id":0}}}}"#
    )
}

#[tokio::test]
async fn eve_scans_tor_and_misp_reach_the_network_alerts() {
    let app = app().await;
    let t = token(&app).await;
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/network");
    intel::import_path(
        &app.state.db,
        Format::Onionoo,
        "onionoo",
        &dir.join("onionoo-details.json"),
    )
    .await
    .unwrap();
    intel::import_path(
        &app.state.db,
        Format::MispJson,
        "circl",
        &dir.join("misp-feed"),
    )
    .await
    .unwrap();
    let mut lines: Vec<String> = (1..=30u16)
        .map(|p| eve_flow(u32::from(p), "192.168.56.20", "10.0.0.5", p, p == 22))
        .collect();
    lines.push(eve_flow(40, "10.0.0.23", "198.51.100.12", 443, true));
    lines.push(eve_flow(41, "10.0.0.23", "198.51.100.12", 443, true));
    lines.push(eve_dns(1, "10.0.0.23", "www.login-portal.test"));
    lines.push(eve_dns(2, "10.0.0.23", "www.example.org"));
    let r = post(&app, &t, "eve", lines.join("\n")).await;
    assert_eq!(r["accepted"], 34, "{r}");
    let alerts = list(&app, "/api/v1/networkalerts", "network_alerts").await;
    // (The scanned host's open port is also a new service: ingest's own alert.)
    let got: Vec<(&str, &str, &str)> = alerts
        .iter()
        .filter(|a| a["type"] != "new_service")
        .map(|a| {
            (
                a["type"].as_str().unwrap(),
                a["src_ip"].as_str().unwrap(),
                a["subject"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("portscan", "192.168.56.20", "Port scan from 192.168.56.20"),
            (
                "tor",
                "10.0.0.23",
                "Traffic to Tor exit relay 198.51.100.12"
            ),
            (
                "misp_dns",
                "10.0.0.23",
                "DNS query for MISP indicator www.login-portal.test"
            ),
        ],
        "{alerts:#?}"
    );
    let scan = alerts.iter().find(|a| a["type"] == "portscan").unwrap();
    assert_eq!(scan["timestamp"], "2026-06-03 10:30:20");
    assert_eq!(scan["agent_name"], "sensor-office");
}

#[tokio::test]
async fn zeek_rejected_connections_are_a_scan() {
    let app = app().await;
    let t = token(&app).await;
    let lines: Vec<String> = (0..25u16)
        .map(|i| format!(
            r#"{{"_path":"conn","ts":{ts},"uid":"C{i}","id.orig_h":"203.0.113.66","id.orig_p":51000,"id.resp_h":"10.0.1.{h}","id.resp_p":22,"proto":"tcp","conn_state":"S0","history":"S","orig_pkts":1,"resp_pkts":0}}"#,
            ts = 1_780_000_000.0 + f64::from(i),
            h = i + 1,
        ))
        .collect();
    post(&app, &t, "zeek", lines.join("\n")).await;
    let alerts = list(&app, "/api/v1/networkalerts", "network_alerts").await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["type"], "portscan");
    assert_eq!(alerts[0]["subject"], "Host sweep from 203.0.113.66");
    assert_eq!(
        (alerts[0]["dst_ip"].as_str(), alerts[0]["dst_port"].as_i64()),
        (Some(""), Some(22))
    );
}

#[tokio::test]
async fn syslog_rules_and_brute_force_reach_the_server_alerts() {
    let app = app().await;
    let t = token(&app).await;
    let mut body = AUTH.to_string();
    body.push_str("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick on /dev/pts/8\n");
    for i in 0..6 {
        body.push_str(&format!(
            "Mar  3 10:00:{:02} web1 sshd[{}]: Failed password for root from 198.51.100.23 port {} ssh2\n",
            i * 7,
            900 + i,
            50_000 + i
        ));
    }
    post(&app, &t, "syslog", body).await;
    let alerts = list(&app, "/api/v1/serveralerts", "server_alerts").await;
    let kinds: Vec<&str> = alerts.iter().map(|a| a["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "sshd_invalid_user",
            "sshd_failed_password",
            "sshd_no_identification",
            "sudo_not_in_sudoers",
            "group_created",
            "user_created",
            "su_failure",
            "sshd_failed_password",
            "sshd_failed_password",
            "sshd_failed_password",
            "sshd_failed_password",
            "sshd_failed_password",
            "bruteforce",
            "sshd_failed_password",
        ]
    );
    let brute = alerts.iter().find(|a| a["type"] == "bruteforce").unwrap();
    assert_eq!(brute["hostname"], "web1");
    assert_eq!(
        brute["title"],
        "Brute force from 198.51.100.23: 5 authentication failures within 300 s (users root)"
    );
    let su = alerts.iter().find(|a| a["type"] == "su_failure").unwrap();
    assert_eq!(
        (su["hostname"].as_str(), su["title"].as_str()),
        (
            Some("mymachine.example.com"),
            Some("su to root failed for lonvick")
        )
    );
}
