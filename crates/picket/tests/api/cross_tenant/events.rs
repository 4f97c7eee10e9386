//! `/v1`: assets, events pushed by a tenant, threats with their versions and developments, and
//! scans. Both tenants have assets side by side in Lagos and push their own protests there; one
//! global storm becomes a threat for each.

use picket_core::jobs::run_pending_jobs;
use picket_corpus::{import, store_records, Scope};
use reqwest::Method;
use serde_json::{json, Value};

use super::{call, each, get, post, Case, Pair, Side, Surface};
use crate::helpers::json;

const PATCH_DELETE: [Method; 2] = [Method::PATCH, Method::DELETE];

/// Bravo's ids, and alpha's own where a write needs one.
struct Seeded {
    /// Server ids of bravo's assets.
    bravo_assets: Vec<String>,
    /// Ids of the events bravo pushed.
    bravo_events: Vec<String>,
    bravo_threats: Vec<String>,
    /// Bravo's protest threat, which has a development.
    bravo_protest: String,
    bravo_scan: String,
    alpha_event: String,
    alpha_protest: String,
    alpha_scan: String,
}

fn day(days_ago: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::days(days_ago))
        .format("%Y-%m-%d")
        .to_string()
}

fn protest(title: &str, days_ago: i64, lng: f64, lat: f64) -> Value {
    json!({"title": title, "event_category": "civil_unrest", "severity": "high",
        "event_date": day(days_ago), "coordinates": [lng, lat], "location_country": "NG"})
}

async fn push(p: &Pair, side: &Side, events: Value) {
    let res = p.send(&side.key, &post("/v1/events", events)).await;
    assert_eq!(json(res, 202).await["rejected"], json!([]));
}

/// A JSON read as `side`.
async fn read(p: &Pair, side: &Side, path: &str) -> Value {
    let text = p.read_as(side, &get(path)).await;
    serde_json::from_str(&text).unwrap()
}

/// The ids of `list[key]` whose `field` contains `needle`.
fn ids(list: &Value, key: &str, field: &str, needle: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x[field].as_str().unwrap().contains(needle))
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

async fn scan(p: &Pair, side: &Side) -> String {
    let body = json!({"lookback_hours": 72});
    let res = p.send(&side.key, &post("/v1/threats/scan", body)).await;
    json(res, 202).await["scan_id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn seed(p: &Pair) -> Seeded {
    for (side, name, lat) in [(&p.alpha, "Alpha", 6.4541), (&p.bravo, "Bravo", 6.4600)] {
        let low = name.to_lowercase();
        // The same `asset_id` in both tenants: each must only ever reach its own.
        let body = json!({"assets": [
            {"asset_id": format!("{low}-hq"), "type": "facility", "name": format!("{name} HQ"),
             "attributes": {"lat": lat, "lng": 3.3947, "country": "NG"}},
            {"asset_id": "depot", "type": "facility", "name": format!("{name} depot"),
             "attributes": {"lat": 9.0765, "lng": 7.3986, "country": "NG"}}
        ]});
        let res = p
            .send(&side.key, &call(Method::PUT, "/v1/assets").body(body))
            .await;
        json(res, 200).await;
    }
    run_pending_jobs(&p.app.state).await.unwrap();
    let storm = json!({"id": "storm-1", "title": "Global storm over Lagos",
        "event_category": "weather", "severity": "high", "event_date": day(0),
        "coordinates": [3.40, 6.46], "source": "gdacs"});
    let records = import::parse(
        import::Format::parse("ndjson").unwrap(),
        format!("{storm}\n").as_bytes(),
    )
    .unwrap();
    let report = store_records(&p.app.state.db, Scope::Global, records)
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    push(
        p,
        &p.alpha,
        json!([protest("Alpha protest at the gate", 1, 3.395, 6.455)]),
    )
    .await;
    let mut first = protest("Bravo protest at the gate", 1, 3.395, 6.456);
    first["source_id"] = json!("shared-1");
    push(p, &p.bravo, json!([first])).await;
    run_pending_jobs(&p.app.state).await.unwrap();
    // A day later bravo reports more: a development of bravo's threat, never of alpha's.
    push(
        p,
        &p.bravo,
        json!([protest("Bravo protest grows", 0, 3.396, 6.456)]),
    )
    .await;
    run_pending_jobs(&p.app.state).await.unwrap();
    let (bravo_scan, alpha_scan) = (scan(p, &p.bravo).await, scan(p, &p.alpha).await);
    run_pending_jobs(&p.app.state).await.unwrap();

    let assets = read(p, &p.bravo, "/v1/assets").await;
    let events = read(p, &p.bravo, "/v1/events?keyword=Bravo").await;
    let threats = read(p, &p.bravo, "/v1/threats").await;
    let alpha_events = read(p, &p.alpha, "/v1/events?keyword=Alpha").await;
    let alpha_threats = read(p, &p.alpha, "/v1/threats").await;
    let one = |v: Vec<String>| -> String {
        assert_eq!(v.len(), 1, "{v:?}");
        v[0].clone()
    };
    let s = Seeded {
        bravo_assets: ids(&assets, "assets", "name", "Bravo"),
        bravo_events: ids(&events, "events", "title", "Bravo"),
        bravo_threats: ids(&threats, "threats", "title", ""),
        bravo_protest: one(ids(&threats, "threats", "title", "Bravo protest at")),
        bravo_scan,
        alpha_event: one(ids(&alpha_events, "events", "title", "Alpha")),
        alpha_protest: one(ids(&alpha_threats, "threats", "title", "Alpha protest")),
        alpha_scan,
    };
    assert_eq!(s.bravo_assets.len(), 2);
    assert_eq!(s.bravo_events.len(), 2);
    assert_eq!(s.bravo_threats.len(), 3, "{threats}");
    s
}

#[tokio::test]
async fn assets() {
    let p = Pair::new().await;
    let s = seed(&p).await;
    let mut foreign = Vec::new();
    for key in s
        .bravo_assets
        .iter()
        .map(String::as_str)
        .chain(["bravo-hq"])
    {
        let path = format!("/v1/assets/{key}");
        foreign.push(get(&path));
        foreign.extend(each(&PATCH_DELETE, &path, Some(&json!({"name": "Taken"}))));
    }
    let moved = json!({"asset_id": "depot", "type": "facility", "name": "Alpha depot moved",
        "attributes": {"lat": 9.08, "lng": 7.40}});
    // Bravo's asset_id is free in alpha: an asset of alpha's own, bravo's untouched.
    let namesake = json!({"asset_id": "bravo-hq", "type": "residence", "name": "Alpha's namesake",
        "attributes": {"lat": 6.0, "lng": 3.0}});
    Case {
        surface: Surface::Events,
        reads: vec![
            get("/v1/assets").shows(&["Alpha HQ", "Alpha depot"]),
            get("/v1/assets?type=facility").shows(&["Alpha HQ"]),
            get("/v1/assets/depot").shows(&["Alpha depot"]),
        ],
        foreign,
        writes: vec![
            call(Method::PUT, "/v1/assets")
                .body(json!({"assets": [moved, namesake]}))
                .shows(&["Alpha depot moved"]),
            post(
                "/v1/assets",
                json!({"asset_id": "bravo-depot", "type": "facility",
                "name": "Alpha annex", "attributes": {"lat": 6.1, "lng": 3.1}}),
            )
            .answers(201),
            call(Method::PATCH, "/v1/assets/depot")
                .body(json!({"name": "Alpha depot renamed"}))
                .shows(&["Alpha depot renamed"]),
            call(Method::DELETE, "/v1/assets/depot").answers(204),
        ],
        bravo_reads: vec![
            get("/v1/assets").shows(&["Bravo HQ", "Bravo depot"]),
            get("/v1/assets/depot").shows(&["Bravo depot"]),
            get(format!("/v1/assets/{}", s.bravo_assets[0])),
        ],
    }
    .check(&p)
    .await;
}

#[tokio::test]
async fn pushed_events() {
    let p = Pair::new().await;
    let s = seed(&p).await;
    let storm = "Global storm over Lagos";
    let mut bravo_reads = vec![
        get("/v1/events?limit=1000").shows(&[
            "Bravo protest at the gate",
            "Bravo protest grows",
            storm,
        ]),
        get("/v1/events?keyword=protest").shows(&["Bravo protest at the gate"]),
        // Halfway between the two tenants' protests, about 55 m from each.
        get("/v1/events/at-point?lat=6.4555&lng=3.395").shows(&["Bravo protest at the gate"]),
    ];
    bravo_reads.extend(
        s.bravo_events
            .iter()
            .map(|id| get(format!("/v1/events/{id}"))),
    );
    // Alpha pushes under bravo's source id: a new event of alpha's, bravo's stays as it was.
    let mut same_source = protest("Alpha push under a shared id", 0, 3.39, 6.45);
    same_source["source_id"] = json!("shared-1");
    Case {
        surface: Surface::Events,
        reads: vec![
            get("/v1/events?limit=1000").shows(&["Alpha protest at the gate", storm]),
            get("/v1/events?keyword=protest").shows(&["Alpha protest at the gate"]),
            get("/v1/events?location_country=NG").shows(&["Alpha protest at the gate"]),
            // The bounding box reads through the spatial cells: another path to the rows.
            get("/v1/events?bbox=3.3,6.4,3.5,6.5").shows(&["Alpha protest at the gate", storm]),
            get("/v1/events/at-point?lat=6.4555&lng=3.395").shows(&["Alpha protest at the gate"]),
            get(format!(
                "/v1/events?event_category=civil_unrest&date_from={}",
                day(2)
            ))
            .shows(&["Alpha protest at the gate"]),
            get(format!("/v1/events/{}", s.alpha_event)).shows(&["Alpha protest at the gate"]),
        ],
        foreign: s
            .bravo_events
            .iter()
            .map(|id| get(format!("/v1/events/{id}")))
            .collect(),
        writes: vec![post("/v1/events", json!([same_source])).answers(202)],
        bravo_reads,
    }
    .check(&p)
    .await;
}

#[tokio::test]
async fn threats() {
    let p = Pair::new().await;
    let s = seed(&p).await;
    let mut foreign = Vec::new();
    let mut bravo_reads = vec![
        get("/v1/threats").shows(&[
            "Bravo protest at the gate",
            "Bravo protest grows",
            "Global storm over Lagos",
            "Bravo HQ",
        ]),
        get(format!("/v1/threats/{}/developments", s.bravo_protest))
            .shows(&["Bravo protest grows"]),
    ];
    for id in &s.bravo_threats {
        let path = format!("/v1/threats/{id}");
        for read in [
            path.clone(),
            format!("{path}/versions"),
            format!("{path}/developments"),
        ] {
            foreign.push(get(&read));
            bravo_reads.push(get(&read));
        }
        foreign.push(call(Method::PATCH, &path).body(json!({"pinned": true})));
        foreign.push(
            call(Method::PATCH, &path)
                .body(json!({"status": "dismissed", "dismissal_reason": "not ours"})),
        );
    }
    let mine = format!("/v1/threats/{}", s.alpha_protest);
    Case {
        surface: Surface::Events,
        reads: vec![
            get("/v1/threats").shows(&[
                "Alpha protest at the gate",
                "Global storm over Lagos",
                "Alpha HQ",
            ]),
            get("/v1/threats?asset_id=depot&asset_id=alpha-hq").shows(&["Alpha HQ"]),
            get("/v1/threats?asset_id=bravo-hq").shows(&["\"total\":0"]),
            get("/v1/threats?threat_type=civil_unrest&status=active&sort=risk_score")
                .shows(&["Alpha protest at the gate"]),
            get("/v1/threats?pinned=false&limit=1&offset=1").shows(&["\"total\":2"]),
            get(&mine).shows(&["Alpha protest at the gate"]),
            get(format!("{mine}/versions")).shows(&["\"total\":1"]),
            // Bravo's later protest is near and of the same category, but not alpha's.
            get(format!("{mine}/developments")).shows(&["\"total\":0"]),
        ],
        foreign,
        writes: vec![call(Method::PATCH, &mine)
            .body(json!({"status": "dismissed", "dismissal_reason": "alpha drill", "pinned": true}))
            .shows(&["alpha drill"])],
        bravo_reads,
    }
    .check(&p)
    .await;
}

#[tokio::test]
async fn scans() {
    let p = Pair::new().await;
    let s = seed(&p).await;
    let bravo_hq = &s.bravo_assets[0];
    Case {
        surface: Surface::Events,
        // Alpha's scan saw the global storm and alpha's protest, none of bravo's two pushes.
        reads: vec![get(format!("/v1/threats/scans/{}", s.alpha_scan))
            .shows(&["\"status\":\"done\"", "\"events_examined\":2"])],
        foreign: vec![get(format!("/v1/threats/scans/{}", s.bravo_scan))],
        writes: vec![
            post("/v1/threats/scan", json!({"asset_ids": [bravo_hq]})).answers(400),
            post("/v1/threats/scan", json!({"asset_ids": ["bravo-hq"]})).answers(400),
            post("/v1/threats/scan", json!({"lookback_hours": 72})).answers(202),
        ],
        bravo_reads: vec![
            get(format!("/v1/threats/scans/{}", s.bravo_scan))
                .shows(&["\"status\":\"done\"", "\"events_examined\":3"]),
            get("/v1/threats").shows(&["Bravo protest at the gate"]),
        ],
    }
    .check(&p)
    .await;
}

/// An incident of `side` linking `threats`, created over HTTP; its id.
async fn incident(p: &Pair, side: &Side, title: &str, threats: &[&str]) -> String {
    let body = json!({"title": title, "scope": "investigation", "threat_ids": threats});
    let res = p.send(&side.key, &post("/v1/incidents", body)).await;
    json(res, 201).await["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn incidents() {
    let p = Pair::new().await;
    let s = seed(&p).await;
    // Bravo's two protests at its HQ cluster: the engine opened an aggregate incident.
    let auto = read(&p, &p.bravo, "/v1/incidents?scope=aggregate").await;
    assert_eq!(auto["total"], 1, "{auto}");
    let bravo_auto = auto["incidents"][0]["id"].as_str().unwrap().to_string();
    let bravo_mine = incident(&p, &p.bravo, "Bravo gate watch", &[&s.bravo_protest]).await;
    let alpha_mine = incident(&p, &p.alpha, "Alpha gate watch", &[&s.alpha_protest]).await;
    let mut foreign = Vec::new();
    let mut bravo_reads = vec![get("/v1/incidents").shows(&["Bravo gate watch", "Bravo HQ"])];
    for inc in [&bravo_auto, &bravo_mine] {
        let path = format!("/v1/incidents/{inc}");
        foreign.push(get(&path));
        foreign.push(get(format!(
            "{path}/activity?include_versions_before_link=true"
        )));
        foreign.push(call(Method::PATCH, &path).body(json!({"status": "resolved"})));
        foreign.push(post(
            format!("{path}/threats"),
            json!({"threat_ids": [s.alpha_protest]}),
        ));
        foreign.push(call(
            Method::DELETE,
            format!("{path}/threats/{}", s.bravo_protest),
        ));
        bravo_reads.push(get(&path).shows(&["Bravo protest at the gate"]));
        bravo_reads.push(get(format!(
            "{path}/activity?include_versions_before_link=true"
        )));
    }
    // Bravo's threat is not linked to alpha's incident: a 404 of the link, not of the threat.
    foreign.push(call(
        Method::DELETE,
        format!("/v1/incidents/{alpha_mine}/threats/{}", s.bravo_protest),
    ));
    let mine = format!("/v1/incidents/{alpha_mine}");
    Case {
        surface: Surface::Events,
        reads: vec![
            get("/v1/incidents").shows(&["Alpha gate watch", "\"total\":1"]),
            get("/v1/incidents?scope=aggregate").shows(&["\"total\":0"]),
            get("/v1/incidents?asset_id=alpha-hq").shows(&["Alpha gate watch"]),
            get("/v1/incidents?asset_id=bravo-hq").shows(&["\"total\":0"]),
            get(&mine).shows(&["Alpha protest at the gate"]),
            get(format!("{mine}/activity?include_versions_before_link=true"))
                .shows(&["Alpha protest at the gate", "threat_linked"]),
        ],
        foreign,
        writes: vec![
            // Bravo's threats are unknown ids to alpha: 400 naming them, nothing linked.
            post(
                format!("{mine}/threats"),
                json!({"threat_ids": [s.bravo_protest]}),
            )
            .answers(400)
            .shows(&[&s.bravo_protest]),
            post(
                "/v1/incidents",
                json!({"title": "Alpha takes", "threat_ids": s.bravo_threats}),
            )
            .answers(400),
            call(Method::PATCH, &mine)
                .body(json!({"status": "resolved", "title": "Alpha gate resolved"}))
                .shows(&["Alpha gate resolved"]),
            call(
                Method::DELETE,
                format!("/v1/incidents/{alpha_mine}/threats/{}", s.alpha_protest),
            )
            .answers(204),
        ],
        bravo_reads,
    }
    .check(&p)
    .await;
}

/// Alert rules and the alerts their backfill fires on each tenant's threats.
#[tokio::test]
async fn alerts() {
    let p = Pair::new().await;
    let s = seed(&p).await;
    for (side, name) in [(&p.alpha, "Alpha"), (&p.bravo, "Bravo")] {
        // The same rule id in both tenants: each set is its own.
        let rules = json!({"rules": [{"id": "shared", "title": format!("{name} rule"),
            "severity_threshold": ["critical", "high", "medium", "low", "negligible"]}]});
        let res = p
            .send(
                &side.key,
                &call(Method::PUT, "/v1/alerts/rules").body(rules),
            )
            .await;
        json(res, 200).await;
    }
    run_pending_jobs(&p.app.state).await.unwrap();
    let bravo_alerts = read(&p, &p.bravo, "/v1/alerts").await;
    let bravo_ids = ids(&bravo_alerts, "alerts", "rule_title", "Bravo");
    assert_eq!(bravo_ids.len(), 3, "{bravo_alerts}");
    let alpha_alerts = read(&p, &p.alpha, "/v1/alerts").await;
    let alpha_ids = ids(&alpha_alerts, "alerts", "threat_title", "Alpha protest");
    assert_eq!(alpha_ids.len(), 1, "{alpha_alerts}");

    let mut foreign = Vec::new();
    let mut bravo_reads = vec![
        get("/v1/alerts/rules").shows(&["Bravo rule"]),
        get("/v1/alerts").shows(&["Bravo protest at the gate", "Global storm over Lagos"]),
        get("/v1/alerts?asset_id=bravo-hq").shows(&["\"total\":3"]),
    ];
    for id in &bravo_ids {
        foreign.push(get(format!("/v1/alerts/{id}")));
        foreign.push(
            call(Method::PATCH, format!("/v1/alerts/{id}/state")).body(json!({"state": "acked"})),
        );
        bravo_reads.push(get(format!("/v1/alerts/{id}")).shows(&["\"state\":\"new\""]));
    }
    let mine = &alpha_ids[0];
    Case {
        surface: Surface::Events,
        reads: vec![
            get("/v1/alerts/rules").shows(&["Alpha rule"]),
            get("/v1/alerts").shows(&[
                "Alpha protest at the gate",
                "Global storm over Lagos",
                "\"total\":2",
            ]),
            get("/v1/alerts?rule_id=shared&state=new").shows(&["\"total\":2"]),
            // Bravo's asset and threat ids name nothing of alpha's.
            get("/v1/alerts?asset_id=bravo-hq").shows(&["\"total\":0"]),
            get(format!("/v1/alerts?asset_id={}", s.bravo_assets[0])).shows(&["\"total\":0"]),
            get(format!("/v1/alerts?threat_id={}", s.bravo_protest)).shows(&["\"total\":0"]),
            get(format!("/v1/alerts/{mine}")).shows(&["Alpha protest at the gate"]),
        ],
        foreign,
        writes: vec![
            call(Method::PATCH, format!("/v1/alerts/{mine}/state"))
                .body(json!({"state": "dismissed"}))
                .shows(&["\"state\":\"dismissed\""]),
            call(Method::PUT, "/v1/alerts/rules")
                .body(
                    json!({"rules": [{"id": "shared", "title": "Alpha rule renamed",
                    "severity_threshold": ["critical"]}]}),
                )
                .shows(&["Alpha rule renamed"]),
            call(Method::PUT, "/v1/alerts/rules")
                .body(json!({"rules": []}))
                .shows(&["\"rules\":[]"]),
        ],
        bravo_reads,
    }
    .check(&p)
    .await;
}

/// A report of `side`'s, generated: its id.
async fn report(p: &Pair, side: &Side, body: Value) -> String {
    let res = p.send(&side.key, &post("/v1/reports", body)).await;
    let id = json(res, 201).await["id"].as_str().unwrap().to_string();
    run_pending_jobs(&p.app.state).await.unwrap();
    id
}

#[tokio::test]
async fn reports() {
    let p = Pair::new().await;
    let s = seed(&p).await;
    let bravo_landscape = report(
        &p,
        &p.bravo,
        json!({"type": "landscape", "title": "Bravo weekly"}),
    )
    .await;
    let bravo_threat = report(
        &p,
        &p.bravo,
        json!({"type": "threat", "threat_id": s.bravo_protest}),
    )
    .await;
    let alpha_landscape = report(
        &p,
        &p.alpha,
        json!({"type": "landscape", "title": "Alpha weekly"}),
    )
    .await;
    let res = p
        .send(
            &p.bravo.key,
            &post(
                "/v1/reports/schedules",
                json!({"frequency": "daily", "title": "Bravo daily"}),
            ),
        )
        .await;
    let bravo_schedule = json(res, 201).await["id"].as_str().unwrap().to_string();
    let res = p
        .send(
            &p.alpha.key,
            &post(
                "/v1/reports/schedules",
                json!({"frequency": "weekly", "title": "Alpha weekly digest"}),
            ),
        )
        .await;
    json(res, 201).await;

    let mut foreign = Vec::new();
    for r in [&bravo_landscape, &bravo_threat] {
        for suffix in ["", "/html", "/pdf"] {
            foreign.push(get(format!("/v1/reports/{r}{suffix}")));
        }
    }
    let sched = format!("/v1/reports/schedules/{bravo_schedule}");
    foreign.push(get(&sched));
    foreign.extend(each(
        &PATCH_DELETE,
        &sched,
        Some(&json!({"enabled": false})),
    ));
    foreign.push(call(Method::POST, format!("{sched}/run")));
    Case {
        surface: Surface::Events,
        reads: vec![
            get("/v1/reports").shows(&["Alpha weekly", "\"total\":1"]),
            // Alpha's landscape counts alpha's threats and assets only.
            get(format!("/v1/reports/{alpha_landscape}"))
                .shows(&["Alpha HQ", "Alpha protest at the gate"]),
            // Rendered bodies are compared as bytes (their text is checked in `reports.rs`).
            get(format!("/v1/reports/{alpha_landscape}/html")),
            get("/v1/reports/schedules").shows(&["Alpha weekly digest", "\"total\":1"]),
        ],
        foreign,
        writes: vec![
            // Bravo's threat and assets are unknown ids in alpha's requests.
            post(
                "/v1/reports",
                json!({"type": "threat", "threat_id": s.bravo_protest}),
            )
            .answers(400),
            post(
                "/v1/reports",
                json!({"type": "landscape", "asset_ids": [s.bravo_assets[0]]}),
            )
            .answers(400),
            post(
                "/v1/reports/schedules",
                json!({"frequency": "daily", "asset_ids": [s.bravo_assets[0]]}),
            )
            .answers(400),
            post(
                "/v1/reports",
                json!({"type": "landscape", "title": "Alpha again"}),
            )
            .answers(201)
            .shows(&["Alpha again", "pending"]),
        ],
        bravo_reads: vec![
            get("/v1/reports").shows(&["Bravo weekly", "\"total\":2"]),
            get(format!("/v1/reports/{bravo_landscape}")).shows(&["Bravo HQ"]),
            get(format!("/v1/reports/{bravo_threat}")).shows(&["Bravo protest"]),
            get(format!("/v1/reports/{bravo_threat}/html")),
            get(&sched).shows(&["Bravo daily"]),
        ],
    }
    .check(&p)
    .await;
}
