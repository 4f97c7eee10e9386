//! `/v1/assets`: validation, upsert semantics, lookups by either id, tenant isolation.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{events_error, json, spawn, TestApp};

fn lagos() -> Value {
    json!({
        "asset_id": "lagos-hq",
        "type": "facility",
        "name": "Lagos HQ",
        "role": "head_office",
        "attributes": {"lat": 6.4541, "lng": 3.3947, "address": "Marina, Lagos", "country": "ng", "monitoring_radius_km": 25},
        "threat_config": {"enabled": true, "alert_classes": ["class_1_situational_awareness"], "lookback_days": 14},
        "physical_threat_config": {"monitored_event_types": ["civil_unrest"], "radius_km_by_category": {"civil_unrest": 12.5}, "max_age_hours_by_category": {"weather": 24}}
    })
}

fn abuja() -> Value {
    json!({"asset_id": "abuja-res", "type": "residence", "name": "Abuja residence", "attributes": {"lat": 9.0765, "lng": 7.3986}})
}

async fn put(app: &TestApp, assets: Vec<Value>) -> reqwest::Response {
    app.send_json(Method::PUT, "/v1/assets", &json!({ "assets": assets }))
        .await
}

#[tokio::test]
async fn bulk_upsert_creates_then_updates_by_asset_id() {
    let app = spawn().await;
    let first = json(put(&app, vec![lagos(), abuja()]).await, 200).await;
    let created = first["assets"].as_array().unwrap();
    assert_eq!(created.len(), 2);
    let hq = &created[0];
    assert_eq!(hq["asset_id"], "lagos-hq");
    assert_eq!(hq["status"], "active", "status defaults to active");
    assert_eq!(hq["attributes"]["country"], "NG", "country is upper-cased");
    assert_eq!(hq["monitorable"], true);
    assert_eq!(hq["threat_config"]["lookback_days"], 14);
    assert_eq!(hq["physical_threat_config"]["enabled"], true);
    assert_eq!(
        hq["physical_threat_config"]["radius_km_by_category"]["civil_unrest"],
        12.5
    );
    assert!(uuid::Uuid::parse_str(hq["id"].as_str().unwrap()).is_ok());
    assert!(hq["created_at"].as_str().unwrap().ends_with('Z'));

    // Same asset_id again: same id and created_at, new values; other assets untouched.
    let mut renamed = lagos();
    renamed["name"] = json!("Lagos head office");
    renamed["attributes"] = json!({"lat": 6.5, "lng": 3.4});
    let second = json(put(&app, vec![renamed]).await, 200).await;
    let updated = &second["assets"][0];
    assert_eq!(updated["id"], hq["id"]);
    assert_eq!(updated["created_at"], hq["created_at"]);
    assert_eq!(updated["name"], "Lagos head office");
    assert_eq!(updated["attributes"]["lat"], 6.5);
    assert_eq!(
        updated["attributes"]["country"],
        Value::Null,
        "PUT replaces the asset's fields"
    );

    let list = json(app.get("/v1/assets").await, 200).await;
    assert_eq!(list["total"], 2);
    let ids: Vec<&str> = list["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["asset_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["abuja-res", "lagos-hq"], "ordered by asset_id");
}

#[tokio::test]
async fn one_invalid_item_writes_nothing_and_is_named() {
    let app = spawn().await;
    let mut bad = abuja();
    bad["attributes"]["lat"] = json!(95.0);
    let msg = events_error(
        put(&app, vec![lagos(), bad]).await,
        400,
        "invalid_request",
        "assets[1].attributes.lat",
    )
    .await;
    assert!(msg.contains("-90"), "{msg}");
    let missing = json!({"asset_id": "x", "type": "facility"});
    events_error(
        put(&app, vec![lagos(), missing]).await,
        400,
        "invalid_request",
        "name",
    )
    .await;
    let bad_type = json!({"asset_id": "x", "type": "warehouse", "name": "n"});
    events_error(
        put(&app, vec![bad_type]).await,
        400,
        "invalid_request",
        "assets[0].type",
    )
    .await;
    let unknown = json!({"asset_id": "x", "type": "facility", "name": "n", "attributes": {"lat": 1, "lng": 2, "altitude": 3}});
    events_error(
        put(&app, vec![unknown]).await,
        400,
        "invalid_request",
        "altitude",
    )
    .await;
    events_error(
        put(&app, vec![lagos(), lagos()]).await,
        400,
        "invalid_request",
        "more than once",
    )
    .await;
    let list = json(app.get("/v1/assets").await, 200).await;
    assert_eq!(list["total"], 0, "nothing written by failed requests");
}

#[tokio::test]
async fn validation_rules() {
    let app = spawn().await;
    let cases = [
        (json!({"lat": 1.0}), "attributes.lng"),
        (json!({"lat": 1.0, "lng": 181}), "attributes.lng"),
        (json!({"monitoring_radius_km": 0}), "monitoring_radius_km"),
        (
            json!({"monitoring_radius_km": 1001}),
            "monitoring_radius_km",
        ),
        (json!({"country": "Nigeria"}), "attributes.country"),
    ];
    for (attributes, field) in cases {
        let body =
            json!({"asset_id": "a", "type": "facility", "name": "n", "attributes": attributes});
        events_error(
            app.send_json(Method::POST, "/v1/assets", &body).await,
            400,
            "invalid_request",
            field,
        )
        .await;
    }
    let body = json!({"asset_id": "  ", "type": "facility", "name": "n"});
    events_error(
        app.send_json(Method::POST, "/v1/assets", &body).await,
        400,
        "invalid_request",
        "asset_id",
    )
    .await;
    let body = json!({"asset_id": "a", "type": "facility", "name": "n", "physical_threat_config": {"max_age_hours_by_category": {"meteor": 3}}});
    events_error(
        app.send_json(Method::POST, "/v1/assets", &body).await,
        400,
        "invalid_request",
        "meteor",
    )
    .await;
    let body = json!({"asset_id": "a", "type": "facility", "name": "n", "threat_config": {"lookback_days": 0}});
    events_error(
        app.send_json(Method::POST, "/v1/assets", &body).await,
        400,
        "invalid_request",
        "lookback_days",
    )
    .await;
    // Without coordinates an asset is accepted but not monitorable.
    let body = json!({"asset_id": "nowhere", "type": "residence", "name": "n"});
    let a = json(app.send_json(Method::POST, "/v1/assets", &body).await, 201).await;
    assert_eq!(a["monitorable"], false);
}

#[tokio::test]
async fn create_get_patch_delete_by_either_id() {
    let app = spawn().await;
    let created = json(
        app.send_json(Method::POST, "/v1/assets", &lagos()).await,
        201,
    )
    .await;
    let id = created["id"].as_str().unwrap().to_string();
    events_error(
        app.send_json(Method::POST, "/v1/assets", &lagos()).await,
        409,
        "conflict",
        "lagos-hq",
    )
    .await;

    let by_id = json(app.get(&format!("/v1/assets/{id}")).await, 200).await;
    let by_asset_id = json(app.get("/v1/assets/lagos-hq").await, 200).await;
    assert_eq!(by_id, by_asset_id);

    // Merge patch: nested keys merge, null clears, the rest stays.
    let patch = json!({"status": "archived", "attributes": {"lat": 6.6, "address": null}, "physical_threat_config": {"radius_km_by_category": {"weather": 80}}});
    let p = json(
        app.send_json(Method::PATCH, "/v1/assets/lagos-hq", &patch)
            .await,
        200,
    )
    .await;
    assert_eq!(p["status"], "archived");
    assert_eq!(p["attributes"]["lat"], 6.6);
    assert_eq!(p["attributes"]["lng"], 3.3947);
    assert_eq!(p["attributes"]["address"], Value::Null);
    assert_eq!(p["attributes"]["country"], "NG");
    assert_eq!(
        p["physical_threat_config"]["radius_km_by_category"],
        json!({"civil_unrest": 12.5, "weather": 80.0})
    );
    assert_eq!(p["created_at"], created["created_at"]);

    let archived = json(
        app.get("/v1/assets?status=archived&type=facility").await,
        200,
    )
    .await;
    assert_eq!(archived["total"], 1);
    let active = json(app.get("/v1/assets?status=active").await, 200).await;
    assert_eq!(active["total"], 0);

    // A bad patch changes nothing.
    events_error(
        app.send_json(
            Method::PATCH,
            &format!("/v1/assets/{id}"),
            &json!({"attributes": {"lat": -91}}),
        )
        .await,
        400,
        "invalid_request",
        "attributes.lat",
    )
    .await;
    events_error(
        app.send_json(
            Method::PATCH,
            &format!("/v1/assets/{id}"),
            &json!({"name": null}),
        )
        .await,
        400,
        "invalid_request",
        "name",
    )
    .await;
    events_error(
        app.send_json(
            Method::PATCH,
            &format!("/v1/assets/{id}"),
            &json!({"colour": "red"}),
        )
        .await,
        400,
        "invalid_request",
        "colour",
    )
    .await;
    let unchanged = json(app.get(&format!("/v1/assets/{id}")).await, 200).await;
    assert_eq!(unchanged["attributes"]["lat"], 6.6);

    // Renaming onto a taken asset_id is a conflict.
    json(
        app.send_json(Method::POST, "/v1/assets", &abuja()).await,
        201,
    )
    .await;
    events_error(
        app.send_json(
            Method::PATCH,
            "/v1/assets/abuja-res",
            &json!({"asset_id": "lagos-hq"}),
        )
        .await,
        409,
        "conflict",
        "lagos-hq",
    )
    .await;

    let res = app
        .req(Method::DELETE, "/v1/assets/lagos-hq")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(res.bytes().await.unwrap().is_empty());
    events_error(
        app.get(&format!("/v1/assets/{id}")).await,
        404,
        "not_found",
        "no asset",
    )
    .await;
    events_error(
        app.req(Method::DELETE, "/v1/assets/lagos-hq")
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
        "no asset",
    )
    .await;
}

#[tokio::test]
async fn another_tenants_asset_is_404() {
    let app = spawn().await;
    let mine = json(
        app.send_json(Method::POST, "/v1/assets", &lagos()).await,
        201,
    )
    .await;
    let id = mine["id"].as_str().unwrap();
    let other = app.tenant_key("acme", None).await;
    for path in [
        format!("/v1/assets/{id}"),
        "/v1/assets/lagos-hq".to_string(),
    ] {
        let res = app.req_as(&other, Method::GET, &path).send().await.unwrap();
        events_error(res, 404, "not_found", "no asset").await;
        let res = app
            .req_as(&other, Method::PATCH, &path)
            .json(&json!({"name": "mine now"}))
            .send()
            .await
            .unwrap();
        events_error(res, 404, "not_found", "no asset").await;
        let res = app
            .req_as(&other, Method::DELETE, &path)
            .send()
            .await
            .unwrap();
        events_error(res, 404, "not_found", "no asset").await;
    }
    let theirs = json(
        app.req_as(&other, Method::GET, "/v1/assets")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(theirs["total"], 0);
    // The same asset_id is free in another tenant, and upserts stay in their own tenant.
    let res = app
        .req_as(&other, Method::PUT, "/v1/assets")
        .json(&json!({"assets": [lagos()]}))
        .send()
        .await
        .unwrap();
    let theirs = json(res, 200).await;
    assert_ne!(theirs["assets"][0]["id"], mine["id"]);
    let still_mine = json(app.get("/v1/assets/lagos-hq").await, 200).await;
    assert_eq!(still_mine["id"], mine["id"]);
    assert_eq!(still_mine["name"], "Lagos HQ");
}
