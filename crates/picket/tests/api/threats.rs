//! `/v1/threats`: threats written the way the engine writes them (matching + scoring +
//! writer), read and triaged over HTTP.

use picket_core::time::now_ms;
use picket_corpus::taxonomy::{EventAttributes, Severity};
use picket_watch::assets::store as assets;
use picket_watch::engine::{self, score, AssetIndex, EventFacts, Hazard, Locus, Site, SourceKind};
use picket_watch::threats::writer::{self, AffectedDraft, ThreatDraft, Written};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{events_error, json, spawn, spawn_with, TestApp};

const HOUR: i64 = 3_600_000;

struct Event {
    id: &'static str,
    title: &'static str,
    category: &'static str,
    severity: Severity,
    source: &'static str,
    lat: f64,
    lng: f64,
    observed_at: i64,
}

/// What the engine does for one event: match against the tenant's assets, score against the
/// nearest, write the threat.
async fn evaluate(app: &TestApp, tenant: &str, e: &Event) -> Option<Written> {
    let db = &app.state.db;
    let t = crate::helpers::tenant(db, tenant).await;
    let rows = assets::list(db, t.id, None, None).await.unwrap();
    let index = AssetIndex::new(
        rows.iter()
            .filter_map(picket_watch::evaluation::monitored)
            .collect(),
    );
    let age_hours = (now_ms() - e.observed_at) as f64 / HOUR as f64;
    let none = EventAttributes::default();
    let kind = SourceKind::of(e.source, e.source);
    let hazard = Hazard::of(kind, e.category, "", &none);
    let locus = Locus {
        tenant: Some(t.id.0),
        category: e.category,
        event_type: "",
        default_km: engine::rules::default_radius_km(e.category, hazard),
        widen_km: 0.0,
        area: None,
        lat: e.lat,
        lng: e.lng,
        country: Some("NG"),
        age_hours,
    };
    let matches = index.matches(&locus);
    let nearest = matches.first()?;
    let a = &index.assets()[nearest.asset];
    let max_age = engine::rules::max_age_hours(e.category, &a.max_age_hours_by_category);
    let facts = EventFacts {
        kind,
        hazard,
        category: e.category,
        event_type: "",
        severity: e.severity,
        source: e.source,
        distinct_sources: 1,
        article_count: 1,
        age_hours,
        max_age_hours: max_age,
        attributes: &none,
    };
    let assessment = score::assess(
        &facts,
        &Site {
            name: &a.name,
            asset_type: &a.asset_type,
            distance_km: nearest.distance_km,
            area_km: nearest.area_km,
            radius_km: nearest.radius_km,
        },
    );
    let draft = ThreatDraft {
        tenant_id: t.id,
        event_id: e.id.into(),
        title: e.title.into(),
        description: None,
        threat_type: e.category.into(),
        category: e.category.into(),
        location: "Lagos, NG".into(),
        location_country: Some("NG".into()),
        lat: e.lat,
        lng: e.lng,
        observed_at: e.observed_at,
        expires_at: e.observed_at + (max_age * HOUR as f64) as i64,
        sources: vec![e.source.into()],
        attribution_types: vec!["media".into()],
        threat_rationale: format!("{} near {}", e.category, a.name),
        location_precision_level: "exact".into(),
        location_uncertainty_km: Some(1.0),
        affected: matches
            .iter()
            .map(|m| {
                let a = &index.assets()[m.asset];
                AffectedDraft {
                    asset_uuid: a.id.clone(),
                    asset_id: a.asset_id.clone(),
                    asset_name: a.name.clone(),
                    asset_type: a.asset_type.clone(),
                    distance_km: m.distance_km,
                }
            })
            .collect(),
        assessment,
    };
    let mut tx = db.begin().await.unwrap();
    let w = writer::upsert(&mut tx, &draft, now_ms()).await.unwrap();
    tx.commit().await.unwrap();
    Some(w)
}

async fn setup() -> (TestApp, Value) {
    setup_app(spawn().await).await
}

async fn setup_app(app: TestApp) -> (TestApp, Value) {
    let body = json!({"assets": [
        {"asset_id": "lagos-hq", "type": "facility", "name": "Lagos HQ", "attributes": {"lat": 6.4541, "lng": 3.3947, "country": "NG"}},
        {"asset_id": "lagos-home", "type": "residence", "name": "Lagos residence", "attributes": {"lat": 6.46, "lng": 3.40, "country": "NG"}},
        {"asset_id": "abuja-res", "type": "residence", "name": "Abuja residence", "attributes": {"lat": 9.0765, "lng": 7.3986, "country": "NG"}}
    ]});
    let assets = json(app.send_json(Method::PUT, "/v1/assets", &body).await, 200).await;
    (app, assets)
}

fn unrest(severity: Severity) -> Event {
    Event {
        id: "acled-1",
        title: "Protest on the Marina",
        category: "civil_unrest",
        severity,
        source: "acled",
        lat: 6.50,
        lng: 3.40,
        observed_at: now_ms() - 2 * HOUR,
    }
}

#[tokio::test]
async fn engine_written_threats_read_over_http() {
    let (app, assets) = setup().await;
    let created = evaluate(&app, "default", &unrest(Severity::High))
        .await
        .unwrap();
    let Written::Created(id) = created else {
        panic!("first evaluation creates")
    };

    let list = json(app.get("/v1/threats").await, 200).await;
    assert_eq!(list["total"], 1);
    let t = &list["threats"][0];
    assert_eq!(t["id"], id.as_str());
    assert_eq!(t["status"], "active");
    assert_eq!(t["version_count"], 1);
    // Nearest first; Abuja (530 km away) is not affected by a 10 km unrest radius.
    let affected: Vec<(&str, f64)> = t["affected_assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["asset_id"].as_str().unwrap(),
                a["distance_km"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        affected.iter().map(|a| a.0).collect::<Vec<_>>(),
        vec!["lagos-home", "lagos-hq"]
    );
    assert!((affected[1].1 - 5.137).abs() < 0.01, "{affected:?}");
    assert_eq!(t["coordinates"], json!({"lat": 6.5, "lng": 3.4}));
    let score = t["risk_score"].as_f64().unwrap();
    assert_eq!(
        t["severity"],
        Severity::from_score(score).as_str(),
        "severity is the band of the score"
    );
    assert_eq!(t["risk_level"], t["severity"]);
    assert!(
        t["impact_rationale"]
            .as_str()
            .unwrap()
            .contains("Lagos residence"),
        "{t}"
    );
    // The page's assets are summarised, with their current details.
    let names: Vec<&str> = list["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["asset_id"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["lagos-home", "lagos-hq"]);
    assert_eq!(list["assets"][1]["lat"], 6.4541);

    let one = json(app.get(&format!("/v1/threats/{id}")).await, 200).await;
    assert_eq!(&one, t);

    // Filters by either asset id form.
    let hq_uuid = assets["assets"][0]["id"].as_str().unwrap();
    for key in ["lagos-hq", hq_uuid] {
        assert_eq!(
            json(app.get(&format!("/v1/threats?asset_id={key}")).await, 200).await["total"],
            1
        );
    }
    assert_eq!(
        json(app.get("/v1/threats?asset_id=abuja-res").await, 200).await["total"],
        0
    );
    assert_eq!(
        json(
            app.get("/v1/threats?asset_id=abuja-res&asset_id=lagos-hq")
                .await,
            200
        )
        .await["total"],
        1,
        "values of one filter OR"
    );
}

#[tokio::test]
async fn updates_version_and_triage_survives() {
    let (app, _) = setup().await;
    let Written::Created(id) = evaluate(&app, "default", &unrest(Severity::Medium))
        .await
        .unwrap()
    else {
        panic!()
    };
    // Same event, same facts: no new version.
    let again = evaluate(&app, "default", &unrest(Severity::Medium))
        .await
        .unwrap();
    assert!(
        matches!(&again, Written::Updated(i, changed) if *i == id && changed.is_empty()),
        "{again:?}"
    );
    // Before any material change, version 1 is the threat as it stands.
    let before = json(app.get(&format!("/v1/threats/{id}")).await, 200).await;
    let v = json(app.get(&format!("/v1/threats/{id}/versions")).await, 200).await;
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["versions"][0]["version"], 1);
    assert_eq!(v["versions"][0]["at"], before["created_at"]);
    assert_eq!(v["versions"][0]["changes"], json!({}));
    assert_eq!(v["versions"][0]["snapshot"], before);

    // Escalation: a version recording what changed.
    let up = evaluate(&app, "default", &unrest(Severity::Critical))
        .await
        .unwrap();
    let Written::Updated(_, changed) = up else {
        panic!()
    };
    assert!(changed.contains(&"risk_score".to_string()), "{changed:?}");

    let v = json(app.get(&format!("/v1/threats/{id}/versions")).await, 200).await;
    assert_eq!(v["total"], 2);
    assert_eq!(v["versions"][0]["version"], 1);
    assert_eq!(v["versions"][1]["version"], 2);
    assert_eq!(
        v["versions"][0]["snapshot"], before,
        "version 1 keeps the threat as it was before the change"
    );
    assert_eq!(v["versions"][0]["at"], before["created_at"]);
    let from = v["versions"][1]["changes"]["risk_score"]["from"]
        .as_f64()
        .unwrap();
    let to = v["versions"][1]["changes"]["risk_score"]["to"]
        .as_f64()
        .unwrap();
    assert!(to > from);
    assert_eq!(
        v["versions"][1]["snapshot"]["risk_score"].as_f64().unwrap(),
        to
    );
    // The snapshot is built as the row is written; it must be the threat as stored.
    let current = json(app.get(&format!("/v1/threats/{id}")).await, 200).await;
    assert_eq!(
        v["versions"][1]["snapshot"], current,
        "a version's snapshot is the threat as read back"
    );

    // Triage: dismissing needs a reason; pinning and dismissal survive the next update.
    let path = format!("/v1/threats/{id}");
    events_error(
        app.send_json(Method::PATCH, &path, &json!({"status": "dismissed"}))
            .await,
        400,
        "invalid_request",
        "dismissal_reason",
    )
    .await;
    events_error(
        app.send_json(Method::PATCH, &path, &json!({"status": "closed"}))
            .await,
        400,
        "invalid_request",
        "status",
    )
    .await;
    events_error(
        app.send_json(Method::PATCH, &path, &json!({})).await,
        400,
        "invalid_request",
        "at least one",
    )
    .await;
    let t = json(
        app.send_json(
            Method::PATCH,
            &path,
            &json!({"status": "dismissed", "dismissal_reason": "planned march", "pinned": true}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(t["status"], "dismissed");
    assert_eq!(t["dismissal_reason"], "planned march");
    assert_eq!(t["pinned"], true);
    evaluate(
        &app,
        "default",
        &Event {
            title: "Protest grows on the Marina",
            ..unrest(Severity::Critical)
        },
    )
    .await
    .unwrap();
    let t = json(app.get(&path).await, 200).await;
    assert_eq!(t["status"], "dismissed", "dismissed stays dismissed");
    assert_eq!(t["pinned"], true, "pinned stays pinned");
    assert_eq!(t["title"], "Protest grows on the Marina");
    assert_eq!(t["version_count"], 3);

    // Filters and sorting.
    assert_eq!(
        json(
            app.get("/v1/threats?status=dismissed&pinned=true").await,
            200
        )
        .await["total"],
        1
    );
    assert_eq!(
        json(app.get("/v1/threats?status=active").await, 200).await["total"],
        0
    );
    assert_eq!(
        json(app.get("/v1/threats?severity=negligible").await, 200).await["total"],
        0
    );

    // Developments.
    let mut tx = app.state.db.begin().await.unwrap();
    writer::add_development(
        &mut tx,
        &id,
        "Police disperse crowd",
        now_ms(),
        "acled-2",
        "acled",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let d = json(
        app.get(&format!("/v1/threats/{id}/developments")).await,
        200,
    )
    .await;
    assert_eq!(d["total"], 1);
    assert_eq!(d["developments"][0]["title"], "Police disperse crowd");
    let t = json(app.get(&path).await, 200).await;
    assert_eq!(t["development_count"], 1);
    assert_eq!(t["latest_development_title"], "Police disperse crowd");
}

#[tokio::test]
async fn paging_sorting_validation_and_isolation() {
    let (app, _) = setup().await;
    let now = now_ms();
    for (i, sev) in [Severity::Low, Severity::Critical, Severity::Medium]
        .into_iter()
        .enumerate()
    {
        let id = Box::leak(format!("e{i}").into_boxed_str());
        evaluate(
            &app,
            "default",
            &Event {
                id,
                observed_at: now - (i as i64 + 1) * HOUR,
                ..unrest(sev)
            },
        )
        .await
        .unwrap();
    }
    let all = json(app.get("/v1/threats").await, 200).await;
    assert_eq!(all["total"], 3);
    let observed: Vec<&str> = all["threats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["observed_at"].as_str().unwrap())
        .collect();
    assert!(
        observed.windows(2).all(|w| w[0] >= w[1]),
        "newest first by default: {observed:?}"
    );
    let by_risk = json(app.get("/v1/threats?sort=risk_score&order=asc").await, 200).await;
    let scores: Vec<f64> = by_risk["threats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["risk_score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] <= w[1]), "{scores:?}");
    let page = json(app.get("/v1/threats?limit=1&offset=1").await, 200).await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["threats"].as_array().unwrap().len(), 1);
    assert_eq!(page["threats"][0]["id"], all["threats"][1]["id"]);
    let from = picket_core::time::rfc3339(now - 2 * HOUR - 60_000);
    assert_eq!(
        json(
            app.get(&format!("/v1/threats?observed_from={from}")).await,
            200
        )
        .await["total"],
        2
    );

    for (q, needle) in [
        ("limit=0", "limit"),
        ("limit=5001", "limit"),
        ("offset=-1", "offset"),
        ("sort=title", "sort"),
        ("severity=severe", "severity"),
        ("observed_from=yesterday", "observed_from"),
        ("colour=red", "colour"),
    ] {
        events_error(
            app.get(&format!("/v1/threats?{q}")).await,
            400,
            "invalid_request",
            needle,
        )
        .await;
    }
    events_error(
        app.get("/v1/threats/00000000-0000-0000-0000-000000000000")
            .await,
        404,
        "not_found",
        "no threat",
    )
    .await;

    // Another tenant sees none of it, and a key without the permission gets 403.
    let id = all["threats"][0]["id"].as_str().unwrap();
    let other = app.tenant_key("acme", None).await;
    assert_eq!(
        json(
            app.req_as(&other, Method::GET, "/v1/threats")
                .send()
                .await
                .unwrap(),
            200
        )
        .await["total"],
        0
    );
    for path in [
        format!("/v1/threats/{id}"),
        format!("/v1/threats/{id}/versions"),
        format!("/v1/threats/{id}/developments"),
    ] {
        events_error(
            app.req_as(&other, Method::GET, &path).send().await.unwrap(),
            404,
            "not_found",
            "no threat",
        )
        .await;
    }
    let res = app
        .req_as(&other, Method::PATCH, &format!("/v1/threats/{id}"))
        .json(&json!({"pinned": true}))
        .send()
        .await
        .unwrap();
    events_error(res, 404, "not_found", "no threat").await;
    let reader = app
        .tenant_key("default", Some(&[picket_core::identity::Perm::ThreatsR]))
        .await;
    let res = app
        .req_as(&reader, Method::PATCH, &format!("/v1/threats/{id}"))
        .json(&json!({"pinned": true}))
        .send()
        .await
        .unwrap();
    events_error(res, 403, "forbidden", "perm_threats_w").await;
}

/// Threats that share `observed_at` (events dated by the day) page in one stable order, every
/// page reports the total of all matches, and the page's asset summaries are the tenant's
/// current assets only.
#[tokio::test]
async fn pages_of_tied_threats_and_their_totals() {
    let (app, _) = setup().await;
    let day = now_ms() - 5 * HOUR;
    for id in ["t0", "t1", "t2", "t3", "t4"] {
        evaluate(
            &app,
            "default",
            &Event {
                id,
                observed_at: day,
                ..unrest(Severity::High)
            },
        )
        .await
        .unwrap();
    }
    let ids = |v: &Value| -> Vec<String> {
        v["threats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = json(app.get("/v1/threats").await, 200).await;
    assert_eq!(all["total"], 5);
    let all_ids = ids(&all);
    let mut sorted = all_ids.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(
        all_ids, sorted,
        "ties on observed_at fall back to id, descending"
    );

    // Full pages, a short last page and a page past the end all carry the total.
    let mut paged = Vec::new();
    for (offset, len) in [(0, 2), (2, 2), (4, 1), (6, 0)] {
        let page = json(
            app.get(&format!("/v1/threats?limit=2&offset={offset}"))
                .await,
            200,
        )
        .await;
        assert_eq!(page["total"], 5, "offset {offset}");
        assert_eq!(ids(&page).len(), len, "offset {offset}");
        paged.extend(ids(&page));
    }
    assert_eq!(paged, all_ids);
    let asc = json(app.get("/v1/threats?order=asc&limit=3").await, 200).await;
    assert_eq!(asc["total"], 5);
    assert_eq!(
        ids(&asc),
        sorted.iter().rev().take(3).cloned().collect::<Vec<_>>()
    );
    let filtered = json(app.get("/v1/threats?status=resolved").await, 200).await;
    assert_eq!(filtered["total"], 0);

    // A deleted asset stays among a threat's affected assets but leaves the summaries.
    let names = |v: &Value| -> Vec<String> {
        v["assets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["asset_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&all), vec!["lagos-home", "lagos-hq"]);
    let res = app
        .req(Method::DELETE, "/v1/assets/lagos-home")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let after = json(app.get("/v1/threats?limit=1").await, 200).await;
    assert_eq!(names(&after), vec!["lagos-hq"]);
    assert_eq!(
        after["threats"][0]["affected_assets"][0]["asset_id"],
        "lagos-home"
    );
    assert_eq!(after["assets"][0]["name"], "Lagos HQ");
}

/// The `asset_id` filter names the asset as it is now: after a rename its older threats are
/// found by the new `asset_id` (and still by its uuid); the old `asset_id`, now naming no
/// asset, still finds what was recorded under it, and once another asset takes the old
/// name it names that asset only.
#[tokio::test]
async fn asset_filter_follows_a_renamed_asset() {
    let (app, assets) = setup().await;
    let Some(Written::Created(id)) = evaluate(&app, "default", &unrest(Severity::High)).await
    else {
        panic!("first evaluation creates")
    };
    let hq_uuid = assets["assets"][0]["id"].as_str().unwrap();
    let renamed = json(
        app.send_json(
            Method::PATCH,
            "/v1/assets/lagos-hq",
            &json!({"asset_id": "lagos-head-office"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(renamed["id"], hq_uuid);
    let found = |v: &Value| -> Vec<String> {
        v["threats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    for key in ["lagos-head-office", hq_uuid, "lagos-hq"] {
        let list = json(app.get(&format!("/v1/threats?asset_id={key}")).await, 200).await;
        assert_eq!(list["total"], 1, "{key}");
        assert_eq!(found(&list), vec![id.clone()], "{key}");
    }
    assert_eq!(
        json(app.get("/v1/threats?asset_id=nowhere").await, 200).await["total"],
        0,
        "an unknown asset finds nothing"
    );

    // Another asset, far from the event, takes the old name: the name is now that asset's.
    let res = app
        .send_json(
            Method::POST,
            "/v1/assets",
            &json!({"asset_id": "lagos-hq", "type": "facility", "name": "Kano depot",
                    "attributes": {"lat": 12.0, "lng": 8.5, "country": "NG"}}),
        )
        .await;
    json(res, 201).await;
    assert_eq!(
        json(app.get("/v1/threats?asset_id=lagos-hq").await, 200).await["total"],
        0
    );
    assert_eq!(
        json(app.get("/v1/threats?asset_id=lagos-head-office").await, 200).await["total"],
        1
    );
}

/// Threat totals answered from the counts kept with the threats (severity, status, observed
/// day) equal counting the rows, over random threats, status changes and filters; deep pages
/// by `observed_at` (which seek to the day they start in) hold the same threats in the same
/// order. The reference is the same query with a `threat_type` filter matching every threat,
/// which the counts do not answer.
#[tokio::test]
async fn counted_threat_totals_equal_counting_the_rows() {
    const DAY: i64 = 24 * HOUR;
    let (app, _) = setup_app(spawn_with(|c| c.rate_limit.per_second = 0, None).await).await;
    let mut x: u64 = 0x0007_4EA7;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    // From two days before today's midnight: three days, within the category's maximum age.
    let base = (now_ms() / DAY - 2) * DAY;
    let span = (now_ms() - HOUR - base) as u64;
    let severities = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];
    let ids: Vec<&'static str> = (0..60)
        .map(|i| &*Box::leak(format!("ev-{i}").into_boxed_str()))
        .collect();
    for id in &ids {
        let observed_at = match next(3) {
            0 => base + next(3) as i64 * DAY,
            1 => base + 1 + next(3) as i64 * DAY - 2,
            _ => base + next(span) as i64,
        };
        evaluate(
            &app,
            "default",
            &Event {
                id,
                observed_at,
                // 72 hours' maximum age: three days of threats.
                category: "armed_conflict",
                ..unrest(severities[next(4) as usize])
            },
        )
        .await
        .unwrap();
    }
    let list = |v: &Value| -> Vec<String> {
        v["threats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = json(app.get("/v1/threats?limit=100").await, 200).await;
    assert_eq!(all["total"], 60);
    let threat_ids = list(&all);
    for round in 0..40 {
        if round % 10 == 0 {
            for id in &threat_ids {
                if next(4) != 0 {
                    continue;
                }
                let status = ["monitoring", "resolved", "active"][next(3) as usize];
                let res = app
                    .send_json(
                        Method::PATCH,
                        &format!("/v1/threats/{id}"),
                        &json!({ "status": status }),
                    )
                    .await;
                assert!(res.status().is_success(), "{}", res.status());
            }
        }
        let mut q = vec![format!("limit={}", 1 + next(7))];
        q.push(format!("offset={}", next(30)));
        for s in ["critical", "high", "medium", "low"] {
            if next(3) == 0 {
                q.push(format!("severity={s}"));
            }
        }
        for s in ["active", "monitoring", "resolved"] {
            if next(3) == 0 {
                q.push(format!("status={s}"));
            }
        }
        let rfc = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        };
        // Any millisecond, or an hour's first or last one: the partial days' whole hours come
        // from the hourly counts, the partial hours from the rows.
        let at = |t: i64, how: u64| match how {
            0 => t.div_euclid(HOUR) * HOUR,
            1 => t.div_euclid(HOUR) * HOUR - 1,
            _ => t,
        };
        if next(2) == 0 {
            let from = at(base + next(2 * DAY as u64) as i64, next(3));
            q.push(format!("observed_from={}", rfc(from)));
        }
        if next(2) == 0 {
            let to = at(base + DAY + next(2 * DAY as u64) as i64, next(3));
            q.push(format!("observed_to={}", rfc(to)));
        }
        if next(2) == 0 {
            q.push("order=asc".into());
        }
        let path = format!("/v1/threats?{}", q.join("&"));
        let counted = json(app.get(&path).await, 200).await;
        let scanned = json(
            app.get(&format!("{path}&threat_type=armed_conflict")).await,
            200,
        )
        .await;
        assert_eq!(counted["total"], scanned["total"], "{path}");
        assert_eq!(list(&counted), list(&scanned), "{path}");
    }
}
