//! `/healthz`, `/readyz`, `/metrics`.

use sea_query::Values;

use crate::helpers::{json, spawn};

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn().await;
    let h = json(
        app.client.get(app.url("/healthz")).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(h["status"], "ok");
    let r = json(
        app.client.get(app.url("/readyz")).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(r["status"], "ready");
    assert_eq!(r["schema"], app.state.schema.fingerprint());

    // A database migrated by another build is not ready for this one.
    app.state
        .db
        .execute_sql(
            "INSERT INTO picket_schema (fingerprint, applied_at) VALUES ('0000000000000000', 0)",
            Values(vec![]),
        )
        .await
        .unwrap();
    let r = json(
        app.client.get(app.url("/readyz")).send().await.unwrap(),
        503,
    )
    .await;
    assert!(
        r["reason"].as_str().unwrap().contains("picket migrate"),
        "{r}"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = spawn().await;
    assert_eq!(app.get("/v1/assets/some-asset").await.status(), 404);
    assert_eq!(app.get("/v1/assets/another").await.status(), 404);
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"picket_http_requests_total{method="GET",route="/v1/assets/{asset}",status="404"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains("picket_http_request_duration_seconds_bucket"),
        "latency histogram present"
    );
    assert!(text.contains(r#"picket_jobs{status="queued"} 0"#), "{text}");
    assert!(
        !text.contains("some-asset"),
        "raw paths never become labels"
    );
}
