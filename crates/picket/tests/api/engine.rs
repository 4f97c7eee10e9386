//! The engine end to end: events in (global imports and tenant pushes), jobs drained, threats
//! and scans out over HTTP.

use picket_core::jobs::run_pending_jobs;
use picket_corpus::{import, store_records, Scope};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{events_error, json, spawn, TestApp};

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

async fn with_assets() -> TestApp {
    let app = spawn().await;
    let body = json!({"assets": [
        {"asset_id": "lagos-hq", "type": "facility", "name": "Lagos HQ", "attributes": {"lat": 6.4541, "lng": 3.3947, "country": "NG"}},
        {"asset_id": "abuja-res", "type": "residence", "name": "Abuja residence", "attributes": {"lat": 9.0765, "lng": 7.3986, "country": "NG"},
         "physical_threat_config": {"radius_km_by_category": {"civil_unrest": 2}}}
    ]});
    json(app.send_json(Method::PUT, "/v1/assets", &body).await, 200).await;
    app
}

/// Global events, as `picket import events --format ndjson` stores them.
async fn import_global(app: &TestApp, events: &[Value]) {
    let ndjson: String = events.iter().map(|e| format!("{e}\n")).collect();
    let records =
        import::parse(import::Format::parse("ndjson").unwrap(), ndjson.as_bytes()).unwrap();
    let report = store_records(&app.state.db, Scope::Global, records)
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
}

async fn threats(app: &TestApp, key: &str) -> Value {
    json(
        app.req_as(key, Method::GET, "/v1/threats")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

#[tokio::test]
async fn imported_events_become_scored_threats_for_nearby_assets() {
    let app = with_assets().await;
    let d = today();
    import_global(&app, &[
        json!({"id": "unrest-1", "title": "Protest on the Marina", "event_category": "civil_unrest", "severity": "high", "event_date": d, "coordinates": [3.40, 6.50], "location": "Marina, Lagos", "location_country": "NG", "source": "acled"}),
        // 6.2 km from Abuja: outside its 2 km unrest override.
        json!({"id": "unrest-2", "title": "Rally near Wuse", "event_category": "civil_unrest", "severity": "medium", "event_date": d, "coordinates": [7.45, 9.10], "location_country": "NG", "source": "acled"}),
        json!({"id": "storm-1", "title": "Severe storm", "event_category": "weather", "severity": "critical", "event_date": d, "coordinates": [7.45, 9.10], "location_country": "NG", "source": "gdacs"}),
        json!({"id": "far-1", "title": "Far away", "event_category": "weather", "severity": "critical", "event_date": d, "coordinates": [-70.0, 40.0], "source": "gdacs"}),
    ])
    .await;
    assert!(run_pending_jobs(&app.state).await.unwrap() >= 1);

    let list = threats(&app, &app.key).await;
    assert_eq!(list["total"], 2, "{list}");
    let by_title = |t: &str| {
        list["threats"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["title"] == t)
            .cloned()
            .unwrap()
    };
    let unrest = by_title("Protest on the Marina");
    assert_eq!(unrest["affected_assets"][0]["asset_id"], "lagos-hq");
    assert!(
        (unrest["affected_assets"][0]["distance_km"]
            .as_f64()
            .unwrap()
            - 5.137)
            .abs()
            < 0.01
    );
    assert_eq!(unrest["threat_type"], "civil_unrest");
    assert_eq!(unrest["location"], "Marina, Lagos");
    assert_eq!(unrest["sources"], json!(["acled"]));
    assert!(
        unrest["likelihood_rationale"]
            .as_str()
            .unwrap()
            .contains("source acled reliability 0.90"),
        "{unrest}"
    );
    let storm = by_title("Severe storm");
    assert_eq!(storm["affected_assets"][0]["asset_id"], "abuja-res");
    assert!(
        storm["risk_score"].as_f64().unwrap() > unrest["risk_score"].as_f64().unwrap(),
        "critical and near outranks high"
    );

    // Running the engine again changes nothing; an update of the source event versions the threat.
    run_pending_jobs(&app.state).await.unwrap();
    picket_watch::evaluation::evaluate_changed(&app.state)
        .await
        .unwrap();
    assert_eq!(
        json(
            app.get(&format!("/v1/threats/{}", unrest["id"].as_str().unwrap()))
                .await,
            200
        )
        .await["version_count"],
        1
    );
    import_global(&app, &[json!({"id": "unrest-1", "title": "Protest on the Marina turns violent", "event_category": "civil_unrest", "severity": "critical", "event_date": d, "coordinates": [3.40, 6.50], "location": "Marina, Lagos", "location_country": "NG", "source": "acled"})]).await;
    run_pending_jobs(&app.state).await.unwrap();
    let id = unrest["id"].as_str().unwrap();
    let v = json(app.get(&format!("/v1/threats/{id}/versions")).await, 200).await;
    assert_eq!(v["total"], 2, "{v}");
    assert_eq!(
        v["versions"][1]["changes"]["title"]["to"],
        "Protest on the Marina turns violent"
    );
    let risk = &v["versions"][1]["changes"]["risk_score"];
    assert_eq!(risk["from"], unrest["risk_score"]);
    assert!(
        risk["to"].as_f64().unwrap() > risk["from"].as_f64().unwrap(),
        "a critical report raises the score: {risk}"
    );
}

#[tokio::test]
async fn private_events_stay_private_and_new_assets_are_scanned() {
    let app = with_assets().await;
    let other = app.tenant_key("acme", None).await;
    let d = today();
    // acme has an asset right next to default's Lagos HQ.
    let body = json!({"assets": [{"asset_id": "acme-lagos", "type": "facility", "name": "Acme Lagos", "attributes": {"lat": 6.455, "lng": 3.395}}]});
    json(
        app.req_as(&other, Method::PUT, "/v1/assets")
            .json(&body)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    run_pending_jobs(&app.state).await.unwrap();

    // default pushes a private event next to both assets: only default gets a threat.
    let pushed = json!([{"title": "Suspicious vehicle at gate", "event_category": "crime_violence", "severity": "high", "event_date": d, "coordinates": [3.395, 6.455]}]);
    json(
        app.send_json(Method::POST, "/v1/events", &pushed).await,
        202,
    )
    .await;
    run_pending_jobs(&app.state).await.unwrap();
    let mine = threats(&app, &app.key).await;
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["threats"][0]["attribution_types"], json!(["tenant"]));
    assert_eq!(
        threats(&app, &other).await["total"],
        0,
        "another tenant's private event never reaches acme"
    );

    // A global event exists before acme registers a second asset near it: the asset's own scan finds it.
    import_global(&app, &[json!({"id": "fire-1", "title": "Warehouse fire", "event_category": "fire_hazard", "severity": "high", "event_date": d, "coordinates": [3.60, 6.60], "source": "firms"})]).await;
    run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(
        threats(&app, &other).await["total"],
        0,
        "no acme asset near the fire yet"
    );
    let body = json!({"asset_id": "acme-depot", "type": "facility", "name": "Acme depot", "attributes": {"lat": 6.61, "lng": 3.61}});
    json(
        app.req_as(&other, Method::POST, "/v1/assets")
            .json(&body)
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    run_pending_jobs(&app.state).await.unwrap();
    let theirs = threats(&app, &other).await;
    assert_eq!(theirs["total"], 1, "{theirs}");
    assert_eq!(
        theirs["threats"][0]["affected_assets"][0]["asset_id"],
        "acme-depot"
    );
}

#[tokio::test]
async fn scans_report_their_progress() {
    let app = with_assets().await;
    let d = today();
    import_global(&app, &[json!({"id": "unrest-9", "title": "Strike at the port", "event_category": "civil_unrest", "severity": "medium", "event_date": d, "coordinates": [3.40, 6.50], "source": "acled"})]).await;
    // Drain the import's evaluation first, so the scan finds the threat already there.
    run_pending_jobs(&app.state).await.unwrap();

    let started = json(
        app.send_json(
            Method::POST,
            "/v1/threats/scan",
            &json!({"asset_ids": ["lagos-hq"], "lookback_hours": 48}),
        )
        .await,
        202,
    )
    .await;
    assert_eq!(started["status"], "scan_started");
    let id = started["scan_id"].as_str().unwrap().to_string();
    let queued = json(app.get(&format!("/v1/threats/scans/{id}")).await, 200).await;
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["started_at"], Value::Null);
    run_pending_jobs(&app.state).await.unwrap();
    let done = json(app.get(&format!("/v1/threats/scans/{id}")).await, 200).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["events_examined"], 1);
    assert_eq!(done["threats_created"], 0, "the import already created it");
    assert!(done["finished_at"].is_string());

    // An empty body scans every asset with the defaults.
    let res = app
        .req(Method::POST, "/v1/threats/scan")
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 202).await["status"], "scan_started");

    for (body, needle) in [
        (json!({"asset_ids": ["nope"]}), "nope"),
        (json!({"lookback_hours": 0}), "lookback_hours"),
        (json!({"lookback_hours": 721}), "lookback_hours"),
        (json!({"lookback": 5}), "lookback"),
    ] {
        events_error(
            app.send_json(Method::POST, "/v1/threats/scan", &body).await,
            400,
            "invalid_request",
            needle,
        )
        .await;
    }
    let other = app.tenant_key("acme", None).await;
    let res = app
        .req_as(&other, Method::GET, &format!("/v1/threats/scans/{id}"))
        .send()
        .await
        .unwrap();
    events_error(res, 404, "not_found", "no scan").await;
}

#[tokio::test]
async fn expiry_ends_threats_past_their_window() {
    let app = with_assets().await;
    let d = today();
    import_global(&app, &[json!({"id": "unrest-5", "title": "Sit-in", "event_category": "civil_unrest", "severity": "low", "event_date": d, "coordinates": [3.40, 6.50], "source": "acled"})]).await;
    run_pending_jobs(&app.state).await.unwrap();
    let t = &threats(&app, &app.key).await["threats"][0];
    let expires = chrono::DateTime::parse_from_rfc3339(t["expires_at"].as_str().unwrap())
        .unwrap()
        .timestamp_millis();
    let observed = chrono::DateTime::parse_from_rfc3339(t["observed_at"].as_str().unwrap())
        .unwrap()
        .timestamp_millis();
    assert_eq!(
        expires - observed,
        (24 + 48) * 3_600_000,
        "civil unrest lives 48 h, from the end of the day an event known by its date happened"
    );
    assert_eq!(
        picket_watch::threats::store::expire(&app.state.db, expires - 1)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        picket_watch::threats::store::expire(&app.state.db, expires + 1)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        threats(&app, &app.key).await["threats"][0]["status"],
        "ended"
    );
}

async fn developments_of(app: &TestApp, title: &str) -> (Value, Value) {
    let list = threats(app, &app.key).await;
    let t = list["threats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["title"] == title)
        .cloned()
        .unwrap_or_else(|| panic!("no threat `{title}` in {list}"));
    let id = t["id"].as_str().unwrap();
    let d = json(
        app.get(&format!("/v1/threats/{id}/developments")).await,
        200,
    )
    .await;
    let t = json(app.get(&format!("/v1/threats/{id}")).await, 200).await;
    (t, d)
}

#[tokio::test]
async fn a_pass_read_in_small_pages_writes_every_threat_once() {
    let app = with_assets().await;
    let d = today();
    let events: Vec<Value> = (0..5)
        .map(|i| json!({"id": format!("u-{i}"), "title": format!("Protest {i}"), "event_category": "civil_unrest", "severity": "high", "event_date": d, "coordinates": [3.40 + 0.001 * i as f64, 6.50], "location_country": "NG", "source": "acled"}))
        .collect();
    import_global(&app, &events).await;
    // Pages of two: three pages, each matched while the one before is written.
    let pass = picket_watch::evaluation::evaluate_changed_in_pages(&app.state, 2)
        .await
        .unwrap();
    assert_eq!((pass.examined, pass.created, pass.updated), (5, 5, 0));
    let list = threats(&app, &app.key).await;
    assert_eq!(list["total"], 5, "{list}");
    // The cursor moved past all of them: the next pass creates nothing.
    let again = picket_watch::evaluation::evaluate_changed_in_pages(&app.state, 2)
        .await
        .unwrap();
    assert_eq!(again.created, 0);
    assert_eq!(threats(&app, &app.key).await["total"], 5);
}

#[tokio::test]
async fn follow_ups_are_near_same_category_events_of_the_tenant() {
    // Two sites 23 km apart on the Lagos lagoon, each with its own 10 km unrest radius.
    let app = spawn().await;
    let body = json!({"assets": [
        {"asset_id": "marina", "type": "facility", "name": "Marina", "attributes": {"lat": 6.45, "lng": 3.39}},
        {"asset_id": "lekki", "type": "facility", "name": "Lekki", "attributes": {"lat": 6.45, "lng": 3.60}},
        {"asset_id": "ikeja", "type": "facility", "name": "Ikeja", "attributes": {"lat": 6.75, "lng": 3.39}}
    ]});
    json(app.send_json(Method::PUT, "/v1/assets", &body).await, 200).await;
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let unrest = |id: &str, title: &str, date: &str, lng: f64, lat: f64, category: &str| {
        json!({"id": id, "title": title, "event_category": category, "severity": "high",
               "event_date": date, "coordinates": [lng, lat], "source": "acled"})
    };
    import_global(
        &app,
        &[unrest(
            "u-1",
            "Protest at the Marina",
            &yesterday,
            3.40,
            6.46,
            "civil_unrest",
        )],
    )
    .await;
    run_pending_jobs(&app.state).await.unwrap();
    let d = today();
    import_global(
        &app,
        &[
            // 17 km from the first protest, affecting only Lekki: still a follow-up.
            unrest(
                "u-2",
                "Protest spreads to Lekki",
                &d,
                3.55,
                6.46,
                "civil_unrest",
            ),
            // Beside the Marina, but a fire: another category, no follow-up.
            unrest(
                "f-1",
                "Warehouse fire at the Marina",
                &d,
                3.395,
                6.455,
                "fire_hazard",
            ),
            // Ikeja, 33 km north of the first protest: too far to follow it up.
            unrest("u-3", "Protest in Ikeja", &d, 3.39, 6.76, "civil_unrest"),
        ],
    )
    .await;
    run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(threats(&app, &app.key).await["total"], 4);
    let (first, devs) = developments_of(&app, "Protest at the Marina").await;
    assert_eq!(devs["total"], 1, "{devs}");
    assert_eq!(devs["developments"][0]["title"], "Protest spreads to Lekki");
    assert_eq!(first["development_count"], 1);
    for other in [
        "Protest spreads to Lekki",
        "Warehouse fire at the Marina",
        "Protest in Ikeja",
    ] {
        assert_eq!(developments_of(&app, other).await.1["total"], 0, "{other}");
    }
}

#[tokio::test]
async fn follow_ups_and_new_reports_become_developments() {
    let app = with_assets().await;
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let quake = json!({"id": "q-1", "title": "M 5.1 - Lagos coast", "event_category": "geological", "severity": "high", "event_date": yesterday, "coordinates": [3.40, 6.50], "location_country": "NG", "source": "usgs"});
    import_global(&app, std::slice::from_ref(&quake)).await;
    run_pending_jobs(&app.state).await.unwrap();

    // A day later: an aftershock 6 km away (a follow-up), and a quake near Abuja, 500 km
    // away (a threat of its own, not a follow-up).
    let d = today();
    import_global(&app, &[
        json!({"id": "q-2", "title": "M 4.2 aftershock", "event_category": "geological", "severity": "medium", "event_date": d, "coordinates": [3.45, 6.52], "location_country": "NG", "source": "usgs"}),
        json!({"id": "q-3", "title": "M 4.0 - Abuja", "event_category": "geological", "severity": "medium", "event_date": d, "coordinates": [7.45, 9.10], "location_country": "NG", "source": "usgs"}),
    ])
    .await;
    run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(threats(&app, &app.key).await["total"], 3);
    let (t, devs) = developments_of(&app, "M 5.1 - Lagos coast").await;
    assert_eq!(devs["total"], 1, "{devs}");
    assert_eq!(devs["developments"][0]["title"], "M 4.2 aftershock");
    assert_eq!(devs["developments"][0]["source"], "usgs");
    let aftershock = developments_of(&app, "M 4.2 aftershock").await.0;
    let events = json(app.get("/v1/events?keyword=aftershock").await, 200).await;
    assert_eq!(
        devs["developments"][0]["event_id"],
        events["events"][0]["id"]
    );
    assert_eq!(t["development_count"], 1);
    assert_eq!(t["latest_development_title"], "M 4.2 aftershock");
    assert_eq!(aftershock["development_count"], 0);

    // Another agency reports the first quake: merged into its event, a development on its
    // threat naming the new source.
    let mut emsc = quake;
    emsc["id"] = json!("emsc-9");
    emsc["source"] = json!("emsc");
    import_global(&app, &[emsc]).await;
    run_pending_jobs(&app.state).await.unwrap();
    let (t, devs) = developments_of(&app, "M 5.1 - Lagos coast").await;
    assert_eq!(devs["total"], 2, "{devs}");
    assert_eq!(devs["developments"][1]["source"], "emsc");
    assert_eq!(
        devs["developments"][1]["title"],
        "New report from emsc: M 5.1 - Lagos coast"
    );
    assert_eq!(t["development_count"], 2);
    assert_eq!(t["sources"], json!(["usgs", "emsc"]));
}

/// A pass that writes more threats than PostgreSQL's planner knew of leaves `threats` (and
/// the tables growing with it) analysed, after the transaction that passed it, so that its later
/// lookups of existing threats seek the `(tenant_id, event_id)` key. SQLite keeps no such
/// statistics for the engine to refresh: there is nothing to check.
#[tokio::test]
async fn a_large_pass_leaves_the_threat_tables_analysed_on_postgres() {
    use picket_core::db::stats::GROWTH_FLOOR;
    use picket_core::db::Backend;
    use sea_query::Values;
    #[derive(sqlx::FromRow)]
    struct N {
        name: String,
        n: f64,
    }
    let app = spawn().await;
    if app.state.db.backend() != Backend::Postgres {
        return;
    }
    // A hundred assets ten degrees apart, each with its own hundred-odd events within a
    // kilometre of it (a pile of threats in one place would time the clustering instead).
    let place = |k: u64| {
        (
            -45.0 + (k / 10) as f64 * 10.0,
            -90.0 + (k % 10) as f64 * 20.0,
        )
    };
    let assets: Vec<Value> = (0..100)
        .map(|k| {
            let (lat, lng) = place(k);
            json!({"asset_id": format!("a{k}"), "type": "facility", "name": format!("Site {k}"),
                "attributes": {"lat": lat, "lng": lng}})
        })
        .collect();
    json(
        app.send_json(Method::PUT, "/v1/assets", &json!({ "assets": assets }))
            .await,
        200,
    )
    .await;
    let d = today();
    let n = GROWTH_FLOOR + 200;
    let events: Vec<Value> = (0..n)
        .map(|i| {
            let (lat, lng) = place(i % 100);
            let step = (i / 100) as f64 * 1e-4;
            json!({"id": format!("unrest-{i}"), "title": format!("Protest {i}"), "event_category": "civil_unrest",
                "severity": "low", "event_date": d, "coordinates": [lng + step, lat + step], "source": "acled"})
        })
        .collect();
    import_global(&app, &events).await;
    assert!(run_pending_jobs(&app.state).await.unwrap() >= 1);
    let rows: Vec<N> = app
        .state
        .db
        .fetch_all_sql(
            "SELECT relname::text AS name, CAST(reltuples AS DOUBLE PRECISION) AS n FROM pg_class \
             WHERE oid IN (to_regclass('threats'), to_regclass('threat_assets')) ORDER BY 1",
            Values(vec![]),
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert!(r.n >= GROWTH_FLOOR as f64, "{} analysed: {}", r.name, r.n);
    }
}
