//! `/v1/alerts/rules` and `/v1/alerts`: rule sets saved whole, alerts fired by the engine's
//! batches for events imported near assets, listed, filtered and triaged; muting, escalation
//! and the backfill after a rule change.

use picket_core::identity::Perm;
use picket_core::jobs::run_pending_jobs;
use picket_core::time::now_ms;
use picket_corpus::{changes, import, store_records, Scope};
use picket_watch::evaluation::{evaluate_batch, load_index, Nearby};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{events_error, json, spawn, TestApp};

const HOUR: i64 = 3_600_000;

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

async fn with_assets() -> (TestApp, Value) {
    let app = spawn().await;
    let body = json!({"assets": [
        {"asset_id": "lagos-hq", "type": "facility", "name": "Lagos HQ", "attributes": {"lat": 6.4541, "lng": 3.3947, "country": "NG"}},
        {"asset_id": "lagos-home", "type": "residence", "name": "Lagos residence", "attributes": {"lat": 6.46, "lng": 3.40, "country": "NG"}},
        {"asset_id": "abuja-res", "type": "residence", "name": "Abuja residence", "attributes": {"lat": 9.0765, "lng": 7.3986, "country": "NG"}}
    ]});
    let assets = json(app.send_json(Method::PUT, "/v1/assets", &body).await, 200).await;
    run_pending_jobs(&app.state).await.unwrap();
    (app, assets)
}

/// Global events, as `picket import events` stores them (their evaluation is enqueued).
async fn import_global(app: &TestApp, events: &[Value]) {
    let ndjson: String = events.iter().map(|e| format!("{e}\n")).collect();
    let records =
        import::parse(import::Format::parse("ndjson").unwrap(), ndjson.as_bytes()).unwrap();
    let report = store_records(&app.state.db, Scope::Global, records)
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
}

fn unrest(title: &str, severity: &str) -> Value {
    json!({"id": "unrest-1", "title": title, "event_category": "civil_unrest", "severity": severity,
        "event_date": today(), "coordinates": [3.396, 6.456], "location": "Marina, Lagos",
        "location_country": "NG", "source": "acled"})
}

fn storm() -> Value {
    json!({"id": "storm-1", "title": "Severe storm", "event_category": "weather", "severity": "critical",
        "event_date": today(), "coordinates": [7.45, 9.10], "location_country": "NG", "source": "gdacs"})
}

const ALL: [&str; 5] = ["critical", "high", "medium", "low", "negligible"];

fn rule(id: &str, title: &str) -> Value {
    json!({"id": id, "title": title, "enabled": true, "severity_threshold": ALL})
}

async fn put_rules(app: &TestApp, rules: Value) -> Value {
    json(
        app.send_json(Method::PUT, "/v1/alerts/rules", &json!({"rules": rules}))
            .await,
        200,
    )
    .await
}

async fn alerts(app: &TestApp, query: &str) -> Value {
    json(app.get(&format!("/v1/alerts{query}")).await, 200).await
}

fn titles(list: &Value) -> Vec<String> {
    let mut t: Vec<String> = list["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{}|{}",
                a["rule_id"].as_str().unwrap(),
                a["threat_title"].as_str().unwrap()
            )
        })
        .collect();
    t.sort();
    t
}

#[tokio::test]
async fn rule_sets_are_saved_whole_and_checked() {
    let app = spawn().await;
    let empty = json(app.get("/v1/alerts/rules").await, 200).await;
    assert_eq!(empty, json!({"rules": []}));

    let first = json!([
        {"id": "lagos", "title": "Lagos", "severity_threshold": ["critical", "high"],
         "asset_ids": ["lagos-hq"], "threat_types": ["civil_unrest"], "max_distance_km": 25,
         "mute_interval_hours": 6, "email_enabled": true, "sms_enabled": false, "slack_enabled": true,
         "user_receiver_type": "admins",
         "external_receivers": [{"email": "ops@example.com", "phone": "+234 800 000"}]},
        rule("any", "Anything")
    ]);
    let saved = put_rules(&app, first).await;
    let rules = saved["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    let lagos = &rules[0];
    assert_eq!(lagos["id"], "lagos");
    assert_eq!(lagos["severity_threshold"], json!(["critical", "high"]));
    assert_eq!(lagos["asset_ids"], json!(["lagos-hq"]));
    assert_eq!(lagos["max_distance_km"], 25.0);
    assert_eq!(lagos["mute_interval_hours"], 6.0);
    assert_eq!(lagos["user_receiver_type"], "admins");
    assert_eq!(
        lagos["external_receivers"],
        json!([{"email": "ops@example.com", "phone": "+234 800 000"}])
    );
    assert_eq!(
        (
            lagos["email_enabled"].clone(),
            lagos["slack_enabled"].clone()
        ),
        (json!(true), json!(true))
    );
    // Defaults: null filters, no mute, no channels, nobody.
    let any = &rules[1];
    assert_eq!(any["asset_ids"], Value::Null);
    assert_eq!(any["threat_types"], Value::Null);
    assert_eq!(any["max_distance_km"], Value::Null);
    assert_eq!(any["mute_interval_hours"], 0.0);
    assert_eq!(any["user_receiver_type"], "none");
    assert_eq!(any["external_receivers"], json!([]));
    let created = lagos["created_at"].as_str().unwrap().to_string();
    assert!(created.ends_with('Z'));
    assert_eq!(json(app.get("/v1/alerts/rules").await, 200).await, saved);

    // A second save: `any` is left out and removed, `lagos` keeps its created_at whatever the
    // client sends, `new` is added.
    let mut again = rule("lagos", "Lagos renamed");
    again["created_at"] = json!("2000-01-01T00:00:00Z");
    let saved = put_rules(&app, json!([rule("new", "New"), again])).await;
    let ids: Vec<&str> = saved["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["new", "lagos"]);
    assert_eq!(saved["rules"][1]["created_at"], created.as_str());
    assert_eq!(saved["rules"][1]["title"], "Lagos renamed");
    assert_eq!(saved["rules"][1]["asset_ids"], Value::Null);

    // Bad input: 400 naming the rule and field, nothing written.
    let before = json(app.get("/v1/alerts/rules").await, 200).await;
    let mut bad_severity = rule("x", "X");
    bad_severity["severity_threshold"] = json!(["high", "severe"]);
    let mut bad_receiver = rule("x", "X");
    bad_receiver["user_receiver_type"] = json!("everyone");
    let mut bad_mute = rule("x", "X");
    bad_mute["mute_interval_hours"] = json!(-1);
    let mut bad_distance = rule("x", "X");
    bad_distance["max_distance_km"] = json!(0);
    let mut unknown = rule("x", "X");
    unknown["colour"] = json!("red");
    for (rules, needle) in [
        (
            json!([rule("a", "A"), rule("b", "B"), rule("a", "Again")]),
            "rules[2].id",
        ),
        (
            json!([rule("a", "A"), bad_severity]),
            "rules[1].severity_threshold",
        ),
        (
            json!([{"id": "a", "severity_threshold": ["high"]}]),
            "title",
        ),
        (
            json!([{"title": "A", "severity_threshold": ["high"]}]),
            "id",
        ),
        (json!([{"id": "a", "title": "A"}]), "severity_threshold"),
        (
            json!([{"id": " ", "title": "A", "severity_threshold": ["high"]}]),
            "rules[0].id",
        ),
        (json!([bad_receiver]), "rules[0].user_receiver_type"),
        (json!([bad_mute]), "rules[0].mute_interval_hours"),
        (json!([bad_distance]), "rules[0].max_distance_km"),
        (json!([unknown]), "colour"),
    ] {
        events_error(
            app.send_json(Method::PUT, "/v1/alerts/rules", &json!({"rules": rules}))
                .await,
            400,
            "invalid_request",
            needle,
        )
        .await;
    }
    events_error(
        app.send_json(Method::PUT, "/v1/alerts/rules", &json!({}))
            .await,
        400,
        "invalid_request",
        "rules",
    )
    .await;
    events_error(
        app.get("/v1/alerts/rules?page=2").await,
        400,
        "invalid_request",
        "page",
    )
    .await;
    assert_eq!(json(app.get("/v1/alerts/rules").await, 200).await, before);

    // Permissions: reading needs perm_rules_r, saving perm_rules_w.
    let reader = app.tenant_key("default", Some(&[Perm::RulesR])).await;
    let res = app
        .req_as(&reader, Method::GET, "/v1/alerts/rules")
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 200).await, before);
    let res = app
        .req_as(&reader, Method::PUT, "/v1/alerts/rules")
        .json(&json!({"rules": []}))
        .send()
        .await
        .unwrap();
    events_error(res, 403, "forbidden", "").await;
    let nobody = app.tenant_key("default", Some(&[Perm::ThreatsR])).await;
    for path in ["/v1/alerts/rules", "/v1/alerts"] {
        let res = app.req_as(&nobody, Method::GET, path).send().await.unwrap();
        events_error(res, 403, "forbidden", "").await;
    }

    // An empty set removes every rule.
    assert_eq!(put_rules(&app, json!([])).await, json!({"rules": []}));
}

#[tokio::test]
async fn threats_near_assets_fire_alerts_that_are_listed_filtered_and_triaged() {
    let (app, assets) = with_assets().await;
    let abuja_uuid = assets["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["asset_id"] == "abuja-res")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut abuja = rule("abuja", "Abuja only");
    abuja["asset_ids"] = json!([abuja_uuid]);
    let mut weather = rule("weather", "Weather");
    weather["threat_types"] = json!(["weather"]);
    let mut close = rule("close", "Within 100 m");
    close["max_distance_km"] = json!(0.1);
    let mut off = rule("off", "Disabled");
    off["enabled"] = json!(false);
    let mut low = rule("low", "Low only");
    low["severity_threshold"] = json!(["negligible"]);
    put_rules(
        &app,
        json!([rule("any", "Anything"), abuja, weather, close, off, low]),
    )
    .await;
    run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(alerts(&app, "").await["total"], 0, "no threats yet");

    let t0 = now_ms();
    import_global(&app, &[unrest("Protest on the Marina", "high"), storm()]).await;
    run_pending_jobs(&app.state).await.unwrap();
    let all = alerts(&app, "").await;
    assert_eq!(all["total"], 4, "{all}");
    assert_eq!(
        titles(&all),
        [
            "abuja|Severe storm",
            "any|Protest on the Marina",
            "any|Severe storm",
            "weather|Severe storm"
        ]
    );
    // Newest first, then by id.
    let keys: Vec<(String, String)> = all["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["created_at"].as_str().unwrap().to_string(),
                a["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(keys, sorted);

    let threats = json(app.get("/v1/threats").await, 200).await;
    let protest = threats["threats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == "Protest on the Marina")
        .unwrap()
        .clone();
    let protest_id = protest["id"].as_str().unwrap();
    let one = alerts(&app, &format!("?rule_id=any&threat_id={protest_id}")).await;
    assert_eq!(one["total"], 1, "{one}");
    let a = &one["alerts"][0];
    assert_eq!(a["threat_id"], protest_id);
    assert_eq!(a["threat_title"], "Protest on the Marina");
    assert_eq!(a["alert_type"], "threat_created");
    assert_eq!(a["severity"], protest["severity"]);
    assert_eq!(a["state"], "new");
    assert_eq!(a["rule_id"], "any");
    assert_eq!(a["rule_title"], "Anything");
    assert_eq!(a["threat_type"], "civil_unrest");
    assert_eq!(a["threat_category"], "civil_unrest");
    assert_eq!(a["deliveries"], json!([]));
    assert!(
        a["title"]
            .as_str()
            .unwrap()
            .contains("Protest on the Marina"),
        "{a}"
    );
    assert!(a["message"].as_str().unwrap().contains("Lagos HQ"), "{a}");
    // Both Lagos assets are affected: the distances span them.
    let near = protest["affected_assets"][0]["distance_km"]
        .as_f64()
        .unwrap();
    let far = protest["affected_assets"][1]["distance_km"]
        .as_f64()
        .unwrap();
    assert_eq!(a["min_distance_km"].as_f64().unwrap(), near);
    assert_eq!(a["max_distance_km"].as_f64().unwrap(), far);
    assert_eq!(a["created_at"], a["updated_at"]);

    // Filters.
    assert_eq!(
        titles(&alerts(&app, "?rule_id=weather").await),
        ["weather|Severe storm"]
    );
    assert_eq!(alerts(&app, "?rule_id=nope").await["total"], 0);
    assert_eq!(
        titles(&alerts(&app, "?asset_id=lagos-hq").await),
        ["any|Protest on the Marina"]
    );
    assert_eq!(alerts(&app, "?asset_id=abuja-res").await["total"], 3);
    assert_eq!(
        alerts(&app, &format!("?asset_id={abuja_uuid}&asset_id=lagos-home")).await["total"],
        4
    );
    assert_eq!(alerts(&app, "?asset_id=nowhere").await["total"], 0);
    let storm_severity = all["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["threat_title"] == "Severe storm")
        .unwrap()["severity"]
        .as_str()
        .unwrap()
        .to_string();
    let by_severity = alerts(&app, &format!("?severity={storm_severity}")).await;
    assert!(by_severity["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["severity"] == storm_severity.as_str()));
    assert!(by_severity["total"].as_i64().unwrap() >= 3);
    let from = chrono::DateTime::from_timestamp_millis(t0 - 2_000)
        .unwrap()
        .to_rfc3339();
    let later = chrono::DateTime::from_timestamp_millis(t0 + HOUR)
        .unwrap()
        .to_rfc3339();
    let enc = |s: &str| s.replace('+', "%2B");
    assert_eq!(
        alerts(&app, &format!("?created_from={}", enc(&from))).await["total"],
        4
    );
    assert_eq!(
        alerts(&app, &format!("?created_from={}", enc(&later))).await["total"],
        0
    );
    assert_eq!(
        alerts(&app, &format!("?created_to={}", enc(&from))).await["total"],
        0
    );
    let page = alerts(&app, "?limit=1&offset=1").await;
    assert_eq!(page["total"], 4);
    assert_eq!(page["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(page["alerts"][0]["id"], all["alerts"][1]["id"]);
    for (query, needle) in [
        ("?state=open", "state"),
        ("?severity=severe", "severity"),
        ("?limit=0", "limit"),
        ("?limit=5001", "limit"),
        ("?offset=-1", "offset"),
        ("?created_from=yesterday", "created_from"),
        ("?sort=title", "sort"),
    ] {
        events_error(
            app.get(&format!("/v1/alerts{query}")).await,
            400,
            "invalid_request",
            needle,
        )
        .await;
    }

    // Get one; change its state, any state to any state.
    let id = a["id"].as_str().unwrap();
    assert_eq!(
        &json(app.get(&format!("/v1/alerts/{id}")).await, 200).await,
        a
    );
    let path = format!("/v1/alerts/{id}/state");
    for state in ["acked", "seen", "dismissed", "new", "acked"] {
        let changed = json(
            app.send_json(Method::PATCH, &path, &json!({"state": state}))
                .await,
            200,
        )
        .await;
        assert_eq!(changed["state"], state);
        assert_eq!(changed["id"], id);
    }
    let acked = alerts(&app, "?state=acked").await;
    assert_eq!(acked["total"], 1);
    assert_eq!(acked["alerts"][0]["id"], id);
    assert_eq!(alerts(&app, "?state=new&state=seen").await["total"], 3);
    for (body, needle) in [
        (json!({"state": "closed"}), "state"),
        (json!({}), "state"),
        (json!({"state": "seen", "note": "x"}), "note"),
    ] {
        events_error(
            app.send_json(Method::PATCH, &path, &body).await,
            400,
            "invalid_request",
            needle,
        )
        .await;
    }
    assert_eq!(
        json(app.get(&format!("/v1/alerts/{id}")).await, 200).await["state"],
        "acked"
    );
    let missing = "01890000-0000-7000-8000-000000000000";
    events_error(
        app.get(&format!("/v1/alerts/{missing}")).await,
        404,
        "not_found",
        missing,
    )
    .await;
    events_error(
        app.send_json(
            Method::PATCH,
            &format!("/v1/alerts/{missing}/state"),
            &json!({"state": "seen"}),
        )
        .await,
        404,
        "not_found",
        missing,
    )
    .await;
    let reader = app.tenant_key("default", Some(&[Perm::RulesR])).await;
    let res = app
        .req_as(&reader, Method::PATCH, &path)
        .json(&json!({"state": "seen"}))
        .send()
        .await
        .unwrap();
    events_error(res, 403, "forbidden", "").await;
}

/// One engine pass over every stored event at `now`, as the evaluation job runs it.
async fn evaluate_at(app: &TestApp, now: i64) {
    let db = &app.state.db;
    let index = load_index(db, None, None).await.unwrap();
    let events = changes::changed_after(db, (i64::MIN, ""), 1000)
        .await
        .unwrap();
    evaluate_batch(db, &index, &events, now, &mut Nearby::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_rule_is_muted_for_a_threat_within_its_interval() {
    let (app, _) = with_assets().await;
    let mut muted = rule("muted", "Muted for two hours");
    muted["mute_interval_hours"] = json!(2);
    put_rules(&app, json!([muted, rule("loud", "Never muted")])).await;
    run_pending_jobs(&app.state).await.unwrap();

    let t0 = now_ms();
    import_global(&app, &[unrest("Protest on the Marina", "high")]).await;
    evaluate_at(&app, t0).await;
    assert_eq!(alerts(&app, "?rule_id=muted").await["total"], 1);
    assert_eq!(alerts(&app, "?rule_id=loud").await["total"], 1);

    // Evaluated again without a material change: nothing new for either rule.
    evaluate_at(&app, t0).await;
    assert_eq!(alerts(&app, "").await["total"], 2);

    // A material update an hour later: the muted rule stays quiet, the other alerts.
    import_global(&app, &[unrest("Protest on the Marina grows", "high")]).await;
    evaluate_at(&app, t0 + HOUR).await;
    assert_eq!(alerts(&app, "?rule_id=muted").await["total"], 1);
    let loud = alerts(&app, "?rule_id=loud").await;
    assert_eq!(loud["total"], 2);
    assert_eq!(loud["alerts"][0]["alert_type"], "threat_updated");
    assert_eq!(
        loud["alerts"][0]["threat_title"],
        "Protest on the Marina grows"
    );

    // Past the interval, the next material update alerts again.
    import_global(&app, &[unrest("Protest on the Marina disperses", "high")]).await;
    evaluate_at(&app, t0 + 3 * HOUR).await;
    let m = alerts(&app, "?rule_id=muted").await;
    assert_eq!(m["total"], 2, "{m}");
    assert_eq!(m["alerts"][0]["alert_type"], "threat_updated");
    assert_eq!(
        m["alerts"][0]["threat_title"],
        "Protest on the Marina disperses"
    );
    assert_eq!(alerts(&app, "?rule_id=loud").await["total"], 3);
}

#[tokio::test]
async fn a_rise_in_severity_escalates() {
    let (app, _) = with_assets().await;
    put_rules(&app, json!([rule("any", "Anything")])).await;
    import_global(&app, &[unrest("Sit-in on the Marina", "low")]).await;
    run_pending_jobs(&app.state).await.unwrap();
    let threat = &json(app.get("/v1/threats").await, 200).await["threats"][0];
    let before = threat["severity"].as_str().unwrap().to_string();

    import_global(&app, &[unrest("Riot on the Marina", "critical")]).await;
    run_pending_jobs(&app.state).await.unwrap();
    let threat = &json(app.get("/v1/threats").await, 200).await["threats"][0];
    let after = threat["severity"].as_str().unwrap().to_string();
    let rank = |s: &str| ALL.iter().position(|x| *x == s).unwrap();
    assert!(rank(&after) < rank(&before), "{before} → {after}");

    let list = alerts(&app, "").await;
    assert_eq!(list["total"], 2, "{list}");
    let newest = &list["alerts"][0];
    assert_eq!(newest["alert_type"], "threat_escalated");
    assert_eq!(newest["severity"], after.as_str());
    assert!(
        newest["title"].as_str().unwrap().starts_with("Escalated"),
        "{newest}"
    );
    assert_eq!(list["alerts"][1]["alert_type"], "threat_created");

    // Back down: an update, not an escalation.
    import_global(&app, &[unrest("Sit-in on the Marina ends", "low")]).await;
    run_pending_jobs(&app.state).await.unwrap();
    let list = alerts(&app, "").await;
    assert_eq!(list["total"], 3);
    assert_eq!(list["alerts"][0]["alert_type"], "threat_updated");
}

#[tokio::test]
async fn saving_rules_backfills_alerts_for_active_threats() {
    let (app, _) = with_assets().await;
    import_global(&app, &[unrest("Protest on the Marina", "high"), storm()]).await;
    run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(json(app.get("/v1/threats").await, 200).await["total"], 2);
    assert_eq!(alerts(&app, "").await["total"], 0, "no rules, no alerts");

    // A dismissed threat is not active: the backfill leaves it out.
    let threats = json(app.get("/v1/threats").await, 200).await;
    let storm_id = threats["threats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == "Severe storm")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    json(
        app.send_json(
            Method::PATCH,
            &format!("/v1/threats/{storm_id}"),
            &json!({"status": "dismissed", "dismissal_reason": "drill"}),
        )
        .await,
        200,
    )
    .await;

    let mut off = rule("off", "Disabled");
    off["enabled"] = json!(false);
    put_rules(&app, json!([rule("any", "Anything"), off])).await;
    // The request does not wait for the backfill.
    assert_eq!(alerts(&app, "").await["total"], 0);
    run_pending_jobs(&app.state).await.unwrap();
    let list = alerts(&app, "").await;
    assert_eq!(titles(&list), ["any|Protest on the Marina"]);
    assert_eq!(list["alerts"][0]["alert_type"], "threat_created");

    // Saving again re-evaluates, but pairs that alerted before do not repeat; a new rule
    // catches up.
    put_rules(
        &app,
        json!([rule("any", "Anything"), rule("second", "Second")]),
    )
    .await;
    run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(
        titles(&alerts(&app, "").await),
        ["any|Protest on the Marina", "second|Protest on the Marina"]
    );

    // The dismissed storm's event changes: the threat updates, and stays quiet.
    let mut worse = storm();
    worse["title"] = json!("Severe storm strengthens");
    import_global(&app, &[worse]).await;
    run_pending_jobs(&app.state).await.unwrap();
    let threat = json(app.get(&format!("/v1/threats/{storm_id}")).await, 200).await;
    assert_eq!(threat["title"], "Severe storm strengthens");
    assert_eq!(threat["status"], "dismissed");
    assert_eq!(alerts(&app, "").await["total"], 2);
}
