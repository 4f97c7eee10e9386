//! API keys on both header forms, revocation, expiry, disabled users, agent tokens, rate limits.

use picket_core::identity::store;
use reqwest::Method;

use crate::helpers::{events_error, json, network_error, spawn, spawn_with};

#[tokio::test]
async fn both_header_forms_on_both_surfaces() {
    let app = spawn().await;
    for path in ["/v1/assets", "/api/v1/about"] {
        let bearer = app
            .client
            .get(app.url(path))
            .header("Authorization", format!("bearer {}", app.key))
            .send()
            .await
            .unwrap();
        assert_eq!(bearer.status(), 200, "{path} with lower-case bearer");
        let upper = app
            .client
            .get(app.url(path))
            .header("Authorization", format!("BEARER {}", app.key))
            .send()
            .await
            .unwrap();
        assert_eq!(upper.status(), 200, "{path} with upper-case bearer");
        let header = app
            .client
            .get(app.url(path))
            .header("X-API-Key", &app.key)
            .send()
            .await
            .unwrap();
        assert_eq!(header.status(), 200, "{path} with X-API-Key");
    }
}

#[tokio::test]
async fn revoked_expired_and_disabled_are_401() {
    let app = spawn().await;
    let db = &app.state.db;
    let tenant = crate::helpers::tenant(db, "default").await;
    let user = store::create_user(db, tenant.id, "carol", true, &[])
        .await
        .unwrap();

    let (key, secret) = store::create_api_key(db, &user, None).await.unwrap();
    assert_eq!(
        app.req_as(&secret, Method::GET, "/v1/assets")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(store::revoke_api_key(db, key.id).await.unwrap());
    let res = app
        .req_as(&secret, Method::GET, "/v1/assets")
        .send()
        .await
        .unwrap();
    events_error(res, 401, "unauthorized", "revoked").await;

    let (_, expired) = store::create_api_key(db, &user, Some(picket_core::time::now_ms() - 1000))
        .await
        .unwrap();
    let res = app
        .req_as(&expired, Method::GET, "/api/v1/about")
        .send()
        .await
        .unwrap();
    network_error(res, 401, "expired").await;

    let (_, live) = store::create_api_key(db, &user, Some(picket_core::time::now_ms() + 3_600_000))
        .await
        .unwrap();
    assert_eq!(
        app.req_as(&live, Method::GET, "/api/v1/about")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    store::set_user_disabled(db, user.id, true).await.unwrap();
    let res = app
        .req_as(&live, Method::GET, "/api/v1/about")
        .send()
        .await
        .unwrap();
    network_error(res, 401, "invalid").await;
}

#[tokio::test]
async fn key_use_is_recorded() {
    let app = spawn().await;
    let before = store::list_api_keys(&app.state.db, None).await.unwrap();
    assert!(before[0].last_used_at.is_none());
    assert_eq!(app.get("/v1/assets").await.status(), 200);
    let after = store::list_api_keys(&app.state.db, None).await.unwrap();
    assert!(after[0].last_used_at.is_some());
}

#[tokio::test]
async fn agent_tokens_only_on_the_ingest_prefix() {
    let app = spawn().await;
    let db = &app.state.db;
    let tenant = crate::helpers::tenant(db, "default").await;
    let (agent, token) = store::create_agent(db, tenant.id, "sensor-1")
        .await
        .unwrap();

    let hello = json(
        app.req_as(&token, Method::GET, "/api/agent/v1/hello")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(hello["agent"], agent.agent);
    assert_eq!(hello["agent_name"], "sensor-1");
    // An agent token is no API key, and an API key is no agent token.
    let res = app
        .req_as(&token, Method::GET, "/api/v1/about")
        .send()
        .await
        .unwrap();
    network_error(res, 401, "invalid").await;
    let res = app
        .req_as(&app.key, Method::GET, "/api/agent/v1/hello")
        .send()
        .await
        .unwrap();
    network_error(res, 401, "agent token").await;
    // Revoked tokens stop working.
    assert!(store::revoke_agent(db, agent.id).await.unwrap());
    let res = app
        .req_as(&token, Method::GET, "/api/agent/v1/hello")
        .send()
        .await
        .unwrap();
    network_error(res, 401, "revoked").await;
}

#[tokio::test]
async fn over_the_rate_limit_is_429_with_retry_after() {
    let app = spawn_with(
        |c| {
            c.rate_limit.per_second = 1;
            c.rate_limit.burst = 3;
        },
        None,
    )
    .await;
    for _ in 0..3 {
        assert_eq!(app.get("/v1/assets").await.status(), 200);
    }
    let res = app.get("/v1/assets").await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    events_error(res, 429, "rate_limited", "rate limit").await;
    let res = app.get("/api/v1/about").await;
    network_error(res, 429, "rate limit").await;
    // Another key has its own bucket.
    let other = app.tenant_key("default", None).await;
    assert_eq!(
        app.req_as(&other, Method::GET, "/v1/assets")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
