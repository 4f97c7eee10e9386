//! GDELT and ACLED imports, and polled feeds: a real HTTP server on 127.0.0.1 serves a fixture,
//! the feed job fetches it (conditionally), backs off on failures and updates changed events.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use picket_core::config::{FeedConfig, Span};
use picket_core::jobs;
use picket_core::time::now_ms;
use picket_corpus::feeds;
use serde_json::{json, Value};

use crate::events_corpus::{fixture, import_cli};
use crate::helpers::{json, spawn, spawn_with, TestApp};

async fn events(app: &TestApp, query: &str) -> Value {
    json(
        app.get(&format!("/v1/events?limit=1000&{query}")).await,
        200,
    )
    .await
}

/// The one event whose first origin is `source_id`.
async fn by_source_id(app: &TestApp, source_id: &str) -> Value {
    let all = events(app, "").await;
    let found: Vec<&Value> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["sources"][0]["source_id"] == source_id)
        .collect();
    assert_eq!(found.len(), 1, "{source_id} in {all}");
    found[0].clone()
}

/// The refusal lines of the CLI's standard error (a loaded machine may add log lines to it).
fn rejections(err: &str) -> Vec<&str> {
    err.lines()
        .filter(|l| l.starts_with("rejected record"))
        .collect()
}

#[tokio::test]
async fn gdelt_cli_import_maps_fields_and_refuses_broken_rows() {
    let app = spawn().await;
    let file = fixture("gdelt-20260418.export.tsv");
    let args = ["--format", "gdelt", file.to_str().unwrap()];
    let (ok, out, err) = import_cli(&app, &args);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "new 7, updated 0, merged 0, rejected 1");
    assert_eq!(
        rejections(&err),
        ["rejected record 5: CAMEO 042 (Make a visit) is not a security event"]
    );
    let lagos = by_source_id(&app, "1287654301").await;
    assert_eq!(
        lagos["title"],
        "Demonstrate or rally by PROTESTER against POLICE in Lagos, Lagos, Nigeria"
    );
    assert_eq!(lagos["event_category"], "civil_unrest");
    assert_eq!(lagos["event_type"], "protest");
    assert_eq!(lagos["event_subtype"], "demonstrate_or_rally");
    assert_eq!(lagos["severity"], "medium");
    assert_eq!(lagos["location_country"], "NG");
    assert_eq!(lagos["location"], "Lagos, Lagos, Nigeria");
    assert_eq!(lagos["coordinates"], json!([3.39583, 6.45306]));
    assert_eq!(lagos["event_date"], "2026-04-18");
    assert_eq!(lagos["article_count"], 10);
    assert_eq!(lagos["actor_count"], 2);
    assert_eq!(lagos["actors"][0]["canonical_name"], "PROTESTER");
    assert_eq!(lagos["actors"][1]["role"], "target");
    assert_eq!(lagos["data_source"], "GDELT");
    assert_eq!(lagos["sources"][0]["source"], "gdelt");
    assert_eq!(
        lagos["sources"][0]["url"],
        "https://news.example.org/2026/04/18/lagos-rally"
    );
    let total = |q: &'static str| {
        let app = &app;
        async move { events(app, q).await["total"].as_i64().unwrap() }
    };
    assert_eq!(total("location_country=NG").await, 2);
    assert_eq!(total("event_category=terrorism").await, 1);
    assert_eq!(total("event_category=cyber_attack").await, 1);
    assert_eq!(
        total("location_country=PS").await,
        1,
        "FIPS GZ is Palestine"
    );
    assert_eq!(
        by_source_id(&app, "1287654302").await["severity"],
        "critical"
    );

    let (ok, out, err) = import_cli(&app, &args);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "new 0, updated 7, merged 0, rejected 1");
    assert_eq!(events(&app, "").await["total"], 7);

    let broken = fixture("gdelt-broken.export.tsv");
    let (ok, out, err) = import_cli(&app, &["--format", "gdelt", broken.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "new 0, updated 1, merged 0, rejected 7");
    let lines = rejections(&err);
    assert_eq!(lines.len(), 7, "{err}");
    assert!(lines[0].starts_with("rejected record 1: missing coordinates"));
    assert!(lines[1].contains("found 30"), "{err}");
    assert!(lines[3].contains("unknown CAMEO EventCode `999`"), "{err}");
    assert_eq!(
        events(&app, "").await["total"],
        7,
        "nothing broken was stored"
    );
}

#[tokio::test]
async fn acled_cli_import_maps_fields_and_refuses_broken_rows() {
    let app = spawn().await;
    let file = fixture("acled-2026-04.csv");
    let args = ["--format", "acled", file.to_str().unwrap()];
    let (ok, out, err) = import_cli(&app, &args);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "new 7, updated 0, merged 0, rejected 1");
    let refused = rejections(&err);
    assert_eq!(refused.len(), 1, "{err}");
    assert!(
        refused[0].starts_with("rejected record 7: `Strategic developments` / `Agreement`"),
        "{err}"
    );
    let clash = by_source_id(&app, "NIG30001").await;
    assert_eq!(clash["event_category"], "armed_conflict");
    assert_eq!(clash["event_type"], "battles");
    assert_eq!(clash["event_subtype"], "armed_clash");
    assert_eq!(clash["severity"], "high", "7 fatalities");
    assert_eq!(clash["location_country"], "NG");
    assert_eq!(clash["location"], "Maiduguri, Borno, Nigeria");
    assert_eq!(clash["coordinates"], json!([13.1603, 11.8464]));
    assert_eq!(clash["actor_count"], 3);
    assert_eq!(clash["data_source"], "ACLED");
    assert!(clash["description"]
        .as_str()
        .unwrap()
        .starts_with("On 18 April 2026, troops clashed"));
    let bomb = by_source_id(&app, "AFG5001").await;
    assert_eq!(
        (bomb["event_category"].as_str(), bomb["severity"].as_str()),
        (Some("terrorism"), Some("critical"))
    );
    assert_eq!(
        by_source_id(&app, "NIG30002").await["severity"],
        "negligible",
        "a peaceful protest without deaths"
    );
    assert_eq!(
        events(&app, "event_category=civil_unrest").await["total"],
        3
    );

    let (ok, out, _) = import_cli(&app, &args);
    assert!(ok);
    assert_eq!(out.trim(), "new 0, updated 7, merged 0, rejected 1");

    let broken = fixture("acled-broken.csv");
    let (ok, out, err) = import_cli(&app, &["--format", "acled", broken.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "new 0, updated 1, merged 0, rejected 6");
    assert!(err.contains("rejected record 2: `event_date`"), "{err}");
    assert!(
        err.contains("rejected record 3: unknown ACLED `event_type` `Parades`"),
        "{err}"
    );
    assert!(
        err.contains("rejected record 6: missing coordinates"),
        "{err}"
    );
    assert_eq!(events(&app, "").await["total"], 7);
}

/// What the little feed server serves, and what it saw.
struct Served {
    body: Vec<u8>,
    etag: String,
    fail: Option<StatusCode>,
    hits: usize,
    not_modified: usize,
}

type Shared = Arc<Mutex<Served>>;

async fn serve_feed(shared: Shared) -> String {
    async fn handler(State(s): State<Shared>, headers: HeaderMap) -> Response {
        let mut s = s.lock().unwrap();
        s.hits += 1;
        if let Some(code) = s.fail {
            return (code, "the feed is down").into_response();
        }
        let sent = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok());
        if sent == Some(s.etag.as_str()) {
            s.not_modified += 1;
            return StatusCode::NOT_MODIFIED.into_response();
        }
        ([(header::ETAG, s.etag.clone())], s.body.clone()).into_response()
    }
    let router = axum::Router::new()
        .route("/gdelt/export.tsv", axum::routing::get(handler))
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}/gdelt/export.tsv")
}

const INTERVAL: Duration = Duration::from_secs(15 * 60);

async fn feed_app(url: &str) -> TestApp {
    let feed = FeedConfig {
        name: "gdelt-live".into(),
        url: url.into(),
        format: "gdelt".into(),
        interval: Span(INTERVAL),
        timeout: Some(Span(Duration::from_secs(10))),
    };
    spawn_with(|c| c.feeds = vec![feed], None).await
}

async fn run(app: &TestApp, job: jobs::NewJob) {
    jobs::enqueue(&app.state.db, &job).await.unwrap();
    jobs::run_pending_jobs(&app.state).await.unwrap();
}

async fn state(app: &TestApp) -> feeds::FeedRow {
    feeds::store::get(&app.state.db, "gdelt-live")
        .await
        .unwrap()
        .expect("the feed has a state row")
}

#[tokio::test]
async fn feeds_poll_conditionally_back_off_and_update() {
    let original = std::fs::read(fixture("gdelt-20260418.export.tsv")).unwrap();
    let served: Shared = Arc::new(Mutex::new(Served {
        body: original.clone(),
        etag: "\"v1\"".into(),
        fail: None,
        hits: 0,
        not_modified: 0,
    }));
    let url = serve_feed(served.clone()).await;
    let app = feed_app(&url).await;
    let hits = || served.lock().unwrap().hits;

    // First poll: a new feed is due at once; everything it serves is imported.
    let before = now_ms();
    run(&app, feeds::poll_due_job()).await;
    assert_eq!(hits(), 1);
    assert_eq!(events(&app, "").await["total"], 7);
    let s = state(&app).await;
    assert_eq!((s.last_new, s.last_updated, s.last_rejected), (7, 0, 1));
    assert_eq!(s.etag.as_deref(), Some("\"v1\""));
    assert_eq!((s.failures, s.last_status), (0, Some(200)));
    assert!(s.next_attempt_at >= before + INTERVAL.as_millis() as i64);
    let lagos = by_source_id(&app, "1287654301").await;
    assert_eq!(lagos["severity"], "medium");

    // Not due yet: the scheduled job leaves the server alone.
    run(&app, feeds::poll_due_job()).await;
    assert_eq!(hits(), 1);

    // Polled now: the stored ETag comes back, the server answers 304, nothing is imported.
    run(&app, feeds::poll_now_job("gdelt-live")).await;
    assert_eq!((hits(), served.lock().unwrap().not_modified), (2, 1));
    let s = state(&app).await;
    assert_eq!(s.last_status, Some(304));
    assert_eq!((s.last_new, s.last_updated), (0, 0));
    assert_eq!(events(&app, "").await["total"], 7);

    // The server fails: recorded, and each failure doubles the wait.
    served.lock().unwrap().fail = Some(StatusCode::INTERNAL_SERVER_ERROR);
    let before = now_ms();
    run(&app, feeds::poll_now_job("gdelt-live")).await;
    let s = state(&app).await;
    assert_eq!((s.failures, s.last_status), (1, Some(500)));
    assert!(s.last_error.as_deref().unwrap().contains("500"), "{s:?}");
    let interval = INTERVAL.as_millis() as i64;
    assert!(s.next_attempt_at >= before + 2 * interval, "{s:?}");
    run(&app, feeds::poll_now_job("gdelt-live")).await;
    let s = state(&app).await;
    assert_eq!(s.failures, 2);
    assert!(s.next_attempt_at >= before + 4 * interval, "{s:?}");
    assert_eq!(
        s.etag.as_deref(),
        Some("\"v1\""),
        "validators survive failures"
    );
    run(&app, feeds::poll_due_job()).await;
    assert_eq!(hits(), 4, "a backed-off feed is not due");
    assert_eq!(events(&app, "").await["total"], 7);

    // Back with a revised file: the changed event is updated in place, nothing duplicated.
    let revised = String::from_utf8(original).unwrap().replacen(
        "\t-6.5\t12\t3\t10\t",
        "\t-6.5\t80\t9\t30\t",
        1,
    );
    {
        let mut s = served.lock().unwrap();
        s.fail = None;
        s.etag = "\"v2\"".into();
        s.body = revised.into_bytes();
    }
    run(&app, feeds::poll_now_job("gdelt-live")).await;
    let s = state(&app).await;
    assert_eq!((s.failures, s.last_error.as_deref()), (0, None));
    assert_eq!((s.last_new, s.last_updated, s.last_rejected), (0, 7, 1));
    assert_eq!(s.etag.as_deref(), Some("\"v2\""));
    assert_eq!(events(&app, "").await["total"], 7);
    let updated = by_source_id(&app, "1287654301").await;
    assert_eq!(updated["id"], lagos["id"]);
    assert_eq!(updated["severity"], "high", "80 mentions raise it");
    assert_eq!(updated["article_count"], 30);

    // A body no importer can read is a failure too, and imports nothing.
    {
        let mut s = served.lock().unwrap();
        s.etag = "\"v3\"".into();
        s.body = b"<html>maintenance</html>".to_vec();
    }
    run(&app, feeds::poll_now_job("gdelt-live")).await;
    let s = state(&app).await;
    assert_eq!(s.failures, 1);
    assert!(
        s.last_error
            .as_deref()
            .unwrap()
            .contains("not a GDELT export"),
        "{s:?}"
    );
    assert_eq!(
        s.etag.as_deref(),
        Some("\"v2\""),
        "the bad body's ETag is not kept"
    );
    assert_eq!(events(&app, "").await["total"], 7);
}

#[tokio::test]
async fn feeds_unreachable_server_is_a_recorded_failure() {
    // A port that was free a moment ago: the connection is refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/gdelt/export.tsv", listener.local_addr().unwrap());
    drop(listener);
    let app = feed_app(&url).await;
    run(&app, feeds::poll_due_job()).await;
    let s = state(&app).await;
    assert_eq!((s.failures, s.last_status), (1, None));
    assert!(s.last_error.is_some());
    assert_eq!(events(&app, "").await["total"], 0);
}

#[tokio::test]
async fn feeds_with_an_unknown_format_stop_the_server_from_starting() {
    let db = crate::helpers::TestDb::new().await;
    let mut config = db.config();
    config.feeds = vec![FeedConfig {
        name: "news".into(),
        url: "https://news.example.org/rss".into(),
        format: "rss".into(),
        interval: Span(INTERVAL),
        timeout: None,
    }];
    let err = picket::Application::build(config, picket::BuildOptions::default())
        .await
        .err()
        .expect("the build fails");
    let msg = format!("{err:#}");
    assert!(
        msg.contains("feeds[0] (`news`): unknown format `rss`"),
        "{msg}"
    );
}
