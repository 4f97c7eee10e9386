//! Several processes on one database: periodic jobs enqueued once per period, lists and searches
//! through the read pool, and two servers plus two workers (real processes of the built binary)
//! on one PostgreSQL schema running each job once and answering the same data; a feed is polled
//! by one process at a time, forced polls included.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use picket::app::{migrate_state, open_state};
use picket_core::jobs::{self, JobRegistry};
use reqwest::Method;
use sea_query::Values;
use serde_json::{json, Value};

use crate::helpers::{free_port, json, spawn_with, TestDb};

/// PostgreSQL-only tests say so and pass on SQLite, which serves one process by design.
fn postgres_only(db: &TestDb, test: &str) -> bool {
    if db.url.starts_with("postgres") {
        return true;
    }
    eprintln!("{test}: skipped on SQLite (PostgreSQL only; set PICKET_TEST_DATABASE_URL)");
    false
}

#[derive(sqlx::FromRow, Debug)]
struct Enqueued {
    created_at: i64,
}

/// Creation times of `kind`'s jobs with an empty payload (the scheduled form), oldest first.
async fn scheduled_runs(db: &picket_core::db::Db, kind: &str) -> Vec<i64> {
    let sql = format!(
        "SELECT created_at FROM jobs WHERE kind = {} AND payload = '{{}}' ORDER BY created_at",
        picket_core::db::placeholder(db.backend(), 1)
    );
    db.fetch_all_sql::<Enqueued>(&sql, Values(vec![kind.into()]))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.created_at)
        .collect()
}

#[tokio::test]
async fn periodic_jobs_are_enqueued_once_per_period_however_many_processes_schedule() {
    let db = TestDb::new().await;
    const EVERY: Duration = Duration::from_millis(300);
    let runs = Arc::new(Mutex::new(0usize));
    let registry = || {
        let runs = runs.clone();
        let mut r = JobRegistry::new();
        r.register("test.tick", move |_s, _p| {
            let runs = runs.clone();
            async move {
                *runs.lock().unwrap() += 1;
                Ok(())
            }
        });
        r.every("test.tick", EVERY);
        r
    };
    // Three processes' states: separate pools, one database.
    let mut states = Vec::new();
    for _ in 0..3 {
        let s = open_state(db.config(), registry()).await.unwrap();
        migrate_state(&s).await.unwrap();
        states.push(s);
    }
    let started = Instant::now();
    let handles: Vec<_> = states
        .iter()
        .enumerate()
        .map(|(i, s)| jobs::spawn_workers(s, 1, &format!("proc-{i}")))
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    for h in handles {
        h.shutdown(Duration::from_secs(10)).await;
    }
    let elapsed = started.elapsed();

    let enqueued = scheduled_runs(&states[0].db, "test.tick").await;
    // Each enqueue moves the shared due time a period on, so two are a period apart at least;
    // a scheduler per process (three here) would have made up to three a period.
    let most = (elapsed.as_millis() / EVERY.as_millis()) as usize + 1;
    assert!(
        !enqueued.is_empty() && enqueued.len() <= most,
        "{} enqueues in {elapsed:?} (at most {most})",
        enqueued.len()
    );
    for pair in enqueued.windows(2) {
        assert!(
            pair[1] - pair[0] >= EVERY.as_millis() as i64 - 50,
            "two enqueues {} ms apart: {enqueued:?}",
            pair[1] - pair[0]
        );
    }
    assert!(*runs.lock().unwrap() <= enqueued.len());
}

/// A second database with the same schema, standing in for a replica that has not caught up.
async fn stale_replica() -> TestDb {
    let replica = TestDb::new().await;
    let s = open_state(replica.config(), JobRegistry::new())
        .await
        .unwrap();
    migrate_state(&s).await.unwrap();
    s.db.close().await;
    replica
}

#[tokio::test]
async fn lists_and_searches_read_the_replica_and_everything_else_the_primary() {
    // The replica here is a separate, empty database, so where each answer came from shows.
    let replica = stale_replica().await;
    let read_url = replica.url.clone();
    let app = spawn_with(move |c| c.database_read_url = read_url, None).await;
    assert!(app.state.db.has_replica());

    let asset = json!({"asset_id": "hq", "type": "facility", "name": "HQ",
        "attributes": {"lat": 52.52, "lng": 13.40}});
    let created = json(app.send_json(Method::POST, "/v1/assets", &asset).await, 201).await;
    let id = created["id"].as_str().unwrap().to_string();
    // Read-after-write paths stay on the primary.
    let one = json(app.get(&format!("/v1/assets/{id}")).await, 200).await;
    assert_eq!(one["name"], "HQ");
    // Lists go to the replica, which has not seen the write.
    let list = json(app.get("/v1/assets").await, 200).await;
    assert_eq!(list["assets"], json!([]), "{list}");

    let net = json!({"name": "Office", "cidr": "10.1.0.0/16"});
    json(
        app.send_json(Method::POST, "/api/v1/networks", &net).await,
        201,
    )
    .await;
    let list = json(app.get("/api/v1/networks").await, 200).await;
    assert_eq!(list, json!({"networks": []}));
    let search = json!({"filters": {"cidr": ["10.1.0.0/16"]}});
    let found = json(
        app.send_json(Method::POST, "/api/v1/networks/search", &search)
            .await,
        200,
    )
    .await;
    assert_eq!(found, json!({"networks": []}));
    for path in [
        "/api/v1/networkalerts",
        "/api/v1/serveralerts",
        "/api/v1/devices",
        "/v1/threats",
        "/v1/incidents",
        "/v1/alerts",
        "/v1/reports",
        "/v1/events",
    ] {
        json(app.get(path).await, 200).await;
    }
    // The replica answering readiness too: ready while it carries this build's schema.
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn a_read_pool_on_the_primary_itself_answers_what_was_written() {
    let db_url = Arc::new(Mutex::new(String::new()));
    let seen = db_url.clone();
    let app = spawn_with(
        move |c| {
            c.database_read_url = c.database_url.clone();
            *seen.lock().unwrap() = c.database_url.clone();
        },
        None,
    )
    .await;
    assert!(app.state.db.has_replica());
    let asset = json!({"asset_id": "hq", "type": "facility", "name": "HQ",
        "attributes": {"lat": 52.52, "lng": 13.40}});
    let created = json(app.send_json(Method::POST, "/v1/assets", &asset).await, 201).await;
    let list = json(app.get("/v1/assets").await, 200).await;
    assert_eq!(list["assets"], json!([created]));
    let net = json!({"name": "Office", "cidr": "10.1.0.0/16"});
    let net = json(
        app.send_json(Method::POST, "/api/v1/networks", &net).await,
        201,
    )
    .await;
    let list = json(app.get("/api/v1/networks").await, 200).await;
    assert_eq!(list, json!({"networks": [net["network"]]}));
}

// ---------------------------------------------------------------------------------------------
// Real processes.

/// A `picket` process, killed when dropped (a failing test leaves none behind).
struct Proc {
    child: Child,
    port: Option<u16>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(40);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `picket ARGS…` on the database with the config file; `env` adds variables.
fn start(
    db: &TestDb,
    config: &Path,
    data_dir: PathBuf,
    args: &[&str],
    env: &[(&str, &str)],
) -> Proc {
    let port = (args[0] == "serve").then(free_port);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_picket"));
    cmd.args(args);
    if let Some(p) = port {
        cmd.args(["--listen", &format!("127.0.0.1:{p}")]);
    }
    cmd.arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--database-url", &db.url])
        .current_dir(db.dir.path())
        .env_remove("PICKET_LISTEN")
        .env_remove("PICKET_DATA_DIR")
        .env_remove("PICKET_DATABASE_URL")
        .env_remove("PICKET_DATABASE_READ_URL")
        .env_remove("PICKET_WORKERS")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Proc {
        child: cmd.spawn().expect("the picket binary starts"),
        port,
    }
}

impl Proc {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port.expect("a server"))
    }

    async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = client.get(format!("{}/readyz", self.base())).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "server did not become ready");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Serves feed `f{i}` of `feeds` at `/feed/f{i}`: every `feeds`-th earthquake of the USGS
/// fixture from the `i`-th on, so no two feeds share an event; counts the requests per feed.
async fn feed_server(feeds: usize) -> (String, Arc<Mutex<HashMap<String, usize>>>) {
    type Hits = Arc<Mutex<HashMap<String, usize>>>;
    type Bodies = Arc<HashMap<String, Vec<u8>>>;
    let hits: Hits = Arc::default();
    let all: Value = serde_json::from_slice(
        &std::fs::read(crate::events_corpus::fixture(
            "usgs-earthquakes-week.geojson",
        ))
        .unwrap(),
    )
    .unwrap();
    let features = all["features"].as_array().unwrap();
    let bodies: Bodies = Arc::new(
        (0..feeds)
            .map(|i| {
                let mine: Vec<&Value> = features.iter().skip(i).step_by(feeds).collect();
                let body = json!({"type": "FeatureCollection", "features": mine});
                (format!("f{i}"), serde_json::to_vec(&body).unwrap())
            })
            .collect(),
    );
    let app =
        axum::Router::new()
            .route(
                "/feed/{name}",
                axum::routing::get(
                    |State((hits, bodies)): State<(Hits, Bodies)>,
                     UrlPath(name): UrlPath<String>| async move {
                        let body = bodies.get(&name).cloned().unwrap_or_default();
                        *hits.lock().unwrap().entry(name).or_default() += 1;
                        body
                    },
                ),
            )
            .with_state((hits.clone(), bodies));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, hits)
}

#[derive(sqlx::FromRow, Debug)]
struct JobOutcome {
    status: String,
    attempts: i64,
    locked_by: Option<String>,
    last_error: Option<String>,
}

#[tokio::test]
async fn two_servers_and_two_workers_on_one_postgresql_run_each_job_once_and_agree() {
    let db = TestDb::new().await;
    if !postgres_only(&db, "two_servers_and_two_workers") {
        return;
    }
    const FEEDS: usize = 12;
    let (feed_base, hits) = feed_server(FEEDS).await;
    let mut toml = String::new();
    for i in 0..FEEDS {
        toml.push_str(&format!(
            "[[feeds]]\nname = \"f{i}\"\nurl = \"{feed_base}/feed/f{i}\"\nformat = \"usgs\"\ninterval = \"1h\"\n\n"
        ));
    }
    let config = db.dir.path().join("picket.toml");
    std::fs::write(&config, toml).unwrap();
    let dir = |name: &str| db.dir.path().join(name);

    // Server A bootstraps the database; B reads lists through a second pool (a "replica").
    let a = start(&db, &config, dir("a"), &["serve"], &[]);
    a.wait_ready().await;
    let started_ms = picket_core::time::now_ms();
    let key = std::fs::read_to_string(dir("a").join("admin.key"))
        .unwrap()
        .trim()
        .to_string();
    let b = start(
        &db,
        &config,
        dir("b"),
        &["serve"],
        &[("PICKET_DATABASE_READ_URL", db.url.as_str())],
    );
    let w1 = start(
        &db,
        &config,
        dir("w1"),
        &["worker", "--concurrency", "2"],
        &[],
    );
    let w2 = start(
        &db,
        &config,
        dir("w2"),
        &["worker", "--concurrency", "2"],
        &[],
    );
    b.wait_ready().await;

    // The test's own pool on the same schema: the jobs go in as any process would put them.
    let s = open_state(db.config(), JobRegistry::new()).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..FEEDS {
        let job = picket_corpus::feeds::poll_now_job(&format!("f{i}"));
        ids.push(
            jobs::enqueue(&s.db, &job)
                .await
                .unwrap()
                .expect("a new job"),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let outcomes = loop {
        let sql =
            format!(
            "SELECT status, attempts, locked_by, last_error FROM jobs WHERE id IN ({}) ORDER BY id",
            ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
        );
        let rows: Vec<JobOutcome> = s.db.fetch_all_sql(&sql, Values(vec![])).await.unwrap();
        if rows.iter().all(|r| r.status == "done") {
            break rows;
        }
        assert!(Instant::now() < deadline, "jobs still pending: {rows:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Each job claimed once, run once: one fetch of each feed.
    assert!(
        outcomes
            .iter()
            .all(|o| o.attempts == 1 && o.last_error.is_none()),
        "{outcomes:?}"
    );
    let hits_now = hits.lock().unwrap().clone();
    for i in 0..FEEDS {
        assert_eq!(hits_now.get(&format!("f{i}")), Some(&1), "{hits_now:?}");
    }
    let runners: std::collections::BTreeSet<String> = outcomes
        .iter()
        .filter_map(|o| o.locked_by.as_deref())
        .map(|w| w.rsplit_once('-').map_or(w, |(p, _)| p).to_string())
        .collect();
    eprintln!("jobs ran in {} process(es): {runners:?}", runners.len());

    // Both servers answer the same data, whichever one took the write.
    let client = reqwest::Client::new();
    let send = |base: String, method: Method, path: &str, body: Option<Value>| {
        let mut r = client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&key);
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send()
    };
    let asset = json!({"asset_id": "hq", "type": "facility", "name": "HQ",
        "attributes": {"lat": 52.52, "lng": 13.40}});
    json(
        send(a.base(), Method::POST, "/v1/assets", Some(asset))
            .await
            .unwrap(),
        201,
    )
    .await;
    let net = json!({"name": "Office", "cidr": "10.1.0.0/16"});
    json(
        send(b.base(), Method::POST, "/api/v1/networks", Some(net))
            .await
            .unwrap(),
        201,
    )
    .await;
    for path in [
        "/v1/assets",
        "/api/v1/networks",
        "/v1/events?limit=1000",
        "/api/v1/about",
    ] {
        let from_a = json(send(a.base(), Method::GET, path, None).await.unwrap(), 200).await;
        let from_b = json(send(b.base(), Method::GET, path, None).await.unwrap(), 200).await;
        if path == "/api/v1/about" {
            // Memory and sizes are each process's own readings; the tenant's rows are the same.
            assert_eq!(
                from_a["database"]["network_alerts"], from_b["database"]["network_alerts"],
                "{path}"
            );
        } else {
            assert_eq!(from_a, from_b, "{path}");
        }
        if path.starts_with("/v1/events") {
            assert!(
                !from_a["events"].as_array().unwrap().is_empty(),
                "feeds imported"
            );
        }
    }

    // The periodic feed poll: four schedulers, one enqueue a period (30 s).
    let first_due = started_ms + picket_corpus::feeds::TICK.as_millis() as i64;
    while picket_core::time::now_ms() < first_due + 5_000 {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let polls = scheduled_runs(&s.db, picket_corpus::feeds::POLL).await;
    assert!(!polls.is_empty(), "the periodic poll ran");
    for pair in polls.windows(2) {
        assert!(
            pair[1] - pair[0] >= picket_corpus::feeds::TICK.as_millis() as i64 - 1_000,
            "periodic polls enqueued {} ms apart: {polls:?}",
            pair[1] - pair[0]
        );
    }
    // Still one fetch a feed: they are not due for an hour.
    let hits_now = hits.lock().unwrap().clone();
    assert!(hits_now.values().all(|n| *n == 1), "{hits_now:?}");
    s.db.close().await;
    drop((w1, w2, b, a));
}

#[tokio::test]
async fn a_feed_in_flight_is_not_taken_by_a_forced_poll_until_its_lease_ends() {
    use picket_corpus::feeds::store;
    let db = TestDb::new().await;
    let s = open_state(db.config(), JobRegistry::new()).await.unwrap();
    migrate_state(&s).await.unwrap();
    let (url, t0) = ("http://127.0.0.1:9/feed", 1_000_000);
    store::ensure(&s.db, "f", url, "usgs", t0).await.unwrap();
    // One process takes the due feed for a minute's lease.
    assert!(store::claim(&s.db, "f", t0, t0 + 60_000, false)
        .await
        .unwrap());
    // Neither a scheduled nor a forced poll elsewhere takes it meanwhile.
    assert!(!store::claim(&s.db, "f", t0 + 1, t0 + 60_001, false)
        .await
        .unwrap());
    assert!(!store::claim(&s.db, "f", t0 + 1, t0 + 60_001, true)
        .await
        .unwrap());
    // The holder died: once the lease ran out, the feed is free again.
    assert!(store::claim(&s.db, "f", t0 + 60_000, t0 + 120_000, true)
        .await
        .unwrap());
    // A recorded outcome ends the lease at once: a forced poll may follow.
    let ok = store::Success {
        status: 304,
        ..Default::default()
    };
    store::record_success(&s.db, "f", t0 + 61_000, t0 + 3_600_000, &ok)
        .await
        .unwrap();
    assert!(!store::claim(&s.db, "f", t0 + 62_000, t0 + 122_000, false)
        .await
        .unwrap());
    assert!(store::claim(&s.db, "f", t0 + 62_000, t0 + 122_000, true)
        .await
        .unwrap());
    s.db.close().await;
}
