//! Threat intelligence (§10.4): `picket import intel` in every format, a re-import replacing
//! its source, bad files changing nothing, About's `tor_relays` and `misp_*` figures, the
//! lists shared by every tenant in the detections, and `[[intel]]` lists polled from a real
//! HTTP server on 127.0.0.1 (conditional fetches, a MISP feed's event files, backoff).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use picket_core::config::{IntelConfig, Span};
use picket_core::jobs;
use picket_core::time::now_ms;
use picket_sensor::intel::{self, poll, Format};
use picket_sensor::record::Record;
use serde_json::Value;

use crate::helpers::{json, spawn, spawn_with, TestApp};
use crate::netmon_devices::utc;
use crate::sensor_detect::{agent, batch, dns_query, flow, network_alerts};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/network")
        .join(name)
}

/// Runs `picket import intel ARGS…`; returns (success, stdout, stderr).
fn intel_cli(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_picket"))
        .arg("--data-dir")
        .arg(app.db.data_dir())
        .args(["--database-url", &app.db.url, "import", "intel"])
        .args(args)
        .current_dir(app.db.dir.path())
        .env_remove("PICKET_DATABASE_URL")
        .output()
        .expect("picket runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The refusal lines of standard error (a loaded machine may add log lines to it).
fn rejections(err: &str) -> Vec<&str> {
    err.lines().filter(|l| l.starts_with("rejected ")).collect()
}

/// What the lists say about these addresses and names, as one ingest batch would ask.
async fn listed(app: &TestApp, ips: &[&str], names: &[&str]) -> intel::Listed {
    let ips: Vec<std::net::IpAddr> = ips.iter().map(|i| i.parse().unwrap()).collect();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut tx = app.state.db.begin().await.unwrap();
    let l = intel::lookup(&mut tx, &ips, &names).await.unwrap();
    tx.commit().await.unwrap();
    l
}

fn sorted_ips<T>(m: &std::collections::HashMap<std::net::IpAddr, T>) -> Vec<String> {
    let mut v: Vec<String> = m.keys().map(|i| i.to_string()).collect();
    v.sort();
    v
}

async fn about_lists(app: &TestApp) -> Value {
    let about = json(app.get("/api/v1/about").await, 200).await;
    let d = &about["database"];
    serde_json::json!({
        "tor_relays": d["tor_relays"],
        "misp_ip_records": d["misp_ip_records"],
        "misp_dns_records": d["misp_dns_records"],
    })
}

#[tokio::test]
async fn cli_imports_every_format_and_about_shows_the_lists() {
    let app = spawn().await;
    let never = serde_json::json!({"last_updated_at": null, "size_bytes": 0});
    assert_eq!(
        about_lists(&app).await,
        serde_json::json!({"tor_relays": never, "misp_ip_records": never, "misp_dns_records": never})
    );

    let tor = fixture("tor-exit-addresses.txt");
    let (ok, out, err) = intel_cli(&app, &["--format", "tor-exits", path(&tor)]);
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "source tor-exits: tor relays 4, misp ips 0, misp domains 0, skipped 0, rejected 1"
    );
    assert_eq!(
        rejections(&err),
        ["rejected line 17: `ExitAddress 203.0.113.999 2026-05-01 13:05:00`: `ExitAddress` is not followed by an IP address"]
    );
    let onionoo = fixture("onionoo-details.json");
    let (ok, out, err) = intel_cli(&app, &["--format", "onionoo", path(&onionoo)]);
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "source onionoo: tor relays 5, misp ips 0, misp domains 0, skipped 1, rejected 1"
    );
    assert_eq!(
        rejections(&err),
        ["rejected relay 4 (misconfigured): not an address: relay.invalid:9001"]
    );
    let feed = fixture("misp-feed");
    let (ok, out, err) = intel_cli(&app, &["--format", "misp-json", path(&feed)]);
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "source misp-json: tor relays 0, misp ips 3, misp domains 3, skipped 3, rejected 1"
    );
    assert_eq!(
        rejections(&err),
        ["rejected event 5f1c7a2e-0c4e-4d7b-9a51-2b7c1f0e9d11 object 1 attribute 2: `198.51.100.0/24` is a CIDR block; only single addresses are matched"]
    );
    // The manifest's own path reads the same feed.
    let manifest = fixture("misp-feed/manifest.json");
    let (ok, out, _) = intel_cli(&app, &["--format", "misp-json", path(&manifest)]);
    assert!(ok);
    assert!(out.contains("misp ips 3, misp domains 3"), "{out}");
    let csv = fixture("misp-attributes.csv");
    let (ok, out, err) = intel_cli(&app, &["--format", "misp-csv", path(&csv)]);
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "source misp-csv: tor relays 0, misp ips 2, misp domains 1, skipped 2, rejected 1"
    );
    assert_eq!(
        rejections(&err),
        ["rejected line 6: `203.0.113.300` is not an IP address"]
    );

    let l = listed(
        &app,
        &[
            "198.51.100.7",
            "198.51.100.10",
            "2001:db8:11::1",
            "203.0.113.80",
            "203.0.113.90",
            "2001:db8:77::9",
            "192.0.2.55",
            "203.0.113.1",
        ],
        &[
            "login-portal.test",
            "payments-update.test",
            "dl.payments-update.test",
            "cdn.exact-host.test",
            "c2.botnet.test",
        ],
    )
    .await;
    assert_eq!(
        sorted_ips(&l.tor),
        ["198.51.100.10", "198.51.100.7", "2001:db8:11::1"]
    );
    assert!(l.tor[&"198.51.100.7".parse().unwrap()].exit);
    assert!(
        !l.tor[&"198.51.100.10".parse().unwrap()].exit,
        "moria1 is no exit"
    );
    assert_eq!(l.tor[&"198.51.100.10".parse().unwrap()].nickname, "moria1");
    assert_eq!(
        sorted_ips(&l.misp_ips),
        ["2001:db8:77::9", "203.0.113.80", "203.0.113.90"]
    );
    let kit = &l.misp_ips[&"203.0.113.80".parse().unwrap()];
    assert_eq!(
        (kit.info.as_str(), kit.kind.as_str()),
        ("Phishing kit hosting", "ip-dst")
    );
    let mut names: Vec<&str> = l.misp_domains.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "c2.botnet.test",
            "cdn.exact-host.test",
            "login-portal.test",
            "payments-update.test"
        ]
    );
    assert!(l.misp_domains["login-portal.test"].subdomains);
    assert!(
        !l.misp_domains["cdn.exact-host.test"].subdomains,
        "a hostname"
    );

    let lists = about_lists(&app).await;
    let tor_day = lists["tor_relays"]["last_updated_at"].as_str().unwrap();
    assert!(
        chrono::NaiveDate::parse_from_str(tor_day, "%Y-%m-%d").is_ok(),
        "a date: {tor_day}"
    );
    for list in ["misp_ip_records", "misp_dns_records"] {
        let at = lists[list]["last_updated_at"].as_str().unwrap();
        let t = chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S").unwrap();
        let age = now_ms() - t.and_utc().timestamp_millis();
        assert!(
            (0..120_000).contains(&age),
            "{list} refreshed just now: {at}"
        );
    }
    for list in ["tor_relays", "misp_ip_records", "misp_dns_records"] {
        assert!(lists[list]["size_bytes"].as_i64().unwrap() > 0, "{lists}");
    }
}

#[tokio::test]
async fn a_reimport_replaces_its_source_and_a_bad_file_changes_nothing() {
    let app = spawn().await;
    let tor = fixture("tor-exit-addresses.txt");
    assert!(intel_cli(&app, &["--format", "tor-exits", path(&tor)]).0);
    assert!(
        intel_cli(
            &app,
            &[
                "--format",
                "onionoo",
                path(&fixture("onionoo-details.json"))
            ]
        )
        .0
    );
    let probe = ["198.51.100.7", "198.51.100.8", "198.51.100.10"];
    assert_eq!(sorted_ips(&listed(&app, &probe, &[]).await.tor).len(), 3);

    // The bulk exit list, one address a line, under the same source name: it replaces it.
    let dir = tempfile::tempdir().unwrap();
    let bulk = dir.path().join("torbulkexitlist");
    std::fs::write(&bulk, "198.51.100.7\n").unwrap();
    let (ok, out, err) = intel_cli(
        &app,
        &["--format", "tor-exits", "--name", "tor-exits", path(&bulk)],
    );
    assert!(ok, "{err}");
    assert!(out.starts_with("source tor-exits: tor relays 1,"), "{out}");
    let l = listed(&app, &probe, &[]).await;
    assert_eq!(
        sorted_ips(&l.tor),
        ["198.51.100.10", "198.51.100.7"],
        "the onionoo source stays"
    );

    // An error page, a file of the wrong format, a missing file: errors, and nothing changes.
    let html = dir.path().join("error.html");
    std::fs::write(
        &html,
        "<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>\n",
    )
    .unwrap();
    let garbage = dir.path().join("garbage.txt");
    std::fs::write(&garbage, "hello\nworld\n").unwrap();
    for (file, format, needle) in [
        (html.as_path(), "tor-exits", "HTML page"),
        (
            garbage.as_path(),
            "tor-exits",
            "no usable entry: 2 record(s) refused, the first at line 1",
        ),
        (html.as_path(), "onionoo", "not an Onionoo details document"),
        (
            garbage.as_path(),
            "misp-csv",
            "the header must name `type` and `value`",
        ),
        (
            dir.path().join("nope.json").as_path(),
            "misp-json",
            "cannot read",
        ),
    ] {
        let (ok, out, err) = intel_cli(
            &app,
            &["--format", format, "--name", "tor-exits", path(file)],
        );
        assert!(!ok, "{format} {file:?}: {out}");
        assert!(
            err.contains("cannot import") && err.contains(needle),
            "{err}"
        );
    }
    let (ok, _, err) = intel_cli(&app, &["--format", "stix", path(&bulk)]);
    assert!(!ok);
    assert!(
        err.contains(
            "unknown format `stix`; expected one of tor-exits, onionoo, misp-json, misp-csv"
        ),
        "{err}"
    );
    let l = listed(&app, &probe, &[]).await;
    assert_eq!(sorted_ips(&l.tor), ["198.51.100.10", "198.51.100.7"]);

    // An empty list is a list: the source is emptied.
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "# no exits today\n").unwrap();
    assert!(intel_cli(&app, &["--format", "tor-exits", path(&empty)]).0);
    assert_eq!(
        sorted_ips(&listed(&app, &probe, &[]).await.tor),
        ["198.51.100.10"]
    );
}

#[tokio::test]
async fn every_tenant_s_traffic_meets_the_shared_lists() {
    let app = spawn().await;
    let db = &app.state.db;
    let acme = agent(&app, "acme", "sensor-acme").await;
    let globex = agent(&app, "globex", "sensor-globex").await;
    let t = utc("2026-06-03 10:30:00");
    // Before any list: nothing to meet (and the server's copy of the keys is empty).
    let c2 = |ts: i64| flow(ts, "10.9.9.9", "2001:db8:66::1", 443, false);
    assert_eq!(batch(&app, &globex, &[c2(t - 1000)]).await, (0, 0));
    // One list imported here, one by another process: the next batch sees both.
    intel::import_path(
        db,
        Format::Onionoo,
        "onionoo",
        &fixture("onionoo-details.json"),
    )
    .await
    .unwrap();
    let feed = fixture("misp-feed");
    let (ok, _, err) = intel_cli(
        &app,
        &["--format", "misp-json", "--name", "circl", path(&feed)],
    );
    assert!(ok, "{err}");
    let mut records: Vec<Record> = (0..3)
        .map(|i| flow(t + i * 60_000, "10.0.0.5", "198.51.100.12", 443, true))
        .collect();
    records.push(flow(t + 1000, "203.0.113.81", "10.0.0.7", 8443, true));
    records.push(dns_query(
        t + 2000,
        "10.0.0.5",
        "10.0.0.1",
        "www.login-portal.test",
    ));
    records.push(dns_query(
        t + 3000,
        "10.0.0.6",
        "10.0.0.1",
        "cdn.exact-host.test.",
    ));
    records.push(dns_query(
        t + 4000,
        "10.0.0.6",
        "10.0.0.1",
        "www.cdn.exact-host.test",
    ));
    records.push(flow(t + 5000, "10.0.0.5", "198.51.100.99", 443, true));
    assert_eq!(batch(&app, &acme, &records).await, (4, 0));
    assert_eq!(batch(&app, &globex, &[c2(t)]).await, (1, 0));

    let key = app.tenant_key("acme", None).await;
    let res = app
        .req_as(
            &key,
            reqwest::Method::GET,
            "/api/v1/networkalerts?sort=id&order=asc",
        )
        .send()
        .await
        .unwrap();
    let alerts = json(res, 200).await["network_alerts"]
        .as_array()
        .unwrap()
        .clone();
    let got: Vec<(&str, i64, &str, &str, &str)> = alerts
        .iter()
        .map(|a| {
            (
                a["type"].as_str().unwrap(),
                a["level"].as_i64().unwrap(),
                a["src_ip"].as_str().unwrap(),
                a["dst_ip"].as_str().unwrap(),
                a["subject"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "tor",
                20,
                "10.0.0.5",
                "198.51.100.12",
                "Traffic to Tor exit relay 198.51.100.12"
            ),
            (
                "misp_ip",
                30,
                "203.0.113.81",
                "10.0.0.7",
                "Traffic from MISP indicator 203.0.113.81"
            ),
            (
                "misp_dns",
                30,
                "10.0.0.5",
                "10.0.0.1",
                "DNS query for MISP indicator www.login-portal.test"
            ),
            (
                "misp_dns",
                30,
                "10.0.0.6",
                "10.0.0.1",
                "DNS query for MISP indicator cdn.exact-host.test"
            ),
        ]
    );
    assert_eq!(
        alerts[0]["message"],
        "10.0.0.5:40000 → 198.51.100.12:443/tcp: 198.51.100.12 is a Tor exit relay exitrelay42 (A53C46F5B157DD83366D45A8E99A244934A14C46)"
    );
    assert_eq!(
        alerts[1]["message"],
        "203.0.113.81:41000 → 10.0.0.7:8443/tcp: 203.0.113.81 is listed in MISP event 0b8d5c44-6a1f-4e0f-8d4b-3f3a8c2d7e21: Botnet C2 infrastructure (Network activity, ip-dst|port)"
    );
    assert_eq!(alerts[0]["agent_name"], "sensor-acme");
    // Globex's alert is Globex's.
    let g = network_alerts(&app).await;
    assert!(g.is_empty(), "the default tenant saw none: {g:?}");
    let key = app.tenant_key("globex", None).await;
    let res = app
        .req_as(&key, reqwest::Method::GET, "/api/v1/networkalerts")
        .send()
        .await
        .unwrap();
    let alerts = json(res, 200).await["network_alerts"].clone();
    assert_eq!(alerts.as_array().unwrap().len(), 1);
    assert_eq!(alerts[0]["type"], "misp_ip");
    assert_eq!(
        alerts[0]["subject"],
        "Traffic to MISP indicator 2001:db8:66::1"
    );
}

/// What the little intel server serves, and what it saw.
struct Served {
    exits: Vec<u8>,
    etag: String,
    fail: Option<StatusCode>,
    hits: usize,
    not_modified: usize,
    event_hits: usize,
}

type Shared = Arc<Mutex<Served>>;

async fn serve_intel(shared: Shared) -> String {
    async fn exits(State(s): State<Shared>, headers: HeaderMap) -> Response {
        let mut s = s.lock().unwrap();
        s.hits += 1;
        if let Some(code) = s.fail {
            return (code, "down for maintenance").into_response();
        }
        let sent = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok());
        if sent == Some(s.etag.as_str()) {
            s.not_modified += 1;
            return StatusCode::NOT_MODIFIED.into_response();
        }
        ([(header::ETAG, s.etag.clone())], s.exits.clone()).into_response()
    }
    async fn feed(State(s): State<Shared>, UrlPath(file): UrlPath<String>) -> Response {
        if file != "manifest.json" {
            s.lock().unwrap().event_hits += 1;
        }
        match std::fs::read(fixture("misp-feed").join(&file)) {
            Ok(body) => body.into_response(),
            Err(_) => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let router = axum::Router::new()
        .route("/tor/exit-addresses", axum::routing::get(exits))
        .route("/misp/feed-osint/{file}", axum::routing::get(feed))
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

const INTERVAL: Duration = Duration::from_secs(3600);

fn list(name: &str, url: String, format: &str) -> IntelConfig {
    IntelConfig {
        name: name.into(),
        url,
        format: format.into(),
        interval: Span(INTERVAL),
        timeout: Some(Span(Duration::from_secs(10))),
    }
}

async fn run(app: &TestApp, job: jobs::NewJob) {
    jobs::enqueue(&app.state.db, &job).await.unwrap();
    jobs::run_pending_jobs(&app.state).await.unwrap();
}

async fn state(app: &TestApp, name: &str) -> poll::StateRow {
    poll::get(&app.state.db, name)
        .await
        .unwrap()
        .expect("a state row")
}

#[tokio::test]
async fn lists_are_polled_conditionally_and_back_off() {
    let served: Shared = Arc::new(Mutex::new(Served {
        exits: std::fs::read(fixture("tor-exit-addresses.txt")).unwrap(),
        etag: "\"e1\"".into(),
        fail: None,
        hits: 0,
        not_modified: 0,
        event_hits: 0,
    }));
    let base = serve_intel(served.clone()).await;
    let lists = vec![
        list(
            "tor-exits",
            format!("{base}/tor/exit-addresses"),
            "tor-exits",
        ),
        list(
            "circl-osint",
            format!("{base}/misp/feed-osint/"),
            "misp-json",
        ),
        list("gone", format!("{base}/nothing-here.csv"), "misp-csv"),
    ];
    let app = spawn_with(move |c| c.intel = lists, None).await;
    let hits = || served.lock().unwrap().hits;

    // First poll: every new list is due; what is served is imported.
    let before = now_ms();
    run(&app, poll::poll_due_job()).await;
    let s = state(&app, "tor-exits").await;
    assert_eq!(
        (s.last_status, s.failures, s.last_stored, s.last_refused),
        (Some(200), 0, 4, 1)
    );
    assert_eq!(s.etag.as_deref(), Some("\"e1\""));
    assert!(s.next_attempt_at >= before + INTERVAL.as_millis() as i64);
    let m = state(&app, "circl-osint").await;
    assert_eq!(
        (m.last_status, m.last_stored, m.last_skipped, m.last_refused),
        (Some(200), 6, 3, 1)
    );
    assert_eq!(
        served.lock().unwrap().event_hits,
        2,
        "both events of the manifest"
    );
    let g = state(&app, "gone").await;
    assert_eq!((g.last_status, g.failures), (Some(404), 1));
    assert!(g.last_error.as_deref().unwrap().contains("404"), "{g:?}");
    assert!(g.next_attempt_at >= before + 2 * INTERVAL.as_millis() as i64);
    let l = listed(&app, &["198.51.100.8", "203.0.113.81"], &["c2.botnet.test"]).await;
    assert_eq!(
        (l.tor.len(), l.misp_ips.len(), l.misp_domains.len()),
        (1, 1, 1)
    );
    assert!(about_lists(&app).await["tor_relays"]["last_updated_at"].is_string());

    // Not due: nothing is fetched.
    run(&app, poll::poll_due_job()).await;
    assert_eq!(hits(), 1);

    // Polled now: the ETag goes back, 304, nothing imported, the list counts as refreshed.
    run(&app, poll::poll_now_job("tor-exits")).await;
    assert_eq!((hits(), served.lock().unwrap().not_modified), (2, 1));
    let s = state(&app, "tor-exits").await;
    assert_eq!((s.last_status, s.last_stored), (Some(304), 4));

    // Down: recorded, backed off, the list keeps its entries; then back with fewer exits.
    served.lock().unwrap().fail = Some(StatusCode::SERVICE_UNAVAILABLE);
    run(&app, poll::poll_now_job("tor-exits")).await;
    let s = state(&app, "tor-exits").await;
    assert_eq!((s.failures, s.last_status), (1, Some(503)));
    assert_eq!(
        s.etag.as_deref(),
        Some("\"e1\""),
        "validators survive failures"
    );
    assert_eq!(listed(&app, &["198.51.100.8"], &[]).await.tor.len(), 1);
    {
        let mut s = served.lock().unwrap();
        s.fail = None;
        s.etag = "\"e2\"".into();
        s.exits = b"ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\nExitAddress 198.51.100.7 2026-05-02 10:00:00\n".to_vec();
    }
    run(&app, poll::poll_now_job("tor-exits")).await;
    let s = state(&app, "tor-exits").await;
    assert_eq!(
        (s.failures, s.last_error.as_deref(), s.last_stored),
        (0, None, 1)
    );
    let l = listed(&app, &["198.51.100.7", "198.51.100.8"], &[]).await;
    assert_eq!(sorted_ips(&l.tor), ["198.51.100.7"]);

    // An error page with a new ETag is a failure and changes nothing.
    {
        let mut s = served.lock().unwrap();
        s.etag = "\"e3\"".into();
        s.exits = b"<html><body>maintenance</body></html>".to_vec();
    }
    run(&app, poll::poll_now_job("tor-exits")).await;
    let s = state(&app, "tor-exits").await;
    assert_eq!(s.failures, 1);
    assert!(s.last_error.as_deref().unwrap().contains("HTML"), "{s:?}");
    assert_eq!(s.etag.as_deref(), Some("\"e2\""));
    assert_eq!(
        sorted_ips(&listed(&app, &["198.51.100.7"], &[]).await.tor),
        ["198.51.100.7"]
    );
}

#[tokio::test]
async fn an_intel_list_with_an_unknown_format_stops_the_server_from_starting() {
    let db = crate::helpers::TestDb::new().await;
    let mut config = db.config();
    config.intel = vec![list("x", "https://intel.example.org/x.xml".into(), "stix")];
    let err = picket::Application::build(config, picket::BuildOptions::default())
        .await
        .err()
        .expect("the build fails");
    let msg = format!("{err:#}");
    assert!(
        msg.contains("intel[0] (`x`): unknown format `stix`"),
        "{msg}"
    );
}
