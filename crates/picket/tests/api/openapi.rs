//! The OpenAPI documents are generated from the handlers and snapshot-tested, so the contract
//! cannot drift silently. After an intended change: `cargo insta review` (or INSTA_UPDATE=always).

use crate::helpers::{json, spawn};

#[tokio::test]
async fn served_documents_match_the_snapshots() {
    let app = spawn().await;
    let events = json(
        app.client
            .get(app.url("/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let network = json(
        app.client
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;

    for path in ["/v1/assets", "/v1/assets/{asset}"] {
        assert!(events["paths"][path].is_object(), "{path} documented");
    }
    assert!(events["paths"]["/v1/assets"]["put"].is_object());
    assert!(network["paths"]["/api/v1/about"]["get"].is_object());
    assert!(
        events["paths"]["/api/v1/about"].is_null(),
        "each surface documents only itself"
    );
    assert_eq!(
        events["components"]["securitySchemes"]["api_key"]["name"],
        "X-API-Key"
    );
    assert_eq!(
        network["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    insta::assert_json_snapshot!("events_openapi", events);
    insta::assert_json_snapshot!("network_openapi", network);
}
