//! The event corpus: CLI import of real feeds, `GET /v1/events` filters and paging, pushed
//! private events, their isolation between tenants, validation and permissions.

use std::path::PathBuf;
use std::process::Command;

use picket_core::identity::Perm;
use picket_corpus::import::{self, Format};
use picket_corpus::{store_records, Scope};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{events_error, json, spawn, TestApp};

pub(crate) fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../picket-corpus/tests/fixtures")
        .join(name)
}

/// Runs `picket import events ARGS…`; returns (success, stdout, stderr).
pub(crate) fn import_cli(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_picket"))
        .arg("--data-dir")
        .arg(app.db.data_dir())
        .args(["--database-url", &app.db.url, "import", "events"])
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

async fn load_usgs(app: &TestApp) {
    let bytes = std::fs::read(fixture("usgs-earthquakes-week.geojson")).unwrap();
    let records = import::parse(Format::Usgs, &bytes).unwrap();
    let report = store_records(&app.state.db, Scope::Global, records)
        .await
        .unwrap();
    assert_eq!(report.new, 1707);
}

async fn total(app: &TestApp, query: &str) -> i64 {
    let body = json(app.get(&format!("/v1/events?{query}")).await, 200).await;
    body["total"].as_i64().unwrap()
}

async fn find_usgs(app: &TestApp, keyword: &str) -> Value {
    let body = json(app.get(&format!("/v1/events?keyword={keyword}")).await, 200).await;
    assert_eq!(body["total"], 1, "{body}");
    body["events"][0].clone()
}

#[tokio::test]
async fn events_cli_import_twice_updates_instead_of_duplicating() {
    let app = spawn().await;
    let file = fixture("usgs-earthquakes-week.geojson");
    let file = file.to_str().unwrap();

    let (ok, out, err) = import_cli(&app, &["--format", "usgs", file]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "new 1707, updated 0, merged 0, rejected 0");
    assert_eq!(total(&app, "").await, 1707);
    let before = find_usgs(&app, "M%206.4%20-%2022km%20NNE%20of%20Hualian").await;
    assert_eq!(before["coordinates"], json!([121.653, 24.1737]));
    assert_eq!(before["severity"], "high");
    assert_eq!(before["event_category"], "geological");
    assert_eq!(before["event_date"], "2018-02-06");
    assert_eq!(before["data_source"], "USGS");
    assert_eq!(before["sources"][0]["source"], "usgs");
    assert_eq!(before["sources"][0]["source_id"], "us1000chhc");
    assert!(before["id"].as_str().unwrap().starts_with("evt_"));

    let (ok, out, err) = import_cli(&app, &["--format", "usgs", file]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "new 0, updated 1707, merged 0, rejected 0");
    assert_eq!(total(&app, "").await, 1707);
    let after = find_usgs(&app, "M%206.4%20-%2022km%20NNE%20of%20Hualian").await;
    assert_eq!(after["id"], before["id"]);
    assert_eq!(after["created_at"], before["created_at"]);
    // `updated_at` is served to the second, so compare the stored milliseconds.
    let stored = |id: Value| {
        let db = app.state.db.clone();
        async move {
            let tenant = crate::helpers::tenant(&db, "default").await;
            let row = picket_corpus::store::get(&db, tenant.id, id.as_str().unwrap())
                .await
                .unwrap()
                .unwrap();
            (row.created_at, row.updated_at)
        }
    };
    let (created, updated) = stored(after["id"].clone()).await;
    assert!(updated > created, "an update moves updated_at");

    // The same file once more, but one record damaged: only that record is refused.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("usgs-earthquakes-week.geojson")).unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    doc["features"][5]["geometry"] = Value::Null;
    let damaged = dir.path().join("damaged.geojson");
    std::fs::write(&damaged, doc.to_string()).unwrap();
    let (ok, out, err) = import_cli(&app, &["--format", "usgs", damaged.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "new 0, updated 1706, merged 0, rejected 1");
    assert_eq!(
        err.trim(),
        "rejected record 5: missing coordinates: the feature has no geometry"
    );

    // A file that cannot be read at all, an unknown tenant, an unknown format: failures.
    let truncated = dir.path().join("truncated.geojson");
    std::fs::write(&truncated, &text[..1000]).unwrap();
    let (ok, _, err) = import_cli(&app, &["--format", "usgs", truncated.to_str().unwrap()]);
    assert!(!ok && err.contains("not a JSON document"), "{err}");
    let (ok, _, err) = import_cli(&app, &["--format", "usgs", "--tenant", "nobody", file]);
    assert!(!ok && err.contains("no tenant `nobody`"), "{err}");
    let (ok, _, err) = import_cli(&app, &["--format", "csv", file]);
    assert!(!ok && err.contains("unknown format"), "{err}");
    let (ok, _, err) = import_cli(&app, &["--format", "usgs", "missing.geojson"]);
    assert!(!ok && err.contains("cannot read"), "{err}");
}

#[tokio::test]
async fn events_cli_imports_gdacs_and_tenant_ndjson() {
    let app = spawn().await;
    let gdacs = fixture("gdacs-rss-24h.xml");
    let (ok, out, err) = import_cli(&app, &["--format", "gdacs", gdacs.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "new 21, updated 0, merged 0, rejected 0");
    assert_eq!(total(&app, "event_type=drought").await, 11);
    assert_eq!(total(&app, "event_category=weather").await, 13);

    let cap = fixture("ipaws-cap12-polygon.xml");
    let (ok, out, err) = import_cli(&app, &["--format", "cap", cap.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "new 1, updated 0, merged 0, rejected 0");
    assert_eq!(
        total(
            &app,
            "bbox=-77.2,39,-77.1,39.2&event_type=local_area_emergency"
        )
        .await,
        1
    );
    let nws = fixture("nws-cap11-blizzard.xml");
    let (ok, out, err) = import_cli(&app, &["--format", "cap", nws.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "new 0, updated 0, merged 0, rejected 1");
    assert!(
        err.contains("rejected record 0: missing coordinates"),
        "{err}"
    );

    let acme = app.tenant_key("acme", None).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("acme.ndjson");
    std::fs::write(
        &file,
        concat!(
            r#"{"source_id":"s1","title":"Gate closed","event_category":"transport","event_date":"2026-03-01","coordinates":[3.4,6.5],"location_country":"NG"}"#,
            "\n",
            r#"{"title":"No date","event_category":"transport","coordinates":[3.4,6.5]}"#,
            "\n"
        ),
    )
    .unwrap();
    let (ok, out, err) = import_cli(
        &app,
        &[
            "--format",
            "ndjson",
            "--tenant",
            "acme",
            file.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "new 1, updated 0, merged 0, rejected 1");
    assert!(
        err.contains("rejected record 1: `event_date` is required"),
        "{err}"
    );
    let mine = json(
        app.req_as(&acme, Method::GET, "/v1/events?location_country=NG")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(mine["total"], 1);
    assert_eq!(
        total(&app, "location_country=NG").await,
        0,
        "private to acme"
    );
}

#[tokio::test]
async fn events_list_filters_and_pages() {
    let app = spawn().await;
    load_usgs(&app).await;

    let page = json(app.get("/v1/events?limit=3&offset=1").await, 200).await;
    assert_eq!(
        (&page["total"], &page["limit"], &page["offset"]),
        (&json!(1707), &json!(3), &json!(1))
    );
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e["event_date"] == "2018-02-07"));
    let ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "ties broken by id");
    let last = json(app.get("/v1/events?limit=1000&offset=1000").await, 200).await;
    assert_eq!(last["events"].as_array().unwrap().len(), 707);
    assert_eq!(last["events"][706]["event_date"], "2018-01-31");

    assert_eq!(total(&app, "date_from=2018-02-07").await, 14);
    assert_eq!(
        total(&app, "date_from=2018-02-06&date_to=2018-02-06").await,
        213
    );
    assert_eq!(total(&app, "date_to=2018-01-31").await, 198);
    assert_eq!(total(&app, "event_type=quarry_blast").await, 13);
    assert_eq!(
        total(&app, "event_type=quarry_blast&event_type=explosion").await,
        28
    );
    assert_eq!(total(&app, "event_category=geological").await, 1707);
    assert_eq!(total(&app, "event_category=weather").await, 0);
    assert_eq!(total(&app, "keyword=hUaLiAn").await, 20);
    // Taiwan, and a box across the antimeridian (Fiji, Tonga, Aleutians west of 180°).
    assert_eq!(total(&app, "bbox=120,21,123,26").await, 20);
    assert_eq!(total(&app, "bbox=170,-90,-170,90").await, 20);
    assert_eq!(
        total(
            &app,
            "bbox=120,21,123,26&date_from=2018-02-07&keyword=hualian"
        )
        .await,
        0
    );

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("offset=-1", "offset"),
        ("limit=ten", "limit"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=0,10,1,5", "bbox"),
        ("date_from=2018-02-30", "date_from"),
        ("date_to=yesterday", "date_to"),
        ("event_category=volcano", "event_category"),
        ("location_country=NGA", "location_country"),
        ("sort=title", "sort"),
    ] {
        events_error(
            app.get(&format!("/v1/events?{query}")).await,
            400,
            "invalid_request",
            field,
        )
        .await;
    }
}

/// `bbox` reads the latitude band through the grid cell index: points on the band's edges and
/// at the antimeridian are found, and so are rows stored before cells existed (no cell).
#[tokio::test]
async fn events_bbox_finds_edge_points_and_rows_without_cells() {
    let app = spawn().await;
    let line = |id: &str, lat: f64, lng: f64| {
        format!(
            r#"{{"source_id":"{id}","title":"Flood {id}","event_category":"weather","event_date":"2026-04-18","coordinates":[{lng},{lat}]}}"#
        )
    };
    let file = [
        line("south-edge", 21.0, 120.0),
        line("north-edge", 26.0, 123.0),
        line("cell-edge", 25.9, 121.0),
        line("inside", 23.45, 121.55),
        line("just-south", 20.9999, 121.0),
        line("just-north", 26.0001, 121.0),
        line("antimeridian", -17.5, 180.0),
        line("pole", 90.0, 0.0),
    ]
    .join("\n");
    let records = import::parse(Format::Ndjson, file.as_bytes()).unwrap();
    let report = store_records(&app.state.db, Scope::Global, records)
        .await
        .unwrap();
    assert_eq!(report.new, 8, "{report:?}");

    let expect = [
        ("bbox=120,21,123,26", 4),
        ("bbox=121,25.9,121,25.9", 1),
        ("bbox=170,-90,-170,90", 1),
        ("bbox=-180,89.9,180,90", 1),
        ("bbox=-180,-90,180,90", 8),
    ];
    for (query, n) in expect {
        assert_eq!(total(&app, query).await, n, "{query}");
    }
    // As if stored before the cell column existed.
    app.state
        .db
        .execute_sql(
            "UPDATE events SET merge_cell = NULL",
            sea_query::Values(vec![]),
        )
        .await
        .unwrap();
    for (query, n) in expect {
        assert_eq!(total(&app, query).await, n, "{query} without cells");
    }
}

fn event(title: &str, extra: Value) -> Value {
    let mut v = json!({"title": title, "event_category": "civil_unrest",
        "event_date": "2026-04-18", "coordinates": [3.39, 6.45], "location_country": "NG"});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

#[tokio::test]
async fn events_pushed_events_are_private_to_their_tenant() {
    let app = spawn().await;
    load_usgs(&app).await;
    let acme = app.tenant_key("acme", None).await;
    let globex = app.tenant_key("globex", None).await;

    let res = app
        .req_as(&acme, Method::POST, "/v1/events")
        .json(&json!([
            event(
                "Protest at the port",
                json!({"source_id": "p1", "severity": "medium"})
            ),
            event("Road blocked", json!({"event_type": "roadblock"})),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 202).await, json!({"accepted": 2, "rejected": []}));

    let get = |key: &str, path: &str| app.req_as(key, Method::GET, path).send();
    let mine = json(
        get(&acme, "/v1/events?location_country=NG").await.unwrap(),
        200,
    )
    .await;
    assert_eq!(mine["total"], 2);
    let protest = mine["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["title"] == "Protest at the port")
        .unwrap()
        .clone();
    assert_eq!(protest["severity"], "medium");
    assert_eq!(protest["coordinates"], json!([3.39, 6.45]));
    assert_eq!(protest["sources"][0]["source"], "push");
    let path = format!("/v1/events/{}", protest["id"].as_str().unwrap());
    assert_eq!(json(get(&acme, &path).await.unwrap(), 200).await, protest);
    // Acme sees the global corpus too.
    let all = json(get(&acme, "/v1/events?limit=1").await.unwrap(), 200).await;
    assert_eq!(all["total"], 1709);

    // Neither another tenant nor the default tenant sees them; by id they are unknown.
    for key in [&globex, &app.key] {
        let list = json(
            get(key, "/v1/events?location_country=NG").await.unwrap(),
            200,
        )
        .await;
        assert_eq!(list["total"], 0);
        assert_eq!(
            json(get(key, "/v1/events?limit=1").await.unwrap(), 200).await["total"],
            1707
        );
        events_error(get(key, &path).await.unwrap(), 404, "not_found", "no event").await;
    }
    events_error(
        app.get("/v1/events/evt_nope").await,
        404,
        "not_found",
        "evt_nope",
    )
    .await;

    // Pushing the same source id again updates the event; another tenant's same id is its own.
    let res = app
        .req_as(&acme, Method::POST, "/v1/events")
        .json(&json!([event(
            "Protest at the port (over)",
            json!({"source_id": "p1"})
        )]))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 202).await["accepted"], 1);
    let again = json(get(&acme, &path).await.unwrap(), 200).await;
    assert_eq!(again["title"], "Protest at the port (over)");
    assert_eq!(
        json(
            get(&acme, "/v1/events?location_country=NG").await.unwrap(),
            200
        )
        .await["total"],
        2
    );
    let res = app
        .req_as(&globex, Method::POST, "/v1/events")
        .json(&json!([event("Globex's own", json!({"source_id": "p1"}))]))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 202).await["accepted"], 1);
    assert_eq!(
        json(get(&acme, &path).await.unwrap(), 200).await["title"],
        "Protest at the port (over)"
    );
}

#[tokio::test]
async fn events_push_rejects_bad_records_one_by_one() {
    let app = spawn().await;
    let body = json!([
        event("fine", json!({})),
        {"event_category": "weather", "event_date": "2026-04-18", "coordinates": [0, 0]},
        event("x", json!({"event_category": "storms"})),
        event("x", json!({"event_date": "2026-04-31"})),
        event("x", json!({"coordinates": [0, 91]})),
        event("x", json!({"severity": "severe"})),
        event("x", json!({"colour": "red"})),
        {"title": "x", "event_category": "weather", "event_date": "2026-04-18"},
        "not an object",
    ]);
    let res = app.send_json(Method::POST, "/v1/events", &body).await;
    let out = json(res, 202).await;
    assert_eq!(out["accepted"], 1);
    let rejected = out["rejected"].as_array().unwrap();
    let expect = [
        (1, "title"),
        (2, "storms"),
        (3, "event_date"),
        (4, "latitude"),
        (5, "severity"),
        (6, "colour"),
        (7, "coordinates"),
        (8, "invalid type"),
    ];
    assert_eq!(rejected.len(), expect.len(), "{out}");
    for (r, (index, needle)) in rejected.iter().zip(expect) {
        assert_eq!(r["index"], index, "{r}");
        assert!(r["error"].as_str().unwrap().contains(needle), "{r}");
    }

    // NDJSON: the same per-record treatment, line by line.
    let ndjson = format!(
        "{}\n\n{{\"title\": \"cut\n{}\n",
        event("a", json!({})),
        event("b", json!({"location_country": "Nigeria"}))
    );
    let res = app
        .req(Method::POST, "/v1/events")
        .header("content-type", "application/x-ndjson")
        .body(ndjson)
        .send()
        .await
        .unwrap();
    let out = json(res, 202).await;
    assert_eq!(out["accepted"], 1);
    assert_eq!(out["rejected"][0]["index"], 1);
    assert!(out["rejected"][0]["error"]
        .as_str()
        .unwrap()
        .contains("not a JSON"));
    assert_eq!(out["rejected"][1]["index"], 2);
    assert!(out["rejected"][1]["error"]
        .as_str()
        .unwrap()
        .contains("location_country"));
    assert_eq!(total(&app, "").await, 2);

    // Whole-body problems are 400.
    let res = app
        .send_json(Method::POST, "/v1/events", &json!({"events": []}))
        .await;
    events_error(res, 400, "invalid_request", "array").await;
    let res = app
        .req(Method::POST, "/v1/events")
        .header("content-type", "text/plain")
        .body("[]")
        .send()
        .await
        .unwrap();
    events_error(res, 400, "invalid_request", "content-type").await;
    let res = app
        .send_json(Method::POST, "/v1/events?dry_run=1", &json!([]))
        .await;
    events_error(res, 400, "invalid_request", "dry_run").await;
}

#[tokio::test]
async fn events_need_their_permissions() {
    let app = spawn().await;
    let none = app.tenant_key("acme", Some(&[])).await;
    let reader = app.tenant_key("acme", Some(&[Perm::EventsR])).await;
    let writer = app.tenant_key("acme", Some(&[Perm::EventsW])).await;
    let body = json!([event("x", json!({}))]);

    for key in [&none, &writer] {
        for path in ["/v1/events", "/v1/events/evt_x"] {
            let res = app.req_as(key, Method::GET, path).send().await.unwrap();
            events_error(res, 403, "forbidden", "perm_events_r").await;
        }
    }
    for key in [&none, &reader] {
        let res = app
            .req_as(key, Method::POST, "/v1/events")
            .json(&body)
            .send()
            .await
            .unwrap();
        events_error(res, 403, "forbidden", "perm_events_w").await;
    }
    let res = app
        .client
        .get(app.url("/v1/events?limit=0"))
        .send()
        .await
        .unwrap();
    events_error(res, 401, "unauthorized", "").await;
    let res = app
        .req_as(&writer, Method::POST, "/v1/events")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 202).await["accepted"], 1);
    let res = app
        .req_as(&reader, Method::GET, "/v1/events")
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 200).await["total"], 1);
}

#[tokio::test]
async fn events_reports_from_another_source_merge_into_one_event() {
    let app = spawn().await;
    load_usgs(&app).await;
    let bytes = std::fs::read(fixture("usgs-earthquakes-week.geojson")).unwrap();
    let records = import::parse(Format::Usgs, &bytes).unwrap();
    let quake = records
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .find(|e| e.source_id == "us1000chhc")
        .unwrap();
    // Another agency's report of the same quake: 600 m away, 20 minutes later, similar title.
    let mut other = quake.clone();
    other.source = "emsc".into();
    other.source_id = "emsc-20180206-1550".into();
    other.title = "M 6.4 - Hualian, Taiwan".into();
    other.lat += 0.005;
    other.occurred_at += 20 * 60 * 1000;
    other.url = Some("https://www.emsc-csem.org/event/1".into());
    let mut far = other.clone();
    far.source_id = "emsc-far".into();
    far.lat += 0.05;

    let store = |e: Vec<picket_corpus::model::NewEvent>| {
        let db = app.state.db.clone();
        async move {
            let records = e.into_iter().enumerate().map(|(i, e)| (i, Ok(e))).collect();
            store_records(&db, Scope::Global, records).await.unwrap()
        }
    };
    let report = store(vec![other.clone(), far]).await;
    assert_eq!((report.new, report.updated, report.merged), (1, 0, 1));
    assert_eq!(total(&app, "").await, 1709 - 1);

    let merged = find_usgs(&app, "M%206.4%20-%2022km%20NNE%20of%20Hualian").await;
    assert_eq!(merged["article_count"], 2);
    // USGS names no country; the store finds it from the coordinates, offline.
    assert_eq!(merged["location_country"], "TW");
    let sources: Vec<&str> = merged["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["usgs", "emsc"]);

    // Both origins re-imported: updates, and the merged attribution survives.
    let report = store(vec![other]).await;
    assert_eq!((report.new, report.updated, report.merged), (0, 1, 0));
    let (ok, out, err) = import_cli(
        &app,
        &[
            "--format",
            "usgs",
            fixture("usgs-earthquakes-week.geojson").to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "new 0, updated 1707, merged 0, rejected 0");
    let again = find_usgs(&app, "M%206.4%20-%2022km%20NNE%20of%20Hualian").await;
    assert_eq!(again["id"], merged["id"]);
    assert_eq!(again["article_count"], 2);
    assert_eq!(again["sources"].as_array().unwrap().len(), 2);
}

/// Rows stored before grid cells existed (no cell) are still merge candidates.
#[tokio::test]
async fn events_reports_merge_into_rows_without_a_cell() {
    let app = spawn().await;
    let bytes = std::fs::read(fixture("usgs-earthquakes-week.geojson")).unwrap();
    let records = import::parse(Format::Usgs, &bytes).unwrap();
    let quake = records
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .find(|e| e.source_id == "us1000chhc")
        .unwrap()
        .clone();
    let mut other = quake.clone();
    other.source = "emsc".into();
    other.source_id = "emsc-1".into();
    other.title = "M 6.4 - Hualian, Taiwan".into();
    other.lat += 0.005;
    let db = &app.state.db;
    let report = store_records(db, Scope::Global, vec![(0, Ok(quake))])
        .await
        .unwrap();
    assert_eq!(report.new, 1);
    db.execute_sql(
        "UPDATE events SET merge_cell = NULL",
        sea_query::Values(vec![]),
    )
    .await
    .unwrap();
    let report = store_records(db, Scope::Global, vec![(0, Ok(other))])
        .await
        .unwrap();
    assert_eq!((report.new, report.merged), (0, 1), "{report:?}");
    assert_eq!(total(&app, "").await, 1);
}

#[tokio::test]
async fn events_merge_and_update_within_one_batch() {
    let app = spawn().await;
    let bytes = std::fs::read(fixture("usgs-earthquakes-week.geojson")).unwrap();
    let records = import::parse(Format::Usgs, &bytes).unwrap();
    let quake = records
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .find(|e| e.source_id == "us1000chhc")
        .unwrap();
    let mut other = quake.clone();
    other.source = "emsc".into();
    other.source_id = "emsc-1".into();
    other.title = "M 6.4 - Hualian, Taiwan".into();
    other.lat += 0.005;
    let mut corrected = quake.clone();
    corrected.title = "M 6.5 - 22km NNE of Hualian, Taiwan".into();

    // One batch: a new event, another source's report of it, that report again, and a
    // correction from the first source. Each sees what the records before it did.
    let batch = vec![quake.clone(), other.clone(), other.clone(), corrected];
    let records = batch
        .into_iter()
        .enumerate()
        .map(|(i, e)| (i, Ok(e)))
        .collect();
    let report = store_records(&app.state.db, Scope::Global, records)
        .await
        .unwrap();
    assert_eq!(
        (report.new, report.merged, report.updated),
        (1, 1, 2),
        "{report:?}"
    );
    assert_eq!(total(&app, "").await, 1);
    let e = find_usgs(&app, "M%206.5").await;
    assert_eq!(e["article_count"], 2, "{e}");
    assert_eq!(e["sources"].as_array().unwrap().len(), 2, "{e}");

    // The alias written by the batch routes the other source's next report to the same event.
    let records = vec![(0, Ok(other))];
    let report = store_records(&app.state.db, Scope::Global, records)
        .await
        .unwrap();
    assert_eq!((report.new, report.merged, report.updated), (0, 0, 1));
    assert_eq!(total(&app, "").await, 1);
}

/// The literal routes under `/v1/events/` are not event ids: each answers its own document,
/// never "no event `at-point`".
#[tokio::test]
async fn literal_event_routes_are_not_event_ids() {
    let app = spawn().await;
    // The documented literal routes answer their own documents, never "no event `…`".
    let at = json(app.get("/v1/events/at-point?lat=6.45&lng=3.39").await, 200).await;
    assert_eq!(at["total"], 0, "{at}");
    let heat = json(app.get("/v1/events/heatmap-points").await, 200).await;
    assert_eq!(heat, json!({"points": [], "total": 0}));
    let countries = json(app.get("/v1/events/countries").await, 200).await;
    assert_eq!(countries, json!({"countries": [], "total": 0}));
    let geo = json(app.get("/v1/events/geojson").await, 200).await;
    assert_eq!(
        (geo["type"].clone(), geo["total"].clone()),
        (json!("FeatureCollection"), json!(0))
    );
    assert_eq!(app.get("/v1/events/tiles/0/0/0.mvt").await.status(), 204);
    // Behind the events permission, like the rest of `/v1/events`.
    let none = app.tenant_key("acme", Some(&[])).await;
    for path in [
        "/v1/events/at-point?lat=1&lng=1",
        "/v1/events/heatmap-points",
        "/v1/events/countries",
        "/v1/events/geojson",
        "/v1/events/tiles/1/1/1.mvt",
    ] {
        let res = app.req_as(&none, Method::GET, path).send().await.unwrap();
        events_error(res, 403, "forbidden", "perm_events_r").await;
    }
    // Ids that merely start like a literal route are still ids.
    events_error(
        app.get("/v1/events/at-point-1").await,
        404,
        "not_found",
        "at-point-1",
    )
    .await;
}

#[tokio::test]
async fn events_at_point_finds_the_tenants_events_within_100_m_newest_first() {
    let app = spawn().await;
    let acme = app.tenant_key("acme", None).await;
    let globex = app.tenant_key("globex", None).await;
    let push = |key: String, events: Value| {
        let req = app.req_as(&key, Method::POST, "/v1/events").json(&events);
        async move {
            assert_eq!(
                json(req.send().await.unwrap(), 202).await["rejected"],
                json!([])
            )
        }
    };
    let at = |title: &str, date: &str, lng: f64, lat: f64, id: &str| {
        event(
            title,
            json!({"event_date": date, "coordinates": [lng, lat], "source_id": id,
                   "location_country": null}),
        )
    };
    push(
        acme.clone(),
        json!([
            at("Protest at the port", "2026-04-18", 3.39, 6.45, "a1"),
            at("March at the port", "2026-04-20", 3.39, 6.45, "a2"),
            // About 60 m north: inside.
            at(
                "Sit-in north of the gate",
                "2026-04-19",
                3.39,
                6.45054,
                "a3"
            ),
            // About 150 m east: outside.
            at("Rally east of the gate", "2026-04-21", 3.39136, 6.45, "a4"),
            // On the other side of the antimeridian from the second query point, 66 m away.
            at("Boats by the date line", "2026-04-17", 179.9996, 0.0, "a5"),
        ]),
    )
    .await;
    push(
        globex.clone(),
        json!([at(
            "Globex picket at the port",
            "2026-04-22",
            3.39,
            6.45,
            "g1"
        )]),
    )
    .await;

    let get = |key: &str, q: &str| {
        app.req_as(key, Method::GET, &format!("/v1/events/at-point?{q}"))
            .send()
    };
    let titles = |body: &Value| -> Vec<String> {
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["title"].as_str().unwrap().to_string())
            .collect()
    };
    let port = json(get(&acme, "lat=6.45&lng=3.39").await.unwrap(), 200).await;
    assert_eq!(
        titles(&port),
        [
            "March at the port",
            "Sit-in north of the gate",
            "Protest at the port"
        ],
        "{port}"
    );
    assert_eq!(
        (
            port["total"].clone(),
            port["limit"].clone(),
            port["offset"].clone()
        ),
        (json!(3), json!(50), json!(0))
    );
    let page = json(
        get(&acme, "lat=6.45&lng=3.39&limit=1&offset=1")
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(titles(&page), ["Sit-in north of the gate"]);
    assert_eq!(page["total"], 3);
    let dateline = json(get(&acme, "lat=0&lng=-179.9998").await.unwrap(), 200).await;
    assert_eq!(titles(&dateline), ["Boats by the date line"], "{dateline}");
    // Another tenant sees only its own event at the same point.
    let theirs = json(get(&globex, "lat=6.45&lng=3.39").await.unwrap(), 200).await;
    assert_eq!(titles(&theirs), ["Globex picket at the port"]);
    let empty = json(get(&acme, "lat=-45&lng=100").await.unwrap(), 200).await;
    assert_eq!(
        (empty["total"].clone(), empty["events"].clone()),
        (json!(0), json!([]))
    );

    for (q, needle) in [
        ("lng=3.39", "`lat`"),
        ("lat=6.45", "`lng`"),
        ("lat=91&lng=3", "`lat`"),
        ("lat=6&lng=-180.5", "`lng`"),
        ("lat=6&lng=abc", "lng"),
        ("lat=6&lng=3&limit=0", "`limit`"),
        ("lat=6&lng=3&limit=201", "`limit`"),
        ("lat=6&lng=3&offset=-1", "`offset`"),
    ] {
        events_error(get(&acme, q).await.unwrap(), 400, "invalid_request", needle).await;
    }
    let none = app.tenant_key("acme", Some(&[])).await;
    events_error(
        get(&none, "lat=6.45&lng=3.39").await.unwrap(),
        403,
        "forbidden",
        "perm_events_r",
    )
    .await;
}

#[tokio::test]
async fn events_heatmap_points_weigh_severity_and_honour_the_filters() {
    let app = spawn().await;
    load_usgs(&app).await;
    let acme = app.tenant_key("acme", None).await;
    let globex = app.tenant_key("globex", None).await;
    let at = |title: &str, severity: &str, lng: f64, id: &str| {
        event(
            title,
            json!({"severity": severity, "coordinates": [lng, 6.45], "source_id": id}),
        )
    };
    let push = |key: &str, events: Value| {
        let req = app.req_as(key, Method::POST, "/v1/events").json(&events);
        async move {
            assert_eq!(
                json(req.send().await.unwrap(), 202).await["rejected"],
                json!([])
            )
        }
    };
    push(
        &acme,
        json!([
            at("Critical at the port", "critical", 3.31, "h1"),
            at("High at the port", "high", 3.32, "h2"),
            at("Medium at the port", "medium", 3.33, "h3"),
            at("Low at the port", "low", 3.34, "h4"),
        ]),
    )
    .await;
    push(
        &globex,
        json!([at("Globex at the port", "critical", 3.35, "g1")]),
    )
    .await;

    let heat = |key: &str, q: &str| {
        let req = app.req_as(key, Method::GET, &format!("/v1/events/heatmap-points?{q}"));
        async move { json(req.send().await.unwrap(), 200).await }
    };
    let mine = heat(&acme, "location_country=NG").await;
    let mut points: Vec<(f64, f64, f64)> = mine["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_f64().unwrap(),
                p[1].as_f64().unwrap(),
                p[2].as_f64().unwrap(),
            )
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(
        points,
        [
            (3.31, 6.45, 2.0),
            (3.32, 6.45, 2.0),
            (3.33, 6.45, 1.0),
            (3.34, 6.45, 0.0)
        ],
        "[lng, lat, weight], the other tenant's point left out: {mine}"
    );
    // Weights are integers, as documented (`[3.39, 6.45, 2]`).
    assert!(mine["points"][0][2].is_u64(), "{mine}");
    assert_eq!(mine["total"], 4);
    // Every match of the global corpus too: the total is that of `GET /v1/events`.
    let all = heat(&acme, "").await;
    let listed = json(
        app.req_as(&acme, Method::GET, "/v1/events?limit=1")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(all["total"], listed["total"]);
    assert_eq!(
        all["points"].as_array().unwrap().len() as i64,
        all["total"].as_i64().unwrap()
    );
    let boxed = heat(&acme, "bbox=3.325,6.4,3.5,6.5").await;
    assert_eq!(boxed["total"], 2, "{boxed}");
    let quakes = heat(&acme, "event_category=geological&keyword=Hualian").await;
    assert!(quakes["total"].as_i64().unwrap() >= 1, "{quakes}");

    for (q, needle) in [
        ("bbox=1,2,3", "bbox"),
        ("date_from=yesterday", "date_from"),
        ("event_category=weather-ish", "event_category"),
        ("limit=10", "limit"),
    ] {
        let res = app
            .req_as(
                &acme,
                Method::GET,
                &format!("/v1/events/heatmap-points?{q}"),
            )
            .send()
            .await
            .unwrap();
        events_error(res, 400, "invalid_request", needle).await;
    }
}

/// An import plans its lookups with their values on PostgreSQL, for its own transaction only:
/// the setting ends with it, and SQLite has nothing to set.
#[tokio::test]
async fn custom_plans_last_only_for_their_transaction() {
    use picket_core::db::Backend;
    use sea_query::Values;
    let app = spawn().await;
    let db = &app.state.db;
    let mode = |rows: Vec<(String,)>| rows.into_iter().next().map(|r| r.0);
    let mut tx = db.begin().await.unwrap();
    tx.custom_plans().await.unwrap();
    if db.backend() == Backend::Postgres {
        let inside: Vec<(String,)> = tx
            .fetch_all_sql("SHOW plan_cache_mode", Values(Vec::new()))
            .await
            .unwrap();
        assert_eq!(mode(inside).as_deref(), Some("force_custom_plan"));
    }
    tx.commit().await.unwrap();
    if db.backend() == Backend::Postgres {
        // Every pooled connection is back to the server's default.
        for _ in 0..4 {
            let after: Vec<(String,)> = db
                .fetch_all_sql("SHOW plan_cache_mode", Values(Vec::new()))
                .await
                .unwrap();
            assert_eq!(mode(after).as_deref(), Some("auto"));
        }
    }
    // An import in such a transaction still stores its events.
    let records = import::parse(
        Format::parse("geojson").unwrap(),
        br#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"cp-1",
            "geometry":{"type":"Point","coordinates":[3.39,6.45]},
            "properties":{"title":"Custom plans check","event_category":"civil_unrest",
            "severity":"low","event_date":"2026-11-01","source":"acled"}}]}"#,
    )
    .unwrap();
    let report = store_records(db, Scope::Global, records).await.unwrap();
    assert_eq!(report.new, 1, "{report:?}");
}
