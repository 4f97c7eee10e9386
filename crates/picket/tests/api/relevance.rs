//! Threat relevance end to end: the real feed samples (USGS, GDACS, CAP) imported with their
//! dates shifted to now, assets placed at known distances, the engine run as the jobs run it,
//! and the severities an analyst would expect asserted over HTTP; pushed reports; and the
//! migration job that re-scores threats written under the old model, with versions.

use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use picket_core::jobs::run_pending_jobs;
use picket_core::time::now_ms;
use picket_corpus::import::{self, Format};
use picket_corpus::taxonomy::Severity;
use picket_corpus::{store_records, Scope};
use picket_watch::engine::{AffectedDraft, Assessment, ThreatDraft};
use picket_watch::threats::writer;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{json, spawn, TestApp};

fn fixture(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The point `km` due east of `(lat, lng)` on the engine's mean sphere.
fn east(lat: f64, lng: f64, km: f64) -> (f64, f64) {
    let d = km / 6371.0088;
    let p1 = lat.to_radians();
    let p2 = (p1.sin() * d.cos()).asin();
    let l2 = lng.to_radians() + (d.sin() * p1.cos()).atan2(d.cos() - p1.sin() * p2.sin());
    (p2.to_degrees(), l2.to_degrees())
}

fn ms(t: &Value) -> i64 {
    DateTime::parse_from_rfc3339(t.as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

/// A tenant whose one facility is `km` east of `(lat, lng)`; its key.
async fn site_at(app: &TestApp, name: &str, lat: f64, lng: f64, km: f64) -> String {
    let key = app.tenant_key(name, None).await;
    let (alat, alng) = east(lat, lng, km);
    let body = json!({"assets": [{"asset_id": "site", "type": "facility", "name": format!("{name} site"),
        "attributes": {"lat": alat, "lng": alng}}]});
    json(
        app.req_as(&key, Method::PUT, "/v1/assets")
            .json(&body)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    key
}

async fn import(app: &TestApp, format: Format, text: &str) {
    let records = import::parse(format, text.as_bytes()).unwrap();
    let report = store_records(&app.state.db, Scope::Global, records)
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
}

/// The tenant's threat whose title starts with `prefix`, if any.
async fn threat(app: &TestApp, key: &str, prefix: &str) -> Option<Value> {
    let list = json(
        app.req_as(key, Method::GET, "/v1/threats?limit=5000")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    list["threats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"].as_str().unwrap().starts_with(prefix))
        .cloned()
}

/// Rewrites the text of every `<tag>…</tag>` with `f`.
fn map_tag(text: &str, tag: &str, f: impl Fn(&str) -> String) -> String {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(&open) {
        let start = i + open.len();
        let len = rest[start..].find(&close).unwrap();
        out.push_str(&rest[..start]);
        out.push_str(&f(&rest[start..start + len]));
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

/// The GDACS 7-day feed with the items `guids`, each shifted so that its last update
/// (`pubDate` or `todate`) was an hour ago; spans are kept.
fn gdacs(guids: &[&str]) -> String {
    let text = fixture("tests/fixtures/relevance/gdacs-rss-7d.xml");
    let at = Utc::now() - Duration::hours(1);
    let head = &text[..text.find("<item>").unwrap()];
    let tail = &text[text.rfind("</item>").unwrap() + "</item>".len()..];
    let mut out = head.to_string();
    for item in text.split("<item>").skip(1) {
        let item = &item[..item.find("</item>").unwrap()];
        if !guids.iter().any(|g| item.contains(&format!(">{g}</guid>"))) {
            continue;
        }
        let date = |tag: &str| {
            let v = &item[item.find(&format!("<{tag}>")).unwrap() + tag.len() + 2..];
            DateTime::parse_from_rfc2822(&v[..v.find('<').unwrap()]).unwrap()
        };
        let shift = at.signed_duration_since(date("pubDate").max(date("gdacs:todate")));
        let mut item = item.to_string();
        for tag in ["pubDate", "gdacs:fromdate", "gdacs:todate"] {
            item = map_tag(&item, tag, |v| {
                (DateTime::parse_from_rfc2822(v).unwrap() + shift).to_rfc2822()
            });
        }
        out.push_str(&format!("<item>{item}</item>"));
    }
    out.push_str(tail);
    out
}

/// USGS features `ids` of the real week, each `hours_ago` old.
fn usgs(ids: &[&str], hours_ago: i64) -> String {
    let mut doc: Value = serde_json::from_str(&fixture(
        "../picket-corpus/tests/fixtures/usgs-earthquakes-week.geojson",
    ))
    .unwrap();
    let at = now_ms() - hours_ago * 3_600_000;
    let features: Vec<Value> = doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| ids.contains(&f["id"].as_str().unwrap()))
        .map(|f| {
            let mut f = f.clone();
            let shift = at - f["properties"]["time"].as_i64().unwrap();
            for k in ["time", "updated"] {
                f["properties"][k] = json!(f["properties"][k].as_i64().unwrap() + shift);
            }
            f
        })
        .collect();
    assert_eq!(features.len(), ids.len());
    doc["features"] = Value::Array(features);
    doc.to_string()
}

fn severity(t: &Value) -> &str {
    t["severity"].as_str().unwrap()
}

#[tokio::test]
async fn real_earthquakes_score_by_the_shaking_at_the_asset() {
    let app = spawn().await;
    // Hualien, Taiwan, 6 Feb 2018: M6.4 at 10.64 km depth (USGS). The GDACS 7-day feed's
    // M5.3 at 10 km (Green), the example: risk 9, negligible, before.
    let (hl, hg) = (24.1737, 121.653);
    let (gl, gg) = (-52.8544, 11.3526);
    let near_taiwan = site_at(&app, "taiwan-10", hl, hg, 10.0).await;
    let mid_taiwan = site_at(&app, "taiwan-150", hl, hg, 150.0).await;
    let near_gdacs = site_at(&app, "gdacs-5", gl, gg, 5.0).await;
    let far_gdacs = site_at(&app, "gdacs-200", gl, gg, 200.0).await;
    import(&app, Format::Usgs, &usgs(&["us1000chhc"], 1)).await;
    import(&app, Format::Gdacs, &gdacs(&["EQ1200043"])).await;
    run_pending_jobs(&app.state).await.unwrap();

    // 10 km from Hualien: hypocentral 14.6 km, MMI 7.3 (VII): high.
    let t = threat(&app, &near_taiwan, "M 6.4").await.expect("a threat");
    assert_eq!(severity(&t), "high", "{t}");
    assert_eq!(t["likelihood"], "almost_certain");
    let impact = t["impact_rationale"].as_str().unwrap();
    assert!(impact.contains("MMI 7.3 (VII)"), "{impact}");
    assert!(impact.contains("Allen, Wald & Worden (2012)"), "{impact}");
    // USGS's own records say `USGS`: still an authoritative network.
    assert!(
        t["likelihood_rationale"]
            .as_str()
            .unwrap()
            .contains("observed by USGS"),
        "{t}"
    );
    // 150 km away: MMI 4.3 (IV), low.
    let t = threat(&app, &mid_taiwan, "M 6.4").await.expect("a threat");
    assert_eq!(severity(&t), "low", "{t}");

    // The M5.3 5 km away: MMI 6.2 (VI), high; 200 km away it is outside the 150 km radius.
    let t = threat(&app, &near_gdacs, "Green earthquake")
        .await
        .expect("a threat");
    assert_eq!(severity(&t), "high", "{t}");
    assert_eq!(t["risk_score"], 67.3);
    assert!(threat(&app, &far_gdacs, "Green earthquake").await.is_none());
}

#[tokio::test]
async fn an_ongoing_cyclone_and_drought_are_judged_by_their_last_update() {
    let app = spawn().await;
    // Phanfone (GDACS Orange, 175.9 km/h), first reported a week before its last update; an
    // Orange drought that began fourteen months before its last update. Before, both were
    // judged by their start and too old to make a threat.
    let storm = site_at(&app, "storm-5", 14.6, 112.1, 5.0).await;
    let storm_far = site_at(&app, "storm-400", 14.6, 112.1, 400.0).await;
    let drought = site_at(&app, "drought-5", -22.932, 22.348, 5.0).await;
    import(&app, Format::Gdacs, &gdacs(&["TC1000641", "DR1012728"])).await;
    run_pending_jobs(&app.state).await.unwrap();

    let t = threat(&app, &storm, "Orange alert for tropical cyclone PHANFONE")
        .await
        .expect("a threat");
    // Within the radius of maximum wind: 175.9 km/h, category 2: high.
    assert_eq!(severity(&t), "high", "{t}");
    assert!(t["impact_rationale"]
        .as_str()
        .unwrap()
        .contains("176 km/h (category 2)"));
    let last_update = now_ms() - 3_600_000;
    assert!(
        (ms(&t["expires_at"]) - (last_update + 72 * 3_600_000)).abs() < 60_000,
        "{t}"
    );
    assert!(
        ms(&t["observed_at"]) < last_update - 6 * 24 * 3_600_000,
        "observed since its start: {t}"
    );
    // Gale force reaches 40·(175.9/63)² = 312 km: 400 km out, no threat.
    assert!(threat(&app, &storm_far, "Orange alert").await.is_none());

    let t = threat(&app, &drought, "Drought is on going in Angola")
        .await
        .expect("a threat");
    assert_eq!(severity(&t), "high", "GDACS Orange: {t}");
    assert!(
        (ms(&t["expires_at"]) - (last_update + 72 * 3_600_000)).abs() < 60_000,
        "{t}"
    );
    assert!(
        ms(&t["observed_at"]) < last_update - 400 * 24 * 3_600_000,
        "began in October 2018: {t}"
    );
}

#[tokio::test]
async fn a_severe_thunderstorm_warning_is_high_inside_its_area() {
    let app = spawn().await;
    let text = fixture("tests/fixtures/relevance/cap12-severe-thunderstorm.xml");
    let sent = DateTime::parse_from_rfc3339("2003-06-17T14:57:00-07:00").unwrap();
    let shift = (Utc::now() - Duration::minutes(30)).signed_duration_since(sent);
    let mut text = text;
    for tag in ["sent", "expires"] {
        text = map_tag(&text, tag, |v| {
            (DateTime::parse_from_rfc3339(v).unwrap() + shift).to_rfc3339()
        });
    }
    // Inside the polygon, and 150 km east of it (beyond the 100 km weather radius).
    let inside = site_at(&app, "inside", 38.48, -119.92, 0.0).await;
    let beyond = site_at(&app, "beyond", 38.48, -119.74, 150.0).await;
    import(&app, Format::Cap, &text).await;
    run_pending_jobs(&app.state).await.unwrap();
    let t = threat(&app, &inside, "SEVERE THUNDERSTORM")
        .await
        .expect("a threat");
    assert_eq!(severity(&t), "high", "{t}");
    assert_eq!(
        t["risk_score"], 75.0,
        "Severe, Observed, Immediate: 1 × 0.75"
    );
    assert!(t["impact_rationale"]
        .as_str()
        .unwrap()
        .contains("inside the warning area"));
    assert_eq!(t["location_precision_level"], "exact");
    assert!(threat(&app, &beyond, "SEVERE THUNDERSTORM").await.is_none());
}

#[tokio::test]
async fn a_pushed_bombing_next_to_a_facility_is_high() {
    let app = spawn().await;
    let key = site_at(&app, "plant", 6.4541, 3.3947, 0.0).await;
    let (lat, lng) = east(6.4541, 3.3947, 1.6);
    let d = Utc::now().format("%Y-%m-%d").to_string();
    let body = json!([{"title": "Car bomb near the plant gate", "event_category": "terrorism", "event_type": "bombing",
        "severity": "high", "event_date": d, "coordinates": [lng, lat]},
        {"title": "Peaceful march on the ring road", "event_category": "civil_unrest", "event_type": "protest",
        "severity": "high", "event_date": d, "coordinates": [lng, lat]}]);
    json(
        app.req_as(&key, Method::POST, "/v1/events")
            .json(&body)
            .send()
            .await
            .unwrap(),
        202,
    )
    .await;
    run_pending_jobs(&app.state).await.unwrap();
    let bomb = threat(&app, &key, "Car bomb").await.expect("a threat");
    // Was risk 29, low: now the tenant's own report (0.85, recency by the hours of the day
    // gone) of an attack 1.6 km away.
    assert_eq!(severity(&bomb), "high", "{bomb}");
    let march = threat(&app, &key, "Peaceful march")
        .await
        .expect("a threat");
    assert!(
        bomb["risk_score"].as_f64().unwrap() > march["risk_score"].as_f64().unwrap(),
        "a bombing is not a protest"
    );
}

/// The assessment the first scoring model gave the Hualien quake 5 km from a facility.
fn old_assessment() -> Assessment {
    Assessment {
        likelihood: "possible",
        impact_severity: "moderate",
        risk_score: 9.0,
        severity: Severity::Negligible,
        likelihood_rationale: "possible (0.39): source USGS reliability 0.65".into(),
        impact_rationale: "moderate (0.47)".into(),
    }
}

#[tokio::test]
async fn threats_scored_by_the_old_model_are_rescored_with_versions() {
    let app = spawn().await;
    let key = site_at(&app, "old-site", 24.1737, 121.653, 10.0).await;
    // A quake an hour old and one five days old (past its 72 h window).
    import(&app, Format::Usgs, &usgs(&["us1000chhc"], 1)).await;
    import(&app, Format::Usgs, &usgs(&["us1000cfn6"], 120)).await;

    // As in a database from before: threats the old model wrote, and no model recorded.
    let events = json(
        app.req_as(&key, Method::GET, "/v1/events?limit=10")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let db = &app.state.db;
    let tenant = crate::helpers::tenant(db, "old-site").await;
    let asset = &picket_watch::assets::store::list(db, tenant.id, None, None)
        .await
        .unwrap()[0];
    let now = now_ms();
    for e in events["events"].as_array().unwrap() {
        let (lng, lat) = (
            e["coordinates"][0].as_f64().unwrap(),
            e["coordinates"][1].as_f64().unwrap(),
        );
        let day = chrono::NaiveDate::parse_from_str(e["event_date"].as_str().unwrap(), "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        let draft = ThreatDraft {
            tenant_id: tenant.id,
            event_id: e["id"].as_str().unwrap().into(),
            title: e["title"].as_str().unwrap().into(),
            description: None,
            threat_type: "earthquake".into(),
            category: "geological".into(),
            location: e["location"].as_str().unwrap_or("").into(),
            location_country: None,
            lat,
            lng,
            observed_at: day,
            expires_at: day + 72 * 3_600_000,
            sources: vec!["usgs".into()],
            attribution_types: vec!["feed".into()],
            assessment: old_assessment(),
            threat_rationale: "medium geological event".into(),
            location_precision_level: "exact".into(),
            location_uncertainty_km: Some(1.0),
            affected: vec![AffectedDraft {
                asset_uuid: asset.id.clone(),
                asset_id: "site".into(),
                asset_name: asset.name.clone(),
                asset_type: "facility".into(),
                distance_km: 10.0,
            }],
        };
        let mut tx = db.begin().await.unwrap();
        writer::upsert(&mut tx, &draft, now).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(
        picket_watch::threats::store::expire(db, now).await.unwrap(),
        1,
        "the old quake's threat has ended"
    );

    // The first evaluation pass finds the model older and re-scores both.
    run_pending_jobs(&app.state).await.unwrap();
    for (prefix, status) in [("M 6.4", "active"), ("M 6.1", "ended")] {
        let t = threat(&app, &key, prefix).await.expect("the threat");
        assert_eq!(severity(&t), "high", "{t}");
        assert_eq!(t["status"], status, "re-scoring reopens nothing: {t}");
        assert_eq!(t["version_count"], 2, "{t}");
        let id = t["id"].as_str().unwrap();
        let v = json(
            app.req_as(&key, Method::GET, &format!("/v1/threats/{id}/versions"))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        assert_eq!(v["total"], 2, "{v}");
        let changes = &v["versions"][1]["changes"];
        assert_eq!(
            changes["severity"],
            json!({"from": "negligible", "to": "high"}),
            "{v}"
        );
        assert_eq!(changes["risk_score"]["from"], 9.0);
        assert_eq!(v["versions"][0]["snapshot"]["severity"], "negligible");
    }
    // Once per model: the next pass writes no version.
    picket_watch::evaluation::evaluate_changed(&app.state)
        .await
        .unwrap();
    let t = threat(&app, &key, "M 6.4").await.unwrap();
    assert_eq!(t["version_count"], 2);
    assert_eq!(
        picket_watch::evaluation::rescore_if_outdated(db, now_ms())
            .await
            .unwrap(),
        None
    );
}
