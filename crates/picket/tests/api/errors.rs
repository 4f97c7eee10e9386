//! Every error on either surface comes in that surface's documented shape.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{events_error, network_error, spawn, spawn_with};

#[tokio::test]
async fn unauthorized_on_both_surfaces() {
    let app = spawn().await;
    let res = app
        .client
        .get(app.url("/api/v1/about"))
        .send()
        .await
        .unwrap();
    network_error(res, 401, "missing API key").await;
    let res = app.client.get(app.url("/v1/assets")).send().await.unwrap();
    events_error(res, 401, "unauthorized", "missing API key").await;
    let res = app
        .req_as("pkt_nope", Method::GET, "/v1/assets")
        .send()
        .await
        .unwrap();
    events_error(res, 401, "unauthorized", "invalid").await;
    let res = app
        .req_as("garbage", Method::GET, "/api/v1/about")
        .send()
        .await
        .unwrap();
    network_error(res, 401, "invalid").await;
}

#[tokio::test]
async fn forbidden_names_the_permission() {
    let app = spawn().await;
    let key = app
        .tenant_key("default", Some(&[picket_core::identity::Perm::DevicesR]))
        .await;
    let res = app
        .req_as(&key, Method::GET, "/v1/assets")
        .send()
        .await
        .unwrap();
    events_error(res, 403, "forbidden", "perm_assets_r").await;
    let res = app
        .req_as(&key, Method::PUT, "/v1/assets")
        .json(&json!({"assets": []}))
        .send()
        .await
        .unwrap();
    events_error(res, 403, "forbidden", "perm_assets_w").await;
    // 403 comes before 400: a bad query string from a key without the permission is still 403.
    let res = app
        .req_as(&key, Method::GET, "/v1/assets?status=bogus")
        .send()
        .await
        .unwrap();
    events_error(res, 403, "forbidden", "perm_assets_r").await;
    // About needs only a valid key.
    assert_eq!(
        app.req_as(&key, Method::GET, "/api/v1/about")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let app = spawn().await;
    events_error(
        app.get("/v1/nothing-here").await,
        404,
        "not_found",
        "no route",
    )
    .await;
    network_error(app.get("/api/v1/nothing-here").await, 404, "no route").await;
    let res = app.req(Method::DELETE, "/v1/assets").send().await.unwrap();
    assert!(res.headers().contains_key("allow"));
    events_error(res, 405, "method_not_allowed", "method not allowed").await;
    let res = app.req(Method::POST, "/api/v1/about").send().await.unwrap();
    network_error(res, 405, "method not allowed").await;
    // Outside both surfaces: still JSON.
    network_error(
        app.client.get(app.url("/nope")).send().await.unwrap(),
        404,
        "no route",
    )
    .await;
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = spawn_with(|c| c.body_limit_bytes = 1024, None).await;
    let big = json!({"assets": [{"asset_id": "x".repeat(4000), "type": "facility", "name": "n"}]});
    let res = app.send_json(Method::PUT, "/v1/assets", &big).await;
    events_error(res, 413, "payload_too_large", "limit").await;
    // Nothing was written.
    let list = crate::helpers::json(app.get("/v1/assets").await, 200).await;
    assert_eq!(list["total"], 0);
}

#[tokio::test]
async fn malformed_bodies_queries_and_content_types_are_400() {
    let app = spawn().await;
    let res = app
        .req(Method::POST, "/v1/assets")
        .header("content-type", "application/json")
        .body("{\"asset_id\": ")
        .send()
        .await
        .unwrap();
    events_error(res, 400, "invalid_request", "malformed JSON").await;
    let res = app
        .req(Method::POST, "/v1/assets")
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    events_error(res, 400, "invalid_request", "Content-Type").await;
    events_error(
        app.get("/v1/assets?status=deleted").await,
        400,
        "invalid_request",
        "status",
    )
    .await;
    events_error(
        app.get("/v1/assets?limit=5").await,
        400,
        "invalid_request",
        "limit",
    )
    .await;
    let res = app
        .send_json(
            Method::POST,
            "/v1/assets",
            &json!({"assetId": "a", "type": "facility", "name": "n"}),
        )
        .await;
    events_error(res, 400, "invalid_request", "assetId").await;
}

#[tokio::test]
async fn unexpected_failures_are_opaque_500s() {
    let app = spawn().await;
    let mut conn = app.state.db.conn().await.unwrap();
    conn.execute_script("DROP TABLE assets; DROP TABLE dns_records")
        .await
        .unwrap();
    drop(conn);
    let msg = events_error(
        app.get("/v1/assets").await,
        500,
        "internal",
        "internal server error",
    )
    .await;
    assert!(!msg.contains("assets"), "no internals leak: {msg}");
    let msg = network_error(app.get("/api/v1/about").await, 500, "internal server error").await;
    assert!(!msg.contains("dns_records"), "no internals leak: {msg}");
}
