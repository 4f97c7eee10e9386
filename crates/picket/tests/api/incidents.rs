//! `/v1/incidents`: analysts' incidents over HTTP (create, read, list and its filters, update,
//! link and unlink, the timeline), their validation and permissions, and the incidents the
//! engine opens itself when real USGS earthquakes near an asset cluster.

use std::collections::BTreeSet;

use picket_core::identity::Perm;
use picket_core::jobs::run_pending_jobs;
use picket_corpus::import::{self, Format};
use picket_corpus::{store_records, Scope};
use reqwest::Method;
use serde_json::{json, Value};

use crate::events_corpus::fixture;
use crate::helpers::{events_error, json, spawn, TestApp};

fn day(days_ago: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::days(days_ago))
        .format("%Y-%m-%d")
        .to_string()
}

/// Global events, as `picket import events --format ndjson` stores them.
async fn import_global(app: &TestApp, events: &[Value]) {
    let ndjson: String = events.iter().map(|e| format!("{e}\n")).collect();
    let records = import::parse(Format::Ndjson, ndjson.as_bytes()).unwrap();
    let report = store_records(&app.state.db, Scope::Global, records)
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    run_pending_jobs(&app.state).await.unwrap();
}

fn unrest(title: &str, days_ago: i64) -> Value {
    json!({"id": "unrest-1", "title": title, "event_category": "civil_unrest", "severity": "high",
        "event_date": day(days_ago), "coordinates": [3.40, 6.47], "location": "Marina, Lagos",
        "location_country": "NG", "source": "acled"})
}

/// Two assets and three threats of different families (no automatic incident): a protest near
/// Lagos HQ yesterday, a fire near Lagos HQ and a storm near the Abuja residence today. Returns the threats by title.
async fn with_threats() -> (TestApp, Threats) {
    let app = spawn().await;
    let body = json!({"assets": [
        {"asset_id": "lagos-hq", "type": "facility", "name": "Lagos HQ",
         "attributes": {"lat": 6.4541, "lng": 3.3947, "country": "NG"}},
        {"asset_id": "abuja-res", "type": "residence", "name": "Abuja residence",
         "attributes": {"lat": 9.0765, "lng": 7.3986, "country": "NG"}}
    ]});
    json(app.send_json(Method::PUT, "/v1/assets", &body).await, 200).await;
    run_pending_jobs(&app.state).await.unwrap();
    import_global(&app, &[
        unrest("Protest on the Marina", 1),
        json!({"id": "fire-1", "title": "Warehouse fire", "event_category": "fire_hazard", "severity": "medium",
            "event_date": day(0), "coordinates": [3.41, 6.46], "location_country": "NG", "source": "firms"}),
        json!({"id": "storm-1", "title": "Severe storm", "event_category": "weather", "severity": "critical",
            "event_date": day(0), "coordinates": [7.45, 9.10], "location_country": "NG", "source": "gdacs"}),
    ])
    .await;
    let list = json(app.get("/v1/threats").await, 200).await;
    assert_eq!(list["total"], 3, "{list}");
    let find = |t: &str| -> Value {
        list["threats"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["title"] == t)
            .cloned()
            .unwrap()
    };
    let threats = Threats {
        protest: find("Protest on the Marina"),
        fire: find("Warehouse fire"),
        storm: find("Severe storm"),
    };
    (app, threats)
}

struct Threats {
    protest: Value,
    fire: Value,
    storm: Value,
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

async fn create(app: &TestApp, body: Value) -> Value {
    json(
        app.send_json(Method::POST, "/v1/incidents", &body).await,
        201,
    )
    .await
}

async fn send(app: &TestApp, method: Method, path: &str, body: Value) -> reqwest::Response {
    app.send_json(method, path, &body).await
}

async fn get(app: &TestApp, path: &str) -> Value {
    json(app.get(path).await, 200).await
}

fn linked(incident: &Value) -> BTreeSet<String> {
    incident["threat_links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["threat_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn create_get_and_update_an_incident() {
    let (app, t) = with_threats().await;
    let inc = create(
        &app,
        json!({"title": "  Unrest near HQ  ", "description": "Watch the Marina",
            "threat_ids": [id(&t.protest), id(&t.fire), id(&t.protest)]}),
    )
    .await;
    assert_eq!(inc["title"], "Unrest near HQ");
    assert_eq!(inc["description"], "Watch the Marina");
    assert_eq!(inc["status"], "open");
    assert_eq!(inc["scope"], "aggregate", "the documented default");
    assert_eq!(inc["resolved_at"], Value::Null);
    assert_eq!(inc["threat_links"].as_array().unwrap().len(), 2, "{inc}");
    let link = &inc["threat_links"][0];
    assert!(uuid::Uuid::parse_str(link["id"].as_str().unwrap()).is_ok());
    assert!(link["added_at"].as_str().unwrap().ends_with('Z'));
    // The summary of the linked threat, as the threat itself says.
    let threat = if link["threat_id"] == t.protest["id"] {
        &t.protest
    } else {
        &t.fire
    };
    assert_eq!(link["threat"]["id"], threat["id"]);
    for field in [
        "title",
        "severity",
        "threat_type",
        "location",
        "observed_at",
        "coordinates",
    ] {
        assert_eq!(link["threat"][field], threat[field], "{field}");
    }
    assert_eq!(link["threat"].as_object().unwrap().len(), 7, "{link}");
    // Started when the earliest linked threat was observed: the protest, yesterday.
    assert_eq!(inc["started_at"], t.protest["observed_at"]);

    let path = format!("/v1/incidents/{}", id(&inc));
    assert_eq!(get(&app, &path).await, inc);
    let investigation = create(
        &app,
        json!({"title": "Look into it", "scope": "investigation"}),
    )
    .await;
    assert_eq!(investigation["scope"], "investigation");
    assert_eq!(investigation["threat_links"], json!([]));
    assert_eq!(investigation["started_at"], Value::Null);

    // Resolving sets resolved_at and moves updated_at; reopening clears it.
    let resolved = json(
        app.send_json(Method::PATCH, &path, &json!({"status": "resolved"}))
            .await,
        200,
    )
    .await;
    assert_eq!(resolved["status"], "resolved");
    assert!(resolved["resolved_at"].is_string(), "{resolved}");
    // Times show whole seconds; the list order (by the stored milliseconds) shows the move.
    assert!(resolved["updated_at"].as_str() >= inc["updated_at"].as_str());
    assert_eq!(resolved["created_at"], inc["created_at"]);
    let again = json(
        app.send_json(
            Method::PATCH,
            &path,
            &json!({"status": "resolved", "title": "Marina unrest"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        again["resolved_at"], resolved["resolved_at"],
        "still the same resolution"
    );
    assert_eq!(again["title"], "Marina unrest");
    let closed = json(
        app.send_json(
            Method::PATCH,
            &path,
            &json!({"status": "closed", "description": "False alarm"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["resolved_at"], Value::Null);
    assert_eq!(closed["description"], "False alarm");
    assert_eq!(get(&app, &path).await, closed);
}

#[tokio::test]
async fn bad_input_is_refused_and_writes_nothing() {
    let (app, t) = with_threats().await;
    let inc = create(&app, json!({"title": "Mine", "threat_ids": [id(&t.storm)]})).await;
    let path = format!("/v1/incidents/{}", id(&inc));
    let post = |body: Value| send(&app, Method::POST, "/v1/incidents", body);
    events_error(
        post(json!({"description": "no title"})).await,
        400,
        "invalid_request",
        "title",
    )
    .await;
    events_error(
        post(json!({"title": "   "})).await,
        400,
        "invalid_request",
        "title",
    )
    .await;
    events_error(
        post(json!({"title": "x", "scope": "global"})).await,
        400,
        "invalid_request",
        "scope",
    )
    .await;
    events_error(
        post(json!({"title": "x", "threatIds": []})).await,
        400,
        "invalid_request",
        "threatIds",
    )
    .await;
    let ghost = "0190e4b2-0000-7000-8000-000000000000";
    let msg = events_error(
        post(json!({"title": "x", "threat_ids": [id(&t.protest), ghost, "nope"]})).await,
        400,
        "invalid_request",
        "threat_ids",
    )
    .await;
    assert!(
        msg.contains(ghost) && msg.contains("nope") && !msg.contains(id(&t.protest)),
        "{msg}"
    );
    let patch = |body: Value| send(&app, Method::PATCH, &path, body);
    events_error(
        patch(json!({"status": "done"})).await,
        400,
        "invalid_request",
        "status",
    )
    .await;
    events_error(patch(json!({})).await, 400, "invalid_request", "title").await;
    events_error(
        patch(json!({"title": ""})).await,
        400,
        "invalid_request",
        "title",
    )
    .await;
    let link_path = format!("{path}/threats");
    let link = |body: Value| send(&app, Method::POST, &link_path, body);
    events_error(
        link(json!({"threat_ids": [id(&t.protest), ghost]})).await,
        400,
        "invalid_request",
        ghost,
    )
    .await;
    events_error(
        link(json!({"threat_ids": []})).await,
        400,
        "invalid_request",
        "threat_ids",
    )
    .await;
    for query in [
        "limit=0",
        "limit=5001",
        "limit=x",
        "offset=-1",
        "status=pending",
        "scope=all",
        "sort=title",
    ] {
        let name = query.split('=').next().unwrap();
        events_error(
            app.get(&format!("/v1/incidents?{query}")).await,
            400,
            "invalid_request",
            name,
        )
        .await;
    }
    events_error(
        app.get(&format!("{path}?expand=1")).await,
        400,
        "invalid_request",
        "expand",
    )
    .await;
    events_error(
        app.get(&format!(
            "{path}/activity?include_versions_before_link=maybe"
        ))
        .await,
        400,
        "invalid_request",
        "include_versions_before_link",
    )
    .await;

    // Nothing changed.
    let list = get(&app, "/v1/incidents").await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["incidents"][0], get(&app, &path).await);
    assert_eq!(list["incidents"][0], inc);
    let activity = get(&app, &format!("{path}/activity")).await;
    assert_eq!(activity["total"], 1, "one link: {activity}");

    // Unknown incidents and links.
    let unknown = format!("/v1/incidents/{ghost}");
    for res in [
        app.get(&unknown).await,
        app.get(&format!("{unknown}/activity")).await,
        app.send_json(Method::PATCH, &unknown, &json!({"title": "x"}))
            .await,
        app.send_json(
            Method::POST,
            &format!("{unknown}/threats"),
            &json!({"threat_ids": [id(&t.storm)]}),
        )
        .await,
        app.req(
            Method::DELETE,
            &format!("{unknown}/threats/{}", id(&t.storm)),
        )
        .send()
        .await
        .unwrap(),
    ] {
        events_error(res, 404, "not_found", ghost).await;
    }
    let res = app
        .req(
            Method::DELETE,
            &format!("{path}/threats/{}", id(&t.protest)),
        )
        .send()
        .await
        .unwrap();
    events_error(res, 404, "not_found", "not linked").await;
    assert_eq!(get(&app, &path).await, inc);
}

#[tokio::test]
async fn permissions_and_keys() {
    let (app, t) = with_threats().await;
    let reader = app.tenant_key("default", Some(&[Perm::IncidentsR])).await;
    let writer = app.tenant_key("default", Some(&[Perm::IncidentsW])).await;
    let threats_only = app.tenant_key("default", Some(&[Perm::ThreatsR])).await;
    let body = json!({"title": "By the writer", "threat_ids": [id(&t.storm)]});
    let inc = json(
        app.req_as(&writer, Method::POST, "/v1/incidents")
            .json(&body)
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let path = format!("/v1/incidents/{}", id(&inc));
    json(
        app.req_as(&reader, Method::GET, &path)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    json(
        app.req_as(&reader, Method::GET, &format!("{path}/activity"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    for (key, method, p) in [
        (&reader, Method::POST, "/v1/incidents".to_string()),
        (&reader, Method::PATCH, path.clone()),
        (&reader, Method::POST, format!("{path}/threats")),
        (
            &reader,
            Method::DELETE,
            format!("{path}/threats/{}", id(&t.storm)),
        ),
        (&writer, Method::GET, "/v1/incidents".to_string()),
        (&threats_only, Method::GET, path.clone()),
    ] {
        let res = app
            .req_as(key, method, &p)
            .json(&body)
            .send()
            .await
            .unwrap();
        events_error(res, 403, "forbidden", "").await;
    }
    // 401 before 403 before 404.
    let res = app
        .client
        .get(app.url("/v1/incidents/whatever"))
        .send()
        .await
        .unwrap();
    events_error(res, 401, "unauthorized", "").await;
    let res = app
        .req_as(&threats_only, Method::GET, "/v1/incidents/whatever")
        .send()
        .await
        .unwrap();
    events_error(res, 403, "forbidden", "").await;
}

#[tokio::test]
async fn links_are_idempotent_and_started_at_follows_them() {
    let (app, t) = with_threats().await;
    let inc = create(
        &app,
        json!({"title": "Storm", "scope": "investigation", "threat_ids": [id(&t.storm)]}),
    )
    .await;
    assert_eq!(inc["started_at"], t.storm["observed_at"]);
    let path = format!("/v1/incidents/{}", id(&inc));
    let link_path = format!("{path}/threats");
    let link = |ids: Vec<&str>| send(&app, Method::POST, &link_path, json!({"threat_ids": ids}));

    let two = json(link(vec![id(&t.protest)]).await, 200).await;
    assert_eq!(
        linked(&two),
        BTreeSet::from([id(&t.storm).to_string(), id(&t.protest).to_string()])
    );
    assert_eq!(
        two["started_at"], t.protest["observed_at"],
        "the protest is a day older"
    );
    // Linking again links nothing twice, and keeps each link as it was.
    let again = json(link(vec![id(&t.protest), id(&t.storm)]).await, 200).await;
    assert_eq!(again["threat_links"], two["threat_links"]);
    assert_eq!(again["started_at"], two["started_at"]);

    let unlink = |threat: &str| {
        app.req(Method::DELETE, &format!("{path}/threats/{threat}"))
            .send()
    };
    let res = unlink(id(&t.protest)).await.unwrap();
    assert_eq!(res.status(), 204);
    assert!(res.text().await.unwrap().is_empty());
    let one = get(&app, &path).await;
    assert_eq!(linked(&one), BTreeSet::from([id(&t.storm).to_string()]));
    assert_eq!(
        one["started_at"], t.storm["observed_at"],
        "back to the storm"
    );
    events_error(
        unlink(id(&t.protest)).await.unwrap(),
        404,
        "not_found",
        "not linked",
    )
    .await;
    assert_eq!(unlink(id(&t.storm)).await.unwrap().status(), 204);
    let none = get(&app, &path).await;
    assert_eq!(none["threat_links"], json!([]));
    assert_eq!(none["started_at"], Value::Null);

    // Link, unlink and link again: every step is on the timeline.
    json(link(vec![id(&t.storm)]).await, 200).await;
    let items = get(&app, &format!("{path}/activity")).await;
    let kinds: Vec<(&str, &str)> = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] != "threat_version")
        .map(|i| {
            (
                i["kind"].as_str().unwrap(),
                i["threat_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("threat_linked", id(&t.storm)),
            ("threat_linked", id(&t.protest)),
            ("threat_unlinked", id(&t.protest)),
            ("threat_unlinked", id(&t.storm)),
            ("threat_linked", id(&t.storm)),
        ]
    );
}

#[tokio::test]
async fn the_timeline_merges_links_with_threat_versions() {
    let (app, t) = with_threats().await;
    let protest = id(&t.protest).to_string();
    let inc = create(&app, json!({"title": "Marina", "threat_ids": [protest]})).await;
    let path = format!("/v1/incidents/{}/activity", id(&inc));
    let link_id = inc["threat_links"][0]["id"].clone();

    // The protest never changed: its version 1 is synthesised, dated at its creation, before
    // the link, so only the full timeline shows it, exactly as `/versions` does.
    let versions = get(&app, &format!("/v1/threats/{protest}/versions")).await;
    assert_eq!(versions["total"], 1);
    let short = get(&app, &path).await;
    assert_eq!(short["total"], 1, "{short}");
    assert_eq!(short["items"][0]["kind"], "threat_linked");
    assert_eq!(short["items"][0]["link_id"], link_id);
    assert_eq!(short["items"][0]["threat_id"], protest.as_str());
    assert_eq!(short["items"][0]["at"], inc["threat_links"][0]["added_at"]);
    let full = get(&app, &format!("{path}?include_versions_before_link=true")).await;
    assert_eq!(full["total"], 2, "{full}");
    assert_eq!(full["items"][0]["kind"], "threat_version");
    assert_eq!(full["items"][0]["threat_version"], versions["versions"][0]);
    assert_eq!(full["items"][0]["at"], versions["versions"][0]["at"]);
    assert_eq!(full["items"][0]["link_id"], link_id);
    assert_eq!(full["items"][1], short["items"][0]);
    assert_eq!(
        get(&app, &format!("{path}?include_versions_before_link=false")).await,
        short
    );

    // The event escalates after the link: version 2 joins the short timeline; the full one
    // shows version 1 as now stored, identical to what was synthesised.
    import_global(&app, &[unrest("Protest on the Marina turns violent", 1)]).await;
    let versions = get(&app, &format!("/v1/threats/{protest}/versions")).await;
    assert_eq!(versions["total"], 2, "{versions}");
    let short = get(&app, &path).await;
    let kinds: Vec<&str> = short["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["threat_linked", "threat_version"], "{short}");
    assert_eq!(short["items"][1]["threat_version"], versions["versions"][1]);
    assert_eq!(
        short["items"][1]["threat_version"]["changes"]["title"]["to"],
        "Protest on the Marina turns violent"
    );
    let full2 = get(&app, &format!("{path}?include_versions_before_link=true")).await;
    assert_eq!(full2["total"], 3);
    assert_eq!(
        full2["items"][0], full["items"][0],
        "the stored version 1 is the synthesised one"
    );
    let ats: Vec<&str> = full2["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["at"].as_str().unwrap())
        .collect();
    assert!(
        ats.windows(2).all(|w| w[0] <= w[1]),
        "sorted by at: {ats:?}"
    );

    // The link's summary follows the threat.
    let now = get(&app, &format!("/v1/incidents/{}", id(&inc))).await;
    assert_eq!(
        now["threat_links"][0]["threat"]["title"],
        "Protest on the Marina turns violent"
    );
}

#[tokio::test]
async fn lists_filter_page_and_order() {
    let (app, t) = with_threats().await;
    let a = create(&app, json!({"title": "A", "threat_ids": [id(&t.protest)]})).await;
    let b = create(
        &app,
        json!({"title": "B", "scope": "investigation", "threat_ids": [id(&t.storm)]}),
    )
    .await;
    let c = create(&app, json!({"title": "C", "scope": "investigation"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // Touching A makes it the most recently updated.
    json(
        app.send_json(
            Method::PATCH,
            &format!("/v1/incidents/{}", id(&a)),
            &json!({"status": "resolved"}),
        )
        .await,
        200,
    )
    .await;
    let titles = |v: &Value| -> Vec<String> {
        v["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_string())
            .collect()
    };
    let all = get(&app, "/v1/incidents").await;
    assert_eq!(all["total"], 3);
    assert_eq!(titles(&all)[0], "A", "{all}");
    let mut rest = titles(&all)[1..].to_vec();
    rest.sort();
    assert_eq!(rest, ["B", "C"]);
    // Full incidents in the list, links included.
    assert_eq!(
        all["incidents"][0]["threat_links"][0]["threat_id"],
        t.protest["id"]
    );

    let cases = [
        ("status=resolved", vec!["A"]),
        ("status=open", vec!["B", "C"]),
        ("status=closed", vec![]),
        ("scope=aggregate", vec!["A"]),
        ("scope=investigation&status=open", vec!["B", "C"]),
        ("asset_id=lagos-hq", vec!["A"]),
        ("asset_id=abuja-res", vec!["B"]),
        ("asset_id=lagos-hq&asset_id=abuja-res", vec!["A", "B"]),
        ("asset_id=nowhere", vec![]),
    ];
    for (query, want) in cases {
        let got = get(&app, &format!("/v1/incidents?{query}")).await;
        let mut names = titles(&got);
        names.sort();
        assert_eq!(names, want, "{query}");
        assert_eq!(got["total"], want.len(), "{query}");
    }
    // The server id of an asset works like its asset_id.
    let assets = get(&app, "/v1/assets").await;
    let abuja = assets["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["asset_id"] == "abuja-res")
        .unwrap();
    let got = get(&app, &format!("/v1/incidents?asset_id={}", id(abuja))).await;
    assert_eq!(titles(&got), ["B"]);

    let page = get(&app, "/v1/incidents?limit=1&offset=1").await;
    assert_eq!(page["total"], 3);
    assert_eq!(titles(&page), [titles(&all)[1].clone()]);
    let past = get(&app, "/v1/incidents?offset=5").await;
    assert_eq!(
        (past["total"].clone(), past["incidents"].clone()),
        (json!(3), json!([]))
    );
    let _ = (b, c);
}

/// The USGS fixture's 2018 Hualien sequence: every quake within 12 km of its centre (so any
/// two are within 25 km) over 70 hours, moved in time to end an hour ago, oldest first.
fn hualien_sequence() -> Vec<import::Record> {
    let bytes = std::fs::read(fixture("usgs-earthquakes-week.geojson")).unwrap();
    let mut quakes: Vec<picket_corpus::model::NewEvent> = import::parse(Format::Usgs, &bytes)
        .unwrap()
        .into_iter()
        .filter_map(|(_, r)| r.ok())
        .filter(|e| picket_corpus::grid::distance_km(e.lat, e.lng, 24.06, 121.74) <= 12.0)
        .collect();
    quakes.sort_by_key(|e| e.occurred_at);
    let last = quakes.last().unwrap().occurred_at;
    quakes.retain(|e| e.occurred_at >= last - 70 * 3_600_000);
    let shift = chrono::Utc::now().timestamp_millis() - 3_600_000 - last;
    quakes
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            e.occurred_at += shift;
            e.event_date = picket_core::time::to_datetime(e.occurred_at).date_naive();
            (i, Ok(e))
        })
        .collect()
}

async fn store_global(app: &TestApp, records: Vec<import::Record>) {
    let report = store_records(&app.state.db, Scope::Global, records)
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    run_pending_jobs(&app.state).await.unwrap();
}

#[tokio::test]
async fn clustered_earthquakes_open_one_aggregate_incident() {
    let app = spawn().await;
    let body = json!({"assets": [
        {"asset_id": "hualien-office", "type": "facility", "name": "Hualien office",
         "attributes": {"lat": 23.99, "lng": 121.60, "country": "TW"}}
    ]});
    json(app.send_json(Method::PUT, "/v1/assets", &body).await, 200).await;
    run_pending_jobs(&app.state).await.unwrap();
    let mut quakes = hualien_sequence();
    assert!(quakes.len() >= 5, "{} quakes", quakes.len());
    let latest = quakes.pop().unwrap();
    store_global(&app, quakes).await;
    // A protest at the office: another family, not part of the quakes' incident.
    import_global(&app, &[json!({"id": "rally-1", "title": "Rally at the station", "event_category": "civil_unrest",
        "severity": "medium", "event_date": day(0), "coordinates": [121.601, 23.991], "location_country": "TW",
        "source": "acled"})])
    .await;

    let threats = get(&app, "/v1/threats?threat_type=earthquake&limit=1000").await;
    let quake_threats: BTreeSet<String> = threats["threats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| id(t).to_string())
        .collect();
    assert!(quake_threats.len() >= 4, "{threats}");
    let list = get(&app, "/v1/incidents").await;
    assert_eq!(list["total"], 1, "{list}");
    let auto = list["incidents"][0].clone();
    assert_eq!(auto["scope"], "aggregate");
    assert_eq!(auto["status"], "open");
    assert_eq!(auto["title"], "Natural hazards near Hualien office");
    assert_eq!(
        linked(&auto),
        quake_threats,
        "every quake of the sequence, nothing else"
    );
    let earliest = threats["threats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["observed_at"].as_str().unwrap())
        .min()
        .unwrap();
    assert_eq!(auto["started_at"], earliest);
    assert_eq!(
        get(&app, "/v1/incidents?asset_id=hualien-office").await["total"],
        1
    );
    let auto_path = format!("/v1/incidents/{}", id(&auto));
    let activity = get(&app, &format!("{auto_path}/activity")).await;
    // Each threat was linked as it was created: its link item, and its version 1 (dated at
    // creation, the same instant, so not before the link).
    let kinds: Vec<&str> = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    let count = |k: &str| kinds.iter().filter(|x| **x == k).count();
    assert_eq!(count("threat_linked"), quake_threats.len(), "{activity}");
    assert_eq!(count("threat_version"), quake_threats.len(), "{activity}");

    // An analyst's investigation of one quake.
    let first = quake_threats.iter().next().unwrap().clone();
    let mine = create(&app, json!({"title": "Check the office structure", "scope": "investigation", "threat_ids": [first]})).await;
    let mine_path = format!("/v1/incidents/{}", id(&mine));

    // Re-evaluating every event (a scan) changes nothing.
    let res = app
        .send_json(
            Method::POST,
            "/v1/threats/scan",
            &json!({"lookback_hours": 720}),
        )
        .await;
    let scan = json(res, 202).await;
    run_pending_jobs(&app.state).await.unwrap();
    let done = get(
        &app,
        &format!("/v1/threats/scans/{}", scan["scan_id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(done["status"], "done", "{done}");
    assert!(
        done["threats_updated"].as_i64().unwrap() + done["events_examined"].as_i64().unwrap() > 0
    );
    let again = get(&app, "/v1/incidents").await;
    assert_eq!(again["total"], 2);
    assert_eq!(get(&app, &auto_path).await, auto, "no duplicate, no change");
    assert_eq!(get(&app, &mine_path).await, mine);

    // The last quake of the sequence arrives: it joins the open aggregate incident; the
    // analyst's investigation is left alone.
    store_global(&app, vec![latest]).await;
    let threats = get(&app, "/v1/threats?threat_type=earthquake&limit=1000").await;
    let all_quakes: BTreeSet<String> = threats["threats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| id(t).to_string())
        .collect();
    assert_eq!(all_quakes.len(), quake_threats.len() + 1);
    let extended = get(&app, &auto_path).await;
    assert_eq!(linked(&extended), all_quakes);
    assert_eq!(extended["created_at"], auto["created_at"]);
    assert_eq!(get(&app, "/v1/incidents?scope=aggregate").await["total"], 1);
    assert_eq!(get(&app, &mine_path).await, mine);

    // Resolved by an analyst, the incident keeps its threats; a re-evaluation opens nothing new.
    json(
        app.send_json(Method::PATCH, &auto_path, &json!({"status": "resolved"}))
            .await,
        200,
    )
    .await;
    let resolved = get(&app, &auto_path).await;
    let res = app
        .send_json(
            Method::POST,
            "/v1/threats/scan",
            &json!({"lookback_hours": 720}),
        )
        .await;
    json(res, 202).await;
    run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(get(&app, "/v1/incidents").await["total"], 2);
    assert_eq!(get(&app, &auto_path).await, resolved);
}

/// The engine's incident writes: opened incidents start at the earliest threat they link,
/// and one statement moves the start of many extended incidents, each to its own earliest,
/// only ever earlier, within the tenant.
#[tokio::test]
async fn engine_incident_starts_move_each_to_its_own_earliest_threat() {
    use picket_watch::incidents::store::{self, NewIncident};
    let app = spawn().await;
    let db = &app.state.db;
    let tenant = crate::helpers::tenant(db, "default").await.id;
    let other = app.tenant_key("acme", None).await;
    let other_tenant = crate::helpers::tenant(db, "acme").await.id;
    let new = |n: usize| NewIncident {
        id: format!("00000000-0000-7000-8000-00000000000{n}"),
        title: format!("incident {n}"),
        description: None,
        scope: "aggregate",
    };
    let mut tx = db.begin().await.unwrap();
    let opened: Vec<(NewIncident, Option<i64>)> = (1..=4)
        .map(|n| (new(n), Some(1_000_000 * n as i64)))
        .collect();
    store::insert_many(&mut tx, tenant, &opened, 50)
        .await
        .unwrap();
    // An incident of another tenant, named below with this tenant: it must not move.
    store::insert_many(&mut tx, other_tenant, &[(new(9), Some(9_000_000))], 50)
        .await
        .unwrap();
    // 1 gains an earlier threat, 2 a later one, 3 an earlier one, 4 nothing; 9 is the other
    // tenant's and is named with this tenant.
    let earliest = vec![
        (new(1).id, 500_000),
        (new(2).id, 2_500_000),
        (new(3).id, 10_000),
        (new(9).id, 1_000),
    ];
    store::links_added(&mut tx, tenant, &earliest, 60)
        .await
        .unwrap();
    let ids: Vec<String> = (1..=4).map(|n| new(n).id).collect();
    let mut rows = store::get_many(&mut tx, tenant, &ids).await.unwrap();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    let starts: Vec<(Option<i64>, i64)> =
        rows.iter().map(|r| (r.started_at, r.updated_at)).collect();
    assert_eq!(
        starts,
        [
            (Some(500_000), 60),
            (Some(2_000_000), 60),
            (Some(10_000), 60),
            (Some(4_000_000), 50)
        ]
    );
    let theirs = store::get_many(&mut tx, other_tenant, &[new(9).id])
        .await
        .unwrap();
    assert_eq!(
        (theirs[0].started_at, theirs[0].updated_at),
        (Some(9_000_000), 50),
        "another tenant's incident is out of reach"
    );
    tx.commit().await.unwrap();
    // The API shows the start as written, and the other tenant sees only its own.
    let one = get(&app, &format!("/v1/incidents/{}", new(1).id)).await;
    assert_eq!(one["status"], "open");
    assert_eq!(one["started_at"], picket_core::time::rfc3339(500_000));
    let res = app
        .client
        .get(format!("{}/v1/incidents/{}", app.base, new(1).id))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

/// The earthquake threats' ids, by the API.
async fn quake_threats(app: &TestApp) -> BTreeSet<String> {
    get(app, "/v1/threats?threat_type=earthquake&limit=1000").await["threats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| id(t).to_string())
        .collect()
}

/// The Hualien office and the quake sequence, stored but not evaluated: the engine's
/// batches are the test's. The events oldest first, the asset index, and the time.
async fn quakes_to_evaluate() -> (
    TestApp,
    Vec<picket_corpus::changes::ChangedEvent>,
    picket_watch::engine::AssetIndex,
    i64,
) {
    let app = spawn().await;
    let body = json!({"assets": [
        {"asset_id": "hualien-office", "type": "facility", "name": "Hualien office",
         "attributes": {"lat": 23.99, "lng": 121.60, "country": "TW"}}
    ]});
    json(app.send_json(Method::PUT, "/v1/assets", &body).await, 200).await;
    run_pending_jobs(&app.state).await.unwrap();
    let quakes = hualien_sequence();
    assert!(quakes.len() >= 5, "{} quakes", quakes.len());
    let db = &app.state.db;
    let report = store_records(db, Scope::Global, quakes).await.unwrap();
    assert!(report.rejected.is_empty());
    let mut events = picket_corpus::changes::changed_after(db, (i64::MIN, ""), 1000)
        .await
        .unwrap();
    events.sort_by_key(|e| e.occurred_at);
    let index = picket_watch::evaluation::load_index(db, None, None)
        .await
        .unwrap();
    (app, events, index, chrono::Utc::now().timestamp_millis())
}

/// One engine pass keeps what it read around its threats from one transaction to the next;
/// what analysts change in between (an incident resolved, a threat dismissed) is seen by the
/// next one, not answered from memory.
#[tokio::test]
async fn a_pass_sees_what_analysts_change_between_its_transactions() {
    use picket_watch::evaluation::{evaluate_batch, Nearby};
    let (app, events, index, now) = quakes_to_evaluate().await;
    let db = &app.state.db;
    let mut nearby = Nearby::default();

    // The first two quakes open an incident.
    evaluate_batch(db, &index, &events[..2], now, &mut nearby)
        .await
        .unwrap();
    let first = quake_threats(&app).await;
    assert_eq!(first.len(), 2);
    let list = get(&app, "/v1/incidents").await;
    assert_eq!(list["total"], 1, "{list}");
    let path = format!("/v1/incidents/{}", id(&list["incidents"][0]));
    assert_eq!(linked(&get(&app, &path).await), first);

    // Resolved by an analyst: the third quake does not join it (it would, were the pass to
    // go by what it read before), and alone it opens nothing.
    json(
        app.send_json(Method::PATCH, &path, &json!({"status": "resolved"}))
            .await,
        200,
    )
    .await;
    evaluate_batch(db, &index, &events[2..3], now, &mut nearby)
        .await
        .unwrap();
    let third: Vec<String> = quake_threats(&app)
        .await
        .difference(&first)
        .cloned()
        .collect();
    assert_eq!(third.len(), 1);
    assert_eq!(
        linked(&get(&app, &path).await),
        first,
        "a resolved incident gains nothing"
    );
    assert_eq!(get(&app, "/v1/incidents").await["total"], 1);

    // The third quake's threat dismissed: the next two open a new incident of their own,
    // without it.
    json(
        app.send_json(
            Method::PATCH,
            &format!("/v1/threats/{}", third[0]),
            &json!({"status": "dismissed", "dismissal_reason": "duplicate report"}),
        )
        .await,
        200,
    )
    .await;
    evaluate_batch(db, &index, &events[3..5], now, &mut nearby)
        .await
        .unwrap();
    let later: BTreeSet<String> = quake_threats(&app)
        .await
        .into_iter()
        .filter(|t| !first.contains(t) && *t != third[0])
        .collect();
    assert_eq!(later.len(), 2);
    let open = get(&app, "/v1/incidents?status=open").await;
    assert_eq!(open["total"], 1, "{open}");
    assert_eq!(linked(&open["incidents"][0]), later);
}

/// The generations behind the engine's memory: others' writes of a tenant's threats and
/// incidents advance that tenant's, a transaction that paused them does not, and a paused
/// transaction that fails leaves nothing paused.
#[tokio::test]
async fn writes_advance_the_writing_tenants_generation_unless_paused() {
    use picket_watch::evaluation::WATCHED;
    use picket_watch::incidents::store::{self, NewIncident};
    let app = spawn().await;
    let db = &app.state.db;
    let tenant = crate::helpers::tenant(db, "default").await.id;
    app.tenant_key("acme", None).await;
    let other = crate::helpers::tenant(db, "acme").await.id;
    let generations = move || async move {
        let mut tx = db.begin().await.unwrap();
        let g = WATCHED.generations(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        let read = |t: picket_core::identity::TenantId| g.get(&t.0).copied().unwrap_or(0);
        (read(tenant), read(other))
    };
    let (g0, o0) = generations().await;

    // An analyst's incident: this tenant's generation moves, the other's does not.
    create(
        &app,
        json!({"title": "Check the office", "scope": "investigation"}),
    )
    .await;
    let (g1, o1) = generations().await;
    assert!(g1 > g0, "{g0} → {g1}");
    assert_eq!(o1, o0);

    // A writer that paused the generations writes without moving them.
    let new = |n: u8| NewIncident {
        id: format!("00000000-0000-7000-8000-0000000000{n:02}"),
        title: format!("incident {n}"),
        description: None,
        scope: "aggregate",
    };
    let mut tx = db.begin().await.unwrap();
    WATCHED.pause(&mut tx).await.unwrap();
    store::insert_many(&mut tx, tenant, &[(new(1), None)], 50)
        .await
        .unwrap();
    WATCHED.resume(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(generations().await, (g1, o1));

    // Paused in a transaction that is rolled back: the next writer counts again.
    let mut tx = db.begin().await.unwrap();
    WATCHED.pause(&mut tx).await.unwrap();
    store::insert_many(&mut tx, tenant, &[(new(2), None)], 50)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    store::insert_many(&mut tx, tenant, &[(new(3), None)], 50)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (g2, o2) = generations().await;
    assert!(g2 > g1, "{g1} → {g2}");
    assert_eq!(o2, o1);
}

/// Two passes (an evaluation and a scan, say) each keep their own neighbourhood: what one
/// writes, the other reads again rather than answering from what it held.
#[tokio::test]
async fn two_passes_see_each_others_writes() {
    use picket_watch::evaluation::{evaluate_batch, Nearby};
    let (app, events, index, now) = quakes_to_evaluate().await;
    let db = &app.state.db;
    let (mut one, mut other) = (Nearby::default(), Nearby::default());
    // A rally at the office first, so that the first pass holds the tenant when it writes
    // the first quake (and so holds that quake as free of incidents).
    let rally = json!({"id": "rally-1", "title": "Rally at the station", "event_category": "civil_unrest",
        "severity": "medium", "event_date": day(0), "coordinates": [121.601, 23.991],
        "location_country": "TW", "source": "acled"});
    let records = import::parse(Format::Ndjson, format!("{rally}\n").as_bytes()).unwrap();
    store_records(db, Scope::Global, records).await.unwrap();
    let rally: Vec<_> = picket_corpus::changes::changed_after(db, (i64::MIN, ""), 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_category == "civil_unrest")
        .collect();
    assert_eq!(rally.len(), 1);
    evaluate_batch(db, &index, &rally, now, &mut one)
        .await
        .unwrap();
    // One quake alone opens nothing; the second, written by the other pass, opens an
    // incident of both.
    evaluate_batch(db, &index, &events[..1], now, &mut one)
        .await
        .unwrap();
    assert_eq!(get(&app, "/v1/incidents").await["total"], 0);
    evaluate_batch(db, &index, &events[1..2], now, &mut other)
        .await
        .unwrap();
    let list = get(&app, "/v1/incidents").await;
    assert_eq!(list["total"], 1, "{list}");
    // The third, back in the first pass, joins that incident: the first pass did not go by
    // its memory of the first quake as free and alone.
    evaluate_batch(db, &index, &events[2..3], now, &mut one)
        .await
        .unwrap();
    let list = get(&app, "/v1/incidents").await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(linked(&list["incidents"][0]), quake_threats(&app).await);
    assert_eq!(quake_threats(&app).await.len(), 3);
}
